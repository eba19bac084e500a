"""What the migrations that seal a formerly plain column share.

A column that used to hold plain text is sealed inside the migration's own transaction (so no
plain copy survives the upgrade and no separate step can be forgotten), with the key provider
of the process settings (the key file ``GONGZHI_KEY_FILE`` names, or var/keys.json outside
production); a database without values to seal needs no key. The values are bound like the
model's :class:`~gongzhi.crypto.fields.SealedField`: associated data naming the table, the
column and the row's ``row_key``.

On SQLite the rewrite runs with ``secure_delete`` on (:func:`secure_delete`), so the pages
that held the plain values are overwritten with zeros when they are freed rather than left in
the file's free list. PostgreSQL keeps the old row versions until vacuum (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from gongzhi.crypto.provider import CryptoProvider

BATCH = 1000


def key_provider() -> CryptoProvider:
    """The provider of the process settings (the one the application will open values with)."""
    from gongzhi.config import get_settings
    from gongzhi.crypto import get_provider

    return get_provider(get_settings())


@contextmanager
def secure_delete() -> Iterator[None]:
    """SQLite: ``PRAGMA secure_delete`` on within the block, then back as it was. Builds of
    SQLite differ in the default (Debian's zeroes deleted content, others do not); a
    migration that drops plain values must not depend on it. Nothing on other databases."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = int(conn.exec_driver_sql("PRAGMA secure_delete").scalar() or 0)
    conn.exec_driver_sql("PRAGMA secure_delete = 1")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA secure_delete = {previous}")


def _table(table: str, column: str) -> sa.TableClause:
    return sa.table(
        table,
        sa.column("id"),
        sa.column("row_key"),
        sa.column(column),
        sa.column(f"{column}_sealed"),
    )


def seal_plain_column(table: str, column: str, *, assign_row_keys: bool = False) -> None:
    """Seal every plain value of ``table.column`` into ``<column>_sealed``, in batches by id.

    With ``assign_row_keys`` every row (with a value or not) is first given a new random
    ``row_key`` — for a table that gets its row keys in the same migration; otherwise the rows'
    existing keys bind the values."""
    from gongzhi.crypto.fields import associated_data, new_row_key

    conn = op.get_bind()
    t = _table(table, column)
    provider: CryptoProvider | None = None
    query = sa.select(t.c.id, t.c.row_key, t.c[column]).order_by(t.c.id).limit(BATCH)
    if not assign_row_keys:
        query = query.where(t.c[column].is_not(None))
    last_id = 0
    while True:
        rows = conn.execute(query.where(t.c.id > last_id)).all()
        if not rows:
            return
        for row_id, row_key, plain in rows:
            values: dict[str, bytes] = {}
            if assign_row_keys:
                row_key = values["row_key"] = new_row_key()
            if plain is not None:
                if provider is None:
                    provider = key_provider()
                values[f"{column}_sealed"] = provider.seal(
                    plain.encode("utf-8"),
                    associated_data=associated_data(table, column, bytes(row_key)),
                )
            conn.execute(sa.update(t).where(t.c.id == row_id).values(values))
        last_id = rows[-1][0]


def open_sealed_column(table: str, column: str) -> None:
    """The downgrade of :func:`seal_plain_column`: the plain values back into ``column``."""
    from gongzhi.crypto.fields import associated_data

    conn = op.get_bind()
    t = _table(table, column)
    sealed_column = t.c[f"{column}_sealed"]
    provider: CryptoProvider | None = None
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(t.c.id, t.c.row_key, sealed_column)
            .where(t.c.id > last_id, sealed_column.is_not(None))
            .order_by(t.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        if provider is None:
            provider = key_provider()
        for row_id, row_key, sealed in rows:
            plain = provider.open(
                bytes(sealed), associated_data=associated_data(table, column, bytes(row_key))
            ).decode("utf-8")
            conn.execute(sa.update(t).where(t.c.id == row_id).values({column: plain}))
        last_id = rows[-1][0]
