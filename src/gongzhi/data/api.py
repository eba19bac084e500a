"""JSON API of the data hub: ``/api/v1/data/...``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from gongzhi.crypto import get_provider
from gongzhi.data import queries, runs, services
from gongzhi.data.models import Dataset, DatasetVersion, ImportJob
from gongzhi.data.schemas import standard_schemas
from gongzhi.errors import Forbidden, Invalid
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

router = APIRouter(prefix="/api/v1/data", tags=["data"])


class DatasetIn(BaseModel):
    code: str = Field(max_length=60)
    name: str = Field(max_length=200)
    department_code: str
    resource_class: str = "department"
    abstract: str = ""
    sharing_type: str = "conditional"
    sharing_condition: str = ""
    sharing_method: str = ""
    open_type: str = "closed"
    open_condition: str = ""
    update_cycle: str = "monthly"
    release_date: date | None = None
    max_rejected_ratio: float = 0.1
    table_schema: dict[str, Any] | None = None
    standard_schema: str | None = None


class DatasetOut(BaseModel):
    code: str
    name: str
    abstract: str
    department_code: str
    department_name: str
    resource_class: str
    sharing_type: str
    sharing_condition: str
    open_type: str
    update_cycle: str
    release_date: date | None
    max_rejected_ratio: float
    current_version: int | None
    table_schema: dict[str, Any]


class VersionOut(BaseModel):
    number: int
    imported_at: datetime
    imported_by: str
    source_filename: str
    source_sha256: str
    source_size: int
    source_format: str
    source_encoding: str
    as_of: date
    rows_read: int
    row_count: int
    rows_rejected: int
    quality: dict[str, Any]


class JobOut(BaseModel):
    id: int
    dataset_code: str
    status: str
    filename: str
    size: int
    sha256: str
    created_at: datetime
    finished_at: datetime | None
    rows_read: int
    rows_rejected: int
    version: int | None
    error_code: str | None
    error_message: str | None
    file_report: list[dict[str, Any]] | None
    progress_percent: int | None
    issues_url: str


def dataset_out(dataset: Dataset, current: DatasetVersion | None) -> DatasetOut:
    return DatasetOut(
        code=dataset.code,
        name=dataset.name,
        abstract=dataset.abstract,
        department_code=dataset.department.code,
        department_name=dataset.department.name,
        resource_class=dataset.resource_class,
        sharing_type=dataset.sharing_type,
        sharing_condition=dataset.sharing_condition,
        open_type=dataset.open_type,
        update_cycle=dataset.update_cycle,
        release_date=dataset.release_date,
        max_rejected_ratio=dataset.max_rejected_ratio,
        current_version=current.number if current else None,
        table_schema=dataset.table_schema,
    )


def version_out(v: DatasetVersion) -> VersionOut:
    return VersionOut(
        number=v.number,
        imported_at=v.imported_at,
        imported_by=v.imported_by_label,
        source_filename=v.source_filename,
        source_sha256=v.source_sha256,
        source_size=v.source_size,
        source_format=v.source_format,
        source_encoding=v.source_encoding,
        as_of=v.as_of,
        rows_read=v.rows_read,
        row_count=v.row_count,
        rows_rejected=v.rows_rejected,
        quality=v.quality,
    )


def job_out(job: ImportJob) -> JobOut:
    progress = runs.progress_of(job.id)
    return JobOut(
        id=job.id,
        dataset_code=job.dataset.code,
        status=job.status,
        filename=job.filename,
        size=job.size,
        sha256=job.sha256,
        created_at=job.created_at,
        finished_at=job.finished_at,
        rows_read=job.rows_read,
        rows_rejected=job.rows_rejected,
        version=job.version.number if job.version else None,
        error_code=job.error_code,
        error_message=job.error_message,
        file_report=job.file_report,
        progress_percent=progress.percent if progress else None,
        issues_url=f"/api/v1/data/imports/{job.id}/issues.csv",
    )


def spec_from(body: DatasetIn) -> services.DatasetSpec:
    return services.DatasetSpec(
        code=body.code,
        name=body.name,
        department_code=body.department_code,
        resource_class=body.resource_class,
        abstract=body.abstract,
        sharing_type=body.sharing_type,
        sharing_condition=body.sharing_condition,
        sharing_method=body.sharing_method,
        open_type=body.open_type,
        open_condition=body.open_condition,
        update_cycle=body.update_cycle,
        release_date=body.release_date,
        max_rejected_ratio=body.max_rejected_ratio,
        table_schema=body.table_schema,
        standard=body.standard_schema,
    )


def _check_department_scope(db: DB, principal: Principal, department_code: str) -> None:
    from sqlalchemy import select

    from gongzhi.org.models import Department

    region = db.scalar(select(Department.region_code).where(Department.code == department_code))
    if region is not None and not principal.can(Permission.DATA_CATALOGUE_MANAGE, region):
        raise Forbidden("超出你的辖区 / outside your jurisdiction", code="out_of_scope")


@router.get("/standard-schemas")
def list_standard_schemas(
    principal: Principal = require(Permission.DATA_CATALOGUE_READ),
) -> dict[str, Any]:
    return standard_schemas()


@router.get("/datasets", response_model=list[DatasetOut])
def list_datasets(
    db: DB, principal: Principal = require(Permission.DATA_CATALOGUE_READ)
) -> list[DatasetOut]:
    datasets = queries.list_datasets(db, principal, Permission.DATA_CATALOGUE_READ)
    current = queries.current_versions(db, datasets)
    return [dataset_out(d, current.get(d.id)) for d in datasets]


@router.post("/datasets", response_model=DatasetOut, status_code=201)
def create_dataset(
    body: DatasetIn, db: DB, principal: Principal = require(Permission.DATA_CATALOGUE_MANAGE)
) -> DatasetOut:
    _check_department_scope(db, principal, body.department_code)
    dataset = services.create_dataset(db, spec_from(body), actor=principal)
    return dataset_out(dataset, None)


@router.get("/datasets/{code}", response_model=DatasetOut)
def show_dataset(
    code: str, db: DB, principal: Principal = require(Permission.DATA_CATALOGUE_READ)
) -> DatasetOut:
    dataset = queries.access_dataset(db, principal, code, Permission.DATA_CATALOGUE_READ)
    return dataset_out(dataset, queries.current_versions(db, [dataset]).get(dataset.id))


@router.put("/datasets/{code}/schema", response_model=DatasetOut)
def put_schema(
    code: str,
    body: dict[str, Any],
    db: DB,
    principal: Principal = require(Permission.DATA_CATALOGUE_MANAGE),
) -> DatasetOut:
    dataset = queries.access_dataset(db, principal, code, Permission.DATA_CATALOGUE_MANAGE)
    services.set_schema(db, dataset, body, actor=principal)
    return dataset_out(dataset, queries.current_versions(db, [dataset]).get(dataset.id))


@router.get("/datasets/{code}/versions", response_model=list[VersionOut])
def list_versions(
    code: str, db: DB, principal: Principal = require(Permission.DATA_CATALOGUE_READ)
) -> list[VersionOut]:
    dataset = queries.access_dataset(db, principal, code, Permission.DATA_CATALOGUE_READ)
    return [version_out(v) for v in queries.versions(db, dataset)]


@router.get("/datasets/{code}/versions/{number}", response_model=VersionOut)
def show_version(
    code: str, number: int, db: DB, principal: Principal = require(Permission.DATA_CATALOGUE_READ)
) -> VersionOut:
    dataset = queries.access_dataset(db, principal, code, Permission.DATA_CATALOGUE_READ)
    return version_out(queries.version(db, dataset, number))


@router.get("/datasets/{code}/compare")
def compare_versions(
    request: Request,
    code: str,
    db: DB,
    old: Annotated[int, Query(alias="from")],
    new: Annotated[int, Query(alias="to")],
    principal: Principal = require(Permission.DATA_CATALOGUE_READ),
) -> dict[str, Any]:
    dataset = queries.access_dataset(db, principal, code, Permission.DATA_CATALOGUE_READ)
    result = queries.compare_versions(
        db, dataset, old, new, provider=get_provider(request.app.state.settings)
    )
    return result.to_json()


def refuse_oversized_upload(request: Request) -> None:
    """Runs before the body is read: an oversized upload is refused from its length."""
    runs.check_declared_size(request.headers.get("content-length"))


async def read_upload(request: Request) -> tuple[UploadFile, dict[str, str]]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Invalid("请选择要导入的文件 / choose a file to import", code="no_file")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return upload, fields


def parse_as_of(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"日期格式应为 YYYY-MM-DD / bad date: {text}", code="invalid") from None


def accept_upload(
    request: Request,
    db: DB,
    principal: Principal,
    dataset: Dataset,
    upload: UploadFile,
    as_of: date | None,
) -> ImportJob:
    """Store the upload, create the job (committed with the request), start the import."""
    settings = request.app.state.settings
    path, size, sha256 = runs.receive_upload(upload.file, upload.filename or "", settings)
    job = services.start_import_job(
        db,
        dataset,
        filename=upload.filename or path.name,
        size=size,
        sha256=sha256,
        as_of=as_of,
        actor=principal,
    )
    db.commit()  # the job must exist before the thread looks for it
    runs.start_background_import(
        request.app.state.session_factory, settings, job.id, path, principal, size=size
    )
    return job


@router.post(
    "/datasets/{code}/imports",
    status_code=202,
    dependencies=[Depends(refuse_oversized_upload)],
)
async def upload_import(
    request: Request,
    code: str,
    db: DB,
    principal: Principal = require(Permission.DATA_IMPORT),
) -> JSONResponse:
    dataset = await run_in_threadpool(
        queries.access_dataset, db, principal, code, Permission.DATA_IMPORT
    )
    upload, fields = await read_upload(request)
    as_of = parse_as_of(fields.get("as_of", ""))
    job = await run_in_threadpool(accept_upload, request, db, principal, dataset, upload, as_of)
    return JSONResponse(
        {"job": job.id, "status_url": f"/api/v1/data/imports/{job.id}"},
        status_code=202,
        headers={"Location": f"/api/v1/data/imports/{job.id}"},
    )


@router.get("/imports/{job_id}", response_model=JobOut)
def show_job(
    job_id: int, db: DB, principal: Principal = require(Permission.DATA_CATALOGUE_READ)
) -> JobOut:
    return job_out(queries.access_job(db, principal, job_id, Permission.DATA_CATALOGUE_READ))


@router.get("/imports/{job_id}/issues.csv")
def job_issues(
    job_id: int, db: DB, principal: Principal = require(Permission.DATA_CATALOGUE_READ)
) -> Response:
    job = queries.access_job(db, principal, job_id, Permission.DATA_CATALOGUE_READ)
    body = "".join(queries.issues_csv(db, job))
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-issues.csv"'},
    )
