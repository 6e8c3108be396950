"""The load simulator (负载模拟): ``hotline simulate --channel webchat --contacts N --agents M``.

It drives real sessions through the real stack — HTTP and WebSockets against a running
``hotline run`` (started here, or named with ``--url``) — and then checks the database:

* **M simulated agents** (``sim_agent_001`` …, role 话务员, auto accept, a text capacity)
  sign in over HTTP at ``/login/`` (CSRF included) and keep their workbench socket
  ``/ws/desk/`` open. They act through the workbench API as the page does: set their
  state, open each assigned session (screen pop), reply, end, and close with a 会话小结.
* **N citizens** arrive at random (a Poisson process over ``--duration`` seconds, or at
  ``--rate`` per second) on the web chat socket ``/ws/chat/<platform>/<entry>/``, write a
  first message, wait for an agent — or give up after ``--abandon-after`` seconds —,
  exchange a few messages, leave or are ended by the agent, and rate the service.
* **Measured**: event-to-screen latency (a citizen sends → the agent's desk socket shows
  the message; an agent posts → the citizen's socket shows it), time to assignment (first
  message → the citizen's page says an agent is there), and routing decisions.
* **Verified from the database** at the end: every offered contact is accounted for
  (assigned, abandoned, refused, timed out) — ``lost`` counts the others; no session had
  two agents at once, no voice agent two calls, no agent more chats than its capacity.

Think times are those of a busy hour (a citizen types for 8–20 s, an agent answers in
4–12 s …); ``--speedup K`` divides them, so that with ``--duration 3600/K`` an hour's load
runs in 1/K of the time at K times the request rate. Simulated contacts wait in their own
queue (``sim``, skill 模拟压测) that only the simulated agents serve.

The simulator reads and writes the same database as the server (same ``DATABASE_URL`` and
``SECRET_KEY``/``HOTLINE_VAR_DIR``: it signs the visitors' chat tokens as the chat page does).
"""

import asyncio
import concurrent.futures
import contextlib
import http.client
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

from hotline.core import audit
from hotline.core import services as core_services
from hotline.core.models import Platform, Skill, User, UserSkill

from . import services
from .connectors import webchat
from .lifecycle import SessionState
from .models import (
    SATISFACTION,
    AgentPresence,
    ChannelEntry,
    ContactFact,
    FactKind,
    Message,
    Queue,
    Session,
    SessionLeg,
)

AGENT_PREFIX = "sim_agent_"
SIM_SKILL = ("sim", "模拟压测")
SIM_QUEUE = ("sim", "模拟压测队列")
SIM_ENTRY = ("sim-web", "模拟网页咨询")
PASSWORD_FILE = "simulate-agents.secret"  # under HOTLINE_VAR_DIR: the simulated agents' password

# A busy hour's pace, in seconds of real time (divided by --speedup).
CITIZEN_THINK = (8.0, 20.0)  # reading the answer and typing the next message
AGENT_THINK = (4.0, 12.0)  # reading and answering
WRAP_UP_THINK = (5.0, 15.0)  # writing the 会话小结
RATE_THINK = (2.0, 6.0)  # choosing a rating
SATISFACTION_WEIGHTS = (45, 35, 12, 6, 2)  # 非常满意 … 非常不满意

HTTP_TIMEOUT = 60
IDLE_REUSE = 2.0  # a keep-alive connection idle longer may have been closed by the server
REFUSAL_REASONS = ("blacklist", "queue_full", "out_of_hours", "left_request")

TOPICS = [
    ("请问住房公积金怎么提取？", "可以在公积金中心网站或App办理提取，需要身份证和银行卡。"),
    ("我们小区晚上施工噪音很大，能管管吗？", "请您提供小区名称和具体楼栋，我们登记后转相关部门。"),
    ("社保卡丢了怎么补办？", "可以到任一社保服务网点或通过“海南一卡通”小程序补办。"),
    ("孩子上学的积分入学怎么申请？", "每年5月在教育局平台申请，具体材料以当年通知为准。"),
    ("路灯坏了好几天了没人修。", "请告诉我们路段和附近的标志物，我们转市政部门处理。"),
    ("出租车拒载，我要投诉。", "请提供车牌号、时间和上车地点，我们为您登记投诉。"),
    ("营业执照年报在哪里填？", "在国家企业信用信息公示系统填报，截止时间为6月30日。"),
    ("停水了，什么时候恢复？", "请提供您的地址，我们帮您查询停水通知和恢复时间。"),
]
FOLLOW_UPS = [
    "好的，那需要带什么材料？",
    "地址是河西区新风路88号。",
    "大概要多久能处理好？",
    "可以网上办吗？",
    "我已经打过一次电话了，还没解决。",
    "明白了。",
]
AGENT_LINES = [
    "好的，已为您记录。",
    "请您稍等，我帮您查询一下。",
    "一般3个工作日内会有答复。",
    "可以在网上办理，也可以到窗口办理。",
    "我们会尽快转交相关部门处理。",
]
TAG = re.compile(r"［([ac]\d+-\d+)］")


class SimulationError(Exception):
    """The simulation cannot start or run (said in Chinese)."""


# --- what to run --------------------------------------------------------------------------------


