"""Fixtures of the 知识检索 tests (imported by test_search*.py and test_usage*.py).

A small knowledge base written for the tests: two subject trees (社会保障 › 养老保险,
医疗卫生 › 医疗保险, 住房 › 住房公积金), two forms, published, draft, expired articles on
the city platform SY, and one on a platform outside the tree. Articles are saved through
the models with the authoring services' own ``index`` (the segmented ``search_*``
columns), so the engine reads exactly what the services write.
"""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from hotline.core.models import Platform
from hotline.knowledge.content import html_to_text
from hotline.knowledge.engine import ENGINE
from hotline.knowledge.lifecycle import ArticleState
from hotline.knowledge.models import Article, Category, Dimension
from hotline.knowledge.services import articles as article_services


@pytest.fixture(autouse=True)
def fresh_engine(settings):
    """Each test starts with no index (the database is rolled back between tests) and
    sees usage statistics at once (no 10 s batching)."""
    settings.HOTLINE_KB_STATS_SECONDS = 0
    ENGINE.reset()
    yield
    ENGINE.reset()


def node(dimension, code, name, parent=None, owner=None) -> Category:
    return Category.objects.create(
        dimension=dimension, code=code, name=name, parent=parent, owner_unit=owner
    )


def write(
    platform,
    subject,
    title,
    body,
    *,
    form=None,
    keywords="",
    state=ArticleState.PUBLISHED,
    expires_on=None,
    clicks=0,
    updated_at=None,
) -> Article:
    html = "".join(f"<p>{line}</p>" for line in body.split("\n"))
    article = Article(
        platform=platform,
        subject=subject,
        form=form,
        title=title,
        keywords=keywords,
        body=html,
        body_text=html_to_text(html),
        state=state,
        expires_on=expires_on,
        clicks=clicks,
        updated_at=updated_at or timezone.now(),
    )
    article_services.index(article)
    article.save()
    return article


@pytest.fixture
def kb(org, make_user):
    """The test knowledge base and its readers."""
    social = node(Dimension.SUBJECT, "01", "社会保障", owner=org.sy_units[0])
    pension = node(Dimension.SUBJECT, "0101", "养老保险", social, owner=org.sy_units[0])
    health = node(Dimension.SUBJECT, "02", "医疗卫生")
    insurance = node(Dimension.SUBJECT, "0201", "医疗保险", health)
    housing = node(Dimension.SUBJECT, "03", "住房", owner=org.sy_units[1])
    fund = node(Dimension.SUBJECT, "0301", "住房公积金", housing, owner=org.sy_units[1])
    guide = node(Dimension.FORM, "BSZN", "办事指南")
    faq = node(Dimension.FORM, "CJWD", "常见问答")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    sy = org.sy
    a = SimpleNamespace()
    a.fund_withdraw = write(
        sy,
        fund,
        "租房提取住房公积金办理指南",
        "在本市无自有住房且租房居住的职工，可以申请提取住房公积金支付房租。\n"
        "办理材料：身份证、租房合同。每年可提取一次。",
        form=guide,
        keywords="公积金提取,租房提取",
        clicks=5,
    )
    a.fund_loan = write(
        sy,
        fund,
        "公积金贷款最多能贷多少？",
        "住房公积金贷款额度按缴存余额和还款能力计算，单人最高 50 万元，夫妻最高 80 万元。",
        form=faq,
        keywords="公积金贷款,贷款额度",
        clicks=20,
    )
    a.fund_split = write(
        sy,
        fund,
        "住房公积金缴存基数调整通知",
        "每年 7 月调整缴存基数。调整后不影响公积金的提取和贷款办理。",
        form=guide,
        keywords="缴存基数",
        clicks=1,
    )
    a.medical = write(
        sy,
        insurance,
        "城乡居民基本医疗保险参保缴费指南",
        "城乡居民可以在每年 9 月至 12 月缴纳下一年度的基本医疗保险费。\n"
        "可通过“海南医保”小程序或社区代缴。",
        form=guide,
        keywords="参保缴费,居民医疗保险",
        clicks=3,
    )
    a.pension = write(
        sy,
        pension,
        "退休后养老金多久能到账？",
        "退休手续审批通过后，养老金从批准退休的次月开始计发，每月 10 日前发放。",
        form=faq,
        keywords="养老金到账,退休金,社保待遇",
        clicks=8,
    )
    a.draft = write(
        sy,
        pension,
        "养老金调整草稿",
        "今年养老金调整方案草稿，尚未发布。",
        form=guide,
        keywords="养老金调整",
        state=ArticleState.DRAFT,
    )
    a.expired = write(
        sy,
        fund,
        "关于公积金提取业务暂停办理的通知",
        "系统升级期间暂停办理公积金提取业务。",
        form=faq,
        keywords="暂停办理",
        expires_on=yesterday,
    )
    elsewhere = Platform.objects.create(
        code="GZ", name="广州市12345热线", level=Platform.Level.CITY
    )
    a.elsewhere = write(
        elsewhere,
        fund,
        "外地公积金提取须知",
        "外地平台的公积金提取说明。",
        form=guide,
        keywords="公积金提取",
    )
    return SimpleNamespace(
        articles=a,
        social=social,
        pension=pension,
        health=health,
        insurance=insurance,
        housing=housing,
        fund=fund,
        guide=guide,
        faq=faq,
        agent=make_user("agent", username="kb_agent"),
        editor=make_user("kb_editor", username="kb_editor1"),
        handler=make_user("unit_handler", unit=org.sy_units[1], username="kb_handler"),
        yz_agent=make_user("agent", platform=org.yz, username="kb_yz_agent"),
        admin=make_user("sys_admin", username="kb_sysadmin"),
        elsewhere=elsewhere,
    )


def titles(page) -> list[str]:
    return [item.title for item in page.items]
