"""吹哨报到: a township summons county departments onto a case, and they check in.

When a problem is beyond the township's powers, needs enforcement, or is an emergency, the
township's clerk "blows the whistle" (吹哨) on the case: each summoned department must check
in (报到) by a deadline — 30 minutes for an emergency, 2 office hours otherwise (the org
WorkCalendar of the case's region). A check-in after the deadline is kept and marked late;
``summons_stats`` counts summons, check-ins, on time and late per department and period.

Models live here (``cases/models.py`` is the core's); ``gongzhi.models`` imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from gongzhi.audit.services import Actor, record
from gongzhi.cases import queries
from gongzhi.cases.api import require_any
from gongzhi.cases.models import Case, CaseStatus, Priority
from gongzhi.config import Settings
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.org.models import Department, DepartmentKind, StaffProfile
from gongzhi.regions.codes import subtree_bounds
from gongzhi.security.deps import DB
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

# Check-in deadlines: wall-clock minutes for an emergency (it does not wait for office
# hours), office hours otherwise.
EMERGENCY_CHECK_IN = timedelta(minutes=30)
CHECK_IN_WORKING_HOURS = 2.0
MAX_DEPARTMENTS = 10


class SummonsReason(StrEnum):
    BEYOND_POWER = "beyond_power"  # 超出乡镇职权
    NEEDS_ENFORCEMENT = "needs_enforcement"  # 需要执法力量
    EMERGENCY = "emergency"  # 突发紧急


# -- tables ---------------------------------------------------------------------------------


class CaseSummons(Base):
    """One whistle: who summoned whom onto which case, why, and by when."""

    __tablename__ = "case_summons"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    summoned_by_id: Mapped[int | None] = mapped_column(BigInteger)
    summoned_by_label: Mapped[str] = mapped_column(String(200))
    # The case's region when summoned: stats are scoped by it without joining the case.
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)

    departments: Mapped[list[CaseSummonsDepartment]] = relationship(
        back_populates="summons",
        order_by="CaseSummonsDepartment.id",
        cascade="all, delete-orphan",
    )


class CaseSummonsDepartment(Base):
    """A summoned department and its check-in (报到)."""

    __tablename__ = "case_summons_department"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    summons_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("case_summons.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("department.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    note: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool | None] = mapped_column(Boolean)  # None until checked in

    summons: Mapped[CaseSummons] = relationship(back_populates="departments")

    __table_args__ = (UniqueConstraint("summons_id", "department_id"),)


# -- services -------------------------------------------------------------------------------


def default_limits(settings: Settings | None) -> tuple[timedelta, float]:
    """The check-in limits a county configured (``GONGZHI_SUMMONS_EMERGENCY_MINUTES``,
    ``GONGZHI_SUMMONS_CHECK_IN_HOURS``), or the Pinggu pilot's 30 minutes and 2 office hours
    when no settings are at hand."""
    if settings is None:
        return EMERGENCY_CHECK_IN, CHECK_IN_WORKING_HOURS
    return timedelta(minutes=settings.summons_emergency_minutes), settings.summons_check_in_hours


def is_emergency(case: Case, reason: SummonsReason | str) -> bool:
    return reason == SummonsReason.EMERGENCY or case.priority == Priority.EMERGENCY


def check_in_deadline(
    db: Session,
    case: Case,
    reason: SummonsReason,
    now: datetime,
    *,
    settings: Settings | None = None,
    emergency_window: timedelta | None = None,
    working_hours: float | None = None,
) -> datetime:
    """When the summoned must have checked in: ``emergency_window`` of wall-clock time for an
    emergency (it does not wait for office hours), ``working_hours`` of office time otherwise;
    either left out takes the configured default (``default_limits``)."""
    from gongzhi.cases.services import work_calendar

    window, hours = default_limits(settings)
    if is_emergency(case, reason):
        return now + (emergency_window if emergency_window is not None else window)
    hours = working_hours if working_hours is not None else hours
    return work_calendar(db, case, settings).add_working_hours(now, hours)


def _departments(db: Session, codes: Sequence[str]) -> list[Department]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not wanted:
        raise Invalid("请选择要召集的部门 / name the departments", code="departments_required")
    if len(wanted) > MAX_DEPARTMENTS:
        raise Invalid(
            f"最多召集 {MAX_DEPARTMENTS} 个部门 / at most {MAX_DEPARTMENTS}",
            code="too_many_departments",
        )
    found = {d.code: d for d in db.scalars(select(Department).where(Department.code.in_(wanted)))}
    out = []
    for code in wanted:
        dept = found.get(code)
        if dept is None:
            raise NotFound(f"未知部门 / unknown department: {code}", code="unknown_department")
        if not dept.active or dept.kind == DepartmentKind.DISPATCH.value:
            raise Invalid(f"不能召集该部门 / cannot summon {code}", code="invalid_department")
        out.append(dept)
    return out


def summon(
    db: Session,
    case: Case,
    *,
    departments: Sequence[str],
    reason: SummonsReason | str,
    actor: Actor,
    note: str | None = None,
    settings: Settings | None = None,
    emergency_window: timedelta | None = None,
    working_hours: float | None = None,
) -> CaseSummons:
    """吹哨: summon ``departments`` (codes) onto an open case with a check-in deadline."""
    from gongzhi.cases.services import _timeline, _touch

    try:
        why = SummonsReason(reason)
    except ValueError:
        raise Invalid(f"未知吹哨事由 / unknown reason: {reason}", code="invalid_reason") from None
    if case.status == CaseStatus.CLOSED:
        raise Conflict(f"案件 {case.number} 已办结 / the case is closed", code="not_open")
    depts = _departments(db, departments)
    now = utcnow()
    due = check_in_deadline(
        db,
        case,
        why,
        now,
        settings=settings,
        emergency_window=emergency_window,
        working_hours=working_hours,
    )
    text = (note or "").strip() or None
    summons = CaseSummons(
        case_id=case.id,
        reason=why.value,
        note=text,
        summoned_by_id=actor.audit_id,
        summoned_by_label=actor.audit_label,
        region_code=case.region_code,
        created_at=now,
        due_at=due,
    )
    for dept in depts:
        summons.departments.append(CaseSummonsDepartment(department_id=dept.id, due_at=due))
    db.add(summons)
    db.flush()
    _touch(case, now)
    _timeline(
        case,
        actor,
        "summoned",
        now=now,
        note=text,
        data={
            "summons_id": summons.id,
            "reason": why.value,
            "departments": [d.code for d in depts],
            "due_at": due.isoformat(),
        },
        public=False,
    )
    record(
        db,
        actor=actor,
        action="cases.summons.create",
        object_type="case_summons",
        object_id=summons.id,
        new={
            "case": case.number,
            "reason": why.value,
            "departments": [d.code for d in depts],
            "due_at": due,
        },
        reason=text,
        region_code=case.region_code,
    )
    return summons


def check_in(
    db: Session,
    summons: CaseSummons,
    *,
    department_id: int,
    actor: Actor,
    note: str | None = None,
) -> CaseSummonsDepartment:
    """报到: the summoned department reports in; after the deadline it is recorded as late."""
    from gongzhi.cases.services import _timeline, _touch

    entry = next((d for d in summons.departments if d.department_id == department_id), None)
    if entry is None:
        raise NotFound("该部门未被召集 / the department was not summoned", code="not_summoned")
    if entry.checked_in_at is not None:
        raise Conflict("已报到 / already checked in", code="already_checked_in")
    now = utcnow()
    entry.checked_in_at = now
    entry.checked_in_by_id = actor.audit_id
    entry.note = (note or "").strip() or None
    entry.late = now > entry.due_at
    case = db.get(Case, summons.case_id)
    dept = db.get(Department, department_id)
    code = dept.code if dept is not None else str(department_id)
    if case is not None:
        _touch(case, now)
        _timeline(
            case,
            actor,
            "checked_in",
            now=now,
            note=entry.note,
            data={"summons_id": summons.id, "department": code, "late": entry.late},
            public=False,
        )
    record(
        db,
        actor=actor,
        action="cases.summons.check_in",
        object_type="case_summons",
        object_id=summons.id,
        new={"department": code, "at": now, "late": entry.late},
        reason=entry.note,
        region_code=summons.region_code,
    )
    db.flush()
    return entry


# -- queries --------------------------------------------------------------------------------


class CheckInState(StrEnum):
    """Where a summoned department stands: colour on the pages always comes with these words."""

    WAITING = "waiting"  # not checked in, deadline still ahead
    MISSING = "missing"  # not checked in, deadline passed
    ON_TIME = "on_time"
    LATE = "late"


def check_in_state(entry: CaseSummonsDepartment, now: datetime) -> CheckInState:
    if entry.checked_in_at is not None:
        return CheckInState.LATE if entry.late else CheckInState.ON_TIME
    return CheckInState.MISSING if now > entry.due_at else CheckInState.WAITING


def case_summons(db: Session, case: Case) -> list[CaseSummons]:
    """A case's summons, oldest first, with their departments loaded."""
    return list(
        db.scalars(
            select(CaseSummons)
            .where(CaseSummons.case_id == case.id)
            .order_by(CaseSummons.id)
            .options(selectinload(CaseSummons.departments))
        )
    )


