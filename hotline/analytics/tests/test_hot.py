"""热点分析: over two hand-made weeks, reports of fallen trees after a typhoon (台风 倒树)
rise while noise complaints (噪音) hold steady. The rising subject must rank first with
the growth worked out here, the near-duplicate reports must form one cluster per area,
and the API, the page and its export must show the same, within the viewer's scope."""

import datetime as dt
import io
import math

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from hotline.analytics import hot
from hotline.core.workdays import LOCAL_TZ
from hotline.testing import SignedIn
from hotline.workorders import services
from hotline.workorders.models import Category

WEEK1 = dt.date(2026, 7, 6)  # Monday
WEEK2 = dt.date(2026, 7, 13)
SUNDAY2 = dt.date(2026, 7, 19)
ROADS = ["迎宾路", "凤凰路"]
OTHERS = [
    ("公积金提取", "咨询住房公积金提取需要哪些材料", "公积金提取"),
    ("医保报销", "咨询医疗保险异地就医报销手续", "医保报销"),
    ("停水", "小区停水两天没有通知，生活不便", "停水与水压不足"),
    ("路灯不亮", "人行道路灯损坏晚上漆黑一片", None),
]


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), LOCAL_TZ)


@pytest.fixture
def fortnight(users):
    """Week 1: 4 noise, 2 typhoon, 4 others. Week 2: 4 noise, 9 typhoon (8 in 天涯区,
    1 in 海棠区), 4 others. Returns the numbers of each group of week 2."""
    tree = Category.objects.get(name="树木修剪与倒伏")
    noise = Category.objects.get(name="社会生活噪音")

    def order(day, hour, title, content, area, category):
        return services.order_create(
            actor=users.agent,
            platform=users.agent.platform,
            order_type="help",
            title=title,
            content=content,
            caller_phone="13900001111",
            area=area,
            category=category,
            now=_at(day, hour),
            auto_dispatch=False,
        ).number

    def typhoon(day, hour, n, area="天涯区"):
        road = ROADS[n % 2]
        return order(
            day,
            hour,
            f"{road}台风倒树",
            f"台风过后{road}有倒树压住道路，影响车辆通行，请尽快清理。",
            area,
            tree,
        )

    def steady_noise(day, hour, n):
        return order(
            day,
            hour,
            "楼下装修噪音",
            f"楼下{n + 1}单元装修噪音扰民，晚上十点后仍在施工，无法休息。",
            "吉阳区",
            noise,
        )

    def others(day):
        for n, (title, content, leaf) in enumerate(OTHERS):
            category = Category.objects.get(name=leaf) if leaf else None
            order(day, 9 + n, title, content, "崖州区", category)

    for n in range(2):
        typhoon(WEEK1 + dt.timedelta(days=n), 10, n)
    for n in range(4):
        steady_noise(WEEK1 + dt.timedelta(days=n), 20, n)
    others(WEEK1 + dt.timedelta(days=2))

    week2 = {"typhoon": [], "noise": [], "elsewhere": []}
    for n in range(8):
        week2["typhoon"].append(typhoon(WEEK2 + dt.timedelta(days=n % 3), 8 + n, n))
    week2["elsewhere"].append(typhoon(WEEK2 + dt.timedelta(days=1), 12, 0, area="海棠区"))
    for n in range(4):
        week2["noise"].append(steady_noise(WEEK2 + dt.timedelta(days=n), 21, n))
    others(WEEK2 + dt.timedelta(days=4))
    return week2


def test_the_rising_subject_ranks_first_with_its_growth(users, fortnight):
    report = hot.top_topics(users.agent.platform, WEEK2, SUNDAY2, limit=10)
    first = report[0]
    assert {"台风", "倒树"} <= {first.term, *first.related}
    # 9 orders this week against 2 last week; 17 orders this week, 10 last week
    assert (first.count, first.previous) == (9, 2)
    assert first.growth == pytest.approx((9 - 2) / 2)
    expected = 2 * 17 / 10
    lift = math.log2((9 + 2) / (expected + 2))
    assert first.score == pytest.approx(lift * math.log2(1 + 9), abs=1e-3)
    assert first.category == "树木修剪与倒伏"
    assert set(first.order_numbers) == set(fortnight["typhoon"] + fortnight["elsewhere"])

    noise = next(t for t in report if "噪音" in {t.term, *t.related})
    assert (noise.count, noise.previous, noise.growth) == (4, 4, 0.0)
    assert noise.score < 0 < first.score  # steady at a bigger volume is not rising
    words = {w for t in report for w in (t.term, *t.related)}
    assert not words & {"来电", "反映", "诉求", "尽快", "市民"}  # generic hotline words


def test_near_duplicate_reports_form_one_cluster_per_area(users, fortnight):
    orders = hot.platform_orders(users.agent.platform)
    found, compared = hot.clusters(orders, WEEK2, SUNDAY2)
    assert compared == 17
    groups = {frozenset(o["number"] for o in c.orders): c for c in found}
    typhoon = groups[frozenset(fortnight["typhoon"])]  # not the 海棠区 one
    assert typhoon.size == 8 and typhoon.areas == [("天涯区", 8)]
    assert {"台风", "倒树"} <= set(typhoon.label)
    assert typhoon.categories == [("树木修剪与倒伏", 8)]
    assert frozenset(fortnight["noise"]) in groups
    assert len(found) == 2  # the four unrelated orders group with nothing


