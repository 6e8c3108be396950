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

from django.db import IntegrityError, transaction
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.services import require

from . import acd
from .lifecycle import (
    AGENT_CHOSEN_REASONS,
    NOT_READY_REASONS,
    Activity,
    Presence,
    SessionState,
    delivery_move,
    session_move,
)
from .models import (
    SATISFACTION,
    TEXT_CHANNELS,
    AfterWrapUp,
    AgentPresence,
    Channel,
    CitizenIdentity,
    CitizenProfile,
    FactKind,
    IdentityKind,
    ListEntry,
    Message,
    ProfileMerge,
    Queue,
    QueueEntry,
    Session,
    SessionLeg,
    Strategy,
)

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
    now: dt.datetime | None = None,
) -> Session:
    """A new contact (a call rings, a first chat message): find or make the citizen's
    profile, place the contact in ``queue`` (or refuse it politely) and route."""
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
    now: dt.datetime | None = None,
) -> Message:
    """A citizen's message. Sticky routing (R-MM-3): while the citizen has an open session
    on this channel, the message joins it — and so goes to its agent — until it closes;
    otherwise it opens a new session in ``queue``."""
    now = now or timezone.now()
    if channel not in TEXT_CHANNELS:
        raise Unprocessable("语音渠道没有文字消息", field="channel")
    if kind not in Message.Kind.values or kind == Message.Kind.EVENT:
        raise Unprocessable("消息类型不正确", field="kind")
    if not (body or "").strip() and not attachment:
        raise Unprocessable("消息内容不能为空", field="body")
    open_session = (
        Session.objects.filter(
            platform=platform,
            channel=channel,
            address=address,
            state__in=[
                SessionState.QUEUED,
                SessionState.OFFERED,
                SessionState.ACTIVE,
                SessionState.WRAP_UP,
            ],
        )
        .order_by("-pk")
        .first()
    )
    session = open_session or contact_arrive(
        platform=platform, channel=channel, address=address, queue=queue, subject=body[:60], now=now
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
    return message


def message_send(
    *,
    actor: User,
    session: Session,
    body: str = "",
    kind: str = Message.Kind.TEXT,
    attachment=None,
    now=None,
) -> Message:
    """An agent's reply; the connector delivers it (pending → sent → delivered …)."""
    now = now or timezone.now()
    require(actor, "contact.handle")
    if session.agent_id != actor.pk:
        raise Forbidden("只能在自己接待的会话中发送消息")
    if session.state not in (SessionState.ACTIVE, SessionState.WRAP_UP):
        raise Conflict(f"会话当前为“{session.state_label}”，不能发送消息")
    if kind not in (Message.Kind.TEXT, Message.Kind.IMAGE, Message.Kind.FILE):
        raise Unprocessable("消息类型不正确", field="kind")
    if not (body or "").strip() and not attachment:
        raise Unprocessable("消息内容不能为空", field="body")
    return Message.objects.create(
        session=session,
        direction=Message.Direction.OUTBOUND,
        kind=kind,
        body=body,
        attachment=attachment or "",
        sender=actor,
        at=now,
    )


def message_delivery(*, message: Message, status: str, error: str = "") -> Message:
    """A connector reports an outbound message's fate (one connector protocol)."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        locked.delivery = delivery_move(locked.delivery, status)
        if status == "sent":
            locked.attempts += 1
        locked.last_error = error[:300]
        locked.save()
    return locked


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


def contact_rate(*, session: Session, satisfaction: str, now=None) -> Session:
    """The citizen's rating at the end (满意度, adapted to the channel by its connector)."""
    now = now or timezone.now()
    if satisfaction not in SATISFACTION:
        raise Unprocessable("满意度须为：" + "、".join(SATISFACTION), field="satisfaction")
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        if (
            locked.state not in (SessionState.WRAP_UP, SessionState.CLOSED)
            or not locked.answered_at
        ):
            raise Conflict("会话结束后才能评价")
        if locked.satisfaction:
            raise Conflict("本次会话已评价")
        locked.satisfaction, locked.satisfaction_at = satisfaction, now
        locked.save(update_fields=["satisfaction", "satisfaction_at"])
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
) -> AgentPresence:
    """状态设置: wrap-up, after-session state, auto or manual accept, chat capacity."""
    agent = agent or actor
    _may_steer(actor, agent)
    if text_capacity is not None and not 1 <= text_capacity <= 20:
        raise Unprocessable("文字会话并发上限须在 1–20 之间", field="text_capacity")
    if wrap_up_seconds is not None and not 0 <= wrap_up_seconds <= 3600:
        raise Unprocessable("整理时长须在 0–3600 秒之间", field="wrap_up_seconds")
    if after_wrap_up is not None and after_wrap_up not in AfterWrapUp.values:
        raise Unprocessable("整理后状态须为自动示闲或自动示忙", field="after_wrap_up")
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


# --- sessions (the agent's verbs) -------------------------------------------------------------------


def _own_session(actor: User, session: Session) -> None:
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
    goes to wrap-up for its 会话小结; the agent's place is freed."""
    now = now or timezone.now()
    if actor is not None:
        _own_session(actor, session)
    agent_id = acd.end_session(session.pk, now, reason="agent" if actor else "citizen")
    if actor is not None:
        audit.record("contact.session.end", session, actor=actor)
    if agent_id:
        acd.agent_freed(agent_id, now=now)
    return Session.objects.get(pk=session.pk)


def session_close(*, actor: User, session: Session, summary: str, now=None) -> Session:
    """会话小结: write the summary and close; the agent's wrap-up ends with its last one."""
    now = now or timezone.now()
    _own_session(actor, session)
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
    _own_session(actor, session)
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
            ended_at=now, end=SessionLeg.End.TRANSFERRED, summary=summary
        )
        if to_agent is not None:
            locked.agent = to_agent
            locked.save()
            SessionLeg.objects.create(
                session=locked, agent=to_agent, queue=locked.queue, offered_at=now, answered_at=now
            )
            acd.take_place(target, voice, +1)
            acd.set_agent(target, "transfer_in", now)
            where = f"坐席{to_agent.display_name}" if not to_leader else "值班长"
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


def _check_hours(hours, field: str) -> None:
    if not isinstance(hours, list):
        raise Unprocessable("服务时间格式不正确", field=field)
    for span in hours:
        if not (isinstance(span, list | tuple) and len(span) == 2):
            raise Unprocessable("服务时间须为 [开始, 结束] 时段", field=field)
        try:
            start = acd.parse_hhmm(span[0])
            end = acd.parse_hhmm(span[1])
        except (ValueError, AttributeError, TypeError):
            raise Unprocessable(f"时间格式不正确：{span}", field=field) from None
        if start is None or (end is not None and end <= start):
            raise Unprocessable(f"时段的结束须晚于开始：{span}", field=field)


def _validate_queue(queue: Queue) -> None:
    if queue.strategy not in Strategy.values:
        raise Unprocessable("分配策略不正确", field="strategy")
    weekly = queue.weekly_hours
    if not isinstance(weekly, dict) or set(weekly) - {str(d) for d in range(7)}:
        raise Unprocessable("每周服务时间须按周一(0)至周日(6)填写", field="weekly_hours")
    for hours in weekly.values():
        _check_hours(hours, "weekly_hours")
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
    "contact.queue.update": "修改排队队列",
    "contact.list.black_add": "加入黑名单",
    "contact.list.white_add": "加入白名单",
    "contact.list.black_remove": "撤销黑名单",
    "contact.list.white_remove": "撤销白名单",
}
