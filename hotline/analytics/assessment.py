"""考核 scoring engine: an assessment scheme (考核方案) is data; this module scores it.

A :class:`Scheme` is a list of :class:`Item` (考核项目), each with its nominal points (分值),
where its value comes from (a :class:`KpiMeasure` computed by ``selectors.kpi_value``, an
entered :class:`ManualValue`, or a share of entered events, :class:`EventShare`) and the
rule that turns the value into points: :class:`Linear` (target, points per step above or
below with its rounding rule, limits), :class:`Proportional` (分值 × 比率), :class:`PassFail`,
:class:`DaysBelow` (per-day deductions), :class:`Events` (per-event deductions and bonuses,
entered as manual items and approved) or :class:`Switch` (a rule chosen by volume, SY's
接通率). Composite items (SY 响应率, 附加项) have ``parts``. Grades and payment tiers
(:class:`Grade`) close the scheme. The five seeds' schemes are in ``presets.py``.

Scoring is split in two so that it can be checked by hand: :func:`gather` reads the facts
of a period (KPI values, approved manual items) into :class:`Facts`; :func:`score` is a
pure function of a scheme and facts → :class:`Scorecard` (each item's value, points and
the rule applied in Chinese, total, grade, payment rate). :func:`run` does both.
"""

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from hotline.core.errors import NotFound, Unprocessable

from .kpis import KPIS, Unit


class Rounding(StrEnum):
    """How a partial step counts: "不足 1% 按 1% 计" (ceil), "按 0% 计" (floor), or pro rata."""

    CEIL = "ceil"
    FLOOR = "floor"
    EXACT = "exact"


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


ALL_PERIODS = frozenset(PeriodKind)
PERIOD_LABELS = {PeriodKind.MONTH: "月度", PeriodKind.QUARTER: "季度", PeriodKind.YEAR: "年度"}


# --- where a value comes from ------------------------------------------------------------------


@dataclass(frozen=True)
class KpiMeasure:
    """A figure of the KPI registry: ``part`` is the value (a rate, seconds, a count) or its
    numerator / denominator; ``per_month`` divides a count by the months of the period."""

    kpi: str
    params: tuple[tuple[str, object], ...] = ()
    part: str = "value"
    channel: str | None = None
    per_month: bool = False
    noun: str = ""  # a count's noun: 通

    @property
    def key(self) -> str:
        """The measure's name in :class:`Facts` (e.g. ``answer_rate;basis=inbound``)."""
        text = self.kpi + "".join(f";{k}={v}" for k, v in self.params)
        if self.channel:
            text += f"@{self.channel}"
        return text if self.part == "value" else f"{text}.{self.part}"

    @property
    def unit(self) -> Unit:
        return KPIS[self.kpi].unit if self.part == "value" else Unit.COUNT

    @property
    def label(self) -> str:
        kpi = KPIS[self.kpi]
        if self.part == "numerator":
            return kpi.numerator
        if self.part == "denominator":
            return kpi.denominator
        return kpi.name


@dataclass(frozen=True)
class ManualValue:
    """A figure the platform does not record yet (流失率, 抽检达标率 …): entered as a manual
    item with evidence and approved; several in a period are averaged."""

    label: str
    unit: Unit = Unit.RATE


@dataclass(frozen=True)
class EventShare:
    """Approved manual events of the item ÷ a KPI figure (XC 有效投诉率 = 投诉 ÷ 人工应答量)."""

    per: KpiMeasure
    label: str = ""
    unit: Unit = Unit.RATE


Measure = KpiMeasure | ManualValue | EventShare


