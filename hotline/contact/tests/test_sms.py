"""SMS (短信) end to end against an SMS gateway on loopback that speaks the two declared
wire formats: the citizen's SMS pushed to the hotline, the agent's answer, status reports,
the rating menu and the reply that rates; long SMS both ways; refusals; a gateway down."""

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from hotline.contact import acd, services
from hotline.contact.connectors import base
from hotline.contact.connectors.sms import CONNECTOR, INCOMPLETE_NOTE
from hotline.contact.models import CitizenIdentity, Message, Session, SmsPart
from hotline.core import notify, sms
from hotline.core.models import Delivery
from hotline.testing import LoopbackHttp

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "gw-token-7f3a"
SECRET = "s3cr3t-app"


def hmac_sign(params: dict) -> str:
    """What the signed-form gateway signs, written out here on its own: k=v sorted by key,
    joined by "&", without the signature and empty values; HMAC-SHA256 hex."""
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "signature" and v != "")
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()


class Gateway(LoopbackHttp):
    """The SMS gateway: answers each send with a new message id in its profile's words."""

    def __init__(self, signed: bool = False):
        self.signed, self.count, self.refuse = signed, 0, None
        super().__init__(self.answer)

    def answer(self, request):
        if self.refuse:
            return 200, "application/json", json.dumps(self.refuse)
        self.count += 1
        if self.signed:
            return 200, "application/json", json.dumps({"code": "OK", "biz_id": f"b-{self.count}"})
        return 200, "application/json", json.dumps({"code": 0, "msgid": f"gw-{self.count}"})

    def sent(self) -> list[dict]:
        """Each send request's parameters (JSON body or form)."""
        out = []
        for request in self.requests:
            if self.signed:
                form = urllib.parse.parse_qs(request["body"].decode())
                out.append({k: v[0] for k, v in form.items()} | {"_headers": request["headers"]})
            else:
                out.append(json.loads(request["body"]) | {"_headers": request["headers"]})
        return out


@pytest.fixture
def gateway():
    with Gateway() as peer:
        yield peer


@pytest.fixture
def signed_gateway():
    with Gateway(signed=True) as peer:
        yield peer


@pytest.fixture
def entry(cc, gateway):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="sms",
        code="sms12345",
        name="12345短信",
        queue=cc.general,
        settings={"api_url": f"{gateway.url}/sms/send", "token": TOKEN, "sign_name": "三亚12345"},
    )


@pytest.fixture
def signed_entry(cc, signed_gateway):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="sms",
        code="smssigned",
        name="12345短信（签名网关）",
        queue=cc.general,
        settings={
            "api_url": f"{signed_gateway.url}/api/send",
            "profile": "signed-form",
            "appkey": "hotline-sy",
            "secret": SECRET,
        },
    )


