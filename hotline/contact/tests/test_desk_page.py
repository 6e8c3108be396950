"""坐席工作台 (/desk/): who may open it, and — in a real browser — a working morning: the
agent sets manual accept, signs in, a waiting citizen's chat is offered and accepted, the
screen pop shows the citizen, messages come and go live (text, emoji, a picture), a second
chat arrives in the background with its unread badge, a supervisor's announcement shows
and is dismissed, the second chat is transferred to a queue, and the first is ended and
closed with its 会话小结.

Every page is watched for Content-Security-Policy violations and script errors;
screenshots (1440×900) go to ``screenshot_dir`` (docs/screenshots with HOTLINE_SCREENSHOTS).
"""

import datetime as dt
import struct
import threading
import zlib

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from hotline.contact import live, services
from hotline.contact.connectors import Inbound, webchat
from hotline.contact.models import AgentPresence, Message, Session
from hotline.testing import SignedIn


def picture_png(width=160, height=100) -> bytes:
    """A small real PNG (the upload checks content against the extension)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\0" + bytes((40, 120, 200) if y < height // 2 else (240, 200, 120)) * width
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def elsewhere(call, *args, **kwargs):
    """Run a service call in a thread of its own, as the worker or a channel's request
    would: Playwright's sync API keeps an event loop in the test's thread, where the Redis
    channel layer cannot publish the live pushes."""
    result, errors = [], []

    def run():
        try:
            result.append(call(*args, **kwargs))
        except Exception as error:  # reported in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == [], errors
    return result[0]


def citizen_writes(entry, visitor: str, body: str):
    return elsewhere(
        services.inbound_receive, entry=entry, inbound=Inbound(address=visitor, body=body)
    )


@pytest.fixture
def entry(cc):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="webchat",
        code="web",
        name="网页在线咨询",
        queue=cc.general,
    )


# --- who may open it ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_workbench_is_for_those_who_handle_contacts(client, org, make_user, login):
    assert client.get("/desk/").status_code == 302  # signed out: to the sign-in page

    handler = make_user("unit_handler", unit=org.sy_units[0])
    assert login(handler).get("/desk/").status_code == 403

    agent = make_user("agent", display_name="话务员韩晓燕", employee_no="1001")
    response = login(agent).get("/desk/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "坐席工作台" in html and "工号 1001" in html
    assert 'data-api="/api/contact/"' in html and 'data-socket="/ws/desk/"' in html
    for reason in ("示忙", "小休", "用餐", "会议", "培训"):
        assert f">{reason}</button>" in html
    assert "<script>" not in html and 'style="' not in html  # strict CSP: no inline code


# --- a working morning, in the browser ------------------------------------------------------------


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_signs_in_answers_a_chat_and_writes_the_summary(
    browser, live_server, cc, entry, make_user, screenshot_dir, _media
):
    agent = make_user("agent", username="desk_agent", display_name="韩晓燕", employee_no="1001")
    # A citizen writes before anyone is signed in: the chat waits in the queue.
    first = webchat.new_visitor()
    citizen_writes(entry, first, "你好，楼下酒吧每天半夜还在放音乐，怎么处理？")
    session = Session.objects.get(address=first)
    assert session.state == "queued"
    services.profile_update(
        actor=cc.leader, profile=session.citizen, name="黄建国", gender="男", is_vip=True
    )

    desk = SignedIn(browser, live_server.url, agent, screenshot_dir, prefix="desk-")
    page = desk.page
    try:
        desk.goto("/desk/")
        expect(page.locator("#cd-link")).to_have_attribute("data-link", "ok")
        expect(page.locator("#cd-state-label")).to_have_text("签出")
        general = page.locator(".cd-queue", has_text="综合咨询")
        expect(general.locator(".cd-queue-waiting")).to_have_text("1")
        expect(page.locator("[data-state-event=sign_out]")).to_be_disabled()

        # --- 状态设置: new chats are to be accepted by hand ----------------------------------
        page.click("#cd-settings-open")
        expect(page.locator("#cd-settings")).to_be_visible()
        page.locator("#cd-set-auto").uncheck()
        page.locator("#cd-set-capacity").fill("3")
        page.locator("#cd-set-phone").fill("8001@10.0.0.21")  # not a SIP address
        page.locator("#cd-settings-form button[type=submit]").click()
        expect(page.locator("#cd-settings-error")).to_contain_text("坐席话机须为 SIP 地址")
        desk.errors.remove(  # the refusal's 422, asked for above
            "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
        )
        page.locator("#cd-set-phone").fill("sip:8001@10.0.0.21:5060")
        desk.shoot("settings")
        page.locator("#cd-settings-form button[type=submit]").click()
        expect(page.locator(".cd-toast")).to_contain_text("状态设置已保存")
        expect(page.locator("#cd-settings")).to_be_hidden()
        presence = AgentPresence.objects.get(agent=agent)
        assert presence.auto_accept is False and presence.text_capacity == 3
        assert presence.phone_uri == "sip:8001@10.0.0.21:5060"

        # --- 签入: the waiting chat is offered at once ----------------------------------------
        page.click("[data-state-event=sign_in]")
        tab = page.locator(".cd-tab")
        expect(tab).to_have_count(1)
        expect(tab).to_contain_text("黄建国")
        expect(tab).to_contain_text("分配中")
        expect(page.locator("#cd-offer")).to_be_visible()
        expect(page.locator("#cd-input")).to_be_disabled()
        expect(page.locator("#cd-state-label")).to_have_text("分配中")
        desk.shoot("1-offer")
        page.click("#cd-accept")
        expect(page.locator("#cd-offer")).to_be_hidden()
        expect(page.locator("#cd-state-label")).to_have_text("会话中")
        assert Session.objects.get(pk=session.pk).state == "active"

        # the screen pop (弹屏) beside the chat
        profile = page.locator("#cd-profile")
        expect(profile).to_contain_text("黄建国")
        expect(profile).to_contain_text("重点来电人")
        expect(profile).to_contain_text("首次来电")
        expect(page.locator("#cd-chat-tags")).to_contain_text("重点来电人")
        order_link = page.locator("#cd-order")
        expect(order_link).to_have_attribute("href", f"/orders/new/?session={session.pk}")
        expect(order_link).to_have_attribute("target", "_blank")

        # --- messages both ways, live ---------------------------------------------------------
        citizen_writes(entry, first, "另外，租房提取公积金要什么材料？")
        expect(page.locator(".cd-msg-in")).to_have_count(2)
        expect(page.locator(".cd-msg-in").last).to_contain_text("租房提取公积金")
        # 首次响应 (GB/T 33358): no answer yet, the tab counts down the 3 minutes
        expect(page.locator(".cd-tab-wait")).to_contain_text("首次响应剩余 02:")

        page.click("#cd-emoji-open")
        page.locator(".cd-emoji-item").first.click()
        expect(page.locator("#cd-emoji")).to_be_hidden()
        page.keyboard.insert_text("您好，噪音问题我马上为您登记工单。<b>请稍候</b>")
        page.locator("#cd-input").press("Enter")
        reply = page.locator(".cd-msg-out").last
        expect(reply.locator(".cd-bubble")).to_have_text(
            "👍您好，噪音问题我马上为您登记工单。<b>请稍候</b>"
        )
        expect(reply.locator(".cd-delivery")).to_have_text("已发送")
        expect(page.locator(".cd-tab-wait")).to_have_text("")  # answered: the countdown stops
        assert Session.objects.get(pk=session.pk).first_response_at is not None
        expect(page.locator("#cd-input")).to_have_value("")
        stored = Message.objects.get(session=session, direction="out", kind="text")
        assert stored.body == "👍您好，噪音问题我马上为您登记工单。<b>请稍候</b>"
        assert stored.sender_id == agent.pk
        # the citizen's page showed it: 已送达
        elsewhere(services.webchat_acknowledge, entry=entry, visitor=first, message_ids=[stored.pk])
        expect(reply.locator(".cd-delivery")).to_have_text("已送达")

        page.set_input_files(
            "#cd-image",
            files=[{"name": "办理流程.png", "mimeType": "image/png", "buffer": picture_png()}],
        )
        expect(page.locator(".cd-msg-out img")).to_be_visible()
        picture = Message.objects.get(session=session, kind="image")
        assert picture.attachment.name.endswith(".png")

        # --- a second chat arrives in the background ------------------------------------------
        second = webchat.new_visitor()
        citizen_writes(entry, second, "在吗？")
        expect(tab).to_have_count(2)
        background = tab.nth(1)
        expect(background).to_contain_text("分配中")
        citizen_writes(entry, second, "我想问社保卡补办")
        expect(background.locator(".cd-badge")).to_have_text("1")
        expect(page.locator(".cd-msg-in")).to_have_count(2)  # the open chat is unchanged

        # --- a supervisor's announcement (公告) ---------------------------------------------
        elsewhere(
            live.publish,
            [live.desk_group(agent.pk)],
            "announcement",
            id=9001,
            title="系统维护",
            body="今晚 22:00 起工单系统维护半小时，请提前保存。",
            level="warning",
            until=(timezone.now() + dt.timedelta(hours=2)).isoformat(),
            sender="值班长周健",
        )
        notice = page.locator(".cd-notice")
        expect(notice).to_contain_text("系统维护")
        expect(notice).to_contain_text("值班长周健")
        desk.shoot("2-chat")
        notice.locator(".btn-close").click()
        expect(page.locator("#cd-notices")).to_be_hidden()

        # --- the second chat: accept it and transfer it to a queue -----------------------------
        background.click()
        expect(background.locator(".cd-badge")).to_have_count(0)
        expect(page.locator(".cd-log .cd-msg-in")).to_have_count(2)
        page.click("#cd-accept")
        expect(page.locator("#cd-transfer-open")).to_be_visible()
        page.click("#cd-transfer-open")
        expect(page.locator("#cd-transfer")).to_be_visible()
        expect(page.locator("#cd-transfer-queue option")).to_have_count(2)
        page.locator("#cd-transfer-queue").select_option(label="社保咨询")
        page.locator("#cd-transfer-submit").click()
        expect(page.locator("#cd-transfer-error")).to_have_text("转接前请填写会话小结")
        page.locator("#cd-transfer-summary").fill("来电人咨询社保卡补办，转社保专席。")
        page.locator("#cd-transfer-submit").click()
        expect(page.locator("#cd-transfer")).to_be_hidden()
        expect(tab).to_have_count(1)
        moved = Session.objects.get(address=second)
        assert moved.state == "queued" and moved.queue == cc.shebao and moved.agent is None

        # --- end the first chat and write the summary ------------------------------------------
        expect(tab).to_contain_text("黄建国")
        expect(page.locator("#cd-chat-name")).to_have_text("黄建国")
        page.once("dialog", lambda dialog: dialog.accept())  # 确定结束与来电人的会话吗？
        page.click("#cd-end")
        expect(page.locator("#cd-wrap")).to_be_visible()
        expect(tab).to_contain_text("整理中")
        page.click("#cd-close")
        expect(page.locator("#cd-summary-error")).to_have_text("请填写会话小结")
        assert Session.objects.get(pk=session.pk).state == "wrap_up"
        page.locator("#cd-summary").fill(
            "反映酒吧夜间噪音扰民，已登记工单；解答租房提取公积金材料。"
        )
        desk.shoot("3-summary")
        page.click("#cd-close")
        expect(tab).to_have_count(0)
        expect(page.locator(".cd-toast").last).to_contain_text("会话已关闭")
        closed = Session.objects.get(pk=session.pk)
        assert closed.state == "closed"
        assert closed.summary == "反映酒吧夜间噪音扰民，已登记工单；解答租房提取公积金材料。"
        expect(page.locator("#cd-today-answered")).to_have_text("2")

        # --- 示忙 with a reason, then 签出 ---------------------------------------------------------
        page.click("#cd-busy")
        page.locator("[data-state-event=not_ready][data-reason=meal]").click()
        expect(page.locator("#cd-state-label")).to_have_text("用餐")
        page.click("[data-state-event=sign_out]")
        expect(page.locator("#cd-state-label")).to_have_text("签出")
        assert AgentPresence.objects.get(agent=agent).presence == "signed_out"
        desk.clean()
    finally:
        desk.close()
