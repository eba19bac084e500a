"""duplicate links, me-too support, summons and check-ins (吹哨报到)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import gongzhi.db  # noqa: F401

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # tables of the case_duplicates_summons work


def downgrade() -> None:
    pass