@dataclass
class Plan:
    """What to simulate (the command's options)."""

    contacts: int = 200
    agents: int = 10
    capacity: int = 5  # text chats per agent at once
    duration: float | None = None  # arrivals spread over these seconds (0: all at once)
    rate: float | None = None  # or: arrivals per second
    abandon_after: float | None = None  # a waiting citizen gives up after ~ this many seconds
    speedup: float = 1.0
    rounds: tuple[int, int] = (2, 4)  # messages a citizen writes
    citizen_ends: float = 0.3  # share of conversations the citizen ends (the agent the rest)
    platform: str | None = None
    entry: str | None = None  # an existing web-chat entry code (default: the simulator's own)
    urls: list[str] = field(default_factory=list)  # running servers (default: start one)
    in_process: bool = False  # start uvicorn in a thread instead of `hotline run`
    timeout: float | None = None  # seconds after the last arrival before giving up
    reply_wait: float = 120.0  # how long a citizen waits for an expected push before leaving
    seed: int = 12345

    def check(self) -> None:
        if not 1 <= self.contacts <= 1_000_000:
            raise SimulationError("来电人数须在 1–1000000 之间")
        if not 1 <= self.agents <= 999:
            raise SimulationError("坐席数须在 1–999 之间")
        if not 1 <= self.capacity <= 20:
            raise SimulationError("文字会话并发上限须在 1–20 之间")
        if self.speedup <= 0:
            raise SimulationError("加速倍数须大于 0")
        if self.rate is not None and self.rate <= 0:
            raise SimulationError("到达速率须大于 0")
        if self.duration is not None and self.duration < 0:
            raise SimulationError("到达时长不能为负")
        if self.abandon_after is not None and self.abandon_after <= 0:
            raise SimulationError("放弃等待时长须大于 0")
        if not 1 <= self.rounds[0] <= self.rounds[1] <= 50:
            raise SimulationError("每位来电人的消息数须在 1–50 之间")
        if not 0 <= self.citizen_ends <= 1:
            raise SimulationError("来电人结束的比例须在 0–1 之间")

    @property
    def arrival_span(self) -> float:
        """Seconds over which the citizens arrive (wall clock)."""
        if self.rate is not None:
            return self.contacts / self.rate
        if self.duration is not None:
            return self.duration
        return 3600 / self.speedup  # an hour's load, compressed by the speedup

    def think(self, rng: random.Random, span: tuple[float, float]) -> float:
        return rng.uniform(*span) / self.speedup


@dataclass
class Setup:
    platform: Platform
    queue: Queue
    entry: ChannelEntry
    agents: list[User]
    password: str
    cleaned: int = 0
    first_fact: int = 0  # facts after this one are the run's


@dataclass
class Contact:
    """One simulated citizen: the plan drawn at the start, and what happened (client side)."""

    index: int
    visitor: str
    token: str
    base: str
    arrive_at: float  # seconds after the start
    rounds: int
    citizen_ends: bool
    patience: float | None
    satisfaction: str
    topic: int
    sent_first: bool = False
    listening: bool = False  # the citizen's page is open: the agent's replies should show
    outcome: str = "not_arrived"


# --- the database side: agents, queue, entry; the verdict ----------------------------------------


def prepare(plan: Plan) -> Setup:
    """The simulator's queue, web-chat entry and agents (made once, reused after); what an
    interrupted earlier run left open is ended, so that every agent starts free."""
    with audit.origin(channel="cli"):
        platform = _platform(plan.platform)
        skill = Skill.objects.filter(platform=platform, code=SIM_SKILL[0]).first()
        if skill is None:
            skill = core_services.skill_create(
                actor=None, platform=platform, code=SIM_SKILL[0], name=SIM_SKILL[1]
            )
        if plan.entry:
            entry = (
                ChannelEntry.objects.select_related("queue")
                .filter(platform=platform, code=plan.entry, channel="webchat", is_active=True)
                .first()
            )
            if entry is None:
                raise SimulationError(f"平台 {platform.code} 没有启用的网页在线接入“{plan.entry}”")
            queue = entry.queue
        else:
            queue = Queue.objects.filter(platform=platform, code=SIM_QUEUE[0]).first()
            if queue is None:
                queue = services.queue_create(
                    actor=None, platform=platform, code=SIM_QUEUE[0], name=SIM_QUEUE[1], skill=skill
                )
            entry = ChannelEntry.objects.filter(platform=platform, code=SIM_ENTRY[0]).first()
            if entry is None:
                entry = services.channel_entry_create(
                    actor=None,
                    platform=platform,
                    channel="webchat",
                    code=SIM_ENTRY[0],
                    name=SIM_ENTRY[1],
                    queue=queue,
                )
        agents, password = _agents(platform, plan.agents)
        skills = {skill} | ({queue.skill} if queue.skill_id else set())
        for user in agents:
            held = dict(UserSkill.objects.filter(user=user).values_list("skill_id", "level"))
            for needed in skills:
                if held.get(needed.pk, 0) < 3:
                    core_services.user_skill_set(actor=None, user=user, skill=needed, level=3)
        # every simulated agent, also those of an earlier, larger run
        everyone = list(User.objects.filter(username__startswith=AGENT_PREFIX))
        cleaned = _clean_up(everyone, queue if not plan.entry else None)
    return Setup(platform, queue, entry, agents, password, cleaned)


