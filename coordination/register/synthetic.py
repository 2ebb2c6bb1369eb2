"""Whether the register holds synthetic demo data, and which demo it was.

Seeding a demo records a ``demo.seed`` audit event; every page and pack that shows records reads
it back to say the data is made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from coordination.models import (
    AuditEvent,
    Offender,
)

DEMO_ACTION = "demo.seed"
NOTICE = (
    "Synthetic demo data: every person, officer, case and handoff here is made up "
    "(only the postcodes are real)."
)


@dataclass(frozen=True)
class DemoInfo:
    """Whether the database holds demo data, and which demo it was."""

    seed: int
    offenders: int
    today: date
    seeded_at: datetime
    seeded_by: str
    notice: str = NOTICE


def has_offenders(session: Session) -> bool:
    """Return whether any offender is registered."""
    return session.exec(select(Offender.id).limit(1)).first() is not None


def demo_info(session: Session) -> DemoInfo | None:
    """Return the latest demo seeding recorded in the audit log, or ``None`` for real data only.

    Parameters
    ----------
    session
        Any session.

    Returns
    -------
    DemoInfo or None
        The pages show :attr:`DemoInfo.notice` whenever this is not ``None``.
    """
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == DEMO_ACTION)
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).first()
    if event is None:
        return None
    details = event.details or {}
    return DemoInfo(
        seed=int(details.get("seed", 0)),
        offenders=int(details.get("offenders", 0)),
        today=date.fromisoformat(str(details.get("today", event.at.date().isoformat()))),
        seeded_at=event.at,
        seeded_by=event.actor,
    )
