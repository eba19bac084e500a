"""Reads of the data hub, through ``access_*`` helpers that apply the principal's scope.

A dataset belongs to its provider department's region: a principal sees it when a grant
carrying the permission covers that region (a county data officer sees every county and
township department's datasets; a township one only its township's).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from gongzhi.crypto import CryptoProvider
from gongzhi.data.importing import sealed_associated_data
from gongzhi.data.master_index_models import (
    MasterEntity,
    MasterHousehold,
    MasterHouseholdMember,
    MasterLink,
)
from gongzhi.data.models import (
    Dataset,
    DatasetRow,
    DatasetVersion,
    ImportIssue,
    ImportJob,
)
from gongzhi.errors import Invalid, NotFound
from gongzhi.org.models import Department
from gongzhi.regions.codes import subtree_bounds
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal


def _scope_filter(principal: Principal, permission: Permission) -> Any:
    from sqlalchemy import false, or_

    clauses = []
    for region in principal.regions_for(permission):
        low, high = subtree_bounds(region)
        clauses.append(Department.region_code.between(low, high))
    return or_(*clauses) if clauses else false()


def list_datasets(db: Session, principal: Principal, permission: Permission) -> list[Dataset]:
    return list(
        db.scalars(
            select(Dataset)
            .join(Department, Dataset.department_id == Department.id)
            .where(_scope_filter(principal, permission))
            .options(joinedload(Dataset.department))
            .order_by(Dataset.code)
        )
    )


def access_dataset(db: Session, principal: Principal, code: str, permission: Permission) -> Dataset:
    dataset = db.scalar(
        select(Dataset).where(Dataset.code == code).options(joinedload(Dataset.department))
    )
    if dataset is None or not principal.can(permission, dataset.department.region_code):
        raise NotFound("没有这个数据集 / no such dataset", code="not_found")
    return dataset


def access_job(db: Session, principal: Principal, job_id: int, permission: Permission) -> ImportJob:
    job = db.get(ImportJob, job_id)
    if job is None or not principal.can(permission, job.dataset.department.region_code):
        raise NotFound("没有这个导入任务 / no such import", code="not_found")
    return job


def versions(db: Session, dataset: Dataset) -> list[DatasetVersion]:
    return list(
        db.scalars(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == dataset.id)
            .order_by(DatasetVersion.number.desc())
        )
    )


def current_versions(db: Session, datasets: list[Dataset]) -> dict[int, DatasetVersion]:
    """The latest version of each dataset (by dataset id)."""
    if not datasets:
        return {}
    latest = (
        select(DatasetVersion.dataset_id, func.max(DatasetVersion.number).label("number"))
        .where(DatasetVersion.dataset_id.in_([d.id for d in datasets]))
        .group_by(DatasetVersion.dataset_id)
        .subquery()
    )
    rows = db.scalars(
        select(DatasetVersion).join(
            latest,
            (DatasetVersion.dataset_id == latest.c.dataset_id)
            & (DatasetVersion.number == latest.c.number),
        )
    )
    return {v.dataset_id: v for v in rows}


def version(db: Session, dataset: Dataset, number: int) -> DatasetVersion:
    found = db.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.number == number
        )
    )
    if found is None:
        raise NotFound("没有这个版本 / no such version", code="not_found")
    return found


def jobs(db: Session, dataset: Dataset, limit: int = 20) -> list[ImportJob]:
    return list(
        db.scalars(
            select(ImportJob)
            .where(ImportJob.dataset_id == dataset.id)
            .order_by(ImportJob.id.desc())
            .limit(limit)
        )
    )


def issues(db: Session, job: ImportJob, limit: int | None = None) -> list[ImportIssue]:
    query = (
        select(ImportIssue)
        .where(ImportIssue.job_id == job.id)
        .order_by(ImportIssue.row_number, ImportIssue.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.scalars(query))


def issue_counts(db: Session, job: ImportJob) -> dict[str, int]:
    rows = db.execute(
        select(ImportIssue.code, func.count())
        .where(ImportIssue.job_id == job.id)
        .group_by(ImportIssue.code)
    )
    return {code: n for code, n in rows}


ISSUE_CSV_HEADER = [
    "行号 row",
    "处理 outcome",
    "字段 field",
    "问题 code",
    "原因 reason",
    "值 value",
]


def issues_csv(db: Session, job: ImportJob) -> Iterator[str]:
    """The job's issues as CSV text chunks (UTF-8 with BOM for spreadsheet programs):
    rejected rows and the warnings on kept rows, with row numbers and reasons."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write("\ufeff")
    writer.writerow(ISSUE_CSV_HEADER)
    if job.file_report:
        for item in job.file_report:
            writer.writerow(
                [
                    0,
                    "拒收文件 file refused",
                    item.get("column", ""),
                    job.error_code or "",
                    item.get("reason", ""),
                    "",
                ]
            )
    yield out.getvalue()
    result = db.execute(
        select(
            ImportIssue.row_number,
            ImportIssue.rejected,
            ImportIssue.field,
            ImportIssue.code,
            ImportIssue.message,
            ImportIssue.value,
        )
        .where(ImportIssue.job_id == job.id)
        .order_by(ImportIssue.row_number, ImportIssue.id)
        .execution_options(yield_per=5000)
    )
    for chunk in result.partitions(5000):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row_number, rejected, field_name, code, message, value in chunk:
            writer.writerow(
                [
                    row_number,
                    "拒收 rejected" if rejected else "保留 kept",
                    field_name,
                    code,
                    message,
                    value or "",
                ]
            )
        yield out.getvalue()


