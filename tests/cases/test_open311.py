"""Open311 GeoReport v2: discovery, services, definitions, API keys and the error format."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.cases.open311 import (
    Open311ApiKey,
    api_key_for,
    issue_api_key,
    list_api_keys,
    revoke_api_key,
)
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.org.models import Matter

BASE = "/open311/v2"
ACTOR = SystemActor("test")


def xml(response) -> ET.Element:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("text/xml")
    assert "charset=utf-8" in response.headers["content-type"]
    return ET.fromstring(response.content)


def error_of(response) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(code, description) of the single Open311 error in an XML or JSON body."""
    if response.headers["content-type"].startswith("application/json"):
        body = response.json()
        assert isinstance(body, list) and len(body) == 1
        return str(body[0]["code"]), body[0]["description"]
    root = xml(response)
    assert root.tag == "errors"
    errors = root.findall("error")
    assert len(errors) == 1
    return errors[0].findtext("code") or "", errors[0].findtext("description") or ""


def active_matters(db: Session) -> list[Matter]:
    return list(db.scalars(select(Matter).where(Matter.active.is_(True)).order_by(Matter.code)))


# -- discovery and services ------------------------------------------------------------------


def test_discovery_lists_the_endpoint_in_both_formats(client: TestClient) -> None:
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None
    assert endpoint.findtext("url") == "http://testserver/open311/v2"
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in endpoint.findall("formats/format")] == [
        "text/xml",
        "application/json",
    ]
    body = client.get(f"{BASE}/discovery.json").json()
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert body["changeset"].endswith("+08:00")


def test_services_are_the_active_matters(client: TestClient, db: Session) -> None:
    matters = active_matters(db)
    assert matters, "the demo responsibility list is seeded"
    body = client.get(f"{BASE}/services.json").json()
    assert isinstance(body, list)
    assert [s["service_code"] for s in body] == [m.code for m in matters]
    first = body[0]
    assert set(first) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    by_code = {s["service_code"]: s for s in body}
    road = by_code["XC-001"]
    assert road["service_name"] == "道路破损"
    assert road["group"] == "部件"
    assert road["type"] == "realtime"
    assert road["metadata"] is True
    assert "路面坑洼" in road["keywords"].split(",")
    assert by_code["XC-004"]["group"] == "事件"


def test_services_xml_has_one_service_element_per_matter(client: TestClient, db: Session) -> None:
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert len(services) == len(active_matters(db))
    road = next(s for s in services if s.findtext("service_code") == "XC-001")
    assert road.findtext("metadata") == "true"
    assert road.findtext("group") == "部件"


def test_a_deactivated_matter_is_not_a_service(client: TestClient, db: Session) -> None:
    matter = db.scalar(select(Matter).where(Matter.code == "XC-001"))
    assert matter is not None
    matter.active = False
    db.flush()
    codes = [s["service_code"] for s in client.get(f"{BASE}/services.json").json()]
    assert "XC-001" not in codes
    assert client.get(f"{BASE}/services/XC-001.json").status_code == 404


def test_service_definition_per_kind(client: TestClient) -> None:
    component = client.get(f"{BASE}/services/XC-001.json").json()
    assert component["service_code"] == "XC-001"
    codes = [a["code"] for a in component["attributes"]]
    assert codes == ["facility_id", "urgency"]
    urgency = component["attributes"][1]
    assert urgency["datatype"] == "singlevaluelist"
    assert urgency["required"] is False
    assert [v["key"] for v in urgency["values"]] == ["normal", "urgent"]

    root = xml(client.get(f"{BASE}/services/XC-004.xml"))
    assert root.tag == "service_definition"
    attributes = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["occurred_at", "urgency"]
    assert attributes[0].findtext("datatype") == "datetime"
    assert attributes[0].findtext("variable") == "true"
    keys = [v.findtext("key") for v in attributes[1].findall("values/value")]
    assert keys == ["normal", "urgent"]


def test_old_singular_service_path(client: TestClient) -> None:
    old = client.get(f"{BASE}/service/XC-001.json")
    assert old.status_code == 200
    assert old.json() == client.get(f"{BASE}/services/XC-001.json").json()


def test_empty_jurisdiction_counts_as_absent(client: TestClient) -> None:
    assert client.get(f"{BASE}/services.json?jurisdiction_id=").status_code == 200
    assert client.get(f"{BASE}/services.json?jurisdiction_id=330523000000").status_code == 200
    other = client.get(f"{BASE}/services.json?jurisdiction_id=elsewhere.gov")
    assert other.status_code == 404
    assert error_of(other)[0] == "404"


# -- errors ------------------------------------------------------------------------------------


def test_unknown_service_is_404_in_the_requested_format(client: TestClient) -> None:
    as_xml = client.get(f"{BASE}/services/NOPE-1.xml")
    assert as_xml.status_code == 404
    code, description = error_of(as_xml)
    assert code == "404" and "NOPE-1" in description
    as_json = client.get(f"{BASE}/services/NOPE-1.json")
    assert as_json.status_code == 404
    assert error_of(as_json)[0] == "404"


