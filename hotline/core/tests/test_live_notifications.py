"""站内提醒实时弹出: notices reach the recipient's open pages over the WebSocket.

The socket tests drive ``hotline.asgi.application`` (origin check, session auth, routing)
through asgiref's communicator, as Channels' ``WebsocketCommunicator`` does, with the
session cookie of a real sign-in; the browser test runs uvicorn on the same application in a thread, as ``hotline run`` does.
Both run on whichever channel layer the settings choose: in-memory (embedded) or Redis
(with ``REDIS_URL`` set), so the distributed path is covered by the PostgreSQL run.
"""

import json
import logging
import re
import socket
import threading
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections, transaction
from django.test import override_settings
from playwright.sync_api import expect

from hotline.conftest import PASSWORD
from hotline.core import notify, services
from hotline.core.models import Notification
from hotline.testing import Socket

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/notifications/"
# How long a message that should come may take (generous: a busy machine, Redis), and how
# long a page listens to be sure that one that should not come does not.
WAIT = 10
QUIET = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def socket_for(client=None) -> Socket:
    """A socket as a page of ``client`` (a signed-in test client) would open it."""
    return Socket(PATH, client)


async def closed_with(page: Socket) -> int | None:
    return await page.closed_with()


@pytest.fixture
def alice(make_user, org):
    return make_user(
        "unit_handler", unit=org.sy_units[0], username="alice_rs", display_name="人社局林晓"
    )


@pytest.fixture
def bob(make_user, org):
    return make_user(
        "unit_handler", unit=org.sy_units[1], username="bob_zj", display_name="住建局周涛"
    )


def test_a_socket_without_a_signed_in_person_is_closed_with_4401(alice, login):
    async def scenario():
        assert await closed_with(socket_for()) == 4401

    async_to_sync(scenario)()


def test_a_disabled_account_and_a_pending_password_change_are_refused(alice, bob, login, make_user):
    alice_client = login(alice)
    services.user_set_active(actor=None, user=alice, active=False)
    newcomer = make_user("agent", username="newcomer", must_change_password=True)
    newcomer_client = login(newcomer)

    async def scenario():
        assert await closed_with(socket_for(alice_client)) == 4401
        assert await closed_with(socket_for(newcomer_client)) == 4403

    async_to_sync(scenario)()


def test_the_recipient_sees_the_count_then_the_notice_and_nobody_else_does(alice, bob, login):
    notify.notify(recipients=[alice], kind="test", title="旧提醒一")
    old = notify.notify(recipients=[alice], kind="test", title="旧提醒二")[0]
    notify.mark_read(user=alice, pk=old.pk)
    alice_client, bob_client = login(alice), login(bob)

    async def scenario():
        alice_page, bob_page = socket_for(alice_client), socket_for(bob_client)
        assert await alice_page.connect() and await bob_page.connect()
        assert await alice_page.receive_json_from() == {"type": "unread", "unread": 1}
        assert await bob_page.receive_json_from() == {"type": "unread", "unread": 0}

        notices = await sync_to_async(notify.notify)(
            recipients=[alice],
            kind="urge",
            title="工单 SY20261122000123 被催办",
            body="请尽快办理并反馈。",
            link="/orders/SY20261122000123/",
            level="warning",
        )
        assert await alice_page.receive_json_from() == {
            "type": "notification",
            "id": notices[0].pk,
            "title": "工单 SY20261122000123 被催办",
            "body": "请尽快办理并反馈。",
            "link": "/orders/SY20261122000123/",
            "level": "warning",
            "level_label": "预警",
            "kind": "urge",
            "unread": 2,
        }
        assert await bob_page.receive_nothing(timeout=QUIET)
        await alice_page.disconnect()
        await bob_page.disconnect()

    async_to_sync(scenario)()


