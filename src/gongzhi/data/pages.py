"""Staff pages of the data hub: the catalogue, a dataset with its fields and versions, the
upload with its progress, the quality report of a version, and comparing two versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gongzhi.crypto import get_provider
from gongzhi.data import queries, runs, services
from gongzhi.data.api import accept_upload, parse_as_of, read_upload, refuse_oversized_upload
from gongzhi.data.labels import (
    CLASS_NAMES,
    CYCLE_NAMES,
    DIMENSION_NAMES,
    LEVEL_NAMES,
    OPEN_NAMES,
    SHARING_NAMES,
    STATUS_NAMES,
    TYPE_NAMES,
)
from gongzhi.data.models import (
    ImportStatus,
)
from gongzhi.data.quality import DIMENSIONS
from gongzhi.data.schemas import standard_schemas
from gongzhi.errors import Conflict, DomainError, Invalid
from gongzhi.org.queries import department_scopes, list_departments
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import pick, request_locale, translator
from gongzhi.web.templating import render

router = APIRouter(tags=["data"], include_in_schema=False)
T = TypeVar("T")

READ = Permission.DATA_CATALOGUE_READ


def _labels(request: Request) -> dict[str, Any]:
    _ = translator(request)

    def tr(names: dict[str, str]) -> dict[str, str]:
        return {k: _(v) for k, v in names.items()}

    return {
        "dimension_names": tr(DIMENSION_NAMES),
        "sharing_names": tr(SHARING_NAMES),
        "open_names": tr(OPEN_NAMES),
        "cycle_names": tr(CYCLE_NAMES),
        "class_names": tr(CLASS_NAMES),
        "level_names": tr(LEVEL_NAMES),
        "status_names": tr(STATUS_NAMES),
        "type_names": tr(TYPE_NAMES),
        "dimensions": DIMENSIONS,
    }


def error_message(request: Request, exc: DomainError) -> str:
    """A refusal's message in the reader's language, for a page that shows it by its form."""
    return pick(exc.message, request_locale(request))


def form_action(
    request: Request,
    db: DB,
    action: Callable[[], str],
    *,
    refused: Callable[[str], Response],
    shown: tuple[type[DomainError], ...] = (Invalid, Conflict),
) -> Response:
    """A form's action. ``action`` calls the service and says where to go next; when the
    service refuses with one of ``shown``, the transaction is undone and ``refused`` shows
    the form's page again with the reason. Other refusals (not allowed, not found) keep their
    own status, so a form on someone else's object tells the caller nothing about it."""
    try:
        done = action()
    except shown as exc:
        db.rollback()
        return refused(error_message(request, exc))
    return RedirectResponse(done, status_code=303)


def object_form_action(
    request: Request,
    db: DB,
    *,
    load: Callable[[], T],
    action: Callable[[T], object],
    done: str,
    page: Callable[[T, str], Response],
) -> Response:
    """A step on one object (a sharing request, a finding) from its page: ``load`` reads it
    through its ``access_*`` helper, ``action`` calls the service, then back to ``done``;
    a refusal shows the object's ``page`` again, read afresh after the rollback, with the
    reason."""
    target = load()

    def step() -> str:
        action(target)
        return done

    return form_action(request, db, step, refused=lambda error: page(load(), error))


@router.get("/data", response_class=HTMLResponse)
def catalogue_page(request: Request, db: DB, principal: Principal = require(READ)) -> HTMLResponse:
    datasets = queries.list_datasets(db, principal, READ)
    return render(
        request,
        "data/catalogue.html",
        {
            "datasets": datasets,
            "current": queries.current_versions(db, datasets),
            "can_manage": principal.can(Permission.DATA_CATALOGUE_MANAGE),
            **_labels(request),
        },
    )


