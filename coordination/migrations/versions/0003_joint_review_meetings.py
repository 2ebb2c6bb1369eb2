"""Joint review meetings: meetings, agenda items, decisions, actions; OGRS3 inputs on cases.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:20:32.153460
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the meeting tables and add the OGRS3 inputs to cases."""

    op.create_table(
        "meeting",
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("chair", sa.String(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("forces", sa.JSON(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('planned', 'held', 'closed')", name="ck_meeting_status"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_meeting_date", "meeting", ["meeting_date"], unique=False)

    op.create_table(
        "agenda_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("score_parts", sa.JSON(), nullable=False),
        sa.Column("added_manually", sa.Boolean(), nullable=False),
        sa.Column("added_reason", sa.String(), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("removed_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name="fk_agenda_item_case", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name="fk_agenda_item_meeting", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "case_id", name="uq_agenda_item_meeting_case"),
    )
    op.create_index("ix_agenda_item_meeting_id", "agenda_item", ["meeting_id"], unique=False)

    op.create_table(
        "review_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'cancelled')", name="ck_review_action_status"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name="fk_review_action_case", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name="fk_review_action_meeting", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_action_meeting_id", "review_action", ["meeting_id"], unique=False)
    op.create_index(
        "ix_review_action_status_owner", "review_action", ["status", "owner"], unique=False
    )

    op.create_table(
        "review_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("target_force_code", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('retain', 'transfer', 'joint', 'escalate', 'nfa', 'other')",
            name="ck_review_decision_kind",
        ),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_item.id"],
            name="fk_review_decision_item",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoff.id"], name="fk_review_decision_handoff", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["target_force_code"], ["force.code"], name="fk_review_decision_target"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agenda_item_id", name="uq_review_decision_item"),
    )
    with op.batch_alter_table("offender_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_sanctions", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("age_at_first_sanction", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("conviction_date", sa.Date(), nullable=True))


def downgrade() -> None:
    """Drop them again (development only: this loses all data)."""

    with op.batch_alter_table("offender_case", schema=None) as batch_op:
        batch_op.drop_column("conviction_date")
        batch_op.drop_column("age_at_first_sanction")
        batch_op.drop_column("previous_sanctions")

    op.drop_table("review_decision")
    op.drop_index("ix_review_action_status_owner", table_name="review_action")
    op.drop_index("ix_review_action_meeting_id", table_name="review_action")

    op.drop_table("review_action")
    op.drop_index("ix_agenda_item_meeting_id", table_name="agenda_item")

    op.drop_table("agenda_item")
    op.drop_index("ix_meeting_date", table_name="meeting")

    op.drop_table("meeting")
