"""Multi-branch orders (主办 + 协办): each unit signs for and answers its own part; the lead
answers for the order once every co-unit has; co-unit returns touch only their branch;
two units answering at the same moment both get through."""

import threading

import pytest
from django.db import connection

from hotline.core.errors import Conflict
from hotline.workorders import services
from hotline.workorders.lifecycle import BranchState, State
from hotline.workorders.models import Event, WorkOrder

from .conftest import is_chinese


def branch(order, unit):
    """The unit's live branch (the newest one not withdrawn)."""
    return order.assignments.exclude(state=BranchState.WITHDRAWN).filter(unit=unit).latest("pk")


def states(order) -> dict[str, str]:
    return {b.unit.code: b.state for b in order.assignments.select_related("unit")}


@pytest.fixture
def three_units(wo, new_order, act):
    """Dispatched to lead A with co-units B and C."""
    order = new_order()
    return act(wo.dispatcher, order, "dispatch", unit=wo.units.a, co_units=[wo.units.b, wo.units.c])


def test_dispatch_opens_one_branch_per_unit(wo, three_units):
    order = three_units
    rows = list(order.assignments.select_related("unit"))
    assert [(b.unit, b.lead, b.state) for b in rows] == [
        (wo.units.a, True, BranchState.PENDING_SIGN),
        (wo.units.b, False, BranchState.PENDING_SIGN),
        (wo.units.c, False, BranchState.PENDING_SIGN),
    ]
    assert all(b.sign_due and b.handle_due for b in rows)
    assert order.lead_unit == wo.units.a
    assert order.events.last().data == {
        "unit": wo.units.a.name,
        "co_units": [wo.units.b.name, wo.units.c.name],
    }


def test_duplicate_units_are_refused(wo, new_order, act):
    from hotline.core.errors import Unprocessable

    order = new_order()
    with pytest.raises(Unprocessable):
        act(wo.dispatcher, order, "dispatch", unit=wo.units.a, co_units=[wo.units.a])
    with pytest.raises(Unprocessable):
        act(wo.dispatcher, order, "dispatch", unit=wo.units.a, co_units=[wo.units.b, wo.units.b])
    assert WorkOrder.objects.get(pk=order.pk).state == State.SUBMITTED
    assert not order.assignments.exists()


def test_co_units_sign_and_reply_on_their_own(wo, act, three_units):
    order = act(wo.handler_b, three_units, "sign")  # a co-unit signing moves nothing
    assert order.state == State.DISPATCHED
    assert states(order)["SYZJ"] == BranchState.SIGNED
    order = act(wo.handler_a, order, "sign")
    assert order.state == State.HANDLING
    order = act(wo.handler_c, order, "sign")
    with pytest.raises(Conflict):
        act(wo.handler_c, order, "sign")  # once only

    order = act(wo.handler_b, order, "reply", content="住建局：已督促物业整改。")
    assert order.state == State.HANDLING
    assert states(order) == {
        "SYRS": BranchState.SIGNED,
        "SYZJ": BranchState.REPLIED,
        "SYSW": BranchState.SIGNED,
    }

    with pytest.raises(Conflict) as refused:
        act(wo.handler_a, order, "reply", content="人社局：已处理。")
    message = refused.value.message
    assert is_chinese(message)
    assert wo.units.c.name in message and wo.units.b.name not in message
    assert WorkOrder.objects.get(pk=order.pk).state == State.HANDLING

    order = act(wo.handler_c, order, "reply", content="水务局：已恢复供水。")
    order = act(wo.handler_a, order, "reply", content="人社局：已处理。")
    assert order.state == State.REPLIED
    assert set(states(order).values()) == {BranchState.REPLIED}
    replies = order.events.filter(action="reply")
    assert [e.unit for e in replies] == [wo.units.b, wo.units.c, wo.units.a]
    assert [e.to_state for e in replies] == ["handling", "handling", "replied"]

    order = act(wo.dispatcher, order, "review-reply", approved=True)
    assert order.answer == "人社局：已处理。"


def test_co_unit_may_answer_before_the_lead_signs(wo, act, three_units):
    order = act(wo.handler_b, three_units, "sign")
    order = act(wo.handler_b, order, "reply", content="住建局：已答复。")
    assert order.state == State.DISPATCHED
    assert states(order)["SYZJ"] == BranchState.REPLIED
    with pytest.raises(Conflict) as refused:
        act(wo.handler_a, order, "reply", content="人社局：已处理。")
    assert "签收" in refused.value.message  # the lead signs first
    with pytest.raises(Conflict):
        act(wo.handler_c, order, "reply", content="水务局：已处理。")  # C has not signed
    order = act(wo.handler_a, order, "sign")
    order = act(wo.handler_c, order, "sign")
    order = act(wo.handler_c, order, "reply", content="水务局：已处理。")
    order = act(wo.handler_a, order, "reply", content="人社局：已处理。")
    assert order.state == State.REPLIED


