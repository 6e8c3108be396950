"""The notifier: in-app notices once per key, SMS and email deliveries with retries, and
the notifications page."""

import asyncio
import email
import email.header
import json
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings
from django.urls import include, path

from hotline.core import notify, selectors
from hotline.core.models import Delivery, Notification
from hotline.testing import LoopbackHttp

# The page tests route notifications/ the way hotline/core/urls.py includes it.
urlpatterns = [
    path("notifications/", include("hotline.core.urls_notifications")),
    path("", include("hotline.urls")),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def person(make_user, org):
    return make_user(
        "unit_handler",
        unit=org.sy_units[0],
        username="notice_rs",
        display_name="人社局刘洋",
        phone="13900001111",
        email="liuyang@example.gov.cn",
    )


# --- in-app notices ---------------------------------------------------------------------------


def test_notify_creates_one_row_per_recipient_and_key(person, users):
    first = notify.notify(
        recipients=[person, users.dispatcher, person],
        kind="test",
        title="签收即将到期",
        key="warn:1:sign_due:2026-11-23T09:00:00+08:00",
        level="warning",
    )
    again = notify.notify(
        recipients=[person, users.dispatcher],
        kind="test",
        title="签收即将到期",
        key="warn:1:sign_due:2026-11-23T09:00:00+08:00",
        level="warning",
    )
    assert len(first) == 2 and again == []
    assert Notification.objects.filter(recipient=person).count() == 1
    # no key: every call is a new notice
    notify.notify(recipients=[person], kind="test", title="催办")
    notify.notify(recipients=[person], kind="test", title="催办")
    assert Notification.objects.filter(recipient=person, title="催办").count() == 2
    assert notify.unread_count(person) == 3


def test_inactive_people_and_bad_levels(person):
    person.is_active = False
    person.save()
    assert notify.notify(recipients=[person], kind="test", title="x") == []
    with pytest.raises(ValueError):
        notify.notify(recipients=[], kind="t", title="x", level="fatal")
    with pytest.raises(ValueError):
        notify.notify(recipients=[], kind="t", title="x", channels=("fax",))


def test_unread_first_and_mark_read(person, users):
    old = notify.notify(recipients=[person], kind="t", title="旧提醒")[0]
    new = notify.notify(recipients=[person], kind="t", title="新提醒")[0]
    notify.mark_read(user=person, pk=new.pk)
    assert [n.pk for n in selectors.notifications_of(person)] == [old.pk, new.pk]
    assert notify.mark_read(user=users.dispatcher, pk=old.pk) is None  # not theirs
    assert notify.mark_all_read(user=person) == 1
    assert notify.unread_count(person) == 0


# --- email --------------------------------------------------------------------------------------


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()
    asyncio.set_event_loop(None)


def test_email_reaches_a_real_smtp_server_with_a_chinese_subject(
    person, smtp_server, django_capture_on_commit_callbacks
):
    port, inbox = smtp_server
    with (
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_TIMEOUT=5,
            DEFAULT_FROM_EMAIL="12345@example.gov.cn",
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notify.notify(
            recipients=[person],
            kind="order.urge",
            title="催办 SY-WO-20261122-0001",
            body="请尽快办理群众反映的拖欠工资问题",
            link="/orders/SY-WO-20261122-0001/",
            channels=("app", "email"),
        )
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT, delivery.last_error
    assert delivery.attempts == 1 and delivery.sent_at is not None
    assert len(inbox.messages) == 1
    envelope = inbox.messages[0]
    assert envelope.rcpt_tos == ["liuyang@example.gov.cn"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == "催办 SY-WO-20261122-0001"
    raw_subject = email.message_from_bytes(envelope.content)["Subject"]
    assert "=?utf-8?" in raw_subject.lower()  # RFC 2047 encoded on the wire
    assert "拖欠工资" in message.get_content()


def test_missing_address_is_recorded_not_sent(make_user, django_capture_on_commit_callbacks):
    nobody = make_user("agent", username="noaddress")
    with django_capture_on_commit_callbacks(execute=True):
        notify.notify(recipients=[nobody], kind="t", title="x", channels=("sms", "email"))
    rows = {d.channel: d for d in Delivery.objects.all()}
    assert rows["sms"].status == rows["email"].status == Delivery.Status.FAILED
    assert rows["sms"].last_error == "未登记手机号码"
    assert rows["email"].last_error == "未登记电子邮箱"
    assert rows["sms"].attempts == 0


# --- SMS ----------------------------------------------------------------------------------------


@pytest.fixture
def sms_gateway():
    with LoopbackHttp() as gateway:  # answers {"code": 0}
        yield f"{gateway.url}/sms/send", gateway


def test_sms_through_a_gateway_that_is_up(person, sms_gateway, django_capture_on_commit_callbacks):
    url, gateway = sms_gateway
    with (
        override_settings(
            HOTLINE_SMS_URL=url,
            HOTLINE_SMS_TOKEN="gw-secret",
            HOTLINE_SMS_TEMPLATE="【12345】{title}：{body}",
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notify.notify(
            recipients=[person],
            kind="order.supervise",
            title="督办 SY-WO-20261122-0002",
            body="请于今日内答复",
            channels=("app", "sms"),
        )
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 1
    posts = [
        {
            "path": r["path"],
            "auth": r["headers"].get("Authorization"),
            "body": json.loads(r["body"]),
        }
        for r in gateway.requests
    ]
    assert posts == [
        {
            "path": "/sms/send",
            "auth": "Bearer gw-secret",
            "body": {
                "phone": "13900001111",
                "content": "【12345】督办 SY-WO-20261122-0002：请于今日内答复",
            },
        }
    ]


def test_sms_gateway_down_retries_then_gives_up(
    person, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(notify, "RETRY_DELAYS", (0, 0))  # retry at once, in process
    down = f"http://127.0.0.1:{free_port()}/sms/send"  # nobody listens there
    settings = override_settings(HOTLINE_SMS_URL=down, HOTLINE_SMS_TIMEOUT=2)
    with settings, django_capture_on_commit_callbacks(execute=True):
        notify.notify(recipients=[person], kind="t", title="督办", channels=("sms",))
    delivery = Delivery.objects.get()
    assert delivery.attempts == notify.MAX_ATTEMPTS == 3
    assert delivery.status == Delivery.Status.DEAD
    assert "短信网关不可达" in delivery.last_error
    assert delivery.sent_at is None
    # a dead delivery is not tried again
    notify.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.attempts == 3


def test_failed_attempt_schedules_a_retry_with_backoff(person, monkeypatch):
    scheduled = []
    monkeypatch.setattr(
        notify.send_delivery, "schedule", lambda args, delay: scheduled.append((args, delay))
    )
    notice = notify.notify(recipients=[person], kind="t", title="x")[0]
    delivery = Delivery.objects.create(notification=notice, channel="sms", address="13900001111")
    with override_settings(HOTLINE_SMS_URL=""):  # not configured: fails with a clear error
        notify.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    assert "HOTLINE_SMS_URL" in delivery.last_error
    assert scheduled == [((delivery.pk,), notify.RETRY_DELAYS[0])]


# --- the page -----------------------------------------------------------------------------------

pytestmark_urls = pytest.mark.urls(__name__)


@pytestmark_urls
def test_page_lists_own_notices_unread_first(person, users, login):
    notify.notify(recipients=[person], kind="t", title="已读的派单提醒")
    notify.mark_all_read(user=person)
    notify.notify(recipients=[person], kind="t", title="办理已逾期", level="danger", link="/x/")
    notify.notify(recipients=[users.dispatcher], kind="t", title="别人的提醒")
    page = login(person).get("/notifications/").content.decode()
    assert page.index("办理已逾期") < page.index("已读的派单提醒")
    assert "别人的提醒" not in page
    assert "逾期" in page and "全部标为已读" in page
    unread_only = login(person).get("/notifications/?show=unread").content.decode()
    assert "已读的派单提醒" not in unread_only


@pytestmark_urls
def test_read_one_and_all(person, users, login):
    client = login(person)
    a = notify.notify(recipients=[person], kind="t", title="一", link="/orders/SY-1/")[0]
    notify.notify(recipients=[person], kind="t", title="二")
    response = client.post(f"/notifications/{a.pk}/read/", {"next": "/orders/SY-1/"})
    assert response.status_code == 302 and response["Location"] == "/orders/SY-1/"
    a.refresh_from_db()
    assert a.read_at is not None
    # an outside address is not followed
    response = client.post(f"/notifications/{a.pk}/read/", {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"
    # another person's notice reads as not found
    theirs = notify.notify(recipients=[users.dispatcher], kind="t", title="三")[0]
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.get(f"/notifications/{a.pk}/read/").status_code == 405
    client.post("/notifications/read-all/")
    assert notify.unread_count(person) == 0
    assert notify.unread_count(users.dispatcher) == 1
