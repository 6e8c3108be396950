"""Weibo private messages (微博私信), through the 粉丝服务平台 developer mode of a verified
account (open.weibo.com "粉丝服务平台接口").

**Verify.** Weibo signs every call to the entry's URL — the one-time URL check (GET with
``echostr``) and each push (POST) — with ``signature`` = sha1 of ``app_secret``,
``timestamp`` and ``nonce`` sorted and joined. A call without a valid signature, or whose
``timestamp`` (milliseconds) is more than :data:`MAX_AGE` away from now, is refused (403)
and logged: a captured push cannot be replayed later.

**Normalise.** A push is JSON: ``type`` text / position / image / voice / event,
``sender_id`` (the citizen's uid, ``IdentityKind.WEIBO``), ``created_at``, ``text``,
``data``. Weibo retries a push it got no answer to within 5 seconds, so each is
de-duplicated by its ``id`` (or, in the older form without one, by sender and time, as the
documentation advises). An image or voice message is fetched from the upload host
(``/2/mss/msget`` with ``tovfid``) and stored as the message's file. ``unfollow`` /
``unsubscribe`` are the citizen leaving; other events and unknown types are ignored, as
the documentation asks. We answer with an empty body: no passive reply, no retry.

**Deliver.** Replies go through the customer-service API, ``POST {api_base}/2/messages/
reply.json`` (form: ``access_token``, ``type=text``, ``data`` = the URL-encoded JSON
``{"text": …}``, ``receiver_id``). An HTTP failure or a Weibo error (``error_code``) is a
:class:`~.base.DeliveryError`: retried, then a dead letter. Weibo allows replies for 48
hours after the citizen's last message; text is limited to 300 characters.
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.parse

from django.core.files.base import ContentFile
from django.utils import timezone

from hotline.core.errors import Invalid, NotFound
from hotline.core.http import RemoteError, exchange

from . import register
from .base import DeliveryError, Inbound, ReplyConnector, SettingField, Unverified

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://m.api.weibo.com"
DEFAULT_UPLOAD_BASE = "https://upload.api.weibo.com"
MAX_AGE = dt.timedelta(minutes=5)  # a signed call older (or newer) than this is refused
TIMEOUT = 10  # seconds for a call to Weibo's API
MAX_MEDIA_BYTES = 10 * 1024 * 1024
# Which files a fetched image or voice message may be (first bytes → extension).
MEDIA_MAGIC = (
    (b"\xff\xd8\xff", "jpg", "image"),
    (b"\x89PNG\r\n\x1a\n", "png", "image"),
    (b"#!AMR", "amr", "file"),
)
LEAVE_EVENTS = {"unfollow", "unsubscribe"}


def signature(secret: str, timestamp: str, nonce: str) -> str:
    """Weibo's signature: sha1 of app_secret, timestamp and nonce, sorted and joined."""
    return hashlib.sha1("".join(sorted([secret, timestamp, nonce])).encode()).hexdigest()


def _verify(request, entry) -> None:
    secret = str(entry.settings.get("app_secret") or "")
    if not secret:
        raise Unverified("微博接入未配置 App Secret")
    given = request.GET.get("signature", "")
    timestamp = request.GET.get("timestamp", "")
    nonce = request.GET.get("nonce", "")
    if not (given and timestamp and nonce):
        raise Unverified("缺少微博签名参数")
    expected = signature(secret, timestamp, nonce).encode()
    if not hmac.compare_digest(expected, given.lower().encode()):
        raise Unverified("微博签名校验失败")
    if not timestamp.isdigit():
        raise Unverified("微博时间戳格式不正确")
    stamp = int(timestamp)
    seconds = stamp / 1000 if stamp > 10**11 else stamp  # documented in ms; accept seconds
    try:
        sent = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise Unverified("微博时间戳格式不正确") from None
    if abs(timezone.now() - sent) > MAX_AGE:
        raise Unverified("微博请求已过期（时间戳与当前时间相差超过 5 分钟）")


def _call(url: str, *, data: bytes | None = None, headers: dict | None = None) -> bytes:
    """One call to Weibo's API; DeliveryError for a refusal or a host that is down."""
    try:
        answer = exchange(
            "POST" if data is not None else "GET",
            url,
            service="微博接口",
            body=data,
            headers=headers,
            timeout=TIMEOUT,
        )
    except RemoteError as error:
        raise DeliveryError(_api_error(error.body, str(error))) from None
    return answer.body


def _api_error(body: bytes, fallback: str) -> str:
    """Weibo's own words for a refusal ({"error": …, "error_code": …}), else ``fallback``."""
    try:
        answer = json.loads(body or b"null")
    except ValueError:
        return fallback
    if isinstance(answer, dict) and answer.get("error_code"):
        return f"微博接口错误 {answer['error_code']}：{answer.get('error', '')}"
    return fallback


