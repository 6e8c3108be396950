"""Work-order API — the contract of issue #3:

    POST /api/workorders                               → 201 {number, status, …}
    GET  /api/workorders?q=&status=&unit=&overdue=&limit=&offset=  → {total, items}
    GET  /api/workorders/{number}                      → the order with its timeline
    POST /api/workorders/{number}/actions/{action}     → the order after the verb

A verb not allowed in the current state → 409; a missing or bad field → 422; an order
outside the caller's scope → 404. All in Chinese.
"""

import datetime as dt

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from hotline.core.errors import Unprocessable
from hotline.core.models import HandlingUnit, Platform
from hotline.core.scope import scope_of

from . import selectors, services
from .lifecycle import ACTIONS, STATE_LABELS, State
from .models import Category, Channel, Urgency

router = Router(tags=["工单"])


class OrderIn(Schema):
    type: str = Field(
        ...,
        description="consult 咨询 | help 求助 | complaint 投诉 | report 举报 | "
        "suggestion 建议 | praise 表扬 | rescue 救援",
    )
    title: str = Field(..., max_length=100)
    content: str = Field(..., max_length=5000)
    caller_name: str = Field("", max_length=50)
    caller_phone: str = Field("", max_length=20)
    category: str | None = Field(None, description="诉求分类编码（末级）")
    urgency: str = "normal"
    channel: str = "phone"
    area: str = Field("", max_length=50)
    address: str = Field("", max_length=200)
    confidential: bool = False
    session_ref: str = Field("", max_length=40)
    direct: bool = False
    answer: str = Field("", max_length=5000)
    platform: str | None = Field(None, description="平台代码；默认为受理人所属平台")


class ActionIn(Schema):
    unit: int | None = Field(None, description="承办单位 id（派单、改派；审核时指定分支）")
    co_units: list[int] = Field(default_factory=list, description="协办单位 id")
    reason: str = Field("", max_length=500)
    content: str = Field("", max_length=5000)
    note: str = Field("", max_length=500)
    approved: bool | None = None
    days: int | None = None
    satisfaction: str = ""
    into: str = Field(
        "", max_length=30, description="主工单编号（并单：本单作为重复件并入该在办工单）"
    )


class TimelineItem(Schema):
    event: str
    event_label: str
    actor: str
    unit: str | None
    at: dt.datetime
    from_state: str
    to_state: str
    data: dict


class BranchOut(Schema):
    unit_id: int
    unit: str
    lead: bool
    state: str
    sign_due: dt.datetime | None
    signed_at: dt.datetime | None
    handle_due: dt.datetime | None
    replied_at: dt.datetime | None
    reply: str
    return_reason: str
    extension_days: int | None


class MergedOut(Schema):
    """A duplicate closed into this order (并入的工单)."""

    number: str
    caller_name: str
    caller_phone: str
    created_at: dt.datetime
    merged_at: dt.datetime | None


class OrderSummary(Schema):
    number: str
    status: str
    status_label: str
    type: str
    title: str
    urgency: str
    channel: str
    unit: str | None
    unit_id: int | None
    deadline: dt.datetime | None
    overdue: bool
    created_at: dt.datetime


class OrderOut(OrderSummary):
    content: str
    category: str | None
    caller_name: str
    caller_phone: str
    confidential: bool
    area: str
    address: str
    direct: bool
    answer: str
    satisfaction: str
    urge_count: int
    supervise_count: int
    reopen_count: int
    escalated: bool
    merged_into: str | None = Field(None, description="已并单时：主工单编号")
    merged_orders: list[MergedOut] = Field(default_factory=list, description="并入本单的重复工单")
    branches: list[BranchOut]
    timeline: list[TimelineItem]


class OrderPage(Schema):
    total: int = Field(
        ...,
        description=f"符合条件的工单数；超过 {selectors.COUNT_CAP} 件时为 {selectors.COUNT_CAP}",
    )
    total_capped: bool = Field(
        False, description=f"为 true 时实际数量超过 {selectors.COUNT_CAP} 件（total 封顶）"
    )
    items: list[OrderSummary]


