"""The audit log table (append-only; sealed by ``coordination.ledger``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime

# --- AuditEvent ------------------------------------------------------------------------------


class AuditEventBase(SQLModel):
    """Who did what to which entity, and when. Append-only."""

    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(index=True)
    action: str = Field(index=True)
    entity_type: str
    entity_id: str | None = None
    details: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class AuditEvent(AuditEventBase, table=True):
    """The audit log table. Rows are only ever inserted (see ``coordination.audit``).

    Data Protection Act 2018 s.62 fields: ``category`` (collection, alteration, consultation,
    disclosure, combination, erasure, or ``system``), ``justification`` where the law asks for
    one, ``recipients`` of a disclosure and ``offender_ids`` touched. ``prev_hash``/``hash`` chain
    every row to the one before and ``seal`` is a keyed MAC of the hash, so an edit, deletion or
    re-chaining anywhere is detected on verification (``coordination.ledger``).
    """

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(default="system", index=True)
    justification: str | None = None
    recipients: list[str] | None = Field(default=None, sa_type=sa.JSON)
    offender_ids: list[int] | None = Field(default=None, sa_type=sa.JSON)
    prev_hash: str | None = None
    hash: str | None = None
    # The free text (details, justification) is chained through a salted digest, so erasing a
    # person can blank it (salt and all) and the chain still verifies.
    text_salt: str | None = None
    text_digest: str | None = None
    #: HMAC-SHA256 of ``hash`` under the audit key named by ``key_id`` (not in the database).
    seal: str | None = None
    key_id: str | None = None
    #: The erasure event that blanked this event's free text, and when.
    redacted_by: int | None = None
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEventPublic(AuditEventBase):
    """An audit event as services return it."""

    id: int
