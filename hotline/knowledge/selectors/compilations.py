"""汇编汇总: for a week, month, year or a custom range, the articles of one platform that
were added (published for the first time), changed (a new version published) and that
expired (失效日期 in the period).

Where publication is read from: every publication goes through the move 审核通过并发布
(``services.articles.article_move``), which writes an audit row
``kb.article.approve`` with the version published — the audit trail is the append-only
record of who published what and when. Articles placed in the database without the
services (the demo knowledge base, bulk loads) have no ``kb.article.create`` audit row;
they were published as created, so their ``created_at`` counts as their first
publication. An article first published in the period is listed as added only, even if
revised again within the same period.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from hotline.core.errors import NotFound, Unprocessable
from hotline.core.models import AuditEntry, Platform, User

from ..lifecycle import ARTICLE_MOVES, ArticleState
from ..models import Article, ArticleVersion, Dimension
from . import articles as article_selectors

PERIODS = {"week": "周", "month": "月", "year": "年", "custom": "自定义"}
CUSTOM_MAX_DAYS = 366
APPROVE = f"kb.article.{ARTICLE_MOVES['approve'].code}"
CREATE = "kb.article.create"
OBJECT_TYPE = Article._meta.label_lower
STORE_DIR = ("kb", "compilations")
# SY-week-2026-W05.xlsx, SY-month-2026-01.docx
FILE_NAME = re.compile(
    r"^(?P<platform>[A-Z0-9]{2,12})-(?P<kind>week|month)-(?P<label>\d{4}-(?:W\d{2}|\d{2}))"
    r"\.(?P<fmt>xlsx|docx)$"
)


# --- periods ------------------------------------------------------------------------------------


def period_range(
    kind: str,
    day: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """The first and last day (both included) of the week (Monday–Sunday), month or year
    containing ``day``, or of a custom range ``start``–``end``."""
    if kind not in PERIODS:
        raise Unprocessable("汇编周期须为周、月、年或自定义", field="period")
    if kind == "custom":
        if start is None or end is None:
            raise Unprocessable("自定义期间须填写开始和结束日期", field="start")
        if start > end:
            raise Unprocessable("结束日期不能早于开始日期", field="end")
        if (end - start).days + 1 > CUSTOM_MAX_DAYS:
            raise Unprocessable("自定义期间最长一年", field="end")
        return start, end
    day = day or timezone.localdate()
    if kind == "week":
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=6)
    if kind == "month":
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return first, following - dt.timedelta(days=1)
    return day.replace(month=1, day=1), day.replace(month=12, day=31)


def period_title(kind: str, start: dt.date, end: dt.date) -> str:
    """2026年第5周，1月26日—2月1日 / 2026年1月 / 2026年 / 2026年1月1日—1月15日."""
    if kind == "week":
        year, week, _ = start.isocalendar()
        return f"{year}年第{week}周，{start.month}月{start.day}日—{end.month}月{end.day}日"
    if kind == "month":
        return f"{start.year}年{start.month}月"
    if kind == "year":
        return f"{start.year}年"
    tail = (
        f"{end.month}月{end.day}日"
        if end.year == start.year
        else f"{end.year}年{end.month}月{end.day}日"
    )
    return f"{start.year}年{start.month}月{start.day}日—{tail}"


def period_label(kind: str, start: dt.date) -> str:
    """The short label in stored file names: 2026-W05, 2026-01."""
    if kind == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start:%Y-%m}"


def previous_period(kind: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The last complete week or month before ``today`` (what the Monday and 1st-of-month
    runs compile)."""
    if kind == "week":
        return period_range("week", today - dt.timedelta(days=7))
    return period_range("month", today.replace(day=1) - dt.timedelta(days=1))


# --- whose compilation --------------------------------------------------------------------------


def platforms_for(viewer: User) -> list[Platform]:
    """The platforms whose knowledge this person reads (theirs, above and below)."""
    ids = article_selectors.reading_platform_ids(viewer)
    return list(Platform.objects.filter(pk__in=ids).order_by("path"))


