"""The signed-in user's notifications page (works without JavaScript: plain forms)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gongzhi.notify import queries, services
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.templating import render

router = APIRouter(tags=["notifications"], include_in_schema=False)

# Marking read changes only the caller's own inbox (like revoking one's own API token), so it
# is guarded by OWN_ACCOUNT: even the audit administrator, who may change nothing else, can.


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.NOTIFICATION_READ_OWN),
) -> HTMLResponse:
    return render(
        request,
        "notify/notifications.html",
        {
            "notifications": queries.list_for_account(db, principal.account_id, limit=100),
            "unread": queries.unread_count(db, principal.account_id),
        },
    )


@router.post("/notifications/{notification_id}/read")
def notification_read(
    notification_id: int,
    db: DB,
    principal: Principal = require(Permission.OWN_ACCOUNT),
) -> RedirectResponse:
    row = queries.access_notification(db, principal, notification_id)
    services.mark_read(db, row, actor=principal)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/read-all")
def notifications_read_all(
    db: DB, principal: Principal = require(Permission.OWN_ACCOUNT)
) -> RedirectResponse:
    services.mark_all_read(db, principal.account_id, actor=principal)
    return RedirectResponse("/notifications", status_code=303)
