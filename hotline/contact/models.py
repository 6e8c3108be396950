"""Contact center data: citizen profiles, sessions and their messages, queues, agent
presence and its intervals, the append-only fact log, black/white lists.

The queue lives in the database (``QueueEntry``), so a restart of a web process loses
nothing; routing claims rows under locks (see ``acd.py``).
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hotline.core.models import AppendOnly, Platform, Skill, Team

from .lifecycle import (
    ACTIVITY_LABELS,
    DELIVERY_LABELS,
    NOT_READY_REASONS,
    PRESENCE_LABELS,
    SESSION_STATE_LABELS,
    WITH_AGENT_STATES,
    Activity,
    Delivery,
    Presence,
    SessionState,
)


class Channel(models.TextChoices):
    VOICE = "voice", "语音"
    WEBCHAT = "webchat", "网页在线"
    WECHAT = "wechat", "微信"
    SMS = "sms", "短信"
    EMAIL = "email", "邮件"
    WEIBO = "weibo", "微博"
    FAX = "fax", "传真"


VOICE_CHANNELS = frozenset({Channel.VOICE})
TEXT_CHANNELS = frozenset(Channel) - VOICE_CHANNELS


class IdentityKind(models.TextChoices):
    PHONE = "phone", "电话"
    WECHAT = "wechat", "微信 openid"
    EMAIL = "email", "邮箱"
    WEIBO = "weibo", "微博账号"
    WEBCHAT = "webchat", "网页访客"
    FAX = "fax", "传真号码"


# Which identity a contact of each channel arrives with.
CHANNEL_IDENTITY = {
    Channel.VOICE: IdentityKind.PHONE,
    Channel.SMS: IdentityKind.PHONE,
    Channel.WEBCHAT: IdentityKind.WEBCHAT,
    Channel.WECHAT: IdentityKind.WECHAT,
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.WEIBO: IdentityKind.WEIBO,
    Channel.FAX: IdentityKind.FAX,
}

# Channels (and identities) whose address is a phone number: masked wherever it is shown.
PHONE_CHANNELS = frozenset({Channel.VOICE, Channel.SMS, Channel.FAX})
PHONE_IDENTITIES = frozenset({IdentityKind.PHONE, IdentityKind.FAX})

SATISFACTION = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")  # five levels, as 回访

# GB/T 33358 (R-STD-1): text media answered within 3 minutes, mailboxes within 24 hours.
# The desk's response timer and the first-response facts read this one table.
FIRST_RESPONSE_TARGET_SECONDS = {
    Channel.WEBCHAT: 180,
    Channel.WECHAT: 180,
    Channel.SMS: 180,
    Channel.WEIBO: 180,
    Channel.EMAIL: 24 * 3600,
    Channel.FAX: 24 * 3600,
}


# --- citizens ---------------------------------------------------------------------------------


class CitizenProfile(models.Model):
    """来电人档案: one citizen, known by one or more identities (phones, WeChat openid,
    email …). A profile merged into another keeps its row (``merged_into``) so the history
    of both stays readable."""

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField("姓名", max_length=50, blank=True)
    gender = models.CharField("性别", max_length=4, blank=True)
    address = models.CharField("常用地址", max_length=200, blank=True)
    note = models.CharField("备注", max_length=500, blank=True)
    is_vip = models.BooleanField("重点来电人（VIP）", default=False)
    created_at = models.DateTimeField("建档时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)
    merged_into = models.ForeignKey(
        "self",
        verbose_name="已合并至",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_profiles",
    )
    merged_at = models.DateTimeField("合并时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "来电人档案"
        ordering = ["-pk"]

    def __str__(self):
        return self.name or f"来电人{self.pk}"


class CitizenIdentity(models.Model):
    """One address a citizen reaches us from. Unique per platform and kind, so a contact
    finds its profile by one indexed lookup."""

    profile = models.ForeignKey(CitizenProfile, on_delete=models.CASCADE, related_name="identities")
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("类型", max_length=10, choices=IdentityKind.choices)
    value = models.CharField("号码/账号", max_length=200)
    # the profile it was first recorded on, kept through merges (history)
    original_profile_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "来电人标识"
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "kind", "value"], name="citizen_identity_once"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.value}"


class ProfileMerge(models.Model):
    """The record of one merge: which profile went into which, what moved."""

    source = models.ForeignKey(CitizenProfile, on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(CitizenProfile, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    identities = models.JSONField(default=list)  # [[kind, value], …] moved
    sessions = models.JSONField(default=list)  # session ids re-pointed
    source_snapshot = models.JSONField(default=dict)

    class Meta:
        verbose_name = verbose_name_plural = "档案合并记录"

    def __str__(self):
        return f"{self.source_id} → {self.target_id}"


# --- queues ------------------------------------------------------------------------------------


class Strategy(models.TextChoices):
    LONGEST_IDLE = "longest_idle", "最长空闲优先"
    LEAST_BUSY = "least_busy", "最少会话优先"
    ROUND_ROBIN = "round_robin", "轮询"
    SKILL_LEVEL = "skill_level", "技能等级优先"


class OutOfHoursAction(models.TextChoices):
    MESSAGE = "message", "播报/发送下班提示后结束"
    LEAVE_REQUEST = "leave_request", "留言，转回拨任务"
    OVERFLOW = "overflow", "转至其他队列"


WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def default_weekly_hours() -> dict:
    """Every day, around the clock: a new queue takes contacts until someone sets hours."""
    return {str(day): [["00:00", "24:00"]] for day in range(7)}


class Queue(models.Model):
    """A skill group's queue (技能队列). Contacts wait here until the ACD claims an agent."""

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="+"
    )
    code = models.SlugField("队列代码", max_length=30)
    name = models.CharField("队列名称", max_length=50)
    skill = models.ForeignKey(
        Skill,
        verbose_name="所需技能",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="留空：本平台所有签入坐席均可接待",
    )
    min_skill_level = models.PositiveSmallIntegerField("最低技能等级", default=1)
    widen_after_seconds = models.PositiveIntegerField(
        "放宽技能要求间隔（秒）",
        default=0,
        help_text="每等待这么久，所需技能等级降低一级（0 表示不放宽）",
    )
    skill_bonus_seconds = models.PositiveIntegerField(
        "技能加权（秒/级）",
        default=10,
        help_text="坐席在本队列技能每高一级，本队列来电在其面前提前的秒数",
    )
    strategy = models.CharField(
        "分配策略", max_length=20, choices=Strategy.choices, default=Strategy.LONGEST_IDLE
    )
    time_zone = models.CharField("时区", max_length=40, default="Asia/Shanghai")
    weekly_hours = models.JSONField(
        "每周服务时间",
        default=default_weekly_hours,
        help_text='{"0": [["08:00", "18:00"]], …}，0 为周一；空列表为全天不服务',
    )
    out_of_hours_action = models.CharField(
        "非服务时间处理",
        max_length=20,
        choices=OutOfHoursAction.choices,
        default=OutOfHoursAction.LEAVE_REQUEST,
    )
    out_of_hours_message = models.CharField(
        "非服务时间提示",
        max_length=300,
        default="您好，现在是非服务时间，请留下您的诉求，我们将在服务时间内尽快回复您。",
    )
    out_of_hours_queue = models.ForeignKey(
        "self",
        verbose_name="非服务时间转至",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    overflow_queue = models.ForeignKey(
        "self",
        verbose_name="溢出队列",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    overflow_after_seconds = models.PositiveIntegerField(
        "溢出等待时长（秒）", default=0, help_text="0 表示不溢出"
    )
    max_length = models.PositiveIntegerField("最大排队数", default=0, help_text="0 表示不限")
    full_message = models.CharField(
        "队列已满提示",
        max_length=300,
        default="您好，当前咨询人数较多，请稍后再联系我们，感谢您的理解。",
    )
    max_wait_seconds = models.PositiveIntegerField(
        "最长排队时长（秒）",
        default=0,
        help_text="等待超过此时长且无溢出队列时结束排队并转回拨任务（0 表示不限）",
    )
    offer_timeout_seconds = models.PositiveIntegerField(
        "接起超时（秒）", default=20, help_text="手动接起的坐席在此时间内未接起则退回排队"
    )
    idle_close_seconds = models.PositiveIntegerField(
        "文字会话空闲关闭（秒）", default=600, help_text="来电人无新消息超过此时长自动结束"
    )
    priority_numbers = models.JSONField(
        "指定优先号码", default=list, blank=True, help_text="这些号码/账号优先接入"
    )
    designated_priority_seconds = models.PositiveIntegerField("指定号码优先（秒）", default=600)
    vip_priority_seconds = models.PositiveIntegerField("重点来电人优先（秒）", default=300)
    emergency_priority_seconds = models.PositiveIntegerField("紧急诉求优先（秒）", default=1800)
    is_active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "排队队列"
        ordering = ["platform_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "code"], name="queue_code_per_platform"),
        ]

    def __str__(self):
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class QueueScheduleException(models.Model):
    """A dated exception to a queue's week: a holiday closed, or special hours."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField("日期")
    name = models.CharField("名称", max_length=30, blank=True)
    hours = models.JSONField("服务时间", default=list, blank=True, help_text="空列表为全天不服务")
    action = models.CharField(
        "非服务时间处理",
        max_length=20,
        choices=OutOfHoursAction.choices,
        blank=True,
        help_text="留空则沿用队列设置",
    )
    message = models.CharField("提示", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "队列服务时间例外"
        constraints = [
            models.UniqueConstraint(fields=["queue", "date"], name="queue_exception_once"),
        ]

    def __str__(self):
        return f"{self.queue_id} {self.date} {self.name}"


class ChannelEntry(models.Model):
    """渠道接入: one door of a text channel into the hotline — the web chat of a site, a
    WeChat account, an SMS number, a mailbox. Its connector verifies and normalises what
    comes through it; new contacts wait in its queue. ``settings`` holds what the
    connector needs (for web chat: ``allowed_origins``, the sites that may embed it)."""

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    code = models.SlugField("接入代码", max_length=30)
    name = models.CharField("名称", max_length=50)
    queue = models.ForeignKey(
        Queue, verbose_name="进入队列", on_delete=models.PROTECT, related_name="entries_from"
    )
    welcome = models.CharField(
        "欢迎语",
        max_length=300,
        blank=True,
        default="您好，欢迎使用12345政务服务便民热线在线咨询，请描述您的诉求。",
    )
    settings = models.JSONField("接入参数", default=dict, blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "渠道接入"
        ordering = ["platform_id", "channel", "code"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "code"], name="channel_entry_code"),
        ]

    def __str__(self):
        return self.name


class SmsPart(models.Model):
    """长短信分段: one part of a citizen's long SMS, as the gateway pushed it (the UDH reference,
    part number and count). Parts are joined in order once all are here, or handed on as
    they are after a wait (``joined_at`` set either way, ``complete`` says which); the row
    stays a while so that a part the gateway pushes again is known. Parts may reach
    different web processes, so they wait here, not in a per-process cache."""

    entry = models.ForeignKey(
        ChannelEntry, on_delete=models.CASCADE, related_name="+", verbose_name="渠道接入"
    )
    phone = models.CharField("手机号码", max_length=24)
    ref = models.CharField("长短信标识", max_length=40)
    total = models.PositiveSmallIntegerField("总条数")
    seq = models.PositiveSmallIntegerField("序号")
    body = models.TextField("内容", blank=True)
    external_id = models.CharField("网关消息编号", max_length=100)
    received_at = models.DateTimeField("收到时间", default=timezone.now)
    joined_at = models.DateTimeField("转交时间", null=True, blank=True)
    complete = models.BooleanField("已收全", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "长短信分段"
        constraints = [
            models.UniqueConstraint(fields=["entry", "external_id"], name="sms_part_once"),
        ]
        indexes = [
            models.Index(fields=["entry", "phone", "ref", "total"], name="sms_part_group"),
            models.Index(fields=["joined_at", "received_at"], name="sms_part_waiting"),
        ]

    def __str__(self):
        return f"{self.phone} {self.ref} {self.seq}/{self.total}"


# --- sessions ----------------------------------------------------------------------------------


class Session(models.Model):
    """会话: one contact of a citizen on one channel, from arrival to close."""

    ref = models.CharField("会话编号", max_length=40, unique=True)
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    state = models.CharField(
        "状态",
        max_length=12,
        choices=[(s.value, label) for s, label in SESSION_STATE_LABELS.items()],
        default=SessionState.NEW,
        db_index=True,
    )
    citizen = models.ForeignKey(
        CitizenProfile,
        verbose_name="来电人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
    )
    address = models.CharField("来电号码/账号", max_length=200, blank=True)
    subject = models.CharField("主题", max_length=200, blank=True)
    queue = models.ForeignKey(
        Queue,
        verbose_name="队列",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="当前坐席",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contact_sessions",
    )
    emergency = models.BooleanField("紧急", default=False)
    priority = models.IntegerField("优先（秒）", default=0)
    priority_reasons = models.JSONField("优先原因", default=list, blank=True)
    created_at = models.DateTimeField("进线时间", default=timezone.now, db_index=True)
    queued_at = models.DateTimeField("首次排队时间", null=True, blank=True)
    offered_at = models.DateTimeField("分配时间", null=True, blank=True)
    answered_at = models.DateTimeField("接起时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    closed_at = models.DateTimeField("关闭时间", null=True, blank=True)
    last_inbound_at = models.DateTimeField("来电人最后消息时间", null=True, blank=True)
    end_reason = models.CharField("结束原因", max_length=20, blank=True)
    needs_callback = models.BooleanField("待回拨", default=False, db_index=True)
    # 回拨任务 done: who called or wrote back, when, and what came of it
    callback_at = models.DateTimeField("回拨时间", null=True, blank=True)
    callback_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="回拨人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    callback_note = models.CharField("回拨结果", max_length=500, blank=True)
    summary = models.TextField("会话小结", blank=True)
    satisfaction = models.CharField(
        "满意度", max_length=8, blank=True, choices=[(s, s) for s in SATISFACTION]
    )
    satisfaction_at = models.DateTimeField("评价时间", null=True, blank=True)
    # 邀请评价: the agent sent the satisfaction request while the session was active
    rating_requested_at = models.DateTimeField("邀请评价时间", null=True, blank=True)
    # 保持: the caller hears music and the agent silence until retrieved (voice only)
    held_at = models.DateTimeField("保持开始", null=True, blank=True)
    first_response_at = models.DateTimeField("首次响应时间", null=True, blank=True)
    channel_entry = models.ForeignKey(
        "ChannelEntry",
        verbose_name="渠道接入",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
        help_text="文字渠道：会话经由的接入点（公众号、短信号码、邮箱……），回复经它发出",
    )

    class Meta:
        verbose_name = verbose_name_plural = "会话"
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A voice agent never holds two calls, whatever door the write comes through.
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(channel="voice", state__in=sorted(s.value for s in WITH_AGENT_STATES)),
                name="voice_agent_one_call",
            ),
        ]
        indexes = [models.Index(fields=["agent", "state"], name="session_agent_state")]

    def __str__(self):
        return self.ref

    @property
    def is_voice(self) -> bool:
        return self.channel in VOICE_CHANNELS

    @property
    def state_label(self) -> str:
        return SESSION_STATE_LABELS[SessionState(self.state)]

    @property
    def callback_reason(self) -> str:
        """Why the session is a 回拨任务."""
        if self.end_reason == "max_wait":
            return "排队超时"
        if self.end_reason == "citizen" and not self.answered_at:
            return "漏接回拨"  # hung up while waiting
        if self.answered_at:
            return "满意度回访"  # answered on a channel that carries no rating (fax)
        return "非服务时间留言"


END_REASONS = {
    "citizen": "来电人结束",
    "agent": "坐席结束",
    "idle": "空闲超时",
    "blacklist": "黑名单拒绝",
    "queue_full": "队列已满",
    "out_of_hours": "非服务时间",
    "left_request": "留言待回拨",
    "max_wait": "排队超时",
    "released": "班长强拆",
}


class SessionLeg(models.Model):
    """One agent's stint on a session: from offer to the end of their part (closed, or
    transferred on). Each carries its own 会话小结, which the next agent sees."""

    class End(models.TextChoices):
        CLOSED = "closed", "结束"
        TRANSFERRED = "transferred", "已转接"
        NO_ANSWER = "no_answer", "未接起"
        DECLINED = "declined", "已拒接"
        ABANDONED = "abandoned", "来电人放弃"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="legs")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.PROTECT)
    offered_at = models.DateTimeField("分配时间")
    answered_at = models.DateTimeField("接起时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    end = models.CharField("结束方式", max_length=12, choices=End.choices, blank=True)
    summary = models.TextField("会话小结", blank=True)
    note = models.CharField(
        "转接备注", max_length=200, blank=True, help_text="转出坐席留给接手坐席"
    )

    class Meta:
        verbose_name = verbose_name_plural = "会话坐席段"
        ordering = ["pk"]
        constraints = [
            # a contact is with at most one agent at a time: never assigned twice
            models.UniqueConstraint(
                fields=["session"], condition=Q(ended_at__isnull=True), name="one_open_leg"
            ),
        ]

    def __str__(self):
        return f"{self.session_id}@{self.agent_id}"


class Message(models.Model):
    """One message of a text session, or one event of a call (in the same timeline)."""

    class Direction(models.TextChoices):
        INBOUND = "in", "来电人发送"
        OUTBOUND = "out", "坐席发送"

    class Kind(models.TextChoices):
        TEXT = "text", "文字"
        IMAGE = "image", "图片"
        FILE = "file", "文件"
        LOCATION = "location", "位置"
        EVENT = "event", "系统通知"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField("方向", max_length=3, choices=Direction.choices)
    kind = models.CharField("类型", max_length=10, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField("内容", blank=True)
    attachment = models.FileField("附件", upload_to="contact/%Y/%m/", blank=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField("时间", default=timezone.now)
    external_id = models.CharField("渠道消息编号", max_length=100, blank=True)
    delivery = models.CharField(
        "投递状态",
        max_length=10,
        choices=[(d.value, label) for d, label in DELIVERY_LABELS.items()],
        blank=True,
        help_text="仅发往来电人的消息",
    )
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    last_error = models.CharField("最近错误", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "会话消息"
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_direction_display()} {self.body[:30]}"

    def save(self, *args, **kwargs):
        if self.direction == self.Direction.OUTBOUND and not self.delivery:
            self.delivery = Delivery.PENDING
        super().save(*args, **kwargs)


class QueueEntry(models.Model):
    """A contact waiting in a queue. ``rank_at`` is the entry time moved earlier by the
    contact's priority: ordering by it is "wait time + base priority". An entry claimed
    for an agent who has not accepted yet keeps its row (and its place) until accepted."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="entry")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="entries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    voice = models.BooleanField(default=False)
    priority = models.IntegerField("优先（秒）", default=0)
    entered_at = models.DateTimeField("进入本队列时间")
    first_entered_at = models.DateTimeField("首次排队时间")
    rank_at = models.DateTimeField("排序时间")
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "排队记录"
        indexes = [models.Index(fields=["queue", "rank_at", "id"], name="entry_queue_rank")]

    def __str__(self):
        return f"{self.queue_id}:{self.session_id}"


