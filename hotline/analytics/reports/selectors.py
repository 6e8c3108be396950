"""Reads of 统计报表: who may see reports, the platforms they may choose, and the report
files already made (by the worker or on demand) that they may download."""

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from hotline.core.errors import Forbidden, NotFound
from hotline.core.models import Platform
from hotline.core.scope import scope_of

from . import FORMATS, REPORTS, ReportKind, display_name
from .base import Period
from .services import report_dir

# The roles that read reports (as 热点分析's menu entry has them).
VIEWER_ROLES = ("analyst", "team_leader", "manager", "office")
NAME = re.compile(
    r"^(?P<platform>[A-Z]{2,8})-(?P<report>[a-z_]+)-(?P<period>\d{4}(?:-W\d{2}|-\d{2}(?:-\d{2})?)?)\.(?P<fmt>xlsx|docx)$"
)


def may_view(user) -> bool:
    return getattr(user, "is_authenticated", False) and any(
        code in user.role_codes for code in VIEWER_ROLES
    )


def check_viewer(user) -> None:
    if not may_view(user):
        raise Forbidden("统计报表仅供数据分析员、值班长、项目经理与热线办查看")


def platforms_for(user) -> list[Platform]:
    """The platforms whose reports the user may make: theirs and those below it."""
    return list(
        Platform.objects.filter(pk__in=scope_of(user).platform_ids, is_active=True).order_by("path")
    )


def platform_for(user, code: str | None) -> Platform:
    """The platform asked for (default: the user's own), within the user's data scope."""
    if not code:
        return user.platform
    found = Platform.objects.filter(code=str(code).strip().upper()).first()
    if found is None or found.pk not in scope_of(user).platform_ids:
        raise NotFound("平台不存在或不在您的管辖范围内")
    return found


@dataclass(frozen=True)
class StoredFile:
    name: str
    kind: ReportKind
    platform: Platform
    period: Period
    fmt: str
    size: int
    made_at: dt.datetime

    @property
    def title(self) -> str:
        return display_name(self.kind, self.platform, self.period, self.fmt)

    @property
    def format_label(self) -> str:
        return FORMATS[self.fmt][1]


def _parse(path: Path, platforms: dict) -> StoredFile | None:
    found = NAME.match(path.name)
    if not found or found["report"] not in REPORTS or found["platform"] not in platforms:
        return None
    try:
        period = Period.parse(found["period"])
    except Exception:
        return None
    stat = path.stat()
    return StoredFile(
        path.name,
        REPORTS[found["report"]],
        platforms[found["platform"]],
        period,
        found["fmt"],
        stat.st_size,
        dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC),
    )


def stored_files(user, limit: int = 100) -> list[StoredFile]:
    """The report files of the user's platforms, newest first."""
    folder = report_dir()
    if not folder.is_dir():
        return []
    platforms = {p.code: p for p in platforms_for(user)}
    files = [f for f in (_parse(p, platforms) for p in folder.iterdir() if p.is_file()) if f]
    files.sort(key=lambda f: f.made_at, reverse=True)
    return files[:limit]


def stored_path(user, name: str) -> StoredFile:
    """One stored file the user may download, or NotFound (bad names included: no path
    outside the folder is ever opened)."""
    if not NAME.match(name or ""):
        raise NotFound("报表文件不存在")
    path = report_dir() / name
    platforms = {p.code: p for p in platforms_for(user)}
    found = _parse(path, platforms) if path.is_file() else None
    if found is None:
        raise NotFound("报表文件不存在")
    return found
