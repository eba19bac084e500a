"""Tables of the privacy domain.

``personal_data_access`` is an index of the ``personal_data.revealed`` audit events, keyed by
the data subject (the citizen's account, the person in the register), so that a citizen's
"who used my data" page is one indexed query. It is written in the same transaction as its
audit event and names it (``audit_event_id``); the audit event stays the authority — the
page's proofs are proofs of the events, and a test holds the two lists equal.

``privacy_request`` holds citizens' requests under PIPL Art. 44–47. Their texts may contain
personal data (a wrong phone number to correct), so they are sealed like every other
personal column.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.crypto.fields import SealedField, row_key_column, sealed_column
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow


class Purpose(StrEnum):
    """Why a staff member reveals a personal value. ``OTHER`` and ``LEGAL_ORDER`` need a text."""

    HANDLE_CASE = "handle_case"  # 办理本案
    CALL_BACK = "call_back"  # 回访反映人
    VERIFY_IDENTITY = "verify_identity"  # 核实身份
    OTHER = "other"  # 其他（须说明）
    LEGAL_ORDER = "legal_order"  # 依法调取（须写明法律文书）


class SubjectKind(StrEnum):
    CASE_CONTACT = "case_contact"
    PERSON = "person"


class PersonalDataAccess(Base):
    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    audit_event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("audit_event.id"), unique=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The subject: the citizen account the data belongs to (a case's reporter), and/or the
    # person in the register. Either may be unknown (a hotline caller without an account).
    subject_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="SET NULL")
    )
    person_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("person.id", ondelete="SET NULL")
    )
    subject_kind: Mapped[str] = mapped_column(String(20))
    case_number: Mapped[str | None] = mapped_column(String(32))
    actor_account_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(30))
    department_name: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(20))
    purpose_text: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        Index("ix_personal_data_access_subject_account", "subject_account_id", "occurred_at"),
        Index("ix_personal_data_access_person", "person_id", "occurred_at"),
    )


class RequestKind(StrEnum):
    """PIPL Art. 45 (access, copy), 46 (correct), 47 (delete)."""

    ACCESS = "access"
    COPY = "copy"
    CORRECT = "correct"
    DELETE = "delete"


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"  # 已提交
    ACCEPTED = "accepted"  # 已受理
    FULFILLED = "fulfilled"  # 已办结
    REFUSED = "refused"  # 不予办理（附理由，PIPL Art. 50）


OPEN_REQUEST_STATUSES = (RequestStatus.SUBMITTED.value, RequestStatus.ACCEPTED.value)


class PrivacyRequest(Base):
    __tablename__ = "privacy_request"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    # Where the citizen's account is held (their citizen grant): the handlers' scope.
    region_code: Mapped[str] = mapped_column(String(15))
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("account.id"))
    row_key: Mapped[bytes] = row_key_column()
    text_sealed: Mapped[bytes | None] = sealed_column()
    response_sealed: Mapped[bytes | None] = sealed_column()

    text = SealedField("text")
    response = SealedField("response")

    __table_args__ = (Index("ix_privacy_request_open_due", "status", "due_at"),)

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status, "due_at": self.due_at}
