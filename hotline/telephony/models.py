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
    the agent), written by the media node under ``MEDIA_ROOT/recordings`` — of a session
    (an inbound call, a callback task), or of a call the node placed from an order."""

    session = models.ForeignKey(
        "contact.Session",
        verbose_name="会话",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recordings",
    )
    call = models.ForeignKey(
        "OutboundCall",
        verbose_name="外呼",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recordings",
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
        return f"{self.ref} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def ref(self) -> str:
        """The number of what was recorded: the session's, or the order's it was called from."""
        return self.session.ref if self.session_id else self.call.order.number

    @property
    def kind(self) -> str:
        """来电 | 电话回拨 | 工单外呼 | 语音留言 (``selectors.RECORDING_KINDS`` filters alike)."""
        if self.call_id:
            return "order" if self.session_id is None else "callback"
        return "inbound" if self.agent_id else "message"

    @property
    def number(self) -> str:
        """The citizen's number on the call."""
        return self.call.number if self.call_id else self.session.address


class OutboundCall(models.Model):
    """电话回拨 / 电话外呼: the node rings the agent's phone, then calls the citizen over the
    trunk showing the hotline's number (号码隐藏), and bridges them (recorded) — for a
    callback task (``session``) or an order (``order``: 回访台, the order page; the call is
    logged on its timeline)."""

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
        "contact.Session",
        verbose_name="回拨任务",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    order = models.ForeignKey(
        "workorders.WorkOrder",
        verbose_name="工单",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
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


class CallParty(models.Model):
    """通话加入方: someone the media node brings into a live, bridged call — a supervisor
    on the supervisor's own phone (监听 listen, 耳语 whisper to the agent, 强插 barge in), an
    outside number over the trunk (12345–110 联动 to 110/119/120/122 or another number:
    三方通话, or 转接 that leaves the caller with it), or a colleague the agent consults
    while the caller holds (咨询转接: then 完成转接 hands the call over, or 取消). Who hears whom is declared once, in
    ``hotline.telephony.legs.HEARS``; the record stays on the session (and so on the order
    made from it) as the linkage record."""

    class Kind(models.TextChoices):
        SUPERVISOR = "supervisor", "班长"
        OUTSIDE = "outside", "外部号码"
        AGENT = "agent", "坐席"  # 咨询转接: the colleague the agent consults first

    class Mode(models.TextChoices):
        LISTEN = "listen", "监听"
        WHISPER = "whisper", "耳语"
        BARGE = "barge", "强插"
        THREE_WAY = "three_way", "三方通话"
        TRANSFER = "transfer", "转接"
        CONSULT = "consult", "咨询"

    class State(models.TextChoices):
        REQUESTED = "requested", "等待呼叫"
        RINGING = "ringing", "振铃"
        CONNECTED = "connected", "通话中"
        ENDED = "ended", "已结束"
        FAILED = "failed", "未接通"

    OPEN = (State.REQUESTED, State.RINGING, State.CONNECTED)
    SUPERVISOR_MODES = (Mode.LISTEN, Mode.WHISPER, Mode.BARGE)
    OUTSIDE_MODES = (Mode.THREE_WAY, Mode.TRANSFER)

    session = models.ForeignKey(
        "contact.Session", verbose_name="会话", on_delete=models.PROTECT, related_name="parties"
    )
    kind = models.CharField("加入方", max_length=12, choices=Kind.choices)
    mode = models.CharField("方式", max_length=12, choices=Mode.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="班长",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="发起人", on_delete=models.PROTECT, related_name="+"
    )
    target = models.CharField("呼叫地址", max_length=120, help_text="班长话机或外部号码")
    label = models.CharField("名称", max_length=40, blank=True, help_text="如 110 公安报警")
    state = models.CharField(
        "状态", max_length=12, choices=State.choices, default=State.REQUESTED, db_index=True
    )
    result = models.CharField("结果", max_length=100, blank=True)
    created_at = models.DateTimeField("发起时间", default=timezone.now)
    connected_at = models.DateTimeField("接通时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "通话加入方"
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.session_id} {self.get_mode_display()} {self.label or self.target}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN


class LinkageTarget(models.Model):
    """联动号码: the numbers an agent may transfer a call to in one click (12345–110 联动,
    国办发〔2022〕12号). A platform without its own list uses the national ones
    (``selectors.linkage_targets``)."""

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField("名称", max_length=40, help_text="如 公安报警")
    number = models.CharField(
        "外呼号码", max_length=30, help_text="经中继外呼的号码，如 110 或联动中心的直线号码"
    )
    sort = models.PositiveSmallIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "联动号码"
        ordering = ["platform_id", "sort", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "number"], name="linkage_target_number")
        ]

    def __str__(self):
        return f"{self.number} {self.name}"


class SipAccount(models.Model):
    """话机注册账号: an agent's (or a 回访员's) phone that REGISTERs with the media nodes
    as ``extension`` with a password (digest; only HA1 is kept). While registered, calls
    for the agent ring ``contact`` — the address the REGISTER came from — unless a fixed
    坐席话机 address is set."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="使用人",
        on_delete=models.CASCADE,
        related_name="sip_account",
    )
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    extension = models.CharField("分机号", max_length=8, unique=True)
    ha1 = models.CharField("认证摘要", max_length=32, help_text="MD5(分机号:realm:密码)")
    contact = models.CharField("注册地址", max_length=200, blank=True)
    user_agent = models.CharField("话机型号", max_length=100, blank=True)
    node = models.CharField("注册节点", max_length=100, blank=True)
    registered_at = models.DateTimeField("注册时间", null=True, blank=True)
    expires_at = models.DateTimeField("注册到期", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "话机注册账号"

    def __str__(self):
        return self.extension

    def registered(self, now=None) -> bool:
        now = now or timezone.now()
        return bool(self.contact and self.expires_at and self.expires_at > now)
