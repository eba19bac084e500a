"""accounts, sessions, tokens, role grants

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gongzhi.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("password_changed_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("password_must_change", sa.Boolean(), nullable=False),
        sa.Column("failed_login_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("last_login_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_confirmed_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("locale", sa.String(10), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("username", name=op.f("uq_account_username")),
    )
    op.create_table(
        "role_grant",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("region_code", sa.String(15), nullable=False),
        sa.Column("granted_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("granted_by_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_role_grant_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["account.id"], name=op.f("fk_role_grant_granted_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grant")),
        sa.UniqueConstraint(
            "account_id",
            "role",
            "region_code",
            name=op.f("uq_role_grant_account_id_role_region_code"),
        ),
    )
    op.create_index(op.f("ix_role_grant_account_id"), "role_grant", ["account_id"])
    op.create_index(op.f("ix_role_grant_region_code"), "role_grant", ["region_code"])
    op.create_table(
        "web_session",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("mfa_passed", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_web_session_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_session_token_hash")),
    )
    op.create_index(op.f("ix_web_session_account_id"), "web_session", ["account_id"])
    op.create_table(
        "api_token",
        sa.Column("id", gongzhi.db.BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", gongzhi.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", gongzhi.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_api_token_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_account_id"), "api_token", ["account_id"])


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("web_session")
    op.drop_table("role_grant")
    op.drop_table("account")
