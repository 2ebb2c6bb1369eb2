"""The offline maps: the Boundary lookup map (read a click on it) and a person's moves.

There is no tile server by default, so the maps draw only the loaded boundary set: the force,
district and ward lines, the force areas (the City of London's shaded), and the areas' names as
labels, with a legend in the page. Clicks are read from a pickable, nearly transparent grid of
small squares (layer ``click-grid``): deck.gl reports which square was picked, and its centre is
the clicked point. The answer is marked in layers of its own, rebuilt each run, so the mark
follows the answer. The timeline map numbers a person's addresses in time order over the same
boundaries. Neither fetches anything from the internet.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pydeck as pdk
import streamlit as st

from coordination.errors import CrossforceError
from coordination.reference import lookup as service
from coordination.reference.lookup import LookupResult, MapData, attribution
from geo.coords import bng_to_wgs84
from ui.session import call
from ui.text import md

CLICK_KEY = "clicked_point"
MAP_KEY = "map"
MAP_DATA_KEY = "map_data"
#: How many clicks the map has read: part of the chart's key (see :func:`chart_key`).
CLICKS_KEY = "map_clicks"
#: What the lookup map is drawn around: ``None`` (the City, before any query) or a point.
ANCHOR_KEY = "map_anchor"
TIMELINE_KEY = "timeline_map_data"
TILE_ZOOM = 15
log = logging.getLogger(__name__)
CLICK_LAYER = "click-grid"

# The colours match Streamlit's named markdown colours, so the legend's swatches are the lines'.
_FORCE_COLOUR = [220, 30, 50, 235]
_DISTRICT_COLOUR = [28, 110, 220, 220]
_WARD_COLOUR = [128, 132, 149, 170]
_POINT_COLOUR = [255, 140, 0, 255]
_CITY_FILL = [220, 30, 50, 60]
_AREA_FILL = [235, 235, 240, 110]
_LABEL_COLOURS = {
    "force": [150, 0, 25, 255],
    "district": [10, 60, 150, 255],
    "ward": [90, 94, 110, 255],
}
_LABEL_SIZES = {"force": 15, "district": 14}
#: Ward names are sized in metres: too small to read until the map is zoomed in on them.
_WARD_LABEL_M = 28
_STACK_OFFSET_PX = -17


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
    corners: list[Any] = []
    for cell in data.click_cells:
        given: Any = cell.get("polygon")
        corners += given or cell_square(data, float(cell["lat"]), float(cell["lon"]))  # type: ignore[arg-type]
    lons = [p[0] for p in corners]
    lats = [p[1] for p in corners]
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


def _area_layers(data: MapData) -> list[pdk.Layer]:
    """The force areas, lightly filled, and the City of London's shaded over them."""
    if not data.areas:
        return []
    others = [a for a in data.areas if not a.get("city")]
    city = [a for a in data.areas if a.get("city")]
    layers = []
    for layer_id, rows, colour in (("areas", others, _AREA_FILL), ("city-area", city, _CITY_FILL)):
        if rows:
            layers.append(
                pdk.Layer(
                    "PolygonLayer",
                    id=layer_id,
                    data=rows,
                    get_polygon="polygon",
                    filled=True,
                    stroked=False,
                    get_fill_color=colour,
                    pickable=False,
                )
            )
    return layers


def _label_layers(labels: Sequence[Mapping[str, Any]]) -> list[pdk.Layer]:
    """The areas' names: forces and districts in screen pixels, wards in metres."""
    named = [
        {
            **label,
            "color": _LABEL_COLOURS.get(str(label["kind"]), _LABEL_COLOURS["ward"]),
            "size": _LABEL_SIZES.get(str(label["kind"]), 12),
            "offset": [0, _STACK_OFFSET_PX if label.get("stacked") else 0],
        }
        for label in labels
    ]
    big = [label for label in named if label["kind"] != "ward"]
    wards = [label for label in named if label["kind"] == "ward"]
    common: dict[str, Any] = {
        "get_position": "[lon, lat]",
        "get_text": "text",
        "get_color": "color",
        # Any name the pack holds (Welsh names have accents), not only ASCII.
        "character_set": "'auto'",
        "font_family": "'Helvetica, Arial, sans-serif'",
        "background": True,
        "get_background_color": [255, 255, 255, 190],
        "background_padding": [3, 1],
        "pickable": False,
    }
    layers = []
    if wards:
        layers.append(
            pdk.Layer(
                "TextLayer",
                id="ward-labels",
                data=wards,
                get_size=_WARD_LABEL_M,
                size_units="'meters'",
                size_max_pixels=13,
                **{**common, "background": False},
            )
        )
    if big:
        layers.append(
            pdk.Layer(
                "TextLayer",
                id="labels",
                data=big,
                get_size="size",
                get_pixel_offset="offset",
                font_weight="'bold'",
                **common,
            )
        )
    return layers