DEADLINE_OF_STATE = {
    State.SUBMITTED: "dispatch_due",
    State.DISPATCHED: "handle_due",
    State.HANDLING: "handle_due",
    State.RETURN_PENDING: "handle_due",
    State.REPLIED: "review_due",
    State.CALLBACK_PENDING: "callback_due",
}


def _summary(order, now: dt.datetime) -> dict:
    field_name = DEADLINE_OF_STATE.get(State(order.state))
    deadline = getattr(order, field_name) if field_name else None
    return {
        "number": order.number,
        "status": order.state,
        "status_label": STATE_LABELS[State(order.state)],
        "type": order.order_type,
        "title": order.title,
        "urgency": order.urgency,
        "channel": order.channel,
        "unit": order.lead_unit.name if order.lead_unit else None,
        "unit_id": order.lead_unit_id,
        "deadline": deadline,
        "overdue": bool(deadline and deadline < now),
        "created_at": order.created_at,
    }


EVENT_LABELS = {
    "create": "受理",
    "auto_archive": "自动归档",
    "absorb": "并入工单",  # on the master: a duplicate was merged into it
    "fax_reply": "传真答复",  # hotline.contact.connectors.fax
    "fax_report": "传真回执",
    "phone_call": "电话外呼",  # hotline.telephony: a call placed from the order
    **{code: a.label for code, a in ACTIONS.items()},
}


def _detail(request, order) -> dict:
    caller = selectors.caller_of(request.user, order)
    return {
        **_summary(order, timezone.now()),
        "content": order.content,
        "category": order.category.path_name if order.category else None,
        "caller_name": caller["name"],
        "caller_phone": caller["phone"],
        "confidential": order.confidential,
        "area": order.area,
        "address": order.address,
        "direct": order.direct,
        "answer": order.answer,
        "satisfaction": order.satisfaction,
        "urge_count": order.urge_count,
        "supervise_count": order.supervise_count,
        "reopen_count": order.reopen_count,
        "escalated": order.escalated,
        "merged_into": order.merged_into.number if order.merged_into_id else None,
        "merged_orders": [
            {
                "number": m["number"],
                "caller_name": m["caller"]["name"],
                "caller_phone": m["caller"]["phone"],
                "created_at": m["created_at"],
                "merged_at": m["merged_at"],
            }
            for m in selectors.merged_orders(request.user, order)
        ],
        "branches": [
            {
                "unit_id": b.unit_id,
                "unit": b.unit.name,
                "lead": b.lead,
                "state": b.state,
                "sign_due": b.sign_due,
                "signed_at": b.signed_at,
                "handle_due": b.handle_due,
                "replied_at": b.replied_at,
                "reply": b.reply,
                "return_reason": b.return_reason,
                "extension_days": b.extension_days,
            }
            for b in selectors.branches(order)
        ],
        "timeline": [
            {
                "event": e.action,
                "event_label": EVENT_LABELS.get(e.action, e.action),
                "actor": e.actor_name,
                "unit": e.unit.name if e.unit else None,
                "at": e.at,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "data": e.data,
            }
            for e in selectors.timeline(order)
        ],
    }


@router.post("/workorders", response={201: OrderOut}, summary="受理登记工单")
def order_create(request, payload: OrderIn):
    user = request.user
    if payload.platform:
        platform = Platform.objects.filter(code=payload.platform.upper()).first()
        if platform is None or not scope_of(user).covers_platform(platform.pk):
            raise Unprocessable("平台代码不正确", field="platform")
    else:
        platform = user.platform
    category = None
    if payload.category:
        category = Category.objects.filter(code=payload.category).first()
        if category is None:
            raise Unprocessable(f"诉求分类不存在：{payload.category}", field="category")
    order = services.order_create(
        actor=user,
        platform=platform,
        order_type=payload.type,
        title=payload.title,
        content=payload.content,
        caller_name=payload.caller_name,
        caller_phone=payload.caller_phone,
        category=category,
        urgency=payload.urgency,
        channel=payload.channel,
        area=payload.area,
        address=payload.address,
        confidential=payload.confidential,
        session_ref=payload.session_ref,
        direct=payload.direct,
        answer=payload.answer,
    )
    return Status(201, _detail(request, order))


