"""The pages of 采编与审核: who may open them (200 for the KB team, 403 for others, 404 out
of scope), and the editing, review, batch, versions and category flows through them."""

# ruff: noqa: F811 — the fixtures are imported from authoring_fixtures

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hotline.knowledge.lifecycle import ArticleState
from hotline.knowledge.models import Article, Category
from hotline.knowledge.services import articles as services

from .authoring_fixtures import BODY, article, grant, kb  # noqa: F401

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def published(kb, article, **fields):
    a = article(**fields)
    for move in ("submit", "approve"):
        a = services.article_move(actor=kb.editor, article=a, move=move)
    return a


def test_pages_open_for_the_kb_team_and_not_for_others(kb, article, login):
    draft = article()
    services.article_update(actor=kb.editor, article=draft, title="改过的标题")
    live = published(kb, article)
    pages = [
        "/kb/articles/",
        "/kb/articles/?state=draft&expired=yes&q=养老",
        "/kb/articles/new/",
        f"/kb/articles/{draft.pk}/",
        f"/kb/articles/{live.pk}/",
        f"/kb/articles/{draft.pk}/versions/",
        f"/kb/articles/{draft.pk}/versions/?a=2&b=1",
        "/kb/review/",
        "/kb/articles/import/",
        "/kb/categories/",
        "/kb/categories/?dimension=form",
        f"/kb/categories/{kb.pension.pk}/",
    ]
    editor = login(kb.editor)
    for url in pages:
        response = editor.get(url)
        assert response.status_code == 200, url
    for user in (kb.agent, kb.users.dispatcher, kb.users.sys_admin):
        client = login(user)
        for url in pages:
            assert client.get(url).status_code == 403, (user.username, url)
    anonymous = editor.__class__()
    assert anonymous.get("/kb/articles/").status_code == 302


def test_unit_editor_pages_stop_at_their_unit(kb, article, login):
    mine = article(actor=kb.rs_editor, title="人社局的知识")
    theirs = article(subject=kb.fund, title="住建局的知识")
    client = login(kb.rs_editor)
    listing = client.get("/kb/articles/").content.decode()
    assert "人社局的知识" in listing and "住建局的知识" not in listing
    assert client.get(f"/kb/articles/{mine.pk}/").status_code == 200
    for url in (f"/kb/articles/{theirs.pk}/", f"/kb/articles/{theirs.pk}/versions/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/kb/articles/{theirs.pk}/moves/submit/").status_code == 404
    response = client.post(f"/kb/articles/{theirs.pk}/", {"title": "越权", "subject": kb.fund.pk})
    assert response.status_code == 404
    assert Article.objects.get(pk=theirs.pk).state == ArticleState.DRAFT
    assert client.get("/kb/review/").status_code == 403  # no kb.review
    tree = client.get("/kb/categories/").content.decode()
    assert "养老保险" in tree and "住房公积金" not in tree
    assert client.get(f"/kb/categories/{kb.pension.pk}/").status_code == 403  # no kb.manage
    grant("unit_handler", "kb.manage", kb.rs_editor)
    assert client.get(f"/kb/categories/{kb.pension.pk}/").status_code == 200
    assert client.get(f"/kb/categories/{kb.fund.pk}/").status_code == 404
    response = client.post(
        f"/kb/categories/{kb.fund.pk}/", {"op": "rename", "name": "改", "sort": 0}
    )
    assert response.status_code == 404
    assert Category.objects.get(pk=kb.fund.pk).name == "住房公积金"
    # the subject list of the editor offers only the unit's nodes
    editor_page = client.get("/kb/articles/new/").content.decode()
    assert "社会保障 / 养老保险" in editor_page and "住房公积金" not in editor_page


def test_write_save_submit_review_publish_through_the_pages(kb, login):
    client = login(kb.editor)
    response = client.post(
        "/kb/articles/new/",
        {
            "title": "公积金怎么提取？",
            "subject": kb.fund.pk,
            "form": kb.faq.pk,
            "keywords": "公积金、提取",
            "body": "<p>购房、租房可以提取。</p><script>alert(1)</script>",
            "effective_from": "2026-01-01",
        },
    )
    assert response.status_code == 302
    a = Article.objects.get(title="公积金怎么提取？")
    assert a.body == "<p>购房、租房可以提取。</p>" and a.keywords == "公积金,提取"
    page = client.get(f"/kb/articles/{a.pk}/").content.decode()
    assert "data-kb-editor" in page and "提交审核" in page
    bad = client.post(f"/kb/articles/{a.pk}/", {"title": "", "subject": kb.fund.pk, "body": ""})
    assert bad.status_code == 400 and "请填写标题" in bad.content.decode()
    saved = client.post(
        f"/kb/articles/{a.pk}/",
        {
            "title": "公积金怎么提取？",
            "subject": kb.fund.pk,
            "form": kb.faq.pk,
            "keywords": "公积金、提取",
            "body": "<p>购房、租房、退休都可以提取。</p>",
            "note": "补充退休提取",
            "version": 1,
        },
    )
    assert saved.status_code == 302
    a.refresh_from_db()
    assert a.version == 2 and a.versions.first().note == "补充退休提取"
    stale = client.post(
        f"/kb/articles/{a.pk}/",
        {"title": "旧页面的保存", "subject": kb.fund.pk, "body": "<p>旧</p>", "version": 1},
    )
    assert stale.status_code == 400 and "他人保存" in stale.content.decode()
    client.post(f"/kb/articles/{a.pk}/moves/submit/")
    review = client.get("/kb/review/").content.decode()
    assert "公积金怎么提取？" in review
    refused = client.post(f"/kb/articles/{a.pk}/moves/reject/", follow=True)
    assert "退回原因" in refused.content.decode()
    client.post(f"/kb/articles/{a.pk}/moves/approve/")
    a.refresh_from_db()
    assert a.state == ArticleState.PUBLISHED
    shown = client.get(f"/kb/articles/{a.pk}/").content.decode()
    assert (
        "购房、租房、退休都可以提取。" in shown
        and "修订" in shown
        and "data-kb-editor" not in shown
    )
    blocked = client.post(f"/kb/articles/{a.pk}/", {"title": "x"}, follow=True)
    assert "修订" in blocked.content.decode()


