"""Fax (传真), through an HTTP fax gateway (a fax server or a carrier's fax-to-web
service) that receives and sends the faxes and talks to the hotline as follows.

**Verify.** Every call of the gateway carries the entry's shared token in the header
``X-Fax-Token``; a call without it, or with another, is refused (403) and logged. The
hotline calls the gateway with the same token as ``Authorization: Bearer <token>``.

**Normalise.** A received fax is ``POST …/inbound`` (multipart/form-data): ``fax-id`` (the
gateway's id of the fax, the de-duplication key), ``from-number`` (the sender's fax number,
the citizen's identity, ``IdentityKind.FAX``), ``to-number``, ``pages`` and the file
``document`` — a PDF, or a black-and-white TIFF (TIFF-F, as fax servers write them) which
is wrapped page by page into a PDF so that the agent's browser can show it. It becomes a
file message "收到传真 N 页，来自 …" in the sender's open session (or a new one). Anything
else, over :data:`MAX_BYTES` or unreadable, is refused with a 4xx and no session.

**Deliver.** An agent's reply (and the notices of the session) is ``POST {gateway_url}/send``
(multipart): ``to-number``, ``from-number`` (the entry's own number, if set), ``text`` (the
gateway renders it as fax pages: this project has no PDF writer) and, for a file message,
``document`` (a PDF, sent as is). The gateway answers ``{"job_id": "…"}`` — the message's
external id — and later reports the job at ``POST …/report`` (``fax-id`` = the job id,
``status`` ok | failed, ``pages``, ``reason``): ok marks the message delivered; failed (busy
line, no answer) is a failed attempt, retried like a gateway that was down, then a dead
letter. A fax has no reply menu: the session is not rated by the citizen on this channel.

:func:`fax_order_reply` faxes a work order's reply (答复内容) to a number through the same
gateway and records the job on the order's timeline; its report is recorded there too.
"""

import io
import json
import logging
import re
import struct
import uuid

from django.core.files.base import ContentFile
from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Conflict, Invalid, NotFound, Unprocessable
from hotline.core.http import RemoteError, exchange
from hotline.core.masking import mask_phone
from hotline.workorders.services import MAX_ATTACHMENT_BYTES

from . import register
from .base import Connector, DeliveryError, Inbound, SettingField, Unverified

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Fax-Token"
MAX_BYTES = MAX_ATTACHMENT_BYTES  # a fax is stored as a message's file: the same limit
MAX_PAGES = 200
TIMEOUT = 30  # seconds for a call to the gateway (it takes a document)
_FAX_ID = re.compile(r"[A-Za-z0-9._:@-]{1,80}")
# "传真来自 0898-88661234" / "Fax from +86 898 8866 1234": the number in a gateway's subject
DEFAULT_NUMBER_PATTERN = r"(\+?\d[\d ()-]{4,28}\d)"
_NUMBER = re.compile(r"\+?[0-9][0-9 ()-]{2,30}")


def fax_number(raw, *, field: str = "from-number") -> str:
    """A fax number as the identity it is stored under: digits, an optional leading +."""
    raw = str(raw or "").strip()
    if not _NUMBER.fullmatch(raw):
        raise Unprocessable(f"传真号码（{field}）格式不正确", field=field)
    return ("+" if raw.startswith("+") else "") + re.sub(r"\D", "", raw)


def _authorise(request, entry) -> None:
    token = str(entry.settings.get("token") or "")
    given = request.headers.get(TOKEN_HEADER, "")
    if not token:
        raise Unverified("传真接入未配置网关令牌")
    if not given or not _same(given, token):
        raise Unverified("传真网关令牌无效")


def _same(given: str, token: str) -> bool:
    import hmac

    return hmac.compare_digest(given.encode(), token.encode())


# --- the document: a PDF as is, a fax TIFF wrapped into one ------------------------------------


def fax_document(data: bytes) -> tuple[bytes, int]:
    """The received document as a PDF and its number of pages; Unprocessable when it is
    neither a readable PDF nor a black-and-white TIFF."""
    if data.startswith(b"%PDF-"):
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            pages = len(PdfReader(io.BytesIO(data)).pages)
        except (PdfReadError, ValueError, KeyError, TypeError, struct.error):
            raise Unprocessable("传真文件（PDF）已损坏，无法读取", field="document") from None
        return data, pages
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return tiff_to_pdf(data)
    raise Unprocessable("传真文件须为 PDF 或 TIFF 格式", field="document")