def test_co_unit_return(wo, act, three_units):
    order = act(wo.handler_a, three_units, "sign")
    order = act(wo.handler_b, order, "return", reason="不涉及住建职责")
    assert order.state == State.HANDLING  # the order stays where it is
    assert states(order)["SYZJ"] == BranchState.RETURN_PENDING
    assert order.events.last().unit == wo.units.b

    order = act(wo.handler_c, order, "sign")
    order = act(wo.handler_c, order, "reply", content="水务局：已处理。")
    with pytest.raises(Conflict) as refused:  # B's branch is still open
        act(wo.handler_a, order, "reply", content="已处理。")
    assert wo.units.b.name in refused.value.message

    order = act(wo.dispatcher, order, "review-return", unit=wo.units.b, approved=True)
    assert order.state == State.HANDLING
    assert order.lead_unit == wo.units.a
    assert states(order) == {
        "SYRS": BranchState.SIGNED,
        "SYZJ": BranchState.WITHDRAWN,
        "SYSW": BranchState.REPLIED,
    }
    assert order.events.last().data["unit"] == wo.units.b.name
    order = act(wo.handler_a, order, "reply", content="已处理。")
    assert order.state == State.REPLIED


def test_co_unit_return_rejected(wo, act, three_units):
    order = act(wo.handler_b, three_units, "return", reason="不涉及住建职责")
    assert order.state == State.DISPATCHED
    order = act(wo.dispatcher, order, "review-return", unit=wo.units.b, approved=False)
    assert order.state == State.DISPATCHED
    assert states(order)["SYZJ"] == BranchState.PENDING_SIGN


def test_review_return_names_the_branch(wo, act, three_units):
    """With the lead and a co-unit both returning, ``unit`` picks which return is reviewed."""
    order = act(wo.handler_c, three_units, "return", reason="不涉及供水")
    order = act(wo.handler_a, order, "return", reason="不属于人社职责")
    assert order.state == State.RETURN_PENDING
    order = act(wo.dispatcher, order, "review-return", unit=wo.units.a, approved=True)
    assert order.state == State.SUBMITTED
    assert set(states(order).values()) == {BranchState.WITHDRAWN}


def test_co_unit_extension_moves_only_its_branch(wo, act, three_units):
    order = act(wo.handler_b, three_units, "sign")
    lead_due = order.handle_due
    order = act(wo.handler_b, order, "request-extension", days=3, reason="需协调")
    order = act(wo.dispatcher, order, "review-extension", unit=wo.units.b, approved=True)
    assert order.handle_due == lead_due
    assert branch(order, wo.units.b).handle_due > lead_due
    assert branch(order, wo.units.a).handle_due == lead_due


def test_redispatch_to_a_co_unit_that_had_replied(wo, act, three_units):
    """Re-dispatching opens a fresh branch for every unit named; a unit that answered its
    old branch must be able to sign for and answer the new one."""
    order = act(wo.handler_a, three_units, "sign")
    order = act(wo.handler_b, order, "sign")
    order = act(wo.handler_b, order, "reply", content="住建局：旧分支答复。")
    order = act(wo.dispatcher, order, "redispatch", unit=wo.units.b)
    assert order.lead_unit == wo.units.b
    assert branch(order, wo.units.b).lead

    order = act(wo.handler_b, order, "sign")  # its new branch, as lead
    assert order.state == State.HANDLING
    order = act(wo.handler_b, order, "reply", content="住建局：新分支答复。")
    assert order.state == State.REPLIED


def test_lead_return_then_dispatch_to_a_co_unit_that_had_replied(wo, act, three_units):
    order = act(wo.handler_b, three_units, "sign")
    order = act(wo.handler_b, order, "reply", content="住建局：已答复。")
    order = act(wo.handler_a, order, "return", reason="不属于人社职责")
    order = act(wo.dispatcher, order, "review-return", approved=True)
    assert order.state == State.SUBMITTED
    order = act(wo.dispatcher, order, "dispatch", unit=wo.units.b)
    order = act(wo.handler_b, order, "sign")
    assert order.state == State.HANDLING


