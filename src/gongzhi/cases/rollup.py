"""The daily roll-up of the case indicators: per local day, the numerators and denominators
of every indicator, so that a long period is a sum over a few hundred rows per day instead of
a scan of every case event in it.

How ``compute`` uses it (:func:`add_rolled_counts`): the whole days of the period that are
rolled up and *fresh* come from ``case_indicator_rollup``; everything else — the partial days
at the edges, today, days not rolled up yet, days that may have changed since — is counted
from the case tables as before. The figures are the same either way (tests/cases/
test_indicator_rollup.py checks it against the live computation).

When a rolled-up day may be stale
---------------------------------

A day's counts depend on the case rows whose indicator events fall on that day (dispatches,
closings, ratings, feedback deadlines, verifications) and on those cases' lead department and
place, all of which later changes can alter: a return, a re-routing or a reopening (the lead
changes; a reopening takes back the closing and the rating), waiting for the citizen (the
deadlines move), a sign-off (the dispatch's response). The rule rests on four facts of the
case services:

1. Every change to a case stamps ``service_case.updated_at`` (``services._touch`` or the
   sign-off's conditional UPDATE; any ORM update of the row does too, through the column's
   ``onupdate``), with the services' clock (``gongzhi.db.utcnow``), which the roll-up uses too.
2. The days a case's events fall on *now* are those of its lead assignments, its closing,
   its rating, its feedback deadlines and its timeline entries; the days they fell on
   *before* a change are among those (a closing or rating taken back by a reopening or an
   unmerging has its timeline entry, stamped at the same moment), plus, for a feedback clock
   that has ever been paused (or stopped by a merge and restarted), any day from its start
   to the later of its deadline and the case's last change (a resumed clock's earlier
   deadline lay in between). These are the days the case *touches*.
3. Every service that changes a case writes a timeline entry stamped with the same moment,
   and its kind says what changed. Kinds in :data:`NO_EFFECT_ON_PAST_DAYS` (closing, rating,
   feedback, verification, rework, pause, extensions, …) only add events at their own moment
   and stop clocks whose deadline, if it fell on an earlier day, had passed unmet already:
   they cannot alter a day that ended before them. A sign-off alters only the day of the
   dispatch it answers. A dispatch, re-routing or return changes the lead and nothing else
   the indicators read (but the returned dispatch): it alters the days of the counts keyed
   by the lead (closing, rating, feedback deadlines, verifications) and the returned
   dispatch's day. A reopening or an unmerging takes back the closing and the rating (and,
   reopening, the lead): it alters the lead's days and the days of the closings and ratings
   taken back (their entries: closed, verified, merged, rated). Any other kind (a
   resumption, a kind added later), or a stamp without its entry, may alter every day the
   case touches.
4. A case-changing transaction lasts less than :data:`CHANGE_MARGIN`, so a change stamped
   at ``t`` is committed (visible) by ``t + CHANGE_MARGIN``.

Each rolled-up day keeps ``checked_at``: its counts reflect every case change stamped before
``checked_at - CHANGE_MARGIN``. A day is **stale** if a case stamped after that moment
touches the day and its changes since then may alter it (fact 3). Stale days are never read
from the roll-up; ``compute`` counts them from the case tables, and the
``cases.rollup_indicators`` job rolls them up again.

The job (:func:`refresh`, every five minutes) finds the cases changed since the oldest
``checked_at`` minus the margin through the ``updated_at`` index, rolls up again the days
they make stale and the days finished since the last run, and moves every other day's
``checked_at`` forward to the run's start. Only finished local days (ending before now) are
rolled up: today is always counted live.

Rows written around the services (bulk imports, hand-made SQL) are not seen by this rule:
after such a load, run ``gongzhi cases rollup --from … --to …`` for the days it touched.

Readers whose scope is finer than a grain (a village scope asking by department, a grid
cell scope) get the live computation: the department grain keeps townships, the place grain
villages.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    String,
    and_,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from gongzhi.cases.indicators import VILLAGE_PREFIX, RawKey, Scope, Tally, count_live
from gongzhi.cases.models import (
    AssignmentRole,
    Case,
    CaseAssignment,
    CaseClock,
    CaseEvent,
    ClockKind,
)
from gongzhi.cases.rollup_models import (
    GRAIN_DEPARTMENT,
    GRAIN_DEPARTMENT_MONTH,
    GRAIN_PLACE,
    GRAIN_PLACE_MONTH,
    MONTH_BUILT,
    CaseIndicatorDay,
    CaseIndicatorRollup,
)
from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.regions.codes import level_of, prefix

# The longest a transaction that changes cases may take between stamping ``updated_at`` and
# committing (fact 4 above). Web requests take milliseconds; the margin also absorbs small
# clock differences between application processes.
CHANGE_MARGIN = timedelta(minutes=5)
# At most this many changed cases are looked at when a query decides which days are fresh;
# beyond that, the days checked before the oldest of them count as stale (a job that has
# not run for a long while makes the query slower, never wrong).
QUERY_CHANGE_LIMIT = 2_000
# The job looks at up to this many changed cases per run, and rolls up at most
# ``JOB_DAY_LIMIT`` days per run (the rest in the next runs): at a million cases a year a
# day takes ~0.1 s to roll up, and on SQLite the run holds the write lock meanwhile.
# The first build over a long history is the command's (one day per transaction).
JOB_CHANGE_LIMIT = 50_000
JOB_DAY_LIMIT = 31
# Scope prefixes (significant digits) each grain can answer exactly.
GRAIN_SCOPE_DIGITS = {GRAIN_DEPARTMENT: 9, GRAIN_PLACE: 12}
# PostgreSQL advisory lock key of the roll-up writers (job and command): one at a time.
LOCK_KEY = 0x67_7A_72_75

# indicator -> (numerator column, denominator column) of case_indicator_rollup
COLUMNS: dict[str, tuple[str, str]] = {
    "response": ("responded", "dispatched"),
    "return": ("returned", "dispatched"),
    "resolution": ("resolved", "closed"),
    "satisfaction": ("satisfied", "rated"),
    "on_time": ("met", "due"),
    "rework": ("reworked", "verified"),
}
COUNT_COLUMNS: tuple[str, ...] = (
    "dispatched",
    "responded",
    "returned",
    "closed",
    "resolved",
    "rated",
    "satisfied",
    "due",
    "met",
    "verified",
    "reworked",
)


# A day's grain -> its month layer's grain.
MONTH_GRAINS = {GRAIN_DEPARTMENT: GRAIN_DEPARTMENT_MONTH, GRAIN_PLACE: GRAIN_PLACE_MONTH}
DAY_GRAINS = tuple(MONTH_GRAINS)
# The job builds at most this many months missing from the layer per run (after an upgrade).
JOB_MONTH_LIMIT = 12


class DayRow(NamedTuple):
    day: date
    starts_at: datetime
    ends_at: datetime
    checked_at: datetime


# -- keys --------------------------------------------------------------------------------------


def township_key(region_code: str | None) -> str | None:
    """The department grain's place: the township of a place at township level or below, the
    place itself above it. Scopes down to township level select the same cases by it."""
    if region_code is None:
        return None
    level = level_of(region_code)
    if level is not None and level >= 4:
        return region_code[:9] + "000"
    return region_code


def _grain(by: str) -> str:
    return GRAIN_DEPARTMENT if by == "department" else GRAIN_PLACE


def answers(scope: Scope, grain: str) -> bool:
    """Whether the grain's rows select exactly the cases the scope admits."""
    if scope.regions is None:
        return True
    for code in scope.regions:
        if level_of(code) is None or len(prefix(code)) > GRAIN_SCOPE_DIGITS[grain]:
            return False
    return True


