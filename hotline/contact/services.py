"""Every write of the contact center.

A person's action (an agent's 示闲, a transfer, a summary, a profile merge, a queue
setting) is audited in the same transaction; what the system does on its own (routing,
time-outs) writes facts instead (``acd.fact``). Routing runs *after* the write's
transaction: when a contact enters a queue (:func:`contact_arrive`) and when an agent
becomes available (:func:`agent_ready`, session end, wrap-up over).

Locks are taken in one order everywhere: presence rows (by pk), then sessions, then
queue entries.
"""

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import Platform, Team, User
from hotline.core.services import require

from . import acd, connectors, live
from .connectors import Inbound, rating_reply
from .connectors.base import RATING_THANKS
from .lifecycle import (
    AGENT_CHOSEN_REASONS,
    NOT_READY_REASONS,
    STICKY_STATES,
    Activity,
    Presence,
    SessionState,
    delivery_move,
    session_move,
)
from .models import (
    FIRST_RESPONSE_TARGET_SECONDS,
    SATISFACTION,
    TEXT_CHANNELS,
    WEEKDAY_LABELS,
    AfterWrapUp,
    AgentPresence,
    Announcement,
    Channel,
    ChannelEntry,
    CitizenIdentity,
    CitizenProfile,
    FactKind,
    IdentityKind,
    ListEntry,
    Message,
    OutOfHoursAction,
    ProfileMerge,
    Queue,
    QueueEntry,
    Session,
    SessionLeg,
    SessionParticipant,
    Strategy,
)
from .selectors import assist_people, barged_in, invited_in, rating_open

# --- contacts arriving (system: the connectors and the media node call these) -----------------


def _channel(channel: str) -> str:
    if channel not in Channel.values:
        raise Unprocessable(f"不支持的渠道：{channel}", field="channel")
    return channel


def contact_arrive(
    *,
    platform: Platform,
    channel: str,
    address: str,
    queue: Queue,
    subject: str = "",
    emergency: bool = False,
    channel_entry: ChannelEntry | None = None,
    now: dt.datetime | None = None,
) -> Session:
    """A new contact (a call rings, a first chat message): find or make the citizen's
    profile, place the contact in ``queue`` (or refuse it politely) and route. A text
    contact remembers the ``channel_entry`` it came through: replies go out by it."""
    now = now or timezone.now()
    _channel(channel)
    address = (address or "").strip()[:200]
    queue = Queue.objects.filter(pk=queue.pk).first()  # its settings as they are now
    if queue is None or queue.platform_id != platform.pk:
        raise Unprocessable("队列不属于该平台", field="queue")
    with transaction.atomic():
        session = Session.objects.create(
            ref=acd.new_ref(platform, now),
            platform=platform,
            channel=channel,
            address=address,
            subject=subject[:200],
            emergency=emergency,
            channel_entry=channel_entry,
            created_at=now,
            citizen=acd.profile_for(platform, channel, address, now),
        )
        waiting_in = acd.place(session, queue, now)
    if waiting_in is not None:
        acd.route(waiting_in, now=now)
        session.refresh_from_db()
    return session


def message_inbound(
    *,
    platform: Platform,
    channel: str,
    address: str,
    queue: Queue,
    body: str = "",
    kind: str = Message.Kind.TEXT,
    attachment=None,
    external_id: str = "",
    channel_entry: ChannelEntry | None = None,
    subject: str = "",
    now: dt.datetime | None = None,
) -> Message:
    """A citizen's message. Sticky routing (R-MM-3): while the citizen has an open session
    on this channel, the message joins it — and so goes to its agent — until it closes;
    otherwise it opens a new session in ``queue``, whose subject is ``subject`` (a mail's)
    or the start of the message."""
    now = now or timezone.now()
    if channel not in TEXT_CHANNELS:
        raise Unprocessable("语音渠道没有文字消息", field="channel")
    if kind not in Message.Kind.values or kind == Message.Kind.EVENT:
        raise Unprocessable("消息类型不正确", field="kind")
    if not (body or "").strip() and not attachment:
        raise Unprocessable("消息内容不能为空", field="body")
    session = (
        open_session_of(platform, channel, address)
        or _left_request_of(platform, channel, address, now)
        or contact_arrive(
            platform=platform,
            channel=channel,
            address=address,
            queue=queue,
            subject=subject or body[:60],
            channel_entry=channel_entry,
            now=now,
        )
    )
    with transaction.atomic():
        message = Message.objects.create(
            session=session,
            direction=Message.Direction.INBOUND,
            kind=kind,
            body=body,
            attachment=attachment or "",
            external_id=external_id,
            at=now,
        )
        Session.objects.filter(pk=session.pk).update(last_inbound_at=now)
        live.message_created(message, session)
    return message


def inbound_receive(*, entry: ChannelEntry, inbound: Inbound, now=None) -> Message | None:
    """What a connector verified and normalised enters here: a message joins the
    citizen's open session on this entry's channel (or opens one in the entry's queue);
    an event (the citizen left, a rating) acts on that session. A repeated channel
    message id is ignored (de-duplication), and so returns None."""
    now = now or timezone.now()
    if not entry.is_active:
        raise Conflict(f"渠道接入“{entry.name}”已停用")
    if (
        inbound.external_id
        and Message.objects.filter(
            session__platform_id=entry.platform_id,
            session__channel=entry.channel,
            external_id=inbound.external_id,
        ).exists()
    ):
        return None
    if inbound.kind == "event":
        session = open_session_of(entry.platform, entry.channel, inbound.address)
        if inbound.event == "leave" and session is not None:
            citizen_leaves(session, now)
        elif inbound.event == "rate":
            rated = last_session_of(entry.platform, entry.channel, inbound.address)
            if rated is None:
                raise NotFound("没有可评价的会话")
            contact_rate(session=rated, satisfaction=inbound.data.get("satisfaction", ""), now=now)
        elif inbound.event not in ("leave",):
            raise Unprocessable(f"不支持的事件：{inbound.event}", field="event")
        return None
    if _rated_by_reply(entry, inbound, now):
        return None
    if inbound.attachment is not None:
        from hotline.workorders.services import attachment_check

        attachment_check(inbound.attachment)
    return message_inbound(
        platform=entry.platform,
        channel=entry.channel,
        address=inbound.address,
        queue=entry.queue,
        body=inbound.body[:MAX_INBOUND_LENGTH],
        kind=inbound.kind,
        attachment=inbound.attachment,
        external_id=inbound.external_id,
        channel_entry=entry,
        subject=str(inbound.data.get("subject") or ""),
        now=now,
    )


MAX_INBOUND_LENGTH = 5000


def citizen_leaves(session: Session, now) -> None:
    """The citizen closed the chat (or unfollowed): a session with an agent ends, one still
    waiting is abandoned. An agent may answer in the very moment the citizen leaves: the
    state is read again and the right ending applied, so the leave is never lost."""
    waiting = (SessionState.NEW, SessionState.QUEUED, SessionState.OFFERED)
    for _ in range(3):
        state = Session.objects.filter(pk=session.pk).values_list("state", flat=True).first()
        try:
            if state == SessionState.ACTIVE:
                session_end(actor=None, session=session, now=now)
            elif state in waiting:
                contact_abandon(session=session, now=now)
            return
        except Conflict:
            continue  # the state moved between the read and the lock: read it again


def _rated_by_reply(entry: ChannelEntry, inbound: Inbound, now) -> bool:
    """On a channel that rates by reply (:class:`~.connectors.ReplyConnector`), "1"…"5"
    while the citizen's last session awaits its rating is the rating, thanked for — not a
    new message."""
    connector = connectors.for_channel(entry.channel)
    level = rating_reply(inbound.body) if inbound.kind == Message.Kind.TEXT else None
    if connector is None or not connector.rates_by_reply or level is None:
        return False
    session = last_session_of(entry.platform, entry.channel, inbound.address)
    if session is None or not rating_open(session):
        return False
    rated = contact_rate(session=session, satisfaction=level, now=now)
    with transaction.atomic():
        # the reply itself joins the rated session's transcript — and its channel id there
        # makes a retried delivery of the same reply a duplicate, not a new contact
        Message.objects.create(
            session=rated,
            direction=Message.Direction.INBOUND,
            kind=Message.Kind.TEXT,
            body=inbound.body[:MAX_INBOUND_LENGTH],
            external_id=inbound.external_id,
            at=now,
        )
        acd.system_message(rated, RATING_THANKS.format(level=level), now)
    return True