# -- comparing versions ---------------------------------------------------------------------


@dataclass
class VersionComparison:
    dataset_code: str
    old_number: int
    new_number: int
    old_rows: int
    new_rows: int
    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0
    field_changes: dict[str, int] = field(default_factory=dict)
    fields_added: list[str] = field(default_factory=list)
    fields_removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset_code,
            "from": self.old_number,
            "to": self.new_number,
            "rows": {"from": self.old_rows, "to": self.new_rows},
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "field_changes": self.field_changes,
            "fields_added": self.fields_added,
            "fields_removed": self.fields_removed,
        }


def _keys(db: Session, version_id: int) -> dict[str, str]:
    rows = db.execute(
        select(DatasetRow.row_key, DatasetRow.fingerprint).where(
            DatasetRow.version_id == version_id
        )
    )
    return {key: fingerprint for key, fingerprint in rows}


def row_values(provider: CryptoProvider, version_id: int, row: DatasetRow) -> dict[str, Any]:
    """A row's standardised values, its sealed fields opened."""
    values = dict(row.payload)
    if row.sealed is not None:
        opened = provider.open(
            row.sealed, associated_data=sealed_associated_data(version_id, row.row_number)
        )
        values.update(json.loads(opened))
    return values


def _values_by_key(
    db: Session, provider: CryptoProvider, version_id: int, keys: list[str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        for row in db.scalars(
            select(DatasetRow).where(
                DatasetRow.version_id == version_id, DatasetRow.row_key.in_(chunk)
            )
        ):
            out[row.row_key] = row_values(provider, version_id, row)
    return out


def compare_versions(
    db: Session,
    dataset: Dataset,
    old_number: int,
    new_number: int,
    *,
    provider: CryptoProvider,
) -> VersionComparison:
    """Rows added, removed and changed (by primary key) from one version to another, and
    how many changed rows changed in each field. Unchanged rows are told apart by their
    fingerprints alone; only changed rows are opened."""
    if old_number == new_number:
        raise Invalid("请选择两个不同的版本 / choose two different versions", code="invalid")
    old = version(db, dataset, old_number)
    new = version(db, dataset, new_number)
    if old.table_schema.get("primaryKey") != new.table_schema.get("primaryKey"):
        raise Invalid(
            "两个版本的主键不同，无法逐行比较 / the versions have different primary keys",
            code="incomparable",
        )
    old_keys = _keys(db, old.id)
    new_keys = _keys(db, new.id)
    result = VersionComparison(dataset.code, old.number, new.number, len(old_keys), len(new_keys))
    changed: list[str] = []
    for key, fingerprint in new_keys.items():
        before = old_keys.get(key)
        if before is None:
            result.added += 1
        elif before != fingerprint:
            changed.append(key)
        else:
            result.unchanged += 1
    result.removed = sum(1 for key in old_keys if key not in new_keys)
    result.changed = len(changed)
    old_fields = [f["name"] for f in old.table_schema["fields"]]
    new_fields = [f["name"] for f in new.table_schema["fields"]]
    result.fields_added = [f for f in new_fields if f not in old_fields]
    result.fields_removed = [f for f in old_fields if f not in new_fields]
    counts = {name: 0 for name in new_fields if name in old_fields}
    if changed:
        before_values = _values_by_key(db, provider, old.id, changed)
        after_values = _values_by_key(db, provider, new.id, changed)
        for key in changed:
            a = before_values.get(key, {})
            b = after_values.get(key, {})
            for name in counts:
                if a.get(name) != b.get(name):
                    counts[name] += 1
    result.field_changes = counts
    return result


# -- the master index ---------------------------------------------------------------------


def _master_index_readable(principal: Principal, place: Any) -> Any:
    """``place`` (a region code column) lies in a region the principal may read the master
    index in."""
    from sqlalchemy import false, or_

    regions = principal.regions_for(Permission.DATA_MASTER_INDEX_READ)
    if not regions:
        return false()
    return or_(*(place.between(*subtree_bounds(region)) for region in regions))


def _master_scope(principal: Principal) -> Any:
    """Entities with at least one row in a region the principal may read the master index
    in. A row's region is the one its address resolved to; a row without one counts in
    its provider department's region (as its dataset does)."""
    from sqlalchemy import exists

    place = func.coalesce(DatasetRow.region_code, Department.region_code)
    inside = _master_index_readable(principal, place)
    return exists(
        select(MasterLink.id)
        .join(DatasetRow, DatasetRow.id == MasterLink.row_id)
        .join(Dataset, Dataset.id == MasterLink.dataset_id)
        .join(Department, Department.id == Dataset.department_id)
        .where(MasterLink.entity_id == MasterEntity.id, inside)
    )


@dataclass
class MasterEntityPage:
    total: int
    entities: list[MasterEntity]
    # entities in 1, 2, 3 … datasets, of those the principal may see
    by_datasets: dict[int, int]


def list_master_entities(
    db: Session,
    principal: Principal,
    *,
    kind: str,
    min_datasets: int = 1,
    limit: int = 50,
    offset: int = 0,
) -> MasterEntityPage:
    """The master index's entities of ``kind`` within the principal's region scope, most
    datasets first."""
    scoped = (MasterEntity.kind == kind, _master_scope(principal))
    where = (*scoped, MasterEntity.dataset_count >= min_datasets)
    total = db.scalar(select(func.count()).select_from(MasterEntity).where(*where)) or 0
    entities = db.scalars(
        select(MasterEntity)
        .where(*where)
        .order_by(
            MasterEntity.dataset_count.desc(), MasterEntity.record_count.desc(), MasterEntity.id
        )
        .limit(limit)
        .offset(offset)
    ).all()
    counts = db.execute(
        select(MasterEntity.dataset_count, func.count())
        .where(*scoped)
        .group_by(MasterEntity.dataset_count)
    )
    return MasterEntityPage(total, list(entities), {n: c for n, c in counts})


def access_master_entity(db: Session, principal: Principal, entity_id: int) -> MasterEntity:
    """One entity of the master index, if it has a row in the principal's region scope;
    NotFound otherwise (as for an id that does not exist)."""
    entity = db.scalar(
        select(MasterEntity).where(MasterEntity.id == entity_id, _master_scope(principal))
    )
    if entity is None:
        raise NotFound("没有这个主索引实体 / no such entity", code="not_found")
    return entity


# -- the master index's households --------------------------------------------------------


def _household_scope(principal: Principal) -> Any:
    """Households in a region the principal may read the master index in: the household's
    region (its head's registry row), else its registry's provider department's."""
    place = func.coalesce(MasterHousehold.region_code, Department.region_code)
    return _master_index_readable(principal, place)


def _scoped_households() -> Any:
    return (
        select(MasterHousehold)
        .join(Dataset, Dataset.id == MasterHousehold.dataset_id)
        .join(Department, Department.id == Dataset.department_id)
    )


@dataclass
class MasterHouseholdPage:
    total: int
    households: list[MasterHousehold]
    one_list_only: int  # of those the principal may see


def list_master_households(
    db: Session,
    principal: Principal,
    *,
    one_list_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> MasterHouseholdPage:
    """The current person build's households within the principal's region scope, in the
    order they were derived; ``one_list_only``: those on exactly one benefits list."""
    only_one = MasterHousehold.on_low_income != MasterHousehold.on_poverty
    scoped = _household_scope(principal)
    where = (scoped, only_one) if one_list_only else (scoped,)

    def count(*clauses: Any) -> int:
        query = _scoped_households().where(*clauses).with_only_columns(func.count())
        return db.scalar(query) or 0

    households = db.scalars(
        _scoped_households().where(*where).order_by(MasterHousehold.id).limit(limit).offset(offset)
    ).all()
    return MasterHouseholdPage(count(*where), list(households), count(scoped, only_one))


def access_master_household(
    db: Session, principal: Principal, household_id: int
) -> MasterHousehold:
    """One household of the master index in the principal's region scope; NotFound
    otherwise (as for an id that does not exist)."""
    household = db.scalar(
        _scoped_households().where(MasterHousehold.id == household_id, _household_scope(principal))
    )
    if household is None:
        raise NotFound("没有这户 / no such household", code="not_found")
    return household


def household_members(db: Session, household: MasterHousehold) -> list[MasterHouseholdMember]:
    return list(
        db.scalars(
            select(MasterHouseholdMember)
            .where(MasterHouseholdMember.household_id == household.id)
            .order_by(MasterHouseholdMember.id)
        )
    )


def household_of_entity(
    db: Session, principal: Principal, entity: MasterEntity
) -> MasterHousehold | None:
    """The person's household, if it is in the principal's region scope."""
    return db.scalar(
        _scoped_households()
        .join(MasterHouseholdMember, MasterHouseholdMember.household_id == MasterHousehold.id)
        .where(MasterHouseholdMember.entity_id == entity.id, _household_scope(principal))
    )