# --- rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """每高/低 ``size`` 加/扣 ``points`` 分; ``size`` is in the value's unit (0.01 = one
    percentage point); ``limit`` is the most points the step may add or deduct."""

    size: float
    points: float
    rounding: Rounding = Rounding.FLOOR
    limit: float | None = None


@dataclass(frozen=True)
class Linear:
    """Target with steps: at the target the item scores its points; each step worse
    (``worse``) deducts, each step better (``better``, if any) adds; ``bonus_at`` adds
    fixed points once the value reaches a threshold (SX 满意率 ≥ 99% 加 1 分)."""

    target: float
    higher_is_better: bool = True
    worse: Step | None = None
    better: Step | None = None
    bonus_at: tuple[float, float] | None = None


@dataclass(frozen=True)
class Proportional:
    """得分 = 分值 × 指标值 (the seed gives only the formula of the rate)."""


@dataclass(frozen=True)
class PassFail:
    """达标得满分，未达标不得分."""

    target: float
    higher_is_better: bool = True


@dataclass(frozen=True)
class DaysBelow:
    """Each day of the period whose value is below ``threshold`` deducts ``points``."""

    threshold: float
    points: float
    wording: str = ""


@dataclass(frozen=True)
class EventKind:
    """One kind of manual event: ``points`` per event (negative deducts); a range
    ``points``…``upto`` when the seed leaves it to judgement (视情节轻重 2–10 分) — the points
    are then decided when the event is entered; ``free_per_month`` events a month cost
    nothing (SY 有效投诉 ≤ 3 件)."""

    code: str
    label: str
    points: float
    upto: float | None = None
    free_per_month: int = 0

    @property
    def ranged(self) -> bool:
        return self.upto is not None

    def bounds(self) -> tuple[float, float]:
        low, high = sorted((self.points, self.upto if self.upto is not None else self.points))
        return low, high


@dataclass(frozen=True)
class Events:
    """Per-event deductions or bonuses from approved manual items. ``from_full``: start at
    the item's points (deductions) or at 0 (bonuses); ``bonus_limit``/``deduct_limit`` cap
    what the events may add or take in total."""

    kinds: tuple[EventKind, ...]
    from_full: bool = True
    bonus_limit: float | None = None
    deduct_limit: float | None = None

    def kind(self, code: str) -> EventKind | None:
        return next((k for k in self.kinds if k.code == code), None)


@dataclass(frozen=True)
class Switch:
    """A rule chosen by volume (SY 接通率): when ``volume`` (per month) is below
    ``threshold`` the item is scored on ``low`` by ``low_rule``, otherwise on ``high`` by
    ``high_rule``."""

    volume: KpiMeasure
    threshold: float
    low: KpiMeasure
    low_rule: Linear
    high: KpiMeasure
    high_rule: Linear


@dataclass(frozen=True)
class Composite:
    """The sum of the item's parts."""


Rule = Linear | Proportional | PassFail | DaysBelow | Events | Switch | Composite


@dataclass(frozen=True)
class Item:
    """考核项目. ``floor``/``cap`` bound its points (``floor=0``: 扣完为止; None: unbounded);
    ``periods`` the runs it is scored in (XC 季度考核); ``source`` the seed's words;
    ``assumption`` what is assumed where the seed is silent."""

    code: str
    name: str
    points: float
    rule: Rule
    measure: Measure | None = None
    group: str = ""
    floor: float | None = 0.0
    cap: float | None = None
    periods: frozenset = ALL_PERIODS
    parts: tuple["Item", ...] = ()
    source: str = ""
    assumption: str = ""

    def walk(self):
        yield self
        for part in self.parts:
            yield from part.walk()


@dataclass(frozen=True)
class Grade:
    """等次: reached at ``min_score`` (or, with ``all_met``, when every item is met)."""

    label: str
    min_score: float
    payment_rate: float | None = None


