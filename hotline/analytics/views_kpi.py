"""Pages of the KPI registry: 指标一览 (period, scope, values against targets, xlsx),
指标明细 (the records behind one figure) and 指标定义 (generated from the registry)."""

import datetime as dt
import logging
from urllib.parse import quote

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from hotline.contact.models import Channel
from hotline.core.errors import HotlineError, Invalid, NotFound
from hotline.core.exports import styled_workbook
from hotline.web.pages import page_of, requires

from . import selectors
from .kpis import (
    DIMENSION_LABELS,
    KPI_LIST,
    KPIS,
    NOT_YET,
    SEEDS,
    UNIT_LABELS,
    Kpi,
    Unit,
    format_number,
    format_target,
)

log = logging.getLogger("hotline.analytics")
PERMISSION = "workorders.view"
RECORDS_PER_PAGE = 50

PERIODS = [("this_month", "本月"), ("last_month", "上月"), ("custom", "自定义")]


class KpiFilterForm(forms.Form):
    """统计期与范围: 本月, 上月, or custom dates; platform, team, agent, unit, channel."""

    period = forms.ChoiceField(label="统计期", choices=PERIODS, required=False)
    date_from = forms.DateField(
        label="开始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="结束日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    platform = forms.ChoiceField(label="平台", required=False)
    team = forms.ChoiceField(label="班组", required=False)
    agent = forms.ChoiceField(label="坐席", required=False)
    unit = forms.ChoiceField(label="承办单位", required=False)
    channel = forms.ChoiceField(
        label="渠道", required=False, choices=[("", "全部渠道")] + list(Channel.choices)
    )

    def __init__(self, data, *, viewer):
        super().__init__(data)
        choices = selectors.filter_choices(viewer)
        self.fields["platform"].choices = [("", "本平台")] + [
            (p.code, p.name) for p in choices["platforms"]
        ]
        self.fields["team"].choices = [("", "全部班组")] + [
            (t.pk, t.name) for t in choices["teams"]
        ]
        self.fields["agent"].choices = [("", "全部坐席")] + [
            (u.pk, u.display_name or u.username) for u in choices["agents"]
        ]
        self.fields["unit"].choices = [("", "全部单位")] + [
            (u.pk, u.short_name or u.name) for u in choices["units"]
        ]

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        first = today.replace(day=1)
        kind = data.get("period") or "this_month"
        if kind == "custom":
            if not data.get("date_from") or not data.get("date_to"):
                raise forms.ValidationError("自定义统计期须填写开始与结束日期")
        elif kind == "last_month":
            data["date_to"] = first - dt.timedelta(days=1)
            data["date_from"] = data["date_to"].replace(day=1)
        else:
            data["date_from"], data["date_to"] = first, today
        data["period"] = kind
        return data

    def query(self) -> str:
        """The chosen period and scope as a query string (for links and the export)."""
        from urllib.parse import urlencode

        data = self.cleaned_data
        pairs = {
            "period": "custom",
            "date_from": data["date_from"].isoformat(),
            "date_to": data["date_to"].isoformat(),
        }
        for name in ("platform", "team", "agent", "unit", "channel"):
            if data.get(name):
                pairs[name] = data[name]
        return urlencode(pairs)


def _int(value):
    return int(value) if value not in (None, "") else None


def _scope_of_form(request, form) -> selectors.Scope:
    data = form.cleaned_data
    try:
        start, end = selectors.period(data["date_from"], data["date_to"])
        found = selectors.scope_for_viewer(
            request.user,
            platform=data.get("platform") or None,
            team=_int(data.get("team")),
            agent=_int(data.get("agent")),
            unit=_int(data.get("unit")),
        )
    except NotFound as error:
        raise Http404(error.message) from None
    return selectors.make_scope(start=start, end=end, channel=data.get("channel") or None, **found)


def _rows(scope):
    rows = []
    for kpi, value in selectors.kpi_table(scope):
        met = kpi.met(value.value)
        rows.append(
            {
                "kpi": kpi,
                "value": value,
                "value_text": format_number(kpi, value.value) if value.applicable else "不适用",
                "numerator_text": _part_text(kpi, value.numerator),
                "denominator_text": _part_text(kpi, value.denominator),
                "target_text": format_target(kpi),
                "met": met,
                "drill": value.applicable
                and value.denominator not in (None, 0)
                and kpi.unit != Unit.COUNT,
            }
        )
    return rows


def _part_text(kpi: Kpi, number) -> str:
    if number is None:
        return "—"
    if kpi.id == "work_time_utilization":
        return f"{number / 3600:.1f} 小时"
    if kpi.unit == Unit.SECONDS and number != int(number):
        return f"{number:.1f}"
    return f"{number:,.0f}"


def _form(request):
    """The filter form and, when it is valid, the scope it asks for."""
    form = KpiFilterForm(request.GET, viewer=request.user)
    if not form.is_valid():
        log.info("kpi page refused: %s", form.errors.as_text())
        return form, None
    try:
        return form, _scope_of_form(request, form)
    except Invalid as error:
        log.info("kpi page refused: %s", error.message)
        form.add_error(None, error.message)
        return form, None


@requires(PERMISSION)
def kpi_list(request):
    form, scope = _form(request)
    rows = _rows(scope) if scope is not None else []
    return render(
        request,
        "analytics/kpi/list.html",
        {
            "form": form,
            "rows": rows,
            "query": form.query() if scope is not None else "",
            "period_text": _period_text(form) if scope is not None else "",
        },
        status=200 if scope is not None else 400,
    )


def _period_text(form) -> str:
    data = form.cleaned_data
    return f"{data['date_from']:%Y-%m-%d} 至 {data['date_to']:%Y-%m-%d}"


@requires(PERMISSION)
def kpi_export(request):
    form, scope = _form(request)
    if scope is None:
        return kpi_list(request)
    rows = [
        [
            r["kpi"].name,
            r["value_text"],
            r["numerator_text"],
            r["denominator_text"],
            r["target_text"],
            {True: "达标", False: "未达标"}.get(r["met"], "—"),
            r["kpi"].formula,
        ]
        for r in _rows(scope)
    ]
    body = styled_workbook(
        "指标一览",
        ["指标", "数值", "分子", "分母", "目标", "是否达标", "公式"],
        rows,
        [22, 12, 14, 14, 12, 10, 80],
    )
    data = form.cleaned_data
    filename = f"指标-{data['date_from']:%Y%m%d}-{data['date_to']:%Y%m%d}.xlsx"
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="kpi-{data["date_from"]:%Y%m%d}.xlsx"; '
        f"filename*=UTF-8''{quote(filename)}"
    )
    return response


