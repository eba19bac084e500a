"""Data-key rotation: a new SM4 key version, every sealed column re-encrypted under it.

The steps, each safe to interrupt:

1. If every older version is retired, a new version is added to the key file and made
   current (new values are sealed with it from now on, in every process: providers notice the
   changed key file within seconds). If an older version is still active, a rotation was
   interrupted and this run continues it, adding nothing.
2. Every sealed column of every table (the :data:`~gongzhi.crypto.fields.REGISTRY`) is walked
   by primary key in batches; rows with a value under another version are opened and sealed
   again under the current one, one transaction per batch. Rows already rotated are skipped
   by their header bytes in SQL, so a second run only does what is left.
3. When no value under an older version remains, the older versions are marked retired in
   the key file: from then on a value sealed under them (from a stale backup, say) is refused.
   Their keys stay in the file, so an operator can mark one active again to read such a backup.

Index (HMAC) keys are not rotated: a new index key would have to recompute every index from
the plain values in one step, and the old index values would stop matching lookups midway.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, func, literal_column, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gongzhi.audit.services import Actor, record
from gongzhi.crypto.fields import REGISTRY, SealedColumnInfo, SealedField
from gongzhi.crypto.keyfile import KeyMaterial
from gongzhi.crypto.provider import CryptoError
from gongzhi.crypto.software import HEADER, SoftwareCryptoProvider, sealed_header
from gongzhi.db import session_scope

DEFAULT_BATCH = 500


@dataclass
class _SealedTable:
    table: Table
    pk: Any
    fields: list[SealedField]


def _tables() -> list[_SealedTable]:
    import gongzhi.models  # noqa: F401  (every table, so every sealed column, is registered)

    by_model: dict[type, list[SealedColumnInfo]] = {}
    for info in REGISTRY:
        by_model.setdefault(info.model, []).append(info)
    out = []
    for model, infos in by_model.items():
        table: Table = model.__table__  # type: ignore[attr-defined]
        (pk,) = table.primary_key.columns
        out.append(_SealedTable(table, pk, [i.field for i in infos]))
    return sorted(out, key=lambda t: t.table.name)


def _header(column: Any) -> Any:
    # Literal positions (not bound parameters): PostgreSQL must see the GROUP BY expression
    # as the same one the SELECT list has.
    return func.substr(column, literal_column("1"), literal_column(str(HEADER.size)))


def _stale(t: _SealedTable, header: bytes) -> ColumnElement[bool]:
    conditions = []
    for f in t.fields:
        col = t.table.c[f.sealed_attr]
        conditions.append(and_(col.is_not(None), _header(col) != header))
    return or_(*conditions)


def counts_by_version(db: Session) -> dict[str, Counter[int]]:
    """``{"table.column": Counter({version: number of sealed values})}``."""
    out: dict[str, Counter[int]] = {}
    for t in _tables():
        for f in t.fields:
            col = t.table.c[f.sealed_attr]
            rows = db.execute(
                select(_header(col), func.count()).where(col.is_not(None)).group_by(_header(col))
            ).all()
            counter: Counter[int] = Counter()
            for header, n in rows:
                _, version = HEADER.unpack(bytes(header))
                counter[version] += n
            out[f"{t.table.name}.{f.column}"] = counter
    return out


def pending_rows(db: Session, version: int) -> int:
    """Rows holding at least one value sealed under a version other than ``version``."""
    header = sealed_header(version)
    return sum(
        db.scalar(select(func.count()).select_from(t.table).where(_stale(t, header))) or 0
        for t in _tables()
    )


@dataclass
class RotationResult:
    version: int
    started: bool  # True if this run added the version, False if it continued a rotation
    rows: int = 0
    retired: list[int] = field(default_factory=list)


def begin(provider: SoftwareCryptoProvider) -> tuple[int, bool]:
    """Step 1: the target version, and whether it was added now."""
    material: KeyMaterial = provider.material
    if any(v != material.current_data_key for v in material.readable_versions):
        return material.current_data_key, False
    new = material.add_data_key()
    provider.save(material)
    return new.version, True


def rotate(
    factory: sessionmaker[Session] | Callable[[], Session],
    provider: SoftwareCryptoProvider,
    *,
    actor: Actor,
    batch_size: int = DEFAULT_BATCH,
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    stop_after_batches: int | None = None,
) -> RotationResult:
    """Run (or continue) a rotation to the end; see the module doc for the steps.

    ``stop_after_batches`` stops early, as an interruption would (tests of resuming)."""
    version, started = begin(provider)
    result = RotationResult(version=version, started=started)
    header = sealed_header(version)
    with session_scope(factory, write=False) as db:
        total = pending_rows(db, version)
    if on_start:
        on_start(total)
    batches = 0
    while True:  # another pass if a process sealed under the old version meanwhile
        for t in _tables():
            last: Any = None
            while True:
                if stop_after_batches is not None and batches >= stop_after_batches:
                    return result
                with session_scope(factory) as db:
                    n, last = _rotate_batch(db, t, provider, version, header, last, batch_size)
                if n == 0 and last is None:
                    break
                batches += 1
                result.rows += n
                if on_batch:
                    on_batch(n)
        with session_scope(factory, write=False) as db:
            if pending_rows(db, version) == 0:
                break
    material = provider.material
    result.retired = material.retire_all_but_current()
    with session_scope(factory) as db:
        record(
            db,
            actor=actor,
            action="crypto.data_key.rotate",
            object_type="data_key",
            object_id=version,
            new={"version": version, "rows": result.rows, "retired": result.retired},
        )
    provider.save(material)
    return result


def _rotate_batch(
    db: Session,
    t: _SealedTable,
    provider: SoftwareCryptoProvider,
    version: int,
    header: bytes,
    after: Any,
    batch_size: int,
) -> tuple[int, Any]:
    """Re-seal one batch of rows after primary key ``after``; (rows changed, last key or
    None when the table is done)."""
    sealed_cols = [t.table.c[f.sealed_attr] for f in t.fields]
    query = select(t.pk, t.table.c.row_key, *sealed_cols).where(_stale(t, header))
    if after is not None:
        query = query.where(t.pk > after)
    rows = db.execute(query.order_by(t.pk).limit(batch_size)).all()
    if not rows:
        return 0, None
    for row in rows:
        pk, row_key, values = row[0], bytes(row[1]), row[2:]
        changes: dict[str, bytes] = {}
        for f, sealed in zip(t.fields, values, strict=True):
            if sealed is None or bytes(sealed[: HEADER.size]) == header:
                continue
            try:
                plain = f.open(bytes(sealed), row_key=row_key, provider=provider)
            except CryptoError as exc:
                raise CryptoError(f"{t.table.name} row {pk}, {f.column}: {exc}") from None
            changes[f.sealed_attr] = f.seal(
                plain, row_key=row_key, provider=provider, key_version=version
            )
        # Keep "last changed" stamps as they are: re-sealing changes no one's data.
        untouched = {c.name: c for c in t.table.columns if c.onupdate is not None}
        db.execute(update(t.table).where(t.pk == pk).values(**changes, **untouched))
    return len(rows), rows[-1][0]
