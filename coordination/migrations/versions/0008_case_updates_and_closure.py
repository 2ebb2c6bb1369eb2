"""Case updates and closure: the risk assessment date, MAPPA change date, closure reason, history.

``offender_case`` gains ``risk_assessed_on``, ``mappa_changed_on``, ``closure_reason`` and
``closure_note`` (``status`` and ``closed_at`` were there from 0002); ``case_event`` keeps every
update, closure and reopening of a case with its old and new values and its reason.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("risk", "mappa", "iom", "ogrs3", "review", "close", "reopen")


def upgrade() -> None:
    """Add the case columns and create ``case_event``."""
    op.add_column("offender_case", sa.Column("risk_assessed_on", sa.Date(), nullable=True))
    op.add_column("offender_case", sa.Column("closure_reason", sa.String(), nullable=True))
    op.add_column("offender_case", sa.Column("closure_note", sa.String(), nullable=True))
    op.add_column("offender_case", sa.Column("mappa_changed_on", sa.Date(), nullable=True))
    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.CheckConstraint(
            f"kind IN ({', '.join(repr(k) for k in _KINDS)})", name="ck_case_event_kind"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name="fk_case_event_case", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_event_case_at", "case_event", ["case_id", "at"], unique=False)


def downgrade() -> None:
    """Drop ``case_event`` and the case columns."""
    op.drop_index("ix_case_event_case_at", table_name="case_event")
    op.drop_table("case_event")
    with op.batch_alter_table("offender_case") as batch:
        batch.drop_column("mappa_changed_on")
        batch.drop_column("closure_note")
        batch.drop_column("closure_reason")
        batch.drop_column("risk_assessed_on")
