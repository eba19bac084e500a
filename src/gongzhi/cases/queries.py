"""Reads of the cases domain, and ``access_case`` which applies who may see which case.

Scope: citizens see their own cases; staff see the cases located in their region subtree
(``CASE_READ`` grants); staff of a department also see the cases assigned to it and the
cases it was summoned onto (吹哨报到); the dispatch centre (``CASE_TRIAGE``) also sees cases
whose place is not yet known. Anything else is "not found", so that a case number reveals
nothing.

A citizen also *follows* cases that are not theirs: a case they back ("me too") and the main
case their own (or a backed) report was merged into. ``access_followed_case`` opens those
read-only, for the public status and timeline; rating, reopening, photos and the reporter's
contact stay with the case's own reporter (``access_case`` does not widen).

Long lists are read a page at a time (``PAGE_SIZE``): the queues fetch one row more than a
page to know whether another page follows, without counting the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from gongzhi.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseAssignment,
    CaseClock,
    CaseStatus,
    ClockKind,
    Outcome,
)
from gongzhi.errors import NotFound
from gongzhi.org.models import Department, StaffProfile
from gongzhi.org.queries import checked_list
from gongzhi.regions.codes import level_of, subtree_bounds
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

_OPEN = [s.value for s in OPEN_STATUSES]

# Rows per page on the staff queues and the citizen's list (the demo county holds 3,000
# cases; a page of 50 renders in a few hundred milliseconds with its clocks).
PAGE_SIZE = 50
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, its number (1-based) and whether others follow."""

    items: list[T]
    number: int
    has_next: bool
    size: int = PAGE_SIZE

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_number(value: int | str | None) -> int:
    """A page number from a query string: anything odd is page 1 (never an error page)."""
    try:
        number = int(value or 1)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), 100_000)


def _offset(number: int, size: int | None = None) -> int:
    return (page_number(number) - 1) * (size or PAGE_SIZE)


def page_of(rows: list[T], number: int, size: int | None = None) -> Page[T]:
    """Wrap ``size + 1`` fetched rows as a page (the extra row only says "more follow")."""
    size = size or PAGE_SIZE
    return Page(rows[:size], page_number(number), len(rows) > size, size)


def case_by_number(db: Session, number: str) -> Case | None:
    return db.scalar(select(Case).where(Case.number == number))