def _platform(code: str | None) -> Platform:
    if code:
        platform = Platform.objects.filter(code=code.upper()).first()
        if platform is None:
            raise SimulationError(f"平台代码 {code} 不存在")
        return platform
    with_entries = list(
        Platform.objects.filter(
            pk__in=ChannelEntry.objects.filter(channel="webchat").values("platform")
        )
    )
    if len(with_entries) == 1:
        return with_entries[0]
    roots = list(Platform.objects.filter(parent__isnull=True))
    if len(roots) == 1 and not with_entries:
        return roots[0]
    raise SimulationError("请用 --platform 指定平台代码（如 SY）")


def _agents(platform: Platform, count: int) -> tuple[list[User], str]:
    """``sim_agent_001`` … on ``platform``, all with the password kept in the var dir."""
    path = settings.VAR_DIR / PASSWORD_FILE
    if path.exists():
        password = path.read_text(encoding="utf-8").strip()
    else:
        password = core_services.generate_password(16)
        path.write_text(password, encoding="utf-8")
        path.chmod(0o600)
    names = [f"{AGENT_PREFIX}{i:03d}" for i in range(1, count + 1)]
    existing = {u.username: u for u in User.objects.filter(username__in=names)}
    missing = [n for n in names if n not in existing]
    if missing:
        made = core_services.user_create_many(
            actor=None,
            accounts=[
                {
                    "username": name,
                    "display_name": f"模拟坐席{name[-3:]}",
                    "platform": platform,
                    "employee_no": f"S{name[-3:]}",
                }
                for name in missing
            ],
            password=password,
            must_change_password=False,
        )
        existing.update({u.username: u for u in made})
    users = [existing[n] for n in names]
    checked: dict[str, bool] = {}  # one hash check per stored hash (a batch shares one)
    for user in users:
        if user.platform_id != platform.pk:
            core_services.user_update(actor=None, user=user, platform=platform)
        if not user.is_active:
            core_services.user_set_active(actor=None, user=user, active=True)
        if user.password not in checked:
            checked[user.password] = user.check_password(password)
        if not checked[user.password] or user.must_change_password or user.locked_until:
            interim = core_services.generate_password(16)
            core_services.user_reset_password(actor=None, user=user, password=interim)
            user.refresh_from_db()
            core_services.password_change(user=user, old_password=interim, new_password=password)
        if not user.role_assignments.filter(role="agent").exists():
            core_services.role_assign(actor=None, user=user, role="agent")
        user.forget_cached_rights()
    return users, password


def _clean_up(agents: list[User], own_queue: Queue | None) -> int:
    """End what an interrupted run left: contacts still waiting in the simulator's own
    queue, the agents' open sessions; sign the agents out (示忙 first, so that nothing
    new is routed to them meanwhile)."""
    done = 0
    by_pk = {u.pk: u for u in agents}
    signed_in = AgentPresence.objects.filter(agent_id__in=list(by_pk)).exclude(
        presence="signed_out"
    )
    for presence in signed_in:
        if presence.presence == "ready":
            services.agent_not_ready(actor=by_pk[presence.agent_id], reason="busy")
    if own_queue is not None:
        for session in Session.objects.filter(
            queue=own_queue, state__in=[SessionState.NEW, SessionState.QUEUED]
        ):
            services.contact_abandon(session=session)
            done += 1
    open_states = [SessionState.OFFERED, SessionState.ACTIVE, SessionState.WRAP_UP]
    for session in Session.objects.filter(agent_id__in=list(by_pk), state__in=open_states):
        user = by_pk[session.agent_id]
        if session.state == SessionState.OFFERED:
            services.contact_abandon(session=session)
        else:
            if session.state == SessionState.ACTIVE:
                session = services.session_end(actor=user, session=session)
            services.session_close(actor=user, session=session, summary="模拟运行中断后的清理")
        done += 1
    for presence in signed_in.all():
        services.agent_sign_out(actor=by_pk[presence.agent_id])
    return done


