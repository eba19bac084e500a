"""Registering and finding people by ID number through the keyed index."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.errors import Conflict, Invalid
from gongzhi.people import queries, services
from gongzhi.people.idnumber import check_character
from gongzhi.people.models import Person, Sex

ACTOR = SystemActor("test")


def _id(first17: str) -> str:
    return first17 + check_character(first17)


ANJI_WOMAN = _id("33052319850315004")  # 安吉县, 1985-03-15, a woman
ANJI_MAN = _id("33052319620708003")


def test_register_derives_birth_sex_and_household_and_seals(db: Session) -> None:
    person = services.register_person(
        db, id_number=ANJI_WOMAN.lower(), name="李秀英", phone="13700001111", actor=ACTOR
    )
    assert (person.birth_date, person.sex) == (date(1985, 3, 15), Sex.FEMALE.value)
    assert person.household_region_code == "330523000000"
    assert (person.id_number, person.name, person.phone) == (ANJI_WOMAN, "李秀英", "13700001111")
    raw = db.execute(
        text("SELECT id_number_sealed, id_number_index, name_sealed FROM person WHERE id = :i"),
        {"i": person.id},
    ).one()
    for stored in raw:
        assert ANJI_WOMAN[:14].encode() not in bytes(stored)
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "people.person.register", AuditEvent.object_id == str(person.id)
        )
    ).one()
    assert event.new == {
        "id_number": ANJI_WOMAN[:6] + "********" + ANJI_WOMAN[-4:],
        "name": "李**",
        "phone": "137****1111",
        "household_region_code": "330523000000",
    }


def test_find_by_id_number_in_either_form(db: Session) -> None:
    person = services.register_person(db, id_number="11010519491231002X", name="王芳", actor=ACTOR)
    for written in ("11010519491231002X", "11010519491231002x", "110105491231002"):
        assert queries.find_by_id_number(db, written) is person
    assert queries.find_by_id_number(db, ANJI_MAN) is None
    assert queries.find_by_id_number(db, "not a number") is None


def test_one_person_per_id_number(db: Session) -> None:
    services.register_person(db, id_number="11010519491231002X", name="王芳", actor=ACTOR)
    with pytest.raises(Conflict):
        services.register_person(db, id_number="110105491231002", name="王芳", actor=ACTOR)


def test_invalid_input_is_refused(db: Session) -> None:
    with pytest.raises(Invalid, match="check character"):
        services.register_person(db, id_number="110105194912310021", name="王芳", actor=ACTOR)
    with pytest.raises(Invalid):
        services.register_person(db, id_number=ANJI_MAN, name="  ", actor=ACTOR)
    with pytest.raises(Invalid):
        services.register_person(
            db, id_number=ANJI_MAN, name="张伟", household_region_code="12", actor=ACTOR
        )


def test_find_by_phone_and_update(db: Session) -> None:
    a = services.register_person(
        db, id_number=ANJI_MAN, name="张伟", phone="13700002222", actor=ACTOR
    )
    b = services.register_person(
        db, id_number=ANJI_WOMAN, name="李秀英", phone="137 0000 2222", actor=ACTOR
    )
    assert [p.id for p in queries.find_by_phone(db, "13700002222")] == [a.id, b.id]
    services.update_person(db, b, phone="13700003333", name="李秀英", actor=ACTOR)
    assert [p.id for p in queries.find_by_phone(db, "13700002222")] == [a.id]
    assert [p.id for p in queries.find_by_phone(db, "13700003333")] == [b.id]
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "people.person.update", AuditEvent.object_id == str(b.id)
        )
    ).one()
    assert event.old == {"phone": "137****2222"} and event.new == {"phone": "137****3333"}
    services.update_person(db, b, household_region_code="330523001000", actor=ACTOR)
    db.expire_all()
    assert db.get(Person, b.id).household_region_code == "330523001000"  # type: ignore[union-attr]