# --- agents --------------------------------------------------------------------------------------


class AfterWrapUp(models.TextChoices):
    READY = "ready", "服务后自动示闲"
    NOT_READY = "not_ready", "服务后自动示忙"


DEFAULT_TEXT_CAPACITY = 5


class AgentPresence(models.Model):
    """An agent's live state (the two stored layers) and settings. The counters are the
    agent's places in use; they change only under this row's lock (see ``acd``)."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    presence = models.CharField(
        "签入状态",
        max_length=12,
        choices=[(p.value, label) for p, label in PRESENCE_LABELS.items()],
        default=Presence.SIGNED_OUT,
    )
    reason = models.CharField(
        "示忙原因", max_length=20, blank=True, choices=list(NOT_READY_REASONS.items())
    )
    activity = models.CharField(
        "工作状态",
        max_length=12,
        choices=[(a.value, label) for a, label in ACTIVITY_LABELS.items()],
        default=Activity.IDLE,
    )
    since = models.DateTimeField("当前状态开始", default=timezone.now)
    # longest idle: when the agent last became free of work
    idle_since = models.DateTimeField("空闲开始", default=timezone.now)
    last_offered_at = models.DateTimeField("最近分配时间", null=True, blank=True)
    wrap_up_since = models.DateTimeField(null=True, blank=True)
    active_voice = models.PositiveSmallIntegerField("语音会话数", default=0)
    active_text = models.PositiveSmallIntegerField("文字会话数", default=0)
    # settings (状态设置)
    handles_voice = models.BooleanField("接听语音", default=True)
    handles_text = models.BooleanField("接待文字会话", default=True)
    text_capacity = models.PositiveSmallIntegerField(
        "文字会话并发上限", default=DEFAULT_TEXT_CAPACITY
    )
    wrap_up_enabled = models.BooleanField("会话后进入整理", default=True)
    wrap_up_seconds = models.PositiveIntegerField(
        "整理时长上限（秒）", default=60, help_text="0 表示直到手动示闲"
    )
    after_wrap_up = models.CharField(
        "整理后", max_length=10, choices=AfterWrapUp.choices, default=AfterWrapUp.READY
    )
    auto_accept = models.BooleanField("自动接入会话", default=True)
    # The agent's desk phone or softphone: the media node rings it for a call offered to
    # the agent and bridges the caller when it is picked up (the pick-up is the accept).
    phone_uri = models.CharField(
        "坐席话机", max_length=200, blank=True, help_text="SIP 地址，如 sip:8001@10.0.0.21:5060"
    )

    class Meta:
        verbose_name = verbose_name_plural = "坐席状态"
        indexes = [
            models.Index(fields=["platform", "presence", "activity"], name="presence_ready"),
        ]

    def __str__(self):
        return f"{self.agent_id} {self.presence}/{self.activity}"


class AgentStateInterval(models.Model):
    """Every interval an agent spent in one (presence, reason, activity): 工时利用率."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    presence = models.CharField(max_length=12)
    reason = models.CharField(max_length=20, blank=True)
    activity = models.CharField(max_length=12)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "坐席状态时段"
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"], condition=Q(ended_at__isnull=True), name="one_open_interval"
            ),
        ]

    def __str__(self):
        return f"{self.agent_id} {self.presence}/{self.activity} {self.started_at}"

    @property
    def seconds(self) -> float | None:
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at else None


