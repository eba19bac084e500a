"""Tables of data sharing between departments.

A *request* names a dataset's fields, the purpose, legal basis, scenario, period and end
users. It moves through the steps of the provincial practice (Decree 809): the data
authority reviews it (2 working days), the provider decides (5 working days), a refusal by
the provider may be disputed and the authority arbitrates. Every step taken is a *decision*
row (who, when, outcome, reasons, the deadline it had). A request that ends granted has one
*grant*: fields, the fields given in plaintext, purpose and validity, revocable at once.
Every call of the sharing API on a grant, answered or refused, is a *call* row (X-Road's
message log: who called, for which end user, under which case, which fields, how many rows).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongzhi.data.models import Dataset
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow
from gongzhi.org.models import Department


class RequestStatus(StrEnum):
    REVIEWING = "reviewing"  # 待数据主管部门审核
    DECIDING = "deciding"  # 待提供部门答复
    DISPUTED = "disputed"  # 有异议，待数据主管部门协调
    GRANTED = "granted"  # 已授权
    REFUSED = "refused"  # 未获授权
    WITHDRAWN = "withdrawn"  # 申请部门撤回


# Steps that have a deadline and can fall overdue.
OPEN_STATUSES = (RequestStatus.REVIEWING, RequestStatus.DECIDING, RequestStatus.DISPUTED)


class Step(StrEnum):
    SUBMIT = "submit"
    SYSTEM = "system"  # the rule decided (unconditional data granted on request)
    REVIEW = "review"  # the data authority
    DECIDE = "decide"  # the provider department
    DISPUTE = "dispute"  # the requester objects to a refusal
    ARBITRATE = "arbitrate"  # the data authority settles the dispute
    WITHDRAW = "withdraw"
    ESCALATE = "escalate"  # the deadline job told the authority a step is overdue


class Outcome(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"  # passed on to the provider
    GRANTED = "granted"
    REFUSED = "refused"
    DISPUTED = "disputed"
    WITHDRAWN = "withdrawn"
    OVERDUE = "overdue"


class ShareRequest(Base):
    __tablename__ = "data_share_request"
    __table_args__ = (Index("ix_data_share_request_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_dataset.id"), index=True)
    requester_department_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("department.id"), index=True
    )
    # The provider when the request was made (a dataset could later change hands; the
    # request stays with the department that was asked).
    provider_department_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("department.id"), index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    requested_by_label: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON)
    # Sensitive fields asked for in plaintext (all others sensitive ones come masked).
    plaintext_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    end_users: Mapped[str] = mapped_column(Text)  # the people or roles who will see the data
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    # Deadline of the step the request waits in (None once it has ended).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the deadline job told the authority that the current step is overdue.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    dataset: Mapped[Dataset] = relationship()
    requester_department: Mapped[Department] = relationship(foreign_keys=[requester_department_id])
    provider_department: Mapped[Department] = relationship(foreign_keys=[provider_department_id])
    decisions: Mapped[list[ShareDecision]] = relationship(
        back_populates="request", order_by="ShareDecision.id", cascade="all, delete-orphan"
    )
    grant: Mapped[ShareGrant | None] = relationship(back_populates="request", uselist=False)

    def snapshot(self) -> dict[str, Any]:
        return {
            "dataset_id": self.dataset_id,
            "requester_department_id": self.requester_department_id,
            "provider_department_id": self.provider_department_id,
            "fields": self.fields,
            "plaintext_fields": self.plaintext_fields,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "scenario": self.scenario,
            "end_users": self.end_users,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "status": self.status,
            "due_at": self.due_at,
        }


class ShareDecision(Base):
    """One step taken on a request: by whom, when, with what outcome and reasons."""

    __tablename__ = "data_share_decision"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_share_request.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str] = mapped_column(String(12))
    reasons: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The deadline the step had (None for steps without one), to show whether it was kept.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[ShareRequest] = relationship(back_populates="decisions")

    @property
    def late(self) -> bool:
        return self.due_at is not None and self.at > self.due_at


class ShareGrant(Base):
    """What a department may fetch: fields of one dataset, for one purpose, until expiry."""

    __tablename__ = "data_share_grant"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_share_request.id"), unique=True
    )
    dataset_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("data_dataset.id"), index=True)
    requester_department_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("department.id"), index=True
    )
    provider_department_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("department.id"), index=True
    )
    fields: Mapped[list[str]] = mapped_column(JSON)
    plaintext_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_label: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    revoked_by_label: Mapped[str | None] = mapped_column(String(200))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    request: Mapped[ShareRequest] = relationship(back_populates="grant")
    dataset: Mapped[Dataset] = relationship()
    requester_department: Mapped[Department] = relationship(foreign_keys=[requester_department_id])
    provider_department: Mapped[Department] = relationship(foreign_keys=[provider_department_id])

    def state_at(self, now: datetime) -> str:
        """active | revoked | expired | pending (before its start)."""
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        if now < self.starts_at:
            return "pending"
        return "active"


class CallOutcome(StrEnum):
    ANSWERED = "answered"
    REFUSED = "refused"


class ShareCall(Base):
    """One call of the sharing API on a grant (X-Road's message log)."""

    __tablename__ = "data_share_call"
    __table_args__ = (Index("ix_data_share_call_grant_at", "grant_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    grant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("data_share_grant.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    account_label: Mapped[str] = mapped_column(String(200))
    # The calling department (the token's owner's), None when the account has none.
    department_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("department.id"))
    end_user: Mapped[str] = mapped_column(String(200), default="")
    case_number: Mapped[str | None] = mapped_column(String(32))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    version_number: Mapped[int | None] = mapped_column(Integer)
    after: Mapped[int | None] = mapped_column(BigInteger)  # the page cursor asked for
    outcome: Mapped[str] = mapped_column(String(10))
    refusal_code: Mapped[str | None] = mapped_column(String(40))

    department: Mapped[Department | None] = relationship()
