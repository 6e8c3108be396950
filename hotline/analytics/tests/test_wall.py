"""监控大屏 figures on a hand-made Wednesday morning (2026-07-15 10:30, Asia/Shanghai) of
三亚 (SY) and its district 崖州 (YZ), each figure worked out here by hand; the API
(permission, scope, bad input, throttling) and the wall's socket (admission, the live
push after a contact arrives)."""

import asyncio
import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache

from hotline.analytics import wall
from hotline.contact import services as contact_services
from hotline.contact.models import AgentPresence, ContactFact, Session
from hotline.core.models import Skill
from hotline.core.workdays import LOCAL_TZ
from hotline.testing import Socket
from hotline.workorders.models import WorkOrder

NOW = dt.datetime(2026, 7, 15, 10, 30, tzinfo=LOCAL_TZ)  # a Wednesday
_refs = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Hot topics and the API's rate counts live in the cache: none from another test."""
    cache.clear()
    yield
    cache.clear()


# --- makers: rows straight into the tables, at fixed times -----------------------------------


def at(hour: int, minute: int = 0, *, days_ago: int = 0) -> dt.datetime:
    return NOW.replace(hour=hour, minute=minute) - dt.timedelta(days=days_ago)


def session(platform, channel, when, **fields) -> Session:
    return Session.objects.create(
        ref=f"W{next(_refs):07d}", platform=platform, channel=channel, created_at=when, **fields
    )


def fact(s: Session, kind: str, when, *, queue=None, agent=None, wait=None) -> ContactFact:
    return ContactFact.objects.create(
        at=when,
        kind=kind,
        platform_id=s.platform_id,
        session_id=s.pk,
        queue_id=getattr(queue, "pk", queue),
        agent_id=getattr(agent, "pk", agent),
        channel=s.channel,
        wait_seconds=wait,
    )


def answered(queue, when, wait, *, agent, channel="voice") -> Session:
    """A contact that came in, waited ``wait`` seconds and was answered."""
    s = session(queue.platform, channel, when, state="closed", agent=agent)
    fact(s, "offered", when, queue=queue)
    fact(s, "queued", when, queue=queue)
    fact(s, "assigned", when, queue=queue, agent=agent, wait=wait)
    fact(s, "answered", when + dt.timedelta(seconds=wait), queue=queue, agent=agent, wait=wait)
    return s


def abandoned(queue, when, *, channel="voice") -> Session:
    s = session(queue.platform, channel, when, state="abandoned")
    fact(s, "offered", when, queue=queue)
    fact(s, "queued", when, queue=queue)
    fact(s, "abandoned", when + dt.timedelta(seconds=40), queue=queue, wait=40)
    return s


def presence(user, state: str, activity: str = "idle", reason: str = "", **settings):
    return AgentPresence.objects.create(
        agent=user,
        platform=user.platform,
        presence=state,
        activity=activity,
        reason=reason,
        **settings,
    )


def order(platform, state: str, area: str, created, *, words: str = "", **dues) -> WorkOrder:
    return WorkOrder.objects.create(
        number=f"SY2026{next(_refs):010d}",
        platform=platform,
        order_type="complaint",
        title="测试工单",
        content="测试内容",
        state=state,
        area=area,
        created_at=created,
        search_text=words,
        **dues,
    )


# --- the hand-made morning ------------------------------------------------------------------


