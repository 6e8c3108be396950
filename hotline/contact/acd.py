"""The routing engine (ACD, 自动话务分配): one for every channel.

**Caller order** = wait time + base priority + skill bonus. A queue entry's ``rank_at``
is its first queue time moved earlier by its priority seconds (VIP, emergency,
designated numbers), so "longest effective wait first" is one indexed ``ORDER BY``; an
agent who became free looks across its queues and subtracts the skill bonus of each.
**Eligibility widens with wait** (Asterisk penaltychange): a queue's minimum skill level
drops one step per ``widen_after_seconds`` of wait, without the caller losing its place.

**Claims are atomic**: one short transaction locks the waiting entry and then one agent's
presence row, both with ``SELECT … FOR UPDATE SKIP LOCKED`` (concurrent routers take
different rows and never wait on each other; PostgreSQL re-checks the capacity condition
on the locked row's newest version), checks capacity, writes the assignment and the
facts. On SQLite the transaction is ``BEGIN IMMEDIATE`` (settings), which serialises
writers. The database adds two guards of its own: one open leg per session and one live
call per voice agent (partial unique indexes).

**Event-driven**: services call :func:`route` when a contact enters a queue and
:func:`agent_freed` when an agent becomes available; the worker's :func:`sweep` every
few seconds re-offers what is left, times out offers, overflows, applies out-of-hours and
idle close — the queue is in the database, so a restart loses nothing.
"""

import datetime as dt
import time
import uuid
from collections import Counter

