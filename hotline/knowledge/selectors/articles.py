"""Reads of 采编与审核: the category trees, the articles an editor may touch, the review queue,
versions and their differences, what agents may find, and the import/export workbooks.

Scope (数据权限), decided here once and used by the services, pages and API alike:

- a platform editor (kb.edit / kb.review with platform scope) works on the articles of
  their platform and the platforms below it;
- a unit's staff (scope "unit") work only on articles whose subject node is owned by
  their unit (``Category.owner_unit``; setting an owner applies it to the whole subtree);
- agents (kb.view) read published, unexpired articles of their platform, the platforms
  above it (a county reads the city's knowledge) and, for platform roles, below it.

Out of scope reads as "does not exist" (404), never as "forbidden".
"""

import datetime as dt
import difflib
import io
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from hotline.core.errors import NotFound
from hotline.core.exports import styled_workbook
from hotline.core.models import AuditEntry
from hotline.core.scope import scope_of

from ..content import html_to_text
from ..lifecycle import ARTICLE_STATE_LABELS, ArticleState
from ..models import Article, ArticleVersion, Category, Dimension

EDITOR_PERMISSIONS = ("kb.edit", "kb.review")

# --- categories -----------------------------------------------------------------------------


def _nodes(dimension: str) -> list[Category]:
    return list(
        Category.objects.filter(dimension=dimension)
        .select_related("owner_unit", "parent")
        .order_by("sort", "code")
    )


