"""Tiny inline boundary sets for the resolver's tests (see tests/geo/test_resolver.py's map)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.layers import BNG, BoundaryLayers
from geo.resolver import Resolver

A = "E23000001"
B = "E23000002"
C = "E23000003"


def resolver_layers(*, approximate: bool = False) -> BoundaryLayers:
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


def three_forces(*, approximate: bool = False) -> BoundaryLayers:
    """Force A (bottom left) meets B (bottom right) and C (top); B has an island across water.

    The point (500, 500) of A is 500 m from both B and C: a tie the lowest code must win.
    """
    districts = gpd.GeoDataFrame(
        {
            "code": ["E06000011", "E06000012", "E06000013", "E06000014"],
            "name": ["A1", "B1", "C1", "B2"],
            "force_code": [A, B, C, B],
        },
        geometry=[
            shapely.Polygon([(0, 0), (1000, 0), (1000, 1000), (0, 1000)]),
            shapely.Polygon([(1000, 0), (2000, 0), (2000, 1000), (1000, 1000)]),
            shapely.Polygon([(0, 1000), (1000, 1000), (2000, 1000), (2000, 2000), (0, 2000)]),
            shapely.box(-900, -900, -300, -300),  # B's island, across the sea from A
        ],
        crs=BNG,
    )
    return BoundaryLayers(
        name="three",
        source="inline",
        vintage="test",
        districts=districts,
        forces=districts.dissolve(by="force_code")
        .reset_index()[["force_code", "geometry"]]
        .rename(columns={"force_code": "code"})
        .assign(ons_name=lambda d: d["code"]),
        approximate=approximate,
    )


def special_points(r: Resolver) -> tuple[np.ndarray, np.ndarray]:
    """Every boundary vertex, the midpoints of edges, and random points around the set."""
    coords = shapely.get_coordinates(r.force_pieces)
    mids = (coords[:-1] + coords[1:]) / 2
    rng = np.random.default_rng(11)
    xmin, ymin, xmax, ymax = shapely.total_bounds(r.force_geoms)
    rand = np.column_stack(
        [rng.uniform(xmin - 200, xmax + 200, 400), rng.uniform(ymin - 200, ymax + 200, 400)]
    )
    grid = np.array([(500.0, 500.0), (999.0, 500.0), (500.0, 999.0), (20.0, 120.0)])
    pts = np.vstack([coords, mids, rand, grid])
    return pts[:, 0], pts[:, 1]
