"""Limited access to a case: named users excluded, or access restricted to named users.

Probation's "limited access offender" lists (docs/DOMAIN.md, "Data protection"). Per case, a user
can be *excluded* (they never see the case, whatever their force), or *allowed* (once any user is
allowed, only allowed users see the case). ``coordination.permissions.visible_case_filter``
applies the rows to every list and record.

Who sets it: a supervisor of the case's lead force, or an admin (permission
``access.manage``). Neither needs to see the case to protect it. Every change needs a reason and
is audited as an alteration of the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from coordination.core.clock import utcnow
from coordination.core.validate import plain_text
from coordination.errors import InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import Case, CaseAccess, User
from coordination.security.permissions import Principal, deny, require
from geo.forces import force_name

__all__ = [
    "MODES",
    "CaseAccessEntry",
    "clear_case_access",
    "list_case_access",
    "set_case_access",
]

MODES: tuple[str, ...] = ("exclude", "allow")


@dataclass(frozen=True)
class CaseAccessEntry:
    """One limited-access row: who, how, why, set by whom and when."""

    case_id: int
    username: str
    mode: str
    reason: str
    created_at: datetime
    created_by: str


def _case_for_manager(session: Session, *, actor: str, case_id: int) -> tuple[Case, Principal]:
    """Load the case and check the actor may manage its access (lead supervisor or admin)."""
    p = require(
        session, actor=actor, action="access.manage", entity_type="case", entity_id=str(case_id)
    )
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"No case with id {case_id}")
    if p.role == "supervisor" and p.force_code != case.lead_force_code:
        deny(
            session,
            p,
            action="access.manage",
            message=f"Access refused: {p.label} may not set access to case {case_id}, led by "
            f"{force_name(case.lead_force_code).name}",
            entity_type="case",
            entity_id=str(case_id),
        )
    return case, p


def _user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise NotFoundError(f"No user named {username.strip()!r}")
    return user


def _reason(reason: str | None) -> str:
    cleaned = " ".join(plain_text(reason, "the reason", multiline=True).split())
    if not cleaned:
        raise InputError("Limited access needs a reason, e.g. 'officer is a relative'")
    return cleaned


def set_case_access(
    session: Session,
    *,
    actor: str,
    case_id: int,
    username: str,
    mode: str,
    reason: str,
) -> CaseAccessEntry:
    """Exclude a user from a case, or add them to the users a case is restricted to.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        A supervisor of the case's lead force, or an admin.
    case_id
        The case.
    username
        The user named.
    mode
        ``"exclude"`` or ``"allow"``. Setting a user again replaces their row.
    reason
        Why; required, kept on the row and in the audit log.

    Returns
    -------
    CaseAccessEntry

    Raises
    ------
    AccessDeniedError
        The actor may not manage this case's access (audited).
    NotFoundError
        No such case or user.
    InputError
        Unknown mode, or no reason.
    """
    if mode not in MODES:
        raise InputError(f"Unknown access mode {mode!r}: exclude or allow")
    case, _ = _case_for_manager(session, actor=actor, case_id=case_id)
    reason = _reason(reason)
    user = _user(session, username)
    if user.id is None:
        raise RuntimeError("user.id is missing")
    row = session.get(CaseAccess, (case_id, user.id))
    before = None if row is None else row.mode
    if row is None:
        row = CaseAccess(
            case_id=case_id,
            user_id=user.id,
            mode=mode,  # type: ignore[arg-type]
            reason=reason,
            created_by=actor,
        )
    else:
        row.mode = mode  # type: ignore[assignment]
        row.reason = reason
        row.created_by = actor
        row.created_at = utcnow()
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case_access.set",
        entity_type="case",
        entity_id=str(case_id),
        details={"username": user.username, "mode": mode, "before": before},
        category="alteration",
        justification=reason,
        offender_ids=[case.offender_id],
    )
    return CaseAccessEntry(case_id, user.username, row.mode, row.reason, row.created_at, actor)


def clear_case_access(
    session: Session, *, actor: str, case_id: int, username: str, reason: str
) -> bool:
    """Remove a user's limited-access row from a case.

    Returns
    -------
    bool
        True if a row was removed, False if the user had none (nothing is recorded then).

    Raises
    ------
    AccessDeniedError
        The actor may not manage this case's access (audited).
    NotFoundError
        No such case or user.
    InputError
        No reason.
    """
    case, _ = _case_for_manager(session, actor=actor, case_id=case_id)
    reason = _reason(reason)
    user = _user(session, username)
    row = session.get(CaseAccess, (case_id, user.id))
    if row is None:
        return False
    mode = row.mode
    session.delete(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case_access.clear",
        entity_type="case",
        entity_id=str(case_id),
        details={"username": user.username, "mode": mode},
        category="alteration",
        justification=reason,
        offender_ids=[case.offender_id],
    )
    return True


def list_case_access(session: Session, *, actor: str, case_id: int) -> list[CaseAccessEntry]:
    """Return a case's limited-access rows, by username (lead supervisor or admin only)."""
    _case_for_manager(session, actor=actor, case_id=case_id)
    rows = session.exec(
        select(CaseAccess, User)
        .join(User, col(User.id) == col(CaseAccess.user_id))
        .where(col(CaseAccess.case_id) == case_id)
        .order_by(col(User.username))
    ).all()
    return [
        CaseAccessEntry(a.case_id, u.username, a.mode, a.reason, a.created_at, a.created_by)
        for a, u in rows
    ]