def verify(setup: Setup, contacts: list["Contact"], plan: Plan) -> dict:
    """The database's account of the run's contacts."""
    visitors = [c.visitor for c in contacts if c.sent_first]
    sessions = []
    for start in range(0, len(visitors), 500):
        sessions += list(
            Session.objects.filter(
                platform=setup.platform,
                channel="webchat",
                address__in=visitors[start : start + 500],
            )
        )
    ids = [s.pk for s in sessions]
    legs = Counter()
    messages = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        legs.update(
            SessionLeg.objects.filter(session_id__in=chunk).values_list("session", flat=True)
        )
        messages += (
            Message.objects.filter(session_id__in=chunk).exclude(kind=Message.Kind.EVENT).count()
        )
    assigned = [s for s in sessions if legs[s.pk]]
    unassigned = [s for s in sessions if not legs[s.pk]]
    abandoned = sum(s.state == SessionState.ABANDONED for s in unassigned)
    refused = sum(
        s.state == SessionState.CLOSED and s.end_reason in REFUSAL_REASONS for s in unassigned
    )
    timed_out = sum(s.state == SessionState.TIMED_OUT for s in unassigned)
    offered = len(visitors)
    # a first message that made no session at all is lost too (counted by the difference)
    lost = offered - len(assigned) - abandoned - refused - timed_out
    held = _holdings(setup, set(ids), plan)
    return {
        "offered": offered,
        "assigned": len(assigned),
        "abandoned": abandoned,
        "refused": refused,
        "timed_out": timed_out,
        "lost": lost,
        "double_assigned": held["double_assigned"],
        "over_capacity": held["over_capacity"],
        "reassigned": sum(n > 1 for n in legs.values()),
        "still_waiting": sum(
            s.state in (SessionState.NEW, SessionState.QUEUED) for s in unassigned
        ),
        "completed": sum(s.state == SessionState.CLOSED for s in assigned),
        "unfinished": sum(s.state != SessionState.CLOSED for s in assigned),
        "rated": sum(bool(s.satisfaction) for s in sessions),
        "messages": messages,
        "routing_decisions": held["routing_decisions"],
    }


# Facts that give a session to an agent, and those that take it back (capacity is freed
# at the end of a session: wrap-up holds no place).
TAKEN = {FactKind.ENDED, FactKind.ABANDONED, FactKind.NO_ANSWER}


def _holdings(setup: Setup, session_ids: set, plan: Plan) -> dict:
    """Replays the append-only fact log of the run in write order (id order: every fact
    that moves an agent's load is written under that agent's row lock, so for one agent
    id order is the order things happened — unlike the ``now`` stamps, taken before a
    service waits for its locks). Counts sessions held by two agents at once, agents
    holding more chats than their capacity, and voice agents with two calls or a call
    and a chat at once (both counted in ``double_assigned``)."""
    agent_ids = {u.pk for u in setup.agents}
    capacity = dict(
        AgentPresence.objects.filter(agent_id__in=agent_ids).values_list(
            "agent_id", "text_capacity"
        )
    )
    holders = defaultdict(set)  # session → agents holding it
    load = defaultdict(lambda: [0, 0])  # agent → [text, voice]
    voice_of = {}
    double_sessions, over, doubled_voice = set(), set(), set()
    decisions = 0
    facts = ContactFact.objects.filter(pk__gt=setup.first_fact).order_by("pk")
    for fact in facts.iterator(chunk_size=2000):
        mine = fact.session_id in session_ids
        if fact.agent_id not in agent_ids and not mine:
            continue
        voice_of[fact.session_id] = fact.channel == "voice"
        moves = []
        if fact.kind == FactKind.ASSIGNED:
            decisions += mine
            moves.append((fact.agent_id, +1))
        elif fact.kind in TAKEN and fact.agent_id:
            moves.append((fact.agent_id, -1))
        elif fact.kind == FactKind.TRANSFERRED:
            moves.append((fact.agent_id, -1))
            if fact.detail.get("to_agent"):
                moves.append((fact.detail["to_agent"], +1))
        for agent, step in moves:
            if step > 0:
                holders[fact.session_id].add(agent)
            else:
                holders[fact.session_id].discard(agent)
            if mine and len(holders[fact.session_id]) > 1:
                double_sessions.add(fact.session_id)
            if agent in agent_ids:
                counts = load[agent]
                counts[1 if voice_of[fact.session_id] else 0] += step
                text, voice = counts
                if text > capacity.get(agent, plan.capacity):
                    over.add(agent)
                if voice > 1 or (voice and text):
                    doubled_voice.add(agent)
    return {
        "double_assigned": len(double_sessions) + len(doubled_voice),
        "over_capacity": len(over),
        "routing_decisions": decisions,
    }


# --- HTTP: one signed-in person --------------------------------------------------------------------


class Http:
    """A person's HTTP side as a browser has it: cookies (session, CSRF) and a few
    keep-alive connections. Blocking: called from the simulator's thread pool."""

    def __init__(self, base: str):
        parts = urllib.parse.urlsplit(base)
        self.base = base.rstrip("/")
        self.host, self.port = parts.hostname, parts.port or 80
        self.cookies: dict[str, str] = {}
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            while self._idle:
                conn, used = self._idle.pop()
                if time.monotonic() - used < IDLE_REUSE:
                    return conn, True
                conn.close()
        return http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT), False

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method: str, path: str, *, payload=None, form=None) -> tuple[int, bytes]:
        headers = {"Origin": self.base}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        csrf = self.cookies.get(settings.CSRF_COOKIE_NAME)
        if csrf and method != "GET":
            headers["X-CSRFToken"] = csrf
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            conn, reused = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused and attempt == 0:
                    continue  # the server had closed the idle connection: nothing was sent
                raise
            except Exception:
                conn.close()
                raise
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            if response.will_close:
                conn.close()
            else:
                with self._lock:
                    self._idle.append((conn, time.monotonic()))
            return response.status, data
        raise ConnectionError("unreachable")  # pragma: no cover - the loop returns or raises

    def sign_in(self, username: str, password: str) -> None:
        """Through the login page, as a person does (CSRF token from the form)."""
        status, page = self.request("GET", "/login/")
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or found is None:
            raise SimulationError(f"{username} 打开登录页失败（HTTP {status}）")
        status, _ = self.request(
            "POST",
            "/login/",
            form={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": found.group(1).decode(),
            },
        )
        if status != 302 or settings.SESSION_COOKIE_NAME not in self.cookies:
            raise SimulationError(f"{username} 登录失败（HTTP {status}）")

    def close(self) -> None:
        with self._lock:
            for conn, _ in self._idle:
                conn.close()
            self._idle.clear()


