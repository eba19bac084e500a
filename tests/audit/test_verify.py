"""`gongzhi audit verify` catches and names an edited, deleted or reordered entry. The tamper
steps switch the triggers off first, as an attacker with database access would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongzhi.audit import cli as audit_cli
from gongzhi.audit import log
from gongzhi.audit.models import AuditEvent
from gongzhi.audit.verify import VerifyReport, verify_log
from gongzhi.config import Settings
from gongzhi.db import utcnow
from tests.audit.helpers import bypass_triggers, write_events

EVENT_COLUMNS = (
    "occurred_at, actor_id, actor_label, action, object_type, object_id, region_code, old, new, "
    "reason, canonical, leaf_hash"
)


@pytest.fixture
def logged(db: Session, settings: Settings) -> list[AuditEvent]:
    """Ten sequenced events under a signed checkpoint, on top of whatever the seed recorded."""
    events = write_events(db, 10)
    log.sequence(db, settings)
    assert log.sign_checkpoint(db, settings, utcnow()) is not None
    return events


def _leaf_index(db: Session, event: AuditEvent) -> int:
    return int(
        db.scalar(text("SELECT leaf_index FROM audit_leaf WHERE event_id = :id"), {"id": event.id})
    )


def _verify(db: Session, settings: Settings) -> VerifyReport:
    # verify reads columns, not ORM objects, so it sees the raw rows as tampered.
    db.flush()
    return verify_log(db, settings)


def test_an_untouched_log_verifies(db: Session, settings: Settings, logged: list[Any]) -> None:
    report = _verify(db, settings)
    assert report.ok, report.problems
    assert report.entries >= 10 and report.checkpoints == 1


def test_an_edited_column_is_named(db: Session, settings: Settings, logged: list[Any]) -> None:
    target = logged[4]
    bypass_triggers(db)
    db.execute(
        text("UPDATE audit_event SET reason = '改过的理由' WHERE id = :id"), {"id": target.id}
    )
    report = _verify(db, settings)
    assert not report.ok
    first = report.first
    assert first is not None
    assert (first.kind, first.event_id, first.leaf_index) == (
        "edited",
        target.id,
        _leaf_index(db, target),
    )
    assert "reason" in first.message


def test_edited_canonical_text_is_named(db: Session, settings: Settings, logged: list[Any]) -> None:
    target = logged[2]
    bypass_triggers(db)
    db.execute(
        text(
            "UPDATE audit_event SET canonical = REPLACE(canonical, '测试 2', '测试 X') "
            "WHERE id = :id"
        ),
        {"id": target.id},
    )
    report = _verify(db, settings)
    first = report.first
    assert first is not None and first.event_id == target.id and first.kind == "edited"
    # The rebuilt tree no longer matches the signed checkpoint either.
    assert any(p.kind == "checkpoint" for p in report.problems)


def test_a_consistent_rewrite_is_caught_by_the_checkpoint(
    db: Session, settings: Settings, logged: list[Any]
) -> None:
    """Canonical text, both leaf-hash copies and the stored subtrees rewritten together: only
    the signed checkpoint is left to tell, and it does."""
    target = logged[3]
    index = _leaf_index(db, target)
    hasher = log.hasher_of(db, settings)
    forged = target.canonical.replace("测试 3", "测试 Y")
    leaf = hasher.hash_leaf(forged.encode())
    bypass_triggers(db)
    db.execute(
        text(
            "UPDATE audit_event SET canonical = :c, reason = '测试 Y', leaf_hash = :h "
            "WHERE id = :id"
        ),
        {"c": forged, "h": leaf, "id": target.id},
    )
    db.execute(
        text("UPDATE audit_leaf SET leaf_hash = :h WHERE leaf_index = :i"), {"h": leaf, "i": index}
    )
    # Recompute every stored subtree above it from the forged leaves.
    db.execute(text("DELETE FROM audit_node"))
    leaves = db.scalars(text("SELECT leaf_hash FROM audit_leaf ORDER BY leaf_index")).all()
    from gongzhi.audit.merkle import MemoryTree

    tree = MemoryTree(hasher, leaves)
    for level in range(1, len(tree.levels)):
        for i, h in enumerate(tree.levels[level]):
            db.execute(
                text("INSERT INTO audit_node (level, node_index, hash) VALUES (:l, :i, :h)"),
                {"l": level, "i": i, "h": h},
            )
    report = _verify(db, settings)
    assert not report.ok
    assert [p.kind for p in report.problems] == ["checkpoint"]
    assert "does not match the rebuilt tree" in report.problems[0].message


def test_a_deleted_event_is_named(db: Session, settings: Settings, logged: list[Any]) -> None:
    target = logged[6]
    index = _leaf_index(db, target)
    bypass_triggers(db)
    db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": target.id})
    first = _verify(db, settings).first
    assert first is not None
    assert (first.kind, first.leaf_index, first.event_id) == ("deleted", index, target.id)


def test_a_deleted_entry_is_named(db: Session, settings: Settings, logged: list[Any]) -> None:
    target = logged[5]
    index = _leaf_index(db, target)
    bypass_triggers(db)
    db.execute(text("DELETE FROM audit_leaf WHERE leaf_index = :i"), {"i": index})
    db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": target.id})
    first = _verify(db, settings).first
    assert first is not None
    assert (first.kind, first.leaf_index) == ("deleted", index)


def test_deleted_latest_entries_are_named(
    db: Session, settings: Settings, logged: list[Any]
) -> None:
    index = _leaf_index(db, logged[-1])
    bypass_triggers(db)
    db.execute(text("DELETE FROM audit_leaf WHERE leaf_index = :i"), {"i": index})
    db.execute(text("DELETE FROM audit_node"))
    db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": logged[-1].id})
    first = _verify(db, settings).first
    assert first is not None
    assert (first.kind, first.leaf_index) == ("deleted", index)


def test_two_swapped_rows_are_named(db: Session, settings: Settings, logged: list[Any]) -> None:
    a, b = logged[7], logged[8]
    bypass_triggers(db)
    row_a = db.execute(
        text(f"SELECT {EVENT_COLUMNS} FROM audit_event WHERE id = :id"), {"id": a.id}
    ).one()
    row_b = db.execute(
        text(f"SELECT {EVENT_COLUMNS} FROM audit_event WHERE id = :id"), {"id": b.id}
    ).one()
    assignments = ", ".join(f"{c.strip()} = :{c.strip()}" for c in EVENT_COLUMNS.split(","))
    for target, source in ((a, row_b), (b, row_a)):
        params = dict(source._mapping)
        for key in ("old", "new"):
            if params[key] is not None and not isinstance(params[key], str):
                import json

                params[key] = json.dumps(params[key])
        db.execute(
            text(f"UPDATE audit_event SET {assignments} WHERE id = :id"),
            {**params, "id": target.id},
        )
    first = _verify(db, settings).first
    assert first is not None
    assert (first.event_id, first.leaf_index) == (a.id, _leaf_index(db, a))


def test_reordered_entries_are_named(db: Session, settings: Settings, logged: list[Any]) -> None:
    a, b = logged[1], logged[2]
    ia, ib = _leaf_index(db, a), _leaf_index(db, b)
    bypass_triggers(db)
    db.execute(text("UPDATE audit_leaf SET event_id = -1 WHERE leaf_index = :i"), {"i": ia})
    db.execute(
        text("UPDATE audit_leaf SET event_id = :e WHERE leaf_index = :i"), {"e": a.id, "i": ib}
    )
    db.execute(
        text("UPDATE audit_leaf SET event_id = :e WHERE leaf_index = :i"), {"e": b.id, "i": ia}
    )
    first = _verify(db, settings).first
    assert first is not None and first.leaf_index == ia


# --- the command ---------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, db: Session, settings: Settings) -> CliRunner:
    @contextmanager
    def in_test_session() -> Iterator[Session]:
        yield db
        db.flush()

    monkeypatch.setattr(audit_cli, "_unit_of_work", in_test_session)
    monkeypatch.setattr(audit_cli, "_read_snapshot", in_test_session)
    monkeypatch.setattr(audit_cli, "get_settings", lambda: settings)
    monkeypatch.setattr(audit_cli, "console", Console(width=200))
    monkeypatch.setattr(audit_cli, "err", Console(stderr=True, width=200))
    return CliRunner()


def test_cli_sequence_verify_and_export(db: Session, cli: CliRunner) -> None:
    write_events(db, 12)
    result = cli.invoke(audit_cli.app, ["sequence", "--checkpoint"])
    assert result.exit_code == 0, result.output
    assert "signed checkpoint of size" in result.output
    ok = cli.invoke(audit_cli.app, ["verify"])
    assert ok.exit_code == 0, ok.output
    assert "the audit log verifies" in ok.output
    exported = cli.invoke(audit_cli.app, ["export-checkpoints"])
    assert exported.exit_code == 0
    import json

    lines = [json.loads(line) for line in exported.output.splitlines()]
    assert lines and lines[-1]["note"] == log.latest_checkpoint(db).note  # type: ignore[union-attr]
    notes = cli.invoke(audit_cli.app, ["export-checkpoints", "--format", "notes"])
    assert notes.output.startswith(lines[0]["note"])


def test_cli_verify_fails_and_names_the_entry(
    db: Session, cli: CliRunner, logged: list[Any]
) -> None:
    target = logged[0]
    bypass_triggers(db)
    db.execute(text("UPDATE audit_event SET action = 'x.y' WHERE id = :id"), {"id": target.id})
    db.expire_all()
    result = cli.invoke(audit_cli.app, ["verify"])
    assert result.exit_code == 1
    assert f"event #{target.id}" in result.output
    assert "tampering detected" in result.output
