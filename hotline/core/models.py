"""Organisation, accounts, roles, audit log, working-day calendar and numbering."""

import time

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .roles import ADMIN_ROLES, PERMISSIONS, ROLE_CHOICES


class Platform(models.Model):
    """A hotline platform (热线平台): province → city → county, each possibly a sub-platform."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省级"
        CITY = "city", "市级"
        COUNTY = "county", "县（区）级"

    code = models.CharField(
        "平台代码", max_length=8, unique=True, help_text="2–8 位大写字母，用作工单编号前缀，如 SY"
    )
    name = models.CharField("平台名称", max_length=100)
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级平台",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path "/1/4/9/" so that "this platform and everything below" is one
    # indexed prefix query on either database.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    hotline_number = models.CharField("热线号码", max_length=20, default="12345")
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "热线平台"
        ordering = ["path"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        path = (self.parent.path if self.parent_id else "/") + f"{self.pk}/"
        if path != self.path:
            old = self.path
            Platform.objects.filter(pk=self.pk).update(path=path)
            self.path = path
            if old:  # re-parented: move the subtree along
                for child in Platform.objects.filter(path__startswith=old).exclude(pk=self.pk):
                    Platform.objects.filter(pk=child.pk).update(path=path + child.path[len(old) :])

    def clean(self):
        if not self.code.isascii() or not self.code.isupper() or not self.code.isalpha():
            raise ValidationError({"code": "平台代码须为 2–8 位大写英文字母"})
        if self.parent_id and self.pk and f"/{self.pk}/" in (self.parent.path or ""):
            raise ValidationError({"parent": "上级平台不能是自身或其下级"})

    def subtree(self):
        return Platform.objects.filter(path__startswith=self.path)


class HandlingUnit(models.Model):
    """承办单位: a bureau, a town government, a utility … that handles dispatched orders."""

    class Kind(models.TextChoices):
        BUREAU = "bureau", "政府部门"
        DISTRICT = "district", "区镇政府"
        UTILITY = "utility", "公共服务企业"
        OTHER = "other", "其他单位"

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="units"
    )
    code = models.CharField("单位编码", max_length=20)
    name = models.CharField("单位名称", max_length=100)
    short_name = models.CharField("简称", max_length=30, blank=True)
    kind = models.CharField("类别", max_length=10, choices=Kind.choices, default=Kind.BUREAU)
    contact_phone = models.CharField("联系电话", max_length=30, blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "承办单位"
        ordering = ["platform_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "code"], name="unit_code_per_platform"),
        ]

    def __str__(self):
        return self.name


class Team(models.Model):
    """班组: a shift team of agents under a team leader."""

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="teams"
    )
    name = models.CharField("班组名称", max_length=50)
    leader = models.ForeignKey(
        "User",
        verbose_name="班长",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "班组"
        ordering = ["platform_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "name"], name="team_name_per_platform"),
        ]

    def __str__(self):
        return self.name


class Skill(models.Model):
    """技能组 skill: 社保, 医保, English, 手语 … used by the ACD."""

    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="skills"
    )
    code = models.SlugField("技能代码", max_length=30)
    name = models.CharField("技能名称", max_length=50)

    class Meta:
        verbose_name = verbose_name_plural = "技能"
        ordering = ["platform_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "code"], name="skill_code_per_platform"),
        ]

    def __str__(self):
        return self.name


class User(AbstractUser):
    """An account. Superuser/staff flags are never used: rights come from roles only."""

    display_name = models.CharField("姓名", max_length=50)
    employee_no = models.CharField("工号", max_length=20, blank=True)
    phone = models.CharField("手机号码", max_length=20, blank=True)
    platform = models.ForeignKey(
        Platform, verbose_name="所属平台", on_delete=models.PROTECT, related_name="users"
    )
    unit = models.ForeignKey(
        HandlingUnit,
        verbose_name="承办单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    team = models.ForeignKey(
        Team,
        verbose_name="班组",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    skills = models.ManyToManyField(Skill, through="UserSkill", blank=True, related_name="users")
    must_change_password = models.BooleanField("首次登录须改密", default=True)
    password_changed_at = models.DateTimeField("密码修改时间", null=True, blank=True)
    failed_logins = models.PositiveSmallIntegerField("连续登录失败次数", default=0)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)

    REQUIRED_FIELDS = ["display_name"]
    objects = UserManager()

    class Meta:
        verbose_name = verbose_name_plural = "用户"
        ordering = ["username"]

    def __str__(self):
        return f"{self.display_name}（{self.username}）" if self.display_name else self.username

    @property
    def role_codes(self) -> list[str]:
        if not hasattr(self, "_role_codes"):
            self._role_codes = sorted(self.role_assignments.values_list("role", flat=True))
        return self._role_codes

    @property
    def permission_codes(self) -> frozenset[str]:
        if not hasattr(self, "_permission_codes"):
            self._permission_codes = frozenset(
                RolePermission.objects.filter(role__in=self.role_codes).values_list(
                    "permission", flat=True
                )
            )
        return self._permission_codes

    def can(self, permission: str) -> bool:
        assert permission in PERMISSIONS, permission
        return self.is_active and permission in self.permission_codes

    def is_locked(self, now=None) -> bool:
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))

    def forget_cached_rights(self):
        for attr in ("_role_codes", "_permission_codes"):
            self.__dict__.pop(attr, None)


class UserSkill(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE)
    level = models.PositiveSmallIntegerField("技能等级", default=3, help_text="1–5，5 最高")

    class Meta:
        verbose_name = verbose_name_plural = "坐席技能"
        constraints = [models.UniqueConstraint(fields=["user", "skill"], name="user_skill_once")]

    def __str__(self):
        return f"{self.user_id}:{self.skill_id}@{self.level}"


class RoleAssignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField("角色", max_length=20, choices=ROLE_CHOICES)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "角色分配"
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="role_once_per_user"),
            # 三权分立 in the database itself: at most one admin role per account, whatever
            # door (page, API, Django admin, CLI, shell) the write comes through.
            models.UniqueConstraint(
                fields=["user"], condition=Q(role__in=ADMIN_ROLES), name="one_admin_role_per_user"
            ),
        ]

    def __str__(self):
        return f"{self.user_id}:{self.role}"


class RolePermission(models.Model):
    """Which permission a role carries: the security admin's policy."""

    role = models.CharField(max_length=20, choices=ROLE_CHOICES)
    permission = models.CharField(max_length=40)

    class Meta:
        verbose_name = verbose_name_plural = "角色权限"
        constraints = [
            models.UniqueConstraint(fields=["role", "permission"], name="permission_once_per_role"),
        ]

    def __str__(self):
        return f"{self.role}:{self.permission}"


