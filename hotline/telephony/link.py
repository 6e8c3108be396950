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
from hotline.contact.lifecycle import SessionState
from hotline.contact.models import Channel, Queue, Session
from hotline.contact.selectors import queue_position
from hotline.core.errors import HotlineError

from . import selectors

log = logging.getLogger(__name__)

WAITING = {SessionState.QUEUED, SessionState.OFFERED, SessionState.NEW}


@dataclasses.dataclass(frozen=True)
class Flow:
    id: int
    platform_id: int
    start: str
    nodes: dict


@dataclasses.dataclass(frozen=True)
class CallStatus:
    """Where a call stands in the contact center."""

    session_id: int
    state: str  # SessionState value
    announcement: str = ""  # 排队通报, while it waits
    notice: str = ""  # what to say when the contact center ended it (refused, timed out)

    @property
    def waiting(self) -> bool:
        return self.state in WAITING

    @property
    def over(self) -> bool:
        return self.state not in WAITING and self.state != SessionState.ACTIVE


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

    async def is_open(self, platform_id: int, queue_code: str) -> bool:
        return await self._call(_is_open, platform_id, queue_code)

    async def arrive(self, platform_id: int, queue_code: str, caller: str) -> CallStatus:
        return await self._call(_arrive, platform_id, queue_code, caller)

    async def status(self, session_id: int) -> CallStatus:
        return await self._call(_status, session_id)

    async def left(self, session_id: int) -> None:
        """The caller hung up."""
        await self._call(_left, session_id)


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
    if state in WAITING:
        position = queue_position(session, now)
        return CallStatus(session.pk, state, announcement=position.announcement if position else "")
    notice = "" if state == SessionState.ACTIVE else selectors.last_notice(session)
    return CallStatus(session.pk, state, notice=notice)


def _left(session_id: int) -> None:
    session = Session.objects.get(pk=session_id)
    try:
        if session.state in WAITING:
            contact.contact_abandon(session=session)
        elif session.state == SessionState.ACTIVE:
            contact.session_end(actor=None, session=session)
    except HotlineError as exc:  # the platform moved it meanwhile (answered, timed out)
        log.info("会话 %s 挂机时状态已变：%s", session.ref, exc)
