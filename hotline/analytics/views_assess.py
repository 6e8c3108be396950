"""Pages of the assessment (考核): 考核评分 (choose a scheme and a period → the scorecard,
xlsx export, keep the result) and 人工考核项 (list, enter with evidence, approve or reject).
"""

import logging
from urllib.parse import quote, urlencode

from django import forms
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from hotline.core.errors import HotlineError
from hotline.core.exports import styled_workbook
from hotline.core.scope import scope_of
from hotline.web.pages import attempt, page_of, requires

from . import assessment, services
from .assessment import EventShare, ManualValue
from .kpis import Unit
from .models import ManualItem, ScorecardRun
from .presets import SCHEMES, event_kinds, get_scheme

log = logging.getLogger("hotline.analytics")
PERMISSION = services.PERMISSION
SCHEME_CHOICES = [(s.id, f"{s.name}（{s.seed}）") for s in SCHEMES.values()]
DEFAULT_SCHEME = "sanya"


class ScorecardForm(forms.Form):
    """考核方案与统计期."""

    scheme = forms.ChoiceField(label="考核方案", choices=SCHEME_CHOICES)
    period = forms.CharField(
        label="统计期",
        max_length=10,
        help_text="月 2026-03、季度 2026-Q1 或年 2026",
        widget=forms.TextInput(attrs={"placeholder": "2026-03 / 2026-Q1 / 2026"}),
    )

    def clean_period(self):
        try:
            return assessment.parse_period(self.cleaned_data["period"])
        except HotlineError as error:
            raise forms.ValidationError(error.message) from None


def _scorecard_form(request) -> ScorecardForm:
    data = request.GET.copy()
    data.setdefault("scheme", DEFAULT_SCHEME)
    data.setdefault("period", f"{timezone.localdate():%Y-%m}")
    return ScorecardForm(data)


def _card(request, form):
    scheme = get_scheme(form.cleaned_data["scheme"])
    return assessment.score(
        scheme, assessment.gather(scheme, form.cleaned_data["period"], request.user.platform)
    )


def _query(form) -> str:
    return urlencode(
        {"scheme": form.cleaned_data["scheme"], "period": form.cleaned_data["period"].text}
    )


@requires(PERMISSION)
def scorecard(request):
    form = _scorecard_form(request)
    card = None
    if form.is_valid():
        card = _card(request, form)
    else:
        log.info("assessment page refused: %s", form.errors.as_text())
    runs = ScorecardRun.objects.filter(platform=request.user.platform).select_related("run_by")[:10]
    return render(
        request,
        "analytics/assess/scorecard.html",
        {
            "form": form,
            "card": card,
            "query": _query(form) if card else "",
            "runs": [(r, SCHEMES.get(r.scheme)) for r in runs],
            "payment_text": _payment_text(card) if card else "",
        },
        status=200 if card else 422,
    )


def _payment_text(card) -> str:
    if card.payment_rate is None:
        return "合同未约定"
    return f"{card.payment_rate * 100:g}%"


@requires(PERMISSION)
def scorecard_export(request):
    form = _scorecard_form(request)
    if not form.is_valid():
        return scorecard(request)
    card = _card(request, form)
    rows = []
    for item in card.items:
        for one, depth in [(item, 0)] + [(p, 1) for p in item.parts]:
            rows.append(
                [
                    one.code,
                    ("　" * depth) + one.name,
                    one.group,
                    one.nominal,
                    one.value_text,
                    one.points,
                    one.rule,
                ]
            )
    rows.append(["", "总分", "", card.scheme.nominal, "", card.total, ""])
    rows.append(["", "等次", "", "", "", card.grade or "合同未约定", ""])
    rows.append(["", "支付比例", "", "", "", _payment_text(card), card.scheme.payment_note])
    body = styled_workbook(
        "考核评分",
        ["编号", "考核项目", "类别", "分值", "实际值", "得分", "计分规则"],
        rows,
        [8, 28, 16, 8, 14, 8, 110],
    )
    filename = f"考核-{card.scheme.id}-{card.period.text}.xlsx"
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="assessment-{card.scheme.id}-{card.period.text}.xlsx"; '
        f"filename*=UTF-8''{quote(filename)}"
    )
    return response


@require_POST
@requires(PERMISSION)
def scorecard_store(request):
    form = ScorecardForm(request.POST)
    if not form.is_valid():
        log.info("assessment store refused: %s", form.errors.as_text())
        return render(
            request,
            "analytics/assess/scorecard.html",
            {"form": form, "card": None, "runs": []},
            status=422,
        )
    attempt(
        request,
        lambda: services.scorecard_store(
            actor=request.user,
            platform=request.user.platform,
            scheme=form.cleaned_data["scheme"],
            period=form.cleaned_data["period"].text,
        ),
        success=f"已保存 {form.cleaned_data['period'].label}考核结果",
    )
    return redirect(f"/analytics/assessments/?{_query(form)}")


# --- 人工考核项 ---------------------------------------------------------------------------------------


def _entry_choices(scheme) -> list:
    """“项目 · 事项” options of a scheme, grouped by item: ``code:kind``."""
    groups = []
    for item in scheme.entry_items():
        options = []
        if isinstance(item.measure, ManualValue):
            options.append((f"{item.code}:{ManualItem.VALUE}", f"录入{item.measure.label}"))
        for kind in event_kinds(scheme, item):
            if kind.ranged:
                low, high = sorted((abs(kind.points), abs(kind.upto)))
                amount = f"{'+' if kind.points > 0 else '−'}{low:g}–{high:g} 分（认定）"
            elif isinstance(item.measure, EventShare):
                amount = "计入投诉率"
            else:
                amount = f"{'+' if kind.points > 0 else '−'}{abs(kind.points):g} 分/次"
            options.append((f"{item.code}:{kind.code}", f"{kind.label}（{amount}）"))
        groups.append((f"{item.code} {item.name}", options))
    return groups


