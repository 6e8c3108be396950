"""The life of an order, verb by verb: the happy path through every role, returns,
extensions, review, unsatisfied callbacks, notes, cancelling, archiving, re-dispatching."""

import datetime as dt

import pytest

from hotline.core.errors import Conflict, Forbidden, Unprocessable
from hotline.core.models import AuditEntry
from hotline.core.workdays import LOCAL_TZ, add_working_days
from hotline.workorders import services, tasks
from hotline.workorders.lifecycle import BranchState, State
from hotline.workorders.models import Assignment, Event, WorkOrder

from .conftest import LEAF, is_chinese


def audits(order, action: str) -> int:
    return AuditEntry.objects.filter(action=f"workorder.{action}", object_id=str(order.pk)).count()


def branch_states(order) -> dict[str, str]:
    return {b.unit.code: b.state for b in order.assignments.select_related("unit")}


# --- the happy path ---------------------------------------------------------------------------------


def test_happy_path_through_every_role(wo, call):
    created = call(
        wo.agent,
        "post",
        "/api/workorders",
        {
            "type": "complaint",
            "title": "拖欠工资",
            "content": "来电人反映某公司拖欠工资三个月。",
            "caller_name": "王先生",
            "caller_phone": "13812345678",
            "category": LEAF,
        },
    )
    assert created.status_code == 201
    number = created.json()["number"]
    url = f"/api/workorders/{number}/actions"

    steps = [
        (wo.dispatcher, "dispatch", {"unit": wo.units.a.pk}, "dispatched"),
        (wo.handler_a, "sign", {}, "handling"),
        (wo.handler_a, "reply", {"content": "已责令该公司于本月底前支付。"}, "replied"),
        (wo.dispatcher, "review-reply", {"approved": True, "note": "答复规范"}, "callback_pending"),
        (wo.callback, "callback", {"satisfaction": "满意", "note": "已回访"}, "completed"),
    ]
    for user, action, payload, status in steps:
        response = call(user, "post", f"{url}/{action}", payload)
        assert response.status_code == 200, (action, response.content.decode())
        assert response.json()["status"] == status, action

    detail = call(wo.dispatcher, "get", f"/api/workorders/{number}").json()
    assert detail["unit"] == wo.units.a.name
    assert detail["answer"] == "已责令该公司于本月底前支付。"
    assert detail["satisfaction"] == "满意"
    assert detail["deadline"] is None  # no deadline runs once completed

    order = WorkOrder.objects.get(number=number)
    assert order.state == State.COMPLETED
    assert order.lead_unit == wo.units.a
    assert order.dispatched_at and order.replied_at and order.completed_at
    assert order.review_due is not None and order.callback_due is not None
    assert branch_states(order) == {"SYRS": BranchState.REPLIED}

    # Archived 24 hours after completion, not before.
    assert services.auto_archive(now=order.completed_at + dt.timedelta(hours=23)) == 0
    assert WorkOrder.objects.get(pk=order.pk).state == State.COMPLETED
    assert services.auto_archive(now=order.completed_at + dt.timedelta(hours=25)) == 1
    order.refresh_from_db()
    assert order.state == State.ARCHIVED
    assert order.closed_at == order.completed_at + dt.timedelta(hours=25)
    assert services.auto_archive(now=order.completed_at + dt.timedelta(hours=26)) == 0

    timeline = call(wo.dispatcher, "get", f"/api/workorders/{number}").json()["timeline"]
    expected = [
        ("create", wo.agent),
        ("dispatch", wo.dispatcher),
        ("sign", wo.handler_a),
        ("reply", wo.handler_a),
        ("review-reply", wo.dispatcher),
        ("callback", wo.callback),
        ("auto_archive", None),
    ]
    assert [(t["event"], t["actor"]) for t in timeline] == [
        (event, str(actor) if actor else "系统") for event, actor in expected
    ]
    assert [t["at"] for t in timeline] == sorted(t["at"] for t in timeline)
    states = [(t["from_state"], t["to_state"]) for t in timeline]
    assert states == [
        ("", "submitted"),
        ("submitted", "dispatched"),
        ("dispatched", "handling"),
        ("handling", "replied"),
        ("replied", "callback_pending"),
        ("callback_pending", "completed"),
        ("completed", "archived"),
    ]
    assert timeline[2]["unit"] == wo.units.a.name
    assert all(t["event_label"] and is_chinese(t["event_label"]) for t in timeline)

    for action in ("create", "dispatch", "sign", "reply", "review-reply", "callback", "archive"):
        assert audits(order, action) == 1, action
    entry = AuditEntry.objects.get(action="workorder.dispatch", object_id=str(order.pk))
    assert entry.actor == wo.dispatcher
    assert entry.changes == {"state": ["submitted", "dispatched"]}
    assert entry.detail["number"] == number


