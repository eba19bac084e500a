"""Bearer tokens for the API: issue, use, revoke; role changes count at once."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.security.models import Account, ApiToken
from gongzhi.security.permissions import Role
from gongzhi.security.services import grant_role, revoke_role, token_hash
from tests.security.fixtures import PERSONA_PASSWORD, Clock, login_as, totp_code


def _issue(client: TestClient, username: str, **extra: Any):  # type: ignore[no-untyped-def]
    body = {"username": username, "password": PERSONA_PASSWORD, "name": "test", **extra}
    return client.post("/api/v1/auth/tokens", json=body)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_issue_and_use_a_token(client: TestClient, db: Session) -> None:
    resp = _issue(client, "dispatcher")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    token = body["token"]
    assert token.startswith("gz_") and body["expires_at"]
    me = client.get("/api/v1/me", headers=_bearer(token))
    assert me.status_code == 200
    assert me.json()["username"] == "dispatcher" and me.json()["via"] == "token"
    row = db.get(ApiToken, body["id"])
    assert row is not None and row.token_hash == token_hash(token)
    db.refresh(row)
    assert row.last_used_at is not None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "security.token.issued"))


def test_wrong_password_gets_401_and_counts(client: TestClient, db: Session) -> None:
    resp = client.post(
        "/api/v1/auth/tokens", json={"username": "dispatcher", "password": "Wrong-Password-1"}
    )
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "bad_credentials"
    account = db.scalar(select(Account).where(Account.username == "dispatcher"))
    assert account is not None
    db.refresh(account)
    assert account.failed_login_count == 1  # committed although the answer was an error


def test_bad_tokens_are_refused(client: TestClient) -> None:
    for value in ("gz_nonsense", "nonsense", ""):
        assert client.get("/api/v1/me", headers=_bearer(value)).status_code == 401


def test_revoked_token_stops_working(client: TestClient) -> None:
    body = _issue(client, "dispatcher").json()
    headers = _bearer(body["token"])
    listed = client.get("/api/v1/auth/tokens", headers=headers).json()
    assert [t["id"] for t in listed] == [body["id"]] and "token" not in listed[0]
    # Bearer requests need no CSRF token: there is no ambient credential to abuse.
    assert client.delete(f"/api/v1/auth/tokens/{body['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_cannot_revoke_someone_elses_token(client: TestClient) -> None:
    mine = _issue(client, "dispatcher").json()
    theirs = _issue(client, "leader").json()
    resp = client.delete(f"/api/v1/auth/tokens/{theirs['id']}", headers=_bearer(mine["token"]))
    assert resp.status_code == 404
    assert client.get("/api/v1/me", headers=_bearer(theirs["token"])).status_code == 200


def test_token_expires(client: TestClient, frozen_clock: Clock) -> None:
    token = _issue(client, "dispatcher", expires_days=1).json()["token"]
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    frozen_clock.advance(days=1, seconds=1)
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_admin_tokens_require_a_totp_code(client: TestClient, frozen_clock: Clock) -> None:
    resp = _issue(client, "system_admin")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "totp_required"
    resp = _issue(client, "system_admin", totp_code="000000")
    if totp_code("system_admin") != "000000":
        assert resp.status_code == 401
    resp = _issue(client, "system_admin", totp_code=totp_code("system_admin"))
    assert resp.status_code == 201
    # The same code cannot buy a second token.
    resp = _issue(client, "system_admin", totp_code=totp_code("system_admin"))
    assert resp.status_code == 401


def test_removed_role_ends_sessions_and_tokens_at_once(
    client: TestClient,
    app,
    db: Session,  # type: ignore[no-untyped-def]
) -> None:
    token = _issue(client, "data_officer").json()["token"]
    browser = TestClient(app, base_url="http://testserver")
    login_as(browser, "data_officer")
    assert browser.get("/staff").status_code == 200
    assert client.get("/api/v1/me", headers=_bearer(token)).json()["roles"]

    account = db.scalar(select(Account).where(Account.username == "data_officer"))
    assert account is not None
    actor = SystemActor("cli:test")
    revoke_role(db, account, role=Role.DATA_OFFICER, region_code="330523000000", actor=actor)
    db.commit()

    # The very next request with the old cookie or token is refused: sign in again.
    resp = browser.get("/staff", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    assert browser.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    # A new grant counts for the next sign-in; the old token stays dead.
    grant_role(db, account, role=Role.LEADER, region_code="330523000000", actor=actor)
    db.commit()
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    login_as(browser, "data_officer")
    assert browser.get("/staff").status_code == 200
    new_token = _issue(client, "data_officer").json()["token"]
    roles = client.get("/api/v1/me", headers=_bearer(new_token)).json()["roles"]
    assert roles == [{"role": "leader", "region_code": "330523000000"}]


def test_deactivated_account_loses_session_and_tokens(
    client: TestClient,
    app,
    db: Session,  # type: ignore[no-untyped-def]
) -> None:
    from gongzhi.security.services import set_active

    token = _issue(client, "leader").json()["token"]
    browser = TestClient(app, base_url="http://testserver")
    login_as(browser, "leader")
    account = db.scalar(select(Account).where(Account.username == "leader"))
    assert account is not None
    set_active(db, account, active=False, actor=SystemActor("cli:test"), reason="left the post")
    db.commit()
    assert browser.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401
