"""The register, cases, handoffs and caseload: offenders, address history, cases, handoffs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 03:07:45.435750
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the register, case, handoff and caseload tables."""

    op.create_table(
        "case_weight",
        sa.Column("programme", sa.String(), nullable=False),
        sa.Column("risk", sa.String(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("programme", "risk"),
    )
    op.create_table(
        "offender",
        sa.Column("pnc_id", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.CheckConstraint("sex IN ('male', 'female', 'not_known')", name="ck_offender_sex"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pnc_id", name="uq_offender_pnc_id"),
    )
    op.create_table(
        "responsibility_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_responsibility_rule_name"),
    )
    op.create_table(
        "address",
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("postcode", sa.String(), nullable=True),
        sa.Column("easting", sa.Float(), nullable=True),
        sa.Column("northing", sa.Float(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("force_code", sa.String(), nullable=True),
        sa.Column("district_code", sa.String(), nullable=True),
        sa.Column("bcu_code", sa.String(), nullable=True),
        sa.Column("ward_code", sa.String(), nullable=True),
        sa.Column("distance_to_boundary_m", sa.Float(), nullable=True),
        sa.Column("near_boundary", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("boundary_set", sa.String(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offender_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.CheckConstraint(
            "state IN ('residence', 'no_fixed_abode', 'unknown')", name="ck_address_state"
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name="ck_address_valid_range"
        ),
        sa.ForeignKeyConstraint(
            ["offender_id"], ["offender.id"], name="fk_address_offender", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_address_offender_id", "address", ["offender_id"], unique=False)
    op.create_index(
        "uq_address_one_current",
        "address",
        ["offender_id"],
        unique=True,
        sqlite_where=sa.text("valid_to IS NULL"),
        postgresql_where=sa.text("valid_to IS NULL"),
    )

    op.create_table(
        "offender_case",
        sa.Column("programme", sa.String(), nullable=False),
        sa.Column("mappa_category", sa.Integer(), nullable=True),
        sa.Column("mappa_level", sa.Integer(), nullable=True),
        sa.Column("risk", sa.String(), nullable=False),
        sa.Column("offence_category", sa.String(), nullable=False),
        sa.Column("next_review_due", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offender_id", sa.Integer(), nullable=False),
        sa.Column("lead_force_code", sa.String(), nullable=False),
        sa.Column("assigned_user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("responsibility_rule", sa.String(), nullable=False),
        sa.Column("responsibility_explanation", sa.String(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "programme IN ('iom_fixed', 'iom_flex', 'iom_free', 'mappa', 'other')",
            name="ck_case_programme",
        ),
        sa.CheckConstraint("risk IN ('low', 'medium', 'high', 'very_high')", name="ck_case_risk"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_case_status"),
        sa.CheckConstraint(
            "mappa_category IS NULL OR mappa_category BETWEEN 1 AND 3", name="ck_case_mappa_cat"
        ),
        sa.CheckConstraint(
            "mappa_level IS NULL OR mappa_level BETWEEN 1 AND 3", name="ck_case_mappa_level"
        ),
        sa.ForeignKeyConstraint(["assigned_user_id"], ["users.id"], name="fk_case_assigned_user"),
        sa.ForeignKeyConstraint(["lead_force_code"], ["force.code"], name="fk_case_lead_force"),
        sa.ForeignKeyConstraint(
            ["offender_id"], ["offender.id"], name="fk_case_offender", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_case_lead_status", "offender_case", ["lead_force_code", "status"], unique=False
    )
    op.create_index(
        "ix_offender_case_assigned_user_id", "offender_case", ["assigned_user_id"], unique=False
    )
    op.create_index("ix_offender_case_offender_id", "offender_case", ["offender_id"], unique=False)

    op.create_table(
        "officer_profile",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(), nullable=False),
        sa.Column("grade_points", sa.Float(), nullable=False),
        sa.Column("contracted_hours", sa.Float(), nullable=False),
        sa.Column("available_hours", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_officer_profile_user"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "case_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name="fk_case_assignment_case", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_case_assignment_user"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_assignment_case_id", "case_assignment", ["case_id"], unique=False)

    op.create_table(
        "handoff",
        sa.Column("from_force_code", sa.String(), nullable=False),
        sa.Column("to_force_code", sa.String(), nullable=False),
        sa.Column("to_bcu_code", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("address_check_due", sa.Date(), nullable=True),
        sa.Column("completion_due", sa.Date(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.String(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('proposed', 'requested', 'accepted', 'completed', 'rejected', 'withdrawn')",
            name="ck_handoff_state",
        ),
        sa.CheckConstraint("from_force_code <> to_force_code", name="ck_handoff_two_forces"),
        sa.ForeignKeyConstraint(
            ["address_id"], ["address.id"], name="fk_handoff_address", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["offender_case.id"], name="fk_handoff_case", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["from_force_code"], ["force.code"], name="fk_handoff_from"),
        sa.ForeignKeyConstraint(["to_force_code"], ["force.code"], name="fk_handoff_to"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_case_id", "handoff", ["case_id"], unique=False)
    op.create_index("ix_handoff_from_state", "handoff", ["from_force_code", "state"], unique=False)
    op.create_index("ix_handoff_to_state", "handoff", ["to_force_code", "state"], unique=False)
    op.create_index(
        "uq_handoff_one_open_per_case",
        "handoff",
        ["case_id"],
        unique=True,
        sqlite_where=sa.text("state IN ('proposed', 'requested', 'accepted')"),
        postgresql_where=sa.text("state IN ('proposed', 'requested', 'accepted')"),
    )


def downgrade() -> None:
    """Drop them again (development only: this loses all data)."""

    op.drop_index(
        "uq_handoff_one_open_per_case",
        sqlite_where=sa.text("state IN ('proposed', 'requested', 'accepted')"),
        postgresql_where=sa.text("state IN ('proposed', 'requested', 'accepted')"),
    )
    op.drop_index("ix_handoff_to_state", table_name="handoff")
    op.drop_index("ix_handoff_from_state", table_name="handoff")
    op.drop_index("ix_handoff_case_id", table_name="handoff")

    op.drop_table("handoff")
    op.drop_index("ix_case_assignment_case_id", table_name="case_assignment")

    op.drop_table("case_assignment")
    op.drop_table("officer_profile")
    op.drop_index("ix_offender_case_offender_id", table_name="offender_case")
    op.drop_index("ix_offender_case_assigned_user_id", table_name="offender_case")
    op.drop_index("ix_case_lead_status", table_name="offender_case")

    op.drop_table("offender_case")
    op.drop_index(
        "uq_address_one_current",
        sqlite_where=sa.text("valid_to IS NULL"),
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.drop_index("ix_address_offender_id", table_name="address")

    op.drop_table("address")
    op.drop_table("responsibility_rule")
    op.drop_table("offender")
    op.drop_table("case_weight")
