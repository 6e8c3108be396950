"""自动分派: which handling unit an order should go to, by the platform's rules.

:func:`match` is the matcher: rules are tried by priority (then pk); the first active rule
whose every set condition holds wins. A rule with no condition at all never matches (and
the service refuses to save one). :func:`explain` gives, for each rule, which conditions
held, for the rules page's test console. Both only read the objects they are given.

Conditions:

* 诉求类型 — equal;
* 诉求分类 — the order's category is the rule's category or lies below it;
* 关键词 — separated by spaces or commas; any one appearing in the title or the content
  (a substring test: Chinese has no spaces between words);
* 区域 — the rule's area appears in the order's area (``吉阳区`` matches ``吉阳区迎宾路``).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet

from hotline.core.scope import scope_of

from .lifecycle import State
from .models import Category, DispatchRule, OrderType, WorkOrder

KEYWORD_SEPARATORS = re.compile(r"[\s,，、;；]+")
TYPE_LABELS = dict(OrderType.choices)


def keywords_of(text: str) -> list[str]:
    """The keywords of a rule, in order, without blanks or repeats."""
    seen: list[str] = []
    for word in KEYWORD_SEPARATORS.split(text or ""):
        if word and word not in seen:
            seen.append(word)
    return seen


def normalise_keywords(text: str) -> str:
    return " ".join(keywords_of(text))


def has_conditions(rule) -> bool:
    return bool(
        rule.order_type
        or rule.category_id
        or keywords_of(rule.keywords)
        or (rule.area or "").strip()
    )


def _lineage(category: Category | None) -> set[int]:
    """The category and all its ancestors (walking ``parent``)."""
    ids: set[int] = set()
    node = category
    while node is not None and node.pk not in ids:
        ids.add(node.pk)
        node = node.parent
    return ids


@dataclass(frozen=True)
class Check:
    """One condition of a rule and whether it held for the order."""

    label: str  # 诉求类型 / 诉求分类 / 关键词 / 区域
    wanted: str  # what the rule asks for, in Chinese
    held: bool
    found: str = ""  # e.g. the keyword that matched


@dataclass
class Verdict:
    rule: DispatchRule
    checks: list[Check] = field(default_factory=list)
    skipped: str = ""  # why the rule was not tried at all (停用 / 无条件)
    first: bool = False  # the rule that wins

    @property
    def matched(self) -> bool:
        return not self.skipped and all(c.held for c in self.checks)


def _checks(rule, *, order_type, lineage, text, area) -> list[Check]:
    checks = []
    if rule.order_type:
        checks.append(
            Check(
                "诉求类型",
                TYPE_LABELS.get(rule.order_type, rule.order_type),
                rule.order_type == order_type,
            )
        )
    if rule.category_id:
        wanted = rule.category.path_name if rule.category else str(rule.category_id)
        checks.append(Check("诉求分类", f"{wanted}（含下级）", rule.category_id in lineage))
    words = keywords_of(rule.keywords)
    if words:
        hit = next((w for w in words if w in text), "")
        checks.append(Check("关键词", "、".join(words), bool(hit), hit))
    rule_area = (rule.area or "").strip()
    if rule_area:
        checks.append(Check("区域", rule_area, bool(area) and rule_area in area))
    return checks


def _ordered(rules: Iterable) -> list:
    return sorted(rules, key=lambda r: (r.priority, r.pk or 0))


def explain(
    rules: Iterable,
    *,
    order_type: str = "",
    category: Category | None = None,
    title: str = "",
    content: str = "",
    area: str = "",
) -> list[Verdict]:
    """Every rule in matching order, with each condition's outcome; the winner (if any)
    has ``first=True``."""
    lineage = _lineage(category)
    text = f"{title or ''}\n{content or ''}"
    area = (area or "").strip()
    verdicts, won = [], False
    for rule in _ordered(rules):
        verdict = Verdict(
            rule,
            _checks(rule, order_type=order_type or "", lineage=lineage, text=text, area=area),
        )
        if not rule.is_active:
            verdict.skipped = "已停用"
        elif not verdict.checks:
            verdict.skipped = "未设置任何条件"
        if verdict.matched and not won:
            verdict.first = won = True
        verdicts.append(verdict)
    return verdicts


def match(
    rules: Iterable,
    *,
    order_type: str = "",
    category: Category | None = None,
    title: str = "",
    content: str = "",
    area: str = "",
):
    """The first rule (by priority, then pk) that is active, has a condition and whose
    every condition holds; else None."""
    for verdict in explain(
        rules, order_type=order_type, category=category, title=title, content=content, area=area
    ):
        if verdict.first:
            return verdict.rule
    return None


def describe(rule) -> list[str]:
    """The rule's conditions in Chinese, for the list page."""
    parts = []
    if rule.order_type:
        parts.append(f"类型为“{TYPE_LABELS.get(rule.order_type, rule.order_type)}”")
    if rule.category_id:
        parts.append(f"分类属于“{rule.category.path_name}”")
    words = keywords_of(rule.keywords)
    if words:
        parts.append(f"标题或内容含“{'、'.join(words)}”之一")
    if (rule.area or "").strip():
        parts.append(f"区域含“{rule.area.strip()}”")
    return parts


