"""The SMS gateway (短信网关): the one HTTP adapter every SMS the platform sends goes
through — the notifier's SMS (督办、催办 …) and the SMS channel's replies to citizens.

Chinese SMS gateways all do the same thing with different words, so a vendor is
**data**, a :class:`Profile`: the URL's method and body encoding (JSON or form), the
field names (phone, content, sign name, template id, our own message id, callback URL),
how a call is authenticated (nothing, a bearer token, or a signature — HMAC-SHA256 or MD5
over the sorted parameters with the secret and a timestamp, as Aliyun-style and most
domestic gateways do), how the answer says success and names the gateway's message id,
and the field names of what the gateway pushes to us (上行短信 and 状态报告). Two presets
are declared in :data:`PROFILES`; an entry overrides single items (``overrides``).

Length: one SMS carries 70 characters (UCS-2; the carriers count the 【签名】 too); a
longer text goes as a concatenated (long) SMS of 67-character segments — in one gateway
request when the profile says the gateway takes long texts (``long_sms``, the usual
case), or as separate numbered messages "(1/3)…" when it does not.

Platform-wide settings (the notifier, and SMS sessions without an entry) and an SMS
entry's own parameters (``ChannelEntry.settings``) build the same :class:`SmsGateway`.
"""

import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Mapping

from .http import RemoteError, exchange

SEGMENT = 70  # characters of a single SMS
LONG_SEGMENT = 67  # characters of one segment of a concatenated SMS (the UDH takes 3)


class SmsError(Exception):
    """The gateway did not take a message (down, refused, misconfigured); the text is
    Chinese and is kept on the delivery as its error."""


class ProfileError(ValueError):
    """An entry's or the platform's gateway parameters do not make a usable profile."""


# --- phone numbers --------------------------------------------------------------------------

_PHONE_NOISE = re.compile(r"[\s\-()（）.]")


def normalise_phone(value: str) -> str:
    """A phone number as the platform stores it (the identity of the citizen on SMS and
    on calls alike): spaces and dashes gone, the country code of China (+86, 0086, 86)
    dropped before a mainland mobile number. Other international numbers keep their "+".
    Returns "" when what is left is not a phone number."""
    text = _PHONE_NOISE.sub("", str(value or ""))
    for prefix in ("+86", "0086", "86"):
        rest = text[len(prefix) :]
        if text.startswith(prefix) and re.fullmatch(r"1\d{10}", rest):
            return rest
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text[1:] if text.startswith("+") else text
    if not re.fullmatch(r"\d{5,20}", digits):
        return ""
    return text


# --- length ---------------------------------------------------------------------------------