def _ws_url(base: str, path: str) -> str:
    return "ws" + base.removeprefix("http").rstrip("/") + path


async def _open_socket(base: str, path: str, cookie: str = ""):
    from websockets.asyncio.client import connect

    headers = {"Origin": base.rstrip("/")}
    if cookie:
        headers["Cookie"] = cookie
    return await connect(
        _ws_url(base, path),
        additional_headers=headers,
        open_timeout=60,
        ping_interval=None,
        compression=None,
        max_size=2**22,
    )


class Inbox:
    """What one socket received, read by a task of its own; ``until`` waits for the
    first message that satisfies a predicate, keeping the others for later."""

    def __init__(self, ws, on_message):
        self.ws, self.on_message = ws, on_message
        self.queue: asyncio.Queue = asyncio.Queue()
        self.kept: list[dict] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self):
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                message = json.loads(raw)
                await self.on_message(message)
                await self.queue.put(message)
        except ConnectionClosed:
            pass
        finally:
            await self.queue.put(None)

    async def until(self, predicate, timeout: float) -> dict:
        for index, message in enumerate(self.kept):
            if predicate(message):
                return self.kept.pop(index)
        async with asyncio.timeout(timeout):
            while True:
                message = await self.queue.get()
                if message is None:
                    await self.queue.put(None)
                    raise ConnectionError("socket closed")
                if predicate(message):
                    return message
                self.kept.append(message)
                del self.kept[:-200]  # nobody waits for old noise


def _state_is(*states):
    return lambda m: m.get("event") == "state" and m["state"].get("state") in states


def _tag(body: str) -> str | None:
    found = TAG.search(body or "")
    return found.group(1) if found else None


# --- the run ------------------------------------------------------------------------------------------


