"""The citizen's pages: report a problem (one question per page, saved on the server between
steps, check your answers), my requests, a request's page with its public timeline, rating
and reopening, and the case photos.

Plain HTML forms throughout: every step works without JavaScript (the map is an extra).
The draft lives in ``case_draft`` (one per account), so a reload, the back button or a
phone that goes to sleep loses nothing; it is removed when the report is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor
from gongzhi.cases import attachments, duplicates, queries, services
from gongzhi.cases.api import require_any
from gongzhi.cases.attachments import MAX_BYTES, MAX_PHOTOS, StoredPhoto
from gongzhi.cases.clocks import clock_state
from gongzhi.cases.models import Case, CaseDraft, CaseStatus, Channel, ClockKind, Outcome
from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.errors import DomainError, NotFound
from gongzhi.security.deps import DB, require
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import N_, pick, request_locale, translator
from gongzhi.web.templating import render

router = APIRouter(tags=["cases"], include_in_schema=False)

MAX_DESCRIPTION = 2000
MAX_ADDRESS = 400
MAX_PHONE = 40
MAX_COMMENT = 1000

# Status in plain words. A case closed as "not ours" or "no action possible" is never
# called resolved.
STATUS_WORDS = {
    CaseStatus.TRIAGE: N_("已收到，正在确定负责部门"),
    CaseStatus.DISPATCHED: N_("已交给负责部门"),
    CaseStatus.ACCEPTED: N_("部门正在处理"),
    CaseStatus.FEEDBACK: N_("部门已处理，正在现场核实"),
}
OUTCOME_WORDS = {
    Outcome.RESOLVED: N_("已解决"),
    Outcome.NOT_OURS: N_("已办结：不属于政府部门职责范围"),
    Outcome.NO_ACTION_POSSIBLE: N_("已办结：目前无法解决"),
    Outcome.DUPLICATE: N_("已办结：与另一件诉求合并办理"),
    Outcome.WITHDRAWN: N_("已撤回"),
}
WAITING_WORDS = N_("等待你补充情况")
EVENT_WORDS = {
    "submitted": N_("我们收到了你的诉求"),
    "dispatched": N_("交给负责部门"),
    "accepted": N_("部门已接手办理"),
    "returned": N_("重新确定负责部门"),
    "feedback": N_("部门反馈了处理情况"),
    "verified": N_("现场核实通过"),
    "rework": N_("现场核实未通过，部门继续处理"),
    "closed": N_("办结"),
    "rated": N_("你评价了办理结果"),
    "reopened": N_("你要求重新办理"),
    "paused": N_("等待你补充情况"),
    "resumed": N_("继续办理"),
    "merged": N_("与反映同一问题的另一件诉求合并办理"),
    "unmerged": N_("恢复单独办理"),
}
# On a case the citizen follows but did not report, only these events keep their note: the
# department's and the verifier's account of the work, and the closing words. Others (a
# reopening reason, a question to the reporter) are the other reporter's business.
FOLLOWER_NOTES = frozenset({"feedback", "verified", "closed"})
RATING_WORDS = {
    1: N_("非常不满意"),
    2: N_("不满意"),
    3: N_("一般"),
    4: N_("满意"),
    5: N_("非常满意"),
}


@dataclass(frozen=True)
class AnonymousReporter:
    """The reporter of an anonymous case as an actor: the audit log keeps the account id
    (auditors may need it), but the label on the case's timeline, which handlers read,
    does not name the person."""

    account_id: int

    @property
    def audit_id(self) -> int | None:
        return self.account_id

    @property
    def audit_label(self) -> str:
        return "匿名群众 / anonymous citizen"


def reporter_actor(principal: Principal, anonymous: bool) -> Actor:
    return AnonymousReporter(principal.account_id) if anonymous else principal


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def status_words(case: Case) -> str:
    """The msgid of a case's status in plain words (translated by the caller)."""
    if case.status == CaseStatus.CLOSED:
        return (
            OUTCOME_WORDS.get(Outcome(case.outcome), N_("已办结")) if case.outcome else N_("已办结")
        )
    if case.waiting_for_citizen:
        return WAITING_WORDS
    return STATUS_WORDS.get(CaseStatus(case.status), N_("办理中"))