def test_every_recipient_gets_their_own_notice_with_their_own_count(alice, bob, login):
    notify.notify(recipients=[bob], kind="test", title="周涛的旧提醒")
    alice_client, bob_client = login(alice), login(bob)

    async def scenario():
        alice_page, bob_page = socket_for(alice_client), socket_for(bob_client)
        await alice_page.connect()
        await bob_page.connect()
        await alice_page.receive_json_from()
        await bob_page.receive_json_from()
        await sync_to_async(notify.notify)(
            recipients=[alice, bob], kind="sla", title="办理时限即将到期", level="danger"
        )
        to_alice = await alice_page.receive_json_from()
        to_bob = await bob_page.receive_json_from()
        assert (to_alice["title"], to_alice["unread"], to_alice["level_label"]) == (
            "办理时限即将到期",
            1,
            "逾期",
        )
        assert (to_bob["title"], to_bob["unread"]) == ("办理时限即将到期", 2)
        assert to_alice["id"] != to_bob["id"]
        await alice_page.disconnect()
        await bob_page.disconnect()

    async_to_sync(scenario)()


def test_a_notice_rolled_back_with_its_transaction_is_never_shown(alice, login):
    alice_client = login(alice)

    def notify_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            notify.notify(recipients=[alice], kind="test", title="不该出现的提醒")
            raise RuntimeError("the caller's transaction fails after notifying")

    async def scenario():
        page = socket_for(alice_client)
        await page.connect()
        assert await page.receive_json_from() == {"type": "unread", "unread": 0}
        await sync_to_async(notify_then_fail)()
        assert await page.receive_nothing(timeout=QUIET)
        await page.disconnect()

    async_to_sync(scenario)()
    assert not Notification.objects.filter(recipient=alice).exists()


def test_reading_updates_the_count_in_every_open_page_of_the_reader(alice, bob, login):
    first, _ = (
        notify.notify(recipients=[alice], kind="test", title=title)[0]
        for title in ("提醒一", "提醒二")
    )
    notify.notify(recipients=[bob], kind="test", title="周涛的提醒")
    alice_client, bob_client = login(alice), login(bob)

    async def scenario():
        tab_one, tab_two = socket_for(alice_client), socket_for(alice_client)
        bob_page = socket_for(bob_client)
        for page in (tab_one, tab_two, bob_page):
            await page.connect()
            await page.receive_json_from()
        await sync_to_async(notify.mark_read)(user=alice, pk=first.pk)
        for page in (tab_one, tab_two):
            assert await page.receive_json_from() == {"type": "unread", "unread": 1}
        # Reading someone else's notice, or one already read, changes nothing.
        await sync_to_async(notify.mark_read)(user=bob, pk=first.pk)
        await sync_to_async(notify.mark_read)(user=alice, pk=first.pk)
        assert await tab_one.receive_nothing(timeout=QUIET)
        await sync_to_async(notify.mark_all_read)(user=alice)
        for page in (tab_one, tab_two):
            assert await page.receive_json_from() == {"type": "unread", "unread": 0}
        assert await bob_page.receive_nothing(timeout=QUIET)
        for page in (tab_one, tab_two, bob_page):
            await page.disconnect()

    async_to_sync(scenario)()


def test_reading_on_the_notifications_page_updates_the_other_tabs(alice, login):
    notice = notify.notify(recipients=[alice], kind="test", title="提醒", link="/")[0]
    alice_client = login(alice)

    async def scenario():
        tab = socket_for(alice_client)
        await tab.connect()
        assert await tab.receive_json_from() == {"type": "unread", "unread": 1}
        response = await sync_to_async(alice_client.post)(
            f"/notifications/{notice.pk}/read/", {"next": "/"}
        )
        assert response.status_code == 302 and response["Location"] == "/"
        assert await tab.receive_json_from() == {"type": "unread", "unread": 0}
        await tab.disconnect()

    async_to_sync(scenario)()


