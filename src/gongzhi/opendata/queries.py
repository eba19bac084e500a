"""What is published, read from the data hub's catalogue.

A dataset is *published* when its open type allows it: 无条件开放 (``open``) for everyone;
有条件开放 (``conditional``) only for a caller holding ``data:catalogue:read`` over the
provider department's region (CKAN's "private" datasets); 不予开放 (``closed``) never — not
even its existence.

Of a published dataset only its *open fields* leave the platform: fields classified
``public`` in both the version that holds the rows and the dataset's current schema (a
field reclassified later is withdrawn from old versions too), and never a personal field —
an ID number, a person's name, a phone number, a birth date or sex (by the field's
``standardise`` hook or ``role``, or ``"personal": true``), nor the address of a dataset
whose rows are people (its primary key is personal).

Identifiers are stable: a package's ``name`` is its catalogue code in lower case, its ``id``
and its resource's ``id`` are UUIDs derived from the code; an organisation is the provider
department, named by its code in lower case.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from gongzhi.data.models import (
    OPEN_TYPE_LABELS,
    RESOURCE_CLASS_LABELS,
    SHARING_TYPE_LABELS,
    UPDATE_CYCLE_LABELS,
    Classification,
    Dataset,
    DatasetVersion,
    OpenType,
    ResourceClass,
    SharingType,
    UpdateCycle,
)
from gongzhi.data.queries import current_versions
from gongzhi.org.models import Department
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

# Fixed namespace of the UUIDs derived from catalogue and department codes (never change
# it: clients keep these ids).
ID_NAMESPACE = uuid.UUID("5b0f1d7e-2a51-4c1e-9d39-6f3c1f0a9e42")

PERSONAL_HOOKS = frozenset({"id_number", "person_name", "phone"})
PERSONAL_ROLES = frozenset({"birth_date", "sex"})

# Published under this licence unless the Table Schema names one (``licenses``, as in a
# Frictionless Data Package).
DEFAULT_LICENSE = {
    "id": "cc-by-4.0",
    "title": "Creative Commons Attribution 4.0",
    "url": "https://creativecommons.org/licenses/by/4.0/",
}

READ_PERMISSION = Permission.DATA_CATALOGUE_READ


def package_id(code: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"dataset:{code}"))


def resource_id(code: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"resource:{code}"))


def organization_id(department_code: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"department:{department_code}"))


def slug(code: str) -> str:
    """A CKAN name (lower-case letters, digits, ``-`` and ``_``) for a catalogue code."""
    return code.lower().replace(".", "_")


def _is_personal(spec: dict[str, Any], rows_are_people: bool) -> bool:
    if spec.get("personal") is True:
        return True
    if spec.get("standardise") in PERSONAL_HOOKS or spec.get("role") in PERSONAL_ROLES:
        return True
    return rows_are_people and spec.get("standardise") == "address"


def _rows_are_people(descriptor: dict[str, Any]) -> bool:
    key = descriptor.get("primaryKey") or []
    keys = {key} if isinstance(key, str) else set(key)
    return any(
        f["name"] in keys and _is_personal(f, rows_are_people=False) for f in descriptor["fields"]
    )


def _public_fields(descriptor: dict[str, Any]) -> dict[str, dict[str, Any]]:
    people = _rows_are_people(descriptor)
    return {
        f["name"]: f
        for f in descriptor["fields"]
        if f.get("classification", Classification.INTERNAL.value) == Classification.PUBLIC.value
        and not _is_personal(f, people)
    }


def open_fields(dataset: Dataset, version: DatasetVersion | None) -> list[dict[str, Any]]:
    """The fields of ``version`` (or of the current schema when there is none) that may be
    published, in the version's column order."""
    current = _public_fields(dataset.table_schema)
    if version is None:
        return list(current.values())
    held = _public_fields(version.table_schema)
    return [spec for name, spec in held.items() if name in current]


@dataclass
class Listing:
    """A published dataset with what its CKAN, DCAT and portal forms need."""

    dataset: Dataset
    version: DatasetVersion | None
    fields: list[dict[str, Any]] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.dataset.code

    @property
    def name(self) -> str:
        return slug(self.dataset.code)

    @property
    def id(self) -> str:
        return package_id(self.dataset.code)

    @property
    def resource_id(self) -> str:
        return resource_id(self.dataset.code)

    @property
    def private(self) -> bool:
        return self.dataset.open_type == OpenType.CONDITIONAL.value

    @property
    def department(self) -> Department:
        return self.dataset.department

    @property
    def organization_name(self) -> str:
        return slug(self.dataset.department.code)

    @property
    def keywords(self) -> list[str]:
        words = self.dataset.table_schema.get("keywords") or []
        return [str(w) for w in words if str(w).strip()]

    @property
    def tags(self) -> list[str]:
        label = RESOURCE_CLASS_LABELS.get(ResourceClass(self.dataset.resource_class))
        out = [label] if label else []
        for word in self.keywords:
            if word not in out:
                out.append(word)
        return out

    @property
    def license(self) -> dict[str, str]:
        licenses = self.dataset.table_schema.get("licenses") or []
        if licenses and isinstance(licenses[0], dict) and licenses[0].get("name"):
            first = licenses[0]
            return {
                "id": str(first["name"]),
                "title": str(first.get("title") or first["name"]),
                "url": str(first.get("path") or ""),
            }
        return DEFAULT_LICENSE

    @property
    def modified(self) -> datetime:
        times = [self.dataset.updated_at, self.dataset.created_at]
        if self.version is not None:
            times.append(self.version.imported_at)
        return max(t for t in times if t is not None)

    @property
    def quality(self) -> dict[str, float | None]:
        if self.version is None:
            return {}
        scores: dict[str, float | None] = self.version.quality.get("dataset", {})
        return scores

    @property
    def csv_path(self) -> str | None:
        if self.version is None:
            return None
        return f"/opendata/{self.name}/{self.version.number}.csv"

    @property
    def update_cycle_label(self) -> str:
        return UPDATE_CYCLE_LABELS[UpdateCycle(self.dataset.update_cycle)]

    @property
    def sharing_type_label(self) -> str:
        return SHARING_TYPE_LABELS[SharingType(self.dataset.sharing_type)]

    @property
    def open_type_label(self) -> str:
        return OPEN_TYPE_LABELS[OpenType(self.dataset.open_type)]


