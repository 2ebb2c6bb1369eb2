"""Single lookups: the JSON contract, both sources for postcodes, and every kind of query."""

from __future__ import annotations

import pytest

from coordination.core.serial import jsonable
from coordination.errors import (
    CoordinateError,
    InputError,
    MalformedPostcodeError,
    PostcodeWithoutCoordinatesError,
    UnknownPostcodeError,
)
from geo.lookup import Lookup

JSON_KEYS = {
    "query",
    "postcode",
    "easting",
    "northing",
    "lat",
    "lon",
    "force",
    "district",
    "bcu",
    "ward",
    "distance_to_boundary_m",
    "nearest_other_force",
    "near_boundary",
    "method",
    "boundary_set",
    "warnings",
}


@pytest.fixture(scope="module")
def national(national_resolver, directory) -> Lookup:  # type: ignore[no-untyped-def]
    return Lookup(national_resolver, directory)


@pytest.fixture(scope="module")
def london(london_resolver, directory) -> Lookup:  # type: ignore[no-untyped-def]
    return Lookup(london_resolver, directory)


def test_city_postcode_json_contract(national: Lookup) -> None:
    data = jsonable(national.lookup("ec2v7hh"))
    assert set(data) >= JSON_KEYS
    assert data["postcode"] == "EC2V 7HH"
    assert data["force"] == {
        "code": "E23000034",
        "name": "City of London Police",
        "ons_name": "London, City of",
    }
    assert data["district"] == {"code": "E09000001", "name": "City of London"}
    assert data["bcu"] is None
    assert data["ward"]["code"].startswith("E05")
    assert data["method"] == "polygon"
    assert data["nearest_other_force"]["code"] == "E23000001"
    assert data["distance_to_boundary_m"] > 0
    assert data["near_boundary"] == (data["distance_to_boundary_m"] <= 100)
    assert 51.4 < data["lat"] < 51.6 and -0.2 < data["lon"] < 0.0


def test_hackney_postcode_is_met_central_east(national: Lookup) -> None:
    result = national.lookup("E8 1DY")
    assert result.force is not None and result.force.name == "Metropolitan Police Service"
    assert result.district is not None and result.district.name == "Hackney"
    assert result.bcu is not None and (result.bcu.code, result.bcu.name) == ("CE", "Central East")
    assert result.ward is not None
    assert (result.ward.code, result.ward.name) == ("E05009372", "Hackney Central")


def test_coordinates_in_both_notations_agree(national: Lookup) -> None:
    by_latlon = national.lookup("51.5155, -0.0919")
    by_bng = national.lookup("532494.756,181344.949", bng=True)
    assert by_latlon.kind == "latlon" and by_bng.kind == "bng"
    assert by_latlon.force == by_bng.force
    assert by_latlon.force is not None and by_latlon.force.code == "E23000034"
    assert abs(by_latlon.easting - 532494.756) < 0.01


def test_postcode_errors_are_distinct(national: Lookup, directory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedPostcodeError):
        national.lookup("EC2V 7H")
    with pytest.raises(UnknownPostcodeError):
        national.lookup("EC2V 9ZZ")
    missing = directory.postcodes[directory.eastings < 0][0]
    with pytest.raises(PostcodeWithoutCoordinatesError, match="no location"):
        national.lookup(str(missing))
    with pytest.raises(CoordinateError):
        national.lookup("51.5, 200")
    with pytest.raises(InputError):
        national.lookup("   ")


def test_scotland_is_a_handoff_target_not_an_error(national: Lookup) -> None:
    result = national.lookup("EH1 1YZ")
    assert result.force is not None and result.force.name == "Police Scotland"
    assert result.method == "directory"
    assert "handoff" in result.warnings[0]


