"""汇编汇总: the articles added, changed and expired in a week, month, year or custom range,
as a page, an xlsx workbook (one sheet per list) and a Word document (three tables), and
the compilations the worker stores every Monday and every 1st of the month."""

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.utils import timezone
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from hotline.core.errors import Unprocessable
from hotline.core.models import AuditEntry
from hotline.knowledge import tasks
from hotline.knowledge.lifecycle import ArticleState
from hotline.knowledge.models import Article, ArticleVersion, Category, Dimension
from hotline.knowledge.selectors import compilations as selectors
from hotline.knowledge.services import articles as article_services
from hotline.knowledge.services import compilations as services

TZ = timezone.get_current_timezone()
WEEK = (dt.date(2026, 3, 2), dt.date(2026, 3, 8))  # Monday to Sunday


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=TZ)


@pytest.fixture
def kb(org, users, make_user):
    top = Category.objects.create(dimension=Dimension.SUBJECT, code="03", name="住房")
    subject = Category.objects.create(
        dimension=Dimension.SUBJECT, code="0301", name="住房公积金", parent=top
    )
    form = Category.objects.create(dimension=Dimension.FORM, code="F2", name="办事指南")
    return SimpleNamespace(
        org=org,
        agent=users.agent,
        sys_admin=users.sys_admin,
        editor=make_user("kb_editor", username="kb_comp"),
        subject=subject,
        form=form,
    )


def article(kb, title, *, created, platform=None, state=ArticleState.PUBLISHED, **fields):
    """An article placed through the models (as the demo loader does), with version 1."""
    made = Article.objects.create(
        platform=platform or kb.org.sy,
        subject=kb.subject,
        form=kb.form,
        title=title,
        body="<p>正文</p>",
        body_text="正文",
        state=state,
        created_at=at(created),
        updated_at=at(created),
        published_at=at(created) if state == ArticleState.PUBLISHED else None,
        **fields,
    )
    version(made, 1, "新建", created)
    return made


def version(made, number, note, day):
    made.version = number
    made.save(update_fields=["version"])
    ArticleVersion.objects.create(
        article=made,
        number=number,
        title=made.title,
        body=made.body,
        subject=made.subject,
        form=made.form,
        note=note,
        saved_at=at(day, 9),
    )


def audited(made, action, day, hour=10, **detail):
    """The audit row a service wrote on that day (history of fixed dates)."""
    AuditEntry.objects.create(
        at=at(day, hour),
        actor_name="知识管理员",
        action=action,
        object_type="knowledge.article",
        object_id=str(made.pk),
        object_repr=made.title,
        detail=detail,
    )


@pytest.fixture
def history(kb):
    """One week of knowledge changes on SY (2–8 March 2026), and some around it."""
    a = article(kb, "A 公积金新政解读", created="2026-03-03")  # loaded in the week
    b = article(kb, "B 公积金提取指南", created="2026-02-10")  # loaded before, revised in it
    version(b, 2, "更新材料清单", "2026-03-04")
    audited(b, "kb.article.approve", "2026-03-04", version=2)
    c = article(kb, "C 公积金贷款额度", created="2026-03-01")  # written with the services,
    audited(c, "kb.article.create", "2026-03-01", 9)  # first published in the week
    audited(c, "kb.article.approve", "2026-03-05", version=1)
    d = article(kb, "D 公积金缴存比例", created="2026-01-05")
    audited(d, "kb.article.create", "2026-01-05", 9)
    audited(d, "kb.article.approve", "2026-01-06", version=1)
    version(d, 2, "调整缴存比例上限", "2026-03-06")
    audited(d, "kb.article.approve", "2026-03-06", version=2)  # republished: changed
    e = article(kb, "E 2025年度缴存基数通知", created="2025-07-01", expires_on=dt.date(2026, 3, 7))
    article(
        kb,
        "F 从未发布的草稿",
        created="2026-03-03",
        state=ArticleState.DRAFT,
        expires_on=dt.date(2026, 3, 7),
    )
    article(kb, "G 崖州区公积金窗口", created="2026-03-03", platform=kb.org.yz)
    h = article(kb, "H 公积金异地转移", created="2026-03-02")
    audited(h, "kb.article.create", "2026-03-02", 9)
    audited(h, "kb.article.approve", "2026-03-03", version=1)  # first published in the week
    version(h, 2, "补充办理地点", "2026-03-06")
    audited(h, "kb.article.approve", "2026-03-06", version=2)  # and again: still "added"
    article(kb, "I 下周的新知识", created="2026-03-09")
    return SimpleNamespace(a=a, b=b, c=c, d=d, e=e, h=h)