@dataclass(frozen=True)
class Scheme:
    id: str
    name: str
    seed: str
    items: tuple[Item, ...]
    grades: tuple[Grade, ...] = ()  # highest first
    pass_all: tuple[str, str] | None = None  # (label if all met, label otherwise): XC 验收
    payment_note: str = ""
    total_floor: float | None = 0.0
    note: str = ""

    @property
    def nominal(self) -> float:
        """总分值: the sum of the items' points."""
        return float(sum(Decimal(str(i.points)) for i in self.items))

    def item(self, code: str) -> Item:
        for top in self.items:
            for one in top.walk():
                if one.code == code:
                    return one
        raise NotFound(f"考核方案“{self.name}”没有考核项目 {code}")

    def entry_items(self) -> list[Item]:
        """Items that take manual entries: events and entered values."""
        found = []
        for top in self.items:
            for one in top.walk():
                if isinstance(one.rule, Events) or isinstance(
                    one.measure, ManualValue | EventShare
                ):
                    found.append(one)
        return found


# --- periods ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    text: str  # 2026-03 | 2026-Q1 | 2026
    first_day: dt.date
    last_day: dt.date

    @property
    def months(self) -> int:
        return {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[self.kind]

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.first_day.year}年{self.first_day.month}月"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.first_day.year}年第{(self.first_day.month - 1) // 3 + 1}季度"
        return f"{self.first_day.year}年"

    def month_starts(self) -> list[dt.date]:
        return [
            dt.date(self.first_day.year, self.first_day.month + i, 1) for i in range(self.months)
        ]


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|[Qq]([1-4])))?$")


def parse_period(text: str | None) -> Period:
    """``YYYY-MM``, ``YYYY-Qn`` or ``YYYY`` → :class:`Period`; anything else → 422."""
    text = (text or "").strip()
    match = _PERIOD.match(text)
    if not match:
        raise Unprocessable(
            "统计期格式不正确，应为 YYYY-MM（月）、YYYY-Qn（季度）或 YYYY（年），如 2026-03",
            field="period",
        )
    year = int(match[1])
    if not 2000 <= year <= 2100:
        raise Unprocessable("统计期年份应在 2000 至 2100 之间", field="period")
    if match[2]:
        month = int(match[2])
        if not 1 <= month <= 12:
            raise Unprocessable("统计期月份应在 01 至 12 之间", field="period")
        last = calendar.monthrange(year, month)[1]
        return Period(
            PeriodKind.MONTH,
            f"{year}-{month:02d}",
            dt.date(year, month, 1),
            dt.date(year, month, last),
        )
    if match[3]:
        quarter = int(match[3])
        first = dt.date(year, 3 * quarter - 2, 1)
        end_month = 3 * quarter
        last = dt.date(year, end_month, calendar.monthrange(year, end_month)[1])
        return Period(PeriodKind.QUARTER, f"{year}-Q{quarter}", first, last)
    return Period(PeriodKind.YEAR, str(year), dt.date(year, 1, 1), dt.date(year, 12, 31))


# --- facts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One approved manual item as the scoring sees it."""

    kind: str
    count: int = 1
    points: float | None = None  # ranged kinds: the points decided
    value: float | None = None  # value items


@dataclass
class Facts:
    """What a period holds, for :func:`score`: KPI figures by measure key, daily figures,
    and approved manual entries by item code."""

    period: Period
    values: dict[str, float | None] = field(default_factory=dict)
    daily: dict[str, list[float | None]] = field(default_factory=dict)
    entries: dict[str, list[Entry]] = field(default_factory=dict)


# --- the scorecard ------------------------------------------------------------------------------------


@dataclass
class ItemScore:
    code: str
    name: str
    group: str
    nominal: float
    value: float | None
    value_text: str
    points: float | None  # None: not scored in this period
    rule: str
    status: str = "scored"  # scored | no_data | not_in_period
    met: bool | None = None
    parts: list["ItemScore"] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "group": self.group,
            "nominal": self.nominal,
            "value": self.value,
            "value_text": self.value_text,
            "points": self.points,
            "rule": self.rule,
            "status": self.status,
            "met": self.met,
            "parts": [p.as_dict() for p in self.parts],
        }


