"""The REST contract of issue #3, as callers outside the project use it: status codes,
Chinese refusals, the list filters, scope, the timeline and the OpenAPI schema."""

import datetime as dt

import pytest
from django.utils import timezone

from hotline.workorders import services
from hotline.workorders.models import WorkOrder

from .conftest import LEAF, is_chinese


def create(call, user, **fields):
    body = {
        "type": "complaint",
        "title": "道路积水",
        "content": "来电人反映某路段积水严重。",
        "caller_name": "赵先生",
        "caller_phone": "13900001111",
        "category": LEAF,
    }
    body.update(fields)
    response = call(user, "post", "/api/workorders", body)
    assert response.status_code == 201, response.content.decode()
    return response.json()["number"]


def action(call, user, number, verb, **payload):
    return call(user, "post", f"/api/workorders/{number}/actions/{verb}", payload)


@pytest.fixture
def dispatched(wo, call):
    """An order with unit A (not yet signed)."""
    number = create(call, wo.agent)
    assert action(call, wo.dispatcher, number, "dispatch", unit=wo.units.a.pk).status_code == 200
    return number


# --- 409 / 422 / 404 ---------------------------------------------------------------------------


def test_action_not_allowed_in_the_state_is_409(wo, call, dispatched):
    number = create(call, wo.agent)
    for user, verb, payload in [
        (wo.dispatcher, "archive", {}),
        (wo.dispatcher, "review-reply", {"approved": True}),
        (wo.callback, "callback", {"satisfaction": "满意"}),
        (wo.dispatcher, "reopen", {}),
        (wo.dispatcher, "urge", {}),
    ]:
        response = action(call, user, number, verb, **payload)
        assert response.status_code == 409, (verb, response.content.decode())
        assert is_chinese(response.json()["detail"])
        assert "待派单" in response.json()["detail"]  # names the current state
    response = action(call, wo.dispatcher, dispatched, "dispatch", unit=wo.units.b.pk)
    assert response.status_code == 409
    assert response.json()["detail"] == "工单当前状态为“待签收”，不能派单"
    response = action(call, wo.handler_a, dispatched, "reply", content="已处理")
    assert response.status_code == 409  # sign first
    assert is_chinese(response.json()["detail"])
    assert WorkOrder.objects.get(number=number).state == "submitted"


def test_missing_or_bad_fields_are_422(wo, call, dispatched):
    assert action(call, wo.handler_a, dispatched, "sign").status_code == 200
    cases = [
        (wo.handler_a, "reply", {}, "content"),
        (wo.handler_a, "reply", {"content": "   "}, "content"),
        (wo.handler_a, "return", {}, "reason"),
        (wo.handler_a, "request-extension", {"days": 0, "reason": "需协调"}, "days"),
        (wo.handler_a, "request-extension", {"days": 100, "reason": "需协调"}, "days"),
        (wo.handler_a, "request-extension", {"reason": "需协调"}, "days"),
        (wo.handler_a, "request-extension", {"days": 5}, "reason"),
        (wo.dispatcher, "redispatch", {"unit": 999999}, "unit"),
        (wo.dispatcher, "redispatch", {}, "unit"),
        (wo.dispatcher, "review-extension", {}, "approved"),
        (wo.dispatcher, "cancel", {}, "reason"),
    ]
    for user, verb, payload, field in cases:
        response = action(call, user, dispatched, verb, **payload)
        assert response.status_code == 422, (verb, payload, response.content.decode())
        body = response.json()
        assert is_chinese(body["detail"]), body
        assert body.get("field") == field, (verb, payload, body)
    assert WorkOrder.objects.get(number=dispatched).state == "handling"


def test_dispatch_with_unknown_unit_is_422(wo, call):
    number = create(call, wo.agent)
    response = action(call, wo.dispatcher, number, "dispatch", unit=999999)
    assert response.status_code == 422
    assert response.json()["field"] == "unit"
    assert "999999" in response.json()["detail"]
    response = action(call, wo.dispatcher, number, "dispatch", unit=wo.units.a.pk, co_units=[0])
    assert response.status_code == 422
    assert response.json()["field"] == "co_units"
    response = action(call, wo.dispatcher, number, "dispatch", unit="人社局")
    assert response.status_code == 422  # not an id at all
    assert is_chinese(response.json()["detail"])
    assert WorkOrder.objects.get(number=number).state == "submitted"


