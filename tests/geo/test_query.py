"""Reading the lookup box: postcode, lat/lon or grid coordinates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.errors import CoordinateError, InputError, MalformedPostcodeError
from geo.coords import bng_to_wgs84, wgs84_to_bng
from geo.query import EMPTY_MESSAGE, ParsedQuery, parse_query
from tests.strategies import postcodes, typed_variants

LATS = st.floats(min_value=49.9, max_value=60.8)
LONS = st.floats(min_value=-7.5, max_value=1.7)
# Both above 1000 in size, inside the grid and away from its edges.
EASTINGS = st.floats(min_value=1_001, max_value=699_000)
NORTHINGS = st.floats(min_value=1_001, max_value=1_249_000)


@given(st.data(), postcodes())
def test_postcodes_are_postcode_queries(data: st.DataObject, canonical: str) -> None:
    typed = data.draw(typed_variants(canonical))
    parsed = parse_query(typed)
    assert parsed == ParsedQuery("postcode", typed.strip(), canonical, None, None, None, None)
    assert parse_query(typed, bng=True).kind == "postcode"


@given(LATS, LONS, st.sampled_from([",", ", ", " "]))
def test_small_pairs_are_latlon_with_grid_filled_in(lat: float, lon: float, sep: str) -> None:
    text = f"{lat:.6f}{sep}{lon:.6f}"
    lat_r, lon_r = float(f"{lat:.6f}"), float(f"{lon:.6f}")
    try:
        expected = wgs84_to_bng(lat_r, lon_r)
    except CoordinateError:
        with pytest.raises(CoordinateError):
            parse_query(text)
        return
    parsed = parse_query(text)
    assert parsed.kind == "latlon" and parsed.postcode is None
    assert (parsed.lat, parsed.lon) == (lat_r, lon_r)
    assert (parsed.easting, parsed.northing) == expected


@given(EASTINGS, NORTHINGS)
def test_large_pairs_are_grid_with_degrees_filled_in(easting: float, northing: float) -> None:
    text = f"{easting:.2f} {northing:.2f}"
    e_r, n_r = float(f"{easting:.2f}"), float(f"{northing:.2f}")
    parsed = parse_query(text)
    assert parsed.kind == "bng" and parsed.postcode is None
    assert (parsed.easting, parsed.northing) == (e_r, n_r)
    assert (parsed.lat, parsed.lon) == bng_to_wgs84(e_r, n_r)


def test_examples() -> None:
    guildhall = parse_query("  51.5155, −0.0919 ")
    assert guildhall.kind == "latlon" and guildhall.text == "51.5155, −0.0919"
    assert guildhall.easting is not None and abs(guildhall.easting - 532494.756) < 0.01
    assert parse_query("532494,181344").kind == "bng"
    assert parse_query("ec2v 7hh").postcode == "EC2V 7HH"


def test_bng_flag_reads_small_numbers_as_grid() -> None:
    parsed = parse_query("500, 900", bng=True)
    assert parsed.kind == "bng" and (parsed.easting, parsed.northing) == (500.0, 900.0)
    assert parsed.lat is not None and parsed.lon is not None
    with pytest.raises(CoordinateError):
        parse_query("500, 900")  # as degrees this is nowhere near Britain


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "\u00a0"])
def test_empty(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_query(text)
    assert str(info.value) == EMPTY_MESSAGE


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("EC2V 7H", MalformedPostcodeError),
        ("hello", MalformedPostcodeError),
        ("12345", InputError),
        ("1, 2, 3", InputError),
        ("the Guildhall", InputError),
        ("51.5, 200", CoordinateError),
        ("800000 100", CoordinateError),
    ],
)
def test_rejections(text: str, error: type[InputError]) -> None:
    with pytest.raises(error) as info:
        parse_query(text)
    assert "\n" not in str(info.value)


@given(st.text(max_size=40), st.booleans())
def test_anything_else_is_an_input_error(text: str, bng: bool) -> None:
    try:
        parsed = parse_query(text, bng=bng)
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 140
    else:
        assert parsed.kind in ("postcode", "latlon", "bng")
        if parsed.kind == "postcode":
            assert parsed.postcode is not None
        else:
            assert None not in (parsed.lat, parsed.lon, parsed.easting, parsed.northing)
