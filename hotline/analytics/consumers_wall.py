"""The monitoring wall's WebSocket, ``/ws/wall/?platform=<code>``.

Admission: signed in, active, password changed, and allowed to see the wall of that
platform (:func:`hotline.analytics.wall.wall_platform`: ``contact.supervise`` or
``workorders.supervise``, within the viewer's data scope); otherwise the socket is
accepted, told why (``{"event": "error", "detail"}``) and closed with 4401 / 4403 / 4404.

Once admitted it joins the contact center's floor group (``contact.live.floor_group``) of
the platform and of every platform below it, and sends ``{"event": "live", "figures"}``
(:func:`wall.live_figures`) at once. Every contact fact or agent change that follows is
answered by a fresh ``live`` message within a fraction of a second: events arriving
together are coalesced into one reading (:data:`SETTLE` seconds), and a reading never
overlaps the next. A contact fact is also passed on as ``{"event": "fact", "kind",
"kind_label", "channel", "channel_label", "at"}`` for the wall's ticker — no session,
agent or citizen: the wall shows counts only.
"""

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from hotline.contact import live
from hotline.contact.models import FactKind
from hotline.core.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, remember_loop
from hotline.core.errors import Forbidden, NotFound

from . import wall

log = logging.getLogger("hotline.analytics")

CLOSE_NOT_FOUND = 4404
SETTLE = 0.15  # seconds: a burst of facts (arrive → queued → assigned) is read once
FACT_LABELS = dict(FactKind.choices)


@database_sync_to_async
def _admission(user, code: str):
    """(platform, platform ids) or (None, (close code, reason))."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None, (CLOSE_UNAUTHENTICATED, "请先登录")
    if user.must_change_password:
        return None, (CLOSE_FORBIDDEN, "首次登录须先修改密码")
    try:
        platform = wall.wall_platform(user, code)
    except NotFound as error:
        return None, (CLOSE_NOT_FOUND, error.message)
    except Forbidden as error:
        return None, (CLOSE_FORBIDDEN, error.message)
    return platform, wall.platform_ids(platform)


@database_sync_to_async
def _live(platform):
    return wall.live_figures(platform)


class WallConsumer(AsyncJsonWebsocketConsumer):
    """One open wall."""

    groups_joined: list
    reading: asyncio.Task | None = None
    dirty = False

    async def connect(self):
        remember_loop()
        self.groups_joined = []
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        code = (query.get("platform") or [""])[0][:20]
        user = self.scope.get("user")
        self.platform, result = await _admission(user, code)
        # accepted first, so that the browser sees the close code and the reason
        await self.accept()
        if self.platform is None:
            close_code, reason = result
            log.info(
                "wall socket refused (%s): %s, user=%s platform=%r",
                close_code,
                reason,
                getattr(user, "pk", None),
                code,
            )
            await self.send_json({"event": "error", "detail": reason})
            await self.close(code=close_code)
            return
        for platform_id in result:
            group = live.floor_group(platform_id)
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        # joined first: nothing that happens after this snapshot is missed
        await self.send_json({"event": "live", "figures": await _live(self.platform)})

    async def disconnect(self, code):
        if self.reading is not None:
            self.reading.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"event": "pong"})

    async def contact_event(self, event):
        if event.get("event") == "fact":
            kind, channel = str(event.get("kind", "")), str(event.get("channel", ""))
            await self.send_json(
                {
                    "event": "fact",
                    "kind": kind,
                    "kind_label": FACT_LABELS.get(kind, kind),
                    "channel": channel,
                    "channel_label": wall.CHANNEL_LABELS.get(channel, channel),
                    "at": event.get("at"),
                }
            )
        if event.get("event") in ("fact", "agent"):
            self.dirty = True
            if self.reading is None or self.reading.done():
                self.reading = asyncio.ensure_future(self._push())

    async def _push(self):
        """Read and send the live figures until no event came in meanwhile."""
        while self.dirty:
            await asyncio.sleep(SETTLE)
            self.dirty = False
            try:
                figures = await _live(self.platform)
            except Exception:  # noqa: BLE001 - a failed reading must not end the socket
                log.warning("wall live figures failed", exc_info=True)
                continue
            await self.send_json({"event": "live", "figures": figures})
