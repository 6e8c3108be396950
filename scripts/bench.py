"""make bench: measure the foundation's speed targets and write docs/benchmarks.md.

Targets (R-PERF-2/3): ordinary page ≤ 2 s (90% of page switches), query < 2 s,
live change of permissions < 5 s. Measured in-process with Django's test client against
a database holding the demo hotline, so the figures are server time without network.
Run on SQLite by default; set DATABASE_URL to measure PostgreSQL too.
"""

import datetime as dt
import os
import platform
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

RESULTS: list[tuple[str, str, str, str]] = []  # (what, figure, target, verdict)


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def note(what: str, figure: str, target: str = "", ok: bool | None = None) -> None:
    verdict = "" if ok is None else ("达标" if ok else "未达标")
    RESULTS.append((what, figure, target, verdict))
    print(f"{what}: {figure} {target} {verdict}")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


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

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    note("基准进程内存峰值（Django + 演示数据）", f"{rss:.0f} MiB", "", None)
    write_report(vendor)


def write_report(vendor: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    header = "# 性能基准 · Benchmarks\n\n由 `make bench`（scripts/bench.py）生成；设置 DATABASE_URL 可测 PostgreSQL。\n"
    sections = {}
    if path.exists():  # keep the other database's section
        current = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("## "):
                current = line[3:].split(" ")[0]
                sections[current] = [line]
            elif current:
                sections[current].append(line)
    lines = [
        f"## {vendor} — {dt.datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"机器：{machine()}",
        "",
        "| 项目 | 结果 | 目标 | 结论 |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in RESULTS]
    sections[vendor] = lines + [""]
    body = "\n".join("\n".join(v) for _, v in sorted(sections.items()))
    path.write_text(header + "\n" + body + "\n", encoding="utf-8")
    print(f"写入 {path}")


if __name__ == "__main__":
    main()
