"""The 知识检索 API contract (issue #4): names and shapes that tests outside the project and
the agent workbench rely on, and Chinese 4xx refusals."""

# ruff: noqa: F811 — the fixtures are imported from search_support

import re

import pytest

from hotline.knowledge.models import FavoriteFolder, Rating, SearchLog

from .search_support import fresh_engine, kb  # noqa: F401

pytestmark = pytest.mark.django_db


def test_search_contract(kb, api):
    response = api(kb.agent).get("/api/kb/search", {"q": "公积金", "limit": 3})
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"total", "items", "facets", "related"} <= set(body)
    assert body["total"] >= 3 and len(body["items"]) == 3
    item = body["items"][0]
    assert {"id", "title", "snippet", "category", "score"} <= set(item)
    assert isinstance(item["id"], int) and isinstance(item["score"], float)
    assert re.search(r"<mark>[^<]*公积金</mark>", item["snippet"])  # or 住房公积金, a synonym
    assert item["category"].startswith("住房")
    assert {"subject", "form", "children"} <= set(body["facets"])
    assert {"id", "code", "name", "count"} == set(body["facets"]["subject"][0])
    assert isinstance(body["related"], list) and len(body["related"]) <= 5
    assert SearchLog.objects.filter(query="公积金", results=body["total"]).count() == 1


def test_search_parameters(kb, api):
    client = api(kb.agent)
    exact = client.get("/api/kb/search", {"q": "公积金提取", "mode": "exact"}).json()
    assert [i["title"] for i in exact["items"]] == ["租房提取住房公积金办理指南"]
    scoped = client.get(
        "/api/kb/search", {"q": "公积金", "category": kb.fund.pk, "form": kb.faq.pk}
    ).json()
    assert [i["title"] for i in scoped["items"]] == ["公积金贷款最多能贷多少？"]
    by_clicks = client.get("/api/kb/search", {"q": "公积金", "sort": "clicks"}).json()
    assert by_clicks["items"][0]["title"] == "公积金贷款最多能贷多少？"
    assert by_clicks["items"][0]["score"] == 20
    within = client.get("/api/kb/search?q=贷款&within=公积金").json()
    assert within["items"][0]["title"] == "公积金贷款最多能贷多少？"
    titles_only = client.get("/api/kb/search", {"q": "合同", "fields": "title"}).json()
    assert titles_only["total"] == 0
    assert SearchLog.objects.filter(query="合同", results=0).exists()  # feeds 查无纠错
    second_page = client.get("/api/kb/search", {"q": "公积金", "offset": 1}).json()
    assert second_page["items"]
    assert SearchLog.objects.filter(query="公积金").count() == 2  # exact + clicks, not page 2


@pytest.mark.parametrize(
    "params,word",
    [
        ({"mode": "regex"}, "匹配方式"),
        ({"sort": "random"}, "排序方式"),
        ({"limit": 0}, "每页条数"),
        ({"limit": 500}, "每页条数"),
        ({"limit": "ten"}, "整数"),
        ({"category": "abc"}, "分类"),
        ({"category": 987654}, "分类不存在"),
        ({"fields": "title,body"}, "检索范围"),
        ({"q": "长" * 101}, "100"),
    ],
)
def test_bad_search_parameters_are_422_in_chinese(kb, api, params, word):
    response = api(kb.agent).get("/api/kb/search", {"q": "公积金", **params})
    assert response.status_code == 422
    assert word in response.json()["detail"]


def test_suggest_contract(kb, api):
    client = api(kb.agent)
    body = client.get("/api/kb/suggest", {"q": "gjj"}).json()
    texts = [i["text"] for i in body["items"]]
    assert "公积金贷款" in texts
    title = next(i for i in body["items"] if i["type"] == "title")
    assert isinstance(title["id"], int)
    assert client.get("/api/kb/suggest", {"q": ""}).json() == {"items": []}
    assert client.get("/api/kb/suggest", {"q": "x" * 51}).status_code == 422


