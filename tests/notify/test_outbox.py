"""The outbox: rows live and die with the caller's transaction; SMS goes out only after
commit, with retries, back-off and dead-lettering, at most once per row."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor
from gongzhi.db import session_scope, utcnow
from gongzhi.errors import Conflict, Invalid
from gongzhi.notify.delivery import CLAIM_LEASE, backoff, deliver_pending
from gongzhi.notify.models import Notification, NotificationStatus
from gongzhi.notify.services import enqueue, requeue
from gongzhi.notify.sms import FakeSmsGateway, LoggingSmsGateway, SmsError, SmsRejected, mask_phone
from tests.notify.fixtures import account_id

PHONE = "13812341999"


def _factory(connection: Connection):  # type: ignore[no-untyped-def]
    # A unit of work on the test's connection: its commit releases a savepoint.
    return lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


def _sms(db: Session, phone: str = PHONE, **kw: object) -> Notification:
    (row,) = enqueue(
        db,
        recipient_phone=phone,
        kind="case.accepted",
        subject="诉求已受理",
        body="您的诉求 AJ-20261128-0007 已受理。",
        case_number="AJ-20261128-0007",
        channels=("sms",),
        **kw,  # type: ignore[arg-type]
    )
    return row


def test_enqueue_rolls_back_with_the_callers_transaction(
    db: Session, connection: Connection
) -> None:
    citizen = account_id(db, "citizen")
    with pytest.raises(RuntimeError), session_scope(_factory(connection)) as uow:
        enqueue(
            uow,
            recipient_account_id=citizen,
            recipient_phone=PHONE,
            kind="test.rolled_back",
            subject="不该出现",
            body="回滚的变更不发通知",
            channels=("in_app", "sms"),
        )
        raise RuntimeError("the change failed after the notification was queued")
    assert (
        db.scalars(select(Notification).where(Notification.kind == "test.rolled_back")).all() == []
    )

    gateway = FakeSmsGateway()
    deliver_pending(db, gateway, utcnow())
    assert gateway.to(PHONE) == []


def test_in_app_is_readable_at_once_and_sms_waits_for_delivery_after_commit(
    db: Session, connection: Connection
) -> None:
    citizen = account_id(db, "citizen")
    gateway = FakeSmsGateway()
    with session_scope(_factory(connection)) as uow:
        in_app, sms = enqueue(
            uow,
            recipient_account_id=citizen,
            recipient_phone=PHONE,
            kind="case.accepted",
            subject="诉求已受理",
            body="正文",
            channels=("in_app", "sms"),
        )
        assert in_app.status == "sent" and in_app.sent_at is not None
        assert sms.status == "pending"
        # Nothing leaves before the change commits.
        assert gateway.sent == []

    report = deliver_pending(db, gateway, utcnow())
    assert report.sent == 1
    assert gateway.to(PHONE) == ["诉求已受理：正文"]
    row = db.get(Notification, sms.id, populate_existing=True)
    assert row is not None and row.status == "sent" and row.attempts == 1
    assert row.provider_message_id == gateway.sent[0].message_id

    # A second run finds nothing to do: a row is sent at most once.
    assert deliver_pending(db, gateway, utcnow() + timedelta(hours=1)).sent == 0
    assert len(gateway.to(PHONE)) == 1
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "notify.sms.sent", AuditEvent.object_id == str(sms.id)
        )
    )
    assert event is not None and event.new == {
        "to": "138****1999",
        "kind": "case.accepted",
        "case_number": None,
    }


def test_enqueue_skips_channels_without_a_recipient_and_refuses_mistakes(db: Session) -> None:
    citizen = account_id(db, "citizen")
    # An anonymous caller: nobody to tell, and the announced change must still go through.
    assert enqueue(db, kind="k", subject="s", body="b", channels=("in_app", "sms")) == []
    (only_in_app,) = enqueue(
        db,
        recipient_account_id=citizen,
        kind="k",
        subject="s",
        body="b",
        channels=("sms", "in_app"),
    )
    assert only_in_app.channel == "in_app"
    (only_sms,) = enqueue(
        db,
        recipient_phone=" 13812341999 ",
        kind="k",
        subject="s",
        body="b",
        channels=("in_app", "sms"),
    )
    assert only_sms.channel == "sms" and only_sms.recipient_phone == "13812341999"
    (long,) = enqueue(db, recipient_account_id=citizen, kind="k", subject="长" * 300, body="b")
    assert len(long.subject) == 200 and long.subject.endswith("…")
    with pytest.raises(Invalid) as exc:
        enqueue(db, recipient_phone=PHONE, kind="k", subject="s", body="b", channels=("fax",))
    assert exc.value.code == "unknown_channel"
    with pytest.raises(Invalid):
        enqueue(db, recipient_account_id=citizen, kind="k", subject=" ", body="b")


def test_failed_attempts_back_off_exponentially_then_succeed(db: Session) -> None:
    row = _sms(db)
    gateway = FakeSmsGateway()
    gateway.fail_next(SmsError("provider busy"), SmsError("timeout"))
    t0 = utcnow()

    assert deliver_pending(db, gateway, t0).failed == 1
    db.refresh(row)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "SmsError: provider busy")
    assert row.next_attempt_at == t0 + timedelta(seconds=30)

    # Not due yet: nothing happens.
    assert deliver_pending(db, gateway, t0 + timedelta(seconds=29)).total == 0
    t1 = t0 + timedelta(seconds=30)
    assert deliver_pending(db, gateway, t1).failed == 1
    db.refresh(row)
    assert row.attempts == 2 and row.next_attempt_at == t1 + timedelta(minutes=1)

    assert deliver_pending(db, gateway, t1 + timedelta(minutes=1)).sent == 1
    db.refresh(row)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert len(gateway.to(PHONE)) == 1


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30) == timedelta(hours=1)


def test_dead_after_the_last_attempt_and_at_once_when_refused(db: Session) -> None:
    row = _sms(db)
    refused = _sms(db, phone="13900001111")
    gateway = FakeSmsGateway()
    now = utcnow()
    # Oldest first: `row` is claimed before `refused`.
    gateway.fail_next(SmsError("down"), SmsRejected("invalid number"))
    report = deliver_pending(db, gateway, now, max_attempts=2)
    assert (report.failed, report.dead) == (1, 1)
    db.refresh(refused)
    assert refused.status == "dead" and refused.attempts == 1

    gateway.fail_next(SmsError("still down"))
    assert deliver_pending(db, gateway, now + timedelta(hours=1), max_attempts=2).dead == 1
    db.refresh(row)
    assert (row.status, row.attempts, row.next_attempt_at) == ("dead", 2, None)
    assert row.last_error == "SmsError: still down"
    # Dead rows are never picked up again.
    assert deliver_pending(db, gateway, now + timedelta(days=1)).total == 0
    assert gateway.sent == []
    dead_events = db.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "notify.sms.dead")
    ).all()
    assert {str(row.id), str(refused.id)} <= set(dead_events)

    # An operator may queue a dead message again; a sent one cannot be.
    requeue(db, row, now + timedelta(days=1), actor=SystemActor("test"))
    assert deliver_pending(db, gateway, now + timedelta(days=1)).sent == 1
    db.refresh(row)
    with pytest.raises(Conflict):
        requeue(db, row, now, actor=SystemActor("test"))


def test_a_claim_left_by_a_stopped_run_is_not_sent_again(db: Session) -> None:
    row = _sms(db)
    now = utcnow()
    # A run claimed the row and stopped before marking it: it may or may not have gone out.
    row.status = NotificationStatus.SENDING.value
    row.attempts = 1
    row.claimed_at = now - CLAIM_LEASE - timedelta(seconds=1)
    db.flush()
    gateway = FakeSmsGateway()
    report = deliver_pending(db, gateway, now)
    assert report.abandoned == 1 and report.sent == 0
    db.refresh(row)
    assert row.status == "dead" and "outcome unknown" in (row.last_error or "")
    assert gateway.sent == []


def test_a_fresh_claim_of_another_run_is_left_alone(db: Session) -> None:
    row = _sms(db)
    now = utcnow()
    row.status = NotificationStatus.SENDING.value
    row.claimed_at = now
    db.flush()
    gateway = FakeSmsGateway()
    assert deliver_pending(db, gateway, now + timedelta(minutes=1)).total == 0
    db.refresh(row)
    assert row.status == "sending" and gateway.sent == []


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341999", "138****1999"),
        ("+86 138-1234-1999", "138****1999"),
        ("0086 13812341999", "138****1999"),
        ("0572-5123456", "057****3456"),
        ("5123456", "*****56"),
        ("12", "**"),
        (None, ""),
    ],
)
def test_mask_phone(phone: str | None, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_logs_never_carry_a_whole_phone_number(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gongzhi")
    _sms(db)
    failing = FakeSmsGateway()
    failing.fail_next(SmsError("busy"))
    now = utcnow()
    deliver_pending(db, failing, now)  # failure path logs the number
    deliver_pending(db, LoggingSmsGateway(), now + timedelta(minutes=5))  # the logging gateway
    assert "138****1999" in caplog.text
    assert "诉求已受理" in caplog.text  # the logging gateway shows what would have been sent
    assert PHONE not in caplog.text and "1234" not in caplog.text


def test_fake_gateway_is_thread_safe_and_reports_ids() -> None:
    gateway = FakeSmsGateway()
    ids = {gateway.send(PHONE, str(i)) for i in range(5)}
    assert len(ids) == 5 and gateway.to(PHONE) == ["0", "1", "2", "3", "4"]


def test_naive_now_is_refused(db: Session) -> None:
    _sms(db)
    with pytest.raises(Exception, match="naive"):
        deliver_pending(db, FakeSmsGateway(), datetime(2026, 1, 1))


def test_aware_now_in_another_zone_works(db: Session) -> None:
    row = _sms(db)
    shanghai = (utcnow() + timedelta(seconds=1)).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    )
    assert deliver_pending(db, FakeSmsGateway(), shanghai).sent == 1
    db.refresh(row)
    assert row.sent_at is not None and row.sent_at.tzinfo is UTC
