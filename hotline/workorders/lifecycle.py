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
    sources: frozenset[State]
    # The state the order moves to, when the action alone decides it; None when the
    # outcome depends on input (approved or not, satisfied or not) or on other branches.
    target: State | None = None
    outcomes: tuple[State, ...] = ()  # the possible targets when target is None
    fields: tuple[str, ...] = ()  # required input


def _states(*states: State) -> frozenset[State]:
    return frozenset(states)


ACTIONS: dict[str, Action] = {
    a.code: a
    for a in [
        Action(
            "dispatch",
            "派单",
            Side.PLATFORM,
            "workorders.dispatch",
            _states(State.SUBMITTED),
            State.DISPATCHED,
            fields=("unit",),
        ),
        Action(
            "sign",
            "签收",
            Side.UNIT,
            "workorders.handle",
            _states(State.DISPATCHED, State.HANDLING),
            outcomes=(State.DISPATCHED, State.HANDLING),
        ),
        Action(
            "return",
            "退单",
            Side.UNIT,
            "workorders.handle",
            _states(State.DISPATCHED, State.HANDLING),
            outcomes=(State.DISPATCHED, State.HANDLING, State.RETURN_PENDING),
            fields=("reason",),
        ),
        Action(
            "review-return",
            "退单审核",
            Side.PLATFORM,
            "workorders.review",
            _states(State.DISPATCHED, State.HANDLING, State.RETURN_PENDING),
            outcomes=(State.SUBMITTED, State.DISPATCHED, State.HANDLING),
            fields=("approved",),
        ),
        Action(
            "request-extension",
            "申请延期",
            Side.UNIT,
            "workorders.handle",
            _states(State.DISPATCHED, State.HANDLING),
            outcomes=(State.DISPATCHED, State.HANDLING),
            fields=("days", "reason"),
        ),
        Action(
            "review-extension",
            "延期审核",
            Side.PLATFORM,
            "workorders.review",
            _states(State.DISPATCHED, State.HANDLING),
            outcomes=(State.DISPATCHED, State.HANDLING),
            fields=("approved",),
        ),
        Action(
            "reply",
            "办结反馈",
            Side.UNIT,
            "workorders.handle",
            _states(State.HANDLING),
            outcomes=(State.HANDLING, State.REPLIED),
            fields=("content",),
        ),
        Action(
            "review-reply",
            "办结审核",
            Side.PLATFORM,
            "workorders.review",
            _states(State.REPLIED),
            outcomes=(State.CALLBACK_PENDING, State.HANDLING),
            fields=("approved",),
        ),
        Action(
            "callback",
            "回访",
            Side.PLATFORM,
            "workorders.callback",
            _states(State.CALLBACK_PENDING),
            outcomes=(State.COMPLETED, State.UNSATISFIED),
            fields=("satisfaction",),
        ),
        Action(
            "reopen",
            "复核重办",
            Side.PLATFORM,
            "workorders.review",
            _states(State.UNSATISFIED),
            State.DISPATCHED,
        ),
        Action(
            "close",
            "结案",
            Side.PLATFORM,
            "workorders.review",
            _states(State.UNSATISFIED),
            State.COMPLETED,
            fields=("reason",),
        ),
        Action(
            "urge",
            "催办",
            Side.PLATFORM,
            "workorders.supervise",
            _states(State.DISPATCHED, State.HANDLING, State.RETURN_PENDING),
        ),
        Action(
            "supervise",
            "督办",
            Side.PLATFORM,
            "workorders.supervise",
            _states(State.DISPATCHED, State.HANDLING, State.RETURN_PENDING),
        ),
        Action("escalate", "主管处理", Side.PLATFORM, "workorders.create", frozenset(OPEN_STATES)),
        Action(
            "redispatch",
            "改派",
            Side.PLATFORM,
            "workorders.dispatch",
            _states(State.DISPATCHED, State.HANDLING, State.RETURN_PENDING),
            State.DISPATCHED,
            fields=("unit",),
        ),
        Action(
            "cancel",
            "销单",
            Side.PLATFORM,
            "workorders.cancel",
            _states(State.SUBMITTED, State.DISPATCHED, State.HANDLING, State.RETURN_PENDING),
            State.CANCELLED,
            fields=("reason",),
        ),
        Action(
            "archive",
            "归档",
            Side.PLATFORM,
            "workorders.review",
            _states(State.COMPLETED),
            State.ARCHIVED,
        ),
    ]
}

# Actions that leave the order's state as it is (they record an event and a counter).
NOTE_ACTIONS = frozenset({"urge", "supervise", "escalate"})


def possible_targets(action: Action) -> tuple[State, ...]:
    if action.code in NOTE_ACTIONS:
        return tuple(sorted(action.sources))
    return (action.target,) if action.target else action.outcomes


def transitions() -> list[tuple[State, str, State]]:
    """Every (from, action, to) edge the table allows — for the diagram and the tests."""
    edges = []
    for action in ACTIONS.values():
        for source in sorted(action.sources):
            for target in possible_targets(action):
                if action.code in NOTE_ACTIONS and target != source:
                    continue
                edges.append((source, action.code, target))
    return edges


def check_declarations() -> None:
    for action in ACTIONS.values():
        assert action.sources, action.code
        assert (action.target is None) != (not action.outcomes) or action.code in NOTE_ACTIONS, (
            action.code
        )
    assert set(STATE_LABELS) == set(State)
    assert set(BRANCH_LABELS) == set(BranchState)
