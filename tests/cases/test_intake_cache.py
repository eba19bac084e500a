"""Intake reads the responsibility list and the work calendar from a per-process cache: it
must route and count deadlines by the list as it is now, whoever changed it and however."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongzhi.cases.models import CaseStatus, ClockKind
from gongzhi.org import queries
from gongzhi.org import services as org_services
from gongzhi.org.models import CalendarOverride, Department, Matter, Responsibility
from gongzhi.org.services import DATA_DIR
from tests.cases.fixtures import ENFORCEMENT, ZHANGWU_GOV
from tests.cases.helpers import (
    ACTOR,
    COUNTY_ADDRESS,
    YUHUA_ADDRESS,
    held_clock,  # noqa: F401
    no_classifier,  # noqa: F401
    statements_run,
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier")

HOUSING = "330523-ZJ"


def _list_with(old: str, new: str) -> bytes:
    text = (DATA_DIR / "responsibilities.csv").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new).encode()


def _lead_code(db: Session, department_id: int | None) -> str | None:
    return db.scalar(select(Department.code).where(Department.id == department_id))


def _as_if_another_process_wrote(db: Session, statement: object) -> None:
    """Write past this session's events (as another process's transaction would), and start
    a fresh unit of work's check as a new request would."""
    db.connection().execute(statement)  # type: ignore[call-overload]
    db.info.pop("org.responsibility_list", None)


def test_a_reimported_list_routes_the_next_intake(db: Session) -> None:
    before = submit(db, address_text=COUNTY_ADDRESS, matter_code="XC-002")
    assert _lead_code(db, before.lead_department_id) == HOUSING
    data = _list_with(
        "县住建局,县综合执法局,属地,,,,0.5,0.5,1,1", "县综合执法局,,属地,,,,0.5,0.5,1,1"
    )
    result = org_services.import_responsibilities(db, data, actor=ACTOR)
    assert result.updated == ["XC-002"]
    after = submit(db, address_text=COUNTY_ADDRESS, matter_code="XC-002")
    assert _lead_code(db, after.lead_department_id) == ENFORCEMENT
    assert [a.role for a in after.assignments] == ["lead"]  # the co-handler is gone too


def test_a_matter_dropped_from_the_list_is_no_longer_taken(db: Session) -> None:
    text = (DATA_DIR / "responsibilities.csv").read_text(encoding="utf-8")
    kept = "\n".join(line for line in text.splitlines() if not line.startswith("XC-007,"))
    submit(db, address_text=COUNTY_ADDRESS, matter_code="XC-007")  # caches the list
    org_services.import_responsibilities(db, kept.encode(), actor=ACTOR)
    case = submit(db, address_text=COUNTY_ADDRESS, matter_code="XC-007")
    assert case.matter_code is None and case.attributes["submitted_matter_code"] == "XC-007"


def test_limits_changed_in_place_by_another_process_apply(db: Session, held_clock) -> None:  # noqa: F811
    first = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    accept_due = next(c.due_at for c in first.clocks if c.kind == ClockKind.ACCEPT)
    matter_id = db.scalar(select(Matter.id).where(Matter.code == "XC-002"))
    _as_if_another_process_wrote(
        db,
        update(Responsibility)
        .where(Responsibility.matter_id == matter_id)
        .values(signoff_hours=Responsibility.signoff_hours + 2),
    )
    second = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    later = next(c.due_at for c in second.clocks if c.kind == ClockKind.ACCEPT)
    assert later - accept_due == timedelta(hours=2)  # same moment (held clock), 2 more hours


def test_a_department_deactivated_elsewhere_no_longer_leads(db: Session) -> None:
    first = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    assert _lead_code(db, first.lead_department_id) == ZHANGWU_GOV
    _as_if_another_process_wrote(
        db, update(Department).where(Department.code == ZHANGWU_GOV).values(active=False)
    )
    second = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    # The township no longer serves: the county level leads.
    assert second.status == CaseStatus.DISPATCHED
    assert _lead_code(db, second.lead_department_id) == HOUSING


def test_a_new_holiday_moves_the_next_deadline(db: Session, held_clock) -> None:  # noqa: F811
    first = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    due = next(c.due_at for c in first.clocks if c.kind == ClockKind.FEEDBACK)
    tomorrow = (held_clock.now + timedelta(days=1)).date()
    org_services.set_calendar_override(db, day=tomorrow, is_workday=False, actor=ACTOR)
    second = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    moved = next(c.due_at for c in second.clocks if c.kind == ClockKind.FEEDBACK)
    assert moved > due


def test_a_rolled_back_change_is_forgotten(db: Session) -> None:
    savepoint = db.begin_nested()
    db.execute(update(Department).where(Department.code == ZHANGWU_GOV).values(active=False))
    inside = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    assert _lead_code(db, inside.lead_department_id) == HOUSING
    savepoint.rollback()
    outside = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    assert _lead_code(db, outside.lead_department_id) == ZHANGWU_GOV


def test_the_cached_list_costs_one_query_per_unit_of_work(db: Session) -> None:
    queries.responsibility_list(db)  # loaded and checked
    db.info.pop("org.responsibility_list", None)  # a new unit of work
    with statements_run(db) as statements:
        queries.responsibility_list(db)
        queries.responsibility_list(db)
        queries.calendar_for(db, _settings(), "330523103202")
    assert len(statements) == 1


def test_lead_for_gives_the_sessions_own_departments(db: Session) -> None:
    township = db.scalar(select(Department).where(Department.code == ZHANGWU_GOV))
    lead = queries.lead_for(db, "XC-002", "330523103202")
    assert lead is not None and lead.lead is township


def test_an_override_for_another_region_does_not_apply(db: Session) -> None:
    day = date(2026, 9, 16)  # a Wednesday
    db.add(CalendarOverride(day=day, is_workday=False, note="", region_code="330523001000"))
    db.flush()
    assert not queries.calendar_for(db, _settings(), "330523001001").is_workday(day)
    assert queries.calendar_for(db, _settings(), "330523103202").is_workday(day)
    assert queries.calendar_for(db, _settings()).is_workday(day)


def _settings():  # type: ignore[no-untyped-def]
    from gongzhi.config import get_settings

    return get_settings()