def test_a_sampled_period_scales_its_counts(users, fortnight, monkeypatch):
    monkeypatch.setattr(hot, "SAMPLE_LIMIT", 5)
    report = hot.topics(hot.platform_orders(users.agent.platform), WEEK2, SUNDAY2)
    assert report.sampled and report.orders == 17
    assert all(t.count >= hot.MIN_COUNT for t in report.topics)


# --- the API -------------------------------------------------------------------------------------


def test_api_contract(users, make_user, api, fortnight):
    analyst = make_user("analyst")
    url = f"/api/hot-topics?from={WEEK2}&to={SUNDAY2}"
    response = api(analyst).get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["orders"], body["previous_orders"]) == (17, 10)
    assert (body["previous_start"], body["previous_end"]) == (str(WEEK1), "2026-07-12")
    first = body["topics"][0]
    assert set(first) >= {"term", "count", "previous_count", "growth", "order_ids"}
    assert (first["count"], first["previous_count"], first["growth"]) == (9, 2, 3.5)
    assert len(first["order_ids"]) == 9

    response = api(analyst).get(url.replace("hot-topics", "hot-topics/clusters"))
    assert response.status_code == 200, response.content
    clusters = response.json()["clusters"]
    assert clusters[0]["size"] == 8 and clusters[0]["areas"] == [["天涯区", 8]]
    assert {o["number"] for o in clusters[0]["orders"]} == set(fortnight["typhoon"])

    # filters: an area, a category subtree
    narrowed = api(analyst).get(url + "&area=吉阳区").json()
    assert narrowed["orders"] == 4 and narrowed["topics"][0]["count"] == 4
    noise_root = Category.objects.get(name="噪音扰民", parent__isnull=False).pk
    narrowed = api(analyst).get(url + f"&category={noise_root}").json()
    assert narrowed["orders"] == 4


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("from=2026-07-19&to=2026-07-13", 422, "结束日期不能早于开始日期"),
        ("from=2026-07-13", 422, "请选择统计期间的起止日期"),
        ("from=2026-13-01&to=2026-07-19", 422, "日期格式"),
        ("from=2025-01-01&to=2026-07-19", 422, "统计期间最长"),
        ("from=2026-07-13&to=2026-07-19&platform=XX", 422, "平台不存在"),
        ("from=2026-07-13&to=2026-07-19&category=999999", 422, "诉求分类不存在"),
    ],
)
def test_bad_requests_are_refused_in_chinese(users, api, query, status, message):
    response = api(users.agent).get(f"/api/hot-topics?{query}")
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_scope_of_the_caller(users, make_user, api, fortnight):
    url = f"/api/hot-topics?from={WEEK2}&to={SUNDAY2}"
    # a district agent sees neither the city's orders nor may ask for the city
    assert api(users.yz_agent).get(url).json()["orders"] == 0
    refused = api(users.yz_agent).get(url + "&platform=SY")
    assert refused.status_code == 403 and "无权" in refused.json()["detail"]
    # a unit's staff analyse only the orders their unit holds (none here)
    assert api(users.handler).get(url).json()["orders"] == 0
    # no permission to view work orders: no hot topics
    trainer = make_user("trainer")
    assert api(trainer).get(url).status_code == 403
    assert api(None).get(url).status_code == 401


# --- the page ------------------------------------------------------------------------------------


def test_page_export_and_refusals(users, make_user, login, fortnight):
    client = login(make_user("analyst"))
    query = f"?from={WEEK2}&to={SUNDAY2}"
    page = client.get("/analytics/hot/" + query)
    assert page.status_code == 200
    html = page.content.decode()
    assert "台风" in html and f"/orders/{fortnight['typhoon'][0]}/" in html

    export = client.get("/analytics/hot/export/" + query)
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["热点话题", "相似工单"]
    topics = list(book["热点话题"].values)
    assert topics[0][:5] == ("排名", "热词", "相关词", "本期工单", "上期工单")
    assert topics[1][3:5] == (9, 2)
    numbers = {row[2] for row in book["相似工单"].values}
    assert set(fortnight["typhoon"]) <= numbers

    bad = client.get("/analytics/hot/?from=2026-07-19&to=2026-07-13")
    assert bad.status_code == 400 and "结束日期不能早于开始日期" in bad.content.decode()
    assert login(make_user("trainer")).get("/analytics/hot/").status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_page_in_the_browser(browser, live_server, users, make_user, fortnight, screenshot_dir):
    analyst = make_user("analyst", username="analyst_hot", display_name="数据分析员林晓")
    person = SignedIn(browser, live_server.url, analyst, screenshot_dir, prefix="hot-")
    try:
        person.goto("/analytics/hot/")
        page = person.page
        page.fill("input[name=from]", str(WEEK2))
        page.fill("input[name=to]", str(SUNDAY2))
        with page.expect_navigation():
            page.click("form.hot-period button[type=submit]")
        first = page.locator(".hot-topic").first
        expect(first).to_contain_text("台风")
        expect(first).to_contain_text("+350%")
        expect(page.locator(".hot-cluster").first).to_contain_text("8 件")
        person.shoot("topics", full=True)
        with page.expect_navigation():
            page.locator(".hot-cluster a.order-link").first.click()
        assert "/orders/" in page.url
        person.clean()
    finally:
        person.close()
