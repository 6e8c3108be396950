"""The writes of 统计报表: a report made into a file under ``VAR_DIR/reports/`` (on demand
or by the worker), audited, and — when the worker made it — the platform's 热线办
(office role) told in-app.

Files are named ``<平台代码>-<报表>-<统计期>.<格式>`` (``SY-hotline_monthly-2026-03.docx``):
one file per platform, report, period and format, rewritten when made again. Only names
of that shape are ever read back (:func:`selectors.stored_path`), so a download cannot
leave the folder.
"""

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from hotline.core import audit
from hotline.core.models import Notification, Platform
from hotline.core.notify import notify
from hotline.workorders.supervision import platform_staff

from . import REPORTS, ReportKind, display_name, file_name, render
from .base import Period

log = logging.getLogger("hotline.analytics.reports")
NOTIFIED_ROLES = ("office",)


@dataclass(frozen=True)
class Stored:
    path: Path
    name: str  # file name on disk
    title: str  # as people read it
    seconds: float  # time taken to build and write


def report_dir() -> Path:
    return Path(settings.VAR_DIR) / "reports"


def report_generate(
    *,
    actor,
    kind: ReportKind,
    platform: Platform,
    period: Period,
    fmt: str,
    now: dt.datetime | None = None,
) -> Stored:
    """Build the report, write its file (atomically: a reader never sees half a file)
    and audit who made it. Returns where it is."""
    import time

    began = time.monotonic()
    now = now or timezone.now()
    report = kind.build(platform, period, now=now)
    body = render(report, fmt)
    folder = report_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = file_name(kind, platform, period, fmt)
    partial = folder / f".{name}.{os.getpid()}.part"
    partial.write_bytes(body)
    partial.replace(folder / name)
    seconds = round(time.monotonic() - began, 2)
    audit.record(
        "report.generate",
        object_type="analytics.report",
        object_id=name,
        object_repr=display_name(kind, platform, period, fmt)[:200],
        detail={"report": kind.id, "period": period.key, "format": fmt, "seconds": seconds},
        actor=actor,
    )
    log.info("report %s written in %.2f s (%d bytes)", name, seconds, len(body))
    return Stored(folder / name, name, display_name(kind, platform, period, fmt), seconds)


def scheduled_reports(report_ids, period_kind: str, now: dt.datetime | None = None) -> list[Stored]:
    """The worker: for every active platform, make each report of ``report_ids`` for the
    last complete period of ``period_kind`` in each of its formats, and tell the
    platform's 热线办. A report that fails is logged and the others still made."""
    now = now or timezone.now()
    period = Period.latest(period_kind, timezone.localdate(now))
    made: list[Stored] = []
    for platform in Platform.objects.filter(is_active=True).order_by("path"):
        for report_id in report_ids:
            kind = REPORTS[report_id]
            files = []
            for fmt in kind.formats:
                try:
                    files.append(
                        report_generate(
                            actor=None,
                            kind=kind,
                            platform=platform,
                            period=period,
                            fmt=fmt,
                            now=now,
                        )
                    )
                except Exception:  # one bad report must not stop the night's others
                    log.exception(
                        "scheduled report %s %s %s failed", platform.code, report_id, period.key
                    )
            if not files:
                continue
            made += files
            notify(
                recipients=platform_staff(platform, *NOTIFIED_ROLES),
                kind="report.ready",
                level=Notification.Level.INFO,
                title=f"{kind.name}已生成（{period.label}）",
                body=f"{platform.name}{kind.name}，统计期 {period.label}，可在“统计报表”下载。",
                link=f"/analytics/reports/files/{files[0].name}",
                key=f"report:{files[0].name}",
            )
    return made
