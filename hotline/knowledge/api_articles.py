"""Knowledge-article API (采编与审核), tag 知识库:

    GET  /api/kb/articles?state=&subject=&q=&expired=&limit=&offset=   → {total, items}
    POST /api/kb/articles                                    → 201 the new draft
    GET  /api/kb/articles/{id}                               → the article
    PUT  /api/kb/articles/{id}                               → the article after the save
    POST /api/kb/articles/{id}/actions/{move}                → the article after the move

Moves: submit, withdraw, approve, reject (needs ``note``), revise, archive, restore.
A move not allowed in the current state → 409; a missing or bad field → 422; an article
outside the caller's scope → 404. All in Chinese.
"""

import datetime as dt

from ninja import Field, Query, Router, Schema, Status

from hotline.core.errors import Forbidden, NotFound, Unprocessable
from hotline.core.services import require

from .lifecycle import ARTICLE_MOVES, ARTICLE_STATE_LABELS, ArticleState
from .models import Article, Dimension
from .selectors import articles as selectors
from .services import articles as services

router = Router(tags=["知识库"])
MAX_PAGE = 200


class ArticleIn(Schema):
    title: str = Field(..., max_length=services.TITLE_MAX)
    subject: str = Field(..., description="主题分类编码（任一级节点）")
    form: str | None = Field(None, description="知识形式：名称（如“办事指南”）或编码")
    keywords: list[str] = Field(default_factory=list)
    body: str = Field(..., description="正文 HTML（按白名单净化）", max_length=services.BODY_MAX)
    effective_from: dt.date | None = None
    expires_on: dt.date | None = None
    related: list[int] = Field(default_factory=list, description="相关知识 id")
    note: str = Field("", max_length=services.NOTE_MAX, description="修改说明（记入版本）")


class ArticleUpdate(Schema):
    """Only the fields sent change (PUT of a draft); ``version`` guards against
    overwriting a save made in between."""

    title: str | None = Field(None, max_length=services.TITLE_MAX)
    subject: str | None = None
    form: str | None = Field(None, description="名称或编码；空字符串表示清除")
    keywords: list[str] | None = None
    body: str | None = Field(None, max_length=services.BODY_MAX)
    effective_from: dt.date | None = None
    expires_on: dt.date | None = None
    related: list[int] | None = None
    note: str = Field("", max_length=services.NOTE_MAX)
    version: int | None = Field(None, description="编辑所依据的版本号")


class MoveIn(Schema):
    note: str = Field("", max_length=services.NOTE_MAX, description="说明；退回修改时必填")


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    path: str


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    has_text: bool


class ArticleSummary(Schema):
    id: int
    title: str
    state: str
    state_label: str
    subject: CategoryOut
    form: str | None
    keywords: list[str]
    version: int
    effective_from: dt.date | None
    expires_on: dt.date | None
    expired: bool
    updated_at: dt.datetime


class ArticleOut(ArticleSummary):
    body: str
    body_text: str
    published_at: dt.datetime | None
    clicks: int
    rating: float | None
    related: list[int]
    attachments: list[AttachmentOut]
    moves: list[str] = Field(..., description="当前状态下可做的操作（不含权限判断）")


class ArticlePage(Schema):
    total: int
    items: list[ArticleSummary]


def _summary(article: Article, names: dict | None = None) -> dict:
    names = names if names is not None else selectors.path_names(Dimension.SUBJECT)
    return {
        "id": article.pk,
        "title": article.title,
        "state": article.state,
        "state_label": ARTICLE_STATE_LABELS[ArticleState(article.state)],
        "subject": {
            "id": article.subject_id,
            "code": article.subject.code,
            "name": article.subject.name,
            "path": names.get(article.subject_id, article.subject.name),
        },
        "form": article.form.name if article.form_id else None,
        "keywords": article.keyword_list,
        "version": article.version,
        "effective_from": article.effective_from,
        "expires_on": article.expires_on,
        "expired": article.is_expired(),
        "updated_at": article.updated_at,
    }


def _detail(article: Article) -> dict:
    return {
        **_summary(article),
        "body": article.body,
        "body_text": article.body_text,
        "published_at": article.published_at,
        "clicks": article.clicks,
        "rating": article.rating,
        "related": sorted(article.related.values_list("pk", flat=True)),
        "attachments": [
            {"id": a.pk, "name": a.name, "size": a.size, "has_text": bool(a.text)}
            for a in article.attachments.all()
        ],
        "moves": [code for code, m in ARTICLE_MOVES.items() if article.state in m.sources],
    }


