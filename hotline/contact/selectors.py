"""Reads of the contact center, shaped for the workbench, the supervisor seat and the
citizen's 排队通报."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, Q
from django.utils import timezone

from hotline.telephony import selectors as telephony

from .lifecycle import Activity, Presence, SessionState, agent_state_label
from .models import (
    PHONE_CHANNELS,
    AgentPresence,
    AgentStateInterval,
    ContactFact,
    FactKind,
    Message,
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
    """What the next agent sees after a transfer: every message, every leg's summary and
    the call's recordings."""
    return {
        "messages": list(session.messages.order_by("at", "pk")),
        "legs": list(session.legs.select_related("agent").order_by("pk")),
        "recordings": list(session.recordings.select_related("agent").order_by("started_at")),
    }


def citizen_history(profile, viewer=None) -> dict:
    """Screen pop: the profile's past contacts, the orders made from them (by
    ``session_ref``) or under one of its phone numbers, and which of those are still in
    transit (在途工单). ``viewer`` limits orders to what that person may see."""
    from django.db.models import Q as _Q

    from hotline.workorders.lifecycle import OPEN_STATES
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.selectors import orders_visible

    sessions = list(Session.objects.filter(citizen=profile).order_by("-created_at")[:50])
    refs = [s.ref for s in sessions]
    phones = [i.value for i in profile.identities.all() if i.kind == "phone"]
    orders = WorkOrder.objects.filter(_Q(session_ref__in=refs) | _Q(caller_phone__in=phones))
    if viewer is not None:
        orders = orders.filter(pk__in=orders_visible(viewer).values("pk"))
    orders = list(orders.order_by("-pk")[:50])
    return {
        "sessions": sessions,
        "orders": orders,
        "in_transit": [o for o in orders if o.state in OPEN_STATES],
    }


def profile_of(platform, channel: str, address: str):
    """The citizen profile known by this address on this channel (a merged profile leads
    to the one it went into), or None for a citizen never seen."""
    from .models import CHANNEL_IDENTITY, CitizenIdentity

    if not address:
        return None
    identity = (
        CitizenIdentity.objects.select_related("profile")
        .filter(platform=platform, kind=CHANNEL_IDENTITY[channel], value=address)
        .first()
    )
    if identity is None:
        return None
    profile = identity.profile
    while profile.merged_into_id:
        profile = profile.merged_into
    return profile


def webchat_entry(platform: str, code: str):
    """The active web-chat entry ``<platform>/<code>`` of an active platform, or None."""
    return active_entry(platform, code, channel="webchat")


def active_entry(platform: str, code: str, *, channel: str | None = None):
    """The active channel entry ``<platform>/<code>`` of an active platform (of
    ``channel``, when given), or None."""
    from .models import ChannelEntry

    entries = ChannelEntry.objects.select_related("platform", "queue").filter(
        platform__code=platform, platform__is_active=True, code=code, is_active=True
    )
    if channel is not None:
        entries = entries.filter(channel=channel)
    return entries.first()


def polled_entries():
    """Active entries of active platforms whose connector fetches its messages (mailboxes)."""
    from . import connectors
    from .models import ChannelEntry

    channels = [c.channel for c in connectors.REGISTRY.values() if c.polls]
    return ChannelEntry.objects.select_related("platform", "queue").filter(
        channel__in=channels, is_active=True, platform__is_active=True
    )


RECENT_CHAT = dt.timedelta(hours=2)  # an ended chat still shown (and ratable) on return


def webchat_session(entry, visitor: str, now: dt.datetime | None = None) -> Session | None:
    """The web-chat visitor's current session: its open one, or the last one if it ended
    within :data:`RECENT_CHAT` (the page still shows it, and asks for the rating)."""
    now = now or timezone.now()
    session = (
        Session.objects.select_related("agent")
        .filter(platform_id=entry.platform_id, channel=entry.channel, address=visitor)
        .order_by("-pk")
        .first()
    )
    if session is None:
        return None
    finished = session.closed_at or session.ended_at
    if (
        finished is not None
        and session.state != SessionState.WRAP_UP
        and now - finished > RECENT_CHAT
    ):
        return None
    return session


