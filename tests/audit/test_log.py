"""The persisted log: sequencing, stored subtrees, proofs, checkpoints, append-only tables,
retention."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from gongzhi.audit import log, merkle
from gongzhi.audit.models import AuditCheckpoint, AuditEvent, AuditLeaf, AuditNode
from gongzhi.audit.services import canonical_bytes, log_hasher
from gongzhi.config import Settings
from gongzhi.crypto import get_provider
from gongzhi.db import time_travel, utcnow
from gongzhi.errors import Conflict
from tests.audit.helpers import ACTOR, write_events

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def _all_leaves(db: Session) -> list[AuditLeaf]:
    return list(db.scalars(select(AuditLeaf).order_by(AuditLeaf.leaf_index)))


def test_record_stores_the_leaf_hash_of_the_canonical_text(db: Session) -> None:
    (event,) = write_events(db, 1)
    assert event.canonical is not None
    assert event.leaf_hash == log_hasher("sm3").hash_leaf(event.canonical.encode())
    # The canonical text is the sorted, whitespace-free JSON of the event's fields.
    assert event.canonical.encode() == canonical_bytes(__import__("json").loads(event.canonical))


def test_sequencer_numbers_events_gap_free_in_id_order(db: Session, settings: Settings) -> None:
    log.sequence(db, settings)  # whatever the seeded data recorded
    before = log.tree_size(db)
    events = write_events(db, 25)
    first = log.sequence(db, settings, limit=10)
    second = log.sequence(db, settings)
    assert (first.sequenced, second.sequenced) == (10, 15)
    assert second.tree_size == before + 25
    assert log.sequence(db, settings).sequenced == 0
    leaves = _all_leaves(db)
    assert [lf.leaf_index for lf in leaves] == list(range(len(leaves)))
    ids = [lf.event_id for lf in leaves]
    assert ids == sorted(ids)
    assert ids[-25:] == [e.id for e in events]
    assert [lf.leaf_hash for lf in leaves[-25:]] == [e.leaf_hash for e in events]


def test_stored_subtrees_are_those_of_the_rfc_tree(db: Session, settings: Settings) -> None:
    write_events(db, 37)
    # Several batches of awkward sizes, so the right edge is carried between runs.
    for limit in (1, 2, 5, 7, 64):
        log.sequence(db, settings, limit=limit)
    log.sequence(db, settings)
    leaves = _all_leaves(db)
    hasher = log_hasher("sm3")
    memory = merkle.MemoryTree(hasher, [lf.leaf_hash for lf in leaves])
    stored = {(n.level, n.node_index): n.hash for n in db.scalars(select(AuditNode))}
    expected = {
        (level, i): h
        for level in range(1, len(memory.levels))
        for i, h in enumerate(memory.levels[level])
    }
    assert stored == expected
    size = len(leaves)
    assert log.root_at(db, hasher, size) == memory.root()


def test_proofs_from_the_database_verify(db: Session, settings: Settings) -> None:
    events = write_events(db, 40)
    log.sequence(db, settings)
    checkpoint = log.sign_checkpoint(db, settings, NOW)
    assert checkpoint is not None
    hasher = log_hasher("sm3")
    for event in events[::7]:
        proof = log.inclusion_for(db, settings, event_id=event.id)
        assert proof.tree_size == checkpoint.tree_size
        assert proof.checkpoint is not None and proof.checkpoint.id == checkpoint.id
        assert merkle.verify_inclusion(
            hasher,
            proof.leaf_index,
            proof.tree_size,
            event.leaf_hash,
            proof.path,
            checkpoint.root_hash,
        )
    size = checkpoint.tree_size
    by_index = log.inclusion_for(db, settings, leaf_index=size - 1, tree_size_=size - 3 + 3)
    assert by_index.event_id == events[-1].id
    for first in (1, size // 3, size - 1, size):
        c = log.consistency_for(db, settings, first, size)
        assert c.second_root == checkpoint.root_hash
        assert merkle.verify_consistency(hasher, first, size, c.first_root, c.second_root, c.path)


def test_an_unsequenced_event_has_no_proof_yet(db: Session, settings: Settings) -> None:
    write_events(db, 3)
    log.sequence(db, settings)
    log.sign_checkpoint(db, settings, NOW)
    (late,) = write_events(db, 1)
    with pytest.raises(Conflict) as info:
        log.inclusion_for(db, settings, event_id=late.id)
    assert info.value.code == "not_sequenced"


def test_checkpoint_is_a_signed_c2sp_note(db: Session, settings: Settings) -> None:
    write_events(db, 5)
    log.sequence(db, settings)
    cp = log.sign_checkpoint(db, settings, NOW)
    assert cp is not None
    lines = cp.note.split("\n")
    assert lines[0] == settings.audit_origin
    assert lines[1] == str(cp.tree_size)
    assert base64.b64decode(lines[2]) == cp.root_hash
    assert lines[3] == ""
    assert lines[4].startswith(f"\u2014 {settings.audit_origin} ")
    assert cp.note.endswith("\n")
    parsed = log.parse_checkpoint(cp.note)
    name, key_id, signature = parsed.signatures[0]
    provider = get_provider(settings)
    public_key = provider.public_key("audit")
    assert key_id == log.note_key_id(name, public_key)
    assert provider.verify(public_key, parsed.body.encode(), signature)
    assert parsed.body == "\n".join(lines[:3]) + "\n"
    # One checkpoint per size.
    assert log.sign_checkpoint(db, settings, NOW) is cp
    # A note with its size edited no longer verifies.
    forged = cp.note.replace(f"\n{cp.tree_size}\n", f"\n{cp.tree_size + 1}\n", 1)
    forged_body = log.parse_checkpoint(forged).body.encode()
    assert not provider.verify(public_key, forged_body, signature)


def test_checkpoints_every_n_events_or_m_minutes(db: Session, settings: Settings) -> None:
    every = settings.model_copy(
        update={"audit_checkpoint_every_events": 10, "audit_checkpoint_every_minutes": 15}
    )
    write_events(db, 3)
    _, first = log.sequence_and_checkpoint(db, every, NOW)
    assert first is not None  # the first tree head is signed at once
    write_events(db, 4)
    _, none = log.sequence_and_checkpoint(db, every, NOW + timedelta(minutes=1))
    assert none is None  # 4 new entries, 1 minute: not due
    write_events(db, 6)
    _, by_count = log.sequence_and_checkpoint(db, every, NOW + timedelta(minutes=2))
    assert by_count is not None and by_count.tree_size == first.tree_size + 10
    write_events(db, 1)
    _, early = log.sequence_and_checkpoint(db, every, NOW + timedelta(minutes=16))
    assert early is None  # 14 minutes after the last one
    _, by_time = log.sequence_and_checkpoint(db, every, NOW + timedelta(minutes=17, seconds=1))
    assert by_time is not None and by_time.tree_size == by_count.tree_size + 1
    _, idle = log.sequence_and_checkpoint(db, every, NOW + timedelta(hours=5))
    assert idle is None  # nothing new: nothing to sign


def test_changing_the_hash_of_a_started_log_is_refused(db: Session, settings: Settings) -> None:
    log.sequence(db, settings)
    with pytest.raises(Conflict) as info:
        log.sequence(db, settings.model_copy(update={"audit_hash": "sha256"}))
    assert info.value.code == "audit_hash_changed"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'x' WHERE id = :event_id",
        "UPDATE audit_event SET canonical = NULL, old = NULL, new = NULL, reason = NULL, "
        "pruned_at = occurred_at WHERE id = :event_id",  # a prune of a fresh event
        "DELETE FROM audit_event WHERE id = :event_id",
        "UPDATE audit_leaf SET leaf_hash = leaf_hash WHERE event_id = :event_id",
        "DELETE FROM audit_leaf WHERE event_id = :event_id",
        "UPDATE audit_node SET hash = hash",
        "DELETE FROM audit_node",
        "UPDATE audit_checkpoint SET note = 'x'",
        "DELETE FROM audit_checkpoint",
        "DELETE FROM audit_log",
    ],
)
def test_the_database_refuses_changes_to_the_log(
    db: Session, settings: Settings, statement: str
) -> None:
    (event,) = write_events(db, 2)[:1]
    log.sequence(db, settings)
    log.sign_checkpoint(db, settings, NOW)
    with pytest.raises((IntegrityError, DBAPIError)) as info, db.begin_nested():
        db.execute(text(statement), {"event_id": event.id})
    assert "append-only" in str(info.value)


def test_postgresql_refuses_truncate(db: Session) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    for table in ("audit_event", "audit_leaf", "audit_node", "audit_checkpoint"):
        with pytest.raises(DBAPIError) as info, db.begin_nested():
            db.execute(text(f"TRUNCATE {table} CASCADE"))
        assert "append-only" in str(info.value)


def test_prune_empties_old_payloads_and_the_log_still_verifies(
    db: Session, settings: Settings
) -> None:
    from gongzhi.audit.verify import verify_log

    now = utcnow()
    with time_travel(now - timedelta(days=400)):
        old = write_events(db, 6, action="test.audit.old")
    recent = write_events(db, 3, action="test.audit.recent")
    log.sequence(db, settings)
    cp = log.sign_checkpoint(db, settings, now)
    assert cp is not None
    retention = settings.model_copy(update={"audit_retention_days": 365})
    assert log.prune(db, retention, now, actor=ACTOR) >= 6
    db.expire_all()
    for event in old:
        row = db.get(AuditEvent, event.id)
        assert row is not None
        assert (row.canonical, row.old, row.new, row.reason) == (None, None, None, None)
        assert row.leaf_hash == event.leaf_hash and row.action == "test.audit.old"
        assert row.pruned_at is not None
    for event in recent:
        assert db.get(AuditEvent, event.id).canonical is not None  # type: ignore[union-attr]
    # Proofs still verify (the leaf hashes stayed) and so does the whole log.
    proof = log.inclusion_for(db, settings, event_id=old[0].id)
    assert merkle.verify_inclusion(
        log_hasher("sm3"),
        proof.leaf_index,
        proof.tree_size,
        old[0].leaf_hash,
        proof.path,
        cp.root_hash,
    )
    log.sequence(db, settings)  # the prune's own audit event
    report = verify_log(db, settings)
    assert report.ok, report.problems
    assert report.pruned >= 6


def test_a_prune_cannot_touch_anything_but_the_payload(db: Session, settings: Settings) -> None:
    with time_travel(utcnow() - timedelta(days=400)):
        (event,) = write_events(db, 1)
    log.sequence(db, settings)
    with pytest.raises((IntegrityError, DBAPIError)), db.begin_nested():
        db.execute(
            text(
                "UPDATE audit_event SET canonical = NULL, old = NULL, new = NULL, reason = NULL,"
                " pruned_at = occurred_at, action = 'rewritten' WHERE id = :id"
            ),
            {"id": event.id},
        )


def test_retention_below_six_months_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 180"):
        Settings(audit_retention_days=179, _env_file=None)  # type: ignore[call-arg]
    assert Settings(audit_retention_days=180, _env_file=None).audit_retention_days == 180  # type: ignore[call-arg]


def test_checkpoint_rows_verify_against_the_trusted_key(db: Session, settings: Settings) -> None:
    write_events(db, 2)
    log.sequence(db, settings)
    cp = log.sign_checkpoint(db, settings, NOW)
    assert cp is not None
    trusted = get_provider(settings).public_key("audit")
    assert log.checkpoint_signature_ok(cp, settings, [trusted]) == (True, "")
    other = bytes([4]) + bytes(64)
    ok, why = log.checkpoint_signature_ok(cp, settings, [other])
    assert not ok and "signature" in why
    assert db.scalar(select(AuditCheckpoint.tree_size)) == cp.tree_size