def _scope_clause(scope: Scope) -> ColumnElement[bool]:
    column = CaseIndicatorRollup.region_code
    if scope.regions is None:
        return true()
    clauses: list[ColumnElement[bool]] = []
    for code in scope.regions:
        low = prefix(code)
        clauses.append(column.between(low, low.ljust(15, "9")))
    if scope.include_unplaced:
        clauses.append(column.is_(None))
    return or_(*clauses) if clauses else false()


# -- days --------------------------------------------------------------------------------------


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, time(), tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time(), tzinfo=tz),
    )


def last_finished_day(now: datetime, tz: ZoneInfo) -> date:
    """The last local day that has ended by ``now`` (yesterday)."""
    return now.astimezone(tz).date() - timedelta(days=1)


def first_case_day(db: Session, tz: ZoneInfo) -> date | None:
    first = db.scalar(select(func.min(Case.created_at)))
    return first.astimezone(tz).date() if first is not None else None


class _DayIndex:
    """Which rolled-up days an instant or a stretch of time falls on."""

    def __init__(self, days: Sequence[DayRow]) -> None:
        self.days = sorted(days, key=lambda d: d.starts_at)
        self.starts = [d.starts_at for d in self.days]

    def at(self, moment: datetime | None) -> DayRow | None:
        if moment is None:
            return None
        i = bisect_right(self.starts, moment) - 1
        if i >= 0 and moment < self.days[i].ends_at:
            return self.days[i]
        return None

    def between(self, first: datetime, last: datetime) -> Iterable[DayRow]:
        i = max(0, bisect_right(self.starts, first) - 1)
        while i < len(self.days) and self.days[i].starts_at <= last:
            if self.days[i].ends_at > first:
                yield self.days[i]
            i += 1


