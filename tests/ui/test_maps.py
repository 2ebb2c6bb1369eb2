"""The lookup map as the page builds it: a map before any query, labels, legend, City shaded.

AppTest runs the page headless; the deck is read back from the chart's JSON, by layer id.
"""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace
from typing import Any

from streamlit.testing.v1 import AppTest

from coordination.reference import lookup as service
from tests.support import apptest
from ui.components import maps


def _layers(at: AppTest) -> dict[str, dict[str, Any]]:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.json)
    assert "mapProvider" not in spec and spec.get("mapStyle") == "__MAP_STYLE__"  # no tiles
    return {layer["id"]: layer for layer in spec["layers"]}


def test_the_map_is_there_before_any_query(app_env: dict[str, str]) -> None:
    at = apptest.page("boundary_lookup")
    apptest.ok(at)
    layers = _layers(at)
    assert layers[maps.CLICK_LAYER]["pickable"] is True and layers[maps.CLICK_LAYER]["data"]
    texts = {label["text"] for label in layers["labels"]["data"]}
    assert {"City of London", "City of London Police"} <= texts
    assert layers["ward-labels"]["data"]
    city = layers["city-area"]
    assert city["@@type"] == "PolygonLayer" and city["filled"] is True
    assert all(row["code"] == "E23000034" for row in city["data"])
    assert "point" not in layers  # nothing answered yet: no mark
    captions = [c.value for c in at.caption]
    assert maps.legend() in captions
    assert any("River Thames" in c or "White:" in c for c in captions)


def test_a_click_moves_the_mark_and_keeps_the_map(app_env: dict[str, str]) -> None:
    at = apptest.page("boundary_lookup")
    apptest.ok(at)
    before = _layers(at)[maps.CLICK_LAYER]["data"]
    for point in [(51.5155, -0.0919), (51.5230, -0.0770)]:
        at.session_state[maps.CLICK_KEY] = point
        at.run()
        apptest.ok(at)
        layers = _layers(at)
        assert layers["point"]["data"] == [{"lat": point[0], "lon": point[1]}]
        square = layers["answer-cell"]["data"][0]["polygon"]
        lons, lats = [p[0] for p in square], [p[1] for p in square]
        assert min(lons) < point[1] < max(lons) and min(lats) < point[0] < max(lats)
        assert layers[maps.CLICK_LAYER]["data"] == before  # the same map: only the mark moved
        assert any(f"{point[0]:.5f}, {point[1]:.5f}" in i.value for i in at.info)


def test_a_new_key_after_each_click(app_env: dict[str, str]) -> None:
    """Each click read gives the chart a fresh key, so nothing stays selected in Streamlit."""
    data = service.start_map()
    cell = data.click_cells[100]

    def page(cell: dict[str, object]) -> None:  # builtins only: AppTest runs it alone
        import streamlit as st

        from ui.components import maps as m

        key = m.chart_key()
        st.session_state[key] = {"selection": {"objects": {m.CLICK_LAYER: [cell]}}}
        m.remember_click(key)
        st.write(m.chart_key())

    at = AppTest.from_function(page, args=(cell,), default_timeout=apptest.TIMEOUT)
    at.run()
    apptest.ok(at)
    assert at.session_state[maps.CLICK_KEY] == (cell["lat"], cell["lon"])
    assert at.markdown[0].value == "map-1"


def test_deck_building_offline() -> None:
    from coordination.reference.lookup import MapData

    data = MapData(
        lat=51.5,
        lon=-0.09,
        force_lines=[[(-0.1, 51.5), (-0.08, 51.51)]],
        district_lines=[],
        ward_lines=[],
        click_cells=[{"lat": 51.5, "lon": -0.09}],
        attribution="",
        areas=[{"polygon": [[(-0.1, 51.5), (-0.08, 51.5), (-0.08, 51.52)]], "city": True}],
        labels=[{"lon": -0.09, "lat": 51.51, "text": "City of London", "kind": "district"}],
        cell_half=(0.0005, 0.0003),
    )
    deck = maps.build_deck(data, marker=(51.5, -0.09))
    ids = [layer.id for layer in deck.layers]
    assert (
        ids.index("city-area") < ids.index("force-lines") < ids.index("labels") < ids.index("point")
    )
    labels = next(layer for layer in deck.layers if layer.id == "labels")
    assert labels.type == "TextLayer" and labels.data[0]["text"] == "City of London"
    assert deck.map_provider is None


def test_timeline_numbers_addresses_in_time_order() -> None:
    addresses = [
        SimpleNamespace(
            id=2,
            easting=534500.0,
            northing=184800.0,
            postcode="E8 1DY",
            valid_from=date(2024, 6, 1),
            valid_to=None,
        ),
        SimpleNamespace(
            id=1,
            easting=532500.0,
            northing=181300.0,
            postcode="EC2V 7HH",
            valid_from=date(2023, 1, 1),
            valid_to=date(2024, 6, 1),
        ),
    ]
    deck = maps.timeline_deck(addresses)
    assert deck is not None
    numbers = next(layer for layer in deck.layers if layer.id == "address-numbers")
    assert numbers.type == "TextLayer"
    assert [p["number"] for p in numbers.data] == ["1", "2"]
    assert numbers.data[0]["label"].startswith("1. EC2V 7HH")
    moves = next(layer for layer in deck.layers if layer.id == "moves")
    assert len(moves.data[0]["path"]) == 2


def test_timeline_draws_the_boundaries_around_the_addresses(app_env: dict[str, str]) -> None:
    addresses = [
        SimpleNamespace(
            id=1,
            easting=532500.0,
            northing=181300.0,
            postcode="EC2V 7HH",
            valid_from=date(2023, 1, 1),
            valid_to=None,
        ),
    ]
    data = service.timeline_map([(532500.0, 181300.0)])
    deck = maps.timeline_deck(addresses, data)
    assert deck is not None
    ids = {layer.id for layer in deck.layers}
    assert {"force-lines", "district-lines", "city-area", "labels", "address-numbers"} <= ids
