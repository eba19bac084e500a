"""State changes of the notify domain: adding messages to the outbox, marking them read.

``enqueue`` only adds rows to the caller's session: the message exists if and only if the
change it announces commits. Delivery of SMS rows happens later, after commit
(``gongzhi.notify.delivery``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Invalid
from gongzhi.notify.models import Notification, NotificationChannel, NotificationStatus

MAX_SUBJECT = 200


def enqueue(
    db: Session,
    *,
    recipient_account_id: int | None = None,
    recipient_phone: str | None = None,
    kind: str,
    subject: str,
    body: str,
    case_number: str | None = None,
    channels: Sequence[str] = (NotificationChannel.IN_APP,),
) -> list[Notification]:
    """Add one outbox row per channel to the caller's transaction and return them.

    In-app rows go to an account and are readable at once; SMS rows go to a phone number and
    wait for the delivery job. A channel without a recipient (no account, no phone: an
    anonymous hotline caller) is skipped, and no reachable recipient at all returns ``[]``:
    telling nobody must never undo the change being announced. An empty subject or body or an
    unknown channel is a programming error and is refused.
    """
    subject = subject.strip()
    if not subject or not body.strip():
        raise Invalid("通知需要标题和正文 / a notification needs a subject and a body")
    if len(subject) > MAX_SUBJECT:
        subject = subject[: MAX_SUBJECT - 1] + "…"
    wanted: list[NotificationChannel] = []
    for raw in dict.fromkeys(channels):  # each channel once, in the order given
        try:
            wanted.append(NotificationChannel(raw))
        except ValueError:
            raise Invalid(
                f"未知的通知渠道 {raw!r} / unknown channel", code="unknown_channel"
            ) from None
    phone = (recipient_phone or "").strip()
    now = utcnow()
    rows: list[Notification] = []
    for channel in wanted:
        row = Notification(
            created_at=now,
            channel=channel.value,
            kind=kind,
            subject=subject,
            body=body,
            case_number=case_number,
            recipient_account_id=recipient_account_id,
            attempts=0,
        )
        if channel is NotificationChannel.IN_APP:
            if recipient_account_id is None:
                continue
            row.status = NotificationStatus.SENT.value
            row.sent_at = now
        else:
            if not phone:
                continue
            row.recipient_phone = phone
            row.status = NotificationStatus.PENDING.value
            row.next_attempt_at = now
        db.add(row)
        rows.append(row)
    db.flush()
    return rows


def mark_read(db: Session, notification: Notification, *, actor: Actor) -> Notification:
    """Mark one in-app notification read (already read: unchanged, no new audit event)."""
    if notification.read_at is None:
        notification.read_at = utcnow()
        record(
            db,
            actor=actor,
            action="notify.notification.read",
            object_type="notification",
            object_id=notification.id,
            old={"read_at": None},
            new={"read_at": notification.read_at},
        )
        db.flush()
    return notification


def mark_all_read(db: Session, account_id: int, *, actor: Actor) -> int:
    """Mark every unread in-app notification of one account read; return how many."""
    now = utcnow()
    result = db.execute(
        update(Notification)
        .where(
            Notification.recipient_account_id == account_id,
            Notification.channel == NotificationChannel.IN_APP.value,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session="fetch")
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        record(
            db,
            actor=actor,
            action="notify.notification.read_all",
            object_type="account",
            object_id=account_id,
            new={"read": count, "read_at": now},
        )
    return count


def requeue(db: Session, notification: Notification, now: datetime, *, actor: Actor) -> None:
    """Give a dead SMS row a fresh set of attempts (an operator's decision)."""
    if notification.channel != NotificationChannel.SMS.value or notification.status not in (
        NotificationStatus.DEAD.value,
        NotificationStatus.FAILED.value,
    ):
        raise Conflict("只能重发未送达的短信 / only undelivered SMS can be queued again")
    old = {"status": notification.status, "attempts": notification.attempts}
    notification.status = NotificationStatus.PENDING.value
    notification.attempts = 0
    notification.next_attempt_at = now
    notification.last_error = None
    record(
        db,
        actor=actor,
        action="notify.sms.requeue",
        object_type="notification",
        object_id=notification.id,
        old=old,
        new={"status": notification.status, "attempts": 0},
    )


def enqueue_once(
    db: Session,
    *,
    recipient_account_ids: Sequence[int],
    kind: str,
    subject: str,
    body: str,
    case_number: str,
) -> list[Notification]:
    """In-app messages to each account that has not yet had one of ``kind`` about this case:
    a notice repeated by every run of a periodic job (or by two clocks of one case reaching
    the same step) reaches each person once."""
    wanted = list(dict.fromkeys(recipient_account_ids))
    if not wanted:
        return []
    told = set(
        db.scalars(
            select(Notification.recipient_account_id).where(
                Notification.case_number == case_number,
                Notification.kind == kind,
                Notification.recipient_account_id.in_(wanted),
            )
        )
    )
    rows: list[Notification] = []
    for account_id in wanted:
        if account_id not in told:
            rows.extend(
                enqueue(
                    db,
                    recipient_account_id=account_id,
                    kind=kind,
                    subject=subject,
                    body=body,
                    case_number=case_number,
                )
            )
    return rows