def rating_menu_send(session_id: int, now=None) -> Message | None:
    """At the end of a session on a channel that rates by reply, the numbered rating menu
    goes to the citizen — once, and only while the rating is open."""
    now = now or timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None or not rating_open(session):
            return None
        connector = connectors.for_channel(session.channel)
        if connector is None or not connector.rates_by_reply:
            return None
        if (
            session.rating_requested_at is not None
            and session.ended_at
            and (session.rating_requested_at >= session.ended_at)
        ):
            return None  # already sent at this end
        session.rating_requested_at = now
        session.save(update_fields=["rating_requested_at"])
        return acd.system_message(session, connector.rating_notice, now)


def open_session_of(platform, channel: str, address: str) -> Session | None:
    """The citizen's open session on a channel (sticky routing, R-MM-3)."""
    return (
        Session.objects.filter(
            platform=platform, channel=channel, address=address, state__in=list(STICKY_STATES)
        )
        .order_by("-pk")
        .first()
    )


LEFT_REQUEST_WINDOW = dt.timedelta(hours=2)


def _left_request_of(platform, channel: str, address: str, now) -> Session | None:
    """A request the citizen left out of hours (or after waiting too long), not yet called
    back: what the citizen writes next adds to it instead of knocking again."""
    return (
        Session.objects.filter(
            platform=platform,
            channel=channel,
            address=address,
            needs_callback=True,
            callback_at__isnull=True,
            ended_at__gte=now - LEFT_REQUEST_WINDOW,
        )
        .order_by("-pk")
        .first()
    )


def rating_callback_request(session_id: int) -> bool:
    """On a channel that carries no rating (fax), an answered session that ended becomes a
    回拨任务 whose result is the citizen's satisfaction, asked by telephone."""
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.needs_callback or not rating_open(session):
            return False
        connector = connectors.for_channel(session.channel)
        if connector is None or not connector.rates_by_callback:
            return False
        session.needs_callback = True
        session.save(update_fields=["needs_callback"])
    return True


def callback_done(
    *, actor: User, session: Session, note: str, satisfaction: str = "", now=None
) -> Session:
    """回拨任务: the citizen who left a request was called or written back; the result is
    recorded (an order, if one is needed, is made from the session as from any other) —
    and, where the session awaits its rating (a fax answered), the satisfaction given on
    the telephone."""
    now = now or timezone.now()
    require(actor, "contact.handle")
    note = (note or "").strip()
    if not note:
        raise Unprocessable("请填写回拨结果", field="note")
    if satisfaction and satisfaction not in SATISFACTION:
        raise Unprocessable("满意度须为：" + "、".join(SATISFACTION), field="satisfaction")
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.platform_id != actor.platform_id:
            raise NotFound("回拨任务不存在")
        if not locked.needs_callback:
            raise Conflict("该回拨任务已处理")
        locked.needs_callback = False
        locked.callback_at, locked.callback_by, locked.callback_note = now, actor, note[:500]
        locked.save(update_fields=["needs_callback", "callback_at", "callback_by", "callback_note"])
        if satisfaction:
            locked = contact_rate(session=locked, satisfaction=satisfaction, now=now)
        audit.record(
            "contact.session.callback",
            locked,
            detail={"note": note[:200], "satisfaction": satisfaction},
            actor=actor,
        )
    return locked


def last_session_of(platform, channel: str, address: str) -> Session | None:
    return (
        Session.objects.filter(platform=platform, channel=channel, address=address)
        .order_by("-pk")
        .first()
    )


def message_send(
    *,
    actor: User,
    session: Session,
    body: str = "",
    kind: str = Message.Kind.TEXT,
    attachment=None,
    now=None,
) -> Message:
    """An agent's reply, or the words of a supervisor who barged in (强插); the connector
    delivers it (pending → sent → delivered …)."""
    now = now or timezone.now()
    if session.agent_id != actor.pk and barged_in(actor, session):
        require(actor, "contact.supervise")
        if session.state != SessionState.ACTIVE:
            raise Conflict(f"会话当前为“{session.state_label}”，不能发送消息")
    elif session.agent_id != actor.pk and invited_in(actor, session) is not None:
        # 多方会话: the invitation is the right to write, while the session is active
        if session.state != SessionState.ACTIVE:
            raise Conflict(f"会话当前为“{session.state_label}”，不能发送消息")
    else:
        require(actor, "contact.handle")
        if session.agent_id != actor.pk:
            raise Forbidden("只能在自己接待的会话中发送消息")
    if session.state not in (SessionState.ACTIVE, SessionState.WRAP_UP):
        raise Conflict(f"会话当前为“{session.state_label}”，不能发送消息")
    if kind not in (Message.Kind.TEXT, Message.Kind.IMAGE, Message.Kind.FILE):
        raise Unprocessable("消息类型不正确", field="kind")
    if not (body or "").strip() and not attachment:
        raise Unprocessable("消息内容不能为空", field="body")
    connector = connectors.for_channel(session.channel)
    if connector is not None:
        connector.check_outbound(kind, body, attachment)
    if attachment is not None:
        from hotline.workorders.services import attachment_check

        attachment_check(attachment)
    with transaction.atomic():
        message = Message.objects.create(
            session=session,
            direction=Message.Direction.OUTBOUND,
            kind=kind,
            body=body,
            attachment=attachment or "",
            sender=actor,
            at=now,
        )
        live.message_created(message, session)
        _first_response(session, now, actor)
    return message


def _first_response(session: Session, now, actor: User) -> None:
    """The first answer a citizen gets from a person (首次响应, GB/T 33358: text within
    3 minutes, mail within 24 hours): stored once on the session and as a fact whose wait
    is the seconds since the contact arrived — what the desk's timer counts down to."""
    if session.first_response_at is not None:
        return
    if not Session.objects.filter(pk=session.pk, first_response_at__isnull=True).update(
        first_response_at=now
    ):
        return  # another writer answered first
    session.first_response_at = now
    target = FIRST_RESPONSE_TARGET_SECONDS.get(session.channel)
    waited = (now - session.created_at).total_seconds()
    acd.fact(
        FactKind.RESPONDED,
        session,
        now,
        agent_id=actor.pk,
        wait=waited,
        target=target,
        met=target is None or waited <= target,
    )


def message_delivery(
    *, message: Message, status: str, error: str = "", external_id: str = ""
) -> Message:
    """A connector reports an outbound message's fate (one connector protocol). A report
    that would move it backwards (a late "sent" after "delivered") is ignored."""
    with transaction.atomic():
        locked = (
            Message.objects.select_for_update(of=("self",))
            .select_related("session")
            .get(pk=message.pk)
        )
        if locked.delivery == status or (status == "sent" and locked.delivery == "delivered"):
            return locked  # a repeated or late report
        if status == "delivered" and locked.delivery == "pending":
            # the citizen's receipt overtook the connector's own "sent"
            locked.delivery, locked.attempts = delivery_move(locked.delivery, "sent"), 1
        if locked.delivery in ("pending", "retrying") and status in ("sent", "failed"):
            locked.attempts += 1  # an attempt ends as sent or failed
        locked.delivery = delivery_move(locked.delivery, status)
        if external_id:
            locked.external_id = external_id[:100]
        if error or status in ("sent", "delivered"):
            locked.last_error = error[:300]  # retrying and dead keep the failure's reason
        locked.save()
        _delivery_changed(locked)
    return locked


def _delivery_changed(message: Message) -> None:
    """The agent who wrote it and the session's watchers see the fate of a message; the
    supervisor seat sees dead letters come and go."""
    groups = [live.session_group(message.session_id), live.desk_group(message.sender_id or 0)]
    if message.delivery in ("dead", "retrying"):
        groups.append(live.floor_group(message.session.platform_id))
    live.publish(
        groups,
        "delivery",
        session=message.session_id,
        message=message.pk,
        delivery=message.delivery,
        error=message.last_error,
    )


