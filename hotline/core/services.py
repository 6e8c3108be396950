"""Every write of the core context. One function per verb, keyword-only arguments.

Each service: checks the actor's permission and data scope → changes the rows in one
transaction → appends one audit entry in the same transaction. ``actor=None`` means the
system itself (CLI, worker, migrations): permission checks are skipped, invariants such
as 三权分立 are not.
"""

import datetime as dt
import secrets
import string

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from . import audit, workdays
from .auth import hash_token
from .errors import Conflict, Forbidden, Invalid, NotFound
from .masking import mask_phone
from .models import (
    ApiToken,
    CalendarDay,
    HandlingUnit,
    Platform,
    RoleAssignment,
    RolePermission,
    SecurityPolicy,
    Skill,
    Team,
    User,
    UserSkill,
    WorkerHeartbeat,
)
from .roles import ADMIN_ROLES, PERMISSIONS, ROLES, grantable
from .scope import scope_of

# --- guards -------------------------------------------------------------------------------


def require(actor: User | None, permission: str) -> None:
    if actor is None:
        return
    if not actor.can(permission):
        raise Forbidden(f"您没有“{PERMISSIONS[permission].name}”的权限")


def require_platform_in_scope(actor: User | None, platform: Platform) -> None:
    if actor is not None and not scope_of(actor).covers_platform(platform.pk):
        raise NotFound("平台不存在或不在您的管辖范围内")


def require_user_in_scope(actor: User | None, user: User) -> None:
    if actor is None:
        return
    scope = scope_of(actor)
    visible = (
        user.unit_id == scope.unit_id if scope.unit_id else user.platform_id in scope.platform_ids
    )
    if not visible:
        raise NotFound("用户不存在或不在您的管辖范围内")


def _admin_role_of(user: User) -> str | None:
    return next((code for code in user.role_codes if code in ADMIN_ROLES), None)


def require_may_manage_account(actor: User | None, user: User) -> None:
    """A system admin may not reset, lock out or retire the security or audit admin:
    taking over their accounts would undo the separation of the three powers."""
    if actor is None:
        return
    require(actor, "accounts.manage")
    require_user_in_scope(actor, user)
    target_admin = _admin_role_of(user)
    if target_admin and target_admin not in actor.role_codes:
        raise Forbidden(f"三权分立：{ROLES[target_admin].name}账号只能由同类管理员或命令行维护")


def _clean(instance: models.Model, exclude=None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        label = instance._meta.get_field(field).verbose_name if field != "__all__" else ""
        raise Invalid(f"{label}：{messages[0]}" if label else messages[0], field=field) from None


def _create(actor: User | None, instance: models.Model, action: str, exclude=None) -> models.Model:
    _clean(instance, exclude)
    instance.save()
    audit.record(action, instance, after=audit.snapshot(instance), actor=actor)
    return instance


def _update(
    actor: User | None, instance: models.Model, action: str, changes: dict, exclude=None
) -> models.Model:
    before = audit.snapshot(instance)
    for field, value in changes.items():
        setattr(instance, field, value)
    _clean(instance, exclude)
    instance.save()
    audit.record(action, instance, before=before, after=audit.snapshot(instance), actor=actor)
    return instance


# --- organisation ---------------------------------------------------------------------------


@transaction.atomic
def platform_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    level: str,
    parent: Platform | None = None,
    hotline_number: str = "12345",
) -> Platform:
    require(actor, "org.manage")
    if parent is None and actor is not None:
        raise Forbidden("只能在您管辖的平台之下新建平台")
    if parent is not None:
        require_platform_in_scope(actor, parent)
    return _create(
        actor,
        Platform(code=code, name=name, level=level, parent=parent, hotline_number=hotline_number),
        "platform.create",
        exclude=["path"],
    )


@transaction.atomic
def platform_update(*, actor: User | None, platform: Platform, **changes) -> Platform:
    require(actor, "org.manage")
    require_platform_in_scope(actor, platform)
    if "parent" in changes and changes["parent"] is not None:
        require_platform_in_scope(actor, changes["parent"])
    return _update(actor, platform, "platform.update", changes, exclude=["path"])


@transaction.atomic
def unit_create(
    *,
    actor: User | None,
    platform: Platform,
    code: str,
    name: str,
    kind: str = HandlingUnit.Kind.BUREAU,
    short_name: str = "",
    contact_phone: str = "",
) -> HandlingUnit:
    require(actor, "org.manage")
    require_platform_in_scope(actor, platform)
    if HandlingUnit.objects.filter(platform=platform, code=code).exists():
        raise Conflict(f"单位编码 {code} 已存在", field="code")
    return _create(
        actor,
        HandlingUnit(
            platform=platform,
            code=code,
            name=name,
            kind=kind,
            short_name=short_name,
            contact_phone=contact_phone,
        ),
        "unit.create",
    )