# -- which days are stale ----------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# Timeline entries of changes that cannot alter the counts of a day that ended before them:
# they add events at their own moment (a closing, a rating, a verification, a rework, the
# handler's feedback), stop clocks whose deadline, if it lay on that day, had passed
# unmet already, or touch nothing an indicator reads (pauses stop no deadline from
# counting; extensions move only the handling clock; summonses, supporters and escalations
# are not indicators).
NO_EFFECT_ON_PAST_DAYS = frozenset(
    {
        "submitted",
        "feedback",
        "verified",
        "rework",
        "closed",
        "rated",
        "merged",
        "paused",
        "extension_requested",
        "extension_approved",
        "extension_refused",
        "duplicate_merged",
        "duplicate_unmerged",
        "summoned",
        "checked_in",
        "supported",
        "deadline_warning",
        "escalated",
    }
)
# The sign-off (签收) alters only the day of the dispatch it answers.
SIGN_OFF = "accepted"
# A (re-)dispatch or a return changes the lead department and nothing else the indicators
# read but the returned dispatch: it alters the days of the counts keyed by the case's lead
# (its closing, rating, feedback deadlines and verifications) and, for a return, the day
# of the dispatch returned. Dispatches keep their own department, so their days stay.
LEAD_CHANGES = frozenset({"dispatched", "rerouted", "returned"})
VERIFICATIONS = frozenset({"verified", "rework"})
# A reopening or an unmerging takes back the closing and the rating and, for a reopening,
# the lead: it alters the days of the counts keyed by the lead and the days of the closings
# and ratings taken back (their timeline entries). Dispatches keep their days.
TAKE_BACKS = frozenset({"reopened", "unmerged"})
CLOSINGS = frozenset({"closed", "verified", "merged", "rated"})


