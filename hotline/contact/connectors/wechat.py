"""WeChat Official Account (微信公众号): the account's server URL and the API host.

**Verify.** WeChat signs every call to the server URL: ``signature`` is the SHA-1 of the
sorted concatenation of (Token, timestamp, nonce). A call with a wrong signature, or a
timestamp more than :data:`FRESHNESS` seconds away, is refused (403). In safe mode
(安全模式, the entry has ``encoding_aes_key``) the body is ``<Encrypt>``: its
``msg_signature`` covers (Token, timestamp, nonce, Encrypt) and it is decrypted with
AES-256-CBC (:class:`Crypto`, the protocol of Tencent's WXBizMsgCrypt); passive replies
go back encrypted. XML with a DOCTYPE or entities is refused before it is parsed.

**Normalise.** Text, image (the media fetched from the API host and attached), voice
(fetched; the recognition text as body), location, link; the events subscribe (the
entry's welcome as passive reply), unsubscribe (the citizen left) and the menu's CLICK
keys (:data:`MENU_SUBMIT`, :data:`MENU_ORDERS`). ``MsgId`` is the de-duplication key:
WeChat retries a message three times within 15 s when the answer is late.

**Deliver.** The answer to a message is "success" at once (WeChat waits 5 s at most);
the agents' replies and the notices go later through the customer-service message API
(客服消息 ``/cgi-bin/message/custom/send``) with an access token fetched from
``/cgi-bin/token`` and cached until 5 minutes before it expires (refreshed at once when
the API says it is invalid or expired). The worker retries a failed delivery, then
gives up (dead letter).
"""

import base64
import hashlib
import json
import logging
import secrets
import struct
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.http import HttpResponseNotAllowed
from django.utils import timezone

from hotline.core.errors import Conflict, Invalid, NotFound, Unprocessable
from hotline.core.http import RemoteError, exchange

from . import register
from .base import DeliveryError, Inbound, ReplyConnector, SettingField, Unverified

log = logging.getLogger(__name__)

API_BASE = "https://api.weixin.qq.com"
FRESHNESS = 300  # seconds a signed call stays good: older ones are replays
TOKEN_MARGIN = 300  # an access token is renewed this long before it expires
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid / not a token / expired
#: 客服消息 text: the API answers 45002 "content size out of limit" above 2048 bytes.
TEXT_MAX_BYTES = 2048
API_TIMEOUT = 10  # seconds, for the worker's calls
MEDIA_TIMEOUT = 3  # seconds, for media fetched while WeChat waits (5 s in all)
DEDUP_SECONDS = 3600

MENU_SUBMIT = "SUBMIT_REQUEST"
MENU_ORDERS = "MY_ORDERS"
SUBMIT_HINT = (
    "请直接发送您的诉求（文字、图片、语音或位置均可），并留下联系方式和具体地址，"
    "客服人员将尽快为您处理。"
)
NO_ORDERS = "暂无工单"
ORDERS_SHOWN = 5
UNSUPPORTED = "暂不支持此类消息，请发送文字、图片、语音或位置。"


# --- signatures and safe mode (消息加解密) ----------------------------------------------------


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted concatenation of the parts."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


class Crypto:
    """Safe mode's cipher (WXBizMsgCrypt): AES-256-CBC with key =
    base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32 bytes; the plain
    text is random(16) + length(4, big-endian) + message + AppID."""

    BLOCK = 32

    def __init__(self, encoding_aes_key: str, appid: str):
        try:
            self.key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except ValueError:
            self.key = b""
        if len(encoding_aes_key) != 43 or len(self.key) != 32:
            raise Conflict("EncodingAESKey 须为 43 位，请在渠道接入中核对")
        self.appid = appid.encode("utf-8")

    def _cipher(self):
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: bytes, random: bytes | None = None) -> str:
        plain = (random or secrets.token_bytes(16)) + struct.pack(">I", len(message))
        plain += message + self.appid
        pad = self.BLOCK - len(plain) % self.BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside; :class:`Unverified` when it is not ours (bad cipher text,
        padding, length, or another account's AppID)."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except ValueError:
            raise Unverified("密文格式不正确") from None
        if not data or len(data) % 16:
            raise Unverified("密文格式不正确")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= self.BLOCK or len(plain) < 20 + pad:
            raise Unverified("密文无法解密")
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        message, appid = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length or appid != self.appid:
            raise Unverified("密文不属于本公众号（AppID 不符）")
        return message


# --- XML ----------------------------------------------------------------------------------------


def parse_xml(raw: bytes) -> dict[str, str]:
    """The fields of a WeChat ``<xml>`` document (first level, text). A DOCTYPE or an
    entity declaration is refused before parsing (no entity expansion, local or remote)."""
    head = raw.lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise Invalid("消息格式不正确：不接受 DOCTYPE 或实体声明")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        raise Invalid("消息格式不正确：不是有效的 XML") from None
    if root.tag != "xml":
        raise Invalid("消息格式不正确：根元素须为 xml")
    return {child.tag: (child.text or "").strip() for child in root}


def _cdata(text: str) -> str:
    return "<![CDATA[" + str(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, content: str, now: int | None = None) -> str:
    """A passive text reply (被动回复 文本消息)."""
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(now or time.time())}</CreateTime>"
        f"<MsgType>{_cdata('text')}</MsgType><Content>{_cdata(content)}</Content></xml>"
    )


