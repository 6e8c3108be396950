"""检索与使用: click counting, ratings (one per person, 1–5 with a comment), favourites in
personal folders, the search log. Every refusal is Chinese; nothing is half-written."""

# ruff: noqa: F811 — the fixtures are imported from search_support

import pytest
from django.utils import timezone

from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import AuditEntry
from hotline.knowledge.models import Article, ArticleClickDay, FavoriteFolder, Rating, SearchLog
from hotline.knowledge.services import usage

from .search_support import fresh_engine, kb  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_click_counts_once_per_opening_and_by_day(kb):
    article = kb.articles.pension
    before = article.clicks
    assert usage.article_click(actor=kb.agent, article=article) is True
    usage.article_click(actor=kb.yz_agent, article=article)
    article.refresh_from_db()
    assert article.clicks == before + 2
    assert article.stats_at is not None
    day = ArticleClickDay.objects.get(article=article)
    assert (day.day, day.clicks) == (timezone.localdate(), 2)


def test_previewing_a_draft_does_not_count(kb):
    draft = kb.articles.draft
    assert usage.article_click(actor=kb.editor, article=draft) is False
    draft.refresh_from_db()
    assert draft.clicks == 0 and not ArticleClickDay.objects.filter(article=draft).exists()


def test_nobody_clicks_what_they_may_not_read(kb):
    with pytest.raises(NotFound):
        usage.article_click(actor=kb.agent, article=kb.articles.draft)
    with pytest.raises(Forbidden):
        usage.article_click(actor=kb.admin, article=kb.articles.pension)


def test_a_new_rating_replaces_the_earlier_one_and_the_average_follows(kb):
    article = kb.articles.medical
    usage.article_rate(actor=kb.agent, article=article, score=2, comment="办理地点没写清楚")
    usage.article_rate(actor=kb.editor, article=article, score=5)
    rating = usage.article_rate(actor=kb.agent, article=article, score="4", comment=" 已补充 ")
    assert (rating.score, rating.comment) == (4, "已补充")
    assert Rating.objects.filter(article=article).count() == 2
    article.refresh_from_db()
    assert (article.rating_count, article.rating_sum, article.rating) == (2, 9, 4.5)
    entries = AuditEntry.objects.filter(action="kb.article.rate", object_id=str(article.pk))
    assert entries.count() == 3
    latest = entries.order_by("-pk").first()
    assert latest.changes == {"score": [2, 4], "comment": ["办理地点没写清楚", "已补充"]}


@pytest.mark.parametrize("score", [0, 6, "五", None, 3.5])
def test_a_rating_is_a_whole_number_from_one_to_five(kb, score):
    with pytest.raises(Unprocessable) as refused:
        usage.article_rate(actor=kb.agent, article=kb.articles.medical, score=score)
    assert refused.value.field == "score" and "1 到 5" in refused.value.message
    assert not Rating.objects.exists()


def test_rating_comment_length_and_state(kb):
    with pytest.raises(Unprocessable):
        usage.article_rate(actor=kb.agent, article=kb.articles.medical, score=3, comment="长" * 301)
    with pytest.raises(Conflict):
        usage.article_rate(actor=kb.editor, article=kb.articles.draft, score=3)
    assert not Rating.objects.exists()
    assert Article.objects.get(pk=kb.articles.medical.pk).rating_count == 0


def test_folders_are_created_renamed_and_deleted_by_their_owner(kb):
    folder = usage.folder_create(actor=kb.agent, name="  医保  报销 ")
    assert folder.name == "医保 报销"
    with pytest.raises(Conflict):
        usage.folder_create(actor=kb.agent, name="医保 报销")
    other = usage.folder_create(actor=kb.yz_agent, name="医保 报销")  # names are per person
    usage.folder_rename(actor=kb.agent, folder=folder, name="医保常见问题")
    folder.refresh_from_db()
    assert folder.name == "医保常见问题"
    with pytest.raises(NotFound):
        usage.folder_rename(actor=kb.agent, folder=other, name="偷改")
    with pytest.raises(NotFound):
        usage.folder_delete(actor=kb.agent, folder=other)
    with pytest.raises(Unprocessable):
        usage.folder_create(actor=kb.agent, name="   ")
    with pytest.raises(Unprocessable):
        usage.folder_create(actor=kb.agent, name="长" * 41)
    usage.favorite_add(actor=kb.agent, article=kb.articles.medical, folder=folder)
    usage.folder_delete(actor=kb.agent, folder=folder)
    assert not FavoriteFolder.objects.filter(pk=folder.pk).exists()
    assert Article.objects.filter(pk=kb.articles.medical.pk).exists()  # the article stays
    actions = set(AuditEntry.objects.filter(action__startswith="kb.folder").values_list("action"))
    assert actions == {("kb.folder.create",), ("kb.folder.rename",), ("kb.folder.delete",)}


def test_favourites_go_into_a_default_folder_once(kb):
    folder = usage.favorite_add(actor=kb.agent, article=kb.articles.pension)
    assert folder.name == usage.DEFAULT_FOLDER
    again = usage.favorite_add(actor=kb.agent, article=kb.articles.pension)
    assert again.pk == folder.pk and folder.articles.count() == 1
    assert AuditEntry.objects.filter(action="kb.favorite.add").count() == 1
    usage.favorite_remove(actor=kb.agent, folder=folder, article=kb.articles.pension)
    assert folder.articles.count() == 0
    with pytest.raises(NotFound):
        usage.favorite_remove(actor=kb.agent, folder=folder, article=kb.articles.pension)


def test_favourites_only_of_readable_articles_into_own_folders(kb):
    mine = usage.folder_create(actor=kb.agent, name="我的")
    theirs = usage.folder_create(actor=kb.yz_agent, name="别人的")
    with pytest.raises(NotFound):
        usage.favorite_add(actor=kb.agent, article=kb.articles.draft, folder=mine)
    with pytest.raises(NotFound):
        usage.favorite_add(actor=kb.agent, article=kb.articles.medical, folder=theirs)
    assert theirs.articles.count() == 0 and mine.articles.count() == 0


def test_the_search_log_keeps_the_query_and_its_count(kb):
    assert usage.search_logged(actor=kb.agent, query="   ", results=3) is None
    row = usage.search_logged(actor=kb.agent, query="长" * 150, results=0)
    assert len(row.query) == 100 and row.results == 0
    assert SearchLog.objects.count() == 1