def titles(rows) -> list[str]:
    return [r.title for r in rows]


# --- periods ---------------------------------------------------------------------------------


def test_periods():
    day = dt.date(2026, 3, 4)  # a Wednesday
    assert selectors.period_range("week", day) == WEEK
    assert selectors.period_range("month", day) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert selectors.period_range("month", dt.date(2024, 2, 10))[1] == dt.date(2024, 2, 29)
    assert selectors.period_range("year", day) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert selectors.period_range("custom", None, dt.date(2026, 1, 5), dt.date(2026, 1, 9)) == (
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 9),
    )
    assert selectors.period_title("week", *WEEK) == "2026年第10周，3月2日—3月8日"
    assert selectors.previous_period("week", dt.date(2026, 3, 9)) == WEEK
    assert selectors.previous_period("month", dt.date(2026, 3, 1)) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 28),
    )
    with pytest.raises(Unprocessable, match="结束日期不能早于开始日期"):
        selectors.period_range("custom", None, dt.date(2026, 1, 9), dt.date(2026, 1, 5))
    with pytest.raises(Unprocessable, match="自定义期间最长一年"):
        selectors.period_range("custom", None, dt.date(2025, 1, 1), dt.date(2026, 1, 2))
    leap = selectors.period_range("custom", None, dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert leap == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))  # 366 days: one (leap) year
    with pytest.raises(Unprocessable, match="须填写开始和结束日期"):
        selectors.period_range("custom", None, None, dt.date(2026, 1, 1))
    with pytest.raises(Unprocessable, match="汇编周期"):
        selectors.period_range("decade", day)


# --- the lists -------------------------------------------------------------------------------


def test_added_changed_and_expired_of_a_week(kb, history):
    result = selectors.compile_period(kb.org.sy, *WEEK, kind="week")
    assert titles(result.added) == ["A 公积金新政解读", "H 公积金异地转移", "C 公积金贷款额度"]
    assert [r.at for r in result.added] == [
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 5),
    ]
    assert titles(result.changed) == ["B 公积金提取指南", "D 公积金缴存比例"]
    b, d = result.changed
    assert (b.version, b.note, b.at) == (2, "更新材料清单", dt.date(2026, 3, 4))
    assert (d.version, d.note) == (2, "调整缴存比例上限")
    assert titles(result.expired) == ["E 2025年度缴存基数通知"]
    assert result.expired[0].at == dt.date(2026, 3, 7)
    assert result.added[0].category == "住房 / 住房公积金" and result.added[0].form == "办事指南"
    assert result.title == "三亚市12345热线知识汇编（2026年第10周，3月2日—3月8日）"
    assert result.summary.endswith("新增知识 3 条，变更知识 2 条，失效知识 1 条。")


