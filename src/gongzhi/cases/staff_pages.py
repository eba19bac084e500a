"""Staff pages of case handling: the hotline operator's console, the dispatcher's triage
queue, a department's inbox, the grid worker's list, the overdue list and a case's detail;
duplicates (suggested in triage and on the case page, merge and unmerge) and 吹哨报到
(summon departments from the case page, check in from the inbox, the per-department stats).

Every action is a plain form POST (with the session's CSRF token) that redirects back, so the
pages work without JavaScript; htmx only refreshes the console's address and category hints.
State changes go through ``gongzhi.cases.services`` (and ``duplicates`` / ``summons``); scope
through ``queries.access_case``. The long lists come a page (``queries.PAGE_SIZE``) at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from gongzhi.cases import duplicates, queries, services, staff_views, summons
from gongzhi.cases.api import require_any
from gongzhi.cases.clocks import ClockState, clock_state
from gongzhi.cases.models import (
    Case,
    CaseExtension,
    CaseStatus,
    Channel,
    ExtensionStatus,
    Outcome,
    Priority,
    ReturnReason,
)
from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.org.models import Department, Matter
from gongzhi.org.queries import list_departments
from gongzhi.privacy.queries import contact_view
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import N_, translator
from gongzhi.web.prefs import safe_next
from gongzhi.web.queries import region_labels
from gongzhi.web.templating import render


class CaseNumberConvertor(Convertor[str]):
    """Case numbers only (AJ-20261128-0007), so ``/cases/{number}`` never shadows other
    pages under ``/cases/`` mounted after this router."""

    regex = r"[A-Za-z0-9]+-[0-9]{8}-[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("case_number", CaseNumberConvertor())

router = APIRouter(tags=["cases"], include_in_schema=False)

CASE = "/cases/{number:case_number}"

STATUS_LABELS = {
    CaseStatus.TRIAGE: N_("待分拨"),
    CaseStatus.DISPATCHED: N_("已派遣"),
    CaseStatus.ACCEPTED: N_("已签收"),
    CaseStatus.FEEDBACK: N_("已反馈"),
    CaseStatus.CLOSED: N_("已结案"),
}
OUTCOME_LABELS = {
    Outcome.RESOLVED: N_("已解决"),
    Outcome.NOT_OURS: N_("不属于本平台受理范围"),
    Outcome.NO_ACTION_POSSIBLE: N_("无法办理"),
    Outcome.DUPLICATE: N_("重复件"),
    Outcome.WITHDRAWN: N_("已撤回"),
}
PRIORITY_LABELS = {
    Priority.EMERGENCY: N_("紧急"),
    Priority.UTILITIES: N_("水电气热"),
    Priority.ORDINARY: N_("一般"),
    Priority.COMPLEX: N_("疑难复杂"),
}
CHANNEL_LABELS = {
    Channel.WEB: N_("网站"),
    Channel.HOTLINE: N_("热线"),
    Channel.GRID: N_("网格巡查"),
    Channel.API: N_("应用接口"),
    Channel.OPEN311: N_("Open311"),
}
TRIAGE_LABELS = {
    "no_category": N_("未能确定事项类别"),
    "no_region": N_("未能确定地点"),
    "no_lead": N_("权责清单中没有牵头部门"),
    "collision": N_("多个部门都可牵头"),
    "returned": N_("被部门退回"),
    "reopened": N_("市民要求重办"),
}
RETURN_LABELS = {
    ReturnReason.NOT_OUR_DUTY: N_("不属于本部门职责"),
    ReturnReason.WRONG_REGION: N_("不在本部门辖区"),
    ReturnReason.INSUFFICIENT_INFO: N_("信息不足"),
    ReturnReason.DUPLICATE: N_("重复件"),
    ReturnReason.OTHER: N_("其他"),
}
CLOCK_LABELS = {
    "dispatch": N_("分拨时限"),
    "accept": N_("签收时限"),
    "handle": N_("办理时限"),
    "feedback": N_("反馈时限"),
}
EVENT_LABELS = {
    "submitted": N_("受理"),
    "dispatched": N_("派遣"),
    "accepted": N_("签收"),
    "returned": N_("退单"),
    "feedback": N_("反馈"),
    "verified": N_("核查通过"),
    "rework": N_("核查未通过，返工"),
    "closed": N_("结案"),
    "rated": N_("评价"),
    "reopened": N_("重办"),
    "extension_requested": N_("申请延期"),
    "extension_approved": N_("同意延期"),
    "extension_refused": N_("不同意延期"),
    "paused": N_("等待市民"),
    "resumed": N_("恢复计时"),
    "deadline_warning": N_("临期提醒"),
    "escalated": N_("督办"),
    "merged": N_("作为重复件合并"),
    "unmerged": N_("撤销合并"),
    "duplicate_merged": N_("并入重复件"),
    "duplicate_unmerged": N_("重复件撤销合并"),
    "supported": N_("市民附议"),
    "summoned": N_("吹哨召集部门"),
    "checked_in": N_("部门报到"),
}
# Closing outcomes the dispatcher may choose; resolved needs the handler's feedback first.
CLOSE_OUTCOMES = (
    Outcome.RESOLVED,
    Outcome.NOT_OURS,
    Outcome.NO_ACTION_POSSIBLE,
    Outcome.DUPLICATE,
    Outcome.WITHDRAWN,
)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(_settings(request).timezone)


def _back(next_: str | None, number: str | None = None, notice: str | None = None) -> Response:
    default = f"/cases/{number}" if number else "/staff"
    target = safe_next(next_, default)
    if notice:
        # A fixed key only: the page maps it to its own words (staff_views.NOTICES).
        target += ("&" if "?" in target else "?") + urlencode({"notice": notice})
    return RedirectResponse(target, status_code=303)


def _here(path: str, page: queries.Page[Any]) -> str:
    """Where a list's forms return to: the same page of the list."""
    return f"{path}?page={page.number}" if page.number > 1 else path


