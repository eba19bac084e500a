"""Reads behind the audit administrator's pages: the event list (filtered, keyset-paged),
one event with its proof against the latest signed checkpoint, and the log's status.

Everything here only reads. The event list must stay fast with millions of rows, so every
filter is on an indexed column and the list is paged by key, never by offset: newest first
by ``(occurred_at, id)`` — the ``occurred_at`` index gives the order on both backends (SQLite
keeps the rowid in every index entry; PostgreSQL finishes ties with an incremental sort) —
and a page continues from the event it ended on.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from gongzhi.audit import log, merkle
from gongzhi.audit.models import AuditCheckpoint, AuditEvent, AuditLeaf
from gongzhi.config import Settings
from gongzhi.errors import Conflict, NotFound

PAGE_SIZE = 50
# Action names are ASCII (``domain.resource.verb``); a prefix longer than this is no name.
MAX_ACTION_PREFIX = 100


@dataclass(frozen=True)
class EventFilter:
    """What the list is narrowed to. Days are calendar days in the deployment's zone, both
    ends included; ``region_code`` matches the region and everything below it."""

    since: date | None = None
    until: date | None = None
    actor_id: int | None = None
    action_prefix: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    region_code: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    leaf_indexes: dict[int, int]  # event id -> leaf index, for the sequenced ones
    newer_than: int | None  # link to the newer page: events after this id
    older_than: int | None  # link to the older page: events before this id
    first_page: bool


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _region_bounds(code: str) -> tuple[str, str]:
    """The key range of a region and its descendants (12-digit statistical codes, trailing
    zero groups mean "everything below"; the same rule as ``regions.codes``)."""
    from gongzhi.regions.codes import subtree_bounds

    return subtree_bounds(code)


def _prefix_upper(prefix: str) -> str:
    """The smallest string above every string starting with ``prefix`` in code-point order."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _filtered(
    stmt: Select[Any], flt: EventFilter, zone: ZoneInfo, *, time_index_only: bool = False
) -> Select[Any]:
    """``stmt`` narrowed by the filter. ``time_index_only`` writes the actor, action and
    region conditions so that SQLite cannot use their indexes (``col || ''``, ``col + 0``:
    the same values), leaving it the ``occurred_at`` index (see :func:`events_page`)."""
    e = AuditEvent
    actor_id: Any = e.actor_id + 0 if time_index_only else e.actor_id
    action: Any = e.action.concat("") if time_index_only else e.action
    region: Any = e.region_code.concat("") if time_index_only else e.region_code
    if flt.since is not None:
        stmt = stmt.where(e.occurred_at >= _day_start(flt.since, zone))
    if flt.until is not None:
        stmt = stmt.where(e.occurred_at < _day_start(flt.until + timedelta(days=1), zone))
    if flt.actor_id is not None:
        stmt = stmt.where(actor_id == flt.actor_id)
    if flt.action_prefix:
        # A range on the action index. Action names are ASCII and both backends compare them
        # by code point here (SQLite's BINARY; the PostgreSQL databases are C.UTF-8), where
        # a prefix's matches are exactly this range.
        stmt = stmt.where(action >= flt.action_prefix, action < _prefix_upper(flt.action_prefix))
    if flt.object_type is not None:
        stmt = stmt.where(e.object_type == flt.object_type)
        if flt.object_id is not None:
            stmt = stmt.where(e.object_id == flt.object_id)
    if flt.region_code is not None:
        low, high = _region_bounds(flt.region_code)
        stmt = stmt.where(region.between(low, high))
    return stmt


# SQLite has no statistics on how common an action, actor or region is, so for those filters
# it always reads the filter's index and sorts every match by time: ~0.8 s for an action
# held by one event in eight at a million events. Looking first among the newest
# RECENT_WINDOW events along the time index (where common matches are) answers such a page
# in milliseconds; only when that window holds too few matches does the filter's index
# answer, and then there are few matches to sort.
RECENT_WINDOW = 20_000


def _keyset(stmt: Select[Any], anchor: Any, newer: bool) -> Select[Any]:
    """Rows after the anchor event in the list's direction; written so that the
    ``occurred_at`` index serves the first condition."""
    if anchor is None:
        return stmt
    e = AuditEvent
    at, anchor_id = anchor.occurred_at, anchor.id
    if newer:
        return stmt.where(e.occurred_at >= at, or_(e.occurred_at > at, e.id > anchor_id))
    return stmt.where(e.occurred_at <= at, or_(e.occurred_at < at, e.id < anchor_id))


