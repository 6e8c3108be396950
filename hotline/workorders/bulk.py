"""Bulk loader of historical work orders (``hotline loadorders N``), for benchmarks and
for trying the product at production volume (a year of a city's hotline is about a
million orders).

The demo loader (demo.py) takes every order through the services: exact, but about 25
orders a second. This loader tells the same stories much faster: each order's life is
walked here, verb by verb, with the effects ``services.perform`` has — states, branches
(``Assignment``), stored deadlines from sla.py, one timeline ``Event`` per step, every
move checked against :data:`lifecycle.ACTIONS` — and the rows are then written in bulk:
COPY on PostgreSQL, batched INSERT on SQLite, ids taken from each table's sequence.

What it writes: ``WorkOrder``, ``Assignment`` and ``Event`` rows, numbers taken in one
block per day from the same counter as live intake (numbering.next_numbers, so later
live orders never collide), and ``search_text`` as ``hotline.search.index_text`` makes
it (each sentence is segmented once and cached: jieba cuts at punctuation, so the words
of a text are the words of its sentences). What it does not write: audit rows (审计日志)
— the history is a load, not people's actions — nor notifications; nothing of the past
asks for them.

The stories (received times spread over ``days``, more on weekdays and in office hours):
the scenarios of the demo, with varied places and times in the text; answered at the
front desk (即时答复) or dispatched — by a direct auto-dispatch rule at intake, or by a
dispatcher (sometimes with a co-unit, 协办) —, signed, sometimes returned (退单) and
re-dispatched, sometimes extended (延期) or urged (催办), replied, reviewed (sometimes
sent back), called back, unsatisfied ones re-opened (复核) or closed, archived by the
worker a day after completion. A step that would fall after ``now`` is not taken, so
recent orders stay open at every stage, and a few old ones are long overdue.
"""

import datetime as dt
import json
import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connection, connections, transaction
from django.utils import timezone

from hotline.core import numbering, workdays
from hotline.core.models import HandlingUnit, Platform, RoleAssignment, User
from hotline.search import index_text

from . import dispatching, sla
from .demo import AREAS, SATISFACTION_WEIGHTS, SCENARIOS
from .lifecycle import ACTIONS, SATISFIED, BranchState, State
from .models import Assignment, Category, Event, WorkOrder
from .services import ARCHIVE_AFTER, NUMBER_KIND

# A few more matters than the demo's, so that searches meet more vocabulary (医疗保险
# is found by 医保 through the synonym list).
EXTRA_SCENARIOS = [
    (
        "consult",
        "医保报销",
        "咨询医疗保险异地报销",
        "来电人在外地住院治疗，咨询医疗保险异地就医报销需要办理哪些手续。",
        "YBJ",
        "异地就医需先办理备案，可通过国家医保服务平台APP线上办理，出院时直接结算。",
    ),
    (
        "complaint",
        "医疗纠纷与收费",
        "医院重复收费",
        "来电人反映在医院就诊时被重复收取检查费用，要求核实并退还。",
        "WJW",
        "",
    ),
    (
        "help",
        "生活垃圾清运",
        "垃圾清运不及时",
        "来电人反映小区垃圾桶满溢多日无人清运，气味难闻，蚊蝇滋生。",
        "CGZFJ",
        "",
    ),
    (
        "complaint",
        "社会生活噪音",
        "广场舞噪音扰民",
        "来电人反映小区广场每晚广场舞音响声音过大，影响老人和孩子休息。",
        "JYQ",
        "",
    ),
]
ALL_SCENARIOS = [*SCENARIOS, *EXTRA_SCENARIOS]