def test_a_verb_without_fields_needs_no_body(wo, call, api, dispatched):
    """sign, urge, supervise, escalate, reopen, archive take no input: a caller may POST
    them with an empty body (as ``curl -X POST`` does), not only with ``{}``."""
    url = f"/api/workorders/{dispatched}/actions"
    assert api(wo.dispatcher).generic("POST", f"{url}/urge").status_code == 200
    response = api(wo.handler_a).generic("POST", f"{url}/sign")
    assert response.status_code == 200, response.content.decode()
    assert response.json()["status"] == "handling"


def test_callback_with_a_bad_rating_is_422(wo, call, drive):
    number = create(call, wo.agent)
    drive(WorkOrder.objects.get(number=number), "callback_pending")
    for rating in ("还行", "", "5"):
        response = action(call, wo.callback, number, "callback", satisfaction=rating)
        assert response.status_code == 422, rating
        assert response.json()["field"] == "satisfaction"
        assert is_chinese(response.json()["detail"])
    response = action(call, wo.callback, number, "callback", satisfaction="基本满意", note="ok")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_review_with_a_non_boolean_is_422(wo, call, dispatched):
    action(call, wo.handler_a, dispatched, "return", reason="不属于本单位职责")
    response = action(call, wo.dispatcher, dispatched, "review-return", approved="也许")
    assert response.status_code == 422
    assert is_chinese(response.json()["detail"])


def test_unknown_action_is_404(wo, call, dispatched):
    for verb in ("explode", "Dispatch", "auto_archive", "create"):
        response = action(call, wo.dispatcher, dispatched, verb)
        assert response.status_code == 404, verb
        assert is_chinese(response.json()["detail"])


def test_unknown_order_is_404(wo, call):
    assert call(wo.dispatcher, "get", "/api/workorders/SY20260101999999").status_code == 404
    response = action(call, wo.dispatcher, "SY20260101999999", "urge")
    assert response.status_code == 404
    assert is_chinese(response.json()["detail"])


def test_another_units_order_is_404(wo, call, dispatched):
    url = f"/api/workorders/{dispatched}"
    assert call(wo.handler_a, "get", url).status_code == 200
    response = call(wo.handler_b, "get", url)
    assert response.status_code == 404
    assert is_chinese(response.json()["detail"])
    for verb, payload in [("sign", {}), ("return", {"reason": "x"}), ("reply", {"content": "x"})]:
        response = action(call, wo.handler_b, dispatched, verb, **payload)
        assert response.status_code == 404, verb
    # An order not yet dispatched is no unit's.
    fresh = create(call, wo.agent)
    assert call(wo.handler_a, "get", f"/api/workorders/{fresh}").status_code == 404
    assert WorkOrder.objects.get(number=dispatched).state == "dispatched"


def test_another_platforms_order_is_404(wo, call):
    number = create(call, wo.agent)
    assert call(wo.yz_agent, "get", f"/api/workorders/{number}").status_code == 404
    # …while the city sees the county's orders.
    county = create(call, wo.yz_agent)
    assert call(wo.dispatcher, "get", f"/api/workorders/{county}").status_code == 200


def test_a_platform_user_cannot_do_a_units_verb(wo, call, dispatched):
    response = action(call, wo.dispatcher, dispatched, "sign")
    assert response.status_code == 403
    assert is_chinese(response.json()["detail"])
    response = action(call, wo.handler_a, dispatched, "urge")
    assert response.status_code == 403


# --- detail and timeline ---------------------------------------------------------------------------


def test_detail_has_status_deadline_unit_timeline(wo, call, dispatched):
    assert action(call, wo.handler_a, dispatched, "sign").status_code == 200
    data = call(wo.dispatcher, "get", f"/api/workorders/{dispatched}").json()
    assert data["number"] == dispatched
    assert data["status"] == "handling"
    assert data["status_label"] == "办理中"
    assert data["unit"] == wo.units.a.name
    assert data["unit_id"] == wo.units.a.pk
    order = WorkOrder.objects.get(number=dispatched)
    deadline = dt.datetime.fromisoformat(data["deadline"])  # JSON keeps milliseconds
    assert abs(deadline - order.handle_due) < dt.timedelta(milliseconds=1)
    assert data["overdue"] is False
    assert [b["unit_id"] for b in data["branches"]] == [wo.units.a.pk]
    assert data["branches"][0]["state"] == "signed"
    timeline = data["timeline"]
    assert [t["event"] for t in timeline] == ["create", "dispatch", "sign"]
    for item in timeline:
        assert {"event", "actor", "at", "event_label", "from_state", "to_state"} <= set(item)
        assert item["actor"]
        dt.datetime.fromisoformat(item["at"])
    assert timeline[0]["actor"] == str(wo.agent)
    assert timeline[2]["actor"] == str(wo.handler_a)
    assert timeline[2]["unit"] == wo.units.a.name


