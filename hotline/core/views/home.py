"""The home page of each role (首页): a greeting, then the panels of the user's roles.

Which panels a role sees is declared in ``hotline.web.home``; the panel functions below
read only through selectors and return ``(template, context)``.
"""

import datetime as dt
import itertools

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from hotline.web import home as registry

from .. import selectors
from ..audit import action_label
from ..roles import ROLES


def _greeting(hour: int) -> str:
    if hour < 6:
        return "您好"
    if hour < 9:
        return "早上好"
    if hour < 12:
        return "上午好"
    if hour < 14:
        return "中午好"
    if hour < 18:
        return "下午好"
    return "晚上好"


@login_required
def home(request):
    user = request.user
    now = timezone.localtime()
    context = {
        "greeting": _greeting(now.hour),
        "roles": [ROLES[code] for code in user.role_codes if code in ROLES],
        "today": selectors.day_status(now.date()),
        "account": selectors.account_security(user),
    }
    context["main_panels"], context["side_panels"] = registry.layout(registry.panels_for(request))
    return render(request, "core/home.html", context)


# --- panels ------------------------------------------------------------------------------


def panel_my_team(request):
    """我的班组: team, leader, teammates, and my skills with levels."""
    return "core/home/my_team.html", {
        "team": selectors.my_team(request.user),
        "skills": list(selectors.skills_of(request.user)),
    }


def panel_my_unit(request):
    """本单位: the handling unit of a unit handler and the colleagues in it."""
    user = request.user
    unit = selectors.units_visible(user).filter(pk=user.unit_id).first() if user.unit_id else None
    return "core/home/my_unit.html", {
        "unit": unit,
        "colleagues": list(selectors.unit_colleagues(user)[:20]),
    }


def _special_days(weeks: list[list[dict]]) -> list[dict]:
    """This month's listed days grouped into runs of the same name (国庆节 10/1–10/8)."""
    days = [d for week in weeks for d in week if d["in_month"] and d["entry"] is not None]
    runs = []
    for _, group in itertools.groupby(days, key=lambda d: (d["entry"].name, d["entry"].kind)):
        group = list(group)
        # a run is consecutive dates; split where a date is skipped
        start = prev = group[0]
        for day in [*group[1:], None]:
            if day is not None and day["date"] == prev["date"] + dt.timedelta(days=1):
                prev = day
                continue
            runs.append(
                {
                    "entry": start["entry"],
                    "start": start["date"],
                    "end": prev["date"],
                    "days": (prev["date"] - start["date"]).days + 1,
                }
            )
            start = prev = day
    return runs


def panel_calendar(request):
    """本月工作日历: the month with working days, holidays and 调休 marked; next holiday."""
    today = timezone.localdate()
    weeks = selectors.calendar_month(today.year, today.month)
    return "core/home/calendar.html", {
        "month": today.replace(day=1),
        "weeks": weeks,
        "weekday_names": "一二三四五六日",
        "special_days": _special_days(weeks),
        "next_holiday": selectors.holiday_period(today),
        "can_open_calendar": request.user.can("calendar.view")
        or request.user.can("calendar.manage"),
    }


def panel_org_overview(request):
    """组织概况: counts of platforms, units, teams, accounts; accounts per role; the tree."""
    summary = selectors.org_summary(request.user)
    by_role = [(name, count) for name, count in summary.users_by_role if count]
    return "core/home/org_overview.html", {
        "summary": summary,
        "by_role": by_role,
        "by_role_max": max((count for _, count in by_role), default=0),
        "tree": selectors.platform_tree(request.user),
        "can_open_org": request.user.can("org.view") or request.user.can("org.manage"),
    }


def panel_teams(request):
    """班组一览: the teams in scope with leader and number of active members."""
    teams = list(selectors.team_overview(request.user))
    return "core/home/teams.html", {"teams": teams}


def panel_units(request):
    """承办单位通讯录: the active handling units in scope with their contact phone."""
    units = selectors.units_visible(request.user).filter(is_active=True)
    return "core/home/units.html", {
        "units": list(units[:12]),
        "unit_count": units.count(),
        "can_open_org": request.user.can("org.view") or request.user.can("org.manage"),
    }


def panel_accounts(request):
    """账号概况 (系统管理员): account counts, locked and newest accounts, shortcuts."""
    return "core/home/accounts.html", {"accounts": selectors.account_summary(request.user)}


def panel_security(request):
    """安全策略 (安全管理员): the policy values in force."""
    return "core/home/security.html", {"policy": selectors.security_policy()}


def panel_role_holders(request):
    """各角色账号数 (安全管理员): active accounts per role."""
    return "core/home/role_holders.html", {"holders": selectors.role_holders(request.user)}


def panel_audit_recent(request):
    """最新审计日志 (审计管理员): the 10 latest entries and today's figures."""
    entries = [
        {"entry": entry, "label": action_label(entry.action)}
        for entry in selectors.audit_entries(request.user)[:10]
    ]
    return "core/home/audit_recent.html", {
        "entries": entries,
        "overview": selectors.audit_overview(request.user),
    }