TOWNS = {
    "吉阳区": ["红沙", "田独", "榆林", "月川", "落笔洞", "荔枝沟", "大东海", "下洋田"],
    "天涯区": ["凤凰", "三亚湾", "海坡", "槟榔", "羊栏", "高峰", "桶井", "水蛟"],
    "海棠区": ["林旺", "藤桥", "龙江", "青田", "湾坡", "北山", "椰林", "后海"],
    "崖州区": ["崖城", "梅山", "水南", "港门", "保平", "城西", "南山", "拱北"],
}
STREETS = [
    "迎宾路",
    "解放路",
    "新风街",
    "河东路",
    "河西路",
    "凤凰路",
    "榆亚路",
    "胜利路",
    "光明街",
    "临春河路",
    "三亚湾路",
    "吉阳大道",
    "育秀路",
    "金鸡岭路",
    "南边海路",
    "春光路",
    "商品街",
    "建港路",
    "鹿岭路",
    "崖州湾大道",
]
ESTATES = [
    "海韵花园",
    "金鸡岭小区",
    "椰风苑",
    "阳光海岸",
    "春光小区",
    "榆港湾",
    "鹿回头小区",
    "水居巷",
    "凤凰水城",
    "丰兴隆花园",
]
WHEN = ["今天上午", "今天下午", "昨天晚上", "今天凌晨", "近三天", "本周以来", "上周末", "近一个月"]
ASKS = [
    "请相关部门尽快处理",
    "希望尽快给予答复",
    "来电人要求核实后回复",
    "希望相关部门加强监管",
    "来电人情绪较为激动",
]
REPLIES = [
    "经核查，{title}一事已处理，已向来电人说明处理结果。",
    "经现场核实，{title}情况属实，已责令相关责任方整改到位，并电话告知来电人。",
    "我单位已安排工作人员到{place}现场处置，问题已解决，来电人表示认可。",
    "已联系来电人了解详细情况，{title}一事已按规定办理，后续将加强日常巡查。",
]
RETURN_REASONS = [
    "该事项不属于本单位职责范围，建议改派属地政府。",
    "诉求地址不在本单位管辖区域，请重新派单。",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐符邢云"
CHANNELS = ["phone"] * 70 + ["wechat"] * 10 + ["web"] * 8 + ["app"] * 7 + ["sms"] * 3
CHANNELS += ["email", "weibo"]
URGENCIES = ["normal"] * 90 + ["urgent"] * 9 + ["critical"]
# Calls by hour of the day (a hotline works 7×24; most calls come in office hours).
HOURLY = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 3, 6, 8, 8, 7, 5, 6, 7, 7, 6, 5, 4, 4, 3, 3, 2, 1.5]
# The district government of each area: the co-unit of a multi-branch order.
AREA_UNITS = {"吉阳区": "JYQ", "天涯区": "TYQ", "海棠区": "HTQ", "崖州区": "YZQ"}
# Batches being written while the next is made (PostgreSQL). One: numbering a batch locks
# the tables against inserts, so it waits for the batch in flight anyway.
WRITERS = 1


@dataclass
class Cast:
    """Who and what the stories use: the platform's people, units, categories, rules."""

    platform: Platform
    agents: list[User]
    dispatchers: list[User]
    callbacks: list[User]
    handlers: dict[int, User]  # unit id → the unit's handler
    units: dict[str, HandlingUnit]  # code → unit (the platform's and below)
    categories: dict[str, Category]  # leaf name → category
    rules: list  # active auto-dispatch rules, in matching order
    sla_table: list[sla.Rule]
    names: dict[int | None, str] = field(default_factory=dict)  # user id → event actor name
    unit_names: dict[int, str] = field(default_factory=dict)
    sla_cache: dict[tuple, list[sla.Rule]] = field(default_factory=dict)

    @classmethod
    def of(cls, platform: Platform) -> "Cast":
        def with_role(role: str):
            ids = RoleAssignment.objects.filter(role=role).values("user_id")
            return User.objects.filter(pk__in=ids, is_active=True).order_by("pk")

        units = {
            u.code: u
            for u in HandlingUnit.objects.filter(
                platform__path__startswith=platform.path, is_active=True
            ).select_related("platform")
        }
        unit_ids = {u.pk for u in units.values()}
        handlers: dict[int, User] = {}
        for user in with_role("unit_handler").filter(unit__in=unit_ids):
            handlers.setdefault(user.unit_id, user)
        cast = cls(
            platform=platform,
            agents=list(with_role("agent").filter(platform=platform)),
            dispatchers=list(with_role("dispatcher").filter(platform=platform)),
            callbacks=list(with_role("callback").filter(platform=platform)),
            handlers=handlers,
            units=units,
            categories={
                c.name: c
                for c in Category.objects.filter(children__isnull=True).select_related("parent")
            },
            rules=list(dispatching.rules_of(platform).filter(is_active=True, unit__is_active=True)),
            sla_table=sla.rules(),
        )
        cast.names = {None: "命令行"}
        for user in [*cast.agents, *cast.dispatchers, *cast.callbacks, *handlers.values()]:
            cast.names[user.pk] = str(user)[:100]
        cast.unit_names = {u.pk: u.name for u in units.values()}
        return cast

    def sla_rules(self, stage: str, **kind) -> list[sla.Rule]:
        """The SLA rules of a stage that can apply to this kind of order: sla.due chooses
        among them exactly as among the whole table, with less to look through."""
        key = (stage, *kind.values())
        found = self.sla_cache.get(key)
        if found is None:
            found = self.sla_cache[key] = [
                r for r in self.sla_table if r.stage == stage and r.matches(**kind)
            ]
        return found

    def staffed_units(self) -> list[HandlingUnit]:
        """Units with someone to sign for and answer an order."""
        return [u for u in self.units.values() if u.pk in self.handlers]


class Words:
    """``index_text`` of each sentence, computed once. jieba segments a text block by
    block between punctuation marks, so the words of ``a，b`` are those of a and of b."""

    def __init__(self):
        self.cache: dict[str, str] = {}

    def of(self, *sentences: str) -> str:
        found = []
        for sentence in sentences:
            if not sentence:
                continue
            words = self.cache.get(sentence)
            if words is None:
                words = self.cache[sentence] = index_text(sentence)
            if words:
                found.append(words)
        return " ".join(found)


