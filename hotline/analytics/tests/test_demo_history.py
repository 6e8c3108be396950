"""The demo history (演示数据): a small year (2,000 contacts, 500 orders) whose records
agree with each other the way the live services make them, and show the season."""

import datetime as dt
import io
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from hotline.analytics import demo_history
from hotline.contact.models import ContactFact, Session, SessionLeg
from hotline.core import demo, workdays
from hotline.core.errors import Conflict
from hotline.core.models import NumberSequence
from hotline.workorders import sla
from hotline.workorders.lifecycle import ACTIONS, State
from hotline.workorders.models import Assignment, Event, WorkOrder

NOW = dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)  # 09:30 in Sanya
TODAY = timezone.localdate(NOW)


@pytest.fixture
def year(db):
    demo.load_demo()
    out = io.StringIO()
    summary = demo_history.generate(calls=2000, orders=500, seed=5, now=NOW, stdout=out)
    return summary, out.getvalue()


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(workdays.LOCAL_TZ)


def test_the_year_is_written_before_today_and_counted(year):
    summary, said = year
    assert (summary["calls"], summary["orders"]) == (2000, 500)
    assert Session.objects.count() == 2000 and WorkOrder.objects.count() == 500
    assert summary["answered"] + summary["abandoned"] == 2000
    assert "演示历史" in said and "会话 2,000 个" in said
    start = dt.datetime.combine(TODAY, dt.time(0), workdays.LOCAL_TZ)
    assert not Session.objects.filter(created_at__gte=start).exists()
    assert not WorkOrder.objects.filter(created_at__gte=start).exists()
    first = min(Session.objects.values_list("created_at", flat=True))
    assert local(first).date() >= TODAY - dt.timedelta(days=365)
    # voice is most of it, every text channel appears
    channels = Counter(Session.objects.values_list("channel", flat=True))
    assert channels.most_common(1)[0][0] == "voice" and channels["voice"] > 1400
    assert {"webchat", "wechat", "sms", "email"} <= set(channels)


def test_every_session_has_the_facts_and_legs_of_its_outcome(year):
    facts = defaultdict(list)
    for fact in ContactFact.objects.order_by("at", "pk"):
        facts[fact.session_id].append(fact)
    legs = defaultdict(list)
    for leg in SessionLeg.objects.all():
        legs[leg.session_id].append(leg)
    for session in Session.objects.all():
        mine = facts[session.pk]
        kinds = [f.kind for f in mine]
        assert kinds[:2] == ["offered", "queued"], session.ref
        assert all(a.at <= b.at for a, b in zip(mine, mine[1:], strict=False)), session.ref
        if session.state == "closed":
            answered = [f for f in mine if f.kind == "answered"]
            assert len(answered) == 1 and "abandoned" not in kinds, session.ref
            assert (
                answered[0].at == session.answered_at and answered[0].agent_id == session.agent_id
            )
            assert answered[0].wait_seconds == pytest.approx(
                (session.answered_at - session.created_at).total_seconds()
            )
            assert kinds[-2:] == ["ended", "closed"]
            (leg,) = legs[session.pk]
            assert (leg.agent_id, leg.answered_at, leg.ended_at) == (
                session.agent_id,
                session.answered_at,
                session.ended_at,
            )
            assert leg.end == "closed" and leg.summary == session.summary != ""
            assert session.created_at < session.answered_at < session.ended_at < session.closed_at
            if session.channel != "voice":  # 首次响应 of a text contact
                (responded,) = [f for f in mine if f.kind == "responded"]
                assert responded.at == session.first_response_at
        else:
            assert session.state == "abandoned" and session.agent_id is None
            assert kinds[-1] == "abandoned" and not legs[session.pk]
            assert "answered" not in kinds
    # a voice agent never holds two calls at once
    calls = defaultdict(list)
    for leg in SessionLeg.objects.filter(session__channel="voice"):
        calls[leg.agent_id].append((leg.answered_at, leg.ended_at))
    for spans in calls.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # ratings, when given, are the five levels
    rated = Counter(Session.objects.exclude(satisfaction="").values_list("satisfaction", flat=True))
    assert rated and set(rated) <= {"非常满意", "满意", "基本满意", "不满意", "非常不满意"}
    assert rated.most_common(1)[0][0] in ("非常满意", "满意")


