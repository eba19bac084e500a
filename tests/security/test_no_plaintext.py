"""No password, session token or API token appears anywhere in the database in the clear."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import gongzhi.models  # noqa: F401
from gongzhi.db import Base
from tests.security.fixtures import PERSONA_PASSWORD, csrf_from, login_as


def _database_text(db: Session) -> str:
    parts = []
    for table in Base.metadata.sorted_tables:
        if table.name.startswith("region"):
            continue  # reference data, and large
        for row in db.execute(select(table)):
            parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_no_secret_is_stored_in_the_clear(client: TestClient, db: Session) -> None:
    new_password = "Tea-Garden-Anji-42"
    csrf = login_as(client, "leader")
    session_cookie = client.cookies.get("gz_session")
    page = client.get("/account/password")
    resp = client.post(
        "/account/password",
        data={
            "current_password": PERSONA_PASSWORD,
            "new_password": new_password,
            "new_password_again": new_password,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    token = client.post(
        "/api/v1/auth/tokens",
        json={"username": "leader", "password": new_password, "name": "scan"},
        headers={"X-CSRF-Token": csrf},
    ).json()["token"]
    # A wrong password typed into the form is not kept either.
    client.cookies.clear()
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "username": "leader",
            "password": "Typo-Password-43",
            "csrf_token": csrf_from(page.text),
        },
    )
    db.expire_all()
    text = _database_text(db)
    assert "leader" in text  # the scan does see the rows
    # (The CSRF token is a per-session nonce, not a credential: it is stored, and useless
    # without the session cookie, which is not.)
    for secret in (PERSONA_PASSWORD, new_password, "Typo-Password-43", session_cookie, token):
        assert secret and secret not in text, secret
    assert token.removeprefix("gz_") not in text
