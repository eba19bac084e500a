"""duplicate links, me-too support, summons and check-ins (吹哨报到)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "case_merge",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("duplicate_case_id", sa.BigInteger(), nullable=False),
        sa.Column("main_case_id", sa.BigInteger(), nullable=False),
        sa.Column("merged_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("merged_by_id", sa.BigInteger(), nullable=True),
        sa.Column("prior", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("unmerged_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("unmerged_by_id", sa.BigInteger(), nullable=True),
        _fk("case_merge", "duplicate_case_id", "service_case", "CASCADE"),
        _fk("case_merge", "main_case_id", "service_case", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_merge")),
    )
    op.create_index(
        op.f("ix_case_merge_duplicate_case_id"), "case_merge", ["duplicate_case_id"], unique=False
    )
    op.create_index(
        op.f("ix_case_merge_main_case_id"), "case_merge", ["main_case_id"], unique=False
    )
    op.create_table(
        "case_supporter",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("via_merge_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        _fk("case_supporter", "case_id", "service_case", "CASCADE"),
        _fk("case_supporter", "account_id", "account"),
        _fk("case_supporter", "via_merge_id", "case_merge", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_supporter")),
        sa.UniqueConstraint(
            "case_id", "account_id", name=op.f("uq_case_supporter_case_id_account_id")
        ),
    )
    op.create_index(op.f("ix_case_supporter_case_id"), "case_supporter", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_case_supporter_account_id"), "case_supporter", ["account_id"], unique=False
    )
    op.create_table(
        "case_summons",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("summoned_by_id", sa.BigInteger(), nullable=True),
        sa.Column("summoned_by_label", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", gongzhi.db.UTCDateTime(), nullable=False),
        _fk("case_summons", "case_id", "service_case", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_summons")),
    )
    op.create_index(op.f("ix_case_summons_case_id"), "case_summons", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_case_summons_region_code"), "case_summons", ["region_code"], unique=False
    )
    op.create_index(
        op.f("ix_case_summons_created_at"), "case_summons", ["created_at"], unique=False
    )
    op.create_table(
        "case_summons_department",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("summons_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("checked_in_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("checked_in_by_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=True),
        _fk("case_summons_department", "summons_id", "case_summons", "CASCADE"),
        _fk("case_summons_department", "department_id", "department"),
        _fk("case_summons_department", "checked_in_by_id", "account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_summons_department")),
        sa.UniqueConstraint(
            "summons_id",
            "department_id",
            name=op.f("uq_case_summons_department_summons_id_department_id"),
        ),
    )
    op.create_index(
        op.f("ix_case_summons_department_summons_id"),
        "case_summons_department",
        ["summons_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_case_summons_department_department_id"),
        "case_summons_department",
        ["department_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("case_summons_department")
    op.drop_table("case_summons")
    op.drop_table("case_supporter")
    op.drop_table("case_merge")
