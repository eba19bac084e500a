"""The case clocks: dispatch, sign-off (accept), handling and feedback deadlines.

Targets (DB11/T 2021-2022, Beijing's 接诉即办 standard): dispatch within 1 h for emergencies,
2 h for water/power/gas/heating, 24 h otherwise; feedback to the citizen within 2 h, 24 h,
7 days, or 15 days for complex requests. Where the responsibility list (权责清单) gives the
matter its own limits (dispatch hours, sign-off hours, handling and feedback working days),
those apply; for emergencies and utilities the stricter of the two wins, since the list
describes the ordinary case.

Everything counts working time on the :class:`~gongzhi.org.calendar.WorkCalendar` (hours
are office hours, days are working days). A pause (waiting for the citizen) is excluded:
the remaining working time at the pause is granted again from the resume. Re-routing stops
the running sign-off/handling clocks and starts fresh ones for the new department.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gongzhi.cases.models import Case, CaseClock, ClockKind, Priority
from gongzhi.org.calendar import WorkCalendar, is_official_year


class TimeLimits(Protocol):
    """A matter's own limits from the responsibility list: an ``org.models.Responsibility``
    row or its cached copy (``org.queries.ResponsibilityEntry``)."""

    @property
    def dispatch_hours(self) -> float: ...

    @property
    def signoff_hours(self) -> float: ...

    @property
    def handling_days(self) -> int: ...

    @property
    def feedback_days(self) -> int: ...


@dataclass(frozen=True)
class Target:
    """A time limit: office hours, or working days (whole days end at close of office)."""

    hours: float | None = None
    days: int | None = None

    def due(self, calendar: WorkCalendar, start: datetime) -> datetime:
        if self.days is not None:
            return calendar.add_working_days(start, self.days)
        return calendar.add_working_hours(start, self.hours or 0)


DEFAULT_TARGETS: dict[ClockKind, dict[Priority, Target]] = {
    ClockKind.DISPATCH: {
        Priority.EMERGENCY: Target(hours=1),
        Priority.UTILITIES: Target(hours=2),
        Priority.ORDINARY: Target(hours=24),
        Priority.COMPLEX: Target(hours=24),
    },
    # No national figure for sign-off; local rules commonly give 2 h, less for emergencies.
    ClockKind.ACCEPT: {
        Priority.EMERGENCY: Target(hours=0.5),
        Priority.UTILITIES: Target(hours=1),
        Priority.ORDINARY: Target(hours=2),
        Priority.COMPLEX: Target(hours=2),
    },
    ClockKind.HANDLE: {
        Priority.EMERGENCY: Target(hours=2),
        Priority.UTILITIES: Target(hours=24),
        Priority.ORDINARY: Target(days=5),
        Priority.COMPLEX: Target(days=15),
    },
    ClockKind.FEEDBACK: {
        Priority.EMERGENCY: Target(hours=2),
        Priority.UTILITIES: Target(hours=24),
        Priority.ORDINARY: Target(days=7),
        Priority.COMPLEX: Target(days=15),
    },
}

URGENT = (Priority.EMERGENCY, Priority.UTILITIES)


def _matter_target(kind: ClockKind, resp: TimeLimits) -> Target:
    if kind == ClockKind.DISPATCH:
        return Target(hours=resp.dispatch_hours)
    if kind == ClockKind.ACCEPT:
        return Target(hours=resp.signoff_hours)
    if kind == ClockKind.HANDLE:
        return Target(days=resp.handling_days)
    return Target(days=resp.feedback_days)


def due_for(
    kind: ClockKind,
    priority: Priority | str,
    start: datetime,
    calendar: WorkCalendar,
    responsibility: TimeLimits | None = None,
) -> datetime:
    """The deadline of a clock started at ``start``."""
    prio = Priority(priority)
    if responsibility is None:
        return DEFAULT_TARGETS[kind][prio].due(calendar, start)
    own = _matter_target(kind, responsibility).due(calendar, start)
    if prio in URGENT:
        return min(own, DEFAULT_TARGETS[kind][prio].due(calendar, start))
    # A complex case keeps at least the standard's 15 days even if the list says less.
    if prio == Priority.COMPLEX:
        return max(own, DEFAULT_TARGETS[kind][prio].due(calendar, start))
    return own  # an ordinary case: the list's own limit (no need to count the default)


def running_clock(case: Case, kind: ClockKind) -> CaseClock | None:
    for clock in reversed(case.clocks):
        if clock.kind == kind and clock.stopped_at is None:
            return clock
    return None


def start_clock(
    case: Case,
    kind: ClockKind,
    now: datetime,
    calendar: WorkCalendar,
    responsibility: TimeLimits | None = None,
) -> CaseClock:
    """Start a fresh clock of ``kind``; a running one of the same kind is stopped first."""
    stop_clock(case, kind, now)
    clock = CaseClock(
        kind=kind.value,
        started_at=now,
        due_at=due_for(kind, case.priority, now, calendar, responsibility),
        paused_seconds=0,
        escalation_level=0,
        breached=False,
    )
    case.clocks.append(clock)
    if case.waiting_for_citizen:
        clock.paused_at = now
    return clock


def stop_clock(case: Case, kind: ClockKind, now: datetime) -> CaseClock | None:
    """Stop the running clock of ``kind`` (if any); it is breached if stopped late."""
    clock = running_clock(case, kind)
    if clock is None:
        return None
    if clock.paused_at is not None:
        clock.paused_seconds += int((now - clock.paused_at).total_seconds())
        clock.paused_at = None
    clock.stopped_at = now
    clock.breached = clock.breached or now > clock.due_at
    return clock


def stop_all(case: Case, now: datetime) -> None:
    for kind in ClockKind:
        stop_clock(case, kind, now)


def pause_all(case: Case, now: datetime) -> None:
    for clock in case.clocks:
        if clock.stopped_at is None and clock.paused_at is None:
            clock.paused_at = now


def resume_all(case: Case, now: datetime, calendar: WorkCalendar) -> None:
    """Grant again the working time that was left when the clock was paused."""
    for clock in case.clocks:
        if clock.stopped_at is not None or clock.paused_at is None:
            continue
        left = max(0.0, calendar.working_hours_between(clock.paused_at, clock.due_at))
        start = max(now, clock.paused_at)
        clock.due_at = calendar.add_working_hours(start, left) if left else clock.due_at
        clock.paused_seconds += int((now - clock.paused_at).total_seconds())
        clock.paused_at = None


@dataclass(frozen=True)
class ClockState:
    kind: str
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None
    paused: bool
    remaining_seconds: int  # working seconds left; negative once overdue
    overdue: bool
    breached: bool
    # The deadline rests on a year without the State Council's holiday schedule.
    unofficial_calendar: bool

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "started_at": self.started_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "paused": self.paused,
            "remaining_seconds": self.remaining_seconds,
            "overdue": self.overdue,
            "breached": self.breached,
            "unofficial_calendar": self.unofficial_calendar,
        }


def _state(clock: CaseClock, now: datetime, calendar: WorkCalendar) -> ClockState:
    end = clock.stopped_at or clock.paused_at or now
    remaining = round(calendar.working_hours_between(end, clock.due_at) * 3600)
    overdue = clock.breached if clock.stopped_at is not None else end > clock.due_at
    local_years = {
        clock.started_at.astimezone(calendar.tz).year,
        clock.due_at.astimezone(calendar.tz).year,
    }
    return ClockState(
        kind=clock.kind,
        started_at=clock.started_at,
        due_at=clock.due_at,
        stopped_at=clock.stopped_at,
        paused=clock.paused_at is not None,
        remaining_seconds=remaining,
        overdue=overdue,
        breached=clock.breached or (clock.stopped_at is None and overdue),
        unofficial_calendar=not all(is_official_year(y) for y in local_years),
    )


def clock_state(
    case: Case, now: datetime, calendar: WorkCalendar | None = None
) -> dict[str, ClockState]:
    """The latest clock of each kind, as seen at ``now``."""
    cal = calendar or WorkCalendar({})
    latest: dict[str, CaseClock] = {}
    for clock in case.clocks:
        latest[clock.kind] = clock
    return {kind: _state(clock, now, cal) for kind, clock in latest.items()}


def overdue_kinds(states: Iterable[ClockState]) -> list[str]:
    return [s.kind for s in states if s.overdue and s.stopped_at is None]
