"""The audit administrator's pages: the event list with filters, one event with its
inclusion proof checked against the latest signed checkpoint, and the log's status.

Read-only: every form here is a GET that narrows what is shown; nothing on these pages
changes anything. Guarded by ``audit:event:read`` (the audit administrator's alone).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gongzhi.audit import queries
from gongzhi.config import Settings
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import translator
from gongzhi.web.queries import region_labels
from gongzhi.web.templating import render

router = APIRouter(tags=["audit pages"], include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(_settings(request).timezone)


def _day(value: str, errors: list[str], message: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(message)
        return None


def _cursor(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


def _parse_filter(
    request: Request, db: DB, form: dict[str, str]
) -> tuple[queries.EventFilter, list[str]]:
    """The list's filter from the query string; the messages name what could not be used."""
    _ = translator(request)
    errors: list[str] = []
    since = _day(form["since"], errors, _("起始日期应为“年-月-日”格式。"))
    until = _day(form["until"], errors, _("截止日期应为“年-月-日”格式。"))
    if since and until and since > until:
        errors.append(_("起始日期不能晚于截止日期。"))
    actor_id = None
    if form["actor"]:
        actor_id = queries.actor_id_for(db, form["actor"])
        if actor_id is None:
            errors.append(_("没有用户名为“%(name)s”的账号。", name=form["actor"]))
    action = form["action"]
    if len(action) > queries.MAX_ACTION_PREFIX:
        errors.append(_("操作名称太长。"))
    if form["object_id"] and not form["object_type"]:
        errors.append(_("按对象编号筛选时，请同时填写对象类型。"))
    region = form["region"]
    if region and not (region.isdigit() and len(region) == 12):
        errors.append(_("区划代码应为 12 位数字。"))
    flt = queries.EventFilter(
        since=since,
        until=until,
        actor_id=actor_id,
        action_prefix=action or None,
        object_type=form["object_type"] or None,
        object_id=form["object_id"] or None,
        region_code=region or None,
    )
    return flt, errors


def _link(form: dict[str, str], **cursor: int) -> str:
    params = {k: v for k, v in form.items() if v}
    params.update({k: str(v) for k, v in cursor.items()})
    query = urlencode(params)
    return "/audit/events" + (f"?{query}" if query else "")


@router.get("/audit/events", response_class=HTMLResponse)
def events_list(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.AUDIT_READ),
    since: str = "",
    until: str = "",
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    region: str = "",
    before: str | None = None,
    after: str | None = None,
) -> HTMLResponse:
    """The audit events, newest first, 50 a page, narrowed by the filters."""
    raw = {
        "since": since,
        "until": until,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "region": region,
    }
    form = {k: v.strip()[:200] for k, v in raw.items()}
    flt, errors = _parse_filter(request, db, form)
    context: dict[str, Any] = {"form": form, "errors": errors, "events": [], "page": None}
    if errors:
        return render(request, "audit/events.html", context, status_code=422)
    page = queries.events_page(
        db,
        flt,
        zone=_zone(request),
        older_than=_cursor(before),
        newer_than=_cursor(after),
    )
    context.update(
        events=page.events,
        page=page,
        regions=region_labels(db, (e.region_code for e in page.events if e.region_code)),
        first_link=_link(form),
        older_link=_link(form, before=page.older_than) if page.older_than else None,
        newer_link=_link(form, after=page.newer_than) if page.newer_than else None,
        filtered=not flt.empty,
    )
    return render(request, "audit/events.html", context)


def _pretty(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


@router.get("/audit/events/{event_id}", response_class=HTMLResponse)
def event_detail(
    request: Request,
    db: DB,
    event_id: int,
    principal: Principal = require(Permission.AUDIT_READ),
) -> HTMLResponse:
    """One event: its columns, its canonical text, its place in the log and its inclusion
    proof, checked here against the latest signed checkpoint."""
    proof = queries.event_proof(db, _settings(request), event_id)
    event = proof.event
    return render(
        request,
        "audit/event.html",
        {
            "proof": proof,
            "event": event,
            "old": _pretty(event.old),
            "new": _pretty(event.new),
            "region_name": region_labels(db, [event.region_code]).get(event.region_code, "")
            if event.region_code
            else "",
        },
    )


@router.get("/audit/status", response_class=HTMLResponse)
def log_status(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.AUDIT_READ),
) -> HTMLResponse:
    """The log's size, latest checkpoint (signature checked), the sequencer's backlog, the
    key a witness pins, and how to verify the whole log."""
    status = queries.log_status(db, _settings(request))
    return render(request, "audit/status.html", {"status": status})
