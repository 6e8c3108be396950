"""热点分析 (hot topics): rising subjects in the text of work orders.

Two readings of one period, each from the orders' stored words (``WorkOrder.search_text``:
title, content, answer and replies, segmented once by ``hotline.search`` when the order
was written — so nothing is segmented again here, and jieba is loaded the one way):

* **Keywords (热词)** — for every word, the number of orders of the period that contain it
  (document frequency) against the period of the same length just before. A word is
  scored by how far it rose above what the previous period predicts at this period's
  volume, weighted by how often it occurs::

      expected = previous × orders_now / orders_before
      lift     = log2((count + 2) / (expected + 2))       # smoothed: 1 → 3 is no wave
      score    = lift × log2(1 + count)                   # frequent and rising first

  Words in fewer than ``MIN_COUNT`` orders (or ``MIN_SHARE`` of a big period's), stop words, generic hotline words (诉求, 反映, 来电 …),
  single characters and numbers are left out. The leaf category (诉求分类) of each order
  counts as one more word, so a category that rises as a whole is a topic too. Words
  that stand for the same orders (台风 and 倒树 in the same reports; 公积 inside 公积金)
  become one topic: the best-scored word, the others as its ``related`` words.
* **Clusters (相似工单聚类)** — near-duplicate orders of the period: MinHash over each
  order's informative words (banded, within one area), confirmed by the exact Jaccard
  share of words (≥ ``CLUSTER_SHARE``), joined into groups of at least ``MIN_CLUSTER``.

Bounded work: the database filters the period, counts its orders and, above
``SAMPLE_LIMIT`` orders, keeps an even sample by ``id % step`` (counts are then scaled up
and marked ``sampled``); clustering reads at most the ``CLUSTER_LIMIT`` latest orders.
"""

import datetime as dt
import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from django.db.models import F, QuerySet
from django.db.models.functions import Mod

from hotline.core.errors import Forbidden, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.scope import scope_of
from hotline.core.workdays import LOCAL_TZ
from hotline.search.text import stopwords
from hotline.workorders.models import Category, WorkOrder
from hotline.workorders.selectors import category_subtree, orders_visible

MIN_COUNT = 3  # orders: below this a word is chance, not a topic
MIN_SHARE = 0.001  # … and in a big period, below this share of its orders
SMOOTH = 2.0
SAMPLE_LIMIT = 50_000  # orders read per period; above it an even sample
SAME_TOPIC = 0.8  # share of orders two words have in common to be one topic
SAMPLE_ORDERS = 10  # orders shown behind a topic
MAX_PERIOD_DAYS = 366

CLUSTER_LIMIT = 10_000
CLUSTER_SHARE = 0.5  # Jaccard share of informative words: the intake prompt's 重复诉求 too
MIN_CLUSTER = 3
CLUSTER_ORDERS = 50  # orders listed per cluster
_HASHES, _ROWS = 24, 2  # MinHash: 12 bands of 2 rows catch pairs of share 0.5 at ~97 %
_PRIME = (1 << 31) - 1

# Words every hotline order uses, whatever it is about (the hotline's own vocabulary,
# the agent's phrasing and the unit's reply formulas): never a topic.
GENERIC_WORDS = frozenset(
    """
    诉求 反映 市民 群众 来电 来电人 来电者 来信 留言 咨询 投诉 举报 建议 求助 表扬 热线 12345
    要求 希望 请求 恳请 相关 部门 相关部门 有关 有关部门 单位 处理 核实 核查 查处 调查 尽快
    解决 协调 落实 答复 回复 回访 告知 联系 电话 表示 称 目前 现在 今天 昨天 近日 最近 上午
    下午 晚上 凌晨 本周 上周 上周末 周末 以来 近三天 三天 一个月 近一个 时间 地点 事发 位于
    附近 所在 该 此 其 已 已经 经 进行 工作 工作人员 人员 给予 予以 加强 监管 情绪 较为 激动
    办理 办结 受理 工单 事项 情况 问题 先生 女士 师傅 本人 家人 导致 造成 存在 发现 没有 无人
    一直 多次 多日 仍然 还是 进一步 及时 依法 依规 按照 根据 规定 我们 你们 您 感谢 谢谢
    核实后 后续 跟进 督促 责令 限期 整改 情况属实 属实 经核实 现场 该处 此事
    """.split()  # noqa: SIM905 — a word list reads better as text
)


