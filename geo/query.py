"""Turn what a person typed in the lookup box into a parsed query.

A query is a postcode, or two numbers: latitude/longitude or British National Grid
easting/northing. Two numbers both larger than 1000 in size cannot be degrees, so they are read
as grid metres; smaller ones are read as latitude, longitude unless the caller says the input is
grid coordinates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from geo.coords import (
    bng_to_wgs84,
    parse_bng,
    parse_latlon,
    split_number_pair,
    wgs84_to_bng,
)
from geo.errors import InputError
from geo.postcodes import _canonical_or_none, _shown, normalise_postcode

__all__ = ["ParsedQuery", "QueryKind", "parse_query"]

QueryKind = Literal["postcode", "latlon", "bng"]

EMPTY_MESSAGE = "Type a postcode, or coordinates as lat,lon or easting,northing"
_DEGREES_LIMIT = 1000.0
# Letters and digits only, the length of a postcode: someone meant a postcode and mistyped it.
_POSTCODE_ATTEMPT_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{4,7}")


@dataclass(frozen=True)
class ParsedQuery:
    """A lookup query, with both coordinate pairs filled in for coordinate queries.

    Attributes
    ----------
    kind
        ``"postcode"``, ``"latlon"`` or ``"bng"``: how the text was read.
    text
        The text as typed, with surrounding space removed.
    postcode
        Canonical postcode for postcode queries, else None.
    lat, lon
        WGS84 degrees for coordinate queries (converted from the grid for ``"bng"``), else None.
    easting, northing
        Grid metres for coordinate queries (converted with OSTN15 for ``"latlon"``), else None.
    """

    kind: QueryKind
    text: str
    postcode: str | None
    lat: float | None
    lon: float | None
    easting: float | None
    northing: float | None


def parse_query(text: str, *, bng: bool = False) -> ParsedQuery:
    """Read a postcode or a pair of coordinates.

    Parameters
    ----------
    text
        What the person typed: ``"ec2v 7hh"``, ``"51.5155, -0.0919"`` or ``"532494 181344"``.
    bng
        Read two numbers as easting, northing even when they are small.

    Returns
    -------
    ParsedQuery

    Raises
    ------
    InputError
        If the text is empty or is neither a postcode nor a pair of numbers.
    MalformedPostcodeError
        (an InputError) if the text looks like a mistyped postcode.
    CoordinateError
        (an InputError) if the numbers lie outside the British Isles or the grid.
    """
    stripped = text.strip() if isinstance(text, str) else ""
    if not stripped:
        raise InputError(EMPTY_MESSAGE)

    postcode = _canonical_or_none(stripped)
    if postcode is not None:
        return ParsedQuery("postcode", stripped, postcode, None, None, None, None)

    pair = split_number_pair(stripped)
    if pair is not None:
        first, second = pair
        if bng or (abs(first) > _DEGREES_LIMIT and abs(second) > _DEGREES_LIMIT):
            easting, northing = parse_bng(stripped)
            lat, lon = bng_to_wgs84(easting, northing)
            return ParsedQuery("bng", stripped, None, lat, lon, easting, northing)
        lat, lon = parse_latlon(stripped)
        easting, northing = wgs84_to_bng(lat, lon)
        return ParsedQuery("latlon", stripped, None, lat, lon, easting, northing)

    if _POSTCODE_ATTEMPT_RE.fullmatch("".join(stripped.split())):
        normalise_postcode(stripped)  # raises MalformedPostcodeError with the postcode hint
    raise InputError(
        f"'{_shown(stripped)}' is not a postcode or coordinates "
        "(try EC2V 7HH, 51.5155,-0.0919 or 532494,181344)"
    )
