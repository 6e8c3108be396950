"""Deadline supervision (时限监督): the worker's sweeps over running deadlines.

``sweep_deadlines`` warns the people whose turn it is 24 hours before a deadline and
tells them — and the dispatchers — when it has passed. Each notice carries a key made of
the branch (or order), the deadline field and the deadline itself, so a notice fires
once per deadline however often the sweep runs, and again when an extension moves it.

``weekly_overdue_list`` writes, per platform, the spreadsheet of open orders past a
deadline (每周逾期工单清单) and tells the platform's managers, office and dispatchers.
"""

import datetime as dt
import re
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from hotline.core.exports import styled_workbook
from hotline.core.models import Notification, Platform, User
from hotline.core.notify import notify

from .lifecycle import OPEN_STATES, STATE_LABELS, BranchState, State
from .models import Assignment, WorkOrder
from .selectors import overdue_q

WARN_AHEAD = dt.timedelta(hours=24)

BRANCH_DEADLINES = {
    # field: (label, branch states in which it runs)
    "sign_due": ("签收", (BranchState.PENDING_SIGN,)),
    "handle_due": ("办理", (BranchState.PENDING_SIGN, BranchState.SIGNED)),
}
ORDER_DEADLINES = {
    # field: (label, order state in which it runs, role told)
    "dispatch_due": ("派单", State.SUBMITTED, "dispatcher"),
    "review_due": ("办结审核", State.REPLIED, "dispatcher"),
    "callback_due": ("回访", State.CALLBACK_PENDING, "callback"),
}
REPORT_ROLES = ("manager", "office", "dispatcher")
REPORT_DIR = ("reports", "overdue")
REPORT_NAME = re.compile(r"^(?P<platform>[A-Z]{2,8})-(?P<day>\d{4}-\d{2}-\d{2})\.xlsx$")


# --- who is told ------------------------------------------------------------------------------


def unit_staff(unit_ids) -> list[User]:
    """The active handlers (unit_handler) of these handling units."""
    return list(
        User.objects.filter(
            is_active=True, unit_id__in=list(unit_ids), role_assignments__role="unit_handler"
        ).distinct()
    )


def platform_staff(order_or_platform, *roles: str) -> list[User]:
    """Active holders of ``roles`` on the platform (of the order)."""
    platform_id = getattr(order_or_platform, "platform_id", None) or order_or_platform.pk
    return list(
        User.objects.filter(
            is_active=True, platform_id=platform_id, role_assignments__role__in=roles
        ).distinct()
    )


def notify_people(people, **notice) -> int:
    return len(notify(recipients=people, **notice))


# --- the 5-minute sweep -----------------------------------------------------------------------


