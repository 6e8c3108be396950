"""Deadlines (办理时限) from the SLA table, on the working-day calendar (R-STD-7, R-WO-7).

The tests read the table the migrations seed (sla.rules() reads the database); the
calendar is the shipped one (National Day 2025: 1–8 October off, 28 Sep and 11 Oct
worked)."""

import datetime as dt
import itertools

import pytest

from hotline.core.workdays import LOCAL_TZ, add_working_days, add_working_hours
from hotline.workorders import sla
from hotline.workorders.models import OrderType, SlaRule, Urgency

MONDAY = dt.datetime(2026, 3, 2, 10, 0, tzinfo=LOCAL_TZ)  # an ordinary working Monday
MINUTE, HOUR = dt.timedelta(minutes=1), dt.timedelta(hours=1)


def due(stage, start=MONDAY, *, order_type="complaint", urgency="normal", utility=False):
    return sla.due(stage, start, order_type=order_type, urgency=urgency, public_utility=utility)


def test_the_migrations_seed_the_default_table(seeded):
    stored = sorted(
        (r.stage, r.order_type, r.urgency, r.public_utility, r.amount, r.measure)
        for r in SlaRule.objects.all()
    )
    expected = sorted(
        (r.stage, r.order_type, r.urgency, r.public_utility, r.amount, r.measure)
        for r in sla.DEFAULT_RULES
    )
    assert stored == expected


def test_empty_table_falls_back_to_the_defaults(seeded):
    SlaRule.objects.all().delete()
    assert sla.rules() == sla.DEFAULT_RULES
    assert due("sign", urgency="critical") == MONDAY + 15 * MINUTE


# --- sign for (签收) -----------------------------------------------------------------------------


def test_sign_critical_15_minutes(seeded):
    assert due("sign", urgency="critical") == MONDAY + 15 * MINUTE


def test_sign_public_utility_30_minutes(seeded):
    assert due("sign", utility=True) == MONDAY + 30 * MINUTE
    assert due("sign", urgency="urgent", utility=True) == MONDAY + 30 * MINUTE


def test_sign_critical_and_utility_15_minutes(seeded):
    assert due("sign", urgency="critical", utility=True) == MONDAY + 15 * MINUTE


def test_sign_rescue_15_minutes_even_about_water(seeded):
    assert due("sign", order_type="rescue") == MONDAY + 15 * MINUTE
    assert due("sign", order_type="rescue", utility=True) == MONDAY + 15 * MINUTE


def test_sign_otherwise_one_working_day(seeded):
    assert due("sign") == dt.datetime(2026, 3, 3, 10, 0, tzinfo=LOCAL_TZ)
    friday = dt.datetime(2026, 3, 6, 16, 30, tzinfo=LOCAL_TZ)
    assert due("sign", friday) == dt.datetime(2026, 3, 9, 16, 30, tzinfo=LOCAL_TZ)


def test_sign_across_national_day(seeded):
    start = dt.datetime(2025, 9, 30, 10, 0, tzinfo=LOCAL_TZ)
    assert due("sign", start) == dt.datetime(2025, 10, 9, 10, 0, tzinfo=LOCAL_TZ)
    # A make-up working Saturday (调休, 11 Oct 2025) counts.
    assert due("sign", dt.datetime(2025, 10, 10, 9, 0, tzinfo=LOCAL_TZ)) == dt.datetime(
        2025, 10, 11, 9, 0, tzinfo=LOCAL_TZ
    )


# --- handle (办理) ---------------------------------------------------------------------------------


def test_handle_urgent_complaint_24_hours_not_15_days(seeded):
    assert due("handle", urgency="urgent") == MONDAY + 24 * HOUR
    assert due("handle") == add_working_days(MONDAY, 15)


def test_handle_consult_and_help_7_working_days(seeded):
    assert due("handle", order_type="consult") == add_working_days(MONDAY, 7)
    assert due("handle", order_type="help") == add_working_days(MONDAY, 7)
    assert add_working_days(MONDAY, 7) == dt.datetime(2026, 3, 11, 10, 0, tzinfo=LOCAL_TZ)


def test_handle_rescue_2_hours(seeded):
    assert due("handle", order_type="rescue") == MONDAY + 2 * HOUR
    assert due("handle", order_type="rescue", urgency="critical") == MONDAY + 2 * HOUR


def test_handle_critical_2_hours(seeded):
    assert due("handle", order_type="suggestion", urgency="critical") == MONDAY + 2 * HOUR


def test_handle_default_15_working_days(seeded):
    for order_type in ("suggestion", "praise", "report", "complaint"):
        assert due("handle", order_type=order_type) == add_working_days(MONDAY, 15)


