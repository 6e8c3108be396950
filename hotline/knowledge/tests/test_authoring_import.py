"""批量导入 from the xlsx template with a row-by-row report, and 批量导出 of a filtered list."""

# ruff: noqa: F811 — the fixtures are imported from authoring_fixtures

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from hotline.core.errors import Forbidden, Unprocessable
from hotline.core.models import AuditEntry
from hotline.knowledge.lifecycle import ArticleState
from hotline.knowledge.models import Article, ArticleVersion
from hotline.knowledge.selectors import articles as selectors
from hotline.knowledge.services import articles as services

from .authoring_fixtures import article, kb  # noqa: F401

pytestmark = pytest.mark.django_db

HEADERS = selectors.IMPORT_HEADERS


def sheet(rows, headers=HEADERS, name="导入.xlsx") -> SimpleUploadedFile:
    workbook = Workbook()
    ws = workbook.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def row(title, code="0101", form="办事指南", keywords="养老金，退休", body="第一段。\n第二段。",
        effective="2026-01-01", expires=None):  # fmt: skip
    return [title, code, form, keywords, body, effective, expires]


def test_good_rows_are_imported_bad_rows_reported_whole(kb, article):
    article(title="已存在的知识")
    rows = [
        row("城乡居民养老保险缴费档次"),  # 2: good
        row("", code="0101"),  # 3: no title
        row("未知分类的知识", code="9999"),  # 4
        row("日期错误的知识", effective="2026-13-45"),  # 5
        row("失效早于生效", effective=dt.date(2026, 5, 1), expires=dt.date(2026, 1, 1)),  # 6
        row("城乡居民养老保险缴费档次"),  # 7: repeats row 2
        row("已存在的知识"),  # 8
        row("多处错误", code="", body="", form="不存在的形式"),  # 9
        row("带格式的正文", code="0301", form="常见问答",
            body="<h3>条件</h3><p onclick='x()'>满足<script>alert(1)</script>条件</p>"),  # 10: good
        [None] * 7,  # blank line: skipped
    ]  # fmt: skip
    report = services.articles_import(actor=kb.editor, upload=sheet(rows))
    assert report.rows == 9
    assert [a.title for a in report.created] == ["城乡居民养老保险缴费档次", "带格式的正文"]
    errors = {e.row: e.problems for e in report.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9]
    assert errors[3] == ["请填写标题"]
    assert "9999" in errors[4][0]
    assert "不是有效日期" in errors[5][0]
    assert errors[6] == ["失效日期须晚于生效日期"]
    assert errors[7] == ["与表中前面的行标题重复"]
    assert errors[8] == ["已有同名知识"]
    assert len(errors[9]) == 3  # every problem of the row, not only the first
    for title in ("未知分类的知识", "日期错误的知识", "失效早于生效", "多处错误"):
        assert not Article.objects.filter(title=title).exists()
    imported = Article.objects.get(title="带格式的正文")
    assert imported.state == ArticleState.DRAFT and imported.form == kb.faq
    assert "script" not in imported.body and "onclick" not in imported.body
    plain = Article.objects.get(title="城乡居民养老保险缴费档次")
    assert plain.body == "<p>第一段。</p><p>第二段。</p>"
    assert plain.keywords == "养老金,退休" and plain.effective_from == dt.date(2026, 1, 1)
    assert ArticleVersion.objects.filter(article__in=report.created, number=1).count() == 2
    entry = AuditEntry.objects.get(action="kb.article.import")
    assert entry.detail["created"] == 2 and entry.detail["errors"] == 7


def test_publish_on_import_needs_review_and_is_all_or_nothing_per_row(kb):
    rows = [
        row("直接发布的知识"),
        row("已过期的知识", effective="2024-01-01", expires="2025-01-01"),
    ]
    report = services.articles_import(actor=kb.editor, upload=sheet(rows), publish=True)
    published = Article.objects.get(title="直接发布的知识")
    assert published.state == ArticleState.PUBLISHED
    assert AuditEntry.objects.filter(action="kb.article.approve", object_id=str(published.pk))
    # the second row passed the checks but could not be published: nothing of it stays
    assert [e.row for e in report.errors] == [3] and "失效日期" in report.errors[0].problems[0]
    assert not Article.objects.filter(title="已过期的知识").exists()
    with pytest.raises(Forbidden):
        services.articles_import(actor=kb.rs_editor, upload=sheet([row("甲")]), publish=True)


