"""cases, assignments, timeline, clocks, contacts, extensions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_number_counter",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_case_number_counter")),
    )
    op.create_table(
        "service_case",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("matter_code", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address_text", sa.String(length=400), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("region_confidence", sa.Float(), nullable=True),
        sa.Column("reporter_account_id", sa.BigInteger(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("lead_department_id", sa.BigInteger(), nullable=True),
        sa.Column("triage_reason", sa.String(length=24), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("media_urls", sa.JSON(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("rated_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("waiting_for_citizen", sa.Boolean(), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("closed_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_department_id"],
            ["department.id"],
            name=op.f("fk_service_case_lead_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_account_id"],
            ["account.id"],
            name=op.f("fk_service_case_reporter_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_case")),
        sa.UniqueConstraint("number", name=op.f("uq_service_case_number")),
    )
    op.create_index(
        op.f("ix_service_case_created_at"), "service_case", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_service_case_lead_department_id"),
        "service_case",
        ["lead_department_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_case_matter_code"), "service_case", ["matter_code"], unique=False
    )
    op.create_index(
        op.f("ix_service_case_region_code"), "service_case", ["region_code"], unique=False
    )
    op.create_index(
        op.f("ix_service_case_reporter_account_id"),
        "service_case",
        ["reporter_account_id"],
        unique=False,
    )
    op.create_index(op.f("ix_service_case_status"), "service_case", ["status"], unique=False)
    op.create_table(
        "case_assignment",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("assigned_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("accepted_by_id", sa.BigInteger(), nullable=True),
        sa.Column("returned_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("return_reason_code", sa.String(length=24), nullable=True),
        sa.Column("return_note", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["account.id"],
            name=op.f("fk_case_assignment_accepted_by_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["service_case.id"],
            name=op.f("fk_case_assignment_case_id_service_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_case_assignment_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assignment")),
    )
    op.create_index(
        op.f("ix_case_assignment_case_id"), "case_assignment", ["case_id"], unique=False
    )
    op.create_index(
        "ix_case_assignment_department_active",
        "case_assignment",
        ["department_id", "active"],
        unique=False,
    )
    op.create_index(
        op.f("ix_case_assignment_department_id"), "case_assignment", ["department_id"], unique=False
    )
    op.create_table(
        "case_clock",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("paused_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("stopped_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("warned_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["service_case.id"],
            name=op.f("fk_case_clock_case_id_service_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_clock")),
    )
    op.create_index(op.f("ix_case_clock_case_id"), "case_clock", ["case_id"], unique=False)
    op.create_index(op.f("ix_case_clock_due_at"), "case_clock", ["due_at"], unique=False)
    op.create_table(
        "case_contact",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["service_case.id"],
            name=op.f("fk_case_contact_case_id_service_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_contact")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_contact_case_id")),
    )
    op.create_table(
        "case_event",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["service_case.id"],
            name=op.f("fk_case_event_case_id_service_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    op.create_index(op.f("ix_case_event_case_id"), "case_event", ["case_id"], unique=False)
    op.create_table(
        "case_extension",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("clock_kind", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_due_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["service_case.id"],
            name=op.f("fk_case_extension_case_id_service_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["account.id"], name=op.f("fk_case_extension_decided_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["account.id"],
            name=op.f("fk_case_extension_requested_by_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_extension")),
    )
    op.create_index(op.f("ix_case_extension_case_id"), "case_extension", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("case_extension")
    op.drop_table("case_event")
    op.drop_table("case_contact")
    op.drop_table("case_clock")
    op.drop_table("case_assignment")
    op.drop_table("service_case")
    op.drop_table("case_number_counter")
