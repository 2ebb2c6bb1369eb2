"""Users: the people who work cases, each belonging to one force."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.audit import record_event
from coordination.models import Force, User, UserCreate, UserPublic
from geo.errors import ConflictError, NotFoundError


def create_user(session: Session, *, actor: str, data: UserCreate) -> UserPublic:
    """Create a user.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is creating the user (for the audit log).
    data
        The new user; ``username`` is already lower-case (``UserCreate`` normalises it).

    Returns
    -------
    UserPublic
        The stored user.

    Raises
    ------
    NotFoundError
        The force code is not a known force.
    ConflictError
        The username is taken.
    """
    if session.get(Force, data.force_code) is None:
        raise NotFoundError(f"No force with code {data.force_code!r}: run `crossforce init` first")
    if get_user(session, data.username) is not None:
        raise ConflictError(f"A user named {data.username!r} already exists")
    user = User.model_validate(data)
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        # Someone inserted the same name since the check above; the caller's transaction is
        # now unusable and will be rolled back by session_scope.
        raise ConflictError(f"A user named {data.username!r} already exists") from error
    record_event(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.username,
        details={
            "force_code": user.force_code,
            "role": user.role,
            "bcu_code": user.bcu_code,
            "team": user.team,
        },
    )
    return UserPublic.model_validate(user)


def list_users(session: Session) -> list[UserPublic]:
    """Return every user, by username."""
    rows = session.exec(select(User).order_by(col(User.username))).all()
    return [UserPublic.model_validate(row) for row in rows]


def get_user(session: Session, username: str) -> UserPublic | None:
    """Return a user by username (any case), or ``None``."""
    row = session.exec(select(User).where(User.username == username.strip().lower())).first()
    return None if row is None else UserPublic.model_validate(row)
