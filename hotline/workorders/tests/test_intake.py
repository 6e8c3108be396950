"""Intake (受理): registering an order through the API and the service — numbers, the
dispatch deadline of R-WO-10, direct completion, validation and confidential callers."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from hotline.core.models import AuditEntry
from hotline.core.workdays import LOCAL_TZ
from hotline.workorders import services
from hotline.workorders.lifecycle import State
from hotline.workorders.models import Event, WorkOrder

from .conftest import LEAF, is_chinese

NUMBER = re.compile(r"^(?P<platform>[A-Z]{2,8})(?P<day>\d{8})(?P<seq>\d{6})$")


def body(**fields) -> dict:
    values = {
        "type": "complaint",
        "title": "小区噪音扰民",
        "content": "来电人反映小区夜间施工噪音扰民，请核查处理。",
        "caller_name": "李女士",
        "caller_phone": "13812345678",
        "category": LEAF,
        "urgency": "normal",
        "channel": "phone",
        "area": "吉阳区",
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL_TZ)


# --- creation through the API -------------------------------------------------------------------


def test_agent_creates_an_order(wo, call):
    response = call(wo.agent, "post", "/api/workorders", body())
    assert response.status_code == 201, response.content.decode()
    data = response.json()
    match = NUMBER.match(data["number"])
    assert match, data["number"]
    assert match["platform"] == "SY"
    assert match["day"] == f"{timezone.localdate():%Y%m%d}"
    assert data["status"] == "submitted"
    assert data["status_label"] == "待派单"
    assert data["deadline"] is not None  # the dispatch deadline runs
    assert [item["event"] for item in data["timeline"]] == ["create"]

    order = WorkOrder.objects.get(number=data["number"])
    assert order.state == State.SUBMITTED
    assert order.created_by == wo.agent
    assert order.category.code == LEAF
    assert order.area == "吉阳区"
    assert order.dispatch_due == services.sla.dispatch_due(order.created_at)
    assert (
        AuditEntry.objects.filter(action="workorder.create", object_id=str(order.pk)).count() == 1
    )

    second = call(wo.agent, "post", "/api/workorders", body(title="第二单")).json()
    assert int(NUMBER.match(second["number"])["seq"]) == int(match["seq"]) + 1


def test_number_is_platform_code_and_local_date(wo, new_order):
    # 23:30 UTC on 21 Nov is already 22 Nov in Beijing: the number carries the local date.
    order = new_order(now=dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC))
    assert order.number == "SY20261122000001"
    assert new_order(now=local(2026, 11, 22, 9, 0)).number == "SY20261122000002"
    yz = new_order(actor=wo.yz_agent, platform=wo.org.yz, now=local(2026, 11, 22, 9, 5))
    assert yz.number == "YZ20261122000001"


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (local(2026, 11, 23, 10, 0), local(2026, 11, 23, 11, 0)),  # day: within 1 hour
        (local(2026, 11, 23, 8, 0), local(2026, 11, 23, 9, 0)),  # 08:00 is day time
        (local(2026, 11, 23, 16, 59), local(2026, 11, 23, 17, 59)),
        (local(2026, 11, 23, 17, 0), local(2026, 11, 24, 12, 0)),  # evening: next noon
        (local(2026, 11, 23, 20, 0), local(2026, 11, 24, 12, 0)),
        (local(2026, 11, 24, 3, 0), local(2026, 11, 24, 12, 0)),  # small hours: same noon
        (local(2026, 11, 28, 20, 0), local(2026, 11, 29, 12, 0)),  # 7×24: weekends count
    ],
)
def test_dispatch_due_r_wo_10(new_order, received, due):
    order = new_order(now=received)
    assert order.created_at == received
    assert order.dispatch_due == due


def test_dispatch_due_from_utc_input(new_order):
    # 02:00 UTC = 10:00 Beijing → 11:00 Beijing.
    order = new_order(now=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))
    assert order.dispatch_due == local(2026, 11, 23, 11, 0)


# --- direct completion (即时答复) ------------------------------------------------------------------


def test_direct_completion(wo, call):
    response = call(
        wo.agent,
        "post",
        "/api/workorders",
        body(type="consult", direct=True, answer="社保卡可在任一社保服务网点补办。"),
    )
    assert response.status_code == 201, response.content.decode()
    data = response.json()
    assert data["status"] == "completed"
    assert data["direct"] is True
    assert data["answer"] == "社保卡可在任一社保服务网点补办。"
    order = WorkOrder.objects.get(number=data["number"])
    assert order.state == State.COMPLETED
    assert order.completed_at is not None
    assert order.dispatch_due is None
    event = Event.objects.get(order=order)
    assert (event.action, event.from_state, event.to_state) == ("create", "", "completed")


def test_direct_without_answer_is_refused(wo, call):
    for answer in (None, "", "   "):
        response = call(wo.agent, "post", "/api/workorders", body(direct=True, answer=answer))
        assert response.status_code == 422, answer
        assert is_chinese(response.json()["detail"])
    assert not WorkOrder.objects.exists()


# --- validation -------------------------------------------------------------------------------------


def test_missing_title_is_422_in_chinese(wo, call):
    data = body()
    del data["title"]
    response = call(wo.agent, "post", "/api/workorders", data)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert is_chinese(detail) and "title" in detail

    response = call(wo.agent, "post", "/api/workorders", body(title="   "))
    assert response.status_code == 422
    assert response.json()["detail"] == "请填写标题"
    assert response.json()["field"] == "title"


def test_missing_content_is_422(wo, call):
    response = call(wo.agent, "post", "/api/workorders", body(content=" "))
    assert response.status_code == 422
    assert response.json()["field"] == "content"


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", "gossip"), ("urgency", "asap"), ("channel", "pigeon"), ("type", "")],
)
def test_bad_choice_is_422(wo, call, field, value):
    response = call(wo.agent, "post", "/api/workorders", body(**{field: value}))
    assert response.status_code == 422, response.content.decode()
    assert response.json()["field"] == field
    assert is_chinese(response.json()["detail"])
    assert not WorkOrder.objects.exists()


def test_too_long_title_is_422(wo, call):
    response = call(wo.agent, "post", "/api/workorders", body(title="长" * 101))
    assert response.status_code == 422
    assert is_chinese(response.json()["detail"])


def test_non_leaf_category_is_422(wo, call):
    for code in ("01", "0104"):  # a root and an inner node of the tree
        response = call(wo.agent, "post", "/api/workorders", body(category=code))
        assert response.status_code == 422, code
        assert response.json()["field"] == "category"
        assert response.json()["detail"] == "请选择末级诉求分类"


def test_unknown_category_is_422(wo, call):
    response = call(wo.agent, "post", "/api/workorders", body(category="999999"))
    assert response.status_code == 422
    assert response.json()["field"] == "category"
    assert "999999" in response.json()["detail"]


def test_inactive_category_is_422(wo, call):
    from hotline.workorders.models import Category

    Category.objects.filter(code=LEAF).update(is_active=False)
    response = call(wo.agent, "post", "/api/workorders", body())
    assert response.status_code == 422
    assert response.json()["field"] == "category"


def test_unit_handler_cannot_create(wo, call):
    response = call(wo.handler_a, "post", "/api/workorders", body())
    assert response.status_code == 403
    assert is_chinese(response.json()["detail"])
    assert not WorkOrder.objects.exists()


def test_platform_out_of_scope_is_refused(wo, call):
    # A county agent may not file an order on the city platform above it.
    response = call(wo.yz_agent, "post", "/api/workorders", body(platform="SY"))
    assert response.status_code == 422
    assert response.json()["field"] == "platform"
    # The city agent may file one for the county below.
    response = call(wo.agent, "post", "/api/workorders", body(platform="YZ"))
    assert response.status_code == 201
    assert response.json()["number"].startswith("YZ")


def test_unauthenticated_is_401(api):
    response = api(None).post("/api/workorders", data="{}", content_type="application/json")
    assert response.status_code == 401


# --- confidential callers (保密件) -----------------------------------------------------------------


def test_confidential_caller(wo, call, act):
    created = call(wo.agent, "post", "/api/workorders", body(confidential=True))
    assert created.status_code == 201
    number = created.json()["number"]
    # The agent who took the call lacks workorders.confidential: masked from then on.
    assert created.json()["caller_name"] == "（保密）"
    assert created.json()["caller_phone"] == "（保密）"
    agent_view = call(wo.agent, "get", f"/api/workorders/{number}").json()
    assert (agent_view["caller_name"], agent_view["caller_phone"]) == ("（保密）", "（保密）")

    dispatcher_view = call(wo.dispatcher, "get", f"/api/workorders/{number}").json()
    assert dispatcher_view["caller_name"] == "李女士"
    assert dispatcher_view["caller_phone"] == "138****5678"
    assert dispatcher_view["confidential"] is True

    order = WorkOrder.objects.get(number=number)
    act(wo.dispatcher, order, "dispatch", unit=wo.units.a)
    handler_view = call(wo.handler_a, "get", f"/api/workorders/{number}")
    assert handler_view.status_code == 200
    assert handler_view.json()["caller_name"] == "（保密）"
    assert handler_view.json()["caller_phone"] == "（保密）"
    assert "13812345678" not in handler_view.content.decode()


def test_ordinary_caller_is_shown_masked(wo, call, act):
    number = call(wo.agent, "post", "/api/workorders", body()).json()["number"]
    act(wo.dispatcher, WorkOrder.objects.get(number=number), "dispatch", unit=wo.units.a)
    for user in (wo.agent, wo.dispatcher, wo.handler_a):
        data = call(user, "get", f"/api/workorders/{number}").json()
        assert (data["caller_name"], data["caller_phone"]) == ("李女士", "138****5678")
