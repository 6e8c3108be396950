"""Stored records of the assessment (考核): manual items (人工考核项) and scorecard runs.

KPIs are never stored here: they are computed from the facts. What the platform cannot
know by itself — a praise letter, a media criticism, an incident, a turnover rate — is a
:class:`ManualItem`, entered with evidence and counted only once a second person has
approved it. A :class:`ScorecardRun` keeps one computed scorecard as it was shown.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from hotline.core.models import Platform, User


def evidence_path(instance, filename: str) -> str:
    return f"assessment/{timezone.localdate():%Y/%m}/{filename}"


class ManualItem(models.Model):
    """人工考核项: one event (表扬、批评、故障、投诉 …) or one entered value (流失率 …) of a
    scheme's item for a month, with its evidence; counted once approved (by someone other
    than the person who entered it — the database refuses the same person)."""

    class State(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已通过"
        REJECTED = "rejected", "已驳回"

    VALUE = "value"  # ``kind`` of an entered value

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    scheme = models.CharField("考核方案", max_length=20)
    item_code = models.CharField("考核项目", max_length=20)
    kind = models.CharField("事项类别", max_length=40)
    month = models.DateField("所属月份")  # the first day of the month
    occurred_on = models.DateField("发生日期", null=True, blank=True)
    count = models.PositiveIntegerField("次数", default=1)
    value = models.FloatField("录入值", null=True, blank=True)
    points = models.FloatField("认定分值", null=True, blank=True)
    note = models.TextField("佐证说明")
    attachment = models.FileField(
        "佐证材料", upload_to=evidence_path, max_length=300, blank=True, default=""
    )
    attachment_name = models.CharField("材料文件名", max_length=200, blank=True, default="")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PENDING)
    entered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField("录入时间", default=timezone.now)
    reviewed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    review_note = models.TextField("审核意见", blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "人工考核项"
        ordering = ["-entered_at", "-pk"]
        indexes = [models.Index(fields=["platform", "scheme", "state", "month"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("entered_by")),
                name="assess_manual_second_person",
            ),
            models.CheckConstraint(condition=Q(count__gte=1), name="assess_manual_count_positive"),
        ]

    def __str__(self):
        return f"{self.scheme} {self.item_code} {self.kind} {self.month:%Y-%m}"


class ScorecardRun(models.Model):
    """考核结果: a scorecard computed for a scheme, platform and period, stored as shown."""

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    scheme = models.CharField("考核方案", max_length=20)
    period = models.CharField("统计期", max_length=10)  # 2026-03 | 2026-Q1 | 2026
    total = models.FloatField("总分")
    grade = models.CharField("等次", max_length=20, blank=True, default="")
    payment_rate = models.FloatField("支付比例", null=True, blank=True)
    result = models.JSONField("考核明细")
    run_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    run_at = models.DateTimeField("计算时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "考核结果"
        ordering = ["-run_at", "-pk"]
        indexes = [models.Index(fields=["platform", "scheme", "period"])]

    def __str__(self):
        return f"{self.scheme} {self.period} {self.total}"


# The audit viewer's names of this app's acts (registered in apps.py).
AUDIT_LABELS = {
    "assessment.manual.enter": "录入人工考核项",
    "assessment.manual.approve": "审核通过人工考核项",
    "assessment.manual.reject": "驳回人工考核项",
    "assessment.run.store": "保存考核结果",
    "report.generate": "生成统计报表",  # analytics.reports.services
}
