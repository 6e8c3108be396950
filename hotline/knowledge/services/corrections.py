"""查无纠错: writes of the reports agents make from the search page ("nothing found" for a
query, "this article is wrong") and of the KB team's triage.

Every state change goes through :data:`lifecycle.CORRECTION_MOVES` — the permission, the
legal source states and the target come from that table only:

    permission → scope (out of scope reads as not found) → row lock → state guard
    → the change → one audit row → the reporter is told (站内提醒) once committed.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Conflict, NotFound, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.notify import notify
from hotline.core.services import require

from ..lifecycle import CORRECTION_MOVES, CORRECTION_STATE_LABELS, CorrectionState
from ..models import Article, Correction
from ..selectors import corrections as correction_selectors

QUERY_MAX = 100
TEXT_MAX = 2000


def _text(value, *, field: str, label: str, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if not value:
        raise Unprocessable(f"请填写{label}", field=field)
    if len(value) > limit:
        raise Unprocessable(f"{label}不能超过 {limit} 字", field=field)
    return value


@transaction.atomic
def correction_report(
    *,
    actor: User | None,
    kind: str,
    query: str = "",
    article: Article | None = None,
    description: str,
    platform: Platform | None = None,
) -> Correction:
    """Report "nothing found" (``kind="not_found"``, with the ``query`` searched) or "this
    article is wrong" (``kind="wrong"``, with the ``article`` and what is wrong). A
    not-found report may leave the description empty: the query says it, and an agent
    with a caller on the line reports with one click. ``platform`` is for the system only
    (``actor=None``); a person reports on their own platform, or on the article's."""
    require(actor, "kb.view")
    if kind not in Correction.Kind.values:
        raise Unprocessable("上报类型须为“查无”或“纠错”", field="kind")
    query = (query or "").strip()
    if len(query) > QUERY_MAX:
        raise Unprocessable(f"检索词不能超过 {QUERY_MAX} 字", field="query")
    if kind == Correction.Kind.NOT_FOUND:
        if not query:
            raise Unprocessable("查无上报须填写检索词", field="query")
        description = _text(
            description or f"检索“{query}”未找到所需知识", field="description", label="问题描述"
        )
        article = None
        platform = actor.platform if actor is not None else platform
        if platform is None:
            raise Unprocessable("请指定平台", field="platform")
        duplicate = Q(kind=kind, query__iexact=query, platform=platform)
    else:
        if article is None:
            raise Unprocessable("纠错上报须指明有误的知识", field="article")
        description = _text(description, field="description", label="问题描述")
        if actor is not None and not correction_selectors.article_reportable(actor, article):
            raise NotFound("知识不存在或不在您的查阅范围内", field="article")
        platform = article.platform
        duplicate = Q(kind=kind, article=article)
    if actor is not None:
        mine = Correction.objects.filter(
            duplicate, reporter=actor, state__in=correction_selectors.OPEN_STATES
        )
        if mine.exists():
            raise Conflict("您已上报过同一问题，正在处理中，请勿重复上报")
    correction = Correction.objects.create(
        platform=platform,
        kind=kind,
        query=query,
        article=article,
        description=description,
        reporter=actor,
        reported_at=timezone.now(),
    )
    audit.record(
        "kb.correction.report",
        correction,
        object_repr=correction_selectors.correction_title(correction),
        after={"kind": kind, "query": query, "article": article.pk if article else None},
        actor=actor,
    )
    return correction


def _begin(actor: User | None, correction: Correction, code: str) -> tuple[Correction, str]:
    """The common start of a triage move: the table's permission, the actor's scope, the
    row lock and the state guard. Returns the locked row and the target state."""
    move = CORRECTION_MOVES[code]
    require(actor, move.permission)
    rows = Correction.objects.select_for_update()
    if actor is not None:
        rows = rows.filter(pk__in=correction_selectors.corrections_triageable(actor).values("pk"))
    locked = rows.filter(pk=correction.pk).first()
    if locked is None:
        raise NotFound("查无纠错记录不存在或不在您的管辖范围内")
    if locked.state not in move.sources:
        state = CORRECTION_STATE_LABELS[CorrectionState(locked.state)]
        raise Conflict(f"该上报当前状态为“{state}”，不能{move.label}")
    return locked, move.target(locked.state)


