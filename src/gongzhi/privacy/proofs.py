"""Inclusion proofs of audit events, checked on the server for a citizen's page.

An entry is *verified* when all of these hold: the latest signed checkpoint's SM2 signature
is good under the log's key; the event's leaf hash, recomputed from its canonical text,
equals the leaf stored in the log; and the RFC 9162 inclusion proof from that leaf reaches
the checkpoint's root. An event the sequencer has not reached yet (or that lies beyond the
latest checkpoint) is *being recorded*; anything else is *failed* and says so.

The same data goes out as JSON (``api.data_use_proof``) so that anyone can repeat the check
with their own RFC 9162 verifier and the published key.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongzhi.audit import log, merkle
from gongzhi.audit.models import AuditCheckpoint, AuditEvent, AuditLeaf
from gongzhi.config import Settings


class ProofStatus(StrEnum):
    VERIFIED = "verified"
    RECORDING = "recording"  # not yet in a signed checkpoint
    FAILED = "failed"


@dataclass(frozen=True)
class EventProof:
    event_id: int
    status: ProofStatus
    hash_algorithm: str = ""
    leaf_index: int | None = None
    tree_size: int | None = None
    leaf_hash: bytes = b""
    root_hash: bytes = b""
    path: list[bytes] = field(default_factory=list)
    canonical: str | None = None
    checkpoint: AuditCheckpoint | None = None
    problem: str = ""

    @property
    def path_b64(self) -> list[str]:
        return [base64.b64encode(p).decode() for p in self.path]

    @property
    def leaf_hash_b64(self) -> str:
        return base64.b64encode(self.leaf_hash).decode()

    @property
    def root_hash_b64(self) -> str:
        return base64.b64encode(self.root_hash).decode()


def _checkpoint_ok(checkpoint: AuditCheckpoint, settings: Settings) -> bool:
    from gongzhi.crypto import get_provider

    key = get_provider(settings).public_key(log.SIGNING_KEY)
    ok, _ = log.checkpoint_signature_ok(checkpoint, settings, [key])
    return ok


def proofs_for(db: Session, settings: Settings, event_ids: Iterable[int]) -> dict[int, EventProof]:
    """The proof of each event against the latest signed checkpoint, checked."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    checkpoint = log.latest_checkpoint(db)
    if checkpoint is None:
        return {i: EventProof(i, ProofStatus.RECORDING) for i in ids}
    hasher = log.hasher_of(db, settings)
    signature_ok = _checkpoint_ok(checkpoint, settings)
    size = checkpoint.tree_size
    leaves = {
        leaf.event_id: leaf
        for leaf in db.scalars(select(AuditLeaf).where(AuditLeaf.event_id.in_(ids)))
    }
    events = {e.id: e for e in db.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))}
    source = log.StoredTree(db)
    out: dict[int, EventProof] = {}
    for event_id in ids:
        leaf = leaves.get(event_id)
        event = events.get(event_id)
        if event is None:
            out[event_id] = EventProof(event_id, ProofStatus.FAILED, problem="event missing")
            continue
        if leaf is None or leaf.leaf_index >= size:
            out[event_id] = EventProof(event_id, ProofStatus.RECORDING)
            continue
        path = merkle.inclusion_proof(source, hasher, leaf.leaf_index, size)
        # The payload of an event past the retention is pruned: its stored hash stands in.
        recomputed = (
            hasher.hash_leaf(event.canonical.encode("utf-8"))
            if event.canonical is not None
            else event.leaf_hash
        )
        problems = []
        if not signature_ok:
            problems.append("checkpoint signature")
        if recomputed != leaf.leaf_hash or event.leaf_hash != leaf.leaf_hash:
            problems.append("leaf hash")
        if not merkle.verify_inclusion(
            hasher, leaf.leaf_index, size, leaf.leaf_hash, path, checkpoint.root_hash
        ):
            problems.append("inclusion path")
        out[event_id] = EventProof(
            event_id,
            ProofStatus.FAILED if problems else ProofStatus.VERIFIED,
            hash_algorithm=hasher.algorithm,
            leaf_index=leaf.leaf_index,
            tree_size=size,
            leaf_hash=leaf.leaf_hash,
            root_hash=checkpoint.root_hash,
            path=path,
            canonical=event.canonical,
            checkpoint=checkpoint,
            problem=", ".join(problems),
        )
    return out
