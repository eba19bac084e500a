"""The real ``georeport`` client (PyPI) against the app served by uvicorn: requests filed
with a plain form POST (the client only reads) are read back through it, in JSON and XML."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.cases.open311 import issue_api_key
from tests.live_server import serve

georeport = pytest.importorskip("georeport")


@pytest.fixture
def live_open311(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test's app (its requests commit into savepoints of the rolled-back test
    transaction, as with TestClient) served on 127.0.0.1; nothing leaks into other tests."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with serve(app, name="open311") as base_url:
        yield f"{base_url}/open311/v2"


def test_georeport_reads_what_was_filed(live_open311: str, db: Session) -> None:
    key, _ = issue_api_key(db, name="县APP", actor=SystemActor("test"))
    db.flush()
    filed = []
    for code, text in (("XC-002", "井盖缺失"), ("XC-003", "路灯不亮"), ("XC-002", "井盖松动")):
        response = requests.post(
            f"{live_open311}/requests.json",
            data={
                "api_key": key,
                "service_code": code,
                "address_string": "安吉县递铺街道胜利西路",
                "lat": "30.6389",
                "long": "119.6812",
                "description": text,
                "phone": "13800138000",
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        filed.append(response.json()[0]["service_request_id"])

    client = georeport.GeoReport(live_open311)
    services = client.get_service_list()
    assert {"XC-002", "XC-003"} <= {s["service_code"] for s in services}
    definition = client.get_service_definition("XC-002")
    assert [a["code"] for a in definition["attributes"]] == ["facility_id", "urgency"]

    listed = client.get_service_requests(service_request_id=",".join(filed))
    assert sorted(r["service_request_id"] for r in listed) == sorted(filed)
    manholes = client.get_service_requests(service_code="XC-002", status="open")
    assert {filed[0], filed[2]} <= {r["service_request_id"] for r in manholes}
    assert filed[1] not in {r["service_request_id"] for r in manholes}
    one = client.get_service_request(filed[1])
    assert one["description"] == "路灯不亮"
    assert one["service_name"] == "路灯不亮"
    assert "13800138000" not in str(listed)

    as_xml = georeport.GeoReport(live_open311, output_format="xml")
    xml_services = as_xml.get_service_list()
    assert len(xml_services) == len(services)
    xml_definition = as_xml.get_service_definition("XC-002")
    assert xml_definition["service_code"] == "XC-002"
    xml_one = as_xml.get_service_request(filed[0])
    assert xml_one["service_request_id"] == filed[0]
    assert xml_one["status"] == "open"
    assert xml_one["description"] == "井盖缺失"
    xml_listed = as_xml.get_service_requests(service_request_id=",".join(filed))
    assert sorted(r["service_request_id"] for r in xml_listed) == sorted(filed)

    with pytest.raises(requests.HTTPError) as refused:
        georeport.GeoReport(live_open311).get_service_request("AJ-19990101-0001")
    assert refused.value.response.status_code == 404
