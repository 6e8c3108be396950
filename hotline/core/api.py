"""API of the core context: health, me and tokens, organisation, accounts, roles,
security policy, audit log, calendar. Thin: schemas in, services/selectors, schemas out."""

import datetime as dt
from typing import Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from . import selectors, services
from .errors import Invalid
from .masking import mask_phone
from .models import ApiToken, HandlingUnit, Team
from .roles import PERMISSIONS, ROLES

system_router = Router(tags=["系统"])
router = Router()


# --- schemas --------------------------------------------------------------------------------


class HealthOut(Schema):
    status: str
    version: str
    database: dict
    bus: str
    worker: dict
    time: str


class PlatformOut(Schema):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    hotline_number: str


class UnitOut(Schema):
    id: int
    platform_id: int
    code: str
    name: str
    short_name: str
    kind: str
    contact_phone: str
    is_active: bool


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    employee_no: str
    phone_masked: str
    platform_id: int
    unit_id: int | None
    team_id: int | None
    roles: list[str]
    is_active: bool
    locked: bool

    @staticmethod
    def resolve_phone_masked(user) -> str:
        return mask_phone(user.phone)

    @staticmethod
    def resolve_roles(user) -> list[str]:
        return sorted(a.role for a in user.role_assignments.all())

    @staticmethod
    def resolve_locked(user) -> bool:
        return user.is_locked()


class MeOut(UserOut):
    permissions: list[str]
    must_change_password: bool

    @staticmethod
    def resolve_permissions(user) -> list[str]:
        return sorted(user.permission_codes)


class UserCreateIn(Schema):
    username: str = Field(..., min_length=2, max_length=150, pattern=r"^[A-Za-z0-9_.@+-]+$")
    display_name: str = Field(..., min_length=1, max_length=50)
    platform_id: int
    unit_id: int | None = None
    team_id: int | None = None
    phone: str = Field("", max_length=20)
    employee_no: str = Field("", max_length=20)
    email: str = Field("", max_length=254)
    password: str | None = Field(None, max_length=128)


class UserCreatedOut(Schema):
    user: UserOut
    initial_password: str


class UserPatchIn(Schema):
    display_name: str | None = Field(None, min_length=1, max_length=50)
    phone: str | None = Field(None, max_length=20)
    employee_no: str | None = Field(None, max_length=20)
    email: str | None = Field(None, max_length=254)
    unit_id: int | None = None
    team_id: int | None = None


class RoleIn(Schema):
    role: Literal[tuple(ROLES)]  # type: ignore[valid-type]


class PasswordOut(Schema):
    initial_password: str


class PhoneOut(Schema):
    phone: str


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=50)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    key: str


class PolicyIO(Schema):
    min_password_length: int | None = None
    password_classes: int | None = None
    lockout_threshold: int | None = None
    lockout_minutes: int | None = None
    idle_timeout_minutes: int | None = None


class GrantIn(Schema):
    granted: bool


class AuditOut(Schema):
    id: int
    at: dt.datetime
    actor_name: str
    ip: str | None
    request_id: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict
    detail: dict


class AuditQuery(Schema):
    start: dt.date | None = None
    end: dt.date | None = None
    actor: str = ""
    action: str = ""
    object_type: str = ""
    text: str = ""


class CalendarDayOut(Schema):
    date: dt.date
    kind: str
    name: str
    provisional: bool


class CalendarDayIn(Schema):
    kind: Literal["holiday", "workday"]
    name: str = Field(..., min_length=1, max_length=30)
    provisional: bool = False


class DeadlineOut(Schema):
    start: dt.datetime
    due: dt.datetime


# --- health (no authentication) ---------------------------------------------------------------


@system_router.get("/health", auth=None, response=HealthOut, summary="健康检查")
def health(request):
    return selectors.health()


# --- me -----------------------------------------------------------------------------------------


@router.get("/me", response=MeOut, tags=["我的"], summary="当前用户")
def me(request):
    return request.user


@router.get("/me/tokens", response=list[TokenOut], tags=["我的"], summary="我的 API 令牌")
def my_tokens(request):
    return selectors.tokens_of(request.user)


@router.post("/me/tokens", response={201: TokenCreatedOut}, tags=["我的"], summary="申请 API 令牌")
def create_token(request, payload: TokenIn):
    token, key = services.token_create(actor=request.user, user=request.user, name=payload.name)
    token.key = key
    return Status(201, token)


@router.delete("/me/tokens/{token_id}", response={204: None}, tags=["我的"], summary="吊销令牌")
def revoke_token(request, token_id: int):
    token = selectors.get_or_404(ApiToken.objects.filter(user=request.user), pk=token_id)
    services.token_revoke(actor=request.user, token=token)
    return Status(204, None)


