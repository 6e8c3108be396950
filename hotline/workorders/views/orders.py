"""Work-order pages everyone uses: intake (受理登记), list and search (工单查询), export,
the order page (工单详情) with its timeline and action forms, attachment download."""

from contextlib import contextmanager
from functools import partial
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from hotline import search
from hotline.contact.connectors import fax as fax_connector
from hotline.core import selectors as core_selectors
from hotline.core.errors import HotlineError, NotFound
from hotline.core.exports import styled_workbook
from hotline.core.masking import mask_phone
from hotline.core.models import HandlingUnit
from hotline.telephony import selectors as voice
from hotline.web import pages

from .. import selectors, services
from ..api import DEADLINE_OF_STATE, EVENT_LABELS
from ..lifecycle import (
    ACTIONS,
    ACTIVE_BRANCH_STATES,
    BRANCH_LABELS,
    SATISFACTION,
    STATE_LABELS,
    BranchState,
    Side,
    State,
)
from ..models import Category, Channel, OrderType, Urgency

EXPORT_LIMIT = 10_000
PAGE_SIZES = (50, 100, 500)
SOON = timezone.timedelta(hours=24)

# --- intake -------------------------------------------------------------------------------------


def category_choices() -> list:
    """Leaf categories grouped by their top-level ancestor (for <optgroup>)."""
    groups: dict[str, list] = {}
    for leaf in selectors.leaf_categories():
        top = leaf
        while top.parent is not None:
            top = top.parent
        groups.setdefault(top.name, []).append((str(leaf.pk), leaf.path_name))
    return [("", "请选择诉求分类"), *groups.items()]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class IntakeForm(forms.Form):
    type = forms.ChoiceField(label="诉求类型", choices=OrderType.choices, initial="consult")
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices, initial="normal")
    channel = forms.ChoiceField(label="来源渠道", choices=Channel.choices, initial="phone")
    category = forms.ChoiceField(label="诉求分类", required=False)
    title = forms.CharField(label="标题", max_length=100, required=False)
    content = forms.CharField(
        label="诉求内容", max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    caller_name = forms.CharField(label="来电人", max_length=50, required=False)
    caller_phone = forms.CharField(label="联系电话", max_length=20, required=False)
    area = forms.CharField(label="所属区域", max_length=50, required=False)
    address = forms.CharField(label="详细地址", max_length=200, required=False)
    confidential = forms.BooleanField(label="保密件", required=False)
    answer = forms.CharField(
        label="答复内容",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "即时答复时填写"}),
    )
    attachments = forms.FileField(
        label="附件", required=False, widget=MultipleFileInput(attrs={"multiple": True})
    )
    # the contact session the order comes from (生成工单 in the workbench)
    session_ref = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.error_messages["max_length"] = f"{field.label}不能超过 %(limit_value)d 字"
            field.error_messages["invalid_choice"] = f"{field.label}取值不正确"

    def category_object(self) -> Category | None:
        pk = self.cleaned_data.get("category")
        return Category.objects.filter(pk=pk).first() if pk else None


@contextmanager
def _missing_input_on_page():
    """A NotFound about a named input (the master number of 并单) is a message on the
    page, with the page's input kept; only the page's own order missing is a 404 page."""
    try:
        yield
    except NotFound as error:
        if not error.field:
            raise
        refused = HotlineError(error.message, field=error.field)
        refused.status = error.status
        raise refused from None


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


