"""微信公众号 end to end: WeChat's server calls the account's server URL with XML exactly as
it sends it (signed, in plain or safe mode), and WeChat's API host — a real HTTP server on
loopback that issues access tokens and checks them — takes the agents' replies as
customer-service messages."""

import base64
import email.parser
import hashlib
import json
import secrets
import struct
import time
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone

from hotline.contact import connectors, services
from hotline.contact.connectors import base, wechat
from hotline.contact.models import Message, QueueEntry, Session
from hotline.testing import LoopbackHttp
from hotline.workorders.services import order_create
from hotline.workorders.tests.conftest import category

pytestmark = pytest.mark.django_db(transaction=True)

APPID = "wx5f2b8c0d9e1a3b47"
SECRET = "9c1f0e7d2b4a6c8e0f1a3b5c7d9e1f20"
TOKEN = "hotline12345sy"
ACCOUNT = "gh_3a9f1c2b7d01"  # the account's original id (原始ID), WeChat's ToUserName
OPENID = "oKx9Q5fVb1yZ3d2sN8mT7rLpW4aE"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(300)
AMR = b"#!AMR\n" + bytes(120)


@pytest.fixture(autouse=True)
def _forget_tokens_and_retries():
    """Access tokens and seen MsgIds are cached per process; each test starts afresh."""
    cache.clear()
    yield
    cache.clear()


class WechatApi:
    """WeChat's API host on loopback: ``/cgi-bin/token`` issues a token for the right
    AppID and AppSecret; every other call is refused (42001) unless it carries a token it
    issued and has not expired. Media ids in ``media`` are served by ``/cgi-bin/media/get``."""

    def __init__(self):
        self.tokens: set[str] = set()
        self.issued = 0
        self.media: dict[str, bytes] = {}
        self.sent: list[dict] = []
        self.uploads: list[tuple[str, bytes]] = []
        self.menus: list[dict] = []
        self.http = LoopbackHttp(self.respond)

    @staticmethod
    def _answer(payload: dict):
        return 200, "application/json; encoding=utf-8", json.dumps(payload, ensure_ascii=False)

    def respond(self, request):
        path, query = request["path"], request["query"]
        if path == "/cgi-bin/token":
            if (
                query.get("grant_type") != "client_credential"
                or query.get("appid") != APPID
                or query.get("secret") != SECRET
            ):
                return self._answer({"errcode": 40125, "errmsg": "invalid appsecret"})
            self.issued += 1
            token = f"ACCESS_TOKEN_{self.issued}"
            self.tokens.add(token)
            return self._answer({"access_token": token, "expires_in": 7200})
        if query.get("access_token") not in self.tokens:
            return self._answer({"errcode": 42001, "errmsg": "access_token expired"})
        if path == "/cgi-bin/message/custom/send" and request["method"] == "POST":
            self.sent.append(json.loads(request["body"]))
            return self._answer({"errcode": 0, "errmsg": "ok"})
        if path == "/cgi-bin/media/get":
            data = self.media.get(query.get("media_id", ""))
            if data is None:
                return self._answer({"errcode": 40007, "errmsg": "invalid media_id"})
            return 200, "image/jpeg", data
        if path == "/cgi-bin/media/upload" and query.get("type") == "image":
            head = f"Content-Type: {request['headers']['Content-Type']}\r\n\r\n".encode()
            form = email.parser.BytesParser().parsebytes(head + request["body"])
            part = next(
                p
                for p in form.get_payload()
                if p.get_param("name", header="content-disposition") == "media"
            )
            self.uploads.append((part.get_filename(), part.get_payload(decode=True)))
            return self._answer({"type": "image", "media_id": f"UPLOADED_{len(self.uploads)}"})
        if path == "/cgi-bin/menu/create" and request["method"] == "POST":
            self.menus.append(json.loads(request["body"]))
            return self._answer({"errcode": 0, "errmsg": "ok"})
        return 404, "text/plain", "not found"

    def texts(self, to: str = OPENID) -> list[str]:
        return [
            m["text"]["content"] for m in self.sent if m["touser"] == to and m["msgtype"] == "text"
        ]

    def token_requests(self) -> int:
        return sum(1 for r in self.http.requests if r["path"] == "/cgi-bin/token")


