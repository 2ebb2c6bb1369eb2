"""Escalations of rejected handoffs, and agreed exceptions to the responsibility rules.

``escalation`` holds each rejected handoff for the sending force's supervisors, with its due date
and how it was resolved; ``responsibility_exception`` each agreed exception (the case stays with
its lead force, for a reason, until a review date).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RESOLUTIONS = ("new_request", "exception", "review")


def upgrade() -> None:
    """Create ``escalation`` and ``responsibility_exception``."""
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("force_code", sa.String(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("resolution", sa.String(), nullable=True),
        sa.Column("resolution_note", sa.String(), nullable=True),
        sa.Column("new_handoff_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("exception_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'resolved')", name="ck_escalation_state"),
        sa.CheckConstraint(
            f"resolution IS NULL OR resolution IN ({', '.join(repr(r) for r in _RESOLUTIONS)})",
            name="ck_escalation_resolution",
        ),
        sa.ForeignKeyConstraint(["force_code"], ["force.code"], name="fk_escalation_force"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name="fk_escalation_case", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoff.id"], name="fk_escalation_handoff", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_escalation_one_open_per_case",
        "escalation",
        ["case_id"],
        unique=True,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index(
        "ix_escalation_force_state", "escalation", ["force_code", "state"], unique=False
    )
    op.create_table(
        "responsibility_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("lead_force_code", sa.String(), nullable=False),
        sa.Column("responsible_force_code", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name="fk_exception_case", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_responsibility_exception_case",
        "responsibility_exception",
        ["case_id", "review_on"],
        unique=False,
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_responsibility_exception_case", table_name="responsibility_exception")
    op.drop_table("responsibility_exception")
    op.drop_index("ix_escalation_force_state", table_name="escalation")
    op.drop_index("uq_escalation_one_open_per_case", table_name="escalation")
    op.drop_table("escalation")
