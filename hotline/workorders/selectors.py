"""Reads of work orders, within the viewer's data scope: unit staff see the orders their
unit holds (or held) a branch of; everyone else the orders of their platform and below.
Confidential orders (保密件) show the caller only to holders of the permission."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from hotline.core.errors import Forbidden, NotFound
from hotline.core.masking import mask_phone
from hotline.core.models import User
from hotline.core.scope import scope_of

from .lifecycle import OPEN_STATES, WITH_UNIT_STATES
from .models import Category, Event, WorkOrder

MAX_PAGE = 500


def orders_visible(viewer: User) -> QuerySet[WorkOrder]:
    if not viewer.can("workorders.view"):
        raise Forbidden("您没有查看工单的权限")
    scope = scope_of(viewer)
    queryset = WorkOrder.objects.select_related("platform", "category", "lead_unit")
    if scope.unit_id is not None:
        return queryset.filter(
            pk__in=WorkOrder.objects.filter(assignments__unit=scope.unit_id).values("pk")
        )
    return queryset.filter(platform__in=scope.platform_ids)


def order_get(viewer: User, number: str) -> WorkOrder:
    order = orders_visible(viewer).filter(number=number).first()
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


@dataclass(frozen=True)
class OrderFilter:
    q: str = ""
    status: str = ""
    unit: int | None = None
    overdue: bool | None = None
    order_type: str = ""
    caller_phone: str = ""


def orders_filtered(viewer: User, filters: OrderFilter, *, now: dt.datetime | None = None):
    queryset = orders_visible(viewer)
    now = now or timezone.now()
    if filters.q:
        text = filters.q.strip()
        queryset = queryset.filter(
            Q(number=text)
            | Q(title__icontains=text)
            | Q(content__icontains=text)
            | Q(answer__icontains=text)
        )
    if filters.status == "open":
        queryset = queryset.filter(state__in=OPEN_STATES)
    elif filters.status:
        queryset = queryset.filter(state=filters.status)
    if filters.unit:
        queryset = queryset.filter(
            pk__in=WorkOrder.objects.filter(assignments__unit=filters.unit).values("pk")
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
    return queryset


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


def in_transit(viewer: User, *, phone: str = "", exclude: str = "") -> QuerySet[WorkOrder]:
    """Open orders of the same caller (在途工单), for the prompt at intake."""
    if not phone:
        return WorkOrder.objects.none()
    return (
        orders_visible(viewer)
        .filter(caller_phone=phone.strip(), state__in=OPEN_STATES)
        .exclude(number=exclude)
        .order_by("-created_at")
    )


def leaf_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True, children__isnull=True).select_related(
        "parent", "parent__parent"
    )
