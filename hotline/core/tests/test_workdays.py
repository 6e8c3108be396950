"""Working-day arithmetic (工作日历): deadlines across holidays and 调休 make-up days."""

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.core import services, workdays
from hotline.core.models import CalendarDay
from hotline.core.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def calendar_from(rows) -> WorkCalendar:
    return WorkCalendar(
        holidays=frozenset(r["date"] for r in rows if r["kind"] == "holiday"),
        workdays=frozenset(r["date"] for r in rows if r["kind"] == "workday"),
    )


SHIPPED = calendar_from(workdays.shipped_days())


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


# --- known answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (dt.date(2025, 9, 29), 1, dt.date(2025, 9, 30)),
        (dt.date(2025, 9, 29), 2, dt.date(2025, 10, 9)),  # across 国庆/中秋 1–8 Oct
        (dt.date(2025, 9, 29), 3, dt.date(2025, 10, 10)),  # Friday
        (dt.date(2025, 9, 29), 4, dt.date(2025, 10, 11)),  # Saturday, 调休上班
        (dt.date(2025, 9, 29), 5, dt.date(2025, 10, 13)),
        (dt.date(2025, 9, 27), 1, dt.date(2025, 9, 28)),  # Sat → Sun, 调休上班
        (dt.date(2025, 9, 29), 0, dt.date(2025, 9, 29)),
        (dt.date(2026, 2, 13), 1, dt.date(2026, 2, 14)),  # 春节调休 Saturday
    ],
)
def test_working_days_known_answers(start, days, due):
    assert SHIPPED.add_working_days(start, days) == due


def test_datetime_keeps_the_local_time_of_day():
    assert SHIPPED.add_working_days(at(2025, 9, 29, 15, 30), 3) == at(2025, 10, 10, 15, 30)
    # the same instant given in UTC: the Shanghai time of day is kept
    utc = dt.datetime(2025, 9, 29, 7, 30, tzinfo=dt.UTC)
    due = SHIPPED.add_working_days(utc, 3)
    assert due == at(2025, 10, 10, 15, 30)
    assert due.utcoffset() == dt.timedelta(hours=8)
    # late evening UTC is already the next day in Shanghai
    late = dt.datetime(2025, 9, 30, 17, 0, tzinfo=dt.UTC)  # 1 Oct 01:00 in Shanghai
    assert SHIPPED.add_working_days(late, 1) == at(2025, 10, 9, 1, 0)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (at(2025, 9, 30, 17, 0), 2, at(2025, 10, 9, 9, 0)),  # last day before the holiday
        (at(2025, 10, 9, 11, 30), 1, at(2025, 10, 9, 14, 30)),  # over the lunch break
        (at(2025, 10, 9, 8, 0), 8, at(2025, 10, 9, 18, 0)),
        (at(2025, 10, 9, 8, 0), 8.5, at(2025, 10, 10, 8, 30)),
        (at(2025, 10, 9, 6, 0), 1, at(2025, 10, 9, 9, 0)),  # before opening
        (at(2025, 10, 9, 12, 30), 0.5, at(2025, 10, 9, 14, 30)),  # inside the lunch break
        (at(2025, 10, 10, 19, 0), 1, at(2025, 10, 11, 9, 0)),  # Saturday make-up day
        (at(2025, 10, 3, 10, 0), 1, at(2025, 10, 9, 9, 0)),  # starting on a holiday
    ],
)
def test_working_hours_known_answers(start, hours, due):
    assert SHIPPED.add_working_hours(start, hours) == due


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        SHIPPED.add_working_days(dt.date(2025, 1, 2), -1)
    with pytest.raises(ValueError):
        SHIPPED.add_working_hours(dt.datetime(2025, 1, 2, 9), 1)  # naive
    with pytest.raises(ValueError):
        SHIPPED.add_working_hours(at(2025, 1, 2, 9), -1)
    with pytest.raises(ValueError):
        workdays.parse_windows("12:00-08:00")
    with pytest.raises(ValueError):
        workdays.parse_windows("08:00-12:00,11:00-14:00")


# --- the shipped data ------------------------------------------------------------------------------


def test_shipped_data_agrees_with_chinese_calendar_2024_to_2026():
    day, wrong = dt.date(2024, 1, 1), []
    while day <= dt.date(2026, 12, 31):
        if SHIPPED.is_working_day(day) != chinese_calendar.is_workday(day):
            wrong.append(day.isoformat())
        day += dt.timedelta(days=1)
    assert wrong == []


def test_shipped_data_is_well_formed():
    rows = workdays.shipped_days()
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates) and len(dates) == len(set(dates))
    for row in rows:
        day = row["date"]
        assert row["kind"] in ("holiday", "workday")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in row["name"])
        if row["kind"] == "workday":
            assert day.weekday() >= 5, row  # make-up days fall on weekends
        assert row["provisional"] == (day.year >= 2027), row


