"""The assessment from stored records: a March of calls and orders made with the ORM at
fixed times, manual items entered with evidence and approved by a second person, the API
contract of issue #8 (scorecard, 404 for an unknown scheme, 422 for a bad period), the
pages (scorecard, xlsx, keeping a result, manual items) and once in a real browser."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from playwright.sync_api import expect

from hotline.analytics import services
from hotline.analytics.models import ManualItem, ScorecardRun
from hotline.core.errors import Forbidden, Unprocessable
from hotline.core.models import AuditEntry

from .test_kpis import at, call, order

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def people(make_user):
    return type(
        "People",
        (),
        {
            "office": make_user("office", username="office_sy", display_name="热线办刘洋"),
            "manager": make_user("manager", username="manager_sy", display_name="项目经理周婷"),
        },
    )


@pytest.fixture
def march(org, make_user):
    """Four calls (three answered after 10, 20, 30 s), four consultations (three answered
    at the desk): 接通率 75%, 平均接通时长 20 s, 即时答复率 75%."""
    agent = make_user("agent", username="assess_agent")
    for hour, wait in ((9, 10), (10, 20), (11, 30)):
        call(org.sy, at(3, hour), answered_by=agent, wait=wait)
    call(org.sy, at(4, 9), abandoned=True)
    for direct in (True, True, True, False):
        order(org.sy, order_type="consult", direct=direct, created_by=agent, created_at=at(5))
    return agent


def enter(person, org, item, kind, **fields):
    fields.setdefault("note", "市民来电投诉坐席态度生硬，录音已核实")
    return services.manual_item_enter(
        actor=person, platform=org.sy, scheme="sanya", item_code=item, kind=kind,
        month="2026-03", **fields,
    )  # fmt: skip


def test_sanya_march_from_stored_records(org, people, march, api):
    complaints = enter(people.office, org, "13", "complaint", count=5)
    services.manual_item_review(actor=people.manager, item=complaints, approve=True)
    enter(people.office, org, "13", "complaint", count=9)  # not approved: does not count
    body = api(people.office).get("/api/assessments/sanya?period=2026-03").json()
    items = {i["name"]: i for i in body["items"]}
    assert len(body["items"]) == 17
    # 接通率 75%: 20 points under 95% → −10, 扣完为止
    assert (items["接通率"]["value"], items["接通率"]["points"]) == (0.75, 0)
    assert items["接通率"]["rule"].endswith("实际 75% → 扣 10 分，得 0 分")
    assert items["平均接通时长"]["points"] == 4  # 20 s: 5 s over → one 3 s → −1
    assert items["即时答复率"]["points"] == 5  # 75% ≥ 50%
    assert items["投诉率"]["points"] == 8  # 5 approved, 3 free → −2
    # everything not measured keeps its points (flagged); 附加项 0:
    # 0 + 4 + 10 + 5 + 5 + 5 + 5 + 10 + 5 + 5 + 5 + 5 + 8 + 5 + 5 + 5 + 0 = 87
    assert (body["total"], body["grade"], body["payment_rate"]) == (87, "良好", 0.1)
    assert "满意率" in body["missing"]
    quarter = api(people.office).get("/api/assessments/sanya?period=2026-Q1").json()
    assert quarter["period_label"] == "2026年第1季度" and len(quarter["items"]) == 17


def test_api_contract_refusals(org, people, users, api):
    client = api(people.office)
    unknown = client.get("/api/assessments/beijing?period=2026-03")
    assert unknown.status_code == 404 and "没有这个考核方案" in unknown.json()["detail"]
    for bad in ("2026-13", "March", "2026-Q9", ""):
        refused = client.get(f"/api/assessments/sanya?period={bad}")
        assert refused.status_code == 422 and "统计期" in refused.json()["detail"]
    assert api(users.agent).get("/api/assessments/sanya?period=2026-03").status_code == 403
    assert api(None).get("/api/assessments/sanya?period=2026-03").status_code == 401
    schemes = client.get("/api/assessments").json()
    assert {s["id"]: (s["items"], s["nominal"]) for s in schemes}["sanya"] == (17, 110)
    for scheme in ("ledong", "shaanxi", "xicheng", "chengmai"):
        got = client.get(f"/api/assessments/{scheme}?period=2026")
        assert got.status_code == 200 and {"total", "grade", "payment_rate"} <= set(got.json())


def test_manual_items_need_evidence_a_second_person_and_are_audited(org, people, users):
    with pytest.raises(Unprocessable, match="佐证说明"):
        enter(people.office, org, "13", "complaint", note=" ")
    with pytest.raises(Unprocessable, match="2–10 分"):
        enter(people.office, org, "13", "bad_effect", points=12)
    with pytest.raises(Unprocessable, match="没有此类事项"):
        enter(people.office, org, "13", "banner")
    with pytest.raises(Unprocessable, match="0% 至 100%"):
        enter(people.office, org, "16", "value", value=1.3)
    fake = SimpleUploadedFile("锦旗.png", b"not a picture at all", content_type="image/png")
    with pytest.raises(Unprocessable, match="不符"):
        enter(people.office, org, "17.3", "banner", upload=fake)
    with pytest.raises(Forbidden):
        enter(users.agent, org, "13", "complaint")
    assert not ManualItem.objects.exists()

    photo = SimpleUploadedFile("锦旗.png", PNG, content_type="image/png")
    banner = enter(people.office, org, "17.3", "banner", note="市民王先生送锦旗", upload=photo)
    assert banner.attachment_name == "锦旗.png" and banner.state == "pending"
    with pytest.raises(Forbidden, match="录入人以外"):
        services.manual_item_review(actor=people.office, item=banner, approve=True)
    with pytest.raises(Unprocessable, match="审核意见"):
        services.manual_item_review(actor=people.manager, item=banner, approve=False)
    services.manual_item_review(actor=people.manager, item=banner, approve=True)
    actions = list(
        AuditEntry.objects.filter(object_type="analytics.manualitem", object_id=str(banner.pk))
        .order_by("pk")
        .values_list("action", "actor_id")
    )
    assert actions == [
        ("assessment.manual.enter", people.office.pk),
        ("assessment.manual.approve", people.manager.pk),
    ]


def test_scorecard_page_export_and_kept_result(org, people, users, march, login):
    client = login(people.manager)
    page = client.get("/analytics/assessments/?scheme=sanya&period=2026-03")
    html = page.content.decode()
    assert page.status_code == 200 and "三亚12345热线运营考核标准" in html
    assert "实际 75% → 扣 10 分，得 0 分" in html and "良好" in html
    bad = client.get("/analytics/assessments/?scheme=sanya&period=2026-3")
    assert bad.status_code == 422 and "统计期格式不正确" in bad.content.decode()
    sheet = load_workbook(
        io.BytesIO(client.get("/analytics/assessments/export/?scheme=sanya&period=2026-03").content)
    ).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("编号", "考核项目", "类别", "分值", "实际值", "得分", "计分规则")
    assert next(r for r in rows if r[1] == "接通率")[4:6] == ("75%", 0)
    assert next(r for r in rows if r[1] == "总分")[5] == 89  # 87 above, without the complaints
    kept = client.post("/analytics/assessments/store/", {"scheme": "sanya", "period": "2026-03"})
    assert kept.status_code == 302
    run = ScorecardRun.objects.get()
    assert (run.total, run.grade, run.period, run.run_by) == (89, "良好", "2026-03", people.manager)
    assert AuditEntry.objects.filter(action="assessment.run.store", object_id=str(run.pk)).exists()
    assert login(users.agent).get("/analytics/assessments/").status_code == 403


def test_manual_item_pages(org, people, login):
    office = login(people.office)
    form = {
        "scheme": "sanya",
        "entry": "13:bad_effect",
        "month": "2026-03",
        "count": "1",
        "points": "4",
        "note": "投诉经市级媒体转载，造成不良影响",
        "attachment": SimpleUploadedFile("说明.pdf", b"%PDF-1.4 evidence", "application/pdf"),
    }
    assert office.post("/analytics/assessments/manual/new/", form).status_code == 302
    row = ManualItem.objects.get()
    assert (row.kind, row.points, row.entered_by) == ("bad_effect", -4, people.office)
    bad = office.post("/analytics/assessments/manual/new/", dict(form, points="20", attachment=""))
    assert bad.status_code == 422 and "分值应在 2–10 分之间" in bad.content.decode()
    listing = office.get("/analytics/assessments/manual/?scheme=sanya").content.decode()
    assert "待他人审核" in listing and "说明.pdf" in listing
    manager = login(people.manager)
    file = manager.get(f"/analytics/assessments/manual/{row.pk}/attachment/")
    assert file.status_code == 200 and b"".join(file.streaming_content).startswith(b"%PDF")
    manager.post(f"/analytics/assessments/manual/{row.pk}/review/", {"decision": "approve"})
    row.refresh_from_db()
    assert row.state == "approved" and row.reviewed_by == people.manager


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_assessment_pages_in_a_browser(browser, live_server, org, people, march, screenshot_dir):
    from hotline.testing import SignedIn

    office = SignedIn(browser, live_server.url, people.office, screenshot_dir, prefix="assess-")
    manager = SignedIn(browser, live_server.url, people.manager, screenshot_dir, prefix="assess-")
    try:
        office.goto("/analytics/assessments/manual/?scheme=sanya")
        office.page.select_option("select[name=entry]", "13:complaint")
        office.page.fill("input[name=month]", "2026-03")
        office.page.fill("input[name=count]", "5")
        office.page.fill("textarea[name=note]", "5 件有效投诉，录音已核实")
        office.submit(office.page.get_by_role("button", name="提交录入"))
        expect(office.page.locator(".alert-success")).to_contain_text("待他人审核")
        office.shoot("manual", full=True)

        manager.goto("/analytics/assessments/manual/?scheme=sanya")
        manager.submit(manager.page.get_by_role("button", name="通过"))
        expect(manager.page.locator(".assess-manual .badge")).to_have_text("已通过")

        manager.goto("/analytics/assessments/?scheme=sanya&period=2026-03")
        expect(manager.page.locator("[data-total]")).to_have_text("87.0")
        expect(manager.page.locator("[data-grade]")).to_have_text("良好")
        expect(manager.page.locator("tr[data-item='13'] .assess-points")).to_have_text("8")
        manager.shoot("scorecard", full=True)
        office.clean()
        manager.clean()
    finally:
        office.close()
        manager.close()
