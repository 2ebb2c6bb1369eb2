"""The boundary-lookup service that the CLI and the pages call.

It joins the stored, active boundary set (a prepared resolver) with the postcode directory, and
keeps both warm in the process: they are the same for every user, so sharing them is safe. Nothing
per-user is cached here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from coordination.core.db import get_engine, require_schema, session_scope
from coordination.core.settings import Settings, get_settings
from coordination.core.tables import read_table, write_table
from coordination.errors import NotFoundError
from coordination.models import BoundarySetPublic
from coordination.reference.boundaries import get_active, get_resolver, list_sets
from geo import batch
from geo.batch import BatchResult
from geo.coords import bng_to_wgs84, wgs84_to_bng
from geo.lookup import Lookup, LookupResult
from geo.postcodes import PostcodeDirectory

# What the pages and the CLI need from geo, re-exported so that the UI imports coordination only.
__all__ = [
    "ATTRIBUTION",
    "BatchResult",
    "LookupResult",
    "LookupService",
    "MapData",
    "ReferenceOverview",
    "attribution",
    "get_service",
    "lookup",
    "lookup_latlon",
    "map_data",
    "postcode_directory",
    "read_table",
    "reference_overview",
    "resolve_table",
    "write_table",
]

ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2025. "
    "Contains National Statistics data © Crown copyright and database right 2025."
)
DIRECTORY_ATTRIBUTION = (
    "Postcodes: ONS Postcode Directory, Office for National Statistics licensed under the Open "
    "Government Licence v.3.0. Contains Royal Mail data © Royal Mail copyright and database "
    "right 2025."
)

_lock = threading.Lock()
_directories: dict[Path, PostcodeDirectory] = {}
_services: dict[tuple[str, str, str], LookupService] = {}


@dataclass(frozen=True)
class LookupService:
    """A ready lookup over the active boundary set."""

    lookup: Lookup
    boundary_set: BoundarySetPublic


def postcode_directory(settings: Settings | None = None) -> PostcodeDirectory:
    """Return the postcode directory, building its fast local form on first use."""
    settings = settings or get_settings()
    with _lock:
        directory = _directories.get(settings.cache_dir)
        if directory is None:
            directory = PostcodeDirectory.load(settings.cache_dir)
            _directories[settings.cache_dir] = directory
        return directory


def get_service(settings: Settings | None = None) -> LookupService:
    """Return the lookup service for the active boundary set.

    The active set is read from the database on every call (a single cheap query) so that
    activating another set takes effect without a restart.

    Raises
    ------
    NotInitialisedError
        The database was never set up (run ``crossforce init``).
    NotFoundError
        No boundary set is active yet (run ``crossforce init``).
    """
    settings = settings or get_settings()
    engine = get_engine(settings.database_url_effective)
    require_schema(engine)
    with session_scope(engine) as session:
        active = get_active(session)
        if active is None:
            raise NotFoundError("No boundary set is active: run `crossforce init`")
        key = (settings.database_url_effective, active.name, active.checksum)
        with _lock:
            service = _services.get(key)
        if service is not None:
            return service
        resolver = get_resolver(session, settings=settings)
    service = LookupService(Lookup(resolver, postcode_directory(settings)), active)
    with _lock:
        _services.clear()
        _services[key] = service
    return service


def lookup(query: str, *, bng: bool = False, settings: Settings | None = None) -> LookupResult:
    """Look up a postcode or coordinates against the active boundary set.

    Parameters
    ----------
    query
        A postcode, ``lat,lon`` or ``easting,northing``.
    bng
        Read two numbers as British National Grid.
    settings
        Settings to use; the environment's by default.
    """
    return get_service(settings).lookup.lookup(query, bng=bng)


def lookup_latlon(lat: float, lon: float, *, settings: Settings | None = None) -> LookupResult:
    """Look up a WGS84 point (a click on the map)."""
    easting, northing = wgs84_to_bng(lat, lon)
    return get_service(settings).lookup.lookup_point(
        easting, northing, query=f"{lat:.6f},{lon:.6f}", kind="latlon"
    )


def resolve_table(
    table: pd.DataFrame,
    *,
    settings: Settings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Resolve every row of an uploaded table; bad rows are reported, never fatal."""
    return batch.resolve_table(table, get_service(settings).lookup, progress=progress)


