"""检索与使用: every write made by reading the knowledge base — clicks, ratings (评价),
favourites in personal folders (收藏夹), and the search log (检索日志).

Ratings and favourites are audited like any write. Clicks and search-log rows are usage
counters written by every read; they are their own record (``ArticleClickDay``,
``SearchLog``) and are not copied into the audit log, which would double every search.
Clicks and ratings set ``Article.stats_at``, which tells the search engine to re-read the
article's sort values.
"""

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Conflict, NotFound, Unprocessable
from hotline.core.models import User
from hotline.core.services import require

from ..lifecycle import ArticleState
from ..models import Article, ArticleClickDay, FavoriteFolder, Rating, SearchLog
from ..selectors import articles as article_selectors

FOLDER_NAME_MAX = 40
FOLDERS_MAX = 50
DEFAULT_FOLDER = "默认收藏夹"
COMMENT_MAX = 300
QUERY_MAX = 100


def _readable(actor: User | None, article: Article) -> None:
    if actor is not None and not article_selectors.article_readable(actor, article):
        raise NotFound("知识不存在或不在您的查阅范围内")


# --- clicks and the search log ----------------------------------------------------------------


def article_click(*, actor: User | None, article: Article) -> bool:
    """点击计数: one opening of a published article (from the search page, the agent panel,
    the hot list). Editors previewing a draft do not count. Returns whether it counted."""
    require(actor, "kb.view")
    _readable(actor, article)
    if article.state != ArticleState.PUBLISHED:
        return False
    now = timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        Article.objects.filter(pk=article.pk).update(clicks=F("clicks") + 1, stats_at=now)
        bumped = ArticleClickDay.objects.filter(article_id=article.pk, day=today).update(
            clicks=F("clicks") + 1
        )
        if not bumped:
            try:
                with transaction.atomic():
                    ArticleClickDay.objects.create(article_id=article.pk, day=today, clicks=1)
            except IntegrityError:  # another request made today's row first
                ArticleClickDay.objects.filter(article_id=article.pk, day=today).update(
                    clicks=F("clicks") + 1
                )
    article.clicks += 1
    article.stats_at = now
    return True


def search_logged(*, actor: User | None, query: str, results: int) -> SearchLog | None:
    """检索日志: one search and how many it found (zero-result searches feed 查无纠错)."""
    query = (query or "").strip()[:QUERY_MAX]
    if not query:
        return None
    return SearchLog.objects.create(user=actor, query=query, results=max(0, int(results)))


# --- ratings ------------------------------------------------------------------------------------


