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


# --- region scope ------------------------------------------------------------------------------
# The township clerk (鄣吴镇) and the grid worker (玉华村) reach nothing of 递铺街道: an object
# of the other township is not found (404), wherever its identifier comes from, and lists
# leave it out. The county's dispatcher sees both, which shows the objects are really there.

TOWNSHIP_STAFF = ("township_clerk", "grid_worker")
OUT_OF_REGION_PATHS = [
    "GET /api/v1/cases/{case_b}",
    "GET /cases/{case_b}",
    "GET /cases/{case_b}/photos/{photo_b}",
    "GET /api/v1/cases/{case_b}/summons",
    "GET /api/v1/cases/{case_b}/support",
    "GET /api/v1/cases/{case_b}/duplicates",
]


@pytest.mark.parametrize("persona", TOWNSHIP_STAFF)
@pytest.mark.parametrize("request_line", OUT_OF_REGION_PATHS)
def test_an_object_of_the_other_township_by_path_is_not_found(
    matrix: Matrix,  # noqa: F811
    persona: str,
    request_line: str,
) -> None:
    method, url = request_line.split(" ", 1)
    url = matrix.world.fill(url)
    assert matrix.request(persona, method, url).status_code == 404
    assert matrix.request("dispatcher", method, url).status_code == 200


def test_the_clerk_acts_on_nothing_in_the_other_township(matrix: Matrix) -> None:  # noqa: F811
    w = matrix.world.ids
    summons = {"departments": ["330523-ZHZF"], "reason": "needs_enforcement"}
    resp = matrix.request(
        "township_clerk", "POST", f"/api/v1/cases/{w['case_b']}/summons", json=summons
    )
    assert resp.status_code == 404, resp.text
    resp = matrix.request(
        "township_clerk",
        "POST",
        f"/cases/{w['case_b']}/summons",
        data={"reason": "needs_enforcement", "departments": "330523-ZHZF"},
    )
    assert resp.status_code == 404
    # On its own township's case the same request goes through.
    resp = matrix.request(
        "township_clerk", "POST", f"/api/v1/cases/{w['case_a']}/summons", json=summons
    )
    assert resp.status_code == 201, resp.text
    resp = matrix.request(
        "grid_worker", "POST", f"/api/v1/cases/{w['case_b']}/verify", json={"passed": True}
    )
    assert resp.status_code == 404


def test_a_resident_of_the_other_township_is_not_found_by_path_or_body(
    matrix: Matrix,  # noqa: F811
) -> None:
    w = matrix.world.ids
    reveal = {"fields": ["phone"], "purpose": "verify_identity"}
    # The path names a person of 递铺街道.
    url = f"/api/v1/privacy/people/{w['person_b']}/reveal"
    assert matrix.request("township_clerk", "POST", url, json=reveal).status_code == 404
    assert (
        matrix.request(
            "township_clerk", "GET", f"/privacy/reveal/person/{w['person_b']}"
        ).status_code
        == 404
    )
    assert matrix.request("dispatcher", "POST", url, json=reveal).status_code == 200
    # The body carries the ID number of a person of 递铺街道.
    lookup = "/api/v1/privacy/people/lookup"
    assert (
        matrix.request(
            "township_clerk", "POST", lookup, json={"id_number": w["id_number_b"]}
        ).status_code
        == 404
    )
    assert (
        matrix.request(
            "township_clerk", "POST", lookup, json={"id_number": w["id_number"]}
        ).status_code
        == 200
    )
    page = matrix.request(
        "township_clerk", "POST", "/privacy/people", data={"id_number": w["id_number_b"]}
    )
    assert page.status_code == 404
    # The body names a case of 递铺街道 as the reason for revealing one's own resident.
    url = f"/api/v1/privacy/people/{w['person']}/reveal"
    resp = matrix.request(
        "township_clerk", "POST", url, json={**reveal, "case_number": w["case_b"]}
    )
    assert resp.status_code in (403, 404, 422), resp.text
    assert w["case_b"] not in resp.text or resp.status_code != 200
    resp = matrix.request(
        "township_clerk", "POST", url, json={**reveal, "case_number": w["case_a"]}
    )
    assert resp.status_code == 200, resp.text


def _numbers(resp: Response) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {item["number"] for item in resp.json()}


@pytest.mark.parametrize("persona", TOWNSHIP_STAFF)
@pytest.mark.parametrize(
    "query", ["", "?status=open", "?status=accepted", "?queue=overdue", "?limit=500"]
)
def test_lists_leave_the_other_township_out(matrix: Matrix, persona: str, query: str) -> None:  # noqa: F811
    w = matrix.world.ids
    assert w["case_b"] not in _numbers(matrix.request(persona, "GET", f"/api/v1/cases{query}"))
    if query in ("", "?status=open", "?limit=500"):
        assert w["case_a"] in _numbers(matrix.request(persona, "GET", f"/api/v1/cases{query}"))
        assert {w["case_a"], w["case_b"]} <= _numbers(
            matrix.request("dispatcher", "GET", f"/api/v1/cases{query}")
        )


