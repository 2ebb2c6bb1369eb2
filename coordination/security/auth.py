"""Sign-in: argon2id password hashes, a password policy, lock-out, idle sign-out, single sign-on.

Passwords are stored only as argon2id hashes (``argon2-cffi``). A wrong password and an unknown
username get the same answer, "Wrong username or password", and take the same time (an unknown
name is checked against a dummy hash), so the sign-in form does not reveal who has an account.
After ``lockout_attempts`` failures in a row an account is locked for ``lockout_minutes``; a
success resets the count. Every attempt is written to the audit log in the ``access`` category:
``auth.success``, ``auth.failure`` or ``auth.locked``.

A failed attempt must survive the error it raises: :func:`authenticate` commits the session
before raising, because the caller's ``session_scope`` rolls back on the error and would
otherwise erase the failure count (so an account could never be locked) and its audit event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NoReturn

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from coordination.core.calendar import LONDON
from coordination.core.clock import utcnow
from coordination.core.settings import Settings, get_settings
from coordination.errors import AuthenticationError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import SignInThrottle, User, UserPublic

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "WRONG_CREDENTIALS",
    "authenticate",
    "check_password_policy",
    "hash_password",
    "record_sign_out",
    "session_expired",
    "set_password",
    "sign_in_external",
    "username_for_email",
]

WRONG_CREDENTIALS = "Wrong username or password"
# Long enough for any passphrase; the cap stops a megabyte "password" from tying up the hasher.
MAX_PASSWORD_LENGTH = 1024
ACCESS = "access"

# argon2-cffi's defaults are the RFC 9106 low-memory profile of argon2id; a change of these
# defaults in a later release makes check_needs_rehash() true and the next sign-in rehashes.
_HASHER = PasswordHasher()
# Verified against when the username is unknown, so that both failures cost the same time.
_DUMMY_HASH = _HASHER.hash("crossforce-no-such-user-dummy-password")


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password (``$argon2id$v=19$m=…``), with a random salt."""
    return _HASHER.hash(password)


