"""Checks every service applies to its keyword arguments before it changes anything."""

from __future__ import annotations

from datetime import datetime

from coordination.core.clock import utcnow
from coordination.errors import InputError

__all__ = ["acting", "aware_now"]


def aware_now(now: datetime | None) -> datetime:
    """Return ``now`` (the time of a change), or the current UTC time when it is ``None``.

    Raises
    ------
    InputError
        ``now`` is naive: storing it would silently shift the time.
    """
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return now


def acting(actor: str) -> str:
    """Return the acting user's name, stripped.

    Raises
    ------
    InputError
        No actor: every change is recorded against someone.
    """
    actor = (actor or "").strip()
    if not actor:
        raise InputError("Every change needs an actor: set CROSSFORCE_USER or sign in")
    return actor
