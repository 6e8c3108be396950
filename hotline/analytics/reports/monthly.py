"""热线月报 (the hotline's monthly report), as DOCX with charts and a narrative written from
the data: volumes and their trend against last month and the same month last year, the
top categories and areas, hot topics, the units' timeliness and each KPI against its
target. The annual report (``annual.py``) is the same report over a year, by month.

Every number comes from the functions the other reports use (``traffic``, ``orders``),
the KPI registry (``kpi_table``) and 热点分析 (``hot.top_topics``); the sentences are
built from those numbers, so they change when the data does.
"""

from django.db.models import Count
from django.db.models.functions import TruncDate, TruncMonth

from hotline.analytics import hot, selectors
from hotline.analytics.kpis import KPI_LIST, Unit, format_number, format_target
from hotline.contact.models import Channel

from . import base, orders, traffic
from .base import Chart, Period, Section, Table

CHANNEL_LABELS = dict(Channel.choices)
CHINESE_NUMBERS = "一二三四五六七八九十"
HOT_TOPICS = 10
# KPIs whose figure in the narrative is compared with last period, besides the target.
TREND_KPIS = ("answer_rate", "avg_answer_seconds", "ontime_completion_rate", "satisfaction_rate")


def _numbered(sections: list[Section]) -> list[Section]:
    for i, section in enumerate(sections):
        section.title = f"{CHINESE_NUMBERS[i]}、{section.title}"
    return sections


def _volumes(platform, period: Period, *, now) -> dict:
    """The few totals compared across periods (one query each)."""
    scope = base.scope_of(platform, period, now=now)
    counts = orders.counts_by(orders.created(platform, period), None)[None]
    return {
        "contacts": int(base.kpi_one("contact_volume", scope).value or 0),
        "voice": int(
            base.kpi_one(
                "contact_volume", base.scope_of(platform, period, channel="voice", now=now)
            ).value
            or 0
        ),
        "orders": counts.total,
        "direct": counts.direct,
        "dispatched": counts.dispatched,
    }


def _kpi_values(platform, period: Period, *, now) -> dict:
    scope = base.scope_of(platform, period, now=now)
    return {k: selectors.kpi_value_in(k, scope).value for k in TREND_KPIS}


def overview(platform, period: Period, *, now, grain: str) -> tuple[Section, dict]:
    here = _volumes(platform, period, now=now)
    before_period = period.previous()
    before = _volumes(platform, before_period, now=now)
    # a month is compared with the month before (环比) and a year ago (同比); a year with
    # the year before, which is its 同比
    word = "环比上月" if period.kind == "month" else "同比上年"
    year_ago = period.year_before() if period.kind == "month" else None
    ago = _volumes(platform, year_ago, now=now) if year_ago else None
    k_here = _kpi_values(platform, period, now=now)
    k_before = _kpi_values(platform, before_period, now=now)
    k_ago = _kpi_values(platform, year_ago, now=now) if year_ago else None

    labels = {
        "contacts": "进线量（通）",
        "voice": "其中语音来电（通）",
        "orders": "受理工单（件）",
        "direct": "其中即时答复（件）",
        "dispatched": "其中转办（件）",
    }
    headers = ["项目", period.label, before_period.label, "环比"]
    if year_ago:
        headers += [year_ago.label, "同比"]
    rows = []
    for key, label in labels.items():
        row = [label, here[key], before[key], base.change(here[key], before[key], short=True)]
        if ago:
            row += [ago[key], base.change(here[key], ago[key], short=True)]
        rows.append(row)
    for kpi_id in TREND_KPIS:
        kpi = selectors.get_kpi(kpi_id)
        rate = kpi.unit == Unit.RATE
        row = [
            kpi.name,
            format_number(kpi, k_here[kpi_id]),
            format_number(kpi, k_before[kpi_id]),
            base.change(k_here[kpi_id], k_before[kpi_id], points=rate, short=True),
        ]
        if k_ago is not None:
            row += [
                format_number(kpi, k_ago[kpi_id]),
                base.change(k_here[kpi_id], k_ago[kpi_id], points=rate, short=True),
            ]
        rows.append(row)
    table = Table("总体情况", headers, rows, [22, 16, 16, 20, 16, 20][: len(headers)])

    sentences = [
        f"{period.label}，平台共进线 {base.number(here['contacts'])} 通（其中语音来电 "
        f"{base.number(here['voice'])} 通），{word}（{base.number(before['contacts'])} 通）"
        f"{base.change(here['contacts'], before['contacts'])}"
        + (
            f"，同比去年同月（{base.number(ago['contacts'])} 通）{base.change(here['contacts'], ago['contacts'])}"
            if ago
            else ""
        )
        + "。",
        f"受理工单 {base.number(here['orders'])} 件，{word}（{base.number(before['orders'])} 件）"
        f"{base.change(here['orders'], before['orders'])}"
        + (
            f"，同比去年同月（{base.number(ago['orders'])} 件）{base.change(here['orders'], ago['orders'])}"
            if ago
            else ""
        )
        + f"；其中即时答复 {base.number(here['direct'])} 件（占 {base.share(here['direct'], here['orders'])}），"
        f"转办承办单位 {base.number(here['dispatched'])} 件。",
    ]
    return Section("总体情况", sentences, [table]), {"here": here, "before": before, "ago": ago}


