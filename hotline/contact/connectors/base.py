"""The connector interface and what every connector shares: outbound attempts, retries,
per-channel limits."""

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from django.utils import timezone

from hotline.core.errors import HotlineError, Unprocessable

log = logging.getLogger(__name__)

# Seconds before the 2nd, 3rd … attempt of a remote delivery; after the last, dead letter.
RETRY_DELAYS = (10, 60, 300, 900)


def agent_name(user) -> str:
    """How staff are named to citizens on every channel: an agent by work number, a
    handling unit's staff member by the unit (市人社局工作人员) — never the person's name."""
    if user is None:
        return ""
    if user.unit_id:
        unit = user.unit
        return f"{unit.short_name or unit.name}工作人员"
    return f"{user.employee_no}号客服" if user.employee_no else "热线客服"


class Unverified(HotlineError):
    """Inbound that fails the channel's verification (signature, token, credentials):
    refused with a 4xx and logged, never turned into a session."""

    status = 403


class DeliveryError(Exception):
    """The remote side did not take an outbound message (down, refused); retried."""


@dataclass
class Inbound:
    """One normalised inbound item of any channel."""

    address: str  # the citizen's identity on the channel (visitor id, openid, phone …)
    kind: str = "text"  # Message.Kind: text, image, file, location — or "event"
    body: str = ""
    attachment: object = None  # an uploaded file (Django File) for image/file
    external_id: str = ""  # the channel's id of the message, for de-duplication
    event: str = ""  # for kind "event": subscribe, leave, rate …
    data: dict = field(default_factory=dict)  # e.g. "subject" of a mail, "satisfaction"


@dataclass(frozen=True)
class SettingField:
    """One parameter a channel entry needs (``ChannelEntry.settings[key]``), declared by
    its connector: the 渠道接入 page builds its form from these and checks them; secrets
    are never shown back."""

    key: str
    label: str  # Chinese, as the page shows it
    required: bool = False
    secret: bool = False
    help: str = ""
    default: str = ""