def check_password_policy(password: str, *, username: str, min_length: int = 12) -> None:
    """Refuse a password that breaks the policy.

    Parameters
    ----------
    password
        The proposed password.
    username
        Whose password it is: the password may not be the username.
    min_length
        The shortest length accepted (``Settings.min_password_length``).

    Raises
    ------
    InputError
        Naming the rule broken: too short, too long, the username, or one character repeated.
    """
    if len(password) < min_length:
        raise InputError(f"A password needs at least {min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"A password has at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username.strip().lower():
        raise InputError("A password may not be the username")
    if len(set(password)) == 1:
        raise InputError("A password may not be one character repeated")


def set_password(
    session: Session,
    *,
    actor: str,
    username: str,
    password: str,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> UserPublic:
    """Check a password against the policy and store its argon2id hash.

    Setting a password also clears any lock-out, so an administrator can help a locked-out user.

    Parameters
    ----------
    session
        Open session (the caller commits).
    actor
        Who is setting it (the audit log never holds the password or its hash).
    username
        Whose password.
    password
        The new password, in clear; it is hashed here and not kept.
    settings
        For the minimum length; the environment's by default.
    now
        The time recorded as ``password_changed_at`` (default: now).

    Returns
    -------
    UserPublic

    Raises
    ------
    NotFoundError
        No such user.
    InputError
        The password breaks the policy (the message names the rule).
    AccessDeniedError
        Someone other than the user, an admin or a system actor; audited.
    """
    from coordination.security.permissions import require

    settings = settings or get_settings()
    name = username.strip().lower()
    if actor.strip().lower() != name:
        # Anyone may change their own password; someone else's is user management.
        require(session, actor=actor, action="users.manage", entity_type="user", entity_id=name)
    user = _user(session, name)
    if user is None:
        raise NotFoundError(f"No user named {name!r}")
    check_password_policy(password, username=user.username, min_length=settings.min_password_length)
    user.password_hash = hash_password(password)
    user.password_changed_at = now or utcnow()
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="user.set_password",
        entity_type="user",
        entity_id=user.username,
        category="alteration",
    )
    return UserPublic.model_validate(user)


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> UserPublic:
    """Sign a user in with a password.

    Parameters
    ----------
    session
        Open session. On failure it is committed before the error is raised (see the module
        docstring), so the failure count and its audit event are kept.
    username
        As typed (any case, surrounding spaces ignored).
    password
        As typed.
    now
        The time of the attempt (default: now); tests pass it to step through a lock-out.
    settings
        Lock-out attempts and minutes; the environment's by default.

    Returns
    -------
    UserPublic
        The signed-in user.

    Raises
    ------
    AuthenticationError
        "Wrong username or password" for an unknown, inactive or password-less user and for a
        wrong password alike; "Account locked until HH:MM" (London time) while locked, and on
        the failure that locks it.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    name = username.strip().lower()[:64]
    user = _user(session, name)
    if user is None or not user.active or not user.password_hash or user.id is None:
        _unknown_name(session, name=name, password=password, now=now, settings=settings)
    locked_until = _current_lock(session, User, User.id == user.id, now)
    if locked_until is not None:
        _audit(
            session,
            actor=user.username,
            action="auth.locked",
            username=user.username,
            details={"locked_until": locked_until.isoformat()},
        )
        session.commit()
        raise AuthenticationError(_locked_message(locked_until))
    if not _verify(user.password_hash, password):
        failures, until = _count_failure(session, User, User.id == user.id, now, settings)
        details: dict[str, Any] = {"failed_logins": failures}
        if until is not None:
            details["locked_until"] = until.isoformat()
        _audit(
            session,
            actor=user.username,
            action="auth.failure",
            username=user.username,
            details=details,
        )
        session.commit()
        if until is not None:
            raise AuthenticationError(_locked_message(until))
        raise AuthenticationError(WRONG_CREDENTIALS)

    details = {"method": "password"}
    if _HASHER.check_needs_rehash(user.password_hash):
        # The hasher's parameters have changed since this hash was made: upgrade it now, while
        # the clear password is at hand.
        user.password_hash = hash_password(password)
        details["rehashed"] = "yes"
    user.failed_logins = 0
    user.last_login_at = now
    session.add(user)
    _audit(
        session, actor=user.username, action="auth.success", username=user.username, details=details
    )
    return UserPublic.model_validate(user)


def username_for_email(email: str, *, domain: str | None) -> str:
    """Map a single sign-on email to a crossforce username: ``name@domain`` → ``name``.

    Raises
    ------
    AuthenticationError
        No domain is configured, or the email is of another domain.
    """
    if not domain:
        raise AuthenticationError(
            "Single sign-on is not set up: CROSSFORCE_OIDC_EMAIL_DOMAIN is missing"
        )
    local, sep, host = email.strip().lower().rpartition("@")
    if not sep or not local or host != domain.strip().lower().lstrip("@"):
        raise AuthenticationError(f"Single sign-on accepts only @{domain} accounts")
    return local


def sign_in_external(
    session: Session,
    *,
    claims: Mapping[str, Any],
    provider: str,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> UserPublic:
    """Sign in a person whom a single sign-on provider has identified (``st.user``).

    The provider has checked the password; crossforce decides who that person is here: the
    verified email ``name@<oidc_email_domain>`` is the user ``name``, who must exist and be
    active. Lock-outs apply as to password sign-in.

    Parameters
    ----------
    session
        Open session. On failure it is committed before the error is raised, like
        :func:`authenticate`.
    claims
        The identity token's claims (``email``, ``email_verified``, ``sub``).
    provider
        The provider's name, for the audit log.
    now, settings
        As for :func:`authenticate`.

    Returns
    -------
    UserPublic

    Raises
    ------
    AuthenticationError
        No verified email of the configured domain, no such active user, or the account is
        locked.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    email = str(claims.get("email") or "")
    subject = str(claims.get("sub") or "")[:128]
    try:
        if claims.get("email_verified") is False:
            raise AuthenticationError("Your organisation has not verified this email address")
        name = username_for_email(email, domain=settings.oidc_email_domain)
        user = _user(session, name)
        if user is None or not user.active:
            raise AuthenticationError(
                f"No crossforce account for {name!r}: ask an administrator for one"
            )
        if user.locked_until is not None and now < user.locked_until:
            raise AuthenticationError(_locked_message(user.locked_until))
    except AuthenticationError as error:
        _audit(
            session,
            actor=f"oidc:{provider}",
            action="auth.failure",
            username=None,
            details={"method": "oidc", "provider": provider, "sub": subject, "reason": str(error)},
        )
        session.commit()
        raise
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    _audit(
        session,
        actor=user.username,
        action="auth.success",
        username=user.username,
        details={"method": "oidc", "provider": provider, "sub": subject},
    )
    return UserPublic.model_validate(user)


def record_sign_out(session: Session, *, username: str, reason: str = "user") -> None:
    """Record a sign-out (``auth.sign_out``); ``reason`` is ``user`` or ``idle``."""
    _audit(
        session,
        actor=username,
        action="auth.sign_out",
        username=username,
        details={"reason": reason},
    )


def session_expired(last_activity: datetime | None, now: datetime, idle_minutes: float) -> bool:
    """Whether a signed-in session has been idle too long.

    Parameters
    ----------
    last_activity
        The time of the last request of the session; ``None`` (never active) counts as expired.
    now
        The time of this request.
    idle_minutes
        The idle limit (``Settings.idle_signout_minutes``).

    Returns
    -------
    bool
        True once ``now - last_activity`` reaches the limit.
    """
    if last_activity is None:
        return True
    return now - last_activity >= timedelta(minutes=idle_minutes)


# --- helpers -------------------------------------------------------------------------------------


def _unknown_name(
    session: Session, *, name: str, password: str, now: datetime, settings: Settings
) -> NoReturn:
    """Fail a sign-in under a name with no usable account exactly as a real account fails.

    The same hash work is done, and failures are counted and locked out by name, so neither the
    messages nor the timing say whether the name exists.
    """
    # Nobody is proven here, and a typed name could even look like "system:…": the actor is
    # anonymous and the name typed is kept as a detail.
    detail: dict[str, Any] = {"username": name, "reason": "unknown, inactive or password-less user"}
    throttled = SignInThrottle.username == name
    if _throttle_row(session, name, now) and (
        until := _current_lock(session, SignInThrottle, throttled, now)
    ):
        _audit(session, actor="anonymous", action="auth.locked", username=None, details=detail)
        session.commit()
        raise AuthenticationError(_locked_message(until))
    _verify(_DUMMY_HASH, password)
    failures, until = _count_failure(session, SignInThrottle, throttled, now, settings)
    _audit(
        session,
        actor="anonymous",
        action="auth.failure",
        username=None,
        details={**detail, "failed_logins": failures},
    )
    session.commit()
    if until is not None:
        raise AuthenticationError(_locked_message(until))
    raise AuthenticationError(WRONG_CREDENTIALS)


def _throttle_row(session: Session, name: str, now: datetime) -> bool:
    """Make sure the name has a throttle row (an upsert: parallel first attempts are safe)."""
    table: sa.Table = SignInThrottle.__table__  # type: ignore[attr-defined]
    values = {"username": name, "failed_logins": 0, "locked_until": None, "updated_at": now}
    dialect = session.connection().dialect.name
    insert: Any = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["username"]))
    return True