def _keep(word: str) -> bool:
    """A word that can name a subject: two characters or more, not a number, not a word
    every order has."""
    return (
        len(word) >= 2
        and not word.isdigit()
        and word not in GENERIC_WORDS
        and word not in stopwords()
    )


@dataclass
class Topic:
    """一个热点: a word (or a category) and how often the period's orders use it."""

    term: str
    count: int  # orders of the period containing it (scaled up when sampled)
    previous: int  # orders of the period before
    growth: float | None  # (count − previous) / previous; None when new (previous 0)
    score: float
    kind: str = "word"  # "word" or "category" (诉求分类)
    related: list[str] = field(default_factory=list)  # words standing for the same orders
    category: str = ""  # the category most of its orders are filed under
    order_ids: list[int] = field(default_factory=list)  # the latest few orders behind it
    order_numbers: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return " ".join([self.term, *self.related[:2]])

    @property
    def growth_text(self) -> str:
        if self.growth is None:
            return "新出现"
        return f"{self.growth:+.0%}"


@dataclass
class TopicReport:
    """热词 of a period: the topics, best first, and what they were counted on."""

    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    orders: int
    previous_orders: int
    sampled: bool
    topics: list[Topic]
    seconds: float = 0.0


@dataclass
class Cluster:
    """一组相似工单: near-duplicate orders of the period, labelled by their shared words."""

    label: list[str]
    size: int
    areas: list[tuple[str, int]]
    categories: list[tuple[str, int]]
    orders: list[dict]  # {id, number, title, area, created_at}, latest first
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None