def test_unauthenticated_and_unauthorised(kb, api):
    assert api(None).get("/api/kb/search", {"q": "公积金"}).status_code == 401
    refused = api(kb.admin).get("/api/kb/search", {"q": "公积金"})
    assert refused.status_code == 403 and "知识库" in refused.json()["detail"]


def test_hot_click_and_rating(kb, api):
    client = api(kb.agent)
    article = kb.articles.pension
    clicked = client.post(f"/api/kb/articles/{article.pk}/click")
    assert clicked.status_code == 200 and clicked.json() == {"counted": True, "clicks": 9}
    hot = client.get("/api/kb/hot", {"days": 7}).json()
    assert hot["items"][0] == {
        "id": article.pk,
        "title": article.title,
        "category": "社会保障 / 养老保险",
        "clicks": 1,
    }
    assert client.get("/api/kb/hot", {"days": 3}).status_code == 422
    rated = client.post(
        f"/api/kb/articles/{article.pk}/rating",
        {"score": 4, "comment": "清楚"},
        content_type="application/json",
    )
    assert rated.status_code == 200
    assert rated.json() == {"score": 4, "comment": "清楚", "rating": 4.0, "rating_count": 1}
    bad = client.post(
        f"/api/kb/articles/{article.pk}/rating", {"score": 9}, content_type="application/json"
    )
    assert bad.status_code == 422 and "1 到 5" in bad.json()["detail"]
    hidden = client.post(
        f"/api/kb/articles/{kb.articles.draft.pk}/rating",
        {"score": 3},
        content_type="application/json",
    )
    assert hidden.status_code == 404
    assert Rating.objects.count() == 1


def test_favourites_endpoints(kb, api):
    client = api(kb.agent)
    made = client.post(
        "/api/kb/favorites/folders", {"name": "社保"}, content_type="application/json"
    )
    assert made.status_code == 201
    folder_id = made.json()["id"]
    dup = client.post(
        "/api/kb/favorites/folders", {"name": "社保"}, content_type="application/json"
    )
    assert dup.status_code == 409 and "社保" in dup.json()["detail"]
    added = client.post(
        "/api/kb/favorites",
        {"article": kb.articles.pension.pk, "folder": folder_id},
        content_type="application/json",
    )
    assert added.status_code == 201 and added.json()["name"] == "社保"
    default = client.post(
        "/api/kb/favorites", {"article": kb.articles.medical.pk}, content_type="application/json"
    )
    assert default.json()["name"] == "默认收藏夹"
    listed = client.get("/api/kb/favorites").json()["folders"]
    by_name = {f["name"]: f for f in listed}
    assert by_name["社保"]["articles"] == [
        {"id": kb.articles.pension.pk, "title": kb.articles.pension.title, "available": True}
    ]
    renamed = client.patch(
        f"/api/kb/favorites/folders/{folder_id}",
        {"name": "养老"},
        content_type="application/json",
    )
    assert renamed.json()["name"] == "养老"
    removed = client.delete(
        f"/api/kb/favorites/folders/{folder_id}/articles/{kb.articles.pension.pk}"
    )
    assert removed.status_code == 204
    again = client.delete(
        f"/api/kb/favorites/folders/{folder_id}/articles/{kb.articles.pension.pk}"
    )
    assert again.status_code == 404
    # another person's folder does not exist for me
    theirs = api(kb.yz_agent).delete(f"/api/kb/favorites/folders/{folder_id}")
    assert theirs.status_code == 404
    assert client.delete(f"/api/kb/favorites/folders/{folder_id}").status_code == 204
    assert not FavoriteFolder.objects.filter(pk=folder_id).exists()
    empty_name = client.post(
        "/api/kb/favorites/folders", {"name": " "}, content_type="application/json"
    )
    assert empty_name.status_code == 422
