"""contradictions between departments found in the master index (findings)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_finding",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("index_kind", sa.String(length=10), nullable=False),
        sa.Column("build_id", sa.BigInteger(), nullable=True),
        sa.Column("subject_entity_id", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("first_seen_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("gone_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("decided_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_by_label", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("case_number", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["service_case.id"], name=op.f("fk_data_finding_case_id_service_case")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["account.id"], name=op.f("fk_data_finding_decided_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["subject_entity_id"],
            ["data_master_entity.id"],
            name=op.f("fk_data_finding_subject_entity_id_data_master_entity"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_finding")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_data_finding_fingerprint")),
    )
    op.create_index(op.f("ix_data_finding_kind"), "data_finding", ["kind"], unique=False)
    op.create_index(op.f("ix_data_finding_status"), "data_finding", ["status"], unique=False)
    op.create_index(
        op.f("ix_data_finding_subject_entity_id"),
        "data_finding",
        ["subject_entity_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_data_finding_subject_entity_id"), table_name="data_finding")
    op.drop_index(op.f("ix_data_finding_status"), table_name="data_finding")
    op.drop_index(op.f("ix_data_finding_kind"), table_name="data_finding")
    op.drop_table("data_finding")
