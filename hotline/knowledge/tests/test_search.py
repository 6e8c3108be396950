"""知识检索: what agents find, how, in which order, and how fast the index follows changes.

Runs on SQLite and PostgreSQL (DATABASE_URL) against the real in-memory tantivy engine.
"""

# ruff: noqa: F811 — the fixtures are imported from search_support

import datetime as dt
import time

import pytest
from django.utils import timezone

from hotline.core.errors import Forbidden, Unprocessable
from hotline.knowledge import engine
from hotline.knowledge.engine import ENGINE
from hotline.knowledge.lifecycle import ArticleState
from hotline.knowledge.models import Article, ArticleClickDay, SearchLog
from hotline.knowledge.selectors import search
from hotline.knowledge.services import articles as article_services
from hotline.knowledge.services import usage

from .search_support import fresh_engine, kb, titles, write  # noqa: F401

pytestmark = pytest.mark.django_db


# --- visibility ------------------------------------------------------------------------------


def test_agents_find_published_unexpired_articles_of_their_platforms(kb):
    page = search.search(kb.agent, q="公积金提取")
    found = titles(page)
    assert "租房提取住房公积金办理指南" in found
    assert "关于公积金提取业务暂停办理的通知" not in found  # expired yesterday
    assert "外地公积金提取须知" not in found  # another city's platform
    assert not any(item.state != "published" for item in page.items)
    assert "养老金调整草稿" not in titles(search.search(kb.agent, q="养老金调整草稿"))  # draft


def test_editors_asking_for_drafts_also_find_drafts_and_expired(kb):
    page = search.search(kb.editor, q="养老金调整", drafts=True)
    assert "养老金调整草稿" in titles(page)
    expired = search.search(kb.editor, q="暂停办理", drafts=True)
    assert expired.items[0].title == "关于公积金提取业务暂停办理的通知"
    assert expired.items[0].expired is True
    assert "养老金调整草稿" not in titles(search.search(kb.editor, q="养老金调整"))  # unasked


def test_unit_staff_and_county_agents_see_what_agents_see(kb):
    handler_page = search.search(kb.handler, q="养老金调整", drafts=True)
    assert "养老金调整草稿" not in titles(handler_page)  # no kb.edit: drafts flag ignored
    assert "退休后养老金多久能到账？" in titles(handler_page)
    # a county reads its city's knowledge
    assert "公积金贷款最多能贷多少？" in titles(search.search(kb.yz_agent, q="公积金贷款"))


def test_no_kb_view_no_search(kb):
    with pytest.raises(Forbidden):
        search.search(kb.admin, q="公积金")


# --- the index follows the services -------------------------------------------------------------


def test_published_change_is_found_on_the_next_search_and_archived_disappears(kb):
    assert search.search(kb.agent, q="灵活就业").total == 0  # the index is built now
    article = article_services.article_create(
        actor=kb.editor,
        title="灵活就业人员参加养老保险指南",
        subject=kb.pension,
        form=kb.guide,
        body="<p>灵活就业人员可以按月或按年缴纳基本养老保险费。</p>",
        keywords="灵活就业,自己交社保",
    )
    assert search.search(kb.agent, q="灵活就业").total == 0  # a draft
    article_services.article_move(actor=kb.editor, article=article, move="submit")
    article_services.article_move(actor=kb.editor, article=article, move="approve")
    page = search.search(kb.agent, q="灵活就业")
    assert titles(page) == ["灵活就业人员参加养老保险指南"]
    assert titles(search.search(kb.agent, q="自己交社保"))[0] == article.title  # keywords
    article_services.article_move(actor=kb.editor, article=article, move="archive")
    assert search.search(kb.agent, q="灵活就业").total == 0


def test_an_article_expires_without_any_write(kb):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    article = kb.articles.medical
    Article.objects.filter(pk=article.pk).update(expires_on=tomorrow, updated_at=timezone.now())
    assert search.search(kb.agent, q="医疗保险").total == 1
    later = tomorrow + dt.timedelta(days=1)
    assert search.search(kb.agent, q="医疗保险", today=later).total == 0