def _finish(actor, correction: Correction, code: str, before: dict, **detail) -> None:
    audit.record(
        f"kb.correction.{code}",
        correction,
        object_repr=correction_selectors.correction_title(correction),
        before=before,
        after=audit.snapshot(correction, fields=before.keys()),
        detail=detail,
        actor=actor,
    )


def _tell_reporter(correction: Correction, *, title: str, body: str, link: str) -> None:
    if correction.reporter_id is None:
        return
    notify(
        recipients=[correction.reporter],
        kind="kb.correction",
        title=title,
        body=body,
        link=link,
        key=f"kb-correction:{correction.pk}:{correction.state}",
    )


def _eligible_handler(actor: User | None, handler: User) -> User:
    if not correction_selectors.handler_candidates(actor).filter(pk=handler.pk).exists():
        raise Unprocessable("经办人须为有知识采编或纠错处理权限的在岗人员", field="handler")
    return handler


@transaction.atomic
def correction_accept(
    *, actor: User | None, correction: Correction, handler: User | None = None
) -> Correction:
    """受理: the KB team takes the report and names the editor who fixes or writes the
    article (the actor themself when ``handler`` is not given)."""
    correction, target = _begin(actor, correction, "accept")
    handler = handler or actor
    if handler is None:
        raise Unprocessable("请指定经办人", field="handler")
    _eligible_handler(actor, handler)
    before = {"state": correction.state, "handler": correction.handler_id}
    correction.state, correction.handler = target, handler
    correction.save(update_fields=["state", "handler"])
    _finish(actor, correction, "accept", before, handler=str(handler))
    _tell_reporter(
        correction,
        title="您上报的查无纠错已受理",
        body=f"“{correction_selectors.correction_title(correction)}”已由{handler.display_name or handler.username}处理。",
        link=correction_selectors.correction_link(correction),
    )
    return correction


@transaction.atomic
def correction_resolve(
    *,
    actor: User | None,
    correction: Correction,
    resolution: str,
    article: Article | None = None,
) -> Correction:
    """办结: the article was fixed or written. ``article`` (optional) is the one fixed or
    written; the reporter's notice links to it if they may open the article page, else
    to the report (which names it)."""
    correction, target = _begin(actor, correction, "resolve")
    resolution = _text(resolution, field="resolution", label="处理说明")
    if (
        article is not None
        and actor is not None
        and not correction_selectors.article_linkable(actor, article)
    ):
        raise NotFound("关联的知识不存在或不在您的管辖范围内", field="article")
    before = {
        "state": correction.state,
        "resolution": correction.resolution,
        "resolved_article": correction.resolved_article_id,
        "closed_at": None,
    }
    correction.state = target
    correction.resolution = resolution
    correction.resolved_article = article
    correction.closed_at = timezone.now()
    if correction.handler_id is None and actor is not None:
        correction.handler = actor  # resolved straight from 待处理: the resolver handled it
    correction.save(
        update_fields=["state", "resolution", "resolved_article", "closed_at", "handler"]
    )
    _finish(actor, correction, "resolve", before)
    link = ""
    if article is not None and correction.reporter_id is not None:
        link = correction_selectors.article_link(correction.reporter, article)
    link = link or correction_selectors.correction_link(correction)
    _tell_reporter(
        correction,
        title="您上报的查无纠错已解决",
        body=f"“{correction_selectors.correction_title(correction)}”：{resolution}",
        link=link,
    )
    return correction


@transaction.atomic
def correction_reject(*, actor: User | None, correction: Correction, reason: str) -> Correction:
    """不采纳: no change is needed; the reporter is told why."""
    correction, target = _begin(actor, correction, "reject")
    reason = _text(reason, field="reason", label="不采纳理由")
    before = {"state": correction.state, "resolution": correction.resolution, "closed_at": None}
    correction.state = target
    correction.resolution = reason
    correction.closed_at = timezone.now()
    if correction.handler_id is None and actor is not None:
        correction.handler = actor
    correction.save(update_fields=["state", "resolution", "closed_at", "handler"])
    _finish(actor, correction, "reject", before)
    _tell_reporter(
        correction,
        title="您上报的查无纠错未被采纳",
        body=f"“{correction_selectors.correction_title(correction)}”：{reason}",
        link=correction_selectors.correction_link(correction),
    )
    return correction


MOVES = {
    "accept": correction_accept,
    "resolve": correction_resolve,
    "reject": correction_reject,
}
