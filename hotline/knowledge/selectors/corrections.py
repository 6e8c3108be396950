"""查无纠错 reads: who sees which reports, the editors' list with its filters, the
statistics of a period (counts, how fast reports were closed) and the 查无 feed — the
searches that found nothing, as candidates for a report or a new article."""

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Lower, Trim
from django.urls import reverse
from django.utils import timezone

from hotline.core.models import RolePermission, User
from hotline.core.scope import scope_of

from ..lifecycle import CORRECTION_MOVES, CORRECTION_STATE_LABELS, CorrectionState
from ..models import Article, Correction, SearchLog
from . import articles as article_selectors

# Open: a state some move leaves (待处理, 处理中); closed: the rest (已解决, 不采纳).
OPEN_STATES = tuple(
    s for s in CorrectionState if any(s in m.sources for m in CORRECTION_MOVES.values())
)
CLOSED_STATES = tuple(s for s in CorrectionState if s not in OPEN_STATES)
#: "closed within N days" shares shown in the statistics.
WITHIN_DAYS = (1, 3, 7)
#: Age filter of the list: still open N days after the report.
AGE_CHOICES = {"1": "超过 1 天未办结", "3": "超过 3 天未办结", "7": "超过 7 天未办结"}


# --- who sees what ---------------------------------------------------------------------------


def _platform_ids(user: User) -> frozenset[int]:
    """The platforms whose knowledge the user works with. Unit staff (whose data scope is
    their unit) work with their own platform's knowledge base."""
    scope = scope_of(user)
    if scope.unit_id is not None:
        return frozenset({user.platform_id})
    return scope.platform_ids


def readable_article(user: User, pk) -> Article | None:
    """The article numbered ``pk`` if this person may open it (an editor in scope, or
    anyone when agents may find it), else None."""
    try:
        article = Article.objects.select_related("subject", "platform").filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None
    if article is None or not article_selectors.article_readable(user, article):
        return None
    return article


def article_reportable(user: User, article: Article) -> bool:
    """Anyone may report as wrong an article they can open."""
    return article_selectors.article_readable(user, article)


def article_linkable(user: User, article: Article) -> bool:
    """The KB team may close a report with any article they can open — including the
    draft or pending one they have just written."""
    return article_selectors.article_readable(user, article)


def corrections_triageable(user: User) -> QuerySet[Correction]:
    """The reports a KB-team member (kb.corrections) may triage: those of the platforms in
    their scope; unit staff given the right, those about articles of their unit's
    categories (维护单位)."""
    if not user.can("kb.corrections"):
        return Correction.objects.none()
    scope = scope_of(user)
    if scope.unit_id is not None:
        owned = (
            Q(article__subject__owner_unit=scope.unit_id)
            | Q(article__subject__parent__owner_unit=scope.unit_id)
            | Q(article__subject__parent__parent__owner_unit=scope.unit_id)
        )
        return Correction.objects.filter(owned)
    return Correction.objects.filter(platform__in=scope.platform_ids)


def corrections_visible(user: User) -> QuerySet[Correction]:
    """What a person may open: the reports they triage, and their own."""
    if not getattr(user, "is_authenticated", False):
        return Correction.objects.none()
    return Correction.objects.filter(
        Q(pk__in=corrections_triageable(user).values("pk")) | Q(reporter=user)
    ).select_related("article", "reporter", "handler", "resolved_article", "platform")


def corrections_of_reporter(user: User) -> QuerySet[Correction]:
    """我的上报."""
    return Correction.objects.filter(reporter=user).select_related(
        "article", "handler", "resolved_article"
    )


def handler_candidates(viewer: User | None) -> QuerySet[User]:
    """Who may be named 经办人 on accepting a report: active people holding a role that
    grants knowledge editing or correction handling — within the viewer's scope."""
    roles = RolePermission.objects.filter(permission__in=["kb.edit", "kb.corrections"]).values(
        "role"
    )
    people = User.objects.filter(is_active=True, role_assignments__role__in=roles)
    if viewer is not None:
        scope = scope_of(viewer)
        if scope.unit_id is not None:
            people = people.filter(unit=scope.unit_id)
        else:
            people = people.filter(platform__in=scope.platform_ids)
    return people.distinct().order_by("display_name", "username")


# --- presentation helpers used by services and pages ---------------------------------------


def correction_title(correction: Correction) -> str:
    """One line naming the report: 查无“医保卡补办” / 纠错《标题》."""
    if correction.kind == Correction.Kind.NOT_FOUND:
        return f"查无“{correction.query}”"
    title = correction.article.title if correction.article_id else "（知识已删除）"
    return f"纠错《{title}》"


def correction_link(correction: Correction) -> str:
    return reverse("kb_correction", args=[correction.pk])


def article_link(viewer: User, article: Article) -> str:
    """The reading page of the article (知识阅读, with its 编辑 link for editors), if this
    person may open it; else empty — a draft not yet published, say: the report page,
    which names the article, is shown instead."""
    if article_selectors.article_readable(viewer, article):
        return reverse("kb_read", args=[article.pk])
    return ""


def article_new_link(viewer: User) -> str:
    """The editor's new-article page (for a 查无 query nobody has written up), if allowed."""
    return reverse("kb_article_create") if viewer.can("kb.edit") else ""


# --- the editors' list ----------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass(frozen=True)
class CorrectionFilter:
    state: str = ""
    kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str = ""  # in the query searched or the article's title
    age: str = ""  # key of AGE_CHOICES
    mine: bool = False  # those I handle


