"""Every write of the voice app: IVR flows (audited), call recordings and callbacks."""

import datetime as dt
import pathlib

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hotline.contact.models import PHONE_CHANNELS, IdentityKind, Queue, Session
from hotline.contact.selectors import session_for
from hotline.core import audit
from hotline.core.errors import Conflict, NotFound, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.services import require

from . import ivr, selectors
from .models import CallRecording, IvrFlow, MediaNodeStatus, OutboundCall


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
    *, session_id: int, agent_id: int | None, file: str, started_at, seconds: float, size: int
) -> CallRecording:
    """A bridged call's recording, written by the media node, filed with its session."""
    return CallRecording.objects.create(
        session_id=session_id,
        agent_id=agent_id,
        file=file,
        started_at=started_at,
        seconds=round(seconds, 2),
        size=size,
    )


def recording_open(*, actor: User, recording: CallRecording) -> pathlib.Path:
    """Whoever may open the call's session may play its recording; each play is audited
    (录音调听留痕)."""
    session_for(actor, recording.session_id)  # NotFound for anyone else
    path = pathlib.Path(settings.MEDIA_ROOT) / recording.file
    if not path.is_file():
        raise NotFound("录音文件已丢失")
    audit.record("telephony.recording.play", recording, actor=actor)
    return path


# --- 电话回拨 (the agent asks; the media node dials and reports) ---------------------------------


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
    if not selectors.phone_of(actor.pk):
        raise Conflict("请先在坐席工作台的“状态设置”中填写坐席话机")
    with transaction.atomic():
        if (
            OutboundCall.objects.select_for_update()
            .filter(agent=actor, state__in=OutboundCall.OPEN)
            .exists()
        ):
            raise Conflict("您有一个电话回拨尚未结束")
        call = OutboundCall.objects.create(
            platform=session.platform,
            session=session,
            agent=actor,
            number=number,
            caller_id=session.platform.hotline_number,
        )
        audit.record("telephony.callback.dial", call, detail={"session": session.ref}, actor=actor)
    return call


def callbacks_claim(*, node: str, limit: int = 5) -> list[OutboundCall]:
    """The waiting callbacks a media node takes on (each by one node only)."""
    with transaction.atomic():
        calls = list(
            OutboundCall.objects.select_for_update(skip_locked=True)
            .filter(state=OutboundCall.State.REQUESTED)
            .select_related("session", "platform")
            .order_by("created_at")[:limit]
        )
        for call in calls:
            call.state, call.node = OutboundCall.State.DIALING_AGENT, node[:100]
            call.save(update_fields=["state", "node"])
    return calls


def callback_progress(*, call_id: int, state: str, result: str = "", now=None) -> None:
    """What the node reports: ringing the citizen, connected, ended or failed (with why)."""
    now = now or timezone.now()
    call = OutboundCall.objects.get(pk=call_id)
    call.state = OutboundCall.State(state)
    if result:
        call.result = result[:100]
    if state == OutboundCall.State.CONNECTED:
        call.connected_at = now
    if state in (OutboundCall.State.ENDED, OutboundCall.State.FAILED):
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