def test_archive_worker_task(wo, new_order, act):
    """The periodic task archives as the worker (后台任务)."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    order = new_order(order_type="consult", direct=True, answer="已当场答复。", now=start)
    assert order.state == State.COMPLETED
    tasks.archive_completed.call_local()
    order.refresh_from_db()
    assert order.state == State.ARCHIVED
    assert order.events.last().actor_name == "后台任务"


def test_auto_archive_counts_from_completion(wo, new_order, drive, act):
    """An order closed after an unsatisfied callback is archived 24 h after the close."""
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL_TZ)
    order = drive(new_order(now=start), State.UNSATISFIED, now=start + dt.timedelta(hours=1))
    closed = start + dt.timedelta(days=10)
    order = act(wo.dispatcher, order, "close", reason="已解释政策", now=closed)
    assert order.completed_at == closed
    assert services.auto_archive(now=closed + dt.timedelta(hours=23, minutes=59)) == 0
    assert services.auto_archive(now=closed + dt.timedelta(hours=24)) == 1
    assert WorkOrder.objects.get(pk=order.pk).state == State.ARCHIVED
    assert audits(order, "archive") == 1


# --- permissions --------------------------------------------------------------------------------


def test_verbs_need_their_permission(wo, new_order, act):
    order = new_order()
    with pytest.raises(Forbidden):
        act(wo.agent, order, "dispatch", unit=wo.units.a)
    with pytest.raises(Forbidden):
        act(wo.callback, order, "dispatch", unit=wo.units.a)
    with pytest.raises(Forbidden):
        act(wo.handler_a, order, "cancel", reason="重复")
    order = act(wo.leader, order, "dispatch", unit=wo.units.a)  # 值班长 may dispatch
    with pytest.raises(Forbidden):
        act(wo.dispatcher, order, "sign")  # a platform user is no unit
    assert order.state == State.DISPATCHED


# --- returns (退单) -------------------------------------------------------------------------------


def test_lead_return_approved_goes_back_to_dispatch(wo, new_order, act):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    with pytest.raises(Unprocessable):
        act(wo.handler_a, order, "return")  # a reason is required
    order = act(wo.handler_a, order, "return", reason="不属于本单位职责")
    assert order.state == State.RETURN_PENDING
    branch = order.assignments.get()
    assert branch.state == BranchState.RETURN_PENDING
    assert branch.return_reason == "不属于本单位职责"
    assert branch.returned_at is not None

    order = act(wo.dispatcher, order, "review-return", approved=True, note="同意退回")
    assert order.state == State.SUBMITTED
    assert order.lead_unit is None
    assert order.handle_due is None
    assert order.dispatch_due is not None
    assert branch_states(order) == {"SYRS": BranchState.WITHDRAWN}

    order = act(wo.dispatcher, order, "dispatch", unit=wo.units.b)
    assert order.state == State.DISPATCHED
    assert order.lead_unit == wo.units.b
    assert branch_states(order) == {"SYRS": BranchState.WITHDRAWN, "SYZJ": BranchState.PENDING_SIGN}
    order = act(wo.handler_b, order, "sign")
    assert order.state == State.HANDLING
    with pytest.raises(Conflict) as refused:
        act(wo.handler_a, order, "sign")
    assert "撤回" in refused.value.message


def test_lead_return_rejected_before_signing(wo, new_order, act):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    order = act(wo.handler_a, order, "return", reason="不属于本单位职责")
    order = act(wo.dispatcher, order, "review-return", approved=False, note="属于贵单位职责")
    assert order.state == State.DISPATCHED
    assert order.lead_unit == wo.units.a
    assert branch_states(order) == {"SYRS": BranchState.PENDING_SIGN}


def test_lead_return_rejected_after_signing(wo, new_order, act):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    order = act(wo.handler_a, order, "sign")
    order = act(wo.handler_a, order, "return", reason="需要其他单位配合")
    assert order.state == State.RETURN_PENDING
    order = act(wo.dispatcher, order, "review-return", approved=False)
    assert order.state == State.HANDLING
    assert branch_states(order) == {"SYRS": BranchState.SIGNED}
    order = act(wo.handler_a, order, "reply", content="已办结。")
    assert order.state == State.REPLIED


def test_review_return_without_pending_return_is_409(wo, new_order, act):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    with pytest.raises(Conflict):
        act(wo.dispatcher, order, "review-return", approved=True)
    order = act(wo.handler_a, order, "return", reason="不属于本单位职责")
    for approved in (None, "yes", 1):
        with pytest.raises(Unprocessable):  # approved must be a boolean
            act(wo.dispatcher, order, "review-return", approved=approved)
    assert WorkOrder.objects.get(pk=order.pk).state == State.RETURN_PENDING


# --- extensions (延期) ----------------------------------------------------------------------------


@pytest.fixture
def signed(wo, new_order, act):
    """An order dispatched to unit A on Monday 2026-03-02 10:00 and signed."""
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=LOCAL_TZ)
    order = new_order(now=start)
    order = act(wo.dispatcher, order, "dispatch", unit=wo.units.a, now=start)
    return act(wo.handler_a, order, "sign", now=start + dt.timedelta(minutes=5))


def test_extension_approved_moves_the_deadline(wo, act, signed):
    before = signed.handle_due
    assert before == add_working_days(dt.datetime(2026, 3, 2, 10, 0, tzinfo=LOCAL_TZ), 15)
    order = act(wo.handler_a, signed, "request-extension", days=5, reason="需现场勘查")
    branch = order.assignments.get()
    assert (branch.extension_days, branch.extension_reason) == (5, "需现场勘查")
    assert order.handle_due == before  # unchanged until approved

    with pytest.raises(Conflict):  # one pending request at a time
        act(wo.handler_a, order, "request-extension", days=3, reason="再延")

    order = act(wo.dispatcher, order, "review-extension", approved=True)
    assert order.state == State.HANDLING
    assert order.handle_due == add_working_days(before, 5)
    branch.refresh_from_db()
    assert branch.handle_due == order.handle_due
    assert (branch.extension_days, branch.extension_reason) == (None, "")
    event = order.events.last()
    assert event.action == "review-extension"
    assert event.data["approved"] is True and event.data["days"] == 5


def test_extension_rejected_keeps_the_deadline(wo, act, signed):
    before = signed.handle_due
    order = act(wo.handler_a, signed, "request-extension", days=5, reason="需现场勘查")
    order = act(wo.dispatcher, order, "review-extension", approved=False, note="理由不充分")
    assert order.handle_due == before
    assert order.assignments.get().handle_due == before
    assert order.assignments.get().extension_days is None
    # Rejected: the unit may ask again.
    order = act(wo.handler_a, order, "request-extension", days=2, reason="补充材料")
    assert order.assignments.get().extension_days == 2


def test_extension_bad_days_and_nothing_to_review(wo, act, signed):
    for days in (0, 61, 100, -1):
        with pytest.raises(Unprocessable):
            act(wo.handler_a, signed, "request-extension", days=days, reason="理由")
    with pytest.raises(Unprocessable):
        act(wo.handler_a, signed, "request-extension", days=5)
    with pytest.raises(Conflict):
        act(wo.dispatcher, signed, "review-extension", approved=True)


# --- review of the reply (办结审核) --------------------------------------------------------------------


def test_review_reply_rejected_sends_it_back(wo, new_order, drive, act):
    order = drive(new_order(), State.REPLIED)
    order = act(wo.dispatcher, order, "review-reply", approved=False, note="答复不完整")
    assert order.state == State.HANDLING
    assert branch_states(order) == {"SYRS": BranchState.SIGNED}
    with pytest.raises(Conflict):
        act(wo.dispatcher, order, "review-reply", approved=True)  # nothing to review now
    order = act(wo.handler_a, order, "reply", content="补充：已于3月5日支付完毕。")
    assert order.state == State.REPLIED
    order = act(wo.dispatcher, order, "review-reply", approved=True)
    assert order.state == State.CALLBACK_PENDING
    assert order.answer == "补充：已于3月5日支付完毕。"


# --- callback (回访) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("satisfaction", "state"),
    [
        ("非常满意", State.COMPLETED),
        ("满意", State.COMPLETED),
        ("基本满意", State.COMPLETED),
        ("不满意", State.UNSATISFIED),
        ("非常不满意", State.UNSATISFIED),
    ],
)
def test_callback_outcomes(wo, new_order, drive, act, satisfaction, state):
    order = drive(new_order(), State.CALLBACK_PENDING)
    order = act(wo.callback, order, "callback", satisfaction=satisfaction)
    assert order.state == state
    assert order.satisfaction == satisfaction
    assert (order.completed_at is not None) == (state == State.COMPLETED)


def test_callback_bad_satisfaction(wo, new_order, drive, act):
    order = drive(new_order(), State.CALLBACK_PENDING)
    for value in ("还行", "", None):
        with pytest.raises(Unprocessable):
            act(wo.callback, order, "callback", satisfaction=value)
    assert WorkOrder.objects.get(pk=order.pk).state == State.CALLBACK_PENDING


def test_unsatisfied_reopen(wo, new_order, drive, act):
    order = drive(new_order(), State.UNSATISFIED)
    assert order.satisfaction == "不满意"
    order = act(wo.dispatcher, order, "reopen", note="来电人称工资仍未到账")
    assert order.state == State.DISPATCHED
    assert order.reopen_count == 1
    assert order.satisfaction == ""
    branch = order.assignments.get()
    assert branch.state == BranchState.PENDING_SIGN
    assert branch.signed_at is None and branch.replied_at is None
    assert order.handle_due == branch.handle_due
    # The unit handles it again, all the way to a satisfied callback.
    order = drive(order, State.COMPLETED)
    assert order.reopen_count == 1


def test_unsatisfied_close(wo, new_order, drive, act):
    order = drive(new_order(), State.UNSATISFIED)
    with pytest.raises(Unprocessable):
        act(wo.dispatcher, order, "close")
    order = act(wo.dispatcher, order, "close", reason="诉求超出政策范围，已解释")
    assert order.state == State.COMPLETED
    assert order.completed_at is not None
    assert order.events.last().data["reason"] == "诉求超出政策范围，已解释"
    with pytest.raises(Conflict):
        act(wo.dispatcher, order, "reopen")


# --- notes: urge, supervise, escalate ------------------------------------------------------------


def test_urge_supervise_escalate(wo, new_order, act):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    events = order.events.count()
    order = act(wo.dispatcher, order, "urge", note="请尽快办理")
    order = act(wo.dispatcher, order, "urge")
    order = act(wo.dispatcher, order, "supervise", note="督办")
    assert (order.urge_count, order.supervise_count) == (2, 1)
    assert order.state == State.DISPATCHED
    assert order.events.count() == events + 3
    assert [e.to_state for e in order.events.all()[events:]] == ["dispatched"] * 3

    order = act(wo.agent, order, "escalate", note="来电人情绪激动")
    assert order.escalated is True
    assert order.state == State.DISPATCHED
    with pytest.raises(Conflict) as refused:
        act(wo.agent, order, "escalate")
    assert is_chinese(refused.value.message)
    assert audits(order, "escalate") == 1
    assert audits(order, "urge") == 2


def test_urge_not_before_dispatch(wo, new_order, act):
    with pytest.raises(Conflict):
        act(wo.dispatcher, new_order(), "urge")


# --- cancel and archive -------------------------------------------------------------------------


def test_cancel(wo, new_order, act):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a, co_units=[wo.units.b])
    with pytest.raises(Unprocessable):
        act(wo.dispatcher, order, "cancel")
    with pytest.raises(Unprocessable):
        act(wo.dispatcher, order, "cancel", reason="   ")
    assert branch_states(order) == {
        "SYRS": BranchState.PENDING_SIGN,
        "SYZJ": BranchState.PENDING_SIGN,
    }
    order = act(wo.dispatcher, order, "cancel", reason="来电人撤销诉求")
    assert order.state == State.CANCELLED
    assert order.closed_at is not None
    assert set(branch_states(order).values()) == {BranchState.WITHDRAWN}
    with pytest.raises(Conflict):
        act(wo.dispatcher, order, "cancel", reason="再销")
    with pytest.raises(Conflict):
        act(wo.dispatcher, order, "archive")


def test_cancel_a_submitted_order(wo, new_order, act):
    order = act(wo.dispatcher, new_order(), "cancel", reason="重复工单")
    assert order.state == State.CANCELLED


def test_archive_only_from_completed(wo, new_order, drive, act):
    order = new_order()
    for state in (State.SUBMITTED, State.DISPATCHED, State.HANDLING, State.CALLBACK_PENDING):
        order = drive(order, state)
        with pytest.raises(Conflict) as refused:
            act(wo.dispatcher, order, "archive")
        assert "不能归档" in refused.value.message
    order = drive(order, State.COMPLETED)
    order = act(wo.dispatcher, order, "archive")
    assert order.state == State.ARCHIVED
    assert order.closed_at is not None
    with pytest.raises(Conflict):
        act(wo.dispatcher, order, "archive")


# --- re-dispatch (改派) -------------------------------------------------------------------------------


def test_redispatch(wo, new_order, act, call):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    order = act(wo.handler_a, order, "sign")
    with pytest.raises(Unprocessable):
        act(wo.dispatcher, order, "redispatch")  # unit required
    order = act(wo.dispatcher, order, "redispatch", unit=wo.units.b, note="职责调整")
    assert order.state == State.DISPATCHED
    assert order.lead_unit == wo.units.b
    assert branch_states(order) == {"SYRS": BranchState.WITHDRAWN, "SYZJ": BranchState.PENDING_SIGN}
    assert order.events.last().data["from_unit"] == wo.units.a.name

    # Unit A still sees the order it held, but can no longer act on it.
    url = f"/api/workorders/{order.number}"
    assert call(wo.handler_a, "get", url).status_code == 200
    numbers = [i["number"] for i in call(wo.handler_a, "get", "/api/workorders").json()["items"]]
    assert order.number in numbers
    response = call(wo.handler_a, "post", f"{url}/actions/reply", {"content": "已处理"})
    assert response.status_code == 409
    assert "已撤回" in response.json()["detail"]

    order = act(wo.handler_b, order, "sign")
    assert order.state == State.HANDLING
    order = act(wo.handler_b, order, "reply", content="已处理完毕。")
    assert order.state == State.REPLIED


def test_dispatch_refuses_units_outside_the_platform(wo, new_order, act):
    order = new_order(actor=wo.yz_agent, platform=wo.org.yz)
    with pytest.raises(Unprocessable):  # a city unit is above the county platform
        act(wo.dispatcher, order, "dispatch", unit=wo.units.a)
    order = act(wo.dispatcher, order, "dispatch", unit=wo.org.yz_unit)
    assert order.state == State.DISPATCHED


def test_dispatch_refuses_an_inactive_unit(wo, new_order, act):
    wo.units.c.is_active = False
    wo.units.c.save()
    order = new_order()
    with pytest.raises(Unprocessable):
        act(wo.dispatcher, order, "dispatch", unit=wo.units.c)
    with pytest.raises(Unprocessable):
        act(wo.dispatcher, order, "dispatch", unit=wo.units.a, co_units=[wo.units.c])
    assert WorkOrder.objects.get(pk=order.pk).state == State.SUBMITTED


def test_events_are_append_only(wo, new_order):
    order = new_order()
    event = order.events.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        Event.objects.filter(order=order).update(action="x")
    assert Assignment.objects.count() == 0
