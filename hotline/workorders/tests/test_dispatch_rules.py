"""自动分派: the matcher, the rule services, auto-dispatch at intake, the rules page and
its test console."""

from types import SimpleNamespace

import pytest

from hotline.core.errors import Forbidden, NotFound, Unprocessable
from hotline.core.models import AuditEntry
from hotline.workorders import dispatching, services
from hotline.workorders.lifecycle import State
from hotline.workorders.models import Category, DispatchRule, WorkOrder

from .conftest import LEAF, UTILITY_LEAF, category

pytestmark = pytest.mark.django_db


# --- the pure matcher -------------------------------------------------------------------------


def rule(pk, priority=100, **conditions):
    values = {
        "pk": pk,
        "priority": priority,
        "name": f"规则{pk}",
        "order_type": "",
        "category_id": None,
        "category": None,
        "keywords": "",
        "area": "",
        "is_active": True,
        "direct": False,
    }
    values.update(conditions)
    if values["category"] is not None:
        values["category_id"] = values["category"].pk
    return SimpleNamespace(**values)


def node(pk, parent=None, name="分类"):
    return SimpleNamespace(pk=pk, parent=parent, name=name, path_name=name)


ORDER = {"order_type": "complaint", "title": "小区停水", "content": "已经两天没有水", "area": ""}


def test_priority_then_pk_decides():
    low, high = rule(2, priority=10, keywords="停水"), rule(1, priority=20, keywords="停水")
    assert dispatching.match([high, low], **ORDER) is low
    same_a, same_b = rule(5, keywords="停水"), rule(3, keywords="没有水")
    assert dispatching.match([same_a, same_b], **ORDER) is same_b


def test_category_matches_its_descendants():
    top = node(1)
    middle = node(2, parent=top)
    leaf = node(3, parent=middle)
    other = node(9)
    wants_top = rule(1, category=top)
    assert dispatching.match([wants_top], **ORDER, category=leaf) is wants_top
    assert dispatching.match([wants_top], **ORDER, category=other) is None
    assert dispatching.match([wants_top], **ORDER) is None  # no category on the order
    wants_leaf = rule(2, category=leaf)
    assert dispatching.match([wants_leaf], **ORDER, category=middle) is None


def test_keywords_are_substrings_of_title_or_content():
    by_content = rule(1, keywords="水压，爆管 没有水")
    assert dispatching.match([by_content], **ORDER) is by_content  # "没有水" in the content
    by_title = rule(2, keywords="停水")
    assert dispatching.match([by_title], **ORDER) is by_title
    assert dispatching.match([rule(3, keywords="停电, 跳闸")], **ORDER) is None


def test_all_conditions_must_hold():
    both = rule(1, keywords="停水", order_type="consult")
    assert dispatching.match([both], **ORDER) is None
    both.order_type = "complaint"
    assert dispatching.match([both], **ORDER) is both


def test_area():
    jiyang = rule(1, area="吉阳区")
    assert dispatching.match([jiyang], **{**ORDER, "area": "吉阳区迎宾路"}) is jiyang
    assert dispatching.match([jiyang], **{**ORDER, "area": "天涯区"}) is None
    assert dispatching.match([jiyang], **ORDER) is None


def test_disabled_and_empty_rules_never_match():
    disabled = rule(1, priority=1, keywords="停水", is_active=False)
    empty = rule(2, priority=2)
    fallback = rule(3, priority=3, order_type="complaint")
    assert dispatching.match([disabled, empty, fallback], **ORDER) is fallback
    verdicts = dispatching.explain([disabled, empty, fallback], **ORDER)
    assert [v.skipped for v in verdicts] == ["已停用", "未设置任何条件", ""]
    assert [v.first for v in verdicts] == [False, False, True]


def test_explain_tells_which_conditions_held():
    r = rule(1, keywords="停电 停水", order_type="consult")
    (verdict,) = dispatching.explain([r], **ORDER)
    checks = {c.label: c for c in verdict.checks}
    assert checks["诉求类型"].held is False
    assert checks["关键词"].held is True and checks["关键词"].found == "停水"
    assert not verdict.matched and not verdict.first


