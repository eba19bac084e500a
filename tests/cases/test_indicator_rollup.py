"""The indicators' daily roll-up: ``compute`` with it gives exactly the figures of the live
computation over the case tables — for whole and partial days, every grouping and scope —
and stays exact after late changes to old cases (a rating days after closing, a reopening,
a return, a re-routing, a paused deadline that moves), before the job has run again and
after."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.audit.services import SystemActor
from gongzhi.cases import cli as cases_cli
from gongzhi.cases import rollup, services
from gongzhi.cases.demo_history import build_case_history
from gongzhi.cases.duplicates import merge_case, unmerge_case
from gongzhi.cases.indicators import DIMENSIONS, Scope, Tally, compute
from gongzhi.cases.models import Case, CaseClock, CaseStatus, ClockKind, Outcome
from gongzhi.cases.rollup_models import MONTH_BUILT, CaseIndicatorDay, CaseIndicatorRollup
from gongzhi.config import Settings
from gongzhi.db import time_travel
from gongzhi.jobs import JobContext, load_jobs
from gongzhi.org.models import Department, DepartmentKind
from tests.cases.helpers import submit

TZ = ZoneInfo("Asia/Shanghai")
# A year and more back, clear of the cases other tests commit today.
END = datetime(2025, 9, 20, 2, 0, tzinfo=UTC)
START = END - timedelta(days=75)
# The roll-up is built the next morning (local), after the history's last day.
ROLLED = END + timedelta(days=1)
ACTOR = SystemActor("test")
ZHANGWU = "330523103000"
YUHUA = "330523103202"  # a village of 鄣吴镇
YUHUA_ADDRESS = "浙江省湖州市安吉县鄣吴镇玉华村"


def local_midnight(moment: datetime) -> datetime:
    day = moment.astimezone(TZ).date()
    return datetime(day.year, day.month, day.day, tzinfo=TZ)


FIRST_DAY = local_midnight(START)
PERIODS = [
    # the whole history, local days (as the page and API ask), deadlines after it included
    (FIRST_DAY, local_midnight(END) + timedelta(days=40)),
    # one local month in the middle
    (FIRST_DAY + timedelta(days=20), FIRST_DAY + timedelta(days=50)),
    # partial days at both edges
    (FIRST_DAY + timedelta(days=3, hours=5, minutes=17), END - timedelta(hours=31)),
    # the last week, up to the end of "today" (not rolled up)
    (local_midnight(END) - timedelta(days=6), local_midnight(ROLLED) + timedelta(days=1)),
]
SCOPES = [
    None,
    Scope(regions=(ZHANGWU,), include_unplaced=False),
    Scope(regions=("330523000000",), include_unplaced=True),
    Scope(regions=(YUHUA,), include_unplaced=False),  # finer than the department grain
    Scope(regions=(), include_unplaced=False),  # sees nothing
]

# Checked after every change: the whole history and the partial days, county and township.
QUICK_PERIODS = [PERIODS[0], PERIODS[2]]
QUICK_SCOPES = SCOPES[:2]


@pytest.fixture
def history(db: Session, seeded: None, settings: Settings) -> None:
    report = build_case_history(db, n=140, seed=23, start=START, end=END, settings=settings)
    assert report.cases == 140
    # A case waiting for the citizen before its feedback deadline, which passes while it
    # waits (on a day that gets rolled up): resuming later moves that deadline.
    with time_travel(END - timedelta(days=12)):
        waiting = submit(db, address_text=YUHUA_ADDRESS, description="楼道里的路灯坏了")
    with time_travel(END - timedelta(days=11)):
        services.pause_for_citizen(db, waiting, reason="等待群众补充照片", actor=ACTOR)
    # Two reports of the same problem, merged before the roll-up (unmerged later).
    with time_travel(END - timedelta(days=9)):
        main = submit(db, address_text=YUHUA_ADDRESS, description="村口的垃圾桶满了没人清运")
        again = submit(db, address_text=YUHUA_ADDRESS, description="村口垃圾桶满了，好几天了")
    with time_travel(END - timedelta(days=8)):
        merge_case(db, again, into=main, actor=ACTOR, reason="同一个垃圾桶")
    db.flush()


def assert_same(
    db: Session,
    periods: list[tuple[datetime, datetime]] = PERIODS,
    scopes: list[Scope | None] = SCOPES,
) -> None:
    for start, end in periods:
        for scope in scopes:
            for by in DIMENSIONS:
                rolled = compute(db, by=by, start=start, end=end, scope=scope)
                live = compute(db, by=by, start=start, end=end, scope=scope, use_rollup=False)
                assert rolled.figures() == live.figures(), (by, start, end, scope)
                assert rolled.total.counts == live.total.counts


def live_spans(db: Session, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The stretches of ``[start, end)`` that ``compute`` counts from the case tables."""
    return rollup.add_rolled_counts(
        db, defaultdict(Tally), by="department", start=start, end=end, scope=Scope()
    )


