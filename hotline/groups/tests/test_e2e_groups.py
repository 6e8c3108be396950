"""群组交互 end to end, in three browsers at once: an agent creates a group, invites a
handling-unit staff member and — by the link — a citizen on a phone; the three talk live.
Every page is watched for CSP violations and script errors; screenshots go to
``screenshot_dir`` (prefix ``groups-``)."""

import pytest
from playwright.sync_api import expect

from hotline.groups.models import ChatGroup
from hotline.testing import SignedIn, Visitor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_an_agent_a_unit_and_a_citizen_talk_in_a_group(
    browser, live_server, screenshot_dir, people, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    agent = SignedIn(browser, live_server.url, people.agent, screenshot_dir, prefix="groups-agent-")
    handler = SignedIn(
        browser, live_server.url, people.handler, screenshot_dir, prefix="groups-unit-"
    )
    citizen = Visitor(
        browser, live_server.url, screenshot_dir, prefix="groups-citizen-", viewport=PHONE
    )
    operator = SignedIn(
        browser, live_server.url, people.operator, screenshot_dir, prefix="groups-operator-"
    )
    everyone = (agent, handler, citizen, operator)
    try:
        # --- the agent creates the group -----------------------------------------------
        page = agent.page
        agent.goto("/groups/")
        expect(page.locator(".nav-item.active")).to_have_text("群组交互")
        page.fill("input[name=name]", "台风天气供水协调群")
        page.fill("textarea[name=topic]", "市区停水的答复口径与恢复时间，请各单位及时通报")
        agent.submit(page.get_by_role("button", name="创建群组"))
        group = ChatGroup.objects.get(name="台风天气供水协调群")
        assert page.url.endswith(f"/groups/{group.pk}/")
        expect(page.locator(".gc-conn")).to_have_text("已连接")

        # --- invites the unit's staff member, and makes a link for citizens ----------------
        page.select_option("#gc-invite-user", label="人社局王芳（handler_gc）")
        agent.submit(page.get_by_role("button", name="邀请"))
        expect(page.locator("#gc-members")).to_contain_text("人社局王芳")
        agent.submit(page.get_by_role("button", name="生成链接"))
        link = page.locator("#gc-invite-url").inner_text()
        assert "/g/" in link

        # --- the handler opens the group from the menu -------------------------------------
        handler.goto("/groups/")
        handler.page.get_by_role("link", name="台风天气供水协调群").click()
        expect(handler.page.locator(".gc-conn")).to_have_text("已连接")

        # --- the citizen opens the link on a phone and joins with a nickname --------------
        citizen.goto(link.removeprefix(live_server.url))
        expect(citizen.page.locator("h1")).to_have_text("邀请您加入群组讨论")
        citizen.page.fill("input[name=nickname]", "王女士")
        citizen.shoot("1-join")
        citizen.submit(citizen.page.get_by_role("button", name="加入群组"))
        expect(citizen.page.locator(".gc-conn")).to_have_text("已连接")
        # the agent's member list follows live
        expect(page.locator("#gc-members")).to_contain_text("王女士")
        expect(page.locator(".gc-notice").last).to_contain_text("王女士 加入了群组")

        # --- the three talk -------------------------------------------------------------
        page.fill("textarea[data-role=input]", "各位好，市区今晚 8 点恢复供水，请按此口径答复。")
        page.press("textarea[data-role=input]", "Enter")
        for other in (handler, citizen):
            expect(other.page.locator(".gc-row-other").last).to_contain_text("今晚 8 点恢复供水")
        expect(citizen.page.locator(".gc-row-other .gc-sender").last).to_have_text("1001号客服")

        handler.page.fill("textarea[data-role=input]", "收到。停水期间社保业务大厅照常办理。")
        handler.page.press("textarea[data-role=input]", "Enter")
        expect(page.locator(".gc-row-other").last).to_contain_text("社保业务大厅照常办理")
        expect(citizen.page.locator(".gc-row-other").last).to_contain_text("社保业务大厅照常办理")
        expect(citizen.page.locator(".gc-row-other .gc-sender").last).to_have_text(
            "市人社局工作人员"
        )

        citizen.page.fill("textarea[data-role=input]", "谢谢！请问我们小区也是今晚恢复吗？")
        citizen.page.get_by_role("button", name="发送", exact=True).click()
        expect(page.locator(".gc-row-other").last).to_contain_text("小区也是今晚恢复吗")
        expect(page.locator(".gc-row-other .gc-sender").last).to_contain_text("王女士")
        expect(handler.page.locator(".gc-row-other").last).to_contain_text("小区也是今晚恢复吗")
        expect(citizen.page.locator(".gc-row-me .gc-status").last).to_have_text("")

        agent.shoot("1-chat")
        handler.shoot("1-chat")
        citizen.shoot("2-chat")

        # --- the owner mutes the citizen: the citizen's page says so at once ---------------
        page.on("dialog", lambda dialog: dialog.accept())
        row = page.locator(".gc-member", has_text="王女士")
        agent.submit(row.get_by_role("button", name="禁言"))
        expect(citizen.page.locator("[data-role=readonly]")).to_have_text(
            "您已被禁言，暂时不能发言"
        )
        expect(page.locator(".gc-member", has_text="王女士")).to_contain_text("已禁言")
        citizen.shoot("3-muted")

        # --- the operator sees every group ----------------------------------------------
        operator.goto("/groups/manage/")
        expect(operator.page.locator("tbody tr")).to_contain_text("台风天气供水协调群")
        operator.shoot("1-manage")
        for person in everyone:
            person.clean()
    finally:
        for person in everyone:
            person.close()
