"""The regions JSON API through the app, signed out and as the test personas."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.regions.fixtures import ANJI, DIPU, YUHUA, ZHANGWU
from tests.security.fixtures import login_as

WUXING_VILLAGE = "330502001005"  # 浮星桥社区  # 吴兴区: outside the personas' county


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/regions/{ANJI}",
        f"/api/v1/regions/{ANJI}/children",
        f"/api/v1/regions/{ANJI}/ancestors",
        "/api/v1/regions/search?q=安吉",
        "/api/v1/regions/resolve?q=安吉县递铺街道",
    ],
)
def test_reads_need_a_signed_in_user(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


def test_grid_creation_needs_a_signed_in_user(client: TestClient) -> None:
    r = client.post(f"/api/v1/regions/{YUHUA}/grids", json={"name": "第一网格"})
    assert r.status_code == 401


def test_region_reads(client: TestClient) -> None:
    login_as(client, "dispatcher")
    r = client.get(f"/api/v1/regions/{YUHUA}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "玉华村委会" and body["short_name"] == "玉华" and body["level"] == 5
    assert (body["is_urban"], body["urban_rural_derived"]) == (False, True)
    assert [p["code"] for p in body["path"]] == ["330000000000", "330500000000", ANJI, ZHANGWU]

    kids = client.get(f"/api/v1/regions/{ANJI}/children").json()
    assert len(kids) == 15 and kids[0]["code"] == DIPU

    ancestors = client.get(f"/api/v1/regions/{YUHUA}/ancestors").json()
    assert [a["name"] for a in ancestors] == ["浙江省", "湖州市", "安吉县", "鄣吴镇"]

    found = client.get("/api/v1/regions/search", params={"q": "安吉"}).json()
    assert found[0]["code"] == ANJI
    scoped = client.get("/api/v1/regions/search", params={"q": "递铺", "within": ANJI}).json()
    assert scoped[0]["code"] == DIPU
    assert all(f["code"].startswith("330523") for f in scoped)


def test_unknown_region_is_404(client: TestClient) -> None:
    login_as(client, "dispatcher")
    for path in ("/api/v1/regions/330523999000", "/api/v1/regions/xyz/children"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "region_not_found"


def test_citizens_resolve_addresses_but_do_not_browse_regions(client: TestClient) -> None:
    login_as(client, "citizen")
    assert client.get(f"/api/v1/regions/{ANJI}").status_code == 403
    r = client.get("/api/v1/regions/resolve", params={"q": "浙江省安吉县鄣吴镇玉华村12号"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"] == YUHUA and body["level"] == 5
    assert body["names"][-1].startswith("玉华")
    assert 0 < body["confidence"] <= 1
    assert "12号" in body["remainder"]


def test_an_unknown_address_is_a_low_confidence_answer(client: TestClient) -> None:
    login_as(client, "dispatcher")
    r = client.get("/api/v1/regions/resolve", params={"q": "火星基地三号舱"})
    assert r.status_code == 200
    assert r.json()["code"] is None or r.json()["confidence"] < 0.5


def test_data_officer_adds_and_renames_grids_in_their_county(client: TestClient) -> None:
    csrf = login_as(client, "data_officer")
    headers = {"X-CSRF-Token": csrf}
    r = client.post(f"/api/v1/regions/{YUHUA}/grids", json={"name": "第一网格"}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["code"] == YUHUA + "001" and r.json()["level"] == 6
    r = client.post(f"/api/v1/regions/{YUHUA}/grids", json={"name": "第二网格"}, headers=headers)
    assert r.json()["code"] == YUHUA + "002"
    dup = client.post(f"/api/v1/regions/{YUHUA}/grids", json={"name": "第二网格"}, headers=headers)
    assert dup.status_code == 409
    renamed = client.patch(
        f"/api/v1/regions/{YUHUA}001", json={"name": "玉华东片"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "玉华东片"
    assert client.get(f"/api/v1/regions/{YUHUA}/children").json()[0]["name"] == "玉华东片"


def test_grid_management_is_scoped_to_the_callers_region(client: TestClient) -> None:
    csrf = login_as(client, "data_officer")
    headers = {"X-CSRF-Token": csrf}
    outside = client.post(
        f"/api/v1/regions/{WUXING_VILLAGE}/grids", json={"name": "越界网格"}, headers=headers
    )
    assert outside.status_code == 403
    unknown = client.post(
        "/api/v1/regions/330523103299/grids", json={"name": "网格"}, headers=headers
    )
    assert unknown.status_code == 404
    township = client.post(f"/api/v1/regions/{DIPU}/grids", json={"name": "网格"}, headers=headers)
    assert township.status_code == 422
    empty = client.post(f"/api/v1/regions/{YUHUA}/grids", json={"name": ""}, headers=headers)
    assert empty.status_code == 422


@pytest.mark.parametrize("persona", ["dispatcher", "grid_worker"])
def test_roles_without_grid_management_are_refused(client: TestClient, persona: str) -> None:
    csrf = login_as(client, persona)
    r = client.post(
        f"/api/v1/regions/{YUHUA}/grids",
        json={"name": "第一网格"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 403
