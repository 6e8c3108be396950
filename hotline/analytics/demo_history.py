"""演示历史数据: a plausible past year of the demo platform (三亚, SY), for every KPI, chart
and report to have something true to show (``hotline init --demo --calls N --orders N``).

**What is written.** The contact center's records — ``Session`` rows (calls and text
contacts), their ``ContactFact`` log (offered, queued, overflowed, assigned, answered or
abandoned, responded for text, ended, closed, rate asked), ``SessionLeg`` rows, citizen
profiles with their identities, and the messages of text sessions — and work orders with
their branches and timelines. The year is the 365 days *before today* (Asia/Shanghai):
nothing is dated today, so today's live numbering (core/numbering.py) starts at 000001
as on any morning; past days take their order numbers from the same counter, in the same
format (``SY20260315000042``).

**How, and why not through the services.** The services audit every write, notify
people and publish live events; a history is a load, not people's actions, and would take
hours that way. So the rows the services would have written are written directly, with
the same fields, in batches (``bulk.Writer``: executemany on SQLite, COPY on PostgreSQL),
each batch its own transaction (one transaction for a year made SQLite spill its cache to
the WAL over and over: measured 5× slower) — an interrupted run leaves whole records, and
a second run refuses, as it does after a complete one. Work orders go through the
work-order bulk loader (``hotline.workorders.bulk``), which walks every order's life verb
by verb against the lifecycle table with deadlines from the SLA table; this module only
gives it the calendar (seasonal days, the intake moments of the calls) and the matters.
No audit rows, no notifications: nothing of the past asks for them.

**The calls are a queue simulation**, not numbers drawn independently: contacts arrive
(per day by season, per hour by ``bulk.HOURLY``), agents on duty are planned from the
expected load of each hour (as a duty roster is), each contact waits for the first free
agent (voice: one call at a time; text: three chats at a time) or gives up when the wait
passes its patience. So waits, 接通率 and abandons come out of the load: on a typhoon
day, when calls triple and the roster does not, the floor drowns, as it does.

**The season (三亚)**: tourist high season November–April with the Spring Festival peak
(the 春节 days of the working-day calendar) and the National Day week; weekends lower; a
few typhoon days in July–October with spikes of calls and of 倒树, 停电, 积水 orders.
Matters follow the season: 海鲜排档宰客, 出租车绕路, 强制购物 in the high season, 入学 in
summer, 噪音 and 物业 all year. Deterministic for a given ``seed`` and ``now``.
"""

import bisect
import datetime as dt
import math
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from hotline.contact.models import (
    CHANNEL_IDENTITY,
    FIRST_RESPONSE_TARGET_SECONDS,
    SATISFACTION,
    ChannelEntry,
    CitizenIdentity,
    CitizenProfile,
    ContactFact,
    FactKind,
    Message,
    Queue,
    Session,
    SessionLeg,
)
from hotline.core import workdays
from hotline.core.errors import Conflict
from hotline.core.models import CalendarDay, Platform
from hotline.workorders import bulk
from hotline.workorders.models import WorkOrder

PLATFORM = "SY"
DAYS = 365
BATCH = 5000  # contacts written per batch

# --- the season ----------------------------------------------------------------------------

# Sanya's months: the tourist high season (Nov–Apr) brings the calls, the wet summer fewer.
MONTH_FACTOR = {
    1: 1.30,
    2: 1.35,
    3: 1.20,
    4: 1.05,
    5: 0.85,
    6: 0.80,
    7: 0.90,
    8: 0.90,
    9: 0.75,
    10: 0.95,
    11: 1.10,
    12: 1.25,
}
HIGH_SEASON = frozenset({11, 12, 1, 2, 3, 4})
WEEKEND_FACTOR = 0.78
SPRING_FESTIVAL_FACTOR = 1.5  # each 春节 holiday day, and the days around it
NATIONAL_DAY_FACTOR = 1.3
TYPHOON_MONTHS = (7, 8, 9, 10)
TYPHOONS = 3  # landfalls a year
TYPHOON_FACTOR = (2.8, 1.9, 1.3)  # the day it hits, and the two after

# --- the contacts --------------------------------------------------------------------------

# (channel, weight): voice is most of it.
CHANNEL_MIX = [
    ("voice", 78.0),
    ("wechat", 8.0),
    ("webchat", 7.0),
    ("sms", 3.0),
    ("email", 2.5),
    ("weibo", 1.0),
    ("fax", 0.5),
]
# The order channel a contact channel becomes at intake.
ORDER_CHANNEL = {
    "voice": "phone",
    "webchat": "web",
    "wechat": "wechat",
    "sms": "sms",
    "email": "email",
    "weibo": "weibo",
    "fax": "fax",
}
HASTY = 0.03  # callers who hang up within seconds, whatever the wait (short abandons)
TEXT_SLOTS = 3  # chats an agent holds at once
MAILBOX = frozenset({"email", "fax"})  # answered within 24 h, picked up in office hours
# Seconds a citizen waits before giving up (None: a message waits to be read).
PATIENCE = {"voice": (10, 110), "webchat": (30, 240)}
# Talk (handling) time, lognormal: (median seconds, sigma).
TALK = {"voice": (170, 0.55), "mailbox": (420, 0.5), "text": (380, 0.6)}
WRAP_UP = (12, 55)  # seconds writing the 会话小结 (≤ the default 60 s wrap-up)
VOICE_RATED = 0.55  # callers who press a key for the rating after the call
TEXT_RATE_ASKED = 0.5
# Session ratings: the five levels, most content.
SESSION_SATISFACTION = [54, 31, 9, 4, 2]
# Queue of a voice contact by IVR choice (the demo's queues).
VOICE_QUEUES = [("general", 60), ("shebao", 14), ("gongjijin", 9), ("lvyou", 12), ("english", 5)]
OCCUPANCY = 0.82  # what the duty roster plans for
AHT_PLANNED = 215  # seconds of talk and wrap-up a planned call takes

