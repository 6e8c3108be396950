"""The media node's one door into the platform: :class:`PlatformLink`.

Every question a node asks is one of ``node_calls.CALLS`` — a name and JSON values in,
JSON values out — so it travels the same way either of two roads:

* :class:`DirectLink` (embedded, ``make run``): the node runs the call next to the
  database itself, on one thread of its own (Django's ORM is synchronous; one thread
  also keeps SQLite writers in line);
* :class:`WebSocketLink` (distributed): the node connects as a client to a web node's
  ``/ws/medianode/`` (``consumers.MediaNodeConsumer``) with the node token, and each call
  is a message ``{"id", "call", "args"}`` answered by ``{"id", "result"}`` or
  ``{"id", "error"}``. It reconnects by itself; a node needs no database credentials.

What comes back is turned into the dataclasses below, the same on both roads.
"""

import abc
import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import itertools
import json
import logging

from django.db import close_old_connections, connections

from hotline.contact.lifecycle import SessionState

from . import node_calls
from .node_calls import WAITING

log = logging.getLogger(__name__)


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
    kind: str  # supervisor | outside | agent (咨询)
    mode: str
    target: str  # the phone's SIP address, or the number to call over the trunk
    user_id: int | None = None  # the supervisor or the consulted agent


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


class PlatformLink(abc.ABC):
    """What a node asks; a road (``call``) is given by a subclass."""

    @abc.abstractmethod
    async def call(self, name: str, /, **args):
        """Ask ``node_calls.CALLS[name](**args)`` on the platform; its JSON answer."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Let go of what the road holds (a thread, a socket)."""

    # --- what the node asks -------------------------------------------------------------------

    async def flow_for(self, number: str) -> Flow | None:
        found = await self.call("flow_for", number=number)
        return found and Flow(**found)

    async def caller_kinds(self, platform_id: int, number: str) -> set[str]:
        """What the caller's number is to the platform: black, white, vip, priority."""
        return set(await self.call("caller_kinds", platform_id=platform_id, number=number))

    async def is_open(self, platform_id: int, queue_code: str) -> bool:
        return await self.call("is_open", platform_id=platform_id, queue_code=queue_code)

    async def arrive(self, platform_id: int, queue_code: str, caller: str) -> CallStatus:
        return _status(
            await self.call("arrive", platform_id=platform_id, queue_code=queue_code, caller=caller)
        )

    async def status(self, session_id: int) -> CallStatus:
        return _status(await self.call("status", session_id=session_id))

    async def left(self, session_id: int) -> None:
        """The caller hung up."""
        await self.call("left", session_id=session_id)

    async def answered(self, session_id: int, agent_id: int) -> bool:
        """The agent's phone picked up: the offer is accepted (False: it had moved on)."""
        return await self.call("answered", session_id=session_id, agent_id=agent_id)

    async def unanswered(self, session_id: int, agent_id: int) -> None:
        """The agent's phone was busy, refused or rang out."""
        await self.call("unanswered", session_id=session_id, agent_id=agent_id)

    async def agent_hung_up(self, session_id: int, agent_id: int) -> None:
        await self.call("agent_hung_up", session_id=session_id, agent_id=agent_id)

    async def refer(self, session_id: int, agent_id: int, target: str) -> str:
        """The agent's phone transfers the call (REFER) to an extension or a 联动号码:
        "" when done, else why not (Chinese)."""
        return await self.call("refer", session_id=session_id, agent_id=agent_id, target=target)

    async def sip_ha1(self, extension: str) -> str | None:
        """The digest HA1 of a registering phone's account (None: no such extension)."""
        return await self.call("sip_ha1", extension=extension)

    async def sip_register(
        self, extension: str, contact: str, expires: int, user_agent: str, node: str
    ) -> int:
        """Bind (or, expires 0, unbind) an authenticated phone; the seconds granted."""
        return await self.call(
            "sip_register",
            extension=extension,
            contact=contact,
            expires=expires,
            user_agent=user_agent,
            node=node,
        )

    async def heartbeat(self, **health) -> None:
        """The node is alive (or stopping): its calls and its trunk's health."""
        await self.call("heartbeat", **health)

    async def callbacks_claim(self, node: str) -> list[CallbackJob]:
        return [CallbackJob(**job) for job in await self.call("callbacks_claim", node=node)]

    async def callback_progress(self, call_id: int, state: str, result: str = "") -> None:
        await self.call("callback_progress", call_id=call_id, state=state, result=result)

    async def party_progress(self, party_id: int, state: str, result: str = "") -> None:
        await self.call("party_progress", party_id=party_id, state=state, result=result)

    async def rate(self, session_id: int, digit: str) -> bool:
        """The caller's key in the survey (1–5); False when it is not a level."""
        return await self.call("rate", session_id=session_id, digit=digit)

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
        await self.call(
            "recorded",
            session_id=session_id,
            agent_id=agent_id,
            file=file,
            started_at=started_at,
            seconds=seconds,
            size=size,
            call_id=call_id,
        )


