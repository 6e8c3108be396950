"""PlatformLink: the media node's one door into the platform.

For now the node talks to the database in-process, on one thread of its own (Django's
ORM is synchronous; one thread also keeps SQLite writers in line). The WebSocket link
to a web node (a later step) replaces this class and keeps its methods: each takes and
returns plain values, as a JSON message would carry them.
"""

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import logging

from django.db import close_old_connections, connections
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


@dataclasses.dataclass(frozen=True)
class Flow:
    id: int
    platform_id: int
    start: str
    nodes: dict


@dataclasses.dataclass(frozen=True)
class PartyJob:
    """Someone to have on a live call (``CallParty``): a supervisor's phone or an outside
    number, and how it is heard (``legs.SPEAKS_TO``)."""

    id: int
    kind: str  # supervisor | outside
    mode: str
    target: str  # the supervisor's SIP address, or the number to call over the trunk


@dataclasses.dataclass(frozen=True)
class CallStatus:
    """Where a call stands in the contact center."""

    session_id: int
    state: str  # SessionState value
    announcement: str = ""  # 排队通报, while it waits
    notice: str = ""  # what to say when the contact center ended it (refused, timed out)
    ref: str = ""  # the session's number, carried to the agent's phone (随路数据)
    agent_id: int | None = None  # offered to or answered by
    agent_phone: str = ""  # the SIP address of that agent's phone, if it has one
    left_request: bool = False  # ended as a 回拨任务 (out of hours): the caller may leave a message
    held: bool = False  # 保持: the agent put the caller on hold
    parties: tuple[PartyJob, ...] = ()  # who is to be on the call besides the agent

    @property
    def waiting(self) -> bool:
        return self.state in WAITING

    @property
    def over(self) -> bool:
        return self.state not in WAITING and self.state != SessionState.ACTIVE


@dataclasses.dataclass(frozen=True)
class CallbackJob:
    """A 电话回拨 the node is to place."""

    id: int
    session_id: int | None  # the callback task; None for a call from an order
    ref: str  # the session's number, or the order's (随路数据)
    agent_id: int
    agent_phone: str
    number: str
    caller_id: str


class PlatformLink:
    def __init__(self):
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="platform-link")

    async def _call(self, function, *args):
        def run():
            close_old_connections()
            return function(*args)

        return await asyncio.get_running_loop().run_in_executor(self._thread, run)

    def close(self) -> None:
        self._thread.submit(connections.close_all).result()
        self._thread.shutdown(wait=True)

    # --- what the node asks -------------------------------------------------------------------

    async def flow_for(self, number: str) -> Flow | None:
        return await self._call(_flow_for, number)

    async def caller_kinds(self, platform_id: int, number: str) -> set[str]:
        """What the caller's number is to the platform: black, white, vip, priority."""
        return await self._call(selectors.caller_kinds, platform_id, number)

    async def is_open(self, platform_id: int, queue_code: str) -> bool:
        return await self._call(_is_open, platform_id, queue_code)

    async def arrive(self, platform_id: int, queue_code: str, caller: str) -> CallStatus:
        return await self._call(_arrive, platform_id, queue_code, caller)

    async def status(self, session_id: int) -> CallStatus:
        return await self._call(_status, session_id)

    async def left(self, session_id: int) -> None:
        """The caller hung up."""
        await self._call(_left, session_id)

    async def answered(self, session_id: int, agent_id: int) -> bool:
        """The agent's phone picked up: the offer is accepted (False: it had moved on)."""
        return await self._call(_answered, session_id, agent_id)

    async def unanswered(self, session_id: int, agent_id: int) -> None:
        """The agent's phone was busy, refused or rang out."""
        await self._call(_unanswered, session_id, agent_id)

    async def agent_hung_up(self, session_id: int, agent_id: int) -> None:
        await self._call(_agent_hung_up, session_id, agent_id)

    async def heartbeat(self, **health) -> None:
        """The node is alive (or stopping): its calls and its trunk's health."""
        await self._call(lambda: telephony.node_heartbeat(**health))

    async def callbacks_claim(self, node: str) -> list[CallbackJob]:
        return await self._call(_callbacks_claim, node)

    async def callback_progress(self, call_id: int, state: str, result: str = "") -> None:
        await self._call(
            lambda: telephony.callback_progress(call_id=call_id, state=state, result=result)
        )

    async def party_progress(self, party_id: int, state: str, result: str = "") -> None:
        await self._call(
            lambda: telephony.party_progress(party_id=party_id, state=state, result=result)
        )

    async def rate(self, session_id: int, digit: str) -> bool:
        """The caller's key in the survey (1–5); False when it is not a level."""
        return await self._call(_rate, session_id, digit)

    async def recorded(
        self,
        session_id: int | None,
        agent_id: int | None,
        file: str,
        started_at,
        seconds: float,
        size: int,
        call_id: int | None = None,
    ) -> None:
        await self._call(
            lambda: telephony.recording_add(
                session_id=session_id,
                agent_id=agent_id,
                file=file,
                started_at=started_at,
                seconds=seconds,
                size=size,
                call_id=call_id,
            )
        )


