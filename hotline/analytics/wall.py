"""The monitoring wall's figures (监控大屏): reads only, each figure from the one place its
rule already lives.

* waiting now, longest wait, answered and abandoned today — the contact center's queue
  figures summed as the supervisor seat sums them (``contact.selectors.queue_figures``
  and ``floor_totals``);
* agents by state — ``AgentPresence`` counted with the seat's rule (``floor_totals``) and
  named as the seat names them (``agent_state_label``);
* 接通率, 平均接通时长, 进线量 (channel mix, arrivals by hour) — the KPI registry
  (``analytics.selectors``);
* 热点 — ``analytics.hot.top_topics``; overdue orders — ``workorders.selectors.overdue_q``;
* the voice side — the media nodes' heartbeats and trunk probes
  (``telephony.selectors.voice_health``): a node that stops reporting is 失联, a trunk
  that does not answer OPTIONS is 异常.

A wall shows one platform and the platforms below it (as the KPIs count them); a
platform with sub-platforms (a province, a city with districts) also shows each direct
sub-platform's key figures (省级监控各地市分平台). Everything returned is plain JSON
(numbers and strings): the API sends it as is and the socket pushes the live part.
"""

import datetime as dt

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import ExtractHour
from django.utils import timezone

from hotline.contact import selectors as contact_selectors
from hotline.contact.lifecycle import Presence, agent_state_label
from hotline.contact.models import AgentPresence, Channel, Queue
from hotline.core.errors import Forbidden, NotFound
from hotline.core.models import Platform
from hotline.core.scope import scope_of
from hotline.core.workdays import LOCAL_TZ
from hotline.telephony import selectors as telephony
from hotline.workorders.lifecycle import WITH_UNIT_STATES, State
from hotline.workorders.selectors import overdue_q

from . import hot, selectors
from .kpis import KPIS

# Who may open the wall: the floor's leaders (值班长, 项目经理: contact.supervise) and the
# supervising office (热线办 and the province's office watching its cities:
# workorders.supervise). The wall shows counts only — no citizen, no conversation.
PERMISSIONS = ("contact.supervise", "workorders.supervise")

HOT_DAYS = 7  # 热点: the last week against the week before
HOT_LIMIT = 10
HOT_CACHE_SECONDS = 300  # topics move by the day; many walls share one reading

CHANNEL_LABELS = dict(Channel.choices)
# Overdue orders by the deadline they missed (the rule itself is overdue_q).
OVERDUE_KINDS = (
    ("dispatch", "派单超时"),
    ("handle", "办理超期"),
    ("review", "审核超时"),
    ("callback", "回访超时"),
)
# The seat's state groups, in the order the wall shows them.
AGENT_GROUPS = (
    ("agents_ready", "示闲"),
    ("agents_in_session", "通话/会话中"),
    ("agents_wrap_up", "话后整理"),
    ("agents_not_ready", "示忙"),
)


# --- who sees which wall -----------------------------------------------------------------------


def may_view(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and not user.must_change_password
        and any(user.can(p) for p in PERMISSIONS)
    )


def wall_platform(viewer, code: str | None = None) -> Platform:
    """The platform whose wall ``viewer`` asks for (its code; none: the viewer's own),
    within the viewer's data scope. Forbidden / NotFound with the reason in Chinese."""
    if not may_view(viewer):
        raise Forbidden("监控大屏需要“班长监控”或“督办”权限")
    scope = scope_of(viewer)
    if scope.unit_id is not None:
        raise Forbidden("承办单位人员不能查看监控大屏")
    code = (code or "").strip().upper()
    if not code:
        return viewer.platform
    platform = Platform.objects.filter(code=code, is_active=True).first()
    if platform is None:
        raise NotFound(f"平台不存在：{code[:20]}")
    if not scope.covers_platform(platform.pk):
        raise Forbidden("该平台不在您的管辖范围内")
    return platform


def platform_ids(platform: Platform) -> list[int]:
    """The platform and every platform below it."""
    return list(
        Platform.objects.filter(path__startswith=platform.path).values_list("pk", flat=True)
    )


def sub_platforms(platform: Platform) -> list[Platform]:
    """The direct sub-platforms shown on the wall (下级平台)."""
    return list(Platform.objects.filter(parent=platform, is_active=True).order_by("code"))


# --- the day ------------------------------------------------------------------------------------


