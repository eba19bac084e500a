"""indexes for the case indicators (三率 and the rest)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28

Each index carries every column its indicator query reads, so the grouped counts over a
period are answered from the index alone.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    (
        "ix_service_case_closed_indicators",
        "service_case",
        ["closed_at", "status", "outcome", "lead_department_id", "region_code"],
    ),
    (
        "ix_service_case_rated_indicators",
        "service_case",
        ["rated_at", "rating", "lead_department_id", "region_code"],
    ),
    ("ix_service_case_scope", "service_case", ["id", "region_code", "lead_department_id"]),
    (
        "ix_case_assignment_indicators",
        "case_assignment",
        ["assigned_at", "role", "department_id", "case_id", "accepted_at", "returned_at"],
    ),
    ("ix_case_event_kind_at", "case_event", ["kind", "at", "case_id"]),
    (
        "ix_case_clock_kind_due_indicators",
        "case_clock",
        ["kind", "due_at", "stopped_at", "case_id"],
    ),
    ("ix_case_clock_case_kind_started", "case_clock", ["case_id", "kind", "started_at", "due_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
