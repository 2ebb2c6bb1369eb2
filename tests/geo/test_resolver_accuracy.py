"""The resolver over the national pack against 217,246 Code-Point Open postcodes (ground truth)."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.resolver import Resolver

pytestmark = pytest.mark.pack


def _located(testdata: pd.DataFrame) -> pd.DataFrame:
    """Rows with a real location (quality 90 = no coordinates) and an official district."""
    rows = testdata[
        (testdata["positional_quality"] != "90")
        & (testdata["easting"] != "")
        & (testdata["admin_district_code"] != "")
    ]
    return rows.assign(
        x=rows["easting"].astype(float), y=rows["northing"].astype(float)
    ).reset_index(drop=True)


def test_national_pack_forces_and_districts(
    national_resolver: Resolver, testdata_postcodes: pd.DataFrame
) -> None:
    rows = _located(testdata_postcodes)
    assert len(rows) == 217_246
    got = national_resolver.resolve(rows["x"].to_numpy(), rows["y"].to_numpy(), detail=False)
    force = got["force_code"].astype(object).to_numpy()
    district = got["district_code"].astype(object).to_numpy()
    force_ok = force == rows["pfa_code"].to_numpy()
    district_ok = district == rows["admin_district_code"].to_numpy()
    misses = rows.loc[~force_ok, ["postcode", "easting", "northing", "pfa_code"]].assign(
        got=force[~force_ok], method=got["method"].to_numpy()[~force_ok]
    )
    print(f"\nforce misses: {len(misses)} of {len(rows)}")
    print(misses.to_string(index=False))
    print(f"district misses: {(~district_ok).sum()}")
    assert force_ok.mean() >= 0.9999
    assert district_ok.mean() >= 0.9998


def _point(rows: pd.DataFrame, postcode: str) -> tuple[float, float]:
    row = rows.loc[rows["postcode"] == postcode].iloc[0]
    return float(row["x"]), float(row["y"])


def test_guildhall_is_city_and_hackney_is_met_central_east(
    national_resolver: Resolver, testdata_postcodes: pd.DataFrame
) -> None:
    rows = _located(testdata_postcodes)
    city = national_resolver.resolve_point(*_point(rows, "EC2V 7HH"))
    assert city.force_code == "E23000034"
    assert city.force_name == "City of London Police"
    assert city.district_code == "E09000001"
    assert city.bcu_code is None
    hackney = national_resolver.resolve_point(*_point(rows, "E8 1DY"))
    assert hackney.force_code == "E23000001"
    assert hackney.district_code == "E09000012"
    assert (hackney.bcu_code, hackney.bcu_name) == ("CE", "Central East")
    assert hackney.ward_code is not None
    assert hackney.ward_code == "E05009372"  # Hackney Central, as Code-Point Open has it
    assert hackney.method == "polygon"
