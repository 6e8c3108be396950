"""统计报表 pages: the list of reports with a period picker and 生成 per format, the files
already made (by the worker or on demand) with 下载, and the download itself."""

import logging
from functools import wraps
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from hotline.core.errors import HotlineError, NotFound
from hotline.web.pages import attempt

from .reports import FORMATS, REPORTS_LIST, check_format, get, services
from .reports import selectors as report_selectors
from .reports.base import PERIOD_FORMATS, PERIOD_KINDS

log = logging.getLogger("hotline.analytics.reports")
# The picker's input per period kind (Chromium and Firefox offer week and month pickers).
INPUT_TYPES = {"day": "date", "week": "week", "month": "month", "year": "number"}


def report_viewer(view):
    """Signed in and holding a role that reads reports, else 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not report_selectors.may_view(request.user):
            raise PermissionDenied("统计报表仅供数据分析员、值班长、项目经理与热线办查看。")
        return view(request, *args, **kwargs)

    return wrapper


def _platform(request, code):
    try:
        return report_selectors.platform_for(request.user, code)
    except NotFound as error:
        raise Http404(error.message) from None


@report_viewer
@require_http_methods(["GET"])
def reports_page(request):
    platform = _platform(request, request.GET.get("platform"))
    rows = []
    for kind in REPORTS_LIST:
        default = kind.period(None)
        rows.append(
            {
                "kind": kind,
                "default": default,
                "input_type": INPUT_TYPES[default.kind],
                "kinds": [
                    (k, PERIOD_KINDS[k], INPUT_TYPES[k], PERIOD_FORMATS[k]) for k in kind.periods
                ],
                "formats": [(f, FORMATS[f][1]) for f in kind.formats],
            }
        )
    return render(
        request,
        "analytics/reports/list.html",
        {
            "rows": rows,
            "platform": platform,
            "platforms": report_selectors.platforms_for(request.user),
            "files": report_selectors.stored_files(request.user),
        },
    )


@report_viewer
@require_POST
def reports_generate(request, report_id: str):
    back = reverse("reports")
    platform_code = request.POST.get("platform", "")
    if platform_code:
        back += "?" + urlencode({"platform": platform_code})

    def make():
        kind = get(report_id)
        fmt = check_format(kind, request.POST.get("format"))
        period = kind.period(request.POST.get("period"))
        platform = report_selectors.platform_for(request.user, platform_code)
        return services.report_generate(
            actor=request.user, kind=kind, platform=platform, period=period, fmt=fmt
        )

    try:
        done, stored = attempt(request, make)
    except Http404:
        log.info("report refused: %s %s", report_id, request.POST.dict())
        raise
    if done:
        messages.success(request, f"已生成：{stored.title}（用时 {stored.seconds:.1f} 秒）")
        return redirect(f"{back}{'&' if '?' in back else '?'}made={quote(stored.name)}")
    log.info("report refused: %s %s", report_id, request.POST.dict())
    return redirect(back)


@report_viewer
@require_http_methods(["GET"])
def reports_file(request, name: str):
    try:
        found = report_selectors.stored_path(request.user, name)
    except HotlineError as error:
        log.info("report download refused: %s", name)
        raise Http404(error.message) from None
    path = services.report_dir() / found.name
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=found.title,
        content_type=FORMATS[found.fmt][0],
    )