def _new_form(
    request: Request, db: DB, principal: Principal, form: dict[str, Any], error: str | None = None
) -> HTMLResponse:
    departments = [
        d
        for d in list_departments(db, scopes=department_scopes(principal))
        if principal.can(Permission.DATA_CATALOGUE_MANAGE, d.region_code)
    ]
    return render(
        request,
        "data/new.html",
        {
            "departments": departments,
            "standards": standard_schemas(),
            "form": form,
            "error": error,
            **_labels(request),
        },
        status_code=422 if error else 200,
    )


@router.get("/data/new", response_class=HTMLResponse)
def new_dataset_page(
    request: Request, db: DB, principal: Principal = require(Permission.DATA_CATALOGUE_MANAGE)
) -> HTMLResponse:
    return _new_form(request, db, principal, {"update_cycle": "monthly", "max_rejected": "0.1"})


@router.post("/data/new", response_model=None)
def new_dataset_submit(
    request: Request,
    db: DB,
    code: Annotated[str, Form(max_length=60)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    abstract: Annotated[str, Form(max_length=4000)] = "",
    department_code: Annotated[str, Form(max_length=40)] = "",
    standard: Annotated[str, Form(max_length=60)] = "",
    resource_class: Annotated[str, Form(max_length=20)] = "department",
    sharing_type: Annotated[str, Form(max_length=20)] = "conditional",
    sharing_condition: Annotated[str, Form(max_length=2000)] = "",
    open_type: Annotated[str, Form(max_length=20)] = "closed",
    open_condition: Annotated[str, Form(max_length=2000)] = "",
    update_cycle: Annotated[str, Form(max_length=20)] = "monthly",
    max_rejected: Annotated[str, Form(max_length=10)] = "0.1",
    principal: Principal = require(Permission.DATA_CATALOGUE_MANAGE),
) -> Response:
    form = {
        "code": code,
        "name": name,
        "abstract": abstract,
        "department_code": department_code,
        "standard": standard,
        "resource_class": resource_class,
        "sharing_type": sharing_type,
        "sharing_condition": sharing_condition,
        "open_type": open_type,
        "open_condition": open_condition,
        "update_cycle": update_cycle,
        "max_rejected": max_rejected,
    }
    try:
        ratio = float(max_rejected or "0.1")
    except ValueError:
        ratio = -1.0
    allowed = [
        d.code
        for d in list_departments(db, scopes=department_scopes(principal))
        if principal.can(Permission.DATA_CATALOGUE_MANAGE, d.region_code)
    ]
    _ = translator(request)
    if department_code not in allowed:
        return _new_form(request, db, principal, form, _("请选择提供部门"))
    spec = services.DatasetSpec(
        code=code.strip(),
        name=name,
        department_code=department_code,
        resource_class=resource_class,
        abstract=abstract,
        sharing_type=sharing_type,
        sharing_condition=sharing_condition,
        open_type=open_type,
        open_condition=open_condition,
        update_cycle=update_cycle,
        max_rejected_ratio=ratio,
        standard=standard or None,
    )

    def create() -> str:
        return f"/data/datasets/{services.create_dataset(db, spec, actor=principal).code}"

    return form_action(
        request, db, create, refused=lambda error: _new_form(request, db, principal, form, error)
    )


@router.get("/data/datasets/{code}", response_class=HTMLResponse)
def dataset_page(
    request: Request, code: str, db: DB, principal: Principal = require(READ)
) -> HTMLResponse:
    dataset = queries.access_dataset(db, principal, code, READ)
    versions = queries.versions(db, dataset)
    return render(
        request,
        "data/dataset.html",
        {
            "dataset": dataset,
            "fields": dataset.table_schema["fields"],
            "primary_key": dataset.table_schema.get("primaryKey", []),
            "versions": versions,
            "jobs": queries.jobs(db, dataset, limit=10),
            "can_import": principal.can(Permission.DATA_IMPORT, dataset.department.region_code),
            "limit_mb": runs.UPLOAD_LIMIT_BYTES // (1024 * 1024),
            **_labels(request),
        },
    )


@router.post(
    "/data/datasets/{code}/imports",
    response_model=None,
    dependencies=[Depends(refuse_oversized_upload)],
)
async def upload_page(
    request: Request,
    code: str,
    db: DB,
    principal: Principal = require(Permission.DATA_IMPORT),
) -> Response:
    dataset = await run_in_threadpool(
        queries.access_dataset, db, principal, code, Permission.DATA_IMPORT
    )
    upload, fields = await read_upload(request)
    as_of = parse_as_of(fields.get("as_of", ""))
    job = await run_in_threadpool(accept_upload, request, db, principal, dataset, upload, as_of)
    return RedirectResponse(f"/data/imports/{job.id}", status_code=303)


def _job_context(request: Request, db: DB, principal: Principal, job_id: int) -> dict[str, Any]:
    job = queries.access_job(db, principal, job_id, READ)
    finished = job.status in (ImportStatus.SUCCEEDED.value, ImportStatus.FAILED.value)
    return {
        "job": job,
        "dataset": job.dataset,
        "finished": finished,
        "progress": runs.progress_of(job.id),
        "issues": queries.issues(db, job, limit=50) if finished else [],
        "issue_counts": queries.issue_counts(db, job) if finished else {},
        "quality": job.quality,
        "fields": (job.version.table_schema if job.version else job.dataset.table_schema)["fields"],
        **_labels(request),
    }


@router.get("/data/imports/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request, job_id: int, db: DB, principal: Principal = require(READ)
) -> HTMLResponse:
    return render(request, "data/job.html", _job_context(request, db, principal, job_id))


@router.get("/data/imports/{job_id}/progress", response_class=HTMLResponse)
def job_progress(
    request: Request, job_id: int, db: DB, principal: Principal = require(READ)
) -> HTMLResponse:
    context = _job_context(request, db, principal, job_id)
    response = render(request, "data/job_progress.html", context)
    if context["finished"]:
        # The page shows the full report once the import has ended.
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/data/imports/{job_id}/issues.csv")
def job_issues_csv(job_id: int, db: DB, principal: Principal = require(READ)) -> Response:
    job = queries.access_job(db, principal, job_id, READ)
    body = "".join(queries.issues_csv(db, job))
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-issues.csv"'},
    )


