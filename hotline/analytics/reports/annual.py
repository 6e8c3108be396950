"""年报 (annual report): the hotline monthly report's content over a calendar year, by
month — volumes against last year, the months' traffic, top categories and areas, hot
topics of the year, the units' timeliness and each KPI against its target."""

from . import monthly
from .base import Period


def build(kind, platform, period: Period, *, now):
    return monthly.build_over(kind, platform, period, now=now, grain="month")
