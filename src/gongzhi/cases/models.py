"""Tables of the cases domain: the case (诉求/事件), its assignments to departments, its
timeline, the reporter's contact, its clocks and extension requests.

Enumerated values are stored as short strings (the ``StrEnum`` values below); the services
validate them. ``Case.version`` guards the transitions that two people may race for (签收).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongzhi.crypto.fields import (
    SealedField,
    index_column,
    normalize_phone,
    row_key_column,
    sealed_column,
)
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow


class Channel(StrEnum):
    WEB = "web"
    HOTLINE = "hotline"
    GRID = "grid"
    API = "api"
    OPEN311 = "open311"


class Priority(StrEnum):
    EMERGENCY = "emergency"
    UTILITIES = "utilities"
    ORDINARY = "ordinary"
    COMPLEX = "complex"


class CaseStatus(StrEnum):
    TRIAGE = "triage"  # 待分拨: no lead could be named (no matter, no region, collision)
    DISPATCHED = "dispatched"  # 已派遣: lead department named, waiting for sign-off
    ACCEPTED = "accepted"  # 已签收: the lead department signed, handling
    FEEDBACK = "feedback"  # 已反馈: handler reported back, waiting for on-site verification
    CLOSED = "closed"  # 已结案


OPEN_STATUSES = (
    CaseStatus.TRIAGE,
    CaseStatus.DISPATCHED,
    CaseStatus.ACCEPTED,
    CaseStatus.FEEDBACK,
)


class Outcome(StrEnum):
    RESOLVED = "resolved"
    NOT_OURS = "not_ours"
    NO_ACTION_POSSIBLE = "no_action_possible"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"


class TriageReason(StrEnum):
    NO_CATEGORY = "no_category"
    NO_REGION = "no_region"
    NO_LEAD = "no_lead"
    COLLISION = "collision"
    RETURNED = "returned"  # a department sent it back (退单)
    REOPENED = "reopened"  # the citizen reopened it


class ReturnReason(StrEnum):
    NOT_OUR_DUTY = "not_our_duty"
    WRONG_REGION = "wrong_region"
    INSUFFICIENT_INFO = "insufficient_info"
    DUPLICATE = "duplicate"
    OTHER = "other"


class AssignmentRole(StrEnum):
    LEAD = "lead"
    CO = "co"


class ClockKind(StrEnum):
    DISPATCH = "dispatch"  # intake -> a lead is named
    ACCEPT = "accept"  # dispatched -> the lead signs (签收)
    HANDLE = "handle"  # signed -> the handler reports back
    FEEDBACK = "feedback"  # intake -> the citizen hears back (DB11/T 2021-2022)


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class Case(Base):
    __tablename__ = "service_case"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    outcome: Mapped[str | None] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(16))
    matter_code: Mapped[str | None] = mapped_column(String(40), index=True)
    description: Mapped[str] = mapped_column(Text)
    address_text: Mapped[str | None] = mapped_column(String(400))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    region_confidence: Mapped[float | None] = mapped_column(Float)
    reporter_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("account.id"), index=True
    )
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_department_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("department.id"), index=True
    )
    triage_reason: Mapped[str | None] = mapped_column(String(24))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Rework (核查未通过), reopening and the citizen's rating are counted on the case itself
    # so that indicators need no scan of the timeline for them.
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_for_citizen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # Indicators (cases/indicators.py): each index holds every column its query reads.
    __table_args__ = (
        Index(
            "ix_service_case_closed_indicators",
            "closed_at", "status", "outcome", "lead_department_id", "region_code",
        ),
        Index(
            "ix_service_case_rated_indicators",
            "rated_at", "rating", "lead_department_id", "region_code",
        ),
        # The joins from assignments, clocks and events read place and lead from this
        # narrow index instead of the wide case rows.
        Index("ix_service_case_scope", "id", "region_code", "lead_department_id"),
    )  # fmt: skip

    assignments: Mapped[list[CaseAssignment]] = relationship(
        back_populates="case", order_by="CaseAssignment.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    clocks: Mapped[list[CaseClock]] = relationship(
        back_populates="case", order_by="CaseClock.id", cascade="all, delete-orphan"
    )
    contact: Mapped[CaseContact | None] = relationship(
        back_populates="case", cascade="all, delete-orphan", uselist=False
    )

    def snapshot(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "status": self.status,
            "outcome": self.outcome,
            "priority": self.priority,
            "matter_code": self.matter_code,
            "region_code": self.region_code,
            "lead_department_id": self.lead_department_id,
            "triage_reason": self.triage_reason,
        }

    @property
    def is_open(self) -> bool:
        return self.status != CaseStatus.CLOSED

    @property
    def resolved(self) -> bool:
        """Only a case closed as resolved counts (or shows) as resolved."""
        return self.status == CaseStatus.CLOSED and self.outcome == Outcome.RESOLVED


class CaseNumberCounter(Base):
    """The last number issued per prefix and day; incremented under the row's write lock so
    two intakes at the same moment never get the same number."""

    __tablename__ = "case_number_counter"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CaseAssignment(Base):
    __tablename__ = "case_assignment"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("department.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason_code: Mapped[str | None] = mapped_column(String(24))
    return_note: Mapped[str | None] = mapped_column(Text)
    # Re-routing and returns deactivate an assignment instead of deleting it (history).
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    case: Mapped[Case] = relationship(back_populates="assignments")

    __table_args__ = (
        Index("ix_case_assignment_department_active", "department_id", "active"),
        Index(
            "ix_case_assignment_indicators",
            "assigned_at", "role", "department_id", "case_id", "accepted_at", "returned_at",
        ),
    )  # fmt: skip


class CaseEvent(Base):
    """The case's timeline; ``public`` entries are what the citizen sees."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public: Mapped[bool] = mapped_column(Boolean, default=True)

    case: Mapped[Case] = relationship(back_populates="events")

    __table_args__ = (Index("ix_case_event_kind_at", "kind", "at", "case_id"),)


