"""Reads of 知识检索 and use: the search itself (validated here once for the pages and the
API), suggestions, related keywords, hot articles, the reading page, ratings and
favourites.

Who finds what is decided by ``audience_of``: agents and every ``kb.view`` holder find
published, unexpired articles of the platforms they read (``articles.reading_platform_ids``);
an editor who asks for drafts also finds the draft, pending and expired articles of their
scope (a unit's editors: under their unit's subject nodes). Unit staff without
``kb.edit`` see what agents see.
"""

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.safestring import SafeString

from hotline import search as text_search
from hotline.core.errors import Forbidden, NotFound, Unprocessable
from hotline.core.scope import scope_of

from ..engine import ENGINE, EXACT_CANDIDATES, FIELDS, MODES, SORTS, Audience, Query
from ..lifecycle import ARTICLE_STATE_LABELS, ArticleState
from ..models import Article, ArticleClickDay, Category, Dimension, FavoriteFolder, Rating
from . import articles as article_selectors

Q_MAX = 100  # SearchLog.query holds 100 characters
LIMIT_MAX = 50
SNIPPET_WIDTH = 120
RELATED_COUNT = 5

FIELD_LABELS = {"title": "标题", "keywords": "关键词", "content": "正文", "attachments": "附件"}
MODE_LABELS = {"fuzzy": "模糊匹配", "exact": "精确匹配"}
SORT_LABELS = {
    "relevance": "相关度",
    "clicks": "点击量",
    "modified": "修改时间",
    "rating": "评分",
    "hot": "热度",
}
HOT_PERIODS = {7: "近 7 天", 30: "近 30 天"}


# --- who ---------------------------------------------------------------------------------------


def may_search_drafts(viewer) -> bool:
    return viewer.can("kb.edit")


def audience_of(viewer, *, drafts: bool = False, today: dt.date | None = None) -> Audience:
    """What this person may find (see the module's docstring)."""
    if viewer is None or not viewer.is_active:
        raise Forbidden("您没有“查阅知识库”的权限")
    reader = viewer.can("kb.view")
    editor = drafts and may_search_drafts(viewer)
    if not reader and not editor:
        raise Forbidden("您没有“查阅知识库”的权限")
    platforms = frozenset(article_selectors.reading_platform_ids(viewer)) if reader else frozenset()
    editor_platforms, editor_subjects = frozenset(), frozenset()
    if editor:
        scope = scope_of(viewer)
        if scope.unit_id is not None:
            editor_subjects = frozenset(
                Category.objects.filter(
                    dimension=Dimension.SUBJECT, owner_unit_id=scope.unit_id
                ).values_list("pk", flat=True)
            )
        else:
            editor_platforms = frozenset(scope.platform_ids)
    return Audience(
        platform_ids=platforms,
        editor_platform_ids=editor_platforms,
        editor_subject_ids=editor_subjects,
        today=today or timezone.localdate(),
    )


# --- the category tree (small: read whole per request) -----------------------------------------


@dataclass
class Tree:
    nodes: dict[int, tuple[int | None, str, str, str]]  # pk → (parent, name, code, dimension)
    paths: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "Tree":
        rows = Category.objects.values_list("pk", "parent_id", "name", "code", "dimension")
        tree = cls({pk: (parent, name, code, dim) for pk, parent, name, code, dim in rows})
        for pk in tree.nodes:
            tree.paths[pk] = " / ".join(tree.nodes[n][1] for n in reversed(tree.chain(pk)))
        return tree

    def chain(self, pk: int) -> list[int]:
        """The node and its ancestors, nearest first."""
        found = []
        while pk in self.nodes and pk not in found and len(found) < 50:
            found.append(pk)
            pk = self.nodes[pk][0]
        return found

    def top(self, pk: int) -> int:
        return self.chain(pk)[-1]

    def subtree(self, pk: int) -> frozenset[int]:
        return frozenset(n for n in self.nodes if pk in self.chain(n))

    def facet(self, pk: int, count: int) -> dict:
        _, name, code, _ = self.nodes[pk]
        return {"id": pk, "code": code, "name": name, "count": count}


# --- search ------------------------------------------------------------------------------------


@dataclass
class Item:
    id: int
    title: str
    title_html: SafeString
    snippet: SafeString
    category: str
    subject_id: int
    form: str
    keywords: list[str]
    clicks: int
    rating: float | None
    rating_count: int
    updated_at: dt.datetime
    expires_on: dt.date | None
    expired: bool
    state: str
    state_label: str
    score: float