# --- organisation ---------------------------------------------------------------------------------


@router.get("/org/platforms", response=list[PlatformOut], tags=["组织"], summary="平台列表")
def platforms(request):
    return selectors.platforms_visible(request.user)


@router.get("/org/units", response=list[UnitOut], tags=["组织"], summary="承办单位列表")
def units(request):
    return selectors.units_visible(request.user)


@router.get("/org/units/{unit_id}", response=UnitOut, tags=["组织"], summary="承办单位详情")
def unit_detail(request, unit_id: int):
    return selectors.get_or_404(selectors.units_visible(request.user), pk=unit_id)


# --- accounts ------------------------------------------------------------------------------------


def _visible_user(request, user_id: int):
    return selectors.get_or_404(selectors.users_visible(request.user), pk=user_id)


@router.get("/users", response=list[UserOut], tags=["账号"], summary="用户列表（按数据权限）")
@paginate(LimitOffsetPagination)
def users(request, role: str = "", q: str = ""):
    queryset = selectors.users_visible(request.user)
    if role:
        queryset = queryset.filter(role_assignments__role=role)
    if q:
        queryset = queryset.filter(display_name__icontains=q) | queryset.filter(
            username__icontains=q
        )
    return queryset.distinct()


@router.get("/users/{user_id}", response=UserOut, tags=["账号"], summary="用户详情")
def user_detail(request, user_id: int):
    return _visible_user(request, user_id)


@router.post(
    "/users", response={201: UserCreatedOut}, tags=["账号"], summary="新建账号（系统管理员）"
)
def user_create(request, payload: UserCreateIn):
    platform = selectors.get_or_404(
        selectors.platforms_visible(request.user), pk=payload.platform_id
    )
    unit = team = None
    if payload.unit_id is not None:
        unit = selectors.get_or_404(
            HandlingUnit.objects.filter(platform=platform), pk=payload.unit_id
        )
    if payload.team_id is not None:
        team = selectors.get_or_404(Team.objects.filter(platform=platform), pk=payload.team_id)
    user, password = services.user_create(
        actor=request.user,
        username=payload.username,
        display_name=payload.display_name,
        platform=platform,
        unit=unit,
        team=team,
        phone=payload.phone,
        employee_no=payload.employee_no,
        email=payload.email,
        password=payload.password,
    )
    return Status(201, {"user": user, "initial_password": password})


@router.patch("/users/{user_id}", response=UserOut, tags=["账号"], summary="修改账号信息")
def user_patch(request, user_id: int, payload: UserPatchIn):
    user = _visible_user(request, user_id)
    changes = payload.dict(exclude_unset=True)
    if "unit_id" in changes:
        unit_id = changes.pop("unit_id")
        changes["unit"] = (
            None
            if unit_id is None
            else selectors.get_or_404(
                HandlingUnit.objects.filter(platform=user.platform), pk=unit_id
            )
        )
    if "team_id" in changes:
        team_id = changes.pop("team_id")
        changes["team"] = (
            None
            if team_id is None
            else selectors.get_or_404(Team.objects.filter(platform=user.platform), pk=team_id)
        )
    if any(v is None for k, v in changes.items() if k not in ("unit", "team")):
        raise Invalid("字段不能为空")
    return services.user_update(actor=request.user, user=user, **changes)


@router.post("/users/{user_id}/disable", response=UserOut, tags=["账号"], summary="停用账号")
def user_disable(request, user_id: int):
    user = services.user_set_active(
        actor=request.user, user=_visible_user(request, user_id), active=False
    )
    return user


@router.post("/users/{user_id}/enable", response=UserOut, tags=["账号"], summary="启用账号")
def user_enable(request, user_id: int):
    user = services.user_set_active(
        actor=request.user, user=_visible_user(request, user_id), active=True
    )
    return user


@router.post("/users/{user_id}/unlock", response=UserOut, tags=["账号"], summary="解除锁定")
def user_unlock(request, user_id: int):
    return services.user_unlock(actor=request.user, user=_visible_user(request, user_id))


@router.post(
    "/users/{user_id}/reset-password", response=PasswordOut, tags=["账号"], summary="重置密码"
)
def user_reset_password(request, user_id: int):
    password = services.user_reset_password(
        actor=request.user, user=_visible_user(request, user_id)
    )
    return PasswordOut(initial_password=password)


@router.post(
    "/users/{user_id}/reveal-phone",
    response=PhoneOut,
    tags=["账号"],
    summary="查看完整号码（留痕）",
)
def user_reveal_phone(request, user_id: int):
    user = _visible_user(request, user_id)
    return PhoneOut(phone=services.phone_reveal(actor=request.user, obj=user))


