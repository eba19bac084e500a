"""Shared steps of the audit tests: write events through record(), sequence them, tamper."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gongzhi.audit.models import AuditEvent
from gongzhi.audit.services import SystemActor, record

ACTOR = SystemActor("test:audit")


def write_events(db: Session, n: int, *, action: str = "test.audit.write") -> list[AuditEvent]:
    events = [
        record(
            db,
            actor=ACTOR,
            action=action,
            object_type="test_object",
            object_id=i,
            old={"n": i - 1},
            new={"n": i, "名称": f"对象{i}"},
            reason=f"测试 {i}",
            region_code="330523000000",
        )
        for i in range(n)
    ]
    db.flush()
    return events


def bypass_triggers(db: Session) -> None:
    """What an attacker with database access does first: switch the append-only triggers
    off (inside the test's transaction, so they are back after the rollback)."""
    if db.get_bind().dialect.name == "postgresql":
        # Replica mode skips ordinary triggers for this session only.
        db.execute(text("SET LOCAL session_replication_role = replica"))
        return
    names = db.scalars(
        text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit%'")
    ).all()
    for name in names:
        db.execute(text(f'DROP TRIGGER "{name}"'))
