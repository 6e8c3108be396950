"""What a media node may ask the platform — each a plain function of JSON values that
returns JSON values, run next to the database: in the node's own process (``DirectLink``,
the embedded set-up) or in a web process on behalf of a node connected over its
WebSocket (``consumers.MediaNodeConsumer``). ``CALLS`` is the whole list; nothing else
of the platform is reachable from a node.
"""

import datetime as dt
import hashlib
import hmac
import logging
import os

from django.conf import settings
from django.utils import timezone

from hotline.contact import acd
from hotline.contact import services as contact
from hotline.contact.connectors import rating_reply
from hotline.contact.lifecycle import SessionState
from hotline.contact.models import Channel, Queue, Session
from hotline.contact.selectors import queue_position
from hotline.core.errors import HotlineError
from hotline.core.models import User

from . import selectors
from . import services as telephony

log = logging.getLogger(__name__)

WAITING = {SessionState.QUEUED, SessionState.OFFERED, SessionState.NEW}


def node_token() -> str:
    """The key a media node shows to connect over the WebSocket: HOTLINE_MEDIANODE_TOKEN
    when set, else derived from the site's secret (``hotline medianode --print-token``)."""
    given = os.environ.get("HOTLINE_MEDIANODE_TOKEN", "").strip()
    if given:
        return given
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, b"hotline-medianode", hashlib.sha256).hexdigest()[:40]


def flow_for(number: str) -> dict | None:
    flow = selectors.flow_for_number(number)
    if flow is None:
        return None
    return {
        "id": flow.pk,
        "platform_id": flow.platform_id,
        "start": flow.start,
        "nodes": flow.nodes,
    }


def caller_kinds(platform_id: int, number: str) -> list[str]:
    return sorted(selectors.caller_kinds(platform_id, number))


def _queue(platform_id: int, code: str) -> Queue:
    return Queue.objects.select_related("platform").get(platform_id=platform_id, code=code)


def is_open(platform_id: int, queue_code: str) -> bool:
    return acd.hours_at(_queue(platform_id, queue_code), timezone.now())[0]


def arrive(platform_id: int, queue_code: str, caller: str) -> dict:
    queue = _queue(platform_id, queue_code)
    session = contact.contact_arrive(
        platform=queue.platform, channel=Channel.VOICE, address=caller, queue=queue
    )
    return _status_of(session)


def status(session_id: int) -> dict:
    return _status_of(Session.objects.get(pk=session_id))


def _status_of(session: Session, now: dt.datetime | None = None) -> dict:
    """Where a call stands (``link.CallStatus``'s fields)."""
    state = SessionState(session.state)
    answer = {"session_id": session.pk, "state": state.value, "ref": session.ref}
    if state in (SessionState.OFFERED, SessionState.ACTIVE) and session.agent_id:
        answer["agent_id"] = session.agent_id
        answer["agent_phone"] = selectors.phone_of(session.agent_id)
    if state in WAITING:
        position = queue_position(session, now)
        answer["announcement"] = position.announcement if position else ""
        return answer
    # an agent ending the call on the desk just hangs up; anything else says why
    quiet = state == SessionState.ACTIVE or session.end_reason == "agent"
    answer["notice"] = "" if quiet else selectors.last_notice(session)
    answer["left_request"] = session.needs_callback and session.callback_at is None
    answer["held"] = session.held_at is not None
    if state == SessionState.ACTIVE:
        answer["parties"] = [
            {"id": p.pk, "kind": p.kind, "mode": p.mode, "target": p.target, "user_id": p.user_id}
            for p in selectors.open_parties(session.pk)
        ]
    return answer


def left(session_id: int) -> None:
    """The caller hung up."""
    session = Session.objects.get(pk=session_id)
    try:
        if session.state in WAITING:
            contact.contact_abandon(session=session)
        elif session.state == SessionState.ACTIVE:
            contact.session_end(actor=None, session=session)
    except HotlineError as exc:  # the platform moved it meanwhile (answered, timed out)
        log.info("会话 %s 挂机时状态已变：%s", session.ref, exc)


