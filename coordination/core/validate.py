"""Checks every service applies to its keyword arguments before it changes anything."""

from __future__ import annotations

import re
from datetime import datetime

from coordination.core.clock import utcnow
from coordination.errors import InputError

__all__ = ["MAX_TEXT", "acting", "aware_now", "plain_text"]


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
    if _CONTROL.search(actor) or _LINE_BREAK.search(actor) or len(actor) > 200:
        raise InputError("The acting user's name is not a plain username")
    return actor


# Control characters (C0 except tab and newline, DEL, C1) and the Unicode line/paragraph
# separators: text that holds them can rewrite a terminal line, a log line or a CSV row.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAK = re.compile(r"[\n\t]")

#: The longest free text accepted (a note, a reason, a justification).
MAX_TEXT = 4000


def plain_text(
    value: str | None,
    what: str,
    *,
    multiline: bool = False,
    max_length: int = MAX_TEXT,
    required: bool = False,
) -> str:
    """Return ``value`` stripped, refusing control characters and over-long text.

    Parameters
    ----------
    value
        What was typed (``None`` counts as empty).
    what
        How the message names it ("a note", "the reason").
    multiline
        Allow line breaks and tabs (notes); names, titles and reasons are one line.
    max_length
        The most characters accepted.
    required
        Refuse empty text.

    Raises
    ------
    InputError
        Empty when required, too long, or holding a control character (or a line break where one
        line is expected).
    """
    text = (value or "").replace("\r\n", "\n").strip()
    if required and not text:
        raise InputError(f"{what[:1].upper()}{what[1:]} is needed")
    if len(text) > max_length:
        raise InputError(f"{what[:1].upper()}{what[1:]} is longer than {max_length} characters")
    if _CONTROL.search(text) or (not multiline and _LINE_BREAK.search(text)):
        raise InputError(
            f"{what[:1].upper()}{what[1:]} contains a control character or line break: "
            "type it as plain text"
        )
    return text
