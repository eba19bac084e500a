"""Delivery of SMS rows from the outbox, after the change that queued them has committed.

Each row goes through three steps, each its own short transaction, so that a row is sent at
most once even with several workers and crashes:

1. **claim**: due rows are selected (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent
   runs take disjoint rows without waiting) and switched to ``sending`` with a compare-and-set
   on their status; commit. A row another run claimed first is left alone.
2. **send**: the gateway is called outside any transaction (no lock is held on a slow
   provider).
3. **mark**: ``sent``, or ``failed`` with the next attempt after an exponential back-off, or
   ``dead`` after the last attempt or a permanent refusal; commit.

A row that stays ``sending`` longer than :data:`CLAIM_LEASE` belongs to a run that stopped
between send and mark: whether the message went out is unknown, so it is marked ``dead``
(an operator may queue it again) instead of being sent a second time.

This function is a job step and owns its commits; on a test session joined to an outer
transaction each commit only releases a savepoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, SystemActor, record
from gongzhi.notify.models import Notification, NotificationChannel, NotificationStatus
from gongzhi.notify.sms import SmsGateway, SmsRejected, mask_phone

log = logging.getLogger("gongzhi.notify.delivery")

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=10)
DEFAULT_MAX_ATTEMPTS = 6
BATCH = 100

_RETRYABLE = (NotificationStatus.PENDING.value, NotificationStatus.FAILED.value)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    abandoned: int = 0  # claims whose run stopped mid-way: outcome unknown, not resent

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.dead + self.abandoned


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


def sms_text(row: Notification) -> str:
    return f"{row.subject}：{row.body}" if row.body else row.subject


def deliver_pending(
    db: Session,
    gateway: SmsGateway,
    now: datetime,
    *,
    actor: Actor | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    limit: int = BATCH,
) -> DeliveryReport:
    """Send the SMS rows due at ``now`` (at most ``limit``); see the module docstring."""
    actor = actor or SystemActor("job:notify.deliver")
    report = DeliveryReport()
    report.abandoned = _abandon_stale_claims(db, now, actor)
    db.commit()

    claimed = _claim(db, now, limit)
    db.commit()
    for row in claimed:
        phone = row.recipient_phone or ""
        try:
            message_id = gateway.send(phone, sms_text(row))
        except Exception as exc:  # any gateway failure is this row's failure, not the run's
            _mark_failed(db, row, exc, now, actor, max_attempts, report)
        else:
            row.status = NotificationStatus.SENT.value
            row.sent_at = now
            row.provider_message_id = str(message_id)[:100]
            row.last_error = None
            row.claimed_at = None
            row.next_attempt_at = None
            record(
                db,
                actor=actor,
                action="notify.sms.sent",
                object_type="notification",
                object_id=row.id,
                new={"to": mask_phone(phone), "kind": row.kind, "case_number": row.case_number},
            )
            report.sent += 1
        db.commit()
    return report


def _claim(db: Session, now: datetime, limit: int) -> list[Notification]:
    due = (
        select(Notification.id)
        .where(
            Notification.channel == NotificationChannel.SMS.value,
            Notification.status.in_(_RETRYABLE),
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has a single writer anyway
    )
    # One statement that writes first (on SQLite it takes the write lock at once instead of
    # upgrading a read snapshot) and re-checks the status: a compare-and-set, so only the run
    # that moves a row out of a retryable state owns it.
    claimed = list(
        db.scalars(
            update(Notification)
            .where(Notification.id.in_(due), Notification.status.in_(_RETRYABLE))
            .values(
                status=NotificationStatus.SENDING.value,
                claimed_at=now,
                attempts=Notification.attempts + 1,
            )
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return []
    # Loaded inside the claim's transaction, so marking them later writes without reading.
    return list(
        db.scalars(
            select(Notification)
            .where(Notification.id.in_(claimed))
            .order_by(Notification.next_attempt_at, Notification.id)
            .execution_options(populate_existing=True)
        )
    )


def _mark_failed(
    db: Session,
    row: Notification,
    exc: Exception,
    now: datetime,
    actor: Actor,
    max_attempts: int,
    report: DeliveryReport,
) -> None:
    error = f"{type(exc).__name__}: {exc}"[:500]
    row.last_error = error
    row.claimed_at = None
    if isinstance(exc, SmsRejected) or row.attempts >= max_attempts:
        row.status = NotificationStatus.DEAD.value
        row.next_attempt_at = None
        record(
            db,
            actor=actor,
            action="notify.sms.dead",
            object_type="notification",
            object_id=row.id,
            new={"to": mask_phone(row.recipient_phone), "attempts": row.attempts},
            reason=error,
        )
        log.warning(
            "SMS %s to %s given up after %d attempt(s): %s",
            row.id,
            mask_phone(row.recipient_phone),
            row.attempts,
            error,
        )
        report.dead += 1
    else:
        row.status = NotificationStatus.FAILED.value
        row.next_attempt_at = now + backoff(row.attempts)
        log.info(
            "SMS %s to %s failed (attempt %d), retry at %s: %s",
            row.id,
            mask_phone(row.recipient_phone),
            row.attempts,
            row.next_attempt_at.isoformat(),
            error,
        )
        report.failed += 1


UNKNOWN_OUTCOME = "delivery stopped between send and mark; outcome unknown, not resent"


def _abandon_stale_claims(db: Session, now: datetime, actor: Actor) -> int:
    stale = db.execute(
        update(Notification)
        .where(
            Notification.status == NotificationStatus.SENDING.value,
            Notification.claimed_at < now - CLAIM_LEASE,
        )
        .values(
            status=NotificationStatus.DEAD.value,
            last_error=UNKNOWN_OUTCOME,
            claimed_at=None,
            next_attempt_at=None,
        )
        .returning(
            Notification.id,
            Notification.row_key,
            Notification.recipient_phone_sealed,
            Notification.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    for row_id, row_key, phone_sealed, attempts in stale:
        phone = (
            Notification.recipient_phone.open(phone_sealed, row_key=row_key)
            if phone_sealed is not None
            else None
        )
        record(
            db,
            actor=actor,
            action="notify.sms.dead",
            object_type="notification",
            object_id=row_id,
            new={"to": mask_phone(phone), "attempts": attempts},
            reason=UNKNOWN_OUTCOME,
        )
        log.warning("SMS %s to %s: %s", row_id, mask_phone(phone), UNKNOWN_OUTCOME)
    return len(stale)