def test_action_answers_with_the_order(wo, call, dispatched):
    response = action(call, wo.handler_a, dispatched, "sign")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "handling"
    assert data["timeline"][-1]["event"] == "sign"


# --- the list -----------------------------------------------------------------------------------


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert set(body) == {"total", "total_capped", "items"}
    return [item["number"] for item in body["items"]]


def test_list_total_items_and_filters(wo, call, new_order, act):
    plain = create(call, wo.agent, title="噪音扰民")
    with_a = create(call, wo.agent, title="拖欠工资")
    with_b = create(call, wo.agent, title="物业纠纷")
    act(wo.dispatcher, WorkOrder.objects.get(number=with_a), "dispatch", unit=wo.units.a)
    act(wo.dispatcher, WorkOrder.objects.get(number=with_b), "dispatch", unit=wo.units.b)

    body = call(wo.dispatcher, "get", "/api/workorders").json()
    assert body["total"] == 3
    assert {i["number"] for i in body["items"]} == {plain, with_a, with_b}
    item = body["items"][0]
    for key in ("number", "status", "title", "unit", "deadline", "overdue", "created_at"):
        assert key in item

    assert numbers(call(wo.dispatcher, "get", "/api/workorders", {"status": "submitted"})) == [
        plain
    ]
    assert set(numbers(call(wo.dispatcher, "get", "/api/workorders", {"status": "open"}))) == {
        plain,
        with_a,
        with_b,
    }
    assert numbers(call(wo.dispatcher, "get", "/api/workorders", {"unit": wo.units.b.pk})) == [
        with_b
    ]
    assert numbers(call(wo.dispatcher, "get", "/api/workorders", {"q": "工资"})) == [with_a]
    assert numbers(call(wo.dispatcher, "get", "/api/workorders", {"q": with_b})) == [with_b]
    assert numbers(call(wo.dispatcher, "get", "/api/workorders", {"q": "没有这个词"})) == []

    page = call(wo.dispatcher, "get", "/api/workorders", {"limit": 2, "offset": 0}).json()
    rest = call(wo.dispatcher, "get", "/api/workorders", {"limit": 2, "offset": 2}).json()
    assert page["total"] == rest["total"] == 3
    assert len(page["items"]) == 2 and len(rest["items"]) == 1
    assert {i["number"] for i in page["items"] + rest["items"]} == {plain, with_a, with_b}


def test_list_newest_first(wo, call, new_order):
    now = timezone.now()
    old = new_order(title="旧单", now=now - dt.timedelta(days=3))
    new = new_order(title="新单", now=now - dt.timedelta(hours=1))
    assert numbers(call(wo.dispatcher, "get", "/api/workorders")) == [new.number, old.number]


def test_list_overdue(wo, call, new_order, act):
    now = timezone.now()
    start = now - dt.timedelta(days=30)
    late = new_order(title="逾期工单", order_type="rescue", now=start)
    act(wo.dispatcher, late, "dispatch", unit=wo.units.a, now=start)  # 2 h, long past
    in_time = new_order(title="正常工单")
    act(wo.dispatcher, in_time, "dispatch", unit=wo.units.a)
    waiting = new_order(title="待派逾期", now=now - dt.timedelta(days=2))  # dispatch due past

    overdue = numbers(call(wo.dispatcher, "get", "/api/workorders", {"overdue": "true"}))
    assert set(overdue) == {late.number, waiting.number}
    not_overdue = numbers(call(wo.dispatcher, "get", "/api/workorders", {"overdue": "false"}))
    assert not_overdue == [in_time.number]
    items = call(wo.dispatcher, "get", "/api/workorders").json()["items"]
    assert {i["number"]: i["overdue"] for i in items} == {
        late.number: True,
        in_time.number: False,
        waiting.number: True,
    }

    # An order made overdue through the ORM counts too; a closed one never does.
    WorkOrder.objects.filter(pk=in_time.pk).update(handle_due=now - dt.timedelta(minutes=1))
    overdue = numbers(call(wo.dispatcher, "get", "/api/workorders", {"overdue": "true"}))
    assert in_time.number in overdue
    act(wo.dispatcher, WorkOrder.objects.get(pk=late.pk), "cancel", reason="重复")
    overdue = numbers(call(wo.dispatcher, "get", "/api/workorders", {"overdue": "true"}))
    assert late.number not in overdue