def _remaining(seconds: int) -> tuple[int, int]:
    minutes = abs(seconds) // 60
    return minutes // 60, minutes % 60


@dataclass
class ClockView:
    kind: str
    label: str
    state: ClockState
    hours: int
    minutes: int


def _clock_views(request: Request, db: Session, case: Case) -> list[ClockView]:
    _ = translator(request)
    calendar = services.work_calendar(db, case, _settings(request))
    states = clock_state(case, utcnow(), calendar)
    order = ("dispatch", "accept", "handle", "feedback")
    views = []
    for kind in sorted(states, key=lambda k: order.index(k) if k in order else 9):
        st = states[kind]
        hours, minutes = _remaining(st.remaining_seconds)
        views.append(ClockView(kind, _(CLOCK_LABELS.get(kind, kind)), st, hours, minutes))
    return views


def _matter_names(db: Session) -> dict[str, str]:
    return dict(db.execute(select(Matter.code, Matter.name).where(Matter.active.is_(True))).all())


def _suggestions(case: Case) -> list[dict[str, Any]]:
    for event in case.events:
        if event.kind == "submitted":
            return list((event.data or {}).get("suggestions") or [])
    return []


def _row(request: Request, db: Session, case: Case, **extra: Any) -> dict[str, Any]:
    return {
        "case": case,
        "clocks": _clock_views(request, db, case),
        "lead": queries.lead_department_name(db, case),
        **extra,
    }


def _labels(request: Request) -> dict[str, Any]:
    _ = translator(request)
    return {
        "status_labels": {k.value: _(v) for k, v in STATUS_LABELS.items()},
        "outcome_labels": {k.value: _(v) for k, v in OUTCOME_LABELS.items()},
        "priority_labels": {k.value: _(v) for k, v in PRIORITY_LABELS.items()},
        "channel_labels": {k.value: _(v) for k, v in CHANNEL_LABELS.items()},
        "triage_labels": {k: _(v) for k, v in TRIAGE_LABELS.items()},
        "return_labels": {k.value: _(v) for k, v in RETURN_LABELS.items()},
        "event_labels": {k: _(v) for k, v in EVENT_LABELS.items()},
        "close_outcomes": [o.value for o in CLOSE_OUTCOMES],
    }


