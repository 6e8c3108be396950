"""Reads of the voice app, shaped for the media node."""

from hotline.contact.models import AgentPresence, Message, Session

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
    """The SIP address of the agent's phone (坐席话机), or ""."""
    return (
        AgentPresence.objects.filter(agent_id=agent_id).values_list("phone_uri", flat=True).first()
        or ""
    )


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


def recordings_of_order(user, order) -> list:
    """The recordings of the call an order was made from (its ``session_ref``), for whoever
    may open that session (its agent, the floor's leaders); nobody else hears them."""
    from hotline.contact.selectors import session_for
    from hotline.core.errors import NotFound

    if not order.session_ref:
        return []
    session = Session.objects.filter(ref=order.session_ref).only("pk").first()
    if session is None:
        return []
    try:
        session_for(user, session.pk)
    except NotFound:
        return []
    return list(session.recordings.select_related("agent").order_by("started_at"))


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