class SecurityPolicy(models.Model):
    """The one security policy (安全策略) of the installation, edited by the security admin."""

    min_password_length = models.PositiveSmallIntegerField("密码最小长度", default=8)
    password_classes = models.PositiveSmallIntegerField(
        "密码须包含的字符类别数",
        default=3,
        help_text="大写字母、小写字母、数字、符号四类中至少几类",
    )
    lockout_threshold = models.PositiveSmallIntegerField("连续失败锁定次数", default=5)
    lockout_minutes = models.PositiveSmallIntegerField("锁定时长（分钟）", default=15)
    idle_timeout_minutes = models.PositiveSmallIntegerField("空闲超时（分钟）", default=30)

    class Meta:
        verbose_name = verbose_name_plural = "安全策略"

    def __str__(self):
        return "安全策略"

    @classmethod
    def current(cls) -> "SecurityPolicy":
        """The policy in force, read at most every few seconds per process: every request
        consults it (idle timeout), and a change reaches all web nodes within
        ``POLICY_CACHE_SECONDS`` (R-PERF-3: live changes < 5 s)."""
        now = time.monotonic()
        cached = _policy_cache.get("policy")
        if cached is None or now - _policy_cache["at"] > POLICY_CACHE_SECONDS:
            cached = cls.objects.order_by("pk").first() or cls()
            _policy_cache.update(policy=cached, at=now)
        return cached

    @staticmethod
    def forget() -> None:
        _policy_cache.pop("policy", None)


POLICY_CACHE_SECONDS = 3
_policy_cache: dict = {}


