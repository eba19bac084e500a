"""Reads of the people domain: exact-match lookups through the blind indexes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.people import idnumber
from gongzhi.people.models import Person


def find_by_id_number(db: Session, id_number: str) -> Person | None:
    """The person with this ID number (18 or 15 characters), or None.

    The number is normalised (15 → 18 digits, upper-case X) and looked up through its keyed
    index, so the query carries no plain ID number; text that is no valid ID number finds no one.
    """
    try:
        parsed = idnumber.parse(id_number)
    except idnumber.InvalidIdNumber:
        return None
    return db.scalars(select(Person).where(Person.id_number.matches(parsed.value))).one_or_none()


def find_by_phone(db: Session, phone: str) -> Sequence[Person]:
    """The people with this phone number (several people may share a household phone)."""
    return db.scalars(select(Person).where(Person.phone.matches(phone)).order_by(Person.id)).all()