def today(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[00:00, next 00:00) of ``now``'s day in the hotline's time zone."""
    start = contact_selectors.day_start(now)
    return start, start + dt.timedelta(days=1)


def _iso(value: dt.datetime) -> str:
    return timezone.localtime(value, LOCAL_TZ).isoformat()


# --- live figures (pushed within a second of each contact or agent event) ----------------------


def queues_now(ids: list[int], now: dt.datetime) -> list[dict]:
    """Each active queue of the platforms: the contact center's own queue figures."""
    rows = []
    for queue in Queue.objects.filter(platform_id__in=ids, is_active=True).order_by(
        "platform__path", "code"
    ):
        figures = contact_selectors.queue_figures(queue, now)
        figures["platform"] = queue.platform_id
        rows.append(figures)
    return rows


def queue_totals(queues: list[dict]) -> dict:
    """排队等待, 最长等待, 今日接起, 今日放弃: the queues summed as the supervisor seat sums
    them."""
    totals = contact_selectors.floor_totals([], queues)
    return {
        "waiting": totals["waiting"],
        "longest_wait": totals["longest_wait"],
        "answered_today": totals["answered_today"],
        "abandoned_today": totals["abandoned_today"],
    }


def agent_states(ids: list[int]) -> dict:
    """坐席状态: the signed-in agents in the seat's four groups, and by the state each one
    shows (示闲, 小休, 会话中 …)."""
    rows = list(
        AgentPresence.objects.filter(platform_id__in=ids)
        .exclude(presence=Presence.SIGNED_OUT)
        .values("presence", "activity", "reason")
    )
    totals = contact_selectors.floor_totals(rows, [])
    by_state: dict[str, int] = {}
    for row in rows:
        label = agent_state_label(row["presence"], row["activity"], row["reason"])
        by_state[label] = by_state.get(label, 0) + 1
    return {
        "signed_in": totals["agents_signed_in"],
        "groups": [
            {"key": key, "label": label, "count": totals[key]} for key, label in AGENT_GROUPS
        ],
        "states": [
            {"label": label, "count": n}
            for label, n in sorted(by_state.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def answer_kpis(platform: Platform, now: dt.datetime) -> dict:
    """接通率 and 平均接通时长 of today so far, from the KPI registry (voice, as the
    registry counts them by default), each with its target and whether it is met."""
    start, end = today(now)
    found = {}
    for kpi_id in ("answer_rate", "avg_answer_seconds"):
        kpi = KPIS[kpi_id]
        figure = selectors.kpi_value(kpi_id, start=start, end=end, platform=platform, now=now)
        found[kpi_id] = {
            "name": kpi.name,
            "value": figure.value,
            "numerator": figure.numerator,
            "denominator": figure.denominator,
            "target": kpi.target,
            "met": kpi.met(figure.value),
        }
    return found


def live_figures(platform: Platform, now: dt.datetime | None = None) -> dict:
    """What changes with every call and every agent: the counters, agents, the two
    answer KPIs, the queues, and each sub-platform's counters."""
    now = now or timezone.now()
    ids = platform_ids(platform)
    queues = queues_now(ids, now)
    children = []
    for child in sub_platforms(platform):
        below = set(platform_ids(child))
        totals = queue_totals([q for q in queues if q["platform"] in below])
        agents = agent_states(list(below))
        children.append(
            {
                "code": child.code,
                "name": child.name,
                **totals,
                "agents_signed_in": agents["signed_in"],
            }
        )
    return {
        "now": _iso(now),
        "calls": queue_totals(queues),
        "kpis": answer_kpis(platform, now),
        "agents": agent_states(ids),
        "queues": [
            {
                "name": q["name"],
                "waiting": q["waiting"],
                "longest_wait": q["longest_wait"],
                "agents_ready": q["agents_ready"],
                "answered_today": q["answered_today"],
                "abandoned_today": q["abandoned_today"],
            }
            for q in queues
        ],
        "children": children,
    }


# --- the heavier figures (refreshed every few tens of seconds) ----------------------------------


def _contacts(platform: Platform, start: dt.datetime, end: dt.datetime, now: dt.datetime):
    """The contacts (sessions) that came in over [start, end): the records behind the
    registry's 进线量."""
    return selectors.kpi_records(
        "contact_volume", part="denominator", start=start, end=end, platform=platform, now=now
    ).order_by()


def channel_mix(platform: Platform, now: dt.datetime) -> list[dict]:
    """渠道构成: today's contacts by channel, largest first."""
    start, end = today(now)
    counts = dict(
        _contacts(platform, start, end, now)
        .values("channel")
        .annotate(n=Count("pk"))
        .values_list("channel", "n")
    )
    return [
        {"channel": channel, "label": CHANNEL_LABELS.get(channel, channel), "count": n}
        for channel, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def arrivals_by_hour(platform: Platform, now: dt.datetime) -> dict:
    """进线时段分布: today's contacts per hour (up to the current hour) against
    yesterday's (all 24 hours)."""
    start, end = today(now)

    def per_hour(since, until):
        counts = dict(
            _contacts(platform, since, until, now)
            .annotate(hour=ExtractHour("created_at", tzinfo=LOCAL_TZ))
            .values("hour")
            .annotate(n=Count("pk"))
            .values_list("hour", "n")
        )
        return [counts.get(hour, 0) for hour in range(24)]

    hour_now = timezone.localtime(now, LOCAL_TZ).hour
    return {
        "hours": [f"{hour:02d}时" for hour in range(24)],
        "today": per_hour(start, end)[: hour_now + 1],
        "yesterday": per_hour(start - dt.timedelta(days=1), start),
    }


def hot_topics(platform: Platform, now: dt.datetime) -> list[dict]:
    """热点诉求: the rising topics of the last week (vs the week before)."""
    end = timezone.localtime(now, LOCAL_TZ).date()
    start = end - dt.timedelta(days=HOT_DAYS - 1)
    key = f"wall:hot:{platform.pk}:{start}:{end}"
    found = cache.get(key)
    if found is None:
        found = [
            {
                "term": t.term,
                # the word and the one that most often goes with it: 台风 倒树
                "label": " ".join([t.term, *t.related[:1]]),
                "count": t.count,
                "previous": t.previous,
                "growth": t.growth,
                "growth_text": t.growth_text,
                "category": t.category,
            }
            for t in hot.top_topics(platform, start, end, limit=HOT_LIMIT)
        ]
        cache.set(key, found, HOT_CACHE_SECONDS)
    return found


def orders_by_area(platform: Platform, now: dt.datetime) -> list[dict]:
    """各区域工单: this month's orders by area (镇/区), largest first."""
    local = timezone.localtime(now, LOCAL_TZ)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    counts = (
        hot.platform_orders(platform)
        .filter(created_at__gte=month_start, created_at__lte=now)
        .order_by()
        .values("area")
        .annotate(n=Count("pk"))
        .values_list("area", "n")
    )
    merged: dict[str, int] = {}
    for area, n in counts:
        name = (area or "").strip() or "未填区域"
        merged[name] = merged.get(name, 0) + n
    return [
        {"area": area, "count": n}
        for area, n in sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    ]


def overdue_counts(platform: Platform, now: dt.datetime) -> dict:
    """超期工单 now: open orders past a running deadline (the order list's rule), by the
    deadline they missed."""
    by_state = dict(
        hot.platform_orders(platform)
        .filter(overdue_q(now))
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    kind_of = {State.SUBMITTED: "dispatch", State.REPLIED: "review"}
    kind_of |= {state: "handle" for state in WITH_UNIT_STATES}
    kind_of[State.CALLBACK_PENDING] = "callback"
    counts = {key: 0 for key, _ in OVERDUE_KINDS}
    for state, n in by_state.items():
        counts[kind_of[state]] += n
    return {
        "total": sum(counts.values()),
        "kinds": [
            {"key": key, "label": label, "count": counts[key]} for key, label in OVERDUE_KINDS
        ],
    }


def sub_platform_figures(platform: Platform, now: dt.datetime) -> list[dict]:
    """下级平台: each direct sub-platform's 接通率 today and overdue orders now (their
    counters come with the live figures)."""
    start, end = today(now)
    rows = []
    for child in sub_platforms(platform):
        rate = selectors.kpi_value("answer_rate", start=start, end=end, platform=child, now=now)
        rows.append(
            {
                "code": child.code,
                "answer_rate": rate.value,
                "overdue": overdue_counts(child, now)["total"],
            }
        )
    return rows


def voice_health(platform: Platform) -> dict:
    """语音节点与中继 as the media nodes last reported them (they serve every platform of
    the deployment): ``telephony.selectors.voice_health``."""
    return telephony.voice_health()


def wall_figures(platform: Platform, now: dt.datetime | None = None) -> dict:
    """Everything the wall shows: the live figures and the heavier ones."""
    now = now or timezone.now()
    figures = live_figures(platform, now)
    heavy = {row["code"]: row for row in sub_platform_figures(platform, now)}
    for child in figures["children"]:
        child.update(heavy.get(child["code"], {}))
    figures.update(
        platform={
            "code": platform.code,
            "name": platform.name,
            "level": platform.level,
            "level_label": platform.get_level_display(),
        },
        channels=channel_mix(platform, now),
        hourly=arrivals_by_hour(platform, now),
        hot_topics=hot_topics(platform, now),
        areas=orders_by_area(platform, now),
        overdue=overdue_counts(platform, now),
        voice=voice_health(platform),
    )
    return figures
