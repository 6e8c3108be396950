"""知识库演示内容（data/articles/*.json）的结构与质量检查。

纯文件检查，不用数据库：每个已存在的主题文件都必须符合共享规范
（主题树、文体、关键词、正文标签与字数、日期、相关条目），标题全库唯一。
"""

import json
import re
from collections import Counter
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

ARTICLES_DIR = Path(__file__).resolve().parent.parent / "data" / "articles"

# 规范中的主题树：一级编码 -> (名称, 承办单位, {二级编码: (名称, 承办单位)})
SUBJECT_TREE = {
    "01": (
        "社会保障",
        "RSJ",
        {
            "0101": ("养老保险", "RSJ"),
            "0102": ("就业与失业", "RSJ"),
            "0103": ("工伤保险", "RSJ"),
            "0104": ("社保卡", "RSJ"),
            "0105": ("劳动关系与欠薪", "RSJ"),
        },
    ),
    "02": (
        "医疗卫生",
        "YBJ",
        {
            "0201": ("医疗保险", "YBJ"),
            "0202": ("异地就医", "YBJ"),
            "0203": ("医疗服务", "WJW"),
            "0204": ("疫苗与公共卫生", "WJW"),
        },
    ),
    "03": (
        "住房",
        "ZJJ",
        {
            "0301": ("住房公积金", "ZJJ"),
            "0302": ("不动产登记与房产交易", "ZGJ"),
            "0303": ("物业管理", "ZJJ"),
            "0304": ("保障性住房", "ZJJ"),
        },
    ),
    "04": (
        "户籍与证件",
        "GAJ",
        {
            "0401": ("户口迁移与落户", "GAJ"),
            "0402": ("居住证", "GAJ"),
            "0403": ("居民身份证", "GAJ"),
            "0404": ("出入境证件", "GAJ"),
        },
    ),
    "05": (
        "市场监管",
        "SCJGJ",
        {
            "0501": ("企业开办与登记", "SCJGJ"),
            "0502": ("消费维权", "SCJGJ"),
            "0503": ("食品安全", "SCJGJ"),
            "0504": ("价格监管", "SCJGJ"),
        },
    ),
    "06": (
        "交通出行",
        "JTJ",
        {
            "0601": ("出租车与网约车", "JTJ"),
            "0602": ("公交与轨道", "JTJ"),
            "0603": ("机动车与驾驶证", "GAJ"),
            "0604": ("停车管理", "JTJ"),
        },
    ),
    "07": (
        "旅游文化",
        "LWJ",
        {
            "0701": ("景区游览", "LWJ"),
            "0702": ("旅游投诉", "LWJ"),
            "0703": ("酒店民宿", "LWJ"),
            "0704": ("离岛免税购物", "SHWJ"),
        },
    ),
    "08": (
        "教育",
        "JYJ",
        {
            "0801": ("义务教育入学", "JYJ"),
            "0802": ("校外培训", "JYJ"),
            "0803": ("学生资助", "JYJ"),
        },
    ),
    "09": (
        "民政与社会救助",
        "MZJ",
        {
            "0901": ("低保与特困供养", "MZJ"),
            "0902": ("养老服务", "MZJ"),
            "0903": ("婚姻登记", "MZJ"),
            "0904": ("残疾人服务", "MZJ"),
        },
    ),
    "10": (
        "城市管理",
        "CGZFJ",
        {
            "1001": ("市容环境卫生", "CGZFJ"),
            "1002": ("违法建设", "ZHZFJ"),
            "1003": ("占道经营", "CGZFJ"),
            "1004": ("垃圾分类", "CGZFJ"),
        },
    ),
    "11": (
        "水电燃气",
        "SWJ",
        {
            "1101": ("供水", "SWJ"),
            "1102": ("供电", "FGW"),
            "1103": ("燃气", "ZJJ"),
        },
    ),
    "12": (
        "税费与营商环境",
        "FGW",
        {
            "1201": ("个人所得税", "FGW"),
            "1202": ("营商环境", "FGW"),
            "1203": ("人才政策", "RSJ"),
        },
    ),
}

FORMS = {"政策法规", "办事指南", "常见问答", "通知公告"}
ALLOWED_TAGS = {
    "p", "h3", "ul", "ol", "li", "strong",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
MIN_BODY_CHARS, MAX_BODY_CHARS = 200, 900
MIN_PER_NODE = 4
ARTICLE_KEYS = {
    "title", "category", "form", "keywords", "body", "effective", "expires", "related",
}  # fmt: skip

ARTICLE_FILES = sorted(ARTICLES_DIR.glob("*.json"))


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


class _BodyChecker(HTMLParser):
    """收集正文中的问题：不允许的标签、内联样式/事件属性、标签不配对；同时累计纯文本。"""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"不允许的标签 <{tag}>")
        for name, _value in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag}> 带有不允许的属性 {name}")
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.problems.append(f"不允许的自闭合标签 <{tag}/>")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"标签不配对：</{tag}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def result(self) -> tuple[list[str], str]:
        self.close()
        problems = list(self.problems)
        if self.stack:
            problems.append(f"未闭合的标签：{self.stack}")
        return problems, re.sub(r"\s+", "", "".join(self.text))


