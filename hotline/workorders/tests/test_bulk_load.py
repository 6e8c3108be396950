"""The bulk loader (``hotline loadorders``) writes histories the services could have
written: every step a move of the lifecycle table, states that chain, branches that
agree with their order, unique numbers that live intake continues, and the full-text
index finding the loaded orders."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from hotline.core import demo
from hotline.core.models import NumberSequence, Platform, User
from hotline.search import index_text
from hotline.workorders import bulk, selectors, services
from hotline.workorders.lifecycle import ACTIONS, BranchState, State
from hotline.workorders.models import Assignment, Event, WorkOrder

NOW = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC)


@pytest.fixture
def loaded(db):
    demo.load_demo()
    platform = Platform.objects.get(code="SY")
    result = bulk.load_orders(300, platform=platform, days=40, seed=7, now=NOW, batch=120)
    return platform, result


def test_every_step_is_a_move_of_the_lifecycle_table(loaded):
    _, result = loaded
    assert (result.orders, WorkOrder.objects.count()) == (300, 300)
    assert Event.objects.count() == result.events > 300 * 2
    orders = WorkOrder.objects.prefetch_related("events")
    for order in orders:
        events = sorted(order.events.all(), key=lambda e: (e.at, e.pk))
        first, *rest = events
        assert first.action == "create" and first.from_state == ""
        assert first.to_state == (State.COMPLETED if order.direct else State.SUBMITTED)
        for before, event in zip(events, rest, strict=False):
            assert event.from_state == before.to_state, order.number
            assert event.at >= before.at, order.number
            if event.action == "auto_archive":  # the worker's archive (services.auto_archive)
                assert (event.from_state, event.to_state) == (State.COMPLETED, State.ARCHIVED)
                assert event.at >= before.at + dt.timedelta(hours=24)
            else:
                edges = ACTIONS[event.action].edges
                assert (event.from_state, event.to_state) in edges, (order.number, event.action)
        assert events[-1].to_state == order.state, order.number
        assert events[-1].at <= NOW
    # stories stop at every stage when "now" comes: open orders of several kinds remain
    states = set(WorkOrder.objects.values_list("state", flat=True))
    assert {State.ARCHIVED, State.HANDLING} <= states
    assert len(states) >= 5
    assert {"dispatch", "sign", "reply", "review-reply", "callback"} <= set(
        Event.objects.values_list("action", flat=True)
    )


def test_branches_agree_with_their_orders(loaded):
    lead_state = {
        State.DISPATCHED: BranchState.PENDING_SIGN,
        State.HANDLING: BranchState.SIGNED,
        State.RETURN_PENDING: BranchState.RETURN_PENDING,
        State.REPLIED: BranchState.REPLIED,
        State.CALLBACK_PENDING: BranchState.REPLIED,
        State.UNSATISFIED: BranchState.REPLIED,
    }
    for order in WorkOrder.objects.prefetch_related("assignments", "events"):
        branches = list(order.assignments.all())
        live = [b for b in branches if b.state != BranchState.WITHDRAWN]
        leads = [b for b in live if b.lead]
        if order.direct:
            assert branches == [] and order.answer and order.dispatch_due is None
            continue
        if order.state in (State.SUBMITTED, State.CANCELLED):
            assert not [b for b in live if b.state != BranchState.REPLIED], order.number
            continue
        assert len(leads) == 1, order.number
        lead = leads[0]
        assert order.lead_unit_id == lead.unit_id
        assert order.handle_due is not None and lead.sign_due is not None
        expected = lead_state.get(State(order.state), BranchState.REPLIED)
        assert lead.state == expected, (order.number, order.state, lead.state)
        if lead.state == BranchState.REPLIED:
            assert lead.reply and order.replied_at and order.review_due
        if order.state in (State.CALLBACK_PENDING, State.COMPLETED, State.ARCHIVED):
            assert order.answer == lead.reply and order.callback_due
        if order.state in (State.COMPLETED, State.ARCHIVED):
            assert order.satisfaction and order.completed_at
        for event in order.events.all():  # a branch named by an event is this order's
            if event.assignment_id is not None:
                assert event.assignment_id in {b.pk for b in branches}
    assert Assignment.objects.filter(lead=False).exists()  # some 协办 branches


def test_numbers_are_unique_and_live_intake_continues_them(loaded):
    platform, _ = loaded
    numbers = list(WorkOrder.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 300
    last_day = timezone.localdate(NOW)
    today = sorted(n for n in numbers if n.startswith(f"SY{last_day:%Y%m%d}"))
    assert today, "orders were received on the last day too"
    sequence = NumberSequence.objects.get(platform_code="SY", kind="WO", day=last_day)
    assert sequence.last == int(today[-1][-6:])
    agent = User.objects.get(username=demo.DEMO_LOGINS[0]["username"])
    if not agent.can("workorders.create"):
        agent = next(
            u for u in User.objects.filter(platform=platform) if u.can("workorders.create")
        )
    fresh = services.order_create(
        actor=agent,
        platform=platform,
        order_type="consult",
        title="咨询公积金提取",
        content="来电人咨询公积金提取材料。",
        now=NOW,
    )
    assert fresh.number == f"SY{last_day:%Y%m%d}{sequence.last + 1:06d}"
    assert fresh.number not in numbers


def test_search_finds_the_loaded_orders(loaded):
    platform, _ = loaded
    viewer = next(
        u
        for u in User.objects.filter(platform=platform, unit__isnull=True)
        if u.can("workorders.view") and u.role_assignments.filter(role="dispatcher").exists()
    )
    orders = list(WorkOrder.objects.prefetch_related("assignments"))
    for order in orders:  # the cached segmentation is the live one
        replies = [b.reply for b in order.assignments.all() if b.reply]
        assert order.search_text == index_text(order.title, order.content, order.answer, *replies)

    def found(q: str) -> set[str]:
        filtered = selectors.orders_filtered(viewer, selectors.OrderFilter(q=q), now=NOW)
        return set(filtered.values_list("number", flat=True))

    def containing(*words: str) -> set[str]:
        return {
            o.number
            for o in orders
            if any(w in f"{o.title}{o.content}{o.answer}" for w in words)
            or any(w in b.reply for b in o.assignments.all() for w in words)
        }

    assert found("宰客") == containing("宰客") != set()
    assert found("噪音") == containing("噪音", "噪声") != set()  # a synonym group
    assert found("医保") == containing("医保", "医疗保险", "医疗保障") != set()
    both = containing("停水") & containing("小区")
    assert found("停水 小区") == both != set()


def test_loadorders_command(db):
    demo.load_demo()
    out = io.StringIO()
    call_command("loadorders", "40", "--platform", "SY", "--days", "5", "--seed", "3", stdout=out)
    assert "完成：40 件工单" in out.getvalue()
    assert WorkOrder.objects.count() == 40
    with pytest.raises(Exception, match="工单数量"):
        call_command("loadorders", "0", "--platform", "SY", stdout=out)
    with pytest.raises(Exception, match="平台代码 XX 不存在"):
        call_command("loadorders", "5", "--platform", "XX", stdout=out)
