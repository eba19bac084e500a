"""The findings' pages (data officers): the list with counts per kind, one finding with the
rows involved (masked, as the master index shows them) and the forms to confirm it, dismiss
it with a reason, or turn it into a case for verification."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from gongzhi.crypto import get_provider
from gongzhi.data import findings_queries as queries
from gongzhi.data import findings_services as services
from gongzhi.data.findings_models import KIND_NAMES, STATUS_NAMES, Finding, FindingStatus
from gongzhi.data.master_index_models import MasterEntity, MasterLink
from gongzhi.data.master_index_pages import _masked_record
from gongzhi.data.models import Dataset
from gongzhi.data.pages import object_form_action
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import translator
from gongzhi.web.templating import render

router = APIRouter(tags=["data"], include_in_schema=False)

READ = Permission.DATA_FINDING_READ
DECIDE = Permission.DATA_FINDING_DECIDE
PAGE_SIZE = 50
Id = Annotated[int, Path(le=2**62)]
KINDS = "^(" + "|".join(k.value for k in KIND_NAMES) + ")?$"
STATUSES = "^(" + "|".join(s.value for s in STATUS_NAMES) + ")?$"


def _labels(request: Request) -> dict[str, Any]:
    _ = translator(request)
    return {
        "kind_names": {k.value: _(v) for k, v in KIND_NAMES.items()},
        "status_names": {s.value: _(v) for s, v in STATUS_NAMES.items()},
    }


@router.get("/data/findings", response_class=HTMLResponse)
def findings_page(
    request: Request,
    db: DB,
    kind: str = Query("", pattern=KINDS),
    status: str = Query(FindingStatus.OPEN.value, pattern=STATUSES),
    page: int = Query(1, ge=1, le=100000),
    principal: Principal = require(READ),
) -> HTMLResponse:
    total, findings = queries.list_findings(
        db,
        principal,
        kind=kind or None,
        status=status or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "data/findings.html",
        {
            "findings": findings,
            "counts": queries.counts_by_kind(db, principal, status=status or None),
            "kind": kind,
            "status": status,
            "total": total,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            **_labels(request),
        },
    )


def _finding_page(
    request: Request,
    db: DB,
    principal: Principal,
    finding: Finding,
    error: str | None = None,
) -> HTMLResponse:
    provider = get_provider(request.app.state.settings)
    links = {
        k.row_id: k
        for k in db.scalars(
            select(MasterLink).where(MasterLink.row_id.in_([r["row_id"] for r in finding.rows]))
        )
    }
    datasets = {
        d.id: d
        for d in db.scalars(
            select(Dataset).where(Dataset.id.in_({r["dataset_id"] for r in finding.rows}))
        )
    }
    records = []
    for ref in finding.rows:
        link, dataset = links.get(ref["row_id"]), datasets.get(ref["dataset_id"])
        if link is None or dataset is None:
            continue  # the row left the index (a newer version); the next run refreshes
        records.append(
            {
                "link": link,
                "dataset": dataset,
                "fields": _masked_record(db, provider, link, dataset),
            }
        )
    entity = db.get(MasterEntity, finding.subject_entity_id) if finding.subject_entity_id else None
    return render(
        request,
        "data/finding.html",
        {
            "finding": finding,
            "entity": entity,
            "records": records,
            "can_decide": principal.can(DECIDE) and finding.status in services.UNDECIDED,
            "can_read_index": principal.can(Permission.DATA_MASTER_INDEX_READ),
            "error": error,
            **_labels(request),
        },
        status_code=422 if error else 200,
    )


@router.get("/data/findings/{finding_id}", response_class=HTMLResponse)
def finding_page(
    request: Request, finding_id: Id, db: DB, principal: Principal = require(READ)
) -> HTMLResponse:
    return _finding_page(request, db, principal, queries.access_finding(db, principal, finding_id))


def _act(
    request: Request,
    db: DB,
    principal: Principal,
    finding_id: int,
    action: Callable[[Finding], object],
) -> Response:
    return object_form_action(
        request,
        db,
        load=lambda: queries.access_finding(db, principal, finding_id),
        action=action,
        done=f"/data/findings/{finding_id}",
        page=lambda finding, error: _finding_page(request, db, principal, finding, error),
    )


@router.post("/data/findings/{finding_id}/confirm", response_model=None)
def confirm_submit(
    request: Request,
    finding_id: Id,
    db: DB,
    note: Annotated[str, Form(max_length=2000)] = "",
    principal: Principal = require(DECIDE),
) -> Response:
    return _act(
        request,
        db,
        principal,
        finding_id,
        lambda f: services.confirm_finding(db, f, actor=principal, note=note),
    )


@router.post("/data/findings/{finding_id}/dismiss", response_model=None)
def dismiss_submit(
    request: Request,
    finding_id: Id,
    db: DB,
    reason: Annotated[str, Form(max_length=2000)] = "",
    principal: Principal = require(DECIDE),
) -> Response:
    return _act(
        request,
        db,
        principal,
        finding_id,
        lambda f: services.dismiss_finding(db, f, actor=principal, reason=reason),
    )


@router.post("/data/findings/{finding_id}/case", response_model=None)
def case_submit(
    request: Request,
    finding_id: Id,
    db: DB,
    note: Annotated[str, Form(max_length=2000)] = "",
    principal: Principal = require(DECIDE),
) -> Response:
    return _act(
        request,
        db,
        principal,
        finding_id,
        lambda f: services.finding_to_case(
            db, f, actor=principal, note=note, settings=request.app.state.settings
        ),
    )