def encrypted_reply_xml(token: str, crypto: Crypto, reply: str, nonce: str) -> str:
    """A passive reply in safe mode: the reply encrypted and signed."""
    stamp = str(int(time.time()))
    encrypted = crypto.encrypt(reply.encode("utf-8"))
    return (
        f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{_cdata(signature(token, stamp, nonce, encrypted))}</MsgSignature>"
        f"<TimeStamp>{stamp}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
    )


# --- the API host (access token, media, customer-service messages, menu) ----------------------


class ApiError(DeliveryError):
    """The API host answered, with an error code (``errcode`` ≠ 0)."""

    def __init__(self, errcode: int, errmsg: str):
        self.errcode = errcode
        hint = {45015: "（用户48小时内未与公众号互动，无法发送客服消息）"}.get(errcode, "")
        super().__init__(f"微信接口错误 {errcode}：{errmsg}{hint}")


def _settings(entry) -> dict:
    settings = entry.settings or {}
    return {
        "appid": str(settings.get("appid") or ""),
        "secret": str(settings.get("secret") or ""),
        "token": str(settings.get("token") or ""),
        "encoding_aes_key": str(settings.get("encoding_aes_key") or ""),
        "api_base": str(settings.get("api_base") or API_BASE).rstrip("/"),
    }


def _http(method, url, *, body=None, headers=None, timeout=API_TIMEOUT) -> tuple[str, bytes]:
    """One HTTP exchange with the API host → (content type, body)."""
    try:
        answer = exchange(
            method, url, service="微信接口", body=body, headers=headers, timeout=timeout
        )
    except RemoteError as error:
        raise DeliveryError(str(error)) from None
    return answer.content_type, answer.body


def _json(content: bytes) -> dict:
    try:
        data = json.loads(content or b"null")
    except ValueError:
        raise DeliveryError("微信接口返回的内容无法解析") from None
    if not isinstance(data, dict):
        raise DeliveryError("微信接口返回的内容无法解析")
    if data.get("errcode"):
        raise ApiError(int(data["errcode"]), str(data.get("errmsg", "")))
    return data


def _token_key(config: dict) -> str:
    digest = hashlib.sha1(f"{config['api_base']}|{config['appid']}".encode()).hexdigest()
    return f"wechat:token:{digest}"


def access_token(entry, *, fresh: bool = False, timeout=API_TIMEOUT) -> str:
    """The account's access token: from the cache, or fetched from ``/cgi-bin/token`` and
    kept until :data:`TOKEN_MARGIN` seconds before ``expires_in``."""
    config = _settings(entry)
    if not config["appid"] or not config["secret"]:
        raise DeliveryError("公众号未配置 AppID 或 AppSecret")
    key = _token_key(config)
    if not fresh:
        cached = cache.get(key)
        if cached:
            return cached
    query = urllib.parse.urlencode(
        {"grant_type": "client_credential", "appid": config["appid"], "secret": config["secret"]}
    )
    _, content = _http("GET", f"{config['api_base']}/cgi-bin/token?{query}", timeout=timeout)
    data = _json(content)
    token = str(data.get("access_token") or "")
    if not token:
        raise DeliveryError("微信接口未返回 access_token")
    lifetime = int(data.get("expires_in") or 7200) - TOKEN_MARGIN
    if lifetime > 0:
        cache.set(key, token, timeout=lifetime)
    else:
        cache.delete(key)
    return token


