"""Exact distance from many points to the nearest boundary segment of another force, fast.

The resolver's reference answer for a point of force ``F`` is the minimum, over every boundary
segment labelled with a force other than ``F`` (or with the unknown outer edge of an approximate
set), of GEOS's point-segment distance; equal minima go to a real force before the unknown edge,
then to the lowest force index. :class:`OtherForceIndex` gives that same answer, bit for bit, for
most points without GEOS, and says which points it could not certify so the caller can use the
slow exact path for them.

How, and why it is exact
------------------------
Every segment is densified (for the search only) into vertices at most ``spacing`` apart along
it, endpoints included. Segments are grouped by their undirected end points, so an edge two
forces share is one group carrying both directed copies (both are kept: GEOS measures each copy
in its own direction and the answer must match to the last bit). A group whose labels are
exactly one real force ``g`` (a coast, an unshared edge) is usable only by points outside ``g``;
its vertices go in a k-d tree of their own for ``g``. Every other group is usable by every
point, and its vertices go in one shared tree.

For a point ``p`` let ``d*`` be the exact answer and let the closest point of an answering
segment be ``q``. ``q`` is either an endpoint of that segment (a vertex) or the foot of the
perpendicular from ``p``; in the second case some vertex ``v`` of the segment lies on the same
line within ``spacing / 2`` of ``q``, so ``|p - v|^2 = d*^2 + |q - v|^2``. Either way

    some vertex of every answering segment lies within ``R(d*) = sqrt(d*^2 + spacing^2 / 4)``.

Any usable vertex at distance ``U`` lies on a usable segment, so ``d* <= U`` and ``R(d*) <=
R(U)``. The point is certified when, in every tree that could hold a usable vertex within
``R(U)`` (the shared tree, and each other force's own tree whose bounding box is within reach),
the ``k``-th nearest vertex is farther than ``R(U)``: then every vertex within ``R(U)`` was
returned, so every answering segment is among the candidates, and the exact GEOS arithmetic on
the candidates gives the exact minimum with every tie. Far from a boundary ``R(U) - U`` is about
``spacing^2 / (8 U)``, so only a few vertices are ever in reach. A small slack on ``R`` absorbs
rounding in vertex positions and tree distances; extra candidates never change the answer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from geo._cache import CacheReader, CacheWriter
from geo.errors import ReferenceDataError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

_REL_SLACK = 1e-9
_LEAF = 64
_REACH_CELL_M = 5000.0
_ABS_SLACK_M = 1e-6


def point_segment_distance(
    px: FloatArray, py: FloatArray, ax: FloatArray, ay: FloatArray, bx: FloatArray, by: FloatArray
) -> FloatArray:
    """GEOS's ``Distance::pointToSegment``, operation for operation, vectorised.

    Matching GEOS's arithmetic (not just the geometry) keeps ties between the two directed
    copies of a shared edge, and every distance, identical to the STRtree answers.

    Parameters
    ----------
    px, py
        The points.
    ax, ay, bx, by
        Each point's segment, from ``a`` to ``b`` (same length as the points).

    Returns
    -------
    numpy.ndarray
        The distances.
    """
    dx = bx - ax
    dy = by - ay
    len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        r = ((px - ax) * dx + (py - ay) * dy) / len2
        s = ((ay - py) * dx - (ax - px) * dy) / len2
        mid = np.abs(s) * np.sqrt(len2)
    ex, ey = px - ax, py - ay
    da = np.sqrt(ex * ex + ey * ey)
    fx, fy = px - bx, py - by
    db = np.sqrt(fx * fx + fy * fy)
    out = np.where(r <= 0.0, da, np.where(r >= 1.0, db, mid))
    # GEOS tests A == B first; a zero-length segment is its start point.
    return np.where((ax == bx) & (ay == by), da, out)


class OtherForceIndex:
    """Nearest other-force segment for many points, exact where certified.

    Build with :meth:`build`. The object is plain arrays, which :meth:`write` stores; the k-d
    trees are rebuilt by :meth:`read`.
    """

    spacing: float
    k: int
    n_forces: int
    seg: FloatArray  # (S, 4): ax, ay, bx, by, in each segment's own direction
    seg_label: IntArray  # force index, or -1 for the unknown outer edge
    group_segs: IntArray  # (G, W) directed segments of each undirected group, -1 padded
    shared_xy: FloatArray
    shared_group: IntArray
    own_force: list[int]  # force g of each own tree
    own_xy: list[FloatArray]
    own_group: list[IntArray]

    @classmethod
    def build(
        cls,
        seg: FloatArray,
        seg_label: npt.NDArray[np.integer[Any]],
        n_forces: int,
        *,
        spacing: float = 50.0,
        k: int = 8,
    ) -> OtherForceIndex:
        """Index directed boundary segments.

        Parameters
        ----------
        seg
            ``(S, 4)`` array of segments ``ax, ay, bx, by`` exactly as the exact path measures
            them.
        seg_label
            Force index of each segment's force (``-1``: the unknown outer edge).
        n_forces
            Number of forces (the rank of the unknown label on ties).
        spacing
            Largest distance between search vertices along a segment (metres).
        k
            Vertices fetched per tree and point.

        Returns
        -------
        OtherForceIndex
        """
        self = cls()
        self.spacing = float(spacing)
        self.k = int(k)
        self.n_forces = int(n_forces)
        self.seg = np.ascontiguousarray(seg, dtype=np.float64).reshape(-1, 4)
        self.seg_label = np.asarray(seg_label, dtype=np.int32)
        n = len(self.seg)
        a, b = self.seg[:, :2], self.seg[:, 2:]
        swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
        key = np.hstack([np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)])
        if n:
            _, group = np.unique(key, axis=0, return_inverse=True)
            group = group.ravel()
        else:
            group = np.empty(0, dtype=np.int64)
        n_groups = int(group.max()) + 1 if n else 0

        order = np.argsort(group, kind="stable")
        counts = np.bincount(group, minlength=n_groups)
        width = int(counts.max()) if n else 1
        start = np.cumsum(counts) - counts
        slot = np.arange(n) - np.repeat(start, counts)
        self.group_segs = np.full((n_groups, width), -1, dtype=np.int32)
        self.group_segs[group[order], slot] = order

        # A group is "own" when all its copies carry one real force: usable by other forces only.
        lab = self.seg_label[order]
        lo = np.full(n_groups, np.iinfo(np.int32).max, dtype=np.int64)
        hi = np.full(n_groups, np.iinfo(np.int32).min, dtype=np.int64)
        np.minimum.at(lo, group[order], lab)
        np.maximum.at(hi, group[order], lab)
        owner = np.where((lo == hi) & (lo >= 0), lo, -1)

        # Densify each group once, from its first copy.
        first = self.group_segs[:, 0] if n_groups else np.empty(0, dtype=np.int32)
        ga, gb = self.seg[first, :2], self.seg[first, 2:]
        length = np.hypot(gb[:, 0] - ga[:, 0], gb[:, 1] - ga[:, 1])
        parts = np.maximum(np.ceil(length / self.spacing), 1).astype(np.int64)
        vgroup = np.repeat(np.arange(n_groups), parts + 1)
        step = np.arange(len(vgroup)) - np.repeat(np.cumsum(parts + 1) - (parts + 1), parts + 1)
        t = (step / np.repeat(parts, parts + 1))[:, None]
        vxy = ga[vgroup] + t * (gb[vgroup] - ga[vgroup])
        vowner = owner[vgroup]

        shared = vowner < 0
        self.shared_xy = np.ascontiguousarray(vxy[shared])
        self.shared_group = vgroup[shared].astype(np.int32)
        self.own_force, self.own_xy, self.own_group = [], [], []
        for g in np.unique(vowner[~shared]).tolist():
            pick = vowner == g
            self.own_force.append(int(g))
            self.own_xy.append(np.ascontiguousarray(vxy[pick]))
            self.own_group.append(vgroup[pick].astype(np.int32))
        self._make_trees()
        self._build_own_reach()
        return self

    def _make_trees(self) -> None:
        # Bigger leaves than the default: queries here are often kilometres from any vertex,
        # where small leaves mean many empty partition cells to visit.
        self._shared_tree = cKDTree(self.shared_xy, leafsize=_LEAF) if len(self.shared_xy) else None
        self._own_trees = [cKDTree(xy, leafsize=_LEAF) for xy in self.own_xy]

    def _build_own_reach(self) -> None:
        """A coarse grid of lower bounds on the distance to each force's own vertices.

        A point needs force ``g``'s own tree only if some vertex of it is within reach, so
        these bounds skip nearly every such query.
        """
        if len(self.own_xy):
            lo = np.min([xy.min(axis=0) for xy in self.own_xy], axis=0)
            hi = np.max([xy.max(axis=0) for xy in self.own_xy], axis=0)
        else:
            lo = hi = np.zeros(2)
        cell = _REACH_CELL_M
        self.reach_x0 = float(math.floor(lo[0] / cell) * cell)
        self.reach_y0 = float(math.floor(lo[1] / cell) * cell)
        self.reach_nx = math.floor((hi[0] - self.reach_x0) / cell) + 1
        self.reach_ny = math.floor((hi[1] - self.reach_y0) / cell) + 1
        iy, ix = np.divmod(np.arange(self.reach_nx * self.reach_ny), self.reach_nx)
        centres = np.column_stack(
            [self.reach_x0 + (ix + 0.5) * cell, self.reach_y0 + (iy + 0.5) * cell]
        )
        half_diagonal = cell / math.sqrt(2.0)
        bounds = np.empty((len(centres), len(self.own_xy)), dtype=np.float32)
        for t, tree in enumerate(self._own_trees):
            d, _ = tree.query(centres, k=1)
            # Every point of the cell is at most half a diagonal from its centre; a metre
            # more absorbs rounding to float32.
            bounds[:, t] = np.maximum(d - half_diagonal - 1.0, 0.0)
        self.reach_lb = bounds

    def _reach_cells(self, x: FloatArray, y: FloatArray) -> npt.NDArray[np.intp]:
        """Each point's cell in the own-vertex bound grid, or -1 off the grid."""
        with np.errstate(invalid="ignore"):
            fx = np.floor((x - self.reach_x0) / _REACH_CELL_M)
            fy = np.floor((y - self.reach_y0) / _REACH_CELL_M)
        on = (fx >= 0) & (fx < self.reach_nx) & (fy >= 0) & (fy < self.reach_ny)
        flat = np.full(len(x), -1, dtype=np.intp)
        flat[on] = fy[on].astype(np.intp) * self.reach_nx + fx[on].astype(np.intp)
        return flat

    def write(self, writer: CacheWriter) -> None:
        """Store the index's arrays (see :mod:`geo._cache`); the trees are not stored."""
        writer.value("spacing", self.spacing)
        writer.value("k", self.k)
        writer.value("n_forces", self.n_forces)
        writer.array("seg", self.seg)
        writer.array("seg_label", self.seg_label)
        writer.array("group_segs", self.group_segs)
        writer.array("shared_xy", self.shared_xy)
        writer.array("shared_group", self.shared_group)
        writer.value("own_force", list(self.own_force))
        writer.ragged("own_xy", self.own_xy, np.float64, (2,))
        writer.ragged("own_group", self.own_group, np.int32, ())
        writer.value("reach_x0", self.reach_x0)
        writer.value("reach_y0", self.reach_y0)
        writer.value("reach_nx", self.reach_nx)
        writer.value("reach_ny", self.reach_ny)
        writer.array("reach_lb", self.reach_lb)

    @classmethod
    def read(cls, reader: CacheReader) -> OtherForceIndex:
        """Rebuild an index stored by :meth:`write`, k-d trees included.

        Raises
        ------
        ReferenceDataError
            If a field is missing or the arrays do not fit together.
        """
        self = cls()
        self.spacing = reader.number("spacing")
        self.k = reader.integer("k")
        self.n_forces = reader.integer("n_forces")
        self.seg = reader.array("seg", np.float64, 2)
        self.seg_label = reader.array("seg_label", np.int32)
        self.group_segs = reader.array("group_segs", np.int32, 2)
        self.shared_xy = reader.array("shared_xy", np.float64, 2)
        self.shared_group = reader.array("shared_group", np.int32)
        self.own_force = [int(g) for g in reader.value("own_force")]
        self.own_xy = reader.ragged("own_xy", np.float64, 2)
        self.own_group = reader.ragged("own_group", np.int32)
        self.reach_x0 = reader.number("reach_x0")
        self.reach_y0 = reader.number("reach_y0")
        self.reach_nx = reader.integer("reach_nx")
        self.reach_ny = reader.integer("reach_ny")
        self.reach_lb = reader.array("reach_lb", np.float32, 2)
        n_own = len(self.own_force)
        if (
            len(self.own_xy) != n_own
            or len(self.own_group) != n_own
            or self.reach_lb.shape != (self.reach_nx * self.reach_ny, n_own)
            or len(self.seg) != len(self.seg_label)
            or self.seg.shape[1:] != (4,)
        ):
            raise ReferenceDataError("The cached distance index does not fit together")
        self._make_trees()
        return self

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (not the trees, which hold about as much again)."""
        arrays: list[npt.NDArray[Any]] = [
            self.seg,
            self.seg_label,
            self.group_segs,
            self.shared_xy,
            self.shared_group,
            self.reach_lb,
            *self.own_xy,
            *self.own_group,
        ]
        return int(sum(a.nbytes for a in arrays))

    def _reach(self, u: FloatArray) -> FloatArray:
        """Radius holding a vertex of every segment at distance <= ``u`` (with slack)."""
        return np.sqrt(u * u + 0.25 * self.spacing**2) * (1.0 + _REL_SLACK) + _ABS_SLACK_M

    def _query(self, tree: cKDTree, xy: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
        d, i = tree.query(xy, k=self.k)
        d = np.asarray(d, dtype=np.float64).reshape(len(xy), -1)
        i = np.asarray(i, dtype=np.intp).reshape(len(xy), -1)
        return d, i

    def nearest(
        self, x: FloatArray, y: FloatArray, force: npt.NDArray[np.integer[Any]]
    ) -> tuple[FloatArray, IntArray, npt.NDArray[np.bool_]]:
        """Distance to, and force of, the nearest segment of another force.

        Parameters
        ----------
        x, y
            Point coordinates.
        force
            Force index of each point (0 or more).

        Returns
        -------
        tuple
            ``(distance, other_force, certified)``; where ``certified`` is False the first two
            are meaningless and the caller must use the exact path.
        """
        f32: IntArray = np.asarray(force, dtype=np.int32)
        if not len(x):
            return np.empty(0), np.empty(0, dtype=np.int32), np.empty(0, dtype=bool)
        # Postcodes of one building share a centroid: measure each place once.
        order = np.lexsort((force, y, x))
        xs, ys, fs = x[order], y[order], f32[order]
        first = np.ones(len(xs), dtype=bool)
        first[1:] = (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1]) | (fs[1:] != fs[:-1])
        slot = np.empty(len(xs), dtype=np.intp)
        slot[order] = np.cumsum(first) - 1
        keep = order[first]
        dist, other, certified = self._nearest_unique(x[keep], y[keep], f32[keep])
        return dist[slot], other[slot], certified[slot]

    def _nearest_unique(
        self, x: FloatArray, y: FloatArray, force: IntArray
    ) -> tuple[FloatArray, IntArray, npt.NDArray[np.bool_]]:
        n = len(x)
        xy = np.column_stack([x, y])
        # (point, vertex group) pairs whose vertex may hold an answering segment, per tree.
        hits: list[tuple[npt.NDArray[np.intp], FloatArray, npt.NDArray[np.int32]]] = []
        upper = np.full(n, np.inf)
        if self._shared_tree is not None:
            d, i = self._query(self._shared_tree, xy)
            upper = d[:, 0].copy()
            hits.append((np.arange(n), d, self._lookup(self.shared_group, i)))
        reach0 = self._reach(upper)
        cells = self._reach_cells(x, y)
        on = cells >= 0
        lower = np.zeros(n, dtype=np.float32)
        for t, g in enumerate(self.own_force):
            # Off the grid the bound is 0: the tree is asked.
            lower[on] = self.reach_lb[cells[on], t]
            want = (force != g) & (lower <= reach0)
            sel = np.flatnonzero(want)
            if not sel.size:
                continue
            d, i = self._query(self._own_trees[t], xy[sel])
            upper[sel] = np.minimum(upper[sel], d[:, 0])
            hits.append((sel, d, self._lookup(self.own_group[t], i)))
        reach = self._reach(upper)

        certified = np.isfinite(upper)
        pt_parts, grp_parts = [], []
        for sel, d, grp in hits:
            r = reach[sel]
            certified[sel] &= d[:, -1] > r
            rows, cols = np.nonzero((d <= r[:, None]) & (grp >= 0))
            pt_parts.append(sel[rows])
            grp_parts.append(grp[rows, cols])
        pt = np.concatenate(pt_parts) if pt_parts else np.empty(0, dtype=np.intp)
        grp = np.concatenate(grp_parts) if grp_parts else np.empty(0, dtype=np.int32)

        # Every directed copy of every candidate group that belongs to another force.
        segs = self.group_segs[grp]
        pt = np.repeat(pt, segs.shape[1])
        segs = segs.ravel()
        ok = segs >= 0
        pt, segs = pt[ok], segs[ok]
        keep = self.seg_label[segs] != force[pt]
        pt, segs = pt[keep], segs[keep]
        s = self.seg[segs]
        dist = point_segment_distance(x[pt], y[pt], s[:, 0], s[:, 1], s[:, 2], s[:, 3])

        best = np.full(n, np.inf)
        np.minimum.at(best, pt, dist)
        lab = self.seg_label[segs]
        # Ties: a real force before the unknown outer edge, then the lowest index.
        rank = np.where(lab < 0, self.n_forces, lab)
        tie = dist == best[pt]
        best_rank = np.full(n, np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(best_rank, pt[tie], rank[tie])
        other = np.where(best_rank == self.n_forces, -1, best_rank).astype(np.int32)
        certified &= np.isfinite(best)
        return best, other, certified

    @staticmethod
    def _lookup(groups: IntArray, i: npt.NDArray[np.intp]) -> npt.NDArray[np.int32]:
        """Vertex group per returned index (missing neighbours, index == size, give -1)."""
        padded = np.append(groups, np.int32(-1))
        return padded[np.minimum(i, len(groups))]