_BIT_REVERSE = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def tiff_to_pdf(data: bytes) -> tuple[bytes, int]:
    """Wrap the pages of a bilevel TIFF (uncompressed, CCITT RLE, G3 or G4 — what fax
    servers write) into a PDF without decoding them: each strip becomes an image the PDF
    viewer decodes itself (``CCITTFaxDecode``), drawn at the page's true size."""
    bad = Unprocessable("传真文件（TIFF）无法读取", field="document")
    order = "<" if data[:2] == b"II" else ">"

    def unpack(fmt: str, at: int):
        try:
            return struct.unpack_from(order + fmt, data, at)
        except struct.error:
            raise bad from None

    pages, seen = [], set()
    (offset,) = unpack("I", 4)
    while offset and offset not in seen and len(pages) < MAX_PAGES:
        seen.add(offset)
        (count,) = unpack("H", offset)
        tags = {}
        for index in range(count):
            tag, kind, n = unpack("HHI", offset + 2 + 12 * index)
            size = {1: 1, 3: 2, 4: 4, 5: 8}.get(kind)
            if size is None:
                continue
            at = (
                offset + 2 + 12 * index + 8
                if size * n <= 4
                else unpack("I", offset + 10 + 12 * index)[0]
            )
            if kind == 5:
                tags[tag] = [unpack("II", at + 8 * i) for i in range(min(n, 4))]
            else:
                fmt = {1: "B", 3: "H", 4: "I"}[kind]
                tags[tag] = list(unpack(f"{min(n, 10000)}{fmt}", at))
        (offset,) = unpack("I", offset + 2 + 12 * count)
        pages.append(_tiff_page(tags, data, bad))
    if not pages:
        raise bad
    return _pdf(pages), len(pages)


def _tiff_page(tags: dict, data: bytes, bad) -> dict:
    def one(tag, default=None):
        return tags.get(tag, [default])[0]

    width, height = one(256), one(257)
    if not width or not height or one(258, 1) != 1 or one(277, 1) != 1:
        raise Unprocessable("仅支持黑白传真 TIFF", field="document")
    compression, photometric = one(259, 1), one(262, 0)
    options = one(292, 0) if compression == 3 else 0
    if compression == 1:
        params = None
    elif compression in (2, 3, 4):
        k = {2: 0, 3: 1 if options & 1 else 0, 4: -1}[compression]
        # coded runs are white/black; under BlackIsZero the "white" runs are the dark ones
        params = f"/K {k} /Columns {width} /BlackIs1 {'true' if photometric == 1 else 'false'}"
        if compression == 2 or options & 4:
            params += " /EncodedByteAlign true"
    else:
        raise Unprocessable("不支持此 TIFF 压缩方式，请以 PDF 发送", field="document")
    offsets, counts = tags.get(273), tags.get(279)
    rows_per_strip = min(one(278, height), height)
    if not offsets or not counts or len(offsets) != len(counts):
        raise bad
    strips, row = [], 0
    for start, length in zip(offsets, counts, strict=True):
        if start + length > len(data) or row >= height:
            raise bad
        chunk = data[start : start + length]
        if one(266, 1) == 2:  # FillOrder 2: bits of each byte least significant first
            chunk = chunk.translate(_BIT_REVERSE)
        rows = min(rows_per_strip, height - row)
        strips.append((row, rows, chunk))
        row += rows
    x_res, y_res = _resolution(tags.get(282)), _resolution(tags.get(283))
    if one(296, 2) == 3:  # per centimetre
        x_res, y_res = x_res * 2.54, y_res * 2.54
    return {
        "width": width,
        "height": height,
        "points": (width * 72 / (x_res or 204), height * 72 / (y_res or 196)),
        "params": params,
        "invert": compression == 1 and photometric == 0,  # WhiteIsZero, uncompressed
        "strips": strips,
    }


def _resolution(value) -> float:
    if not value:
        return 0.0
    numerator, denominator = value[0]
    return numerator / denominator if denominator else 0.0