@pytest.fixture
def api():
    host = WechatApi()
    with host.http:
        yield host


def make_entry(cc, api, code="wx", **settings):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="wechat",
        code=code,
        name="三亚12345公众号",
        queue=cc.general,
        welcome="您好，欢迎关注三亚12345！请直接发送您的诉求。",
        settings={
            "appid": APPID,
            "secret": SECRET,
            "token": TOKEN,
            "api_base": api.http.url,
            **settings,
        },
    )


@pytest.fixture
def entry(cc, api):
    return make_entry(cc, api)


@pytest.fixture
def ready_agent(agent):
    return agent("林", now=timezone.now())


# --- what WeChat's server sends --------------------------------------------------------------


def signed(token=TOKEN, timestamp=None, nonce=None) -> dict:
    timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
    nonce = nonce or str(secrets.randbelow(10**10))
    sign = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": sign, "timestamp": timestamp, "nonce": nonce, "openid": OPENID}


def message_xml(kind: str, fields: str, *, msg_id=None, openid=OPENID) -> str:
    msg_id = msg_id if msg_id is not None else str(6054768590064713728 + secrets.randbelow(10**9))
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        f"{fields}<MsgId>{msg_id}</MsgId></xml>"
    )


def text_xml(content: str, **kw) -> str:
    return message_xml("text", f"<Content><![CDATA[{content}]]></Content>", **kw)


def event_xml(event: str, key: str | None = None, openid=OPENID) -> str:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{key_xml}</xml>"
    )


def url_of(entry) -> str:
    return f"/channels/{entry.platform.code}/{entry.code}/"


def push(client, entry, xml: str, query: dict | None = None):
    query = signed() if query is None else query
    return client.post(
        f"{url_of(entry)}?{urlencode(query)}", data=xml.encode("utf-8"), content_type="text/xml"
    )


def reply_fields(response) -> dict:
    return wechat.parse_xml(response.content)


def session_of(openid=OPENID) -> Session | None:
    return Session.objects.filter(channel="wechat", address=openid).order_by("-pk").first()


# --- safe mode, as WeChat does it (written here from the protocol, not from the module) -------


def aes_key(encoding_aes_key=AES_KEY) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def wechat_encrypt(xml: str, appid=APPID, key=None) -> str:
    key = key or aes_key()
    data = xml.encode("utf-8")
    plain = secrets.token_bytes(16) + struct.pack(">I", len(data)) + data + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def wechat_decrypt(encrypted: str, key=None) -> tuple[str, str]:
    key = key or aes_key()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode("utf-8"), plain[20 + length :].decode()


def push_encrypted(client, entry, xml: str, *, appid=APPID, msg_signature=None):
    encrypted = wechat_encrypt(xml, appid=appid)
    query = signed()
    query["encrypt_type"] = "aes"
    query["msg_signature"] = (
        msg_signature
        or hashlib.sha1(
            "".join(sorted([TOKEN, query["timestamp"], query["nonce"], encrypted])).encode()
        ).hexdigest()
    )
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return push(client, entry, body, query)


# --- server URL verification -------------------------------------------------------------------


def test_the_server_url_is_verified_by_echoing_echostr_and_a_wrong_signature_is_refused(
    client, entry
):
    query = {**signed(), "echostr": "7045291389054313311"}
    response = client.get(url_of(entry), query)
    assert response.status_code == 200
    assert response.content == b"7045291389054313311"
    assert response["Content-Type"].startswith("text/plain")

    forged = {**signed(token="not-the-token"), "echostr": "7045291389054313311"}
    response = client.get(url_of(entry), forged)
    assert response.status_code == 403
    assert "签名" in response.json()["detail"]


