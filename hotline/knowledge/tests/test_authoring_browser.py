"""采编与审核 in a real browser: the list with its expired flags, the rich-text editor
(toolbar, an uploaded image), a saved second version and its diff, the import report and
batch review — every page watched for CSP violations and script errors, screenshots taken
(1440×900) into ``screenshot_dir``."""

# ruff: noqa: F811 — the fixtures are imported from authoring_fixtures

import io
import struct
import zlib

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from hotline.knowledge.demo import load_articles
from hotline.knowledge.lifecycle import ArticleState
from hotline.knowledge.models import Article
from hotline.knowledge.selectors.articles import IMPORT_HEADERS
from hotline.testing import SignedIn

from .authoring_fixtures import kb  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png(width: int, height: int, rgb=(31, 78, 121)) -> bytes:
    """A real PNG of one colour (the editor's image upload gets a picture to show)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


class Editor(SignedIn):
    """The KB editor; confirmations (data-confirm) are accepted."""

    def __init__(self, browser, base: str, user, screenshots):
        super().__init__(browser, base, user, screenshots, prefix="kb-")
        self.page.on("dialog", lambda dialog: dialog.accept())


def import_file(path) -> str:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(IMPORT_HEADERS)
    sheet.append(
        [
            "台风期间景区开放安排",
            "0701",
            "通知公告",
            "台风，景区",
            "台风红色预警期间景区关闭。",
            "2026-08-01",
            None,
        ]
    )
    sheet.append(["", "0701", "通知公告", "", "没有标题的一行", None, None])
    sheet.append(["分类写错的一行", "7777", "办事指南", "", "正文", "2026-13-01", None])
    sheet.append(
        ["离岛免税购物额度说明", "0704", "常见问答", "免税", "每人每年额度十万元。", None, None]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    target = path / "知识导入.xlsx"
    target.write_bytes(buffer.getvalue())
    return str(target)


def test_authoring_in_the_browser(kb, live_server, browser, screenshot_dir, tmp_path):
    load_articles(platform=kb.org.sy, editor=kb.editor, units={"RSJ": kb.unit_a})
    me = Editor(browser, live_server.url, kb.editor, screenshot_dir)

    # 知识采编: counters, filters, expired flags
    me.goto("/kb/articles/?sort=expires")
    expect(me.page.locator(".kb-count").first).to_be_visible()
    expect(me.page.locator("tr.kb-row-expired .kb-expired").first).to_have_text("已失效")
    me.shoot("list")

    # the editor: type with the toolbar, upload an image, save
    me.goto("/kb/articles/new/")
    page = me.page
    page.fill("#id_title", "三亚旅游投诉怎么处理？")
    page.select_option("#id_subject", label="旅游文化 / 旅游投诉")
    page.select_option("#id_form", label="常见问答")
    page.fill("#id_keywords", "旅游投诉，退款")
    area = page.locator(".kb-editable")
    expect(area).to_be_visible()
    expect(page.locator("#id_body")).to_be_hidden()
    area.click()
    page.keyboard.type("受理渠道")
    page.click('.kb-toolbar [data-value="h3"]')
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("拨打12345或到旅游投诉窗口。")
    page.keyboard.press("Enter")
    page.click('.kb-toolbar [data-cmd="insertOrderedList"]')
    page.keyboard.type("说明消费时间和商家")
    page.keyboard.press("Enter")
    page.keyboard.type("保留票据")
    page.set_input_files(
        "[data-kb-image-input]",
        files=[{"name": "流程图.png", "mimeType": "image/png", "buffer": png(240, 80)}],
    )
    expect(area.locator("img")).to_have_count(1)
    page.fill("#id_note", "首次编写")
    me.shoot("editor")
    me.submit(page.locator("#kb-editor-form button[type=submit]"))
    expect(page.locator(".messages .alert-success")).to_contain_text("第 1 版")
    article = Article.objects.get(title="三亚旅游投诉怎么处理？")
    assert "<h3>受理渠道</h3>" in article.body and "<ol><li>说明消费时间和商家</li>" in article.body
    assert '<img src="/kb/images/' in article.body
    expect(page.locator(".kb-editable img")).to_be_visible()

    # a second version, then the diff
    area = page.locator(".kb-editable")
    area.locator("p").first.click()
    page.keyboard.press("End")
    page.keyboard.type("也可在“海南政务服务”网上投诉。")
    page.fill("#id_note", "补充网上投诉渠道")
    me.submit(page.locator("#kb-editor-form button[type=submit]"))
    expect(page.locator(".messages .alert-success")).to_contain_text("第 2 版")
    me.goto(f"/kb/articles/{article.pk}/versions/")
    expect(page.locator(".kb-diff-body ins").first).to_contain_text("海南政务服务")
    me.shoot("diff")

    # submit, then approve from the review queue with the batch bar
    me.goto(f"/kb/articles/{article.pk}/")
    me.submit(page.locator("button", has_text="提交审核"))
    me.goto("/kb/review/")
    approve = page.locator("button[value=approve]")
    expect(approve).to_be_disabled()
    page.check(f"input[name=ids][value='{article.pk}']")
    expect(page.locator("[data-kb-selected]")).to_have_text("已选 1 条")
    me.shoot("review")
    me.submit(approve)
    expect(page.locator(".kb-batch-results")).to_contain_text("成功")
    assert Article.objects.get(pk=article.pk).state == ArticleState.PUBLISHED
    me.goto(f"/kb/articles/{article.pk}/")
    expect(page.locator(".kb-body h3")).to_have_text("受理渠道")
    me.shoot("article")

    # the import report
    me.goto("/kb/articles/import/")
    page.set_input_files("#id_file", import_file(tmp_path))
    me.submit(page.locator("button", has_text="开始导入"))
    report = page.locator(".kb-import-errors")
    expect(report).to_contain_text("第 3 行")
    expect(report).to_contain_text("7777")
    expect(page.locator(".kb-import-created")).to_contain_text("离岛免税购物额度说明")
    me.shoot("import-report")

    me.goto("/kb/categories/")
    expect(page.locator(".kb-tree")).to_contain_text("旅游投诉")
    me.shoot("categories")
    me.clean()
    me.context.close()
