"""同义词 page: the editor-managed synonym groups — list, add, edit, delete (kb.manage)."""

from django import forms
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from hotline.core.selectors import get_or_404
from hotline.web import pages

from ..models import SynonymGroup
from ..services import synonyms as services

PERMISSION = "kb.manage"


class GroupForm(forms.Form):
    words = forms.CharField(
        label="同义词",
        max_length=400,  # the service gives the exact limits, in Chinese
        help_text="以空格分隔，至少两个不同的词语，每个不超过 20 字，如：医保 医疗保险 医疗保障",
        error_messages={"required": "请填写同义词", "max_length": "同义词组过长"},
    )


def _groups(q: str):
    rows = SynonymGroup.objects.all()
    for word in q.split():
        rows = rows.filter(Q(words__icontains=word))
    return rows.order_by("words")


def _render(request, form, *, editing=None, status=200):
    q = request.GET.get("q", "").strip()[:40]
    return render(
        request,
        "knowledge/synonyms/list.html",
        {
            "form": form,
            "editing": editing,
            "groups": pages.page_of(request, _groups(q), per_page=50),
            "q": q,
        },
        status=status,
    )


@pages.requires(PERMISSION)
@require_http_methods(["GET", "POST"])
def synonym_list(request):
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        words = form.cleaned_data["words"]
        ok, group = pages.attempt(
            request,
            lambda: services.synonym_group_create(actor=request.user, words=words),
            success="已新增同义词组",
            form=form,
        )
        if ok:
            return redirect("kb_synonyms")
    return _render(request, form, status=422 if request.method == "POST" else 200)


@pages.requires(PERMISSION)
@require_http_methods(["GET", "POST"])
def synonym_edit(request, pk: int):
    _, group = pages.attempt(request, lambda: get_or_404(SynonymGroup.objects.all(), pk=pk))
    form = GroupForm(request.POST or None, initial={"words": group.words}, prefix="edit")
    if request.method == "POST" and form.is_valid():
        words = form.cleaned_data["words"]
        ok, _ = pages.attempt(
            request,
            lambda: services.synonym_group_update(actor=request.user, group=group, words=words),
            success="已保存同义词组",
            form=form,
        )
        if ok:
            return redirect("kb_synonyms")
    return _render(
        request,
        GroupForm(),
        editing={"group": group, "form": form},
        status=422 if request.method == "POST" else 200,
    )


@pages.requires(PERMISSION)
@require_POST
def synonym_delete(request, pk: int):
    _, group = pages.attempt(request, lambda: get_or_404(SynonymGroup.objects.all(), pk=pk))
    words = group.words
    pages.attempt(
        request,
        lambda: services.synonym_group_delete(actor=request.user, group=group),
        success=f"已删除同义词组“{words}”",
    )
    return redirect("kb_synonyms")
