"""Reads of work orders, within the viewer's data scope: unit staff see the orders their
unit holds (or held) a branch of; everyone else the orders of their platform and below.
Confidential orders (保密件) show the caller only to holders of the permission."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from hotline import search
from hotline.core.errors import Forbidden, NotFound
from hotline.core.masking import mask_phone
from hotline.core.models import User
from hotline.core.scope import scope_of

from .lifecycle import OPEN_STATES, WITH_UNIT_STATES
from .models import Assignment, Category, Event, WorkOrder

MAX_PAGE = 500
# Totals of lists and searches are counted up to here (总数封顶): an exact count of a
# unit's 80,000 orders or a common word's 100,000 hits costs more than the page itself.
COUNT_CAP = 10_000
# Without an n-gram index (SQLite) the substring fallback of a search scans the rows:
# only this recent a stretch of them.
SUBSTRING_SCAN_DAYS = 365


def orders_visible(viewer: User) -> QuerySet[WorkOrder]:
    if not viewer.can("workorders.view"):
        raise Forbidden("您没有查看工单的权限")
    scope = scope_of(viewer)
    queryset = WorkOrder.objects.select_related("platform", "category", "lead_unit")
    if scope.unit_id is not None:
        return queryset.filter(
            pk__in=Assignment.objects.filter(unit=scope.unit_id).values("order_id")
        )
    return queryset.filter(platform__in=scope.platform_ids)


def order_get(viewer: User, number: str) -> WorkOrder:
    order = (
        orders_visible(viewer)
        .select_related("category__parent__parent")  # the category's path is shown
        .filter(number=number)
        .first()
    )
    if order is None:
        raise NotFound("工单不存在")
    return order


def overdue_q(now: dt.datetime) -> Q:
    """Open orders past one of their running deadlines."""
    return (
        Q(state__in=WITH_UNIT_STATES, handle_due__lt=now)
        | Q(state="submitted", dispatch_due__lt=now)
        | Q(state="replied", review_due__lt=now)
        | Q(state="callback_pending", callback_due__lt=now)
    )


# Orderings of a list (排序), the first one the default.
SORTS = {
    "newest": ("受理时间（新→旧）", ("-created_at", "-pk")),
    "oldest": ("受理时间（旧→新）", ("created_at", "pk")),
    "handle_due": ("办理时限（先到期在前）", ("handle_due", "-created_at")),
    "urged": ("催办次数（多→少）", ("-urge_count", "-created_at")),
}


@dataclass(frozen=True)
class OrderFilter:
    q: str = ""
    status: str = ""
    unit: int | None = None
    overdue: bool | None = None
    order_type: str = ""
    caller_phone: str = ""
    category: int | None = None  # a node of the tree: its whole subtree
    area: str = ""
    channel: str = ""
    urgency: str = ""
    created_from: dt.date | None = None  # 受理日期, inclusive, Asia/Shanghai
    created_to: dt.date | None = None
    sort: str = "newest"


def orders_filtered(viewer: User, filters: OrderFilter, *, now: dt.datetime | None = None):
    queryset = orders_visible(viewer)
    now = now or timezone.now()
    if filters.q.strip():
        queryset = _searched(queryset, filters.q.strip())
    if filters.status == "open":
        queryset = queryset.filter(state__in=OPEN_STATES)
    elif filters.status:
        queryset = queryset.filter(state=filters.status)
    if filters.unit:
        queryset = queryset.filter(
            pk__in=Assignment.objects.filter(unit=filters.unit).values("order_id")
        )
    if filters.overdue is True:
        queryset = queryset.filter(overdue_q(now))
    elif filters.overdue is False:
        queryset = queryset.exclude(overdue_q(now))
    if filters.order_type:
        queryset = queryset.filter(order_type=filters.order_type)
    if filters.caller_phone:
        queryset = queryset.filter(caller_phone=filters.caller_phone.strip())
        if not _sees_confidential_callers(viewer):
            # finding a confidential order by its caller's number would reveal the caller
            queryset = queryset.filter(confidential=False)
    if filters.category:
        queryset = queryset.filter(category__in=category_subtree(filters.category))
    for name in ("area", "channel", "urgency"):
        if getattr(filters, name):
            queryset = queryset.filter(**{name: getattr(filters, name).strip()})
    if filters.created_from:
        queryset = queryset.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to:
        queryset = queryset.filter(
            created_at__lt=_day_start(filters.created_to + dt.timedelta(days=1))
        )
    return queryset.order_by(*SORTS.get(filters.sort, SORTS["newest"])[1])


def orders_count(queryset: QuerySet[WorkOrder], cap: int | None = None) -> tuple[int, bool]:
    """(total, capped): the number of orders, at most ``cap`` (COUNT_CAP); ``capped`` when
    there are more. Counts at most cap + 1 rows, in no order."""
    cap = COUNT_CAP if cap is None else cap
    found = queryset.order_by().values("pk")[: cap + 1].count()
    return min(found, cap), found > cap


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def category_subtree(category_id: int) -> list[int]:
    """The category and every category below it (the tree is small: walked in memory)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, todo = [], [category_id]
    while todo:
        node = todo.pop()
        found.append(node)
        todo.extend(children.get(node, []))
    return found


