"""The CKAN Action API through the test client: envelope, transports, search, facets,
package and organisation reads, the DataStore, errors with CKAN's types and statuses, and
what is never published (closed datasets, internal and personal fields)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.opendata.conftest import OpenData
from tests.opendata.helpers import HIDDEN_FIELDS, api_token

PREFIXES = ("/api/action", "/api/3/action")


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["help"].endswith("/api/3/action/help_show?name=" + response.url.path.split("/")[-1])
    return body["result"]


def failed(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["__type"] == type_
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize("prefix", PREFIXES)
def test_package_list_on_both_paths_get_and_post(
    client: TestClient, open_data: OpenData, prefix: str
) -> None:
    by_get = ok(client.get(f"{prefix}/package_list"))
    by_post = ok(client.post(f"{prefix}/package_list", json={}))
    assert by_get == by_post == sorted(open_data.open_codes)
    assert open_data.closed_code not in by_get
    assert open_data.conditional_code not in by_get
    assert (
        ok(client.get(f"{prefix}/package_list", params={"limit": "2", "offset": "1"}))
        == (sorted(open_data.open_codes)[1:3])
    )


def test_unknown_action_is_a_plain_string_400(client: TestClient) -> None:
    response = client.get("/api/3/action/package_create")
    assert response.status_code == 400
    assert response.json() == "Bad request - Action name not known: package_create"
    bad_json = client.post(
        "/api/action/package_list",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert isinstance(bad_json.json(), str) and bad_json.json().startswith("Bad request")


def test_package_search_words_filters_and_paging(client: TestClient, open_data: OpenData) -> None:
    everything = ok(client.get("/api/action/package_search"))
    assert everything["count"] == len(open_data.open_codes)
    assert len(everything["results"]) == len(open_data.open_codes)

    reservoirs = ok(client.get("/api/action/package_search", params={"q": "水库"}))
    assert [r["name"] for r in reservoirs["results"]] == ["ajx-sl-skxx"]
    # A word of the organisation's title and one of a tag, both required.
    both = ok(client.post("/api/action/package_search", json={"q": "市场监督 企业"}))
    assert [r["name"] for r in both["results"]] == ["ajx-scjg-frdw"]
    assert ok(client.get("/api/action/package_search", params={"q": "水库 企业"}))["count"] == 0

    by_org = ok(client.get("/api/action/package_search", params={"fq": "organization:330523-sl"}))
    assert [r["name"] for r in by_org["results"]] == ["ajx-sl-skxx"]
    by_tag = ok(client.get("/api/action/package_search", params={"fq": 'tags:"公共设施"'}))
    assert [r["name"] for r in by_tag["results"]] == ["ajx-zhzf-gcfb"]
    csv_only = ok(client.get("/api/action/package_search", params={"fq": "res_format:CSV"}))
    assert csv_only["count"] == len(open_data.open_codes)
    licensed = ok(client.get("/api/action/package_search", params={"fq": "license_id:cc-by-4.0"}))
    assert licensed["count"] == len(open_data.open_codes)
    assert (
        ok(client.get("/api/action/package_search", params={"fq": "license_id:odbl"}))["count"] == 0
    )
    not_sl = ok(
        client.get(
            "/api/action/package_search", params={"fq": "+res_format:CSV -organization:330523-sl"}
        )
    )
    assert "ajx-sl-skxx" not in [r["name"] for r in not_sl["results"]]
    in_q = ok(client.get("/api/action/package_search", params={"q": "organization:330523-zhzf"}))
    assert [r["name"] for r in in_q["results"]] == ["ajx-zhzf-gcfb"]

    titles = ok(
        client.get("/api/action/package_search", params={"sort": "title_string asc", "rows": "2"})
    )
    all_titles = sorted(
        r["title"]
        for r in ok(client.get("/api/action/package_search", params={"rows": 100}))["results"]
    )
    assert [r["title"] for r in titles["results"]] == all_titles[:2]
    assert titles["count"] == len(open_data.open_codes)
    second = ok(
        client.get(
            "/api/action/package_search",
            params={"sort": "title_string asc", "rows": "2", "start": "2"},
        )
    )
    assert [r["title"] for r in second["results"]] == all_titles[2:4]
    past = ok(client.get("/api/action/package_search", params={"start": 50}))
    assert past["results"] == [] and past["count"] == len(open_data.open_codes)


def test_package_search_facets(client: TestClient, open_data: OpenData) -> None:
    result = ok(
        client.get(
            "/api/action/package_search",
            params={"facet.field": json.dumps(["organization", "tags", "res_format"])},
        )
    )
    orgs = result["search_facets"]["organization"]
    assert orgs["title"]
    items = {i["name"]: i for i in orgs["items"]}
    assert items["330523-sl"]["display_name"] == "安吉县水利局"
    assert items["330523-sl"]["count"] == 1
    assert result["facets"]["organization"]["330523-mz"] == 1  # the open person list
    tags = {i["name"]: i["count"] for i in result["search_facets"]["tags"]["items"]}
    assert tags["水库"] == 1 and tags["企业"] == 1
    assert result["facets"]["res_format"] == {"CSV": len(open_data.open_codes)}
    # Facets count what the query found; POST with a real list works the same.
    narrowed = ok(
        client.post(
            "/api/action/package_search", json={"q": "水库", "facet.field": ["organization"]}
        )
    )
    assert narrowed["facets"] == {"organization": {"330523-sl": 1}}


def test_search_parameters_are_validated(client: TestClient, open_data: OpenData) -> None:
    error = failed(
        client.get("/api/action/package_search", params={"rows": "many"}), 409, "Validation Error"
    )
    assert error["rows"] == ["Invalid integer"]
    error = failed(
        client.get("/api/action/package_search", params={"start": "-1"}), 409, "Validation Error"
    )
    assert "start" in error
    clamped = ok(client.get("/api/action/package_search", params={"rows": "5000"}))
    assert clamped["count"] == len(open_data.open_codes)
    failed(
        client.get("/api/action/package_search", params={"fq": "secret_field:x"}),
        400,
        "Search Query Error",
    )
    failed(
        client.get("/api/action/package_search", params={"sort": "password desc"}),
        400,
        "Search Query Error",
    )
    failed(
        client.get("/api/action/package_search", params={"facet.field": "[oops"}),
        409,
        "Validation Error",
    )


def test_package_show(client: TestClient, open_data: OpenData) -> None:
    package = ok(client.get("/api/3/action/package_show", params={"id": "ajx-scjg-frdw"}))
    assert package["title"] == "法人单位基础信息"
    assert package["private"] is False
    assert package["organization"]["name"] == "330523-scjg"
    assert package["organization"]["title"] == "安吉县市场监督管理局"
    assert {t["name"] for t in package["tags"]} >= {"企业", "市场主体"}
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["provider_department_code"] == "330523-SCJG"
    assert extras["update_cycle"] == "monthly"
    assert extras["sharing_type"] == "unconditional"
    assert 0 < float(extras["quality_overall"]) <= 1
    [resource] = package["resources"]
    assert resource["format"] == "CSV"
    assert resource["datastore_active"] is True
    assert resource["url"].endswith("/opendata/ajx-scjg-frdw/1.csv")
    # By id and by the catalogue code in another case, by GET and by POST.
    assert ok(client.post("/api/action/package_show", json={"id": package["id"]}))["name"] == (
        "ajx-scjg-frdw"
    )
    assert (
        ok(client.get("/api/action/package_show", params={"id": "AJX-SCJG-FRDW"}))["id"]
        == (package["id"])
    )
    assert (
        ok(client.get("/api/action/resource_show", params={"id": resource["id"]}))["url"]
        == (resource["url"])
    )


def test_package_show_errors(client: TestClient, open_data: OpenData) -> None:
    error = failed(client.get("/api/action/package_show"), 409, "Validation Error")
    assert error["id"] == ["Missing value"]
    error = failed(
        client.get("/api/action/package_show", params={"id": "nothing-here"}),
        404,
        "Not Found Error",
    )
    assert error["message"].startswith("Not found")
    # A closed dataset does not exist for the API; a conditional one is refused.
    failed(
        client.get("/api/action/package_show", params={"id": open_data.closed_code}),
        404,
        "Not Found Error",
    )
    error = failed(
        client.get("/api/action/package_show", params={"id": open_data.conditional_code}),
        403,
        "Authorization Error",
    )
    assert error["message"].startswith("Access denied")


def test_conditional_datasets_need_a_token_with_a_data_permission(
    client: TestClient, db: Session, open_data: OpenData
) -> None:
    officer = api_token(db, "data_officer")
    citizen = api_token(db, "citizen")
    params = {"include_private": "true", "rows": 100}

    anonymous = ok(client.get("/api/action/package_search", params=params))
    assert open_data.conditional_code not in [r["name"] for r in anonymous["results"]]
    as_citizen = ok(
        client.get("/api/action/package_search", params=params, headers={"Authorization": citizen})
    )
    assert open_data.conditional_code not in [r["name"] for r in as_citizen["results"]]
    not_a_token = ok(
        client.get(
            "/api/action/package_search", params=params, headers={"Authorization": "junk-key"}
        )
    )
    assert not_a_token["count"] == anonymous["count"]

    for headers in ({"Authorization": officer}, {"X-CKAN-API-Key": officer}):
        found = ok(client.get("/api/action/package_search", params=params, headers=headers))
        names = [r["name"] for r in found["results"]]
        assert open_data.conditional_code in names
        assert open_data.closed_code not in names
        private = next(r for r in found["results"] if r["name"] == open_data.conditional_code)
        assert private["private"] is True
    # Without include_private the search stays public, as in CKAN.
    public_only = ok(client.get("/api/action/package_search", headers={"Authorization": officer}))
    assert open_data.conditional_code not in [r["name"] for r in public_only["results"]]

    shown = ok(
        client.get(
            "/api/action/package_show",
            params={"id": open_data.conditional_code},
            headers={"Authorization": f"Bearer {officer}"},
        )
    )
    rows = ok(
        client.get(
            "/api/action/datastore_search",
            params={"resource_id": shown["resources"][0]["id"]},
            headers={"Authorization": officer},
        )
    )
    assert rows["total"] > 0
    failed(
        client.get(
            "/api/action/datastore_search", params={"resource_id": shown["resources"][0]["id"]}
        ),
        403,
        "Authorization Error",
    )
    failed(
        client.get(
            "/api/action/package_show",
            params={"id": open_data.closed_code},
            headers={"Authorization": officer},
        ),
        404,
        "Not Found Error",
    )


def test_organizations(client: TestClient, open_data: OpenData) -> None:
    names = ok(client.get("/api/action/organization_list"))
    assert set(names) == {"330523-scjg", "330523-zhzf", "330523-sl", "330523-mz"}
    full = ok(client.get("/api/action/organization_list", params={"all_fields": "true"}))
    by_name = {o["name"]: o for o in full}
    assert by_name["330523-sl"]["title"] == "安吉县水利局"
    assert by_name["330523-sl"]["package_count"] == 1
    assert by_name["330523-mz"]["package_count"] == 1  # the conditional one is not counted
    paged = ok(
        client.post(
            "/api/action/organization_list", json={"sort": "name asc", "limit": 2, "offset": 1}
        )
    )
    assert paged == sorted(names)[1:3]

    shown = ok(
        client.get(
            "/api/3/action/organization_show",
            params={"id": "330523-zhzf", "include_datasets": "true"},
        )
    )
    assert shown["title"] == "安吉县综合行政执法局"
    assert [p["name"] for p in shown["packages"]] == ["ajx-zhzf-gcfb"]
    assert ok(client.get("/api/action/organization_show", params={"id": shown["id"]}))["name"] == (
        "330523-zhzf"
    )
    failed(
        client.get("/api/action/organization_show", params={"id": "330523-ga"}),
        404,
        "Not Found Error",
    )
    assert failed(client.get("/api/action/organization_show"), 409, "Validation Error")["id"]


def _resource(client: TestClient, name: str) -> str:
    package = ok(client.get("/api/action/package_show", params={"id": name}))
    resource_id: str = package["resources"][0]["id"]
    return resource_id


def test_datastore_search(client: TestClient, open_data: OpenData) -> None:
    resource = _resource(client, "ajx-scjg-frdw")
    first = ok(client.get("/api/action/datastore_search", params={"resource_id": resource}))
    assert first["total"] == 60
    assert first["limit"] == 100 and first["offset"] == 0
    assert len(first["records"]) == 60
    assert first["_links"]["next"].endswith("offset=100")
    ids = [f["id"] for f in first["fields"]]
    assert ids[0] == "_id"
    assert "统一社会信用代码" in ids and "住所" in ids and "注册资本" in ids
    for hidden in HIDDEN_FIELDS:
        assert hidden not in ids
        assert all(hidden not in r for r in first["records"])
    types = {f["id"]: f["type"] for f in first["fields"]}
    assert types["注册资本"] == "numeric" and types["成立日期"] == "date"

    # Filters arrive as a JSON string (GET) or an object (POST), numbers as strings.
    status = "注销"
    expected = [r for r in first["records"] if r["登记状态"] == status]
    by_get = ok(
        client.get(
            "/api/action/datastore_search",
            params={"resource_id": resource, "filters": json.dumps({"登记状态": status})},
        )
    )
    assert by_get["total"] == len(expected) > 0
    assert {r["登记状态"] for r in by_get["records"]} == {status}
    capital = expected[0]["注册资本"]
    by_post = ok(
        client.post(
            "/api/3/action/datastore_search",
            json={
                "resource_id": resource,
                "filters": {"登记状态": status, "注册资本": str(capital)},
                "fields": "单位名称,注册资本",
                "sort": "单位名称 desc",
                "limit": "2",
            },
        )
    )
    assert by_post["total"] == sum(1 for r in expected if r["注册资本"] == capital)
    assert [f["id"] for f in by_post["fields"]] == ["单位名称", "注册资本"]
    names = [r["单位名称"] for r in by_post["records"]]
    assert names == sorted(names, reverse=True)
    assert all(set(r) == {"单位名称", "注册资本"} for r in by_post["records"])

    several = ok(
        client.post(
            "/api/action/datastore_search",
            json={"resource_id": resource, "filters": {"登记状态": ["注销", "在业"]}},
        )
    )
    assert several["total"] == sum(1 for r in first["records"] if r["登记状态"] in ("注销", "在业"))

    word = first["records"][0]["单位名称"][-4:]
    matching = ok(
        client.get("/api/action/datastore_search", params={"resource_id": resource, "q": word})
    )
    assert matching["total"] == sum(
        1
        for r in first["records"]
        if word in r["单位名称"] or word in (r["经营范围"] or "") or word in r["住所"]
    )

    page = ok(
        client.get(
            "/api/action/datastore_search",
            params={"resource_id": resource, "limit": 7, "offset": 56, "sort": "_id"},
        )
    )
    assert page["total"] == 60 and len(page["records"]) == 4
    assert [r["_id"] for r in page["records"]] == [r["_id"] for r in first["records"][56:]]


def test_datastore_typed_filters(client: TestClient, open_data: OpenData) -> None:
    resource = _resource(client, "ajx-zhzf-gcfb")
    every = ok(
        client.get("/api/action/datastore_search", params={"resource_id": resource, "limit": 500})
    )
    accessible = ok(
        client.get(
            "/api/action/datastore_search",
            params={"resource_id": resource, "filters": '{"无障碍设施": "true"}'},
        )
    )
    assert accessible["total"] == sum(1 for r in every["records"] if r["无障碍设施"] is True) > 0
    ids = [f["id"] for f in every["fields"]]
    assert "保洁责任人" not in ids and "责任人电话" not in ids and "巡查日期" not in ids
    reservoir = _resource(client, "ajx-sl-skxx")
    rows = ok(
        client.get("/api/action/datastore_search", params={"resource_id": reservoir, "limit": 500})
    )
    year = rows["records"][0]["建成年份"]
    same_year = ok(
        client.get(
            "/api/action/datastore_search",
            params={"resource_id": reservoir, "filters": json.dumps({"建成年份": str(year)})},
        )
    )
    assert same_year["total"] == sum(1 for r in rows["records"] if r["建成年份"] == year)
    by_size = ok(
        client.get(
            "/api/action/datastore_search",
            params={"resource_id": reservoir, "sort": "总库容 desc", "limit": 3},
        )
    )
    volumes = [r["总库容"] for r in by_size["records"]]
    assert volumes == sorted((r["总库容"] for r in rows["records"]), reverse=True)[:3]


def test_datastore_errors(client: TestClient, open_data: OpenData) -> None:
    resource = _resource(client, "ajx-scjg-frdw")
    assert failed(client.get("/api/action/datastore_search"), 409, "Validation Error")[
        "resource_id"
    ] == ["Missing value"]
    failed(
        client.get("/api/action/datastore_search", params={"resource_id": "no-such-resource"}),
        404,
        "Not Found Error",
    )
    # Asking for a hidden column is the same as asking for one that does not exist.
    for params in (
        {"filters": json.dumps({"法定代表人": "王伟"})},
        {"fields": "法定代表人"},
        {"sort": "行政区划代码 asc"},
        {"filters": "[1, 2]"},
        {"filters": json.dumps({"注册资本": "lots"})},
        {"limit": "-5"},
    ):
        error = failed(
            client.get("/api/action/datastore_search", params={"resource_id": resource, **params}),
            409,
            "Validation Error",
        )
        assert set(error) - {"__type"}
    # A closed dataset's rows are not reachable by its code either.
    failed(
        client.get("/api/action/datastore_search", params={"resource_id": open_data.closed_code}),
        404,
        "Not Found Error",
    )


def test_open_dataset_without_public_fields_publishes_no_columns(
    client: TestClient, open_data: OpenData
) -> None:
    resource = _resource(client, open_data.no_public_fields_code)
    rows = ok(client.get("/api/action/datastore_search", params={"resource_id": resource}))
    assert [f["id"] for f in rows["fields"]] == ["_id"]
    assert all(set(r) == {"_id"} for r in rows["records"])
    csv_text = client.get(f"/opendata/{open_data.no_public_fields_code}/1.csv").text
    assert csv_text.strip("\ufeff\r\n") == ""


def test_status_and_probes(client: TestClient) -> None:
    status = ok(client.get("/api/3/action/status_show"))
    assert status["ckan_version"].startswith("2.")
    assert "datastore" in status["extensions"]
    assert ok(client.get("/api/action/site_read")) is True
    assert "cc-by-4.0" in [x["id"] for x in ok(client.get("/api/action/license_list"))]
    assert ok(client.get("/api/action/help_show", params={"name": "package_list"}))
