"""The resolver's geometry rules on tiny inline polygons (distances checked by hand).

Layout (metres)::

    y=2000 +-----------------------+
           |  E06000003 (force B)  |
    y=1000 +-----------+-----------+        +--------+
           | E06000001 | E06000002 |  gap   |E0600004|
           | (force A) | (force A) | 100 m  |(forceB)|
    y=0    +-----------+-----------+        +--------+
           0         1000        2000     2100     3000

The vertex (1000, 1000) is shared by three districts. Everything left of x=0 and below y=0 is
"sea": in the national (not approximate) set it is no force boundary.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.layers import BNG, BoundaryLayers
from geo.resolver import Resolution, Resolver

A = "E23000001"
B = "E23000002"


def _layers(*, approximate: bool = False) -> BoundaryLayers:
    districts = gpd.GeoDataFrame(
        {
            "code": ["E06000002", "E06000001", "E06000003", "E06000004"],
            "name": ["Two", "One", "Three", "Four"],
            "force_code": [A, A, B, B],
        },
        geometry=[
            shapely.box(1000, 0, 2000, 1000),
            shapely.box(0, 0, 1000, 1000),
            # Shared edges have the same vertices on both sides, as in a real coverage.
            shapely.Polygon([(0, 1000), (1000, 1000), (2000, 1000), (2000, 2000), (0, 2000)]),
            shapely.box(2100, 0, 3000, 1000),
        ],
        crs=BNG,
    )
    forces = gpd.GeoDataFrame(
        {"code": [A, B], "ons_name": ["Force A ONS", "Force B ONS"]},
        geometry=[
            shapely.box(0, 0, 2000, 1000),
            shapely.union(shapely.box(0, 1000, 2000, 2000), shapely.box(2100, 0, 3000, 1000)),
        ],
        crs=BNG,
    )
    # Wards come from another, generalised source: ward E05000003 of district Two reaches 20 m
    # into district One, and One's wards stop 20 m short of its edge.
    wards = gpd.GeoDataFrame(
        {
            "code": ["E05000001", "E05000002", "E05000003"],
            "name": ["West", "East", "Across"],
            "district_code": ["E06000001", "E06000001", "E06000002"],
        },
        geometry=[
            shapely.box(0, 0, 500, 1000),
            shapely.box(500, 0, 980, 1000),
            shapely.box(980, 0, 2000, 1000),
        ],
        crs=BNG,
    )
    bcus = pd.DataFrame(
        {"district_code": ["E06000001"], "bcu_code": ["CE"], "bcu_name": ["Central East"]}
    )
    return BoundaryLayers(
        name="tiny",
        source="inline",
        vintage="test",
        districts=districts,
        forces=forces,
        wards=wards,
        bcus=bcus,
        approximate=approximate,
    )


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver.build(_layers())


@pytest.fixture(scope="module")
def approx() -> Resolver:
    return Resolver.build(_layers(approximate=True))


def test_point_inside(resolver: Resolver) -> None:
    r = resolver.resolve_point(700, 500)
    assert (r.force_code, r.district_code, r.method) == (A, "E06000001", "polygon")
    assert r.force_ons_name == "Force A ONS"
    assert r.force_name == "Metropolitan Police Service"  # the name people use, by code
    assert r.district_name == "One"
    assert (r.bcu_code, r.bcu_name) == ("CE", "Central East")
    assert r.ward_code == "E05000002"
    assert r.distance_to_area_m == 0.0
    assert r.distance_to_boundary_m == pytest.approx(500.0)
    assert r.nearest_other_force_code == B
    assert r.near_boundary is False
    assert r.boundary_set == "tiny" and r.approximate is False


def test_shared_edge_between_forces_goes_to_lowest_code(resolver: Resolver) -> None:
    r = resolver.resolve_point(500, 1000)
    assert r.district_code == "E06000001"
    assert r.force_code == A
    assert r.distance_to_boundary_m == 0.0
    assert r.nearest_other_force_code == B
    assert r.near_boundary is True


def test_shared_edge_within_one_force_is_near_boundary(resolver: Resolver) -> None:
    r = resolver.resolve_point(1000, 300)
    assert r.district_code == "E06000001"
    assert r.distance_to_boundary_m == pytest.approx(700.0)  # to force B above
    assert r.near_boundary is True
    assert resolver.areas_at(1000, 300)["district"] == ["E06000001", "E06000002"]


def test_vertex_shared_by_three(resolver: Resolver) -> None:
    r = resolver.resolve_point(1000, 1000)
    assert r.district_code == "E06000001"
    assert r.distance_to_boundary_m == 0.0
    assert r.nearest_other_force_code == B
    assert r.near_boundary is True
    assert resolver.areas_at(1000, 1000)["district"] == ["E06000001", "E06000002", "E06000003"]


def test_gap_takes_nearest_district(resolver: Resolver) -> None:
    r = resolver.resolve_point(2030, 500)
    assert (r.method, r.district_code, r.force_code) == ("nearest", "E06000002", A)
    assert r.distance_to_area_m == pytest.approx(30.0)
    assert r.distance_to_boundary_m == pytest.approx(70.0)  # to district Four, force B
    assert r.near_boundary is True


def test_gap_equidistant_takes_lowest_code(resolver: Resolver) -> None:
    r = resolver.resolve_point(2050, 500)
    assert (r.method, r.district_code) == ("nearest", "E06000002")
    assert r.distance_to_area_m == pytest.approx(50.0)


def test_far_away_is_outside(resolver: Resolver) -> None:
    r = resolver.resolve_point(10_000, 10_000)
    assert r.method == "outside"
    assert r.force_code is None and r.district_code is None
    assert r.distance_to_area_m is None and r.distance_to_boundary_m is None
    assert r.near_boundary is False


def test_beyond_nearest_max_is_outside() -> None:
    strict = Resolver.build(_layers(), nearest_max_m=10.0)
    assert strict.resolve_point(2030, 500).method == "outside"
    assert strict.resolve_point(2005, 500).method == "nearest"


def test_coast_is_not_a_force_boundary(resolver: Resolver) -> None:
    # 20 m from the sea on the left, 880 m from force B above.
    r = resolver.resolve_point(20, 120)
    assert r.distance_to_boundary_m == pytest.approx(880.0)
    assert r.nearest_other_force_code == B
    assert r.near_boundary is False
    # District Two: B above at 900 m, district Four across the gap at 200 m.
    r2 = resolver.resolve_point(1900, 100)
    assert r2.distance_to_boundary_m == pytest.approx(200.0)
    assert r2.nearest_other_force_code == B


def test_approximate_set_has_no_nearest_fallback(approx: Resolver) -> None:
    assert approx.approximate is True
    assert approx.resolve_point(2030, 500).method == "outside"
    assert approx.resolve_point(2005, 500).method == "outside"


def test_approximate_outer_edge_is_an_unknown_boundary(approx: Resolver) -> None:
    r = approx.resolve_point(20, 500)
    assert r.force_code == A
    assert r.distance_to_boundary_m == pytest.approx(20.0)
    assert r.nearest_other_force_code is None
    assert r.near_boundary is True


def test_ward_from_other_district_is_replaced(resolver: Resolver) -> None:
    # Ward "Across" belongs to district Two but covers this point of district One.
    r = resolver.resolve_point(990, 500)
    assert r.district_code == "E06000001"
    assert r.ward_code == "E05000002"
    assert resolver.resolve_point(1500, 500).ward_code == "E05000003"
    assert resolver.resolve_point(500, 1500).ward_code is None  # district without wards


def test_detail_false_columns(resolver: Resolver) -> None:
    df = resolver.resolve([500.0, 2030.0, 9000.0], [500.0, 500.0, 9000.0], detail=False)
    assert list(df.columns) == ["force_code", "district_code", "method", "distance_to_area_m"]
    assert list(df["method"]) == ["polygon", "nearest", "outside"]
    assert df["distance_to_area_m"].iloc[1] == pytest.approx(30.0)
    assert math.isnan(df["distance_to_area_m"].iloc[2])
    assert pd.isna(df["force_code"].iloc[2])


def test_detail_columns_and_progress(resolver: Resolver) -> None:
    calls: list[tuple[int, int]] = []
    df = resolver.resolve(
        np.array([500.0, 500.0]),
        np.array([500.0, 1000.0]),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert list(df.columns) == [
        "force_code",
        "district_code",
        "method",
        "distance_to_area_m",
        "bcu_code",
        "ward_code",
        "distance_to_boundary_m",
        "nearest_other_force_code",
        "near_boundary",
    ]
    assert calls == [(2, 2)]
    assert list(df["near_boundary"]) == [False, True]
    assert list(df["distance_to_boundary_m"]) == pytest.approx([500.0, 0.0])


def _row_as_resolution_fields(row: pd.Series) -> dict[str, object]:
    def val(v: object) -> object:
        return None if pd.isna(v) else v  # type: ignore[call-overload]

    return {
        "force_code": val(row["force_code"]),
        "district_code": val(row["district_code"]),
        "method": row["method"],
        "bcu_code": val(row["bcu_code"]),
        "ward_code": val(row["ward_code"]),
        "nearest_other_force_code": val(row["nearest_other_force_code"]),
        "near_boundary": bool(row["near_boundary"]),
    }


def _same(a: float | None, b: object) -> bool:
    if a is None:
        return bool(pd.isna(b))  # type: ignore[call-overload]
    return math.isclose(a, float(b), rel_tol=1e-9, abs_tol=1e-6)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            # Coordinates of lines and vertices come up often, so ties are exercised.
            st.sampled_from([0.0, 1000.0, 2000.0, 2050.0, 2100.0]) | st.floats(-500, 3500),
            st.sampled_from([0.0, 500.0, 1000.0, 2000.0]) | st.floats(-500, 2600),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_vectorised_equals_single(points: list[tuple[float, float]]) -> None:
    resolver = _module_resolver()
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    df = resolver.resolve(x, y)
    for i, (px, py) in enumerate(points):
        single: Resolution = resolver.resolve_point(px, py)
        row = df.iloc[i]
        expected = {k: getattr(single, k) for k in _row_as_resolution_fields(row)}
        assert _row_as_resolution_fields(row) == expected, (px, py)
        assert _same(single.distance_to_boundary_m, row["distance_to_boundary_m"]), (px, py)
        assert _same(single.distance_to_area_m, row["distance_to_area_m"]), (px, py)


_CACHE: dict[str, Resolver] = {}


def _module_resolver() -> Resolver:
    # Hypothesis tests cannot take function-scoped fixtures; build once per module.
    if "r" not in _CACHE:
        _CACHE["r"] = Resolver.build(_layers())
    return _CACHE["r"]


def test_save_load_round_trip(resolver: Resolver, tmp_path: Path) -> None:
    path = tmp_path / "resolver.pkl"
    resolver.save(path)
    loaded = Resolver.load(path)
    assert not list(tmp_path.glob("*.tmp"))
    rng = np.random.default_rng(7)
    x = rng.uniform(-500, 3500, 500)
    y = rng.uniform(-500, 2500, 500)
    pd.testing.assert_frame_equal(resolver.resolve(x, y), loaded.resolve(x, y))
    for px, py in [(500, 1000), (2030, 500), (990, 500)]:
        assert resolver.resolve_point(px, py) == loaded.resolve_point(px, py)
    assert loaded.boundary_lines(1000, 1000, 300) == resolver.boundary_lines(1000, 1000, 300)


def test_load_rejects_garbage(tmp_path: Path) -> None:
    from geo.errors import ReferenceDataError

    path = tmp_path / "bad.pkl"
    path.write_bytes(b"not a pickle")
    with pytest.raises(ReferenceDataError):
        Resolver.load(path)


def test_edges_need_not_share_vertices() -> None:
    layers = _layers(approximate=True)
    layers.districts = layers.districts.set_geometry(
        [
            shapely.box(1000, 0, 2000, 1000),
            shapely.box(0, 0, 1000, 1000),
            shapely.box(0, 1000, 2000, 2000),
            shapely.box(2100, 0, 3000, 1000),
        ],
        crs=BNG,
    )
    r = Resolver.build(layers).resolve_point(500, 990)
    # 10 m from force B; the line between forces is not mistaken for the set's outer edge.
    assert (r.distance_to_boundary_m, r.nearest_other_force_code) == (pytest.approx(10.0), B)


def test_boundary_lines_clipped_to_box(resolver: Resolver) -> None:
    lines = resolver.boundary_lines(1000, 1000, 200)
    assert set(lines) == {"force", "district", "ward"}
    for key in ("force", "district"):
        assert lines[key], key
        for line in lines[key]:
            for x, y in line:
                assert 800 - 1e-9 <= x <= 1200 + 1e-9 and 800 - 1e-9 <= y <= 1200 + 1e-9
    # The force line y=1000 crosses the box; the district line x=1000 too, drawn once.
    force_geom = shapely.union_all([shapely.linestrings(line) for line in lines["force"]])
    assert force_geom.length == pytest.approx(400.0)
    district_geom = [shapely.linestrings(line) for line in lines["district"]]
    assert sum(g.length for g in district_geom) == pytest.approx(600.0)
    assert resolver.boundary_lines(50_000, 50_000, 100) == {"force": [], "district": [], "ward": []}
