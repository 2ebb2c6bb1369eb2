"""Benchmark the resolver against geopandas.sjoin on the national pack.

Run ``.venv/bin/python bench/resolve.py [--points N]`` with ``CROSSFORCE_REFERENCE_DIR`` set to
the national reference pack. Prints one JSON object (see the keys below); not part of the tests.
``ours_s`` and ``sjoin_s`` are the best of ``--repeat`` runs each (the machine may be shared);
``sjoin_s`` includes making the point geometries, since ours starts from coordinate arrays too.

``load_s`` is loading the prepared resolver from its cache directory (geo/_cache.py);
``legacy_pickle_load_s`` is loading the same resolver from the pickle that format 2 wrote (made
here, for the comparison only), and ``load_vs_pickle`` is their ratio. They are timed in turns,
the best of ``--repeat`` each.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import resource
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo._distance import OtherForceIndex
from geo._gridindex import GridIndex
from geo.pack import read_pack
from geo.postcodes import PostcodeDirectory
from geo.resolver import Resolver

REPO = Path(__file__).resolve().parent.parent

SEED = 20251129
LEGACY_FORMAT = "crossforce-resolver-2"
GEOM_ATTRS = ("district_pieces", "force_pieces", "force_geoms")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _public(obj: object) -> dict[str, object]:
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def _legacy_pickle_save(resolver: Resolver, path: Path) -> None:
    """Write ``resolver`` as the format-2 cache did: a pickle of its fields, geometries as WKB."""

    def grid_state(grid: GridIndex | None) -> dict[str, object] | None:
        if grid is None:
            return None
        return {**_public(grid), "geoms": shapely.to_wkb(grid.geoms)}

    state = _public(resolver)
    for key in GEOM_ATTRS:
        state[key] = shapely.to_wkb(getattr(resolver, key))
    state["draw_pieces"] = {k: shapely.to_wkb(v) for k, v in resolver.draw_pieces.items()}
    state["grid"] = grid_state(resolver.grid)
    state["ward_grid"] = grid_state(resolver.ward_grid)
    state["other_force_index"] = _public(resolver.other_force_index)
    state["_format"] = LEGACY_FORMAT
    with open(path, "wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _legacy_pickle_load(path: Path) -> Resolver:
    """Load a format-2 pickle doing what that version's ``__setstate__`` methods did."""
    with open(path, "rb") as fh:
        # Unpickling is what is being timed, of a file this script wrote just now; S is only in
        # the maintainer's stricter rule set, hence RUF100 too.
        state = pickle.load(fh)  # noqa: S301, RUF100
    if state.pop("_format") != LEGACY_FORMAT:
        raise ValueError(f"{path} is not a format-2 resolver pickle")

    def grid(grid_state: dict[str, object] | None) -> GridIndex | None:
        if grid_state is None:
            return None
        index = GridIndex.__new__(GridIndex)
        geoms = shapely.from_wkb(grid_state.pop("geoms"))
        vars(index).update(grid_state)
        index.geoms = np.asarray(geoms, dtype=object)
        index._init_threads()
        return index

    state["grid"] = grid(state["grid"])
    state["ward_grid"] = grid(state["ward_grid"])
    distance = OtherForceIndex.__new__(OtherForceIndex)
    vars(distance).update(state["other_force_index"])
    distance._make_trees()
    state["other_force_index"] = distance
    for key in GEOM_ATTRS:
        state[key] = np.asarray(shapely.from_wkb(state[key]), dtype=object)
    state["draw_pieces"] = {
        k: np.asarray(shapely.from_wkb(v), dtype=object) for k, v in state["draw_pieces"].items()
    }
    resolver = Resolver.__new__(Resolver)
    vars(resolver).update(state)
    resolver._make_trees()
    return resolver


