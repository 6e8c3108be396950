"""检索相关性评测用的来电人问法（data/questions.json）的数据检查。

纯文件检查，不用数据库：问法必须是来电人的说法（不照抄标题），
每条问法的答案必须是知识库里确实存在的条目标题，且覆盖全部一级主题。
"""

import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
QUESTIONS_FILE = DATA_DIR / "questions.json"
ARTICLES_DIR = DATA_DIR / "articles"

MIN_QUESTIONS = 180
MIN_PER_SUBJECT = 10
MAX_ANSWERS = 3
# 问法与其答案标题最长的连续相同片段不超过这么多字：可以共用几个词，不能照抄标题。
MAX_SHARED_RUN = 6

# 比较时去掉标点和空白，避免“加个问号”就算作不同问法。
_PUNCT = re.compile(r"[\s，。、？！；：,.?!;:“”‘’\"'（）()《》【】—\-]+")


def _norm(text):
    return _PUNCT.sub("", text).lower()


def _longest_shared_run(a, b):
    """a 与 b 最长公共连续子串的长度。"""
    best = 0
    for i in range(len(a)):
        j = i + best + 1
        while j <= len(a) and a[i:j] in b:
            best = j - i
            j += 1
    return best


@pytest.fixture(scope="module")
def articles():
    """标题 -> (一级主题编码, 失效日期或 None)。"""
    index = {}
    for path in sorted(ARTICLES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        code = data["subject"]["code"]
        for art in data["articles"]:
            expires = art.get("expires")
            index[art["title"]] = (code, date.fromisoformat(expires) if expires else None)
    assert index, "没有找到知识库条目文件"
    return index


@pytest.fixture(scope="module")
def questions():
    data = json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "顶层应为对象"
    assert isinstance(data.get("source"), str) and data["source"].strip(), "缺少 source 说明"
    assert isinstance(data.get("questions"), list), "questions 应为列表"
    return data["questions"]


def test_each_entry_is_well_formed(questions):
    problems = []
    for i, item in enumerate(questions):
        where = f"第{i + 1}条"
        if not isinstance(item, dict) or set(item) != {"q", "answers"}:
            problems.append(f"{where} 应只有 q 和 answers 两个字段：{item!r}")
            continue
        q, answers = item["q"], item["answers"]
        if not isinstance(q, str) or not q.strip():
            problems.append(f"{where} 问法为空")
        if not isinstance(answers, list) or not 1 <= len(answers) <= MAX_ANSWERS:
            problems.append(f"{where} 答案应为 1–{MAX_ANSWERS} 个标题：{answers!r}")
            continue
        if not all(isinstance(a, str) and a for a in answers):
            problems.append(f"{where} 答案必须是标题字符串：{answers!r}")
        elif len(set(answers)) != len(answers):
            problems.append(f"{where} 答案重复：{answers!r}")
    assert not problems, "\n".join(problems)


def test_at_least_180_questions(questions):
    assert len(questions) >= MIN_QUESTIONS, f"只有 {len(questions)} 条问法"


def test_every_answer_is_an_existing_title(questions, articles):
    missing = [
        f"{item['q']} -> {title}"
        for item in questions
        for title in item["answers"]
        if title not in articles
    ]
    assert not missing, "答案标题在知识库中不存在：\n" + "\n".join(missing)


def test_no_duplicate_questions(questions):
    counts = Counter(_norm(item["q"]) for item in questions)
    dups = [q for q, n in counts.items() if n > 1]
    assert not dups, f"重复的问法：{dups}"


def test_no_question_equals_a_title(questions, articles):
    titles = {_norm(t) for t in articles}
    same = [item["q"] for item in questions if _norm(item["q"]) in titles]
    assert not same, f"问法与条目标题相同：{same}"


def test_questions_do_not_copy_their_answer_titles(questions):
    copied = []
    for item in questions:
        q = _norm(item["q"])
        for title in item["answers"]:
            run = _longest_shared_run(q, _norm(title))
            if run > MAX_SHARED_RUN:
                copied.append(f"{item['q']} ≈ {title}（连续相同 {run} 字）")
    assert not copied, "问法照抄了标题：\n" + "\n".join(copied)


def test_every_subject_has_at_least_10_questions(questions, articles):
    # 按第一个答案（坐席最先打开的条目）所在文件的一级主题计数。
    subjects = {code for code, _ in articles.values()}
    counts = Counter(
        articles[item["answers"][0]][0] for item in questions if item["answers"][0] in articles
    )
    short = {
        code: counts.get(code, 0)
        for code in sorted(subjects)
        if counts.get(code, 0) < MIN_PER_SUBJECT
    }
    assert not short, f"以下主题问法不足 {MIN_PER_SUBJECT} 条：{short}"


def test_expired_articles_only_answer_questions_about_that_past_period(questions, articles):
    # 已失效条目只能作为“问过去那段时间”的答案：问法里要写出失效当年或更早的年份。
    today = date.today()
    wrong = []
    for item in questions:
        years = {int(y) for y in re.findall(r"(20\d\d)", item["q"])}
        for title in item["answers"]:
            expires = articles.get(title, (None, None))[1]
            if expires and expires < today and not any(y <= expires.year for y in years):
                wrong.append(f"{item['q']} -> {title}（{expires} 已失效）")
    assert not wrong, "已失效条目被当作现行答案：\n" + "\n".join(wrong)
