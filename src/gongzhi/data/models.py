"""Tables of the data hub.

A *dataset* is one catalogue entry (政务信息资源目录) with its Frictionless Table Schema.
Every successful import adds one immutable *version* (numbered 1, 2, …) holding its rows; the
latest version is the current one. Versions are written all or nothing in one transaction,
so a version row exists only when all its rows do. An *import job* records each attempt,
successful or not, with the issues found in the file (rejected rows and warnings), so a
refused file still leaves its report.

Rows keep the standardised values of public and internal fields in ``payload`` (JSON) and
seal everything classified sensitive and above into ``sealed`` (SM4-GCM through the crypto
provider); ``row_key`` and ``fingerprint`` are keyed indexes when the values behind them are
personal, so comparing versions never needs plaintext of unchanged rows.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow
from gongzhi.org.models import Department


class ResourceClass(StrEnum):
    """政务信息资源分类 (GB/T 21063.4): base, theme and department resources."""

    BASE = "base"  # 基础信息资源
    THEME = "theme"  # 主题信息资源
    DEPARTMENT = "department"  # 部门信息资源


class SharingType(StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享


class OpenType(StrEnum):
    OPEN = "open"  # 无条件开放
    CONDITIONAL = "conditional"  # 有条件开放
    CLOSED = "closed"  # 不予开放


class UpdateCycle(StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"


# Days one update cycle lasts (timeliness); irregular data has no due date.
UPDATE_CYCLE_DAYS: dict[UpdateCycle, int | None] = {
    UpdateCycle.REALTIME: 1,
    UpdateCycle.DAILY: 1,
    UpdateCycle.WEEKLY: 7,
    UpdateCycle.MONTHLY: 31,
    UpdateCycle.QUARTERLY: 92,
    UpdateCycle.HALF_YEARLY: 183,
    UpdateCycle.YEARLY: 366,
    UpdateCycle.IRREGULAR: None,
}


class Classification(StrEnum):
    """A field's level: public / internal / sensitive inside GB/T 43697 general data, with
    important and core data above them."""

    PUBLIC = "public"
    INTERNAL = "internal"
    SENSITIVE = "sensitive"
    IMPORTANT = "important"
    CORE = "core"


CLASSIFICATION_ORDER = {c: i for i, c in enumerate(Classification)}
# Fields at or above this level are never stored in plaintext.
SEALED_FROM = Classification.SENSITIVE


def is_sealed(classification: str) -> bool:
    return CLASSIFICATION_ORDER[Classification(classification)] >= CLASSIFICATION_ORDER[SEALED_FROM]


RESOURCE_CLASS_LABELS = {
    ResourceClass.BASE: "基础信息资源",
    ResourceClass.THEME: "主题信息资源",
    ResourceClass.DEPARTMENT: "部门信息资源",
}
SHARING_TYPE_LABELS = {
    SharingType.UNCONDITIONAL: "无条件共享",
    SharingType.CONDITIONAL: "有条件共享",
    SharingType.NONE: "不予共享",
}
OPEN_TYPE_LABELS = {
    OpenType.OPEN: "无条件开放",
    OpenType.CONDITIONAL: "有条件开放",
    OpenType.CLOSED: "不予开放",
}
UPDATE_CYCLE_LABELS = {
    UpdateCycle.REALTIME: "实时",
    UpdateCycle.DAILY: "每日",
    UpdateCycle.WEEKLY: "每周",
    UpdateCycle.MONTHLY: "每月",
    UpdateCycle.QUARTERLY: "每季度",
    UpdateCycle.HALF_YEARLY: "每半年",
    UpdateCycle.YEARLY: "每年",
    UpdateCycle.IRREGULAR: "不定期",
}
CLASSIFICATION_LABELS = {
    Classification.PUBLIC: "公开",
    Classification.INTERNAL: "内部",
    Classification.SENSITIVE: "敏感",
    Classification.IMPORTANT: "重要",
    Classification.CORE: "核心",
}


class Dataset(Base):
    """A catalogue entry: core metadata of 政务信息资源目录 plus its Table Schema."""

    __tablename__ = "data_dataset"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("department.id"), index=True)
    resource_class: Mapped[str] = mapped_column(String(20))
    resource_format: Mapped[str] = mapped_column(String(20), default="table")
    sharing_type: Mapped[str] = mapped_column(String(20))
    sharing_condition: Mapped[str] = mapped_column(Text, default="")
    sharing_method: Mapped[str] = mapped_column(String(40), default="")
    open_type: Mapped[str] = mapped_column(String(20))
    open_condition: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(20))
    release_date: Mapped[date | None] = mapped_column(Date)
    # Frictionless Table Schema (fields carry ``classification`` and optional ``standardise``
    # and ``role``); see gongzhi.data.tableschema.
    table_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    # A version fails when more than this share of its data rows is rejected.
    max_rejected_ratio: Mapped[float] = mapped_column(Float, default=0.1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()

    def snapshot(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "abstract": self.abstract,
            "department_id": self.department_id,
            "resource_class": self.resource_class,
            "resource_format": self.resource_format,
            "sharing_type": self.sharing_type,
            "sharing_condition": self.sharing_condition,
            "sharing_method": self.sharing_method,
            "open_type": self.open_type,
            "open_condition": self.open_condition,
            "update_cycle": self.update_cycle,
            "release_date": self.release_date,
            "max_rejected_ratio": self.max_rejected_ratio,
        }


class DatasetVersion(Base):
    """One successful import: immutable; its rows, its source file and its quality scores."""

    __tablename__ = "data_dataset_version"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_dataset.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    imported_by_label: Mapped[str] = mapped_column(String(200))
    source_filename: Mapped[str] = mapped_column(String(255))
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_size: Mapped[int] = mapped_column(BigInteger)
    source_format: Mapped[str] = mapped_column(String(10))  # csv | xlsx
    source_encoding: Mapped[str] = mapped_column(String(20))  # utf-8 | utf-8-sig | gb18030 | xlsx
    # The date the data describes (数据截止日期); timeliness is measured from it.
    as_of: Mapped[date] = mapped_column(Date)
    rows_read: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)  # rows kept in the version
    rows_rejected: Mapped[int] = mapped_column(Integer)
    # {"dataset": {dimension: score}, "fields": {name: {dimension: score}}, "counts": …}
    quality: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The Table Schema the rows were validated against (the dataset's may change later).
    table_schema: Mapped[dict[str, Any]] = mapped_column(JSON)

    dataset: Mapped[Dataset] = relationship()


class DatasetRow(Base):
    """One data row of a version. ``row_number`` is the line/row in the source file."""

    __tablename__ = "data_dataset_row"
    __table_args__ = (
        Index("ix_data_dataset_row_version_key", "version_id", "row_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_dataset_version.id", ondelete="CASCADE")
    )
    row_number: Mapped[int] = mapped_column(Integer)
    # The primary key's values joined by U+001F, or a keyed index ("~" + hex) when any key
    # field is sealed.
    row_key: Mapped[str] = mapped_column(String(200))
    # Keyed index over every standardised value of the row: equal rows, equal fingerprints.
    fingerprint: Mapped[str] = mapped_column(String(32))
    # The region an address field resolved to (12-digit code), for scoping and linkage.
    region_code: Mapped[str | None] = mapped_column(String(15))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportJob(Base):
    """One attempt to import a file, kept whether it succeeded or not."""

    __tablename__ = "data_import_job"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_dataset.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=ImportStatus.QUEUED.value)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    as_of: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    created_by_label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    version_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("data_dataset_version.id")
    )
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Header problems and other whole-file findings: [{"column", "reason"}].
    file_report: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The scores even of a refused file (threshold exceeded), for the report page.
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    dataset: Mapped[Dataset] = relationship()
    version: Mapped[DatasetVersion | None] = relationship()


class ImportIssue(Base):
    """A problem found in one row: the row rejected, or kept with a warning."""

    __tablename__ = "data_import_issue"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_import_job.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(100), default="")
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    rejected: Mapped[bool] = mapped_column(default=True)
    # The offending value, only for fields below "sensitive".
    value: Mapped[str | None] = mapped_column(Text)