class CaseContact(Base):
    """The reporter's contact, kept apart from the case so that it is read only where the
    viewer may see it (never by handlers of an anonymous case).

    Name, phone and e-mail are sealed (SM4-GCM, bound to this row); the phone has a blind
    index so that a person's cases can be found by number (``CaseContact.phone.matches(...)``).
    Nothing looks a contact up by e-mail, so the e-mail has no index: an index would be one
    more keyed hash of the address for no query."""

    __tablename__ = "case_contact"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), unique=True
    )
    row_key: Mapped[bytes] = row_key_column()
    name_sealed: Mapped[bytes | None] = sealed_column()
    phone_sealed: Mapped[bytes | None] = sealed_column()
    phone_index: Mapped[bytes | None] = index_column()
    email_sealed: Mapped[bytes | None] = sealed_column()

    case: Mapped[Case] = relationship(back_populates="contact")

    name = SealedField("name")
    phone = SealedField("phone", index="phone", normalize=normalize_phone)
    email = SealedField("email")


class CaseClock(Base):
    __tablename__ = "case_clock"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)

    case: Mapped[Case] = relationship(back_populates="clocks")

    __table_args__ = (
        Index("ix_case_clock_kind_due_indicators", "kind", "due_at", "stopped_at", "case_id"),
        Index("ix_case_clock_case_kind_started", "case_id", "kind", "started_at", "due_at"),
    )

    @property
    def running(self) -> bool:
        return self.stopped_at is None


class CaseExtension(Base):
    """A handler's request for more time (延期) and the dispatcher's decision."""

    __tablename__ = "case_extension"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    clock_kind: Mapped[str] = mapped_column(String(16))
    requested_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    requested_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=ExtensionStatus.PENDING.value)
    decided_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class CaseDraft(Base):
    """A citizen's report in progress (one per account), kept on the server between the
    steps of the web form so that a reload or a closed phone loses nothing."""

    __tablename__ = "case_draft"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="CASCADE"), unique=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CaseAttachment(Base):
    """A photo attached to a case. The file lives under ``Settings.upload_dir`` by its
    SHA-256 (``storage_key``), so the same picture sent twice is stored once."""

    __tablename__ = "case_attachment"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("service_case.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
