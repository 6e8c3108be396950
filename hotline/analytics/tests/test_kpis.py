"""The KPI registry on hand-made facts: each figure is worked out here from the seed's
formula and compared with what ``selectors`` computes; hypothesis properties (rates in
0–1, an on-time event never lowers an on-time rate, an empty period is None); the drill-
down lists exactly the records counted; the API contract of issue #8; docs/kpis.md is
the registry's current rendering."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.analytics import kpis, selectors
from hotline.analytics.kpis import KPIS, Unit
from hotline.contact.models import AgentStateInterval, ContactFact, Session
from hotline.core.models import Team
from hotline.workorders.models import Event, WorkOrder

TZ = ZoneInfo("Asia/Shanghai")
MARCH = (dt.datetime(2026, 3, 1, tzinfo=TZ), dt.datetime(2026, 4, 1, tzinfo=TZ))
LATER = dt.datetime(2026, 6, 1, tzinfo=TZ)  # "now": long after March
_refs = itertools.count(1)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


def value(kpi_id, platform, **kwargs):
    return selectors.kpi_value(
        kpi_id, start=MARCH[0], end=MARCH[1], platform=platform, now=LATER, **kwargs
    )


def records(kpi_id, platform, part, **kwargs):
    return selectors.kpi_records(
        kpi_id, start=MARCH[0], end=MARCH[1], platform=platform, now=LATER, part=part, **kwargs
    )


# --- makers: facts and orders straight into the tables, at fixed times -------------------------


def session(platform, channel="voice", **fields) -> Session:
    return Session.objects.create(
        ref=f"T{next(_refs):06d}", platform=platform, channel=channel, **fields
    )


def fact(s: Session, kind: str, when, *, agent=None, wait=None, **detail) -> ContactFact:
    return ContactFact.objects.create(
        at=when,
        kind=kind,
        platform_id=s.platform_id,
        session_id=s.pk,
        agent_id=getattr(agent, "pk", agent),
        channel=s.channel,
        wait_seconds=wait,
        detail=detail,
    )


def call(platform, when, *, queued=True, answered_by=None, wait=None, abandoned=False):
    """One inbound call: offered, and queued unless refused, then answered or abandoned."""
    state = "closed" if answered_by else "abandoned" if abandoned else "timed_out"
    s = session(platform, created_at=when, state=state, agent=answered_by)
    fact(s, "offered", when)
    if queued:
        fact(s, "queued", when)
    if answered_by is not None:
        fact(s, "assigned", when, agent=answered_by, wait=wait)
        fact(s, "answered", when + dt.timedelta(seconds=wait), agent=answered_by, wait=wait)
    if abandoned:
        fact(s, "abandoned", when + dt.timedelta(seconds=30), wait=30)
    if not queued:
        fact(s, "refused", when, reason="out_of_hours")
    return s


def order(platform, number=None, **fields) -> WorkOrder:
    values = {
        "number": number or f"SY2026{next(_refs):010d}",
        "platform": platform,
        "order_type": "complaint",
        "title": "测试工单",
        "content": "测试内容",
        "created_at": at(2),
    }
    values.update(fields)
    return WorkOrder.objects.create(**values)


def event(o: WorkOrder, action: str, when, *, frm="", to="", actor=None, unit=None, **data):
    return Event.objects.create(
        order=o,
        action=action,
        actor=actor,
        actor_name=str(actor) if actor else "系统",
        unit=unit,
        at=when,
        from_state=frm,
        to_state=to or frm,
        data=data,
    )


# --- contact center ----------------------------------------------------------------------------


@pytest.fixture
def calls(org, users, make_user):
    """Six calls of March and one of February. Agent A (team 早班) answers two, agent B
    one; a transferred call is queued twice and answered twice (counted once)."""
    team = Team.objects.create(platform=org.sy, name="早班")
    a = make_user("agent", team=team, username="kpi_agent_a")
    b = make_user("agent", username="kpi_agent_b")
    sy = org.sy
    call(sy, at(3, 9), answered_by=a, wait=10)
    call(sy, at(3, 10), answered_by=b, wait=20)
    call(sy, at(4, 11), abandoned=True)
    call(sy, at(5, 23), queued=False)  # out of hours: never asked for an agent
    moved = call(sy, at(6, 9), answered_by=a, wait=30)
    fact(moved, "transferred", at(6, 9, 5), agent=a)
    fact(moved, "queued", at(6, 9, 5))
    fact(moved, "answered", at(6, 9, 6), agent=b, wait=50)
    call(sy, at(28, 9, month=2), answered_by=a, wait=99)  # February: outside
    return type("Calls", (), {"a": a, "b": b, "team": team})


def test_answer_rate_is_answered_over_calls_that_asked_for_an_agent(org, calls):
    # 接通率 = 人工应答总量 ÷ 人工服务请求总量: 4 calls queued in March, 3 answered
    got = value("answer_rate", org.sy)
    assert (got.numerator, got.denominator) == (3, 4)
    assert got.value == pytest.approx(3 / 4)


def test_answer_rate_over_all_inbound_is_the_sanya_variant(org, calls):
    # SY: 接通率 = 平台人工应答总量 ÷ 呼入总量: 5 calls came in (one refused out of hours)
    got = value("answer_rate", org.sy, basis="inbound")
    assert (got.numerator, got.denominator, got.value) == (3, 5, pytest.approx(3 / 5))


def test_answer_rate_of_an_agent_and_a_team_is_of_the_calls_offered_to_them(org, calls):
    # agent A was given 2 March calls and answered both; B was given 2 (one a transfer)
    assert value("answer_rate", org.sy, agent=calls.a).value == 1.0
    assert (value("answer_rate", org.sy, agent=calls.b).denominator) == 1  # assigned once
    assert value("answer_rate", org.sy, team=calls.team).denominator == 2


def test_avg_answer_seconds_counts_each_calls_first_answer(org, calls):
    # 平均接通时长 = 呼入人工接通时长 ÷ 人工应答总量 = (10 + 20 + 30) ÷ 3; the transfer's
    # second answer (50 s) is not a new call
    got = value("avg_answer_seconds", org.sy)
    assert (got.numerator, got.denominator) == (60, 3)
    assert got.value == pytest.approx(20.0)
    assert KPIS["avg_answer_seconds"].met(got.value) is False  # target ≤ 15 s


def test_abandon_rate_and_volume(org, calls):
    got = value("abandon_rate", org.sy)
    assert (got.numerator, got.denominator) == (1, 4)
    assert value("contact_volume", org.sy).value == 5
    assert value("contact_volume", org.sy, channel="wechat").value == 0


def test_first_response_rate_against_the_channel_targets(org):
    # GB/T 33358: online text 180 s, e-mail 24 h
    for channel, wait in (("webchat", 100), ("webchat", 200), ("email", 3600)):
        s = session(org.sy, channel)
        fact(s, "responded", at(7), wait=wait)
    got = value("first_response_rate", org.sy)
    assert (got.numerator, got.denominator) == (2, 3)
    assert value("first_response_rate", org.sy, channel="email").value == 1.0


def test_frontdesk_satisfaction_counts_basic_or_not(org):
    for level in ("满意", "不满意", "基本满意", "非常不满意"):
        session(org.sy, satisfaction=level, satisfaction_at=at(8))
    session(org.sy, satisfaction="满意", satisfaction_at=at(8, month=4))  # April
    assert value("frontdesk_satisfaction_rate", org.sy).value == pytest.approx(2 / 4)
    # CM 前台服务满意率: “满意”及以上 only
    assert value("frontdesk_satisfaction_rate", org.sy, count_basic=False).value == 1 / 4


def test_work_time_utilization_is_working_time_over_signed_in_time(org, users):
    agent = users.agent

    def interval(start, hours, presence, activity="idle", reason=""):
        AgentStateInterval.objects.create(
            agent=agent,
            platform=org.sy,
            presence=presence,
            reason=reason,
            activity=activity,
            started_at=start,
            ended_at=start + dt.timedelta(hours=hours),
        )

    # 1 h of it before March: only the March half hour of this ready interval counts
    interval(at(28, 23, 30, month=2) + dt.timedelta(hours=0), 1, "ready")
    interval(at(2, 8), 1, "ready")
    interval(at(2, 9), 1, "not_ready", "in_session", "after_session")
    interval(at(2, 10), 1.5, "not_ready", reason="break")
    interval(at(2, 12), 5, "signed_out")
    # 工时利用率 = 在线工作时间 ÷ 签入时长 = (0.5 + 1 + 1) h ÷ (0.5 + 1 + 1 + 1.5) h
    got = value("work_time_utilization", org.sy, agent=agent)
    rows = selectors.record_rows(records("work_time_utilization", org.sy, "numerator"), 10)
    assert len(rows) == 3 and all(row["who"] == agent.display_name for row in rows)
    assert got.numerator == pytest.approx(2.5 * 3600)
    assert got.denominator == pytest.approx(4 * 3600)
    assert got.value == pytest.approx(2.5 / 4)


# --- work orders ---------------------------------------------------------------------------------


def test_instant_answer_rate_is_direct_consultations_over_consultations(org, users):
    for direct in (True, True, True, False):
        order(org.sy, order_type="consult", direct=direct, created_by=users.agent)
    order(org.sy, order_type="complaint", direct=True)  # not a consultation
    order(org.sy, order_type="consult", direct=True, created_at=at(2, month=4))  # April
    got = value("instant_answer_rate", org.sy)
    assert (got.numerator, got.denominator, got.value) == (3, 4, 0.75)
    assert value("instant_answer_rate", org.sy, agent=users.agent).denominator == 4
    assert value("instant_answer_rate", org.sy, agent=users.dispatcher).value is None


def test_ontime_callback_rate_by_deadline_and_cm_24_hours(org, users):
    for late, hours_after_review in ((False, 2), (False, 23), (False, 30), (True, 80)):
        o = order(org.sy, state="completed")
        event(o, "review-reply", at(10), frm="replied", to="callback_pending", approved=True)
        when = at(10) + dt.timedelta(hours=hours_after_review)
        event(
            o,
            "callback",
            when,
            frm="callback_pending",
            to="completed",
            late=late,
            satisfaction="满意",
            actor=users.dispatcher,
        )
    # 按时回访率 = 按时回访次数 ÷ 回访次数 (by the 回访时限): 3 of 4
    assert value("ontime_callback_rate", org.sy).value == pytest.approx(3 / 4)
    # CM 工单 24 小时回访及时率: within 24 h of the reply's approval: 2 of 4
    got = value("ontime_callback_rate", org.sy, rule="24h")
    assert (got.numerator, got.denominator) == (2, 4)


def test_sanya_callback_rate_is_today_over_previous_working_days_backlog(org):
    # Tuesday 10 March 2026; the previous working day is Monday 9 March
    waiting_called = order(org.sy, state="completed")
    event(waiting_called, "review-reply", at(9, 10), frm="replied", to="callback_pending")
    event(waiting_called, "callback", at(10, 9), frm="callback_pending", to="completed")
    waiting_still = order(org.sy, state="completed")
    event(waiting_still, "review-reply", at(9, 11), frm="replied", to="callback_pending")
    event(waiting_still, "callback", at(11, 9), frm="callback_pending", to="completed")
    new_today = order(org.sy, state="completed")
    event(new_today, "review-reply", at(10, 8), frm="replied", to="callback_pending")
    event(new_today, "callback", at(10, 9), frm="callback_pending", to="completed")
    tuesday = (at(10, 0), at(11, 0))
    got = selectors.kpi_value(
        "ontime_callback_rate",
        start=tuesday[0],
        end=tuesday[1],
        platform=org.sy,
        now=LATER,
        rule="previous_workday",
    )
    # 回访及时率 = 当日完成回访(前一工作日待回访中) ÷ 前一工作日总待回访 = 1 ÷ 2
    assert (got.numerator, got.denominator, got.value) == (1, 2, 0.5)
    with pytest.raises(selectors.NoRecords):
        records("ontime_callback_rate", org.sy, "numerator", rule="previous_workday")


def test_satisfaction_rate_variants_and_the_sanya_blend(org):
    for level in ("非常满意", "满意", "基本满意", "不满意"):
        o = order(org.sy, lead_unit=org.sy_units[0])
        event(o, "callback", at(12), frm="callback_pending", to="completed", satisfaction=level)
    for level in ("满意", "不满意", "基本满意", "非常不满意"):
        session(org.sy, satisfaction=level, satisfaction_at=at(12))
    # 满意率 = (非常满意 + 满意 + 基本满意) ÷ 实际评价量
    assert value("satisfaction_rate", org.sy).value == pytest.approx(3 / 4)
    assert value("satisfaction_rate", org.sy, count_basic=False).value == pytest.approx(2 / 4)
    assert value("satisfaction_rate", org.sy, unit=org.sy_units[1]).value is None
    # SY: 满意率 = 前台满意率 × 40% + 回访满意率 × 60% = 0.4 × 2/4 + 0.6 × 3/4
    blended = value("satisfaction_rate", org.sy, front_weight=0.4)
    assert blended.value == pytest.approx(0.4 * 0.5 + 0.6 * 0.75)
    assert blended.numerator is None


def test_dispatch_accuracy_is_one_minus_reasonable_returns_over_dispatched(org, users):
    dispatched = [order(org.sy, state="handling") for _ in range(4)]
    for o in dispatched:
        event(o, "dispatch", at(3), frm="submitted", to="dispatched", actor=users.dispatcher)
    event(
        dispatched[0], "review-return", at(4), frm="return_pending", to="submitted", approved=True
    )
    event(
        dispatched[1], "review-return", at(4), frm="return_pending", to="handling", approved=False
    )
    # 派单准确率 = 1 − 合理退单数量 ÷ 派出工单总数 = 1 − 1/4
    got = value("dispatch_accuracy", org.sy)
    assert got.value == pytest.approx(1 - 1 / 4)
    assert value("dispatch_accuracy", org.sy, agent=users.dispatcher).denominator == 4


def test_dispatch_timeliness_follows_the_one_hour_and_next_noon_rule(org):
    def received(hour, dispatched_minutes_after_due=None, **fields):
        created = at(3, hour)
        due = created + dt.timedelta(hours=1)
        o = order(org.sy, created_at=created, dispatch_due=due, **fields)
        event(o, "create", created, to="submitted")
        if dispatched_minutes_after_due is not None:
            when = due + dt.timedelta(minutes=dispatched_minutes_after_due)
            event(o, "dispatch", when, frm="submitted", to="dispatched")
        return o

    received(9, -30)  # within the hour
    received(10, 60)  # an hour late
    received(11)  # never dispatched: late
    received(12, state="cancelled")  # closed for missing facts: not counted
    got = value("dispatch_timeliness_rate", org.sy)
    assert (got.numerator, got.denominator) == (1, 3)


def test_review_sign_return_and_extension_rates(org, users):
    unit = org.sy_units[0]
    for hours in (10, 30):
        o = order(org.sy)
        event(o, "reply", at(5), frm="handling", to="replied", unit=unit)
        event(
            o,
            "review-reply",
            at(5) + dt.timedelta(hours=hours),
            frm="replied",
            to="callback_pending",
            approved=True,
            actor=users.dispatcher,
        )
    # 审核及时率: reviewed within 24 h of the reply: 1 of 2
    assert value("review_timeliness_rate", org.sy).value == 0.5
    assert value("review_timeliness_rate", org.sy, hours=48).value == 1.0
    for late in (False, False, True):
        event(order(org.sy), "sign", at(6), frm="dispatched", to="handling", unit=unit, late=late)
    # 签收响应率 = 按时签收 ÷ 已签收
    assert value("sign_response_rate", org.sy, unit=unit).value == pytest.approx(2 / 3)
    assert value("sign_response_rate", org.sy, unit=org.sy_units[1]).value is None
    for approved in (True, False, False, True):
        event(
            order(org.sy),
            "review-return",
            at(7),
            frm="return_pending",
            to="submitted",
            unit=unit,
            approved=approved,
        )
        event(order(org.sy), "review-extension", at(7), frm="handling", unit=unit, approved=True)
    assert value("return_reasonable_rate", org.sy, unit=unit).value == 0.5
    assert value("extension_reasonable_rate", org.sy, unit=unit).value == 1.0


def test_ontime_completion_and_one_time_resolution(org):
    unit = org.sy_units[0]
    common = {"lead_unit": unit, "dispatched_at": at(2), "handle_due": at(10)}
    order(org.sy, state="completed", completed_at=at(12), replied_at=at(9), **common)
    order(
        org.sy, state="completed", completed_at=at(13), replied_at=at(11), reopen_count=1, **common
    )
    order(org.sy, state="handling", **common)  # overdue in transit
    order(org.sy, state="handling", lead_unit=unit, dispatched_at=at(2), handle_due=at(5, month=4))
    order(org.sy, state="completed", direct=True, completed_at=at(2))  # front desk
    # 按时办结率 = 按时办结 ÷ (办结 + 在途逾期) = 1 ÷ (2 + 1)
    got = value("ontime_completion_rate", org.sy)
    assert (got.numerator, got.denominator) == (1, 3)
    assert value("ontime_completion_rate", org.sy, unit=org.sy_units[2]).value is None
    # 问题一次性解决率 = 无复核办结 ÷ 转办办结 = 1 ÷ 2
    assert value("one_time_resolution_rate", org.sy).value == 0.5


def test_a_scope_the_kpi_is_not_defined_for_is_not_applicable(org):
    got = value("answer_rate", org.sy, unit=org.sy_units[0])
    assert got.applicable is False and got.value is None


def test_sub_platform_figures_are_inside_the_citys(org):
    call(org.yz, at(3), answered_by=None, abandoned=True)
    assert value("answer_rate", org.yz).denominator == 1
    assert value("answer_rate", org.sy).denominator == 1  # SY and the platforms below it


# --- drill-down ------------------------------------------------------------------------------------


def test_drill_down_lists_exactly_the_records_counted(org, calls, users):
    for direct in (True, False, True):
        order(org.sy, order_type="consult", direct=direct)
    for kpi_id in ("answer_rate", "abandon_rate", "instant_answer_rate", "avg_answer_seconds"):
        got = value(kpi_id, org.sy)
        assert records(kpi_id, org.sy, "denominator").count() == got.denominator, kpi_id
        if KPIS[kpi_id].unit != Unit.SECONDS:
            assert records(kpi_id, org.sy, "numerator").count() == got.numerator, kpi_id
    answered = records("answer_rate", org.sy, "numerator")
    assert answered.model is Session  # click 接通率 → the calls
    rows = selectors.record_rows(records("instant_answer_rate", org.sy, "numerator"), 10)
    assert all(row["url"].startswith("/orders/SY") for row in rows)


# --- properties -------------------------------------------------------------------------------------

RATE_KPIS = [k.id for k in kpis.KPI_LIST if k.unit == Unit.RATE]
SIGN = st.lists(st.booleans(), max_size=8)
LEVELS = st.lists(
    st.sampled_from(["非常满意", "满意", "基本满意", "不满意", "非常不满意"]), max_size=8
)
FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def rolled_back(test):
    """Run ``test`` inside a transaction that is undone: each example starts clean."""
    with transaction.atomic():
        result = test()
        transaction.set_rollback(True)
    return result


@FAST
@given(lates=SIGN, levels=LEVELS, waits=st.lists(st.floats(0, 600), max_size=6))
def test_rates_stay_within_zero_and_one(org, lates, levels, waits):
    def check():
        for late, level in zip(lates, levels + ["满意"] * len(lates), strict=False):
            o = order(org.sy, state="completed", lead_unit=org.sy_units[0])
            event(
                o,
                "callback",
                at(10),
                frm="callback_pending",
                to="completed",
                late=late,
                satisfaction=level,
            )
            event(
                o, "sign", at(10), frm="dispatched", to="handling", late=late, unit=org.sy_units[0]
            )
        for wait in waits:
            s = session(
                org.sy,
                "webchat",
                satisfaction=levels[0] if levels else "",
                satisfaction_at=at(3) if levels else None,
            )
            fact(s, "queued", at(3))
            fact(s, "responded", at(3), wait=wait)
            if wait < 300:
                fact(s, "answered", at(3), wait=wait)
        for kpi_id in RATE_KPIS:
            got = value(kpi_id, org.sy, channel="webchat" if "answer" in kpi_id else None)
            assert got.value is None or 0 <= got.value <= 1, (kpi_id, got)

    rolled_back(check)


@FAST
@given(lates=SIGN, kpi_id=st.sampled_from(["sign_response_rate", "ontime_callback_rate"]))
def test_adding_an_on_time_event_never_lowers_an_on_time_rate(org, lates, kpi_id):
    action = {"sign_response_rate": "sign", "ontime_callback_rate": "callback"}[kpi_id]

    def add(late):
        event(order(org.sy), action, at(10), late=late, satisfaction="满意", unit=org.sy_units[0])

    def check():
        for late in lates:
            add(late)
        before = value(kpi_id, org.sy).value
        add(False)
        after = value(kpi_id, org.sy).value
        assert after is not None and (before is None or after >= before)

    rolled_back(check)


def test_an_empty_period_gives_none_not_zero(org):
    for kpi in kpis.KPI_LIST:
        got = value(kpi.id, org.sy)
        if kpi.unit == Unit.COUNT:
            assert got.value == 0, kpi.id
        else:
            assert got.value is None, kpi.id
    sanya = value("ontime_callback_rate", org.sy, rule="previous_workday")
    assert sanya.value is None


# --- registry, parameters, API -------------------------------------------------------------------


def test_registry_declares_the_contract_ids_and_checks_itself():
    kpis.check_declarations()
    contract = {
        "answer_rate",
        "avg_answer_seconds",
        "instant_answer_rate",
        "ontime_callback_rate",
        "satisfaction_rate",
        "dispatch_accuracy",
        "ontime_completion_rate",
    }
    assert contract <= set(KPIS)


def test_bad_parameters_are_refused_in_chinese(org):
    with pytest.raises(selectors.Invalid, match="分母口径"):
        value("answer_rate", org.sy, basis="everything")
    with pytest.raises(selectors.Invalid, match="没有参数"):
        value("answer_rate", org.sy, colour="red")
    with pytest.raises(selectors.NotFound):
        value("staff_turnover", org.sy)


def test_docs_are_the_registry_rendered():
    assert kpis.docs_path().read_text(encoding="utf-8") == kpis.markdown(), (
        "docs/kpis.md is stale: python -c 'from hotline.analytics import kpis; kpis.write()'"
    )


def test_api_lists_every_kpi_for_the_period(org, users, api, calls):
    response = api(users.dispatcher).get("/api/kpi?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200, response.content
    body = response.json()
    items = {item["id"]: item for item in body["items"]}
    assert set(items) == set(KPIS)
    answer = items["answer_rate"]
    assert answer["name"] == "接通率"
    assert (answer["numerator"], answer["denominator"]) == (3, 4)
    assert answer["value"] == pytest.approx(0.75)
    assert answer["unit"] == "rate" and answer["target"] == 0.95
    assert items["satisfaction_rate"]["value"] is None
    sanya = api(users.dispatcher).get(
        "/api/kpi?from=2026-03-01&to=2026-03-31&answer_rate.basis=inbound"
    )
    assert next(i for i in sanya.json()["items"] if i["id"] == "answer_rate")["denominator"] == 5


def test_api_drill_down_pages_the_records(org, users, api, calls):
    client = api(users.dispatcher)
    url = "/api/kpi/answer_rate/records?from=2026-03-01&to=2026-03-31&part=denominator&limit=2"
    body = client.get(url).json()
    assert body["total"] == 4 and len(body["items"]) == 2
    assert body["items"][0]["kind"] == "session"
    assert client.get(url + "&offset=2").json()["items"][0]["ref"] != body["items"][0]["ref"]


@pytest.mark.parametrize(
    "query, status, words",
    [
        ("from=2026-03-31&to=2026-03-01", 400, "结束日期不能早于开始日期"),
        ("from=2025-01-01&to=2026-03-01", 400, "不能超过 400 天"),
        ("from=2026-02-30&to=2026-03-01", 422, "日期格式"),
        ("to=2026-03-01", 422, "缺少必填项"),
        ("from=2026-03-01&to=2026-03-31&channel=pigeon", 400, "渠道取值不正确"),
        ("from=2026-03-01&to=2026-03-31&platform=XX", 404, "平台不存在"),
        ("from=2026-03-01&to=2026-03-31&answer_rate.basis=all", 400, "分母口径"),
    ],
)
def test_api_refuses_bad_input_in_chinese(users, api, query, status, words):
    response = api(users.dispatcher).get(f"/api/kpi?{query}")
    assert response.status_code == status, response.content
    assert words in response.json()["detail"]


def test_api_scope_unit_staff_see_their_unit_only(org, users, api):
    unit = org.sy_units[0]
    event(order(org.sy), "sign", at(6), unit=unit, late=False)
    event(order(org.sy), "sign", at(6), unit=org.sy_units[1], late=True)
    client = api(users.handler)
    items = {
        i["id"]: i for i in client.get("/api/kpi?from=2026-03-01&to=2026-03-31").json()["items"]
    }
    assert items["sign_response_rate"]["value"] == 1.0
    assert items["answer_rate"]["applicable"] is False
    other = client.get(f"/api/kpi?from=2026-03-01&to=2026-03-31&unit={org.sy_units[1].pk}")
    assert other.status_code == 404
    assert (
        api(users.yz_agent).get("/api/kpi?from=2026-03-01&to=2026-03-31&platform=SY").status_code
        == 404
    )
    assert api(None).get("/api/kpi?from=2026-03-01&to=2026-03-31").status_code == 401
    assert api(users.sys_admin).get("/api/kpi?from=2026-03-01&to=2026-03-31").status_code == 403
    missing = api(users.dispatcher).get("/api/kpi/turnover/records?from=2026-03-01&to=2026-03-31")
    assert missing.status_code == 404 and "没有这个指标" in missing.json()["detail"]


def test_openapi_describes_the_kpi_routes(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/kpi" in paths and "/api/kpi/{kpi_id}/records" in paths
    names = {p["name"] for p in paths["/api/kpi"]["get"]["parameters"]}
    assert {"from", "to", "platform", "team", "agent", "unit", "channel"} <= names


def test_refusals_are_logged(users, api, caplog):
    with caplog.at_level("INFO", logger="hotline.analytics"):
        api(users.dispatcher).get("/api/kpi?from=2026-03-31&to=2026-03-01")
    assert "结束日期不能早于开始日期" in caplog.text
