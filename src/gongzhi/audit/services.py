"""Recording audit events. Every service that changes state calls :func:`record`.

The event is added to the caller's session, so it commits or rolls back together with the
change it describes: no audit entry, no change.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.orm import Session

from gongzhi.audit.merkle import MerkleHasher
from gongzhi.audit.models import AuditEvent
from gongzhi.db import utcnow

CANONICAL_VERSION = 1


class Actor(Protocol):
    """Anything that can act: a signed-in principal or a named system process."""

    @property
    def audit_id(self) -> int | None: ...

    @property
    def audit_label(self) -> str: ...


@dataclass(frozen=True)
class SystemActor:
    """A command-line tool, job or migration acting without a signed-in person."""

    name: str

    @property
    def audit_id(self) -> int | None:
        return None

    @property
    def audit_label(self) -> str:
        return f"system:{self.name}"


def jsonable(value: Any) -> Any:
    """Plain JSON values for old/new snapshots (dates as ISO, enums by value)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


_hashers: dict[str, MerkleHasher] = {}


def log_hasher(algorithm: str | None = None) -> MerkleHasher:
    """The Merkle hasher of the configured ``GONGZHI_AUDIT_HASH`` (or of ``algorithm``)."""
    if algorithm is None:
        from gongzhi.config import get_settings

        algorithm = get_settings().audit_hash
    hasher = _hashers.get(algorithm)
    if hasher is None:
        hasher = _hashers[algorithm] = MerkleHasher(algorithm)
    return hasher


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    return json.dumps(
        fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def record(
    db: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str | None = None,
    region_code: str | None = None,
) -> AuditEvent:
    """Add one audit event to the current transaction and return it.

    Its Merkle leaf hash is computed here, so the event and its hash commit together with the
    change (or not at all); the sequencer later gives it its place in the log."""
    at = utcnow()
    old_j = jsonable(old) if old is not None else None
    new_j = jsonable(new) if new is not None else None
    oid = None if object_id is None else str(object_id)
    fields = {
        "v": CANONICAL_VERSION,
        "at": at.isoformat(),
        "actor_id": actor.audit_id,
        "actor": actor.audit_label,
        "action": action,
        "object_type": object_type,
        "object_id": oid,
        "region": region_code,
        "old": old_j,
        "new": new_j,
        "reason": reason,
    }
    canonical = canonical_bytes(fields)
    event = AuditEvent(
        occurred_at=at,
        actor_id=actor.audit_id,
        actor_label=actor.audit_label,
        action=action,
        object_type=object_type,
        object_id=oid,
        region_code=region_code,
        old=old_j,
        new=new_j,
        reason=reason,
        canonical=canonical.decode("utf-8"),
        leaf_hash=log_hasher().hash_leaf(canonical),
    )
    db.add(event)
    return event


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as (old, new) snapshots for :func:`record`."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
