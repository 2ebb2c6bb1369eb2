"""The receiving force's address check on a handoff.

Four nullable columns on ``handoff``: when the address was checked, how (visit, phone, partner
agency), with what outcome (confirmed, not confirmed, not there) and by whom. Rows from before
this revision stay null: the check is asked for only of handoffs completed from now on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the address-check columns to ``handoff``."""
    op.add_column("handoff", sa.Column("address_checked_on", sa.Date(), nullable=True))
    op.add_column("handoff", sa.Column("address_check_method", sa.String(), nullable=True))
    op.add_column("handoff", sa.Column("address_check_outcome", sa.String(), nullable=True))
    op.add_column("handoff", sa.Column("address_checked_by", sa.String(), nullable=True))


def downgrade() -> None:
    """Drop the address-check columns."""
    with op.batch_alter_table("handoff") as batch:
        batch.drop_column("address_checked_by")
        batch.drop_column("address_check_outcome")
        batch.drop_column("address_check_method")
        batch.drop_column("address_checked_on")
