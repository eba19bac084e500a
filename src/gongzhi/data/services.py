"""Every state change of the data hub. Services never commit; each writes its audit event.

Imports are two or three units of work at the edge: ``start_import_job`` (committed, so the
attempt is visible at once), then ``import_version`` (the version, all or nothing), and on
failure ``record_import_failure`` in a fresh transaction (the report of a refused file).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, changes, record
from gongzhi.crypto import CryptoProvider
from gongzhi.data import tableschema
from gongzhi.data.importing import (
    ImportOutcome,
    ImportRefused,
    ProgressCallback,
    run_import,
    store_issues,
)
from gongzhi.data.models import (
    Dataset,
    ImportJob,
    ImportStatus,
    OpenType,
    ResourceClass,
    SharingType,
    UpdateCycle,
)
from gongzhi.data.reading import TableFile, open_table, sha256_of
from gongzhi.data.schemas import standard_schema
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.org.models import Department

CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass
class DatasetSpec:
    """What a catalogue entry says; ``table_schema`` or ``standard`` (a shipped schema)."""

    code: str
    name: str
    department_code: str
    resource_class: str = ResourceClass.DEPARTMENT.value
    abstract: str = ""
    sharing_type: str = SharingType.CONDITIONAL.value
    sharing_condition: str = ""
    sharing_method: str = ""
    open_type: str = OpenType.CLOSED.value
    open_condition: str = ""
    update_cycle: str = UpdateCycle.MONTHLY.value
    release_date: date | None = None
    max_rejected_ratio: float = 0.1
    resource_format: str = "table"
    table_schema: dict[str, Any] | None = None
    standard: str | None = None


def _choice(value: str, enum: type[Any], what: str) -> str:
    allowed = [m.value for m in enum]
    if value not in allowed:
        raise Invalid(
            f"{what} 须为 {'/'.join(allowed)} 之一 / bad {what}: {value!r}", code="invalid"
        )
    return value


def _check_spec(db: Session, spec: DatasetSpec) -> tuple[Department, dict[str, Any]]:
    if not spec.code or len(spec.code) > 60 or not set(spec.code) <= CODE_CHARS:
        raise Invalid(
            "编码只能含字母、数字、. _ -，最长 60 / code: letters, digits, . _ - (60 at most)",
            code="invalid_code",
        )
    if not spec.name.strip() or len(spec.name) > 200:
        raise Invalid("名称不能为空，最长 200 字 / name required (200 at most)", code="invalid")
    _choice(spec.resource_class, ResourceClass, "resource_class")
    _choice(spec.sharing_type, SharingType, "sharing_type")
    _choice(spec.open_type, OpenType, "open_type")
    _choice(spec.update_cycle, UpdateCycle, "update_cycle")
    if spec.sharing_type == SharingType.CONDITIONAL.value and not spec.sharing_condition.strip():
        raise Invalid(
            "有条件共享须写明共享条件 / conditional sharing needs its condition",
            code="invalid_sharing",
        )
    if spec.open_type == OpenType.CONDITIONAL.value and not spec.open_condition.strip():
        raise Invalid(
            "有条件开放须写明开放条件 / conditional opening needs its condition", code="invalid"
        )
    if not 0 <= spec.max_rejected_ratio <= 1:
        raise Invalid("拒收比例须在 0–1 之间 / max_rejected_ratio must be in 0..1", code="invalid")
    department = db.scalar(select(Department).where(Department.code == spec.department_code))
    if department is None or not department.active:
        raise Invalid(f"未知部门 / unknown department: {spec.department_code}", code="invalid")
    descriptor = spec.table_schema
    if descriptor is None and spec.standard:
        descriptor = standard_schema(spec.standard)
        if descriptor is None:
            raise Invalid(
                f"没有这个标准表结构 / no standard schema {spec.standard!r}", code="invalid"
            )
    if descriptor is None:
        raise Invalid("请给出表结构 / a Table Schema is required", code="invalid_schema")
    return department, tableschema.check(descriptor)


def create_dataset(db: Session, spec: DatasetSpec, *, actor: Actor) -> Dataset:
    department, descriptor = _check_spec(db, spec)
    if db.scalar(select(Dataset.id).where(Dataset.code == spec.code)) is not None:
        raise Conflict(
            f"数据集编码已存在 / dataset code exists: {spec.code}", code="duplicate_code"
        )
    dataset = Dataset(
        code=spec.code,
        name=spec.name.strip(),
        abstract=spec.abstract.strip(),
        department_id=department.id,
        resource_class=spec.resource_class,
        resource_format=spec.resource_format,
        sharing_type=spec.sharing_type,
        sharing_condition=spec.sharing_condition.strip(),
        sharing_method=spec.sharing_method.strip(),
        open_type=spec.open_type,
        open_condition=spec.open_condition.strip(),
        update_cycle=spec.update_cycle,
        release_date=spec.release_date,
        max_rejected_ratio=spec.max_rejected_ratio,
        table_schema=descriptor,
    )
    db.add(dataset)
    db.flush()
    record(
        db,
        actor=actor,
        action="data.dataset.create",
        object_type="data_dataset",
        object_id=dataset.id,
        new={**dataset.snapshot(), "fields": [f["name"] for f in descriptor["fields"]]},
        region_code=department.region_code,
    )
    return dataset


def update_dataset(db: Session, dataset: Dataset, spec: DatasetSpec, *, actor: Actor) -> Dataset:
    """Change the catalogue entry's metadata (the code stays; the schema via set_schema)."""
    if spec.table_schema is None and spec.standard is None:
        spec.table_schema = dataset.table_schema
    spec.code = dataset.code
    department, _descriptor = _check_spec(db, spec)
    before = dataset.snapshot()
    dataset.name = spec.name.strip()
    dataset.abstract = spec.abstract.strip()
    dataset.department_id = department.id
    dataset.resource_class = spec.resource_class
    dataset.resource_format = spec.resource_format
    dataset.sharing_type = spec.sharing_type
    dataset.sharing_condition = spec.sharing_condition.strip()
    dataset.sharing_method = spec.sharing_method.strip()
    dataset.open_type = spec.open_type
    dataset.open_condition = spec.open_condition.strip()
    dataset.update_cycle = spec.update_cycle
    dataset.release_date = spec.release_date
    dataset.max_rejected_ratio = spec.max_rejected_ratio
    db.flush()
    old, new = changes(before, dataset.snapshot())
    record(
        db,
        actor=actor,
        action="data.dataset.update",
        object_type="data_dataset",
        object_id=dataset.id,
        old=old,
        new=new,
        region_code=department.region_code,
    )
    return dataset