def subtree_ids(category: Category) -> set[int]:
    """The node and every node below it (the tree is small: walked in memory)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Category.objects.filter(dimension=category.dimension).values_list(
        "pk", "parent_id"
    ):
        children.setdefault(parent_id, []).append(pk)
    found, stack = set(), [category.pk]
    while stack:
        pk = stack.pop()
        if pk not in found:
            found.add(pk)
            stack.extend(children.get(pk, ()))
    return found


def path_names(dimension: str | None = None) -> dict[int, str]:
    """{pk: "社会保障 / 养老保险"} for every node (of one dimension), in one query."""
    rows = Category.objects.all()
    if dimension:
        rows = rows.filter(dimension=dimension)
    nodes = {pk: (parent, name) for pk, parent, name in rows.values_list("pk", "parent", "name")}
    names: dict[int, str] = {}

    def name_of(pk, depth=0):
        if pk not in names:
            parent, name = nodes[pk]
            above = name_of(parent, depth + 1) if parent in nodes and depth < 50 else ""
            names[pk] = f"{above} / {name}" if above else name
        return names[pk]

    for pk in nodes:
        name_of(pk)
    return names


def unit_of(viewer) -> int | None:
    """The unit a unit-scoped editor is restricted to (None: platform scope)."""
    if viewer is None:
        return None
    return scope_of(viewer).unit_id


def category_visible(viewer, category: Category) -> bool:
    """May this person see the node on the category pages (and use it for articles)?"""
    if viewer is None:
        return True
    unit = unit_of(viewer)
    if category.dimension == Dimension.FORM:
        return True
    return unit is None or category.owner_unit_id == unit


def category_manageable(viewer, category: Category) -> bool:
    """May this person rename, move or deactivate the node (kb.manage, in scope)?"""
    if viewer is not None and not viewer.can("kb.manage"):
        return False
    if category.dimension == Dimension.FORM and unit_of(viewer) is not None:
        return False  # the forms are the platform's, not a unit's
    return category_visible(viewer, category)


@dataclass
class TreeRow:
    node: Category
    depth: int
    has_children: bool
    articles: int = 0
    manageable: bool = False


def tree(viewer, dimension: str) -> list[TreeRow]:
    """The nodes of one dimension in tree order (pre-order), as this person sees them:
    a unit's staff see only their unit's nodes (their top nodes shown as roots)."""
    nodes = _nodes(dimension)
    children: dict[int | None, list[Category]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    article_field = "subject" if dimension == Dimension.SUBJECT else "form"
    counts = dict(
        Article.objects.filter(**{f"{article_field}__dimension": dimension})
        .values_list(article_field)
        .annotate(n=Count("pk"))
        .values_list(article_field, "n")
    )
    rows: list[TreeRow] = []

    def total(node) -> int:  # a node's articles and those of every node below it
        return counts.get(node.pk, 0) + sum(total(c) for c in children.get(node.pk, ()))

    def walk(parent_id, depth):
        for node in children.get(parent_id, ()):
            shown = category_visible(viewer, node)
            if shown:
                rows.append(
                    TreeRow(
                        node=node,
                        depth=depth,
                        has_children=bool(children.get(node.pk)),
                        articles=total(node),
                        manageable=category_manageable(viewer, node),
                    )
                )
            walk(node.pk, depth + 1 if shown else depth)

    walk(None, 0)
    return rows


def subject_choices(viewer, *, include: Category | None = None) -> list[tuple[str, str]]:
    """Active subject nodes this person may file articles under, as (pk, path) pairs;
    ``include``: a node kept even if inactive (an article's current subject)."""
    rows = tree(viewer, Dimension.SUBJECT)
    names = path_names(Dimension.SUBJECT)
    return [
        (str(r.node.pk), names[r.node.pk])
        for r in rows
        if r.node.is_active or (include is not None and r.node.pk == include.pk)
    ]


def form_choices() -> list[tuple[str, str]]:
    return [(str(n.pk), n.name) for n in _nodes(Dimension.FORM) if n.is_active]


def category_by_code(dimension: str, code: str) -> Category | None:
    return Category.objects.filter(dimension=dimension, code=code).first()


def form_by_name_or_code(value: str) -> Category | None:
    value = (value or "").strip()
    return (
        Category.objects.filter(dimension=Dimension.FORM)
        .filter(Q(name=value) | Q(code=value))
        .first()
    )


# --- which articles ---------------------------------------------------------------------------


def articles_for(viewer) -> QuerySet:
    """The articles an editor or reviewer may work on (any state)."""
    queryset = Article.objects.select_related("subject", "form", "platform", "subject__owner_unit")
    if viewer is None:
        return queryset
    if not any(viewer.can(p) for p in EDITOR_PERMISSIONS):
        return queryset.none()
    scope = scope_of(viewer)
    if scope.unit_id is not None:
        return queryset.filter(subject__owner_unit_id=scope.unit_id)
    return queryset.filter(platform_id__in=scope.platform_ids)


def article_in_scope(viewer, article: Article) -> bool:
    if viewer is None:
        return True
    if not any(viewer.can(p) for p in EDITOR_PERMISSIONS):
        return False
    scope = scope_of(viewer)
    if scope.unit_id is not None:
        return article.subject.owner_unit_id == scope.unit_id
    return article.platform_id in scope.platform_ids


def article_for(viewer, pk) -> Article:
    """One article an editor may work on, else NotFound."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound("知识不存在或不在您的管辖范围内") from None
    article = articles_for(viewer).filter(pk=pk).first()
    if article is None:
        raise NotFound("知识不存在或不在您的管辖范围内")
    return article


def reading_platform_ids(viewer) -> set[int]:
    """Platforms whose knowledge this person reads: their own, those above it, and (for
    platform roles) those below it."""
    ids = {int(p) for p in (viewer.platform.path or "").strip("/").split("/") if p}
    ids.add(viewer.platform_id)
    return ids | set(scope_of(viewer).platform_ids)


def published_for_agents(viewer, *, today: dt.date | None = None) -> QuerySet:
    """What agents may find (坐席可检索的知识): published, not expired (失效日期 before
    today hides it), on a platform this person reads. The search engine narrows this."""
    queryset = Article.objects.select_related("subject", "form")
    if viewer is None or not viewer.is_active or not viewer.can("kb.view"):
        return queryset.none()
    today = today or timezone.localdate()
    return queryset.filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today),
        state=ArticleState.PUBLISHED,
        platform_id__in=reading_platform_ids(viewer),
    )


def article_readable(viewer, article: Article) -> bool:
    """May this person open the article: an editor in scope (any state), or anyone with
    kb.view when agents may find it."""
    if article_in_scope(viewer, article):
        return True
    return published_for_agents(viewer).filter(pk=article.pk).exists()


# --- the editors' list --------------------------------------------------------------------------


@dataclass
class ArticleFilter:
    state: str = ""
    subject: int | None = None  # a node: its whole subtree
    form: int | None = None
    expired: str = ""  # "yes" | "no" | ""
    q: str = ""
    sort: str = "updated"


SORTS = {
    "updated": ("-updated_at", "-pk"),
    "title": ("title", "pk"),
    "clicks": ("-clicks", "-pk"),
    "expires": (F("expires_on").asc(nulls_last=True), "pk"),  # the soonest to expire first
}


def articles_filtered(viewer, spec: ArticleFilter, *, today: dt.date | None = None) -> QuerySet:
    today = today or timezone.localdate()
    queryset = articles_for(viewer)
    if spec.state:
        queryset = queryset.filter(state=spec.state)
    if spec.subject:
        node = Category.objects.filter(pk=spec.subject, dimension=Dimension.SUBJECT).first()
        queryset = queryset.filter(subject_id__in=subtree_ids(node)) if node else queryset.none()
    if spec.form:
        queryset = queryset.filter(form_id=spec.form)
    if spec.expired == "yes":
        queryset = queryset.filter(expires_on__lt=today)
    elif spec.expired == "no":
        queryset = queryset.filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
    for word in spec.q.split():
        queryset = queryset.filter(
            Q(title__icontains=word) | Q(keywords__icontains=word) | Q(body_text__icontains=word)
        )
    return queryset.order_by(*SORTS.get(spec.sort, SORTS["updated"]))


def review_queue(viewer) -> QuerySet:
    """待审核: submitted articles in scope, the longest waiting first."""
    if viewer is not None and not viewer.can("kb.review"):
        return Article.objects.none()
    return articles_for(viewer).filter(state=ArticleState.PENDING).order_by("updated_at", "pk")


def state_counts(viewer) -> dict[str, int]:
    counts = dict(articles_for(viewer).values_list("state").annotate(n=Count("pk")))
    return {state.value: counts.get(state.value, 0) for state in ArticleState}


def expired_count(viewer, *, today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    return articles_for(viewer).filter(expires_on__lt=today).count()


# --- versions and differences ------------------------------------------------------------------


def versions(article: Article) -> list[ArticleVersion]:
    return list(article.versions.select_related("saved_by", "subject", "form"))


def version_of(article: Article, number) -> ArticleVersion:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise NotFound("版本不存在") from None
    version = article.versions.select_related("subject", "form").filter(number=number).first()
    if version is None:
        raise NotFound(f"第 {number} 版不存在")
    return version


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class DiffRow:
    kind: str  # equal | replace | delete | insert
    old: SafeString
    new: SafeString
    old_no: int | None
    new_no: int | None


@dataclass
class VersionDiff:
    old: ArticleVersion
    new: ArticleVersion
    fields: list[FieldChange] = field(default_factory=list)
    rows: list[DiffRow] = field(default_factory=list)
    added: int = 0
    removed: int = 0

    @property
    def same(self) -> bool:
        return not self.fields and not self.added and not self.removed


def _field_values(version: ArticleVersion) -> dict[str, str]:
    return {
        "标题": version.title,
        "主题分类": version.subject.path_name,
        "知识形式": version.form.name if version.form_id else "",
        "关键词": "、".join(k.strip() for k in version.keywords.split(",") if k.strip()),
        "生效日期": version.effective_from.isoformat() if version.effective_from else "",
        "失效日期": version.expires_on.isoformat() if version.expires_on else "",
    }


def _marked(a: str, b: str) -> tuple[SafeString, SafeString]:
    """Two versions of a line, the changed characters in <del>/<ins> (Chinese has no
    spaces, so the comparison is by character)."""
    old, new = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            old.append(escape(a[i1:i2]))
            new.append(escape(b[j1:j2]))
            continue
        if i2 > i1:
            old.append(f"<del>{escape(a[i1:i2])}</del>")
        if j2 > j1:
            new.append(f"<ins>{escape(b[j1:j2])}</ins>")
    return mark_safe("".join(old)), mark_safe("".join(new))


def version_diff(old: ArticleVersion, new: ArticleVersion) -> VersionDiff:
    """差异: the changed fields, and the body side by side, line by line (a line is a
    paragraph, list item or table row), with the changed characters marked."""
    result = VersionDiff(old=old, new=new)
    before, after = _field_values(old), _field_values(new)
    result.fields = [
        FieldChange(label, before[label], after[label])
        for label in before
        if before[label] != after[label]
    ]
    a = html_to_text(old.body).split("\n")
    b = html_to_text(new.body).split("\n")
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                text = escape(a[i1 + k])
                result.rows.append(DiffRow("equal", text, text, i1 + k + 1, j1 + k + 1))
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(paired):
            left, right = _marked(a[i1 + k], b[j1 + k])
            result.rows.append(DiffRow("replace", left, right, i1 + k + 1, j1 + k + 1))
        for k in range(i1 + paired, i2):
            result.rows.append(
                DiffRow("delete", mark_safe(f"<del>{escape(a[k])}</del>"), "", k + 1, None)
            )
        for k in range(j1 + paired, j2):
            result.rows.append(
                DiffRow("insert", "", mark_safe(f"<ins>{escape(b[k])}</ins>"), None, k + 1)
            )
        result.removed += i2 - i1
        result.added += j2 - j1
    return result


def article_history(article: Article, limit: int = 50) -> list[AuditEntry]:
    """The audited acts on one article (saves, moves, attachments), newest first."""
    return list(
        AuditEntry.objects.filter(object_type="knowledge.article", object_id=str(article.pk))
        .select_related("actor")
        .order_by("-at", "-pk")[:limit]
    )


# --- workbooks ----------------------------------------------------------------------------------

IMPORT_HEADERS = ["标题", "主题分类编码", "知识形式", "关键词", "正文", "生效日期", "失效日期"]
IMPORT_WIDTHS = [36, 14, 12, 28, 80, 14, 14]


def import_template(viewer) -> bytes:
    """批量导入模板: the header row, one example row, and a second sheet listing the subject
    codes and forms this person may use."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    subjects = [r for r in tree(viewer, Dimension.SUBJECT) if r.node.is_active]
    names = path_names(Dimension.SUBJECT)
    example_code = next((r.node.code for r in subjects if not r.has_children), "0101")
    forms = [name for _, name in form_choices()]
    example = [
        "示例：退休后养老金多久能到账？（导入前请删除本行）",
        example_code,
        forms[0] if forms else "常见问答",
        "养老金，退休，到账",
        "第一段正文。\n第二段正文：每行一段；也可填写带 <p> 等标签的 HTML。",
        "2026-01-01",
        "",
    ]
    raw = styled_workbook("知识导入", IMPORT_HEADERS, [example], IMPORT_WIDTHS)
    workbook = load_workbook(io.BytesIO(raw))
    guide = workbook.create_sheet("填写说明")
    guide.append(["说明"])
    for line in (
        "每行一条知识；标题、主题分类编码、正文必填。",
        "主题分类编码：见下表，可填任一级节点的编码。",
        "知识形式：填写下表中的名称（如“办事指南”），可留空。",
        "关键词：多个关键词用逗号、顿号或空格分隔。",
        "日期格式：YYYY-MM-DD；失效日期须晚于生效日期，可留空。",
        "有错误的行不会导入，其余行照常导入；页面会逐行列出错误原因。",
    ):
        guide.append([line])
    guide.append([])
    guide.append(["主题分类编码", "主题分类", "维护单位"])
    for row in subjects:
        owner = row.node.owner_unit.name if row.node.owner_unit_id else ""
        guide.append([row.node.code, names[row.node.pk], owner])
    guide.append([])
    guide.append(["知识形式"])
    for name in forms:
        guide.append([name])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    guide.column_dimensions["A"].width = 16
    guide.column_dimensions["B"].width = 40
    guide.column_dimensions["C"].width = 24
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


EXPORT_HEADERS = [
    "编号", "标题", "主题分类", "维护单位", "知识形式", "关键词", "状态", "版本",
    "生效日期", "失效日期", "是否失效", "点击量", "修改时间", "正文",
]  # fmt: skip
EXPORT_WIDTHS = [8, 36, 28, 18, 10, 24, 8, 6, 12, 12, 8, 8, 18, 80]
MAX_EXPORT = 10_000


def export_workbook(queryset, *, today: dt.date | None = None) -> bytes:
    today = today or timezone.localdate()
    names = path_names(Dimension.SUBJECT)

    def rows():
        for a in queryset.select_related("subject__owner_unit", "form")[:MAX_EXPORT]:
            yield [
                a.pk,
                a.title,
                names.get(a.subject_id, ""),
                a.subject.owner_unit.name if a.subject.owner_unit_id else "",
                a.form.name if a.form_id else "",
                "、".join(a.keyword_list),
                ARTICLE_STATE_LABELS[ArticleState(a.state)],
                a.version,
                a.effective_from,
                a.expires_on,
                "已失效" if a.is_expired(today) else "",
                a.clicks,
                timezone.localtime(a.updated_at).strftime("%Y-%m-%d %H:%M"),
                a.body_text,
            ]

    return styled_workbook("知识列表", EXPORT_HEADERS, rows(), EXPORT_WIDTHS)
