"""账号管理 (系统管理员): list, open, edit, disable/enable, unlock, reset password.

The initial password of a new account (and a reset one) is rendered once, straight in
the response to the POST that made it: it is never stored, logged or put in the session.
"""

from django import forms
from django.core.validators import RegexValidator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from hotline.web import pages

from .. import selectors, services
from ..errors import Forbidden
from ..masking import mask_phone
from ..roles import ROLE_CHOICES, ROLES

# --- helpers shared by the administration pages ---------------------------------------------


def one_or_404(request, queryset, **lookup):
    """A row of a scoped queryset; out of scope is the 404 page."""
    return pages.attempt(request, lambda: selectors.get_or_404(queryset, **lookup))[1]


PHONE = RegexValidator(r"^[0-9+\- ]{3,20}$", "请输入有效的电话号码（数字，可含 + 和 -）")
USERNAME = RegexValidator(r"^[A-Za-z0-9_.@+-]+$", "登录名只能包含英文字母、数字和 _ . @ + -")


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.platform.name} · {obj.name}"


class TeamChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.platform.name} · {obj.name}"


# --- forms ---------------------------------------------------------------------------------


class AccountFilterForm(forms.Form):
    platform = forms.ModelChoiceField(
        label="平台", queryset=None, required=False, empty_label="全部平台"
    )
    unit = UnitChoice(label="承办单位", queryset=None, required=False, empty_label="全部单位")
    role = forms.ChoiceField(
        label="角色", required=False, choices=[("", "全部角色"), *ROLE_CHOICES]
    )
    status = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("", "全部状态"), *selectors.ACCOUNT_STATUSES.items()],
    )
    q = forms.CharField(
        label="关键字",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "姓名 / 登录名 / 工号"}),
    )

    def __init__(self, viewer, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].queryset = selectors.platforms_visible(viewer)
        self.fields["unit"].queryset = selectors.units_visible(viewer)


class AccountForm(forms.Form):
    """The fields of an account the system admin maintains (not its roles)."""

    display_name = forms.CharField(label="姓名", max_length=50)
    employee_no = forms.CharField(label="工号", max_length=20, required=False)
    phone = forms.CharField(label="手机", max_length=20, required=False, validators=[PHONE])
    email = forms.EmailField(label="邮箱", max_length=254, required=False)
    platform = forms.ModelChoiceField(label="所属平台", queryset=None, empty_label="请选择平台")
    unit = UnitChoice(
        label="承办单位",
        queryset=None,
        required=False,
        empty_label="（无）",
        help_text="承办单位人员须指定所属单位；热线中心人员留空",
    )
    team = TeamChoice(label="班组", queryset=None, required=False, empty_label="（无）")

    def __init__(self, viewer, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].queryset = selectors.platforms_visible(viewer)
        self.fields["unit"].queryset = selectors.units_visible(viewer)
        self.fields["team"].queryset = selectors.teams_visible(viewer).select_related("platform")


class AccountCreateForm(AccountForm):
    username = forms.CharField(
        label="登录名",
        max_length=150,
        validators=[USERNAME],
        help_text="英文字母、数字和 _ . @ + -，建立后不能修改",
    )
    field_order = [
        "username",
        "display_name",
        "employee_no",
        "phone",
        "email",
        "platform",
        "unit",
        "team",
    ]


class AccountEditForm(AccountForm):
    def __init__(self, viewer, user, *args, **kwargs):
        initial = {
            name: getattr(user, name)
            for name in ("display_name", "employee_no", "email", "platform", "unit", "team")
        }
        super().__init__(viewer, *args, initial=initial, **kwargs)
        # The full number is never put into the page: reading it is a permission of its own.
        self.fields["phone"].help_text = "留空则不修改"
        self.fields["phone"].widget.attrs["placeholder"] = mask_phone(user.phone) or "未登记"

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        if not data.get("phone"):
            data.pop("phone", None)
        return data


# --- presentation ---------------------------------------------------------------------------


def _decorate(user):
    """Attach what the templates show: roles, masked phone, lock state."""
    user.role_list = [ROLES[a.role] for a in user.role_assignments.all() if a.role in ROLES]
    user.phone_masked = mask_phone(user.phone)
    user.locked = user.is_locked()
    return user


