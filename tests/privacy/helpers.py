"""Shared steps of the privacy tests: signed-in clients, a case with a reporter contact, a
person in the register, sequencing the audit log, the reveal events of a subject."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit import log
from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.cases import services as case_services
from gongzhi.cases.models import Case, Channel
from gongzhi.config import Settings
from gongzhi.db import utcnow
from gongzhi.people.idnumber import check_character
from gongzhi.people.models import Person
from gongzhi.people.services import register_person
from gongzhi.privacy.services import REVEALED
from gongzhi.security.models import Account
from tests.cases.fixtures import SECOND_CITIZEN, login_staff
from tests.security.fixtures import login_as

ACTOR = SystemActor("test:privacy")
ENFORCEMENT = "330523-ZHZF"  # 安吉县综合行政执法局 (zhifa_chen's department)
HOUSING = "330523-ZJ"  # 县住建局
YUHUA = "浙江省湖州市安吉县鄣吴镇玉华村"  # 330523103202, in 鄣吴镇
DIPU = "浙江省湖州市安吉县递铺街道"  # 330523001000, outside 鄣吴镇
STAFF_PASSWORD = "Anji-Staff-2026!"
NON_PERSONAS = ("zhifa_chen", "zhifa_li", "zhangwu_he", SECOND_CITIZEN)


def id_number(county: str = "330523", born: str = "19800101", seq: str = "123") -> str:
    first17 = county + born + seq
    return first17 + check_character(first17)


class As:
    """A signed-in client that sends its CSRF token with every unsafe request."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client, self.csrf = client, csrf

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.post(url, json=body or {}, headers={"X-CSRF-Token": self.csrf}, **kw)

    def form(self, url: str, data: dict[str, Any], **kw: Any) -> Any:
        kw.setdefault("follow_redirects", False)
        return self.client.post(url, data={**data, "csrf_token": self.csrf}, **kw)


@pytest.fixture
def signed_in(app: Any) -> Iterator[Callable[[str], As]]:
    clients: list[TestClient] = []

    def make(who: str) -> As:
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        if who in NON_PERSONAS:
            csrf = login_staff(client, who, STAFF_PASSWORD)
        else:
            csrf = login_as(client, who)
        return As(client, csrf)

    yield make
    for c in clients:
        c.close()


def account(db: Session, username: str) -> Account:
    found = db.scalar(select(Account).where(Account.username == username))
    assert found is not None, username
    return found


def make_case(
    db: Session,
    *,
    reporter: str | None = "citizen",
    phone: str = "13812341999",
    name: str = "王秀英",
    lead: str | None = ENFORCEMENT,
    address: str = YUHUA,
    anonymous: bool = False,
) -> Case:
    """A case with a reporter contact (their account, if any), dispatched to ``lead``."""
    case = case_services.submit_case(
        db,
        channel=Channel.WEB if reporter else Channel.HOTLINE,
        description="路边井盖不见了，很危险",
        actor=ACTOR,
        reporter_account_id=account(db, reporter).id if reporter else None,
        contact_name=name,
        contact_phone=phone,
        anonymous=anonymous,
        address_text=address,
        matter_code=None,
    )
    if lead is not None and _lead_code(db, case) != lead:
        case_services.dispatch_case(db, case, to=lead, actor=ACTOR)
    db.flush()
    return case


def _lead_code(db: Session, case: Case) -> str | None:
    from gongzhi.org.models import Department

    if case.lead_department_id is None:
        return None
    dept = db.get(Department, case.lead_department_id)
    return dept.code if dept is not None else None


def make_person(
    db: Session,
    *,
    number: str | None = None,
    name: str = "王秀英",
    phone: str | None = "13912340001",
    region: str | None = "330523103202",
    link_to: str | None = None,
) -> Person:
    person = register_person(
        db,
        id_number=number or id_number(),
        name=name,
        phone=phone,
        household_region_code=region,
        actor=ACTOR,
    )
    if link_to is not None:
        account(db, link_to).person_id = person.id
    db.flush()
    return person


def sequence_all(db: Session, settings: Settings) -> None:
    """Give every recorded event its place in the log and sign a checkpoint."""
    while log.has_unsequenced(db):
        log.sequence(db, settings)
    log.sign_checkpoint(db, settings, utcnow())
    db.flush()


def reveal_events_about(db: Session, citizen: Account) -> list[AuditEvent]:
    """The audit log's own answer to "who used this citizen's data": every reveal event
    whose subject is the citizen's account or the person their account is linked to."""
    found = []
    for event in db.scalars(
        select(AuditEvent).where(AuditEvent.action == REVEALED).order_by(AuditEvent.id)
    ):
        new = event.new or {}
        if new.get("subject_account_id") == citizen.id or (
            citizen.person_id is not None and new.get("person_id") == citizen.person_id
        ):
            found.append(event)
    return found
