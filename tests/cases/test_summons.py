"""吹哨报到: deadlines on the work calendar, on-time and late check-ins under a held clock,
the counts per department and period, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.cases.models import Case, Outcome
from gongzhi.cases.services import close_case
from gongzhi.cases.summons import SummonsReason, check_in, summon, summons_stats
from gongzhi.db import time_travel
from gongzhi.errors import Conflict, Invalid, NotFound
from gongzhi.org.models import Department
from tests.cases.fixtures import ENFORCEMENT
from tests.cases.helpers import ACTOR, YUHUA_ADDRESS, no_classifier, submit  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_classifier")

MARKET = "330523-SCJG"  # 县市场监管局
T0 = datetime(2026, 9, 16, 1, 0, tzinfo=UTC)  # Wednesday 09:00 in Asia/Shanghai


def _dept(db: Session, code: str) -> Department:
    dept = db.scalar(select(Department).where(Department.code == code))
    assert dept is not None
    return dept


def _case(db: Session, at: datetime = T0) -> Case:
    with time_travel(at):
        return submit(db, address_text=YUHUA_ADDRESS, matter_code="XC-002")


def test_the_deadline_is_two_office_hours_or_thirty_minutes_in_an_emergency(
    db: Session,
) -> None:
    case = _case(db)
    with time_travel(T0):
        ordinary = summon(
            db, case, departments=[ENFORCEMENT], reason="needs_enforcement", actor=ACTOR
        )
        emergency = summon(db, case, departments=[ENFORCEMENT], reason="emergency", actor=ACTOR)
    assert ordinary.due_at == T0 + timedelta(hours=2)
    assert emergency.due_at == T0 + timedelta(minutes=30)
    # At 11:30 the lunch break (12:00-13:30) does not count: due at 15:00.
    late_morning = T0 + timedelta(hours=2, minutes=30)
    with time_travel(late_morning):
        beyond = summon(db, case, departments=[MARKET], reason="beyond_power", actor=ACTOR)
    assert beyond.due_at == datetime(2026, 9, 16, 7, 0, tzinfo=UTC)
    # The emergency window is a parameter (a county may set its own).
    with time_travel(T0):
        quick = summon(
            db,
            case,
            departments=[MARKET],
            reason="emergency",
            actor=ACTOR,
            emergency_window=timedelta(minutes=15),
        )
    assert quick.due_at == T0 + timedelta(minutes=15)


def test_check_ins_before_and_after_the_deadline(db: Session) -> None:
    case = _case(db)
    with time_travel(T0):
        whistle = summon(
            db,
            case,
            departments=[ENFORCEMENT, MARKET],
            reason=SummonsReason.NEEDS_ENFORCEMENT,
            note="违建拆除需执法力量",
            actor=ACTOR,
        )
    enforcement, market = _dept(db, ENFORCEMENT), _dept(db, MARKET)
    with time_travel(T0 + timedelta(hours=1, minutes=59)):
        on_time = check_in(db, whistle, department_id=enforcement.id, note="已到场", actor=ACTOR)
    with time_travel(T0 + timedelta(hours=2, minutes=1)):
        late = check_in(db, whistle, department_id=market.id, actor=ACTOR)
    assert (on_time.late, on_time.note) == (False, "已到场")
    assert late.late is True
    assert late.checked_in_at == T0 + timedelta(hours=2, minutes=1)
    with pytest.raises(Conflict):
        check_in(db, whistle, department_id=market.id, actor=ACTOR)
    with pytest.raises(NotFound):
        check_in(db, whistle, department_id=_dept(db, "330523103-ZF").id, actor=ACTOR)

    kinds = [(e.kind, e.data.get("late")) for e in case.events if e.kind != "submitted"]
    assert ("summoned", None) in kinds
    assert ("checked_in", False) in kinds and ("checked_in", True) in kinds
    audit = db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "case_summons", AuditEvent.object_id == str(whistle.id))
        .order_by(AuditEvent.id)
    ).all()
    assert audit == ["cases.summons.create", "cases.summons.check_in", "cases.summons.check_in"]


def test_stats_per_department_and_period(db: Session) -> None:
    case = _case(db)
    enforcement, market = _dept(db, ENFORCEMENT), _dept(db, MARKET)
    with time_travel(T0):
        first = summon(db, case, departments=[ENFORCEMENT, MARKET], reason="emergency", actor=ACTOR)
    with time_travel(T0 + timedelta(minutes=10)):
        check_in(db, first, department_id=enforcement.id, actor=ACTOR)
    with time_travel(T0 + timedelta(minutes=45)):
        check_in(db, first, department_id=market.id, actor=ACTOR)
    next_day = T0 + timedelta(days=1)
    with time_travel(next_day):
        summon(db, case, departments=[ENFORCEMENT], reason="beyond_power", actor=ACTOR)

    rows = {
        r.department_code: r
        for r in summons_stats(db, since=T0, until=T0 + timedelta(days=2), now=next_day)
    }
    e, m = rows[ENFORCEMENT], rows[MARKET]
    assert (e.summoned, e.checked_in, e.on_time, e.late, e.missing) == (2, 1, 1, 0, 0)
    assert (m.summoned, m.checked_in, m.on_time, m.late, m.missing) == (1, 1, 0, 1, 0)
    # Seen three office hours later, the second summons is missed.
    later = next_day + timedelta(hours=3)
    assert summons_stats(db, since=T0, now=later)[0].missing == 1
    # The period is the day of the summons; the first day alone has one each.
    first_day = {
        r.department_code: r.summoned
        for r in summons_stats(db, since=T0, until=T0 + timedelta(hours=12))
    }
    assert first_day == {ENFORCEMENT: 1, MARKET: 1}
    assert summons_stats(db, since=T0, regions=["330523001000"]) == []
    assert summons_stats(db, since=T0, regions=["330523103000"]) != []


def test_refusals(db: Session) -> None:
    case = _case(db)
    with pytest.raises(Invalid):
        summon(db, case, departments=[ENFORCEMENT], reason="bored", actor=ACTOR)
    with pytest.raises(Invalid):
        summon(db, case, departments=[], reason="emergency", actor=ACTOR)
    with pytest.raises(NotFound):
        summon(db, case, departments=["NO-SUCH"], reason="emergency", actor=ACTOR)
    with pytest.raises(Invalid):  # the dispatch centre is not summoned, it dispatches
        dispatch = db.scalar(select(Department.code).where(Department.kind == "dispatch"))
        assert dispatch is not None
        summon(db, case, departments=[dispatch], reason="emergency", actor=ACTOR)
    close_case(db, case, outcome=Outcome.WITHDRAWN, actor=ACTOR)
    with pytest.raises(Conflict):
        summon(db, case, departments=[ENFORCEMENT], reason="emergency", actor=ACTOR)
