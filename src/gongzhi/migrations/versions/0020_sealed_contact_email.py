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

from gongzhi.migrations.sealing import open_sealed_column, seal_plain_column, secure_delete

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLE = "case_contact"
COLUMN = "email"  # also the name bound in the associated data (CaseContact.email)
PLAIN_LENGTH = 200


def upgrade() -> None:
    with secure_delete():
        with op.batch_alter_table(TABLE) as batch:
            batch.add_column(sa.Column(f"{COLUMN}_sealed", sa.LargeBinary(), nullable=True))
        seal_plain_column(TABLE, COLUMN)
        with op.batch_alter_table(TABLE) as batch:
            batch.drop_column(COLUMN)


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column(COLUMN, sa.String(PLAIN_LENGTH), nullable=True))
    open_sealed_column(TABLE, COLUMN)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column(f"{COLUMN}_sealed")
