"""Access control and accountability: sign-in fields, limited access, s.62 audit fields, erasure.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 03:37:26.599613
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add sign-in and audit-chain columns, limited access and the erasure marker."""

    op.create_table(
        "case_access",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.CheckConstraint("mode IN ('exclude', 'allow')", name="ck_case_access_mode"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name="fk_case_access_case", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_case_access_user"),
        sa.PrimaryKeyConstraint("case_id", "user_id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("category", sa.String(), nullable=False, server_default="system")
        )
        batch_op.add_column(sa.Column("justification", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("recipients", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("offender_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(), nullable=True))

    op.create_index("ix_audit_event_category", "audit_event", ["category"], unique=False)

    with op.batch_alter_table("offender", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(), nullable=True))
        batch_op.add_column(
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("is_demo", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Remove them again (development only)."""

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_demo")
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("password_hash")

    with op.batch_alter_table("offender", schema=None) as batch_op:
        batch_op.drop_column("erased_at")

    op.drop_index("ix_audit_event_category", table_name="audit_event")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("offender_ids")
        batch_op.drop_column("recipients")
        batch_op.drop_column("justification")
        batch_op.drop_column("category")

    op.drop_table("case_access")