def _page(request: Request, template: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    ctx = {**_labels(request), "notice": staff_views.notice(request), **ctx}
    return render(request, template, ctx, status_code=status)


def _region_names(db: Session, cases: list[Case]) -> dict[str, str]:
    return region_labels(db, (c.region_code for c in cases if c.region_code))


def _opt(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _in_scope(principal: Principal, permission: Permission, case: Case) -> None:
    from gongzhi.cases.api import _in_scope as api_in_scope

    api_in_scope(principal, permission, case)


# -- hotline console ---------------------------------------------------------------------------


def _preview(
    db: Session, request: Request, description: str, address: str, matter_code: str = ""
) -> dict[str, Any]:
    """What the operator reads back to the caller: the place the address names and the
    categories the classifier suggests."""
    from gongzhi.regions.resolver import get_resolver

    resolution = None
    if address.strip():
        try:
            resolver = get_resolver(db, home_region=_settings(request).home_region)
            resolution = resolver.resolve(address).to_json()
        except Exception:  # a hint only: the intake resolves again and never fails on it
            resolution = None
    suggestions: list[dict[str, Any]] = []
    if description.strip():
        try:
            from gongzhi.cases import classify

            with db.begin_nested():
                found = classify.suggest(db, description, limit=3)
            names = _matter_names(db)
            suggestions = [
                {
                    "code": s.matter_code,
                    "name": names.get(s.matter_code, s.matter_code),
                    "score": round(float(s.score) * 100),
                }
                for s in found
            ]
        except Exception:  # the classifier must not block the console
            suggestions = []
    return {
        "resolution": resolution,
        "suggestions": suggestions,
        "suggested": {s["code"] for s in suggestions},
        "matters": sorted(_matter_names(db).items()),
        "matter_code": matter_code,
    }


def _console_context(
    request: Request, db: Session, description: str = "", address: str = "", **extra: Any
) -> dict[str, Any]:
    return {
        "form": {"description": description, "address": address, **extra.pop("form", {})},
        "priorities": [p.value for p in Priority],
        **_preview(db, request, description, address, extra.pop("matter_code", "")),
        **extra,
    }


@router.get("/cases/console", response_class=HTMLResponse)
def console_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_TAKE_CALL),
    description: str = "",
    address: str = "",
    matter_code: str = "",
) -> HTMLResponse:
    ctx = _console_context(request, db, description, address, matter_code=matter_code)
    return _page(request, "cases/staff_console.html", ctx)


@router.get("/cases/console/preview", response_class=HTMLResponse)
def console_preview(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_TAKE_CALL),
    description: str = "",
    address: str = "",
    matter_code: str = "",
) -> HTMLResponse:
    ctx = _preview(db, request, description, address, matter_code)
    return _page(request, "cases/staff_console_preview.html", ctx)


@router.post("/cases/console", response_class=HTMLResponse)
def console_submit(
    request: Request,
    db: DB,
    description: Annotated[str, Form(max_length=4000)],
    contact_name: Annotated[str, Form(max_length=100)] = "",
    contact_phone: Annotated[str, Form(max_length=40)] = "",
    address: Annotated[str, Form(max_length=400)] = "",
    matter_code: Annotated[str, Form(max_length=40)] = "",
    priority: Annotated[str, Form(max_length=16)] = "",
    anonymous: Annotated[bool, Form()] = False,
    principal: Principal = require(Permission.CASE_TAKE_CALL),
) -> HTMLResponse:
    try:
        case = services.submit_case(
            db,
            channel=Channel.HOTLINE,
            description=description,
            actor=principal,
            # The caller is not the operator: the case belongs to the contact given.
            reporter_account_id=None,
            contact_name=_opt(contact_name),
            contact_phone=_opt(contact_phone),
            anonymous=anonymous,
            address_text=_opt(address),
            matter_code=_opt(matter_code),
            priority=Priority(priority) if priority else None,
            settings=_settings(request),
        )
    except (Invalid, ValueError) as exc:
        ctx = _console_context(
            request,
            db,
            description,
            address,
            form={"contact_name": contact_name, "contact_phone": contact_phone},
            matter_code=matter_code,
            error=getattr(exc, "message", str(exc)),
        )
        return _page(request, "cases/staff_console.html", ctx, status=422)
    return _page(
        request,
        "cases/staff_receipt.html",
        {"case": case, "lead": queries.lead_department_name(db, case)},
    )


# -- triage queue ------------------------------------------------------------------------------


def _departments(db: Session) -> list[Department]:
    return list_departments(db)


def _pending_extensions(db: Session, principal: Principal) -> list[tuple[Case, CaseExtension]]:
    stmt = (
        select(Case, CaseExtension)
        .join(CaseExtension, CaseExtension.case_id == Case.id)
        .where(
            CaseExtension.status == ExtensionStatus.PENDING.value,
            queries.scope_filter(db, principal),
        )
        .order_by(CaseExtension.requested_at)
    )
    return [(c, e) for c, e in db.execute(stmt)]


