"""Pages of the privacy domain.

Staff: the purpose form that reveals a case's reporter contact or a person's entry for one
view (htmx swaps the form and then the values into the page; without JavaScript the same
forms are whole pages), 查询人员 (look a person up by ID number), and the handlers' list of
PIPL requests. Citizens: 谁用了我的数据 (/my/data-use, each access with its checked Merkle
proof), linking their account to their register entry, and their PIPL requests.

A revealed value lives only in the response to the POST that revealed it: never in the case
page, never in a cache (every response to a signed-in browser is ``no-store``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongzhi.cases.api import require_any
from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Forbidden, Invalid, NotFound
from gongzhi.privacy import queries, services
from gongzhi.privacy.classification import classify
from gongzhi.privacy.models import (
    PrivacyRequest,
    Purpose,
    RequestKind,
    RequestStatus,
)
from gongzhi.privacy.policy import case_contact_right, person_right
from gongzhi.privacy.proofs import ProofStatus, proofs_for
from gongzhi.security.deps import DB, require
from gongzhi.security.models import Account
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal
from gongzhi.web.i18n import N_, pick, request_locale, translator
from gongzhi.web.queries import region_labels
from gongzhi.web.templating import render

# Row ids in paths: 64-bit keys, refused by the schema beyond that (never a database error).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(tags=["privacy"], include_in_schema=False)

PURPOSE_LABELS = {
    Purpose.HANDLE_CASE: N_("办理本案"),
    Purpose.CALL_BACK: N_("回访反映人"),
    Purpose.VERIFY_IDENTITY: N_("核实身份"),
    Purpose.OTHER: N_("其他（请说明）"),
    Purpose.LEGAL_ORDER: N_("依法调取（写明法律文书名称和文号）"),
}
KIND_LABELS = {
    RequestKind.ACCESS: N_("查阅我的个人信息"),
    RequestKind.COPY: N_("复制我的个人信息（下载副本）"),
    RequestKind.CORRECT: N_("更正、补充我的个人信息"),
    RequestKind.DELETE: N_("删除我的个人信息"),
}
STATUS_LABELS = {
    RequestStatus.SUBMITTED: N_("已提交"),
    RequestStatus.ACCEPTED: N_("已受理"),
    RequestStatus.FULFILLED: N_("已办结"),
    RequestStatus.REFUSED: N_("不予办理"),
}
ROLE_LABELS = {
    "dispatcher": N_("指挥中心调度员"),
    "department_handler": N_("部门承办人"),
    "township_clerk": N_("乡镇（街道）办事员"),
    "security_admin": N_("安全管理员"),
}
PROOF_LABELS = {
    ProofStatus.VERIFIED: N_("已验证"),
    ProofStatus.RECORDING: N_("正在记录"),
    ProofStatus.FAILED: N_("验证失败"),
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _pick(request: Request, message: str) -> str:
    return pick(message, request_locale(request))


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _labels(request: Request) -> dict[str, Any]:
    _ = translator(request)
    return {
        "purpose_labels": {k.value: _(v) for k, v in PURPOSE_LABELS.items()},
        "kind_labels": {k.value: _(v) for k, v in KIND_LABELS.items()},
        "request_status_labels": {k.value: _(v) for k, v in STATUS_LABELS.items()},
        "role_labels": {k: _(v) for k, v in ROLE_LABELS.items()},
        "proof_labels": {k.value: _(v) for k, v in PROOF_LABELS.items()},
    }


def _field_label(request: Request, key: str) -> str:
    return translator(request)(classify(key).label)


def _fields_form(
    request: Request, prefix: str, names: tuple[str, ...], present: dict[str, Any], chosen: set[str]
) -> list[dict[str, Any]]:
    return [
        {
            "name": n,
            "label": _field_label(request, f"{prefix}.{n}"),
            "checked": n in chosen,
        }
        for n in names
        if present.get(n)
    ]


# --- reveal: a case's reporter contact ----------------------------------------------------


def _case_reveal_form(
    request: Request,
    number: str,
    present: dict[str, Any],
    *,
    anonymous: bool,
    chosen: set[str] | None = None,
    purpose: str = "",
    purpose_text: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    purposes = (Purpose.LEGAL_ORDER,) if anonymous else services.CASE_PURPOSES
    ctx = {
        **_labels(request),
        "action": f"/privacy/reveal/case/{number}",
        "target": "#contact",
        "back": _case_back(number, anonymous=anonymous),
        "title": translator(request)("查看案件 %(number)s 的联系人", number=number),
        "fields": _fields_form(
            request,
            "case_contact",
            services.CASE_CONTACT_FIELDS,
            present,
            chosen if chosen is not None else {"phone"},
        ),
        "purposes": [p.value for p in purposes],
        "purpose": purpose or (purposes[0].value if len(purposes) == 1 else ""),
        "purpose_text": purpose_text,
        "case_number_field": False,
        "legal_order": anonymous,
        "error": error,
    }
    template = "privacy/_reveal_form.html" if _htmx(request) else "privacy/reveal.html"
    # htmx swaps only 2xx responses: a refused form comes back as 200 to show its message.
    return render(request, template, ctx, status_code=200 if _htmx(request) else status)


def _case_back(number: str, *, anonymous: bool) -> str:
    """Where "back" leads: the case page, or for an anonymous reporter's contact the
    legal-order page (the security administrator reads no case page)."""
    return LEGAL_ORDER_PAGE if anonymous else f"/cases/{number}"


def _contact_present(case: Any) -> dict[str, Any]:
    c = case.contact
    return {} if c is None else {"name": c.name, "phone": c.phone, "email": c.email}


@router.get("/privacy/reveal/case/{number:case_number}", response_class=HTMLResponse)
def case_reveal_form(
    request: Request,
    number: str,
    db: DB,
    principal: Principal = require_any(
        Permission.PERSONAL_DATA_REVEAL, Permission.ANONYMOUS_CONTACT_REVEAL
    ),
) -> HTMLResponse:
    case = queries.access_case_for_reveal(db, principal, number)
    right = case_contact_right(db, principal, case)
    if not right.allowed:
        raise Forbidden(
            "你不能查看此联系人的完整信息 / you may not reveal this contact",
            code="reveal_not_allowed",
        )
    return _case_reveal_form(request, number, _contact_present(case), anonymous=right.anonymous)


@router.post("/privacy/reveal/case/{number:case_number}", response_class=HTMLResponse)
def case_reveal(
    request: Request,
    number: str,
    db: DB,
    principal: Principal = require_any(
        Permission.PERSONAL_DATA_REVEAL, Permission.ANONYMOUS_CONTACT_REVEAL
    ),
    fields: Annotated[list[str] | None, Form()] = None,
    purpose: Annotated[str, Form(max_length=20)] = "",
    purpose_text: Annotated[str, Form(max_length=300)] = "",
) -> HTMLResponse:
    case = queries.access_case_for_reveal(db, principal, number)
    try:
        values = services.reveal_case_contact(
            db,
            case,
            fields=fields or [],
            purpose=purpose,
            purpose_text=purpose_text,
            actor=principal,
        )
    except Invalid as exc:
        return _case_reveal_form(
            request,
            number,
            _contact_present(case),
            anonymous=case.anonymous,
            chosen=set(fields or []),
            purpose=purpose,
            purpose_text=purpose_text,
            error=_pick(request, exc.message),
            status=422,
        )
    back = _case_back(number, anonymous=case.anonymous)
    return _revealed(request, "case_contact", values, back=back, subject=number)


# --- 依法调取: the security administrator opens an anonymous reporter's contact -------------

LEGAL_ORDER_PAGE = "/privacy/legal-order"


@router.get(LEGAL_ORDER_PAGE, response_class=HTMLResponse)
def legal_order(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.ANONYMOUS_CONTACT_REVEAL),
    number: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """The case number a legal order names, then the reveal form for its anonymous
    reporter's contact. The case itself (description, timeline) is not shown: the security
    administrator reads no case (三员分立)."""
    number = number.strip()
    error = None
    if number:
        try:
            case = queries.access_case_for_reveal(db, principal, number)
        except NotFound:
            error = translator(request)(
                "没有找到你可以依法调取联系人的匿名案件 %(number)s", number=number
            )
        else:
            right = case_contact_right(db, principal, case)
            if right.allowed and right.anonymous:
                return _case_reveal_form(
                    request, case.number, _contact_present(case), anonymous=True
                )
            error = translator(request)(
                "案件 %(number)s 不是匿名反映，联系人由承办部门和受理中心查看", number=number
            )
    return render(
        request,
        "privacy/legal_order.html",
        {"number": number, "error": error},
        status_code=404 if error else 200,
    )


def _revealed(
    request: Request, prefix: str, values: dict[str, str | None], *, back: str, subject: str
) -> HTMLResponse:
    ctx = {
        "values": [(_field_label(request, f"{prefix}.{k}"), v) for k, v in values.items()],
        "back": back,
        "subject": subject,
    }
    template = "privacy/_revealed.html" if _htmx(request) else "privacy/revealed.html"
    return render(request, template, ctx)


# --- 查询人员: look a person up, reveal with a purpose ------------------------------------


def _person_view(request: Request, db: DB, person: Any, principal: Principal) -> dict[str, Any]:
    shown = queries.masked_person(person)
    region = shown["household_region_code"]
    names = region_labels(db, [region] if region else [])
    _ = translator(request)
    return {
        "id": person.id,
        "rows": [
            (_field_label(request, "person.id_number"), shown["id_number"]),
            (_field_label(request, "person.name"), shown["name"]),
            (_field_label(request, "person.phone"), shown["phone"] or _("未登记")),
            (_field_label(request, "person.birth_date"), shown["birth_date"]),
            (_("户籍地"), names.get(region or "", region or _("未登记"))),
        ],
        "revealable": person_right(principal, person).allowed,
    }


@router.get("/privacy/people", response_class=HTMLResponse)
def people_page(
    request: Request, principal: Principal = require(Permission.PERSON_LOOKUP)
) -> HTMLResponse:
    return render(request, "privacy/people.html", {"person": None, "error": None})


@router.post("/privacy/people", response_class=HTMLResponse)
def people_lookup(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.PERSON_LOOKUP),
    id_number: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse:
    # A POST, so that the ID number never lands in a URL, a history or an access log.
    try:
        person = queries.look_up_person(db, principal, id_number)
    except NotFound:
        _ = translator(request)
        return render(
            request,
            "privacy/people.html",
            {"person": None, "error": _("没有找到此人，或此人不在你的辖区。")},
            status_code=404,
        )
    return render(
        request,
        "privacy/people.html",
        {"person": _person_view(request, db, person, principal), "error": None},
    )


def _person_reveal_form(
    request: Request,
    person: Any,
    *,
    chosen: set[str] | None = None,
    purpose: str = "",
    purpose_text: str = "",
    case_number: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    present = {
        "id_number": person.id_number,
        "name": person.name,
        "phone": person.phone,
        "birth_date": person.birth_date,
    }
    ctx = {
        **_labels(request),
        "action": f"/privacy/reveal/person/{person.id}",
        "target": f"#person-{person.id}",
        "back": "/privacy/people",
        "title": translator(request)("查看人员信息"),
        "fields": _fields_form(
            request,
            "person",
            services.PERSON_FIELDS,
            present,
            chosen if chosen is not None else {"id_number", "name"},
        ),
        "purposes": [p.value for p in services.PERSON_PURPOSES],
        "purpose": purpose,
        "purpose_text": purpose_text,
        "case_number_field": True,
        "case_number": case_number,
        "legal_order": False,
        "error": error,
    }
    template = "privacy/_reveal_form.html" if _htmx(request) else "privacy/reveal.html"
    return render(request, template, ctx, status_code=200 if _htmx(request) else status)


@router.get("/privacy/reveal/person/{person_id}", response_class=HTMLResponse)
def person_reveal_form(
    request: Request,
    person_id: RowId,
    db: DB,
    principal: Principal = require(Permission.PERSONAL_DATA_REVEAL),
) -> HTMLResponse:
    return _person_reveal_form(request, queries.access_person(db, principal, person_id))


@router.post("/privacy/reveal/person/{person_id}", response_class=HTMLResponse)
def person_reveal(
    request: Request,
    person_id: RowId,
    db: DB,
    principal: Principal = require(Permission.PERSONAL_DATA_REVEAL),
    fields: Annotated[list[str] | None, Form()] = None,
    purpose: Annotated[str, Form(max_length=20)] = "",
    purpose_text: Annotated[str, Form(max_length=300)] = "",
    case_number: Annotated[str, Form(max_length=40)] = "",
) -> HTMLResponse:
    person = queries.access_person(db, principal, person_id)
    try:
        values = services.reveal_person(
            db,
            person,
            fields=fields or [],
            purpose=purpose,
            purpose_text=purpose_text,
            case_number=case_number,
            actor=principal,
        )
    except Invalid as exc:
        return _person_reveal_form(
            request,
            person,
            chosen=set(fields or []),
            purpose=purpose,
            purpose_text=purpose_text,
            case_number=case_number,
            error=_pick(request, exc.message),
            status=422,
        )
    return _revealed(request, "person", values, back="/privacy/people", subject="")


# --- the citizen: who used my data, my identity ---------------------------------------------


def _data_use_page(
    request: Request,
    db: DB,
    principal: Principal,
    *,
    page: int = 1,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    page = min(max(page, 1), 100_000)
    rows, more = queries.data_use(db, principal, page=page)
    proofs = proofs_for(db, _settings(request), [r.audit_event_id for r in rows])
    entries = [
        {
            "access": r,
            "fields": [_field_label(request, f) for f in r.fields],
            "proof": proofs[r.audit_event_id],
        }
        for r in rows
    ]
    return render(
        request,
        "privacy/data_use.html",
        {
            **_labels(request),
            "entries": entries,
            "page": page,
            "more": more,
            "person": queries.linked_person(db, principal),
            "notice": None if error else _notice(request),
            "error": error,
        },
        status_code=status,
    )


@router.get("/my/data-use", response_class=HTMLResponse)
def data_use_page(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.DATA_USE_READ_OWN),
    page: int = 1,
) -> HTMLResponse:
    return _data_use_page(request, db, principal, page=page)


def _notice(request: Request) -> str | None:
    _ = translator(request)
    return {
        "linked": _("已关联你的身份信息。"),
        "submitted": _("请求已提交，我们会在期限内答复。"),
    }.get(request.query_params.get("done", ""))


@router.post("/my/identity", response_class=HTMLResponse, response_model=None)
def link_identity(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.DATA_USE_READ_OWN),
    id_number: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    account = db.get(Account, principal.account_id)
    assert account is not None
    try:
        services.link_person(db, account, id_number=id_number, name=name, actor=principal)
    except (Invalid, Conflict) as exc:
        return _data_use_page(request, db, principal, error=_pick(request, exc.message), status=422)
    return RedirectResponse("/my/data-use?done=linked", status_code=303)


# --- the citizen's PIPL requests -----------------------------------------------------------


def _my_requests_page(
    request: Request,
    db: DB,
    principal: Principal,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "privacy/my_requests.html",
        {
            **_labels(request),
            "requests": queries.own_requests(db, principal),
            "kinds": [k.value for k in RequestKind],
            "error": error,
            "form": form or {"kind": "", "text": ""},
            "notice": _notice(request),
            "days": _settings(request).privacy_request_working_days,
        },
        status_code=status,
    )


@router.get("/my/privacy-requests", response_class=HTMLResponse)
def my_requests(
    request: Request, db: DB, principal: Principal = require(Permission.PRIVACY_REQUEST_SUBMIT)
) -> HTMLResponse:
    return _my_requests_page(request, db, principal)


@router.post("/my/privacy-requests", response_class=HTMLResponse, response_model=None)
def submit_request(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.PRIVACY_REQUEST_SUBMIT),
    kind: Annotated[str, Form(max_length=10)] = "",
    text: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        services.submit_request(db, principal, kind=kind, text=text, settings=_settings(request))
    except Invalid as exc:
        return _my_requests_page(
            request,
            db,
            principal,
            error=_pick(request, exc.message),
            form={"kind": kind, "text": text},
            status=422,
        )
    return RedirectResponse("/my/privacy-requests?done=submitted", status_code=303)


def export_response(db: DB, principal: Principal, found: PrivacyRequest) -> Response:
    if found.kind != RequestKind.COPY.value or found.status != RequestStatus.FULFILLED.value:
        raise NotFound("没有可下载的副本 / no copy to download", code="no_export")
    now = utcnow()
    body = json.dumps(queries.export_for(db, principal, now), ensure_ascii=False, indent=2)
    name = f"gongzhi-my-data-{now:%Y%m%d}.json"
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/my/privacy-requests/{request_id}/export")
def my_export(
    request_id: RowId,
    db: DB,
    principal: Principal = require(Permission.PRIVACY_REQUEST_SUBMIT),
) -> Response:
    return export_response(db, principal, queries.own_request(db, principal, request_id))


# --- the handlers' list ---------------------------------------------------------------------


@router.get("/privacy/requests", response_class=HTMLResponse)
def handler_requests(
    request: Request,
    db: DB,
    principal: Principal = require(Permission.PRIVACY_REQUEST_HANDLE),
    all: str | None = None,
) -> HTMLResponse:
    rows = queries.handler_requests(db, principal, open_only=not all)
    now = utcnow()
    return render(
        request,
        "privacy/requests.html",
        {
            **_labels(request),
            "requests": rows,
            "overdue": {r.id for r in rows if queries.is_overdue(r, now)},
            "names": queries.requester_names(db, rows),
            "show_all": bool(all),
        },
    )


@router.get("/privacy/requests/{request_id}", response_class=HTMLResponse)
def handler_request(
    request: Request,
    request_id: RowId,
    db: DB,
    principal: Principal = require(Permission.PRIVACY_REQUEST_HANDLE),
) -> HTMLResponse:
    return _request_page(request, db, queries.access_request(db, principal, request_id))


def _request_page(
    request: Request, db: DB, found: PrivacyRequest, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "privacy/request.html",
        {
            **_labels(request),
            "req": found,
            "requester": queries.requester_names(db, [found]).get(found.account_id, ""),
            "overdue": queries.is_overdue(found, utcnow()),
            "error": error,
        },
        status_code=status,
    )


@router.post("/privacy/requests/{request_id}/{step}", response_class=HTMLResponse)
def handler_step(
    request: Request,
    request_id: RowId,
    step: str,
    db: DB,
    principal: Principal = require(Permission.PRIVACY_REQUEST_HANDLE),
    text: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    found = queries.access_request(db, principal, request_id)
    try:
        if step == "accept":
            services.accept_request(db, found, actor=principal)
        elif step == "fulfil":
            services.fulfil_request(db, found, response=text, actor=principal)
        elif step == "refuse":
            services.refuse_request(db, found, reasons=text, actor=principal)
        else:
            raise NotFound("没有这个操作 / no such step", code="no_such_step")
    except (Invalid, Conflict) as exc:
        return _request_page(request, db, found, _pick(request, exc.message), status=422)
    return RedirectResponse(f"/privacy/requests/{found.id}", status_code=303)
