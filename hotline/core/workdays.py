"""Working-day calendar (工作日历): deadlines in working days and working hours.

A day is a working day when it is Monday–Friday and not a listed holiday, or when it is a
listed 调休 make-up working day. The listed days are data (``CalendarDay``, seeded from
``data/holidays.json``, edited by the system admin). Every deadline in the product is
computed here.

:class:`WorkCalendar` is pure (no database) so that its arithmetic is tested with
hypothesis; :func:`current` builds one from the database and caches it briefly.
"""

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

HOLIDAYS_FILE = Path(__file__).parent / "data" / "holidays.json"
LOCAL_TZ = ZoneInfo(settings.TIME_ZONE)
ONE_DAY = dt.timedelta(days=1)


def parse_windows(spec: str) -> tuple[tuple[dt.time, dt.time], ...]:
    """'08:00-12:00,14:00-18:00' → ((08:00, 12:00), (14:00, 18:00))."""
    windows = []
    for part in spec.split(","):
        start, end = (dt.time.fromisoformat(x.strip()) for x in part.split("-"))
        if end <= start:
            raise ValueError(f"工作时段 {part} 的结束时间须晚于开始时间")
        windows.append((start, end))
    windows.sort()
    for (_, end), (start, _) in zip(windows, windows[1:], strict=False):
        if start < end:
            raise ValueError("工作时段不能重叠")
    return tuple(windows)


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)  # 调休 make-up days
    windows: tuple[tuple[dt.time, dt.time], ...] = parse_windows("08:00-12:00,14:00-18:00")

    # --- days -----------------------------------------------------------------------
    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        day += ONE_DAY
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def add_working_days(self, start, days: int):
        """``days`` working days after ``start`` (a date, or an aware datetime whose local
        time of day is kept). 3 working days from Monday 2025-09-29 is Friday 2025-10-10:
        30 Sep, then 9 and 10 Oct, across the National Day holiday."""
        if days < 0:
            raise ValueError("工作日数不能为负")
        if isinstance(start, dt.datetime):
            local = start.astimezone(LOCAL_TZ)
            day = self.add_working_days(local.date(), days)
            return dt.datetime.combine(day, local.timetz().replace(tzinfo=None), LOCAL_TZ)
        day = start
        for _ in range(days):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            count += self.is_working_day(day)
        return count

    # --- hours ----------------------------------------------------------------------
    @property
    def hours_per_day(self) -> float:
        return sum(_seconds(s, e) for s, e in self.windows) / 3600

    def _windows_on(self, day: dt.date):
        for start, end in self.windows:
            yield (
                dt.datetime.combine(day, start, LOCAL_TZ),
                dt.datetime.combine(day, end, LOCAL_TZ),
            )

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The instant when ``hours`` of working time have passed since ``start``.
        Time outside the working windows, at weekends and on holidays does not count."""
        if start.tzinfo is None:
            raise ValueError("需要带时区的时间")
        if hours < 0:
            raise ValueError("工作时长不能为负")
        remaining = dt.timedelta(hours=hours)
        moment = start.astimezone(LOCAL_TZ)
        day = moment.date()
        if not self.is_working_day(day):
            day = self.next_working_day(day)
            moment = dt.datetime.combine(day, dt.time(0), LOCAL_TZ)
        while True:
            for window_start, window_end in self._windows_on(day):
                if moment >= window_end:
                    continue
                begin = max(moment, window_start)
                available = window_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                moment = window_end
            day = self.next_working_day(day)
            moment = dt.datetime.combine(day, dt.time(0), LOCAL_TZ)

    def working_hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working time, in hours, between two instants (negative if end < start)."""
        if end < start:
            return -self.working_hours_between(end, start)
        start, end = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
        total = dt.timedelta()
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                for window_start, window_end in self._windows_on(day):
                    begin, finish = max(start, window_start), min(end, window_end)
                    if finish > begin:
                        total += finish - begin
            day += ONE_DAY
        return total.total_seconds() / 3600


def _seconds(start: dt.time, end: dt.time) -> int:
    return (end.hour * 3600 + end.minute * 60 + end.second) - (
        start.hour * 3600 + start.minute * 60 + start.second
    )


def shipped_days() -> list[dict]:
    """The holiday and 调休 data that ships with the platform (2024–2027), as the field
    values of ``CalendarDay`` rows: ``CalendarDay(**row)``."""
    return [
        {
            "date": dt.date.fromisoformat(row["date"]),
            "kind": row["kind"],
            "name": row["name"],
            "provisional": row.get("provisional", False),
        }
        for row in json.loads(HOLIDAYS_FILE.read_text(encoding="utf-8"))["days"]
    ]


_cache: dict = {"at": 0.0, "calendar": None}
CACHE_SECONDS = 30


def current() -> WorkCalendar:
    """The calendar as stored, cached for a few seconds (edits call :func:`forget`)."""
    now = time.monotonic()
    if _cache["calendar"] is None or now - _cache["at"] > CACHE_SECONDS:
        from .models import CalendarDay

        holidays, workdays = set(), set()
        for day, kind in CalendarDay.objects.values_list("date", "kind"):
            (holidays if kind == CalendarDay.Kind.HOLIDAY else workdays).add(day)
        _cache["calendar"] = WorkCalendar(
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            windows=parse_windows(settings.HOTLINE_WORKING_HOURS),
        )
        _cache["at"] = now
    return _cache["calendar"]


def forget() -> None:
    _cache["calendar"] = None


def add_working_days(start, days: int):
    return current().add_working_days(start, days)


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    return current().add_working_hours(start, hours)


def is_working_day(day: dt.date) -> bool:
    return current().is_working_day(day)
