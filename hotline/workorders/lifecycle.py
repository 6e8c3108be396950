"""The work-order lifecycle (工单流转), declared once.

Code (services.perform guards every verb with :data:`ACTIONS`), the docs
(``docs/workorders.md`` is generated from these tables) and the tests (the hypothesis
state machine drives random action sequences against them) all read this module.

An order has one engine **state** (fixed codes that deadlines and KPIs read; the
Chinese label is what people see). Each handling unit on an order has a **branch**
(``Assignment``) with its own state: a multi-branch order has one lead unit (主办) and
co-units (协办), each signing for and replying to its part on its own.
"""

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    SUBMITTED = "submitted"  # 待派单: created, not yet with a unit
    DISPATCHED = "dispatched"  # 待签收: with the unit(s), lead not yet signed
    HANDLING = "handling"  # 办理中: the lead unit has signed for it
    RETURN_PENDING = "return_pending"  # 退单待审: the lead unit sent it back
    REPLIED = "replied"  # 办结待审: the lead unit replied; the platform reviews
    CALLBACK_PENDING = "callback_pending"  # 待回访: reply accepted
    UNSATISFIED = "unsatisfied"  # 回访不满意: re-open (复核) or close
    COMPLETED = "completed"  # 已办结: archived 24 h later unless a new reply comes
    ARCHIVED = "archived"  # 已归档
    CANCELLED = "cancelled"  # 已销单
    MERGED = "merged"  # 已并单: a duplicate, closed into the open order it repeats


STATE_LABELS = {
    State.SUBMITTED: "待派单",
    State.DISPATCHED: "待签收",
    State.HANDLING: "办理中",
    State.RETURN_PENDING: "退单待审",
    State.REPLIED: "办结待审",
    State.CALLBACK_PENDING: "待回访",
    State.UNSATISFIED: "回访不满意",
    State.COMPLETED: "已办结",
    State.ARCHIVED: "已归档",
    State.CANCELLED: "已销单",
    State.MERGED: "已并单",
}

OPEN_STATES = frozenset(
    {
        State.SUBMITTED,
        State.DISPATCHED,
        State.HANDLING,
        State.RETURN_PENDING,
        State.REPLIED,
        State.CALLBACK_PENDING,
        State.UNSATISFIED,
    }
)
# States in which the order is with a handling unit (its handling deadline runs).
WITH_UNIT_STATES = frozenset({State.DISPATCHED, State.HANDLING, State.RETURN_PENDING})


class BranchState(StrEnum):
    PENDING_SIGN = "pending_sign"  # 待签收
    SIGNED = "signed"  # 办理中
    RETURN_PENDING = "return_pending"  # 退单待审
    REPLIED = "replied"  # 已答复
    WITHDRAWN = "withdrawn"  # 已撤回 (return accepted, or re-dispatched elsewhere)


BRANCH_LABELS = {
    BranchState.PENDING_SIGN: "待签收",
    BranchState.SIGNED: "办理中",
    BranchState.RETURN_PENDING: "退单待审",
    BranchState.REPLIED: "已答复",
    BranchState.WITHDRAWN: "已撤回",
}
ACTIVE_BRANCH_STATES = frozenset(
    {BranchState.PENDING_SIGN, BranchState.SIGNED, BranchState.RETURN_PENDING}
)


class Side(StrEnum):
    """Who acts: the hotline platform's staff, or the handling unit holding a branch."""

    PLATFORM = "platform"
    UNIT = "unit"


SATISFACTION = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")  # 好差评, five levels
SATISFIED = frozenset(SATISFACTION[:3])


@dataclass(frozen=True)
class Action:
    code: str  # the API's action name
    label: str  # Chinese verb
    side: Side
    permission: str
    # Every (from, to) move the verb may make; which one happens depends on the input
    # (approved or not, satisfied or not) and on the branches (lead or co-unit).
    edges: frozenset[tuple[State, State]]
    fields: tuple[str, ...] = ()  # required input

    @property
    def sources(self) -> frozenset[State]:
        return frozenset(source for source, _ in self.edges)


S = State


def _moves(*pairs: tuple[State, State]) -> frozenset[tuple[State, State]]:
    return frozenset(pairs)


def _stays(*states: State) -> frozenset[tuple[State, State]]:
    """Verbs that record something but leave the order where it is."""
    return frozenset((state, state) for state in states)


_AT_UNIT = (S.DISPATCHED, S.HANDLING, S.RETURN_PENDING)