def answered(session_id: int, agent_id: int) -> bool:
    """The agent's phone picked up: the offer is accepted (False: it had moved on)."""
    session = Session.objects.get(pk=session_id)
    if session.state == SessionState.ACTIVE and session.agent_id == agent_id:
        return True  # the agent took it on the desk first; the phone joins the call
    try:
        contact.session_accept(actor=User.objects.get(pk=agent_id), session=session)
    except HotlineError as exc:  # the offer was taken back (rang too long) or moved
        log.info("会话 %s 摘机时已不再分配给该话务员：%s", session_id, exc)
        return False
    return True


def unanswered(session_id: int, agent_id: int) -> None:
    """The agent's phone was busy, refused or rang out."""
    contact.voice_offer_unanswered(
        session=Session.objects.get(pk=session_id), agent=User.objects.get(pk=agent_id)
    )


def agent_hung_up(session_id: int, agent_id: int) -> None:
    contact.voice_agent_hung_up(
        session=Session.objects.get(pk=session_id), agent=User.objects.get(pk=agent_id)
    )


def rate(session_id: int, digit: str) -> bool:
    """The caller's key in the survey (1–5); False when it is not a level."""
    level = rating_reply(digit)
    if level is None:
        return False
    try:
        contact.contact_rate(session=Session.objects.get(pk=session_id), satisfaction=level)
    except HotlineError as exc:
        log.info("会话 %s 的按键评价未记录：%s", session_id, exc)
        return False
    return True


def callbacks_claim(node: str) -> list[dict]:
    """The callbacks (电话回拨, 电话外呼) this node is to place now."""
    return [
        {
            "id": call.pk,
            "session_id": call.session_id,
            "ref": call.session.ref if call.session_id else call.order.number,
            "agent_id": call.agent_id,
            "agent_phone": selectors.phone_of(call.agent_id),
            "number": call.number,
            "caller_id": call.caller_id,
        }
        for call in telephony.callbacks_claim(node=node)
    ]


def callback_progress(call_id: int, state: str, result: str = "") -> None:
    telephony.callback_progress(call_id=call_id, state=state, result=result)


def party_progress(party_id: int, state: str, result: str = "") -> None:
    telephony.party_progress(party_id=party_id, state=state, result=result)


def recorded(
    session_id: int | None,
    agent_id: int | None,
    file: str,
    started_at: dt.datetime,
    seconds: float,
    size: int,
    call_id: int | None = None,
) -> None:
    telephony.recording_add(
        session_id=session_id,
        agent_id=agent_id,
        file=file,
        started_at=started_at,
        seconds=seconds,
        size=size,
        call_id=call_id,
    )


def heartbeat(**health) -> None:
    """The node is alive (or stopping): its calls and its trunk's health."""
    telephony.node_heartbeat(**health)


PHONE_TRANSFER_SUMMARY = "话机转接"  # the summary of a transfer made with the phone's key


def refer(session_id: int, agent_id: int, target: str) -> str:
    """The agent's phone transfers the call (REFER): to a colleague's extension (a
    transfer on the platform, as from the desk) or to one of the platform's 联动号码
    (直接转接 over the trunk). "" when done, else why not."""
    from .models import SipAccount

    session = Session.objects.get(pk=session_id)
    agent = User.objects.get(pk=agent_id)
    colleague = SipAccount.objects.filter(extension=target).select_related("agent").first()
    try:
        if colleague is not None:
            contact.session_transfer(
                actor=agent,
                session=session,
                summary=PHONE_TRANSFER_SUMMARY,
                to_agent=colleague.agent,
            )
        elif any(t.number == target for t in selectors.linkage_targets(session.platform)):
            telephony.party_linkage(actor=agent, session=session, number=target, mode="transfer")
        else:
            return f"转接目标 {target or '（空）'} 不是分机号或联动号码"
    except HotlineError as error:
        return error.message
    return ""


def sip_ha1(extension: str) -> str | None:
    return selectors.sip_ha1(extension)


def sip_register(extension: str, contact: str, expires: int, user_agent: str, node: str) -> int:
    return telephony.sip_register(
        extension=extension, contact=contact, expires=expires, user_agent=user_agent, node=node
    )


CALLS = {
    function.__name__: function
    for function in (
        flow_for,
        caller_kinds,
        is_open,
        arrive,
        status,
        left,
        answered,
        unanswered,
        agent_hung_up,
        rate,
        callbacks_claim,
        callback_progress,
        party_progress,
        recorded,
        heartbeat,
        refer,
        sip_ha1,
        sip_register,
    )
}
