"""Reads of the core context, shaped for pages and the API, always within the viewer's
data scope. Nothing here writes."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

import hotline

from . import workdays
from .errors import Forbidden, NotFound
from .models import (
    ApiToken,
    AuditEntry,
    CalendarDay,
    HandlingUnit,
    Platform,
    RolePermission,
    SecurityPolicy,
    Team,
    User,
    WorkerHeartbeat,
)
from .roles import PERMISSIONS, ROLES
from .scope import scope_of


def get_or_404(queryset: QuerySet, **lookup):
    """One row of an already scoped queryset; out of scope reads as not found."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"{queryset.model._meta.verbose_name}不存在") from None


# --- organisation ------------------------------------------------------------------------


def platforms_visible(viewer: User) -> QuerySet[Platform]:
    scope = scope_of(viewer)
    if scope.unit_id is not None:
        return Platform.objects.filter(units=scope.unit_id)
    return Platform.objects.filter(pk__in=scope.platform_ids)


def units_visible(viewer: User) -> QuerySet[HandlingUnit]:
    scope = scope_of(viewer)
    queryset = HandlingUnit.objects.select_related("platform")
    if scope.unit_id is not None:
        return queryset.filter(pk=scope.unit_id)
    return queryset.filter(platform__in=scope.platform_ids)


def users_visible(viewer: User) -> QuerySet[User]:
    scope = scope_of(viewer)
    queryset = User.objects.select_related("platform", "unit", "team").prefetch_related(
        "role_assignments"
    )
    return scope.apply(queryset)


def teams_visible(viewer: User) -> QuerySet[Team]:
    return scope_of(viewer).apply(Team.objects.select_related("leader"), unit_field=None)


def users_with_role(viewer: User, role: str) -> QuerySet[User]:
    return users_visible(viewer).filter(role_assignments__role=role)


@dataclass(frozen=True)
class OrgSummary:
    platforms: int
    units: int
    teams: int
    users: int
    active_users: int
    locked_users: int
    users_by_role: list[tuple[str, int]]


def org_summary(viewer: User) -> OrgSummary:
    users = users_visible(viewer)
    by_role = dict(
        users.filter(is_active=True)
        .values_list("role_assignments__role")
        .annotate(n=Count("pk", distinct=True))
        .values_list("role_assignments__role", "n")
    )
    return OrgSummary(
        platforms=platforms_visible(viewer).count(),
        units=units_visible(viewer).count(),
        teams=teams_visible(viewer).count(),
        users=users.count(),
        active_users=users.filter(is_active=True).count(),
        locked_users=users.filter(locked_until__gt=timezone.now()).count(),
        users_by_role=[(role.name, by_role.get(code, 0)) for code, role in ROLES.items()],
    )


def platform_tree(viewer: User) -> list[dict]:
    """Visible platforms in tree order with depth and counts, for the org page."""
    platforms = list(
        platforms_visible(viewer)
        .annotate(
            unit_count=Count("units", distinct=True), user_count=Count("users", distinct=True)
        )
        .order_by("path")
    )
    base = min((p.path.count("/") for p in platforms), default=0)
    return [{"platform": p, "depth": p.path.count("/") - base} for p in platforms]


# --- rights -------------------------------------------------------------------------------


def permission_matrix() -> list[dict]:
    """Roles × permissions with the granted ones marked (security admin's page)."""
    granted = set(RolePermission.objects.values_list("role", "permission"))
    return [
        {
            "role": role,
            "cells": [
                {"permission": permission, "granted": (role.code, code) in granted}
                for code, permission in PERMISSIONS.items()
            ],
        }
        for role in ROLES.values()
    ]


def security_policy() -> SecurityPolicy:
    return SecurityPolicy.current()


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


# --- audit --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    start: dt.date | None = None
    end: dt.date | None = None
    actor: str = ""
    action: str = ""
    object_type: str = ""
    text: str = ""


