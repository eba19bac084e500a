"""Reads for other domains (Open311 feed, deadlines, lead names), the overdue list, the
deadline sweep, local calendar overrides, and the reporter's notifications."""

from __future__ import annotations

import sys
import types
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.cases import queries, services
from gongzhi.cases.models import CaseStatus, ClockKind, Outcome
from gongzhi.org.services import set_calendar_override
from tests.cases.fixtures import ENFORCEMENT
from tests.cases.helpers import (
    ACTOR,
    YUHUA_ADDRESS,
    HeldClock,
    held_clock,  # noqa: F401
    no_classifier,  # noqa: F401
    principal,
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier")
SH = ZoneInfo("Asia/Shanghai")


def test_feed_filters_and_the_contract_reads(db: Session) -> None:
    routed = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    waiting = submit(db, address_text=YUHUA_ADDRESS)
    closed = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-004")
    services.close_case(db, closed, outcome=Outcome.WITHDRAWN, actor=ACTOR)

    assert queries.case_by_number(db, routed.number) is routed
    assert queries.case_by_number(db, "AJ-19990101-0001") is None
    numbers = [routed.number, waiting.number, closed.number]
    feed = queries.cases_for_feed(db, numbers=numbers)
    assert {c.number for c in feed} == set(numbers)
    assert [c.number for c in queries.cases_for_feed(db, numbers=numbers, status="closed")] == [
        closed.number
    ]
    assert {c.number for c in queries.cases_for_feed(db, numbers=numbers, status="open")} == {
        routed.number,
        waiting.number,
    }
    assert [c.number for c in queries.cases_for_feed(db, ids=[routed.id])] == [routed.number]
    assert [
        c.number for c in queries.cases_for_feed(db, numbers=numbers, matter_codes=["XC-002"])
    ] == [routed.number]
    future = datetime.now(UTC) + timedelta(days=1)
    assert queries.cases_for_feed(db, numbers=numbers, since=future) == []
    assert len(queries.cases_for_feed(db, numbers=numbers, limit=2)) == 2

    assert queries.lead_department_name(db, routed) == "鄣吴镇人民政府"
    assert queries.lead_department_name(db, waiting) is None
    feedback_due = next(c.due_at for c in routed.clocks if c.kind == ClockKind.FEEDBACK)
    assert queries.due_at(db, routed) == feedback_due  # not signed yet: the feedback promise
    services.accept_case(db, routed, actor=ACTOR)
    handle_due = next(c.due_at for c in routed.clocks if c.kind == ClockKind.HANDLE)
    assert queries.due_at(db, routed) == handle_due


def test_overdue_list_and_sweep_warn_then_escalate(db: Session, held_clock: HeldClock) -> None:  # noqa: F811
    held_clock.now = datetime(2026, 9, 16, 9, tzinfo=SH).astimezone(UTC)  # Wednesday
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    services.accept_case(db, case, actor=ACTOR)
    handle = next(c for c in case.clocks if c.kind == ClockKind.HANDLE)
    # 井盖: one working day to handle, due Thu 17 Sep 17:30.
    assert handle.due_at == datetime(2026, 9, 17, 17, 30, tzinfo=SH).astimezone(UTC)
    dispatcher = principal(db, "dispatcher")

    early = services.sweep_clocks(db, actor=ACTOR, now=held_clock.now)
    assert handle.warned_at is None and early.warned == 0
    near = datetime(2026, 9, 17, 16, 45, tzinfo=SH).astimezone(UTC)
    assert services.sweep_clocks(db, actor=ACTOR, now=near).warned >= 1
    assert handle.warned_at == near
    assert services.sweep_clocks(db, actor=ACTOR, now=near).warned == 0  # once only
    assert case not in [c for c, _ in queries.overdue_cases(db, dispatcher, near)]

    late = datetime(2026, 9, 18, 9, tzinfo=SH).astimezone(UTC)
    assert services.sweep_clocks(db, actor=ACTOR, now=late).escalated >= 1
    assert (handle.escalation_level, handle.breached) == (1, True)
    assert (case, handle) in queries.overdue_cases(db, dispatcher, late)
    assert services.sweep_clocks(db, actor=ACTOR, now=late).escalated == 0  # idempotent
    # Late by more than twice its 7.5 working hours: up to the level above.
    much_later = datetime(2026, 9, 23, 9, tzinfo=SH).astimezone(UTC)
    services.sweep_clocks(db, actor=ACTOR, now=much_later)
    assert handle.escalation_level == 3
    escalations = db.scalars(
        select(AuditEvent.new).where(
            AuditEvent.action == "cases.clock.escalate", AuditEvent.object_id == case.number
        )
    ).all()
    assert [e["level"] for e in escalations if e["clock"] == "handle"] == [1, 3]
    assert any(e.kind == "escalated" and not e.public for e in case.events)


def test_paused_clocks_are_never_overdue(db: Session, held_clock: HeldClock) -> None:  # noqa: F811
    case = submit(db, address_text=YUHUA_ADDRESS)
    services.pause_for_citizen(db, case, reason="等群众回复", actor=ACTOR)
    far = held_clock.now + timedelta(days=60)
    assert case not in [c for c, _ in queries.overdue_cases(db, None, far)]
    services.sweep_clocks(db, actor=ACTOR, now=far)
    assert all(c.escalation_level == 0 for c in case.clocks)


def test_a_local_holiday_moves_the_deadline(db: Session, held_clock: HeldClock) -> None:  # noqa: F811
    held_clock.now = datetime(2026, 9, 16, 9, tzinfo=SH).astimezone(UTC)
    set_calendar_override(
        db, day=date(2026, 9, 17), is_workday=False, region_code="330523000000", actor=ACTOR
    )
    case = submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")
    feedback = next(c for c in case.clocks if c.kind == ClockKind.FEEDBACK)
    # One working day after Wednesday, Thursday being a local day off: Friday.
    assert feedback.due_at == datetime(2026, 9, 18, 17, 30, tzinfo=SH).astimezone(UTC)


def test_the_reporter_is_notified_on_dispatch_and_close(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    module = types.ModuleType("gongzhi.notify.services")
    module.enqueue = lambda db, **kw: sent.append(kw)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gongzhi.notify.services", module)
    citizen = principal(db, "citizen")
    case = submit(db, address_text=YUHUA_ADDRESS, reporter_account_id=citizen.account_id)
    services.dispatch_case(db, case, to=ENFORCEMENT, actor=principal(db, "dispatcher"))
    services.close_case(db, case, outcome=Outcome.NOT_OURS, note="企业设施", actor=ACTOR)
    assert [(n["kind"], n["recipient_account_id"], n["case_number"]) for n in sent] == [
        ("case_dispatched", citizen.account_id, case.number),
        ("case_closed", citizen.account_id, case.number),
    ]
    anonymous_caller = submit(db, address_text=YUHUA_ADDRESS)
    services.close_case(db, anonymous_caller, outcome=Outcome.WITHDRAWN, actor=ACTOR)
    assert len(sent) == 2  # nobody to tell
    assert case.status == CaseStatus.CLOSED


def test_overdue_queue_through_the_api(
    client: Any,
    db: Session,
    held_clock: HeldClock,  # noqa: F811
) -> None:
    from tests.security.fixtures import login_as

    held_clock.now = datetime.now(UTC) - timedelta(days=30)
    case = submit(db, address_text=YUHUA_ADDRESS)
    db.flush()
    login_as(client, "dispatcher")
    overdue = client.get("/api/v1/cases", params={"queue": "overdue"}).json()
    assert case.number in [c["number"] for c in overdue]
    detail = client.get(f"/api/v1/cases/{case.number}").json()
    dispatch = next(c for c in detail["clocks"] if c["kind"] == "dispatch")
    assert dispatch["overdue"] and dispatch["remaining_seconds"] < 0


def test_the_sweep_job_escalates(db: Session, held_clock: HeldClock) -> None:  # noqa: F811
    from gongzhi.audit.services import SystemActor
    from gongzhi.cases.jobs import sweep_deadlines
    from gongzhi.config import Settings
    from gongzhi.jobs import JobContext

    case = submit(db, address_text=YUHUA_ADDRESS)
    late = held_clock.now + timedelta(days=10)
    ctx = JobContext(db=db, now=late, settings=Settings(env="test"), actor=SystemActor("job"))
    report = sweep_deadlines(ctx)
    assert report.escalated >= 1
    dispatch = next(c for c in case.clocks if c.kind == ClockKind.DISPATCH)
    assert dispatch.escalation_level >= 1 and dispatch.breached