def cases_for_feed(
    db: Session,
    *,
    ids: Sequence[int] | None = None,
    numbers: Sequence[str] | None = None,
    matter_codes: Sequence[str] | None = None,
    status: Literal["open", "closed"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[Case]:
    """Cases for a public feed (Open311), newest first; every filter is optional."""
    stmt = select(Case)
    if ids is not None:
        stmt = stmt.where(Case.id.in_(list(ids)))
    if numbers is not None:
        stmt = stmt.where(Case.number.in_(list(numbers)))
    if matter_codes is not None:
        stmt = stmt.where(Case.matter_code.in_(list(matter_codes)))
    if status == "open":
        stmt = stmt.where(Case.status.in_(_OPEN))
    elif status == "closed":
        stmt = stmt.where(Case.status == CaseStatus.CLOSED.value)
    if since is not None:
        stmt = stmt.where(Case.created_at >= since)
    if until is not None:
        stmt = stmt.where(Case.created_at <= until)
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)
    return list(db.scalars(stmt))


def _latest_clock(db: Session, case: Case, kind: ClockKind) -> CaseClock | None:
    return db.scalar(
        select(CaseClock)
        .where(CaseClock.case_id == case.id, CaseClock.kind == kind.value)
        .order_by(CaseClock.id.desc())
        .limit(1)
    )


def due_at(db: Session, case: Case) -> datetime | None:
    """The handling deadline (Open311 ``expected_datetime``): the handling clock once the
    case is signed, else the promise of feedback to the citizen."""
    handle = _latest_clock(db, case, ClockKind.HANDLE)
    if handle is not None:
        return handle.due_at
    feedback = _latest_clock(db, case, ClockKind.FEEDBACK)
    return feedback.due_at if feedback is not None else None


def lead_department_name(db: Session, case: Case) -> str | None:
    if case.lead_department_id is None:
        return None
    # Right after an intake or a dispatch the transaction has checked the responsibility
    # list, departments included: the name is in memory.
    checked = checked_list(db)
    entry = checked.departments.get(case.lead_department_id) if checked is not None else None
    if entry is not None:
        return entry.name
    return db.scalar(select(Department.name).where(Department.id == case.lead_department_id))


def staff_department_id(db: Session, account_id: int) -> int | None:
    return db.scalar(
        select(StaffProfile.department_id).where(StaffProfile.account_id == account_id)
    )


def _unplaced_village(scope: str) -> str | None:
    """For a grid cell, its village: a case placed only as far as the village (most addresses
    resolve to the village, few to the cell) falls to the village's grid workers."""
    return scope[:12] if level_of(scope) == 6 else None


def region_in(scopes: Sequence[str]) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    for scope in scopes:
        low, high = subtree_bounds(scope)
        clauses.append(Case.region_code.between(low, high))
        village = _unplaced_village(scope)
        if village is not None:
            clauses.append(Case.region_code == village)
    return or_(*clauses) if clauses else false()


def in_reach(principal: Principal, permission: Permission, region_code: str) -> bool:
    """May ``principal`` act with ``permission`` on a case in ``region_code``: within a
    region of the grant, or — for a grid worker — a case of the cell's village that no cell
    names (the same reach as :func:`region_in`)."""
    if principal.can(permission, region_code):
        return True
    return any(
        _unplaced_village(scope) == region_code for scope in principal.regions_for(permission)
    )


def _summoned_case_ids(department_id: int) -> Select[Any]:
    """Cases a department was summoned onto (吹哨报到): it must read the case to act on it."""
    from gongzhi.cases.summons import CaseSummons, CaseSummonsDepartment

    return (
        select(CaseSummons.case_id)
        .join(CaseSummonsDepartment, CaseSummonsDepartment.summons_id == CaseSummons.id)
        .where(CaseSummonsDepartment.department_id == department_id)
    )


def scope_filter(db: Session, principal: Principal) -> ColumnElement[bool]:
    """The cases ``principal`` may see, as a WHERE clause."""
    clauses: list[ColumnElement[bool]] = []
    if principal.can(Permission.CASE_READ_OWN):
        clauses.append(Case.reporter_account_id == principal.account_id)
    if principal.can(Permission.CASE_READ):
        clauses.append(region_in(principal.regions_for(Permission.CASE_READ)))
        department_id = staff_department_id(db, principal.account_id)
        if department_id is not None:
            assigned = select(CaseAssignment.case_id).where(
                CaseAssignment.department_id == department_id,
                CaseAssignment.active.is_(True),
            )
            clauses.append(Case.id.in_(assigned))
            clauses.append(Case.id.in_(_summoned_case_ids(department_id)))
    if principal.can(Permission.CASE_TRIAGE):
        clauses.append(Case.region_code.is_(None))
    return or_(*clauses) if clauses else false()


def access_case(db: Session, principal: Principal, number: str) -> Case:
    case = db.scalar(
        select(Case)
        .where(Case.number == number, scope_filter(db, principal))
        .options(
            selectinload(Case.events),
            selectinload(Case.clocks),
            selectinload(Case.assignments),
        )
    )
    if case is None:
        raise NotFound(f"未找到案件 / no such case: {number}", code="case_not_found")
    return case


def followed_filter(principal: Principal) -> ColumnElement[bool]:
    """Cases a citizen follows without having reported them: backed ("me too"), or the main
    case that one of their reports, or a report they back, is merged into (while the merge
    stands)."""
    from gongzhi.cases.duplicates import CaseMerge, CaseSupporter

    if not principal.can(Permission.CASE_READ_OWN):
        return false()
    backed = select(CaseSupporter.case_id).where(CaseSupporter.account_id == principal.account_id)
    duplicate = Case.__table__.alias("merged_duplicate")
    merged_into = (
        select(CaseMerge.main_case_id)
        .join(duplicate, duplicate.c.id == CaseMerge.duplicate_case_id)
        .where(
            CaseMerge.active.is_(True),
            duplicate.c.status == CaseStatus.CLOSED.value,
            duplicate.c.outcome == Outcome.DUPLICATE.value,
            or_(
                duplicate.c.reporter_account_id == principal.account_id,
                duplicate.c.id.in_(backed),
            ),
        )
    )
    return or_(Case.id.in_(backed), Case.id.in_(merged_into))


def access_followed_case(db: Session, principal: Principal, number: str) -> tuple[Case, bool]:
    """A case for the citizen's own pages: ``(case, True)`` for their own report, ``(case,
    False)`` for a case they follow (read-only: public status and timeline only)."""
    own = Case.reporter_account_id == principal.account_id
    if not principal.can(Permission.CASE_READ_OWN):
        raise NotFound(f"未找到案件 / no such case: {number}", code="case_not_found")
    case = db.scalar(
        select(Case)
        .where(Case.number == number, or_(own, followed_filter(principal)))
        .options(selectinload(Case.events), selectinload(Case.clocks))
    )
    if case is None:
        raise NotFound(f"未找到案件 / no such case: {number}", code="case_not_found")
    return case, case.reporter_account_id == principal.account_id


def may_see_contact(db: Session, principal: Principal, case: Case) -> bool:
    """The reporter's contact: never for handlers of an anonymous case; otherwise for the
    reporter and for the dispatch centre (who call back)."""
    if principal.account_id == case.reporter_account_id:
        return True
    if case.anonymous:
        return False
    return principal.can(Permission.CASE_TRIAGE) or principal.can(Permission.CASE_TAKE_CALL)


def _page(stmt: Select[Case], limit: int, offset: int) -> Select[Case]:
    return stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit).offset(offset)