@router.get("/data/datasets/{code}/versions/{number}", response_class=HTMLResponse)
def version_page(
    request: Request, code: str, number: int, db: DB, principal: Principal = require(READ)
) -> HTMLResponse:
    dataset = queries.access_dataset(db, principal, code, READ)
    version = queries.version(db, dataset, number)
    job = next(
        (j for j in queries.jobs(db, dataset, limit=1000) if j.version_id == version.id), None
    )
    return render(
        request,
        "data/version.html",
        {
            "dataset": dataset,
            "version": version,
            "job": job,
            "quality": version.quality,
            "fields": version.table_schema["fields"],
            **_labels(request),
        },
    )


@router.get("/data/datasets/{code}/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    code: str,
    db: DB,
    principal: Principal = require(READ),
    old: Annotated[int | None, Query(alias="from")] = None,
    new: Annotated[int | None, Query(alias="to")] = None,
) -> HTMLResponse:
    dataset = queries.access_dataset(db, principal, code, READ)
    versions = queries.versions(db, dataset)
    numbers = [v.number for v in versions]
    if new is None and numbers:
        new = numbers[0]
    if old is None and len(numbers) > 1:
        old = numbers[1]
    result = None
    error = None
    if old is not None and new is not None:
        try:
            result = queries.compare_versions(
                db, dataset, old, new, provider=get_provider(request.app.state.settings)
            )
        except DomainError as exc:
            error = error_message(request, exc)
    return render(
        request,
        "data/compare.html",
        {
            "dataset": dataset,
            "numbers": numbers,
            "old": old,
            "new": new,
            "result": result,
            "error": error,
            **_labels(request),
        },
    )
