"""The in-memory form of one boundary set: the contract between loaders and the resolver."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

BNG = "EPSG:27700"


@dataclass
class BoundaryLayers:
    """One boundary set, in British National Grid, keyed by ONS codes.

    Attributes
    ----------
    name
        Boundary set name, unique in the database (e.g. ``"ons-2025"``).
    source
        Where it came from, for people (a path, ``"postcode directory"``, a URL).
    vintage
        The ONS vintages of its layers, e.g. ``"PFA24 LAD25 WD25"``.
    approximate
        True for sets built without official boundaries (the London default).
    districts
        Columns ``code``, ``name``, ``force_code``, ``geometry`` (Polygon/MultiPolygon, EPSG:27700).
    forces
        Columns ``code``, ``ons_name``, ``geometry``. Force areas are whole districts, so this is
        the dissolve of ``districts`` by ``force_code`` when a pack has no force layer.
    wards
        Columns ``code``, ``name``, ``district_code``, ``geometry``; ``None`` when not available.
    bcus
        Columns ``district_code``, ``bcu_code``, ``bcu_name`` (Met boroughs only).
    coverage_note
        Shown with answers outside the set's coverage, e.g. how to load the national pack.
    """

    name: str
    source: str
    vintage: str
    districts: gpd.GeoDataFrame
    forces: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame | None = None
    bcus: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["district_code", "bcu_code", "bcu_name"])
    )
    approximate: bool = False
    coverage_note: str = ""