@router.get("/cases/triage", response_class=HTMLResponse)
def triage_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_TRIAGE),
    page: str = "1",
) -> HTMLResponse:
    listing = queries.triage_page(db, principal, queries.page_number(page))
    cases = listing.items
    names = _matter_names(db)
    rows = [
        _row(
            request,
            db,
            c,
            suggestions=[
                {**s, "name": names.get(s["matter_code"], s["matter_code"])}
                for s in _suggestions(c)
            ],
            duplicates=staff_views.duplicate_suggestions(request, db, principal, c),
        )
        for c in cases
    ]
    return _page(
        request,
        "cases/staff_triage.html",
        {
            "rows": rows,
            "listing": listing,
            "back": _here("/cases/triage", listing),
            "can_merge": principal.can(Permission.CASE_MERGE),
            "regions": _region_names(db, cases),
            "departments": _departments(db),
            "matters": sorted(names.items()),
            "extensions": _pending_extensions(db, principal),
            "priorities": [p.value for p in Priority],
        },
    )


@router.post(CASE + "/dispatch")
def dispatch(
    request: Request,
    db: DB,
    number: str,
    department: Annotated[str, Form(max_length=40)],
    co_handlers: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    matter_code: Annotated[str, Form(max_length=40)] = "",
    priority: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_TRIAGE),
) -> Response:
    case = queries.access_case(db, principal, number)
    _in_scope(principal, Permission.CASE_TRIAGE, case)
    services.dispatch_case(
        db,
        case,
        to=department,
        co_handlers=[c for c in co_handlers if c and c != department],
        matter_code=_opt(matter_code),
        priority=Priority(priority) if priority else None,
        note=_opt(note),
        actor=principal,
        settings=_settings(request),
    )
    return _back(next, number)


@router.post(CASE + "/close")
def close(
    db: DB,
    number: str,
    outcome: Annotated[str, Form(max_length=24)],
    note: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_TRIAGE),
) -> Response:
    case = queries.access_case(db, principal, number)
    _in_scope(principal, Permission.CASE_TRIAGE, case)
    services.close_case(db, case, outcome=outcome, note=_opt(note), actor=principal)
    return _back(next, number)


@router.post(CASE + "/extension/decision")
def decide_extension(
    db: DB,
    number: str,
    approve: Annotated[bool, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_TRIAGE),
) -> Response:
    case = queries.access_case(db, principal, number)
    _in_scope(principal, Permission.CASE_TRIAGE, case)
    services.decide_extension(db, case, approve=approve, note=_opt(note), actor=principal)
    return _back(next, number)


# -- department inbox --------------------------------------------------------------------------


def _inbox(
    request: Request,
    db: Session,
    principal: Principal,
    message: str | None = None,
    status: int = 200,
    page: int = 1,
) -> HTMLResponse:
    department_id = queries.staff_department_id(db, principal.account_id)
    if department_id is None:
        listing: queries.Page[Case] = queries.page_of([], page)
        pending: list[dict[str, Any]] = []
    else:
        listing = queries.inbox_page(db, department_id, page)
        pending = staff_views.pending_summons(request, db, department_id, utcnow())
    cases = listing.items
    department = db.get(Department, department_id) if department_id is not None else None
    rows = [_row(request, db, c, is_lead=c.lead_department_id == department_id) for c in cases]
    return _page(
        request,
        "cases/staff_inbox.html",
        {
            "rows": rows,
            "listing": listing,
            "back": _here("/cases/inbox", listing),
            "summons": pending,
            "can_check_in": principal.can(Permission.CASE_CHECK_IN),
            "department": department,
            "regions": _region_names(db, cases),
            "message": message,
        },
        status=status,
    )


@router.get("/cases/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_HANDLE),
    page: str = "1",
) -> HTMLResponse:
    return _inbox(request, db, principal, page=queries.page_number(page))


