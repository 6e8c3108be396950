"""The KPI pages: 指标一览 (period picker, scope, values against targets, xlsx export),
指标明细 (the records behind a figure, linked to the orders) and 指标定义 (from the
registry) — through the Django client, and once in a real browser with screenshots."""

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from hotline.analytics.kpis import KPI_LIST
from hotline.testing import SignedIn

from .test_kpis import at, call, event, order

MARCH = "period=custom&date_from=2026-03-01&date_to=2026-03-31"


@pytest.fixture
def march(org, users, make_user):
    """Three calls (two answered), three consultations (two answered at the desk), one
    order signed late by 市人社局."""
    agent = make_user("agent", username="kpi_page_agent", display_name="话务员吴敏")
    call(org.sy, at(3, 9), answered_by=agent, wait=12)
    call(org.sy, at(3, 10), answered_by=agent, wait=16)
    call(org.sy, at(4, 11), abandoned=True)
    for direct in (True, True, False):
        order(org.sy, order_type="consult", direct=direct, created_by=agent)
    event(order(org.sy), "sign", at(6), unit=org.sy_units[0], late=True)
    return agent


def test_list_shows_each_kpi_with_its_target_and_links_to_records(org, users, login, march):
    page = login(users.dispatcher).get(f"/analytics/kpis/?{MARCH}")
    assert page.status_code == 200
    html = page.content.decode()
    for kpi in KPI_LIST:
        assert kpi.name in html
    assert "66.7%" in html  # 接通率 2 ÷ 3
    assert "未达标" in html
    assert f"/analytics/kpis/answer_rate/records?{MARCH.replace('&', '&amp;')}" in html


def test_period_picker_last_month_and_bad_periods(users, login):
    client = login(users.dispatcher)
    assert client.get("/analytics/kpis/?period=last_month").status_code == 200
    assert client.get("/analytics/kpis/").status_code == 200  # 本月 by default
    bad = client.get("/analytics/kpis/?period=custom&date_from=2024-01-01&date_to=2026-03-01")
    assert bad.status_code == 400 and "统计期不能超过 400 天" in bad.content.decode()
    empty = client.get("/analytics/kpis/?period=custom&date_from=2026-03-01")
    assert empty.status_code == 400 and "自定义统计期须填写开始与结束日期" in empty.content.decode()


def test_records_page_lists_the_orders_behind_the_figure(org, users, login, march):
    client = login(users.dispatcher)
    page = client.get(f"/analytics/kpis/instant_answer_rate/records?{MARCH}&part=numerator")
    html = page.content.decode()
    assert page.status_code == 200 and html.count('href="/orders/SY') == 2
    whole = client.get(f"/analytics/kpis/instant_answer_rate/records?{MARCH}&part=denominator")
    assert whole.content.decode().count('href="/orders/SY') == 3
    assert client.get(f"/analytics/kpis/nothing/records?{MARCH}").status_code == 404
    blend = client.get(f"/analytics/kpis/answer_rate/records?{MARCH}&part=everything")
    assert blend.status_code == 400 and "明细须为分子或分母" in blend.content.decode()


def test_export_is_the_table_as_xlsx(users, login, march):
    response = login(users.dispatcher).get(f"/analytics/kpis/export/?{MARCH}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("指标", "数值", "分子", "分母", "目标")
    answer = next(r for r in rows if r[0] == "接通率")
    assert answer[1:4] == ("66.7%", "2", "3") and answer[5] == "未达标"
    assert len(rows) == len(KPI_LIST) + 1


def test_definitions_page_and_who_may_see(users, login):
    client = login(users.dispatcher)
    html = client.get("/analytics/kpis/definitions/").content.decode()
    for kpi in KPI_LIST:
        assert kpi.formula in html
    assert "需人员档案" in html  # turnover is listed as not yet measurable, not faked
    assert login(users.sys_admin).get("/analytics/kpis/").status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_kpi_pages_in_a_browser(browser, live_server, org, users, march, screenshot_dir):
    person = SignedIn(browser, live_server.url, users.dispatcher, screenshot_dir, prefix="kpi-")
    try:
        person.goto(f"/analytics/kpis/?{MARCH}")
        row = person.page.locator("tr[data-kpi=answer_rate]")
        expect(row.locator(".kpi-value")).to_have_text("66.7%")
        expect(person.page.locator("tr[data-kpi=instant_answer_rate] .badge")).to_have_text(
            "未达标"
        )
        person.shoot("list", full=True)
        with person.page.expect_navigation():
            row.locator(".kpi-value a").click()
        expect(person.page.locator("h1.page-title")).to_have_text("接通率 · 指标明细")
        expect(person.page.locator("table.kpi-records tbody tr")).to_have_count(2)
        person.shoot("records")
        with person.page.expect_navigation():
            person.page.get_by_role("link", name="分母").click()
        expect(person.page.locator("table.kpi-records tbody tr")).to_have_count(3)
        person.goto("/analytics/kpis/definitions/")
        expect(person.page.locator("#answer_rate")).to_contain_text("basis")
        person.shoot("definitions")
        person.clean()
    finally:
        person.close()