# --- reads ---------------------------------------------------------------------------------


def rules_of(platform) -> QuerySet[DispatchRule]:
    """A platform's rules in matching order (categories and units joined)."""
    return DispatchRule.objects.filter(platform=platform).select_related(
        "category", "category__parent", "category__parent__parent", "unit", "platform"
    )


def suggestion_for(order: WorkOrder) -> DispatchRule | None:
    """The rule that matches an order waiting for dispatch (shown to the dispatcher)."""
    if order.state != State.SUBMITTED or order.direct:
        return None
    rules = rules_of(order.platform_id).filter(is_active=True, unit__is_active=True)
    return match(
        rules,
        order_type=order.order_type,
        category=order.category,
        title=order.title,
        content=order.content,
        area=order.area,
    )


# --- demo ----------------------------------------------------------------------------------

# (priority, name, conditions, unit code, direct)
DEMO_RULES = [
    (10, "救援类诉求直派公安", {"order_type": "rescue"}, "GAJ", True),
    (20, "停水水压问题", {"keywords": "停水 水压 没水 爆管"}, "SWJT", True),
    (30, "停电供电问题", {"keywords": "停电 断电 跳闸 电压不稳"}, "GDJ", True),
    (40, "燃气问题", {"category": "0403", "keywords": "燃气 煤气 天然气"}, "RQ", False),
    (50, "住房公积金", {"keywords": "公积金"}, "GJJ", False),
    (60, "社保卡与养老金", {"keywords": "社保卡 养老金 社保"}, "RSJ", False),
    (70, "海鲜排档宰客", {"keywords": "海鲜 宰客 排档"}, "SCJGJ", False),
    (80, "旅游投诉", {"category": "0701", "order_type": "complaint"}, "LWJ", False),
    (90, "占道经营", {"keywords": "占道经营 流动摊贩 占道"}, "ZHZFJ", False),
    (100, "崖州区噪音扰民", {"category": "0802", "area": "崖州"}, "YZQ", False),
]


def demo_rules(context: dict) -> None:
    """Demo loader (``DEMO_EXTENSIONS``): the SY platform's auto-dispatch rules."""
    from . import services

    platform = context["platforms"].get("SY")
    if platform is None:
        return
    units = context["units"]
    made = 0
    for priority, name, conditions, unit_code, direct in DEMO_RULES:
        unit = units.get(unit_code)
        if unit is None:
            continue
        category = None
        if "category" in conditions:
            category = Category.objects.filter(code=conditions["category"]).first()
            if category is None:
                continue
        services.dispatch_rule_save(
            actor=None,
            platform=platform,
            priority=priority,
            name=name,
            order_type=conditions.get("order_type", ""),
            category=category,
            keywords=conditions.get("keywords", ""),
            area=conditions.get("area", ""),
            unit=unit,
            direct=direct,
            is_active=True,
        )
        made += 1
    context.setdefault("created", {})["dispatch_rules"] = made


def rules_visible(viewer) -> QuerySet[DispatchRule]:
    """The rules of the platforms in the viewer's scope (none for unit staff)."""
    scope = scope_of(viewer)
    if scope.unit_id is not None:
        return DispatchRule.objects.none()
    return (
        DispatchRule.objects.filter(platform__in=scope.platform_ids)
        .select_related(
            "category", "category__parent", "category__parent__parent", "unit", "platform"
        )
        .order_by("platform__path", "priority", "pk")
    )
