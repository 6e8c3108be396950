"""What every benchmark script shares, without Django: the machine line, percentiles,
the result table, and the rewrite of one section of docs/benchmarks.md (the other
sections are kept as they are)."""

import os
import platform
from pathlib import Path

HEADER = (
    "# 性能基准 · Benchmarks\n\n"
    "由 `make bench`（scripts/bench.py 等）生成；设置 DATABASE_URL（及 REDIS_URL）可测 PostgreSQL。\n"
    "页面与 API 时间为进程内（Django 测试客户端）的服务端耗时；HTTP 项为真实的 `hotline run`\n"
    "进程（uvicorn）加本机客户端线程，客户端与服务端共用 2 个核。目标出自 R-PERF-2/3 与各 issue。\n"
    "`postgresql-1m` 一节由 scripts/bench_orders.py 生成（PostgreSQL，100 万工单，issue 3 的目标）。\n"
)


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


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Results(list):
    """The rows of one report: (what, figure, target, verdict)."""

    def note(self, what: str, figure: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("达标" if ok else "未达标")
        self.append((what, figure, target, verdict))
        print(f"{what}: {figure} {target} {verdict}", flush=True)

    def table(self) -> list[str]:
        return [
            "| 项目 | 结果 | 目标 | 结论 |",
            "|---|---|---|---|",
            *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self),
        ]


def write_section(path: Path, key: str, lines: list[str]) -> None:
    """Put ``lines`` (starting with the ``## <key> …`` heading) in place of the section
    ``key`` of the report at ``path`` — where it was, or at the end."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    head, sections, current = [], {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].split(" ")[0]
            sections[current] = [line]
        elif current:
            sections[current].append(line)
        else:
            head.append(line)
    sections[key] = [*lines, ""]
    body = "\n".join("\n".join(v).rstrip("\n") + "\n" for v in sections.values())
    path.write_text("\n".join(head).rstrip("\n") + "\n\n" + body, encoding="utf-8")
    print(f"写入 {path}")