@pytest.fixture
def morning(org, users, make_user):
    """SY: queues 综合咨询 (no skill) and 社保咨询 (skill 社保, which no agent has).
    Today: four voice calls answered after 5, 10, 15 and 30 s and one web chat answered,
    all in 综合咨询; one voice call abandoned; three contacts waiting in 社保咨询 since
    10:28:30 (voice), 10:29:00 (wechat) and 10:29:40 (voice). Yesterday: three calls at
    09h and two at 14h. YZ: one voice call waiting since 10:29:50 in its own queue.
    Agents: SY 2 示闲, 1 会话中, 1 小休, 1 整理, 1 签出; YZ 1 示闲 (text only: a call
    of 崖州 waits).
    Orders of SY and below: 6 overdue (派单 1; 办理 4, one of them from June and one of
    崖州; 回访 1) and one in time; 台风 in four orders of this week."""
    leader = make_user("team_leader", username="wall_leader", display_name="值班长吴越")
    skill = Skill.objects.create(platform=org.sy, code="shebao", name="社保")
    general = contact_services.queue_create(
        actor=leader, platform=org.sy, code="general", name="综合咨询"
    )
    shebao = contact_services.queue_create(
        actor=leader, platform=org.sy, code="shebao", name="社保咨询", skill=skill
    )
    yz_leader = make_user("team_leader", platform=org.yz, username="wall_yz_leader")
    yz_queue = contact_services.queue_create(
        actor=yz_leader, platform=org.yz, code="yz", name="崖州综合"
    )
    agent = users.agent
    for minute, wait in ((5, 5), (20, 10), (40, 15), (50, 30)):
        answered(general, at(9, minute), wait, agent=agent)
    answered(general, at(10, 5), 8, agent=agent, channel="webchat")
    abandoned(general, at(10, 10))
    for minute in (0, 10, 20):
        answered(general, at(9, minute, days_ago=1), 12, agent=agent)
    for minute in (0, 30):
        answered(general, at(14, minute, days_ago=1), 12, agent=agent)
    for channel, when in (
        ("voice", NOW - dt.timedelta(seconds=90)),
        ("wechat", NOW - dt.timedelta(seconds=60)),
        ("voice", NOW - dt.timedelta(seconds=20)),
    ):
        contact_services.contact_arrive(
            platform=org.sy,
            channel=channel,
            address=f"1390000{next(_refs):04d}",
            queue=shebao,
            now=when,
        )
    contact_services.contact_arrive(
        platform=org.yz,
        channel="voice",
        address="13900009999",
        queue=yz_queue,
        now=NOW - dt.timedelta(seconds=10),
    )
    for n, (state, activity, reason) in enumerate(
        (
            ("ready", "idle", ""),
            ("ready", "idle", ""),
            ("ready", "in_session", ""),
            ("not_ready", "idle", "break"),
            ("ready", "wrap_up", ""),
            ("signed_out", "idle", ""),
        )
    ):
        presence(make_user("agent", username=f"wall_agent{n}"), state, activity, reason)
    presence(users.yz_agent, "ready", handles_voice=False)

    past = NOW - dt.timedelta(hours=1)
    order(org.sy, "submitted", "天涯区", at(8, days_ago=2), dispatch_due=past, words="台风 倒树")
    order(org.sy, "handling", "天涯区", at(8, days_ago=3), handle_due=past, words="台风 倒树")
    order(org.sy, "dispatched", "吉阳区", at(8, days_ago=4), handle_due=past, words="台风 停电")
    order(org.sy, "callback_pending", "", at(8, days_ago=5), callback_due=past, words="台风 停水")
    order(org.sy, "handling", "吉阳区", at(8, days_ago=1), handle_due=NOW + dt.timedelta(days=3))
    order(org.sy, "handling", "天涯区", at(8, days_ago=20), handle_due=past)  # of June
    order(org.yz, "handling", "崖州区", at(8, days_ago=2), handle_due=past)
    return SimpleNamespace(
        org=org, leader=leader, yz_leader=yz_leader, general=general, shebao=shebao, yz=yz_queue
    )


# --- the figures ----------------------------------------------------------------------------------


def test_counters_sum_the_queues_of_the_platform_and_below(morning):
    sy = wall.live_figures(morning.org.sy, NOW)
    # waiting: 3 in 社保咨询 + 1 in 崖州; the longest since 10:28:30
    assert sy["calls"] == {
        "waiting": 4,
        "longest_wait": 90,
        "answered_today": 5,
        "abandoned_today": 1,
    }
    yz = wall.live_figures(morning.org.yz, NOW)
    assert yz["calls"] == {
        "waiting": 1,
        "longest_wait": 10,
        "answered_today": 0,
        "abandoned_today": 0,
    }
    names = [(q["name"], q["waiting"], q["agents_ready"]) for q in sy["queues"]]
    # 社保咨询 asks for a skill nobody holds: no ready agent for it
    assert ("社保咨询", 3, 0) in names and ("综合咨询", 0, 2) in names


