"""Work orders (工单): the order, its branches (one per handling unit), its timeline of
events, the request category tree and the SLA table."""

from django.db import models
from django.utils import timezone

from hotline.core.models import AppendOnly, HandlingUnit, NamedTreeNode, Platform, User

from .lifecycle import BRANCH_LABELS, SATISFACTION, STATE_LABELS, BranchState, State


class OrderType(models.TextChoices):
    """诉求类型 (R-WO-2)."""

    CONSULT = "consult", "咨询"
    HELP = "help", "求助"
    COMPLAINT = "complaint", "投诉"
    REPORT = "report", "举报"
    SUGGESTION = "suggestion", "建议"
    PRAISE = "praise", "表扬"
    RESCUE = "rescue", "救援"


class Urgency(models.TextChoices):
    NORMAL = "normal", "一般"
    URGENT = "urgent", "紧急"
    CRITICAL = "critical", "特急（涉及生命财产安全）"


class Channel(models.TextChoices):
    PHONE = "phone", "电话"
    WEB = "web", "网站"
    WECHAT = "wechat", "微信"
    SMS = "sms", "短信"
    EMAIL = "email", "邮件"
    WEIBO = "weibo", "微博"
    FAX = "fax", "传真"
    APP = "app", "移动应用"
    VISIT = "visit", "来访"