# --- facts -------------------------------------------------------------------------------------


class FactKind(models.TextChoices):
    OFFERED = "offered", "进线"
    QUEUED = "queued", "排队"
    ASSIGNED = "assigned", "分配坐席"
    ANSWERED = "answered", "接起"
    NO_ANSWER = "no_answer", "坐席未接起"
    ABANDONED = "abandoned", "放弃"
    TRANSFERRED = "transferred", "转接"
    OVERFLOWED = "overflowed", "溢出"
    REFUSED = "refused", "拒绝接入"
    TIMED_OUT = "timed_out", "排队超时"
    ENDED = "ended", "结束"
    CLOSED = "closed", "小结完成"
    RATE_ASKED = "rate_asked", "邀请评价"
    INVITED = "invited", "邀请协助"
    RESPONDED = "responded", "首次响应"


class ContactFact(AppendOnly):
    """One fact of a contact's life (Asterisk ``queue_log``): append-only. KPIs (接通率,
    平均接通时长, the wall) are queries over these rows. References are plain ids (no
    foreign-key constraint) so that no cascade can ever remove a fact."""

    at = models.DateTimeField("时间", db_index=True)
    kind = models.CharField("事实", max_length=12, choices=FactKind.choices)
    platform_id = models.BigIntegerField()
    session_id = models.BigIntegerField(db_index=True)
    queue_id = models.BigIntegerField(null=True, blank=True)
    agent_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10)
    wait_seconds = models.FloatField("等待（秒）", null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    append_only_name = "话务事实记录"

    class Meta:
        verbose_name = verbose_name_plural = "话务事实"
        ordering = ["at", "pk"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["queue_id", "kind", "at"], name="fact_queue_kind_at"),
            models.Index(fields=["agent_id", "kind", "at"], name="fact_agent_kind_at"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.session_id}"


# --- black and white lists ------------------------------------------------------------------------


class ListEntry(models.Model):
    """黑白名单: a blacklisted address is politely refused (and the refusal logged); a
    whitelisted one is never refused for a full queue and gets the designated priority."""

    class Kind(models.TextChoices):
        BLACK = "black", "黑名单"
        WHITE = "white", "白名单"

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("名单", max_length=5, choices=Kind.choices)
    identity_kind = models.CharField("类型", max_length=10, choices=IdentityKind.choices)
    value = models.CharField("号码/账号", max_length=200)
    reason = models.CharField("原因", max_length=200)
    expires_at = models.DateTimeField("有效期至", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField("撤销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "黑白名单"
        indexes = [models.Index(fields=["platform", "identity_kind", "value"], name="list_lookup")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.value}"

    def in_force(self, now: dt.datetime) -> bool:
        return self.removed_at is None and (self.expires_at is None or self.expires_at > now)


# --- the supervisor seat (班长席) -------------------------------------------------------------------


class SessionParticipant(models.Model):
    """会话参与人: someone besides the session's agent who writes into a text session —
    a supervisor who barged in (强插, ``role`` supervisor), or a colleague, back-office
    staff or a handling unit's staff member the agent invited (多方会话, ``role``
    invited). The agent keeps the session (its leg, its place, its summary); a participant
    writes beside the agent until leaving, being removed, or the session's end. Not a leg:
    the invariant "one open leg per session" (one agent at a time) stays whole."""

    class Role(models.TextChoices):
        SUPERVISOR = "supervisor", "班长强插"
        INVITED = "invited", "受邀协助"

    class Left(models.TextChoices):
        LEFT = "left", "主动退出"
        REMOVED = "removed", "坐席移出"
        ENDED = "ended", "会话结束"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="参与人", on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(
        "参与方式", max_length=12, choices=Role.choices, default=Role.SUPERVISOR
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="邀请人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    joined_at = models.DateTimeField("加入时间")
    left_at = models.DateTimeField("退出时间", null=True, blank=True)
    left_reason = models.CharField("退出方式", max_length=10, choices=Left.choices, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "会话参与人"
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user"],
                condition=Q(left_at__isnull=True),
                name="one_open_participation",
            ),
        ]

    def __str__(self):
        return f"{self.session_id}+{self.user_id}"


class Announcement(models.Model):
    """公告: a supervisor's notice to one agent, a team or every agent of the platform,
    shown on their workbench while in force (``starts_at`` ≤ now < ``ends_at``, not
    withdrawn)."""

    class Level(models.TextChoices):
        INFO = "info", "通知"
        WARNING = "warning", "重要"

    class Audience(models.TextChoices):
        ALL = "all", "全体坐席"
        TEAM = "team", "指定班组"
        AGENT = "agent", "指定坐席"

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField("标题", max_length=100)
    body = models.TextField("内容", max_length=2000)
    level = models.CharField("级别", max_length=10, choices=Level.choices, default=Level.INFO)
    audience = models.CharField(
        "发送范围", max_length=10, choices=Audience.choices, default=Audience.ALL
    )
    team = models.ForeignKey(
        Team,
        verbose_name="班组",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="坐席",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    starts_at = models.DateTimeField("生效时间")
    ends_at = models.DateTimeField("有效期至")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="发布人",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("发布时间", default=timezone.now)
    # when the live event went out (at publishing, or when a later start came due)
    announced_at = models.DateTimeField("推送时间", null=True, blank=True)
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="撤回人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "公告"
        ordering = ["-starts_at", "-pk"]
        indexes = [models.Index(fields=["platform", "ends_at"], name="announcement_in_force")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="announcement_period"
            ),
            # the audience names exactly what it needs: a team, an agent, or neither
            models.CheckConstraint(
                condition=(
                    Q(audience="all", team__isnull=True, agent__isnull=True)
                    | Q(audience="team", team__isnull=False, agent__isnull=True)
                    | Q(audience="agent", team__isnull=True, agent__isnull=False)
                ),
                name="announcement_audience",
            ),
        ]

    def __str__(self):
        return self.title

    def status(self, now: dt.datetime) -> str:
        """生效中 / 未生效 / 已过期 / 已撤回."""
        if self.withdrawn_at is not None:
            return "已撤回"
        if now < self.starts_at:
            return "未生效"
        if now >= self.ends_at:
            return "已过期"
        return "生效中"
