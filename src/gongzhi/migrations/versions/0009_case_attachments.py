"""photos attached to cases, and citizens' report drafts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_draft",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_case_draft_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_draft")),
        sa.UniqueConstraint("account_id", name=op.f("uq_case_draft_account_id")),
    )
    op.create_table(
        "case_attachment",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["service_case.id"],
            name=op.f("fk_case_attachment_case_id_service_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["account.id"],
            name=op.f("fk_case_attachment_uploaded_by_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachment")),
    )
    op.create_index(
        op.f("ix_case_attachment_case_id"), "case_attachment", ["case_id"], unique=False
    )
    op.create_index(op.f("ix_case_attachment_sha256"), "case_attachment", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_attachment_sha256"), table_name="case_attachment")
    op.drop_index(op.f("ix_case_attachment_case_id"), table_name="case_attachment")
    op.drop_table("case_attachment")
    op.drop_table("case_draft")