def platform_for(viewer: User, code: str = "") -> Platform:
    """The platform named by ``code`` among those the viewer reads (default: their own)."""
    if not code:
        return viewer.platform
    platform = next((p for p in platforms_for(viewer) if p.code == code.upper()), None)
    if platform is None:
        raise NotFound("平台不存在或不在您的查阅范围内", field="platform")
    return platform


# --- the lists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One article in one list of a compilation."""

    id: int
    title: str
    category: str
    form: str
    at: dt.date | None  # published (added, changed) or expiry date (expired)
    version: int | None = None
    note: str = ""  # the version's 修改说明 (changed)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "category": self.category,
            "form": self.form,
            "at": self.at,
            "version": self.version,
            "note": self.note,
        }


@dataclass(frozen=True)
class Compilation:
    platform: Platform
    kind: str
    start: dt.date
    end: dt.date
    added: list[Row] = field(default_factory=list)
    changed: list[Row] = field(default_factory=list)
    expired: list[Row] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.platform.name}知识汇编（{period_title(self.kind, self.start, self.end)}）"

    @property
    def summary(self) -> str:
        return (
            f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}，新增知识 {len(self.added)} 条，"
            f"变更知识 {len(self.changed)} 条，失效知识 {len(self.expired)} 条。"
        )

    @property
    def sections(self) -> list[tuple[str, str, list[Row]]]:
        """(key, heading, rows) of the three lists, in the order they are shown."""
        return [
            ("added", "新增知识", self.added),
            ("changed", "变更知识", self.changed),
            ("expired", "失效知识", self.expired),
        ]


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    return first, first + dt.timedelta(days=(end - start).days + 1)


CHUNK = 500  # ids per IN (…) list: well under every backend's limit of parameters


def _chunks(values) -> list[list]:
    values = sorted(values)
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _approvals_between(ids: set[int], low: dt.datetime, high: dt.datetime):
    """(article, at, version) of the publications in [low, high) of these articles."""
    rows = AuditEntry.objects.filter(
        action=APPROVE, object_type=OBJECT_TYPE, at__gte=low, at__lt=high
    ).order_by("at", "pk")
    found = []
    for object_id, at, detail in rows.values_list("object_id", "at", "detail"):
        if object_id.isdigit() and int(object_id) in ids:
            found.append((int(object_id), at, (detail or {}).get("version")))
    return found


def _audited(action: str, ids, *, before: dt.datetime | None = None) -> set[int]:
    """Which of these articles have an audit row of ``action`` (before a moment)."""
    found = set()
    for chunk in _chunks(ids):
        rows = AuditEntry.objects.filter(
            action=action, object_type=OBJECT_TYPE, object_id__in=[str(pk) for pk in chunk]
        )
        if before is not None:
            rows = rows.filter(at__lt=before)
        found.update(int(pk) for pk in rows.values_list("object_id", flat=True).distinct())
    return found


