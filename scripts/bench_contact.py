"""make bench (话务与在线客服): the contact center's targets (issue 5).

1. **Routing decision** with 1,000 contacts waiting and 200 agents (target p95 < 5 ms):
   a platform of its own (``CCBENCH``: a general queue and four skill queues, 200 agents
   with 1–3 skills at levels 1–5, web-chat capacity 5). Contacts arrive through the
   services until every agent is full and 1,000 more wait. Then, 300 times: one session
   of a random agent ends (without routing), and the event that follows is timed —
   ``acd.agent_freed`` (the agent's queues, their heads, the claim under row locks, the
   assignment and its facts); and, as separate figures, ``acd.offer_next`` alone (one
   claim), and ``acd.route`` of a queue when no agent has room (what every arrival does
   under a backlog). Timed without the live pushes (the decision), and ``agent_freed``
   once more with them (after-commit pushes to the channel layer and the citizen's page).
2. **Web-chat load** (target: 10,000 contacts in an hour's load with 60 agents, none
   lost, event-to-screen p95 < 200 ms): ``hotline simulate`` against a ``hotline run``
   started here (web + worker, one process), real sockets and HTTP — first a light load
   (``BENCH_CONTACT_LIGHT`` contacts in ``BENCH_CONTACT_LIGHT_SECONDS``: the latency of a
   server that keeps up, and its CPU per conversation), then the target, the hour
   compressed ``BENCH_CONTACT_SPEEDUP`` times (arrivals and think times alike).

Writes ``## contact-<database>`` into docs/benchmarks.md, keeping the other sections. On
PostgreSQL (DATABASE_URL) it uses its own database ``hotline_bench_contact``.
"""