GREETING = "您好，这里是12345政务服务便民热线，很高兴为您服务。"
THANKS = ["好的，谢谢。", "明白了，谢谢你们。", "知道了，辛苦了。", "好的，我等你们消息。"]
EMAIL_SUBJECTS = ["关于{title}的来信", "反映{title}", "{title}"]

# --- the matters ---------------------------------------------------------------------------
# (type, category leaf, title, content, fallback unit, front-desk answer or ""), the shape of
# workorders.demo.SCENARIOS, and the season it belongs to: "" all year, "tourist" (grows
# with the high season), "typhoon" (only in the days after a landfall), "school" (Jun–Aug).
SEASONAL_SCENARIOS = [
    (
        (
            "complaint",
            "宰客与欺客",
            "海鲜排档宰客",
            "来电人反映在海鲜广场就餐，结账时每斤价格比点菜时报价高出数倍，商家拒不退还差价。",
            "SCJGJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "complaint",
            "海鲜缺斤短两",
            "海鲜排档缺斤短两",
            "来电人反映在第一市场购买海鲜后自行复称，短少近一斤，要求商家退赔。",
            "SCJGJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "complaint",
            "菜品调包与强制消费",
            "海鲜加工店调包",
            "来电人反映海鲜加工店将其挑选的活蟹调包为死蟹，并强制收取加工费。",
            "SCJGJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "complaint",
            "出租车拒载与绕路",
            "出租车拒载",
            "来电人反映在大东海附近打车，出租车司机嫌路程近拒载，并要求一口价。",
            "JTJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "complaint",
            "网约车服务纠纷",
            "网约车司机加价",
            "来电人反映从凤凰机场乘坐网约车，司机途中要求额外加价否则不送达。",
            "JTJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "complaint",
            "酒店服务纠纷",
            "酒店超售无房",
            "来电人反映已预订的亚龙湾酒店到店后称超售无房，拒绝安排同级别房间。",
            "LWJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "complaint",
            "民宿与短租经营",
            "民宿押金不退",
            "来电人反映在三亚湾租住民宿退房后，房东以各种理由拒不退还押金。",
            "LWJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "complaint",
            "景区服务与秩序",
            "景区排队秩序混乱",
            "来电人反映南山景区观光车排队秩序混乱，工作人员放任插队。",
            "LWJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "complaint",
            "导游服务",
            "导游辱骂游客",
            "来电人反映跟团游导游因游客未在购物点消费而辱骂游客。",
            "LWJ",
            "",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "consult",
            "景区门票与收费",
            "咨询景区门票优惠",
            "来电人咨询蜈支洲岛景区老年人和学生门票是否有优惠。",
            "LWJ",
            "持有效证件的60周岁以上老人及全日制学生可享门票优惠，以景区公告为准。",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "consult",
            "机场服务",
            "咨询机场航班延误安置",
            "来电人航班延误，咨询凤凰机场延误后的住宿安置政策。",
            "JC",
            "因航空公司原因延误的由承运人安排食宿，可到值机柜台或航司服务台办理。",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "help",
            "树木修剪与倒伏",
            "台风后倒树阻断道路",
            "来电人反映台风过后路边大树倒伏，压住车道，车辆无法通行，请尽快清理。",
            "CGZFJ",
            "",
        ),  # noqa: E501
        "typhoon",
    ),
    (
        (
            "help",
            "停电与电压不稳",
            "台风过后小区停电",
            "来电人反映台风过境后小区至今未恢复供电，冰箱食物变质，家中有老人。",
            "GDJ",
            "",
        ),  # noqa: E501
        "typhoon",
    ),
    (
        (
            "help",
            "井盖与排水设施",
            "暴雨后道路积水严重",
            "来电人反映台风带来的暴雨导致路段积水过膝，排水口堵塞，行人无法通过。",
            "CGZFJ",
            "",
        ),  # noqa: E501
        "typhoon",
    ),
    (
        (
            "help",
            "停水与水压不足",
            "台风后停水",
            "来电人反映台风过后片区停水一天，未见抢修人员，生活受影响。",
            "SWJT",
            "",
        ),  # noqa: E501
        "typhoon",
    ),
    (
        (
            "help",
            "户外广告招牌",
            "台风吹落广告牌",
            "来电人反映台风将临街广告招牌吹落一半，悬挂在人行道上方，存在安全隐患。",
            "CGZFJ",
            "",
        ),  # noqa: E501
        "typhoon",
    ),
    (
        (
            "consult",
            "公交线路与班次",
            "咨询台风期间公交停运",
            "来电人咨询台风预警期间公交是否停运以及恢复时间。",
            "GJJT",
            "台风红色预警期间公交暂停运营，预警解除后逐步恢复，请关注公交集团公告。",
        ),  # noqa: E501
        "typhoon",
    ),
    (
        (
            "consult",
            "学位申请与分配",
            "咨询学位申请结果",
            "来电人咨询孩子小学学位申请结果何时公布，如何查询分配学校。",
            "JYJ",
            "学位分配结果一般于7月下旬公布，可登录入学服务平台查询。",
        ),  # noqa: E501
        "school",
    ),
    (
        (
            "consult",
            "随迁子女就学",
            "咨询随迁子女入学材料",
            "来电人在三亚务工，咨询孩子随迁入读公办学校需要准备哪些材料。",
            "JYJ",
            "需提供居住证、务工或经商证明、户口簿及出生证明，具体以区教育局公告为准。",
        ),  # noqa: E501
        "school",
    ),
    (
        (
            "complaint",
            "培训退费纠纷",
            "暑期培训班拒绝退费",
            "来电人反映为孩子报名暑期培训班后因故未上课，机构拒绝退还学费。",
            "JYJ",
            "",
        ),  # noqa: E501
        "school",
    ),
    (
        (
            "complaint",
            "社会生活噪音",
            "邻居装修噪音扰民",
            "来电人反映楼上邻居装修每天早上七点就开始电钻施工，周末也不停。",
            "JYQ",
            "",
        ),  # noqa: E501
        "",
    ),
    (
        (
            "complaint",
            "交通噪音",
            "改装车夜间炸街",
            "来电人反映每晚凌晨有改装摩托车在迎宾路飙车炸街，噪音极大。",
            "GAJ",
            "",
        ),  # noqa: E501
        "",
    ),
    (
        (
            "complaint",
            "物业收费",
            "物业乱收停车费",
            "来电人反映小区物业未经业主大会同意擅自上调停车费。",
            "ZJJ",
            "",
        ),  # noqa: E501
        "",
    ),
    (
        (
            "complaint",
            "物业服务质量",
            "物业不清理垃圾",
            "来电人反映小区物业多日不清理楼道垃圾，蚊虫滋生，多次反映无果。",
            "ZJJ",
            "",
        ),  # noqa: E501
        "",
    ),
    (
        (
            "complaint",
            "餐饮油烟",
            "餐馆油烟扰民",
            "来电人反映楼下餐馆排烟管道直对住户窗户，油烟大，无法开窗。",
            "STHJJ",
            "",
        ),  # noqa: E501
        "",
    ),
    (
        (
            "consult",
            "办事指南咨询",
            "咨询营业执照网上办理",
            "来电人咨询个体工商户营业执照能否在网上办理，需要多长时间。",
            "SCJGJ",
            "可通过海南e登记平台全程网办，材料齐全的一般1个工作日内办结。",
        ),  # noqa: E501
        "",
    ),
    (
        (
            "consult",
            "异地就医备案",
            "咨询异地就医备案",
            "来电人是候鸟老人，咨询在三亚看病如何办理异地就医备案。",
            "YBJ",
            "可通过国家医保服务平台APP或参保地医保经办机构办理备案，备案后可直接结算。",
        ),  # noqa: E501
        "tourist",
    ),
    (
        (
            "consult",
            "公积金贷款",
            "咨询公积金贷款额度",
            "来电人咨询在三亚购买首套房使用住房公积金贷款的最高额度。",
            "GJJ",
            "单缴存人最高贷款额度以公积金中心现行政策为准，可通过海南公积金APP试算。",
        ),  # noqa: E501
        "",
    ),
    (
        (
            "consult",
            "社保卡激活与挂失",
            "咨询社保卡激活",
            "来电人新领取社保卡，咨询如何激活金融功能。",
            "RSJ",
            "携带社保卡和身份证到卡面所示合作银行任一网点即可激活。",
        ),  # noqa: E501
        "",
    ),
]
MATTERS = [(scenario, "") for scenario in bulk.ALL_SCENARIOS] + SEASONAL_SCENARIOS