def session_messages(session: Session, *, after: int = 0, limit: int = 500) -> list:
    """A session's messages in order (``after``: only those with a greater id)."""
    qs = session.messages.select_related("sender").order_by("at", "pk")
    if after:
        qs = qs.filter(pk__gt=after)
    return list(qs[:limit])


# --- the workbench (坐席工作台) ---------------------------------------------------------------


def session_for(user, session_id: int) -> Session:
    """A session the user may open: its own, or any of the platform for a supervisor."""
    from hotline.core.errors import NotFound

    session = (
        Session.objects.select_related("agent", "queue", "citizen")
        .filter(pk=session_id, platform_id=user.platform_id)
        .first()
    )
    if session is None or not (
        session.agent_id == user.pk
        or user.can("contact.supervise")
        or (session.needs_callback and user.can("contact.handle"))  # 回拨任务: any agent
        or session.callback_by_id == user.pk
        or session.legs.filter(agent_id=user.pk).exists()
        or session.participants.filter(user_id=user.pk).exists()  # 多方会话, 强插
    ):
        raise NotFound("会话不存在或不是您接待的会话")
    return session


def desk_sessions(agent) -> list[Session]:
    """The agent's tabs: offered, in session and in wrap-up, oldest first."""
    return list(
        Session.objects.select_related("citizen", "queue")
        .filter(
            agent=agent,
            state__in=[SessionState.OFFERED, SessionState.ACTIVE, SessionState.WRAP_UP],
        )
        .order_by("offered_at", "pk")
    )


def desk_overview(agent, now: dt.datetime | None = None) -> dict:
    """Everything the workbench shows at a glance: the agent's state and settings, its
    sessions, its queues' figures and its own figures today."""
    from . import acd
    from .services import presence_of

    now = now or timezone.now()
    presence = presence_of(agent)
    return {
        "presence": presence,
        "sessions": desk_sessions(agent),
        "queues": [queue_figures(q, now) for q in acd.queues_of_agent(presence)],
        "today": agent_today(agent, now),
    }


def transfer_targets(user) -> dict:
    """Where a session may be transferred: the platform's active queues and the agents
    signed in now (with room or not: the page says who is full)."""
    from .models import Queue

    queues = list(Queue.objects.filter(platform_id=user.platform_id, is_active=True))
    agents = list(
        AgentPresence.objects.select_related("agent")
        .filter(platform_id=user.platform_id)
        .exclude(presence=Presence.SIGNED_OUT)
        .exclude(agent_id=user.pk)
        .order_by("agent__display_name")
    )
    return {"queues": queues, "agents": agents}


def citizen_for(user, profile_id: int):
    from hotline.core.errors import NotFound

    from .models import CitizenProfile

    profile = (
        CitizenProfile.objects.prefetch_related("identities")
        .filter(pk=profile_id, platform_id=user.platform_id)
        .first()
    )
    if profile is None:
        raise NotFound("来电人档案不存在")
    while profile.merged_into_id:
        profile = profile.merged_into
    return profile


# --- the supervisor seat (班长席) ---------------------------------------------------------------

FLOOR_SESSION_STATES = (SessionState.OFFERED, SessionState.ACTIVE, SessionState.WRAP_UP)


def handling_users(platform_id: int):
    """The platform's active accounts that may take contacts (a role granting
    ``contact.handle``), plus anyone still signed in whatever their roles now."""
    from hotline.core.models import RoleAssignment, RolePermission, User

    roles = RolePermission.objects.filter(permission="contact.handle").values("role")
    holders = RoleAssignment.objects.filter(role__in=roles).values("user_id")
    signed_in = AgentPresence.objects.exclude(presence=Presence.SIGNED_OUT).values("agent_id")
    return User.objects.filter(platform_id=platform_id, is_active=True).filter(
        Q(pk__in=holders) | Q(pk__in=signed_in)
    )


def barged_in(user, session: Session) -> bool:
    """Has this supervisor joined the session (强插) and not left?"""
    from .models import SessionParticipant

    return SessionParticipant.objects.filter(
        session_id=session.pk,
        user_id=user.pk,
        role=SessionParticipant.Role.SUPERVISOR,
        left_at__isnull=True,
    ).exists()


