"""Reads of the org domain, and the ``access_*`` helpers that apply region scope."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, event, false, func, or_, select
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
    responsibility_cohandler,
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
from gongzhi.security.models import Account, RoleGrant
from gongzhi.security.permissions import ROLE_PERMISSIONS, Permission, Role
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


# -- the responsibility list, cached per process -------------------------------------------
#
# Every intake routes by the responsibility list and counts its deadlines on the work
# calendar; both change a few times a year. They are read once into plain, immutable entries
# and kept per process (per database) until the fingerprint below changes. The fingerprint is
# one query of counts, highest ids, newest change stamps and sums over the tables the list is
# made of: any create, update, deactivation, deletion or re-import changes it, in this
# process or any other, and a rolled-back change takes it back to the value the cached copy
# belongs to. It is checked once per unit of work and again after the session's own writes.


@dataclass(frozen=True)
class DepartmentEntry:
    id: int
    code: str
    name: str
    short_name: str | None
    kind: str
    level: str
    region_code: str
    active: bool


@dataclass(frozen=True)
class ResponsibilityEntry:
    """One row of the list with its time limits (duck-compatible with ``Responsibility``
    where the clocks read it)."""

    id: int
    level: str
    lead_department_id: int | None
    lead_local: bool
    co_local: bool
    co_handler_ids: tuple[int, ...]  # ordered by department code
    dispatch_hours: float
    signoff_hours: float
    handling_days: int
    feedback_days: int
    delegated: bool


@dataclass(frozen=True)
class MatterEntry:
    id: int
    code: str
    name: str
    active: bool
    responsibilities: tuple[ResponsibilityEntry, ...]  # ordered by id


@dataclass(frozen=True)
class CalendarOverrideEntry:
    day: date
    is_workday: bool
    region_code: str | None


@dataclass(frozen=True)
class Route:
    """Who handles a matter for a region, as department ids (see :class:`Lead`)."""

    matter: MatterEntry
    level: OrgLevel
    responsibility: ResponsibilityEntry
    leads: tuple[DepartmentEntry, ...]
    co_handlers: tuple[DepartmentEntry, ...]


@dataclass(frozen=True)
class ResponsibilityList:
    """The responsibility list, the departments and the calendar overrides, in memory."""

    fingerprint: tuple[Any, ...]
    matters: dict[str, MatterEntry]
    departments: dict[int, DepartmentEntry]
    # (jurisdiction region code, department kind) -> the active departments, by code.
    local_governments: dict[tuple[str, str], tuple[DepartmentEntry, ...]]
    overrides: tuple[CalendarOverrideEntry, ...]
    _calendars: dict[tuple[str | None, tuple[tuple[time, time], ...], str], WorkCalendar] = field(
        default_factory=dict, compare=False, repr=False
    )

    def matter(self, code: str | None, *, active_only: bool = False) -> MatterEntry | None:
        entry = self.matters.get(code) if code else None
        if entry is None or (active_only and not entry.active):
            return None
        return entry

    def limits(self, matter_code: str | None, lead_id: int | None) -> ResponsibilityEntry | None:
        """The row whose time limits apply: the lead's level, else the lowest level."""
        matter = self.matter(matter_code)
        if matter is None or not matter.responsibilities:
            return None
        lead = self.departments.get(lead_id) if lead_id is not None else None
        if lead is not None:
            for resp in matter.responsibilities:
                if resp.level == lead.level:
                    return resp
        order = {"village": 0, "township": 1, "county": 2}
        return sorted(matter.responsibilities, key=lambda r: order.get(r.level, 9))[0]

    def _local_governments(self, level: OrgLevel, region_code: str) -> tuple[DepartmentEntry, ...]:
        """The active township governments / village committees whose jurisdiction is the
        region's ancestor (or the region itself) at ``level``."""
        digits = LEVEL_DIGITS[ORG_LEVEL_REGION_LEVEL[level]]
        kind = DepartmentKind.TOWNSHIP if level == OrgLevel.TOWNSHIP else DepartmentKind.VILLAGE
        return self.local_governments.get((pad(region_code[:digits]), kind.value), ())

    def route(self, matter_code: str, region_code: str) -> Route | None:
        """The lead department(s) and co-handlers for a matter in a region, at the lowest
        level the list assigns and the organisation can staff; None if nobody is found."""
        if not is_valid_code(region_code):
            return None
        matter = self.matter(matter_code, active_only=True)
        if matter is None:
            return None
        by_level = {OrgLevel(r.level): r for r in matter.responsibilities}
        for level in _levels_for(region_code):
            resp = by_level.get(level)
            if resp is None:
                continue
            leads: tuple[DepartmentEntry, ...] = ()
            named = self.departments.get(resp.lead_department_id or 0)
            if resp.lead_local:
                leads = self._local_governments(level, region_code)
            elif named is not None and _serves(named, region_code):
                leads = (named,)
            if not leads:
                continue  # e.g. no village committee on the platform yet: the level above leads
            co = [
                d
                for d in (self.departments[i] for i in resp.co_handler_ids)
                if _serves(d, region_code)
            ]
            if resp.co_local:
                locals_ = [
                    d
                    for lvl in (OrgLevel.TOWNSHIP, OrgLevel.VILLAGE)
                    if ORG_LEVEL_REGION_LEVEL[lvl] <= (level_of(region_code) or 0) and lvl != level
                    for d in self._local_governments(lvl, region_code)
                ]
                # 属地 as co-handler: the nearest local government below the lead's level.
                co.extend(d for d in locals_[:1] if d not in co and d not in leads)
            return Route(matter, level, resp, leads, tuple(co))
        return None

    def calendar(
        self,
        region_code: str | None,
        office_hours: tuple[tuple[time, time], ...] = DEFAULT_OFFICE_HOURS,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> WorkCalendar:
        """The work calendar that applies in ``region_code`` (None: deployment-wide)."""
        key = (region_code, office_hours, timezone)
        calendar = self._calendars.get(key)
        if calendar is None:
            applies: set[str | None] = {None}
            if region_code is not None:
                applies.update([*ancestor_codes(region_code), region_code])
            rows = [o for o in self.overrides if o.region_code in applies]
            calendar = WorkCalendar(merge_overrides(rows), office_hours, timezone)
            self._calendars[key] = calendar
        return calendar


def _fingerprint_columns() -> list[Any]:
    def active(column: Any) -> Any:
        return func.sum(case((column.is_(True), 1), else_=0))

    cohandler = responsibility_cohandler.c
    aggregates: list[tuple[Any, list[Any]]] = [
        (
            Department,
            [
                func.count(),
                func.max(Department.id),
                func.max(Department.updated_at),
                active(Department.active),
            ],
        ),
        (
            Matter,
            [func.count(), func.max(Matter.id), func.max(Matter.updated_at), active(Matter.active)],
        ),
        (
            Responsibility,
            [
                func.count(),
                func.max(Responsibility.id),
                func.sum(Responsibility.lead_department_id),
                func.sum(Responsibility.dispatch_hours + Responsibility.signoff_hours),
                func.sum(Responsibility.handling_days * 1000 + Responsibility.feedback_days),
                active(Responsibility.lead_local) * 2 + active(Responsibility.co_local),
            ],
        ),
        (
            responsibility_cohandler,
            [
                func.count(),
                func.sum(cohandler.responsibility_id),
                func.sum(cohandler.department_id),
            ],
        ),
        (
            CalendarOverride,
            [
                func.count(),
                func.max(CalendarOverride.id),
                func.max(CalendarOverride.updated_at),
                active(CalendarOverride.is_workday),
            ],
        ),
    ]
    columns: list[Any] = []
    for table, wanted in aggregates:
        for aggregate in wanted:
            subquery = select(aggregate).select_from(table).scalar_subquery()
            columns.append(subquery.label(f"list_fingerprint_{len(columns)}"))
    return columns


# The fingerprint's columns, for a caller that reads them within a statement it runs anyway
# (the case number's counter UPDATE … RETURNING): pass them to responsibility_list().
FINGERPRINT_COLUMNS = _fingerprint_columns()
_FINGERPRINT: Select[Any] = select(*FINGERPRINT_COLUMNS)


def _load_list(db: Session, fingerprint: tuple[Any, ...]) -> ResponsibilityList:
    departments = {
        d.id: DepartmentEntry(
            d.id, d.code, d.name, d.short_name, d.kind, d.level, d.region_code, bool(d.active)
        )
        for d in db.execute(
            select(
                Department.id,
                Department.code,
                Department.name,
                Department.short_name,
                Department.kind,
                Department.level,
                Department.region_code,
                Department.active,
            )
        )
    }
    local: dict[tuple[str, str], list[DepartmentEntry]] = {}
    for d in sorted(departments.values(), key=lambda d: d.code):
        if d.active and d.kind in (DepartmentKind.TOWNSHIP, DepartmentKind.VILLAGE):
            local.setdefault((d.region_code, d.kind), []).append(d)
    co_ids: dict[int, list[int]] = {}
    for resp_id, dept_id in db.execute(
        select(
            responsibility_cohandler.c.responsibility_id, responsibility_cohandler.c.department_id
        )
    ):
        co_ids.setdefault(resp_id, []).append(dept_id)
    by_matter: dict[int, list[ResponsibilityEntry]] = {}
    for r in db.scalars(select(Responsibility).order_by(Responsibility.id)):
        by_matter.setdefault(r.matter_id, []).append(
            ResponsibilityEntry(
                id=r.id,
                level=r.level,
                lead_department_id=r.lead_department_id,
                lead_local=bool(r.lead_local),
                co_local=bool(r.co_local),
                co_handler_ids=tuple(
                    sorted(co_ids.get(r.id, []), key=lambda i: departments[i].code)
                ),
                dispatch_hours=r.dispatch_hours,
                signoff_hours=r.signoff_hours,
                handling_days=r.handling_days,
                feedback_days=r.feedback_days,
                delegated=bool(r.delegated),
            )
        )
    matters = {
        code: MatterEntry(id_, code, name, bool(active), tuple(by_matter.get(id_, [])))
        for id_, code, name, active in db.execute(
            select(Matter.id, Matter.code, Matter.name, Matter.active)
        )
    }
    overrides = tuple(
        CalendarOverrideEntry(day, bool(is_workday), region_code)
        for day, is_workday, region_code in db.execute(
            select(CalendarOverride.day, CalendarOverride.is_workday, CalendarOverride.region_code)
        )
    )
    return ResponsibilityList(
        fingerprint=fingerprint,
        matters=matters,
        departments=departments,
        local_governments={k: tuple(v) for k, v in local.items()},
        overrides=overrides,
    )


_MEMO_KEY = "org.responsibility_list"
_lists_lock = threading.Lock()
_lists: dict[str, ResponsibilityList] = {}


_LIST_MODELS = (Department, Matter, Responsibility, CalendarOverride)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_checked_list(session: Session, *_args: Any) -> None:
    """A new transaction may see another version of the list: check again."""
    session.info.pop(_MEMO_KEY, None)


@event.listens_for(Session, "after_flush")
def _forget_list_written_here(session: Session, _flush_context: Any) -> None:
    """The session's own writes to the list's tables: check again."""
    if _MEMO_KEY in session.info and any(
        isinstance(obj, _LIST_MODELS)
        for objects in (session.new, session.dirty, session.deleted)
        for obj in objects
    ):
        session.info.pop(_MEMO_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_after_statement_writes(state: Any) -> None:
    """An INSERT, UPDATE or DELETE statement run through the session (bulk writes bypass
    the flush): check again."""
    if _MEMO_KEY in state.session.info and (state.is_insert or state.is_update or state.is_delete):
        state.session.info.pop(_MEMO_KEY, None)


def responsibility_list(
    db: Session, *, fingerprint: Sequence[Any] | None = None
) -> ResponsibilityList:
    """The current responsibility list, departments and calendar overrides, as the caller's
    transaction sees them; one fingerprint query per unit of work, a reload only when the
    fingerprint changed. ``fingerprint``: the values of FINGERPRINT_COLUMNS the caller has
    just read in the same transaction (no query of its own then)."""
    memo: ResponsibilityList | None = db.info.get(_MEMO_KEY)
    if memo is not None and fingerprint is None:
        return memo
    if fingerprint is None:
        if db.new or db.dirty or db.deleted:
            db.flush()  # the check must see the session's own pending writes
        # On the session's connection, past the ORM's statement handling (a third of the
        # cost).
        fingerprint = db.connection().execute(_FINGERPRINT).one()
    fingerprint = tuple(fingerprint)
    slot = str(db.get_bind().engine.url)
    cached = _lists.get(slot)
    if cached is None or cached.fingerprint != fingerprint:
        cached = _load_list(db, fingerprint)
        with _lists_lock:
            _lists[slot] = cached
    db.info[_MEMO_KEY] = cached
    return cached


def checked_list(db: Session) -> ResponsibilityList | None:
    """The list as :func:`responsibility_list` has checked it in the session's current
    transaction (no query), or None if it has not been checked there."""
    memo: ResponsibilityList | None = db.info.get(_MEMO_KEY)
    return memo


@dataclass
class Lead:
    """Who handles a matter for a region. More than one entry in ``leads`` means the list
    does not decide (e.g. two local governments claim the region): send it to triage."""

    matter: MatterEntry
    level: OrgLevel
    responsibility: ResponsibilityEntry
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


def _serves(department: Department | DepartmentEntry, region_code: str) -> bool:
    return department.active and is_within(region_code, department.region_code)


def route_for(db: Session, matter_code: str, region_code: str) -> Route | None:
    """:func:`lead_for` as cached entries (no query beyond the list's check)."""
    return responsibility_list(db).route(matter_code, region_code)


def lead_for(db: Session, matter_code: str, region_code: str) -> Lead | None:
    """The lead department and co-handlers for a matter in a region, at the lowest level the
    responsibility list assigns and the organisation can staff; None if nobody is found.
    The departments are the session's objects (one query for them all)."""
    route = route_for(db, matter_code, region_code)
    if route is None:
        return None
    ids = [d.id for d in (*route.leads, *route.co_handlers)]
    loaded = {d.id: d for d in db.scalars(select(Department).where(Department.id.in_(ids)))}
    return Lead(
        matter=route.matter,
        level=route.level,
        responsibility=route.responsibility,
        leads=[loaded[d.id] for d in route.leads],
        co_handlers=[loaded[d.id] for d in route.co_handlers],
    )


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


def merge_overrides(
    rows: Iterable[CalendarOverride | CalendarOverrideEntry],
) -> dict[date, bool]:
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
    ``GONGZHI_OFFICE_HOURS``, ``GONGZHI_TIMEZONE``), from the cached list (no query while
    the overrides are unchanged)."""
    return responsibility_list(db).calendar(
        region_code, _office_hours(settings.office_hours), settings.timezone
    )


@lru_cache(maxsize=16)
def _office_hours(text: str) -> tuple[tuple[time, time], ...]:
    return parse_office_hours(text)


# -- who must act: recipients of deadline notices -------------------------------------------


def _roles_with(permission: Permission) -> list[str]:
    return [role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted]


def department_handlers(db: Session, department_id: int) -> list[int]:
    """Accounts of the department's staff who may handle its cases (sign, handle, feed
    back), active ones only, in account order."""
    stmt = (
        select(StaffProfile.account_id)
        .join(Account, Account.id == StaffProfile.account_id)
        .join(RoleGrant, RoleGrant.account_id == StaffProfile.account_id)
        .where(
            StaffProfile.department_id == department_id,
            Account.active.is_(True),
            RoleGrant.role.in_(_roles_with(Permission.CASE_HANDLE)),
        )
        .distinct()
        .order_by(StaffProfile.account_id)
    )
    return list(db.scalars(stmt))


def department_head(db: Session, department_id: int) -> StaffProfile | None:
    """The department's head (``StaffProfile.is_head``), or None when none is named."""
    return db.scalar(
        select(StaffProfile).where(
            StaffProfile.department_id == department_id, StaffProfile.is_head.is_(True)
        )
    )


