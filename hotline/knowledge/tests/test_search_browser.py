"""知识检索 in a real browser, on the demo knowledge base: an agent types pinyin initials and
picks a suggestion, narrows by category, opens an answer, rates it, files it in a new
folder, finds it in 我的收藏, and reports a question nothing answers (查无纠错); the agent
panel fragment is embedded in a page through htmx the way the workbench will do it.

Every page is watched for Content-Security-Policy violations and script errors;
screenshots (1440×900) go to ``screenshot_dir`` (docs/screenshots with HOTLINE_SCREENSHOTS).
"""

# ruff: noqa: F811 — the fixtures are imported from search_support

import pytest
from playwright.sync_api import expect

from hotline.knowledge.demo import load_articles
from hotline.knowledge.models import Article, Correction, FavoriteFolder, Rating
from hotline.testing import SignedIn

from .search_support import fresh_engine  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Agent(SignedIn):
    def __init__(self, browser, base_url: str, user, screenshots):
        super().__init__(browser, base_url, user, screenshots, prefix="kb-search-")


def test_agent_searches_opens_rates_favourites_and_reports(
    browser, live_server, org, make_user, screenshot_dir
):
    load_articles(platform=org.sy)
    agent_user = make_user("agent", username="kb_browser_agent", display_name="话务员林晓")
    agent = Agent(browser, live_server.url, agent_user, screenshot_dir)
    page = agent.page
    try:
        # --- suggestions by pinyin initials, then the results -------------------------------
        agent.goto("/kb/search/")
        box = page.locator("#kbq-q")
        box.press_sequentially("gjj", delay=60)
        suggestions = page.locator("#kbq-suggest [role=option]")
        expect(suggestions.first).to_be_visible()
        expect(page.locator("#kbq-suggest")).to_contain_text("公积金")
        agent.shoot("1-suggest")
        picked = suggestions.first.locator(".kbq-suggest-text").inner_text()
        assert picked.startswith("公积金")
        with page.expect_navigation():
            suggestions.first.click()
        expect(box).to_have_value(picked)
        expect(page.locator(".kbq-summary")).to_contain_text("共找到")
        expect(page.locator(".kbq-hit mark").first).to_be_visible()
        agent.shoot("2-results")

        # --- narrow by a subject facet, then search within the results ------------------------
        with page.expect_navigation():
            page.locator(".kbq-facets a", has_text="住房").first.click()
        expect(page.locator(".kbq-facets a.active", has_text="住房")).to_be_visible()
        box = page.locator("#kbq-q")
        box.fill("租房")
        agent.submit(page.get_by_role("button", name="在结果中检索"))
        expect(page.locator(".kbq-within")).to_contain_text(picked)
        first = page.locator(".kbq-hit-title a").first
        title = first.inner_text().strip()
        assert "租房" in title
        agent.shoot("3-within")

        # --- open, rate, favourite ----------------------------------------------------------
        agent.submit(first)
        expect(page.locator(".kba-title")).to_have_text(title)
        article = Article.objects.get(title=title)
        assert article.clicks == 1
        page.locator("label[for=kba-score-5]").click()
        page.locator("#kba-comment").fill("材料清单清楚，来电人一听就明白")
        agent.submit(page.get_by_role("button", name="提交评价"))
        expect(page.locator(".messages .alert-success")).to_contain_text("感谢评价")
        assert Rating.objects.get(article=article, user=agent_user).score == 5
        page.locator("#kba-new-folder").fill("住房常见问题")
        agent.submit(page.locator(".kba-favorite button[type=submit]"))
        expect(page.locator(".messages .alert-success")).to_contain_text("已收藏到“住房常见问题”")
        agent.shoot("4-article")
        assert (
            FavoriteFolder.objects.get(user=agent_user, name="住房常见问题").articles.count() == 1
        )
        agent.submit(page.get_by_role("link", name="返回检索结果"))
        expect(page.locator(".kbq-within")).to_be_visible()

        agent.goto("/kb/favorites/")
        expect(page.locator(".kbf-folder")).to_contain_text(title)
        agent.shoot("5-favorites")

        # --- nothing found: report it (查无纠错) ------------------------------------------------
        agent.goto("/kb/search/?mode=exact&q=" + "火星移民落户补贴")
        expect(page.locator(".app-content")).to_contain_text("没有找到相关知识")
        form = page.locator("form.kbr-form")
        form.locator("textarea[name=description]").fill("来电人咨询火星移民落户补贴，知识库没有")
        agent.shoot("6-nothing-found")
        agent.submit(form.get_by_role("button", name="提交上报"))
        expect(page.locator(".messages .alert-success")).to_be_visible()
        assert Correction.objects.filter(query="火星移民落户补贴", kind="not_found").exists()

        # --- the agent panel, embedded by htmx like the workbench will ------------------------
        agent.goto("/kb/search/")
        page.evaluate(
            """() => {
                const host = document.createElement('div');
                host.className = 'card card-body mt-3 kb-panel-host';
                host.setAttribute('hx-get', '/kb/panel/?q=' + encodeURIComponent('医保怎么报销'));
                host.setAttribute('hx-trigger', 'load');
                host.setAttribute('hx-swap', 'innerHTML');
                document.querySelector('.app-content').prepend(host);
                window.htmx.process(host);
            }"""
        )
        panel = page.locator(".kb-panel-host .kb-panel")
        expect(panel.locator(".kb-panel-item").first).to_be_visible()
        panel.locator("input[name=q]").fill("社保卡丢了")
        panel.locator("button[type=submit]").click()
        expect(page.locator(".kb-panel-host .kb-panel input[name=q]")).to_have_value("社保卡丢了")
        expect(page.locator(".kb-panel-host .kb-panel-item").first).to_contain_text("社保卡")
        page.locator(".kb-panel-host").screenshot(
            path=str(screenshot_dir / "kb-search-7-panel.png")
        )

        assert agent.csp == [], agent.csp
        # live_server is plain WSGI: it cannot answer the notifications WebSocket (Channels)
        errors = [e for e in agent.errors if "/ws/notifications/" not in e]
        assert errors == [], errors
    finally:
        agent.context.close()