def _citizen_label(session: Session) -> str:
    from hotline.core.masking import mask_phone

    if session.citizen_id and session.citizen.name:
        return session.citizen.name
    if session.channel in ("voice", "sms", "fax"):
        return mask_phone(session.address)
    return f"{session.get_channel_display()}访客"


def floor_agents(viewer, now: dt.datetime | None = None) -> list[dict]:
    """班长席 grid: every agent of the viewer's platform — state and since when, load
    against capacity, the open sessions (with who barged in), answered today."""
    from .models import SessionParticipant

    now = now or timezone.now()
    users = list(
        handling_users(viewer.platform_id)
        .select_related("team")
        .order_by("team__name", "employee_no", "pk")
    )
    ids = [u.pk for u in users]
    presences = {p.agent_id: p for p in AgentPresence.objects.filter(agent_id__in=ids)}
    sessions: dict[int, list[Session]] = {}
    open_sessions = list(
        Session.objects.select_related("citizen", "queue")
        .filter(agent_id__in=ids, state__in=list(FLOOR_SESSION_STATES))
        .order_by("offered_at", "pk")
    )
    for session in open_sessions:
        sessions.setdefault(session.agent_id, []).append(session)
    joined: dict[int, list[dict]] = {}
    for session_id, user_id, name in SessionParticipant.objects.filter(
        session_id__in=[s.pk for s in open_sessions],
        role=SessionParticipant.Role.SUPERVISOR,
        left_at__isnull=True,
    ).values_list("session_id", "user_id", "user__display_name"):
        joined.setdefault(session_id, []).append({"id": user_id, "name": name})
    answered = dict(
        ContactFact.objects.filter(
            kind=FactKind.ANSWERED, agent_id__in=ids, at__gte=day_start(now), at__lte=now
        )
        .values("agent_id")
        .annotate(n=Count("pk"))
        .values_list("agent_id", "n")
    )
    rows = []
    for user in users:
        p = presences.get(user.pk)
        presence = p.presence if p else Presence.SIGNED_OUT
        activity = p.activity if p else Activity.IDLE
        reason = p.reason if p else ""
        rows.append(
            {
                "id": user.pk,
                "name": user.display_name or user.username,
                "employee_no": user.employee_no,
                "team_id": user.team_id,
                "team": user.team.name if user.team_id else "",
                "presence": presence,
                "activity": activity,
                "reason": reason,
                "state": agent_state_label(presence, activity, reason),
                "since": p.since if p else None,
                "active_text": p.active_text if p else 0,
                "active_voice": p.active_voice if p else 0,
                "text_capacity": p.text_capacity if p else 0,
                "handles_voice": p.handles_voice if p else False,
                "handles_text": p.handles_text if p else False,
                "answered_today": answered.get(user.pk, 0),
                "sessions": [
                    {
                        "id": s.pk,
                        "ref": s.ref,
                        "channel": s.channel,
                        "channel_label": s.get_channel_display(),
                        "state": s.state,
                        "state_label": s.state_label,
                        "citizen": _citizen_label(s),
                        "queue": s.queue.name if s.queue_id else "",
                        "emergency": s.emergency,
                        "offered_at": s.offered_at,
                        "answered_at": s.answered_at,
                        "supervisors": joined.get(s.pk, []),
                    }
                    for s in sessions.get(user.pk, [])
                ],
            }
        )
    return rows


def floor_totals(agents: list[dict], queues: list[dict]) -> dict:
    """The platform's figures at the top of the seat: agents by state, and the queues
    summed (the average answer wait weighted by each queue's answered contacts)."""
    answered = sum(q["answered_today"] for q in queues)
    waited = sum(q["average_answer_wait"] * q["answered_today"] for q in queues)
    signed_in = [a for a in agents if a["presence"] != Presence.SIGNED_OUT]
    return {
        "waiting": sum(q["waiting"] for q in queues),
        "longest_wait": max((q["longest_wait"] for q in queues), default=0),
        "answered_today": answered,
        "abandoned_today": sum(q["abandoned_today"] for q in queues),
        "average_answer_wait": round(waited / answered, 1) if answered else 0,
        "agents_signed_in": len(signed_in),
        "agents_ready": sum(
            1 for a in signed_in if a["presence"] == Presence.READY and a["activity"] == "idle"
        ),
        "agents_in_session": sum(
            1 for a in signed_in if a["activity"] in (Activity.IN_SESSION, Activity.OFFERING)
        ),
        "agents_wrap_up": sum(1 for a in signed_in if a["activity"] == Activity.WRAP_UP),
        "agents_not_ready": sum(
            1
            for a in signed_in
            if a["presence"] == Presence.NOT_READY and a["activity"] == Activity.IDLE
        ),
    }


