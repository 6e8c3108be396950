"""SMS (短信): citizens write to the hotline's SMS number; agents answer by SMS.

The SMS gateway is the far side both ways, through the one adapter
:mod:`hotline.core.sms` (its vendor's wire format is a declared profile):

**Verify.** The gateway pushes to ``/channels/<platform>/<entry>/inbound`` (上行短信) and
``/channels/<platform>/<entry>/report`` (状态报告) with its credentials — a bearer token
or a signature with a timestamp, per profile (:meth:`SmsGateway.verify_push`); anything
else is refused (403) before it is read further.

**Normalise.** A push (form or JSON, one item or a list) names the citizen's phone —
normalised (+86, 86, spaces) so that it is the same identity (``IdentityKind.PHONE``) as
their calls — the text, the gateway's message id (de-duplication) and its time. The parts
of a concatenated SMS (UDH reference, part number, count) wait in the database
(:class:`~hotline.contact.models.SmsPart`) and are joined in order once all are
here; a part that waited longer than ``part_wait_minutes`` for its siblings is handed on
as it is, marked "（长短信未收全）" (checked on every push and by the worker each minute).

**Deliver.** Agent replies and notices go out through the gateway with our message id
(``m<pk>``) that the status report echoes; the gateway down or refusing is a
:class:`DeliveryError` (retries, then dead letter). Reports DELIVRD → delivered, any other
status (UNDELIV, EXPIRED, REJECTD …) → failed. The rating is asked as a numbered menu
(:class:`ReplyConnector`).
"""

import datetime as dt
import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone

from hotline.core import sms
from hotline.core.errors import Conflict, Invalid, NotFound, Unprocessable

from . import register
from .base import DeliveryError, Inbound, ReplyConnector, SettingField, Unverified

log = logging.getLogger(__name__)

INCOMPLETE_NOTE = "（长短信未收全）"
PART_WAIT_MINUTES = 5  # default wait of a part for its siblings
PART_KEEP = dt.timedelta(days=2)  # handed-on parts are remembered this long (re-pushes)
MAX_PARTS = 255  # the UDH count is one byte


def out_id(message) -> str:
    """Our id of an outbound message at the gateway, echoed in its status report."""
    return f"m{message.pk}"


def _message_pk(value: str) -> int | None:
    value = str(value or "")
    if not value.startswith("m"):
        return None
    head = value[1:].split("-", 1)[0]  # "m12-2": part 2 of message 12
    return int(head) if head.isdigit() else None


class _Lost(Exception):
    """Another process handed these parts on first."""


