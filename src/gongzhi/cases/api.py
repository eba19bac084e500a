"""JSON API of the cases domain: ``/api/v1/cases``.

Every case is loaded through ``queries.access_case`` (scope: own cases, region subtree,
the department's assignments); a case outside it is 404, not 403.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from gongzhi.cases import queries, services
from gongzhi.cases.clocks import clock_state
from gongzhi.cases.models import Case, Channel, Outcome, Priority, ReturnReason
from gongzhi.cases.schemas import (
    CaseIn,
    CaseOut,
    CaseSummary,
    CloseIn,
    ContactOut,
    DispatchIn,
    ExtensionDecisionIn,
    ExtensionIn,
    ExtensionOut,
    NoteIn,
    RateIn,
    ReasonIn,
    ReturnIn,
    VerifyIn,
)
from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.errors import Forbidden, Unauthenticated
from gongzhi.security.deps import DB, CsrfToken, Require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class RequireAny(Require):
    """Any one of several permissions (citizens read their own cases, staff read theirs)."""

    def __init__(self, *permissions: Permission) -> None:
        super().__init__(permissions[0])
        self.permissions = permissions

    def __call__(self, request: Request, db: DB, csrf_token: CsrfToken) -> Principal:
        from gongzhi.security.auth import authenticate

        request.state.csrf_submitted = csrf_token
        principal = authenticate(request, db)
        if principal is None:
            raise Unauthenticated("请先登录 / Please sign in")
        request.state.principal = principal
        if not any(principal.can(p) for p in self.permissions):
            raise Forbidden("没有权限 / Not allowed", code="forbidden")
        return principal


def require_any(*permissions: Permission) -> Any:
    return Depends(RequireAny(*permissions))


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _is_staff(principal: Principal) -> bool:
    return principal.can(Permission.CASE_READ)


def _contact(db: DB, principal: Principal, case: Case, *, echo: bool = False) -> ContactOut | None:
    """The contact masked for staff (privacy.queries.contact_view); ``echo`` returns what the
    caller has just typed in, unchanged (entering a call is not a reveal)."""
    from gongzhi.privacy.queries import contact_view

    if echo and case.contact is not None:
        c = case.contact
        return ContactOut(name=c.name, phone=c.phone, email=c.email)
    view = contact_view(db, principal, case, may_see=queries.may_see_contact(db, principal, case))
    if view is None:
        return None
    return ContactOut(
        name=view.name,
        phone=view.phone,
        email=view.email,
        masked=view.masked,
        revealable=view.revealable,
    )


def _out(
    request: Request, db: DB, principal: Principal, case: Case, *, echo_contact: bool = False
) -> CaseOut:
    settings = _settings(request)
    calendar = services.work_calendar(db, case, settings)
    return CaseOut.build(
        case,
        lead=queries.lead_department_name(db, case),
        staff=_is_staff(principal),
        contact=_contact(db, principal, case, echo=echo_contact),
        clock_states=clock_state(case, utcnow(), calendar),
    )


def _in_scope(principal: Principal, permission: Permission, case: Case) -> None:
    """Acting (not only reading) needs the permission in the case's region."""
    if case.region_code is not None and not queries.in_reach(
        principal, permission, case.region_code
    ):
        raise Forbidden("超出你的辖区 / outside your jurisdiction", code="out_of_scope")


@router.post("", response_model=CaseOut, status_code=201)
def submit(
    body: CaseIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_SUBMIT),
) -> Response:
    channel = Channel.API if principal.via == "token" else Channel.WEB
    reporter: int | None = principal.account_id
    if body.channel == "hotline":
        if not principal.can(Permission.CASE_TAKE_CALL):
            raise Forbidden("只有话务员可以录入来电 / operators only", code="forbidden")
        # The caller is not the operator: the case belongs to the contact given.
        channel, reporter = Channel.HOTLINE, None
    elif body.channel == "grid":
        if not principal.can(Permission.CASE_VERIFY):
            raise Forbidden("只有网格员可以上报巡查 / grid workers only", code="forbidden")
        channel = Channel.GRID
    case = services.submit_case(
        db,
        channel=channel,
        description=body.description,
        actor=principal,
        reporter_account_id=reporter,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        contact_email=body.contact_email,
        anonymous=body.anonymous,
        address_text=body.address_text,
        lat=body.lat,
        lon=body.lon,
        matter_code=body.matter_code,
        priority=Priority(body.priority) if body.priority else None,
        attributes=body.attributes,
        media_urls=body.media_urls,
        settings=_settings(request),
    )
    # Serialised here, in the endpoint's worker thread: a model returned to FastAPI is
    # validated again and serialised in one more trip to the thread pool.
    out = _out(request, db, principal, case, echo_contact=True)
    db.commit()
    return Response(out.model_dump_json(), status_code=201, media_type="application/json")