def floor_overview(viewer, now: dt.datetime | None = None) -> dict:
    """Everything the supervisor seat shows: agents, queues, the totals, the teams."""
    from hotline.core.models import Team

    now = now or timezone.now()
    agents = floor_agents(viewer, now)
    queues = [
        queue_figures(q, now)
        for q in Queue.objects.filter(platform_id=viewer.platform_id, is_active=True)
    ]
    return {
        "now": now,
        "agents": agents,
        "queues": queues,
        "totals": floor_totals(agents, queues),
        "teams": [
            {"id": t.pk, "name": t.name}
            for t in Team.objects.filter(platform_id=viewer.platform_id).order_by("name")
        ],
        "dead_letters": dead_letters(viewer),
        "voice_alarms": telephony.voice_health()["alarms"],
    }


# --- dead letters (投递失败): outbound messages a channel's service never took -------------------


def dead_letters(viewer, limit: int = 50) -> list[dict]:
    """Messages to citizens that were given up after the last retry, newest first, for the
    supervisor seat (who may send them again once the service is back)."""
    from hotline.core.masking import mask_phone

    rows = (
        Message.objects.filter(
            session__platform_id=viewer.platform_id,
            direction=Message.Direction.OUTBOUND,
            delivery="dead",
        )
        .select_related("session", "sender")
        .order_by("-at", "-pk")[:limit]
    )
    return [
        {
            "id": m.pk,
            "session": m.session_id,
            "ref": m.session.ref,
            "channel": m.session.channel,
            "channel_label": m.session.get_channel_display(),
            "address": mask_phone(m.session.address)
            if m.session.channel in PHONE_CHANNELS
            else m.session.address,
            "body": m.body[:200] or (m.attachment.name.rsplit("/", 1)[-1] if m.attachment else ""),
            "sender": m.sender.display_name if m.sender_id else "系统通知",
            "at": m.at,
            "attempts": m.attempts,
            "error": m.last_error,
        }
        for m in rows
    ]


# --- announcements (公告) --------------------------------------------------------------------------


def announcements_in_force(user, now: dt.datetime | None = None) -> list:
    """The announcements addressed to ``user`` (all, its team, itself) in force now."""
    from .models import Announcement

    now = now or timezone.now()
    audience = Q(audience=Announcement.Audience.ALL) | Q(
        audience=Announcement.Audience.AGENT, agent_id=user.pk
    )
    if user.team_id:
        audience |= Q(audience=Announcement.Audience.TEAM, team_id=user.team_id)
    return list(
        Announcement.objects.select_related("created_by")
        .filter(
            platform_id=user.platform_id,
            withdrawn_at__isnull=True,
            starts_at__lte=now,
            ends_at__gt=now,
        )
        .filter(audience)
        .order_by("-starts_at", "-pk")
    )


def announcement_recipients(announcement) -> list[int]:
    """Who an announcement is for (their workbench gets it live)."""
    from hotline.core.models import User

    if announcement.audience == "agent":
        return [announcement.agent_id]
    if announcement.audience == "team":
        users = User.objects.filter(team_id=announcement.team_id, is_active=True)
    else:
        users = handling_users(announcement.platform_id)
    return list(users.values_list("pk", flat=True))


def announcement_payload(announcement) -> dict:
    """An announcement as the workbench shows it (and as its live event carries it)."""
    sender = announcement.created_by
    return {
        "id": announcement.pk,
        "title": announcement.title,
        "body": announcement.body,
        "level": announcement.level,
        "until": timezone.localtime(announcement.ends_at).isoformat(),
        "sender": (sender.display_name or sender.username) if sender else "系统",
    }


