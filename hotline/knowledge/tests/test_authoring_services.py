"""采编与审核 through the services: categories, articles, sanitising, scope, moves,
batch review, versions, diff and rollback."""

# ruff: noqa: F811 — the fixtures are imported from authoring_fixtures

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import AuditEntry
from hotline.knowledge.lifecycle import ARTICLE_MOVES, ArticleState
from hotline.knowledge.models import Article, ArticleVersion, Category, Dimension
from hotline.knowledge.selectors import articles as selectors
from hotline.knowledge.services import articles as services
from hotline.knowledge.services import categories as category_services

from .authoring_fixtures import BODY, article, grant, kb  # noqa: F401

pytestmark = pytest.mark.django_db


def fresh(a: Article) -> Article:
    return Article.objects.get(pk=a.pk)


# --- categories -----------------------------------------------------------------------------


def test_new_node_takes_parent_owner_and_codes_are_unique(kb):
    child = category_services.category_create(
        actor=kb.editor, dimension="subject", code="010101", name="退休待遇", parent=kb.pension
    )
    assert child.owner_unit == kb.unit_a
    assert AuditEntry.objects.filter(action="kb.category.create", object_id=str(child.pk)).exists()
    with pytest.raises(Conflict, match="已存在"):
        category_services.category_create(
            actor=kb.editor, dimension="subject", code="010101", name="别的", parent=kb.pension
        )
    with pytest.raises(Conflict, match="同一级下已有"):
        category_services.category_create(
            actor=kb.editor, dimension="subject", code="010102", name="退休待遇", parent=kb.pension
        )
    with pytest.raises(Unprocessable, match="分类编码"):
        category_services.category_create(
            actor=kb.editor, dimension="subject", code="有 空格", name="甲", parent=kb.pension
        )
    with pytest.raises(Unprocessable, match="同一维度"):
        category_services.category_create(
            actor=kb.editor, dimension="form", code="F9", name="甲", parent=kb.pension
        )


def test_owner_applies_to_the_whole_subtree(kb):
    grandchild = category_services.category_create(
        actor=kb.editor, dimension="subject", code="030101", name="提取", parent=kb.fund
    )
    category_services.category_set_owner(actor=kb.editor, category=kb.housing, unit=kb.unit_a)
    owners = set(
        Category.objects.filter(pk__in=[kb.housing.pk, kb.fund.pk, grandchild.pk]).values_list(
            "owner_unit", flat=True
        )
    )
    assert owners == {kb.unit_a.pk}
    with pytest.raises(Unprocessable, match="不设维护单位"):
        category_services.category_set_owner(actor=kb.editor, category=kb.guide, unit=kb.unit_a)


def test_move_rename_and_deactivate(kb, article):
    a = article()
    before = fresh(a).updated_at
    with pytest.raises(Unprocessable, match="自身或其下级"):
        category_services.category_move(actor=kb.editor, category=kb.social, parent=kb.pension)
    category_services.category_update(actor=kb.editor, category=kb.pension, name="养老保险待遇")
    assert fresh(a).updated_at > before  # the search shows category names: re-index
    moved_at = fresh(a).updated_at
    category_services.category_move(actor=kb.editor, category=kb.pension, parent=kb.civil)
    assert Category.objects.get(pk=kb.pension.pk).parent == kb.civil
    assert fresh(a).updated_at > moved_at
    with pytest.raises(Conflict, match="未归档"):
        category_services.category_set_active(actor=kb.editor, category=kb.civil, active=False)
    services.article_move(actor=kb.editor, article=a, move="archive")
    category_services.category_set_active(actor=kb.editor, category=kb.civil, active=False)
    assert not Category.objects.filter(pk__in=[kb.civil.pk, kb.pension.pk], is_active=True).exists()
    with pytest.raises(Unprocessable, match="已停用"):
        services.article_create(actor=kb.editor, title="新", subject=fresh(a).subject, body=BODY)
    with pytest.raises(Conflict, match="上级分类已停用"):
        category_services.category_set_active(
            actor=kb.editor, category=Category.objects.get(pk=kb.pension.pk), active=True
        )
    category_services.category_set_active(actor=kb.editor, category=kb.civil, active=True)
    assert Category.objects.get(pk=kb.civil.pk).is_active