@dataclass
class Scorecard:
    scheme: Scheme
    period: Period
    items: list[ItemScore]
    total: float
    grade: str | None
    payment_rate: float | None

    @property
    def missing(self) -> list[str]:
        """Items without data this period (scored as full, flagged)."""
        return [
            one.name
            for top in self.items
            for one in [top, *top.parts]
            if one.status == "no_data" and not one.parts
        ]

    def as_dict(self) -> dict:
        return {
            "scheme": self.scheme.id,
            "scheme_name": self.scheme.name,
            "period": self.period.text,
            "period_label": self.period.label,
            "total": self.total,
            "nominal": self.scheme.nominal,
            "grade": self.grade,
            "payment_rate": self.payment_rate,
            "missing": self.missing,
            "items": [i.as_dict() for i in self.items],
        }


# --- numbers as people read them ---------------------------------------------------------------------


def _d(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _num(value: float) -> str:
    """12 → "12", 0.5 → "0.5", 1.25 → "1.25" (no float noise)."""
    text = format(_d(value).quantize(Decimal("0.0001"), ROUND_HALF_UP).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _pct(rate: float) -> str:
    return f"{_num(float(_d(rate) * 100))}%"


def format_value(value: float | None, unit: Unit, noun: str = "") -> str:
    if value is None:
        return "—"
    if unit == Unit.RATE:
        return _pct(round(value, 6))
    if unit == Unit.SECONDS:
        return f"{_num(round(value, 1))} 秒"
    return f"{value:,.0f}{(' ' + noun) if noun else ''}"


def _size_text(size: float, unit: Unit, noun: str = "") -> str:
    if unit == Unit.RATE:
        return _pct(size)
    if unit == Unit.SECONDS:
        return f"{_num(size)} 秒"
    if size >= 10_000:
        return f"{_num(size / 10_000)} 万{noun}"
    return f"{_num(size)}{noun}"


def _steps(diff: float, step: Step) -> Decimal:
    """How many steps a shortfall or excess (≥ 0, in the value's unit) counts as."""
    raw = (_d(diff) / _d(step.size)).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    if step.rounding == Rounding.CEIL:
        return Decimal(math.ceil(raw))
    if step.rounding == Rounding.FLOOR:
        return Decimal(math.floor(raw))
    return raw


def _rounding_text(step: Step, unit: Unit, noun: str) -> str:
    size = _size_text(step.size, unit, noun)
    zero = _size_text(0, unit, noun) if unit == Unit.RATE else "0"
    return {
        Rounding.CEIL: f"不足 {size} 按 {size} 计",
        Rounding.FLOOR: f"不足 {size} 按 {zero} 计",
        Rounding.EXACT: "不足部分按比例计",
    }[step.rounding]


def _bound(points: Decimal, item: Item) -> Decimal:
    if item.floor is not None:
        points = max(points, _d(item.floor))
    if item.cap is not None:
        points = min(points, _d(item.cap))
    return points


def _round2(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), ROUND_HALF_UP))


def _outcome(delta: Decimal, points: Decimal) -> str:
    if delta > 0:
        return f"加 {_num(delta)} 分，得 {_num(points)} 分"
    if delta < 0:
        return f"扣 {_num(-delta)} 分，得 {_num(points)} 分"
    return f"得 {_num(points)} 分"


# --- scoring -----------------------------------------------------------------------------------------


def _measure_unit(measure: Measure | None) -> Unit:
    return measure.unit if measure is not None else Unit.COUNT


def _noun(measure) -> str:
    return getattr(measure, "noun", "")


def _value(item: Item, measure: Measure, facts: Facts) -> float | None:
    if isinstance(measure, KpiMeasure):
        return facts.values.get(measure.key)
    entries = facts.entries.get(item.code, [])
    if isinstance(measure, ManualValue):
        values = [e.value for e in entries if e.value is not None]
        return sum(values) / len(values) if values else None
    per = facts.values.get(measure.per.key)
    if not per:
        return None
    return sum(e.count for e in entries if e.value is None) / per


