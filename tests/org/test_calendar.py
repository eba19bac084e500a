"""The work calendar: official holidays, make-up workdays, overrides, the 2027 fallback, and
the arithmetic of working hours and days (Asia/Shanghai office hours, UTC in and out)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from gongzhi.org.calendar import (
    WorkCalendar,
    is_official_year,
    official_holiday_name,
    parse_office_hours,
)

CST = timezone(timedelta(hours=8))  # Shanghai has had no daylight saving time since 1991
CAL = WorkCalendar.from_overrides()


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)  # type: ignore[arg-type,misc]


def as_cst(moment: datetime) -> datetime:
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0), "must be UTC"
    return moment.astimezone(CST)


# -- days ---------------------------------------------------------------------------------


def test_national_day_2026_is_off_and_its_make_up_days_are_workdays() -> None:
    for day in range(1, 8):
        assert not CAL.is_workday(date(2026, 10, day)), f"10-{day:02d} should be off"
    assert CAL.is_workday(date(2026, 9, 20))  # Sunday, make-up workday
    assert CAL.is_workday(date(2026, 10, 10))  # Saturday, make-up workday
    assert CAL.is_workday(date(2026, 10, 8))
    assert not CAL.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    assert official_holiday_name(date(2026, 10, 3)) == "National Day"


def test_spring_festival_2026() -> None:
    off = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]  # 02-15 .. 02-23
    assert not any(CAL.is_workday(d) for d in off)
    assert CAL.is_workday(date(2026, 2, 14))  # Saturday before, make-up
    assert CAL.is_workday(date(2026, 2, 28))  # Saturday after, make-up
    assert CAL.is_workday(date(2026, 2, 24))
    # 02-09..13 (5) + 02-14 make-up + 02-24..27 (4) + 02-28 make-up = 11
    assert CAL.workdays_between(date(2026, 2, 9), date(2026, 3, 1)) == 11


def test_an_override_wins_over_official_data_and_weekends() -> None:
    cal = WorkCalendar.from_overrides([(date(2026, 10, 8), False), (date(2026, 10, 11), True)])
    assert not cal.is_workday(date(2026, 10, 8))
    assert cal.is_workday(date(2026, 10, 11))
    # The next working day after the golden week moves on to 10-09.
    assert cal.next_workday(date(2026, 10, 1)) == date(2026, 10, 9)
    assert CAL.next_workday(date(2026, 10, 1)) == date(2026, 10, 8)


def test_2027_falls_back_to_weekends_and_flags_it() -> None:
    assert is_official_year(2026)
    assert not is_official_year(2027)
    assert not CAL.is_official(date(2027, 3, 1))
    assert CAL.is_official(date(2026, 3, 1))
    assert CAL.is_workday(date(2027, 3, 1))  # Monday
    assert not CAL.is_workday(date(2027, 3, 6))  # Saturday
    # Until the State Council's schedule is loaded as overrides, 2027-02-08 (the eve of the
    # Spring Festival) is an ordinary Monday; once it is loaded, the override decides.
    assert CAL.is_workday(date(2027, 2, 8))
    loaded = WorkCalendar.from_overrides([(date(2027, 2, 8), False)])
    assert not loaded.is_workday(date(2027, 2, 8))
    deadline = as_cst(CAL.add_working_days(cst(2027, 3, 5, 10, 0), 1))  # Friday + 1
    assert deadline == cst(2027, 3, 8, 17, 30)


# -- working hours ------------------------------------------------------------------------


def test_hours_within_one_morning() -> None:
    assert as_cst(CAL.add_working_hours(cst(2026, 11, 2, 9, 0), 2)) == cst(2026, 11, 2, 11, 0)


def test_hours_skip_the_lunch_break() -> None:
    # 11:00 + 2 h = 1 h before noon + 1 h after 13:30
    assert as_cst(CAL.add_working_hours(cst(2026, 11, 2, 11, 0), 2)) == cst(2026, 11, 2, 14, 30)


def test_friday_afternoon_start_crosses_the_weekend() -> None:
    # Friday 2026-11-06 16:00: 1.5 h left that day, 2.5 h more on Monday from 08:30.
    result = CAL.add_working_hours(cst(2026, 11, 6, 16, 0), 4)
    assert as_cst(result) == cst(2026, 11, 9, 11, 0)
    assert result.tzinfo is UTC


def test_start_outside_office_hours_counts_from_the_next_period() -> None:
    assert as_cst(CAL.add_working_hours(cst(2026, 11, 2, 6, 0), 1)) == cst(2026, 11, 2, 9, 30)
    assert as_cst(CAL.add_working_hours(cst(2026, 11, 2, 12, 15), 1)) == cst(2026, 11, 2, 14, 30)
    assert as_cst(CAL.add_working_hours(cst(2026, 11, 2, 20, 0), 1)) == cst(2026, 11, 3, 9, 30)
    assert as_cst(CAL.add_working_hours(cst(2026, 11, 7, 10, 0), 1)) == cst(2026, 11, 9, 9, 30)


def test_exactly_filling_a_period_ends_at_its_close() -> None:
    assert as_cst(CAL.add_working_hours(cst(2026, 11, 2, 13, 30), 4)) == cst(2026, 11, 2, 17, 30)


def test_hours_across_national_day_land_after_the_make_up_saturday_rule() -> None:
    # Wednesday 09-30 16:00 + 2 h: 1.5 h on 09-30, then 10-01..10-07 off, 10-08 09:00.
    assert as_cst(CAL.add_working_hours(cst(2026, 9, 30, 16, 0), 2)) == cst(2026, 10, 8, 9, 0)
    # A full working day (7.5 h) from 10-09 08:30 ends 17:30; one more hour reaches the
    # make-up Saturday 10-10.
    assert as_cst(CAL.add_working_hours(cst(2026, 10, 9, 8, 30), 8.5)) == cst(2026, 10, 10, 9, 30)


def test_utc_input_gives_utc_output_with_the_right_offset() -> None:
    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    result = CAL.add_working_hours(start, 1)
    assert result == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert result.utcoffset() == timedelta(0)
    # An instant given in another zone is the same instant.
    berlin = start.astimezone(timezone(timedelta(hours=1)))
    assert CAL.add_working_hours(berlin, 1) == result


def test_naive_datetimes_and_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_hours(datetime(2026, 11, 2, 9, 0), 1)
    with pytest.raises(ValueError):
        CAL.add_working_hours(cst(2026, 11, 2, 9, 0), -1)
    with pytest.raises(ValueError):
        CAL.add_working_days(cst(2026, 11, 2, 9, 0), -1)


def test_zero_hours_is_the_moment_itself() -> None:
    start = cst(2026, 11, 7, 10, 0)  # a Saturday
    assert CAL.add_working_hours(start, 0) == start


def test_configurable_office_hours() -> None:
    cal = WorkCalendar.from_overrides(office_hours=parse_office_hours("09:00-12:00,14:00-18:00"))
    assert as_cst(cal.add_working_hours(cst(2026, 11, 2, 11, 0), 2)) == cst(2026, 11, 2, 15, 0)
    assert as_cst(cal.add_working_days(cst(2026, 11, 2, 11, 0), 1)) == cst(2026, 11, 3, 18, 0)
    with pytest.raises(ValueError):
        WorkCalendar.from_overrides(office_hours=((time(12), time(9)),))
    with pytest.raises(ValueError):
        WorkCalendar.from_overrides(office_hours=((time(9), time(12)), (time(11), time(13))))


# -- working days -------------------------------------------------------------------------


def test_days_start_counting_the_next_day_and_end_at_close_of_office() -> None:
    # Monday 2026-11-02 + 5 working days -> Monday 11-09 17:30.
    assert as_cst(CAL.add_working_days(cst(2026, 11, 2, 10, 0), 5)) == cst(2026, 11, 9, 17, 30)
    # Friday afternoon + 1 -> Monday.
    assert as_cst(CAL.add_working_days(cst(2026, 11, 6, 16, 0), 1)) == cst(2026, 11, 9, 17, 30)
    # 0 days on a Saturday -> end of Monday.
    assert as_cst(CAL.add_working_days(cst(2026, 11, 7, 10, 0), 0)) == cst(2026, 11, 9, 17, 30)


def test_days_across_national_day_use_the_make_up_days() -> None:
    # 09-30 + 1 -> 10-08; + 3 -> 10-10 (the make-up Saturday).
    assert as_cst(CAL.add_working_days(cst(2026, 9, 30, 9, 0), 1)) == cst(2026, 10, 8, 17, 30)
    assert as_cst(CAL.add_working_days(cst(2026, 9, 30, 9, 0), 3)) == cst(2026, 10, 10, 17, 30)
    # 09-19 (Saturday) + 1 -> 09-20, the make-up Sunday.
    assert as_cst(CAL.add_working_days(cst(2026, 9, 19, 9, 0), 1)) == cst(2026, 9, 20, 17, 30)


def test_days_use_the_local_date_of_a_utc_moment() -> None:
    # 2026-11-05 17:00 UTC is already Friday 11-06 01:00 in Shanghai: +1 -> Monday.
    late = datetime(2026, 11, 5, 17, 0, tzinfo=UTC)
    assert as_cst(CAL.add_working_days(late, 1)) == cst(2026, 11, 9, 17, 30)


# -- between ------------------------------------------------------------------------------


def test_hours_between() -> None:
    assert CAL.working_hours_between(cst(2026, 11, 2, 9, 0), cst(2026, 11, 2, 15, 0)) == 4.5
    assert CAL.working_hours_between(cst(2026, 11, 6, 16, 0), cst(2026, 11, 9, 11, 0)) == 4.0
    assert CAL.working_hours_between(cst(2026, 11, 2, 15, 0), cst(2026, 11, 2, 9, 0)) == -4.5
    # The whole golden week contains no office time.
    assert CAL.working_hours_between(cst(2026, 10, 1, 0, 0), cst(2026, 10, 8, 0, 0)) == 0.0


def test_office_time() -> None:
    assert CAL.is_office_time(cst(2026, 11, 2, 9, 0))
    assert not CAL.is_office_time(cst(2026, 11, 2, 12, 30))
    assert not CAL.is_office_time(cst(2026, 10, 2, 9, 0))
    assert CAL.is_office_time(cst(2026, 10, 10, 9, 0))


def test_properties_adding_then_measuring_round_trips() -> None:
    """For random starts and amounts across 2026 and 2027: the measured office time between
    a start and start + h is h (once the start is inside office time), results are always
    office-time boundaries or inside office time, and more hours never end earlier."""
    rng = random.Random(20261128)
    cal = WorkCalendar.from_overrides([(date(2026, 12, 31), False), (date(2027, 1, 2), True)])
    for _ in range(400):
        start = cst(2026, 1, 1) + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
        hours = rng.choice([0.5, 1, 2, 4, 7.5, 8, 24, 40]) + rng.randrange(0, 4) * 0.25
        end = cal.add_working_hours(start, hours)
        assert end >= start
        assert abs(cal.working_hours_between(start, end) - hours) < 1e-9
        local_end = as_cst(end)
        assert cal.is_workday(local_end.date())
        assert time(8, 30) < local_end.time() <= time(17, 30)
        assert cal.add_working_hours(start, hours + 0.25) > end
        days = rng.randrange(0, 15)
        start_day = start.date()
        due = as_cst(cal.add_working_days(start, days))
        assert cal.is_workday(due.date()) and due.time() == time(17, 30)
        if days == 0:
            assert due.date() == cal.next_workday(start_day, include_self=True)
        else:
            # The start day is not counted; the due day is the days-th workday after it.
            assert cal.workdays_between(start_day + timedelta(days=1), due.date()) == days