def test_answer_kpis_of_today_follow_the_registry(morning):
    kpis = wall.answer_kpis(morning.org.sy, NOW)
    # voice contacts that asked for an agent today: 4 answered, 1 abandoned, 3 waiting
    # (2 in 社保咨询, 1 in 崖州); the web chat and the WeChat contact are not calls
    rate = kpis["answer_rate"]
    assert (rate["numerator"], rate["denominator"]) == (4, 8)
    assert rate["value"] == pytest.approx(4 / 8)
    assert rate["target"] == 0.95 and rate["met"] is False
    wait = kpis["avg_answer_seconds"]
    assert wait["value"] == pytest.approx((5 + 10 + 15 + 30) / 4)
    assert wait["met"] is True  # 15 s, the target


def test_agent_states_count_signed_in_agents_by_group_and_state(morning):
    sy = wall.agent_states(wall.platform_ids(morning.org.sy))
    assert sy["signed_in"] == 6  # 5 of SY and 1 of YZ; the signed-out one is not
    groups = {g["label"]: g["count"] for g in sy["groups"]}
    assert groups == {"示闲": 3, "通话/会话中": 1, "话后整理": 1, "示忙": 1}
    states = {s["label"]: s["count"] for s in sy["states"]}
    assert states == {"示闲": 3, "会话中": 1, "小休": 1, "整理": 1}
    assert wall.agent_states(wall.platform_ids(morning.org.yz))["signed_in"] == 1


def test_channel_mix_and_arrivals_by_hour(morning):
    mix = {c["label"]: c["count"] for c in wall.channel_mix(morning.org.sy, NOW)}
    # today: 4 answered + 1 abandoned + 2 waiting + 1 of 崖州 by voice; a chat; a WeChat
    assert mix == {"语音": 8, "网页在线": 1, "微信": 1}
    hourly = wall.arrivals_by_hour(morning.org.sy, NOW)
    assert len(hourly["today"]) == 11  # 00时 … 10时
    assert hourly["today"][9] == 4 and hourly["today"][10] == 6
    assert sum(hourly["today"]) == 10
    assert hourly["yesterday"][9] == 3 and hourly["yesterday"][14] == 2
    assert sum(hourly["yesterday"]) == 5 and len(hourly["yesterday"]) == 24


def test_overdue_orders_by_the_deadline_they_missed(morning):
    sy = wall.overdue_counts(morning.org.sy, NOW)
    kinds = {k["label"]: k["count"] for k in sy["kinds"]}
    assert kinds == {"派单超时": 1, "办理超期": 4, "审核超时": 0, "回访超时": 1}
    assert sy["total"] == 6
    assert wall.overdue_counts(morning.org.yz, NOW)["total"] == 1


def test_orders_by_area_of_this_month(morning):
    areas = wall.orders_by_area(morning.org.sy, NOW)
    # the June order is not this month's; a blank area is named
    assert areas == [
        {"area": "吉阳区", "count": 2},
        {"area": "天涯区", "count": 2},
        {"area": "崖州区", "count": 1},
        {"area": "未填区域", "count": 1},
    ]


def test_hot_topics_come_from_the_hot_topic_analysis(morning):
    topics = wall.hot_topics(morning.org.sy, NOW)
    assert topics[0]["term"] == "台风"
    assert topics[0]["count"] == 4 and topics[0]["growth_text"] == "新出现"


def test_the_voice_side_is_shown_as_not_connected(morning):
    voice = wall.voice_health(morning.org.sy)
    assert voice["connected"] is False and voice["label"] == "语音节点：未接入"


def test_a_province_sees_each_sub_platform(morning):
    hn = wall.wall_figures(morning.org.hn, NOW)
    assert [c["code"] for c in hn["children"]] == ["SY"]
    sy = wall.wall_figures(morning.org.sy, NOW)
    (yz,) = sy["children"]
    assert yz["name"] == "崖州区12345热线"
    assert (yz["waiting"], yz["answered_today"], yz["agents_signed_in"]) == (1, 0, 1)
    assert yz["answer_rate"] == 0.0 and yz["overdue"] == 1
    assert hn["calls"] == sy["calls"]  # the province adds nothing of its own


