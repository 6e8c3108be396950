"""Every write of the voice app: IVR flows (audited), call recordings, callbacks and the
parties who join a live call (班长监听/耳语/强插, 12345–110 联动)."""

import datetime as dt
import pathlib

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hotline.contact.lifecycle import SessionState
from hotline.contact.models import PHONE_CHANNELS, IdentityKind, Queue, Session
from hotline.contact.selectors import session_for
from hotline.contact.services import own_session_check, supervise_check
from hotline.core import audit
from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.services import require

from . import ivr, selectors
from .models import CallParty, CallRecording, IvrFlow, MediaNodeStatus, OutboundCall


def ivr_flow_save(
    *,
    actor: User | None,
    platform: Platform,
    code: str,
    name: str,
    number: str,
    start: str,
    nodes: dict,
    is_active: bool = True,
) -> IvrFlow:
    """Create or replace the flow ``code`` of ``platform`` after checking it."""
    require(actor, "contact.configure")
    code, name, number = code.strip(), name.strip(), number.strip()
    if not code or not name or not number.isdigit():
        raise Unprocessable("请填写流程代码、名称和数字接入号码")
    queue_codes = set(Queue.objects.filter(platform=platform).values_list("code", flat=True))
    ivr.check(start, nodes, queue_codes)
    try:
        with transaction.atomic():
            flow = IvrFlow.objects.select_for_update().filter(platform=platform, code=code).first()
            before = audit.snapshot(flow) if flow else None
            flow = flow or IvrFlow(platform=platform, code=code)
            flow.name, flow.number, flow.start, flow.nodes = name, number, start, nodes
            flow.is_active, flow.updated_at = is_active, timezone.now()
            flow.save()
            audit.record(
                "telephony.ivr.save",
                flow,
                before=before,
                after=audit.snapshot(flow),
                actor=actor,
            )
    except IntegrityError:
        raise Conflict(f"号码 {number} 已有启用的流程") from None
    return flow


def default_flow_create(*, platform: Platform, queue: Queue, number: str = "12345") -> IvrFlow:
    """The shipped flow for ``number`` into ``queue`` (for the demo data and first runs)."""
    start, nodes = ivr.default_nodes(queue.code)
    return ivr_flow_save(
        actor=None,
        platform=platform,
        code="default",
        name="默认来电流程",
        number=number,
        start=start,
        nodes=nodes,
    )


def recording_add(
    *,
    session_id: int | None,
    agent_id: int | None,
    file: str,
    started_at,
    seconds: float,
    size: int,
    call_id: int | None = None,
) -> CallRecording:
    """A bridged call's recording, written by the media node, filed with its session
    and, for a call the node placed, with that call (an order's calls have no session)."""
    return CallRecording.objects.create(
        session_id=session_id,
        call_id=call_id,
        agent_id=agent_id,
        file=file,
        started_at=started_at,
        seconds=round(seconds, 2),
        size=size,
    )


def recording_open(*, actor: User, recording: CallRecording) -> pathlib.Path:
    """Whoever may open the call's session may play its recording; each play is audited
    (录音调听留痕)."""
    if recording.session_id is not None:
        session_for(actor, recording.session_id)  # NotFound for anyone else
    elif recording.call is not None and recording.call.order_id is not None:
        from hotline.workorders.selectors import order_get

        if not actor.can("workorders.callback"):
            raise NotFound("录音不存在")
        order_get(actor, recording.call.order.number)  # NotFound for an order not theirs
    else:
        raise NotFound("录音不存在")
    path = pathlib.Path(settings.MEDIA_ROOT) / recording.file
    if not path.is_file():
        raise NotFound("录音文件已丢失")
    audit.record("telephony.recording.play", recording, actor=actor)
    return path


# --- 电话回拨 (the agent asks; the media node dials and reports) ---------------------------------

NO_PHONE = "请先在坐席工作台的“状态设置”中填写坐席话机"


def _number_of(session: Session) -> str:
    """The citizen's telephone number: the session's own address on a phone channel,
    else a phone on the citizen's profile."""
    if session.channel in PHONE_CHANNELS and session.address.isdigit():
        return session.address
    if session.citizen_id:
        phone = session.citizen.identities.filter(kind=IdentityKind.PHONE).first()
        if phone is not None:
            return phone.value
    return ""


