"""make bench: measure the foundation's speed targets and write docs/benchmarks.md.

Targets (R-PERF-2/3): ordinary page ≤ 2 s (90% of page switches), query < 2 s,
live change of permissions < 5 s. Measured in-process with Django's test client against
a database holding the demo hotline, so the figures are server time without network.
Run on SQLite by default; set DATABASE_URL to measure PostgreSQL too.
"""

import datetime as dt
import os
import resource
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from hotline.core import demo, numbering, workdays  # noqa: E402
from hotline.core.models import Platform, User  # noqa: E402
from hotline.core.roles import ADMIN_ROLES  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from benchlib import Results, machine, pct, write_section  # noqa: E402,F401

RESULTS = Results()  # (what, figure, target, verdict)
note = RESULTS.note


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    vendor = connection.vendor
    call_command("migrate", interactive=False, verbosity=0)
    if not Platform.objects.exists():
        start = time.perf_counter()
        demo.load_demo()
        note(
            f"[{vendor}] 载入演示热线（hotline init --demo，真实 PBKDF2 口令散列）",
            f"{time.perf_counter() - start:.1f} s",
            "",
            None,
        )

    # Page switches: each demo role's home page, signed in.
    page_samples = []
    for login in demo.DEMO_LOGINS:
        client = Client()
        client.force_login(User.objects.get(username=login["username"]))
        client.get("/")  # warm
        samples = timed(lambda c=client: c.get("/"), 20)
        page_samples += samples
    note(
        f"[{vendor}] 各角色首页（{len(demo.DEMO_LOGINS)} 个角色 × 20 次）",
        f"p50 {pct(page_samples, 50):.1f} ms, p90 {pct(page_samples, 90):.1f} ms, "
        f"max {max(page_samples):.1f} ms",
        "90% ≤ 2000 ms",
        pct(page_samples, 90) <= 2000,
    )

    admin = User.objects.get(username="sysadmin")
    client = Client()
    client.force_login(admin)
    for path, label in [
        ("/accounts/", "账号列表页"),
        ("/org/", "组织架构页"),
        ("/calendar/", "工作日历页"),
    ]:
        client.get(path)
        samples = timed(lambda p=path: client.get(p), 20)
        note(
            f"[{vendor}] {label}（系统管理员）",
            f"p50 {pct(samples, 50):.1f} ms, p90 {pct(samples, 90):.1f} ms",
            "≤ 2000 ms",
            pct(samples, 90) <= 2000,
        )

    key = None
    from hotline.core import services

    _, key = services.token_create(actor=None, user=admin, name="bench")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    samples = timed(lambda: api.get("/api/users?limit=50&q=王"), 30)
    note(
        f"[{vendor}] API 用户查询（模糊，50 条）",
        f"p50 {pct(samples, 50):.1f} ms, p90 {pct(samples, 90):.1f} ms",
        "< 2000 ms",
        pct(samples, 90) < 2000,
    )

    # Calendar arithmetic: every deadline in the product goes through it.
    calendar = workdays.current()
    start = dt.datetime(2025, 9, 26, 16, 0, tzinfo=workdays.LOCAL_TZ)
    n = 20000
    began = time.perf_counter()
    for i in range(n):
        calendar.add_working_days(start, 1 + i % 15)
    days_rate = n / (time.perf_counter() - began)
    began = time.perf_counter()
    for i in range(n):
        calendar.add_working_hours(start, 0.5 + i % 40)
    hours_rate = n / (time.perf_counter() - began)
    note(
        "工作日历：加工作日 / 加工作小时", f"{days_rate:,.0f} / {hours_rate:,.0f} 次每秒", "", None
    )

    # Numbering: single writer and 8 concurrent writers.
    began = time.perf_counter()
    for _ in range(500):
        numbering.next_number("BENCH", "WO")
    note(
        f"[{vendor}] 编号生成（单线程 500 个）",
        f"{500 / (time.perf_counter() - began):,.0f} 个每秒",
        "",
        None,
    )
    taken: list[str] = []
    lock = threading.Lock()

    def writer():
        mine = [numbering.next_number("BENCH", "MT") for _ in range(100)]
        connection.close()
        with lock:
            taken.extend(mine)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    note(
        f"[{vendor}] 编号生成（8 个并发写入者 × 100）",
        f"{len(taken) / elapsed:,.0f} 个每秒，重复 {len(taken) - len(set(taken))} 个",
        "无重复",
        len(set(taken)) == 800,
    )

    http_load(vendor)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    note("基准进程内存峰值（Django + 演示数据）", f"{rss:.0f} MiB", "", None)
    write_report(vendor)


