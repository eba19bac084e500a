"""The DCAT JSON-LD catalogue (parsed by pyld into RDF), the CSV downloads and the
citizens' portal pages."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.opendata.conftest import OpenData
from tests.opendata.helpers import HIDDEN_FIELDS

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _quads(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    jsonld = pytest.importorskip("pyld.jsonld")
    dataset = jsonld.to_rdf(doc)  # the context is inline: nothing is fetched
    out = []
    for triple in dataset["@default"]:
        out.append(
            (triple["subject"]["value"], triple["predicate"]["value"], triple["object"]["value"])
        )
    return out


def test_dcat_catalogue_is_json_ld(client: TestClient, open_data: OpenData) -> None:
    response = client.get("/catalog.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    quads = _quads(response.json())
    types = {(s, o) for s, p, o in quads if p == RDF_TYPE}
    catalogs = [s for s, o in types if o == DCAT + "Catalog"]
    datasets = {s for s, o in types if o == DCAT + "Dataset"}
    assert catalogs == ["http://testserver/catalog.jsonld"]
    assert datasets == {f"http://testserver/opendata/{code}" for code in open_data.open_codes}
    assert {(catalogs[0], DCAT + "dataset", d) for d in datasets} <= set(quads)

    reservoirs = "http://testserver/opendata/ajx-sl-skxx"
    about = {(p, o) for s, p, o in quads if s == reservoirs}
    assert (DCT + "title", "水库基本信息") in about
    assert (
        DCT + "accrualPeriodicity",
        "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
    ) in about
    assert any(p == DCT + "modified" for p, _o in about)
    publisher = next(o for p, o in about if p == DCT + "publisher")
    assert ("http://xmlns.com/foaf/0.1/name", "安吉县水利局") in {
        (p, o) for s, p, o in quads if s == publisher
    }
    distribution = next(o for p, o in about if p == DCAT + "distribution")
    dist = {(p, o) for s, p, o in quads if s == distribution}
    assert (DCAT + "downloadURL", "http://testserver/opendata/ajx-sl-skxx/1.csv") in dist
    assert (DCAT + "mediaType", "http://www.iana.org/assignments/media-types/text/csv") in dist
    text = response.text
    assert open_data.conditional_code not in text and open_data.closed_code not in text


def test_csv_download_has_only_open_fields(client: TestClient, open_data: OpenData) -> None:
    response = client.get("/opendata/ajx-scjg-frdw/1.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "ajx-scjg-frdw-v1.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header == [
        "统一社会信用代码",
        "单位名称",
        "市场主体类型",
        "成立日期",
        "注册资本",
        "登记状态",
        "住所",
        "经营范围",
    ]
    assert not set(header) & set(HIDDEN_FIELDS)
    assert len(body) == 60
    for path in (
        "/opendata/ajx-scjg-frdw/2.csv",  # no such version
        f"/opendata/{open_data.closed_code}/1.csv",
        f"/opendata/{open_data.conditional_code}/1.csv",  # anonymous
    ):
        assert client.get(path).status_code == 404, path


def test_portal_search_and_department_facet(client: TestClient, open_data: OpenData) -> None:
    page = client.get("/opendata")
    assert page.status_code == 200
    for title in ("法人单位基础信息", "水库基本信息", "城乡公共厕所分布"):
        assert title in page.text
    assert "养老机构床位使用情况" not in page.text  # conditional
    assert "测试人员名单" not in page.text  # closed
    assert "/opendata?organization=330523-sl" in page.text

    found = client.get("/opendata", params={"q": "水库"})
    assert "水库基本信息" in found.text and "法人单位基础信息" not in found.text
    by_org = client.get("/opendata", params={"organization": "330523-zhzf"})
    assert "城乡公共厕所分布" in by_org.text and "水库基本信息" not in by_org.text
    # Search syntax typed by a citizen is read as words, never as a field query.
    odd = client.get("/opendata", params={"q": 'organization:"x'})
    assert odd.status_code == 200


def test_dataset_page(client: TestClient, open_data: OpenData) -> None:
    page = client.get("/opendata/ajx-zhzf-gcfb")
    assert page.status_code == 200
    html = page.text
    assert "城乡公共厕所分布" in html and "安吉县综合行政执法局" in html
    assert "每季度" in html  # update cycle
    assert 'id="quality-overall"' in html
    assert 'href="/opendata/ajx-zhzf-gcfb/1.csv"' in html
    assert 'id="preview"' in html
    for hidden in ("保洁责任人", "责任人电话", "巡查日期"):
        assert hidden not in html
    assert "style=" not in html and "<script>" not in html
    assert client.get(f"/opendata/{open_data.closed_code}").status_code == 404
    assert client.get(f"/opendata/{open_data.conditional_code}").status_code == 404
    client.cookies.set("lang", "en")
    english = client.get("/opendata/ajx-zhzf-gcfb")
    assert english.status_code == 200
    assert "Download CSV" in english.text