def audit_entries(viewer: User, filters: AuditFilter = AuditFilter()) -> QuerySet[AuditEntry]:
    """The audit log, for the audit admin only (R-ORG-3: the system admin cannot read it)."""
    if not viewer.can("audit.read"):
        raise Forbidden("只有审计管理员可以查阅审计日志")
    queryset = AuditEntry.objects.all()
    if filters.start:
        queryset = queryset.filter(at__date__gte=filters.start)
    if filters.end:
        queryset = queryset.filter(at__date__lte=filters.end)
    if filters.actor:
        queryset = queryset.filter(actor_name__icontains=filters.actor)
    if filters.action:
        queryset = queryset.filter(action__startswith=filters.action)
    if filters.object_type:
        queryset = queryset.filter(object_type=filters.object_type)
    if filters.text:
        queryset = queryset.filter(
            Q(object_repr__icontains=filters.text)
            | Q(ip__icontains=filters.text)
            | Q(request_id=filters.text)
        )
    return queryset


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by().values_list("action", flat=True).distinct())


# --- calendar -----------------------------------------------------------------------------


def calendar_month(year: int, month: int) -> list[list[dict]]:
    """Weeks (Monday first) of a month with each day's working status and name."""
    first = dt.date(year, month, 1)
    start = first - dt.timedelta(days=first.weekday())
    listed = {
        d.date: d
        for d in CalendarDay.objects.filter(date__gte=start, date__lt=start + dt.timedelta(days=42))
    }
    calendar = workdays.current()
    today = timezone.localdate()
    weeks = []
    for week in range(6):
        days = []
        for offset in range(7):
            day = start + dt.timedelta(days=week * 7 + offset)
            entry = listed.get(day)
            days.append(
                {
                    "date": day,
                    "in_month": day.month == month,
                    "working": calendar.is_working_day(day),
                    "entry": entry,
                    "today": day == today,
                }
            )
        if week >= 4 and not any(d["in_month"] for d in days):
            break
        weeks.append(days)
    return weeks


def calendar_days(year: int) -> QuerySet[CalendarDay]:
    return CalendarDay.objects.filter(date__year=year)


def next_holiday(after: dt.date | None = None) -> CalendarDay | None:
    after = after or timezone.localdate()
    return CalendarDay.objects.filter(date__gte=after, kind=CalendarDay.Kind.HOLIDAY).first()


# --- health -------------------------------------------------------------------------------


def health() -> dict:
    """What /api/health reports: version, database, bus, worker heartbeat age."""
    status = "ok"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database_ok = True
    except Exception:  # the database being down is exactly what health must report
        database_ok, status = False, "degraded"
    beat = None
    if database_ok:
        beat = (
            WorkerHeartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
        )
    age = round((timezone.now() - beat).total_seconds(), 1) if beat else None
    if age is None or age > 180:
        status = "degraded"
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    return {
        "status": status,
        "version": hotline.__version__,
        "database": {"vendor": connection.vendor, "ok": database_ok},
        "bus": "redis" if "redis" in layer.lower() else "in-process",
        "worker": {"heartbeat_age_seconds": age},
        "time": timezone.now().isoformat(),
    }


# --- home pages (首页) ----------------------------------------------------------------------


def day_status(day: dt.date | None = None) -> dict:
    """Is ``day`` (default today) a working day, and which listed holiday or 调休 is it."""
    day = day or timezone.localdate()
    return {
        "date": day,
        "working": workdays.current().is_working_day(day),
        "entry": CalendarDay.objects.filter(date=day).first(),
    }


def holiday_period(after: dt.date | None = None) -> dict | None:
    """The next run of holiday days starting after ``after`` (default today), as
    ``{"name", "start", "end", "days", "days_until"}``; None when the calendar has none."""
    after = after or timezone.localdate()
    first = next_holiday(after + dt.timedelta(days=1))
    if first is None:
        return None
    end = first.date
    run = CalendarDay.objects.filter(
        kind=CalendarDay.Kind.HOLIDAY,
        date__gt=first.date,
        date__lte=first.date + dt.timedelta(days=14),
    ).values_list("date", flat=True)
    for day in run:
        if day != end + dt.timedelta(days=1):
            break
        end = day
    return {
        "name": first.name,
        "start": first.date,
        "end": end,
        "days": (end - first.date).days + 1,
        "days_until": (first.date - after).days,
        "provisional": first.provisional,
    }


