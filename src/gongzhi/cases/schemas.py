"""JSON shapes of the cases API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from gongzhi.cases.clocks import ClockState
from gongzhi.cases.models import Case, CaseEvent


class CaseIn(BaseModel):
    description: str = Field(max_length=4000)
    address_text: str | None = Field(default=None, max_length=400)
    lat: float | None = None
    lon: float | None = None
    matter_code: str | None = Field(default=None, max_length=40)
    priority: Literal["emergency", "utilities", "ordinary", "complex"] | None = None
    anonymous: bool = False
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    attributes: dict[str, Any] = Field(default_factory=dict)
    media_urls: list[str] = Field(default_factory=list)
    # Staff only: "hotline" for an operator entering a call, "grid" for a patrol report.
    channel: Literal["hotline", "grid"] | None = None


class DispatchIn(BaseModel):
    department: str = Field(description="the lead department's code")
    co_handlers: list[str] = Field(default_factory=list)
    matter_code: str | None = None
    priority: Literal["emergency", "utilities", "ordinary", "complex"] | None = None
    note: str | None = Field(default=None, max_length=2000)


class ReturnIn(BaseModel):
    reason: Literal["not_our_duty", "wrong_region", "insufficient_info", "duplicate", "other"]
    note: str | None = Field(default=None, max_length=2000)


class NoteIn(BaseModel):
    note: str = Field(max_length=4000)


class VerifyIn(BaseModel):
    passed: bool
    note: str | None = Field(default=None, max_length=2000)


class CloseIn(BaseModel):
    outcome: Literal["resolved", "not_ours", "no_action_possible", "duplicate", "withdrawn"]
    note: str | None = Field(default=None, max_length=2000)


class RateIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class ExtensionIn(BaseModel):
    due_at: datetime
    reason: str = Field(max_length=2000)


class ExtensionDecisionIn(BaseModel):
    approve: bool
    note: str | None = Field(default=None, max_length=2000)


class ContactOut(BaseModel):
    """The reporter's contact as the caller may see it: staff get it masked by the Chinese
    conventions (138****1999, 张*) and reveal it for a purpose through
    ``POST /api/v1/privacy/case-contacts/{number}/reveal`` (docs/privacy.md)."""

    name: str | None
    phone: str | None
    email: str | None
    masked: bool = Field(default=False, description="Values are masked for display.")
    revealable: bool = Field(
        default=False, description="The caller may reveal them with a stated purpose."
    )


class EventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, Any]
    public: bool

    @classmethod
    def of(cls, e: CaseEvent, *, staff: bool) -> EventOut:
        # The citizen sees what happened, not which staff member did it.
        return cls(
            at=e.at,
            actor=e.actor_label if staff else "",
            kind=e.kind,
            from_status=e.from_status,
            to_status=e.to_status,
            note=e.note,
            data=e.data if staff else {},
            public=e.public,
        )


class CaseSummary(BaseModel):
    number: str
    channel: str
    status: str
    outcome: str | None
    resolved: bool
    priority: str
    matter_code: str | None
    description: str
    address_text: str | None
    region_code: str | None
    lead_department: str | None
    triage_reason: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @classmethod
    def fields_of(cls, c: Case, lead: str | None) -> dict[str, Any]:
        return {
            "number": c.number,
            "channel": c.channel,
            "status": c.status,
            "outcome": c.outcome,
            "resolved": c.resolved,
            "priority": c.priority,
            "matter_code": c.matter_code,
            "description": c.description,
            "address_text": c.address_text,
            "region_code": c.region_code,
            "lead_department": lead,
            "triage_reason": c.triage_reason,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "closed_at": c.closed_at,
        }

    @classmethod
    def of(cls, c: Case, lead: str | None) -> CaseSummary:
        return cls(**cls.fields_of(c, lead))


class CaseOut(CaseSummary):
    lat: float | None
    lon: float | None
    anonymous: bool
    attributes: dict[str, Any]
    media_urls: list[str]
    rating: int | None
    rework_count: int
    reopen_count: int
    waiting_for_citizen: bool
    version: int
    contact: ContactOut | None
    clocks: list[dict[str, Any]]
    timeline: list[EventOut]

    @classmethod
    def build(
        cls,
        c: Case,
        *,
        lead: str | None,
        staff: bool,
        contact: ContactOut | None,
        clock_states: dict[str, ClockState],
    ) -> CaseOut:
        events = [e for e in c.events if staff or e.public]
        return cls(
            **cls.fields_of(c, lead),
            lat=c.lat,
            lon=c.lon,
            anonymous=c.anonymous,
            attributes=c.attributes or {},
            media_urls=c.media_urls or [],
            rating=c.rating,
            rework_count=c.rework_count,
            reopen_count=c.reopen_count,
            waiting_for_citizen=c.waiting_for_citizen,
            version=c.version,
            contact=contact,
            clocks=[s.to_json() for s in clock_states.values()] if staff else [],
            timeline=[EventOut.of(e, staff=staff) for e in events],
        )


class ExtensionOut(BaseModel):
    status: str
    requested_due_at: datetime
    reason: str
    decided_at: datetime | None