def segments(text: str) -> int:
    """How many SMS the carriers bill for ``text`` (70 alone, 67 per concatenated part)."""
    length = len(text or "")
    if length <= SEGMENT:
        return 1
    return -(-length // LONG_SEGMENT)


def numbered_parts(text: str, limit: int = SEGMENT) -> list[str]:
    """``text`` as separate SMS for a gateway without long SMS, each prefixed "(1/3)" and
    each at most ``limit`` characters with its prefix."""
    if len(text) <= limit:
        return [text]
    total = 2
    while True:  # the prefix grows with the count: "(1/9)" vs "(10/12)"
        width = len(f"({total}/{total})")
        size = limit - width
        count = -(-len(text) // size)
        if count <= total:
            break
        total = count
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    return [f"({n}/{len(chunks)}){chunk}" for n, chunk in enumerate(chunks, 1)]


# --- signing --------------------------------------------------------------------------------


def canonical(params: Mapping, skip: str) -> str:
    """The string a gateway signs: ``k=v`` pairs sorted by key, joined with "&", the
    signature field and empty values left out."""
    pairs = sorted((str(k), str(v)) for k, v in params.items() if k != skip and v not in ("", None))
    return "&".join(f"{k}={v}" for k, v in pairs)


def signature(method: str, params: Mapping, secret: str, skip: str) -> str:
    """``hmac-sha256``: HMAC-SHA256 of the canonical string keyed by the secret (hex);
    ``md5``: MD5 of the canonical string + "&key=" + secret (hex, upper case)."""
    text = canonical(params, skip)
    if method == "hmac-sha256":
        return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    if method == "md5":
        return hashlib.md5(f"{text}&key={secret}".encode()).hexdigest().upper()  # noqa: S324
    raise ProfileError(f"未知签名方式：{method}")


# --- profiles -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Profile:
    """One vendor's wire format (网关协议), declared as data. Empty field names are not
    sent; dotted names (``data.msgid``) reach into a nested JSON answer."""

    name: str
    label: str
    method: str = "POST"
    encoding: str = "json"  # json | form
    auth: str = "bearer"  # none | bearer | hmac-sha256 | md5
    long_sms: bool = True  # the gateway takes a long text in one request
    # what we send
    phone: str = "phone"
    content: str = "content"
    sign_name: str = "sign_name"
    template_id: str = "template_id"
    out_id: str = "out_id"  # our own id of the message, echoed in its status report
    callback: str = "callback"
    appkey: str = "appkey"  # signed profiles: the account
    timestamp: str = "timestamp"  # signed profiles: seconds since the epoch
    nonce: str = "nonce"
    signature: str = "sign"
    # how the answer reads
    success_field: str = "code"
    success_values: tuple = ("0", "OK", "ok", "success")
    success_required: bool = False  # False: a 2xx answer without the field is success
    message_id: str = "msgid"
    error_field: str = "msg"
    # what the gateway pushes to us: 上行短信 …
    in_phone: str = "phone"
    in_text: str = "content"
    in_msgid: str = "msgid"
    in_time: str = "time"
    in_ref: str = "ref"  # concatenated SMS: the UDH reference, part number and count
    in_part: str = "part"
    in_total: str = "total"
    # … and 状态报告
    report_msgid: str = "msgid"
    report_out_id: str = "out_id"
    report_status: str = "status"
    report_error: str = "error"
    delivered_values: tuple = ("DELIVRD", "DELIVERED", "0", "SUCCESS")
    token_header: str = "Authorization"  # bearer profiles: "Bearer <token>" on pushes too
    max_skew: int = 300  # signed pushes: seconds the timestamp may be off (replays)
    ack: str = '{"code": 0, "msg": "成功"}'

    @property
    def signed(self) -> bool:
        return self.auth in ("hmac-sha256", "md5")


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(name="generic-json", label="通用 JSON（Bearer 令牌，支持长短信）"),
        Profile(
            name="signed-form",
            label="签名表单（HMAC-SHA256，分条发送）",
            encoding="form",
            auth="hmac-sha256",
            long_sms=False,
            phone="mobile",
            sign_name="sign_name",
            template_id="template_code",
            callback="callback_url",
            appkey="app_key",
            signature="signature",
            success_values=("OK",),
            success_required=True,
            message_id="biz_id",
            error_field="message",
            in_phone="mobile",
            in_msgid="msg_id",
            in_time="send_time",
            in_ref="concat_ref",
            in_part="concat_seq",
            in_total="concat_total",
            report_msgid="biz_id",
            report_status="report_status",
            report_error="err_msg",
        ),
    )
}

_BOOL = {"1": True, "true": True, "yes": True, "是": True, "0": False, "false": False, "no": False}
_BOOL.update({"否": False})