def my_team(viewer: User) -> dict | None:
    """The viewer's shift team (班组): its leader and active members; None without a team."""
    if viewer.team_id is None:
        return None
    team = Team.objects.select_related("leader").filter(pk=viewer.team_id).first()
    if team is None:
        return None
    members = list(
        User.objects.filter(team=team, is_active=True)
        .prefetch_related("role_assignments")
        .order_by("employee_no", "username")
    )
    return {"team": team, "leader": team.leader, "members": members}


def skills_of(user: User):
    """The user's skills (技能) with levels, strongest first."""
    from .models import UserSkill

    return (
        UserSkill.objects.filter(user=user)
        .select_related("skill")
        .order_by("-level", "skill__name")
    )


def unit_colleagues(viewer: User) -> QuerySet[User]:
    """Active staff of the viewer's handling unit, the viewer excluded."""
    if viewer.unit_id is None:
        return User.objects.none()
    return (
        users_visible(viewer)
        .filter(unit_id=viewer.unit_id, is_active=True)
        .exclude(pk=viewer.pk)
        .order_by("employee_no", "username")
    )


@dataclass(frozen=True)
class AccountSummary:
    total: int
    active: int
    disabled: int
    locked: int
    must_change_password: int
    locked_accounts: list
    recent_accounts: list


def account_summary(viewer: User, *, listed: int = 5) -> AccountSummary:
    """Account counts in the viewer's scope for the system admin's home, with the
    currently locked accounts and the newest ones."""
    users = users_visible(viewer)
    now = timezone.now()
    locked = users.filter(locked_until__gt=now)
    return AccountSummary(
        total=users.count(),
        active=users.filter(is_active=True).count(),
        disabled=users.filter(is_active=False).count(),
        locked=locked.count(),
        must_change_password=users.filter(is_active=True, must_change_password=True).count(),
        locked_accounts=list(locked.order_by("locked_until")[:listed]),
        recent_accounts=list(users.order_by("-date_joined", "-pk")[:listed]),
    )


def role_holders(viewer: User) -> list[dict]:
    """Active accounts per role in the viewer's scope, every role listed (security admin)."""
    counts = dict(
        users_visible(viewer)
        .filter(is_active=True)
        .values_list("role_assignments__role")
        .annotate(n=Count("pk", distinct=True))
        .values_list("role_assignments__role", "n")
    )
    return [{"role": role, "count": counts.get(code, 0)} for code, role in ROLES.items()]


def account_security(user: User) -> dict:
    """The viewer's own account facts: last sign-in, password age, active API tokens."""
    changed = user.password_changed_at
    return {
        "last_login": user.last_login,
        "password_changed_at": changed,
        "password_age_days": max(0, (timezone.now() - changed).days) if changed else None,
        "active_tokens": tokens_of(user).filter(revoked_at__isnull=True).count(),
    }


# --- administration pages (账号、角色、组织架构、审计) -------------------------------------------

ACCOUNT_STATUSES = {"active": "启用", "disabled": "停用", "locked": "锁定"}


def users_search(
    viewer: User,
    *,
    platform: Platform | None = None,
    unit: HandlingUnit | None = None,
    role: str = "",
    status: str = "",
    text: str = "",
) -> QuerySet[User]:
    """Visible accounts filtered for the account and role pages. ``status`` is one of
    ACCOUNT_STATUSES; ``text`` matches 姓名, 登录名 or 工号."""
    queryset = users_visible(viewer)
    if platform is not None:
        queryset = queryset.filter(platform=platform)
    if unit is not None:
        queryset = queryset.filter(unit=unit)
    if role:
        queryset = queryset.filter(role_assignments__role=role)
    if status == "active":
        queryset = queryset.filter(is_active=True)
    elif status == "disabled":
        queryset = queryset.filter(is_active=False)
    elif status == "locked":
        queryset = queryset.filter(locked_until__gt=timezone.now())
    text = text.strip()
    if text:
        queryset = queryset.filter(
            Q(display_name__icontains=text)
            | Q(username__icontains=text)
            | Q(employee_no__icontains=text)
        )
    return queryset.order_by("username")


