"""The org JSON API and pages through the test client, with the fixed personas."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gongzhi.org.importing import CANONICAL_HEADER
from gongzhi.org.services import DATA_DIR
from tests.org.fixtures import COUNTY, ENFORCEMENT, HOUSING, ZHANGWU, ZHANGWU_GOV
from tests.security.fixtures import login_as

READ_ROUTES = [
    "/api/v1/org/departments",
    f"/api/v1/org/departments/{ENFORCEMENT}",
    "/api/v1/org/matters",
    "/api/v1/org/matters/XC-002",
    f"/api/v1/org/lead?matter=XC-002&region={ZHANGWU}",
    "/api/v1/org/calendar/add?start=2026-09-30T16:00:00%2B08:00&hours=2",
    "/api/v1/org/calendar/days?start=2026-10-01",
    "/api/v1/org/calendar/overrides",
    "/api/v1/org/responsibilities/export.csv",
]
PAGES = ["/org/departments", "/org/responsibilities", "/org/calendar"]


@pytest.mark.parametrize("path", READ_ROUTES)
def test_api_needs_a_login(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_anonymous_visitors_to_login(client: TestClient, path: str) -> None:
    resp = client.get(path, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", READ_ROUTES)
def test_citizens_may_not_read_the_organisation(client: TestClient, path: str) -> None:
    login_as(client, "citizen")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", READ_ROUTES)
def test_staff_read_everything(client: TestClient, path: str) -> None:
    login_as(client, "dispatcher")
    resp = client.get(path)
    assert resp.status_code == 200, resp.text


def test_department_list_is_scoped_to_the_clerks_township(client: TestClient) -> None:
    login_as(client, "township_clerk")
    codes = {d["code"] for d in client.get("/api/v1/org/departments").json()}
    assert ZHANGWU_GOV in codes and ENFORCEMENT in codes
    assert "330523001-ZF" not in codes
    assert client.get("/api/v1/org/departments/330523001-ZF").status_code == 404
    detail = client.get(f"/api/v1/org/departments/{ZHANGWU_GOV}").json()
    assert detail["name"] == "鄣吴镇人民政府" and detail["level"] == "township"


def test_matter_detail_and_lead_lookup(client: TestClient) -> None:
    login_as(client, "dispatcher")
    matter = client.get("/api/v1/org/matters/XC-002").json()
    assert matter["name"] == "井盖缺失或破损" and "井盖" in matter["keywords"]
    county = next(r for r in matter["responsibilities"] if r["level"] == "county")
    assert county["lead"]["code"] == HOUSING and county["dispatch_hours"] == 0.5

    lead = client.get(f"/api/v1/org/lead?matter=XC-002&region={ZHANGWU}").json()
    assert lead["level"] == "township" and not lead["ambiguous"]
    assert [d["code"] for d in lead["leads"]] == [ZHANGWU_GOV]
    assert lead["handling_days"] == 1

    missing = client.get("/api/v1/org/lead?matter=NOPE&region=330523103000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_lead"
    assert client.get("/api/v1/org/matters/NOPE").status_code == 404
    search = client.get("/api/v1/org/matters", params={"q": "井盖"}).json()
    assert {m["code"] for m in search} >= {"XC-002"}


def test_calendar_add_hours_and_days(client: TestClient) -> None:
    login_as(client, "dispatcher")
    resp = client.get(
        "/api/v1/org/calendar/add", params={"start": "2026-09-30T16:00:00+08:00", "hours": 2}
    ).json()
    assert resp["due"] == "2026-10-08T01:00:00Z"  # 09:00 in Shanghai, after the golden week
    assert resp["official"] and resp["warning"] is None

    # Without a zone the start is local time.
    days = client.get(
        "/api/v1/org/calendar/add", params={"start": "2026-11-06T16:00", "days": 1}
    ).json()
    assert days["due"] == "2026-11-09T09:30:00Z"  # Monday 17:30 in Shanghai

    late = client.get(
        "/api/v1/org/calendar/add", params={"start": "2026-12-30T10:00:00+08:00", "days": 5}
    ).json()
    assert not late["official"] and "no official holiday" in late["warning"]

    both = client.get(
        "/api/v1/org/calendar/add", params={"start": "2026-11-06T16:00", "days": 1, "hours": 1}
    )
    assert both.status_code == 422
    neither = client.get("/api/v1/org/calendar/add", params={"start": "2026-11-06T16:00"})
    assert neither.status_code == 422
    negative = client.get(
        "/api/v1/org/calendar/add", params={"start": "2026-11-06T16:00", "hours": -1}
    )
    assert negative.status_code == 422


def test_calendar_days(client: TestClient) -> None:
    login_as(client, "dispatcher")
    days = client.get(
        "/api/v1/org/calendar/days", params={"start": "2026-09-30", "end": "2026-10-10"}
    ).json()
    by_day = {d["day"]: d for d in days}
    assert by_day["2026-10-01"]["holiday"] == "National Day"
    assert not by_day["2026-10-01"]["is_workday"]
    assert by_day["2026-10-10"]["is_workday"] and by_day["2026-10-10"]["holiday"] is None
    big = client.get(
        "/api/v1/org/calendar/days", params={"start": "2026-01-01", "end": "2028-01-01"}
    )
    assert big.status_code == 422


def test_writes_need_the_manage_permissions(client: TestClient) -> None:
    csrf = login_as(client, "dispatcher")
    headers = {"X-CSRF-Token": csrf}
    body = {
        "code": "330523-NEW",
        "name": "新局",
        "kind": "functional",
        "level": "county",
        "region_code": COUNTY,
    }
    assert client.post("/api/v1/org/departments", json=body, headers=headers).status_code == 403
    put = client.put(
        "/api/v1/org/calendar/overrides/2027-02-08",
        json={"is_workday": False},
        headers=headers,
    )
    assert put.status_code == 403
    upload = client.post(
        "/api/v1/org/responsibilities/import",
        files={"file": ("list.csv", b"x", "text/csv")},
        headers=headers,
    )
    assert upload.status_code == 403


def test_system_admin_manages_departments_and_calendar(client: TestClient) -> None:
    csrf = login_as(client, "system_admin")
    headers = {"X-CSRF-Token": csrf}
    body: dict[str, Any] = {
        "code": "330523-DSJ",
        "name": "安吉县数据局",
        "short_name": "县数据局",
        "kind": "functional",
        "level": "county",
        "region_code": COUNTY,
    }
    created = client.post("/api/v1/org/departments", json=body, headers=headers)
    assert created.status_code == 201, created.text
    again = client.post("/api/v1/org/departments", json=body, headers=headers)
    assert again.status_code == 409
    # Without the CSRF token a cookie session may not write.
    assert client.post("/api/v1/org/departments", json=body).status_code == 403

    patched = client.patch(
        "/api/v1/org/departments/330523-DSJ", json={"name": "安吉县大数据局"}, headers=headers
    )
    assert patched.status_code == 200 and patched.json()["name"] == "安吉县大数据局"
    gone = client.post("/api/v1/org/departments/330523-DSJ/deactivate", headers=headers)
    assert gone.status_code == 200 and gone.json()["active"] is False
    in_use = client.post(f"/api/v1/org/departments/{HOUSING}/deactivate", headers=headers)
    assert in_use.status_code == 409

    outside = {**body, "code": "110101-X", "region_code": "110101000000"}
    assert client.post("/api/v1/org/departments", json=outside, headers=headers).status_code == 403

    put = client.put(
        "/api/v1/org/calendar/overrides/2027-02-08",
        json={"is_workday": False, "note": "春节"},
        headers=headers,
    )
    assert put.status_code == 200
    override_id = put.json()["id"]
    listed = client.get("/api/v1/org/calendar/overrides", params={"year": 2027}).json()
    assert [o["day"] for o in listed] == ["2027-02-08"]
    due = client.get(
        "/api/v1/org/calendar/add", params={"start": "2027-02-05T16:00:00+08:00", "days": 1}
    ).json()
    assert due["due"].startswith("2027-02-09T09:30")
    deleted = client.delete(f"/api/v1/org/calendar/overrides/{override_id}", headers=headers)
    assert deleted.status_code == 204
    assert client.get("/api/v1/org/calendar/overrides", params={"year": 2027}).json() == []


def test_import_through_the_api_reports_rows(client: TestClient) -> None:
    csrf = login_as(client, "system_admin")
    headers = {"X-CSRF-Token": csrf}
    bad = (",".join(CANONICAL_HEADER) + "\n" + "X,,部件" + ",," * 7 + "\n").encode("gbk")
    resp = client.post(
        "/api/v1/org/responsibilities/import",
        files={"file": ("bad.csv", bad, "text/csv")},
        headers=headers,
    )
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "import_rejected"
    assert {"line": 2, "column": "事项名称", "reason": "事项名称为空 / empty matter name"} in error[
        "details"
    ]
    good = (DATA_DIR / "responsibilities.csv").read_bytes()
    ok = client.post(
        "/api/v1/org/responsibilities/import",
        files={"file": ("responsibilities.csv", good, "text/csv")},
        headers=headers,
    )
    assert ok.status_code == 200 and ok.json()["unchanged"] == 71


# -- pages --------------------------------------------------------------------------------


def test_pages_render_for_staff(client: TestClient) -> None:
    login_as(client, "township_clerk")
    departments = client.get("/org/departments")
    assert departments.status_code == 200
    assert "鄣吴镇人民政府" in departments.text and "递铺街道办事处" not in departments.text
    matters = client.get("/org/responsibilities", params={"q": "井盖"})
    assert matters.status_code == 200 and "井盖缺失或破损" in matters.text
    assert "导入新版权责清单" not in matters.text  # clerks cannot import
    calendar = client.get("/org/calendar", params={"year": 2026})
    assert calendar.status_code == 200 and "National Day" in calendar.text
    assert "尚无国务院放假安排" not in calendar.text


def test_calendar_page_warns_for_a_year_without_official_data(client: TestClient) -> None:
    login_as(client, "dispatcher")
    page = client.get(
        "/org/calendar", params={"year": 2027, "start": "2027-03-05T16:00", "hours": 2}
    )
    assert page.status_code == 200
    assert "2027 年尚无国务院放假安排" in page.text
    assert "2027-03-08 09:00" in page.text  # Friday 16:00 + 1.5 h, Monday 08:30 + 0.5 h


def test_admin_uses_the_calendar_and_import_forms(client: TestClient) -> None:
    csrf = login_as(client, "system_admin")
    page = client.get("/org/calendar", params={"year": 2027})
    assert "添加调整" in page.text
    resp = client.post(
        "/org/calendar/overrides",
        data={"day": "2027-10-01", "is_workday": "false", "note": "国庆", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = client.get("/org/calendar", params={"year": 2027})
    assert "2027-10-01" in page.text and "国庆" in page.text

    bad = (",".join(CANONICAL_HEADER) + "\nX,,部件\n").encode()
    resp = client.post(
        "/org/responsibilities/import",
        files={"file": ("bad.csv", bad, "text/csv")},
        data={"csrf_token": csrf},
    )
    assert resp.status_code == 422
    assert "empty matter name" in resp.text or "事项名称为空" in resp.text
    good = (DATA_DIR / "responsibilities.csv").read_bytes()
    resp = client.post(
        "/org/responsibilities/import",
        files={"file": ("responsibilities.csv", good, "text/csv")},
        data={"csrf_token": csrf},
    )
    assert resp.status_code == 200 and "导入完成" in resp.text


def test_staff_list(client: TestClient) -> None:
    assert client.get("/api/v1/org/staff").status_code == 401
    login_as(client, "township_clerk")
    staff = client.get("/api/v1/org/staff").json()
    chen = next(s for s in staff if s["username"] == "zhifa_chen")
    assert chen["department"]["code"] == ENFORCEMENT and chen["title"] == "科员"
    assert client.get("/api/v1/org/staff", params={"department": ZHANGWU_GOV}).json() == []


def test_office_hours_come_from_the_settings(client: TestClient, app: Any) -> None:
    login_as(client, "dispatcher")
    settings = app.state.settings
    original = settings.office_hours
    settings.office_hours = "09:00-12:00,14:00-18:00"  # summer hours
    try:
        resp = client.get(
            "/api/v1/org/calendar/add", params={"start": "2026-07-06T11:00:00+08:00", "hours": 2}
        ).json()
    finally:
        settings.office_hours = original
    assert resp["due"] == "2026-07-06T07:00:00Z"  # 15:00 in Shanghai


def test_export_csv(client: TestClient) -> None:
    login_as(client, "township_clerk")
    resp = client.get("/api/v1/org/responsibilities/export.csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.content.startswith(b"\xef\xbb\xbf")
    lines = resp.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("事项编码,事项名称") and len(lines) == 72
