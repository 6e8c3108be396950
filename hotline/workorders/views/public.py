"""工单进度查询 for citizens (no sign-in): the order's number and the caller's phone
together unlock a short public view — state, type, date and the public milestones. Never
the caller's name, other numbers, internal notes or return reasons. A wrong number and a
wrong phone get the same answer, and each address has a small budget of lookups."""

import re
from dataclasses import dataclass

from django import forms
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from hotline.core.middleware import client_ip

from ..lifecycle import State
from ..models import WorkOrder

LIMIT = 10  # lookups per address …
WINDOW_SECONDS = 10 * 60  # … per ten minutes
NOT_FOUND = "未找到匹配的工单，请核对编号和电话"
PHONE_NOISE = re.compile(r"[\s\-()（）]")


class TrackForm(forms.Form):
    number = forms.CharField(
        label="工单编号",
        max_length=30,
        error_messages={"required": "请填写工单编号", "max_length": "工单编号过长"},
    )
    phone = forms.CharField(
        label="联系电话",
        max_length=20,
        help_text="受理时登记的联系电话",
        error_messages={"required": "请填写联系电话", "max_length": "联系电话过长"},
    )


@dataclass(frozen=True)
class Milestone:
    at: object
    label: str
    text: str = ""


def _phone(value: str) -> str:
    return PHONE_NOISE.sub("", value or "")


def public_view(number: str, phone: str) -> dict | None:
    """The public face of the order with this number whose caller phone is ``phone``;
    None when either does not match (the caller cannot tell which)."""
    phone = _phone(phone)
    if not phone:
        return None
    order = (
        WorkOrder.objects.filter(number=number.strip().upper())
        .only(
            "number",
            "state",
            "order_type",
            "created_at",
            "caller_phone",
            "answer",
            "completed_at",
            "closed_at",
            "merged_into",
            "platform_id",
        )
        .first()
    )
    if order is None or _phone(order.caller_phone) != phone:
        return None
    steps = [(order.created_at, 0, Milestone(order.created_at, "受理", "您的诉求已登记受理"))]
    shown = order
    if order.state == State.MERGED and order.merged_into_id:
        # 并单: the citizen follows the order that now carries the matter
        shown = order.merged_into
        merged_at = order.closed_at or order.created_at
        steps.append(
            (merged_at, 1, Milestone(merged_at, "已合并办理", "与同一事项的其他诉求合并办理"))
        )
        steps += [step for step in _progress(shown) if step[0] >= merged_at]
    else:
        steps += _progress(order)
    milestones = [m for _, _, m in sorted(steps, key=lambda s: (s[0], s[1]))]
    return {
        "number": order.number,
        "state_label": shown.state_label,
        "type_label": order.get_order_type_display(),
        "created_at": order.created_at,
        "milestones": milestones,
        "hotline": order.platform.hotline_number if order.platform_id else "12345",
    }


def _progress(order) -> list:
    """(time, rank, milestone) of an order after intake: at the same moment 办结 comes
    before 回访."""
    steps = []
    events = order.events.filter(action__in=("dispatch", "redispatch", "callback"))
    for event in events.order_by("at", "pk"):
        if event.action == "callback":
            steps.append((event.at, 2, Milestone(event.at, "已回访", "热线已回访了解办理情况")))
        else:
            unit = (event.data or {}).get("unit", "")
            text = f"已转交{unit}办理" if unit else "已转交承办单位办理"
            steps.append((event.at, 1, Milestone(event.at, "已派单", text)))
    if order.state in (State.COMPLETED, State.ARCHIVED) and order.completed_at:
        steps.append((order.completed_at, 1, Milestone(order.completed_at, "已办结", order.answer)))
    return steps


def _over_budget(request) -> bool:
    """Count this lookup against the address's budget; True when it is spent."""
    key = f"public-track:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count > LIMIT


@require_http_methods(["GET", "POST"])
def track(request):
    if request.method == "POST" and _over_budget(request):
        return render(
            request,
            "workorders/public/track.html",
            {"form": TrackForm(), "limited": True, "minutes": WINDOW_SECONDS // 60},
            status=429,
        )
    form = TrackForm(request.POST or None)
    result, missing = None, False
    if request.method == "POST" and form.is_valid():
        result = public_view(form.cleaned_data["number"], form.cleaned_data["phone"])
        missing = result is None
    status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render(
        request,
        "workorders/public/track.html",
        {"form": form, "result": result, "not_found": NOT_FOUND if missing else ""},
        status=status,
    )
