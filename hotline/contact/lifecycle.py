"""The contact center's state machines, declared once (R-VOICE-2, R-MM-3, R-MM-5).

Code (``services`` and ``acd`` move a row only through :func:`agent_move` and
:func:`session_move`), the docs and the tests (hypothesis drives random event sequences
against these tables) all read this module.

**Agent state has three layers** (FreeSWITCH status vs. state, Wazo per-queue membership):

* what the agent *chose* — :class:`Presence`: 签出 / 示闲 / 示忙 with a reason (小休, 会议 …);
* what the *system* is doing with the agent — :class:`Activity`: 空闲, 分配中 (an offer
  waits to be accepted), 会话中, 整理 (wrap-up, shared across every queue);
* per-queue membership — the agent's skills (``core.UserSkill``) against a queue's skill.

"Available" is computed from the first two layers and the agent's capacity, never stored
(:func:`is_available`).

A **session** (会话) is one contact of a citizen on one channel: a call or a chat. It is
queued, offered to an agent, answered, wrapped up and closed — or abandoned by the
citizen, or closed by the system (refused, timed out). A transfer is a *move* of the same
session (its history and summaries stay with it): back to a queue or to another agent.
"""

from dataclasses import dataclass
from enum import StrEnum

from hotline.core.errors import Conflict

# --- agent: layer 1, what the agent chose ----------------------------------------------------


class Presence(StrEnum):
    SIGNED_OUT = "signed_out"  # 签出
    READY = "ready"  # 示闲
    NOT_READY = "not_ready"  # 示忙 (with a reason)


PRESENCE_LABELS = {
    Presence.SIGNED_OUT: "签出",
    Presence.READY: "示闲",
    Presence.NOT_READY: "示忙",
}

# Reasons of 示忙: chosen by the agent, or set by the system / the leader.
NOT_READY_REASONS = {
    "busy": "示忙",
    "break": "小休",
    "meal": "用餐",
    "meeting": "会议",
    "training": "培训",
    "after_session": "服务后自动示忙",
    "no_answer": "未应答自动示忙",
    "forced": "班长强制示忙",
}
AGENT_CHOSEN_REASONS = ("busy", "break", "meal", "meeting", "training")


# --- agent: layer 2, what the system is doing -------------------------------------------------


class Activity(StrEnum):
    IDLE = "idle"  # 空闲: no session, no offer
    OFFERING = "offering"  # 分配中: an offer waits for the agent to accept it
    IN_SESSION = "in_session"  # 会话中
    WRAP_UP = "wrap_up"  # 整理: the last session ended; writing the 会话小结


ACTIVITY_LABELS = {
    Activity.IDLE: "空闲",
    Activity.OFFERING: "分配中",
    Activity.IN_SESSION: "会话中",
    Activity.WRAP_UP: "整理",
}


@dataclass(frozen=True)
class AgentMove:
    """One event on an agent. ``presence``/``activity``: the sources it is allowed from
    (None = any); ``to_presence``/``to_activity``: where it goes (None = unchanged)."""

    code: str
    label: str
    by: str  # "agent" (a person's choice) or "system"
    presence: frozenset | None
    activity: frozenset | None
    to_presence: Presence | None = None
    to_activity: Activity | None = None


P, A = Presence, Activity
_SIGNED_IN = frozenset({P.READY, P.NOT_READY})
_HAS_WORK = frozenset({A.OFFERING, A.IN_SESSION})