class ApiToken(models.Model):
    """An API token. Only its SHA-256 is stored; the key is shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("用途", max_length=50)
    prefix = models.CharField(max_length=8, help_text="the first characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "API 令牌"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}…（{self.name}）"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class NamedTreeNode:
    """For tree models with ``parent`` and ``name`` (category trees): the path of names."""

    @property
    def path_name(self) -> str:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError(f"{self.model.append_only_name}不可修改")

    def delete(self):
        if not self.model.append_only_deletable:
            raise PermissionError(f"{self.model.append_only_name}不可删除")
        return super().delete()


class AppendOnly(models.Model):
    """Rows written once and never changed (the audit log, an order's timeline, the
    contact fact log): the ORM refuses updates and, unless ``append_only_deletable``,
    deletes; where it matters the database refuses them too (immutability.py)."""

    append_only_name = "记录"  # what the refusal calls the rows, in Chinese
    append_only_deletable = False

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError(f"{self.append_only_name}不可修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if not self.append_only_deletable:
            raise PermissionError(f"{self.append_only_name}不可删除")
        return super().delete(*args, **kwargs)


class AuditEntry(AppendOnly):
    """One audited write (审计日志). Append-only: the model, its queryset and database
    triggers (migration 0002) all refuse UPDATE and DELETE."""

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField("操作人", max_length=100)
    ip = models.GenericIPAddressField("IP 地址", null=True, blank=True)
    request_id = models.CharField("请求号", max_length=32, blank=True)
    action = models.CharField("操作", max_length=60, db_index=True)
    object_type = models.CharField("对象类型", max_length=60, blank=True, db_index=True)
    object_id = models.CharField("对象编号", max_length=64, blank=True)
    object_repr = models.CharField("对象", max_length=200, blank=True)
    changes = models.JSONField("变更（前/后）", default=dict, blank=True)
    detail = models.JSONField("说明", default=dict, blank=True)

    append_only_name = "审计日志"

    class Meta:
        verbose_name = verbose_name_plural = "审计日志"
        ordering = ["-at", "-pk"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"


class CalendarDay(models.Model):
    """A dated exception to the Monday–Friday week: a public holiday, or a 调休 make-up
    working day on a weekend. Days not listed follow the ordinary week."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", "放假"
        WORKDAY = "workday", "调休上班"

    date = models.DateField("日期", unique=True)
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    name = models.CharField("名称", max_length=30, help_text="如：国庆节、春节调休上班")
    provisional = models.BooleanField(
        "待国务院公布确认",
        default=False,
        help_text="按法定节日推算、尚未按国务院办公厅通知核对的日期",
    )

    class Meta:
        verbose_name = verbose_name_plural = "工作日历"
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}"


class NumberSequence(models.Model):
    """The last number handed out per platform, kind and day (see numbering.py)."""

    platform_code = models.CharField(max_length=8)
    kind = models.CharField(max_length=10)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform_code", "kind", "day"], name="sequence_key"),
        ]

    def __str__(self):
        return f"{self.platform_code}/{self.kind}/{self.day}: {self.last}"


class WorkerHeartbeat(models.Model):
    """The worker writes its beat here every minute; /api/health reports the age."""

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} @ {self.beat_at}"


class Notification(models.Model):
    """An in-app message to one person (站内提醒): a deadline warning, an urge, a new
    order for a unit. Other channels (SMS, email) are deliveries of the same notice."""

    class Level(models.TextChoices):
        INFO = "info", "提示"
        WARNING = "warning", "预警"
        DANGER = "danger", "逾期"

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField("类别", max_length=40)
    level = models.CharField("级别", max_length=10, choices=Level.choices, default=Level.INFO)
    title = models.CharField("标题", max_length=100)
    body = models.CharField("内容", max_length=500, blank=True)
    link = models.CharField("链接", max_length=200, blank=True)
    # One notice per (recipient, key): a deadline warning fires once, whatever the sweeps.
    key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "站内提醒"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], condition=~Q(key=""), name="notification_once_per_key"
            ),
        ]

    def __str__(self):
        return f"{self.recipient_id}: {self.title}"


class Delivery(models.Model):
    """One sending of a notice over another channel (短信、邮件), with its attempts: the
    worker sends it, retries with backoff, and gives up ("dead") after the last try."""

    class Channel(models.TextChoices):
        SMS = "sms", "短信"
        EMAIL = "email", "邮件"

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        FAILED = "failed", "发送失败"
        DEAD = "dead", "放弃重试"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    address = models.CharField("地址", max_length=200, blank=True)
    status = models.CharField(
        "状态", max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    last_error = models.CharField("最近错误", max_length=500, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "提醒投递"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_channel_display()} → {self.address}: {self.get_status_display()}"
