"""The audit log: who did what to which entity, and when.

Every service that writes calls :func:`record_event` in the same session, so the event commits or
rolls back with the change it describes. The log is append-only: this module offers no way to
change or delete an event.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from coordination.models import AuditEvent, AuditEventPublic
from geo.errors import InputError


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session (flushed, not committed).

    Parameters
    ----------
    session
        The session of the change being recorded.
    actor
        Who did it (a username, or a system name such as ``"init"``).
    action
        Dotted verb, e.g. ``"boundary_set.activate"``.
    entity_type, entity_id
        What it was done to; ``entity_id`` is ``None`` for actions on many entities.
    details
        JSON-serialisable facts worth keeping (counts, previous values).

    Returns
    -------
    AuditEvent
        The new row, with ``id`` and ``at`` set.

    Raises
    ------
    InputError
        When ``actor`` or ``action`` is empty: an anonymous change would defeat the log.
    """
    actor = (actor or "").strip()
    if not actor:
        raise InputError("Every change needs an actor: set CROSSFORCE_USER or sign in")
    if not action.strip():
        raise InputError("An audit event needs an action")
    event = AuditEvent(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        details=details,
    )
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session,
    *,
    limit: int = 100,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditEventPublic]:
    """Return recent audit events, newest first.

    Parameters
    ----------
    session
        Any session.
    limit
        At most this many events.
    actor, action
        Keep only events by this actor / with this action.

    Returns
    -------
    list[AuditEventPublic]
        Detached copies, safe to use after the session closes.
    """
    query = select(AuditEvent)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
    return [AuditEventPublic.model_validate(row) for row in session.exec(query).all()]
