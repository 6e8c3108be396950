"""The work queues: 派单台, 本单位工单, 回访台, their quick actions and home panels."""

import pytest

from hotline.workorders import panels
from hotline.workorders.lifecycle import State
from hotline.workorders.models import Event, WorkOrder

REASON = "该事项属于区级权限，请改派崖州区处理。"


def body(response) -> str:
    return response.content.decode()


def reread(order) -> WorkOrder:
    return WorkOrder.objects.get(pk=order.pk)


@pytest.fixture
def dispatched(new_order, act, wo):
    """An order dispatched to unit A (lead) — waiting for A's signature."""
    return act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)


# --- who may open which desk ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("/dispatch/", "dispatcher", "agent"),
        ("/unit/", "handler_a", "dispatcher"),
        ("/callbacks/", "callback", "handler_a"),
    ],
)
def test_each_desk_opens_for_its_role_only(wo, login, url, allowed, refused):
    assert login(getattr(wo, allowed)).get(url).status_code == 200
    response = login(getattr(wo, refused)).get(url)
    assert response.status_code == 403
    assert "权限" in body(response)


def test_unknown_tab_is_a_chinese_404(wo, login):
    response = login(wo.dispatcher).get("/dispatch/?tab=nothing")
    assert response.status_code == 404
    assert "页面不存在" in body(response)


def test_every_tab_renders(wo, login, dispatched):
    dispatcher, handler, callback = login(wo.dispatcher), login(wo.handler_a), login(wo.callback)
    for tab in ("submitted", "returns", "extensions", "replied", "escalated"):
        assert dispatcher.get(f"/dispatch/?tab={tab}").status_code == 200, tab
    for tab in ("pending", "signed", "soon", "overdue", "returned", "replied"):
        assert handler.get(f"/unit/?tab={tab}").status_code == 200, tab
    for tab in ("pending", "unsatisfied"):
        assert callback.get(f"/callbacks/?tab={tab}").status_code == 200, tab


# --- 派单台 -----------------------------------------------------------------------------------