import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def bench_database_url() -> str | None:
    """On PostgreSQL, the benchmark's own database (created when missing)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return None
    url = urlunsplit(urlsplit(base)._replace(path="/hotline_bench_contact"))
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            db.execute(f'CREATE DATABASE "{name}"')
    return url


_url = bench_database_url()
if _url:
    os.environ["DATABASE_URL"] = _url  # the simulator's `hotline run` inherits it
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from hotline.contact import acd, live, services, simulate  # noqa: E402
from hotline.contact.models import AgentPresence, Queue, QueueEntry, Session  # noqa: E402
from hotline.core import audit  # noqa: E402
from hotline.core import services as core_services  # noqa: E402
from hotline.core.models import Platform, Skill, User  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from benchlib import Results, machine, pct, write_section  # noqa: E402,F401

PLATFORM = ("CCBENCH", "话务压测平台")
SKILLS = [
    ("shebao", "社保医保"),
    ("gongjijin", "住房公积金"),
    ("lvyou", "旅游投诉"),
    ("english", "英语服务"),
]
AGENTS = int(os.environ.get("BENCH_CONTACT_AGENTS", "200"))
WAITING = int(os.environ.get("BENCH_CONTACT_WAITING", "1000"))
DECISIONS = int(os.environ.get("BENCH_CONTACT_DECISIONS", "300"))
CAPACITY = 5
LOAD_CONTACTS = int(os.environ.get("BENCH_CONTACT_CHATS", "10000"))
LOAD_AGENTS = int(os.environ.get("BENCH_CONTACT_CHAT_AGENTS", "60"))
SPEEDUP = float(os.environ.get("BENCH_CONTACT_SPEEDUP", "4"))
LIGHT_CONTACTS = int(os.environ.get("BENCH_CONTACT_LIGHT", "300"))
LIGHT_SECONDS = float(os.environ.get("BENCH_CONTACT_LIGHT_SECONDS", "360"))
RESULTS = Results()
note = RESULTS.note
NOTES: list[str] = []
LOAD_AT_START = os.getloadavg()[0]


class Clock:
    """Wall-clock samples, and the CPU this thread spent meanwhile: on a shared machine
    the difference is the time spent waiting for a core (or, on PostgreSQL, for the
    database server)."""

    def __init__(self):
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def time(self, fn):
        wall, cpu = time.perf_counter(), time.thread_time()
        result = fn()
        self.cpu.append((time.thread_time() - cpu) * 1000)
        self.wall.append((time.perf_counter() - wall) * 1000)
        return result

    @property
    def p95(self) -> float:
        return pct(self.wall, 95)

    def figures(self) -> str:
        return (
            f"p50 {pct(self.wall, 50):.1f} ms，p95 {pct(self.wall, 95):.1f} ms，"
            f"p99 {pct(self.wall, 99):.1f} ms（{len(self.wall)} 次）；其中本进程 CPU "
            f"p50 {pct(self.cpu, 50):.1f} ms，p95 {pct(self.cpu, 95):.1f} ms"
        )


class NoPushes:
    """The live pushes switched off: what is timed is the decision itself."""

    def __enter__(self):
        self.saved = live.publish, live.after_commit
        live.publish = lambda *args, **kwargs: None
        live.after_commit = lambda callback: None

    def __exit__(self, *exc):
        live.publish, live.after_commit = self.saved


# --- 1. routing decisions ------------------------------------------------------------------------


def bench_platform() -> tuple[Platform, dict]:
    platform = Platform.objects.filter(code=PLATFORM[0]).first()
    if platform is None:
        platform = core_services.platform_create(
            actor=None, code=PLATFORM[0], name=PLATFORM[1], level=Platform.Level.CITY
        )
    queues = {}
    general = Queue.objects.filter(platform=platform, code="general").first()
    queues["general"] = general or services.queue_create(
        actor=None, platform=platform, code="general", name="综合咨询"
    )
    for code, name in SKILLS:
        skill = Skill.objects.filter(platform=platform, code=code).first() or (
            core_services.skill_create(actor=None, platform=platform, code=code, name=name)
        )
        queues[code] = Queue.objects.filter(platform=platform, code=code).first() or (
            services.queue_create(
                actor=None,
                platform=platform,
                code=code,
                name=name,
                skill=skill,
                min_skill_level=2,
                widen_after_seconds=60,
            )
        )
    return platform, queues


def bench_agents(platform: Platform) -> list[User]:
    names = [f"ccb_agent_{i:03d}" for i in range(1, AGENTS + 1)]
    existing = {u.username: u for u in User.objects.filter(username__in=names)}
    missing = [n for n in names if n not in existing]
    if missing:
        made = core_services.user_create_many(
            actor=None,
            accounts=[
                {"username": n, "display_name": f"压测坐席{n[-3:]}", "platform": platform}
                for n in missing
            ],
            password=core_services.generate_password(16),
            must_change_password=False,
        )
        rng = random.Random(5)
        skills = list(Skill.objects.filter(platform=platform))
        for user in made:
            core_services.role_assign(actor=None, user=user, role="agent")
            for skill in rng.sample(skills, rng.randint(1, 3)):
                core_services.user_skill_set(
                    actor=None, user=user, skill=skill, level=rng.randint(1, 5)
                )
            user.forget_cached_rights()
            services.agent_settings_update(
                actor=user, text_capacity=CAPACITY, wrap_up_enabled=False, auto_accept=True
            )
        existing.update({u.username: u for u in made})
    return [existing[n] for n in names]


def clean(agents: list[User], queues: dict) -> None:
    """What an earlier run left: waiting contacts, the agents' sessions, their sign-in."""
    for session in Session.objects.filter(
        queue__in=list(queues.values()), state__in=["new", "queued"]
    ):
        services.contact_abandon(session=session)
    by_pk = {u.pk: u for u in agents}
    for session in Session.objects.filter(
        agent_id__in=list(by_pk), state__in=["active", "wrap_up"]
    ):
        user = by_pk[session.agent_id]
        if session.state == "active":
            session = services.session_end(actor=user, session=session)
        if session.state == "wrap_up":
            services.session_close(actor=user, session=session, summary="压测结束")
    for presence in AgentPresence.objects.filter(agent_id__in=list(by_pk)).exclude(
        presence="signed_out"
    ):
        services.agent_sign_out(actor=by_pk[presence.agent_id])


def fill(platform: Platform, queues: dict, agents: list[User]) -> None:
    """Every agent full, then ``WAITING`` more contacts waiting across the queues."""
    for user in agents:
        services.agent_sign_in(actor=user)
    rng = random.Random(7)
    codes = ["general"] * 4 + [code for code, _ in SKILLS] * 1
    waiting = 0
    made = 0
    while waiting < WAITING:
        queue = queues[rng.choice(codes)]
        services.contact_arrive(
            platform=platform,
            channel="webchat",
            address=f"ccb-{time.time_ns()}-{made}",
            queue=queue,
        )
        made += 1
        if made % 100 == 0:
            waiting = QueueEntry.objects.filter(queue__in=list(queues.values())).count()
    print(f"已进线 {made} 位，排队 {waiting} 位", flush=True)


def end_one(rng: random.Random, agent_ids: list[int]) -> int:
    """One chat of a random busy agent ends, without the routing that follows."""
    while True:
        agent_id = rng.choice(agent_ids)
        session_id = (
            Session.objects.filter(agent_id=agent_id, state="active")
            .values_list("pk", flat=True)
            .first()
        )
        if session_id is not None:
            acd.end_session(session_id, timezone.now(), reason="agent")
            return agent_id


