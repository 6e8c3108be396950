"""统计报表 on a hand-made March 2026: every report's figures are worked out here from the
fixture (what a clerk would count by hand) and compared with the report; the DOCX opens
with python-docx and holds the headings, tables, charts and numbers; every table exports
to xlsx; the worker's task writes the file and tells 热线办; the API; the page, through
the Django client and once in a real browser."""

import datetime as dt
import io
import itertools
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from docx import Document
from playwright.sync_api import expect

from hotline.analytics import reports
from hotline.analytics.reports import REPORTS, base
from hotline.analytics.reports import services as report_services
from hotline.contact.models import AgentStateInterval, ContactFact, Session, SessionLeg
from hotline.core.errors import Invalid
from hotline.core.models import Notification
from hotline.testing import SignedIn
from hotline.workorders.models import Category, Event, WorkOrder

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 4, 15, 10, 0, tzinfo=TZ)  # "now": after the month reported
MARCH = base.Period.parse("2026-03")
DAY = base.Period.parse("2026-03-10")
_refs = itertools.count(1)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 3, year: int = 2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


# --- makers: facts and orders straight into the tables, at fixed times -------------------------


def fact(s: Session, kind: str, when, *, agent=None, wait=None, **detail):
    ContactFact.objects.create(
        at=when,
        kind=kind,
        platform_id=s.platform_id,
        session_id=s.pk,
        agent_id=getattr(agent, "pk", agent),
        channel=s.channel,
        wait_seconds=wait,
        detail=detail,
    )


def contact(
    platform,
    when,
    *,
    channel="voice",
    agent=None,
    wait=None,
    talk=0,
    abandoned=False,
    queued=True,
    rating="",
):
    """One contact: offered, queued (unless refused), then answered (with a leg of
    ``talk`` seconds and the caller's rating) or abandoned."""
    s = Session.objects.create(
        ref=f"R{next(_refs):06d}",
        platform=platform,
        channel=channel,
        created_at=when,
        state="closed",
        agent=agent,
        satisfaction=rating,
        satisfaction_at=when + dt.timedelta(minutes=20) if rating else None,
    )
    fact(s, "offered", when)
    if not queued:
        fact(s, "refused", when, reason="out_of_hours")
        return s
    fact(s, "queued", when)
    if agent is not None:
        answered = when + dt.timedelta(seconds=wait)
        fact(s, "assigned", when, agent=agent, wait=wait)
        fact(s, "answered", answered, agent=agent, wait=wait)
        fact(s, "ended", answered + dt.timedelta(seconds=talk), agent=agent, talk=talk)
        SessionLeg.objects.create(
            session=s,
            agent=agent,
            offered_at=when,
            answered_at=answered,
            ended_at=answered + dt.timedelta(seconds=talk),
            end="closed",
        )
    if abandoned:
        fact(s, "abandoned", when + dt.timedelta(seconds=40), wait=40)
    return s


def category(code: str, name: str, parent=None) -> Category:
    found, _ = Category.objects.get_or_create(code=code, defaults={"name": name, "parent": parent})
    return found


def order(platform, when, leaf, **fields) -> WorkOrder:
    values = {
        "number": f"SY2026{next(_refs):010d}",
        "platform": platform,
        "order_type": "complaint",
        "title": "测试工单",
        "content": "测试内容",
        "created_at": when,
        "category": leaf,
    }
    values.update(fields)
    return WorkOrder.objects.create(**values)


def event(o, action, when, *, unit=None, actor=None, **data):
    Event.objects.create(
        order=o, action=action, at=when, unit=unit, actor=actor, actor_name="测试", data=data
    )


