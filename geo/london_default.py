"""The approximate London boundary set, built from the postcode directory alone.

With no reference pack, crossforce still knows where London's 33 districts are: every postcode in
the directory carries its district, so the Voronoi cells of postcode centroids, dissolved by
district, approximate the districts well wherever postcodes are dense (all of London). Postcodes
from a margin of about 8 km around Greater London are included so that London's outer edge is
decided by the neighbours' postcodes too, then only the London districts (E09) are kept. Forces
follow by law: the City of London (E09000001) is its own force, the other 32 boroughs are the
Metropolitan Police District.

The result is flagged ``approximate``: the resolver gives no nearest-area fallback outside it and
treats its outer edge as a boundary with an unknown force.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import ReferenceDataError
from geo.forces import (
    CITY_OF_LONDON,
    LONDON_DISTRICTS,
    MET_BCUS,
    force_for_district_by_law,
    force_name,
)
from geo.layers import BNG, BoundaryLayers

if TYPE_CHECKING:
    from geo.postcodes import PostcodeDirectory

__all__ = ["LONDON_BOX", "build_london_default"]

# Greater London's extent in British National Grid metres, rounded outwards.
LONDON_BOX = (503_000.0, 155_000.0, 563_000.0, 201_000.0)
_MARGIN_M = 8_000.0
# No simplification: the dissolved districts have about 22,000 vertices in all, and a 5 m
# coverage simplification removes only 9 % of them while moving lines; not worth it.

COVERAGE_NOTE = (
    "Approximate London boundaries built from postcode locations. Outside London the force "
    "needs the national boundary pack: run `crossforce data fetch` or set "
    "CROSSFORCE_REFERENCE_DIR."
)


def build_london_default(
    directory: PostcodeDirectory,
    *,
    progress: Callable[[str], None] | None = None,
) -> BoundaryLayers:
    """Build the approximate London districts and forces from postcode centroids.

    Parameters
    ----------
    directory
        The postcode directory (``points_in_box`` and ``version`` are used).
    progress
        Called with short messages while building.

    Returns
    -------
    BoundaryLayers
        33 districts, the City and Met force areas, Met BCUs, no wards; ``approximate=True``.

    Raises
    ------
    ReferenceDataError
        If the directory has no postcodes for some London district.
    """
    started = time.perf_counter()

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    say("selecting postcodes in and around London…")
    xmin, ymin, xmax, ymax = LONDON_BOX
    east, north, codes = directory.points_in_box(
        xmin - _MARGIN_M, ymin - _MARGIN_M, xmax + _MARGIN_M, ymax + _MARGIN_M
    )
    x, y, district = _deduplicate(
        np.asarray(east, dtype=np.float64),
        np.asarray(north, dtype=np.float64),
        np.asarray(codes).astype(str),
    )
    missing = sorted(set(LONDON_DISTRICTS) - set(district.tolist()))
    if missing:
        raise ReferenceDataError(
            f"The postcode directory has no postcodes for {len(missing)} London districts",
            [f"no postcodes for {c} {LONDON_DISTRICTS[c]}" for c in missing],
        )

    say(f"dividing London among {len(x):,} postcode points…")
    points = shapely.multipoints(np.column_stack([x, y]))
    extent = shapely.box(
        xmin - 2 * _MARGIN_M, ymin - 2 * _MARGIN_M, xmax + 2 * _MARGIN_M, ymax + 2 * _MARGIN_M
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=extent, ordered=True))
    if len(cells) != len(x):
        raise ReferenceDataError("Could not divide London among postcode points")

    say("joining cells into districts…")
    london_codes = sorted(LONDON_DISTRICTS)
    merged = []
    for code in london_codes:
        merged.append(shapely.coverage_union_all(cells[district == code]))
    geoms = np.asarray(shapely.make_valid(np.asarray(merged, dtype=object)), dtype=object)

    force_codes = [force_for_district_by_law(c) or "" for c in london_codes]
    districts = gpd.GeoDataFrame(
        {
            "code": london_codes,
            "name": [LONDON_DISTRICTS[c] for c in london_codes],
            "force_code": force_codes,
        },
        geometry=geoms,
        crs=BNG,
    )
    forces_rows = []
    for fcode in sorted(set(force_codes)):
        members = geoms[np.array(force_codes) == fcode]
        forces_rows.append(
            {
                "code": fcode,
                "ons_name": force_name(fcode).ons_name,
                "geometry": shapely.coverage_union_all(members),
            }
        )
    forces = gpd.GeoDataFrame(forces_rows, geometry="geometry", crs=BNG)
    bcus = pd.DataFrame(
        [
            {"district_code": d, "bcu_code": code, "bcu_name": name}
            for d, (code, name) in sorted(MET_BCUS.items())
        ],
        columns=["district_code", "bcu_code", "bcu_name"],
    )
    if CITY_OF_LONDON not in set(force_codes):
        raise ReferenceDataError("The London default has no City of London district")
    say(f"London default built in {time.perf_counter() - started:.1f} s")
    return BoundaryLayers(
        name=f"london-approx-{directory.version}",
        source="postcode directory (Voronoi of postcode centroids)",
        vintage=f"ONSPD {directory.version}",
        districts=districts,
        forces=forces,
        wards=None,
        bcus=bcus,
        approximate=True,
        coverage_note=COVERAGE_NOTE,
    )


def _deduplicate(
    x: np.ndarray, y: np.ndarray, district: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One entry per distinct point, with the district most postcodes there have.

    Ties go to the lowest district code, so the result does not depend on directory order.
    """
    codes, dcode = np.unique(district, return_inverse=True)
    xy = np.column_stack([x, y])
    order = np.lexsort((dcode, xy[:, 1], xy[:, 0]))
    xs, ys, ds = xy[order, 0], xy[order, 1], dcode[order]
    # Runs of identical (x, y, district), then the longest run per point.
    new_triple = np.r_[True, (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1]) | (ds[1:] != ds[:-1])]
    starts = np.flatnonzero(new_triple)
    counts = np.diff(np.r_[starts, len(xs)])
    tx, ty, td = xs[starts], ys[starts], ds[starts]
    new_point = np.r_[True, (tx[1:] != tx[:-1]) | (ty[1:] != ty[:-1])]
    point_id = np.cumsum(new_point) - 1
    # Within a point, prefer the largest count, then the lowest code (td ascending already).
    pick = np.lexsort((td, -counts, point_id))
    first = np.r_[True, point_id[pick][1:] != point_id[pick][:-1]]
    chosen = pick[first]
    return tx[chosen], ty[chosen], codes[td[chosen]]
