"""监控大屏 in a real browser: a team leader opens the wall of 三亚 on a busy day, a call
arrives and the waiting counter changes without a reload; the wall is looked at on a
1920×1080 screen and on a 3840×2160 LED wall (screenshots, nothing outside the screen);
the province's office sees its cities; an agent is refused. Every page is watched for CSP
violations and script errors."""

import datetime as dt
import itertools
import random

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hotline.analytics.tests.test_wall import abandoned, answered, order, presence
from hotline.contact import services as contact_services
from hotline.core.models import Skill
from hotline.core.workdays import LOCAL_TZ
from hotline.testing import SignedIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# contacts per hour of a day, as a 12345 line sees them (quiet nights, morning and
# afternoon peaks)
CURVE = [2, 1, 1, 1, 1, 2, 4, 9, 18, 26, 28, 24, 15, 14, 22, 25, 23, 19, 13, 10, 8, 6, 4, 3]
CHANNELS = ["voice"] * 14 + ["webchat"] * 3 + ["wechat"] * 2 + ["sms", "email", "weibo", "fax"]
AREAS = {"吉阳区": 46, "天涯区": 38, "海棠区": 17}
TOPICS = [  # words, this week, the week before
    ("台风 倒树 道路", 14, 2),
    ("噪音 装修 扰民", 9, 8),
    ("停水 水压", 8, 3),
    ("出租车 拒载", 7, 2),
    ("公积金 提取", 6, 5),
    ("医保 报销", 6, 4),
    ("景区 排队 秩序", 5, 1),
    ("路灯 损坏", 4, 2),
]
_phones = itertools.count(1000)


