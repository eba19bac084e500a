"""Clocks in working time: weekends, the National Day holiday, make-up workdays, pauses,
matter limits, and the warning for years without official calendar data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from gongzhi.cases import services
from gongzhi.cases.clocks import clock_state, due_for
from gongzhi.cases.models import ClockKind, Priority
from gongzhi.org.calendar import WorkCalendar
from tests.cases.helpers import (
    YUHUA_ADDRESS,
    HeldClock,
    held_clock,  # noqa: F401
    no_classifier,  # noqa: F401
    principal,
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier")

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar({})


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def by_kind(case) -> dict:  # type: ignore[no-untyped-def]
    return {c.kind: c for c in case.clocks}


@pytest.mark.parametrize(
    ("priority", "kind", "start", "due"),
    [
        # Wed 30 Sep 17:00; National Day 1-7 Oct; Sat 10 Oct is a make-up workday.
        # 24 office hours: 0.5 on 30 Sep, 7.5 each on 8, 9, 10 Oct, 1 on Mon 12 Oct.
        (Priority.ORDINARY, ClockKind.DISPATCH, local(2026, 9, 30, 17), local(2026, 10, 12, 9, 30)),
        (Priority.EMERGENCY, ClockKind.DISPATCH, local(2026, 9, 30, 17), local(2026, 10, 8, 9)),
        (Priority.UTILITIES, ClockKind.DISPATCH, local(2026, 9, 30, 17), local(2026, 10, 8, 10)),
        # Seven working days after 30 Sep: 8, 9, 10, 12, 13, 14, 15 Oct.
        (
            Priority.ORDINARY,
            ClockKind.FEEDBACK,
            local(2026, 9, 30, 17),
            local(2026, 10, 15, 17, 30),
        ),
        # Friday evening: the weekend does not count.
        (
            Priority.EMERGENCY,
            ClockKind.FEEDBACK,
            local(2026, 9, 11, 20),
            local(2026, 9, 14, 10, 30),
        ),
    ],
)
def test_default_targets_count_working_time(priority, kind, start, due) -> None:  # type: ignore[no-untyped-def]
    assert due_for(kind, priority, start, CAL) == due.astimezone(UTC)


def test_an_intake_before_the_holiday_with_a_pause_and_resume(
    db: Session,
    held_clock: HeldClock,  # noqa: F811
) -> None:
    held_clock.now = local(2026, 9, 30, 17).astimezone(UTC)
    case = submit(db, address_text=YUHUA_ADDRESS)  # no category: waits in triage
    dispatch = by_kind(case)[ClockKind.DISPATCH]
    assert dispatch.due_at == local(2026, 10, 12, 9, 30).astimezone(UTC)
    state = clock_state(case, held_clock.now, CAL)[ClockKind.DISPATCH]
    assert state.remaining_seconds == 24 * 3600 and not state.overdue

    # 1 h used (30 Sep 17:00-17:30, 8 Oct 08:30-09:00), 23 h left at the pause.
    held_clock.now = local(2026, 10, 8, 9).astimezone(UTC)
    services.pause_for_citizen(db, case, reason="请补充位置", actor=principal(db, "dispatcher"))
    held_clock.now = local(2026, 10, 9, 10).astimezone(UTC)
    paused = clock_state(case, held_clock.now, CAL)[ClockKind.DISPATCH]
    assert paused.paused and paused.remaining_seconds == 23 * 3600
    services.resume(db, case, actor=principal(db, "dispatcher"))
    # 23 h from Fri 9 Oct 10:00: 6 h that day, 7.5 on Sat 10 and Mon 12 Oct, 2 h on 13 Oct.
    assert dispatch.due_at == local(2026, 10, 13, 10, 30).astimezone(UTC)
    assert dispatch.paused_seconds == 25 * 3600


def test_a_clock_runs_overdue_and_is_breached_when_stopped_late(
    db: Session,
    held_clock: HeldClock,  # noqa: F811
) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS)
    dispatch = by_kind(case)[ClockKind.DISPATCH]
    late = dispatch.due_at + timedelta(minutes=5)
    state = clock_state(case, late, CAL)[ClockKind.DISPATCH]
    assert state.overdue and state.remaining_seconds < 0
    held_clock.now = late
    services.dispatch_case(db, case, to="330523-ZHZF", actor=principal(db, "dispatcher"))
    assert dispatch.stopped_at == late and dispatch.breached
    assert clock_state(case, late + timedelta(days=30), CAL)[ClockKind.DISPATCH].overdue


def test_the_matters_own_limits_apply(db: Session, held_clock: HeldClock) -> None:  # noqa: F811
    held_clock.now = local(2026, 9, 16, 9).astimezone(UTC)
    # 井盖缺失或破损: 0.5 h sign-off, 1 working day of feedback on the responsibility list.
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    clocks = by_kind(case)
    assert clocks[ClockKind.ACCEPT].due_at == local(2026, 9, 16, 9, 30).astimezone(UTC)
    assert clocks[ClockKind.FEEDBACK].due_at == local(2026, 9, 17, 17, 30).astimezone(UTC)


def test_deadlines_in_a_year_without_official_data_carry_a_warning(
    db: Session,
    held_clock: HeldClock,  # noqa: F811
) -> None:
    held_clock.now = local(2026, 12, 28, 10).astimezone(UTC)
    case = submit(db, address_text=YUHUA_ADDRESS)
    states = clock_state(case, held_clock.now, CAL)
    assert states[ClockKind.FEEDBACK].unofficial_calendar  # 7 working days reach 2027
    assert not states[ClockKind.DISPATCH].unofficial_calendar
