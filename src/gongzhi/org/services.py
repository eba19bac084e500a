"""Every state change of the org domain. Services never commit; each records its audit event
in the caller's transaction."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gongzhi.audit.services import Actor, changes, record
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.org.importing import (
    MatterRow,
    Report,
    parse_department_heads,
    parse_responsibility_file,
)
from gongzhi.org.models import (
    ORG_LEVEL_REGION_LEVEL,
    CalendarOverride,
    Department,
    DepartmentKind,
    Matter,
    OrgLevel,
    Responsibility,
    StaffProfile,
)
from gongzhi.org.queries import department_head
from gongzhi.regions.codes import level_of
from gongzhi.regions.models import Region
from gongzhi.security.permissions import Role

_UNSET: Any = object()

# -- departments --------------------------------------------------------------------------


def _require_region(db: Session, region_code: str, level: OrgLevel) -> None:
    if db.scalar(select(Region.code).where(Region.code == region_code)) is None:
        raise Invalid(f"未知行政区划 / unknown region: {region_code}", code="unknown_region")
    expected = ORG_LEVEL_REGION_LEVEL[level]
    if level_of(region_code) != expected:
        raise Invalid(
            f"{level.value} 级部门的辖区须为第 {expected} 级区划 / "
            f"a {level.value}-level department's jurisdiction must be a level-{expected} region",
            code="region_level_mismatch",
        )


def _enum(enum_cls: Any, value: Any, what: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(v.value for v in enum_cls)
        raise Invalid(f"{what} 无效 / invalid {what}: {value!r} (one of {allowed})") from None


def _department_by_code(db: Session, code: str) -> Department:
    department = db.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(f"未知部门 / unknown department: {code}")
    return department


def create_department(
    db: Session,
    *,
    code: str,
    name: str,
    kind: DepartmentKind | str,
    level: OrgLevel | str,
    region_code: str,
    short_name: str | None = None,
    parent_code: str | None = None,
    actor: Actor,
) -> Department:
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise Invalid("部门编码和名称不能为空 / code and name are required")
    kind_value: DepartmentKind = _enum(DepartmentKind, kind, "kind")
    level_value: OrgLevel = _enum(OrgLevel, level, "level")
    if db.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise Conflict(f"部门编码已存在 / department code exists: {code}", code="duplicate_code")
    _require_region(db, region_code, level_value)
    parent = _department_by_code(db, parent_code) if parent_code else None
    department = Department(
        code=code,
        name=name,
        short_name=(short_name or "").strip() or None,
        kind=kind_value.value,
        level=level_value.value,
        region_code=region_code,
        parent_id=parent.id if parent else None,
        active=True,
    )
    db.add(department)
    db.flush()
    record(
        db,
        actor=actor,
        action="org.department.create",
        object_type="department",
        object_id=department.id,
        new=department.snapshot(),
        region_code=region_code,
    )
    return department


def update_department(
    db: Session,
    department: Department,
    *,
    name: str | None = None,
    short_name: str | None = _UNSET,
    kind: DepartmentKind | str | None = None,
    level: OrgLevel | str | None = None,
    region_code: str | None = None,
    parent_code: str | None = _UNSET,
    reason: str | None = None,
    actor: Actor,
) -> Department:
    before = department.snapshot()
    # Validate everything first, then assign: a refused update leaves the object untouched.
    values: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise Invalid("部门名称不能为空 / name is required")
        values["name"] = name.strip()
    if short_name is not _UNSET:
        values["short_name"] = (short_name or "").strip() or None
    if kind is not None:
        values["kind"] = _enum(DepartmentKind, kind, "kind").value
    new_level = _enum(OrgLevel, level, "level") if level is not None else None
    if new_level is not None:
        values["level"] = new_level.value
    if region_code is not None:
        values["region_code"] = region_code
    if region_code is not None or new_level is not None:
        _require_region(
            db, region_code or department.region_code, new_level or OrgLevel(department.level)
        )
    if parent_code is not _UNSET:
        if parent_code is None:
            values["parent_id"] = None
        else:
            parent = _department_by_code(db, parent_code)
            ancestor: Department | None = parent
            while ancestor is not None:
                if ancestor.id == department.id:
                    raise Invalid("上级部门形成循环 / parent cycle", code="parent_cycle")
                ancestor = ancestor.parent
            values["parent_id"] = parent.id
    for key, value in values.items():
        setattr(department, key, value)
    old, new = changes(before, department.snapshot())
    if new:
        db.flush()
        record(
            db,
            actor=actor,
            action="org.department.update",
            object_type="department",
            object_id=department.id,
            old=old,
            new=new,
            reason=reason,
            region_code=department.region_code,
        )
    return department


def deactivate_department(
    db: Session, department: Department, *, reason: str | None = None, actor: Actor
) -> Department:
    if not department.active:
        return department
    staff = db.scalar(
        select(StaffProfile.id).where(StaffProfile.department_id == department.id).limit(1)
    )
    leads = db.scalar(
        select(Responsibility.id)
        .join(Matter, Matter.id == Responsibility.matter_id)
        .where(Responsibility.lead_department_id == department.id, Matter.active.is_(True))
        .limit(1)
    )
    if staff is not None or leads is not None:
        # Deactivating would leave matters without a lead or staff without a home.
        raise Conflict(
            "部门仍有人员或牵头事项，请先调整 / department still has staff or leads matters",
            code="department_in_use",
        )
    department.active = False
    db.flush()
    record(
        db,
        actor=actor,
        action="org.department.deactivate",
        object_type="department",
        object_id=department.id,
        old={"active": True},
        new={"active": False},
        reason=reason,
        region_code=department.region_code,
    )
    return department


# -- staff --------------------------------------------------------------------------------


def create_staff(
    db: Session,
    *,
    username: str,
    display_name: str,
    department: Department,
    roles: Sequence[tuple[Role, str]],
    password: str,
    title: str | None = None,
    phone: str | None = None,
    actor: Actor,
) -> StaffProfile:
    """A staff account (through the security services), its role grants and its profile."""
    from gongzhi.security import services as security

    if not department.active:
        raise Invalid(f"部门已停用 / department is inactive: {department.code}")
    account = security.create_account(
        db,
        username=username,
        display_name=display_name,
        password=password,
        kind="staff",
        actor=actor,
    )
    for role, region_code in roles:
        security.grant_role(db, account, role=role, region_code=region_code, actor=actor)
    profile = StaffProfile(
        account_id=account.id, department_id=department.id, title=title, phone=phone
    )
    db.add(profile)
    db.flush()
    record(
        db,
        actor=actor,
        action="org.staff.create",
        object_type="staff_profile",
        object_id=profile.id,
        new={
            "account_id": account.id,
            "username": username,
            "department": department.code,
            "title": title,
            "roles": [[str(r), c] for r, c in roles],
        },
        region_code=department.region_code,
    )
    return profile


def set_department_head(
    db: Session,
    department: Department,
    staff: StaffProfile | None,
    *,
    reason: str | None = None,
    actor: Actor,
) -> StaffProfile | None:
    """Name ``staff`` (one of the department's own staff, with an active account) the head
    of ``department``, or with None name nobody. The head hears of 催办 on the department's
    cases besides its handlers; with no head the notice goes to the handlers and says so."""
    from gongzhi.security.models import Account

    if staff is not None:
        if staff.department_id != department.id:
            raise Invalid(
                "负责人须为本部门人员 / the head must be one of the department's staff",
                code="head_not_member",
            )
        account = db.get(Account, staff.account_id)
        if account is None or not account.active:
            raise Invalid("该账号已停用 / that account is inactive", code="head_inactive")
    current = db.scalar(
        select(StaffProfile).where(
            StaffProfile.department_id == department.id, StaffProfile.is_head.is_(True)
        )
    )
    if current is staff:
        return staff
    if current is not None:
        current.is_head = False
        db.flush()  # one head a department: the old flag goes before the new one is set
    if staff is not None:
        staff.is_head = True
    db.flush()
    record(
        db,
        actor=actor,
        action="org.department.set_head",
        object_type="department",
        object_id=department.id,
        old={"head_staff_id": current.id if current else None},
        new={"head_staff_id": staff.id if staff else None},
        reason=reason,
        region_code=department.region_code,
    )
    return staff


def import_department_heads(
    db: Session, data: bytes, *, filename: str = "", actor: Actor
) -> list[str]:
    """Name the heads listed in a department file (columns ``code`` and ``head``, the head's
    username; an empty cell names nobody). Every row is checked before anything changes:
    an unknown department, an unknown account or one that is not that department's staff
    refuses the whole file. Returns the codes of the departments whose head changed."""
    from gongzhi.security.models import Account

    rows = parse_department_heads(data, filename=filename)
    report = Report()
    plan: list[tuple[Department, StaffProfile | None]] = []
    for row in rows:
        department = db.scalar(select(Department).where(Department.code == row.department_code))
        if department is None:
            report.add(row.line, "code", f"未知部门 / unknown department: {row.department_code}")
            continue
        if not row.username:
            plan.append((department, None))
            continue
        profile = db.scalar(
            select(StaffProfile)
            .join(Account, Account.id == StaffProfile.account_id)
            .where(Account.username == row.username)
        )
        if profile is None or profile.department_id != department.id:
            report.add(
                row.line,
                "head",
                f"{row.username} 不是该部门人员 / is not staff of {department.code}",
            )
            continue
        plan.append((department, profile))
    report.raise_if_any("部门负责人")
    changed = []
    for department, profile in plan:
        before = department_head(db, department.id)
        if before is profile:
            continue
        set_department_head(db, department, profile, reason=f"import {filename}", actor=actor)
        changed.append(department.code)
    return changed


# -- responsibility list ------------------------------------------------------------------


@dataclass
class ImportResult:
    version: str  # sha256 of the file
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


def department_resolver(db: Session) -> Any:
    """Cell text (code, name or short name) -> department code, for active departments.
    A name shared by two departments resolves to nothing rather than to a guess."""
    index: dict[str, set[str]] = {}
    for department in db.scalars(select(Department).where(Department.active.is_(True))):
        for key in (department.code, department.name, department.short_name):
            if key:
                index.setdefault(key, set()).add(department.code)
    unique = {key: next(iter(codes)) for key, codes in index.items() if len(codes) == 1}
    return unique.get


def _matter_fingerprint(matter: Matter) -> dict[str, Any]:
    levels: dict[str, Any] = {level.value: {"lead": None, "co": []} for level in OrgLevel}
    limits: list[Any] = [None, None, None, None]
    delegated = False
    for resp in matter.responsibilities:
        lead = (
            "属地"
            if resp.lead_local
            else (resp.lead_department.code if resp.lead_department else None)
        )
        co = sorted(d.code for d in resp.co_handlers) + (["属地"] if resp.co_local else [])
        levels[resp.level] = {"lead": lead, "co": co}
        limits = [resp.dispatch_hours, resp.signoff_hours, resp.handling_days, resp.feedback_days]
        delegated = resp.delegated
    return {
        "name": matter.name,
        "kind": matter.kind,
        "parent_code": matter.parent.code if matter.parent else None,
        "keywords": list(matter.keywords or []),
        "description": matter.description,
        "legal_basis": matter.legal_basis,
        "levels": levels,
        "limits": limits,
        "delegated": delegated,
        "active": matter.active,
    }


def import_responsibilities(
    db: Session, data: bytes, *, filename: str = "", actor: Actor
) -> ImportResult:
    """Replace the responsibility list with the file's (all or nothing).

    Matters in the file are created or updated; active matters missing from it are
    deactivated (never deleted: cases refer to them). Importing the same file again changes
    nothing and records nothing.
    """
    rows = parse_responsibility_file(
        data, filename=filename, resolve_department=department_resolver(db)
    )
    result = ImportResult(version=hashlib.sha256(data).hexdigest())
    departments = {d.code: d for d in db.scalars(select(Department))}
    existing = {
        m.code: m
        for m in db.scalars(
            select(Matter).options(
                selectinload(Matter.parent),
                selectinload(Matter.responsibilities).selectinload(Responsibility.lead_department),
                selectinload(Matter.responsibilities).selectinload(Responsibility.co_handlers),
            )
        )
    }
    in_file = {row.code for row in rows}

    by_code: dict[str, Matter] = {}
    for row in rows:
        matter = existing.get(row.code)
        expected = {**row.fingerprint(), "active": True}
        if matter is not None and _matter_fingerprint(matter) == expected:
            result.unchanged += 1
            by_code[row.code] = matter
            continue
        if matter is None:
            matter = Matter(code=row.code, name=row.name, kind=row.kind.value, keywords=[])
            db.add(matter)
            result.created.append(row.code)
        else:
            result.updated.append(row.code)
        _apply_row(db, matter, row, departments)
        by_code[row.code] = matter
    db.flush()
    for row in rows:
        matter = by_code[row.code]
        parent = by_code[row.parent_code] if row.parent_code else None
        if matter.parent_id != (parent.id if parent else None):
            matter.parent_id = parent.id if parent else None
            if row.code not in result.created and row.code not in result.updated:
                result.updated.append(row.code)
    for code, matter in existing.items():
        if code not in in_file and matter.active:
            matter.active = False
            result.deactivated.append(code)
    db.flush()
    if result.changed:
        record(
            db,
            actor=actor,
            action="org.responsibility.import",
            object_type="responsibility_list",
            object_id=result.version[:16],
            new={
                "version": result.version,
                "filename": filename or None,
                "matters": len(rows),
                "created": result.created,
                "updated": result.updated,
                "deactivated": result.deactivated,
            },
        )
    return result


def _apply_row(
    db: Session, matter: Matter, row: MatterRow, departments: dict[str, Department]
) -> None:
    matter.name = row.name
    matter.kind = row.kind.value
    matter.keywords = row.keywords
    matter.description = row.description
    matter.legal_basis = row.legal_basis
    matter.active = True
    # Stamped even when only the rows below change: the cached list (org.queries) notices a
    # new version by its fingerprint, of which the matters' newest stamp is part.
    matter.updated_at = utcnow()
    # The matter's rows are replaced as a whole: a new version of the list is authoritative.
    # Delete the old rows before adding new ones, or (matter, level) would collide.
    if matter.responsibilities:
        matter.responsibilities.clear()
        db.flush()
    for level, spec in row.levels.items():
        if not spec.has_lead:
            continue
        assert row.dispatch_hours is not None and row.signoff_hours is not None
        assert row.handling_days is not None and row.feedback_days is not None
        matter.responsibilities.append(
            Responsibility(
                level=level.value,
                lead_department=departments[spec.lead_code] if spec.lead_code else None,
                lead_local=spec.lead_local,
                co_local=spec.co_local,
                co_handlers=[departments[c] for c in spec.co_codes],
                dispatch_hours=row.dispatch_hours,
                signoff_hours=row.signoff_hours,
                handling_days=row.handling_days,
                feedback_days=row.feedback_days,
                delegated=row.delegated,
            )
        )


# -- work calendar ------------------------------------------------------------------------


def set_calendar_override(
    db: Session,
    *,
    day: date,
    is_workday: bool,
    note: str = "",
    region_code: str | None = None,
    actor: Actor,
) -> CalendarOverride:
    """Declare ``day`` a workday or a day off (for the deployment, or one region subtree)."""
    if region_code is not None and (
        db.scalar(select(Region.code).where(Region.code == region_code)) is None
    ):
        raise Invalid(f"未知行政区划 / unknown region: {region_code}", code="unknown_region")
    override = db.scalar(
        select(CalendarOverride).where(
            CalendarOverride.day == day,
            CalendarOverride.region_code.is_(None)
            if region_code is None
            else CalendarOverride.region_code == region_code,
        )
    )
    new = {"day": day, "is_workday": is_workday, "note": note.strip(), "region_code": region_code}
    if override is None:
        override = CalendarOverride(**new)
        db.add(override)
        db.flush()
        record(
            db,
            actor=actor,
            action="org.calendar_override.create",
            object_type="calendar_override",
            object_id=override.id,
            new=new,
            region_code=region_code,
        )
        return override
    before = {
        "day": override.day,
        "is_workday": override.is_workday,
        "note": override.note,
        "region_code": override.region_code,
    }
    old_vals, new_vals = changes(before, new)
    if new_vals:
        override.is_workday = is_workday
        override.note = note.strip()
        db.flush()
        record(
            db,
            actor=actor,
            action="org.calendar_override.update",
            object_type="calendar_override",
            object_id=override.id,
            old=old_vals,
            new=new_vals,
            region_code=region_code,
        )
    return override


def delete_calendar_override(
    db: Session, override: CalendarOverride, *, reason: str | None = None, actor: Actor
) -> None:
    record(
        db,
        actor=actor,
        action="org.calendar_override.delete",
        object_type="calendar_override",
        object_id=override.id,
        old={
            "day": override.day,
            "is_workday": override.is_workday,
            "note": override.note,
            "region_code": override.region_code,
        },
        reason=reason,
        region_code=override.region_code,
    )
    db.delete(override)
    db.flush()


# -- demo organisation --------------------------------------------------------------------

DEMO_COUNTY = "330523000000"  # 安吉县, Zhejiang
DATA_DIR = Path(__file__).resolve().parent / "data"


def township_government_name(region_name: str) -> str:
    """街道 -> 街道办事处; 镇/乡 -> 人民政府 (the official names of the local government)."""
    return f"{region_name}办事处" if region_name.endswith("街道") else f"{region_name}人民政府"


@dataclass
class DemoOrganisation:
    departments_created: int
    import_result: ImportResult


def load_demo_organisation(
    db: Session, *, actor: Actor, county_code: str = DEMO_COUNTY
) -> DemoOrganisation:
    """The demo county's departments, its township governments (from the region table) and
    the responsibility list in ``data/``. Needs the county's regions (townships) loaded.
    Safe to run again: existing departments are kept and the list import is idempotent."""
    county = db.get(Region, county_code)
    if county is None:
        raise Invalid(
            f"请先导入行政区划 / load the regions first (missing {county_code})",
            code="regions_missing",
        )
    created = 0
    existing = set(db.scalars(select(Department.code)))
    if county_code == DEMO_COUNTY:
        with (DATA_DIR / "departments.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["code"] in existing:
                    continue
                create_department(
                    db,
                    code=row["code"],
                    name=row["name"],
                    short_name=row["short_name"],
                    kind=row["kind"],
                    level=row["level"],
                    region_code=row["region_code"],
                    actor=actor,
                )
                created += 1
    townships = db.scalars(
        select(Region)
        .where(Region.parent_code == county_code, Region.level == 4)
        .order_by(Region.code)
    )
    for township in townships:
        code = f"{township.code[:9]}-ZF"
        if code in existing:
            continue
        create_department(
            db,
            code=code,
            name=township_government_name(township.name),
            short_name=township.name,
            kind=DepartmentKind.TOWNSHIP,
            level=OrgLevel.TOWNSHIP,
            region_code=township.code,
            actor=actor,
        )
        created += 1
    data = (DATA_DIR / "responsibilities.csv").read_bytes()
    result = import_responsibilities(db, data, filename="responsibilities.csv", actor=actor)
    return DemoOrganisation(departments_created=created, import_result=result)
