"""Revocation takes effect on the very next request, and an administrator without a second
factor reaches no administrator route by any path (session, old session, API token, JSON
sign-in)."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.security import clock
from gongzhi.security.deps import Require
from gongzhi.security.models import Account, ApiToken, WebSession
from gongzhi.security.permissions import ADMIN_ROLES, ROLE_PERMISSIONS, Permission, Role
from gongzhi.security.services import (
    create_account,
    grant_role,
    set_active,
    token_hash,
)
from tests.arch.test_routes_declare_permissions import _all_routes, _guards
from tests.security.fixtures import COUNTY, PERSONA_PASSWORD, csrf_from, login_as

ACTOR = SystemActor("cli:test")


def _account(db: Session, username: str) -> Account:
    account = db.scalar(select(Account).where(Account.username == username))
    assert account is not None
    return account


def _token(app: FastAPI, username: str, **extra: Any) -> str:
    """A token from the JSON sign-in (a client without a session cookie, as scripts are)."""
    body = {"username": username, "password": PERSONA_PASSWORD, "name": "t", **extra}
    resp = TestClient(app).post("/api/v1/auth/tokens", json=body)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _new_client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://testserver")


# --- revocation through the administrators' API -----------------------------------------------


def test_role_removed_through_the_api_ends_the_holders_credentials(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    holder = _new_client(app)
    login_as(holder, "township_clerk")
    token = _token(app, "township_clerk")
    assert holder.get("/staff").status_code == 200
    assert holder.get("/api/v1/me", headers=_bearer(token)).status_code == 200

    csrf = login_as(client, "security_admin")
    clerk = _account(db, "township_clerk")
    resp = client.delete(
        f"/api/v1/accounts/{clerk.id}/roles/township_clerk/330523103000",
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status_code == 200, resp.text

    # The very next request with the old cookie or token is refused.
    assert holder.get("/api/v1/me").status_code == 401
    resp = holder.get("/staff", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    assert holder.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    db.expire_all()
    sessions = db.scalars(select(WebSession).where(WebSession.account_id == clerk.id)).all()
    tokens = db.scalars(select(ApiToken).where(ApiToken.account_id == clerk.id)).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)
    assert tokens and all(t.revoked_at is not None for t in tokens)
    # The administrator's own session is untouched.
    assert client.get("/api/v1/me").status_code == 200


def test_deactivation_ends_sessions_and_tokens_at_once(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    holder = _new_client(app)
    login_as(holder, "department_handler")
    token = _token(app, "department_handler")
    set_active(db, _account(db, "department_handler"), active=False, actor=ACTOR, reason="left")
    db.commit()
    assert holder.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    # Nor can it sign in again, on the web or for a token.
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "username": "department_handler",
            "password": PERSONA_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert resp.status_code == 401
    body = {"username": "department_handler", "password": PERSONA_PASSWORD}
    assert client.post("/api/v1/auth/tokens", json=body).status_code == 401


# --- administrators without a second factor ----------------------------------------------------


def _admin_only_permissions() -> set[Permission]:
    others = set().union(
        *(perms for role, perms in ROLE_PERMISSIONS.items() if role not in ADMIN_ROLES)
    )
    return {p for role in ADMIN_ROLES for p in ROLE_PERMISSIONS[role]} - others


def _fill(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if "code" in name:
            return COUNTY
        if name == "role":
            return "leader"
        return "1"

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) guarded by a permission only administrators hold."""
    admin_only = _admin_only_permissions()
    found = []
    for route in _all_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        for guard in _guards(route.dependant):
            if isinstance(guard, Require) and guard.permission in admin_only:
                for method in sorted(route.methods - {"HEAD"}):
                    found.append((method, _fill(route.path)))
    return found


def _refused_everywhere(client: TestClient, routes: list[tuple[str, str]], **kw: Any) -> None:
    reached = []
    for method, path in routes:
        resp = client.request(method, path, follow_redirects=False, **kw)
        location = resp.headers.get("location", "")
        if not (resp.status_code == 401 or (resp.status_code == 303 and "/login" in location)):
            reached.append((method, path, resp.status_code))
    assert not reached, f"reached without a second factor: {reached}"