@transaction.atomic
def unit_update(*, actor: User | None, unit: HandlingUnit, **changes) -> HandlingUnit:
    require(actor, "org.manage")
    require_platform_in_scope(actor, unit.platform)
    return _update(actor, unit, "unit.update", changes)


@transaction.atomic
def team_create(
    *, actor: User | None, platform: Platform, name: str, leader: User | None = None
) -> Team:
    require(actor, "org.manage")
    require_platform_in_scope(actor, platform)
    if Team.objects.filter(platform=platform, name=name).exists():
        raise Conflict(f"班组“{name}”已存在", field="name")
    return _create(actor, Team(platform=platform, name=name, leader=leader), "team.create")


@transaction.atomic
def skill_create(*, actor: User | None, platform: Platform, code: str, name: str) -> Skill:
    require(actor, "org.manage")
    require_platform_in_scope(actor, platform)
    if Skill.objects.filter(platform=platform, code=code).exists():
        raise Conflict(f"技能代码 {code} 已存在", field="code")
    return _create(actor, Skill(platform=platform, code=code, name=name), "skill.create")


@transaction.atomic
def user_skill_set(*, actor: User | None, user: User, skill: Skill, level: int | None) -> None:
    """Give an agent a skill at a level 1–5, or take it away (``level=None``)."""
    require(actor, "org.manage")
    require_user_in_scope(actor, user)
    if level is not None and not 1 <= level <= 5:
        raise Invalid("技能等级须在 1–5 之间", field="level")
    current = UserSkill.objects.filter(user=user, skill=skill).first()
    before = {"level": current.level} if current else {}
    if level is None:
        if current:
            current.delete()
    else:
        UserSkill.objects.update_or_create(user=user, skill=skill, defaults={"level": level})
    audit.record(
        "user.skill_set",
        user,
        before=before,
        after={"level": level} if level is not None else {},
        detail={"skill": skill.name},
        actor=actor,
    )


# --- accounts ------------------------------------------------------------------------------------


def generate_password(length: int = 12) -> str:
    """A random password that satisfies the default policy (all four classes)."""
    alphabet = string.ascii_letters + string.digits + "@#%+=!"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(c in "@#%+=!" for c in candidate)
        ):
            return candidate


def _validate_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise Invalid("；".join(error.messages), field="password") from None


ACCOUNT_FIELDS = ("display_name", "phone", "employee_no", "email", "platform", "unit", "team")


def _check_placement(platform: Platform, unit: HandlingUnit | None, team: Team | None) -> None:
    """A person's unit and team belong to the person's platform."""
    if unit is not None and unit.platform_id != platform.pk:
        raise Invalid("承办单位不属于所选平台", field="unit")
    if team is not None and team.platform_id != platform.pk:
        raise Invalid("班组不属于所选平台", field="team")


def _new_account(
    actor: User | None,
    *,
    username: str,
    display_name: str,
    platform: Platform,
    unit: HandlingUnit | None = None,
    team: Team | None = None,
    phone: str = "",
    employee_no: str = "",
    email: str = "",
    must_change_password: bool = True,
) -> User:
    """An unsaved account, checked: in the actor's scope, unit on the platform, name free."""
    require_platform_in_scope(actor, platform)
    _check_placement(platform, unit, team)
    if User.objects.filter(username=username).exists():
        raise Conflict(f"登录名 {username} 已被使用", field="username")
    return User(
        username=username,
        display_name=display_name,
        platform=platform,
        unit=unit,
        team=team,
        phone=phone,
        employee_no=employee_no,
        email=email,
        must_change_password=must_change_password,
    )


def _open_account(actor: User | None, user: User, **detail) -> User:
    user.password_changed_at = timezone.now()
    _clean(user, exclude=["password"])
    user.save()
    audit.record(
        "user.create",
        user,
        detail=detail,
        after=audit.snapshot(user, fields=("username", *ACCOUNT_FIELDS)),
        actor=actor,
    )
    return user


@transaction.atomic
def user_create(*, actor: User | None, password: str | None = None, **account) -> tuple[User, str]:
    """Open an account (系统管理员): username, display_name, platform, and optionally unit,
    team, phone, employee_no, email, must_change_password. Returns the user and the
    initial password, which the user must change at first login."""
    require(actor, "accounts.manage")
    user = _new_account(actor, **account)
    password = password or generate_password()
    _validate_password(password, user)
    user.set_password(password)
    return _open_account(actor, user), password


