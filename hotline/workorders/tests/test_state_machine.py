"""The lifecycle table against the code: hypothesis drives random sequences of verbs from
:data:`lifecycle.ACTIONS` through ``services.perform``, each by a user entitled to it
(platform verbs by the role holding the permission or the team leader; unit verbs by the
handler of a unit holding a branch), and checks after every step:

(a) a verb whose source states exclude the order's state raises ``Conflict`` and changes
    nothing (state, branches, events, audit rows);
(b) a verb that succeeds appends exactly one event (and one audit row) whose from/to
    states are the order's before and after, and that move is one of the verb's edges;
(c) the timeline chains: each event starts where the previous one ended;
(d) 并单 (``merge``) is tried with a valid master and with invalid ones (the order itself,
    a cancelled order, an unknown number): a refusal leaves the master untouched too; a
    merge adds one ``absorb`` event to the master, and the merged order holds no live
    branch, runs no deadline and sits in no unit's queue.

Each example works on a fresh order inside a transaction that is rolled back at the end.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from hotline.core.errors import Conflict, HotlineError, NotFound
from hotline.core.models import AuditEntry
from hotline.workorders import selectors, services
from hotline.workorders.lifecycle import (
    ACTIONS,
    ACTIVE_BRANCH_STATES,
    OPEN_STATES,
    SATISFACTION,
    WITH_UNIT_STATES,
    BranchState,
    Side,
    State,
    possible_targets,
    transitions,
)
from hotline.workorders.models import WorkOrder

ACTION_CODES = sorted(ACTIONS)
LEAD_BRANCH_OF_STATE = {
    State.DISPATCHED: BranchState.PENDING_SIGN,
    State.HANDLING: BranchState.SIGNED,
    State.RETURN_PENDING: BranchState.RETURN_PENDING,
}


def test_the_table_declares_itself_consistently():
    from hotline.workorders import lifecycle

    lifecycle.check_declarations()
    assert set(ACTIONS) == set(services.HANDLERS)
    for action in ACTIONS.values():
        assert possible_targets(action), action.code
    edges = transitions()
    assert ("submitted", "dispatch", "dispatched") in edges
    assert ("handling", "urge", "handling") in edges
    assert not [e for e in edges if e[1] in ("urge", "supervise", "escalate") and e[0] != e[2]]
    assert not [e for e in edges if e[0] in ("cancelled", "archived", "merged")]  # terminal
    assert State.MERGED not in OPEN_STATES
    # a duplicate merges before anyone has answered it, never after
    assert ACTIONS["merge"].sources == {State.SUBMITTED, *WITH_UNIT_STATES}
    assert {to for _, to in ACTIONS["merge"].edges} == {State.MERGED}


def test_co_unit_review_while_the_lead_return_is_pending(wo, new_order, act):
    """A fixed example of (b): the lead and a co-unit have both sent the order back;
    reviewing the co-unit's return leaves the order waiting on the lead's — a move the
    table must declare (return_pending → return_pending)."""
    order = new_order()
    order = act(wo.dispatcher, order, "dispatch", unit=wo.units.a, co_units=[wo.units.b])
    order = act(wo.handler_b, order, "return", reason="不涉及住建职责")
    order = act(wo.handler_a, order, "return", reason="不属于人社职责")
    order = act(wo.dispatcher, order, "review-return", unit=wo.units.b, approved=True)
    assert order.state == State.RETURN_PENDING
    assert (State.RETURN_PENDING, State.RETURN_PENDING) in ACTIONS["review-return"].edges
    order = act(wo.dispatcher, order, "review-return", approved=False)  # now the lead's
    assert order.state == State.DISPATCHED


class LifecycleMachine(RuleBasedStateMachine):
    """Configured by :func:`test_random_action_sequences` (``cast``, ``make_order``)."""

    cast = None
    make_order = None
    seen: set = set()  # the (from, action, to) moves made, over all examples

    UNKNOWN = "SY19990101999999"  # a number no order has

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.order = type(self).make_order()
        # 并单 targets: an open order (valid) and a cancelled one (refused, 409)
        self.master = type(self).make_order()
        self.closed = type(self).make_order()
        services.perform(
            actor=self.cast.dispatcher, order=self.closed, action="cancel", reason="重复登记"
        )

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- who acts, with what ------------------------------------------------------------

    def holders(self, *, live: bool = False):
        """The units holding a branch of the order (``live``: one not withdrawn)."""
        branches = self.order.assignments.all()
        if live:
            branches = branches.exclude(state=BranchState.WITHDRAWN)
        units = {b.unit_id for b in branches}
        return [u for u in self.cast.unit_list if u.pk in units]

    def actor(self, data, action, *, forward: bool = False):
        cast = self.cast
        if action.side == Side.UNIT:
            holders = (forward and self.holders(live=True)) or self.holders()
            unit = data.draw(st.sampled_from(holders or cast.unit_list[:2]), label="unit")
            return cast.handlers[unit.pk]
        entitled = {
            "workorders.dispatch": cast.dispatcher,
            "workorders.review": cast.dispatcher,
            "workorders.supervise": cast.dispatcher,
            "workorders.urge": cast.dispatcher,
            "workorders.cancel": cast.dispatcher,
            "workorders.merge": cast.dispatcher,
            "workorders.callback": cast.callback,
            "workorders.create": cast.agent,
        }[action.permission]
        return data.draw(st.sampled_from([entitled, cast.leader]), label="actor")

    def fields(self, data, action) -> dict:
        units = self.cast.unit_list
        code = action.code
        if code in ("dispatch", "redispatch"):
            lead = data.draw(st.sampled_from(units), label="lead")
            others = [u for u in units if u.pk != lead.pk]
            co = data.draw(st.lists(st.sampled_from(others), max_size=2, unique=True), label="co")
            return {"unit": lead, "co_units": co}
        if code in ("review-return", "review-extension", "review-reply"):
            fields = {"approved": data.draw(st.booleans(), label="approved"), "note": "审核"}
            if code != "review-reply" and data.draw(st.booleans(), label="name a unit"):
                holders = self.holders() or units
                fields["unit"] = data.draw(st.sampled_from(holders), label="review unit")
            return fields
        if code == "request-extension":
            return {"days": data.draw(st.integers(1, 10), label="days"), "reason": "需协调"}
        if code == "callback":
            return {"satisfaction": data.draw(st.sampled_from(SATISFACTION), label="rating")}
        if code == "reply":
            return {"content": "已办理完毕。"}
        if code in ("return", "cancel", "close"):
            return {"reason": "理由说明"}
        if code == "merge":
            # the valid master half of the time; else itself, a closed order, an unknown one
            invalid = [self.order.number, self.closed.number, self.UNKNOWN]
            valid = data.draw(st.booleans(), label="valid master")
            into = (
                self.master.number if valid else data.draw(st.sampled_from(invalid), label="into")
            )
            return {"into": into, "note": "同一诉求"}
        return {"note": "备注"}

    # --- the step ----------------------------------------------------------------------

    def snapshot(self):
        order = WorkOrder.objects.get(pk=self.order.pk)
        branches = tuple(
            order.assignments.order_by("pk").values_list(
                "pk", "state", "handle_due", "extension_days", "reply"
            )
        )
        counters = (order.urge_count, order.supervise_count, order.reopen_count, order.escalated)
        return (
            order,
            order.state,
            branches,
            counters,
            order.events.count(),
            AuditEntry.objects.filter(object_id=str(order.pk), action__startswith="workorder.")
            .exclude(action="workorder.create")
            .count(),
        )

    def step(self, data, code, *, forward: bool = False) -> bool:
        action = ACTIONS[code]
        return self.run(code, self.actor(data, action, forward=forward), self.fields(data, action))

    def run(self, code, actor, fields) -> bool:
        """Perform one verb and check (a) or (b); True when it went through."""
        action = ACTIONS[code]
        order, state, branches, counters, events, audits = self.snapshot()
        holds_branch = any(b.unit_id == actor.unit_id for b in order.assignments.all())
        master_events = self.master_events()
        try:
            services.perform(actor=actor, order=order, action=code, **fields)
        except HotlineError as refused:
            after = self.snapshot()
            assert after[1:] == (state, branches, counters, events, audits), (code, refused)
            assert self.master_events() == master_events, (code, refused)  # (d)
            if state not in action.sources:  # (a)
                if action.side == Side.UNIT and not holds_branch:
                    assert isinstance(refused, NotFound), (code, state, refused)
                else:
                    assert isinstance(refused, Conflict), (code, state, refused)
            else:
                assert refused.status in (404, 409, 422), (code, state, refused)
                if code == "merge":  # (d): a valid master is never refused
                    assert fields["into"] != self.master.number, refused
                    expected = {
                        self.order.number: 422,  # itself
                        self.closed.number: 409,  # not open
                        self.UNKNOWN: 404,
                    }[fields["into"]]
                    assert refused.status == expected, (fields["into"], refused)
                elif isinstance(refused, NotFound):
                    assert action.side == Side.UNIT and not holds_branch
            return False
        # (b)
        assert state in action.sources, (code, state)
        order = WorkOrder.objects.get(pk=order.pk)
        assert order.events.count() == events + 1, code
        event = order.events.order_by("pk").last()
        assert (event.action, event.from_state, event.to_state) == (code, state, order.state)
        assert event.actor == actor
        assert (state, order.state) in action.edges, (code, state, order.state, fields)
        assert order.state in possible_targets(action, State(state))
        new_audits = self.snapshot()[-1]
        assert new_audits == audits + 1, code
        if code == "merge":  # (d)
            assert order.merged_into_id == self.master.pk
            added = self.master_events()[len(master_events) :]
            assert added == [("absorb", "submitted", "submitted", order.number)], added
        else:
            assert self.master_events() == master_events, code
        self.order = order
        type(self).seen.add((state, code, order.state))
        return True

    def master_events(self) -> list[tuple]:
        return [
            (e.action, e.from_state, e.to_state, e.data.get("absorbed"))
            for e in self.master.events.order_by("pk")
        ]

    # --- the rules ----------------------------------------------------------------------

    STARTS = (
        State.SUBMITTED,
        State.DISPATCHED,
        State.HANDLING,
        State.REPLIED,
        State.CALLBACK_PENDING,
        State.UNSATISFIED,
        State.COMPLETED,
    )

    @initialize(data=st.data())
    def start_somewhere(self, data):
        """Take the order down the usual path to a random state first (each verb checked
        like any other), so that 25 random steps reach the far end of the lifecycle."""
        cast = self.cast
        target = data.draw(st.sampled_from(self.STARTS), label="start at")
        a, b = cast.unit_list[:2]
        co = data.draw(st.booleans(), label="with a co-unit")
        rating = "不满意" if target == State.UNSATISFIED else "满意"
        plan = [
            ("dispatch", cast.dispatcher, {"unit": a, "co_units": [b] if co else []}),
            ("sign", cast.handlers[a.pk], {}),
            ("sign", cast.handlers[b.pk], {}) if co else None,
            ("reply", cast.handlers[b.pk], {"content": "协办答复"}) if co else None,
            ("reply", cast.handlers[a.pk], {"content": "主办答复"}),
            ("review-reply", cast.dispatcher, {"approved": True}),
            ("callback", cast.callback, {"satisfaction": rating}),
        ]
        for code, actor, fields in filter(None, plan):
            if self.order.state == target:
                break
            assert self.run(code, actor, fields), (code, self.order.state)
        assert self.order.state == target

    def enabled(self) -> list[str]:
        return [c for c in ACTION_CODES if self.order.state in ACTIONS[c].sources]

    # Mostly verbs the state allows, by a unit with a live branch, often the one that moves
    # the order along the usual path (so that orders travel far); sometimes any verb, by
    # anyone entitled; sometimes 并单, into a valid or an invalid master, in any state.
    MODES = ("progress",) * 3 + ("forward",) * 3 + ("enabled", "any", "merge")
    PROGRESS = {
        State.SUBMITTED: ("dispatch",),
        State.DISPATCHED: ("sign", "reply"),
        State.HANDLING: ("reply", "sign"),
        State.RETURN_PENDING: ("review-return",),
        State.REPLIED: ("review-reply",),
        State.CALLBACK_PENDING: ("callback",),
        State.UNSATISFIED: ("reopen", "close"),
        State.COMPLETED: ("archive",),
    }

    @rule(data=st.data())
    def act(self, data):
        mode = data.draw(st.sampled_from(self.MODES), label="mode")
        enabled = self.enabled()
        if mode == "progress":
            enabled = list(self.PROGRESS.get(State(self.order.state), enabled))
        elif mode == "forward" and len(enabled) > 1:
            enabled = [c for c in enabled if c not in ("cancel", "merge")]
        codes = enabled if mode != "any" and enabled else ACTION_CODES
        if mode == "merge":
            codes = ["merge"]
        code = data.draw(st.sampled_from(codes), label="action")
        self.step(data, code, forward=mode in ("progress", "forward"))

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def timeline_chains(self):  # (c)
        rows = list(self.order.events.order_by("pk").values_list("from_state", "to_state"))
        assert rows[0][0] == ""
        for (_, previous), (start, _) in zip(rows, rows[1:], strict=False):
            assert start == previous, rows
        assert rows[-1][1] == WorkOrder.objects.get(pk=self.order.pk).state

    @invariant()
    def the_lead_branch_matches_the_state(self):
        order = WorkOrder.objects.get(pk=self.order.pk)
        live = list(order.assignments.exclude(state=BranchState.WITHDRAWN).filter(lead=True))
        if order.state in WITH_UNIT_STATES:
            assert len(live) == 1, (order.state, live)
            assert live[0].unit_id == order.lead_unit_id
            assert live[0].state == LEAD_BRANCH_OF_STATE[State(order.state)]
        if order.state == State.SUBMITTED:
            assert order.lead_unit_id is None
            assert not order.assignments.exclude(state=BranchState.WITHDRAWN).filter(
                state__in=[BranchState.PENDING_SIGN, BranchState.SIGNED]
            )
        if order.state in (State.REPLIED, State.CALLBACK_PENDING):
            assert [b.state for b in live] == [BranchState.REPLIED]

    @invariant()
    def a_merged_order_is_closed(self):  # (d)
        order = WorkOrder.objects.get(pk=self.order.pk)
        if order.state != State.MERGED:
            assert order.merged_into_id is None
            return
        assert order.merged_into_id == self.master.pk
        assert not order.assignments.filter(state__in=ACTIVE_BRANCH_STATES).exists()
        far = timezone.now() + dt.timedelta(days=1000)  # every deadline long past
        assert not WorkOrder.objects.filter(pk=order.pk).filter(selectors.overdue_q(far))
        for handler in self.cast.handlers.values():
            for tab in ("pending", "signed", "soon", "overdue", "returned"):
                queue = selectors.unit_branches(handler, tab, now=far)
                assert not queue.filter(order=order).exists(), (handler, tab)
        absorbed = self.master.events.filter(action="absorb", data__absorbed=order.number)
        assert absorbed.count() == 1


def test_random_action_sequences(wo, new_order):
    from types import SimpleNamespace

    cast = SimpleNamespace(
        unit_list=[wo.units.a, wo.units.b, wo.units.c],
        handlers={
            wo.units.a.pk: wo.handler_a,
            wo.units.b.pk: wo.handler_b,
            wo.units.c.pk: wo.handler_c,
        },
        dispatcher=wo.dispatcher,
        callback=wo.callback,
        agent=wo.agent,
        leader=wo.leader,
    )
    LifecycleMachine.cast = cast
    LifecycleMachine.seen = set()
    LifecycleMachine.make_order = staticmethod(lambda: new_order())
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            database=None,
            # No shrinking: each step touches the database, and shrinking a failure took
            # minutes; the unshrunk sequence (≤ 25 steps) is short enough to read.
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    # Not vacuous: the orders travelled (typically 30–35 of the 48 declared moves are made).
    moves = {(frm, action, to) for frm, action, to in LifecycleMachine.seen}
    assert len(moves) >= 15, sorted(moves)
    assert {frm for frm, action, _ in moves if action == "merge"}, sorted(moves)
    assert {to for _, _, to in moves} >= {State.HANDLING, State.REPLIED, State.CALLBACK_PENDING}