def _pdf(pages: list[dict]) -> bytes:
    """A minimal PDF: one page per TIFF page, each strip an image XObject."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in last
    tree = add(b"")
    kids = []
    for page in pages:
        page_w, page_h = page["points"]
        scale = page_h / page["height"]
        names, drawing = [], []
        for index, (row, rows, chunk) in enumerate(page["strips"]):
            head = (
                f"<< /Type /XObject /Subtype /Image /Width {page['width']} /Height {rows}"
                f" /ColorSpace /DeviceGray /BitsPerComponent 1 /Length {len(chunk)}"
            )
            if page["params"]:
                head += f" /Filter /CCITTFaxDecode /DecodeParms << {page['params']} /Rows {rows} >>"
            if page["invert"]:
                head += " /Decode [1 0]"
            image = add(head.encode() + b" >>\nstream\n" + chunk + b"\nendstream")
            names.append(f"/S{index} {image} 0 R")
            top = page_h - row * scale
            drawing.append(
                f"q {page_w:.2f} 0 0 {rows * scale:.4f} 0 {top - rows * scale:.4f} cm /S{index} Do Q"
            )
        content = "\n".join(drawing).encode()
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(
            add(
                (
                    f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {page_w:.2f} {page_h:.2f}]"
                    f" /Resources << /XObject << {' '.join(names)} >> >> /Contents {stream} 0 R >>"
                ).encode()
            )
        )
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {tree} 0 R >>".encode()
    refs = " ".join(f"{kid} 0 R" for kid in kids)
    objects[tree - 1] = f"<< /Type /Pages /Kids [{refs}] /Count {len(kids)} >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    positions = []
    for number, body in enumerate(objects, start=1):
        positions.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for position in positions:
        out.write(b"%010d 00000 n \n" % position)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, catalog, xref)
    )
    return out.getvalue()


# --- the gateway's send API ---------------------------------------------------------------------


def gateway_send(entry, number: str, *, text: str = "", document=None) -> str:
    """Hand one fax to the gateway of ``entry``; its job id. ``document`` is (name, bytes).
    DeliveryError when the gateway is not configured, down, or refuses."""
    base = str(entry.settings.get("gateway_url") or "").rstrip("/")
    token = str(entry.settings.get("token") or "")
    if not base or not token:
        raise DeliveryError("传真接入未配置网关地址或令牌")
    fields = {"to-number": number, "text": text}
    if entry.settings.get("from_number"):
        fields["from-number"] = str(entry.settings["from_number"])
    body, content_type = _multipart(fields, document)
    try:
        answer = exchange(
            "POST",
            f"{base}/send",
            service="传真网关",
            body=body,
            headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        ).body
    except RemoteError as error:
        raise DeliveryError(f"{error}{_reason(error.body)}") from None
    try:
        job = json.loads(answer or b"null").get("job_id")
    except (ValueError, AttributeError):
        job = None
    if not job or not _FAX_ID.fullmatch(str(job)):
        raise DeliveryError("传真网关未返回任务号（job_id）")
    return str(job)


def _reason(body: bytes) -> str:
    try:
        reason = json.loads(body or b"null").get("reason") or ""
    except (ValueError, AttributeError):
        return ""
    return f"：{str(reason)[:100]}" if reason else ""


def _multipart(fields: dict, document) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{value}\r\n".encode()
        )
    if document is not None:
        name, content = document
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
            f'filename="{name}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- the connector ------------------------------------------------------------------------------


class FaxConnector(Connector):
    channel = "fax"
    label = "传真"
    max_length = 5000  # a reply letter, as long as a work order's answer
    media_kinds = frozenset({"text", "file"})
    rates_on_request = False  # a fax has no reply menu and no page: no 邀请评价
    rates_by_callback = True  # … so the satisfaction is asked by telephone (回拨任务)

    def session_changed(self, session_id: int, kind: str) -> None:
        if kind == "ended":
            from .. import services

            services.rating_callback_request(session_id)

    setting_fields = (
        SettingField(
            "gateway_url", "传真网关地址", required=True, help="如 https://fax.example.cn/api"
        ),
        SettingField(
            "token",
            "网关令牌",
            required=True,
            secret=True,
            help=f"双方调用时携带（{TOKEN_HEADER}）",
        ),
        SettingField("from_number", "本机传真号码", help="发送传真时的主叫号码"),
        # a gateway that mails received faxes instead of pushing them: its mailbox
        SettingField(
            "imap_host",
            "传真邮箱服务器（IMAP）",
            help="网关以邮件转发传真时填写；留空则只收网关推送",
        ),
        SettingField("imap_port", "IMAP 端口", help="留空：SSL 为 993，其他为 143"),
        SettingField("imap_security", "IMAP 加密方式", default="ssl", help="ssl、starttls 或 none"),
        SettingField("username", "邮箱账号"),
        SettingField("password", "邮箱密码或授权码", secret=True),
        SettingField("folder", "收信文件夹", default="INBOX"),
        SettingField(
            "number_pattern",
            "主题中的来电号码",
            default=DEFAULT_NUMBER_PATTERN,
            help="从邮件主题中取发送方传真号码的正则表达式（第一个分组）",
        ),
    )
    webhook_actions = {"inbound": "收到传真（网关推送传真文件）", "report": "发送结果回执"}
    polls = True  # only entries with a mailbox (imap_host) are read

    # --- inbound by mail: the gateway mails each received fax (subject names the sender) ------

    def poll(self, entry) -> int:
        if not (entry.settings or {}).get("imap_host"):
            return 0
        from .email import CONNECTOR as MAILBOX

        return MAILBOX.read(entry, self.mail_items)

    def mail_items(self, entry, mail) -> list:
        """A fax gateway's mail → one inbound fax: the sender's number from the subject,
        the first PDF or TIFF attached as the document. Anything else is logged and left."""
        pattern = str((entry.settings or {}).get("number_pattern") or DEFAULT_NUMBER_PATTERN)
        try:
            found = re.search(pattern, mail.subject or "")
        except re.error:
            log.warning("传真渠道 %s：主题号码的正则表达式无效：%r", entry.code, pattern)
            return []
        document = next(
            (p for p in mail.attachments if p.filename.lower().endswith((".pdf", ".tif", ".tiff"))),
            None,
        )
        if found is None or document is None:
            log.warning(
                "传真渠道 %s：邮件 %s 不是传真（主题无号码或无 PDF/TIFF 附件），未接收",
                entry.code,
                mail.key,
            )
            return []
        number = fax_number(found.group(1) if found.groups() else found.group(0))
        if len(document.data) > MAX_BYTES:
            raise Unprocessable("传真文件超过 10 MB", field="document")
        pdf, pages = fax_document(document.data)
        return [
            Inbound(
                address=number,
                kind="file",
                body=f"收到传真 {pages} 页，来自 {mask_phone(number)}（邮件转发）",
                attachment=ContentFile(pdf, name=f"fax-mail-{mail.key[:40]}.pdf"),
                external_id=f"fax-mail-{mail.key}"[:100],
                data={"pages": pages},
            )
        ]

    def check_outbound(self, kind: str, body: str, attachment) -> None:
        super().check_outbound(kind, body, attachment)
        name = str(getattr(attachment, "name", "") or "")
        if attachment is not None and not name.lower().endswith(".pdf"):
            raise Unprocessable("传真只能发送 PDF 文件", field="attachment")

    # --- inbound ------------------------------------------------------------------------------

    def webhook(self, request, entry, action: str):
        if action not in self.webhook_actions:
            raise NotFound("传真渠道没有此接口")
        if request.method != "POST":
            raise Invalid("传真网关须以 POST 调用")
        _authorise(request, entry)
        if action == "inbound":
            return self._inbound(request, entry)
        return self._report(request, entry)

    def _inbound(self, request, entry):
        from .. import services

        if _declared_length(request) > MAX_BYTES + 64 * 1024:
            raise Unprocessable("传真文件超过 10 MB", field="document")
        fax_id = str(request.POST.get("fax-id", "")).strip()
        if not _FAX_ID.fullmatch(fax_id):
            raise Invalid("缺少或无效的传真编号（fax-id）")
        number = fax_number(request.POST.get("from-number"))
        upload = request.FILES.get("document")
        if upload is None:
            raise Invalid("缺少传真文件（document）")
        if upload.size > MAX_BYTES:
            raise Unprocessable("传真文件超过 10 MB", field="document")
        if upload.size == 0:
            raise Unprocessable("传真文件是空文件", field="document")
        document, counted = fax_document(upload.read())
        pages = _pages(request.POST.get("pages"), counted)
        message = services.inbound_receive(
            entry=entry,
            inbound=Inbound(
                address=number,
                kind="file",
                body=f"收到传真 {pages} 页，来自 {mask_phone(number)}",
                attachment=ContentFile(document, name=f"fax-{fax_id.replace(':', '-')}.pdf"),
                external_id=f"fax-{fax_id}",
                data={"to": str(request.POST.get("to-number", ""))[:40], "pages": pages},
            ),
        )
        return JsonResponse(
            {"status": "ok", "fax_id": fax_id, "duplicate": message is None}, status=200
        )

    def _report(self, request, entry):
        from .. import services
        from ..models import Message

        if request.content_type == "application/json":
            try:
                fields = json.loads(request.body or b"null")
            except ValueError:
                raise Invalid("回执不是有效的 JSON") from None
            if not isinstance(fields, dict):
                raise Invalid("回执格式不正确")
        else:
            fields = request.POST
        job = str(fields.get("fax-id", "")).strip()
        status = str(fields.get("status", "")).strip()
        reason = str(fields.get("reason", "") or "")[:200]
        if not _FAX_ID.fullmatch(job):
            raise Invalid("缺少或无效的传真任务号（fax-id）")
        if status not in ("ok", "failed"):
            raise Invalid("回执状态（status）须为 ok 或 failed")
        message = (
            Message.objects.select_related("session")
            .filter(
                direction=Message.Direction.OUTBOUND,
                session__platform_id=entry.platform_id,
                session__channel=self.channel,
                external_id=job,
            )
            .order_by("-pk")
            .first()
        )
        if message is not None:
            if message.delivery != "sent":
                log.info(
                    "fax job %s: %s report for a message %s ignored", job, status, message.delivery
                )
            elif status == "ok":
                services.message_delivery(message=message, status="delivered")
            else:
                failed = services.message_delivery(
                    message=message,
                    status="failed",
                    error=f"传真发送失败：{reason or '未说明原因'}",
                )
                self.after_failure(failed, timezone.now())
            return JsonResponse({"status": "ok"})
        if _order_report(entry, job, status, _pages(fields.get("pages"), 0), reason):
            return JsonResponse({"status": "ok"})
        raise NotFound("未知的传真任务号")

    # --- outbound -----------------------------------------------------------------------------

    def send(self, message) -> str:
        entry = message.session.channel_entry
        if entry is None:
            raise DeliveryError("会话没有对应的传真接入，无法发送")
        document = None
        if message.attachment:
            with message.attachment.open("rb") as stored:
                document = (message.attachment.name.rsplit("/", 1)[-1], stored.read())
        return gateway_send(entry, message.session.address, text=message.body, document=document)


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _pages(raw, counted: int) -> int:
    try:
        pages = int(str(raw).strip()) if raw not in (None, "") else counted
    except ValueError:
        raise Invalid("页数（pages）须为整数") from None
    if not 0 <= pages <= MAX_PAGES:
        raise Invalid(f"页数（pages）须在 0–{MAX_PAGES} 之间")
    return pages


# --- a work order's reply by fax ----------------------------------------------------------------

FAX_REPLY, FAX_REPORT = "fax_reply", "fax_report"  # work-order timeline actions


def fax_entry(platform_id: int):
    """The platform's fax gateway (its active fax entry), or None."""
    from ..models import ChannelEntry

    return ChannelEntry.objects.filter(
        platform_id=platform_id, channel="fax", is_active=True
    ).first()


