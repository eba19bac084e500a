"""三员分立: the system, security and audit administrators read no case by virtue of their
role, and an administrator role is its account's only role. The system administrator manages
accounts and configuration; the security administrator opens an anonymous reporter's contact
on a legal order and sees nothing else of the case; the audit administrator reads the audit
log, which holds no contact value and no description."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.cases.models import CaseContact
from gongzhi.errors import Conflict
from gongzhi.security.models import Account
from gongzhi.security.permissions import ADMIN_ROLES, ROLE_PERMISSIONS, Permission, Role
from gongzhi.security.principal import Principal
from gongzhi.security.services import create_account, grant_role
from tests.cases.helpers import no_classifier  # noqa: F401
from tests.privacy.helpers import As, make_case, signed_in  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_classifier")

ADMINS = ("system_admin", "security_admin", "audit_admin")
PHONE, NAME, EMAIL = "13812341999", "欧阳秀英", "ouyang.xy@example.com"
DESCRIPTION = "玉华村村口的路灯坏了三盏，晚上很黑"
ORDER = "安公（刑）调证字〔2026〕7号"
COUNTY = "330523000000"
ACTOR = SystemActor("test:separation")


def _case(db: Session, *, anonymous: bool = False) -> str:
    case = make_case(db, name=NAME, phone=PHONE, anonymous=anonymous)
    case.description = DESCRIPTION
    contact = db.scalar(select(CaseContact).where(CaseContact.case_id == case.id))
    assert contact is not None
    contact.email = EMAIL
    db.flush()
    return case.number


def _holds_nothing_of_the_case(content: bytes) -> None:
    for value in (PHONE, NAME, EMAIL, DESCRIPTION):
        assert value.encode() not in content, value


def test_no_administrator_role_reads_cases() -> None:
    readers = {Permission.CASE_READ, Permission.CASE_READ_OWN, Permission.CASE_TRIAGE}
    readers |= {Permission.CASE_HANDLE, Permission.PERSONAL_DATA_REVEAL, Permission.PERSON_LOOKUP}
    for role in ADMIN_ROLES:
        assert not (ROLE_PERMISSIONS[role] & readers), role
    # Only the security administrator holds the legal-order reveal, and only it.
    holders = {
        r for r, held in ROLE_PERMISSIONS.items() if Permission.ANONYMOUS_CONTACT_REVEAL in held
    }
    assert {r.value for r in holders} == {"security_admin"}


@pytest.mark.parametrize("persona", ADMINS)
def test_an_administrator_reaches_no_case(
    persona: str,
    signed_in: Callable[[str], As],  # noqa: F811
    db: Session,
) -> None:
    number = _case(db)
    admin = signed_in(persona)
    for url in (
        f"/cases/{number}",
        f"/api/v1/cases/{number}",
        "/api/v1/cases",
        f"/api/v1/cases/{number}/summons",
        f"/api/v1/cases/{number}/duplicates",
    ):
        resp = admin.get(url)
        assert resp.status_code == 403, (url, resp.status_code)
        _holds_nothing_of_the_case(resp.content)
    home = admin.get("/staff")
    assert home.status_code == 200
    _holds_nothing_of_the_case(home.content)
    assert b'href="/cases/' not in home.content
    # The reveal of a contact that is not anonymous: not there for any of them.
    reveal = admin.post(
        f"/api/v1/privacy/case-contacts/{number}/reveal",
        {"fields": ["phone"], "purpose": "call_back"},
    )
    assert reveal.status_code in (403, 404)
    _holds_nothing_of_the_case(reveal.content)


def test_the_security_administrator_opens_only_an_anonymous_contact_on_a_legal_order(
    signed_in: Callable[[str], As],  # noqa: F811
    db: Session,
) -> None:
    security = signed_in("security_admin")
    home = security.get("/staff")
    assert b'href="/privacy/legal-order"' in home.content
    page = security.get("/privacy/legal-order")
    assert page.status_code == 200 and b'name="number"' in page.content

    plain = _case(db)
    refused = security.get(f"/privacy/legal-order?number={plain}")
    assert refused.status_code == 404
    _holds_nothing_of_the_case(refused.content)

    anonymous = _case(db, anonymous=True)
    form = security.get(f"/privacy/legal-order?number={anonymous}")
    assert form.status_code == 200
    assert f'action="/privacy/reveal/case/{anonymous}"'.encode() in form.content
    _holds_nothing_of_the_case(form.content)  # the number and a form, nothing of the case
    assert security.get(f"/cases/{anonymous}").status_code == 403

    wrong_purpose = security.form(
        f"/privacy/reveal/case/{anonymous}", {"fields": ["phone", "email"], "purpose": "call_back"}
    )
    assert PHONE.encode() not in wrong_purpose.content
    shown = security.form(
        f"/privacy/reveal/case/{anonymous}",
        {"fields": ["phone", "email"], "purpose": "legal_order", "purpose_text": ORDER},
    )
    assert shown.status_code == 200, shown.text
    assert PHONE.encode() in shown.content and EMAIL.encode() in shown.content
    assert DESCRIPTION.encode() not in shown.content
    assert b'href="/privacy/legal-order"' in shown.content  # back, not to the case page


def test_the_audit_administrator_reads_the_log_but_no_contact_or_description(
    signed_in: Callable[[str], As],  # noqa: F811
    db: Session,
) -> None:
    number = _case(db)
    dispatcher = signed_in("dispatcher")
    revealed = dispatcher.post(
        f"/api/v1/privacy/case-contacts/{number}/reveal",
        {"fields": ["name", "phone", "email"], "purpose": "call_back"},
    )
    assert revealed.status_code == 200
    auditor = signed_in("audit_admin")
    events = db.scalars(select(AuditEvent).where(AuditEvent.object_id == number)).all()
    assert len(events) >= 2  # the intake and the reveal at least
    listing = auditor.get(f"/audit/events?object_type=service_case&object_id={number}")
    assert listing.status_code == 200 and number.encode() in listing.content
    _holds_nothing_of_the_case(listing.content)
    for event in events:
        detail = auditor.get(f"/audit/events/{event.id}")
        assert detail.status_code == 200
        _holds_nothing_of_the_case(detail.content)
    assert auditor.get(f"/cases/{number}").status_code == 403


def _staff(db: Session, username: str) -> Account:
    return create_account(
        db,
        username=username,
        display_name="三员测试",
        kind="staff",
        password="Bamboo-Sea-77",
        actor=ACTOR,
    )


def test_an_administrator_role_is_the_accounts_only_role(db: Session) -> None:
    leader = _staff(db, "sep.leader")
    grant_role(db, leader, role=Role.LEADER, region_code=COUNTY, actor=ACTOR)
    admin = _staff(db, "sep.admin")
    grant_role(db, admin, role=Role.AUDIT_ADMIN, region_code=COUNTY, actor=ACTOR)
    db.flush()
    refused = (
        (leader, Role.SYSTEM_ADMIN),  # a business role and an administrator's
        (admin, Role.DISPATCHER),  # an administrator who would also read cases
        (admin, Role.SECURITY_ADMIN),  # two administrators' powers in one person
    )
    for account, role in refused:
        with pytest.raises(Conflict) as err:
            grant_role(db, account, role=role, region_code=COUNTY, actor=ACTOR)
        assert err.value.code == "separation_of_duties"
    assert {g.role for g in leader.grants} == {"leader"}
    assert {g.role for g in admin.grants} == {"audit_admin"}
    # The same role over another region, and business roles together, remain possible.
    grant_role(db, admin, role=Role.AUDIT_ADMIN, region_code="330523103000", actor=ACTOR)
    grant_role(db, leader, role=Role.DISPATCHER, region_code=COUNTY, actor=ACTOR)


def test_no_one_grants_a_role_to_their_own_account(db: Session) -> None:
    officer = db.scalar(select(Account).where(Account.username == "security_admin"))
    assert officer is not None
    with pytest.raises(Conflict) as err:
        grant_role(
            db,
            officer,
            role=Role.SECURITY_ADMIN,
            region_code="330523103000",
            actor=Principal(officer.id, officer.username, officer.display_name, "staff"),
        )
    assert err.value.code == "separation_of_duties"