def department_head_account(db: Session, department_id: int) -> int | None:
    """The account of the department's head if it is named and active, else None."""
    return db.scalar(
        select(StaffProfile.account_id)
        .join(Account, Account.id == StaffProfile.account_id)
        .where(
            StaffProfile.department_id == department_id,
            StaffProfile.is_head.is_(True),
            Account.active.is_(True),
        )
    )


def access_staff(db: Session, department: Department, profile_id: int) -> StaffProfile:
    """A staff profile of ``department`` (the caller loaded the department through
    :func:`access_department`); NotFound for anyone else's."""
    profile = db.scalar(
        select(StaffProfile).where(
            StaffProfile.id == profile_id, StaffProfile.department_id == department.id
        )
    )
    if profile is None:
        raise NotFound(f"该部门没有此人员 / no such staff member in {department.code}")
    return profile


def role_holders_over(
    db: Session, role: Role, region_code: str | None, *, levels: int | None = None
) -> list[int]:
    """Active accounts holding ``role`` over ``region_code`` (a grant on the region or one of
    its ancestors), nearest grants first. ``levels=1`` keeps only the nearest level that
    has any holder, ``levels=2`` that one and the next above it; None keeps all. With no
    region (a place not known yet) every holder of the role counts as covering it."""
    stmt = (
        select(RoleGrant.account_id, RoleGrant.region_code)
        .join(Account, Account.id == RoleGrant.account_id)
        .where(RoleGrant.role == role.value, Account.active.is_(True))
        .order_by(RoleGrant.account_id)
    )
    if region_code is not None:
        stmt = stmt.where(RoleGrant.region_code.in_([*ancestor_codes(region_code), region_code]))
    by_depth: dict[int, list[int]] = {}
    for account_id, scope in db.execute(stmt):
        by_depth.setdefault(level_of(scope) or 0, []).append(account_id)
    depths = sorted(by_depth, reverse=True)
    if levels is not None:
        depths = depths[:levels]
    return list(dict.fromkeys(a for depth in depths for a in by_depth[depth]))