def check_body(body: str) -> tuple[list[str], int]:
    parser = _BodyChecker()
    parser.feed(body)
    problems, text = parser.result()
    return problems, len(text)


def test_article_files_exist():
    assert ARTICLE_FILES, f"{ARTICLES_DIR} 下没有任何主题文件"
    for path in ARTICLE_FILES:
        assert path.stem in SUBJECT_TREE, f"{path.name} 不是规范中的一级主题编码"


@pytest.mark.parametrize("path", ARTICLE_FILES, ids=lambda p: p.name)
def test_subject_matches_tree(path):
    subject = _load(path)["subject"]
    name, owner, children = SUBJECT_TREE[path.stem]
    assert subject["code"] == path.stem
    assert subject["name"] == name
    assert subject["owner"] == owner
    got = {c["code"]: (c["name"], c["owner"]) for c in subject["children"]}
    assert len(got) == len(subject["children"]), "二级编码重复"
    assert got == children


@pytest.mark.parametrize("path", ARTICLE_FILES, ids=lambda p: p.name)
def test_articles_are_well_formed(path):
    data = _load(path)
    children = SUBJECT_TREE[path.stem][2]
    articles = data["articles"]
    titles = [a["title"] for a in articles]
    problems: list[str] = []
    for a in articles:
        where = f"《{a.get('title')}》"
        if set(a) != ARTICLE_KEYS:
            problems.append(f"{where} 字段不符：{sorted(set(a) ^ ARTICLE_KEYS)}")
            continue
        if not a["title"].strip():
            problems.append(f"{where} 标题为空")
        if a["category"] not in children:
            problems.append(f"{where} 分类 {a['category']} 不是 {path.stem} 的二级节点")
        if a["form"] not in FORMS:
            problems.append(f"{where} 文体 {a['form']} 不在规定范围")
        kws = a["keywords"]
        if not (3 <= len(kws) <= 6) or len(set(kws)) != len(kws):
            problems.append(f"{where} 关键词须 3–6 个且不重复：{kws}")
        if any(not isinstance(k, str) or not k.strip() for k in kws):
            problems.append(f"{where} 关键词含空值")
        body_problems, length = check_body(a["body"])
        problems += [f"{where} {p}" for p in body_problems]
        if not (MIN_BODY_CHARS <= length <= MAX_BODY_CHARS):
            problems.append(f"{where} 正文 {length} 字，应为 {MIN_BODY_CHARS}–{MAX_BODY_CHARS}")
        try:
            effective = date.fromisoformat(a["effective"])
        except (TypeError, ValueError):
            problems.append(f"{where} 生效日期无效：{a['effective']!r}")
            effective = None
        if effective and not (2023 <= effective.year <= 2026):
            problems.append(f"{where} 生效日期 {effective} 不在 2023–2026")
        if a["expires"] is not None:
            try:
                expires = date.fromisoformat(a["expires"])
            except (TypeError, ValueError):
                problems.append(f"{where} 失效日期无效：{a['expires']!r}")
            else:
                if effective and expires <= effective:
                    problems.append(f"{where} 失效日期 {expires} 不晚于生效日期 {effective}")
        related = a["related"]
        if len(related) > 3:
            problems.append(f"{where} 相关条目超过 3 条")
        for r in related:
            if r == a["title"]:
                problems.append(f"{where} 相关条目指向自己")
            elif r not in titles:
                problems.append(f"{where} 相关条目《{r}》不在本文件中")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ARTICLE_FILES, ids=lambda p: p.name)
def test_every_second_level_node_has_enough_articles(path):
    counts = Counter(a["category"] for a in _load(path)["articles"])
    short = {
        code: counts.get(code, 0)
        for code in SUBJECT_TREE[path.stem][2]
        if counts.get(code, 0) < MIN_PER_NODE
    }
    assert not short, f"以下二级节点文章少于 {MIN_PER_NODE} 篇：{short}"


def test_titles_unique_across_all_files():
    seen: dict[str, str] = {}
    dupes = []
    for path in ARTICLE_FILES:
        for a in _load(path)["articles"]:
            if a["title"] in seen:
                dupes.append(f"《{a['title']}》（{seen[a['title']]} 与 {path.name}）")
            else:
                seen[a["title"]] = path.name
    assert not dupes, "标题重复：" + "；".join(dupes)


def test_body_checker_rejects_bad_markup():
    """检查器本身要能发现问题，否则上面的测试形同虚设。"""
    ok, n = check_body("<p>正文<strong>重点</strong></p><ul><li>一</li></ul>")
    assert ok == [] and n == len("正文重点一")
    bad, _ = check_body('<p style="color:red">x</p><a>链接</a><img/><div>')
    joined = " ".join(bad)
    assert "style" in joined and "<a>" in joined and "<img/>" in joined
    assert "未闭合" in joined
    unbalanced, _ = check_body("<p><strong>x</p></strong>")
    assert unbalanced
