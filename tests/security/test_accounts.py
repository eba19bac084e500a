"""Account and role services, tested without HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role
from gongzhi.security.services import account_roles, create_account, grant_role, revoke_role
from tests.security.fixtures import PERSONAS

ACTOR = SystemActor("cli:test")


def _events(db: Session, action: str, object_id: int) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == action, AuditEvent.object_id == str(object_id)
            )
        )
    )


def test_create_account_hashes_the_password_and_records_an_event(db: Session) -> None:
    a = create_account(
        db,
        username="hu.lan",
        display_name="胡兰",
        kind="staff",
        password="Bamboo-Sea-77",
        actor=ACTOR,
    )
    assert a.id and a.password_hash.startswith("$argon2id$")
    assert "Bamboo-Sea-77" not in a.password_hash
    (event,) = _events(db, "security.account.created", a.id)
    assert event.actor_label == "system:cli:test"
    assert event.new == {
        "username": "hu.lan",
        "display_name": "胡兰",
        "kind": "staff",
        "active": True,
        "locale": None,
    }


def test_username_is_unique(db: Session) -> None:
    with pytest.raises(Conflict):
        create_account(
            db,
            username="dispatcher",
            display_name="重名",
            kind="staff",
            password="Bamboo-Sea-77",
            actor=ACTOR,
        )


def test_weak_password_is_refused(db: Session) -> None:
    with pytest.raises(Invalid) as err:
        create_account(
            db, username="x1", display_name="X", kind="citizen", password="short", actor=ACTOR
        )
    assert err.value.code == "weak_password"
    assert db.scalar(select(Account).where(Account.username == "x1")) is None


def test_grant_and_revoke_roles_record_events(db: Session) -> None:
    a = create_account(
        db, username="qian", display_name="钱", kind="staff", password="Bamboo-Sea-77", actor=ACTOR
    )
    grant_role(db, a, role=Role.TOWNSHIP_CLERK, region_code="330523105000", actor=ACTOR)
    # Granting the same role twice is harmless and records nothing new.
    grant_role(db, a, role=Role.TOWNSHIP_CLERK, region_code="330523105000", actor=ACTOR)
    assert account_roles(db, a.id) == [("township_clerk", "330523105000")]
    assert len(_events(db, "security.role.granted", a.id)) == 1
    revoke_role(db, a, role=Role.TOWNSHIP_CLERK, region_code="330523105000", actor=ACTOR)
    assert account_roles(db, a.id) == []
    (event,) = _events(db, "security.role.revoked", a.id)
    assert event.old == {"role": "township_clerk", "region_code": "330523105000"}
    with pytest.raises(NotFound):
        revoke_role(db, a, role=Role.TOWNSHIP_CLERK, region_code="330523105000", actor=ACTOR)


def test_grants_check_region_code_and_account_kind(db: Session) -> None:
    citizen = db.scalar(select(Account).where(Account.username == "citizen"))
    assert citizen is not None
    with pytest.raises(Invalid):
        grant_role(db, citizen, role=Role.DISPATCHER, region_code="330523000000", actor=ACTOR)
    staff = db.scalar(select(Account).where(Account.username == "dispatcher"))
    assert staff is not None
    with pytest.raises(Invalid):
        grant_role(db, staff, role=Role.LEADER, region_code="33052", actor=ACTOR)


def test_every_persona_is_seeded_with_its_role(db: Session) -> None:
    for name, p in PERSONAS.items():
        account = db.scalar(select(Account).where(Account.username == name))
        assert account is not None, name
        assert (p.role.value, p.region_code) in account_roles(db, account.id)
