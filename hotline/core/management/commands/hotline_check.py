"""hotline check: is this installation sound? Prints each check; exit 1 if one fails."""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.utils import timezone

from hotline.core import roles, selectors
from hotline.core.models import CalendarDay, Platform, RoleAssignment, User


class Command(BaseCommand):
    help = "自检：数据库、迁移、三权分立、工作日历、后台任务、消息总线"

    def handle(self, *args, **options):
        results = []
        for check in CHECKS:
            results.append(check())
            if results[-1][0] is False and check in (database, migrations):
                break  # nothing else can be read from an unreachable or old schema
        for ok, title, detail in results:
            mark = (
                self.style.SUCCESS("✓")
                if ok is True
                else (self.style.WARNING("!") if ok is None else self.style.ERROR("✗"))
            )
            self.stdout.write(f"{mark} {title}：{detail}")
        if any(ok is False for ok, _, _ in results):
            raise CommandError("自检未通过")
        self.stdout.write(self.style.SUCCESS("自检通过。"))


def database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # reported, not raised: this is the check
        return False, "数据库", f"无法连接（{error}）"
    return True, "数据库", f"{connection.vendor} 连接正常"


def migrations():
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return False, "数据库迁移", f"有 {len(pending)} 个迁移未执行，请运行 hotline init"
    return True, "数据库迁移", "已是最新"


def declarations():
    try:
        roles.check_declarations()
    except AssertionError as error:
        return False, "角色与权限定义", str(error)
    return True, "角色与权限定义", f"{len(roles.ROLES)} 个角色，{len(roles.PERMISSIONS)} 项权限"


def separation():
    doubled = (
        RoleAssignment.objects.filter(role__in=roles.ADMIN_ROLES)
        .values("user")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    mixed = (
        User.objects.filter(role_assignments__role__in=roles.ADMIN_ROLES)
        .annotate(n=Count("role_assignments"))
        .filter(n__gt=1)
        .count()
    )
    if doubled or mixed:
        return False, "三权分立", f"{doubled + mixed} 个账号兼任管理员角色"
    missing = [
        roles.ROLES[r].name
        for r in roles.ADMIN_ROLES
        if not User.objects.filter(is_active=True, role_assignments__role=r).exists()
    ]
    if missing:
        return None, "三权分立", f"尚未设置：{'、'.join(missing)}（hotline createadmin）"
    return True, "三权分立", "三类管理员各有专用账号"


def calendar():
    year = timezone.localdate().year
    covered = {d.year for d in CalendarDay.objects.dates("date", "year")}
    if year not in covered:
        return False, "工作日历", f"缺少 {year} 年节假日数据"
    upcoming = dt.date(year + 1, 1, 1)
    if year + 1 not in covered:
        return None, "工作日历", f"缺少 {year + 1} 年节假日数据"
    if CalendarDay.objects.filter(date__gte=upcoming, provisional=True).exists():
        return None, "工作日历", f"{year + 1} 年安排为推算，待国务院公布后核对"
    return True, "工作日历", f"已覆盖 {min(covered)}–{max(covered)} 年"


def worker():
    age = selectors.health()["worker"]["heartbeat_age_seconds"]
    if age is None:
        return None, "后台任务", "尚无心跳（hotline run 或 hotline worker 启动后出现）"
    if age > 180:
        return False, "后台任务", f"最近心跳在 {int(age)} 秒前"
    return True, "后台任务", f"最近心跳在 {int(age)} 秒前"


def bus():
    if not settings.REDIS_URL:
        return True, "消息总线", "进程内（嵌入式）"
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
    except Exception as error:  # reported, not raised: this is the check
        return False, "消息总线", f"Redis 不可用（{error}）"
    return True, "消息总线", "Redis 连接正常"


def platforms():
    count = Platform.objects.count()
    if not count:
        return None, "组织架构", "尚无平台（hotline init --demo 或 --platform）"
    return True, "组织架构", f"{count} 个平台"


CHECKS = [database, migrations, declarations, separation, calendar, worker, bus, platforms]