def _ordered(stmt: Select[Any], newer: bool) -> Select[Any]:
    e = AuditEvent
    if newer:
        return stmt.order_by(e.occurred_at.asc(), e.id.asc())
    return stmt.order_by(e.occurred_at.desc(), e.id.desc())


def _page_rows(
    db: Session, flt: EventFilter, zone: ZoneInfo, anchor: Any, newer: bool, limit: int
) -> list[AuditEvent]:
    e = AuditEvent
    windowed = db.get_bind().dialect.name == "sqlite" and (
        flt.object_type is None
        and (flt.actor_id is not None or flt.action_prefix or flt.region_code is not None)
    )
    if windowed:
        # The time of the RECENT_WINDOW-th event (in the day range) from where the page
        # starts: a walk along the time index.
        days = EventFilter(since=flt.since, until=flt.until)
        edge_stmt = _ordered(
            _keyset(_filtered(select(e.occurred_at), days, zone), anchor, newer), newer
        )
        edge = db.scalar(edge_stmt.offset(RECENT_WINDOW).limit(1))
        stmt = _filtered(select(e), flt, zone, time_index_only=True)
        if edge is not None:
            stmt = stmt.where(e.occurred_at <= edge if newer else e.occurred_at >= edge)
        rows = list(db.scalars(_ordered(_keyset(stmt, anchor, newer), newer).limit(limit)))
        # Complete when the window filled the page or the window reached the end of the log:
        # any match outside it comes after every event in it.
        if len(rows) == limit or edge is None:
            return rows
    stmt = _keyset(_filtered(select(e), flt, zone), anchor, newer)
    return list(db.scalars(_ordered(stmt, newer).limit(limit)))


