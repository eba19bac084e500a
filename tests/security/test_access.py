"""Deny by default and the separation of the three administrators (三员分立)."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.security.deps import Public, Require
from gongzhi.security.models import Account
from gongzhi.security.permissions import ROLE_PERMISSIONS, Permission, Role
from tests.arch.test_routes_declare_permissions import _all_routes, _guards
from tests.security.fixtures import login_as

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Public routes that act only on the caller's own sign-in (every person may use them).
OWN_CREDENTIAL_ROUTES = {
    "/login",
    "/login/totp",
    "/login/totp/setup",
    "/logout",
    "/account/password",
    "/api/v1/auth/tokens",
}


def test_anonymous_api_call_gets_401_json(client: TestClient) -> None:
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthenticated"
    assert resp.headers["www-authenticate"] == "Bearer"


def test_anonymous_page_request_is_sent_to_login(client: TestClient) -> None:
    resp = client.get("/account?tab=x", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/account%3Ftab%3Dx"


def test_principal_without_the_permission_gets_403(client: TestClient) -> None:
    login_as(client, "citizen")
    resp = client.get("/api/v1/accounts")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    assert client.get("/staff").status_code == 403
    # What the citizen may do still works.
    assert client.get("/citizen").status_code == 200


def test_security_admin_grants_but_cannot_touch_own_roles(client: TestClient, db: Session) -> None:
    csrf = login_as(client, "security_admin")
    headers = {"X-CSRF-Token": csrf}
    clerk = db.scalar(select(Account).where(Account.username == "township_clerk"))
    me = db.scalar(select(Account).where(Account.username == "security_admin"))
    assert clerk is not None and me is not None
    resp = client.post(
        f"/api/v1/accounts/{clerk.id}/roles",
        json={"role": "grid_worker", "region_code": "330523103202"},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    assert {"role": "grid_worker", "region_code": "330523103202"} in resp.json()["roles"]
    resp = client.delete(
        f"/api/v1/accounts/{clerk.id}/roles/grid_worker/330523103202", headers=headers
    )
    assert resp.status_code == 200
    resp = client.post(
        f"/api/v1/accounts/{me.id}/roles",
        json={"role": "system_admin", "region_code": "330523000000"},
        headers=headers,
    )
    assert resp.status_code == 403
    # Outside the admin's region subtree: refused.
    resp = client.post(
        f"/api/v1/accounts/{clerk.id}/roles",
        json={"role": "grid_worker", "region_code": "110101001001"},
        headers=headers,
    )
    assert resp.status_code == 403


def test_system_admin_manages_accounts_but_cannot_grant_roles(client: TestClient) -> None:
    csrf = login_as(client, "system_admin")
    headers = {"X-CSRF-Token": csrf}
    resp = client.post(
        "/api/v1/accounts",
        json={
            "username": "new.clerk",
            "display_name": "新办事员",
            "kind": "staff",
            "password": "Bamboo-Sea-77",
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    account_id = resp.json()["id"]
    resp = client.post(
        f"/api/v1/accounts/{account_id}/roles",
        json={"role": "leader", "region_code": "330523000000"},
        headers=headers,
    )
    assert resp.status_code == 403


def _fill(path: str) -> str:
    samples = {
        "role": Role.LEADER.value,
        "region_code": "330523000000",
        "code": "330523000000",
        "number": "AJ-20260101-0001",  # shaped like a case number (routes match the shape)
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: samples.get(m.group(1), "1"), path)


def test_audit_admin_can_change_nothing(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    """Walk every state-changing route: the audit administrator gets 403 on each."""
    # By policy first: the audit admin holds read permissions and its own account only.
    changing = {
        p
        for p in ROLE_PERMISSIONS[Role.AUDIT_ADMIN]
        if not p.value.endswith((":read", ":read_own", ":view", ":resolve"))
        and p != Permission.OWN_ACCOUNT
    }
    assert changing == set()

    csrf = login_as(client, "audit_admin")
    headers = {"X-CSRF-Token": csrf}
    checked = []
    for route in _all_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        guards = _guards(route.dependant)
        for method in sorted(route.methods & UNSAFE):
            guard = guards[0]
            if isinstance(guard, Public):
                # Public state changes are the caller's own sign-in steps, nothing else.
                assert route.path in OWN_CREDENTIAL_ROUTES or not route.path.startswith(
                    ("/api/v1/auth", "/login", "/account")
                ), route.path
                continue
            assert isinstance(guard, Require)
            if guard.permission == Permission.OWN_ACCOUNT:
                continue  # e.g. revoking one's own API token
            resp = client.request(method, _fill(route.path), json={}, headers=headers)
            assert resp.status_code == 403, f"{method} {route.path}: {resp.status_code}"
            checked.append(f"{method} {route.path}")
    assert (
        "POST /api/v1/accounts" in checked and "POST /api/v1/accounts/{account_id}/roles" in checked
    )