# The queue a matter is asked in, by the top of its category code.
QUEUE_OF_CATEGORY = {"01": "shebao", "02": "shebao", "0303": "gongjijin", "07": "lvyou"}


@dataclass
class Day:
    """One day of the year: its weight (season × week × festivals × typhoons) and tags."""

    date: dt.date
    weight: float
    high_season: bool
    typhoon: int = -1  # days since a typhoon hit (0, 1, 2), else -1
    festival: str = ""


def season(days: list[dt.date], rng: random.Random) -> list[Day]:
    """The year's calendar of weights. Festivals come from the working-day calendar (its
    春节 and 国庆节 holidays); typhoon days are drawn in July–October."""
    named = dict(
        CalendarDay.objects.filter(
            date__range=(days[0], days[-1]), kind=CalendarDay.Kind.HOLIDAY
        ).values_list("date", "name")
    )
    spring = sorted(d for d, name in named.items() if "春节" in name)
    candidates = [d for d in days if d.month in TYPHOON_MONTHS]
    hits: list[dt.date] = []
    while candidates and len(hits) < TYPHOONS:
        hit = rng.choice(candidates)
        if all(abs((hit - other).days) > 10 for other in hits):
            hits.append(hit)
        candidates.remove(hit)
    calendar = []
    for day in days:
        weight = MONTH_FACTOR[day.month]
        if day.weekday() >= 5:
            weight *= WEEKEND_FACTOR
        festival = named.get(day, "")
        near_spring = spring and min(abs((day - d).days) for d in spring) <= 3
        if "春节" in festival or near_spring:
            weight *= SPRING_FESTIVAL_FACTOR
            festival = festival or "春节前后"
        elif "国庆" in festival:
            weight *= NATIONAL_DAY_FACTOR
        since = next(((day - hit).days for hit in hits if 0 <= (day - hit).days <= 2), -1)
        if since >= 0:
            weight *= TYPHOON_FACTOR[since]
        calendar.append(
            Day(
                date=day,
                weight=weight,
                high_season=day.month in HIGH_SEASON,
                typhoon=since,
                festival=festival,
            )
        )
    return calendar


def spread(count: int, weights: list[float]) -> list[int]:
    """``count`` split by ``weights``, exactly (largest remainder)."""
    total = sum(weights) or 1.0
    exact = [count * w / total for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: count - sum(counts)]:
        counts[i] += 1
    return counts


def matter_weight(matter, day: Day) -> float:
    """How likely a matter is on a day: tourist matters follow the season, typhoon ones
    come only after a landfall, school ones in summer."""
    _, tag = matter
    if tag == "tourist":
        return 1.6 * MONTH_FACTOR[day.date.month] ** 2 * (1.4 if day.festival else 1.0)
    if tag == "typhoon":
        return (0, 14, 8, 4)[day.typhoon + 1]
    if tag == "school":
        return 3.0 if day.date.month in (6, 7, 8) else 0.2
    return 1.0


