"""Totals of long lists are capped (总数封顶): the API says so with ``total_capped``, the
list page shows “N+” and asks for narrower filters; the substring fallback of search goes
through a trigram index on PostgreSQL and looks back one year on SQLite."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from hotline.workorders import selectors
from hotline.workorders.selectors import OrderFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(wo, new_order, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    return [new_order(title=f"路灯不亮 {i}") for i in range(5)]


def test_the_api_caps_the_total_and_says_so(wo, five, call):
    body = call(wo.dispatcher, "get", "/api/workorders", {"limit": 2}).json()
    assert (body["total"], body["total_capped"], len(body["items"])) == (3, True, 2)


def test_an_exact_total_below_the_cap_is_not_flagged(wo, five, call, new_order):
    new_order(title="咨询公积金提取", order_type="consult")
    body = call(wo.dispatcher, "get", "/api/workorders", {"type": "consult", "limit": 5}).json()
    assert (body["total"], body["total_capped"]) == (1, False)


def test_the_last_page_gives_the_exact_total(wo, five, call):
    body = call(wo.dispatcher, "get", "/api/workorders", {"limit": 2, "offset": 4}).json()
    assert (body["total"], body["total_capped"], len(body["items"])) == (5, False, 1)


def test_the_list_page_shows_a_capped_total_and_asks_for_filters(wo, five, login):
    page = login(wo.dispatcher).get("/orders/").content.decode()
    assert "共 3+ 件" in page
    assert "结果过多，请增加筛选条件" in page
    assert page.count('class="order-title"') == 3  # the rows within the cap


def test_a_list_within_the_cap_shows_its_exact_total(wo, five, login, new_order):
    new_order(title="咨询公积金提取", order_type="consult")
    page = login(wo.dispatcher).get("/orders/?type=consult").content.decode()
    assert "共 1 件" in page
    assert "结果过多" not in page


def found(user, q) -> list[str]:
    return sorted(o.title for o in selectors.orders_filtered(user, OrderFilter(q=q)))


def test_a_substring_the_segmenter_splits_is_found_ignoring_case(wo, new_order):
    new_order(title="ETC扣费异常", content="高速通行费被重复扣除两次。")
    # jieba cuts 扣除两次 differently from the query; the words find nothing
    assert found(wo.dispatcher, "复扣除两") == ["ETC扣费异常"]
    assert found(wo.dispatcher, "etc扣费") == ["ETC扣费异常"]


def test_like_wildcards_in_the_query_are_plain_characters(wo, new_order):
    new_order(title="满减优惠未兑现", content="商家宣传满100减50%，结账时拒绝优惠。")
    assert found(wo.dispatcher, "减50%") == ["满减优惠未兑现"]
    assert found(wo.dispatcher, "减5_%") == []


def test_the_substring_fallback_reaches_old_orders_only_with_an_index(wo, new_order):
    long_ago = timezone.now() - dt.timedelta(days=selectors.SUBSTRING_SCAN_DAYS + 30)
    new_order(title="旧案复查", content="去年反映的违建至今未拆除。", now=long_ago)
    expected = ["旧案复查"] if connection.vendor == "postgresql" else []
    # 建 alone is no indexed word (违建 is), so the words find nothing. SQLite scans rows
    # for a substring: the last year only; PostgreSQL has the trigram index
    assert found(wo.dispatcher, "建至今未拆") == expected


def test_a_unit_gets_the_platforms_answer_within_its_orders(wo, new_order):
    new_order(title="夜间施工噪音扰民", content="工地每晚打桩。")
    # the word is known (the platform's orders have it): no substring scan for the unit
    assert found(wo.handler_b, "噪音") == []
    assert found(wo.dispatcher, "噪音") == ["夜间施工噪音扰民"]
