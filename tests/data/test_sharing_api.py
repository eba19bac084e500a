"""The sharing API (``GET /api/v1/share/{grant}/rows``) with a department's token: only the
granted fields, masked per classification, paged, every call logged; and every way a call can
fall outside its grant, each refused with 403 and nothing returned."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.data.sharing import services
from gongzhi.data.sharing.models import ShareCall, ShareGrant
from gongzhi.db import time_travel
from gongzhi.security.models import Account
from gongzhi.security.services import issue_api_token
from tests.cases.helpers import no_classifier  # noqa: F401  (fixture)
from tests.data.helpers import id_number
from tests.data.sharing_helpers import (
    OTHER,
    PROVIDER,
    REQUESTER,
    SEED,
    ask,
    case_led_by,
    make_steward,
    person_dataset,
    principal,
)


def _token(db: Session, username: str) -> str:
    account = db.scalar(select(Account).where(Account.username == username))
    assert account is not None
    _token_row, secret = issue_api_token(db, account, name="share", expires_days=None, actor=SEED)
    return secret


@pytest.fixture
def world(db: Session, settings: Any, tmp_path: Path, no_classifier: None) -> dict[str, Any]:  # noqa: F811
    requester = make_steward(db, "steward_nync", REQUESTER)
    provider = make_steward(db, "steward_mz", PROVIDER)
    make_steward(db, "steward_wsjk", OTHER)
    dataset = person_dataset(db, settings, tmp_path, rows=5)
    request = ask(
        db,
        dataset,
        requester,
        fields=["身份证号", "姓名", "性别", "出生日期", "联系电话", "现住址"],
        plaintext_fields=["身份证号"],
        period=(date.today() - timedelta(days=1), date.today() + timedelta(days=90)),
    )
    services.review_request(db, request, approve=True, actor=principal(db, "data_officer"))
    services.decide_request(db, request, grant=True, actor=provider)
    grant = request.grant
    assert grant is not None
    world = {
        "grant": grant,
        "token": _token(db, "steward_nync"),
        "other_token": _token(db, "steward_wsjk"),
        "case": case_led_by(db, REQUESTER),
        "foreign_case": case_led_by(db, OTHER),
    }
    db.commit()
    return world


def _call(
    client: TestClient,
    token: str,
    grant_id: int,
    *,
    end_user: str | None = "农业农村局 王五",
    case: str | None = None,
    **params: Any,
) -> Any:
    headers: dict[str, str | bytes] = {"Authorization": f"Bearer {token}"}
    if end_user is not None:
        headers["X-End-User"] = end_user.encode("utf-8")  # a Chinese name, sent as UTF-8
    if case is not None:
        headers["X-Case-Number"] = case
    return client.get(f"/api/v1/share/{grant_id}/rows", headers=headers, params=params)


def _calls(db: Session, grant: ShareGrant) -> list[ShareCall]:
    db.expire_all()
    return list(
        db.scalars(select(ShareCall).where(ShareCall.grant_id == grant.id).order_by(ShareCall.id))
    )


def test_granted_fields_come_masked_except_the_plaintext_grant(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    grant = world["grant"]
    resp = _call(client, world["token"], grant.id, case=world["case"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["fields"] == ["身份证号", "姓名", "性别", "出生日期", "联系电话", "现住址"]
    assert body["masked_fields"] == ["姓名", "出生日期", "联系电话", "现住址"]
    assert body["total"] == 5 and len(body["rows"]) == 5 and body["next"] is None
    first = body["rows"][0]
    assert first["身份证号"] == id_number("330523", "19800101", 1)  # granted in plaintext
    assert first["姓名"] == "张*"
    assert first["性别"] == "男"  # internal: as stored
    assert first["出生日期"] == "1980-**-**"
    assert first["联系电话"] == "138****0001"
    assert first["现住址"] == "安吉县鄣吴镇"
    assert set(first) == set(body["fields"])  # nothing beyond the grant (no 民族, no pinyin)

    [call] = _calls(db, grant)
    assert (call.outcome, call.row_count, call.case_number) == ("answered", 5, world["case"])
    assert call.end_user == "农业农村局 王五"
    assert call.department_id == grant.requester_department_id
    assert call.fields == body["fields"]
    event = db.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "data.share.call", AuditEvent.object_id == str(grant.id))
        .order_by(AuditEvent.id.desc())
    )
    assert event is not None and event.new is not None
    assert event.new["rows"] == 5 and event.new["end_user"] == "农业农村局 王五"
    assert event.new["case_number"] == world["case"]


def test_pages_and_field_selection(client: TestClient, db: Session, world: dict[str, Any]) -> None:
    grant = world["grant"]
    # Internal fields only: no case number needed.
    first = _call(client, world["token"], grant.id, fields="性别", limit=2)
    assert first.status_code == 200, first.text
    assert first.json()["rows"] == [{"性别": "男"}, {"性别": "女"}]
    assert first.json()["masked_fields"] == []
    second = client.get(
        first.json()["next"],
        headers={"Authorization": f"Bearer {world['token']}", "X-End-User": "wang"},
    )
    third = client.get(
        second.json()["next"],
        headers={"Authorization": f"Bearer {world['token']}", "X-End-User": "wang"},
    )
    assert [len(p.json()["rows"]) for p in (first, second, third)] == [2, 2, 1]
    assert third.json()["next"] is None
    assert [c.row_count for c in _calls(db, grant)] == [2, 2, 1]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"fields": "身份证号,民族"}, "field_not_granted"),
        ({"end_user": None}, "end_user_required"),
        ({"case": None}, "case_number_required"),
        ({"case": "GZ-NOPE-0001"}, "case_not_yours"),
        ({"case": "foreign"}, "case_not_yours"),
        ({"token": "other"}, "not_your_grant"),
    ],
)
def test_calls_outside_the_grant_are_refused_and_logged(
    client: TestClient, db: Session, world: dict[str, Any], change: dict[str, Any], code: str
) -> None:
    grant = world["grant"]
    kwargs: dict[str, Any] = {"case": world["case"]}
    token = world["token"]
    for key, value in change.items():
        if key == "token":
            token = world["other_token"]
        elif key == "case" and value == "foreign":
            kwargs["case"] = world["foreign_case"]
        else:
            kwargs[key] = value
    resp = _call(client, token, grant.id, **kwargs)
    assert resp.status_code == 403, resp.text
    body = resp.json()
    assert body["error"]["code"] == code
    assert "rows" not in body
    [call] = _calls(db, grant)
    assert (call.outcome, call.refusal_code, call.row_count) == ("refused", code, 0)


def test_a_revoked_grant_refuses_the_next_call(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    grant = world["grant"]
    assert _call(client, world["token"], grant.id, case=world["case"]).status_code == 200
    # The provider revokes through its own API, with its own token.
    provider_token = _token(db, "steward_mz")
    db.commit()
    revoked = client.post(
        f"/api/v1/share/grants/{grant.id}/revoke",
        json={"reason": "超范围使用"},
        headers={"Authorization": f"Bearer {provider_token}"},
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    resp = _call(client, world["token"], grant.id, case=world["case"])
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "grant_revoked"
    assert [c.outcome for c in _calls(db, grant)] == ["answered", "refused"]


def test_an_expired_grant_and_an_unknown_grant_are_refused(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    grant = world["grant"]
    later = grant.expires_at + timedelta(minutes=1)
    with time_travel(later):
        resp = _call(client, world["token"], grant.id, case=world["case"])
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "grant_expired"
    missing = _call(client, world["token"], grant.id + 10_000, case=world["case"])
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "no_grant"
    # The call on a grant that does not exist still leaves its audit event.
    assert db.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == "data.share.call",
            AuditEvent.object_id == str(grant.id + 10_000),
        )
    )


def test_the_api_needs_the_call_permission(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    officer = db.scalar(select(Account).where(Account.username == "data_officer"))
    assert officer is not None
    _row, secret = issue_api_token(db, officer, name="x", expires_days=1, actor=SEED)
    db.commit()
    resp = _call(client, secret, world["grant"].id, case=world["case"])
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    assert client.get(f"/api/v1/share/{world['grant'].id}/rows").status_code == 401


def test_requests_through_the_json_api(
    client: TestClient, db: Session, settings: Any, tmp_path: Path
) -> None:
    make_steward(db, "steward_nync", REQUESTER)
    person_dataset(db, settings, tmp_path, code="api-open", sharing_type="unconditional")
    (tmp_path / "b").mkdir()
    person_dataset(db, settings, tmp_path / "b", code="api-closed", sharing_type="none")
    token = _token(db, "steward_nync")
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    today = datetime.now(UTC).date()
    body = {
        "fields": ["性别", "人员类别"],
        "purpose": "统计",
        "legal_basis": "职责",
        "scenario": "统计分析",
        "end_users": "统计人员",
        "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=30)).isoformat(),
    }
    closed = client.post(
        "/api/v1/share/requests", json={**body, "dataset_code": "api-closed"}, headers=headers
    )
    assert closed.status_code == 403 and closed.json()["error"]["code"] == "not_shareable"
    made = client.post(
        "/api/v1/share/requests", json={**body, "dataset_code": "api-open"}, headers=headers
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "granted" and made.json()["grant_id"]
    read = client.get(f"/api/v1/share/requests/{made.json()['id']}", headers=headers)
    assert [d["step"] for d in read.json()["decisions"]] == ["submit", "system"]
    rows = _call(client, token, made.json()["grant_id"])
    assert rows.status_code == 200 and rows.json()["rows"][0] == {
        "性别": "男",
        "人员类别": "户籍人口",
    }
