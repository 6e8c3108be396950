"""站内提醒实时弹出: the WebSocket at ``/ws/notifications/`` and the one door to it.

A signed-in page opens the socket (session cookie, through ``AuthMiddlewareStack``); the
consumer joins the group ``user.<pk>`` and answers at once with the unread count. The
notifier (``hotline.core.notify``) then calls :func:`push` after its rows are committed,
and each open page of the recipient shows a toast and updates its bell.

Messages to the browser::

    {"type": "unread", "unread": N}
    {"type": "notification", "id", "title", "body", "link", "level", "level_label",
     "kind", "unread"}

A socket without a signed-in, active user is closed with code 4401, one whose user must
first change the password with 4403; the page does not reconnect after either.
"""

import asyncio
import threading
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403

NOTIFICATION_FIELDS = ("id", "title", "body", "link", "level", "level_label", "kind", "unread")

# The event loop the consumers run on (the ASGI server's). The in-memory channel layer of
# the embedded mode is plain asyncio and not thread-safe: a push from another thread (a
# worker thread, a test) is handed to this loop instead of touching its queues directly.
_consumer_loop: asyncio.AbstractEventLoop | None = None


def group_of(user_id: int) -> str:
    return f"user.{user_id}"


def push(events: Iterable[tuple[int, dict]], *, timeout: float = 5) -> None:
    """Send each ``(user_id, message)`` to the user's open sockets (sync code only).

    Raises what the channel layer raises (e.g. Redis unreachable); the caller decides
    whether that matters."""
    send_to_groups(((group_of(user_id), message) for user_id, message in events), timeout=timeout)


def remember_loop() -> None:
    """Called by every consumer on connect: the loop pushes from other threads go to."""
    global _consumer_loop
    _consumer_loop = asyncio.get_running_loop()


def send_to_groups(events: Iterable[tuple[str, dict]], *, timeout: float = 5) -> None:
    """Send each ``(group, message)`` through the channel layer, from sync code."""
    layer = get_channel_layer()
    events = list(events)
    if layer is None or not events:
        return

    async def send_all():
        for group, message in events:
            await layer.group_send(group, message)

    loop = _consumer_loop
    if isinstance(layer, InMemoryChannelLayer) and loop is not None and loop.is_running():
        if asyncio._get_running_loop() is loop:  # sync code called on the loop itself
            loop.create_task(send_all())
        else:
            asyncio.run_coroutine_threadsafe(send_all(), loop).result(timeout=timeout)
    elif asyncio._get_running_loop() is not None:
        # sync code on a thread that runs an event loop of its own (a script or test
        # driving a browser): async_to_sync refuses to block that loop, so a helper thread
        # does the sending
        failure: list[BaseException] = []

        def send_from_helper():
            try:
                async_to_sync(send_all)()
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(error)

        helper = threading.Thread(target=send_from_helper, daemon=True)
        helper.start()
        helper.join(timeout)
        if failure:
            raise failure[0]
    else:
        async_to_sync(send_all)()


@database_sync_to_async
def _admission(user) -> tuple[int | None, int]:
    """(close code or None, unread count) for the connecting user."""
    from .notify import unread_count

    if user is None or not user.is_authenticated or not user.is_active:
        return CLOSE_UNAUTHENTICATED, 0
    if user.must_change_password:
        return CLOSE_FORBIDDEN, 0
    return None, unread_count(user)


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """One open page of one signed-in person."""

    group = ""

    async def connect(self):
        remember_loop()
        refusal, unread = await _admission(self.scope.get("user"))
        # Accepted first so that the browser sees the close code (a refused handshake
        # reads as 1006 there) and stops reconnecting.
        await self.accept()
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.group = group_of(self.scope["user"].pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "unread", "unread": unread})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """The page has nothing to say; what it sends is ignored."""

    # Handlers of the group messages (their "type" names the method).

    async def notification(self, event):
        await self.send_json(
            {"type": "notification", **{key: event.get(key) for key in NOTIFICATION_FIELDS}}
        )

    async def unread(self, event):
        await self.send_json({"type": "unread", "unread": event.get("unread", 0)})