# -- the draft ---------------------------------------------------------------------------------


def _draft(db: Session, principal: Principal) -> CaseDraft | None:
    return db.scalar(select(CaseDraft).where(CaseDraft.account_id == principal.account_id))


def _data(db: Session, principal: Principal) -> dict[str, Any]:
    draft = _draft(db, principal)
    return dict(draft.data) if draft is not None else {}


def _save(db: Session, principal: Principal, **changes: Any) -> dict[str, Any]:
    """Update the citizen's draft. A draft is the citizen's own scratch paper, not an
    administrative record: the audit trail starts when the report is sent."""
    draft = _draft(db, principal)
    now = utcnow()
    if draft is None:
        draft = CaseDraft(account_id=principal.account_id, data={}, created_at=now)
        db.add(draft)
    data = {**(draft.data or {}), **changes}
    draft.data = data  # a new dict, so the JSON column is seen as changed
    draft.updated_at = now
    db.flush()
    return data


def _photos(data: dict[str, Any]) -> list[StoredPhoto]:
    return [StoredPhoto.from_json(p) for p in data.get("photos") or []]


def _next_step(data: dict[str, Any]) -> str:
    if not data.get("description"):
        return "/report/problem"
    if not data.get("address") and data.get("lat") is None:
        return "/report/where"
    if not data.get("where_confirmed"):
        return "/report/where/confirm"
    if not data.get("photos_done"):
        return "/report/photos"
    if not data.get("contact_done"):
        return "/report/contact"
    return "/report/check"