@dataclass
class Page:
    """One page of results with everything the search page and the API show."""

    q: str
    mode: str
    sort: str
    fields: tuple[str, ...]
    within: tuple[str, ...]
    category: Category | None
    form: Category | None
    drafts: bool
    total: int
    items: list[Item]
    facets: dict
    related: list[str]
    notice: str = ""
    fallback: bool = False
    limit: int = 10
    offset: int = 0

    @property
    def logged_query(self) -> str:
        return self.q.strip()[:Q_MAX]


def _category(value, label: str, dimension: str | None = None) -> Category | None:
    if value in (None, ""):
        return None
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise Unprocessable(f"{label}应为分类编号", field="category") from None
    category = Category.objects.filter(pk=pk).first()
    if category is None or (dimension and category.dimension != dimension):
        raise Unprocessable(f"{label}不存在：{value}", field="category")
    return category


def clean_fields(value) -> tuple[str, ...]:
    """``"title,keywords"`` or a list of field codes → a tuple of codes (default: all)."""
    if value in (None, "", []):
        return tuple(FIELDS)
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen = [v.strip() for v in items if v and v.strip()]
    wrong = [v for v in chosen if v not in FIELDS]
    if wrong:
        raise Unprocessable(
            f"检索范围取值不正确：{'、'.join(wrong)}（可选 title、keywords、content、attachments）",
            field="fields",
        )
    return tuple(f for f in FIELDS if f in chosen) or tuple(FIELDS)


def search(
    viewer,
    *,
    q: str = "",
    mode: str = "fuzzy",
    fields=None,
    category=None,
    form=None,
    sort: str = "relevance",
    within=(),
    limit: int = 10,
    offset: int = 0,
    drafts: bool = False,
    today: dt.date | None = None,
) -> Page:
    """知识检索. Bad parameters are refused with a Chinese message (422)."""
    q = (q or "").strip()
    if len(q) > Q_MAX:
        raise Unprocessable(f"检索词不能超过 {Q_MAX} 个字", field="q")
    mode = mode or "fuzzy"
    if mode not in MODES:
        raise Unprocessable(
            f"匹配方式取值不正确：{mode}（可选 fuzzy 模糊、exact 精确）", field="mode"
        )
    sort = sort or "relevance"
    if sort not in SORTS:
        raise Unprocessable(
            f"排序方式取值不正确：{sort}（可选 relevance、clicks、modified、rating、hot）",
            field="sort",
        )
    if not 1 <= limit <= LIMIT_MAX:
        raise Unprocessable(f"每页条数应在 1 到 {LIMIT_MAX} 之间", field="limit")
    if offset < 0:
        raise Unprocessable("起始位置不能为负数", field="offset")
    within = tuple(w.strip()[:Q_MAX] for w in (within or ()) if w and w.strip())
    fields = clean_fields(fields)
    category = _category(category, "分类")
    form_node = _category(form, "知识形式", Dimension.FORM)
    if category is not None and category.dimension == Dimension.FORM:
        form_node, category = form_node or category, None  # an explicit form wins
    audience = audience_of(viewer, drafts=drafts, today=today)
    tree = Tree.load()
    result = ENGINE.search(
        Query(
            q=q,
            mode=mode,
            fields=fields,
            subject_ids=tree.subtree(category.pk) if category else None,
            form_id=form_node.pk if form_node else None,
            sort=sort,
            within=within,
            limit=limit,
            offset=offset,
        ),
        audience,
    )
    marked = " ".join((*within, q))
    items = _items([h.id for h in result.hits], {h.id: h.score for h in result.hits}, marked, tree)
    notice = ""
    if result.fallback:
        notice = f"没有与“{q}”的词语相符的知识，以下是标题中包含“{q}”的知识。"
    elif result.truncated:
        notice = f"精确匹配的候选较多，仅在相关度最高的 {EXACT_CANDIDATES} 条中核对了原文。"
    return Page(
        q=q,
        mode=mode,
        sort=sort,
        fields=fields,
        within=within,
        category=category,
        form=form_node,
        drafts=audience.drafts,
        total=result.total,
        items=items,
        facets=_facets(result, tree, category),
        related=related_keywords(result.top_ids, marked),
        notice=notice,
        fallback=result.fallback,
        limit=limit,
        offset=offset,
    )