def test_handle_urgent_rescue_keeps_its_2_hours(seeded):
    """A rescue (救援) is handled within 2 hours; marking it 紧急 must not give the unit
    a whole day instead."""
    assert due("handle", order_type="rescue", urgency="urgent") == MONDAY + 2 * HOUR


@pytest.mark.parametrize("stage", ["sign", "handle", "review", "callback"])
def test_more_urgent_is_never_later(seeded, stage):
    """For every kind of order, 特急 ≤ 紧急 ≤ 一般: raising the urgency never loosens a
    deadline."""
    table = sla.rules()
    for order_type, utility in itertools.product(OrderType.values, (False, True)):
        deadlines = [
            sla.due(
                stage,
                MONDAY,
                order_type=order_type,
                urgency=urgency,
                public_utility=utility,
                table=table,
            )
            for urgency in (Urgency.NORMAL, Urgency.URGENT, Urgency.CRITICAL)
        ]
        assert deadlines == sorted(deadlines, reverse=True), (order_type, utility, deadlines)


# --- review and callback -------------------------------------------------------------------


def test_callback_urgent_24_hours_normal_72(seeded):
    assert due("callback", urgency="urgent") == MONDAY + 24 * HOUR
    assert due("callback", urgency="critical") == MONDAY + 24 * HOUR
    assert due("callback", order_type="rescue") == MONDAY + 24 * HOUR
    assert due("callback") == MONDAY + 72 * HOUR
    # Calendar hours: a weekend in between does not stretch it.
    friday = dt.datetime(2026, 3, 6, 10, 0, tzinfo=LOCAL_TZ)
    assert due("callback", friday) == dt.datetime(2026, 3, 9, 10, 0, tzinfo=LOCAL_TZ)


def test_review_24_hours(seeded):
    for order_type, urgency in itertools.product(OrderType.values, Urgency.values):
        assert due("review", order_type=order_type, urgency=urgency) == MONDAY + 24 * HOUR


def test_unknown_stage_has_no_deadline(seeded):
    assert due("dispatch") is None


# --- the table is data ----------------------------------------------------------------------------


def test_an_edited_rule_changes_the_result(seeded):
    assert due("handle", order_type="consult") == add_working_days(MONDAY, 7)
    changed = SlaRule.objects.filter(stage="handle", order_type="consult", urgency="").update(
        amount=3
    )
    assert changed == 1
    assert due("handle", order_type="consult") == add_working_days(MONDAY, 3)

    SlaRule.objects.filter(stage="sign", urgency="critical").update(amount=10)
    assert due("sign", urgency="critical") == MONDAY + 10 * MINUTE


def test_a_more_specific_rule_wins(seeded):
    SlaRule.objects.create(
        stage="handle", order_type="complaint", urgency="urgent", amount=12, measure="hours"
    )
    assert due("handle", urgency="urgent") == MONDAY + 12 * HOUR
    assert due("handle", order_type="consult", urgency="urgent") == MONDAY + 24 * HOUR


def test_working_hours_measure(seeded):
    SlaRule.objects.filter(stage="review").update(amount=6, measure="working_hours")
    assert due("review") == add_working_hours(MONDAY, 6)
    # Monday 10:00 + 6 working hours (08–12, 14–18) = Monday 18:00.
    assert due("review") == dt.datetime(2026, 3, 2, 18, 0, tzinfo=LOCAL_TZ)


def test_unknown_measure_is_an_error():
    with pytest.raises(ValueError):
        sla.add(MONDAY, 1, "fortnights")


def test_dispatch_uses_the_table(wo, new_order, act):
    """The deadlines stored on a branch come from the table as it is at dispatch."""
    from .conftest import UTILITY_LEAF, category

    order = new_order(urgency="critical", category=category(UTILITY_LEAF, public_utility=True))
    order = act(wo.dispatcher, order, "dispatch", unit=wo.units.c, now=MONDAY)
    branch = order.assignments.get()
    assert branch.sign_due == MONDAY + 15 * MINUTE
    assert branch.handle_due == order.handle_due == MONDAY + 2 * HOUR

    water = new_order(category=category(UTILITY_LEAF, public_utility=True))
    water = act(wo.dispatcher, water, "dispatch", unit=wo.units.c, now=MONDAY)
    assert water.assignments.get().sign_due == MONDAY + 30 * MINUTE

    SlaRule.objects.filter(stage="sign", public_utility=True).update(amount=20)
    again = new_order(category=category(UTILITY_LEAF, public_utility=True))
    again = act(wo.dispatcher, again, "dispatch", unit=wo.units.c, now=MONDAY)
    assert again.assignments.get().sign_due == MONDAY + 20 * MINUTE
