"""查无纠错 pages: the report form (anyone with kb.view, usually from the search page),
"my reports", and the KB team's list with its statistics, the report page with the triage
forms, and the 查无 feed (searches that found nothing, as candidates)."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from hotline.core.selectors import get_or_404
from hotline.web import pages

from ..lifecycle import CORRECTION_MOVES, CORRECTION_STATE_LABELS
from ..models import Article, Correction
from ..selectors import corrections as selectors
from ..services import corrections as services

TRIAGE = "kb.corrections"
DEFAULT_DAYS = 30
LATE_HOURS = 72  # still open after 3 days: marked red in the list
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- reporting (kb.view) ------------------------------------------------------------------------


class ReportForm(forms.Form):
    kind = forms.ChoiceField(
        label="上报类型",
        choices=Correction.Kind.choices,
        error_messages={"required": "请选择上报类型", "invalid_choice": "上报类型取值不正确"},
    )
    query = forms.CharField(
        label="检索词",
        required=False,
        max_length=Correction._meta.get_field("query").max_length,
        error_messages={"max_length": "检索词不能超过 %(limit_value)d 字"},
    )
    article = forms.IntegerField(
        label="知识编号",
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": "知识编号不正确"},
    )
    description = forms.CharField(
        label="问题描述",
        required=False,  # a not-found report may go without; the service decides
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "问题描述不能超过 %(limit_value)d 字"},
    )


def _reportable_article(request, pk) -> Article | None:
    if pk is None:
        return None
    article = selectors.readable_article(request.user, pk)
    if article is None:
        raise Http404("知识不存在或不在您的查阅范围内")
    return article


@pages.requires("kb.view")
@require_http_methods(["GET", "POST"])
def report(request):
    """GET: the report page (?query=… or ?article=…); POST: the report itself, from this page
    or from the search page's fragment (_report_form.html), then back to ``next``."""
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            article = _reportable_article(request, data["article"])
            ok, correction = pages.attempt(
                request,
                lambda: services.correction_report(
                    actor=request.user,
                    kind=data["kind"],
                    query=data["query"],
                    article=article,
                    description=data["description"],
                ),
                success="已提交，知识库管理员处理后将通过站内提醒告知您结果",
                form=form,
            )
            if ok:
                return redirect(_safe_next(request, reverse("kb_corrections_mine")))
        article_pk = form.data.get("article") or None
        query = form.data.get("query", "")
        status = 422
    else:
        article_pk = request.GET.get("article") or None
        query = request.GET.get("query", "").strip()[:100]
        form = None
        status = 200
    if article_pk is not None and not str(article_pk).isdigit():
        raise Http404("知识不存在")
    article = _reportable_article(request, int(article_pk)) if article_pk else None
    return render(
        request,
        "knowledge/corrections/report.html",
        {
            "form": form,
            "query": query,
            "article": article,
            "next": _safe_next(request, reverse("kb_corrections_mine")),
        },
        status=status,
    )


@pages.requires("kb.view")
@require_http_methods(["GET"])
def mine(request):
    """我的上报: the reports I made, and what became of them."""
    rows = selectors.corrections_of_reporter(request.user)
    return render(
        request,
        "knowledge/corrections/mine.html",
        {"page": pages.page_of(request, rows, per_page=20)},
    )


# --- the KB team's list and statistics --------------------------------------------------------


