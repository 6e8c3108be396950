"""Weibo private messages (微博私信): pushes signed as Weibo signs them come in through the
channel door, replies go out to a real HTTP server on loopback speaking Weibo's reply API."""

import json
import time
import urllib.parse

import pytest

from hotline.contact import services
from hotline.contact.connectors import REGISTRY, base, weibo
from hotline.contact.models import Message, Session
from hotline.testing import LoopbackHttp

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "wb-app-secret-7c1f"
TOKEN = "2.00wbAccessToken"
ACCOUNT = "1902538057"  # the hotline's verified account
CITIZEN = "2489518277"
URL = "/channels/SY/weibo/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def api():
    with LoopbackHttp() as server:
        yield server


@pytest.fixture
def entry(cc, api):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="weibo",
        code="weibo",
        name="三亚12345官方微博",
        queue=cc.general,
        settings={
            "app_secret": SECRET,
            "access_token": TOKEN,
            "uid": ACCOUNT,
            "api_base": api.url,
            "upload_base": api.url,
        },
    )


def signed(*, secret=SECRET, age_seconds=0, nonce="57155157", **extra) -> str:
    """The query Weibo adds to every call: timestamp (ms), nonce, signature."""
    timestamp = str(int((time.time() - age_seconds) * 1000))
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": weibo.signature(secret, timestamp, nonce),
        **extra,
    }
    return "?" + urllib.parse.urlencode(query)


def push(client, body: dict, query: str | None = None):
    return client.post(
        URL + (query or signed()), data=json.dumps(body), content_type="application/json"
    )


def text(body: str, *, at: str = "Tue Mar 04 10:00:00 +0800 2025", **extra) -> dict:
    return {
        "type": "text",
        "receiver_id": int(ACCOUNT),
        "sender_id": int(CITIZEN),
        "created_at": at,
        "text": body,
        "data": {},
        **extra,
    }


def replies(api) -> list[dict]:
    """What reached the reply API: its form fields, with ``data`` decoded."""
    sent = []
    for request in api.requests:
        if request["path"] != "/2/messages/reply.json":
            continue
        form = {k: v[0] for k, v in urllib.parse.parse_qs(request["body"].decode()).items()}
        form["data"] = json.loads(form["data"])
        sent.append(form)
    return sent


def test_the_signature_is_the_one_weibos_documentation_shows():
    assert (
        weibo.signature("xyz123xyz", "1397022061823", "57155157")
        == "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1"
    )


def test_weibo_checks_the_url_and_only_a_signed_check_is_echoed(client, entry):
    response = client.get(URL + signed(echostr="dnPdpTZz85"))
    assert response.status_code == 200 and response.content == b"dnPdpTZz85"

    forged = client.get(URL + signed(secret="not-the-secret", echostr="dnPdpTZz85"))
    assert forged.status_code == 403 and b"dnPdpTZz85" not in forged.content
    assert "签名校验失败" in forged.json()["detail"]
    assert client.get(URL + "?echostr=x").status_code == 403


def test_a_private_message_reaches_an_agent_the_reply_goes_back_and_the_citizen_rates(
    client, entry, agent, api
):
    worker = agent("微")
    response = push(client, text("三亚湾路灯坏了好几天了，能修一下吗？", id=4001))
    assert response.status_code == 200 and response.content == b""

    session = Session.objects.get(channel="weibo", address=CITIZEN)
    assert session.agent_id == worker.pk and session.channel_entry_id == entry.pk
    assert session.citizen.identities.filter(kind="weibo", value=CITIZEN).exists()

    answer = services.message_send(
        actor=worker, session=session, body="您好，已转市政部门处理，请留意回复。"
    )
    answer.refresh_from_db()
    assert answer.delivery == "sent" and answer.attempts == 1
    reply = replies(api)[-1]
    assert reply["access_token"] == TOKEN and reply["receiver_id"] == CITIZEN
    assert reply["type"] == "text" and reply["data"] == {
        "text": "您好，已转市政部门处理，请留意回复。"
    }

    services.session_end(actor=worker, session=session)
    menu = replies(api)[-1]["data"]["text"]
    assert "回复数字" in menu and "1 非常满意" in menu

    assert push(client, text("1", at="Tue Mar 04 10:05:00 +0800 2025", id=4002)).status_code == 200
    session.refresh_from_db()
    assert session.satisfaction == "非常满意"
    assert "感谢您的评价（非常满意）" in replies(api)[-1]["data"]["text"]
    # the reply that rated is in the transcript; pushed again, it neither rates nor opens
    inbound = session.messages.filter(direction=Message.Direction.INBOUND)
    assert list(inbound.values_list("body", flat=True)) == [
        "三亚湾路灯坏了好几天了，能修一下吗？",
        "1",
    ]
    assert push(client, text("1", at="Tue Mar 04 10:05:00 +0800 2025", id=4002)).status_code == 200
    assert Session.objects.count() == 1 and inbound.count() == 2


