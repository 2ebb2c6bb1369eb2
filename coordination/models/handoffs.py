"""Handoffs of responsibility for a case between forces."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime, _in

HandoffState = Literal["proposed", "requested", "accepted", "completed", "rejected", "withdrawn"]
HANDOFF_STATES: tuple[str, ...] = (
    "proposed",
    "requested",
    "accepted",
    "completed",
    "rejected",
    "withdrawn",
)
OPEN_HANDOFF_STATES: tuple[str, ...] = ("proposed", "requested", "accepted")
#: How the receiving force checked the new address, and what it found.
ADDRESS_CHECK_METHODS: tuple[str, ...] = ("visit", "phone", "partner")
ADDRESS_CHECK_OUTCOMES: tuple[str, ...] = ("confirmed", "not_confirmed", "not_there")
_HANDOFF_VERSION = sa.Column("version", sa.Integer, nullable=False)


# --- Handoffs ---------------------------------------------------------------------------------


class HandoffBase(SQLModel):
    """A transfer of responsibility for a case from one force to another."""

    from_force_code: str
    to_force_code: str
    to_bcu_code: str | None = None
    reason: str


class Handoff(HandoffBase, table=True):
    """The handoff table. At most one open handoff per case, enforced by a partial index."""

    __tablename__ = "handoff"
    __table_args__ = (
        sa.ForeignKeyConstraint(["from_force_code"], ["force.code"], name="fk_handoff_from"),
        sa.ForeignKeyConstraint(["to_force_code"], ["force.code"], name="fk_handoff_to"),
        sa.CheckConstraint(_in("state", HANDOFF_STATES), name="ck_handoff_state"),
        sa.CheckConstraint("from_force_code <> to_force_code", name="ck_handoff_two_forces"),
        sa.Index(
            "uq_handoff_one_open_per_case",
            "case_id",
            unique=True,
            sqlite_where=sa.text(_in("state", OPEN_HANDOFF_STATES)),
            postgresql_where=sa.text(_in("state", OPEN_HANDOFF_STATES)),
        ),
        sa.Index("ix_handoff_to_state", "to_force_code", "state"),
        sa.Index("ix_handoff_from_state", "from_force_code", "state"),
    )
    __mapper_args__ = {"version_id_col": _HANDOFF_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_handoff_case"),
            nullable=False,
            index=True,
        )
    )
    address_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("address.id", ondelete="SET NULL", name="fk_handoff_address"),
            nullable=True,
        ),
    )
    state: HandoffState = Field(default="proposed", sa_type=AutoString)
    requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    address_check_due: date | None = None
    completion_due: date | None = None
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejection_reason: str | None = None
    escalated: bool = False
    # The receiving force's address check (null until recorded; rows from before 0010 stay null).
    address_checked_on: date | None = None
    address_check_method: str | None = None
    address_check_outcome: str | None = None
    address_checked_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str
    version: int | None = Field(default=None, sa_column=_HANDOFF_VERSION)


class HandoffPublic(HandoffBase):
    """A handoff as services return it."""

    id: int
    case_id: int
    address_id: int | None
    state: str
    requested_at: datetime | None
    address_check_due: date | None
    completion_due: date | None
    accepted_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    rejection_reason: str | None
    escalated: bool
    address_checked_on: date | None = None
    address_check_method: str | None = None
    address_check_outcome: str | None = None
    address_checked_by: str | None = None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    version: int
