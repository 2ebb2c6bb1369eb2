"""Stable pseudonyms, and the helpers that pseudonymise what analysts see.

A pseudonym is HMAC-SHA256 of ``"<kind>:<id>"`` under the application's secret key
(``CROSSFORCE_SECRET_KEY``), shortened: ``P-3F9A2C7D`` for a person, ``C-…`` for a case. The
same record always gets the same pseudonym (analyses can follow a person across outputs and
runs), different records get different ones, and without the key nobody can go back from a
pseudonym to a record (a keyed hash, not a plain one: ids are few enough to try them all).

Pseudonymised output keeps no names, dates of birth, PNC IDs, postcodes or coordinates, and no
area finer than the ward: force, BCU, district and ward codes only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from coordination.core.logs import PNC_RE, POSTCODE_RE

__all__ = [
    "ERASED",
    "PERSONAL_FIELDS",
    "case_pseudonym",
    "offender_pseudonym",
    "pseudonym",
    "pseudonym_int",
    "pseudonymise_details",
    "pseudonymise_mapping",
    "scrub_text",
]

# Keys that identify a person or place them finer than a ward; dropped from analyst output.
PERSONAL_FIELDS: frozenset[str] = frozenset(
    {
        "first_name",
        "last_name",
        "aliases",
        "offender_name",
        "name",
        "date_of_birth",
        "dob",
        "pnc_id",
        "postcode",
        "easting",
        "northing",
        "latitude",
        "longitude",
        "lat",
        "lon",
        "address",
    }
)

_PREFIX = {"offender": "P", "case": "C", "handoff": "H"}

#: What replaces a personal value once its person is erased.
ERASED = "ERASED"
_GRID_RE = re.compile(r"\bE\s*\d{3,7}(?:\.\d+)?\s*,\s*N\s*\d{3,7}(?:\.\d+)?")


def _key() -> bytes:
    from coordination.core.settings import get_settings

    return get_settings().secret_key.get_secret_value().encode()


def _digest(kind: str, ident: int | str) -> bytes:
    return hmac.new(_key(), f"{kind}:{ident}".encode(), hashlib.sha256).digest()


def pseudonym(kind: str, ident: int | str) -> str:
    """Return the stable pseudonym of a record, e.g. ``pseudonym("offender", 12)`` → ``P-…``.

    Parameters
    ----------
    kind
        ``"offender"``, ``"case"`` or ``"handoff"`` (another kind gets the prefix ``X``).
    ident
        The record's id.

    Returns
    -------
    str
        A letter for the kind, a hyphen and 8 upper-case hex digits (32 bits of the HMAC).
    """
    return f"{_PREFIX.get(kind, 'X')}-{_digest(kind, ident)[:4].hex().upper()}"


def pseudonym_int(kind: str, ident: int | str) -> int:
    """Return a stable 48-bit integer pseudonym, for outputs whose ids must stay integers.

    48 bits keep collisions improbable (about one in 50,000 for 100,000 records) and the value
    exact in JSON readers that use doubles.
    """
    return int.from_bytes(_digest(kind, ident)[:6], "big")


def offender_pseudonym(offender_id: int) -> str:
    """Return the pseudonym of a person (``P-XXXXXXXX``)."""
    return pseudonym("offender", offender_id)


def case_pseudonym(case_id: int) -> str:
    """Return the pseudonym of a case (``C-XXXXXXXX``)."""
    return pseudonym("case", case_id)


def pseudonymise_mapping(
    data: dict[str, Any], *, offender_id: int | None = None, case_id: int | None = None
) -> dict[str, Any]:
    """Return a copy of a JSON-like mapping without personal fields, recursively.

    Parameters
    ----------
    data
        E.g. a row as a dict.
    offender_id, case_id
        When given, ``pseudonym`` / ``case_pseudonym`` are added and the raw ids dropped.
    """

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: clean(v)
                for k, v in value.items()
                if k not in PERSONAL_FIELDS and k not in ("offender_id", "case_id")
            }
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    out: dict[str, Any] = clean(data)
    if offender_id is not None:
        out["pseudonym"] = offender_pseudonym(offender_id)
    if case_id is not None:
        out["case_pseudonym"] = case_pseudonym(case_id)
    return out


def scrub_text(text: str | None, names: re.Pattern[str] | None) -> str | None:
    """Replace names (when a pattern is given), PNC IDs, grid references and postcodes in text."""
    if not text:
        return text
    out = names.sub(ERASED, text) if names is not None else text
    out = PNC_RE.sub(ERASED, out)
    out = _GRID_RE.sub("[grid reference erased]", out)
    return POSTCODE_RE.sub("[postcode erased]", out)


def pseudonymise_details(
    details: dict[str, Any] | None,
    *,
    offender_id: int,
    names: re.Pattern[str] | None = None,
) -> dict[str, Any]:
    """Return audit-event details as they may be shown once ``offender_id`` is erased.

    The log itself is never changed; a reader (search, export) applies this to the events of
    an erased person, so the trail stays (who did what, when) without the person's names, PNC
    ID, date of birth, postcode or coordinates, which are replaced by ``ERASED`` and the
    person's pseudonym.
    """

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ERASED if k in PERSONAL_FIELDS else clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str):
            return scrub_text(value, names)
        return value

    out: dict[str, Any] = clean(details or {})
    out["pseudonym"] = offender_pseudonym(offender_id)
    return out