@pytest.fixture
def march(org, users, make_user):
    """The day 10 March: five voice calls (3 answered, 1 abandoned, 1 out of hours) and one
    web chat, agents A and B on duty; March's six orders in three categories, with
    callbacks, signs and one overdue order; one order each in February and March 2025."""
    sy = org.sy
    a = make_user("agent", username="rpt_agent_a", display_name="坐席甲")
    b = make_user("agent", username="rpt_agent_b", display_name="坐席乙")
    contact(sy, at(10, 9, 5), agent=a, wait=10, talk=300, rating="满意")
    contact(sy, at(10, 9, 20), agent=b, wait=30, talk=600, rating="非常满意")
    contact(sy, at(10, 9, 40), abandoned=True)
    contact(sy, at(10, 10, 15), agent=a, wait=20, talk=200, rating="不满意")
    contact(sy, at(10, 23, 0), queued=False)
    contact(sy, at(10, 10, 30), channel="webchat", agent=b, wait=5, talk=100, rating="基本满意")
    for agent, start, hours in ((a, at(10, 8), 4), (b, at(10, 9), 2)):
        AgentStateInterval.objects.create(
            agent=agent,
            platform=sy,
            presence="ready",
            activity="idle",
            started_at=start,
            ended_at=start + dt.timedelta(hours=hours),
        )

    house = category(
        "030101", "物业服务质量", category("0301", "物业管理", category("03", "住房城乡建设"))
    )
    noise = category(
        "080201", "社会生活噪音", category("0802", "噪音扰民", category("08", "生态环境"))
    )
    licence = category(
        "130101", "营业执照办理", category("1301", "企业开办", category("13", "营商环境与政务服务"))
    )
    u0, u1, u2 = org.sy_units
    o1 = order(
        sy,
        at(2),
        house,
        area="吉阳区",
        lead_unit=u0,
        created_by=a,
        dispatched_at=at(2, 11),
        handle_due=at(10),
        replied_at=at(8),
        completed_at=at(9),
        state="completed",
    )
    o2 = order(
        sy,
        at(3),
        house,
        area="吉阳区",
        lead_unit=u0,
        dispatched_at=at(3, 11),
        handle_due=at(6),
        replied_at=at(9),
        completed_at=at(10),
        state="completed",
    )
    order(
        sy,
        at(4),
        house,
        area="天涯区",
        order_type="consult",
        direct=True,
        created_by=a,
        completed_at=at(4),
        state="completed",
    )
    o4 = order(
        sy,
        at(5),
        noise,
        area="天涯区",
        order_type="help",
        lead_unit=u1,
        dispatched_at=at(5, 11),
        handle_due=at(12),
        replied_at=at(11),
        completed_at=at(12),
        state="completed",
    )
    o5 = order(
        sy,
        at(6),
        licence,
        area="崖州区",
        lead_unit=u2,
        dispatched_at=at(6, 11),
        handle_due=at(13),
        state="handling",
        title="营业执照迟迟未办",
    )
    order(
        sy,
        at(7),
        licence,
        area="吉阳区",
        order_type="consult",
        direct=True,
        created_by=b,
        completed_at=at(7),
        state="completed",
    )
    order(sy, at(15, month=2), house, area="吉阳区")  # February: last month
    order(sy, at(15, year=2025), house, area="吉阳区")  # March 2025: a year before
    event(o1, "sign", at(2, 12), unit=u0, late=False)
    event(o2, "sign", at(4, 12), unit=u0, late=True)
    event(o4, "sign", at(5, 12), unit=u1, late=False)
    event(o1, "callback", at(10, 15), satisfaction="满意", late=False)
    event(o2, "callback", at(11, 15), satisfaction="不满意", late=False)
    event(o4, "callback", at(13, 15), satisfaction="非常满意", late=False)
    return SimpleNamespace(a=a, b=b, units=org.sy_units, o5=o5, sy=sy)


def build(report_id, platform, period, now=NOW):
    return REPORTS[report_id].build(platform, period, now=now)


# --- periods --------------------------------------------------------------------------------


def test_periods_parse_and_compare():
    assert (MARCH.start, MARCH.end, MARCH.label) == (
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 31),
        "2026年3月",
    )
    assert MARCH.previous().key == "2026-02" and MARCH.year_before().key == "2025-03"
    week = base.Period.parse("2026-w10")
    assert (week.start, week.end, week.key) == (
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 8),
        "2026-W10",
    )
    assert base.Period.parse("2026").days == 365
    assert base.Period.latest("month", dt.date(2026, 1, 1)).key == "2025-12"
    assert base.Period.latest("week", dt.date(2026, 3, 11)).key == "2026-W10"
    for bad in ("2026-13", "2026-02-30", "03/2026", "", "2026-W60"):
        with pytest.raises(Invalid):
            base.Period.parse(bad)
    with pytest.raises(Invalid, match="热线月报.*月"):
        REPORTS["hotline_monthly"].period("2026-03-10", today=dt.date(2026, 4, 1))
    with pytest.raises(Invalid, match="尚未开始"):
        REPORTS["orders"].period("2026-05", today=dt.date(2026, 4, 1))


# --- each report's figures ------------------------------------------------------------------


