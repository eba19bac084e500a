"""Intake: every channel, numbering, validation, and routing to a lead or to triage."""

from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.cases.models import Case, CaseStatus, Channel, ClockKind, Priority
from gongzhi.errors import Invalid
from gongzhi.org.models import Department
from tests.cases.fixtures import ENFORCEMENT, ZHANGWU_GOV
from tests.cases.helpers import (
    COUNTY_ADDRESS,
    YUHUA_ADDRESS,
    actions,
    held_clock,  # noqa: F401
    no_classifier,  # noqa: F401
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier")

NUMBER = re.compile(r"^AJ-\d{8}-\d{4}$")


def _dept(db: Session, code: str) -> Department:
    dept = db.scalar(select(Department).where(Department.code == code))
    assert dept is not None
    return dept


@pytest.mark.parametrize("channel", list(Channel))
def test_every_channel_gives_a_numbered_case_with_audit_and_timeline(
    db: Session, channel: Channel
) -> None:
    case = submit(db, channel=channel, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    assert NUMBER.match(case.number), case.number
    assert case.channel == channel.value
    assert case.region_code == "330523103202"
    assert actions(db, case.number)[0] == "cases.case.submit"
    assert case.events[0].kind == "submitted"


def test_numbers_follow_the_local_date_and_count_up(db: Session, held_clock) -> None:  # noqa: F811
    held_clock.now = held_clock.now.replace(hour=17)  # 01:00 next day in Asia/Shanghai
    first = submit(db)
    second = submit(db)
    assert first.number.startswith("AJ-20260917-")
    assert int(second.number[-4:]) == int(first.number[-4:]) + 1


def test_known_matter_and_region_dispatch_to_the_one_lead_with_co_handlers(db: Session) -> None:
    case = submit(db, address_text=COUNTY_ADDRESS, matter_code="XC-007")  # 占道经营
    assert case.status == CaseStatus.DISPATCHED
    assert case.lead_department_id == _dept(db, ENFORCEMENT).id
    roles = {(a.role, a.department_id) for a in case.assignments if a.active}
    assert ("lead", _dept(db, ENFORCEMENT).id) in roles
    assert ("co", _dept(db, "330523-SCJG").id) in roles
    kinds = {c.kind: c for c in case.clocks}
    assert kinds[ClockKind.DISPATCH].stopped_at is not None
    assert kinds[ClockKind.ACCEPT].stopped_at is None
    assert "dispatched" in [e.kind for e in case.events]


def test_local_matter_in_a_village_goes_to_the_township_government(db: Session) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    assert case.status == CaseStatus.DISPATCHED
    assert case.lead_department_id == _dept(db, ZHANGWU_GOV).id


def test_without_a_category_the_case_waits_in_triage(db: Session) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS)
    assert (case.status, case.triage_reason) == (CaseStatus.TRIAGE, "no_category")
    assert case.lead_department_id is None
    assert not [a for a in case.assignments if a.active]


def test_an_unknown_category_is_kept_but_not_trusted(db: Session) -> None:
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="NO-SUCH")
    assert (case.status, case.triage_reason) == (CaseStatus.TRIAGE, "no_category")
    assert case.attributes["submitted_matter_code"] == "NO-SUCH"


def test_an_unresolvable_address_enters_triage_instead_of_being_refused(db: Session) -> None:
    case = submit(db, address_text="火星第三大道", matter_code="XC-002")
    assert (case.status, case.triage_reason) == (CaseStatus.TRIAGE, "no_region")
    no_address = submit(db, matter_code="XC-002")
    assert no_address.triage_reason == "no_region"


def test_a_place_nobody_on_the_list_serves_is_no_lead(db: Session) -> None:
    case = submit(db, address_text="浙江省杭州市西湖区", matter_code="XC-002")
    assert case.region_code is not None and case.region_code.startswith("330106")
    assert (case.status, case.triage_reason) == (CaseStatus.TRIAGE, "no_lead")