def set_schema(
    db: Session, dataset: Dataset, descriptor: dict[str, Any], *, actor: Actor
) -> Dataset:
    """Replace the dataset's Table Schema; versions keep the schema they were read with."""
    tableschema.check(descriptor)
    before = dataset.table_schema
    dataset.table_schema = descriptor
    db.flush()
    record(
        db,
        actor=actor,
        action="data.dataset.schema",
        object_type="data_dataset",
        object_id=dataset.id,
        old={
            "fields": [f["name"] for f in before["fields"]],
            "primaryKey": before.get("primaryKey"),
        },
        new={
            "fields": [f["name"] for f in descriptor["fields"]],
            "primaryKey": descriptor.get("primaryKey"),
        },
        region_code=dataset.department.region_code,
    )
    return dataset


# -- imports --------------------------------------------------------------------------------


def start_import_job(
    db: Session,
    dataset: Dataset,
    *,
    filename: str,
    size: int,
    sha256: str,
    as_of: date | None,
    actor: Actor,
) -> ImportJob:
    job = ImportJob(
        dataset_id=dataset.id,
        status=ImportStatus.QUEUED.value,
        filename=filename[:255],
        size=size,
        sha256=sha256,
        as_of=as_of,
        created_by_id=actor.audit_id,
        created_by_label=actor.audit_label,
        created_at=utcnow(),
    )
    db.add(job)
    db.flush()
    record(
        db,
        actor=actor,
        action="data.import.start",
        object_type="data_import_job",
        object_id=job.id,
        new={"dataset": dataset.code, "file": filename, "size": size, "sha256": sha256},
        region_code=dataset.department.region_code,
    )
    return job


def import_version(
    db: Session,
    job: ImportJob,
    path: Path,
    *,
    provider: CryptoProvider,
    actor: Actor,
    on_progress: ProgressCallback | None = None,
    batch_size: int | None = None,
) -> ImportOutcome:
    """Read ``path`` into the next version of the job's dataset (all or nothing)."""
    if job.status not in (ImportStatus.QUEUED.value, ImportStatus.RUNNING.value):
        raise Conflict("该导入任务已结束 / this import has finished", code="job_finished")
    table: TableFile = open_table(path, job.filename)
    job.status = ImportStatus.RUNNING.value
    kwargs: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
    return run_import(
        db,
        job,
        table,
        provider=provider,
        actor=actor,
        as_of=job.as_of,
        on_progress=on_progress,
        **kwargs,
    )


def record_import_failure(db: Session, job_id: int, error: Exception, *, actor: Actor) -> ImportJob:
    """Mark the job failed with its report (in a new transaction after the rollback)."""
    job = db.get(ImportJob, job_id)
    if job is None:
        raise NotFound("没有这个导入任务 / no such import", code="not_found")
    job.status = ImportStatus.FAILED.value
    job.finished_at = utcnow()
    if isinstance(error, ImportRefused):
        job.error_code = error.code
        job.error_message = error.message
        job.file_report = error.file_report or None
        job.quality = error.quality
        job.rows_read = error.rows_read
        job.rows_rejected = error.rows_rejected
        store_issues(db, job.id, error.issues)
    elif isinstance(error, Invalid | Conflict | NotFound):
        job.error_code = error.code
        job.error_message = error.message
        details = error.details if isinstance(error.details, list) else None
        job.file_report = details
    else:
        job.error_code = "internal_error"
        job.error_message = f"导入中断 / the import stopped: {type(error).__name__}"
    record(
        db,
        actor=actor,
        action="data.import.fail",
        object_type="data_import_job",
        object_id=job.id,
        new={"code": job.error_code, "message": job.error_message},
        region_code=job.dataset.department.region_code,
    )
    db.flush()
    return job


def import_file(
    db: Session,
    dataset: Dataset,
    path: Path,
    *,
    provider: CryptoProvider,
    actor: Actor,
    filename: str | None = None,
    as_of: date | None = None,
    on_progress: ProgressCallback | None = None,
    batch_size: int | None = None,
) -> ImportOutcome:
    """Job and version in one go, for callers that own a single transaction (tests, the
    demo); the CLI and the pages keep the job in its own transaction instead."""
    job = start_import_job(
        db,
        dataset,
        filename=filename or path.name,
        size=path.stat().st_size,
        sha256=sha256_of(path),
        as_of=as_of,
        actor=actor,
    )
    return import_version(
        db,
        job,
        path,
        provider=provider,
        actor=actor,
        on_progress=on_progress,
        batch_size=batch_size,
    )