from django.db import connection, transaction
from django.db.models import (
    Case,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from hotline.core.errors import Conflict
from hotline.core.models import UserSkill

from . import live, selectors
from .lifecycle import Activity, Presence, SessionState, agent_move, is_available, session_move
from .models import (
    CHANNEL_IDENTITY,
    TEXT_CHANNELS,
    VOICE_CHANNELS,
    AfterWrapUp,
    AgentPresence,
    AgentStateInterval,
    CitizenIdentity,
    CitizenProfile,
    ContactFact,
    FactKind,
    ListEntry,
    Message,
    OutOfHoursAction,
    Queue,
    QueueEntry,
    Session,
    SessionLeg,
    SessionParticipant,
    Strategy,
)

ENTRY_BATCH = 20  # waiting entries one routing transaction looks at
ROUTE_LIMIT = 200  # assignments one route() call makes at most
SUMMARY_GRACE = dt.timedelta(minutes=30)  # a wrap-up session with no summary closes after

# --- facts ------------------------------------------------------------------------------------


def fact(
    kind: str,
    session: Session,
    now: dt.datetime,
    *,
    queue_id=None,
    agent_id=None,
    wait: float | None = None,
    **detail,
) -> ContactFact:
    """Append one fact (every step of a contact writes one) and publish it live."""
    recorded = ContactFact.objects.create(
        at=now,
        kind=kind,
        platform_id=session.platform_id,
        session_id=session.pk,
        queue_id=queue_id if queue_id is not None else session.queue_id,
        agent_id=agent_id,
        channel=session.channel,
        wait_seconds=wait,
        detail=detail,
    )
    live.fact_recorded(recorded, session)
    return recorded


# --- agent state --------------------------------------------------------------------------------


def set_agent(presence: AgentPresence, event: str, now: dt.datetime, *, reason: str = "") -> None:
    """Move an agent through the table; close the open interval and open the next when
    what the agent is doing changed. ``presence`` must be locked by the caller."""
    new_presence, new_activity = agent_move(presence.presence, presence.activity, event)
    new_reason = reason if new_presence == Presence.NOT_READY else ""
    if (
        new_presence == Presence.NOT_READY
        and not reason
        and presence.presence == Presence.NOT_READY
    ):
        new_reason = presence.reason
    if new_presence == Presence.NOT_READY and not new_reason:
        new_reason = "busy"
    changed = (new_presence, new_reason, new_activity) != (
        presence.presence,
        presence.reason,
        presence.activity,
    )
    if new_activity == Activity.IDLE and presence.activity != Activity.IDLE:
        presence.idle_since = now
    if new_activity == Activity.WRAP_UP and presence.activity != Activity.WRAP_UP:
        presence.wrap_up_since = now
    elif new_activity != Activity.WRAP_UP:
        presence.wrap_up_since = None
    if presence.presence == Presence.SIGNED_OUT and new_presence != Presence.SIGNED_OUT:
        presence.idle_since = now  # longest idle counts from signing in
    presence.presence, presence.reason, presence.activity = new_presence, new_reason, new_activity
    if changed:
        presence.since = now
        AgentStateInterval.objects.filter(agent_id=presence.agent_id, ended_at__isnull=True).update(
            ended_at=now
        )
        AgentStateInterval.objects.create(
            agent_id=presence.agent_id,
            platform_id=presence.platform_id,
            presence=new_presence,
            reason=new_reason,
            activity=new_activity,
            started_at=now,
        )
    presence.save()
    live.agent_changed(presence)


def has_room(presence: AgentPresence, voice: bool) -> bool:
    """Capacity: a call is exclusive; text chats up to the agent's limit, none during a call."""
    if not is_available(presence.presence, presence.activity):
        return False
    if voice:
        return presence.handles_voice and presence.active_voice == 0 and presence.active_text == 0
    return (
        presence.handles_text
        and presence.active_voice == 0
        and presence.active_text < presence.text_capacity
    )


def take_place(presence: AgentPresence, voice: bool, delta: int) -> None:
    """Count a session onto (+1) or off (−1) an agent's capacity; the caller saves."""
    if voice:
        presence.active_voice = max(0, presence.active_voice + delta)
    else:
        presence.active_text = max(0, presence.active_text + delta)


def settle_agent(presence: AgentPresence, now: dt.datetime, *, answered_ended: bool) -> None:
    """After a session left the agent: what is left decides the activity; with nothing
    left, an answered session leads to wrap-up (if enabled), else straight to idle."""
    states = list(
        Session.objects.filter(
            agent_id=presence.agent_id, state__in=[SessionState.OFFERED, SessionState.ACTIVE]
        ).values_list("state", flat=True)
    )
    if presence.presence == Presence.SIGNED_OUT:
        return
    if SessionState.ACTIVE in states:
        set_agent(presence, "still_in_session", now)
    elif SessionState.OFFERED in states:
        set_agent(presence, "still_offering", now)
    elif presence.activity == Activity.WRAP_UP:
        return
    elif answered_ended and presence.wrap_up_enabled:
        set_agent(presence, "wrap_up", now)
    elif presence.activity in (Activity.OFFERING, Activity.IN_SESSION):
        set_agent(presence, "session_done", now)
        if answered_ended:
            _after_session(presence, now)


def _after_session(presence: AgentPresence, now: dt.datetime) -> None:
    """服务后自动示忙 / 自动示闲 (the agent's setting)."""
    if presence.after_wrap_up == AfterWrapUp.NOT_READY and presence.presence == Presence.READY:
        set_agent(presence, "auto_not_ready", now, reason="after_session")


def end_wrap_up(presence: AgentPresence, now: dt.datetime) -> None:
    """The agent's wrap-up is over (summary written, timeout, or 示闲): its sessions still
    in wrap-up close, and the after-session setting applies."""
    for session in Session.objects.select_for_update().filter(
        agent_id=presence.agent_id, state=SessionState.WRAP_UP
    ):
        close_session(session, now)
    if presence.activity == Activity.WRAP_UP:
        set_agent(presence, "wrap_up_done", now)
        _after_session(presence, now)


def close_session(session: Session, now: dt.datetime, summary: str | None = None) -> None:
    session.state = session_move(session.state, "close")
    session.closed_at = now
    if summary is not None:
        session.summary = summary
    session.save()
    if summary is not None:
        leg = session.legs.filter(agent_id=session.agent_id).order_by("-pk").first()
        if leg is not None:
            SessionLeg.objects.filter(pk=leg.pk).update(summary=summary)
    fact(FactKind.CLOSED, session, now, agent_id=session.agent_id)


# --- citizens, lists, business hours -----------------------------------------------------------------


def new_ref(platform, now: dt.datetime) -> str:
    local = timezone.localtime(now)
    return f"{platform.code}H{local:%Y%m%d%H%M%S}{uuid.uuid4().hex[:6].upper()}"


def profile_for(platform, channel: str, address: str, now: dt.datetime) -> CitizenProfile | None:
    """The citizen profile behind an address (created on first contact); merged profiles
    lead to the one they went into."""
    if not address:
        return None
    known = selectors.profile_of(platform, channel, address)
    if known is not None:
        return known
    profile = CitizenProfile.objects.create(platform=platform, created_at=now, updated_at=now)
    CitizenIdentity.objects.create(
        profile=profile,
        platform=platform,
        kind=CHANNEL_IDENTITY[channel],
        value=address,
        original_profile_id=profile.pk,
        created_at=now,
    )
    return profile


def listed(platform, channel: str, address: str, kind: str, now: dt.datetime) -> ListEntry | None:
    """The black- or whitelist entry in force for this address, if any (expired entries
    and removed ones do not count)."""
    if not address:
        return None
    return (
        ListEntry.objects.filter(
            platform=platform,
            kind=kind,
            identity_kind=CHANNEL_IDENTITY[channel],
            value=address,
            removed_at__isnull=True,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )


def parse_hhmm(hhmm: str) -> dt.time | None:
    """ "08:30" → 08:30 of a business-hours span; "24:00" (end of day) → None."""
    if hhmm == "24:00":
        return None  # end of day
    hour, minute = hhmm.split(":")
    return dt.time(int(hour), int(minute))


def _in_spans(spans, moment: dt.time) -> bool:
    for start, end in spans:
        begin, finish = parse_hhmm(start), parse_hhmm(end)
        if begin is not None and moment >= begin and (finish is None or moment < finish):
            return True
    return False


def hours_at(queue: Queue, now: dt.datetime) -> tuple[bool, str, str]:
    """(open?, out-of-hours action, message) of a queue at ``now``, in its own timezone:
    a dated exception overrides the week."""
    local = now.astimezone(queue.tz)
    exception = queue.exceptions.filter(date=local.date()).first()
    if exception is not None:
        is_open = _in_spans(exception.hours or [], local.time())
        action = exception.action or queue.out_of_hours_action
        return is_open, action, exception.message or queue.out_of_hours_message
    spans = (queue.weekly_hours or {}).get(str(local.weekday()), [])
    return _in_spans(spans, local.time()), queue.out_of_hours_action, queue.out_of_hours_message


def system_message(session: Session, text: str, now: dt.datetime) -> Message:
    """A notice to the citizen (queue position, refusal, transfer …), sent over the
    session's channel by its connector."""
    message = Message.objects.create(
        session=session,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.EVENT,
        body=text,
        at=now,
    )
    live.message_created(message, session)
    return message


# --- placing a contact ------------------------------------------------------------------------------


def _priority(queue: Queue, session: Session) -> tuple[int, list[str]]:
    seconds, reasons = 0, []
    if session.emergency:
        seconds += queue.emergency_priority_seconds
        reasons.append("emergency")
    if session.citizen_id and session.citizen.is_vip:
        seconds += queue.vip_priority_seconds
        reasons.append("vip")
    whitelisted = listed(
        session.platform, session.channel, session.address, "white", session.created_at
    )
    if session.address and (session.address in (queue.priority_numbers or []) or whitelisted):
        seconds += queue.designated_priority_seconds
        reasons.append("designated")
    return seconds, reasons


def place(session: Session, queue: Queue, now: dt.datetime) -> Queue | None:
    """Put a new contact in a queue, or refuse it politely: blacklist, out of hours (by
    the queue's action), a full queue. Returns the queue it waits in, else None."""
    fact(FactKind.OFFERED, session, now, queue_id=queue.pk)
    if listed(session.platform, session.channel, session.address, "black", now):
        return _refuse(session, queue, now, "blacklist", "您好，您的来访暂无法接入，感谢您的理解。")
    seen = set()
    while True:
        is_open, action, message = hours_at(queue, now)
        if is_open:
            break
        seen.add(queue.pk)
        target = queue.out_of_hours_queue
        if (
            action == OutOfHoursAction.OVERFLOW
            and target
            and target.pk not in seen
            and target.is_active
        ):
            fact(
                FactKind.OVERFLOWED,
                session,
                now,
                queue_id=queue.pk,
                to_queue=target.pk,
                reason="out_of_hours",
            )
            queue = target
            continue
        if action == OutOfHoursAction.LEAVE_REQUEST:
            session.needs_callback = True
            return _refuse(session, queue, now, "left_request", message)
        return _refuse(session, queue, now, "out_of_hours", message)
    whitelisted = listed(session.platform, session.channel, session.address, "white", now)
    if queue.max_length and not whitelisted:
        waiting = QueueEntry.objects.filter(queue=queue).count()
        if waiting >= queue.max_length:
            return _refuse(session, queue, now, "queue_full", queue.full_message)
    session.priority, session.priority_reasons = _priority(queue, session)
    session.state = session_move(session.state, "enqueue")
    session.queue = queue
    session.queued_at = now
    session.save()
    enter_queue(session, queue, now, first_entered_at=now)
    return queue


def enter_queue(
    session: Session, queue: Queue, now: dt.datetime, *, first_entered_at
) -> QueueEntry:
    """Put a session in a queue (a new entry keeping its first arrival for its place)."""
    entry = QueueEntry.objects.create(
        session=session,
        queue=queue,
        channel=session.channel,
        voice=session.channel in VOICE_CHANNELS,
        priority=session.priority,
        entered_at=now,
        first_entered_at=first_entered_at,
        rank_at=first_entered_at - dt.timedelta(seconds=session.priority),
    )
    fact(
        FactKind.QUEUED,
        session,
        now,
        queue_id=queue.pk,
        priority=session.priority,
        reasons=session.priority_reasons,
    )
    return entry


def _refuse(session: Session, queue: Queue, now: dt.datetime, reason: str, text: str) -> None:
    session.state = session_move(session.state, "refuse")
    session.queue = queue
    session.end_reason = reason
    session.ended_at = session.closed_at = now
    session.save()
    system_message(session, text, now)
    fact(FactKind.REFUSED, session, now, queue_id=queue.pk, reason=reason)
    return None


# --- routing settings, read once and kept briefly ------------------------------------------------


class RoutingSettings:
    """The queues of each platform and the skill levels of each agent, as routing reads
    them on every decision. Kept in the process for ``TTL`` seconds: a change made here
    (a queue or a skill saved through the ORM) clears it at once, a change made by another
    process is seen within ``TTL`` — "routing settings changed live take effect < 5 s"."""

    TTL = 2.0

    def __init__(self):
        self.clear()

    def clear(self, *args, **kwargs) -> None:
        self._queues: dict[int, tuple[float, dict[int, Queue]]] = {}
        self._levels: dict[int, tuple[float, dict[int, int]]] = {}

    def _fresh(self, kept, load):
        now = time.monotonic()
        if kept is not None and now - kept[0] < self.TTL:
            return kept[1], None
        value = load()
        return value, (now, value)

    def queues(self, platform_id: int) -> dict[int, Queue]:
        """The active queues of a platform by id (with their skill and overflow targets)."""
        value, kept = self._fresh(
            self._queues.get(platform_id),
            lambda: {
                q.pk: q
                for q in Queue.objects.filter(platform_id=platform_id, is_active=True)
                .select_related("skill")
                .order_by("pk")
            },
        )
        if kept:
            self._queues[platform_id] = kept
        return value

    def queue(self, queue: Queue) -> Queue | None:
        """The current settings of ``queue``; None when it is no longer active."""
        return self.queues(queue.platform_id).get(queue.pk)

    def levels(self, agent_id: int) -> dict[int, int]:
        """The agent's skill levels by skill id."""
        value, kept = self._fresh(
            self._levels.get(agent_id),
            lambda: dict(
                UserSkill.objects.filter(user_id=agent_id).values_list("skill_id", "level")
            ),
        )
        if kept:
            self._levels[agent_id] = kept
        return value


routing_settings = RoutingSettings()


# --- routing ------------------------------------------------------------------------------------


def required_level(queue: Queue, waited: float) -> int:
    """The skill level a contact needs from an agent after ``waited`` seconds."""
    if not queue.skill_id:
        return 0
    level = queue.min_skill_level
    if queue.widen_after_seconds:
        level -= int(waited // queue.widen_after_seconds)
    return max(1, level)


def _skill_level_of(queue: Queue):
    return Subquery(
        UserSkill.objects.filter(user_id=OuterRef("agent_id"), skill_id=queue.skill_id).values(
            "level"
        )[:1]
    )


def _ordering(strategy: str) -> list:
    if strategy == Strategy.LEAST_BUSY:
        return [(F("active_text") + F("active_voice")).asc(), "idle_since", "pk"]
    if strategy == Strategy.ROUND_ROBIN:
        return [F("last_offered_at").asc(nulls_first=True), "pk"]
    if strategy == Strategy.SKILL_LEVEL:
        return [F("skill_level").desc(nulls_last=True), _has_work(), "idle_since", "pk"]
    # longest idle: agents with no session first (a chat in progress is not idleness)
    return [_has_work(), "idle_since", "pk"]


def _has_work():
    return Case(
        When(active_text=0, active_voice=0, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def _room(voice: bool | None) -> Q:
    """Presence rows with a free place for a call (True), a chat (False) or either (None)."""
    call = Q(handles_voice=True, active_voice=0, active_text=0)
    chat = Q(handles_text=True, active_voice=0, active_text__lt=F("text_capacity"))
    return call if voice is True else chat if voice is False else call | chat


def eligible_agents(queue: Queue, *, voice: bool | None, level: int):
    """Presence rows that may take a contact of this queue now (capacity included)."""
    qs = AgentPresence.objects.filter(platform_id=queue.platform_id, presence=Presence.READY)
    qs = qs.exclude(activity=Activity.WRAP_UP).filter(_room(voice))
    if queue.skill_id:
        qs = qs.annotate(skill_level=_skill_level_of(queue)).filter(skill_level__gte=level)
    return qs


def _claim_agent(queue: Queue, entry: QueueEntry, level: int, *, only_agent=None):
    qs = eligible_agents(queue, voice=entry.voice, level=level)
    if only_agent is not None:
        qs = qs.filter(agent_id=only_agent)
    presence = (
        qs.order_by(*_ordering(queue.strategy))
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )
    if presence is None or not has_room(presence, entry.voice):
        return None
    return presence


def decide_for_queue(
    queue: Queue, now: dt.datetime, *, blocked: set | None = None, only_agent=None
) -> tuple[QueueEntry, AgentPresence] | None:
    """The routing decision on the contact's side (an arrival, the sweep): the best
    waiting entry of ``queue`` that an agent can take, and that agent by the queue's
    strategy — both locked. Call inside a transaction."""
    blocked = set() if blocked is None else blocked
    entries = (
        QueueEntry.objects.filter(queue_id=queue.pk, claimed_by__isnull=True)
        .order_by("rank_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))[:ENTRY_BATCH]
    )
    for entry in entries:
        level = required_level(queue, (now - entry.first_entered_at).total_seconds())
        # an agent was missing at a lower requirement: none can serve a higher one
        if any(v == entry.voice and lv <= level for v, lv in blocked):
            continue
        presence = _claim_agent(queue, entry, level, only_agent=only_agent)
        if presence is None:
            blocked.add((entry.voice, level))
            continue
        return entry, presence
    return None


def offer_next(
    queue: Queue, *, now: dt.datetime | None = None, blocked: set | None = None, only_agent=None
) -> Session | None:
    """One claim: the best waiting entry of ``queue`` that an agent can take, with the
    best agent by the queue's strategy; None when nothing can be assigned now."""
    now = now or timezone.now()
    with transaction.atomic():
        decided = decide_for_queue(queue, now, blocked=blocked, only_agent=only_agent)
        if decided is None:
            return None
        entry, presence = decided
        return _assign(entry, presence, queue, now)


def _assign(entry: QueueEntry, presence: AgentPresence, queue: Queue, now) -> Session:
    session = Session.objects.select_for_update().get(pk=entry.session_id)
    if session.state != SessionState.QUEUED:  # cannot happen under the entry lock
        raise Conflict("会话已不在排队中")
    waited = (now - entry.first_entered_at).total_seconds()
    # a call to an agent with a phone is offered, never auto-accepted: the phone rings
    # and picking it up is the accept (the media node reports it)
    auto = presence.auto_accept and not (entry.voice and presence.phone_uri)
    session.state = session_move(session.state, "assign" if auto else "offer")
    session.agent_id = presence.agent_id
    session.offered_at = now
    if auto:
        session.answered_at = session.answered_at or now
    session.save()
    SessionLeg.objects.create(
        session=session,
        agent_id=presence.agent_id,
        queue=queue,
        offered_at=now,
        answered_at=now if auto else None,
    )
    take_place(presence, entry.voice, +1)
    presence.last_offered_at = now
    if auto:
        set_agent(presence, "assign", now)
        entry.delete()
    else:
        set_agent(
            presence, "offer_more" if presence.activity == Activity.IN_SESSION else "offer", now
        )
        entry.claimed_by_id = presence.agent_id
        entry.claimed_at = now
        entry.save(update_fields=["claimed_by", "claimed_at"])
    fact(
        FactKind.ASSIGNED,
        session,
        now,
        queue_id=queue.pk,
        agent_id=presence.agent_id,
        wait=waited,
        strategy=queue.strategy,
    )
    if auto:
        fact(
            FactKind.ANSWERED,
            session,
            now,
            queue_id=queue.pk,
            agent_id=presence.agent_id,
            wait=waited,
        )
    return session


def route(queue: Queue, *, now: dt.datetime | None = None, only_agent=None) -> list[Session]:
    """Assign as many waiting contacts of ``queue`` as agents can take now."""
    now = now or timezone.now()
    queue = routing_settings.queue(queue)
    if queue is None:
        return []
    # under a backlog nobody has room: one indexed look, no locks
    if not eligible_agents(queue, voice=None, level=1).exists():
        return []
    assigned, blocked = [], set()
    for _ in range(ROUTE_LIMIT):
        session = offer_next(queue, now=now, blocked=blocked, only_agent=only_agent)
        if session is None:
            break
        assigned.append(session)
    return assigned


def queues_of_agent(presence: AgentPresence) -> list[Queue]:
    """The active queues of the agent's platform it is a member of (no skill required, or
    the agent holds the skill at any level)."""
    levels = routing_settings.levels(presence.agent_id)
    return [
        queue
        for queue in routing_settings.queues(presence.platform_id).values()
        if not queue.skill_id or queue.skill_id in levels
    ]


FIRST_LOOK = 3  # waiting entries per queue an agent's decision reads first


def _candidates(queues: list[Queue], voices: list[bool], per_queue: int) -> list[tuple]:
    """``(id, queue id, first queued, rank)`` of the first ``per_queue`` waiting entries of
    each queue, in one statement: one index range per queue (``entry_queue_rank``), joined
    with UNION ALL — a window over all waiting entries would sort the whole backlog. Raw
    SQL because the ORM cannot limit each part of a union on SQLite; no locks."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ("id", "queue_id", "first_entered_at", "rank_at"))
    voice_in = ", ".join(["%s"] * len(voices))
    part = (
        f"SELECT * FROM (SELECT {columns} FROM {quote(QueueEntry._meta.db_table)} "
        f"WHERE {quote('queue_id')} = %s AND {quote('claimed_by_id')} IS NULL "
        f"AND {quote('voice')} IN ({voice_in}) "
        f"ORDER BY {quote('rank_at')}, {quote('id')} LIMIT %s) AS {{alias}}"
    )
    sql = " UNION ALL ".join(part.format(alias=f"q{i}") for i in range(len(queues)))
    params = [value for q in queues for value in (q.pk, *voices, per_queue)]
    return [
        (entry.pk, entry.queue_id, entry.first_entered_at, entry.rank_at)
        for entry in QueueEntry.objects.raw(sql, params)
    ]


def _best_per_queue(rows, queues: dict, levels: dict, now) -> list[tuple]:
    """For each queue, the first entry the agent may take (skill level, widened by the
    wait), scored by rank less the agent's skill bonus; best first."""
    best = {}
    for entry_id, queue_id, first_entered_at, rank_at in rows:
        if queue_id in best:
            continue
        queue = queues[queue_id]
        agent_level = levels.get(queue.skill_id, 0)
        if queue.skill_id and agent_level < required_level(
            queue, (now - first_entered_at).total_seconds()
        ):
            continue
        bonus = dt.timedelta(seconds=agent_level * queue.skill_bonus_seconds)
        best[queue_id] = (rank_at - bonus, queue_id, entry_id)
    return sorted(best.values())


def _first(queryset):
    """The first row of a query without the ``ORDER BY pk`` that ``.first()`` adds."""
    return next(iter(queryset[:1]), None)


def decide_for_agent(
    agent_id: int, now: dt.datetime
) -> tuple[AgentPresence, QueueEntry, Queue] | None:
    """The routing decision on the agent's side (示闲, a session ended, wrap-up over): the
    best waiting contact across the agent's queues — earliest rank first, less the skill
    bonus the agent earns in each queue — that the agent may take now. Locks the agent,
    then the entry (a concurrent router skips it). Call inside a transaction."""
    presence = _first(AgentPresence.objects.select_for_update().filter(agent_id=agent_id))
    if presence is None or presence.activity == Activity.WRAP_UP:
        return None
    voices = [voice for voice in (False, True) if has_room(presence, voice)]
    if not voices:
        return None  # full: no query about queues at all
    levels = routing_settings.levels(agent_id)
    queues = {q.pk: q for q in queues_of_agent(presence)}
    if not queues:
        return None
    # the first few of each queue nearly always hold the answer; a deeper look only when
    # none of them is one this agent may take
    for per_queue in (FIRST_LOOK, ENTRY_BATCH):
        rows = _candidates(list(queues.values()), voices, per_queue)
        for _, queue_id, entry_id in _best_per_queue(rows, queues, levels, now):
            # lock the chosen entry; a concurrent router may have taken it since the read
            locked = _first(
                QueueEntry.objects.select_for_update(skip_locked=True, of=("self",)).filter(
                    pk=entry_id, claimed_by__isnull=True
                )
            )
            if locked is not None:
                return presence, locked, queues[queue_id]
        read = Counter(queue_id for _, queue_id, _, _ in rows)
        if all(count < per_queue for count in read.values()):
            break  # every waiting entry was read already
    return None


def agent_freed(agent_id: int, *, now: dt.datetime | None = None) -> list[Session]:
    """An agent became available: give it the best waiting contacts, one decision at a
    time, until its capacity is used or nobody it may serve is waiting."""
    now = now or timezone.now()
    assigned = []
    for _ in range(ROUTE_LIMIT):
        with transaction.atomic():
            decided = decide_for_agent(agent_id, now)
            if decided is None:
                break
            presence, entry, queue = decided
            assigned.append(_assign(entry, presence, queue, now))
    return assigned


# --- the sweep (worker, every few seconds) ---------------------------------------------------------


def _release_offer(session: Session, presence: AgentPresence, now, *, end: str) -> None:
    """An offer the agent did not accept: the contact goes back to its place."""
    session.state = session_move(session.state, "requeue")
    session.agent = None
    session.save()
    SessionLeg.objects.filter(session=session, ended_at__isnull=True).update(ended_at=now, end=end)
    QueueEntry.objects.filter(session=session).update(claimed_by=None, claimed_at=None)
    take_place(presence, session.channel in VOICE_CHANNELS, -1)
    settle_agent(presence, now, answered_ended=False)


def offer_unanswered(session: Session, presence: AgentPresence, now) -> None:
    """An offer not taken (not accepted in time, or the agent's phone did not answer): the
    contact goes back to its place, a ready agent is set 未应答示忙. Both rows locked."""
    agent_id = presence.agent_id
    _release_offer(session, presence, now, end=SessionLeg.End.NO_ANSWER)
    if presence.presence == Presence.READY:
        set_agent(presence, "auto_not_ready", now, reason="no_answer")
    fact(FactKind.NO_ANSWER, session, now, agent_id=agent_id)


def sweep(now: dt.datetime | None = None) -> dict:
    """What time does: offers not accepted in time, overflow, out-of-hours and max wait,
    idle close of text sessions, wrap-up timeouts — then every queue with waiting contacts
    is routed again, so a lost event or a restart leaves nobody waiting for nothing."""
    now = now or timezone.now()
    counts = dict(
        no_answer=0, overflowed=0, timed_out=0, idle_closed=0, wrap_up_ended=0, assigned=0
    )
    freed = set()

    # 1. offers not accepted in time → back in the queue, the agent set 未应答示忙
    claimed = QueueEntry.objects.filter(claimed_by__isnull=False).select_related("queue")
    for entry in list(claimed):
        limit = entry.claimed_at + dt.timedelta(seconds=entry.queue.offer_timeout_seconds)
        if limit > now:
            continue
        with transaction.atomic():
            presence = (
                AgentPresence.objects.select_for_update()
                .filter(agent_id=entry.claimed_by_id)
                .first()
            )
            session = Session.objects.select_for_update().get(pk=entry.session_id)
            if session.state != SessionState.OFFERED or presence is None:
                continue
            offer_unanswered(session, presence, now)
            counts["no_answer"] += 1

    # 2. overflow, out of hours and max wait of waiting entries
    waiting = QueueEntry.objects.filter(claimed_by__isnull=True).select_related(
        "queue", "queue__overflow_queue", "queue__out_of_hours_queue"
    )
    for entry in list(waiting):
        queue = entry.queue
        waited_here = (now - entry.entered_at).total_seconds()
        target, reason = None, ""
        is_open, action, message = hours_at(queue, now)
        if not is_open and not eligible_agents(queue, voice=entry.voice, level=0).exists():
            if action == OutOfHoursAction.OVERFLOW and queue.out_of_hours_queue_id:
                target, reason = queue.out_of_hours_queue, "out_of_hours"
            else:
                counts["timed_out"] += _time_out(entry, now, "out_of_hours", message)
                continue
        elif (
            queue.overflow_queue_id
            and queue.overflow_after_seconds
            and (waited_here >= queue.overflow_after_seconds)
        ):
            target, reason = queue.overflow_queue, "wait"
        elif queue.max_wait_seconds and (now - entry.first_entered_at).total_seconds() >= (
            queue.max_wait_seconds
        ):
            counts["timed_out"] += _time_out(
                entry, now, "max_wait", "您好，当前排队时间较长，我们已记录您的诉求，稍后将回复您。"
            )
            continue
        if target is not None and target.is_active:
            counts["overflowed"] += _overflow(entry, target, now, reason)

    # 3. idle close of text sessions: the citizen wrote nothing for the queue's limit
    for session in Session.objects.filter(
        state=SessionState.ACTIVE, channel__in=list(TEXT_CHANNELS)
    ).select_related("queue"):
        limit = session.queue.idle_close_seconds if session.queue_id else 0
        last = session.last_inbound_at or session.answered_at or session.created_at
        if limit and (now - last).total_seconds() >= limit:
            agent_id = end_session(session.pk, now, reason="idle")
            if agent_id:
                freed.add(agent_id)
            counts["idle_closed"] += 1

    # 4. wrap-up timeouts; wrap-up sessions left without a summary
    for presence in AgentPresence.objects.filter(activity=Activity.WRAP_UP, wrap_up_seconds__gt=0):
        if (
            presence.wrap_up_since
            and (now - presence.wrap_up_since).total_seconds() >= presence.wrap_up_seconds
        ):
            with transaction.atomic():
                locked = AgentPresence.objects.select_for_update().get(pk=presence.pk)
                if locked.activity == Activity.WRAP_UP:
                    end_wrap_up(locked, now)
                    counts["wrap_up_ended"] += 1
                    freed.add(locked.agent_id)
    for session in Session.objects.filter(
        state=SessionState.WRAP_UP, ended_at__lte=now - SUMMARY_GRACE
    ):
        with transaction.atomic():
            locked = Session.objects.select_for_update().get(pk=session.pk)
            busy = AgentPresence.objects.filter(
                agent_id=locked.agent_id, activity=Activity.WRAP_UP
            ).exists()
            if locked.state == SessionState.WRAP_UP and not busy:
                close_session(locked, now)

    # 5. route every queue that has someone waiting, then the agents just freed
    for queue in Queue.objects.filter(
        is_active=True, pk__in=QueueEntry.objects.filter(claimed_by__isnull=True).values("queue")
    ):
        counts["assigned"] += len(route(queue, now=now))
    for agent_id in freed:
        counts["assigned"] += len(agent_freed(agent_id, now=now))
    return counts


def _time_out(entry: QueueEntry, now, reason: str, text: str) -> int:
    with transaction.atomic():
        locked = (
            QueueEntry.objects.select_for_update(skip_locked=True)
            .filter(pk=entry.pk, claimed_by__isnull=True)
            .first()
        )
        if locked is None:
            return 0
        session = Session.objects.select_for_update().get(pk=locked.session_id)
        session.state = session_move(session.state, "time_out")
        session.end_reason = reason
        session.needs_callback = True
        session.ended_at = session.closed_at = now
        session.save()
        locked.delete()
        system_message(session, text, now)
        fact(
            FactKind.TIMED_OUT,
            session,
            now,
            wait=(now - locked.first_entered_at).total_seconds(),
            reason=reason,
        )
    return 1


def _overflow(entry: QueueEntry, target: Queue, now, reason: str) -> int:
    """Move a waiting contact to another queue, keeping its place (first queue time)."""
    with transaction.atomic():
        locked = (
            QueueEntry.objects.select_for_update(skip_locked=True)
            .filter(pk=entry.pk, claimed_by__isnull=True)
            .first()
        )
        if locked is None:
            return 0
        session = Session.objects.select_for_update().get(pk=locked.session_id)
        session.state = session_move(session.state, "overflow")
        from_queue = session.queue_id
        session.queue = target
        session.save()
        locked.queue = target
        locked.entered_at = now
        locked.save(update_fields=["queue", "entered_at"])
        fact(
            FactKind.OVERFLOWED,
            session,
            now,
            queue_id=from_queue,
            to_queue=target.pk,
            reason=reason,
        )
        fact(FactKind.QUEUED, session, now, queue_id=target.pk, overflow=True)
    return 1


def end_session(session_id: int, now, *, reason: str, actor_agent_id=None) -> int | None:
    """An answered session ends (by the agent, the citizen, or idle close): it goes to
    wrap-up for its 会话小结 and frees the agent's place. Returns the agent's id."""
    with transaction.atomic():
        # locks in one order everywhere: the agent's presence, then the session
        agent_id = Session.objects.filter(pk=session_id).values_list("agent_id", flat=True).first()
        presence = AgentPresence.objects.select_for_update().filter(agent_id=agent_id).first()
        session = Session.objects.select_for_update().get(pk=session_id)
        if session.agent_id != agent_id:
            raise Conflict("会话的坐席已变更，请刷新后重试")
        session.state = session_move(session.state, "end")
        session.ended_at = now
        session.end_reason = reason
        session.held_at = None
        session.save()
        SessionLeg.objects.filter(session=session, ended_at__isnull=True).update(
            ended_at=now, end=SessionLeg.End.CLOSED
        )
        fact(
            FactKind.ENDED,
            session,
            now,
            agent_id=session.agent_id,
            reason=reason,
            talk=(now - session.answered_at).total_seconds() if session.answered_at else None,
        )
        if reason == "idle":
            system_message(session, "您好，由于长时间未收到您的消息，本次会话已结束。", now)
        end_participations(session, now)
        if presence is not None:
            take_place(presence, session.is_voice, -1)
            settle_agent(presence, now, answered_ended=True)
        return session.agent_id


def end_participations(session: Session, now) -> None:
    """The session ended: whoever joined it beside the agent (强插, invited colleagues and
    unit staff) is out, with reason ``ended``, and the screens are told."""
    for participation in list(
        SessionParticipant.objects.select_related("user").filter(
            session_id=session.pk, left_at__isnull=True
        )
    ):
        SessionParticipant.objects.filter(pk=participation.pk).update(
            left_at=now, left_reason=SessionParticipant.Left.ENDED
        )
        live.participant_changed(session, participation.user, joined=False, role=participation.role)