class Category(NamedTreeNode, models.Model):
    """诉求分类: a hierarchical tree; orders are filed under a leaf."""

    parent = models.ForeignKey(
        "self",
        verbose_name="上级分类",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    code = models.CharField("分类编码", max_length=20, unique=True)
    name = models.CharField("分类名称", max_length=50)
    # Water, power, gas, heating: sign-for within 30 minutes (R-STD-7).
    public_utility = models.BooleanField("水电气暖类", default=False)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "诉求分类"
        ordering = ["code"]

    def __str__(self):
        return self.name


class WorkOrder(models.Model):
    number = models.CharField("工单编号", max_length=30, unique=True)
    platform = models.ForeignKey(
        Platform, verbose_name="平台", on_delete=models.PROTECT, related_name="work_orders"
    )
    order_type = models.CharField("诉求类型", max_length=12, choices=OrderType.choices)
    category = models.ForeignKey(
        Category,
        verbose_name="诉求分类",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    urgency = models.CharField(
        "紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL
    )
    title = models.CharField("标题", max_length=100)
    content = models.TextField("诉求内容", max_length=5000)
    caller_name = models.CharField("来电人", max_length=50, blank=True)
    caller_phone = models.CharField("联系电话", max_length=20, blank=True, db_index=True)
    confidential = models.BooleanField("保密件", default=False)
    area = models.CharField("所属区域", max_length=50, blank=True)
    address = models.CharField("详细地址", max_length=200, blank=True)
    channel = models.CharField(
        "来源渠道", max_length=10, choices=Channel.choices, default=Channel.PHONE
    )
    session_ref = models.CharField("来源会话", max_length=40, blank=True)

    state = models.CharField(
        "状态",
        max_length=20,
        choices=[(s.value, label) for s, label in STATE_LABELS.items()],
        default=State.SUBMITTED,
        db_index=True,
    )
    lead_unit = models.ForeignKey(
        HandlingUnit,
        verbose_name="主办单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_orders",
    )
    direct = models.BooleanField("即时答复", default=False)
    answer = models.TextField("答复内容", blank=True, max_length=5000)
    satisfaction = models.CharField(
        "满意度", max_length=6, blank=True, choices=[(s, s) for s in SATISFACTION]
    )

    created_by = models.ForeignKey(
        User, verbose_name="受理人", null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("受理时间", default=timezone.now, db_index=True)
    dispatched_at = models.DateTimeField("派单时间", null=True, blank=True)
    replied_at = models.DateTimeField("办结反馈时间", null=True, blank=True)
    completed_at = models.DateTimeField("办结时间", null=True, blank=True)
    closed_at = models.DateTimeField("归档/销单时间", null=True, blank=True)

    # Deadlines (stored, computed on the working-day calendar by sla.py).
    dispatch_due = models.DateTimeField("派单时限", null=True, blank=True)
    handle_due = models.DateTimeField("办理时限", null=True, blank=True)
    review_due = models.DateTimeField("审核时限", null=True, blank=True)
    callback_due = models.DateTimeField("回访时限", null=True, blank=True)

    # Which auto-dispatch rule chose the unit (so a return can be traced to its rule).
    dispatch_rule = models.ForeignKey(
        "DispatchRule",
        verbose_name="分派规则",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # 并单: the open order this duplicate was closed into (state ``merged``).
    merged_into = models.ForeignKey(
        "self",
        verbose_name="并入工单",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="merged_orders",
    )

    urge_count = models.PositiveIntegerField("催办次数", default=0)
    supervise_count = models.PositiveIntegerField("督办次数", default=0)
    reopen_count = models.PositiveIntegerField("复核次数", default=0)
    escalated = models.BooleanField("主管处理", default=False)

    # The segmented words of title, content, answer and every branch's reply, for the
    # full-text index (hotline.search); rewritten by services whenever one of them changes.
    search_text = models.TextField("检索词", blank=True, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "工单"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["platform", "state", "-created_at"], name="wo_platform_state"),
            models.Index(fields=["lead_unit", "state"], name="wo_unit_state"),
            # Counting a list at a million orders without reading the rows (migration 0007):
            # the category subtree, and the scope's platform check of orders found by id.
            models.Index(fields=["category", "platform"], name="wo_category_platform"),
            models.Index(fields=["id", "platform"], name="wo_id_platform"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[State(self.state)]


class Assignment(models.Model):
    """A branch of an order at one handling unit (主办 or 协办)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(
        HandlingUnit, verbose_name="承办单位", on_delete=models.PROTECT, related_name="assignments"
    )
    lead = models.BooleanField("主办", default=True)
    state = models.CharField(
        "状态",
        max_length=20,
        choices=[(s.value, label) for s, label in BRANCH_LABELS.items()],
        default=BranchState.PENDING_SIGN,
    )
    dispatched_at = models.DateTimeField("派单时间", default=timezone.now)
    sign_due = models.DateTimeField("签收时限", null=True, blank=True)
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    handle_due = models.DateTimeField("办理时限", null=True, blank=True)
    replied_at = models.DateTimeField("答复时间", null=True, blank=True)
    reply = models.TextField("答复内容", blank=True, max_length=5000)
    return_reason = models.CharField("退单理由", max_length=500, blank=True)
    returned_at = models.DateTimeField("退单时间", null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField("申请延期（工作日）", null=True, blank=True)
    extension_reason = models.CharField("延期理由", max_length=500, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "承办分支"
        ordering = ["order_id", "-lead", "pk"]
        indexes = [
            models.Index(fields=["unit", "state"], name="branch_unit_state"),
            # A unit's orders (unit staff's scope, the unit filter) from the index alone.
            models.Index(fields=["unit", "order"], name="branch_unit_order"),
        ]

    def __str__(self):
        return f"{self.order_id}@{self.unit_id}"


class Event(AppendOnly):
    """One step of an order's timeline (流转记录), stored when it happens. KPIs are
    computed from these rows: append-only."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField("动作", max_length=30, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField("操作人", max_length=100)
    unit = models.ForeignKey(
        HandlingUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    data = models.JSONField(default=dict, blank=True)

    append_only_name = "工单流转记录"
    append_only_deletable = True  # not refused here: the rows of a deleted order go with it

    class Meta:
        verbose_name = verbose_name_plural = "流转记录"
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.order_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class SlaRule(models.Model):
    """时限规则: how long a stage may take, by order type and urgency (blank = any).
    The most specific matching rule wins (type and urgency > one of them > neither)."""

    class Stage(models.TextChoices):
        SIGN = "sign", "签收"
        HANDLE = "handle", "办理"
        REVIEW = "review", "办结审核"
        CALLBACK = "callback", "回访"

    class Measure(models.TextChoices):
        MINUTES = "minutes", "分钟"
        HOURS = "hours", "小时（自然时）"
        WORKING_HOURS = "working_hours", "工作小时"
        WORKING_DAYS = "working_days", "工作日"

    stage = models.CharField("环节", max_length=10, choices=Stage.choices)
    order_type = models.CharField("诉求类型", max_length=12, choices=OrderType.choices, blank=True)
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, blank=True)
    public_utility = models.BooleanField("仅水电气暖类", default=False)
    amount = models.PositiveIntegerField("时长")
    measure = models.CharField("单位", max_length=15, choices=Measure.choices)

    class Meta:
        verbose_name = verbose_name_plural = "时限规则"
        ordering = ["stage", "order_type", "urgency"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "order_type", "urgency", "public_utility"],
                name="one_sla_rule_per_key",
            ),
        ]

    def __str__(self):
        return f"{self.get_stage_display()} {self.amount}{self.get_measure_display()}"


class DispatchRule(models.Model):
    """自动分派规则: checked in ``priority`` order; the first rule whose every condition
    holds names the unit. ``direct`` rules dispatch at intake with no dispatcher."""

    platform = models.ForeignKey(
        Platform, verbose_name="平台", on_delete=models.CASCADE, related_name="dispatch_rules"
    )
    priority = models.PositiveIntegerField("优先级", default=100, help_text="数字小者先匹配")
    name = models.CharField("规则名称", max_length=50)
    order_type = models.CharField("诉求类型", max_length=12, choices=OrderType.choices, blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name="诉求分类（含下级）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    keywords = models.CharField(
        "关键词",
        max_length=200,
        blank=True,
        help_text="以空格或逗号分隔，任一出现于标题或内容即匹配",
    )
    area = models.CharField("区域", max_length=50, blank=True)
    unit = models.ForeignKey(
        HandlingUnit, verbose_name="承办单位", on_delete=models.PROTECT, related_name="+"
    )
    direct = models.BooleanField("受理后直接派单", default=False)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "自动分派规则"
        ordering = ["platform_id", "priority", "pk"]

    def __str__(self):
        return self.name


class OrderDraft(models.Model):
    """暂存: an intake form saved half-way, to be loaded again by the same agent."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="order_drafts")
    title = models.CharField("标题", max_length=100, blank=True)
    data = models.JSONField("表单内容", default=dict)
    updated_at = models.DateTimeField("保存时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "工单草稿"
        ordering = ["-updated_at"]

    def __str__(self):
        return self.title or f"草稿 {self.pk}"


def attachment_path(instance, filename: str) -> str:
    return f"workorders/{timezone.localdate():%Y/%m}/{instance.order_id}/{filename}"


class Attachment(models.Model):
    """附件 of an order, at intake or with a unit's reply (type and size checked)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField("文件", upload_to=attachment_path, max_length=300)
    name = models.CharField("文件名", max_length=200)
    size = models.PositiveIntegerField("大小（字节）")
    content_type = models.CharField("类型", max_length=100)
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "工单附件"
        ordering = ["uploaded_at", "pk"]

    def __str__(self):
        return self.name