# --- a conversation end to end -----------------------------------------------------------------


def test_citizen_writes_agent_answers_by_customer_service_message_ends_and_citizen_rates(
    client, entry, api, ready_agent
):
    response = push(client, entry, text_xml("请问三亚市公积金怎么提取？"))
    assert response.status_code == 200 and response.content == b"success"

    session = session_of()
    assert session.agent_id == ready_agent.pk and session.channel_entry_id == entry.pk
    assert session.messages.get(direction="in").body == "请问三亚市公积金怎么提取？"

    services.message_send(
        actor=ready_agent, session=session, body="您好，可以在公积金中心网站办理。"
    )
    reply = next(
        m
        for m in api.sent
        if m.get("text", {}).get("content") == "您好，可以在公积金中心网站办理。"
    )
    assert reply == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "您好，可以在公积金中心网站办理。"},
    }
    outbound = session.messages.get(sender=ready_agent)
    assert outbound.delivery == "sent" and outbound.attempts == 1

    services.session_end(actor=ready_agent, session=session)
    assert base.RATING_MENU in api.texts()

    response = push(client, entry, text_xml("1"))
    assert response.content == b"success"
    session.refresh_from_db()
    assert session.satisfaction == "非常满意"
    assert any(text.startswith("感谢您的评价（非常满意）") for text in api.texts())
    # the rating is not a new message, nor a new session
    assert Session.objects.filter(channel="wechat").count() == 1
    # one access token served every call
    assert api.token_requests() == 1
    assert {
        r["query"]["access_token"] for r in api.http.requests if r["path"] != "/cgi-bin/token"
    } == {"ACCESS_TOKEN_1"}


def test_an_agents_image_is_uploaded_and_sent_as_an_image_message(client, entry, api, ready_agent):
    push(client, entry, text_xml("我拍了现场照片，你们能看到吗？"))
    session = session_of()
    services.message_send(
        actor=ready_agent,
        session=session,
        kind="image",
        attachment=ContentFile(JPEG, name="办理地点.jpg"),
    )
    assert api.uploads and api.uploads[-1][1] == JPEG
    image = [m for m in api.sent if m["msgtype"] == "image"]
    assert image == [{"touser": OPENID, "msgtype": "image", "image": {"media_id": "UPLOADED_1"}}]
    assert session.messages.get(sender=ready_agent).delivery == "sent"


def test_the_channels_limits_are_told_to_the_agent(client, entry, ready_agent):
    push(client, entry, text_xml("你好"))
    session = session_of()
    with pytest.raises(services.Unprocessable, match="微信消息最长"):
        services.message_send(actor=ready_agent, session=session, body="长" * 681)
    with pytest.raises(services.Unprocessable, match="字节"):
        services.message_send(actor=ready_agent, session=session, body="😀" * 600)
    with pytest.raises(services.Unprocessable, match="不支持发送此类消息"):
        services.message_send(
            actor=ready_agent,
            session=session,
            kind="file",
            attachment=ContentFile(b"%PDF-1.4 test", name="a.pdf"),
        )
    assert not session.messages.filter(direction="out", sender=ready_agent).exists()


# --- what the citizen sends ---------------------------------------------------------------------


