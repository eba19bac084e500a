"""JSON API of the privacy domain: ``/api/v1/privacy``.

Reveals are POSTs (a reveal is recorded, so it is never a GET a link or an image could
trigger); the case JSON (``/api/v1/cases/{number}``) carries the contact masked, with
``revealable`` saying whether this endpoint will answer the caller.
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from gongzhi.audit.api import _checkpoint_out
from gongzhi.cases.api import require_any
from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.errors import Conflict
from gongzhi.privacy import queries, services
from gongzhi.privacy.classification import FIELDS
from gongzhi.privacy.models import PersonalDataAccess, PrivacyRequest, RequestKind, RequestStatus
from gongzhi.privacy.pages import export_response
from gongzhi.privacy.policy import person_right
from gongzhi.privacy.proofs import EventProof, ProofStatus, proofs_for
from gongzhi.privacy.schemas import (
    DataUseOut,
    DataUseProofOut,
    FieldClassOut,
    LinkIn,
    LookupIn,
    PersonOut,
    PersonRevealIn,
    ProofSummary,
    RequestIn,
    RequestOut,
    RequestStepIn,
    RevealedOut,
    RevealIn,
)
from gongzhi.security.deps import DB, require
from gongzhi.security.models import Account
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

# Row ids in paths: 64-bit keys, refused by the schema beyond that (never a database error).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/classification", response_model=list[FieldClassOut])
def classification(
    principal: Principal = require(Permission.STAFF_HOME),
) -> list[FieldClassOut]:
    """Every classified field: level (public … core), masking kind, personal or not."""
    return [
        FieldClassOut(
            key=f.key,
            level=f.level.name.lower(),
            kind=f.kind.value,
            label=f.label,
            personal=f.personal,
            masked_on_display=f.masked_on_display,
        )
        for f in FIELDS.values()
    ]


@router.post("/case-contacts/{number}/reveal", response_model=RevealedOut)
def reveal_case_contact(
    number: Annotated[str, Path(max_length=40)],
    body: RevealIn,
    db: DB,
    principal: Principal = require_any(
        Permission.PERSONAL_DATA_REVEAL, Permission.ANONYMOUS_CONTACT_REVEAL
    ),
) -> RevealedOut:
    """The reporter's contact of a case unmasked, for a purpose; recorded as an audit event
    the reporter sees on their "who used my data" page. 404 outside the caller's cases, 403
    for a case the caller may read but not reveal."""
    case = queries.access_case_for_reveal(db, principal, number)
    values = services.reveal_case_contact(
        db,
        case,
        fields=body.fields,
        purpose=body.purpose,
        purpose_text=body.purpose_text,
        actor=principal,
    )
    return RevealedOut(values=values)


@router.post("/people/lookup", response_model=PersonOut)
def look_up_person(
    body: LookupIn, db: DB, principal: Principal = require(Permission.PERSON_LOOKUP)
) -> PersonOut:
    """A person by ID number (a POST: the number stays out of URLs and logs), masked. 404
    when no such person is registered in the caller's region."""
    person = queries.look_up_person(db, principal, body.id_number)
    shown = queries.masked_person(person)
    return PersonOut(
        id=person.id,
        id_number=shown["id_number"],
        name=shown["name"],
        phone=shown["phone"],
        birth_date=shown["birth_date"],
        sex=person.sex,
        household_region_code=person.household_region_code,
        revealable=person_right(principal, person).allowed,
    )


@router.post("/people/{person_id}/reveal", response_model=RevealedOut)
def reveal_person(
    person_id: RowId,
    body: PersonRevealIn,
    db: DB,
    principal: Principal = require(Permission.PERSONAL_DATA_REVEAL),
) -> RevealedOut:
    person = queries.access_person(db, principal, person_id)
    values = services.reveal_person(
        db,
        person,
        fields=body.fields,
        purpose=body.purpose,
        purpose_text=body.purpose_text,
        case_number=body.case_number,
        actor=principal,
    )
    return RevealedOut(values=values)


# --- the citizen ------------------------------------------------------------------------------


def _proof_summary(access: PersonalDataAccess, proof: EventProof) -> ProofSummary:
    sequenced = proof.status != ProofStatus.RECORDING
    return ProofSummary(
        status=proof.status.value,
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        proof_url=f"/api/v1/privacy/my/data-use/{access.id}/proof" if sequenced else None,
    )


@router.get("/my/data-use", response_model=list[DataUseOut])
def my_data_use(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.DATA_USE_READ_OWN),
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> list[DataUseOut]:
    """Every view of the caller's personal data by staff, newest first (50 a page), each
    with its proof status against the latest signed checkpoint."""
    rows, _more = queries.data_use(db, principal, page=page)
    proofs = proofs_for(db, _settings(request), [r.audit_event_id for r in rows])
    return [
        DataUseOut(
            id=r.id,
            at=r.occurred_at,
            who=r.actor_name,
            role=r.actor_role,
            department=r.department_name,
            fields=r.fields,
            purpose=r.purpose,
            purpose_text=r.purpose_text,
            case_number=r.case_number,
            audit_event_id=r.audit_event_id,
            proof=_proof_summary(r, proofs[r.audit_event_id]),
        )
        for r in rows
    ]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@router.get("/my/data-use/{access_id}/proof", response_model=DataUseProofOut)
