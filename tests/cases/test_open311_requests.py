"""Open311 requests: filing with an API key, reading back in XML and JSON, filters, tokens,
and what the public feed never shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.cases.models import Case, CaseStatus, Channel, Outcome
from gongzhi.cases.open311 import issue_api_key
from gongzhi.cases.queries import case_by_number
from gongzhi.cases.services import close_case
from gongzhi.db import utcnow

BASE = "/open311/v2"
ACTOR = SystemActor("test")
PHONE = "13800138000"
EMAIL = "li.si@example.cn"
STREET_ADDRESS = "安吉县递铺街道胜利西路18号"


@pytest.fixture
def key(db: Session) -> str:
    plaintext, _ = issue_api_key(db, name="浙里办", channel="zlb", actor=ACTOR)
    db.flush()
    return plaintext


def post(client: TestClient, key: str | None, fmt: str = "json", **form: Any) -> Any:
    data = {"service_code": "XC-002", "address_string": STREET_ADDRESS, **form}
    if key is not None:
        data["api_key"] = key
    return client.post(f"{BASE}/requests.{fmt}", data=data)


def file_one(client: TestClient, key: str, **form: Any) -> str:
    response = post(client, key, **form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    return str(body[0]["service_request_id"])


def test_post_creates_an_open311_case_with_everything_mapped(
    client: TestClient, db: Session, key: str
) -> None:
    response = post(
        client,
        key,
        fmt="xml",
        lat="30.638912",
        long="119.681234",
        description="井盖缺失，晚上很危险",
        **{"attribute[urgency]": "urgent", "attribute[facility_id]": "JG-0042"},
        first_name="四",
        last_name="李",
        phone=PHONE,
        email=EMAIL,
        media_url="https://img.example.cn/a.jpg",
        device_id="dev-1",
        jurisdiction_id="",
    )
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None
    number = request.findtext("service_request_id")
    assert number
    assert number in (request.findtext("service_notice") or "")
    assert request.find("account_id") is not None

    case = case_by_number(db, number)
    assert case is not None
    assert case.channel == Channel.OPEN311
    assert case.matter_code == "XC-002"
    assert case.description == "井盖缺失，晚上很危险"
    assert case.address_text == STREET_ADDRESS
    assert (case.lat, case.lon) == (30.638912, 119.681234)
    assert case.media_urls == ["https://img.example.cn/a.jpg"]
    assert case.attributes["urgency"] == "urgent"
    assert case.attributes["facility_id"] == "JG-0042"
    assert case.attributes["open311_device_id"] == "dev-1"
    assert isinstance(case.attributes["open311_key_id"], int)
    assert case.contact is not None
    assert (case.contact.name, case.contact.phone, case.contact.email) == ("李四", PHONE, EMAIL)
    assert case.events[0].actor_label == "system:open311:zlb"


def test_api_key_in_the_query_string(client: TestClient, key: str) -> None:
    response = client.post(
        f"{BASE}/requests.json?api_key={key}",
        data={"service_code": "XC-002", "lat": "30.63", "long": "119.68"},
    )
    assert response.status_code == 200, response.text
    assert response.json()[0]["service_request_id"]


def test_without_description_the_service_name_describes_it(
    client: TestClient, db: Session, key: str
) -> None:
    number = file_one(client, key)
    case = case_by_number(db, number)
    assert case is not None and case.description == "井盖缺失或破损"


def test_read_back_shows_no_personal_data(client: TestClient, db: Session, key: str) -> None:
    number = file_one(
        client,
        key,
        lat="30.638912",
        long="119.681234",
        description="井盖缺失",
        first_name="四",
        last_name="李",
        phone=PHONE,
        email=EMAIL,
    )
    case = case_by_number(db, number)
    assert case is not None
    response = client.get(f"{BASE}/requests/{number}.json")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    item = body[0]
    for text in (PHONE, EMAIL, "李四", "胜利西路", "18号"):
        assert text not in response.text
    assert item["service_request_id"] == number
    assert item["status"] == "open"
    assert item["service_code"] == "XC-002"
    assert item["service_name"] == "井盖缺失或破损"
    assert item["description"] == "井盖缺失"
    assert (item["lat"], item["long"]) == (30.639, 119.681)
    assert item["requested_datetime"].endswith("+08:00")
    assert item["updated_datetime"].endswith("+08:00")
    if case.region_code:
        assert item["address"].startswith("浙江省湖州市安吉县")
    if case.lead_department_id is not None:
        assert item["agency_responsible"]
        assert case.status == CaseStatus.DISPATCHED
    assert item["expected_datetime"] and item["expected_datetime"].endswith("+08:00")
    assert set(item) >= {
        "status_notes",
        "service_notice",
        "address_id",
        "zipcode",
        "media_url",
    }


def test_address_is_cut_to_the_street(client: TestClient, db: Session, key: str) -> None:
    number = file_one(client, key)
    case = case_by_number(db, number)
    assert case is not None
    case.region_code = "330523001001"  # a community under 递铺街道
    db.flush()
    item = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert item["address"] == "浙江省湖州市安吉县递铺街道"


def test_single_request_in_xml(client: TestClient, key: str) -> None:
    number = file_one(client, key, lat="30.63", long="119.68")
    response = client.get(f"{BASE}/requests/{number}.xml")
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    requests = root.findall("request")
    assert len(requests) == 1
    assert requests[0].findtext("service_request_id") == number
    assert requests[0].findtext("status") == "open"
    assert requests[0].findtext("lat") == "30.63"
    assert requests[0].findtext("long") == "119.68"


def test_unknown_request_and_token_are_404(client: TestClient) -> None:
    for path in ("requests/AJ-19990101-0001.xml", "tokens/nope.json"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404, path


def test_token_answers_the_request_id(client: TestClient, key: str) -> None:
    number = file_one(client, key)
    body = client.get(f"{BASE}/tokens/{number}.json").json()
    assert body == [{"service_request_id": number, "token": number}]
    root = ET.fromstring(client.get(f"{BASE}/tokens/{number}.xml").content)
    assert root.findtext("request/service_request_id") == number


def test_listing_filters(client: TestClient, db: Session, key: str) -> None:
    manhole = file_one(client, key)
    lamp = file_one(client, key, service_code="XC-003")
    third = file_one(client, key)

    def numbers(query: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json?{query}")
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert set(numbers("")) >= {manhole, lamp, third}
    assert set(numbers(f"service_request_id={manhole},{lamp}")) == {manhole, lamp}
    # service_request_id overrides the other filters
    assert numbers(f"service_request_id={lamp}&service_code=XC-002&status=closed") == [lamp]
    by_code = numbers("service_code=XC-003")
    assert lamp in by_code and manhole not in by_code
    assert manhole in numbers("service_code=XC-003,XC-002")

    case = case_by_number(db, manhole)
    assert case is not None
    close_case(db, case, outcome=Outcome.NOT_OURS, note="属于供电公司管辖", actor=ACTOR)
    db.flush()
    assert manhole in numbers("status=closed")
    assert manhole not in numbers("status=open")
    assert lamp in numbers("status=open") and lamp not in numbers("status=closed")
    assert {manhole, lamp} <= set(numbers("status=open,closed"))

    closed = client.get(f"{BASE}/requests/{manhole}.json").json()[0]
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "属于供电公司管辖"

    now = utcnow()
    start = (now - timedelta(days=1)).isoformat()
    end = (now + timedelta(minutes=5)).isoformat()
    in_range = numbers(f"start_date={start.replace('+', '%2B')}&end_date={end.replace('+', '%2B')}")
    assert {manhole, lamp, third} <= set(in_range)
    # a '+' sent unencoded arrives as a space; still understood
    assert manhole in numbers(f"start_date={start}&end_date={end}")
    old = numbers("start_date=2020-01-01T00:00:00%2B08:00&end_date=2020-02-01T00:00:00%2B08:00")
    assert manhole not in old
    only_start = numbers(f"start_date={(now - timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    assert manhole in only_start


def test_closed_without_a_note_shows_the_outcome_honestly(
    client: TestClient, db: Session, key: str
) -> None:
    number = file_one(client, key)
    case = case_by_number(db, number)
    assert case is not None
    case.status = CaseStatus.CLOSED.value
    case.outcome = Outcome.NOT_OURS.value
    db.flush()
    item = client.get(f"{BASE}/requests/{number}.json").json()[0]
    assert item["status"] == "closed"
    assert "not within our responsibility" in item["status_notes"]
    assert "resolved" not in item["status_notes"]


def test_cases_from_other_channels_are_listed_too(client: TestClient, db: Session) -> None:
    from gongzhi.cases.services import submit_case

    case: Case = submit_case(
        db,
        channel=Channel.WEB,
        description="路灯不亮",
        actor=ACTOR,
        contact_phone=PHONE,
        address_text="安吉县递铺街道",
    )
    db.flush()
    item = client.get(f"{BASE}/requests/{case.number}.json").json()[0]
    assert item["description"] == "路灯不亮"
    assert PHONE not in str(item)


def test_submit_refusal_becomes_a_400_and_nothing_is_kept(
    client: TestClient, db: Session, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gongzhi.cases import open311
    from gongzhi.errors import Invalid

    def refuse(db: Session, **kwargs: Any) -> Case:
        raise Invalid("图片太多 / too many photos", code="too_many_media")

    monkeypatch.setattr(open311, "submit_case", refuse)
    before = db.query(Case).count()
    response = post(client, key, fmt="json", lat="30.63", long="119.68")
    assert response.status_code == 400
    assert response.json() == [{"code": 400, "description": "图片太多 / too many photos"}]
    assert db.query(Case).count() == before


def test_expected_datetime_is_the_handling_deadline(
    client: TestClient, db: Session, key: str
) -> None:
    from zoneinfo import ZoneInfo

    from gongzhi.cases.models import CaseClock, ClockKind
    from gongzhi.cases.queries import due_at

    waiting, signed = file_one(client, key), file_one(client, key)
    signed_case = case_by_number(db, signed)
    assert signed_case is not None
    handle_due = utcnow().replace(microsecond=0) + timedelta(days=3)
    db.add(
        CaseClock(
            case_id=signed_case.id,
            kind=ClockKind.HANDLE.value,
            started_at=utcnow(),
            due_at=handle_due,
            paused_seconds=0,
            escalation_level=0,
            breached=False,
        )
    )
    db.flush()
    listed = {
        r["service_request_id"]: r
        for r in client.get(f"{BASE}/requests.json?service_request_id={waiting},{signed}").json()
    }
    for number in (waiting, signed):
        case = case_by_number(db, number)
        assert case is not None
        due = due_at(db, case)
        assert due is not None
        expected = due.astimezone(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds")
        assert listed[number]["expected_datetime"] == expected
    assert listed[signed]["expected_datetime"] == handle_due.astimezone(
        ZoneInfo("Asia/Shanghai")
    ).isoformat(timespec="seconds")