def push(entry, action: str, data, *, token: str | None = TOKEN, content_type="json"):
    """The gateway calls the hotline (generic-json: JSON with a bearer token)."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    url = f"/channels/SY/{entry.code}/{action}"
    if content_type == "json":
        body = data if isinstance(data, str | bytes) else json.dumps(data, ensure_ascii=False)
        return Client().post(url, body, content_type="application/json", **headers)
    return Client().post(url, data, **headers)


def signed_push(entry, action: str, data: dict, *, stamp: int | None = None, secret=SECRET):
    """The signed-form gateway calls the hotline: a form signed with its secret."""
    form = {**data, "app_key": "hotline-sy", "timestamp": str(stamp or int(time.time()))}
    form["nonce"] = "a1b2c3"
    text = "&".join(f"{k}={v}" for k, v in sorted(form.items()) if v != "")
    form["signature"] = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return Client().post(f"/channels/SY/{entry.code}/{action}", form)


def out_messages(session, body=None):
    rows = Message.objects.filter(session=session, direction="out").order_by("pk")
    return [m for m in rows if body is None or m.body == body]


# --- the whole conversation -------------------------------------------------------------------


def test_sms_in_agent_answers_report_delivered_end_menu_and_reply_rates(entry, gateway, agent, cc):
    worker = agent("林")
    # the citizen called before: their profile is known by the phone
    known = acd.profile_for(cc.platform, "voice", "13900001111", timezone.now())

    answer = push(
        entry,
        "inbound",
        {
            "phone": "+86 139 0000 1111",
            "content": "您好，我家小区门口的路灯坏了一个星期了。",
            "msgid": "in-0001",
            "time": "2025-03-04 10:00:00",
        },
    )
    assert answer.status_code == 200 and answer.json()["code"] == 0
    session = Session.objects.get(channel="sms")
    assert session.address == "13900001111" and session.agent_id == worker.pk
    assert session.channel_entry_id == entry.pk and session.citizen_id == known.pk
    assert CitizenIdentity.objects.filter(kind="phone", value="13900001111").count() == 1
    inbound = Message.objects.get(session=session, direction="in")
    assert inbound.body.startswith("您好，我家小区") and inbound.external_id == "in-in-0001"

    # the gateway pushes the same SMS again: nothing new
    push(entry, "inbound", {"phone": "13900001111", "content": "x", "msgid": "in-0001"})
    assert Message.objects.filter(session=session, direction="in").count() == 1

    reply = services.message_send(
        actor=worker, session=session, body="您好，已为您登记路灯报修，将转市政部门处理。"
    )
    reply.refresh_from_db()
    assert reply.delivery == "sent", reply.last_error
    wire = [s for s in gateway.sent() if s["content"] == reply.body]
    assert len(wire) == 1
    assert wire[0]["_headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert wire[0]["phone"] == "13900001111" and wire[0]["sign_name"] == "三亚12345"
    assert wire[0]["out_id"] == f"m{reply.pk}"
    assert reply.external_id.startswith("gw-")

    # the status report: delivered
    report = push(entry, "report", {"msgid": reply.external_id, "status": "DELIVRD"})
    assert report.status_code == 200
    reply.refresh_from_db()
    assert reply.delivery == "delivered"

    services.session_end(actor=worker, session=session)
    menu = out_messages(session, base.RATING_MENU)
    assert len(menu) == 1 and menu[0].delivery == "sent"
    assert gateway.sent()[-1]["content"] == base.RATING_MENU

    push(entry, "inbound", {"phone": "8613900001111", "content": "2", "msgid": "in-0002"})
    session.refresh_from_db()
    assert session.satisfaction == "满意"
    assert gateway.sent()[-1]["content"] == base.RATING_THANKS.format(level="满意")
    assert Session.objects.filter(channel="sms").count() == 1  # the "2" opened nothing


def test_a_failure_report_marks_the_reply_failed_with_the_reason(entry, gateway, agent):
    worker = agent("林")
    push(entry, "inbound", {"phone": "13900002222", "content": "咨询社保", "msgid": "a1"})
    session = Session.objects.get(channel="sms")
    reply = services.message_send(actor=worker, session=session, body="请问您的社保卡号？")
    push(entry, "report", {"out_id": f"m{reply.pk}", "status": "UNDELIV", "error": "空号"})
    reply.refresh_from_db()
    assert reply.delivery == "failed" and "UNDELIV" in reply.last_error
    # a report for a message the hotline did not send is acknowledged and changes nothing
    assert push(entry, "report", {"msgid": "nobody", "status": "DELIVRD"}).status_code == 200


# --- long SMS ---------------------------------------------------------------------------------


def test_a_150_character_reply_goes_as_one_long_sms(entry, gateway, agent):
    worker = agent("林")
    push(entry, "inbound", {"phone": "13900003333", "content": "请问", "msgid": "b1"})
    session = Session.objects.get(channel="sms")
    body = ("您反映的问题已记录，" * 15)[:150]
    reply = services.message_send(actor=worker, session=session, body=body)
    wire = [s for s in gateway.sent() if s["content"].endswith(body[-10:])]
    assert [s["content"] for s in wire] == [body]  # one request: the gateway concatenates
    assert sms.segments(body) == 3  # billed as three 67-character segments
    reply.refresh_from_db()
    assert reply.delivery == "sent"


def test_a_gateway_without_long_sms_gets_three_numbered_signed_parts(
    signed_entry, signed_gateway, agent
):
    worker = agent("林")
    answer = signed_push(
        signed_entry, "inbound", {"mobile": "13900004444", "content": "在吗", "msg_id": "s1"}
    )
    assert answer.status_code == 200, answer.content
    session = Session.objects.get(channel="sms")
    before = len(signed_gateway.requests)
    body = "".join(f"第{i:03d}字" for i in range(30))[:150]
    reply = services.message_send(actor=worker, session=session, body=body)
    parts = signed_gateway.sent()[before:]
    assert [p["content"][:5] for p in parts] == ["(1/3)", "(2/3)", "(3/3)"]
    assert "".join(p["content"][5:] for p in parts) == body
    assert all(len(p["content"]) <= 70 for p in parts)
    assert [p["out_id"] for p in parts] == [f"m{reply.pk}-{n}" for n in (1, 2, 3)]
    for part in parts:  # each request signed, by the gateway's own reckoning
        params = {k: v for k, v in part.items() if k != "_headers"}
        assert params["signature"] == hmac_sign(params) and params["app_key"] == "hotline-sy"
        assert abs(int(params["timestamp"]) - time.time()) < 60
    reply.refresh_from_db()
    assert reply.delivery == "sent" and reply.external_id.count(",") == 2
    # the report of the second part names it by the gateway's id
    second = reply.external_id.split(",")[1]
    signed_push(signed_entry, "report", {"biz_id": second, "report_status": "DELIVRD"})
    reply.refresh_from_db()
    assert reply.delivery == "delivered"


def test_three_parts_out_of_order_are_joined_once(entry, agent):
    agent("林")
    texts = {1: "我要反映一个问题：", 2: "小区旁边的工地夜间施工，", 3: "噪音很大，影响休息。"}
    for seq in (3, 1):
        answer = push(
            entry,
            "inbound",
            {
                "phone": "13900005555",
                "content": texts[seq],
                "msgid": f"p{seq}",
                "ref": "8a",
                "part": seq,
                "total": 3,
            },
        )
        assert answer.status_code == 200
    assert not Session.objects.exists()  # waiting for part 2
    last = {
        "phone": "13900005555",
        "content": texts[2],
        "msgid": "p2",
        "ref": "8a",
        "part": 2,
        "total": 3,
    }
    push(entry, "inbound", last)
    push(entry, "inbound", last)  # pushed again by the gateway
    inbound = Message.objects.get(direction="in")
    assert inbound.body == texts[1] + texts[2] + texts[3]
    assert inbound.session.address == "13900005555"
    assert SmsPart.objects.filter(joined_at__isnull=True).count() == 0
    assert CONNECTOR.hand_on_stale(entry, timezone.now() + dt.timedelta(hours=1)) == 0
    assert Message.objects.filter(direction="in").count() == 1


def test_a_part_whose_siblings_do_not_come_is_handed_on_marked(entry, agent):
    agent("林")
    item = {
        "phone": "13900006666",
        "content": "我要投诉",
        "msgid": "q1",
        "ref": "17",
        "part": 1,
        "total": 2,
    }
    push(entry, "inbound", item)
    assert CONNECTOR.poll(entry) == 0 and not Session.objects.exists()
    later = timezone.now() + dt.timedelta(minutes=6)
    assert CONNECTOR.hand_on_stale(entry, later) == 1
    message = Message.objects.get(direction="in")
    assert message.body == "我要投诉" + INCOMPLETE_NOTE
    # the lost part turns up after all: it goes on at once, not after another wait
    push(entry, "inbound", {**item, "content": "某餐馆油烟扰民", "msgid": "q2", "part": 2})
    bodies = list(
        Message.objects.filter(direction="in").order_by("pk").values_list("body", flat=True)
    )
    assert bodies == ["我要投诉" + INCOMPLETE_NOTE, "某餐馆油烟扰民" + INCOMPLETE_NOTE]


# --- refusals ------------------------------------------------------------------------------------


def test_pushes_without_the_gateways_credentials_are_refused(entry, signed_entry):
    item = {"phone": "13900007777", "content": "你好", "msgid": "x1"}
    assert push(entry, "inbound", item, token="wrong").status_code == 403
    assert push(entry, "inbound", item, token=None).status_code == 403
    assert push(entry, "report", {"msgid": "x", "status": "DELIVRD"}, token=None).status_code == 403
    signed = {"mobile": "13900007777", "content": "你好", "msg_id": "x2"}
    refused = signed_push(signed_entry, "inbound", signed, secret="guessed")
    assert refused.status_code == 403 and refused.json()["detail"] == "签名校验失败"
    replayed = signed_push(signed_entry, "inbound", signed, stamp=int(time.time()) - 3600)
    assert replayed.status_code == 403 and "重放" in replayed.json()["detail"]
    # an entry with no credential configured takes nobody's word
    signed_entry.settings = {"api_url": "http://127.0.0.1:9/", "profile": "generic-json"}
    signed_entry.save()
    assert signed_push(signed_entry, "inbound", signed).status_code == 403
    assert not Session.objects.exists() and not Message.objects.exists()


def test_malformed_pushes_are_refused_and_store_nothing(entry):
    assert push(entry, "inbound", "{not json").status_code == 400
    assert push(entry, "inbound", [1, 2]).status_code == 400
    missing = push(entry, "inbound", {"content": "你好", "msgid": "m1"})
    assert missing.status_code == 422 and "手机号码" in missing.json()["detail"]
    assert (
        push(entry, "inbound", {"phone": "abc", "content": "你好", "msgid": "m2"}).status_code
        == 422
    )
    assert push(entry, "inbound", {"phone": "13900008888", "content": "你好"}).status_code == 422
    bad_part = {
        "phone": "13900008888",
        "content": "你",
        "msgid": "m3",
        "ref": "1",
        "part": 4,
        "total": 3,
    }
    assert push(entry, "inbound", bad_part).status_code == 422
    # one bad item in a batch: none of it is taken
    good = {"phone": "13900008888", "content": "你好", "msgid": "m4"}
    assert push(entry, "inbound", [good, {"content": "x"}]).status_code == 422
    assert push(entry, "report", {"msgid": "m4"}).status_code == 422
    assert Client().get(f"/channels/SY/{entry.code}/inbound").status_code == 405
    assert push(entry, "nothing", good).status_code == 404
    assert not Session.objects.exists() and not SmsPart.objects.exists()


# --- the gateway down or refusing -------------------------------------------------------------


def test_a_gateway_down_means_retries_then_a_dead_letter(entry, gateway, agent):
    worker = agent("林")
    push(entry, "inbound", {"phone": "13900009999", "content": "你好", "msgid": "d1"})
    session = Session.objects.get(channel="sms")
    gateway.down = True
    before = len(gateway.requests)
    reply = services.message_send(actor=worker, session=session, body="请问您要咨询什么？")
    reply.refresh_from_db()
    assert reply.delivery == "retrying" and "短信网关不可达" in reply.last_error
    states = []
    for _ in range(10):  # the worker's later attempts (their delays are the scheduler's)
        reply.refresh_from_db()
        if reply.delivery not in ("pending", "retrying"):
            break
        states.append(CONNECTOR.attempt(reply))
    reply.refresh_from_db()
    assert reply.delivery == "dead" and reply.attempts == len(base.RETRY_DELAYS) + 1
    assert len(gateway.requests) - before == reply.attempts
    assert states[-1] == "dead"


def test_a_gateway_that_refuses_is_a_failed_attempt_with_its_reason(entry, gateway, agent):
    worker = agent("林")
    push(entry, "inbound", {"phone": "13900001234", "content": "你好", "msgid": "r1"})
    session = Session.objects.get(channel="sms")
    gateway.refuse = {"code": "40003", "msg": "余额不足"}
    reply = services.message_send(actor=worker, session=session, body="您好")
    reply.refresh_from_db()
    assert reply.delivery == "retrying"
    assert reply.last_error == "短信网关拒绝发送：40003 余额不足"


def test_the_agent_is_told_the_channels_limits(entry, agent):
    worker = agent("林")
    push(entry, "inbound", {"phone": "13900004321", "content": "你好", "msgid": "l1"})
    session = Session.objects.get(channel="sms")
    with pytest.raises(services.Unprocessable, match="短信消息最长 500 字"):
        services.message_send(actor=worker, session=session, body="长" * 501)


# --- the notifier's SMS through the same adapter ----------------------------------------------


def test_notify_sends_through_the_platform_gateway_with_a_signed_profile(
    make_user, org, signed_gateway
):
    person = make_user(
        "unit_handler", unit=org.sy_units[0], username="sms_rs", phone="139 0000 2468"
    )
    with override_settings(
        HOTLINE_SMS_URL=f"{signed_gateway.url}/api/send",
        HOTLINE_SMS_PROFILE="signed-form",
        HOTLINE_SMS_APPKEY="hotline-sy",
        HOTLINE_SMS_SECRET=SECRET,
        HOTLINE_SMS_TEMPLATE="【12345】{title}",
    ):
        notify.notify(recipients=[person], kind="t", title="催办 SY1", channels=("sms",))
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT, delivery.last_error
    (sent,) = signed_gateway.sent()
    assert sent["mobile"] == "13900002468" and sent["content"] == "【12345】催办 SY1"
    params = {k: v for k, v in sent.items() if k != "_headers"}
    assert params["signature"] == hmac_sign(params)


# --- units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, phone",
    [
        ("+86 139 0000 1111", "13900001111"),
        ("8613900001111", "13900001111"),
        ("0086-139-0000-1111", "13900001111"),
        ("13900001111", "13900001111"),
        ("0898-88881234", "089888881234"),
        ("+1 415 555 0100", "+14155550100"),
        ("abc", ""),
        ("", ""),
    ],
)
def test_phone_numbers_are_normalised(raw, phone):
    assert sms.normalise_phone(raw) == phone


def test_lengths_and_numbered_parts():
    assert sms.segments("字" * 70) == 1 and sms.segments("字" * 71) == 2
    assert sms.segments("字" * 134) == 2 and sms.segments("字" * 135) == 3
    parts = sms.numbered_parts("字" * 700)
    assert parts[0].startswith("(1/12)") and parts[-1].startswith("(12/12)")  # 63 per part
    assert all(len(p) <= 70 for p in parts)
    assert sms.numbered_parts("短") == ["短"]


def test_profiles_are_data_with_overrides():
    profile = sms.profile_of("generic-json", "phone=mobile, long_sms=0, success_values=OK|0")
    assert profile.phone == "mobile" and profile.long_sms is False
    assert profile.success_values == ("OK", "0")
    with pytest.raises(sms.ProfileError):
        sms.profile_of("nope")
    with pytest.raises(sms.ProfileError):
        sms.profile_of("generic-json", "colour=red")


def test_an_md5_signed_push_is_checked_the_way_such_gateways_sign():
    gateway = sms.SmsGateway.from_config(
        {"api_url": "http://127.0.0.1:9/", "profile": "signed-form", "overrides": "auth=md5"}
        | {"secret": SECRET, "appkey": "hotline-sy"}
    )
    params = {"mobile": "13900001111", "content": "你好", "msg_id": "z1", "app_key": "hotline-sy"}
    params["timestamp"] = str(int(time.time()))
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hashlib.md5(f"{text}&key={SECRET}".encode()).hexdigest().upper()
    assert gateway.verify_push(params, {}) == ""
    assert gateway.verify_push({**params, "content": "改过的内容"}, {}) == "签名校验失败"