def contact_section(platform, period: Period, *, now, grain: str) -> Section:
    found, per_channel, total = traffic.traffic(platform, period, grain, now=now)
    per_key: dict = {}
    for k, t in found.items():
        per_key.setdefault(_key(k, grain), traffic.Traffic()).add(t)
    keys = _keys(period, grain)  # every day (month) of the period, quiet ones too
    for k in keys:
        per_key.setdefault(k, traffic.Traffic())
    fmt = (lambda d: f"{d.month}月{d.day}日") if grain == "day" else (lambda d: f"{d.month}月")
    key_name = "日期" if grain == "day" else "月份"
    rows = [[fmt(k), *per_key[k].cells()] for k in keys]
    rows.append(["合计", *total.cells()])
    by_time = Table(
        f"话务量（按{'日' if grain == 'day' else '月'}）",
        [key_name, *traffic.CELLS],
        rows,
        [12, 9, 10, 9, 9, 10, 18],
    )
    channel_rows = [
        [CHANNEL_LABELS[c], *per_channel[c].cells()]
        for c in Channel.values
        if per_channel[c].offered
    ]
    channel_rows.append(["合计", *total.cells()])
    by_channel = Table(
        "话务量（按渠道）", ["渠道", *traffic.CELLS], channel_rows, [12, 9, 10, 9, 9, 10, 18]
    )

    order_counts = _orders_by(platform, period, grain)
    chart = Chart(
        "line",
        f"每{'日' if grain == 'day' else '月'}进线量与受理工单量",
        [f"{k.day}日" if grain == "day" else f"{k.month}月" for k in keys],
        [
            ("进线量", [per_key[k].offered for k in keys]),
            ("受理工单", [order_counts.get(k, 0) for k in keys]),
        ],
        unit="数量",
    )
    mix = Chart(
        "bar",
        "各渠道进线量",
        [r[0] for r in channel_rows[:-1]],
        [("进线量", [r[1] for r in channel_rows[:-1]])],
        unit="通",
    )
    sentences = []
    if total.offered:
        peak = max(keys, key=lambda k: per_key[k].offered)
        low = min(keys, key=lambda k: per_key[k].offered)
        sentences.append(
            f"进线最多的是{fmt(peak)}（{base.number(per_key[peak].offered)} 通），"
            f"最少的是{fmt(low)}（{base.number(per_key[low].offered)} 通）。"
        )
        worst = min(
            (k for k in keys if per_key[k].answer_rate is not None),
            key=lambda k: per_key[k].answer_rate,
            default=None,
        )
        if worst is not None:
            sentences.append(
                f"全渠道人工接通率 {base.rate(total.answer_rate)}，最低为{fmt(worst)}"
                f"（{base.rate(per_key[worst].answer_rate)}，请求人工 {base.number(per_key[worst].requested)} 通）。"
            )
    mix_text = "、".join(
        f"{r[0]} {base.number(r[1])} 通（{base.share(r[1], total.offered)}）"
        for r in channel_rows[:-1][:4]
    )
    if mix_text:
        sentences.append(f"按渠道：{mix_text}。")
    return Section("话务情况", sentences, [by_time, by_channel], [chart, mix])


def _orders_by(platform, period: Period, grain: str) -> dict:
    trunc = TruncDate if grain == "day" else TruncMonth
    rows = (
        orders.created(platform, period)
        .order_by()
        .annotate(k=trunc("created_at", tzinfo=base.TZ))
        .values("k")
        .annotate(n=Count("pk"))
        .values_list("k", "n")
    )
    return {_key(k, grain): n for k, n in rows}


def _key(value, grain: str):
    """A day (or the first day of a month) from what the database truncated to."""
    if hasattr(value, "astimezone"):
        value = value.astimezone(base.TZ).date()
    return value.replace(day=1) if grain == "month" else value


