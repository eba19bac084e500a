"""Staff pages of data sharing: the department's overview (requests and grants), the request
form, a request with its steps and the actions the reader may take, the authority's review
queue, the provider's decision queue, and a grant with its call log. Every form works
without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from gongzhi.data.labels import LEVEL_NAMES, SHARING_NAMES
from gongzhi.data.models import is_sealed
from gongzhi.data.pages import form_action, object_form_action
from gongzhi.data.sharing import queries, services
from gongzhi.data.sharing.models import OPEN_STATUSES, RequestStatus, ShareRequest
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Forbidden, Invalid
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import N_, translator
from gongzhi.web.templating import render

router = APIRouter(tags=["data sharing"], include_in_schema=False)

READ = Permission.DATA_SHARE_READ
Id = Annotated[int, Path(ge=1, le=2**62)]

STATUS_NAMES = {
    RequestStatus.REVIEWING.value: N_("待数据主管部门审核"),
    RequestStatus.DECIDING.value: N_("待提供部门答复"),
    RequestStatus.DISPUTED.value: N_("异议待协调"),
    RequestStatus.GRANTED.value: N_("已授权"),
    RequestStatus.REFUSED.value: N_("未获授权"),
    RequestStatus.WITHDRAWN.value: N_("已撤回"),
}
STEP_NAMES = {
    "submit": N_("提出申请"),
    "system": N_("系统按规则处理"),
    "review": N_("数据主管部门审核"),
    "decide": N_("提供部门答复"),
    "dispute": N_("申请部门提出异议"),
    "arbitrate": N_("数据主管部门协调"),
    "withdraw": N_("申请部门撤回"),
    "escalate": N_("超时督办"),
}
OUTCOME_NAMES = {
    "submitted": N_("已提交"),
    "approved": N_("审核通过，转提供部门"),
    "granted": N_("同意共享"),
    "refused": N_("不予共享"),
    "disputed": N_("有异议"),
    "withdrawn": N_("已撤回"),
    "overdue": N_("已超时，已通知数据主管部门"),
}
GRANT_STATES = {
    "active": N_("有效"),
    "revoked": N_("已撤销"),
    "expired": N_("已过期"),
    "pending": N_("未到生效日"),
}


def _labels(request: Request) -> dict[str, Any]:
    _ = translator(request)

    def tr(names: dict[str, str]) -> dict[str, str]:
        return {k: _(v) for k, v in names.items()}

    return {
        "status_names": tr(STATUS_NAMES),
        "step_names": tr(STEP_NAMES),
        "outcome_names": tr(OUTCOME_NAMES),
        "grant_states": tr(GRANT_STATES),
        "sharing_names": tr(SHARING_NAMES),
        "level_names": tr(LEVEL_NAMES),
        "now": utcnow(),
        "is_overdue": queries.is_overdue,
    }


@router.get("/data/sharing", response_class=HTMLResponse)
def overview(request: Request, db: DB, principal: Principal = require(READ)) -> HTMLResponse:
    department = services.staff_department(db, principal.account_id)
    grants = queries.grants_for(db, principal)
    return render(
        request,
        "data/sharing/overview.html",
        {
            "department": department,
            "requests": queries.department_requests(db, department) if department else [],
            "received": grants.received,
            "given": grants.given,
            "can_request": department is not None and principal.can(Permission.DATA_SHARE_REQUEST),
            "can_review": principal.can(Permission.DATA_SHARE_REVIEW),
            "can_decide": department is not None
            and principal.can(Permission.DATA_SHARE_DECIDE, department.region_code),
            **_labels(request),
        },
    )


def _request_form(
    request: Request,
    db: DB,
    principal: Principal,
    form: dict[str, Any],
    error: str | None = None,
) -> HTMLResponse:
    department = services.staff_department(db, principal.account_id)
    datasets = queries.shareable_datasets(db, department)
    chosen = next((d for d in datasets if d.code == form.get("dataset")), None)
    fields = []
    if chosen is not None:
        for f in chosen.table_schema["fields"]:
            level = f.get("classification", "internal")
            fields.append({**f, "level": level, "sensitive": is_sealed(level)})
    return render(
        request,
        "data/sharing/request_new.html",
        {
            "department": department,
            "datasets": datasets,
            "dataset": chosen,
            "fields": fields,
            "form": form,
            "error": error,
            **_labels(request),
        },
        status_code=422 if error else 200,
    )


@router.get("/data/sharing/requests/new", response_class=HTMLResponse)
def request_form(
    request: Request,
    db: DB,
    dataset: Annotated[str, Query(max_length=60)] = "",
    principal: Principal = require(Permission.DATA_SHARE_REQUEST),
) -> HTMLResponse:
    return _request_form(request, db, principal, {"dataset": dataset, "fields": []})


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


@router.post("/data/sharing/requests", response_model=None)
def request_submit(
    request: Request,
    db: DB,
    dataset: Annotated[str, Form(max_length=60)] = "",
    fields: Annotated[list[str] | None, Form(max_length=500)] = None,
    plaintext_fields: Annotated[list[str] | None, Form(max_length=500)] = None,
    purpose: Annotated[str, Form(max_length=2000)] = "",
    legal_basis: Annotated[str, Form(max_length=2000)] = "",
    scenario: Annotated[str, Form(max_length=2000)] = "",
    end_users: Annotated[str, Form(max_length=2000)] = "",
    period_start: Annotated[str, Form(max_length=10)] = "",
    period_end: Annotated[str, Form(max_length=10)] = "",
    principal: Principal = require(Permission.DATA_SHARE_REQUEST),
) -> Response:
    form = {
        "dataset": dataset,
        "fields": fields or [],
        "plaintext_fields": plaintext_fields or [],
        "purpose": purpose,
        "legal_basis": legal_basis,
        "scenario": scenario,
        "end_users": end_users,
        "period_start": period_start,
        "period_end": period_end,
    }
    _ = translator(request)
    department = services.staff_department(db, principal.account_id)
    if department is None:
        return _request_form(request, db, principal, form, _("只有部门工作人员可以申请共享数据"))
    start, end = _parse_date(period_start), _parse_date(period_end)
    if start is None or end is None:
        return _request_form(request, db, principal, form, _("请填写使用期限的起止日期"))

    def submit() -> str:
        created = services.submit_request(
            db,
            queries.dataset_by_code(db, dataset),
            requester=department,
            fields=fields or [],
            plaintext_fields=plaintext_fields or [],
            purpose=purpose,
            legal_basis=legal_basis,
            scenario=scenario,
            end_users=end_users,
            period_start=start,
            period_end=end,
            actor=principal,
        )
        return f"/data/sharing/requests/{created.id}"

    # A dataset that is not shared is refused as Forbidden by the service; on the request
    # form it is the answer to the steward's own choice, so it is shown there.
    return form_action(
        request,
        db,
        submit,
        refused=lambda error: _request_form(request, db, principal, form, error),
        shown=(Invalid, Conflict, Forbidden),
    )


def _request_page(
    request: Request,
    db: DB,
    principal: Principal,
    share_request: ShareRequest,
    error: str | None = None,
) -> HTMLResponse:
    status = share_request.status
    authority = services.is_authority(principal, share_request)
    provider = services.is_provider_staff(db, principal, share_request)
    requester = services.is_requester_staff(db, principal, share_request)
    last = share_request.decisions[-1] if share_request.decisions else None
    levels = {
        f["name"]: f.get("classification", "internal")
        for f in share_request.dataset.table_schema["fields"]
    }
    return render(
        request,
        "data/sharing/request.html",
        {
            "r": share_request,
            "levels": levels,
            "error": error,
            "overdue": queries.is_overdue(share_request),
            "can_review": authority and status == RequestStatus.REVIEWING.value,
            "can_arbitrate": authority and status == RequestStatus.DISPUTED.value,
            "can_decide": provider and status == RequestStatus.DECIDING.value,
            "can_dispute": requester
            and status == RequestStatus.REFUSED.value
            and last is not None
            and last.step == "decide",
            "can_withdraw": requester and status in [s.value for s in OPEN_STATUSES],
            **_labels(request),
        },
        status_code=422 if error else 200,
    )


@router.get("/data/sharing/requests/{request_id}", response_class=HTMLResponse)
def request_page(
    request: Request, request_id: Id, db: DB, principal: Principal = require(READ)
) -> HTMLResponse:
    return _request_page(request, db, principal, queries.access_request(db, principal, request_id))


def _act(
    request: Request,
    db: DB,
    principal: Principal,
    request_id: int,
    action: Callable[[ShareRequest], object],
) -> Response:
    """A step on a share request; the request's page again, with the reason, if refused."""
    return object_form_action(
        request,
        db,
        load=lambda: queries.access_request(db, principal, request_id),
        action=action,
        done=f"/data/sharing/requests/{request_id}",
        page=lambda share, error: _request_page(request, db, principal, share, error),
    )


