"""群组交互: discussion groups an agent opens on the platform, with staff (other agents,
handling-unit staff) invited by name and citizens (游客) invited by a link.

A group belongs to one platform (its creator's). Members are staff accounts or guests —
citizens who joined through an invite link with a nickname and hold a signed guest token.
Nothing is deleted: a removed member keeps its row (``removed_at``), a closed group keeps
its history (read-only), a revoked link keeps its row (``revoked_at``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hotline.core.models import Platform


class ChatGroup(models.Model):
    """群组."""

    class State(models.TextChoices):
        OPEN = "open", "进行中"
        CLOSED = "closed", "已关闭"

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="chat_groups"
    )
    name = models.CharField("群组名称", max_length=40)
    topic = models.CharField("群组话题", max_length=500, blank=True)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="创建人",
        on_delete=models.PROTECT,
        related_name="chat_groups_created",
    )
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    closed_at = models.DateTimeField("关闭时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="关闭人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_message_at = models.DateTimeField("最近发言", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "群组"
        ordering = ["-pk"]
        indexes = [models.Index(fields=["platform", "state"], name="group_platform_state")]

    def __str__(self):
        return self.name

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


class GroupMember(models.Model):
    """群组成员: a staff account, or a guest (a citizen by nickname)."""

    class Kind(models.TextChoices):
        STAFF = "staff", "工作人员"
        GUEST = "guest", "游客"

    class Role(models.TextChoices):
        OWNER = "owner", "群主"
        MEMBER = "member", "成员"

    group = models.ForeignKey(ChatGroup, on_delete=models.CASCADE, related_name="members")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    role = models.CharField("身份", max_length=10, choices=Role.choices, default=Role.MEMBER)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="账号",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="chat_memberships",
    )
    nickname = models.CharField("昵称", max_length=20, blank=True)
    # a guest's secret, named in its signed token: a token is worth nothing without the row
    guest_key = models.CharField(max_length=32, blank=True)
    invite = models.ForeignKey(
        "GroupInvite", null=True, blank=True, on_delete=models.PROTECT, related_name="joined"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="邀请人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    joined_at = models.DateTimeField("加入时间", default=timezone.now)
    muted = models.BooleanField("禁言", default=False)
    muted_at = models.DateTimeField("禁言时间", null=True, blank=True)
    removed_at = models.DateTimeField("移出时间", null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="移出人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "群组成员"
        ordering = ["group_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "user"],
                condition=Q(user__isnull=False),
                name="group_member_user_once",
            ),
            models.CheckConstraint(
                condition=(Q(kind="staff") & Q(user__isnull=False))
                | (Q(kind="guest") & Q(user__isnull=True) & ~Q(nickname="")),
                name="group_member_staff_or_guest",
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def is_active(self) -> bool:
        return self.removed_at is None

    @property
    def display_name(self) -> str:
        """How staff pages name the member."""
        if self.kind == self.Kind.GUEST:
            return self.nickname
        return self.user.display_name or self.user.username

    @property
    def public_name(self) -> str:
        """How the citizen's page names the member: a guest by nickname; staff as the
        contact center names them to citizens (a work number, or the unit), never by name."""
        if self.kind == self.Kind.GUEST:
            return self.nickname
        user = self.user
        if user.unit_id:
            return f"{user.unit.short_name or user.unit.name}工作人员"
        return f"{user.employee_no}号客服" if user.employee_no else "热线客服"

    @property
    def affiliation(self) -> str:
        """单位或岗位, beside the name on staff pages."""
        if self.kind == self.Kind.GUEST:
            return "游客"
        user = self.user
        if user.unit_id:
            return user.unit.short_name or user.unit.name
        return "热线中心"


class GroupInvite(models.Model):
    """邀请链接: a signed link that lets citizens join, until it expires or is revoked."""

    group = models.ForeignKey(ChatGroup, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("生成时间", default=timezone.now)
    expires_at = models.DateTimeField("有效期至")
    revoked_at = models.DateTimeField("作废时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "群组邀请链接"
        ordering = ["-pk"]

    def __str__(self):
        return f"{self.group_id}:{self.code[:6]}"

    def usable(self, now=None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())


def message_path(instance, filename: str) -> str:
    return timezone.now().strftime("groups/%Y/%m/") + filename


class GroupMessage(models.Model):
    """群组消息: a member's text or image, or a notice of the group (joined, removed …)."""

    class Kind(models.TextChoices):
        TEXT = "text", "文字"
        IMAGE = "image", "图片"
        NOTICE = "notice", "通知"

    group = models.ForeignKey(ChatGroup, on_delete=models.CASCADE, related_name="messages")
    member = models.ForeignKey(
        GroupMember, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    kind = models.CharField("类型", max_length=10, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField("内容", blank=True)
    attachment = models.FileField("图片", upload_to=message_path, blank=True)
    client_id = models.CharField(max_length=60, blank=True)
    at = models.DateTimeField("时间", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "群组消息"
        ordering = ["pk"]
        indexes = [models.Index(fields=["group", "id"], name="group_message_order")]

    def __str__(self):
        return f"{self.group_id}:{self.pk}"