class WeiboConnector(ReplyConnector):
    channel = "weibo"
    label = "微博"
    max_length = 300  # the reply API's limit for text
    media_kinds = frozenset({"text"})  # the reply API sends text (articles, position unused)
    setting_fields = (
        SettingField("app_key", "AppKey", help="粉丝服务平台开发模式中填写的应用 AppKey"),
        SettingField(
            "app_secret", "App Secret", required=True, secret=True, help="用于校验推送签名"
        ),
        SettingField(
            "access_token",
            "Access Token",
            required=True,
            secret=True,
            help="粉丝服务平台“高级功能—开发模式”页面获取，用于回复私信",
        ),
        SettingField("uid", "微博账号 UID", help="填写后，只接收发给此账号的推送"),
        SettingField("api_base", "接口地址", default=DEFAULT_API_BASE),
        SettingField("upload_base", "图片接口地址", default=DEFAULT_UPLOAD_BASE),
    )
    webhook_actions = {"": "粉丝服务平台开发模式 URL（消息推送地址）"}

    # --- inbound ------------------------------------------------------------------------------

    def webhook(self, request, entry, action: str):
        from ..views_channels import text_response

        if action:
            raise NotFound("微博渠道没有此接口")
        _verify(request, entry)
        if request.method == "GET":
            echostr = request.GET.get("echostr", "")
            if not echostr:
                raise Invalid("缺少 echostr 参数")
            return text_response(echostr)
        if request.method != "POST":
            raise Invalid("微博推送须为 POST 请求")
        inbound = self.normalise(entry, _push(request))
        if inbound is not None:
            from .. import services

            services.inbound_receive(entry=entry, inbound=inbound)
        return text_response("")  # no passive reply; Weibo does not retry an empty answer

    def normalise(self, entry, push: dict) -> Inbound | None:
        """One push as an :class:`Inbound` item, or None for what is ignored."""
        kind, data = push["type"], push["data"]
        address = push["sender_id"]
        uid = str(entry.settings.get("uid") or "")
        if uid and str(push.get("receiver_id", "")) != uid:
            raise Invalid("推送的接收方与本接入的微博账号不符")
        external_id = "wb-" + str(push.get("id") or f"{address}-{push.get('created_at', '')}")
        text = str(push.get("text") or "")
        if kind == "text":
            return Inbound(address=address, body=text, external_id=external_id[:100])
        if kind == "position":
            where = f"纬度 {data.get('latitude', '')}，经度 {data.get('longitude', '')}"
            return Inbound(
                address=address,
                kind="location",
                body=f"{text}（{where}）" if text else where,
                external_id=external_id[:100],
                data={"latitude": data.get("latitude"), "longitude": data.get("longitude")},
            )
        if kind in ("image", "voice"):
            return self._media(entry, address, kind, data, external_id[:100])
        if kind == "event":
            if str(data.get("subtype", "")) in LEAVE_EVENTS:
                return Inbound(address=address, kind="event", event="leave")
            return None  # follow, subscribe, menu clicks, scans, @ mentions: nothing to route
        log.info("weibo entry %s: ignored a push of type %r", entry.pk, kind)
        return None

    def _media(self, entry, address: str, kind: str, data: dict, external_id: str) -> Inbound:
        """An image or voice message: fetched from the upload host as the receiving account
        (``tovfid``); when that fails the agent is told, rather than losing the message."""
        fid = str(data.get("tovfid") or "")
        noun = "图片" if kind == "image" else "语音"
        try:
            if not fid:
                raise DeliveryError("推送中没有文件编号")
            content = self.fetch_media(entry, fid)
        except DeliveryError as error:
            log.warning("weibo entry %s: media %s not fetched: %s", entry.pk, fid, error)
            return Inbound(
                address=address,
                body=f"［市民发送了一条{noun}，获取失败：{error}］",
                external_id=external_id,
            )
        for magic, ext, message_kind in MEDIA_MAGIC:
            if content.startswith(magic):
                return Inbound(
                    address=address,
                    kind=message_kind,
                    attachment=ContentFile(content, name=f"weibo-{fid}.{ext}"),
                    external_id=external_id,
                )
        return Inbound(
            address=address,
            body=f"［市民发送了一条{noun}，格式无法识别］",
            external_id=external_id,
        )

    def fetch_media(self, entry, fid: str) -> bytes:
        base = str(entry.settings.get("upload_base") or DEFAULT_UPLOAD_BASE).rstrip("/")
        query = urllib.parse.urlencode(
            {"access_token": entry.settings.get("access_token", ""), "fid": fid}
        )
        content = _call(f"{base}/2/mss/msget?{query}")
        if len(content) > MAX_MEDIA_BYTES:
            raise DeliveryError("文件超过 10 MB")
        return content

    # --- outbound -----------------------------------------------------------------------------

    def send(self, message) -> str:
        entry = message.session.channel_entry
        if entry is None:
            raise DeliveryError("会话没有对应的微博接入，无法回复")
        token = str(entry.settings.get("access_token") or "")
        if not token:
            raise DeliveryError("微博接入未配置 Access Token")
        base = str(entry.settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        form = urllib.parse.urlencode(
            {
                "access_token": token,
                "type": "text",
                "data": json.dumps({"text": message.body}, ensure_ascii=False),
                "receiver_id": message.session.address,
            }
        ).encode()
        body = _call(
            f"{base}/2/messages/reply.json",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        try:
            answer = json.loads(body or b"null")
        except ValueError:
            raise DeliveryError("微博接口返回内容无法解析") from None
        if not isinstance(answer, dict):
            raise DeliveryError("微博接口返回内容无法解析")
        if answer.get("error_code") or answer.get("error"):
            raise DeliveryError(_api_error(body, "微博接口返回错误"))
        return str(answer.get("idstr") or answer.get("id") or "")


def _push(request) -> dict:
    """The push's JSON, checked for the fields every push has."""
    try:
        push = json.loads(request.body or b"null")
    except ValueError:
        raise Invalid("微博推送不是有效的 JSON") from None
    if not isinstance(push, dict) or not isinstance(push.get("type"), str):
        raise Invalid("微博推送缺少消息类型（type）")
    sender = push.get("sender_id")
    if isinstance(sender, bool) or not str(sender or "").isdigit():
        raise Invalid("微博推送缺少发送方（sender_id）")
    push["sender_id"] = str(sender)
    if not isinstance(push.get("data"), dict):
        push["data"] = {}
    return push


CONNECTOR = register(WeiboConnector())
