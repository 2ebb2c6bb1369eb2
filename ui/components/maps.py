"""The offline maps: around a lookup answer (and reading a click on it), and a person's moves.

There is no tile server by default, so the lookup map draws only our own lines (force, district,
ward) and the point. Clicks are read from a pickable, nearly transparent grid of small squares
(layer ``click-grid``): deck.gl reports which square was picked, and its centre is the clicked
point. The timeline map joins a person's addresses in time order. Neither fetches anything from
the internet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pydeck as pdk
import streamlit as st

from coordination.reference import lookup as service
from coordination.reference.lookup import LookupResult, MapData, attribution
from geo.coords import bng_to_wgs84
from ui.session import call
from ui.text import md

CLICK_KEY = "clicked_point"
MAP_KEY = "map"
MAP_DATA_KEY = "map_data"
TILE_ZOOM = 15
CLICK_LAYER = "click-grid"

_FORCE_COLOUR = [180, 0, 40, 230]
_DISTRICT_COLOUR = [30, 90, 200, 200]
_WARD_COLOUR = [120, 120, 120, 150]
_POINT_COLOUR = [255, 140, 0, 255]


def _paths(lines: list[list[tuple[float, float]]]) -> list[dict[str, Any]]:
    return [{"path": [list(p) for p in line]} for line in lines if len(line) >= 2]


def _path_layer(
    layer_id: str, lines: list[list[tuple[float, float]]], colour: list[int], width: int
) -> pdk.Layer:
    return pdk.Layer(
        "PathLayer",
        id=layer_id,
        data=_paths(lines),
        get_path="path",
        get_color=colour,
        # Widths in pixels through the min/max clamps: pydeck would turn a string such as
        # width_units="pixels" into a data accessor expression rather than a constant.
        get_width=1,
        width_min_pixels=width,
        width_max_pixels=width,
        pickable=False,
    )


def _tile_x(lon: float, n: int) -> int:
    return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))


def _tile_y(lat: float, n: int) -> int:
    rad = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n
    return min(n - 1, max(0, int(y)))


def _tile_north(y: int, n: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))


def tile_bounds(
    south: float, west: float, north: float, east: float, zoom: int
) -> list[tuple[int, int, list[float]]]:
    """Return the XYZ tiles covering a box, each as ``(x, y, [west, south, east, north])``.

    Parameters
    ----------
    south, west, north, east
        The box in WGS84 degrees.
    zoom
        The tile zoom level.
    """
    n = 2**zoom
    tiles = []
    for x in range(_tile_x(west, n), _tile_x(east, n) + 1):
        for y in range(_tile_y(north, n), _tile_y(south, n) + 1):
            bounds = [
                x / n * 360.0 - 180.0,
                _tile_north(y + 1, n),
                (x + 1) / n * 360.0 - 180.0,
                _tile_north(y, n),
            ]
            tiles.append((x, y, bounds))
    return tiles


def _tile_layers(tile_url: str, data: MapData, zoom: int = TILE_ZOOM) -> list[pdk.Layer]:
    """Background tiles around the answer, one BitmapLayer per tile.

    deck.gl's TileLayer needs a JavaScript ``renderSubLayers`` function to draw raster tiles,
    which pydeck's JSON cannot carry (it would try to read each PNG as GeoJSON). The map only
    covers the area around one answer, so the few tiles it needs are placed as fixed images.
    """
    lons = [p[0] for cell in data.click_cells for p in cell["polygon"]]  # type: ignore[attr-defined]
    lats = [p[1] for cell in data.click_cells for p in cell["polygon"]]  # type: ignore[attr-defined]
    if not lons:
        lons, lats = [data.lon - 0.02, data.lon + 0.02], [data.lat - 0.015, data.lat + 0.015]
    layers = []
    for x, y, bounds in tile_bounds(min(lats), min(lons), max(lats), max(lons), zoom):
        url = tile_url.replace("{z}", str(zoom)).replace("{x}", str(x)).replace("{y}", str(y))
        layers.append(
            pdk.Layer(
                "BitmapLayer", id=f"tile-{zoom}-{x}-{y}", image=url, bounds=bounds, pickable=False
            )
        )
    return layers


def build_deck(data: MapData, *, tile_url: str | None = None, zoom: float = 14.0) -> pdk.Deck:
    """Build the map for one answer.

    Parameters
    ----------
    data
        Lines, click cells and the centre from ``coordination.lookup.map_data``.
    tile_url
        Optional XYZ tile URL (``{z}/{x}/{y}``) drawn underneath (``settings.map_tile_url``);
        ``None`` keeps the map fully offline.
    zoom
        Initial zoom; 14 shows the whole 1.5 km radius on a normal screen.

    Returns
    -------
    pydeck.Deck
        A deck with no base map provider, so nothing is fetched from the internet.
    """
    layers: list[pdk.Layer] = _tile_layers(tile_url, data) if tile_url else []
    layers += [
        pdk.Layer(
            "PolygonLayer",
            id=CLICK_LAYER,
            data=data.click_cells,
            get_polygon="polygon",
            filled=True,
            stroked=False,
            # Almost transparent: invisible to the eye but still drawn, so deck.gl can pick it.
            get_fill_color=[128, 128, 128, 4],
            pickable=True,
            auto_highlight=True,
            highlight_color=[255, 200, 0, 90],
        ),
        _path_layer("ward-lines", data.ward_lines, _WARD_COLOUR, 1),
        _path_layer("district-lines", data.district_lines, _DISTRICT_COLOUR, 2),
        _path_layer("force-lines", data.force_lines, _FORCE_COLOUR, 5),
        pdk.Layer(
            "ScatterplotLayer",
            id="point",
            data=[{"lon": data.lon, "lat": data.lat}],
            get_position="[lon, lat]",
            get_fill_color=_POINT_COLOUR,
            get_line_color=[0, 0, 0, 255],
            stroked=True,
            line_width_min_pixels=2,
            get_radius=1,
            radius_min_pixels=8,
            radius_max_pixels=8,
            pickable=False,
        ),
    ]
    return pdk.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(latitude=data.lat, longitude=data.lon, zoom=zoom),
        # No provider and pydeck's default style sentinel: Streamlit then draws no base map.
        # (``map_style=None`` would make Streamlit fetch a CARTO style from the internet.)
        map_provider=None,
        tooltip={"text": "Click to look up {lat}, {lon}"},
    )


def clicked_point(state: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """Return the (lat, lon) of the click-grid cell selected on the map, if any.

    Parameters
    ----------
    state
        The ``st.pydeck_chart`` state: ``{"selection": {"indices": …, "objects": …}}``.
    """
    if not state:
        return None
    selection = state.get("selection") or {}
    objects = (selection.get("objects") or {}).get(CLICK_LAYER) or []
    if not objects:
        return None
    cell = objects[0]
    try:
        return float(cell["lat"]), float(cell["lon"])
    except (KeyError, TypeError, ValueError):
        return None


def forget_click() -> None:
    """Drop the last map click, so a newly typed query is answered rather than the click."""
    st.session_state.pop(CLICK_KEY, None)


def remember_click() -> None:
    """``on_select`` callback: keep the clicked point in the session so it survives reruns.

    Deselecting (clicking the same cell again) keeps the last point: the answer on screen should
    change only when a new point is clicked or a new query is typed.
    """
    point = clicked_point(st.session_state.get(MAP_KEY))
    if point is not None:
        st.session_state[CLICK_KEY] = point


def show_map(data: MapData, *, tile_url: str | None = None) -> None:
    """Draw the map with click selection and its attribution caption underneath."""
    st.caption("Click anywhere on the map to look up that point.")
    st.pydeck_chart(
        build_deck(data, tile_url=tile_url),
        on_select=remember_click,
        selection_mode="single-object",
        key=MAP_KEY,
        height=480,
    )
    st.caption(md(data.attribution))


def map_for(result: LookupResult) -> MapData | None:
    """Return the map data around an answer, kept per user so a rerun does not rebuild it.

    Parameters
    ----------
    result
        The answer to draw.

    Returns
    -------
    MapData or None
        ``None`` after an error has been shown.
    """
    key = (result.easting, result.northing, result.boundary_set)
    cached = st.session_state.get(MAP_DATA_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    data = call(service.map_data, result)
    if data is not None:
        st.session_state[MAP_DATA_KEY] = (key, data)
    return data


# --- the address timeline map ----------------------------------------------------------------


def timeline_deck(addresses: Sequence[Any]) -> pdk.Deck | None:
    """An offline map of a person's addresses in time order (no base map, nothing fetched).

    Returns ``None`` when no address has a location (e.g. only "address unknown").
    """
    points: list[dict[str, Any]] = []
    for a in sorted(addresses, key=lambda a: (a.valid_from, a.id)):
        if a.easting is None or a.northing is None:
            continue
        lat, lon = bng_to_wgs84(a.easting, a.northing)
        points.append(
            {
                "lat": lat,
                "lon": lon,
                "label": f"{a.postcode or ''} from {a.valid_from.isoformat()}",
                "current": a.valid_to is None,
            }
        )
    if not points:
        return None
    path = [{"path": [[p["lon"], p["lat"]] for p in points]}]
    lats = [p["lat"] for p in points]
    lons = [p["lon"] for p in points]
    span = max(max(lats) - min(lats), (max(lons) - min(lons)) * 0.62, 0.005)
    zoom = max(5.0, min(15.0, math.log2(0.7 / span) + 8))
    layers = [
        pdk.Layer(
            "PathLayer",
            id="moves",
            data=path,
            get_path="path",
            get_color=[30, 90, 200, 200],
            get_width=1,
            width_min_pixels=3,
            width_max_pixels=3,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="addresses",
            data=points,
            get_position="[lon, lat]",
            get_fill_color="current ? [255, 140, 0, 255] : [120, 120, 120, 220]",
            get_line_color=[0, 0, 0, 255],
            stroked=True,
            line_width_min_pixels=1,
            get_radius=1,
            radius_min_pixels=7,
            radius_max_pixels=7,
            pickable=True,
        ),
    ]
    return pdk.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(
            latitude=(max(lats) + min(lats)) / 2, longitude=(max(lons) + min(lons)) / 2, zoom=zoom
        ),
        # No provider: nothing is fetched from the internet (see build_deck).
        map_provider=None,
        # A text template: deck.gl sets it as text, so a postcode is never read as HTML (an
        # ``html`` template would be parsed, with the fields put in first).
        tooltip={"text": "{label}"},
    )


def show_timeline(addresses: Sequence[Any]) -> None:
    """Draw the address timeline map with the attribution caption under it."""
    deck = timeline_deck(addresses)
    if deck is None:
        st.caption("No address with a location to draw.")
        return
    st.pydeck_chart(deck, key="timeline_map", height=360)
    st.caption(
        f"Orange: current address; grey: earlier ones, joined in time order. {md(attribution())}"
    )
