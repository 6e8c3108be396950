"""工单进度查询: citizens look up their order by number and phone, with no sign-in."""

import pytest
from django.core.cache import cache
from django.test import Client

from hotline.workorders.lifecycle import State

pytestmark = pytest.mark.django_db

GENERIC = "未找到匹配的工单，请核对编号和电话"


@pytest.fixture(autouse=True)
def _fresh_budget():
    cache.clear()
    yield
    cache.clear()


def look(number, phone, client=None, ip="203.0.113.7"):
    client = client or Client()
    return client.post("/track/", {"number": number, "phone": phone}, REMOTE_ADDR=ip)


def test_page_opens_without_sign_in():
    page = Client().get("/track/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "工单进度查询" in html and "csrfmiddlewaretoken" in html
    assert "app-sidebar" not in html


def test_right_number_and_phone_show_the_progress(wo, new_order, drive):
    order = new_order(caller_name="王建国", confidential=True)
    order = drive(order, State.COMPLETED)
    page = look(order.number, "138 1234 5678")
    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html and "已办结" in html and "投诉" in html
    for milestone in ("受理", "已派单", "已回访"):
        assert milestone in html
    assert f"已转交{wo.units.a.name}办理" in html
    assert "已责令用人单位限期支付。" in html  # the answer
    assert "王建国" not in html and "13812345678" not in html
    assert wo.handler_a.display_name not in html and wo.dispatcher.display_name not in html


def test_open_order_shows_no_answer_and_no_return_reason(wo, new_order, act):
    order = new_order()
    order = act(wo.dispatcher, order, "dispatch", unit=wo.units.a)
    order = act(wo.handler_a, order, "return", reason="不属于本单位职责范围的内部说明")
    html = look(order.number, "13812345678").content.decode()
    assert "退单待审" in html and "已派单" in html
    assert "内部说明" not in html and "已办结" not in html


def test_wrong_phone_reads_like_a_wrong_number(wo, new_order):
    order = new_order()
    wrong_phone = look(order.number, "13900000000")
    wrong_number = look("SY20990101000001", "13812345678")
    assert wrong_phone.status_code == wrong_number.status_code == 200
    assert GENERIC in wrong_phone.content.decode() and GENERIC in wrong_number.content.decode()
    assert order.title not in wrong_phone.content.decode()


def test_an_order_without_phone_is_never_found(wo, new_order):
    order = new_order(caller_phone="")
    assert GENERIC in look(order.number, "-").content.decode()


def test_missing_fields_are_a_400_in_chinese():
    page = Client().post("/track/", {"number": "", "phone": ""})
    assert page.status_code == 400 and "请填写工单编号" in page.content.decode()


def test_eleventh_lookup_in_the_window_is_refused(wo, new_order):
    order = new_order()
    for _ in range(10):
        assert look(order.number, "13900000000").status_code == 200
    refused = look(order.number, "13812345678")
    assert refused.status_code == 429 and "查询过于频繁" in refused.content.decode()
    assert look(order.number, "13812345678", ip="198.51.100.9").status_code == 200


def test_lookup_needs_the_csrf_token(wo, new_order):
    order = new_order()
    client = Client(enforce_csrf_checks=True)
    assert look(order.number, "13812345678", client=client).status_code == 403