def test_daily_traffic_by_hour_and_channel(org, march):
    report = build("traffic_daily", org.sy, DAY)
    summary = {row[0]: row[1] for row in report.table("话务概况").rows}
    # voice: 5 offered, 4 queued, 3 answered, 1 abandoned; 接通率 3/4, waits (10+30+20)/3
    assert summary["进线量（全部渠道）"] == 6
    assert (summary["语音进线"], summary["语音请求人工"], summary["语音人工接通"]) == (5, 4, 3)
    assert summary["接通率"] == "75.0%"
    assert summary["接通率（呼入口径）"] == "60.0%"  # 3 ÷ 5 inbound
    assert summary["平均接通时长"] == "20.0 秒"
    assert summary["呼损率"] == "25.0%"
    assert (summary["在岗坐席"], summary["接待坐席"]) == (2, 2)
    hourly = report.table("分时段话务")
    # 09:00: three calls, two answered (10 s, 30 s), one abandoned; A and B on duty
    assert hourly.row("09:00-10:00") == ["09:00-10:00", 3, 3, 2, 1, "66.7%", "20.0", 2, 2]
    # 10:00: a call (20 s) and a chat (5 s); the mean wait is the calls' (as the KPI's)
    assert hourly.row("10:00-11:00") == ["10:00-11:00", 2, 2, 2, 0, "100.0%", "20.0", 2, 2]
    assert hourly.row("08:00-09:00")[-2:] == [1, 0]  # A signed in, nobody answered yet
    assert hourly.row("23:00-24:00")[1:3] == [1, 0]  # out of hours: never asked for an agent
    assert hourly.row("合计")[1:5] == [6, 5, 4, 1]
    channels = report.table("分渠道话务")
    assert channels.row("语音")[1:6] == [5, 4, 3, 1, "75.0%"]
    assert channels.row("网页在线")[1:4] == [1, 1, 1]
    assert "09:00-10:00（3 通" in report.text


def test_orders_report_by_type_category_area_and_unit(org, march):
    report = build("orders", org.sy, MARCH)
    by_type = report.table("按诉求类型")
    # 6 March orders: 3 complaints (2 dispatched+completed, 1 in handling), 2 consults
    # answered at once, 1 help; 按时办结率 of complaints: o1 on time, o2 late, o5 overdue
    assert by_type.row("投诉")[:6] == ["投诉", 3, "50.0%", 0, 3, 2]
    assert by_type.row("投诉")[6] == "33.3%"
    assert by_type.row("咨询")[:4] == ["咨询", 2, "33.3%", 2]
    total = by_type.row("合计")
    assert total[:6] == ["合计", 6, "100.0%", 2, 4, 5]
    # 按时办结率 = on time (o1, o4) ÷ (completed dispatched o1, o2, o4 + overdue o5)
    assert total[6] == "50.0%"
    assert total[8] == "66.7%"  # callbacks: 满意, 不满意, 非常满意
    top = report.table("按诉求分类（一级）")
    assert top.rows[0][:3] == ["住房城乡建设", 3, "50.0%"]
    assert report.table("诉求分类排行").rows[0][1:3] == [
        "住房城乡建设 / 物业管理 / 物业服务质量",
        3,
    ]
    areas = report.table("按区域")
    assert [r[:2] for r in areas.rows] == [["吉阳区", 3], ["天涯区", 2], ["崖州区", 1]]
    units = {r[0]: r for r in report.table("按承办单位").rows}
    # 市人社局: o1 on time, o2 late (signed late too); 市住建局: o4; 市水务局: o5 overdue
    assert units["市人社局"][1:8] == [2, 2, "50.0%", "50.0%", "100.0%", "50.0%"]
    assert units["市住建局"][1:5] == [1, 1, "100.0%", "100.0%"]
    assert units["市水务局"][1:5] == [1, 1, "—", "0.0%"]
    assert "“物业服务质量”（3 件，占 50.0%）" in report.text
    assert "最高为市住建局（100.0%" in report.text and "最低为市水务局（0.0%" in report.text


def test_agent_workload(org, march):
    report = build("workload", org.sy, MARCH)
    rows = {r[0]: r for r in report.table("坐席工作量").rows}
    # 甲: two calls 300 + 200 s, orders o1 and a consult (即时答复), rated 满意 and 不满意
    assert rows["坐席甲"][2:9] == [2, 0.1, 250, 2, 1, 2, "50.0%"]
    # 乙: a call 600 s and a chat 100 s, one consult taken, rated 非常满意 and 基本满意
    assert rows["坐席乙"][2:9] == [2, 0.2, 350, 1, 1, 2, "100.0%"]
    # 工时利用率: both were ready (working) the whole time signed in: 4 h and 2 h
    assert rows["坐席甲"][9:] == [4.0, "100.0%"] and rows["坐席乙"][9:] == [2.0, "100.0%"]
    assert rows["合计"][2:9] == [4, 0.3, 300, 3, 2, 4, "75.0%"]


