"""The three work queues: 派单台 (dispatch desk), 本单位工单 (unit portal), 回访台
(callback desk), and the one POST endpoint their quick forms use.

Reads go through ``selectors``; every verb through ``services.perform`` (via
``pages.attempt``), so a refusal is a Chinese message on the desk with a 4xx status.
"""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from hotline.core import selectors as core_selectors
from hotline.core.errors import Conflict, NotFound, Unprocessable
from hotline.telephony import selectors as voice
from hotline.web import pages

from .. import selectors, services
from ..lifecycle import ACTIONS, SATISFACTION, SATISFIED

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(hours=24)


@dataclass
class Row:
    """One queue row: the order (and branch), its running deadline and how close it is."""

    order: object
    branch: object = None
    due: dt.datetime | None = None
    due_class: str = ""  # "desk-late" (past) | "desk-near" (within the warning window)
    caller: dict | None = None


def _due_class(due, now, window) -> str:
    if due is None:
        return ""
    if due < now:
        return "desk-late"
    if due < now + window:
        return "desk-near"
    return ""


def _tab(request, tabs, default):
    tab = request.GET.get("tab") or default
    if tab not in tabs:
        raise Http404("未知的分类")
    return tab


# --- 派单台 ----------------------------------------------------------------------------------

DISPATCH_TABS = {
    "submitted": "待派单",
    "returns": "退单待审",
    "extensions": "延期待审",
    "replied": "办结待审",
    "escalated": "主管处理",
}


@pages.requires("workorders.dispatch")
def dispatch_desk(request):
    return _dispatch_page(request, _tab(request, DISPATCH_TABS, "submitted"))


def _dispatch_page(request, tab, *, status=200):
    viewer, now = request.user, timezone.now()
    counts = selectors.dispatch_counts(viewer)
    if tab == "submitted":
        page = pages.page_of(request, selectors.dispatch_queue(viewer))
        rows = [
            Row(o, due=o.dispatch_due, due_class=_due_class(o.dispatch_due, now, HOUR))
            for o in page
        ]
    elif tab == "returns":
        page = pages.page_of(request, selectors.returns_pending(viewer))
        rows = [Row(b.order, b, due=b.handle_due) for b in page]
    elif tab == "extensions":
        page = pages.page_of(request, selectors.extensions_pending(viewer))
        rows = [
            Row(b.order, b, due=b.handle_due, due_class=_due_class(b.handle_due, now, DAY))
            for b in page
        ]
    elif tab == "replied":
        page = pages.page_of(request, selectors.replies_pending(viewer))
        rows = [
            Row(o, due=o.review_due, due_class=_due_class(o.review_due, now, HOUR)) for o in page
        ]
    else:
        page = pages.page_of(request, selectors.escalated_open(viewer))
        rows = [Row(o) for o in page]
    units = (
        list(core_selectors.units_visible(viewer).filter(is_active=True).order_by("code"))
        if tab == "submitted"
        else []
    )
    return render(
        request,
        "workorders/desks/dispatch.html",
        {
            "tab": tab,
            "tabs": [(code, label, counts[code]) for code, label in DISPATCH_TABS.items()],
            "page": page,
            "rows": rows,
            "units": units,
            "can_review": viewer.can("workorders.review"),
            "my_phone": voice.phone_of(viewer.pk),  # 电话外呼 rings it first
        },
        status=status,
    )


# --- 本单位工单 ------------------------------------------------------------------------------

UNIT_TABS = {
    "pending": "待签收",
    "signed": "办理中",
    "soon": "临期",
    "overdue": "逾期",
    "returned": "已退单",
    "replied": "已答复",
}


@pages.requires("workorders.handle")
def unit_portal(request):
    return _unit_page(request, _tab(request, UNIT_TABS, "pending"))


def _unit_page(request, tab, *, status=200):
    viewer, now = request.user, timezone.now()
    counts = selectors.unit_counts(viewer, now=now)
    page = pages.page_of(request, selectors.unit_branches(viewer, tab, now=now))
    rows = []
    for branch in page:
        if tab == "pending":
            due, window = branch.sign_due, HOUR
        else:
            due, window = branch.handle_due, DAY
        live = branch.state in ("pending_sign", "signed", "return_pending")
        rows.append(
            Row(
                branch.order,
                branch,
                due=due,
                due_class=_due_class(due, now, window) if live else "",
            )
        )
    unit = (
        core_selectors.units_visible(viewer).filter(pk=viewer.unit_id).first()
        if viewer.unit_id
        else None
    )
    return render(
        request,
        "workorders/desks/unit.html",
        {
            "tab": tab,
            "tabs": [(code, label, counts[code]) for code, label in UNIT_TABS.items()],
            "counts": counts,
            "page": page,
            "rows": rows,
            "unit": unit,
        },
        status=status,
    )


# --- 回访台 ----------------------------------------------------------------------------------

CALLBACK_TABS = {"pending": "待回访", "unsatisfied": "回访不满意"}


@pages.requires("workorders.callback")
def callback_desk(request):
    return _callback_page(request, _tab(request, CALLBACK_TABS, "pending"))