def test_unknown_format_and_unknown_path(client: TestClient) -> None:
    assert client.get(f"{BASE}/services.yaml").status_code == 404
    assert error_of(client.get(f"{BASE}/services.yaml"))[0] == "404"
    missing = client.get(f"{BASE}/nothing-here.json")
    assert missing.status_code == 404
    assert error_of(missing)[0] == "404"
    assert error_of(client.get(f"{BASE}/services/XC-001"))[0] == "404"  # no suffix


def test_post_without_key_is_403(client: TestClient) -> None:
    response = client.post(
        f"{BASE}/requests.xml", data={"service_code": "XC-001", "lat": "30.63", "long": "119.68"}
    )
    assert response.status_code == 403
    assert error_of(response)[0] == "403"


def test_post_with_revoked_key_is_403(client: TestClient, db: Session) -> None:
    key, row = issue_api_key(db, name="测试渠道", actor=ACTOR)
    revoke_api_key(db, row.id, actor=ACTOR)
    db.flush()
    response = client.post(
        f"{BASE}/requests.json",
        data={"api_key": key, "service_code": "XC-001", "lat": "30.63", "long": "119.68"},
    )
    assert response.status_code == 403
    assert error_of(response)[0] == "403"


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({}, "service_code"),
        ({"service_code": "NOPE-1", "lat": "30.6", "long": "119.6"}, "NOPE-1"),
        ({"service_code": "XC-001"}, "location"),
        ({"service_code": "XC-001", "address_id": "12"}, "location"),
        ({"service_code": "XC-001", "lat": "north", "long": "119.6"}, "lat"),
        ({"service_code": "XC-001", "lat": "95", "long": "119.6"}, "lat"),
        ({"service_code": "XC-001", "lat": "30.6"}, "long"),
        (
            {"service_code": "XC-001", "lat": "30.6", "long": "119.6", "description": "x" * 4001},
            "4000",
        ),
        (
            {"service_code": "XC-001", "lat": "30.6", "long": "119.6", "attribute[urgency]": "x"},
            "urgency",
        ),
        (
            {
                "service_code": "XC-004",
                "lat": "30.6",
                "long": "119.6",
                "attribute[occurred_at]": "yesterday",
            },
            "occurred_at",
        ),
        (
            {
                "service_code": "XC-001",
                "lat": "30.6",
                "long": "119.6",
                "media_url": "file:///etc/passwd",
            },
            "media_url",
        ),
    ],
)
def test_post_with_bad_parameters_is_400(
    client: TestClient, db: Session, form: dict[str, str], fragment: str
) -> None:
    key, _ = issue_api_key(db, name="测试渠道", actor=ACTOR)
    db.flush()
    response = client.post(f"{BASE}/requests.xml", data={"api_key": key, **form})
    assert response.status_code == 400, response.text
    code, description = error_of(response)
    assert code == "400"
    assert fragment in description


def test_bad_dates_and_status_on_the_listing_are_400(client: TestClient) -> None:
    for query in (
        "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        "start_date=2026-06-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
        "start_date=last-week",
        "status=pending",
    ):
        response = client.get(f"{BASE}/requests.json?{query}")
        assert response.status_code == 400, query
        assert error_of(response)[0] == "400"


# -- API keys --------------------------------------------------------------------------------


def test_issue_stores_only_the_hash_and_is_audited(db: Session) -> None:
    key, row = issue_api_key(db, name="浙里办", channel="zlb", actor=ACTOR)
    db.flush()
    assert key.startswith("gz311_") and len(key) > 40
    stored = db.get(Open311ApiKey, row.id)
    assert stored is not None
    assert key not in (stored.key_hash, stored.name, stored.channel)
    assert stored.channel == "zlb" and stored.created_by == "system:test"
    assert api_key_for(db, key) is stored
    assert api_key_for(db, key + "x") is None
    assert api_key_for(db, None) is None
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "cases.open311_key.issue", AuditEvent.object_id == str(row.id)
        )
    )
    assert event is not None and event.new == {"name": "浙里办", "channel": "zlb"}
    assert key not in (event.canonical or "")


def test_revoke_is_audited_and_not_repeated(db: Session) -> None:
    key, row = issue_api_key(db, name="县APP", actor=ACTOR)
    db.flush()
    assert row.channel == "县APP"
    revoke_api_key(db, row.id, actor=ACTOR, reason="合作结束")
    db.flush()
    assert api_key_for(db, key) is None
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "cases.open311_key.revoke", AuditEvent.object_id == str(row.id)
        )
    )
    assert event is not None and event.reason == "合作结束"
    with pytest.raises(Conflict):
        revoke_api_key(db, row.id, actor=ACTOR)
    with pytest.raises(NotFound):
        revoke_api_key(db, 987654321, actor=ACTOR)


def test_a_key_needs_a_name(db: Session) -> None:
    with pytest.raises(Invalid):
        issue_api_key(db, name="  ", actor=ACTOR)
    assert list_api_keys(db) == []
