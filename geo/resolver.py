"""Point(s) → force, district, BCU, ward and distance to the nearest other force.

Semantics
---------
* Force areas are whole districts (Police Act 1996), so the resolver finds the district and reads
  the force from it; the force layer is never tested on its own.
* Areas "cover" their boundary: a point exactly on a line is inside both sides. The tie-break is
  deterministic: the lowest ONS district code wins, and such a point is always ``near_boundary``.
  If the other side is another force, ``distance_to_boundary_m`` is 0 and that force is
  ``nearest_other_force_code``.
* A point in no district (slivers along generalised lines, estuaries) takes the nearest district
  within ``nearest_max_m`` (method ``"nearest"``, ``distance_to_area_m`` set; equal distances go
  to the lowest code); beyond that it is ``"outside"`` with no force. In an approximate set (the
  London default) there is no nearest fallback: outside is outside.
* ``distance_to_boundary_m`` is the distance to the nearest point of another force's area. In a
  national set the coast is not a force boundary (water is nobody's area, but a force across an
  estuary counts at its real distance). In an approximate set the outer edge of the set counts as
  a boundary with an unknown force (``nearest_other_force_code`` None), so Met points near the edge
  of London are flagged ``near_boundary``.
* ``near_boundary`` is ``distance_to_boundary_m <= near_boundary_m``, or the point is exactly on a
  line between two districts.
* Wards come from a different, generalised source: a point's ward is looked up among all wards,
  and if that ward belongs to another district the nearest ward of the resolved district is taken.
  Districts without wards get none.
* The BCU is read from the district (Met boroughs only).

Speed
-----
A :class:`~geo._gridindex.GridIndex` answers most points by array lookup and tests the rest
exactly with ``shapely.intersects_xy`` (one call per candidate district per batch). Distances
for many points come from :class:`~geo._distance.OtherForceIndex` (k-d trees over densified
boundary vertices, then GEOS's point-segment arithmetic on the few segments in reach), which is
bit-for-bit the answer of the exact path and says which points it cannot certify. Those points,
and single lookups, use one STRtree per force over short pieces of the *other* forces'
boundaries near it, so a nearest query never has to skip the point's own force.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo._cache import CacheReader, CacheWriter, read_layers, write_layers
from geo._distance import OtherForceIndex
from geo._gridindex import GridIndex
from geo._linework import clipped_areas, dedup_linework, dissolve, outer_linework, pieces
from geo.errors import ReferenceDataError
from geo.forces import force_name
from geo.layers import BoundaryLayers

__all__ = ["Resolution", "Resolver"]

# Small enough that the last chunks keep both workers busy.
_CHUNK_POINTS = 125_000
# Below this many points threads cost more than they save. GEOS and NumPy release the GIL, so
# chunks run in parallel threads.
_PARALLEL_MIN = 100_000
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_PIECE_SEGMENTS = 8  # segments per boundary piece in the distance trees
_WARD_CELL_M = 100.0
_NEAREST_SEGMENTS = 32  # segments per piece for the nearest-district fallback
_DRAW_SEGMENTS = 64  # segments per piece in the drawing trees
_UNKNOWN = -1  # label of the outer edge of an approximate set
_METHODS = ["polygon", "nearest", "outside"]
# Search vertices along boundary segments, and vertices fetched per k-d tree query, for the fast
# distance path (geo/_distance.py); any spacing and k give exact answers, these give speed.
_SEARCH_SPACING_M = 100.0
_SEARCH_K = 8
# The on-disk layout (geo/_cache.py) and its contents; a cache of any other format is rebuilt.
# Format 2 and earlier were pickles.
_CACHE_FORMAT = "crossforce-resolver-3"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]
GeomArray = npt.NDArray[np.object_]

# What Resolver.save writes besides geometries and its parts' own arrays.
_STRING_LISTS = (
    "district_codes",
    "district_names",
    "force_codes",
    "force_ons_names",
    "force_names",
    "bcu_codes",
    "ward_codes",
    "ward_names",
)
_ARRAYS: tuple[tuple[str, type[np.generic]], ...] = (
    ("district_force", np.int32),
    ("district_piece_label", np.int64),
    ("force_piece_label", np.int64),
    ("force_margin", np.float64),
    ("district_bcu_idx", np.int32),
    ("ward_district", np.int32),
    ("district_has_wards", np.bool_),
)


def _points(x: FloatArray, y: FloatArray) -> GeomArray:
    """Points from coordinate arrays, typed as the array of geometries shapely returns.

    shapely's stubs cannot tell a 0-d array from a scalar, so they promise "a Point or an
    array"; these inputs are always 1-d, and ``asarray`` of an object array does not copy.
    """
    return np.asarray(shapely.points(x, y), dtype=object)


def _distances(a: GeomArray, b: GeomArray | shapely.Geometry) -> FloatArray:
    """Element-wise distances, typed as the float array shapely returns for array input."""
    return np.asarray(shapely.distance(a, b), dtype=np.float64)


def _nearest_one(
    tree: shapely.STRtree, x: float, y: float
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Every nearest item of one point (ties included) and the distance.

    The point goes in as a one-element array made straight from its coordinates: on the
    single-lookup path that is cheaper than a ``Point`` that the tree would then wrap in an
    array itself.
    """
    point = shapely.points(np.array([[x, y]]))
    (_, ti), d = tree.query_nearest(point, return_distance=True, all_matches=True)
    return ti, d


