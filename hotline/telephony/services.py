"""Every write of the voice app: IVR flows (audited), call recordings, callbacks and the
parties who join a live call (班长监听/耳语/强插, 12345–110 联动)."""

import datetime as dt
import json
import pathlib
import re
import secrets
import wave

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

from . import digest, ivr, prompts, selectors
from .models import (
    CallParty,
    CallRecording,
    IvrFlow,
    MediaNodeStatus,
    OutboundCall,
    SipAccount,
)


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
            OutboundCall.objects.select_for_update(skip_locked=True, of=("self",))
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


def party_consult(*, actor: User, session: Session, to_agent: User, now=None) -> CallParty:
    """咨询转接, first half: the caller holds (music) while the node rings ``to_agent``'s
    phone; picked up, the two agents talk and the caller hears neither. Then
    :func:`party_consult_complete` hands the call over, or :func:`party_end` cancels and
    the caller is back with the agent. Audited."""
    now = now or timezone.now()
    own_session_check(actor, session)
    if to_agent.pk == actor.pk or to_agent.platform_id != session.platform_id:
        raise Unprocessable("请选择本平台的另一位坐席", field="agent")
    phone = selectors.phone_of(to_agent.pk)
    if not phone:
        raise Conflict(f"{to_agent.display_name}没有设置坐席话机，无法咨询")
    with transaction.atomic():
        locked = _live_call(session.pk)
        if (
            CallParty.objects.select_for_update()
            .filter(session=locked, kind=CallParty.Kind.AGENT, state__in=CallParty.OPEN)
            .exists()
        ):
            raise Conflict("本通话已有一个咨询在进行")
        party = CallParty.objects.create(
            session=locked,
            kind=CallParty.Kind.AGENT,
            mode=CallParty.Mode.CONSULT,
            user=to_agent,
            requested_by=actor,
            target=phone,
            label=to_agent.display_name,
            created_at=now,
        )
        locked.held_at = locked.held_at or now  # the caller holds while the agents talk
        locked.save(update_fields=["held_at"])
        audit.record(
            "telephony.party.consult",
            party,
            detail={"session": locked.ref, "to_agent": to_agent.pk},
            actor=actor,
        )
    return party


def party_consult_complete(*, actor: User, party: CallParty, summary: str, now=None) -> Session:
    """咨询转接, second half (完成转接): the call is transferred to the consulted agent,
    whose phone is on the line already — the node hands the caller over to it and hangs
    up the first agent's. The summary travels with the session as in any transfer."""
    from hotline.contact.services import session_transfer

    now = now or timezone.now()
    if party.kind != CallParty.Kind.AGENT or not party.is_open:
        raise Conflict("该咨询已结束，不能完成转接")
    if party.state != CallParty.State.CONNECTED:
        raise Conflict("对方尚未接听，请稍候再完成转接")
    moved = session_transfer(
        actor=actor, session=party.session, summary=summary, to_agent=party.user, now=now
    )
    with transaction.atomic():
        Session.objects.filter(pk=moved.pk).update(held_at=None)
        _move(party, CallParty.State.ENDED, "已完成转接", now)
        audit.record("telephony.party.consult_complete", party, actor=actor)
    return Session.objects.get(pk=moved.pk)


def party_end(*, actor: User, party: CallParty, now=None) -> CallParty:
    """结束监听 / 挂断联动方 / 取消咨询: the node hangs that phone up; the call goes on. The
    supervisor ends its own; the agent or a supervisor ends an outside party or a
    consultation (the caller is taken off hold)."""
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
        locked.result = {
            CallParty.Kind.SUPERVISOR: "班长结束监听",
            CallParty.Kind.OUTSIDE: "坐席挂断联动方",
            CallParty.Kind.AGENT: "坐席取消咨询",
        }[locked.kind]
        locked.save(update_fields=["state", "ended_at", "result"])
        if locked.kind == CallParty.Kind.AGENT:  # the caller is back with the agent
            Session.objects.filter(pk=locked.session_id).update(held_at=None)
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


# The audit viewer's names of this app's acts.
AUDIT_LABELS = {
    "telephony.ivr.save": "保存 IVR 流程",
    "telephony.prompt.upload": "上传录音提示音",
    "telephony.recording.play": "调听通话录音",
    "telephony.callback.dial": "发起电话回拨/外呼",
    "telephony.party.supervise": "班长监听/耳语/强插",
    "telephony.party.mode": "变更监听方式",
    "telephony.party.linkage": "12345–110 联动转接",
    "telephony.party.consult": "咨询转接",
    "telephony.party.consult_complete": "完成咨询转接",
    "telephony.party.end": "结束通话加入方",
    "telephony.sip_account.set": "设置话机注册账号",
}


# --- 话机注册 (phones that REGISTER with the media nodes, digest-authenticated) ---------------------

EXTENSION = re.compile(r"\d{3,8}")
REGISTER_LONGEST = 3600  # seconds a registration may last; phones renew before it ends
REGISTER_SHORTEST = 60