def test_batch_review_page_reports_every_article(kb, article, login):
    pending = [article() for _ in range(2)]
    for a in pending:
        services.article_move(actor=kb.editor, article=a, move="submit")
    draft = article()
    client = login(kb.editor)
    response = client.post(
        "/kb/articles/batch/",
        {"move": "approve", "ids": [pending[0].pk, draft.pk, pending[1].pk], "next": "/kb/review/"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "成功 2" in page and "未成功 1" in page and "不能审核通过并发布" in page
    assert Article.objects.filter(state=ArticleState.PUBLISHED).count() == 2
    empty = client.post("/kb/articles/batch/", {"move": "approve"}, follow=True)
    assert "请至少选择一条知识" in empty.content.decode()


def test_versions_page_diff_and_rollback(kb, article, login):
    a = article(body="<p>缴费满15年。</p>")
    services.article_update(actor=kb.editor, article=a, body="<p>缴费满20年。</p>", note="新政策")
    client = login(kb.editor)
    page = client.get(f"/kb/articles/{a.pk}/versions/?a=1&b=2").content.decode()
    assert "<del>15</del>" in page and "<ins>20</ins>" in page and "新政策" in page
    assert client.get(f"/kb/articles/{a.pk}/versions/?a=1&b=9").status_code == 404
    response = client.post(f"/kb/articles/{a.pk}/versions/1/rollback/")
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.version == 3 and a.body_text == "缴费满15年。"


def test_expired_articles_are_flagged_in_the_lists(kb, article, login):
    article(
        title="已过期的旧通知",
        effective_from=dt.date(2025, 1, 1),
        expires_on=dt.date(2025, 6, 30),
    )
    article(title="长期有效的知识")
    client = login(kb.editor)
    page = client.get("/kb/articles/").content.decode()
    row = re.search(r"<tr class=\"kb-row-expired\">(.*?)</tr>", page, re.S).group(1)
    assert "已过期的旧通知" in row and "已失效" in row
    only = client.get("/kb/articles/?expired=yes").content.decode()
    assert "已过期的旧通知" in only and "长期有效的知识" not in only


def test_attachments_and_images_through_the_pages(kb, article, login):
    a = article()
    client = login(kb.editor)
    response = client.post(
        f"/kb/articles/{a.pk}/attachments/",
        {"file": SimpleUploadedFile("说明.txt", "离岛免税额度每年十万元".encode("gb18030"))},
        follow=True,
    )
    assert "提取文字" in response.content.decode()
    attachment = a.attachments.get()
    download = client.get(f"/kb/articles/{a.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content)
    refused = client.post(
        f"/kb/articles/{a.pk}/attachments/",
        {"file": SimpleUploadedFile("病毒.exe", b"MZ")},
        follow=True,
    )
    assert "类型不允许" in refused.content.decode()
    uploaded = client.post("/kb/images/", {"image": SimpleUploadedFile("图.png", PNG)})
    assert uploaded.status_code == 201
    url = uploaded.json()["url"]
    assert client.get(url).status_code == 200
    assert login(kb.agent).get(url).status_code == 200  # agents read the bodies with images
    assert (
        login(kb.agent).post("/kb/images/", {"image": SimpleUploadedFile("a.png", PNG)}).status_code
        == 403
    )
    bad = client.post("/kb/images/", {"image": SimpleUploadedFile("a.gif", b"GIF89a")})
    assert bad.status_code == 422 and "类型不允许" in bad.json()["detail"]
    assert client.get("/kb/images/2026/11/" + "0" * 32 + ".png").status_code == 404


def test_category_pages_add_edit_move_owner(kb, login):
    client = login(kb.editor)
    response = client.post(
        "/kb/categories/",
        {"dimension": "subject", "parent": kb.pension.pk, "code": "010110", "name": "养老金调整"},
    )
    assert response.status_code == 302
    node = Category.objects.get(code="010110")
    assert node.parent == kb.pension and node.owner_unit == kb.unit_a
    duplicate = client.post(
        "/kb/categories/",
        {"dimension": "subject", "parent": kb.pension.pk, "code": "010110", "name": "重复"},
    )
    assert duplicate.status_code == 400 and "已存在" in duplicate.content.decode()
    client.post(f"/kb/categories/{node.pk}/", {"op": "rename", "name": "待遇调整", "sort": 3})
    client.post(f"/kb/categories/{node.pk}/", {"op": "move", "parent": kb.relief.pk})
    client.post(f"/kb/categories/{kb.civil.pk}/", {"op": "owner", "owner_unit": kb.unit_b.pk})
    node.refresh_from_db()
    assert (node.name, node.sort, node.parent, node.owner_unit) == (
        "待遇调整",
        3,
        kb.relief,
        kb.unit_b,
    )
    client.post(f"/kb/categories/{node.pk}/", {"op": "disable"})
    node.refresh_from_db()
    assert not node.is_active
    tree = client.get("/kb/categories/").content.decode()
    assert "待遇调整" in tree and "停用" in tree
