"""Reads of the voice app, shaped for the media node."""

import datetime as dt
import json
import pathlib
import re
import wave

from hotline.contact.models import AgentPresence, Message, Session

from . import prompts
from .models import IvrFlow


def flow_for_number(number: str) -> IvrFlow | None:
    """The active IVR flow answering calls to ``number`` (e.g. 12345)."""
    return IvrFlow.objects.filter(number=number, is_active=True).select_related("platform").first()


def last_notice(session: Session) -> str:
    """The last notice the contact center gave the caller (a refusal, 下班提示 …)."""
    notice = (
        Message.objects.filter(
            session=session, direction=Message.Direction.OUTBOUND, kind=Message.Kind.EVENT
        )
        .order_by("-at", "-pk")
        .first()
    )
    return notice.body if notice else ""


def phone_of(agent_id: int) -> str:
    """The SIP address of the agent's phone (坐席话机): the fixed one set in 状态设置, else
    where its registered phone is now; "" when neither."""
    fixed = fixed_phone_of(agent_id)
    if fixed:
        return fixed
    from django.utils import timezone

    from .models import SipAccount

    registered = (
        SipAccount.objects.filter(agent_id=agent_id, expires_at__gt=timezone.now())
        .values_list("contact", flat=True)
        .first()
    )
    return registered or ""


def fixed_phone_of(agent_id: int) -> str:
    """The fixed 坐席话机 address set for the agent ("" when none)."""
    return (
        AgentPresence.objects.filter(agent_id=agent_id).values_list("phone_uri", flat=True).first()
        or ""
    )


def sip_account_of(user):
    """The user's 话机注册账号, if any."""
    from .models import SipAccount

    return SipAccount.objects.filter(agent=user).first()


def sip_ha1(extension: str) -> str | None:
    """The digest HA1 of a registering phone's extension (None: no such account)."""
    from .models import SipAccount

    return SipAccount.objects.filter(extension=extension).values_list("ha1", flat=True).first()


def latest_callbacks(session_ids) -> dict:
    """The last 电话回拨 of each of these sessions (callback tasks), by session id."""
    from .models import OutboundCall

    latest = {}
    for call in OutboundCall.objects.filter(session_id__in=list(session_ids)).order_by(
        "created_at"
    ):
        latest[call.session_id] = call
    return latest


HEARTBEAT_SECONDS = 5  # how often a node reports
SILENT_AFTER = 3 * HEARTBEAT_SECONDS  # past this without a heartbeat a node is 失联


def voice_health(now=None) -> dict:
    """语音节点与中继 as the nodes last reported them: each node 正常, 失联 (no heartbeat for
    ``SILENT_AFTER`` seconds without having said it stops) or 已停止; the trunk as the
    nodes' OPTIONS probes found it; and the alarms (中继线路异常告警, 节点失联) in Chinese."""
    from django.utils import timezone

    from .models import MediaNodeStatus

    now = now or timezone.now()
    nodes, alarms = [], []
    for status in MediaNodeStatus.objects.all():
        silent = (now - status.last_seen).total_seconds() > SILENT_AFTER
        state = "已停止" if status.stopped_at else ("失联" if silent else "正常")
        if state == "失联":
            alarms.append(
                f"媒体节点 {status.name} 失联（最后心跳 {timezone.localtime(status.last_seen):%H:%M:%S}）"
            )
        if state == "正常" and status.trunk and status.trunk_ok is False:
            alarms.append(f"中继线路异常：{status.trunk} {status.trunk_detail}".strip())
        nodes.append(
            {
                "name": status.name,
                "state": state,
                "calls": status.calls if state == "正常" else 0,
                "trunk": status.trunk,
                "trunk_ok": status.trunk_ok if state == "正常" else None,
            }
        )
    running = [n for n in nodes if n["state"] == "正常"]
    lost = [n for n in nodes if n["state"] == "失联"]
    probed = [n for n in running if n["trunk"] and n["trunk_ok"] is not None]
    trunk_ok = all(n["trunk_ok"] for n in probed) if probed else None
    if not nodes:
        label = "语音节点：未接入"
    elif lost:
        label = f"语音节点：{len(running)} 个正常，{len(lost)} 个失联"
    else:
        label = f"语音节点：{len(running)} 个正常" if running else "语音节点：均已停止"
    trunk_label = {None: "中继：未探测", True: "中继：正常", False: "中继：异常"}[trunk_ok]
    return {
        "connected": bool(running),
        "alarm": bool(alarms),
        "nodes": nodes,
        "calls": sum(n["calls"] for n in running),
        "label": label,
        "trunk_ok": trunk_ok,
        "trunk_label": trunk_label,
        "alarms": alarms,
    }


def _call_of_order(user, order) -> Session | None:
    """The session an order was made from (its ``session_ref``), if ``user`` may open it
    (its agent, the floor's leaders); for anybody else, none."""
    from hotline.contact.selectors import session_for
    from hotline.core.errors import NotFound

    if not order.session_ref:
        return None
    session = Session.objects.filter(ref=order.session_ref).only("pk").first()
    if session is None:
        return None
    try:
        session_for(user, session.pk)
    except NotFound:
        return None
    return session


