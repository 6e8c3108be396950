"""统计报表 (reports): every report declared once, as data, in :data:`REPORTS`.

Each :class:`ReportKind` names its module's ``build(kind, platform, period, *, now)``
(which returns a :class:`base.Report` — sections of sentences, tables and charts), the
periods it takes, the formats it is written in (every report as xlsx, the monthly and
annual ones as DOCX too) and when the worker makes it. The page, the API, the worker's
tasks and ``docs/reports.md`` all read this table.
"""

import datetime as dt
from dataclasses import dataclass
from importlib import import_module

from django.utils import timezone

from hotline.core.errors import Invalid, NotFound

from .base import PERIOD_FORMATS, PERIOD_KINDS, Period, Report

FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格"),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word 文档",
    ),
}


@dataclass(frozen=True)
class ReportKind:
    id: str
    name: str
    description: str
    module: str  # of this package, holding build()
    periods: tuple[str, ...]  # PERIOD_KINDS it accepts; the first is its default
    formats: tuple[str, ...]  # of FORMATS; the first is its main one
    schedule: str = ""  # when the worker makes it (in words), "" for on demand only

    def build(self, platform, period: Period, *, now: dt.datetime | None = None) -> Report:
        module = import_module(f"{__name__}.{self.module}")
        return module.build(self, platform, period, now=now or timezone.now())

    def period(self, text: str | None, *, today: dt.date | None = None) -> Period:
        """The period asked for (default: the last complete one), checked against the
        kinds this report takes."""
        if not text:
            return Period.latest(self.periods[0], today or timezone.localdate())
        period = Period.parse(text)
        if period.kind not in self.periods:
            allowed = "、".join(f"{PERIOD_KINDS[k]}（{PERIOD_FORMATS[k]}）" for k in self.periods)
            raise Invalid(f"“{self.name}”的统计期应为：{allowed}", field="period")
        if period.start > (today or timezone.localdate()):
            raise Invalid("统计期尚未开始", field="period")
        return period

    @property
    def periods_text(self) -> str:
        return "、".join(PERIOD_KINDS[k] for k in self.periods)


REPORTS_LIST = [
    ReportKind(
        "traffic_daily",
        "话务日报",
        "分时段、分渠道的进线、请求人工、接通、放弃，接通率、平均接通时长，在岗与接待坐席",
        "traffic",
        ("day",),
        ("xlsx",),
        "每日 00:30 生成前一日",
    ),
    ReportKind(
        "orders",
        "工单报表",
        "按诉求类型、分类、区域、承办单位的受理量，按时办结率、一次性解决率、回访满意率、签收响应率",
        "orders",
        ("month", "week", "day", "year"),
        ("xlsx",),
        "每月 1 日 02:00 生成上月",
    ),
    ReportKind(
        "workload",
        "坐席工作量",
        "每名坐席的接起会话、通话时长、受理工单、前台满意率、工时利用率",
        "workload",
        ("month", "week", "day", "year"),
        ("xlsx",),
        "每月 1 日 02:00 生成上月",
    ),
    ReportKind(
        "satisfaction",
        "满意度",
        "前台服务评价（按渠道）与工单回访评价（按来源渠道、主办单位）的五级分布和满意率",
        "satisfaction",
        ("month", "week", "day", "year"),
        ("xlsx",),
        "每月 1 日 02:00 生成上月",
    ),
    ReportKind(
        "overdue_weekly",
        "每周超期清单",
        "在办工单中已超过时限的清单（与工单模块每周逾期清单同一数据）",
        "overdue",
        ("week",),
        ("xlsx",),
        "每周三 09:00 由工单模块生成（工单逾期清单）",
    ),
    ReportKind(
        "hotline_monthly",
        "热线月报",
        "总体情况与环比、同比，话务，工单分类与区域，热点问题，承办单位办理，考核指标完成情况；附图表与分析文字",
        "monthly",
        ("month",),
        ("docx", "xlsx"),
        "每月 1 日 02:00 生成上月",
    ),
    ReportKind(
        "business_monthly",
        "营商环境月报",
        "营商环境类工单（按声明的诉求分类）的数量、分类、区域、承办单位办理与不满意工单",
        "business",
        ("month",),
        ("docx", "xlsx"),
        "每月 1 日 02:00 生成上月",
    ),
    ReportKind(
        "annual",
        "年报",
        "全年总体情况与同比，逐月话务与工单，热点问题，承办单位办理，考核指标完成情况",
        "annual",
        ("year",),
        ("docx", "xlsx"),
        "每年 1 月 1 日 02:00 生成上年",
    ),
]
REPORTS: dict[str, ReportKind] = {r.id: r for r in REPORTS_LIST}


def get(report_id: str) -> ReportKind:
    kind = REPORTS.get(report_id)
    if kind is None:
        raise NotFound(f"没有这个报表：{report_id}")
    return kind


def check_format(kind: ReportKind, fmt: str | None) -> str:
    fmt = (fmt or kind.formats[0]).lower()
    if fmt not in kind.formats:
        allowed = "、".join(kind.formats)
        raise Invalid(f"“{kind.name}”可导出的格式为：{allowed}", field="format")
    return fmt


def render(report: Report, fmt: str) -> bytes:
    """The report as a file of the format (xlsx or docx)."""
    from . import base, document

    return document.docx(report) if fmt == "docx" else base.xlsx(report)


def file_name(kind: ReportKind, platform, period: Period, fmt: str) -> str:
    """``SY-hotline_monthly-2026-03.docx``: platform, report, period (ASCII, safe)."""
    return f"{platform.code}-{kind.id}-{period.key}.{fmt}"


def display_name(kind: ReportKind, platform, period: Period, fmt: str) -> str:
    from .base import joined_title

    return f"{joined_title(platform.name, kind.name)}（{period.label}）.{fmt}"