def _when(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%m-%d %H:%M")


def _late(now: dt.datetime, due: dt.datetime) -> str:
    return overdue_text(now - due)


def overdue_text(delta: dt.timedelta) -> str:
    """逾期时长 in words: 2天3小时 / 5小时20分钟 / 12分钟."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分钟"
    return f"{minutes}分钟"


def _announce(
    sent: dict, *, order, label: str, due, now, key: str, warn, overdue, whose: str = ""
) -> None:
    """One deadline: a warning before it (to ``warn()``), an overdue notice after it (to
    ``overdue()``). The key holds the deadline itself, so each fires once per deadline
    and again only when an extension moves it."""
    link, stamp = f"/orders/{order.number}/", due.isoformat()
    if due > now:
        sent["warning"] += notify_people(
            warn(),
            kind="deadline.warning",
            level=Notification.Level.WARNING,
            title=f"{label}即将到期 {order.number}",
            body=f"{order.title}：{label}时限 {_when(due)}，请及时处理",
            link=link,
            key=f"warn:{key}:{stamp}",
        )
    else:
        sent["overdue"] += notify_people(
            overdue(),
            kind="deadline.overdue",
            level=Notification.Level.DANGER,
            title=f"{label}已逾期 {order.number}",
            body=f"{order.title}：{whose}{label}时限 {_when(due)}，已逾期 {_late(now, due)}",
            link=link,
            key=f"overdue:{key}:{stamp}",
        )


def sweep_deadlines(now: dt.datetime | None = None) -> dict[str, int]:
    """Warn of deadlines within 24 hours; report those past. Returns notices sent."""
    now = now or timezone.now()
    horizon = now + WARN_AHEAD
    sent = {"warning": 0, "overdue": 0}
    staff_of_unit: dict[int, list[User]] = {}
    staff_of_platform: dict[tuple[int, str], list[User]] = {}

    def units(unit_id: int) -> list[User]:
        if unit_id not in staff_of_unit:
            staff_of_unit[unit_id] = unit_staff([unit_id])
        return staff_of_unit[unit_id]

    def platform(order: WorkOrder, role: str) -> list[User]:
        if (order.platform_id, role) not in staff_of_platform:
            staff_of_platform[order.platform_id, role] = platform_staff(order, role)
        return staff_of_platform[order.platform_id, role]

    for field, (label, states) in BRANCH_DEADLINES.items():
        branches = (
            Assignment.objects.filter(
                state__in=states,
                order__state__in=OPEN_STATES,
                **{f"{field}__isnull": False, f"{field}__lte": horizon},
            )
            .select_related("order", "unit")
            .order_by("pk")
        )
        for branch in branches:
            order = branch.order
            _announce(
                sent,
                order=order,
                label=label,
                due=getattr(branch, field),
                now=now,
                key=f"{branch.pk}:{field}",
                whose=branch.unit.name,
                warn=lambda b=branch: units(b.unit_id),
                overdue=lambda b=branch, o=order: units(b.unit_id) + platform(o, "dispatcher"),
            )

    for field, (label, state, role) in ORDER_DEADLINES.items():
        orders = WorkOrder.objects.filter(
            state=state, **{f"{field}__isnull": False, f"{field}__lte": horizon}
        ).order_by("pk")
        for order in orders:
            people = lambda o=order, r=role: platform(o, r)  # noqa: E731
            _announce(
                sent,
                order=order,
                label=label,
                due=getattr(order, field),
                now=now,
                key=f"order:{order.pk}:{field}",
                warn=people,
                overdue=people,
            )
    return sent


# --- the weekly list --------------------------------------------------------------------------

HEADERS = ["编号", "标题", "承办单位", "状态", "时限", "逾期时长", "催办次数"]
WIDTHS = [22, 40, 28, 12, 18, 14, 10]


def running_due(order: WorkOrder) -> dt.datetime | None:
    """The deadline that runs in the order's present state."""
    state = State(order.state)
    if state == State.SUBMITTED:
        return order.dispatch_due
    if state == State.REPLIED:
        return order.review_due
    if state == State.CALLBACK_PENDING:
        return order.callback_due
    if state in (State.DISPATCHED, State.HANDLING, State.RETURN_PENDING):
        return order.handle_due
    return None


def overdue_rows(platform: Platform, now: dt.datetime) -> list[list]:
    orders = (
        WorkOrder.objects.filter(platform=platform, state__in=OPEN_STATES)
        .filter(overdue_q(now))
        .select_related("lead_unit")
        .order_by("created_at", "pk")
    )
    rows = []
    for order in orders:
        due = running_due(order)
        rows.append(
            [
                order.number,
                order.title,
                order.lead_unit.name if order.lead_unit else "（待派单）",
                STATE_LABELS[State(order.state)],
                timezone.localtime(due).strftime("%Y-%m-%d %H:%M") if due else "",
                overdue_text(now - due) if due else "",
                order.urge_count,
            ]
        )
    return rows


def report_dir() -> Path:
    return Path(settings.MEDIA_ROOT).joinpath(*REPORT_DIR)


def report_path(name: str) -> Path | None:
    """The file of a report name, or None for anything that is not one (no traversal)."""
    if not REPORT_NAME.match(name or ""):
        return None
    path = report_dir() / name
    return path if path.is_file() else None


def weekly_overdue_list(now: dt.datetime | None = None) -> list[Path]:
    """Write each platform's overdue list and tell its managers, office and dispatchers."""
    now = now or timezone.now()
    day = timezone.localdate(now).isoformat()
    written = []
    platforms = Platform.objects.filter(is_active=True).filter(
        Q(work_orders__state__in=OPEN_STATES)
    )
    for platform in platforms.distinct().order_by("path"):
        rows = overdue_rows(platform, now)
        if not rows:
            continue
        name = f"{platform.code}-{day}.xlsx"
        folder = report_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(styled_workbook("逾期工单", HEADERS, rows, WIDTHS))
        written.append(path)
        notify_people(
            platform_staff(platform, *REPORT_ROLES),
            kind="report.overdue",
            level=Notification.Level.WARNING,
            title=f"每周逾期工单清单 {day}",
            body=f"{platform.name}：{len(rows)} 件在办工单已超过时限",
            link=f"/notifications/reports/overdue/{name}/",
            key=f"overdue-list:{platform.code}:{day}",
        )
    return written