def _items(ids: list[int], scores: dict[int, float], marked: str, tree: Tree) -> list[Item]:
    rows = {
        a.pk: a
        for a in Article.objects.filter(pk__in=ids).only(
            "pk",
            "title",
            "body_text",
            "subject_id",
            "form_id",
            "keywords",
            "clicks",
            "rating_sum",
            "rating_count",
            "updated_at",
            "expires_on",
            "state",
        )
    }
    missing = [pk for pk in ids if pk not in rows]
    if missing:  # deleted under the index: drop them now and from the index
        ENGINE.forget(missing)
    today = timezone.localdate()
    items = []
    for pk in ids:
        a = rows.get(pk)
        if a is None:
            continue
        items.append(
            Item(
                id=a.pk,
                title=a.title,
                title_html=text_search.highlight(a.title, marked),
                snippet=text_search.highlight(a.body_text, marked, width=SNIPPET_WIDTH),
                category=tree.paths.get(a.subject_id, ""),
                subject_id=a.subject_id,
                form=tree.nodes[a.form_id][1] if a.form_id in tree.nodes else "",
                keywords=a.keyword_list,
                clicks=a.clicks,
                rating=a.rating,
                rating_count=a.rating_count,
                updated_at=a.updated_at,
                expires_on=a.expires_on,
                expired=a.is_expired(today),
                state=a.state,
                state_label=ARTICLE_STATE_LABELS[ArticleState(a.state)],
                score=round(scores[pk], 4),
            )
        )
    return items


def _facets(result, tree: Tree, category: Category | None) -> dict:
    """分类统计: counts by top-level subject and by form; with a subject chosen, also by
    its child nodes (to narrow further)."""
    tops: Counter = Counter()
    children: Counter = Counter()
    for leaf, count in result.subject_counts.items():
        if leaf not in tree.nodes:
            continue
        chain = tree.chain(leaf)
        tops[chain[-1]] += count
        if category is not None and category.pk in chain:
            below = chain[: chain.index(category.pk)]
            if below:
                children[below[-1]] += count
    order = {pk: (node[2], pk) for pk, node in tree.nodes.items()}
    return {
        "subject": [tree.facet(pk, n) for pk, n in sorted(tops.items(), key=lambda t: order[t[0]])],
        "form": [
            tree.facet(pk, n)
            for pk, n in sorted(result.form_counts.items(), key=lambda t: order.get(t[0], ("", 0)))
            if pk in tree.nodes
        ],
        "children": [
            tree.facet(pk, n) for pk, n in sorted(children.items(), key=lambda t: order[t[0]])
        ],
    }


def related_keywords(top_ids: list[int], query: str, count: int = RELATED_COUNT) -> list[str]:
    """相关检索词: the keywords editors gave the best matches, the best match weighing most
    (1, 1/2, 1/3 …), leaving out the words searched and their synonyms."""
    searched = {w.lower() for group in text_search.query_groups(query) for w in group}
    searched.add(query.strip().lower())
    scores: Counter = Counter()
    first_seen: dict[str, int] = {}
    for rank, keywords in enumerate(ENGINE.keywords_of(top_ids)):
        for keyword in keywords:
            if keyword.lower() in searched:
                continue
            scores[keyword] += 1 / (rank + 1)
            first_seen.setdefault(keyword, len(first_seen))
    ranked = sorted(scores, key=lambda k: (-scores[k], first_seen[k]))
    return ranked[:count]


def suggest(viewer, q: str, *, limit: int = 10) -> list[dict]:
    """检索提示 while typing: keywords and titles starting with the text, its pinyin or its
    pinyin initials (gjj → 公积金), of articles agents may find."""
    q = (q or "").strip()
    if len(q) > 50:
        raise Unprocessable("输入内容不能超过 50 个字", field="q")
    if not 1 <= limit <= 20:
        raise Unprocessable("提示条数应在 1 到 20 之间", field="limit")
    audience = audience_of(viewer)
    if not q:
        return []
    return ENGINE.suggest(q, audience, limit)


def hot_articles(viewer, *, days: int = 7, limit: int = 10, today: dt.date | None = None):
    """热门知识: the most opened articles of the last ``days`` days among those agents may
    find, as (article, clicks) pairs."""
    if days not in HOT_PERIODS:
        raise Unprocessable("统计周期只能是 7 或 30 天", field="days")
    if not 1 <= limit <= LIMIT_MAX:
        raise Unprocessable(f"条数应在 1 到 {LIMIT_MAX} 之间", field="limit")
    today = today or timezone.localdate()
    visible = article_selectors.published_for_agents(viewer, today=today)
    rows = (
        ArticleClickDay.objects.filter(
            day__gt=today - dt.timedelta(days=days), article__in=visible.values("pk")
        )
        .values("article")
        .annotate(n=Sum("clicks"))
        .order_by("-n", "article")[:limit]
    )
    counts = {r["article"]: r["n"] for r in rows}
    articles = Article.objects.select_related("subject").in_bulk(list(counts))
    return [(articles[pk], n) for pk, n in counts.items() if pk in articles]


# --- reading, ratings, favourites -----------------------------------------------------------------