def routing(vendor: str) -> None:
    platform, queues = bench_platform()
    agents = bench_agents(platform)
    with NoPushes():
        clean(agents, queues)
        began = time.perf_counter()
        fill(platform, queues, agents)
    NOTES.append(
        f"- 路由基准的数据：{AGENTS} 名坐席（各 1–3 项技能、等级 1–5，文字并发 {CAPACITY}），"
        f"5 个队列；先进线直至坐席全部满载，再排队 {WAITING} 位（准备用时 "
        f"{time.perf_counter() - began:.0f} 秒）。计时为单线程、进程内调用。"
    )
    rng = random.Random(11)
    agent_ids = [u.pk for u in agents]
    calibration = Clock()
    for _ in range(300):
        calibration.time(lambda: AgentPresence.objects.filter(agent_id=agent_ids[0]).first())
    note(
        f"[{vendor}] 校准：一条最简单的 ORM 查询（按索引取一行，用以换算到其他机器）",
        calibration.figures(),
    )
    decisions, freed, claims, busy = Clock(), Clock(), Clock(), Clock()
    freed_live, queries, decision_queries = Clock(), [], []

    def freed_event(agent_id: int) -> list:
        """``acd.agent_freed`` step by step, the decision timed on its own."""
        now, assigned = timezone.now(), []
        while True:
            with transaction.atomic():
                # timed: the decision that picks a contact (the one after it, which finds
                # the agent full again, is a single query and not counted)
                clock = decisions if not assigned else Clock()
                with CaptureQueriesContext(connection) as captured:
                    decided = clock.time(lambda: acd.decide_for_agent(agent_id, now))
                if not assigned:
                    decision_queries.append(len(captured))
                if decided is None:
                    return assigned
                presence, entry, queue = decided
                assigned.append(acd._assign(entry, presence, queue, now))

    waiting_queue = list(queues.values())
    for round_ in range(DECISIONS):
        with NoPushes():
            # the decision alone, then the whole event with the assignment's writes
            agent_id = end_one(rng, agent_ids)
            if len(freed_event(agent_id)) != 1:
                raise SystemExit("坐席空出的位置没有分配出去")
            agent_id = end_one(rng, agent_ids)
            with CaptureQueriesContext(connection) as captured:
                assigned = freed.time(lambda a=agent_id: acd.agent_freed(a))
            queries.append(len(captured))
            if len(assigned) != 1:
                raise SystemExit(f"坐席空出的位置没有分配出去：{assigned}")
            # one claim alone: free a place again, the queue's next contact takes it
            agent_id = end_one(rng, agent_ids)
            session = claims.time(lambda: acd.offer_next(queues["general"]))
            if session is None or session.agent_id != agent_id:
                raise SystemExit("空出的位置没有被下一位排队的来电人占用")
            # an arrival's routing when nobody has room
            queue = waiting_queue[round_ % len(waiting_queue)]
            if busy.time(lambda q=queue: acd.route(q)):
                raise SystemExit("所有坐席满载时仍有分配")
            for _ in range(3):  # keep 1,000 waiting
                services.contact_arrive(
                    platform=platform,
                    channel="webchat",
                    address=f"ccb-{time.time_ns()}",
                    queue=queues["general"],
                )
        # the same event with its live pushes (channel layer, the citizen's page)
        agent_id = end_one(rng, agent_ids)
        freed_live.time(lambda a=agent_id: acd.agent_freed(a))
        services.contact_arrive(
            platform=platform, channel="webchat", address=f"ccb-{time.time_ns()}", queue=queue
        )
    waiting = QueueEntry.objects.filter(queue__in=list(queues.values())).count()
    setting = f"{waiting:,} 位排队、{AGENTS} 名坐席满载"
    per_decision = sum(decision_queries) / len(decision_queries)
    note(
        f"[{vendor}] 路由决策：坐席空出一个位置，选出来电人并锁定（acd.decide_for_agent；"
        f"{setting}；平均 {per_decision:.1f} 条 SQL）",
        decisions.figures(),
        "p95 < 5 ms",
        decisions.p95 < 5,
    )
    note(
        f"[{vendor}] 路由决策：进线时无坐席有空位 acd.route（{setting}）",
        busy.figures(),
        "p95 < 5 ms",
        busy.p95 < 5,
    )
    note(
        f"[{vendor}] 坐席空出位置的整个事件 acd.agent_freed：决策 + 分配的写入（会话、分段、"
        f"坐席状态与时段、事实）（平均 {sum(queries) / len(queries):.0f} 条 SQL）",
        freed.figures(),
    )
    note(
        f"[{vendor}] 一次分配 acd.offer_next：按队列选出坐席 + 分配的写入（{setting}）",
        claims.figures(),
    )
    per_query = pct(calibration.cpu, 50)
    NOTES.append(
        "- 路由决策 = 从“坐席有空位”到“选定来电人并加锁”：锁定坐席行、一条窗口查询取该坐席各队列"
        "排在前面的来电人、在 Python 中按等候时间减技能加分选出、锁定该排队记录；队列设置与坐席技能"
        "取自进程内缓存（本进程修改即时失效，其他进程 2 秒内生效）。分配的写入（会话、分段、坐席"
        "状态、状态时段、两条事实）另计，即上表的“整个事件”。本机一条最简单的 ORM 查询约 "
        f"{per_query:.1f} ms CPU，耗时几乎全是 Django ORM 组装 SQL。"
    )
    bus = "Redis" if settings.REDIS_URL else "进程内"
    note(
        f"[{vendor}] 坐席空出位置的整个事件（含提交后的实时推送：{bus}消息总线、来电人页面状态）",
        freed_live.figures(),
    )
    with NoPushes():
        clean(agents, queues)