def _linear(item: Item, rule: Linear, value: float, unit: Unit, noun: str, base: Decimal):
    """(points before bounds, delta, words of the rule, met)."""
    sign = "≥" if rule.higher_is_better else "≤"
    words = [f"目标 {sign}{_size_text(rule.target, unit, noun)}"]
    if rule.better is None:
        words.append("达到目标得满分")
    gap = (value - rule.target) if rule.higher_is_better else (rule.target - value)
    gap = float(_d(gap).quantize(Decimal("0.0000001"), ROUND_HALF_UP))
    delta = Decimal(0)
    worse_word = "低" if rule.higher_is_better else "超出"
    better_word = "高" if rule.higher_is_better else "少"
    if rule.worse is not None:
        size = _size_text(rule.worse.size, unit, noun)
        text = f"每{worse_word} {size} 扣 {_num(rule.worse.points)} 分，{_rounding_text(rule.worse, unit, noun)}"
        if rule.worse.limit is not None:
            text += f"，最多扣 {_num(rule.worse.limit)} 分"
        words.append(text)
        if gap < 0:
            delta -= _steps(-gap, rule.worse) * _d(rule.worse.points)
            if rule.worse.limit is not None:
                delta = max(delta, -_d(rule.worse.limit))
    if rule.better is not None:
        size = _size_text(rule.better.size, unit, noun)
        text = f"每{better_word} {size} 加 {_num(rule.better.points)} 分，{_rounding_text(rule.better, unit, noun)}"
        if rule.better.limit is not None:
            text += f"，最高加 {_num(rule.better.limit)} 分"
        words.append(text)
        if gap > 0:
            delta += _steps(gap, rule.better) * _d(rule.better.points)
            if rule.better.limit is not None:
                delta = min(delta, _d(rule.better.limit))
    if rule.bonus_at is not None:
        threshold, bonus = rule.bonus_at
        words.append(f"达到 {_size_text(threshold, unit, noun)} 另加 {_num(bonus)} 分")
        reached = value >= threshold if rule.higher_is_better else value <= threshold
        if reached:
            delta += _d(bonus)
    if item.floor == 0:
        words.append("扣完为止")
    return base + delta, words, gap >= 0


