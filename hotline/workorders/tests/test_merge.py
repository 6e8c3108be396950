"""并单: a duplicate order closes into the open order it repeats — by the service, the REST
API, the intake page's in-transit prompt (并入此单) and the order page's 并单 form — and
afterwards runs no deadline, sits in no unit's queue, and shows on the master's page."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import AuditEntry, Notification, RolePermission
from hotline.workorders import selectors, services, supervision
from hotline.workorders.lifecycle import ACTIONS, OPEN_STATES, BranchState, State
from hotline.workorders.models import Event, WorkOrder

from .conftest import category, is_chinese

PHONE = "13900001111"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def pair(wo, new_order, act):
    """A master with unit A, and a later call of the same caller about the same matter,
    dispatched to unit B with unit C as co-unit and signed by B."""
    master = new_order(caller_phone=PHONE, caller_name="李女士")
    master = act(wo.dispatcher, master, "dispatch", unit=wo.units.a)
    duplicate = new_order(caller_phone=PHONE, caller_name="李先生", title="拖欠工资再次来电")
    duplicate = act(wo.dispatcher, duplicate, "dispatch", unit=wo.units.b, co_units=[wo.units.c])
    duplicate = act(wo.handler_b, duplicate, "sign")
    return master, duplicate


def merge(act, user, order, into, **fields):
    return act(user, order, "merge", into=into, **fields)


def intake_form(**fields) -> dict:
    values = {
        "type": "complaint",
        "urgency": "normal",
        "channel": "phone",
        "category": str(category().pk),
        "title": "夜间施工噪音再次来电",
        "content": "来电人再次反映小区夜间施工噪音扰民，与此前诉求相同。",
        "caller_name": "李女士",
        "caller_phone": PHONE,
        "area": "吉阳区",
        "address": "迎宾路 1 号",
    }
    values.update(fields)
    return values


# --- the lifecycle table --------------------------------------------------------------------


def test_merged_is_a_terminal_state_apart_from_the_open_ones():
    spec = ACTIONS["merge"]
    assert State.MERGED not in OPEN_STATES
    assert spec.label == "并单" and spec.fields == ("into",)
    assert spec.sources == {
        State.SUBMITTED,
        State.DISPATCHED,
        State.HANDLING,
        State.RETURN_PENDING,
    }
    assert not [a for a in ACTIONS.values() if State.MERGED in a.sources]


# --- the service ----------------------------------------------------------------------------


def test_merge_closes_the_duplicate_into_the_master(wo, pair, act):
    master, duplicate = pair
    at = timezone.now()
    done = merge(act, wo.dispatcher, duplicate, master.number, note="同一来电人同一诉求", now=at)

    assert done.state == State.MERGED and done.state_label == "已并单"
    assert done.merged_into == master and done.closed_at == at
    # its units no longer hold it: the lead and the co-unit alike
    assert set(done.assignments.values_list("state", flat=True)) == {BranchState.WITHDRAWN}
    event = done.events.order_by("pk").last()
    assert (event.action, event.from_state, event.to_state) == ("merge", "handling", "merged")
    assert event.data == {"into": master.number, "note": "同一来电人同一诉求"}
    assert event.actor == wo.dispatcher
    entry = AuditEntry.objects.get(action="workorder.merge", object_id=str(done.pk))
    assert entry.actor == wo.dispatcher
    assert entry.changes == {"state": ["handling", "merged"]}
    assert entry.detail["into"] == master.number

    master.refresh_from_db()
    assert master.state == State.DISPATCHED  # the master goes on as it was
    absorb = master.events.order_by("pk").last()
    assert (absorb.action, absorb.from_state, absorb.to_state) == (
        "absorb",
        "dispatched",
        "dispatched",
    )
    assert absorb.data["absorbed"] == done.number and absorb.actor == wo.dispatcher
    assert list(master.merged_orders.all()) == [done]


def test_a_waiting_order_merges_and_stays_closed(wo, new_order, act):
    master, duplicate = new_order(), new_order()
    done = merge(act, wo.agent, duplicate, f"  {master.number.lower()} ")  # typed loosely
    assert done.state == State.MERGED and done.merged_into == master
    for user, verb, fields in [
        (wo.dispatcher, "dispatch", {"unit": wo.units.a}),
        (wo.dispatcher, "cancel", {"reason": "重复"}),
        (wo.dispatcher, "merge", {"into": master.number}),
        (wo.dispatcher, "escalate", {}),
    ]:
        with pytest.raises(Conflict, match="已并单"):
            act(user, done, verb, **fields)


def test_the_merged_order_runs_no_deadline_and_leaves_the_unit_queues(wo, new_order, act):
    """Before the merge the duplicate is overdue and waits in unit B's queues; after it,
    neither the overdue filter, the sweep, the weekly list nor any queue sees it."""
    long_ago = timezone.now() - dt.timedelta(days=60)
    master = new_order()
    duplicate = new_order(now=long_ago)
    duplicate = act(wo.dispatcher, duplicate, "dispatch", unit=wo.units.b, now=long_ago)
    now = timezone.now()
    overdue = selectors.OrderFilter(overdue=True)
    assert duplicate in selectors.orders_filtered(wo.dispatcher, overdue, now=now)
    assert selectors.unit_branches(wo.handler_b, "overdue", now=now).filter(order=duplicate)
    assert selectors.unit_branches(wo.handler_b, "pending", now=now).filter(order=duplicate)

    merge(act, wo.dispatcher, duplicate, master.number)
    assert duplicate not in selectors.orders_filtered(wo.dispatcher, overdue, now=now)
    not_overdue = selectors.OrderFilter(overdue=False, status=State.MERGED)
    assert list(selectors.orders_filtered(wo.dispatcher, not_overdue, now=now)) == [duplicate]
    for tab in selectors.UNIT_TABS:
        assert not selectors.unit_branches(wo.handler_b, tab, now=now).filter(order=duplicate)
    assert selectors.unit_counts(wo.handler_b, now=now)["overdue"] == 0
    assert duplicate not in selectors.dispatch_queue(wo.dispatcher)

    supervision.sweep_deadlines(now=now)
    assert not Notification.objects.filter(link=f"/orders/{duplicate.number}/").exists()
    rows = supervision.overdue_rows(wo.org.sy, now)
    assert duplicate.number not in [row[0] for row in rows]


def test_merge_refusals_change_nothing(wo, pair, new_order, act, drive, make_user):
    master, duplicate = pair
    cancelled = act(wo.dispatcher, new_order(), "cancel", reason="重复登记")
    completed = new_order(direct=True, answer="已当场解答。")
    merged = merge(act, wo.dispatcher, new_order(), master.number)
    county = new_order(actor=wo.yz_agent, platform=wo.org.yz)
    yz_dispatcher = make_user("dispatcher", platform=wo.org.yz)
    before = (duplicate.state, list(duplicate.events.all()), master.events.count())

    with pytest.raises(Unprocessable, match="不能将工单并入其自身"):
        merge(act, wo.dispatcher, duplicate, duplicate.number)
    for closed, label in [(cancelled, "已销单"), (completed, "已办结"), (merged, "已并单")]:
        with pytest.raises(Conflict, match=f"目标工单 {closed.number} 当前状态为“{label}”"):
            merge(act, wo.dispatcher, duplicate, closed.number)
    with pytest.raises(NotFound, match="目标工单不存在"):
        merge(act, wo.dispatcher, duplicate, "SY19990101999999")
    with pytest.raises(Unprocessable, match="只能并入同一平台的工单"):  # in scope, not ours
        merge(act, wo.dispatcher, duplicate, county.number)
    with pytest.raises(Unprocessable, match="并单须填写：主工单编号"):
        merge(act, wo.dispatcher, duplicate, "")
    with pytest.raises(Forbidden):  # units do not merge, not even on their own branch
        merge(act, wo.handler_b, duplicate, master.number)
    with pytest.raises(Forbidden):
        merge(act, wo.callback, duplicate, master.number)
    # a county dispatcher: the city's order is out of scope, as is the city's master
    with pytest.raises(NotFound, match="目标工单不存在"):
        merge(act, yz_dispatcher, county, master.number)
    with pytest.raises(NotFound):
        merge(act, yz_dispatcher, duplicate, master.number)

    duplicate.refresh_from_db()
    assert (duplicate.state, list(duplicate.events.all()), master.events.count()) == before
    assert duplicate.merged_into is None
    assert not AuditEntry.objects.filter(action="workorder.merge", object_id=str(duplicate.pk))
    # once answered, an order is no longer a duplicate to merge
    replied = drive(new_order(), State.REPLIED)
    with pytest.raises(Conflict, match="办结待审"):
        merge(act, wo.dispatcher, replied, master.number)


def test_a_master_waiting_for_callback_still_takes_duplicates(wo, new_order, act, drive):
    master = drive(new_order(), State.CALLBACK_PENDING)
    done = merge(act, wo.dispatcher, new_order(), master.number)
    assert done.merged_into == master
    assert WorkOrder.objects.get(pk=master.pk).state == State.CALLBACK_PENDING


def test_intake_merge_registers_the_call_and_closes_it_in_one_go(wo, new_order):
    """受理并并单: the call counts as an intake (its create event and audit row) and is
    never dispatched, even when a direct dispatch rule matches it."""
    master = new_order(caller_phone=PHONE)
    services.dispatch_rule_save(
        actor=wo.dispatcher,
        platform=wo.org.sy,
        name="拖欠工资",
        keywords="拖欠",
        unit=wo.units.a,
        priority=1,
        direct=True,
    )
    duplicate = services.order_create_merged(
        actor=wo.agent,
        into=master.number,
        platform=wo.org.sy,
        order_type="complaint",
        title="拖欠工资再次来电",
        content="来电人再次反映单位拖欠工资。",
        caller_phone=PHONE,
        category=category(),
    )
    assert duplicate.state == State.MERGED and duplicate.merged_into == master
    assert list(duplicate.events.values_list("action", "from_state", "to_state")) == [
        ("create", "", "submitted"),
        ("merge", "submitted", "merged"),
    ]
    assert not duplicate.assignments.exists()  # the direct rule did not fire
    assert AuditEntry.objects.filter(action="workorder.create", object_id=str(duplicate.pk))
    # an ordinary intake of the same text is still dispatched by the rule
    assert new_order(caller_phone=PHONE).state == State.DISPATCHED


@pytest.mark.parametrize(
    ("into", "refusal"),
    [("SY19990101999999", NotFound), ("", Unprocessable)],
)
def test_a_refused_intake_merge_leaves_no_order(wo, new_order, into, refusal):
    new_order()
    count, events = WorkOrder.objects.count(), Event.objects.count()
    with pytest.raises(refusal):
        services.order_create_merged(
            actor=wo.agent,
            into=into,
            platform=wo.org.sy,
            order_type="consult",
            title="重复来电",
            content="同一诉求。",
        )
    assert (WorkOrder.objects.count(), Event.objects.count()) == (count, events)


def test_intake_merge_needs_the_permission(wo, new_order, make_user):
    master = new_order()
    callback = make_user("callback")
    count = WorkOrder.objects.count()
    for user in (wo.handler_a, callback):
        with pytest.raises(Forbidden):
            services.order_create_merged(
                actor=user,
                into=master.number,
                platform=wo.org.sy,
                order_type="consult",
                title="重复来电",
                content="同一诉求。",
            )
    assert WorkOrder.objects.count() == count


@pytest.mark.postgres
def test_opposite_merges_at_the_same_moment_postgresql(transactional_db, wo, new_order):
    """A into B and B into A at once: both orders are locked in one order first, so one
    merge waits for the other and then finds its master closed (409) — never a deadlock,
    never two orders merged into each other."""
    from django.db import connection

    from .test_branches import _run_together

    if connection.vendor != "postgresql":
        pytest.skip("需要 PostgreSQL（设置 DATABASE_URL）")
    for _ in range(4):
        a, b = new_order(), new_order()
        results = _run_together(
            [
                lambda a=a, b=b: services.perform(
                    actor=wo.dispatcher, order=a, action="merge", into=b.number
                ),
                lambda a=a, b=b: services.perform(
                    actor=wo.dispatcher, order=b, action="merge", into=a.number
                ),
            ]
        )
        merged = [r for r in results if isinstance(r, WorkOrder)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert (len(merged), len(refused)) == (1, 1), results
        assert "不能" in refused[0].message
        states = set(WorkOrder.objects.filter(pk__in=[a.pk, b.pk]).values_list("state", flat=True))
        assert states == {State.MERGED, State.SUBMITTED}


# --- the REST API ---------------------------------------------------------------------------


def api_merge(call, user, number, body):
    return call(user, "post", f"/api/workorders/{number}/actions/merge", body)


def test_api_merges_and_the_master_lists_the_duplicate(wo, pair, call):
    master, duplicate = pair
    response = api_merge(call, wo.dispatcher, duplicate.number, {"into": master.number})
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert body["status"] == "merged" and body["status_label"] == "已并单"
    assert body["merged_into"] == master.number
    assert body["deadline"] is None and body["overdue"] is False
    assert body["timeline"][-1]["event"] == "merge"
    assert body["timeline"][-1]["event_label"] == "并单"

    shown = call(wo.dispatcher, "get", f"/api/workorders/{master.number}").json()
    assert shown["merged_into"] is None
    (row,) = shown["merged_orders"]
    assert row["number"] == duplicate.number
    assert (row["caller_name"], row["caller_phone"]) == ("李先生", "139****1111")
    absorb = shown["timeline"][-1]
    assert absorb["event"] == "absorb" and absorb["event_label"] == "并入工单"
    assert absorb["from_state"] == absorb["to_state"] == "dispatched"
    assert absorb["data"]["absorbed"] == duplicate.number
    # the master's unit sees who else called, masked as everywhere
    held = call(wo.handler_a, "get", f"/api/workorders/{master.number}").json()
    assert held["merged_orders"][0]["caller_phone"] == "139****1111"
    assert PHONE not in json.dumps(held)


def test_api_refusals_are_chinese_4xx(wo, pair, call, new_order, act):
    master, duplicate = pair
    cancelled = act(wo.dispatcher, new_order(), "cancel", reason="重复登记")
    cases = [
        (wo.dispatcher, {"into": duplicate.number}, 422, "不能将工单并入其自身"),
        (wo.dispatcher, {"into": cancelled.number}, 409, "已销单"),
        (wo.dispatcher, {"into": "SY19990101999999"}, 404, "目标工单不存在"),
        (wo.dispatcher, {}, 422, "并单须填写：主工单编号"),
        (wo.handler_b, {"into": master.number}, 403, ""),
    ]
    for user, payload, status, text in cases:
        response = api_merge(call, user, duplicate.number, payload)
        assert response.status_code == status, (payload, response.content.decode())
        detail = response.json()["detail"]
        assert is_chinese(detail) and text in detail, detail
    assert WorkOrder.objects.get(pk=duplicate.pk).state == State.HANDLING
    # an order merged already: 409 naming its state
    api_merge(call, wo.dispatcher, duplicate.number, {"into": master.number})
    again = api_merge(call, wo.dispatcher, duplicate.number, {"into": master.number})
    assert again.status_code == 409
    assert again.json()["detail"] == "工单当前状态为“已并单”，不能并单"


def test_openapi_documents_the_merge(db, api):
    schema = api(None).get("/api/openapi.json").json()
    operation = schema["paths"]["/api/workorders/{number}/actions/{action}"]["post"]
    assert "merge" in operation["summary"]
    assert "into" in operation["description"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    (ref,) = [option["$ref"] for option in body_schema["anyOf"] if "$ref" in option]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert "主工单编号" in body["properties"]["into"]["description"]
    detail = schema["components"]["schemas"]["OrderOut"]["properties"]
    assert {"merged_into", "merged_orders"} <= set(detail)


# --- the pages ------------------------------------------------------------------------------


def test_in_transit_prompt_offers_to_merge_into_orders_of_the_platform(wo, login, new_order, act):
    master = act(wo.dispatcher, new_order(caller_phone=PHONE), "dispatch", unit=wo.units.a)
    county = new_order(actor=wo.yz_agent, platform=wo.org.yz, caller_phone=PHONE)
    response = login(wo.agent).get(f"/orders/new/?phone={PHONE}", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert master.number in page and county.number in page
    button = f'form="intake-form" name="merge_into" value="{master.number}"'
    assert button in page and "并入此单" in page
    assert f'name="merge_into" value="{county.number}"' not in page  # another platform
    # the intake page's form carries the id the buttons submit
    assert 'id="intake-form"' in login(wo.agent).get("/orders/new/").content.decode()
    # without the permission there is no button
    RolePermission.objects.filter(role="team_leader", permission="workorders.merge").delete()
    response = login(wo.leader).get(f"/orders/new/?phone={PHONE}", headers={"HX-Request": "true"})
    assert master.number in response.content.decode()
    assert 'name="merge_into"' not in response.content.decode()
    assert "并入此单" not in response.content.decode()


def test_intake_merge_button_registers_and_merges(wo, login, new_order, act):
    master = act(wo.dispatcher, new_order(caller_phone=PHONE), "dispatch", unit=wo.units.a)
    client = login(wo.agent)
    response = client.post("/orders/new/", intake_form(merge_into=master.number))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/orders/{master.number}/"
    duplicate = WorkOrder.objects.get(title="夜间施工噪音再次来电")
    assert duplicate.state == State.MERGED and duplicate.merged_into == master
    assert duplicate.created_by == wo.agent and duplicate.caller_phone == PHONE

    page = client.get(response["Location"]).content.decode()
    assert f"受理成功，工单 {duplicate.number} 已并入 {master.number}" in page
    assert "并入的工单" in page
    assert f'href="/orders/{duplicate.number}/"' in page
    assert "139****1111" in page and PHONE not in page
    assert "timeline-absorb" in page and "并入工单" in page

    dup_page = client.get(f"/orders/{duplicate.number}/").content.decode()
    assert "已并单" in dup_page and "并入主工单" in dup_page
    assert f'href="/orders/{master.number}/"' in dup_page


@pytest.mark.parametrize(
    ("target", "message"),
    [("unknown", "目标工单不存在"), ("cancelled", "已销单")],
)
def test_a_refused_intake_merge_keeps_the_form(wo, login, new_order, act, target, message):
    cancelled = act(wo.dispatcher, new_order(caller_phone=PHONE), "cancel", reason="重复")
    into = {"unknown": "SY19990101999999", "cancelled": cancelled.number}[target]
    count = WorkOrder.objects.count()
    response = login(wo.agent).post("/orders/new/", intake_form(merge_into=into))
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert "夜间施工噪音再次来电" in page  # what the agent typed is still there
    assert WorkOrder.objects.count() == count


def test_order_page_offers_the_merge_form_to_the_platform_only(wo, login, pair):
    master, duplicate = pair
    page = login(wo.dispatcher).get(f"/orders/{duplicate.number}/").content.decode()
    assert f'action="/orders/{duplicate.number}/actions/merge/"' in page
    assert 'name="into"' in page
    # the caller's other open order is offered as the master
    assert f'<option value="{master.number}">' in page
    unit_page = login(wo.handler_b).get(f"/orders/{duplicate.number}/").content.decode()
    assert "/actions/merge/" not in unit_page
    callback_page = login(wo.callback).get(f"/orders/{duplicate.number}/").content.decode()
    assert "/actions/merge/" not in callback_page


def test_order_page_merge_form(wo, login, pair):
    master, duplicate = pair
    client = login(wo.dispatcher)
    url = f"/orders/{duplicate.number}/actions/merge/"
    response = client.post(url, {"into": master.number, "note": "同一诉求"})
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{duplicate.number}/"
    page = client.get(response["Location"]).content.decode()
    assert "并单成功" in page and "已并单" in page
    assert "当前状态下您没有可执行的操作" in page  # no verb is left on a merged order
    master_page = client.get(f"/orders/{master.number}/").content.decode()
    assert "并入的工单" in master_page and duplicate.number in master_page


def test_order_page_merge_refusals(wo, login, pair, new_order, act):
    master, duplicate = pair
    client = login(wo.dispatcher)
    url = f"/orders/{duplicate.number}/actions/merge/"
    unknown = client.post(url, {"into": "SY19990101999999"})
    # the order page itself, with the message: the page's own order exists
    assert unknown.status_code == 404
    assert "目标工单不存在" in unknown.content.decode()
    assert duplicate.number in unknown.content.decode()
    assert "工单详情" in unknown.content.decode()
    itself = client.post(url, {"into": duplicate.number})
    assert itself.status_code == 422 and "不能将工单并入其自身" in itself.content.decode()
    cancelled = act(wo.dispatcher, new_order(), "cancel", reason="重复")
    closed = client.post(url, {"into": cancelled.number})
    assert closed.status_code == 409 and "已销单" in closed.content.decode()
    missing = client.post(url, {})
    assert missing.status_code == 422 and "并单须填写" in missing.content.decode()
    assert login(wo.handler_b).post(url, {"into": master.number}).status_code == 403
    assert WorkOrder.objects.get(pk=duplicate.pk).state == State.HANDLING


def test_master_page_hides_a_confidential_duplicates_caller_from_its_unit(
    wo, login, new_order, act
):
    master = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    secret = new_order(confidential=True, caller_name="匿名者", caller_phone="13700002222")
    act(wo.dispatcher, secret, "merge", into=master.number)
    unit_page = login(wo.handler_a).get(f"/orders/{master.number}/").content.decode()
    assert secret.number in unit_page and "（保密）" in unit_page
    assert "匿名者" not in unit_page and "2222" not in unit_page
    # the unit never held the duplicate: its number is not a link it could not open
    assert f'href="/orders/{secret.number}/"' not in unit_page
    dispatcher_page = login(wo.dispatcher).get(f"/orders/{master.number}/").content.decode()
    assert "匿名者" in dispatcher_page and "137****2222" in dispatcher_page


# --- in a real browser ----------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_merge_at_intake_in_the_browser(browser, live_server, wo, screenshot_dir):
    """The 并入此单 button sits outside the intake form (in the in-transit card, refreshed
    by HTMX when the phone is typed) and submits it; the confirmation is asked first."""
    from .test_e2e_browser import Person

    master = services.order_create(
        actor=wo.agent,
        platform=wo.org.sy,
        order_type="complaint",
        title="小区夜间施工噪音扰民",
        content="来电人反映小区夜间施工噪音扰民。",
        caller_name="李女士",
        caller_phone=PHONE,
        category=category(),
    )
    agent = Person(browser, live_server.url, wo.agent, screenshot_dir)
    page = agent.page
    agent.goto("/orders/new/")
    page.select_option("select[name=type]", "complaint")
    page.fill("input[name=title]", "夜间施工噪音再次来电")
    page.fill("textarea[name=content]", "来电人再次反映夜间施工噪音，与此前诉求相同。")
    page.fill("input[name=caller_name]", "李女士")
    page.fill("input[name=caller_phone]", PHONE)
    page.locator("input[name=caller_phone]").dispatch_event("change")
    button = page.locator(f"#in-transit button[value='{master.number}']")
    button.wait_for()
    agent.shoot("merge-intake")
    page.once("dialog", lambda dialog: dialog.accept())
    agent.submit(button)
    assert page.url == f"{live_server.url}/orders/{master.number}/"
    agent.success(f"已并入 {master.number}")
    card = page.locator(".merged-orders")
    duplicate = WorkOrder.objects.get(title="夜间施工噪音再次来电")
    assert duplicate.state == State.MERGED
    from playwright.sync_api import expect

    expect(card).to_contain_text(duplicate.number)
    expect(card).to_contain_text("139****1111")
    expect(page.locator(".timeline-absorb")).to_contain_text("并入工单")
    agent.shoot("merge-master")
    # the duplicate's page: closed, naming its master
    agent.goto(f"/orders/{duplicate.number}/")
    agent.badge("已并单")
    expect(page.locator(".order-head")).to_contain_text(master.number)
    agent.shoot("merge-duplicate")
    # the order page's 并单 form offers the caller's other open order
    other = services.order_create(
        actor=wo.agent,
        platform=wo.org.sy,
        order_type="complaint",
        title="施工噪音第三次来电",
        content="同一诉求。",
        caller_phone=PHONE,
    )
    agent.goto(f"/orders/{other.number}/")
    page.locator("details#merge summary").click()
    expect(page.locator("details#merge .merge-candidates")).to_contain_text(master.number)
    page.fill("#act-merge-into", master.number)
    agent.shoot("merge-form")
    page.once("dialog", lambda dialog: dialog.accept())
    agent.submit(page.locator("details#merge button[type=submit]"))
    agent.success("并单成功")
    agent.badge("已并单")
    assert agent.csp == [], agent.csp
    # live_server is plain WSGI: it cannot answer the notifications WebSocket (Channels),
    # which is not what this test is about; any other script error fails it
    errors = [e for e in agent.errors if "/ws/notifications/" not in e]
    assert errors == [], errors
    agent.close()


# --- who learns of it ---------------------------------------------------------------------------


def test_the_masters_units_are_told_and_the_citizen_follows_the_master(
    wo, pair, act, drive, django_capture_on_commit_callbacks
):
    master, duplicate = pair
    with django_capture_on_commit_callbacks(execute=True):
        merge(act, wo.dispatcher, duplicate, master.number)
    notices = list(Notification.objects.filter(kind="order.merge"))
    assert [n.recipient for n in notices] == [wo.handler_a]  # unit A holds the master
    notice = notices[0]
    assert notice.title == f"重复诉求并入 {master.number}" and duplicate.number in notice.body
    assert notice.link == f"/orders/{master.number}/"

    # the duplicate's caller looks up their own number and sees the master's progress
    drive(WorkOrder.objects.get(pk=master.pk), State.COMPLETED)
    from django.test import Client

    page = Client().post("/track/", {"number": duplicate.number, "phone": PHONE})
    html = page.content.decode()
    assert page.status_code == 200 and duplicate.number in html
    assert "已合并办理" in html and "已办结" in html
    assert master.number not in html  # another citizen's order number stays private
