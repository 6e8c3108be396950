"""The contact center's WebSockets.

``/ws/desk/`` — an agent's workbench or a supervisor's seat (signed in; ``contact.handle``
or ``contact.supervise``), or the 会话协助 page of staff who may be invited into a chat
(who may then watch the sessions they are invited into). It joins ``desk.<user id>`` at
once; a supervisor may also ask
``{"type": "watch_floor"}`` (every agent and fact of the platform) and
``{"type": "watch_session", "id": N}`` / ``{"type": "unwatch_session", "id": N}``
(``watch_floor`` is answered with ``{"event": "watching", "what": "floor"}`` once joined,
so the page takes its snapshot after that and misses nothing). The page receives every ``contact.event`` as ``{"event": …, …}`` (see :mod:`.live`). Actions
(accept, send, transfer …) go through the HTTP API: audited, CSRF-checked, one door.

``/ws/chat/<platform>/<entry>/?t=<token>`` — a citizen's web chat (no account): the token
is checked by the web-chat connector; then ``{"type": "message", "body", "client_id"}``,
``{"type": "ack", "ids": […]}``, ``{"type": "rate", "satisfaction"}``, ``{"type":
"leave"}`` and ``{"type": "status"}`` are accepted, and the page receives ``hello``
(welcome, state, the session's messages), ``message``, ``state`` and ``error`` events.
"""

import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from hotline.core import audit
from hotline.core.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, remember_loop
from hotline.core.errors import HotlineError

from . import live
from .connectors import Inbound, Unverified
from .connectors import webchat as connector

CLOSE_UNKNOWN_ENTRY = 4404
FLOOD_WINDOW, FLOOD_LIMIT = 10.0, 20  # a citizen's messages per window


# --- the desk ----------------------------------------------------------------------------------


@database_sync_to_async
def _desk_admission(user):
    if user is None or not user.is_authenticated or not user.is_active:
        return CLOSE_UNAUTHENTICATED
    if user.must_change_password:
        return CLOSE_FORBIDDEN
    if not (user.can("contact.handle") or user.can("contact.supervise")):
        from .selectors import may_assist

        if not may_assist(user):  # staff who may be invited into a chat (会话协助)
            return CLOSE_FORBIDDEN
    return None


@database_sync_to_async
def _may_watch_session(user, session_id) -> bool:
    """A supervisor watches any session of its platform; an invited person the session
    it is invited into (多方会话), while the invitation is open."""
    from .models import Session, SessionParticipant

    if user.can("contact.supervise"):
        return Session.objects.filter(pk=session_id, platform_id=user.platform_id).exists()
    return SessionParticipant.objects.filter(
        session_id=session_id,
        user_id=user.pk,
        role=SessionParticipant.Role.INVITED,
        left_at__isnull=True,
    ).exists()


class DeskConsumer(AsyncJsonWebsocketConsumer):
    """One open workbench or supervisor seat."""

    groups_joined: set

    async def connect(self):
        remember_loop()
        self.groups_joined = set()
        refusal = await _desk_admission(self.scope.get("user"))
        await self.accept()
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.user = self.scope["user"]
        await self._join(live.desk_group(self.user.pk))
        await self.send_json({"event": "ready", "user": self.user.pk})

    async def disconnect(self, code):
        for group in list(self.groups_joined):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self, group: str):
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "watch_floor":
            if await database_sync_to_async(self.user.can)("contact.supervise"):
                await self._join(live.floor_group(self.user.platform_id))
                # joined: a snapshot the page takes now misses nothing that follows
                await self.send_json({"event": "watching", "what": "floor"})
            else:
                await self.send_json({"event": "error", "detail": "没有监控权限"})
        elif kind in ("watch_session", "unwatch_session"):
            try:
                session_id = int(content.get("id"))
            except (TypeError, ValueError):
                await self.send_json({"event": "error", "detail": "会话编号不正确"})
                return
            group = live.session_group(session_id)
            if kind == "unwatch_session":
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.discard(group)
            elif await _may_watch_session(self.user, session_id):
                await self._join(group)
            else:
                await self.send_json({"event": "error", "detail": "会话不存在或无权监听"})
        elif kind == "ping":
            await self.send_json({"event": "pong"})

    async def contact_event(self, event):
        await self.send_json({k: v for k, v in event.items() if k != "type"})


