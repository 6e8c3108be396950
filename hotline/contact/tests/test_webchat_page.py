"""网页在线咨询 as the citizen meets it: the chat page (its token, who may frame it), the
upload door (refusals are Chinese 4xx and store nothing), the link to a message's file,
and — in a real browser at 390×844 — a whole conversation with an agent, a lost message
sent again after a reconnect, an image, the end and the rating; then the widget on the
example government site."""

import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from hotline.contact import services
from hotline.contact.connectors import Inbound, webchat
from hotline.contact.models import Message, Session

ALLOWED = "https://www.example.gov.cn"
# A 1×1 PNG: what the content sniff expects of a .png
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e2a0e5a1"
    "0000000049454e44ae426082"
)


def photo_png(width=240, height=160) -> bytes:
    """A real picture (sky over sea over sand) for the browser test."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b""
    for y in range(height):
        colour = (135, 190, 235) if y < height * 0.5 else (30, 110, 170)
        if y > height * 0.75:
            colour = (235, 215, 160)
        rows += b"\0" + bytes(colour) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def entry(cc):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="webchat",
        code="web",
        name="网页在线咨询",
        queue=cc.general,
        settings={"allowed_origins": [ALLOWED, "https://x.test; script-src *"]},
    )


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_names_the_hotline_and_hands_out_a_token_for_its_entry(client, entry):
    response = client.get("/chat/SY/web/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "三亚市12345热线" in html and "网页在线咨询" in html and entry.welcome in html
    assert "结束咨询" in html and "非常不满意" in html
    token = re.search(r'data-token="([^"]+)"', html).group(1)
    assert len(webchat.verify(entry, token)) == 32
    # every visit gets a new visitor; the page keeps the one it stored
    again = client.get("/chat/SY/web/").content.decode()
    assert re.search(r'data-token="([^"]+)"', again).group(1) != token
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_an_unknown_or_stopped_entry_is_a_chinese_404(client, entry):
    response = client.get("/chat/SY/nope/")
    assert response.status_code == 404
    assert "咨询入口不存在或已停用" in response.content.decode()
    entry.is_active = False
    entry.save()
    for path in ("/chat/SY/web/", "/chat/SY/web/demo-site"):
        response = client.get(path)
        assert response.status_code == 404 and "12345" in response.content.decode()


@pytest.mark.django_db
def test_the_page_may_be_framed_by_the_hotline_and_the_entrys_sites_only(client, entry):
    response = client.get("/chat/SY/web/?embed=1")
    csp = response["Content-Security-Policy"]
    ancestors = re.search(r"frame-ancestors ([^;]+)", csp).group(1).split()
    assert ancestors == ["'self'", ALLOWED]  # the malformed origin is dropped, not injected
    assert "script-src *" not in csp and "https://evil.example.com" not in csp
    assert "X-Frame-Options" not in response
    assert 'class="wc-body wc-embedded"' in response.content.decode()
    # elsewhere the hotline stays unframeable
    other = client.get("/login/")
    assert "frame-ancestors 'none'" in other["Content-Security-Policy"]
    assert other["X-Frame-Options"] == "DENY"


# --- the upload -------------------------------------------------------------------------------


def upload(client, file, *, token="", origin="http://testserver", field_token=False):
    headers = {}
    if origin:
        headers["Origin"] = origin
    data = {"file": file} if file is not None else {}
    if token and field_token:
        data["t"] = token
    elif token:
        headers["X-Webchat-Token"] = token
    return client.post("/chat/SY/web/upload", data, headers=headers)


@pytest.mark.django_db
def test_upload_refusals_are_chinese_4xx_and_store_nothing(client, entry, cc, settings):
    token = webchat.visitor_token(entry)
    other = services.channel_entry_create(
        actor=None,
        platform=cc.platform,
        channel="webchat",
        code="web2",
        name="二",
        queue=cc.general,
    )

    def png(name="photo.png", content=PNG):
        return SimpleUploadedFile(name, content, content_type="image/png")

    cases = [
        (upload(client, png()), 403, "访客凭证无效"),
        (upload(client, png(), token="forged"), 403, "访客凭证无效"),
        (upload(client, png(), token=webchat.visitor_token(other)), 403, "接入点不符"),
        (upload(client, png("run.exe", b"MZ\x90\x00")), 403, "访客凭证"),  # token first
        (upload(client, png("run.exe", b"MZ\x90\x00"), token=token), 422, "类型不允许"),
        (upload(client, png("photo.png", b"<html>x</html>"), token=token), 422, "不符"),
        (
            upload(client, png("big.png", PNG + b"\0" * (10 * 1024 * 1024)), token=token),
            422,
            "10 MB",
        ),
        (upload(client, png(), token=token, origin="https://evil.example.com"), 403, "来源"),
        (upload(client, png(), token=token, origin=""), 403, "来源"),
        (upload(client, None, token=token), 400, "请选择"),
    ]
    for response, status, detail in cases:
        assert response.status_code == status, response.content
        assert detail in response.json()["detail"], response.json()
    huge = client.post(
        "/chat/SY/web/upload",
        b"x",
        content_type="multipart/form-data; boundary=x",
        headers={"Origin": "http://testserver", "X-Webchat-Token": token},
        CONTENT_LENGTH=str(12 * 1024 * 1024),
    )
    assert huge.status_code == 413 and "10 MB" in huge.json()["detail"]
    assert client.post("/chat/SY/nope/upload", {"file": png()}).status_code == 404
    assert client.get("/chat/SY/web/upload").status_code == 405
    assert not Message.objects.exists() and not Session.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_a_visitor_sending_files_in_a_burst_is_slowed_down(client, entry, settings):
    token = webchat.visitor_token(entry)
    for _ in range(10):
        bad = SimpleUploadedFile("a.exe", b"MZ", content_type="application/octet-stream")
        assert upload(client, bad, token=token).status_code == 422
    good = SimpleUploadedFile("a.png", PNG, content_type="image/png")
    response = upload(client, good, token=token)
    assert response.status_code == 429 and "频繁" in response.json()["detail"]
    assert not Message.objects.exists() and stored_files(settings) == []
    # another visitor is not held back
    other = SimpleUploadedFile("b.png", PNG, content_type="image/png")
    assert upload(client, other, token=webchat.visitor_token(entry)).status_code == 200


@pytest.mark.django_db
def test_an_image_and_a_file_reach_the_session_and_open_by_their_links(client, entry):
    token = webchat.visitor_token(entry)
    visitor = webchat.verify(entry, token)
    image = SimpleUploadedFile("门牌.png", PNG, content_type="image/png")
    assert upload(client, image, token=token).json() == {"ok": True}
    # from an embedding site, the token in the form
    pdf = SimpleUploadedFile("材料.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n", "application/pdf")
    response = upload(client, pdf, token=token, origin=ALLOWED, field_token=True)
    assert response.status_code == 200, response.content

    session = Session.objects.get(address=visitor, channel="webchat")
    first, second = session.messages.order_by("pk")
    assert (first.kind, second.kind) == ("image", "file")
    assert first.direction == "in" and first.attachment.name.endswith(".png")

    shown = client.get(webchat.file_url(first))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert shown["Content-Disposition"].startswith("inline")
    assert b"".join(shown.streaming_content) == PNG
    downloaded = client.get(webchat.file_url(second))
    assert downloaded["Content-Disposition"].startswith("attachment")


@pytest.mark.django_db
def test_a_forged_or_foreign_file_link_is_404(client, entry):
    message = services.inbound_receive(
        entry=entry,
        inbound=Inbound(
            address=webchat.new_visitor(),
            kind="image",
            attachment=SimpleUploadedFile("a.png", PNG, content_type="image/png"),
        ),
    )
    good = webchat.file_url(message)
    assert client.get(good).status_code == 200
    assert client.get("/chat/file/forged/").status_code == 404
    assert client.get(good.replace("/chat/file/", "/chat/file/x")).status_code == 404
    # a message without a file, and a visitor token passed off as a file link
    text = services.inbound_receive(
        entry=entry, inbound=Inbound(address=message.session.address, body="你好")
    )
    assert client.get(webchat.file_url(text)).status_code == 404
    assert client.get(f"/chat/file/{webchat.visitor_token(entry)}/").status_code == 404


# --- in a real browser ----------------------------------------------------------------------


class Watched:
    """A page watched for CSP violations and script errors."""

    def __init__(self, context):
        self.context = context
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))

    def _console(self, message):
        if "Content Security Policy" in message.text or message.type == "error":
            self.problems.append(message.text)

    def clean(self):
        assert self.problems == [], self.problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_citizen_chats_on_a_phone_with_an_agent_and_rates(
    browser, live_server, entry, make_user, screenshot_dir
):
    agent = make_user(
        "agent", username="agent_webpage", display_name="话务员小林", employee_no="1023"
    )
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    citizen = Watched(context)
    page = citizen.page

    # The first connection loses the citizen's first message and then drops.
    sockets = []

    def flaky(ws):
        sockets.append(ws)
        server = ws.connect_to_server()
        if len(sockets) == 1:
            ws.on_message(lambda m: None if '"message"' in str(m) else server.send(m))

    page.route_web_socket(re.compile(r"/ws/chat/"), flaky)
    try:
        page.goto(f"{live_server.url}/chat/SY/web/")
        expect(page.locator(".wc-conn")).to_have_text("已连接")
        expect(page.locator(".wc-welcome")).to_contain_text("欢迎")
        page.locator("textarea").fill("请问社保卡丢了怎么补办？")
        page.get_by_role("button", name="发送", exact=True).tap()
        mine = page.locator(".wc-row-me").last
        expect(mine).to_contain_text("请问社保卡丢了怎么补办？")
        expect(mine.locator(".wc-status")).to_contain_text("发送中")
        assert not Message.objects.exists()
        sockets[0].close(code=4000, reason="network")
        expect(mine.locator(".wc-status")).to_contain_text("已发送", timeout=15000)
        assert len(sockets) == 2
        expect(page.locator(".wc-banner")).to_contain_text("您前面还有")
        session = Session.objects.get(channel="webchat")
        assert session.messages.filter(direction="in").count() == 1  # sent again, stored once
        # the visitor's token is kept for a return visit, and names this session's citizen
        kept = page.evaluate("() => localStorage.getItem('hotline.webchat.SY.web.token')")
        assert webchat.verify(entry, kept) == session.address
        page.screenshot(path=str(screenshot_dir / "webchat-1-queued.png"))

        # an agent signs in (auto accept) and answers
        services.agent_sign_in(actor=agent)
        expect(page.locator(".wc-banner")).to_have_text("1023号客服为您服务")
        session.refresh_from_db()
        assert session.agent == agent
        reply = services.message_send(
            actor=agent, session=session, body="您好，可携带身份证到就近社保网点补办。"
        )
        agent_row = page.locator(".wc-row-agent").last
        expect(agent_row).to_contain_text("可携带身份证")
        expect(agent_row.locator(".wc-sender")).to_have_text("1023号客服")
        for _ in range(50):  # the page confirms what it showed
            reply.refresh_from_db()
            if reply.delivery == "delivered":
                break
            page.wait_for_timeout(100)
        assert reply.delivery == "delivered"

        # a photo from the phone
        page.locator("input[type=file]").set_input_files(
            {"name": "社保卡.png", "mimeType": "image/png", "buffer": photo_png()}
        )
        photo = page.locator(".wc-row-me .wc-bubble-image img")
        expect(photo).to_be_visible()
        expect(photo).to_have_js_property("naturalWidth", 240)  # served by the file link
        assert session.messages.filter(kind="image").count() == 1
        page.screenshot(path=str(screenshot_dir / "webchat-2-agent.png"))

        # the agent ends the session; the citizen rates it
        services.session_end(actor=agent, session=session)
        rating = page.locator(".wc-rating")
        expect(rating).to_be_visible()
        expect(page.locator(".wc-banner")).to_contain_text("本次咨询已结束")
        expect(page.locator(".wc-leave")).to_be_hidden()
        page.screenshot(path=str(screenshot_dir / "webchat-3-rate.png"))
        rating.get_by_role("button", name="满意", exact=True).tap()
        expect(page.locator(".wc-thanks")).to_contain_text("感谢您的评价（满意）")
        session.refresh_from_db()
        assert session.satisfaction == "满意"
        page.screenshot(path=str(screenshot_dir / "webchat-4-thanks.png"))

        # back later the same day: the conversation and the rating are still there
        page.reload()
        expect(page.locator(".wc-conn")).to_have_text("已连接")
        expect(page.locator(".wc-row-agent").last).to_contain_text("可携带身份证")
        expect(page.locator(".wc-thanks")).to_contain_text("满意")
        citizen.clean()
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_stored_token_the_server_refuses_gives_way_to_the_fresh_one(browser, live_server, entry):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    context.add_init_script(
        "localStorage.setItem('hotline.webchat.SY.web.token', 'expired-or-forged')"
    )
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/chat/SY/web/")
        expect(page.locator(".wc-conn")).to_have_text("已连接")
        fresh = page.locator("#webchat").get_attribute("data-token")
        kept = page.evaluate("() => localStorage.getItem('hotline.webchat.SY.web.token')")
        assert kept == fresh and webchat.verify(entry, kept)
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_widget_on_a_government_site_opens_the_chat(
    browser, live_server, entry, make_user, screenshot_dir
):
    agent = make_user(
        "agent", username="agent_widget", display_name="话务员小周", employee_no="1031"
    )
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    site = Watched(context)
    page = site.page
    try:
        page.goto(f"{live_server.url}/chat/SY/web/demo-site")
        launcher = page.get_by_role("button", name="在线咨询")
        expect(launcher).to_be_visible()
        # the widget lives in its own shadow root: the site's style sheets stay the site's
        assert page.evaluate(
            "() => !!document.querySelector('[data-hotline-webchat]').shadowRoot"
            " && document.styleSheets.length === 1"
        )
        assert page.locator("iframe").count() == 0  # no chat until the citizen asks for it
        launcher.click()
        chat = page.frame_locator(".hlw-frame")
        expect(chat.locator(".wc-conn")).to_have_text("已连接")
        expect(chat.locator(".wc-welcome")).to_contain_text("欢迎")
        chat.locator("textarea").fill("景区门票投诉")
        chat.locator("textarea").press("Enter")  # Enter sends on a desktop
        expect(chat.locator(".wc-row-me .wc-status")).to_contain_text("已发送")
        assert Message.objects.get().body == "景区门票投诉"
        page.screenshot(path=str(screenshot_dir / "webchat-widget-open.png"))

        # the panel stays open across the site's pages
        page.reload()
        chat = page.frame_locator(".hlw-frame")
        expect(chat.locator(".wc-row-me")).to_contain_text("景区门票投诉")

        # closed, the widget shows that a reply came; the reply counts as seen once opened
        page.get_by_role("button", name="收起在线咨询").click()
        expect(page.locator(".hlw-panel")).to_be_hidden()
        services.agent_sign_in(actor=agent)
        session = Session.objects.get(channel="webchat")
        expect(chat.locator(".wc-banner")).to_have_text("1031号客服为您服务")
        reply = services.message_send(
            actor=agent, session=session, body="请提供购票时间和景区名称。"
        )
        expect(page.locator(".hlw-dot")).to_have_text("1")
        page.screenshot(path=str(screenshot_dir / "webchat-widget-closed.png"))
        reply.refresh_from_db()
        assert reply.delivery == "sent"
        page.get_by_role("button", name="在线咨询").click()
        expect(chat.locator(".wc-row-agent").last).to_contain_text("购票时间")
        expect(page.locator(".hlw-dot")).to_be_hidden()
        for _ in range(50):
            reply.refresh_from_db()
            if reply.delivery == "delivered":
                break
            page.wait_for_timeout(100)
        assert reply.delivery == "delivered"

        # the citizen ends the chat: asked to rate it
        chat.get_by_role("button", name="结束咨询").click()
        chat.locator("[data-role=confirm-end]").click()
        expect(chat.locator(".wc-rating")).to_be_visible()
        expect(chat.locator(".wc-notice").last).to_have_text("本次咨询已结束")
        session.refresh_from_db()
        assert session.state == "wrap_up"

        # closed once, closed on the next page
        page.get_by_role("button", name="收起在线咨询").click()
        page.reload()
        expect(page.get_by_role("button", name="在线咨询")).to_be_visible()
        expect(page.locator(".hlw-panel")).to_be_hidden()

        # on a phone the panel takes the screen
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
        )
        try:
            mobile = Watched(phone)
            mobile.page.goto(f"{live_server.url}/chat/SY/web/demo-site")
            mobile.page.get_by_role("button", name="在线咨询").tap()
            expect(mobile.page.frame_locator(".hlw-frame").locator(".wc-conn")).to_have_text(
                "已连接"
            )
            box = mobile.page.locator(".hlw-panel").bounding_box()
            assert box["width"] == 390 and box["height"] == 844
            assert mobile.page.locator(".hlw-frame").bounding_box()["height"] > 700
            mobile.page.screenshot(path=str(screenshot_dir / "webchat-widget-mobile.png"))
            mobile.clean()
        finally:
            phone.close()
        site.clean()
    finally:
        context.close()
