"""The duplicate routes through the real sign-in: suggestions in triage and at intake,
merge/unmerge by the dispatch centre only, "me too" counted once, and the core's case
routes still answering beside them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.cases.models import Case
from gongzhi.security.models import Account
from tests.cases.fixtures import SECOND_CITIZEN
from tests.cases.helpers import YUHUA_ADDRESS, JsonClient, no_classifier, signed_in_clients, submit  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_classifier")

LAT, LON = 30.6389, 119.6800
TEXT = "玉华村村口路上的井盖丢失了，晚上走路很危险"


@pytest.fixture
def signed_in(app: Any) -> Iterator[Callable[[str], JsonClient]]:
    with signed_in_clients(app, JsonClient) as make:
        yield make


def _case(db: Session, reporter: str | None = None, **kw: Any) -> Case:
    account_id = None
    if reporter is not None:
        account_id = db.scalar(select(Account.id).where(Account.username == reporter))
    kw.setdefault("description", TEXT)
    case = submit(
        db,
        matter_code="XC-002",
        address_text=YUHUA_ADDRESS,
        lat=LAT,
        lon=LON,
        reporter_account_id=account_id,
        **kw,
    )
    db.flush()
    return case


def test_triage_sees_suggestions_and_merges_then_unmerges(
    db: Session, signed_in: Callable[[str], JsonClient]
) -> None:
    main = _case(db, "citizen")
    dup = _case(db, SECOND_CITIZEN, description="村口井盖丢了，晚上走路危险")
    dispatcher = signed_in("dispatcher")

    resp = dispatcher.get(f"/api/v1/cases/{dup.number}/duplicates")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [s["number"] for s in body["suggestions"]] == [main.number]
    assert body["suggestions"][0]["description"] == TEXT
    assert "similar_text" in body["suggestions"][0]["reasons"]

    resp = dispatcher.post(f"/api/v1/cases/{dup.number}/merge", {"into": main.number})
    assert resp.status_code == 200, resp.text
    merged = resp.json()
    assert (merged["status"], merged["outcome"], merged["merged_into"]) == (
        "closed",
        "duplicate",
        main.number,
    )
    assert merged["into"]["supporters"] == 1
    # The core's own case route still answers for the same number.
    core = dispatcher.get(f"/api/v1/cases/{dup.number}")
    assert core.status_code == 200 and core.json()["outcome"] == "duplicate"

    resp = dispatcher.post(f"/api/v1/cases/{dup.number}/unmerge")
    assert resp.status_code == 200, resp.text
    assert (resp.json()["status"], resp.json()["merged_into"]) == ("dispatched", None)
    again = dispatcher.post(f"/api/v1/cases/{dup.number}/unmerge")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_merged"


def test_only_the_dispatch_centre_merges(
    db: Session, signed_in: Callable[[str], JsonClient]
) -> None:
    main, dup = _case(db), _case(db)
    clerk = signed_in("township_clerk")
    resp = clerk.post(f"/api/v1/cases/{dup.number}/merge", {"into": main.number})
    assert resp.status_code == 403
    citizen = signed_in("citizen")
    assert citizen.get(f"/api/v1/cases/{dup.number}/duplicates").status_code == 403


def test_me_too_is_counted_once_per_account(
    db: Session, signed_in: Callable[[str], JsonClient]
) -> None:
    case = _case(db, "citizen")
    other = signed_in(SECOND_CITIZEN)
    for _ in range(2):
        resp = other.post(f"/api/v1/cases/{case.number}/support")
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"number": case.number, "supporters": 1}
    reporter = signed_in("citizen")
    own = reporter.post(f"/api/v1/cases/{case.number}/support")
    assert own.status_code == 409
    shown = reporter.get(f"/api/v1/cases/{case.number}/support")
    assert shown.status_code == 200 and shown.json()["supporters"] == 1
    assert other.post("/api/v1/cases/AJ-19990101-0001/support").status_code == 404


def test_intake_check_shows_a_citizen_numbers_and_reasons_not_words(
    db: Session, signed_in: Callable[[str], JsonClient]
) -> None:
    existing = _case(db, SECOND_CITIZEN)
    citizen = signed_in("citizen")
    resp = citizen.post(
        "/api/v1/duplicates/check",
        {"description": "村口井盖丢失，很危险", "matter_code": "XC-002", "lat": LAT, "lon": LON},
    )
    assert resp.status_code == 200, resp.text
    [hit] = resp.json()["suggestions"]
    assert hit["number"] == existing.number
    assert "description" not in hit and "address_text" not in hit
    by_address = citizen.post(
        "/api/v1/duplicates/check",
        {"description": TEXT, "matter_code": "XC-002", "address_text": YUHUA_ADDRESS},
    )
    assert [s["number"] for s in by_address.json()["suggestions"]] == [existing.number]
    assert "same_village" in by_address.json()["suggestions"][0]["reasons"]