def category_choices() -> list[tuple[int, str]]:
    """Every active category, in tree order, indented by depth (for filter selects)."""
    nodes = list(Category.objects.filter(is_active=True).order_by("code"))
    by_parent: dict[int | None, list[Category]] = {}
    for node in nodes:
        by_parent.setdefault(node.parent_id, []).append(node)
    choices: list[tuple[int, str]] = []

    def walk(parent: int | None, depth: int) -> None:
        for node in by_parent.get(parent, []):
            choices.append((node.pk, "\u3000" * depth + node.name))
            walk(node.pk, depth + 1)

    walk(None, 0)
    return choices


def _searched(queryset: QuerySet[WorkOrder], text: str) -> QuerySet[WorkOrder]:
    """全文检索: an order number finds that order; otherwise the words of the query (or
    their synonyms) in title, content, answer or any reply. When the words find nothing
    the query is tried as a plain substring, which also catches what segmentation splits
    differently (交通 inside 交通局 is one word to jieba): through a trigram index on
    PostgreSQL; on SQLite a scan of the last SUBSTRING_SCAN_DAYS days. Whether the words
    find anything is asked of all orders, not the viewer's scope: a unit gets the
    platform's answer narrowed to its orders, and a word its orders lack is not turned
    into a substring scan of the whole table."""
    if WorkOrder.objects.filter(number=text).exists():
        return queryset.filter(number=text)
    found = search.matching(queryset, text)
    if found is not None and search.matching(WorkOrder.objects.all(), text).exists():
        return found
    found = search.containing(queryset, text)
    if found is not None:
        return found
    since = timezone.now() - dt.timedelta(days=SUBSTRING_SCAN_DAYS)
    return queryset.filter(created_at__gte=since).filter(
        Q(title__icontains=text) | Q(content__icontains=text) | Q(answer__icontains=text)
    )


def caller_visible(viewer: User, order: WorkOrder) -> bool:
    """May this viewer see who called? Not for units or anyone without the permission
    when the order is confidential (保密件, GB/T 33358)."""
    return not order.confidential or _sees_confidential_callers(viewer)


def _sees_confidential_callers(viewer: User) -> bool:
    return scope_of(viewer).unit_id is None and viewer.can("workorders.confidential")


def caller_of(viewer: User, order: WorkOrder) -> dict:
    if not caller_visible(viewer, order):
        return {"name": "（保密）", "phone": "（保密）"}
    return {"name": order.caller_name, "phone": mask_phone(order.caller_phone)}


def timeline(order: WorkOrder) -> QuerySet[Event]:
    return order.events.select_related("unit").order_by("at", "pk")


def branches(order: WorkOrder):
    return order.assignments.select_related("unit").order_by("-lead", "pk")


# Near-identical requests: open orders of the last 30 days sharing this share of words.
SIMILAR_WITHIN = dt.timedelta(days=30)
SIMILAR_SHARE = 0.5


def similar_open(viewer: User, text: str, *, exclude: str = "", limit: int = 5) -> list:
    """Open orders whose words nearly match ``text`` (重复诉求), most alike first, each
    with its ``similarity`` (shared words / all words of the two): the prompt at intake
    shows them beside the caller's own open orders."""
    words = set(search.index_text(text).split())
    if not words:
        return []
    recent = orders_visible(viewer).filter(
        state__in=OPEN_STATES, created_at__gte=timezone.now() - SIMILAR_WITHIN
    )
    candidates = search.matching(recent.exclude(number=exclude), text, any_word=True)
    if candidates is None:
        return []
    alike = []
    for order in candidates.order_by("-created_at")[:200]:
        theirs = set(order.search_text.split())
        order.similarity = len(words & theirs) / len(words | theirs)
        if order.similarity >= SIMILAR_SHARE:
            alike.append(order)
    alike.sort(key=lambda o: o.similarity, reverse=True)
    return alike[:limit]


