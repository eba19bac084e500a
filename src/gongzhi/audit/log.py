"""The persisted Merkle log: sequencing, signed checkpoints, proofs and the retention prune.

Events get their leaf hash when they are recorded (in the action's transaction); they get
their *place* in the log later, from the sequencer. PostgreSQL commits concurrent
transactions out of id order, so numbering at insert time would leave gaps or reorderings
visible to a reader. The sequencer (as in Trillian) takes a lock on ``audit_event`` that
waits for every in-flight insert and blocks new ones for its short run, then numbers every
not-yet-sequenced event in id order: leaf indexes are gap-free, fixed, and follow the ids.
SQLite writers are serialised already (every unit of work that writes begins IMMEDIATE).

For each new leaf the sequencer also stores every complete subtree it completes
(``audit_node``), so proofs read O(log n) rows and never re-hash the log.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, insert, null, select, text, update
from sqlalchemy.orm import Session

from gongzhi.audit import merkle
from gongzhi.audit.merkle import MerkleHasher, NodeId
from gongzhi.audit.models import AuditCheckpoint, AuditEvent, AuditLeaf, AuditLog, AuditNode
from gongzhi.audit.services import Actor, log_hasher, record
from gongzhi.config import MIN_AUDIT_RETENTION_DAYS, Settings
from gongzhi.errors import Conflict, Invalid, NotFound

SIGNING_KEY = "audit"
# How many events one sequencing transaction numbers; the lock it holds blocks every audited
# write, so runs stay short and the next run takes the rest.
SEQUENCE_BATCH = 20_000
# C2SP signed-note: the key ID is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ key).
# SM2 has no assigned signature type; 0xFF is the value the spec leaves for algorithms it
# does not list, so a witness recognises the key only by its full public key.
SM2_NOTE_SIGNATURE_TYPE = b"\xff"
EM_DASH = "\u2014"


# --- the log's identity ------------------------------------------------------------------


def get_log(db: Session) -> AuditLog | None:
    return db.get(AuditLog, 1)


def ensure_log(db: Session, settings: Settings) -> AuditLog:
    """The log row, created by the first sequencing run; refuses a changed hash or origin,
    which would silently start a different log over the same events."""
    log = get_log(db)
    if log is None:
        log = AuditLog(id=1, origin=settings.audit_origin, hash_algorithm=settings.audit_hash)
        db.add(log)
        db.flush()
        return log
    if log.hash_algorithm != settings.audit_hash:
        raise Conflict(
            f"the audit log hashes with {log.hash_algorithm}; GONGZHI_AUDIT_HASH="
            f"{settings.audit_hash} would start another log",
            code="audit_hash_changed",
        )
    if log.origin != settings.audit_origin:
        raise Conflict(
            f"the audit log's origin is {log.origin!r}; GONGZHI_AUDIT_ORIGIN="
            f"{settings.audit_origin!r} would start another log",
            code="audit_origin_changed",
        )
    return log


def hasher_of(db: Session, settings: Settings) -> MerkleHasher:
    log = get_log(db)
    return log_hasher(log.hash_algorithm if log is not None else settings.audit_hash)


# --- reading the tree --------------------------------------------------------------------


class StoredTree:
    """The complete subtrees of the persisted log, for :mod:`gongzhi.audit.merkle`."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def nodes(self, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]:
        wanted = list(wanted)
        out: dict[NodeId, bytes] = {}
        leaves = [ix for lv, ix in wanted if lv == 0]
        if leaves:
            for ix, h in self.db.execute(
                select(AuditLeaf.leaf_index, AuditLeaf.leaf_hash).where(
                    AuditLeaf.leaf_index.in_(leaves)
                )
            ):
                out[(0, ix)] = h
        inner = {(lv, ix) for lv, ix in wanted if lv > 0}
        if inner:
            # Two IN lists over the (level, node_index) primary key: both backends probe the
            # index for each pair (a row-value IN makes SQLite scan the table); the few
            # pairs nobody asked for are dropped here.
            levels = sorted({lv for lv, _ in inner})
            indexes = sorted({ix for _, ix in inner})
            for lv, ix, h in self.db.execute(
                select(AuditNode.level, AuditNode.node_index, AuditNode.hash).where(
                    AuditNode.level.in_(levels), AuditNode.node_index.in_(indexes)
                )
            ):
                if (lv, ix) in inner:
                    out[(lv, ix)] = h
        missing = [n for n in wanted if n not in out]
        if missing:
            raise Conflict(
                f"the audit log is missing subtree hashes {missing[:3]}; "
                "run `gongzhi audit verify`",
                code="audit_tree_incomplete",
            )
        return out


