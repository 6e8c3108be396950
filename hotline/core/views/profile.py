"""My account (个人设置): account facts, and my API tokens (申请、吊销)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from hotline.web.pages import attempt

from .. import selectors, services
from ..masking import mask_phone
from ..roles import ROLES


class TokenForm(forms.Form):
    name = forms.CharField(
        label="用途", max_length=50, help_text="写明令牌给谁、做什么用，如“知识库同步脚本”。"
    )


def _render(request, form: TokenForm, *, new_key: str = "", new_token=None, status: int = 200):
    user = request.user
    return render(
        request,
        "core/profile.html",
        {
            "form": form,
            "roles": [ROLES[code] for code in user.role_codes if code in ROLES],
            "phone": mask_phone(user.phone),
            "account": selectors.account_security(user),
            "tokens": list(selectors.tokens_of(user)),
            "new_key": new_key,
            "new_token": new_token,
        },
        status=status,
    )


@login_required
@require_GET
def profile(request):
    return _render(request, TokenForm())


@login_required
@require_POST
def token_create(request):
    """Issue a token; its key is shown in this response only, never again."""
    form = TokenForm(request.POST)
    if form.is_valid():
        ok, result = attempt(
            request,
            lambda: services.token_create(
                actor=request.user, user=request.user, name=form.cleaned_data["name"]
            ),
            form=form,
        )
        if ok:
            token, key = result
            return _render(request, TokenForm(), new_key=key, new_token=token, status=201)
    return _render(request, form, status=400)


@login_required
@require_POST
def token_revoke(request, pk: int):
    def revoke():
        token = selectors.get_or_404(selectors.tokens_of(request.user), pk=pk)
        return services.token_revoke(actor=request.user, token=token)

    ok, token = attempt(request, revoke)
    if ok:
        messages.success(
            request, f"令牌“{token.name}”（{token.prefix}…）已吊销，使用它的程序将无法再访问接口。"
        )
    return redirect("profile")
