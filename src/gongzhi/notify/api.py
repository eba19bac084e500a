"""JSON API of the notify domain: the caller's own in-app notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gongzhi.notify import queries, services
from gongzhi.notify.schemas import MarkedOut, NotificationList, NotificationOut
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])

# Marking read changes only the caller's own inbox (like revoking one's own API token), so it
# is guarded by OWN_ACCOUNT: even the audit administrator, who may change nothing else, can.


@router.get("", response_model=NotificationList)
def list_notifications(
    db: DB,
    principal: Principal = require(Permission.NOTIFICATION_READ_OWN),
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> NotificationList:
    """My notifications, unread first, then newest first."""
    rows = queries.list_for_account(
        db, principal.account_id, unread_only=unread_only, limit=limit, offset=offset
    )
    return NotificationList(
        unread=queries.unread_count(db, principal.account_id),
        items=[NotificationOut.model_validate(r) for r in rows],
    )


@router.post("/read-all", response_model=MarkedOut)
def mark_all_read(db: DB, principal: Principal = require(Permission.OWN_ACCOUNT)) -> MarkedOut:
    marked = services.mark_all_read(db, principal.account_id, actor=principal)
    return MarkedOut(marked=marked, unread=0)


@router.post("/{notification_id}/read", response_model=NotificationOut)
def mark_read(
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    db: DB,
    principal: Principal = require(Permission.OWN_ACCOUNT),
) -> NotificationOut:
    row = queries.access_notification(db, principal, notification_id)
    return NotificationOut.model_validate(services.mark_read(db, row, actor=principal))