def in_transit(viewer: User, *, phone: str = "", exclude: str = "") -> QuerySet[WorkOrder]:
    """Open orders of the same caller (在途工单), for the prompt at intake."""
    if not phone:
        return WorkOrder.objects.none()
    found = (
        orders_visible(viewer)
        .filter(caller_phone=phone.strip(), state__in=OPEN_STATES)
        .exclude(number=exclude)
        .order_by("-created_at")
    )
    if not _sees_confidential_callers(viewer):
        # listing a confidential order under the typed number would reveal its caller
        found = found.filter(confidential=False)
    return found


def leaf_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True, children__isnull=True).select_related(
        "parent", "parent__parent"
    )


# --- work queues: dispatch desk, unit portal, callback desk, home panels -----------------------
# (appended for hotline/workorders/views/desks.py and panels.py)


def _local_day_start(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def branches_visible(viewer: User):
    """Branches of the orders the viewer may see (unit staff: their own unit's only)."""
    from .models import Assignment

    queryset = Assignment.objects.select_related("order", "order__platform", "unit")
    scope = scope_of(viewer)
    if scope.unit_id is not None:
        return queryset.filter(unit=scope.unit_id, order__in=orders_visible(viewer))
    return queryset.filter(order__in=orders_visible(viewer))


def dispatch_queue(viewer: User) -> QuerySet[WorkOrder]:
    """待派单: oldest first."""
    return orders_visible(viewer).filter(state="submitted").order_by("created_at", "pk")


def returns_pending(viewer: User):
    """退单待审: branches (lead or co-unit) waiting for the platform's review."""
    return branches_visible(viewer).filter(state="return_pending").order_by("returned_at", "pk")


def extensions_pending(viewer: User):
    """延期待审: live branches with an extension request."""
    from .lifecycle import ACTIVE_BRANCH_STATES

    return (
        branches_visible(viewer)
        .filter(extension_days__isnull=False, state__in=ACTIVE_BRANCH_STATES)
        .order_by("handle_due", "pk")
    )


def replies_pending(viewer: User) -> QuerySet[WorkOrder]:
    """办结待审: replied orders, the earliest review deadline first, with their branches."""
    return (
        orders_visible(viewer)
        .filter(state="replied")
        .prefetch_related("assignments__unit")
        .order_by("review_due", "pk")
    )


def escalated_open(viewer: User) -> QuerySet[WorkOrder]:
    """主管处理: open orders sent to the supervisor."""
    return (
        orders_visible(viewer).filter(escalated=True, state__in=OPEN_STATES).order_by("created_at")
    )


def dispatch_counts(viewer: User) -> dict:
    return {
        "submitted": dispatch_queue(viewer).count(),
        "returns": returns_pending(viewer).count(),
        "extensions": extensions_pending(viewer).count(),
        "replied": replies_pending(viewer).count(),
        "escalated": escalated_open(viewer).count(),
    }


UNIT_TABS = ("pending", "signed", "soon", "overdue", "returned", "replied")


def unit_branches(viewer: User, tab: str, *, now: dt.datetime | None = None):
    """本单位工单: the viewer's own unit's branches in one tab of the portal. Anyone not
    attached to a unit sees nothing."""
    from .lifecycle import ACTIVE_BRANCH_STATES
    from .models import Assignment

    if tab not in UNIT_TABS:
        raise NotFound("未知的分类")
    unit_id = scope_of(viewer).unit_id
    if unit_id is None or unit_id < 0:
        return Assignment.objects.none()
    now = now or timezone.now()
    mine = Assignment.objects.select_related("order", "order__category", "unit").filter(
        unit=unit_id
    )
    live = ("pending_sign", "signed")
    if tab == "pending":
        return mine.filter(state="pending_sign").order_by("sign_due", "pk")
    if tab == "signed":
        return mine.filter(state="signed").order_by("handle_due", "pk")
    if tab == "soon":
        return mine.filter(
            state__in=live, handle_due__gte=now, handle_due__lt=now + dt.timedelta(hours=24)
        ).order_by("handle_due", "pk")
    if tab == "overdue":
        return mine.filter(state__in=ACTIVE_BRANCH_STATES, handle_due__lt=now).order_by(
            "handle_due", "pk"
        )
    if tab == "returned":
        return mine.filter(state="return_pending").order_by("-returned_at", "pk")
    return mine.filter(state="replied", replied_at__gte=now - dt.timedelta(days=30)).order_by(
        "-replied_at", "pk"
    )


def unit_counts(viewer: User, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    return {tab: unit_branches(viewer, tab, now=now).count() for tab in UNIT_TABS}


def callback_queue(viewer: User) -> QuerySet[WorkOrder]:
    """待回访: the earliest callback deadline (so the overdue ones) first."""
    return (
        orders_visible(viewer)
        .filter(state="callback_pending")
        .order_by("callback_due", "pk")
        .select_related("lead_unit")
    )


def unsatisfied_orders(viewer: User) -> QuerySet[WorkOrder]:
    """回访不满意: waiting for 复核重办 or 结案."""
    return (
        orders_visible(viewer)
        .filter(state="unsatisfied")
        .order_by("pk")
        .select_related("lead_unit")
    )


def callback_counts(viewer: User, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    queue = callback_queue(viewer)
    return {
        "pending": queue.count(),
        "overdue": queue.filter(callback_due__lt=now).count(),
        "unsatisfied": unsatisfied_orders(viewer).count(),
    }


def callbacks_done_today(viewer: User, *, now: dt.datetime | None = None) -> int:
    """今日已回访: callback events recorded by the viewer since local midnight."""
    now = now or timezone.now()
    return Event.objects.filter(
        action="callback", actor=viewer, at__gte=_local_day_start(now)
    ).count()


def my_orders_today(viewer: User, *, now: dt.datetime | None = None) -> QuerySet[WorkOrder]:
    """The orders the viewer registered today, newest first."""
    now = now or timezone.now()
    return (
        orders_visible(viewer)
        .filter(created_by=viewer, created_at__gte=_local_day_start(now))
        .order_by("-created_at", "-pk")
    )


# --- merged orders (并单) ------------------------------------------------------------------------


def merged_orders(viewer: User, order: WorkOrder) -> list[dict]:
    """并入的工单: the duplicates closed into ``order``, oldest merge first, each with its
    caller as this viewer may see them and whether the viewer may open it."""
    duplicates = list(order.merged_orders.order_by("closed_at", "pk"))
    if not duplicates:
        return []
    visible = set(
        orders_visible(viewer)
        .filter(pk__in=[d.pk for d in duplicates])
        .values_list("pk", flat=True)
    )
    return [
        {
            "number": d.number,
            "caller": caller_of(viewer, d),
            "created_at": d.created_at,
            "merged_at": d.closed_at,
            "visible": d.pk in visible,
        }
        for d in duplicates
    ]


def merge_candidates(viewer: User, order: WorkOrder, *, limit: int = 10) -> list[WorkOrder]:
    """Open orders of the same caller on the same platform that ``order`` might repeat
    (offered on its 并单 form). None when the viewer may not see who called: matching by
    the caller's number would reveal it."""
    if not order.caller_phone or not caller_visible(viewer, order):
        return []
    candidates = in_transit(viewer, phone=order.caller_phone, exclude=order.number).filter(
        platform=order.platform_id
    )
    return list(candidates[:limit])


# --- intake from a contact session (坐席工作台 → 生成工单) --------------------------------------

# The order channel a contact channel becomes.
SESSION_CHANNELS = {
    "voice": "phone",
    "webchat": "web",
    "wechat": "wechat",
    "sms": "sms",
    "email": "email",
    "weibo": "weibo",
    "fax": "fax",
}


def intake_from_session(viewer: User, session_id) -> dict:
    """The intake form's initial values from a contact session the viewer may open: its
    reference, the channel, the citizen's name and phone, the subject as the title, and
    what the citizen wrote as the content. NotFound for anyone else's session."""
    from hotline.contact.models import Message
    from hotline.contact.selectors import session_for
    from hotline.core.errors import NotFound

    try:
        session = session_for(viewer, int(session_id))
    except (TypeError, ValueError):
        raise NotFound("会话不存在") from None
    profile = session.citizen
    phones = [i.value for i in profile.identities.all() if i.kind == "phone"] if profile else []
    if session.channel in ("voice", "sms") and session.address:
        phones.insert(0, session.address)
    written = [
        m.body.strip()
        for m in session.messages.filter(
            direction=Message.Direction.INBOUND, kind=Message.Kind.TEXT
        ).order_by("at", "pk")
        if m.body.strip()
    ]
    return {
        "session_ref": session.ref,
        "channel": SESSION_CHANNELS.get(session.channel, "phone"),
        "caller_name": profile.name if profile else "",
        "caller_phone": phones[0] if phones else "",
        "title": session.subject[:100],
        "content": "\n".join(written)[:5000],
        "address": profile.address if profile else "",
    }
