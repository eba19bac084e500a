"""JSON API of the org domain: ``/api/v1/org/...``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile

from gongzhi.errors import Forbidden, Invalid, NotFound
from gongzhi.org import queries, services
from gongzhi.org.calendar import WorkCalendar, is_official_year, official_holiday_name
from gongzhi.org.schemas import (
    CalendarAddOut,
    CalendarDayOut,
    DepartmentCreate,
    DepartmentOut,
    DepartmentRef,
    DepartmentUpdate,
    ImportOut,
    LeadOut,
    MatterOut,
    OverrideIn,
    OverrideOut,
    StaffOut,
)
from gongzhi.regions.codes import is_valid_code
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

router = APIRouter(prefix="/api/v1/org", tags=["org"])

MAX_IMPORT_BYTES = 10 * 1024 * 1024
NO_OFFICIAL_DATA = (
    "该时段包含尚无国务院放假安排的年份，按周末和本地调整计算 / "
    "no official holiday schedule for part of this period; weekends and local overrides only"
)


def _check_scope(principal: Principal, permission: Permission, region_code: str | None) -> None:
    if region_code is not None and not principal.can(permission, region_code):
        raise Forbidden("超出你的辖区 / outside your jurisdiction", code="out_of_scope")


def _region_param(code: str | None) -> str | None:
    """A region code given in the query, refused (422) unless it is a division code."""
    if code is not None and not is_valid_code(code):
        raise Invalid(f"无效的区划代码 / invalid region code {code[:20]!r}", code="invalid_region")
    return code


# -- departments --------------------------------------------------------------------------


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(
    db: DB,
    principal: Principal = require(Permission.DEPARTMENT_READ),
    region: str | None = None,
    kind: str | None = None,
    include_inactive: bool = False,
) -> list[DepartmentOut]:
    departments = queries.list_departments(
        db,
        scopes=queries.department_scopes(principal),
        region_code=_region_param(region),
        kind=kind,
        include_inactive=include_inactive,
    )
    return [DepartmentOut.of(d) for d in departments]


@router.get("/departments/{code}", response_model=DepartmentOut)
def get_department(
    code: str, db: DB, principal: Principal = require(Permission.DEPARTMENT_READ)
) -> DepartmentOut:
    return DepartmentOut.of(queries.access_department(db, principal, code))


@router.post("/departments", response_model=DepartmentOut, status_code=201)
def create_department(
    body: DepartmentCreate, db: DB, principal: Principal = require(Permission.DEPARTMENT_MANAGE)
) -> DepartmentOut:
    _check_scope(principal, Permission.DEPARTMENT_MANAGE, body.region_code)
    department = services.create_department(db, actor=principal, **body.model_dump())
    return DepartmentOut.of(department)


@router.patch("/departments/{code}", response_model=DepartmentOut)
def update_department(
    code: str,
    body: DepartmentUpdate,
    db: DB,
    principal: Principal = require(Permission.DEPARTMENT_MANAGE),
) -> DepartmentOut:
    department = queries.access_department(db, principal, code)
    _check_scope(principal, Permission.DEPARTMENT_MANAGE, department.region_code)
    fields = body.model_dump(exclude_unset=True)
    department = services.update_department(db, department, actor=principal, **fields)
    return DepartmentOut.of(department)


@router.post("/departments/{code}/deactivate", response_model=DepartmentOut)
def deactivate_department(
    code: str,
    db: DB,
    principal: Principal = require(Permission.DEPARTMENT_MANAGE),
    reason: str | None = None,
) -> DepartmentOut:
    department = queries.access_department(db, principal, code)
    _check_scope(principal, Permission.DEPARTMENT_MANAGE, department.region_code)
    return DepartmentOut.of(
        services.deactivate_department(db, department, reason=reason, actor=principal)
    )


@router.get("/staff", response_model=list[StaffOut])
def list_staff(
    db: DB,
    principal: Principal = require(Permission.STAFF_READ),
    department: str | None = None,
) -> list[StaffOut]:
    rows = queries.list_staff(
        db, scopes=principal.regions_for(Permission.STAFF_READ), department_code=department
    )
    return [
        StaffOut(
            account_id=account.id,
            username=account.username,
            display_name=account.display_name,
            department=DepartmentRef.of(profile.department),
            title=profile.title,
            active=account.active,
        )
        for profile, account in rows
    ]


# -- responsibility list ------------------------------------------------------------------


@router.get("/matters", response_model=list[MatterOut])
def list_matters(
    db: DB,
    principal: Principal = require(Permission.RESPONSIBILITY_READ),
    q: str | None = None,
    include_inactive: bool = False,
) -> list[MatterOut]:
    return [
        MatterOut.of(m) for m in queries.list_matters(db, q=q, include_inactive=include_inactive)
    ]


@router.get("/matters/{code}", response_model=MatterOut)
def get_matter(
    code: str, db: DB, principal: Principal = require(Permission.RESPONSIBILITY_READ)
) -> MatterOut:
    return MatterOut.of(queries.get_matter(db, code))


@router.get("/responsibilities/export.csv", response_class=Response)
def export_responsibilities(
    db: DB, principal: Principal = require(Permission.RESPONSIBILITY_READ)
) -> Response:
    """The active list as CSV in the import format (UTF-8 with BOM, for spreadsheets)."""
    body = "\ufeff" + queries.export_responsibilities(db)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="responsibilities.csv"'},
    )


@router.get("/lead", response_model=LeadOut)
def lead_for(
    db: DB,
    matter: str,
    region: str,
    principal: Principal = require(Permission.RESPONSIBILITY_READ),
) -> LeadOut:
    """The lead department (and co-handlers) for a matter in a region. ``ambiguous`` true
    with several leads means the list does not decide: send the case to triage."""
    _region_param(region)
    lead = queries.lead_for(db, matter, region)
    if lead is None:
        raise NotFound("没有找到牵头部门 / no lead department found", code="no_lead")
    return LeadOut.of(lead, region)


@router.post("/responsibilities/import", response_model=ImportOut)
async def import_responsibilities(
    db: DB,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/GBK/GB18030) or XLSX")],
    principal: Principal = require(Permission.RESPONSIBILITY_IMPORT),
) -> ImportOut:
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid("文件过大 / file too large (10 MB max)", code="file_too_large")
    result = services.import_responsibilities(
        db, data, filename=file.filename or "", actor=principal
    )
    return ImportOut(
        version=result.version,
        created=result.created,
        updated=result.updated,
        deactivated=result.deactivated,
        unchanged=result.unchanged,
    )


# -- work calendar ------------------------------------------------------------------------


def _aware(moment: datetime, request: Request) -> datetime:
    """A moment without a zone is read as the deployment's local time (Asia/Shanghai)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(request.app.state.settings.timezone))
    return moment


