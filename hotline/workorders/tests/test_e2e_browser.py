"""One work order's whole life in a real browser, one role after another.

受理 (agent) → 派单 (dispatcher, 派单台) → 签收 and 办结反馈 (unit handler, 本单位工单 and the
order page) → 办结审核 (dispatcher, 派单台 › 办结待审) → 回访 (callback agent, 回访台) →
自动归档 (the worker's job, run here by calling the service) — and the order page shows the
whole timeline in order.

Drives the Debian chromium through Playwright against pytest-django's ``live_server``, with
the same mechanics as hotline/web/tests/test_browser.py. Every page is watched for
Content-Security-Policy violations and script errors. A 1440×900 screenshot of each role's
step is written to the ``screenshot_dir`` (docs/screenshots with HOTLINE_SCREENSHOTS set).
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hotline.testing import SignedIn
from hotline.workorders import services
from hotline.workorders.models import WorkOrder

from .conftest import category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMELINE = ["受理", "派单", "签收", "办结反馈", "办结审核", "回访", "自动归档"]


class Person(SignedIn):
    """A person of the order's walk: signed in, with the order page's own checks."""

    def __init__(self, browser, base_url: str, user, screenshots):
        super().__init__(browser, base_url, user, screenshots, prefix="e2e-")

    def success(self, text: str):
        expect(self.page.locator(".messages .alert-success")).to_contain_text(text)

    def badge(self, label: str):
        expect(self.page.locator(".order-head .state-badge")).to_have_text(label)


def state_of(number: str) -> str:
    return WorkOrder.objects.get(number=number).state


def test_one_order_walks_through_every_role(browser, live_server, wo, screenshot_dir):
    leaf = category()
    people = []

    def person(user) -> Person:
        people.append(Person(browser, live_server.url, user, screenshot_dir))
        return people[-1]

    try:
        # --- 1. 受理登记: the agent registers the call ----------------------------------------
        agent = person(wo.agent)
        agent.goto("/orders/new/")
        form = agent.page.locator("form.card")
        form.get_by_label("诉求类型").select_option(label="投诉")
        form.locator("select[name=category]").select_option(value=str(leaf.pk))
        form.get_by_label("标题").fill("单位拖欠三个月工资")
        form.get_by_label("诉求内容").fill(
            "来电人反映其所在的建筑公司拖欠三个月工资共计一万二千元，多次讨要未果，"
            "请相关部门核查处理。"
        )
        form.locator("input[name=caller_name]").fill("王先生")
        form.get_by_label("联系电话").fill("13812345678")
        agent.submit(form.get_by_role("button", name="提交"))
        assert "/orders/" in agent.page.url and not agent.page.url.endswith("/new/")
        number = agent.page.locator(".order-number").inner_text().strip()
        assert agent.page.url == f"{live_server.url}/orders/{number}/"
        agent.success(f"受理成功，工单编号 {number}")
        agent.badge("待派单")
        expect(agent.page.locator(".order-head-title")).to_have_text("单位拖欠三个月工资")
        assert state_of(number) == "submitted"
        agent.shoot("1-agent")

        # --- 2. 派单台: the dispatcher sends it to 市人社局 ------------------------------------
        dispatcher = person(wo.dispatcher)
        dispatcher.goto("/dispatch/")
        expect(dispatcher.page.locator(".desk-tab.active")).to_contain_text("待派单")
        row = dispatcher.page.locator("tr", has_text=number)
        expect(row).to_have_count(1)
        row.locator("select[name=unit]").select_option(label=wo.units.a.short_name)
        dispatcher.shoot("2-dispatcher")
        dispatcher.submit(row.get_by_role("button", name="派单"))
        dispatcher.success(f"工单 {number}：已派单。")
        expect(dispatcher.page.locator("tr", has_text=number)).to_have_count(0)
        assert state_of(number) == "dispatched"

        # --- 3. 本单位工单: the unit handler signs, then replies on the order page -------------
        handler = person(wo.handler_a)
        handler.goto("/unit/")
        expect(handler.page.locator(".desk-tab.active")).to_contain_text("待签收")
        row = handler.page.locator("tr", has_text=number)
        expect(row).to_have_count(1)
        handler.submit(row.get_by_role("button", name="签收"))
        handler.success(f"工单 {number}：已签收。")
        assert state_of(number) == "handling"
        handler.goto("/unit/?tab=signed")
        handler.page.locator("tr", has_text=number).get_by_role("link", name="办理答复").click()
        handler.page.wait_for_url(f"**/orders/{number}/**")
        handler.badge("办理中")
        reply = handler.page.locator("details.action-item", has_text="办结反馈")
        # the 办理答复 link (…#reply) opens the reply form by itself
        assert reply.get_attribute("id") == "reply" and reply.evaluate("d => d.open")
        reply.get_by_label("答复内容").fill(
            "经核查，该公司确有拖欠工资情况，我局已下达限期整改指令书，公司承诺本周内足额支付。"
        )
        handler.submit(reply.get_by_role("button", name="办结反馈"))
        handler.success("办结反馈成功")
        handler.badge("办结待审")
        expect(handler.page.locator(".branch-table")).to_contain_text("已答复")
        assert state_of(number) == "replied"
        handler.shoot("3-unit")

        # --- 4. 派单台 › 办结待审: the dispatcher approves the reply ----------------------------
        dispatcher.goto("/dispatch/?tab=replied")
        expect(dispatcher.page.locator(".desk-tab.active")).to_contain_text("办结待审")
        row = dispatcher.page.locator("tr", has_text=number)
        expect(row.locator(".desk-reply-text")).to_contain_text("限期整改指令书")
        dispatcher.shoot("4-review")
        dispatcher.submit(row.get_by_role("button", name="通过，转回访"))
        dispatcher.success(f"工单 {number}：办结已审核。")
        assert state_of(number) == "callback_pending"

        # --- 5. 回访台: the callback agent records 满意 -----------------------------------------
        callback = person(wo.callback)
        callback.goto("/callbacks/")
        card = callback.page.locator("article.callback-card", has_text=number)
        expect(card).to_have_count(1)
        expect(card.locator(".callback-answer-text")).to_contain_text("限期整改指令书")
        card.locator("label.btn", has_text=re.compile(r"^满意$")).click()
        expect(card.locator("input[name=satisfaction][value=满意]")).to_be_checked()
        card.get_by_label("回访记录").fill("市民表示工资已到账，对处理结果满意。")
        callback.shoot("5-callback")
        callback.submit(card.get_by_role("button", name="提交回访"))
        callback.success(f"工单 {number}：已回访。")
        assert state_of(number) == "completed"
        callback.goto(f"/orders/{number}/")
        callback.badge("已办结")

        # --- 6. 自动归档 (the worker's job), then the whole story on the order page -------------
        assert services.auto_archive(now=timezone.now() + timezone.timedelta(hours=25)) == 1
        dispatcher.goto(f"/orders/{number}/")
        dispatcher.badge("已归档")
        labels = [
            text.strip()
            for text in dispatcher.page.locator(
                ".timeline .timeline-item .timeline-body > div:first-child .fw-semibold"
            ).all_inner_texts()
        ]
        assert labels == TIMELINE, labels
        expect(dispatcher.page.locator(".order-info")).to_contain_text("满意")
        timeline = dispatcher.page.locator(".card", has=dispatcher.page.locator(".timeline"))
        timeline.evaluate("card => card.scrollIntoView({behavior: 'instant'})")
        dispatcher.shoot("6-archived")

        for someone in people:
            someone.clean()
    finally:
        for someone in people:
            someone.close()