def _status(found: dict) -> CallStatus:
    parties = tuple(PartyJob(**party) for party in found.get("parties", ()))
    return CallStatus(**{**found, "parties": parties})


class DirectLink(PlatformLink):
    """The embedded road: the call runs in this process, on the link's own thread."""

    def __init__(self):
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="platform-link")

    async def call(self, name: str, /, **args):
        function = node_calls.CALLS[name]

        def run():
            close_old_connections()
            return function(**args)

        return await asyncio.get_running_loop().run_in_executor(self._thread, run)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, connections.close_all)
        self._thread.shutdown(wait=False)


class LinkDown(ConnectionError):
    """The web node cannot be reached (the call is not made)."""


class WebSocketLink(PlatformLink):
    """The distributed road: the node is a WebSocket client of a web node. A call waits
    up to ``wait`` seconds for the connection (it reconnects by itself) and for its
    answer; a refused token is logged and retried (the operator fixes the token)."""

    def __init__(self, url: str, token: str, *, wait: float = 10.0):
        self.url, self.token, self.wait = url, token, wait
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._socket = None
        self._connected = asyncio.Event()
        self._runner: asyncio.Task | None = None

    async def call(self, name: str, /, **args):
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())
        try:
            await asyncio.wait_for(self._connected.wait(), self.wait)
        except TimeoutError:
            raise LinkDown(f"连接 {self.url} 失败") from None
        import websockets

        number = next(self._ids)
        answer = self._pending[number] = asyncio.get_running_loop().create_future()
        try:
            message = {"id": number, "call": name, "args": args}
            await self._socket.send(json.dumps(message, default=_json_value))
            return await asyncio.wait_for(answer, self.wait)
        except TimeoutError:
            raise LinkDown(f"{name} 未在 {self.wait:.0f} 秒内得到答复") from None
        except (OSError, websockets.WebSocketException) as error:
            raise LinkDown(f"平台连接中断：{error}") from None
        finally:
            self._pending.pop(number, None)

    async def _run(self) -> None:
        import websockets

        pause = 0.5
        headers = {"Authorization": f"Bearer {self.token}"}
        # the web node admits WebSockets from its own hosts only (as browsers show them)
        scheme, _, rest = self.url.partition("://")
        origin = f"{'https' if scheme == 'wss' else 'http'}://{rest.split('/')[0]}"
        while True:
            try:
                async with websockets.connect(
                    self.url,
                    additional_headers=headers,
                    origin=origin,
                    open_timeout=5,
                    max_size=2**22,
                ) as socket:
                    self._socket, pause = socket, 0.5
                    self._connected.set()
                    log.info("已连接平台 %s", self.url)
                    async for text in socket:
                        self._answer(json.loads(text))
            except websockets.ConnectionClosed as closed:
                why = "节点令牌被拒绝" if closed.rcvd and closed.rcvd.code == 4401 else closed
                log.warning("平台连接中断（%s）：%s，%.1f 秒后重连", self.url, why, pause)
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                log.warning("平台连接中断（%s）：%s，%.1f 秒后重连", self.url, error, pause)
            self._connected.clear()
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(LinkDown("平台连接中断"))
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)

    def _answer(self, message: dict) -> None:
        waiting = self._pending.get(message.get("id"))
        if waiting is None or waiting.done():
            return
        if "error" in message:
            waiting.set_exception(LinkDown(message["error"]))
        else:
            waiting.set_result(message.get("result"))

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)


def _json_value(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"不能发送 {type(value).__name__}")