def sip_account_set(*, actor: User, extension: str, password: str) -> SipAccount:
    """话机注册账号 of whoever takes or places calls: the extension and password the desk
    phone or softphone registers with (only the digest HA1 is kept). Audited, never the
    password."""
    if not (actor.can("contact.handle") or actor.can("workorders.callback")):
        raise Forbidden("您没有接听或外呼电话的权限")
    extension, password = extension.strip(), password.strip()
    if not EXTENSION.fullmatch(extension):
        raise Unprocessable("分机号须为 3–8 位数字", field="extension")
    if len(password) < 8 or password.isdigit() or password.isalpha():
        raise Unprocessable("注册密码至少 8 位，须同时含字母和数字", field="password")
    with transaction.atomic():
        taken = SipAccount.objects.filter(extension=extension).exclude(agent=actor).first()
        if taken is not None:
            raise Conflict(f"分机号 {extension} 已被{taken.agent.display_name}使用")
        account, _ = SipAccount.objects.select_for_update().get_or_create(
            agent=actor, defaults={"platform": actor.platform, "extension": extension}
        )
        moved = account.extension != extension
        account.extension, account.ha1 = extension, digest.ha1(extension, password)
        if moved:  # a registration under the old extension no longer counts
            account.contact, account.expires_at = "", None
        account.save()
        audit.record(
            "telephony.sip_account.set", account, detail={"extension": extension}, actor=actor
        )
    return account


def sip_register(
    *, extension: str, contact: str, expires: int, user_agent: str = "", node: str = "", now=None
) -> int:
    """What the node reports after a REGISTER it authenticated: the binding (``expires``
    0 removes it). Returns the seconds granted."""
    now = now or timezone.now()
    granted = 0 if expires <= 0 else max(REGISTER_SHORTEST, min(expires, REGISTER_LONGEST))
    account = SipAccount.objects.get(extension=extension)
    if granted:
        account.contact, account.expires_at = contact[:200], now + dt.timedelta(seconds=granted)
        account.user_agent, account.node, account.registered_at = user_agent[:100], node[:100], now
    else:
        account.contact, account.expires_at = "", None
    account.save()
    return granted


# --- IVR 流程编辑 and 录音提示音 (the pages at /voice/flows/) ------------------------------------

NODE_NAME_MAX = 40  # a node's name may be the flow's start (IvrFlow.start)
PROMPT_MAX_BYTES = 10 * 1024 * 1024
PROMPT_MAX_SECONDS = 300
PROMPT_TITLE_MAX = 50


def ivr_flow_edit(
    *,
    actor: User,
    platform: Platform,
    flow: IvrFlow | None,
    code: str,
    name: str,
    number: str,
    start: str,
    nodes: dict,
    is_active: bool,
) -> IvrFlow:
    """保存 from the flow editor: a new flow may not take a code in use (that would replace
    the other flow), an edited one keeps its code; every node has a name that fits and
    every recording a node plays has been uploaded. Then ``ivr_flow_save`` checks the
    flow and stores it (audited)."""
    require(actor, "contact.configure")
    if flow is None:
        code = code.strip()
        if IvrFlow.objects.filter(platform=platform, code=code).exists():
            raise Conflict(f"流程代码“{code}”已被其他流程使用", field="code")
    else:
        code = flow.code
    for node, step in nodes.items() if isinstance(nodes, dict) else ():
        if not node.strip() or len(node) > NODE_NAME_MAX:
            raise Unprocessable(f"节点名称应为 1–{NODE_NAME_MAX} 个字：“{node}”", field="nodes")
        _node_shape_check(node, step)
        recording = step.get("recording")
        if recording and selectors.prompt_recording(platform, recording) is None:
            raise Unprocessable(
                f"节点“{node}”的录音“{recording}”不存在，请先上传录音提示音", field="nodes"
            )
    return ivr_flow_save(
        actor=actor,
        platform=platform,
        code=code,
        name=name,
        number=number,
        start=start,
        nodes=nodes,
        is_active=is_active,
    )


# the fields of a step that are words (a name, a code or a prompt), as ivr.check reads them
NODE_WORDS = (
    "type",
    "queue",
    "recording",
    "after",
    *ivr.CALLER_KINDS,
    *sorted({link for _label, links in ivr.KINDS.values() for link in links}),
)
NODE_PROMPTS = ("text", "invalid_text", "thanks")  # spoken by espeak-ng