def _busy_day(org, make_user):
    """Today up to now and all of yesterday on the curve; 5 calls waiting in 社保咨询 (a
    skill no agent holds) and 2 in 崖州; 24 agents of 三亚 and 4 of 崖州 in every state;
    this month's orders by area, a week of topics, some orders overdue."""
    rng = random.Random(12345)
    now = timezone.now()
    leader = make_user("team_leader", username="wall_leader", display_name="值班长吴越")
    yz_leader = make_user("team_leader", platform=org.yz, username="wall_yz_leader")
    skill = Skill.objects.create(platform=org.sy, code="shebao", name="社保")
    general = contact_services.queue_create(
        actor=leader, platform=org.sy, code="general", name="综合咨询"
    )
    shebao = contact_services.queue_create(
        actor=leader, platform=org.sy, code="shebao", name="社保咨询", skill=skill
    )
    yz_queue = contact_services.queue_create(
        actor=yz_leader, platform=org.yz, code="yz", name="崖州综合"
    )
    agent = make_user("agent", username="wall_busy_agent")
    midnight = timezone.localtime(now, LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    for day_start, until in ((midnight - dt.timedelta(days=1), midnight), (midnight, now)):
        for hour, count in enumerate(CURVE):
            for _ in range(count):
                when = day_start + dt.timedelta(hours=hour, seconds=rng.randrange(3600))
                if when >= until:
                    continue
                queue = general if rng.random() < 0.85 else yz_queue
                if rng.random() < 0.06:
                    abandoned(queue, when)
                else:
                    wait = rng.choice([3, 5, 8, 10, 12, 15, 18, 25, 40])
                    answered(queue, when, wait, agent=agent, channel=rng.choice(CHANNELS))
    for seconds in (150, 95, 60, 35, 12):
        contact_services.contact_arrive(
            platform=org.sy,
            channel="voice",
            address=f"1390000{next(_phones)}",
            queue=shebao,
            now=now - dt.timedelta(seconds=seconds),
        )
    states = (
        [("ready", "idle", "")] * 7
        + [("ready", "in_session", "")] * 9
        + [("ready", "wrap_up", "")] * 3
        + [("not_ready", "idle", "break")] * 2
        + [("not_ready", "idle", "meal"), ("not_ready", "idle", "training")]
        + [("signed_out", "idle", "")] * 2
    )
    for n, (state, activity, reason) in enumerate(states):
        user = make_user("agent", username=f"wall_sy{n}", display_name=f"话务员{n}")
        presence(user, state, activity, reason, handles_voice=False)
    for n, (state, activity) in enumerate(
        [("ready", "in_session"), ("ready", "in_session"), ("ready", "idle"), ("ready", "wrap_up")]
    ):
        user = make_user("agent", platform=org.yz, username=f"wall_yz{n}")
        presence(user, state, activity, handles_voice=False)
    for seconds in (80, 25):
        contact_services.contact_arrive(
            platform=org.yz,
            channel="voice",
            address=f"1390000{next(_phones)}",
            queue=yz_queue,
            now=now - dt.timedelta(seconds=seconds),
        )

    month_start = midnight.replace(day=1)
    span = max((now - month_start).total_seconds(), 60)

    def this_month():
        return month_start + dt.timedelta(seconds=rng.uniform(0, span - 1))

    for area, count in AREAS.items():
        for n in range(count):
            due = {"handle_due": now - dt.timedelta(hours=5)} if n % 9 == 0 else {}
            order(org.sy, "handling", area, this_month(), **due)
    for n in range(29):
        due = {"handle_due": now - dt.timedelta(hours=2)} if n % 10 == 0 else {}
        order(org.yz, "handling", "崖州区", this_month(), **due)
    order(org.sy, "submitted", "天涯区", now - dt.timedelta(hours=3), dispatch_due=now)
    order(org.sy, "callback_pending", "吉阳区", now - dt.timedelta(days=2), callback_due=now)
    for words, this_week, before in TOPICS:
        for n in range(this_week):
            when = now - dt.timedelta(days=n % 7, hours=1)
            order(org.sy, "completed", rng.choice(list(AREAS)), when, words=words)
        for n in range(before):
            when = now - dt.timedelta(days=7 + n % 7)
            order(org.sy, "completed", rng.choice(list(AREAS)), when, words=words)
    return leader, shebao


@pytest.fixture
def busy(org, make_user):
    return _busy_day(org, make_user)


def _fits(page) -> None:
    """Nothing of the wall lies outside the screen and nothing scrolls."""
    overflow = page.evaluate(
        """() => {
          const w = window.innerWidth, h = window.innerHeight;
          const out = [];
          document.querySelectorAll('.panel, .counter, .wall-head').forEach((node) => {
            const r = node.getBoundingClientRect();
            if (r.left < -1 || r.top < -1 || r.right > w + 1 || r.bottom > h + 1 ||
                r.width < 40 || r.height < 30) out.push(node.className + ' ' + JSON.stringify(r));
          });
          const doc = document.documentElement;
          if (doc.scrollWidth > w + 1 || doc.scrollHeight > h + 1) out.push('page scrolls');
          return out;
        }"""
    )
    assert overflow == []


def _drawn(page, chart_id: str) -> None:
    expect(page.locator(f"#{chart_id} canvas")).to_have_count(1)


def test_the_wall_updates_live_and_fits_both_screens(browser, live_server, screenshot_dir, busy):
    leader, shebao = busy
    viewer = SignedIn(browser, live_server.url, leader, screenshot_dir, prefix="wall-")
    page = viewer.page
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        viewer.goto("/analytics/wall/")
        expect(page.locator("h1")).to_contain_text("三亚市12345热线")
        expect(page.locator("#wall-live")).to_have_attribute("data-state", "on")
        waiting = page.locator("#wall-waiting")
        expect(waiting).to_have_text("7")  # 5 in 社保咨询, 2 in 崖州
        expect(page.locator("#wall-voice")).to_have_text("语音节点：未接入")
        expect(page.locator("#wall-side-title")).to_have_text("下级平台实况")
        expect(page.locator("#wall-children-body")).to_contain_text("崖州区12345热线")
        expect(page.locator("#wall-queue-body tr").first).to_contain_text("社保咨询")
        expect(page.locator("#wall-area-rank li")).to_have_count(4)  # the four districts
        expect(page.locator("#wall-overdue")).to_contain_text("办理超期")
        for chart_id in (
            "chart-agents",
            "chart-channels",
            "chart-areas",
            "chart-hourly",
            "chart-hot",
        ):
            _drawn(page, chart_id)
        expect(page.locator("#wall-answer-rate")).to_contain_text("%")

        # a call arrives: the counter moves over the socket, no reload
        page.evaluate("window.__sameDocument = true")
        contact_services.contact_arrive(
            platform=shebao.platform, channel="voice", address="13912340000", queue=shebao
        )
        expect(waiting).to_have_text("8", timeout=3000)
        expect(page.locator("#wall-ticker")).to_contain_text("进线")
        assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

        page.wait_for_timeout(1200)  # the charts' entry animations
        _fits(page)
        viewer.shoot("1920x1080")

        page.set_viewport_size({"width": 3840, "height": 2160})
        page.wait_for_timeout(1500)  # resize, redraw at the wall's scale
        _fits(page)
        size = page.evaluate(
            "() => parseFloat(getComputedStyle(document.getElementById('wall-waiting')).fontSize)"
        )
        assert size > 90  # 2.5vw of a 4K wall: readable across the room
        viewer.shoot("3840x2160")
        viewer.clean()
    finally:
        viewer.close()


def test_the_province_sees_its_cities_and_an_agent_is_refused(
    browser, live_server, screenshot_dir, busy, org, make_user
):
    office = make_user("office", platform=org.hn, username="wall_office", display_name="省热线办")
    viewer = SignedIn(browser, live_server.url, office, screenshot_dir, prefix="wall-province-")
    page = viewer.page
    try:
        page.set_viewport_size({"width": 1920, "height": 1080})
        viewer.goto("/analytics/wall/")
        expect(page.locator("h1")).to_contain_text("海南省12345热线")
        expect(page.locator("#wall-side-title")).to_have_text("下级平台实况")
        row = page.locator("#wall-children-body tr", has_text="三亚市12345热线")
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(1)).to_have_text("7")
        expect(page.locator("#wall-live")).to_have_attribute("data-state", "on")
        page.wait_for_timeout(1200)
        viewer.shoot("1920x1080")
        viewer.clean()
    finally:
        viewer.close()

    agent = make_user("agent", username="wall_agent_refused")
    refused = SignedIn(browser, live_server.url, agent, screenshot_dir, prefix="wall-refused-")
    try:
        response = refused.page.goto(live_server.url + "/analytics/wall/")
        assert response.status == 403
    finally:
        refused.close()
