"""Boundary linework for the resolver: polygon edges cut into short, labelled pieces.

Every function takes and returns arrays of shapely geometries; none knows about forces.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["clipped_areas", "dedup_linework", "dissolve", "outer_linework", "pieces"]


def pieces(
    lines: npt.NDArray[np.object_], labels: npt.NDArray[np.int64], segments: int
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Cut lines into pieces of at most ``segments`` segments, keeping each line's label.

    Parameters
    ----------
    lines
        Line geometries (multi-part lines are split into their parts first).
    labels
        One label per line.
    segments
        Most segments per piece; short pieces make tree queries cheap.

    Returns
    -------
    tuple
        ``(pieces, piece_labels)``: LineStrings and the label of the line each came from.
    """
    parts, owner = shapely.get_parts(lines, return_index=True)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(idx)) + 1]
    ends = np.r_[starts[1:], len(idx)]
    nseg = ends - starts - 1
    npieces = np.maximum(np.ceil(nseg / segments).astype(np.int64), 0)
    line_of_piece = np.repeat(np.arange(len(starts)), npieces)
    k = np.arange(len(line_of_piece)) - np.repeat(np.cumsum(npieces) - npieces, npieces)
    p0 = starts[line_of_piece] + k * segments
    p1 = np.minimum(p0 + segments, ends[line_of_piece] - 1)
    count = p1 - p0 + 1
    take = np.repeat(p0, count) + (
        np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    )
    geoms = shapely.linestrings(coords[take], indices=np.repeat(np.arange(len(p0)), count))
    return np.asarray(geoms, dtype=object), labels[owner[idx[starts[line_of_piece]]]]


def _segments(
    polygons: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Ring coordinates, the start position of each segment, and a key per segment.

    The key is the same for a segment and its reverse, so shared edges get equal keys.
    """
    parts, owner = shapely.get_parts(shapely.boundary(polygons), return_index=True)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    s = np.flatnonzero(idx[1:] == idx[:-1])
    a, b = coords[s], coords[s + 1]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    key = np.hstack([np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)])
    _, inverse = np.unique(key, axis=0, return_inverse=True)
    return coords, s, np.column_stack([inverse.ravel(), owner[idx[s]]])


def _runs(
    coords: npt.NDArray[np.float64], kept: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Lines from runs of consecutive kept segments (given by start position), and each
    line's first segment position."""
    if not len(kept):
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    run_start = np.r_[True, kept[1:] != kept[:-1] + 1]
    run_id = np.cumsum(run_start) - 1
    last = np.r_[np.flatnonzero(run_start[1:]), len(kept) - 1]
    pos = np.concatenate([kept, kept[last] + 1])
    lab = np.concatenate([run_id, np.arange(len(last))])
    order = np.lexsort((pos, lab))
    lines = shapely.linestrings(coords[pos[order]], indices=lab[order])
    return np.asarray(lines, dtype=object), kept[run_start]


def dedup_linework(polygons: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Boundaries of polygons with every shared segment kept once (for drawing).

    Segments are matched by their end points, which suits coverages (ONS boundaries, dissolved
    Voronoi cells) whose neighbours share vertices; elsewhere a line may be drawn twice.

    Parameters
    ----------
    polygons
        Polygons and MultiPolygons.

    Returns
    -------
    numpy.ndarray
        LineStrings, one per run of consecutive kept segments.
    """
    if len(polygons) == 0:
        return np.empty(0, dtype=object)
    coords, s, info = _segments(polygons)
    _, first = np.unique(info[:, 0], return_index=True)
    keep = np.zeros(len(s), dtype=bool)
    keep[first] = True
    lines, _ = _runs(coords, s[keep])
    return lines


def outer_linework(
    polygons: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """The unshared parts of polygon boundaries (coast, edges of gaps), labelled by polygon.

    From outside every polygon the nearest polygon is reached across one of these, so the
    nearest-district fallback needs no other lines.

    Parameters
    ----------
    polygons
        Polygons and MultiPolygons.

    Returns
    -------
    tuple
        ``(lines, labels)``: LineStrings and the position of the polygon each belongs to.
    """
    coords, s, info = _segments(polygons)
    counts = np.bincount(info[:, 0])
    single = counts[info[:, 0]] == 1
    lines, first = _runs(coords, s[single])
    label_at = dict(zip(s.tolist(), info[:, 1].tolist(), strict=True))
    labels = np.array([label_at[p] for p in first.tolist()], dtype=np.int64)
    return lines, labels


def dissolve(polygons: npt.NDArray[np.object_]) -> shapely.Geometry:
    """Union of polygons: the fast coverage union, or the general one if that is not valid.

    Parameters
    ----------
    polygons
        Polygons and MultiPolygons, meant to form a coverage.

    Returns
    -------
    shapely.Geometry
        Their union, always valid.
    """
    try:
        merged = shapely.coverage_union_all(polygons)
    except shapely.errors.GEOSException:
        return shapely.union_all(polygons)
    # A coverage union of polygons whose shared edges do not match vertex for vertex may leave
    # parts touching along a line, which is invalid, or fail: then pay for the general union.
    if not shapely.is_valid(merged):
        merged = shapely.union_all(polygons)
    return merged


Ring = list[tuple[float, float]]


def clipped_areas(
    polygons: npt.NDArray[np.object_],
    box: tuple[float, float, float, float],
    tolerance: float = 0.0,
    label_box: tuple[float, float, float, float] | None = None,
) -> list[tuple[int, list[list[Ring]], tuple[float, float]]]:
    """The polygons that reach into a box, clipped to it, each with a point to label it at.

    Parameters
    ----------
    polygons
        Polygon geometries.
    box
        ``(x0, y0, x1, y1)``.
    tolerance
        Simplify the clipped shapes by this much (0 keeps every vertex), for large boxes; parts
        smaller than a square of side ``10 * tolerance`` are then left out.
    label_box
        Put the label inside this smaller box where the polygon reaches it, so labels keep
        clear of the map's edges.

    Returns
    -------
    list
        ``(index, parts, label)`` per polygon with area in the box: its index in ``polygons``,
        its parts as rings (the exterior, then any holes), and a point inside its largest part
        within the box, so a label drawn there is on the visible piece.
    """
    x0, y0, x1, y1 = box
    bounds = shapely.bounds(polygons)
    near = np.flatnonzero(
        (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)
    )
    out: list[tuple[int, list[list[Ring]], tuple[float, float]]] = []
    for i in near.tolist():
        clipped = shapely.clip_by_rect(polygons[i], x0, y0, x1, y1)
        if tolerance > 0:
            clipped = shapely.simplify(clipped, tolerance)
        parts = [
            p
            for p in shapely.get_parts(clipped)
            if shapely.get_type_id(p) == 3 and not p.is_empty and p.area > (10 * tolerance) ** 2
        ]
        if not parts:
            continue
        largest = max(parts, key=lambda p: p.area)
        if label_box is not None:
            inner = shapely.clip_by_rect(largest, *label_box)
            inner_parts = [p for p in shapely.get_parts(inner) if p.area > 0]
            if inner_parts:
                largest = max(inner_parts, key=lambda p: p.area)
        label = shapely.point_on_surface(largest)
        rings = [
            [
                [(float(x), float(y)) for x, y in p.exterior.coords],
                *[[(float(x), float(y)) for x, y in hole.coords] for hole in p.interiors],
            ]
            for p in parts
        ]
        out.append((i, rings, (float(label.x), float(label.y))))
    return out
