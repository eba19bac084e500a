"""Reads of the org domain, and the ``access_*`` helpers that apply region scope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session, selectinload

from gongzhi.config import Settings
from gongzhi.errors import NotFound
from gongzhi.org.calendar import (
    DEFAULT_OFFICE_HOURS,
    DEFAULT_TIMEZONE,
    WorkCalendar,
    parse_office_hours,
)
from gongzhi.org.importing import LEVEL_COLUMNS, write_csv
from gongzhi.org.models import (
    MATTER_KIND_LABELS,
    ORG_LEVEL_REGION_LEVEL,
    CalendarOverride,
    Department,
    DepartmentKind,
    Matter,
    MatterKind,
    OrgLevel,
    Responsibility,
    StaffProfile,
)
from gongzhi.regions.codes import (
    LEVEL_DIGITS,
    ancestor_codes,
    is_valid_code,
    is_within,
    level_of,
    pad,
)
from gongzhi.regions.codes import subtree_bounds as _bounds
from gongzhi.security.models import Account
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

# -- departments --------------------------------------------------------------------------


def _serving(column: Any, scope: str) -> ColumnElement[bool]:
    """Jurisdictions that serve ``scope``: inside its subtree, or one of its ancestors
    (a township clerk sees the county's departments, not another township's)."""
    low, high = _bounds(scope)
    return or_(column.between(low, high), column.in_(ancestor_codes(scope)))


def department_filter(scopes: Sequence[str] | None) -> ColumnElement[bool]:
    if scopes is None:
        return Department.id.is_not(None)
    if not scopes:
        return false()
    return or_(*(_serving(Department.region_code, scope) for scope in scopes))


def list_departments(
    db: Session,
    *,
    scopes: Sequence[str] | None = None,
    region_code: str | None = None,
    kind: DepartmentKind | str | None = None,
    include_inactive: bool = False,
) -> list[Department]:
    """Departments visible in ``scopes`` (None = everything); ``region_code`` narrows to
    those serving that region."""
    stmt = select(Department).where(department_filter(scopes))
    if region_code is not None:
        stmt = stmt.where(_serving(Department.region_code, region_code))
    if kind is not None:
        stmt = stmt.where(Department.kind == str(kind))
    if not include_inactive:
        stmt = stmt.where(Department.active.is_(True))
    return list(
        db.scalars(stmt.order_by(Department.level, Department.region_code, Department.code))
    )


def department_scopes(principal: Principal) -> list[str]:
    return principal.regions_for(Permission.DEPARTMENT_READ)


def access_department(db: Session, principal: Principal, code: str) -> Department:
    department = db.scalar(
        select(Department).where(
            Department.code == code, department_filter(department_scopes(principal))
        )
    )
    if department is None:
        raise NotFound(f"未知部门 / unknown department: {code}")
    return department


def get_department(db: Session, code: str) -> Department | None:
    return db.scalar(select(Department).where(Department.code == code))


def list_staff(
    db: Session, *, scopes: Sequence[str] | None = None, department_code: str | None = None
) -> list[tuple[StaffProfile, Account]]:
    """Staff of the departments visible in ``scopes`` (same rule as departments)."""
    stmt = (
        select(StaffProfile, Account)
        .join(Department, Department.id == StaffProfile.department_id)
        .join(Account, Account.id == StaffProfile.account_id)
        .where(department_filter(scopes))
        .options(selectinload(StaffProfile.department))
    )
    if department_code is not None:
        stmt = stmt.where(Department.code == department_code)
    rows = db.execute(stmt.order_by(Department.code, Account.username))
    return [(profile, account) for profile, account in rows]


# -- responsibility list ------------------------------------------------------------------


def list_matters(
    db: Session, *, q: str | None = None, include_inactive: bool = False
) -> list[Matter]:
    stmt = select(Matter).options(
        selectinload(Matter.responsibilities).selectinload(Responsibility.lead_department),
        selectinload(Matter.responsibilities).selectinload(Responsibility.co_handlers),
        selectinload(Matter.parent),
    )
    if not include_inactive:
        stmt = stmt.where(Matter.active.is_(True))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Matter.name.like(like), Matter.code.like(like)))
    return list(db.scalars(stmt.order_by(Matter.code)))


def get_matter(db: Session, code: str) -> Matter:
    matter = db.scalar(
        select(Matter)
        .where(Matter.code == code)
        .options(selectinload(Matter.responsibilities).selectinload(Responsibility.co_handlers))
    )
    if matter is None:
        raise NotFound(f"未知事项 / unknown matter: {code}")
    return matter


def export_responsibilities(db: Session) -> str:
    """The active responsibility list as CSV in the import format (departments by code), so
    an administrator can export, edit and import it again; an unedited export re-imports
    without changes."""
    rows: list[dict[str, str]] = []
    for matter in list_matters(db):
        row = {
            "code": matter.code,
            "name": matter.name,
            "kind": MATTER_KIND_LABELS[MatterKind(matter.kind)],
            "parent_code": matter.parent.code if matter.parent else "",
            "keywords": "、".join(matter.keywords or []),
            "description": matter.description or "",
            "legal_basis": matter.legal_basis or "",
            "delegated": "否",
        }
        for resp in matter.responsibilities:
            level = OrgLevel(resp.level)
            lead_key, co_key = LEVEL_COLUMNS[level]
            lead = resp.lead_department
            row[lead_key] = "属地" if resp.lead_local else (lead.code if lead else "")
            co = [d.code for d in resp.co_handlers] + (["属地"] if resp.co_local else [])
            row[co_key] = "、".join(co)
            row["dispatch_hours"] = f"{resp.dispatch_hours:g}"
            row["signoff_hours"] = f"{resp.signoff_hours:g}"
            row["handling_days"] = str(resp.handling_days)
            row["feedback_days"] = str(resp.feedback_days)
            row["delegated"] = "是" if resp.delegated else "否"
        rows.append(row)
    return write_csv(rows)


@dataclass
class Lead:
    """Who handles a matter for a region. More than one entry in ``leads`` means the list
    does not decide (e.g. two local governments claim the region): send it to triage."""

    matter: Matter
    level: OrgLevel
    responsibility: Responsibility
    leads: list[Department]
    co_handlers: list[Department] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        return len(self.leads) > 1

    @property
    def lead(self) -> Department | None:
        return self.leads[0] if len(self.leads) == 1 else None


def _levels_for(region_code: str) -> list[OrgLevel]:
    """Levels that may handle a case in this region, lowest (closest) first."""
    region_level = level_of(region_code) or 0
    return [
        lvl
        for lvl in (OrgLevel.VILLAGE, OrgLevel.TOWNSHIP, OrgLevel.COUNTY)
        if ORG_LEVEL_REGION_LEVEL[lvl] <= region_level
    ]


def _local_governments(db: Session, level: OrgLevel, region_code: str) -> list[Department]:
    """The active township governments / village committees whose jurisdiction is the
    region's ancestor (or the region itself) at ``level``."""
    digits = LEVEL_DIGITS[ORG_LEVEL_REGION_LEVEL[level]]
    jurisdiction = pad(region_code[:digits])
    kind = DepartmentKind.TOWNSHIP if level == OrgLevel.TOWNSHIP else DepartmentKind.VILLAGE
    return list(
        db.scalars(
            select(Department)
            .where(
                Department.region_code == jurisdiction,
                Department.kind == kind.value,
                Department.active.is_(True),
            )
            .order_by(Department.code)
        )
    )