@pages.requires("workorders.create")
@require_http_methods(["GET", "POST"])
def order_create(request):
    phone = request.GET.get("phone", request.GET.get("caller_phone", "")).strip()
    if request.method == "GET" and request.headers.get("HX-Request"):
        return render(
            request,
            "workorders/orders/_in_transit.html",
            _in_transit_context(request, phone, _typed_text(request.GET)),
        )
    drafts = request.user.order_drafts.all()
    draft = None
    draft_pk = request.POST.get("draft") or request.GET.get("draft")
    if draft_pk:
        draft = drafts.filter(pk=draft_pk).first() if str(draft_pk).isdigit() else None
        if draft is None:
            raise Http404("草稿不存在")
    status = 200
    if request.method == "POST":
        op = request.POST.get("op", "submit")
        if op == "draft_delete" and draft is not None:
            pages.attempt(
                request,
                lambda: services.draft_delete(actor=request.user, draft=draft),
                success="草稿已删除",
            )
            return redirect("order_create")
        form = IntakeForm(request.POST)
        if op == "draft":
            data = {k: v for k, v in request.POST.items() if k in services.DRAFT_FIELDS}
            data["confidential"] = "confidential" in request.POST
            ok, saved = pages.attempt(
                request,
                lambda: services.draft_save(actor=request.user, data=data, draft=draft),
            )
            if ok:
                messages.success(request, "已暂存，可在右侧“我的草稿”中继续填写")
                return redirect(f"{reverse('order_create')}?draft={saved.pk}")
            status = 400
        else:
            # 并入此单 (a button of the in-transit prompt) names the open order it repeats
            merge_into = request.POST.get("merge_into", "").strip()
            order = _intake(request, form, direct=op == "direct", merge_into=merge_into)
            if order is not None:
                if draft is not None:
                    services.draft_delete(actor=request.user, draft=draft)
                if order.merged_into_id:
                    master = order.merged_into.number
                    messages.success(request, f"受理成功，工单 {order.number} 已并入 {master}")
                    return redirect("order_detail", number=master)
                what = "已即时答复并办结" if order.direct else "受理成功"
                messages.success(request, f"{what}，工单编号 {order.number}")
                return redirect("order_detail", number=order.number)
            status = 400
        phone = request.POST.get("caller_phone", "").strip()
    elif draft is not None:
        form = IntakeForm(initial=draft.data)
        phone = str(draft.data.get("caller_phone", ""))
    elif request.GET.get("session"):
        _, initial = pages.attempt(
            request, lambda: selectors.intake_from_session(request.user, request.GET["session"])
        )
        form = IntakeForm(initial=initial)
        phone = initial["caller_phone"]
    else:
        form = IntakeForm(initial={"caller_phone": phone} if phone else None)
    return render(
        request,
        "workorders/orders/create.html",
        {
            "form": form,
            "drafts": drafts,
            "draft": draft,
            "allowed_types": " ".join(sorted(services.ATTACHMENT_TYPES)),
            "accept": ",".join(f".{ext}" for ext in sorted(services.ATTACHMENT_TYPES)),
            **_in_transit_context(
                request, phone, _typed_text(request.POST) if request.method == "POST" else ""
            ),
        },
        status=status,
    )


