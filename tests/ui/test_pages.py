"""The Streamlit pages, run headless with AppTest against an initialised temporary database.

Widgets are found by key or label and assertions are on the values shown, never on positions.
Without ``CROSSFORCE_REFERENCE_DIR`` the database holds the approximate London default, which
still answers the London postcodes used here.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from coordination.errors import InputError
from coordination.reference import lookup as service
from tests.support import apptest
from ui.components.maps import CLICK_KEY
from ui.text import GENERIC_ERROR, md


def _lookup(query: str) -> AppTest:
    at = apptest.page("boundary_lookup")
    assert not at.exception
    at.text_input(key="query").set_value(query).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def _field(at: AppTest, label: str) -> str:
    """The text under one bold label of the answer card, e.g. ``District``."""
    prefix = f"**{label}**  \n"
    found = [m[len(prefix) :] for m in _markdown(at) if m.startswith(prefix)]
    assert len(found) == 1, (label, _markdown(at))
    return found[0]


def _deck_spec(at: AppTest) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def test_city_postcode_answers_city_of_london_police(app_env: dict[str, str]) -> None:
    at = _lookup("EC2V 7HH")
    assert not at.error
    assert "## City of London Police" in _markdown(at)
    assert _field(at, "District").startswith("City of London `E09000001`")
    assert _field(at, "Met BCU") == "— (not in the Met)"  # the City is not a Met borough
    assert any("E23000034" in c.value for c in at.caption)
    # The raw answer is there too, as JSON.
    result = json.loads(at.json[0].value)
    assert result["force"]["code"] == "E23000034"
    assert result["postcode"] == "EC2V 7HH"


def test_hackney_postcode_answers_met_central_east(app_env: dict[str, str]) -> None:
    at = _lookup("E8 1DY")
    assert not at.error
    assert "## Metropolitan Police Service" in _markdown(at)
    assert _field(at, "District").startswith("Hackney `E09000012`")
    assert _field(at, "Met BCU").startswith("Central East ")


def test_map_is_offline_clickable_and_attributed(app_env: dict[str, str]) -> None:
    at = _lookup("EC2V 7HH")
    spec = _deck_spec(at)
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert layers["click-grid"]["pickable"] is True
    assert layers["click-grid"]["@@type"] == "PolygonLayer"
    assert {"force-lines", "district-lines", "point"} <= set(layers)
    assert layers["force-lines"]["data"], "no force boundary drawn around the City"
    assert "tiles" not in layers  # no tile server unless CROSSFORCE_MAP_TILE_URL is set
    # No base map: no provider, and pydeck's sentinel style, which Streamlit drops (an empty
    # or missing style would make Streamlit fetch a CARTO base map from the internet).
    assert "mapProvider" not in spec
    assert spec.get("mapStyle") == "__MAP_STYLE__"
    assert any("Office for National Statistics" in c.value for c in at.caption)


def test_a_map_click_is_looked_up_and_a_new_query_clears_it(app_env: dict[str, str]) -> None:
    at = _lookup("E8 1DY")
    # What the map's on_select callback stores: the centre of the clicked cell (Guildhall).
    at.session_state[CLICK_KEY] = (51.5155, -0.0919)
    at.run()
    assert not at.exception
    assert "## City of London Police" in _markdown(at)
    assert any("51.51550, -0.09190" in i.value for i in at.info)

    at.text_input(key="query").set_value("E8 1DY").run()  # unchanged text: the click stays
    assert "## City of London Police" in _markdown(at)
    at.text_input(key="query").set_value("e8 1dy").run()
    assert "## Metropolitan Police Service" in _markdown(at)
    assert CLICK_KEY not in at.session_state


def test_malformed_query_shows_one_line_error(app_env: dict[str, str]) -> None:
    query = "EC2V 7H"
    with pytest.raises(InputError) as raised:
        service.lookup(query)
    at = _lookup(query)
    errors = [e.value for e in at.error]
    assert errors == [md(str(raised.value))]
    assert "\n" not in errors[0]
    assert "Traceback" not in errors[0] and GENERIC_ERROR not in errors[0]
    # The map stays (a click can still start a lookup) but marks no answer.
    layers = {layer["id"] for layer in _deck_spec(at)["layers"]}
    assert "click-grid" in layers and "point" not in layers


def test_batch_upload_resolves_and_offers_the_same_format(app_env: dict[str, str]) -> None:
    csv = b"ref,postcode\n1,EC2V 7HH\n2,E8 1DY\n3,NOT A POSTCODE\n"
    at = apptest.page("boundary_lookup")
    at.file_uploader(key="batch_upload").upload("people.csv", csv, "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    near = sum(service.lookup(postcode).near_boundary for postcode in ("EC2V 7HH", "E8 1DY"))
    assert metrics == {
        "Rows read": "3",
        "Resolved": "2",
        "Not resolved": "1",
        "Near a boundary": str(near),  # as the single lookups of the two postcodes say
    }
    reasons = apptest.table(at, "Reason not resolved", "Rows")
    assert reasons["Rows"].tolist() == [1]
    by_ref = apptest.table(at, "Force", "Met BCU").set_index("ref")
    assert by_ref.loc["1", "Force"] == "City of London Police"
    assert by_ref.loc["2", "Met BCU"] == "Central East (CE)"  # E8 1DY: Hackney
    assert by_ref.loc["3", "Status"] == "not resolved"
    stored = at.session_state["batch_result"]
    assert stored["file_name"] == "people-resolved.csv"
    downloaded = pd.read_csv(io.BytesIO(stored["download"]), dtype=str, keep_default_na=False)
    assert downloaded["force_name"].tolist()[:2] == [
        "City of London Police",
        "Metropolitan Police Service",
    ]


def test_reference_page_names_the_active_set(app_env: dict[str, str]) -> None:
    active = service.reference_overview().active
    assert active is not None
    at = apptest.page("reference_data")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    successes = [s.value for s in at.success]
    assert len(successes) == 1
    assert successes[0].startswith(f"Active boundary set: {md(active.name)} ")
    tables = [d.value for d in at.dataframe if "active" in d.value.columns]
    assert len(tables) == 1
    rows = tables[0].set_index("name")
    assert bool(rows.loc[active.name, "active"]) is True
    assert int(rows["active"].sum()) == 1
    assert any("crossforce data activate NAME" in m for m in _markdown(at))
    assert any(
        "Office for National Statistics" in c.value or "Postcodes" in c.value for c in at.caption
    )
    if active.approximate:
        assert any(active.name in apptest.as_read(i.value) for i in at.info)


def test_tile_background_is_fixed_images_covering_the_map() -> None:
    from coordination.reference.lookup import MapData
    from ui.components.maps import build_deck

    lon, lat = -0.0919, 51.5155
    cell = {
        "polygon": [(-0.11, 51.505), (-0.07, 51.505), (-0.07, 51.525), (-0.11, 51.525)],
        "lat": lat,
        "lon": lon,
    }
    data = MapData(
        lat=lat,
        lon=lon,
        force_lines=[],
        district_lines=[],
        ward_lines=[],
        click_cells=[cell],
        attribution="test",
    )
    deck = build_deck(data, tile_url="http://tiles.invalid/{z}/{x}/{y}.png")
    tiles = [layer for layer in deck.layers if layer.type == "BitmapLayer"]
    assert 4 <= len(tiles) <= 30
    bounds = [t.bounds for t in tiles]
    assert all(w < e and s < n for w, s, e, n in bounds)
    assert min(b[0] for b in bounds) <= -0.11 and max(b[2] for b in bounds) >= -0.07
    assert min(b[1] for b in bounds) <= 51.505 and max(b[3] for b in bounds) >= 51.525
    # The tile under Guildhall at zoom 15 is x 16375, y 10895 (slippy-map tile numbering).
    under = [
        t for t in tiles if t.bounds[0] <= lon <= t.bounds[2] and t.bounds[1] <= lat <= t.bounds[3]
    ]
    assert [t.image for t in under] == ["http://tiles.invalid/15/16375/10895.png"]
    assert deck.layers[0].type == "BitmapLayer"  # underneath everything else