def announcements_published(viewer, now: dt.datetime | None = None, limit: int = 50) -> list:
    """The supervisor's list: the platform's announcements, newest first, with status."""
    from .models import Announcement

    now = now or timezone.now()
    rows = list(
        Announcement.objects.select_related("created_by", "team", "agent", "withdrawn_by")
        .filter(platform_id=viewer.platform_id)
        .order_by("-created_at", "-pk")[:limit]
    )
    for row in rows:
        row.status_label = row.status(now)
    return rows


def callback_tasks(user, *, done: bool = False, limit: int = 200) -> list[Session]:
    """回拨任务 of the user's platform: requests left out of hours or after a long wait,
    oldest first (``done``: the last ones handled, newest first)."""
    qs = (
        Session.objects.select_related("citizen", "queue", "callback_by")
        .prefetch_related("recordings")  # 语音留言
        .filter(platform_id=user.platform_id)
    )
    if done:
        qs = qs.filter(callback_at__isnull=False).order_by("-callback_at")
    else:
        qs = qs.filter(needs_callback=True).order_by("created_at", "pk")
    sessions = list(qs[:limit])
    texts = {}
    for message in (
        Message.objects.filter(session__in=sessions, direction="in")
        .order_by("at", "pk")
        .only("session_id", "body", "kind")
    ):
        texts.setdefault(message.session_id, []).append(message.body or f"[{message.kind}]")
    for session in sessions:
        session.left_text = "\n".join(texts.get(session.pk, []))
    return sessions


# --- 满意度调查 and 多方会话 (inviting colleagues and handling units into a chat) ------------------


def rating_open(session: Session) -> bool:
    """May the citizen rate the session now (and so is the rating asked for)? After an
    answered session ends, or while it is active once the agent sent the request
    (邀请评价) — until the citizen has rated. The rating service and every channel's
    connector read this one rule."""
    if session.satisfaction or not session.answered_at:
        return False
    if session.state in (SessionState.WRAP_UP, SessionState.CLOSED):
        return True
    return session.state == SessionState.ACTIVE and session.rating_requested_at is not None


def assist_people(platform_id: int):
    """Who may be invited into a chat of a platform (多方会话): its active accounts holding
    a business role — agents, leaders, back-office staff, and the staff of its handling
    units. The three admin roles (三权分立) never see citizens' conversations."""
    from hotline.core.models import RoleAssignment, User
    from hotline.core.roles import ADMIN_ROLES

    business = RoleAssignment.objects.exclude(role__in=ADMIN_ROLES).values("user_id")
    return User.objects.filter(platform_id=platform_id, is_active=True, pk__in=business)


def may_assist(user) -> bool:
    """Can this person be invited into (and so open) chats at all?"""
    return bool(
        user is not None
        and user.is_authenticated
        and assist_people(user.platform_id).filter(pk=user.pk).exists()
    )


def invited_in(user, session: Session):
    """The person's open invitation to the session (受邀协助), or None."""
    from .models import SessionParticipant

    return SessionParticipant.objects.filter(
        session_id=session.pk,
        user_id=user.pk,
        role=SessionParticipant.Role.INVITED,
        left_at__isnull=True,
    ).first()