def recordings_of_order(user, order) -> list:
    """The recordings of the call an order was made from; nobody else hears them."""
    session = _call_of_order(user, order)
    if session is None:
        return []
    return list(session.recordings.select_related("agent").order_by("started_at"))


def calls_of_order(user, order) -> list:
    """The calls placed from this order (电话外呼), newest first, each with its recordings
    for those who may play them (回访: workorders.callback)."""
    from django.db.models import Prefetch

    from .models import CallRecording, OutboundCall

    calls = OutboundCall.objects.filter(order=order).select_related("agent").order_by("-created_at")
    if user.can("workorders.callback"):
        calls = calls.prefetch_related(
            Prefetch("recordings", queryset=CallRecording.objects.order_by("started_at"))
        )
    else:
        calls = calls.prefetch_related(
            Prefetch("recordings", queryset=CallRecording.objects.none())
        )
    return list(calls[:20])


def call_rating_of_order(user, order) -> str:
    """The caller's own rating of the call the order was made from (按键评价, 一次一评) —
    beside, never instead of, the order's 回访 satisfaction (一事一评)."""
    session = _call_of_order(user, order)
    if session is None:
        return ""
    return (
        Session.objects.filter(pk=session.pk).values_list("satisfaction", flat=True).first() or ""
    )


def linkages_of_order(user, order) -> list:
    """The outside parties (12345–110 联动) of the call an order was made from."""
    session = _call_of_order(user, order)
    return [] if session is None else linkages_of(session)


def linkages_of(session: Session) -> list:
    """联动记录: the outside numbers this call was transferred to or joined with."""
    from .models import CallParty

    return list(
        CallParty.objects.filter(session=session, kind=CallParty.Kind.OUTSIDE)
        .select_related("requested_by")
        .order_by("created_at")
    )


def parties_of(session: Session, viewer) -> list:
    """Who joined this call, oldest first, as ``viewer`` may know it: a supervisor sees
    every party; anyone else all but the supervisors — one listening in stays unseen
    (that is what 监听 is for)."""
    from .models import CallParty

    parties = CallParty.objects.filter(session=session)
    if not viewer.can("contact.supervise"):
        parties = parties.exclude(kind=CallParty.Kind.SUPERVISOR)
    return list(parties.select_related("user", "requested_by").order_by("created_at"))


def open_parties(session_id: int) -> list:
    """The parties the node is to have on this call now."""
    from .models import CallParty

    return list(
        CallParty.objects.filter(session_id=session_id, state__in=CallParty.OPEN).order_by("pk")
    )


# The national linkage numbers (国办发〔2022〕12号), for a platform that set none of its own.
NATIONAL_LINKAGE = (
    ("110", "公安报警"),
    ("119", "消防火警"),
    ("120", "医疗急救"),
    ("122", "交通事故"),
)


def linkage_targets(platform) -> list:
    """联动号码 an agent may transfer a call to: the platform's own, else the national ones."""
    from .models import LinkageTarget

    own = list(LinkageTarget.objects.filter(platform=platform, is_active=True))
    if own:
        return own
    return [
        LinkageTarget(platform=platform, number=number, name=name, sort=index)
        for index, (number, name) in enumerate(NATIONAL_LINKAGE)
    ]


def caller_kinds(platform_id: int, number: str) -> set[str]:
    """The caller-number branch's facts (来电号码分支): on the black- or whitelist in force,
    a VIP citizen's phone, one of a queue's designated priority numbers."""
    from django.utils import timezone

    from hotline.contact import acd
    from hotline.contact.models import CitizenIdentity, IdentityKind, Queue
    from hotline.core.models import Platform

    if not number:
        return set()
    platform = Platform.objects.get(pk=platform_id)
    now = timezone.now()
    kinds = {
        kind for kind in ("black", "white") if acd.listed(platform, "voice", number, kind, now)
    }
    if CitizenIdentity.objects.filter(
        platform_id=platform_id,  # the identity lookup's own index
        kind=IdentityKind.PHONE,
        value=number,
        profile__is_vip=True,
    ).exists():
        kinds.add("vip")
    if any(
        number in (numbers or [])
        for numbers in Queue.objects.filter(platform_id=platform_id).values_list(
            "priority_numbers", flat=True
        )
    ):
        kinds.add("priority")
    return kinds