@dataclass
class PendingSummons:
    entry: CaseSummonsDepartment
    summons: CaseSummons
    case_number: str


def pending_for_department(
    db: Session, department_id: int, *, limit: int = 100
) -> list[PendingSummons]:
    """Summons a department has not answered yet on cases still open, the most urgent first
    (its inbox). Once a case is closed there is nothing to report to; the stats still count
    an unanswered summons as missing."""
    stmt = (
        select(CaseSummonsDepartment, CaseSummons, Case.number)
        .join(CaseSummons, CaseSummons.id == CaseSummonsDepartment.summons_id)
        .join(Case, Case.id == CaseSummons.case_id)
        .where(
            CaseSummonsDepartment.department_id == department_id,
            CaseSummonsDepartment.checked_in_at.is_(None),
            Case.status != CaseStatus.CLOSED.value,
        )
        .order_by(CaseSummonsDepartment.due_at, CaseSummonsDepartment.id)
        .limit(limit)
    )
    return [PendingSummons(e, s, n) for e, s, n in db.execute(stmt)]


@dataclass
class DepartmentStats:
    department_code: str
    department_name: str
    summoned: int = 0
    checked_in: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0  # past the deadline and not checked in

    def to_json(self) -> dict[str, Any]:
        return {
            "department": self.department_code,
            "name": self.department_name,
            "summoned": self.summoned,
            "checked_in": self.checked_in,
            "on_time": self.on_time,
            "late": self.late,
            "missing": self.missing,
        }


