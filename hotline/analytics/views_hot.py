"""热点分析 pages: the period picker, the ranked rising topics, the clusters of similar
orders (each order linked to its page), and the xlsx export of both."""

import datetime as dt
from urllib.parse import quote

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from hotline.core import selectors as core_selectors
from hotline.core.errors import Forbidden, HotlineError
from hotline.core.exports import styled_sheets
from hotline.core.scope import scope_of
from hotline.web import pages
from hotline.workorders import services as order_services
from hotline.workorders.models import Category

from . import hot

DEFAULT_DAYS = 7


class PeriodForm(forms.Form):
    """统计期间与筛选: a period compared with the one just before it."""

    platform = forms.ChoiceField(
        label="平台", required=False, error_messages={"invalid_choice": "平台取值不正确"}
    )
    area = forms.CharField(label="区域", required=False, max_length=50)
    category = forms.TypedChoiceField(
        label="诉求分类",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "诉求分类取值不正确"},
    )

    def __init__(self, data, *, viewer):
        super().__init__(data)
        # the query string says from= and to=, as the API does (not Python names)
        for name, label in (("from", "开始日期"), ("to", "结束日期")):
            self.fields[name] = forms.DateField(
                label=label,
                widget=forms.DateInput(attrs={"type": "date"}),
                error_messages={"required": f"请选择{label}", "invalid": "请输入正确的日期"},
            )
        self.order_fields(["from", "to", "platform", "area", "category"])
        platforms = core_selectors.platforms_visible(viewer)
        if scope_of(viewer).unit_id is not None:  # unit staff: their unit's orders only
            platforms = platforms.none()
        self.fields["platform"].choices = [("", "全部（本级及下级）")] + [
            (p.code, p.name) for p in platforms
        ]
        # the upper two levels of the tree: a topic is looked for within a subject area
        upper = Category.objects.filter(is_active=True, children__isnull=False).distinct()
        self.fields["category"].choices = [("", "全部分类")] + [
            (c.pk, c.path_name) for c in upper.select_related("parent").order_by("code")
        ]

    def clean(self):
        data = super().clean()
        if data.get("from") and data.get("to"):
            try:
                hot.check_period(data["from"], data["to"])
            except HotlineError as error:
                self.add_error("to", error.message)
        return data

    def scope(self) -> hot.Scope:
        data = self.cleaned_data
        return hot.Scope(
            start=data["from"],
            end=data["to"],
            platform=data.get("platform") or "",
            area=(data.get("area") or "").strip(),
            category=data.get("category"),
        )


def _form(request) -> PeriodForm:
    query = request.GET.copy()
    if "from" not in query and "to" not in query:
        today = timezone.localdate()
        query["from"] = str(today - dt.timedelta(days=DEFAULT_DAYS - 1))
        query["to"] = str(today)
    return PeriodForm(query, viewer=request.user)


def _analysis(request, form: PeriodForm):
    """(topic report, clusters, compared) of the form's scope; refusals as 403."""
    scope = form.scope()
    try:
        orders = hot.orders_for(request.user, scope)
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    report = hot.topics(orders, scope.start, scope.end, limit=30)
    found, compared = hot.clusters(orders, scope.start, scope.end, limit=20)
    return report, found, compared


@pages.requires("workorders.view")
@require_http_methods(["GET"])
def hot_topics(request):
    form = _form(request)
    context = {"form": form, "query": ""}
    if not form.is_valid():
        return render(request, "analytics/hot/topics.html", context, status=400)
    report, found, compared = _analysis(request, form)
    top = max((t.count for t in report.topics), default=0)
    order_url = reverse("order_detail", args=["NUMBER"])
    for topic in report.topics:
        topic.orders = [
            {"number": n, "url": order_url.replace("NUMBER", n)} for n in topic.order_numbers
        ]
        topic.trend = (
            "up" if topic.score > 0 else ("down" if topic.growth and topic.growth < 0 else "flat")
        )
    for cluster in found:
        for order in cluster.orders:
            order["url"] = order_url.replace("NUMBER", order["number"])
    query = request.GET.copy()
    query["from"], query["to"] = str(form.cleaned_data["from"]), str(form.cleaned_data["to"])
    context.update(
        report=report,
        rising=[t for t in report.topics if t.score > 0],
        steady=[t for t in report.topics if t.score <= 0],
        top=top,
        clusters=found,
        compared=compared,
        query=query.urlencode(),
    )
    return render(request, "analytics/hot/topics.html", context)


@pages.requires("workorders.view")
@require_http_methods(["GET"])
def hot_export(request):
    form = _form(request)
    if not form.is_valid():
        return hot_topics(request)
    report, found, _ = _analysis(request, form)
    topic_rows = [
        [
            rank,
            t.term,
            "、".join(t.related),
            t.count,
            t.previous,
            t.growth_text,
            t.score,
            t.category,
            "、".join(t.order_numbers),
        ]
        for rank, t in enumerate(report.topics, start=1)
    ]
    cluster_rows = []
    for rank, cluster in enumerate(found, start=1):
        areas = "、".join(f"{a} {n}" for a, n in cluster.areas)
        for order in cluster.orders:
            cluster_rows.append(
                [
                    rank,
                    " ".join(cluster.label),
                    order["number"],
                    order["title"],
                    order["area"],
                    timezone.localtime(order["created_at"]).strftime("%Y-%m-%d %H:%M"),
                    cluster.size,
                    areas,
                ]
            )
    # the sheet lists orders (numbers and titles): audited as an export of orders
    order_services.orders_exported(
        actor=request.user,
        filters={"热点分析": True, **request.GET.dict()},
        rows=len(topic_rows) + len(cluster_rows),
    )
    body = styled_sheets(
        [
            (
                "热点话题",
                [
                    "排名",
                    "热词",
                    "相关词",
                    "本期工单",
                    "上期工单",
                    "环比",
                    "热度分",
                    "主要分类",
                    "工单样例",
                ],
                topic_rows,
                [6, 14, 30, 10, 10, 10, 10, 20, 60],
            ),
            (
                "相似工单",
                ["聚类", "共同词", "工单编号", "标题", "区域", "受理时间", "聚类件数", "区域分布"],
                cluster_rows,
                [6, 24, 20, 36, 10, 18, 10, 24],
            ),
        ]
    )
    start, end = form.cleaned_data["from"], form.cleaned_data["to"]
    filename = f"热点分析-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="hot-topics-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"; '
        f"filename*=UTF-8''{quote(filename)}"
    )
    return response