def _intake(request, form: IntakeForm, *, direct: bool, merge_into: str = ""):
    """Validate the form and the files, then create the order and store its files;
    ``merge_into``: and close it at once into that open order (并单)."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    if direct and not data["answer"].strip():
        form.add_error("answer", "即时答复须填写答复内容")
        return None
    uploads = request.FILES.getlist("attachments")

    def create():
        services.attachments_check(uploads)
        with services.attachment_files(), _missing_input_on_page():
            create_order = services.order_create
            if merge_into:
                create_order = partial(services.order_create_merged, into=merge_into)
            order = create_order(
                actor=request.user,
                platform=request.user.platform,
                order_type=data["type"],
                title=data["title"],
                content=data["content"],
                caller_name=data["caller_name"],
                caller_phone=data["caller_phone"],
                category=form.category_object(),
                urgency=data["urgency"],
                channel=data["channel"],
                area=data["area"],
                address=data["address"],
                confidential=data["confidential"],
                direct=direct,
                answer=data["answer"] if direct else "",
                session_ref=data["session_ref"],
            )
            for upload in uploads:
                services.attachment_add(actor=request.user, order=order, upload=upload)
        return order

    ok, order = pages.attempt(request, create, form=form)
    return order if ok else None


def _in_transit_context(request, phone: str, text: str = "") -> dict:
    """The intake prompt: open orders of the same phone number, and open orders whose text
    nearly matches what the agent has typed (重复诉求)."""
    orders = list(selectors.in_transit(request.user, phone=phone)[:20]) if phone else []
    listed = {order.number for order in orders}
    similar = [
        order
        for order in (selectors.similar_open(request.user, text) if text.strip() else [])
        if order.number not in listed
    ]
    urge = ACTIONS["urge"]
    # 并入此单: the new order is registered on the agent's own platform, and merges only
    # within one platform
    can_merge = request.user.can(ACTIONS["merge"].permission)
    for order in orders + similar:
        order.can_urge = request.user.can(urge.permission) and order.state in urge.sources
        order.can_merge = can_merge and order.platform_id == request.user.platform_id
    return {
        "transit_phone": phone,
        "transit_orders": orders,
        "similar_orders": similar,
        "transit_can_merge": any(order.can_merge for order in orders + similar),
    }


def _typed_text(query) -> str:
    return f"{query.get('title', '')} {query.get('content', '')}".strip()


# --- list, search, export -----------------------------------------------------------------------


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label="关键字",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "编号 / 标题 / 内容"}),
    )
    status = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("", "全部状态"), ("open", "在办（未办结）")]
        + [(s.value, label) for s, label in STATE_LABELS.items()],
        error_messages={"invalid_choice": "状态取值不正确"},
    )
    type = forms.ChoiceField(
        label="诉求类型",
        required=False,
        choices=[("", "全部类型"), *OrderType.choices],
        error_messages={"invalid_choice": "诉求类型取值不正确"},
    )
    unit = forms.ModelChoiceField(
        label="承办单位",
        required=False,
        queryset=HandlingUnit.objects.none(),
        empty_label="全部单位",
        error_messages={"invalid_choice": "承办单位不存在或不在您的范围内"},
    )
    overdue = forms.ChoiceField(
        label="是否逾期",
        required=False,
        choices=[("", "不限"), ("1", "已逾期"), ("0", "未逾期")],
        error_messages={"invalid_choice": "是否逾期取值不正确"},
    )
    caller_phone = forms.CharField(label="来电号码", required=False, max_length=20)
    category = forms.TypedChoiceField(
        label="诉求分类",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "诉求分类不存在"},
    )
    area = forms.CharField(label="所属区域", required=False, max_length=50)
    channel = forms.ChoiceField(
        label="来源渠道",
        required=False,
        choices=[("", "全部渠道"), *Channel.choices],
        error_messages={"invalid_choice": "来源渠道取值不正确"},
    )
    urgency = forms.ChoiceField(
        label="紧急程度",
        required=False,
        choices=[("", "不限"), *Urgency.choices],
        error_messages={"invalid_choice": "紧急程度取值不正确"},
    )
    created_from = forms.DateField(
        label="受理日期从",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请输入正确的日期"},
    )
    created_to = forms.DateField(
        label="至",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请输入正确的日期"},
    )
    sort = forms.ChoiceField(
        label="排序",
        required=False,
        choices=[(key, label) for key, (label, _) in selectors.SORTS.items()],
        error_messages={"invalid_choice": "排序方式取值不正确"},
    )
    size = forms.TypedChoiceField(
        label="每页",
        required=False,
        coerce=int,
        choices=[(n, f"{n} 条") for n in PAGE_SIZES],
        empty_value=PAGE_SIZES[0],
        error_messages={"invalid_choice": "每页条数只能为 50、100 或 500"},
    )

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = core_selectors.units_visible(viewer).order_by("code")
        self.fields["category"].choices = [("", "全部分类"), *selectors.category_choices()]
        for field in self.fields.values():
            if type(field.widget) is forms.Select:  # options inline: hundreds of them
                field.widget.template_name = "workorders/widgets/select.html"

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "结束日期不能早于开始日期")
        return data

    def filters(self) -> selectors.OrderFilter:
        data = self.cleaned_data if self.is_bound else {}
        overdue = {"1": True, "0": False}.get(data.get("overdue") or "")
        unit = data.get("unit")
        return selectors.OrderFilter(
            q=(data.get("q") or "").strip(),
            status=data.get("status") or "",
            unit=unit.pk if unit else None,
            overdue=overdue,
            order_type=data.get("type") or "",
            caller_phone=(data.get("caller_phone") or "").strip(),
            category=data.get("category"),
            area=(data.get("area") or "").strip(),
            channel=data.get("channel") or "",
            urgency=data.get("urgency") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            sort=data.get("sort") or "newest",
        )

    def page_size(self) -> int:
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return min(int(data.get("size") or PAGE_SIZES[0]), selectors.MAX_PAGE)


def running_deadline(order, now):
    """(deadline, css) of the deadline the order's current stage runs against."""
    field_name = DEADLINE_OF_STATE.get(State(order.state))
    due = getattr(order, field_name) if field_name else None
    if due is None:
        return None, ""
    if due < now:
        return due, "due-overdue"
    if due - now <= SOON:
        return due, "due-soon"
    return due, ""


TYPE_LABELS = dict(OrderType.choices)