def _score_item(item: Item, facts: Facts) -> ItemScore:
    nominal = float(item.points)
    if facts.period.kind not in item.periods:
        kinds = "、".join(PERIOD_LABELS[k] for k in PeriodKind if k in item.periods)
        return ItemScore(
            item.code,
            item.name,
            item.group,
            nominal,
            None,
            "—",
            None,
            f"{kinds}考核项目，本期（{PERIOD_LABELS[facts.period.kind]}）不计分",
            "not_in_period",
        )
    rule = item.rule
    if isinstance(rule, Composite):
        parts = [_score_item(part, facts) for part in item.parts]
        total = sum((_d(p.points) for p in parts if p.points is not None), Decimal(0))
        bounded = _bound(total, item)
        names = "＋".join(f"{p.name} {_num(p.points)}" for p in parts if p.points is not None)
        text = f"由 {len(parts)} 个分项合计：{names}"
        if bounded != total:
            text += f"；合计 {_num(total)} 分，按上下限计"
        status = "no_data" if all(p.status == "no_data" for p in parts) else "scored"
        return ItemScore(
            item.code,
            item.name,
            item.group,
            nominal,
            None,
            "—",
            _round2(bounded),
            f"{text} → 得 {_num(_round2(bounded))} 分",
            status,
            parts=parts,
        )
    if isinstance(rule, Events):
        return _score_events(item, rule, facts)
    if isinstance(rule, DaysBelow):
        return _score_days(item, rule, facts)
    measure, unit = item.measure, _measure_unit(item.measure)
    prefix = ""
    if isinstance(rule, Switch):
        volume = facts.values.get(rule.volume.key)
        if volume is None:
            return _no_data(item, "本期无呼入量数据")
        monthly = volume / facts.period.months
        vol_text = f"月均{rule.volume.label}" if facts.period.months > 1 else "月呼入量"
        if monthly < rule.threshold:
            measure, rule_used = rule.low, rule.low_rule
            prefix = (
                f"{vol_text} {format_value(monthly, Unit.COUNT, '通')}"
                f"（不足 {_size_text(rule.threshold, Unit.COUNT, '通')}），按接通率计分："
            )
        else:
            measure, rule_used = rule.high, rule.high_rule
            prefix = (
                f"{vol_text} {format_value(monthly, Unit.COUNT, '通')}"
                f"（达 {_size_text(rule.threshold, Unit.COUNT, '通')}），按月接通量计分："
            )
        unit = measure.unit
        rule = rule_used
    value = _value(item, measure, facts)
    noun = _noun(measure)
    if value is not None and isinstance(measure, KpiMeasure) and measure.per_month:
        value = value / facts.period.months
    if value is None:
        return _no_data(item, prefix + _describe(rule, unit, noun, item))
    value_text = format_value(value, unit, noun)
    base = _d(item.points)

    def scored(points: Decimal, text: str, met: bool | None = None) -> ItemScore:
        return ItemScore(
            item.code,
            item.name,
            item.group,
            nominal,
            value,
            value_text,
            _round2(points),
            text,
            met=met,
        )

    if isinstance(rule, Linear):
        raw, words, met = _linear(item, rule, value, unit, noun, base)
        points = _bound(raw, item)
        text = prefix + "，".join(words) + f"；实际 {value_text} → "
        if points == base and met and rule.better is None and rule.bonus_at is None:
            text += f"达标，得满分 {_num(points)} 分"
        elif points != raw and points == _d(item.floor or 0) and raw < points:
            text += f"扣完为止，得 {_num(points)} 分"
        else:
            text += _outcome(points - base, points)
        return scored(points, text, met)
    if isinstance(rule, Proportional):
        points = _bound(base * _d(min(max(value, 0.0), 1.0)), item)
        text = (
            f"得分 = 分值 {_num(base)} × {_measure_name(measure)}；"
            f"实际 {value_text} → 得 {_num(_round2(points))} 分"
        )
        return scored(points, text)
    if isinstance(rule, PassFail):
        met = value >= rule.target if rule.higher_is_better else value <= rule.target
        sign = "≥" if rule.higher_is_better else "≤"
        points = base if met else Decimal(0)
        text = (
            f"目标 {sign}{_size_text(rule.target, unit, noun)}，达标得 {_num(base)} 分，未达标不得分；"
            f"实际 {value_text} → {'达标' if met else '未达标'}，得 {_num(points)} 分"
        )
        return scored(points, text, met)
    raise TypeError(f"unknown rule {rule!r}")


def _measure_name(measure) -> str:
    if isinstance(measure, KpiMeasure):
        return measure.label
    return measure.label or "指标值"


def _describe(rule, unit: Unit, noun: str, item: Item) -> str:
    if isinstance(rule, Linear):
        sign = "≥" if rule.higher_is_better else "≤"
        return f"目标 {sign}{_size_text(rule.target, unit, noun)}"
    if isinstance(rule, PassFail):
        sign = "≥" if rule.higher_is_better else "≤"
        return f"目标 {sign}{_size_text(rule.target, unit, noun)}，达标得满分"
    return f"得分 = 分值 {_num(item.points)} × {_measure_name(item.measure)}"


