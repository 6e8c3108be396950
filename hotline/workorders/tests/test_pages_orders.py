"""The work-order pages: intake (受理登记), list and export (工单查询), the order page
(工单详情) with its timeline and action forms."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hotline.workorders.lifecycle import State
from hotline.workorders.models import Attachment, OrderDraft, WorkOrder

from .conftest import category

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def form(**fields) -> dict:
    values = {
        "type": "complaint",
        "urgency": "normal",
        "channel": "phone",
        "category": str(category().pk),
        "title": "小区夜间施工噪音扰民",
        "content": "来电人反映小区夜间施工噪音扰民，请核查处理。",
        "caller_name": "李女士",
        "caller_phone": "13900001111",
        "area": "吉阳区",
        "address": "迎宾路 1 号",
        "op": "submit",
    }
    values.update(fields)
    return values


# --- intake -------------------------------------------------------------------------------------


def test_intake_page_shows_the_form(wo, login):
    response = login(wo.agent).get("/orders/new/")
    page = response.content.decode()
    assert response.status_code == 200
    for text in ("诉求类型", "紧急程度", "来源渠道", "诉求分类", "保密件", "暂存", "即时答复"):
        assert text in page
    assert "<optgroup" in page


def test_agent_creates_an_order_through_the_page(wo, login):
    client = login(wo.agent)
    response = client.post("/orders/new/", form(attachments=[SimpleUploadedFile("现场.png", PNG)]))
    assert response.status_code == 302, response.content.decode()[:2000]
    order = WorkOrder.objects.get()
    assert response["Location"] == f"/orders/{order.number}/"
    assert order.state == State.SUBMITTED and order.created_by == wo.agent
    assert order.attachments.get().name == "现场.png"
    page = client.get(response["Location"]).content.decode()
    assert order.number in page
    assert "受理成功" in page


def test_direct_answer_needs_the_answer(wo, login):
    response = login(wo.agent).post("/orders/new/", form(op="direct"))
    assert response.status_code == 400
    assert "即时答复须填写答复内容" in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_direct_answer_completes_the_order(wo, login):
    response = login(wo.agent).post("/orders/new/", form(op="direct", answer="已当场解答。"))
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert order.direct and order.state == State.COMPLETED


def test_missing_title_is_shown_on_the_field(wo, login):
    response = login(wo.agent).post("/orders/new/", form(title=""))
    assert response.status_code == 400
    assert "请填写标题" in response.content.decode()


def test_draft_save_and_load(wo, login):
    client = login(wo.agent)
    response = client.post("/orders/new/", form(op="draft", title="半途的诉求"))
    draft = OrderDraft.objects.get(owner=wo.agent)
    assert response.status_code == 302
    assert response["Location"] == f"/orders/new/?draft={draft.pk}"
    assert not WorkOrder.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "半途的诉求" in page and "13900001111" in page
    # someone else's draft is not theirs to load
    assert login(wo.leader).get(f"/orders/new/?draft={draft.pk}").status_code == 404
    # submitting from the draft registers the order and drops the draft
    response = client.post("/orders/new/", form(draft=str(draft.pk), title="半途的诉求"))
    assert response.status_code == 302
    assert not OrderDraft.objects.exists()


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("virus.exe", b"MZ" + b"\x00" * 100),
        SimpleUploadedFile("fake.png", b"not an image at all"),
        SimpleUploadedFile("big.pdf", b"%PDF-1.4" + b"\x00" * (11 * 1024 * 1024)),
    ],
    ids=["exe", "fake-png", "11mb"],
)
def test_bad_attachment_saves_nothing(wo, login, upload, settings):
    response = login(wo.agent).post("/orders/new/", form(attachments=[upload]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "附件" in page
    assert not WorkOrder.objects.exists()
    assert not Attachment.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_in_transit_prompt_lists_open_orders_of_the_phone(wo, login, new_order, act):
    order = new_order(caller_phone="13900001111")
    act(wo.dispatcher, order, "dispatch", unit=wo.units.a)
    closed = new_order(caller_phone="13900001111", direct=True, answer="已解答")
    client = login(wo.leader)  # a team leader may urge
    response = client.get("/orders/new/?phone=13900001111", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert order.number in page and closed.number not in page
    assert f"/orders/{order.number}/actions/urge/" in page
    response = client.post(
        f"/orders/{order.number}/actions/urge/", {"next": "/orders/new/?phone=13900001111"}
    )
    assert response.status_code == 302
    assert WorkOrder.objects.get(pk=order.pk).urge_count == 1


# --- list, export -------------------------------------------------------------------------------


def test_list_filters_and_pagination(wo, login, new_order, act):
    first = new_order(title="第一件噪音诉求")
    act(wo.dispatcher, first, "dispatch", unit=wo.units.a)
    for n in range(55):
        new_order(title=f"批量诉求{n}", order_type="consult")
    client = login(wo.agent)
    page = client.get("/orders/").content.decode()
    assert "共 56 件" in page and "第 1 / 2 页" in page
    page = client.get("/orders/", {"size": "100"}).content.decode()
    assert "第 1 / 2 页" not in page
    page = client.get("/orders/", {"q": "噪音"}).content.decode()
    assert first.number in page and "共 1 件" in page
    page = client.get("/orders/", {"unit": wo.units.a.pk, "status": "open"}).content.decode()
    assert first.number in page and "共 1 件" in page
    page = client.get("/orders/", {"type": "complaint"}).content.decode()
    assert "共 1 件" in page
    assert client.get("/orders/", {"size": "9999"}).status_code == 400
    assert client.get("/orders/", {"status": "nonsense"}).status_code == 400


def test_export_is_an_xlsx(wo, login, new_order):
    new_order(title="可导出的诉求", caller_phone="13912345678")
    response = login(wo.agent).get("/orders/export/", {"q": "可导出"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(book.active.values)
    assert rows[0][0] == "工单编号"
    assert rows[1][1] == "可导出的诉求"
    assert "139****5678" in rows[1] and "13912345678" not in rows[1]


# --- the order page -----------------------------------------------------------------------------


def test_order_page_shows_timeline(wo, login, new_order, drive):
    order = drive(new_order(), State.CALLBACK_PENDING)
    page = login(wo.agent).get(f"/orders/{order.number}/").content.decode()
    for text in ("受理", "派单", "签收", "办结反馈", "办结审核", "已责令用人单位限期支付", "同意"):
        assert text in page
    assert "138****5678" in page and "13812345678" not in page


def test_dispatcher_dispatches_through_the_page(wo, login, new_order):
    order = new_order()
    client = login(wo.dispatcher)
    assert (
        f'action="/orders/{order.number}/actions/dispatch/"'
        in client.get(f"/orders/{order.number}/").content.decode()
    )
    response = client.post(
        f"/orders/{order.number}/actions/dispatch/",
        {"unit": wo.units.a.pk, "co_units": [wo.units.b.pk]},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.DISPATCHED and order.lead_unit == wo.units.a
    assert order.assignments.count() == 2
    assert "派单成功" in client.get(response["Location"]).content.decode()


def test_unit_handler_signs_and_replies(wo, login, new_order, act):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    client = login(wo.handler_a)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "/actions/sign/" in page and "/actions/dispatch/" not in page
    assert client.post(f"/orders/{order.number}/actions/sign/").status_code == 302
    response = client.post(
        f"/orders/{order.number}/actions/reply/",
        {"content": "已核查并督促整改。", "attachments": [SimpleUploadedFile("回复.png", PNG)]},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.REPLIED
    attachment = order.attachments.get()
    assert attachment.event.action == "reply"
    download = client.get(f"/orders/{order.number}/attachments/{attachment.pk}/")
    assert download.status_code == 200


def test_other_units_handler_gets_404(wo, login, new_order, act):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    client = login(wo.handler_b)
    assert client.get(f"/orders/{order.number}/").status_code == 404
    assert client.post(f"/orders/{order.number}/actions/sign/").status_code == 404
    assert order.assignments.get().state == "pending_sign"


def test_illegal_action_is_a_409_page(wo, login, new_order):
    order = new_order()
    response = login(wo.dispatcher).post(
        f"/orders/{order.number}/actions/review-reply/", {"approved": "1"}
    )
    assert response.status_code == 409
    assert "不能办结审核" in response.content.decode()
    order.refresh_from_db()
    assert order.state == State.SUBMITTED
    assert list(order.events.values_list("action", flat=True)) == ["create"]


def test_missing_field_is_a_422_page(wo, login, new_order):
    order = new_order()
    response = login(wo.dispatcher).post(f"/orders/{order.number}/actions/cancel/", {})
    assert response.status_code == 422
    assert "销单须填写" in response.content.decode()