class Simulation:
    def __init__(self, plan: Plan, setup: Setup, urls: list[str]):
        self.plan, self.setup, self.urls = plan, setup, urls
        self.rng = random.Random(plan.seed)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=min(96, 2 * plan.agents + 8), thread_name_prefix="sim-http"
        )
        self.contacts = self._draw()
        self.by_visitor = {c.visitor: c for c in self.contacts}
        self.expect: dict[str, tuple[float, str]] = {}  # tag → (sent at, direction)
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []  # the first ones, as examples
        self.error_count = 0
        self.conflicts = 0
        self.agents: list[SimAgent] = []

    def _draw(self) -> list[Contact]:
        plan, rng = self.plan, self.rng
        span = plan.arrival_span
        times, moment = [], 0.0
        if span > 0:
            rate = plan.contacts / span
            for _ in range(plan.contacts):
                moment += rng.expovariate(rate)
                times.append(moment)
            stretch = span / times[-1]  # exactly N arrivals in the span
            times = [t * stretch for t in times]
        else:
            times = [0.0] * plan.contacts
        contacts = []
        for index, at in enumerate(times, start=1):
            visitor = webchat.new_visitor()
            contacts.append(
                Contact(
                    index=index,
                    visitor=visitor,
                    token=webchat.visitor_token(self.setup.entry, visitor),
                    base=self.urls[index % len(self.urls)],
                    arrive_at=at,
                    rounds=rng.randint(*plan.rounds),
                    citizen_ends=rng.random() < plan.citizen_ends,
                    patience=(
                        plan.abandon_after * rng.uniform(0.5, 1.5) if plan.abandon_after else None
                    ),
                    satisfaction=rng.choices(SATISFACTION, SATISFACTION_WEIGHTS)[0],
                    topic=rng.randrange(len(TOPICS)),
                )
            )
        return contacts

    def error(self, text: str) -> None:
        self.error_count += 1
        if len(self.errors) < 20:
            self.errors.append(text)

    async def http(self, who: Http, method: str, path: str, payload=None) -> tuple[int, dict]:
        loop = asyncio.get_running_loop()
        status, data = await loop.run_in_executor(
            self.pool, lambda: who.request(method, path, payload=payload)
        )
        try:
            body = json.loads(data) if data else {}
        except ValueError:
            body = {"detail": data[:200].decode(errors="replace")}
        return status, body

    def sent(self, tag: str, direction: str) -> None:
        self.expect[tag] = (time.perf_counter(), direction)

    def seen(self, tag: str | None) -> None:
        if tag and tag in self.expect:
            began, direction = self.expect.pop(tag)
            elapsed = (time.perf_counter() - began) * 1000
            self.samples["event_to_screen"].append(elapsed)
            self.samples[direction].append(elapsed)

    async def run(self) -> float:
        plan = self.plan
        self.agents = [
            SimAgent(self, user, self.urls[i % len(self.urls)])
            for i, user in enumerate(self.setup.agents)
        ]
        await asyncio.gather(*(a.start() for a in self.agents))
        self.started = time.perf_counter()
        tail = plan.timeout if plan.timeout is not None else 60 + 900 / plan.speedup
        self.deadline = self.started + plan.arrival_span + tail
        citizens = [asyncio.create_task(self.citizen(c)) for c in self.contacts]
        # citizens still waiting leave at the deadline; give their leave time to land
        done, pending = await asyncio.wait(
            citizens, timeout=max(1.0, self.deadline + 45 - time.perf_counter())
        )
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                self.error(f"来电人任务异常：{task.exception()!r}")
        # the agents finish what they hold (their last summaries)
        grace = time.perf_counter() + max(30.0, 3 * WRAP_UP_THINK[1] / plan.speedup)
        while any(a.open for a in self.agents) and time.perf_counter() < grace:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - self.started
        await asyncio.gather(*(a.stop() for a in self.agents))
        self.pool.shutdown(wait=False)
        return elapsed

    # -- a citizen ---------------------------------------------------------------------------------

    async def citizen(self, c: Contact) -> None:
        await asyncio.sleep(max(0.0, self.started + c.arrive_at - time.perf_counter()))
        c.outcome = "arrived"
        step = self.plan.reply_wait  # the longest any one step may take
        path = f"/ws/chat/{self.setup.platform.code}/{self.setup.entry.code}/?t={c.token}"
        try:
            ws = await _open_socket(c.base, path)
        except Exception as error:  # noqa: BLE001 - counted, the run goes on
            c.outcome = "connect_failed"
            self.error(f"来电人{c.index}连接失败：{error!r}")
            return

        async def on_message(message):
            if message.get("event") == "message":
                body = message["message"]
                if body.get("direction") == "out" and body.get("kind") == "text":
                    self.seen(_tag(body.get("body")))
                    await ws.send(json.dumps({"type": "ack", "ids": [body["id"]]}))

        inbox = Inbox(ws, on_message)
        c.listening = True
        try:
            await inbox.until(lambda m: m.get("event") == "hello", step)
            question = TOPICS[c.topic][0]
            began = time.perf_counter()
            await ws.send(
                json.dumps(
                    {
                        "type": "message",
                        "body": f"{question}［c{c.index}-1］",
                        "client_id": uuid.uuid4().hex,  # as the page: unique on the channel
                    }
                )
            )
            c.sent_first, c.outcome = True, "waiting"
            # a patient citizen still waits when the run ends: then leaves, as a person would
            until_end = max(1.0, self.deadline - time.perf_counter())
            waiting = min(c.patience, until_end) if c.patience else until_end
            answered = _state_is("active", "wrap_up", "closed", "timed_out", "abandoned")
            try:
                state = (await inbox.until(answered, waiting))["state"]["state"]
            except TimeoutError:
                await ws.send(json.dumps({"type": "leave"}))
                state = (await inbox.until(answered, min(step, 30.0)))["state"]["state"]
                if state == "abandoned":
                    c.outcome = "abandoned" if c.patience else "left_at_end"
                    return
                c.outcome = "left"  # an agent came as the citizen gave up
                return
            if state in ("closed", "timed_out", "abandoned"):
                c.outcome = state
                return
            self.samples["assignment"].append((time.perf_counter() - began) * 1000)
            c.outcome = "talking"
            for turn in range(1, c.rounds + 1):
                if turn > 1:
                    await asyncio.sleep(self.plan.think(self.rng, CITIZEN_THINK))
                    tag = f"c{c.index}-{turn}"
                    self.sent(tag, "citizen_to_desk")
                    line = FOLLOW_UPS[(c.index + turn) % len(FOLLOW_UPS)]
                    await ws.send(
                        json.dumps(
                            {
                                "type": "message",
                                "body": f"{line}［{tag}］",
                                "client_id": uuid.uuid4().hex,
                            }
                        )
                    )
                want = f"a{c.index}-{turn}"
                await inbox.until(
                    lambda m, want=want: (
                        m.get("event") == "message" and _tag(m["message"].get("body")) == want
                    ),
                    step,
                )
            if c.citizen_ends:
                await asyncio.sleep(self.plan.think(self.rng, CITIZEN_THINK))
                await ws.send(json.dumps({"type": "leave"}))
            await inbox.until(lambda m: m.get("event") == "state" and m["state"].get("rate"), step)
            c.outcome = "ended"
            await asyncio.sleep(self.plan.think(self.rng, RATE_THINK))
            await ws.send(json.dumps({"type": "rate", "satisfaction": c.satisfaction}))
            await inbox.until(lambda m: m.get("event") in ("rated", "error"), step)
            c.outcome = "rated"
        except (TimeoutError, ConnectionError) as error:
            self.error(f"来电人{c.index}在“{c.outcome}”时未收到应有的推送：{error!r}")
            if c.outcome == "talking":
                # as a person would: closes the chat, which ends the session for the agent
                with contextlib.suppress(Exception):
                    await ws.send(json.dumps({"type": "leave"}))
                c.outcome = "gave_up"
        finally:
            c.listening = False
            inbox.task.cancel()
            await ws.close()