def test_unit_editor_imports_only_into_their_nodes(kb):
    report = services.articles_import(
        actor=kb.rs_editor, upload=sheet([row("本单位知识"), row("他单位知识", code="0301")])
    )
    assert [a.title for a in report.created] == ["本单位知识"]
    assert "不在您的管辖范围内" in report.errors[0].problems[0]


def test_bad_files_are_refused(kb):
    with pytest.raises(Unprocessable, match="xlsx"):
        services.articles_import(actor=kb.editor, upload=SimpleUploadedFile("a.csv", b"a,b"))
    with pytest.raises(Unprocessable, match="有效的 xlsx"):
        services.articles_import(actor=kb.editor, upload=SimpleUploadedFile("a.xlsx", b"hello"))
    with pytest.raises(Unprocessable, match="表头缺少：主题分类编码"):
        services.articles_import(
            actor=kb.editor, upload=sheet([["甲"]], headers=["标题", "正文", "关键词"])
        )
    with pytest.raises(Unprocessable, match="没有数据行"):
        services.articles_import(actor=kb.editor, upload=sheet([]))
    with pytest.raises(Forbidden):
        services.articles_import(actor=kb.agent, upload=sheet([row("甲")]))
    assert not Article.objects.exists()


def test_template_downloads_and_round_trips(kb, login):
    client = login(kb.editor)
    response = client.get("/kb/articles/import/template/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    first = workbook.worksheets[0]
    assert [c.value for c in first[1]] == HEADERS
    codes = [r[0].value for r in workbook["填写说明"].iter_rows() if r[0].value]
    assert {"01", "0101", "03", "0301"} <= set(codes)
    # the template with its example row edited is a valid import
    first["A2"] = "按模板填写的知识"
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = services.articles_import(
        actor=kb.editor, upload=SimpleUploadedFile("模板.xlsx", buffer.getvalue())
    )
    assert [a.title for a in report.created] == ["按模板填写的知识"] and not report.errors
    # a unit editor's template lists only their codes
    unit = load_workbook(
        io.BytesIO(login(kb.rs_editor).get("/kb/articles/import/template/").content)
    )
    unit_codes = {r[0].value for r in unit["填写说明"].iter_rows() if r[0].value}
    assert "0101" in unit_codes and "0301" not in unit_codes


def test_import_page_shows_each_bad_row(kb, login):
    client = login(kb.editor)
    rows = [row("页面导入的知识"), row("坏行", code="9999")]
    response = client.post("/kb/articles/import/", {"file": sheet(rows)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "第 3 行" in page and "9999" in page and "页面导入的知识" in page
    assert "已导入为草稿 1 条" in page
    response = client.post("/kb/articles/import/", {"file": SimpleUploadedFile("a.csv", b"x")})
    assert response.status_code == 400 and "xlsx" in response.content.decode()


def test_export_of_a_filtered_list(kb, article, login):
    article(title="养老金甲")
    article(title="公积金乙", subject=kb.fund)
    client = login(kb.editor)
    response = client.get("/kb/articles/export/", {"subject": kb.fund.pk})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "标题", "主题分类")
    assert [r[1] for r in rows[1:]] == ["公积金乙"]
    assert rows[1][2] == "住房 / 住房公积金" and rows[1][6] == "草稿"
    entry = AuditEntry.objects.get(action="kb.article.export")
    assert entry.detail["rows"] == 1
    assert login(kb.agent).get("/kb/articles/export/").status_code == 403
    unit = login(kb.rs_editor).get("/kb/articles/export/")
    titles = [
        r[1]
        for r in load_workbook(io.BytesIO(unit.content)).active.iter_rows(
            min_row=2, values_only=True
        )
    ]
    assert titles == ["养老金甲"]