# --- the citizen's web chat -------------------------------------------------------------------------


@database_sync_to_async
def _webchat_admission(platform_code: str, entry_code: str, token: str):
    """(entry, visitor) or (None, close code)."""
    from .selectors import webchat_entry

    entry = webchat_entry(platform_code, entry_code)
    if entry is None:
        return None, CLOSE_UNKNOWN_ENTRY
    try:
        return entry, connector.verify(entry, token)
    except Unverified:
        return None, CLOSE_UNAUTHENTICATED


@database_sync_to_async
def _hello(entry, visitor) -> dict:
    from . import selectors

    session = selectors.webchat_session(entry, visitor)
    messages = selectors.session_messages(session) if session is not None else []
    return {
        "event": "hello",
        "welcome": entry.welcome,
        "entry": entry.name,
        "state": connector.citizen_state(session),
        "messages": [connector.citizen_message(m) for m in messages],
    }


@database_sync_to_async
def _state(entry, visitor) -> dict:
    from . import selectors

    return connector.citizen_state(selectors.webchat_session(entry, visitor))


@database_sync_to_async
def _receive(entry, visitor, inbound: Inbound):
    from . import services

    with audit.origin(channel="webchat"):
        services.inbound_receive(entry=entry, inbound=inbound)


@database_sync_to_async
def _acknowledge(entry, visitor, ids) -> None:
    from . import services

    services.webchat_acknowledge(entry=entry, visitor=visitor, message_ids=ids)


class WebchatConsumer(AsyncJsonWebsocketConsumer):
    """One open chat page (or widget) of one visitor."""

    group = ""

    async def connect(self):
        remember_loop()
        kwargs = self.scope["url_route"]["kwargs"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("t") or [""])[0]
        self.entry, result = await _webchat_admission(kwargs["platform"], kwargs["entry"], token)
        await self.accept()
        if self.entry is None:
            await self.close(code=result)
            return
        self.visitor = result
        self.sent_at: list[float] = []
        self.group = connector.visitor_group(self.entry.platform_id, self.visitor)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(await _hello(self.entry, self.visitor))

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await self._error("消息格式不正确")
            return
        kind = content.get("type")
        try:
            if kind == "message":
                if self._flooding():
                    await self._error("发送过于频繁，请稍后再试")
                    return
                body = str(content.get("body") or "")
                client_id = str(content.get("client_id") or "")[:60]
                await _receive(
                    self.entry,
                    self.visitor,
                    Inbound(
                        address=self.visitor,
                        body=body,
                        external_id=f"web-{client_id}" if client_id else "",
                    ),
                )
            elif kind == "ack":
                ids = content.get("ids")
                if isinstance(ids, list):
                    await _acknowledge(self.entry, self.visitor, ids[:200])
            elif kind == "rate":
                satisfaction = str(content.get("satisfaction") or "")
                await _receive(
                    self.entry,
                    self.visitor,
                    Inbound(
                        address=self.visitor,
                        kind="event",
                        event="rate",
                        data={"satisfaction": satisfaction},
                    ),
                )
                await self.send_json({"event": "rated", "satisfaction": satisfaction})
            elif kind == "leave":
                await _receive(
                    self.entry,
                    self.visitor,
                    Inbound(address=self.visitor, kind="event", event="leave"),
                )
            elif kind == "status":
                await self.send_json(
                    {"event": "state", "state": await _state(self.entry, self.visitor)}
                )
            else:
                await self._error("不支持的消息类型")
        except HotlineError as error:
            await self._error(error.message)

    def _flooding(self) -> bool:
        now = time.monotonic()
        self.sent_at = [t for t in self.sent_at if now - t < FLOOD_WINDOW]
        self.sent_at.append(now)
        return len(self.sent_at) > FLOOD_LIMIT

    async def _error(self, detail: str):
        await self.send_json({"event": "error", "detail": detail})

    async def webchat_push(self, event):
        await self.send_json({k: v for k, v in event.items() if k != "type"})
