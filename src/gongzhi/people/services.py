"""State changes of the people domain. Every one records its audit event (with masked values:
the audit log must not become a second, unencrypted copy of the personal data)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongzhi.audit.services import Actor, record
from gongzhi.crypto.masking import mask_id_number, mask_name, mask_phone
from gongzhi.db import utcnow
from gongzhi.errors import Conflict, Invalid
from gongzhi.people import idnumber
from gongzhi.people.models import Person
from gongzhi.people.queries import find_by_id_number
from gongzhi.regions.codes import is_valid_code


class _Unset:
    """The default of an optional argument that may also be set to None (to clear)."""


UNSET = _Unset()


def _clean_name(name: str) -> str:
    value = (name or "").strip()
    if not value or len(value) > 100:
        raise Invalid("姓名必填，至多 100 字 / a name of 1-100 characters is required")
    return value


def _clean_region(code: str | None) -> str | None:
    if code is None:
        return None
    if not is_valid_code(code):
        raise Invalid("户籍地区划代码无效 / invalid household region code", code="invalid_region")
    return code


def register_person(
    db: Session,
    *,
    id_number: str,
    name: str,
    phone: str | None = None,
    household_region_code: str | None = None,
    actor: Actor,
) -> Person:
    """A new person, keyed by the citizen ID number (one row per number).

    Birth date and sex come from the number; the household region defaults to the issuing
    county (which a move may have changed since)."""
    try:
        parsed = idnumber.parse(id_number)
    except idnumber.InvalidIdNumber as exc:
        raise Invalid(
            f"身份证号码无效 / invalid ID number: {exc}", code="invalid_id_number"
        ) from None
    if find_by_id_number(db, parsed.value) is not None:
        raise Conflict("该身份证号码已登记 / this ID number is registered", code="person_exists")
    person = Person(
        birth_date=parsed.birth_date,
        sex=parsed.sex.value,
        household_region_code=_clean_region(household_region_code) or parsed.region_code,
    )
    person.id_number = parsed.value
    person.name = _clean_name(name)
    person.phone = (phone or "").strip() or None
    db.add(person)
    db.flush()
    record(
        db,
        actor=actor,
        action="people.person.register",
        object_type="person",
        object_id=person.id,
        new={
            "id_number": mask_id_number(parsed.value),
            "name": mask_name(person.name),
            "phone": mask_phone(person.phone),
            "household_region_code": person.household_region_code,
        },
        region_code=person.household_region_code,
    )
    return person


def update_person(
    db: Session,
    person: Person,
    *,
    name: str | None = None,
    phone: str | _Unset | None = UNSET,
    household_region_code: str | _Unset | None = UNSET,
    actor: Actor,
) -> Person:
    """Correct a person's name, phone or household region (the ID number never changes: a
    different number is a different person)."""
    old: dict[str, object] = {}
    new: dict[str, object] = {}
    if name is not None and _clean_name(name) != person.name:
        old["name"], new["name"] = mask_name(person.name), mask_name(name)
        person.name = _clean_name(name)
    if not isinstance(phone, _Unset):
        value = (phone or "").strip() or None
        if value != person.phone:
            old["phone"], new["phone"] = mask_phone(person.phone), mask_phone(value)
            person.phone = value
    if not isinstance(household_region_code, _Unset):
        code = _clean_region(household_region_code or None)
        if code != person.household_region_code:
            old["household_region_code"] = person.household_region_code
            new["household_region_code"] = code
            person.household_region_code = code
    if new:
        person.updated_at = utcnow()
        db.flush()
        record(
            db,
            actor=actor,
            action="people.person.update",
            object_type="person",
            object_id=person.id,
            old=old,
            new=new,
            region_code=person.household_region_code,
        )
    return person