def _current_lock(session: Session, model: Any, where: Any, now: datetime) -> datetime | None:
    """The time a lock runs to, or ``None``; a lock that has run out is cleared (count from 0)."""
    until = session.execute(sa.select(model.locked_until).where(where)).scalar_one_or_none()
    if until is None:
        return None
    if now < until:
        return until  # type: ignore[no-any-return]
    session.execute(
        sa.update(model)
        .where(where, model.locked_until == until)
        .values(locked_until=None, failed_logins=0)
    )
    return None


def _count_failure(
    session: Session, model: Any, where: Any, now: datetime, settings: Settings
) -> tuple[int, datetime | None]:
    """Count one failure atomically in the database; lock when it reaches the limit.

    The count is ``failed_logins = failed_logins + 1`` in one statement that returns the new
    value, so parallel wrong guesses are all counted (a read, then a write, would lose them).

    Returns
    -------
    tuple
        The failures counted so far, and the lock's end when this failure locked the account.
    """
    failures = int(
        session.execute(
            sa.update(model)
            .where(where)
            .values(failed_logins=model.failed_logins + 1)
            .returning(model.failed_logins)
        ).scalar_one()
    )
    if failures < settings.lockout_attempts:
        return failures, None
    until = now + timedelta(minutes=settings.lockout_minutes)
    session.execute(sa.update(model).where(where).values(locked_until=until, failed_logins=0))
    return failures, until


def _user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _locked_message(until: datetime) -> str:
    return f"Account locked until {until.astimezone(LONDON):%H:%M}"


def _audit(
    session: Session,
    *,
    actor: str,
    action: str,
    username: str | None,
    details: dict[str, Any],
) -> None:
    record_event(
        session,
        actor=actor,
        action=action,
        entity_type="user",
        entity_id=username,
        details=details,
        category=ACCESS,
    )
