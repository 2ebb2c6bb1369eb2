"""Blanking a person's free text in the audit log when they are erased, chain intact.

The chain covers an event's free text (details, justification) only through a salted digest, so an
erasure may replace that text and drop the salt: the digest, the hash and the seal stay as they
were, and verify still passes. Every blanked event names the erasure event that blanked it
(``redacted_by``), and that erasure event lists it among its ``redacted_events``, sealed: a text
blanked any other way is reported by verify. The database triggers allow this update and no other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from coordination.ledger.chain import _TABLE

__all__ = ["Cleaner", "events_about", "redact_events"]

#: Given an event's details and justification, return them with the person taken out.
Cleaner = Callable[[dict[str, Any] | None, str | None], tuple[dict[str, Any] | None, str | None]]

_CHUNK = 500


def events_about(
    session: Session,
    *,
    offender_id: int,
    entities: Sequence[tuple[str, Sequence[int]]] = (),
    needles: Sequence[str] = (),
) -> list[int]:
    """The ids of the events about one person, oldest first.

    Parameters
    ----------
    session
        Open session.
    offender_id
        The person: events that list them among ``offender_ids``, or are about their offender
        record.
    entities
        Their other records, as ``(entity_type, ids)``: cases, handoffs, agenda items, actions.
    needles
        Text that identifies them (PNC ID, full name): events whose free text holds any of it.
    """
    t = _TABLE
    ids_text = sa.cast(t.c.offender_ids, sa.Text)
    n = str(offender_id)
    listed = sa.or_(*(ids_text.like(p) for p in (f"%[{n}]%", f"%[{n},%", f"%, {n}]%", f"%, {n},%")))
    about = [listed, sa.and_(t.c.entity_type == "offender", t.c.entity_id == n)]
    for entity_type, ids in entities:
        for start in range(0, len(ids), _CHUNK):
            chunk = [str(i) for i in ids[start : start + _CHUNK]]
            about.append(sa.and_(t.c.entity_type == entity_type, t.c.entity_id.in_(chunk)))
    text = sa.func.lower(
        sa.func.coalesce(sa.cast(t.c.details, sa.Text), "")
        + sa.func.coalesce(t.c.justification, "")
    )
    for needle in needles:
        if needle.strip():
            about.append(text.contains(needle.strip().lower(), autoescape=True))
    query = sa.select(t.c.id).where(sa.or_(*about), t.c.category != "erasure").order_by(t.c.id)
    return [int(i) for i in session.execute(query).scalars()]


def redact_events(
    session: Session,
    *,
    event_ids: Sequence[int],
    erasure_event_id: int,
    clean: Cleaner,
    now: datetime,
) -> int:
    """Replace the free text of ``event_ids`` with ``clean``'s version; return how many changed.

    Each event loses its salt and names ``erasure_event_id``, which must list it (see the module
    docstring). An event blanked before (by an earlier erasure) is blanked again.
    """
    t = _TABLE
    changed = 0
    for start in range(0, len(event_ids), _CHUNK):
        chunk = list(event_ids[start : start + _CHUNK])
        rows = session.execute(
            sa.select(t.c.id, t.c.details, t.c.justification).where(t.c.id.in_(chunk))
        ).all()
        for row in rows:
            details, justification = clean(row.details, row.justification)
            session.execute(
                sa.update(t)
                .where(t.c.id == row.id)
                .values(
                    details=details,
                    justification=justification,
                    text_salt=None,
                    redacted_by=erasure_event_id,
                    redacted_at=now,
                )
            )
            changed += 1
    return changed