AGENT_MOVES: dict[str, AgentMove] = {
    m.code: m
    for m in [
        # the agent's (or a leader's) choices
        AgentMove(
            "sign_in_ready",
            "签入并示闲",
            "agent",
            frozenset({P.SIGNED_OUT}),
            frozenset({A.IDLE}),
            P.READY,
        ),
        AgentMove(
            "sign_in_not_ready",
            "签入并示忙",
            "agent",
            frozenset({P.SIGNED_OUT}),
            frozenset({A.IDLE}),
            P.NOT_READY,
        ),
        # 示闲 also ends wrap-up: "直到话务员手动点击示闲"
        AgentMove("ready", "示闲", "agent", _SIGNED_IN, None, P.READY),
        AgentMove("not_ready", "示忙", "agent", _SIGNED_IN, None, P.NOT_READY),
        # signing out with a session or an offer open would strand the citizen
        AgentMove(
            "sign_out",
            "签出",
            "agent",
            _SIGNED_IN,
            frozenset({A.IDLE, A.WRAP_UP}),
            P.SIGNED_OUT,
            A.IDLE,
        ),
        # the system's moves
        AgentMove(
            "offer",
            "分配会话",
            "system",
            frozenset({P.READY}),
            frozenset({A.IDLE, A.OFFERING}),
            None,
            A.OFFERING,
        ),
        # a text agent already in a chat is offered one more: still 会话中
        AgentMove(
            "offer_more",
            "追加分配",
            "system",
            frozenset({P.READY}),
            frozenset({A.IN_SESSION}),
            None,
            A.IN_SESSION,
        ),
        AgentMove(
            "assign",
            "接入会话",
            "system",
            frozenset({P.READY}),
            frozenset({A.IDLE, A.OFFERING, A.IN_SESSION}),
            None,
            A.IN_SESSION,
        ),
        AgentMove("accept", "接起会话", "system", _SIGNED_IN, _HAS_WORK, None, A.IN_SESSION),
        # a transfer to a named agent or to the leader ignores 示忙 (the leader takes it)
        AgentMove(
            "transfer_in",
            "转入会话",
            "system",
            _SIGNED_IN,
            frozenset({A.IDLE, A.OFFERING, A.IN_SESSION, A.WRAP_UP}),
            None,
            A.IN_SESSION,
        ),
        # one of several sessions ended: what is left decides (acd.settle_agent)
        AgentMove(
            "still_in_session", "继续会话", "system", _SIGNED_IN, _HAS_WORK, None, A.IN_SESSION
        ),
        AgentMove("still_offering", "等待接起", "system", _SIGNED_IN, _HAS_WORK, None, A.OFFERING),
        AgentMove(
            "offer_lost", "分配取消", "system", _SIGNED_IN, frozenset({A.OFFERING}), None, A.IDLE
        ),
        AgentMove("session_done", "会话结束", "system", _SIGNED_IN, _HAS_WORK, None, A.IDLE),
        AgentMove("wrap_up", "进入整理", "system", _SIGNED_IN, _HAS_WORK, None, A.WRAP_UP),
        AgentMove(
            "wrap_up_done", "整理结束", "system", _SIGNED_IN, frozenset({A.WRAP_UP}), None, A.IDLE
        ),
        AgentMove("auto_not_ready", "自动示忙", "system", frozenset({P.READY}), None, P.NOT_READY),
    ]
}


def agent_move(presence: str, activity: str, event: str) -> tuple[Presence, Activity]:
    """Where ``event`` takes an agent in (``presence``, ``activity``); ``Conflict`` when the
    table does not allow it from there."""
    move = AGENT_MOVES.get(event)
    if move is None:
        raise Conflict(f"未知的坐席操作：{event}")
    presence, activity = Presence(presence), Activity(activity)
    if (move.presence is not None and presence not in move.presence) or (
        move.activity is not None and activity not in move.activity
    ):
        raise Conflict(
            f"坐席当前为“{PRESENCE_LABELS[presence]}·{ACTIVITY_LABELS[activity]}”，不能{move.label}"
        )
    return move.to_presence or presence, move.to_activity or activity


def is_available(presence: str, activity: str) -> bool:
    """May new work be offered (capacity aside)? 示闲 and not in wrap-up."""
    return presence == Presence.READY and activity != Activity.WRAP_UP


def agent_state_label(presence: str, activity: str, reason: str = "") -> str:
    """What a person sees: 签出, 示闲, 小休, 会话中, 整理 …"""
    if presence == Presence.SIGNED_OUT:
        return PRESENCE_LABELS[Presence.SIGNED_OUT]
    if activity != Activity.IDLE:
        return ACTIVITY_LABELS[Activity(activity)]
    if presence == Presence.NOT_READY:
        return NOT_READY_REASONS.get(reason, PRESENCE_LABELS[Presence.NOT_READY])
    return PRESENCE_LABELS[Presence.READY]


# --- sessions -------------------------------------------------------------------------------------


class SessionState(StrEnum):
    NEW = "new"  # 新建: arrived, not yet placed
    QUEUED = "queued"  # 排队中
    OFFERED = "offered"  # 分配中: given to an agent who has not accepted yet
    ACTIVE = "active"  # 会话中
    WRAP_UP = "wrap_up"  # 整理中: ended, the agent writes the 会话小结
    CLOSED = "closed"  # 已结束
    ABANDONED = "abandoned"  # 已放弃: the citizen left before an agent answered
    TIMED_OUT = "timed_out"  # 超时关闭: closed by the system (refused, no agent, idle)


SESSION_STATE_LABELS = {
    SessionState.NEW: "新建",
    SessionState.QUEUED: "排队中",
    SessionState.OFFERED: "分配中",
    SessionState.ACTIVE: "会话中",
    SessionState.WRAP_UP: "整理中",
    SessionState.CLOSED: "已结束",
    SessionState.ABANDONED: "已放弃",
    SessionState.TIMED_OUT: "超时关闭",
}
OPEN_SESSION_STATES = frozenset(
    {
        SessionState.NEW,
        SessionState.QUEUED,
        SessionState.OFFERED,
        SessionState.ACTIVE,
        SessionState.WRAP_UP,
    }
)
# A citizen's new message joins a session in these states (sticky routing, R-MM-3).
STICKY_STATES = frozenset(
    {SessionState.QUEUED, SessionState.OFFERED, SessionState.ACTIVE, SessionState.WRAP_UP}
)
# States in which the session holds one of an agent's places (capacity).
WITH_AGENT_STATES = frozenset({SessionState.OFFERED, SessionState.ACTIVE})