# --- 2. web-chat load ----------------------------------------------------------------------------


def web_chat_load(vendor: str, contacts: int, speedup: float, duration: float, what: str) -> dict:
    """One ``hotline simulate`` run against a ``hotline run`` started for it."""
    plan = simulate.Plan(
        contacts=contacts,
        agents=LOAD_AGENTS,
        capacity=CAPACITY,
        speedup=speedup,
        duration=duration,
        platform=PLATFORM[0],
        seed=2026,
    )
    report = simulate.run(plan, progress=lambda text: print(text, flush=True))
    latency = report["latency_ms"]
    label = (
        f"[{vendor}] 网页在线{what}：{contacts:,} 位来电人、{LOAD_AGENTS} 名坐席（并发 {CAPACITY}）"
    )
    note(
        f"{label}：核对数据库",
        f"进线 {report['offered']:,}，分配 {report['assigned']:,}，放弃 {report['abandoned']:,}"
        f"（其中运行结束时仍在排队而离开 {report['citizens'].get('left_at_end', 0):,}），"
        f"丢失 {report['lost']:,}，重复分配 {report['double_assigned']}，超出并发 "
        f"{report['over_capacity']}；完成小结 {report['completed']:,}，评价 {report['rated']:,}"
        + (
            f"；另有 {contacts - report['offered']:,} 位未能发出首条消息（连接或欢迎语超时）"
            if report["offered"] < contacts
            else ""
        ),
        "无丢失、无重复分配",
        report["lost"] == 0
        and report["double_assigned"] == 0
        and report["over_capacity"] == 0
        and report["offered"] == contacts,
    )
    e2s = latency["event_to_screen"]
    note(
        f"{label}：事件到屏幕（来电人发出→坐席工作台收到，坐席发出→来电人页面收到）",
        f"p50 {e2s['p50']} ms，p95 {e2s['p95']} ms，p99 {e2s['p99']} ms（{e2s['n']:,} 条消息）"
        if e2s["n"]
        else "无样本",
        "p95 < 200 ms",
        bool(e2s["n"]) and e2s["p95"] < 200,
    )
    for key, direction in (
        ("citizen_to_desk", "来电人→坐席工作台"),
        ("agent_to_citizen", "坐席（HTTP 发送）→来电人页面"),
        ("assignment", "首条消息→来电人看到已接入坐席（含排队等待）"),
    ):
        figures = latency[key]
        note(
            f"{label}：{direction}",
            f"p50 {figures['p50']} ms，p95 {figures['p95']} ms，p99 {figures['p99']} ms"
            f"（{figures['n']:,} 次）"
            if figures["n"]
            else "无样本",
        )
    server = ""
    if report["server_cpu_s"]:
        share = report["server_cpu_s"] / report["duration_s"] * 100
        server = f"，服务端（hotline run 单进程）CPU {report['server_cpu_s']:.0f} 秒 = 运行时间的 {share:.0f}%"
        if report["completed"] >= 0.95 * contacts:
            per_chat = report["server_cpu_s"] / report["completed"] * 1000
            server += f"，每会话 {per_chat:.0f} ms"
    note(
        f"{label}：运行",
        f"{report['duration_s']:.0f} 秒，到达率每小时 {contacts / duration * 3600:,.0f} 位（墙钟），"
        f"错误 {report['errors']:,}{server}，模拟器自身 CPU {report['client_cpu_s']} 秒，"
        f"平均负载 {report['load_average'][0]} → {report['load_average'][1]}",
    )
    if report["error_samples"]:
        NOTES.append(f"- {what}的错误示例：" + "；".join(report["error_samples"][:3]))
    return report