def message_redeliver(*, actor: User, message: Message) -> Message:
    """重新投递: a supervisor sends a dead letter again (its channel's service is back):
    a fresh round of attempts, with the same retries, through the worker."""
    require(actor, "contact.supervise")
    with transaction.atomic():
        locked = (
            Message.objects.select_for_update(of=("self",))
            .select_related("session")
            .get(pk=message.pk)
        )
        if locked.session.platform_id != actor.platform_id:
            raise NotFound("消息不存在")
        if locked.delivery != "dead":
            raise Conflict(f"消息状态为“{locked.get_delivery_display()}”，无需重新投递")
        locked.delivery = delivery_move(locked.delivery, "retrying")
        locked.attempts = 0
        locked.save(update_fields=["delivery", "attempts"])
        audit.record(
            "contact.message.redeliver",
            locked,
            detail={"session": locked.session.ref, "error": locked.last_error},
            actor=actor,
        )
        _delivery_changed(locked)
        message_id = locked.pk
        live.after_commit(lambda: connectors.deliver(message_id))
    return locked


def webchat_acknowledge(*, entry: ChannelEntry, visitor: str, message_ids) -> int:
    """The citizen's page showed these outbound messages: delivered. Ids of other
    visitors' messages are ignored. Returns how many moved."""
    ids = [i for i in message_ids if isinstance(i, int)]
    pending = Message.objects.filter(
        pk__in=ids,
        direction=Message.Direction.OUTBOUND,
        session__platform_id=entry.platform_id,
        session__channel=entry.channel,
        session__address=visitor,
        delivery__in=["pending", "sent"],
    )
    moved = 0
    for message in pending:
        message_delivery(message=message, status="delivered")
        moved += 1
    return moved


def contact_abandon(*, session: Session, now=None) -> Session:
    """The citizen left (hung up, closed the chat) before an agent answered."""
    now = now or timezone.now()
    agent_id = session.agent_id
    with transaction.atomic():
        presence = (
            AgentPresence.objects.select_for_update().filter(agent_id=agent_id).first()
            if agent_id
            else None
        )
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.state == SessionState.ACTIVE:
            raise Conflict("会话已接通，请结束会话")
        locked.state = session_move(locked.state, "abandon")
        entry = QueueEntry.objects.filter(session=locked).first()
        waited_from = entry.first_entered_at if entry else locked.created_at
        locked.ended_at = locked.closed_at = now
        locked.end_reason = "citizen"
        locked.needs_callback = _missed_call(locked, (now - waited_from).total_seconds())
        offered = locked.agent_id
        locked.save()
        QueueEntry.objects.filter(session=locked).delete()
        SessionLeg.objects.filter(session=locked, ended_at__isnull=True).update(
            ended_at=now, end=SessionLeg.End.ABANDONED
        )
        acd.fact(
            FactKind.ABANDONED,
            locked,
            now,
            agent_id=offered,
            wait=(now - waited_from).total_seconds(),
        )
        if presence is not None and offered == presence.agent_id:
            acd.take_place(presence, locked.is_voice, -1)
            acd.settle_agent(presence, now, answered_ended=False)
    if agent_id:
        acd.agent_freed(agent_id, now=now)
    return locked


MISSED_CALL_WAIT = 5  # seconds: a caller gone sooner most likely misdialled


def _missed_call(session: Session, waited: float) -> bool:
    """漏接回拨 (国办函〔2025〕66号): a caller who hung up while waiting for an agent
    becomes a 回拨任务 — unless gone within seconds, or the number already has one open."""
    if not session.is_voice or waited < MISSED_CALL_WAIT or not session.address.isdigit():
        return False
    return not Session.objects.filter(
        platform_id=session.platform_id,
        channel=session.channel,
        address=session.address,
        needs_callback=True,
    ).exists()


def contact_rate(*, session: Session, satisfaction: str, now=None) -> Session:
    """The citizen's rating (满意度, adapted to the channel by its connector): at the end,
    or while the session is active once the agent asked for it (邀请评价). Everyone who
    served in the session shares it (its agents and participants)."""
    now = now or timezone.now()
    if satisfaction not in SATISFACTION:
        raise Unprocessable("满意度须为：" + "、".join(SATISFACTION), field="satisfaction")
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.satisfaction:
            raise Conflict("本次会话已评价")
        if not rating_open(locked):
            raise Conflict("会话结束后才能评价")
        locked.satisfaction, locked.satisfaction_at = satisfaction, now
        locked.save(update_fields=["satisfaction", "satisfaction_at"])
        # the agent and the participants see the rating arrive
        live.publish(
            [live.session_group(locked.pk), live.desk_group(locked.agent_id or 0)],
            "rated",
            session=locked.pk,
            satisfaction=satisfaction,
        )
    return locked


# --- agent state (a person's choices: audited) ---------------------------------------------------


def presence_of(agent: User) -> AgentPresence:
    presence, _ = AgentPresence.objects.get_or_create(
        agent=agent, defaults={"platform_id": agent.platform_id, "team_id": agent.team_id}
    )
    return presence


def _may_steer(actor: User | None, agent: User) -> bool:
    """The agent steers itself; a leader (contact.supervise) may force another."""
    if actor is None or actor.pk == agent.pk:
        require(actor, "contact.handle")
        return False
    require(actor, "contact.supervise")
    from hotline.core.services import require_user_in_scope

    require_user_in_scope(actor, agent)
    return True


def _agent_change(actor, agent: User, event: str, *, reason: str = "", now=None) -> AgentPresence:
    now = now or timezone.now()
    forced = _may_steer(actor, agent)
    presence_of(agent)
    with transaction.atomic():
        presence = AgentPresence.objects.select_for_update().get(agent=agent)
        before = audit.snapshot(presence, ["presence", "reason", "activity"])
        if event == "ready" and presence.activity == Activity.WRAP_UP:
            acd.end_wrap_up(presence, now)  # 示闲 ends wrap-up ("直到话务员手动点击示闲")
        if event == "sign_out" and presence.activity == Activity.WRAP_UP:
            acd.end_wrap_up(presence, now)
        acd.set_agent(
            presence,
            event,
            now,
            reason="forced" if forced and reason == "" and event == "not_ready" else reason,
        )
        audit.record(
            f"contact.agent.{event}",
            agent,
            before=before,
            after=audit.snapshot(presence, ["presence", "reason", "activity"]),
            detail={"forced": forced} if forced else {},
            actor=actor,
        )
    if acd.has_room(presence, voice=False) or acd.has_room(presence, voice=True):
        acd.agent_freed(agent.pk, now=now)
        presence.refresh_from_db()
    return presence


def agent_sign_in(*, actor: User, agent: User | None = None, ready: bool = True, now=None):
    """签入: start work, 示闲 (or 示忙 first)."""
    agent = agent or actor
    return _agent_change(
        actor,
        agent,
        "sign_in_ready" if ready else "sign_in_not_ready",
        now=now,
        reason="" if ready else "busy",
    )


def agent_ready(*, actor: User, agent: User | None = None, now=None) -> AgentPresence:
    """示闲 (a leader's 强制示闲 when ``agent`` is someone else); ends wrap-up."""
    return _agent_change(actor, agent or actor, "ready", now=now)


def agent_not_ready(*, actor: User, agent: User | None = None, reason: str = "busy", now=None):
    """示忙 with a reason (小休, 会议, 培训 …); a leader's 强制示忙 records ``forced``."""
    agent = agent or actor
    if actor.pk == agent.pk and reason not in AGENT_CHOSEN_REASONS:
        choices = "、".join(NOT_READY_REASONS[r] for r in AGENT_CHOSEN_REASONS)
        raise Unprocessable(f"示忙原因须为：{choices}", field="reason")
    if actor.pk != agent.pk:
        reason = "forced"
    return _agent_change(actor, agent, "not_ready", reason=reason, now=now)


def agent_sign_out(*, actor: User, agent: User | None = None, now=None) -> AgentPresence:
    """签出 (a leader's 强退 for someone else); refused while a session is open."""
    return _agent_change(actor, agent or actor, "sign_out", now=now)


