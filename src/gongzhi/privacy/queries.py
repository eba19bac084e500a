"""Reads of the privacy domain: the masked view of a case's contact, looking a person up,
a citizen's "who used my data" list, PIPL requests (the citizen's own; the handler's, in
region scope, with overdue ones first) and the citizen's data export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from gongzhi.cases.models import Case
from gongzhi.errors import NotFound
from gongzhi.people.models import Person
from gongzhi.people.queries import find_by_id_number
from gongzhi.privacy import policy
from gongzhi.privacy.classification import masked
from gongzhi.privacy.models import (
    OPEN_REQUEST_STATUSES,
    PersonalDataAccess,
    PrivacyRequest,
)
from gongzhi.regions.codes import subtree_bounds
from gongzhi.security.models import Account
from gongzhi.security.permissions import Permission
from gongzhi.security.principal import Principal

DATA_USE_PAGE = 50


# --- a case's contact, as a viewer sees it ------------------------------------------------


@dataclass(frozen=True)
class ContactView:
    """What a viewer sees of a case's reporter contact. ``masked`` values follow the Chinese
    conventions; ``revealable`` says whether a purpose form is offered."""

    name: str | None
    phone: str | None
    email: str | None
    masked: bool
    revealable: bool
    anonymous: bool = False


def contact_view(
    db: Session, principal: Principal, case: Case, *, may_see: bool
) -> ContactView | None:
    """The reporter's contact as ``principal`` sees it without revealing: in full for the
    reporter, masked for the staff who may see it (``may_see``, the cases domain's rule) or
    may reveal it, nothing for anyone else. An anonymous reporter's contact is hidden; only
    the legal-order reveal is offered, to those who hold it."""
    contact = case.contact
    if contact is None:
        return None
    if principal.account_id == case.reporter_account_id:
        return ContactView(contact.name, contact.phone, contact.email, False, False)
    right = policy.case_contact_right(db, principal, case)
    if case.anonymous:
        if not right.allowed:
            return None
        return ContactView(None, None, None, True, True, anonymous=True)
    if not (may_see or right.allowed):
        return None
    return ContactView(
        masked("case_contact.name", contact.name),
        masked("case_contact.phone", contact.phone),
        masked("case_contact.email", contact.email),
        True,
        right.allowed,
    )


def access_case_for_reveal(db: Session, principal: Principal, number: str) -> Case:
    """The case whose reporter contact ``principal`` asks to reveal.

    A case the viewer may read (``cases.queries.access_case``); or, for the holder of
    ``ANONYMOUS_CONTACT_REVEAL`` (the security administrator, who reads no case: 三员分立), an
    *anonymous* case inside that grant's region, found by the number a legal order names. The
    second path yields the case only for ``case_contact_right`` and the reveal: the pages show
    its number and the contact form, never its description or timeline. Anything else is
    "not found", whether or not the case exists."""
    from gongzhi.cases.queries import access_case

    try:
        return access_case(db, principal, number)
    except NotFound:
        if not principal.can(Permission.ANONYMOUS_CONTACT_REVEAL):
            raise
    regions = []
    for scope in principal.regions_for(Permission.ANONYMOUS_CONTACT_REVEAL):
        low, high = subtree_bounds(scope)
        regions.append(Case.region_code.between(low, high))
    case = db.scalar(
        select(Case).where(
            Case.number == number,
            Case.anonymous.is_(True),
            or_(*regions) if regions else false(),
        )
    )
    if case is None:
        raise NotFound(f"未找到案件 / no such case: {number}", code="case_not_found")
    return case


# --- people ---------------------------------------------------------------------------------


def look_up_person(db: Session, principal: Principal, id_number: str) -> Person:
    """The person with this ID number if the viewer may look people up in the person's
    household region; "not found" otherwise, whether or not the person exists elsewhere."""
    person = find_by_id_number(db, id_number)
    if person is None or not policy.may_look_up(principal, person):
        raise NotFound("没有找到此人 / no such person", code="person_not_found")
    return person


def access_person(db: Session, principal: Principal, person_id: int) -> Person:
    person = db.get(Person, person_id)
    if person is None or not policy.may_look_up(principal, person):
        raise NotFound("没有找到此人 / no such person", code="person_not_found")
    return person


def masked_person(person: Person) -> dict[str, str | None]:
    return {
        "id_number": masked("person.id_number", person.id_number),
        "name": masked("person.name", person.name),
        "phone": masked("person.phone", person.phone),
        "birth_date": masked("person.birth_date", person.birth_date.isoformat()),
        "sex": person.sex,
        "household_region_code": person.household_region_code,
    }


# --- who used my data -----------------------------------------------------------------------


def _subject_filter(db: Session, principal: Principal) -> Any:
    """The accesses whose subject is the signed-in citizen: their account (their cases'
    contacts) or the person their account is linked to."""
    person_id = db.scalar(select(Account.person_id).where(Account.id == principal.account_id))
    clauses = [PersonalDataAccess.subject_account_id == principal.account_id]
    if person_id is not None:
        clauses.append(PersonalDataAccess.person_id == person_id)
    return or_(*clauses)


def data_use(
    db: Session, principal: Principal, *, page: int = 1, size: int = DATA_USE_PAGE
) -> tuple[list[PersonalDataAccess], bool]:
    """One page of the accesses to the citizen's data, newest first, and whether more
    follow."""
    if not principal.can(Permission.DATA_USE_READ_OWN):
        return [], False
    page = max(page, 1)
    rows = list(
        db.scalars(
            select(PersonalDataAccess)
            .where(_subject_filter(db, principal))
            .order_by(PersonalDataAccess.occurred_at.desc(), PersonalDataAccess.id.desc())
            .limit(size + 1)
            .offset((page - 1) * size)
        )
    )
    return rows[:size], len(rows) > size


def own_access(db: Session, principal: Principal, access_id: int) -> PersonalDataAccess:
    if not principal.can(Permission.DATA_USE_READ_OWN):
        raise NotFound("没有这条记录 / no such entry", code="access_not_found")
    row = db.scalar(
        select(PersonalDataAccess).where(
            PersonalDataAccess.id == access_id, _subject_filter(db, principal)
        )
    )
    if row is None:
        raise NotFound("没有这条记录 / no such entry", code="access_not_found")
    return row


def linked_person(db: Session, principal: Principal) -> Person | None:
    person_id = db.scalar(select(Account.person_id).where(Account.id == principal.account_id))
    return db.get(Person, person_id) if person_id is not None else None


# --- PIPL requests --------------------------------------------------------------------------


def own_requests(db: Session, principal: Principal) -> list[PrivacyRequest]:
    return list(
        db.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.account_id == principal.account_id)
            .order_by(PrivacyRequest.submitted_at.desc(), PrivacyRequest.id.desc())
        )
    )


def own_request(db: Session, principal: Principal, request_id: int) -> PrivacyRequest:
    found = db.scalar(
        select(PrivacyRequest).where(
            PrivacyRequest.id == request_id, PrivacyRequest.account_id == principal.account_id
        )
    )
    if found is None:
        raise NotFound("没有这个请求 / no such request", code="request_not_found")
    return found


def _handler_scope(principal: Principal) -> Any:
    clauses = []
    for scope in principal.regions_for(Permission.PRIVACY_REQUEST_HANDLE):
        low, high = subtree_bounds(scope)
        clauses.append(PrivacyRequest.region_code.between(low, high))
    return or_(*clauses) if clauses else false()


def access_request(db: Session, principal: Principal, request_id: int) -> PrivacyRequest:
    found = db.scalar(
        select(PrivacyRequest).where(PrivacyRequest.id == request_id, _handler_scope(principal))
    )
    if found is None:
        raise NotFound("没有这个请求 / no such request", code="request_not_found")
    return found


def handler_requests(
    db: Session, principal: Principal, *, open_only: bool = True, limit: int = 200
) -> list[PrivacyRequest]:
    """Requests in the handler's scope: open ones by deadline (so the overdue come first),
    or all of them newest first."""
    stmt = select(PrivacyRequest).where(_handler_scope(principal))
    if open_only:
        stmt = stmt.where(PrivacyRequest.status.in_(OPEN_REQUEST_STATUSES)).order_by(
            PrivacyRequest.due_at, PrivacyRequest.id
        )
    else:
        stmt = stmt.order_by(PrivacyRequest.submitted_at.desc(), PrivacyRequest.id.desc())
    return list(db.scalars(stmt.limit(limit)))


def is_overdue(request: PrivacyRequest, now: datetime) -> bool:
    return request.status in OPEN_REQUEST_STATUSES and request.due_at < now


def requester_names(db: Session, requests: list[PrivacyRequest]) -> dict[int, str]:
    ids = {r.account_id for r in requests}
    if not ids:
        return {}
    rows = db.execute(select(Account.id, Account.display_name).where(Account.id.in_(ids)))
    return {account_id: name for account_id, name in rows}


# --- the citizen's export (PIPL Art. 45) --------------------------------------------------


def export_for(db: Session, principal: Principal, now: datetime) -> dict[str, Any]:
    """Everything the platform holds about the citizen, as plain JSON: their account, their
    register entry, their cases with the contact they gave, who used their data, their
    requests. Built when downloaded, never stored (a stored copy would be a plain one)."""
    account = db.get(Account, principal.account_id)
    assert account is not None
    person = db.get(Person, account.person_id) if account.person_id is not None else None
    cases = db.scalars(
        select(Case)
        .where(Case.reporter_account_id == account.id)
        .order_by(Case.created_at, Case.id)
    )
    accesses = db.scalars(
        select(PersonalDataAccess)
        .where(_subject_filter(db, principal))
        .order_by(PersonalDataAccess.occurred_at, PersonalDataAccess.id)
    )
    return {
        "generated_at": now.isoformat(),
        "account": {
            "username": account.username,
            "display_name": account.display_name,
            "created_at": account.created_at.isoformat(),
        },
        "person": None
        if person is None
        else {
            "id_number": person.id_number,
            "name": person.name,
            "phone": person.phone,
            "birth_date": person.birth_date.isoformat(),
            "sex": person.sex,
            "household_region_code": person.household_region_code,
        },
        "cases": [
            {
                "number": c.number,
                "created_at": c.created_at.isoformat(),
                "status": c.status,
                "description": c.description,
                "address_text": c.address_text,
                "anonymous": c.anonymous,
                "contact": None
                if c.contact is None
                else {"name": c.contact.name, "phone": c.contact.phone, "email": c.contact.email},
            }
            for c in cases
        ],
        "data_use": [
            {
                "at": a.occurred_at.isoformat(),
                "who": a.actor_name,
                "department": a.department_name,
                "role": a.actor_role,
                "fields": a.fields,
                "purpose": a.purpose,
                "purpose_text": a.purpose_text,
                "case_number": a.case_number,
                "audit_event_id": a.audit_event_id,
            }
            for a in accesses
        ],
        "requests": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "submitted_at": r.submitted_at.isoformat(),
                "due_at": r.due_at.isoformat(),
                "text": r.text,
                "response": r.response,
            }
            for r in own_requests(db, principal)
        ],
    }
