"""The scoring engine on hand-made months: each preset is fed KPI values and approved
manual items chosen here, and its scorecard is compared with the result worked out by
hand from the seed's table (the arithmetic is in the comments). Hypothesis properties: a
better KPI value never lowers an item's points; points stay within floors and caps; the
rounding rules ("不足 1% 按 1% 计" / "按 0% 计") order as they should."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.analytics import presets
from hotline.analytics.assessment import (
    Entry,
    Events,
    Facts,
    Linear,
    PeriodKind,
    Proportional,
    Rounding,
    Step,
    Switch,
    _score_item,
    _steps,
    parse_period,
    score,
)
from hotline.analytics.kpis import Unit
from hotline.core.errors import NotFound, Unprocessable

MARCH = parse_period("2026-03")


def card(scheme, values=None, entries=None, daily=None, period=MARCH):
    facts = Facts(period, values=values or {}, entries=entries or {}, daily=daily or {})
    result = score(scheme, facts)
    return result, {i.code: i for top in result.items for i in [top, *top.parts]}


def E(kind, count=1, points=None):  # noqa: N802
    return Entry(kind, count, points)


def V(value):  # noqa: N802
    return Entry("value", value=value)


# --- the presets as data ----------------------------------------------------------------------------


def test_presets_reproduce_the_seeds_tables():
    presets.check_declarations()
    assert set(presets.SCHEMES) == {"ledong", "shaanxi", "xicheng", "chengmai", "sanya"}
    assert (len(presets.SANYA.items), presets.SANYA.nominal) == (17, 110)  # 004 §七（二）
    assert (len(presets.LEDONG.items), presets.LEDONG.nominal) == (11, 105)  # 65 + 35 + 5
    assert len(presets.XICHENG.items) == 9
    assert presets.SHAANXI.nominal == 100
    assert {i.group for i in presets.LEDONG.items} == {"服务指标", "保障指标", "奖励指标"}
    assert len({i.group for i in presets.CHENGMAI.items}) == 5
    sy_grades = [(g.label, g.min_score, g.payment_rate) for g in presets.SANYA.grades]
    assert sy_grades[:3] == [("优秀", 90, 0.10), ("良好", 80, 0.10), ("合格", 60, 0.05)]
    with pytest.raises(NotFound):
        presets.get_scheme("beijing")


def test_periods_month_quarter_year_and_bad_ones():
    q = parse_period("2026-Q2")
    assert (q.kind, q.first_day.isoformat(), q.last_day.isoformat(), q.months) == (
        PeriodKind.QUARTER,
        "2026-04-01",
        "2026-06-30",
        3,
    )
    assert parse_period("2024-02").last_day.day == 29
    assert parse_period("2026").label == "2026年"
    for bad in ("", "2026-13", "2026-Q5", "26-03", "2026/03", "1999"):
        with pytest.raises(Unprocessable):
            parse_period(bad)


# --- 三亚: a month under 16 万 calls, worked out item by item ------------------------------------------


SY_VALUES = {
    "contact_volume@voice": 120_000,
    "answer_rate;basis=inbound": 0.934,
    "avg_answer_seconds": 19.5,
    "sign_response_rate": 0.90,
    "instant_answer_rate": 0.473,
    "ontime_completion_rate": 0.92,
    "satisfaction_rate;front_weight=0.4": 0.97,
    "ontime_callback_rate;rule=sla": 1.0,
    "extension_reasonable_rate": 0.5,
    "one_time_resolution_rate": 0.88,
    "return_reasonable_rate": 0.75,
    "dispatch_accuracy": 0.962,
    "ontime_callback_rate;rule=previous_workday": 0.975,
}
SY_ENTRIES = {
    "3.1": [E("late", 2)],
    "3.4": [E("no_warning", 3)],
    "4": [V(0.80)],
    "7": [V(0.95)],
    "13": [E("complaint", 5), E("media_city")],
    "16": [V(0.32)],
    "17.2": [E("absent")],
    "17.3": [E("banner", 3), E("praise_call", 2)],
    "17.5": [E("guide", 6)],
}


def test_sanya_month_scored_by_hand():
    result, items = card(presets.SANYA, SY_VALUES, SY_ENTRIES)
    expected = {
        "1": 9.5,  # 93.4% < 95%: 1.6 points short, a partial point counts 0 → −0.5
        "2": 4,  # 19.5 s: 4.5 s over 15 s → one whole 3 s → −1
        "3.1": 1,  # 2 × −0.5
        "3.2": 2,
        "3.3": 4.5,  # 5 × 90%
        "3.4": 0.7,  # 3 × −0.1
        "3": 8.2,
        "4": 4,  # 5 × 80% (entered)
        "5": 4.6,  # 47.3%: 2.7 points under 50% → 2 × −0.2
        "6": 4.6,
        "7": 4.75,
        "8": 9.7,
        "9": 5,
        "10": 2.5,
        "11": 4.4,
        "12": 3.75,
        "13": 7,  # 5 complaints, 3 free → −2; 市级媒体 −1
        "14": 5.5,  # 96.2%: 1.2 above → +0.5
        "15": 4,  # 97.5%: 2.5 under 100% → 2 × −0.5
        "16": 3,  # 32% turnover: 2 points over 30% → −2
        "17.2": -0.2,
        "17.3": 0.25,  # 5 × 0.05
        "17.5": 1,  # 6 × 0.2 = 1.2, at most 1
        "17": 1.05,
    }
    assert {code: items[code].points for code in expected} == pytest.approx(expected)
    assert items["17.4"].points is None and items["17.4"].status == "not_in_period"
    assert result.total == 85.55
    assert (result.grade, result.payment_rate) == ("良好", 0.10)
    assert items["1"].rule.startswith(
        "月呼入量 120,000 通（不足 16 万通），按接通率计分：目标 ≥95%"
    )
    assert "每低 1% 扣 0.5 分，不足 1% 按 0% 计" in items["1"].rule
    assert items["1"].rule.endswith("实际 93.4% → 扣 0.5 分，得 9.5 分")
    assert "客户有效投诉 5 次（−2）" in items["13"].rule
    assert result.missing == []


@pytest.mark.parametrize(
    ("volume", "answered", "points", "words"),
    [
        (175_000, 158_500, 10.5, "加 0.5 分"),  # 14,500 above 14.4 万: one whole 万
        (200_000, 260_000, 15, "加 5 分"),  # 11 万 above → 5.5, at most 5
        (160_000, 130_000, 9.5, "扣 0.5 分"),  # exactly 16 万 is "not under": count rule
        (300_000, 20_000, 4, "扣 6 分"),  # 12.4 万 under → 12 × −0.5
    ],
)
def test_sanya_answer_rate_depends_on_the_months_volume(volume, answered, points, words):
    values = {
        "contact_volume@voice": volume,
        "answer_rate;basis=inbound.numerator": answered,
        "answer_rate;basis=inbound": 0.5,  # not used above 16 万
    }
    _, items = card(presets.SANYA, values)
    assert items["1"].points == points
    assert "按月接通量计分：目标 ≥14.4 万通" in items["1"].rule and words in items["1"].rule


def test_sanya_grades_and_payment_tiers():
    def graded(extra_complaints, **changes):
        values = dict(SY_VALUES, **{"answer_rate;basis=inbound": 0.95}, **changes)
        entries = {"13": [E("complaint", 3 + extra_complaints)]}
        return score(presets.SANYA, Facts(MARCH, values=values, entries=entries))

    # 85.55 above, with 接通率 at 95% (+0.5), nothing entered for 3.1, 3.4, 4, 7, 16
    # (full: +1, +0.3, +1, +0.25, +2), no 附加项 (−1.05) and complaints within 3 (+3)
    top = graded(0)
    assert (top.total, top.grade, top.payment_rate) == (92.55, "优秀", 0.10)
    fair = graded(10)  # 投诉率 10 − 10 → 0
    assert (fair.total, fair.grade, fair.payment_rate) == (82.55, "良好", 0.10)
    passed = graded(10, **{"satisfaction_rate;front_weight=0.4": 0.0})  # − 9.7
    assert (passed.total, passed.grade, passed.payment_rate) == (72.85, "合格", 0.05)
    values = {k: 0.0 for k in SY_VALUES if "volume" not in k}
    values.update({"contact_volume@voice": 1000, "avg_answer_seconds": 60})
    low = score(presets.SANYA, Facts(MARCH, values=values))
    # only what is not measured (3.1, 3.2, 3.4, 4, 7, 16) and 投诉率 keep their points
    assert (low.total, low.grade, low.payment_rate) == (30, "不合格", 0.0)


def test_sanya_year_counts_annual_awards_and_monthly_allowances():
    year = parse_period("2026")
    entries = {"17.4": [E("award_province")], "13": [E("complaint", 40)]}
    _, items = card(presets.SANYA, {}, entries, period=year)
    assert items["17.4"].points == 0.2
    assert items["13"].points == 6  # 3 a month free over 12 months: 40 − 36 = 4 → −4


# --- 陕西: the rounding rules the seed spells out -------------------------------------------------------


def test_shaanxi_month_scored_by_hand():
    values = {
        "answer_rate": 0.934,  # ceil: 1.6 → 2 points short → −2 → 8
        "dispatch_timeliness_rate": 0.941,  # ceil: 0.9 → 1 → −1 → 4
        "dispatch_accuracy": 0.95,  # at target → 10
        "instant_answer_rate": 0.765,  # 3.5 short, floor 3 → −1.5 → 3.5
        "satisfaction_rate": 0.992,  # ≥ 99% → 5 + 1
        "work_time_utilization": 0.70,  # ceil 1 → −1 → 4
    }
    daily = {"review_timeliness_rate": [0.8, 0.6, None, 0.5, 0.9]}  # 2 days under 70% → 3
    entries = {
        "1.3.1": [V(0.105)],  # 2.5 over 8%, floor 2 → −1 → 2
        "1.3.2": [E("late_refill", 2)],  # 2 days → −1; 1.3 = 1
        "3.5": [V(0.65)],  # 15 under 80%: one whole 10% → −0.5 → 4.5
        "3.6": [V(0.55)],  # 25 under 80%: one whole 20% → −1 → 4
        "4.2": [E("moderate"), E("minor")],  # −3 → 2
        "5.2": [V(0.9)],  # 5 × 90% → 4.5
        "5.3": [V(1.0)],
        "6.1": [E("praise", 2), E("idea", points=3)],  # +5
        "6.2": [E("complaint")],  # −2
    }
    result, items = card(presets.SHAANXI, values, entries, daily)
    expected = {
        "2.3": 8,
        "2.1": 4,
        "3.1": 10,
        "3.2": 3.5,
        "3.3": 6,
        "3.4": 4,
        "2.2": 3,
        "1.3": 1,
        "3.5": 4.5,
        "3.6": 4,
        "4.2": 2,
        "5.2": 4.5,
        "6.1": 5,
        "6.2": -2,
    }
    assert {code: items[code].points for code in expected} == pytest.approx(expected)
    assert "每低 1% 扣 1 分，不足 1% 按 1% 计" in items["2.3"].rule
    assert items["2.3"].rule.endswith("实际 93.4% → 扣 2 分，得 8 分")
    assert result.total == 89.5
    assert (result.grade, result.payment_rate) == (None, None)  # the seed sets no grades
    better = card(presets.SHAANXI, {"answer_rate": 0.978})[1]["2.3"]
    assert better.points == 12  # 2.8 above, a partial point counts 0 → +2


# --- 乐东 and 澄迈 ------------------------------------------------------------------------------------------


def test_ledong_month_scored_by_hand():
    values = {
        "answer_rate": 0.962,  # +1.2 → +0.5 → 7.5
        "avg_answer_seconds": 14,  # → 8
        "instant_answer_rate": 0.655,  # −4.5 → 4 × −0.5 → 13
        "ontime_callback_rate;rule=sla": 0.97,  # −3 → −1.5 → 8.5
        "satisfaction_rate": 0.90,  # −6 → −3 → 12
    }
    entries = {
        "6": [E("complaint", 2), E("serious")],  # −4 → 6
        "8": [E("late_report")],  # → 9
        "10": [E("fault", 12)],  # 10 − 12: 扣完为止 → 0
        "11": [E("praise", 3), E("banner", 4)],  # 1.5 + 4, at most 5
    }
    result, items = card(presets.LEDONG, values, entries)
    got = {c: items[c].points for c in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")}
    assert got == {
        "1": 7.5,
        "2": 8,
        "3": 13,
        "4": 8.5,
        "5": 12,
        "6": 6,
        "7": 10,
        "8": 9,
        "9": 5,
        "10": 0,
        "11": 5,
    }
    assert result.total == 84
    assert "扣完为止，得 0 分" in items["10"].rule


def test_chengmai_month_scored_by_hand():
    values = {
        "answer_rate": 0.90,  # −5 → −2.5 → 12.5
        "instant_answer_rate": 0.74,  # +4 → +2 → 17
        "ontime_callback_rate;rule=24h": 0.955,  # −4.5 → 4 × −0.5 → 8
        "frontdesk_satisfaction_rate;count_basic=False": 0.96,  # → 15
    }
    entries = {
        "1.5": [E("complaint", 11)],  # −11 → 0
        "2.1": [V(0.135)],  # half-year turnover 3.5 over 10%: 3 × −0.5 → 8.5
        "3.2": [E("late_response")],  # → 4
        "5": [E("praise")],  # +0.5
    }
    result, items = card(presets.CHENGMAI, values, entries)
    got = {c: items[c].points for c in ("1.1", "1.2", "1.3", "1.4", "1.5", "2.1", "3.2", "5")}
    assert got == {
        "1.1": 12.5,
        "1.2": 17,
        "1.3": 8,
        "1.4": 15,
        "1.5": 0,
        "2.1": 8.5,
        "3.2": 4,
        "5": 0.5,
    }
    assert result.total == 85.5


# --- 西城: pass or fail, monthly and quarterly items ----------------------------------------------------


def test_xicheng_month_and_quarter():
    values = {"dispatch_accuracy": 0.97, "answer_rate;basis=inbound.numerator": 5000}
    entries = {
        "2": [V(1.0)],
        "3": [V(0.96)],
        "5": [V(0.94)],  # under 95%: not met
        "8": [E("complaint")],  # 1 ÷ 5000 = 0.02% ≤ 0.03%
        "9": [V(0.95)],
    }
    month, items = card(presets.XICHENG, values, entries)
    assert items["1"].status == "not_in_period" and items["4"].points is None
    assert items["5"].points == 0 and items["8"].points == 1 and items["6"].status == "no_data"
    assert (month.total, month.grade) == (6, "不合格")
    entries.update({"5": [V(0.96)], "4": [V(0.92)]})
    values["answer_rate"] = 0.95
    quarter, _ = card(presets.XICHENG, values, entries, period=parse_period("2026-Q1"))
    assert (quarter.total, quarter.grade) == (9, "合格")


# --- properties --------------------------------------------------------------------------------------


def _value_rules():
    """Every item scored from one value: (scheme, item, the measure key, its unit)."""
    found = []
    for scheme in presets.SCHEMES.values():
        for top in scheme.items:
            for item in top.walk():
                if isinstance(item.rule, Linear | Proportional) and hasattr(item.measure, "key"):
                    found.append((item, item.measure.key, item.measure.unit, item.rule))
                if isinstance(item.rule, Switch):
                    found.append((item, item.rule.low.key, Unit.RATE, item.rule.low_rule))
    return found


VALUE_RULES = _value_rules()


@given(
    st.sampled_from(VALUE_RULES),
    st.floats(0, 1, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
)
def test_a_better_kpi_value_never_lowers_an_items_points(case, a, b):
    item, key, unit, rule = case
    scale = 60 if unit == Unit.SECONDS else 1
    worse, better = sorted((a * scale, b * scale))
    if isinstance(rule, Linear) and not rule.higher_is_better:
        worse, better = better, worse
    extra = {"contact_volume@voice": 1000}

    def points(value):
        facts = Facts(MARCH, values={key: value, **extra})
        return _score_item(item, facts).points

    assert points(better) >= points(worse)


event_items = [
    item
    for scheme in presets.SCHEMES.values()
    for top in scheme.items
    for item in top.walk()
    if isinstance(item.rule, Events)
]


@given(st.sampled_from(event_items), st.lists(st.integers(1, 30), min_size=1, max_size=9))
def test_points_stay_within_floors_and_caps(item, counts):
    rule = item.rule
    entries = [
        Entry(k.code, n, k.upto if k.ranged else None)
        for k, n in zip(rule.kinds, counts, strict=False)
    ]
    year = parse_period("2026")  # every item is scored in a year
    got = _score_item(item, Facts(year, entries={item.code: entries})).points
    if item.floor is not None:
        assert got >= item.floor
    base = item.points if rule.from_full else 0
    if rule.bonus_limit is not None:
        assert got <= base + rule.bonus_limit
    if rule.deduct_limit is not None:
        assert got >= base - rule.deduct_limit
    if rule.from_full:
        assert got <= item.points


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=13, max_size=13))
def test_sanya_total_stays_between_zero_and_its_maximum(rates):
    values = dict(zip(SY_VALUES, rates, strict=True))
    values["contact_volume@voice"] = 1000
    values["avg_answer_seconds"] = rates[1] * 60
    result = score(presets.SANYA, Facts(MARCH, values=values))
    # the most: 110 + 接通率 above 95% (+2.5) + 派单准确率 above 95% (+2.5) − 附加项 not earned
    assert 0 <= result.total <= 100 + 2.5 + 2.5  # 附加项 needs entries


@given(st.floats(0, 0.5, allow_nan=False), st.sampled_from([0.01, 0.1, 0.2, 3.0, 10_000.0]))
def test_rounding_rules(gap, size):
    gap *= size * 20
    ceil = _steps(gap, Step(size, 1, Rounding.CEIL))
    floor = _steps(gap, Step(size, 1, Rounding.FLOOR))
    exact = _steps(gap, Step(size, 1, Rounding.EXACT))
    assert floor <= exact <= ceil and ceil - floor <= 1
    assert float(floor) == math.floor(float(exact))


def test_a_partial_point_counts_as_one_or_as_zero():
    one, zero = Step(0.01, 1, Rounding.CEIL), Step(0.01, 1, Rounding.FLOOR)
    assert (_steps(0.016, one), _steps(0.016, zero)) == (2, 1)
    assert (_steps(0.02, one), _steps(0.02, zero)) == (2, 2)  # 95% − 93% exactly: no float noise
    assert (_steps(0.95 - 0.93, one), _steps(0.0, one)) == (2, 0)