def agent_settings_update(
    *,
    actor: User,
    agent: User | None = None,
    text_capacity: int | None = None,
    wrap_up_enabled: bool | None = None,
    wrap_up_seconds: int | None = None,
    after_wrap_up: str | None = None,
    auto_accept: bool | None = None,
    handles_voice: bool | None = None,
    handles_text: bool | None = None,
    phone_uri: str | None = None,
) -> AgentPresence:
    """状态设置: wrap-up, after-session state, auto or manual accept, chat capacity, the
    agent's phone (坐席话机) that voice calls ring."""
    agent = agent or actor
    _may_steer(actor, agent)
    if text_capacity is not None and not 1 <= text_capacity <= 20:
        raise Unprocessable("文字会话并发上限须在 1–20 之间", field="text_capacity")
    if wrap_up_seconds is not None and not 0 <= wrap_up_seconds <= 3600:
        raise Unprocessable("整理时长须在 0–3600 秒之间", field="wrap_up_seconds")
    if after_wrap_up is not None and after_wrap_up not in AfterWrapUp.values:
        raise Unprocessable("整理后状态须为自动示闲或自动示忙", field="after_wrap_up")
    if phone_uri is not None:
        phone_uri = _checked_phone(phone_uri)
    presence_of(agent)
    with transaction.atomic():
        presence = AgentPresence.objects.select_for_update().get(agent=agent)
        fields = [
            "text_capacity",
            "wrap_up_enabled",
            "wrap_up_seconds",
            "after_wrap_up",
            "auto_accept",
            "handles_voice",
            "handles_text",
            "phone_uri",
        ]
        before = audit.snapshot(presence, fields)
        values = dict(
            text_capacity=text_capacity,
            wrap_up_enabled=wrap_up_enabled,
            wrap_up_seconds=wrap_up_seconds,
            after_wrap_up=after_wrap_up,
            auto_accept=auto_accept,
            handles_voice=handles_voice,
            handles_text=handles_text,
            phone_uri=phone_uri,
        )
        for name, value in values.items():
            if value is not None:
                setattr(presence, name, value)
        presence.save()
        audit.record(
            "contact.agent.settings",
            agent,
            before=before,
            after=audit.snapshot(presence, fields),
            actor=actor,
        )
    return presence


# sip:user@host[:port] — what a desk phone or softphone registers as (no transport params:
# the node speaks UDP)
def _checked_phone(phone_uri: str) -> str:
    phone_uri = phone_uri.strip()
    if phone_uri and not PHONE_URI.fullmatch(phone_uri):
        raise Unprocessable("坐席话机须为 SIP 地址，如 sip:8001@10.0.0.21:5060", field="phone_uri")
    return phone_uri


def phone_set(*, actor: User, phone_uri: str) -> AgentPresence:
    """坐席话机 of whoever takes or places calls: an agent (also in 状态设置) or a 回访员 who
    calls citizens from the 回访台. Audited."""
    if not (actor.can("contact.handle") or actor.can("workorders.callback")):
        raise Forbidden("您没有接听或外呼电话的权限")
    phone_uri = _checked_phone(phone_uri)
    presence_of(actor)
    with transaction.atomic():
        presence = AgentPresence.objects.select_for_update().get(agent=actor)
        before = audit.snapshot(presence, ["phone_uri"])
        presence.phone_uri = phone_uri
        presence.save(update_fields=["phone_uri"])
        audit.record(
            "contact.agent.settings",
            actor,
            before=before,
            after=audit.snapshot(presence, ["phone_uri"]),
            actor=actor,
        )
    return presence


PHONE_URI = re.compile(r"sips?:[A-Za-z0-9._~+-]+@[A-Za-z0-9.-]+(:\d{1,5})?")


# --- sessions (the agent's verbs) -------------------------------------------------------------------


def own_session_check(actor: User, session: Session) -> None:
    require(actor, "contact.handle")
    if session.agent_id != actor.pk and not actor.can("contact.supervise"):
        raise Forbidden("这不是您接待的会话")


def session_accept(*, actor: User, session: Session, now=None) -> Session:
    """接起 an offered session (manual accept)."""
    now = now or timezone.now()
    require(actor, "contact.handle")
    with transaction.atomic():
        presence = AgentPresence.objects.select_for_update().filter(agent=actor).first()
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.agent_id != actor.pk or presence is None:
            raise Conflict("该会话已不再分配给您")
        locked.state = session_move(locked.state, "accept")
        locked.answered_at = now
        locked.save()
        entry = QueueEntry.objects.filter(session=locked).first()
        waited = (now - entry.first_entered_at).total_seconds() if entry else None
        QueueEntry.objects.filter(session=locked).delete()
        SessionLeg.objects.filter(session=locked, ended_at__isnull=True).update(answered_at=now)
        acd.set_agent(presence, "accept", now)
        acd.fact(FactKind.ANSWERED, locked, now, agent_id=actor.pk, wait=waited)
        audit.record("contact.session.accept", locked, actor=actor)
    return locked


def session_end(*, actor: User | None, session: Session, now=None) -> Session:
    """结束会话: by the agent (audited) or by the citizen (``actor=None``). The session
    goes to wrap-up for its 会话小结; the agent's place is freed; whoever was invited
    in (or barged in) is out."""
    now = now or timezone.now()
    if actor is not None:
        own_session_check(actor, session)
    with transaction.atomic():
        agent_id = acd.end_session(session.pk, now, reason="agent" if actor else "citizen")
    if actor is not None:
        audit.record("contact.session.end", session, actor=actor)
    if agent_id:
        acd.agent_freed(agent_id, now=now)
    return Session.objects.get(pk=session.pk)


# --- voice: what the agent's phone does (reported by the media node) ------------------------------


def voice_offer_unanswered(*, session: Session, agent: User, now=None) -> bool:
    """The agent's phone did not take the call offered to the agent (busy, refused, rang
    out): as an offer not accepted in time, and the call is routed again at once. False
    when the offer had already moved on (the sweep took it back)."""
    now = now or timezone.now()
    with transaction.atomic():
        presence = AgentPresence.objects.select_for_update().filter(agent=agent).first()
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if presence is None or locked.state != SessionState.OFFERED or locked.agent_id != agent.pk:
            return False
        acd.offer_unanswered(locked, presence, now)
    if locked.queue_id:
        acd.route(Queue.objects.get(pk=locked.queue_id), now=now)
    return True


def voice_agent_hung_up(*, session: Session, agent: User, now=None) -> Session | None:
    """The agent put the phone down: the call is over as if the agent ended it (audited as
    the agent's); None when the session had already ended."""
    if session.agent_id != agent.pk or session.state != SessionState.ACTIVE:
        return None
    try:
        return session_end(actor=agent, session=session, now=now)
    except Conflict:  # ended meanwhile (the caller hung up at the same moment)
        return None


def session_hold(*, actor: User, session: Session, on: bool, now=None) -> Session:
    """保持 / 恢复通话: the caller hears music and the agent hears nothing until retrieved
    (the media node follows within a second). Audited."""
    now = now or timezone.now()
    own_session_check(actor, session)
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if not locked.is_voice or locked.state != SessionState.ACTIVE:
            raise Unprocessable("只有通话中的语音会话可以保持")
        if bool(locked.held_at) == on:
            return locked  # already so: pressing twice changes nothing
        locked.held_at = now if on else None
        locked.save(update_fields=["held_at"])
        audit.record(
            "contact.session.hold" if on else "contact.session.retrieve", locked, actor=actor
        )
    return locked


def session_close(*, actor: User, session: Session, summary: str, now=None) -> Session:
    """会话小结: write the summary and close; the agent's wrap-up ends with its last one."""
    now = now or timezone.now()
    own_session_check(actor, session)
    summary = (summary or "").strip()
    if not summary:
        raise Unprocessable("请填写会话小结", field="summary")
    with transaction.atomic():
        presence = (
            AgentPresence.objects.select_for_update().filter(agent_id=session.agent_id).first()
        )
        locked = Session.objects.select_for_update().get(pk=session.pk)
        acd.close_session(locked, now, summary=summary)
        if (
            presence is not None
            and presence.activity == Activity.WRAP_UP
            and not (
                Session.objects.filter(
                    agent_id=presence.agent_id, state=SessionState.WRAP_UP
                ).exists()
            )
        ):
            acd.end_wrap_up(presence, now)
        audit.record(
            "contact.session.close", locked, detail={"summary": summary[:200]}, actor=actor
        )
    acd.agent_freed(locked.agent_id, now=now)
    return locked


