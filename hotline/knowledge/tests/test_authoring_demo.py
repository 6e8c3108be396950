"""The demo knowledge base: every demo article published, categories with owner units,
related links, expired ones flagged and hidden from agents; fast."""

import pytest
from django.utils import timezone

from hotline.core import demo
from hotline.core.models import AuditEntry, HandlingUnit, User
from hotline.knowledge.demo import load_articles, subject_files
from hotline.knowledge.lifecycle import ArticleState
from hotline.knowledge.models import Article, ArticleVersion, Category, Dimension
from hotline.knowledge.selectors import articles as selectors


@pytest.fixture
def loaded(db):
    return demo.load_demo(orders=0, calls=0)


def test_every_demo_article_is_published(loaded):
    total = sum(len(f["articles"]) for f in subject_files())
    assert total >= 300
    assert Article.objects.count() == total
    assert Article.objects.filter(state=ArticleState.PUBLISHED).count() == total
    assert ArticleVersion.objects.filter(number=1).count() == total
    kb01 = User.objects.get(username="kb01")
    assert Article.objects.filter(created_by=kb01).count() == total
    assert not Article.objects.filter(search_title="").exists()
    assert not Article.objects.filter(body_text="").exists()
    assert AuditEntry.objects.filter(action="kb.demo_load").count() == 1


def test_categories_and_owner_units(loaded):
    forms = set(Category.objects.filter(dimension=Dimension.FORM).values_list("name", flat=True))
    assert forms == {"政策法规", "办事指南", "常见问答", "通知公告"}
    housing = Category.objects.get(dimension=Dimension.SUBJECT, code="03")
    assert housing.owner_unit.code == "ZJJ" and housing.owner_unit.platform.code == "SY"
    estate = Category.objects.get(dimension=Dimension.SUBJECT, code="0302")
    assert estate.parent == housing and estate.owner_unit.code == "ZGJ"
    assert Category.objects.filter(dimension=Dimension.SUBJECT, parent=None).count() == 12


def test_related_links_and_expired_articles(loaded):
    linked = Article.objects.filter(related__isnull=False).distinct().count()
    assert linked > 50
    one = Article.objects.filter(related__isnull=False).first()
    other = one.related.first()
    assert one in other.related.all()  # both ways
    today = timezone.localdate()
    expired = Article.objects.filter(expires_on__lt=today)
    assert expired.count() >= 5
    agent = User.objects.filter(role_assignments__role="agent", platform__code="SY").first()
    visible = selectors.published_for_agents(agent)
    assert visible.count() == Article.objects.count() - expired.count()
    assert not visible.filter(pk__in=expired.values("pk")).exists()


def test_the_demo_knowledge_loads_every_article_segmented(db, org):
    """300+ articles are sanitised, segmented and written (their speed is measured by
    `make bench`, not here: a test must not fail because the machine is busy)."""
    units = {
        code: HandlingUnit.objects.create(platform=org.sy, code=code, name=f"单位{code}")
        for code in ("RSJ", "ZJJ", "YBJ", "WJW", "ZGJ", "GAJ")
    }
    counts = load_articles(platform=org.sy, units=units)
    assert counts["articles"] >= 300
    assert Article.objects.count() == counts["articles"]
    assert not Article.objects.filter(search_title="").exists()  # jieba words for the index