def _categorical(codes: npt.NDArray[Any], categories: list[str]) -> pd.Categorical:
    """A categorical column from integer codes (-1 = missing): no strings are copied."""
    return pd.Categorical.from_codes(codes.astype(np.int32), pd.Index(categories, dtype=object))


_POOL: list[ThreadPoolExecutor] = []
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One long-lived pool, so each worker thread prepares its polygon copies once."""
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(_WORKERS, thread_name_prefix="crossforce-resolve"))
        return _POOL[0]


@dataclass(frozen=True)
class Resolution:
    """Everything known about one point in one boundary set.

    Distances are metres; names are ``None`` where the code is ``None``. ``method`` is
    ``"polygon"``, ``"nearest"`` or ``"outside"``.
    """

    easting: float
    northing: float
    force_code: str | None
    force_name: str | None
    force_ons_name: str | None
    district_code: str | None
    district_name: str | None
    bcu_code: str | None
    bcu_name: str | None
    ward_code: str | None
    ward_name: str | None
    distance_to_boundary_m: float | None
    distance_to_area_m: float | None
    nearest_other_force_code: str | None
    nearest_other_force_name: str | None
    near_boundary: bool
    method: str
    boundary_set: str
    approximate: bool


class Resolver:
    """Resolve points against one boundary set. Build with :meth:`build` or :meth:`load`."""

    boundary_set: str
    approximate: bool
    near_boundary_m: float
    nearest_max_m: float
    layers: BoundaryLayers

    # ------------------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        layers: BoundaryLayers,
        *,
        near_boundary_m: float = 100.0,
        nearest_max_m: float = 2000.0,
        cell_size_m: float = 250.0,
    ) -> Resolver:
        """Prepare a resolver for a boundary set.

        Parameters
        ----------
        layers
            The boundary set (districts with ``force_code``; optional wards and BCUs).
        near_boundary_m
            Points this close to another force's area are flagged ``near_boundary``.
        nearest_max_m
            Points in no district but this close to one take the nearest district (national
            sets only).
        cell_size_m
            Grid cell side; 250 m suits national sets.

        Returns
        -------
        Resolver

        Raises
        ------
        ReferenceDataError
            If the set has no districts.
        """
        if layers.districts is None or len(layers.districts) == 0:
            raise ReferenceDataError(f"Boundary set {layers.name} has no districts")
        self = cls()
        self._build(
            layers,
            near_boundary_m=near_boundary_m,
            nearest_max_m=nearest_max_m,
            cell_size_m=cell_size_m,
        )
        return self

    def _build(
        self,
        layers: BoundaryLayers,
        *,
        near_boundary_m: float,
        nearest_max_m: float,
        cell_size_m: float,
    ) -> None:
        self.boundary_set = layers.name
        self.approximate = bool(layers.approximate)
        self.near_boundary_m = float(near_boundary_m)
        self.nearest_max_m = float(nearest_max_m)
        self.cell_size_m = float(cell_size_m)
        self.layers = layers

        districts = layers.districts.sort_values("code").reset_index(drop=True)
        dgeoms = np.asarray(shapely.make_valid(districts.geometry.values), dtype=object)
        self.district_codes: list[str] = [str(c) for c in districts["code"]]
        self.district_names: list[str] = [str(n) for n in districts["name"]]
        self.force_codes: list[str] = sorted({str(c) for c in districts["force_code"]})
        force_pos = {c: i for i, c in enumerate(self.force_codes)}
        self.district_force = np.array(
            [force_pos[str(c)] for c in districts["force_code"]], dtype=np.int32
        )
        ons = {}
        if layers.forces is not None and len(layers.forces):
            ons = {
                str(c): str(n)
                for c, n in zip(layers.forces["code"], layers.forces["ons_name"], strict=True)
            }
        self.force_ons_names = [ons.get(c, force_name(c).ons_name) for c in self.force_codes]
        self.force_names = [force_name(c).name for c in self.force_codes]

        near_m = None if self.approximate else self.nearest_max_m
        self.grid = GridIndex.build(dgeoms, cell_size=cell_size_m, near_m=near_m)

        # Nearest-district fallback: outside every polygon, the distance to a polygon is the
        # distance to its boundary, and short pieces make nearest queries cheap.
        outer, outer_label = outer_linework(dgeoms)
        self.district_pieces, self.district_piece_label = pieces(
            outer, outer_label, _NEAREST_SEGMENTS
        )

        # Force areas as the union of their districts, so distances agree with the answers.
        fgeoms: npt.NDArray[np.object_] = np.empty(len(self.force_codes), dtype=np.object_)
        for i in range(len(self.force_codes)):
            fgeoms[i] = dissolve(dgeoms[self.district_force == i])
        fgeoms = np.asarray(shapely.make_valid(fgeoms), dtype=object)
        self.force_geoms = fgeoms
        lines = [shapely.boundary(fgeoms)]
        labels = [np.arange(len(fgeoms), dtype=np.int64)]
        if self.approximate:
            lines.append(np.array([shapely.boundary(dissolve(fgeoms))]))
            labels.append(np.array([_UNKNOWN], dtype=np.int64))
        self.force_pieces, self.force_piece_label = pieces(
            np.concatenate(lines), np.concatenate(labels), _PIECE_SEGMENTS
        )
        # Each force's tree holds the other forces' pieces within reach: any point of a force
        # with a neighbour is at most its box's diagonal from that neighbour.
        piece_bounds = shapely.bounds(self.force_pieces)
        self.force_margin = np.zeros(len(fgeoms))
        self.force_piece_sets: list[npt.NDArray[np.int64]] = []
        for i, g in enumerate(fgeoms):
            x0, y0, x1, y1 = shapely.bounds(g)
            m = math.hypot(x1 - x0, y1 - y0)
            self.force_margin[i] = m
            sel = (
                (self.force_piece_label != i)
                & (piece_bounds[:, 0] <= x1 + m)
                & (piece_bounds[:, 2] >= x0 - m)
                & (piece_bounds[:, 1] <= y1 + m)
                & (piece_bounds[:, 3] >= y0 - m)
            )
            self.force_piece_sets.append(np.flatnonzero(sel))
        # The same segments, in the same directions, for the fast exact distance path.
        coords, idx = shapely.get_coordinates(self.force_pieces, return_index=True)
        same = np.flatnonzero(idx[1:] == idx[:-1])
        self.other_force_index = OtherForceIndex.build(
            np.hstack([coords[same], coords[same + 1]]),
            self.force_piece_label[idx[same]],
            len(self.force_codes),
            spacing=_SEARCH_SPACING_M,
            k=_SEARCH_K,
        )

        bcu = {}
        if layers.bcus is not None and len(layers.bcus):
            bcu = {
                str(d): (str(c), str(n))
                for d, c, n in zip(
                    layers.bcus["district_code"],
                    layers.bcus["bcu_code"],
                    layers.bcus["bcu_name"],
                    strict=True,
                )
            }
        self.district_bcu: list[tuple[str, str] | None] = [bcu.get(c) for c in self.district_codes]
        bcu_list = sorted({v for v in bcu.values()})
        bcu_pos = {v: i for i, v in enumerate(bcu_list)}
        self.bcu_codes = [v[0] for v in bcu_list]
        self.district_bcu_idx = np.array(
            [bcu_pos[v] if v is not None else -1 for v in self.district_bcu], dtype=np.int32
        )

        self.ward_grid: GridIndex | None = None
        self.ward_codes: list[str] = []
        self.ward_names: list[str] = []
        self.ward_district = np.empty(0, dtype=np.int32)
        self.district_wards: dict[int, npt.NDArray[np.int64]] = {}
        district_pos = {c: i for i, c in enumerate(self.district_codes)}
        if layers.wards is not None and len(layers.wards):
            wards = layers.wards.sort_values("code").reset_index(drop=True)
            wgeoms = np.asarray(shapely.make_valid(wards.geometry.values), dtype=object)
            self.ward_codes = [str(c) for c in wards["code"]]
            self.ward_names = [str(n) for n in wards["name"]]
            self.ward_district = np.array(
                [district_pos.get(str(c), -1) for c in wards["district_code"]], dtype=np.int32
            )
            # Wards are small: finer cells keep most points off the exact test.
            self.ward_grid = GridIndex.build(
                wgeoms, cell_size=min(cell_size_m, _WARD_CELL_M), near_m=None
            )
            for d in np.unique(self.ward_district[self.ward_district >= 0]):
                self.district_wards[int(d)] = np.flatnonzero(self.ward_district == d)
        self.district_has_wards = np.zeros(len(self.district_codes), dtype=bool)
        self.district_has_wards[list(self.district_wards)] = True

        # Drawing: each layer's lines once, in short pieces for clipping.
        self.draw_pieces: dict[str, npt.NDArray[np.object_]] = {}
        draw_sources = {"force": fgeoms, "district": dgeoms}
        if self.ward_grid is not None:
            draw_sources["ward"] = self.ward_grid.geoms
        for key, polys in draw_sources.items():
            merged = dedup_linework(polys)
            self.draw_pieces[key], _ = pieces(
                merged, np.zeros(len(merged), dtype=np.int64), _DRAW_SEGMENTS
            )
        self._make_trees()

    def _make_trees(self) -> None:
        """(Re)build the STRtrees, which are cheap to build and are not saved."""
        self._district_tree = shapely.STRtree(self.district_pieces)
        self._force_trees = [
            shapely.STRtree(self.force_pieces[sel]) for sel in self.force_piece_sets
        ]
        self._draw_trees = {k: shapely.STRtree(v) for k, v in self.draw_pieces.items()}
        # GEOS builds a tree on its first query; build them all now so threads only read.
        probe = shapely.Point(0.0, 0.0)
        for tree in [self._district_tree, *self._force_trees, *self._draw_trees.values()]:
            tree.query(probe)
        # Plain lists for the single-point path, where NumPy scalars cost more than they save.
        self._district_force_list: list[int] = self.district_force.tolist()
        self._force_margin_list: list[float] = self.force_margin.tolist()
        self._force_tree_labels: list[list[int]] = [
            self.force_piece_label[sel].tolist() for sel in self.force_piece_sets
        ]

    # ---------------------------------------------------------------------------- on disk

    def save(self, path: Path) -> None:
        """Write the resolver to the directory ``path``, atomically (see :mod:`geo._cache`).

        Parameters
        ----------
        path
            Destination directory; its parent must exist. Whatever is there is replaced.
        """
        writer = CacheWriter()
        write_layers(writer.child("layers"), self.layers)
        for name in ("boundary_set", "approximate", "near_boundary_m", "nearest_max_m"):
            writer.value(name, getattr(self, name))
        writer.value("cell_size_m", self.cell_size_m)
        for name in _STRING_LISTS:
            writer.value(name, list(getattr(self, name)))
        writer.value("district_bcu", [None if b is None else list(b) for b in self.district_bcu])
        for name, _ in _ARRAYS:
            writer.array(name, getattr(self, name))
        writer.ragged("force_piece_sets", self.force_piece_sets, np.intp, ())
        writer.array("district_wards.keys", np.array(list(self.district_wards), dtype=np.int64))
        writer.ragged("district_wards", list(self.district_wards.values()), np.intp, ())
        writer.geometries("district_pieces", self.district_pieces)
        writer.geometries("force_pieces", self.force_pieces)
        writer.geometries("force_geoms", self.force_geoms)
        writer.value("draw_layers", list(self.draw_pieces))
        for key, lines in self.draw_pieces.items():
            writer.geometries(f"draw.{key}", lines)
        self.grid.write(writer.child("grid"))
        writer.value("has_ward_grid", self.ward_grid is not None)
        if self.ward_grid is not None:
            self.ward_grid.write(writer.child("ward_grid"))
        self.other_force_index.write(writer.child("other_force_index"))
        writer.save(Path(path), _CACHE_FORMAT)

    @classmethod
    def load(cls, path: Path) -> Resolver:
        """Load a resolver saved by :meth:`save`.

        Nothing in the cache is unpickled or run: arrays are read with ``allow_pickle=False``.

        Parameters
        ----------
        path
            The cache directory.

        Returns
        -------
        Resolver

        Raises
        ------
        ReferenceDataError
            If ``path`` is not a saved resolver of this version, or is damaged.
        """
        try:
            with CacheReader.open(Path(path), _CACHE_FORMAT) as reader:
                resolver = cls._read(reader)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ReferenceDataError(f"Cannot read the saved resolver {path}") from exc
        return resolver

    @classmethod
    def _read(cls, reader: CacheReader) -> Resolver:
        self = cls()
        self.layers = read_layers(reader.child("layers"))
        self.boundary_set = reader.string("boundary_set")
        self.approximate = reader.flag("approximate")
        self.near_boundary_m = reader.number("near_boundary_m")
        self.nearest_max_m = reader.number("nearest_max_m")
        self.cell_size_m = reader.number("cell_size_m")
        for name in _STRING_LISTS:
            setattr(self, name, reader.strings(name))
        self.district_bcu = [
            None if b is None else (str(b[0]), str(b[1])) for b in reader.value("district_bcu")
        ]
        for name, dtype in _ARRAYS:
            setattr(self, name, reader.array(name, dtype))
        self.force_piece_sets = reader.ragged("force_piece_sets", np.intp)
        keys = reader.array("district_wards.keys", np.int64).tolist()
        self.district_wards = dict(zip(keys, reader.ragged("district_wards", np.intp), strict=True))
        self.district_pieces = reader.geometries("district_pieces")
        self.force_pieces = reader.geometries("force_pieces")
        self.force_geoms = reader.geometries("force_geoms")
        self.draw_pieces = {
            key: reader.geometries(f"draw.{key}") for key in reader.strings("draw_layers")
        }
        self.grid = GridIndex.read(reader.child("grid"))
        self.ward_grid = (
            GridIndex.read(reader.child("ward_grid")) if reader.flag("has_ward_grid") else None
        )
        self.other_force_index = OtherForceIndex.read(reader.child("other_force_index"))
        self._check_sizes()
        self._make_trees()
        return self

    def _check_sizes(self) -> None:
        """Refuse a loaded resolver whose parts do not fit together (a damaged cache)."""
        n_districts, n_forces = len(self.district_codes), len(self.force_codes)
        fits = (
            len(self.district_names) == len(self.district_force) == n_districts
            and len(self.grid.geoms) == len(self.district_bcu) == n_districts
            and len(self.district_bcu_idx) == len(self.district_has_wards) == n_districts
            and len(self.force_names) == len(self.force_ons_names) == len(self.force_geoms)
            and len(self.force_geoms) == len(self.force_margin) == len(self.force_piece_sets)
            and len(self.force_geoms) == n_forces == self.other_force_index.n_forces
            and len(self.district_pieces) == len(self.district_piece_label)
            and len(self.force_pieces) == len(self.force_piece_label)
            and len(self.ward_codes) == len(self.ward_names) == len(self.ward_district)
            and (self.ward_grid is None or len(self.ward_grid.geoms) == len(self.ward_codes))
        )
        if not fits:
            raise ReferenceDataError("The saved resolver's parts do not fit together")

    # ------------------------------------------------------------------------- many points

    def resolve(
        self,
        eastings: Sequence[float] | npt.ArrayLike,
        northings: Sequence[float] | npt.ArrayLike,
        *,
        detail: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> pd.DataFrame:
        """Resolve many points at once.

        Parameters
        ----------
        eastings, northings
            British National Grid metres; NaN gives ``"outside"``.
        detail
            Add ``bcu_code``, ``ward_code``, ``distance_to_boundary_m``,
            ``nearest_other_force_code`` and ``near_boundary``.
        progress
            Called as ``progress(done, total)`` after each chunk of points.

        Returns
        -------
        pandas.DataFrame
            One row per point, in input order. Code columns are categorical (missing = NaN).
        """
        x = np.asarray(eastings, dtype=np.float64).ravel()
        y = np.asarray(northings, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise ValueError("eastings and northings differ in length")
        n = len(x)
        out: dict[str, list[npt.NDArray[Any]]] = {}
        bounds = [(s, min(s + _CHUNK_POINTS, n)) for s in range(0, max(n, 1), _CHUNK_POINTS)]
        if n >= _PARALLEL_MIN and _WORKERS > 1:
            pool = _pool()
            futures = [pool.submit(self._resolve_arrays, x[a:b], y[a:b], detail) for a, b in bounds]
            parts = []
            for (_, b), fut in zip(bounds, futures, strict=True):
                parts.append(fut.result())
                if progress is not None:
                    progress(b, n)
        else:
            parts = []
            for a, b in bounds:
                parts.append(self._resolve_arrays(x[a:b], y[a:b], detail))
                if progress is not None:
                    progress(b, n)
        for part in parts:
            for k, v in part.items():
                out.setdefault(k, []).append(v)
        cols = {k: np.concatenate(v) for k, v in out.items()}
        frame: dict[str, Any] = {
            "force_code": _categorical(cols["force"], self.force_codes),
            "district_code": _categorical(cols["district"], self.district_codes),
            "method": _categorical(cols["method"], _METHODS),
            "distance_to_area_m": cols["dist_area"],
        }
        if detail:
            frame["bcu_code"] = _categorical(cols["bcu"], self.bcu_codes)
            frame["ward_code"] = _categorical(cols["ward"], self.ward_codes)
            frame["distance_to_boundary_m"] = cols["dist_boundary"]
            frame["nearest_other_force_code"] = _categorical(cols["other_force"], self.force_codes)
            frame["near_boundary"] = cols["near"]
        return pd.DataFrame(frame)

    def _resolve_arrays(
        self, x: FloatArray, y: FloatArray, detail: bool
    ) -> dict[str, npt.NDArray[Any]]:
        n = len(x)
        loc = self.grid.locate(x, y)
        district = loc.index.copy()
        method = np.where(district >= 0, 0, 2).astype(np.int8)
        dist_area = np.where(district >= 0, 0.0, np.nan)
        if not self.approximate:
            want = np.flatnonzero(loc.near & (district < 0))
            if want.size:
                d_idx, d_dist = self._nearest_districts(x[want], y[want])
                ok = d_idx >= 0
                district[want[ok]] = d_idx[ok]
                method[want[ok]] = 1
                dist_area[want[ok]] = d_dist[ok]
        force = np.where(district >= 0, self.district_force[np.maximum(district, 0)], -1)
        result: dict[str, npt.NDArray[Any]] = {
            "force": force.astype(np.int32),
            "district": district,
            "method": method,
            "dist_area": dist_area,
        }
        if not detail:
            return result

        result["bcu"] = np.where(
            district >= 0, self.district_bcu_idx[np.maximum(district, 0)], -1
        ).astype(np.int32)
        dist_b = np.full(n, np.nan)
        other = np.full(n, -1, dtype=np.int32)
        # On a line with another force: distance 0 to that force.
        other_district = loc.other
        on_line = (loc.hits >= 2) & (district >= 0)
        od = other_district[on_line]
        fo = self.district_force[np.maximum(od, 0)]
        cross = np.zeros(n, dtype=bool)
        cross[on_line] = (od >= 0) & (fo != force[on_line])
        dist_b[cross] = 0.0
        other[cross] = self.district_force[other_district[cross]]
        todo = np.flatnonzero((force >= 0) & ~cross)
        dd, oo = self._distance_other(force[todo], x[todo], y[todo])
        dist_b[todo] = dd
        other[todo] = oo
        result["dist_boundary"] = dist_b
        result["other_force"] = np.where(other >= 0, other, -1).astype(np.int32)
        result["near"] = ((dist_b <= self.near_boundary_m) | on_line) & (force >= 0)
        result["ward"] = self._wards(x, y, district)
        return result

    def _nearest_districts(self, x: FloatArray, y: FloatArray) -> tuple[IntArray, FloatArray]:
        """Nearest district within ``nearest_max_m`` (lowest code on ties), or -1."""
        pts = _points(x, y)
        # Every piece within reach, then exact distances: faster than nearest queries here.
        qi, ti = self._district_tree.query(pts, predicate="dwithin", distance=self.nearest_max_m)
        idx = np.full(len(x), -1, dtype=np.int32)
        best = np.full(len(x), np.nan)
        if len(qi):
            dist = _distances(pts[qi], self.district_pieces[ti])
            lab = self.district_piece_label[ti]
            order = np.lexsort((lab, dist, qi))
            qi, lab, dist = qi[order], lab[order], dist[order]
            first = np.ones(len(qi), dtype=bool)
            first[1:] = qi[1:] != qi[:-1]
            idx[qi[first]] = lab[first]
            best[qi[first]] = dist[first]
        return idx, best

    def _distance_other(
        self, force: IntArray, x: FloatArray, y: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        """Distance to the nearest other force's area for points of the given forces."""
        dist, other, ok = self.other_force_index.nearest(x, y, force)
        # The exact tree path sees only pieces within a force's margin, and beyond the margin
        # adds whole polygons: leave those points, and any the index could not certify, to it.
        slow = ~ok | (dist > self.force_margin[force])
        for f in np.unique(force[slow]):
            sel = np.flatnonzero(slow & (force == f))
            dd, oo = self._distance_other_tree(int(f), x[sel], y[sel])
            dist[sel] = dd
            other[sel] = oo
        return dist, other

    def _distance_other_tree(
        self, f: int, x: FloatArray, y: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        """The exact reference path: nearest queries on force ``f``'s STRtree."""
        n = len(x)
        dist = np.full(n, np.inf)
        other = np.full(n, _UNKNOWN, dtype=np.int32)
        sel = self.force_piece_sets[f]
        if len(sel):
            (qi, ti), d = self._force_trees[f].query_nearest(
                shapely.points(x, y), return_distance=True, all_matches=True
            )
            lab = self.force_piece_label[sel[ti]]
            # Ties: a real force before the unknown outer edge, then the lowest code.
            rank = np.where(lab == _UNKNOWN, len(self.force_codes), lab)
            order = np.lexsort((rank, qi))
            qi, lab, d = qi[order], lab[order], d[order]
            first = np.ones(len(qi), dtype=bool)
            first[1:] = qi[1:] != qi[:-1]
            dist[qi[first]] = d[first]
            other[qi[first]] = lab[first]
        # Beyond the margin the tree may have missed a force across water: check them all.
        far = np.flatnonzero(dist > self.force_margin[f])
        if far.size:
            dd, oo = self._distance_other_slow(f, x[far], y[far])
            better = dd < dist[far]
            dist[far[better]] = dd[better]
            other[far[better]] = oo[better]
        dist[np.isinf(dist)] = np.nan
        return dist, other

    def _distance_other_slow(
        self, f: int, x: FloatArray, y: FloatArray
    ) -> tuple[FloatArray, IntArray]:
        pts = _points(x, y)
        dist = np.full(len(x), np.inf)
        other = np.full(len(x), _UNKNOWN, dtype=np.int32)
        for g, geom in enumerate(self.force_geoms):
            if g == f:
                continue
            d = _distances(pts, geom)
            better = d < dist
            dist[better] = d[better]
            other[better] = g
        return dist, other

    def _wards(self, x: FloatArray, y: FloatArray, district: IntArray) -> IntArray:
        ward = np.full(len(x), -1, dtype=np.int32)
        grid = self.ward_grid
        if grid is None:
            return ward
        has = (district >= 0) & self.district_has_wards[np.maximum(district, 0)]
        sel = np.flatnonzero(has)
        if not sel.size:
            return ward
        loc = grid.locate(x[sel], y[sel])
        w, w2 = loc.index, loc.other
        d = district[sel]
        wd = np.where(w >= 0, self.ward_district[np.maximum(w, 0)], -1)
        wd2 = np.where(w2 >= 0, self.ward_district[np.maximum(w2, 0)], -1)
        good = wd == d
        use2 = ~good & (wd2 == d)
        ward[sel[good]] = w[good]
        ward[sel[use2]] = w2[use2]
        bad = ~good & ~use2
        for dist_idx in np.unique(d[bad]):
            pick = np.flatnonzero(bad & (d == dist_idx))
            ward[sel[pick]] = self._nearest_ward(grid, int(dist_idx), x[sel[pick]], y[sel[pick]])
        return ward

    def _nearest_ward(
        self, grid: GridIndex, district: int, x: FloatArray, y: FloatArray
    ) -> IntArray:
        """Nearest ward of a district (lowest code on ties) for points it did not cover.

        ``grid`` is :attr:`ward_grid`, passed by callers that have checked it exists.
        """
        cand = self.district_wards[district]
        pts = _points(x, y)
        d = _distances(grid.geoms[cand][:, None], pts[None, :])
        nearest: npt.NDArray[np.intp] = np.argmin(d, axis=0)
        return cand[nearest].astype(np.int32)

    # --------------------------------------------------------------------------- one point

    def resolve_point(self, easting: float, northing: float) -> Resolution:
        """Resolve one point (the fast path for single lookups; no pandas).

        Parameters
        ----------
        easting, northing
            British National Grid metres.

        Returns
        -------
        Resolution
            The same answer :meth:`resolve` gives for this point, with names.
        """
        x = float(easting)
        y = float(northing)
        if math.isnan(x) or math.isnan(y):
            return self._outside(x, y)
        d, covered, near = self.grid.locate_one(x, y)
        method = "polygon"
        dist_area: float = 0.0
        if d < 0:
            if near and not self.approximate:
                idx, dd = self._nearest_districts(np.array([x]), np.array([y]))
                d = int(idx[0])
                dist_area = float(dd[0])
                method = "nearest"
            if d < 0:
                return self._outside(x, y)
        district_force = self._district_force_list
        f = district_force[d]
        on_line = len(covered) >= 2
        other_f = -1
        dist_b: float | None = None
        for c in covered[1:]:
            cf = district_force[c]
            if cf != f:
                other_f, dist_b = cf, 0.0
                break
        if dist_b is None:
            dd_arr, oo_arr = self._distance_other_one(f, x, y)
            dist_b, other_f = dd_arr, oo_arr
        ward_code = ward_name = None
        if self.ward_grid is not None and self.district_has_wards.item(d):
            w = self._ward_one(self.ward_grid, d, x, y)
            ward_code, ward_name = self.ward_codes[w], self.ward_names[w]
        bcu = self.district_bcu[d]
        return Resolution(
            easting=x,
            northing=y,
            force_code=self.force_codes[f],
            force_name=self.force_names[f],
            force_ons_name=self.force_ons_names[f],
            district_code=self.district_codes[d],
            district_name=self.district_names[d],
            bcu_code=bcu[0] if bcu else None,
            bcu_name=bcu[1] if bcu else None,
            ward_code=ward_code,
            ward_name=ward_name,
            distance_to_boundary_m=dist_b,
            distance_to_area_m=dist_area,
            nearest_other_force_code=self.force_codes[other_f] if other_f >= 0 else None,
            nearest_other_force_name=self.force_names[other_f] if other_f >= 0 else None,
            near_boundary=on_line or (dist_b is not None and dist_b <= self.near_boundary_m),
            method=method,
            boundary_set=self.boundary_set,
            approximate=self.approximate,
        )

    def _outside(self, x: float, y: float) -> Resolution:
        return Resolution(
            easting=x,
            northing=y,
            force_code=None,
            force_name=None,
            force_ons_name=None,
            district_code=None,
            district_name=None,
            bcu_code=None,
            bcu_name=None,
            ward_code=None,
            ward_name=None,
            distance_to_boundary_m=None,
            distance_to_area_m=None,
            nearest_other_force_code=None,
            nearest_other_force_name=None,
            near_boundary=False,
            method="outside",
            boundary_set=self.boundary_set,
            approximate=self.approximate,
        )

    def _distance_other_one(self, f: int, x: float, y: float) -> tuple[float | None, int]:
        sel = self.force_piece_sets[f]
        best = math.inf
        other = _UNKNOWN
        if len(sel):
            ti, d = _nearest_one(self._force_trees[f], x, y)
            if len(ti):
                best = float(d[0])
                labels = self._force_tree_labels[f]
                real = [labels[t] for t in ti.tolist() if labels[t] != _UNKNOWN]
                other = min(real) if real else _UNKNOWN
        if best > self._force_margin_list[f]:
            dd, oo = self._distance_other_slow(f, np.array([x]), np.array([y]))
            if dd[0] < best:
                best, other = float(dd[0]), int(oo[0])
        if math.isinf(best):
            return None, _UNKNOWN
        return best, other

    def _ward_one(self, grid: GridIndex, d: int, x: float, y: float) -> int:
        """The ward of one point of district ``d``; ``grid`` is :attr:`ward_grid`."""
        _, covered, _ = grid.locate_one(x, y)
        for w in covered:
            if self.ward_district.item(w) == d:
                return w
        return int(self._nearest_ward(grid, d, np.array([x]), np.array([y]))[0])

    # ------------------------------------------------------------------------------- maps

    def boundary_lines(
        self, easting: float, northing: float, radius_m: float
    ) -> dict[str, list[list[tuple[float, float]]]]:
        """Boundary lines around a point, clipped to a square box, for drawing a map.

        Parameters
        ----------
        easting, northing
            Centre of the box (British National Grid metres).
        radius_m
            Half the side of the box.

        Returns
        -------
        dict
            ``"force"``, ``"district"`` and ``"ward"`` → lists of lines, each a list of
            ``(easting, northing)``; a layer the set lacks gives an empty list.
        """
        x0, y0 = easting - radius_m, northing - radius_m
        x1, y1 = easting + radius_m, northing + radius_m
        box = shapely.box(x0, y0, x1, y1)
        out: dict[str, list[list[tuple[float, float]]]] = {"force": [], "district": [], "ward": []}
        for key, tree in self._draw_trees.items():
            hit = tree.query(box)
            if not len(hit):
                continue
            clipped = shapely.clip_by_rect(self.draw_pieces[key][np.sort(hit)], x0, y0, x1, y1)
            parts = shapely.get_parts(clipped)
            parts = parts[shapely.get_type_id(parts) == 1]
            coords, idx = shapely.get_coordinates(parts, return_index=True)
            if not len(coords):
                continue
            splits = np.flatnonzero(np.diff(idx)) + 1
            out[key] = [[(float(a), float(b)) for a, b in seg] for seg in np.split(coords, splits)]
        return out

    def map_areas(
        self,
        easting: float,
        northing: float,
        radius_m: float,
        *,
        tolerance: float = 0.0,
        kinds: Sequence[str] = ("force", "district", "ward"),
    ) -> dict[
        str, list[tuple[str, str, list[list[list[tuple[float, float]]]], tuple[float, float]]]
    ]:
        """The force, district and ward areas in a square box, clipped to it, for a drawn map.

        Parameters
        ----------
        easting, northing
            Centre of the box (British National Grid metres).
        radius_m
            Half the side of the box.
        tolerance
            Simplify the shapes by this many metres (for boxes far larger than a town); parts
            smaller than a square of 10 × ``tolerance`` are left out.
        kinds
            Which of the layers to read (the others are returned empty).

        Returns
        -------
        dict
            ``"force"``, ``"district"``, ``"ward"`` → ``(code, name, parts, label_point)`` per
            area reaching into the box (see :func:`geo._linework.clipped_areas`); labels stay
            in the middle 70% of the box where the area reaches it.
        """
        box = (easting - radius_m, northing - radius_m, easting + radius_m, northing + radius_m)
        inset = radius_m * 0.7
        label_box = (easting - inset, northing - inset, easting + inset, northing + inset)
        sources = {
            "force": (self.force_geoms, self.force_codes, self.force_names),
            "district": (self.grid.geoms, self.district_codes, self.district_names),
        }
        if self.ward_grid is not None:
            sources["ward"] = (self.ward_grid.geoms, self.ward_codes, self.ward_names)
        out: dict[str, list[Any]] = {"force": [], "district": [], "ward": []}
        for key, (geoms, codes, names) in sources.items():
            if key not in kinds:
                continue
            out[key] = [
                (codes[i], names[i], parts, label)
                for i, parts, label in clipped_areas(geoms, box, tolerance, label_box)
            ]
        return out

    def areas_at(self, easting: float, northing: float) -> dict[str, list[str]]:
        """Every force, district and ward whose area covers a point (several on a line).

        Parameters
        ----------
        easting, northing
            British National Grid metres.

        Returns
        -------
        dict
            ``"force"``, ``"district"``, ``"ward"`` → ascending codes (empty where none).
        """
        _, covered, _ = self.grid.locate_one(float(easting), float(northing))
        wards: list[str] = []
        if self.ward_grid is not None:
            _, wc, _ = self.ward_grid.locate_one(float(easting), float(northing))
            wards = [self.ward_codes[w] for w in wc]
        forces = sorted({self.force_codes[self.district_force.item(c)] for c in covered})
        return {
            "force": forces,
            "district": [self.district_codes[c] for c in covered],
            "ward": wards,
        }

    def __repr__(self) -> str:
        return (
            f"Resolver({self.boundary_set!r}, districts={len(self.district_codes)}, "
            f"approximate={self.approximate})"
        )