@router.post(CASE + "/accept", response_model=None)
def accept(
    request: Request,
    db: DB,
    number: str,
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_HANDLE),
) -> Response:
    case = queries.access_case(db, principal, number)
    try:
        services.accept_case(db, case, actor=principal, settings=_settings(request))
    except Conflict:
        # Two handlers pressed 签收 together, or the page was stale: say who won plainly.
        _ = translator(request)
        message = _("案件 %(number)s 已被他人签收，无需重复签收。", number=number)
        return _inbox(request, db, principal, message=message, status=409)
    return _back(next, number)


@router.post(CASE + "/return")
def return_(
    request: Request,
    db: DB,
    number: str,
    reason: Annotated[str, Form(max_length=24)],
    note: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_HANDLE),
) -> Response:
    case = queries.access_case(db, principal, number)
    try:
        code = ReturnReason(reason)
    except ValueError:
        raise Invalid("未知退单原因 / unknown reason", code="invalid_reason") from None
    services.return_case(
        db, case, reason_code=code, note=_opt(note), actor=principal, settings=_settings(request)
    )
    return _back(next, number)


@router.post(CASE + "/feedback")
def feedback(
    db: DB,
    number: str,
    note: Annotated[str, Form(max_length=4000)],
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_HANDLE),
) -> Response:
    case = queries.access_case(db, principal, number)
    services.give_feedback(db, case, note=note, actor=principal)
    return _back(next, number)


_LOCAL_DT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$")


@router.post(CASE + "/extension")
def request_extension(
    request: Request,
    db: DB,
    number: str,
    due_at: Annotated[str, Form(max_length=25)],
    reason: Annotated[str, Form(max_length=2000)],
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_HANDLE),
) -> Response:
    case = queries.access_case(db, principal, number)
    text = due_at.strip()
    if not _LOCAL_DT.match(text):
        raise Invalid("期限格式应为 2026-12-01T17:00 / bad deadline", code="invalid_due_at")
    if "T" not in text:
        text += "T17:00"  # a day alone means the close of office that day
    # The form speaks local time (Asia/Shanghai); the service wants an aware moment.
    local = datetime.fromisoformat(text).replace(tzinfo=_tz(request))
    services.request_extension(db, case, new_due_at=local, reason=reason, actor=principal)
    return _back(next, number)


# -- grid worker -------------------------------------------------------------------------------


def _grid_cases(db: Session, principal: Principal, page: int = 1) -> queries.Page[Case]:
    """Cases in the worker's grid/village waiting for on-site verification, oldest first."""
    scopes = principal.regions_for(Permission.CASE_VERIFY)
    if not scopes:
        return queries.page_of([], page)
    stmt = (
        select(Case)
        .where(Case.status == CaseStatus.FEEDBACK.value, queries.region_in(scopes))
        .order_by(Case.updated_at, Case.id)
        .limit(queries.PAGE_SIZE + 1)
        .offset((page - 1) * queries.PAGE_SIZE)
    )
    return queries.page_of(list(db.scalars(stmt)), page)


def _feedback_note(case: Case) -> str | None:
    for event in reversed(case.events):
        if event.kind == "feedback":
            return event.note
    return None


@router.get("/cases/grid", response_class=HTMLResponse)
def grid_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_VERIFY),
    page: str = "1",
) -> HTMLResponse:
    listing = _grid_cases(db, principal, queries.page_number(page))
    cases = listing.items
    rows = [_row(request, db, c, feedback_note=_feedback_note(c)) for c in cases]
    return _page(
        request,
        "cases/staff_grid.html",
        {
            "rows": rows,
            "listing": listing,
            "back": _here("/cases/grid", listing),
            "regions": _region_names(db, cases),
            "reported": None,
        },
    )


@router.post(CASE + "/verify")
def verify(
    request: Request,
    db: DB,
    number: str,
    passed: Annotated[bool, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_VERIFY),
) -> Response:
    case = queries.access_case(db, principal, number)
    _in_scope(principal, Permission.CASE_VERIFY, case)
    services.verify_case(
        db, case, passed=passed, note=_opt(note), actor=principal, settings=_settings(request)
    )
    return _back(next, number)


@router.post("/cases/grid/report", response_class=HTMLResponse)
def grid_report(
    request: Request,
    db: DB,
    description: Annotated[str, Form(max_length=4000)],
    address: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_VERIFY),
) -> HTMLResponse:
    case = services.submit_case(
        db,
        channel=Channel.GRID,
        description=description,
        actor=principal,
        reporter_account_id=principal.account_id,
        address_text=_opt(address),
        settings=_settings(request),
    )
    return _page(
        request,
        "cases/staff_receipt.html",
        {"case": case, "lead": queries.lead_department_name(db, case), "back": "/cases/grid"},
    )