@dataclass
class _Changed:
    """A case changed since some day was checked: what the rule needs of it."""

    updated_at: datetime
    days: set[date] = field(default_factory=set)  # the days it touches (fact 2)
    lead_days: set[date] = field(default_factory=set)  # ... of the counts keyed by its lead
    closing_days: set[date] = field(default_factory=set)  # ... of its closings and ratings
    entries: list[tuple[datetime, str]] = field(default_factory=list)  # its timeline
    signed: dict[date, list[datetime]] = field(default_factory=dict)  # dispatch day: sign-offs
    returned: dict[date, list[datetime]] = field(default_factory=dict)  # dispatch day: returns

    def may_alter(self, day: DayRow, since: datetime) -> bool:
        """Whether its changes stamped after ``since`` may alter ``day``'s counts."""
        if self.updated_at <= since or day.day not in self.days:
            return False
        recent = [(at, kind) for at, kind in self.entries if at > since]
        if not recent or max(at for at, _ in recent) < self.updated_at:
            return True  # a change without its timeline entry: assume the worst
        for at, kind in recent:
            if at < day.ends_at:
                return True  # an event that may fall on the day itself
            if kind in NO_EFFECT_ON_PAST_DAYS:
                continue
            if kind == SIGN_OFF:
                if any(moment > since for moment in self.signed.get(day.day, ())):
                    return True
            elif kind in LEAD_CHANGES:
                if day.day in self.lead_days:
                    return True
                if any(moment > since for moment in self.returned.get(day.day, ())):
                    return True
            elif kind in TAKE_BACKS:
                if day.day in self.lead_days or day.day in self.closing_days:
                    return True
            else:
                return True  # a resumption, or a kind not known here
        return False


def stale_days(db: Session, days: Sequence[DayRow], *, limit: int) -> set[date]:
    """The days among ``days`` whose counts a case change may have made wrong (the rule in the
    module's docstring). Looks at no more than ``limit`` changed cases."""
    if not days:
        return set()
    since = min(d.checked_at for d in days) - CHANGE_MARGIN
    rows = db.execute(
        select(Case.id, Case.updated_at, Case.closed_at, Case.rated_at)
        .where(Case.updated_at > since)
        .order_by(Case.updated_at.desc())
        .limit(limit + 1)
    ).all()
    stale: set[date] = set()
    if len(rows) > limit:
        rows = rows[:limit]
        # Every change stamped after ``cutoff`` is among those read; a day that needs older
        # ones checked is taken as stale.
        cutoff = rows[-1].updated_at
        stale = {d.day for d in days if d.checked_at - CHANGE_MARGIN < cutoff}
    if not rows:
        return stale
    index = _DayIndex(days)
    changed = {r.id: _Changed(r.updated_at) for r in rows}

    def touches(case_id: int, day: DayRow | None, *, by_lead: bool = False) -> None:
        if day is not None:
            changed[case_id].days.add(day.day)
            if by_lead:
                changed[case_id].lead_days.add(day.day)

    for r in rows:
        touches(r.id, index.at(r.closed_at), by_lead=True)
        touches(r.id, index.at(r.rated_at), by_lead=True)
    for chunk in _chunks(list(changed)):
        for case_id, assigned_at, accepted_at, returned_at in db.execute(
            select(
                CaseAssignment.case_id,
                CaseAssignment.assigned_at,
                CaseAssignment.accepted_at,
                CaseAssignment.returned_at,
            ).where(
                CaseAssignment.case_id.in_(chunk),
                CaseAssignment.role == AssignmentRole.LEAD.value,
            )
        ):
            day = index.at(assigned_at)
            touches(case_id, day)
            if day is not None and accepted_at is not None:
                changed[case_id].signed.setdefault(day.day, []).append(accepted_at)
            if day is not None and returned_at is not None:
                changed[case_id].returned.setdefault(day.day, []).append(returned_at)
        for case_id, at, kind in db.execute(
            select(CaseEvent.case_id, CaseEvent.at, CaseEvent.kind).where(
                CaseEvent.case_id.in_(chunk)
            )
        ):
            day = index.at(at)
            touches(case_id, day, by_lead=kind in VERIFICATIONS)
            if day is not None and kind in CLOSINGS:
                changed[case_id].closing_days.add(day.day)
            changed[case_id].entries.append((at, kind))
        for case_id, started_at, due_at, paused_at, paused_seconds in db.execute(
            select(
                CaseClock.case_id,
                CaseClock.started_at,
                CaseClock.due_at,
                CaseClock.paused_at,
                CaseClock.paused_seconds,
            ).where(CaseClock.case_id.in_(chunk), CaseClock.kind == ClockKind.FEEDBACK.value)
        ):
            touches(case_id, index.at(due_at), by_lead=True)
            if paused_at is not None or paused_seconds:
                # Resuming (or unmerging) moved the deadline: the earlier one lay between
                # the clock's start and the later of its deadline and this change.
                last = max(due_at, changed[case_id].updated_at)
                for day in index.between(started_at, last):
                    touches(case_id, day, by_lead=True)
    by_day = {d.day: d for d in days}
    for case in changed.values():
        for day_key in case.days:
            day = by_day[day_key]
            if day_key not in stale and case.may_alter(day, day.checked_at - CHANGE_MARGIN):
                stale.add(day_key)
    return stale