def _manage_refusal(request, user) -> str:
    """Why the viewer may not maintain this account ("" when he may): the service's own
    三权分立 guard, asked in advance so the page can say it instead of offering buttons."""
    try:
        services.require_may_manage_account(request.user, user)
    except Forbidden as error:
        return error.message
    return ""


# --- pages ----------------------------------------------------------------------------------


@pages.requires("accounts.manage")
@require_http_methods(["GET"])
def account_list(request):
    form = AccountFilterForm(request.user, request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        users, status = selectors.users_visible(request.user).none(), 400
    else:
        data = form.cleaned_data if form.is_bound else {}
        users = selectors.users_search(
            request.user,
            platform=data.get("platform"),
            unit=data.get("unit"),
            role=data.get("role", ""),
            status=data.get("status", ""),
            text=data.get("q", ""),
        )
    page = pages.page_of(request, users)
    for user in page:
        _decorate(user)
    return render(
        request,
        "core/accounts/list.html",
        {"form": form, "page": page, "total": page.paginator.count},
        status=status,
    )


@pages.requires("accounts.manage")
@require_http_methods(["GET", "POST"])
def account_create(request):
    form = AccountCreateForm(request.user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            ok, result = pages.attempt(
                request,
                lambda: services.user_create(
                    actor=request.user,
                    username=data["username"],
                    display_name=data["display_name"],
                    platform=data["platform"],
                    unit=data["unit"],
                    team=data["team"],
                    phone=data["phone"],
                    employee_no=data["employee_no"],
                    email=data["email"],
                ),
                form=form,
            )
            if ok:
                user, password = result
                return render(
                    request,
                    "core/accounts/password.html",
                    {"account": user, "password": password, "created": True},
                    status=201,
                )
        return render(request, "core/accounts/create.html", {"form": form}, status=400)
    return render(request, "core/accounts/create.html", {"form": form})


def _detail(request, user, form, *, status=200, revealed_phone=""):
    return render(
        request,
        "core/accounts/detail.html",
        {
            "account": _decorate(user),
            "form": form,
            "refusal": _manage_refusal(request, user),
            "revealed_phone": revealed_phone,
            "can_reveal": request.user.can("phone.reveal"),
        },
        status=status,
    )


@pages.requires("accounts.manage")
@require_http_methods(["GET", "POST"])
def account_detail(request, pk):
    user = one_or_404(request, selectors.users_visible(request.user), pk=pk)
    form = AccountEditForm(request.user, user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            ok, _ = pages.attempt(
                request,
                lambda: services.user_update(actor=request.user, user=user, **form.changes()),
                success="账号信息已保存。",
                form=form,
            )
            if ok:
                return redirect("account_detail", pk=user.pk)
        user.refresh_from_db()
        return _detail(request, user, form, status=400)
    return _detail(request, user, form)


ACTIONS = {"disable", "enable", "unlock", "reset-password", "reveal-phone"}


@pages.requires("accounts.manage")
@require_POST
def account_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404("未知的操作")
    user = one_or_404(request, selectors.users_visible(request.user), pk=pk)
    actor = request.user
    if action == "reset-password":
        ok, password = pages.attempt(
            request, lambda: services.user_reset_password(actor=actor, user=user)
        )
        if ok:
            return render(
                request,
                "core/accounts/password.html",
                {"account": user, "password": password, "created": False},
            )
    elif action == "reveal-phone":
        ok, number = pages.attempt(
            request, lambda: services.phone_reveal(actor=actor, obj=user, reason="账号管理")
        )
        if ok:
            return _detail(request, user, AccountEditForm(actor, user), revealed_phone=number)
    elif action == "unlock":
        ok, _ = pages.attempt(
            request,
            lambda: services.user_unlock(actor=actor, user=user),
            success=f"已解除 {user.display_name} 的登录锁定。",
        )
    else:
        active = action == "enable"
        ok, _ = pages.attempt(
            request,
            lambda: services.user_set_active(actor=actor, user=user, active=active),
            success=f"已{'启用' if active else '停用'}账号 {user.display_name}。",
        )
    if ok:
        return redirect("account_detail", pk=user.pk)
    user.refresh_from_db()
    return _detail(request, user, AccountEditForm(actor, user), status=400)
