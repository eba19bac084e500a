"""The sharing pages through the client, as the people who use them: the requester's form,
the authority's review queue, the provider's decision queue, the grants and a grant's call
log, overdue steps marked, and who may not see what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.data.sharing.models import ShareRequest
from gongzhi.db import time_travel
from tests.cases.fixtures import login_staff
from tests.data.sharing_helpers import (
    OTHER,
    PROVIDER,
    REQUESTER,
    STEWARD_PASSWORD,
    ask,
    make_steward,
    person_dataset,
)
from tests.security.fixtures import csrf_from, login_as


@pytest.fixture
def setting(db: Session, settings: Any, tmp_path: Path) -> dict[str, Any]:
    requester = make_steward(db, "steward_nync", REQUESTER)
    make_steward(db, "steward_mz", PROVIDER)
    make_steward(db, "steward_wsjk", OTHER)
    dataset = person_dataset(db, settings, tmp_path)
    (tmp_path / "closed").mkdir()
    person_dataset(db, settings, tmp_path / "closed", code="closed-list", sharing_type="none")
    db.commit()
    return {"dataset": dataset, "requester": requester}


def _form(client: TestClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


def test_request_review_decide_and_the_grant_pages(
    client: TestClient, db: Session, setting: dict[str, Any]
) -> None:
    login_staff(client, "steward_nync", STEWARD_PASSWORD)
    home = client.get("/staff")
    assert "数据共享" in home.text
    form = client.get("/data/sharing/requests/new")
    assert "share-persons" in form.text and "closed-list" not in form.text
    token = _form(client, "/data/sharing/requests/new?dataset=share-persons")
    today = datetime.now(UTC).date()
    data = {
        "csrf_token": token,
        "dataset": "share-persons",
        "fields": ["身份证号", "姓名", "性别"],
        "plaintext_fields": ["身份证号"],
        "purpose": "核对低保享受情况",
        "legal_basis": "《社会救助暂行办法》",
        "scenario": "防返贫动态监测",
        "end_users": "乡村振兴科经办人员",
        "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=90)).isoformat(),
    }
    missing = client.post("/data/sharing/requests", data={**data, "purpose": ""})
    assert missing.status_code == 422 and "请填写用途" in missing.text
    made = client.post("/data/sharing/requests", data=data, follow_redirects=False)
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    page = client.get(url)
    assert "待数据主管部门审核" in page.text and "撤回申请" in page.text
    assert "提交审核意见" not in page.text  # the requester does not review
    request_id = int(url.rsplit("/", 1)[1])

    client.cookies.clear()
    login_as(client, "data_officer")
    queue = client.get("/data/sharing/review")
    assert queue.status_code == 200 and f"#{request_id}" in queue.text
    token = _form(client, url)
    refused = client.post(
        f"{url}/review", data={"csrf_token": token, "decision": "refuse", "reasons": ""}
    )
    assert refused.status_code == 422 and "理由" in refused.text
    approved = client.post(
        f"{url}/review", data={"csrf_token": token, "decision": "approve"}, follow_redirects=False
    )
    assert approved.status_code == 303
    assert "待提供部门答复" in client.get(url).text

    client.cookies.clear()
    login_staff(client, "steward_mz", STEWARD_PASSWORD)
    decisions = client.get("/data/sharing/decisions")
    assert f"#{request_id}" in decisions.text
    token = _form(client, url)
    granted = client.post(
        f"{url}/decide",
        data={
            "csrf_token": token,
            "decision": "grant",
            "fields": ["身份证号", "姓名"],
            "plaintext_fields": ["身份证号"],
        },
        follow_redirects=False,
    )
    assert granted.status_code == 303, granted.text
    db.expire_all()
    request = db.get(ShareRequest, request_id)
    assert request is not None and request.grant is not None
    grant_url = f"/data/sharing/grants/{request.grant.id}"
    given = client.get("/data/sharing")
    assert grant_url in given.text and "对外提供的授权" in given.text
    grant_page = client.get(grant_url)
    assert "还没有调用" in grant_page.text and "立即撤销" in grant_page.text

    client.cookies.clear()
    login_staff(client, "steward_nync", STEWARD_PASSWORD)
    mine = client.get("/data/sharing")
    assert grant_url in mine.text and "已授权" in mine.text
    received = client.get(grant_url)
    assert received.status_code == 200 and "身份证号、姓名" in received.text
    assert "立即撤销" not in received.text  # the requester cannot revoke

    client.cookies.clear()
    login_staff(client, "steward_wsjk", STEWARD_PASSWORD)
    assert client.get(url).status_code == 404  # a third department does not see it
    assert client.get(grant_url).status_code == 404


def test_revoking_from_the_grant_page(
    client: TestClient, db: Session, setting: dict[str, Any]
) -> None:
    dataset = setting["dataset"]
    dataset.sharing_type = "unconditional"
    grant = ask(db, dataset, setting["requester"]).grant
    assert grant is not None
    db.commit()
    login_as(client, "data_officer")  # the authority may revoke too
    url = f"/data/sharing/grants/{grant.id}"
    token = _form(client, url)
    bare = client.post(f"{url}/revoke", data={"csrf_token": token, "reason": ""})
    assert bare.status_code == 422
    done = client.post(
        f"{url}/revoke", data={"csrf_token": token, "reason": "超范围使用"}, follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get(url)
    assert "已撤销" in page.text and "超范围使用" in page.text


def test_overdue_requests_are_marked_in_the_queue(
    client: TestClient, db: Session, setting: dict[str, Any]
) -> None:
    with time_travel(datetime.now(UTC) - timedelta(days=20)):
        late = ask(db, setting["dataset"], setting["requester"])
    db.commit()
    login_as(client, "data_officer")
    queue = client.get("/data/sharing/review")
    assert f"#{late.id}" in queue.text and 'data-overdue="1"' in queue.text
    assert "已超时" in client.get(f"/data/sharing/requests/{late.id}").text


@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("department_handler", "/data/sharing"),
        ("citizen", "/data/sharing"),
        ("leader", "/data/sharing/review"),
        ("data_officer", "/data/sharing/decisions"),
        ("data_officer", "/data/sharing/requests/new"),
    ],
)
def test_pages_are_guarded(client: TestClient, persona: str, path: str) -> None:
    login_as(client, persona)
    assert client.get(path).status_code == 403


def test_a_request_for_data_that_is_not_shared_is_refused_on_the_form(
    client: TestClient, db: Session, setting: dict[str, Any]
) -> None:
    login_staff(client, "steward_nync", STEWARD_PASSWORD)
    token = _form(client, "/data/sharing/requests/new")
    today = datetime.now(UTC).date()
    resp = client.post(
        "/data/sharing/requests",
        data={
            "csrf_token": token,
            "dataset": "closed-list",
            "fields": ["性别"],
            "purpose": "p",
            "legal_basis": "b",
            "scenario": "s",
            "end_users": "u",
            "period_start": today.isoformat(),
            "period_end": today.isoformat(),
        },
    )
    assert resp.status_code == 422 and "不予共享" in resp.text
    assert db.scalar(select(ShareRequest.id)) is None