@dataclass
class Text:
    """An order's text, kept as the sentences it is made of (for the cached words)."""

    title: str
    content: list[str]  # sentences; joined they are the content
    place: str

    @property
    def content_text(self) -> str:
        return "".join(self.content)


class Story:
    """One order's life: the verbs' effects on the order row and its branches, one event
    per step, each move checked against the lifecycle table. ``wait`` moves the clock;
    it refuses (and the story ends) when the next step would come after ``now``."""

    def __init__(self, cast: Cast, order: dict, text: Text, now: dt.datetime, *, utility: bool):
        self.cast, self.order, self.text, self.now = cast, order, text, now
        self.public_utility = utility  # 水电气暖类: the stricter sign-for deadline
        self.clock: dt.datetime = order["created_at"]
        self.branches: list[dict] = []
        self.events: list[dict] = []

    # --- time -------------------------------------------------------------------------
    def wait(self, hours: float) -> bool:
        moment = self.clock + dt.timedelta(hours=hours)
        if moment > self.now:
            return False
        self.clock = moment
        return True

    # --- helpers ------------------------------------------------------------------------
    def event(self, action: str, actor: User | None, before: str, *, branch=None, data=None):
        after = self.order["state"]
        if action in ACTIONS and (before, after) not in ACTIONS[action].edges:
            raise AssertionError(f"{action}: {before} → {after} is not in the lifecycle table")
        actor_id = actor.pk if actor is not None else None
        self.events.append(
            {
                "action": action,
                "actor_id": actor_id,
                "actor_name": self.cast.names.get(actor_id) or str(actor)[:100],
                "assignment": branch,
                "unit_id": branch["unit_id"] if branch is not None else None,
                "at": self.clock,
                "from_state": before,
                "to_state": after,
                "data": data or {},
            }
        )

    def kind(self) -> dict:
        order = self.order
        return {
            "order_type": order["order_type"],
            "urgency": order["urgency"],
            "public_utility": self.public_utility,
        }

    def due(self, stage: str, start: dt.datetime, *, utility: bool = True):
        kind = self.kind() if utility else {**self.kind(), "public_utility": False}
        return sla.due(stage, start, table=self.cast.sla_rules(stage, **kind), **kind)

    def lead(self) -> dict | None:
        return next(
            (b for b in self.branches if b["lead"] and b["state"] != BranchState.WITHDRAWN), None
        )

    def active(self, *, lead: bool | None = None) -> list[dict]:
        live = (BranchState.PENDING_SIGN, BranchState.SIGNED, BranchState.RETURN_PENDING)
        return [
            b for b in self.branches if b["state"] in live and (lead is None or b["lead"] == lead)
        ]

    def handler(self, branch: dict) -> User | None:
        return self.cast.handlers.get(branch["unit_id"])

    def unit_name(self, unit_id: int) -> str:
        return self.cast.unit_names[unit_id]

    # --- the verbs (services.do_*) ------------------------------------------------------
    def create(self, agent: User | None, *, direct: bool) -> None:
        self.event("create", agent, "", data={"direct": True} if direct else {})

    def dispatch(self, actor: User | None, unit: HandlingUnit, co_units=(), rule=None) -> None:
        order, before = self.order, self.order["state"]
        for each in (unit, *co_units):
            branch = {
                "unit_id": each.pk,
                "lead": each.pk == unit.pk,
                "state": BranchState.PENDING_SIGN,
                "dispatched_at": self.clock,
                "sign_due": self.due("sign", self.clock),
                "handle_due": self.due("handle", self.clock),
            }
            self.branches.append(branch)
            if branch["lead"]:
                order["handle_due"] = branch["handle_due"]
        order["lead_unit_id"] = unit.pk
        order["dispatched_at"] = order.get("dispatched_at") or self.clock
        order["state"] = State.DISPATCHED
        data = {"unit": unit.name, "co_units": [u.name for u in co_units]}
        if rule is not None and rule.unit_id == unit.pk:
            order["dispatch_rule_id"] = rule.pk
            data["rule"] = rule.name
        self.event("dispatch", actor, before, data=data)

    def sign(self, branch: dict) -> None:
        before = self.order["state"]
        branch["state"], branch["signed_at"] = BranchState.SIGNED, self.clock
        if branch["lead"]:
            self.order["state"] = State.HANDLING
        late = bool(branch["sign_due"] and self.clock > branch["sign_due"])
        self.event("sign", self.handler(branch), before, branch=branch, data={"late": late})

    def return_(self, branch: dict, reason: str) -> None:
        before = self.order["state"]
        branch["state"], branch["return_reason"], branch["returned_at"] = (
            BranchState.RETURN_PENDING,
            reason,
            self.clock,
        )
        if branch["lead"]:
            self.order["state"] = State.RETURN_PENDING
        data = {"reason": reason, "signed": branch.get("signed_at") is not None}
        self.event("return", self.handler(branch), before, branch=branch, data=data)

    def review_return(self, actor: User | None, branch: dict, approved: bool, note="") -> None:
        order, before = self.order, self.order["state"]
        data = {"unit": self.unit_name(branch["unit_id"]), "approved": approved, "note": note}
        if approved:
            branch["state"] = BranchState.WITHDRAWN
            if branch["lead"]:
                for other in self.branches:  # services._withdraw(replied_too=True)
                    if other["state"] != BranchState.WITHDRAWN:
                        other["state"] = BranchState.WITHDRAWN
                order["state"], order["lead_unit_id"], order["handle_due"] = (
                    State.SUBMITTED,
                    None,
                    None,
                )
                order["dispatch_due"] = sla.dispatch_due(self.clock)
        else:
            signed = branch.get("signed_at") is not None
            branch["state"] = BranchState.SIGNED if signed else BranchState.PENDING_SIGN
            if branch["lead"]:
                order["state"] = State.HANDLING if signed else State.DISPATCHED
        self.event("review-return", actor, before, branch=branch, data=data)

    def request_extension(self, branch: dict, days: int, reason: str) -> None:
        branch["extension_days"], branch["extension_reason"] = days, reason
        data = {"days": days, "reason": reason}
        self.event(
            "request-extension", self.handler(branch), self.order["state"], branch=branch, data=data
        )

    def review_extension(self, actor: User | None, branch: dict, approved: bool) -> None:
        days = branch["extension_days"]
        data = {
            "unit": self.unit_name(branch["unit_id"]),
            "days": days,
            "approved": approved,
            "note": "",
        }
        if approved:
            start = branch["handle_due"] or self.clock
            branch["handle_due"] = sla.add(start, days, "working_days")
            if branch["lead"]:
                self.order["handle_due"] = branch["handle_due"]
            data["new_due"] = branch["handle_due"].isoformat()
        branch["extension_days"], branch["extension_reason"] = None, ""
        self.event("review-extension", actor, self.order["state"], branch=branch, data=data)

    def reply(self, branch: dict, content: str) -> None:
        order, before = self.order, self.order["state"]
        branch["state"], branch["reply"], branch["replied_at"] = (
            BranchState.REPLIED,
            content,
            self.clock,
        )
        late = bool(branch["handle_due"] and self.clock > branch["handle_due"])
        if branch["lead"]:
            order["state"], order["replied_at"] = State.REPLIED, self.clock
            order["review_due"] = self.due("review", self.clock, utility=False)
        data = {"content": content, "late": late}
        self.event("reply", self.handler(branch), before, branch=branch, data=data)

    def review_reply(self, actor: User | None, approved: bool, note: str = "") -> None:
        order, lead, before = self.order, self.lead(), self.order["state"]
        branch = None
        if approved:
            order["state"], order["answer"] = State.CALLBACK_PENDING, lead["reply"]
            order["callback_due"] = self.due("callback", self.clock, utility=False)
        else:
            order["state"], lead["state"], branch = State.HANDLING, BranchState.SIGNED, lead
        data = {"approved": approved, "note": note}
        self.event("review-reply", actor, before, branch=branch, data=data)

    def callback(self, actor: User | None, satisfaction: str) -> None:
        order, before = self.order, self.order["state"]
        order["satisfaction"] = satisfaction
        late = bool(order.get("callback_due") and self.clock > order["callback_due"])
        if satisfaction in SATISFIED:
            order["state"], order["completed_at"] = State.COMPLETED, self.clock
        else:
            order["state"] = State.UNSATISFIED
        data = {"satisfaction": satisfaction, "note": "", "late": late}
        self.event("callback", actor, before, data=data)

    def reopen(self, actor: User | None) -> None:
        order, before, names = self.order, self.order["state"], []
        for branch in self.branches:
            if branch["state"] == BranchState.REPLIED:
                branch.update(
                    state=BranchState.PENDING_SIGN,
                    signed_at=None,
                    replied_at=None,
                    dispatched_at=self.clock,
                    sign_due=self.due("sign", self.clock),
                    handle_due=self.due("handle", self.clock),
                )
                names.append(self.unit_name(branch["unit_id"]))
                if branch["lead"]:
                    order["handle_due"] = branch["handle_due"]
        order["state"], order["satisfaction"] = State.DISPATCHED, ""
        order["reopen_count"] += 1
        self.event("reopen", actor, before, data={"units": names, "note": ""})

    def close(self, actor: User | None, reason: str) -> None:
        before = self.order["state"]
        self.order["state"], self.order["completed_at"] = State.COMPLETED, self.clock
        self.event("close", actor, before, data={"reason": reason})

    def urge(self, actor: User | None, note: str) -> None:
        self.order["urge_count"] += 1
        self.event("urge", actor, self.order["state"], data={"note": note})

    def supervise(self, actor: User | None, note: str) -> None:
        self.order["supervise_count"] += 1
        self.event("supervise", actor, self.order["state"], data={"note": note})

    def cancel(self, actor: User | None, reason: str) -> None:
        before = self.order["state"]
        for branch in self.active():
            branch["state"] = BranchState.WITHDRAWN
        self.order["state"], self.order["closed_at"] = State.CANCELLED, self.clock
        self.event("cancel", actor, before, data={"reason": reason})

    def auto_archive(self) -> None:
        self.order["state"], self.order["closed_at"] = State.ARCHIVED, self.clock
        self.events.append(
            {
                "action": "auto_archive",
                "actor_id": None,
                "actor_name": "后台任务",
                "assignment": None,
                "unit_id": None,
                "at": self.clock,
                "from_state": State.COMPLETED,
                "to_state": State.ARCHIVED,
                "data": {},
            }
        )


