from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongzhi.db import Base, BigIntPK, UTCDateTime, utcnow


class AuditEvent(Base):
    """One administrative act. Append-only: database triggers refuse UPDATE and DELETE, except
    the retention prune, which may only empty the payload of events older than 180 days.

    ``canonical`` is the exact byte string (UTF-8 JSON, sorted keys, no whitespace) that
    becomes this event's Merkle leaf, so verification never depends on how a database
    round-trips JSON or timestamps. ``leaf_hash`` is H(0x00 ‖ canonical), computed in the
    action's own transaction; it outlives the payload when retention prunes it.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(100))
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    canonical: Mapped[str | None] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(64))
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)


class AuditLog(Base):
    """The log's identity, fixed by the first sequencing run: its origin (the first line of
    every checkpoint) and its Merkle hash. One row."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(200))
    hash_algorithm: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditLeaf(Base):
    """Entry ``leaf_index`` of the Merkle log is the event ``event_id``.

    The sequencer assigns indexes gap-free in event-id order. No foreign key to the event:
    ``gongzhi audit verify`` checks the link itself, so a row removed by someone who bypassed
    the triggers is reported as a deleted entry rather than hidden by a cascade.
    """

    __tablename__ = "audit_leaf"

    leaf_index: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(64))


class AuditNode(Base):
    """The hash of a complete subtree above the leaves: level ``level`` (≥ 1), covering
    entries [node_index·2^level, (node_index+1)·2^level). Written once, when the subtree's
    last leaf is sequenced, so a proof reads O(log n) rows and never re-hashes the log."""

    __tablename__ = "audit_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(64))


class AuditCheckpoint(Base):
    """A signed tree head in the C2SP checkpoint note form (``note`` holds it verbatim, with
    its signature line); ``public_key`` is the SM2 key that signed it."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(65))
