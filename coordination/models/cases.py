"""The history of a case after registration: every update, closure and reopening as an event.

The audit log already holds each change (hash-chained, for accountability); ``case_event`` is
the same history in the shape the case's own pages, the agenda and reports read it: what kind of
change, the day it took effect, each field's old and new value, and the reason given.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime, _in

CaseEventKind = Literal["risk", "mappa", "iom", "ogrs3", "review", "close", "reopen"]
CASE_EVENT_KINDS: tuple[str, ...] = ("risk", "mappa", "iom", "ogrs3", "review", "close", "reopen")


class CaseEventBase(SQLModel):
    """One change to a case: its kind, when it took effect, what changed and why.

    ``changes`` maps each changed field to ``[old, new]`` (dates as ISO text).
    """

    case_id: int
    kind: CaseEventKind = Field(sa_type=AutoString)
    effective_on: date | None = None
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    reason: str = ""


class CaseEvent(CaseEventBase, table=True):
    """The case event table: append-only history, newest last by id."""

    __tablename__ = "case_event"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", CASE_EVENT_KINDS), name="ck_case_event_kind"),
        sa.Index("ix_case_event_case_at", "case_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_case_event_case"),
            nullable=False,
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str


class CaseEventPublic(CaseEventBase):
    """A case event as services return it."""

    id: int
    at: datetime
    actor: str
