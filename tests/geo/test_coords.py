"""WGS84 ↔ British National Grid (OSTN15) and the coordinate parsers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.errors import CoordinateError, InputError
from geo.coords import (
    bng_to_wgs84,
    bng_to_wgs84_many,
    parse_bng,
    parse_latlon,
    split_number_pair,
    wgs84_to_bng,
    wgs84_to_bng_many,
)

# Inside OSTN15's rectangle, clear of the margin the converters keep from its edges.
EASTINGS = st.floats(min_value=1_000, max_value=699_000)
NORTHINGS = st.floats(min_value=1_000, max_value=1_249_000)
LATS = st.floats(min_value=49.9, max_value=60.8)
LONS = st.floats(min_value=-7.5, max_value=1.7)


def test_guildhall_matches_ostn15() -> None:
    easting, northing = wgs84_to_bng(51.5155, -0.0919)
    assert abs(easting - 532494.756) < 0.01
    assert abs(northing - 181344.949) < 0.01
    lat, lon = bng_to_wgs84(532494.756, 181344.949)
    assert abs(lat - 51.5155) < 1e-7 and abs(lon - -0.0919) < 1e-7


@given(EASTINGS, NORTHINGS)
def test_grid_round_trip_within_a_millimetre(easting: float, northing: float) -> None:
    lat, lon = bng_to_wgs84(easting, northing)
    back_e, back_n = wgs84_to_bng(lat, lon)
    assert math.hypot(back_e - easting, back_n - northing) < 0.001


@given(LATS, LONS)
def test_degrees_round_trip(lat: float, lon: float) -> None:
    try:
        easting, northing = wgs84_to_bng(lat, lon)
    except CoordinateError:
        return  # a corner of the lat/lon box can fall outside the grid rectangle
    back_lat, back_lon = bng_to_wgs84(easting, northing)
    assert abs(back_lat - lat) < 1e-8 and abs(back_lon - lon) < 1e-8


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(40.0, 0.0), (51.5, 20.0), (1.0, 52.0), (70.0, -2.0), (math.nan, 0.0), (51.5, math.inf)],
)
def test_degrees_outside_the_grid(lat: float, lon: float) -> None:
    with pytest.raises(CoordinateError, match="outside the area the British National Grid covers"):
        wgs84_to_bng(lat, lon)


@pytest.mark.parametrize(
    ("easting", "northing"),
    [(-5.0, 100_000.0), (800_000.0, 100_000.0), (300_000.0, 1_260_000.0), (math.nan, 1.0)],
)
def test_grid_outside_ostn(easting: float, northing: float) -> None:
    with pytest.raises(CoordinateError):
        bng_to_wgs84(easting, northing)


def test_many_matches_one_at_a_time_and_marks_failures() -> None:
    lats = np.array([51.5155, 40.0, np.nan, 55.95])
    lons = np.array([-0.0919, 0.0, 0.0, -3.19])
    eastings, northings = wgs84_to_bng_many(lats, lons)
    assert eastings.shape == (4,)
    assert (eastings[0], northings[0]) == wgs84_to_bng(51.5155, -0.0919)
    assert (eastings[3], northings[3]) == wgs84_to_bng(55.95, -3.19)
    assert np.isnan(eastings[1:3]).all() and np.isnan(northings[1:3]).all()

    back_lat, back_lon = bng_to_wgs84_many(eastings, northings)
    assert np.allclose(back_lat[[0, 3]], lats[[0, 3]], atol=1e-8)
    assert np.isnan(back_lat[1:3]).all() and np.isnan(back_lon[1:3]).all()

    grid = np.array([[532494.756, 900_000.0]])
    lat2, _ = bng_to_wgs84_many(grid, np.array([[181344.949, 0.0]]))
    assert lat2.shape == (1, 2) and np.isnan(lat2[0, 1])

    with pytest.raises(ValueError):
        wgs84_to_bng_many([51.5, 51.6], [0.0])


# ---------------------------------------------------------------------------------- parsers

SEPARATORS = st.sampled_from([",", ", ", " ,", " ", "   ", "\t", ";", "\u00a0"])
MINUS = st.sampled_from(["-", "\u2212"])


def _typed(value: float, minus: str, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace("-", minus, 1)


@given(LATS, LONS, SEPARATORS, MINUS, st.integers(0, 7))
def test_parse_latlon_round_trip(
    lat: float, lon: float, sep: str, minus: str, decimals: int
) -> None:
    lat_text, lon_text = _typed(lat, minus, decimals), _typed(lon, minus, decimals)
    parsed = parse_latlon(f" {lat_text}{sep}{lon_text} ")
    assert parsed == (float(f"{lat:.{decimals}f}"), float(f"{lon:.{decimals}f}"))


@pytest.mark.parametrize(
    "text", ["51.5155,-0.0919", "51.5155, -0.0919", "51.5155 -0.0919", "51.5155, \u22120.0919"]
)
def test_parse_latlon_examples(text: str) -> None:
    assert parse_latlon(text) == (51.5155, -0.0919)


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
def test_parse_latlon_rejects_outside_the_british_isles(lat: float, lon: float) -> None:
    text = f"{lat:.4f},{lon:.4f}"
    lat_r, lon_r = float(f"{lat:.4f}"), float(f"{lon:.4f}")
    if 49 <= lat_r <= 61 and -9 <= lon_r <= 2.5:
        assert parse_latlon(text) == (lat_r, lon_r)
    else:
        with pytest.raises(CoordinateError, match="is outside the British Isles"):
            parse_latlon(text)


def test_parse_latlon_messages() -> None:
    with pytest.raises(CoordinateError) as info:
        parse_latlon("51.5, 200")
    assert str(info.value) == "51.5, 200 is outside the British Isles"
    with pytest.raises(CoordinateError, match="latitude comes first"):
        parse_latlon("-0.0919, 51.5155")
    with pytest.raises(CoordinateError, match="is not a pair of coordinates"):
        parse_latlon("north of the river")


@given(st.text(max_size=40))
def test_parsers_reject_junk_only_with_coordinate_error(text: str) -> None:
    for parse in (parse_latlon, parse_bng):
        try:
            first, second = parse(text)
        except CoordinateError as exc:
            assert isinstance(exc, InputError)
            assert "\n" not in str(exc) and len(str(exc)) < 140
        else:
            assert split_number_pair(text) == (first, second)


@given(
    st.floats(min_value=0, max_value=700_000),
    st.floats(min_value=0, max_value=1_300_000),
    SEPARATORS,
    st.integers(0, 3),
)
def test_parse_bng_round_trip(easting: float, northing: float, sep: str, decimals: int) -> None:
    e_text, n_text = f"{easting:.{decimals}f}", f"{northing:.{decimals}f}"
    e_value, n_value = float(e_text), float(n_text)
    if e_value > 700_000 or n_value > 1_300_000:
        return  # rounding up at the very top of the range
    assert parse_bng(f"{e_text}{sep}{n_text}") == (e_value, n_value)


@pytest.mark.parametrize("text", ["532494,181344", "532494 181344", "532494.0, 181344.00"])
def test_parse_bng_examples(text: str) -> None:
    assert parse_bng(text) == (532494.0, 181344.0)


@pytest.mark.parametrize("text", ["-1, 100", "700001, 100", "100, 1300001", "100 -5"])
def test_parse_bng_out_of_range(text: str) -> None:
    with pytest.raises(CoordinateError, match="outside the British National Grid"):
        parse_bng(text)


@pytest.mark.parametrize("text", ["", "532494", "1,2,3", "1e5, 2e5", "EC2V 7HH", "1..2, 3"])
def test_split_number_pair_refuses(text: str) -> None:
    assert split_number_pair(text) is None
