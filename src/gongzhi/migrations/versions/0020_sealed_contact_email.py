"""the case reporter's e-mail sealed like the name and phone

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29

``case_contact.email`` (plain text since 0005) becomes ``email_sealed``: SM4-GCM bound to the
table, the column and the row's ``row_key`` (which every contact has since 0014), like the
name and phone. Existing addresses are sealed here, in the migration's transaction, before
the plain column is dropped, so no plain copy survives the upgrade; that needs the key file,
as 0014 did. A database without contacts that gave an e-mail needs no key. No blind index:
nothing looks a contact up by e-mail.

On SQLite the upgrade runs with ``secure_delete`` on, so the pages that held the plain
addresses are overwritten with zeros when the old table is dropped rather than left in the
file's free list. On PostgreSQL the old row versions stay in the table's pages until vacuum:
run ``VACUUM FULL case_contact`` after the upgrade (docs/security.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongzhi.crypto.provider import CryptoProvider

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLE = "case_contact"
COLUMN = "email"  # also the name bound in the associated data (CaseContact.email)
PLAIN_LENGTH = 200
BATCH = 1000


def _provider() -> CryptoProvider:
    from gongzhi.config import get_settings
    from gongzhi.crypto import get_provider

    return get_provider(get_settings())


def _table() -> sa.TableClause:
    return sa.table(
        TABLE,
        sa.column("id"),
        sa.column("row_key"),
        sa.column(COLUMN),
        sa.column(f"{COLUMN}_sealed"),
    )


def _seal_existing() -> None:
    """Seal every plain address, in batches by id."""
    from gongzhi.crypto.fields import associated_data

    conn = op.get_bind()
    t = _table()
    provider: CryptoProvider | None = None
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(t.c.id, t.c.row_key, t.c[COLUMN])
            .where(t.c.id > last_id, t.c[COLUMN].is_not(None))
            .order_by(t.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        if provider is None:
            provider = _provider()
        for row_id, row_key, plain in rows:
            sealed = provider.seal(
                plain.encode("utf-8"),
                associated_data=associated_data(TABLE, COLUMN, bytes(row_key)),
            )
            conn.execute(sa.update(t).where(t.c.id == row_id).values({f"{COLUMN}_sealed": sealed}))
        last_id = rows[-1][0]


def _open_existing() -> None:
    """The downgrade: plain addresses back from the sealed ones."""
    from gongzhi.crypto.fields import associated_data

    conn = op.get_bind()
    t = _table()
    rows = conn.execute(
        sa.select(t.c.id, t.c.row_key, t.c[f"{COLUMN}_sealed"]).where(
            t.c[f"{COLUMN}_sealed"].is_not(None)
        )
    ).all()
    if not rows:
        return
    provider = _provider()
    for row_id, row_key, sealed in rows:
        plain = provider.open(
            bytes(sealed), associated_data=associated_data(TABLE, COLUMN, bytes(row_key))
        ).decode("utf-8")
        conn.execute(sa.update(t).where(t.c.id == row_id).values({COLUMN: plain}))


def _secure_delete(on: bool | int) -> int | None:
    """SQLite: set ``secure_delete`` and return what it was (None on other databases)."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return None
    previous = int(conn.exec_driver_sql("PRAGMA secure_delete").scalar() or 0)
    conn.exec_driver_sql(f"PRAGMA secure_delete = {int(on)}")
    return previous


def upgrade() -> None:
    previous = _secure_delete(True)
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column(f"{COLUMN}_sealed", sa.LargeBinary(), nullable=True))
    _seal_existing()
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column(COLUMN)
    if previous is not None:
        _secure_delete(previous)


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column(COLUMN, sa.String(PLAIN_LENGTH), nullable=True))
    _open_existing()
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column(f"{COLUMN}_sealed")