def _serves(department: Department, region_code: str) -> bool:
    return department.active and is_within(region_code, department.region_code)


def lead_for(db: Session, matter_code: str, region_code: str) -> Lead | None:
    """The lead department and co-handlers for a matter in a region, at the lowest level the
    responsibility list assigns and the organisation can staff; None if nobody is found."""
    if not is_valid_code(region_code):
        return None
    matter = db.scalar(
        select(Matter)
        .where(Matter.code == matter_code, Matter.active.is_(True))
        .options(
            selectinload(Matter.responsibilities).selectinload(Responsibility.lead_department),
            selectinload(Matter.responsibilities).selectinload(Responsibility.co_handlers),
        )
    )
    if matter is None:
        return None
    by_level = {OrgLevel(r.level): r for r in matter.responsibilities}
    for level in _levels_for(region_code):
        resp = by_level.get(level)
        if resp is None:
            continue
        if resp.lead_local:
            leads = _local_governments(db, level, region_code)
        elif resp.lead_department is not None and _serves(resp.lead_department, region_code):
            leads = [resp.lead_department]
        else:
            leads = []
        if not leads:
            continue  # e.g. no village committee on the platform yet: the level above leads
        co = [d for d in resp.co_handlers if _serves(d, region_code)]
        if resp.co_local:
            locals_ = [
                d
                for lvl in (OrgLevel.TOWNSHIP, OrgLevel.VILLAGE)
                if ORG_LEVEL_REGION_LEVEL[lvl] <= (level_of(region_code) or 0) and lvl != level
                for d in _local_governments(db, lvl, region_code)
            ]
            # 属地 as co-handler: the nearest local government below the lead's level.
            co.extend(d for d in locals_[:1] if d not in co and d not in leads)
        return Lead(matter=matter, level=level, responsibility=resp, leads=leads, co_handlers=co)
    return None


