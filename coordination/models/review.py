"""Joint review meetings: meetings, agenda items, decisions and actions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime

# --- Joint review meetings --------------------------------------------------------------------

MeetingStatus = Literal["planned", "held", "closed"]
DecisionKind = Literal["retain", "transfer", "joint", "escalate", "nfa", "other"]
DECISION_KINDS: tuple[str, ...] = ("retain", "transfer", "joint", "escalate", "nfa", "other")
ActionStatus = Literal["open", "done", "cancelled"]
_MEETING_VERSION = sa.Column("version", sa.Integer, nullable=False)


class MeetingBase(SQLModel):
    """A joint review meeting of two or more forces (default City and Met)."""

    title: str
    meeting_date: date
    chair: str
    attendees: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    forces: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class Meeting(MeetingBase, table=True):
    """The meeting table. ``forces`` holds ONS force codes, sorted."""

    __tablename__ = "meeting"
    __table_args__ = (
        sa.CheckConstraint("status IN ('planned', 'held', 'closed')", name="ck_meeting_status"),
        sa.Index("ix_meeting_date", "meeting_date"),
    )
    __mapper_args__ = {"version_id_col": _MEETING_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    status: MeetingStatus = Field(default="planned", sa_type=AutoString)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str
    version: int | None = Field(default=None, sa_column=_MEETING_VERSION)


class MeetingPublic(MeetingBase):
    """A meeting as services return it."""

    id: int
    status: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    version: int


class AgendaItem(SQLModel, table=True):
    """One case on a meeting's agenda, with the reasons it is there and its priority score.

    ``reasons`` is a list of ``{"code": ..., "text": ...}``; ``score_parts`` the named parts of
    the score. Removed items are kept (``removed`` with a reason) so the pack can say why.
    """

    __tablename__ = "agenda_item"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "case_id", name="uq_agenda_item_meeting_case"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("meeting.id", ondelete="CASCADE", name="fk_agenda_item_meeting"),
            nullable=False,
            index=True,
        )
    )
    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_agenda_item_case"),
            nullable=False,
        )
    )
    position: int
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    score: float = 0.0
    score_parts: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    added_manually: bool = False
    added_reason: str | None = None
    removed: bool = False
    removed_reason: str | None = None


class ReviewDecision(SQLModel, table=True):
    """The decision recorded for one agenda item (at most one; it may be replaced)."""

    __tablename__ = "review_decision"
    __table_args__ = (
        sa.UniqueConstraint("agenda_item_id", name="uq_review_decision_item"),
        sa.CheckConstraint(
            "kind IN ('retain', 'transfer', 'joint', 'escalate', 'nfa', 'other')",
            name="ck_review_decision_kind",
        ),
        sa.ForeignKeyConstraint(
            ["target_force_code"], ["force.code"], name="fk_review_decision_target"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    agenda_item_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("agenda_item.id", ondelete="CASCADE", name="fk_review_decision_item"),
            nullable=False,
        )
    )
    kind: DecisionKind = Field(sa_type=AutoString)
    target_force_code: str | None = None
    note: str = ""
    handoff_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("handoff.id", ondelete="SET NULL", name="fk_review_decision_handoff"),
            nullable=True,
        ),
    )
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by: str


class ReviewAction(SQLModel, table=True):
    """An action agreed at a meeting; open actions carry over to the next meeting by themselves."""

    __tablename__ = "review_action"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('open', 'done', 'cancelled')", name="ck_review_action_status"
        ),
        sa.Index("ix_review_action_status_owner", "status", "owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("meeting.id", ondelete="CASCADE", name="fk_review_action_meeting"),
            nullable=False,
            index=True,
        )
    )
    case_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="SET NULL", name="fk_review_action_case"),
            nullable=True,
        ),
    )
    description: str
    owner: str
    due_date: date | None = None
    status: ActionStatus = Field(default="open", sa_type=AutoString)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