def article_for_reading(viewer, pk) -> Article:
    """The article to open: anyone with kb.view when agents may find it, an editor in
    scope in any state; otherwise it does not exist (404)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound("知识不存在或不在您的查阅范围内") from None
    article = (
        Article.objects.select_related("subject", "form", "platform", "updated_by")
        .filter(pk=pk)
        .first()
    )
    if article is None or not article_selectors.article_readable(viewer, article):
        raise NotFound("知识不存在或不在您的查阅范围内")
    return article


def agent_visible(viewer, article: Article) -> bool:
    """Would agents find it (published, unexpired, on a platform this person reads)?"""
    return article_selectors.published_for_agents(viewer).filter(pk=article.pk).exists()


def related_articles(viewer, article: Article) -> list[Article]:
    """相关知识 that this person may open (agents: published and unexpired ones)."""
    return list(
        article_selectors.published_for_agents(viewer)
        .filter(pk__in=article.related.values("pk"))
        .exclude(pk=article.pk)
        .order_by("title")[:10]
    )


def rating_of(viewer, article: Article) -> Rating | None:
    return Rating.objects.filter(article=article, user=viewer).first()


def ratings_of(article: Article, limit: int = 10) -> list[Rating]:
    """The latest ratings with a comment (shown under the article)."""
    return list(
        Rating.objects.filter(article=article)
        .exclude(comment="")
        .select_related("user")
        .order_by("-at", "-pk")[:limit]
    )


def rating_spread(article: Article) -> list[tuple[int, int]]:
    """(score, how many) for 5 … 1."""
    counts = dict(
        Rating.objects.filter(article=article)
        .values_list("score")
        .annotate(n=Count("pk"))
        .values_list("score", "n")
    )
    return [(score, counts.get(score, 0)) for score in range(5, 0, -1)]


@dataclass
class FolderView:
    folder: FavoriteFolder
    articles: list[tuple[Article, bool]]  # (article, may this person open it)


def folders_of(viewer) -> list[FavoriteFolder]:
    return list(FavoriteFolder.objects.filter(user=viewer).order_by("name", "pk"))


def folder_of(viewer, pk) -> FavoriteFolder:
    """One of this person's folders, else 404 (nobody sees another's favourites)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound("收藏夹不存在") from None
    folder = FavoriteFolder.objects.filter(user=viewer, pk=pk).first()
    if folder is None:
        raise NotFound("收藏夹不存在")
    return folder


def favorites(viewer) -> list[FolderView]:
    """我的收藏: every folder with its articles; an article that was withdrawn or expired
    stays listed, marked as no longer open to agents."""
    folders = folders_of(viewer)
    readable = set(
        article_selectors.published_for_agents(viewer)
        .filter(
            pk__in=FavoriteFolder.articles.through.objects.filter(
                favoritefolder__user=viewer
            ).values("article_id")
        )
        .values_list("pk", flat=True)
    )
    views = []
    for folder in folders:
        rows = list(folder.articles.select_related("subject").order_by("title"))
        views.append(
            FolderView(
                folder,
                [
                    (a, a.pk in readable or article_selectors.article_in_scope(viewer, a))
                    for a in rows
                ],
            )
        )
    return views


def folders_holding(viewer, article: Article) -> set[int]:
    return set(
        FavoriteFolder.objects.filter(user=viewer, articles=article).values_list("pk", flat=True)
    )


# --- relevance on the labelled citizen questions (data/questions.json) -----------------------

QUESTIONS = Path(__file__).resolve().parent.parent / "data" / "questions.json"


@dataclass(frozen=True)
class Relevance:
    questions: int
    articles: int
    top3: float  # share of questions with an answer among the first three hits
    mrr: float  # mean reciprocal rank of the first answer (0 when none in the first ten)


def labelled_relevance(platform) -> Relevance:
    """How well fuzzy search answers the labelled questions, on the written articles of
    ``platform`` (expired ones included: some questions ask about them). The benchmark
    reports it; a test holds it at the issue's bar (top-3 ≥ 90%)."""
    from .. import engine as kb_engine

    questions = json.loads(QUESTIONS.read_text(encoding="utf-8"))["questions"]
    titles = dict(
        Article.objects.filter(platform=platform)
        .exclude(state=ArticleState.ARCHIVED)
        .values_list("pk", "title")
    )
    engine = kb_engine.Engine(platform_ids=frozenset([platform.pk]))
    audience = Audience(
        platform_ids=frozenset([platform.pk]), editor_platform_ids=frozenset([platform.pk])
    )
    top3, reciprocal = 0, 0.0
    for item in questions:
        hits = engine.search(Query(q=item["q"], limit=10), audience).hits
        found = [titles.get(hit.id) for hit in hits]
        rank = next((i for i, title in enumerate(found) if title in item["answers"]), None)
        if rank is not None:
            reciprocal += 1 / (rank + 1)
            top3 += rank < 3
    count = len(questions)
    return Relevance(count, len(titles), top3 / count, reciprocal / count)
