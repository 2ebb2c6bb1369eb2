"""Users: the people who work cases, each belonging to one force."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.settings import Settings, get_settings
from coordination.errors import AccessDeniedError, ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import Force, User, UserCreate, UserPublic
from geo.forces import MET_BCUS, METROPOLITAN

# The shared password of the demo accounts (README, "Signing in"). Public on purpose: the demo
# accounts exist only outside production, where `seed_demo` never creates them.
DEMO_PASSWORD = "crossforce-demo"  # noqa: S105 - public, development only


def _check_bcu(force_code: str, bcu_code: str) -> None:
    """A BCU belongs to a Met user, and is one of the Met's BCUs."""
    if force_code != METROPOLITAN:
        raise InputError(
            f"A BCU is given only for Metropolitan Police Service users, not for {force_code}"
        )
    codes = sorted({code for code, _ in MET_BCUS.values()})
    if bcu_code.upper() not in codes:
        raise InputError(f"Unknown BCU {bcu_code!r}: one of {', '.join(codes)}")


def has_admin(session: Session) -> bool:
    """Whether any active admin account exists."""
    found = session.exec(
        select(User.id).where(User.role == "admin", col(User.active).is_(True)).limit(1)
    ).first()
    return found is not None


def _check_bootstrap(session: Session, data: UserCreate) -> None:
    """The setup account creates the first admin only: afterwards admins manage users."""
    if has_admin(session):
        raise AccessDeniedError(
            "Access refused: an admin exists, so users are added by an admin who signs in"
        )
    if data.role != "admin":
        raise AccessDeniedError("Access refused: the first user added must be an admin")


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
    InputError
        A BCU for a user outside the Met, or a BCU the Met does not have.
    AccessDeniedError
        The actor may not manage users (admins and system actors may); audited.
    """
    from coordination.security.permissions import require

    require(
        session, actor=actor, action="users.manage", entity_type="user", entity_id=data.username
    )
    if actor.strip().lower() == "system:setup":
        _check_bootstrap(session, data)
    if session.get(Force, data.force_code) is None:
        raise NotFoundError(f"No force with code {data.force_code!r}: run `crossforce init` first")
    if get_user(session, data.username) is not None:
        raise ConflictError(f"A user named {data.username!r} already exists")
    if data.bcu_code is not None:
        _check_bcu(data.force_code, data.bcu_code)
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


def list_users(session: Session, *, actor: str) -> list[UserPublic]:
    """Return every user, by username; for someone who may manage users (when ``actor`` is given).

    Raises
    ------
    AccessDeniedError
        ``actor`` may not manage users (only admins may list them); audited.
    """
    if actor is not None:
        from coordination.security.permissions import require

        require(session, actor=actor, action="users.manage", entity_type="user")
    rows = session.exec(select(User).order_by(col(User.username))).all()
    return [UserPublic.model_validate(row) for row in rows]


def get_user(session: Session, username: str) -> UserPublic | None:
    """Return a user by username (any case), or ``None``."""
    row = session.exec(select(User).where(User.username == username.strip().lower())).first()
    return None if row is None else UserPublic.model_validate(row)


def mark_demo_account(
    session: Session, *, actor: str, username: str, settings: Settings | None = None
) -> UserPublic:
    """Mark a user as a demo account of development mode (``is_demo``).

    Parameters
    ----------
    session
        Open session (the caller commits).
    actor
        Who marks it (for the audit log).
    username
        The user.
    settings
        The environment's by default.

    Returns
    -------
    UserPublic

    Raises
    ------
    AccessDeniedError
        In production, which has no demo accounts; or the actor may not manage users.
    NotFoundError
        No such user.
    """
    from coordination.security.permissions import require

    settings = settings or get_settings()
    if settings.env == "production":
        raise AccessDeniedError("Production has no demo accounts")
    require(session, actor=actor, action="users.manage", entity_type="user", entity_id=username)
    row = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if row is None:
        raise NotFoundError(f"No user named {username.strip().lower()!r}")
    row.is_demo = True
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="user.mark_demo",
        entity_type="user",
        entity_id=row.username,
        category="alteration",
    )
    return UserPublic.model_validate(row)


def list_demo_accounts(session: Session) -> list[UserPublic]:
    """Return the demo accounts (``is_demo``), by force then role then username."""
    rows = session.exec(select(User).where(col(User.is_demo).is_(True))).all()
    return sorted(
        (UserPublic.model_validate(row) for row in rows),
        key=lambda u: (u.force_code, u.bcu_code or "", u.role, u.username),
    )
