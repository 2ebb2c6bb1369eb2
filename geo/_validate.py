"""Validation of a boundary pack's layers, done once, up front, reporting every problem.

`geo.pack` reads the files of a pack into a `RawPack` of normalised tables (ONS columns renamed to
``code``/``name``/``force_code``/``district_code``) and hands it here before building anything. A
person fixing a pack wants the whole list at once, so nothing here stops at the first fault: each
check appends human lines to a list, and `validate` raises one `PackValidationError` at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import PackValidationError

FORCE_CODE = re.compile(r"^(?:E23|W15)\d{6}$")
DISTRICT_CODE = re.compile(r"^(?:E06|E07|E08|E09|W06)\d{6}$")
WARD_CODE = re.compile(r"^(?:E05|W05)\d{6}$")

_PATTERN_TEXT = {
    FORCE_CODE.pattern: "E23 or W15 and 6 digits",
    DISTRICT_CODE.pattern: "E06, E07, E08, E09 or W06 and 6 digits",
    WARD_CODE.pattern: "E05 or W05 and 6 digits",
}

# How many codes a problem line names before it says "and N more": enough to find the first
# faults, short enough to stay one readable line.
_SHOWN = 5


@dataclass
class RawLayer:
    """One recognised table of a pack, with ONS columns renamed.

    Attributes
    ----------
    label
        Where it came from, for people: ``"file.gpkg:layer"`` or ``"file.csv"``.
    frame
        Normalised columns (see `RawPack`); a GeoDataFrame in EPSG:27700 for geometry layers
        whose CRS was known.
    vintages
        ONS vintage tokens of the code columns used, e.g. ``{"lad": "LAD25", "pfa": "PFA24"}``.
    has_crs
        False for a geometry layer without a coordinate reference system (left unprojected).
    """

    label: str
    frame: pd.DataFrame
    vintages: dict[str, str] = field(default_factory=dict)
    has_crs: bool = True


@dataclass
class RawPack:
    """The recognised layers of a pack, before validation.

    Column contracts of each frame:

    - ``forces``: ``code``, ``name`` (may be missing values), ``geometry``
    - ``districts``: ``code``, ``name``, ``force_code`` (only when the layer had a PFA column),
      ``geometry``
    - ``wards``: ``code``, ``name``, ``district_code``, ``geometry``
    - ``lookup``: ``district_code``, ``force_code``, ``district_name``, ``force_name`` (raw rows,
      duplicates kept so that a district mapped to two forces can be reported)
    - ``force_names``: ``code``, ``name``
    - ``bcus``: ``district_code``, ``bcu_code``, ``bcu_name``
    """

    source: str
    forces: RawLayer | None = None
    districts: RawLayer | None = None
    wards: RawLayer | None = None
    lookup: RawLayer | None = None
    force_names: RawLayer | None = None
    bcus: RawLayer | None = None
    problems: list[str] = field(default_factory=list)


def validate(pack: RawPack) -> None:
    """Check a pack's layers and raise once with every problem found.

    Parameters
    ----------
    pack
        The layers as read, plus any problems met while reading them.

    Raises
    ------
    PackValidationError
        When anything is wrong; ``problems`` holds one human line per fault, each naming the
        file/layer and the codes concerned.
    """
    problems = list(pack.problems)
    problems += check(pack)
    if problems:
        raise PackValidationError(
            f"boundary pack {pack.source} is not fit to use: {problems[0]}", problems=problems
        )


def check(pack: RawPack) -> list[str]:
    """Return every problem in a pack's layers (reading problems excluded)."""
    problems: list[str] = []
    if pack.districts is None:
        problems.append(
            f"{pack.source}: no district layer (a layer with a LADnnCD column and geometry)"
        )
    for layer, pattern, what in (
        (pack.forces, FORCE_CODE, "force"),
        (pack.districts, DISTRICT_CODE, "district"),
        (pack.wards, WARD_CODE, "ward"),
    ):
        if layer is not None:
            problems += _check_geometry(layer)
            problems += _check_codes(layer, "code", pattern, what, unique=True)
    if pack.force_names is not None:
        problems += _check_codes(pack.force_names, "code", FORCE_CODE, "force", unique=True)
    if pack.lookup is not None:
        problems += _check_codes(pack.lookup, "district_code", DISTRICT_CODE, "district")
        problems += _check_codes(pack.lookup, "force_code", FORCE_CODE, "force")
        problems += _check_lookup_conflicts(pack.lookup)
    if pack.districts is not None and "force_code" in pack.districts.frame:
        # A district without a force code is reported once, by _check_district_forces.
        problems += _check_codes(pack.districts, "force_code", FORCE_CODE, "force", required=False)
    if pack.wards is not None:
        # A ward without a district is reported by _check_wards_in_districts.
        problems += _check_codes(
            pack.wards, "district_code", DISTRICT_CODE, "district", required=False
        )
    if pack.bcus is not None:
        problems += _check_codes(pack.bcus, "district_code", DISTRICT_CODE, "district")
        problems += _check_bcus(pack.bcus)
    if pack.districts is not None:
        problems += _check_district_forces(pack, pack.districts)
    problems += _check_wards_in_districts(pack)
    problems += _check_force_sets(pack)
    return problems


