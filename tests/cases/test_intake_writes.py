"""Intake writes the case, its clocks, timeline and assignments with one INSERT per table:
what it returns must behave as the session's own objects, through rollbacks too."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import log_hasher
from gongzhi.cases import services
from gongzhi.cases.models import Case, CaseClock, CaseEvent, CaseStatus
from tests.cases.helpers import (
    ACTOR,
    YUHUA_ADDRESS,
    no_classifier,  # noqa: F401
    principal,
    statements_run,
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier")


def test_the_new_case_is_fully_loaded(db: Session) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    with statements_run(db) as seen:
        kinds = sorted(c.kind for c in case.clocks)
        timeline = [e.kind for e in case.events]
        roles = [a.role for a in case.assignments]
        assert case.contact is None and case.outcome is None and case.closed_at is None
        assert all(c.case is case for c in case.clocks)
    assert seen == []  # nothing left to load
    assert kinds == ["accept", "dispatch", "feedback"]
    assert timeline == ["submitted", "dispatched"]
    assert roles == ["lead"]
    assert case in db and case.id == db.scalar(select(Case.id).where(Case.number == case.number))


def test_the_rows_are_in_the_database(db: Session) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    clocks = db.scalar(select(func.count()).where(CaseClock.case_id == case.id))
    events = db.scalar(select(func.count()).where(CaseEvent.case_id == case.id))
    assert (clocks, events) == (3, 2)
    stored = db.scalar(select(CaseEvent.data).where(CaseEvent.case_id == case.id).limit(1))
    assert stored == case.events[0].data


def test_the_new_case_changes_like_any_other(db: Session) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    services.accept_case(db, case, actor=ACTOR)
    db.expire_all()
    again = db.get(Case, case.id)
    assert again is not None and again.status == CaseStatus.ACCEPTED
    assert [c.kind for c in again.clocks if c.stopped_at is None] == ["feedback", "handle"]


def test_a_contact_is_kept(db: Session) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS, contact_name="王", contact_phone="13800000000")
    db.expire_all()
    again = db.get(Case, case.id)
    assert again is not None and again.contact is not None
    assert (again.contact.name, again.contact.phone) == ("王", "13800000000")


def test_a_rolled_back_intake_is_forgotten(db: Session) -> None:
    savepoint = db.begin_nested()
    lost = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    savepoint.rollback()
    assert lost not in db
    kept = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    assert kept in db and kept.events[0].kind == "submitted"
    # The number counter was rolled back with it: the number is given again, to one case.
    assert kept.number == lost.number
    assert db.scalars(select(Case.id).where(Case.number == kept.number)).all() == [kept.id]


def test_a_released_savepoint_keeps_the_intake(db: Session) -> None:
    with db.begin_nested():
        case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    assert case in db
    citizen = principal(db, "citizen")
    assert citizen.account_id is not None


def test_each_drafted_row_has_its_own_id(db: Session) -> None:
    """Several rows of a table go in one statement: each object must get its own row's id
    (on SQLite from the order of the ids, on PostgreSQL from SQLAlchemy's sentinel)."""
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    in_memory = {c.id: (c.kind, c.stopped_at) for c in case.clocks}
    timeline = {e.id: e.kind for e in case.events}
    db.expire_all()
    stored = {
        row.id: (row.kind, row.stopped_at)
        for row in db.execute(
            select(CaseClock.id, CaseClock.kind, CaseClock.stopped_at).where(
                CaseClock.case_id == case.id
            )
        )
    }
    assert len(in_memory) == 3 and stored == in_memory
    assert timeline == dict(
        db.execute(select(CaseEvent.id, CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    )


def test_the_intake_audit_event_is_written_with_the_case(db: Session) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.object_type == "service_case", AuditEvent.object_id == case.number
        )
    ).one()
    assert event.action == "cases.case.submit" and event.new is not None
    assert event.new["status"] == case.status and event.new["number"] == case.number
    # The leaf hash is the hash of the stored canonical bytes, as for any other event.
    assert event.canonical is not None
    assert event.leaf_hash == log_hasher().hash_leaf(event.canonical.encode("utf-8"))
    db.expire_all()
    assert db.get(AuditEvent, event.id) is not None


def test_a_rolled_back_intake_forgets_its_audit_event(db: Session) -> None:
    savepoint = db.begin_nested()
    lost = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    savepoint.rollback()
    assert not [obj for obj in db if isinstance(obj, AuditEvent) and obj.object_id == lost.number]
    assert (
        db.scalar(
            select(func.count()).where(
                AuditEvent.object_type == "service_case", AuditEvent.object_id == lost.number
            )
        )
        == 0
    )
