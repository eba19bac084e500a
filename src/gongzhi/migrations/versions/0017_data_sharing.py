"""data sharing between departments: requests, reviews, grants and the call log

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_share_request",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_department_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_department_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_by_label", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("plaintext_fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("end_users", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["data_dataset.id"],
            name=op.f("fk_data_share_request_dataset_id_data_dataset"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["department.id"],
            name=op.f("fk_data_share_request_provider_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["account.id"],
            name=op.f("fk_data_share_request_requested_by_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_department_id"],
            ["department.id"],
            name=op.f("fk_data_share_request_requester_department_id_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_share_request")),
    )
    with op.batch_alter_table("data_share_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_share_request_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_data_share_request_provider_department_id"),
            ["provider_department_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_data_share_request_requester_department_id"),
            ["requester_department_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_data_share_request_status_due", ["status", "due_at"], unique=False
        )

    op.create_table(
        "data_share_decision",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["account.id"], name=op.f("fk_data_share_decision_actor_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["data_share_request.id"],
            name=op.f("fk_data_share_decision_request_id_data_share_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_share_decision")),
    )
    with op.batch_alter_table("data_share_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_share_decision_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "data_share_grant",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_department_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_department_id", sa.BigInteger(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("plaintext_fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("starts_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("granted_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("granted_by_label", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.BigInteger(), nullable=True),
        sa.Column("revoked_by_label", sa.String(length=200), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["data_dataset.id"],
            name=op.f("fk_data_share_grant_dataset_id_data_dataset"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_department_id"],
            ["department.id"],
            name=op.f("fk_data_share_grant_provider_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["data_share_request.id"],
            name=op.f("fk_data_share_grant_request_id_data_share_request"),
        ),
        sa.ForeignKeyConstraint(
            ["requester_department_id"],
            ["department.id"],
            name=op.f("fk_data_share_grant_requester_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["account.id"],
            name=op.f("fk_data_share_grant_revoked_by_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_share_grant")),
        sa.UniqueConstraint("request_id", name=op.f("uq_data_share_grant_request_id")),
    )
    with op.batch_alter_table("data_share_grant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_share_grant_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_data_share_grant_provider_department_id"),
            ["provider_department_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_data_share_grant_requester_department_id"),
            ["requester_department_id"],
            unique=False,
        )

    op.create_table(
        "data_share_call",
        sa.Column("id", gongzhi.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("grant_id", sa.BigInteger(), nullable=False),
        sa.Column("at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("account_label", sa.String(length=200), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("end_user", sa.String(length=200), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("after", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("refusal_code", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_data_share_call_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_data_share_call_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["data_share_grant.id"],
            name=op.f("fk_data_share_call_grant_id_data_share_grant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_share_call")),
    )
    with op.batch_alter_table("data_share_call", schema=None) as batch_op:
        batch_op.create_index("ix_data_share_call_grant_at", ["grant_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("data_share_call", schema=None) as batch_op:
        batch_op.drop_index("ix_data_share_call_grant_at")

    op.drop_table("data_share_call")
    with op.batch_alter_table("data_share_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_share_grant_requester_department_id"))
        batch_op.drop_index(batch_op.f("ix_data_share_grant_provider_department_id"))
        batch_op.drop_index(batch_op.f("ix_data_share_grant_dataset_id"))

    op.drop_table("data_share_grant")
    with op.batch_alter_table("data_share_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_share_decision_request_id"))

    op.drop_table("data_share_decision")
    with op.batch_alter_table("data_share_request", schema=None) as batch_op:
        batch_op.drop_index("ix_data_share_request_status_due")
        batch_op.drop_index(batch_op.f("ix_data_share_request_requester_department_id"))
        batch_op.drop_index(batch_op.f("ix_data_share_request_provider_department_id"))
        batch_op.drop_index(batch_op.f("ix_data_share_request_dataset_id"))

    op.drop_table("data_share_request")
