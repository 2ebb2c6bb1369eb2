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
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.layers import BNG, BoundaryLayers
from geo.resolver import Resolution, Resolver
from tests.support.layers import resolver_layers, special_points, three_forces

A = "E23000001"
B = "E23000002"


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver.build(resolver_layers())


@pytest.fixture(scope="module")
def approx() -> Resolver:
    return Resolver.build(resolver_layers(approximate=True))


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
    strict = Resolver.build(resolver_layers(), nearest_max_m=10.0)
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
        _CACHE["r"] = Resolver.build(resolver_layers())
    return _CACHE["r"]


def test_save_load_round_trip(resolver: Resolver, tmp_path: Path) -> None:
    path = tmp_path / "resolver.arrays"
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
    from coordination.errors import ReferenceDataError

    path = tmp_path / "bad.pkl"
    path.write_bytes(b"not a pickle")
    with pytest.raises(ReferenceDataError):
        Resolver.load(path)


def test_edges_need_not_share_vertices() -> None:
    layers = resolver_layers(approximate=True)
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


# --- the fast exact distance path (geo/_distance.py) against brute force ----------------------

C = "E23000003"


def _brute_other(r: Resolver, x: float, y: float, f: int) -> tuple[float, int]:
    """Distance to every other force's boundary (and an approximate set's outer edge)."""
    pt = shapely.Point(x, y)
    found = [
        (float(shapely.distance(pt, shapely.boundary(g))), i)
        for i, g in enumerate(r.force_geoms)
        if i != f
    ]
    if r.approximate:
        outer = shapely.boundary(shapely.union_all(r.force_geoms))
        found.append((float(shapely.distance(pt, outer)), -1))
    best = min(d for d, _ in found)
    tied = [i for d, i in found if d == best]
    real = [i for i in tied if i >= 0]
    return best, min(real) if real else -1


@pytest.mark.parametrize(
    "make",
    [
        lambda: resolver_layers(),
        lambda: resolver_layers(approximate=True),
        lambda: three_forces(),
        lambda: three_forces(approximate=True),
    ],
    ids=["coast", "coast-approximate", "three-forces", "three-forces-approximate"],
)
@pytest.mark.parametrize("spacing,k", [(100.0, 8), (7.0, 2), (400.0, 3)])
def test_fast_distance_equals_brute_force(
    make: Callable[[], BoundaryLayers], spacing: float, k: int
) -> None:
    from geo._distance import OtherForceIndex

    r = Resolver.build(make())
    index = OtherForceIndex.build(
        r.other_force_index.seg,
        r.other_force_index.seg_label,
        len(r.force_codes),
        spacing=spacing,
        k=k,
    )
    x, y = special_points(r)
    for f in range(len(r.force_codes)):
        force = np.full(len(x), f, dtype=np.int32)
        dist, other, ok = index.nearest(x, y, force)
        assert ok.any()
        for i in np.flatnonzero(ok):
            expected = _brute_other(r, float(x[i]), float(y[i]), f)
            assert (float(dist[i]), int(other[i])) == expected, (x[i], y[i], f)
        # The resolver's combined path (fast where certified, exact tree elsewhere) agrees too.
        r.other_force_index = index
        dd, oo = r._distance_other(force, x, y)
        ed, eo = r._distance_other_tree(f, x, y)
        np.testing.assert_array_equal(dd, ed)
        np.testing.assert_array_equal(oo, eo)


def test_fast_distance_ties_and_shared_vertex() -> None:
    r = Resolver.build(three_forces())
    fa = r.force_codes.index(A)
    x = np.array([500.0, 1000.0, 1000.0, 0.0])
    y = np.array([500.0, 1000.0, 400.0, 0.0])
    dist, other, ok = r.other_force_index.nearest(x, y, np.full(4, fa, dtype=np.int32))
    assert ok.all()
    # Equidistant from B (x = 1000) and C (y = 1000): the lowest code, B.
    assert dist[0] == 500.0 and r.force_codes[other[0]] == B
    # On the vertex shared by all three forces: 0 to both others, lowest code.
    assert dist[1] == 0.0 and r.force_codes[other[1]] == B
    # On A's edge with B.
    assert dist[2] == 0.0 and r.force_codes[other[2]] == B
    # A's corner on the coast: B's island across the water, not A's own coast.
    assert dist[3] == pytest.approx(math.hypot(300, 300))
    assert r.force_codes[other[3]] == B
    # Resolve agrees, and the island point sees A's coast as no boundary.
    res = r.resolve_point(1.0, 1.0)
    assert res.distance_to_boundary_m == pytest.approx(math.hypot(301, 301))


def test_approximate_outer_edge_in_fast_path() -> None:
    r = Resolver.build(three_forces(approximate=True))
    fa = r.force_codes.index(A)
    dist, other, ok = r.other_force_index.nearest(
        np.array([20.0]), np.array([500.0]), np.array([fa], dtype=np.int32)
    )
    assert ok.all() and dist[0] == 20.0 and other[0] == -1


def test_resolve_point_equals_resolve_onthree_forces() -> None:
    r = Resolver.build(three_forces())
    x, y = special_points(r)
    df = r.resolve(x, y)
    for i in range(0, len(x), 7):
        single = r.resolve_point(float(x[i]), float(y[i]))
        assert _same(single.distance_to_boundary_m, df["distance_to_boundary_m"].iloc[i])
        got = df["nearest_other_force_code"].iloc[i]
        assert single.nearest_other_force_code == (None if pd.isna(got) else got)


@pytest.mark.pack
def test_fast_distance_equals_exact_on_national_pack(national_resolver: Resolver) -> None:
    r = national_resolver
    rng = np.random.default_rng(20251129)
    xmin, ymin, xmax, ymax = shapely.total_bounds(r.force_geoms)
    x = rng.uniform(xmin, xmax, 20_000)
    y = rng.uniform(ymin, ymax, 20_000)
    loc = r.grid.locate(x, y)
    inside = np.flatnonzero(loc.index >= 0)
    x, y = x[inside], y[inside]
    force = r.district_force[loc.index[inside]]
    dist, other = r._distance_other(force, x, y)
    _, _, ok = r.other_force_index.nearest(x, y, force)
    assert ok.mean() > 0.99
    for f in np.unique(force):
        sel = np.flatnonzero(force == f)
        ed, eo = r._distance_other_tree(int(f), x[sel], y[sel])
        np.testing.assert_allclose(dist[sel], ed, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(other[sel], eo)
        np.testing.assert_array_equal(dist[sel], ed)