@router.get("/workorders", response=OrderPage, summary="工单查询")
def order_list(
    request,
    q: str = "",
    status: str = "",
    unit: int | None = None,
    overdue: bool | None = None,
    type: str = "",
    caller_phone: str = "",
    category: int | None = None,
    area: str = "",
    channel: str = "",
    urgency: str = "",
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
    sort: str = "newest",
    limit: int = Query(50, ge=1, le=selectors.MAX_PAGE),
    offset: int = Query(0, ge=0),
):
    if status and status != "open" and status not in State.__members__.values():
        raise Unprocessable(f"状态取值不正确：{status}", field="status")
    for name, value, choices, label in (
        ("channel", channel, Channel.values, "来源渠道"),
        ("urgency", urgency, Urgency.values, "紧急程度"),
        ("sort", sort, list(selectors.SORTS), "排序方式"),
    ):
        if value and value not in choices:
            raise Unprocessable(f"{label}取值不正确：{value}", field=name)
    if created_from and created_to and created_from > created_to:
        raise Unprocessable("结束日期不能早于开始日期", field="created_to")
    queryset = selectors.orders_filtered(
        request.user,
        selectors.OrderFilter(
            q=q,
            status=status,
            unit=unit,
            overdue=overdue,
            order_type=type,
            caller_phone=caller_phone,
            category=category,
            area=area,
            channel=channel,
            urgency=urgency,
            created_from=created_from,
            created_to=created_to,
            sort=sort,
        ),
    )
    now = timezone.now()
    items = [_summary(o, now) for o in queryset[offset : offset + limit]]
    if len(items) < limit and (items or offset == 0):
        total, capped = offset + len(items), False  # the last page: no count needed
    else:
        total, capped = selectors.orders_count(queryset)
    return {"total": total, "total_capped": capped, "items": items}


@router.get("/workorders/{number}", response=OrderOut, summary="工单详情与流转记录")
def order_detail(request, number: str):
    return _detail(request, selectors.order_get(request.user, number))


@router.post(
    "/workorders/{number}/actions/{action}",
    response=OrderOut,
    summary="工单操作：dispatch, sign, return, review-return, request-extension, "
    "review-extension, reply, review-reply, callback, urge, supervise, "
    "escalate, redispatch, reopen, close, cancel, archive, merge",
    description='动作所需字段见请求体各字段说明。并单（merge）：`{"into": "主工单编号"}`，'
    "本单须为待派单或在承办单位（未答复），主工单须在您的范围内且未办结；"
    "主工单不存在 → 404，主工单已办结、已销单或已并单 → 409，并入自身或他平台工单 → 422。",
)
def order_action(request, number: str, action: str, payload: ActionIn | None = None):
    order = selectors.order_get(request.user, number)
    given = payload.dict() if payload is not None else {}
    fields = {k: v for k, v in given.items() if v not in (None, "", [])}
    if "unit" in fields:
        fields["unit"] = _unit(fields["unit"], "unit")
    if "co_units" in fields:
        fields["co_units"] = [_unit(pk, "co_units") for pk in fields["co_units"]]
    order = services.perform(actor=request.user, order=order, action=action, **fields)
    return _detail(request, order)


def _unit(pk: int, field_name: str) -> HandlingUnit:
    unit = HandlingUnit.objects.select_related("platform").filter(pk=pk).first()
    if unit is None:
        raise Unprocessable(f"承办单位不存在：{pk}", field=field_name)
    return unit