def fax_order_reply(actor, order, number: str, now=None):
    """传真答复: fax a work order's reply (答复内容) to ``number`` through the fax gateway of
    the order's platform; the job is recorded on the order's timeline (and audited), and the
    gateway's report of it later too. Returns the timeline event."""
    from hotline.core.services import require
    from hotline.workorders import selectors as order_selectors
    from hotline.workorders.services import timeline_event

    now = now or timezone.now()
    require(actor, "workorders.callback")
    order = order_selectors.order_get(actor, order.number)  # in the actor's scope
    if not order.answer.strip():
        raise Conflict("工单尚无答复内容，不能传真")
    number = fax_number(number, field="number")
    entry = fax_entry(order.platform_id)
    if entry is None:
        raise Conflict("本平台尚未接入传真渠道")
    text = (
        f"{order.platform.name} 工单答复\n工单编号：{order.number}\n诉求标题：{order.title}\n\n"
        f"答复内容：\n{order.answer}"
    )
    try:
        job = gateway_send(entry, number, text=text)
    except DeliveryError as error:
        raise Conflict(f"传真未能发出：{error}") from None
    with transaction.atomic():
        event = timeline_event(
            order,
            FAX_REPLY,
            actor,
            order.state,
            order.state,
            at=now,
            data={"job": job, "number": mask_phone(number), "entry": entry.pk},
        )
        audit.record(
            "workorder.fax_reply",
            order,
            detail={"job": job, "number": mask_phone(number)},
            actor=actor,
        )
    return event


def _order_report(entry, job: str, status: str, pages: int, reason: str) -> bool:
    """The gateway's report of a work order's reply fax, recorded on its timeline (once)."""
    from hotline.workorders.models import Event
    from hotline.workorders.services import timeline_event

    sent = (
        Event.objects.select_related("order")
        .filter(action=FAX_REPLY, data__job=job, data__entry=entry.pk)
        .first()
    )
    if sent is None:
        return False
    if Event.objects.filter(order=sent.order, action=FAX_REPORT, data__job=job).exists():
        return True  # a repeated report
    order = sent.order
    timeline_event(
        order,
        FAX_REPORT,
        None,
        order.state,
        order.state,
        at=timezone.now(),
        data={"job": job, "status": status, "pages": pages, "reason": reason},
    )
    return True


CONNECTOR = register(FaxConnector())