# -- overdue and detail ------------------------------------------------------------------------


@router.get("/cases/overdue", response_class=HTMLResponse)
def overdue_page(
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_INDICATORS, Permission.CASE_TRIAGE),
    page: str = "1",
) -> HTMLResponse:
    _ = translator(request)
    listing = queries.overdue_page(db, principal, utcnow(), queries.page_number(page))
    rows = [
        {
            "case": case,
            "lead": queries.lead_department_name(db, case),
            "clocks": [{"label": _(CLOCK_LABELS.get(c.kind, c.kind)), "clock": c} for c in clocks],
        }
        for case, clocks in listing.items
    ]
    cases = [case for case, _clocks in listing.items]
    return _page(
        request,
        "cases/staff_overdue.html",
        {"rows": rows, "listing": listing, "regions": _region_names(db, cases)},
    )


@router.get(CASE, response_class=HTMLResponse)
def case_page(
    request: Request,
    db: DB,
    number: str,
    principal: Principal = require(Permission.CASE_READ),
) -> HTMLResponse:
    case = queries.access_case(db, principal, number)
    department_id = queries.staff_department_id(db, principal.account_id)
    departments = {
        d.id: d
        for d in db.scalars(
            select(Department).where(
                Department.id.in_([a.department_id for a in case.assignments] or [0])
            )
        )
    }
    pending = db.scalar(
        select(CaseExtension).where(
            CaseExtension.case_id == case.id,
            CaseExtension.status == ExtensionStatus.PENDING.value,
        )
    )
    names = _matter_names(db)
    is_lead = department_id is not None and case.lead_department_id == department_id
    region_ok = case.region_code is None
    can = {
        "triage": principal.can(Permission.CASE_TRIAGE)
        and (region_ok or principal.can(Permission.CASE_TRIAGE, case.region_code or "")),
        "handle": principal.can(Permission.CASE_HANDLE) and is_lead,
        "verify": principal.can(Permission.CASE_VERIFY)
        and case.region_code is not None
        and queries.in_reach(principal, Permission.CASE_VERIFY, case.region_code),
        "merge": staff_views.may_merge(principal, case),
        "summon": staff_views.may_summon(principal, case),
    }
    return _page(
        request,
        "cases/staff_case.html",
        {
            "case": case,
            "lead": queries.lead_department_name(db, case),
            "clocks": _clock_views(request, db, case),
            "assignments": [(a, departments.get(a.department_id)) for a in case.assignments],
            # Masked unless the viewer reveals it for a purpose (privacy.pages, one view).
            "contact": contact_view(
                db, principal, case, may_see=queries.may_see_contact(db, principal, case)
            ),
            "region": _region_names(db, [case]).get(case.region_code or ""),
            "matter_name": names.get(case.matter_code or ""),
            "matters": sorted(names.items()),
            "suggestions": [
                {**s, "name": names.get(s["matter_code"], s["matter_code"])}
                for s in _suggestions(case)
            ],
            "departments": _departments(db) if can["triage"] else [],
            "pending": pending,
            "can": can,
            "priorities": [p.value for p in Priority],
            "duplicates": staff_views.duplicate_suggestions(request, db, principal, case)
            if can["merge"]
            else [],
            **staff_views.merge_context(db, principal, case),
            "summons": staff_views.case_summons(request, db, case, utcnow()),
            "summon_form": staff_views.summon_form(request, db, case, _settings(request))
            if can["summon"]
            else None,
        },
    )


# -- duplicates --------------------------------------------------------------------------------


def _merge_scope(principal: Principal, case: Case) -> None:
    _in_scope(principal, Permission.CASE_MERGE, case)


@router.post(CASE + "/merge")
def merge(
    db: DB,
    number: str,
    into: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_MERGE),
) -> Response:
    """Merge this case (the duplicate) into ``into`` (the main case), with a reason."""
    if not reason.strip():
        raise Invalid("请说明合并的理由 / give the reason for merging", code="reason_required")
    duplicate = queries.access_case(db, principal, number)
    main = queries.access_case(db, principal, into.strip())
    _merge_scope(principal, duplicate)
    _merge_scope(principal, main)
    duplicates.merge_case(db, duplicate, into=main, actor=principal, reason=reason)
    return _back(next, number, notice="merged")


