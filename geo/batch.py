"""Resolve a whole table of postcodes or coordinates, keeping every row.

A bad row never stops the batch: it gets ``status = "error"`` and a one-line ``error``, and the
rest resolve. Reading and writing files (and keeping them formula-safe) is not geography: that is
``coordination.core.tables``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo import forces
from geo.coords import wgs84_to_bng_many
from geo.errors import InputError
from geo.lookup import Lookup

CHUNK = 20_000
OUTPUT_COLUMNS = [
    "force_code",
    "force_name",
    "district_code",
    "district_name",
    "bcu_code",
    "ward_code",
    "distance_to_boundary_m",
    "nearest_other_force_code",
    "near_boundary",
    "method",
    "boundary_set",
    "status",
    "error",
]
_ERRORS = {
    "malformed": "not a UK postcode",
    "unknown": "postcode not in the postcode directory",
    "no_coordinates": "postcode has no location in the postcode directory",
}


@dataclass(frozen=True)
class BatchSummary:
    """Counts for the closing line of a batch."""

    rows: int
    resolved: int
    near_boundary: int
    errors: int

    def __str__(self) -> str:
        return (
            f"{self.rows} rows: {self.resolved} resolved, {self.near_boundary} near a boundary, "
            f"{self.errors} errors"
        )


@dataclass(frozen=True)
class BatchResult:
    """The input table with the resolution columns added, and its summary."""

    table: pd.DataFrame
    summary: BatchSummary


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


def resolve_table(
    table: pd.DataFrame,
    lookup: Lookup,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Resolve every row of ``table``; other columns are kept as they are.

    Parameters
    ----------
    table
        Input rows with a ``postcode`` column, or ``easting``/``northing``, or ``lat``/``lon``.
    lookup
        The lookup (resolver and postcode directory) to use.
    progress
        Called as ``progress(done, total)`` after each chunk of rows.

    Returns
    -------
    BatchResult
    """
    kind = input_kind(table)
    cols = _columns(table)
    n = len(table)
    easting = np.full(n, np.nan)
    northing = np.full(n, np.nan)
    error = np.full(n, None, dtype=object)
    directory_district = np.full(n, None, dtype=object)
    postcodes = None
    if kind == "postcode":
        if lookup.directory is None:
            raise InputError("Postcode lookup is unavailable: the postcode directory is not loaded")
        found = lookup.directory.get_many(table[cols["postcode"]].astype(str).tolist())
        easting = found["easting"].to_numpy(dtype=float)
        northing = found["northing"].to_numpy(dtype=float)
        directory_district = found["district_code"].to_numpy(dtype=object)
        postcodes = found["postcode"].to_numpy(dtype=object)
        for i, code in enumerate(found["error"].to_numpy(dtype=object)):
            if code is not None:
                error[i] = _ERRORS.get(str(code), str(code))
    elif kind == "bng":
        easting = _floats(table[cols["easting"]])
        northing = _floats(table[cols["northing"]])
        bad = ~(np.isfinite(easting) & np.isfinite(northing))
        error[bad] = "easting/northing missing or not a number"
    else:
        lat = _floats(table[cols.get("lat", cols.get("latitude", ""))])
        lon = _floats(table[cols.get("lon", cols.get("longitude", ""))])
        ok = np.isfinite(lat) & np.isfinite(lon)
        easting[ok], northing[ok] = wgs84_to_bng_many(lat[ok], lon[ok])
        error[~ok] = "lat/lon missing or not a number"
        error[ok & ~np.isfinite(easting)] = "lat/lon outside the area British National Grid covers"

    out: dict[str, np.ndarray] = {name: np.full(n, None, dtype=object) for name in OUTPUT_COLUMNS}
    valid = np.flatnonzero(np.isfinite(easting) & np.isfinite(northing) & (error == None))  # noqa: E711
    done = 0
    if progress is not None:
        progress(0, n)
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
    if progress is not None and done < n:
        progress(n, n)

    if postcodes is not None:
        _reconcile_with_directory(out, lookup, directory_district, postcodes)
    out["force_name"] = np.array(
        [forces.force_name(c).name if c else None for c in out["force_code"]], dtype=object
    )
    out["district_name"] = np.array(
        [lookup.district_name(c) if c else None for c in out["district_code"]], dtype=object
    )
    out["boundary_set"][:] = lookup.resolver.boundary_set
    out["distance_to_boundary_m"] = np.array(
        [None if d is None else round(float(d), 1) for d in out["distance_to_boundary_m"]],
        dtype=object,
    )
    out["near_boundary"] = np.array(
        [None if v is None else bool(v) for v in out["near_boundary"]], dtype=object
    )
    out["error"] = error
    status = np.where(error != None, "error", "resolved").astype(object)  # noqa: E711
    status[(status == "resolved") & (out["method"] == "outside")] = "outside"
    status[(status == "resolved") & (out["force_code"] == None)] = "needs national pack"  # noqa: E711
    out["status"] = status

    kept = table.rename(columns={c: f"{c}_input" for c in table.columns if c in OUTPUT_COLUMNS})
    added = pd.DataFrame(out, index=table.index, dtype=object)
    summary = BatchSummary(
        rows=n,
        resolved=int((status == "resolved").sum()),
        near_boundary=int(sum(v is True for v in out["near_boundary"])),
        errors=int((status == "error").sum()),
    )
    return BatchResult(pd.concat([kept, added], axis=1), summary)


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


def _reconcile_with_directory(
    out: dict[str, np.ndarray],
    lookup: Lookup,
    directory_district: np.ndarray,
    postcodes: np.ndarray,
) -> None:
    """Give postcode rows the directory's official district, as the single lookup does."""
    for i, district in enumerate(directory_district):
        if not district or out["district_code"][i] == district:
            continue
        polygon_force = out["force_code"][i]
        force = lookup.force_for_district(str(district), postcodes[i])
        bcu = lookup.bcu_for_district(str(district))
        out["district_code"][i] = district
        out["force_code"][i] = force
        out["ward_code"][i] = None
        out["bcu_code"][i] = bcu.code if bcu else None
        if force is None or forces.is_outside_england_and_wales(force):
            out["method"][i] = "directory"
            out["distance_to_boundary_m"][i] = None
            out["nearest_other_force_code"][i] = None
            out["near_boundary"][i] = None if force is None else False
        elif polygon_force != force:
            # The centroid lies across the line from the official answer: uncertain.
            out["near_boundary"][i] = True
            out["distance_to_boundary_m"][i] = 0.0
            out["nearest_other_force_code"][i] = polygon_force
