"""Fixtures of the work-order tests.

``wo`` is the cast of one order's life on the SY platform (see hotline/conftest.py for the
organisation): the agent who takes the call, the dispatcher, the callback agent, a team
leader, and one handler for each of the three SY units A (人社局), B (住建局), C (水务局).

``new_order(**fields)`` registers an order through the service as the agent;
``act(user, order, action, **fields)`` performs a verb and returns the order re-read;
``drive(order, state)`` walks an order down the happy path to ``state``; ``call(user,
method, url, body)`` speaks JSON to the REST API with the user's bearer token.
"""

import json
from types import SimpleNamespace

import pytest

from hotline.workorders import services
from hotline.workorders.lifecycle import State
from hotline.workorders.models import Category, WorkOrder

LEAF = "010401"  # 拖欠工资: a leaf of the shipped category tree
UTILITY_LEAF = "040101"  # 停水与水压不足: water, power, gas (public utility)


def category(code: str = LEAF, *, public_utility: bool = False) -> Category:
    """A category seeded by the migrations; re-made when a transactional flush emptied
    the table."""
    found = Category.objects.filter(code=code).first()
    if found is not None:
        return found
    return Category.objects.create(code=code, name=f"测试分类{code}", public_utility=public_utility)


@pytest.fixture
def wo(org, users, make_user):
    units = SimpleNamespace(a=org.sy_units[0], b=org.sy_units[1], c=org.sy_units[2])
    return SimpleNamespace(
        org=org,
        units=units,
        agent=users.agent,
        dispatcher=users.dispatcher,
        callback=make_user("callback", username="callback_sy", display_name="回访员孙丽"),
        leader=make_user("team_leader", username="leader_sy", display_name="值班长周健"),
        handler_a=users.handler,
        handler_b=users.other_handler,
        handler_c=make_user(
            "unit_handler", unit=units.c, username="handler_sw", display_name="水务局钱进"
        ),
        yz_agent=users.yz_agent,
    )


@pytest.fixture
def new_order(wo):
    def make(**fields):
        values = {
            "actor": wo.agent,
            "platform": wo.org.sy,
            "order_type": "complaint",
            "title": "小区物业拖欠工资",
            "content": "来电人反映所在单位拖欠三个月工资，请相关部门核查处理。",
            "caller_name": "王先生",
            "caller_phone": "13812345678",
            "category": category(),
        }
        values.update(fields)
        return services.order_create(**values)

    return make


@pytest.fixture
def act():
    def perform(user, order, action, **fields) -> WorkOrder:
        services.perform(actor=user, order=order, action=action, **fields)
        return WorkOrder.objects.get(pk=order.pk)

    return perform


@pytest.fixture
def drive(wo, act):
    """Walk an order down the happy path (dispatch to unit A, sign, reply, review,
    callback) until it reaches ``state``; ``unsatisfied`` takes the 不满意 turn."""
    next_step = {
        State.SUBMITTED: (wo.dispatcher, "dispatch", {"unit": wo.units.a}),
        State.DISPATCHED: (wo.handler_a, "sign", {}),
        State.HANDLING: (wo.handler_a, "reply", {"content": "已责令用人单位限期支付。"}),
        State.REPLIED: (wo.dispatcher, "review-reply", {"approved": True}),
    }

    def walk(order, state: str, *, now=None) -> WorkOrder:
        """``now``: the time of every step (default: the real time)."""
        at = {"now": now} if now is not None else {}
        while order.state != state:
            if order.state == State.CALLBACK_PENDING:
                satisfaction = "不满意" if state == State.UNSATISFIED else "满意"
                order = act(wo.callback, order, "callback", satisfaction=satisfaction, **at)
                assert order.state == state, (order.state, state)
                break
            user, action, fields = next_step[State(order.state)]
            order = act(user, order, action, **fields, **at)
        return order

    return walk


@pytest.fixture
def call(api):
    """``call(user, "post", url, body)`` → the response of a JSON request with the user's
    bearer token."""

    def request(user, method: str, url: str, body: dict | None = None):
        client = api(user)
        if method == "get":
            return client.get(url, body or {})
        return client.post(url, data=json.dumps(body or {}), content_type="application/json")

    return request


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