def _score(value) -> int:
    """1–5 as a whole number (a form's "4" too); anything else is refused."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise Unprocessable("评分应为 1 到 5 的整数", field="score")
    return value


@transaction.atomic
def article_rate(*, actor: User | None, article: Article, score, comment: str = "") -> Rating:
    """评价: 1–5 stars with an optional comment; one per person and article (a new rating
    replaces the earlier one). Only published articles are rated."""
    require(actor, "kb.view")
    if actor is None:
        raise Unprocessable("评价须由登录用户提交")
    _readable(actor, article)
    score = _score(score)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise Unprocessable(f"评语不能超过 {COMMENT_MAX} 字", field="comment")
    article = Article.objects.select_for_update().get(pk=article.pk)
    if article.state != ArticleState.PUBLISHED:
        raise Conflict("只能评价已发布的知识")
    now = timezone.now()
    rating = Rating.objects.filter(article=article, user=actor).first()
    before = {"score": rating.score, "comment": rating.comment} if rating else None
    if rating is None:
        rating = Rating.objects.create(
            article=article, user=actor, score=score, comment=comment, at=now
        )
    else:
        rating.score, rating.comment, rating.at = score, comment, now
        rating.save(update_fields=["score", "comment", "at"])
    totals = Rating.objects.filter(article=article).aggregate(n=Count("pk"), total=Sum("score"))
    article.rating_count, article.rating_sum = totals["n"], totals["total"] or 0
    article.stats_at = now
    article.save(update_fields=["rating_count", "rating_sum", "stats_at"])
    audit.record(
        "kb.article.rate",
        article,
        before=before,
        after={"score": score, "comment": comment},
        actor=actor,
    )
    return rating


# --- favourites ---------------------------------------------------------------------------------


def _folder_name(name) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise Unprocessable("请填写收藏夹名称", field="name")
    if len(name) > FOLDER_NAME_MAX:
        raise Unprocessable(f"收藏夹名称不能超过 {FOLDER_NAME_MAX} 字", field="name")
    return name


def _own(actor: User | None, folder: FavoriteFolder) -> None:
    if actor is not None and folder.user_id != actor.pk:
        raise NotFound("收藏夹不存在")


def _name_free(user: User, name: str, exclude: FavoriteFolder | None = None) -> None:
    taken = FavoriteFolder.objects.filter(user=user, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise Conflict(f"已有名为“{name}”的收藏夹", field="name")


@transaction.atomic
def folder_create(*, actor: User, name: str) -> FavoriteFolder:
    """新建收藏夹 (of the actor)."""
    require(actor, "kb.view")
    name = _folder_name(name)
    _name_free(actor, name)
    if FavoriteFolder.objects.filter(user=actor).count() >= FOLDERS_MAX:
        raise Conflict(f"收藏夹最多 {FOLDERS_MAX} 个，请先整理已有的收藏夹")
    folder = FavoriteFolder.objects.create(user=actor, name=name)
    audit.record("kb.folder.create", folder, after={"name": name}, actor=actor)
    return folder


@transaction.atomic
def folder_rename(*, actor: User, folder: FavoriteFolder, name: str) -> FavoriteFolder:
    require(actor, "kb.view")
    _own(actor, folder)
    name = _folder_name(name)
    if name == folder.name:
        return folder
    _name_free(folder.user, name, exclude=folder)
    before = folder.name
    folder.name = name
    folder.save(update_fields=["name"])
    audit.record(
        "kb.folder.rename", folder, before={"name": before}, after={"name": name}, actor=actor
    )
    return folder


@transaction.atomic
def folder_delete(*, actor: User, folder: FavoriteFolder) -> None:
    """删除收藏夹: the folder and its list; the articles themselves stay."""
    require(actor, "kb.view")
    _own(actor, folder)
    count = folder.articles.count()
    audit.record(
        "kb.folder.delete",
        folder,
        before={"name": folder.name, "articles": count},
        actor=actor,
    )
    folder.delete()


@transaction.atomic
def favorite_add(
    *, actor: User, article: Article, folder: FavoriteFolder | None = None
) -> FavoriteFolder:
    """收藏: put an article into one of the actor's folders (the default folder, made on
    first use, when none is named). Adding it twice changes nothing."""
    require(actor, "kb.view")
    _readable(actor, article)
    if folder is None:
        folder = FavoriteFolder.objects.filter(user=actor, name=DEFAULT_FOLDER).first()
        if folder is None:
            folder = folder_create(actor=actor, name=DEFAULT_FOLDER)
    _own(actor, folder)
    if folder.articles.filter(pk=article.pk).exists():
        return folder
    folder.articles.add(article)
    audit.record(
        "kb.favorite.add",
        article,
        after={"folder": folder.name},
        detail={"folder_id": folder.pk},
        actor=actor,
    )
    return folder


@transaction.atomic
def favorite_remove(*, actor: User, folder: FavoriteFolder, article: Article) -> None:
    """取消收藏 from one folder."""
    require(actor, "kb.view")
    _own(actor, folder)
    if not folder.articles.filter(pk=article.pk).exists():
        raise NotFound("该收藏夹中没有这条知识")
    folder.articles.remove(article)
    audit.record(
        "kb.favorite.remove",
        article,
        before={"folder": folder.name},
        detail={"folder_id": folder.pk},
        actor=actor,
    )
