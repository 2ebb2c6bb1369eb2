"""Resolve a whole table of postcodes or coordinates, keeping every row.

Every input row comes back, in order, with ``status`` either ``"resolved"`` (a force was found)
or ``"not resolved"``, and for the latter a one-line ``reason`` ("empty row", "not a UK postcode",
"outside the boundary set", …). So the counts always add up: rows = resolved + not resolved, and
the not-resolved rows break down by reason (:class:`BatchSummary`). A bad row never stops the
batch. Reading and writing files (and keeping them formula-safe) is not geography: that is
``coordination.core.tables``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo import forces
from geo.coords import wgs84_to_bng_many
from geo.errors import InputError
from geo.lookup import Lookup

CHUNK = 20_000
RESOLVED = "resolved"
NOT_RESOLVED = "not resolved"
#: The columns added to every row, by machine name (the download keeps these names).
OUTPUT_COLUMNS = [
    "force_code",
    "force_name",
    "district_code",
    "district_name",
    "bcu_code",
    "bcu_name",
    "ward_code",
    "ward_name",
    "distance_to_boundary_m",
    "nearest_other_force_code",
    "nearest_other_force_name",
    "near_boundary",
    "method",
    "boundary_set",
    "status",
    "reason",
]
EMPTY_ROW = "empty row"
_ERRORS = {
    "malformed": "not a UK postcode",
    "unknown": "postcode not in the postcode directory",
    "no_coordinates": "postcode has no location in the postcode directory",
}
OUTSIDE = "outside the boundary set"
OUTSIDE_NEEDS_PACK = "outside the boundary set: needs the national pack"
NO_FORCE = "force unknown: needs the national pack"


@dataclass(frozen=True)
class BatchSummary:
    """The counts of a batch: ``rows == resolved + not_resolved``, always.

    Attributes
    ----------
    rows
        Rows read, blank ones included.
    resolved
        Rows given a force.
    not_resolved
        The other rows.
    near_boundary
        Resolved rows near a force boundary (verify the address).
    reasons
        Why rows did not resolve: reason → rows, largest first; sums to ``not_resolved``.
    """

    rows: int
    resolved: int
    not_resolved: int
    near_boundary: int
    reasons: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        why = "; ".join(f"{count} {reason}" for reason, count in self.reasons.items())
        return (
            f"{self.rows} rows: {self.resolved} resolved, {self.not_resolved} not resolved"
            f"{f' ({why})' if why else ''}, {self.near_boundary} near a boundary"
        )


@dataclass(frozen=True)
class BatchResult:
    """The input table with the resolution columns added, and its summary.

    ``input_columns`` are the names of the input's columns in ``table`` (first, in order; an
    input column named like an output column is kept as ``<name>_input``).
    """

    table: pd.DataFrame
    summary: BatchSummary
    input_columns: tuple[str, ...] = ()


def _columns(table: pd.DataFrame) -> dict[str, str]:
    return {str(c).strip().lower(): str(c) for c in table.columns}


def input_kind(table: pd.DataFrame) -> str:
    """Return which location columns a table has: ``postcode``, ``bng`` or ``latlon``.

    Raises
    ------
    InputError
        The table has none of the recognised location columns.
    """
    cols = _columns(table)
    if "postcode" in cols:
        return "postcode"
    if "easting" in cols and "northing" in cols:
        return "bng"
    if ("lat" in cols or "latitude" in cols) and ("lon" in cols or "longitude" in cols):
        return "latlon"
    raise InputError(
        "The file needs a 'postcode' column, or 'easting' and 'northing', or 'lat' and 'lon'"
    )


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)


def _blank(series: pd.Series) -> np.ndarray:
    """True where a cell is empty: missing, or only spaces."""
    return (series.isna() | series.astype(str).str.strip().eq("")).to_numpy(dtype=bool)


def _locate(
    table: pd.DataFrame, lookup: Lookup, kind: str, reason: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Turn each row's location into grid metres; rows that cannot be placed get a reason.

    Returns eastings, northings, and for postcode tables the directory's district and canonical
    postcode of each row (``None`` otherwise).
    """
    cols = _columns(table)
    n = len(table)
    easting = np.full(n, np.nan)
    northing = np.full(n, np.nan)
    if kind == "postcode":
        if lookup.directory is None:
            raise InputError("Postcode lookup is unavailable: the postcode directory is not loaded")
        column = table[cols["postcode"]]
        found = lookup.directory.get_many(column.astype(str).tolist())
        easting = found["easting"].to_numpy(dtype=float)
        northing = found["northing"].to_numpy(dtype=float)
        for i, code in enumerate(found["error"].to_numpy(dtype=object)):
            if code is not None and reason[i] is None:
                reason[i] = _ERRORS.get(str(code), str(code))
        missing = _blank(column) & (reason == _ERRORS["malformed"])
        reason[missing] = "postcode missing"
        return (
            easting,
            northing,
            found["district_code"].to_numpy(dtype=object),
            found["postcode"].to_numpy(dtype=object),
        )
    if kind == "bng":
        easting = _floats(table[cols["easting"]])
        northing = _floats(table[cols["northing"]])
        bad = ~(np.isfinite(easting) & np.isfinite(northing)) & (reason == None)  # noqa: E711
        reason[bad] = "easting/northing missing or not a number"
        return easting, northing, None, None
    lat = _floats(table[cols.get("lat", cols.get("latitude", ""))])
    lon = _floats(table[cols.get("lon", cols.get("longitude", ""))])
    ok = np.isfinite(lat) & np.isfinite(lon)
    easting[ok], northing[ok] = wgs84_to_bng_many(lat[ok], lon[ok])
    reason[~ok & (reason == None)] = "lat/lon missing or not a number"  # noqa: E711
    reason[ok & ~np.isfinite(easting) & (reason == None)] = (  # noqa: E711
        "lat/lon outside the area British National Grid covers"
    )
    return easting, northing, None, None


