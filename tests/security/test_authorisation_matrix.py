"""The authorisation matrix (issue 4; docs/security.md): every route of the app × every
persona gets exactly the outcome the platform's rules give it — OK, sign-in (401 or a
redirect to the sign-in page), 403 or 404 — with real objects in the path (matrix_table.py
says what is expected and why; matrix_world.py builds the objects). Region scope and object
level (IDOR) have their own tests below, whether the object comes from the path, the query
string, the body or a list.

Revocation (a removed role or account ends its sessions and tokens on the next request) is
tested in test_revocation.py.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from httpx import Response

from tests.arch.test_routes_declare_permissions import _all_routes, _app
from tests.security.matrix_table import BY_ROUTE, DENY, HIDE, LOGIN, OK, PERSONAS, ROWS, Row
from tests.security.matrix_world import Matrix, matrix  # noqa: F401  (fixture)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def app_routes() -> set[str]:
    found = set()
    for route in _all_routes(_app().routes):
        if isinstance(route, APIRoute):
            found.update(f"{method} {route.path}" for method in route.methods)
    return found


def test_every_route_is_in_the_matrix() -> None:
    routes = app_routes()
    missing = sorted(routes - BY_ROUTE.keys())
    stale = sorted(BY_ROUTE.keys() - routes)
    assert not missing, "routes without expectations in matrix_table.py: " + ", ".join(missing)
    assert not stale, "rows for routes the app no longer has: " + ", ".join(stale)


def outcome(method: str, resp: Response) -> str:
    status = resp.status_code
    location = resp.headers.get("location", "")
    if status == 401 or (300 <= status < 400 and location.startswith("/login")):
        return LOGIN
    if status == 403:
        return DENY
    if status == 404:
        return HIDE
    if 200 <= status < 400:
        return OK
    if method in UNSAFE and status in (400, 409, 422):
        return OK  # through the guard and the object's scope; refused by a business rule
    return f"unexpected {status}"


def _cases() -> list[object]:
    cases = []
    for row in ROWS:
        for persona in PERSONAS:
            marks = []
            if persona in row.xfail:
                marks.append(pytest.mark.xfail(reason=row.xfail[persona], strict=True))
            cases.append(pytest.param(row, persona, id=f"{row.route} as {persona}", marks=marks))
    return cases


@pytest.mark.parametrize(("row", "persona"), _cases())
def test_route_as_persona(matrix: Matrix, row: Row, persona: str) -> None:  # noqa: F811
    world = matrix.world
    form = {k: world.fill(v) for k, v in row.form.items()} if row.form is not None else None
    json = row.json
    if isinstance(json, dict):
        json = {k: world.fill(v) if isinstance(v, str) else v for k, v in json.items()}
    resp = matrix.request(persona, row.method, world.fill(row.url), json=json, data=form)
    got = outcome(row.method, resp)
    assert got == row.expect[persona], (
        f"{row.route} as {persona}: expected {row.expect[persona]}, got {got} "
        f"({resp.status_code} {resp.headers.get('location', '')} {resp.text[:200]})"
    )
