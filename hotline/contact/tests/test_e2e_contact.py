"""The contact center end to end, in three browsers at once (issue 5's "done when"):

a citizen writes through the web-chat widget on a government site → the agent accepts
the chat in the workbench and sees the citizen's profile pop → searches the knowledge
base and answers with an article → makes an order from the session → ends the chat and
writes the summary → the citizen rates — while the team leader watches it all live on
the supervisor seat. Every page is watched for CSP violations and script errors;
screenshots go to ``screenshot_dir`` (prefix ``e2e-``).
"""

import json
import re

import pytest
from playwright.sync_api import expect

from hotline.contact import services
from hotline.contact.models import ContactFact, Session
from hotline.core.models import Team
from hotline.knowledge.demo import load_articles
from hotline.testing import SignedIn, Visitor
from hotline.workorders.models import WorkOrder
from hotline.workorders.tests.conftest import category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION = "你好，我在三亚买了房，想提取住房公积金，需要带什么材料？"


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def hotline(cc, make_user):
    team = Team.objects.create(platform=cc.platform, name="早班一组", leader=cc.leader)
    agent = make_user(
        "agent", username="agent_e2e", display_name="话务员韩晓燕", employee_no="1001", team=team
    )
    services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="webchat",
        code="web",
        name="网页在线咨询",
        queue=cc.general,
    )
    load_articles(platform=cc.platform)
    category()  # the intake form lists it (a transactional flush may have emptied the tree)
    # manual accept: the agent answers with 接起
    services.agent_settings_update(actor=agent, auto_accept=False)
    return agent


def floor_events(frames: list, session_id: int) -> list[str]:
    """The fact kinds of this session that reached the supervisor's socket."""
    kinds = []
    for frame in frames:
        try:
            data = json.loads(frame)
        except (TypeError, ValueError):
            continue
        if data.get("event") == "fact" and data.get("session") == session_id:
            kinds.append(data["kind"])
    return kinds