class FilterForm(forms.Form):
    q = forms.CharField(
        label="检索词 / 知识",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "检索词、知识标题或描述"}),
    )
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[
            ("", "全部状态"),
            *((s.value, label) for s, label in CORRECTION_STATE_LABELS.items()),
        ],
        error_messages={"invalid_choice": "状态取值不正确"},
    )
    kind = forms.ChoiceField(
        label="类型",
        required=False,
        choices=[("", "全部类型"), *Correction.Kind.choices],
        error_messages={"invalid_choice": "类型取值不正确"},
    )
    age = forms.ChoiceField(
        label="时长",
        required=False,
        choices=[("", "不限"), *selectors.AGE_CHOICES.items()],
        error_messages={"invalid_choice": "时长取值不正确"},
    )
    date_from = forms.DateField(
        label="上报日期从",
        required=False,
        widget=DATE,
        error_messages={"invalid": "请输入正确的日期"},
    )
    date_to = forms.DateField(
        label="至", required=False, widget=DATE, error_messages={"invalid": "请输入正确的日期"}
    )
    mine = forms.ChoiceField(
        label="经办人",
        required=False,
        choices=[("", "全部"), ("1", "我经办的")],
        error_messages={"invalid_choice": "经办人取值不正确"},
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "结束日期不能早于开始日期")
        return data

    def filters(self) -> selectors.CorrectionFilter:
        data = self.cleaned_data if self.is_bound else {}
        return selectors.CorrectionFilter(
            state=data.get("state") or "",
            kind=data.get("kind") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=(data.get("q") or "").strip(),
            age=data.get("age") or "",
            mine=data.get("mine") == "1",
        )


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period of the statistics: the dates asked for, else the last 30 days."""
    today = timezone.localdate()
    end = end or today
    start = start or min(end, today) - dt.timedelta(days=DEFAULT_DAYS - 1)
    return start, end


@pages.requires(TRIAGE)
@require_http_methods(["GET"])
def correction_list(request):
    form = FilterForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        rows, status = Correction.objects.none(), 400
        start, end = _period(None, None)
    else:
        filters = form.filters()
        rows = selectors.correction_list(request.user, filters)
        start, end = _period(filters.date_from, filters.date_to)
    page = pages.page_of(request, rows, per_page=30)
    now = timezone.now()
    for row in page:
        row.title = selectors.correction_title(row)
        row.hours = selectors.age_hours(row, now)
        row.late = row.state in selectors.OPEN_STATES and row.hours > LATE_HOURS
    return render(
        request,
        "knowledge/corrections/list.html",
        {
            "form": form,
            "page": page,
            "stats": selectors.correction_stats(request.user, start, end),
        },
        status=status,
    )


# --- one report and its triage ----------------------------------------------------------------


class AcceptForm(forms.Form):
    handler = forms.ModelChoiceField(
        label="经办人",
        queryset=None,
        empty_label="请选择经办人",
        error_messages={"required": "请选择经办人", "invalid_choice": "经办人不正确"},
    )

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handler"].queryset = selectors.handler_candidates(viewer)
        self.fields["handler"].label_from_instance = lambda u: u.display_name or u.username
        self.fields["handler"].initial = viewer.pk


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label="处理说明",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "请填写处理说明",
            "max_length": "处理说明不能超过 %(limit_value)d 字",
        },
    )
    article = forms.IntegerField(
        label="修正或新增的知识编号",
        required=False,
        min_value=1,
        help_text="填写后，上报人收到的提醒将链接到该知识",
        error_messages={"invalid": "知识编号须为数字", "min_value": "知识编号须为正整数"},
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="不采纳理由",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "请填写不采纳理由",
            "max_length": "理由不能超过 %(limit_value)d 字",
        },
    )


FORMS = {"accept": AcceptForm, "resolve": ResolveForm, "reject": RejectForm}


def _move_forms(request, correction, posted=None, bound=None) -> list[dict]:
    """The triage forms legal in the report's state, in the table's order."""
    if not request.user.can(TRIAGE):
        return []
    if not selectors.corrections_triageable(request.user).filter(pk=correction.pk).exists():
        return []
    shown = []
    for code, move in CORRECTION_MOVES.items():
        if correction.state not in move.sources:
            continue
        if code == posted:
            form = bound
        elif code == "accept":
            form = AcceptForm(viewer=request.user, prefix=code)
        elif code == "resolve":
            initial = {"article": correction.article_id} if correction.article_id else {}
            form = ResolveForm(prefix=code, initial=initial)
        else:
            form = FORMS[code](prefix=code)
        shown.append({"code": code, "label": move.label, "form": form})
    return shown


def _triage(request, correction, code):
    move_form = FORMS[code]
    form = (
        move_form(request.POST, viewer=request.user, prefix=code)
        if code == "accept"
        else move_form(request.POST, prefix=code)
    )
    if not form.is_valid():
        return False, form
    data = form.cleaned_data
    if code == "accept":
        call = lambda: services.correction_accept(  # noqa: E731
            actor=request.user, correction=correction, handler=data["handler"]
        )
    elif code == "resolve":
        article = None
        if data["article"]:
            article = selectors.readable_article(request.user, data["article"])
            if article is None:
                form.add_error("article", "知识编号不存在或不在您的管辖范围内")
                return False, form
        call = lambda: services.correction_resolve(  # noqa: E731
            actor=request.user,
            correction=correction,
            resolution=data["resolution"],
            article=article,
        )
    else:
        call = lambda: services.correction_reject(  # noqa: E731
            actor=request.user, correction=correction, reason=data["reason"]
        )
    ok, _ = pages.attempt(
        request,
        call,
        success=f"已{CORRECTION_MOVES[code].label}：{selectors.correction_title(correction)}",
        form=form,
    )
    return ok, form


@pages.requires("kb.view")
@require_http_methods(["GET", "POST"])
def correction_detail(request, pk: int):
    """The report; its triage forms for the KB team. A reporter may read their own."""
    _, correction = pages.attempt(
        request, lambda: get_or_404(selectors.corrections_visible(request.user), pk=pk)
    )
    status, posted, bound = 200, None, None
    if request.method == "POST":
        code = request.POST.get("move", "")
        if code not in CORRECTION_MOVES:
            messages.error(request, "未知的操作")
            return redirect("kb_correction", pk=pk)
        if not request.user.can(TRIAGE):
            raise PermissionDenied("处理查无纠错需要“处理查无纠错”权限。")
        ok, bound = _triage(request, correction, code)
        if ok:
            return redirect("kb_correction", pk=pk)
        posted, status = code, 422
        correction.refresh_from_db()
    return render(
        request,
        "knowledge/corrections/detail.html",
        {
            "correction": correction,
            "title": selectors.correction_title(correction),
            "hours": selectors.age_hours(correction),
            "moves": _move_forms(request, correction, posted, bound),
            "open": correction.state in selectors.OPEN_STATES,
            "triager": request.user.can(TRIAGE),
            "article_new": selectors.article_new_link(request.user),
            "article_url": (
                selectors.article_link(request.user, correction.article)
                if correction.article_id
                else ""
            ),
            "resolved_url": (
                selectors.article_link(request.user, correction.resolved_article)
                if correction.resolved_article_id
                else ""
            ),
        },
        status=status,
    )


# --- the 查无 feed ---------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label="检索日期从",
        required=False,
        widget=DATE,
        error_messages={"invalid": "请输入正确的日期"},
    )
    date_to = forms.DateField(
        label="至", required=False, widget=DATE, error_messages={"invalid": "请输入正确的日期"}
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "结束日期不能早于开始日期")
        return data


@pages.requires(TRIAGE)
@require_http_methods(["GET"])
def candidates(request):
    """查无热词: the searches without results, most frequent first."""
    form = PeriodForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        start, end = _period(None, None)
        rows, status = [], 400
    else:
        data = form.cleaned_data if form.is_bound else {}
        start, end = _period(data.get("date_from"), data.get("date_to"))
        rows = selectors.not_found_feed(request.user, start, end, limit=50)
    if not form.is_bound:
        form = PeriodForm(initial={"date_from": start, "date_to": end})
    return render(
        request,
        "knowledge/corrections/candidates.html",
        {
            "form": form,
            "rows": rows,
            "start": start,
            "end": end,
            "article_new": selectors.article_new_link(request.user),
        },
        status=status,
    )


@pages.requires(TRIAGE)
@require_POST
def candidate_report(request):
    """Turn a query of the feed into a not-found report made by the editor."""
    query = request.POST.get("query", "").strip()
    searches = request.POST.get("searches", "")
    note = f"检索无结果 {searches} 次" if searches.isdigit() else "检索无结果"
    ok, correction = pages.attempt(
        request,
        lambda: services.correction_report(
            actor=request.user,
            kind=Correction.Kind.NOT_FOUND,
            query=query,
            description=f"由查无热词转入：“{query}”{note}。",
        ),
        success=f"已将“{query}”转为查无上报",
    )
    if ok:
        return redirect("kb_correction", pk=correction.pk)
    return redirect(_safe_next(request, reverse("kb_correction_candidates")))
