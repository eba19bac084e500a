"""JSON shapes of the org API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from gongzhi.org.models import CalendarOverride, Department, Matter, Responsibility
from gongzhi.org.queries import Lead


class DepartmentRef(BaseModel):
    code: str
    name: str
    short_name: str | None

    @classmethod
    def of(cls, d: Department) -> DepartmentRef:
        return cls(code=d.code, name=d.name, short_name=d.short_name)


class DepartmentOut(DepartmentRef):
    kind: str
    level: str
    region_code: str
    parent_code: str | None
    active: bool

    @classmethod
    def of(cls, d: Department) -> DepartmentOut:
        return cls(
            code=d.code,
            name=d.name,
            short_name=d.short_name,
            kind=d.kind,
            level=d.level,
            region_code=d.region_code,
            parent_code=d.parent.code if d.parent else None,
            active=d.active,
        )


class DepartmentCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    short_name: str | None = Field(default=None, max_length=40)
    kind: str
    level: str
    region_code: str = Field(min_length=12, max_length=15)
    parent_code: str | None = None


class DepartmentUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    short_name: str | None = Field(default=None, max_length=40)
    kind: str | None = None
    reason: str | None = None


class ResponsibilityOut(BaseModel):
    level: str
    lead: DepartmentRef | None
    lead_local: bool
    co_handlers: list[DepartmentRef]
    co_local: bool
    dispatch_hours: float
    signoff_hours: float
    handling_days: int
    feedback_days: int
    delegated: bool

    @classmethod
    def of(cls, r: Responsibility) -> ResponsibilityOut:
        return cls(
            level=r.level,
            lead=DepartmentRef.of(r.lead_department) if r.lead_department else None,
            lead_local=r.lead_local,
            co_handlers=[DepartmentRef.of(d) for d in r.co_handlers],
            co_local=r.co_local,
            dispatch_hours=r.dispatch_hours,
            signoff_hours=r.signoff_hours,
            handling_days=r.handling_days,
            feedback_days=r.feedback_days,
            delegated=r.delegated,
        )


class MatterOut(BaseModel):
    code: str
    name: str
    kind: str
    parent_code: str | None
    keywords: list[str]
    description: str | None
    legal_basis: str | None
    active: bool
    responsibilities: list[ResponsibilityOut]

    @classmethod
    def of(cls, m: Matter) -> MatterOut:
        return cls(
            code=m.code,
            name=m.name,
            kind=m.kind,
            parent_code=m.parent.code if m.parent else None,
            keywords=list(m.keywords or []),
            description=m.description,
            legal_basis=m.legal_basis,
            active=m.active,
            responsibilities=[ResponsibilityOut.of(r) for r in m.responsibilities],
        )


class LeadOut(BaseModel):
    matter_code: str
    region_code: str
    level: str
    ambiguous: bool
    leads: list[DepartmentRef]
    co_handlers: list[DepartmentRef]
    dispatch_hours: float
    signoff_hours: float
    handling_days: int
    feedback_days: int

    @classmethod
    def of(cls, lead: Lead, region_code: str) -> LeadOut:
        r = lead.responsibility
        return cls(
            matter_code=lead.matter.code,
            region_code=region_code,
            level=lead.level.value,
            ambiguous=lead.ambiguous,
            leads=[DepartmentRef.of(d) for d in lead.leads],
            co_handlers=[DepartmentRef.of(d) for d in lead.co_handlers],
            dispatch_hours=r.dispatch_hours,
            signoff_hours=r.signoff_hours,
            handling_days=r.handling_days,
            feedback_days=r.feedback_days,
        )


class ImportOut(BaseModel):
    version: str
    created: list[str]
    updated: list[str]
    deactivated: list[str]
    unchanged: int


class OverrideOut(BaseModel):
    id: int
    day: date
    is_workday: bool
    note: str
    region_code: str | None

    @classmethod
    def of(cls, o: CalendarOverride) -> OverrideOut:
        return cls(
            id=o.id, day=o.day, is_workday=o.is_workday, note=o.note, region_code=o.region_code
        )


class OverrideIn(BaseModel):
    is_workday: bool
    note: str = Field(default="", max_length=200)
    region_code: str | None = None


class CalendarAddOut(BaseModel):
    start: datetime
    hours: float | None
    days: int | None
    due: datetime
    # False when any day counted lies in a year without official holiday data: the result
    # rests on weekends plus local overrides and staff must be warned.
    official: bool
    warning: str | None


class CalendarDayOut(BaseModel):
    day: date
    is_workday: bool
    official: bool
    holiday: str | None
    override: bool


class StaffOut(BaseModel):
    account_id: int
    username: str
    display_name: str
    department: DepartmentRef
    title: str | None
    active: bool