def test_satisfaction_five_levels_by_channel_and_unit(org, march):
    report = build("satisfaction", org.sy, MARCH)
    front = report.table("前台服务评价（按渠道）")
    assert front.headers[1:6] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert front.row("语音")[1:] == [1, 1, 0, 1, 0, 3, "66.7%"]
    assert front.row("网页在线")[1:] == [0, 0, 1, 0, 0, 1, "100.0%"]
    assert front.row("合计")[1:] == [1, 1, 1, 1, 0, 4, "75.0%"]
    units = {r[0]: r for r in report.table("回访评价（按主办单位）").rows}
    assert units["市人社局"][1:] == [0, 1, 0, 1, 0, 2, "50.0%"]
    assert units["市住建局"][1:] == [1, 0, 0, 0, 0, 1, "100.0%"]
    assert report.table("回访评价（按来源渠道）").row("合计")[-2:] == [3, "66.7%"]
    assert "满意率最低的主办单位为市人社局（50.0%" in report.text


def test_weekly_overdue_list_is_the_work_order_apps_list(org, march):
    report = build("overdue_weekly", org.sy, base.Period.parse("2026-W15"))
    table = report.table("逾期工单")
    assert [r[1] for r in table.rows] == [march.o5.number]  # only o5 is open past its deadline
    assert table.rows[0][3] == "三亚市水务局" and table.rows[0][4] == "办理中"
    assert "超过时限的共 1 件" in report.text


def test_business_environment_report_reads_the_declared_categories(org, march):
    report = build("business_monthly", org.sy, MARCH)
    assert "工单未设“营商环境”标签" in report.note and "13 营商环境与政务服务" in report.note
    leaves = report.table("营商环境类工单（按诉求分类）")
    assert leaves.rows == [["营商环境与政务服务 / 企业开办 / 营业执照办理", 2, "100.0%", 1, 1, 1]]
    assert "受理营商环境类工单 2 件，占全部工单的 33.3%" in report.text
    assert "按时办结率 0.0%" in report.text  # o5 is overdue in handling
    assert report.table("不满意工单").rows == []


# --- the monthly DOCX --------------------------------------------------------------------------


def test_monthly_docx_has_headings_tables_charts_and_a_narrative_from_the_data(org, march):
    report = build("hotline_monthly", org.sy, MARCH)
    document = Document(io.BytesIO(reports.render(report, "docx")))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    for title in (
        "一、总体情况",
        "二、话务情况",
        "三、工单受理情况",
        "四、热点问题",
        "五、承办单位办理情况",
        "六、考核指标完成情况",
    ):
        assert title in headings
    assert document.paragraphs[0].text == "三亚市12345热线月报"
    assert len(document.inline_shapes) == 3  # daily trend, channel mix, top categories
    assert len(document.tables) == len(report.tables)
    text = "\n".join(p.text for p in document.paragraphs)
    # volumes and trend: 6 orders in March, 1 in February, 1 in March 2025
    assert "受理工单 6 件，环比上月（1 件）增长 500.0%，同比去年同月（1 件）增长 500.0%" in text
    assert "平台共进线 6 通（其中语音来电 5 通）" in text
    # the top category with its count, the units' timeliness, each KPI against its target
    assert "“物业服务质量”（3 件，占 50.0%）" in text
    assert "最低为市水务局（0.0%" in text
    assert "接通率 75.0%，未达到目标（≥ 95.0%），低于目标 20.0 个百分点。" in text
    assert "平均接通时长 20.0 秒，未达到目标（≤ 15.0 秒），长于目标 5.0 秒。" in text
    kpis = next(t for t in document.tables if t.rows[0].cells[0].text == "指标")
    answer = next(r for r in kpis.rows if r.cells[0].text == "接通率")
    assert [c.text for c in answer.cells[1:4]] == ["75.0%", "≥ 95.0%", "未达标"]