def _answer_layers(marker: tuple[float, float] | None, cell: Any) -> list[pdk.Layer]:
    """The answer's mark: the clicked square's outline (after a click) and a dot at the point."""
    layers = []
    if cell:
        layers.append(
            pdk.Layer(
                "PolygonLayer",
                id="answer-cell",
                data=[{"polygon": cell}],
                get_polygon="polygon",
                filled=True,
                stroked=True,
                get_fill_color=[255, 140, 0, 70],
                get_line_color=_POINT_COLOUR,
                get_line_width=1,
                line_width_min_pixels=3,
                pickable=False,
            )
        )
    if marker is not None:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                id="point",
                data=[{"lat": marker[0], "lon": marker[1]}],
                get_position="[lon, lat]",
                get_fill_color=_POINT_COLOUR,
                get_line_color=[0, 0, 0, 255],
                stroked=True,
                line_width_min_pixels=2,
                get_radius=1,
                radius_min_pixels=8,
                radius_max_pixels=8,
                pickable=False,
            )
        )
    return layers


def _cell_polygon(data: MapData) -> str:
    """The accessor that draws a click cell's square from its centre (only centres are sent)."""
    if data.click_cells and "polygon" in data.click_cells[0]:
        return "polygon"
    h, v = data.cell_half
    return (
        f"[[lon - {h}, lat - {v}], [lon + {h}, lat - {v}], "
        f"[lon + {h}, lat + {v}], [lon - {h}, lat + {v}]]"
    )


def cell_square(data: MapData, lat: float, lon: float) -> list[list[float]]:
    """The corners (``[lon, lat]``) of the click cell centred on a point, to outline it."""
    h, v = data.cell_half
    return [[lon - h, lat - v], [lon + h, lat - v], [lon + h, lat + v], [lon - h, lat + v]]


def _click_layer(data: MapData) -> pdk.Layer:
    return pdk.Layer(
        "PolygonLayer",
        id=CLICK_LAYER,
        data=data.click_cells,
        get_polygon=_cell_polygon(data),
        filled=True,
        stroked=False,
        # Almost transparent: invisible to the eye but still drawn, so deck.gl can pick it.
        # No auto_highlight: a hover mark would linger where the mouse was, not the answer.
        get_fill_color=[128, 128, 128, 4],
        pickable=True,
    )


def build_deck(
    data: MapData,
    *,
    tile_url: str | None = None,
    zoom: float | None = None,
    marker: tuple[float, float] | None = None,
    cell: Any = None,
) -> pdk.Deck:
    """Build the lookup map.

    Parameters
    ----------
    data
        Areas, labels, lines, click cells and the centre from ``coordination.lookup``
        (``map_data``, ``start_map``).
    tile_url
        Optional XYZ tile URL (``{z}/{x}/{y}``) drawn underneath (``settings.map_tile_url``,
        ``CROSSFORCE_MAP_TILES``); ``None`` keeps the map fully offline.
    zoom
        Initial zoom; by default the one that shows the whole box the data covers.
    marker
        ``(lat, lon)`` of the answer shown, marked with a dot; ``None`` marks nothing.
    cell
        The clicked square's corners (``[lon, lat]`` pairs), outlined, when the answer is a
        click.

    Returns
    -------
    pydeck.Deck
        A deck with no base map provider, so nothing is fetched from the internet.
    """
    layers: list[pdk.Layer] = _tile_layers(tile_url, data) if tile_url else []
    layers += _area_layers(data)
    layers += [
        _path_layer("ward-lines", data.ward_lines, _WARD_COLOUR, 1),
        _path_layer("district-lines", data.district_lines, _DISTRICT_COLOUR, 2),
        _path_layer("force-lines", data.force_lines, _FORCE_COLOUR, 4),
        _click_layer(data),
    ]
    layers += _label_layers(data.labels)
    layers += _answer_layers(marker, cell)
    return pdk.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(
            latitude=data.lat, longitude=data.lon, zoom=data.zoom if zoom is None else zoom
        ),
        # No provider and pydeck's default style sentinel: Streamlit then draws no base map.
        # (``map_style=None`` would make Streamlit fetch a CARTO style from the internet.)
        map_provider=None,
        tooltip={"text": "Click to look up {lat}, {lon}"},
    )


def legend(*, timeline: bool = False) -> str:
    """The map's legend as Streamlit markdown: a coloured swatch in text for each thing drawn.

    Parameters
    ----------
    timeline
        The legend of the address timeline (numbered addresses) rather than the lookup map.
    """
    parts = [
        ":red[**━━**] force boundary",
        ":blue[**━━**] district (borough)",
        ":gray[**──**] ward",
        ":red-background[ **City of London Police** ] area shaded",
    ]
    if timeline:
        parts.append(":orange[**●**] addresses, numbered 1, 2, 3… in time order, joined by moves")
    else:
        parts.append(":orange[**●**] the answer (the point looked up or clicked)")
    return " · ".join(parts)