def _no_data(item: Item, described: str) -> ItemScore:
    """Nothing measured (no calls, nothing entered): nothing to deduct, so the item keeps
    its points — flagged so that the scorecard says which items had no data."""
    points = _round2(_bound(_d(item.points), item))
    return ItemScore(
        item.code,
        item.name,
        item.group,
        float(item.points),
        None,
        "无数据",
        points,
        f"{described}；本期无数据（或未录入），暂按 {_num(points)} 分计",
        "no_data",
    )


def _score_events(item: Item, rule: Events, facts: Facts) -> ItemScore:
    entries = [e for e in facts.entries.get(item.code, []) if e.value is None]
    counts: dict[str, int] = {}
    points_of: dict[str, Decimal] = {}
    for entry in entries:
        kind = rule.kind(entry.kind)
        if kind is None:
            continue
        counts[kind.code] = counts.get(kind.code, 0) + entry.count
        each = _d(entry.points if kind.ranged and entry.points is not None else kind.points)
        points_of[kind.code] = points_of.get(kind.code, Decimal(0)) + each * entry.count
    added = taken = Decimal(0)
    seen = []
    for kind in rule.kinds:
        n = counts.get(kind.code, 0)
        if not n:
            continue
        free = kind.free_per_month * facts.period.months
        total = points_of[kind.code]
        if free:
            charged = max(0, n - free)
            total = total / n * charged if n else Decimal(0)
        if total > 0:
            added += total
        else:
            taken += -total
        signed = f"+{_num(total)}" if total > 0 else f"−{_num(-total)}" if total < 0 else "不扣分"
        seen.append(f"{kind.label} {n} 次（{signed}）")
    if rule.bonus_limit is not None:
        added = min(added, _d(rule.bonus_limit))
    if rule.deduct_limit is not None:
        taken = min(taken, _d(rule.deduct_limit))
    base = _d(item.points) if rule.from_full else Decimal(0)
    raw = base + added - taken
    points = _bound(raw, item)
    described = []
    for kind in rule.kinds:
        low, high = kind.bounds()
        verb = "加" if kind.points > 0 else "扣"
        amount = _num(abs(kind.points))
        if kind.ranged:
            lo, hi = sorted((abs(low), abs(high)))
            amount = f"{_num(lo)}–{_num(hi)}"
        text = f"{kind.label}每次{verb} {amount} 分"
        if kind.free_per_month:
            text = (
                f"{kind.label}每月 {kind.free_per_month} 次以内不扣分，超出每次{verb} {amount} 分"
            )
        described.append(text)
    if rule.bonus_limit is not None:
        described.append(f"最多加 {_num(rule.bonus_limit)} 分")
    if rule.deduct_limit is not None:
        described.append(f"最多扣 {_num(rule.deduct_limit)} 分")
    if item.floor == 0 and rule.from_full:
        described.append("扣完为止")
    happened = "、".join(seen) if seen else "无"
    text = "；".join(described) + f"。本期（已审核）：{happened} → "
    if raw < points:
        text += f"扣完为止，得 {_num(points)} 分"
    else:
        text += _outcome(points - base, points) if rule.from_full else _outcome(points, points)
    count = sum(counts.values())
    return ItemScore(
        item.code,
        item.name,
        item.group,
        float(item.points),
        float(count),
        f"{count} 次",
        _round2(points),
        text,
    )


def _score_days(item: Item, rule: DaysBelow, facts: Facts) -> ItemScore:
    measure = item.measure
    days = facts.daily.get(measure.key, [])
    measured = [v for v in days if v is not None]
    bad = sum(1 for v in measured if v < rule.threshold)
    base = _d(item.points)
    raw = base - _d(rule.points) * bad
    points = _bound(raw, item)
    wording = rule.wording or f"{_measure_name(measure)}低于 {_pct(rule.threshold)}"
    text = (
        f"{wording}的，每日扣 {_num(rule.points)} 分，扣完为止；本期有数据 {len(measured)} 日，"
        f"其中 {bad} 日低于 {_pct(rule.threshold)} → "
    )
    text += f"扣完为止，得 {_num(points)} 分" if raw < points else _outcome(points - base, points)
    if not measured:
        return _no_data(item, f"{wording}的，每日扣 {_num(rule.points)} 分")
    return ItemScore(
        item.code,
        item.name,
        item.group,
        float(item.points),
        float(bad),
        f"{bad} 日",
        _round2(points),
        text,
        met=bad == 0,
    )


