"""全文检索 of work orders: words of title, content, answer and every branch's reply;
synonyms; order numbers; a substring fallback; scoped like every list."""

import pytest

from hotline.workorders import selectors
from hotline.workorders.selectors import OrderFilter

pytestmark = pytest.mark.django_db


def found(user, q, **filters) -> list[str]:
    return sorted(o.title for o in selectors.orders_filtered(user, OrderFilter(q=q, **filters)))


@pytest.fixture
def orders(wo, new_order, act):
    noise = new_order(title="夜间施工噪音扰民", content="工地每晚十一点后仍在打桩，影响休息。")
    insurance = new_order(
        title="异地就医报销", content="咨询在外地住院后医疗保险如何报销。", order_type="consult"
    )
    water = new_order(title="小区停水", content="幸福家园3号楼从早上开始没有水。")
    water = act(wo.dispatcher, water, "dispatch", unit=wo.units.a, co_units=[wo.units.c])
    return {"noise": noise, "insurance": insurance, "water": water}


def test_words_of_title_and_content_find_orders(wo, orders):
    assert found(wo.dispatcher, "噪音") == ["夜间施工噪音扰民"]
    assert found(wo.dispatcher, "打桩 休息") == ["夜间施工噪音扰民"]
    assert found(wo.dispatcher, "打桩 报销") == []  # every word must be there


def test_a_synonym_finds_the_order(wo, orders):
    assert found(wo.dispatcher, "医保怎么报销") == ["异地就医报销"]


def test_a_co_units_reply_is_searchable(wo, orders, act):
    order = orders["water"]
    act(wo.handler_c, order, "sign")
    act(wo.handler_c, order, "reply", content="已安排抢修队更换破裂的供水管道，下午恢复供水。")
    assert found(wo.dispatcher, "供水管道") == ["小区停水"]


def test_the_lead_reply_and_the_answer_are_searchable(wo, new_order):
    new_order(
        title="咨询居住证", content="外地户籍如何办理。", direct=True, answer="携带租房合同到派出所"
    )
    assert found(wo.dispatcher, "租房合同") == ["咨询居住证"]


def test_an_order_number_finds_that_order(wo, orders):
    number = orders["noise"].number
    assert found(wo.dispatcher, number) == ["夜间施工噪音扰民"]


def test_text_the_segmenter_splits_differently_is_found_as_a_substring(wo, orders):
    # "家园3" spans two jieba words; the substring fallback still finds it.
    assert found(wo.dispatcher, "家园3") == ["小区停水"]


def test_search_respects_scope_and_other_filters(wo, orders):
    assert found(wo.handler_b, "噪音") == []  # unit B holds no branch of it
    assert found(wo.handler_c, "停水") == ["小区停水"]
    assert found(wo.dispatcher, "停水", order_type="consult") == []


def test_the_list_api_searches_too(wo, orders, call):
    response = call(wo.dispatcher, "get", "/api/workorders", {"q": "医保"})
    assert response.status_code == 200
    assert [item["title"] for item in response.json()["items"]] == ["异地就医报销"]


# --- filters and sorting of the list ------------------------------------------------------------


def test_category_filter_takes_the_whole_subtree(wo, new_order):
    from .conftest import UTILITY_LEAF, category

    new_order(title="停水三天", category=category(UTILITY_LEAF))
    new_order(title="工资拖欠")
    parent = category(UTILITY_LEAF).parent
    assert found(wo.dispatcher, "", category=parent.pk) == ["停水三天"]
    assert found(wo.dispatcher, "", category=parent.parent.pk) == ["停水三天"]


def test_area_channel_urgency_and_date_filters(wo, new_order):
    import datetime as dt

    from django.utils import timezone

    last_week = timezone.now() - dt.timedelta(days=7)
    new_order(title="崖州区网上投诉", area="崖州区", channel="web", now=last_week)
    new_order(title="天涯区紧急来电", area="天涯区", urgency="urgent")
    assert found(wo.dispatcher, "", area="崖州区") == ["崖州区网上投诉"]
    assert found(wo.dispatcher, "", channel="web") == ["崖州区网上投诉"]
    assert found(wo.dispatcher, "", urgency="urgent") == ["天涯区紧急来电"]
    today = timezone.localdate()
    assert found(wo.dispatcher, "", created_from=today) == ["天涯区紧急来电"]
    assert found(wo.dispatcher, "", created_to=today - dt.timedelta(days=1)) == ["崖州区网上投诉"]