def _prepare_rows(page, searched: str) -> None:
    """What each row of the list shows, worked out here rather than by template lookups
    and filters: a list holds up to 500 rows."""
    now = timezone.now()
    url = reverse("order_detail", args=["NUMBER"])
    for order in page:
        order.url = url.replace("NUMBER", order.number)
        order.type_label = TYPE_LABELS.get(order.order_type, order.order_type)
        unit = order.lead_unit
        order.unit_label = (unit.short_name or unit.name) if unit else ""
        order.created_text = _local_minute(order.created_at)
        order.deadline, order.deadline_css = running_deadline(order, now)
        order.deadline_text = _local_minute(order.deadline) if order.deadline else ""
        if searched:  # the words that found it, marked (检索结果高亮)
            order.title_marked = search.highlight(order.title, searched)
            order.snippet = search.highlight(order.content, searched, width=60)


def _local_minute(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


@pages.requires("workorders.view")
@require_http_methods(["GET"])
def order_list(request):
    form = OrderFilterForm(request.GET or None, viewer=request.user)
    status = 200
    if form.is_bound and not form.is_valid():
        orders = selectors.orders_visible(request.user).none()
        status = 400
        size = PAGE_SIZES[0]
    else:
        orders = selectors.orders_filtered(request.user, form.filters())
        size = form.page_size() if form.is_bound else PAGE_SIZES[0]
    searched = form.filters().q if form.is_bound and form.is_valid() else ""
    if not searched:  # the content is shown only as a search snippet
        orders = orders.defer("content", "answer", "search_text")
    page = pages.page_of(request, orders, per_page=size, counter=selectors.orders_count)
    _prepare_rows(page, searched)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workorders/orders/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_create": request.user.can("workorders.create"),
        },
        status=status,
    )


@pages.requires("workorders.view")
@require_http_methods(["GET"])
def order_export(request):
    form = OrderFilterForm(request.GET or None, viewer=request.user)
    if form.is_bound and not form.is_valid():
        return order_list(request)
    orders = selectors.orders_filtered(request.user, form.filters()).prefetch_related(
        "assignments__unit"
    )[:EXPORT_LIMIT]
    now = timezone.now()
    rows = []
    for order in orders:
        deadline, css = running_deadline(order, now)
        caller = selectors.caller_of(request.user, order)
        rows.append(
            [
                order.number,
                order.title,
                order.get_order_type_display(),
                order.get_urgency_display(),
                order.get_channel_display(),
                order.state_label,
                order.category.path_name if order.category else "",
                caller["name"],
                caller["phone"] if order.confidential else mask_phone(order.caller_phone),
                order.lead_unit.name if order.lead_unit else "",
                timezone.localtime(order.created_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M") if deadline else "",
                "是" if css == "due-overdue" else "否",
                order.satisfaction,
            ]
        )
    services.orders_exported(actor=request.user, filters=request.GET.dict(), rows=len(rows))
    body = styled_workbook(
        "工单",
        [
            "工单编号",
            "标题",
            "诉求类型",
            "紧急程度",
            "来源渠道",
            "状态",
            "诉求分类",
            "来电人",
            "联系电话",
            "主办单位",
            "受理时间",
            "当前时限",
            "是否逾期",
            "满意度",
        ],
        rows,
        [20, 36, 10, 10, 10, 12, 30, 12, 16, 28, 18, 18, 10, 10],
    )
    filename = f"工单-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="orders-{timezone.localdate():%Y%m%d}.xlsx"; '
        f"filename*=UTF-8''{quote(filename)}"
    )
    return response


# --- the order page -----------------------------------------------------------------------------

APPROVED = {"1": True, "0": False}
DATA_LABELS = (
    ("unit", "承办单位"),
    ("co_units", "协办单位"),
    ("from_unit", "原承办单位"),
    ("units", "重办单位"),
    ("reason", "理由"),
    ("content", "答复内容"),
    ("satisfaction", "满意度"),
    ("days", "延期天数"),
    ("approved", "审核结论"),
    ("new_due", "新办理时限"),
    ("note", "备注"),
    ("late", "是否超时"),
    ("signed", "退单前已签收"),
    ("direct", "即时答复"),
    ("into", "并入主工单"),
    ("absorbed", "并入的工单"),
    ("result", "外呼结果"),  # 电话外呼 (hotline.telephony)
    ("seconds", "通话时长"),
)
LINKED_DATA = ("into", "absorbed")  # order numbers: shown as links


def _openable_numbers(events, viewer) -> set[str]:
    numbers = {e.data[key] for e in events for key in LINKED_DATA if e.data.get(key)}
    if not numbers or viewer is None:
        return set()
    return set(
        selectors.orders_visible(viewer).filter(number__in=numbers).values_list("number", flat=True)
    )


