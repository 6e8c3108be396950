"""班长席 in a real browser (1440×900): a team leader watches an agent sign in and turn
示闲 live on the grid, forces the agent 示忙, is told in Chinese why a colleague in a chat
cannot be signed out, monitors that chat, barges in and writes to the citizen, releases
it, and publishes an announcement. The page is watched for CSP violations and script
errors; screenshots go to ``screenshot_dir``."""

import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hotline.contact import services
from hotline.contact.connectors import Inbound
from hotline.contact.models import AgentPresence, Announcement, Message, Session
from hotline.core.models import Team
from hotline.testing import SignedIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(cc, make_user):
    team = Team.objects.create(platform=cc.platform, name="早班一组", leader=cc.leader)
    newcomer = make_user(
        "agent", username="agent_lin", display_name="话务员林晓", employee_no="1001", team=team
    )
    chatting = make_user(
        "agent", username="agent_he", display_name="话务员何文", employee_no="1002", team=team
    )
    entry = services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="webchat",
        code="web",
        name="网页在线咨询",
        queue=cc.general,
    )
    services.agent_sign_in(actor=chatting)
    message = services.inbound_receive(
        entry=entry, inbound=Inbound(address="c" * 32, body="请问社保卡丢了怎么补办？")
    )
    session = Session.objects.get(pk=message.session_id)
    assert session.agent_id == chatting.pk
    return {"newcomer": newcomer, "chatting": chatting, "session": session, "entry": entry}


def tile(page, name):
    return page.locator(".floor-tile", has_text=name)


def test_a_leader_watches_forces_barges_in_releases_and_announces(
    browser, live_server, screenshot_dir, cc, scene
):
    leader = SignedIn(browser, live_server.url, cc.leader, screenshot_dir, prefix="floor-")
    page = leader.page
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of 签出, 强拆
    frames = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(data)))
    try:
        leader.goto("/floor/")
        expect(page.locator("#floor-live")).to_have_text("实时")
        newcomer = tile(page, "话务员林晓")
        expect(newcomer.locator(".ft-label")).to_have_text("签出")
        expect(tile(page, "话务员何文").locator(".ft-label")).to_have_text("会话中")
        expect(tile(page, "话务员何文").locator(".ft-channel")).to_have_count(1)

        # the agent signs in on the workbench: the tile turns 示闲 over the socket
        services.agent_sign_in(actor=scene["newcomer"])
        expect(newcomer.locator(".ft-label")).to_have_text("示闲", timeout=5000)
        expect(newcomer).to_have_class(re.compile(r"\bft-ready\b"))
        pushed = [json.loads(f) for f in frames if isinstance(f, str) and '"agent"' in f]
        assert any(
            e.get("event") == "agent"
            and e.get("agent") == scene["newcomer"].pk
            and e["state"] == "示闲"
            for e in pushed
        ), "the 示闲 came over the socket, not by the periodic refresh"
        leader.shoot("live")

        # 强制示忙
        newcomer.click()
        expect(page.locator("#floor-side-name")).to_have_text("话务员林晓")
        page.get_by_role("button", name="强制示忙").click()
        expect(newcomer.locator(".ft-label")).to_have_text("班长强制示忙")
        expect(page.locator("#floor-agent-state")).to_have_text("班长强制示忙")
        assert AgentPresence.objects.get(agent=scene["newcomer"]).reason == "forced"
        leader.shoot("forced")

        # 强制签出 of an agent in a chat: refused, and said why
        tile(page, "话务员何文").click()
        page.get_by_role("button", name="强制签出").click()
        expect(page.locator("#floor-alert")).to_contain_text("不能签出")
        assert AgentPresence.objects.get(agent=scene["chatting"]).presence == "ready"

        # monitor the chat, barge in, write to the citizen
        page.locator(".floor-session-watch").first.click()
        transcript = page.locator("#floor-transcript")
        expect(transcript).to_contain_text("请问社保卡丢了怎么补办？")
        page.get_by_role("button", name="强插").click()
        expect(transcript).to_contain_text("值班长已加入本次会话")
        page.fill("#floor-message", "您好，我是值班长，补办社保卡请带身份证到社保窗口。")
        page.locator("#floor-composer button[type=submit]").click()
        expect(transcript).to_contain_text("补办社保卡请带身份证")
        said = Message.objects.get(session=scene["session"], sender=cc.leader)
        assert said.direction == "out"
        # delivered to the citizen's socket after commit: the text can show first
        for _ in range(50):
            said.refresh_from_db()
            if said.delivery in ("sent", "delivered"):
                break
            page.wait_for_timeout(100)
        assert said.delivery in ("sent", "delivered")
        # the citizen's words arrive live in the transcript
        services.inbound_receive(
            entry=scene["entry"],
            inbound=Inbound(address="c" * 32, body="好的，谢谢值班长"),
        )
        expect(transcript).to_contain_text("好的，谢谢值班长")
        expect(tile(page, "话务员何文").locator(".ft-channel.is-barged")).to_have_count(1)
        leader.shoot("barge")

        # 强拆: the citizen is told, the agent's place is freed
        page.get_by_role("button", name="强拆").click()
        expect(transcript).to_contain_text("本次会话已结束")
        expect(page.locator("#floor-watch-meta")).to_contain_text("整理中")
        scene["session"].refresh_from_db()
        assert scene["session"].end_reason == "released"
        assert AgentPresence.objects.get(agent=scene["chatting"]).active_text == 0

        # 公告 to the team
        page.fill("#notice-title", "17:30 班组例会")
        page.fill("#notice-body", "请早班一组全体坐席 17:30 到三楼会议室参加例会。")
        page.select_option("#notice-level", "warning")
        page.select_option("#notice-audience", "team")
        page.select_option("#notice-team", label="早班一组")
        page.get_by_role("button", name="发布公告").click()
        notice = page.locator(".floor-notice", has_text="17:30 班组例会")
        expect(notice).to_contain_text("生效中")
        expect(notice).to_contain_text("班组：早班一组")
        made = Announcement.objects.get(title="17:30 班组例会")
        assert made.audience == "team" and made.ends_at > timezone.now()
        notice.scroll_into_view_if_needed()
        leader.shoot("announcement")

        # a refused request is logged by the browser as a failed resource: expected here
        leader.errors = [e for e in leader.errors if "status of 409" not in e]
        leader.clean()
    finally:
        leader.close()