def session_transfer(
    *,
    actor: User,
    session: Session,
    summary: str,
    to_queue: Queue | None = None,
    to_agent: User | None = None,
    to_leader: bool = False,
    note: str = "",
    now=None,
) -> Session:
    """转接/升级 to a queue, an agent or the leader (R-MM-5). The same session travels on,
    so the next agent sees every message and the summary written here; the citizen is
    told. The transferring agent's place is freed (no wrap-up: the summary is written)."""
    now = now or timezone.now()
    own_session_check(actor, session)
    summary = (summary or "").strip()
    if not summary:
        raise Unprocessable("转接前请填写会话小结", field="summary")
    if sum(bool(x) for x in (to_queue, to_agent, to_leader)) != 1:
        raise Unprocessable("请选择转接目标：队列、坐席或班长之一", field="target")
    if to_leader:
        team = session.agent.team if session.agent_id else None
        if team is None or team.leader_id is None:
            raise Conflict("您所在班组未设置班长，无法升级")
        to_agent = team.leader
    if to_agent is not None and to_agent.pk == session.agent_id:
        raise Unprocessable("不能转接给自己", field="to_agent")
    if to_queue is not None and to_queue.platform_id != session.platform_id:
        raise NotFound("队列不存在")
    if to_agent is not None:
        acd_presence = AgentPresence.objects.filter(agent=to_agent).first()
        if acd_presence is None or acd_presence.presence == Presence.SIGNED_OUT:
            raise Conflict(f"{to_agent.display_name}未签入，无法转接")
    from_agent = session.agent_id
    with transaction.atomic():
        ids = sorted(x for x in (from_agent, to_agent.pk if to_agent else None) if x)
        locks = {
            p.agent_id: p
            for p in AgentPresence.objects.select_for_update()
            .filter(agent_id__in=ids)
            .order_by("pk")
        }
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.agent_id != from_agent:
            raise Conflict("会话的坐席已变更，请刷新后重试")
        voice = locked.is_voice
        if to_agent is not None:
            target = locks[to_agent.pk]
            if target.presence == Presence.SIGNED_OUT:
                raise Conflict(f"{to_agent.display_name}未签入，无法转接")
            room = (
                (target.active_voice == 0 and target.active_text == 0)
                if voice
                else (target.active_voice == 0 and target.active_text < target.text_capacity)
            )
            if not room:
                raise Conflict(f"{to_agent.display_name}当前没有空余的接待能力")
        locked.state = session_move(
            locked.state, "transfer_agent" if to_agent else "transfer_queue"
        )
        SessionLeg.objects.filter(session=locked, ended_at__isnull=True).update(
            ended_at=now, end=SessionLeg.End.TRANSFERRED, summary=summary, note=note[:200]
        )
        locked.held_at = None  # the next agent takes the call live
        if to_agent is not None:
            locked.agent = to_agent
            locked.save()
            SessionLeg.objects.create(
                session=locked, agent=to_agent, queue=locked.queue, offered_at=now, answered_at=now
            )
            acd.take_place(target, voice, +1)
            acd.set_agent(target, "transfer_in", now)
            where = "值班长" if to_leader else connectors.agent_name(to_agent)
        else:
            locked.agent = None
            locked.queue = to_queue
            locked.save()
            acd.enter_queue(locked, to_queue, now, first_entered_at=locked.queued_at or now)
            where = to_queue.name
        acd.fact(
            FactKind.TRANSFERRED,
            locked,
            now,
            agent_id=from_agent,
            to_agent=to_agent.pk if to_agent else None,
            to_queue=to_queue.pk if to_queue else None,
            leader=to_leader,
        )
        acd.system_message(locked, f"您好，您的会话已转接至{where}，请稍候。", now)
        if from_agent in locks:
            acd.take_place(locks[from_agent], voice, -1)
            acd.settle_agent(locks[from_agent], now, answered_ended=False)
        audit.record(
            "contact.session.transfer",
            locked,
            detail={
                "to_agent": to_agent.pk if to_agent else None,
                "to_queue": to_queue.pk if to_queue else None,
                "leader": to_leader,
                "note": note[:200],
            },
            actor=actor,
        )
    if to_queue is not None:
        acd.route(to_queue, now=now)
    if from_agent:
        acd.agent_freed(from_agent, now=now)
    return Session.objects.get(pk=session.pk)


# --- citizens -------------------------------------------------------------------------------------


def profile_update(*, actor: User, profile: CitizenProfile, **fields) -> CitizenProfile:
    require(actor, "contact.handle")
    allowed = {"name", "gender", "address", "note", "is_vip"}
    unknown = set(fields) - allowed
    if unknown:
        raise Unprocessable(f"不能修改：{'、'.join(sorted(unknown))}")
    with transaction.atomic():
        locked = CitizenProfile.objects.select_for_update().get(pk=profile.pk)
        before = audit.snapshot(locked, allowed)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.updated_at = timezone.now()
        locked.save()
        audit.record(
            "contact.profile.update",
            locked,
            before=before,
            after=audit.snapshot(locked, allowed),
            actor=actor,
        )
    return locked


def profile_add_identity(*, actor: User, profile: CitizenProfile, kind: str, value: str):
    require(actor, "contact.handle")
    if kind not in IdentityKind.values:
        raise Unprocessable("标识类型不正确", field="kind")
    value = (value or "").strip()
    if not value:
        raise Unprocessable("请填写号码或账号", field="value")
    try:
        with transaction.atomic():
            identity = CitizenIdentity.objects.create(
                profile=profile,
                platform_id=profile.platform_id,
                kind=kind,
                value=value,
                original_profile_id=profile.pk,
            )
            audit.record(
                "contact.profile.identity_add",
                profile,
                detail={"kind": kind, "value": value},
                actor=actor,
            )
    except IntegrityError:
        raise Conflict("该号码/账号已属于另一份档案，请使用档案合并") from None
    return identity


