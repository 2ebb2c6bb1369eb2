"""Initial schema: boundary sets and their areas, forces, users, the audit log.

Revision ID: 0001
Revises:
Create Date: 2025-11-29

Types are spelled with plain SQLAlchemy types (not the application's column classes) so that this
file keeps working however ``coordination.models`` changes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table of the first release."""
    op.create_table(
        "boundary_set",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("vintage", sa.String(), nullable=False),
        sa.Column("approximate", sa.Boolean(), nullable=False),
        sa.Column("checksum", sa.String(), nullable=False),
        sa.Column("coverage_note", sa.String(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("n_forces", sa.Integer(), nullable=False),
        sa.Column("n_districts", sa.Integer(), nullable=False),
        sa.Column("n_wards", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_boundary_set_name"),
    )
    op.create_index("ix_boundary_set_checksum", "boundary_set", ["checksum"])
    # At most one active set, enforced by the database: a unique index over active rows only.
    op.create_index(
        "uq_boundary_set_one_active",
        "boundary_set",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "force",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("ons_name", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("country", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )

    op.create_table(
        "area",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("parent_code", sa.String(), nullable=True),
        sa.Column("force_code", sa.String(), nullable=True),
        sa.Column("bcu_code", sa.String(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("boundary_set_id", sa.Integer(), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("kind IN ('force', 'district', 'ward', 'bcu')", name="ck_area_kind"),
        sa.ForeignKeyConstraint(
            ["boundary_set_id"],
            ["boundary_set.id"],
            name="fk_area_boundary_set",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("boundary_set_id", "kind", "code", name="uq_area_set_kind_code"),
    )
    op.create_index("ix_area_set_kind", "area", ["boundary_set_id", "kind"])

    op.create_table(
        "users",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("force_code", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("bcu_code", sa.String(), nullable=True),
        sa.Column("team", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('offender_manager', 'supervisor', 'analyst', 'admin')",
            name="ck_users_role",
        ),
        sa.CheckConstraint("username = lower(username)", name="ck_users_username_lower"),
        sa.ForeignKeyConstraint(["force_code"], ["force.code"], name="fk_users_force"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )

    op.create_table(
        "audit_event",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("entity_type", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_actor", "audit_event", ["actor"])
    op.create_index("ix_audit_event_action", "audit_event", ["action"])


def downgrade() -> None:
    """Drop every table (development only: this loses all data)."""
    op.drop_table("audit_event")
    op.drop_table("users")
    op.drop_table("area")
    op.drop_table("force")
    op.drop_table("boundary_set")
