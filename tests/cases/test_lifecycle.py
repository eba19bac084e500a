"""The lifecycle services: every transition, every refusal, history kept, counts right."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.cases import services
from gongzhi.cases.models import (
    Case,
    CaseExtension,
    CaseStatus,
    ClockKind,
    Outcome,
    ReturnReason,
)
from gongzhi.errors import Conflict, Forbidden, Invalid, NotFound
from gongzhi.org.models import Department
from tests.cases.fixtures import ENFORCEMENT, SECOND_CITIZEN, TOWNSHIP_HANDLER
from tests.cases.helpers import (
    ACTOR,
    YUHUA_ADDRESS,
    actions,
    held_clock,  # noqa: F401
    no_classifier,  # noqa: F401
    principal,
    submit,
)

pytestmark = pytest.mark.usefixtures("no_classifier")


def _dept_id(db: Session, code: str) -> int:
    dept_id = db.scalar(select(Department.id).where(Department.code == code))
    assert dept_id is not None
    return dept_id


def _triaged(db: Session, **kw: object) -> Case:
    citizen = principal(db, "citizen")
    return submit(db, address_text=YUHUA_ADDRESS, reporter_account_id=citizen.account_id, **kw)


def _dispatched(db: Session) -> Case:
    case = _triaged(db)
    return services.dispatch_case(db, case, to=ENFORCEMENT, actor=principal(db, "dispatcher"))


def _accepted(db: Session) -> Case:
    case = _dispatched(db)
    return services.accept_case(db, case, actor=principal(db, "zhifa_chen"))


def _in_feedback(db: Session) -> Case:
    case = _accepted(db)
    return services.give_feedback(db, case, note="已补装井盖", actor=principal(db, "zhifa_chen"))


def _clocks(case: Case, kind: ClockKind) -> list:
    return [c for c in case.clocks if c.kind == kind]


def test_the_whole_journey_with_audit_and_public_timeline(db: Session) -> None:
    case = _triaged(db)
    assert case.status == CaseStatus.TRIAGE
    services.dispatch_case(db, case, to=ENFORCEMENT, actor=principal(db, "dispatcher"))
    assert case.status == CaseStatus.DISPATCHED
    services.accept_case(db, case, actor=principal(db, "zhifa_chen"))
    assert case.status == CaseStatus.ACCEPTED
    lead = next(a for a in case.assignments if a.active and a.role == "lead")
    assert lead.accepted_by_id == principal(db, "zhifa_chen").account_id
    services.give_feedback(db, case, note="已补装井盖", actor=principal(db, "zhifa_chen"))
    assert case.status == CaseStatus.FEEDBACK
    services.verify_case(db, case, passed=True, actor=principal(db, "grid_worker"))
    assert (case.status, case.outcome, case.resolved) == ("closed", "resolved", True)
    assert case.closed_at is not None
    assert all(c.stopped_at is not None for c in case.clocks)
    services.rate_case(db, case, rating=5, actor=principal(db, "citizen"))
    assert case.rating == 5
    assert actions(db, case.number) == [
        "cases.case.submit",
        "cases.case.dispatch",
        "cases.case.accept",
        "cases.case.feedback",
        "cases.case.verify",
        "cases.case.rate",
    ]
    kinds = [e.kind for e in case.events]
    assert kinds == ["submitted", "dispatched", "accepted", "feedback", "verified", "rated"]


def test_rating_happens_once_by_the_reporter_only_after_closing(db: Session) -> None:
    case = _in_feedback(db)
    with pytest.raises(Conflict):
        services.rate_case(db, case, rating=4, actor=principal(db, "citizen"))
    services.verify_case(db, case, passed=True, actor=principal(db, "grid_worker"))
    with pytest.raises(Forbidden):
        services.rate_case(db, case, rating=4, actor=principal(db, SECOND_CITIZEN))
    with pytest.raises(Invalid):
        services.rate_case(db, case, rating=6, actor=principal(db, "citizen"))
    services.rate_case(db, case, rating=4, actor=principal(db, "citizen"))
    with pytest.raises(Conflict) as info:
        services.rate_case(db, case, rating=1, actor=principal(db, "citizen"))
    assert info.value.code == "already_rated"
    assert case.rating == 4


@pytest.mark.parametrize(
    ("make", "call"),
    [
        (_triaged, lambda db, c: services.accept_case(db, c, actor=principal(db, "zhifa_chen"))),
        (_dispatched, lambda db, c: services.give_feedback(db, c, note="x", actor=ACTOR)),
        (_accepted, lambda db, c: services.verify_case(db, c, passed=True, actor=ACTOR)),
        (_accepted, lambda db, c: services.accept_case(db, c, actor=principal(db, "zhifa_li"))),
        (_triaged, lambda db, c: services.close_case(db, c, outcome="resolved", actor=ACTOR)),
        (_triaged, lambda db, c: services.return_case(db, c, reason_code="other", actor=ACTOR)),
        (_accepted, lambda db, c: services.reopen_case(db, c, reason="x", actor=ACTOR)),
        (_accepted, lambda db, c: services.rate_case(db, c, rating=3, actor=ACTOR)),
        (
            _dispatched,
            lambda db, c: services.request_extension(
                db, c, new_due_at=c.created_at + timedelta(days=30), reason="x", actor=ACTOR
            ),
        ),
    ],
)
def test_transitions_out_of_order_are_refused(db: Session, make, call) -> None:  # type: ignore[no-untyped-def]
    case = make(db)
    status, version = case.status, case.version
    with pytest.raises(Conflict):
        call(db, case)
    assert (case.status, case.version) == (status, version)


def test_only_staff_of_the_lead_department_sign_and_handle(
    db: Session, township_handler: str
) -> None:
    case = _dispatched(db)
    other = principal(db, TOWNSHIP_HANDLER)
    with pytest.raises(Forbidden):
        services.accept_case(db, case, actor=other)
    with pytest.raises(Forbidden):
        services.return_case(db, case, reason_code="other", note="x", actor=other)
    services.accept_case(db, case, actor=principal(db, "zhifa_li"))
    with pytest.raises(Forbidden):
        services.give_feedback(db, case, note="done", actor=other)


def test_return_goes_back_to_triage_with_the_reason_and_history(db: Session) -> None:
    case = _accepted(db)
    handler = principal(db, "zhifa_chen")
    with pytest.raises(Invalid):
        services.return_case(db, case, reason_code="bored", actor=handler)
    with pytest.raises(Invalid):
        services.return_case(db, case, reason_code=ReturnReason.OTHER, actor=handler)
    services.return_case(
        db, case, reason_code=ReturnReason.NOT_OUR_DUTY, note="属地", actor=handler
    )
    assert (case.status, case.triage_reason, case.lead_department_id) == (
        "triage",
        "returned",
        None,
    )
    returned = [a for a in case.assignments if a.return_reason_code]
    assert len(returned) == 1 and not returned[0].active
    assert returned[0].return_reason_code == "not_our_duty"
    assert _clocks(case, ClockKind.HANDLE)[-1].stopped_at is not None
    dispatch_clocks = _clocks(case, ClockKind.DISPATCH)
    assert len(dispatch_clocks) == 2 and dispatch_clocks[-1].stopped_at is None
    assert next(e for e in case.events if e.kind == "returned").public is False


def test_rerouting_keeps_history_and_restarts_the_sign_off_clock(
    db: Session,
    held_clock,  # noqa: F811
) -> None:
    case = _dispatched(db)
    first_accept = _clocks(case, ClockKind.ACCEPT)[0]
    held_clock.advance(hours=1)
    services.dispatch_case(db, case, to="330523-ZJ", actor=principal(db, "dispatcher"))
    assert case.lead_department_id == _dept_id(db, "330523-ZJ")
    assert [(a.department_id, a.active) for a in case.assignments if a.role == "lead"] == [
        (_dept_id(db, ENFORCEMENT), False),
        (_dept_id(db, "330523-ZJ"), True),
    ]
    accepts = _clocks(case, ClockKind.ACCEPT)
    assert first_accept.stopped_at is not None and len(accepts) == 2
    assert accepts[-1].started_at == held_clock.now and accepts[-1].stopped_at is None
    assert case.events[-1].kind == "rerouted"
    assert actions(db, case.number)[-1] == "cases.case.reroute"


def test_dispatch_refuses_unknown_or_unfit_departments(db: Session) -> None:
    case = _triaged(db)
    dispatcher = principal(db, "dispatcher")
    with pytest.raises(NotFound):
        services.dispatch_case(db, case, to="NO-SUCH", actor=dispatcher)
    with pytest.raises(Invalid):
        services.dispatch_case(db, case, to="330523-SZZX", actor=dispatcher)
    with pytest.raises(Invalid):
        services.dispatch_case(db, case, to=ENFORCEMENT, matter_code="NO-SUCH", actor=dispatcher)


def test_a_category_correction_is_recorded(db: Session) -> None:
    case = _triaged(db)
    services.dispatch_case(
        db, case, to=ENFORCEMENT, matter_code="XC-004", actor=principal(db, "dispatcher")
    )
    assert case.matter_code == "XC-004"
    assert case.events[-1].data["corrected_matter"] == {"from": None, "to": "XC-004"}


def test_failed_verification_is_rework_with_a_new_handling_clock(db: Session) -> None:
    case = _in_feedback(db)
    with pytest.raises(Invalid):
        services.verify_case(db, case, passed=False, actor=principal(db, "grid_worker"))
    services.verify_case(
        db, case, passed=False, note="井盖仍松动", actor=principal(db, "grid_worker")
    )
    assert (case.status, case.rework_count) == ("accepted", 1)
    handles = _clocks(case, ClockKind.HANDLE)
    assert len(handles) == 2 and handles[-1].stopped_at is None


@pytest.mark.parametrize("outcome", [Outcome.NOT_OURS, Outcome.NO_ACTION_POSSIBLE])
def test_not_ours_and_no_action_are_closed_but_never_resolved(
    db: Session, outcome: Outcome
) -> None:
    case = _triaged(db)
    dispatcher = principal(db, "dispatcher")
    with pytest.raises(Invalid):
        services.close_case(db, case, outcome=outcome, actor=dispatcher)
    services.close_case(db, case, outcome=outcome, note="不属于政府职责", actor=dispatcher)
    assert case.status == CaseStatus.CLOSED and case.outcome == outcome
    assert case.resolved is False


def test_resolved_closing_needs_feedback_first(db: Session) -> None:
    dispatcher = principal(db, "dispatcher")
    case = _accepted(db)
    with pytest.raises(Conflict):
        services.close_case(db, case, outcome=Outcome.RESOLVED, actor=dispatcher)
    services.give_feedback(db, case, note="done", actor=principal(db, "zhifa_chen"))
    services.close_case(db, case, outcome=Outcome.RESOLVED, actor=dispatcher)
    assert case.resolved


def test_reopen_within_the_window_only(db: Session, held_clock) -> None:  # noqa: F811
    case = _in_feedback(db)
    services.verify_case(db, case, passed=True, actor=principal(db, "grid_worker"))
    services.rate_case(db, case, rating=2, actor=principal(db, "citizen"))
    with pytest.raises(Forbidden):
        services.reopen_case(db, case, reason="又坏了", actor=principal(db, SECOND_CITIZEN))
    held_clock.advance(days=15)
    services.reopen_case(db, case, reason="又坏了", actor=principal(db, "citizen"))
    assert (case.status, case.triage_reason, case.outcome) == ("triage", "reopened", None)
    assert (case.reopen_count, case.rating) == (1, None)
    assert _clocks(case, ClockKind.DISPATCH)[-1].stopped_at is None

    late = _in_feedback(db)
    services.verify_case(db, late, passed=True, actor=principal(db, "grid_worker"))
    held_clock.advance(days=15, seconds=1)
    with pytest.raises(Conflict) as info:
        services.reopen_case(db, late, reason="又坏了", actor=principal(db, "citizen"))
    assert info.value.code == "reopen_window_passed"


def test_extension_needs_the_dispatchers_approval(db: Session) -> None:
    case = _accepted(db)
    handler, dispatcher = principal(db, "zhifa_chen"), principal(db, "dispatcher")
    handle = _clocks(case, ClockKind.HANDLE)[-1]
    old_due = handle.due_at
    with pytest.raises(Invalid):
        services.request_extension(
            db, case, new_due_at=old_due - timedelta(hours=1), reason="x", actor=handler
        )
    with pytest.raises(NotFound):
        services.decide_extension(db, case, approve=True, actor=dispatcher)
    services.request_extension(
        db, case, new_due_at=old_due + timedelta(days=3), reason="等材料", actor=handler
    )
    with pytest.raises(Conflict):
        services.request_extension(
            db, case, new_due_at=old_due + timedelta(days=4), reason="x", actor=handler
        )
    assert handle.due_at == old_due  # nothing moves before the decision
    ext = services.decide_extension(db, case, approve=False, note="不批", actor=dispatcher)
    assert ext.status == "refused" and handle.due_at == old_due
    services.request_extension(
        db, case, new_due_at=old_due + timedelta(days=2), reason="等材料", actor=handler
    )
    ext = services.decide_extension(db, case, approve=True, actor=dispatcher)
    assert ext.status == "approved" and handle.due_at == old_due + timedelta(days=2)
    assert db.scalar(select(CaseExtension.id).where(CaseExtension.status == "pending")) is None
    assert "cases.case.extension.decide" in actions(db, case.number)


def test_pause_and_resume_refuse_doubles(db: Session) -> None:
    case = _accepted(db)
    handler = principal(db, "zhifa_chen")
    with pytest.raises(Conflict):
        services.resume(db, case, actor=handler)
    services.pause_for_citizen(db, case, reason="等群众补充照片", actor=handler)
    assert case.waiting_for_citizen
    assert all(c.paused_at is not None for c in case.clocks if c.stopped_at is None)
    with pytest.raises(Conflict):
        services.pause_for_citizen(db, case, reason="again", actor=handler)
    services.resume(db, case, actor=handler)
    assert not case.waiting_for_citizen
    assert all(c.paused_at is None for c in case.clocks)
