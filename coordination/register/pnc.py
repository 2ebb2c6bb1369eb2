"""Police National Computer identifiers (PNC IDs).

A PNC ID is ``YYYY/NNNNNNNL``: the year the record was created, a serial of up to seven digits and
a check letter. The short form ``YY/NNNNNNL`` drops the century. The check letter is
``ZABCDEFGHJKLMNPQRTUVWXY[(two-digit year × 10⁷ + serial) mod 23]``, the rule the HMPPS
person-record service uses. crossforce stores the long form with a seven-digit serial.
"""

from __future__ import annotations

import datetime as dt
import re

from coordination.core.clock import london_today
from coordination.errors import InputError

__all__ = ["CHECK_LETTERS", "normalise_pnc", "pnc_check_letter"]

CHECK_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
_SERIAL_MAX = 9_999_999
_FIRST_YEAR = 1900
_PNC_RE = re.compile(r"(?P<year>[0-9]{4}|[0-9]{2})/(?P<serial>[0-9]{1,7})(?P<letter>[A-Z])")
_EXAMPLE = "2019/0012345G"
_MAX_SHOWN = 20


def pnc_check_letter(year: int, serial: int) -> str:
    """The check letter of a PNC ID.

    Parameters
    ----------
    year
        Four-digit or two-digit year; only the last two digits count.
    serial
        The serial number, 0–9999999.

    Returns
    -------
    str
        One upper-case letter.

    Raises
    ------
    InputError
        If the serial or year is negative or the serial has more than seven digits.
    """
    if year < 0 or not 0 <= serial <= _SERIAL_MAX:
        raise InputError(f"A PNC ID has a year and a serial of up to 7 digits, not {year}/{serial}")
    return CHECK_LETTERS[((year % 100) * 10**7 + serial) % 23]


def _century_year(two_digit: int, today: dt.date) -> int:
    """Years up to this year's two digits are this century; later ones are the last."""
    current = today.year % 100
    century = today.year - current
    return century + two_digit if two_digit <= current else century - 100 + two_digit


def _shown(text: str) -> str:
    collapsed = "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))
    return collapsed if len(collapsed) <= _MAX_SHOWN else collapsed[: _MAX_SHOWN - 1] + "…"


def normalise_pnc(text: str, *, today: dt.date | None = None) -> str:
    """Check a PNC ID and return its long form.

    Parameters
    ----------
    text
        ``YYYY/NNNNNNNL`` or ``YY/NNNNNNL`` in any case, with or without leading zeros in the
        serial and with spaces anywhere (they are ignored).
    today
        The date that decides the century of a short-form year (default: today). Short years up
        to the current two-digit year are 20YY, later ones 19YY.

    Returns
    -------
    str
        ``YYYY/NNNNNNNL`` with the serial padded to seven digits, e.g. ``"2019/0012345G"``.

    Raises
    ------
    InputError
        If the text is not shaped like a PNC ID, the year is in the future, or the check letter
        is wrong (the message says which letter it should be).
    """
    today = today or london_today()
    compact = "".join(text.split()).upper() if isinstance(text, str) else ""
    match = _PNC_RE.fullmatch(compact) if compact.isascii() else None
    if match is None:
        shown = _shown(text) if isinstance(text, str) else ""
        if not shown:
            raise InputError(f"No PNC ID given (expected YYYY/NNNNNNNL like {_EXAMPLE})")
        raise InputError(f"'{shown}' is not a PNC ID (expected YYYY/NNNNNNNL like {_EXAMPLE})")

    year_text, serial, letter = match.group("year"), int(match.group("serial")), match["letter"]
    year = int(year_text) if len(year_text) == 4 else _century_year(int(year_text), today)
    if not _FIRST_YEAR <= year <= today.year:
        raise InputError(f"{compact} has year {year}, which is not a possible PNC year")
    long_form = f"{year:04d}/{serial:07d}"
    expected = pnc_check_letter(year, serial)
    if letter != expected:
        raise InputError(
            f"{long_form}{letter} is not a valid PNC ID: the check letter should be {expected}"
        )
    return f"{long_form}{expected}"
