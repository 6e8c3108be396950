"""工单报表 (work-order report): orders of the period by request type, category, area and
handling unit, with the on-time rates of the KPI registry (按时办结率, 签收响应率,
问题一次性解决率, 回访满意率) cut the same ways.

受理量 counts the orders created in the period; the rates are the KPIs' own (办结 in the
period, 签收 in the period …), so a unit's 按时办结率 here is the one the KPI page shows
for that unit. The business-environment report reads the same functions with a category
filter.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q

from hotline.core.models import HandlingUnit
from hotline.workorders.models import Category, OrderType, WorkOrder

from . import base
from .base import Period, Section, Table

TYPE_LABELS = dict(OrderType.choices)
TOP_ROWS = 20  # rows of the longer lists (leaf categories, areas)


@dataclass
class Counts:
    total: int = 0  # 受理
    direct: int = 0  # 即时答复
    dispatched: int = 0  # 转办
    completed: int = 0  # 已办结（本期受理的工单中）

    def add(self, other: "Counts") -> None:
        self.total += other.total
        self.direct += other.direct
        self.dispatched += other.dispatched
        self.completed += other.completed


def created(platform, period: Period, *, where: dict | None = None):
    """The orders created in the period (platform and below), narrowed by ``where``."""
    scope = base.scope_of(platform, period)
    orders = WorkOrder.objects.filter(
        platform_id__in=scope.platform_ids, created_at__gte=scope.start, created_at__lt=scope.end
    )
    return orders.filter(**where) if where else orders


def counts_by(orders, field: str | None) -> dict:
    """受理/即时答复/转办/办结 per value of ``field`` (one GROUP BY), or {None: …}."""
    aggregates = {
        "total": Count("pk"),
        "direct": Count("pk", filter=Q(direct=True)),
        "dispatched": Count("pk", filter=Q(dispatched_at__isnull=False)),
        "completed": Count("pk", filter=Q(completed_at__isnull=False)),
    }
    orders = orders.order_by()
    if field is None:
        row = orders.aggregate(**aggregates)
        return {None: Counts(**row)}
    rows = orders.values(field).annotate(**aggregates)
    return {row[field]: Counts(**{k: row[k] for k in aggregates}) for row in rows}


class Tree:
    """The category tree in memory (a few hundred rows): leaf → top level, names."""

    def __init__(self):
        rows = list(Category.objects.values_list("pk", "parent_id", "name", "code"))
        self.parent = {pk: parent for pk, parent, _, _ in rows}
        self.name = {pk: name for pk, _, name, _ in rows}
        self.code = {pk: code for pk, _, _, code in rows}

    def top(self, pk):
        while pk is not None and self.parent.get(pk) is not None:
            pk = self.parent[pk]
        return pk

    def path(self, pk) -> str:
        names = []
        while pk is not None:
            names.append(self.name[pk])
            pk = self.parent.get(pk)
        return " / ".join(reversed(names))


def rates_by(scope, by: str, *, where=None) -> dict[str, dict]:
    """The on-time KPIs cut by ``by``: {kpi_id: {key: KpiValue}}."""
    return {
        kpi_id: base.kpi_by(kpi_id, scope, by, where=where)
        for kpi_id in ("ontime_completion_rate", "one_time_resolution_rate", "satisfaction_rate")
    }


def _rate(figures: dict, kpi_id: str, key) -> str:
    value = figures[kpi_id].get(key)
    return base.rate(value.value if value else None)


def _fold(values: dict, mapping) -> dict:
    """KPI values of leaves folded into their top-level category (numerators and
    denominators summed: the rate of the union)."""
    from hotline.analytics.selectors import KpiValue

    sums: dict = defaultdict(lambda: [0.0, 0.0])
    for key, value in values.items():
        folded = mapping(key)
        sums[folded][0] += value.numerator or 0
        sums[folded][1] += value.denominator or 0
    return {k: KpiValue(n / d if d else None, n, d) for k, (n, d) in sums.items()}


@dataclass
class OrderFigures:
    total: Counts
    by_type: dict
    by_top: dict  # top category id → Counts
    by_leaf: dict
    by_area: dict
    by_unit: dict
    rates: dict  # kpi id → KpiValue, whole period
    rates_type: dict
    rates_top: dict
    rates_area: dict
    rates_unit: dict
    sign_unit: dict
    tree: Tree
    units: dict  # unit id → short name


def figures(platform, period: Period, *, now, categories: list[int] | None = None) -> OrderFigures:
    where_orders = {"category_id__in": categories} if categories is not None else None
    where = base.order_where(where_orders) if where_orders else None
    orders = created(platform, period, where=where_orders)
    scope = base.scope_of(platform, period, now=now)
    tree = Tree()
    by_leaf = counts_by(orders, "category_id")
    by_top: dict = defaultdict(Counts)
    for leaf, c in by_leaf.items():
        by_top[tree.top(leaf)].add(c)
    rates_leaf = rates_by(scope, "category_id", where=where)
    rates = {
        k: base.kpi_one(k, scope, where=where)
        for k in ("ontime_completion_rate", "one_time_resolution_rate", "satisfaction_rate")
    }
    rates["sign_response_rate"] = base.kpi_one("sign_response_rate", scope, where=where)
    units = {
        u.pk: u.short_name or u.name
        for u in HandlingUnit.objects.filter(platform_id__in=scope.platform_ids)
    }
    return OrderFigures(
        total=counts_by(orders, None)[None],
        by_type=counts_by(orders, "order_type"),
        by_top=dict(by_top),
        by_leaf=by_leaf,
        by_area=counts_by(orders, "area"),
        by_unit=counts_by(orders.filter(lead_unit__isnull=False), "lead_unit_id"),
        rates=rates,
        rates_type=rates_by(scope, "order_type", where=where),
        rates_top={k: _fold(v, tree.top) for k, v in rates_leaf.items()},
        rates_area=rates_by(scope, "area", where=where),
        rates_unit=rates_by(scope, "unit", where=where),
        sign_unit=base.kpi_by("sign_response_rate", scope, "unit", where=where),
        tree=tree,
        units=units,
    )


RATE_HEADERS = ["按时办结率", "问题一次性解决率", "回访满意率"]


def _rate_cells(rates: dict, key) -> list:
    return [
        _rate(rates, k, key)
        for k in ("ontime_completion_rate", "one_time_resolution_rate", "satisfaction_rate")
    ]


def tables(f: OrderFigures) -> dict[str, Table]:
    total = f.total.total
    by_type = Table(
        "按诉求类型",
        ["诉求类型", "受理量", "占比", "即时答复", "转办", "已办结", *RATE_HEADERS],
        [
            [
                TYPE_LABELS[t],
                c.total,
                base.share(c.total, total),
                c.direct,
                c.dispatched,
                c.completed,
            ]
            + _rate_cells(f.rates_type, t)
            for t, c in sorted(f.by_type.items(), key=lambda kv: -kv[1].total)
        ]
        + [
            [
                "合计",
                total,
                base.share(total, total),
                f.total.direct,
                f.total.dispatched,
                f.total.completed,
            ]
            + [
                base.rate(f.rates[k].value)
                for k in ("ontime_completion_rate", "one_time_resolution_rate", "satisfaction_rate")
            ]
        ],
        [12, 10, 9, 10, 9, 9, 12, 16, 12],
    )
    by_top = Table(
        "按诉求分类（一级）",
        ["诉求分类", "受理量", "占比", "即时答复", "转办", *RATE_HEADERS],
        [
            [
                f.tree.name.get(k, "（未分类）"),
                c.total,
                base.share(c.total, total),
                c.direct,
                c.dispatched,
            ]
            + _rate_cells(f.rates_top, k)
            for k, c in sorted(f.by_top.items(), key=lambda kv: -kv[1].total)
        ],
        [24, 10, 9, 10, 9, 12, 16, 12],
    )
    leaves = sorted(f.by_leaf.items(), key=lambda kv: -kv[1].total)[:TOP_ROWS]
    by_leaf = Table(
        "诉求分类排行",
        ["排名", "诉求分类", "受理量", "占比"],
        [
            [i, f.tree.path(k) if k else "（未分类）", c.total, base.share(c.total, total)]
            for i, (k, c) in enumerate(leaves, start=1)
        ],
        [8, 48, 10, 9],
    )
    areas = sorted(f.by_area.items(), key=lambda kv: -kv[1].total)
    by_area = Table(
        "按区域",
        ["区域", "受理量", "占比", "转办", *RATE_HEADERS],
        [
            [a or "（未填区域）", c.total, base.share(c.total, total), c.dispatched]
            + _rate_cells(f.rates_area, a)
            for a, c in areas
        ],
        [16, 10, 9, 9, 12, 16, 12],
    )
    unit_ids = set(f.by_unit) | set(f.rates_unit["ontime_completion_rate"]) | set(f.sign_unit)
    unit_ids.discard(None)
    unit_rows = []
    for u in sorted(
        unit_ids, key=lambda u: (-(f.by_unit.get(u) or Counts()).total, f.units.get(u, ""))
    ):
        c = f.by_unit.get(u) or Counts()
        ontime = f.rates_unit["ontime_completion_rate"].get(u)
        sign = f.sign_unit.get(u)
        unit_rows.append(
            [
                f.units.get(u, str(u)),
                c.total,
                int(ontime.denominator or 0) if ontime else 0,
                base.rate(sign.value if sign else None),
                *_rate_cells(f.rates_unit, u),
            ]
        )
    by_unit = Table(
        "按承办单位",
        [
            "承办单位",
            "主办工单（本期受理）",
            "应办结（办结＋在途逾期）",
            "签收响应率",
            *RATE_HEADERS,
        ],
        unit_rows,
        [24, 18, 22, 12, 12, 16, 12],
        note="按时办结率 = 本期办结且按时答复的转派工单 ÷（本期办结 ＋ 期末在途逾期）",
    )
    return {t.title: t for t in (by_type, by_top, by_leaf, by_area, by_unit)}


def top_sentences(f: OrderFigures, what: str = "工单") -> list[str]:
    """Sentences on the top categories and areas, from the numbers."""
    total = f.total.total
    if not total:
        return [f"本期未受理{what}。"]
    leaves = sorted(f.by_leaf.items(), key=lambda kv: -kv[1].total)
    named = [(f.tree.name.get(k, "未分类"), c.total) for k, c in leaves if k is not None]
    out = []
    if named:
        first = named[0]
        text = f"{what}量最多的诉求分类为“{first[0]}”（{base.number(first[1])} 件，占 {base.share(first[1], total)}）"
        rest = "、".join(f"“{n}”（{base.number(c)} 件）" for n, c in named[1:3])
        out.append(text + (f"，其次为{rest}。" if rest else "。"))
    areas = [(a, c.total) for a, c in sorted(f.by_area.items(), key=lambda kv: -kv[1].total) if a]
    if areas:
        listed = "、".join(
            f"{a}（{base.number(c)} 件，占 {base.share(c, total)}）" for a, c in areas[:3]
        )
        out.append(f"按区域，{what}最多的是{listed}。")
    return out


def unit_sentences(f: OrderFigures, threshold: float = 0.9) -> list[str]:
    """Units' timeliness in words: the best and the worst 按时办结率, those under the line."""
    ontime = {
        u: v
        for u, v in f.rates_unit["ontime_completion_rate"].items()
        if u is not None and v.value is not None
    }
    if not ontime:
        return ["本期没有办结或逾期的转派工单，承办单位按时办结率无可计算的数据。"]
    ranked = sorted(ontime.items(), key=lambda kv: (-kv[1].value, -(kv[1].denominator or 0)))
    best, worst = ranked[0], ranked[-1]
    name = f.units.get
    if len(ranked) == 1:
        only = ranked[0][1]
        return [
            f"本期有办结或逾期工单的承办单位为{name(best[0])}，按时办结率 {base.rate(only.value)}"
            f"（{base.number(only.numerator)}/{base.number(only.denominator)} 件）。"
        ]
    out = [
        f"{len(ranked)} 家承办单位有办结或逾期工单，整体按时办结率 "
        f"{base.rate(f.rates['ontime_completion_rate'].value)}；最高为{name(best[0])}"
        f"（{base.rate(best[1].value)}，{base.number(best[1].numerator)}/{base.number(best[1].denominator)} 件），"
        f"最低为{name(worst[0])}（{base.rate(worst[1].value)}，"
        f"{base.number(worst[1].numerator)}/{base.number(worst[1].denominator)} 件）。"
    ]
    under = [(u, v) for u, v in ranked if v.value < threshold]
    if under:
        listed = "、".join(f"{name(u)}（{base.rate(v.value)}）" for u, v in under[-5:][::-1])
        out.append(
            f"按时办结率低于 {threshold:.0%} 的单位有 {len(under)} 家：{listed}"
            + ("等" if len(under) > 5 else "")
            + "。"
        )
    else:
        out.append(f"各单位按时办结率均不低于 {threshold:.0%}。")
    return out


def type_sentence(f: OrderFigures) -> str:
    total = f.total.total
    parts = Counter({TYPE_LABELS[t]: c.total for t, c in f.by_type.items()}).most_common(3)
    listed = "、".join(f"{n} {base.number(c)} 件（{base.share(c, total)}）" for n, c in parts)
    return (
        f"本期受理工单 {base.number(total)} 件，其中即时答复 {base.number(f.total.direct)} 件、"
        f"转办 {base.number(f.total.dispatched)} 件，已办结 {base.number(f.total.completed)} 件；"
        f"按诉求类型，{listed}。"
    )


def build(kind, platform, period: Period, *, now) -> base.Report:
    f = figures(platform, period, now=now)
    t = tables(f)
    sections = [
        Section(
            "受理情况",
            [type_sentence(f), *top_sentences(f)],
            [t["按诉求类型"], t["按诉求分类（一级）"], t["诉求分类排行"], t["按区域"]],
        ),
        Section("承办单位办理情况", unit_sentences(f), [t["按承办单位"]]),
    ]
    return base.Report(kind, platform, period, sections, generated_at=now)