class Connector:
    """Subclasses set ``channel`` and implement :meth:`send`; a channel whose service
    calls us implements :meth:`webhook`, one we must fetch from implements :meth:`poll`.
    The rest has defaults."""

    channel: str = ""
    label: str = ""
    # True: deliver in the request that wrote the message (no remote call, e.g. web chat's
    # own socket); False: the worker delivers, with retries.
    deliver_inline: bool = False
    max_length: int = 2000  # characters of one text message
    media_kinds: frozenset = frozenset({"text", "image", "file"})
    #: What an entry of this channel is configured with (:class:`SettingField`).
    setting_fields: tuple = ()
    #: The actions of :meth:`webhook` the service is told to call ("" is the bare URL),
    #: with what each is for — shown on the 渠道接入 page next to the full URL.
    webhook_actions: dict = {}

    # --- inbound ----------------------------------------------------------------------------

    def webhook(self, request, entry, action: str):
        """The channel's service calls ``/channels/<platform>/<entry>/<action>`` (inbound
        messages, URL verification, delivery reports): verify, normalise, hand each item
        to :func:`hotline.contact.services.inbound_receive`, and answer in the service's
        own format (an ``HttpResponse``). Raise :class:`Unverified` for a bad signature,
        :class:`~hotline.core.errors.Unprocessable` for malformed input."""
        from hotline.core.errors import NotFound

        raise NotFound(f"{self.label}渠道没有此接口")

    #: True: the worker calls :meth:`poll` every minute for each active entry (a mailbox).
    polls: bool = False

    def poll(self, entry) -> int:
        """Fetch what arrived at ``entry`` since the last poll; return how many items."""
        return 0

    # --- outbound -------------------------------------------------------------------------

    def check_outbound(self, kind: str, body: str, attachment) -> None:
        """Per-channel limits, told to the agent before anything is stored."""
        if kind not in self.media_kinds:
            raise Unprocessable(f"{self.label}渠道不支持发送此类消息", field="kind")
        if len(body or "") > self.max_length:
            raise Unprocessable(
                f"{self.label}消息最长 {self.max_length} 字，当前 {len(body)} 字", field="body"
            )

    def send(self, message) -> str:
        """Put one outbound message on the wire; return the channel's id for it (or "").
        Raise :class:`DeliveryError` when the far side did not take it."""
        raise NotImplementedError

    def attempt(self, message, now: dt.datetime | None = None) -> str:
        """One delivery attempt with its bookkeeping; returns the new delivery state."""
        from .. import services

        now = now or timezone.now()
        try:
            external_id = self.send(message)
        except DeliveryError as error:
            log.warning("delivery of message %s failed: %s", message.pk, error)
            updated = services.message_delivery(message=message, status="failed", error=str(error))
            return self.after_failure(updated, now)
        updated = services.message_delivery(message=message, status="sent", external_id=external_id)
        return updated.delivery

    def after_failure(self, message, now: dt.datetime) -> str:
        """Schedule the next attempt, or give up (dead letter) after the last."""
        from .. import services

        if message.attempts >= len(RETRY_DELAYS) + 1 or self.deliver_inline:
            return services.message_delivery(message=message, status="dead").delivery
        services.message_delivery(message=message, status="retrying")
        from ..tasks import deliver_message

        deliver_message.schedule((message.pk,), delay=RETRY_DELAYS[message.attempts - 1])
        return "retrying"

    # --- what the citizen is told -----------------------------------------------------------

    def session_changed(self, session_id: int, kind: str) -> None:
        """A fact of the session was recorded (queued, assigned, ended …). Channels that
        can show state do; the others rely on the notices sent as messages."""

    def inbound_stored(self, message_id: int) -> None:
        """A citizen's message was stored (e.g. to echo it to the citizen's other tabs)."""

    # --- 满意度调查: the rating request, in the channel's own form -----------------------------

    #: Does this channel carry the agent's 邀请评价 (the satisfaction request while the
    #: session is open)? The service refuses the request on channels that do not.
    rates_on_request: bool = False

    #: The notice stored (and sent) when the agent asks for the rating (邀请评价).
    rating_notice: str = (
        "客服邀请您对本次服务进行评价：非常满意、满意、基本满意、不满意、非常不满意。"
    )
    #: True: the citizen rates by replying with a number (:class:`ReplyConnector`).
    rates_by_reply: bool = False
    #: True: a channel that can carry no rating at all (fax): an answered session that
    #: ends becomes a 回拨任务, and the satisfaction is asked by telephone (回访).
    rates_by_callback: bool = False

    def request_rating(self, session) -> None:
        """The agent asked the citizen to rate this session (邀请评价), after the request
        was stored (``session.rating_requested_at``, a notice message in the transcript).
        Each channel shows the five levels its own way — web chat opens its rating panel,
        SMS or WeChat would send the levels as a numbered reply menu — and the answer comes
        back as an inbound ``rate`` event (:func:`hotline.contact.services.contact_rate`)."""
        raise NotImplementedError(f"{self.label}渠道暂不支持邀请评价")


# --- channels without a page of their own: the rating as a numbered reply --------------------

RATING_MENU = (
    "请您对本次服务进行评价，回复数字即可：1 非常满意，2 满意，3 基本满意，4 不满意，5 非常不满意。"
)
RATING_THANKS = "感谢您的评价（{level}）！如仍需帮助，欢迎随时联系12345热线。"
_RATING_REPLY = re.compile(r"^\s*([1-5])\s*[。.！!]?\s*$")


def rating_reply(text: str) -> str | None:
    """The satisfaction level a citizen's reply names — "1" … "5" (the menu's numbers)
    or a level's own words — or None when the reply is something else."""
    from ..models import SATISFACTION

    text = (text or "").strip()
    match = _RATING_REPLY.match(text)
    if match:
        return SATISFACTION[int(match.group(1)) - 1]
    return text if text in SATISFACTION else None


class ReplyConnector(Connector):
    """A channel that carries only messages (WeChat, SMS, Weibo, email): the rating request
    — 邀请评价 during the session, and at its end — is a numbered menu sent as a message,
    and the citizen's reply "1"…"5" is taken as the rating
    (:func:`hotline.contact.services.inbound_receive`)."""

    rates_on_request = True
    rates_by_reply = True
    rating_notice = RATING_MENU

    def request_rating(self, session) -> None:
        """Nothing more to do: the menu is the notice the service stored and delivers."""

    def session_changed(self, session_id: int, kind: str) -> None:
        if kind == "ended":
            from .. import services

            services.rating_menu_send(session_id)
