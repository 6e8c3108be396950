"""Writes of the assessment (考核): manual items entered and reviewed, scorecards stored.
Each is one transaction with one audit row.

Permission: ``workorders.supervise`` (督办) — held by 值班长, 派单员, 项目经理 and 热线办,
the people who answer for the operator's score; a manual item is approved by a second
such person, never by the one who entered it.
"""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.services import require, require_platform_in_scope
from hotline.workorders.services import attachment_check

from . import assessment
from .assessment import EventShare, ManualValue
from .kpis import Unit
from .models import ManualItem, ScorecardRun
from .presets import event_kinds, get_scheme

log = logging.getLogger("hotline.analytics")

PERMISSION = "workorders.supervise"
NOTE_MAX = 2000
MAX_COUNT = 100


def _month(value) -> dt.date:
    if isinstance(value, dt.date):
        return value.replace(day=1)
    period = assessment.parse_period(str(value or ""))
    if period.kind != assessment.PeriodKind.MONTH:
        raise Unprocessable("所属月份应为 YYYY-MM", field="month")
    return period.first_day


def manual_item_enter(
    *,
    actor: User | None,
    platform: Platform,
    scheme: str,
    item_code: str,
    kind: str,
    month,
    note: str,
    count: int = 1,
    value: float | None = None,
    points: float | None = None,
    occurred_on: dt.date | None = None,
    upload=None,
) -> ManualItem:
    """录入人工考核项: an event of an item (``kind`` one of the item's event kinds, ``count``
    times; ``points`` for a kind the seed leaves to judgement) or a value (``kind="value"``,
    a rate in 0–1), for ``month`` (date or ``YYYY-MM``), with a ``note`` and an optional
    attachment as evidence. It counts once approved by someone else."""
    require(actor, PERMISSION)
    require_platform_in_scope(actor, platform)
    scheme_obj = get_scheme(scheme)
    item = scheme_obj.item(item_code)
    month_day = _month(month)
    note = (note or "").strip()
    if not note:
        raise Unprocessable("请填写佐证说明（事由、来源、经办人等）", field="note")
    if len(note) > NOTE_MAX:
        raise Unprocessable(f"佐证说明不能超过 {NOTE_MAX} 字", field="note")
    if occurred_on is not None and occurred_on.replace(day=1) != month_day:
        raise Unprocessable("发生日期须在所属月份内", field="occurred_on")
    kinds = {k.code: k for k in event_kinds(scheme_obj, item)}
    if kind == ManualItem.VALUE:
        if not isinstance(item.measure, ManualValue):
            raise Unprocessable(f"考核项目“{item.name}”不录入数值", field="kind")
        if value is None:
            raise Unprocessable(f"请填写{item.measure.label}", field="value")
        if item.measure.unit == Unit.RATE and not 0 <= value <= 1:
            raise Unprocessable("比率应在 0% 至 100% 之间", field="value")
        if value < 0:
            raise Unprocessable("录入值不能为负数", field="value")
        count, points = 1, None
    else:
        event_kind = kinds.get(kind)
        if event_kind is None:
            raise Unprocessable(f"考核项目“{item.name}”没有此类事项", field="kind")
        if not 1 <= int(count) <= MAX_COUNT:
            raise Unprocessable(f"次数应在 1 至 {MAX_COUNT} 之间", field="count")
        value = None
        if event_kind.ranged:
            low, high = event_kind.bounds()
            least, most = sorted((abs(low), abs(high)))
            if points is None:
                raise Unprocessable(
                    f"“{event_kind.label}”须认定分值（{least:g}–{most:g} 分）",
                    field="points",
                )
            points = -abs(points) if event_kind.points < 0 else abs(points)
            if not low <= points <= high:
                raise Unprocessable(
                    f"“{event_kind.label}”的分值应在 {least:g}–{most:g} 分之间",
                    field="points",
                )
        else:
            points = None
        if isinstance(item.measure, EventShare):
            points = None
    if upload is not None:
        attachment_check(upload)
    with transaction.atomic():
        row = ManualItem(
            platform=platform,
            scheme=scheme_obj.id,
            item_code=item.code,
            kind=kind,
            month=month_day,
            occurred_on=occurred_on,
            count=int(count),
            value=value,
            points=points,
            note=note,
            entered_by=actor,
        )
        if upload is not None:
            row.attachment_name = str(upload.name).replace("/", "_").replace("\\", "_")[-200:]
            ext = row.attachment_name.rsplit(".", 1)[-1].lower()
            row.attachment.save(f"{timezone.now():%d%H%M%S%f}.{ext}", upload, save=False)
            # The file is stored before the row: take it away again if the row is not.
            stored = row.attachment.name
        try:
            row.save()
            audit.record(
                "assessment.manual.enter",
                row,
                object_repr=f"{scheme_obj.name} · {item.name}",
                after=audit.snapshot(
                    row, ["scheme", "item_code", "kind", "month", "count", "value", "points"]
                ),
                detail={"note": note[:200], "attachment": row.attachment_name},
                actor=actor,
            )
        except BaseException:
            if upload is not None:
                row.attachment.storage.delete(stored)
            raise
    return row


def manual_item_review(
    *, actor: User | None, item: ManualItem, approve: bool, note: str = ""
) -> ManualItem:
    """审核人工考核项: approve (it counts from now on) or reject (with a reason), by someone
    other than the person who entered it."""
    require(actor, PERMISSION)
    note = (note or "").strip()
    if not approve and not note:
        raise Unprocessable("驳回须填写审核意见", field="review_note")
    if len(note) > NOTE_MAX:
        raise Unprocessable(f"审核意见不能超过 {NOTE_MAX} 字", field="review_note")
    with transaction.atomic():
        locked = ManualItem.objects.select_for_update().filter(pk=item.pk).first()
        if locked is None:
            raise NotFound("人工考核项不存在")
        require_platform_in_scope(actor, locked.platform)
        if actor is not None and locked.entered_by_id == actor.pk:
            raise Forbidden("人工考核项须由录入人以外的人员审核")
        if locked.state != ManualItem.State.PENDING:
            raise Conflict(f"该考核项已{locked.get_state_display()}，不能再次审核")
        before = audit.snapshot(locked, ["state", "reviewed_by", "review_note"])
        locked.state = ManualItem.State.APPROVED if approve else ManualItem.State.REJECTED
        locked.reviewed_by = actor
        locked.reviewed_at = timezone.now()
        locked.review_note = note
        locked.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_note"])
        audit.record(
            "assessment.manual.approve" if approve else "assessment.manual.reject",
            locked,
            before=before,
            after=audit.snapshot(locked, ["state", "reviewed_by", "review_note"]),
            actor=actor,
        )
    return locked


def scorecard_store(
    *, actor: User | None, platform: Platform, scheme: str, period: str, now=None
) -> ScorecardRun:
    """保存考核结果: compute the scorecard now and keep it as computed."""
    require(actor, PERMISSION)
    require_platform_in_scope(actor, platform)
    card = assessment.run(scheme, period, platform, now=now)
    with transaction.atomic():
        run = ScorecardRun.objects.create(
            platform=platform,
            scheme=card.scheme.id,
            period=card.period.text,
            total=card.total,
            grade=card.grade or "",
            payment_rate=card.payment_rate,
            result=card.as_dict(),
            run_by=actor,
        )
        audit.record(
            "assessment.run.store",
            run,
            object_repr=f"{card.scheme.name} {card.period.label}",
            after={"total": card.total, "grade": card.grade, "payment_rate": card.payment_rate},
            actor=actor,
        )
    return run
