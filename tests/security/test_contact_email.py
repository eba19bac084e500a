"""The reporter's e-mail is sealed like the name and phone: ciphertext bound to the row in the
database, the plain value in Python, masked for staff (w***@example.com) and shown in full to
the reporter; the 0020 migration seals the addresses a database already holds (on SQLite and on
PostgreSQL) and leaves no plain copy in the SQLite file, and its downgrade brings them back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

import gongzhi.models  # noqa: F401  (every table, so every sealed column, is registered)
from gongzhi.audit.services import SystemActor
from gongzhi.cases.models import CaseContact
from gongzhi.crypto.fields import REGISTRY, associated_data, current_provider, use_provider
from gongzhi.crypto.provider import CryptoError
from gongzhi.crypto.rotation import counts_by_version, rotate
from gongzhi.crypto.software import SoftwareCryptoProvider
from gongzhi.migrations.runner import alembic_config, current_revision, upgrade
from tests.cases.helpers import no_classifier  # noqa: F401
from tests.privacy.helpers import As, make_case, signed_in  # noqa: F401
from tests.security.scratch_database import column_names, files_content, scratch_database

EMAIL = "zhang.xiuying@example.com"
MASKED = "z***@example.com"
pytestmark = pytest.mark.usefixtures("no_classifier")


def _contact(db: Session, case_id: int) -> CaseContact:
    return db.scalars(select(CaseContact).where(CaseContact.case_id == case_id)).one()


def test_the_email_column_is_sealed_and_bound_to_its_row(db: Session) -> None:
    assert ("case_contact", "email") in {(i.table, i.column) for i in REGISTRY}
    first = make_case(db)
    second = make_case(db, phone="13912340002")
    _contact(db, first.id).email = EMAIL
    db.flush()
    db.expire_all()
    assert _contact(db, first.id).email == EMAIL
    ((sealed, row_key),) = db.execute(
        text("SELECT email_sealed, row_key FROM case_contact WHERE case_id = :id"),
        {"id": first.id},
    ).all()
    assert EMAIL.encode() not in bytes(sealed) and b"example.com" not in bytes(sealed)
    provider = current_provider()
    ad = associated_data("case_contact", "email", bytes(row_key))
    assert provider.open(bytes(sealed), associated_data=ad) == EMAIL.encode()
    # The same ciphertext under another column name, or in another row, does not open.
    with pytest.raises(CryptoError):
        provider.open(
            bytes(sealed), associated_data=associated_data("case_contact", "name", bytes(row_key))
        )
    other_key = db.scalar(
        text("SELECT row_key FROM case_contact WHERE case_id = :id"), {"id": second.id}
    )
    with pytest.raises(CryptoError):
        provider.open(
            bytes(sealed), associated_data=associated_data("case_contact", "email", other_key)
        )
    # Cleared, the sealed value is gone.
    _contact(db, first.id).email = None
    db.flush()
    assert (
        db.scalar(
            text("SELECT email_sealed FROM case_contact WHERE case_id = :id"), {"id": first.id}
        )
        is None
    )


def test_the_email_is_masked_for_staff_and_whole_for_the_reporter(
    signed_in: Callable[[str], As],  # noqa: F811
    db: Session,
) -> None:
    case = make_case(db)
    _contact(db, case.id).email = EMAIL
    db.flush()
    for viewer in (signed_in("dispatcher"), signed_in("zhifa_chen")):
        api = viewer.get(f"/api/v1/cases/{case.number}")
        assert api.status_code == 200
        assert api.json()["contact"]["email"] == MASKED
        page = viewer.get(f"/cases/{case.number}")
        assert page.status_code == 200
        assert EMAIL.encode() not in page.content and MASKED.encode() in page.content
    reporter = signed_in("citizen").get(f"/api/v1/cases/{case.number}")
    assert reporter.json()["contact"]["email"] == EMAIL
    revealed = signed_in("dispatcher").post(
        f"/api/v1/privacy/case-contacts/{case.number}/reveal",
        {"fields": ["email"], "purpose": "call_back"},
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["values"] == {"email": EMAIL}


# --- the migration -------------------------------------------------------------------------


def test_the_migration_seals_existing_addresses_and_leaves_no_plain_copy(
    tmp_path: Path,
) -> None:
    rows = {bytes([i]) * 16: (f"reporter{i}@example.org" if i % 2 else None) for i in range(1, 6)}
    with scratch_database(tmp_path, "email") as engine:
        with engine.begin() as conn:
            upgrade(conn, "0019")
            # Contacts as 0019 stored them, on bare cases.
            for row_key, email in rows.items():
                case_id = conn.execute(
                    text(
                        "INSERT INTO service_case (number, channel, status, priority,"
                        " description, anonymous, attributes, media_urls, rework_count,"
                        " reopen_count, waiting_for_citizen, created_at, updated_at, version)"
                        " VALUES (:number, 'web', 'triage', 'normal', '井盖', false, '{}', '[]',"
                        " 0, 0, false, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
                        " RETURNING id"
                    ),
                    {"number": f"M{row_key[0]}"},
                ).scalar_one()
                conn.execute(
                    text(
                        "INSERT INTO case_contact (case_id, row_key, email)"
                        " VALUES (:case_id, :row_key, :email)"
                    ),
                    {"case_id": case_id, "row_key": row_key, "email": email},
                )
        before = files_content(engine, tmp_path)
        if before is not None:
            assert b"reporter1@example.org" in before  # the scan sees plain values

        with engine.begin() as conn:
            upgrade(conn, "0020")
            assert current_revision(conn) == "0020"
            columns = column_names(conn, "case_contact")
            assert "email" not in columns and "email_sealed" in columns
            stored: dict[bytes, Any] = {
                bytes(k): v
                for k, v in conn.execute(text("SELECT row_key, email_sealed FROM case_contact"))
            }
        content = files_content(engine, tmp_path)
        for email in filter(None, rows.values()):
            assert content is None or email.encode() not in content, email
        provider = current_provider()
        for row_key, email in rows.items():
            sealed = stored[row_key]
            if email is None:
                assert sealed is None
                continue
            assert email.encode() not in bytes(sealed)
            ad = associated_data("case_contact", "email", row_key)
            assert provider.open(bytes(sealed), associated_data=ad).decode() == email

        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0019")
            back: dict[bytes, Any] = {
                bytes(k): v
                for k, v in conn.execute(text("SELECT row_key, email FROM case_contact"))
            }
        assert back == rows


def test_key_rotation_re_seals_the_email(
    suite_key_copy: SoftwareCryptoProvider, connection: Connection, db: Session
) -> None:
    # A copy of the suite's key file, so the new key version stays out of the suite's file.
    keys = suite_key_copy
    with use_provider(keys):
        case = make_case(db)
        _contact(db, case.id).email = EMAIL
        db.commit()
        assert counts_by_version(db)["case_contact.email"] == {1: 1}
        result = rotate(
            lambda: Session(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            ),
            keys,
            actor=SystemActor("test"),
            batch_size=100,
        )
        assert result.retired == [1]
        db.expire_all()
        assert counts_by_version(db)["case_contact.email"] == {2: 1}
        assert _contact(db, case.id).email == EMAIL