def api_call(entry, method: str, path: str, *, query=None, body=None, headers=None, timeout=None):
    """Call ``path`` of the API host with the access token → (content type, body bytes).
    An answer saying the token is invalid or expired renews it and tries once more."""
    config, timeout = _settings(entry), timeout or API_TIMEOUT
    for fresh in (False, True):
        token = access_token(entry, fresh=fresh, timeout=timeout)
        params = {"access_token": token, **(query or {})}
        url = f"{config['api_base']}{path}?{urllib.parse.urlencode(params)}"
        content_type, content = _http(method, url, body=body, headers=headers, timeout=timeout)
        if content.lstrip()[:1] == b"{":  # JSON: an answer or an error, never a media file
            try:
                _json(content)
            except ApiError as error:
                if error.errcode in TOKEN_ERRORS and not fresh:
                    log.info(
                        "wechat entry %s: access token refused (%s), renewing", entry.pk, error
                    )
                    cache.delete(_token_key(config))
                    continue
                raise
        return content_type, content
    raise DeliveryError("微信接口拒绝了新的 access_token")


def api_json(entry, path: str, payload: dict, *, timeout=None) -> dict:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    _, content = api_call(
        entry,
        "POST",
        path,
        body=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=timeout,
    )
    return _json(content)


_IMAGE_MAGIC = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"))


def media_get(entry, media_id: str, *, timeout=MEDIA_TIMEOUT) -> bytes:
    """A citizen's image or voice, from ``/cgi-bin/media/get`` (temporary media)."""
    _, content = api_call(
        entry, "GET", "/cgi-bin/media/get", query={"media_id": media_id}, timeout=timeout
    )
    if not content:
        raise DeliveryError("微信接口返回了空的媒体文件")
    return content


