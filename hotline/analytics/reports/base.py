"""What every report (统计报表) is made of: its period (统计期), its content (sections of
sentences, tables and charts), the KPI figures cut by a dimension, and the xlsx of its
tables.

Figures come from the KPI registry: :func:`kpi_by` takes a KPI's own formula (the
``Parts`` of ``hotline.analytics.selectors``: the records behind its denominator and the
condition of its numerator) and lets the database group it — by hour, channel, unit,
agent, month — in one aggregate query. So a report never holds a second copy of a
formula, and a month of a Sanya year is a handful of GROUP BY queries, not a loop over
rows.
"""

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractHour, TruncDate, TruncMonth

from hotline.analytics import selectors
from hotline.analytics.kpis import KPIS, Unit, format_number
from hotline.contact.models import AgentStateInterval, ContactFact, Session
from hotline.core import workdays
from hotline.core.errors import Invalid
from hotline.core.exports import styled_sheets
from hotline.workorders.models import Event, WorkOrder

TZ = workdays.LOCAL_TZ

# --- the period ----------------------------------------------------------------------------

PERIOD_KINDS = {"day": "日", "week": "周", "month": "月", "year": "年"}
PERIOD_FORMATS = {
    "day": "YYYY-MM-DD",
    "week": "YYYY-Www（ISO 周）",
    "month": "YYYY-MM",
    "year": "YYYY",
}
_PATTERNS = [
    ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
    ("week", re.compile(r"^(\d{4})-W(\d{2})$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("year", re.compile(r"^(\d{4})$")),
]


@dataclass(frozen=True)
class Period:
    """统计期: a calendar day, ISO week, month or year (local dates, both inclusive)."""

    kind: str
    start: dt.date
    end: dt.date

    @classmethod
    def parse(cls, text: str) -> "Period":
        """``2026-03-05``, ``2026-W10``, ``2026-03`` or ``2026``; Invalid otherwise."""
        text = (text or "").strip().upper()
        for kind, pattern in _PATTERNS:
            found = pattern.match(text)
            if not found:
                continue
            numbers = [int(n) for n in found.groups()]
            try:
                if kind == "day":
                    day = dt.date(*numbers)
                    return cls(kind, day, day)
                if kind == "week":
                    start = dt.date.fromisocalendar(numbers[0], numbers[1], 1)
                    return cls(kind, start, start + dt.timedelta(days=6))
                if kind == "month":
                    return cls.month(numbers[0], numbers[1])
                if not 2000 <= numbers[0] <= 2100:
                    raise ValueError
                return cls(kind, dt.date(numbers[0], 1, 1), dt.date(numbers[0], 12, 31))
            except ValueError:
                raise Invalid(f"统计期不是有效的日期：{text}", field="period") from None
        raise Invalid(
            "统计期格式应为 " + "、".join(PERIOD_FORMATS.values()) + f"，收到：{text or '（空）'}",
            field="period",
        )

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        start = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls("month", start, following - dt.timedelta(days=1))

    @classmethod
    def latest(cls, kind: str, today: dt.date) -> "Period":
        """The last complete period of a kind before ``today`` (yesterday, last week …)."""
        if kind == "day":
            day = today - dt.timedelta(days=1)
            return cls(kind, day, day)
        if kind == "week":
            start = today - dt.timedelta(days=today.weekday() + 7)
            return cls(kind, start, start + dt.timedelta(days=6))
        if kind == "month":
            last = today.replace(day=1) - dt.timedelta(days=1)
            return cls.month(last.year, last.month)
        return cls(kind, dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))

    @property
    def key(self) -> str:
        """As written in file names and the API: 2026-03-05, 2026-W10, 2026-03, 2026."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.year}"

    @property
    def label(self) -> str:
        """As people read it: 2026年3月5日, 2026年第10周（3月2日至3月8日）, 2026年3月, 2026年."""
        s = self.start
        if self.kind == "day":
            return f"{s.year}年{s.month}月{s.day}日"
        if self.kind == "week":
            week = s.isocalendar()[1]
            e = self.end
            return f"{s.isocalendar()[0]}年第{week}周（{s.month}月{s.day}日至{e.month}月{e.day}日）"
        if self.kind == "month":
            return f"{s.year}年{s.month}月"
        return f"{s.year}年"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) instants in Asia/Shanghai."""
        return selectors.period(self.start, self.end)

    def previous(self) -> "Period":
        """The period of the same kind just before (上月, 上周, 前一日, 上年)."""
        if self.kind == "month":
            last = self.start - dt.timedelta(days=1)
            return Period.month(last.year, last.month)
        if self.kind == "year":
            y = self.start.year - 1
            return Period("year", dt.date(y, 1, 1), dt.date(y, 12, 31))
        return Period(
            self.kind,
            self.start - dt.timedelta(days=self.days),
            self.start - dt.timedelta(days=1),
        )

    def year_before(self) -> "Period":
        """The same period a year earlier (同比)."""
        if self.kind == "month":
            return Period.month(self.start.year - 1, self.start.month)
        if self.kind == "year":
            return self.previous()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            week = min(week, dt.date(year - 1, 12, 28).isocalendar()[1])
            start = dt.date.fromisocalendar(year - 1, week, 1)
            return Period("week", start, start + dt.timedelta(days=6))
        try:
            day = self.start.replace(year=self.start.year - 1)
        except ValueError:  # 29 February
            day = self.start.replace(year=self.start.year - 1, day=28)
        return Period("day", day, day)


# --- the content ---------------------------------------------------------------------------


@dataclass
class Table:
    """一张表: its rows as they are exported (counts as numbers, rates as 95.0%)."""

    title: str
    headers: list[str]
    rows: list[list]
    widths: list[int] | None = None
    note: str = ""

    def column(self, header: str) -> list:
        index = self.headers.index(header)
        return [row[index] for row in self.rows]

    def row(self, first_cell) -> list | None:
        return next((row for row in self.rows if row[0] == first_cell), None)


@dataclass
class Chart:
    """一张图 (drawn by matplotlib into the DOCX): ``kind`` bar, barh or line; each series
    is (name, values) over ``labels``."""

    kind: str
    title: str
    labels: list[str]
    series: list[tuple[str, list[float]]]
    unit: str = ""


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


@dataclass
class Report:
    """One report of one platform for one period, ready to be written as xlsx or DOCX."""

    kind: object  # ReportKind of the registry
    platform: object  # core.Platform
    period: Period
    sections: list[Section]
    generated_at: dt.datetime
    note: str = ""

    @property
    def title(self) -> str:
        return joined_title(self.platform.name, self.kind.name)

    @property
    def subtitle(self) -> str:
        return f"统计期：{self.period.label}"

    @property
    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    def table(self, title: str) -> Table:
        return next(t for t in self.tables if t.title == title)

    @property
    def text(self) -> str:
        """Every sentence of the report (what the narrative says)."""
        return "\n".join(p for s in self.sections for p in s.paragraphs)


def joined_title(platform_name: str, report_name: str) -> str:
    """三亚市12345热线 + 热线月报 → 三亚市12345热线月报 (not 热线热线月报)."""
    if platform_name.endswith("热线") and report_name.startswith("热线"):
        report_name = report_name[2:]
    return f"{platform_name}{report_name}"


def xlsx(report: Report) -> bytes:
    """Every table of the report, one sheet each (the house style), after a 概要 sheet
    with the title, period and the report's sentences."""
    summary = [[report.title], [report.subtitle]]
    summary += [[f"生成时间：{report.generated_at.astimezone(TZ):%Y-%m-%d %H:%M}"]]
    if report.note:
        summary.append([report.note])
    for section in report.sections:
        summary += [[f"【{section.title}】"]] + [[p] for p in section.paragraphs]
    sheets = [("概要", ["内容"], summary, [120])]
    used = {"概要"}
    for table in report.tables:
        name = _sheet_name(table.title, used)
        rows = table.rows + ([[f"注：{table.note}"]] if table.note else [])
        widths = table.widths or [max(10, min(40, len(h) * 2 + 4)) for h in table.headers]
        sheets.append((name, table.headers, rows, widths))
    return styled_sheets(sheets)


def _sheet_name(title: str, used: set) -> str:
    # Excel: at most 31 characters, none of []:*?/\ and unique in the workbook.
    name = re.sub(r"[\[\]:*?/\\]", "-", title)[:31]
    base, n = name, 2
    while name in used:
        name = f"{base[:28]}({n})"
        n += 1
    used.add(name)
    return name


# --- numbers as sentences and cells ----------------------------------------------------------


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def share(part: float, whole: float) -> str:
    return rate(part / whole) if whole else "—"


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def number(value) -> str:
    return f"{value:,.0f}"


def change(
    now: float | None, before: float | None, *, points: bool = False, short: bool = False
) -> str:
    """环比/同比 in words: 增长 12.3% / 下降 4.0% / 持平; for rates (``points``) the change
    in percentage points; without a previous figure, says so (``short``: "—", for a
    table cell)."""
    if now is None or before is None:
        return "—" if short else "无可比数据"
    if points:
        diff = (now - before) * 100
        if abs(diff) < 0.05:
            return "持平"
        return f"{'上升' if diff > 0 else '下降'} {abs(diff):.1f} 个百分点"
    if not before:
        if short:
            return "—"
        return "无可比数据" if not now else "无法计算增幅（基数为零）"
    ratio = (now - before) / before
    if abs(ratio) < 0.0005:
        return "持平"
    return f"{'增长' if ratio > 0 else '下降'} {abs(ratio) * 100:.1f}%"


def kpi_text(kpi_id: str, value: float | None) -> str:
    return format_number(KPIS[kpi_id], value)


# --- KPI figures cut by a dimension ---------------------------------------------------------

# The time field by which each kind of record falls into an hour, day or month: the one
# the KPI formulas filter the period on.
TIME_FIELD = {
    Session: "created_at",
    ContactFact: "at",
    Event: "at",
    WorkOrder: "created_at",
    AgentStateInterval: "started_at",
}
# Who a record is "of" when a KPI is cut by agent, as selectors filters scope.agent.
AGENT_FIELD = {
    Session: "agent_id",
    ContactFact: "agent_id",
    Event: "actor_id",
    WorkOrder: "created_by_id",
    AgentStateInterval: "agent_id",
}
# Which unit a record is "of" when a KPI is cut by unit, as selectors filters scope.unit:
# orders and the callback's satisfaction by the lead unit (主办), a branch's own steps
# (sign, return, extension) by the unit of the step.
UNIT_FIELD = {WorkOrder: "lead_unit_id", Event: "unit_id"}
UNIT_FIELD_OF_KPI = {"satisfaction_rate": "order__lead_unit_id"}
# Fields of the order a timeline event is grouped by through its order.
ORDER_FIELDS = ("order_type", "category_id", "area", "channel", "lead_unit_id", "urgency")


def dimension(name: str):
    """A grouping as a function of the record model: hour, day, month, channel, agent,
    unit, or a plain field name."""

    def by(model, kpi_id):
        if name == "hour":
            return ExtractHour(TIME_FIELD[model], tzinfo=TZ)
        if name == "day":
            return TruncDate(TIME_FIELD[model], tzinfo=TZ)
        if name == "month":
            return TruncMonth(TIME_FIELD[model], tzinfo=TZ)
        if name == "agent":
            return AGENT_FIELD[model]
        if name == "unit":
            return UNIT_FIELD_OF_KPI.get(kpi_id) or UNIT_FIELD[model]
        if model is Event and name in ORDER_FIELDS:
            return f"order__{name}"
        return name

    return by


def kpi_by(
    kpi_id: str, scope: selectors.Scope, by: str | None = None, *, where=None, **params
) -> dict:
    """The KPI's figure per group (``by``: see :func:`dimension`), or ``{None: figure}``
    without ``by``; ``where`` narrows the records (e.g. orders of some categories): a Q,
    or a function of the record model that returns one.
    One aggregate query; the numerator and denominator are the registry's."""
    from django.db.models import F

    kpi = selectors.get_kpi(kpi_id)
    p = selectors.kpi_params(kpi_id, params)
    parts = selectors.FORMULAS[kpi_id](kpi, scope, p)
    records = parts.base.order_by()
    if where is not None:
        records = records.filter(where(records.model) if callable(where) else where)
    if by is not None:
        key = dimension(by)(records.model, kpi_id)
        records = records.annotate(group_key=F(key) if isinstance(key, str) else key)
        records = records.values("group_key")
    if kpi.unit == Unit.COUNT:
        aggregates = {"num": Count("pk"), "den": Count("pk")}
    elif parts.mean:
        aggregates = {"num": Sum(parts.measure), "den": Count("pk")}
    elif parts.measure is not None:
        aggregates = {"num": Sum(parts.measure, filter=parts.hit), "den": Sum(parts.measure)}
    else:
        aggregates = {"num": Count("pk", filter=Q(parts.hit)), "den": Count("pk")}
    rows = [records.aggregate(**aggregates)] if by is None else records.annotate(**aggregates)
    found = {}
    for row in rows:
        num, den = row["num"], row["den"]
        if parts.measure is not None and not parts.mean:
            num, den = selectors._seconds(num), selectors._seconds(den)
        if kpi.unit == Unit.COUNT:
            value = selectors.KpiValue(float(num or 0), float(num or 0), None)
        elif not den:
            value = selectors.KpiValue(None, num or 0, den or 0)
        else:
            value = selectors.KpiValue(num / den, num, den)
        found[row.get("group_key")] = value
    return found


def kpi_one(kpi_id: str, scope: selectors.Scope, *, where=None, **params):
    """The KPI's figure for the whole scope (narrowed by ``where`` when given)."""
    if where is None:
        return selectors.kpi_value_in(kpi_id, scope, **params)
    return kpi_by(kpi_id, scope, where=where, **params)[None]


def order_where(q_of_order: dict):
    """A ``where`` for :func:`kpi_by` from conditions on the order (``category_id__in``
    …): on orders as written, on timeline events through their order."""

    def where(model) -> Q:
        if model is WorkOrder:
            return Q(**q_of_order)
        if model is Event:
            return Q(**{f"order__{k}": v for k, v in q_of_order.items()})
        raise ValueError(f"{model.__name__} 不能按工单条件筛选")

    return where


def scope_of(platform, period: Period, *, channel=None, now=None) -> selectors.Scope:
    start, end = period.bounds()
    return selectors.make_scope(start=start, end=end, platform=platform, channel=channel, now=now)


def records_of(kpi_id: str, scope: selectors.Scope, **params):
    """The records behind a KPI's denominator (its ``Parts.base``), unordered: what a
    report counts further (e.g. the five satisfaction levels of the rated)."""
    kpi = selectors.get_kpi(kpi_id)
    return selectors.FORMULAS[kpi_id](
        kpi, scope, selectors.kpi_params(kpi_id, params)
    ).base.order_by()
