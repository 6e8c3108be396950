"""Knowledge search API (知识检索), tag 知识检索 — also what the agent workbench embeds:

    GET    /api/kb/search?q=&category=&form=&mode=&sort=&within=&fields=&limit=&offset=
           → {total, items: [{id, title, snippet, category, score, …}], facets, related,
              notice, fallback}
    GET    /api/kb/suggest?q=&limit=                   → {items: [{text, type, id}]}
    GET    /api/kb/hot?days=7|30&limit=                → {items: [{id, title, category, clicks}]}
    POST   /api/kb/articles/{id}/click                 → {counted, clicks}
    POST   /api/kb/articles/{id}/rating  {score, comment}  → the caller's rating and the average
    GET    /api/kb/favorites                           → {folders: [...]}
    POST   /api/kb/favorites  {article, folder?}       → 201 the folder it went into
    POST   /api/kb/favorites/folders  {name}           → 201 the new folder
    PATCH  /api/kb/favorites/folders/{id}  {name}      → the renamed folder
    DELETE /api/kb/favorites/folders/{id}              → 204
    DELETE /api/kb/favorites/folders/{id}/articles/{article_id}  → 204

``snippet`` is HTML: the text escaped, the matched words in ``<mark>``. ``score`` is the
BM25 relevance (sorted by relevance) or the value sorted by. ``within`` may be repeated
(search within the results of each earlier query). Bad parameters → 422, an article
outside the caller's reading scope → 404, all in Chinese.
"""

import datetime as dt

from ninja import Field, Query, Router, Schema, Status

from hotline.core.errors import NotFound
from hotline.core.services import require

from .selectors import search as selectors
from .services import usage as services

router = Router(tags=["知识检索"])


class SearchItem(Schema):
    id: int
    title: str
    snippet: str = Field(..., description="摘要 HTML：文字已转义，命中词以 <mark> 标出")
    category: str = Field(..., description="主题分类路径，如“住房 / 住房公积金”")
    score: float = Field(..., description="相关度（按相关度排序时）或排序字段的值")
    form: str
    keywords: list[str]
    clicks: int
    rating: float | None
    updated_at: dt.datetime
    expired: bool
    state: str


class Facet(Schema):
    id: int
    code: str
    name: str
    count: int


class Facets(Schema):
    subject: list[Facet] = Field(..., description="按一级主题分类统计")
    form: list[Facet] = Field(..., description="按知识形式统计")
    children: list[Facet] = Field(..., description="选定主题分类时：按其下级分类统计")


class SearchOut(Schema):
    total: int
    items: list[SearchItem]
    facets: Facets
    related: list[str] = Field(..., description="5 个相关检索词")
    notice: str = Field("", description="提示，如未命中词语时改按标题包含检索")
    fallback: bool = False


class Suggestion(Schema):
    text: str
    type: str = Field(..., description="keyword 关键词 | title 标题")
    id: int | None = Field(None, description="标题提示：知识 id")


class SuggestOut(Schema):
    items: list[Suggestion]


class HotItem(Schema):
    id: int
    title: str
    category: str
    clicks: int


class HotOut(Schema):
    items: list[HotItem]


class ClickOut(Schema):
    counted: bool
    clicks: int


class RatingIn(Schema):
    score: int = Field(..., description="1–5")
    comment: str = Field("", max_length=services.COMMENT_MAX)


class RatingOut(Schema):
    score: int
    comment: str
    rating: float | None = Field(..., description="平均分")
    rating_count: int


class FolderName(Schema):
    name: str = Field(..., max_length=200)


class FavoriteIn(Schema):
    article: int
    folder: int | None = Field(None, description="收藏夹 id；不填则放入“默认收藏夹”")


class FavoriteArticle(Schema):
    id: int
    title: str
    available: bool = Field(..., description="当前是否仍可查阅（已下线或失效则为 false）")


class FolderOut(Schema):
    id: int
    name: str
    articles: list[FavoriteArticle] = Field(default_factory=list)


class FoldersOut(Schema):
    folders: list[FolderOut]


WITHIN = Query(None, description="在这些检索词的结果中检索（可重复）")


