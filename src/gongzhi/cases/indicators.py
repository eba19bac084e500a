"""Case indicators (三率 and the rest): response, resolution, satisfaction, on-time closure,
return and rework rates, per department, township or urban/rural, over a period.

Two computations give the same figures (``docs/indicators.md`` defines each one):

- :func:`compute` aggregates the case tables in SQL (:func:`count_live`: a handful of grouped
  queries that the indexes of migration 0011 answer without reading the case rows' other
  columns), and for the whole days of a long period sums the daily roll-up instead
  (``cases/rollup.py``, which says when a rolled-up day may be used); it is what the API and
  the page use.
- :func:`recompute_from_audit` replays the ``cases.case.*`` audit events alone and re-derives
  the clock deadlines from the work calendar and the responsibility list, exactly as the
  services did. Anyone holding the audit log can check the published figures with it.

Both first count per *raw key* (the department id, or the first 12 digits of the case's
region code: its village), then fold the raw keys into the groups asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.cases import services
from gongzhi.cases.clocks import due_for
from gongzhi.cases.models import (
    AssignmentRole,
    Case,
    CaseAssignment,
    CaseClock,
    CaseEvent,
    CaseStatus,
    ClockKind,
    Outcome,
)
from gongzhi.config import Settings, get_settings
from gongzhi.errors import Invalid
from gongzhi.org.calendar import WorkCalendar
from gongzhi.org.models import Department, Responsibility
from gongzhi.regions.codes import is_within, level_of, subtree_bounds
from gongzhi.regions.models import Region
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import translator
from gongzhi.web.templating import render

router = APIRouter(tags=["cases"])

Dimension = Literal["department", "township", "urban_rural"]
DIMENSIONS: tuple[str, ...] = ("department", "township", "urban_rural")
INDICATORS: tuple[str, ...] = (
    "response",
    "resolution",
    "satisfaction",
    "on_time",
    "return",
    "rework",
)
INDICATOR_LABELS = {
    "response": "响应率",
    "resolution": "解决率",
    "satisfaction": "满意率",
    "on_time": "按期结案率",
    "return": "退单率",
    "rework": "返工率",
}
# Closed as a duplicate or withdrawn by the reporter: nothing was handled, so these are
# outside the resolution rate's denominator. not_ours and no_action_possible stay in it and
# are not resolved.
NOT_HANDLED = (Outcome.DUPLICATE.value, Outcome.WITHDRAWN.value)
SATISFIED_MIN = 4
VILLAGE_PREFIX = 12
NO_KEY = "-"

RawKey = int | str | None


# -- results ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """numerator/denominator per indicator."""

    counts: dict[str, list[int]] = field(
        default_factory=lambda: {name: [0, 0] for name in INDICATORS}
    )

    def add(self, indicator: str, hit: bool, n: int = 1) -> None:
        pair = self.counts[indicator]
        pair[1] += n
        if hit:
            pair[0] += n

    def add_counts(self, indicator: str, numerator: int, denominator: int) -> None:
        pair = self.counts[indicator]
        pair[0] += int(numerator or 0)
        pair[1] += int(denominator or 0)

    def merge(self, other: Tally) -> None:
        for name, (num, den) in other.counts.items():
            self.add_counts(name, num, den)

    def figures(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "numerator": num,
                "denominator": den,
                "rate": round(num / den, 4) if den else None,
            }
            for name, (num, den) in self.counts.items()
        }

    @property
    def empty(self) -> bool:
        return not any(den for _, den in self.counts.values())


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    tally: Tally

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **self.tally.figures()}


@dataclass(frozen=True)
class IndicatorTable:
    by: str
    start: datetime
    end: datetime
    rows: list[Row]
    total: Tally

    def to_json(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "rows": [r.to_json() for r in self.rows],
            "total": self.total.figures(),
        }

    def figures(self) -> dict[str, dict[str, list[int]]]:
        """Rows as plain counts, for comparing two computations."""
        return {r.key: {k: list(v) for k, v in r.tally.counts.items()} for r in self.rows}


@dataclass(frozen=True)
class Scope:
    """Region subtrees the reader may see (None: all) and whether cases without a place
    count (only for readers whose grant covers the whole home county or more)."""

    regions: tuple[str, ...] | None = None
    include_unplaced: bool = True

    @classmethod
    def of(cls, principal: Principal, settings: Settings) -> Scope:
        regions = tuple(principal.regions_for(Permission.CASE_INDICATORS))
        unplaced = any(is_within(settings.home_region, r) for r in regions)
        return cls(regions=regions, include_unplaced=unplaced)

    def admits(self, region_code: str | None) -> bool:
        if self.regions is None:
            return True
        if region_code is None:
            return self.include_unplaced
        return any(is_within(region_code, r) for r in self.regions)

    def clause(self) -> ColumnElement[bool]:
        if self.regions is None:
            return true()
        clauses: list[ColumnElement[bool]] = []
        for scope in self.regions:
            low, high = subtree_bounds(scope)
            clauses.append(Case.region_code.between(low, high))
        if self.include_unplaced:
            clauses.append(Case.region_code.is_(None))
        return or_(*clauses) if clauses else Case.id.is_(None)


def _check_dimension(by: str) -> None:
    if by not in DIMENSIONS:
        raise Invalid(
            f"未知分组 / unknown grouping: {by} (department, township, urban_rural)",
            code="invalid_grouping",
        )


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("时间需带时区 / give times with a zone", code="invalid_period")
    if end <= start:
        raise Invalid("结束须晚于开始 / the period ends before it starts", code="invalid_period")


# -- the fast computation over the case tables -----------------------------------------------


# What the live queries group by: the raw keys of ``by=department`` (the department), of
# ``by=township``/``by=urban_rural`` (the village), or both the department and the case's
# full place (what the roll-up stores; see ``cases/rollup.py``).
LiveGroup = Literal["department", "place", "rollup"]


def _live_keys(group: LiveGroup) -> tuple[list[Any], list[Any]]:
    """(keys of the per-case indicators, keys of the per-dispatch indicators)."""
    if group == "department":
        return [Case.lead_department_id], [CaseAssignment.department_id]
    if group == "place":
        village = func.substr(Case.region_code, 1, VILLAGE_PREFIX)
        return [village], [village]
    return (
        [Case.lead_department_id, Case.region_code],
        [CaseAssignment.department_id, Case.region_code],
    )


def _hits(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def compute(
    db: Session,
    *,
    by: str,
    start: datetime,
    end: datetime,
    scope: Scope | None = None,
    use_rollup: bool = True,
) -> IndicatorTable:
    """The indicators of ``[start, end)``: the daily roll-up's counts for the whole days it
    holds and may use (``cases/rollup.py`` decides), the case tables for the rest (partial
    days at the edges, today, days not rolled up yet or changed since). ``use_rollup=False``
    reads only the case tables; both give the same figures."""
    _check_dimension(by)
    _check_period(start, end)
    sc = scope or Scope()
    raw: dict[RawKey, Tally] = defaultdict(Tally)
    spans = [(start, end)]
    if use_rollup:
        # Imported here: the roll-up is built with this module's live queries.
        from gongzhi.cases import rollup

        spans = rollup.add_rolled_counts(db, raw, by=by, start=start, end=end, scope=sc)
    group: LiveGroup = "department" if by == "department" else "place"
    for lower, upper in spans:
        for key, indicator, numerator, denominator in count_live(
            db, group=group, start=lower, end=upper, where=sc.clause()
        ):
            raw[key].add_counts(indicator, numerator, denominator)
    return _fold(db, by, start, end, raw)


def count_live(
    db: Session,
    *,
    group: LiveGroup,
    start: datetime,
    end: datetime,
    where: ColumnElement[bool] | None = None,
) -> Iterator[tuple[Any, str, int, int]]:
    """``(key, indicator, numerator, denominator)`` of the events in ``[start, end)``, from
    the case tables: five grouped queries, each over one index of migration 0011. ``key``
    is the raw key of ``group`` (a tuple ``(department, region_code)`` for ``"rollup"``)."""
    where = true() if where is None else where
    case_keys, assignment_keys = _live_keys(group)

    def key_of(row: Sequence[Any]) -> Any:
        return tuple(row[: len(case_keys)]) if len(case_keys) > 1 else row[0]

    n = len(case_keys)
    # Response and return, per lead assignment (each dispatch to a department).
    accept_clock = and_(
        CaseClock.case_id == CaseAssignment.case_id,
        CaseClock.kind == ClockKind.ACCEPT.value,
        CaseClock.started_at == CaseAssignment.assigned_at,
    )
    stmt = (
        select(
            *assignment_keys,
            func.count(),
            _hits(
                and_(
                    CaseAssignment.accepted_at.is_not(None),
                    CaseAssignment.accepted_at <= CaseClock.due_at,
                )
            ),
            _hits(CaseAssignment.returned_at.is_not(None)),
        )
        .select_from(CaseAssignment)
        .join(Case, Case.id == CaseAssignment.case_id)
        .outerjoin(CaseClock, accept_clock)
        .where(
            CaseAssignment.role == AssignmentRole.LEAD.value,
            CaseAssignment.assigned_at >= start,
            CaseAssignment.assigned_at < end,
            where,
        )
        .group_by(*assignment_keys)
    )
    for row in db.execute(stmt):
        dispatched, responded, returned = row[n:]
        yield key_of(row), "response", responded, dispatched
        yield key_of(row), "return", returned, dispatched

    # Resolution: cases (still) closed in the period, duplicates and withdrawals left out.
    stmt = (
        select(*case_keys, func.count(), _hits(Case.outcome == Outcome.RESOLVED.value))
        .where(
            Case.closed_at >= start,
            Case.closed_at < end,
            Case.status == CaseStatus.CLOSED.value,
            Case.outcome.not_in(NOT_HANDLED),
            where,
        )
        .group_by(*case_keys)
    )
    for row in db.execute(stmt):
        closed, resolved = row[n:]
        yield key_of(row), "resolution", resolved, closed

    # Satisfaction: ratings given in the period.
    stmt = (
        select(*case_keys, func.count(), _hits(Case.rating >= SATISFIED_MIN))
        .where(Case.rated_at >= start, Case.rated_at < end, Case.rating.is_not(None), where)
        .group_by(*case_keys)
    )
    for row in db.execute(stmt):
        rated, satisfied = row[n:]
        yield key_of(row), "satisfaction", satisfied, rated

    # On-time closure: feedback deadlines falling in the period, met or not.
    stmt = (
        select(
            *case_keys,
            func.count(),
            _hits(
                and_(CaseClock.stopped_at.is_not(None), CaseClock.stopped_at <= CaseClock.due_at)
            ),
        )
        .select_from(CaseClock)
        .join(Case, Case.id == CaseClock.case_id)
        .where(
            CaseClock.kind == ClockKind.FEEDBACK.value,
            CaseClock.due_at >= start,
            CaseClock.due_at < end,
            where,
        )
        .group_by(*case_keys)
    )
    for row in db.execute(stmt):
        due, met = row[n:]
        yield key_of(row), "on_time", met, due

    # Rework: on-site verifications in the period, failed ones.
    stmt = (
        select(*case_keys, func.count(), _hits(CaseEvent.kind == "rework"))
        .select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            CaseEvent.kind.in_(("verified", "rework")),
            CaseEvent.at >= start,
            CaseEvent.at < end,
            where,
        )
        .group_by(*case_keys)
    )
    for row in db.execute(stmt):
        verified, failed = row[n:]
        yield key_of(row), "rework", failed, verified


# -- the same figures from the audit log alone ------------------------------------------------


@dataclass
class _Clock:
    due: datetime
    paused_at: datetime | None = None
    stopped_at: datetime | None = None


@dataclass
class _Assignment:
    department_id: int | None
    assigned_at: datetime
    clock: _Clock
    accepted_at: datetime | None = None
    returned: bool = False


@dataclass
class _Story:
    """One case as the audit log tells it."""

    region_code: str | None = None
    matter_code: str | None = None
    priority: str = "ordinary"
    lead: int | None = None
    status: str | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    rated_at: datetime | None = None
    waiting: bool = False
    accept: _Clock | None = None
    feedback: _Clock | None = None
    assignments: list[_Assignment] = field(default_factory=list)
    feedback_clocks: list[_Clock] = field(default_factory=list)
    verifications: list[tuple[datetime, bool]] = field(default_factory=list)
    # While merged into another case as its duplicate: the clocks that were running, with
    # the working hours they had left and whether they were overdue, and the waiting flag
    # (what ``duplicates.unmerge_case`` gives back).
    merged: list[tuple[_Clock, float, bool]] | None = None
    merged_waiting: bool = False

    def running(self) -> Iterator[_Clock]:
        for clock in (self.accept, self.feedback):
            if clock is not None and clock.stopped_at is None:
                yield clock


class _Deadlines:
    """Clock deadlines as the services compute them: the work calendar of the case's region
    and the responsibility row of the matter (at the lead's level, else the lowest)."""

    def __init__(self, db: Session, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._resp: dict[tuple[str | None, int | None], Responsibility | None] = {}

    def calendar(self, region_code: str | None) -> WorkCalendar:
        return services.work_calendar(self.db, Case(region_code=region_code), self.settings)

    def due(self, kind: ClockKind, story: _Story, at: datetime, lead: int | None) -> datetime:
        key = (story.matter_code, lead)
        if key not in self._resp:
            probe = Case(matter_code=story.matter_code, lead_department_id=lead)
            self._resp[key] = services._responsibility(self.db, probe)
        calendar = self.calendar(story.region_code)
        return due_for(kind, story.priority, at, calendar, self._resp[key])


def _start(story: _Story, due: datetime, at: datetime) -> _Clock:
    clock = _Clock(due=due)
    if story.waiting:
        clock.paused_at = at
    return clock


def _stop(clock: _Clock | None, at: datetime) -> None:
    if clock is not None and clock.stopped_at is None:
        clock.paused_at = None
        clock.stopped_at = at


def _apply(story: _Story, verb: str, at: datetime, new: dict[str, Any], dl: _Deadlines) -> None:
    if "lead_department_id" in new:
        story.lead = new["lead_department_id"]
        story.status = new.get("status", story.status)
        story.matter_code = new.get("matter_code", story.matter_code)
        story.priority = new.get("priority") or story.priority
    if verb == "submit":
        story.feedback = _start(story, dl.due(ClockKind.FEEDBACK, story, at, None), at)
        story.feedback_clocks.append(story.feedback)
        if story.status == CaseStatus.DISPATCHED.value:
            _dispatch(story, at, dl)
    elif verb in ("dispatch", "reroute"):
        _dispatch(story, at, dl)
    elif verb == "accept":
        if story.assignments:
            story.assignments[-1].accepted_at = at
        _stop(story.accept, at)
    elif verb == "return":
        if story.assignments:
            story.assignments[-1].returned = True
        _stop(story.accept, at)
    elif verb == "feedback":
        _stop(story.feedback, at)
    elif verb == "verify":
        passed = bool(new.get("passed"))
        story.verifications.append((at, passed))
        if passed:
            _close(story, Outcome.RESOLVED.value, at)
    elif verb == "close":
        _close(story, new.get("outcome"), at)
    elif verb == "rate":
        story.rating = new.get("rating")
        story.rated_at = at
    elif verb == "reopen":
        story.outcome = None
        story.closed_at = None
        story.rating = None
        story.rated_at = None
        story.feedback = _start(story, dl.due(ClockKind.FEEDBACK, story, at, None), at)
        story.feedback_clocks.append(story.feedback)
    elif verb == "merge":
        calendar = dl.calendar(story.region_code)
        saved = []
        for clock in story.running():
            begin = clock.paused_at or at
            left = max(0.0, calendar.working_hours_between(begin, clock.due))
            saved.append((clock, left, begin > clock.due))
        story.merged, story.merged_waiting = saved, story.waiting
        _close(story, Outcome.DUPLICATE.value, at)
    elif verb == "unmerge":
        story.outcome = None
        story.closed_at = None
        story.waiting = story.merged_waiting
        calendar = dl.calendar(story.region_code)
        for clock, left, overdue in story.merged or []:
            clock.stopped_at = None
            # The time merged does not count against the handler (as unmerge_case does).
            if not overdue and left:
                clock.due = calendar.add_working_hours(at, left)
            clock.paused_at = at if story.waiting else None
        story.merged = None
    elif verb == "pause":
        story.waiting = True
        for clock in story.running():
            if clock.paused_at is None:
                clock.paused_at = at
    elif verb == "resume":
        story.waiting = False
        calendar = dl.calendar(story.region_code)
        for clock in story.running():
            if clock.paused_at is None:
                continue
            left = max(0.0, calendar.working_hours_between(clock.paused_at, clock.due))
            begin = max(at, clock.paused_at)
            clock.due = calendar.add_working_hours(begin, left) if left else clock.due
            clock.paused_at = None


def _dispatch(story: _Story, at: datetime, dl: _Deadlines) -> None:
    _stop(story.accept, at)
    story.accept = _start(story, dl.due(ClockKind.ACCEPT, story, at, story.lead), at)
    story.assignments.append(_Assignment(story.lead, at, story.accept))


def _close(story: _Story, outcome: str | None, at: datetime) -> None:
    story.status = CaseStatus.CLOSED.value
    story.outcome = outcome
    story.closed_at = at
    story.waiting = False
    for clock in list(story.running()):
        _stop(clock, at)


def _stories(db: Session, dl: _Deadlines) -> dict[str, _Story]:
    stmt = (
        select(
            AuditEvent.object_id,
            AuditEvent.action,
            AuditEvent.occurred_at,
            AuditEvent.region_code,
            AuditEvent.new,
        )
        .where(AuditEvent.object_type == "service_case", AuditEvent.action.like("cases.case.%"))
        .order_by(AuditEvent.id)
        .execution_options(yield_per=5000)
    )
    stories: dict[str, _Story] = {}
    for number, action, at, region_code, new in db.execute(stmt):
        story = stories.get(number)
        if story is None:
            story = stories[number] = _Story()
        story.region_code = region_code
        _apply(story, action.removeprefix("cases.case."), at, new or {}, dl)
    return stories


def recompute_from_audit(
    db: Session,
    *,
    by: str,
    start: datetime,
    end: datetime,
    scope: Scope | None = None,
    settings: Settings | None = None,
) -> IndicatorTable:
    """The same figures as :func:`compute`, from ``audit_event`` rows alone (plus the work
    calendar and the responsibility list, which fix the clock deadlines)."""
    _check_dimension(by)
    _check_period(start, end)
    sc = scope or Scope()
    dl = _Deadlines(db, settings or get_settings())
    raw: dict[RawKey, Tally] = defaultdict(Tally)

    def within(at: datetime | None) -> bool:
        return at is not None and start <= at < end

    for story in _stories(db, dl).values():
        if not sc.admits(story.region_code):
            continue
        place = story.region_code[:VILLAGE_PREFIX] if story.region_code else None
        key: RawKey = story.lead if by == "department" else place
        for a in story.assignments:
            if within(a.assigned_at):
                k = a.department_id if by == "department" else place
                responded = a.accepted_at is not None and a.accepted_at <= a.clock.due
                raw[k].add("response", responded)
                raw[k].add("return", a.returned)
        if (
            story.status == CaseStatus.CLOSED.value
            and within(story.closed_at)
            and story.outcome not in NOT_HANDLED
        ):
            raw[key].add("resolution", story.outcome == Outcome.RESOLVED.value)
        if story.rating is not None and within(story.rated_at):
            raw[key].add("satisfaction", story.rating >= SATISFIED_MIN)
        for clock in story.feedback_clocks:
            if within(clock.due):
                met = clock.stopped_at is not None and clock.stopped_at <= clock.due
                raw[key].add("on_time", met)
        for at, passed in story.verifications:
            if within(at):
                raw[key].add("rework", not passed)
    return _fold(db, by, start, end, raw)


# -- grouping -----------------------------------------------------------------------------------


def _fold(
    db: Session, by: str, start: datetime, end: datetime, raw: dict[RawKey, Tally]
) -> IndicatorTable:
    groups: dict[str, Tally] = defaultdict(Tally)
    labels: dict[str, str] = {}
    if by == "department":
        ids = [k for k in raw if isinstance(k, int)]
        names = (
            dict(
                db.execute(
                    select(Department.id, Department.name).where(Department.id.in_(ids))
                ).all()
            )
            if ids
            else {}
        )
        for k, tally in raw.items():
            gk = str(k) if isinstance(k, int) else NO_KEY
            labels[gk] = names.get(k, gk) if isinstance(k, int) else "（无牵头部门）"
            groups[gk].merge(tally)
    else:
        codes = [k for k in raw if isinstance(k, str)]
        townships = {_township(c) for c in codes} - {None}
        regions: dict[str, tuple[str, int, bool | None]] = {}
        wanted = list(set(codes) | {t for t in townships if t})
        for chunk in _chunks(wanted, 500):
            for region_code, name, level, urban in db.execute(
                select(Region.code, Region.name, Region.level, Region.is_urban).where(
                    Region.code.in_(chunk)
                )
            ):
                regions[region_code] = (name, level, urban)
        for k, tally in raw.items():
            code = k if isinstance(k, str) else None
            if by == "township":
                gk = _township(code) or NO_KEY
                labels[gk] = regions[gk][0] if gk in regions else "（乡镇未知）"
            else:
                info = regions.get(code) if code else None
                urban = info[2] if info and info[1] == 5 else None
                gk = {True: "urban", False: "rural", None: "unknown"}[urban]
                labels[gk] = {"urban": "城镇", "rural": "乡村", "unknown": "（城乡未知）"}[gk]
            groups[gk].merge(tally)
    rows = [Row(k, labels[k], t) for k, t in groups.items() if not t.empty]
    rows.sort(key=lambda r: (r.key == NO_KEY, r.label, r.key))
    total = Tally()
    for r in rows:
        total.merge(r.tally)
    return IndicatorTable(by=by, start=start, end=end, rows=rows, total=total)


def _township(code: str | None) -> str | None:
    if not code:
        return None
    level = level_of(code.ljust(12, "0"))
    if level is None or level < 4:
        return None
    return code[:9] + "000"


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- periods --------------------------------------------------------------------------------------


PERIODS: tuple[str, ...] = ("day", "week", "month")


def period_bounds(
    start: str | None,
    end: str | None,
    settings: Settings,
    *,
    period: str | None = None,
    today: date | None = None,
) -> tuple[datetime, datetime]:
    """``from``/``to`` as local dates (``to`` inclusive) or aware datetimes (``to`` exclusive);
    by default the current month so far. ``period`` (day, week, month) takes the whole
    local day, week (from Monday) or month that contains ``from`` (default: today)."""
    tz = ZoneInfo(settings.timezone)
    local_today = today or datetime.now(tz).date()
    if period:
        if period not in PERIODS:
            raise Invalid(f"未知周期 / unknown period: {period}", code="invalid_period")
        try:
            anchor = date.fromisoformat(start[:10]) if start else local_today
        except ValueError:
            raise Invalid(f"无效日期 / invalid date: {start}", code="invalid_period") from None
        if period == "day":
            first, last = anchor, anchor + timedelta(days=1)
        elif period == "week":
            first = anchor - timedelta(days=anchor.weekday())
            last = first + timedelta(days=7)
        else:
            first = anchor.replace(day=1)
            last = (first + timedelta(days=32)).replace(day=1)
        return (
            datetime.combine(first, time(), tzinfo=tz),
            datetime.combine(last, time(), tzinfo=tz),
        )

    def parse(value: str, *, upper: bool) -> datetime:
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return datetime.combine(day + timedelta(days=int(upper)), time(), tzinfo=tz)
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(f"无效日期 / invalid date: {value}", code="invalid_period") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)

    lower = (
        parse(start, upper=False)
        if start
        else datetime.combine(local_today.replace(day=1), time(), tzinfo=tz)
    )
    upper = (
        parse(end, upper=True)
        if end
        else datetime.combine(local_today + timedelta(days=1), time(), tzinfo=tz)
    )
    _check_period(lower, upper)
    return lower, upper


# -- routes ----------------------------------------------------------------------------------------


def _table(
    request: Request,
    db: Session,
    principal: Principal,
    by: str,
    start: str | None,
    end: str | None,
    period: str | None = None,
) -> IndicatorTable:
    settings: Settings = request.app.state.settings
    lower, upper = period_bounds(start, end, settings, period=period)
    return compute(db, by=by, start=lower, end=upper, scope=Scope.of(principal, settings))


@router.get("/api/v1/cases/indicators")
def indicators_api(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_INDICATORS),
    by: Annotated[str, Query()] = "department",
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    period: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """三率 and the other indicators of the cases in the reader's regions: over
    ``from``–``to``, or the whole day/week/month (``period``) containing ``from``."""
    return _table(request, db, principal, by, start, end, period).to_json()


@router.get("/cases/indicators", response_class=HTMLResponse, include_in_schema=False)
def indicators_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_INDICATORS),
    by: str = "department",
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> HTMLResponse:
    _ = translator(request)
    if by not in DIMENSIONS:
        by = "department"
    table = _table(request, db, principal, by, start, end)
    tz = ZoneInfo(request.app.state.settings.timezone)
    return render(
        request,
        "cases/indicators.html",
        {
            "table": table,
            "by": by,
            "dimensions": DIMENSIONS,
            "indicators": INDICATORS,
            "labels": INDICATOR_LABELS,
            "from_date": table.start.astimezone(tz).date().isoformat(),
            "to_date": (table.end.astimezone(tz) - timedelta(seconds=1)).date().isoformat(),
        },
    )