class SmsConnector(ReplyConnector):
    channel = "sms"
    label = "短信"
    # A long SMS: gateways commonly take up to about 500 characters with the signature.
    max_length = 500
    media_kinds = frozenset({"text"})
    polls = True  # each minute: parts of long SMS that waited too long are handed on

    setting_fields = (
        SettingField("api_url", "网关发送地址（URL）", required=True),
        SettingField(
            "profile",
            "网关协议",
            default="generic-json",
            help="generic-json：JSON + Bearer 令牌，支持长短信；signed-form：表单 + HMAC-SHA256 签名，超长分条发送",
        ),
        SettingField("token", "接口令牌（Bearer）", secret=True, help="generic-json 协议使用"),
        SettingField("appkey", "AppKey / 账号", help="签名协议使用"),
        SettingField("secret", "AppSecret / 签名密钥", secret=True, help="签名协议使用"),
        SettingField("sign_name", "短信签名", help="如：三亚12345"),
        SettingField("template_id", "模板编号", help="网关要求模板时填写"),
        SettingField(
            "callback_url", "状态报告地址", help="留空则按站点地址自动生成（report 接口）"
        ),
        SettingField(
            "overrides",
            "协议覆盖项",
            help="逐项覆盖协议预设，如 phone=mobile, long_sms=0, success_values=OK|0",
        ),
        SettingField("part_wait_minutes", "长短信等待（分钟）", default=str(PART_WAIT_MINUTES)),
        SettingField("timeout", "超时（秒）", default="10"),
    )
    webhook_actions = {
        "inbound": "上行短信推送地址（市民发来的短信）",
        "report": "状态报告推送地址（DELIVRD / UNDELIV …）",
    }

    # --- the gateway of an entry --------------------------------------------------------------

    def gateway(self, entry) -> sms.SmsGateway:
        """The entry's gateway (its parameters), or the platform's for a session that came
        through no entry; :class:`Conflict` when the parameters do not make one."""
        if entry is None:
            try:
                return sms.SmsGateway.from_settings()
            except sms.ProfileError as error:
                raise Conflict(f"平台短信网关设置有误：{error}") from None
        config = dict(entry.settings or {})
        site = getattr(settings, "HOTLINE_SITE_URL", "").rstrip("/")
        if not config.get("callback_url") and site:
            path = reverse(
                "channel_webhook_action", args=[entry.platform.code, entry.code, "report"]
            )
            config["callback_url"] = site + path
        try:
            return sms.SmsGateway.from_config(config)
        except sms.ProfileError as error:
            raise Conflict(f"短信接入参数有误：{error}") from None

    # --- inbound ---------------------------------------------------------------------------

    def webhook(self, request, entry, action: str):
        if action not in self.webhook_actions:
            raise NotFound("短信渠道没有此接口")
        if request.method != "POST":
            return JsonResponse({"detail": "请使用 POST 推送"}, status=405)
        gateway = self.gateway(entry)
        items = _push_items(request)
        for item in items:
            reason = gateway.verify_push(item, request.headers)
            if reason:
                raise Unverified(reason)
        now = timezone.now()
        if action == "inbound":
            parsed = [_inbound_item(gateway.profile, item) for item in items]  # all, or none
            with transaction.atomic():
                for item in parsed:
                    self._receive(entry, item, now)
            self.hand_on_stale(entry, now)
        else:
            reports = [_report_item(gateway.profile, item) for item in items]
            for report in reports:
                self._report(entry, report)
        # the answer the gateway expects (its profile's), so that it does not push again
        return HttpResponse(gateway.profile.ack, content_type="application/json; charset=utf-8")

    def _receive(self, entry, item: dict, now: dt.datetime) -> None:
        from .. import services

        if not item["text"].strip():
            log.info("sms entry %s: empty SMS %s ignored", entry.pk, item["msgid"])
            return
        if item["total"] <= 1:
            services.inbound_receive(entry=entry, inbound=_inbound(item), now=now)
            return
        self._receive_part(entry, item, now)

    def _receive_part(self, entry, item: dict, now: dt.datetime) -> None:
        from ..models import SmsPart

        try:
            with transaction.atomic():
                SmsPart.objects.create(
                    entry=entry,
                    phone=item["phone"],
                    ref=item["ref"],
                    total=item["total"],
                    seq=item["part"],
                    body=item["text"],
                    external_id=item["msgid"],
                    received_at=now,
                )
        except IntegrityError:
            log.info("sms entry %s: part %s pushed again, ignored", entry.pk, item["msgid"])
            return
        key = {"entry": entry, "phone": item["phone"], "ref": item["ref"], "total": item["total"]}
        waiting = list(SmsPart.objects.filter(joined_at__isnull=True, **key).order_by("seq", "pk"))
        if {p.seq for p in waiting} >= set(range(1, item["total"] + 1)):
            self._hand_on(entry, waiting, complete=True, now=now)
            return
        # A late sibling of parts already handed on incomplete: it will not be joined any
        # more, so it goes on at once instead of waiting again.
        recently = set(
            SmsPart.objects.filter(
                joined_at__gte=now - self._wait(entry) * 2, complete=False, **key
            ).values_list("seq", flat=True)
        )
        if len(waiting) == 1 and recently and item["part"] not in recently:
            self._hand_on(entry, waiting, complete=False, now=now)

    def _hand_on(self, entry, parts, *, complete: bool, now: dt.datetime) -> bool:
        """Join ``parts`` in order and hand them to the service — once, whichever process
        gets here first (the claim is an update of rows still waiting)."""
        from .. import services
        from ..models import SmsPart

        parts = sorted(parts, key=lambda p: (p.seq, p.pk))
        by_seq = {}
        for part in parts:
            by_seq.setdefault(part.seq, part)
        body = "".join(p.body for p in by_seq.values())
        if not complete:
            body += INCOMPLETE_NOTE
        first = next(iter(by_seq.values()))
        try:
            with transaction.atomic():
                claimed = SmsPart.objects.filter(
                    pk__in=[p.pk for p in parts], joined_at__isnull=True
                ).update(joined_at=now, complete=complete)
                if claimed != len(parts):
                    raise _Lost
                inbound = Inbound(
                    address=first.phone,
                    body=body,
                    external_id=f"in-{first.external_id}",
                    data={"parts": sorted(by_seq), "total": first.total, "complete": complete},
                )
                services.inbound_receive(entry=entry, inbound=inbound, now=now)
        except _Lost:
            return False
        return True

    def _wait(self, entry) -> dt.timedelta:
        try:
            minutes = float((entry.settings or {}).get("part_wait_minutes") or PART_WAIT_MINUTES)
        except (TypeError, ValueError):
            minutes = PART_WAIT_MINUTES
        return dt.timedelta(minutes=max(minutes, 0))

    def hand_on_stale(self, entry, now: dt.datetime | None = None) -> int:
        """Parts that waited longer than the entry's wait for their siblings are handed on
        as they are (joined in order, marked incomplete — or complete, if the last sibling
        came in a race); handed-on parts older than :data:`PART_KEEP` are forgotten."""
        from ..models import SmsPart

        now = now or timezone.now()
        SmsPart.objects.filter(entry=entry, joined_at__lt=now - PART_KEEP).delete()
        stale = (
            SmsPart.objects.filter(
                entry=entry, joined_at__isnull=True, received_at__lte=now - self._wait(entry)
            )
            .values_list("phone", "ref", "total")
            .distinct()
        )
        handed = 0
        for phone, ref, total in list(stale):
            parts = list(
                SmsPart.objects.filter(
                    entry=entry, phone=phone, ref=ref, total=total, joined_at__isnull=True
                )
            )
            complete = {p.seq for p in parts} >= set(range(1, total + 1))
            handed += bool(parts) and self._hand_on(entry, parts, complete=complete, now=now)
        return handed

    def poll(self, entry) -> int:
        """Nothing to fetch (the gateway pushes); each minute the worker hands on the
        parts of long SMS whose siblings did not come."""
        return self.hand_on_stale(entry)

    def _report(self, entry, report: dict) -> None:
        from .. import services
        from ..models import Message

        sent = Message.objects.filter(
            session__platform_id=entry.platform_id,
            session__channel=self.channel,
            direction=Message.Direction.OUTBOUND,
        )
        message = None
        pk = _message_pk(report["out_id"])
        if pk is not None:
            message = sent.filter(pk=pk).first()
        if message is None and report["msgid"]:
            msgid = report["msgid"]
            message = sent.filter(
                Q(external_id=msgid)
                | Q(external_id__startswith=f"{msgid},")
                | Q(external_id__endswith=f",{msgid}")
                | Q(external_id__contains=f",{msgid},")
            ).first()
        if message is None:
            # another sender on the same account (the notifier), or long forgotten
            log.info("sms entry %s: report for unknown message %s", entry.pk, report)
            return
        status = "delivered" if report["delivered"] else "failed"
        error = "" if report["delivered"] else f"短信未送达：{report['status']} {report['error']}"
        try:
            services.message_delivery(message=message, status=status, error=error.strip())
        except Conflict as late:  # e.g. a failure of one part after another was delivered
            log.info("sms report for message %s not applied: %s", message.pk, late.message)

    # --- outbound ------------------------------------------------------------------------------

    def send(self, message) -> str:
        session = message.session
        try:
            gateway = self.gateway(session.channel_entry)
        except Conflict as error:
            raise DeliveryError(error.message) from None
        try:
            return gateway.send(session.address, message.body, out_id=out_id(message))
        except (sms.SmsError, sms.ProfileError) as error:
            raise DeliveryError(str(error)) from None


