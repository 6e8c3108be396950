"""语音基准 (part of ``make bench``): first M callers at once in an IVR menu, each pressing
a key when the menu has been read (key-to-prompt latency, call set-up rate); then N
callers, each bridged to an agent's desk phone, both sides talking the whole time, every
call recorded.

The node runs as ``hotline medianode`` in a process of its own (its CPU and memory are
read from /proc); the callers and the desk phones are real SIP/RTP user agents in this
process (the voice tests' phones). What is measured: the latency from a key to the next
prompt's first sound, the node's CPU for N bridged and recorded calls, whether each side
gets its 50 packets a second without gaps, that every call's recording is filed — and,
from the CPU a call costs, how many nodes Sanya's 210 trunk lines need.
"""

import asyncio
import datetime as dt
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HOTLINE_VAR_DIR", str(ROOT / "var" / "bench" / "voice"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from hotline.contact import services as contact  # noqa: E402
from hotline.contact.models import AgentPresence, Queue, Session  # noqa: E402
from hotline.core import audit  # noqa: E402
from hotline.core import services as core_services  # noqa: E402
from hotline.core.models import Platform, User  # noqa: E402
from hotline.telephony import prompts  # noqa: E402
from hotline.telephony import services as voice  # noqa: E402
from hotline.telephony.models import CallRecording  # noqa: E402
from hotline.telephony.tests.phone import AgentPhone, Phone, speak, tone  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from benchlib import Results, machine, pct, write_section  # noqa: E402

CALLS = int(os.environ.get("BENCH_VOICE_CALLS", "100"))
IVR_CALLS = int(os.environ.get("BENCH_VOICE_IVR_CALLS", "50"))
TALK = float(os.environ.get("BENCH_VOICE_SECONDS", "20"))
PORT = int(os.environ.get("BENCH_VOICE_PORT", "15590"))
NUMBER = "12399"
IVR_NUMBER = "12398"
SANYA_TRUNK_LINES = 210  # seed 004 §(二)
NODE_BUDGET = 80  # % of its core a node is planned to use at most, for headroom
RESULTS = Results()


class TimedPhone(Phone):
    """A caller that notes when each RTP packet arrives."""

    def _on_rtp(self, data, addr):
        super()._on_rtp(data, addr)
        self.arrivals = getattr(self, "arrivals", [])
        self.arrivals.append(time.monotonic())


class Loop:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coroutine, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def all(self, coroutines, timeout: float = 120):
        """Run ``coroutines`` together on the loop; their results."""

        async def together():
            return await asyncio.gather(*coroutines)

        return self.run(together(), timeout)


def setup() -> tuple[Platform, list[User]]:
    call_command("migrate", interactive=False, verbosity=0)
    platform = Platform.objects.filter(code="VOBENCH").first() or core_services.platform_create(
        actor=None, code="VOBENCH", name="语音压测平台", level=Platform.Level.CITY
    )
    if not Queue.objects.filter(platform=platform, code="general").exists():
        contact.queue_create(actor=None, platform=platform, code="general", name="综合咨询")
    voice.ivr_flow_save(
        actor=None,
        platform=platform,
        code="bench",
        name="压测流程",
        number=NUMBER,
        start="queue",
        nodes={"queue": {"type": "queue", "queue": "general", "announce_every": 0}},
    )
    voice.ivr_flow_save(
        actor=None,
        platform=platform,
        code="bench_menu",
        name="压测按键流程",
        number=IVR_NUMBER,
        start="menu",
        nodes={
            "menu": {
                "type": "menu",
                "text": "查询请按1。",
                "keys": {"1": "info"},
                "timeout": 30,
                "retries": 0,
                "fail": "bye",
            },
            "info": {"type": "play", "text": "您好，这是按键后的提示音。", "next": "bye"},
            "bye": {"type": "hangup"},
        },
    )
    names = [f"vob_agent_{i:03d}" for i in range(1, CALLS + 1)]
    missing = [n for n in names if not User.objects.filter(username=n).exists()]
    if missing:
        made = core_services.user_create_many(
            actor=None,
            accounts=[
                {"username": n, "display_name": f"语音压测{n[-3:]}", "platform": platform}
                for n in missing
            ],
            password=core_services.generate_password(16),
            must_change_password=False,
        )
        for user in made:
            core_services.role_assign(actor=None, user=user, role="agent")
            user.forget_cached_rights()
    agents = list(User.objects.filter(username__in=names).order_by("username"))
    for session in Session.objects.filter(platform=platform, state__in=["active", "wrap_up"]):
        agent = session.agent
        if session.state == "active":
            session = contact.session_end(actor=agent, session=session)
        contact.session_close(actor=agent, session=session, summary="压测结束")
    for session in Session.objects.filter(
        platform=platform, state__in=["new", "queued", "offered"]
    ):
        contact.contact_abandon(session=session)
    for presence in AgentPresence.objects.filter(agent__in=agents).exclude(presence="signed_out"):
        contact.agent_sign_out(actor=presence.agent)
    return platform, agents


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _loud(payload: bytes) -> bool:
    samples = prompts.decode(payload, 0).astype("float64")
    return len(samples) > 0 and float((samples**2).mean()) ** 0.5 > 300