def test_an_image_is_fetched_from_the_api_host_and_attached(client, entry, api, ready_agent):
    api.media["IMG_MEDIA_1"] = JPEG
    xml = message_xml(
        "image",
        "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc/0]]></PicUrl>"
        "<MediaId><![CDATA[IMG_MEDIA_1]]></MediaId>",
    )
    assert push(client, entry, xml).content == b"success"
    message = session_of().messages.get(direction="in")
    assert message.kind == "image"
    assert message.attachment.name.endswith(".jpg")
    with message.attachment.open("rb") as handle:
        assert handle.read() == JPEG
    fetch = next(r for r in api.http.requests if r["path"] == "/cgi-bin/media/get")
    assert fetch["query"] == {"access_token": "ACCESS_TOKEN_1", "media_id": "IMG_MEDIA_1"}

    # a voice message: the recording attached, the recognised words as the text
    api.media["VOICE_MEDIA_1"] = AMR
    voice = message_xml(
        "voice",
        "<MediaId><![CDATA[VOICE_MEDIA_1]]></MediaId><Format><![CDATA[amr]]></Format>"
        "<Recognition><![CDATA[我家门口的路灯坏了]]></Recognition>",
    )
    assert push(client, entry, voice).content == b"success"
    said = session_of().messages.filter(direction="in").order_by("-pk").first()
    assert said.kind == "file" and said.body == "我家门口的路灯坏了"
    assert said.attachment.name.endswith(".amr")


def test_an_image_the_api_host_cannot_serve_still_reaches_the_agent_with_its_link(
    client, entry, ready_agent
):
    xml = message_xml(
        "image",
        "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/gone/0]]></PicUrl>"
        "<MediaId><![CDATA[EXPIRED_MEDIA]]></MediaId>",
    )
    assert push(client, entry, xml).content == b"success"
    message = session_of().messages.get(direction="in")
    assert message.kind == "text" and not message.attachment
    assert message.body == "[图片未能获取] http://mmbiz.qpic.cn/mmbiz_jpg/gone/0"


def test_a_location_arrives_as_a_location_message(client, entry, ready_agent):
    xml = message_xml(
        "location",
        "<Location_X>18.252847</Location_X><Location_Y>109.511909</Location_Y>"
        "<Scale>15</Scale><Label><![CDATA[海南省三亚市吉阳区迎宾路]]></Label>",
    )
    assert push(client, entry, xml).content == b"success"
    message = session_of().messages.get(direction="in")
    assert message.kind == "location"
    assert message.body == "海南省三亚市吉阳区迎宾路（纬度 18.252847，经度 109.511909）"


def test_a_link_arrives_as_text_and_a_video_is_answered_with_what_is_supported(
    client, entry, ready_agent
):
    link = message_xml(
        "link",
        "<Title><![CDATA[迎宾路占道经营]]></Title><Description><![CDATA[市民随手拍]]></Description>"
        "<Url><![CDATA[https://mp.weixin.qq.com/s/abc]]></Url>",
    )
    assert push(client, entry, link).content == b"success"
    assert session_of().messages.get(direction="in").body == (
        "[链接] 迎宾路占道经营\n市民随手拍\nhttps://mp.weixin.qq.com/s/abc"
    )
    video = message_xml(
        "video",
        "<MediaId><![CDATA[VID]]></MediaId><ThumbMediaId><![CDATA[THUMB]]></ThumbMediaId>",
    )
    answer = reply_fields(push(client, entry, video))
    assert answer["Content"] == "暂不支持此类消息，请发送文字、图片、语音或位置。"
    assert session_of().messages.filter(direction="in").count() == 1


def test_following_the_account_is_answered_with_the_welcome_and_opens_nothing(client, entry):
    response = push(client, entry, event_xml("subscribe", ""))
    assert response.status_code == 200
    reply = reply_fields(response)
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == ACCOUNT
    assert reply["MsgType"] == "text"
    assert reply["Content"] == "您好，欢迎关注三亚12345！请直接发送您的诉求。"
    assert not Session.objects.exists()


def test_unfollowing_ends_the_citizens_waiting_session(client, entry, api):
    push(client, entry, text_xml("有人吗？我要投诉"))  # nobody is signed in: it waits
    session = session_of()
    assert session.state == "queued"
    assert push(client, entry, event_xml("unsubscribe", "")).content == b"success"
    session.refresh_from_db()
    assert session.state == "abandoned" and session.ended_at is not None
    assert not QueueEntry.objects.filter(session=session).exists()