def media_upload(entry, name: str, data: bytes, kind: str = "image") -> str:
    """Upload a temporary media file (``/cgi-bin/media/upload``, form field ``media``) →
    its media_id."""
    boundary = uuid.uuid4().hex
    filename = name.rsplit("/", 1)[-1].replace('"', "")
    mime = "image/png" if filename.lower().endswith(".png") else "image/jpeg"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="media"; '
            f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    _, content = api_call(
        entry,
        "POST",
        "/cgi-bin/media/upload",
        query={"type": kind},
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    media_id = str(_json(content).get("media_id") or "")
    if not media_id:
        raise DeliveryError("微信接口未返回 media_id")
    return media_id


# --- the menu (自定义菜单) --------------------------------------------------------------------


def menu_definition(entry) -> dict:
    """The account's menu, as ``/cgi-bin/menu/create`` takes it: 提交诉求 and 我的工单."""
    return {
        "button": [
            {"type": "click", "name": "提交诉求", "key": MENU_SUBMIT},
            {"type": "click", "name": "我的工单", "key": MENU_ORDERS},
        ]
    }


def publish_menu(entry) -> dict:
    """Push :func:`menu_definition` to the account; a refusal is told in Chinese."""
    try:
        return api_json(entry, "/cgi-bin/menu/create", menu_definition(entry))
    except DeliveryError as error:
        raise Conflict(f"发布公众号菜单失败：{error}") from None


def orders_text(entry, openid: str) -> str:
    """我的工单: the latest orders of the citizen behind ``openid`` (number, status, date),
    or :data:`NO_ORDERS`. Read-only: a citizen never seen before has none."""
    from ..selectors import citizen_history, profile_of

    profile = profile_of(entry.platform, entry.channel, openid)
    if profile is None:
        return NO_ORDERS
    orders = citizen_history(profile)["orders"][:ORDERS_SHOWN]
    if not orders:
        return NO_ORDERS
    lines = [f"您最近的 {len(orders)} 件工单："]
    for order in orders:
        day = timezone.localtime(order.created_at).strftime("%Y-%m-%d")
        lines.append(f"{order.number}｜{order.state_label}｜{day}")
    return "\n".join(lines)


# --- the connector ------------------------------------------------------------------------------


class WechatConnector(ReplyConnector):
    channel = "wechat"
    label = "微信"
    deliver_inline = False
    # 2048 bytes of UTF-8 is 682 Chinese characters; check_outbound also counts bytes
    max_length = 680
    media_kinds = frozenset({"text", "image"})
    setting_fields = (
        SettingField("appid", "AppID（开发者ID）", required=True),
        SettingField("secret", "AppSecret（开发者密码）", required=True, secret=True),
        SettingField(
            "token", "Token（令牌）", required=True, secret=True, help="与公众平台“服务器配置”一致"
        ),
        SettingField(
            "encoding_aes_key",
            "EncodingAESKey（消息加解密密钥）",
            secret=True,
            help="43 位；填写即按安全模式收发消息，留空为明文模式",
        ),
        SettingField(
            "api_base",
            "接口地址",
            default=API_BASE,
            help="微信接口主机，一般无需修改",
        ),
    )
    webhook_actions = {"": "公众号服务器地址（URL）"}

    def check_outbound(self, kind: str, body: str, attachment) -> None:
        super().check_outbound(kind, body, attachment)
        size = len((body or "").encode("utf-8"))
        if size > TEXT_MAX_BYTES:
            raise Unprocessable(
                f"微信消息最长 {TEXT_MAX_BYTES} 字节（约 {self.max_length} 个汉字），当前 {size} 字节",
                field="body",
            )

    # --- inbound ------------------------------------------------------------------------

    def webhook(self, request, entry, action: str):
        from ..views_channels import text_response

        if action:
            raise NotFound("微信渠道没有此接口")
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        config = _settings(entry)
        if not config["token"]:
            raise Unverified("公众号未配置 Token，无法验证请求来源")
        query = request.GET
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if request.method == "GET":  # 服务器地址验证
            self._check_signature(config["token"], timestamp, nonce, query.get("signature", ""))
            self._check_fresh(timestamp)
            return text_response(query.get("echostr", ""))

        crypto = None
        if config["encoding_aes_key"]:
            crypto = Crypto(config["encoding_aes_key"], config["appid"])
            outer = parse_xml(request.body)
            encrypted = outer.get("Encrypt", "")
            if not encrypted:
                raise Unverified("安全模式下消息须加密")
            expected = signature(config["token"], timestamp, nonce, encrypted)
            if not secrets.compare_digest(expected, query.get("msg_signature", "")):
                raise Unverified("消息签名（msg_signature）不正确")
            self._check_fresh(timestamp)
            fields = parse_xml(crypto.decrypt(encrypted))
        else:
            self._check_signature(config["token"], timestamp, nonce, query.get("signature", ""))
            self._check_fresh(timestamp)
            fields = parse_xml(request.body)

        reply = self.receive(entry, fields)
        if reply is None:
            return text_response("success")
        xml = text_reply_xml(fields["FromUserName"], fields.get("ToUserName", ""), reply)
        if crypto is not None:
            xml = encrypted_reply_xml(config["token"], crypto, xml, nonce or secrets.token_hex(5))
        return text_response(xml, content_type="application/xml; charset=utf-8")

    @staticmethod
    def _check_signature(token: str, timestamp: str, nonce: str, given: str) -> None:
        if not secrets.compare_digest(signature(token, timestamp, nonce), given or ""):
            raise Unverified("签名（signature）不正确")

    @staticmethod
    def _check_fresh(timestamp: str) -> None:
        try:
            stamp = int(timestamp)
        except (TypeError, ValueError):
            raise Unverified("缺少有效的时间戳") from None
        if abs(time.time() - stamp) > FRESHNESS:
            raise Unverified("请求已过期（时间戳超过 5 分钟），疑似重放")

    def receive(self, entry, fields: dict) -> str | None:
        """Act on one verified message or event; return the passive reply text, or None
        for "success"."""
        from .. import services

        openid, kind = fields.get("FromUserName", ""), fields.get("MsgType", "")
        if not openid or not kind:
            raise Invalid("消息格式不正确：缺少 FromUserName 或 MsgType")
        if kind == "event":
            return self._event(entry, openid, fields)
        msg_id = fields.get("MsgId", "")
        inbound = self._inbound(entry, openid, kind, msg_id, fields)
        if inbound is None:
            return UNSUPPORTED
        # A retry that overtakes the first attempt (or follows a reply rating, which
        # stores no message to de-duplicate by) is answered and dropped here.
        seen = f"wechat:msg:{entry.pk}:{msg_id}" if msg_id else ""
        if seen and not cache.add(seen, 1, timeout=DEDUP_SECONDS):
            log.info("wechat entry %s: message %s again, ignored", entry.pk, msg_id)
            return None
        try:
            services.inbound_receive(entry=entry, inbound=inbound)
        except Exception:
            if seen:
                cache.delete(seen)  # let WeChat's retry try again
            raise
        return None

    def _inbound(self, entry, openid: str, kind: str, msg_id: str, fields: dict):
        external_id = f"wx-{entry.pk}-{msg_id}" if msg_id else ""
        if kind == "text":
            return Inbound(address=openid, body=fields.get("Content", ""), external_id=external_id)
        if kind in ("image", "voice"):
            return self._media_inbound(entry, openid, kind, external_id, fields)
        if kind == "location":
            label = fields.get("Label", "")
            lat, lng = fields.get("Location_X", ""), fields.get("Location_Y", "")
            return Inbound(
                address=openid,
                kind="location",
                body=f"{label}（纬度 {lat}，经度 {lng}）".strip(),
                external_id=external_id,
                data={"lat": lat, "lng": lng, "scale": fields.get("Scale", ""), "label": label},
            )
        if kind == "link":
            body = "\n".join(
                part
                for part in (
                    f"[链接] {fields.get('Title', '')}".strip(),
                    fields.get("Description", ""),
                    fields.get("Url", ""),
                )
                if part
            )
            return Inbound(address=openid, body=body, external_id=external_id)
        return None  # video, shortvideo, music …: told what is supported

    def _media_inbound(self, entry, openid, kind, external_id, fields) -> Inbound:
        """An image or a voice message: the file fetched while WeChat waits. If the API
        host fails us, the citizen's message still arrives, as text saying so (with the
        picture's own link), rather than being lost."""
        from hotline.workorders.services import attachment_check

        media_id, stem = fields.get("MediaId", ""), external_id or f"wx-{uuid.uuid4().hex}"
        if kind == "image":
            body, fallback = "", f"[图片未能获取] {fields.get('PicUrl', '')}".strip()
        else:
            recognition = fields.get("Recognition", "")
            body, fallback = recognition, f"[语音未能获取] {recognition}".strip()
        try:
            if not media_id:
                raise DeliveryError("消息没有 MediaId")
            data = media_get(entry, media_id)
            if kind == "image":
                ext = next((e for magic, e in _IMAGE_MAGIC if data.startswith(magic)), "jpg")
            else:
                ext = (fields.get("Format") or "amr").lower()
            upload = ContentFile(data, name=f"{stem}.{ext}")
            attachment_check(upload)
        except (DeliveryError, Unprocessable) as error:
            log.warning("wechat entry %s: media %s not fetched: %s", entry.pk, media_id, error)
            return Inbound(address=openid, body=fallback, external_id=external_id)
        return Inbound(
            address=openid,
            kind="image" if kind == "image" else "file",
            body=body,
            attachment=upload,
            external_id=external_id,
        )

    def _event(self, entry, openid: str, fields: dict) -> str | None:
        from .. import services

        event = fields.get("Event", "").lower()
        if event == "subscribe":
            return entry.welcome or None
        if event == "unsubscribe":
            # one leave per (citizen, moment): a retried unsubscribe does nothing more
            key = f"wechat:event:{entry.pk}:{openid}:{fields.get('CreateTime', '')}:leave"
            if cache.add(key, 1, timeout=DEDUP_SECONDS):
                services.inbound_receive(
                    entry=entry, inbound=Inbound(address=openid, kind="event", event="leave")
                )
            return None
        if event == "click":
            key = fields.get("EventKey", "")
            if key == MENU_SUBMIT:
                return SUBMIT_HINT
            if key == MENU_ORDERS:
                return orders_text(entry, openid)
            log.info("wechat entry %s: unknown menu key %r", entry.pk, key)
        return None  # VIEW, SCAN, LOCATION, template reports …: nothing to do

    # --- outbound -----------------------------------------------------------------------

    def send(self, message) -> str:
        entry = message.session.channel_entry
        if entry is None:
            raise DeliveryError("会话没有经由的公众号接入，无法发送")
        to = message.session.address
        if message.kind == "image" and message.attachment:
            with message.attachment.open("rb") as handle:
                data = handle.read()
            media_id = media_upload(entry, message.attachment.name, data)
            self._custom(entry, {"touser": to, "msgtype": "image", "image": {"media_id": media_id}})
            if not (message.body or "").strip():
                return ""
        elif message.kind not in ("text", "event", "image"):
            raise DeliveryError("微信渠道不支持发送此类消息")
        self._custom(entry, {"touser": to, "msgtype": "text", "text": {"content": message.body}})
        return ""

    @staticmethod
    def _custom(entry, payload: dict) -> None:
        api_json(entry, "/cgi-bin/message/custom/send", payload)

    def publish_menu(self, entry) -> dict:
        return publish_menu(entry)


CONNECTOR = register(WechatConnector())
