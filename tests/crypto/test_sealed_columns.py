"""Sealed columns through the real services: plain values in Python, only ciphertext and a
keyed index in the database, and a ciphertext moved to another row or column refuses to open."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import gongzhi.models  # noqa: F401  (every table, so every sealed column, is registered)
from gongzhi.cases.models import CaseContact
from gongzhi.crypto.fields import REGISTRY, associated_data
from gongzhi.crypto.provider import CryptoError
from gongzhi.notify import services as notify
from gongzhi.notify.models import Notification, NotificationChannel
from gongzhi.org.models import StaffProfile
from tests.cases.helpers import submit

PHONE = "13812341999"
NAME = "欧阳锋锐"


def _raw(db: Session, sql: str, **params: object) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.execute(text(sql), params).all()]


def test_the_personal_columns_are_registered() -> None:
    assert {(i.table, i.column) for i in REGISTRY} >= {
        ("case_contact", "name"),
        ("case_contact", "phone"),
        ("notification", "recipient_phone"),
        ("staff_profile", "phone"),
        ("person", "id_number"),
        ("person", "name"),
        ("person", "phone"),
    }


def test_a_reporters_contact_is_sealed_and_found_by_index(db: Session) -> None:
    case = submit(db, contact_name=NAME, contact_phone=PHONE)
    db.flush()
    db.expire_all()
    contact = db.scalars(select(CaseContact).where(CaseContact.case_id == case.id)).one()
    assert (contact.name, contact.phone) == (NAME, PHONE)
    ((name_sealed, phone_sealed, phone_index, row_key),) = _raw(
        db,
        "SELECT name_sealed, phone_sealed, phone_index, row_key FROM case_contact"
        " WHERE case_id = :id",
        id=case.id,
    )
    for stored in (name_sealed, phone_sealed, phone_index):
        assert isinstance(stored, bytes | memoryview)
        assert PHONE.encode() not in bytes(stored) and NAME.encode() not in bytes(stored)
    assert len(bytes(row_key)) == 16
    # Exact-match lookup through the keyed index, with the number written any usual way.
    for written in (PHONE, "138 1234 1999", "+86 138-1234-1999"):
        found = db.scalars(select(CaseContact).where(CaseContact.phone.matches(written))).all()
        assert [c.case_id for c in found] == [case.id]
    assert (
        db.scalars(select(CaseContact).where(CaseContact.phone.matches("13812341998"))).all() == []
    )


def test_a_ciphertext_moved_to_another_row_or_column_does_not_open(db: Session) -> None:
    first = submit(db, contact_name="王五", contact_phone="13900000001").contact
    second = submit(db, contact_name="赵六", contact_phone="13900000002").contact
    assert first is not None and second is not None
    db.flush()
    # Another row: copy the first contact's sealed phone into the second row.
    db.execute(
        text("UPDATE case_contact SET phone_sealed = :v WHERE id = :id"),
        {"v": first.phone_sealed, "id": second.id},
    )
    # Another column of the same row: the sealed name where the phone belongs.
    db.execute(
        text("UPDATE case_contact SET phone_sealed = name_sealed WHERE id = :id"),
        {"id": first.id},
    )
    db.expire_all()
    with pytest.raises(CryptoError):
        _ = second.phone
    with pytest.raises(CryptoError):
        _ = first.phone
    assert (first.name, second.name) == ("王五", "赵六")  # untouched values still open


def test_a_row_key_cannot_be_copied_to_another_row(db: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    first = submit(db, contact_phone="13900000003").contact
    second = submit(db, contact_phone="13900000004").contact
    assert first is not None and second is not None
    db.flush()
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            text("UPDATE case_contact SET row_key = :k WHERE id = :id"),
            {"k": first.row_key, "id": second.id},
        )


def test_changing_and_clearing_a_sealed_value(db: Session) -> None:
    contact = submit(db, contact_name="王五", contact_phone="13900000005").contact
    assert contact is not None
    db.flush()
    row_key = contact.row_key
    contact.phone = "13900000006"
    db.flush()
    db.expire_all()
    assert contact.phone == "13900000006" and contact.row_key == row_key
    assert (
        db.scalars(select(CaseContact).where(CaseContact.phone.matches("13900000005"))).all() == []
    )
    contact.phone = None
    db.flush()
    db.expire_all()
    assert contact.phone is None and contact.phone_index is None
    with pytest.raises(TypeError):
        contact.name = 12345  # type: ignore[assignment]


def test_the_sms_recipient_and_the_staff_phone_are_sealed(db: Session) -> None:
    (row,) = notify.enqueue(
        db,
        recipient_phone=PHONE,
        kind="test",
        subject="测试",
        body="正文",
        channels=[NotificationChannel.SMS],
    )
    db.flush()
    db.expire_all()
    assert db.get(Notification, row.id).recipient_phone == PHONE  # type: ignore[union-attr]
    ((sealed, row_key),) = _raw(
        db, "SELECT recipient_phone_sealed, row_key FROM notification WHERE id = :id", id=row.id
    )
    assert PHONE.encode() not in bytes(sealed)
    assert Notification.recipient_phone.open(bytes(sealed), row_key=bytes(row_key)) == PHONE
    with pytest.raises(CryptoError):  # the same bytes claimed for another table
        from gongzhi.crypto.fields import current_provider

        current_provider().open(
            bytes(sealed),
            associated_data=associated_data("staff_profile", "phone", bytes(row_key)),
        )
    profile = db.scalars(select(StaffProfile).limit(1)).one()
    profile.phone = "0572-5123456"
    db.flush()
    db.expire_all()
    assert profile.phone == "0572-5123456"
    ((staff_sealed,),) = _raw(
        db, "SELECT phone_sealed FROM staff_profile WHERE id = :id", id=profile.id
    )
    assert b"5123456" not in bytes(staff_sealed)