def _talk() -> dict:
    """What a simulated agent keeps of one conversation."""
    return {
        "contact": None,
        "ready": False,  # the screen pop is done: the agent knows who writes
        "inbound": set(),  # the citizen's message ids seen
        "replied": 0,
        "replying": False,
        "ending": False,
        "closing": False,
    }


class SimAgent:
    """One simulated agent: a workbench socket and the workbench API."""

    def __init__(self, sim: Simulation, user: User, base: str):
        self.sim, self.user, self.base = sim, user, base
        self.http = Http(base)
        self.open: dict[int, dict] = {}  # session id → its conversation
        self.closed: set[int] = set()  # sessions this agent has written the summary of
        self.tasks: set[asyncio.Task] = set()
        self.rng = random.Random(f"{sim.plan.seed}-{user.pk}")
        self.stopping = False

    def spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.sim.error(f"{self.user.username}：{task.exception()!r}")

    async def call(self, method: str, path: str, payload=None) -> dict | None:
        status, body = await self.sim.http(self.http, method, path, payload)
        if status == 409:
            self.sim.conflicts += 1  # the state moved meanwhile (the citizen left): expected
            return None
        if status >= 400:
            self.sim.error(f"{self.user.username} {method} {path} → {status} {body}")
            return None
        return body

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self.sim.pool, self.http.sign_in, self.user.username, self.sim.setup.password
        )
        self.ws = await _open_socket(self.base, "/ws/desk/", self.http.cookie_header())
        self.inbox = Inbox(self.ws, self.on_event)
        await self.inbox.until(lambda m: m.get("event") == "ready", 60)
        settings_ = {
            "text_capacity": self.sim.plan.capacity,
            "auto_accept": True,
            "handles_text": True,
            "wrap_up_enabled": True,
            "after_wrap_up": "ready",
        }
        if await self.call("PATCH", "/api/contact/agent/settings", settings_) is None:
            raise SimulationError(f"{self.user.username} 设置失败")
        if await self.call("POST", "/api/contact/agent/state", {"event": "sign_in"}) is None:
            raise SimulationError(f"{self.user.username} 签入失败")

    async def stop(self) -> None:
        self.stopping = True
        for task in list(self.tasks):
            task.cancel()
        await self.call("POST", "/api/contact/agent/state", {"event": "sign_out"})
        self.inbox.task.cancel()
        await self.ws.close()
        self.http.close()

    async def on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "message":
            message = event["message"]
            if message.get("direction") == "in" and message.get("kind") != "event":
                self.sim.seen(_tag(message.get("body")))
                talk = self.open.get(event.get("session"))
                if talk is not None:
                    talk["inbound"].add(message["id"])
                    self.kick(event["session"])
        elif kind == "fact" and event.get("agent") == self.user.pk:
            session_id = event.get("session")
            if (
                event.get("kind") == "answered"
                and session_id not in self.open
                and session_id not in self.closed
            ):
                self.open[session_id] = _talk()
                self.spawn(self.pick_up(session_id))
            elif event.get("kind") == "ended" and session_id not in self.closed:
                # facts of one session are committed in order but pushed after their
                # commits, from different requests: "ended" may overtake "answered"
                talk = self.open.setdefault(session_id, _talk())
                if not talk["closing"]:
                    talk["ending"] = talk["closing"] = True
                    self.spawn(self.close(session_id))

    async def pick_up(self, session_id: int) -> None:
        """A new chat: the screen pop (the session with its messages), then the answers."""
        detail = await self.call("GET", f"/api/contact/sessions/{session_id}")
        talk = self.open.get(session_id)
        if detail is None or talk is None:
            return
        talk["contact"] = self.sim.by_visitor.get(detail.get("address"))
        talk["inbound"].update(
            m["id"] for m in detail["messages"] if m["direction"] == "in" and m["kind"] != "event"
        )
        talk["ready"] = True
        self.kick(session_id)

    def kick(self, session_id: int) -> None:
        """Answer what the citizen wrote (one conversation task per session)."""
        talk = self.open.get(session_id)
        if (
            talk
            and talk["ready"]
            and not talk["replying"]
            and not talk["ending"]
            and talk["replied"] < len(talk["inbound"])
        ):
            talk["replying"] = True
            self.spawn(self.converse(session_id))

    async def converse(self, session_id: int) -> None:
        talk = self.open[session_id]
        contact: Contact | None = talk["contact"]
        try:
            while talk["replied"] < len(talk["inbound"]) and not talk["ending"]:
                await asyncio.sleep(self.sim.plan.think(self.rng, AGENT_THINK))
                if talk["ending"]:
                    return
                talk["replied"] += 1
                turn = talk["replied"]
                index = contact.index if contact else 0
                text = (
                    TOPICS[contact.topic][1]
                    if contact and turn == 1
                    else self.rng.choice(AGENT_LINES)
                )
                tag = f"a{index}-{turn}"
                if contact is not None and contact.listening:
                    self.sim.sent(tag, "agent_to_citizen")
                sent = await self.call(
                    "POST",
                    f"/api/contact/sessions/{session_id}/messages",
                    {"body": f"{text}［{tag}］"},
                )
                if sent is None:
                    self.sim.expect.pop(tag, None)
                rounds = contact.rounds if contact else 1
                if turn >= rounds and not (contact and contact.citizen_ends):
                    talk["ending"] = True
                    await asyncio.sleep(self.sim.plan.think(self.rng, AGENT_THINK))
                    if not talk["closing"]:
                        # the "ended" fact on the desk socket leads to the summary
                        await self.call("POST", f"/api/contact/sessions/{session_id}/end")
        finally:
            talk["replying"] = False

    async def close(self, session_id: int) -> None:
        await asyncio.sleep(self.sim.plan.think(self.rng, WRAP_UP_THINK))
        contact = self.open[session_id]["contact"]
        topic = TOPICS[contact.topic][0] if contact else "咨询"
        await self.call(
            "POST",
            f"/api/contact/sessions/{session_id}/close",
            {"summary": f"来电人咨询：{topic[:40]}。已答复。"},
        )
        self.closed.add(session_id)
        self.open.pop(session_id, None)


