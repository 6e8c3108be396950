"""话务日报 (daily traffic report): calls and text contacts offered, asking for an agent,
answered and abandoned, by hour and by channel; 接通率 and 平均接通时长; agents on duty.

The counts are the KPI registry's: 进线 is ``contact_volume``, 请求人工 and 接通 the
denominator and numerator of ``answer_rate``, 放弃 the numerator of ``abandon_rate``,
the waits those of ``avg_answer_seconds`` — each cut by hour (or day, month) and channel
in the database. The monthly and annual reports read the same :func:`traffic`.
"""

import datetime as dt
from dataclasses import dataclass, replace

from django.db.models import Count, Q
from django.db.models.functions import ExtractHour

from hotline.contact.lifecycle import Presence
from hotline.contact.models import AgentStateInterval, Channel, ContactFact, FactKind

from . import base
from .base import Period, Section, Table

CHANNEL_LABELS = dict(Channel.choices)


@dataclass
class Traffic:
    """The traffic of one group (an hour, a channel, the whole period)."""

    offered: int = 0  # 进线
    requested: int = 0  # 请求人工
    answered: int = 0  # 接通
    abandoned: int = 0  # 放弃
    wait: float = 0.0  # seconds waited by the answered, summed
    waited: int = 0  # calls whose first answer is counted in the mean

    def add(self, other: "Traffic") -> None:
        for name in ("offered", "requested", "answered", "abandoned", "wait", "waited"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.requested if self.requested else None

    @property
    def avg_answer_seconds(self) -> float | None:
        return self.wait / self.waited if self.waited else None

    def cells(self) -> list:
        return [
            self.offered,
            self.requested,
            self.answered,
            self.abandoned,
            base.rate(self.answer_rate),
            base.seconds(self.avg_answer_seconds),
        ]


CELLS = ["进线", "请求人工", "接通", "放弃", "接通率", "平均接通时长（秒，语音）"]


def traffic(platform, period: Period, by: str | None, *, now=None):
    """(per group of ``by``, per channel, total): :class:`Traffic` from the KPI
    registry's formulas, for every channel."""
    per_key: dict = {}
    per_channel: dict[str, Traffic] = {}
    for channel in Channel.values:
        scope = base.scope_of(platform, period, channel=channel, now=now)
        figures = {
            "contact_volume": base.kpi_by("contact_volume", scope, by),
            "answer_rate": base.kpi_by("answer_rate", scope, by),
            "abandon_rate": base.kpi_by("abandon_rate", scope, by),
            "avg_answer_seconds": base.kpi_by("avg_answer_seconds", scope, by),
        }
        mine = per_channel.setdefault(channel, Traffic())
        for key in set().union(*figures.values()):
            t = Traffic()
            volume = figures["contact_volume"].get(key)
            answer = figures["answer_rate"].get(key)
            abandon = figures["abandon_rate"].get(key)
            waits = figures["avg_answer_seconds"].get(key)
            t.offered = int(volume.value or 0) if volume else 0
            if answer:
                t.answered, t.requested = int(answer.numerator or 0), int(answer.denominator or 0)
            if abandon:
                t.abandoned = int(abandon.numerator or 0)
            if waits:
                t.wait, t.waited = float(waits.numerator or 0), int(waits.denominator or 0)
            mine.add(t)
            if channel != "voice":
                # 平均接通时长 across channels is the voice figure (as the KPI's default):
                # a mailbox's hours of first response would drown the calls' seconds
                t.wait, t.waited = 0.0, 0
            per_key.setdefault(key, Traffic()).add(t)
    total = Traffic()
    for channel, t in per_channel.items():
        total.add(t if channel == "voice" else replace(t, wait=0.0, waited=0))
    return per_key, per_channel, total


def agents_by_hour(platform, period: Period) -> tuple[dict[int, int], dict[int, int], int, int]:
    """在岗坐席 (signed in at some moment of the hour, from the agent state log) and 接待坐席
    (answered a contact in the hour) per hour of one day, and for the whole day."""
    scope = base.scope_of(platform, period)
    start = scope.start
    intervals = AgentStateInterval.objects.filter(
        platform_id__in=scope.platform_ids, started_at__lt=scope.end
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
    intervals = intervals.exclude(presence=Presence.SIGNED_OUT)

    def during(begin, end) -> Q:
        return Q(started_at__lt=end) & (Q(ended_at__isnull=True) | Q(ended_at__gt=begin))

    hours = {}
    for h in range(24):
        begin = start + dt.timedelta(hours=h)
        hours[f"h{h}"] = Count(
            "agent_id", distinct=True, filter=during(begin, begin + dt.timedelta(hours=1))
        )
    counted = intervals.aggregate(day=Count("agent_id", distinct=True), **hours)
    on_duty = {h: counted[f"h{h}"] for h in range(24)}
    answering = ContactFact.objects.filter(
        kind=FactKind.ANSWERED,
        at__gte=scope.start,
        at__lt=scope.end,
        platform_id__in=scope.platform_ids,
    )
    serving = dict(
        answering.annotate(hour=ExtractHour("at", tzinfo=base.TZ))
        .values("hour")
        .annotate(n=Count("agent_id", distinct=True))
        .values_list("hour", "n")
    )
    served_day = answering.aggregate(n=Count("agent_id", distinct=True))["n"]
    return on_duty, serving, counted["day"], served_day


def build(kind, platform, period: Period, *, now) -> base.Report:
    per_hour, per_channel, total = traffic(platform, period, "hour", now=now)
    on_duty, serving, on_duty_day, served_day = agents_by_hour(platform, period)
    scope = base.scope_of(platform, period, now=now)

    # The contract figures (语音, as the KPI page shows them).
    answer = base.kpi_one("answer_rate", scope)
    answer_inbound = base.kpi_one("answer_rate", scope, basis="inbound")
    wait = base.kpi_one("avg_answer_seconds", scope)
    abandon = base.kpi_one("abandon_rate", scope)
    voice = per_channel["voice"]
    summary = Table(
        "话务概况",
        ["项目", "数值", "说明"],
        [
            ["进线量（全部渠道）", total.offered, "语音来电与文字会话"],
            ["语音进线", voice.offered, ""],
            ["语音请求人工", voice.requested, "进入排队的来电"],
            ["语音人工接通", voice.answered, ""],
            ["语音放弃", voice.abandoned, "排队中来电人挂断"],
            ["接通率", base.kpi_text("answer_rate", answer.value), "人工应答 ÷ 人工服务请求"],
            [
                "接通率（呼入口径）",
                base.kpi_text("answer_rate", answer_inbound.value),
                "人工应答 ÷ 呼入总量（三亚口径）",
            ],
            ["平均接通时长", base.kpi_text("avg_answer_seconds", wait.value), "请求人工至接起"],
            ["呼损率", base.kpi_text("abandon_rate", abandon.value), "放弃 ÷ 请求人工"],
            ["在岗坐席", on_duty_day, "当日签入过的坐席（坐席状态记录）"],
            ["接待坐席", served_day, "当日接起过来电或会话的坐席"],
        ],
        [24, 14, 40],
    )
    hourly_rows = []
    for h in range(24):
        t = per_hour.get(h, Traffic())
        hourly_rows.append(
            [f"{h:02d}:00-{h + 1:02d}:00", *t.cells(), on_duty[h], serving.get(h, 0)]
        )
    hourly_rows.append(["合计", *total.cells(), on_duty_day, served_day])
    hourly = Table(
        "分时段话务",
        ["时段", *CELLS, "在岗坐席", "接待坐席"],
        hourly_rows,
        [14, 9, 10, 9, 9, 10, 18, 10, 10],
    )
    channel_rows = [
        [CHANNEL_LABELS[c], *per_channel[c].cells()]
        for c in Channel.values
        if per_channel[c].offered
    ]
    channel_rows.append(["合计", *total.cells()])
    channels = Table("分渠道话务", ["渠道", *CELLS], channel_rows, [12, 9, 10, 9, 9, 10, 18])

    busiest = max(range(24), key=lambda h: per_hour.get(h, Traffic()).offered)
    sentences = [
        f"{period.label}共进线 {base.number(total.offered)} 通（语音 {base.number(voice.offered)} 通），"
        f"请求人工 {base.number(total.requested)} 通，人工接通 {base.number(total.answered)} 通，"
        f"放弃 {base.number(total.abandoned)} 通。",
        f"语音接通率 {base.kpi_text('answer_rate', answer.value)}，"
        f"平均接通时长 {base.kpi_text('avg_answer_seconds', wait.value)}。",
    ]
    if total.offered:
        peak = per_hour[busiest]
        sentences.append(
            f"进线最多的时段为 {busiest:02d}:00-{busiest + 1:02d}:00（{base.number(peak.offered)} 通，"
            f"接通率 {base.rate(peak.answer_rate)}），该时段在岗坐席 {on_duty[busiest]} 人、"
            f"接待坐席 {serving.get(busiest, 0)} 人。"
        )
    return base.Report(
        kind,
        platform,
        period,
        [Section("话务概况", sentences, [summary, hourly, channels])],
        generated_at=now,
    )