def test_dispatch_through_the_desk(wo, login, new_order):
    order = new_order()
    client = login(wo.dispatcher)
    page = body(client.get("/dispatch/"))
    assert order.number in page
    assert f'href="/orders/{order.number}/"' in page
    assert wo.units.a.short_name in page  # the unit select

    response = client.post(
        f"/desk/{order.number}/dispatch/",
        {"unit": wo.units.a.pk, "co_units": [wo.units.b.pk], "tab": "submitted"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dispatch/?tab=submitted"
    order = reread(order)
    assert order.state == State.DISPATCHED
    assert order.lead_unit == wo.units.a
    assert sorted((b.unit_id, b.lead) for b in order.assignments.all()) == sorted(
        [(wo.units.a.pk, True), (wo.units.b.pk, False)]
    )
    assert f'href="/orders/{order.number}/"' not in body(client.get("/dispatch/"))


def test_dispatch_refusals_are_chinese_4xx_and_change_nothing(wo, login, new_order):
    order = new_order()
    client = login(wo.dispatcher)
    response = client.post(f"/desk/{order.number}/dispatch/", {"unit": ""})
    assert response.status_code == 422
    assert "请选择承办单位" in body(response)
    response = client.post(f"/desk/{order.number}/dispatch/", {"unit": "999999"})
    assert response.status_code == 422
    assert "不存在" in body(response)
    response = client.post(
        f"/desk/{order.number}/dispatch/", {"unit": wo.units.a.pk, "co_units": [wo.units.a.pk]}
    )
    assert response.status_code == 422
    assert "不能重复" in body(response)
    response = client.post(f"/desk/{order.number}/explode/", {})
    assert response.status_code == 404
    assert "页面不存在" in body(response)
    assert reread(order).state == State.SUBMITTED
    assert not Event.objects.filter(order=order).exclude(action="create").exists()


def test_dispatching_twice_is_a_conflict(wo, login, dispatched):
    response = login(wo.dispatcher).post(
        f"/desk/{dispatched.number}/dispatch/", {"unit": wo.units.b.pk}
    )
    assert response.status_code == 409
    assert "不能派单" in body(response)
    assert reread(dispatched).lead_unit == wo.units.a


def test_desk_action_needs_the_verbs_permission(wo, login, new_order):
    order = new_order()
    response = login(wo.agent).post(f"/desk/{order.number}/dispatch/", {"unit": wo.units.a.pk})
    assert response.status_code == 403
    assert reread(order).state == State.SUBMITTED


def test_review_return_through_the_desk(wo, login, act, dispatched):
    order = act(wo.handler_a, dispatched, "sign")
    order = act(wo.handler_a, order, "return", reason=REASON)
    client = login(wo.dispatcher)
    page = body(client.get("/dispatch/?tab=returns"))
    assert order.number in page and REASON in page

    # not reasonable: back to the unit, where it was (signed → handling)
    response = client.post(
        f"/desk/{order.number}/review-return/",
        {"unit": wo.units.a.pk, "approved": "no", "note": "属本单位职责", "tab": "returns"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dispatch/?tab=returns"
    assert reread(order).state == State.HANDLING

    # reasonable: back to dispatch
    order = act(wo.handler_a, order, "return", reason=REASON)
    client.post(f"/desk/{order.number}/review-return/", {"unit": wo.units.a.pk, "approved": "yes"})
    order = reread(order)
    assert order.state == State.SUBMITTED and order.lead_unit is None


def test_review_without_a_verdict_is_refused(wo, login, act, dispatched):
    order = act(wo.handler_a, dispatched, "return", reason=REASON)
    response = login(wo.dispatcher).post(
        f"/desk/{order.number}/review-return/", {"unit": wo.units.a.pk}
    )
    assert response.status_code == 422
    assert "审核结论" in body(response)
    assert reread(order).state == State.RETURN_PENDING


def test_review_extension_through_the_desk(wo, login, act, dispatched):
    order = act(wo.handler_a, dispatched, "sign")
    before = order.handle_due
    act(wo.handler_a, order, "request-extension", days=3, reason="需现场勘验")
    client = login(wo.dispatcher)
    page = body(client.get("/dispatch/?tab=extensions"))
    assert order.number in page and "需现场勘验" in page
    response = client.post(
        f"/desk/{order.number}/review-extension/",
        {"unit": wo.units.a.pk, "approved": "yes", "tab": "extensions"},
    )
    assert response.status_code == 302
    order = reread(order)
    assert order.handle_due > before
    branch = order.assignments.get(unit=wo.units.a)
    assert branch.extension_days is None
    assert f'href="/orders/{order.number}/"' not in body(client.get("/dispatch/?tab=extensions"))


def test_review_reply_through_the_desk(wo, login, drive, new_order):
    order = drive(new_order(), State.REPLIED)
    client = login(wo.dispatcher)
    page = body(client.get("/dispatch/?tab=replied"))
    assert "已责令用人单位限期支付。" in page  # the lead's reply is shown

    response = client.post(f"/desk/{order.number}/review-reply/", {"approved": "no"})
    assert response.status_code == 422
    assert "审核意见" in body(response)
    assert reread(order).state == State.REPLIED

    client.post(f"/desk/{order.number}/review-reply/", {"approved": "no", "note": "答复不完整"})
    assert reread(order).state == State.HANDLING

    order = drive(reread(order), State.REPLIED)
    client.post(f"/desk/{order.number}/review-reply/", {"approved": "yes"})
    assert reread(order).state == State.CALLBACK_PENDING


def test_escalated_orders_are_listed(wo, login, act, new_order):
    order = act(wo.agent, new_order(title="噪音扰民反复投诉"), "escalate", note="市民情绪激动")
    page = body(login(wo.dispatcher).get("/dispatch/?tab=escalated"))
    assert order.number in page and "噪音扰民反复投诉" in page


# --- 本单位工单 ------------------------------------------------------------------------------


def test_unit_portal_shows_own_unit_only(wo, login, act, new_order):
    mine = act(wo.dispatcher, new_order(title="本单位的工单"), "dispatch", unit=wo.units.a)
    theirs = act(wo.dispatcher, new_order(title="住建局的工单"), "dispatch", unit=wo.units.b)
    shared = act(
        wo.dispatcher,
        new_order(title="协办的工单"),
        "dispatch",
        unit=wo.units.b,
        co_units=[wo.units.a],
    )
    client = login(wo.handler_a)
    for tab in ("pending", "signed", "soon", "overdue", "returned", "replied"):
        page = body(client.get(f"/unit/?tab={tab}"))
        assert theirs.number not in page, tab
        assert "住建局的工单" not in page, tab
    page = body(client.get("/unit/"))
    assert mine.number in page and shared.number in page
    assert f'href="/orders/{mine.number}/"' in page

    # and no quick action reaches another unit's order
    response = client.post(f"/desk/{theirs.number}/sign/", {})
    assert response.status_code == 404
    assert reread(theirs).state == State.DISPATCHED


def test_quick_sign(wo, login, dispatched):
    client = login(wo.handler_a)
    response = client.post(f"/desk/{dispatched.number}/sign/", {"tab": "pending"})
    assert response.status_code == 302
    assert response["Location"] == "/unit/?tab=pending"
    assert reread(dispatched).state == State.HANDLING
    page = body(client.get("/unit/?tab=signed"))
    assert dispatched.number in page and "办理答复" in page

    response = client.post(f"/desk/{dispatched.number}/sign/", {})
    assert response.status_code == 409
    assert "已签收" in body(response)


def test_overdue_and_returned_tabs(wo, login, act, dispatched):
    import datetime as dt

    from hotline.workorders.models import Assignment

    Assignment.objects.filter(order=dispatched).update(
        handle_due=dispatched.created_at - dt.timedelta(hours=1)
    )
    client = login(wo.handler_a)
    assert dispatched.number in body(client.get("/unit/?tab=overdue"))
    act(wo.handler_a, dispatched, "return", reason=REASON)
    page = body(client.get("/unit/?tab=returned"))
    assert dispatched.number in page and REASON in page


# --- 回访台 ----------------------------------------------------------------------------------


def test_callback_satisfied_completes(wo, login, drive, new_order):
    order = drive(new_order(), State.CALLBACK_PENDING)
    client = login(wo.callback)
    page = body(client.get("/callbacks/"))
    assert order.number in page
    assert "138****5678" in page and "13812345678" not in page
    assert "已责令用人单位限期支付。" in page  # the answer
    assert '今日已回访 <strong class="tnum">0</strong> 单' in page

    response = client.post(f"/desk/{order.number}/callback/", {"satisfaction": "满意"})
    assert response.status_code == 302
    order = reread(order)
    assert order.state == State.COMPLETED and order.satisfaction == "满意"
    assert '今日已回访 <strong class="tnum">1</strong> 单' in body(client.get("/callbacks/"))


def test_callback_unsatisfied_then_reopen(wo, login, drive, new_order):
    order = drive(new_order(), State.CALLBACK_PENDING)
    login(wo.callback).post(
        f"/desk/{order.number}/callback/", {"satisfaction": "不满意", "note": "问题未解决"}
    )
    assert reread(order).state == State.UNSATISFIED

    # the callback agent sees it but may not re-open (needs workorders.review)
    page = body(login(wo.callback).get("/callbacks/?tab=unsatisfied"))
    assert order.number in page and "复核重办或结案须由" in page
    response = login(wo.callback).post(f"/desk/{order.number}/reopen/", {})
    assert response.status_code == 403

    leader = login(wo.leader)
    assert "复核重办" in body(leader.get("/callbacks/?tab=unsatisfied"))
    response = leader.post(f"/desk/{order.number}/reopen/", {"tab": "unsatisfied"})
    assert response.status_code == 302
    order = reread(order)
    assert order.state == State.DISPATCHED and order.reopen_count == 1


def test_close_unsatisfied_needs_a_reason(wo, login, drive, new_order):
    order = drive(new_order(), State.UNSATISFIED)
    leader = login(wo.leader)
    response = leader.post(f"/desk/{order.number}/close/", {"reason": " "})
    assert response.status_code == 422
    assert "结案理由" in body(response)
    assert reread(order).state == State.UNSATISFIED
    leader.post(f"/desk/{order.number}/close/", {"reason": "已向市民解释政策"})
    assert reread(order).state == State.COMPLETED


@pytest.mark.parametrize("satisfaction", ["", "还行"])
def test_callback_without_a_valid_satisfaction_is_refused(
    wo, login, drive, new_order, satisfaction
):
    order = drive(new_order(), State.CALLBACK_PENDING)
    response = login(wo.callback).post(
        f"/desk/{order.number}/callback/", {"satisfaction": satisfaction}
    )
    assert response.status_code == 422
    assert "请选择满意度" in body(response)
    assert reread(order).state == State.CALLBACK_PENDING
    assert not Event.objects.filter(order=order, action="callback").exists()


def test_confidential_caller_shown_only_with_the_permission(wo, login, drive, new_order):
    from hotline.core import services as core_services

    order = drive(new_order(confidential=True), State.CALLBACK_PENDING)
    assert "王先生" in body(login(wo.callback).get("/callbacks/"))
    core_services.role_permission_set(
        actor=None, role="callback", permission="workorders.confidential", granted=False
    )
    wo.callback.forget_cached_rights()
    page = body(login(wo.callback).get("/callbacks/"))
    assert order.number in page and "王先生" not in page and "（保密）" in page


# --- home panels -----------------------------------------------------------------------------


@pytest.fixture
def with_panels():
    panels.register()


def test_home_panels(wo, login, act, new_order, with_panels):
    order = new_order(title="今天受理的工单")
    page = body(login(wo.agent).get("/"))
    assert "今日我受理的工单" in page and order.number in page

    page = body(login(wo.dispatcher).get("/"))
    assert "派单工作" in page and 'href="/dispatch/?tab=submitted"' in page

    act(wo.dispatcher, order, "dispatch", unit=wo.units.a)
    page = body(login(wo.handler_a).get("/"))
    assert "本单位工单" in page and 'href="/unit/?tab=pending"' in page
    assert "派单工作" not in page

    page = body(login(wo.callback).get("/"))
    assert "回访工作" in page and "待回访" in page