# -- months ------------------------------------------------------------------------------------


def month_days(month: date) -> list[date]:
    """The local days of the month whose first day is ``month``."""
    length = calendar.monthrange(month.year, month.month)[1]
    return [month + timedelta(days=i) for i in range(length)]


def _usable_months(db: Session, usable: Sequence[DayRow]) -> list[date]:
    """The months all of whose days are among ``usable`` and whose sums the layer holds."""
    by_month: dict[date, int] = defaultdict(int)
    for d in usable:
        by_month[d.day.replace(day=1)] += 1
    whole = [m for m, n in by_month.items() if n == len(month_days(m))]
    if not whole:
        return []
    built = set(
        db.scalars(
            select(CaseIndicatorRollup.day).where(
                CaseIndicatorRollup.grain == MONTH_BUILT, CaseIndicatorRollup.day.in_(whole)
            )
        )
    )
    return sorted(m for m in whole if m in built)


def roll_month(db: Session, month: date) -> bool:
    """Sum the rolled-up days of a month into the month layer (replacing what it held), if
    every day of the month is rolled up; otherwise remove the month's sums. Called in the
    transaction that rolls up one of its days, so the month's sums always equal its days'
    rows. Returns whether the month is in the layer."""
    days = month_days(month)
    db.execute(
        delete(CaseIndicatorRollup).where(
            CaseIndicatorRollup.day == month,
            CaseIndicatorRollup.grain.in_([*MONTH_GRAINS.values(), MONTH_BUILT]),
        )
    )
    rolled = db.scalar(
        select(func.count())
        .select_from(CaseIndicatorDay)
        .where(CaseIndicatorDay.day.between(days[0], days[-1]))
    )
    if rolled != len(days):
        return False
    columns = ["day", "grain", "department_id", "region_code", *COUNT_COLUMNS]
    for day_grain, month_grain in MONTH_GRAINS.items():
        db.execute(
            insert(CaseIndicatorRollup).from_select(
                columns,
                select(
                    literal(month, Date),
                    literal(month_grain, String),
                    CaseIndicatorRollup.department_id,
                    CaseIndicatorRollup.region_code,
                    *(func.sum(getattr(CaseIndicatorRollup, c)) for c in COUNT_COLUMNS),
                )
                .where(
                    CaseIndicatorRollup.grain == day_grain,
                    CaseIndicatorRollup.day.between(days[0], days[-1]),
                )
                .group_by(CaseIndicatorRollup.department_id, CaseIndicatorRollup.region_code),
            )
        )
    db.execute(
        insert(CaseIndicatorRollup).values(
            day=month,
            grain=MONTH_BUILT,
            department_id=None,
            region_code=None,
            **dict.fromkeys(COUNT_COLUMNS, 0),
        )
    )
    return True


def missing_months(db: Session, days: Sequence[DayRow]) -> list[date]:
    """Months all of whose days are rolled up but which the month layer does not hold (the
    roll-up of a version before the layer)."""
    by_month: dict[date, int] = defaultdict(int)
    for d in days:
        by_month[d.day.replace(day=1)] += 1
    whole = sorted(m for m, n in by_month.items() if n == len(month_days(m)))
    if not whole:
        return []
    built = set(
        db.scalars(select(CaseIndicatorRollup.day).where(CaseIndicatorRollup.grain == MONTH_BUILT))
    )
    return [m for m in whole if m not in built]


