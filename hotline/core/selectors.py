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
        "role_assignments")
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
        .annotate(unit_count=Count("units", distinct=True), user_count=Count("users", distinct=True))
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
        queryset = queryset.filter(Q(object_repr__icontains=filters.text) | Q(ip__icontains=filters.text)
                                   | Q(request_id=filters.text))
    return queryset


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by().values_list("action", flat=True).distinct())


# --- calendar -----------------------------------------------------------------------------


def calendar_month(year: int, month: int) -> list[list[dict]]:
    """Weeks (Monday first) of a month with each day's working status and name."""
    first = dt.date(year, month, 1)
    start = first - dt.timedelta(days=first.weekday())
    listed = {d.date: d for d in CalendarDay.objects.filter(
        date__gte=start, date__lt=start + dt.timedelta(days=42))}
    calendar = workdays.current()
    today = timezone.localdate()
    weeks = []
    for week in range(6):
        days = []
        for offset in range(7):
            day = start + dt.timedelta(days=week * 7 + offset)
            entry = listed.get(day)
            days.append({
                "date": day,
                "in_month": day.month == month,
                "working": calendar.is_working_day(day),
                "entry": entry,
                "today": day == today,
            })
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
        beat = WorkerHeartbeat.objects.filter(name="worker").values_list("beat_at", flat=True).first()
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