def test_sources_disagreeing_are_both_shown(national: Lookup, directory) -> None:  # type: ignore[no-untyped-def]
    # Find a directory postcode whose centroid the polygons put in another force.
    import numpy as np

    city = np.flatnonzero(
        (directory.district_codes[directory.district_index] == "E09000001")
        & (directory.eastings > 0)
    )
    res = national.resolver.resolve(
        directory.eastings[city], directory.northings[city], detail=False
    )
    disagree = city[(res["force_code"] != "E23000034").to_numpy()]
    if len(disagree) == 0:
        pytest.skip("no City postcode centroid falls outside the City polygon in this pack")
    result = national.lookup(str(directory.postcodes[disagree[0]]))
    assert result.force is not None and result.force.code == "E23000034"
    assert result.near_boundary
    assert result.directory is not None and result.polygon is not None
    assert any("disagree" in w for w in result.warnings)


def test_london_default_answers_london_and_explains_elsewhere(london: Lookup) -> None:
    city = london.lookup("EC2V 7HH")
    assert city.force is not None and city.force.code == "E23000034"
    assert city.approximate
    assert any("Approximate" in w for w in city.warnings)
    hackney = london.lookup("E8 1DY")
    assert hackney.bcu is not None and hackney.bcu.name == "Central East"
    surrey = london.lookup("GU1 4RR")
    # Outside London the district gives the force; the boundary distance needs the pack.
    assert surrey.force is not None and surrey.force.name == "Surrey Police"
    assert surrey.method == "by district"
    assert surrey.district is not None and surrey.district.code.startswith("E07")
    assert surrey.district.name == "Guildford"
    assert any("national reference pack" in w for w in surrey.warnings)


# -- names everywhere: a district is named whether or not the set covers it ------------------


@pytest.mark.parametrize("which", ["national", "london"])
def test_manchester_postcode_is_named_with_and_without_the_pack(
    which: str, national: Lookup, london: Lookup
) -> None:
    lookup = national if which == "national" else london
    result = lookup.lookup("M1 1AE")
    assert result.district is not None
    assert (result.district.code, result.district.name) == ("E08000003", "Manchester")
    assert result.force is not None and result.force.code == "E23000005"
    assert result.force.name == "Greater Manchester Police"
    assert result.ward is None and result.ward_note
    assert result.bcu is None and result.bcu_note == "not in the Met"
    assert not any("E08000003 E08000003" in w for w in result.warnings)
    if which == "national":
        assert result.method == "polygon"
        assert result.ward_note == "no ward: wards are loaded for London only"
        assert result.distance_to_boundary_m is not None
    else:
        # No pack: the force comes from the district (force areas are whole districts).
        assert result.method == "by district"
        assert result.distance_to_boundary_m is None
        assert any("national reference pack" in w for w in result.warnings)


@pytest.mark.parametrize("which", ["national", "london"])
def test_glasgow_postcode_is_named_with_and_without_the_pack(
    which: str, national: Lookup, london: Lookup
) -> None:
    lookup = national if which == "national" else london
    result = lookup.lookup("G1 1XQ")
    assert result.district is not None
    assert (result.district.code, result.district.name) == ("S12000049", "Glasgow City")
    assert result.force is not None and result.force.code == "S23000009"
    assert result.force.name == "Police Scotland"
    assert result.method == "directory"
    assert result.ward_note is not None and "England and Wales" in result.ward_note
    assert lookup.district_name("S12000049") == "Glasgow City"
    assert lookup.district_name("N09000003") == "Belfast"


def test_coordinates_outside_london_without_the_pack_say_they_need_it(london: Lookup) -> None:
    result = london.lookup("53.4794,-2.2453")  # Manchester city centre
    assert result.force is None
    assert result.method == "outside"
    assert result.ward_note == "no ward: outside the boundary set"
    assert any("national boundary pack" in w for w in result.warnings)


def test_a_london_ward_needs_no_note(national: Lookup) -> None:
    result = national.lookup("E8 1DY")
    assert result.ward is not None and result.ward_note is None
    assert result.bcu is not None and result.bcu_note is None
