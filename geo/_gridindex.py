"""A uniform grid over a polygon coverage that answers point-in-polygon by array lookup.

Every cell is one of:

* inside one polygon, with no polygon edge passing through it: the answer is the cell's value;
* crossed (or touched) by an edge: the cell keeps a short, ascending list of candidate polygons
  (CSR arrays) and points in it are tested exactly with ``shapely.intersects_xy``;
* empty and within ``near_m`` of some polygon: the caller may look for the nearest polygon;
* empty and farther: nothing is there.

Edge cells are found conservatively: rings are densified to at most a quarter of a cell and every
segment marks each cell its closed bounding box meets, so no cell an edge touches is missed. The
inside/empty value of the other cells comes from an exact scan-line fill at cell centres (even-odd
rule), which needs nothing but NumPy.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from geo._cache import CacheReader, CacheWriter, geoms_from_wkb
from geo.errors import ReferenceDataError

# Cell values below zero.
EMPTY_NEAR = -1
EMPTY_FAR = -2
_EDGE_BASE = -3  # value = _EDGE_BASE - k for candidate list k

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


@dataclass
class Located:
    """Where the grid put a batch of points.

    Attributes
    ----------
    index
        Polygon index (lowest index among the polygons that cover the point), -1 for none.
    hits
        How many polygons cover the point (2 or more: the point is on a shared line).
    other
        For points covered by more than one polygon, the second-lowest covering index, else -1.
    near
        True where no polygon covers the point but one may lie within ``near_m``.
    """

    index: IntArray
    hits: npt.NDArray[np.int8]
    other: IntArray
    near: npt.NDArray[np.bool_]


class GridIndex:
    """Point-in-polygon by grid lookup, exact on edges.

    Parameters are set by :meth:`build`; the object is plain arrays plus the polygons, so
    :meth:`write` and :meth:`read` store it as arrays (the polygons are re-prepared on reading).

    Thread safety: GEOS prepared polygons must not be queried from two threads at once, so each
    thread other than the builder's gets its own prepared copy on first use.
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    cells: IntArray
    cand_ptr: IntArray
    cand_idx: IntArray
    geoms: npt.NDArray[np.object_]

    @classmethod
    def build(
        cls,
        geoms: npt.NDArray[np.object_],
        *,
        cell_size: float,
        near_m: float | None,
    ) -> GridIndex:
        """Build the grid for polygons in the order given (index = position).

        Parameters
        ----------
        geoms
            Polygons/MultiPolygons; a lower position wins where polygons touch or overlap.
        cell_size
            Cell side in metres.
        near_m
            Empty cells within this distance of a polygon are flagged "near" (for a
            nearest-polygon fallback); ``None`` flags none.

        Returns
        -------
        GridIndex
            The prepared grid.
        """
        self = cls()
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        margin = (near_m or 0.0) + 2 * cell_size
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        self.cell = float(cell_size)
        self.x0 = math.floor((xmin - margin) / cell_size) * cell_size
        self.y0 = math.floor((ymin - margin) / cell_size) * cell_size
        self.nx = math.ceil((xmax + margin - self.x0) / cell_size) + 1
        self.ny = math.ceil((ymax + margin - self.y0) / cell_size) + 1
        self.geoms = geoms

        rings = shapely.get_rings(shapely.get_parts(geoms))
        _, part_owner = shapely.get_parts(geoms, return_index=True)
        ring_counts = shapely.get_num_interior_rings(shapely.get_parts(geoms)) + 1
        ring_owner = np.repeat(part_owner, ring_counts)

        fill, count = self._scanline_fill(rings, ring_owner)
        edge_cell, edge_poly = self._edge_cells(rings, ring_owner)

        cells = np.where(count == 1, fill, -1).astype(np.int32).ravel()
        # A cell centre inside two polygons (overlapping input) cannot be answered by lookup:
        # make it an edge cell of every polygon whose box holds it.
        overlap = np.flatnonzero(count.ravel() > 1)
        if overlap.size:
            cx, cy = self._centres(overlap)
            tree = shapely.STRtree(geoms)
            pi, gi = tree.query(shapely.points(cx, cy))
            edge_cell = np.concatenate([edge_cell, overlap[pi]])
            edge_poly = np.concatenate([edge_poly, gi.astype(np.int64)])

        key = np.unique(edge_cell.astype(np.int64) * n + edge_poly)
        kc = key // n
        kp = (key % n).astype(np.int32)
        ucell, start = np.unique(kc, return_index=True)
        self.cand_ptr = np.append(start, len(kp)).astype(np.int32)
        self.cand_idx = kp
        cells[ucell] = _EDGE_BASE - np.arange(len(ucell), dtype=np.int32)

        empty = cells == -1
        if near_m is None:
            cells[empty] = EMPTY_FAR
        else:
            occupied = (~empty).reshape(self.ny, self.nx)
            near = _dilate_disk(occupied, near_m, cell_size).ravel()
            cells[empty & ~near] = EMPTY_FAR
            cells[empty & near] = EMPTY_NEAR
        self.cells = cells
        self._init_threads()
        return self

    def _init_threads(self, wkb: npt.NDArray[np.object_] | None = None) -> None:
        """Prepare the polygons, and keep their WKB for other threads' copies."""
        _prepare(self.geoms)
        self._wkb = shapely.to_wkb(self.geoms) if wkb is None else wkb
        self._owner = threading.get_ident()
        self._local = threading.local()

    def _thread_geoms(self) -> npt.NDArray[np.object_]:
        """The polygons this thread may test (the originals only in the building thread)."""
        if threading.get_ident() == self._owner:
            return self.geoms
        geoms = getattr(self._local, "geoms", None)
        if geoms is None:
            geoms = np.asarray(shapely.from_wkb(self._wkb), dtype=object)
            _prepare(geoms)
            self._local.geoms = geoms
        return geoms

    # -- building -------------------------------------------------------------------------

    def _centres(self, flat: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
        iy, ix = np.divmod(flat, self.nx)
        return self.x0 + (ix + 0.5) * self.cell, self.y0 + (iy + 0.5) * self.cell

    def _scanline_fill(
        self, rings: npt.NDArray[np.object_], ring_owner: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Polygon index (and how many polygons) at every cell centre, by even-odd scan lines."""
        coords, ridx = shapely.get_coordinates(rings, return_index=True)
        same = ridx[1:] == ridx[:-1]
        x1, y1 = coords[:-1][same, 0], coords[:-1][same, 1]
        x2, y2 = coords[1:][same, 0], coords[1:][same, 1]
        owner = ring_owner[ridx[:-1][same]]
        # Row k's centre line is y0 + (k + 0.5) * cell; an edge crosses rows with lo <= yc < hi.
        lo, hi = np.minimum(y1, y2), np.maximum(y1, y2)
        k_lo = np.ceil((lo - self.y0) / self.cell - 0.5).astype(np.int64)
        k_hi = np.ceil((hi - self.y0) / self.cell - 0.5).astype(np.int64)  # exclusive
        nrow = np.maximum(k_hi - k_lo, 0)
        e = np.repeat(np.arange(len(nrow)), nrow)
        first = np.repeat(np.cumsum(nrow) - nrow, nrow)
        row = k_lo[e] + (np.arange(len(e)) - first)
        yc = self.y0 + (row + 0.5) * self.cell
        t = (yc - y1[e]) / (y2[e] - y1[e])
        xc = x1[e] + t * (x2[e] - x1[e])
        poly = owner[e]
        order = np.lexsort((xc, row, poly))
        xc, row, poly = xc[order], row[order], poly[order]
        xa, xb = xc[0::2], xc[1::2]
        rr, pp = row[0::2], poly[0::2]
        ja = np.ceil((xa - self.x0) / self.cell - 0.5).astype(np.int64)
        jb = np.ceil((xb - self.x0) / self.cell - 0.5).astype(np.int64)
        ok = jb > ja
        ja, jb, rr, pp = ja[ok], jb[ok], rr[ok], pp[ok]
        width = self.nx + 1
        val = np.zeros(self.ny * width, dtype=np.int64)
        cnt = np.zeros(self.ny * width, dtype=np.int64)
        np.add.at(val, rr * width + ja, pp)
        np.add.at(val, rr * width + jb, -pp)
        np.add.at(cnt, rr * width + ja, 1)
        np.add.at(cnt, rr * width + jb, -1)
        val = np.cumsum(val.reshape(self.ny, width), axis=1)[:, : self.nx]
        cnt = np.cumsum(cnt.reshape(self.ny, width), axis=1)[:, : self.nx]
        return val, cnt

    def _edge_cells(
        self, rings: npt.NDArray[np.object_], ring_owner: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Cells any ring passes through or touches, with the ring's polygon.

        After densifying, every segment is at most a quarter cell long, so its closed bounding
        box spans at most two cells each way; marking every cell that box meets catches every
        cell the segment touches, including cells it only grazes along a shared cell edge.
        """
        dense = shapely.segmentize(rings, self.cell / 4.0)
        coords, ridx = shapely.get_coordinates(dense, return_index=True)
        s = np.flatnonzero(ridx[1:] == ridx[:-1])
        a, b = coords[s], coords[s + 1]
        owner = ring_owner[ridx[s]]
        ix0 = np.floor((np.minimum(a[:, 0], b[:, 0]) - self.x0) / self.cell).astype(np.int64)
        ix1 = np.floor((np.maximum(a[:, 0], b[:, 0]) - self.x0) / self.cell).astype(np.int64)
        iy0 = np.floor((np.minimum(a[:, 1], b[:, 1]) - self.y0) / self.cell).astype(np.int64)
        iy1 = np.floor((np.maximum(a[:, 1], b[:, 1]) - self.y0) / self.cell).astype(np.int64)
        cells_out = [iy * self.nx + ix for iy in (iy0, iy1) for ix in (ix0, ix1)]
        return np.concatenate(cells_out), np.tile(owner, 4)

    # -- queries --------------------------------------------------------------------------

    def locate(self, x: FloatArray, y: FloatArray) -> Located:
        """Locate many points.

        Parameters
        ----------
        x, y
            Coordinates (same CRS as the polygons); NaN gives "nothing there".

        Returns
        -------
        Located
            Per point: covering polygon (lowest index), hit count, second cover, near flag.
        """
        n = len(x)
        with np.errstate(invalid="ignore"):
            fx = np.floor((x - self.x0) / self.cell)
            fy = np.floor((y - self.y0) / self.cell)
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        flat = np.zeros(n, dtype=np.int64)
        flat[inside] = fy[inside].astype(np.int64) * self.nx + fx[inside].astype(np.int64)
        value = np.full(n, EMPTY_FAR, dtype=np.int32)
        value[inside] = self.cells[flat[inside]]

        index = np.where(value >= 0, value, -1).astype(np.int32)
        hits = (value >= 0).astype(np.int8)
        other = np.full(n, -1, dtype=np.int32)
        near = value == EMPTY_NEAR

        edge = np.flatnonzero(value <= _EDGE_BASE)
        if edge.size:
            k = _EDGE_BASE - value[edge]
            start = self.cand_ptr[k]
            cnt = self.cand_ptr[k + 1] - start
            pt = np.repeat(edge, cnt)
            off = np.arange(len(pt)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            cand = self.cand_idx[np.repeat(start, cnt) + off]
            hit = np.zeros(len(pt), dtype=bool)
            geoms = self._thread_geoms()
            # One exact call per polygon, over every point that has it as a candidate.
            order = np.argsort(cand, kind="stable")
            cs = cand[order]
            bounds = np.flatnonzero(np.diff(cs)) + 1
            for grp in np.split(order, bounds):
                g = geoms[cand[grp[0]]]
                hit[grp] = shapely.intersects_xy(g, x[pt[grp]], y[pt[grp]])
            # Pairs are point-major with ascending candidates, so the first hit is the lowest.
            hp, hc = pt[hit], cand[hit]
            nh = np.bincount(hp, minlength=n)[edge]
            hits[edge] = np.minimum(nh, 127).astype(np.int8)
            first = np.ones(len(hp), dtype=bool)
            first[1:] = hp[1:] != hp[:-1]
            index[hp[first]] = hc[first]
            second = np.zeros(len(hp), dtype=bool)
            second[1:] = (hp[1:] == hp[:-1]) & first[:-1]
            other[hp[second]] = hc[second]
            near[edge[nh == 0]] = True
        return Located(index=index, hits=hits, other=other, near=near)

    def locate_one(self, x: float, y: float) -> tuple[int, list[int], bool]:
        """Locate one point without NumPy temporaries.

        Returns
        -------
        tuple
            (lowest covering index or -1, every covering index ascending, near flag).
        """
        fx = math.floor((x - self.x0) / self.cell)
        fy = math.floor((y - self.y0) / self.cell)
        if not (0 <= fx < self.nx and 0 <= fy < self.ny):
            return -1, [], False
        value = int(self.cells.item(fy * self.nx + fx))
        if value >= 0:
            return value, [value], False
        if value == EMPTY_NEAR:
            return -1, [], True
        if value == EMPTY_FAR:
            return -1, [], False
        k = _EDGE_BASE - value
        geoms = self._thread_geoms()
        covered = [
            c
            for c in self.cand_idx[self.cand_ptr.item(k) : self.cand_ptr.item(k + 1)].tolist()
            if shapely.intersects_xy(geoms[c], x, y)
        ]
        if covered:
            return covered[0], covered, False
        return -1, [], True

    @property
    def nbytes(self) -> int:
        """Bytes held by the grid arrays (not the polygons)."""
        return int(self.cells.nbytes + self.cand_ptr.nbytes + self.cand_idx.nbytes)

    def write(self, writer: CacheWriter) -> None:
        """Store the grid and its polygons (see :mod:`geo._cache`)."""
        writer.value("x0", self.x0)
        writer.value("y0", self.y0)
        writer.value("cell", self.cell)
        writer.value("nx", self.nx)
        writer.value("ny", self.ny)
        writer.array("cells", self.cells)
        writer.array("cand_ptr", self.cand_ptr)
        writer.array("cand_idx", self.cand_idx)
        writer.wkb("geoms", self.geoms)

    @classmethod
    def read(cls, reader: CacheReader) -> GridIndex:
        """Rebuild a grid stored by :meth:`write`.

        Raises
        ------
        ReferenceDataError
            If a field is missing or the arrays do not fit together.
        """
        self = cls()
        self.x0 = reader.number("x0")
        self.y0 = reader.number("y0")
        self.cell = reader.number("cell")
        self.nx = reader.integer("nx")
        self.ny = reader.integer("ny")
        self.cells = reader.array("cells", np.int32)
        self.cand_ptr = reader.array("cand_ptr", np.int32)
        self.cand_idx = reader.array("cand_idx", np.int32)
        wkb = reader.wkb("geoms")
        self.geoms = geoms_from_wkb(wkb)
        # Only sizes: the cache's checksums already vouch for the values.
        if (
            len(self.cells) != self.nx * self.ny
            or len(self.cand_ptr) < 1
            or int(self.cand_ptr[-1]) != len(self.cand_idx)
        ):
            raise ReferenceDataError("The cached grid does not fit together")
        self._init_threads(wkb)
        return self


def _prepare(geoms: npt.NDArray[np.object_]) -> None:
    """Prepare polygons and build their point-location indexes now.

    GEOS builds a prepared polygon's index on first use; doing it here means threads that
    query the grid later only ever read.
    """
    shapely.prepare(geoms)
    if len(geoms):
        shapely.intersects_xy(geoms, 0.0, 0.0)


def _dilate_disk(
    mask: npt.NDArray[np.bool_], distance: float, cell: float
) -> npt.NDArray[np.bool_]:
    """Cells with some point within ``distance`` of some point of a masked cell.

    Cells ``(dx, dy)`` apart are at least ``(max(|dx|-1, 0), max(|dy|-1, 0)) * cell`` apart, so
    the reach is a rounded disk: the union of a few rectangles, each a separable dilation.
    """
    reach: dict[int, int] = {}
    dy = 0
    while max(dy - 1, 0) * cell <= distance:
        gap_y = max(dy - 1, 0) * cell
        dx = math.floor(math.sqrt(max(distance**2 - gap_y**2, 0.0)) / cell) + 1
        reach[dx] = dy  # the largest dy for each dx; smaller ones are inside it
        dy += 1
    out = np.zeros_like(mask)
    for dx, dy in reach.items():
        out |= _dilate(mask, dy, dx)
    return out


def _dilate(mask: npt.NDArray[np.bool_], ry: int, rx: int) -> npt.NDArray[np.bool_]:
    """Rectangular dilation of a boolean grid by ``ry`` rows and ``rx`` columns."""
    out = mask
    for axis, radius in ((0, ry), (1, rx)):
        c = np.cumsum(out, axis=axis, dtype=np.int32)
        pad_shape = list(c.shape)
        pad_shape[axis] = 1
        c = np.concatenate([np.zeros(pad_shape, dtype=np.int32), c], axis=axis)
        size = out.shape[axis]
        hi = np.minimum(np.arange(size) + radius + 1, size)
        lo = np.maximum(np.arange(size) - radius, 0)
        out = (np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)) > 0
    return out