# --- reading a push ------------------------------------------------------------------------------


def _push_items(request) -> list[dict]:
    """The items of a push: a JSON object or list of objects, or a form."""
    content_type = request.content_type or ""
    if "json" in content_type:
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Invalid("推送内容不是有效的 JSON") from None
        items = data if isinstance(data, list) else [data]
        if not items or not all(isinstance(item, dict) for item in items):
            raise Invalid("推送内容应为 JSON 对象或对象列表")
        return items
    form = {key: request.POST.get(key) for key in request.POST}
    if not form:
        raise Invalid("推送内容为空")
    return [form]


def _field(item: dict, name: str, what: str, *, required: bool = True) -> str:
    value = sms.dig(item, name) if name else None
    if value is None or (required and str(value).strip() == ""):
        if required:
            raise Unprocessable(f"推送缺少{what}（字段 {name}）", field=name)
        return ""
    if isinstance(value, dict | list):
        raise Unprocessable(f"推送的{what}格式不正确（字段 {name}）", field=name)
    return str(value)


def _inbound_item(profile: sms.Profile, item: dict) -> dict:
    raw = _field(item, profile.in_phone, "手机号码")
    phone = sms.normalise_phone(raw)
    if not phone:
        raise Unprocessable(f"手机号码格式不正确：{raw[:30]}", field=profile.in_phone)
    parsed = {
        "phone": phone,
        "text": _field(item, profile.in_text, "短信内容", required=False),
        "msgid": _field(item, profile.in_msgid, "网关消息编号")[:90],
        "time": _field(item, profile.in_time, "发送时间", required=False),
        "ref": _field(item, profile.in_ref, "长短信标识", required=False)[:40],
        "part": 1,
        "total": 1,
    }
    if parsed["ref"]:
        try:
            part = int(_field(item, profile.in_part, "长短信序号"))
            total = int(_field(item, profile.in_total, "长短信总条数"))
        except ValueError:
            raise Unprocessable("长短信序号与总条数应为整数", field=profile.in_part) from None
        if not 1 <= part <= total <= MAX_PARTS:
            raise Unprocessable(f"长短信序号不正确：{part}/{total}", field=profile.in_part)
        parsed["part"], parsed["total"] = part, total
    return parsed


def _inbound(item: dict) -> Inbound:
    return Inbound(
        address=item["phone"],
        body=item["text"],
        external_id=f"in-{item['msgid']}",
        data={"gateway_time": item["time"]},
    )


def _report_item(profile: sms.Profile, item: dict) -> dict:
    status = _field(item, profile.report_status, "状态")
    msgid = _field(item, profile.report_msgid, "网关消息编号", required=False)
    reference = _field(item, profile.report_out_id, "消息编号", required=False)
    if not msgid and not reference:
        raise Unprocessable(f"状态报告缺少消息编号（字段 {profile.report_msgid}）")
    return {
        "msgid": msgid,
        "out_id": reference,
        "status": status[:20],
        "error": _field(item, profile.report_error, "错误说明", required=False)[:100],
        "delivered": status.upper() in {v.upper() for v in profile.delivered_values},
    }


CONNECTOR = register(SmsConnector())