def test_orders_walk_their_lifecycle_with_dues_from_the_sla_table(year):
    table = sla.rules()
    for order in WorkOrder.objects.prefetch_related("events", "assignments"):
        events = sorted(order.events.all(), key=lambda e: (e.at, e.pk))
        first, *rest = events
        assert first.action == "create" and first.at == order.created_at
        for before, event in zip(events, rest, strict=False):
            assert event.from_state == before.to_state and event.at >= before.at, order.number
            if event.action != "auto_archive":
                assert (event.from_state, event.to_state) in ACTIONS[event.action].edges
        assert events[-1].to_state == order.state
        if order.state == State.ARCHIVED and not order.direct:
            actions = [e.action for e in events]
            steps = ["create", "dispatch", "sign", "reply", "review-reply", "callback"]
            positions = [actions.index(step) for step in steps]
            assert positions == sorted(positions), (order.number, actions)
            assert actions[-1] == "auto_archive" and order.satisfaction
        returned = any(e.action == "review-return" for e in events)  # due again on return
        if not order.direct and not returned:
            assert order.dispatch_due == sla.dispatch_due(order.created_at)
        kind = {"order_type": order.order_type, "urgency": order.urgency}
        utility = bool(order.category and order.category.public_utility)
        for branch in order.assignments.all():
            assert branch.sign_due == sla.due(
                "sign", branch.dispatched_at, table=table, public_utility=utility, **kind
            )
        if order.replied_at and order.review_due:
            replies = [e for e in events if e.action == "reply" and e.assignment_id]
            assert order.review_due == sla.due("review", replies[-1].at, table=table, **kind)
    states = Counter(WorkOrder.objects.values_list("state", flat=True))
    assert states[State.ARCHIVED] > 300  # a year back, most are long done
    assert set(states) - {State.ARCHIVED}, "the last days leave open orders"
    callbacks = Counter(
        WorkOrder.objects.exclude(satisfaction="").values_list("satisfaction", flat=True)
    )
    assert len(callbacks) >= 4 and callbacks["满意"] > callbacks["不满意"]
    assert Assignment.objects.exists() and Event.objects.filter(action="callback").exists()


def test_orders_taken_in_calls_name_them_and_keep_numbering_clean(year):
    summary, _ = year
    linked = WorkOrder.objects.exclude(session_ref="")
    assert linked.count() == summary["orders_from_calls"] > 400
    sessions = {s.ref: s for s in Session.objects.filter(ref__in=linked.values("session_ref"))}
    for order in linked:
        session = sessions[order.session_ref]
        assert session.answered_at < order.created_at < session.ended_at
        assert order.created_by_id == session.agent_id and order.number in session.summary
        if session.channel == "voice":
            assert order.channel == "phone" and order.caller_phone == session.address
    numbers = list(WorkOrder.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 500
    assert all(n[:2] == "SY" and len(n) == 16 for n in numbers)
    for number in numbers:
        day = dt.date(int(number[2:6]), int(number[6:8]), int(number[8:10]))
        assert day < TODAY
    # today's live counter is untouched: the first live order of today is 000001
    assert not NumberSequence.objects.filter(platform_code="SY", day=TODAY).exists()


def test_the_season_and_the_hours_show(year):
    summary, _ = year
    months = Counter(local(t).month for t in Session.objects.values_list("created_at", flat=True))
    assert months[1] > months[9] * 1.3  # January (high season) over September
    assert months[2] > months[6]
    hours = Counter(local(t).hour for t in Session.objects.values_list("created_at", flat=True))
    assert min(hours[9], hours[10], hours[15]) > 3 * max(hours[2], hours[3], hours[4])
    assert hours[10] > hours[12]  # the lunch dip between the two peaks
    # a typhoon day is a spike of calls, and of fallen trees in the orders after it
    assert len(summary["typhoon_days"]) == demo_history.TYPHOONS
    by_day = Counter(local(t).date() for t in Session.objects.values_list("created_at", flat=True))
    typhoon = [dt.date.fromisoformat(d) for d in summary["typhoon_days"]]
    ordinary = [by_day[d - dt.timedelta(days=14)] for d in typhoon]
    assert sum(by_day[d] for d in typhoon) > 1.8 * sum(ordinary)
    tourist = WorkOrder.objects.filter(title__contains="宰客")
    high = sum(1 for o in tourist if local(o.created_at).month in demo_history.HIGH_SEASON)
    assert high > tourist.count() - high


def test_deterministic_for_a_seed(db):
    demo.load_demo()
    with pytest.raises(RuntimeError):  # roll the first run back, keep the demo
        from django.db import transaction

        with transaction.atomic():
            first = demo_history.generate(calls=300, orders=60, seed=9, now=NOW)
            refs = list(Session.objects.order_by("ref").values_list("ref", "agent_id"))
            orders = list(WorkOrder.objects.order_by("number").values_list("number", "title"))
            raise RuntimeError
    again = demo_history.generate(calls=300, orders=60, seed=9, now=NOW)
    assert first["typhoon_days"] == again["typhoon_days"]
    assert list(Session.objects.order_by("ref").values_list("ref", "agent_id")) == refs
    assert list(WorkOrder.objects.order_by("number").values_list("number", "title")) == orders


def test_a_second_run_refuses_and_adds_nothing(year):
    with pytest.raises(Conflict, match="演示历史数据已存在"):
        demo_history.generate(calls=10, orders=10, seed=1, now=NOW)
    assert (Session.objects.count(), WorkOrder.objects.count()) == (2000, 500)


def test_init_command_loads_the_demo_and_its_year_once(db):
    out = io.StringIO()
    call_command("init", "--demo", "--calls", "120", "--orders", "30", stdout=out)
    text = out.getvalue()
    assert "演示热线已载入" in text and "演示历史数据已生成" in text
    assert (Session.objects.count(), WorkOrder.objects.count()) == (120, 30)
    with pytest.raises(CommandError, match="演示历史数据已存在"):
        call_command("init", "--demo", "--calls", "120", stdout=io.StringIO())
    with pytest.raises(CommandError, match="演示数据已存在"):
        call_command("init", "--demo", stdout=io.StringIO())
    assert (Session.objects.count(), WorkOrder.objects.count()) == (120, 30)
