"""API of 查无纠错, 同义词 and 汇编汇总:

    POST /api/kb/corrections                       → 201 the report (kb.view)
    GET  /api/kb/corrections?state=&kind=&q=&date_from=&date_to=&age=&limit=&offset=
                                                   → {total, items} (kb.corrections)
    GET  /api/kb/corrections/stats?date_from=&date_to=     → counts and closing speed
    GET  /api/kb/corrections/candidates?date_from=&date_to=&limit=  → 查无热词
    GET  /api/kb/corrections/{id}                  → one report (the KB team, or its reporter)
    POST /api/kb/corrections/{id}/{move}           → accept | resolve | reject
    GET/POST /api/kb/synonyms, PUT/DELETE /api/kb/synonyms/{id}      (kb.manage)
    GET  /api/kb/compilations?period=week|month|year|custom&date=&start=&end=&platform=

A move not allowed in the current state → 409; a missing or bad field → 422; a report
outside the caller's scope → 404; no permission → 403. All in Chinese.
"""

import datetime as dt

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from hotline.core.errors import NotFound, Unprocessable
from hotline.core.models import User
from hotline.core.selectors import get_or_404
from hotline.core.services import require

from .lifecycle import CORRECTION_MOVES, CorrectionState
from .models import Correction, SynonymGroup
from .selectors import compilations as compilation_selectors
from .selectors import corrections as selectors
from .services import corrections as services
from .services import synonyms as synonym_services

router = Router(tags=["知识库：查无纠错、同义词与汇编"])


# --- 查无纠错 ----------------------------------------------------------------------------------


class CorrectionIn(Schema):
    kind: str = Field(
        "", description="not_found 查无 | wrong 纠错；省略时：给出 article 为纠错，否则为查无"
    )
    query: str = Field("", max_length=100, description="检索词（查无必填）")
    article: int | None = Field(None, description="有误的知识编号（纠错必填）")
    description: str = Field("", max_length=2000, description="问题描述（纠错必填）")


class MoveIn(Schema):
    handler: int | None = Field(None, description="受理：经办人用户 id（默认为本人）")
    resolution: str = Field("", max_length=2000, description="办结：处理说明")
    article: int | None = Field(None, description="办结：修正或新增的知识编号")
    reason: str = Field("", max_length=2000, description="不采纳：理由")


class CorrectionOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    query: str
    article: int | None
    article_title: str | None
    description: str
    state: str
    state_label: str
    reporter: str | None
    reported_at: dt.datetime
    handler: str | None
    resolution: str
    resolved_article: int | None
    closed_at: dt.datetime | None
    hours: float
    link: str


class CorrectionPage(Schema):
    total: int
    items: list[CorrectionOut]


def _name(user: User | None) -> str | None:
    return (user.display_name or user.username) if user is not None else None


def _out(c: Correction) -> dict:
    return {
        "id": c.pk,
        "kind": c.kind,
        "kind_label": c.get_kind_display(),
        "title": selectors.correction_title(c),
        "query": c.query,
        "article": c.article_id,
        "article_title": c.article.title if c.article_id else None,
        "description": c.description,
        "state": c.state,
        "state_label": c.get_state_display(),
        "reporter": _name(c.reporter),
        "reported_at": c.reported_at,
        "handler": _name(c.handler),
        "resolution": c.resolution,
        "resolved_article": c.resolved_article_id,
        "closed_at": c.closed_at,
        "hours": round(selectors.age_hours(c), 1),
        "link": selectors.correction_link(c),
    }


def _article(user, pk: int | None, field: str = "article"):
    if pk is None:
        return None
    article = selectors.readable_article(user, pk)
    if article is None:
        raise Unprocessable(f"知识不存在或不在您的查阅范围内：{pk}", field=field)
    return article