@dataclass
class LoadResult:
    orders: int = 0
    branches: int = 0
    events: int = 0
    seconds: float = 0.0
    states: dict = field(default_factory=dict)


class Loader:
    """Makes the stories of ``count`` orders and writes them, ``batch`` orders at a time."""

    def __init__(
        self,
        cast: Cast,
        *,
        days: int = 365,
        seed: int = 12345,
        now: dt.datetime | None = None,
        batch: int = 10000,
        progress: Callable[[str], None] | None = None,
    ):
        self.cast, self.days, self.batch = cast, days, batch
        self.rng = random.Random(seed)
        self.now = now or timezone.now()
        self.progress = progress or (lambda message: None)
        self.words = Words()
        self.writer = Writer()
        self.result = LoadResult()
        self.pending: list[Story] = []
        self.staffed = cast.staffed_units()
        self.keywords = sorted({w for r in cast.rules for w in dispatching.keywords_of(r.keywords)})
        self.rules_seen: dict = {}
        # On PostgreSQL a writer thread (its own connection and server process) COPYs a
        # batch while this thread makes the next. Not inside an outer transaction (a
        # test's), whose rows another connection cannot see.
        background = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.executor = ThreadPoolExecutor(max_workers=WRITERS) if background else None
        self.in_flight: deque[tuple[Future, list[Story]]] = deque()

    # --- the calendar of calls ------------------------------------------------------------
    def per_day(self, count: int) -> list[tuple[dt.date, int]]:
        """``count`` orders over the last ``days`` days: more recently (the hotline grows),
        fewer at weekends; exact total by largest remainder."""
        today = timezone.localdate(self.now)
        days = [today - dt.timedelta(days=i) for i in range(self.days - 1, -1, -1)]
        weights = []
        for index, day in enumerate(days):
            weight = 0.7 + 0.6 * index / max(1, len(days) - 1)
            weight *= 0.75 if day.weekday() >= 5 else 1.0
            if day == today:  # only the hours gone by
                local = timezone.localtime(self.now)
                weight *= sum(HOURLY[: local.hour]) / sum(HOURLY) if local.hour else 0
            weights.append(weight)
        total = sum(weights) or 1.0
        exact = [count * w / total for w in weights]
        counts = [int(x) for x in exact]
        short = count - sum(counts)
        by_remainder = sorted(range(len(days)), key=lambda i: exact[i] - counts[i], reverse=True)
        for i in by_remainder[:short]:
            counts[i] += 1
        return [(day, n) for day, n in zip(days, counts, strict=True) if n]

    def received_times(self, day: dt.date, n: int) -> list[dt.datetime]:
        hours = self.rng.choices(range(24), weights=HOURLY, k=n)
        moments = []
        for hour in hours:
            moment = dt.datetime.combine(day, dt.time(hour), workdays.LOCAL_TZ)
            moment += dt.timedelta(seconds=self.rng.uniform(0, 3600))
            moments.append(min(moment, self.now - dt.timedelta(seconds=self.rng.uniform(1, 600))))
        return sorted(moments)

    # --- the run -----------------------------------------------------------------------------
    def run(self, count: int) -> LoadResult:
        """Each batch commits on its own: an interrupted load leaves whole orders."""
        started = time.monotonic()
        try:
            for day, n in self.per_day(count):
                numbers = numbering.next_numbers(self.cast.platform.code, NUMBER_KIND, n, day=day)
                for number, received in zip(numbers, self.received_times(day, n), strict=True):
                    self.pending.append(self.story(number, received))
                    if len(self.pending) >= self.batch:
                        self.flush(count, started)
            self.flush(count, started)
            while self.in_flight:
                self.wait_for_writer(count, started)
        finally:
            if self.executor is not None:
                for _ in range(WRITERS):  # each writer thread's own connection
                    self.executor.submit(connections.close_all).result()
                self.executor.shutdown()
        self.writer.analyse()
        self.result.seconds = time.monotonic() - started
        return self.result

    def flush(self, count: int, started: float) -> None:
        if not self.pending:
            return
        stories, self.pending = self.pending, []
        if self.executor is None:
            with transaction.atomic():
                self.writer.number(stories)
                self.writer.write_stories(stories)
            self.written(stories, count, started)
            return
        self.writer.number(stories)
        self.in_flight.append((self.executor.submit(self.write, stories), stories))
        while len(self.in_flight) > WRITERS:
            self.wait_for_writer(count, started)

    def write(self, stories: list[Story]) -> None:
        with transaction.atomic():
            self.writer.write_stories(stories)

    def wait_for_writer(self, count: int, started: float) -> None:
        future, stories = self.in_flight.popleft()
        future.result()  # a failed batch stops the load here
        self.written(stories, count, started)

    def written(self, stories: list[Story], count: int, started: float) -> None:
        result = self.result
        result.orders += len(stories)
        result.branches += sum(len(s.branches) for s in stories)
        result.events += sum(len(s.events) for s in stories)
        for story in stories:
            state = story.order["state"]
            result.states[state] = result.states.get(state, 0) + 1
        elapsed = time.monotonic() - started
        self.progress(
            f"已载入 {result.orders:,} / {count:,} 件工单（流转记录 {result.events:,} 条），"
            f"{elapsed:.0f} 秒，{result.orders / max(elapsed, 0.001):,.0f} 件/秒"
        )

    # --- one order -------------------------------------------------------------------------
    def text(self, scenario, area: str) -> Text:
        rng = self.rng
        _, _, title, content, _, _ = scenario
        town = rng.choice(TOWNS.get(area) or [""])
        place = f"{town}{rng.choice(STREETS)}"
        if rng.random() < 0.5:
            title = f"{town}{title}"[:100]
        sentences = [f"{rng.choice(WHEN)}来电，", content]
        where = f"事发地点在{area}{place}"
        if rng.random() < 0.4:
            where += f"，{rng.choice(ESTATES)}附近"
        sentences.append(where + "。")
        if rng.random() < 0.6:
            sentences.append(rng.choice(ASKS) + "。")
        return Text(title=title, content=sentences, place=place)

    def rule_for(self, kind: str, category, text: Text, area: str):
        """dispatching.match, remembered: a rule reads the text only through whether each
        of its keywords occurs in it, so (type, category, area, keywords present) decides."""
        whole = f"{text.title}\n{text.content_text}"
        hits = tuple(word for word in self.keywords if word in whole)
        key = (kind, category.pk if category else None, area, hits)
        if key not in self.rules_seen:
            self.rules_seen[key] = dispatching.match(
                self.cast.rules,
                order_type=kind,
                category=category,
                title=text.title,
                content=text.content_text,
                area=area,
            )
        return self.rules_seen[key]

    def scenario(self, received: dt.datetime):
        """The matter of the order received at ``received`` (a subclass may choose it by
        season, as the demo year does)."""
        return self.rng.choice(ALL_SCENARIOS)

    def story(self, number: str, received: dt.datetime) -> Story:
        rng, cast = self.rng, self.cast
        scenario = self.scenario(received)
        kind, leaf, _, _, unit_code, answer = scenario
        area = rng.choice(AREAS)
        text = self.text(scenario, area)
        category = cast.categories.get(leaf)
        agent = rng.choice(cast.agents) if cast.agents else None
        direct = bool(answer) and rng.random() < 0.6
        order = {
            "number": number,
            "platform_id": cast.platform.pk,
            "order_type": kind,
            "category_id": category.pk if category else None,
            "urgency": "normal" if direct else rng.choice(URGENCIES),
            "title": text.title,
            "content": text.content_text,
            "caller_name": rng.choice(SURNAMES) + rng.choice(["先生", "女士"]),
            "caller_phone": f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}",
            "confidential": rng.random() < 0.01,
            "area": area,
            "address": f"{area}{text.place}{rng.randint(1, 300)}号",
            "channel": rng.choice(CHANNELS),
            "session_ref": "",
            "state": State.COMPLETED if direct else State.SUBMITTED,
            "direct": direct,
            "answer": answer if direct else "",
            "satisfaction": "",
            "created_by_id": agent.pk if agent else None,
            "created_at": received,
            "dispatched_at": None,
            "replied_at": None,
            "completed_at": received if direct else None,
            "closed_at": None,
            "dispatch_due": None if direct else sla.dispatch_due(received),
            "handle_due": None,
            "review_due": None,
            "callback_due": None,
            "dispatch_rule_id": None,
            "merged_into_id": None,
            "urge_count": 0,
            "supervise_count": 0,
            "reopen_count": 0,
            "escalated": False,
        }
        utility = bool(category and category.public_utility)
        story = Story(cast, order, text, self.now, utility=utility)
        story.create(agent, direct=direct)
        if direct:
            self.archive_later(story)
        else:
            rule = self.rule_for(kind, category, text, area)
            fallback = cast.units.get(unit_code)
            self.live(story, rule, fallback, area)
        order["search_text"] = self.words.of(
            order["title"],
            *text.content,
            order["answer"],
            *(b["reply"] for b in story.branches if b.get("reply")),
        )
        return story

    def archive_later(self, story: Story) -> None:
        """The worker archives a completed order 24 h on, at its next hourly run."""
        if story.wait(ARCHIVE_AFTER.total_seconds() / 3600 + self.rng.uniform(0, 1)):
            story.auto_archive()

    def live(self, story: Story, rule, fallback, area: str) -> None:
        """From intake to archive; returns wherever ``now`` stops the story."""
        rng, cast = self.rng, self.cast
        dispatcher = rng.choice(cast.dispatchers) if cast.dispatchers else None
        callback = rng.choice(cast.callbacks) if cast.callbacks else None
        unit = rule.unit if rule is not None else fallback
        if rule is not None and rule.direct:  # dispatched at intake by the rule (系统)
            story.dispatch(None, rule.unit, rule=rule)
            story.events[-1]["actor_name"] = "系统"
        else:
            if unit is None or not story.wait(rng.uniform(0.1, 0.9)):
                return
            if rng.random() < 0.005:
                story.cancel(dispatcher, "重复来电，已在原工单中办理。")
                return
            co_units = []
            district = cast.units.get(AREA_UNITS.get(area, ""))
            if rng.random() < 0.03 and district is not None and district.pk != unit.pk:
                co_units = [district]
            story.dispatch(dispatcher, unit, co_units, rule=rule)
        # 退单: the lead sends it back; mostly accepted, then dispatched elsewhere.
        lead = story.lead()
        if rng.random() < 0.025 and story.handler(lead) is not None:
            signed = rng.random() < 0.5
            if signed and not self.sign_all(story):
                return
            if not story.wait(rng.uniform(1, 8)):
                return
            story.return_(lead, rng.choice(RETURN_REASONS))
            if not story.wait(rng.uniform(0.5, 6)):
                return
            if rng.random() < 0.7:
                story.review_return(dispatcher, lead, True)
                candidates = [fallback, cast.units.get(AREA_UNITS.get(area, "")), *self.staffed]
                other = next((u for u in candidates if u and u.pk != lead["unit_id"]), None)
                if other is None or not story.wait(rng.uniform(0.2, 2)):
                    return
                story.dispatch(dispatcher, other)
            else:
                story.review_return(dispatcher, lead, False, "退单理由不充分，请继续办理。")
        self.handle(story, dispatcher, callback, first=True)

    def sign_all(self, story: Story) -> bool:
        """Every pending branch signs (the lead first), each a little later."""
        for branch in sorted(story.active(), key=lambda b: not b["lead"]):
            if branch["state"] != BranchState.PENDING_SIGN or story.handler(branch) is None:
                continue
            quick = story.order["urgency"] == "critical" or story.order["order_type"] == "rescue"
            if not story.wait(self.rng.uniform(0.03, 0.2) if quick else self.rng.uniform(0.2, 6)):
                return False
            story.sign(branch)
        return story.lead() is not None and story.lead()["state"] == BranchState.SIGNED

    def handle(self, story: Story, dispatcher, callback, *, first: bool) -> None:
        rng, order = self.rng, story.order
        if not self.sign_all(story):
            return
        lead = story.lead()
        # 延期: asked for now and then, mostly granted.
        if first and rng.random() < 0.03:
            if not story.wait(rng.uniform(4, 48)):
                return
            story.request_extension(
                lead, rng.choice([3, 5, 10]), "需协调多个部门现场核查，申请延期办理。"
            )
            if not story.wait(rng.uniform(1, 20)):
                return
            story.review_extension(dispatcher, lead, rng.random() < 0.8)
        # How long the handling takes: usually days; now and then it drags (催办, 督办).
        if order["urgency"] != "normal" or order["order_type"] == "rescue":
            hours = rng.uniform(1, 20)
        elif rng.random() < 0.015:
            hours = rng.uniform(15 * 24, 90 * 24)
        else:
            hours = rng.uniform(20, 96)
        if hours > 10 * 24:
            for _ in range(rng.randint(1, 3)):
                if not story.wait(hours / 4):
                    return
                story.urge(dispatcher, "来电人再次来电催促办理进度。")
            if rng.random() < 0.2:
                story.supervise(dispatcher, "超期未办结，请加快办理。")
            hours /= 4
        co_units = story.active(lead=False)
        if any(b["state"] != BranchState.SIGNED for b in co_units):
            return  # a co-unit nobody signs for: the lead cannot answer before it
        for branch in co_units:  # the co-units answer first
            if not story.wait(hours * rng.uniform(0.5, 0.9)):
                return
            story.reply(branch, "已配合主办单位完成现场核查，情况已反馈。")
        if not story.wait(hours * 0.3 if story.active(lead=False) else hours):
            return
        reply = rng.choice(REPLIES).format(title=story.text.title, place=story.text.place)
        story.reply(lead, reply)
        if not story.wait(rng.uniform(1, 20)):
            return
        if rng.random() < 0.05:  # 办结审核 not passed: handled again
            story.review_reply(dispatcher, False, "答复内容不完整，请补充处理结果。")
            if not story.wait(rng.uniform(4, 48)):
                return
            story.reply(lead, reply + "已补充说明处理结果。")
            if not story.wait(rng.uniform(1, 20)):
                return
        story.review_reply(dispatcher, True)
        if not story.wait(rng.uniform(2, 40)):
            return
        satisfaction = (
            rng.choice(SATISFACTION_WEIGHTS) if first else rng.choice(["满意", "基本满意"])
        )
        story.callback(callback, satisfaction)
        if order["state"] == State.UNSATISFIED:
            if not story.wait(rng.uniform(4, 72)):
                return
            if first and rng.random() < 0.5:
                story.reopen(dispatcher)
                self.handle(story, dispatcher, callback, first=False)
                return
            story.close(dispatcher, "经再次沟通解释，来电人表示理解，予以结案。")
        if order["state"] == State.COMPLETED:
            self.archive_later(story)


