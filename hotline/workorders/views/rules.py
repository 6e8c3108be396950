"""自动分派规则: the platform's rules in matching order, their form, and a test console
that shows which rule an imagined order would match and why."""

from django import forms
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from hotline.core import selectors as core_selectors
from hotline.web import pages

from .. import dispatching, services
from ..models import Category, OrderType

PERMISSION = "workorders.dispatch"
ANY_TYPE = [("", "不限")]


class CategoryChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.path_name


def _categories():
    return Category.objects.filter(is_active=True).select_related("parent", "parent__parent")


def _platform_field(viewer) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="平台",
        queryset=core_selectors.platforms_visible(viewer).filter(is_active=True),
        empty_label=None,
        error_messages={"required": "请选择平台", "invalid_choice": "平台不正确"},
    )


class RuleForm(forms.Form):
    priority = forms.IntegerField(
        label="优先级",
        min_value=0,
        max_value=9999,
        initial=100,
        help_text="数字小者先匹配",
        error_messages={
            "required": "请填写优先级",
            "invalid": "优先级须为整数",
            "min_value": "优先级须为 0–9999",
            "max_value": "优先级须为 0–9999",
        },
    )
    name = forms.CharField(
        label="规则名称", max_length=50, error_messages={"required": "请填写规则名称"}
    )
    order_type = forms.ChoiceField(
        label="诉求类型", required=False, choices=ANY_TYPE + list(OrderType.choices)
    )
    category = CategoryChoice(
        label="诉求分类（含下级）",
        queryset=Category.objects.none(),
        required=False,
        empty_label="不限",
        error_messages={"invalid_choice": "诉求分类不正确"},
    )
    keywords = forms.CharField(
        label="关键词",
        max_length=200,
        required=False,
        help_text="以空格或逗号分隔，任一出现于标题或内容即匹配",
    )
    area = forms.CharField(label="区域", max_length=50, required=False, help_text="如：吉阳区")
    unit = forms.ModelChoiceField(
        label="承办单位",
        queryset=None,
        empty_label="请选择承办单位",
        error_messages={"required": "请选择承办单位", "invalid_choice": "承办单位不正确"},
    )
    direct = forms.BooleanField(label="受理后直接派单（直派，无需派单员）", required=False)
    is_active = forms.BooleanField(label="启用", required=False, initial=True)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"platform": _platform_field(viewer), **self.fields}
        self.fields["category"].queryset = _categories()
        self.fields["unit"].queryset = core_selectors.units_visible(viewer).filter(is_active=True)
        self.fields["platform"].initial = viewer.platform_id


class ConsoleForm(forms.Form):
    order_type = forms.ChoiceField(
        label="诉求类型", required=False, choices=[("", "请选择")] + list(OrderType.choices)
    )
    category = CategoryChoice(
        label="诉求分类",
        queryset=Category.objects.none(),
        required=False,
        empty_label="请选择",
        error_messages={"invalid_choice": "诉求分类不正确"},
    )
    area = forms.CharField(label="所属区域", max_length=50, required=False)
    title = forms.CharField(label="标题", max_length=100, required=False)
    content = forms.CharField(
        label="诉求内容", max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields = {"platform": _platform_field(viewer), **self.fields}
        self.fields["category"].queryset = _categories()
        self.fields["platform"].initial = viewer.platform_id


def _rows(rules) -> list[dict]:
    return [{"rule": r, "conditions": dispatching.describe(r)} for r in rules]


@pages.requires(PERMISSION)
def rule_list(request):
    rules = list(dispatching.rules_visible(request.user))
    platforms = {r.platform_id for r in rules}
    return render(
        request,
        "workorders/rules/list.html",
        {
            "rows": _rows(rules),
            "many_platforms": len(platforms) > 1,
            "active_count": sum(1 for r in rules if r.is_active),
            "direct_count": sum(1 for r in rules if r.is_active and r.direct),
        },
    )


def _save(request, form, rule=None):
    data = form.cleaned_data
    return pages.attempt(
        request,
        lambda: services.dispatch_rule_save(actor=request.user, rule=rule, **data),
        success=f"已保存规则“{data['name']}”",
        form=form,
    )


@pages.requires(PERMISSION)
@require_http_methods(["GET", "POST"])
def rule_new(request):
    form = RuleForm(request.POST or None, viewer=request.user)
    if request.method == "POST" and form.is_valid():
        ok, _ = _save(request, form)
        if ok:
            return redirect("dispatch_rules")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "workorders/rules/form.html", {"form": form, "rule": None}, status=status
    )


@pages.requires(PERMISSION)
@require_http_methods(["GET", "POST"])
def rule_edit(request, pk: int):
    _, rule = pages.attempt(  # out of scope or gone: the 404 page
        request, lambda: core_selectors.get_or_404(dispatching.rules_visible(request.user), pk=pk)
    )
    if request.method == "POST" and request.POST.get("action") == "delete":
        pages.attempt(
            request,
            lambda: services.dispatch_rule_delete(actor=request.user, rule=rule),
            success=f"已删除规则“{rule.name}”",
        )
        return redirect("dispatch_rules")
    initial = {
        "platform": rule.platform_id,
        "priority": rule.priority,
        "name": rule.name,
        "order_type": rule.order_type,
        "category": rule.category_id,
        "keywords": rule.keywords,
        "area": rule.area,
        "unit": rule.unit_id,
        "direct": rule.direct,
        "is_active": rule.is_active,
    }
    form = RuleForm(request.POST or None, viewer=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        ok, _ = _save(request, form, rule)
        if ok:
            return redirect("dispatch_rules")
    status = 422 if request.method == "POST" else 200
    return render(
        request, "workorders/rules/form.html", {"form": form, "rule": rule}, status=status
    )


@pages.requires(PERMISSION)
def rule_test(request):
    """The console: a GET form (it changes nothing) and, once submitted, every rule of the
    chosen platform with each condition held (✓) or failed (✗)."""
    submitted = "platform" in request.GET
    form = ConsoleForm(request.GET if submitted else None, viewer=request.user)
    verdicts, winner = None, None
    if submitted and form.is_valid():
        data = form.cleaned_data
        rules = dispatching.rules_visible(request.user).filter(platform=data["platform"])
        verdicts = dispatching.explain(
            rules,
            order_type=data["order_type"],
            category=data["category"],
            title=data["title"],
            content=data["content"],
            area=data["area"],
        )
        winner = next((v for v in verdicts if v.first), None)
    return render(
        request,
        "workorders/rules/test.html",
        {"form": form, "verdicts": verdicts, "winner": winner, "submitted": submitted},
        status=400 if submitted and not form.is_valid() else 200,
    )
