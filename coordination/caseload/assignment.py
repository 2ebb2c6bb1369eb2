"""Assigning a case to an officer, and the history of assignments.

A case is only ever managed by an officer of its lead force: :func:`assign_case` refuses anyone
else, and keeps every earlier assignment in ``case_assignment`` (reassignment history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.caseload.officers import _case_row, _user_row
from coordination.core.locking import flush_or_conflict, load_for_update
from coordination.core.validate import plain_text
from coordination.errors import InputError, NotACaseHolderError
from coordination.handoffs.permissions import assign_verdict
from coordination.ledger.chain import record_event
from coordination.models import (
    Case,
    CaseAssignment,
    CasePublic,
    User,
)
from coordination.security.permissions import deny, require

# --- assignment --------------------------------------------------------------------------------


def assign_case(
    session: Session,
    *,
    actor: str,
    case_id: int,
    username: str,
    reason: str = "",
    expected_version: int | None = None,
) -> CasePublic:
    """Make an offender manager of the case's lead force its manager.

    The open ``case_assignment`` row (if any) is closed and a new one opened, so the history of
    who managed the case is kept. Assigning a case to its current manager changes nothing.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is assigning (for the audit log and ``updated_by``).
    case_id
        The case.
    username
        The new manager.
    reason
        Why (kept on the assignment row and in the audit log).
    expected_version
        The case version the caller saw; when given and the case has moved on, the assignment is
        refused rather than silently overwriting the other change.

    Returns
    -------
    CasePublic
        The case after assignment (version bumped).

    Raises
    ------
    NotFoundError
        No such case or user.
    InputError
        The officer is inactive or belongs to another force than the case's lead force, or the
        case is closed.
    NotACaseHolderError
        The person is not an offender manager (only they hold cases): an analyst, an admin or a
        supervisor is refused.
    ConflictError
        The case was changed by someone else since ``expected_version`` (or while assigning):
        "Case N was changed by NAME at TIME; reload".
    """
    p = require(session, actor=actor, action="case.assign", case_id=case_id)
    reason = " ".join(plain_text(reason, "the reason", multiline=True).split())
    label = f"Case {case_id}"
    case = load_for_update(session, Case, case_id, label=label, expected_version=expected_version)
    user = _user_row(session, username)
    # The rule the forms are built from (permitted_actions), so they never offer what this refuses.
    verdict = assign_verdict(session, p, case, user)
    if verdict.kind == "access":
        deny(
            session,
            p,
            action="case.assign",
            message=f"Access refused: {verdict.reason}",
            entity_type="case",
            entity_id=str(case_id),
            offender_ids=[case.offender_id],
        )
    if verdict.kind == "role":
        raise NotACaseHolderError(verdict.reason)
    if not verdict.allowed:
        raise InputError(verdict.reason)
    if case.assigned_user_id == user.id:
        return CasePublic.model_validate(case)
    previous = None
    if case.assigned_user_id is not None:
        prev_user = session.get(User, case.assigned_user_id)
        previous = None if prev_user is None else prev_user.username
    now = datetime.now(UTC)
    case.assigned_user_id = user.id
    case.updated_at = now
    case.updated_by = actor
    session.add(case)
    # The case row goes first: its versioned UPDATE is the race check, before anything else
    # is written.
    flush_or_conflict(session, case, label=label)
    open_rows = session.exec(
        select(CaseAssignment).where(
            CaseAssignment.case_id == case_id, col(CaseAssignment.ended_at).is_(None)
        )
    ).all()
    for row in open_rows:
        row.ended_at = now
        session.add(row)
    assignment = CaseAssignment(
        case_id=case_id, user_id=user.id, assigned_at=now, assigned_by=actor, reason=reason
    )
    session.add(assignment)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case.assign",
        entity_type="case",
        entity_id=str(case_id),
        details={
            "from": previous,
            "to": user.username,
            "reason": reason,
            "assignment_id": assignment.id,
            "version": case.version,
        },
        category="alteration",
        offender_ids=[case.offender_id],
    )
    return CasePublic.model_validate(case)


@dataclass(frozen=True)
class AssignmentRecord:
    """One period during which an officer managed a case (``ended_at`` None: still does)."""

    assignment_id: int
    case_id: int
    username: str | None
    display_name: str | None
    assigned_at: datetime
    assigned_by: str
    ended_at: datetime | None
    reason: str


def assignment_history(session: Session, *, case_id: int, actor: str) -> list[AssignmentRecord]:
    """Return who managed a case when, oldest first.

    Parameters
    ----------
    session
        Any session.
    case_id
        The case.

    Returns
    -------
    list[AssignmentRecord]
        Every assignment; the last one has ``ended_at`` None while the case is assigned.

    Raises
    ------
    NotFoundError
        No such case.
    """
    _case_row(session, case_id)
    require(session, actor=actor, action="case.view", case_id=case_id)
    rows = session.execute(
        sa.select(
            col(CaseAssignment.id),
            col(CaseAssignment.assigned_at),
            col(CaseAssignment.assigned_by),
            col(CaseAssignment.ended_at),
            col(CaseAssignment.reason),
            col(User.username),
            col(User.display_name),
        )
        .select_from(CaseAssignment)
        .outerjoin(User, col(User.id) == col(CaseAssignment.user_id))
        .where(col(CaseAssignment.case_id) == case_id)
        .order_by(col(CaseAssignment.assigned_at), col(CaseAssignment.id))
    ).all()
    return [
        AssignmentRecord(
            assignment_id=r.id,
            case_id=case_id,
            username=r.username,
            display_name=r.display_name,
            assigned_at=r.assigned_at,
            assigned_by=r.assigned_by,
            ended_at=r.ended_at,
            reason=r.reason,
        )
        for r in rows
    ]
