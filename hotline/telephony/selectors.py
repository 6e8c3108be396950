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
    every party; anyone else only the outside numbers — a supervisor listening in stays
    unseen (that is what 监听 is for)."""
    from .models import CallParty

    parties = CallParty.objects.filter(session=session)
    if not viewer.can("contact.supervise"):
        parties = parties.filter(kind=CallParty.Kind.OUTSIDE)
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