async def key_to_prompt(caller: "TimedPhone") -> float:
    """Seconds from a key (pressed once the menu has been read) to the next prompt's first
    sound, as the caller hears it."""
    await caller.call(IVR_NUMBER)
    heard, last_loud, index = False, 0.0, 0
    while not heard or time.monotonic() - last_loud < 0.5:  # the menu, then 0.5 s quiet
        await asyncio.sleep(0.02)
        for position in range(index, len(caller.audio)):
            if _loud(caller.audio[position][1]):
                heard, last_loud = True, caller.arrivals[position]
        index = len(caller.audio)
    mark, pressed = len(caller.audio), time.monotonic()
    asyncio.ensure_future(caller.press("1"))
    deadline = pressed + 5
    while time.monotonic() < deadline:
        await asyncio.sleep(0.005)
        for position in range(mark, len(caller.audio)):
            if _loud(caller.audio[position][1]):
                await caller.bye()
                return caller.arrivals[position] - pressed
        mark = max(mark, len(caller.audio) - 1)
    await caller.bye()
    return float("inf")


def until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise SystemExit(f"压测失败：{what}")


def main() -> None:
    platform, agents = setup()
    vendor = connection.vendor
    phones = Loop()
    desks = [phones.run(AgentPhone(answer_after=0.1).open()) for _ in agents]
    for agent, desk in zip(agents, desks, strict=True):
        contact.agent_settings_update(actor=agent, phone_uri=desk.uri, wrap_up_enabled=False)
        contact.agent_sign_in(actor=agent, ready=True)
    low = 32000
    node = subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", "medianode", "--host", "127.0.0.1"]
        + ["--port", str(PORT), "--rtp", f"{low}-{low + 4 * (CALLS + IVR_CALLS) + 100}"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(4)  # Django and the node's sockets
        # IVR: one caller first renders the prompts (espeak-ng), then IVR_CALLS at once
        phones.run(key_to_prompt(phones.run(TimedPhone(PORT, number="13700000000").open())))
        menu_callers = [
            phones.run(TimedPhone(PORT, number=f"137{i:08d}").open()) for i in range(IVR_CALLS)
        ]
        set_up = time.monotonic()
        phones.all([c.call(IVR_NUMBER) for c in menu_callers])
        set_up = time.monotonic() - set_up
        phones.all([c.bye() for c in menu_callers])
        menu_callers = [
            phones.run(TimedPhone(PORT, number=f"136{i:08d}").open()) for i in range(IVR_CALLS)
        ]
        latencies = [s * 1000 for s in phones.all([key_to_prompt(c) for c in menu_callers])]
        callers = [phones.run(TimedPhone(PORT, number=f"139{i:08d}").open()) for i in range(CALLS)]
        before = CallRecording.objects.count()
        started = time.monotonic()
        phones.all([c.call(NUMBER) for c in callers])
        until(
            lambda: Session.objects.filter(platform=platform, state="active").count() >= CALLS,
            60,
            "未能全部接通",
        )
        connected = time.monotonic() - started
        phones.all([d.acked.wait() for d in desks])
        time.sleep(1)
        marks = [len(getattr(c, "arrivals", [])) for c in callers]
        cpu0, t0 = cpu_seconds(node.pid), time.monotonic()
        talking = [speak(c, tone(440, TALK)) for c in callers]
        talking += [speak(d, tone(1000, TALK), d.payload_type) for d in desks]
        phones.all(talking, timeout=TALK * 3 + 30)
        cpu1, t1 = cpu_seconds(node.pid), time.monotonic()
        rss = rss_mib(node.pid)
        window = t1 - t0
        rates, gaps = [], []
        for caller, mark in zip(callers, marks, strict=True):
            times = caller.arrivals[mark:]
            rates.append(len(times) / window)
            gaps += [(b - a) * 1000 for a, b in zip(times, times[1:], strict=False)]
        phones.all([c.bye() for c in callers])
        until(lambda: CallRecording.objects.count() - before >= CALLS, 30, "录音未全部归档")
        saved = list(CallRecording.objects.order_by("-pk")[:CALLS])
    finally:
        node.send_signal(signal.SIGINT)
        try:
            node.wait(20)
        except subprocess.TimeoutExpired:
            node.kill()
    load = os.getloadavg()[0]
    share = (cpu1 - cpu0) / window * 100
    answered = [x for x in latencies if x != float("inf")]
    RESULTS.note(
        f"[{vendor}] IVR 按键响应：{IVR_CALLS} 路同时在菜单中，菜单读完后按 1 → 下一段提示音的第一个有声包",
        f"p50 {pct(answered, 50):.0f} ms，p95 {pct(answered, 95):.0f} ms，最大 {max(answered):.0f} ms"
        f"（{len(answered)}/{IVR_CALLS} 路）",
        "p95 < 200 ms",
        len(answered) == IVR_CALLS and pct(answered, 95) < 200,
    )
    RESULTS.note(
        f"[{vendor}] 呼叫建立：{IVR_CALLS} 个 INVITE 同时到达 → 全部 200 OK（含查流程）",
        f"{set_up:.2f} 秒，即 {IVR_CALLS / set_up:.0f} 路/秒",
    )
    RESULTS.note(
        f"[{vendor}] {CALLS} 路来电同时接通坐席话机并录音（双方持续讲话 {window:.0f} 秒）：媒体节点 CPU",
        f"单核的 {share:.1f}%（每路 {share / CALLS:.2f}%），内存 RSS {rss:.0f} MiB",
        "一个节点进程 ≥ 100 路，不丢包",
        CALLS >= 100 and share < 100 and min(rates) >= 49,
    )
    RESULTS.note(
        f"[{vendor}] 每路来电人每秒收到的 RTP 包（应为 50）",
        f"最少 {min(rates):.1f}，p50 {pct(rates, 50):.1f}",
        "≥ 49",
        min(rates) >= 49,
    )
    RESULTS.note(
        f"[{vendor}] 来电人侧包间隔",
        f"p50 {pct(gaps, 50):.1f} ms，p99 {pct(gaps, 99):.1f} ms，最大 {max(gaps):.1f} ms",
        "p99 < 40 ms",
        pct(gaps, 99) < 40,
    )
    RESULTS.note(
        f"[{vendor}] {CALLS} 路全部接通用时（呼入 → 排队 → 坐席话机振铃、摘机 → 桥接）",
        f"{connected:.1f} 秒",
    )
    per_node = math.floor(NODE_BUDGET / (share / CALLS))
    RESULTS.note(
        f"三亚 {SANYA_TRUNK_LINES} 条中继线路全部接通并录音所需媒体节点（每个节点进程占一核，按实测每路 CPU、"
        f"单核用到 {NODE_BUDGET}% 计）",
        f"每个节点约 {per_node} 路 → {math.ceil(SANYA_TRUNK_LINES / per_node)} 个节点"
        f"（{math.ceil(math.ceil(SANYA_TRUNK_LINES / per_node) / 2)} 台 2 核服务器）",
    )
    RESULTS.note(
        f"[{vendor}] 通话录音归档",
        f"{len(saved)} 个，每个约 {pct([r.seconds for r in saved], 50):.1f} 秒（双声道 WAV）",
        f"{CALLS} 个",
        len(saved) == CALLS,
    )
    lines = [
        f"## voice-{vendor} — 语音媒体节点 — {dt.datetime.now():%Y-%m-%d %H:%M}（北京时间）",
        "",
        "由 `scripts/bench_voice.py`（`make bench` 的一部分）生成：媒体节点以 `hotline medianode` "
        "独立进程运行（CPU、内存读自 /proc）；来电人与坐席话机是本进程内真实的 SIP/RTP 终端"
        "（语音测试所用的话机），经环回地址通话。",
        "",
        f"机器：{machine()}；结束时 1 分钟平均负载 {load:.1f}",
        "",
        *RESULTS.table(),
    ]
    write_section(ROOT / "docs" / "benchmarks.md", f"voice-{vendor}", lines)


if __name__ == "__main__":
    with audit.origin(channel="cli"):
        main()