# --- a server to drive -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, seconds: float = 60) -> None:
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=2)
            conn.request("GET", "/api/health")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise SimulationError(f"{url} 在 {seconds:.0f} 秒内没有响应")


class Server:
    """``hotline run`` in a child process (web + worker, as installed), or uvicorn in a
    thread of this process (``in_process``)."""

    def __init__(self, in_process: bool = False):
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = self.thread = None
        if in_process:
            import uvicorn

            config = uvicorn.Config(
                "hotline.asgi:application",
                host="127.0.0.1",
                port=port,
                lifespan="off",
                log_level="warning",
                ws="auto",
            )
            self.server = uvicorn.Server(config)
            self.thread = threading.Thread(target=self.server.run, daemon=True)
            self.thread.start()
        else:
            command = [sys.executable, "-m", "hotline.cli", "run", "--port", str(port)]
            self.process = subprocess.Popen(
                [*command, "--no-migrate"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=os.environ.copy(),
            )
        wait_until_up(self.url)

    def cpu_seconds(self) -> float | None:
        """CPU the child process has used so far (Linux /proc), None when unknown."""
        if self.process is None:
            return None
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=15)


# --- the whole -----------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(samples)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)], 1)

    return {"n": len(ordered), "p50": at(50), "p95": at(95), "p99": at(99), "max": at(100)}


def run(plan: Plan, *, progress=None) -> dict:
    """Prepare, drive, verify; the report as one dict (the command prints it as JSON)."""
    plan.check()
    say = progress or (lambda text: None)
    setup = prepare(plan)
    setup.first_fact = ContactFact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    connection.close()  # the server (maybe SQLite in another process) writes from here on
    server = None
    urls = list(plan.urls)
    if not urls:
        say("启动热线服务…")
        server = Server(in_process=plan.in_process)
        urls = [server.url]
    else:
        for url in urls:
            wait_until_up(url, 30)
    sim = Simulation(plan, setup, urls)
    say(
        f"{len(setup.agents)} 名模拟坐席签入，{plan.contacts} 位来电人将在 {plan.arrival_span:.0f} 秒内到达…"
    )
    load_before = os.getloadavg()[0]
    cpu = time.process_time()
    server_cpu = server.cpu_seconds() if server is not None else None
    try:
        elapsed = asyncio.run(sim.run())
        cpu = time.process_time() - cpu
        if server_cpu is not None:
            server_cpu = server.cpu_seconds() - server_cpu
    finally:
        if server is not None:
            server.stop()
    say("核对数据库…")
    verdict = verify(setup, sim.contacts, plan)
    outcomes = Counter(c.outcome for c in sim.contacts)
    hours = elapsed / 3600
    report = {
        **verdict,
        "messages_sent_unseen": len(sim.expect),
        "latency_ms": {
            "event_to_screen": percentiles(sim.samples["event_to_screen"]),
            "citizen_to_desk": percentiles(sim.samples["citizen_to_desk"]),
            "agent_to_citizen": percentiles(sim.samples["agent_to_citizen"]),
            "assignment": percentiles(sim.samples["assignment"]),
        },
        "duration_s": round(elapsed, 1),
        "contacts_per_hour": round(verdict["offered"] / hours) if hours else None,
        "load_contacts_per_hour": round(verdict["offered"] / hours / plan.speedup)
        if hours
        else None,
        "speedup": plan.speedup,
        "agents": len(setup.agents),
        "text_capacity": plan.capacity,
        "citizens": dict(sorted(outcomes.items())),
        "conflicts": sim.conflicts,
        "errors": sim.error_count,
        "error_samples": sim.errors[:5],
        "cleaned_up_before": setup.cleaned,
        # the simulator's own CPU (its clients share the machine with the servers)
        "client_cpu_s": round(cpu, 1),
        # the server's CPU over the run, when the simulator started it (one process)
        "server_cpu_s": round(server_cpu, 1) if server_cpu is not None else None,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "servers": urls,
        "per_server": {
            url: {
                "citizens": sum(c.base == url for c in sim.contacts),
                "agents": sum(a.base == url for a in sim.agents),
            }
            for url in urls
        },
        "database": connection.vendor,
        "bus": "redis" if settings.REDIS_URL else "in-process",
    }
    return report
