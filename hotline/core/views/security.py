"""安全管理 (安全管理员): role assignment, the role × permission matrix, security policy."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from hotline.web import pages

from .. import selectors, services
from ..masking import mask_phone
from ..models import SecurityPolicy
from ..roles import ADMIN_ROLES, PERMISSIONS, ROLE_CHOICES, ROLES
from .accounts import one_or_404

# --- roles (角色分配) --------------------------------------------------------------------------


class RoleSearchForm(forms.Form):
    role = forms.ChoiceField(
        label="角色", required=False, choices=[("", "全部角色"), *ROLE_CHOICES]
    )
    q = forms.CharField(
        label="关键字",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "姓名 / 登录名 / 工号"}),
    )


class RoleChangeForm(forms.Form):
    op = forms.ChoiceField(
        choices=[("assign", "分配"), ("revoke", "收回")],
        error_messages={"invalid_choice": "未知的操作"},
    )
    role = forms.ChoiceField(
        label="角色",
        choices=ROLE_CHOICES,
        error_messages={"required": "请选择角色", "invalid_choice": "未知的角色"},
    )


def _with_roles(user):
    user.role_list = [ROLES[a.role] for a in user.role_assignments.all() if a.role in ROLES]
    user.phone_masked = mask_phone(user.phone)
    return user


@pages.requires("roles.assign")
@require_http_methods(["GET"])
def roles(request):
    form = RoleSearchForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        users, status = selectors.users_visible(request.user).none(), 400
    else:
        data = form.cleaned_data if form.is_bound else {}
        users = selectors.users_search(
            request.user, role=data.get("role", ""), text=data.get("q", "")
        )
    page = pages.page_of(request, users)
    for user in page:
        _with_roles(user)
    return render(
        request,
        "core/security/roles.html",
        {"form": form, "page": page, "holders": selectors.role_holders(request.user)},
        status=status,
    )


@pages.requires("roles.assign")
@require_http_methods(["GET", "POST"])
def user_roles(request, pk):
    user = one_or_404(request, selectors.users_visible(request.user), pk=pk)
    form = RoleChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            role, assign = form.cleaned_data["role"], form.cleaned_data["op"] == "assign"
            service = services.role_assign if assign else services.role_revoke
            success = (
                f"已为 {user.display_name} 分配角色“{ROLES[role].name}”。"
                if assign
                else f"已收回 {user.display_name} 的角色“{ROLES[role].name}”。"
            )
            ok, _ = pages.attempt(
                request,
                lambda: service(actor=request.user, user=user, role=role),
                success=success,
                form=form,
            )
            if ok:
                return redirect("security_user_roles", pk=user.pk)
        status = 400
        user = one_or_404(request, selectors.users_visible(request.user), pk=pk)
    _with_roles(user)
    held = {role.code for role in user.role_list}
    choices = [(code, role) for code, role in ROLES.items() if code not in held]
    return render(
        request,
        "core/security/user_roles.html",
        {
            "account": user,
            "form": form,
            "choices": choices,
            "self_edit": user.pk == request.user.pk,
            "admin_roles": [ROLES[code] for code in ADMIN_ROLES],
        },
        status=status,
    )


# --- permissions (权限配置) --------------------------------------------------------------------


class GrantForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, error_messages={"invalid_choice": "未知的角色"})
    permission = forms.ChoiceField(
        choices=[(code, p.name) for code, p in PERMISSIONS.items()],
        error_messages={"invalid_choice": "未知的权限"},
    )
    granted = forms.TypedChoiceField(
        choices=[("1", "授予"), ("0", "收回")],
        coerce=lambda value: value == "1",
        error_messages={"invalid_choice": "授予标志须为 1 或 0"},
    )


def _matrix_rows():
    rows = []
    for row in selectors.permission_matrix():
        role = row["role"]
        cells = []
        for cell in row["cells"]:
            permission = cell["permission"]
            reserved = permission.reserved_for
            if role.admin:
                state, note = "fixed", "三权分立：管理员角色的权限固定，不能调整"
            elif reserved:
                state = "reserved"
                note = f"“{permission.name}”为{ROLES[reserved].name}专属权限，不能授予{role.name}"
            else:
                state, note = "editable", permission.name
            cells.append({**cell, "state": state, "note": note})
        rows.append({"role": role, "cells": cells})
    return rows


def _columns():
    """Permission columns with a short header, grouped by the admin role they belong to."""
    groups: list[dict] = []
    for permission in PERMISSIONS.values():
        owner = permission.reserved_for
        title = f"{ROLES[owner].name}专属" if owner else "业务权限（可授予业务角色）"
        if not groups or groups[-1]["title"] != title:
            groups.append({"title": title, "reserved": bool(owner), "permissions": []})
        groups[-1]["permissions"].append(
            {"permission": permission, "short": permission.name.split("（")[0]}
        )
    return groups


@pages.requires("permissions.manage")
@require_http_methods(["GET", "POST"])
def permissions(request):
    status = 200
    form = GrantForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            verb = "授予" if data["granted"] else "收回"
            ok, _ = pages.attempt(
                request,
                lambda: services.role_permission_set(
                    actor=request.user,
                    role=data["role"],
                    permission=data["permission"],
                    granted=data["granted"],
                ),
                success=f"已{verb}{ROLES[data['role']].name}“{PERMISSIONS[data['permission']].name}”权限。",
                form=form,
            )
            if ok:
                return redirect(reverse("security_permissions") + f"#role-{data['role']}")
        status = 400
    return render(
        request,
        "core/security/permissions.html",
        {
            "form": form,
            "columns": _columns(),
            "rows": _matrix_rows(),
        },
        status=status,
    )


# --- policy (安全策略) ----------------------------------------------------------------------------

POLICY_FIELDS = list(services.POLICY_LIMITS)


class PolicyForm(forms.Form):
    """The policy's fields; the allowed ranges are enforced (and stated) by the service."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in POLICY_FIELDS:
            model_field = SecurityPolicy._meta.get_field(name)
            low, high, _ = services.POLICY_LIMITS[name]
            help_text = f"允许范围 {low}–{high}"
            if model_field.help_text:
                help_text = f"{model_field.help_text}；{help_text}"
            self.fields[name] = forms.IntegerField(
                label=model_field.verbose_name,
                help_text=help_text,
                error_messages={"required": "请填写此项", "invalid": "请输入整数"},
            )


@pages.requires("policy.manage")
@require_http_methods(["GET", "POST"])
def policy(request):
    current = selectors.security_policy()
    initial = {name: getattr(current, name) for name in POLICY_FIELDS}
    form = PolicyForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = {
                name: value for name, value in form.cleaned_data.items() if value != initial[name]
            }
            if not changes:
                messages.info(request, "安全策略没有变化。")
                return redirect("security_policy")
            ok, _ = pages.attempt(
                request,
                lambda: services.policy_update(actor=request.user, **changes),
                success="安全策略已保存，即时生效。",
                form=form,
            )
            if ok:
                return redirect("security_policy")
        status = 400
    return render(
        request, "core/security/policy.html", {"form": form, "policy": current}, status=status
    )
