"""The demo's case history: a small one covers every state, outcome, channel and kind of
place, each case made through the services (its audit events exist), reproducibly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.cases.demo_history import build_case_history
from gongzhi.cases.models import Case, CaseEvent, CaseStatus, Channel, Outcome
from gongzhi.regions.models import Region

END = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
START = END - timedelta(days=120)


def test_a_small_history_covers_everything(db: Session, seeded: None) -> None:
    # One build (the slow part) checked from several sides.
    report = build_case_history(db, n=200, seed=7, start=START, end=END)
    assert report.cases == 200
    history = list(db.scalars(select(Case).order_by(Case.id)))
    _every_status_outcome_and_channel(history)
    _urban_and_rural_places(db, history)
    _made_through_the_services_over_the_months(db, history)
    _open_cases_are_overdue_returned_reopened_and_rated_low(db, history)


def _every_status_outcome_and_channel(history: list[Case]) -> None:
    assert {c.status for c in history} == {s.value for s in CaseStatus}
    closed = [c for c in history if c.status == CaseStatus.CLOSED]
    assert {c.outcome for c in closed} == {o.value for o in Outcome}
    assert all(c.outcome is None for c in history if c.status != CaseStatus.CLOSED)
    assert {c.channel for c in history} == {ch.value for ch in Channel}


def _urban_and_rural_places(db: Session, history: list[Case]) -> None:
    codes = {c.region_code for c in history if c.region_code}
    kinds = set(db.scalars(select(Region.is_urban).where(Region.code.in_(codes))))
    assert kinds >= {True, False}


def _made_through_the_services_over_the_months(db: Session, history: list[Case]) -> None:
    numbers = [c.number for c in history]
    audited: dict[str | None, int] = dict(
        db.execute(
            select(AuditEvent.object_id, func.count())
            .where(AuditEvent.object_type == "service_case", AuditEvent.object_id.in_(numbers))
            .group_by(AuditEvent.object_id)
        ).all()
    )
    assert set(audited) == set(numbers)
    actions = set(
        db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "service_case", AuditEvent.object_id.in_(numbers)
            )
        )
    )
    for verb in ("submit", "dispatch", "accept", "return", "feedback", "verify", "close",
                 "rate", "reopen", "extension.request", "extension.decide", "pause"):  # fmt: skip
        assert f"cases.case.{verb}" in actions, verb
    # The moments are spread over the period, not stamped at the time of the build.
    created = [c.created_at for c in history]
    assert min(created) >= START and max(created) <= END
    assert max(created) - min(created) > timedelta(days=60)
    last = db.scalar(
        select(func.max(CaseEvent.at)).where(CaseEvent.case_id.in_([c.id for c in history]))
    )
    assert last is not None and last <= END


def _open_cases_are_overdue_returned_reopened_and_rated_low(
    db: Session, history: list[Case]
) -> None:
    from gongzhi.cases.models import CaseClock

    open_ids = [c.id for c in history if c.status != CaseStatus.CLOSED]
    overdue = db.scalar(
        select(func.count())
        .select_from(CaseClock)
        .where(
            CaseClock.case_id.in_(open_ids),
            CaseClock.stopped_at.is_(None),
            CaseClock.due_at < END,
        )
    )
    assert overdue
    assert any(c.reopen_count for c in history)
    assert any(c.rating is not None and c.rating <= 2 for c in history)
    assert any(a.returned_at is not None for c in history for a in c.assignments)
    # "Not ours" is closed, never resolved.
    assert all(c.outcome != "resolved" for c in history if c.outcome == Outcome.NOT_OURS)


def test_same_seed_same_history(db: Session, seeded: None) -> None:
    runs = []
    for _ in range(2):
        savepoint = db.begin_nested()
        report = build_case_history(db, n=30, seed=3, start=START, end=END)
        runs.append(
            (report.by_status, list(db.scalars(select(Case.description).order_by(Case.id))))
        )
        savepoint.rollback()
    assert runs[0] == runs[1]
    assert len(runs[0][1]) == 30