@requires(PERMISSION)
def kpi_records(request, kpi_id: str):
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        raise Http404("没有这个指标")
    form, scope = _form(request)
    part = request.GET.get("part") or "numerator"
    rows, page, error = [], None, ""
    if scope is not None:
        try:
            if part not in ("numerator", "denominator"):
                raise Invalid("明细须为分子或分母")
            records = selectors.records_in(kpi.id, scope, part=part)
            page = page_of(request, records, RECORDS_PER_PAGE)
            rows = selectors.record_rows(records, RECORDS_PER_PAGE, page.start_index() - 1)
        except HotlineError as refused:
            log.info("kpi records refused: %s", refused.message)
            error = refused.message
    return render(
        request,
        "analytics/kpi/records.html",
        {
            "kpi": kpi,
            "form": form,
            "part": part,
            "part_text": kpi.numerator if part == "numerator" else kpi.denominator,
            "rows": rows,
            "page": page,
            "error": error,
            "query": form.query() if scope is not None else "",
            "period_text": _period_text(form) if scope is not None else "",
        },
        status=200 if page is not None else 400,
    )


@requires(PERMISSION)
def kpi_definitions(request):
    items = [
        {
            "kpi": k,
            "unit": UNIT_LABELS[k.unit],
            "target": format_target(k),
            "dimensions": "、".join(
                DIMENSION_LABELS[d] for d in DIMENSION_LABELS if d in k.dimensions
            ),
            "seeds": [SEEDS[s] for s in k.seeds],
            "seed_targets": [(s, format_number(k, v)) for s, v in k.seed_targets.items()],
        }
        for k in KPI_LIST
    ]
    return render(request, "analytics/kpi/definitions.html", {"items": items, "not_yet": NOT_YET})