def test_unit_editor_manages_only_their_own_nodes(kb):
    with pytest.raises(Forbidden):  # kb.edit alone does not manage categories
        category_services.category_update(actor=kb.rs_editor, category=kb.pension, name="改")
    grant("unit_handler", "kb.manage", kb.rs_editor, kb.zj_editor)
    own = category_services.category_create(
        actor=kb.rs_editor,
        dimension="subject",
        code="010199",
        name="本单位新节点",
        parent=kb.pension,
    )
    assert own.owner_unit == kb.unit_a
    category_services.category_update(actor=kb.rs_editor, category=own, name="改名")
    with pytest.raises(NotFound):
        category_services.category_update(actor=kb.rs_editor, category=kb.fund, name="改")
    with pytest.raises(NotFound):
        category_services.category_create(
            actor=kb.rs_editor, dimension="subject", code="030199", name="越权", parent=kb.fund
        )
    with pytest.raises(Forbidden):
        category_services.category_create(
            actor=kb.rs_editor, dimension="subject", code="99", name="顶级"
        )
    with pytest.raises(NotFound):
        category_services.category_move(actor=kb.rs_editor, category=own, parent=kb.fund)
    with pytest.raises(NotFound):
        category_services.category_set_active(actor=kb.rs_editor, category=kb.fund, active=False)
    with pytest.raises(Forbidden):
        category_services.category_set_owner(actor=kb.rs_editor, category=own, unit=kb.unit_b)
    with pytest.raises(NotFound):
        category_services.category_set_owner(actor=kb.rs_editor, category=kb.fund, unit=kb.unit_a)
    with pytest.raises(NotFound):
        category_services.category_update(actor=kb.rs_editor, category=kb.guide, name="改")
    assert Category.objects.get(pk=kb.fund.pk).name == "住房公积金"
    seen = {r.node.code for r in selectors.tree(kb.rs_editor, Dimension.SUBJECT)}
    assert seen == {"01", "0101", "010199"}
    assert {r.node.code for r in selectors.tree(kb.editor, Dimension.SUBJECT)} >= {"03", "0301"}


# --- articles ----------------------------------------------------------------------------------


def test_create_makes_a_sanitised_indexed_draft_with_version_one(kb, article):
    a = article(
        title="退休后养老金多久能到账？",
        body='<p onclick="steal()" style="color:red">按月发放<script>alert(1)</script></p>'
        '<style>p{display:none}</style><img src="https://evil.example/x.png" onerror="alert(1)">'
        '<img src="/kb/images/2026/11/0123456789abcdef0123456789abcdef.png" alt="流程图">'
        '<a href="javascript:alert(1)">点我</a><a href="https://www.gov.cn/">政府网</a>'
        "<iframe src='https://evil.example'></iframe><b>重点</b>",
        keywords=["养老金", "到账", "养老金"],
    )
    assert a.state == ArticleState.DRAFT and a.version == 1
    for bad in ("script", "alert", "style", "onclick", "onerror", "evil", "javascript", "iframe"):
        assert bad not in a.body
    assert (
        '<img src="/kb/images/2026/11/0123456789abcdef0123456789abcdef.png" alt="流程图">' in a.body
    )
    assert '<a href="https://www.gov.cn/"' in a.body and "<strong>重点</strong>" in a.body
    assert "点我" in a.body_text and "按月发放" in a.body_text
    assert a.keywords == "养老金,到账"
    assert "养老金" in a.search_title.split()
    assert {"到账", "养老金", "账"} <= set(a.search_keywords.split())
    assert "发放" in a.search_body.split()
    version = ArticleVersion.objects.get(article=a)
    assert version.number == 1 and version.body == a.body and version.note == "新建"
    assert AuditEntry.objects.filter(action="kb.article.create", object_id=str(a.pk)).exists()


