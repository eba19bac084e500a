"""JSON API of data sharing: ``/api/v1/share/...``.

``GET /api/v1/share/{grant_id}/rows`` is the sharing API itself (for a department's token);
the other routes let programs file requests, read them and revoke grants.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gongzhi.crypto import get_provider
from gongzhi.data.sharing import delivery, queries, services
from gongzhi.data.sharing.models import ShareGrant, ShareRequest
from gongzhi.errors import Forbidden
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

router = APIRouter(prefix="/api/v1/share", tags=["data sharing"])


class RequestIn(BaseModel):
    dataset_code: str = Field(max_length=60)
    fields: list[str] = Field(max_length=500)
    plaintext_fields: list[str] = Field(default_factory=list, max_length=500)
    purpose: str = Field(max_length=2000)
    legal_basis: str = Field(max_length=2000)
    scenario: str = Field(max_length=2000)
    end_users: str = Field(max_length=2000)
    period_start: date
    period_end: date


class DecisionOut(BaseModel):
    step: str
    outcome: str
    reasons: str
    actor: str
    at: datetime
    due_at: datetime | None


class RequestOut(BaseModel):
    id: int
    dataset_code: str
    requester_department: str
    provider_department: str
    fields: list[str]
    plaintext_fields: list[str]
    purpose: str
    legal_basis: str
    scenario: str
    end_users: str
    period_start: date
    period_end: date
    status: str
    due_at: datetime | None
    overdue: bool
    grant_id: int | None
    decisions: list[DecisionOut]


class GrantOut(BaseModel):
    id: int
    request_id: int
    dataset_code: str
    requester_department: str
    provider_department: str
    fields: list[str]
    plaintext_fields: list[str]
    purpose: str
    starts_at: datetime
    expires_at: datetime
    state: str
    revoked_at: datetime | None
    revoke_reason: str | None
    rows_url: str


class RevokeIn(BaseModel):
    reason: str = Field(max_length=2000)


class CallOut(BaseModel):
    at: datetime
    account: str
    department: str | None
    end_user: str
    case_number: str | None
    fields: list[str]
    row_count: int
    version: int | None
    outcome: str
    refusal_code: str | None


class RowsOut(BaseModel):
    grant_id: int
    dataset_code: str
    version: int | None
    fields: list[str]
    masked_fields: list[str]
    total: int
    rows: list[dict[str, Any]]
    next: str | None


def request_out(request: ShareRequest) -> RequestOut:
    return RequestOut(
        id=request.id,
        dataset_code=request.dataset.code,
        requester_department=request.requester_department.code,
        provider_department=request.provider_department.code,
        fields=request.fields,
        plaintext_fields=request.plaintext_fields,
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        scenario=request.scenario,
        end_users=request.end_users,
        period_start=request.period_start,
        period_end=request.period_end,
        status=request.status,
        due_at=request.due_at,
        overdue=queries.is_overdue(request),
        grant_id=request.grant.id if request.grant else None,
        decisions=[
            DecisionOut(
                step=d.step,
                outcome=d.outcome,
                reasons=d.reasons,
                actor=d.actor_label,
                at=d.at,
                due_at=d.due_at,
            )
            for d in request.decisions
        ],
    )


def grant_out(grant: ShareGrant) -> GrantOut:
    from gongzhi.db import utcnow

    return GrantOut(
        id=grant.id,
        request_id=grant.request_id,
        dataset_code=grant.dataset.code,
        requester_department=grant.requester_department.code,
        provider_department=grant.provider_department.code,
        fields=grant.fields,
        plaintext_fields=grant.plaintext_fields,
        purpose=grant.purpose,
        starts_at=grant.starts_at,
        expires_at=grant.expires_at,
        state=grant.state_at(utcnow()),
        revoked_at=grant.revoked_at,
        revoke_reason=grant.revoke_reason,
        rows_url=f"/api/v1/share/{grant.id}/rows",
    )


def _requester(db: DB, principal: Principal) -> Any:
    department = services.staff_department(db, principal.account_id)
    if department is None:
        raise Forbidden(
            "只有部门工作人员可以申请 / only a department's staff can request", code="no_department"
        )
    return department


@router.post("/requests", response_model=RequestOut, status_code=201)
def create_request(
    body: RequestIn, db: DB, principal: Principal = require(Permission.DATA_SHARE_REQUEST)
) -> RequestOut:
    dataset = queries.dataset_by_code(db, body.dataset_code)
    request = services.submit_request(
        db,
        dataset,
        requester=_requester(db, principal),
        fields=body.fields,
        plaintext_fields=body.plaintext_fields,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        scenario=body.scenario,
        end_users=body.end_users,
        period_start=body.period_start,
        period_end=body.period_end,
        actor=principal,
    )
    return request_out(request)


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(
    request_id: Annotated[int, Path(ge=1, le=2**62)],
    db: DB,
    principal: Principal = require(Permission.DATA_SHARE_READ),
) -> RequestOut:
    return request_out(queries.access_request(db, principal, request_id))


@router.get("/grants", response_model=list[GrantOut])
def list_grants(
    db: DB, principal: Principal = require(Permission.DATA_SHARE_READ)
) -> list[GrantOut]:
    lists = queries.grants_for(db, principal)
    return [grant_out(g) for g in lists.received + lists.given]


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
def revoke(
    grant_id: Annotated[int, Path(ge=1, le=2**62)],
    body: RevokeIn,
    db: DB,
    principal: Principal = require(Permission.DATA_SHARE_REVOKE),
) -> GrantOut:
    grant = queries.access_grant(db, principal, grant_id)
    return grant_out(services.revoke_grant(db, grant, reason=body.reason, actor=principal))


@router.get("/grants/{grant_id}/calls", response_model=list[CallOut])
def grant_calls(
    grant_id: Annotated[int, Path(ge=1, le=2**62)],
    db: DB,
    principal: Principal = require(Permission.DATA_SHARE_READ),
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> list[CallOut]:
    grant = queries.access_grant(db, principal, grant_id)
    calls, _more = queries.calls(db, grant, page)
    return [
        CallOut(
            at=c.at,
            account=c.account_label,
            department=c.department.code if c.department else None,
            end_user=c.end_user,
            case_number=c.case_number,
            fields=c.fields,
            row_count=c.row_count,
            version=c.version_number,
            outcome=c.outcome,
            refusal_code=c.refusal_code,
        )
        for c in calls
    ]


def header_text(value: str | None) -> str:
    """A header value as text: HTTP carries bytes, read here as Latin-1; a client sending a
    Chinese name as UTF-8 (or percent-encoded UTF-8) gets it back intact."""
    if not value:
        return ""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("latin-1").decode("utf-8")
    return unquote(value) if "%" in value else value


@router.get(
    "/{grant_id}/rows",
    response_model=RowsOut,
    responses={403: {"description": "the call is outside the grant; nothing is returned"}},
)
def rows(
    request: Request,
    grant_id: Annotated[int, Path(ge=1, le=2**62)],
    db: DB,
    principal: Principal = require(Permission.DATA_SHARE_CALL),
    fields: Annotated[
        str | None, Query(max_length=4000, description="comma-separated; default: all granted")
    ] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="the page cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=delivery.MAX_LIMIT)] = delivery.DEFAULT_LIMIT,
    x_end_user: Annotated[str | None, Header(max_length=600)] = None,
    x_case_number: Annotated[str | None, Header(max_length=100)] = None,
) -> Any:
    call = delivery.CallContext(
        grant_id=grant_id,
        end_user=header_text(x_end_user),
        case_number=header_text(x_case_number) or None,
        fields=[f.strip() for f in fields.split(",") if f.strip()] if fields is not None else None,
        after=after,
        limit=limit,
    )
    grant = queries.grant_for_call(db, grant_id)
    try:
        page = delivery.share_rows(
            db,
            grant,
            call,
            principal=principal,
            provider=get_provider(request.app.state.settings),
        )
    except delivery.ShareRefused as refusal:
        # The refusal is answered (403, nothing returned) and logged in this request's
        # transaction, which still commits.
        delivery.record_refusal(db, grant, call, refusal, principal=principal)
        return JSONResponse(refusal.to_json(), status_code=refusal.status_code)
    next_url = None
    if page.next_after is not None:
        params: dict[str, Any] = {"after": page.next_after, "limit": limit}
        if fields is not None:
            params["fields"] = ",".join(page.fields)
        next_url = f"/api/v1/share/{grant_id}/rows?{urlencode(params)}"
    return RowsOut(
        grant_id=grant_id,
        dataset_code=page.grant.dataset.code,
        version=page.version,
        fields=page.fields,
        masked_fields=page.masked,
        total=page.total,
        rows=page.rows,
        next=next_url,
    )
