"""The work calendar: which days are workdays and how deadlines count working time.

Official holidays and make-up workdays come from ``chinese-calendar``. Its data ends with the
last year the State Council has published (2026 for the pinned version); for a later year the
calendar falls back to "Monday to Friday" plus the override table, into which an
administrator loads the next year's schedule once it is published (DESIGN.md, "Data rules").
``is_official_year`` tells pages when to warn that a deadline rests on the fallback.

:class:`WorkCalendar` is built once from the override rows and then answers from memory: its
functions run for every deadline of every case and must not touch the database.

Conventions (written down because deadlines are contested):

- Moments are aware datetimes; results are aware UTC. Office hours are local
  (Asia/Shanghai by default, no daylight saving time).
- ``add_working_hours`` counts office time only; a start outside office hours starts
  counting at the next office period; a result that lands exactly on the end of a period
  stays there (17:30, not the next morning).
- ``add_working_days`` follows the Civil Code (民法典 art. 201): the day of the start is not
  counted; the deadline is the end of office hours on the n-th working day after it. With
  n = 0 it is the end of the start day if that is a workday, else of the next workday.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(8, 30), time(12, 0)),
    (time(13, 30), time(17, 30)),
)
# A deadline never needs to search further than this many days for a workday; a calendar
# with no workday at all in that span is a configuration error, not an endless loop.
_MAX_SCAN_DAYS = 3660


@lru_cache(maxsize=256)
def is_official_year(year: int) -> bool:
    """True if chinese-calendar carries the State Council's schedule for ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def official_years() -> range:
    """The years with official data (contiguous in chinese-calendar)."""
    years = sorted({d.year for d in chinese_calendar.holidays})
    return range(years[0], years[-1] + 1)


@lru_cache(maxsize=8192)
def _official_workday(day: date) -> bool | None:
    """The official answer for ``day``, or None when its year has no official data."""
    if not is_official_year(day.year):
        return None
    return bool(chinese_calendar.is_workday(day))


def official_holiday_name(day: date) -> str | None:
    """The name of the official holiday on ``day`` (e.g. "National Day"), if any."""
    if not is_official_year(day.year):
        return None
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    return str(name) if on_holiday and name else None


def _check_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given; use an aware datetime (UTC)")


@dataclass(frozen=True)
class WorkCalendar:
    """Workdays and office hours; pure and in-memory once built.

    ``overrides`` maps a date to True (workday) or False (day off) and wins over both the
    official data and the weekend rule.
    """

    overrides: Mapping[date, bool]
    office_hours: tuple[tuple[time, time], ...] = DEFAULT_OFFICE_HOURS
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        previous_end: time | None = None
        if not self.office_hours:
            raise ValueError("office hours must contain at least one period")
        for start, end in self.office_hours:
            if not start < end:
                raise ValueError(f"office period {start}-{end} ends before it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError("office periods must be in order and must not overlap")
            previous_end = end
        # Freeze a private copy so later changes to the caller's dict cannot leak in.
        object.__setattr__(self, "overrides", dict(self.overrides))

    @classmethod
    def from_overrides(
        cls,
        overrides: Iterable[tuple[date, bool]] = (),
        *,
        office_hours: tuple[tuple[time, time], ...] = DEFAULT_OFFICE_HOURS,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> WorkCalendar:
        return cls(dict(overrides), office_hours, timezone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # -- days -----------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        official = _official_workday(day)
        if official is not None:
            return official
        return day.weekday() < 5

    def is_official(self, day: date) -> bool:
        """False when ``day``'s answer rests on the weekend fallback (staff see a warning)."""
        return is_official_year(day.year)

    def next_workday(self, day: date, *, include_self: bool = False) -> date:
        current = day if include_self else day + timedelta(days=1)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_workday(current):
                return current
            current += timedelta(days=1)
        raise ValueError(f"no workday within {_MAX_SCAN_DAYS} days of {day}")

    def workdays_between(self, first: date, last: date) -> int:
        """Number of workdays in the closed range [first, last]."""
        count, current = 0, first
        while current <= last:
            count += self.is_workday(current)
            current += timedelta(days=1)
        return count

    # -- moments --------------------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        _check_aware(moment)
        return moment.astimezone(self.tz)

    def _at(self, day: date, t: time) -> datetime:
        return datetime.combine(day, t, tzinfo=self.tz)

    def _periods_from(self, local: datetime) -> Iterable[tuple[datetime, datetime]]:
        """Office periods (local) that end after ``local``, in order, starting with the one
        containing it; the first period is clipped to start at ``local``."""
        day = local.date()
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_workday(day):
                for start_t, end_t in self.office_hours:
                    start, end = self._at(day, start_t), self._at(day, end_t)
                    if end <= local:
                        continue
                    yield max(start, local), end
            day += timedelta(days=1)
        raise ValueError(f"no office time within {_MAX_SCAN_DAYS} days of {local}")

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        """The moment ``hours`` of office time after ``moment`` (aware UTC)."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        local = self._local(moment)
        if hours == 0:
            return local.astimezone(UTC)
        remaining = timedelta(hours=hours)
        for start, end in self._periods_from(local):
            available = end - start
            if remaining <= available:
                return (start + remaining).astimezone(UTC)
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """End of office hours on the ``days``-th working day after ``moment``'s local day."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = self._local(moment).date()
        if days == 0:
            day = self.next_workday(day, include_self=True)
        for _ in range(days):
            day = self.next_workday(day)
        return self._at(day, self.office_hours[-1][1]).astimezone(UTC)

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Office hours between two moments; negative when ``b`` is before ``a``."""
        if b < a:
            return -self.working_hours_between(b, a)
        local_a, local_b = self._local(a), self._local(b)
        total = timedelta()
        day = local_a.date()
        last = local_b.date()
        while day <= last:
            if self.is_workday(day):
                for start_t, end_t in self.office_hours:
                    start = max(self._at(day, start_t), local_a)
                    end = min(self._at(day, end_t), local_b)
                    if end > start:
                        total += end - start
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    def is_office_time(self, moment: datetime) -> bool:
        local = self._local(moment)
        if not self.is_workday(local.date()):
            return False
        return any(start <= local.time() < end for start, end in self.office_hours)


def parse_office_hours(text: str) -> tuple[tuple[time, time], ...]:
    """'08:30-12:00,13:30-17:30' -> periods (for settings and the CLI)."""
    periods: list[tuple[time, time]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        start_s, _, end_s = part.partition("-")
        periods.append((time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())))
    return tuple(periods)