def test_a_forged_a_stale_or_a_repeated_push_makes_no_session_or_message(client, entry, agent):
    agent("微")
    forged = push(client, text("伪造的消息"), signed(secret="guess"))
    assert forged.status_code == 403
    stale = push(client, text("十分钟前的消息"), signed(age_seconds=600))
    assert stale.status_code == 403 and "已过期" in stale.json()["detail"]
    assert not Session.objects.filter(channel="weibo").exists()

    # Weibo retries a push it did not see answered in time: the same id is stored once
    first = push(client, text("请问社保卡在哪里补办？", id=5001))
    again = push(client, text("请问社保卡在哪里补办？", id=5001), signed(nonce="99"))
    assert first.status_code == again.status_code == 200
    # the older form without an id: sender and time identify it
    push(client, text("还有医保卡", at="Tue Mar 04 10:01:00 +0800 2025"))
    push(client, text("还有医保卡", at="Tue Mar 04 10:01:00 +0800 2025"), signed(nonce="98"))
    bodies = list(Message.objects.filter(direction="in").values_list("body", flat=True))
    assert bodies == ["请问社保卡在哪里补办？", "还有医保卡"]


def test_malformed_pushes_are_refused_with_a_reason(client, entry):
    broken = client.post(URL + signed(), data=b"{not json", content_type="application/json")
    assert broken.status_code == 400 and "JSON" in broken.json()["detail"]
    nobody = push(client, {"type": "text", "text": "谁发的"})
    assert nobody.status_code == 400 and "sender_id" in nobody.json()["detail"]
    elsewhere = push(client, text("发错账号", receiver_id=1))
    assert elsewhere.status_code == 400 and "接收方" in elsewhere.json()["detail"]
    assert not Session.objects.exists()


def test_an_image_is_fetched_as_the_account_and_a_location_kept(client, entry, agent, api):
    agent("微")
    api.respond = lambda request: (200, "image/png", PNG)
    image = {
        **text("发了一张图片"),
        "type": "image",
        "data": {"vfid": 821804459, "tovfid": 821804469},
    }
    assert push(client, image).status_code == 200
    fetch = api.requests[-1]
    assert fetch["path"] == "/2/mss/msget"
    assert fetch["query"] == {"access_token": TOKEN, "fid": "821804469"}
    message = Message.objects.get(direction="in")
    assert message.kind == "image" and message.attachment.read() == PNG

    where = {
        **text("我在这里: http://t.cn/zQgLLYO", at="Tue Mar 04 10:02:00 +0800 2025"),
        "type": "position",
        "data": {"longitude": "109.508268", "latitude": "18.247872"},
    }
    assert push(client, where).status_code == 200
    located = Message.objects.filter(direction="in").last()
    assert located.kind == "location" and "纬度 18.247872，经度 109.508268" in located.body
    assert located.session_id == message.session_id  # sticky: the same open session


def test_an_unfollow_ends_the_chat_and_follows_or_menu_clicks_open_nothing(client, entry, agent):
    agent("微")
    event = {**text("关注事件消息"), "type": "event", "data": {"subtype": "follow"}}
    assert push(client, event).status_code == 200
    assert not Session.objects.exists()
    push(client, text("你好", id=6001))
    session = Session.objects.get()
    assert session.state == "active"
    event["data"] = {"subtype": "unfollow"}
    assert push(client, event, signed(nonce="2")).status_code == 200
    session.refresh_from_db()
    assert session.state == "wrap_up"


def test_weibo_refusing_or_down_means_retries_then_a_dead_letter(client, entry, agent, api):
    worker = agent("微")
    push(client, text("你好", id=7001))
    session = Session.objects.get()
    refusal = {"error": "receiver is not your fans", "error_code": 21602, "request": "/2/x"}
    api.respond = lambda request: (400, "application/json", json.dumps(refusal))
    message = services.message_send(actor=worker, session=session, body="请问具体位置？")
    message.refresh_from_db()
    assert message.delivery == "retrying" and "21602" in message.last_error

    api.down = True
    connector, states = REGISTRY["weibo"], []
    while message.delivery in ("pending", "retrying"):
        states.append(connector.attempt(message))
        message.refresh_from_db()
    assert states[-1] == "dead" and message.attempts == len(base.RETRY_DELAYS) + 1
    assert "微博接口不可达" in message.last_error


def test_an_agent_is_told_weibos_limits_before_anything_is_stored(client, entry, agent):
    worker = agent("微")
    push(client, text("你好", id=8001))
    session = Session.objects.get()
    with pytest.raises(services.Unprocessable, match="微博消息最长 300 字"):
        services.message_send(actor=worker, session=session, body="长" * 301)
    assert not session.messages.filter(direction="out", sender=worker).exists()
