"""Reads of the contact center, shaped for the workbench, the supervisor seat and the
citizen's 排队通报."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, Q
from django.utils import timezone

from .lifecycle import Activity, Presence, SessionState, agent_state_label
from .models import (
    AgentPresence,
    AgentStateInterval,
    ContactFact,
    FactKind,
    Queue,
    QueueEntry,
    Session,
)

RECENT = dt.timedelta(minutes=30)  # the window expected waits are estimated from


def day_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Position:
    position: int  # 1 = next
    waiting: int  # in the queue
    expected_wait: int | None  # seconds, None when there is nothing to estimate from

    @property
    def announcement(self) -> str:
        """排队通报 as the citizen hears or reads it."""
        text = f"您前面还有 {self.position - 1} 位，"
        if self.expected_wait is None:
            return text + "请耐心等待。"
        minutes = max(1, round(self.expected_wait / 60))
        return text + f"预计等待约 {minutes} 分钟。"


def queue_position(session: Session, now: dt.datetime | None = None) -> Position | None:
    """Where a waiting contact stands and how long it may wait: entries ranked before it
    (their effective wait is longer), and the expected wait from the queue's recent
    answered contacts (throughput over the last half hour; else their average wait)."""
    now = now or timezone.now()
    entry = QueueEntry.objects.filter(session=session, claimed_by__isnull=True).first()
    if entry is None:
        return None
    ahead = (
        QueueEntry.objects.filter(queue_id=entry.queue_id, claimed_by__isnull=True)
        .filter(Q(rank_at__lt=entry.rank_at) | Q(rank_at=entry.rank_at, pk__lt=entry.pk))
        .count()
    )
    waiting = QueueEntry.objects.filter(queue_id=entry.queue_id, claimed_by__isnull=True).count()
    return Position(ahead + 1, waiting, expected_wait(entry.queue_id, ahead + 1, now))


def expected_wait(queue_id: int, position: int, now: dt.datetime) -> int | None:
    recent = ContactFact.objects.filter(
        queue_id=queue_id, kind=FactKind.ANSWERED, at__gte=now - RECENT, at__lte=now
    ).aggregate(n=Count("pk"), avg=Avg("wait_seconds"))
    if not recent["n"]:
        return None
    per_second = recent["n"] / RECENT.total_seconds()
    by_rate = position / per_second
    # the average recent wait bounds it: a burst of answers must not promise zero
    return int(max(by_rate if recent["n"] >= 3 else 0, recent["avg"] or 0))


def queue_figures(queue: Queue, now: dt.datetime | None = None) -> dict:
    """A queue's live figures for the wall, the supervisor and the agent's queue counts."""
    now = now or timezone.now()
    waiting = QueueEntry.objects.filter(queue=queue, claimed_by__isnull=True)
    oldest = waiting.order_by("first_entered_at").values_list("first_entered_at", flat=True).first()
    members = _members(queue)
    facts = ContactFact.objects.filter(queue_id=queue.pk, at__gte=day_start(now), at__lte=now)
    today = dict(facts.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    answered_waits = facts.filter(kind=FactKind.ANSWERED).aggregate(avg=Avg("wait_seconds"))
    return {
        "queue": queue.pk,
        "name": queue.name,
        "waiting": waiting.count(),
        "longest_wait": int((now - oldest).total_seconds()) if oldest else 0,
        "agents_signed_in": members.exclude(presence=Presence.SIGNED_OUT).count(),
        "agents_ready": members.filter(presence=Presence.READY, activity=Activity.IDLE).count(),
        "agents_not_ready": members.filter(presence=Presence.NOT_READY).count(),
        "agents_in_session": members.filter(
            activity__in=[Activity.IN_SESSION, Activity.OFFERING]
        ).count(),
        "agents_wrap_up": members.filter(activity=Activity.WRAP_UP).count(),
        "offered_today": today.get(FactKind.OFFERED, 0),
        "answered_today": today.get(FactKind.ANSWERED, 0),
        "abandoned_today": today.get(FactKind.ABANDONED, 0),
        "refused_today": today.get(FactKind.REFUSED, 0),
        "average_answer_wait": round(answered_waits["avg"] or 0, 1),
    }


def _members(queue: Queue):
    qs = AgentPresence.objects.filter(platform_id=queue.platform_id)
    if queue.skill_id:
        qs = qs.filter(agent__userskill__skill_id=queue.skill_id)
    return qs


def agent_today(agent, now: dt.datetime | None = None) -> dict:
    """An agent's own figures today (工作量): sessions answered, talk time, time in each
    state (from the stored intervals), and the state now with its duration."""
    now = now or timezone.now()
    start = day_start(now)
    facts = ContactFact.objects.filter(agent_id=agent.pk, at__gte=start, at__lte=now)
    answered = facts.filter(kind=FactKind.ANSWERED).count()
    ended = facts.filter(kind=FactKind.ENDED)
    talk = sum((f.detail or {}).get("talk") or 0 for f in ended)
    seconds = {"ready": 0.0, "not_ready": 0.0, "in_session": 0.0, "wrap_up": 0.0}
    intervals = AgentStateInterval.objects.filter(agent_id=agent.pk).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start), started_at__lt=now
    )
    for interval in intervals:
        begin = max(interval.started_at, start)
        finish = min(interval.ended_at or now, now)
        length = max(0.0, (finish - begin).total_seconds())
        if interval.presence == Presence.SIGNED_OUT:
            continue
        if interval.activity in (Activity.IN_SESSION, Activity.OFFERING):
            seconds["in_session"] += length
        elif interval.activity == Activity.WRAP_UP:
            seconds["wrap_up"] += length
        elif interval.presence == Presence.READY:
            seconds["ready"] += length
        else:
            seconds["not_ready"] += length
    signed_in = sum(seconds.values())
    presence = AgentPresence.objects.filter(agent=agent).first()
    return {
        "answered": answered,
        "ended": ended.count(),
        "talk_seconds": round(talk),
        "seconds": {k: round(v) for k, v in seconds.items()},
        "signed_in_seconds": round(signed_in),
        # 工时利用率: time with work (sessions, wrap-up) over signed-in time
        "utilisation": round((seconds["in_session"] + seconds["wrap_up"]) / signed_in, 3)
        if signed_in
        else 0.0,
        "state": agent_state_label(presence.presence, presence.activity, presence.reason)
        if presence
        else "签出",
        "state_seconds": int((now - presence.since).total_seconds()) if presence else 0,
        "open_sessions": Session.objects.filter(
            agent=agent, state__in=[SessionState.OFFERED, SessionState.ACTIVE, SessionState.WRAP_UP]
        ).count(),
    }


def session_history(session: Session) -> dict:
    """What the next agent sees after a transfer: every message and every leg's summary."""
    return {
        "messages": list(session.messages.order_by("at", "pk")),
        "legs": list(session.legs.select_related("agent").order_by("pk")),
    }


def citizen_history(profile) -> dict:
    """Screen pop: the profile's past contacts and their orders (by ``session_ref``)."""
    from hotline.workorders.models import WorkOrder

    sessions = list(Session.objects.filter(citizen=profile).order_by("-created_at")[:50])
    refs = [s.ref for s in sessions]
    orders = list(WorkOrder.objects.filter(session_ref__in=refs).order_by("-pk")[:50])
    return {"sessions": sessions, "orders": orders}
