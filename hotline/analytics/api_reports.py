"""统计报表 API: ``GET /api/reports`` lists the reports (periods, formats, schedule);
``POST /api/reports/{id}?period=&format=&platform=`` makes one and answers with the file
(also kept under ``VAR_DIR/reports/`` with the others). Readers: 数据分析员, 值班长,
项目经理, 热线办, within their data scope."""

import logging
from urllib.parse import quote

from django.http import HttpResponse
from ninja import Router, Schema

from .reports import FORMATS, REPORTS_LIST, check_format, get, services
from .reports import selectors as report_selectors
from .reports.base import PERIOD_FORMATS, PERIOD_KINDS

log = logging.getLogger("hotline.analytics.reports")
router = Router(tags=["统计报表"])


class PeriodKindOut(Schema):
    kind: str
    label: str
    format: str


class ReportOut(Schema):
    id: str
    name: str
    description: str
    periods: list[PeriodKindOut]
    formats: list[str]
    default_period: str
    schedule: str


class ReportsOut(Schema):
    items: list[ReportOut]


@router.get("/reports", response=ReportsOut, summary="报表列表")
def reports_list(request):
    report_selectors.check_viewer(request.user)
    return {
        "items": [
            {
                "id": kind.id,
                "name": kind.name,
                "description": kind.description,
                "periods": [
                    {"kind": k, "label": PERIOD_KINDS[k], "format": PERIOD_FORMATS[k]}
                    for k in kind.periods
                ],
                "formats": list(kind.formats),
                "default_period": kind.period(None).key,
                "schedule": kind.schedule,
            }
            for kind in REPORTS_LIST
        ]
    }


@router.post(
    "/reports/{report_id}",
    summary="生成报表（返回文件）",
    response={200: None},
    openapi_extra={
        "responses": {
            200: {
                "description": "报表文件（xlsx 或 docx）",
                "content": {ctype: {} for ctype, _ in FORMATS.values()},
            }
        }
    },
)
def reports_generate(
    request, report_id: str, period: str = "", format: str = "", platform: str = ""
):
    report_selectors.check_viewer(request.user)
    kind = get(report_id)
    fmt = check_format(kind, format)
    chosen = kind.period(period)
    where = report_selectors.platform_for(request.user, platform)
    stored = services.report_generate(
        actor=request.user, kind=kind, platform=where, period=chosen, fmt=fmt
    )
    response = HttpResponse(stored.path.read_bytes(), content_type=FORMATS[fmt][0])
    response["Content-Disposition"] = (
        f"attachment; filename=\"{stored.name}\"; filename*=UTF-8''{quote(stored.title)}"
    )
    return response
