"""Escalations of rejected handoffs, and exceptions agreed to the responsibility rules.

A rejected handoff leaves a case with a lead force other than the one the rules name. The
sending force's supervisors then own an ``escalation`` until it is resolved by a new request, an
agreed ``responsibility_exception`` (the case stays with its lead force until a review date) or a
decision at a joint review (``coordination.handoffs.escalations``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime, _in

EscalationState = Literal["open", "resolved"]
ESCALATION_STATES: tuple[str, ...] = ("open", "resolved")
EscalationResolution = Literal["new_request", "exception", "review"]
ESCALATION_RESOLUTIONS: tuple[str, ...] = ("new_request", "exception", "review")


class EscalationBase(SQLModel):
    """A rejected handoff, for the sending force's supervisors to resolve by a due date."""

    case_id: int
    handoff_id: int
    force_code: str
    due_on: date


class EscalationCreate(EscalationBase):
    """What opening an escalation needs (the service fills in the rest)."""


class Escalation(EscalationBase, table=True):
    """The escalation table. At most one open escalation per case (a partial unique index)."""

    __tablename__ = "escalation"
    __table_args__ = (
        sa.ForeignKeyConstraint(["force_code"], ["force.code"], name="fk_escalation_force"),
        sa.CheckConstraint(_in("state", ESCALATION_STATES), name="ck_escalation_state"),
        sa.CheckConstraint(
            f"resolution IS NULL OR {_in('resolution', ESCALATION_RESOLUTIONS)}",
            name="ck_escalation_resolution",
        ),
        sa.Index(
            "uq_escalation_one_open_per_case",
            "case_id",
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        ),
        sa.Index("ix_escalation_force_state", "force_code", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_escalation_case"),
            nullable=False,
        )
    )
    handoff_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("handoff.id", ondelete="CASCADE", name="fk_escalation_handoff"),
            nullable=False,
        )
    )
    state: EscalationState = Field(default="open", sa_type=AutoString)
    resolution: EscalationResolution | None = Field(default=None, sa_type=AutoString)
    resolution_note: str | None = None
    new_handoff_id: int | None = None
    meeting_id: int | None = None
    exception_id: int | None = None
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_by: str
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = None


class EscalationPublic(EscalationBase):
    """An escalation as services return it."""

    id: int
    state: str
    resolution: str | None
    resolution_note: str | None
    new_handoff_id: int | None
    meeting_id: int | None
    exception_id: int | None
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    resolved_by: str | None


class ResponsibilityExceptionBase(SQLModel):
    """An agreed exception: the case stays with its lead force, for a reason, until a review."""

    case_id: int
    lead_force_code: str
    responsible_force_code: str
    reason: str
    review_on: date


class ResponsibilityExceptionCreate(ResponsibilityExceptionBase):
    """What recording an exception needs."""


class ResponsibilityException(ResponsibilityExceptionBase, table=True):
    """The exception table: unexpired while not ended and the review date is not past."""

    __tablename__ = "responsibility_exception"
    __table_args__ = (sa.Index("ix_responsibility_exception_case", "case_id", "review_on"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_exception_case"),
            nullable=False,
        )
    )
    escalation_id: int | None = None
    meeting_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_reason: str | None = None


class ResponsibilityExceptionPublic(ResponsibilityExceptionBase):
    """An exception as services return it."""

    id: int
    escalation_id: int | None
    meeting_id: int | None
    created_at: datetime
    created_by: str
    ended_at: datetime | None
    ended_reason: str | None
