"""营商环境月报 (business-environment monthly report): the orders about the business
environment — how many, on what, where, which units handled them and how timely, how
satisfied the callers were — against last month and the same month last year.

Which orders: the work-order app has no tag for "business environment" (orders carry a
type, a category, an area; no labels). So the report declares the category codes it
reads — :data:`CATEGORY_CODES`, the 营商环境与政务服务 branch of the category tree
(企业开办, 审批服务, 涉企服务, 政务服务) and everything below it — and says so in the
report itself. When a tag is added to orders, this list is the one place to change.
"""

from django.db.models import Q

from hotline.workorders.models import Category, Event
from hotline.workorders.selectors import category_subtree

from . import base, orders
from .base import Chart, Period, Section, Table
from .monthly import _numbered

CATEGORY_CODES = ("13",)  # 营商环境与政务服务 and its subtree
UNSATISFIED = ("不满意", "非常不满意")
LISTED = 50  # unsatisfied orders listed


def category_ids() -> list[int]:
    ids: list[int] = []
    for pk in Category.objects.filter(code__in=CATEGORY_CODES).values_list("pk", flat=True):
        ids += category_subtree(pk)
    return ids


def declared_note() -> str:
    names = "、".join(
        f"{c.code} {c.name}"
        for c in Category.objects.filter(code__in=CATEGORY_CODES).order_by("code")
    )
    return (
        "统计口径：工单未设“营商环境”标签，本报表按声明的诉求分类统计——"
        f"{names or '（分类表中未找到 ' + '、'.join(CATEGORY_CODES) + '）'}及其全部下级分类。"
    )


def build(kind, platform, period: Period, *, now) -> base.Report:
    ids = category_ids()
    f = orders.figures(platform, period, now=now, categories=ids)
    t = orders.tables(f)
    all_orders = orders.counts_by(orders.created(platform, period), None)[None].total
    before = orders.counts_by(
        orders.created(platform, period.previous(), where={"category_id__in": ids}), None
    )[None]
    ago = orders.counts_by(
        orders.created(platform, period.year_before(), where={"category_id__in": ids}), None
    )[None]
    total = f.total.total
    sentences = [
        declared_note(),
        f"{period.label}受理营商环境类工单 {base.number(total)} 件，占全部工单的 {base.share(total, all_orders)}；"
        f"环比上月（{base.number(before.total)} 件）{base.change(total, before.total)}，"
        f"同比去年同月（{base.number(ago.total)} 件）{base.change(total, ago.total)}。",
        f"其中转办承办单位 {base.number(f.total.dispatched)} 件，按时办结率 "
        f"{base.rate(f.rates['ontime_completion_rate'].value)}，问题一次性解决率 "
        f"{base.rate(f.rates['one_time_resolution_rate'].value)}，回访满意率 "
        f"{base.rate(f.rates['satisfaction_rate'].value)}。",
        *orders.top_sentences(f, "营商环境类工单")[:1],
    ]
    leaves = sorted(
        ((k, c) for k, c in f.by_leaf.items() if k is not None), key=lambda kv: -kv[1].total
    )
    by_leaf = Table(
        "营商环境类工单（按诉求分类）",
        ["诉求分类", "受理量", "占比", "即时答复", "转办", "已办结"],
        [
            [
                f.tree.path(k),
                c.total,
                base.share(c.total, total),
                c.direct,
                c.dispatched,
                c.completed,
            ]
            for k, c in leaves
        ],
        [44, 10, 9, 10, 9, 9],
    )
    chart = Chart(
        "barh",
        "营商环境类工单分类分布",
        [f.tree.name[k] for k, _ in leaves[:10]],
        [("工单量", [c.total for _, c in leaves[:10]])],
        unit="件",
    )

    scope = base.scope_of(platform, period, now=now)
    unhappy = (
        Event.objects.filter(
            action="callback",
            at__gte=scope.start,
            at__lt=scope.end,
            order__platform_id__in=scope.platform_ids,
            order__category_id__in=ids,
        )
        .filter(Q(data__satisfaction__in=UNSATISFIED))
        .select_related("order", "order__lead_unit")
        .order_by("at", "pk")[:LISTED]
    )
    unhappy_rows = [
        [
            e.order.number,
            e.order.title,
            e.order.lead_unit.short_name or e.order.lead_unit.name if e.order.lead_unit else "",
            (e.data or {}).get("satisfaction", ""),
            e.at.astimezone(base.TZ).strftime("%Y-%m-%d"),
        ]
        for e in unhappy
    ]
    unhappy_table = Table(
        "不满意工单",
        ["工单编号", "标题", "主办单位", "评价", "回访日期"],
        unhappy_rows,
        [22, 40, 20, 10, 12],
    )
    sections = _numbered(
        [
            Section("总体情况", sentences, [by_leaf, t["按诉求类型"]], [chart]),
            Section(
                "区域分布",
                orders.top_sentences(f, "营商环境类工单")[1:] or ["本期无区域数据。"],
                [t["按区域"]],
            ),
            Section("承办单位办理情况", orders.unit_sentences(f), [t["按承办单位"]]),
            Section(
                "不满意工单",
                [
                    f"本期营商环境类工单回访中评价为不满意或非常不满意的 {len(unhappy_rows)} 件"
                    + ("（列出前 50 件）" if len(unhappy_rows) >= LISTED else "")
                    + "。"
                ],
                [unhappy_table],
            ),
        ]
    )
    return base.Report(kind, platform, period, sections, generated_at=now, note=declared_note())
