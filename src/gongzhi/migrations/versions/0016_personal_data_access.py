"""who viewed whose personal data, and citizens' requests under PIPL Art. 44–47

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

``personal_data_access`` indexes the ``personal_data.revealed`` audit events by their subject
(a citizen's account, a person in the register); ``privacy_request`` holds citizens' requests
with sealed texts; ``account.person_id`` links a citizen to their record in the register.
The column is added in place (no table rebuild: on SQLite a rebuilt ``account`` would cascade
through every table that references it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with an inline (named) reference; it cannot ALTER constraints.
        op.execute(
            "ALTER TABLE account ADD COLUMN person_id BIGINT CONSTRAINT "
            "fk_account_person_id_person REFERENCES person (id)"
        )
    else:
        op.add_column("account", sa.Column("person_id", sa.BigInteger(), nullable=True))
        op.create_foreign_key(
            "fk_account_person_id_person",
            "account",
            "person",
            ["person_id"],
            ["id"],
        )
    op.create_index("ix_account_person_id", "account", ["person_id"], unique=True)

    op.create_table(
        "personal_data_access",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("audit_event_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("subject_account_id", sa.BigInteger(), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=True),
        sa.Column("actor_account_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=30), nullable=False),
        sa.Column("department_name", sa.String(length=200), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("purpose_text", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["audit_event_id"],
            ["audit_event.id"],
            name="fk_personal_data_access_audit_event_id_audit_event",
        ),
        sa.ForeignKeyConstraint(
            ["subject_account_id"],
            ["account.id"],
            name="fk_personal_data_access_subject_account_id_account",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name="fk_personal_data_access_person_id_person",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_personal_data_access"),
        sa.UniqueConstraint("audit_event_id", name="uq_personal_data_access_audit_event_id"),
    )
    op.create_index(
        "ix_personal_data_access_subject_account",
        "personal_data_access",
        ["subject_account_id", "occurred_at"],
    )
    op.create_index(
        "ix_personal_data_access_person", "personal_data_access", ["person_id", "occurred_at"]
    )

    op.create_table(
        "privacy_request",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("submitted_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("accepted_by_id", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("closed_by_id", sa.BigInteger(), nullable=True),
        sa.Column("row_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("response_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name="fk_privacy_request_account_id_account",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["account.id"], name="fk_privacy_request_accepted_by_id_account"
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["account.id"], name="fk_privacy_request_closed_by_id_account"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_request"),
        sa.UniqueConstraint("row_key", name="uq_privacy_request_row_key"),
    )
    op.create_index("ix_privacy_request_account_id", "privacy_request", ["account_id"])
    op.create_index("ix_privacy_request_open_due", "privacy_request", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("privacy_request")
    op.drop_table("personal_data_access")
    op.drop_index("ix_account_person_id", table_name="account")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_account_person_id_person", "account", type_="foreignkey")
    # SQLite (3.35+) drops a column whose only constraint is its own reference.
    op.drop_column("account", "person_id")
