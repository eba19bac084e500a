from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow


class AuditEvent(Base):
    """One administrative act. Append-only: no service updates or deletes these rows.

    ``canonical`` is the exact byte string (UTF-8 JSON, sorted keys, no whitespace) that
    becomes this event's Merkle leaf, so verification never depends on how a database
    round-trips JSON or timestamps.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(100))
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    canonical: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)
