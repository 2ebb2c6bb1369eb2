"""The boundary-lookup service that the CLI and the pages call.

It joins the stored, active boundary set (a prepared resolver) with the postcode directory, and
keeps both warm in the process: they are the same for every user, so sharing them is safe. Nothing
per-user is cached here.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import shapely

from coordination.core.db import get_engine, require_schema, session_scope
from coordination.core.settings import Settings, get_settings
from coordination.core.tables import read_table, write_table
from coordination.errors import NotFoundError
from coordination.models import BoundarySetPublic
from coordination.reference.boundaries import get_active, get_resolver, list_sets
from geo import batch
from geo.batch import BatchResult
from geo.coords import bng_to_wgs84, wgs84_to_bng
from geo.forces import CITY_OF_LONDON
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
    "map_around",
    "map_data",
    "postcode_directory",
    "read_table",
    "reference_overview",
    "resolve_table",
    "start_map",
    "timeline_map",
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
    """Resolve every row of an uploaded table, in order; bad rows are reported, never fatal.

    Every row read comes back (a blank one as not resolved, reason ``"empty row"``), and the
    summary's counts add up: rows = resolved + not resolved, the latter by reason. See
    :func:`geo.batch.resolve_table`.

    Parameters
    ----------
    table
        The rows as read by ``read_table``.
    settings
        Settings to use; the environment's by default.
    progress
        Called as ``progress(done, total)`` while the rows are looked up.
    """
    return batch.resolve_table(table, get_service(settings).lookup, progress=progress)


@dataclass(frozen=True)
class MapData:
    """What a drawn map shows, in WGS84 (lon, lat) for drawing.

    ``lat``/``lon`` is the centre of the map (for a single answer, the answer's point). The
    areas and labels come from the loaded boundary set; nothing here is fetched from outside.
    """

    lat: float
    lon: float
    force_lines: list[list[tuple[float, float]]]
    district_lines: list[list[tuple[float, float]]]
    ward_lines: list[list[tuple[float, float]]]
    click_cells: list[dict[str, object]]
    attribution: str
    #: Filled areas: ``{"polygon": rings, "kind": "force", "code", "name", "city": bool}``.
    areas: list[dict[str, object]] = field(default_factory=list)
    #: Names to draw: ``{"lon", "lat", "text", "kind"}`` (kind ``force``, ``district``, ``ward``).
    labels: list[dict[str, object]] = field(default_factory=list)
    #: The share of the box that no force area covers (water the set leaves out, or beyond it).
    uncovered: float = 0.0
    #: Half the side of a click cell in degrees ``(lon, lat)``; each is drawn around its centre.
    cell_half: tuple[float, float] = (0.0, 0.0)
    #: A zoom that shows the whole box on a map about 500 pixels across.
    zoom: float = 14.0
    #: The map's centre in British National Grid metres: what the map is drawn around.
    easting: float | None = None
    northing: float | None = None


class _LocalLonLat:
    """BNG → (lon, lat) over a few kilometres by an affine fit to exact OSTN15 conversions.

    Exact conversion costs tens of microseconds a point; a map needs thousands of vertices. Over
    a box a few kilometres wide the projection is affine to well under a centimetre, so three
    exact conversions define the fit and the rest is arithmetic. Boxes wider than
    ``EXACT_ABOVE_M`` (a person's moves across the country) convert every vertex exactly.
    """

    EXACT_ABOVE_M = 20_000.0

    def __init__(self, easting: float, northing: float, radius_m: float) -> None:
        self.exact = radius_m > self.EXACT_ABOVE_M
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
        if self.exact:
            lat, lon = bng_to_wgs84(x, y)
            return round(lon, 6), round(lat, 6)
        de, dn = x - self.e0, y - self.n0
        lon = self.lon0 + self.dlon_de * de + self.dlon_dn * dn
        lat = self.lat0 + self.dlat_de * de + self.dlat_dn * dn
        return round(lon, 6), round(lat, 6)

    def lines(self, lines: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        return [[self(x, y) for x, y in line] for line in lines]


#: Metres on the ground per degree of latitude (and of longitude at the equator), near enough
#: for sizing click squares.
_METRES_PER_DEGREE = 111_250.0


def _zoom_for(radius_m: float, lat: float, pixels: float = 520.0) -> float:
    """The web-map zoom at which a box ``2 * radius_m`` wide fills about ``pixels``."""
    metres_per_pixel = 2 * radius_m / pixels
    # deck.gl's zoom counts 512-pixel tiles: zoom 0 is 78 km a pixel at the equator.
    return round(math.log2(78_271.52 * math.cos(math.radians(lat)) / metres_per_pixel), 2)


def _click_cells(
    to_lonlat: _LocalLonLat, box: tuple[float, float, float, float], cell_m: float
) -> tuple[list[dict[str, object]], tuple[float, float]]:
    """Centres of squares about ``cell_m`` a side on a longitude/latitude grid over a box.

    Only the centres are sent: the page draws each square from its centre and the half-sides
    returned with them, which keeps the map's JSON small.
    """
    x0, y0, x1, y1 = box
    corners = [to_lonlat(x, y) for x in (x0, x1) for y in (y0, y1)]
    west, east = min(c[0] for c in corners), max(c[0] for c in corners)
    south, north = min(c[1] for c in corners), max(c[1] for c in corners)
    mid = math.radians((south + north) / 2)
    dlat = cell_m / _METRES_PER_DEGREE
    dlon = cell_m / (_METRES_PER_DEGREE * math.cos(mid))
    cells: list[dict[str, object]] = []
    for i in range(int((east - west) / dlon)):
        for j in range(int((north - south) / dlat)):
            cells.append(
                {
                    "lon": round(west + (i + 0.5) * dlon, 6),
                    "lat": round(south + (j + 0.5) * dlat, 6),
                }
            )
    return cells, (round(dlon / 2, 7), round(dlat / 2, 7))


def map_around(
    easting: float,
    northing: float,
    *,
    radius_m: float = 2500.0,
    click_cell_m: float | None = 70.0,
    settings: Settings | None = None,
) -> MapData:
    """Return a map of the active boundary set in a square box around a point.

    The lines, the areas (the City of London's marked for shading) and their names as labels,
    and, for a clickable map, a grid of squares about ``click_cell_m`` a side: the map has no
    tile server, so a click is read from the picked cell, whose centre is the clicked point to
    within half a cell. Wide boxes (a person's moves across the country) leave out wards, then
    districts, and simplify what is left, so the map stays small.

    Parameters
    ----------
    easting, northing
        The centre (British National Grid metres).
    radius_m
        Half the side of the box.
    click_cell_m
        Side of the click grid's squares; ``None`` draws no grid.
    settings
        Settings to use; the environment's by default.
    """
    resolver = get_service(settings).lookup.resolver
    active = get_service(settings).boundary_set
    to_lonlat = _LocalLonLat(easting, northing, radius_m)
    tolerance = 0.0 if radius_m <= 5_000 else radius_m / 800
    lines = resolver.boundary_lines(easting, northing, radius_m)
    kinds = ["force", "district", "ward"]
    if radius_m > 40_000:
        kinds = ["force"]
    elif radius_m > 6_000:
        kinds = ["force", "district"]
    found = resolver.map_areas(easting, northing, radius_m, tolerance=tolerance, kinds=kinds)
    areas: list[dict[str, object]] = []
    labels: list[dict[str, object]] = []
    district_force = dict(
        zip(
            resolver.district_codes,
            (resolver.force_codes[f] for f in resolver.district_force.tolist()),
            strict=True,
        )
    )
    # A force's name goes just above the name of its largest district in the box, so the two
    # never sit on top of each other (the City's force and district share a shape).
    biggest: dict[str, tuple[float, tuple[float, float]]] = {}
    for code, _, parts, label in found.get("district", []):
        force = district_force.get(code)
        size = sum(shapely.Polygon(rings[0], rings[1:]).area for rings in parts)
        if force is not None and size > biggest.get(force, (0.0, label))[0]:
            biggest[force] = (size, label)
    for kind in kinds:
        for code, name, parts, label in found.get(kind, []):
            if kind == "force":
                areas += [
                    {
                        "polygon": to_lonlat.lines(rings),
                        "kind": kind,
                        "code": code,
                        "name": name,
                        "city": code == CITY_OF_LONDON,
                    }
                    for rings in parts
                ]
            stacked = kind == "force" and code in biggest and "district" in kinds
            lon, lat = to_lonlat(*(biggest[code][1] if stacked else label))
            labels.append(
                {
                    "lon": lon,
                    "lat": lat,
                    "text": name,
                    "kind": kind,
                    "code": code,
                    "stacked": stacked,
                }
            )
    box = shapely.box(
        easting - radius_m, northing - radius_m, easting + radius_m, northing + radius_m
    )
    covered = shapely.union_all(
        [
            shapely.Polygon(rings[0], rings[1:])
            for _, _, parts, _ in found["force"]
            for rings in parts
        ]
    )
    uncovered = max(0.0, 1.0 - float(covered.area) / box.area)

    def drawn(key: str) -> list[list[tuple[float, float]]]:
        if key not in kinds:
            return []
        kept = lines.get(key, [])
        if tolerance > 0:
            kept = [
                [
                    (float(x), float(y))
                    for x, y in shapely.simplify(shapely.LineString(line), tolerance).coords
                ]
                for line in kept
                if len(line) >= 2
            ]
        return to_lonlat.lines(kept)

    lon, lat = to_lonlat(easting, northing)
    box_bng = (easting - radius_m, northing - radius_m, easting + radius_m, northing + radius_m)
    cells, half = _click_cells(to_lonlat, box_bng, click_cell_m) if click_cell_m else ([], (0, 0))
    return MapData(
        lat=lat,
        lon=lon,
        force_lines=drawn("force"),
        district_lines=drawn("district"),
        ward_lines=drawn("ward"),
        click_cells=cells,
        attribution=attribution(active),
        cell_half=half,
        areas=areas,
        labels=labels,
        uncovered=round(uncovered, 4),
        zoom=_zoom_for(radius_m, lat),
        easting=easting,
        northing=northing,
    )


def map_data(
    result: LookupResult,
    *,
    radius_m: float = 2500.0,
    click_cell_m: float = 70.0,
    settings: Settings | None = None,
) -> MapData:
    """Return the clickable map around a lookup answer (see :func:`map_around`)."""
    return map_around(
        result.easting,
        result.northing,
        radius_m=radius_m,
        click_cell_m=click_cell_m,
        settings=settings,
    )


def start_map(
    *, radius_m: float = 2500.0, click_cell_m: float = 70.0, settings: Settings | None = None
) -> MapData:
    """Return the clickable map shown before any query: the City of London and its neighbours.

    Centred on the middle of the City's force area; a set without the City is drawn around the
    middle of all its areas.
    """
    resolver = get_service(settings).lookup.resolver
    codes = resolver.force_codes
    if CITY_OF_LONDON in codes:
        x0, y0, x1, y1 = shapely.bounds(resolver.force_geoms[codes.index(CITY_OF_LONDON)])
    else:
        x0, y0, x1, y1 = shapely.total_bounds(resolver.force_geoms)
    return map_around(
        (x0 + x1) / 2,
        (y0 + y1) / 2,
        radius_m=radius_m,
        click_cell_m=click_cell_m,
        settings=settings,
    )


def timeline_map(
    points: list[tuple[float, float]], *, settings: Settings | None = None
) -> MapData | None:
    """Return the boundaries around a person's addresses (no click grid), or ``None`` if none.

    Parameters
    ----------
    points
        ``(easting, northing)`` of each address with a location.
    """
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    radius = max(max(xs) - min(xs), max(ys) - min(ys)) / 2 * 1.3 + 800.0
    return map_around(
        (max(xs) + min(xs)) / 2,
        (max(ys) + min(ys)) / 2,
        radius_m=radius,
        click_cell_m=None,
        settings=settings,
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
