"""The approximate London default, built from postcode centroids, against Code-Point Open."""

from __future__ import annotations

import pandas as pd

from geo.forces import CITY_OF_LONDON, METROPOLITAN
from geo.layers import BoundaryLayers
from geo.resolver import Resolver


def test_layers_are_approximate_london(london_default_layers: BoundaryLayers) -> None:
    layers = london_default_layers
    assert layers.approximate is True
    assert layers.name.startswith("london-approx-")
    assert len(layers.districts) == 33
    assert set(layers.districts["code"]) == {f"E09{n:06d}" for n in range(1, 34)}
    assert set(layers.forces["code"]) == {CITY_OF_LONDON, METROPOLITAN}
    assert set(layers.forces["ons_name"]) == {"London, City of", "Metropolitan Police"}
    assert layers.wards is None
    assert len(layers.bcus) == 32
    assert "crossforce data fetch" in layers.coverage_note
    assert layers.districts.crs.to_epsg() == 27700
    assert layers.districts.geometry.is_valid.all()


def test_london_postcodes_get_the_right_force(
    london_resolver: Resolver, testdata_postcodes: pd.DataFrame
) -> None:
    rows = testdata_postcodes[
        testdata_postcodes["admin_district_code"].str.startswith("E09")
        & (testdata_postcodes["positional_quality"] != "90")
        & (testdata_postcodes["easting"] != "")
    ]
    got = london_resolver.resolve(
        rows["easting"].astype(float).to_numpy(),
        rows["northing"].astype(float).to_numpy(),
        detail=False,
    )
    ok = got["force_code"].astype(object).to_numpy() == rows["pfa_code"].to_numpy()
    print(f"\nLondon default: {ok.sum()} of {len(rows)} right force")
    assert ok.mean() >= 0.995


def test_surrey_is_outside(london_resolver: Resolver) -> None:
    guildford = london_resolver.resolve_point(499_500.0, 149_500.0)
    assert guildford.method == "outside"
    assert guildford.force_code is None


def test_city_and_met_near_the_edge(london_resolver: Resolver) -> None:
    # Guildhall (OSTN15 from lat 51.5155, lon -0.0919) is the City; the Met's far edge is flagged.
    guildhall = london_resolver.resolve_point(532_494.756, 181_344.949)
    assert guildhall.force_code == CITY_OF_LONDON
    assert guildhall.approximate is True
    edge = london_resolver.resolve([503_600.0 + i * 50.0 for i in range(40)], [183_000.0] * 40)
    inside = edge[edge["force_code"] == METROPOLITAN]
    assert inside["near_boundary"].any()
    assert inside["nearest_other_force_code"].isna().any()