ACTIONS: dict[str, Action] = {
    a.code: a
    for a in [
        Action(
            "dispatch",
            "派单",
            Side.PLATFORM,
            "workorders.dispatch",
            _moves((S.SUBMITTED, S.DISPATCHED)),
            fields=("unit",),
        ),
        # the lead's signature starts handling; a co-unit's leaves the order as it is
        Action(
            "sign",
            "签收",
            Side.UNIT,
            "workorders.handle",
            _moves((S.DISPATCHED, S.HANDLING)) | _stays(S.DISPATCHED, S.HANDLING),
        ),
        # the lead's return waits for review; a co-unit's only marks its branch
        Action(
            "return",
            "退单",
            Side.UNIT,
            "workorders.handle",
            _moves((S.DISPATCHED, S.RETURN_PENDING), (S.HANDLING, S.RETURN_PENDING))
            | _stays(S.DISPATCHED, S.HANDLING),
            fields=("reason",),
        ),
        # reasonable lead return → back to dispatch; unreasonable → back to the unit
        Action(
            "review-return",
            "退单审核",
            Side.PLATFORM,
            "workorders.review",
            _moves(
                (S.RETURN_PENDING, S.SUBMITTED),
                (S.RETURN_PENDING, S.DISPATCHED),
                (S.RETURN_PENDING, S.HANDLING),
            )
            | _stays(*_AT_UNIT),
            fields=("approved",),
        ),
        Action(
            "request-extension",
            "申请延期",
            Side.UNIT,
            "workorders.handle",
            _stays(S.DISPATCHED, S.HANDLING),
            fields=("days", "reason"),
        ),
        Action(
            "review-extension",
            "延期审核",
            Side.PLATFORM,
            "workorders.review",
            _stays(S.DISPATCHED, S.HANDLING),
            fields=("approved",),
        ),
        # co-units answer on their own; the lead's answer (after all of them) closes it
        Action(
            "reply",
            "办结反馈",
            Side.UNIT,
            "workorders.handle",
            _moves((S.HANDLING, S.REPLIED)) | _stays(S.DISPATCHED, S.HANDLING),
            fields=("content",),
        ),
        Action(
            "review-reply",
            "办结审核",
            Side.PLATFORM,
            "workorders.review",
            _moves((S.REPLIED, S.CALLBACK_PENDING), (S.REPLIED, S.HANDLING)),
            fields=("approved",),
        ),
        Action(
            "callback",
            "回访",
            Side.PLATFORM,
            "workorders.callback",
            _moves((S.CALLBACK_PENDING, S.COMPLETED), (S.CALLBACK_PENDING, S.UNSATISFIED)),
            fields=("satisfaction",),
        ),
        Action(
            "reopen",
            "复核重办",
            Side.PLATFORM,
            "workorders.review",
            _moves((S.UNSATISFIED, S.DISPATCHED)),
        ),
        Action(
            "close",
            "结案",
            Side.PLATFORM,
            "workorders.review",
            _moves((S.UNSATISFIED, S.COMPLETED)),
            fields=("reason",),
        ),
        Action("urge", "催办", Side.PLATFORM, "workorders.urge", _stays(*_AT_UNIT)),
        Action("supervise", "督办", Side.PLATFORM, "workorders.supervise", _stays(*_AT_UNIT)),
        Action("escalate", "主管处理", Side.PLATFORM, "workorders.create", _stays(*OPEN_STATES)),
        Action(
            "redispatch",
            "改派",
            Side.PLATFORM,
            "workorders.dispatch",
            frozenset((source, S.DISPATCHED) for source in _AT_UNIT),
            fields=("unit",),
        ),
        Action(
            "cancel",
            "销单",
            Side.PLATFORM,
            "workorders.cancel",
            frozenset((source, S.CANCELLED) for source in (S.SUBMITTED, *_AT_UNIT)),
            fields=("reason",),
        ),
        Action(
            "archive", "归档", Side.PLATFORM, "workorders.review", _moves((S.COMPLETED, S.ARCHIVED))
        ),
        # a duplicate of an open order (the same caller, the same matter) closes into it;
        # the master records the absorbed order on its own timeline
        Action(
            "merge",
            "并单",
            Side.PLATFORM,
            "workorders.merge",
            frozenset((source, S.MERGED) for source in (S.SUBMITTED, *_AT_UNIT)),
            fields=("into",),
        ),
    ]
}


def possible_targets(action: Action, source: State | None = None) -> tuple[State, ...]:
    """Where ``action`` may take an order (from ``source``, or from anywhere)."""
    return tuple(sorted({to for frm, to in action.edges if source is None or frm == source}))


def transitions() -> list[tuple[State, str, State]]:
    """Every (from, action, to) edge the table allows — for the diagram and the tests."""
    return sorted((frm, action.code, to) for action in ACTIONS.values() for frm, to in action.edges)


def check_declarations() -> None:
    for action in ACTIONS.values():
        assert action.edges, action.code
    assert set(STATE_LABELS) == set(State)
    assert set(BRANCH_LABELS) == set(BranchState)