def list_cases(
    db: Session,
    principal: Principal,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    stmt = select(Case).where(scope_filter(db, principal))
    if status == "open":
        stmt = stmt.where(Case.status.in_(_OPEN))
    elif status:
        stmt = stmt.where(Case.status == status)
    return list(db.scalars(_page(stmt, limit, offset)))


def own_cases_page(db: Session, principal: Principal, number: int = 1) -> Page[Case]:
    """The citizen's own reports, newest first, one page."""
    stmt = select(Case).where(Case.reporter_account_id == principal.account_id)
    rows = list(db.scalars(_page(stmt, PAGE_SIZE + 1, _offset(number))))
    return page_of(rows, number)


def followed_cases(db: Session, principal: Principal, *, limit: int = PAGE_SIZE) -> list[Case]:
    """Cases the citizen follows but did not report, newest first."""
    stmt = select(Case).where(
        followed_filter(principal), Case.reporter_account_id.is_distinct_from(principal.account_id)
    )
    return list(db.scalars(_page(stmt, limit, 0)))


def triage_queue(
    db: Session, principal: Principal, *, limit: int = 200, offset: int = 0
) -> list[Case]:
    """待分拨: the dispatch centre's queue, oldest first (first come, first served)."""
    stmt = (
        select(Case)
        .where(Case.status == CaseStatus.TRIAGE.value, scope_filter(db, principal))
        .order_by(Case.created_at, Case.id)
        .limit(limit)
        .offset(offset)
    )
    return list(db.scalars(stmt))


def triage_page(db: Session, principal: Principal, number: int = 1) -> Page[Case]:
    rows = triage_queue(db, principal, limit=PAGE_SIZE + 1, offset=_offset(number))
    return page_of(rows, number)


def department_inbox(
    db: Session,
    department_id: int,
    *,
    include_co: bool = True,
    limit: int = 200,
    offset: int = 0,
) -> list[Case]:
    """Open cases a department leads (and co-handles), oldest first."""
    assigned = select(CaseAssignment.case_id).where(
        CaseAssignment.department_id == department_id, CaseAssignment.active.is_(True)
    )
    if not include_co:
        assigned = assigned.where(CaseAssignment.role == "lead")
    stmt = (
        select(Case)
        .where(Case.id.in_(assigned), Case.status.in_(_OPEN))
        .order_by(Case.created_at, Case.id)
        .limit(limit)
        .offset(offset)
    )
    return list(db.scalars(stmt))


def inbox_page(db: Session, department_id: int, number: int = 1) -> Page[Case]:
    rows = department_inbox(db, department_id, limit=PAGE_SIZE + 1, offset=_offset(number))
    return page_of(rows, number)


def overdue_cases(
    db: Session, principal: Principal | None, now: datetime, *, limit: int = 500
) -> list[tuple[Case, CaseClock]]:
    """Open cases with a running clock past its deadline (paused clocks excepted), most
    overdue first; ``principal`` None means every case (jobs)."""
    stmt = (
        select(Case, CaseClock)
        .join(CaseClock, CaseClock.case_id == Case.id)
        .where(
            Case.status.in_(_OPEN),
            CaseClock.stopped_at.is_(None),
            CaseClock.paused_at.is_(None),
            CaseClock.due_at < now,
        )
        .order_by(CaseClock.due_at, Case.id)
        .limit(limit)
    )
    if principal is not None:
        stmt = stmt.where(scope_filter(db, principal))
    return [(case, clock) for case, clock in db.execute(stmt)]


def overdue_page(
    db: Session, principal: Principal, now: datetime, number: int = 1
) -> Page[tuple[Case, list[CaseClock]]]:
    """One page of overdue cases (each with its overdue clocks), the most overdue first.
    Paged by case, not by clock, so that a case's clocks never straddle two pages."""
    overdue = (
        CaseClock.stopped_at.is_(None),
        CaseClock.paused_at.is_(None),
        CaseClock.due_at < now,
    )
    first_due = func.min(CaseClock.due_at).label("first_due")
    ranked = (
        select(Case.id, first_due)
        .join(CaseClock, CaseClock.case_id == Case.id)
        .where(Case.status.in_(_OPEN), *overdue, scope_filter(db, principal))
        .group_by(Case.id)
        .order_by(first_due, Case.id)
        .limit(PAGE_SIZE + 1)
        .offset(_offset(number))
    )
    ids = [row[0] for row in db.execute(ranked)]
    if not ids:
        return page_of([], number)
    cases = {c.id: c for c in db.scalars(select(Case).where(Case.id.in_(ids)))}
    clocks: dict[int, list[CaseClock]] = {i: [] for i in ids}
    for clock in db.scalars(
        select(CaseClock)
        .where(CaseClock.case_id.in_(ids), *overdue)
        .order_by(CaseClock.due_at, CaseClock.id)
    ):
        clocks[clock.case_id].append(clock)
    return page_of([(cases[i], clocks[i]) for i in ids], number)
