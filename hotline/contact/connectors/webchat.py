"""Web chat (网页在线咨询): the citizen's page and the embeddable widget, over a WebSocket.

**Verify.** A visitor is a random id in a token signed with the site's secret key
(:func:`visitor_token`), issued by the chat page and kept by the browser for
:data:`TOKEN_MAX_AGE`; the socket and the upload endpoint accept nothing without a valid
token for their entry. The visitor id is the citizen's identity on this channel
(``IdentityKind.WEBCHAT``), so returning visitors find their profile and history.

**Normalise.** What the page sends (``{"type": "message", "body", "client_id"}``, an
uploaded image or file, leave, rate) becomes :class:`~.base.Inbound` items; ``client_id``
is the de-duplication key of a message the page re-sends after a reconnect.

**Deliver.** Outbound messages are pushed to the visitor's group (every open tab) at once
(``sent``); the page confirms what it showed (``delivered``). A page that was closed
fetches the session's messages again when it reconnects, and confirms them then.
"""

import logging
import secrets

from django.core import signing
from django.urls import reverse

from hotline.core.consumers import send_to_groups

from . import register
from .base import Connector, DeliveryError, SettingField, Unverified, agent_name

log = logging.getLogger(__name__)

TOKEN_SALT = "hotline.webchat.visitor"
FILE_SALT = "hotline.webchat.file"
TOKEN_MAX_AGE = 30 * 24 * 3600  # a returning visitor within 30 days keeps its history
PUSH_TYPE = "webchat.push"  # the consumer's handler: webchat_push


def new_visitor() -> str:
    return secrets.token_hex(16)


def visitor_token(entry, visitor: str | None = None) -> str:
    """A signed token naming a visitor of one web-chat entry."""
    return signing.dumps(
        {"e": entry.pk, "v": visitor or new_visitor()}, salt=TOKEN_SALT, compress=False
    )


def verify(entry, token: str) -> str:
    """The visitor id of a valid token for ``entry``; :class:`Unverified` otherwise."""
    try:
        claim = signing.loads(token or "", salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise Unverified("访客凭证已过期，请刷新页面") from None
    except signing.BadSignature:
        raise Unverified("访客凭证无效") from None
    if not isinstance(claim, dict) or claim.get("e") != entry.pk:
        raise Unverified("访客凭证与接入点不符")
    visitor = str(claim.get("v") or "")
    if not (len(visitor) == 32 and all(c in "0123456789abcdef" for c in visitor)):
        raise Unverified("访客凭证无效")
    return visitor


def visitor_group(platform_id: int, visitor: str) -> str:
    return f"webchat.{platform_id}.{visitor}"


def file_url(message) -> str:
    """An unguessable link to a message's file for the citizen (no session cookie)."""
    signed = signing.dumps(message.pk, salt=FILE_SALT)
    return reverse("webchat_file", args=[signed])


def file_message_id(signed: str) -> int | None:
    try:
        return int(signing.loads(signed, salt=FILE_SALT, max_age=TOKEN_MAX_AGE))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def citizen_message(message) -> dict:
    """A message as the citizen's page shows it (no internal names or links)."""
    return {
        "id": message.pk,
        "direction": message.direction,
        "kind": message.kind,
        "body": message.body,
        "at": message.at.isoformat(),
        "sender": agent_name(message.sender) if message.sender_id else "",
        "attachment": file_url(message) if message.attachment else "",
        "attachment_name": message.attachment.name.rsplit("/", 1)[-1] if message.attachment else "",
        "client_id": message.external_id.removeprefix("web-") if message.external_id else "",
    }


def citizen_state(session) -> dict:
    """Where the citizen's session stands, for the page: waiting (with the 排队通报),
    with an agent, ended (and whether a rating is asked for)."""
    from ..lifecycle import SessionState
    from ..selectors import queue_position, rating_open

    if session is None:
        return {"state": "none", "label": "", "session": None}
    data = {
        "session": session.ref,
        "state": session.state,
        "label": session.state_label,
        "agent": "",
        "position": None,
        "announcement": "",
        "rate": False,
        "satisfaction": session.satisfaction,
    }
    if session.state in (SessionState.QUEUED, SessionState.OFFERED):
        position = queue_position(session)
        if position is not None:
            data["position"] = position.position
            data["announcement"] = position.announcement
        else:
            data["announcement"] = "正在为您接通客服，请稍候。"
    elif session.state == SessionState.ACTIVE:
        data["agent"] = agent_name(session.agent)
    if rating_open(session):
        data["rate"] = True
    return data


class WebchatConnector(Connector):
    channel = "webchat"
    label = "网页在线"
    deliver_inline = True
    max_length = 2000
    setting_fields = (
        SettingField(
            "allowed_origins",
            "允许嵌入的网站",
            help="嵌入咨询挂件的网站来源，如 https://www.example.gov.cn，多个以空格或逗号分隔",
        ),
    )

    def _push(self, session, payload: dict) -> None:
        send_to_groups(
            [(visitor_group(session.platform_id, session.address), {"type": PUSH_TYPE, **payload})]
        )

    def send(self, message) -> str:
        try:
            self._push(message.session, {"event": "message", "message": citizen_message(message)})
        except Exception as error:  # noqa: BLE001 - the channel layer is the wire here
            raise DeliveryError(f"推送失败：{error}") from error
        return ""

    def session_changed(self, session_id: int, kind: str) -> None:
        from ..models import Session

        session = Session.objects.select_related("agent").filter(pk=session_id).first()
        if session is not None and session.address:
            self._push(session, {"event": "state", "state": citizen_state(session)})

    rates_on_request = True

    def request_rating(self, session) -> None:
        """The page (or widget) opens its five-level rating panel at once, the same panel
        it shows at the end; a page opened later finds it in the state (``rate``)."""
        from ..models import Session

        session = Session.objects.select_related("agent").get(pk=session.pk)
        self._push(session, {"event": "state", "state": citizen_state(session)})

    def inbound_stored(self, message_id: int) -> None:
        from ..models import Message

        message = Message.objects.select_related("session").filter(pk=message_id).first()
        if message is not None:
            self._push(message.session, {"event": "message", "message": citizen_message(message)})


CONNECTOR = register(WebchatConnector())