@router.post(
    "/users/{user_id}/roles",
    response={201: UserOut},
    tags=["角色与权限"],
    summary="分配角色（安全管理员）",
)
def role_assign(request, user_id: int, payload: RoleIn):
    user = _visible_user(request, user_id)
    services.role_assign(actor=request.user, user=user, role=payload.role)
    return Status(201, _visible_user(request, user_id))


@router.delete(
    "/users/{user_id}/roles/{role}", response=UserOut, tags=["角色与权限"], summary="收回角色"
)
def role_revoke(request, user_id: int, role: str):
    services.role_revoke(actor=request.user, user=_visible_user(request, user_id), role=role)
    return _visible_user(request, user_id)


# --- roles, permissions, policy -------------------------------------------------------------------


@router.get("/security/roles", tags=["角色与权限"], summary="角色与权限定义")
def role_definitions(request):
    matrix = selectors.permission_matrix()
    return [
        {
            "code": row["role"].code,
            "name": row["role"].name,
            "admin": row["role"].admin,
            "permissions": [c["permission"].code for c in row["cells"] if c["granted"]],
        }
        for row in matrix
    ]


@router.put(
    "/security/roles/{role}/permissions/{permission}",
    tags=["角色与权限"],
    summary="授予或收回角色权限（安全管理员）",
)
def role_permission_set(request, role: str, permission: str, payload: GrantIn):
    if role not in ROLES or permission not in PERMISSIONS:
        raise Invalid("未知的角色或权限")
    services.role_permission_set(
        actor=request.user, role=role, permission=permission, granted=payload.granted
    )
    return {"role": role, "permission": permission, "granted": payload.granted}


@router.get("/security/policy", response=PolicyIO, tags=["角色与权限"], summary="安全策略")
def policy(request):
    services.require(request.user, "policy.manage")
    return selectors.security_policy()


@router.patch("/security/policy", response=PolicyIO, tags=["角色与权限"], summary="修改安全策略")
def policy_update(request, payload: PolicyIO):
    return services.policy_update(actor=request.user, **payload.dict(exclude_none=True))


# --- audit -------------------------------------------------------------------------------------


@router.get("/audit", response=list[AuditOut], tags=["审计"], summary="审计日志（审计管理员）")
@paginate(LimitOffsetPagination)
def audit_log(request, filters: Query[AuditQuery]):
    return selectors.audit_entries(request.user, selectors.AuditFilter(**filters.dict()))


@router.get("/audit/export", tags=["审计"], summary="导出审计日志（xlsx）")
def audit_export(request, filters: Query[AuditQuery]):
    from .exports import audit_workbook

    entries = selectors.audit_entries(request.user, selectors.AuditFilter(**filters.dict()))
    services.audit_log_exported(
        actor=request.user, filters=filters.dict(exclude_defaults=True), rows=entries.count()
    )
    return _xlsx_response(audit_workbook(entries), "审计日志.xlsx")


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


# --- calendar ----------------------------------------------------------------------------------


@router.get(
    "/calendar/{year}",
    response=list[CalendarDayOut],
    tags=["工作日历"],
    summary="某年的节假日与调休",
)
def calendar_year(request, year: int):
    if not 2000 <= year <= 2100:
        raise Invalid("年份须在 2000–2100 之间")
    return selectors.calendar_days(year)


@router.put(
    "/calendar/days/{day}",
    response=CalendarDayOut,
    tags=["工作日历"],
    summary="设置某日（系统管理员）",
)
def calendar_day_set(request, day: dt.date, payload: CalendarDayIn):
    return services.calendar_day_set(
        actor=request.user,
        date=day,
        kind=payload.kind,
        name=payload.name,
        provisional=payload.provisional,
    )


@router.delete(
    "/calendar/days/{day}", response={204: None}, tags=["工作日历"], summary="删除某日安排"
)
def calendar_day_remove(request, day: dt.date):
    services.calendar_day_remove(actor=request.user, date=day)
    return Status(204, None)


@router.get("/calendar-deadline", response=DeadlineOut, tags=["工作日历"], summary="计算期限")
def calendar_deadline(request, start: dt.datetime, working_days: int = 0, working_hours: float = 0):
    from . import workdays

    if start.tzinfo is None:
        start = start.replace(tzinfo=workdays.LOCAL_TZ)
    if working_days < 0 or working_hours < 0 or working_days > 3650 or working_hours > 10000:
        raise Invalid("期限须为非负数且不超过 3650 个工作日")
    due = workdays.add_working_days(start, working_days)
    if working_hours:
        due = workdays.add_working_hours(due, working_hours)
    return DeadlineOut(start=start, due=due)
