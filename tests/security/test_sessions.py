"""Server-side sessions: cookie flags, idle and absolute time-outs, CSRF on unsafe requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gongzhi.app import create_app
from gongzhi.config import Settings
from gongzhi.security.models import WebSession
from gongzhi.security.services import token_hash
from tests.security.fixtures import Clock, login_as


def _session_row(db: Session, client: TestClient) -> WebSession:
    cookie = client.cookies.get("gz_session")
    assert cookie
    row = db.scalar(select(WebSession).where(WebSession.token_hash == token_hash(cookie)))
    assert row is not None
    db.refresh(row)
    return row


def test_cookie_is_httponly_and_samesite_lax(client: TestClient) -> None:
    from tests.security.fixtures import PERSONAS, csrf_from

    page = client.get("/login")
    p = PERSONAS["leader"]
    resp = client.post(
        "/login",
        data={"username": p.username, "password": p.password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("gz_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # this test deployment runs plain HTTP


@pytest.fixture
def secure_client(settings: Settings, connection: Connection) -> Iterator[TestClient]:
    secure = settings.model_copy(update={"cookie_secure": True})
    app = create_app(
        secure,
        session_factory=lambda: Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ),
    )
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def test_cookie_is_secure_when_configured(secure_client: TestClient) -> None:
    login_as(secure_client, "leader")
    resp = secure_client.get("/login", follow_redirects=False)
    assert resp.status_code == 303  # signed in: the Secure cookie went back over HTTPS
    from tests.security.fixtures import PERSONAS, csrf_from

    secure_client.cookies.clear()
    page = secure_client.get("/login")
    p = PERSONAS["leader"]
    resp = secure_client.post(
        "/login",
        data={"username": p.username, "password": p.password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("gz_session="))
    assert "Secure" in cookie


def test_only_the_token_hash_is_stored(client: TestClient, db: Session) -> None:
    login_as(client, "leader")
    cookie = client.cookies.get("gz_session")
    row = _session_row(db, client)
    assert row.token_hash == token_hash(cookie) and cookie not in row.token_hash
    assert len(cookie) >= 43  # 32 random bytes, URL-safe base64


def test_idle_timeout(
    client: TestClient, db: Session, settings: Settings, frozen_clock: Clock
) -> None:
    login_as(client, "leader")
    idle = settings.session_idle_minutes
    # Activity keeps the session alive well past the idle limit...
    for _ in range(3):
        frozen_clock.advance(minutes=idle - 1)
        assert client.get("/api/v1/me").status_code == 200
    # ...but a gap longer than the limit ends it.
    frozen_clock.advance(minutes=idle + 1)
    assert client.get("/api/v1/me").status_code == 401
    resp = client.get("/staff", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    # A page sends the browser to sign in again; the public page itself still works.
    assert client.get("/login").status_code == 200
    assert "gz_session" in client.cookies  # a stale cookie is harmless; it matches nothing live


def test_absolute_timeout(client: TestClient, settings: Settings, frozen_clock: Clock) -> None:
    login_as(client, "leader")
    step = settings.session_idle_minutes - 1
    elapsed = 0
    while elapsed + step < settings.session_absolute_hours * 60:
        frozen_clock.advance(minutes=step)
        elapsed += step
        assert client.get("/api/v1/me").status_code == 200, elapsed
    frozen_clock.advance(minutes=step)
    assert client.get("/api/v1/me").status_code == 401


def test_unsafe_request_without_csrf_token_is_refused(client: TestClient) -> None:
    token = login_as(client, "leader")
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert (
        client.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False).status_code
        == 403
    )
    # Still signed in after the refused requests.
    assert client.get("/api/v1/me").status_code == 200
    # The same request with the token (form field or header) goes through.
    resp = client.delete("/api/v1/auth/tokens/999999", headers={"X-CSRF-Token": token})
    assert resp.status_code == 404
    resp = client.delete("/api/v1/auth/tokens/999999")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "csrf_failed"
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )


def test_csrf_token_of_another_session_is_refused(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    other = TestClient(app, base_url="http://testserver")
    other_token = login_as(other, "dispatcher")
    login_as(client, "leader")
    resp = client.delete("/api/v1/auth/tokens/1", headers={"X-CSRF-Token": other_token})
    assert resp.status_code == 403


def test_page_renders_the_csrf_input(client: TestClient) -> None:
    token = login_as(client, "leader")
    html = client.get("/account/password").text
    assert f'name="csrf_token" value="{token}"' in html


def test_shell_logout_form_carries_the_session_token(client: TestClient) -> None:
    # The CSRF context processor runs alongside the web shell's (i18n, prefs) ones: the
    # header's sign-out form on a staff page gets this session's token.
    from gongzhi.security.csrf import csrf_processor
    from gongzhi.web.templating import context_processors

    assert context_processors.count(csrf_processor) == 1
    token = login_as(client, "dispatcher")
    html = client.get("/staff").text
    form = html[html.index('action="/logout"') :]
    assert f'name="csrf_token" value="{token}"' in form[: form.index("</form>")]
    from tests.security.fixtures import csrf_from

    resp = client.post("/logout", data={"csrf_token": csrf_from(form)}, follow_redirects=False)
    assert resp.status_code == 303
    assert client.get("/api/v1/me").status_code == 401
