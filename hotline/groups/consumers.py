"""The group chat's WebSockets.

``/ws/groups/<id>/`` — a staff page of a group (signed in, by the session): its active
members, and operators (who read but do not speak). Joins ``chatgroup.<id>.staff``.

``/ws/g/?t=<guest token>`` — a citizen's page (no account): the signed guest token given
when the citizen joined (:mod:`.tokens`). Joins ``chatgroup.<id>.guest``.

Both answer at once with ``{"event": "hello", "group", "me", "messages"}`` (the latest
messages, so a page that reconnects rebuilds from it), then accept
``{"type": "message", "body", "client_id"}`` (→ ``message`` for everybody, or ``error``
for the sender) and ``{"type": "ping"}``. Pushes from :mod:`.live` arrive as ``message``,
``member`` and ``group`` events; a member who is removed is told (``member`` with
``change: "removed"``) and the socket is closed with 4403. Images go through HTTP
(multipart), audited writes through the pages and the API.
"""

import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from hotline.core import audit
from hotline.core.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, remember_loop
from hotline.core.errors import HotlineError

from . import live, selectors, services

CLOSE_NOT_FOUND = 4404
FLOOD_WINDOW, FLOOD_LIMIT = 10.0, 20  # messages of one socket per window


def _hello(group, member, *, guest: bool) -> dict:
    return {
        "event": "hello",
        "group": {
            "id": group.pk,
            "name": group.name,
            "topic": group.topic,
            "state": group.state,
            "state_label": group.get_state_display(),
        },
        "me": {
            "member": member.pk if member else None,
            "muted": bool(member and member.muted),
            "may_post": bool(member) and group.is_open and not member.muted,
        },
        "messages": [live.message_payload(m, guest=guest) for m in selectors.messages(group)],
    }


@database_sync_to_async
def _staff_admission(user, group_id: int):
    """(close code, None) or (None, (group, member or None, hello))."""
    if user is None or not user.is_authenticated or not user.is_active:
        return CLOSE_UNAUTHENTICATED, None
    if user.must_change_password:
        return CLOSE_FORBIDDEN, None
    try:
        group = selectors.group_for(user, group_id)
    except HotlineError:
        return CLOSE_NOT_FOUND, None
    member = selectors.member_of(user, group)
    return None, (group, member, _hello(group, member, guest=False))


@database_sync_to_async
def _guest_admission(token: str):
    member = selectors.guest_of(token)
    if member is None:
        return CLOSE_UNAUTHENTICATED, None
    return None, (member.group, member, _hello(member.group, member, guest=True))


@database_sync_to_async
def _post(member_id: int, body: str, client_id: str, user):
    from .models import GroupMember

    member = GroupMember.objects.get(pk=member_id)
    with audit.origin(actor=user, channel="groups"):
        services.message_post(member=member, body=body, client_id=client_id)


class _GroupSocket(AsyncJsonWebsocketConsumer):
    group_name = ""
    member_id = None
    user = None

    async def admit(self):
        raise NotImplementedError

    async def connect(self):
        remember_loop()
        self.sent_at: list[float] = []
        refusal, admitted = await self.admit()
        await self.accept()  # first, so that the page sees the close code
        if refusal is not None:
            await self.close(code=refusal)
            return
        group, member, hello = admitted
        self.member_id = member.pk if member else None
        self.group_name = self.channel_group(group.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.send_json(hello)

    async def disconnect(self, code):
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"event": "pong"})
            return
        if kind != "message":
            await self._error("不支持的消息类型")
            return
        if self.member_id is None:
            await self._error("您不是群组成员，不能发言")
            return
        if self._flooding():
            await self._error("发送过于频繁，请稍后再试")
            return
        try:
            await _post(
                self.member_id,
                str(content.get("body") or ""),
                str(content.get("client_id") or ""),
                self.user,
            )
        except HotlineError as error:
            await self._error(error.message, content.get("client_id"))

    def _flooding(self) -> bool:
        now = time.monotonic()
        self.sent_at = [t for t in self.sent_at if now - t < FLOOD_WINDOW]
        self.sent_at.append(now)
        return len(self.sent_at) > FLOOD_LIMIT

    async def _error(self, detail: str, client_id=None):
        await self.send_json({"event": "error", "detail": detail, "client_id": client_id or ""})

    async def contact_event(self, event):
        """A push of :mod:`.live` (published through the contact center's ``publish``)."""
        await self.send_json({k: v for k, v in event.items() if k != "type"})
        if (
            event.get("event") == "member"
            and event.get("change") == "removed"
            and event.get("member") == self.member_id
        ):
            await self.close(code=CLOSE_FORBIDDEN)


class StaffGroupConsumer(_GroupSocket):
    """One staff page of one group."""

    channel_group = staticmethod(live.staff_group)

    async def admit(self):
        self.user = self.scope.get("user")
        group_id = self.scope["url_route"]["kwargs"]["group_id"]
        return await _staff_admission(self.user, group_id)


class GuestGroupConsumer(_GroupSocket):
    """One citizen's page of one group."""

    channel_group = staticmethod(live.guest_group)

    async def admit(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        return await _guest_admission((query.get("t") or [""])[0])