@router.post(CASE + "/unmerge")
def unmerge(
    request: Request,
    db: DB,
    number: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_MERGE),
) -> Response:
    """Undo the merge of this case (the duplicate); history stays on both timelines."""
    if not reason.strip():
        raise Invalid(
            "请说明撤销合并的理由 / give the reason for unmerging", code="reason_required"
        )
    duplicate = queries.access_case(db, principal, number)
    _merge_scope(principal, duplicate)
    duplicates.unmerge_case(
        db, duplicate, actor=principal, settings=_settings(request), reason=reason
    )
    return _back(next, number, notice="unmerged")


# -- 吹哨报到 ----------------------------------------------------------------------------------


def _minutes(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 24 * 60:
        raise Invalid(
            "报到时限应为 1 到 1440 分钟 / the limit is 1 to 1440 minutes", code="invalid_limit"
        )
    return int(text)


@router.post(CASE + "/summons")
def summon(
    request: Request,
    db: DB,
    number: str,
    reason: Annotated[str, Form(max_length=24)],
    departments: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    note: Annotated[str, Form(max_length=2000)] = "",
    limit_minutes: Annotated[str, Form(max_length=8)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_SUMMON),
) -> Response:
    """吹哨: summon departments onto the case. The time limit, when given, is wall-clock
    minutes for an emergency and office minutes otherwise; empty takes the defaults."""
    case = queries.access_case(db, principal, number)
    if not staff_views.may_summon(principal, case):
        # Within the clerk's township only, as in the JSON API: elsewhere it is not found.
        raise NotFound(f"未找到案件 / no such case: {number}", code="case_not_found")
    minutes = _minutes(limit_minutes)
    limits: dict[str, Any] = {}
    if minutes is not None:
        if summons.is_emergency(case, reason):
            limits["emergency_window"] = timedelta(minutes=minutes)
        else:
            limits["working_hours"] = minutes / 60
    summons.summon(
        db,
        case,
        departments=departments,
        reason=reason,
        note=_opt(note),
        actor=principal,
        settings=_settings(request),
        **limits,
    )
    return _back(next, number, notice="summoned")


@router.post("/cases/summons/{summons_id}/check-in", response_model=None)
def check_in(
    request: Request,
    db: DB,
    summons_id: int,
    note: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
    principal: Principal = require(Permission.CASE_CHECK_IN),
) -> Response:
    """报到: the signed-in handler's department checks in, with one button."""
    department_id = queries.staff_department_id(db, principal.account_id)
    whistle = db.get(summons.CaseSummons, summons_id)
    if whistle is None or department_id is None:
        raise NotFound("未找到召集 / no such summons", code="summons_not_found")
    try:
        summons.check_in(db, whistle, department_id=department_id, note=_opt(note), actor=principal)
    except Conflict:
        _ = translator(request)
        message = _("本部门已经报到过了，无需重复报到。")
        if principal.can(Permission.CASE_HANDLE):
            return _inbox(request, db, principal, message=message, status=409)
        raise
    return _back(next or "/cases/inbox", notice="checked_in")


def _local_day(value: str, tz: ZoneInfo) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise Invalid("日期格式应为 2026-12-01 / bad date", code="invalid_period") from None
    return datetime.combine(day, time(0, 0), tzinfo=tz)


@router.get("/cases/summons/stats", response_class=HTMLResponse)
def summons_stats_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_INDICATORS),
    since: str = "",
    until: str = "",
) -> HTMLResponse:
    """Per department: summoned, checked in on time, late, missing (past the limit and not
    checked in), within the viewer's regions; the period is in local days, both included."""
    tz = _tz(request)
    start = _local_day(since, tz)
    end = _local_day(until, tz)
    rows = summons.summons_stats(
        db,
        since=start,
        until=end + timedelta(days=1) if end is not None else None,
        regions=principal.regions_for(Permission.CASE_INDICATORS),
    )
    return _page(
        request,
        "cases/staff_summons_stats.html",
        {
            "rows": rows,
            "since": since.strip(),
            "until": until.strip(),
            "totals": {
                key: sum(getattr(r, key) for r in rows)
                for key in ("summoned", "checked_in", "on_time", "late", "missing")
            },
        },
    )
