"""语音: IVR flows as data (the media node reads them; the pages edit them) and the
recordings of bridged calls."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from hotline.core.models import Platform


class IvrFlow(models.Model):
    """IVR 流程: what a caller of one hotline number hears and may press, as data.

    ``nodes`` maps a node name to one step (``hotline.telephony.ivr`` declares the kinds
    and checks a flow): 播放 (prompt or information message), 按键菜单, 服务时间分支,
    进入队列, 挂机. The call starts at ``start``."""

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="+"
    )
    code = models.SlugField("流程代码", max_length=30)
    name = models.CharField("流程名称", max_length=50)
    number = models.CharField(
        "接入号码",
        max_length=30,
        help_text="中继呼入的被叫号码，如 12345（同一号码只能有一个启用的流程）",
    )
    start = models.CharField("起始节点", max_length=40)
    nodes = models.JSONField("节点", default=dict)
    is_active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "IVR 流程"
        ordering = ["platform_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "code"], name="ivr_flow_code"),
            models.UniqueConstraint(
                fields=["number"], condition=models.Q(is_active=True), name="ivr_flow_number_active"
            ),
        ]

    def __str__(self):
        return self.name


class CallRecording(models.Model):
    """通话录音: one bridged call, both parties (WAV, 8 kHz, 16-bit; left the caller, right
    the agent), written by the media node under ``MEDIA_ROOT/recordings``."""

    session = models.ForeignKey(
        "contact.Session", verbose_name="会话", on_delete=models.PROTECT, related_name="recordings"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="话务员",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file = models.CharField("文件", max_length=200, help_text="MEDIA_ROOT 下的相对路径")
    started_at = models.DateTimeField("开始时间")
    seconds = models.FloatField("时长（秒）")
    size = models.PositiveBigIntegerField("大小（字节）")

    class Meta:
        verbose_name = verbose_name_plural = "通话录音"
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.session_id} {self.started_at:%Y-%m-%d %H:%M}"


class OutboundCall(models.Model):
    """电话回拨: the node rings the agent's phone, then calls the citizen over the trunk
    showing the hotline's number (号码隐藏), and bridges them (recorded)."""

    class State(models.TextChoices):
        REQUESTED = "requested", "等待发起"
        DIALING_AGENT = "dialing_agent", "呼叫坐席话机"
        DIALING_CITIZEN = "dialing_citizen", "呼叫来电人"
        CONNECTED = "connected", "通话中"
        ENDED = "ended", "已结束"
        FAILED = "failed", "未接通"

    OPEN = (State.REQUESTED, State.DIALING_AGENT, State.DIALING_CITIZEN, State.CONNECTED)

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(
        "contact.Session", verbose_name="回拨任务", on_delete=models.PROTECT, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="话务员", on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField("被叫号码", max_length=30)
    caller_id = models.CharField("主叫显示", max_length=30, help_text="热线号码（号码隐藏）")
    state = models.CharField(
        "状态", max_length=16, choices=State.choices, default=State.REQUESTED, db_index=True
    )
    result = models.CharField("结果", max_length=100, blank=True)
    node = models.CharField("媒体节点", max_length=100, blank=True)
    created_at = models.DateTimeField("发起时间", default=timezone.now)
    connected_at = models.DateTimeField("接通时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "电话回拨"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.session_id} → {self.number}"


class MediaNodeStatus(models.Model):
    """A media node's heartbeat (every few seconds) and its trunk's health as the node
    last probed it (SIP OPTIONS): what the wall and the 班长席 alarm on."""

    name = models.CharField("节点", max_length=100, unique=True, help_text="主机名:SIP 端口")
    address = models.CharField("SIP 地址", max_length=100)
    started_at = models.DateTimeField("启动时间")
    last_seen = models.DateTimeField("最近心跳")
    stopped_at = models.DateTimeField("正常停止时间", null=True, blank=True)
    calls = models.PositiveIntegerField("通话数", default=0)
    bridges = models.PositiveIntegerField("接通数", default=0)
    trunk = models.CharField("外呼中继", max_length=100, blank=True)
    trunk_ok = models.BooleanField("中继正常", null=True)
    trunk_detail = models.CharField("中继探测结果", max_length=100, blank=True)
    trunk_checked_at = models.DateTimeField("中继探测时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "媒体节点状态"
        ordering = ["name"]

    def __str__(self):
        return self.name