# -- reading -----------------------------------------------------------------------------------


def add_rolled_counts(
    db: Session,
    raw: dict[RawKey, Tally],
    *,
    by: str,
    start: datetime,
    end: datetime,
    scope: Scope,
) -> list[tuple[datetime, datetime]]:
    """Add to ``raw`` the roll-up's counts of the fresh rolled-up days inside
    ``[start, end)``; return the stretches of the period left to count live."""
    grain = _grain(by)
    if not answers(scope, grain):
        return [(start, end)]
    days = [
        DayRow(*row)
        for row in db.execute(
            select(
                CaseIndicatorDay.day,
                CaseIndicatorDay.starts_at,
                CaseIndicatorDay.ends_at,
                CaseIndicatorDay.checked_at,
            )
            .where(CaseIndicatorDay.starts_at >= start, CaseIndicatorDay.ends_at <= end)
            .order_by(CaseIndicatorDay.starts_at)
        )
    ]
    stale = stale_days(db, days, limit=QUERY_CHANGE_LIMIT)
    usable = [d for d in days if d.day not in stale]
    if not usable:
        return [(start, end)]
    key = (
        CaseIndicatorRollup.department_id
        if grain == GRAIN_DEPARTMENT
        else CaseIndicatorRollup.region_code
    )
    sums = [func.sum(getattr(CaseIndicatorRollup, c)) for c in COUNT_COLUMNS]
    # Whole months of usable days come from the month layer (a year is 12 months' rows
    # instead of 365 days'), the other days from the days' rows.
    months = _usable_months(db, usable)
    in_months = {d for month in months for d in month_days(month)}
    # The days are named one by one (not as a range): a day the job rolls up while this runs
    # is counted live here and must not be read from the table as well.
    rows_of = and_(
        CaseIndicatorRollup.grain == grain,
        CaseIndicatorRollup.day.in_([d.day for d in usable if d.day not in in_months]),
    )
    if months:
        rows_of = or_(
            rows_of,
            and_(
                CaseIndicatorRollup.grain == MONTH_GRAINS[grain],
                CaseIndicatorRollup.day.in_(months),
            ),
        )
    stmt = select(key, *sums).where(rows_of, _scope_clause(scope)).group_by(key)
    for row in db.execute(stmt):
        counts = dict(zip(COUNT_COLUMNS, row[1:], strict=True))
        tally = raw[row[0]]
        for indicator, (numerator, denominator) in COLUMNS.items():
            tally.add_counts(indicator, counts[numerator], counts[denominator])
    spans: list[tuple[datetime, datetime]] = []
    cursor = start
    for d in usable:
        if d.starts_at > cursor:
            spans.append((cursor, d.starts_at))
        cursor = d.ends_at
    if cursor < end:
        spans.append((cursor, end))
    return spans


# -- writing -----------------------------------------------------------------------------------


def _lock(db: Session, *, wait: bool) -> bool:
    """One roll-up writer at a time (PostgreSQL: a transaction-level advisory lock; SQLite's
    write transactions are serialised already)."""
    if db.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        return True
    return bool(db.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}))