def test_the_menu_is_published_and_its_buttons_answer(client, entry, api, cc):
    wechat.CONNECTOR.publish_menu(entry)
    assert api.menus == [wechat.menu_definition(entry)]
    keys = [b["key"] for b in api.menus[0]["button"]]
    assert keys == ["SUBMIT_REQUEST", "MY_ORDERS"]

    submit = reply_fields(push(client, entry, event_xml("CLICK", "SUBMIT_REQUEST")))
    assert submit["Content"].startswith("请直接发送您的诉求")
    assert (
        reply_fields(push(client, entry, event_xml("CLICK", "MY_ORDERS")))["Content"] == "暂无工单"
    )
    assert not Session.objects.exists()  # the buttons open nothing until the citizen writes

    push(client, entry, text_xml("小区夜间施工噪音扰民"))
    session = session_of()
    orders = [
        order_create(
            actor=None,
            platform=cc.platform,
            order_type="complaint",
            title=f"夜间施工噪音{n}",
            content="小区夜间施工噪音扰民，地址在迎宾路 1 号",
            category=category(),
            channel="wechat",
            session_ref=session.ref,
        )
        for n in range(2)
    ]
    text = reply_fields(push(client, entry, event_xml("CLICK", "MY_ORDERS")))["Content"]
    for order in orders:
        order.refresh_from_db()
        day = timezone.localtime(order.created_at).strftime("%Y-%m-%d")
        assert f"{order.number}｜{order.state_label}｜{day}" in text
    assert text.index(orders[1].number) < text.index(orders[0].number)  # the latest first
    # another citizen sees none of them
    other = reply_fields(push(client, entry, event_xml("CLICK", "MY_ORDERS", openid="oOther")))
    assert other["Content"] == "暂无工单"


def test_publishing_the_menu_with_a_wrong_secret_is_refused_in_chinese(cc, api):
    entry = make_entry(cc, api, code="wx2", secret="wrong")
    with pytest.raises(services.Conflict, match="发布公众号菜单失败.*40125"):
        wechat.publish_menu(entry)


# --- safe mode ------------------------------------------------------------------------------------