@router.post("/kb/corrections", response={201: CorrectionOut}, summary="查无纠错上报")
def correction_create(request, payload: CorrectionIn):
    require(request.user, "kb.view")
    kind = payload.kind or ("wrong" if payload.article is not None else "not_found")
    article = _article(request.user, payload.article) if kind == "wrong" else None
    correction = services.correction_report(
        actor=request.user,
        kind=kind,
        query=payload.query,
        article=article,
        description=payload.description,
    )
    return Status(201, _out(correction))


def _period(date_from, date_to, days: int = 30) -> tuple[dt.date, dt.date]:
    if date_from and date_to and date_from > date_to:
        raise Unprocessable("结束日期不能早于开始日期", field="date_to")
    end = date_to or timezone.localdate()
    return date_from or end - dt.timedelta(days=days - 1), end


@router.get("/kb/corrections", response=CorrectionPage, summary="查无纠错列表")
def correction_list(
    request,
    state: str = "",
    kind: str = "",
    q: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    age: str = "",
    mine: bool = False,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
):
    require(request.user, "kb.corrections")
    if state and state not in CorrectionState.__members__.values():
        raise Unprocessable(f"状态取值不正确：{state}", field="state")
    if kind and kind not in Correction.Kind.values:
        raise Unprocessable(f"类型取值不正确：{kind}", field="kind")
    if age and age not in selectors.AGE_CHOICES:
        raise Unprocessable("时长取值须为 1、3 或 7（天）", field="age")
    if date_from and date_to and date_from > date_to:
        raise Unprocessable("结束日期不能早于开始日期", field="date_to")
    rows = selectors.correction_list(
        request.user,
        selectors.CorrectionFilter(
            state=state, kind=kind, date_from=date_from, date_to=date_to, q=q, age=age, mine=mine
        ),
    )
    return {"total": rows.count(), "items": [_out(c) for c in rows[offset : offset + limit]]}


class StatsCell(Schema):
    state: str
    state_label: str
    count: int


class StatsRow(Schema):
    kind: str
    kind_label: str
    total: int
    states: list[StatsCell]


class WithinOut(Schema):
    days: int
    count: int
    share: float = Field(..., description="占本期全部上报的百分比")


class StatsOut(Schema):
    start: dt.date
    end: dt.date
    total: int
    closed: int
    open: int
    median_hours: float | None
    p90_hours: float | None
    by_kind: list[StatsRow]
    within: list[WithinOut]


@router.get("/kb/corrections/stats", response=StatsOut, summary="查无纠错统计")
def correction_stats(request, date_from: dt.date | None = None, date_to: dt.date | None = None):
    require(request.user, "kb.corrections")
    start, end = _period(date_from, date_to)
    stats = selectors.correction_stats(request.user, start, end)
    return {
        "start": stats.start,
        "end": stats.end,
        "total": stats.total,
        "closed": stats.closed,
        "open": stats.open,
        "median_hours": stats.median_hours,
        "p90_hours": stats.p90_hours,
        "by_kind": [
            {
                "kind": row.kind,
                "kind_label": row.label,
                "total": row.total,
                "states": [{"state": s, "state_label": lb, "count": n} for s, lb, n in row.states],
            }
            for row in stats.rows
        ],
        "within": [{"days": d, "count": n, "share": share} for d, n, share in stats.within],
    }


class CandidateOut(Schema):
    query: str
    searches: int
    people: int
    last_at: dt.datetime
    report: int | None


@router.get("/kb/corrections/candidates", response=list[CandidateOut], summary="查无热词")
def correction_candidates(
    request,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = Query(20, ge=1, le=200),
):
    require(request.user, "kb.corrections")
    start, end = _period(date_from, date_to)
    return [
        {
            "query": c.query,
            "searches": c.searches,
            "people": c.people,
            "last_at": c.last_at,
            "report": c.report.pk if c.report else None,
        }
        for c in selectors.not_found_feed(request.user, start, end, limit=limit)
    ]


@router.get("/kb/corrections/{int:pk}", response=CorrectionOut, summary="查无纠错详情")
def correction_detail(request, pk: int):
    return _out(get_or_404(selectors.corrections_visible(request.user), pk=pk))


