"""Error answers do not echo an ID number or a mobile number the request carried, whether it
came in the path, the query or the body: 404 pages and JSON errors, domain errors that name
what was asked for ("no such case: …", masked), FastAPI's validation errors (whose default
body repeats the input), and Open311's error list."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gongzhi.crypto.identifiers import mask_identifiers, shaped_values
from gongzhi.errors import NotFound
from gongzhi.people.idnumber import check_character
from tests.cases.helpers import no_classifier  # noqa: F401
from tests.privacy.helpers import As, signed_in  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_classifier")

ID_NUMBER = "33052319800101123" + check_character("33052319800101123")
PHONE = "13812341999"
SECRETS = (ID_NUMBER.encode(), PHONE.encode())


def _echoes_nothing(resp: object) -> None:
    content: bytes = resp.content  # type: ignore[attr-defined]
    for secret in SECRETS:
        assert secret not in content, (resp.status_code, content[:300])  # type: ignore[attr-defined]
    assert not shaped_values(content)


def test_masking_a_message() -> None:
    text = f"no such case: {ID_NUMBER}; call {PHONE} or +86 {PHONE}"
    masked = mask_identifiers(text)
    assert ID_NUMBER not in masked and PHONE not in masked
    assert "330523********" + ID_NUMBER[-4:] in masked and "138****1999" in masked
    # Case numbers, hex digests and longer digit runs are left alone.
    for kept in ("GZ-20261129-000123", "a" * 8 + PHONE + "b" * 8, "9" + PHONE):
        assert mask_identifiers(kept) == kept
    assert NotFound(f"未找到 / not found: {ID_NUMBER}").message == mask_identifiers(
        f"未找到 / not found: {ID_NUMBER}"
    )


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_not_found_pages_do_not_echo_the_path_or_query(client: TestClient, accept: str) -> None:
    resp = client.get(
        f"/nothing/here/{ID_NUMBER}?phone={PHONE}&id={ID_NUMBER}", headers={"Accept": accept}
    )
    assert resp.status_code == 404
    _echoes_nothing(resp)


def test_domain_errors_name_what_was_asked_for_masked(
    signed_in: Callable[[str], As],  # noqa: F811
) -> None:
    dispatcher = signed_in("dispatcher")
    for url in (f"/api/v1/cases/{ID_NUMBER}", f"/api/v1/cases/{PHONE}"):
        resp = dispatcher.get(url)
        assert resp.status_code == 404
        _echoes_nothing(resp)
    resp = dispatcher.get(f"/api/v1/cases/{ID_NUMBER}")
    assert "330523********" in resp.json()["error"]["message"]
    # The same through a page: the person lookup with a number nobody registered.
    page = dispatcher.form("/privacy/people", {"id_number": ID_NUMBER})
    assert page.status_code in (200, 404, 422)
    _echoes_nothing(page)


def test_validation_errors_do_not_echo_the_input(
    signed_in: Callable[[str], As],  # noqa: F811
) -> None:
    citizen = signed_in("citizen")
    bad_bodies: list[dict[str, Any]] = [
        # wrong types around a phone number and an ID number
        {"description": 12, "contact_phone": [PHONE], "contact_name": {"id": ID_NUMBER}},
        # too long: the value is in the body, the message must not carry it
        {"description": "井盖" + PHONE * 400, "contact_phone": PHONE * 10},
    ]
    for body in bad_bodies:
        resp = citizen.post("/api/v1/cases", body)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "invalid"
        _echoes_nothing(resp)
    # Malformed JSON that carries the number.
    resp = citizen.client.post(
        "/api/v1/cases",
        content=json.dumps({"contact_phone": PHONE})[:-3].encode(),
        headers={"X-CSRF-Token": citizen.csrf, "Content-Type": "application/json"},
    )
    assert resp.status_code == 422
    _echoes_nothing(resp)
    # A query parameter of the wrong type.
    resp = citizen.get(f"/api/v1/cases?page={PHONE}x&limit={ID_NUMBER}")
    assert resp.status_code in (200, 422)
    _echoes_nothing(resp)


def test_open311_errors_do_not_echo_the_request(client: TestClient) -> None:
    for url in (
        f"/open311/v2/{ID_NUMBER}.json",
        f"/open311/v2/requests/{PHONE}.json",
        f"/open311/v2/requests/{ID_NUMBER}.xml",
    ):
        resp = client.get(url)
        assert resp.status_code == 404, (url, resp.status_code)
        _echoes_nothing(resp)
    resp = client.post("/open311/v2/requests.json", data={"phone": PHONE, "email": "a@b.cn"})
    assert resp.status_code in (400, 403)
    _echoes_nothing(resp)
