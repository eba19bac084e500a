"""Changing the password, and the forced change when it has expired or was reset."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.security.models import Account
from gongzhi.security.services import change_password
from tests.security.fixtures import PERSONA_PASSWORD, Clock, csrf_from, login_as

NEW = "Tea-Garden-Anji-42"


def _password_step(client: TestClient, username: str, password: str = PERSONA_PASSWORD) -> str:
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return str(resp.headers["location"])


def _change(client: TestClient, current: str, new: str, again: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/account/password")
    assert page.status_code == 200
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )


def test_change_password(client: TestClient, db: Session) -> None:
    login_as(client, "grid_worker")
    assert _change(client, "Wrong-Current-1", NEW).status_code == 422
    assert _change(client, PERSONA_PASSWORD, NEW, "Something-Else-2").status_code == 422
    weak = _change(client, PERSONA_PASSWORD, "grid_worker-2026A")
    assert weak.status_code == 422 and "用户名" in weak.text
    resp = _change(client, PERSONA_PASSWORD, NEW)
    assert resp.status_code == 303 and resp.headers["location"] == "/staff"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "security.password.changed"))
    client.cookies.clear()
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "username": "grid_worker",
            "password": PERSONA_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert resp.status_code == 401
    assert _password_step(client, "grid_worker", NEW) == "/staff"


def test_expired_password_must_be_changed_at_sign_in(
    client: TestClient,
    settings,
    frozen_clock: Clock,  # type: ignore[no-untyped-def]
) -> None:
    frozen_clock.advance(days=settings.password_max_age_days + 1)
    assert _password_step(client, "township_clerk") == "/account/password"
    # Until it is changed, the session is no principal anywhere else.
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/staff", follow_redirects=False).status_code == 303
    page = client.get("/account/password")
    assert "已过期" in page.text
    # Tokens are not handed out on an expired password either.
    resp = client.post(
        "/api/v1/auth/tokens", json={"username": "township_clerk", "password": PERSONA_PASSWORD}
    )
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "password_change_required"
    assert _change(client, PERSONA_PASSWORD, NEW).status_code == 303
    assert client.get("/api/v1/me").status_code == 200


def test_admin_reset_forces_a_change(client: TestClient, db: Session) -> None:
    account = db.scalar(select(Account).where(Account.username == "dispatcher"))
    assert account is not None
    change_password(
        db,
        account,
        current_password=None,
        new_password="Temporary-Pass-9",
        actor=SystemActor("cli:test"),
    )
    db.commit()
    assert _password_step(client, "dispatcher", "Temporary-Pass-9") == "/account/password"
    assert _change(client, "Temporary-Pass-9", NEW).status_code == 303
    assert client.get("/staff").status_code == 200


def test_changing_the_password_ends_other_sessions(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    other = TestClient(app, base_url="http://testserver")
    login_as(other, "leader")
    login_as(client, "leader")
    assert _change(client, PERSONA_PASSWORD, NEW).status_code == 303
    assert client.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401
