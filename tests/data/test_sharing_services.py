"""Data sharing through the services: requests, the authority's review, the provider's
decision, disputes, working-day deadlines (time moved with ``time_travel``), escalation of
overdue steps, grants and revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.data.sharing import services
from gongzhi.data.sharing.models import RequestStatus
from gongzhi.db import time_travel
from gongzhi.errors import Conflict, Forbidden, Invalid
from gongzhi.notify.models import Notification
from tests.data.sharing_helpers import (
    OTHER,
    PROVIDER,
    REQUESTER,
    TUESDAY_BEFORE_NATIONAL_DAY,
    ask,
    make_steward,
    person_dataset,
    principal,
)

T0 = TUESDAY_BEFORE_NATIONAL_DAY


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A moment given in Anji time (UTC+8), as aware UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def parties(db: Session) -> dict[str, Any]:
    return {
        "requester": make_steward(db, "steward_nync", REQUESTER),
        "provider": make_steward(db, "steward_mz", PROVIDER),
        "other": make_steward(db, "steward_wsjk", OTHER),
        "authority": principal(db, "data_officer"),
    }


def _actions(db: Session, object_type: str, object_id: int) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.id)
        )
    )


def test_a_dataset_that_is_not_shared_cannot_be_requested(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(db, settings, tmp_path, code="closed-persons", sharing_type="none")
    with time_travel(T0), pytest.raises(Forbidden) as refused:
        ask(db, dataset, parties["requester"])
    assert refused.value.code == "not_shareable"
    assert "不予共享" in refused.value.message


def test_unconditional_data_is_granted_on_request_by_the_rule(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(
        db, settings, tmp_path, code="open-persons", sharing_type="unconditional"
    )
    with time_travel(T0):
        request = ask(db, dataset, parties["requester"])
    assert request.status == RequestStatus.GRANTED.value
    assert request.due_at is None
    steps = [(d.step, d.outcome) for d in request.decisions]
    assert steps == [("submit", "submitted"), ("system", "granted")]
    system = request.decisions[1]
    assert system.actor_label == "system:data.sharing:unconditional"
    assert "无条件共享" in system.reasons
    grant = request.grant
    assert grant is not None
    assert grant.fields == ["身份证号", "姓名", "性别", "联系电话"]
    assert grant.plaintext_fields == []
    # The period is read in Anji time: from 1 October 00:00 to the end of 30 September.
    assert grant.starts_at == local(2026, 10, 1, 0)
    assert grant.expires_at == local(2027, 10, 1, 0)
    assert _actions(db, "data_share_grant", grant.id) == ["data.share.grant"]


def test_plaintext_of_sensitive_fields_always_takes_the_conditional_way(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(
        db, settings, tmp_path, code="open-plain", sharing_type="unconditional"
    )
    with time_travel(T0):
        request = ask(db, dataset, parties["requester"], plaintext_fields=["身份证号", "性别"])
    assert request.status == RequestStatus.REVIEWING.value
    # 性别 is internal: plaintext anyway, so only the ID number stays in the list.
    assert request.plaintext_fields == ["身份证号"]


def test_bad_requests_are_refused_with_their_reason(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(db, settings, tmp_path)
    with time_travel(T0):
        with pytest.raises(Invalid) as unknown:
            ask(db, dataset, parties["requester"], fields=["身份证号", "存款余额"])
        assert unknown.value.code == "unknown_field"
        with pytest.raises(Invalid) as own:
            ask(db, dataset, parties["provider"])
        assert own.value.code == "own_dataset"
        with pytest.raises(Invalid) as outside:
            ask(db, dataset, parties["requester"], fields=["姓名"], plaintext_fields=["身份证号"])
        assert outside.value.code == "invalid_plaintext"
        with pytest.raises(Invalid) as past:
            ask(
                db,
                dataset,
                parties["requester"],
                period=(T0.date() - timedelta(days=60), T0.date() - timedelta(days=1)),
            )
        assert past.value.code == "invalid_period"


def test_conditional_request_review_and_decision_on_working_day_deadlines(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(db, settings, tmp_path)
    with time_travel(T0):
        request = ask(db, dataset, parties["requester"], plaintext_fields=["身份证号"])
    assert request.status == RequestStatus.REVIEWING.value
    # Two working days after Tuesday 29 September: Wednesday 30 September, then the National
    # Day holidays (1-7 October), then Thursday 8 October, to the end of office hours.
    assert request.due_at == local(2026, 10, 8, 17, 30)

    with time_travel(local(2026, 10, 8, 15)), pytest.raises(Forbidden):
        services.review_request(db, request, approve=True, actor=parties["provider"])
    with time_travel(local(2026, 10, 8, 15)):
        services.review_request(db, request, approve=True, actor=parties["authority"])
    assert request.status == RequestStatus.DECIDING.value
    # Five working days from Thursday 8 October: 9 (Fri), 10 (the Saturday made a workday),
    # 12, 13, 14 October.
    assert request.due_at == local(2026, 10, 14, 17, 30)

    with time_travel(local(2026, 10, 9, 10)):
        with pytest.raises(Forbidden):  # only the provider department decides
            services.decide_request(db, request, grant=True, actor=parties["other"])
        with pytest.raises(Invalid) as wider:
            services.decide_request(
                db, request, grant=True, fields=["身份证号", "现住址"], actor=parties["provider"]
            )
        assert wider.value.code == "beyond_request"
        services.decide_request(
            db,
            request,
            grant=True,
            fields=["身份证号", "姓名", "性别"],
            plaintext_fields=["身份证号"],
            until=T0.date().replace(year=2027, month=3, day=31),
            reasons="仅限核查期间使用",
            actor=parties["provider"],
        )
    assert request.status == RequestStatus.GRANTED.value
    grant = request.grant
    assert grant is not None
    assert grant.fields == ["身份证号", "姓名", "性别"]
    assert grant.plaintext_fields == ["身份证号"]
    assert grant.expires_at == local(2027, 4, 1, 0)
    steps = [(d.step, d.outcome, d.late) for d in request.decisions]
    assert steps == [
        ("submit", "submitted", False),
        ("review", "approved", False),
        ("decide", "granted", False),
    ]
    assert _actions(db, "data_share_request", request.id) == [
        "data.share.request",
        "data.share.review",
        "data.share.decide",
    ]


def test_every_refusal_needs_reasons(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(db, settings, tmp_path)
    with time_travel(T0):
        first = ask(db, dataset, parties["requester"])
        with pytest.raises(Invalid) as bare:
            services.review_request(
                db, first, approve=False, reasons="  ", actor=parties["authority"]
            )
        assert bare.value.code == "reasons_required"
        services.review_request(db, first, approve=True, actor=parties["authority"])
        with pytest.raises(Invalid) as bare_decision:
            services.decide_request(db, first, grant=False, actor=parties["provider"])
        assert bare_decision.value.code == "reasons_required"
        services.decide_request(
            db, first, grant=False, reasons="用途与共享条件不符", actor=parties["provider"]
        )
        assert first.status == RequestStatus.REFUSED.value
        assert first.decisions[-1].reasons == "用途与共享条件不符"

        second = ask(db, dataset, parties["requester"])
        services.review_request(
            db, second, approve=False, reasons="缺少法律依据", actor=parties["authority"]
        )
        assert second.status == RequestStatus.REFUSED.value
        # The authority's own refusal is final here; disputes are about the provider's.
        with pytest.raises(Conflict):
            services.dispute_request(db, second, statement="有依据", actor=parties["requester"])


def test_a_refusal_disputed_and_settled_by_the_authority(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(db, settings, tmp_path)
    with time_travel(T0):
        request = ask(db, dataset, parties["requester"])
        services.review_request(db, request, approve=True, actor=parties["authority"])
        services.decide_request(
            db, request, grant=False, reasons="数据正在更新", actor=parties["provider"]
        )
        with pytest.raises(Forbidden):
            services.dispute_request(db, request, statement="急需", actor=parties["other"])
        services.dispute_request(
            db,
            request,
            statement="数据更新不是拒绝共享的理由，条例规定不得增设条件",
            actor=parties["requester"],
        )
    assert request.status == RequestStatus.DISPUTED.value
    assert request.due_at == local(2026, 10, 8, 17, 30)
    with time_travel(local(2026, 10, 8, 9)):
        with pytest.raises(Invalid):
            services.arbitrate_dispute(
                db, request, grant=True, reasons="", actor=parties["authority"]
            )
        services.arbitrate_dispute(
            db, request, grant=True, reasons="按申请共享，不得增设条件", actor=parties["authority"]
        )
    assert request.status == RequestStatus.GRANTED.value
    assert request.grant is not None and request.grant.granted_by_label.startswith("data_officer")
    assert [d.step for d in request.decisions] == [
        "submit",
        "review",
        "decide",
        "dispute",
        "arbitrate",
    ]


def test_overdue_steps_are_escalated_to_the_authority_once(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(db, settings, tmp_path)
    with time_travel(T0):
        late = ask(db, dataset, parties["requester"])
        on_time = ask(db, dataset, parties["requester"])
    with time_travel(local(2026, 10, 8, 10)):
        services.review_request(db, on_time, approve=True, actor=parties["authority"])
    job = SystemActor("job:data.sharing_deadlines")
    # Still within the review deadline (17:30 on 8 October): nothing to do.
    assert services.escalate_overdue(db, now=local(2026, 10, 8, 17, 0), actor=job) == 0
    now = local(2026, 10, 9, 9)
    with time_travel(now):
        assert services.escalate_overdue(db, now=now, actor=job) == 1
        assert services.escalate_overdue(db, now=now, actor=job) == 0  # once per step
    db.refresh(late)
    assert late.escalated_at == now
    assert late.decisions[-1].step == "escalate"
    notices = list(
        db.scalars(select(Notification).where(Notification.kind == "data_share_overdue"))
    )
    assert [n.recipient_account_id for n in notices] == [parties["authority"].account_id]
    assert f"#{late.id}" in notices[0].subject and "审核" in notices[0].subject
    assert "data.share.escalate" in _actions(db, "data_share_request", late.id)

    # The provider then misses its own five working days: a new step, a new notice.
    with time_travel(local(2026, 10, 9, 10)):
        services.review_request(db, late, approve=True, actor=parties["authority"])
    assert late.due_at == local(2026, 10, 15, 17, 30)
    later = local(2026, 10, 19, 9)
    with time_travel(later):
        assert services.escalate_overdue(db, now=later, actor=job) == 2
    subjects = sorted(
        n.subject
        for n in db.scalars(select(Notification).where(Notification.kind == "data_share_overdue"))
    )
    assert sum("提供部门答复" in s for s in subjects) == 2


def test_the_deadline_job_runs_the_escalation(db: Session, settings: Any) -> None:
    from gongzhi.jobs import JobContext, load_jobs

    jobs = load_jobs()
    assert "data.sharing_deadlines" in jobs
    ctx = JobContext(db=db, now=datetime.now(UTC), settings=settings, actor=SystemActor("job:test"))
    assert jobs["data.sharing_deadlines"].func(ctx) == 0


def test_revoking_a_grant(
    db: Session, settings: Any, tmp_path: Path, parties: dict[str, Any]
) -> None:
    dataset = person_dataset(
        db, settings, tmp_path, code="revoke-persons", sharing_type="unconditional"
    )
    with time_travel(T0):
        grant = ask(db, dataset, parties["requester"]).grant
    assert grant is not None
    with pytest.raises(Forbidden):  # the requester cannot revoke what it received
        services.revoke_grant(db, grant, reason="不用了", actor=parties["requester"])
    with pytest.raises(Invalid):
        services.revoke_grant(db, grant, reason="", actor=parties["provider"])
    services.revoke_grant(db, grant, reason="发现超范围使用", actor=parties["provider"])
    assert grant.state_at(grant.revoked_at + timedelta(seconds=1)) == "revoked"  # type: ignore[operator]
    with pytest.raises(Conflict):
        services.revoke_grant(db, grant, reason="再次撤销", actor=parties["authority"])
    assert _actions(db, "data_share_grant", grant.id) == ["data.share.grant", "data.share.revoke"]