def tree_size(db: Session) -> int:
    last = db.scalar(select(func.max(AuditLeaf.leaf_index)))
    return 0 if last is None else last + 1


def root_at(db: Session, hasher: MerkleHasher, size: int) -> bytes:
    return merkle.root(StoredTree(db), hasher, size)


# --- sequencing --------------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceResult:
    sequenced: int
    tree_size: int


def _last_sequenced_event_id(db: Session) -> int:
    last = db.scalar(select(AuditLeaf.event_id).order_by(AuditLeaf.leaf_index.desc()).limit(1))
    return last or 0


def has_unsequenced(db: Session) -> bool:
    after = _last_sequenced_event_id(db)
    return db.scalar(select(AuditEvent.id).where(AuditEvent.id > after).limit(1)) is not None


def pending_count(db: Session) -> int:
    """Events recorded but not yet given a place in the log."""
    after = _last_sequenced_event_id(db)
    return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id > after)) or 0


def lock_for_sequencing(db: Session) -> None:
    """Wait for every in-flight audited insert and hold new ones off until this transaction
    ends (PostgreSQL SHARE ROW EXCLUSIVE conflicts with the inserts' ROW EXCLUSIVE and with
    itself, so two sequencers also take turns). SQLite's writers already hold the database
    lock for their whole transaction."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("LOCK TABLE audit_event IN SHARE ROW EXCLUSIVE MODE"))


def sequence(db: Session, settings: Settings, *, limit: int = SEQUENCE_BATCH) -> SequenceResult:
    """Give the next ``limit`` unsequenced events, in id order, the next leaf indexes."""
    ensure_log(db, settings)
    if not has_unsequenced(db):
        return SequenceResult(0, tree_size(db))
    lock_for_sequencing(db)
    hasher = hasher_of(db, settings)
    size = tree_size(db)
    after = _last_sequenced_event_id(db)
    rows = db.execute(
        select(AuditEvent.id, AuditEvent.leaf_hash)
        .where(AuditEvent.id > after)
        .order_by(AuditEvent.id)
        .limit(limit)
    ).all()
    if not rows:
        return SequenceResult(0, size)
    edge_ids = merkle.right_edge(size)
    stored = StoredTree(db).nodes(edge_ids) if edge_ids else {}
    edge = [stored[n] for n in edge_ids]
    leaves: list[dict[str, object]] = []
    nodes: list[dict[str, object]] = []
    event_ids = iter([r.id for r in rows])

    def emit(level: int, index: int, node: bytes) -> None:
        if level == 0:
            leaves.append({"leaf_index": index, "event_id": next(event_ids), "leaf_hash": node})
        else:
            nodes.append({"level": level, "node_index": index, "hash": node})

    new_size = merkle.extend_right_edge(hasher, size, edge, (r.leaf_hash for r in rows), emit)
    # Core inserts (executemany) rather than ORM bulk: no objects are needed afterwards.
    db.execute(insert(cast(Table, AuditLeaf.__table__)), leaves)
    if nodes:
        db.execute(insert(cast(Table, AuditNode.__table__)), nodes)
    return SequenceResult(len(rows), new_size)


# --- checkpoints (C2SP checkpoint notes signed with SM2) ---------------------------------


def checkpoint_body(origin: str, size: int, root_hash: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root_hash).decode()}\n"


def note_key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + SM2_NOTE_SIGNATURE_TYPE + public_key).digest()[:4]


def signed_note(body: str, name: str, public_key: bytes, signature: bytes) -> str:
    blob = base64.b64encode(note_key_id(name, public_key) + signature).decode()
    return f"{body}\n{EM_DASH} {name} {blob}\n"


@dataclass(frozen=True)
class ParsedCheckpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    body: str
    signatures: list[tuple[str, bytes, bytes]]  # (key name, key id, signature)


def parse_checkpoint(note: str) -> ParsedCheckpoint:
    """Split a signed checkpoint note into its body fields and signature lines."""
    body, sep, sigs = note.rpartition("\n\n")
    if not sep:
        raise Invalid("not a signed note: no blank line before the signatures")
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4:
        raise Invalid("a checkpoint needs an origin, a size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
        raise Invalid(f"bad tree size {size_text!r}")
    try:
        root_hash = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise Invalid("the root hash is not base64") from None
    signatures = []
    for line in sigs.split("\n"):
        if not line:
            continue
        prefix = f"{EM_DASH} "
        if not line.startswith(prefix):
            raise Invalid(f"bad signature line {line!r}")
        name, _, blob = line[len(prefix) :].rpartition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            raise Invalid("a signature is not base64") from None
        if len(raw) < 5:
            raise Invalid("a signature is too short")
        signatures.append((name, raw[:4], raw[4:]))
    return ParsedCheckpoint(origin, int(size_text), root_hash, body, signatures)


def latest_checkpoint(db: Session) -> AuditCheckpoint | None:
    return db.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1))


def checkpoint_due(db: Session, settings: Settings, now: datetime, size: int) -> bool:
    last = latest_checkpoint(db)
    if size == 0 or (last is not None and last.tree_size >= size):
        return False
    if last is None:
        return True
    if size - last.tree_size >= settings.audit_checkpoint_every_events:
        return True
    return now - last.signed_at >= timedelta(minutes=settings.audit_checkpoint_every_minutes)


def sign_checkpoint(db: Session, settings: Settings, now: datetime) -> AuditCheckpoint | None:
    """Sign the current tree head (unless a checkpoint of this size exists)."""
    from gongzhi.crypto import get_provider

    log = ensure_log(db, settings)
    size = tree_size(db)
    if size == 0:
        return None
    existing = db.scalar(select(AuditCheckpoint).where(AuditCheckpoint.tree_size == size))
    if existing is not None:
        return existing
    hasher = hasher_of(db, settings)
    root_hash = root_at(db, hasher, size)
    provider = get_provider(settings)
    body = checkpoint_body(log.origin, size, root_hash)
    signature = provider.sign(SIGNING_KEY, body.encode())
    public_key = provider.public_key(SIGNING_KEY)
    checkpoint = AuditCheckpoint(
        tree_size=size,
        root_hash=root_hash,
        signed_at=now,
        note=signed_note(body, log.origin, public_key, signature),
        public_key=public_key,
    )
    db.add(checkpoint)
    db.flush()
    return checkpoint


def sequence_and_checkpoint(
    db: Session, settings: Settings, now: datetime, *, limit: int = SEQUENCE_BATCH
) -> tuple[SequenceResult, AuditCheckpoint | None]:
    """One sequencer run: number new events, then sign a checkpoint if one is due."""
    result = sequence(db, settings, limit=limit)
    checkpoint = None
    if checkpoint_due(db, settings, now, result.tree_size):
        # The lock taken for sequencing (if any) is still held: no other run signs this size.
        lock_for_sequencing(db)
        checkpoint = sign_checkpoint(db, settings, now)
    return result, checkpoint


def checkpoint_signature_ok(
    checkpoint: AuditCheckpoint, settings: Settings, trusted_keys: Iterable[bytes]
) -> tuple[bool, str]:
    """Check a stored checkpoint against its columns and a trusted SM2 key."""
    from gongzhi.crypto import get_provider

    try:
        parsed = parse_checkpoint(checkpoint.note)
    except Invalid as exc:
        return False, f"the note does not parse: {exc.message}"
    if parsed.tree_size != checkpoint.tree_size or parsed.root_hash != checkpoint.root_hash:
        return False, "the note's size or root differs from the checkpoint row"
    trusted = [k for k in trusted_keys]
    provider = get_provider(settings)
    for name, key_id, signature in parsed.signatures:
        for key in trusted:
            if key_id == note_key_id(name, key) and provider.verify(
                key, parsed.body.encode(), signature
            ):
                return True, ""
    return False, "no valid signature by the log's key"


# --- proofs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    event_id: int
    leaf_hash: bytes
    root_hash: bytes
    path: list[bytes]
    checkpoint: AuditCheckpoint | None


def _resolve_size(db: Session, tree_size_: int | None) -> tuple[int, AuditCheckpoint | None]:
    if tree_size_ is None:
        last = latest_checkpoint(db)
        if last is None:
            raise NotFound("还没有签名的检查点 / No signed checkpoint yet", code="no_checkpoint")
        return last.tree_size, last
    size = tree_size(db)
    if not 0 < tree_size_ <= size:
        raise Invalid(
            f"tree size {tree_size_} is outside the log (1..{size})", code="bad_tree_size"
        )
    cp = db.scalar(select(AuditCheckpoint).where(AuditCheckpoint.tree_size == tree_size_))
    return tree_size_, cp


def inclusion_for(
    db: Session,
    settings: Settings,
    *,
    event_id: int | None = None,
    leaf_index: int | None = None,
    tree_size_: int | None = None,
) -> InclusionProof:
    """The inclusion proof of one entry (by event id or leaf index) in the tree of the given
    size, or of the latest checkpoint."""
    if (event_id is None) == (leaf_index is None):
        raise Invalid("give an event id or a leaf index", code="bad_query")
    stmt = select(AuditLeaf)
    if event_id is not None:
        stmt = stmt.where(AuditLeaf.event_id == event_id)
    else:
        stmt = stmt.where(AuditLeaf.leaf_index == leaf_index)
    leaf = db.scalar(stmt)
    if leaf is None:
        if event_id is not None and db.get(AuditEvent, event_id) is not None:
            raise Conflict(
                "该事件尚未排序进日志，请稍后再试 / The event is not sequenced yet; retry shortly",
                code="not_sequenced",
            )
        raise NotFound("没有这条审计记录 / No such audit entry", code="audit_entry_not_found")
    size, cp = _resolve_size(db, tree_size_)
    if leaf.leaf_index >= size:
        raise Conflict(
            f"entry {leaf.leaf_index} is not yet in the tree of size {size}",
            code="not_in_tree",
        )
    hasher = hasher_of(db, settings)
    source = StoredTree(db)
    return InclusionProof(
        leaf_index=leaf.leaf_index,
        tree_size=size,
        event_id=leaf.event_id,
        leaf_hash=leaf.leaf_hash,
        root_hash=cp.root_hash if cp is not None else merkle.root(source, hasher, size),
        path=merkle.inclusion_proof(source, hasher, leaf.leaf_index, size),
        checkpoint=cp,
    )


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: list[bytes]


def consistency_for(
    db: Session, settings: Settings, first: int, second: int | None = None
) -> ConsistencyProof:
    size = tree_size(db)
    if second is None:
        last = latest_checkpoint(db)
        if last is None:
            raise NotFound("还没有签名的检查点 / No signed checkpoint yet", code="no_checkpoint")
        second = last.tree_size
    if not 0 <= first <= second <= size:
        raise Invalid(f"sizes must satisfy 0 <= first <= second <= {size}", code="bad_tree_size")
    hasher = hasher_of(db, settings)
    source = StoredTree(db)
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=merkle.root(source, hasher, first),
        second_root=merkle.root(source, hasher, second),
        path=merkle.consistency_proof(source, hasher, first, second),
    )


# --- retention ----------------------------------------------------------------------------


def prune(db: Session, settings: Settings, now: datetime, *, actor: Actor) -> int:
    """Empty the payload (old, new, reason, canonical) of sequenced events older than the
    retention; their leaf hashes stay in the event and in the log, so every proof and every
    checkpoint still verifies. The database refuses anything younger than 180 days."""
    days = settings.audit_retention_days
    if days < MIN_AUDIT_RETENTION_DAYS:  # the setting refuses it too; never trust one guard
        raise Invalid(f"retention below {MIN_AUDIT_RETENTION_DAYS} days", code="retention")
    cutoff = now - timedelta(days=days)
    sequenced_up_to = _last_sequenced_event_id(db)
    result = db.execute(
        update(AuditEvent)
        .where(
            AuditEvent.occurred_at < cutoff,
            AuditEvent.canonical.is_not(None),
            AuditEvent.id <= sequenced_up_to,
        )
        .values(canonical=None, old=null(), new=null(), reason=None, pruned_at=now)
        .execution_options(synchronize_session=False)
    )
    pruned = int(getattr(result, "rowcount", 0) or 0)
    if pruned:
        record(
            db,
            actor=actor,
            action="audit.log.prune",
            object_type="audit_log",
            new={"pruned": pruned, "before": cutoff, "retention_days": days},
        )
    return pruned