def rolled_span(db: Session) -> tuple[datetime, datetime]:
    """From the first rolled-up day's start to the last one's end."""
    first, last = db.execute(
        select(func.min(CaseIndicatorDay.starts_at), func.max(CaseIndicatorDay.ends_at))
    ).one()
    return first, last


def covered(spans: list[tuple[datetime, datetime]], moment: datetime) -> bool:
    return any(a <= moment < b for a, b in spans)


def run_job(db: Session, settings: Settings, at: datetime) -> rollup.RefreshReport:
    with time_travel(at):
        report = rollup.refresh(db, settings=settings, day_limit=500)
    db.flush()
    return report


@pytest.mark.usefixtures("history")
def test_rollup_gives_the_live_figures(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job rolls up at most JOB_DAY_LIMIT days per run, oldest first; the next run the rest.
    job = load_jobs()["cases.rollup_indicators"]
    with time_travel(ROLLED):
        first_run = job.func(JobContext(db=db, now=ROLLED, settings=settings, actor=ACTOR))
    assert first_run.new == rollup.JOB_DAY_LIMIT
    with time_travel(ROLLED):
        assert_same(db, QUICK_PERIODS, QUICK_SCOPES)  # half rolled up, half live
    report = run_job(db, settings, ROLLED + timedelta(minutes=5))
    days = db.scalar(select(func.count()).select_from(CaseIndicatorDay))
    assert report.new == days - rollup.JOB_DAY_LIMIT > 0
    # From the first case's local day to the day before the run (today is never rolled up).
    first = db.scalar(select(func.min(CaseIndicatorDay.day)))
    last = db.scalar(select(func.max(CaseIndicatorDay.day)))
    first_case = db.scalar(select(func.min(Case.created_at)))
    assert first == first_case.astimezone(TZ).date()
    assert last == ROLLED.astimezone(TZ).date() - timedelta(days=1)
    assert days == (last - first).days + 1
    assert db.scalar(select(func.count()).select_from(CaseIndicatorRollup)) > 0

    # The roll-up is what answers: only the partial edges and today are counted live.
    whole = rolled_span(db)
    assert whole[1] == local_midnight(ROLLED)
    with time_travel(ROLLED + timedelta(minutes=6)):
        assert live_spans(db, *whole) == []
        start, end = PERIODS[2]
        spans = live_spans(db, start, end)
    assert [a for a, _ in spans] == [start, local_midnight(end)]
    assert spans[0][1] == local_midnight(start) + timedelta(days=1)
    assert spans[1][1] == end

    with time_travel(ROLLED + timedelta(minutes=6)):
        assert_same(db)
    # The history exercises every indicator.
    table = compute(db, by="township", start=PERIODS[0][0], end=PERIODS[0][1])
    for name, (_num, den) in table.total.counts.items():
        assert den > 0, name
    assert table.total.counts["return"][0] > 0

    # A run with nothing changed rolls up nothing and keeps every day usable.
    again = run_job(db, settings, ROLLED + timedelta(minutes=30))
    assert (again.stale, again.new, again.left) == (0, 0, 0)

    # The command rebuilds the days asked for, one unit of work per day.
    monkeypatch.setattr(cases_cli, "_rollup_session_factory", lambda: lambda: db)
    monkeypatch.setattr("gongzhi.config.get_settings", lambda: settings)
    first = (START + timedelta(days=10)).astimezone(TZ).date()
    result = CliRunner().invoke(
        cases_cli.app,
        ["rollup", "--from", first.isoformat(), "--to", (first + timedelta(days=13)).isoformat()],
    )
    assert result.exit_code == 0, result.output
    assert "rolled up 14 day(s)" in result.output
    rolled_again = db.scalars(
        select(CaseIndicatorDay.day).where(CaseIndicatorDay.rolled_at > ROLLED + timedelta(days=1))
    )
    assert list(rolled_again) == [first + timedelta(days=i) for i in range(14)]
    assert_same(db, QUICK_PERIODS, QUICK_SCOPES)
    bad = CliRunner().invoke(cases_cli.app, ["rollup", "--from", "yesterday"])
    assert bad.exit_code != 0


def _changes(db: Session) -> list[tuple[str, Callable[[], datetime], bool]]:
    """Late changes to old cases: each returns the moment of an old event of the case, and
    says whether the change can alter the days already rolled up (a rating cannot: it
    counts on its own day)."""

    def one(*where: object) -> Case:
        found = db.scalars(select(Case).where(*where).order_by(Case.id)).first()
        assert found is not None, where
        return found

    def rate() -> datetime:
        case = one(Case.status == CaseStatus.CLOSED.value, Case.rating.is_(None))
        services.rate_case(db, case, rating=2, comment="不满意", actor=ACTOR)
        assert case.closed_at is not None
        return case.closed_at

    def reopen() -> datetime:
        # Closed within the reopening window, and rated: both are taken back.
        case = db.scalars(
            select(Case)
            .where(Case.status == CaseStatus.CLOSED.value, Case.rating.is_not(None))
            .order_by(Case.closed_at.desc())
        ).first()
        assert case is not None and case.closed_at is not None
        closed_at = case.closed_at
        services.reopen_case(db, case, reason="问题又出现了", actor=ACTOR)
        return closed_at

    def accept() -> datetime:
        # Signed long after the dispatch: that dispatch's day changes (response).
        case = one(Case.status == CaseStatus.DISPATCHED.value)
        assigned = case.assignments[-1].assigned_at
        services.accept_case(db, case, actor=ACTOR)
        return assigned

    def return_() -> datetime:
        case = one(Case.status == CaseStatus.ACCEPTED.value)
        assigned = case.assignments[-1].assigned_at
        services.return_case(db, case, reason_code="not_our_duty", actor=ACTOR)
        return assigned

    def reroute() -> datetime:
        # An open case whose feedback deadline passed on a rolled-up day: that count moves
        # to the new lead.
        clock = db.scalars(
            select(CaseClock)
            .join(Case, Case.id == CaseClock.case_id)
            .where(
                Case.status.in_((CaseStatus.ACCEPTED.value, CaseStatus.DISPATCHED.value)),
                Case.waiting_for_citizen.is_(False),
                CaseClock.kind == ClockKind.FEEDBACK.value,
                CaseClock.due_at < END,
            )
            .order_by(CaseClock.id)
        ).first()
        assert clock is not None
        case = db.get(Case, clock.case_id)
        assert case is not None
        other = db.scalars(
            select(Department)
            .where(
                Department.active.is_(True),
                Department.kind != DepartmentKind.DISPATCH.value,
                Department.id != case.lead_department_id,
            )
            .order_by(Department.id)
        ).first()
        assert other is not None
        services.dispatch_case(db, case, to=other, actor=ACTOR)
        return clock.due_at

    def resume() -> datetime:
        case = db.scalars(
            select(Case).where(Case.waiting_for_citizen.is_(True)).order_by(Case.id.desc())
        ).first()
        assert case is not None
        clock = db.scalars(
            select(CaseClock).where(
                CaseClock.case_id == case.id,
                CaseClock.kind == ClockKind.FEEDBACK.value,
                CaseClock.stopped_at.is_(None),
            )
        ).one()
        before = clock.due_at
        services.resume(db, case, actor=ACTOR, note="群众已补充")
        assert clock.due_at > before  # the deadline moved off a rolled-up day
        return before

    def unmerge() -> datetime:
        merged = db.scalars(
            select(Case).where(Case.outcome == Outcome.DUPLICATE.value).order_by(Case.id.desc())
        ).first()
        assert merged is not None and merged.closed_at is not None
        closed_at = merged.closed_at
        unmerge_case(db, merged, actor=ACTOR, reason="不是同一个问题")
        return closed_at

    def move() -> datetime:
        # A change with no timeline entry (here: the place corrected by hand); the column's
        # onupdate stamps updated_at, and the rule assumes the worst.
        case = one(Case.status == CaseStatus.CLOSED.value, Case.region_code != YUHUA)
        case.region_code = YUHUA
        assert case.closed_at is not None
        return case.closed_at

    return [("rate", rate, False), ("accept", accept, True), ("reopen", reopen, True),
            ("return", return_, True), ("reroute", reroute, True), ("resume", resume, True),
            ("unmerge", unmerge, True), ("move", move, True)]  # fmt: skip


@pytest.mark.usefixtures("history")
def test_late_changes_never_read_stale_days(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_job(db, settings, ROLLED)
    moment = ROLLED + timedelta(hours=2)
    for name, change, alters_past_days in _changes(db):
        moment += timedelta(hours=3)
        with time_travel(moment):
            old_event = change()
            db.flush()
        with time_travel(moment + timedelta(minutes=1)):
            # Before the job runs again: the days the change may alter are counted live.
            spans = live_spans(db, *rolled_span(db))
            assert covered(spans, old_event) == alters_past_days, name
            assert_same(db, QUICK_PERIODS, QUICK_SCOPES)
        # The job rolls those days up again; once past the margin they are read again.
        report = run_job(db, settings, moment + timedelta(minutes=2))
        assert (report.stale > 0) == alters_past_days, name
        later = moment + rollup.CHANGE_MARGIN + timedelta(minutes=3)
        run_job(db, settings, later)
        with time_travel(later):
            assert live_spans(db, *rolled_span(db)) == [], name
            assert_same(db, QUICK_PERIODS, QUICK_SCOPES)

    # A change stamped a little before the job's check but committed after it (a
    # transaction in flight while the job ran) is within the margin: still not read.
    checked = moment + timedelta(hours=1)
    run_job(db, settings, checked)
    with time_travel(checked - timedelta(minutes=2)):
        case = db.scalars(
            select(Case).where(Case.status == CaseStatus.ACCEPTED.value).order_by(Case.id)
        ).first()
        assert case is not None
        dispatched = case.assignments[-1].assigned_at
        services.return_case(db, case, reason_code="wrong_region", actor=ACTOR)
        db.flush()
    with time_travel(checked + timedelta(minutes=1)):
        assert covered(live_spans(db, *rolled_span(db)), dispatched)
        assert_same(db, QUICK_PERIODS, QUICK_SCOPES)
    moment = checked

    # With more changed cases than a query looks at, the days checked before the oldest
    # change it read count as stale: slower, never wrong.
    monkeypatch.setattr(rollup, "QUERY_CHANGE_LIMIT", 1)
    for _name, change, _alters in _changes(db)[:2]:
        moment += timedelta(hours=1)
        with time_travel(moment):
            change()
            db.flush()
    with time_travel(moment + timedelta(minutes=1)):
        whole = rolled_span(db)
        assert live_spans(db, *whole) == [whole]
        assert_same(db, QUICK_PERIODS, QUICK_SCOPES)


def test_one_roll_up_writer_at_a_time(engine: Engine, settings: Settings, seeded: None) -> None:
    """Two job runs at once (PostgreSQL): the second does nothing rather than roll up the
    same days twice."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers by itself")
    with Session(engine) as first, Session(engine) as second:
        try:
            assert not rollup.refresh(first, settings=settings).skipped
            assert rollup.refresh(second, settings=settings).skipped
        finally:
            first.rollback()
            second.rollback()


@pytest.mark.usefixtures("history")
def test_whole_months_come_from_the_month_layer(db: Session, settings: Settings) -> None:
    run_job(db, settings, ROLLED + timedelta(minutes=6))
    # The history runs from early July to late September: only August is whole.
    months = db.scalars(
        select(CaseIndicatorRollup.day).where(CaseIndicatorRollup.grain == MONTH_BUILT)
    ).all()
    august = datetime(2025, 8, 1).date()
    assert months == [august]
    # The month's sums are its days' rows, key by key.
    for day_grain, month_grain in rollup.MONTH_GRAINS.items():
        keys = (CaseIndicatorRollup.department_id, CaseIndicatorRollup.region_code)
        days = db.execute(
            select(*keys, func.sum(CaseIndicatorRollup.closed), func.sum(CaseIndicatorRollup.due))
            .where(
                CaseIndicatorRollup.grain == day_grain,
                CaseIndicatorRollup.day.between(august, datetime(2025, 8, 31).date()),
            )
            .group_by(*keys)
        ).all()
        month = db.execute(
            select(*keys, CaseIndicatorRollup.closed, CaseIndicatorRollup.due).where(
                CaseIndicatorRollup.grain == month_grain, CaseIndicatorRollup.day == august
            )
        ).all()
        assert days and sorted(days, key=repr) == sorted(month, key=repr)

    start = datetime(2025, 8, 1, tzinfo=TZ)
    end = datetime(2025, 9, 1, tzinfo=TZ)
    before = compute(db, by="township", start=start, end=end).total.counts["resolution"]
    # The month's rows are what answers for August: a change to them shows (and is put
    # right by rolling the month up again).
    db.execute(
        update(CaseIndicatorRollup)
        .where(
            CaseIndicatorRollup.grain == rollup.MONTH_GRAINS["place"],
            CaseIndicatorRollup.day == august,
        )
        .values(closed=CaseIndicatorRollup.closed + 1)
    )
    with time_travel(ROLLED + timedelta(minutes=7)):
        changed = compute(db, by="township", start=start, end=end).total.counts["resolution"]
        assert changed[1] > before[1]
        assert rollup.roll_month(db, august)
        assert compute(db, by="township", start=start, end=end).total.counts["resolution"] == before
        assert_same(db, [(start, end), PERIODS[0]], QUICK_SCOPES)
    # A day rolled up again rolls its month up with it; a month missing a day leaves the layer.
    with time_travel(ROLLED + timedelta(minutes=8)):
        rollup.roll_day(db, datetime(2025, 8, 15).date(), TZ, now=ROLLED + timedelta(minutes=8))
        assert_same(db, [(start, end)], QUICK_SCOPES)
    db.execute(delete(CaseIndicatorDay).where(CaseIndicatorDay.day == datetime(2025, 8, 31).date()))
    assert not rollup.roll_month(db, august)
    assert not db.scalars(
        select(CaseIndicatorRollup.id).where(
            CaseIndicatorRollup.day == august,
            CaseIndicatorRollup.grain.in_([*rollup.MONTH_GRAINS.values(), MONTH_BUILT]),
        )
    ).all()
    with time_travel(ROLLED + timedelta(minutes=9)):
        assert_same(db, [(start, end)], QUICK_SCOPES)