def _subject(user, code: str):
    node = selectors.category_by_code(Dimension.SUBJECT, (code or "").strip())
    if node is None:
        raise Unprocessable(f"主题分类编码不存在：{code}", field="subject")
    if not selectors.category_visible(user, node):
        raise NotFound("主题分类不存在或不在您的管辖范围内", field="subject")
    return node


def _form(value: str):
    form = selectors.form_by_name_or_code(value)
    if form is None:
        raise Unprocessable(f"知识形式不存在：{value}", field="form")
    return form


def _editor(user) -> None:
    if not any(user.can(p) for p in selectors.EDITOR_PERMISSIONS):
        raise Forbidden("您没有“采编知识”的权限")


@router.get("/kb/articles", response=ArticlePage, summary="知识采编列表")
def article_list(
    request,
    state: str = "",
    subject: str = Query("", description="主题分类编码（含下级）"),
    q: str = Query("", max_length=100),
    expired: str = Query("", description="yes 只看已失效 | no 只看未失效"),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0),
):
    _editor(request.user)
    if state and state not in ArticleState.__members__.values():
        raise Unprocessable(f"状态取值不正确：{state}", field="state")
    if expired not in ("", "yes", "no"):
        raise Unprocessable("expired 须为 yes 或 no", field="expired")
    subject_id = None
    if subject:
        node = selectors.category_by_code(Dimension.SUBJECT, subject)
        if node is None:
            raise Unprocessable(f"主题分类编码不存在：{subject}", field="subject")
        subject_id = node.pk
    queryset = selectors.articles_filtered(
        request.user,
        selectors.ArticleFilter(state=state, subject=subject_id, expired=expired, q=q),
    )
    names = selectors.path_names(Dimension.SUBJECT)
    items = [_summary(a, names) for a in queryset[offset : offset + limit]]
    return {"total": queryset.count(), "items": items}


@router.post("/kb/articles", response={201: ArticleOut}, summary="新建知识（草稿）")
def article_create(request, payload: ArticleIn):
    user = request.user
    article = services.article_create(
        actor=user,
        title=payload.title,
        subject=_subject(user, payload.subject),
        form=_form(payload.form) if payload.form else None,
        keywords=payload.keywords,
        body=payload.body,
        effective_from=payload.effective_from,
        expires_on=payload.expires_on,
        related=payload.related,
        note=payload.note,
    )
    return Status(201, _detail(article))


@router.get("/kb/articles/{article_id}", response=ArticleOut, summary="知识详情")
def article_detail(request, article_id: int):
    article = Article.objects.select_related("subject", "form").filter(pk=article_id).first()
    if article is None or not selectors.article_readable(request.user, article):
        raise NotFound("知识不存在或不在您的查阅范围内")
    return _detail(article)


@router.put("/kb/articles/{article_id}", response=ArticleOut, summary="修改知识（草稿）")
def article_update(request, article_id: int, payload: ArticleUpdate):
    user = request.user
    article = selectors.article_for(user, article_id)
    given = payload.dict(exclude_unset=True)
    changes = {}
    for name in ("title", "keywords", "body", "effective_from", "expires_on", "related"):
        if name in given:
            if given[name] is None and name in ("title", "keywords", "body", "related"):
                raise Unprocessable("字段不能为空", field=name)
            changes[name] = given[name]
    if "subject" in given:
        changes["subject"] = _subject(user, given["subject"] or "")
    if "form" in given:
        changes["form"] = _form(given["form"]) if given["form"] else None
    article = services.article_update(
        actor=user,
        article=article,
        note=payload.note,
        expected_version=payload.version,
        **changes,
    )
    return _detail(article)


@router.post(
    "/kb/articles/{article_id}/actions/{move}",
    response=ArticleOut,
    summary="知识流转：submit, withdraw, approve, reject, revise, archive, restore",
    description="当前状态不允许 → 409；退回修改（reject）须填写 note → 422；不在管辖范围 → 404。",
)
def article_action(request, article_id: int, move: str, payload: MoveIn | None = None):
    if move not in ARTICLE_MOVES:
        raise Unprocessable(f"未知的操作：{move}（可选 {', '.join(ARTICLE_MOVES)}）", field="move")
    require(request.user, ARTICLE_MOVES[move].permission)  # 403 before 404
    article = selectors.article_for(request.user, article_id)
    article = services.article_move(
        actor=request.user, article=article, move=move, note=payload.note if payload else ""
    )
    return _detail(article)