def my_data_use_proof(
    request: Request,
    access_id: RowId,
    db: DB,
    principal: Principal = require(Permission.DATA_USE_READ_OWN),
) -> DataUseProofOut:
    """The inclusion proof of one access's audit event in the latest signed checkpoint.
    409 ``not_sequenced`` while the event is still being recorded."""
    access = queries.own_access(db, principal, access_id)
    proof = proofs_for(db, _settings(request), [access.audit_event_id])[access.audit_event_id]
    if proof.status == ProofStatus.RECORDING or proof.checkpoint is None:
        raise Conflict(
            "这条记录正在写入审计日志，请稍后再试 / being recorded; retry shortly",
            code="not_sequenced",
        )
    assert proof.leaf_index is not None and proof.tree_size is not None
    return DataUseProofOut(
        status=proof.status.value,
        hash_algorithm=proof.hash_algorithm,
        event_id=proof.event_id,
        canonical=proof.canonical,
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        leaf_hash=_b64(proof.leaf_hash),
        root_hash=_b64(proof.root_hash),
        inclusion_path=[_b64(p) for p in proof.path],
        checkpoint=_checkpoint_out(proof.checkpoint, proof.hash_algorithm),
    )


@router.post("/my/identity", status_code=204)
def link_identity(
    body: LinkIn, db: DB, principal: Principal = require(Permission.DATA_USE_READ_OWN)
) -> Response:
    """Link the caller's account to their entry in the people register."""
    account = db.get(Account, principal.account_id)
    assert account is not None
    services.link_person(db, account, id_number=body.id_number, name=body.name, actor=principal)
    return Response(status_code=204)


def _request_out(r: PrivacyRequest, *, own: bool) -> RequestOut:
    export = (
        f"/api/v1/privacy/my/requests/{r.id}/export"
        if own and r.kind == RequestKind.COPY.value and r.status == RequestStatus.FULFILLED.value
        else None
    )
    return RequestOut(
        id=r.id,
        kind=r.kind,
        status=r.status,
        text=r.text,
        response=r.response,
        submitted_at=r.submitted_at,
        due_at=r.due_at,
        overdue=queries.is_overdue(r, utcnow()),
        closed_at=r.closed_at,
        export_url=export,
    )


@router.get("/my/requests", response_model=list[RequestOut])
def my_requests(
    db: DB, principal: Principal = require(Permission.PRIVACY_REQUEST_SUBMIT)
) -> list[RequestOut]:
    return [_request_out(r, own=True) for r in queries.own_requests(db, principal)]


@router.post("/my/requests", response_model=RequestOut, status_code=201)
def submit_request(
    request: Request,
    body: RequestIn,
    db: DB,
    principal: Principal = require(Permission.PRIVACY_REQUEST_SUBMIT),
) -> RequestOut:
    """Ask to access, copy, correct or delete your personal data (PIPL Art. 44–47); the
    answer is due within the configured number of working days (15 by default)."""
    found = services.submit_request(
        db, principal, kind=body.kind, text=body.text, settings=_settings(request)
    )
    return _request_out(found, own=True)


@router.get("/my/requests/{request_id}/export")
def my_export(
    request_id: RowId, db: DB, principal: Principal = require(Permission.PRIVACY_REQUEST_SUBMIT)
) -> Response:
    """The citizen's own data as JSON, once their copy request is fulfilled."""
    return export_response(db, principal, queries.own_request(db, principal, request_id))


# --- the handlers ---------------------------------------------------------------------------


@router.get("/requests", response_model=list[RequestOut])
def requests_to_handle(
    db: DB,
    principal: Principal = require(Permission.PRIVACY_REQUEST_HANDLE),
    all: bool = False,
) -> list[RequestOut]:
    """Requests in the caller's regions: open ones by deadline (overdue first), or all."""
    rows = queries.handler_requests(db, principal, open_only=not all)
    return [_request_out(r, own=False) for r in rows]


@router.post("/requests/{request_id}/{step}", response_model=RequestOut)
def request_step(
    request_id: RowId,
    step: Literal["accept", "fulfil", "refuse"],
    db: DB,
    body: RequestStepIn | None = None,
    principal: Principal = require(Permission.PRIVACY_REQUEST_HANDLE),
) -> RequestOut:
    """``accept``, ``fulfil`` (with what was done) or ``refuse`` (with the reasons)."""
    found = queries.access_request(db, principal, request_id)
    text = body.text if body is not None else ""
    if step == "accept":
        services.accept_request(db, found, actor=principal)
    elif step == "fulfil":
        services.fulfil_request(db, found, response=text, actor=principal)
    else:
        services.refuse_request(db, found, reasons=text, actor=principal)
    return _request_out(found, own=False)
