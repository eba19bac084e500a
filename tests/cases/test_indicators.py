"""Case indicators: the SQL over the case tables and the replay of the audit log agree on a
generated history (every state, returns, rework, pauses, reopenings), the rules behind each
rate hold, and the API and page answer within the reader's regions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongzhi.cases.demo_history import build_case_history
from gongzhi.cases.indicators import (
    DIMENSIONS,
    INDICATORS,
    Scope,
    compute,
    period_bounds,
    recompute_from_audit,
)
from gongzhi.cases.models import Case, CaseStatus, Outcome
from gongzhi.config import Settings
from tests.security.fixtures import login_as

# A year earlier than the suite's other cases: tests that commit cases for real (the
# concurrency tests) leave audit events at today's date, which must not fall in these periods.
END = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)
START = END - timedelta(days=120)
ZHANGWU = "330523103000"


@pytest.fixture
def history(db: Session, seeded: None) -> None:
    report = build_case_history(db, n=120, seed=11, start=START, end=END)
    assert report.cases == 120


PERIODS = [
    (START, END + timedelta(days=60)),  # everything, deadlines after the end included
    (START + timedelta(days=30), START + timedelta(days=61)),  # one month
    (END - timedelta(days=7), END),  # the last week
]


@pytest.mark.usefixtures("history")
def test_audit_replay_gives_the_same_figures(db: Session, settings: Settings) -> None:
    for start, end in PERIODS:
        for by in DIMENSIONS:
            fast = compute(db, by=by, start=start, end=end)
            replayed = recompute_from_audit(db, by=by, start=start, end=end, settings=settings)
            assert fast.figures() == replayed.figures(), (by, start, end)
    whole = compute(db, by="department", start=START, end=END + timedelta(days=60))
    # The history exercises every indicator, with misses as well as hits.
    for name in INDICATORS:
        num, den = whole.total.counts[name]
        assert den > 0, name
        assert 0 <= num <= den, name
    assert whole.total.counts["response"][0] < whole.total.counts["response"][1]
    assert whole.total.counts["return"][0] > 0
    assert whole.total.counts["rework"][0] > 0
    _scope_is_the_same_in_both_and_narrows(db, settings)
    _resolution_rule(db)
    _satisfaction_counts_four_and_five(db)


def _scope_is_the_same_in_both_and_narrows(db: Session, settings: Settings) -> None:
    start, end = PERIODS[0]
    township = Scope(regions=(ZHANGWU,), include_unplaced=False)
    fast = compute(db, by="township", start=start, end=end, scope=township)
    replayed = recompute_from_audit(
        db, by="township", start=start, end=end, scope=township, settings=settings
    )
    assert fast.figures() == replayed.figures()
    assert [r.key for r in fast.rows] in ([], [ZHANGWU])
    county = compute(db, by="township", start=start, end=end)
    assert len(county.rows) > 1
    urban = compute(db, by="urban_rural", start=start, end=end)
    assert {"urban", "rural"} <= {r.key for r in urban.rows}
    # Grouping changes the rows, never the totals.
    assert urban.total.counts == county.total.counts


def _resolution_rule(db: Session) -> None:
    """Resolved ÷ closed; not_ours and no_action_possible count as closed, not resolved;
    duplicates and withdrawals are left out."""
    start, end = PERIODS[0]
    closed = db.execute(
        select(Case.outcome, func.count())
        .where(Case.status == CaseStatus.CLOSED.value, Case.closed_at >= start)
        .group_by(Case.outcome)
    ).all()
    by_outcome = dict(closed)
    table = compute(db, by="department", start=start, end=end)
    num, den = table.total.counts["resolution"]
    assert num == by_outcome.get(Outcome.RESOLVED.value, 0)
    assert den == sum(
        n
        for o, n in by_outcome.items()
        if o not in (Outcome.DUPLICATE.value, Outcome.WITHDRAWN.value)
    )
    assert by_outcome.get(Outcome.NOT_OURS.value, 0) > 0
    assert num < den


def _satisfaction_counts_four_and_five(db: Session) -> None:
    start, end = PERIODS[0]
    ratings = [r for r in db.scalars(select(Case.rating)) if r is not None]
    table = compute(db, by="urban_rural", start=start, end=end)
    assert table.total.counts["satisfaction"] == [
        sum(1 for r in ratings if r >= 4),
        len(ratings),
    ]


def test_period_bounds(settings: Settings) -> None:
    lower, upper = period_bounds("2026-11-01", "2026-11-30", settings)
    assert lower.isoformat() == "2026-11-01T00:00:00+08:00"
    assert upper.isoformat() == "2026-12-01T00:00:00+08:00"
    lower, upper = period_bounds(None, None, settings, today=datetime(2026, 11, 28).date())
    assert (lower.day, upper.day) == (1, 29)
    week = period_bounds("2026-11-26", None, settings, period="week")
    assert [d.date().isoformat() for d in week] == ["2026-11-23", "2026-11-30"]
    month = period_bounds("2026-12-15", None, settings, period="month")
    assert [d.date().isoformat() for d in month] == ["2026-12-01", "2027-01-01"]
    day = period_bounds("2026-11-26", None, settings, period="day")
    assert day[1] - day[0] == timedelta(days=1)


@pytest.mark.usefixtures("history")
def test_api_for_the_leader_and_scope_for_the_clerk(client: TestClient, db: Session) -> None:
    login_as(client, "leader")
    res = client.get("/api/v1/cases/indicators?by=township&from=2025-07-01&to=2025-11-30")
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["by"] == "township"
    assert len(body["rows"]) > 1
    total = body["total"]["response"]
    assert total["denominator"] > 0
    assert total["rate"] == round(total["numerator"] / total["denominator"], 4)
    expected = compute(
        db,
        by="township",
        start=datetime.fromisoformat(body["from"]),
        end=datetime.fromisoformat(body["to"]),
    )
    assert body == expected.to_json()

    month = client.get("/api/v1/cases/indicators?period=month&from=2026-10-05").json()
    assert (month["from"], month["to"]) == (
        "2026-10-01T00:00:00+08:00",
        "2026-11-01T00:00:00+08:00",
    )
    bad = client.get("/api/v1/cases/indicators?by=colour")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_grouping"

    client.cookies.clear()
    login_as(client, "township_clerk")
    res = client.get("/api/v1/cases/indicators?by=township&from=2025-07-01&to=2025-11-30")
    assert res.status_code == 200
    assert [r["key"] for r in res.json()["rows"]] in ([], [ZHANGWU])
    client.cookies.clear()
    _page_has_the_table_and_the_chart_data(client)


def test_refused_without_the_permission(client: TestClient) -> None:
    assert client.get("/api/v1/cases/indicators").status_code == 401
    login_as(client, "citizen")
    res = client.get("/api/v1/cases/indicators")
    assert res.status_code == 403


def _page_has_the_table_and_the_chart_data(client: TestClient) -> None:
    login_as(client, "leader")
    res = client.get("/cases/indicators?by=urban_rural&from=2025-07-01&to=2025-11-30")
    assert res.status_code == 200
    html = res.text
    assert "<table" in html and "乡村" in html and "响应率" in html
    assert "/static/vendor/echarts.min.js" in html
    assert "<script>" not in html  # no inline script (CSP)
    api = client.get("/api/v1/cases/indicators?by=urban_rural&from=2025-07-01&to=2025-11-30")
    rate = api.json()["total"]["satisfaction"]["rate"]
    if rate is not None:
        assert f"{rate * 100:.1f}%" in html
