"""Deadlines (办理时限) from the SLA table, on the working-day calendar.

Which rule applies: of the rules of a stage that match the order by type, urgency or
the water/power/gas flag, the strictest; the general rule (none of those set) only when
no such rule matches. So a 特急 order is signed for within 15 minutes even when it is
about water, an urgent complaint is handled in 24 hours, not 15 days, and raising the
urgency of an order can never move its deadline later.
"""

import datetime as dt
from dataclasses import dataclass

from hotline.core import workdays

from .models import SlaRule


@dataclass(frozen=True)
class Rule:
    stage: str
    amount: int
    measure: str
    order_type: str = ""
    urgency: str = ""
    public_utility: bool = False

    def matches(self, *, order_type: str, urgency: str, public_utility: bool) -> bool:
        return (
            self.order_type in ("", order_type)
            and self.urgency in ("", urgency)
            and (public_utility or not self.public_utility)
        )

    @property
    def general(self) -> bool:
        return not (self.urgency or self.order_type or self.public_utility)


# Defaults from practice (R-STD-7, R-WO-7): seeded by migration, editable by admins.
DEFAULT_RULES = [
    Rule("sign", 1, "working_days"),
    Rule("sign", 30, "minutes", public_utility=True),
    Rule("sign", 15, "minutes", urgency="critical"),
    Rule("sign", 15, "minutes", order_type="rescue"),
    Rule("handle", 15, "working_days"),
    Rule("handle", 7, "working_days", order_type="consult"),
    Rule("handle", 7, "working_days", order_type="help"),
    Rule("handle", 15, "working_days", order_type="complaint"),
    Rule("handle", 15, "working_days", order_type="report"),
    Rule("handle", 2, "hours", order_type="rescue"),
    Rule("handle", 24, "hours", urgency="urgent"),
    Rule("handle", 2, "hours", urgency="critical"),
    Rule("review", 24, "hours"),
    Rule("callback", 72, "hours"),
    Rule("callback", 24, "hours", urgency="urgent"),
    Rule("callback", 24, "hours", urgency="critical"),
    Rule("callback", 24, "hours", order_type="rescue"),
]


def add(start: dt.datetime, amount: int, measure: str) -> dt.datetime:
    if measure == "minutes":
        return start + dt.timedelta(minutes=amount)
    if measure == "hours":
        return start + dt.timedelta(hours=amount)
    if measure == "working_hours":
        return workdays.add_working_hours(start, amount)
    if measure == "working_days":
        return workdays.add_working_days(start, amount)
    raise ValueError(f"unknown measure {measure}")


def rules() -> list[Rule]:
    stored = [
        Rule(r.stage, r.amount, r.measure, r.order_type, r.urgency, r.public_utility)
        for r in SlaRule.objects.all()
    ]
    return stored or DEFAULT_RULES


def due(
    stage: str,
    start: dt.datetime,
    *,
    order_type: str,
    urgency: str,
    public_utility: bool = False,
    table: list[Rule] | None = None,
) -> dt.datetime | None:
    """The deadline of ``stage`` for an order of this kind, starting at ``start``."""
    candidates = [
        r
        for r in (table if table is not None else rules())
        if r.stage == stage
        and r.matches(order_type=order_type, urgency=urgency, public_utility=public_utility)
    ]
    specific = [r for r in candidates if not r.general]
    chosen = specific or candidates
    if not chosen:
        return None
    return min(add(start, r.amount, r.measure) for r in chosen)


# R-WO-10 (SX): received 08:00–17:00 → dispatched within 1 hour; 17:00–08:00 → by
# 12:00 of the next morning. The hotline works 7×24, so these are calendar hours.
DISPATCH_DAY = (dt.time(8, 0), dt.time(17, 0))


def dispatch_due(received: dt.datetime) -> dt.datetime:
    local = received.astimezone(workdays.LOCAL_TZ)
    start, end = DISPATCH_DAY
    if start <= local.time() < end:
        return received + dt.timedelta(hours=1)
    morning = local.date() if local.time() < start else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(morning, dt.time(12, 0), workdays.LOCAL_TZ)
