"""Personal API tokens: how a person proves who they are to the command line without a password.

``crossforce users token create`` makes a token for the signed-in user and prints it once; the
person keeps it in ``CROSSFORCE_TOKEN``. Only its SHA-256 is stored (a token is 32 random bytes, so
a fast hash is enough: nobody can try them all), with a name, a short prefix to tell tokens apart,
an expiry, and the time it was last used. A token can be revoked at once by its owner or an admin.
Every creation, use and revocation is in the audit log (category ``access``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from coordination.core.clock import utcnow
from coordination.core.validate import acting, plain_text
from coordination.errors import AuthenticationError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import ApiToken, ApiTokenPublic, User

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "TOKEN_PREFIX",
    "authenticate_token",
    "create_token",
    "list_tokens",
    "revoke_token",
]

TOKEN_PREFIX = "cft_"  # noqa: S105 - a marker, not a secret
DEFAULT_DAYS = 90
MAX_DAYS = 366
_SHOWN = 12  # characters kept in clear to tell tokens apart: far too few to use one


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _owner(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None or user.id is None or not user.active:
        raise NotFoundError(f"No active user named {username!r}")
    return user


def create_token(
    session: Session,
    *,
    actor: str,
    name: str,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> tuple[str, ApiTokenPublic]:
    """Create a token for the acting user, who must be a real user.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Whose token it is (a token is always one's own).
    name
        What it is for ("laptop", "nightly export").
    days
        How long it lasts, 1 to 366 days.
    now
        The time of creation (default now).

    Returns
    -------
    tuple
        The token itself (shown once, never stored) and its public record.

    Raises
    ------
    InputError
        No name, or a life outside 1–366 days.
    NotFoundError
        The actor is no active user (system jobs have no tokens).
    """
    actor = acting(actor)
    label = plain_text(name, "the token's name", required=True, max_length=100)
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"A token lasts from 1 to {MAX_DAYS} days, not {days}")
    user = _owner(session, actor)
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=int(user.id or 0),
        name=label,
        prefix=token[:_SHOWN],
        token_hash=_digest(token),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=user.username,
        action="token.create",
        entity_type="api_token",
        entity_id=str(row.id),
        details={"name": label, "prefix": row.prefix, "expires_at": row.expires_at.isoformat()},
        category="access",
    )
    return token, ApiTokenPublic.model_validate(row)


def authenticate_token(session: Session, *, token: str, now: datetime | None = None) -> str:
    """Return the username a token belongs to, if it is valid now.

    The session is committed on failure too, so a refusal stays in the audit log.

    Raises
    ------
    AuthenticationError
        Unknown, expired or revoked token, or its user is disabled (one message for all).
    """
    now = now or utcnow()
    digest = _digest(token.strip())
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    user = session.get(User, row.user_id) if row is not None else None
    valid = (
        row is not None
        and user is not None
        and user.active
        and row.revoked_at is None
        and now < row.expires_at
        # Constant-time comparison of what was found with what was given.
        and hmac.compare_digest(row.token_hash, digest)
    )
    if not valid or row is None or user is None:
        record_event(
            session,
            actor="anonymous",
            action="token.refused",
            entity_type="api_token",
            entity_id=None if row is None else str(row.id),
            details={"prefix": token.strip()[:_SHOWN]},
            category="access",
        )
        session.commit()
        raise AuthenticationError("That token is unknown, expired or revoked")
    row.last_used_at = now
    session.add(row)
    record_event(
        session,
        actor=user.username,
        action="token.use",
        entity_type="api_token",
        entity_id=str(row.id),
        details={"prefix": row.prefix},
        category="access",
    )
    return user.username


def list_tokens(session: Session, *, actor: str) -> list[ApiTokenPublic]:
    """The acting user's tokens, newest first (an admin sees everyone's)."""
    from coordination.security.permissions import permission, principal

    p = principal(session, acting(actor))
    query = select(ApiToken).order_by(col(ApiToken.id).desc())
    if not p.is_system and permission(p.role, "users.manage") != "allow":
        query = query.where(ApiToken.user_id == p.user_id)
    return [ApiTokenPublic.model_validate(t) for t in session.exec(query).all()]


def revoke_token(
    session: Session, *, actor: str, token_id: int, now: datetime | None = None
) -> ApiTokenPublic:
    """Revoke a token at once; its owner or an admin may.

    Raises
    ------
    NotFoundError
        No such token among those the actor may see.
    """
    visible = {t.id: t for t in list_tokens(session, actor=actor)}
    if token_id not in visible:
        raise NotFoundError(f"No token {token_id} of yours")
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"No token {token_id} of yours")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.add(row)
        record_event(
            session,
            actor=acting(actor),
            action="token.revoke",
            entity_type="api_token",
            entity_id=str(token_id),
            details={"prefix": row.prefix},
            category="access",
        )
    return ApiTokenPublic.model_validate(row)