def test_sort_orders(wo, new_order, act):
    first, second = new_order(title="甲"), new_order(title="乙")
    act(wo.dispatcher, first, "dispatch", unit=wo.units.a)
    act(wo.dispatcher, first, "urge")
    newest = selectors.orders_filtered(wo.dispatcher, OrderFilter(sort="newest"))
    oldest = selectors.orders_filtered(wo.dispatcher, OrderFilter(sort="oldest"))
    urged = selectors.orders_filtered(wo.dispatcher, OrderFilter(sort="urged"))
    assert [o.pk for o in newest] == [second.pk, first.pk]
    assert [o.pk for o in oldest] == [first.pk, second.pk]
    assert urged[0].pk == first.pk


def test_the_api_filters_and_refuses_bad_values_in_chinese(wo, orders, call):
    ok = call(wo.dispatcher, "get", "/api/workorders", {"channel": "phone", "sort": "oldest"})
    assert ok.status_code == 200 and ok.json()["total"] == 3
    for bad in ({"channel": "pigeon"}, {"sort": "random"}, {"urgency": "x"}):
        response = call(wo.dispatcher, "get", "/api/workorders", bad)
        assert response.status_code == 422
        assert "取值不正确" in response.json()["detail"]
    backwards = call(
        wo.dispatcher,
        "get",
        "/api/workorders",
        {"created_from": "2026-03-02", "created_to": "2026-03-01"},
    )
    assert backwards.status_code == 422


def test_the_list_page_marks_the_words_that_found_an_order(wo, orders, login):
    page = login(wo.dispatcher).get("/orders/", {"q": "噪音"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<mark>噪音</mark>" in html and "异地就医报销" not in html


def test_the_list_page_refuses_a_bad_date_range(wo, orders, login):
    page = login(wo.dispatcher).get(
        "/orders/", {"created_from": "2026-03-02", "created_to": "2026-03-01"}
    )
    assert page.status_code == 400
    assert "结束日期不能早于开始日期" in page.content.decode()


def test_near_identical_text_is_found_among_open_orders(wo, orders, new_order, act):
    similar = selectors.similar_open(
        wo.agent, "夜间施工噪音扰民 工地每晚十一点以后还在打桩，严重影响休息"
    )
    assert [o.title for o in similar] == ["夜间施工噪音扰民"]
    assert 0.5 <= similar[0].similarity <= 1
    assert selectors.similar_open(wo.agent, "咨询护照办理需要哪些材料") == []
    # a closed order is no longer a duplicate candidate
    act(wo.dispatcher, orders["noise"], "cancel", reason="来电人撤回诉求")
    assert selectors.similar_open(wo.agent, "夜间施工噪音扰民 工地每晚打桩") == []


def test_the_intake_prompt_shows_near_identical_open_orders(wo, orders, login):
    client = login(wo.agent)
    prompt = client.get(
        "/orders/new/",
        {"title": "夜间施工噪音扰民", "content": "工地每晚十一点后还在打桩"},
        headers={"HX-Request": "true"},
    )
    html = prompt.content.decode()
    assert prompt.status_code == 200
    assert "内容相近的在办工单" in html and orders["noise"].number in html
    assert "内容相似度" in html


def test_the_prompt_hides_confidential_orders_from_agents(wo, new_order, login):
    new_order(title="举报某单位违规", caller_phone="13900001111", confidential=True)
    html = (
        login(wo.agent)
        .get("/orders/new/", {"caller_phone": "13900001111"}, headers={"HX-Request": "true"})
        .content.decode()
    )
    assert "举报某单位违规" not in html