def summons_stats(
    db: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    regions: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[DepartmentStats]:
    """Per department, the summons made in [since, until) and how they were answered;
    ``regions`` limits them to cases within those subtrees (None: everywhere)."""
    moment = now or utcnow()
    stmt = (
        select(CaseSummonsDepartment, CaseSummons.region_code, Department.code, Department.name)
        .join(CaseSummons, CaseSummons.id == CaseSummonsDepartment.summons_id)
        .join(Department, Department.id == CaseSummonsDepartment.department_id)
    )
    if since is not None:
        stmt = stmt.where(CaseSummons.created_at >= since)
    if until is not None:
        stmt = stmt.where(CaseSummons.created_at < until)
    if regions is not None:
        clauses = [CaseSummons.region_code.between(*subtree_bounds(r)) for r in regions]
        stmt = stmt.where(or_(*clauses) if clauses else false())
    out: dict[str, DepartmentStats] = {}
    for entry, _region, code, name in db.execute(stmt):
        row = out.setdefault(code, DepartmentStats(code, name))
        row.summoned += 1
        if entry.checked_in_at is not None:
            row.checked_in += 1
            if entry.late:
                row.late += 1
            else:
                row.on_time += 1
        elif moment > entry.due_at:
            row.missing += 1
    return sorted(out.values(), key=lambda r: (-r.summoned, r.department_code))


# -- JSON routes ----------------------------------------------------------------------------

router = APIRouter(tags=["cases"])


class SummonsIn(BaseModel):
    departments: list[str] = Field(min_length=1, max_length=MAX_DEPARTMENTS)
    reason: SummonsReason
    note: str | None = Field(default=None, max_length=2000)


class CheckInIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


def _summons_json(db: Session, summons: CaseSummons, number: str) -> dict[str, Any]:
    codes = dict(
        db.execute(
            select(Department.id, Department.code).where(
                Department.id.in_([d.department_id for d in summons.departments])
            )
        ).all()
    )
    return {
        "id": summons.id,
        "case": number,
        "reason": summons.reason,
        "note": summons.note,
        "created_at": summons.created_at.isoformat(),
        "due_at": summons.due_at.isoformat(),
        "departments": [
            {
                "department": codes.get(d.department_id),
                "due_at": d.due_at.isoformat(),
                "checked_in_at": d.checked_in_at.isoformat() if d.checked_in_at else None,
                "late": d.late,
                "note": d.note,
            }
            for d in summons.departments
        ],
    }


@router.post("/api/v1/cases/{number}/summons", status_code=201)
def create_summons(
    number: str,
    body: SummonsIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_SUMMON),
) -> dict[str, Any]:
    """Only within the clerk's township: a case elsewhere is "not found", as for reads."""
    case = queries.case_by_number(db, number)
    if (
        case is None
        or case.region_code is None
        or not principal.can(Permission.CASE_SUMMON, case.region_code)
    ):
        raise NotFound(f"未找到案件 / no such case: {number}", code="case_not_found")
    summons = summon(
        db,
        case,
        departments=body.departments,
        reason=body.reason,
        note=body.note,
        actor=principal,
        settings=request.app.state.settings,
    )
    return _summons_json(db, summons, case.number)