# --- the services -------------------------------------------------------------------------------


def save(actor, **fields):
    values = {"name": "停水", "keywords": "停水 水压", "priority": 10, "direct": False}
    values.update(fields)
    return services.dispatch_rule_save(actor=actor, **values)


def test_save_refuses_a_rule_without_conditions(wo):
    with pytest.raises(Unprocessable, match="至少设置一个匹配条件"):
        save(wo.dispatcher, platform=wo.org.sy, unit=wo.units.c, keywords=" ,， ")
    assert not DispatchRule.objects.exists()


def test_save_checks_permission_scope_and_unit(wo):
    with pytest.raises(Forbidden):
        save(wo.agent, platform=wo.org.sy, unit=wo.units.c)
    # a city unit cannot serve the county's rules: only the platform and below
    with pytest.raises(Unprocessable, match="不是本平台可派发"):
        save(None, platform=wo.org.yz, unit=wo.units.c)
    rule_ = save(wo.dispatcher, platform=wo.org.sy, unit=wo.units.c, keywords="停水，水压 停水")
    assert rule_.keywords == "停水 水压"
    entry = AuditEntry.objects.get(action="dispatch_rule.create")
    assert entry.actor == wo.dispatcher
    services.dispatch_rule_save(actor=wo.dispatcher, rule=rule_, priority=5)
    assert AuditEntry.objects.get(action="dispatch_rule.update").changes["priority"] == [10, 5]
    services.dispatch_rule_delete(actor=wo.dispatcher, rule=rule_)
    assert AuditEntry.objects.filter(action="dispatch_rule.delete").count() == 1


def test_out_of_scope_platform_reads_as_not_found(wo, make_user):
    yz_dispatcher = make_user("dispatcher", platform=wo.org.yz)
    with pytest.raises(NotFound):
        save(yz_dispatcher, platform=wo.org.sy, unit=wo.units.c)


# --- at intake ----------------------------------------------------------------------------------


def test_direct_rule_dispatches_at_intake(wo, new_order):
    water = save(None, platform=wo.org.sy, unit=wo.units.c, direct=True)
    order = new_order(title="小区停水两天", category=category(UTILITY_LEAF, public_utility=True))
    order = WorkOrder.objects.get(pk=order.pk)
    assert order.state == State.DISPATCHED
    assert order.lead_unit == wo.units.c
    assert order.dispatch_rule == water
    event = order.events.get(action="dispatch")
    assert event.actor is None and event.actor_name == "系统"
    assert event.data["unit"] == wo.units.c.name
    assert AuditEntry.objects.filter(action="dispatch_rule.apply").exists()


def test_suggestion_only_leaves_the_order_for_the_dispatcher(wo, new_order, act):
    water = save(None, platform=wo.org.sy, unit=wo.units.c, direct=False)
    order = new_order(title="小区停水两天")
    assert order.state == State.SUBMITTED and order.dispatch_rule is None
    assert services.suggest_unit(order) == (water, wo.units.c)
    assert dispatching.suggestion_for(order) == water
    order = act(wo.dispatcher, order, "dispatch", unit=wo.units.c)  # the suggested unit
    assert WorkOrder.objects.get(pk=order.pk).dispatch_rule == water
    assert order.events.get(action="dispatch").data["rule"] == water.name


def test_dispatching_elsewhere_credits_no_rule(wo, new_order, act):
    save(None, platform=wo.org.sy, unit=wo.units.c)
    order = act(wo.dispatcher, new_order(title="小区停水两天"), "dispatch", unit=wo.units.a)
    assert WorkOrder.objects.get(pk=order.pk).dispatch_rule is None
    assert "rule" not in order.events.get(action="dispatch").data


def test_direct_answer_and_closed_units_are_left_alone(wo, new_order):
    save(None, platform=wo.org.sy, unit=wo.units.c, direct=True)
    answered = new_order(title="停水咨询", direct=True, answer="已告知停水通知。")
    assert answered.state == State.COMPLETED
    wo.units.c.is_active = False
    wo.units.c.save()
    order = new_order(title="小区停水两天")
    assert order.state == State.SUBMITTED  # the rule's unit closed: the dispatcher decides