def callback_call(*, actor: User, session: Session) -> OutboundCall:
    """电话回拨: the media node rings the agent's phone, then calls the citizen showing the
    hotline's number, never the agent's (号码隐藏). Audited."""
    require(actor, "contact.handle")
    session = session_for(actor, session.pk)
    number = _number_of(session)
    if not number:
        raise Unprocessable("该来电人没有电话号码，无法电话回拨")
    return _place(actor, session.platform, number, session=session)


def order_call(*, actor: User, order) -> OutboundCall:
    """电话外呼 from an order (回访台, the order page): as 电话回拨 — the agent's phone
    first, then the caller's number, never shown to anyone (a confidential order's too) —
    and the call, its result and its recording are logged on the order's timeline."""
    from hotline.workorders.selectors import order_get

    require(actor, "workorders.callback")
    order = order_get(actor, order.number)
    if not order.caller_phone.isdigit():
        raise Unprocessable("该工单没有来电人电话，无法外呼")
    return _place(actor, order.platform, order.caller_phone, order=order)


def _place(actor: User, platform: Platform, number: str, **about) -> OutboundCall:
    """An outbound call for a media node with a trunk to place; one at a time per agent."""
    if not selectors.phone_of(actor.pk):
        raise Conflict(NO_PHONE)
    with transaction.atomic():
        if (
            OutboundCall.objects.select_for_update()
            .filter(agent=actor, state__in=OutboundCall.OPEN)
            .exists()
        ):
            raise Conflict("您有一个电话外呼尚未结束")
        call = OutboundCall.objects.create(
            platform=platform,
            agent=actor,
            number=number,
            caller_id=platform.hotline_number,
            **about,
        )
        what = {"session": about["session"].ref} if "session" in about else {}
        if "order" in about:
            what = {"order": about["order"].number}
        audit.record("telephony.callback.dial", call, detail=what, actor=actor)
    return call


def callbacks_claim(*, node: str, limit: int = 5) -> list[OutboundCall]:
    """The waiting callbacks a media node takes on (each by one node only)."""
    with transaction.atomic():
        calls = list(
            OutboundCall.objects.select_for_update(skip_locked=True)
            .filter(state=OutboundCall.State.REQUESTED)
            .select_related("session", "order", "platform")
            .order_by("created_at")[:limit]
        )
        for call in calls:
            call.state, call.node = OutboundCall.State.DIALING_AGENT, node[:100]
            call.save(update_fields=["state", "node"])
    return calls


def callback_progress(*, call_id: int, state: str, result: str = "", now=None) -> None:
    """What the node reports: ringing the citizen, connected, ended or failed (with why).
    A call from an order, once over, is one entry of the order's timeline."""
    now = now or timezone.now()
    call = OutboundCall.objects.select_related("order", "agent").get(pk=call_id)
    _move(call, state, result, now)
    if call.order is not None and state in ("ended", "failed"):
        _log_on_order(call, now)


def _log_on_order(call: OutboundCall, now) -> None:
    from hotline.workorders.services import timeline_event

    talked = (now - call.connected_at).total_seconds() if call.connected_at else None
    state = call.order.state
    timeline_event(
        call.order,
        ORDER_CALL_EVENT,
        call.agent,
        state,
        state,
        at=now,
        data={
            "connected": call.connected_at is not None,
            "seconds": round(talked) if talked is not None else None,
            "result": call.result or call.get_state_display(),
            "call": call.pk,
        },
    )


ORDER_CALL_EVENT = "phone_call"  # the order timeline's action for a call placed from it


def _move(call: OutboundCall | CallParty, state: str, result: str, now) -> None:
    """A placed call's step as the node reports it (both kinds share the states)."""
    call.state = type(call).State(state)
    if result:
        call.result = result[:100]
    if state == "connected":
        call.connected_at = now
    if state in ("ended", "failed"):
        call.ended_at = now
    call.save()