def test_a_late_committing_change_within_the_overlap_is_picked_up(kb):
    search.search(kb.agent, q="公积金")
    mark = Article.objects.order_by("-updated_at").first().updated_at
    # a transaction that took its timestamp before the newest one but committed after it:
    # the newest mark does not move, the window behind it is re-read once a second
    Article.objects.filter(pk=kb.articles.draft.pk).update(
        state=ArticleState.PUBLISHED, updated_at=mark - dt.timedelta(seconds=2)
    )
    time.sleep(engine.RECHECK_SECONDS + 0.1)
    assert "养老金调整草稿" in titles(search.search(kb.agent, q="养老金调整"))


def test_nothing_is_reindexed_when_nothing_changed(kb):
    usage.article_click(actor=kb.agent, article=kb.articles.pension)  # a statistics mark too
    search.search(kb.agent, q="公积金")
    searcher = ENGINE._state.searcher
    time.sleep(engine.RECHECK_SECONDS + 0.1)  # the window behind the mark is re-read …
    search.search(kb.agent, q="公积金")
    assert ENGINE._state.searcher is searcher  # … and nothing differs from what was read


def test_an_engine_limited_to_platforms_indexes_only_theirs(kb):
    limited = engine.Engine(platform_ids=frozenset([kb.elsewhere.pk]))
    audience = engine.Audience(platform_ids=frozenset([kb.elsewhere.pk]))
    result = limited.search(engine.Query(q="公积金"), audience)
    assert limited.size() == 1 and result.total == 1


# --- matching -----------------------------------------------------------------------------------


def test_exact_keeps_only_the_contiguous_text_fuzzy_finds_the_words(kb):
    fuzzy = titles(search.search(kb.agent, q="公积金提取"))
    exact = titles(search.search(kb.agent, q="公积金提取", mode="exact"))
    assert "租房提取住房公积金办理指南" in fuzzy and "公积金贷款最多能贷多少？" in fuzzy
    # only the keywords of the first carry “公积金提取” as written; the third says
    # “公积金的提取”, which is not the exact text
    assert exact == ["租房提取住房公积金办理指南"]
    assert "住房公积金缴存基数调整通知" in fuzzy


def test_exact_several_phrases_must_all_appear(kb):
    page = search.search(kb.agent, q="身份证 租房合同", mode="exact")
    assert titles(page) == ["租房提取住房公积金办理指南"]
    assert search.search(kb.agent, q="身份证 户口本", mode="exact").total == 0


def test_synonyms_find_the_official_term(kb):
    page = search.search(kb.agent, q="医保")  # the text says 医疗保险 only
    assert titles(page) == ["城乡居民基本医疗保险参保缴费指南"]
    assert "<mark>医疗保险</mark>" in page.items[0].title_html


def test_fields_narrow_where_words_are_looked_for(kb):
    assert search.search(kb.agent, q="合同", fields="title").total == 0
    assert search.search(kb.agent, q="合同", fields="content").total == 1
    assert search.search(kb.agent, q="社保待遇", fields=["keywords"]).total == 1
    assert search.search(kb.agent, q="社保待遇", fields=["title", "content"]).total == 0


def test_nothing_matches_the_words_titles_containing_the_text_instead(kb):
    page = search.search(kb.agent, q="房公")  # inside 住房公积金, never a word on its own
    assert page.fallback is True
    assert "租房提取住房公积金办理指南" in titles(page)
    assert "标题中包含" in page.notice
    assert search.search(kb.agent, q="房公", mode="exact").total == 0


# --- scope, facets, within, sorting ---------------------------------------------------------------


def test_category_scope_covers_the_subtree_and_form_scope(kb):
    housing = search.search(kb.agent, q="办理", category=kb.housing.pk)
    assert housing.total and all(i.category.startswith("住房") for i in housing.items)
    leaf = search.search(kb.agent, q="公积金", category=kb.fund.pk, form=kb.faq.pk)
    assert titles(leaf) == ["公积金贷款最多能贷多少？"]
    as_category = search.search(kb.agent, q="公积金", category=kb.faq.pk)
    assert titles(as_category) == ["公积金贷款最多能贷多少？"]