def events_page(
    db: Session,
    flt: EventFilter,
    *,
    zone: ZoneInfo,
    older_than: int | None = None,
    newer_than: int | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page of events, newest first: the first page, the page of events older than the
    event ``older_than``, or the page of events newer than the event ``newer_than``. A cursor
    naming an event that does not exist starts from the first page."""
    e = AuditEvent
    anchor = None
    if older_than is not None or newer_than is not None:
        anchor = db.execute(
            select(e.id, e.occurred_at).where(e.id == (older_than or newer_than))
        ).one_or_none()
    going_back = anchor is not None and newer_than is not None
    rows = _page_rows(db, flt, zone, anchor, going_back, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    if going_back:
        if not more:
            # Back at the newest events: show the first page, full, as a fresh visit would.
            return events_page(db, flt, zone=zone, size=size)
        rows.reverse()
        first_page = False
        has_older = True
        has_newer = True
    else:
        first_page = anchor is None
        has_older = more
        has_newer = anchor is not None
    leaf_indexes: dict[int, int] = {}
    if rows:
        leaf_indexes = {
            event_id: leaf_index
            for event_id, leaf_index in db.execute(
                select(AuditLeaf.event_id, AuditLeaf.leaf_index).where(
                    AuditLeaf.event_id.in_([r.id for r in rows])
                )
            )
        }
    return EventPage(
        events=rows,
        leaf_indexes=leaf_indexes,
        newer_than=rows[0].id if rows and has_newer and not first_page else None,
        older_than=rows[-1].id if rows and has_older else None,
        first_page=first_page,
    )


def actor_id_for(db: Session, who: str) -> int | None:
    """An account id typed as digits, or the id of the account with this username."""
    if who.isdigit():
        return int(who)
    from gongzhi.security.models import Account

    return db.scalar(select(Account.id).where(Account.username == who))


# --- one event -------------------------------------------------------------------------------


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@dataclass
class EventProof:
    """One event, what the log holds for it, and its inclusion proof checked here against
    the latest signed checkpoint. ``state`` says how far it got:

    - ``unsequenced``: recorded, not yet given a place in the log (seconds, normally);
    - ``no_checkpoint``: in the log, but no checkpoint is signed yet;
    - ``after_checkpoint``: in the log, after the latest checkpoint (the next one covers it);
    - ``proved``: the proof was computed and checked (``verified`` says whether it holds).
    """

    event: AuditEvent
    state: str
    leaf_index: int | None = None
    sequenced_leaf_hash: str | None = None
    event_leaf_hash: str = ""
    recomputed_leaf_hash: str | None = None  # None when the payload was pruned
    leaf_hash_matches: bool = False
    checkpoint: AuditCheckpoint | None = None
    checkpoint_root: str = ""
    path: list[str] = field(default_factory=list)
    inclusion_ok: bool = False
    signature_ok: bool = False
    signature_problem: str = ""

    @property
    def verified(self) -> bool:
        return (
            self.state == "proved"
            and self.inclusion_ok
            and self.signature_ok
            and (self.leaf_hash_matches or self.recomputed_leaf_hash is None)
        )


def trusted_keys(settings: Settings) -> list[bytes]:
    from gongzhi.crypto import get_provider

    return [get_provider(settings).public_key(log.SIGNING_KEY)]


def event_proof(db: Session, settings: Settings, event_id: int) -> EventProof:
    """The event ``event_id`` with its inclusion proof against the latest checkpoint, every
    step checked on the server: the canonical text hashes to the leaf hash, the path leads to
    the checkpoint's root, and the checkpoint carries a valid signature by the log's key."""
    event = db.get(AuditEvent, event_id)
    if event is None:
        raise NotFound("没有这条审计记录 / No such audit entry", code="audit_entry_not_found")
    hasher = log.hasher_of(db, settings)
    out = EventProof(event=event, state="unsequenced", event_leaf_hash=_b64(event.leaf_hash))
    if event.canonical is not None:
        recomputed = hasher.hash_leaf(event.canonical.encode("utf-8"))
        out.recomputed_leaf_hash = _b64(recomputed)
    leaf = db.scalar(select(AuditLeaf).where(AuditLeaf.event_id == event_id))
    if leaf is None:
        return out
    out.leaf_index = leaf.leaf_index
    out.sequenced_leaf_hash = _b64(leaf.leaf_hash)
    out.leaf_hash_matches = leaf.leaf_hash == event.leaf_hash and (
        out.recomputed_leaf_hash is None or out.recomputed_leaf_hash == out.sequenced_leaf_hash
    )
    checkpoint = log.latest_checkpoint(db)
    if checkpoint is None:
        out.state = "no_checkpoint"
        return out
    out.checkpoint = checkpoint
    out.checkpoint_root = _b64(checkpoint.root_hash)
    out.signature_ok, out.signature_problem = log.checkpoint_signature_ok(
        checkpoint, settings, trusted_keys(settings)
    )
    if leaf.leaf_index >= checkpoint.tree_size:
        out.state = "after_checkpoint"
        return out
    try:
        proof = log.inclusion_for(db, settings, event_id=event_id)
    except Conflict:
        # The stored subtrees a proof needs are missing: the proof cannot hold.
        out.state = "proved"
        return out
    out.state = "proved"
    out.path = [_b64(p) for p in proof.path]
    out.inclusion_ok = merkle.verify_inclusion(
        hasher, proof.leaf_index, proof.tree_size, leaf.leaf_hash, proof.path, checkpoint.root_hash
    )
    return out


# --- the log's status --------------------------------------------------------------------------


@dataclass(frozen=True)
class LogStatus:
    started: bool
    origin: str
    hash_algorithm: str
    tree_size: int
    unsequenced: int
    checkpoints: int
    checkpoint: AuditCheckpoint | None
    signature_ok: bool
    signature_problem: str
    root_matches_tree: bool
    public_key_hex: str
    key_id_hex: str


def log_status(db: Session, settings: Settings) -> LogStatus:
    """Size, latest checkpoint (signature checked, root compared with the stored tree),
    events waiting for the sequencer, and the public key a witness pins."""
    found = log.get_log(db)
    origin = found.origin if found is not None else settings.audit_origin
    algorithm = found.hash_algorithm if found is not None else settings.audit_hash
    size = log.tree_size(db)
    checkpoint = log.latest_checkpoint(db)
    signature_ok, problem, root_matches = False, "", False
    if checkpoint is not None:
        signature_ok, problem = log.checkpoint_signature_ok(
            checkpoint, settings, trusted_keys(settings)
        )
        try:
            root = log.root_at(db, log.hasher_of(db, settings), checkpoint.tree_size)
            root_matches = root == checkpoint.root_hash
        except Conflict:
            root_matches = False
    key = trusted_keys(settings)[0]
    return LogStatus(
        started=found is not None,
        origin=origin,
        hash_algorithm=algorithm,
        tree_size=size,
        unsequenced=log.pending_count(db),
        checkpoints=db.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0,
        checkpoint=checkpoint,
        signature_ok=signature_ok,
        signature_problem=problem,
        root_matches_tree=root_matches,
        public_key_hex=key.hex(),
        key_id_hex=log.note_key_id(origin, key).hex(),
    )
