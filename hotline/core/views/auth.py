"""Sign in, sign out, change password (登录、退出、修改密码)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from .. import audit, services
from ..errors import HotlineError
from ..models import SecurityPolicy, User


class LoginForm(forms.Form):
    username = forms.CharField(label="登录名", max_length=150)
    password = forms.CharField(label="密码", widget=forms.PasswordInput, max_length=128)


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label="原密码", widget=forms.PasswordInput, max_length=128)
    new_password = forms.CharField(label="新密码", widget=forms.PasswordInput, max_length=128)
    new_password_again = forms.CharField(
        label="确认新密码", widget=forms.PasswordInput, max_length=128
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "两次输入的新密码不一致")
        return data


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return ""


@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            username = form.cleaned_data["username"]
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is not None:
                login(request, user)  # audited by the user_logged_in receiver (apps.py)
                return redirect(_safe_next(request) or "home")
            account = User.objects.filter(username=username).first()
            if account is not None and account.is_locked():
                minutes = SecurityPolicy.current().lockout_minutes
                form.add_error(
                    None,
                    f"连续登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试或联系系统管理员。",
                )
            elif account is not None and not account.is_active:
                form.add_error(None, "账号已停用，请联系系统管理员。")
            else:
                form.add_error(None, "登录名或密码不正确。")
        status = 400
    return render(
        request, "core/login.html", {"form": form, "next": _safe_next(request)}, status=status
    )


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        audit.record("auth.logout", request.user)
    logout(request)
    messages.info(request, "您已安全退出。")
    return redirect("login")


@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    form = PasswordChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.password_change(
                    user=request.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password"],
                )
            except HotlineError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                update_session_auth_hash(request, request.user)
                messages.success(request, "密码已修改。")
                return redirect("home")
        status = 400
    return render(
        request,
        "core/password_change.html",
        {
            "form": form,
            "forced": request.user.must_change_password,
            "policy": SecurityPolicy.current(),
        },
        status=status,
    )