# -- work calendar ------------------------------------------------------------------------


def _override_applies(region_code: str | None) -> ColumnElement[bool]:
    if region_code is None:
        return CalendarOverride.region_code.is_(None)
    return or_(
        CalendarOverride.region_code.is_(None),
        CalendarOverride.region_code.in_([*ancestor_codes(region_code), region_code]),
    )


def list_calendar_overrides(
    db: Session, *, year: int | None = None, region_code: str | None = None
) -> list[CalendarOverride]:
    stmt = select(CalendarOverride)
    if year is not None:
        stmt = stmt.where(
            and_(
                CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31)
            )
        )
    if region_code is not None:
        stmt = stmt.where(_override_applies(region_code))
    return list(db.scalars(stmt.order_by(CalendarOverride.day, CalendarOverride.region_code)))


def get_calendar_override(db: Session, override_id: int) -> CalendarOverride:
    override = db.get(CalendarOverride, override_id)
    if override is None:
        raise NotFound(f"未知日历调整 / unknown calendar override: {override_id}")
    return override


def merge_overrides(rows: Iterable[CalendarOverride]) -> dict[date, bool]:
    """Deployment-wide overrides first, then deeper regions over them."""
    merged: dict[date, bool] = {}
    for row in sorted(rows, key=lambda r: len((r.region_code or "").rstrip("0"))):
        merged[row.day] = row.is_workday
    return merged


def load_work_calendar(
    db: Session,
    region_code: str | None = None,
    *,
    office_hours: tuple[tuple[time, time], ...] = DEFAULT_OFFICE_HOURS,
    timezone: str = DEFAULT_TIMEZONE,
) -> WorkCalendar:
    """The calendar that applies in ``region_code`` (None: the deployment-wide one). One
    query; the returned object answers from memory."""
    rows = db.scalars(select(CalendarOverride).where(_override_applies(region_code)))
    return WorkCalendar(merge_overrides(rows), office_hours, timezone)


def calendar_for(db: Session, settings: Settings, region_code: str | None = None) -> WorkCalendar:
    """The work calendar with the deployment's office hours and time zone (settings
    ``GONGZHI_OFFICE_HOURS``, ``GONGZHI_TIMEZONE``)."""
    return load_work_calendar(
        db,
        region_code,
        office_hours=parse_office_hours(settings.office_hours),
        timezone=settings.timezone,
    )
