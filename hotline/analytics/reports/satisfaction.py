"""满意度 (satisfaction): the five levels (非常满意 … 非常不满意) of the callers' rating of
the front-desk service, by channel, and of the callbacks on dispatched orders, by the
order's channel and by lead unit; each with its 满意率 from the KPI registry
(``frontdesk_satisfaction_rate``, ``satisfaction_rate``: 基本满意 counts as satisfied, as
the registry's default does)."""

from django.db.models import Count

from hotline.contact.models import Channel as ContactChannel
from hotline.core.models import HandlingUnit
from hotline.workorders.lifecycle import SATISFACTION
from hotline.workorders.models import Channel as OrderChannel

from . import base
from .base import Period, Section, Table

CONTACT_CHANNELS = dict(ContactChannel.choices)
ORDER_CHANNELS = dict(OrderChannel.choices)


def levels(records, by: str, level: str) -> dict:
    """{group: {level: count}} in one GROUP BY."""
    found: dict = {}
    for key, lvl, n in (
        records.values_list(by, level).annotate(n=Count("pk")).values_list(by, level, "n")
    ):
        found.setdefault(key, {})[lvl] = n
    return found


def _rows(counts: dict, rates: dict, label) -> list[list]:
    rows, totals = [], dict.fromkeys(SATISFACTION, 0)
    for key in sorted(counts, key=lambda k: -sum(counts[k].values())):
        per = counts[key]
        value = rates.get(key)
        rows.append(
            [
                label(key),
                *[per.get(s, 0) for s in SATISFACTION],
                sum(per.values()),
                base.rate(value.value if value else None),
            ]
        )
        for s in SATISFACTION:
            totals[s] += per.get(s, 0)
    return rows, totals


HEADERS = [*SATISFACTION, "评价数", "满意率"]


def build(kind, platform, period: Period, *, now) -> base.Report:
    scope = base.scope_of(platform, period, now=now)
    front = levels(base.records_of("frontdesk_satisfaction_rate", scope), "channel", "satisfaction")
    front_rates = base.kpi_by("frontdesk_satisfaction_rate", scope, "channel")
    front_rows, front_totals = _rows(front, front_rates, lambda c: CONTACT_CHANNELS.get(c, c))
    front_all = base.kpi_one("frontdesk_satisfaction_rate", scope)
    front_rows.append(
        ["合计", *front_totals.values(), sum(front_totals.values()), base.rate(front_all.value)]
    )

    callbacks = base.records_of("satisfaction_rate", scope)
    by_channel = levels(callbacks, "order__channel", "data__satisfaction")
    channel_rates = base.kpi_by("satisfaction_rate", scope, "channel")
    back_rows, back_totals = _rows(by_channel, channel_rates, lambda c: ORDER_CHANNELS.get(c, c))
    back_all = base.kpi_one("satisfaction_rate", scope)
    back_rows.append(
        ["合计", *back_totals.values(), sum(back_totals.values()), base.rate(back_all.value)]
    )

    units = {
        u.pk: u.short_name or u.name
        for u in HandlingUnit.objects.filter(platform_id__in=scope.platform_ids)
    }
    by_unit = levels(callbacks, "order__lead_unit_id", "data__satisfaction")
    unit_rates = base.kpi_by("satisfaction_rate", scope, "unit")
    unit_rows, _ = _rows(by_unit, unit_rates, lambda u: units.get(u, "（无主办单位）"))

    widths = [16, 10, 8, 10, 9, 11, 9, 10]
    tables = [
        Table("前台服务评价（按渠道）", ["渠道", *HEADERS], front_rows, widths),
        Table("回访评价（按来源渠道）", ["来源渠道", *HEADERS], back_rows, widths),
        Table("回访评价（按主办单位）", ["主办单位", *HEADERS], unit_rows, [24, *widths[1:]]),
    ]
    front_n, back_n = sum(front_totals.values()), sum(back_totals.values())
    sentences = [
        f"{period.label}来电人对前台服务评价 {base.number(front_n)} 次，满意率 {base.rate(front_all.value)}"
        f"（非常满意 {front_totals['非常满意']}、满意 {front_totals['满意']}、基本满意 {front_totals['基本满意']}、"
        f"不满意 {front_totals['不满意']}、非常不满意 {front_totals['非常不满意']}）。",
        f"工单回访评价 {base.number(back_n)} 次，满意率 {base.rate(back_all.value)}，"
        f"其中不满意 {back_totals['不满意']} 次、非常不满意 {back_totals['非常不满意']} 次。",
    ]
    rated_units = [(u, v) for u, v in unit_rates.items() if u is not None and v.value is not None]
    if rated_units:
        worst = min(rated_units, key=lambda kv: (kv[1].value, -(kv[1].denominator or 0)))
        sentences.append(
            f"回访满意率最低的主办单位为{units.get(worst[0], worst[0])}"
            f"（{base.rate(worst[1].value)}，{base.number(worst[1].denominator)} 次评价）。"
        )
    return base.Report(
        kind, platform, period, [Section("满意度", sentences, tables)], generated_at=now
    )