def _node_shape_check(node: str, step) -> None:
    """A step whose values have the shapes ``ivr.check`` and the node expect: words where
    words go, keys as {key: node}, no prompt espeak-ng could take for an option."""
    where = f"节点“{node}”"
    if not isinstance(step, dict):
        raise Unprocessable(f"{where}的设置应为 JSON 对象", field="nodes")
    for key in (*NODE_WORDS, *NODE_PROMPTS):
        value = step.get(key)
        if value is not None and not isinstance(value, str):
            label = ivr.FIELD_LABELS.get(key, key)
            raise Unprocessable(f"{where}的“{label}”应为文字", field="nodes")
        if key in NODE_PROMPTS and value and value.startswith("-"):
            raise Unprocessable(f"{where}的播放文字不能以“-”开头", field="nodes")
    keys = step.get("keys")
    if keys is not None and (
        not isinstance(keys, dict) or not all(isinstance(t, str) for t in keys.values())
    ):
        raise Unprocessable(f"{where}的按键设置无效", field="nodes")


def _prompt_file_name(original: str) -> str:
    """An ASCII, unique stored name: the time, a random part and what is ASCII of the
    uploaded name (上传的“欢迎语.wav” → 20261123-091500-3fa2c1-prompt.wav)."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", pathlib.PurePath(original).stem).strip("-").lower()
    when = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return f"{when}-{secrets.token_hex(3)}-{stem[:40] or 'prompt'}.wav"


def _prompt_check(path: pathlib.Path, original: str) -> dict:
    """The facts of an uploaded WAV, or a Chinese refusal: RIFF/WAVE, 16-bit PCM, mono or
    stereo, not empty, at most ``PROMPT_MAX_SECONDS``."""
    with path.open("rb") as head:
        magic = head.read(12)
    if magic[:4] != b"RIFF" or magic[8:12] != b"WAVE":
        raise Unprocessable(f"“{original}”不是 WAV 文件（RIFF/WAVE）", field="file")
    unreadable = Unprocessable(
        f"“{original}”无法读取：仅支持 16 位 PCM 编码的 WAV 录音", field="file"
    )
    try:
        with wave.open(str(path), "rb") as reader:
            width, channels = reader.getsampwidth(), reader.getnchannels()
    except (EOFError, wave.Error):
        raise unreadable from None
    if width != 2:
        raise Unprocessable(f"“{original}”为 {width * 8} 位录音，仅支持 16 位 PCM", field="file")
    if channels not in (1, 2):
        raise Unprocessable(f"“{original}”有 {channels} 个声道，仅支持单声道或立体声", field="file")
    try:
        samples, rate = prompts.read_wav(path)
    except (EOFError, wave.Error, ValueError):
        raise unreadable from None
    if not rate or not len(samples):
        raise Unprocessable(f"“{original}”是空录音", field="file")
    seconds = len(samples) / rate
    if seconds > PROMPT_MAX_SECONDS:
        raise Unprocessable(
            f"“{original}”时长 {seconds:.0f} 秒，超过 {PROMPT_MAX_SECONDS // 60} 分钟", field="file"
        )
    return {"seconds": round(seconds, 1), "rate": rate, "channels": channels}


def prompt_upload(*, actor: User, platform: Platform, upload, title: str = "") -> str:
    """上传录音提示音: a WAV (≤ 10 MB, ≤ 5 minutes) stored under the recordings folder
    with an ASCII name of its own, its display name (``title``, else the uploaded name)
    kept beside it. Checked before anything is kept: a refused file leaves nothing
    behind. Audited. Returns the stored name (what a node's ``recording`` names)."""
    require(actor, "contact.configure")
    original = pathlib.PurePath(str(getattr(upload, "name", "") or "")).name
    if not original.lower().endswith(".wav"):
        raise Unprocessable(f"“{original or '未选择文件'}”不是 .wav 录音文件", field="file")
    limit = f"{PROMPT_MAX_BYTES // (1024 * 1024)} MB"
    if (getattr(upload, "size", 0) or 0) > PROMPT_MAX_BYTES:
        raise Unprocessable(f"“{original}”超过 {limit}", field="file")
    title = (title.strip() or pathlib.PurePath(original).stem)[:PROMPT_TITLE_MAX]
    folder = prompts.recordings_folder()
    stored = _prompt_file_name(original)
    while (folder / stored).exists():
        stored = _prompt_file_name(original)
    target, about = folder / stored, (folder / stored).with_suffix(".json")
    partial = folder / f".{stored}.part"  # not *.wav: never listed, never played
    try:
        size = 0
        with partial.open("wb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > PROMPT_MAX_BYTES:
                    raise Unprocessable(f"“{original}”超过 {limit}", field="file")
                out.write(chunk)
        facts = _prompt_check(partial, original)
        meta = {
            "title": title,
            "original": original,
            "platform": platform.code,
            "uploaded_by": actor.display_name or actor.username,
            "uploaded_at": timezone.now().isoformat(),
            "size": size,
            **facts,
        }
        about.write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        partial.replace(target)
        audit.record(
            "telephony.prompt.upload",
            object_type="telephony.prompt",
            object_id=stored,
            object_repr=title,
            detail={"original": original, "size": size, **facts},
            actor=actor,
        )
    except BaseException:
        for path in (partial, target, about):
            path.unlink(missing_ok=True)
        raise
    return stored