def _go(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _step(
    request: Request,
    template: str,
    data: dict[str, Any],
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> HTMLResponse:
    return render(
        request,
        f"cases/{template}",
        {
            "draft": data,
            "errors": errors or [],
            # The "where" step's map draws tiles only where the deployment has a tile server.
            "map_tiles": request.app.state.settings.map_tile_url,
            **extra,
        },
        status_code=422 if errors else 200,
    )


def _error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


# -- report a problem ----------------------------------------------------------------------


@router.get("/report")
def report_start(db: DB, principal: Principal = require(Permission.CASE_SUBMIT)) -> Response:
    """Back to where the citizen left off (the first unanswered question)."""
    return _go(_next_step(_data(db, principal)))


@router.get("/report/problem", response_class=HTMLResponse)
def problem_page(
    request: Request, db: DB, principal: Principal = require(Permission.CASE_SUBMIT)
) -> HTMLResponse:
    return _step(request, "citizen_problem.html", _data(db, principal), limit=MAX_DESCRIPTION)


@router.post("/report/problem", response_model=None)
def problem_save(
    request: Request,
    db: DB,
    description: Annotated[str, Form()] = "",
    principal: Principal = require(Permission.CASE_SUBMIT),
) -> Response:
    _ = translator(request)
    text = description.strip()
    errors = []
    if not text:
        errors.append(_error("description", _("请说一说遇到了什么问题")))
    elif len(text) > MAX_DESCRIPTION:
        errors.append(_error("description", _("问题描述不能超过 %(n)s 字", n=MAX_DESCRIPTION)))
    if errors:
        data = {**_data(db, principal), "description": description}
        return _step(request, "citizen_problem.html", data, errors, limit=MAX_DESCRIPTION)
    return _go(_next_step(_save(db, principal, description=text)))


def _float(value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        return None


@router.get("/report/where", response_class=HTMLResponse)
def where_page(
    request: Request, db: DB, principal: Principal = require(Permission.CASE_SUBMIT)
) -> HTMLResponse:
    return _step(request, "citizen_where.html", _data(db, principal))


@router.post("/report/where", response_model=None)
def where_save(
    request: Request,
    db: DB,
    address: Annotated[str, Form()] = "",
    lat: Annotated[str, Form()] = "",
    lon: Annotated[str, Form()] = "",
    principal: Principal = require(Permission.CASE_SUBMIT),
) -> Response:
    from gongzhi.regions.resolver import get_resolver

    _ = translator(request)
    text = address.strip()
    la, lo = _float(lat), _float(lon)
    if la is None or lo is None or not (-90 <= la <= 90 and -180 <= lo <= 180):
        la = lo = None  # a point is an extra: a broken one is dropped, not refused
    errors = []
    if not text and la is None:
        errors.append(_error("address", _("请填写问题所在的地址")))
    elif len(text) > MAX_ADDRESS:
        errors.append(_error("address", _("地址不能超过 %(n)s 字", n=MAX_ADDRESS)))
    if errors:
        data = {**_data(db, principal), "address": address}
        return _step(request, "citizen_where.html", data, errors)
    resolution = None
    if text:
        settings = _settings(request)
        try:
            resolution = get_resolver(db, home_region=settings.home_region).resolve(text).to_json()
        except Exception:  # the report goes on; the dispatch centre locates it
            resolution = None
    data = _save(
        db,
        principal,
        address=text,
        lat=la,
        lon=lo,
        resolution=resolution,
        where_confirmed=False,
    )
    return _go(_next_step(data))


@router.get("/report/where/confirm", response_class=HTMLResponse)
def where_confirm_page(
    request: Request, db: DB, principal: Principal = require(Permission.CASE_SUBMIT)
) -> Response:
    data = _data(db, principal)
    if not data.get("address") and data.get("lat") is None:
        return _go("/report/where")
    return _step(request, "citizen_where_confirm.html", data)


@router.post("/report/where/confirm", response_model=None)
def where_confirm_save(
    request: Request,
    db: DB,
    answer: Annotated[str, Form()] = "",
    principal: Principal = require(Permission.CASE_SUBMIT),
) -> Response:
    _ = translator(request)
    if answer == "change":
        return _go("/report/where")
    data = _data(db, principal)
    if not data.get("address") and data.get("lat") is None:
        # Nothing to confirm yet (a stale form, or a draft already sent): ask for the place.
        return _go("/report/where")
    if answer != "yes":
        errors = [_error("answer-yes", _("请选择地点是否正确"))]
        return _step(request, "citizen_where_confirm.html", data, errors)
    return _go(_next_step(_save(db, principal, where_confirmed=True)))


@router.get("/report/photos", response_class=HTMLResponse)
def photos_page(
    request: Request, db: DB, principal: Principal = require(Permission.CASE_SUBMIT)
) -> HTMLResponse:
    return _photos_step(request, _data(db, principal))


def _photos_step(
    request: Request, data: dict[str, Any], errors: list[dict[str, str]] | None = None
) -> HTMLResponse:
    return _step(
        request,
        "citizen_photos.html",
        data,
        errors,
        photos=_photos(data),
        max_photos=MAX_PHOTOS,
        max_mb=MAX_BYTES // (1024 * 1024),
    )


@router.post("/report/photos", response_model=None)
def photos_save(
    request: Request,
    db: DB,
    photos: Annotated[list[UploadFile], File()] = [],  # noqa: B006 (FastAPI default)
    action: Annotated[str, Form()] = "continue",
    principal: Principal = require(Permission.CASE_SUBMIT),
) -> Response:
    _ = translator(request)
    locale = request_locale(request)
    data = _data(db, principal)
    kept = _photos(data)
    errors = []
    for upload in photos:
        if not upload.filename:
            continue  # the empty part a browser sends when no file was chosen
        if len(kept) >= MAX_PHOTOS:
            errors.append(_error("photos", _("最多只能添加 %(n)s 张照片", n=MAX_PHOTOS)))
            break
        content = upload.file.read(MAX_BYTES + 1)
        try:
            stored = attachments.store_photo(content, upload.filename, _settings(request))
        except DomainError as exc:
            errors.append(_error("photos", pick(exc.message, locale)))
            continue
        if all(p.sha256 != stored.sha256 for p in kept):
            kept.append(stored)
    data = _save(db, principal, photos=[p.to_json() for p in kept])
    if errors:
        # The photos that passed are kept, and so is everything else in the draft.
        return _photos_step(request, data, errors)
    if action == "upload":
        return _go("/report/photos")
    return _go(_next_step(_save(db, principal, photos_done=True)))


@router.post("/report/photos/remove")
def photos_remove(
    db: DB,
    sha256: Annotated[str, Form()] = "",
    principal: Principal = require(Permission.CASE_SUBMIT),
) -> RedirectResponse:
    data = _data(db, principal)
    kept = [p.to_json() for p in _photos(data) if p.sha256 != sha256]
    _save(db, principal, photos=kept)
    return _go("/report/photos")


@router.get("/report/contact", response_class=HTMLResponse)
def contact_page(
    request: Request, db: DB, principal: Principal = require(Permission.CASE_SUBMIT)
) -> HTMLResponse:
    return _step(request, "citizen_contact.html", _data(db, principal))


@router.post("/report/contact", response_model=None)
def contact_save(
    request: Request,
    db: DB,
    anonymous: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    principal: Principal = require(Permission.CASE_SUBMIT),
) -> Response:
    _ = translator(request)
    number = phone.strip()
    errors = []
    if anonymous not in ("yes", "no"):
        errors.append(_error("anonymous-no", _("请选择是否匿名反映")))
    if len(number) > MAX_PHONE or (number and not all(c.isdigit() or c in "+- " for c in number)):
        errors.append(_error("phone", _("请填写正确的电话号码，例如 13800000000")))
    if errors:
        data = {**_data(db, principal), "phone": phone}
        if anonymous in ("yes", "no"):
            data["anonymous"] = anonymous == "yes"
        return _step(request, "citizen_contact.html", data, errors)
    data = _save(db, principal, anonymous=anonymous == "yes", phone=number, contact_done=True)
    return _go(_next_step(data))


@router.get("/report/check", response_class=HTMLResponse)
def check_page(
    request: Request, db: DB, principal: Principal = require(Permission.CASE_SUBMIT)
) -> Response:
    data = _data(db, principal)
    step = _next_step(data)
    if step != "/report/check":
        return _go(step)
    return _step(request, "citizen_check.html", data, photos=_photos(data))


@router.post("/report/check", response_model=None)
def check_submit(
    request: Request, db: DB, principal: Principal = require(Permission.CASE_SUBMIT)
) -> Response:
    data = _data(db, principal)
    step = _next_step(data)
    if step != "/report/check":
        return _go(step)
    photos = _photos(data)
    anonymous = bool(data.get("anonymous"))
    actor = reporter_actor(principal, anonymous)
    case = services.submit_case(
        db,
        channel=Channel.WEB,
        description=data["description"],
        actor=actor,
        reporter_account_id=principal.account_id,
        contact_name=principal.display_name,
        contact_phone=data.get("phone") or None,
        anonymous=anonymous,
        address_text=data.get("address") or None,
        lat=data.get("lat"),
        lon=data.get("lon"),
        settings=_settings(request),
    )
    attachments.attach_photos(db, case, photos, actor=actor)
    draft = _draft(db, principal)
    if draft is not None:
        db.delete(draft)
    return _go(f"/report/sent/{case.number}")


def _due(case: Case, request: Request, db: Session) -> dict[str, Any]:
    calendar = services.work_calendar(db, case, _settings(request))
    states = clock_state(case, utcnow(), calendar)
    return {
        "dispatch_due": states[ClockKind.DISPATCH].due_at if ClockKind.DISPATCH in states else None,
        "feedback_due": states[ClockKind.FEEDBACK].due_at if ClockKind.FEEDBACK in states else None,
        "handle_due": states[ClockKind.HANDLE].due_at if ClockKind.HANDLE in states else None,
        "deadline": queries.due_at(db, case),
    }


@router.get("/report/sent/{number}", response_class=HTMLResponse)
def sent_page(
    number: str,
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_READ_OWN),
) -> HTMLResponse:
    case = _own_case(db, principal, number)
    return render(
        request,
        "cases/citizen_sent.html",
        {"case": case, "lead": queries.lead_department_name(db, case), **_due(case, request, db)},
    )


# -- my requests ---------------------------------------------------------------------------


def _own_case(db: Session, principal: Principal, number: str) -> Case:
    case = queries.access_case(db, principal, number)
    if case.reporter_account_id != principal.account_id:
        raise NotFound(f"未找到案件 / no such case: {number}", code="case_not_found")
    return case


def _merged_into(db: Session, case: Case) -> Case | None:
    if case.outcome != Outcome.DUPLICATE.value:
        return None
    return duplicates.merged_into(db, case)


@router.get("/my/cases", response_class=HTMLResponse)
def my_cases(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_READ_OWN),
    page: str = "1",
) -> HTMLResponse:
    """The citizen's own requests, newest first, a page at a time; a request merged into
    another links to the main one. The first page also lists the requests they follow."""
    _ = translator(request)
    listing = queries.own_cases_page(db, principal, queries.page_number(page))
    rows = [
        {"case": c, "status": _(status_words(c)), "merged_into": _merged_into(db, c)}
        for c in listing.items
    ]
    followed = (
        [{"case": c, "status": _(status_words(c))} for c in queries.followed_cases(db, principal)]
        if listing.number == 1
        else []
    )
    return render(
        request,
        "cases/citizen_cases.html",
        {"rows": rows, "listing": listing, "followed": followed},
    )


def _case_page(
    request: Request,
    db: Session,
    principal: Principal,
    case: Case,
    errors: list[dict[str, str]] | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    _ = translator(request)
    settings = _settings(request)
    now = utcnow()
    events = [
        {
            "at": e.at,
            "what": _(EVENT_WORDS.get(e.kind, N_("办理进展"))),
            "note": e.note,
            "kind": e.kind,
        }
        for e in case.events
        if e.public
    ]
    waiting_note = None
    if case.waiting_for_citizen:
        paused = [e for e in case.events if e.kind == "paused"]
        waiting_note = paused[-1].note if paused else None
    closed = case.status == CaseStatus.CLOSED
    reopen_until = (
        case.closed_at + timedelta(days=settings.case_reopen_days)
        if closed and case.closed_at is not None
        else None
    )
    return render(
        request,
        "cases/citizen_case.html",
        {
            "case": case,
            "status": _(status_words(case)),
            "resolved": case.resolved,
            "lead": queries.lead_department_name(db, case),
            "events": events,
            "photos": attachments.attachments_of(db, case),
            "waiting_note": waiting_note,
            "can_rate": closed and case.rating is None,
            "rating_words": {k: _(v) for k, v in RATING_WORDS.items()},
            "can_reopen": reopen_until is not None and now <= reopen_until,
            "reopen_until": reopen_until,
            "errors": errors or [],
            "form": form or {},
            "merged_into": _merged_into(db, case),
            **_due(case, request, db),
        },
        status_code=422 if errors else 200,
    )


def _followed_page(request: Request, db: Session, principal: Principal, case: Case) -> HTMLResponse:
    """A case the citizen follows (backed, or their report was merged into it): its status,
    deadline and public timeline; never the reporter's words, contact, place or photos."""
    _ = translator(request)
    events = [
        {
            "at": e.at,
            "what": _(EVENT_WORDS.get(e.kind, N_("办理进展"))),
            "note": e.note if e.kind in FOLLOWER_NOTES else None,
        }
        for e in case.events
        if e.public
    ]
    mine = [r.duplicate_number for r in duplicates.merges_into(db, case) if r.standing]
    own_numbers = set(
        db.scalars(
            select(Case.number).where(
                Case.number.in_(mine or [""]), Case.reporter_account_id == principal.account_id
            )
        )
    )
    return render(
        request,
        "cases/citizen_followed.html",
        {
            "case": case,
            "status": _(status_words(case)),
            "lead": queries.lead_department_name(db, case),
            "events": events,
            "merged_from": sorted(own_numbers),
            "supporters": duplicates.support_count(db, case),
            **_due(case, request, db),
        },
    )


@router.get("/my/cases/{number}", response_class=HTMLResponse)
def my_case(
    number: str,
    request: Request,
    db: DB,
    principal: Principal = require(Permission.CASE_READ_OWN),
) -> HTMLResponse:
    case, own = queries.access_followed_case(db, principal, number)
    if not own:
        return _followed_page(request, db, principal, case)
    return _case_page(request, db, principal, _own_case(db, principal, number))


@router.post("/my/cases/{number}/rate", response_model=None)
def my_case_rate(
    number: str,
    request: Request,
    db: DB,
    rating: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    principal: Principal = require(Permission.CASE_READ_OWN),
) -> Response:
    _ = translator(request)
    case = _own_case(db, principal, number)
    form = {"rating": rating, "comment": comment}
    if rating not in {"1", "2", "3", "4", "5"}:
        errors = [_error("rating-5", _("请选择你对办理结果的评价"))]
        return _case_page(request, db, principal, case, errors, form)
    if len(comment.strip()) > MAX_COMMENT:
        errors = [_error("comment", _("意见不能超过 %(n)s 字", n=MAX_COMMENT))]
        return _case_page(request, db, principal, case, errors, form)
    try:
        services.rate_case(
            db,
            case,
            rating=int(rating),
            comment=comment,
            actor=reporter_actor(principal, case.anonymous),
        )
    except DomainError as exc:
        errors = [_error("rating-5", pick(exc.message, request_locale(request)))]
        return _case_page(request, db, principal, case, errors, form)
    return _go(f"/my/cases/{case.number}")


@router.post("/my/cases/{number}/reopen", response_model=None)
def my_case_reopen(
    number: str,
    request: Request,
    db: DB,
    reason: Annotated[str, Form()] = "",
    principal: Principal = require(Permission.CASE_READ_OWN),
) -> Response:
    _ = translator(request)
    case = _own_case(db, principal, number)
    form = {"reason": reason}
    if not reason.strip():
        errors = [_error("reason", _("请说明为什么需要重新办理"))]
        return _case_page(request, db, principal, case, errors, form)
    if len(reason.strip()) > MAX_COMMENT:
        errors = [_error("reason", _("原因不能超过 %(n)s 字", n=MAX_COMMENT))]
        return _case_page(request, db, principal, case, errors, form)
    try:
        services.reopen_case(db, case, reason=reason, actor=principal, settings=_settings(request))
    except DomainError as exc:
        errors = [_error("reason", pick(exc.message, request_locale(request)))]
        return _case_page(request, db, principal, case, errors, form)
    return _go(f"/my/cases/{case.number}")


# -- photos --------------------------------------------------------------------------------


@router.get("/cases/{number}/photos/{sha256}", response_model=None)
def case_photo(
    number: str,
    sha256: str,
    request: Request,
    db: DB,
    principal: Principal = require_any(Permission.CASE_READ, Permission.CASE_READ_OWN),
) -> Response:
    """A case photo, for whoever may see the case (its reporter, staff in scope)."""
    case = queries.access_case(db, principal, number)
    row = attachments.attachment_by_hash(db, case, sha256)
    if row is None:
        raise NotFound("未找到照片 / no such photo", code="photo_not_found")
    path = attachments.storage_path(_settings(request), row.storage_key)
    if not path.is_file():
        raise NotFound("照片文件缺失 / the photo file is missing", code="photo_not_found")
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