def _session_cookie(user: User) -> str:
    """A signed-in session for ``user``, made the way django.contrib.auth.login makes one."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def http_load(vendor: str) -> None:
    """Real HTTP against `hotline run` (uvicorn; one process, worker threads inside):
    first its capacity (clients requesting back to back), then R-PERF-2's picture —
    many signed-in users, each switching page every 5–15 s (10 s on average)."""
    import http.client
    import random
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", "run", "--port", str(port), "--no-migrate"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    pages = ["/", "/me/", "/calendar/", "/org/"]

    def drive(cookies: list[str], seconds: float, think: tuple[float, float] | None):
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds
        rng = random.Random(7)
        starts = [rng.uniform(*think) if think else 0 for _ in cookies]

        def user(cookie: str, delay: float) -> None:
            time.sleep(delay)  # users arrive spread out, not all at once
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine, failed, turn = [], 0, 0
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    connection.request(
                        "GET", pages[turn % len(pages)], headers={"Cookie": f"sessionid={cookie}"}
                    )
                    response = connection.getresponse()
                    response.read()
                    failed += response.status != 200
                except http.client.RemoteDisconnected:
                    # the server closed an idle keep-alive connection; a browser reconnects
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                except OSError:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    failed += 1
                mine.append((time.perf_counter() - began) * 1000)
                turn += 1
                if think:
                    time.sleep(random.uniform(*think))
            with lock:
                latencies.extend(mine)
                errors[0] += failed

        threads = [
            threading.Thread(target=user, args=(c, d)) for c, d in zip(cookies, starts, strict=True)
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return latencies, errors[0], time.perf_counter() - began

    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request(
                    "GET", "/api/health"
                )
                break
            except OSError:
                time.sleep(0.2)
        # The page-switching crowd: agents and the other business roles of the platform
        # (the admins and unit staff open other pages). Several sessions per person when
        # the demo has fewer people than the simulated crowd.
        users = list(
            User.objects.filter(is_active=True, must_change_password=False).exclude(
                role_assignments__role__in=["unit_handler", *ADMIN_ROLES]
            )
        )
        cookies = [_session_cookie(users[i % len(users)]) for i in range(600)]

        latencies, errors, elapsed = drive(cookies[:8], 15, None)
        capacity = len(latencies) / elapsed
        note(
            f"[{vendor}] HTTP 容量：8 个客户端连续请求（首页/个人/日历/组织轮换）15 秒，单进程",
            f"{capacity:,.0f} 页/秒，p50 {pct(latencies, 50):.0f} ms，p95 {pct(latencies, 95):.0f} ms，错误 {errors}",
            "",
            None,
        )

        online = min(len(cookies), max(10, int(capacity * 10 * 0.6)))  # ~60 % of capacity
        latencies, errors, elapsed = drive(cookies[:online], 40, (5.0, 15.0))
        note(
            f"[{vendor}] HTTP：{online} 名在线用户，每人每 5–15 秒切换页面，40 秒，单进程",
            f"{len(latencies) / elapsed:,.1f} 页/秒，p50 {pct(latencies, 50):.0f} ms，"
            f"p90 {pct(latencies, 90):.0f} ms，p95 {pct(latencies, 95):.0f} ms，错误 {errors}",
            "90% ≤ 2000 ms，其余 ≤ 3000 ms",
            pct(latencies, 90) <= 2000 and max(latencies) <= 3000 and errors == 0,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    # R-PERF-2: 1000 concurrent users at one page switch per 10 s = 100 pages per second.
    needed = -(-100 // max(1, int(capacity * 0.6)))
    note(
        f"[{vendor}] 1000 名在线用户（约 100 页/秒）所需网页进程（按 60% 负载）",
        f"{needed} 个（分布式部署：多个 hotline run --no-worker 进程，PostgreSQL + Redis）",
        "",
        None,
    )


def write_report(vendor: str, notes: list[str] = ()) -> None:
    """Rewrite ``vendor``'s section of docs/benchmarks.md (the table, then ``notes``);
    the other sections are kept."""
    lines = [
        f"## {vendor} — {dt.datetime.now():%Y-%m-%d %H:%M}（北京时间）",
        "",
        f"机器：{machine()}",
        "",
        *RESULTS.table(),
    ]
    write_section(
        ROOT / "docs" / "benchmarks.md", vendor, lines + ([""] + list(notes) if notes else [])
    )


if __name__ == "__main__":
    main()