@transaction.atomic
def user_update(*, actor: User | None, user: User, **changes) -> User:
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise Invalid(f"不能修改字段：{', '.join(sorted(unknown))}")
    require_may_manage_account(actor, user)
    if "platform" in changes:
        require_platform_in_scope(actor, changes["platform"])
    _check_placement(
        changes.get("platform", user.platform),
        changes.get("unit", user.unit),
        changes.get("team", user.team),
    )
    before = audit.snapshot(user, fields=ACCOUNT_FIELDS)
    for field, value in changes.items():
        setattr(user, field, value)
    _clean(user, exclude=["password"])
    user.save()
    audit.record(
        "user.update",
        user,
        before=before,
        after=audit.snapshot(user, fields=ACCOUNT_FIELDS),
        actor=actor,
    )
    return user


@transaction.atomic
def user_set_active(*, actor: User | None, user: User, active: bool) -> User:
    require_may_manage_account(actor, user)
    if actor is not None and actor.pk == user.pk and not active:
        raise Invalid("不能停用自己的账号")
    before = {"is_active": user.is_active}
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    audit.record(
        "user.enable" if active else "user.disable",
        user,
        before=before,
        after={"is_active": active},
        actor=actor,
    )
    return user


@transaction.atomic
def user_reset_password(*, actor: User | None, user: User, password: str | None = None) -> str:
    """Set a new initial password; the user must change it at next login."""
    require_may_manage_account(actor, user)
    password = password or generate_password()
    _validate_password(password, user)
    user.set_password(password)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    user.password_changed_at = timezone.now()
    user.save(
        update_fields=[
            "password",
            "must_change_password",
            "failed_logins",
            "locked_until",
            "password_changed_at",
        ]
    )
    audit.record("user.password_reset", user, actor=actor)
    return password


@transaction.atomic
def user_unlock(*, actor: User | None, user: User) -> User:
    require_may_manage_account(actor, user)
    before = {"locked_until": user.locked_until.isoformat() if user.locked_until else None}
    user.failed_logins, user.locked_until = 0, None
    user.save(update_fields=["failed_logins", "locked_until"])
    audit.record("user.unlock", user, before=before, after={"locked_until": None}, actor=actor)
    return user


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> User:
    """A user changes their own password (also the forced change at first login)."""
    if not user.check_password(old_password):
        raise Invalid("原密码不正确", field="old_password")
    if old_password == new_password:
        raise Invalid("新密码不能与原密码相同", field="new_password")
    _validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    audit.record("user.password_change", user, actor=user)
    return user


# --- roles, permissions, policy (安全管理员) ------------------------------------------------


@transaction.atomic
def role_assign(*, actor: User | None, user: User, role: str) -> RoleAssignment:
    """Give an account a role. Refuses a second admin role, and any mix of an admin role
    with other roles (三权分立), whoever asks — including the CLI."""
    require(actor, "roles.assign")
    if role not in ROLES:
        raise Invalid(f"未知角色：{role}", field="role")
    require_user_in_scope(actor, user)
    if actor is not None and actor.pk == user.pk:
        raise Forbidden("不能修改自己的角色")
    user = User.objects.select_for_update().get(pk=user.pk)  # serialise concurrent grants
    held = set(user.role_assignments.values_list("role", flat=True))
    if role in held:
        raise Conflict(f"该账号已是{ROLES[role].name}")
    held_admin = held & set(ADMIN_ROLES)
    if role in ADMIN_ROLES and held_admin:
        other = ROLES[held_admin.pop()].name
        raise Conflict(f"三权分立：该账号已是{other}，不能再担任{ROLES[role].name}")
    if role in ADMIN_ROLES and held:
        raise Conflict(f"三权分立：{ROLES[role].name}须使用专用账号，该账号已有业务角色")
    if held_admin:
        raise Conflict(f"三权分立：该账号是{ROLES[held_admin.pop()].name}，不能兼任业务角色")
    if ROLES[role].scope == "unit" and user.unit_id is None:
        raise Invalid("承办单位人员须先指定所属承办单位", field="role")
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(user=user, role=role)
    except IntegrityError:
        raise Conflict("三权分立：该账号已担任一种管理员角色") from None
    audit.record(
        "role.assign",
        user,
        before={"roles": sorted(held)},
        after={"roles": sorted(held | {role})},
        actor=actor,
    )
    return assignment


