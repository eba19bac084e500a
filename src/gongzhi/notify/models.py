"""The notification outbox: one row per message and channel.

Rows are added in the transaction of the change they announce, so a rolled-back change
announces nothing. In-app rows are readable at once; SMS rows are delivered after commit by
the ``notify.deliver`` job (``gongzhi.notify.delivery``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.crypto.fields import SealedField, row_key_column, sealed_column
from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow
from gongzhi.security import models as _security_models  # noqa: F401  (the account table)


class NotificationChannel(StrEnum):
    IN_APP = "in_app"
    SMS = "sms"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its first (or next) delivery attempt
    SENDING = "sending"  # claimed by a delivery run; the gateway is being called
    SENT = "sent"  # delivered (in-app rows: readable)
    FAILED = "failed"  # the last attempt failed; retried at next_attempt_at
    DEAD = "dead"  # given up: too many attempts, a permanent refusal, or an unknown outcome


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # The delivery job's scan: due rows of one status, oldest first.
        Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
        # The inbox: one account's in-app rows, unread first.
        Index("ix_notification_recipient_account_id_read_at", "recipient_account_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recipient_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE")
    )
    # The SMS recipient, sealed (SM4-GCM bound to this row); read as ``recipient_phone``.
    # No blind index: nothing looks notifications up by number.
    row_key: Mapped[bytes] = row_key_column()
    recipient_phone_sealed: Mapped[bytes | None] = sealed_column()
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    case_number: Mapped[str | None] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(500))

    recipient_phone = SealedField("recipient_phone")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
