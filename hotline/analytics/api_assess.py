"""Assessment API — the contract of issue #8:

    GET /api/assessments → the preset schemes (id, name, seed, items, nominal points)
    GET /api/assessments/{scheme}?period=YYYY-MM|YYYY-Qn|YYYY[&platform=]
        → {"total", "grade", "payment_rate", "items": [{"name", "value", "points", "rule"}]}

``payment_rate`` is the share of the contract paid (SY 良好: 0.10); ``grade`` and
``payment_rate`` are null where the contract defines none. An unknown scheme → 404, a
bad period → 422, both with a Chinese ``detail``. Permission: ``workorders.supervise``
(值班长, 派单员, 项目经理, 热线办); the platform defaults to the caller's own.
"""

import logging

from ninja import Field, Query, Router, Schema

from hotline.core.errors import Forbidden, HotlineError

from . import assessment, selectors
from .presets import SCHEMES, get_scheme
from .services import PERMISSION

router = Router(tags=["考核"])
log = logging.getLogger("hotline.analytics")


class ScoreItem(Schema):
    code: str
    name: str
    group: str
    nominal: float = Field(..., description="分值")
    value: float | None = Field(..., description="实际值：比率为 0–1 的小数，事项类为次数")
    value_text: str
    points: float | None = Field(..., description="得分；本期不考核的项目为 null")
    rule: str = Field(..., description="所用计分规则及计算过程（中文）")
    status: str = Field(
        ..., description="scored 已计分 | no_data 无数据 | not_in_period 本期不考核"
    )
    met: bool | None = None
    parts: list["ScoreItem"] = []


class Scorecard(Schema):
    scheme: str
    scheme_name: str
    period: str
    period_label: str
    total: float
    nominal: float = Field(..., description="总分值")
    grade: str | None = Field(..., description="等次；合同未约定时为 null")
    payment_rate: float | None = Field(..., description="按等次支付的合同比例（0.1 = 10%）")
    missing: list[str] = Field(..., description="本期无数据、暂按满分计的项目")
    items: list[ScoreItem]


class SchemeInfo(Schema):
    id: str
    name: str
    seed: str
    items: int
    nominal: float
    note: str


class PeriodQuery(Schema):
    period: str | None = Field(None, description="YYYY-MM（月）、YYYY-Qn（季度）或 YYYY（年）")
    platform: str | None = Field(None, description="平台代码或 id；默认为本人所属平台")


def _allowed(request) -> None:
    if not request.user.can(PERMISSION):
        log.info("assessment refused: no permission (%s)", request.user)
        raise Forbidden("您没有查看考核结果的权限")


@router.get("/assessments", response=list[SchemeInfo], summary="考核方案列表")
def scheme_list(request):
    _allowed(request)
    return [
        {
            "id": s.id,
            "name": s.name,
            "seed": s.seed,
            "items": len(s.items),
            "nominal": s.nominal,
            "note": s.note,
        }
        for s in SCHEMES.values()
    ]


@router.get("/assessments/{scheme}", response=Scorecard, summary="考核评分（月、季、年）")
def scorecard(request, scheme: str, q: Query[PeriodQuery]):
    _allowed(request)
    try:
        chosen = get_scheme(scheme)
        period = assessment.parse_period(q.period)
        platform = selectors.scope_for_viewer(request.user, platform=q.platform)["platform"]
        card = assessment.score(chosen, assessment.gather(chosen, period, platform))
    except HotlineError as error:
        log.info("assessment refused: %s (%s)", error.message, request.get_full_path())
        raise
    return card.as_dict()