@transaction.atomic
def role_revoke(*, actor: User | None, user: User, role: str) -> None:
    require(actor, "roles.assign")
    require_user_in_scope(actor, user)
    if actor is not None and actor.pk == user.pk:
        raise Forbidden("不能修改自己的角色")
    held = set(user.role_assignments.values_list("role", flat=True))
    if role not in held:
        raise NotFound("该账号没有此角色")
    RoleAssignment.objects.filter(user=user, role=role).delete()
    audit.record(
        "role.revoke",
        user,
        before={"roles": sorted(held)},
        after={"roles": sorted(held - {role})},
        actor=actor,
    )


@transaction.atomic
def role_permission_set(*, actor: User | None, role: str, permission: str, granted: bool) -> None:
    """Grant or withdraw a permission of a business role (the admin roles' are fixed)."""
    require(actor, "permissions.manage")
    if role not in ROLES or permission not in PERMISSIONS:
        raise Invalid("未知的角色或权限")
    if ROLES[role].admin:
        raise Forbidden("三权分立：管理员角色的权限固定，不能调整")
    if granted and not grantable(role, permission):
        raise Forbidden(
            f"“{PERMISSIONS[permission].name}”为管理员专属权限，不能授予{ROLES[role].name}"
        )
    exists = RolePermission.objects.filter(role=role, permission=permission).exists()
    if granted == exists:
        return
    if granted:
        RolePermission.objects.create(role=role, permission=permission)
    else:
        RolePermission.objects.filter(role=role, permission=permission).delete()
    audit.record(
        "role.permission_grant" if granted else "role.permission_withdraw",
        object_type="role",
        object_id=role,
        object_repr=ROLES[role].name,
        before={permission: exists},
        after={permission: granted},
        actor=actor,
    )


def role_permissions_seed() -> int:
    """Create the default grants that are missing (used at install; not audited as a
    person's act because no person made it — the install itself is audited)."""
    created = 0
    for role in ROLES.values():
        for code in role.default_grants:
            _, made = RolePermission.objects.get_or_create(role=role.code, permission=code)
            created += made
    return created


POLICY_LIMITS = {
    "min_password_length": (8, 64, "密码最小长度须在 8–64 之间"),
    "password_classes": (3, 4, "字符类别数须为 3 或 4"),
    "lockout_threshold": (3, 10, "锁定次数须在 3–10 之间"),
    "lockout_minutes": (5, 1440, "锁定时长须在 5–1440 分钟之间"),
    "idle_timeout_minutes": (5, 120, "空闲超时须在 5–120 分钟之间"),
}


@transaction.atomic
def policy_update(*, actor: User | None, **changes) -> SecurityPolicy:
    """Edit the security policy; values weaker than 等保三级 allows are refused."""
    require(actor, "policy.manage")
    for field, value in changes.items():
        if field not in POLICY_LIMITS:
            raise Invalid(f"未知的策略项：{field}")
        low, high, message = POLICY_LIMITS[field]
        if not isinstance(value, int) or not low <= value <= high:
            raise Invalid(message, field=field)
    policy = (
        SecurityPolicy.objects.select_for_update().order_by("pk").first()
        or SecurityPolicy.objects.create()
    )
    policy = _update(actor, policy, "policy.update", changes)
    SecurityPolicy.forget()
    transaction.on_commit(SecurityPolicy.forget)
    return policy


# --- API tokens -----------------------------------------------------------------------------


TOKEN_PREFIX = "hl_"


@transaction.atomic
def token_create(*, actor: User | None, user: User, name: str) -> tuple[ApiToken, str]:
    """Issue a token for ``user`` (one's own, or any by the CLI). The key is returned
    once; only its hash is kept."""
    if actor is not None and actor.pk != user.pk:
        raise Forbidden("只能为自己的账号申请令牌")
    if not user.is_active:
        raise Invalid("账号已停用，不能申请令牌")
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise Invalid("请填写令牌用途（不超过 50 字）", field="name")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:8], key_hash=hash_token(key))
    audit.record("token.create", user, detail={"token": token.prefix, "name": name}, actor=actor)
    return token, key


@transaction.atomic
def token_revoke(*, actor: User | None, token: ApiToken) -> ApiToken:
    if actor is not None and actor.pk != token.user_id:
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            "token.revoke",
            token.user,
            detail={"token": token.prefix, "name": token.name},
            actor=actor,
        )
    return token


# --- phone numbers --------------------------------------------------------------------------