def test_category_rule_matches_at_intake(wo, new_order):
    leaf = category(LEAF)
    parent = leaf.parent or leaf
    labour = save(
        None, platform=wo.org.sy, unit=wo.units.a, keywords="", category=parent, direct=True
    )
    order = new_order()
    assert WorkOrder.objects.get(pk=order.pk).dispatch_rule == labour


# --- pages --------------------------------------------------------------------------------------


def test_rules_page_lists_rules_and_refuses_an_agent(wo, login):
    save(None, platform=wo.org.sy, unit=wo.units.c, direct=True, name="停水水压问题")
    page = login(wo.dispatcher).get("/dispatch-rules/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "停水水压问题" in html and "直派" in html and "标题或内容含" in html
    assert login(wo.agent).get("/dispatch-rules/").status_code == 403
    assert login(wo.agent).get("/dispatch-rules/test/").status_code == 403


def test_rule_form_creates_edits_and_deletes(wo, login):
    client = login(wo.dispatcher)
    assert client.get("/dispatch-rules/new/").status_code == 200
    bad = client.post(
        "/dispatch-rules/new/",
        {"platform": wo.org.sy.pk, "priority": 10, "name": "空规则", "unit": wo.units.c.pk},
    )
    assert bad.status_code == 422 and "至少设置一个匹配条件" in bad.content.decode()
    made = client.post(
        "/dispatch-rules/new/",
        {
            "platform": wo.org.sy.pk,
            "priority": 10,
            "name": "公积金",
            "keywords": "公积金",
            "unit": wo.units.b.pk,
            "is_active": "on",
        },
    )
    assert made.status_code == 302
    rule_ = DispatchRule.objects.get(name="公积金")
    edited = client.post(
        f"/dispatch-rules/{rule_.pk}/",
        {
            "platform": wo.org.sy.pk,
            "priority": 15,
            "name": "公积金提取",
            "keywords": "公积金 提取",
            "unit": wo.units.b.pk,
        },
    )
    assert edited.status_code == 302
    rule_.refresh_from_db()
    assert (rule_.priority, rule_.name, rule_.is_active) == (15, "公积金提取", False)
    gone = client.post(f"/dispatch-rules/{rule_.pk}/", {"action": "delete"})
    assert gone.status_code == 302 and not DispatchRule.objects.exists()
    assert client.get(f"/dispatch-rules/{rule_.pk}/").status_code == 404


def test_console_shows_the_match(wo, login):
    save(None, platform=wo.org.sy, unit=wo.units.a, name="社保卡", keywords="社保卡", priority=5)
    save(None, platform=wo.org.sy, unit=wo.units.c, name="停水水压问题", priority=10)
    page = login(wo.dispatcher).get(
        "/dispatch-rules/test/",
        {"platform": wo.org.sy.pk, "order_type": "complaint", "title": "停水", "content": "没水"},
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "匹配规则 <strong>“停水水压问题”</strong>" in html
    assert "rule-first" in html and "✓" in html and "✗" in html
    assert not WorkOrder.objects.exists()


def test_console_without_a_match(wo, login):
    save(None, platform=wo.org.sy, unit=wo.units.c)
    page = login(wo.dispatcher).get(
        "/dispatch-rules/test/", {"platform": wo.org.sy.pk, "title": "路灯不亮"}
    )
    assert page.status_code == 200 and "没有匹配的规则" in page.content.decode()


def test_demo_rules_load(wo):
    units = {
        code: wo.units.c
        for code in ("GAJ", "SWJT", "GDJ", "RQ", "GJJ", "RSJ", "SCJGJ", "LWJ", "ZHZFJ", "YZQ")
    }
    context = {"platforms": {"SY": wo.org.sy}, "units": units, "created": {}}
    dispatching.demo_rules(context)
    expected = sum(
        1
        for _p, _n, conditions, _u, _d in dispatching.DEMO_RULES
        if "category" not in conditions
        or Category.objects.filter(code=conditions["category"]).exists()
    )
    assert DispatchRule.objects.count() == context["created"]["dispatch_rules"] == expected
    assert expected >= 8