def _calendar(request: Request, db: DB, region: str | None) -> WorkCalendar:
    return queries.calendar_for(db, request.app.state.settings, _region_param(region))


@router.get("/calendar/add", response_model=CalendarAddOut)
def calendar_add(
    request: Request,
    db: DB,
    start: datetime,
    principal: Principal = require(Permission.CALENDAR_READ),
    hours: Annotated[float | None, Query(ge=0, le=10000)] = None,
    days: Annotated[int | None, Query(ge=0, le=1000)] = None,
    region: str | None = None,
) -> CalendarAddOut:
    """The moment ``hours`` office hours (or ``days`` working days) after ``start``."""
    if (hours is None) == (days is None):
        raise Invalid("请给出 hours 或 days 之一 / give exactly one of hours or days")
    calendar = _calendar(request, db, region)
    begin = _aware(start, request)
    if hours is not None:
        due = calendar.add_working_hours(begin, hours)
    else:
        assert days is not None
        due = calendar.add_working_days(begin, days)
    official = all(is_official_year(y) for y in range(begin.astimezone(UTC).year, due.year + 1))
    return CalendarAddOut(
        start=begin.astimezone(UTC),
        hours=hours,
        days=days,
        due=due,
        official=official,
        warning=None if official else NO_OFFICIAL_DATA,
    )


@router.get("/calendar/days", response_model=list[CalendarDayOut])
def calendar_days(
    request: Request,
    db: DB,
    start: date,
    principal: Principal = require(Permission.CALENDAR_READ),
    end: date | None = None,
    region: str | None = None,
) -> list[CalendarDayOut]:
    """Each day from ``start`` to ``end`` (at most 366 days): workday or not, and why."""
    end = end or start
    if end < start or (end - start).days > 366:
        raise Invalid("日期范围无效（最多 366 天）/ bad date range (366 days max)")
    calendar = _calendar(request, db, region)
    out = []
    day = start
    while day <= end:
        out.append(
            CalendarDayOut(
                day=day,
                is_workday=calendar.is_workday(day),
                official=is_official_year(day.year),
                holiday=official_holiday_name(day),
                override=day in calendar.overrides,
            )
        )
        day += timedelta(days=1)
    return out


@router.get("/calendar/overrides", response_model=list[OverrideOut])
def list_overrides(
    db: DB,
    principal: Principal = require(Permission.CALENDAR_READ),
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> list[OverrideOut]:
    return [OverrideOut.of(o) for o in queries.list_calendar_overrides(db, year=year)]


@router.put("/calendar/overrides/{day}", response_model=OverrideOut)
def put_override(
    day: date,
    body: OverrideIn,
    db: DB,
    principal: Principal = require(Permission.CALENDAR_MANAGE),
) -> OverrideOut:
    _check_scope(principal, Permission.CALENDAR_MANAGE, body.region_code)
    override = services.set_calendar_override(
        db,
        day=day,
        is_workday=body.is_workday,
        note=body.note,
        region_code=body.region_code,
        actor=principal,
    )
    return OverrideOut.of(override)


@router.delete("/calendar/overrides/{override_id}", status_code=204)
def delete_override(
    override_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    db: DB,
    principal: Principal = require(Permission.CALENDAR_MANAGE),
    reason: str | None = None,
) -> None:
    override = queries.get_calendar_override(db, override_id)
    _check_scope(principal, Permission.CALENDAR_MANAGE, override.region_code)
    services.delete_calendar_override(db, override, reason=reason, actor=principal)