def invite_candidates(viewer, session: Session, q: str = "", limit: int = 20) -> list[dict]:
    """查找可邀请的人员: the platform's staff and its handling units' staff matching ``q``
    (name, work number, account, unit), without the session's agent and those already
    in. Staff of the hotline first (with their state now), then units."""
    from .lifecycle import agent_state_label
    from .models import SessionParticipant

    q = (q or "").strip()[:50]
    inside = set(
        SessionParticipant.objects.filter(session_id=session.pk, left_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    people = (
        assist_people(session.platform_id)
        .exclude(pk__in=inside | {session.agent_id or 0, viewer.pk})
        .select_related("unit", "team")
    )
    if q:
        people = people.filter(
            Q(display_name__icontains=q)
            | Q(employee_no__icontains=q)
            | Q(username__icontains=q)
            | Q(unit__name__icontains=q)
            | Q(unit__short_name__icontains=q)
            | Q(team__name__icontains=q)
        )
    people = list(people.order_by("unit_id", "employee_no", "pk")[: limit * 2])
    presences = {
        p.agent_id: p for p in AgentPresence.objects.filter(agent_id__in=[u.pk for u in people])
    }
    rows = []
    for user in people:
        presence = presences.get(user.pk)
        rows.append(
            {
                "id": user.pk,
                "name": user.display_name or user.username,
                "employee_no": user.employee_no,
                "kind": "unit" if user.unit_id else "staff",
                "kind_label": "承办单位" if user.unit_id else "热线工作人员",
                "unit": (user.unit.short_name or user.unit.name) if user.unit_id else "",
                "team": user.team.name if user.team_id else "",
                "state": agent_state_label(presence.presence, presence.activity, presence.reason)
                if presence
                else "",
            }
        )
    rows.sort(key=lambda r: r["kind"] == "unit")  # stable: staff first, then units
    return rows[:limit]


def session_participants(session: Session) -> list[dict]:
    """Who besides the agent took part in the session — invited staff and supervisors,
    in or gone — each with the session's 满意度, which they share (满意度指标共享)."""
    from .models import SessionParticipant

    rows = []
    for p in (
        SessionParticipant.objects.filter(session_id=session.pk)
        .select_related("user__unit", "invited_by")
        .order_by("pk")
    ):
        rows.append(
            {
                "user": p.user_id,
                "name": p.user.display_name or p.user.username,
                "shown_as": _shown_as(p.user),
                "unit": (p.user.unit.short_name or p.user.unit.name) if p.user.unit_id else "",
                "role": p.role,
                "role_label": p.get_role_display(),
                "invited_by": p.invited_by.display_name if p.invited_by_id else "",
                "joined_at": p.joined_at,
                "left_at": p.left_at,
                "left_reason": p.get_left_reason_display() if p.left_reason else "",
                "satisfaction": session.satisfaction,
            }
        )
    return rows


def _shown_as(user) -> str:
    from .connectors import agent_name

    return agent_name(user)


def assist_sessions(user) -> list[Session]:
    """会话协助: the chats this person is invited into now (open invitation), oldest first."""
    from .models import SessionParticipant

    ids = SessionParticipant.objects.filter(
        user_id=user.pk, role=SessionParticipant.Role.INVITED, left_at__isnull=True
    ).values("session_id")
    return list(
        Session.objects.select_related("agent", "queue", "citizen")
        .filter(pk__in=ids, state=SessionState.ACTIVE)
        .order_by("answered_at", "pk")
    )


def assist_history(user, limit: int = 20) -> list[Session]:
    """The chats this person took part in and has left (or that ended), newest first,
    with the citizen's rating."""
    from .models import SessionParticipant

    ids = SessionParticipant.objects.filter(
        user_id=user.pk, role=SessionParticipant.Role.INVITED
    ).values("session_id")
    return list(
        Session.objects.select_related("agent")
        .filter(pk__in=ids)
        .exclude(pk__in=[s.pk for s in assist_sessions(user)])
        .order_by("-created_at", "-pk")[:limit]
    )


def participant_ratings(user, since=None, until=None) -> dict:
    """满意度 of the sessions a person took part in — as an agent (a leg answered) or as
    a participant (invited or barged in): the rating is shared by everyone who served
    (满意度指标共享). Counts by the five levels, rated sessions, and the share rated
    基本满意 or better (满意率)."""
    from .models import SATISFACTION, SessionLeg, SessionParticipant

    took_part = Q(
        pk__in=SessionLeg.objects.filter(agent_id=user.pk, answered_at__isnull=False).values(
            "session_id"
        )
    ) | Q(pk__in=SessionParticipant.objects.filter(user_id=user.pk).values("session_id"))
    rated = Session.objects.filter(took_part).exclude(satisfaction="")
    if since is not None:
        rated = rated.filter(satisfaction_at__gte=since)
    if until is not None:
        rated = rated.filter(satisfaction_at__lt=until)
    counts = dict(rated.order_by().values_list("satisfaction").annotate(n=Count("pk")))
    levels = {level: counts.get(level, 0) for level in SATISFACTION}
    total = sum(levels.values())
    satisfied = sum(levels[level] for level in SATISFACTION[:3])
    return {
        "levels": levels,
        "rated": total,
        "satisfied_rate": round(satisfied / total, 3) if total else None,
    }