def event_rows(order, viewer=None) -> list[dict]:
    """The timeline as shown; order numbers in it (并单) link to the orders the viewer may
    open."""
    rows = []
    events = list(selectors.timeline(order).prefetch_related("attachments"))
    openable = _openable_numbers(events, viewer)
    for event in events:
        details = []
        for key, label in DATA_LABELS:
            if key not in event.data:
                continue
            value = event.data[key]
            if value in ("", None, []):
                continue
            if key == "approved":
                value = "同意" if value else "不同意"
            elif key == "late":
                if not value:
                    continue
                value = "超时"
            elif key in ("signed", "direct"):
                value = "是" if value else "否"
            elif key == "days":
                value = f"{value} 个工作日"
            elif key == "seconds":
                value = f"{value // 60} 分 {value % 60} 秒"
            elif key == "new_due":
                value = _iso_local(value)
            elif isinstance(value, list):
                value = "、".join(str(v) for v in value)
            openable_link = key in LINKED_DATA and value in openable
            link = reverse("order_detail", args=[value]) if openable_link else ""
            details.append({"key": key, "label": label, "value": value, "link": link})
        rows.append(
            {
                "event": event,
                "label": EVENT_LABELS.get(event.action, event.action),
                "from_label": _state_label(event.from_state),
                "to_label": _state_label(event.to_state),
                "moved": event.from_state != event.to_state,
                "details": details,
                "attachments": list(event.attachments.all()),
            }
        )
    return rows


def _iso_local(text) -> str:
    try:
        value = timezone.datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _state_label(code: str) -> str:
    try:
        return STATE_LABELS[State(code)]
    except ValueError:
        return ""


def available_actions(user, order, branch_list) -> list[dict]:
    """The verbs this viewer may perform on the order now, with what their forms need."""
    mine = next(
        (
            b
            for b in branch_list
            if user.unit_id and b.unit_id == user.unit_id and b.state != BranchState.WITHDRAWN
        ),
        None,
    )
    returns = [b for b in branch_list if b.state == BranchState.RETURN_PENDING]
    extensions = [b for b in branch_list if b.extension_days and b.state in ACTIVE_BRANCH_STATES]
    shown = []
    for code, spec in ACTIONS.items():
        if not user.can(spec.permission) or order.state not in spec.sources:
            continue
        if spec.side == Side.UNIT:
            if mine is None:
                continue
            if code == "sign" and mine.state != BranchState.PENDING_SIGN:
                continue
            if code == "reply" and mine.state != BranchState.SIGNED:
                continue
            if code in ("return", "request-extension") and mine.state not in (
                BranchState.PENDING_SIGN,
                BranchState.SIGNED,
            ):
                continue
            if code == "request-extension" and mine.extension_days:
                continue
        elif user.unit_id:
            continue  # unit staff act on their branch only
        pending = []
        if code == "review-return":
            if not returns:
                continue
            pending = returns
        if code == "review-extension":
            if not extensions:
                continue
            pending = extensions
        if code == "escalate" and order.escalated:
            continue
        shown.append({"code": code, "label": spec.label, "pending": pending})
    return shown


ACTION_STYLE = {
    "cancel": "btn-outline-danger",
    "return": "btn-outline-danger",
    "sign": "btn-primary",
    "dispatch": "btn-primary",
    "reply": "btn-primary",
    "callback": "btn-primary",
}


