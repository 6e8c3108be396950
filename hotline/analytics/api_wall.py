"""监控大屏 API: ``GET /api/wall[?platform=<code>]`` — every figure of the wall of a
platform (default: the caller's own) and the platforms below it, as the page draws them.

Permission: ``contact.supervise`` or ``workorders.supervise`` (the floor's leaders and the
supervising office), within the caller's data scope. The page asks every few tens of
seconds (its counters come live over ``/ws/wall/``); a caller asking more often than
:data:`RATE` is answered 429 with a Chinese reason.
"""

import logging

from ninja import Field, Query, Router, Schema
from ninja.throttling import UserRateThrottle

from hotline.core.errors import HotlineError

from . import wall

router = Router(tags=["监控大屏"])
log = logging.getLogger("hotline.analytics")

RATE = "20/m"  # a wall refreshes twice a minute; a few walls of one account stay within


class WallQuery(Schema):
    platform: str = Field("", max_length=20, description="平台代码；默认为本人所属平台")


class PlatformOut(Schema):
    code: str
    name: str
    level: str
    level_label: str


class CallsOut(Schema):
    waiting: int = Field(..., description="排队等待（全部渠道）")
    longest_wait: int = Field(..., description="最长等待秒数")
    answered_today: int
    abandoned_today: int


class KpiOut(Schema):
    name: str
    value: float | None
    numerator: float | None
    denominator: float | None
    target: float | None
    met: bool | None


class KpisOut(Schema):
    answer_rate: KpiOut
    avg_answer_seconds: KpiOut


class CountOut(Schema):
    label: str
    count: int


class GroupOut(CountOut):
    key: str


class AgentsOut(Schema):
    signed_in: int
    groups: list[GroupOut]
    states: list[CountOut]


class QueueOut(Schema):
    name: str
    waiting: int
    longest_wait: int
    agents_ready: int
    answered_today: int
    abandoned_today: int


class ChildOut(Schema):
    code: str
    name: str
    waiting: int
    longest_wait: int
    answered_today: int
    abandoned_today: int
    agents_signed_in: int
    answer_rate: float | None = None
    overdue: int = 0


class ChannelOut(CountOut):
    channel: str


class HourlyOut(Schema):
    hours: list[str]
    today: list[int]
    yesterday: list[int]


class TopicOut(Schema):
    term: str
    label: str
    count: int
    previous: int
    growth: float | None
    growth_text: str
    category: str


class AreaOut(Schema):
    area: str
    count: int


class OverdueOut(Schema):
    total: int
    kinds: list[GroupOut]


class VoiceOut(Schema):
    connected: bool = Field(..., description="至少一个媒体节点正常上报")
    alarm: bool
    nodes: list[dict] = Field(..., description="各媒体节点：name、state（正常/失联/已停止）、calls")
    calls: int = Field(..., description="正常节点上的通话数")
    label: str
    trunk_ok: bool | None = Field(..., description="中继 OPTIONS 探测：正常 / 异常 / 未探测")
    trunk_label: str
    alarms: list[str] = Field(..., description="语音告警：媒体节点失联、中继线路异常")


class WallOut(Schema):
    now: str
    platform: PlatformOut
    calls: CallsOut
    kpis: KpisOut
    agents: AgentsOut
    queues: list[QueueOut]
    children: list[ChildOut] = Field(..., description="直属下级平台（省级监控各地市）")
    channels: list[ChannelOut] = Field(..., description="今日进线渠道构成")
    hourly: HourlyOut = Field(..., description="今日与昨日各小时进线量")
    hot_topics: list[TopicOut] = Field(..., description="近 7 日热点诉求")
    areas: list[AreaOut] = Field(..., description="本月各区域工单量")
    overdue: OverdueOut
    voice: VoiceOut


@router.get(
    "/wall",
    response=WallOut,
    summary="监控大屏数据",
    throttle=[UserRateThrottle(RATE)],
)
def wall_data(request, query: Query[WallQuery]):
    try:
        platform = wall.wall_platform(request.user, query.platform)
    except HotlineError as error:
        log.info(
            "wall request refused: %s (user=%s, %s)",
            error.message,
            request.user.pk,
            request.get_full_path(),
        )
        raise
    return wall.wall_figures(platform)
