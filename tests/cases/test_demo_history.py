"""The demo's case history: a small one covers every state, outcome, channel and kind of
place, duplicates merged (and one unmerged), "me too" support and 吹哨报到 with check-ins on
time, late and still awaited, each case made through the services (its audit events exist),
reproducibly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.cases.demo_history import build_case_history
from gongzhi.cases.models import Case, CaseEvent, CaseStatus, Channel, Outcome
from gongzhi.regions.models import Region

END = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
START = END - timedelta(days=120)


def test_a_small_history_covers_everything(db: Session, seeded: None, client: TestClient) -> None:
    # One build (the slow part) checked from several sides.
    report = build_case_history(db, n=200, seed=7, start=START, end=END)
    assert report.cases == 200
    history = list(db.scalars(select(Case).order_by(Case.id)))
    _every_status_outcome_and_channel(history)
    _urban_and_rural_places(db, history)
    _made_through_the_services_over_the_months(db, history)
    _open_cases_are_overdue_returned_reopened_and_rated_low(db, history)
    _duplicates_merged_unmerged_and_supported(db, history)
    _summons_with_check_ins_on_time_late_and_pending(db, history)
    _the_pages_show_merges_support_and_summons(db, client)


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


def _duplicates_merged_unmerged_and_supported(db: Session, history: list[Case]) -> None:
    from gongzhi.cases.duplicates import CaseMerge, CaseSupporter

    merges = db.scalars(select(CaseMerge)).all()
    standing = [m for m in merges if m.active]
    undone = [m for m in merges if not m.active]
    assert standing and undone
    by_id = {c.id: c for c in history}
    for merge in standing:
        duplicate, main = by_id[merge.duplicate_case_id], by_id[merge.main_case_id]
        assert duplicate.outcome == Outcome.DUPLICATE
        # The same problem: the same category and place, reported after the main case.
        assert (duplicate.matter_code, duplicate.region_code) == (
            main.matter_code,
            main.region_code,
        )
        assert duplicate.created_at > main.created_at
    for merge in undone:
        assert merge.unmerged_at is not None
        assert by_id[merge.duplicate_case_id].outcome != Outcome.DUPLICATE
    actions = set(
        db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.action.in_(
                    ("cases.case.merge", "cases.case.unmerge", "cases.case.support")
                )
            )
        )
    )
    assert actions == {"cases.case.merge", "cases.case.unmerge", "cases.case.support"}
    unmerge = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "cases.case.unmerge")
    ).first()
    assert unmerge is not None and unmerge.reason  # unmerged with a reason
    me_too = db.scalars(select(CaseSupporter).where(CaseSupporter.kind == "me_too")).all()
    assert me_too and all(s.account_id != by_id[s.case_id].reporter_account_id for s in me_too)


def _summons_with_check_ins_on_time_late_and_pending(db: Session, history: list[Case]) -> None:
    from gongzhi.cases.summons import CaseSummons, CheckInState, check_in_state, summons_stats
    from gongzhi.security.models import Account, RoleGrant

    rows = db.scalars(select(CaseSummons)).all()
    assert rows
    states = {check_in_state(d, END) for s in rows for d in s.departments}
    assert states >= {CheckInState.ON_TIME, CheckInState.LATE, CheckInState.WAITING}
    # Blown by township clerks, each within their own township.
    for summons in rows:
        assert summons.summoned_by_id is not None
        scopes = set(
            db.scalars(
                select(RoleGrant.region_code)
                .join(Account, Account.id == RoleGrant.account_id)
                .where(Account.id == summons.summoned_by_id, RoleGrant.role == "township_clerk")
            )
        )
        assert summons.region_code is not None
        assert summons.region_code[:9] + "000" in scopes
    stats = summons_stats(db)
    assert sum(r.on_time for r in stats) and sum(r.late for r in stats)
    assert sum(r.summoned for r in stats) == sum(len(s.departments) for s in rows)


def _the_pages_show_merges_support_and_summons(db: Session, client: TestClient) -> None:
    from gongzhi.cases.duplicates import CaseMerge, CaseSupporter
    from gongzhi.cases.summons import CaseSummons
    from tests.security.fixtures import login_as

    login_as(client, "dispatcher")
    merge = db.scalars(select(CaseMerge).where(CaseMerge.active.is_(True))).first()
    assert merge is not None
    main, duplicate = db.get(Case, merge.main_case_id), db.get(Case, merge.duplicate_case_id)
    assert main is not None and duplicate is not None
    page = client.get(f"/cases/{main.number}")
    assert page.status_code == 200 and duplicate.number in page.text
    backed = db.scalars(select(CaseSupporter).where(CaseSupporter.kind == "me_too")).first()
    assert backed is not None
    backed_case = db.get(Case, backed.case_id)
    assert backed_case is not None
    page = client.get(f"/cases/{backed_case.number}")
    assert page.status_code == 200
    shown = page.text.split('id="supporters">', 1)[1].split("<", 1)[0]
    assert int(shown) >= 1
    summoned = db.scalars(select(CaseSummons)).first()
    assert summoned is not None
    stats = client.get("/cases/summons/stats")
    assert stats.status_code == 200 and "data-department=" in stats.text