def test_the_month_and_the_year_gather_more(kb, history):
    january = selectors.compile_period(kb.org.sy, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert titles(january.added) == ["D 公积金缴存比例"] and not january.changed
    year = selectors.compile_period(
        kb.org.sy, *selectors.period_range("year", WEEK[0]), kind="year"
    )
    assert set(titles(year.added)) == {
        "A 公积金新政解读", "B 公积金提取指南", "C 公积金贷款额度", "D 公积金缴存比例",
        "H 公积金异地转移", "I 下周的新知识",
    }  # fmt: skip
    assert titles(year.changed) == []  # each was first published this year
    assert titles(year.expired) == ["E 2025年度缴存基数通知"]
    yz = selectors.compile_period(kb.org.yz, *WEEK)
    assert titles(yz.added) == ["G 崖州区公积金窗口"]


def test_publishing_through_the_services_lands_in_this_weeks_list(kb):
    made = article_services.article_create(
        actor=kb.editor, subject=kb.subject, title="公积金贷款提前还款", body="<p>说明</p>"
    )
    made = article_services.article_move(actor=kb.editor, article=made, move="submit")
    made = article_services.article_move(actor=kb.editor, article=made, move="approve")
    today = timezone.localdate()
    result = selectors.compile_period(kb.org.sy, *selectors.period_range("week", today))
    assert titles(result.added) == ["公积金贷款提前还款"] and result.added[0].at == today
    # revised and published again in the same week: still one new article
    made = article_services.article_move(actor=kb.editor, article=made, move="revise")
    made = article_services.article_update(
        actor=kb.editor, article=made, body="<p>说明（修订）</p>", note="补充说明"
    )
    made = article_services.article_move(actor=kb.editor, article=made, move="submit")
    article_services.article_move(actor=kb.editor, article=made, move="approve")
    result = selectors.compile_period(kb.org.sy, *selectors.period_range("week", today))
    assert titles(result.added) == ["公积金贷款提前还款"] and result.changed == []


# --- files --------------------------------------------------------------------------------------


def test_the_workbook_has_one_sheet_per_list_with_the_rows(kb, history):
    result = selectors.compile_period(kb.org.sy, *WEEK, kind="week")
    book = load_workbook(io.BytesIO(services.workbook(result)))
    assert book.sheetnames == ["新增知识", "变更知识", "失效知识"]
    added = [[c.value for c in row] for row in book["新增知识"].iter_rows()]
    assert added[0] == ["编号", "标题", "主题分类", "知识形式", "发布日期"]
    assert [row[1] for row in added[1:]] == titles(result.added)
    changed = [[c.value for c in row] for row in book["变更知识"].iter_rows(min_row=2)]
    assert changed[0][1:] == [
        "B 公积金提取指南", "住房 / 住房公积金", "办事指南", dt.datetime(2026, 3, 4), 2, "更新材料清单",
    ]  # fmt: skip
    assert book["失效知识"].max_row == 2


def test_the_document_has_a_title_a_summary_and_three_tables(kb, history):
    result = selectors.compile_period(kb.org.sy, *WEEK, kind="week")
    doc = Document(io.BytesIO(services.document(result)))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == result.title
    assert result.summary in texts
    assert "新增知识（3 条）" in texts and "失效知识（1 条）" in texts
    assert len(doc.tables) == 3
    added, changed, expired = ([[c.text for c in row.cells] for row in t.rows] for t in doc.tables)
    assert added[0] == ["序号", "标题", "主题分类", "知识形式", "发布日期"]
    assert [row[1] for row in added[1:]] == titles(result.added)
    assert changed[2][1] == "D 公积金缴存比例" and changed[2][-1] == "调整缴存比例上限"
    assert expired[1][1:] == [
        "E 2025年度缴存基数通知",
        "住房 / 住房公积金",
        "办事指南",
        "2026-03-07",
    ]
    fonts = doc.styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "宋体"


def test_an_empty_list_is_said_so_in_the_document(kb):
    result = selectors.compile_period(kb.org.sy, dt.date(2020, 1, 6), dt.date(2020, 1, 12))
    doc = Document(io.BytesIO(services.document(result)))
    assert all(t.rows[1].cells[0].text == "本期无" for t in doc.tables)


# --- the worker's runs --------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_the_monday_run_stores_last_weeks_compilation(kb, history, media):
    written = services.compilations_store_all(kind="week", today=dt.date(2026, 3, 9))
    names = sorted(p.name for p in written)
    assert names == [
        "SY-week-2026-W10.docx",
        "SY-week-2026-W10.xlsx",
        "YZ-week-2026-W10.docx",
        "YZ-week-2026-W10.xlsx",
    ]
    book = load_workbook(media / "kb" / "compilations" / "SY-week-2026-W10.xlsx")
    assert book["新增知识"].max_row == 4
    monthly = services.compilation_store(
        platform=kb.org.sy, kind="month", today=dt.date(2026, 4, 1)
    )
    assert [p.name for p in monthly] == ["SY-month-2026-03.xlsx", "SY-month-2026-03.docx"]
    stored = selectors.stored_files(kb.org.sy)
    assert [(f.kind, f.label, f.fmt) for f in stored] == [
        ("month", "2026-03", "xlsx"),
        ("month", "2026-03", "docx"),
        ("week", "2026-W10", "xlsx"),
        ("week", "2026-W10", "docx"),
    ]


def test_the_tasks_run_on_monday_morning_and_on_the_first(kb, media):
    weekly, monthly = tasks.weekly_compilation.s(), tasks.monthly_compilation.s()
    monday = dt.datetime(2026, 3, 9, 6, 0)
    assert weekly.validate_datetime(monday)
    assert not weekly.validate_datetime(monday.replace(hour=7))
    assert not weekly.validate_datetime(monday + dt.timedelta(days=1))
    assert monthly.validate_datetime(dt.datetime(2026, 4, 1, 6, 10))
    assert not monthly.validate_datetime(dt.datetime(2026, 4, 2, 6, 10))
    article(kb, "本周新知识", created=timezone.localdate().isoformat())
    tasks.weekly_compilation()  # the worker's call (run inline in tests)
    label = selectors.period_label(
        "week", selectors.previous_period("week", timezone.localdate())[0]
    )
    assert (media / "kb" / "compilations" / f"SY-week-{label}.docx").is_file()


# --- pages ---------------------------------------------------------------------------------------


def test_the_page_and_its_downloads(kb, history, media, login):
    agent = login(kb.agent)
    page = agent.get("/kb/compilations/?period=week&date=2026-03-04")
    assert page.status_code == 200
    html = page.content.decode()
    for title in ("A 公积金新政解读", "B 公积金提取指南", "E 2025年度缴存基数通知"):
        assert title in html
    assert "G 崖州区公积金窗口" not in html  # another platform's
    assert agent.get("/kb/compilations/").status_code == 200  # last week by default
    xlsx = agent.get("/kb/compilations/download.xlsx?period=week&date=2026-03-04")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].endswith("spreadsheetml.sheet")
    assert load_workbook(io.BytesIO(xlsx.content))["变更知识"].max_row == 3
    docx = agent.get("/kb/compilations/download.docx?period=custom&start=2026-03-02&end=2026-03-08")
    assert docx.status_code == 200 and len(Document(io.BytesIO(docx.content)).tables) == 3
    bad = agent.get("/kb/compilations/?period=custom&start=2026-03-08&end=2026-03-01")
    assert bad.status_code == 400 and "结束日期不能早于开始日期" in bad.content.decode()
    assert agent.get("/kb/compilations/download.xlsx?period=custom").status_code == 400
    assert agent.get("/kb/compilations/download.pdf?period=week").status_code == 404
    assert agent.get("/kb/compilations/?platform=XX").status_code == 400
    assert login(kb.sys_admin).get("/kb/compilations/").status_code == 403


