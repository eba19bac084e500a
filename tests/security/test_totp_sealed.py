"""The TOTP secret is sealed like personal data: ciphertext bound to the account's row in the
database, the plain value only in Python; enrolment and sign-in work through it; key rotation
re-seals it; migration 0023 seals the secrets a database already holds (SQLite and
PostgreSQL) without a plain copy left in the SQLite file, and its downgrade opens them again.
Migration 0014 leaves no plain copy of what it sealed in the SQLite file either."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyotp
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import gongzhi.models  # noqa: F401  (every table, so every sealed column, is registered)
from gongzhi.audit.services import SystemActor
from gongzhi.crypto.fields import REGISTRY, associated_data, current_provider, use_provider
from gongzhi.crypto.provider import CryptoError
from gongzhi.crypto.rotation import counts_by_version, rotate
from gongzhi.crypto.software import SoftwareCryptoProvider
from gongzhi.migrations.runner import alembic_config, current_revision, upgrade
from gongzhi.security.models import Account
from gongzhi.security.permissions import Role
from gongzhi.security.services import (
    begin_totp_enrolment,
    create_account,
    grant_role,
    reset_totp,
)
from tests.security.fixtures import Clock, csrf_from, login_as
from tests.security.scratch_database import column_names, files_content, scratch_database

ACTOR = SystemActor("test")
NOW = "2026-01-01 00:00:00"


def _account(db: Session, username: str) -> Account:
    account = db.scalar(select(Account).where(Account.username == username))
    assert account is not None
    return account


def _stored(db: Session, account_id: int) -> tuple[bytes | None, bytes]:
    sealed, row_key = db.execute(
        text("SELECT totp_secret_sealed, row_key FROM account WHERE id = :id"), {"id": account_id}
    ).one()
    return (None if sealed is None else bytes(sealed)), bytes(row_key)


def _new_staff(db: Session, username: str) -> Account:
    return create_account(
        db,
        username=username,
        display_name="测试",
        kind="staff",
        password="Bamboo-Sea-77",
        actor=ACTOR,
    )


def test_the_secret_is_sealed_and_bound_to_its_row(db: Session) -> None:
    assert ("account", "totp_secret") in {(i.table, i.column) for i in REGISTRY}
    first, second = _new_staff(db, "sealed1"), _new_staff(db, "sealed2")
    secret = begin_totp_enrolment(db, first, actor=ACTOR)
    begin_totp_enrolment(db, second, actor=ACTOR)
    db.flush()
    db.expire_all()
    assert _account(db, "sealed1").totp_secret == secret
    sealed, row_key = _stored(db, first.id)
    other_sealed, other_key = _stored(db, second.id)
    assert sealed is not None and other_sealed is not None
    assert len(row_key) == 16 and row_key != other_key
    assert secret.encode() not in sealed
    provider = current_provider()
    ad = associated_data("account", "totp_secret", row_key)
    assert provider.open(sealed, associated_data=ad) == secret.encode()
    # Under another column's name, or with another account's row key, it does not open.
    with pytest.raises(CryptoError):
        provider.open(sealed, associated_data=associated_data("account", "display_name", row_key))
    with pytest.raises(CryptoError):
        provider.open(sealed, associated_data=associated_data("account", "totp_secret", other_key))
    # Copied into the other account's row, it does not open there: the copy gives nobody
    # the first account's codes.
    db.execute(
        text("UPDATE account SET totp_secret_sealed = :s WHERE id = :id"),
        {"s": sealed, "id": second.id},
    )
    db.expire_all()
    with pytest.raises(CryptoError):
        _ = _account(db, "sealed2").totp_secret
    # A reset clears the sealed value.
    reset_totp(db, _account(db, "sealed1"), actor=ACTOR)
    db.flush()
    assert _stored(db, first.id)[0] is None


def _submit(client: TestClient, path: str, **data: str) -> Any:
    """The form at ``path`` submitted with ``data`` and its anti-forgery token."""
    page = client.get(path)
    assert page.status_code == 200
    return client.post(
        path, data={**data, "csrf_token": csrf_from(page.text)}, follow_redirects=False
    )


def test_enrolment_and_sign_in_through_the_sealed_secret(
    client: TestClient, db: Session, frozen_clock: Clock
) -> None:
    account = _new_staff(db, "newadmin2")
    grant_role(db, account, role=Role.AUDIT_ADMIN, region_code="330523000000", actor=ACTOR)
    db.commit()
    sign_in = {"username": "newadmin2", "password": "Bamboo-Sea-77"}
    assert _submit(client, "/login", **sign_in).headers["location"] == "/login/totp/setup"
    page = client.get("/login/totp/setup")
    sealed, row_key = _stored(db, account.id)
    assert sealed is not None
    secret = (
        current_provider()
        .open(sealed, associated_data=associated_data("account", "totp_secret", row_key))
        .decode()
    )
    # The page shows the secret (grouped by four) that the database holds only sealed.
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page.text
    code = pyotp.TOTP(secret).at(frozen_clock.now)
    assert _submit(client, "/login/totp/setup", code=code).status_code == 303
    # Signed out, the next sign-in asks for a code and takes the next one.
    client.cookies.clear()
    frozen_clock.advance(seconds=30)
    assert _submit(client, "/login", **sign_in).headers["location"] == "/login/totp"
    code = pyotp.TOTP(secret).at(frozen_clock.now)
    assert _submit(client, "/login/totp", code=code).status_code == 303
    me = client.get("/api/v1/me").json()
    assert me["username"] == "newadmin2" and me["mfa_passed"] is True


def test_the_seeded_administrators_sign_in_with_their_sealed_secrets(
    client: TestClient, db: Session, frozen_clock: Clock
) -> None:
    login_as(client, "security_admin")  # password, then the code from the persona's secret
    assert client.get("/api/v1/me").json()["mfa_passed"] is True
    sealed, _ = _stored(db, _account(db, "security_admin").id)
    assert sealed is not None and b"KRUGKIDROVUWG2ZA" not in sealed


def test_key_rotation_re_seals_the_secrets(
    suite_key_copy: SoftwareCryptoProvider, connection: Connection, db: Session
) -> None:
    # A copy of the suite's key file, so the new key version stays out of the suite's file.
    keys = suite_key_copy
    with use_provider(keys):
        secret = begin_totp_enrolment(db, _new_staff(db, "rotated"), actor=ACTOR)
        db.commit()
        before = counts_by_version(db)["account.totp_secret"]
        assert set(before) == {1} and before[1] >= 4  # the seeded administrators and this one
        result = rotate(
            lambda: Session(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            ),
            keys,
            actor=ACTOR,
            batch_size=100,
        )
        assert result.retired == [1]
        db.expire_all()
        assert counts_by_version(db)["account.totp_secret"] == {2: before[1]}
        assert _account(db, "rotated").totp_secret == secret
        assert _account(db, "system_admin").totp_secret == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


# --- the migrations --------------------------------------------------------------------------


def test_0023_seals_existing_secrets_in_place_and_its_downgrade_opens_them(
    tmp_path: Path,
) -> None:
    rng = random.Random(23)
    secrets = {
        i: ("".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(32)))
        if i % 3
        else None
        for i in range(1, 8)
    }
    with scratch_database(tmp_path, "totp") as engine:
        with engine.begin() as conn:
            upgrade(conn, "0022")
            for account_id, secret in secrets.items():
                conn.execute(
                    text(
                        "INSERT INTO account (id, username, display_name, kind, password_hash,"
                        " active, created_at, password_changed_at, password_must_change,"
                        " failed_login_count, totp_secret) VALUES (:id, :u, :u, 'staff', 'x',"
                        " true, :now, :now, false, 0, :secret)"
                    ),
                    {"id": account_id, "u": f"u{account_id}", "now": NOW, "secret": secret},
                )
                conn.execute(
                    text(
                        "INSERT INTO role_grant (account_id, role, region_code, granted_at)"
                        " VALUES (:id, 'leader', '330523000000', :now)"
                    ),
                    {"id": account_id, "now": NOW},
                )
        before = files_content(engine, tmp_path)
        if before is not None:
            assert str(secrets[1]).encode() in before  # the search sees plain values

        with engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            upgrade(conn, "0023")
            assert current_revision(conn) == "0023"
            columns = column_names(conn, "account")
            assert "totp_secret" not in columns
            assert {"row_key", "totp_secret_sealed"} <= columns
            stored = {
                account_id: (bytes(row_key), sealed)
                for account_id, row_key, sealed in conn.execute(
                    text("SELECT id, row_key, totp_secret_sealed FROM account")
                )
            }
            # Altered in place: the grants that reference the accounts are all still there.
            assert conn.scalar(text("SELECT count(*) FROM role_grant")) == len(secrets)
            if sqlite:  # the migration put secure_delete back as it found it
                assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 0
        content = files_content(engine, tmp_path)
        for secret in filter(None, secrets.values()):
            assert content is None or secret.encode() not in content, secret
        row_keys = [row_key for row_key, _ in stored.values()]
        assert all(len(k) == 16 for k in row_keys) and len(set(row_keys)) == len(secrets)
        provider = current_provider()
        for account_id, secret in secrets.items():
            row_key, sealed = stored[account_id]
            if secret is None:
                assert sealed is None
                continue
            ad = associated_data("account", "totp_secret", row_key)
            assert provider.open(bytes(sealed), associated_data=ad).decode() == secret
        # Every row key is unique, as the model declares.
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE account SET row_key = :k WHERE id = 2"), {"k": stored[1][0]})

        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0022")
            assert {"row_key", "totp_secret_sealed"}.isdisjoint(column_names(conn, "account"))
            back: dict[int, Any] = dict(
                conn.execute(text("SELECT id, totp_secret FROM account")).all()
            )
        assert back == secrets


def test_0014_leaves_no_plain_copy_of_what_it_sealed(tmp_path: Path) -> None:
    phones = {i: f"1381234{i:04d}" for i in range(1, 6)}
    with scratch_database(tmp_path, "sealing") as engine:
        with engine.begin() as conn:
            upgrade(conn, "0013")
            for notification_id, phone in phones.items():
                conn.execute(
                    text(
                        "INSERT INTO notification (id, created_at, recipient_phone, channel, kind,"
                        " subject, body, status, attempts) VALUES (:id, :now, :phone, 'sms',"
                        " 'case.update', '通知', '您的诉求已受理', 'sent', 1)"
                    ),
                    {"id": notification_id, "now": NOW, "phone": phone},
                )
        before = files_content(engine, tmp_path)
        if before is not None:
            assert phones[1].encode() in before  # the search sees plain values

        with engine.begin() as conn:
            upgrade(conn, "0014")
            stored: dict[int, Any] = {
                notification_id: (bytes(row_key), sealed)
                for notification_id, row_key, sealed in conn.execute(
                    text("SELECT id, row_key, recipient_phone_sealed FROM notification")
                )
            }
        content = files_content(engine, tmp_path)
        for phone in phones.values():
            assert content is None or phone.encode() not in content, phone
        provider = current_provider()
        for notification_id, phone in phones.items():
            row_key, sealed = stored[notification_id]
            ad = associated_data("notification", "recipient_phone", row_key)
            assert provider.open(bytes(sealed), associated_data=ad).decode() == phone