def _time_loads(resolver: Resolver, repeat: int) -> tuple[Resolver, dict[str, float]]:
    """Save the resolver both ways, then time loading each, in turns; keep the best of each."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "resolver.arrays"
        legacy = Path(tmp) / "resolver.pkl"
        t = time.perf_counter()
        resolver.save(cache)
        save_s = time.perf_counter() - t
        _legacy_pickle_save(resolver, legacy)
        new_runs, old_runs = [], []
        for _ in range(repeat):
            gc.collect()
            t = time.perf_counter()
            old = _legacy_pickle_load(legacy)
            old_runs.append(time.perf_counter() - t)
            del old
            gc.collect()
            t = time.perf_counter()
            loaded = Resolver.load(cache)
            new_runs.append(time.perf_counter() - t)
        figures = {
            "save_s": save_s,
            "cache_mb": sum(f.stat().st_size for f in cache.iterdir()) / 2**20,
            "legacy_pickle_mb": legacy.stat().st_size / 2**20,
            "load_s": min(new_runs),
            "legacy_pickle_load_s": min(old_runs),
        }
    return loaded, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000, help="random points (1e6)")
    parser.add_argument("--single", type=int, default=20_000, help="single lookups timed")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing (best kept)")
    args = parser.parse_args()

    ref = os.environ.get("CROSSFORCE_REFERENCE_DIR")
    if not ref or not Path(ref).is_dir():
        print(
            "bench/resolve.py needs the national reference pack: set CROSSFORCE_REFERENCE_DIR "
            "to its directory (e.g. /work/shared/reference).",
            file=sys.stderr,
        )
        return 2

    layers = read_pack(Path(ref))
    gc.collect()
    rss0 = _rss_mb()
    t = time.perf_counter()
    resolver = Resolver.build(layers)
    build_s = time.perf_counter() - t
    gc.collect()
    memory_mb = _rss_mb() - rss0

    resolver, loads = _time_loads(resolver, args.repeat)

    rng = np.random.default_rng(SEED)
    xmin, ymin, xmax, ymax = layers.districts.total_bounds
    x = rng.uniform(xmin, xmax, args.points)
    y = rng.uniform(ymin, ymax, args.points)

    resolver.resolve(x[:1000], y[:1000])  # warm
    # Best of a few runs, for both contenders: the machine may be shared.
    ours_runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        ours = resolver.resolve(x, y, detail=False)
        ours_runs.append(time.perf_counter() - t)
    ours_s = min(ours_runs)
    t = time.perf_counter()
    resolver.resolve(x, y, detail=True)
    ours_detail_s = time.perf_counter() - t

    districts = layers.districts[["code", "force_code", "geometry"]]
    sjoin_runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=districts.crs)
        joined = gpd.sjoin(points, districts, predicate="within", how="left")
        sjoin_runs.append(time.perf_counter() - t)
    sjoin_s = min(sjoin_runs)
    joined = joined[~joined.index.duplicated(keep="first")].sort_index()

    # Compare where the answer cannot depend on tie rules: more than 1 m from every district
    # line. Our "nearest" fallback has no sjoin counterpart, so only polygon answers count.
    pts = shapely.points(x, y)
    lines = resolver.draw_pieces["district"]
    near_i, _ = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=1.0)
    clear = np.ones(len(x), dtype=bool)
    clear[near_i] = False
    mine = np.array(ours["district_code"].astype(object), dtype=object)
    mine[ours["method"].to_numpy() != "polygon"] = None
    theirs = joined["code"].astype(object).where(joined["code"].notna(), None).to_numpy()
    compared = int(clear.sum())
    mismatches = int((mine[clear] != theirs[clear]).sum())

    directory = PostcodeDirectory.load(REPO / "data" / "cache")
    has = (directory.eastings != -1) & (directory.northings != -1)
    px = directory.eastings[has].astype(np.float64)
    py = directory.northings[has].astype(np.float64)
    t = time.perf_counter()
    resolver.resolve(px, py, detail=False)
    all_nodetail_s = time.perf_counter() - t
    t = time.perf_counter()
    all_detail = resolver.resolve(px, py, detail=True)
    all_s = time.perf_counter() - t

    # Warm single lookups at postcode locations inside the pack (where people look things up).
    inside = np.flatnonzero(all_detail["method"].to_numpy() == "polygon")
    pick = rng.choice(inside, size=min(args.single, len(inside)), replace=False)
    for i in pick[:200]:
        resolver.resolve_point(px[i], py[i])
    times = np.empty(len(pick))
    for k, i in enumerate(pick):
        a, b = float(px[i]), float(py[i])
        t0 = time.perf_counter()
        resolver.resolve_point(a, b)
        times[k] = time.perf_counter() - t0

    t = time.perf_counter()
    for _ in range(100):
        resolver.boundary_lines(532_494.756, 181_344.949, 2_000.0)
    lines_ms = (time.perf_counter() - t) * 10

    result = {
        "points": args.points,
        "ours_s": round(ours_s, 3),
        "ours_detail_s": round(ours_detail_s, 3),
        "sjoin_s": round(sjoin_s, 3),
        "speedup": round(sjoin_s / ours_s, 1),
        "points_per_s": round(args.points / ours_s),
        "identical": mismatches == 0,
        "compared": compared,
        "mismatches": mismatches,
        "single_lookup_median_us": round(float(np.median(times)) * 1e6, 1),
        "single_lookup_p99_us": round(float(np.percentile(times, 99)) * 1e6, 1),
        "all_postcodes": len(px),
        "all_postcodes_s": round(all_s, 3),
        "all_postcodes_nodetail_s": round(all_nodetail_s, 3),
        "boundary_lines_ms": round(lines_ms, 2),
        "build_s": round(build_s, 3),
        "save_s": round(loads["save_s"], 3),
        "load_s": round(loads["load_s"], 3),
        "legacy_pickle_load_s": round(loads["legacy_pickle_load_s"], 3),
        "load_vs_pickle": round(loads["load_s"] / loads["legacy_pickle_load_s"], 2),
        "cache_mb": round(loads["cache_mb"], 1),
        "legacy_pickle_mb": round(loads["legacy_pickle_mb"], 1),
        "resolver_memory_mb": round(memory_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