def test_units_dropped_by_redispatch_stay_out_of_a_reopen(wo, act, drive, three_units):
    """Re-dispatched from A+B+C to C alone: when the citizen is unsatisfied and the order
    is reopened (复核), only C handles it again — B's answer to the old assignment does
    not bring B back, nor make C wait for B."""
    order = act(wo.handler_b, three_units, "sign")
    order = act(wo.handler_b, order, "reply", content="住建局：已答复。")
    order = act(wo.dispatcher, order, "redispatch", unit=wo.units.c)
    order = act(wo.handler_c, order, "sign")
    order = act(wo.handler_c, order, "reply", content="水务局：已处理。")
    order = act(wo.dispatcher, order, "review-reply", approved=True)
    order = act(wo.callback, order, "callback", satisfaction="不满意")
    order = act(wo.dispatcher, order, "reopen")
    assert order.events.last().data["units"] == [wo.units.c.name]
    assert branch(order, wo.units.c).state == BranchState.PENDING_SIGN
    assert not order.assignments.filter(unit=wo.units.b, state=BranchState.PENDING_SIGN).exists()
    order = act(wo.handler_c, order, "sign")
    order = act(wo.handler_c, order, "reply", content="水务局：复核后已处理。")
    assert order.state == State.REPLIED


# --- two units answering at the same moment ------------------------------------------------------


def _signed_three_units(wo, new_order):
    order = new_order()
    services.perform(
        actor=wo.dispatcher,
        order=order,
        action="dispatch",
        unit=wo.units.a,
        co_units=[wo.units.b, wo.units.c],
    )
    for handler in (wo.handler_a, wo.handler_b, wo.handler_c):
        services.perform(actor=handler, order=order, action="sign")
    return order


def _run_together(jobs) -> list:
    """Run each job in its own thread (own DB connection), released at the same moment."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as error:  # reported by the main thread
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _reply(handler, order, text):
    return lambda: services.perform(actor=handler, order=order, action="reply", content=text)


def _assert_both_replies_stored(wo, order):
    order = WorkOrder.objects.get(pk=order.pk)
    assert order.state == State.HANDLING
    assert branch(order, wo.units.b).state == BranchState.REPLIED
    assert branch(order, wo.units.c).state == BranchState.REPLIED
    assert branch(order, wo.units.b).reply == "住建局：已答复。"
    assert branch(order, wo.units.c).reply == "水务局：已答复。"
    events = list(Event.objects.filter(order=order, action="reply"))
    assert sorted(e.unit.code for e in events) == ["SYSW", "SYZJ"]
    chain = list(order.events.order_by("pk"))
    assert all(a.to_state == b.from_state for a, b in zip(chain, chain[1:], strict=False))
    services.perform(actor=wo.handler_a, order=order, action="reply", content="人社局：已办结。")
    assert WorkOrder.objects.get(pk=order.pk).state == State.REPLIED


@pytest.mark.postgres
def test_co_units_reply_at_the_same_moment_postgresql(transactional_db, wo, new_order):
    if connection.vendor != "postgresql":
        pytest.skip("需要 PostgreSQL（设置 DATABASE_URL）")
    for _ in range(3):
        order = _signed_three_units(wo, new_order)
        results = _run_together(
            [
                _reply(wo.handler_b, order, "住建局：已答复。"),
                _reply(wo.handler_c, order, "水务局：已答复。"),
            ]
        )
        assert all(isinstance(r, WorkOrder) for r in results), results
        _assert_both_replies_stored(wo, order)


@pytest.mark.postgres
def test_lead_and_co_unit_reply_race_postgresql(transactional_db, wo, new_order):
    """The lead's reply racing the last co-unit's: either the lead is told to wait (409)
    or it came second; never an order replied while a co-unit's branch is still open."""
    if connection.vendor != "postgresql":
        pytest.skip("需要 PostgreSQL（设置 DATABASE_URL）")
    for _ in range(4):
        order = _signed_three_units(wo, new_order)
        services.perform(actor=wo.handler_b, order=order, action="reply", content="住建局：好")
        lead, co = _run_together(
            [_reply(wo.handler_a, order, "人社局：好"), _reply(wo.handler_c, order, "水务局：好")]
        )
        assert isinstance(co, WorkOrder), co
        order = WorkOrder.objects.get(pk=order.pk)
        if isinstance(lead, Conflict):
            assert order.state == State.HANDLING
        else:
            assert isinstance(lead, WorkOrder), lead
            assert order.state == State.REPLIED
            c_reply = branch(order, wo.units.c).replied_at
            assert c_reply <= branch(order, wo.units.a).replied_at
        assert branch(order, wo.units.c).state == BranchState.REPLIED


def test_co_units_reply_one_after_the_other(wo, new_order):
    """The sequential version of the race above (any database)."""
    order = _signed_three_units(wo, new_order)
    _reply(wo.handler_b, order, "住建局：已答复。")()
    _reply(wo.handler_c, order, "水务局：已答复。")()
    _assert_both_replies_stored(wo, order)