def test_annual_report_is_by_month(org, march):
    report = build("annual", org.sy, base.Period.parse("2026"))
    months = report.table("话务量（按月）")
    assert months.row("3月")[1] == 6
    assert "受理工单 7 件，同比上年（1 件）增长 600.0%" in report.text  # Feb + March 2026
    document = Document(io.BytesIO(reports.render(report, "docx")))
    assert len(document.inline_shapes) == 3


def test_every_table_exports_to_xlsx(org, march):
    for report_id, period in (("hotline_monthly", MARCH), ("traffic_daily", DAY)):
        report = build(report_id, org.sy, period)
        book = openpyxl.load_workbook(io.BytesIO(reports.render(report, "xlsx")))
        assert book.sheetnames == ["概要", *[t.title[:31] for t in report.tables]]
        for table in report.tables:
            sheet = book[table.title[:31]]
            assert [c.value for c in sheet[1]] == table.headers
            assert sheet.max_row >= len(table.rows) + 1
    daily = openpyxl.load_workbook(
        io.BytesIO(reports.render(build("traffic_daily", org.sy, DAY), "xlsx"))
    )
    row = next(r for r in daily["分时段话务"].iter_rows(values_only=True) if r[0] == "09:00-10:00")
    assert row[:5] == ("09:00-10:00", 3, 3, 2, 1)


# --- scheduled by the worker -----------------------------------------------------------------


