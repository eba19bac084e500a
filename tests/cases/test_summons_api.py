"""The 吹哨报到 routes through the real sign-in: a clerk summons within the township only
(elsewhere is 404), the summoned department's handler checks in, and the stats."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gongzhi.audit.services import SystemActor
from gongzhi.cases.models import Case
from tests.cases.fixtures import ENFORCEMENT, STAFF_PASSWORD, login_staff, township_handler  # noqa: F401
from tests.cases.helpers import (  # noqa: F401
    COUNTY_ADDRESS,
    YUHUA_ADDRESS,
    JsonClient,
    no_classifier,
    signed_in_clients,
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier")

DIPU_CLERK = "dipu_clerk"


@pytest.fixture
def signed_in(app: Any) -> Iterator[Callable[[str], JsonClient]]:
    with signed_in_clients(app, JsonClient) as make:
        yield make


@pytest.fixture
def dipu_clerk(db: Session) -> str:
    """A clerk of 递铺街道, another township of the county."""
    from gongzhi.security.permissions import Role
    from gongzhi.security.services import create_account, grant_role

    actor = SystemActor("test")
    account = create_account(
        db,
        username=DIPU_CLERK,
        display_name="递铺文员",
        kind="staff",
        password=STAFF_PASSWORD,
        actor=actor,
    )
    grant_role(db, account, role=Role.TOWNSHIP_CLERK, region_code="330523001000", actor=actor)
    db.flush()
    return DIPU_CLERK


def _case(db: Session, address: str = YUHUA_ADDRESS) -> Case:
    case = submit(db, address_text=address, matter_code="XC-002")
    db.flush()
    return case


def test_clerk_summons_and_the_department_checks_in(
    db: Session,
    signed_in: Callable[[str], JsonClient],
    township_handler: str,  # noqa: F811
) -> None:
    case = _case(db)
    clerk = signed_in("township_clerk")  # 鄣吴镇
    resp = clerk.post(
        f"/api/v1/cases/{case.number}/summons",
        {"departments": [ENFORCEMENT], "reason": "needs_enforcement", "note": "需执法"},
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["case"] == case.number and body["reason"] == "needs_enforcement"
    assert [d["department"] for d in body["departments"]] == [ENFORCEMENT]
    summons_id = body["id"]

    # A handler of a department that was not summoned cannot check in for it.
    other = signed_in(township_handler)
    assert other.post(f"/api/v1/summons/{summons_id}/check-in").status_code == 404
    # The dispatcher has no check-in permission at all.
    assert signed_in("dispatcher").post(f"/api/v1/summons/{summons_id}/check-in").status_code == 403

    handler = signed_in("zhifa_chen")
    resp = handler.post(f"/api/v1/summons/{summons_id}/check-in", {"note": "已到场"})
    assert resp.status_code == 200, resp.text
    [entry] = resp.json()["departments"]
    assert entry["checked_in_at"] is not None and entry["late"] is False
    again = handler.post(f"/api/v1/summons/{summons_id}/check-in")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_checked_in"
    assert handler.post("/api/v1/summons/999999/check-in").status_code == 404

    listed = clerk.get(f"/api/v1/cases/{case.number}/summons")
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()["summons"]
    assert shown["id"] == summons_id
    assert shown["departments"][0]["note"] == "已到场"
    assert signed_in("citizen").get(f"/api/v1/cases/{case.number}/summons").status_code == 403

    stats = clerk.get("/api/v1/summons/stats")
    assert stats.status_code == 200, stats.text
    rows = {r["department"]: r for r in stats.json()["departments"]}
    assert rows[ENFORCEMENT]["summoned"] >= 1 and rows[ENFORCEMENT]["on_time"] >= 1


def test_a_clerk_of_another_township_gets_404(
    db: Session, signed_in: Callable[[str], JsonClient], dipu_clerk: str
) -> None:
    case = _case(db)
    outsider = signed_in(dipu_clerk)
    resp = outsider.post(
        f"/api/v1/cases/{case.number}/summons",
        {"departments": [ENFORCEMENT], "reason": "emergency"},
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "case_not_found"
    # Their stats do not show 鄣吴镇's summons either.
    clerk = signed_in("township_clerk")
    made = clerk.post(
        f"/api/v1/cases/{case.number}/summons",
        {"departments": [ENFORCEMENT], "reason": "emergency"},
    )
    assert made.status_code == 201
    assert outsider.get("/api/v1/summons/stats").json()["departments"] == []


def test_a_case_placed_only_at_county_level_is_outside_a_township(
    db: Session, signed_in: Callable[[str], JsonClient]
) -> None:
    case = _case(db, COUNTY_ADDRESS)
    clerk = signed_in("township_clerk")
    resp = clerk.post(
        f"/api/v1/cases/{case.number}/summons",
        {"departments": [ENFORCEMENT], "reason": "beyond_power"},
    )
    assert resp.status_code == 404
    bad = clerk.post(
        f"/api/v1/cases/{_case(db).number}/summons",
        {"departments": [ENFORCEMENT], "reason": "bored"},
    )
    assert bad.status_code == 422
    naive = clerk.get("/api/v1/summons/stats", params={"since": "2026-09-01T00:00:00"})
    assert naive.status_code == 422
    assert naive.json()["error"]["code"] == "invalid_period"
