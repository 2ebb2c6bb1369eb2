"""Limited access: who is excluded from a case, or the only ones allowed to see it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime

# --- Access control ---------------------------------------------------------------------------

CaseAccessMode = Literal["exclude", "allow"]


class CaseAccess(SQLModel, table=True):
    """Limited access to one case (probation's "limited access offender" lists, docs/DOMAIN.md).

    ``exclude``: the named user may not see the case. ``allow``: once any ``allow`` row exists
    for a case, only the users named in such rows (and no one else) may see it.
    """

    __tablename__ = "case_access"
    __table_args__ = (
        sa.CheckConstraint("mode IN ('exclude', 'allow')", name="ck_case_access_mode"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_case_access_user"),
    )

    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_case_access_case"),
            primary_key=True,
        )
    )
    user_id: int = Field(primary_key=True)
    mode: CaseAccessMode = Field(sa_type=AutoString)
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
