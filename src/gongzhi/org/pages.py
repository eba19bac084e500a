"""Staff pages of the org domain: departments, the responsibility list, the work calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongzhi.errors import Forbidden, Invalid
from gongzhi.org import queries, services
from gongzhi.org.calendar import is_official_year, official_holiday_name, official_years
from gongzhi.org.models import DEPARTMENT_KIND_LABELS, MATTER_KIND_LABELS, ORG_LEVEL_LABELS
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.templating import render

router = APIRouter(tags=["org"], include_in_schema=False)

MAX_IMPORT_BYTES = 10 * 1024 * 1024


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": {k.value: v for k, v in DEPARTMENT_KIND_LABELS.items()},
        "level_labels": {k.value: v for k, v in ORG_LEVEL_LABELS.items()},
        "matter_kind_labels": {k.value: v for k, v in MATTER_KIND_LABELS.items()},
    }


@router.get("/org/departments", response_class=HTMLResponse)
def departments_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.DEPARTMENT_READ),
    include_inactive: bool = False,
) -> HTMLResponse:
    departments = queries.list_departments(
        db, scopes=queries.department_scopes(principal), include_inactive=include_inactive
    )
    return render(
        request,
        "org/departments.html",
        {"departments": departments, "include_inactive": include_inactive, **_labels()},
    )


def _department_context(db: DB, principal: Principal, code: str) -> dict[str, Any]:
    department = queries.access_department(db, principal, code)
    staff = queries.list_staff(
        db, scopes=principal.regions_for(Permission.STAFF_READ), department_code=code
    )
    head = next((profile for profile, _account in staff if profile.is_head), None)
    return {
        "department": department,
        "staff": staff,
        "head": head,
        "head_account": next((a for p, a in staff if p is head), None),
        "can_manage": principal.can(Permission.DEPARTMENT_MANAGE, department.region_code),
        **_labels(),
    }


@router.get("/org/departments/{code}", response_class=HTMLResponse)
def department_page(
    code: str,
    request: Request,
    db: DB,
    principal: Principal = require(Permission.DEPARTMENT_READ),
) -> HTMLResponse:
    return render(request, "org/department.html", _department_context(db, principal, code))


@router.post("/org/departments/{code}/head", response_model=None)
def department_head_set(
    code: str,
    request: Request,
    db: DB,
    staff: Annotated[str, Form()] = "",
    principal: Principal = require(Permission.DEPARTMENT_MANAGE),
) -> Response:
    """Name the department's head (one of its staff), or nobody with an empty choice."""
    department = queries.access_department(db, principal, code)
    if not principal.can(Permission.DEPARTMENT_MANAGE, department.region_code):
        raise Forbidden("超出你的辖区 / outside your jurisdiction", code="out_of_scope")
    try:
        profile = queries.access_staff(db, department, int(staff)) if staff.strip() else None
    except ValueError:
        raise Invalid("请选择本部门人员 / choose one of the department's staff") from None
    services.set_department_head(db, department, profile, actor=principal)
    return RedirectResponse(f"/org/departments/{department.code}", status_code=303)


def _responsibilities_context(db: DB, principal: Principal, q: str | None) -> dict[str, Any]:
    return {
        "matters": queries.list_matters(db, q=q),
        "q": q or "",
        "can_import": principal.can(Permission.RESPONSIBILITY_IMPORT),
        **_labels(),
    }


@router.get("/org/responsibilities", response_class=HTMLResponse)
def responsibilities_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.RESPONSIBILITY_READ),
    q: str | None = None,
) -> HTMLResponse:
    return render(request, "org/responsibilities.html", _responsibilities_context(db, principal, q))


@router.post("/org/responsibilities/import", response_class=HTMLResponse)
async def responsibilities_import(
    request: Request,
    db: DB,
    file: Annotated[UploadFile, File()],
    principal: Principal = require(Permission.RESPONSIBILITY_IMPORT),
) -> HTMLResponse:
    data = await file.read(MAX_IMPORT_BYTES + 1)
    context: dict[str, Any]
    try:
        if len(data) > MAX_IMPORT_BYTES:
            raise Invalid("文件过大（最大 10 MB）/ file too large (10 MB max)")
        result = services.import_responsibilities(
            db, data, filename=file.filename or "", actor=principal
        )
    except Invalid as exc:
        # Nothing was written (the service validates everything before changing anything).
        context = _responsibilities_context(db, principal, None)
        context.update(import_error=exc.message, import_report=exc.details or [])
        return render(request, "org/responsibilities.html", context, status_code=422)
    context = _responsibilities_context(db, principal, None)
    context["import_result"] = result
    return render(request, "org/responsibilities.html", context)


@router.get("/org/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CALENDAR_READ),
    year: int | None = None,
    start: str | None = None,
    hours: float | None = None,
) -> HTMLResponse:
    tz = ZoneInfo(request.app.state.settings.timezone)
    today = datetime.now(tz).date()
    year = year or today.year
    if not 1990 <= year <= 2100:
        raise Invalid("年份无效 / bad year")
    calendar = queries.calendar_for(db, request.app.state.settings)
    holidays = []
    if is_official_year(year):
        day = date(year, 1, 1)
        while day.year == year:
            name = official_holiday_name(day)
            if name or (day.weekday() >= 5 and calendar.is_workday(day)):
                holidays.append({"day": day, "name": name, "workday": calendar.is_workday(day)})
            day = date.fromordinal(day.toordinal() + 1)
    computed = None
    if start and hours is not None:
        try:
            begin = datetime.fromisoformat(start)
        except ValueError:
            raise Invalid("开始时间格式应为 2026-10-09T09:00 / bad start time") from None
        if begin.tzinfo is None:
            begin = begin.replace(tzinfo=tz)
        if hours < 0 or hours > 10000:
            raise Invalid("小时数无效 / bad number of hours")
        due = calendar.add_working_hours(begin, hours)
        computed = {
            "start": begin,
            "hours": hours,
            "due": due.astimezone(tz),
            "official": all(is_official_year(y) for y in range(begin.year, due.year + 1)),
        }
    return render(
        request,
        "org/calendar.html",
        {
            "year": year,
            "official": is_official_year(year),
            "official_years": official_years(),
            "overrides": queries.list_calendar_overrides(db, year=year),
            "holidays": holidays,
            "can_manage": principal.can(Permission.CALENDAR_MANAGE),
            "computed": computed,
            "start": start or "",
            "hours": hours if hours is not None else "",
        },
    )


@router.post("/org/calendar/overrides")
def calendar_override_create(
    db: DB,
    day: Annotated[date, Form()],
    is_workday: Annotated[bool, Form()],
    note: Annotated[str, Form(max_length=200)] = "",
    principal: Principal = require(Permission.CALENDAR_MANAGE),
) -> Response:
    services.set_calendar_override(db, day=day, is_workday=is_workday, note=note, actor=principal)
    return RedirectResponse(f"/org/calendar?year={day.year}", status_code=303)


@router.post("/org/calendar/overrides/{override_id}/delete")
def calendar_override_delete(
    override_id: int,
    db: DB,
    principal: Principal = require(Permission.CALENDAR_MANAGE),
) -> Response:
    override = queries.get_calendar_override(db, override_id)
    year = override.day.year
    services.delete_calendar_override(db, override, actor=principal)
    return RedirectResponse(f"/org/calendar?year={year}", status_code=303)
