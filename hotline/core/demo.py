"""The demo hotline (``hotline init --demo``): a Sanya-like city, ready to log in to.

Platforms 海南省 → 三亚市 → 崖州区分中心, the city's handling units, skills, shift teams and
about 150 accounts covering every role, all built through the core services (so every
row is audited, as written by the CLI). Everything is deterministic: the same names,
numbers and skills on every run, so the printed logins (``DEMO_LOGINS``) and the docs
stay true. The organisation is data (``data/demo_org.json``); the staffing plan is below.

Later contexts (work orders, calls …) add their history by appending a loader to
``DEMO_EXTENSIONS``; each receives the context dict built here (see :func:`load_demo`).
"""

import functools
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from . import audit, services
from .errors import Conflict
from .models import Platform, User
from .roles import ROLES

DEMO_PASSWORD = "Hotline@2026"
SEED = 12345
DATA_FILE = Path(__file__).parent / "data" / "demo_org.json"

# Loaders of historical data, appended by later contexts (``demo.DEMO_EXTENSIONS.append``).
# Each is called once, inside the demo transaction, with the context dict of load_demo.
DEMO_EXTENSIONS: list[Callable[[dict], None]] = []

AGENTS_PER_SHIFT = 10  # 6 shift teams × 10 = 60 city agents
YZ_AGENTS = 5


@dataclass(frozen=True)
class Account:
    """One planned demo account."""

    username: str
    display_name: str
    role: str
    platform: str  # platform code
    team: str = ""  # team name on that platform
    unit: str = ""  # handling unit code on that platform
    phone: str = ""
    employee_no: str = ""
    note: str = ""


