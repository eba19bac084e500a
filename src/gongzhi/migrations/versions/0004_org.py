"""departments, staff, responsibility list, work calendar

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongzhi.db.UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "department",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("short_name", sa.String(40), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("code", name=op.f("uq_department_code")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["department.id"], name=op.f("fk_department_parent_id_department")
        ),
    )
    op.create_index(op.f("ix_department_region_code"), "department", ["region_code"])
    op.create_index(op.f("ix_department_parent_id"), "department", ["parent_id"])

    op.create_table(
        "staff_profile",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(60), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_profile")),
        sa.UniqueConstraint("account_id", name=op.f("uq_staff_profile_account_id")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_staff_profile_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_staff_profile_department_id_department"),
        ),
    )
    op.create_index(op.f("ix_staff_profile_department_id"), "staff_profile", ["department_id"])

    op.create_table(
        "matter",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter")),
        sa.UniqueConstraint("code", name=op.f("uq_matter_code")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["matter.id"], name=op.f("fk_matter_parent_id_matter")
        ),
    )
    op.create_index(op.f("ix_matter_parent_id"), "matter", ["parent_id"])

    op.create_table(
        "responsibility",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("matter_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("lead_department_id", sa.BigInteger(), nullable=True),
        sa.Column("lead_local", sa.Boolean(), nullable=False),
        sa.Column("co_local", sa.Boolean(), nullable=False),
        sa.Column("dispatch_hours", sa.Float(), nullable=False),
        sa.Column("signoff_hours", sa.Float(), nullable=False),
        sa.Column("handling_days", sa.Integer(), nullable=False),
        sa.Column("feedback_days", sa.Integer(), nullable=False),
        sa.Column("delegated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responsibility")),
        sa.UniqueConstraint("matter_id", "level", name=op.f("uq_responsibility_matter_id_level")),
        sa.ForeignKeyConstraint(
            ["matter_id"],
            ["matter.id"],
            name=op.f("fk_responsibility_matter_id_matter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_department_id"],
            ["department.id"],
            name=op.f("fk_responsibility_lead_department_id_department"),
        ),
    )
    op.create_index(op.f("ix_responsibility_matter_id"), "responsibility", ["matter_id"])
    op.create_index(
        op.f("ix_responsibility_lead_department_id"), "responsibility", ["lead_department_id"]
    )

    op.create_table(
        "responsibility_cohandler",
        sa.Column("responsibility_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "responsibility_id", "department_id", name=op.f("pk_responsibility_cohandler")
        ),
        sa.ForeignKeyConstraint(
            ["responsibility_id"],
            ["responsibility.id"],
            name=op.f("fk_responsibility_cohandler_responsibility_id_responsibility"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_responsibility_cohandler_department_id_department"),
        ),
    )

    op.create_table(
        "calendar_override",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_override")),
    )
    op.create_index("ix_calendar_override_day_region", "calendar_override", ["day", "region_code"])


def downgrade() -> None:
    op.drop_table("calendar_override")
    op.drop_table("responsibility_cohandler")
    op.drop_table("responsibility")
    op.drop_table("matter")
    op.drop_table("staff_profile")
    op.drop_table("department")