def org_overview(viewer: User) -> list[dict]:
    """The visible platform tree, each platform with its visible handling units grouped by
    kind (with staff counts) and its teams (with member counts). Counts cover only what
    the viewer may see, so a unit's staff see their own unit and nothing more."""
    units = list(
        units_visible(viewer)
        .annotate(staff_count=Count("staff", distinct=True))
        .order_by("platform_id", "code")
    )
    teams = list(
        teams_visible(viewer)
        .select_related("platform")
        .annotate(member_count=Count("members", distinct=True))
        .order_by("name")
    )
    user_counts = dict(
        users_visible(viewer)
        .order_by()
        .values_list("platform_id")
        .annotate(n=Count("pk"))
        .values_list("platform_id", "n")
    )
    kind_order = list(HandlingUnit.Kind)
    overview = []
    for node in platform_tree(viewer):
        platform = node["platform"]
        own_units = [u for u in units if u.platform_id == platform.pk]
        groups = []
        for kind in kind_order:
            members = [u for u in own_units if u.kind == kind]
            if members:
                groups.append({"kind": kind.label, "units": members})
        overview.append(
            {
                "platform": platform,
                "depth": node["depth"],
                "unit_count": len(own_units),
                "user_count": user_counts.get(platform.pk, 0),
                "unit_groups": groups,
                "teams": [t for t in teams if t.platform_id == platform.pk],
            }
        )
    return overview


def unit_staff(viewer: User, unit: HandlingUnit) -> QuerySet[User]:
    """The visible accounts of one handling unit."""
    return users_visible(viewer).filter(unit=unit).order_by("-is_active", "employee_no", "username")


def audit_object_types() -> list[str]:
    return sorted(AuditEntry.objects.order_by().values_list("object_type", flat=True).distinct())


def team_overview(viewer: User) -> QuerySet[Team]:
    """Teams in scope with their leader and ``member_count`` (active members)."""
    return (
        teams_visible(viewer)
        .select_related("platform")
        .annotate(member_count=Count("members", filter=Q(members__is_active=True), distinct=True))
        .order_by("platform__path", "name")
    )


def audit_overview(viewer: User) -> dict:
    """Today's audit figures for the audit admin's home (refused to anyone else)."""
    today = timezone.localdate()
    entries = audit_entries(viewer, AuditFilter(start=today, end=today))
    week = audit_entries(viewer, AuditFilter(start=today - dt.timedelta(days=6), end=today))
    return {
        "today": entries.count(),
        "logins_today": entries.filter(action="auth.login").count(),
        "failures_today": entries.filter(
            action__in=("auth.login_failed", "auth.login_refused_locked")
        ).count(),
        "lockouts_week": week.filter(action="auth.locked").count(),
    }


def audit_related_names(entry: AuditEntry) -> dict[str, dict]:
    """Current names of the rows an audit entry's foreign-key changes point to,
    ``{field: {pk: name}}``, so the audit record shows 三亚市12345热线 beside 2."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    try:
        model = apps.get_model(entry.object_type)
    except (LookupError, ValueError):
        return {}
    names: dict[str, dict] = {}
    for field, pair in (entry.changes or {}).items():
        try:
            model_field = model._meta.get_field(field)
        except FieldDoesNotExist:
            continue
        if not getattr(model_field, "many_to_one", False):
            continue
        ids = [value for value in pair if isinstance(value, int)]
        related = model_field.related_model._default_manager.filter(pk__in=ids)
        names[field] = {row.pk: str(row) for row in related}
    return names


def notifications_of(user: User) -> QuerySet:
    """The user's own notices (站内提醒), unread first, newest first within each."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import Notification

    return (
        Notification.objects.filter(recipient=user)
        .annotate(
            read_rank=Case(
                When(read_at__isnull=True, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("read_rank", "-created_at", "-pk")
    )