def not_drawn(data: MapData | None = None) -> str:
    """What the offline map leaves out (shown under it): no base map, and where the river is."""
    if data is not None and data.uncovered > 0.005:
        return (
            "No base map. White: no force area in the loaded set (water it leaves out, such as "
            "an estuary, or beyond the set). Names: forces in red, districts in blue, wards in "
            "grey (zoom in)."
        )
    return (
        "No base map: the River Thames is not drawn (the boundaries here run to the middle of "
        "the river). Names: forces in red, districts in blue, wards in grey (zoom in)."
    )


def clicked_point(state: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """Return the (lat, lon) of the click-grid cell selected on the map, if any.

    Parameters
    ----------
    state
        The ``st.pydeck_chart`` state: ``{"selection": {"indices": …, "objects": …}}``.
    """
    cell = _clicked_cell(state)
    if cell is None:
        return None
    try:
        return float(cell["lat"]), float(cell["lon"])
    except (KeyError, TypeError, ValueError):
        return None


def _clicked_cell(state: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not state:
        return None
    selection = state.get("selection") or {}
    objects = (selection.get("objects") or {}).get(CLICK_LAYER) or []
    if not objects or not isinstance(objects[0], Mapping):
        return None
    return objects[0]


def chart_key() -> str:
    """The lookup chart's key: a new one after every click read.

    Streamlit keeps a chart's selection across runs, fades every other layer while something
    is selected, and in single-object mode reads a click on the selected index as "deselect".
    A fresh key after each click starts the chart with nothing selected, so the next click,
    wherever it is, is always a new selection.
    """
    return f"{MAP_KEY}-{st.session_state.get(CLICKS_KEY, 0)}"


def forget_click() -> None:
    """Drop the last map click, so a newly typed query is answered rather than the click."""
    st.session_state.pop(CLICK_KEY, None)


def remember_click(key: str | None = None) -> None:
    """``on_select`` callback: keep the clicked point in the session so it survives reruns.

    Parameters
    ----------
    key
        The chart's key (:func:`chart_key` by default).

    A deselection (which a fresh key per click makes rare) keeps the last point: the answer on
    screen changes only when a new point is clicked or a new query is typed.
    """
    key = key or chart_key()
    state = st.session_state.get(key)
    point = clicked_point(state)
    if point is None:
        return
    st.session_state[CLICK_KEY] = point
    st.session_state[CLICKS_KEY] = st.session_state.get(CLICKS_KEY, 0) + 1


def _marker(result: LookupResult | None) -> tuple[float, float] | None:
    clicked = st.session_state.get(CLICK_KEY)
    if clicked is not None:
        return float(clicked[0]), float(clicked[1])
    if result is None:
        return None
    if result.lat is not None and result.lon is not None:
        return result.lat, result.lon
    return bng_to_wgs84(result.easting, result.northing)


def show_map(
    data: MapData, *, result: LookupResult | None = None, tile_url: str | None = None
) -> None:
    """Draw the lookup map: its legend, the chart (clicks read) and the attribution.

    Parameters
    ----------
    data
        From :func:`map_for`.
    result
        The answer shown, marked on the map (the clicked point after a click).
    tile_url
        Optional XYZ tiles underneath (off by default).
    """
    st.caption(legend())
    key = chart_key()
    clicked = st.session_state.get(CLICK_KEY)
    st.pydeck_chart(
        build_deck(
            data,
            tile_url=tile_url,
            marker=_marker(result),
            cell=cell_square(data, *clicked) if clicked is not None else None,
        ),
        on_select=functools.partial(remember_click, key),
        selection_mode="single-object",
        key=key,
        height=440,
    )
    st.caption(
        f"Click anywhere on the map to look up that point. {not_drawn(data)} {md(data.attribution)}"
    )


def map_for(result: LookupResult | None) -> MapData | None:
    """Return the map to draw, kept per user so a rerun does not rebuild it.

    Before any answer it is the City of London and its neighbours; a typed query's answer
    re-centres it there; a click keeps the map it was made on (only the mark moves), so the
    next click lands where the person aims.

    Parameters
    ----------
    result
        The answer shown, if any.

    Returns
    -------
    MapData or None
        ``None`` after an error has been shown.
    """
    if result is not None and st.session_state.get(CLICK_KEY) is None:
        st.session_state[ANCHOR_KEY] = (result.easting, result.northing, result.boundary_set)
    anchor = st.session_state.get(ANCHOR_KEY)
    cached = st.session_state.get(MAP_DATA_KEY)
    if cached is not None and cached[0] == anchor:
        return cached[1]
    if anchor is None:
        data = call(service.start_map)
    else:
        data = call(service.map_around, anchor[0], anchor[1])
    if data is not None:
        st.session_state[MAP_DATA_KEY] = (anchor, data)
    return data


# --- the address timeline map ----------------------------------------------------------------


def _timeline_points(addresses: Sequence[Any]) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    for a in sorted(addresses, key=lambda a: (a.valid_from, a.id)):
        if a.easting is None or a.northing is None:
            continue
        lat, lon = bng_to_wgs84(a.easting, a.northing)
        points.append(
            {
                "lat": lat,
                "lon": lon,
                "easting": float(a.easting),
                "northing": float(a.northing),
                "number": str(len(points) + 1),
                "label": f"{len(points) + 1}. {a.postcode or ''} from {a.valid_from.isoformat()}",
                "current": a.valid_to is None,
            }
        )
    return points


def timeline_deck(addresses: Sequence[Any], data: MapData | None = None) -> pdk.Deck | None:
    """An offline map of a person's addresses, numbered in time order, over the boundaries.

    Parameters
    ----------
    addresses
        The person's addresses (``easting``, ``northing``, ``postcode``, ``valid_from``,
        ``valid_to``, ``id``).
    data
        The boundaries around them (``coordination.lookup.timeline_map``); ``None`` draws the
        addresses alone.

    Returns
    -------
    pydeck.Deck or None
        ``None`` when no address has a location (e.g. only "address unknown").
    """
    points = _timeline_points(addresses)
    if not points:
        return None
    path = [{"path": [[p["lon"], p["lat"]] for p in points]}]
    lats = [p["lat"] for p in points]
    lons = [p["lon"] for p in points]
    span = max(max(lats) - min(lats), (max(lons) - min(lons)) * 0.62, 0.005)
    zoom = max(5.0, min(15.0, math.log2(0.7 / span) + 8))
    layers: list[pdk.Layer] = []
    if data is not None:
        # The boundaries' box holds every address with a margin; fit it to the 400-pixel-high
        # chart (the data's zoom is for about 520 pixels).
        zoom = min(zoom, data.zoom - math.log2(520 / 400))
        layers += _area_layers(data)
        layers += [
            _path_layer("ward-lines", data.ward_lines, _WARD_COLOUR, 1),
            _path_layer("district-lines", data.district_lines, _DISTRICT_COLOUR, 2),
            _path_layer("force-lines", data.force_lines, _FORCE_COLOUR, 4),
        ]
        layers += _label_layers([lab for lab in data.labels if lab["kind"] != "ward"])
    layers += [
        pdk.Layer(
            "PathLayer",
            id="moves",
            data=path,
            get_path="path",
            get_color=[20, 20, 20, 200],
            get_width=1,
            width_min_pixels=2,
            width_max_pixels=2,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="addresses",
            data=points,
            get_position="[lon, lat]",
            get_fill_color="current ? [255, 140, 0, 255] : [255, 200, 120, 255]",
            get_line_color=[0, 0, 0, 255],
            stroked=True,
            line_width_min_pixels=1,
            get_radius=1,
            radius_min_pixels=11,
            radius_max_pixels=11,
            pickable=True,
        ),
        pdk.Layer(
            "TextLayer",
            id="address-numbers",
            data=points,
            get_position="[lon, lat]",
            get_text="number",
            get_size=13,
            get_color=[0, 0, 0, 255],
            font_weight="'bold'",
            font_family="'Helvetica, Arial, sans-serif'",
            pickable=False,
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


def _timeline_data(points: list[dict[str, Any]]) -> MapData | None:
    """The boundaries around the addresses, kept per user; ``None`` if they cannot be read."""
    key = tuple((p["easting"], p["northing"]) for p in points)
    cached = st.session_state.get(TIMELINE_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        data = service.timeline_map(list(key))
    except CrossforceError as error:
        # No active boundary set, say: the addresses are still worth drawing without lines.
        log.info("timeline map without boundaries: %s", error)
        data = None
    st.session_state[TIMELINE_KEY] = (key, data)
    return data


def show_timeline(addresses: Sequence[Any]) -> None:
    """Draw the address timeline map: legend, the numbered addresses over the boundaries."""
    points = _timeline_points(addresses)
    if not points:
        st.caption("No address with a location to draw.")
        return
    data = _timeline_data(points)
    deck = timeline_deck(addresses, data)
    if deck is None:
        st.caption("No address with a location to draw.")
        return
    st.caption(legend(timeline=True))
    st.pydeck_chart(deck, key="timeline_map", height=400)
    st.caption(
        "Dark orange: current address; light orange: earlier ones, joined in time order. "
        f"{not_drawn(data)} {md(attribution())}"
    )