def correction_list(
    viewer: User, filters: CorrectionFilter = CorrectionFilter(), *, now=None
) -> QuerySet[Correction]:
    rows = corrections_triageable(viewer).select_related(
        "article", "reporter", "handler", "resolved_article"
    )
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.date_from:
        rows = rows.filter(reported_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        rows = rows.filter(reported_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    if filters.q.strip():
        text = filters.q.strip()
        rows = rows.filter(
            Q(query__icontains=text)
            | Q(article__title__icontains=text)
            | Q(description__icontains=text)
        )
    if filters.age in AGE_CHOICES:
        since = (now or timezone.now()) - dt.timedelta(days=int(filters.age))
        rows = rows.filter(state__in=OPEN_STATES, reported_at__lt=since)
    if filters.mine:
        rows = rows.filter(handler=viewer)
    return rows.order_by("-reported_at", "-pk")


def age_hours(correction: Correction, now=None) -> float:
    """Hours from the report to its close (or to now, while open)."""
    end = correction.closed_at or now or timezone.now()
    return (end - correction.reported_at).total_seconds() / 3600


# --- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindRow:
    kind: str
    label: str
    total: int
    states: list[tuple[str, str, int]]  # (state, label, count) in lifecycle order


@dataclass(frozen=True)
class CorrectionStats:
    """Reports made in [start, end] (local dates, both included) and how fast they were
    closed. Medians and p90 are over the closed ones; the "within N days" shares are of
    all reports of the period, so a report still open counts against them."""

    start: dt.date
    end: dt.date
    total: int
    rows: list[KindRow]
    state_totals: list[tuple[str, str, int]]
    closed: int
    median_hours: float | None
    p90_hours: float | None
    within: list[tuple[int, int, float]] = field(default_factory=list)  # (days, n, share %)

    @property
    def open(self) -> int:
        return self.total - self.closed


def _nearest_rank(values: list[float], percent: int) -> float:
    """The p-th percentile by the nearest-rank method: the smallest value with at least
    p % of the values at or below it (p90 of 10 values is the 9th)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)), 1) - 1]


def correction_stats(viewer: User, start: dt.date, end: dt.date) -> CorrectionStats:
    rows = list(
        corrections_triageable(viewer)
        .filter(reported_at__gte=_day_start(start))
        .filter(reported_at__lt=_day_start(end + dt.timedelta(days=1)))
        .values("kind", "state", "reported_at", "closed_at")
    )
    states = list(CorrectionState)
    counts = {(r["kind"], r["state"]): 0 for r in rows}
    for r in rows:
        counts[r["kind"], r["state"]] += 1
    kind_rows = []
    for kind, label in Correction.Kind.choices:
        cells = [
            (s.value, CORRECTION_STATE_LABELS[s], counts.get((kind, s.value), 0)) for s in states
        ]
        kind_rows.append(KindRow(kind, label, sum(n for *_, n in cells), cells))
    state_totals = [
        (s.value, CORRECTION_STATE_LABELS[s], sum(1 for r in rows if r["state"] == s.value))
        for s in states
    ]
    hours = [
        (r["closed_at"] - r["reported_at"]).total_seconds() / 3600
        for r in rows
        if r["state"] in CLOSED_STATES and r["closed_at"] is not None
    ]
    within = []
    for days in WITHIN_DAYS:
        n = sum(1 for h in hours if h <= days * 24)
        within.append((days, n, round(100 * n / len(rows), 1) if rows else 0.0))
    return CorrectionStats(
        start=start,
        end=end,
        total=len(rows),
        rows=kind_rows,
        state_totals=state_totals,
        closed=len(hours),
        median_hours=round(statistics.median(hours), 1) if hours else None,
        p90_hours=round(_nearest_rank(hours, 90), 1) if hours else None,
        within=within,
    )


# --- the 查无 feed -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A query that found nothing in the period (查无热词)."""

    query: str
    searches: int
    people: int
    last_at: dt.datetime
    report: Correction | None  # an open not-found report of the same query, if any


def not_found_feed(
    viewer: User, start: dt.date, end: dt.date, *, limit: int = 20
) -> list[Candidate]:
    """The most frequent searches without results made on the viewer's platforms in
    [start, end], most searched first; each with the open report of the same query."""
    platforms = _platform_ids(viewer)
    groups = (
        SearchLog.objects.filter(
            results=0,
            at__gte=_day_start(start),
            at__lt=_day_start(end + dt.timedelta(days=1)),
            user__platform__in=platforms,
        )
        .annotate(word=Lower(Trim("query")))
        .exclude(word="")
        .values("word")
        .annotate(searches=Count("pk"), people=Count("user", distinct=True), last_at=Max("at"))
        .order_by("-searches", "-last_at", "word")[:limit]
    )
    groups = list(groups)
    words = [g["word"] for g in groups]
    reports = {}
    open_reports = (
        corrections_triageable(viewer)
        .filter(kind=Correction.Kind.NOT_FOUND, state__in=OPEN_STATES)
        .annotate(word=Lower(Trim("query")))
        .filter(word__in=words)
        .order_by("reported_at")
    )
    for report in open_reports:
        reports.setdefault(report.word, report)
    return [
        Candidate(g["word"], g["searches"], g["people"], g["last_at"], reports.get(g["word"]))
        for g in groups
    ]
