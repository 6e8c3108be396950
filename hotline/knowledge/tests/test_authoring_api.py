"""The article API: /api/kb/articles — create 201, read, update, moves with 409 / 422 /
404, and the editors' list, with each caller's scope."""

# ruff: noqa: F811 — the fixtures are imported from authoring_fixtures

import datetime as dt
import json

import pytest

from hotline.knowledge.lifecycle import ArticleState
from hotline.knowledge.models import Article
from hotline.knowledge.services import articles as services

from .authoring_fixtures import article, kb  # noqa: F401

pytestmark = pytest.mark.django_db


def call(client, method, url, body=None):
    kwargs = {"content_type": "application/json"}
    if body is not None:
        kwargs["data"] = json.dumps(body)
    return getattr(client, method)(url, **kwargs)


NEW = {
    "title": "社保卡丢了怎么补办？",
    "subject": "0101",
    "form": "常见问答",
    "keywords": ["社保卡", "补办"],
    "body": "<p>携带身份证到银行网点补办。</p><img src=x onerror=alert(1)>",
    "effective_from": "2026-01-01",
}


def test_create_read_update_and_move(kb, api):
    editor = api(kb.editor)
    response = call(editor, "post", "/api/kb/articles", NEW)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "draft" and body["version"] == 1 and body["form"] == "常见问答"
    assert body["subject"]["path"] == "社会保障 / 养老保险"
    assert body["body"] == "<p>携带身份证到银行网点补办。</p>"
    assert body["moves"] == ["submit", "archive"]
    pk = body["id"]
    assert call(editor, "get", f"/api/kb/articles/{pk}").json()["title"] == NEW["title"]
    updated = call(
        editor,
        "put",
        f"/api/kb/articles/{pk}",
        {"title": "社保卡丢失补办", "note": "改标题", "version": 1},
    )
    assert updated.status_code == 200 and updated.json()["version"] == 2
    stale = call(editor, "put", f"/api/kb/articles/{pk}", {"title": "旧的", "version": 1})
    assert stale.status_code == 409 and "他人保存" in stale.json()["detail"]
    assert call(editor, "put", f"/api/kb/articles/{pk}", {"title": None}).status_code == 422
    moved = call(editor, "post", f"/api/kb/articles/{pk}/actions/submit")
    assert moved.status_code == 200 and moved.json()["state"] == "pending"
    again = call(editor, "post", f"/api/kb/articles/{pk}/actions/submit")
    assert again.status_code == 409 and "待审核" in again.json()["detail"]
    no_reason = call(editor, "post", f"/api/kb/articles/{pk}/actions/reject", {"note": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "note"
    unknown = call(editor, "post", f"/api/kb/articles/{pk}/actions/publish")
    assert unknown.status_code == 422
    published = call(editor, "post", f"/api/kb/articles/{pk}/actions/approve")
    assert published.json()["state"] == "published" and published.json()["published_at"]
    locked = call(editor, "put", f"/api/kb/articles/{pk}", {"title": "直接改"})
    assert locked.status_code == 409 and "修订" in locked.json()["detail"]


def test_bad_fields_are_422_in_chinese(kb, api):
    editor = api(kb.editor)
    for change, field in (
        ({"subject": "9999"}, "subject"),
        ({"form": "不存在"}, "form"),
        ({"body": "<script>x</script>"}, "body"),
        ({"title": ""}, "title"),
        ({"expires_on": "2025-01-01"}, "expires_on"),
        ({"related": [999999]}, "related"),
    ):
        response = call(editor, "post", "/api/kb/articles", {**NEW, **change})
        assert response.status_code == 422, (change, response.content)
        assert response.json()["field"] == field
    missing = call(editor, "post", "/api/kb/articles", {"title": "只有标题"})
    assert missing.status_code == 422 and "缺少必填项" in missing.json()["detail"]
    assert not Article.objects.exists()


def test_scope_through_the_api(kb, article, api):
    theirs = article(subject=kb.fund, title="住建局的草稿")
    mine = article(actor=kb.rs_editor, title="人社局的草稿")
    rs = api(kb.rs_editor)
    assert call(rs, "get", f"/api/kb/articles/{theirs.pk}").status_code == 404
    assert call(rs, "put", f"/api/kb/articles/{theirs.pk}", {"title": "改"}).status_code == 404
    assert call(rs, "post", f"/api/kb/articles/{theirs.pk}/actions/submit").status_code == 404
    out = call(rs, "post", "/api/kb/articles", {**NEW, "subject": "0301"})
    assert out.status_code == 404
    assert call(rs, "post", "/api/kb/articles", NEW).status_code == 201
    listed = call(rs, "get", "/api/kb/articles").json()
    assert {i["title"] for i in listed["items"]} == {"人社局的草稿", NEW["title"]}
    moved = call(rs, "post", f"/api/kb/articles/{mine.pk}/actions/submit")
    assert moved.status_code == 200
    assert call(rs, "post", f"/api/kb/articles/{mine.pk}/actions/approve").status_code == 403
    assert Article.objects.get(pk=theirs.pk).title == "住建局的草稿"


def test_agents_read_only_what_they_may_find(kb, article, api):
    draft = article()
    live = article()
    expired = article(expires_on=dt.date.today() - dt.timedelta(days=3))
    for a in (live, expired):
        services.article_move(actor=kb.editor, article=a, move="submit")
    services.article_move(actor=kb.editor, article=Article.objects.get(pk=live.pk), move="approve")
    Article.objects.filter(pk=expired.pk).update(state=ArticleState.PUBLISHED)
    agent = api(kb.agent)
    assert call(agent, "get", f"/api/kb/articles/{live.pk}").status_code == 200
    assert call(agent, "get", f"/api/kb/articles/{draft.pk}").status_code == 404
    assert call(agent, "get", f"/api/kb/articles/{expired.pk}").status_code == 404
    assert call(agent, "get", "/api/kb/articles").status_code == 403
    assert call(agent, "post", "/api/kb/articles", NEW).status_code == 403
    assert call(agent, "post", f"/api/kb/articles/{live.pk}/actions/archive").status_code == 403
    assert call(api(None), "get", f"/api/kb/articles/{live.pk}").status_code == 401


def test_editor_list_filters_and_pages(kb, article, api):
    for i in range(5):
        article(title=f"养老知识{i}")
    article(subject=kb.fund, title="公积金知识")
    submitted = article(title="待审的知识")
    services.article_move(actor=kb.editor, article=submitted, move="submit")
    editor = api(kb.editor)
    body = call(editor, "get", "/api/kb/articles?limit=2&offset=1").json()
    assert body["total"] == 7 and len(body["items"]) == 2
    assert call(editor, "get", "/api/kb/articles?subject=03").json()["total"] == 1
    pending = call(editor, "get", "/api/kb/articles?state=pending").json()
    assert [i["title"] for i in pending["items"]] == ["待审的知识"]
    assert call(editor, "get", "/api/kb/articles?state=nope").status_code == 422
    assert call(editor, "get", "/api/kb/articles?subject=88").status_code == 422
    assert call(editor, "get", "/api/kb/articles?limit=0").status_code == 422