@router.post("/data/sharing/requests/{request_id}/review", response_model=None)
def review_submit(
    request: Request,
    request_id: Id,
    db: DB,
    decision: Annotated[str, Form(max_length=10)] = "",
    reasons: Annotated[str, Form(max_length=2000)] = "",
    principal: Principal = require(Permission.DATA_SHARE_REVIEW),
) -> Response:
    return _act(
        request,
        db,
        principal,
        request_id,
        lambda r: services.review_request(
            db, r, approve=decision == "approve", reasons=reasons, actor=principal
        ),
    )


@router.post("/data/sharing/requests/{request_id}/decide", response_model=None)
def decide_submit(
    request: Request,
    request_id: Id,
    db: DB,
    decision: Annotated[str, Form(max_length=10)] = "",
    reasons: Annotated[str, Form(max_length=2000)] = "",
    fields: Annotated[list[str] | None, Form(max_length=500)] = None,
    plaintext_fields: Annotated[list[str] | None, Form(max_length=500)] = None,
    until: Annotated[str, Form(max_length=10)] = "",
    principal: Principal = require(Permission.DATA_SHARE_DECIDE),
) -> Response:
    grant = decision == "grant"
    return _act(
        request,
        db,
        principal,
        request_id,
        lambda r: services.decide_request(
            db,
            r,
            grant=grant,
            reasons=reasons,
            fields=(fields or []) if grant else None,
            plaintext_fields=(plaintext_fields or []) if grant else None,
            until=_parse_date(until) if until else None,
            actor=principal,
        ),
    )