def _flow_for(number: str) -> Flow | None:
    flow = selectors.flow_for_number(number)
    return flow and Flow(flow.pk, flow.platform_id, flow.start, flow.nodes)


def _queue(platform_id: int, code: str) -> Queue:
    return Queue.objects.select_related("platform").get(platform_id=platform_id, code=code)


def _is_open(platform_id: int, queue_code: str) -> bool:
    return acd.hours_at(_queue(platform_id, queue_code), timezone.now())[0]


def _arrive(platform_id: int, queue_code: str, caller: str) -> CallStatus:
    queue = _queue(platform_id, queue_code)
    session = contact.contact_arrive(
        platform=queue.platform, channel=Channel.VOICE, address=caller, queue=queue
    )
    return _status_of(session)


def _status(session_id: int) -> CallStatus:
    return _status_of(Session.objects.get(pk=session_id))


def _status_of(session: Session, now: dt.datetime | None = None) -> CallStatus:
    state = SessionState(session.state)
    agent = {}
    if state in (SessionState.OFFERED, SessionState.ACTIVE) and session.agent_id:
        agent = dict(agent_id=session.agent_id, agent_phone=selectors.phone_of(session.agent_id))
    if state in WAITING:
        position = queue_position(session, now)
        announcement = position.announcement if position else ""
        return CallStatus(session.pk, state, announcement, ref=session.ref, **agent)
    # an agent ending the call on the desk just hangs up; anything else says why
    quiet = state == SessionState.ACTIVE or session.end_reason == "agent"
    notice = "" if quiet else selectors.last_notice(session)
    left_request = session.needs_callback and session.callback_at is None
    parties = ()
    if state == SessionState.ACTIVE:
        parties = tuple(
            PartyJob(p.pk, p.kind, p.mode, p.target) for p in selectors.open_parties(session.pk)
        )
    return CallStatus(
        session.pk,
        state,
        notice=notice,
        ref=session.ref,
        left_request=left_request,
        held=session.held_at is not None,
        parties=parties,
        **agent,
    )


def _left(session_id: int) -> None:
    session = Session.objects.get(pk=session_id)
    try:
        if session.state in WAITING:
            contact.contact_abandon(session=session)
        elif session.state == SessionState.ACTIVE:
            contact.session_end(actor=None, session=session)
    except HotlineError as exc:  # the platform moved it meanwhile (answered, timed out)
        log.info("会话 %s 挂机时状态已变：%s", session.ref, exc)


def _answered(session_id: int, agent_id: int) -> bool:
    session = Session.objects.get(pk=session_id)
    if session.state == SessionState.ACTIVE and session.agent_id == agent_id:
        return True  # the agent took it on the desk first; the phone joins the call
    try:
        contact.session_accept(actor=User.objects.get(pk=agent_id), session=session)
    except HotlineError as exc:  # the offer was taken back (rang too long) or moved
        log.info("会话 %s 摘机时已不再分配给该话务员：%s", session_id, exc)
        return False
    return True


def _unanswered(session_id: int, agent_id: int) -> None:
    contact.voice_offer_unanswered(
        session=Session.objects.get(pk=session_id), agent=User.objects.get(pk=agent_id)
    )


def _agent_hung_up(session_id: int, agent_id: int) -> None:
    contact.voice_agent_hung_up(
        session=Session.objects.get(pk=session_id), agent=User.objects.get(pk=agent_id)
    )


def _rate(session_id: int, digit: str) -> bool:
    level = rating_reply(digit)
    if level is None:
        return False
    try:
        contact.contact_rate(session=Session.objects.get(pk=session_id), satisfaction=level)
    except HotlineError as exc:
        log.info("会话 %s 的按键评价未记录：%s", session_id, exc)
        return False
    return True


def _callbacks_claim(node: str) -> list[CallbackJob]:
    return [
        CallbackJob(
            id=call.pk,
            session_id=call.session_id,
            ref=call.session.ref if call.session_id else call.order.number,
            agent_id=call.agent_id,
            agent_phone=selectors.phone_of(call.agent_id),
            number=call.number,
            caller_id=call.caller_id,
        )
        for call in telephony.callbacks_claim(node=node)
    ]