def _callback_page(request, tab, *, status=200):
    viewer, now = request.user, timezone.now()
    counts = selectors.callback_counts(viewer, now=now)
    if tab == "pending":
        page = pages.page_of(request, selectors.callback_queue(viewer), per_page=20)
        rows = [
            Row(
                o,
                due=o.callback_due,
                due_class=_due_class(o.callback_due, now, 4 * HOUR),
                caller=selectors.caller_of(viewer, o),
            )
            for o in page
        ]
    else:
        page = pages.page_of(request, selectors.unsatisfied_orders(viewer), per_page=20)
        rows = [Row(o, caller=selectors.caller_of(viewer, o)) for o in page]
    return render(
        request,
        "workorders/desks/callback.html",
        {
            "tab": tab,
            "tabs": [
                ("pending", "待回访", counts["pending"]),
                ("unsatisfied", "回访不满意", counts["unsatisfied"]),
            ],
            "counts": counts,
            "done_today": selectors.callbacks_done_today(viewer, now=now),
            "page": page,
            "rows": rows,
            "levels": [(level, level in SATISFIED) for level in SATISFACTION],
            "can_review": viewer.can("workorders.review"),
            "my_phone": voice.phone_of(viewer.pk),  # 电话外呼 rings it first
        },
        status=status,
    )


# --- quick actions ---------------------------------------------------------------------------

# action → (desk page, tab it is taken from)
DESK_ACTIONS = {
    "dispatch": ("dispatch", "submitted"),
    "review-return": ("dispatch", "returns"),
    "review-extension": ("dispatch", "extensions"),
    "review-reply": ("dispatch", "replied"),
    "sign": ("unit", "pending"),
    "callback": ("callback", "pending"),
    "reopen": ("callback", "unsatisfied"),
    "close": ("callback", "unsatisfied"),
}
DONE = {
    "dispatch": "已派单",
    "review-return": "退单已审核",
    "review-extension": "延期申请已审核",
    "review-reply": "办结已审核",
    "sign": "已签收",
    "callback": "已回访",
    "reopen": "已复核重办",
    "close": "已结案",
}
DESK_PAGES = {
    "dispatch": ("dispatch_desk", _dispatch_page, DISPATCH_TABS),
    "unit": ("unit_portal", _unit_page, UNIT_TABS),
    "callback": ("callback_desk", _callback_page, CALLBACK_TABS),
}


def _approved(value: str) -> bool:
    if value == "yes":
        return True
    if value == "no":
        return False
    raise Unprocessable("请选择审核结论（同意或不同意）", field="approved")


def _unit_field(viewer, value: str, *, label: str = "承办单位"):
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise Unprocessable(f"请选择{label}", field="unit") from None
    unit = core_selectors.units_visible(viewer).filter(pk=pk).first()
    if unit is None:
        raise Unprocessable(f"{label}不存在或不在您的管辖范围内", field="unit")
    return unit


def _fields(request, action: str) -> dict:
    """The service's keyword arguments from the posted form; bad input is Unprocessable."""
    post, viewer = request.POST, request.user
    note = post.get("note", "").strip()
    if action == "dispatch":
        co_units = [
            _unit_field(viewer, value, label="协办单位") for value in post.getlist("co_units")
        ]
        return {"unit": _unit_field(viewer, post.get("unit")), "co_units": co_units}
    if action in ("review-return", "review-extension"):
        fields = {"approved": _approved(post.get("approved", "")), "note": note}
        if post.get("unit"):
            try:
                fields["unit"] = int(post["unit"])
            except ValueError:
                raise Unprocessable("承办单位不正确", field="unit") from None
        return fields
    if action == "review-reply":
        approved = _approved(post.get("approved", ""))
        if not approved and not note:
            raise Unprocessable("退回单位重办须填写审核意见", field="note")
        return {"approved": approved, "note": note}
    if action == "callback":
        satisfaction = post.get("satisfaction", "")
        if satisfaction not in SATISFACTION:
            raise Unprocessable("请选择满意度", field="satisfaction")
        return {"satisfaction": satisfaction, "note": note}
    if action == "close":
        return {"reason": post.get("reason", "").strip()}
    if action == "reopen":
        return {"note": note}
    return {}


@login_required
@require_POST
def desk_action(request, number: str, action: str):
    """A quick action from a queue row; back to the same tab, or the tab again with the
    Chinese refusal and a 4xx status."""
    if action not in DESK_ACTIONS:
        raise Http404(f"未知的操作：{action}")
    desk, default_tab = DESK_ACTIONS[action]
    url_name, render_page, tabs = DESK_PAGES[desk]
    if not request.user.can(ACTIONS[action].permission):
        raise PermissionDenied(f"您没有“{ACTIONS[action].label}”的权限。")
    tab = request.POST.get("tab") if request.POST.get("tab") in tabs else default_tab
    try:
        order = selectors.order_get(request.user, number)
    except NotFound as error:
        raise Http404(error.message) from None
    status = {"code": 200}

    def call():
        try:
            fields = _fields(request, action)
        except Unprocessable:
            status["code"] = 422
            raise
        try:
            return services.perform(actor=request.user, order=order, action=action, **fields)
        except Conflict:
            status["code"] = 409
            raise
        except Unprocessable:
            status["code"] = 422
            raise

    ok, _ = pages.attempt(request, call, success=f"工单 {order.number}：{DONE[action]}。")
    if ok:
        return redirect(f"{reverse(url_name)}?tab={tab}")
    return render_page(request, tab, status=status["code"] if status["code"] >= 400 else 400)
