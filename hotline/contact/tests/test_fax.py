"""Fax (传真): a fax gateway on loopback posts received faxes and delivery reports as its
API is declared (hotline.contact.connectors.fax), and takes the faxes the hotline sends."""

import io
import json
import struct
from email import message_from_bytes
from email.policy import HTTP

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader, PdfWriter

from hotline.contact import services
from hotline.contact.connectors import REGISTRY, base, fax
from hotline.contact.models import Message, Session
from hotline.core.errors import Conflict
from hotline.testing import LoopbackHttp
from hotline.workorders.models import Event, WorkOrder

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "fax-gw-shared-4f2a"
SENDER = "0898-8866 1234"
ADDRESS = "089888661234"  # the sender's number as the citizen's identity


def pdf(pages: int = 2) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def tiff(pages: list[tuple[int, int, bytes]], *, compression=1, fill_order=1) -> bytes:
    """A little-endian bilevel TIFF as fax servers write one: each page (width, height,
    strip) one strip, 204×196 dpi, WhiteIsZero."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    link_at = 4  # where the offset of the next page's directory goes
    for width, height, strip in pages:
        strip_at = len(out)
        out += strip + (b"\x00" if len(strip) % 2 else b"")
        rational_at = len(out)
        out += struct.pack("<IIII", 204, 1, 196, 1)
        entries = [
            (256, 4, width),
            (257, 4, height),
            (258, 3, 1),
            (259, 3, compression),
            (262, 3, 0),
            (266, 3, fill_order),
            (273, 4, strip_at),
            (277, 3, 1),
            (278, 4, height),
            (279, 4, len(strip)),
            (282, 5, rational_at),
            (283, 5, rational_at + 8),
            (296, 3, 2),
        ]
        struct.pack_into("<I", out, link_at, len(out))
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, kind, 1) + packed
        link_at = len(out)
        out += b"\x00\x00\x00\x00"
    return bytes(out)


@pytest.fixture
def gateway():
    jobs = iter(range(1, 100))

    def respond(request):
        return 200, "application/json", json.dumps({"job_id": f"job-{next(jobs)}"})

    with LoopbackHttp(respond) as server:
        yield server


@pytest.fixture
def entry(cc, gateway):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="fax",
        code="fax",
        name="12345传真",
        queue=cc.general,
        settings={"gateway_url": gateway.url, "token": TOKEN, "from_number": "0898-12345"},
    )


def receive(client, document: bytes, *, name="fax.pdf", token=TOKEN, fax_id="rx-1001", **fields):
    data = {
        "fax-id": fax_id,
        "from-number": SENDER,
        "to-number": "0898-12345",
        "pages": "2",
        "document": SimpleUploadedFile(name, document, content_type="application/pdf"),
        **fields,
    }
    headers = {"HTTP_X_FAX_TOKEN": token} if token else {}
    return client.post("/channels/SY/fax/inbound", data=data, **headers)


def report(client, job: str, status: str = "ok", reason: str = "", token=TOKEN):
    return client.post(
        "/channels/SY/fax/report",
        data={"fax-id": job, "status": status, "pages": "1", "reason": reason},
        HTTP_X_FAX_TOKEN=token,
    )


def sent(gateway, index: int = -1) -> dict:
    """A send request the gateway received: its headers and multipart fields."""
    request = gateway.requests[index]
    head = f"Content-Type: {request['headers']['Content-Type']}\r\n\r\n".encode()
    form = message_from_bytes(head + request["body"], policy=HTTP)
    fields = {}
    for part in form.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (
            part.get_content() if part.get_filename() is None else part.get_payload(decode=True)
        )
    return {"path": request["path"], "auth": request["headers"].get("Authorization"), **fields}


def test_a_fax_reaches_an_agent_the_reply_is_faxed_back_and_the_report_confirms_it(
    client, entry, agent, gateway
):
    worker = agent("传")
    document = pdf(2)
    response = receive(client, document)
    assert response.status_code == 200 and response.json()["duplicate"] is False

    session = Session.objects.get(channel="fax")
    assert session.address == ADDRESS and session.agent_id == worker.pk
    assert session.citizen.identities.filter(kind="fax", value=ADDRESS).exists()
    message = session.messages.get(direction="in")
    assert message.kind == "file" and message.body == "收到传真 2 页，来自 089****1234"
    assert message.attachment.name.endswith(".pdf") and message.attachment.read() == document

    # the gateway posts the same fax again (it did not see our answer): stored once
    assert receive(client, document).json()["duplicate"] is True
    assert session.messages.filter(direction="in").count() == 1

    reply = services.message_send(actor=worker, session=session, body="您反映的问题已受理。")
    reply.refresh_from_db()
    assert reply.delivery == "sent" and reply.external_id == "job-1"
    request = sent(gateway)
    assert request["path"] == "/send" and request["auth"] == f"Bearer {TOKEN}"
    assert request["to-number"] == ADDRESS and request["from-number"] == "0898-12345"
    assert request["text"] == "您反映的问题已受理。" and "document" not in request

    assert report(client, "job-1", "ok").status_code == 200
    reply.refresh_from_db()
    assert reply.delivery == "delivered"
    assert report(client, "job-1", "ok").status_code == 200  # a repeated report is harmless

    # a file reply is faxed as the PDF it is
    attached = services.message_send(
        actor=worker,
        session=session,
        kind="file",
        attachment=SimpleUploadedFile("告知书.pdf", pdf(1)),
    )
    assert sent(gateway)["document"].startswith(b"%PDF-")
    attached.refresh_from_db()
    assert attached.external_id == "job-2"

    # no rating menu on a fax: ending sends nothing more — the satisfaction is asked by
    # telephone: the session is a 回拨任务 whose result carries the rating (回访)
    before = len(gateway.requests)
    services.session_end(actor=worker, session=session)
    assert len(gateway.requests) == before
    assert not REGISTRY["fax"].rates_by_reply
    session.refresh_from_db()
    assert session.needs_callback and session.callback_reason == "满意度回访"
    client.force_login(worker)
    desk = client.get("/contact/callbacks/").content.decode()
    assert session.ref in desk and "满意度回访" in desk and "满意度（电话询问）" in desk
    refused = client.post(
        "/contact/callbacks/",
        {"session": session.pk, "note": "已电话回访", "satisfaction": "很好"},
    )
    assert refused.status_code == 400
    done = client.post(
        "/contact/callbacks/",
        {"session": session.pk, "note": "已电话回访，来电人表示满意", "satisfaction": "满意"},
    )
    assert done.status_code == 302
    session.refresh_from_db()
    assert (session.needs_callback, session.satisfaction) == (False, "满意")


def test_a_fax_without_the_gateways_token_is_refused_and_opens_nothing(client, entry, agent):
    agent("传")
    assert receive(client, pdf(), token="").status_code == 403
    refused = receive(client, pdf(), token="guessed")
    assert refused.status_code == 403 and "令牌无效" in refused.json()["detail"]
    assert report(client, "job-1", token="guessed").status_code == 403
    assert client.get("/channels/SY/fax/inbound", HTTP_X_FAX_TOKEN=TOKEN).status_code == 400
    assert not Session.objects.exists()


def test_only_a_readable_pdf_or_fax_tiff_of_at_most_10_mb_is_taken(client, entry, agent):
    agent("传")
    word = receive(client, b"PK\x03\x04" + b"\x00" * 100, name="fax.docx")
    assert word.status_code == 422 and "PDF 或 TIFF" in word.json()["detail"]
    broken = receive(client, b"%PDF-1.4\n garbage")
    assert broken.status_code == 422 and "已损坏" in broken.json()["detail"]
    huge = receive(client, b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 1))
    assert huge.status_code == 422 and "10 MB" in huge.json()["detail"]
    unnamed = receive(client, pdf(), **{"from-number": "张三"})
    assert unnamed.status_code == 422 and "from-number" in unnamed.json()["detail"]
    no_id = receive(client, pdf(), fax_id="")
    assert no_id.status_code == 400 and "fax-id" in no_id.json()["detail"]
    assert not Session.objects.exists() and not Message.objects.exists()


def test_a_tiff_fax_is_stored_as_a_pdf_of_its_pages_at_their_true_size(client, entry, agent):
    agent("传")
    # two pages of 1728 dots × 4 lines (204 × 196 dpi), uncompressed, 0 = white
    page_one = bytes([0xFF] * 216) + bytes(216 * 3)
    page_two = bytes(216 * 3) + bytes([0x0F] * 216)
    document = tiff([(1728, 4, page_one), (1728, 4, page_two)])
    response = receive(client, document, name="fax.tif", pages="")
    assert response.status_code == 200, response.content

    message = Message.objects.get(direction="in")
    assert message.body.startswith("收到传真 2 页")  # counted when the gateway did not say
    stored = PdfReader(message.attachment.open("rb"))
    assert len(stored.pages) == 2
    width, height = (float(v) for v in stored.pages[0].mediabox.upper_right)
    assert round(width, 1) == round(1728 * 72 / 204, 1) and round(height, 2) == round(
        4 * 72 / 196, 2
    )
    images = [page["/Resources"]["/XObject"]["/S0"].get_object() for page in stored.pages]
    assert [i["/Width"] for i in images] == [1728, 1728]
    assert list(images[0]["/Decode"]) == [1, 0]  # WhiteIsZero shown as white
    assert images[0].get_data() == page_one and images[1].get_data() == page_two


def test_a_g4_tiff_is_handed_to_the_pdf_viewer_to_decode():
    # an all-white G4 line is one "V0" bit; FillOrder 2 stores bits least significant first
    coded = bytes([0xF0, 0x01, 0x00, 0x10])  # 4 lines, then EOFB (as written MSB first)
    reversed_ = bytes(int(f"{b:08b}"[::-1], 2) for b in coded)
    document, pages = fax.tiff_to_pdf(tiff([(1728, 4, reversed_)], compression=4, fill_order=2))
    image = PdfReader(io.BytesIO(document)).pages[0]["/Resources"]["/XObject"]["/S0"].get_object()
    assert pages == 1 and image["/Filter"] == "/CCITTFaxDecode"
    params = image["/DecodeParms"]
    assert params["/K"] == -1 and params["/Columns"] == 1728 and params["/Rows"] == 4
    assert image._data == coded  # bit order restored for the viewer


def test_a_gateway_down_or_a_failed_fax_is_retried_then_a_dead_letter(
    client, entry, agent, gateway
):
    worker = agent("传")
    receive(client, pdf())
    session = Session.objects.get()

    # the fax went out, but the line was busy: the report is a failed attempt
    message = services.message_send(actor=worker, session=session, body="请补充联系方式。")
    message.refresh_from_db()
    assert message.delivery == "sent"
    assert report(client, message.external_id, "failed", reason="对方占线").status_code == 200
    message.refresh_from_db()
    assert message.delivery == "retrying" and message.last_error == "传真发送失败：对方占线"
    assert report(client, "job-404", "ok").status_code == 404

    gateway.down = True
    connector, states = REGISTRY["fax"], []
    while message.delivery in ("pending", "retrying"):
        states.append(connector.attempt(message))
        message.refresh_from_db()
    assert states[-1] == "dead" and message.attempts == len(base.RETRY_DELAYS) + 1
    assert "传真网关不可达" in message.last_error


def test_an_agent_may_fax_only_a_pdf(client, entry, agent):
    worker = agent("传")
    receive(client, pdf())
    session = Session.objects.get()
    with pytest.raises(services.Unprocessable, match="传真只能发送 PDF 文件"):
        services.message_send(
            actor=worker,
            session=session,
            kind="file",
            attachment=SimpleUploadedFile("照片.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20),
        )


def test_a_work_orders_reply_is_faxed_and_its_report_lands_on_the_timeline(
    client, entry, gateway, cc, make_user
):
    callback = make_user("callback", username="callback_fax", display_name="回访员陈")
    order = WorkOrder.objects.create(
        number="SY20250304000001",
        platform=cc.platform,
        order_type="complaint",
        title="三亚湾路灯不亮",
        content="三亚湾路段路灯连续多日不亮。",
        state="callback_pending",
        answer="经核查，路灯线路已于3月3日修复。",
    )
    event = fax.fax_order_reply(callback, order, "0898-8866 1234")
    request = sent(gateway)
    assert request["to-number"] == ADDRESS
    assert "SY20250304000001" in request["text"] and "路灯线路已于3月3日修复" in request["text"]
    assert event.action == "fax_reply" and event.data["job"] == "job-1"
    assert event.data["number"] == "089****1234" and event.actor_id == callback.pk

    assert report(client, "job-1", "failed", reason="无人接听").status_code == 200
    assert report(client, "job-1", "failed", reason="无人接听").status_code == 200
    (recorded,) = Event.objects.filter(order=order, action="fax_report")
    assert recorded.data["status"] == "failed" and recorded.data["reason"] == "无人接听"

    agent_without_right = make_user("agent", username="agent_fax")
    with pytest.raises(services.Forbidden):
        fax.fax_order_reply(agent_without_right, order, "0898-8866 1234")
    order.answer = ""
    order.save()
    with pytest.raises(Conflict, match="尚无答复内容"):
        fax.fax_order_reply(callback, order, "0898-8866 1234")
    gateway.down = True
    order.answer = "已修复。"
    order.save()
    with pytest.raises(Conflict, match="传真未能发出"):
        fax.fax_order_reply(callback, order, "0898-8866 1234")
    assert Event.objects.filter(order=order, action="fax_reply").count() == 1


def test_the_callback_desk_faxes_an_orders_reply_from_the_order_page(
    client, entry, gateway, cc, make_user
):
    callback = make_user("callback", username="callback_page", display_name="回访员林")
    order = WorkOrder.objects.create(
        number="SY20250304000002",
        platform=cc.platform,
        order_type="consult",
        title="公积金提取",
        content="租房提取公积金要什么材料？",
        state="callback_pending",
        answer="身份证、租房合同及发票。",
    )
    client.force_login(callback)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "发送传真" in page
    bad = client.post(f"/orders/{order.number}/fax/", {"number": "不是号码"}, follow=True)
    assert bad.status_code == 200 and not Event.objects.filter(action="fax_reply").exists()
    done = client.post(f"/orders/{order.number}/fax/", {"number": "0898-8866 1234"}, follow=True)
    assert "传真已提交传真网关" in done.content.decode()
    assert "传真答复" in done.content.decode()  # on the timeline, by its Chinese name
    assert sent(gateway)["to-number"] == ADDRESS


def test_a_gateway_that_mails_its_faxes_is_read_from_its_mailbox(cc, agent, gateway):
    """Some gateways deliver a received fax as a mail (the sender's number in the subject,
    the document attached): the entry's mailbox is read by the worker like a mail
    channel's, each mail becomes a fax session; a mail that is no fax is left alone."""
    from email.message import EmailMessage

    from hotline.contact.tasks import poll_channels

    from .mailserver import DOVECOT, Dovecot

    if not __import__("os").path.exists(DOVECOT):
        pytest.skip("未安装 dovecot（/usr/sbin/dovecot），无法以真实 IMAP 服务器测试传真邮件")
    worker = agent("林")
    with Dovecot() as server:
        mailbox = server.mailbox()
        services.channel_entry_create(
            actor=cc.leader,
            platform=cc.platform,
            channel="fax",
            code="faxmail",
            name="传真（邮件转发）",
            queue=cc.general,
            settings={**mailbox.settings(), "gateway_url": gateway.url, "token": "t0k3n"},
        )
        fax_mail = EmailMessage()
        fax_mail["From"] = "fax-gateway@example.cn"
        fax_mail["To"] = mailbox.user
        fax_mail["Subject"] = "传真来自 0898-88661234（2 页）"
        fax_mail["Message-ID"] = "<fax-20250304-0001@gateway.example.cn>"
        fax_mail.set_content("您有一份新传真，见附件。")
        fax_mail.add_attachment(
            pdf(2), maintype="application", subtype="pdf", filename="FAX0001.pdf"
        )
        not_a_fax = EmailMessage()
        not_a_fax["From"] = "someone@example.cn"
        not_a_fax["Subject"] = "会议通知"
        not_a_fax.set_content("明天上午开会。")
        mailbox.deliver(bytes(fax_mail))
        mailbox.deliver(bytes(not_a_fax))

        assert poll_channels.call_local() == 1
        session = Session.objects.get(channel="fax")
        assert (session.address, session.agent_id) == (ADDRESS, worker.pk)
        received = session.messages.get(direction="in")
        assert received.body == "收到传真 2 页，来自 089****1234（邮件转发）"
        assert PdfReader(received.attachment.open("rb")).get_num_pages() == 2
        assert mailbox.unseen() == 0  # both read: the fax taken, the other left (logged)
        mailbox.mark_all_unseen()
        poll_channels.call_local()  # the same fax read again: stored once
        assert Session.objects.filter(channel="fax").count() == 1
        assert session.messages.filter(direction="in").count() == 1
