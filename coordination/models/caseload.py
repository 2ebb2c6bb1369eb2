"""Caseload: officers' capacity profiles and case weights."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# --- Caseload: officer capacity and case weights ----------------------------------------------


class OfficerProfile(SQLModel, table=True):
    """Workload facts about a user who manages cases (HMPPS workload rule, docs/DOMAIN.md)."""

    __tablename__ = "officer_profile"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_officer_profile_user"),
    )

    user_id: int = Field(primary_key=True)
    grade: str
    grade_points: float
    contracted_hours: float = 37.0
    available_hours: float = 37.0


class CaseWeight(SQLModel, table=True):
    """Points a case carries, by programme and risk (defaults from a file; editable)."""

    __tablename__ = "case_weight"

    programme: str = Field(primary_key=True)
    risk: str = Field(primary_key=True)
    points: float