def test_bad_fields_are_refused_with_chinese_messages(kb, article):
    with pytest.raises(Unprocessable, match="正文"):
        article(body="<script>alert(1)</script><p> </p>")
    with pytest.raises(Unprocessable, match="标题"):
        article(title="  ")
    with pytest.raises(Unprocessable, match="失效日期须晚于生效日期"):
        article(effective_from=dt.date(2026, 5, 1), expires_on=dt.date(2026, 4, 1))
    with pytest.raises(Unprocessable, match="主题分类"):
        article(subject=kb.guide)
    first = article(title="同名知识")
    with pytest.raises(Conflict, match="同名"):
        article(title="同名知识")
    with pytest.raises(Unprocessable, match="相关知识不存在"):
        article(related=[first.pk, 999999])
    assert Article.objects.count() == 1


def test_update_saves_a_new_version_and_guards_state_and_concurrency(kb, article):
    a = article()
    stamp = a.updated_at
    a = services.article_update(
        actor=kb.editor, article=a, body=BODY + "<p>新增一段。</p>", note="补充办理地点"
    )
    assert a.version == 2 and a.updated_at > stamp
    assert list(a.versions.values_list("number", "note")) == [(2, "补充办理地点"), (1, "新建")]
    same = services.article_update(actor=kb.editor, article=a, body=a.body, title=a.title)
    assert same.version == 2 and a.versions.count() == 2  # nothing changed: no version
    with pytest.raises(Conflict, match="他人保存"):
        services.article_update(actor=kb.editor, article=a, title="新标题", expected_version=1)
    services.article_move(actor=kb.editor, article=a, move="submit")
    with pytest.raises(Conflict, match="撤回"):
        services.article_update(actor=kb.editor, article=fresh(a), title="新标题")
    assert fresh(a).title != "新标题"


def test_every_change_that_search_sees_bumps_updated_at(kb, article):
    a = article()
    stamps = [fresh(a).updated_at]
    services.article_update(actor=kb.editor, article=a, expires_on=dt.date(2030, 1, 1))
    stamps.append(fresh(a).updated_at)
    for move in ("submit", "approve", "revise"):
        services.article_move(actor=kb.editor, article=fresh(a), move=move)
        stamps.append(fresh(a).updated_at)
    category_services.category_update(actor=kb.editor, category=kb.pension, name="养老")
    stamps.append(fresh(a).updated_at)
    assert all(later > earlier for earlier, later in zip(stamps, stamps[1:], strict=False))


def test_unit_editor_touches_only_their_units_articles(kb, article):
    mine = article(actor=kb.rs_editor)
    theirs = article(subject=kb.fund)
    platform_only = article(subject=kb.relief)
    with pytest.raises(NotFound):
        article(actor=kb.rs_editor, subject=kb.fund, title="越权新建")
    with pytest.raises(NotFound):
        services.article_update(actor=kb.rs_editor, article=theirs, title="改标题")
    with pytest.raises(NotFound):
        services.article_move(actor=kb.rs_editor, article=theirs, move="submit")
    with pytest.raises(NotFound):
        services.article_update(actor=kb.rs_editor, article=mine, subject=kb.fund)
    with pytest.raises(NotFound):
        services.article_rollback(actor=kb.rs_editor, article=theirs, number=1)
    visible = set(selectors.articles_for(kb.rs_editor).values_list("pk", flat=True))
    assert visible == {mine.pk}
    assert set(selectors.articles_for(kb.zj_editor).values_list("pk", flat=True)) == {theirs.pk}
    assert set(selectors.articles_for(kb.editor).values_list("pk", flat=True)) == {
        mine.pk,
        theirs.pk,
        platform_only.pk,
    }
    services.article_move(actor=kb.rs_editor, article=mine, move="submit")
    with pytest.raises(Forbidden):  # kb.edit does not review
        services.article_move(actor=kb.rs_editor, article=fresh(mine), move="approve")
    assert fresh(theirs).title.startswith("养老金")


