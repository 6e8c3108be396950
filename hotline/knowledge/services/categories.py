"""知识分类: writes of the category trees (one per dimension: 主题, 形式).

Every function needs kb.manage. A unit's staff (scope "unit") work only inside the nodes
their unit owns: they may add nodes below them, rename, move (to another of their nodes)
and deactivate them, but not hand a node to another unit; anything else reads as "not
found". Setting a node's owner unit (维护单位) applies it to the node's whole subtree, and
a new node takes its parent's owner unless told otherwise.

Renaming, moving or deactivating a node changes what the search shows for its articles
(category names, facets, scope), so their ``updated_at`` is bumped for the search index.
"""

import re

from django.db import transaction
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import HandlingUnit, User
from hotline.core.scope import scope_of
from hotline.core.services import require

from ..lifecycle import ArticleState
from ..models import Article, Category, Dimension
from ..selectors import articles as selectors

CODE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")
NAME_MAX = 50
INHERIT = object()  # owner_unit default: the parent's owner


def _guard(actor: User | None, category: Category) -> None:
    require(actor, "kb.manage")
    if not selectors.category_manageable(actor, category):
        raise NotFound("分类不存在或不在您的管辖范围内")


def _lock(category: Category) -> Category:
    return (
        Category.objects.select_for_update(of=("self",))
        .select_related("owner_unit")
        .get(pk=category.pk)
    )


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise Unprocessable("请填写分类名称", field="name")
    if len(name) > NAME_MAX:
        raise Unprocessable(f"分类名称不能超过 {NAME_MAX} 字", field="name")
    return name


def _sibling_name_free(dimension, parent_id, name, exclude=None) -> None:
    siblings = Category.objects.filter(dimension=dimension, parent_id=parent_id, name=name)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude.pk)
    if siblings.exists():
        raise Conflict(f"同一级下已有名为“{name}”的分类", field="name")


def _owner_allowed(actor: User | None, unit: HandlingUnit | None) -> None:
    if actor is None or unit is None:
        return
    if not scope_of(actor).covers_unit(unit):
        raise Unprocessable("维护单位不存在或不在您的管辖范围内", field="owner_unit")


def touch_articles(node_ids, *, dimension: str) -> int:
    """Bump ``updated_at`` of the articles filed under these nodes (the search index
    re-reads them)."""
    field = "subject_id__in" if dimension == Dimension.SUBJECT else "form_id__in"
    return Article.objects.filter(**{field: list(node_ids)}).update(updated_at=timezone.now())


@transaction.atomic
def category_create(
    *,
    actor: User | None,
    dimension: str,
    code: str,
    name: str,
    parent: Category | None = None,
    owner_unit=INHERIT,
    sort: int = 0,
) -> Category:
    """Add a node to a dimension's tree (新增分类)."""
    require(actor, "kb.manage")
    if dimension not in Dimension.values:
        raise Unprocessable("分类维度须为“主题”或“形式”", field="dimension")
    code = (code or "").strip()
    if not CODE.match(code):
        raise Unprocessable("分类编码须为 1–20 位字母、数字、下划线或连字符", field="code")
    name = _name(name)
    unit = selectors.unit_of(actor)
    if parent is not None:
        parent = _lock(parent)
        if not selectors.category_visible(actor, parent):
            raise NotFound("上级分类不存在或不在您的管辖范围内", field="parent")
        if parent.dimension != dimension:
            raise Unprocessable("上级分类不属于同一维度", field="parent")
        if not parent.is_active:
            raise Unprocessable("上级分类已停用", field="parent")
    elif unit is not None:
        raise Forbidden("单位人员只能在本单位维护的分类下新增分类")
    if owner_unit is INHERIT:
        owner_unit = parent.owner_unit if parent is not None else None
    if dimension == Dimension.FORM and owner_unit is not None:
        raise Unprocessable("知识形式分类不设维护单位", field="owner_unit")
    if unit is not None and (owner_unit is None or owner_unit.pk != unit):
        raise Forbidden("单位人员不能把分类交给其他单位维护")
    _owner_allowed(actor, owner_unit)
    if Category.objects.filter(dimension=dimension, code=code).exists():
        raise Conflict(f"分类编码 {code} 已存在", field="code")
    _sibling_name_free(dimension, parent.pk if parent else None, name)
    if not isinstance(sort, int) or sort < 0:
        raise Unprocessable("排序须为非负整数", field="sort")
    category = Category.objects.create(
        dimension=dimension, code=code, name=name, parent=parent, owner_unit=owner_unit, sort=sort
    )
    audit.record("kb.category.create", category, after=audit.snapshot(category), actor=actor)
    return category