def district_forces(districts: RawLayer, lookup: RawLayer | None) -> pd.Series:
    """Return each district's force code (index: district code; missing when unknown).

    The district layer's own PFA column wins; the lookup fills districts without one. Whether the
    two agree is a validation matter, not decided here.

    Parameters
    ----------
    districts
        The pack's district layer.
    lookup
        The pack's district-to-force lookup table, if it has one.

    Returns
    -------
    pandas.Series
        Force codes (``string`` dtype), indexed by district code.
    """
    codes = districts.frame["code"].astype("string")
    result = pd.Series(pd.NA, index=pd.Index(codes, name="code"), dtype="string")
    if "force_code" in districts.frame:
        own = districts.frame["force_code"].astype("string").to_numpy()
        result = pd.Series(own, index=result.index, dtype="string")
    if lookup is not None:
        mapping = _lookup_mapping(lookup.frame)
        filled = result.index.to_series().map(mapping).astype("string")
        result = result.where(_present(result), filled)
    return result


def _lookup_mapping(frame: pd.DataFrame) -> pd.Series:
    """District → force from a lookup, first row kept (conflicts are reported separately)."""
    rows = frame.dropna(subset=["district_code", "force_code"])
    rows = rows.drop_duplicates(subset=["district_code"])
    return pd.Series(
        rows["force_code"].astype("string").to_numpy(),
        index=rows["district_code"].astype("string").to_numpy(),
    )


def _present(values: pd.Series) -> pd.Series:
    """True where a code is present (not missing, not blank)."""
    text = values.astype("string").str.strip()
    return text.notna() & (text != "")


def _codes(codes: Iterable[object], limit: int = _SHOWN) -> str:
    """Name the first few codes, and say how many more there are."""
    items = [str(c) for c in codes]
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# British National Grid covers Great Britain with eastings 0–700 km and northings 0–1,300 km; the
# margin takes in the Channel Islands and the Isles of Scilly, which lie just outside.
_BNG_EXTENT = (-250_000.0, -250_000.0, 900_000.0, 1_400_000.0)
_SMALLEST_EXTENT_M = 1_000.0


def _check_extent(layer: RawLayer, geoms: np.ndarray) -> list[str]:
    """Coordinates that are not British National Grid metres (e.g. degrees labelled BNG)."""
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(present):
        return []
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(present))
    lo_x, lo_y, hi_x, hi_y = _BNG_EXTENT
    if minx < lo_x or miny < lo_y or maxx > hi_x or maxy > hi_y:
        return [
            f"{layer.label}: coordinates run from ({minx:,.0f}, {miny:,.0f}) to "
            f"({maxx:,.0f}, {maxy:,.0f}), outside Great Britain's national grid"
        ]
    if len(present) > 1 and max(maxx - minx, maxy - miny) < _SMALLEST_EXTENT_M:
        return [
            f"{layer.label}: all {len(present):,} areas fit in {max(maxx - minx, maxy - miny):.3g} "
            "units: these look like latitude and longitude labelled as British National Grid "
            "metres (check the file's CRS)"
        ]
    return []


