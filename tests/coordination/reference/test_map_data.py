"""The lookup and timeline maps' data: areas, the City to shade, names to label, click cells."""

from __future__ import annotations

import pytest

from coordination.reference import lookup as service
from geo.coords import bng_to_wgs84

CITY = "E23000034"


def test_start_map_is_the_city_and_its_neighbours(app_env: dict[str, str]) -> None:
    data = service.start_map()
    names = {label["text"] for label in data.labels}
    assert {"City of London", "City of London Police"} <= names
    # The neighbouring boroughs are on the map, named.
    assert {"Islington", "Southwark", "Tower Hamlets"} <= names or "Hackney" in names
    city = [a for a in data.areas if a["city"]]
    assert city and all(a["code"] == CITY for a in city)
    assert data.click_cells and data.cell_half[0] > 0 and data.cell_half[1] > 0
    # Guildhall (in the City) is inside the box of cells.
    lats = [float(c["lat"]) for c in data.click_cells]  # type: ignore[arg-type]
    lons = [float(c["lon"]) for c in data.click_cells]  # type: ignore[arg-type]
    assert min(lats) < 51.5155 < max(lats) and min(lons) < -0.0919 < max(lons)
    assert data.force_lines and data.district_lines


def test_force_name_sits_above_its_largest_district(app_env: dict[str, str]) -> None:
    data = service.start_map()
    force = next(label for label in data.labels if label["text"] == "City of London Police")
    district = next(label for label in data.labels if label["text"] == "City of London")
    assert force["stacked"] is True
    assert (force["lon"], force["lat"]) == (district["lon"], district["lat"])


def test_map_around_an_answer_is_centred_on_it(app_env: dict[str, str]) -> None:
    result = service.lookup("E8 1DY")
    data = service.map_data(result)
    lat, lon = bng_to_wgs84(result.easting, result.northing)
    assert data.lat == pytest.approx(lat, abs=1e-5) and data.lon == pytest.approx(lon, abs=1e-5)
    assert "Hackney" in {label["text"] for label in data.labels}
    assert (data.easting, data.northing) == (result.easting, result.northing)


def test_timeline_map_covers_the_addresses_without_a_click_grid(app_env: dict[str, str]) -> None:
    assert service.timeline_map([]) is None
    data = service.timeline_map([(532500.0, 181300.0), (534500.0, 184800.0)])
    assert data is not None
    assert data.click_cells == []
    assert data.force_lines
    assert {"City of London", "Hackney"} <= {label["text"] for label in data.labels}


def test_a_wide_timeline_keeps_forces_only(app_env: dict[str, str]) -> None:
    data = service.timeline_map([(532500.0, 181300.0), (383500.0, 398000.0)])  # London, Manchester
    assert data is not None
    assert data.ward_lines == [] and data.district_lines == []
    assert {label["kind"] for label in data.labels} == {"force"}
