"""KPIs computed from the stored facts: one formula per indicator of ``kpis.py``, here only.

Each KPI is described as :class:`Parts` — the queryset of the records behind its
denominator (the calls, orders, timeline events or agent intervals of the period and
scope) and the condition that puts a record in the numerator. :func:`kpi_value` turns
that into one aggregate query (no loop over rows: a period holds millions of them);
:func:`kpi_records` returns the same records for the drill-down (click 接通率 → the
calls). The API, the pages, the assessments and the wall all call these two.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from hotline.contact.lifecycle import Activity, Presence, agent_state_label
from hotline.contact.models import (
    FIRST_RESPONSE_TARGET_SECONDS,
    AgentStateInterval,
    Channel,
    ContactFact,
    FactKind,
    Session,
)
from hotline.core import workdays
from hotline.core.errors import Invalid, NotFound
from hotline.core.models import HandlingUnit, Platform, Team, User
from hotline.workorders.lifecycle import State
from hotline.workorders.models import Event, OrderType, WorkOrder

from .kpis import KPIS, SATISFIED_LEVELS, Kpi, Unit

# A contact channel as the work orders name it (the order keeps where it came from).
ORDER_CHANNEL = {Channel.VOICE: "phone", Channel.WEBCHAT: "web"}
MAX_PERIOD_DAYS = 400


@dataclass(frozen=True)
class KpiValue:
    """One figure: ``value`` is ``numerator ÷ denominator`` (a rate or mean), a count, or
    None when there is nothing to measure; ``applicable`` is False when the KPI is not
    defined for the scope asked (e.g. 接通率 of a handling unit)."""

    value: float | None
    numerator: float | None
    denominator: float | None
    applicable: bool = True


@dataclass(frozen=True)
class Scope:
    start: dt.datetime
    end: dt.datetime  # exclusive
    platform_ids: tuple[int, ...]
    team: int | None = None
    agent: int | None = None
    unit: int | None = None
    channel: str | None = None
    now: dt.datetime | None = None

    @property
    def agent_ids(self):
        """The agents asked for (one, or a team's members), else None."""
        if self.agent is not None:
            return [self.agent]
        if self.team is not None:
            return User.objects.filter(team_id=self.team).values("pk")
        return None

    @property
    def measured_until(self) -> dt.datetime:
        """The end of the period, or now when the period has not ended yet."""
        return min(self.end, self.now or timezone.now())


@dataclass
class Parts:
    """The records behind a figure: ``base`` (the denominator's), ``hit`` (which count in
    the numerator; None: all), ``measure`` (summed instead of counted), ``mean`` (the
    numerator is the sum of ``measure``, the denominator the count)."""

    base: QuerySet
    hit: object = None
    measure: object = None
    mean: bool = False
    complement: bool = False  # the KPI is "1 − …": the numerator holds the records that miss


class NoRecords(Invalid):
    """A figure made of other figures (a weighted blend, a sum of daily ratios): it has
    no single list of records."""


# --- period and scope ----------------------------------------------------------------------------


def period(start_day: dt.date, end_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Inclusive local dates (Asia/Shanghai) → [start, end) instants; 4xx on a bad period."""
    if end_day < start_day:
        raise Invalid("结束日期不能早于开始日期")
    if (end_day - start_day).days + 1 > MAX_PERIOD_DAYS:
        raise Invalid(f"统计期不能超过 {MAX_PERIOD_DAYS} 天")
    tz = workdays.LOCAL_TZ
    start = dt.datetime.combine(start_day, dt.time.min, tz)
    end = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time.min, tz)
    return start, end


def make_scope(
    *, start, end, platform, team=None, agent=None, unit=None, channel=None, now=None
) -> Scope:
    platform = platform if isinstance(platform, Platform) else Platform.objects.get(pk=platform)
    ids = Platform.objects.filter(path__startswith=platform.path).values_list("pk", flat=True)
    if channel is not None and channel not in Channel.values:
        raise Invalid(f"渠道取值不正确：{channel}")
    return Scope(
        start=start,
        end=end,
        platform_ids=tuple(ids),
        team=getattr(team, "pk", team),
        agent=getattr(agent, "pk", agent),
        unit=getattr(unit, "pk", unit),
        channel=channel,
        now=now,
    )


def _applies(kpi: Kpi, scope: Scope) -> bool:
    asked = {
        name for name in ("team", "agent", "unit", "channel") if getattr(scope, name) is not None
    }
    return asked <= kpi.dimensions


def _channels(kpi: Kpi, scope: Scope) -> list[str] | None:
    if scope.channel:
        return [scope.channel]
    return list(kpi.default_channels) or None


def _facts(kpi: Kpi, scope: Scope, kind: str, *, by_agent: bool = True) -> QuerySet:
    facts = ContactFact.objects.filter(
        kind=kind, at__gte=scope.start, at__lt=scope.end, platform_id__in=scope.platform_ids
    )
    channels = _channels(kpi, scope)
    if channels:
        facts = facts.filter(channel__in=channels)
    if by_agent and scope.agent_ids is not None:
        facts = facts.filter(agent_id__in=scope.agent_ids)
    return facts


def _order_channels(kpi: Kpi, scope: Scope) -> list[str] | None:
    channels = _channels(kpi, scope)
    return [ORDER_CHANNEL.get(c, c) for c in channels] if channels else None


def _orders(kpi: Kpi, scope: Scope) -> QuerySet:
    orders = WorkOrder.objects.filter(platform_id__in=scope.platform_ids)
    channels = _order_channels(kpi, scope)
    if channels:
        orders = orders.filter(channel__in=channels)
    if scope.unit is not None:
        orders = orders.filter(lead_unit_id=scope.unit)
    return orders


def _events(kpi: Kpi, scope: Scope, *actions: str, unit_field: str = "unit_id") -> QuerySet:
    events = Event.objects.filter(
        action__in=actions,
        at__gte=scope.start,
        at__lt=scope.end,
        order__platform_id__in=scope.platform_ids,
    )
    channels = _order_channels(kpi, scope)
    if channels:
        events = events.filter(order__channel__in=channels)
    if scope.agent_ids is not None:
        events = events.filter(actor_id__in=scope.agent_ids)
    if scope.unit is not None:
        events = events.filter(**{unit_field: scope.unit})
    return events


def _in_period(scope: Scope, field: str) -> Q:
    return Q(**{f"{field}__gte": scope.start, f"{field}__lt": scope.end})


def _satisfied(params: dict) -> tuple[str, ...]:
    return SATISFIED_LEVELS if params["count_basic"] else SATISFIED_LEVELS[:2]


# --- the formulas: one function per KPI ----------------------------------------------------------


def answer_rate(kpi, scope, p) -> Parts:
    answered = ContactFact.objects.filter(session_id=OuterRef("pk"), kind=FactKind.ANSWERED)
    if scope.agent_ids is not None:  # 坐席接起率: of the calls offered to them
        offered = _facts(kpi, scope, FactKind.ASSIGNED).values("session_id")
        answered = answered.filter(agent_id__in=scope.agent_ids)
    else:
        kind = FactKind.QUEUED if p["basis"] == "requested" else FactKind.OFFERED
        offered = _facts(kpi, scope, kind).values("session_id")
    return Parts(Session.objects.filter(pk__in=offered), hit=Exists(answered))


def avg_answer_seconds(kpi, scope, p) -> Parts:
    earlier = ContactFact.objects.filter(
        session_id=OuterRef("session_id"), kind=FactKind.ANSWERED, pk__lt=OuterRef("pk")
    )
    base = (
        _facts(kpi, scope, FactKind.ANSWERED)
        .filter(wait_seconds__isnull=False)
        .exclude(Exists(earlier))  # a call's first answer; a re-queued transfer is not a call
    )
    return Parts(base, measure=F("wait_seconds"), mean=True)


def abandon_rate(kpi, scope, p) -> Parts:
    queued = _facts(kpi, scope, FactKind.QUEUED).values("session_id")
    abandoned = ContactFact.objects.filter(session_id=OuterRef("pk"), kind=FactKind.ABANDONED)
    return Parts(Session.objects.filter(pk__in=queued), hit=Exists(abandoned))


def contact_volume(kpi, scope, p) -> Parts:
    offered = _facts(kpi, scope, FactKind.OFFERED).values("session_id")
    return Parts(Session.objects.filter(pk__in=offered))


def first_response_rate(kpi, scope, p) -> Parts:
    base = _facts(kpi, scope, FactKind.RESPONDED).filter(
        channel__in=list(FIRST_RESPONSE_TARGET_SECONDS)
    )
    hit = Q()
    for channel, seconds in FIRST_RESPONSE_TARGET_SECONDS.items():
        hit |= Q(channel=channel, wait_seconds__lte=seconds)
    return Parts(base, hit=hit)


def instant_answer_rate(kpi, scope, p) -> Parts:
    base = _orders(kpi, scope).filter(_in_period(scope, "created_at"), order_type=OrderType.CONSULT)
    if scope.agent_ids is not None:
        base = base.filter(created_by_id__in=scope.agent_ids)
    return Parts(base, hit=Q(direct=True))


def ontime_callback_rate(kpi, scope, p) -> Parts:
    if p["rule"] == "previous_workday":
        raise NoRecords("“前一工作日待回访”口径按日汇总，请按 sla 或 24h 口径查看明细")
    base = _events(kpi, scope, "callback")
    if p["rule"] == "sla":
        return Parts(base, hit=Q(data__late=False))
    reviewed = Event.objects.filter(
        order=OuterRef("order"), action="review-reply", at__lte=OuterRef("at")
    ).filter(data__approved=True)
    base = base.annotate(reviewed_at=Subquery(reviewed.order_by("-at", "-pk").values("at")[:1]))
    return Parts(base, hit=Q(at__lte=F("reviewed_at") + dt.timedelta(hours=24)))


def satisfaction_rate(kpi, scope, p) -> Parts:
    if p["front_weight"]:
        raise NoRecords("加权满意率由前台满意率与回访满意率合成，请分别查看两项的明细")
    base = _events(kpi, scope, "callback", unit_field="order__lead_unit_id")
    return Parts(base, hit=Q(data__satisfaction__in=list(_satisfied(p))))


def frontdesk_satisfaction_rate(kpi, scope, p) -> Parts:
    base = Session.objects.filter(
        _in_period(scope, "satisfaction_at"), platform_id__in=scope.platform_ids
    ).exclude(satisfaction="")
    if scope.channel:
        base = base.filter(channel=scope.channel)
    if scope.agent_ids is not None:
        base = base.filter(agent_id__in=scope.agent_ids)
    return Parts(base, hit=Q(satisfaction__in=_satisfied(p)))


def dispatch_accuracy(kpi, scope, p) -> Parts:
    dispatched = _events(kpi, scope, "dispatch", "redispatch").values("order_id")
    returned = Event.objects.filter(
        order=OuterRef("pk"), action="review-return", at__gte=scope.start
    ).filter(data__approved=True)
    return Parts(WorkOrder.objects.filter(pk__in=dispatched), hit=~Exists(returned))


def dispatch_timeliness_rate(kpi, scope, p) -> Parts:
    # The current round of dispatch began when the order last entered 待派单 (intake, or
    # an accepted return); its deadline is the stored dispatch_due.
    entered = Event.objects.filter(order=OuterRef("pk"), to_state=State.SUBMITTED)
    orders = _orders(kpi, scope).annotate(
        round_start=Subquery(entered.order_by("-at", "-pk").values("at")[:1])
    )
    dispatches = Event.objects.filter(
        order=OuterRef("pk"), action="dispatch", at__gte=OuterRef("round_start")
    )
    orders = orders.annotate(
        dispatched=Exists(dispatches),
        on_time=Exists(dispatches.filter(at__lte=OuterRef("dispatch_due"))),
    )
    base = orders.filter(_in_period(scope, "dispatch_due")).filter(
        Q(dispatched=True)
        | (Q(dispatch_due__lt=scope.measured_until) & ~Q(state__in=[State.CANCELLED, State.MERGED]))
    )
    return Parts(base, hit=Q(on_time=True))


def review_timeliness_rate(kpi, scope, p) -> Parts:
    replies = Event.objects.filter(
        order=OuterRef("order"), action="reply", to_state=State.REPLIED, at__lte=OuterRef("at")
    )
    base = _events(kpi, scope, "review-reply").annotate(
        replied_at=Subquery(replies.order_by("-at", "-pk").values("at")[:1])
    )
    return Parts(base, hit=Q(at__lte=F("replied_at") + dt.timedelta(hours=p["hours"])))


def sign_response_rate(kpi, scope, p) -> Parts:
    return Parts(_events(kpi, scope, "sign"), hit=Q(data__late=False))


def return_reasonable_rate(kpi, scope, p) -> Parts:
    return Parts(_events(kpi, scope, "review-return"), hit=Q(data__approved=True))


def extension_reasonable_rate(kpi, scope, p) -> Parts:
    return Parts(_events(kpi, scope, "review-extension"), hit=Q(data__approved=True))


def _dispatched_completed(kpi, scope) -> Q:
    return _in_period(scope, "completed_at") & Q(dispatched_at__isnull=False, direct=False)


def ontime_completion_rate(kpi, scope, p) -> Parts:
    end = scope.measured_until
    overdue_in_transit = (
        Q(dispatched_at__lt=end, handle_due__lt=end)
        & ~Q(completed_at__lt=end)
        & (Q(replied_at__isnull=True) | Q(replied_at__gte=end))
        & ~(Q(state__in=[State.CANCELLED, State.MERGED]) & Q(closed_at__lt=end))
    )
    base = _orders(kpi, scope).filter(_dispatched_completed(kpi, scope) | overdue_in_transit)
    hit = _dispatched_completed(kpi, scope) & Q(replied_at__lte=F("handle_due"))
    return Parts(base, hit=hit)


def one_time_resolution_rate(kpi, scope, p) -> Parts:
    base = _orders(kpi, scope).filter(_dispatched_completed(kpi, scope))
    return Parts(base, hit=Q(reopen_count=0))


def work_time_utilization(kpi, scope, p) -> Parts:
    start = Value(scope.start, output_field=DateTimeField())
    until = Value(scope.measured_until, output_field=DateTimeField())
    base = AgentStateInterval.objects.filter(
        platform_id__in=scope.platform_ids, started_at__lt=scope.measured_until
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gt=scope.start))
    base = base.exclude(presence=Presence.SIGNED_OUT)
    if scope.agent_ids is not None:
        base = base.filter(agent_id__in=scope.agent_ids)
    seconds = ExpressionWrapper(
        Least(Coalesce("ended_at", until), until) - Greatest("started_at", start),
        output_field=DurationField(),
    )
    working = (
        Q(presence=Presence.READY)
        | Q(activity__in=[Activity.OFFERING, Activity.IN_SESSION, Activity.WRAP_UP])
        | Q(reason="after_session")
    )
    return Parts(base, hit=working, measure=seconds)


FORMULAS: dict[str, Callable[[Kpi, Scope, dict], Parts]] = {
    "answer_rate": answer_rate,
    "avg_answer_seconds": avg_answer_seconds,
    "abandon_rate": abandon_rate,
    "contact_volume": contact_volume,
    "first_response_rate": first_response_rate,
    "instant_answer_rate": instant_answer_rate,
    "ontime_callback_rate": ontime_callback_rate,
    "satisfaction_rate": satisfaction_rate,
    "frontdesk_satisfaction_rate": frontdesk_satisfaction_rate,
    "dispatch_accuracy": dispatch_accuracy,
    "dispatch_timeliness_rate": dispatch_timeliness_rate,
    "review_timeliness_rate": review_timeliness_rate,
    "sign_response_rate": sign_response_rate,
    "return_reasonable_rate": return_reasonable_rate,
    "extension_reasonable_rate": extension_reasonable_rate,
    "ontime_completion_rate": ontime_completion_rate,
    "one_time_resolution_rate": one_time_resolution_rate,
    "work_time_utilization": work_time_utilization,
}


# --- figures made of other figures -----------------------------------------------------------------


def _callbacks_after_previous_workday(kpi: Kpi, scope: Scope) -> KpiValue:
    """SY 回访及时率: for each working day of the period, the orders awaiting callback at
    the end of the previous working day, and of them those called back by the end of the
    day; summed over the days (a loop over days, each two aggregate queries)."""
    calendar = workdays.current()
    tz = workdays.LOCAL_TZ
    first = scope.start.astimezone(tz).date()
    last = (scope.end.astimezone(tz) - dt.timedelta(microseconds=1)).date()
    today = timezone.localtime(scope.now or timezone.now()).date()
    numerator = denominator = 0
    day = first
    while day <= min(last, today):
        if calendar.is_working_day(day):
            previous = day - dt.timedelta(days=1)
            while not calendar.is_working_day(previous):
                previous -= dt.timedelta(days=1)
            cut = dt.datetime.combine(previous + dt.timedelta(days=1), dt.time.min, tz)
            day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tz)
            backlog = _awaiting_callback_at(kpi, scope, cut)
            called = Event.objects.filter(
                order=OuterRef("pk"), action="callback", at__gte=cut, at__lt=day_end
            )
            counts = backlog.aggregate(den=Count("pk"), num=Count("pk", filter=Q(Exists(called))))
            numerator += counts["num"]
            denominator += counts["den"]
        day += dt.timedelta(days=1)
    value = numerator / denominator if denominator else None
    return KpiValue(value, numerator, denominator)


def _awaiting_callback_at(kpi: Kpi, scope: Scope, moment: dt.datetime) -> QuerySet:
    """Orders in 待回访 at ``moment``: their last event before it left them there."""
    entered = Event.objects.filter(
        order=OuterRef("pk"), to_state=State.CALLBACK_PENDING, at__lt=moment
    )
    left_later = Event.objects.filter(
        order=OuterRef("pk"), from_state=State.CALLBACK_PENDING, at__gte=moment
    )
    last_state = Event.objects.filter(order=OuterRef("pk"), at__lt=moment).order_by("-at", "-pk")
    return (
        _orders(kpi, scope)
        .filter(Exists(entered))
        .filter(Q(state=State.CALLBACK_PENDING) | Q(Exists(left_later)))
        .annotate(state_then=Subquery(last_state.values("to_state")[:1]))
        .filter(state_then=State.CALLBACK_PENDING)
    )


def _blend(kpi: Kpi, scope: Scope, params: dict) -> KpiValue:
    weight = params["front_weight"]
    front = kpi_value_in(
        "frontdesk_satisfaction_rate", scope, count_basic=params["count_basic"]
    ).value
    callback = kpi_value_in("satisfaction_rate", scope, count_basic=params["count_basic"]).value
    if front is None and callback is None:
        return KpiValue(None, None, None)
    if front is None or callback is None:  # one part unmeasured: the other stands alone
        return KpiValue(front if callback is None else callback, None, None)
    return KpiValue(weight * front + (1 - weight) * callback, None, None)


# --- the entry points ------------------------------------------------------------------------------


def kpi_params(kpi_id: str, params: dict) -> dict:
    """The KPI's parameters with defaults filled in; unknown or bad ones → Invalid."""
    kpi = get_kpi(kpi_id)
    known = {p.name: p for p in kpi.params}
    values = kpi.defaults()
    for name, raw in params.items():
        if name not in known:
            raise Invalid(f"指标“{kpi.name}”没有参数 {name}")
        try:
            values[name] = known[name].parse(raw)
        except ValueError as error:
            raise Invalid(str(error)) from None
    return values


def get_kpi(kpi_id: str) -> Kpi:
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        raise NotFound(f"没有这个指标：{kpi_id}")
    return kpi


def kpi_value(
    kpi_id: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    platform,
    team=None,
    agent=None,
    unit=None,
    channel=None,
    now=None,
    **params,
) -> KpiValue:
    """The figure of one KPI for a period [start, end) and scope."""
    scope = make_scope(
        start=start,
        end=end,
        platform=platform,
        team=team,
        agent=agent,
        unit=unit,
        channel=channel,
        now=now,
    )
    return kpi_value_in(kpi_id, scope, **params)


def kpi_value_in(kpi_id: str, scope: Scope, **params) -> KpiValue:
    kpi = get_kpi(kpi_id)
    p = kpi_params(kpi_id, params)
    if not _applies(kpi, scope):
        return KpiValue(None, None, None, applicable=False)
    if kpi_id == "satisfaction_rate" and p["front_weight"]:
        return _blend(kpi, scope, p)
    if kpi_id == "ontime_callback_rate" and p["rule"] == "previous_workday":
        if scope.agent_ids is not None:
            return KpiValue(None, None, None, applicable=False)
        return _callbacks_after_previous_workday(kpi, scope)
    parts = FORMULAS[kpi_id](kpi, scope, p)
    if kpi.unit == Unit.COUNT:
        count = parts.base.count()
        return KpiValue(float(count), float(count), None)
    if parts.mean:
        row = parts.base.aggregate(num=Sum(parts.measure), den=Count("pk"))
        numerator, denominator = row["num"], row["den"]
    elif parts.measure is not None:
        row = parts.base.aggregate(num=Sum(parts.measure, filter=parts.hit), den=Sum(parts.measure))
        numerator, denominator = (_seconds(row["num"]), _seconds(row["den"]))
    else:
        row = parts.base.aggregate(num=Count("pk", filter=Q(parts.hit)), den=Count("pk"))
        numerator, denominator = row["num"], row["den"]
    if not denominator:
        return KpiValue(None, numerator or 0, denominator or 0)
    return KpiValue(numerator / denominator, numerator, denominator)


def _seconds(value) -> float:
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value) / 1e6


def kpi_records(kpi_id: str, *, part: str = "numerator", **scope_and_params) -> QuerySet:
    """The records behind a figure: ``part="denominator"`` all of them, ``"numerator"``
    those counted in the numerator. Their count equals the figure's (for sums and means:
    the records summed)."""
    if part not in ("numerator", "denominator"):
        raise Invalid("part 取值应为 numerator 或 denominator")
    names = ("start", "end", "platform", "team", "agent", "unit", "channel", "now")
    scope = make_scope(**{k: scope_and_params.pop(k, None) for k in names})
    return records_in(kpi_id, scope, part=part, **scope_and_params)


def records_in(kpi_id: str, scope: Scope, *, part: str = "numerator", **params) -> QuerySet:
    kpi = get_kpi(kpi_id)
    p = kpi_params(kpi_id, params)
    if not _applies(kpi, scope):
        raise Invalid(f"指标“{kpi.name}”不能按所选范围统计")
    parts = FORMULAS[kpi_id](kpi, scope, p)
    records = parts.base
    if part == "numerator" and parts.hit is not None and not parts.mean:
        records = records.filter(parts.hit)
    return records.order_by("-pk")


# --- the table of a page or an API answer ---------------------------------------------------------


def kpi_table(scope: Scope, kpis: list[Kpi] | None = None, params: dict | None = None):
    """Every KPI (or those given) for one scope: (kpi, value) pairs in registry order."""
    params = params or {}
    from .kpis import KPI_LIST

    return [
        (kpi, kpi_value_in(kpi.id, scope, **params.get(kpi.id, {}))) for kpi in (kpis or KPI_LIST)
    ]


def scope_for_viewer(viewer, *, platform=None, team=None, agent=None, unit=None) -> dict:
    """The scope filters a viewer may ask for, checked against their data scope: unit
    staff see their own unit only; others their platform and those below it. Returns the
    platform, team, agent and unit objects (NotFound for anything outside)."""
    from hotline.core.scope import scope_of

    data_scope = scope_of(viewer)
    if data_scope.unit_id is not None:
        own = HandlingUnit.objects.filter(pk=data_scope.unit_id).first()
        if own is None or (unit is not None and unit != own.pk):
            raise NotFound("承办单位不在您的管辖范围内")
        if team is not None or agent is not None:
            raise NotFound("班组或坐席不在您的管辖范围内")
        return {"platform": own.platform, "team": None, "agent": None, "unit": own}
    if platform is None:
        chosen = viewer.platform
    else:
        chosen = (
            Platform.objects.filter(pk__in=data_scope.platform_ids)
            .filter(
                Q(code=str(platform).upper())
                | Q(pk=int(platform) if str(platform).isdigit() else -1)
            )
            .first()
        )
        if chosen is None:
            raise NotFound("平台不存在或不在您的管辖范围内")
    found = {"platform": chosen, "team": None, "agent": None, "unit": None}
    below = Platform.objects.filter(path__startswith=chosen.path).values("pk")
    if team is not None:
        found["team"] = Team.objects.filter(pk=team, platform__in=below).first()
        if found["team"] is None:
            raise NotFound("班组不存在或不在所选平台")
    if agent is not None:
        found["agent"] = User.objects.filter(pk=agent, platform__in=below).first()
        if found["agent"] is None:
            raise NotFound("坐席不存在或不在所选平台")
    if unit is not None:
        found["unit"] = HandlingUnit.objects.filter(pk=unit, platform__in=below).first()
        if found["unit"] is None:
            raise NotFound("承办单位不存在或不在所选平台")
    return found


def filter_choices(viewer) -> dict:
    """Teams, agents and units a viewer may pick on the KPI page (their platform and below)."""
    from hotline.core.scope import scope_of

    ids = scope_of(viewer).platform_ids
    return {
        "platforms": list(Platform.objects.filter(pk__in=ids).order_by("path")),
        "teams": list(Team.objects.filter(platform__in=ids).order_by("name")),
        "agents": list(
            User.objects.filter(platform__in=ids, role_assignments__role="agent")
            .distinct()
            .order_by("username")
        ),
        "units": list(HandlingUnit.objects.filter(platform__in=ids).order_by("code")),
    }


# --- records as rows (API and page) -----------------------------------------------------------------

FACT_LABELS = dict(FactKind.choices)
CHANNEL_LABELS = dict(Channel.choices)


def record_rows(records: QuerySet, limit: int, offset: int = 0) -> list[dict]:
    """One page of drill-down records as plain rows: what the record is, when, who."""
    from hotline.workorders.api import EVENT_LABELS

    model = records.model
    page = list(records[offset : offset + limit])
    names = dict(User.objects.filter(pk__in=_people(page, model)).values_list("pk", "display_name"))
    if model is Session:
        return [
            {
                "kind": "session",
                "ref": s.ref,
                "at": s.created_at,
                "channel": CHANNEL_LABELS.get(s.channel, s.channel),
                "who": names.get(s.agent_id, ""),
                "detail": s.get_state_display()
                + (f"，评价：{s.satisfaction}" if s.satisfaction else ""),
                "url": None,
            }
            for s in page
        ]
    if model is ContactFact:
        refs = dict(
            Session.objects.filter(pk__in=[f.session_id for f in page]).values_list("pk", "ref")
        )
        return [
            {
                "kind": "fact",
                "ref": refs.get(f.session_id, str(f.session_id)),
                "at": f.at,
                "channel": CHANNEL_LABELS.get(f.channel, f.channel),
                "who": names.get(f.agent_id, ""),
                "detail": FACT_LABELS.get(f.kind, f.kind)
                + (f"，等待 {f.wait_seconds:.0f} 秒" if f.wait_seconds is not None else ""),
                "url": None,
            }
            for f in page
        ]
    if model is Event:
        numbers = dict(
            WorkOrder.objects.filter(pk__in=[e.order_id for e in page]).values_list("pk", "number")
        )
        return [
            {
                "kind": "event",
                "ref": numbers.get(e.order_id, ""),
                "at": e.at,
                "channel": "",
                "who": e.actor_name,
                "detail": EVENT_LABELS.get(e.action, e.action) + _event_note(e),
                "url": f"/orders/{numbers.get(e.order_id, '')}/",
            }
            for e in page
        ]
    if model is WorkOrder:
        return [
            {
                "kind": "order",
                "ref": o.number,
                "at": o.created_at,
                "channel": o.get_channel_display(),
                "who": names.get(o.created_by_id, ""),
                "detail": f"{o.state_label}｜{o.title}",
                "url": f"/orders/{o.number}/",
            }
            for o in page
        ]
    return [
        {
            "kind": "interval",
            "ref": str(i.pk),
            "at": i.started_at,
            "channel": "",
            "who": names.get(i.agent_id, ""),
            "detail": agent_state_label(i.presence, i.activity, i.reason)
            + (f"，{i.seconds:.0f} 秒" if i.seconds is not None else "，进行中"),
            "url": None,
        }
        for i in page
    ]


def _people(page, model) -> set:
    field = {Session: "agent_id", ContactFact: "agent_id", WorkOrder: "created_by_id"}.get(
        model, "agent_id"
    )
    return {getattr(r, field, None) for r in page} - {None}


def _event_note(event) -> str:
    data = event.data or {}
    if "satisfaction" in data:
        return f"：{data['satisfaction']}" + ("（超时）" if data.get("late") else "")
    if "approved" in data:
        return "：同意" if data["approved"] else "：不同意"
    if data.get("late"):
        return "（超时）"
    return ""