# --- the API -------------------------------------------------------------------------------------


def test_the_api_answers_the_wall_of_a_platform_in_scope(api, morning, make_user):
    answer = api(morning.leader).get("/api/wall")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["platform"]["code"] == "SY"
    assert body["voice"]["label"] == "语音节点：未接入"
    assert {c["code"] for c in body["children"]} == {"YZ"}
    # the office of the province watches a city
    office = make_user("office", platform=morning.org.hn, username="wall_office")
    assert api(office).get("/api/wall?platform=sy").json()["platform"]["code"] == "SY"


@pytest.mark.parametrize(
    "who, query, status, detail",
    [
        ("agent", "", 403, "监控大屏需要"),
        ("yz_leader", "?platform=SY", 403, "不在您的管辖范围内"),
        ("leader", "?platform=NOPE", 404, "平台不存在"),
        ("handler", "", 403, "监控大屏需要"),
    ],
)
def test_the_api_refuses_in_chinese(api, morning, users, who, query, status, detail):
    user = getattr(morning, who, None) or getattr(users, who)
    answer = api(user).get("/api/wall" + query)
    assert answer.status_code == status
    assert detail in answer.json()["detail"]


def test_the_api_refuses_strangers_and_a_caller_asking_too_often(api, morning):
    assert api(None).get("/api/wall").status_code == 401
    client = api(morning.leader)
    statuses = [client.get("/api/wall").status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    assert client.get("/api/wall").json()["detail"] == "请求过于频繁，请稍后再试"


# --- the socket ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_socket_refuses_who_may_not_see_the_wall(users, login, morning):
    async def refused(client, path):
        """(close code, the reason the page is told)."""
        socket = Socket(path, client)
        assert await socket.connect()  # accepted first, so that the browser learns why
        told = await socket.receive_json_from()
        closed = await socket.receive_output(timeout=5)
        assert told["event"] == "error" and closed["type"] == "websocket.close"
        return closed["code"], told["detail"]

    agent = login(users.agent)
    assert asyncio.run(refused(agent, "/ws/wall/")) == (
        4403,
        "监控大屏需要“班长监控”或“督办”权限",
    )
    assert asyncio.run(refused(None, "/ws/wall/")) == (4401, "请先登录")
    leader = login(morning.yz_leader)
    assert asyncio.run(refused(leader, "/ws/wall/?platform=SY")) == (
        4403,
        "该平台不在您的管辖范围内",
    )
    assert asyncio.run(refused(leader, "/ws/wall/?platform=XX")) == (4404, "平台不存在：XX")


@pytest.mark.django_db(transaction=True)
def test_the_socket_pushes_the_counters_after_a_contact_arrives(login, morning):
    """A contact of 崖州 reaches the wall of 三亚 (a platform below it) well within a
    second of its commit."""
    client = login(morning.leader)
    arrive = sync_to_async(contact_services.contact_arrive)

    async def scenario():
        socket = Socket("/ws/wall/", client)
        assert await socket.connect()
        first = await socket.receive_json_from()
        assert first["event"] == "live"
        before = first["figures"]["calls"]["waiting"]
        started = asyncio.get_running_loop().time()
        await arrive(
            platform=morning.org.yz, channel="voice", address="13900001234", queue=morning.yz
        )
        fact = await socket.receive_until(lambda m: m["event"] == "fact")
        assert (fact["kind_label"], fact["channel_label"]) == ("进线", "语音")
        assert "session" not in fact and "agent" not in fact
        pushed = await socket.receive_until(
            lambda m: m["event"] == "live" and m["figures"]["calls"]["waiting"] == before + 1
        )
        took = asyncio.get_running_loop().time() - started
        await socket.disconnect()
        return pushed, took

    pushed, took = asyncio.run(scenario())
    assert took < 1.0
    (yz,) = pushed["figures"]["children"]
    assert yz["code"] == "YZ" and yz["waiting"] >= 1