def node_heartbeat(
    *,
    name: str,
    address: str,
    started_at,
    calls: int,
    bridges: int,
    trunk: str = "",
    trunk_ok: bool | None = None,
    trunk_detail: str = "",
    trunk_checked_at=None,
    stopping: bool = False,
    now=None,
) -> MediaNodeStatus:
    """A media node says it is alive (or stopping, so that its silence is no alarm)."""
    now = now or timezone.now()
    status, _ = MediaNodeStatus.objects.update_or_create(
        name=name[:100],
        defaults=dict(
            address=address[:100],
            started_at=started_at,
            last_seen=now,
            stopped_at=now if stopping else None,
            calls=calls,
            bridges=bridges,
            trunk=trunk[:100],
            trunk_ok=trunk_ok,
            trunk_detail=trunk_detail[:100],
            trunk_checked_at=trunk_checked_at,
        ),
    )
    return status


CLAIM_WITHIN = dt.timedelta(seconds=60)  # a callback no node takes by then: none can
CALLBACK_AT_MOST = dt.timedelta(hours=2)  # no callback lasts this long


def callbacks_sweep(now=None) -> dict:
    """Callbacks nobody will finish (worker, every minute): one no node took (none runs
    with a trunk), one whose node went silent or stopped, one open for hours. Each is
    ended with the reason, so the task shows it and the agent may dial again."""
    now = now or timezone.now()
    counts = {"unclaimed": 0, "node_lost": 0, "too_long": 0}
    alive = {
        status.name
        for status in MediaNodeStatus.objects.filter(stopped_at__isnull=True)
        if (now - status.last_seen).total_seconds() <= selectors.SILENT_AFTER
    }
    for call in OutboundCall.objects.filter(state__in=OutboundCall.OPEN):
        if call.created_at < now - CALLBACK_AT_MOST:
            state, reason, key = OutboundCall.State.ENDED, "通话超时，已结束", "too_long"
        elif call.state == OutboundCall.State.REQUESTED:
            if call.created_at > now - CLAIM_WITHIN:
                continue
            state, key = OutboundCall.State.FAILED, "unclaimed"
            reason = "没有可外呼的媒体节点（需以 --trunk 启动）"
        elif call.node not in alive:
            state, reason, key = OutboundCall.State.FAILED, "媒体节点中断", "node_lost"
        else:
            continue
        callback_progress(call_id=call.pk, state=state, result=reason, now=now)
        counts[key] += 1
    return counts


# --- parties who join a live call (the platform asks; the media node rings and reports) ----------


def _live_call(session_id: int) -> Session:
    """The session, locked, if it is a voice call in progress."""
    locked = Session.objects.select_for_update().get(pk=session_id)
    if not locked.is_voice:
        raise Unprocessable("只有语音通话可以这样操作")
    if locked.state != SessionState.ACTIVE:
        raise Conflict(f"会话当前为“{locked.state_label}”，通话不在进行中")
    return locked


def party_supervise(*, actor: User, session: Session, mode: str, now=None) -> CallParty:
    """监听 / 耳语 / 强插 a call on the floor: the supervisor's own phone rings and, picked
    up, joins the call as ``mode`` (``legs.SPEAKS_TO``: listen — nobody hears the
    supervisor; whisper — only the agent; barge — both). Asked again while on, only the
    mode changes (the node follows within a second). Audited."""
    now = now or timezone.now()
    supervise_check(actor, session)
    if mode not in CallParty.SUPERVISOR_MODES:
        raise Unprocessable("方式须为：监听、耳语或强插", field="mode")
    if session.agent_id == actor.pk:
        raise Unprocessable("这是您本人接听的通话")
    with transaction.atomic():
        locked = _live_call(session.pk)
        party = (
            CallParty.objects.select_for_update()
            .filter(session=locked, user=actor, state__in=CallParty.OPEN)
            .first()
        )
        if party is not None:
            if party.mode != mode:
                was, party.mode = party.get_mode_display(), mode
                party.save(update_fields=["mode"])
                audit.record(
                    "telephony.party.mode",
                    party,
                    detail={"session": locked.ref, "from": was, "to": party.get_mode_display()},
                    actor=actor,
                )
            return party
        phone = selectors.phone_of(actor.pk)
        if not phone:
            raise Conflict(NO_PHONE + "（班长话机）")
        party = CallParty.objects.create(
            session=locked,
            kind=CallParty.Kind.SUPERVISOR,
            mode=mode,
            user=actor,
            requested_by=actor,
            target=phone,
            label=actor.display_name,
            created_at=now,
        )
        audit.record(
            "telephony.party.supervise",
            party,
            detail={"session": locked.ref, "agent": locked.agent_id, "mode": mode},
            actor=actor,
        )
    return party


