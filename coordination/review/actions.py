"""Actions agreed at a meeting: adding them, marking them done or cancelled, and open ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.clock import london_date
from coordination.core.validate import acting, aware_now, plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    Case,
    Meeting,
    ReviewAction,
)
from coordination.review.common import (
    ACTION_STATUSES,
    _lock_meeting,
    _normalise_forces,
    _require_action,
    _require_meeting,
    _same_forces,
    _touch,
    _writable,
)
from coordination.review.views import ActionView, _action_views
from coordination.security.permissions import require

# --- actions --------------------------------------------------------------------------------------


def add_action(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    description: str,
    owner: str,
    due_date: date | None,
    case_id: int | None = None,
    now: datetime | None = None,
) -> ActionView:
    """Record an action agreed at a meeting; it stays open (and carries over) until closed.

    Parameters
    ----------
    description
        What is to be done; required.
    owner
        Who does it (a username or name); required.
    due_date
        By when (``None`` for no date).
    case_id
        The case it is about, if any.

    Returns
    -------
    ActionView
        The action. Audit event ``review_action.create``.

    Raises
    ------
    InputError
        Blank description or owner, a due date that is not a date or is before today.
    NotFoundError
        No such meeting or case.
    ConflictError
        The meeting is closed.
    """
    actor = acting(actor)
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)
    now = aware_now(now)
    description = " ".join(plain_text(description, "the action", multiline=True).split())
    owner = " ".join((owner or "").split())
    if not description:
        raise InputError("An action needs a description")
    if not owner:
        raise InputError("An action needs an owner")
    if due_date is not None and (isinstance(due_date, datetime) or not isinstance(due_date, date)):
        raise InputError(f"The due date must be a date like 2025-03-31, not {due_date!r}")
    if due_date is not None and due_date < london_date(now):
        # An action due before it was agreed is a typing slip, and would start life overdue.
        raise InputError(
            f"The due date {due_date:%d %b %Y} is in the past: give today or a later day"
        )
    meeting = _lock_meeting(session, meeting_id)
    _writable(meeting)
    if case_id is not None and session.get(Case, case_id) is None:
        raise NotFoundError(f"Case {case_id} does not exist")
    action = ReviewAction(
        meeting_id=meeting_id,
        case_id=case_id,
        description=description,
        owner=owner,
        due_date=due_date,
        status="open",
        created_at=now,
        created_by=actor,
    )
    session.add(action)
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="review_action.create",
        entity_type="review_action",
        entity_id=str(action.id),
        details={
            "meeting_id": meeting_id,
            "case_id": case_id,
            "description": description,
            "owner": owner,
            "due_date": due_date.isoformat() if due_date else None,
        },
        category="alteration" if case_id is not None else "system",
    )
    return _action_views(session, [action], actor=actor)[0]


def set_action_status(
    session: Session,
    *,
    actor: str,
    action_id: int,
    status: str,
    note: str = "",
    now: datetime | None = None,
) -> ActionView:
    """Mark an action done, cancelled, or open again (also after its meeting has closed).

    Parameters
    ----------
    note
        What was done, or why it was cancelled; kept in the audit event.

    Returns
    -------
    ActionView
        The action. Audit event ``review_action.status``.

    Raises
    ------
    InputError
        Unknown status.
    NotFoundError
        No such action.
    ConflictError
        The action already has that status.
    """
    actor = acting(actor)
    _require_action(session, actor=actor, action_id=action_id)
    now = aware_now(now)
    note = " ".join(plain_text(note or "", "the note", multiline=True).split())
    if status not in ACTION_STATUSES:
        raise InputError(
            f"Unknown action status {status!r}: use one of {', '.join(ACTION_STATUSES)}"
        )
    action = session.exec(
        select(ReviewAction)
        .where(ReviewAction.id == action_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if action is None:
        raise NotFoundError(f"Action {action_id} does not exist")
    before = action.status
    if before == status:
        raise ConflictError(f"Action {action_id} is already {status}")
    action.status = status  # type: ignore[assignment]
    action.closed_at = None if status == "open" else now
    session.flush()
    record_event(
        session,
        actor=actor,
        action="review_action.status",
        entity_type="review_action",
        entity_id=str(action_id),
        details={
            "meeting_id": action.meeting_id,
            "from_status": before,
            "to_status": status,
            **({"note": note} if note else {}),
        },
    )
    return _action_views(session, [action], actor=actor)[0]


def open_actions(
    session: Session,
    *,
    owner: str | None = None,
    forces: Sequence[str] | None = None,
    actor: str,
) -> list[ActionView]:
    """Return open actions, soonest due first (undated last), optionally of one owner.

    Parameters
    ----------
    owner
        Keep one owner's actions (exact, ignoring case and surrounding spaces).
    forces
        Keep actions of meetings of exactly these forces.
    """
    p = require(session, actor=actor, action="meeting.view")
    query = select(ReviewAction).where(ReviewAction.status == "open")
    if not p.is_system:
        meetings = session.exec(select(Meeting)).all()
        mine = [int(m.id or 0) for m in meetings if p.force_code in m.forces]
        query = query.where(col(ReviewAction.meeting_id).in_(mine))
    if owner is not None and owner.strip():
        query = query.where(sa.func.lower(col(ReviewAction.owner)) == owner.strip().lower())
    if forces is not None:
        ids = [int(m.id or 0) for m in _same_forces(session, _normalise_forces(session, forces))]
        query = query.where(col(ReviewAction.meeting_id).in_(ids))
    rows = list(session.exec(query).all())
    rows.sort(key=lambda a: (a.due_date is None, a.due_date or date.min, a.id or 0))
    return _action_views(session, rows, actor=actor)