def test_a_web_chat_from_the_citizen_to_an_order_watched_live_by_the_leader(
    browser, live_server, screenshot_dir, cc, hotline, _media
):
    agent_user = hotline
    leader = SignedIn(browser, live_server.url, cc.leader, screenshot_dir, prefix="e2e-leader-")
    agent = SignedIn(browser, live_server.url, agent_user, screenshot_dir, prefix="e2e-agent-")
    citizen = Visitor(browser, live_server.url, screenshot_dir, prefix="e2e-citizen-")
    people = (leader, agent, citizen)
    agent.page.on("dialog", lambda dialog: dialog.accept())  # 结束会话 asks first
    frames: list = []
    leader.page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(data)))
    try:
        # --- the leader's seat and the agent's workbench open; the agent signs in -------------
        leader.goto("/floor/")
        expect(leader.page.locator("#floor-live")).to_have_text("实时")
        tile = leader.page.locator(".floor-tile", has_text="话务员韩晓燕")
        expect(tile.locator(".ft-label")).to_have_text("签出")

        desk = agent.page
        agent.goto("/desk/")
        expect(desk.locator("#cd-link")).to_have_attribute("data-link", "ok")
        desk.click("[data-state-event=sign_in]")
        expect(desk.locator("#cd-state-label")).to_have_text("示闲")
        expect(tile.locator(".ft-label")).to_have_text("示闲")  # live on the leader's grid

        # --- the citizen writes through the widget on a government site ----------------------
        citizen.goto("/chat/SY/web/demo-site")
        citizen.page.get_by_role("button", name="在线咨询").click()
        chat = citizen.page.frame_locator(".hlw-frame")
        expect(chat.locator(".wc-conn")).to_have_text("已连接")
        chat.locator("textarea").fill(QUESTION)
        chat.locator("textarea").press("Enter")
        expect(chat.locator(".wc-row-me .wc-status")).to_contain_text("已发送")
        session = Session.objects.get(channel="webchat")
        citizen.shoot("1-asked")

        # --- the agent is offered the chat, accepts it, and sees the profile pop --------------
        tab = desk.locator(".cd-tab")
        expect(tab).to_have_count(1)
        expect(tab).to_contain_text("分配中")
        expect(tile.locator(".ft-label")).to_have_text("分配中")
        desk.click("#cd-accept")
        expect(desk.locator("#cd-state-label")).to_have_text("会话中")
        expect(desk.locator(".cd-msg-in").last).to_contain_text("提取住房公积金")
        expect(desk.locator("#cd-profile")).to_contain_text("首次来电")
        expect(tile.locator(".ft-label")).to_have_text("会话中")
        expect(tile.locator(".ft-channel")).to_have_count(1)
        expect(chat.locator(".wc-banner")).to_have_text("1001号客服为您服务")

        # --- the knowledge base gives the answer; it goes to the citizen ----------------------
        desk.click("#cd-tab-kb")
        desk.fill("#cd-kb-q", "公积金 提取")
        desk.locator("#cd-kb-form button[type=submit]").click()
        first = desk.locator(".cd-kb-item").first
        expect(first).to_contain_text("公积金")
        first.get_by_role("button", name="插入答复").click()
        expect(desk.locator("#cd-input")).not_to_have_value("")
        agent.shoot("1-answer-from-kb")
        desk.locator("#cd-input").press("Enter")
        reply = desk.locator(".cd-msg-out").last
        expect(reply.locator(".cd-delivery")).to_have_text("已送达")  # the citizen's page confirmed
        answer = chat.locator(".wc-row-agent").last
        expect(answer.locator(".wc-sender")).to_have_text("1001号客服")
        expect(answer).to_contain_text("公积金")
        citizen.shoot("2-answered")

        # --- the leader monitors the chat live ----------------------------------------------
        tile.click()
        leader.page.locator(".floor-session-watch").first.click()
        transcript = leader.page.locator("#floor-transcript")
        expect(transcript).to_contain_text("提取住房公积金")
        chat.locator("textarea").fill("好的，还想登记一下：小区电梯经常坏，能派人看看吗？")
        chat.locator("textarea").press("Enter")
        expect(transcript).to_contain_text("小区电梯经常坏")  # live, as the citizen writes
        expect(desk.locator(".cd-msg-in").last).to_contain_text("小区电梯经常坏")
        leader.shoot("1-watching")

        # --- an order is made from the session, pre-filled --------------------------------
        with agent.context.expect_page() as opened:
            desk.click("#cd-order")
        intake = opened.value
        intake.wait_for_load_state()
        assert f"/orders/new/?session={session.pk}" in intake.url
        form = intake.locator("form.card")
        expect(form.locator("select[name=channel]")).to_have_value("web")
        expect(form.get_by_label("诉求内容")).to_have_value(re.compile("小区电梯经常坏"))
        expect(intake.get_by_text(f"来源会话 {session.ref}")).to_be_visible()
        form.get_by_label("诉求类型").select_option(label="求助")
        form.locator("select[name=category]").select_option(value=str(category().pk))
        form.get_by_label("标题").fill("小区电梯经常故障")
        form.locator("input[name=caller_name]").fill("黄先生")
        form.get_by_label("联系电话").fill("13812345678")
        with intake.expect_navigation():
            form.get_by_role("button", name="提交").click()
        order = WorkOrder.objects.get()
        assert order.session_ref == session.ref and intake.url.endswith(f"/orders/{order.number}/")
        intake.screenshot(path=str(screenshot_dir / "e2e-agent-2-order.png"))
        intake.close()

        # --- the agent ends the chat; the citizen is asked to rate ----------------------------
        desk.click("#cd-end")
        expect(desk.locator("#cd-wrap")).to_be_visible()
        rating = chat.locator(".wc-rating")
        expect(rating).to_be_visible()
        citizen.shoot("3-rating")
        desk.locator("#cd-summary").fill(
            f"来电人咨询购房提取公积金所需材料，已按知识库答复；电梯故障已登记工单 {order.number}。"
        )
        agent.shoot("3-summary")
        desk.click("#cd-close")
        expect(tab).to_have_count(0)
        rating.get_by_role("button", name="满意", exact=True).click()
        expect(chat.locator(".wc-thanks")).to_contain_text("感谢您的评价（满意）")
        citizen.shoot("4-thanks")

        session.refresh_from_db()
        assert session.state == "closed" and session.satisfaction == "满意"
        assert "已登记工单" in session.summary and session.agent == agent_user
        expect(tile.locator(".ft-label")).not_to_have_text("会话中")
        expect(tile.locator(".ft-answered")).to_have_text("接通 1")
        leader.shoot("2-after")

        # the leader's socket saw every step of the contact as it happened
        kinds = floor_events(frames, session.pk)
        for kind in ("offered", "queued", "assigned", "answered", "ended", "closed"):
            assert kind in kinds, (kind, kinds)
        stored = list(
            ContactFact.objects.filter(session_id=session.pk).values_list("kind", flat=True)
        )
        # in order, none missing (watching the session too, the leader hears some twice)
        assert list(dict.fromkeys(kinds)) == stored

        for person in people:
            person.clean()
    finally:
        for person in people:
            person.close()