def test_list_bad_parameters_are_422(wo, call):
    for params in (
        {"limit": 501},
        {"limit": 0},
        {"offset": -1},
        {"status": "lost"},
        {"overdue": "maybe"},
    ):
        response = call(wo.dispatcher, "get", "/api/workorders", params)
        assert response.status_code == 422, params
        assert is_chinese(response.json()["detail"])
    assert call(wo.dispatcher, "get", "/api/workorders", {"limit": 500}).status_code == 200


def test_unit_handler_lists_only_its_units_orders(wo, call, act):
    mine = create(call, wo.agent, title="给人社局")
    co = create(call, wo.agent, title="人社局协办")
    theirs = create(call, wo.agent, title="给住建局")
    create(call, wo.agent, title="未派单")
    act(wo.dispatcher, WorkOrder.objects.get(number=mine), "dispatch", unit=wo.units.a)
    act(
        wo.dispatcher,
        WorkOrder.objects.get(number=co),
        "dispatch",
        unit=wo.units.b,
        co_units=[wo.units.a],
    )
    act(wo.dispatcher, WorkOrder.objects.get(number=theirs), "dispatch", unit=wo.units.b)

    body = call(wo.handler_a, "get", "/api/workorders").json()
    assert body["total"] == 2
    assert {i["number"] for i in body["items"]} == {mine, co}
    assert {i["number"] for i in call(wo.handler_b, "get", "/api/workorders").json()["items"]} == {
        co,
        theirs,
    }
    # Filtering on another unit shows nothing more.
    assert numbers(call(wo.handler_a, "get", "/api/workorders", {"unit": wo.units.b.pk})) == [co]
    assert numbers(call(wo.handler_a, "get", "/api/workorders", {"q": theirs})) == []
    assert call(wo.dispatcher, "get", "/api/workorders").json()["total"] == 4


def test_caller_phone_filter_does_not_reveal_a_confidential_caller(wo, call, act):
    """A unit holding a branch of a 保密件 sees "（保密）" for the caller; searching its list
    by phone number must not confirm who called either."""
    secret = create(call, wo.agent, title="举报违规施工", confidential=True)
    plain = create(call, wo.agent, title="咨询社保")
    for number in (secret, plain):
        act(wo.dispatcher, WorkOrder.objects.get(number=number), "dispatch", unit=wo.units.a)
    by_phone = {"caller_phone": "13900001111"}
    assert set(numbers(call(wo.dispatcher, "get", "/api/workorders", by_phone))) == {
        secret,
        plain,
    }
    assert numbers(call(wo.handler_a, "get", "/api/workorders", by_phone)) == [plain]
    assert call(wo.handler_a, "get", f"/api/workorders/{secret}").json()["caller_phone"] == (
        "（保密）"
    )


def test_list_is_scoped_by_platform(wo, call):
    city = create(call, wo.agent)
    county = create(call, wo.yz_agent)
    assert numbers(call(wo.yz_agent, "get", "/api/workorders")) == [county]
    assert set(numbers(call(wo.agent, "get", "/api/workorders"))) == {city, county}


# --- the schema -------------------------------------------------------------------------------------


def test_openapi_lists_the_work_order_paths(db, api):
    response = api(None).get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/workorders" in paths
    assert {"get", "post"} <= set(paths["/api/workorders"])
    assert "/api/workorders/{number}" in paths
    assert "post" in paths["/api/workorders/{number}/actions/{action}"]
    summary = paths["/api/workorders/{number}/actions/{action}"]["post"]["summary"]
    for verb in ("dispatch", "review-return", "request-extension", "callback", "archive"):
        assert verb in summary


def test_direct_services_and_api_agree_on_numbers(wo, call, new_order):
    """Orders made by the service and by the API share one number sequence."""
    first = new_order()
    second = create(call, wo.agent)
    assert int(second[-6:]) == int(first.number[-6:]) + 1
    assert services.NUMBER_KIND == "WO"