class Matters:
    """The matters by queue and kind, weighted per day (cached per day)."""

    def __init__(self, categories: dict):
        self.queue: dict[int, str] = {}
        for index, (scenario, _) in enumerate(MATTERS):
            category = categories.get(scenario[1])
            code = category.code if category is not None else ""
            self.queue[index] = next(
                (q for prefix, q in QUEUE_OF_CATEGORY.items() if code.startswith(prefix)),
                "general",
            )
        self.cache: dict[tuple, tuple[list[int], list[float]]] = {}

    def pick(self, rng: random.Random, day: Day, *, queue: str, answered_only: bool) -> int:
        """A matter for a contact of ``queue`` on ``day``: any matter for one that becomes
        an order, one the desk answers (咨询 with an answer) for the others."""
        key = (day.date, queue, answered_only)
        found = self.cache.get(key)
        if found is None:
            indexes, weights = [], []
            for index, matter in enumerate(MATTERS):
                if queue not in ("general", "english") and self.queue[index] != queue:
                    continue
                if answered_only and not matter[0][5]:
                    continue
                weight = matter_weight(matter, day)
                if weight > 0:
                    indexes.append(index)
                    weights.append(weight)
            if not indexes:  # a queue without such matters: any of the kind
                return self.pick(rng, day, queue="general", answered_only=answered_only)
            cumulative, total = [], 0.0
            for weight in weights:
                total += weight
                cumulative.append(total)
            found = self.cache[key] = (indexes, cumulative)
        indexes, cumulative = found
        return indexes[bisect.bisect_left(cumulative, rng.random() * cumulative[-1])]


# --- one contact ---------------------------------------------------------------------------


class Contact:
    """A planned contact (compact: a year is hundreds of thousands of them)."""

    __slots__ = (
        "arrival",
        "day",
        "channel",
        "queue",
        "overflow_at",
        "overflow_to",
        "agent",
        "answered",
        "ended",
        "closed",
        "abandoned",
        "address",
        "matter",
        "order",
        "ref",
        "satisfaction",
        "responded",
    )

    def __init__(self, arrival: dt.datetime, day: int, channel: str, queue: str):
        self.arrival, self.day, self.channel, self.queue = arrival, day, channel, queue
        self.overflow_at = self.overflow_to = self.agent = self.answered = None
        self.ended = self.closed = self.abandoned = self.responded = None
        self.address = self.ref = self.satisfaction = ""
        self.matter = -1
        self.order = ""  # the number of the order registered from it


@dataclass
class Result:
    calls: int = 0
    answered: int = 0
    abandoned: int = 0
    facts: int = 0
    legs: int = 0
    messages: int = 0
    profiles: int = 0
    orders: int = 0
    order_events: int = 0
    linked_orders: int = 0
    typhoon_days: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)


class _OrderLoader(bulk.Loader):
    """The work-order bulk loader on this year's calendar: orders per day by season, each
    at the moment of intake of an answered call when one is planned for it."""

    def __init__(self, cast, history: "History", **kwargs):
        super().__init__(cast, **kwargs)
        self.history = history
        self.rng = random.Random(history.seed + 7)
        self.next_matter = None  # the matter story() chose for the order being made
        self.by_moment: dict[dt.datetime, Contact] = {}
        self.day_of: dict[dt.date, Day] = {d.date: d for d in history.days}

    def per_day(self, count: int) -> list[tuple[dt.date, int]]:
        days = self.history.days
        counts = spread(count, [d.weight for d in days])
        return [(d.date, n) for d, n in zip(days, counts, strict=True) if n]

    def received_times(self, day: dt.date, n: int) -> list[dt.datetime]:
        planned = self.history.orders_of(day)[:n]
        moments = []
        for contact in planned:
            # registered while talking (or writing back): between answer and end
            share = self.rng.uniform(0.4, 0.9)
            moment = contact.answered + (contact.ended - contact.answered) * share
            moment = moment.replace(microsecond=0)
            while moment in self.by_moment:
                moment += dt.timedelta(microseconds=1)
            self.by_moment[moment] = contact
            moments.append(moment)
        if len(moments) < n:  # more orders than calls: walk-ins, the app, letters
            moments += super().received_times(day, n - len(moments))
        return sorted(moments)

    def scenario(self, received: dt.datetime):
        return self.next_matter

    def story(self, number: str, received: dt.datetime):
        contact = self.by_moment.pop(received, None)
        day = self.day_of[timezone.localdate(received)]
        if contact is not None:
            index = contact.matter
        else:
            index = self.history.matters.pick(self.rng, day, queue="general", answered_only=False)
        self.next_matter = MATTERS[index][0]
        story = super().story(number, received)
        if contact is not None:
            order, agent = story.order, contact.agent
            order["channel"] = ORDER_CHANNEL[contact.channel]
            order["session_ref"] = contact.ref
            if contact.channel in ("voice", "sms"):
                order["caller_phone"] = contact.address
            order["created_by_id"] = agent
            create = story.events[0]
            create["actor_id"], create["actor_name"] = agent, self.cast.names[agent]
            contact.order = number
        return story


# --- the year --------------------------------------------------------------------------------