@router.get("/api/v1/cases/{number}/summons")
def summons_of_case(
    number: str,
    db: DB,
    principal: Principal = require_any(Permission.CASE_READ),
) -> dict[str, Any]:
    """The case's summons and who has checked in, oldest first (staff within their scope)."""
    case = queries.access_case(db, principal, number)
    rows = case_summons(db, case)
    return {"case": case.number, "summons": [_summons_json(db, s, case.number) for s in rows]}


@router.post("/api/v1/summons/{summons_id}/check-in")
def check_in_route(
    summons_id: int,
    body: CheckInIn,
    db: DB,
    principal: Principal = require_any(Permission.CASE_CHECK_IN),
) -> dict[str, Any]:
    summons = db.get(CaseSummons, summons_id)
    department_id = db.scalar(
        select(StaffProfile.department_id).where(StaffProfile.account_id == principal.account_id)
    )
    if summons is None or department_id is None:
        raise NotFound("未找到召集 / no such summons", code="summons_not_found")
    check_in(db, summons, department_id=department_id, note=body.note, actor=principal)
    case = db.get(Case, summons.case_id)
    return _summons_json(db, summons, case.number if case else "")


@router.get("/api/v1/summons/stats")
def stats(
    db: DB,
    principal: Principal = require_any(Permission.CASE_INDICATORS),
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> dict[str, Any]:
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise Invalid("时间需带时区 / give times with a zone", code="invalid_period")
    regions = principal.regions_for(Permission.CASE_INDICATORS)
    rows = summons_stats(db, since=since, until=until, regions=regions)
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "departments": [r.to_json() for r in rows],
    }