@transaction.atomic
def category_update(
    *, actor: User | None, category: Category, name: str | None = None, sort: int | None = None
) -> Category:
    """Rename a node or change its place among its siblings (重命名)."""
    _guard(actor, category)
    category = _lock(category)
    before = audit.snapshot(category)
    if name is not None:
        name = _name(name)
        if name != category.name:
            _sibling_name_free(category.dimension, category.parent_id, name, exclude=category)
            category.name = name
    if sort is not None:
        if not isinstance(sort, int) or sort < 0:
            raise Unprocessable("排序须为非负整数", field="sort")
        category.sort = sort
    after = audit.snapshot(category)
    if after == before:
        return category
    category.save()
    if before["name"] != after["name"]:
        touch_articles(selectors.subtree_ids(category), dimension=category.dimension)
    audit.record("kb.category.update", category, before=before, after=after, actor=actor)
    return category


@transaction.atomic
def category_move(*, actor: User | None, category: Category, parent: Category | None) -> Category:
    """Put a node (with its subtree) under another parent, or at the top (移动)."""
    _guard(actor, category)
    category = _lock(category)
    if parent is not None:
        parent = _lock(parent)
        if not selectors.category_visible(actor, parent):
            raise NotFound("上级分类不存在或不在您的管辖范围内", field="parent")
        if parent.dimension != category.dimension:
            raise Unprocessable("上级分类不属于同一维度", field="parent")
        if parent.pk in selectors.subtree_ids(category):
            raise Unprocessable("不能移到自身或其下级分类之下", field="parent")
        if not parent.is_active and category.is_active:
            raise Unprocessable("上级分类已停用", field="parent")
    elif selectors.unit_of(actor) is not None:
        raise Forbidden("单位人员只能把分类移到本单位维护的分类之下")
    new_parent = parent.pk if parent else None
    if new_parent == category.parent_id:
        return category
    _sibling_name_free(category.dimension, new_parent, category.name, exclude=category)
    before = {"parent": category.parent_id}
    category.parent = parent
    category.save(update_fields=["parent"])
    touch_articles(selectors.subtree_ids(category), dimension=category.dimension)
    audit.record(
        "kb.category.move", category, before=before, after={"parent": new_parent}, actor=actor
    )
    return category


@transaction.atomic
def category_set_active(*, actor: User | None, category: Category, active: bool) -> Category:
    """停用 a node with its subtree (refused while articles not archived are filed under
    it: move or archive them first), or 启用 it again (its parent must be active)."""
    _guard(actor, category)
    category = _lock(category)
    ids = selectors.subtree_ids(category)
    if active:
        if category.parent_id and not category.parent.is_active:
            raise Conflict("上级分类已停用，请先启用上级分类")
        changed = [category.pk] if not category.is_active else []
    else:
        field = "subject_id__in" if category.dimension == Dimension.SUBJECT else "form_id__in"
        live = Article.objects.filter(**{field: ids}).exclude(state=ArticleState.ARCHIVED).count()
        if live:
            raise Conflict(f"该分类下还有 {live} 篇未归档的知识，请先移到其他分类或归档")
        changed = list(
            Category.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True)
        )
    if not changed:
        return category
    Category.objects.filter(pk__in=changed).update(is_active=active)
    category.refresh_from_db()
    touch_articles(ids, dimension=category.dimension)
    audit.record(
        "kb.category.enable" if active else "kb.category.disable",
        category,
        before={"is_active": not active},
        after={"is_active": active},
        detail={"nodes": len(changed)},
        actor=actor,
    )
    return category


@transaction.atomic
def category_set_owner(
    *, actor: User | None, category: Category, unit: HandlingUnit | None
) -> Category:
    """Name the unit that maintains a subject node and everything below it (维护单位);
    ``unit=None`` gives the subtree back to the platform's editors. Platform editors only."""
    require(actor, "kb.manage")
    if selectors.unit_of(actor) is not None:
        if selectors.category_visible(actor, category):
            raise Forbidden("只有平台知识库管理员可以指定维护单位")
        raise NotFound("分类不存在或不在您的管辖范围内")
    _guard(actor, category)
    category = _lock(category)
    if category.dimension != Dimension.SUBJECT:
        raise Unprocessable("知识形式分类不设维护单位", field="owner_unit")
    _owner_allowed(actor, unit)
    ids = selectors.subtree_ids(category)
    before = {"owner_unit": category.owner_unit_id}
    updated = Category.objects.filter(pk__in=ids).update(owner_unit=unit)
    category.refresh_from_db()
    audit.record(
        "kb.category.owner",
        category,
        before=before,
        after={"owner_unit": unit.pk if unit else None},
        detail={"unit": unit.name if unit else "", "nodes": updated},
        actor=actor,
    )
    return category