@router.get("/kb/search", response=SearchOut, summary="知识检索")
def kb_search(
    request,
    q: str = "",
    category: str = Query("", description="分类 id：主题分类（含下级）或知识形式"),
    form: str = Query("", description="知识形式 id"),
    mode: str = Query("fuzzy", description="fuzzy 模糊 | exact 精确"),
    sort: str = Query("relevance", description="relevance | clicks | modified | rating | hot"),
    within: list[str] | None = WITHIN,
    fields: str = Query("", description="检索范围：title,keywords,content,attachments（默认全部）"),
    limit: int = 10,
    offset: int = 0,
    drafts: bool = Query(False, description="采编人员：同时检索本人范围内的草稿、待审与已失效知识"),
):
    page = selectors.search(
        request.user,
        q=q,
        mode=mode,
        fields=fields,
        category=category,
        form=form,
        sort=sort,
        within=within or (),
        limit=limit,
        offset=offset,
        drafts=drafts,
    )
    if offset == 0:
        services.search_logged(actor=request.user, query=page.logged_query, results=page.total)
    return {
        "total": page.total,
        "items": [
            {
                "id": i.id,
                "title": i.title,
                "snippet": str(i.snippet),
                "category": i.category,
                "score": i.score,
                "form": i.form,
                "keywords": i.keywords,
                "clicks": i.clicks,
                "rating": i.rating,
                "updated_at": i.updated_at,
                "expired": i.expired,
                "state": i.state,
            }
            for i in page.items
        ],
        "facets": page.facets,
        "related": page.related,
        "notice": page.notice,
        "fallback": page.fallback,
    }


@router.get("/kb/suggest", response=SuggestOut, summary="检索提示（含拼音首字母）")
def kb_suggest(request, q: str = "", limit: int = 10):
    return {"items": selectors.suggest(request.user, q, limit=limit)}


@router.get("/kb/hot", response=HotOut, summary="热门知识排行")
def kb_hot(request, days: int = 7, limit: int = 10):
    rows = selectors.hot_articles(request.user, days=days, limit=limit)
    return {
        "items": [
            {"id": a.pk, "title": a.title, "category": a.subject.path_name, "clicks": n}
            for a, n in rows
        ]
    }


@router.post("/kb/articles/{article_id}/click", response=ClickOut, summary="点击计数")
def kb_click(request, article_id: int):
    article = selectors.article_for_reading(request.user, article_id)
    counted = services.article_click(actor=request.user, article=article)
    return {"counted": counted, "clicks": article.clicks}


@router.post("/kb/articles/{article_id}/rating", response=RatingOut, summary="评价知识（1–5 分）")
def kb_rate(request, article_id: int, payload: RatingIn):
    article = selectors.article_for_reading(request.user, article_id)
    rating = services.article_rate(
        actor=request.user, article=article, score=payload.score, comment=payload.comment
    )
    article.refresh_from_db(fields=["rating_sum", "rating_count"])
    return {
        "score": rating.score,
        "comment": rating.comment,
        "rating": article.rating,
        "rating_count": article.rating_count,
    }


def _folder_out(folder, articles=None) -> dict:
    return {
        "id": folder.pk,
        "name": folder.name,
        "articles": [
            {"id": a.pk, "title": a.title, "available": available}
            for a, available in articles or []
        ],
    }


@router.get("/kb/favorites", response=FoldersOut, summary="我的收藏")
def kb_favorites(request):
    require(request.user, "kb.view")
    return {
        "folders": [_folder_out(v.folder, v.articles) for v in selectors.favorites(request.user)]
    }


@router.post("/kb/favorites", response={201: FolderOut}, summary="收藏知识")
def kb_favorite_add(request, payload: FavoriteIn):
    article = selectors.article_for_reading(request.user, payload.article)
    folder = None
    if payload.folder is not None:
        folder = selectors.folder_of(request.user, payload.folder)
    folder = services.favorite_add(actor=request.user, article=article, folder=folder)
    return Status(201, _folder_out(folder))


@router.post("/kb/favorites/folders", response={201: FolderOut}, summary="新建收藏夹")
def kb_folder_create(request, payload: FolderName):
    folder = services.folder_create(actor=request.user, name=payload.name)
    return Status(201, _folder_out(folder))


@router.patch("/kb/favorites/folders/{folder_id}", response=FolderOut, summary="重命名收藏夹")
def kb_folder_rename(request, folder_id: int, payload: FolderName):
    folder = selectors.folder_of(request.user, folder_id)
    folder = services.folder_rename(actor=request.user, folder=folder, name=payload.name)
    return _folder_out(folder)


@router.delete("/kb/favorites/folders/{folder_id}", response={204: None}, summary="删除收藏夹")
def kb_folder_delete(request, folder_id: int):
    folder = selectors.folder_of(request.user, folder_id)
    services.folder_delete(actor=request.user, folder=folder)
    return Status(204, None)


@router.delete(
    "/kb/favorites/folders/{folder_id}/articles/{article_id}",
    response={204: None},
    summary="取消收藏",
)
def kb_favorite_remove(request, folder_id: int, article_id: int):
    folder = selectors.folder_of(request.user, folder_id)
    article = folder.articles.filter(pk=article_id).first()
    if article is None:
        raise NotFound("该收藏夹中没有这条知识")
    services.favorite_remove(actor=request.user, folder=folder, article=article)
    return Status(204, None)