def _detail_context(request, order) -> dict:
    branch_list = list(selectors.branches(order))
    now = timezone.now()
    deadline, deadline_css = running_deadline(order, now)
    actions = available_actions(request.user, order, branch_list)
    for action in actions:
        action["style"] = ACTION_STYLE.get(action["code"], "btn-outline-primary")
    needs_units = any(a["code"] in ("dispatch", "redispatch") for a in actions)
    can_merge = any(a["code"] == "merge" for a in actions)
    return {
        "order": order,
        "caller": selectors.caller_of(request.user, order),
        "branches": [
            {"branch": b, "label": BRANCH_LABELS[BranchState(b.state)]} for b in branch_list
        ],
        "attachments": list(order.attachments.all()),
        "timeline": event_rows(order, request.user),
        "deadline": deadline,
        "deadline_css": deadline_css,
        "actions": actions,
        "units": (
            core_selectors.units_visible(request.user).filter(is_active=True).order_by("code")
            if needs_units
            else []
        ),
        "satisfaction_levels": SATISFACTION,
        "allowed_types": " ".join(sorted(services.ATTACHMENT_TYPES)),
        "merged_orders": selectors.merged_orders(request.user, order),
        "merged_into_visible": bool(
            order.merged_into_id
            and selectors.orders_visible(request.user).filter(pk=order.merged_into_id).exists()
        ),
        "merge_candidates": (selectors.merge_candidates(request.user, order) if can_merge else []),
        "recordings": voice.recordings_of_order(request.user, order),
        "linkages": voice.linkages_of_order(request.user, order),
        "call_rating": voice.call_rating_of_order(request.user, order),
        "order_calls": voice.calls_of_order(request.user, order),
        "can_dial": request.user.can("workorders.callback") and order.caller_phone.isdigit(),
        "fax_ready": bool(order.answer.strip())
        and request.user.can("workorders.callback")
        and fax_connector.fax_entry(order.platform_id) is not None,
    }


@pages.requires("workorders.view")
@require_http_methods(["GET"])
def order_detail(request, number):
    order = _order_or_404(request, number)
    return render(request, "workorders/orders/detail.html", _detail_context(request, order))


def _order_or_404(request, number):
    ok, order = pages.attempt(request, lambda: selectors.order_get(request.user, number))
    return order


def _action_fields(request, action: str) -> dict:
    """The verb's input from the form, as services.perform takes it."""
    post = request.POST
    fields: dict = {}
    for name in ("reason", "content", "note", "satisfaction", "into"):
        if post.get(name, "").strip():
            fields[name] = post[name].strip()
    if post.get("approved") in APPROVED:
        fields["approved"] = APPROVED[post["approved"]]
    if post.get("days", "").strip():
        try:
            fields["days"] = int(post["days"])
        except ValueError:
            fields["days"] = post["days"]  # the service refuses it in Chinese
    units = core_selectors.units_visible(request.user)
    if post.get("unit"):
        fields["unit"] = _unit_of(units, post["unit"], "unit")
    co_units = [pk for pk in post.getlist("co_units") if pk]
    if co_units:
        fields["co_units"] = [_unit_of(units, pk, "co_units") for pk in co_units]
    return fields


def _unit_of(units, pk, field_name):
    from hotline.core.errors import Unprocessable

    unit = units.filter(pk=pk).first() if str(pk).isdigit() else None
    if unit is None:
        raise Unprocessable("承办单位不存在或不在您的范围内", field=field_name)
    return unit


@pages.requires("workorders.view")
@require_http_methods(["POST"])
def order_action(request, number, action):
    order = _order_or_404(request, number)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("未知的操作")
    refused: dict = {}
    uploads = request.FILES.getlist("attachments") if action == "reply" else []

    def call():
        try:
            fields = _action_fields(request, action)
            if uploads:
                services.attachments_check(uploads, existing=order.attachments.count())
            with services.attachment_files(), _missing_input_on_page():
                done = services.perform(actor=request.user, order=order, action=action, **fields)
                if uploads:
                    event = done.events.filter(action=action).order_by("-at", "-pk").first()
                    for upload in uploads:
                        services.attachment_add(
                            actor=request.user, order=done, upload=upload, event=event
                        )
            return done
        except HotlineError as error:
            refused["status"] = error.status
            raise

    ok, _ = pages.attempt(request, call, success=f"{spec.label}成功")
    if ok:
        return redirect(_safe_next(request, reverse("order_detail", args=[number])))
    order.refresh_from_db()
    context = _detail_context(request, order)
    context["failed_action"] = action
    return render(
        request, "workorders/orders/detail.html", context, status=refused.get("status", 400)
    )


@pages.requires("workorders.callback")
@require_http_methods(["POST"])
def order_fax(request, number):
    """传真答复: the order's reply faxed through the platform's fax gateway."""
    order = _order_or_404(request, number)
    pages.attempt(
        request,
        lambda: fax_connector.fax_order_reply(request.user, order, request.POST.get("number", "")),
        success="传真已提交传真网关，回执将记入流转记录",
    )
    return redirect("order_detail", number)


@pages.requires("workorders.view")
@require_http_methods(["GET"])
def order_attachment(request, number, pk):
    order = _order_or_404(request, number)
    attachment = order.attachments.filter(pk=pk).first()
    if attachment is None:
        raise Http404("附件不存在")
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404("附件文件已丢失") from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