def _check_geometry(layer: RawLayer) -> list[str]:
    frame = layer.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        return [f"{layer.label}: no geometry"]
    if len(frame) == 0:
        return [f"{layer.label}: the layer is empty"]
    problems: list[str] = []
    geoms = np.asarray(frame.geometry.values, dtype=object)
    codes = frame["code"].astype("string").fillna("<no code>").to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        n = int(missing.sum())
        problems.append(
            f"{layer.label}: {_plural(n, 'empty geometry', 'empty geometries')}: "
            f"{_codes(codes[missing])}"
        )
    present = ~missing
    types = shapely.get_type_id(geoms)
    # 3 = Polygon, 6 = MultiPolygon: areas are the only shapes a point can fall inside.
    not_area = present & ~np.isin(types, (3, 6))
    if not_area.any():
        n = int(not_area.sum())
        problems.append(
            f"{layer.label}: {_plural(n, 'geometry is', 'geometries are')} not a polygon: "
            f"{_codes(codes[not_area])}"
        )
    valid = shapely.is_valid(geoms)
    invalid = present & ~valid
    if invalid.any():
        n = int(invalid.sum())
        idx = np.flatnonzero(invalid)
        details = [f"{codes[i]} ({shapely.is_valid_reason(geoms[i])})" for i in idx[:_SHOWN]]
        more = f" and {n - _SHOWN} more" if n > _SHOWN else ""
        problems.append(
            f"{layer.label}: {_plural(n, 'invalid geometry', 'invalid geometries')}: "
            f"{', '.join(details)}{more}"
        )
    problems += _check_extent(layer, geoms)
    return problems


def _check_codes(
    layer: RawLayer,
    column: str,
    pattern: re.Pattern[str],
    what: str,
    *,
    unique: bool = False,
    required: bool = True,
) -> list[str]:
    values = layer.frame[column].astype("string")
    present = _present(values)
    problems: list[str] = []
    blank = int((~present).sum())
    if blank and required:
        problems.append(f"{layer.label}: {_plural(blank, 'row has', 'rows have')} no {what} code")
    codes = values[present].str.strip()
    bad = sorted({c for c in codes if not pattern.match(c)})
    if bad:
        problems.append(
            f"{layer.label}: {_plural(len(bad), what + ' code is', what + ' codes are')} not "
            f"shaped like ONS {what} codes ({_PATTERN_TEXT[pattern.pattern]}): {_codes(bad)}"
        )
    if unique:
        dupes = sorted(set(codes[codes.duplicated()]))
        if dupes:
            problems.append(
                f"{layer.label}: "
                f"{_plural(len(dupes), what + ' code appears', what + ' codes appear')}"
                f" more than once: {_codes(dupes)}"
            )
    return problems


def _check_lookup_conflicts(lookup: RawLayer) -> list[str]:
    rows = lookup.frame.dropna(subset=["district_code", "force_code"])
    per_district = rows.groupby("district_code")["force_code"].nunique()
    conflicted = sorted(per_district[per_district > 1].index)
    if not conflicted:
        return []
    details = [
        f"{code} ({'/'.join(sorted(rows.loc[rows['district_code'] == code, 'force_code']))})"
        for code in conflicted[:_SHOWN]
    ]
    more = f" and {len(conflicted) - _SHOWN} more" if len(conflicted) > _SHOWN else ""
    return [
        f"{lookup.label}: {_plural(len(conflicted), 'district is', 'districts are')} mapped to "
        f"two forces: {', '.join(details)}{more}"
    ]


def _check_bcus(bcus: RawLayer) -> list[str]:
    frame = bcus.frame
    dupes = sorted(set(frame.loc[frame["district_code"].duplicated(), "district_code"].dropna()))
    if not dupes:
        return []
    return [
        f"{bcus.label}: {_plural(len(dupes), 'district is', 'districts are')} in more than one "
        f"BCU: {_codes(dupes)}"
    ]


