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