def test_moves_follow_the_table(kb, article):
    a = article()
    with pytest.raises(Conflict, match="草稿"):
        services.article_move(actor=kb.editor, article=a, move="approve")
    a = services.article_move(actor=kb.editor, article=a, move="submit")
    with pytest.raises(Unprocessable, match="退回原因"):
        services.article_move(actor=kb.editor, article=a, move="reject")
    a = services.article_move(actor=kb.editor, article=a, move="reject", note="缺少办理地点")
    assert a.state == ArticleState.DRAFT
    entry = AuditEntry.objects.filter(action="kb.article.reject").get()
    assert entry.detail["note"] == "缺少办理地点" and entry.changes["state"] == ["pending", "draft"]
    for move in ("submit", "approve"):
        a = services.article_move(actor=kb.editor, article=a, move=move)
    assert a.state == ArticleState.PUBLISHED and a.published_at is not None
    with pytest.raises(NotFound, match="未知的操作"):
        services.article_move(actor=kb.editor, article=a, move="publish")
    expired = article(expires_on=timezone.localdate() - dt.timedelta(days=1))
    services.article_move(actor=kb.editor, article=expired, move="submit")
    with pytest.raises(Conflict, match="失效日期"):
        services.article_move(actor=kb.editor, article=fresh(expired), move="approve")