# --- periods --------------------------------------------------------------------------------


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, LOCAL_TZ)


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of the same number of days just before ``start`` (both inclusive)."""
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def in_period(orders: QuerySet, start: dt.date, end: dt.date) -> QuerySet:
    return orders.filter(
        created_at__gte=day_start(start), created_at__lt=day_start(end + dt.timedelta(days=1))
    )


def platform_orders(platform: Platform) -> QuerySet:
    """The orders of a platform and of the platforms below it (a city and its districts)."""
    return WorkOrder.objects.filter(platform__path__startswith=platform.path)


@dataclass(frozen=True)
class Scope:
    """What a viewer asked to analyse: a period and optional filters (平台, 区域, 分类)."""

    start: dt.date
    end: dt.date
    platform: str = ""  # a platform's code: it and the platforms below it
    area: str = ""
    category: int | None = None  # a node of the category tree: its whole subtree


def check_period(start: dt.date | None, end: dt.date | None) -> None:
    if start is None or end is None:
        raise Unprocessable("请选择统计期间的起止日期", field="from" if start is None else "to")
    if start > end:
        raise Unprocessable("结束日期不能早于开始日期", field="to")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Unprocessable(f"统计期间最长 {MAX_PERIOD_DAYS} 天", field="to")


def orders_for(viewer: User, scope: Scope) -> QuerySet:
    """The orders the viewer may analyse (their data scope, as the order list has it),
    narrowed to the platform, area and category asked for."""
    check_period(scope.start, scope.end)
    orders = orders_visible(viewer)
    if scope.platform:
        platform = Platform.objects.filter(code=scope.platform.strip().upper()).first()
        if platform is None:
            raise Unprocessable(f"平台不存在：{scope.platform}", field="platform")
        if not scope_of(viewer).covers_platform(platform.pk):
            raise Forbidden("您无权查看该平台的数据")
        orders = orders.filter(platform__path__startswith=platform.path)
    if scope.area.strip():
        orders = orders.filter(area=scope.area.strip())
    if scope.category is not None:
        if not Category.objects.filter(pk=scope.category).exists():
            raise Unprocessable(f"诉求分类不存在：{scope.category}", field="category")
        orders = orders.filter(category__in=category_subtree(scope.category))
    return orders


# --- keywords -------------------------------------------------------------------------------


@dataclass
class _Period:
    total: int
    scale: float  # total / rows read
    rows: list  # (id, number, words, category_id), latest first
    counts: Counter


def _read(orders: QuerySet, start: dt.date, end: dt.date, *, keep_rows: bool) -> _Period:
    period = in_period(orders, start, end).order_by()
    total = period.count()
    if total > SAMPLE_LIMIT:  # an even sample, chosen by the database
        step = math.ceil(total / SAMPLE_LIMIT)
        period = period.annotate(_bucket=Mod(F("id"), step)).filter(_bucket=0)
    fields = ("id", "number", "search_text", "category_id")
    counts: Counter = Counter()
    rows, read = [], 0
    for pk, number, text, category_id in (
        period.order_by("-created_at", "-id").values_list(*fields).iterator(chunk_size=5000)
    ):
        read += 1
        words = {w for w in text.split() if _keep(w)}
        if category_id is not None:
            words.add(category_id)  # the category counts as one more word (an int key)
        counts.update(words)
        if keep_rows:
            rows.append((pk, number, words, category_id))
    return _Period(total, total / read if read else 1.0, rows, counts)


def _score(count: float, previous: float, now_total: int, before_total: int) -> float:
    expected = previous * now_total / before_total if before_total else 0.0
    return math.log2((count + SMOOTH) / (expected + SMOOTH)) * math.log2(1 + count)


def topics(orders: QuerySet, start: dt.date, end: dt.date, *, limit: int = 20) -> TopicReport:
    """The rising topics of ``orders`` (already scoped and filtered) from ``start`` to
    ``end`` (dates, both inclusive, Asia/Shanghai), best first."""
    began = time.monotonic()
    before_start, before_end = previous_period(start, end)
    now = _read(orders, start, end, keep_rows=True)
    before = _read(orders, before_start, before_end, keep_rows=False)
    names = dict(Category.objects.values_list("pk", "name"))

    scored = []
    floor = max(MIN_COUNT, math.ceil(MIN_SHARE * now.total))
    for key, seen in now.counts.items():
        count = round(seen * now.scale)
        if count < floor:
            continue
        previous = round(before.counts.get(key, 0) * before.scale)
        scored.append((_score(count, previous, now.total, before.total), count, previous, key))
    # ties: a word names a topic before its category does
    scored.sort(key=lambda s: (-s[0], -s[1], isinstance(s[3], int), str(s[3])))

    # Which orders stand behind the best candidates: to fold words of the same orders
    # into one topic, and to show the orders.
    candidates = scored[: max(limit * 4, 40)]
    wanted = {key for *_, key in candidates}
    behind: dict = {key: [] for key in wanted}
    for row in now.rows:
        for key in row[2] & wanted:
            behind[key].append(row)

    chosen: list[tuple[Topic, set]] = []
    for score, count, previous, key in candidates:
        ids = {row[0] for row in behind[key]}
        name = names.get(key, "") if isinstance(key, int) else key
        if not name:
            continue
        same = next((t for t, theirs in chosen if _same_orders(ids, theirs)), None)
        if same is not None:
            same.related.append(name)
            continue
        if len(chosen) >= limit:
            continue
        rows = behind[key]
        top_category = Counter(r[3] for r in rows if r[3] is not None).most_common(1)
        topic = Topic(
            term=name,
            count=count,
            previous=previous,
            growth=(count - previous) / previous if previous else None,
            score=round(score, 3),
            kind="category" if isinstance(key, int) else "word",
            category=names.get(top_category[0][0], "") if top_category else "",
            order_ids=[r[0] for r in rows[:SAMPLE_ORDERS]],
            order_numbers=[r[1] for r in rows[:SAMPLE_ORDERS]],
        )
        chosen.append((topic, ids))
    return TopicReport(
        start=start,
        end=end,
        previous_start=before_start,
        previous_end=before_end,
        orders=now.total,
        previous_orders=before.total,
        sampled=now.scale > 1.0 or before.scale > 1.0,
        topics=[t for t, _ in chosen],
        seconds=round(time.monotonic() - began, 3),
    )


def _same_orders(ours: set, theirs: set) -> bool:
    """Two words that mark (nearly) the same orders are one subject."""
    if not ours or not theirs:
        return False
    return len(ours & theirs) / len(ours | theirs) >= SAME_TOPIC


def top_topics(platform: Platform, start: dt.date, end: dt.date, limit: int = 10) -> list[Topic]:
    """The rising topics of a platform (and the platforms below it) over ``start``–``end``:
    what the monitoring wall (大屏) and the monthly report (热线月报) show."""
    return topics(platform_orders(platform), start, end, limit=limit).topics


# --- clusters -------------------------------------------------------------------------------


def clusters(
    orders: QuerySet, start: dt.date, end: dt.date, *, limit: int = 20
) -> tuple[list[Cluster], int]:
    """Groups of near-duplicate orders of the period, biggest first, and how many orders
    were compared (the latest ``CLUSTER_LIMIT``)."""
    fields = ("id", "number", "title", "area", "category_id", "created_at", "search_text")
    rows = list(
        in_period(orders, start, end)
        .order_by("-created_at", "-id")
        .values_list(*fields)[:CLUSTER_LIMIT]
    )
    words = [{w for w in row[6].split() if _keep(w)} for row in rows]
    frequency = Counter(w for ws in words for w in ws)
    # Informative: shared with another order, and not in most of them.
    ceiling = max(0.2 * len(rows), 50)
    words = [{w for w in ws if 2 <= frequency[w] <= ceiling} for ws in words]

    groups = _group(words, [row[3] for row in rows])
    names = dict(Category.objects.values_list("pk", "name"))
    found = []
    for members in groups:
        if len(members) < MIN_CLUSTER:
            continue
        members.sort()  # rows are latest first
        shared = Counter(w for i in members for w in words[i])
        titles = "\n".join(rows[i][2] for i in members)
        label = sorted(  # shared by most, then said in the titles, then rarest
            (w for w, n in shared.items() if n * 2 >= len(members)),
            key=lambda w: (-shared[w], w not in titles, frequency[w], w),
        )
        label = _distinct(label)[:3]
        times = [rows[i][5] for i in members]
        found.append(
            Cluster(
                label=label,
                size=len(members),
                areas=Counter(rows[i][3] or "（未填）" for i in members).most_common(),
                categories=Counter(
                    names.get(rows[i][4], "（未分类）") for i in members
                ).most_common(3),
                orders=[
                    {
                        "id": rows[i][0],
                        "number": rows[i][1],
                        "title": rows[i][2],
                        "area": rows[i][3],
                        "created_at": rows[i][5],
                    }
                    for i in members[:CLUSTER_ORDERS]
                ],
                first_at=min(times),
                last_at=max(times),
            )
        )
    found.sort(key=lambda c: (-c.size, -c.last_at.timestamp()))
    return found[:limit], len(rows)


def _distinct(words: list[str]) -> list[str]:
    """Drop a word inside a longer one already kept (公积 beside 公积金)."""
    kept: list[str] = []
    for word in sorted(words, key=len, reverse=True):
        if not any(word in longer for longer in kept):
            kept.append(word)
    return sorted(kept, key=words.index)


def _group(words: list[set], areas: list[str]) -> list[list[int]]:
    """Union of orders whose word sets share ≥ CLUSTER_SHARE (Jaccard), in the same area.

    Candidates come from MinHash bands keyed by area; in each bucket an order is checked
    against the bucket's first few unlike members only (its representatives), so a bucket
    of a thousand copies of one complaint costs a thousand checks, not half a million."""
    parent = list(range(len(words)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    vocabulary = {w: n for n, w in enumerate(sorted({w for ws in words for w in ws}))}
    if not vocabulary:
        return []
    generator = np.random.default_rng(12345)  # fixed: the same data gives the same groups
    a = generator.integers(1, _PRIME, size=_HASHES, dtype=np.int64)
    b = generator.integers(0, _PRIME, size=_HASHES, dtype=np.int64)
    ids = np.arange(len(vocabulary), dtype=np.int64)[:, None]
    table = (ids * a + b) % _PRIME  # (words × hashes)

    buckets: dict[tuple, list[int]] = {}
    for i, ws in enumerate(words):
        if len(ws) < 2:
            continue
        signature = table[[vocabulary[w] for w in ws]].min(axis=0)
        for band in range(0, _HASHES, _ROWS):
            key = (areas[i], band, *signature[band : band + _ROWS].tolist())
            buckets.setdefault(key, []).append(i)
    for members in buckets.values():
        representatives: list[int] = []
        for i in members:
            for r in representatives:
                if _jaccard(words[i], words[r]) >= CLUSTER_SHARE:
                    parent[root(i)] = root(r)
                    break
            else:
                if len(representatives) < 8:
                    representatives.append(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(words)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _jaccard(ours: set, theirs: set) -> float:
    return len(ours & theirs) / len(ours | theirs)