def test_a_dead_letter_shows_on_the_floor_live_and_is_sent_again(
    browser, live_server, screenshot_dir, cc, scene, monkeypatch
):
    from hotline.contact import connectors
    from hotline.contact.connectors.base import RETRY_DELAYS, Connector, DeliveryError

    class Gateway(Connector):
        channel, label, up, sent = "sms", "短信", False, []

        def send(self, message):
            if not self.up:
                raise DeliveryError("短信网关无响应")
            self.sent.append(message.body)
            return "gw-1"

    gateway = Gateway()
    monkeypatch.setitem(connectors.REGISTRY, "sms", gateway)
    agent = scene["chatting"]
    services.agent_settings_update(actor=agent, text_capacity=5)
    session = services.contact_arrive(
        platform=cc.platform, channel="sms", address="13900001111", queue=cc.general
    )
    session.refresh_from_db()
    assert session.agent_id == agent.pk

    leader = SignedIn(browser, live_server.url, cc.leader, screenshot_dir, prefix="floor-")
    page = leader.page
    try:
        leader.goto("/floor/")
        expect(page.locator("#floor-live")).to_have_text("实时")
        expect(page.locator("#floor-dead")).to_be_hidden()
        message = services.message_send(actor=agent, session=session, body="您的诉求已受理")
        for _ in range(len(RETRY_DELAYS) + 1):  # the worker's attempts, all failing
            message.refresh_from_db()
            if message.delivery in ("pending", "retrying"):  # (immediate tasks: done already)
                gateway.attempt(message)
        message.refresh_from_db()
        assert message.delivery == "dead"
        row = page.locator("#floor-dead-rows tr")
        expect(row).to_have_count(1)  # arrived live, without a reload
        expect(row).to_contain_text("您的诉求已受理")
        expect(row).to_contain_text("短信网关无响应")
        expect(row).to_contain_text("139****1111")
        leader.shoot("dead-letter")
        gateway.up = True
        row.get_by_role("button", name="重新投递").click()
        expect(page.locator("#floor-dead")).to_be_hidden()
        message.refresh_from_db()
        assert message.delivery == "sent" and gateway.sent == ["您的诉求已受理"]

        # 渠道接入: the doors of the platform and the addresses their services call
        leader.goto("/floor/channels/")
        expect(page.locator(".entry-table")).to_contain_text("网页在线咨询")
        expect(page.locator(".entry-table")).to_contain_text(f"/chat/{cc.platform.code}/web/")
        leader.shoot("channel-entries")
        page.get_by_role("link", name="微信").click()
        expect(page.locator("h1")).to_contain_text("新建微信接入")
        expect(page.locator("label", has_text="AppSecret")).to_be_visible()
        page.fill("#id_code", "wx")
        page.fill("#id_name", "三亚12345公众号")
        page.get_by_role("button", name="保存").click()
        expect(page.locator(".invalid-feedback").first).to_be_visible()  # AppID etc. missing
        leader.shoot("channel-entry-wechat")
        leader.clean()
    finally:
        leader.close()