@functools.cache
def org() -> dict:
    """The demo organisation (platforms, units, skills, teams, name lists)."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


class _People:
    """Deterministic, distinct Chinese names and mobile numbers."""

    def __init__(self, data: dict):
        self.rng = random.Random(SEED)
        self.surnames = data["surnames"]
        self.given = data["given_names"]
        self.prefixes = data["mobile_prefixes"]
        self.names: set[str] = set()
        self.phones: set[str] = set()

    def name(self) -> str:
        while True:
            candidate = self.rng.choice(self.surnames) + self.rng.choice(self.given)
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate

    def phone(self) -> str:
        while True:
            candidate = self.rng.choice(self.prefixes) + f"{self.rng.randrange(10**8):08d}"
            if candidate not in self.phones:
                self.phones.add(candidate)
                return candidate


@functools.cache
def plan() -> tuple[Account, ...]:
    """Every demo account, in creation order. Pure: no database."""
    data = org()
    people = _People(data)
    accounts: list[Account] = []

    def add(username, role, platform, *, team="", unit="", employee_no="", note=""):
        accounts.append(
            Account(
                username=username,
                display_name=people.name(),
                role=role,
                platform=platform,
                team=team,
                unit=unit,
                phone=people.phone(),
                employee_no=employee_no,
                note=note,
            )
        )

    # The three separated admins sit on the province platform, so they see everything.
    add(
        "sysadmin",
        "sys_admin",
        "HN",
        employee_no="9001",
        note="系统管理员（省平台）：账号、组织架构与工作日历",
    )
    add(
        "secadmin",
        "sec_admin",
        "HN",
        employee_no="9002",
        note="安全管理员（省平台）：角色分配、权限配置与安全策略",
    )
    add(
        "auditadmin",
        "audit_admin",
        "HN",
        employee_no="9003",
        note="审计管理员（省平台）：查阅与导出审计日志",
    )

    # 热线办 (the supervising office) and the operator's management.
    for i in range(1, 3):
        add(f"office{i:02d}", "office", "SY", note="三亚市热线办：监管单位，查阅全部数据与考核结果")
    add("manager01", "manager", "SY", employee_no="3601", note="项目经理：热线运营管理与考核")
    add("trainer01", "trainer", "SY", employee_no="3501", note="培训师：培训课程与考试管理")
    for i in range(1, 3):
        add(
            f"analyst{i:02d}",
            "analyst",
            "SY",
            employee_no=f"34{i:02d}",
            note="数据分析员：指标统计、考核与报表分析",
        )
    for i in range(1, 4):
        add(
            f"kb{i:02d}",
            "kb_editor",
            "SY",
            employee_no=f"33{i:02d}",
            note="知识库管理员：知识采编、审核与查无纠错处理",
        )

    teams = data["teams"]["SY"]
    for i in range(1, 4):
        add(
            f"qa{i:02d}",
            "qa",
            "SY",
            team=teams["qa"],
            employee_no=f"32{i:02d}",
            note=f"质检员（{teams['qa']}）：录音与会话质检、评分与申诉处理",
        )
    for i in range(1, 7):
        add(
            f"callback{i:02d}",
            "callback",
            "SY",
            team=teams["callback"],
            employee_no=f"31{i:02d}",
            note=f"回访员（{teams['callback']}）：办结工单回访与满意度评价",
        )
    for i in range(1, 5):
        add(
            f"dispatch{i:02d}",
            "dispatcher",
            "SY",
            team=teams["dispatch"],
            employee_no=f"30{i:02d}",
            note=f"派单员（{teams['dispatch']}）：审核工单并派发至承办单位，处理退单与延期",
        )

    # One 值班长 per shift team, then the shift's agents.
    for i, shift in enumerate(teams["shifts"], start=1):
        add(
            f"leader{i:02d}",
            "team_leader",
            "SY",
            team=shift,
            employee_no=f"20{i:02d}",
            note=f"值班长（{shift}班长）：班组现场管理、坐席监控与质量把关",
        )
    number = 0
    for shift in teams["shifts"]:
        for _ in range(AGENTS_PER_SHIFT):
            number += 1
            add(
                f"agent{number:02d}",
                "agent",
                "SY",
                team=shift,
                employee_no=str(1000 + number),
                note=f"话务员（{shift}）：接听来电与文字会话，即时答复或登记工单",
            )

    # Handling-unit staff: 1–2 per unit, on the unit's platform.
    for platform_code, block in data["units"].items():
        for unit in block["list"]:
            for i in range(1, unit.get("handlers", 1) + 1):
                add(
                    f"unit_{unit['code'].lower()}{i:02d}",
                    "unit_handler",
                    platform_code,
                    unit=unit["code"],
                    note=f"承办单位人员（{unit['name']}）：签收、办理并答复本单位工单",
                )

    # The 崖州 sub-platform's own call team.
    yz_team = data["teams"]["YZ"]["shifts"][0]
    add(
        "yz_leader01",
        "team_leader",
        "YZ",
        team=yz_team,
        employee_no="YZ2001",
        note=f"值班长（崖州区分中心{yz_team}班长）",
    )
    for i in range(1, YZ_AGENTS + 1):
        add(
            f"yz_agent{i:02d}",
            "agent",
            "YZ",
            team=yz_team,
            employee_no=f"YZ{1000 + i}",
            note=f"话务员（崖州区分中心{yz_team}）",
        )
    return tuple(accounts)


def _logins() -> list[dict]:
    """The first planned account of each role, in the order of roles.py."""
    first: dict[str, Account] = {}
    for account in plan():
        first.setdefault(account.role, account)
    return [
        {
            "username": first[code].username,
            "password": DEMO_PASSWORD,
            "role": code,
            "role_name": role.name,
            "display_name": first[code].display_name,
            "note": first[code].note,
        }
        for code, role in ROLES.items()
        if code in first
    ]


DEMO_LOGINS: list[dict] = _logins()


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _contact_phone(prefix: str, index: int) -> str:
    return f"{prefix}{(1000 + index * 173) % 10000:04d}"


def load_demo(*, orders: int = 0, calls: int = 0, stdout=None) -> dict:
    """Build the demo hotline through the core services, as the CLI (``actor=None``).

    Refuses (Conflict) when any demo platform already exists. All or nothing: one
    transaction. Returns a JSON-safe summary; ``orders``/``calls`` are the historical
    volumes asked for, filled in by the loaders registered in ``DEMO_EXTENSIONS``.

    Each loader gets the context dict: ``platforms`` {code: Platform}, ``units``
    {code: HandlingUnit}, ``skills`` {platform code: {code: Skill}}, ``teams``
    {name: Team}, ``users`` {username: User}, ``users_by_role`` {role: [User]},
    ``orders`` and ``calls`` (requested counts), ``seed`` (for its own random.Random),
    ``stdout`` (may be None) and ``created`` — a loader adds what it made, e.g.
    ``context["created"]["orders"] += n``, so that the summary tells the truth.
    """
    started = time.monotonic()
    current = audit.current_origin()
    request_id = current.request_id if current.channel == "cli" and current.request_id else None
    same_run = {"request_id": request_id} if request_id else {}
    with audit.origin(channel="cli", **same_run), transaction.atomic():
        context = _build(stdout)
        context.update(
            orders=orders, calls=calls, stdout=stdout, seed=SEED, created={"orders": 0, "calls": 0}
        )
        for extension in DEMO_EXTENSIONS:
            extension(context)
    summary = _summary(context, orders=orders, calls=calls, seconds=time.monotonic() - started)
    for note in summary["notes"]:
        _say(stdout, note)
    return summary


def _build(stdout) -> dict:
    data = org()
    codes = [p["code"] for p in data["platforms"]]
    if Platform.objects.filter(code__in=codes).exists():
        raise Conflict("演示数据已存在")
    taken = User.objects.filter(username__in=[a.username for a in plan()]).exists()
    if taken:
        raise Conflict("演示数据已存在")

    platforms = {}
    for row in data["platforms"]:
        platforms[row["code"]] = services.platform_create(
            actor=None,
            code=row["code"],
            name=row["name"],
            level=row["level"],
            parent=platforms[row["parent"]] if row["parent"] else None,
        )
    _say(stdout, "已建平台：" + " → ".join(p.name for p in platforms.values()))

    units = {}
    for platform_code, block in data["units"].items():
        for index, row in enumerate(block["list"]):
            units[row["code"]] = services.unit_create(
                actor=None,
                platform=platforms[platform_code],
                code=row["code"],
                name=row["name"],
                short_name=row.get("short_name", ""),
                kind=row["kind"],
                contact_phone=_contact_phone(block["phone_prefix"], index),
            )
    _say(stdout, f"已建承办单位 {len(units)} 个")

    skills: dict[str, dict] = {}
    for platform_code, rows in data["skills"].items():
        skills[platform_code] = {
            row["code"]: services.skill_create(
                actor=None, platform=platforms[platform_code], code=row["code"], name=row["name"]
            )
            for row in rows
        }

    teams = {}
    for platform_code, block in data["teams"].items():
        names = [
            *block["shifts"],
            *(block[k] for k in ("dispatch", "callback", "qa") if k in block),
        ]
        for name in names:
            teams[name] = services.team_create(
                actor=None, platform=platforms[platform_code], name=name
            )
    _say(stdout, f"已建技能 {sum(len(s) for s in skills.values())} 项、班组 {len(teams)} 个")

    accounts = plan()
    created = services.user_create_many(
        actor=None,
        password=DEMO_PASSWORD,
        must_change_password=False,
        accounts=[
            {
                "username": a.username,
                "display_name": a.display_name,
                "platform": platforms[a.platform],
                "unit": units[a.unit] if a.unit else None,
                "team": teams[a.team] if a.team else None,
                "phone": a.phone,
                "employee_no": a.employee_no,
            }
            for a in accounts
        ],
    )
    users = {user.username: user for user in created}
    users_by_role: dict[str, list[User]] = {}
    for account in accounts:
        user = users[account.username]
        services.role_assign(actor=None, user=user, role=account.role)
        users_by_role.setdefault(account.role, []).append(user)
    for account in accounts:
        if account.role == "team_leader":
            services.team_set_leader(
                actor=None, team=teams[account.team], leader=users[account.username]
            )
    _say(stdout, f"已建账号 {len(users)} 个（演示密码 {DEMO_PASSWORD}）")

    _assign_skills(data, accounts, users, skills)
    return {
        "platforms": platforms,
        "units": units,
        "skills": skills,
        "teams": teams,
        "users": users,
        "users_by_role": users_by_role,
    }


def _assign_skills(data, accounts, users, skills) -> None:
    """Each agent gets 2–4 skills at levels 1–5; languages are rarer, but every one of
    them is spoken by someone on each platform that has it."""
    rng = random.Random(SEED)
    languages = set(data["languages"])
    for platform_code, platform_skills in skills.items():
        agents = [a for a in accounts if a.role == "agent" and a.platform == platform_code]
        business = [code for code in platform_skills if code not in languages]
        spoken = [code for code in platform_skills if code in languages]
        for index, account in enumerate(agents):
            chosen = rng.sample(business, min(len(business), rng.randint(2, 4)))
            if spoken and (index < len(spoken) or rng.random() < 0.2):
                language = spoken[index] if index < len(spoken) else rng.choice(spoken)
                chosen[-1] = language
            for code in chosen:
                services.user_skill_set(
                    actor=None,
                    user=users[account.username],
                    skill=platform_skills[code],
                    level=rng.randint(1, 5),
                )


def _summary(context: dict, *, orders: int, calls: int, seconds: float) -> dict:
    by_role = {code: len(context["users_by_role"].get(code, [])) for code in ROLES}
    created = context["created"]
    notes = []
    for kind, label, requested in (("orders", "工单", orders), ("calls", "话务", calls)):
        if requested and not created[kind]:
            notes.append(f"尚无模块登记{label}历史数据载入器，未生成{label}（请求 {requested} 条）")
    return {
        "platforms": len(context["platforms"]),
        "units": len(context["units"]),
        "units_by_platform": dict(Counter(u.platform.code for u in context["units"].values())),
        "skills": sum(len(s) for s in context["skills"].values()),
        "teams": len(context["teams"]),
        "users": len(context["users"]),
        "users_by_role": by_role,
        "orders": {"requested": orders, "created": created["orders"]},
        "calls": {"requested": calls, "created": created["calls"]},
        "extensions": [getattr(e, "__qualname__", repr(e)) for e in DEMO_EXTENSIONS],
        "notes": notes,
        "seconds": round(seconds, 2),
    }
