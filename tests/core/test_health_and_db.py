from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor, canonical_bytes, record


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_reports_current_migrations(client) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.migrations.runner import head_revision

    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == head_revision()


def test_readyz_reports_pending_migrations(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    db.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.flush()
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "migrations_pending"


def test_audit_event_is_canonical_and_rolls_back_with_its_transaction(db: Session) -> None:
    actor = SystemActor("test")
    with db.begin_nested() as sp:
        event = record(
            db,
            actor=actor,
            action="test.thing.create",
            object_type="thing",
            object_id=7,
            new={"name": "张三", "at": datetime(2026, 1, 1, tzinfo=UTC)},
            reason="because",
        )
        db.flush()
        saved = db.get(AuditEvent, event.id)
        assert saved is not None
        assert saved.canonical.encode() == canonical_bytes(
            {
                "v": 1,
                "at": saved.occurred_at.isoformat(),
                "actor_id": None,
                "actor": "system:test",
                "action": "test.thing.create",
                "object_type": "thing",
                "object_id": "7",
                "region": None,
                "old": None,
                "new": {"name": "张三", "at": "2026-01-01T00:00:00+00:00"},
                "reason": "because",
            }
        )
        assert "张三" in saved.canonical  # UTF-8, not \\u escapes
        sp.rollback()
    leftover = select(AuditEvent).where(AuditEvent.action == "test.thing.create")
    assert db.scalars(leftover).all() == []


def test_timestamps_come_back_aware_utc(db: Session) -> None:
    shanghai = timezone(timedelta(hours=8))
    event = record(db, actor=SystemActor("t"), action="test.tz", object_type="x")
    event.occurred_at = datetime(2026, 3, 1, 8, 0, tzinfo=shanghai)
    db.flush()
    db.expire_all()
    again = db.scalars(select(AuditEvent).where(AuditEvent.action == "test.tz")).one()
    assert again.occurred_at == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert again.occurred_at.tzinfo is not None


def test_naive_datetimes_are_refused(db: Session) -> None:
    event = record(db, actor=SystemActor("t"), action="test.naive", object_type="x")
    event.occurred_at = datetime(2026, 3, 1, 8, 0)
    with pytest.raises(Exception, match="naive datetime"):
        db.flush()


@pytest.mark.parametrize(
    "bad", ["", "8:30-12:00", "12:00-08:30", "08:30-12:00,13:30", "25:00-26:00"]
)
def test_bad_office_hours_stop_startup(bad: str) -> None:
    from pydantic import ValidationError

    from gongzhi.config import Settings

    with pytest.raises(ValidationError, match="office_hours"):
        Settings(office_hours=bad, _env_file=None)  # type: ignore[call-arg]


def test_production_refuses_the_demo_secret() -> None:
    from pydantic import ValidationError

    from gongzhi.config import Settings

    with pytest.raises(ValidationError, match="GONGZHI_SECRET_KEY"):
        Settings(env="production", _env_file=None)  # type: ignore[call-arg]
    ok = Settings(  # type: ignore[call-arg]
        env="production", secret_key="x" * 48, key_file="/etc/gongzhi/keys.json", _env_file=None
    )
    assert ok.secret_key.get_secret_value() == "x" * 48