@router.get("", response_model=list[CaseSummary])
def list_cases(
    db: DB,
    principal: Principal = require_any(Permission.CASE_READ, Permission.CASE_READ_OWN),
    status: str | None = None,
    queue: Literal["triage", "inbox", "overdue"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CaseSummary]:
    if queue == "triage":
        cases = queries.triage_queue(db, principal, limit=limit)
    elif queue == "inbox":
        department_id = queries.staff_department_id(db, principal.account_id)
        cases = [] if department_id is None else queries.department_inbox(db, department_id)
    elif queue == "overdue":
        seen: dict[int, Case] = {}
        for case, _clock in queries.overdue_cases(db, principal, utcnow(), limit=limit):
            seen.setdefault(case.id, case)
        cases = list(seen.values())
    else:
        cases = queries.list_cases(db, principal, status=status, limit=limit, offset=offset)
    return [CaseSummary.of(c, queries.lead_department_name(db, c)) for c in cases]


@router.get("/{number}", response_model=CaseOut)
def get_case(
    number: str,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_READ, Permission.CASE_READ_OWN),
) -> CaseOut:
    return _out(request, db, principal, queries.access_case(db, principal, number))


@router.post("/{number}/dispatch", response_model=CaseOut)
def dispatch(
    number: str,
    body: DispatchIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_TRIAGE),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    _in_scope(principal, Permission.CASE_TRIAGE, case)
    services.dispatch_case(
        db,
        case,
        to=body.department,
        co_handlers=body.co_handlers,
        matter_code=body.matter_code,
        priority=Priority(body.priority) if body.priority else None,
        note=body.note,
        actor=principal,
        settings=_settings(request),
    )
    return _out(request, db, principal, case)


@router.post("/{number}/accept", response_model=CaseOut)
def accept(
    number: str,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_HANDLE),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    services.accept_case(db, case, actor=principal, settings=_settings(request))
    return _out(request, db, principal, case)


@router.post("/{number}/return", response_model=CaseOut)
def return_(
    number: str,
    body: ReturnIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_HANDLE),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    services.return_case(
        db,
        case,
        reason_code=ReturnReason(body.reason),
        note=body.note,
        actor=principal,
        settings=_settings(request),
    )
    return _out(request, db, principal, case)


@router.post("/{number}/feedback", response_model=CaseOut)
def feedback(
    number: str,
    body: NoteIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_HANDLE),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    services.give_feedback(db, case, note=body.note, actor=principal)
    return _out(request, db, principal, case)


@router.post("/{number}/verify", response_model=CaseOut)
def verify(
    number: str,
    body: VerifyIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_VERIFY),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    _in_scope(principal, Permission.CASE_VERIFY, case)
    services.verify_case(
        db, case, passed=body.passed, note=body.note, actor=principal, settings=_settings(request)
    )
    return _out(request, db, principal, case)


@router.post("/{number}/close", response_model=CaseOut)
def close(
    number: str,
    body: CloseIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_TRIAGE),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    _in_scope(principal, Permission.CASE_TRIAGE, case)
    services.close_case(db, case, outcome=Outcome(body.outcome), note=body.note, actor=principal)
    return _out(request, db, principal, case)


@router.post("/{number}/rate", response_model=CaseOut)
def rate(
    number: str,
    body: RateIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_READ_OWN),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    services.rate_case(db, case, rating=body.rating, comment=body.comment, actor=principal)
    return _out(request, db, principal, case)


@router.post("/{number}/reopen", response_model=CaseOut)
def reopen(
    number: str,
    body: ReasonIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_READ_OWN),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    services.reopen_case(db, case, reason=body.reason, actor=principal, settings=_settings(request))
    return _out(request, db, principal, case)


@router.post("/{number}/extension", response_model=ExtensionOut, status_code=201)
def request_extension(
    number: str,
    body: ExtensionIn,
    db: DB,
    principal: Principal = require_any(Permission.CASE_HANDLE),
) -> ExtensionOut:
    case = queries.access_case(db, principal, number)
    ext = services.request_extension(
        db, case, new_due_at=body.due_at, reason=body.reason, actor=principal
    )
    return ExtensionOut(
        status=ext.status,
        requested_due_at=ext.requested_due_at,
        reason=ext.reason,
        decided_at=ext.decided_at,
    )


@router.post("/{number}/extension/decision", response_model=ExtensionOut)
def decide_extension(
    number: str,
    body: ExtensionDecisionIn,
    db: DB,
    principal: Principal = require_any(Permission.CASE_TRIAGE),
) -> ExtensionOut:
    case = queries.access_case(db, principal, number)
    _in_scope(principal, Permission.CASE_TRIAGE, case)
    ext = services.decide_extension(db, case, approve=body.approve, note=body.note, actor=principal)
    return ExtensionOut(
        status=ext.status,
        requested_due_at=ext.requested_due_at,
        reason=ext.reason,
        decided_at=ext.decided_at,
    )


@router.post("/{number}/pause", response_model=CaseOut)
def pause(
    number: str,
    body: ReasonIn,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_HANDLE, Permission.CASE_TRIAGE),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    services.pause_for_citizen(db, case, reason=body.reason, actor=principal)
    return _out(request, db, principal, case)


@router.post("/{number}/resume", response_model=CaseOut)
def resume(
    number: str,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_HANDLE, Permission.CASE_TRIAGE),
) -> CaseOut:
    case = queries.access_case(db, principal, number)
    services.resume(db, case, actor=principal, settings=_settings(request))
    return _out(request, db, principal, case)