@dataclass(frozen=True)
class MapData:
    """What a map around one answer shows, in WGS84 (lon, lat) for drawing."""

    lat: float
    lon: float
    force_lines: list[list[tuple[float, float]]]
    district_lines: list[list[tuple[float, float]]]
    ward_lines: list[list[tuple[float, float]]]
    click_cells: list[dict[str, object]]
    attribution: str


class _LocalLonLat:
    """BNG → (lon, lat) over a few kilometres by an affine fit to exact OSTN15 conversions.

    Exact conversion costs tens of microseconds a point; a map needs thousands of vertices. Over
    a box a few kilometres wide the projection is affine to well under a centimetre, so three
    exact conversions define the fit and the rest is arithmetic.
    """

    def __init__(self, easting: float, northing: float, radius_m: float) -> None:
        anchors = [
            (easting, northing),
            (easting + radius_m, northing),
            (easting, northing + radius_m),
        ]
        (lat0, lon0), (lat1, lon1), (lat2, lon2) = (bng_to_wgs84(x, y) for x, y in anchors)
        self.e0, self.n0 = easting, northing
        self.lat0, self.lon0 = lat0, lon0
        self.dlat_de, self.dlon_de = (lat1 - lat0) / radius_m, (lon1 - lon0) / radius_m
        self.dlat_dn, self.dlon_dn = (lat2 - lat0) / radius_m, (lon2 - lon0) / radius_m

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        de, dn = x - self.e0, y - self.n0
        lon = self.lon0 + self.dlon_de * de + self.dlon_dn * dn
        lat = self.lat0 + self.dlat_de * de + self.dlat_dn * dn
        return round(lon, 7), round(lat, 7)

    def lines(self, lines: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        return [[self(x, y) for x, y in line] for line in lines]


def map_data(
    result: LookupResult,
    *,
    radius_m: float = 1500.0,
    click_cell_m: float = 50.0,
    settings: Settings | None = None,
) -> MapData:
    """Return the lines around a lookup answer and a grid of clickable cells.

    The map has no tile server, so a click is read from a pickable grid of ``click_cell_m``
    squares: the picked cell's centre is the clicked point, to within half a cell.
    """
    service = get_service(settings)
    lines = service.lookup.resolver.boundary_lines(result.easting, result.northing, radius_m)
    to_lonlat = _LocalLonLat(result.easting, result.northing, radius_m)
    cells: list[dict[str, object]] = []
    steps = int(radius_m // click_cell_m)
    half = click_cell_m / 2
    for i in range(-steps, steps):
        for j in range(-steps, steps):
            x0 = result.easting + i * click_cell_m
            y0 = result.northing + j * click_cell_m
            x1, y1 = x0 + click_cell_m, y0 + click_cell_m
            lon, lat = to_lonlat(x0 + half, y0 + half)
            cells.append(
                {
                    "polygon": to_lonlat.lines([[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]])[0],
                    "lat": lat,
                    "lon": lon,
                }
            )
    lon, lat = to_lonlat(result.easting, result.northing)
    return MapData(
        lat=lat,
        lon=lon,
        force_lines=to_lonlat.lines(lines.get("force", [])),
        district_lines=to_lonlat.lines(lines.get("district", [])),
        ward_lines=to_lonlat.lines(lines.get("ward", [])),
        click_cells=cells,
        attribution=attribution(service.boundary_set),
    )


def attribution(boundary_set: BoundarySetPublic | None = None) -> str:
    """Return the attribution to show under every map and export."""
    if boundary_set is not None and boundary_set.approximate:
        return DIRECTORY_ATTRIBUTION
    return f"{ATTRIBUTION} {DIRECTORY_ATTRIBUTION}"


@dataclass(frozen=True)
class ReferenceOverview:
    """The boundary sets for the Reference data page."""

    sets: list[BoundarySetPublic]
    active: BoundarySetPublic | None
    attribution: str


def reference_overview(settings: Settings | None = None) -> ReferenceOverview:
    """Return every boundary set, which one is active, and the attribution."""
    settings = settings or get_settings()
    with session_scope(get_engine(settings.database_url_effective)) as session:
        sets = list_sets(session)
        active = get_active(session)
    return ReferenceOverview(sets=sets, active=active, attribution=attribution(active))