class Writer:
    """Rows with explicit ids: COPY on PostgreSQL, executemany on SQLite. Columns are the
    model's concrete fields; a field a story does not set gets its default.

    On PostgreSQL the loader's role, when it may (a superuser, as pg_restore
    --disable-triggers does), skips the per-row foreign-key triggers for its own
    transaction: they would check a few million references to rows the loader has just
    read or written itself, and take a third of the load's time."""

    MODELS = (WorkOrder, Assignment, Event)

    def __init__(self):
        self.postgresql = connection.vendor == "postgresql"
        self.tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in self.MODELS)
        self.trusted = False
        if self.postgresql:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('is_superuser') = 'on'")
                self.trusted = cursor.fetchone()[0]

    def number(self, stories: list[Story]) -> None:
        """Give the rows their ids and references. On PostgreSQL the ids are a block of
        each table's sequence, taken in a short transaction while live inserts wait (SHARE
        ROW EXCLUSIVE: readers and row locks go on), so no other session's nextval falls
        inside the block; the rows are written later, by a writer thread. On SQLite this
        runs in the writing transaction, which holds the write lock (IMMEDIATE)."""
        orders = [s.order for s in stories]
        branches = [b for s in stories for b in s.branches]
        events = [e for s in stories for e in s.events]
        with transaction.atomic():
            if self.postgresql:
                with connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {self.tables} IN SHARE ROW EXCLUSIVE MODE")
            for rows, model in ((orders, WorkOrder), (branches, Assignment), (events, Event)):
                for row, pk in zip(rows, self.ids(model, len(rows)), strict=True):
                    row["id"] = pk
        for story in stories:
            for branch in story.branches:
                branch["order_id"] = story.order["id"]
            for event in story.events:
                event["order_id"] = story.order["id"]
                branch = event.pop("assignment")
                event["assignment_id"] = branch["id"] if branch is not None else None

    def ids(self, model, count: int) -> list[int]:
        if not count:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.postgresql:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                    [table, table, count],
                )
                last = cursor.fetchone()[0]
                return list(range(last - count + 1, last + 1))
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            first = cursor.fetchone()[0] + 1
        return list(range(first, first + count))

    def write_stories(self, stories: list[Story]) -> None:
        """Insert the numbered rows (in the caller's transaction)."""
        if self.trusted:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        self.write(WorkOrder, [s.order for s in stories])
        self.write(Assignment, [b for s in stories for b in s.branches])
        self.write(Event, [e for s in stories for e in s.events])
        if self.trusted:  # the rest of an enclosing transaction checks as usual
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")

    def write(self, model, rows: list[dict]) -> None:
        if not rows:
            return
        fields = model._meta.concrete_fields
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        defaults = [(f.attname, f.get_default()) for f in fields]
        json_fields = {i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"}
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            if self.postgresql:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        values = [row.get(name, default) for name, default in defaults]
                        for i in json_fields:
                            values[i] = json.dumps(values[i], ensure_ascii=False)
                        copy.write_row(values)
                return
            prepared = [
                [
                    field.get_db_prep_save(row.get(name, default), connection)
                    for field, (name, default) in zip(fields, defaults, strict=True)
                ]
                for row in rows
            ]
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", prepared)

    def analyse(self) -> None:
        """Fresh planner statistics after a load (PostgreSQL's autovacuum comes later)."""
        with connection.cursor() as cursor:
            for model in self.MODELS:
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"ANALYZE {table}")


def load_orders(
    count: int,
    *,
    platform: Platform,
    days: int = 365,
    seed: int = 12345,
    now: dt.datetime | None = None,
    batch: int = 10000,
    progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """Load ``count`` historical orders of ``platform`` received over the last ``days``."""
    if count < 1:
        raise ValueError("count must be positive")
    cast = Cast.of(platform)
    if not cast.staffed_units():
        raise ValueError(f"平台 {platform.code} 没有配有办理人员的承办单位")
    loader = Loader(cast, days=days, seed=seed, now=now, batch=batch, progress=progress)
    return loader.run(count)
