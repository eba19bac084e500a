"""Tables of the org domain: departments, staff profiles, the responsibility list (权责清单)
and the local work-calendar overrides.

Enumerated values are stored as short strings (the ``StrEnum`` values below) so that both
backends and the migration stay plain; the services validate them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongzhi.crypto.fields import SealedField, normalize_phone, row_key_column, sealed_column
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow


class DepartmentKind(StrEnum):
    FUNCTIONAL = "functional"  # 职能部门
    TOWNSHIP = "township"  # 乡镇政府 / 街道办事处
    DISPATCH = "dispatch"  # 指挥中心
    VILLAGE = "village"  # 村（居）民委员会


class OrgLevel(StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


# Region-code level (regions.codes.level_of) of the jurisdiction at each org level.
ORG_LEVEL_REGION_LEVEL = {OrgLevel.COUNTY: 3, OrgLevel.TOWNSHIP: 4, OrgLevel.VILLAGE: 5}

DEPARTMENT_KIND_LABELS = {
    DepartmentKind.FUNCTIONAL: "职能部门",
    DepartmentKind.TOWNSHIP: "乡镇政府/街道办事处",
    DepartmentKind.DISPATCH: "指挥中心",
    DepartmentKind.VILLAGE: "村（居）委会",
}
ORG_LEVEL_LABELS = {OrgLevel.COUNTY: "县级", OrgLevel.TOWNSHIP: "乡镇级", OrgLevel.VILLAGE: "村级"}


class MatterKind(StrEnum):
    COMPONENT = "component"  # 部件: public facilities (GB/T 30428)
    EVENT = "event"  # 事件: disruptions of order
    SERVICE = "service"  # 服务
    OTHER = "other"


MATTER_KIND_LABELS = {
    MatterKind.COMPONENT: "部件",
    MatterKind.EVENT: "事件",
    MatterKind.SERVICE: "服务",
    MatterKind.OTHER: "其他",
}


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10))
    # Jurisdiction: a region code; the department acts in that region's subtree.
    region_code: Mapped[str] = mapped_column(String(15), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("department.id"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[Department | None] = relationship(remote_side=[id])

    def snapshot(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "short_name": self.short_name,
            "kind": self.kind,
            "level": self.level,
            "region_code": self.region_code,
            "parent_id": self.parent_id,
            "active": self.active,
        }

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class StaffProfile(Base):
    """A staff member's place in the organisation; the account itself lives in security."""

    __tablename__ = "staff_profile"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("account.id"), unique=True)
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("department.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(60))
    # The head of the department (负责人), who hears of 催办 besides the handlers. A flag on
    # the membership rather than a column on the department: a profile belongs to one
    # department, so the head is always one of its own staff, and the partial unique index
    # keeps it to one head a department. Set only through ``services.set_department_head``.
    is_head: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The staff member's phone, sealed (SM4-GCM bound to this row); read as ``phone``.
    row_key: Mapped[bytes] = row_key_column()
    phone_sealed: Mapped[bytes | None] = sealed_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()

    phone = SealedField("phone", normalize=normalize_phone)

    __table_args__ = (
        Index(
            "ux_staff_profile_department_head",
            "department_id",
            unique=True,
            sqlite_where=text("is_head"),
            postgresql_where=text("is_head"),
        ),
    )


class Matter(Base):
    """A matter category of the responsibility list (事项), e.g. 井盖缺失."""

    __tablename__ = "matter"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("matter.id"), index=True)
    # Words citizens use for this matter; the case classifier will match on them.
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    # Matters dropped from a newer list are deactivated, never deleted (cases refer to them).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[Matter | None] = relationship(remote_side=[id])
    responsibilities: Mapped[list[Responsibility]] = relationship(
        back_populates="matter", cascade="all, delete-orphan", order_by="Responsibility.id"
    )


responsibility_cohandler = Table(
    "responsibility_cohandler",
    Base.metadata,
    Column(
        "responsibility_id",
        BigInteger,
        ForeignKey("responsibility.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("department_id", BigInteger, ForeignKey("department.id"), primary_key=True),
)


class Responsibility(Base):
    """Who leads a matter at one level, who co-handles it, and its default time limits.

    The lead is either a named department (``lead_department_id``) or, with ``lead_local``,
    the local government of the case's region at this level (属地: the township government
    or the village committee whose jurisdiction contains the case).
    """

    __tablename__ = "responsibility"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    matter_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("matter.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(String(10))
    lead_department_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("department.id"), index=True
    )
    lead_local: Mapped[bool] = mapped_column(Boolean, default=False)
    co_local: Mapped[bool] = mapped_column(Boolean, default=False)
    dispatch_hours: Mapped[float] = mapped_column(Float)
    signoff_hours: Mapped[float] = mapped_column(Float)
    handling_days: Mapped[int] = mapped_column(Integer)
    feedback_days: Mapped[int] = mapped_column(Integer)
    delegated: Mapped[bool] = mapped_column(Boolean, default=False)  # 下沉事项

    matter: Mapped[Matter] = relationship(back_populates="responsibilities")
    lead_department: Mapped[Department | None] = relationship()
    co_handlers: Mapped[list[Department]] = relationship(
        secondary=responsibility_cohandler, order_by=Department.code
    )

    __table_args__ = (UniqueConstraint("matter_id", "level"),)


class CalendarOverride(Base):
    """A local change to the official calendar: an extra holiday or an extra workday.

    ``region_code`` empty means the whole deployment; otherwise the override applies in that
    region's subtree and wins over a deployment-wide one for the same date.
    """

    __tablename__ = "calendar_override"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    region_code: Mapped[str | None] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_calendar_override_day_region", "day", "region_code"),)