@transaction.atomic
def phone_reveal(*, actor: User, obj: models.Model, field: str = "phone", reason: str = "") -> str:
    """Show a full phone number (numbers are masked by default). A permission, audited."""
    require(actor, "phone.reveal")
    number = getattr(obj, field, "") or ""
    audit.record(
        "phone.reveal",
        obj,
        detail={"field": field, "masked": mask_phone(number), "reason": reason[:100]},
        actor=actor,
    )
    return number


# --- calendar -------------------------------------------------------------------------------


@transaction.atomic
def calendar_day_set(
    *, actor: User | None, date: dt.date, kind: str, name: str, provisional: bool = False
) -> CalendarDay:
    require(actor, "calendar.manage")
    if kind not in CalendarDay.Kind.values:
        raise Invalid("类型须为“放假”或“调休上班”", field="kind")
    name = (name or "").strip()
    if not name:
        raise Invalid("请填写名称，如“国庆节”", field="name")
    if kind == CalendarDay.Kind.WORKDAY and date.weekday() < 5:
        raise Invalid("调休上班日应为周六或周日", field="date")
    day = CalendarDay.objects.filter(date=date).first()
    if day is None:
        day = _create(
            actor,
            CalendarDay(date=date, kind=kind, name=name, provisional=provisional),
            "calendar.add",
        )
    else:
        day = _update(
            actor, day, "calendar.update", {"kind": kind, "name": name, "provisional": provisional}
        )
    transaction.on_commit(workdays.forget)
    return day


@transaction.atomic
def calendar_day_remove(*, actor: User | None, date: dt.date) -> None:
    require(actor, "calendar.manage")
    day = CalendarDay.objects.filter(date=date).first()
    if day is None:
        raise NotFound("该日期没有特殊安排")
    audit.record("calendar.remove", day, before=audit.snapshot(day), actor=actor)
    day.delete()
    transaction.on_commit(workdays.forget)


@transaction.atomic
def calendar_load_shipped(*, actor: User | None) -> int:
    """Add the shipped holiday data for the days not yet in the calendar."""
    require(actor, "calendar.manage")
    known = set(CalendarDay.objects.values_list("date", flat=True))
    new = [CalendarDay(**row) for row in workdays.shipped_days() if row["date"] not in known]
    CalendarDay.objects.bulk_create(new)
    if new:
        audit.record(
            "calendar.load_shipped",
            object_type="core.calendarday",
            detail={"days": len(new), "from": str(new[0].date), "to": str(new[-1].date)},
            actor=actor,
        )
    transaction.on_commit(workdays.forget)
    return len(new)


# --- audit log ----------------------------------------------------------------------------


def audit_log_exported(*, actor: User, filters: dict, rows: int) -> None:
    """Taking the audit log out (xlsx) is itself audited: who, which filters, how many rows."""
    require(actor, "audit.export")
    audit.record(
        "audit.export",
        object_type="core.auditentry",
        detail={"filters": filters, "rows": rows},
        actor=actor,
    )


# --- worker ---------------------------------------------------------------------------------


def worker_heartbeat(name: str = "worker") -> None:
    """Liveness of the worker, read by /api/health (not audited: it is not a person's act)."""
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


@transaction.atomic
def user_create_many(
    *, actor: User | None, accounts: list[dict], password: str, must_change_password: bool = True
) -> list[User]:
    """Open many accounts sharing one initial password (a new shift's intake, the demo
    hotline). Each account is checked and audited as by :func:`user_create`, and the
    password is validated against each; but it is hashed once — one PBKDF2 run (~0.3 s)
    instead of one per account — so all of them store the same hash string. Hence for
    initial passwords (changed at first login) and demo accounts only."""
    require(actor, "accounts.manage")
    encoded = ""
    users = []
    for fields in accounts:
        user = _new_account(actor, must_change_password=must_change_password, **fields)
        _validate_password(password, user)
        if not encoded:
            user.set_password(password)
            encoded = user.password
        user.password = encoded
        users.append(_open_account(actor, user, bulk=len(accounts)))
    return users


@transaction.atomic
def team_set_leader(*, actor: User | None, team: Team, leader: User | None) -> Team:
    """Name a team's leader (班长), or clear it with ``leader=None``."""
    require(actor, "org.manage")
    require_platform_in_scope(actor, team.platform)
    if leader is not None:
        require_user_in_scope(actor, leader)
        if leader.platform_id != team.platform_id:
            raise Invalid("班长须为本平台人员", field="leader")
        if not leader.is_active:
            raise Invalid("该账号已停用，不能担任班长", field="leader")
    return _update(actor, team, "team.update", {"leader": leader})