def test_stored_files_are_listed_and_downloaded_within_scope(kb, history, media, login, users):
    services.compilations_store_all(kind="week", today=dt.date(2026, 3, 9))
    agent = login(kb.agent)
    html = agent.get("/kb/compilations/?period=week&date=2026-03-04").content.decode()
    assert "/kb/compilations/files/SY-week-2026-W10.xlsx" in html
    file = agent.get("/kb/compilations/files/SY-week-2026-W10.docx")
    assert file.status_code == 200 and b"".join(file.streaming_content)[:2] == b"PK"
    # a county agent reads the city's knowledge, a city agent the county's
    assert (
        login(users.yz_agent).get("/kb/compilations/files/SY-week-2026-W10.xlsx").status_code == 200
    )
    assert agent.get("/kb/compilations/files/YZ-week-2026-W10.xlsx").status_code == 200
    assert agent.get("/kb/compilations/files/..%2Fsecret_key").status_code == 404
    assert agent.get("/kb/compilations/files/HN-week-2026-W10.xlsx").status_code == 404


def test_the_compilation_api(kb, history, api):
    client = api(kb.agent)
    body = client.get("/api/kb/compilations?period=week&date=2026-03-04").json()
    assert (body["start"], body["end"]) == ("2026-03-02", "2026-03-08")
    assert [r["title"] for r in body["changed"]] == ["B 公积金提取指南", "D 公积金缴存比例"]
    assert body["changed"][0]["note"] == "更新材料清单" and len(body["added"]) == 3
    yz = client.get("/api/kb/compilations?period=week&date=2026-03-04&platform=yz").json()
    assert [r["title"] for r in yz["added"]] == ["G 崖州区公积金窗口"]
    bad = client.get("/api/kb/compilations?period=decade")
    assert bad.status_code == 422 and "汇编周期" in bad.json()["detail"]
    assert client.get("/api/kb/compilations?platform=XX").status_code == 404
    assert api(kb.sys_admin).get("/api/kb/compilations").status_code == 403
