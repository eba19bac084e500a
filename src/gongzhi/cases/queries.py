"""Reads of the cases domain, and ``access_case`` which applies who may see which case.

Scope: citizens see their own cases; staff see the cases located in their region subtree
(``CASE_READ`` grants); staff of a department also see the cases assigned to it; the
dispatch centre (``CASE_TRIAGE``) also sees cases whose place is not yet known. Anything
else is "not found", so that a case number reveals nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session, selectinload

from gongzhi.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseAssignment,
    CaseClock,
    CaseStatus,
    ClockKind,
)
from gongzhi.errors import NotFound
from gongzhi.org.models import Department, StaffProfile
from gongzhi.regions.codes import subtree_bounds
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

_OPEN = [s.value for s in OPEN_STATUSES]


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
    return db.scalar(select(Department.name).where(Department.id == case.lead_department_id))


def staff_department_id(db: Session, account_id: int) -> int | None:
    return db.scalar(
        select(StaffProfile.department_id).where(StaffProfile.account_id == account_id)
    )


def _region_in(scopes: Sequence[str]) -> ColumnElement[bool]:
    clauses = []
    for scope in scopes:
        low, high = subtree_bounds(scope)
        clauses.append(Case.region_code.between(low, high))
    return or_(*clauses) if clauses else false()


def scope_filter(db: Session, principal: Principal) -> ColumnElement[bool]:
    """The cases ``principal`` may see, as a WHERE clause."""
    clauses: list[ColumnElement[bool]] = []
    if principal.can(Permission.CASE_READ_OWN):
        clauses.append(Case.reporter_account_id == principal.account_id)
    if principal.can(Permission.CASE_READ):
        clauses.append(_region_in(principal.regions_for(Permission.CASE_READ)))
        department_id = staff_department_id(db, principal.account_id)
        if department_id is not None:
            assigned = select(CaseAssignment.case_id).where(
                CaseAssignment.department_id == department_id,
                CaseAssignment.active.is_(True),
            )
            clauses.append(Case.id.in_(assigned))
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


def triage_queue(db: Session, principal: Principal, *, limit: int = 200) -> list[Case]:
    """待分拨: the dispatch centre's queue, oldest first (first come, first served)."""
    stmt = (
        select(Case)
        .where(Case.status == CaseStatus.TRIAGE.value, scope_filter(db, principal))
        .order_by(Case.created_at, Case.id)
        .limit(limit)
    )
    return list(db.scalars(stmt))


def department_inbox(
    db: Session, department_id: int, *, include_co: bool = True, limit: int = 200
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
    )
    return list(db.scalars(stmt))


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