def test_a_bus_that_is_down_costs_the_pop_up_not_the_notice(alice, caplog):
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [nobody_listens]},
        }
    }
    started = time.monotonic()
    with override_settings(CHANNEL_LAYERS=layers), caplog.at_level(logging.WARNING):
        notices = notify.notify(recipients=[alice], kind="test", title="总线中断时的提醒")
        assert notify.mark_read(user=alice, pk=notices[0].pk) is not None
    assert time.monotonic() - started < 10
    assert Notification.objects.get(pk=notices[0].pk).read_at is not None
    failures = [r for r in caplog.records if r.getMessage() == "live notification push failed"]
    assert len(failures) == 2


# --- in a real browser ----------------------------------------------------------------------


@pytest.fixture
def asgi_server(transactional_db):
    """uvicorn serving ``hotline.asgi:application`` (pages and WebSockets) in a thread,
    on the test database, as ``hotline run`` serves it."""
    import uvicorn

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        "hotline.asgi:application", lifespan="off", log_level="warning", ws="auto"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


def wait_until(condition, page, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)  # lets Playwright deliver its events


def from_worker(**notice):
    """``notify`` from a thread of its own, as a worker thread calls it (Playwright's sync
    API keeps an event loop in the test's thread)."""
    errors = []

    def run():
        try:
            notify.notify(**notice)
        except Exception as error:  # reported in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive() and errors == [], errors


@pytest.mark.browser
def test_a_notice_pops_up_on_the_open_page_and_the_bell_counts_it(
    browser, asgi_server, alice, screenshot_dir
):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framereceived", lambda payload: frames.append(payload))
            if ws.url.endswith(PATH)
            else None
        ),
    )
    try:
        page.goto(asgi_server + "/login/")
        page.fill("input[name=username]", alice.username)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == asgi_server + "/"
        bell = page.locator(".topbar-bell")
        expect(bell.locator(".bell-count")).to_have_count(0)
        # The socket is open once the server has told the page its count.
        wait_until(lambda: frames, page)
        assert json.loads(frames[0]) == {"type": "unread", "unread": 0}

        # As the worker's deadline sweep would: from another thread, after its commit.
        from_worker(
            recipients=[alice],
            kind="urge",
            title="工单 SY20261122000123 被催办",
            body="来电人再次来电催促，请尽快办理并反馈。",
            link="/notifications/",
            level="warning",
        )
        toast = page.locator("#live-toasts .live-toast")
        expect(toast).to_have_count(1)
        expect(toast.locator(".live-toast-title")).to_have_text("工单 SY20261122000123 被催办")
        expect(toast.locator(".live-toast-level")).to_have_text("预警")
        expect(toast).to_contain_text("来电人再次来电催促")
        expect(bell.locator(".bell-count")).to_have_text("1")
        expect(bell).to_have_attribute("title", "站内提醒（1 条未读）")

        from_worker(
            recipients=[alice],
            kind="sla",
            title="办理时限已逾期",
            body="<b>已逾期 2 天</b>",
            level="danger",
        )
        expect(toast).to_have_count(2)
        expect(toast.nth(1)).to_have_class(re.compile(r"\blive-toast-danger\b"))
        expect(toast.nth(1).locator(".live-toast-level")).to_have_text("逾期")
        # Server text is text: markup in it is shown, not obeyed.
        expect(toast.nth(1).locator(".live-toast-text")).to_have_text("<b>已逾期 2 天</b>")
        expect(toast.nth(1).locator("b")).to_have_count(0)
        expect(bell.locator(".bell-count")).to_have_text("2")
        # Shown, and its fade-in over, before the picture is taken.
        expect(toast.nth(1)).to_have_class(re.compile(r"\bshow\b"))
        page.wait_for_function(
            "() => [...document.querySelectorAll('#live-toasts .live-toast')]"
            ".every(t => getComputedStyle(t).opacity === '1')"
        )
        page.screenshot(path=str(screenshot_dir / "live-notification-toast.png"))

        # 查看 marks the notice read and opens its link; the bell follows.
        with page.expect_navigation():
            toast.first.get_by_role("button", name="查看").click()
        assert page.url == asgi_server + "/notifications/"
        expect(page.locator(".topbar-bell .bell-count")).to_have_text("1")
        assert problems == [], problems
    finally:
        context.close()
