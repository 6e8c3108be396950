"""KPI API — the contract of issue #8:

    GET /api/kpi?from=YYYY-MM-DD&to=YYYY-MM-DD[&platform=&team=&agent=&unit=&channel=]
        → {"items": [{"id", "name", "value", "numerator", "denominator", "unit", "target"}]}
    GET /api/kpi/{id}/records?from=&to=&…&part=numerator|denominator&limit=&offset=
        → {"total", "items": [...]} — the records behind the figure

Variants (kpis.py parameters) ride on the query string: ``answer_rate.basis=inbound`` in
the table, ``basis=inbound`` on one KPI's records. Dates are inclusive local dates (Asia/Shanghai); a period over 400 days, an unknown KPI,
parameter or scope → a Chinese 4xx. Permission: ``workorders.view`` (held by every
business role); what is counted is limited to the caller's data scope.
"""

import datetime as dt
import logging

from ninja import Field, Query, Router, Schema

from hotline.core.errors import Forbidden, HotlineError, Invalid

from . import selectors
from .kpis import KPI_LIST, KPIS

router = Router(tags=["KPI 指标"])
log = logging.getLogger("hotline.analytics")

PERMISSION = "workorders.view"
MAX_LIMIT = 500


class KpiItem(Schema):
    id: str
    name: str
    value: float | None = Field(..., description="比率为 0–1 的小数；无数据时为 null")
    numerator: float | None
    denominator: float | None
    unit: str = Field(..., description="rate 比率 | seconds 秒 | count 数量")
    target: float | None
    met: bool | None = Field(None, description="是否达到目标")
    applicable: bool = Field(True, description="false：该指标不能按所选范围统计")


class KpiPage(Schema):
    start: dt.date = Field(..., alias="from")
    end: dt.date = Field(..., alias="to")
    platform: str
    items: list[KpiItem]


class RecordItem(Schema):
    kind: str = Field(
        ...,
        description="session 会话 | fact 话务事实 | event 流转记录 | order 工单 | interval 坐席状态时段",
    )
    ref: str
    at: dt.datetime
    channel: str
    who: str
    detail: str
    url: str | None


class RecordPage(Schema):
    total: int
    items: list[RecordItem]


class ScopeQuery(Schema):
    date_from: dt.date = Field(..., alias="from", description="开始日期（含）YYYY-MM-DD")
    date_to: dt.date = Field(..., alias="to", description="结束日期（含）YYYY-MM-DD")
    platform: str | None = Field(
        None, description="平台代码或 id；默认为本人所属平台（含下级平台）"
    )
    team: int | None = None
    agent: int | None = None
    unit: int | None = None
    channel: str | None = Field(
        None, description="voice | webchat | wechat | sms | email | weibo | fax"
    )


def _scope(request, q: ScopeQuery) -> tuple[selectors.Scope, dict]:
    user = request.user
    if not user.can(PERMISSION):
        raise Forbidden("您没有查看指标的权限")
    try:
        start, end = selectors.period(q.date_from, q.date_to)
        found = selectors.scope_for_viewer(
            user, platform=q.platform, team=q.team, agent=q.agent, unit=q.unit
        )
        scope = selectors.make_scope(start=start, end=end, channel=q.channel, **found)
    except HotlineError as error:
        _refused(request, error)
    return scope, found


def _refused(request, error: HotlineError):
    log.info("kpi request refused: %s (%s)", error.message, request.get_full_path())
    raise error


def _params(request, kpi_id: str) -> dict:
    """Variant parameters of one KPI from the query string: ``<kpi_id>.<param>=value``
    (table) or ``<param>=value`` (one KPI's records)."""
    known = {p.name for p in KPIS[kpi_id].params}
    values = {}
    for key, raw in request.GET.items():
        prefix, _, name = key.rpartition(".")
        if prefix == kpi_id and name in known:
            values[name] = raw
        elif not prefix and key in known:
            values[key] = raw
    return values


@router.get("/kpi", response=KpiPage, by_alias=True, summary="指标一览（统计期与范围）")
def kpi_list(request, q: Query[ScopeQuery]):
    scope, found = _scope(request, q)
    items = []
    for kpi in KPI_LIST:
        try:
            value = selectors.kpi_value_in(kpi.id, scope, **_params(request, kpi.id))
        except HotlineError as error:
            _refused(request, error)
        items.append(
            {
                "id": kpi.id,
                "name": kpi.name,
                "value": value.value,
                "numerator": value.numerator,
                "denominator": value.denominator,
                "unit": kpi.unit.value,
                "target": kpi.target,
                "met": kpi.met(value.value),
                "applicable": value.applicable,
            }
        )
    return {
        "from": q.date_from,
        "to": q.date_to,
        "platform": found["platform"].code,
        "items": items,
    }


@router.get("/kpi/{kpi_id}/records", response=RecordPage, summary="指标明细（下钻）")
def kpi_records(
    request,
    kpi_id: str,
    q: Query[ScopeQuery],
    part: str = "numerator",
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
):
    kpi = selectors.get_kpi(kpi_id)
    scope, _ = _scope(request, q)
    try:
        if part not in ("numerator", "denominator"):
            raise Invalid("part 取值应为 numerator（分子）或 denominator（分母）")
        records = selectors.records_in(kpi.id, scope, part=part, **_params(request, kpi.id))
    except HotlineError as error:
        _refused(request, error)
    return {"total": records.count(), "items": selectors.record_rows(records, limit, offset)}
