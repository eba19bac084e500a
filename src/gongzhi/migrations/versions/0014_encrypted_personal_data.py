"""personal data encrypted at rest with keyed lookup indexes

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29

The reporter's name and phone (case_contact), the SMS recipient (notification) and the staff
phone (staff_profile) move from plain text columns to SM4-GCM sealed columns bound to a random
per-row key (see gongzhi.crypto.fields); the phone of a case contact gets an HMAC-SM3 blind
index. Rows that exist already are sealed here, in the migration's transaction, so no plain
copy survives the upgrade and no separate step can be forgotten; this needs the key file (the
one ``GONGZHI_KEY_FILE`` names, or var/keys.json outside production). A fresh install has no
such rows and needs no key to migrate. On SQLite the upgrade runs with ``secure_delete`` on,
so the rebuilt tables' old pages are zeroed rather than left with the plain values in the
file's free list (gongzhi.migrations.sealing).

The person table (gongzhi.people) is created here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

import gongzhi.db
from gongzhi.crypto.provider import CryptoProvider
from gongzhi.migrations.sealing import key_provider, secure_delete

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BATCH = 1000


class _Sealed(NamedTuple):
    table: str
    column: str  # the plain column this replaces, and the name bound in the associated data
    length: int  # the plain column's length, for the downgrade
    index_purpose: str | None = None


SEALED = (
    _Sealed("case_contact", "name", 100),
    _Sealed("case_contact", "phone", 40, index_purpose="phone"),
    _Sealed("notification", "recipient_phone", 40),
    _Sealed("staff_profile", "phone", 40),
)
TABLES = ("case_contact", "notification", "staff_profile")


def _columns(table: str) -> list[_Sealed]:
    return [s for s in SEALED if s.table == table]


def _normalizer(purpose: str) -> Callable[[str], str]:
    from gongzhi.crypto.fields import normalize_phone

    return {"phone": normalize_phone}[purpose]


def _seal_existing(table: str) -> None:
    """Give every row a row key and seal its plain values (in batches, by id)."""
    from gongzhi.crypto.fields import associated_data, new_row_key

    conn = op.get_bind()
    columns = _columns(table)
    t = sa.table(
        table,
        sa.column("id"),
        sa.column("row_key"),
        *(sa.column(s.column) for s in columns),
        *(sa.column(f"{s.column}_sealed") for s in columns),
        *(sa.column(f"{s.column}_index") for s in columns if s.index_purpose),
    )
    provider: CryptoProvider | None = None
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(t.c.id, *(t.c[s.column] for s in columns))
            .where(t.c.id > last_id)
            .order_by(t.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        if provider is None:
            provider = key_provider()
        for row in rows:
            row_key = new_row_key()
            values: dict[str, object] = {"row_key": row_key}
            for i, s in enumerate(columns, start=1):
                plain = row[i]
                if plain is None:
                    continue
                ad = associated_data(table, s.column, row_key)
                values[f"{s.column}_sealed"] = provider.seal(plain.encode(), associated_data=ad)
                if s.index_purpose:
                    normalized = _normalizer(s.index_purpose)(plain)
                    values[f"{s.column}_index"] = provider.blind_index(
                        s.index_purpose, normalized.encode()
                    )
            conn.execute(sa.update(t).where(t.c.id == row[0]).values(**values))
        last_id = rows[-1][0]


def _open_existing(table: str) -> None:
    """The downgrade: plain values back from the sealed ones."""
    from gongzhi.crypto.fields import associated_data

    conn = op.get_bind()
    columns = _columns(table)
    t = sa.table(
        table,
        sa.column("id"),
        sa.column("row_key"),
        *(sa.column(s.column) for s in columns),
        *(sa.column(f"{s.column}_sealed") for s in columns),
    )
    rows = conn.execute(
        sa.select(t.c.id, t.c.row_key, *(t.c[f"{s.column}_sealed"] for s in columns))
    ).all()
    if not rows:
        return
    provider = key_provider()
    for row in rows:
        values = {}
        for i, s in enumerate(columns, start=2):
            if row[i] is not None:
                ad = associated_data(table, s.column, row[1])
                values[s.column] = provider.open(bytes(row[i]), associated_data=ad).decode()
        if values:
            conn.execute(sa.update(t).where(t.c.id == row[0]).values(**values))


def _seal_table(table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("row_key", sa.LargeBinary(16), nullable=True))
        for s in _columns(table):
            batch.add_column(sa.Column(f"{s.column}_sealed", sa.LargeBinary(), nullable=True))
            if s.index_purpose:
                batch.add_column(sa.Column(f"{s.column}_index", sa.LargeBinary(32), nullable=True))
    _seal_existing(table)
    with op.batch_alter_table(table) as batch:
        for s in _columns(table):
            batch.drop_column(s.column)
        batch.alter_column("row_key", existing_type=sa.LargeBinary(16), nullable=False)
        batch.create_unique_constraint(op.f(f"uq_{table}_row_key"), ["row_key"])
    for s in _columns(table):
        if s.index_purpose:
            op.create_index(op.f(f"ix_{table}_{s.column}_index"), table, [f"{s.column}_index"])


def upgrade() -> None:
    # SQLite: the rebuilt tables' old pages, which held the plain values, are zeroed.
    with secure_delete():
        for table in TABLES:
            _seal_table(table)

    op.create_table(
        "person",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("row_key", sa.LargeBinary(16), nullable=False),
        sa.Column("id_number_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("id_number_index", sa.LargeBinary(32), nullable=True),
        sa.Column("name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("phone_index", sa.LargeBinary(32), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(6), nullable=False),
        sa.Column("household_region_code", sa.String(12), nullable=True),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("row_key", name=op.f("uq_person_row_key")),
        sa.UniqueConstraint("id_number_index", name=op.f("uq_person_id_number_index")),
    )
    op.create_index(op.f("ix_person_phone_index"), "person", ["phone_index"])
    op.create_index("ix_person_household_region_code", "person", ["household_region_code"])


def downgrade() -> None:
    op.drop_table("person")
    for table in TABLES:
        for s in _columns(table):
            if s.index_purpose:
                op.drop_index(op.f(f"ix_{table}_{s.column}_index"), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"uq_{table}_row_key"), type_="unique")
            for s in _columns(table):
                batch.add_column(sa.Column(s.column, sa.String(s.length), nullable=True))
        _open_existing(table)
        with op.batch_alter_table(table) as batch:
            for s in _columns(table):
                batch.drop_column(f"{s.column}_sealed")
                if s.index_purpose:
                    batch.drop_column(f"{s.column}_index")
            batch.drop_column("row_key")