def score(scheme: Scheme, facts: Facts) -> Scorecard:
    """The scorecard of a scheme over the facts of one period (a pure function)."""
    items = [_score_item(item, facts) for item in scheme.items]
    total = sum((_d(i.points) for i in items if i.points is not None), Decimal(0))
    if scheme.total_floor is not None:
        total = max(total, _d(scheme.total_floor))
    total_f = _round2(total)
    grade, payment = None, None
    if scheme.pass_all is not None:
        scored = [i for i in items if i.points is not None]
        grade = (
            scheme.pass_all[0] if all(i.met is not False for i in scored) else scheme.pass_all[1]
        )
    for tier in scheme.grades:
        if total_f >= tier.min_score:
            grade, payment = tier.label, tier.payment_rate
            break
    return Scorecard(scheme, facts.period, items, total_f, grade, payment)


# --- reading the facts of a period --------------------------------------------------------------------


def measures_of(scheme: Scheme) -> tuple[list[KpiMeasure], list[KpiMeasure]]:
    """The KPI figures a scheme reads: (period figures, daily figures)."""
    period, daily = {}, {}
    for top in scheme.items:
        for item in top.walk():
            rule = item.rule
            if isinstance(rule, Switch):
                for m in (rule.volume, rule.low, rule.high):
                    period[m.key] = m
            elif isinstance(rule, DaysBelow):
                daily[item.measure.key] = item.measure
            elif isinstance(item.measure, KpiMeasure):
                period[item.measure.key] = item.measure
            elif isinstance(item.measure, EventShare):
                period[item.measure.per.key] = item.measure.per
    return list(period.values()), list(daily.values())


def gather(scheme: Scheme, period: Period, platform, *, now=None) -> Facts:
    """Read a period's facts: each KPI the scheme uses, once (selectors.kpi_value), the
    daily figures of per-day rules, and the approved manual items of the period."""
    from . import selectors
    from .models import ManualItem

    start, end = selectors.period(period.first_day, period.last_day)
    facts = Facts(period)
    figures, daily = measures_of(scheme)
    for m in figures:
        got = selectors.kpi_value(
            m.kpi,
            start=start,
            end=end,
            platform=platform,
            channel=m.channel,
            now=now,
            **dict(m.params),
        )
        facts.values[m.key] = getattr(got, m.part)
    for m in daily:
        values = []
        day = period.first_day
        while day <= period.last_day:
            day_start, day_end = selectors.period(day, day)
            got = selectors.kpi_value(
                m.kpi,
                start=day_start,
                end=day_end,
                platform=platform,
                channel=m.channel,
                now=now,
                **dict(m.params),
            )
            values.append(got.value)
            day += dt.timedelta(days=1)
        facts.daily[m.key] = values
    approved = ManualItem.objects.filter(
        platform=platform,
        scheme=scheme.id,
        state=ManualItem.State.APPROVED,
        month__gte=period.first_day,
        month__lte=period.last_day,
    ).order_by("month", "pk")
    for row in approved:
        facts.entries.setdefault(row.item_code, []).append(
            Entry(kind=row.kind, count=row.count, points=row.points, value=row.value)
        )
    return facts


def run(scheme_id: str, period_text: str, platform, *, now=None) -> Scorecard:
    """The scorecard of a preset scheme for ``YYYY-MM`` / ``YYYY-Qn`` / ``YYYY``."""
    from .presets import get_scheme

    scheme = get_scheme(scheme_id)
    period = parse_period(period_text)
    return score(scheme, gather(scheme, period, platform, now=now))