def test_two_claimed_leads_are_a_collision(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import gongzhi.org.queries as org_queries

    a, b = _dept(db, ENFORCEMENT), _dept(db, "330523-ZJ")

    @dataclass
    class TwoLeads:
        leads: list[Department]
        co_handlers: list[Department]

    monkeypatch.setattr(org_queries, "route_for", lambda db, m, r: TwoLeads([a, b], []))
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    assert (case.status, case.triage_reason) == (CaseStatus.TRIAGE, "collision")


def test_a_confident_suggestion_routes_the_case(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    @dataclass(frozen=True)
    class Suggestion:
        matter_code: str
        score: float

    module = types.ModuleType("gongzhi.cases.classify")
    module.suggest = lambda db, text, limit=3: [Suggestion("XC-002", 0.9)]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gongzhi.cases.classify", module)
    case = submit(db, address_text=YUHUA_ADDRESS)
    assert case.matter_code == "XC-002" and case.status == CaseStatus.DISPATCHED
    assert case.events[0].data["classified"] == "XC-002"

    module.suggest = lambda db, text, limit=3: [Suggestion("XC-002", 0.1)]  # type: ignore[attr-defined]
    unsure = submit(db, address_text=YUHUA_ADDRESS)
    assert unsure.matter_code is None and unsure.triage_reason == "no_category"
    assert unsure.events[0].data["suggestions"] == [{"matter_code": "XC-002", "score": 0.1}]


@pytest.mark.parametrize(
    ("scores", "taken"),
    [
        ([0.5, 0.4], True),  # probable
        ([0.2], True),  # low, but nothing else comes near
        ([0.3, 0.09], True),
        ([0.3, 0.11], False),  # two candidates close together
        ([0.14], False),  # too unsure
    ],
)
def test_a_suggestion_is_taken_when_probable_or_clearly_ahead(
    db: Session, monkeypatch: pytest.MonkeyPatch, scores: list[float], taken: bool
) -> None:
    @dataclass(frozen=True)
    class Suggestion:
        matter_code: str
        score: float

    codes = ["XC-002", "XC-004", "XC-005"]
    module = types.ModuleType("gongzhi.cases.classify")
    module.suggest = lambda db, text, limit=3: [  # type: ignore[attr-defined]
        Suggestion(c, s) for c, s in zip(codes, scores, strict=False)
    ]
    monkeypatch.setitem(sys.modules, "gongzhi.cases.classify", module)
    case = submit(db, address_text=YUHUA_ADDRESS)
    assert (case.matter_code == "XC-002") is taken


def test_a_failing_classifier_never_loses_the_request(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(db: Session, text: str, limit: int = 3) -> list[object]:
        raise RuntimeError("model file missing")

    module = types.ModuleType("gongzhi.cases.classify")
    module.suggest = broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gongzhi.cases.classify", module)
    case = submit(db, address_text=YUHUA_ADDRESS)
    assert case.status == CaseStatus.TRIAGE
    assert db.get(Case, case.id) is not None


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"description": "   "}, "description_required"),
        ({"description": "x" * 4001}, "description_too_long"),
        ({"lat": 30.6}, "invalid_location"),
        ({"lat": 123.0, "lon": 30.0}, "invalid_location"),
        ({"media_urls": ["javascript:alert(1)"]}, "invalid_media_url"),
        ({"priority": "urgent"}, "invalid_priority"),
        ({"channel": "fax"}, "invalid_channel"),
    ],
)
def test_malformed_input_is_refused_with_a_code(db: Session, kwargs: dict, code: str) -> None:
    with pytest.raises(Invalid) as info:
        submit(db, **kwargs)
    assert info.value.code == code


def test_contact_is_kept_apart_and_priority_defaults_to_ordinary(db: Session) -> None:
    case = submit(db, contact_name="王五", contact_phone="13800000000", anonymous=True)
    assert case.priority == Priority.ORDINARY
    assert case.contact is not None and case.contact.phone == "13800000000"
    assert case.anonymous