def test_facets_count_by_top_subject_and_form(kb):
    page = search.search(kb.agent, q="办理")
    subjects = {f["name"]: f["count"] for f in page.facets["subject"]}
    forms = {f["name"]: f["count"] for f in page.facets["form"]}
    expected_subjects = {}
    for item in search.search(kb.agent, q="办理", limit=50).items:
        top = item.category.split(" / ")[0]
        expected_subjects[top] = expected_subjects.get(top, 0) + 1
    assert subjects == expected_subjects
    assert sum(forms.values()) == page.total
    # the subject facet ignores the subject scope, so one can switch subjects
    scoped = search.search(kb.agent, q="办理", category=kb.housing.pk)
    assert {f["name"]: f["count"] for f in scoped.facets["subject"]} == subjects
    assert {f["name"] for f in scoped.facets["children"]} == {"住房公积金"}


def test_search_within_results(kb):
    first = search.search(kb.agent, q="公积金")
    narrowed = search.search(kb.agent, q="贷款", within=["公积金"])
    assert set(titles(narrowed)) <= set(titles(first))
    assert titles(narrowed)[0] == "公积金贷款最多能贷多少？"
    assert search.search(kb.agent, q="养老金", within=["公积金"]).total == 0


def test_sort_by_clicks_rating_modified_and_hotness(kb):
    a = kb.articles
    by_clicks = titles(search.search(kb.agent, q="公积金", sort="clicks"))
    assert by_clicks[0] == a.fund_loan.title  # 20 clicks
    usage.article_rate(actor=kb.agent, article=a.fund_split, score=5)
    usage.article_rate(actor=kb.editor, article=a.fund_withdraw, score=3)
    by_rating = titles(search.search(kb.agent, q="公积金", sort="rating"))
    assert by_rating[:2] == [a.fund_split.title, a.fund_withdraw.title]
    Article.objects.filter(pk=a.fund_split.pk).update(updated_at=timezone.now())
    assert titles(search.search(kb.agent, q="公积金", sort="modified"))[0] == a.fund_split.title
    today = timezone.localdate()
    ArticleClickDay.objects.create(article=a.fund_withdraw, day=today, clicks=4)  # 4 × 2
    ArticleClickDay.objects.create(
        article=a.fund_loan, day=today - dt.timedelta(days=20), clicks=6
    )  # 6 × 1
    Article.objects.filter(pk__in=[a.fund_withdraw.pk, a.fund_loan.pk]).update(
        stats_at=timezone.now()
    )
    by_hot = search.search(kb.agent, q="公积金", sort="hot")
    assert titles(by_hot)[:2] == [a.fund_withdraw.title, a.fund_loan.title]
    assert [i.score for i in by_hot.items[:2]] == [8, 6]


def test_clicks_reorder_after_the_statistics_sync(kb):
    a = kb.articles
    search.search(kb.agent, q="公积金", sort="clicks")
    for _ in range(30):
        usage.article_click(actor=kb.agent, article=a.fund_split)
    assert titles(search.search(kb.agent, q="公积金", sort="clicks"))[0] == a.fund_split.title


def test_pages_do_not_overlap(kb):
    first = titles(search.search(kb.agent, q="公积金", limit=2))
    second = titles(search.search(kb.agent, q="公积金", limit=2, offset=2))
    whole = titles(search.search(kb.agent, q="公积金", limit=10))
    assert first + second == whole[:4]


def test_related_keywords_come_from_the_best_matches(kb):
    page = search.search(kb.agent, q="公积金贷款")
    assert "贷款额度" in page.related
    assert "公积金贷款" not in page.related  # the words searched are not suggested back
    assert len(page.related) <= 5


