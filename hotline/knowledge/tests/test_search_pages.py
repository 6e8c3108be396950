"""The 知识检索 pages: search page, reading page (click, rating, favourite), 我的收藏 and the
agent panel fragment — rendered as each role sees them."""

# ruff: noqa: F811 — the fixtures are imported from search_support

import re

import pytest
from django.utils import timezone

from hotline.knowledge.models import Article, ArticleClickDay, FavoriteFolder, Rating, SearchLog

from .search_support import fresh_engine, kb  # noqa: F401

pytestmark = pytest.mark.django_db


def test_search_page_shows_results_facets_related_and_hot(kb, client):
    ArticleClickDay.objects.create(article=kb.articles.pension, day=timezone.localdate(), clicks=4)
    client.force_login(kb.agent)
    response = client.get("/kb/search/", {"q": "公积金贷款"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "共找到 <strong>" in html
    assert "<mark>公积金</mark>" in html  # highlighted title or snippet
    assert "公积金贷款最多能贷多少？" in re.sub(r"</?mark>", "", html)
    assert "住房" in html and "常见问答" in html  # facets
    assert "贷款额度" in html  # a related keyword
    assert "退休后养老金多久能到账？" in html  # the hot list
    assert 'data-kb-suggest="/api/kb/suggest"' in html
    assert "在结果中检索" in html
    assert SearchLog.objects.filter(query="公积金贷款").count() == 1


def test_search_page_without_query_and_with_bad_input(kb, client):
    client.force_login(kb.agent)
    landing = client.get("/kb/search/")
    assert landing.status_code == 200 and "输入来电人的问题开始检索" in landing.content.decode()
    bad = client.get("/kb/search/", {"q": "公积金", "sort": "whatever"})
    assert bad.status_code == 422 and "排序方式取值不正确" in bad.content.decode()
    assert client.get("/kb/search/", {"q": "x", "category": "zz"}).status_code == 422


def test_nothing_found_offers_a_report(kb, client):
    client.force_login(kb.agent)
    html = client.get("/kb/search/", {"q": "火星移民政策", "mode": "exact"}).content.decode()
    assert "没有找到相关知识" in html
    assert 'action="/kb/corrections/report/"' in html and 'value="火星移民政策"' in html
    assert SearchLog.objects.get(query="火星移民政策").results == 0


def test_search_within_results_keeps_one_address(kb, client):
    client.force_login(kb.agent)
    response = client.get("/kb/search/", {"q": "贷款", "prev": "公积金", "narrow": "1"})
    assert response.status_code == 302
    target = response["Location"]
    assert "within=%E5%85%AC%E7%A7%AF%E9%87%91" in target and "narrow" not in target
    html = client.get(target).content.decode()
    assert "在结果中检索：" in html and "公积金贷款最多能贷多少？" in re.sub(r"</?mark>", "", html)


def test_editors_may_include_drafts(kb, client):
    client.force_login(kb.editor)
    html = client.get("/kb/search/", {"q": "养老金调整", "drafts": "1"}).content.decode()
    assert "含草稿、待审核与已失效" in html
    assert "养老金调整草稿" in re.sub(r"</?mark>", "", html) and "kb-state-draft" in html
    client.force_login(kb.agent)
    html = client.get("/kb/search/", {"q": "养老金调整", "drafts": "1"}).content.decode()
    assert "含草稿、待审核与已失效" not in html
    assert "养老金调整草稿" not in re.sub(r"</?mark>", "", html)


def test_reading_page_counts_a_click_and_shows_everything(kb, client):
    article = kb.articles.fund_withdraw
    article.related.add(kb.articles.fund_loan, kb.articles.draft)
    client.force_login(kb.agent)
    html = client.get(f"/kb/read/{article.pk}/", {"back": "/kb/search/?q=公积金"}).content.decode()
    assert article.title in html and "租房合同" in html  # the body
    assert "公积金贷款最多能贷多少？" in html  # related, published
    assert "养老金调整草稿" not in html  # related but a draft
    assert 'href="/kb/search/?q=公积金"' in html  # back to the results
    assert 'name="score"' in html and "收藏到" in html and "纠错" in html
    article.refresh_from_db()
    assert article.clicks == 6
    client.get(f"/kb/read/{article.pk}/")  # a reload is the same opening
    article.refresh_from_db()
    assert article.clicks == 6


def test_reading_page_refuses_what_agents_may_not_find(kb, client):
    client.force_login(kb.agent)
    assert client.get(f"/kb/read/{kb.articles.draft.pk}/").status_code == 404
    assert client.get(f"/kb/read/{kb.articles.expired.pk}/").status_code == 404
    assert client.get("/kb/read/999999/").status_code == 404
    client.force_login(kb.editor)
    html = client.get(f"/kb/read/{kb.articles.expired.pk}/").content.decode()
    assert "已于" in html and "失效" in html and "坐席检索不到" in html
    draft = client.get(f"/kb/read/{kb.articles.draft.pk}/").content.decode()
    assert "当前为“草稿”" in draft
    assert Article.objects.get(pk=kb.articles.draft.pk).clicks == 0


def test_rating_and_favourite_through_the_reading_page(kb, client):
    article = kb.articles.medical
    client.force_login(kb.agent)
    response = client.post(f"/kb/read/{article.pk}/rate/", {"score": "5", "comment": "很清楚"})
    assert response.status_code == 302 and response["Location"].endswith("#rating")
    assert Rating.objects.get(article=article, user=kb.agent).score == 5
    client.post(f"/kb/read/{article.pk}/rate/", {"score": "9"})
    assert Rating.objects.get(article=article, user=kb.agent).score == 5  # refused, kept
    page = client.get(f"/kb/read/{article.pk}/").content.decode()
    assert "评分应为 1 到 5 的整数" in page and "您评过 5 分" in page
    client.post(f"/kb/read/{article.pk}/favorite/", {"new_folder": "医保"})
    folder = FavoriteFolder.objects.get(user=kb.agent, name="医保")
    assert list(folder.articles.all()) == [article]
    client.post(f"/kb/read/{kb.articles.pension.pk}/favorite/", {"folder": folder.pk})
    assert folder.articles.count() == 2
    favourites = client.get("/kb/favorites/").content.decode()
    assert "医保" in favourites and article.title in favourites


def test_favourites_page_manages_folders(kb, client):
    client.force_login(kb.agent)
    client.post("/kb/favorites/folders/", {"name": "住房"})
    folder = FavoriteFolder.objects.get(user=kb.agent, name="住房")
    client.post(f"/kb/favorites/folders/{folder.pk}/rename/", {"name": "住房公积金"})
    folder.refresh_from_db()
    assert folder.name == "住房公积金"
    folder.articles.add(kb.articles.fund_loan, kb.articles.expired)
    html = client.get("/kb/favorites/").content.decode()
    assert "已下线或失效" in html  # the expired one stays listed, marked
    client.post(f"/kb/favorites/folders/{folder.pk}/articles/{kb.articles.fund_loan.pk}/remove/")
    assert list(folder.articles.all()) == [kb.articles.expired]
    duplicate = client.post("/kb/favorites/folders/", {"name": "住房公积金"}, follow=True)
    assert "已有名为“住房公积金”的收藏夹" in duplicate.content.decode()
    other = FavoriteFolder.objects.create(user=kb.yz_agent, name="别人的")
    assert client.post(f"/kb/favorites/folders/{other.pk}/delete/").status_code == 404
    client.post(f"/kb/favorites/folders/{folder.pk}/delete/")
    assert not FavoriteFolder.objects.filter(pk=folder.pk).exists()


def test_agent_panel_fragment(kb, client):
    client.force_login(kb.agent)
    empty = client.get("/kb/panel/").content.decode()
    assert "<html" not in empty and 'class="kb-panel"' in empty
    html = client.get("/kb/panel/", {"q": "医保怎么交"}).content.decode()
    assert "<html" not in html
    assert 'hx-get="/kb/panel/"' in html
    items = re.findall(r'class="kb-panel-item"', html)
    assert 1 <= len(items) <= 5
    assert f'href="/kb/read/{kb.articles.medical.pk}/"' in html and "打开" in html
    assert "<mark>" in html
    assert SearchLog.objects.filter(query="医保怎么交").exists()
    nothing = client.get("/kb/panel/", {"q": "火星"}).content.decode()
    assert "没有找到" in nothing and "查无上报" in nothing


def test_pages_need_kb_view(kb, client):
    client.force_login(kb.admin)
    assert client.get("/kb/search/").status_code == 403
    assert client.get("/kb/panel/", {"q": "医保"}).status_code == 403
    assert client.get("/kb/favorites/").status_code == 403
    client.logout()
    assert client.get("/kb/search/").status_code == 302  # to the login page


def test_navigation_offers_search_and_favourites(kb, client):
    client.force_login(kb.agent)
    html = client.get("/").content.decode()
    assert 'href="/kb/search/"' in html and 'href="/kb/favorites/"' in html