def test_the_daily_task_writes_yesterdays_report_and_tells_the_office(
    org, march, make_user, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    office = make_user("office", username="rpt_office")
    analyst = make_user("analyst", username="rpt_analyst")
    made = report_services.scheduled_reports(("traffic_daily",), "day", now=at(11, 0, 30))
    names = sorted(s.name for s in made)
    assert "SY-traffic_daily-2026-03-10.xlsx" in names
    path = tmp_path / "reports" / "SY-traffic_daily-2026-03-10.xlsx"
    book = openpyxl.load_workbook(path)
    assert book["话务概况"]["B2"].value == 6
    notice = Notification.objects.get(
        recipient=office, kind="report.ready", link__contains="SY-traffic"
    )
    assert notice.title == "话务日报已生成（2026年3月10日）"
    assert notice.link == "/analytics/reports/files/SY-traffic_daily-2026-03-10.xlsx"
    assert not Notification.objects.filter(recipient=analyst).exists()  # the office is told
    # run again (a restarted worker): the file is rewritten, the office not told twice
    report_services.scheduled_reports(("traffic_daily",), "day", now=at(11, 0, 40))
    assert Notification.objects.filter(recipient=office, link=notice.link).count() == 1


def test_the_periodic_tasks_are_scheduled_at_0030_and_on_the_first_at_0200(
    settings, tmp_path, org, make_user
):
    from hotline.analytics import tasks

    settings.VAR_DIR = tmp_path
    office = make_user("office", username="rpt_office2")
    assert tasks.daily_reports.task_class().validate_datetime(dt.datetime(2026, 3, 11, 0, 30))
    assert not tasks.daily_reports.task_class().validate_datetime(dt.datetime(2026, 3, 11, 1, 30))
    assert tasks.monthly_reports.task_class().validate_datetime(dt.datetime(2026, 4, 1, 2, 0))
    assert not tasks.monthly_reports.task_class().validate_datetime(dt.datetime(2026, 4, 2, 2, 0))
    tasks.daily_reports.call_local()
    yesterday = base.Period.latest("day", dt.date.today()).key
    assert (tmp_path / "reports" / f"SY-traffic_daily-{yesterday}.xlsx").is_file()
    assert Notification.objects.filter(recipient=office, kind="report.ready").exists()


# --- API and page ----------------------------------------------------------------------------


def test_api_lists_and_makes_reports(org, march, users, make_user, api, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    analyst = make_user("analyst", username="rpt_api_analyst")
    listed = api(analyst).get("/api/reports").json()["items"]
    assert [i["id"] for i in listed] == list(REPORTS)
    monthly = next(i for i in listed if i["id"] == "hotline_monthly")
    assert monthly["formats"] == ["docx", "xlsx"] and monthly["periods"][0]["kind"] == "month"
    response = api(analyst).post("/api/reports/hotline_monthly?period=2026-03&format=docx")
    assert response.status_code == 200
    assert response["Content-Type"].endswith("wordprocessingml.document")
    assert "SY-hotline_monthly-2026-03.docx" in response["Content-Disposition"]
    document = Document(io.BytesIO(response.content))
    assert "受理工单 6 件" in "\n".join(p.text for p in document.paragraphs)
    assert (tmp_path / "reports" / "SY-hotline_monthly-2026-03.docx").is_file()
    xlsx = api(analyst).post("/api/reports/orders?period=2026-03-10")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].endswith("spreadsheetml.sheet")

    refusals = [
        ("/api/reports/hotline_monthly?period=2026-3", 400, "统计期格式应为"),
        ("/api/reports/hotline_monthly?period=2026-03-10", 400, "统计期应为"),
        ("/api/reports/traffic_daily?period=2026-03-10&format=docx", 400, "可导出的格式为"),
        ("/api/reports/nothing?period=2026-03", 404, "没有这个报表"),
        ("/api/reports/orders?period=2026-03&platform=XX", 404, "平台不存在"),
    ]
    for url, status, message in refusals:
        refused = api(analyst).post(url)
        assert refused.status_code == status, url
        assert message in refused.json()["detail"], url
    assert api(users.agent).get("/api/reports").status_code == 403
    assert api(users.handler).post("/api/reports/orders?period=2026-03").status_code == 403
    assert api(None).get("/api/reports").status_code == 401


def test_page_makes_lists_and_downloads_reports(
    org, march, users, make_user, login, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    analyst = make_user("analyst", username="rpt_page_analyst")
    client = login(analyst)
    page = client.get("/analytics/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    for kind in REPORTS.values():
        assert kind.name in html
    assert "还没有生成的报表" in html
    made = client.post(
        "/analytics/reports/satisfaction/generate",
        {"period": "2026-03", "format": "xlsx", "platform": "SY"},
    )
    assert made.status_code == 302
    listed = client.get(made["Location"]).content.decode()
    assert "已生成：三亚市12345热线满意度（2026年3月）.xlsx" in listed
    assert 'data-file="SY-satisfaction-2026-03.xlsx"' in listed
    download = client.get("/analytics/reports/files/SY-satisfaction-2026-03.xlsx")
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert book["前台服务评价（按渠道）"]["G2"].value == 3  # 语音: three ratings

    bad = client.post(
        "/analytics/reports/satisfaction/generate", {"period": "三月", "format": "xlsx"}
    )
    assert bad.status_code == 302
    assert "统计期格式应为" in client.get(bad["Location"]).content.decode()
    for name in ("../secret_key", "SY-satisfaction-2026-04.xlsx", "HN-x-2026.xlsx"):
        assert client.get(f"/analytics/reports/files/{name}").status_code == 404
    assert (
        client.post("/analytics/reports/nothing/generate", {"period": "2026-03"}).status_code == 404
    )
    assert login(users.agent).get("/analytics/reports/").status_code == 403
    assert (
        login(users.handler)
        .get("/analytics/reports/files/SY-satisfaction-2026-03.xlsx")
        .status_code
        == 403
    )
    # the YZ district's analyst does not see (nor fetch) the city's files
    yz = make_user("analyst", platform=org.yz, username="rpt_yz_analyst")
    assert login(yz).get("/analytics/reports/files/SY-satisfaction-2026-03.xlsx").status_code == 404


# --- in a real browser: pick March, make the DOCX, find it, download it -----------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reports_page_in_a_browser(
    browser, live_server, org, make_user, march, screenshot_dir, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    analyst = make_user("analyst", username="rpt_browser", display_name="分析员周宁")
    person = SignedIn(browser, live_server.url, analyst, screenshot_dir, prefix="reports-")
    try:
        person.goto("/analytics/reports/")
        page = person.page
        expect(page.locator("form.report-row")).to_have_count(8)
        monthly = page.locator("form[data-report=hotline_monthly]")
        monthly.locator("input[name=period]").fill("2026-03")
        with page.expect_navigation():
            monthly.get_by_role("button", name="生成 DOCX").click()
        expect(page.locator(".alert-success, .alert")).to_contain_text(
            "三亚市12345热线月报（2026年3月）.docx"
        )
        row = page.locator("tr[data-file='SY-hotline_monthly-2026-03.docx']")
        expect(row).to_have_class("report-new")
        orders = page.locator("form[data-report=orders]")
        orders.locator("select.report-kind").select_option("week")
        expect(orders.locator("input[name=period]")).to_have_attribute("type", "week")
        person.shoot("list", full=True)
        with page.expect_download() as downloaded:
            row.get_by_role("link", name="下载").click()
        document = Document(str(downloaded.value.path()))
        assert "一、总体情况" in [p.text for p in document.paragraphs]
        assert len(document.inline_shapes) == 3
        person.clean()
    finally:
        person.close()
