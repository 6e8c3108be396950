"""坐席工作量 (agent workload): per agent, the contacts answered and the time talked (from
the session legs), the orders taken, the callers' rating of the service (前台满意率) and
工时利用率 — the last two the KPI registry's own figures cut by agent."""

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum

from hotline.analytics import selectors
from hotline.contact.models import SessionLeg
from hotline.core.models import User
from hotline.workorders.models import WorkOrder

from . import base
from .base import Period, Section, Table

HEADERS = [
    "坐席",
    "班组",
    "接起会话",
    "通话/会话时长（小时）",
    "平均时长（秒）",
    "受理工单",
    "即时答复",
    "前台评价数",
    "前台满意率",
    "签入时长（小时）",
    "工时利用率",
]


def build(kind, platform, period: Period, *, now) -> base.Report:
    scope = base.scope_of(platform, period, now=now)
    legs = (
        SessionLeg.objects.filter(
            session__platform_id__in=scope.platform_ids,
            answered_at__gte=scope.start,
            answered_at__lt=scope.end,
        )
        .order_by()
        .values("agent_id")
        .annotate(
            n=Count("pk"),
            talk=Sum(
                ExpressionWrapper(F("ended_at") - F("answered_at"), output_field=DurationField()),
                filter=Q(ended_at__isnull=False),
            ),
        )
    )
    sessions = {row["agent_id"]: (row["n"], selectors._seconds(row["talk"])) for row in legs}
    taken = {
        row["created_by_id"]: (row["n"], row["direct"])
        for row in WorkOrder.objects.filter(
            platform_id__in=scope.platform_ids,
            created_at__gte=scope.start,
            created_at__lt=scope.end,
            created_by__isnull=False,
        )
        .order_by()
        .values("created_by_id")
        .annotate(n=Count("pk"), direct=Count("pk", filter=Q(direct=True)))
    }
    rated = base.kpi_by("frontdesk_satisfaction_rate", scope, "agent")
    worked = base.kpi_by("work_time_utilization", scope, "agent")
    ids = (set(sessions) | set(taken) | set(rated) | set(worked)) - {None}
    people = {
        u.pk: u for u in User.objects.filter(pk__in=ids).select_related("team").order_by("username")
    }
    rows = []
    totals = [0, 0.0, 0, 0, 0, 0.0]
    for pk in sorted(
        ids,
        key=lambda pk: (
            -(sessions.get(pk, (0, 0))[0]),
            people[pk].username if pk in people else "",
        ),
    ):
        user = people.get(pk)
        n, talk = sessions.get(pk, (0, 0.0))
        orders, direct = taken.get(pk, (0, 0))
        rating = rated.get(pk)
        work = worked.get(pk)
        signed_in = (work.denominator or 0) if work else 0
        rows.append(
            [
                (user.display_name or user.username) if user else str(pk),
                user.team.name if user and user.team else "",
                n,
                round(talk / 3600, 1),
                round(talk / n) if n else "—",
                orders,
                direct,
                int(rating.denominator or 0) if rating else 0,
                base.rate(rating.value if rating else None),
                round(signed_in / 3600, 1),
                base.rate(work.value if work else None),
            ]
        )
        for i, v in enumerate(
            (n, talk, orders, direct, int(rating.denominator or 0) if rating else 0, signed_in)
        ):
            totals[i] += v
    whole_rating = base.kpi_one("frontdesk_satisfaction_rate", scope)
    whole_work = base.kpi_one("work_time_utilization", scope)
    rows.append(
        [
            "合计",
            "",
            totals[0],
            round(totals[1] / 3600, 1),
            round(totals[1] / totals[0]) if totals[0] else "—",
            totals[2],
            totals[3],
            totals[4],
            base.rate(whole_rating.value),
            round(totals[5] / 3600, 1),
            base.rate(whole_work.value),
        ]
    )
    table = Table("坐席工作量", HEADERS, rows, [14, 12, 10, 18, 12, 10, 10, 12, 12, 14, 12])
    sentences = [
        f"{period.label}共 {len(ids)} 名坐席接起会话 {base.number(totals[0])} 通，"
        f"通话/会话合计 {totals[1] / 3600:,.1f} 小时，受理工单 {base.number(totals[2])} 件"
        f"（即时答复 {base.number(totals[3])} 件）；前台满意率 {base.rate(whole_rating.value)}，"
        f"工时利用率 {base.rate(whole_work.value)}。"
    ]
    if rows[:-1]:
        top = rows[0]
        sentences.append(
            f"接起会话最多的坐席为{top[0]}（{base.number(top[2])} 通，受理工单 {top[5]} 件）。"
        )
    return base.Report(
        kind, platform, period, [Section("坐席工作量", sentences, [table])], generated_at=now
    )
