"""The table of every UK district: names and forces without a pack, shipped as package data."""

from __future__ import annotations

import csv
import fnmatch
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo import districts, forces
from geo.districts import DATA_FILE, district_force, district_name
from tests.support import REPO

CODES = sorted(districts.districts())


def _raw_rows() -> list[dict[str, str]]:
    with (REPO / "geo" / DATA_FILE).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_england_and_wales_district_has_its_name_and_force(reference_dir: Path) -> None:
    with (reference_dir / "lad_to_pfa.csv").open(newline="", encoding="utf-8") as fh:
        lookup = list(csv.DictReader(fh))
    assert len(lookup) == 318
    for row in lookup:
        assert district_name(row["LAD25CD"]) == row["LAD25NM"]
        assert district_force(row["LAD25CD"]) == row["PFA24CD"]


def test_counts_by_country_and_no_duplicates() -> None:
    rows = _raw_rows()
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)) == 363
    by_prefix = {p: [c for c in codes if c.startswith(p)] for p in ("E", "W", "S12", "N09")}
    assert len(by_prefix["E"]) + len(by_prefix["W"]) == 318
    assert len(by_prefix["S12"]) == 32
    assert len(by_prefix["N09"]) == 11
    for prefix in ("S12", "N09"):
        names = [r["name"] for r in rows if r["code"].startswith(prefix)]
        assert len(names) == len(set(names))
    assert all(r["name"].strip() == r["name"] and r["name"] for r in rows)


def test_well_known_names_and_the_forces_outside_england_and_wales() -> None:
    assert district_name("E08000003") == "Manchester"
    assert district_force("E08000003") == "E23000005"
    assert district_name("S12000049") == "Glasgow City"
    assert district_name("S12000036") == "City of Edinburgh"
    assert district_name("N09000003") == "Belfast"
    assert {district_force(c) for c in CODES if c.startswith("S12")} == {forces.POLICE_SCOTLAND}
    assert {district_force(c) for c in CODES if c.startswith("N09")} == {forces.PSNI}
    assert district_force("M99999999") == forces.ISLE_OF_MAN
    # The Channel Islands' force follows the postcode (JE or GY), not the pseudo district.
    assert district_name("L99999999") == "Channel Islands"
    assert district_force("L99999999") is None


@given(st.sampled_from(CODES))
def test_every_code_has_a_name_and_a_known_force(code: str) -> None:
    name = district_name(code)
    assert name and name != code
    force = district_force(code)
    assert force is None or force in forces.FORCES
    if force is not None:
        assert forces.force_name(force).name != force


@given(st.text(max_size=12))
def test_unknown_codes_are_none_not_guesses(text: str) -> None:
    if text in districts.districts():
        return
    assert district_name(text) is None
    assert district_force(text) is None


def test_every_district_of_the_postcode_directory_is_named(directory) -> None:  # type: ignore[no-untyped-def]
    codes = {str(c) for c in directory.district_codes if c}
    unnamed = sorted(c for c in codes if district_name(c) is None)
    assert not unnamed


def test_the_table_is_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["geo"]
    assert any(fnmatch.fnmatch(DATA_FILE, p) for p in patterns)
    assert districts.districts() is districts.districts()  # read once


@pytest.mark.parametrize("code", [None, ""])
def test_no_code_no_name(code: str | None) -> None:
    assert district_name(code) is None
    assert district_force(code) is None
