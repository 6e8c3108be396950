"""热点分析 API: rising topics and clusters of similar orders for a period, within the
caller's data scope (the permission to view work orders, as the order list has it)."""

import datetime as dt

from ninja import Field, Query, Router, Schema

from . import hot

router = Router(tags=["热点分析"])


class TopicOut(Schema):
    term: str
    label: str
    kind: str
    count: int
    previous_count: int
    growth: float | None
    score: float
    related: list[str]
    category: str
    order_ids: list[int]
    order_numbers: list[str]


class TopicsOut(Schema):
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    orders: int
    previous_orders: int
    sampled: bool
    topics: list[TopicOut]


class ClusterOrderOut(Schema):
    id: int
    number: str
    title: str
    area: str
    created_at: dt.datetime


class ClusterOut(Schema):
    label: list[str]
    size: int
    areas: list[tuple[str, int]]
    categories: list[tuple[str, int]]
    orders: list[ClusterOrderOut]


class ClustersOut(Schema):
    start: dt.date
    end: dt.date
    compared: int
    clusters: list[ClusterOut]


class PeriodIn(Schema):
    """The query of both endpoints: ``from``/``to`` (dates, both inclusive) and filters."""

    start: dt.date | None = Field(None, alias="from")
    end: dt.date | None = Field(None, alias="to")
    platform: str = ""
    area: str = ""
    category: int | None = None
    limit: int = Field(20, ge=1, le=100)


def _scope(query: PeriodIn) -> hot.Scope:
    # Refusals (a bad period, a platform outside the caller's scope) are HotlineErrors:
    # the API answers them in Chinese with a 4xx, and Django logs the 4xx.
    hot.check_period(query.start, query.end)
    return hot.Scope(
        start=query.start,
        end=query.end,
        platform=query.platform,
        area=query.area,
        category=query.category,
    )


@router.get("/hot-topics", response=TopicsOut, summary="热点话题（热词及环比增长）")
def hot_topics(request, query: Query[PeriodIn]):
    scope = _scope(query)
    report = hot.topics(
        hot.orders_for(request.user, scope), scope.start, scope.end, limit=query.limit
    )
    return {
        "start": report.start,
        "end": report.end,
        "previous_start": report.previous_start,
        "previous_end": report.previous_end,
        "orders": report.orders,
        "previous_orders": report.previous_orders,
        "sampled": report.sampled,
        "topics": [
            {
                "term": t.term,
                "label": t.label,
                "kind": t.kind,
                "count": t.count,
                "previous_count": t.previous,
                "growth": t.growth,
                "score": t.score,
                "related": t.related,
                "category": t.category,
                "order_ids": t.order_ids,
                "order_numbers": t.order_numbers,
            }
            for t in report.topics
        ],
    }


@router.get("/hot-topics/clusters", response=ClustersOut, summary="相似工单聚类")
def hot_clusters(request, query: Query[PeriodIn]):
    scope = _scope(query)
    found, compared = hot.clusters(
        hot.orders_for(request.user, scope), scope.start, scope.end, limit=query.limit
    )
    return {
        "start": scope.start,
        "end": scope.end,
        "compared": compared,
        "clusters": [
            {
                "label": c.label,
                "size": c.size,
                "areas": c.areas,
                "categories": c.categories,
                "orders": c.orders,
            }
            for c in found
        ],
    }