class History:
    def __init__(self, platform: Platform, *, seed: int, now: dt.datetime, days: int = DAYS):
        self.platform, self.seed = platform, seed
        self.rng = random.Random(seed)
        today = timezone.localdate(now)
        # the year ends where today begins: today's numbers stay the live ones
        self.end = dt.datetime.combine(today, dt.time(0), workdays.LOCAL_TZ)
        dates = [today - dt.timedelta(days=i) for i in range(days, 0, -1)]
        self.days = season(dates, self.rng)
        self.cast = bulk.Cast.of(platform)
        self.matters = Matters(self.cast.categories)
        self.queues = {q.code: q for q in Queue.objects.filter(platform=platform)}
        self.entry = ChannelEntry.objects.filter(platform=platform, channel="webchat").first()
        self.contacts: list[Contact] = []
        self.linkable: dict[dt.date, list[Contact]] = defaultdict(list)
        self.result = Result(typhoon_days=[d.date.isoformat() for d in self.days if d.typhoon == 0])

    # --- planning the contacts -------------------------------------------------------
    def plan_calls(self, count: int) -> None:
        rng = self.rng
        channels = [c for c, _ in CHANNEL_MIX]
        channel_weights = [w for _, w in CHANNEL_MIX]
        voice_queues = [q for q, _ in VOICE_QUEUES if q in self.queues] or ["general"]
        voice_weights = [w for q, w in VOICE_QUEUES if q in self.queues] or [1]
        hourly_total = sum(bulk.HOURLY)
        planned_weight = [MONTH_FACTOR[d.date.month] for d in self.days]
        base_counts = spread(count, [d.weight for d in self.days])
        # the roster plans for an ordinary day of the season, not for a typhoon
        plan_counts = spread(
            count,
            [
                w * (0.78 if d.date.weekday() >= 5 else 1)
                for w, d in zip(planned_weight, self.days, strict=True)
            ],
        )  # noqa: E501
        for index, (day, n) in enumerate(zip(self.days, base_counts, strict=True)):
            if not n:
                continue
            hours = rng.choices(range(24), weights=bulk.HOURLY, k=n)
            for hour in sorted(hours):
                moment = dt.datetime.combine(day.date, dt.time(hour), workdays.LOCAL_TZ)
                moment += dt.timedelta(seconds=rng.uniform(0, 3600))
                channel = rng.choices(channels, weights=channel_weights)[0]
                if channel == "voice":
                    queue = rng.choices(voice_queues, weights=voice_weights)[0]
                else:
                    queue = self.entry.queue.code if self.entry is not None else "general"
                self.contacts.append(Contact(moment, index, channel, queue))
        self.contacts.sort(key=lambda c: c.arrival)
        self.roster = {
            (index, hour): n * bulk.HOURLY[hour] / hourly_total
            for index, n in enumerate(plan_counts)
            for hour in range(24)
        }

    def on_duty(self, day: int, hour: int) -> list[int]:
        """The agents on duty in an hour: enough for the planned load at the planned
        occupancy (one more for breaks), by a rotation that changes every day."""
        agents = self.agent_ids
        erlangs = self.roster.get((day, hour), 0) * AHT_PLANNED / 3600
        need = min(len(agents), max(2, math.ceil(erlangs / OCCUPANCY) + 1))
        start = (day * 7 + (hour // 8) * 11) % len(agents)
        return [agents[(start + i) % len(agents)] for i in range(need)]

    def schedule(self) -> None:
        """Each contact waits for the first free agent on duty, or gives up."""
        rng = self.rng
        self.agent_ids = [a.pk for a in self.cast.agents]
        if not self.agent_ids:
            raise Conflict("演示平台没有话务员，无法生成话务历史")
        voice_free: dict[int, dt.datetime] = {}
        text_free: dict[int, list[dt.datetime]] = {}
        start = self.days[0].date
        for contact in self.contacts:
            local = timezone.localtime(contact.arrival)
            day, hour = (local.date() - start).days, local.hour
            ready = contact.arrival + dt.timedelta(seconds=rng.uniform(1, 6))  # IVR, routing
            channel = contact.channel
            hasty = channel == "voice" and rng.random() < HASTY
            if channel in MAILBOX:  # a mailbox is read in office hours, within the day
                ready += dt.timedelta(seconds=rng.expovariate(1 / 3600))
                if ready.astimezone(workdays.LOCAL_TZ).hour < 8:
                    ready = ready.astimezone(workdays.LOCAL_TZ).replace(hour=8, minute=0)
                    ready += dt.timedelta(seconds=rng.uniform(0, 5400))
                local = timezone.localtime(ready)
                day, hour = (local.date() - start).days, local.hour
            duty = self.on_duty(max(0, min(day, len(self.days) - 1)), hour)
            if channel == "voice":
                agent = min(duty, key=lambda a: voice_free.get(a, ready))
                free = max(voice_free.get(agent, ready), ready)
                slot = None
            else:
                best = None
                for a in duty:
                    slots = text_free.setdefault(a, [ready] * TEXT_SLOTS)
                    i = min(range(TEXT_SLOTS), key=slots.__getitem__)
                    if best is None or slots[i] < best[2]:
                        best = (a, i, slots[i])
                agent, slot, free = best[0], best[1], max(best[2], ready)
            wait = (free - contact.arrival).total_seconds()
            patience = PATIENCE.get(channel)
            if patience is not None:
                low, mean = patience
                gives_up = rng.uniform(0, low) if hasty else low + rng.expovariate(1 / mean)
                if wait > gives_up:
                    contact.abandoned = contact.arrival + dt.timedelta(seconds=gives_up)
                    self._overflow(contact, contact.abandoned)
                    continue
            self._overflow(contact, free)
            median, sigma = TALK[
                "voice" if channel == "voice" else "mailbox" if channel in MAILBOX else "text"
            ]  # noqa: E501
            talk = median * math.exp(rng.gauss(0, sigma))
            contact.agent, contact.answered = agent, free
            contact.ended = free + dt.timedelta(seconds=talk)
            contact.closed = contact.ended + dt.timedelta(seconds=rng.uniform(*WRAP_UP))
            if channel != "voice":  # the greeting, before the talk is half over
                contact.responded = free + dt.timedelta(seconds=min(talk / 3, rng.uniform(4, 40)))
            if slot is None:
                voice_free[agent] = contact.closed
            else:
                text_free[agent][slot] = contact.ended
            if contact.closed <= self.end:
                self.linkable[self.days[contact.day].date].append(contact)

    def _overflow(self, contact: Contact, until: dt.datetime) -> None:
        queue = self.queues.get(contact.queue)
        if queue is None or queue.overflow_queue_id is None or not queue.overflow_after_seconds:
            return
        moment = contact.arrival + dt.timedelta(seconds=queue.overflow_after_seconds)
        if moment < until:
            contact.overflow_at = moment
            contact.overflow_to = next(
                q.code for q in self.queues.values() if q.pk == queue.overflow_queue_id
            )

    def mark_orders(self, count: int) -> None:
        """Which answered contacts became orders: per day as many as the season's orders
        of that day (the rest of each day's orders come without a call)."""
        rng = self.rng
        per_day = spread(count, [d.weight for d in self.days])
        self.planned_orders: dict[dt.date, list[Contact]] = {}
        for day, n in zip(self.days, per_day, strict=True):
            candidates = self.linkable.get(day.date, [])
            chosen = rng.sample(candidates, min(n, len(candidates))) if n else []
            self.planned_orders[day.date] = sorted(chosen, key=lambda c: c.arrival)
            for contact in chosen:
                contact.order = "?"  # numbered by the order loader

    def orders_of(self, day: dt.date) -> list[Contact]:
        return self.planned_orders.get(day, []) if hasattr(self, "planned_orders") else []

    def choose_matters(self) -> None:
        """Each contact's matter, its session number and the citizen's address (which
        its order will name)."""
        rng, refs = self.rng, set()
        self._addresses(random.Random(self.seed + 13))
        for contact in self.contacts:
            contact.ref = self._ref(rng, contact, refs)
            day = self.days[contact.day]
            contact.matter = self.matters.pick(
                rng,
                day,
                queue=contact.overflow_to or contact.queue,
                answered_only=contact.order != "?",
            )

    # --- the orders ------------------------------------------------------------------
    def load_orders(self, count: int, progress) -> None:
        loader = _OrderLoader(
            self.cast,
            self,
            days=len(self.days),
            seed=self.seed,
            now=self.end,
            batch=BATCH * 2,
            progress=progress,
        )
        result = loader.run(count)
        self.result.orders = result.orders
        self.result.order_events = result.events
        self.result.linked_orders = sum(1 for c in self.contacts if c.order not in ("", "?"))
        for contact in self.contacts:  # a planned call whose order the loader did not take
            if contact.order == "?":
                contact.order = ""

    # --- writing the contacts ----------------------------------------------------------
    def write_calls(self, progress) -> None:
        rng = self.rng_write = random.Random(self.seed + 11)
        writer = bulk.Writer()
        with transaction.atomic():
            profiles = self._profiles(writer)
        queues = {code: q.pk for code, q in self.queues.items()}
        names = self.cast.names
        for start in range(0, len(self.contacts), BATCH):
            chunk = self.contacts[start : start + BATCH]
            sessions = []
            for contact in chunk:
                sessions.append(self._session(rng, contact, profiles, queues, names))
            with transaction.atomic():
                self._write_batch(writer, chunk, sessions, queues)
            result = self.result
            result.calls += len(chunk)
            progress(f"已写入历史会话 {result.calls:,} / {len(self.contacts):,}")

    def _write_batch(self, writer, chunk, sessions, queues) -> None:
        rng = self.rng_write
        legs, facts, messages = [], [], []
        for row, pk in zip(sessions, writer.ids(Session, len(sessions)), strict=True):
            row["id"] = pk
        for contact, row in zip(chunk, sessions, strict=True):
            facts += self._facts(contact, row, queues)
            if contact.answered is not None:
                legs.append(self._leg(contact, row, queues))
                if contact.channel != "voice":
                    messages += self._messages(rng, contact, row)
        for rows, model in ((facts, ContactFact), (legs, SessionLeg), (messages, Message)):
            for row, pk in zip(rows, writer.ids(model, len(rows)), strict=True):
                row["id"] = pk
        writer.write(Session, sessions)
        writer.write(SessionLeg, legs)
        writer.write(ContactFact, facts)
        writer.write(Message, messages)
        result = self.result
        result.answered += sum(1 for c in chunk if c.answered is not None)
        result.abandoned += sum(1 for c in chunk if c.abandoned is not None)
        result.facts += len(facts)
        result.legs += len(legs)
        result.messages += len(messages)

    def _addresses(self, rng: random.Random) -> None:
        """Citizens: many call once, some again and again (a pool per identity kind)."""
        seen: dict[str, list[str]] = defaultdict(list)
        for contact in self.contacts:
            kind = CHANNEL_IDENTITY[contact.channel]
            pool = seen[kind]
            if pool and rng.random() < 0.28:
                contact.address = pool[min(len(pool) - 1, int(rng.paretovariate(1.2)) - 1)]
                continue
            contact.address = _new_address(rng, kind, len(pool))
            pool.append(contact.address)
        self.address_kinds = seen

    def _profiles(self, writer) -> dict[tuple[str, str], int]:
        platform, first_seen = self.platform.pk, {}
        for contact in self.contacts:
            key = (CHANNEL_IDENTITY[contact.channel], contact.address)
            first_seen.setdefault(key, contact.arrival)
        keys = list(first_seen)
        ids = writer.ids(CitizenProfile, len(keys))
        identity_ids = writer.ids(CitizenIdentity, len(keys))
        profiles, identities = [], []
        for key, pk, identity in zip(keys, ids, identity_ids, strict=True):
            at = first_seen[key]
            profiles.append({"id": pk, "platform_id": platform, "created_at": at, "updated_at": at})
            identities.append(
                {
                    "id": identity,
                    "profile_id": pk,
                    "platform_id": platform,
                    "kind": key[0],
                    "value": key[1],
                    "original_profile_id": pk,
                    "created_at": at,
                }
            )
        writer.write(CitizenProfile, profiles)
        writer.write(CitizenIdentity, identities)
        self.result.profiles = len(profiles)
        return dict(zip(keys, ids, strict=True))

    def _ref(self, rng, contact: Contact, refs: set[str]) -> str:
        local = timezone.localtime(contact.arrival)
        while True:  # acd.new_ref's format, with a seeded suffix
            ref = f"{self.platform.code}H{local:%Y%m%d%H%M%S}{rng.getrandbits(24):06X}"
            if ref not in refs:
                refs.add(ref)
                return ref

    def _session(self, rng, contact: Contact, profiles, queues, names) -> dict:
        scenario = MATTERS[contact.matter][0]
        kind, _, title, content, _, answer = scenario
        channel, answered = contact.channel, contact.answered is not None
        queue = contact.overflow_to or contact.queue
        row = {
            "ref": contact.ref,
            "platform_id": self.platform.pk,
            "channel": channel,
            "citizen_id": profiles[(CHANNEL_IDENTITY[channel], contact.address)],
            "address": contact.address,
            "subject": "",
            "queue_id": queues.get(queue),
            "agent_id": contact.agent,
            "priority_reasons": [],
            "created_at": contact.arrival,
            "queued_at": contact.arrival,
            "offered_at": contact.answered,
            "answered_at": contact.answered,
            "channel_entry_id": self.entry.pk if channel == "webchat" and self.entry else None,
        }
        if channel != "voice":
            row["subject"] = (
                rng.choice(EMAIL_SUBJECTS).format(title=title)
                if channel in MAILBOX
                else content[:60]
            )
            row["last_inbound_at"] = contact.arrival
        if not answered:
            row.update(
                state="abandoned",
                ended_at=contact.abandoned,
                closed_at=contact.abandoned,
                end_reason="citizen",
            )
            return row
        if contact.order:
            summary = f"{title}。已受理登记工单 {contact.order}，告知来电人办理时限及查询方式。"
        elif answer:
            summary = f"{title}。已按知识库答复：{answer}"
        else:
            summary = f"{title}。已解释相关政策，来电人表示理解。"
        row.update(
            state="closed",
            ended_at=contact.ended,
            closed_at=contact.closed,
            end_reason=rng.choice(["citizen", "citizen", "agent"]),
            summary=summary,
        )
        if channel != "voice":
            row["first_response_at"] = contact.responded
            # the citizen's thanks, after the agent's answer (see _messages)
            row["last_inbound_at"] = contact.responded + (contact.ended - contact.responded) * 0.85
            if rng.random() < TEXT_RATE_ASKED:
                row["rating_requested_at"] = contact.ended - dt.timedelta(seconds=10)
                contact.satisfaction = _rating(rng, contact)
        elif rng.random() < VOICE_RATED:
            contact.satisfaction = _rating(rng, contact)
        if contact.satisfaction:
            row["satisfaction"] = contact.satisfaction
            row["satisfaction_at"] = contact.ended + dt.timedelta(seconds=rng.uniform(5, 40))
        return row

    def _facts(self, contact: Contact, session: dict, queues) -> list[dict]:
        base = {
            "platform_id": self.platform.pk,
            "session_id": session["id"],
            "channel": contact.channel,
        }
        first = queues.get(contact.queue)
        final = queues.get(contact.overflow_to or contact.queue)
        arrival = contact.arrival

        def fact(kind, at, *, queue, agent=None, wait=None, **detail):
            return {
                **base,
                "at": at,
                "kind": kind,
                "queue_id": queue,
                "agent_id": agent,
                "wait_seconds": wait,
                "detail": detail,
            }

        rows = [
            fact(FactKind.OFFERED, arrival, queue=first),
            fact(FactKind.QUEUED, arrival, queue=first, priority=0, reasons=[]),
        ]
        if contact.overflow_at is not None:
            rows.append(
                fact(
                    FactKind.OVERFLOWED,
                    contact.overflow_at,
                    queue=first,
                    to_queue=final,
                    reason="wait",
                )
            )
            rows.append(fact(FactKind.QUEUED, contact.overflow_at, queue=final, overflow=True))
        if contact.answered is None:
            waited = (contact.abandoned - arrival).total_seconds()
            rows.append(fact(FactKind.ABANDONED, contact.abandoned, queue=final, wait=waited))
            return rows
        agent, waited = contact.agent, (contact.answered - arrival).total_seconds()
        strategy = self.queues[contact.overflow_to or contact.queue].strategy
        rows.append(
            fact(
                FactKind.ASSIGNED,
                contact.answered,
                queue=final,
                agent=agent,
                wait=waited,
                strategy=strategy,
            )
        )
        rows.append(
            fact(FactKind.ANSWERED, contact.answered, queue=final, agent=agent, wait=waited)
        )
        if contact.responded is not None:
            target = FIRST_RESPONSE_TARGET_SECONDS.get(contact.channel)
            responded = (contact.responded - arrival).total_seconds()
            rows.append(
                fact(
                    FactKind.RESPONDED,
                    contact.responded,
                    queue=final,
                    agent=agent,
                    wait=responded,
                    target=target,
                    met=target is None or responded <= target,
                )
            )
        if session.get("rating_requested_at"):
            rows.append(
                fact(
                    FactKind.RATE_ASKED,
                    session["rating_requested_at"],
                    queue=final,
                    agent=agent,
                    again=False,
                )
            )
        talk = (contact.ended - contact.answered).total_seconds()
        rows.append(
            fact(
                FactKind.ENDED,
                contact.ended,
                queue=final,
                agent=agent,
                reason=session["end_reason"],
                talk=talk,
            )
        )
        rows.append(fact(FactKind.CLOSED, contact.closed, queue=final, agent=agent))
        return rows

    def _leg(self, contact: Contact, session: dict, queues) -> dict:
        return {
            "session_id": session["id"],
            "agent_id": contact.agent,
            "queue_id": queues.get(contact.overflow_to or contact.queue),
            "offered_at": contact.answered,
            "answered_at": contact.answered,
            "ended_at": contact.ended,
            "end": SessionLeg.End.CLOSED,
            "summary": session["summary"],
        }

    def _messages(self, rng, contact: Contact, session: dict) -> list[dict]:
        _, _, title, content, _, answer = MATTERS[contact.matter][0]
        if contact.order:
            reply = f"您反映的问题已为您登记工单，编号 {contact.order}，承办单位将在规定时限内办理并答复。"  # noqa: E501
        elif answer:
            reply = answer
        else:
            reply = f"关于{title}，我们已记录您的情况并向您说明了相关规定。"
        base = {"session_id": session["id"], "kind": Message.Kind.TEXT, "attachment": ""}
        inbound = {**base, "direction": Message.Direction.INBOUND, "delivery": ""}
        outbound = {
            **base,
            "direction": Message.Direction.OUTBOUND,
            "sender_id": contact.agent,
            "delivery": "delivered",
            "attempts": 1,
        }
        rows = [{**inbound, "body": content, "at": contact.arrival}]
        if contact.channel not in MAILBOX:
            rows.append({**outbound, "body": GREETING, "at": contact.responded})
            answered_at = contact.responded + (contact.ended - contact.responded) * 0.6
            rows.append({**outbound, "body": reply, "at": answered_at})
            rows.append({**inbound, "body": rng.choice(THANKS), "at": session["last_inbound_at"]})
        else:
            rows.append({**outbound, "body": f"您好，来信收悉。{reply}", "at": contact.responded})
        return rows


def _rating(rng, contact: Contact) -> str:
    weights = list(SESSION_SATISFACTION)
    if (contact.answered - contact.arrival).total_seconds() > 60:  # a long wait shows
        weights = [w * f for w, f in zip(weights, (0.6, 0.9, 1.6, 2.5, 3), strict=True)]
    return rng.choices(SATISFACTION, weights=weights)[0]


MOBILE_PREFIXES = [
    "135",
    "136",
    "138",
    "139",
    "150",
    "151",
    "158",
    "177",
    "186",
    "188",
    "189",
    "198",
]  # noqa: E501
HAINAN_LANDLINE = "0898"


def _new_address(rng, kind: str, index: int) -> str:
    if kind == "phone":
        if rng.random() < 0.12:
            return f"{HAINAN_LANDLINE}{rng.randrange(10**7, 10**8)}"
        return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
    if kind == "fax":
        return f"{HAINAN_LANDLINE}{rng.randrange(10**7, 10**8)}"
    if kind == "email":
        domain = rng.choice(["qq.com", "163.com", "126.com", "sina.com", "hotmail.com"])
        return f"user{index:05d}{rng.randrange(100)}@{domain}"
    if kind == "wechat":
        return "o" + "".join(
            rng.choices("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789_-", k=27)
        )  # noqa: E501
    if kind == "weibo":
        return f"weibo_{rng.randrange(10**9, 10**10)}"
    return f"v{rng.getrandbits(48):012x}"  # a web visitor


# --- the entry point ----------------------------------------------------------------------------


def existing_history(platform: Platform, before: dt.datetime) -> tuple[int, int]:
    """(sessions, orders) of the platform dated before ``before``."""
    return (
        Session.objects.filter(platform=platform, created_at__lt=before).count(),
        WorkOrder.objects.filter(platform=platform, created_at__lt=before).count(),
    )


def generate(
    *,
    calls: int,
    orders: int,
    seed: int = 12345,
    now: dt.datetime | None = None,
    days: int = DAYS,
    stdout=None,
) -> dict:
    """Write the demo platform's past year: ``calls`` contacts and ``orders`` work orders,
    dated in the ``days`` days before today. Refuses (Conflict, nothing written) when the
    platform already has records from before today, or no demo platform is there. Returns a JSON-safe summary with the seconds each part took."""
    if calls < 0 or orders < 0:
        raise Conflict("话务与工单数量不能为负数")
    platform = Platform.objects.filter(code=PLATFORM).first()
    if platform is None:
        raise Conflict("尚未载入演示热线（三亚市），请先运行 hotline init --demo")
    now = now or timezone.now()

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message + "\n")

    started = time.monotonic()
    history = History(platform, seed=seed, now=now, days=days)
    sessions_before, orders_before = existing_history(platform, history.end)
    if sessions_before or orders_before:
        raise Conflict(
            f"演示历史数据已存在（{platform.name}今日之前已有会话 {sessions_before:,} 条、"
            f"工单 {orders_before:,} 件），未重复生成"
        )
    seconds = history.result.seconds
    mark = time.monotonic()
    if calls:
        history.plan_calls(calls)
        history.schedule()
        if orders:
            history.mark_orders(orders)
        history.choose_matters()
    seconds["plan_calls"] = round(time.monotonic() - mark, 2)
    mark = time.monotonic()
    if orders:
        history.load_orders(orders, say)
    seconds["orders"] = round(time.monotonic() - mark, 2)
    mark = time.monotonic()
    if calls:
        history.write_calls(say)
    seconds["write_calls"] = round(time.monotonic() - mark, 2)
    result = history.result
    seconds["total"] = round(time.monotonic() - started, 2)
    summary = {
        "platform": platform.code,
        "from": history.days[0].date.isoformat(),
        "to": history.days[-1].date.isoformat(),
        "seed": seed,
        "calls": result.calls,
        "answered": result.answered,
        "abandoned": result.abandoned,
        "facts": result.facts,
        "legs": result.legs,
        "messages": result.messages,
        "profiles": result.profiles,
        "orders": result.orders,
        "order_events": result.order_events,
        "orders_from_calls": result.linked_orders,
        "typhoon_days": result.typhoon_days,
        "channels": dict(Counter(c.channel for c in history.contacts)),
        "seconds": seconds,
    }
    say(
        f"演示历史（{summary['from']} 至 {summary['to']}）：会话 {result.calls:,} 个"
        f"（接通 {result.answered:,}，放弃 {result.abandoned:,}），话务事实 {result.facts:,} 条；"
        f"工单 {result.orders:,} 件（来自会话 {result.linked_orders:,} 件），"
        f"流转记录 {result.order_events:,} 条；用时 {seconds['total']:.1f} 秒"
    )
    return summary