class ManualItemForm(forms.Form):
    """录入人工考核项."""

    scheme = forms.ChoiceField(label="考核方案", choices=SCHEME_CHOICES, widget=forms.HiddenInput)
    entry = forms.ChoiceField(label="考核项目与事项")
    month = forms.CharField(
        label="所属月份", widget=forms.DateInput(attrs={"type": "month"}), max_length=7
    )
    occurred_on = forms.DateField(
        label="发生日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    count = forms.IntegerField(label="次数", min_value=1, max_value=100, initial=1, required=False)
    value = forms.FloatField(
        label="录入值（%）", required=False, help_text="录入类项目填写，如 92.5 表示 92.5%"
    )
    points = forms.FloatField(
        label="认定分值", required=False, help_text="“视情节轻重”的事项填写，在规定范围内"
    )
    note = forms.CharField(
        label="佐证说明",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="事由、来源、时间、经办人等",
    )
    attachment = forms.FileField(label="佐证材料", required=False)

    def __init__(self, *args, scheme, **kwargs):
        super().__init__(*args, **kwargs)
        self.scheme = scheme
        self.fields["entry"].choices = _entry_choices(scheme)
        self.fields["scheme"].initial = scheme.id


def _manual_context(request, scheme, form):
    rows = ManualItem.objects.filter(
        platform_id__in=scope_of(request.user).platform_ids, scheme=scheme.id
    ).select_related("entered_by", "reviewed_by")
    state = request.GET.get("state") or ""
    if state in ManualItem.State.values:
        rows = rows.filter(state=state)
    page = page_of(request, rows, 30)
    return {
        "scheme": scheme,
        "schemes": SCHEMES.values(),
        "form": form,
        "page": page,
        "rows": [(row, _describe(scheme, row)) for row in page],
        "state": state,
        "states": ManualItem.State.choices,
    }


def _describe(scheme, row) -> dict:
    try:
        item = scheme.item(row.item_code)
    except HotlineError:
        return {"item": row.item_code, "kind": row.kind, "amount": ""}
    if row.kind == ManualItem.VALUE:
        unit = item.measure.unit if isinstance(item.measure, ManualValue) else Unit.RATE
        return {
            "item": item.name,
            "kind": f"录入{item.measure.label}",
            "amount": assessment.format_value(row.value, unit),
        }
    kind = next((k for k in event_kinds(scheme, item) if k.code == row.kind), None)
    each = row.points if row.points is not None else (kind.points if kind else 0)
    amount = f"{row.count} 次" + (f"，{each:+g} 分/次" if each else "")
    return {"item": item.name, "kind": kind.label if kind else row.kind, "amount": amount}


def _scheme_of(request):
    scheme_id = request.GET.get("scheme") or request.POST.get("scheme") or DEFAULT_SCHEME
    if scheme_id not in SCHEMES:
        raise Http404("没有这个考核方案")
    return SCHEMES[scheme_id]


@requires(PERMISSION)
def manual_list(request):
    scheme = _scheme_of(request)
    form = ManualItemForm(scheme=scheme, initial={"month": f"{timezone.localdate():%Y-%m}"})
    return render(request, "analytics/assess/manual.html", _manual_context(request, scheme, form))


@require_POST
@requires(PERMISSION)
def manual_enter(request):
    scheme = _scheme_of(request)
    form = ManualItemForm(request.POST, request.FILES, scheme=scheme)
    if form.is_valid():
        data = form.cleaned_data
        item_code, _, kind = data["entry"].partition(":")
        value = data.get("value")
        ok, _ = attempt(
            request,
            lambda: services.manual_item_enter(
                actor=request.user,
                platform=request.user.platform,
                scheme=scheme.id,
                item_code=item_code,
                kind=kind,
                month=data["month"],
                occurred_on=data.get("occurred_on"),
                count=data.get("count") or 1,
                value=value / 100 if value is not None else None,
                points=data.get("points"),
                note=data["note"],
                upload=data.get("attachment"),
            ),
            success="已录入，待他人审核后计入考核",
            form=form,
        )
        if ok:
            return redirect(f"/analytics/assessments/manual/?scheme={scheme.id}")
    log.info("manual item refused: %s", form.errors.as_text())
    context = _manual_context(request, scheme, form)
    return render(request, "analytics/assess/manual.html", context, status=422)


@require_POST
@requires(PERMISSION)
def manual_review(request, pk: int):
    row = get_object_or_404(ManualItem, pk=pk, platform_id__in=scope_of(request.user).platform_ids)
    approve = request.POST.get("decision") == "approve"
    ok, _ = attempt(
        request,
        lambda: services.manual_item_review(
            actor=request.user, item=row, approve=approve, note=request.POST.get("review_note", "")
        ),
        success="已审核通过，计入考核" if approve else "已驳回",
    )
    if not ok:
        log.info("manual item review refused (%s)", pk)
    return redirect(f"/analytics/assessments/manual/?scheme={row.scheme}")


@requires(PERMISSION)
def manual_attachment(request, pk: int):
    row = get_object_or_404(ManualItem, pk=pk, platform_id__in=scope_of(request.user).platform_ids)
    if not row.attachment:
        raise Http404("该考核项没有佐证材料")
    return FileResponse(row.attachment.open("rb"), as_attachment=True, filename=row.attachment_name)