def may_read_conditional(principal: Principal | None, dataset: Dataset) -> bool:
    """A conditionally open dataset is readable with a data permission over its region."""
    return principal is not None and principal.can(READ_PERMISSION, dataset.department.region_code)


def _listings(db: Session, datasets: Iterable[Dataset]) -> list[Listing]:
    datasets = list(datasets)
    latest = current_versions(db, datasets)
    out = []
    for dataset in datasets:
        version = latest.get(dataset.id)
        out.append(Listing(dataset, version, open_fields(dataset, version)))
    return out


def published(db: Session, principal: Principal | None, *, include_private: bool) -> list[Listing]:
    """Every dataset the caller may see, ordered by code: the open ones, and with
    ``include_private`` the conditionally open ones the principal may read."""
    types = [OpenType.OPEN.value]
    if include_private and principal is not None:
        types.append(OpenType.CONDITIONAL.value)
    datasets = db.scalars(
        select(Dataset)
        .join(Department, Dataset.department_id == Department.id)
        .where(Dataset.open_type.in_(types), Department.active.is_(True))
        .options(joinedload(Dataset.department))
        .order_by(Dataset.code)
    )
    visible = [
        d
        for d in datasets
        if d.open_type == OpenType.OPEN.value or may_read_conditional(principal, d)
    ]
    return _listings(db, visible)


class Hidden(Exception):
    """The dataset exists but is conditionally open and the caller may not read it."""


def find(db: Session, principal: Principal | None, ident: str) -> Listing | None:
    """A published dataset by package id, name or catalogue code; None when there is no
    such published dataset (closed ones included); ``Hidden`` for a conditional one the
    caller may not read."""
    ident = ident.strip()
    if not ident:
        return None
    candidates = db.scalars(
        select(Dataset)
        .join(Department, Dataset.department_id == Department.id)
        .where(
            Dataset.open_type.in_([OpenType.OPEN.value, OpenType.CONDITIONAL.value]),
            Department.active.is_(True),
        )
        .options(joinedload(Dataset.department))
        .order_by(Dataset.code)
    )
    lowered = ident.lower()
    for dataset in candidates:
        if ident in (dataset.code, package_id(dataset.code)) or lowered == slug(dataset.code):
            if dataset.open_type == OpenType.CONDITIONAL.value and not may_read_conditional(
                principal, dataset
            ):
                raise Hidden(dataset.code)
            return _listings(db, [dataset])[0]
    return None


def find_by_resource(db: Session, principal: Principal | None, ident: str) -> Listing | None:
    """A published dataset by its resource id (or, for convenience, its package name)."""
    ident = ident.strip()
    for dataset in db.scalars(
        select(Dataset)
        .join(Department, Dataset.department_id == Department.id)
        .where(
            Dataset.open_type.in_([OpenType.OPEN.value, OpenType.CONDITIONAL.value]),
            Department.active.is_(True),
        )
        .options(joinedload(Dataset.department))
    ):
        if ident == resource_id(dataset.code):
            if dataset.open_type == OpenType.CONDITIONAL.value and not may_read_conditional(
                principal, dataset
            ):
                raise Hidden(dataset.code)
            return _listings(db, [dataset])[0]
    return find(db, principal, ident)


def version_of(db: Session, listing: Listing, number: int) -> DatasetVersion | None:
    return db.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == listing.dataset.id, DatasetVersion.number == number
        )
    )


@dataclass
class Organization:
    department: Department
    listings: list[Listing]

    @property
    def name(self) -> str:
        return slug(self.department.code)

    @property
    def id(self) -> str:
        return organization_id(self.department.code)


def organizations(listings: list[Listing]) -> list[Organization]:
    """Provider departments of the given datasets, by department code."""
    by_code: dict[str, Organization] = {}
    for listing in listings:
        dept = listing.department
        by_code.setdefault(dept.code, Organization(dept, [])).listings.append(listing)
    return [by_code[k] for k in sorted(by_code)]
