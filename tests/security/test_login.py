"""Signing in through the pages: the form contract, redirects, failures, lock-out, audit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.security.models import Account, WebSession
from gongzhi.security.services import GENERIC_LOGIN_ERROR, token_hash, unlock_account
from tests.security.fixtures import PERSONA_PASSWORD, Clock, csrf_from, login_as


def _post_login(client: TestClient, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    data.update(extra)
    return client.post("/login", data=data, follow_redirects=False)


def _events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _account(db: Session, username: str) -> Account:
    account = db.scalar(select(Account).where(Account.username == username))
    assert account is not None
    db.refresh(account)
    return account


def test_login_page_contract(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    html = page.text
    assert 'name="username"' in html and 'name="password"' in html
    assert 'type="submit"' in html
    assert '<label for="username">' in html and '<label for="password">' in html
    assert page.headers["cache-control"] == "no-store"


def test_login_page_states_the_configured_lockout(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    app.state.settings = app.state.settings.model_copy(update={"login_max_failures": 7})
    assert "连续输错密码 7 次" in client.get("/login").text
    english = client.get("/login", headers={"Accept-Language": "en"}).text
    assert "After 7 wrong passwords" in english


def test_staff_go_to_staff_home_and_citizens_to_citizen_home(client: TestClient) -> None:
    resp = _post_login(client, "township_clerk", PERSONA_PASSWORD)
    assert resp.status_code == 303 and resp.headers["location"] == "/staff"
    client.cookies.clear()
    resp = _post_login(client, "citizen", PERSONA_PASSWORD)
    assert resp.status_code == 303 and resp.headers["location"] == "/citizen"
    assert client.get("/citizen").status_code == 200


def test_next_is_followed_only_for_local_paths(client: TestClient) -> None:
    resp = _post_login(client, "dispatcher", PERSONA_PASSWORD, next="/account")
    assert resp.headers["location"] == "/account"
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client.cookies.clear()
        resp = _post_login(client, "dispatcher", PERSONA_PASSWORD, next=evil)
        assert resp.headers["location"] == "/staff", evil


def test_login_form_needs_its_signed_token(client: TestClient) -> None:
    client.get("/login")
    resp = client.post(
        "/login",
        data={"username": "dispatcher", "password": PERSONA_PASSWORD, "csrf_token": "1.forged"},
        follow_redirects=False,
    )
    assert resp.status_code == 400
    assert "gz_session" not in resp.cookies
    # A genuine token without the browser's matching cookie (login CSRF) fails as well.
    token = csrf_from(client.get("/login").text)
    client.cookies.clear()
    resp = client.post(
        "/login",
        data={"username": "dispatcher", "password": PERSONA_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert resp.status_code == 400


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, db: Session
) -> None:
    wrong = _post_login(client, "dispatcher", "Not-The-Password-1")
    unknown = _post_login(client, "nobody-here", "Not-The-Password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert GENERIC_LOGIN_ERROR.split(" / ")[0] in wrong.text
    assert GENERIC_LOGIN_ERROR.split(" / ")[0] in unknown.text
    failed = _events(db, "security.login.failed")
    assert {e.reason for e in failed} == {"bad_password", "unknown_user"}
    assert "Not-The-Password-1" not in str([e.canonical for e in failed])


def test_success_is_an_audit_event(client: TestClient, db: Session) -> None:
    login_as(client, "leader")
    (event,) = _events(db, "security.login.succeeded")
    assert event.actor_label.startswith("leader ")
    assert _account(db, "leader").last_login_at is not None


def test_lockout_after_max_failures(client: TestClient, db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    n = settings.login_max_failures
    for _ in range(n):
        assert _post_login(client, "data_officer", "Wrong-Password-9").status_code == 401
    account = _account(db, "data_officer")
    assert account.locked_until is not None
    (locked,) = _events(db, "security.account.locked")
    assert locked.object_id == str(account.id)
    # Locked: even the right password gets the same generic answer, and is audited.
    resp = _post_login(client, "data_officer", PERSONA_PASSWORD)
    assert resp.status_code == 401 and GENERIC_LOGIN_ERROR.split(" / ")[0] in resp.text
    assert "gz_session" not in resp.cookies
    assert any(e.reason == "locked" for e in _events(db, "security.login.failed"))


def test_lock_expires_after_lockout_minutes(
    client: TestClient,
    db: Session,
    settings,
    frozen_clock: Clock,  # type: ignore[no-untyped-def]
) -> None:
    for _ in range(settings.login_max_failures):
        _post_login(client, "data_officer", "Wrong-Password-9")
    frozen_clock.advance(minutes=settings.login_lockout_minutes - 1)
    assert _post_login(client, "data_officer", PERSONA_PASSWORD).status_code == 401
    frozen_clock.advance(minutes=2)
    assert _post_login(client, "data_officer", PERSONA_PASSWORD).status_code == 303


def test_failures_below_the_limit_reset_on_success(
    client: TestClient,
    db: Session,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    for _ in range(settings.login_max_failures - 1):
        _post_login(client, "leader", "Wrong-Password-9")
    assert _post_login(client, "leader", PERSONA_PASSWORD).status_code == 303
    assert _account(db, "leader").failed_login_count == 0


def test_unlock_service(client: TestClient, db: Session, settings) -> None:  # type: ignore[no-untyped-def]
    for _ in range(settings.login_max_failures):
        _post_login(client, "leader", "Wrong-Password-9")
    account = _account(db, "leader")
    unlock_account(db, account, actor=SystemActor("cli:test"), reason="phoned the helpdesk")
    db.flush()
    assert _events(db, "security.account.unlocked")
    assert _post_login(client, "leader", PERSONA_PASSWORD).status_code == 303


def test_signing_in_again_replaces_the_session(client: TestClient, db: Session) -> None:
    # No session fixation: whatever session the browser had is ended, a new token is issued.
    _post_login(client, "audit_admin", PERSONA_PASSWORD)  # stops at the TOTP step
    first = client.cookies.get("gz_session")
    _post_login(client, "audit_admin", PERSONA_PASSWORD)
    second = client.cookies.get("gz_session")
    assert first and second and first != second
    sessions = db.scalars(
        select(WebSession).where(WebSession.token_hash.in_([token_hash(first)]))
    ).all()
    assert len(sessions) == 1 and sessions[0].revoked_at is not None


def test_logout_ends_the_session(client: TestClient, db: Session) -> None:
    token = login_as(client, "leader")
    cookie = client.cookies.get("gz_session")
    resp = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    client.cookies.set("gz_session", cookie)  # a copy of the old cookie is dead too
    assert client.get("/api/v1/me").status_code == 401
    assert _events(db, "security.session.ended")


def test_admin_password_step_leads_to_totp(client: TestClient) -> None:
    resp = _post_login(client, "audit_admin", PERSONA_PASSWORD)
    assert resp.status_code == 303 and resp.headers["location"] == "/login/totp"
    page = client.get("/login/totp")
    assert page.status_code == 200 and 'name="code"' in page.text
    assert '<label for="code">' in page.text
