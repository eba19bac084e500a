"""The JSON API through the real sign-in, with the personas: intake from each channel,
the journey, refusals with the standard error body, hidden contacts, and scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.security.models import Account
from gongzhi.security.services import issue_api_token
from tests.cases.fixtures import ENFORCEMENT, SECOND_CITIZEN
from tests.cases.helpers import (  # noqa: F401
    ACTOR,
    DIPU_ADDRESS,
    YUHUA_ADDRESS,
    JsonClient,
    no_classifier,
    signed_in_clients,
)

pytestmark = pytest.mark.usefixtures("no_classifier")


@pytest.fixture
def signed_in(app: Any) -> Iterator[Callable[[str], JsonClient]]:
    with signed_in_clients(app, JsonClient) as make:
        yield make


def _report(citizen: JsonClient, **body: Any) -> dict[str, Any]:
    body.setdefault("description", "路边井盖不见了，很危险")
    body.setdefault("address_text", YUHUA_ADDRESS)
    resp = citizen.post("/api/v1/cases", body)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_a_session_post_without_its_csrf_token_is_refused(
    signed_in: Callable[[str], JsonClient],
) -> None:
    citizen = signed_in("citizen")
    resp = citizen.client.post("/api/v1/cases", json={"description": "x"})
    assert resp.status_code == 403


def test_the_journey_through_the_api(signed_in: Callable[[str], JsonClient]) -> None:
    citizen, dispatcher = signed_in("citizen"), signed_in("dispatcher")
    handler, grid = signed_in("zhifa_chen"), signed_in("grid_worker")
    case = _report(citizen)
    number = case["number"]
    assert (case["channel"], case["status"], case["triage_reason"]) == (
        "web",
        "triage",
        "no_category",
    )
    assert case["clocks"] == []  # the citizen sees no internal clocks

    queue = dispatcher.get("/api/v1/cases", params={"queue": "triage"}).json()
    assert number in [c["number"] for c in queue]
    resp = dispatcher.post(f"/api/v1/cases/{number}/dispatch", {"department": ENFORCEMENT})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "dispatched"
    assert {c["kind"] for c in resp.json()["clocks"]} >= {"dispatch", "accept", "feedback"}

    inbox = handler.get("/api/v1/cases", params={"queue": "inbox"}).json()
    assert number in [c["number"] for c in inbox]
    assert handler.post(f"/api/v1/cases/{number}/accept").json()["status"] == "accepted"
    again = handler.post(f"/api/v1/cases/{number}/accept")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_dispatched"
    resp = handler.post(f"/api/v1/cases/{number}/feedback", {"note": "已补装井盖"})
    assert resp.json()["status"] == "feedback"
    resp = grid.post(f"/api/v1/cases/{number}/verify", {"passed": True})
    assert (resp.json()["status"], resp.json()["outcome"], resp.json()["resolved"]) == (
        "closed",
        "resolved",
        True,
    )
    resp = citizen.post(f"/api/v1/cases/{number}/rate", {"rating": 5})
    assert resp.json()["rating"] == 5
    twice = citizen.post(f"/api/v1/cases/{number}/rate", {"rating": 1})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_rated"

    mine = citizen.get(f"/api/v1/cases/{number}").json()
    kinds = [e["kind"] for e in mine["timeline"]]
    assert kinds == ["submitted", "dispatched", "accepted", "feedback", "verified", "rated"]
    assert all(e["actor"] == "" for e in mine["timeline"])


def test_channels_follow_the_credential_and_the_role(
    signed_in: Callable[[str], JsonClient], app: Any, db: Session
) -> None:
    operator, grid = signed_in("dispatcher"), signed_in("grid_worker")
    call = _report(operator, channel="hotline", contact_name="王大爷", contact_phone="13900000000")
    assert call["channel"] == "hotline"
    assert call["contact"]["phone"] == "13900000000"
    patrol = _report(grid, channel="grid")
    assert patrol["channel"] == "grid"
    citizen = signed_in("citizen")
    refused = citizen.post("/api/v1/cases", {"description": "x", "channel": "hotline"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    account = db.scalar(select(Account).where(Account.username == "citizen"))
    assert account is not None
    _, secret = issue_api_token(db, account, name="app", expires_days=None, actor=ACTOR)
    db.flush()
    with TestClient(app, base_url="http://testserver") as bare:
        resp = bare.post(
            "/api/v1/cases",
            json={"description": "公园路灯坏了"},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert resp.status_code == 201, resp.text
    assert resp.json()["channel"] == "api"


def test_bad_requests_get_the_standard_error_body(signed_in: Callable[[str], JsonClient]) -> None:
    citizen = signed_in("citizen")
    resp = citizen.post("/api/v1/cases", {"description": "x", "lat": 30.0})
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid_location"
    resp = citizen.post("/api/v1/cases", {"no_description": True})
    assert resp.status_code == 422 and "error" in resp.json()
    missing = citizen.get("/api/v1/cases/AJ-20000101-0001")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "case_not_found"


def test_actions_need_their_permission(signed_in: Callable[[str], JsonClient]) -> None:
    citizen = signed_in("citizen")
    number = _report(citizen)["number"]
    resp = citizen.post(f"/api/v1/cases/{number}/dispatch", {"department": ENFORCEMENT})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    leader = signed_in("leader")
    assert leader.post(f"/api/v1/cases/{number}/close", {"outcome": "withdrawn"}).status_code == 403


def test_anonymous_reporters_contact_is_never_shown_to_staff(
    signed_in: Callable[[str], JsonClient],
) -> None:
    citizen, dispatcher, handler = (
        signed_in("citizen"),
        signed_in("dispatcher"),
        signed_in("zhifa_chen"),
    )
    named = _report(citizen, contact_name="王秀英", contact_phone="13700000000")
    anonymous = _report(citizen, contact_name="王秀英", contact_phone="13700000000", anonymous=True)
    for case in (named, anonymous):
        dispatcher.post(f"/api/v1/cases/{case['number']}/dispatch", {"department": ENFORCEMENT})

    # Named reporters: masked for the dispatcher and the lead handler (who may reveal it
    # with a purpose, docs/privacy.md), never in the clear.
    for viewer in (dispatcher, handler):
        shown = viewer.get(f"/api/v1/cases/{named['number']}")
        assert shown.json()["contact"]["phone"] == "137****0000"
        assert "13700000000" not in shown.text
    for viewer in (dispatcher, handler):
        body = viewer.get(f"/api/v1/cases/{anonymous['number']}")
        assert body.status_code == 200
        assert body.json()["contact"] is None
        assert "13700000000" not in body.text
    # The reporter still sees what they gave.
    own = citizen.get(f"/api/v1/cases/{anonymous['number']}").json()
    assert own["contact"]["phone"] == "13700000000"


def test_scope_another_townships_case_is_not_found(signed_in: Callable[[str], JsonClient]) -> None:
    citizen, clerk = signed_in("citizen"), signed_in("township_clerk")  # clerk of 鄣吴镇
    here = _report(citizen)
    there = _report(citizen, address_text=DIPU_ADDRESS)
    assert clerk.get(f"/api/v1/cases/{here['number']}").status_code == 200
    resp = clerk.get(f"/api/v1/cases/{there['number']}")
    assert resp.status_code == 404
    listed = [c["number"] for c in clerk.get("/api/v1/cases", params={"limit": 500}).json()]
    assert here["number"] in listed and there["number"] not in listed

    other = signed_in(SECOND_CITIZEN)
    assert other.get(f"/api/v1/cases/{here['number']}").status_code == 404
    assert other.post(f"/api/v1/cases/{here['number']}/rate", {"rating": 1}).status_code == 404
    assert here["number"] not in [c["number"] for c in other.get("/api/v1/cases").json()]


def test_a_department_handler_sees_assigned_cases_only(
    signed_in: Callable[[str], JsonClient], township_handler: str
) -> None:
    citizen, dispatcher = signed_in("citizen"), signed_in("dispatcher")
    gov = signed_in(township_handler)  # 鄣吴镇 government, scope 鄣吴镇
    outside = _report(citizen, address_text=DIPU_ADDRESS)
    assert gov.get(f"/api/v1/cases/{outside['number']}").status_code == 404
    dispatcher.post(f"/api/v1/cases/{outside['number']}/dispatch", {"department": "330523103-ZF"})
    assert gov.get(f"/api/v1/cases/{outside['number']}").status_code == 200


def test_return_reopen_extension_and_pause_routes(signed_in: Callable[[str], JsonClient]) -> None:
    citizen, dispatcher, handler = (
        signed_in("citizen"),
        signed_in("dispatcher"),
        signed_in("zhifa_chen"),
    )
    number = _report(citizen)["number"]
    dispatcher.post(f"/api/v1/cases/{number}/dispatch", {"department": ENFORCEMENT})
    resp = handler.post(f"/api/v1/cases/{number}/return", {"reason": "wrong_region"})
    assert resp.json()["status"] == "triage" and resp.json()["triage_reason"] == "returned"
    dispatcher.post(f"/api/v1/cases/{number}/dispatch", {"department": ENFORCEMENT})
    handler.post(f"/api/v1/cases/{number}/accept")
    case = handler.get(f"/api/v1/cases/{number}").json()
    handle_due = next(c["due_at"] for c in case["clocks"] if c["kind"] == "handle")
    later = (datetime.fromisoformat(handle_due) + timedelta(days=5)).isoformat()
    resp = handler.post(f"/api/v1/cases/{number}/extension", {"due_at": later, "reason": "等材料"})
    assert resp.status_code == 201 and resp.json()["status"] == "pending"
    resp = dispatcher.post(f"/api/v1/cases/{number}/extension/decision", {"approve": True})
    assert resp.json()["status"] == "approved"
    paused = handler.post(f"/api/v1/cases/{number}/pause", {"reason": "等群众补充"})
    assert paused.json()["waiting_for_citizen"] is True
    assert handler.post(f"/api/v1/cases/{number}/resume").json()["waiting_for_citizen"] is False
    handler.post(f"/api/v1/cases/{number}/feedback", {"note": "办好了"})
    closed = dispatcher.post(
        f"/api/v1/cases/{number}/close", {"outcome": "not_ours", "note": "属企业自有设施"}
    )
    assert closed.json()["resolved"] is False and closed.json()["outcome"] == "not_ours"
    resp = citizen.post(f"/api/v1/cases/{number}/reopen", {"reason": "并不是企业的"})
    assert resp.status_code == 200 and resp.json()["status"] == "triage"