@router.post("/data/sharing/requests/{request_id}/dispute", response_model=None)
def dispute_submit(
    request: Request,
    request_id: Id,
    db: DB,
    statement: Annotated[str, Form(max_length=2000)] = "",
    principal: Principal = require(Permission.DATA_SHARE_REQUEST),
) -> Response:
    return _act(
        request,
        db,
        principal,
        request_id,
        lambda r: services.dispute_request(db, r, statement=statement, actor=principal),
    )


@router.post("/data/sharing/requests/{request_id}/arbitrate", response_model=None)
def arbitrate_submit(
    request: Request,
    request_id: Id,
    db: DB,
    decision: Annotated[str, Form(max_length=10)] = "",
    reasons: Annotated[str, Form(max_length=2000)] = "",
    principal: Principal = require(Permission.DATA_SHARE_REVIEW),
) -> Response:
    return _act(
        request,
        db,
        principal,
        request_id,
        lambda r: services.arbitrate_dispute(
            db, r, grant=decision == "grant", reasons=reasons, actor=principal
        ),
    )


@router.post("/data/sharing/requests/{request_id}/withdraw", response_model=None)
def withdraw_submit(
    request: Request,
    request_id: Id,
    db: DB,
    principal: Principal = require(Permission.DATA_SHARE_REQUEST),
) -> Response:
    return _act(
        request,
        db,
        principal,
        request_id,
        lambda r: services.withdraw_request(db, r, actor=principal),
    )


@router.get("/data/sharing/review", response_class=HTMLResponse)
def review_queue(
    request: Request, db: DB, principal: Principal = require(Permission.DATA_SHARE_REVIEW)
) -> HTMLResponse:
    return render(
        request,
        "data/sharing/queue.html",
        {
            "title": translator(request)("共享申请审核"),
            "intro": translator(request)(
                "数据主管部门在 2 个工作日内审核；无条件共享的数据已按申请直接授权，不在此列。"
                "有异议的申请也在这里协调。"
            ),
            "items": queries.review_queue(db, principal),
            **_labels(request),
        },
    )


@router.get("/data/sharing/decisions", response_class=HTMLResponse)
def decision_queue(
    request: Request, db: DB, principal: Principal = require(Permission.DATA_SHARE_DECIDE)
) -> HTMLResponse:
    return render(
        request,
        "data/sharing/queue.html",
        {
            "title": translator(request)("待本部门答复的共享申请"),
            "intro": translator(request)(
                "有条件共享的数据，提供部门在 5 个工作日内答复；不予共享须说明理由。"
            ),
            "items": queries.decision_queue(db, principal),
            **_labels(request),
        },
    )


@router.get("/data/sharing/grants/{grant_id}", response_class=HTMLResponse)
def grant_page(
    request: Request,
    grant_id: Id,
    db: DB,
    principal: Principal = require(READ),
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    return _grant_page(request, db, principal, grant_id, page)


def _grant_page(
    request: Request,
    db: DB,
    principal: Principal,
    grant_id: int,
    page: int = 1,
    error: str | None = None,
) -> HTMLResponse:
    grant = queries.access_grant(db, principal, grant_id)
    calls, more = queries.calls(db, grant, page)
    department = services.staff_department(db, principal.account_id)
    region = grant.provider_department.region_code
    can_revoke = grant.revoked_at is None and (
        principal.can(Permission.DATA_SHARE_REVIEW, region)
        or (
            department is not None
            and department.id == grant.provider_department_id
            and principal.can(Permission.DATA_SHARE_REVOKE, region)
        )
    )
    return render(
        request,
        "data/sharing/grant.html",
        {
            "grant": grant,
            "state": grant.state_at(utcnow()),
            "calls": calls,
            "page": page,
            "more": more,
            "call_count": queries.call_count(db, grant),
            "can_revoke": can_revoke,
            "error": error,
            **_labels(request),
        },
        status_code=422 if error else 200,
    )


@router.post("/data/sharing/grants/{grant_id}/revoke", response_model=None)
def revoke_submit(
    request: Request,
    grant_id: Id,
    db: DB,
    reason: Annotated[str, Form(max_length=2000)] = "",
    principal: Principal = require(Permission.DATA_SHARE_REVOKE),
) -> Response:
    grant = queries.access_grant(db, principal, grant_id)

    def revoke() -> str:
        services.revoke_grant(db, grant, reason=reason, actor=principal)
        return f"/data/sharing/grants/{grant_id}"

    return form_action(
        request,
        db,
        revoke,
        refused=lambda error: _grant_page(request, db, principal, grant_id, error=error),
    )