def recordings_found(
    viewer,
    *,
    start=None,
    end=None,
    agent_id: int | None = None,
    number: str = "",
    ref: str = "",
    kind: str = "",
    min_seconds: int | None = None,
):
    """录音查询: the platform's recordings, newest first, narrowed by day, agent, the
    caller's number (in part), the session's or order's number, kind and length."""
    import datetime as _dt

    from django.db.models import Q
    from django.utils import timezone

    from .models import CallRecording

    found = CallRecording.objects.select_related("session", "agent", "call__order").filter(
        Q(session__platform_id=viewer.platform_id) | Q(call__platform_id=viewer.platform_id)
    )
    zone = timezone.get_current_timezone()
    if start:
        found = found.filter(started_at__gte=_dt.datetime.combine(start, _dt.time(), zone))
    if end:
        upto = _dt.datetime.combine(end + _dt.timedelta(days=1), _dt.time(), zone)
        found = found.filter(started_at__lt=upto)
    if agent_id:
        found = found.filter(agent_id=agent_id)
    if number:
        found = found.filter(
            Q(session__address__contains=number) | Q(call__number__contains=number)
        )
    if ref:
        found = found.filter(Q(session__ref=ref) | Q(call__order__number=ref))
    if kind:
        found = found.filter(RECORDING_KINDS[kind][1])
    if min_seconds:
        found = found.filter(seconds__gte=min_seconds)
    return found.order_by("-started_at", "-pk")


def recording_agents(viewer) -> list:
    """Who has recordings on the viewer's platform (the 录音查询 agent filter)."""
    from hotline.core.models import User

    from .models import CallRecording

    ids = CallRecording.objects.filter(agent__platform_id=viewer.platform_id).values("agent_id")
    return list(User.objects.filter(pk__in=ids).order_by("display_name"))


def _recording_kinds() -> dict:
    from django.db.models import Q

    return {
        "inbound": ("来电", Q(call__isnull=True, agent__isnull=False)),
        "callback": ("电话回拨", Q(call__isnull=False, session__isnull=False)),
        "order": ("工单外呼", Q(call__order__isnull=False)),
        "message": ("语音留言", Q(call__isnull=True, agent__isnull=True)),
    }


RECORDING_KINDS = _recording_kinds()  # kind → (label, filter); CallRecording.kind agrees


# --- IVR 流程编辑 and 录音提示音 (the pages at /voice/flows/) ------------------------------------

# A stored recording's name: what prompt_upload writes (ASCII, no path), and what a flow's
# ``recording`` may name.
RECORDING_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.wav$")


def ivr_flows(platform) -> list[IvrFlow]:
    """The platform's IVR flows, by code."""
    return list(IvrFlow.objects.filter(platform=platform).order_by("code"))


def ivr_flow_of(platform, pk: int) -> IvrFlow | None:
    """One flow of the platform (None for another platform's or a missing one)."""
    return IvrFlow.objects.filter(platform=platform, pk=pk).first()


def queue_choices(platform) -> list[tuple[str, str]]:
    """(code, name) of the queues a flow of the platform may enter, the active ones first."""
    from hotline.contact.models import Queue

    return list(
        Queue.objects.filter(platform=platform)
        .order_by("-is_active", "code")
        .values_list("code", "name")
    )


def _recording_row(path: pathlib.Path) -> dict | None:
    """What the pages show of one stored recording: its display name (kept beside it by
    the upload), length and size; None for a file that is not a readable WAV."""
    try:
        with wave.open(str(path), "rb") as reader:
            rate, frames, channels = (
                reader.getframerate(),
                reader.getnframes(),
                reader.getnchannels(),
            )
    except (OSError, EOFError, wave.Error):
        return None
    meta = {}
    about = path.with_suffix(".json")
    if about.is_file():
        try:
            meta = json.loads(about.read_text("utf-8"))
        except ValueError:
            meta = {}
    stat = path.stat()
    return {
        "name": path.name,
        "path": path,
        "title": meta.get("title") or path.stem,
        "platform": meta.get("platform"),
        "seconds": round(frames / rate, 1) if rate else 0.0,
        "rate": rate,
        "channels": channels,
        "size": stat.st_size,
        "uploaded_by": meta.get("uploaded_by", ""),
        "uploaded_at": (
            dt.datetime.fromisoformat(meta["uploaded_at"])
            if meta.get("uploaded_at")
            else dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
        ),
    }


def prompt_recordings(platform) -> list[dict]:
    """录音提示音 the platform may use, newest first: its own uploads and any WAV put in
    the folder by hand (no platform recorded)."""
    found = (
        prompt_recording(platform, path.name) for path in prompts.recordings_folder().glob("*.wav")
    )
    return sorted((row for row in found if row), key=lambda row: row["uploaded_at"], reverse=True)


def prompt_recording(platform, name: str) -> dict | None:
    """One recording the platform may use, by its stored name; never a path outside the
    folder."""
    if not RECORDING_NAME.match(name or ""):
        return None
    path = prompts.recordings_folder() / name
    row = _recording_row(path) if path.is_file() else None
    return row if row is not None and row["platform"] in (None, platform.code) else None


def recordings_in_use(platform) -> dict[str, list[str]]:
    """Which flows of the platform play each recording: {stored name: [flow names]}."""
    used: dict[str, list[str]] = {}
    for flow in ivr_flows(platform):
        names = {
            step.get("recording")
            for step in (flow.nodes or {}).values()
            if isinstance(step, dict) and step.get("recording")
        }
        for name in sorted(names):
            used.setdefault(name, []).append(flow.name)
    return used