def _check_district_forces(pack: RawPack, districts: RawLayer) -> list[str]:
    problems: list[str] = []
    label = districts.label
    district_codes = set(districts.frame["code"].dropna().astype(str))
    forces = district_forces(districts, pack.lookup)
    missing = sorted(forces.index[~_present(forces)].dropna())
    if missing:
        where = f" or in {pack.lookup.label}" if pack.lookup is not None else ""
        problems.append(
            f"{label}: {_plural(len(missing), 'district has', 'districts have')} no force code "
            f"in the layer{where}: {_codes(missing)}"
        )
    if pack.lookup is not None:
        mapping = _lookup_mapping(pack.lookup.frame)
        if "force_code" in districts.frame:
            frame = districts.frame
            own = {
                str(c): str(f)
                for c, f in zip(frame["code"], frame["force_code"], strict=True)
                if pd.notna(c) and pd.notna(f)
            }
            theirs = {str(c): str(f) for c, f in mapping.items()}
            disagree = sorted(c for c, f in own.items() if c in theirs and theirs[c] != f)
            if disagree:
                details = [f"{c} ({own[c]} vs {theirs[c]})" for c in disagree[:_SHOWN]]
                more = f" and {len(disagree) - _SHOWN} more" if len(disagree) > _SHOWN else ""
                problems.append(
                    f"{label} and {pack.lookup.label} disagree on the force of "
                    f"{_plural(len(disagree), 'district', 'districts')}: "
                    f"{', '.join(details)}{more}"
                )
        extra = sorted(set(mapping.index) - district_codes)
        if extra:
            problems.append(
                f"{pack.lookup.label}: {_plural(len(extra), 'district is', 'districts are')} not "
                f"in {label}: {_codes(extra)}"
            )
    if pack.bcus is not None:
        unknown = sorted(set(pack.bcus.frame["district_code"].dropna()) - district_codes)
        if unknown:
            problems.append(
                f"{pack.bcus.label}: {_plural(len(unknown), 'district is', 'districts are')} not "
                f"in {label}: {_codes(unknown)}"
            )
    return problems


def _check_wards_in_districts(pack: RawPack) -> list[str]:
    if pack.wards is None or pack.districts is None:
        return []
    frame = pack.wards.frame
    known = set(pack.districts.frame["code"].dropna().astype(str))
    has = _present(frame["district_code"])
    unplaced = sorted(frame.loc[~has, "code"].dropna().astype(str))
    problems: list[str] = []
    if unplaced:
        problems.append(
            f"{pack.wards.label}: {_plural(len(unplaced), 'ward lies', 'wards lie')} in no "
            f"district: {_codes(unplaced)}"
        )
    placed = frame.loc[has]
    orphans = placed[~placed["district_code"].astype(str).isin(known)]
    if len(orphans):
        shown = orphans.iloc[:_SHOWN]
        details = [f"{w} ({d})" for w, d in zip(shown["code"], shown["district_code"], strict=True)]
        more = f" and {len(orphans) - _SHOWN} more" if len(orphans) > _SHOWN else ""
        problems.append(
            f"{pack.wards.label}: "
            f"{_plural(len(orphans), 'ward names a district', 'wards name districts')} not in "
            f"{pack.districts.label}: {', '.join(details)}{more}"
        )
    return problems


def _check_force_sets(pack: RawPack) -> list[str]:
    """Forces named by districts, force polygons and the force names table must be one set."""
    if pack.districts is None:
        return []
    forces = district_forces(pack.districts, pack.lookup)
    named = set(forces[_present(forces)].astype(str))
    problems: list[str] = []
    for layer in (pack.forces, pack.force_names):
        if layer is None:
            continue
        listed = set(layer.frame["code"].dropna().astype(str))
        unknown = sorted(named - listed)
        if unknown:
            problems.append(
                f"{pack.districts.label}: districts name "
                f"{_plural(len(unknown), 'force', 'forces')} not in {layer.label}: "
                f"{_codes(unknown)}"
            )
        if layer is pack.forces:
            spare = sorted(listed - named)
            if spare:
                problems.append(
                    f"{layer.label}: {len(listed)} force areas but districts name "
                    f"{len(named)} forces; areas with no district: {_codes(spare)}"
                )
    if pack.forces is not None and pack.force_names is not None:
        a = set(pack.forces.frame["code"].dropna().astype(str))
        b = set(pack.force_names.frame["code"].dropna().astype(str))
        only = sorted(b - a)
        if only:
            problems.append(
                f"{pack.force_names.label}: {_plural(len(only), 'force is', 'forces are')} not in "
                f"{pack.forces.label}: {_codes(only)}"
            )
    return problems


def first_codes(codes: Sequence[str]) -> str:
    """Name the first few codes of a list (for messages built outside this module)."""
    return _codes(codes)