@pytest.mark.parametrize("persona", TOWNSHIP_STAFF)
@pytest.mark.parametrize("url", ["/cases/overdue", "/cases/indicators", "/staff"])
def test_pages_listing_cases_leave_the_other_township_out(
    matrix: Matrix,  # noqa: F811
    persona: str,
    url: str,
) -> None:
    resp = matrix.request(persona, "GET", url)
    assert resp.status_code in (200, 403)
    assert matrix.world.ids["case_b"] not in resp.text


# --- object level (IDOR) -----------------------------------------------------------------------
# Citizen A is the citizen persona; citizen B reported case B. Each reaches only their own.


CITIZEN_B_OBJECTS = [
    "GET /my/cases/{case_b}",
    "GET /report/sent/{case_b}",
    "GET /api/v1/cases/{case_b}",
    "GET /cases/{case_b}/photos/{photo_b}",
    "GET /api/v1/cases/{case_b}/support",
    "POST /api/v1/notifications/{notification_b}/read",
    "POST /notifications/{notification_b}/read",
    "GET /api/v1/privacy/my/data-use/{access_b}/proof",
    "GET /api/v1/privacy/my/requests/{pipl_b}/export",
    "GET /my/privacy-requests/{pipl_b}/export",
]


@pytest.mark.parametrize("request_line", CITIZEN_B_OBJECTS)
def test_a_citizen_reaches_nothing_of_another_citizen(
    matrix: Matrix,  # noqa: F811
    request_line: str,
) -> None:
    method, url = request_line.split(" ", 1)
    resp = matrix.request("citizen", method, matrix.world.fill(url))
    assert resp.status_code == 404, resp.text[:300]


@pytest.mark.parametrize(
    "request_line",
    [
        "POST /api/v1/cases/{case_b}/rate",
        "POST /api/v1/cases/{case_b}/reopen",
        "POST /my/cases/{case_b}/rate",
        "POST /my/cases/{case_b}/reopen",
    ],
)
def test_a_citizen_cannot_rate_or_reopen_another_citizens_case(
    matrix: Matrix,  # noqa: F811
    request_line: str,
) -> None:
    method, url = request_line.split(" ", 1)
    url = matrix.world.fill(url)
    if url.startswith("/api/"):
        resp = matrix.request("citizen", method, url, json={"rating": 5, "reason": "没修好"})
    else:
        resp = matrix.request("citizen", method, url, data={"rating": "5", "reason": "没修好"})
    assert resp.status_code == 404, resp.text[:300]


def test_a_citizens_lists_hold_only_their_own(matrix: Matrix) -> None:  # noqa: F811
    w = matrix.world.ids
    cases = _numbers(matrix.request("citizen", "GET", "/api/v1/cases?limit=500"))
    assert w["case_a"] in cases and w["case_b"] not in cases
    page = matrix.request("citizen", "GET", "/my/cases")
    assert w["case_a"] in page.text and w["case_b"] not in page.text
    notes = matrix.request("citizen", "GET", "/api/v1/notifications").json()
    ids = {n["id"] for n in (notes["items"] if isinstance(notes, dict) else notes)}
    assert w["notification_a"] in ids and w["notification_b"] not in ids
    uses = matrix.request("citizen", "GET", "/api/v1/privacy/my/data-use").json()
    use_ids = {u["id"] for u in (uses["items"] if isinstance(uses, dict) else uses)}
    assert w["access_a"] in use_ids and w["access_b"] not in use_ids
    requests = matrix.request("citizen", "GET", "/api/v1/privacy/my/requests").json()
    request_ids = {r["id"] for r in (requests["items"] if isinstance(requests, dict) else requests)}
    assert w["pipl_a"] in request_ids and w["pipl_b"] not in request_ids


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("accept", None),
        ("return", {"reason": "not_our_duty"}),
        ("feedback", {"note": "已到现场"}),
        ("pause", {"reason": "等待群众补充材料"}),
        ("resume", None),
    ],
)
def test_a_handler_cannot_act_on_another_departments_case(
    matrix: Matrix,  # noqa: F811
    action: str,
    body: dict[str, str] | None,
) -> None:
    url = f"/api/v1/cases/{matrix.world.ids['case_b']}/{action}"
    resp = matrix.request("handler_own", "POST", url, json=body)
    if action == "feedback":
        # Case B is not signed yet: the state is checked before the department (both refuse,
        # and the handler may read the case's state anyway).
        assert resp.status_code == 409, resp.text
        return
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["code"] == "not_lead_department"
    # Its own department (housing) gets through the same request.
    assert matrix.request("handler_other", "POST", url, json=body).status_code in (200, 201, 409)


def test_a_handler_reveals_only_the_contacts_of_its_own_departments_cases(
    matrix: Matrix,  # noqa: F811
) -> None:
    reveal = {"fields": ["phone"], "purpose": "call_back"}
    w = matrix.world.ids
    resp = matrix.request(
        "handler_own", "POST", f"/api/v1/privacy/case-contacts/{w['case_b']}/reveal", json=reveal
    )
    assert resp.status_code == 403, resp.text
    resp = matrix.request(
        "handler_other", "POST", f"/api/v1/privacy/case-contacts/{w['case_b']}/reveal", json=reveal
    )
    assert resp.status_code == 200, resp.text