@dataclass(frozen=True)
class SessionMove:
    code: str
    label: str
    edges: frozenset  # {(from, to)}

    @property
    def sources(self) -> frozenset:
        return frozenset(frm for frm, _ in self.edges)


S = SessionState


def _e(*pairs) -> frozenset:
    return frozenset(pairs)


SESSION_MOVES: dict[str, SessionMove] = {
    m.code: m
    for m in [
        SessionMove("enqueue", "进入排队", _e((S.NEW, S.QUEUED))),
        # blacklist, queue full, out of hours: a polite message and the end
        SessionMove("refuse", "拒绝接入", _e((S.NEW, S.CLOSED))),
        SessionMove("overflow", "溢出转队", _e((S.QUEUED, S.QUEUED))),
        SessionMove("offer", "分配坐席", _e((S.QUEUED, S.OFFERED))),
        # auto-accept: offered and answered in one step
        SessionMove("assign", "接入坐席", _e((S.QUEUED, S.ACTIVE))),
        SessionMove("accept", "坐席接起", _e((S.OFFERED, S.ACTIVE))),
        # an offer not accepted in time (or declined) goes back to its place in the queue
        SessionMove("requeue", "重新排队", _e((S.OFFERED, S.QUEUED))),
        SessionMove(
            "abandon",
            "来电人放弃",
            _e((S.NEW, S.ABANDONED), (S.QUEUED, S.ABANDONED), (S.OFFERED, S.ABANDONED)),
        ),
        SessionMove("time_out", "超时关闭", _e((S.QUEUED, S.TIMED_OUT))),
        SessionMove("end", "结束会话", _e((S.ACTIVE, S.WRAP_UP))),
        SessionMove("close", "完成小结", _e((S.WRAP_UP, S.CLOSED))),
        SessionMove("transfer_queue", "转接队列", _e((S.ACTIVE, S.QUEUED))),
        SessionMove("transfer_agent", "转接坐席", _e((S.ACTIVE, S.ACTIVE))),
    ]
}
TERMINAL_SESSION_STATES = frozenset(S) - frozenset(
    frm for move in SESSION_MOVES.values() for frm, _ in move.edges
)


def session_move(state: str, event: str) -> SessionState:
    """Where ``event`` takes a session in ``state``; ``Conflict`` when not allowed."""
    move = SESSION_MOVES.get(event)
    if move is None:
        raise Conflict(f"未知的会话操作：{event}")
    state = SessionState(state)
    for frm, to in move.edges:
        if frm == state:
            return to
    raise Conflict(f"会话当前为“{SESSION_STATE_LABELS[state]}”，不能{move.label}")


# --- outbound delivery of a message (one connector protocol, wazo-chatd) ---------------------


class Delivery(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETRYING = "retrying"
    DEAD = "dead"


DELIVERY_LABELS = {
    Delivery.PENDING: "待发送",
    Delivery.SENT: "已发送",
    Delivery.DELIVERED: "已送达",
    Delivery.FAILED: "发送失败",
    Delivery.RETRYING: "重试中",
    Delivery.DEAD: "放弃重试",
}
DELIVERY_EDGES = frozenset(
    {
        (Delivery.PENDING, Delivery.SENT),
        (Delivery.PENDING, Delivery.FAILED),
        (Delivery.SENT, Delivery.DELIVERED),
        (Delivery.SENT, Delivery.FAILED),
        (Delivery.FAILED, Delivery.RETRYING),
        (Delivery.FAILED, Delivery.DEAD),
        (Delivery.RETRYING, Delivery.SENT),
        (Delivery.RETRYING, Delivery.FAILED),
        # 重新投递: the supervisor sends a dead letter again once its peer is back
        (Delivery.DEAD, Delivery.RETRYING),
    }
)


def delivery_move(current: str, target: str) -> Delivery:
    current, target = Delivery(current), Delivery(target)
    if (current, target) not in DELIVERY_EDGES:
        raise Conflict(
            f"消息状态为“{DELIVERY_LABELS[current]}”，不能改为“{DELIVERY_LABELS[target]}”"
        )
    return target


def check_declarations() -> None:
    assert set(PRESENCE_LABELS) == set(Presence)
    assert set(ACTIVITY_LABELS) == set(Activity)
    assert set(SESSION_STATE_LABELS) == set(SessionState)
    assert set(DELIVERY_LABELS) == set(Delivery)
    assert set(AGENT_CHOSEN_REASONS) <= set(NOT_READY_REASONS)
    assert {S.CLOSED, S.ABANDONED, S.TIMED_OUT} == TERMINAL_SESSION_STATES
    assert frozenset(S) - TERMINAL_SESSION_STATES == OPEN_SESSION_STATES
