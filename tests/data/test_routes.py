"""The data hub's pages and JSON API through the client, as the personas."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.data import runs
from gongzhi.data.models import Dataset, DatasetVersion
from tests.data.helpers import CIVIL_AFFAIRS, csv_bytes, make_dataset, person_row
from tests.security.fixtures import csrf_from, login_as


@pytest.fixture(autouse=True)
def imports_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    # The app under test shares the test's connection: run uploads inside the request.
    monkeypatch.setattr(runs, "RUN_INLINE", True)


def _upload(
    client: TestClient, code: str, data: bytes, name: str = "persons.csv", **extra: str
) -> Any:
    page = client.get(f"/data/datasets/{code}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/data/datasets/{code}/imports",
        data={"csrf_token": csrf_from(page.text), **extra},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
    )


def test_data_officer_uploads_and_reads_the_quality_report(client: TestClient, db: Session) -> None:
    make_dataset(db, code="route-persons", max_rejected_ratio=0.5)
    db.commit()
    login_as(client, "data_officer")
    assert "数据目录" in client.get("/staff").text
    catalogue = client.get("/data")
    assert catalogue.status_code == 200 and "route-persons" in catalogue.text
    rows = [person_row(i) for i in range(1, 9)]
    rows[1]["性别"] = "不详"
    resp = _upload(client, "route-persons", csv_bytes(rows, encoding="gbk"), as_of="2026-11-20")
    assert resp.status_code == 303, resp.text
    job_url = resp.headers["location"]
    page = client.get(job_url)
    assert page.status_code == 200
    assert "已生成版本 v1" in page.text and "规范性" in page.text
    assert 'data-dimension="overall"' in page.text
    issues = client.get(job_url + "/issues.csv")
    assert issues.status_code == 200 and issues.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(issues.text.lstrip("\ufeff"))))
    assert lines[1][:4] == ["3", "拒收 rejected", "性别", "constraint-error"]
    version = client.get("/data/datasets/route-persons/versions/1")
    assert version.status_code == 200 and "gb18030" in version.text
    api = client.get("/api/v1/data/datasets/route-persons/versions/1").json()
    assert (api["row_count"], api["rows_rejected"]) == (7, 1)
    assert api["quality"]["dataset"]["conformity"] < 1


def test_a_refused_file_shows_its_report_and_keeps_the_old_version(
    client: TestClient, db: Session
) -> None:
    make_dataset(db, code="route-refused")
    db.commit()
    login_as(client, "data_officer")
    assert _upload(client, "route-refused", csv_bytes([person_row(1)])).status_code == 303
    bad = csv_bytes([person_row(2)], header=["身份证号", "姓名"])
    resp = _upload(client, "route-refused", bad)
    page = client.get(resp.headers["location"])
    assert "没有生成新版本" in page.text and "缺少列" in page.text
    job = client.get("/api/v1/data/imports/" + resp.headers["location"].rsplit("/", 1)[1]).json()
    assert job["status"] == "failed" and job["error_code"] == "header_rejected"
    versions = client.get("/api/v1/data/datasets/route-refused/versions").json()
    assert [v["number"] for v in versions] == [1]


def test_progress_partial_polls_until_done(client: TestClient, db: Session) -> None:
    make_dataset(db, code="route-progress")
    db.commit()
    login_as(client, "data_officer")
    resp = _upload(client, "route-progress", csv_bytes([person_row(1)]))
    partial = client.get(resp.headers["location"] + "/progress", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert partial.headers.get("HX-Refresh") == "true"  # finished: reload the full report
    assert "hx-trigger" not in partial.text


def test_oversized_uploads_are_refused_before_reading(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dataset(db, code="route-big")
    db.commit()
    login_as(client, "data_officer")
    monkeypatch.setattr(runs, "UPLOAD_LIMIT_BYTES", 1000)
    resp = _upload(client, "route-big", csv_bytes([person_row(i) for i in range(1, 40)]))
    assert resp.status_code == 422
    assert "命令行" in resp.text or "command" in resp.text
    assert db.scalar(select(DatasetVersion.id)) is None


def test_compare_page(client: TestClient, db: Session) -> None:
    make_dataset(db, code="route-compare")
    db.commit()
    login_as(client, "data_officer")
    _upload(client, "route-compare", csv_bytes([person_row(i) for i in range(1, 5)]))
    _upload(client, "route-compare", csv_bytes([person_row(i) for i in range(2, 7)]))
    page = client.get("/data/datasets/route-compare/compare?from=1&to=2")
    assert page.status_code == 200
    assert 'data-count="added">2<' in page.text and 'data-count="removed">1<' in page.text
    api = client.get("/api/v1/data/datasets/route-compare/compare?from=1&to=2").json()
    assert (api["added"], api["removed"], api["changed"], api["unchanged"]) == (2, 1, 0, 3)


def test_create_dataset_through_the_form_and_the_api(client: TestClient, db: Session) -> None:
    csrf = login_as(client, "data_officer")
    form = client.get("/data/new")
    assert form.status_code == 200 and "household_registry" in form.text
    resp = client.post(
        "/data/new",
        data={
            "csrf_token": csrf_from(form.text),
            "code": "mz-dibao",
            "name": "低保对象名单",
            "department_code": CIVIL_AFFAIRS,
            "standard": "dibao_list",
            "sharing_type": "conditional",
            "sharing_condition": "",
            "open_type": "closed",
            "update_cycle": "monthly",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 422 and "共享条件" in resp.text  # conditional needs a condition
    resp = client.post(
        "/data/new",
        data={
            "csrf_token": csrf_from(form.text),
            "code": "mz-dibao",
            "name": "低保对象名单",
            "department_code": CIVIL_AFFAIRS,
            "standard": "dibao_list",
            "sharing_type": "conditional",
            "sharing_condition": "仅用于社会救助核对",
            "open_type": "closed",
            "update_cycle": "monthly",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/data/datasets/mz-dibao"
    page = client.get("/data/datasets/mz-dibao")
    assert "户主身份证号" in page.text and "敏感" in page.text
    created = client.post(
        "/api/v1/data/datasets",
        json={
            "code": "scjg-entities",
            "name": "法人单位",
            "department_code": "330523-SCJG",
            "standard_schema": "legal_entity",
            "sharing_type": "unconditional",
            "open_type": "open",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201, created.text
    assert created.json()["table_schema"]["primaryKey"] == ["统一社会信用代码"]
    duplicate = client.post(
        "/api/v1/data/datasets",
        json={
            "code": "scjg-entities",
            "name": "x",
            "department_code": "330523-SCJG",
            "standard_schema": "legal_entity",
            "sharing_type": "unconditional",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert duplicate.status_code == 409
    assert db.scalar(select(Dataset.code).where(Dataset.code == "mz-dibao")) == "mz-dibao"


@pytest.mark.parametrize("persona", ["citizen", "dispatcher", "department_handler", "grid_worker"])
def test_others_may_not_see_the_data_hub(client: TestClient, db: Session, persona: str) -> None:
    make_dataset(db, code="route-hidden")
    db.commit()
    login_as(client, persona)
    assert client.get("/data").status_code == 403
    assert client.get("/api/v1/data/datasets").status_code == 403
    assert client.get("/data/datasets/route-hidden").status_code == 403


def test_a_leader_reads_but_does_not_import(client: TestClient, db: Session) -> None:
    make_dataset(db, code="route-leader")
    db.commit()
    csrf = login_as(client, "leader")
    page = client.get("/data/datasets/route-leader")
    assert page.status_code == 200 and "上传并导入" not in page.text
    resp = client.post(
        "/api/v1/data/datasets/route-leader/imports",
        files={"file": ("p.csv", csv_bytes([person_row(1)]), "text/csv")},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status_code == 403
    assert client.get("/data/new").status_code == 403


def test_api_upload_returns_a_job(client: TestClient, db: Session) -> None:
    make_dataset(db, code="route-api")
    db.commit()
    csrf = login_as(client, "data_officer")
    resp = client.post(
        "/api/v1/data/datasets/route-api/imports",
        files={"file": ("p.csv", csv_bytes([person_row(i) for i in range(1, 4)]), "text/csv")},
        data={"as_of": "2026-11-01"},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status_code == 202, resp.text
    job = client.get(resp.json()["status_url"]).json()
    assert job["status"] == "succeeded" and job["version"] == 1
    wrong_type = client.post(
        "/api/v1/data/datasets/route-api/imports",
        files={"file": ("p.pdf", b"%PDF-1.4", "application/pdf")},
        headers={"X-CSRF-Token": csrf},
    )
    assert wrong_type.status_code == 422 and wrong_type.json()["error"]["code"] == "bad_file_type"
    missing = client.get("/api/v1/data/datasets/no-such-dataset")
    assert missing.status_code == 404


def test_english_pages(client: TestClient, db: Session) -> None:
    make_dataset(db, code="route-en")
    db.commit()
    login_as(client, "data_officer")
    _upload(client, "route-en", csv_bytes([person_row(1)]))
    client.cookies.set("lang", "en")
    page = client.get("/data/datasets/route-en/versions/1")
    assert page.status_code == 200
    assert "Conformity" in page.text and "规范性" not in page.text