def test_2027_is_present_and_all_provisional():
    rows = [r for r in workdays.shipped_days() if r["date"].year == 2027]
    assert rows and all(r["provisional"] for r in rows)
    assert {dt.date(2027, 1, 1), dt.date(2027, 10, 1)} <= {r["date"] for r in rows}


def test_migrated_database_holds_the_shipped_calendar(seeded):
    calendar = workdays.current()
    day = dt.date(2024, 1, 1)
    while day <= dt.date(2027, 12, 31):
        assert calendar.is_working_day(day) == SHIPPED.is_working_day(day), day
        day += dt.timedelta(days=1)


# --- properties ------------------------------------------------------------------------------------

dates = st.dates(dt.date(2023, 12, 1), dt.date(2027, 12, 31))
counts = st.integers(0, 40)


@st.composite
def calendars(draw):
    """The shipped calendar, or a random one: any holidays, make-up days on any date."""
    if draw(st.booleans()):
        return SHIPPED
    around = st.dates(dt.date(2026, 1, 1), dt.date(2026, 4, 30))
    return WorkCalendar(
        holidays=draw(st.frozensets(around, max_size=60)),
        workdays=draw(st.frozensets(around, max_size=15)),
    )


@settings(max_examples=150, deadline=None)
@given(calendar=calendars(), start=dates, n=st.integers(1, 40))
def test_result_is_a_working_day(calendar, start, n):
    assert calendar.is_working_day(calendar.add_working_days(start, n))


@settings(max_examples=150, deadline=None)
@given(calendar=calendars(), start=dates, a=counts, b=counts)
def test_monotonic_and_additive(calendar, start, a, b):
    low, high = sorted((a, b))
    if low < high:
        assert calendar.add_working_days(start, low) < calendar.add_working_days(start, high)
    assert calendar.add_working_days(start, a + b) == calendar.add_working_days(
        calendar.add_working_days(start, a), b
    )
    due = calendar.add_working_days(start, a)
    assert calendar.working_days_between(start, due) == a


@settings(max_examples=150, deadline=None)
@given(
    calendar=calendars(),
    start=st.datetimes(
        dt.datetime(2024, 1, 1), dt.datetime(2027, 6, 30), timezones=st.just(SHANGHAI)
    ),
    minutes=st.integers(0, 120 * 60),
)
def test_working_hours_round_trip(calendar, start, minutes):
    hours = minutes / 60
    due = calendar.add_working_hours(start, hours)
    assert due >= start
    assert calendar.working_hours_between(start, due) == pytest.approx(hours, abs=1e-6)
    if hours:
        local = due.astimezone(SHANGHAI)
        assert calendar.is_working_day(local.date())
        assert any(s <= local.time() <= e for s, e in calendar.windows)


# --- edits take effect at once ---------------------------------------------------------------------


def test_calendar_edit_changes_deadlines_immediately(users, django_capture_on_commit_callbacks):
    monday = dt.date(2026, 3, 2)
    assert workdays.add_working_days(monday, 1) == dt.date(2026, 3, 3)  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        services.calendar_day_set(
            actor=users.sys_admin,
            date=dt.date(2026, 3, 3),
            kind=CalendarDay.Kind.HOLIDAY,
            name="临时放假",
        )
    assert workdays.add_working_days(monday, 1) == dt.date(2026, 3, 4)
    with django_capture_on_commit_callbacks(execute=True):
        services.calendar_day_remove(actor=users.sys_admin, date=dt.date(2026, 3, 3))
    assert workdays.add_working_days(monday, 1) == dt.date(2026, 3, 3)


def test_calendar_edit_through_the_api_changes_the_api_deadline(
    users, api, django_capture_on_commit_callbacks
):
    client = api(users.sys_admin)
    query = {"start": "2025-09-30T09:00:00+08:00", "working_days": 1}
    assert client.get("/api/calendar-deadline", query).json()["due"].startswith("2025-10-09T09:00")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.put(
            "/api/calendar/days/2025-10-09",
            data={"kind": "holiday", "name": "延长假期"},
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    assert client.get("/api/calendar-deadline", query).json()["due"].startswith("2025-10-10T09:00")


def test_removing_a_holiday_makes_it_a_working_day(users, django_capture_on_commit_callbacks):
    assert workdays.add_working_days(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 9)
    with django_capture_on_commit_callbacks(execute=True):
        services.calendar_day_remove(actor=users.sys_admin, date=dt.date(2025, 10, 1))
    assert workdays.add_working_days(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 1)


def test_make_up_day_on_a_weekday_is_refused(users):
    with pytest.raises(services.Invalid):
        services.calendar_day_set(
            actor=users.sys_admin,
            date=dt.date(2026, 3, 4),
            kind=CalendarDay.Kind.WORKDAY,
            name="周三调休",
        )