@pytest.fixture
def fresh_admin(db: Session) -> Account:
    """A system administrator who has not set up a second factor yet."""
    account = create_account(
        db,
        username="new.admin",
        display_name="新管理员",
        kind="staff",
        password=PERSONA_PASSWORD,
        actor=ACTOR,
    )
    grant_role(db, account, role=Role.SYSTEM_ADMIN, region_code=COUNTY, actor=ACTOR)
    db.commit()
    return account


def _password_step(client: TestClient, username: str) -> str:
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "username": username,
            "password": PERSONA_PASSWORD,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    return str(resp.headers["location"])


def test_the_route_list_covers_the_administration(app: FastAPI) -> None:
    paths = {path for _, path in admin_routes(app)}
    assert "/api/v1/accounts" in paths
    assert any("/roles" in p for p in paths)
    assert len(paths) >= 8


def test_admin_without_second_factor_is_sent_to_enrolment(
    client: TestClient, app: FastAPI, fresh_admin: Account
) -> None:
    assert _password_step(client, "new.admin").startswith("/login/totp/setup")
    routes = admin_routes(app)
    _refused_everywhere(client, routes)
    csrf = client.cookies.get("gz_session")
    assert csrf  # a half-finished session exists, and it reaches nothing
    assert client.get("/api/v1/me").status_code == 401


def test_admin_without_second_factor_gets_no_token(
    client: TestClient, fresh_admin: Account
) -> None:
    body = {"username": "new.admin", "password": PERSONA_PASSWORD}
    resp = client.post("/api/v1/auth/tokens", json=body)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "totp_enrolment_required"


def test_old_session_and_token_do_not_carry_into_an_admin_role(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    account = create_account(
        db,
        username="soon.admin",
        display_name="将任管理员",
        kind="staff",
        password=PERSONA_PASSWORD,
        actor=ACTOR,
    )
    db.commit()
    # Signed in before the role (三员分立: an administrator role goes to an account that holds
    # no other): a complete session and a token, both without any second factor.
    assert _password_step(client, "soon.admin") == "/staff"
    token = _token(app, "soon.admin")
    # Both are credentials (refused for want of a permission, not of a sign-in).
    assert client.get("/api/v1/me").status_code == 403
    assert _new_client(app).get("/api/v1/me", headers=_bearer(token)).status_code == 403

    grant_role(db, account, role=Role.SYSTEM_ADMIN, region_code=COUNTY, actor=ACTOR)
    db.commit()
    routes = admin_routes(app)
    _refused_everywhere(client, routes)  # the old session
    bare = _new_client(app)
    _refused_everywhere(bare, routes, headers=_bearer(token))  # the old token
    resp = client.get("/staff", follow_redirects=False)
    assert resp.status_code == 303

    # Enrolling the second factor later does not revive the token issued without it.
    assert bare.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    account.totp_secret = pyotp.random_base32()
    account.totp_confirmed_at = clock.now()
    db.commit()
    assert bare.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    code = pyotp.TOTP(account.totp_secret).now()
    fresh = _token(app, "soon.admin", totp_code=code)
    assert bare.get("/api/v1/accounts", headers=_bearer(fresh)).status_code == 200
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    assert row is not None and row.revoked_at is None  # refused by rule, not by chance


def test_admin_with_second_factor_reaches_the_admin_routes(
    client: TestClient, app: FastAPI
) -> None:
    # The same walk with an enrolled administrator is not refused as unauthenticated, so the
    # refusals above come from the missing second factor and not from the walk itself.
    login_as(client, "system_admin")
    assert client.get("/api/v1/accounts").status_code == 200
    for method, path in admin_routes(app):
        if method == "GET":
            resp = client.get(path, follow_redirects=False)
            assert resp.status_code not in (401, 303), (path, resp.status_code)