def profile_of(name: str = "", overrides=None) -> Profile:
    """The preset ``name`` with single items replaced: ``overrides`` is a dict or a text
    "phone=mobile, long_sms=0, success_values=OK|0"."""
    base = PROFILES.get(name or "generic-json")
    if base is None:
        raise ProfileError(f"未知短信网关协议：{name}（可选：{'、'.join(PROFILES)}）")
    if isinstance(overrides, str):
        pairs = [item.split("=", 1) for item in re.split(r"[,，\n]", overrides) if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ProfileError("协议覆盖项应写成 字段=值，以逗号分隔")
        overrides = {k.strip(): v.strip() for k, v in pairs}
    changes = {}
    fields = {f.name: f for f in dataclasses.fields(Profile)}
    for key, value in (overrides or {}).items():
        if key not in fields or key == "name":
            raise ProfileError(f"未知协议覆盖项：{key}")
        current = getattr(base, key)
        if isinstance(current, bool):
            parsed = _BOOL.get(str(value).lower()) if not isinstance(value, bool) else value
            if parsed is None:
                raise ProfileError(f"协议覆盖项 {key} 应为 1 或 0")
            value = parsed
        elif isinstance(current, int):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ProfileError(f"协议覆盖项 {key} 应为整数") from None
        elif isinstance(current, tuple):
            value = (
                tuple(value) if isinstance(value, list | tuple) else tuple(str(value).split("|"))
            )
        else:
            value = str(value)
        changes[key] = value
    profile = dataclasses.replace(base, **changes)
    if profile.encoding not in ("json", "form") or profile.method not in ("POST", "GET"):
        raise ProfileError("协议的请求方式或编码不受支持")
    if profile.auth not in ("none", "bearer", "hmac-sha256", "md5"):
        raise ProfileError(f"未知签名方式：{profile.auth}")
    return profile


def dig(data, path: str):
    """``data["a"]["b"]`` for the path "a.b"; None when any step is missing."""
    for key in path.split(".") if path else ():
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


# --- the gateway ----------------------------------------------------------------------------


class SmsGateway:
    """One configured gateway: :meth:`send` puts a text on the wire and returns the
    gateway's message id; :meth:`verify_push` checks what the gateway pushes to us."""

    def __init__(
        self,
        url: str,
        *,
        profile: Profile | None = None,
        token: str = "",
        appkey: str = "",
        secret: str = "",
        sign_name: str = "",
        template_id: str = "",
        callback: str = "",
        timeout: float = 10,
        url_name: str = "HOTLINE_SMS_URL",
    ):
        self.url = url
        self.profile = profile or PROFILES["generic-json"]
        self.token, self.appkey, self.secret = token, appkey, secret
        self.sign_name, self.template_id, self.callback = sign_name, template_id, callback
        self.timeout = timeout
        self.url_name = url_name  # named in the error when no URL is configured

    @classmethod
    def from_config(cls, config: Mapping, **defaults) -> "SmsGateway":
        """From an SMS entry's parameters (``ChannelEntry.settings``): ``api_url``,
        ``profile``, ``overrides``, ``token``, ``appkey``, ``secret``, ``sign_name``,
        ``template_id``, ``callback_url``, ``timeout``."""
        values = {**defaults, **{k: v for k, v in config.items() if v not in ("", None)}}
        try:
            timeout = float(values.get("timeout") or 10)
        except (TypeError, ValueError):
            raise ProfileError("超时时间应为秒数") from None
        return cls(
            str(values.get("api_url") or ""),
            profile=profile_of(str(values.get("profile") or ""), values.get("overrides")),
            token=str(values.get("token") or ""),
            appkey=str(values.get("appkey") or ""),
            secret=str(values.get("secret") or ""),
            sign_name=str(values.get("sign_name") or ""),
            template_id=str(values.get("template_id") or ""),
            callback=str(values.get("callback_url") or ""),
            timeout=timeout,
            url_name=str(values.get("url_name") or "api_url"),
        )

    @classmethod
    def from_settings(cls) -> "SmsGateway":
        """The platform-wide gateway: ``HOTLINE_SMS_URL``, ``HOTLINE_SMS_TOKEN``,
        ``HOTLINE_SMS_TIMEOUT``, and optionally ``HOTLINE_SMS_PROFILE``,
        ``HOTLINE_SMS_OVERRIDES``, ``HOTLINE_SMS_APPKEY``, ``HOTLINE_SMS_SECRET``,
        ``HOTLINE_SMS_SIGN_NAME``, ``HOTLINE_SMS_TEMPLATE_ID``."""
        from django.conf import settings

        def read(name, default=""):
            return getattr(settings, f"HOTLINE_SMS_{name}", default)

        return cls.from_config(
            {
                "api_url": read("URL"),
                "profile": read("PROFILE"),
                "overrides": read("OVERRIDES"),
                "token": read("TOKEN"),
                "appkey": read("APPKEY"),
                "secret": read("SECRET"),
                "sign_name": read("SIGN_NAME"),
                "template_id": read("TEMPLATE_ID"),
                "timeout": read("TIMEOUT", 10),
                "url_name": "HOTLINE_SMS_URL",
            }
        )

    # --- sending --------------------------------------------------------------------------

    def texts(self, text: str) -> list[str]:
        """What goes out for ``text``: itself (one SMS, or one long SMS when the gateway
        takes those), or numbered parts."""
        sign = f"【{self.sign_name}】" if self.sign_name else ""
        if self.profile.long_sms or len(sign) + len(text) <= SEGMENT:
            return [text]
        return numbered_parts(text, SEGMENT - len(sign))

    def send(self, phone: str, text: str, *, out_id: str = "") -> str:
        """Send ``text`` to ``phone``; the gateway's message id ("id1,id2" for numbered
        parts; "" when the gateway names none). :class:`SmsError` when it is not taken."""
        if not self.url:
            raise SmsError(f"未配置短信网关地址（{self.url_name}）")
        number = normalise_phone(phone)
        if not number:
            raise SmsError(f"手机号码格式不正确：{phone}")
        parts = self.texts(text)
        ids = []
        for index, part in enumerate(parts, 1):
            part_id = f"{out_id}-{index}" if out_id and len(parts) > 1 else out_id
            ids.append(self._send_one(number, part, part_id))
        return ",".join(i for i in ids if i)

    def request_params(self, phone: str, text: str, out_id: str = "") -> dict:
        """The parameters of one send request, signed when the profile signs."""
        p = self.profile
        params = {
            p.phone: phone,
            p.content: text,
            p.sign_name: self.sign_name,
            p.template_id: self.template_id,
            p.out_id: out_id,
            p.callback: self.callback,
        }
        if p.signed:
            if not self.secret:
                raise SmsError("短信网关签名密钥未配置（secret）")
            params[p.appkey] = self.appkey
            params[p.timestamp] = str(int(time.time()))
            params[p.nonce] = secrets.token_hex(8)
        params = {k: v for k, v in params.items() if k and v not in ("", None)}
        if p.signed:
            params[p.signature] = signature(p.auth, params, self.secret, p.signature)
        return params

    def _send_one(self, phone: str, text: str, out_id: str) -> str:
        p = self.profile
        params = self.request_params(phone, text, out_id)
        headers = {}
        url, data = self.url, None
        if p.method == "GET":
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        elif p.encoding == "json":
            data = json.dumps(params, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        else:
            data = urllib.parse.urlencode(params).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        if p.auth == "bearer" and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            answer = exchange(
                p.method, url, service="短信网关", body=data, headers=headers, timeout=self.timeout
            )
        except RemoteError as error:
            raise SmsError(str(error)) from None
        return self.read_answer(answer.body)

    def read_answer(self, body: bytes) -> str:
        """The gateway's message id from its answer; :class:`SmsError` when the answer
        says the message was refused."""
        p = self.profile
        try:
            answer = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError):
            answer = None
        code = dig(answer, p.success_field)
        if code is None:
            if p.success_required:
                raise SmsError("短信网关应答无法识别")
            return ""
        if str(code) not in {str(v) for v in p.success_values}:
            reason = dig(answer, p.error_field) or ""
            raise SmsError(f"短信网关拒绝发送：{code} {reason}".strip())
        msgid = dig(answer, p.message_id)
        return "" if msgid is None else str(msgid)[:64]

    # --- what the gateway pushes to us ------------------------------------------------------

    def verify_push(self, params: Mapping, headers: Mapping, now: float | None = None) -> str:
        """ "" when a push (上行短信, 状态报告) carries this gateway's credentials, else
        the Chinese reason it does not: the bearer token in the header, or a valid
        signature over the parameters with a timestamp within ``max_skew``. A gateway
        with no credential configured is refused (anyone could call)."""
        p = self.profile
        if p.signed:
            if not self.secret:
                return "短信接入未配置网关密钥，拒绝推送"
            given = str(params.get(p.signature) or "")
            expected = signature(p.auth, params, self.secret, p.signature)
            if not given or not hmac.compare_digest(given.lower(), expected.lower()):
                return "签名校验失败"
            try:
                stamp = int(str(params.get(p.timestamp)))
            except ValueError:
                return "签名时间戳无效"
            if abs((now or time.time()) - stamp) > p.max_skew:
                return "签名已过期（可能是重放）"
            if self.appkey and str(params.get(p.appkey) or "") != self.appkey:
                return "网关账号不符"
            return ""
        if not self.token:
            return "短信接入未配置网关令牌，拒绝推送"
        given = str(headers.get(p.token_header) or "")
        if p.token_header.lower() == "authorization":
            given = given.removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return "网关令牌无效"
        return ""