def _keys(period: Period, grain: str) -> list:
    import datetime as dt

    days = [period.start + dt.timedelta(days=i) for i in range(period.days)]
    return days if grain == "day" else sorted({d.replace(day=1) for d in days})


def orders_section(f: orders.OrderFigures, t: dict) -> Section:
    leaves = sorted(
        ((k, c) for k, c in f.by_leaf.items() if k is not None), key=lambda kv: -kv[1].total
    )[:10]
    chart = Chart(
        "barh",
        "工单量前十的诉求分类",
        [f.tree.name[k] for k, _ in leaves],
        [("工单量", [c.total for _, c in leaves])],
        unit="件",
    )
    return Section(
        "工单受理情况",
        [orders.type_sentence(f), *orders.top_sentences(f)],
        [t["按诉求类型"], t["按诉求分类（一级）"], t["诉求分类排行"], t["按区域"]],
        [chart],
    )


def hot_section(platform, period: Period) -> Section:
    topics = hot.top_topics(platform, period.start, period.end, HOT_TOPICS)
    rows = [
        [i, t.term, "、".join(t.related[:3]), t.category, t.count, t.previous, t.growth_text]
        for i, t in enumerate(topics, start=1)
    ]
    table = Table(
        "热点问题",
        ["排名", "热点", "相关词", "主要分类", "工单数", "上期", "环比"],
        rows,
        [8, 16, 24, 20, 10, 10, 10],
    )
    if topics:
        listed = "；".join(
            f"“{t.term}”（{base.number(t.count)} 件，上期 {base.number(t.previous)} 件，"
            + ("新出现" if t.growth is None else f"环比 {t.growth:+.0%}")
            + "）"
            for t in topics[:3]
        )
        sentences = [f"本期上升最明显的热点问题：{listed}。"]
    else:
        sentences = ["本期没有明显上升的热点问题。"]
    return Section("热点问题", sentences, [table])


def units_section(f: orders.OrderFigures, t: dict) -> Section:
    return Section("承办单位办理情况", orders.unit_sentences(f), [t["按承办单位"]])


def kpi_section(platform, period: Period, *, now) -> Section:
    scope = base.scope_of(platform, period, now=now)
    rows, sentences, met_count, judged = [], [], 0, 0
    for kpi, value in selectors.kpi_table(scope, KPI_LIST):
        met = kpi.met(value.value)
        rows.append(
            [
                kpi.name,
                format_number(kpi, value.value) if value.applicable else "不适用",
                format_target(kpi),
                {True: "达标", False: "未达标"}.get(met, "—"),
                "、".join(kpi.seeds) or "国家标准",
            ]
        )
        if met is None:
            continue
        judged += 1
        met_count += met
        sentences.append(
            f"{kpi.name} {format_number(kpi, value.value)}，{'达到' if met else '未达到'}目标"
            f"（{format_target(kpi)}）{_gap(kpi, value.value)}。"
        )
    lead = (
        f"有目标值的 {judged} 项指标中 {met_count} 项达标、{judged - met_count} 项未达标。"
        if judged
        else "本期没有可与目标比较的指标数据。"
    )
    table = Table(
        "考核指标", ["指标", "本期", "目标", "是否达标", "来源"], rows, [24, 12, 12, 10, 16]
    )
    return Section("考核指标完成情况", [lead, *sentences], [table])


def _gap(kpi, value) -> str:
    if kpi.unit == Unit.RATE:
        diff = abs(value - kpi.target) * 100
        return (
            f"，{'高' if value >= kpi.target else '低'}于目标 {diff:.1f} 个百分点"
            if diff >= 0.05
            else ""
        )
    if kpi.unit == Unit.SECONDS:
        diff = abs(value - kpi.target)
        return (
            f"，{'长' if value > kpi.target else '短'}于目标 {diff:.1f} 秒" if diff >= 0.05 else ""
        )
    return ""


def build_over(kind, platform, period: Period, *, now, grain: str) -> base.Report:
    f = orders.figures(platform, period, now=now)
    t = orders.tables(f)
    first, _ = overview(platform, period, now=now, grain=grain)
    sections = _numbered(
        [
            first,
            contact_section(platform, period, now=now, grain=grain),
            orders_section(f, t),
            hot_section(platform, period),
            units_section(f, t),
            kpi_section(platform, period, now=now),
        ]
    )
    return base.Report(kind, platform, period, sections, generated_at=now)


def build(kind, platform, period: Period, *, now) -> base.Report:
    return build_over(kind, platform, period, now=now, grain="day")