def test_bad_parameters_are_refused_in_chinese(kb):
    for kwargs, field in [
        ({"mode": "regex"}, "mode"),
        ({"sort": "random"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 51}, "limit"),
        ({"category": "abc"}, "category"),
        ({"category": 999999}, "category"),
        ({"form": kb.fund.pk}, "category"),  # a subject node is not a form
        ({"fields": "body"}, "fields"),
        ({"q": "字" * 101}, "q"),
    ]:
        with pytest.raises(Unprocessable) as refused:
            search.search(kb.agent, q=kwargs.pop("q", "公积金"), **kwargs)
        assert refused.value.field == field
        assert not refused.value.message.isascii()


# --- suggestions, hot articles, the log --------------------------------------------------------------


def test_suggestions_by_prefix_pinyin_and_initials(kb):
    def texts(q):
        return [s["text"] for s in search.suggest(kb.agent, q)]

    assert "公积金贷款" in texts("gjj")  # initials
    assert "公积金贷款" in texts("gongjijin")  # full pinyin
    assert "公积金贷款最多能贷多少？" in texts("公积金")  # a title by its text
    assert "退休后养老金多久能到账？" in texts("txh")
    assert "居民医疗保险" in texts("jmyl")
    assert "养老金调整" not in texts("ylj")  # only the keywords of a draft
    assert "暂停办理" not in texts("ztbl")  # and of an expired article
    assert "外地公积金提取须知" not in texts("外地")  # another platform
    assert texts("") == [] and texts("zzzz") == []
    kinds = {s["type"] for s in search.suggest(kb.agent, "gjj")}
    assert kinds == {"keyword", "title"}


def test_suggestions_follow_a_renamed_title(kb):
    search.suggest(kb.agent, "gjj")
    Article.objects.filter(pk=kb.articles.fund_loan.pk).update(
        title="公积金贷款额度计算办法", updated_at=timezone.now()
    )
    found = [s["text"] for s in search.suggest(kb.agent, "公积金")]
    assert "公积金贷款额度计算办法" in found
    assert "公积金贷款最多能贷多少？" not in found


def test_hot_articles_rank_clicks_of_the_period(kb):
    a = kb.articles
    today = timezone.localdate()
    ArticleClickDay.objects.create(article=a.pension, day=today, clicks=3)
    ArticleClickDay.objects.create(article=a.medical, day=today - dt.timedelta(days=1), clicks=2)
    ArticleClickDay.objects.create(article=a.fund_loan, day=today - dt.timedelta(days=20), clicks=9)
    ArticleClickDay.objects.create(article=a.expired, day=today, clicks=50)  # hidden
    week = search.hot_articles(kb.agent, days=7)
    assert [(x.title, n) for x, n in week] == [(a.pension.title, 3), (a.medical.title, 2)]
    month = search.hot_articles(kb.agent, days=30)
    assert [x.title for x, _ in month] == [a.fund_loan.title, a.pension.title, a.medical.title]
    with pytest.raises(Unprocessable):
        search.hot_articles(kb.agent, days=9)


def test_every_search_is_logged_with_its_count(kb):
    page = search.search(kb.agent, q="公积金")
    usage.search_logged(actor=kb.agent, query=page.logged_query, results=page.total)
    page = search.search(kb.agent, q="火星移民")
    usage.search_logged(actor=kb.agent, query=page.logged_query, results=page.total)
    logged = list(SearchLog.objects.order_by("pk").values_list("query", "results", "user"))
    assert logged[0][0] == "公积金" and logged[0][1] > 0
    assert logged[1] == ("火星移民", 0, kb.agent.pk)


def test_engine_builds_once_and_holds_every_article_but_the_archived(kb):
    search.search(kb.agent, q="公积金")
    built, state = ENGINE.build_seconds, ENGINE._state
    assert built is not None and ENGINE.size() == Article.objects.count() == 8
    search.search(kb.agent, q="养老金")
    assert ENGINE._state is state  # kept in step, not rebuilt
    Article.objects.filter(pk=kb.articles.fund_split.pk).update(
        state=ArticleState.ARCHIVED, updated_at=timezone.now()
    )
    search.search(kb.agent, q="养老金")
    assert ENGINE.size() == 7