def profile_merge(*, actor: User, source: CitizenProfile, target: CitizenProfile) -> CitizenProfile:
    """Merge ``source`` into ``target``: identities and sessions move, the source row stays
    (``merged_into``) with a ``ProfileMerge`` record, so history is kept."""
    require(actor, "contact.handle")
    if source.pk == target.pk:
        raise Unprocessable("不能与自身合并")
    if source.platform_id != target.platform_id:
        raise Unprocessable("只能合并同一平台的档案")
    with transaction.atomic():
        first, second = sorted([source.pk, target.pk])
        locked = {
            p.pk: p
            for p in CitizenProfile.objects.select_for_update()
            .filter(pk__in=[first, second])
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id or target.merged_into_id:
            raise Conflict("档案已被合并过，请选择合并后的档案")
        identities = list(source.identities.values_list("kind", "value"))
        sessions = list(source.sessions.values_list("pk", flat=True))
        snapshot = audit.snapshot(source)
        source.identities.update(profile=target)
        Session.objects.filter(pk__in=sessions).update(citizen=target)
        for name in ("name", "gender", "address"):
            if not getattr(target, name) and getattr(source, name):
                setattr(target, name, getattr(source, name))
        target.is_vip = target.is_vip or source.is_vip
        target.updated_at = timezone.now()
        target.save()
        source.merged_into, source.merged_at = target, timezone.now()
        source.save()
        ProfileMerge.objects.create(
            source=source,
            target=target,
            actor=actor,
            identities=[list(i) for i in identities],
            sessions=sessions,
            source_snapshot=snapshot,
        )
        audit.record(
            "contact.profile.merge",
            target,
            detail={"source": source.pk, "identities": len(identities), "sessions": len(sessions)},
            actor=actor,
        )
    return target


# --- configuration (contact.configure) ---------------------------------------------------------------


QUEUE_FIELDS = (
    "name",
    "skill",
    "min_skill_level",
    "widen_after_seconds",
    "skill_bonus_seconds",
    "strategy",
    "time_zone",
    "weekly_hours",
    "out_of_hours_action",
    "out_of_hours_message",
    "out_of_hours_queue",
    "overflow_queue",
    "overflow_after_seconds",
    "max_length",
    "full_message",
    "max_wait_seconds",
    "offer_timeout_seconds",
    "idle_close_seconds",
    "priority_numbers",
    "designated_priority_seconds",
    "vip_priority_seconds",
    "emergency_priority_seconds",
    "is_active",
)


def _check_hours(hours, field: str, day: str = "") -> None:
    where = f"{day}的" if day else ""
    if not isinstance(hours, list):
        raise Unprocessable(f"{where}服务时间格式不正确", field=field)
    for span in hours:
        if not (isinstance(span, list | tuple) and len(span) == 2):
            raise Unprocessable(f"{where}服务时间须为“开始-结束”时段", field=field)
        shown = "-".join(str(x) for x in span)
        try:
            start = acd.parse_hhmm(span[0])
            end = acd.parse_hhmm(span[1])
        except (ValueError, AttributeError, TypeError):
            raise Unprocessable(
                f"{where}时段 {shown} 的时间格式不正确，应为 08:00-12:00", field=field
            ) from None
        if start is None or (end is not None and end <= start):
            raise Unprocessable(f"{where}时段 {shown} 的结束须晚于开始", field=field)


def _validate_queue(queue: Queue) -> None:
    if queue.strategy not in Strategy.values:
        raise Unprocessable("分配策略不正确", field="strategy")
    weekly = queue.weekly_hours
    if not isinstance(weekly, dict) or set(weekly) - {str(d) for d in range(7)}:
        raise Unprocessable("每周服务时间须按周一(0)至周日(6)填写", field="weekly_hours")
    for day, hours in sorted(weekly.items()):
        _check_hours(hours, "weekly_hours", WEEKDAY_LABELS[int(day)])
    try:
        queue.tz  # noqa: B018 — a bad name raises here
    except Exception:
        raise Unprocessable("时区不正确", field="time_zone") from None
    for target in (queue.overflow_queue, queue.out_of_hours_queue):
        if target is not None and (
            target.platform_id != queue.platform_id or target.pk == queue.pk
        ):
            raise Unprocessable("溢出/转至队列须为本平台的其他队列", field="overflow_queue")
    if queue.skill is not None and queue.skill.platform_id != queue.platform_id:
        raise Unprocessable("技能须属于本平台", field="skill")
    if not 1 <= queue.min_skill_level <= 5:
        raise Unprocessable("最低技能等级须在 1–5 之间", field="min_skill_level")
    if not isinstance(queue.priority_numbers, list):
        raise Unprocessable("指定优先号码须为列表", field="priority_numbers")
    if queue.out_of_hours_action not in OutOfHoursAction.values:
        raise Unprocessable("非服务时间处理方式不正确", field="out_of_hours_action")
    if queue.out_of_hours_action == OutOfHoursAction.OVERFLOW and queue.out_of_hours_queue is None:
        raise Unprocessable(
            "非服务时间处理为“转至其他队列”时，请选择转至的队列", field="out_of_hours_queue"
        )


def queue_create(
    *, actor: User | None, platform: Platform, code: str, name: str, **fields
) -> Queue:
    require(actor, "contact.configure")
    unknown = set(fields) - set(QUEUE_FIELDS)
    if unknown:
        raise Unprocessable(f"未知字段：{'、'.join(sorted(unknown))}")
    if not name.strip() or not code.strip():
        raise Unprocessable("请填写队列代码与名称")
    queue = Queue(platform=platform, code=code.strip(), name=name.strip(), **fields)
    _validate_queue(queue)
    try:
        with transaction.atomic():
            queue.save()
            audit.record("contact.queue.create", queue, after=audit.snapshot(queue), actor=actor)
    except IntegrityError:
        raise Conflict("队列代码已存在") from None
    return queue


def channel_entry_create(
    *,
    actor: User | None,
    platform: Platform,
    channel: str,
    code: str,
    name: str,
    queue: Queue,
    welcome: str | None = None,
    settings: dict | None = None,
) -> ChannelEntry:
    """渠道接入: open a door of a text channel (a web chat, a WeChat account …) into a queue."""
    require(actor, "contact.configure")
    if channel not in TEXT_CHANNELS:
        raise Unprocessable("渠道接入须为文字渠道", field="channel")
    if not code.strip() or not name.strip():
        raise Unprocessable("请填写接入代码与名称")
    if queue.platform_id != platform.pk:
        raise Unprocessable("队列须属于本平台", field="queue")
    settings = entry_settings(channel, settings or {})
    entry = ChannelEntry(
        platform=platform,
        channel=channel,
        code=code.strip(),
        name=name.strip(),
        queue=queue,
        settings=settings,
    )
    if welcome is not None:
        entry.welcome = welcome[:300]
    try:
        with transaction.atomic():
            entry.save()
            audit.record(
                "contact.entry.create", entry, after=entry_audit_snapshot(entry), actor=actor
            )
    except IntegrityError:
        raise Conflict("接入代码已存在") from None
    return entry


def entry_settings(channel: str, settings: dict, previous: dict | None = None) -> dict:
    """An entry's parameters checked against what its connector declares
    (``setting_fields``): required ones present, values text; a secret left blank keeps
    the one stored (the page never shows it back). Keys the connector does not declare
    are kept as they are (older settings, or set by the operator in the admin)."""
    if not isinstance(settings, dict):
        raise Unprocessable("接入参数格式不正确", field="settings")
    merged = {**(previous or {}), **settings}
    connector = connectors.for_channel(channel)
    for spec in connector.setting_fields if connector is not None else ():
        value = merged.get(spec.key, "")
        value = value.strip() if isinstance(value, str) else value
        if spec.secret and value in ("", None) and previous and previous.get(spec.key):
            value = previous[spec.key]
        if spec.required and value in ("", None):
            raise Unprocessable(f"请填写{spec.label}", field=spec.key)
        merged[spec.key] = value if value not in (None,) else ""
    return merged


def channel_entry_update(
    *,
    actor: User,
    entry: ChannelEntry,
    name: str,
    queue: Queue,
    welcome: str,
    is_active: bool,
    settings: dict,
) -> ChannelEntry:
    """渠道接入: change an entry's name, queue, welcome, parameters, or switch it off (a
    switched-off entry refuses its service's calls with 404 and takes no new contacts)."""
    require(actor, "contact.configure")
    with transaction.atomic():
        locked = ChannelEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.platform_id != actor.platform_id:
            raise NotFound("渠道接入不存在")
        if not (name or "").strip():
            raise Unprocessable("请填写名称", field="name")
        if queue.platform_id != locked.platform_id:
            raise Unprocessable("队列须属于本平台", field="queue")
        before = entry_audit_snapshot(locked)
        locked.name, locked.queue = name.strip()[:50], queue
        locked.welcome = (welcome or "")[:300]
        locked.is_active = bool(is_active)
        locked.settings = entry_settings(locked.channel, settings, locked.settings)
        locked.save()
        audit.record(
            "contact.entry.update",
            locked,
            before=before,
            after=entry_audit_snapshot(locked),
            actor=actor,
        )
    return locked


def entry_audit_snapshot(entry: ChannelEntry) -> dict:
    """An entry for the audit log, its secrets (AppSecret, passwords) blotted out."""
    connector = connectors.for_channel(entry.channel)
    secret = {f.key for f in connector.setting_fields if f.secret} if connector else set()
    values = audit.snapshot(entry)
    values["settings"] = {
        key: ("******" if key in secret and value else value)
        for key, value in (entry.settings or {}).items()
    }
    return values


def queue_update(*, actor: User | None, queue: Queue, **fields) -> Queue:
    """Routing settings change live: the next routing decision reads the row."""
    require(actor, "contact.configure")
    unknown = set(fields) - set(QUEUE_FIELDS)
    if unknown:
        raise Unprocessable(f"未知字段：{'、'.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Queue.objects.select_for_update().get(pk=queue.pk)
        before = audit.snapshot(locked)
        for name, value in fields.items():
            setattr(locked, name, value)
        _validate_queue(locked)
        locked.updated_at = timezone.now()
        locked.save()
        audit.record(
            "contact.queue.update", locked, before=before, after=audit.snapshot(locked), actor=actor
        )
    acd.route(locked)
    return locked


def list_add(
    *,
    actor: User | None,
    platform: Platform,
    kind: str,
    identity_kind: str,
    value: str,
    reason: str,
    expires_at: dt.datetime | None = None,
) -> ListEntry:
    """黑白名单: add an address, with an expiry (blacklists expire)."""
    require(actor, "contact.configure")
    if kind not in ListEntry.Kind.values:
        raise Unprocessable("名单类型不正确", field="kind")
    if identity_kind not in IdentityKind.values:
        raise Unprocessable("号码类型不正确", field="identity_kind")
    value, reason = (value or "").strip(), (reason or "").strip()
    if not value:
        raise Unprocessable("请填写号码或账号", field="value")
    if not reason:
        raise Unprocessable("请填写原因", field="reason")
    if expires_at is not None and expires_at <= timezone.now():
        raise Unprocessable("有效期须晚于当前时间", field="expires_at")
    with transaction.atomic():
        entry = ListEntry.objects.create(
            platform=platform,
            kind=kind,
            identity_kind=identity_kind,
            value=value,
            reason=reason,
            expires_at=expires_at,
            created_by=actor,
        )
        audit.record(f"contact.list.{kind}_add", entry, after=audit.snapshot(entry), actor=actor)
    return entry


def list_remove(*, actor: User | None, entry: ListEntry) -> ListEntry:
    require(actor, "contact.configure")
    with transaction.atomic():
        locked = ListEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.removed_at:
            raise Conflict("该名单记录已撤销")
        locked.removed_at = timezone.now()
        locked.save()
        audit.record(f"contact.list.{locked.kind}_remove", locked, actor=actor)
    return locked


# --- the supervisor seat (班长席, contact.supervise) ---------------------------------------------------

BARGE_NOTICE = "值班长已加入本次会话，将与客服一起为您服务。"
RELEASE_NOTICE = "您好，本次会话已结束，感谢您的耐心。如仍需帮助，欢迎再次咨询。"


def supervise_check(actor: User | None, session: Session) -> None:
    """A supervisor acts on a session of its own platform, of an agent in its scope."""
    require(actor, "contact.supervise")
    if actor is None:
        return
    if session.platform_id != actor.platform_id:
        raise NotFound("会话不存在")
    if session.agent_id:
        from hotline.core.services import require_user_in_scope

        require_user_in_scope(actor, session.agent)


def session_barge(*, actor: User, session: Session, now=None) -> SessionParticipant:
    """强插: the supervisor joins an agent's text session and may write into it
    (:func:`message_send`); the citizen is told, the agent sees it in the transcript.
    Joining again while joined returns the same participation."""
    now = now or timezone.now()
    supervise_check(actor, session)
    if session.is_voice:
        raise Conflict("语音通话不能在文字窗口中强插")
    if session.agent_id == actor.pk:
        raise Unprocessable("这是您本人接待的会话，无需强插")
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.state != SessionState.ACTIVE:
            raise Conflict(f"会话当前为“{locked.state_label}”，不能强插")
        joined = SessionParticipant.objects.filter(
            session=locked, user=actor, left_at__isnull=True
        ).first()
        if joined is not None:
            return joined
        joined = SessionParticipant.objects.create(session=locked, user=actor, joined_at=now)
        acd.system_message(locked, BARGE_NOTICE, now)
        audit.record(
            "contact.session.barge", locked, detail={"agent": locked.agent_id}, actor=actor
        )
        live.participant_changed(
            locked, actor, joined=True, role=SessionParticipant.Role.SUPERVISOR
        )
    return joined


def session_leave(*, actor: User, session: Session, now=None) -> None:
    """退出强插: the supervisor stops writing into the session (the agent carries on)."""
    now = now or timezone.now()
    require(actor, "contact.supervise")
    with transaction.atomic():
        left = SessionParticipant.objects.filter(
            session=session,
            user=actor,
            role=SessionParticipant.Role.SUPERVISOR,
            left_at__isnull=True,
        ).update(left_at=now, left_reason=SessionParticipant.Left.LEFT)
        if not left:
            raise Conflict("您未强插该会话")
        audit.record("contact.session.leave", session, actor=actor)
        live.participant_changed(
            session, actor, joined=False, role=SessionParticipant.Role.SUPERVISOR
        )


def session_release(*, actor: User, session: Session, now=None) -> Session:
    """强拆: the supervisor ends an agent's session (end reason ``released``). The citizen
    is told politely; the agent's place is freed and the agent writes its 会话小结 in
    wrap-up, as after any end."""
    now = now or timezone.now()
    supervise_check(actor, session)
    with transaction.atomic():
        # locks in the one order: the agent's presence, then the session
        AgentPresence.objects.select_for_update().filter(agent_id=session.agent_id).first()
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.agent_id != session.agent_id:
            raise Conflict("会话的坐席已变更，请刷新后重试")
        if locked.state != SessionState.ACTIVE:
            raise Conflict(f"会话当前为“{locked.state_label}”，不能强拆")
        acd.system_message(locked, RELEASE_NOTICE, now)
        agent_id = acd.end_session(locked.pk, now, reason="released")
        audit.record("contact.session.release", locked, detail={"agent": agent_id}, actor=actor)
    if agent_id:
        acd.agent_freed(agent_id, now=now)
    return Session.objects.get(pk=session.pk)


def session_takeover(*, actor: User, session: Session, now=None) -> Session:
    """接管: the supervisor takes the session from its agent — a transfer to oneself, so
    the history travels on and the citizen is told. The supervisor must be signed in
    with room for it."""
    now = now or timezone.now()
    supervise_check(actor, session)
    if session.agent_id == actor.pk:
        raise Unprocessable("该会话已由您本人接待")
    mine = AgentPresence.objects.filter(agent=actor).first()
    if mine is None or mine.presence == Presence.SIGNED_OUT:
        raise Conflict("接管会话前，请先在坐席工作台签入")
    moved = session_transfer(
        actor=actor,
        session=session,
        summary=f"值班长{actor.display_name}接管会话",
        to_agent=actor,
        now=now,
    )
    with transaction.atomic():
        SessionParticipant.objects.filter(session=moved, user=actor, left_at__isnull=True).update(
            left_at=now, left_reason=SessionParticipant.Left.LEFT
        )
        audit.record(
            "contact.session.takeover", moved, detail={"from_agent": session.agent_id}, actor=actor
        )
    return moved


# --- 满意度调查: 邀请评价 (the agent sends the rating request) -----------------------------------------


def session_request_rating(*, actor: User, session: Session, now=None) -> Session:
    """邀请评价: while the session is active, the agent sends the satisfaction request to
    the citizen; the channel's connector shows it in its own form (web chat: the rating
    panel). Stored on the session, as a notice in the transcript and a fact. Asking again
    before the citizen answered sends it again; after the rating, it is refused (409)."""
    now = now or timezone.now()
    own_session_check(actor, session)
    connector = connectors.for_channel(session.channel)
    if connector is None or not connector.rates_on_request:
        raise Conflict(f"{session.get_channel_display()}渠道暂不支持邀请评价")
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.satisfaction:
            raise Conflict(f"来电人已评价（{locked.satisfaction}），不能再次邀请评价")
        if locked.state == SessionState.WRAP_UP:
            raise Conflict("会话已结束，评价窗口已自动发送给来电人")
        if locked.state != SessionState.ACTIVE:
            raise Conflict(f"会话当前为“{locked.state_label}”，只能在会话中邀请评价")
        again = locked.rating_requested_at is not None
        locked.rating_requested_at = now
        locked.save(update_fields=["rating_requested_at"])
        acd.system_message(locked, connector.rating_notice, now)
        acd.fact(FactKind.RATE_ASKED, locked, now, agent_id=actor.pk, again=again)
        audit.record("contact.session.rating_request", locked, detail={"again": again}, actor=actor)
        session_id = locked.pk
        live.after_commit(lambda: connector.request_rating(Session.objects.get(pk=session_id)))
    return locked


# --- 多方会话: inviting colleagues and handling units' staff into a chat ----------------------------

INVITE_NOTICE = "{who}已加入会话，将协助为您解答。"
PARTICIPANT_LEFT_NOTICE = "{who}已退出会话。"


def session_invite(*, actor: User, session: Session, invitee: User, now=None) -> SessionParticipant:
    """多方会话: the session's agent (or a supervisor) invites another agent, back-office
    staff or a handling unit's staff member of the platform into an active text session.
    The invitee sees the transcript and writes into it (:func:`message_send`) beside the
    agent; the citizen is told who joined by work number or unit, never by name."""
    now = now or timezone.now()
    own_session_check(actor, session)
    if session.platform_id != actor.platform_id:
        raise NotFound("会话不存在")
    if session.is_voice:
        raise Conflict("语音通话不能邀请文字协助")
    if invitee is None or not assist_people(session.platform_id).filter(pk=invitee.pk).exists():
        raise Unprocessable("只能邀请本平台的工作人员或本平台承办单位的工作人员", field="user")
    if invitee.pk in (session.agent_id, actor.pk):
        raise Unprocessable("不能邀请会话的接待坐席本人", field="user")
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if locked.state != SessionState.ACTIVE:
            raise Conflict(f"会话当前为“{locked.state_label}”，不能邀请协助")
        if SessionParticipant.objects.filter(
            session=locked, user=invitee, left_at__isnull=True
        ).exists():
            raise Conflict(f"{invitee.display_name}已在会话中")
        joined = SessionParticipant.objects.create(
            session=locked,
            user=invitee,
            role=SessionParticipant.Role.INVITED,
            invited_by=actor,
            joined_at=now,
        )
        acd.system_message(locked, INVITE_NOTICE.format(who=connectors.agent_name(invitee)), now)
        acd.fact(
            FactKind.INVITED,
            locked,
            now,
            agent_id=locked.agent_id,
            user=invitee.pk,
            unit=invitee.unit_id,
        )
        audit.record(
            "contact.session.invite",
            locked,
            detail={"user": invitee.pk, "unit": invitee.unit_id},
            actor=actor,
        )
        live.participant_changed(locked, invitee, joined=True, role=joined.role)
        from django.urls import reverse

        from hotline.core.notify import notify

        notify(
            recipients=[invitee],
            kind="contact.invite",
            title="邀请您协助在线会话",
            body=f"{actor.display_name}邀请您加入会话 {locked.ref}，请在“会话协助”中查看并回复。",
            link=reverse("contact_assist"),
            key=f"contact.invite.{joined.pk}",
        )
    return joined


def session_participant_remove(*, actor: User, session: Session, user: User, now=None):
    """退出会话 (the invited person leaves: ``user`` is ``actor``) or 移出 (the session's
    agent, or a supervisor, removes them). The citizen is told; the agent carries on."""
    now = now or timezone.now()
    own = user.pk == actor.pk
    if not own:
        own_session_check(actor, session)
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        participation = (
            SessionParticipant.objects.select_for_update()
            .filter(
                session=locked,
                user=user,
                role=SessionParticipant.Role.INVITED,
                left_at__isnull=True,
            )
            .first()
        )
        if participation is None:
            raise Conflict("您已不在该会话中" if own else f"{user.display_name}不在会话中")
        participation.left_at = now
        participation.left_reason = (
            SessionParticipant.Left.LEFT if own else SessionParticipant.Left.REMOVED
        )
        participation.save(update_fields=["left_at", "left_reason"])
        if locked.state == SessionState.ACTIVE:
            acd.system_message(
                locked, PARTICIPANT_LEFT_NOTICE.format(who=connectors.agent_name(user)), now
            )
        audit.record(
            "contact.session.participant_leave" if own else "contact.session.participant_remove",
            locked,
            detail={"user": user.pk},
            actor=actor,
        )
        live.participant_changed(locked, user, joined=False, role=participation.role)
    return participation


# --- announcements (公告) ----------------------------------------------------------------------------

ANNOUNCEMENT_LONGEST = dt.timedelta(days=90)


def announcement_publish(
    *,
    actor: User,
    title: str,
    body: str,
    level: str = Announcement.Level.INFO,
    audience: str = Announcement.Audience.ALL,
    team: Team | None = None,
    agent: User | None = None,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    now=None,
) -> Announcement:
    """公告发布: to every agent of the supervisor's platform, one team or one agent, in
    force from ``starts_at`` (now when empty) until ``ends_at``. Recipients whose
    workbench is open see it at once."""
    now = now or timezone.now()
    require(actor, "contact.supervise")
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise Unprocessable("请填写公告标题", field="title")
    if len(title) > 100:
        raise Unprocessable("公告标题不能超过 100 字", field="title")
    if not body:
        raise Unprocessable("请填写公告内容", field="body")
    if len(body) > 2000:
        raise Unprocessable("公告内容不能超过 2000 字", field="body")
    if level not in Announcement.Level.values:
        raise Unprocessable("公告级别须为通知或重要", field="level")
    if audience not in Announcement.Audience.values:
        raise Unprocessable("发送范围须为全体坐席、指定班组或指定坐席", field="audience")
    if audience == Announcement.Audience.TEAM:
        if team is None or team.platform_id != actor.platform_id:
            raise Unprocessable("请选择本平台的班组", field="team")
    else:
        team = None
    if audience == Announcement.Audience.AGENT:
        if agent is None or agent.platform_id != actor.platform_id:
            raise Unprocessable("请选择本平台的坐席", field="agent")
    else:
        agent = None
    starts_at = _aware(starts_at) or now
    ends_at = _aware(ends_at)
    if ends_at is None:
        raise Unprocessable("请填写有效期", field="ends_at")
    if ends_at <= max(starts_at, now):
        raise Unprocessable("有效期须晚于生效时间和当前时间", field="ends_at")
    if ends_at - starts_at > ANNOUNCEMENT_LONGEST:
        raise Unprocessable("公告有效期最长 90 天", field="ends_at")
    with transaction.atomic():
        announcement = Announcement.objects.create(
            platform_id=actor.platform_id,
            title=title,
            body=body,
            level=level,
            audience=audience,
            team=team,
            agent=agent,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=actor,
            created_at=now,
        )
        audit.record(
            "contact.announcement.publish",
            announcement,
            after=audit.snapshot(announcement, ["title", "level", "audience", "team", "agent"])
            | {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
            actor=actor,
        )
        if starts_at <= now:
            _announce(announcement, now)
    return announcement


def announcements_due(now=None) -> int:
    """Announcements whose start has come (published ahead of time) go out live now; each
    once (``announced_at``). For the worker's sweep; returns how many went out."""
    now = now or timezone.now()
    sent = 0
    due = Announcement.objects.filter(
        announced_at__isnull=True, withdrawn_at__isnull=True, starts_at__lte=now, ends_at__gt=now
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            announcement = (
                Announcement.objects.select_for_update(of=("self",))
                .select_related("created_by")
                .filter(pk=pk, announced_at__isnull=True, withdrawn_at__isnull=True)
                .first()
            )
            if announcement is not None:
                _announce(announcement, now)
                sent += 1
    return sent


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A time typed without a zone is the platform's local time."""
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _announce(announcement: Announcement, now) -> None:
    """The live event on each recipient's workbench (the workbench's contract)."""
    from .selectors import announcement_payload, announcement_recipients

    Announcement.objects.filter(pk=announcement.pk).update(announced_at=now)
    announcement.announced_at = now
    recipients = announcement_recipients(announcement)
    live.publish(
        [live.desk_group(pk) for pk in recipients],
        "announcement",
        **announcement_payload(announcement),
    )


def announcement_withdraw(*, actor: User, announcement: Announcement, now=None) -> Announcement:
    """撤回: the announcement leaves every workbench (a live ``announcement_withdrawn``)."""
    now = now or timezone.now()
    require(actor, "contact.supervise")
    if announcement.platform_id != actor.platform_id:
        raise NotFound("公告不存在")
    with transaction.atomic():
        locked = Announcement.objects.select_for_update().get(pk=announcement.pk)
        if locked.withdrawn_at is not None:
            raise Conflict("该公告已撤回")
        if locked.ends_at <= now:
            raise Conflict("该公告已过期，无需撤回")
        locked.withdrawn_at, locked.withdrawn_by = now, actor
        locked.save(update_fields=["withdrawn_at", "withdrawn_by"])
        audit.record("contact.announcement.withdraw", locked, actor=actor)
        from .selectors import announcement_recipients

        live.publish(
            [live.desk_group(pk) for pk in announcement_recipients(locked)],
            "announcement_withdrawn",
            id=locked.pk,
        )
    return locked


AUDIT_LABELS = {
    "contact.agent.sign_in_ready": "坐席签入（示闲）",
    "contact.agent.sign_in_not_ready": "坐席签入（示忙）",
    "contact.agent.ready": "坐席示闲",
    "contact.agent.not_ready": "坐席示忙",
    "contact.agent.sign_out": "坐席签出",
    "contact.agent.settings": "修改坐席状态设置",
    "contact.session.accept": "接起会话",
    "contact.session.end": "结束会话",
    "contact.session.close": "填写会话小结",
    "contact.session.transfer": "转接会话",
    "contact.profile.update": "修改来电人档案",
    "contact.profile.identity_add": "档案新增号码/账号",
    "contact.profile.merge": "合并来电人档案",
    "contact.queue.create": "新建排队队列",
    "contact.entry.create": "新建渠道接入",
    "contact.session.callback": "完成回拨任务",
    "contact.queue.update": "修改排队队列",
    "contact.list.black_add": "加入黑名单",
    "contact.list.white_add": "加入白名单",
    "contact.list.black_remove": "撤销黑名单",
    "contact.list.white_remove": "撤销白名单",
    "contact.session.barge": "班长强插会话",
    "contact.session.leave": "班长退出强插",
    "contact.session.release": "班长强拆会话",
    "contact.session.takeover": "班长接管会话",
    "contact.session.rating_request": "邀请来电人评价",
    "contact.session.invite": "邀请人员加入会话",
    "contact.session.participant_leave": "受邀人员退出会话",
    "contact.session.participant_remove": "移出受邀人员",
    "contact.announcement.publish": "发布公告",
    "contact.announcement.withdraw": "撤回公告",
}
