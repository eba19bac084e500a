"""Reads of the notify domain: one account's inbox, its unread count, one message."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gongzhi.errors import NotFound
from gongzhi.notify.models import Notification, NotificationChannel
from gongzhi.security.principal import Principal


def _inbox(account_id: int) -> Select[Notification]:
    return select(Notification).where(
        Notification.recipient_account_id == account_id,
        Notification.channel == NotificationChannel.IN_APP.value,
    )


def list_for_account(
    db: Session, account_id: int, *, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> list[Notification]:
    """In-app notifications of one account: unread first, then newest first."""
    stmt = _inbox(account_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(
        Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc()
    )
    return list(db.scalars(stmt.limit(limit).offset(offset)))


def unread_count(db: Session, account_id: int) -> int:
    """How many in-app notifications the account has not read (for a badge in the header)."""
    stmt = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.recipient_account_id == account_id,
            Notification.channel == NotificationChannel.IN_APP.value,
            Notification.read_at.is_(None),
        )
    )
    return int(db.scalar(stmt) or 0)


def access_notification(db: Session, principal: Principal, notification_id: int) -> Notification:
    """One of the caller's own in-app notifications; anyone else's is simply not found."""
    row = db.scalar(_inbox(principal.account_id).where(Notification.id == notification_id))
    if row is None:
        raise NotFound("没有这条通知 / no such notification")
    return row
