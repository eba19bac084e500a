"""the TOTP secret sealed like personal data

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29

``account.totp_secret`` (plain base32 since 0003) becomes ``totp_secret_sealed``: SM4-GCM
bound to the table, the column and the account's new ``row_key``. Whoever reads a plain
secret can make every code of that account's second factor, administrators' included. Every
account gets its row key and the existing secrets are sealed here, in the migration's
transaction, before the plain column is dropped (gongzhi.migrations.sealing); that needs the
key file when some account has a secret. No blind index: nothing looks an account up by it.

On SQLite the account table is altered in place, not rebuilt (a rebuilt ``account`` would
cascade through every table that references it, see 0016): the row key is added NOT NULL with
an empty default, which SQLite requires of a NOT NULL column added to a table with rows, and
each row is given its random key before anything is sealed. SQLite cannot add a constraint to
a table in place, so the uniqueness is a unique index, ``ux_account_row_key``, on PostgreSQL
too (one schema on both). The upgrade runs with ``secure_delete`` on, so the bytes of the
plain secrets are zeroed where they are freed. On PostgreSQL the old row versions stay in the
table's pages until vacuum: run ``VACUUM FULL account`` after the upgrade (docs/security.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gongzhi.migrations.sealing import open_sealed_column, seal_plain_column, secure_delete

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TABLE = "account"
COLUMN = "totp_secret"  # also the name bound in the associated data (Account.totp_secret)
PLAIN_LENGTH = 64
ROW_KEY_UNIQUE = "ux_account_row_key"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    with secure_delete():
        if _sqlite():
            op.execute(f"ALTER TABLE {TABLE} ADD COLUMN row_key BLOB NOT NULL DEFAULT X''")
        else:
            op.add_column(TABLE, sa.Column("row_key", sa.LargeBinary(16), nullable=True))
        op.add_column(TABLE, sa.Column(f"{COLUMN}_sealed", sa.LargeBinary(), nullable=True))
        seal_plain_column(TABLE, COLUMN, assign_row_keys=True)
        op.drop_column(TABLE, COLUMN)
        if not _sqlite():
            op.alter_column(TABLE, "row_key", existing_type=sa.LargeBinary(16), nullable=False)
        op.create_index(ROW_KEY_UNIQUE, TABLE, ["row_key"], unique=True)


def downgrade() -> None:
    op.add_column(TABLE, sa.Column(COLUMN, sa.String(PLAIN_LENGTH), nullable=True))
    open_sealed_column(TABLE, COLUMN)
    op.drop_index(ROW_KEY_UNIQUE, table_name=TABLE)
    op.drop_column(TABLE, f"{COLUMN}_sealed")
    op.drop_column(TABLE, "row_key")