def resolve_table(
    table: pd.DataFrame,
    lookup: Lookup,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Resolve every row of ``table``; other columns are kept as they are, rows in order.

    Parameters
    ----------
    table
        Input rows with a ``postcode`` column, or ``easting``/``northing``, or ``lat``/``lon``.
        A row whose every cell is blank is kept, as not resolved with reason ``"empty row"``.
    lookup
        The lookup (resolver and postcode directory) to use.
    progress
        Called as ``progress(done, total)``: ``(0, total)`` first, after each chunk of rows,
        and ``(total, total)`` last.

    Returns
    -------
    BatchResult
        The table with :data:`OUTPUT_COLUMNS` added (an input column of the same name is kept
        as ``<name>_input``) and its summary.
    """
    kind = input_kind(table)
    n = len(table)
    if progress is not None:
        progress(0, n)
    reason = np.full(n, None, dtype=object)
    if n:
        empty = np.logical_and.reduce([_blank(table[c]) for c in table.columns])
        reason[empty] = EMPTY_ROW
    easting, northing, directory_district, postcodes = _locate(table, lookup, kind, reason)

    out: dict[str, np.ndarray] = {name: np.full(n, None, dtype=object) for name in OUTPUT_COLUMNS}
    placed = np.isfinite(easting) & np.isfinite(northing) & (reason == None)  # noqa: E711
    valid = np.flatnonzero(placed)
    done = 0
    for start in range(0, len(valid), CHUNK):
        rows = valid[start : start + CHUNK]
        res = lookup.resolver.resolve(easting[rows], northing[rows], detail=True)
        for name in _RESOLVER_COLUMNS:
            values = res[name].to_numpy(dtype=object)
            values[pd.isna(values)] = None
            out[name][rows] = values
        done += len(rows)
        if progress is not None:
            progress(done, n)

    if directory_district is not None and postcodes is not None:
        _reconcile_with_directory(out, lookup, directory_district, postcodes, placed)
    _name_columns(out, lookup)
    out["boundary_set"][:] = lookup.resolver.boundary_set
    out["distance_to_boundary_m"] = np.array(
        [None if d is None else round(float(d), 1) for d in out["distance_to_boundary_m"]],
        dtype=object,
    )
    out["near_boundary"] = np.array(
        [None if v is None else bool(v) for v in out["near_boundary"]], dtype=object
    )
    outside = OUTSIDE_NEEDS_PACK if lookup.resolver.approximate else OUTSIDE
    for i in np.flatnonzero(placed):
        if out["force_code"][i] is None:
            reason[i] = outside if out["method"][i] == "outside" else NO_FORCE
    out["reason"] = reason
    out["status"] = np.where(reason == None, RESOLVED, NOT_RESOLVED).astype(object)  # noqa: E711
    if progress is not None:
        progress(n, n)

    kept = table.rename(columns={c: f"{c}_input" for c in table.columns if c in OUTPUT_COLUMNS})
    added = pd.DataFrame(out, index=table.index, dtype=object)
    resolved = int((reason == None).sum())  # noqa: E711
    counts = Counter(str(r) for r in reason if r is not None)
    summary = BatchSummary(
        rows=n,
        resolved=resolved,
        not_resolved=n - resolved,
        near_boundary=int(
            sum(v is True and r is None for v, r in zip(out["near_boundary"], reason, strict=True))
        ),
        reasons=dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
    )
    return BatchResult(
        pd.concat([kept, added], axis=1), summary, tuple(str(c) for c in kept.columns)
    )


_RESOLVER_COLUMNS = (
    "force_code",
    "district_code",
    "bcu_code",
    "ward_code",
    "distance_to_boundary_m",
    "nearest_other_force_code",
    "near_boundary",
    "method",
)


def _name_columns(out: dict[str, np.ndarray], lookup: Lookup) -> None:
    """Give every code column its name (codes only ever appear beside names)."""

    def names(codes: np.ndarray, name: Callable[[str], str | None]) -> np.ndarray:
        return np.array([name(str(c)) if c else None for c in codes], dtype=object)

    out["force_name"] = names(out["force_code"], lambda c: forces.force_name(c).name)
    out["district_name"] = names(out["district_code"], lookup.district_name)
    out["bcu_name"] = names(out["bcu_code"], lookup.bcu_name)
    out["ward_name"] = names(out["ward_code"], lookup.ward_name)
    out["nearest_other_force_name"] = names(
        out["nearest_other_force_code"], lambda c: forces.force_name(c).name
    )


def _reconcile_with_directory(
    out: dict[str, np.ndarray],
    lookup: Lookup,
    directory_district: np.ndarray,
    postcodes: np.ndarray,
    placed: np.ndarray,
) -> None:
    """Give postcode rows the directory's official district, as the single lookup does."""
    for i, district in enumerate(directory_district):
        if not placed[i] or not district:
            continue
        district = str(district)
        covered = lookup.covers_district(district)
        if covered and out["district_code"][i] == district:
            continue
        polygon_force = out["force_code"][i]
        force = lookup.force_for_district(district, postcodes[i])
        bcu = lookup.bcu_for_district(district)
        out["district_code"][i] = district
        out["force_code"][i] = force
        out["ward_code"][i] = None
        out["bcu_code"][i] = bcu.code if bcu else None
        if force is None or forces.is_outside_england_and_wales(force) or not covered:
            # No line of this force is loaded: the district alone gives the force.
            out["method"][i] = "by district" if covered is False and force else "directory"
            out["distance_to_boundary_m"][i] = None
            out["nearest_other_force_code"][i] = None
            out["near_boundary"][i] = None if force is None else False
            if force is not None and not covered and polygon_force and polygon_force != force:
                out["near_boundary"][i] = True
                out["distance_to_boundary_m"][i] = 0.0
                out["nearest_other_force_code"][i] = polygon_force
        elif polygon_force != force:
            # The centroid lies across the line from the official answer: uncertain.
            out["near_boundary"][i] = True
            out["distance_to_boundary_m"][i] = 0.0
            out["nearest_other_force_code"][i] = polygon_force