ACTORS = ["editor", "rs_editor", "zj_editor", "agent"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(sorted(ARTICLE_MOVES)),
            st.sampled_from(ACTORS),
            st.sampled_from(["", "原因"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_no_illegal_move_succeeds(kb, article, steps):
    """Any sequence of moves by anyone: a move succeeds exactly when the actor holds its
    permission, the article is in their scope and in one of the move's source states
    (退回修改 with a reason); then the state is the table's target, else it is unchanged."""
    a = article()  # under 养老保险: 人社局's node, out of 住建局's scope
    for move, who, note in steps:
        actor = getattr(kb, who)
        spec = ARTICLE_MOVES[move]
        before = fresh(a).state
        if not actor.can(spec.permission):
            expected = Forbidden
        elif who == "zj_editor":
            expected = NotFound
        elif before not in spec.sources:
            expected = Conflict
        elif move == "reject" and not note:
            expected = Unprocessable
        else:
            expected = None
        if expected is None:
            services.article_move(actor=actor, article=fresh(a), move=move, note=note)
            after = fresh(a).state
            assert (ArticleState(before), ArticleState(after)) in spec.edges
        else:
            with pytest.raises(expected):
                services.article_move(actor=actor, article=fresh(a), move=move, note=note)
            assert fresh(a).state == before


def test_batch_review_reports_each_article(kb, article):
    ready = [article() for _ in range(3)]
    for a in ready:
        services.article_move(actor=kb.editor, article=a, move="submit")
    draft = article()
    results = services.article_move_many(
        actor=kb.editor,
        ids=[ready[0].pk, draft.pk, ready[1].pk, 999999, ready[2].pk],
        move="approve",
    )
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert "草稿" in results[1].message and "不存在" in results[3].message
    assert all(fresh(a).state == ArticleState.PUBLISHED for a in ready)
    assert fresh(draft).state == ArticleState.DRAFT
    with pytest.raises(Unprocessable, match="至少选择"):
        services.article_move_many(actor=kb.editor, ids=[], move="approve")
    theirs = article(subject=kb.fund)
    services.article_move(actor=kb.editor, article=theirs, move="submit")
    results = services.article_move_many(actor=kb.rs_editor, ids=[theirs.pk], move="withdraw")
    assert not results[0].ok and fresh(theirs).state == ArticleState.PENDING


def test_agents_find_published_unexpired_articles_of_their_platforms(kb, article):
    today = timezone.localdate()
    live = article()
    old = article(
        expires_on=today - dt.timedelta(days=1), effective_from=today - dt.timedelta(days=90)
    )
    last_day = article(expires_on=today)
    draft = article()
    for a in (live, old, last_day):
        services.article_move(actor=kb.editor, article=a, move="submit")
        if a is not old:
            services.article_move(actor=kb.editor, article=fresh(a), move="approve")
    Article.objects.filter(pk=old.pk).update(state=ArticleState.PUBLISHED)  # expired since
    found = set(selectors.published_for_agents(kb.agent).values_list("pk", flat=True))
    assert found == {live.pk, last_day.pk}
    assert draft.pk not in found
    county = set(selectors.published_for_agents(kb.users.yz_agent).values_list("pk", flat=True))
    assert county == found  # a county agent reads the city's knowledge
    assert not selectors.published_for_agents(kb.users.sys_admin).exists()  # no kb.view
    listed = selectors.articles_filtered(kb.editor, selectors.ArticleFilter(expired="yes"))
    assert list(listed.values_list("pk", flat=True)) == [old.pk]


# --- versions ------------------------------------------------------------------------------------


def test_diff_between_any_two_versions(kb, article):
    a = article(body="<p>第一段不变。</p><p>缴费满15年。</p><p>将被删除的段落。</p>")
    services.article_update(
        actor=kb.editor,
        article=a,
        title="养老金领取条件（2026年版）",
        subject=kb.relief,
        body="<p>第一段不变。</p><p>缴费满20年。</p><p>新增的段落。</p><p>再新增一段。</p>",
        note="政策调整",
    )
    old, new = selectors.version_of(a, 1), selectors.version_of(a, 2)
    diff = selectors.version_diff(old, new)
    labels = {f.label: (f.old, f.new) for f in diff.fields}
    assert labels["标题"][1] == "养老金领取条件（2026年版）"
    assert labels["主题分类"] == ("社会保障 / 养老保险", "民政 / 低保")
    kinds = [r.kind for r in diff.rows]
    assert kinds[0] == "equal" and "insert" in kinds and "replace" in kinds
    changed = next(r for r in diff.rows if r.kind == "replace" and "缴费" in r.old)
    assert "<del>15</del>" in changed.old and "<ins>20</ins>" in changed.new
    assert diff.added == 3 and diff.removed == 2
    back = selectors.version_diff(new, old)  # any order
    assert back.added == 2 and back.removed == 3
    assert selectors.version_diff(old, old).same
    with pytest.raises(NotFound):
        selectors.version_of(a, 9)


def test_diff_escapes_the_text(kb, article):
    a = article(body="<p>甲 &lt;b&gt;乙&lt;/b&gt;</p>")
    services.article_update(actor=kb.editor, article=a, body="<p>甲 &lt;i&gt;丙&lt;/i&gt;</p>")
    diff = selectors.version_diff(selectors.version_of(a, 1), selectors.version_of(a, 2))
    html = "".join(r.old + r.new for r in diff.rows)
    assert "&lt;" in html and "<b>" not in html and "<i>" not in html


def test_rollback_makes_a_new_draft_version(kb, article):
    a = article(title="原标题", body="<p>原来的正文。</p>")
    a = services.article_update(
        actor=kb.editor, article=a, title="新标题", body="<p>新的正文。</p>"
    )
    for move in ("submit", "approve"):
        a = services.article_move(actor=kb.editor, article=a, move=move)
    a = services.article_rollback(actor=kb.editor, article=a, number=1)
    assert a.state == ArticleState.DRAFT and a.version == 3
    assert a.title == "原标题" and a.body_text == "原来的正文。"
    assert list(a.versions.values_list("number", flat=True)) == [3, 2, 1]
    assert a.versions.first().note == "回滚到第 1 版"
    revise = AuditEntry.objects.filter(action="kb.article.revise", object_id=str(a.pk)).get()
    assert revise.changes["state"] == ["published", "draft"]
    with pytest.raises(Conflict, match="当前版本"):
        services.article_rollback(actor=kb.editor, article=a, number=3)
    with pytest.raises(NotFound):
        services.article_rollback(actor=kb.editor, article=a, number=7)