@router.post(
    "/kb/corrections/{int:pk}/{move}", response=CorrectionOut, summary="受理、办结或不采纳"
)
def correction_move(request, pk: int, move: str, payload: MoveIn):
    if move not in CORRECTION_MOVES:
        raise NotFound(f"未知的操作：{move}")
    require(request.user, CORRECTION_MOVES[move].permission)
    correction = get_or_404(selectors.corrections_triageable(request.user), pk=pk)
    if move == "accept":
        handler = None
        if payload.handler is not None:
            handler = selectors.handler_candidates(request.user).filter(pk=payload.handler).first()
            if handler is None:
                raise Unprocessable("经办人须为有知识采编或纠错处理权限的在岗人员", field="handler")
        result = services.correction_accept(
            actor=request.user, correction=correction, handler=handler
        )
    elif move == "resolve":
        result = services.correction_resolve(
            actor=request.user,
            correction=correction,
            resolution=payload.resolution,
            article=_article(request.user, payload.article),
        )
    else:
        result = services.correction_reject(
            actor=request.user, correction=correction, reason=payload.reason
        )
    return _out(get_or_404(selectors.corrections_visible(request.user), pk=result.pk))


# --- 同义词 ---------------------------------------------------------------------------------------


class SynonymIn(Schema):
    words: str = Field(..., max_length=400, description="以空格分隔的同义词，至少两个")


class SynonymOut(Schema):
    id: int
    words: list[str]
    updated_at: dt.datetime


def _synonym(group: SynonymGroup) -> dict:
    return {"id": group.pk, "words": group.word_list, "updated_at": group.updated_at}


@router.get("/kb/synonyms", response=list[SynonymOut], summary="同义词组列表")
def synonym_list(request):
    require(request.user, "kb.manage")
    return [_synonym(g) for g in SynonymGroup.objects.order_by("words")]


@router.post("/kb/synonyms", response={201: SynonymOut}, summary="新增同义词组")
def synonym_create(request, payload: SynonymIn):
    group = synonym_services.synonym_group_create(actor=request.user, words=payload.words)
    return Status(201, _synonym(group))


@router.put("/kb/synonyms/{int:pk}", response=SynonymOut, summary="修改同义词组")
def synonym_update(request, pk: int, payload: SynonymIn):
    require(request.user, "kb.manage")
    group = get_or_404(SynonymGroup.objects.all(), pk=pk)
    return _synonym(
        synonym_services.synonym_group_update(actor=request.user, group=group, words=payload.words)
    )


@router.delete("/kb/synonyms/{int:pk}", response={204: None}, summary="删除同义词组")
def synonym_delete(request, pk: int):
    require(request.user, "kb.manage")
    group = get_or_404(SynonymGroup.objects.all(), pk=pk)
    synonym_services.synonym_group_delete(actor=request.user, group=group)
    return Status(204, None)


# --- 汇编汇总 ---------------------------------------------------------------------------------------


class CompiledArticle(Schema):
    id: int
    title: str
    category: str
    form: str
    at: dt.date | None = Field(None, description="发布、修订或失效日期")
    version: int | None
    note: str


class CompilationOut(Schema):
    platform: str
    title: str
    start: dt.date
    end: dt.date
    added: list[CompiledArticle]
    changed: list[CompiledArticle]
    expired: list[CompiledArticle]


@router.get("/kb/compilations", response=CompilationOut, summary="知识汇编（新增、变更、失效）")
def compilation(
    request,
    period: str = "week",
    date: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    platform: str = "",
):
    require(request.user, "kb.view")
    first, last = compilation_selectors.period_range(period, date, start, end)
    target = compilation_selectors.platform_for(request.user, platform)
    result = compilation_selectors.compile_period(target, first, last, kind=period)
    return {
        "platform": target.name,
        "title": result.title,
        "start": result.start,
        "end": result.end,
        **{
            name: [row.as_dict() for row in getattr(result, name)]
            for name in ("added", "changed", "expired")
        },
    }