def web_chat(vendor: str) -> None:
    # a light load first: the latency when the server is not saturated
    light = web_chat_load(vendor, LIGHT_CONTACTS, 2, LIGHT_SECONDS, "轻载")
    minutes = 3600 / SPEEDUP / 60
    web_chat_load(
        vendor,
        LOAD_CONTACTS,
        SPEEDUP,
        3600 / SPEEDUP,
        f"目标负载（一小时的话务压缩为 {minutes:.0f} 分钟，×{SPEEDUP:g}）",
    )
    NOTES.append(
        f"- 目标负载的压缩：到达率与来电人、坐席的思考/输入时间同乘 ×{SPEEDUP:g}"
        f"（来电人每条消息间隔 {simulate.CITIZEN_THINK[0]:g}–{simulate.CITIZEN_THINK[1]:g} 秒、"
        f"坐席回复 {simulate.AGENT_THINK[0]:g}–{simulate.AGENT_THINK[1]:g} 秒、小结 "
        f"{simulate.WRAP_UP_THINK[0]:g}–{simulate.WRAP_UP_THINK[1]:g} 秒，均除以 {SPEEDUP:g}），"
        f"所以服务端承受的请求速率是真实一小时的 {SPEEDUP:g} 倍，而会话数、每会话的消息与操作"
        f"与真实一小时相同。轻载：{LIGHT_CONTACTS} 位来电人在 {LIGHT_SECONDS:.0f} 秒内到达，"
        "思考时间除以 2。模拟器（来电人与坐席的套接字、HTTP 客户端）与被测的 hotline run "
        "在同一台机器上运行；运行结束时服务进程随即停止，尚在处理中的消息不再入库（计入“丢失”）。"
    )
    if light["server_cpu_s"] and light["completed"]:
        per_chat = light["server_cpu_s"] / light["completed"]
        needed = LOAD_CONTACTS * per_chat / 3600
        NOTES.append(
            f"- 轻载下服务端每个会话（约 {sum(simulate.Plan().rounds) / 2:g} 轮消息、接入、结束、小结、"
            f"评价）用 CPU 约 {per_chat * 1000:.0f} ms：每小时 {LOAD_CONTACTS:,} 个会话即需约 "
            f"{needed:.1f} 个核，而一个 hotline run 进程的网页一侧受 GIL 所限至多用满一个核——"
            "单进程（SQLite 嵌入式部署）在本机达不到该目标，需多个网页进程（PostgreSQL + Redis）"
            "或更快的处理器。"
        )


# --- the report ------------------------------------------------------------------------------------


def write_report(vendor: str) -> None:
    """Replace this database's ``## contact-…`` section of docs/benchmarks.md, keep the rest."""
    path = Path(os.environ.get("HOTLINE_CONTACT_BENCH_REPORT") or ROOT / "docs" / "benchmarks.md")
    key = f"contact-{vendor}"
    lines = [
        f"## {key} — 话务与在线客服 — {dt.datetime.now():%Y-%m-%d %H:%M}（北京时间）",
        "",
        "由 `scripts/bench_contact.py`（`make bench` 的一部分）生成：路由决策为进程内计时；"
        "网页在线负载为 `hotline simulate`（真实的 WebSocket 与 HTTP）驱动本机启动的 "
        "`hotline run`，结束后按数据库核对每位来电人的去向。",
        "",
        f"机器：{machine()}；测量开始时 1 分钟平均负载 {LOAD_AT_START:.1f}（同机其他进程也在运行）",
        "",
        *RESULTS.table(),
    ]
    write_section(path, key, lines + ([""] + NOTES if NOTES else []))


def main() -> None:
    settings.ALLOWED_HOSTS = ["*"]
    vendor = connection.vendor
    call_command("migrate", interactive=False, verbosity=0)
    only = os.environ.get("BENCH_CONTACT_ONLY", "")
    with audit.origin(channel="cli"):
        if only in ("", "routing"):
            routing(vendor)
        if only in ("", "load"):
            web_chat(vendor)
    if only:
        NOTES.append(f"- 本节只运行了 BENCH_CONTACT_ONLY={only} 一部分。")
    write_report(vendor)


if __name__ == "__main__":
    main()
