"""State changes of the privacy domain. Each records its audit event in the caller's
transaction and never commits.

A reveal is a state change too: the unmasked value leaves the platform's custody for one
view, so it is written down — the ``personal_data.revealed`` audit event (who, role,
department, subject, fields, purpose, case number) and, in the same transaction, its row in
``personal_data_access`` for the subject's "who used my data" page. The audit event and the
index row carry no personal value, only the names of the fields that were shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.cases.models import Case
from gongzhi.config import Settings
from gongzhi.crypto.masking import mask_id_number
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Forbidden, Invalid, NotFound
from gongzhi.people import idnumber
from gongzhi.people.models import Person
from gongzhi.people.queries import find_by_id_number
from gongzhi.privacy import policy
from gongzhi.privacy.classification import classify
from gongzhi.privacy.models import (
    OPEN_REQUEST_STATUSES,
    PersonalDataAccess,
    PrivacyRequest,
    Purpose,
    RequestKind,
    RequestStatus,
    SubjectKind,
)
from gongzhi.security.models import Account
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

REVEALED = "personal_data.revealed"
CASE_CONTACT_FIELDS = ("name", "phone", "email")
PERSON_FIELDS = ("id_number", "name", "phone", "birth_date")
CASE_PURPOSES = (Purpose.HANDLE_CASE, Purpose.CALL_BACK, Purpose.OTHER)
PERSON_PURPOSES = (Purpose.VERIFY_IDENTITY, Purpose.HANDLE_CASE, Purpose.OTHER)
PURPOSE_TEXT_MAX = 300
REQUEST_TEXT_MAX = 2000


# --- reveals -------------------------------------------------------------------------------


def _purpose(
    purpose: str, text: str | None, allowed: Iterable[Purpose]
) -> tuple[Purpose, str | None]:
    try:
        chosen = Purpose(purpose)
    except ValueError:
        raise Invalid("请选择查看目的 / choose a purpose", code="invalid_purpose") from None
    if chosen not in tuple(allowed):
        raise Invalid("此目的不适用 / this purpose does not apply here", code="invalid_purpose")
    cleaned = (text or "").strip() or None
    if cleaned is not None and len(cleaned) > PURPOSE_TEXT_MAX:
        raise Invalid("说明至多 300 字 / at most 300 characters", code="invalid_purpose")
    if chosen in (Purpose.OTHER, Purpose.LEGAL_ORDER) and (cleaned is None or len(cleaned) < 4):
        message = (
            "请写明法律文书名称和文号 / name the legal order and its number"
            if chosen == Purpose.LEGAL_ORDER
            else "请说明查看目的 / describe the purpose"
        )
        raise Invalid(message, code="purpose_text_required")
    return chosen, cleaned


def _fields(wanted: Iterable[str], allowed: tuple[str, ...]) -> list[str]:
    chosen = [f for f in allowed if f in set(wanted)]
    unknown = set(wanted) - set(allowed)
    if unknown or not chosen:
        raise Invalid(
            f"可查看的字段 / fields that can be revealed: {', '.join(allowed)}",
            code="invalid_fields",
        )
    return chosen


def _department_name(db: Session, account_id: int) -> str | None:
    from gongzhi.org.models import Department, StaffProfile

    return db.scalar(
        select(Department.name)
        .join(StaffProfile, StaffProfile.department_id == Department.id)
        .where(StaffProfile.account_id == account_id)
    )


def _record_reveal(
    db: Session,
    principal: Principal,
    *,
    right: policy.RevealRight,
    subject_kind: SubjectKind,
    object_id: str,
    region_code: str | None,
    subject_account_id: int | None,
    person_id: int | None,
    case_number: str | None,
    fields: list[str],
    purpose: Purpose,
    purpose_text: str | None,
) -> PersonalDataAccess:
    department = _department_name(db, principal.account_id)
    role = right.role.value if right.role is not None else ""
    event = record(
        db,
        actor=principal,
        action=REVEALED,
        object_type=subject_kind.value,
        object_id=object_id,
        new={
            "actor_name": principal.display_name,
            "role": role,
            "department": department,
            "subject_account_id": subject_account_id,
            "person_id": person_id,
            "case_number": case_number,
            "fields": fields,
            "purpose": purpose.value,
            "purpose_text": purpose_text,
        },
        reason=purpose_text,
        region_code=region_code,
    )
    db.flush()  # the event's id, for the index row
    access = PersonalDataAccess(
        audit_event_id=event.id,
        occurred_at=event.occurred_at,
        subject_account_id=subject_account_id,
        person_id=person_id,
        subject_kind=subject_kind.value,
        case_number=case_number,
        actor_account_id=principal.account_id,
        actor_name=principal.display_name,
        actor_role=role,
        department_name=department,
        fields=fields,
        purpose=purpose.value,
        purpose_text=purpose_text,
    )
    db.add(access)
    db.flush()
    return access


def reveal_case_contact(
    db: Session,
    case: Case,
    *,
    fields: Iterable[str],
    purpose: str,
    purpose_text: str | None = None,
    actor: Principal,
) -> dict[str, str | None]:
    """The reporter's contact of ``case`` unmasked, for this one view; recorded.

    ``case`` must come from ``cases.queries.access_case`` (the viewer may read the case)."""
    right = policy.case_contact_right(db, actor, case)
    if not right.allowed or case.contact is None:
        raise Forbidden(
            "你不能查看此联系人的完整信息 / you may not reveal this contact",
            code="reveal_not_allowed",
        )
    allowed = (Purpose.LEGAL_ORDER,) if right.anonymous else CASE_PURPOSES
    chosen, text = _purpose(purpose, purpose_text, allowed)
    wanted = _fields(fields, CASE_CONTACT_FIELDS)
    contact = case.contact
    values = {f: getattr(contact, f) for f in wanted}
    _record_reveal(
        db,
        actor,
        right=right,
        subject_kind=SubjectKind.CASE_CONTACT,
        object_id=case.number,
        region_code=case.region_code,
        subject_account_id=case.reporter_account_id,
        person_id=None,
        case_number=case.number,
        fields=[f"case_contact.{f}" for f in wanted],
        purpose=chosen,
        purpose_text=text,
    )
    return values


def reveal_person(
    db: Session,
    person: Person,
    *,
    fields: Iterable[str],
    purpose: str,
    purpose_text: str | None = None,
    case_number: str | None = None,
    actor: Principal,
) -> dict[str, str | None]:
    """A person's register entry unmasked, for this one view; recorded. A case number, if
    given, must be a case the viewer can read (it is what the citizen will see)."""
    right = policy.person_right(actor, person)
    if not right.allowed:
        raise Forbidden(
            "你不能查看此人的完整信息 / you may not reveal this person", code="reveal_not_allowed"
        )
    chosen, text = _purpose(purpose, purpose_text, PERSON_PURPOSES)
    wanted = _fields(fields, PERSON_FIELDS)
    number = (case_number or "").strip() or None
    if number is not None:
        from gongzhi.cases.queries import access_case

        try:
            number = access_case(db, actor, number).number
        except NotFound:
            raise Invalid("没有这个案件 / no such case", code="invalid_case_number") from None
    values: dict[str, str | None] = {}
    for f in wanted:
        value = getattr(person, f)
        values[f] = value.isoformat() if f == "birth_date" and value is not None else value
    linked = db.scalar(select(Account.id).where(Account.person_id == person.id))
    _record_reveal(
        db,
        actor,
        right=right,
        subject_kind=SubjectKind.PERSON,
        object_id=str(person.id),
        region_code=person.household_region_code,
        subject_account_id=linked,
        person_id=person.id,
        case_number=number,
        fields=[f"person.{f}" for f in wanted],
        purpose=chosen,
        purpose_text=text,
    )
    return values


# --- a citizen's link to the people register -------------------------------------------------


def link_person(
    db: Session, account: Account, *, id_number: str, name: str, actor: Actor
) -> Person:
    """Link a citizen's account to their entry in the people register, once they prove the
    ID number (here: the number and the full name on record; behind a real-name identity
    provider the provider's assertion replaces the name check). The answer never says which
    half did not match."""
    if account.kind != "citizen":
        raise Invalid("只有市民账户可以关联 / citizen accounts only", code="not_a_citizen")
    no_match = Invalid(
        "身份证号码和姓名与登记信息不符 / the ID number and name do not match our records",
        code="identity_not_matched",
    )
    try:
        parsed = idnumber.parse(id_number)
    except idnumber.InvalidIdNumber:
        raise no_match from None
    person = find_by_id_number(db, parsed.value)
    if person is None or (person.name or "") != (name or "").strip():
        raise no_match
    holder = db.scalar(select(Account).where(Account.person_id == person.id))
    if holder is not None and holder.id != account.id:
        raise Conflict(
            "该身份已关联其他账户，请到便民服务站核实 / already linked to another account",
            code="person_already_linked",
        )
    if account.person_id != person.id:
        account.person_id = person.id
        db.flush()
        record(
            db,
            actor=actor,
            action="privacy.person.link",
            object_type="account",
            object_id=account.id,
            new={"person_id": person.id, "id_number": mask_id_number(parsed.value)},
            region_code=person.household_region_code,
        )
    return person


# --- PIPL requests (Art. 44–47, with Art. 50's mechanism) -----------------------------------


def request_deadline(db: Session, settings: Settings, submitted_at: datetime) -> datetime:
    """End of office hours on the N-th working day after submission (N is the setting
    ``GONGZHI_PRIVACY_REQUEST_WORKING_DAYS``, 15 by default), on the official calendar."""
    from gongzhi.org.queries import calendar_for

    calendar = calendar_for(db, settings, None)
    return calendar.add_working_days(submitted_at, settings.privacy_request_working_days)


def _audit_request(
    db: Session,
    request: PrivacyRequest,
    actor: Actor,
    verb: str,
    old: dict[str, Any] | None,
) -> None:
    record(
        db,
        actor=actor,
        action=f"privacy.request.{verb}",
        object_type="privacy_request",
        object_id=request.id,
        old=old,
        new=request.snapshot(),
        region_code=request.region_code,
    )


def submit_request(
    db: Session,
    principal: Principal,
    *,
    kind: str,
    text: str,
    settings: Settings,
) -> PrivacyRequest:
    """A citizen asks to access, copy, correct or delete their personal data."""
    try:
        chosen = RequestKind(kind)
    except ValueError:
        raise Invalid("请选择请求类型 / choose a kind of request", code="invalid_kind") from None
    body = (text or "").strip()
    if not body or len(body) > REQUEST_TEXT_MAX:
        raise Invalid(
            "请写明你的请求（至多 2000 字）/ describe your request (up to 2000 characters)",
            code="invalid_text",
        )
    regions = principal.regions_for(Permission.PRIVACY_REQUEST_SUBMIT)
    if not regions:
        raise Forbidden("没有权限 / Not allowed", code="forbidden")
    now = utcnow()
    request = PrivacyRequest(
        account_id=principal.account_id,
        region_code=regions[0],
        kind=chosen.value,
        status=RequestStatus.SUBMITTED.value,
        submitted_at=now,
        due_at=request_deadline(db, settings, now),
    )
    request.text = body
    db.add(request)
    db.flush()
    _audit_request(db, request, principal, "submit", None)
    return request


def _require_open(request: PrivacyRequest) -> None:
    if request.status not in OPEN_REQUEST_STATUSES:
        raise Conflict("该请求已办结 / this request is closed", code="request_closed")


def accept_request(db: Session, request: PrivacyRequest, *, actor: Principal) -> PrivacyRequest:
    """受理: the handler has verified the requester and takes the request on."""
    if request.status != RequestStatus.SUBMITTED.value:
        raise Conflict("该请求不在待受理状态 / not waiting to be accepted", code="not_submitted")
    old = request.snapshot()
    request.status = RequestStatus.ACCEPTED.value
    request.accepted_at = utcnow()
    request.accepted_by_id = actor.account_id
    db.flush()
    _audit_request(db, request, actor, "accept", old)
    return request


def _clean_response(text: str, what: str) -> str:
    value = (text or "").strip()
    if len(value) < 4 or len(value) > REQUEST_TEXT_MAX:
        raise Invalid(f"请写明{what}（4–2000 字）/ write the {what}", code="invalid_response")
    return value


def fulfil_request(
    db: Session, request: PrivacyRequest, *, response: str, actor: Principal
) -> PrivacyRequest:
    """办结: what was done (for a copy, the citizen's export becomes downloadable)."""
    _require_open(request)
    old = request.snapshot()
    request.response = _clean_response(response, "办理结果")
    request.status = RequestStatus.FULFILLED.value
    request.closed_at = utcnow()
    request.closed_by_id = actor.account_id
    db.flush()
    _audit_request(db, request, actor, "fulfil", old)
    return request


def refuse_request(
    db: Session, request: PrivacyRequest, *, reasons: str, actor: Principal
) -> PrivacyRequest:
    """不予办理: a refusal always states its reasons (PIPL Art. 50)."""
    _require_open(request)
    old = request.snapshot()
    request.response = _clean_response(reasons, "理由")
    request.status = RequestStatus.REFUSED.value
    request.closed_at = utcnow()
    request.closed_by_id = actor.account_id
    db.flush()
    _audit_request(db, request, actor, "refuse", old)
    return request


def field_label(key: str) -> str:
    return classify(key).label