def roll_day(db: Session, day: date, tz: ZoneInfo, *, now: datetime, month: bool = True) -> int:
    """Count one local day from the case tables into the roll-up (replacing what it held),
    and its month into the month layer unless ``month`` is false (the caller does it);
    returns the number of day rows written."""
    starts_at, ends_at = day_bounds(day, tz)
    rows: dict[tuple[str, int | None, str | None], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(COUNT_COLUMNS, 0)
    )
    for (department_id, region_code), indicator, numerator, denominator in count_live(
        db, group="rollup", start=starts_at, end=ends_at
    ):
        num_col, den_col = COLUMNS[indicator]
        village = region_code[:VILLAGE_PREFIX] if region_code is not None else None
        for grain_key in (
            (GRAIN_DEPARTMENT, department_id, township_key(region_code)),
            (GRAIN_PLACE, None, village),
        ):
            row = rows[grain_key]
            row[num_col] += int(numerator or 0)
            if indicator != "return":  # response and return share the dispatches
                row[den_col] += int(denominator or 0)
    db.execute(
        delete(CaseIndicatorRollup).where(
            CaseIndicatorRollup.day == day, CaseIndicatorRollup.grain.in_(DAY_GRAINS)
        )
    )
    record = db.get(CaseIndicatorDay, day)
    if record is None:
        db.add(
            CaseIndicatorDay(
                day=day, starts_at=starts_at, ends_at=ends_at, rolled_at=now, checked_at=now
            )
        )
    else:
        record.starts_at, record.ends_at = starts_at, ends_at
        record.rolled_at = record.checked_at = now
    db.flush()
    values = [
        {"day": day, "grain": g, "department_id": dept, "region_code": region, **counts}
        for (g, dept, region), counts in rows.items()
        if any(counts.values())
    ]
    if values:
        db.execute(insert(CaseIndicatorRollup), values)
    if month:
        roll_month(db, day.replace(day=1))
    return len(values)


def _days(db: Session) -> list[DayRow]:
    return [
        DayRow(*row)
        for row in db.execute(
            select(
                CaseIndicatorDay.day,
                CaseIndicatorDay.starts_at,
                CaseIndicatorDay.ends_at,
                CaseIndicatorDay.checked_at,
            )
        )
    ]


@dataclass
class RefreshReport:
    stale: int = 0
    new: int = 0
    left: int = 0
    skipped: bool = False

    @property
    def rolled(self) -> int:
        return self.stale + self.new


def refresh(
    db: Session,
    *,
    settings: Settings,
    now: datetime | None = None,
    day_limit: int = JOB_DAY_LIMIT,
) -> RefreshReport:
    """The job's run: roll up again the stale days, then the finished days not rolled up
    yet (oldest first), at most ``day_limit`` in all; every other day is checked as of
    ``now``. Another writer at work (PostgreSQL): nothing is done this time."""
    moment = now or utcnow()
    if not _lock(db, wait=False):
        return RefreshReport(skipped=True)
    tz = ZoneInfo(settings.timezone)
    days = _days(db)
    stale = sorted(stale_days(db, days, limit=JOB_CHANGE_LIMIT))
    todo = stale[:day_limit]
    left = stale[day_limit:]
    known = {d.day for d in days}
    new: list[date] = []
    first = first_case_day(db, tz)
    if first is not None:
        day, last = first, last_finished_day(moment, tz)
        while day <= last and len(todo) + len(new) < day_limit:
            if day not in known:
                new.append(day)
            day += timedelta(days=1)
    # Days that no change touches are up to date as of this run; those left stale are not.
    advance = update(CaseIndicatorDay).where(CaseIndicatorDay.checked_at < moment)
    if left:
        advance = advance.where(CaseIndicatorDay.day.not_in(left))
    db.execute(advance.values(checked_at=moment))
    for day in todo + new:
        roll_day(db, day, tz, now=moment, month=False)
    months = {day.replace(day=1) for day in todo + new}
    if todo or new:
        days = _days(db)
    months.update(missing_months(db, days)[:JOB_MONTH_LIMIT])
    for month in sorted(months):
        roll_month(db, month)
    db.flush()
    return RefreshReport(stale=len(todo), new=len(new), left=len(left))


def days_to_build(
    db: Session,
    *,
    settings: Settings,
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
) -> list[date]:
    """The local days from ``first`` to ``last`` (default: from the first case's day to
    yesterday) that can be rolled up: finished days only."""
    tz = ZoneInfo(settings.timezone)
    finished = last_finished_day(now or utcnow(), tz)
    start = first or first_case_day(db, tz)
    if start is None:
        return []
    end = min(last or finished, finished)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def build_day(db: Session, day: date, *, settings: Settings, now: datetime | None = None) -> int:
    """Roll up one day for the command and the benchmark (waits for another writer)."""
    _lock(db, wait=True)
    return roll_day(db, day, ZoneInfo(settings.timezone), now=now or utcnow())
