"""汇编汇总 page: the added, changed and expired articles of a week, month, year or custom
range, downloadable as xlsx and docx, and the compilations the worker stored."""

import datetime as dt
from urllib.parse import quote

from django import forms
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from hotline.web import pages

from ..selectors import compilations as selectors
from ..services import compilations as services

PERMISSION = "kb.view"
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label="周期",
        choices=[(k, v) for k, v in selectors.PERIODS.items()],
        initial="week",
        error_messages={"invalid_choice": "周期须为周、月、年或自定义"},
    )
    date = forms.DateField(
        label="所在日期",
        required=False,
        widget=DATE,
        help_text="汇编该日期所在的周、月或年",
        error_messages={"invalid": "请输入正确的日期"},
    )
    start = forms.DateField(
        label="开始日期",
        required=False,
        widget=DATE,
        error_messages={"invalid": "请输入正确的日期"},
    )
    end = forms.DateField(
        label="结束日期",
        required=False,
        widget=DATE,
        error_messages={"invalid": "请输入正确的日期"},
    )
    platform = forms.ChoiceField(label="平台", required=False)

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        platforms = selectors.platforms_for(viewer)
        self.fields["platform"].choices = [(p.code, p.name) for p in platforms]
        self.fields["platform"].initial = viewer.platform.code
        self.fields["platform"].error_messages["invalid_choice"] = "平台不在您的查阅范围内"
        self.many_platforms = len(platforms) > 1


def _default_day() -> dt.date:
    """Last week: the compilation people look for is usually of a complete week."""
    return timezone.localdate() - dt.timedelta(days=7)


def _compile(request):
    """(form, compilation or None, status) for the period asked in the query string."""
    data = request.GET.copy()
    data.setdefault("period", "week")
    data.setdefault("platform", request.user.platform.code)
    if not data.get("date") and data["period"] != "custom":
        data["date"] = _default_day().isoformat()
    form = PeriodForm(data, viewer=request.user)
    if not form.is_valid():
        return form, None, 400
    clean = form.cleaned_data
    ok, span = pages.attempt(
        request,
        lambda: selectors.period_range(
            clean["period"], clean["date"], clean["start"], clean["end"]
        ),
        form=form,
    )
    if not ok:
        return form, None, 400
    _, platform = pages.attempt(
        request, lambda: selectors.platform_for(request.user, clean["platform"])
    )
    start, end = span
    return form, selectors.compile_period(platform, start, end, kind=clean["period"]), 200


def _neighbours(request, compilation) -> dict:
    """Query strings of the previous and next period (weeks, months and years only)."""
    if compilation is None or compilation.kind == "custom":
        return {}
    query = request.GET.copy()
    query["period"] = compilation.kind
    query.pop("start", None)
    query.pop("end", None)
    links = {}
    for name, day in (
        ("previous", compilation.start - dt.timedelta(days=1)),
        ("next", compilation.end + dt.timedelta(days=1)),
    ):
        query["date"] = day.isoformat()
        links[name] = query.urlencode()
    return links


@pages.requires(PERMISSION)
@require_GET
def compilation_page(request):
    form, compilation, status = _compile(request)
    platform = compilation.platform if compilation else request.user.platform
    return render(
        request,
        "knowledge/compilations/page.html",
        {
            "form": form,
            "compilation": compilation,
            "query": request.GET.urlencode(),
            "neighbours": _neighbours(request, compilation),
            "stored": selectors.stored_files(platform),
            "platform": platform,
        },
        status=status,
    )


@pages.requires(PERMISSION)
@require_GET
def compilation_download(request, fmt: str):
    if fmt not in CONTENT_TYPES:
        raise Http404("不支持的文件格式")
    form, compilation, _ = _compile(request)
    if compilation is None:
        problems = "；".join(e for errors in form.errors.values() for e in errors)
        return HttpResponse(
            f"汇编条件有误：{problems}", status=400, content_type="text/plain; charset=utf-8"
        )
    body = services.workbook(compilation) if fmt == "xlsx" else services.document(compilation)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    name = services.filename(compilation, fmt)
    response["Content-Disposition"] = (
        f'attachment; filename="kb-compilation-{compilation.start:%Y%m%d}-'
        f"{compilation.end:%Y%m%d}.{fmt}\"; filename*=UTF-8''{quote(name)}"
    )
    return response


@pages.requires(PERMISSION)
@require_GET
def compilation_file(request, name: str):
    """A compilation stored by the worker, of a platform the viewer reads."""
    _, path = pages.attempt(request, lambda: selectors.stored_file(request.user, name))
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"知识汇编-{name}",
        content_type=CONTENT_TYPES[path.suffix.lstrip(".")],
    )
