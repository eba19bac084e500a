"""The real ``ckanapi`` client (PyPI) and its command line against the app served by
uvicorn on 127.0.0.1: what an open-data harvester or a developer would run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.live_server import serve
from tests.opendata.conftest import OpenData
from tests.opendata.helpers import HIDDEN_FIELDS, api_token

ckanapi = pytest.importorskip("ckanapi")


@pytest.fixture
def live_ckan(app: Any, open_data: OpenData, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test's app (its requests read the test's rolled-back transaction, where the open
    datasets were seeded) served on a free port of 127.0.0.1."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with serve(app, name="ckan") as base_url:
        yield base_url


def test_remote_ckan_reads_the_open_catalogue(
    live_ckan: str, open_data: OpenData, db: Session
) -> None:
    for get_only in (False, True):  # POST with JSON (the default) and GET with parameters
        with ckanapi.RemoteCKAN(live_ckan, get_only=get_only) as ckan:
            action = ckan.action
            assert action.package_list() == sorted(open_data.open_codes)

            found = action.package_search(
                q="水库", rows=5, start=0, **{"facet.field": ["organization"]}
            )
            assert found["count"] == 1
            assert found["results"][0]["name"] == "ajx-sl-skxx"
            items = found["search_facets"]["organization"]["items"]
            assert items == [{"name": "330523-sl", "display_name": "安吉县水利局", "count": 1}]

            filtered = action.package_search(fq="tags:企业", rows=10)
            assert [r["name"] for r in filtered["results"]] == ["ajx-scjg-frdw"]
            first = action.package_search(rows=2, start=0, sort="title_string asc")
            second = action.package_search(rows=2, start=2, sort="title_string asc")
            names = [r["name"] for r in first["results"] + second["results"]]
            assert sorted(names) == sorted(open_data.open_codes)

            package = action.package_show(id="ajx-zhzf-gcfb")
            assert package["organization"]["name"] == "330523-zhzf"
            resource_id = package["resources"][0]["id"]
            assert package["resources"][0]["datastore_active"] is True

            assert "330523-sl" in action.organization_list()
            orgs = action.organization_list(all_fields=True)
            assert {o["name"]: o["package_count"] for o in orgs}["330523-scjg"] == 1
            assert action.organization_show(id="330523-sl")["title"] == "安吉县水利局"

            # requests cannot put a dict in a query string: GET clients send JSON text.
            accessible = {"无障碍设施": True}
            rows = action.datastore_search(
                resource_id=resource_id,
                filters=json.dumps(accessible) if get_only else accessible,
                limit=5,
            )
            assert rows["total"] > 0 and len(rows["records"]) <= 5
            assert all(r["无障碍设施"] is True for r in rows["records"])
            assert not {f["id"] for f in rows["fields"]} & set(HIDDEN_FIELDS)

            with pytest.raises(ckanapi.NotFound):
                action.package_show(id="no-such-dataset")
            with pytest.raises(ckanapi.NotFound):
                action.package_show(id=open_data.closed_code)
            with pytest.raises(ckanapi.NotAuthorized):
                action.package_show(id=open_data.conditional_code)
            with pytest.raises(ckanapi.ValidationError) as invalid:
                action.datastore_search(
                    resource_id=resource_id, filters=json.dumps({"保洁责任人": "王伟"})
                )
            assert "filters" in invalid.value.error_dict
            with pytest.raises(ckanapi.ValidationError):
                action.package_show()
            with pytest.raises(ckanapi.SearchQueryError):
                action.package_search(fq="no_such_field:1")
            with pytest.raises(ckanapi.CKANAPIError):
                action.package_create(name="x")  # unknown here: a bare 400 string

    # An API token with a data permission sees the conditionally open dataset (private).
    key = api_token(db, "data_officer")
    with ckanapi.RemoteCKAN(live_ckan, apikey=key) as ckan:
        private = ckan.action.package_search(include_private=True, rows=100)
        names = {r["name"]: r["private"] for r in private["results"]}
        assert names[open_data.conditional_code] is True
        assert open_data.closed_code not in names
        shown = ckan.action.package_show(id=open_data.conditional_code)
        beds = ckan.action.datastore_search(resource_id=shown["resources"][0]["id"])
        assert beds["total"] > 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PYTHONIOENCODING": "utf-8"}
    # The console script installed with the package, beside this interpreter.
    script = Path(sys.executable).with_name("ckanapi")
    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_ckanapi_command_line_searches_and_pages(live_ckan: str, open_data: OpenData) -> None:
    # Without rows, `ckanapi search datasets` pages with start/rows until a page is empty.
    every = _cli("search", "datasets", "-r", live_ckan)
    assert every.returncode == 0, every.stderr
    lines = [json.loads(line) for line in every.stdout.splitlines() if line.strip()]
    assert sorted(p["name"] for p in lines) == sorted(open_data.open_codes)

    words = _cli("search", "datasets", "q=企业", "-r", live_ckan)
    assert words.returncode == 0, words.stderr
    assert [json.loads(x)["name"] for x in words.stdout.splitlines()] == ["ajx-scjg-frdw"]

    by_org = _cli("search", "datasets", "fq=organization:330523-sl", "-r", live_ckan)
    assert [json.loads(x)["name"] for x in by_org.stdout.splitlines()] == ["ajx-sl-skxx"]

    shown = _cli("action", "package_show", "id=ajx-sl-skxx", "-r", live_ckan)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["title"] == "水库基本信息"

    missing = _cli("action", "package_show", "id=nothing", "-r", live_ckan)
    assert missing.returncode != 0