def compile_period(
    platform: Platform, start: dt.date, end: dt.date, *, kind: str = "custom"
) -> Compilation:
    low, high = _bounds(start, end)
    articles = Article.objects.filter(platform=platform)
    in_period = _approvals_between(set(articles.values_list("pk", flat=True)), low, high)
    touched = {pk for pk, _, _ in in_period}
    created_now = set(
        articles.filter(
            published_at__isnull=False, created_at__gte=low, created_at__lt=high
        ).values_list("pk", flat=True)
    )
    # Created without the services (demo, bulk load): published as created.
    maybe_loaded = touched | created_now
    loaded = {}
    for chunk in _chunks(maybe_loaded - _audited(CREATE, maybe_loaded)):
        loaded.update(
            articles.filter(pk__in=chunk, published_at__isnull=False).values_list(
                "pk", "created_at"
            )
        )
    earlier = _audited(APPROVE, touched, before=low)
    first_in_period: dict[int, dt.datetime] = {}
    latest_in_period: dict[int, tuple[dt.datetime, int | None]] = {}
    for pk, at, version in in_period:
        published_before = pk in earlier or (pk in loaded and loaded[pk] < at)
        if not published_before:
            first_in_period.setdefault(pk, at)
        latest_in_period[pk] = (at, version)
    for pk, created in loaded.items():
        if low <= created < high and pk not in first_in_period:
            first_in_period[pk] = created
    changed_ids = {pk for pk in latest_in_period if pk not in first_in_period}

    info = {}
    for chunk in _chunks(set(first_in_period) | changed_ids):
        info.update((a.pk, a) for a in articles.filter(pk__in=chunk).select_related("form"))
    expiring = list(
        articles.filter(
            expires_on__gte=start,
            expires_on__lte=end,
            published_at__isnull=False,
            state__in=[ArticleState.PUBLISHED, ArticleState.ARCHIVED],
        ).select_related("form")
    )
    names = article_selectors.path_names(Dimension.SUBJECT)
    notes = {}
    for chunk in _chunks(changed_ids):
        notes.update(
            ((article, number), note)
            for article, number, note in ArticleVersion.objects.filter(
                article__in=chunk
            ).values_list("article_id", "number", "note")
        )

    def row(article, at, version=None, note="") -> Row:
        return Row(
            id=article.pk,
            title=article.title,
            category=names.get(article.subject_id, ""),
            form=article.form.name if article.form_id else "",
            at=at,
            version=version,
            note=note,
        )

    local = timezone.localdate
    added = [row(info[pk], local(at)) for pk, at in first_in_period.items() if pk in info]
    changed = []
    for pk in changed_ids:
        if pk in info:
            at, version = latest_in_period[pk]
            changed.append(row(info[pk], local(at), version, notes.get((pk, version), "")))
    expired = [row(a, a.expires_on) for a in expiring]

    def order(rows):
        return sorted(rows, key=lambda r: (r.at or dt.date.min, r.title))

    return Compilation(
        platform=platform,
        kind=kind,
        start=start,
        end=end,
        added=order(added),
        changed=order(changed),
        expired=order(expired),
    )


# --- stored compilations (written by the worker every Monday and every 1st) --------------------


def store_dir() -> Path:
    return Path(settings.MEDIA_ROOT).joinpath(*STORE_DIR)


@dataclass(frozen=True)
class StoredFile:
    name: str
    kind: str
    label: str
    fmt: str
    size: int
    written_at: dt.datetime
    period_end: dt.date

    @property
    def kind_label(self) -> str:
        return {"week": "周汇编", "month": "月汇编"}[self.kind]


def stored_files(platform: Platform) -> list[StoredFile]:
    """The compilations the worker wrote for this platform, newest period first."""
    folder = store_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = FILE_NAME.match(path.name)
        if match is None or match["platform"] != platform.code:
            continue
        year, rest = match["label"].split("-")
        try:
            if match["kind"] == "week":
                period_end = dt.date.fromisocalendar(int(year), int(rest[1:]), 7)
            else:
                period_end = period_range("month", dt.date(int(year), int(rest), 1))[1]
        except ValueError:  # not a file this app wrote (week 99, month 13)
            continue
        stat = path.stat()
        found.append(
            StoredFile(
                name=path.name,
                kind=match["kind"],
                label=match["label"],
                fmt=match["fmt"],
                size=stat.st_size,
                written_at=dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC),
                period_end=period_end,
            )
        )
    # the latest period (by its last day) first; xlsx before docx
    return sorted(found, key=lambda f: (f.period_end, f.kind, f.fmt == "xlsx"), reverse=True)


def stored_file(viewer: User, name: str) -> Path:
    """The path of a stored compilation of a platform the viewer reads, else NotFound."""
    match = FILE_NAME.match(name or "")
    if match is None:
        raise NotFound("汇编文件不存在")
    if not any(p.code == match["platform"] for p in platforms_for(viewer)):
        raise NotFound("汇编文件不存在")
    path = store_dir() / name
    if not path.is_file():
        raise NotFound("汇编文件不存在")
    return path