def test_safe_mode_messages_are_decrypted_and_passive_replies_encrypted(
    client, cc, api, ready_agent
):
    entry = make_entry(cc, api, code="wxaes", encoding_aes_key=AES_KEY)
    assert (
        push_encrypted(client, entry, text_xml("安全模式下的诉求：路灯不亮")).content == b"success"
    )
    assert session_of().messages.get(direction="in").body == "安全模式下的诉求：路灯不亮"

    response = push_encrypted(client, entry, event_xml("subscribe", ""))
    assert response.status_code == 200
    outer = wechat.parse_xml(response.content)
    expected = hashlib.sha1(
        "".join(sorted([TOKEN, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"]])).encode()
    ).hexdigest()
    assert outer["MsgSignature"] == expected
    inner, appid = wechat_decrypt(outer["Encrypt"])
    assert appid == APPID
    reply = wechat.parse_xml(inner.encode())
    assert reply["ToUserName"] == OPENID and reply["Content"].startswith("您好，欢迎关注")

    # a plain message, another account's cipher text, or a wrong msg_signature: refused
    before = Message.objects.count()
    assert push(client, entry, text_xml("明文")).status_code == 403
    assert (
        push_encrypted(
            client, entry, text_xml("别的公众号"), appid="wx0000000000000000"
        ).status_code
        == 403
    )
    assert (
        push_encrypted(client, entry, text_xml("伪造"), msg_signature="0" * 40).status_code == 403
    )
    assert Message.objects.count() == before


def test_the_cipher_reads_tencents_published_sample():
    """The sample of Tencent's WXBizMsgCrypt (token spamtest, AppID wx2c2769f8efd9abc2)."""
    encrypted = (
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQ"
        "HFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tE"
        "DYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3y"
        "ZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+"
        "q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
    )
    assert (
        wechat.signature("spamtest", "1409735669", "1320562132", encrypted)
        == "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    )
    crypto = wechat.Crypto("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2")
    fields = wechat.parse_xml(crypto.decrypt(encrypted))
    assert (
        fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs" and fields["Content"] == "abcdteT"
    )
    with pytest.raises(wechat.Unverified, match="AppID"):
        wechat.Crypto("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", APPID).decrypt(encrypted)


# --- refusals ---------------------------------------------------------------------------------------


def test_unsigned_stale_malformed_and_doctype_calls_are_refused_and_open_nothing(client, entry):
    xml = text_xml("我要投诉")
    assert push(client, entry, xml, signed(token="forged")).status_code == 403
    assert push(client, entry, xml, {"timestamp": str(int(time.time()))}).status_code == 403
    stale = push(client, entry, xml, signed(timestamp=int(time.time()) - 301))
    assert stale.status_code == 403 and "过期" in stale.json()["detail"]

    malformed = push(client, entry, "<xml><FromUserName>oKx9</FromUser")
    assert malformed.status_code == 400 and "XML" in malformed.json()["detail"]
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{OPENID}</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol2;</Content>"
        "<MsgId>1</MsgId></xml>"
    )
    refused = push(client, entry, laughs)
    assert refused.status_code == 400 and "DOCTYPE" in refused.json()["detail"]
    assert push(client, entry, "<xml><Content>无发送人</Content></xml>").status_code == 400
    assert not Session.objects.exists() and not Message.objects.exists()


def test_a_message_wechat_retries_is_stored_once(client, entry, ready_agent):
    xml = text_xml("同一条消息", msg_id="6054768590064713999")
    for _ in range(3):  # WeChat retries three times when the answer is late
        assert push(client, entry, xml).content == b"success"
    cache.clear()  # even when the retry comes to another process: the store de-duplicates
    assert push(client, entry, xml).content == b"success"
    assert Message.objects.filter(direction="in").count() == 1


# --- the API host: tokens, outages ---------------------------------------------------------------


def test_an_expired_access_token_is_renewed_and_the_reply_resent(client, entry, api, ready_agent):
    push(client, entry, text_xml("你好"))
    session = session_of()
    services.message_send(actor=ready_agent, session=session, body="第一条回复")
    assert api.token_requests() == 1
    api.tokens.clear()  # WeChat expired the token early (42001)

    services.message_send(actor=ready_agent, session=session, body="第二条回复")
    assert api.token_requests() == 2
    assert api.texts().count("第二条回复") == 1
    second = session.messages.get(body="第二条回复")
    assert second.delivery == "sent" and second.attempts == 1
    refused, resent = [r for r in api.http.requests if r["path"].endswith("custom/send")][-2:]
    assert refused["query"]["access_token"] == "ACCESS_TOKEN_1"
    assert resent["query"]["access_token"] == "ACCESS_TOKEN_2"


def test_an_api_host_that_is_down_means_retries_then_a_dead_letter(client, entry, api, ready_agent):
    push(client, entry, text_xml("你好"))
    session = session_of()
    api.http.down = True
    message = services.message_send(actor=ready_agent, session=session, body="请补充地址")
    message.refresh_from_db()
    assert message.delivery == "retrying" and message.attempts == 1
    assert "不可达" in message.last_error

    connector = connectors.for_channel("wechat")
    states = []
    while message.delivery in ("pending", "retrying") and len(states) < 10:
        states.append(connector.attempt(message))
        message.refresh_from_db()
    assert states == ["retrying"] * (len(base.RETRY_DELAYS) - 1) + ["dead"]
    assert message.delivery == "dead" and message.attempts == len(base.RETRY_DELAYS) + 1