def party_linkage(*, actor: User, session: Session, number: str, mode: str, now=None) -> CallParty:
    """12345–110 联动: the node calls one of the platform's linkage numbers (110, 119, 120,
    122 or as configured) over the trunk, showing the hotline's number and carrying the
    caller's (随路数据). ``three_way`` — all three talk, and the agent may hang up to leave
    the caller with it; ``transfer`` — once it answers the agent leaves at once. The record
    stays on the session and on the order made from it. Audited."""
    now = now or timezone.now()
    own_session_check(actor, session)
    if mode not in CallParty.OUTSIDE_MODES:
        raise Unprocessable("方式须为：三方通话或转接", field="mode")
    target = next(
        (t for t in selectors.linkage_targets(session.platform) if t.number == number), None
    )
    if target is None:
        raise Unprocessable("请选择一个联动号码", field="number")
    with transaction.atomic():
        locked = _live_call(session.pk)
        if (
            CallParty.objects.select_for_update()
            .filter(session=locked, kind=CallParty.Kind.OUTSIDE, state__in=CallParty.OPEN)
            .exists()
        ):
            raise Conflict("本通话已有一个联动转接在进行")
        party = CallParty.objects.create(
            session=locked,
            kind=CallParty.Kind.OUTSIDE,
            mode=mode,
            requested_by=actor,
            target=target.number,
            label=f"{target.number} {target.name}",
            created_at=now,
        )
        audit.record(
            "telephony.party.linkage",
            party,
            detail={"session": locked.ref, "number": target.number, "mode": mode},
            actor=actor,
        )
    return party


def party_end(*, actor: User, party: CallParty, now=None) -> CallParty:
    """结束监听 / 挂断联动方: the node hangs that phone up; the call goes on. The
    supervisor ends its own; the agent or a supervisor ends an outside party."""
    now = now or timezone.now()
    if party.kind == CallParty.Kind.SUPERVISOR:
        supervise_check(actor, party.session)
        if party.user_id != actor.pk:
            raise Forbidden("只能结束您本人的监听")
    else:
        own_session_check(actor, party.session)
    with transaction.atomic():
        locked = CallParty.objects.select_for_update().get(pk=party.pk)
        if not locked.is_open:
            return locked  # already over: pressing twice changes nothing
        locked.state, locked.ended_at = CallParty.State.ENDED, now
        locked.result = (
            "班长结束监听" if locked.kind == CallParty.Kind.SUPERVISOR else "坐席挂断联动方"
        )
        locked.save(update_fields=["state", "ended_at", "result"])
        audit.record(
            "telephony.party.end", locked, detail={"session": locked.session.ref}, actor=actor
        )
    return locked


def party_progress(*, party_id: int, state: str, result: str = "", now=None) -> None:
    """What the node reports: ringing, connected, ended or failed (with why). An end the
    platform already recorded (the supervisor stopped listening) is kept as it was."""
    with transaction.atomic():
        party = CallParty.objects.select_for_update().get(pk=party_id)
        if party.is_open:
            _move(party, state, result, now or timezone.now())


PARTY_UNPLACED = dt.timedelta(minutes=2)  # asked for, never connected, and the call is over


def parties_sweep(now=None) -> int:
    """Parties no node will report on (worker, every minute): one never connected whose
    call is over, one connected for hours. Each is ended with the reason."""
    now = now or timezone.now()
    swept = 0
    for party in CallParty.objects.filter(state__in=CallParty.OPEN).select_related("session"):
        if party.state == CallParty.State.CONNECTED:
            if party.created_at > now - CALLBACK_AT_MOST:
                continue
        elif party.session.state == SessionState.ACTIVE or party.created_at > now - PARTY_UNPLACED:
            continue
        party_progress(party_id=party.pk, state=CallParty.State.ENDED, result="通话已结束", now=now)
        swept += 1
    return swept
