"""Duplicate requests: which open cases are suggested and in what order, merging and
unmerging (state, clocks, supporters, both timelines, audit), and "me too" support."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.cases import duplicates
from gongzhi.cases.duplicates import CaseSupporter, Probe, merge_case, suggest_duplicates
from gongzhi.cases.models import Case, CaseStatus, Outcome
from gongzhi.db import time_travel
from gongzhi.errors import Conflict, Invalid
from gongzhi.notify.models import Notification
from gongzhi.security.models import Account
from tests.cases.fixtures import SECOND_CITIZEN
from tests.cases.helpers import ACTOR, YUHUA_ADDRESS, actions, no_classifier, submit  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_classifier")

LAT, LON = 30.6389, 119.6800
TEXT = "玉华村村口路上的井盖丢失了，晚上走路很危险"
T0 = datetime(2026, 9, 16, 1, 0, tzinfo=UTC)  # a Wednesday, 09:00 in Asia/Shanghai


def _account(db: Session, username: str) -> int:
    account_id = db.scalar(select(Account.id).where(Account.username == username))
    assert account_id is not None
    return account_id


def _case(db: Session, *, at: datetime = T0, **kw: Any) -> Case:
    kw.setdefault("description", TEXT)
    kw.setdefault("matter_code", "XC-002")
    kw.setdefault("address_text", YUHUA_ADDRESS)
    kw.setdefault("lat", LAT)
    kw.setdefault("lon", LON)
    with time_travel(at):
        return submit(db, **kw)


def test_text_similarity_and_distance_measures() -> None:
    assert duplicates.text_similarity(TEXT, TEXT) == 1.0
    assert duplicates.text_similarity(TEXT, "路灯不亮") == 0.0
    assert 0 < duplicates.text_similarity(TEXT, "村口井盖丢了，很危险") < 1
    # 0.0009 degrees of latitude is about 100 m.
    assert 95 < duplicates.distance_m(LAT, LON, LAT + 0.0009, LON) < 105


def test_suggestions_keep_near_recent_alike_cases_of_the_category_best_first(
    db: Session,
) -> None:
    probe = _case(db, at=T0 + timedelta(days=1))
    same = _case(db, lat=LAT + 0.0002)  # ~20 m, same words
    alike = _case(db, lat=LAT + 0.0015, description="村口井盖没了，走路危险")  # ~170 m
    far = _case(db, lat=LAT + 0.009)  # ~1 km
    other_category = _case(db, matter_code="XC-007")
    old = _case(db, at=T0 - timedelta(days=20))
    unrelated = _case(db, description="广场舞音乐声音太大，影响休息")

    found = suggest_duplicates(db, probe)
    numbers = [s.case.number for s in found]
    assert numbers == [same.number, alike.number]
    for excluded in (far, other_category, old, unrelated, probe):
        assert excluded.number not in numbers
    best = found[0]
    assert best.reasons == ["same_category", "within_distance", "recent", "similar_text"]
    assert best.distance_m is not None and best.distance_m < 30
    assert found[0].score > found[1].score
    assert suggest_duplicates(db, probe, limit=1)[0].case.number == same.number


def test_a_newer_report_ranks_above_an_older_one_all_else_equal(db: Session) -> None:
    probe = _case(db, at=T0 + timedelta(days=10))
    older = _case(db, at=T0)
    newer = _case(db, at=T0 + timedelta(days=9))
    assert [s.case.number for s in suggest_duplicates(db, probe)] == [newer.number, older.number]


def test_without_coordinates_the_same_village_counts_as_near(db: Session) -> None:
    fields = {"matter_code": "XC-002", "description": TEXT, "region_code": "330523103202"}
    same_village = _case(db, lat=None, lon=None)
    other_village = _case(db, lat=None, lon=None)
    other_village.region_code = "330523103201"
    township_only = _case(db, lat=None, lon=None)
    township_only.region_code = "330523103000"
    db.flush()
    with time_travel(T0 + timedelta(hours=1)):
        found = suggest_duplicates(db, fields)
    assert [s.case.number for s in found] == [same_village.number]
    assert "same_village" in found[0].reasons
    # A place known only to the township is not near anything.
    assert suggest_duplicates(db, Probe("XC-002", TEXT, region_code="330523103000")) == []


def test_closed_cases_and_a_probe_without_category_get_no_suggestions(db: Session) -> None:
    probe = _case(db)
    closed = _case(db)
    with time_travel(T0):
        from gongzhi.cases.services import close_case

        close_case(db, closed, outcome=Outcome.NOT_OURS, note="非本辖区", actor=ACTOR)
    assert suggest_duplicates(db, probe) == []
    assert suggest_duplicates(db, {"description": TEXT, "lat": LAT, "lon": LON}) == []


def test_merge_and_unmerge_round_trip_keeps_history_on_both_cases(db: Session) -> None:
    first_reporter, second_reporter = _account(db, "citizen"), _account(db, SECOND_CITIZEN)
    main = _case(db, reporter_account_id=first_reporter)
    dup = _case(db, reporter_account_id=second_reporter)
    assert dup.status == CaseStatus.DISPATCHED
    accept_clock = next(c for c in dup.clocks if c.kind == "accept" and c.stopped_at is None)
    assert accept_clock.due_at == T0 + timedelta(minutes=30)  # XC-002: half an hour to sign

    with time_travel(T0 + timedelta(minutes=10)):
        merge_case(db, dup, into=main, actor=ACTOR)
    assert (dup.status, dup.outcome) == (CaseStatus.CLOSED, Outcome.DUPLICATE)
    assert all(c.stopped_at is not None for c in dup.clocks)
    assert duplicates.active_merge(db, dup) is not None
    assert duplicates.supporter_ids(db, main) == [second_reporter]
    assert duplicates.support_count(db, main) == 1
    assert dup.events[-1].kind == "merged" and dup.events[-1].data["into"] == main.number
    assert main.events[-1].kind == "duplicate_merged"
    told = db.scalars(
        select(Notification).where(
            Notification.recipient_account_id == second_reporter,
            Notification.case_number == dup.number,
        )
    ).all()
    assert [n.kind for n in told] == ["case_merged"]
    with pytest.raises(Conflict):  # already closed
        merge_case(db, dup, into=main, actor=ACTOR)

    # Unmerged a day later: back to the state it had, with the sign-off time it had left.
    later = T0 + timedelta(days=1)
    with time_travel(later):
        duplicates.unmerge_case(db, dup, actor=ACTOR)
    assert (dup.status, dup.outcome, dup.closed_at) == (CaseStatus.DISPATCHED, None, None)
    assert accept_clock.stopped_at is None and not accept_clock.breached
    # Merged at 09:10 with 20 minutes left; unmerged at 09:00 the next working day.
    assert accept_clock.due_at == later + timedelta(minutes=20)
    assert duplicates.active_merge(db, dup) is None
    assert duplicates.supporter_ids(db, main) == []
    kinds = [e.kind for e in dup.events]
    assert kinds[-2:] == ["merged", "unmerged"]
    assert [e.kind for e in main.events][-2:] == ["duplicate_merged", "duplicate_unmerged"]
    assert actions(db, dup.number)[-2:] == ["cases.case.merge", "cases.case.unmerge"]
    assert actions(db, main.number)[-2:] == ["cases.case.absorb", "cases.case.release"]
    with pytest.raises(Conflict):
        duplicates.unmerge_case(db, dup, actor=ACTOR)


def test_merge_refuses_itself_a_closed_main_case_and_chains(db: Session) -> None:
    a, b, c = _case(db), _case(db), _case(db)
    with pytest.raises(Invalid):
        merge_case(db, a, into=a, actor=ACTOR)
    with time_travel(T0):
        merge_case(db, b, into=a, actor=ACTOR)
        with pytest.raises(Conflict):
            merge_case(db, c, into=b, actor=ACTOR)  # b is closed
        with pytest.raises(Conflict) as refused:
            merge_case(db, a, into=c, actor=ACTOR)  # b hangs on a
    assert refused.value.code == "has_duplicates"


def test_support_counts_once_per_account_and_not_the_reporter(db: Session) -> None:
    reporter, other = _account(db, "citizen"), _account(db, SECOND_CITIZEN)
    case = _case(db, reporter_account_id=reporter)
    assert duplicates.support_case(db, case, account_id=other, actor=ACTOR) == 1
    assert duplicates.support_case(db, case, account_id=other, actor=ACTOR) == 1
    assert (
        duplicates.support_case(db, case, account_id=_account(db, "grid_worker"), actor=ACTOR) == 2
    )
    with pytest.raises(Conflict):
        duplicates.support_case(db, case, account_id=reporter, actor=ACTOR)
    rows = db.scalars(select(CaseSupporter).where(CaseSupporter.case_id == case.id)).all()
    assert len(rows) == 2
    assert actions(db, case.number).count("cases.case.support") == 2


def test_a_merged_reporter_who_already_supported_is_kept_after_unmerge(db: Session) -> None:
    reporter, other = _account(db, "citizen"), _account(db, SECOND_CITIZEN)
    main = _case(db, reporter_account_id=reporter)
    dup = _case(db, reporter_account_id=other)
    duplicates.support_case(db, main, account_id=other, actor=ACTOR)
    with time_travel(T0):
        merge_case(db, dup, into=main, actor=ACTOR)
        duplicates.unmerge_case(db, dup, actor=ACTOR)
    assert duplicates.supporter_ids(db, main) == [other]


def test_after_a_merge_the_duplicate_reporter_hears_about_the_main_case(db: Session) -> None:
    from gongzhi.cases.services import close_case

    reporter, other = _account(db, "citizen"), _account(db, SECOND_CITIZEN)
    main = _case(db, reporter_account_id=reporter)
    dup = _case(db, reporter_account_id=other)
    with time_travel(T0):
        merge_case(db, dup, into=main, actor=ACTOR)
        close_case(db, main, outcome=Outcome.NOT_OURS, note="属铁路部门管辖", actor=ACTOR)
    told = db.scalars(
        select(Notification.recipient_account_id).where(
            Notification.case_number == main.number, Notification.kind == "case_closed"
        )
    ).all()
    assert sorted(told) == sorted([reporter, other])


def test_a_merged_duplicate_its_reporter_reopens_is_no_longer_merged(db: Session) -> None:
    from gongzhi.cases.services import reopen_case
    from tests.cases.helpers import principal

    other = _account(db, SECOND_CITIZEN)
    main, dup = _case(db), _case(db, reporter_account_id=other)
    with time_travel(T0):
        merge_case(db, dup, into=main, actor=ACTOR)
    with time_travel(T0 + timedelta(hours=1)):
        reopen_case(db, dup, reason="不是同一个井盖", actor=principal(db, SECOND_CITIZEN))
    assert duplicates.active_merge(db, dup) is None
    with pytest.raises(Conflict):
        duplicates.unmerge_case(db, dup, actor=ACTOR)
    # Nothing hangs on main any more, so it may itself be merged elsewhere.
    third = _case(db)
    with time_travel(T0 + timedelta(hours=2)):
        merge_case(db, main, into=third, actor=ACTOR)
    assert main.outcome == Outcome.DUPLICATE
