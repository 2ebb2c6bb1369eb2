"""The resolver's cache on disk: plain arrays and JSON, never a pickle (geo/_cache.py)."""

from __future__ import annotations

import ast
import json
import pickle
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

import geo._cache
from geo.errors import ReferenceDataError
from geo.layers import BoundaryLayers
from geo.resolver import Resolver
from tests.support import REPO
from tests.support.layers import resolver_layers, special_points, three_forces

# Exactly on lines of the tiny set (tests/geo/test_resolver.py draws it): inside force A between
# its two districts, between forces A and B, the vertex three districts share, the coast, the
# edge of the gap; then inside, in the gap, and out at sea.
ON_LINES = [(1000.0, 500.0), (500.0, 1000.0), (1000.0, 1000.0), (0.0, 500.0), (2000.0, 500.0)]
OFF_LINES = [(700.0, 500.0), (2050.0, 500.0), (2030.0, 500.0), (-5000.0, -5000.0)]


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver.build(resolver_layers())


@pytest.fixture
def saved(resolver: Resolver, tmp_path: Path) -> Path:
    path = tmp_path / "resolver.arrays"
    resolver.save(path)
    return path


def _assert_same_answers(a: Resolver, b: Resolver, x: np.ndarray, y: np.ndarray) -> None:
    pd.testing.assert_frame_equal(a.resolve(x, y), b.resolve(x, y))
    pd.testing.assert_frame_equal(a.resolve(x, y, detail=False), b.resolve(x, y, detail=False))
    for px, py in zip(x.tolist(), y.tolist(), strict=True):
        assert a.resolve_point(px, py) == b.resolve_point(px, py), (px, py)
        assert a.areas_at(px, py) == b.areas_at(px, py), (px, py)
    assert a.boundary_lines(1000, 1000, 300) == b.boundary_lines(1000, 1000, 300)
    assert repr(a) == repr(b)


@pytest.mark.parametrize(
    "make",
    [
        resolver_layers,
        lambda: resolver_layers(approximate=True),
        three_forces,
        lambda: three_forces(approximate=True),
    ],
    ids=["tiny", "tiny-approximate", "three", "three-approximate"],
)
def test_round_trip_gives_identical_answers(
    make: Callable[[], BoundaryLayers], tmp_path: Path
) -> None:
    built = Resolver.build(make())
    built.save(tmp_path / "r")
    loaded = Resolver.load(tmp_path / "r")
    sx, sy = special_points(built)
    rng = np.random.default_rng(5)
    x = np.concatenate([[p[0] for p in ON_LINES + OFF_LINES], sx, rng.uniform(-500, 3500, 300)])
    y = np.concatenate([[p[1] for p in ON_LINES + OFF_LINES], sy, rng.uniform(-500, 2500, 300)])
    _assert_same_answers(built, loaded, x, y)


def test_a_point_on_a_line_between_forces_survives_the_round_trip(saved: Path) -> None:
    loaded = Resolver.load(saved)
    on_line = loaded.resolve_point(500.0, 1000.0)
    assert (on_line.force_code, on_line.district_code) == ("E23000001", "E06000001")
    assert on_line.distance_to_boundary_m == 0.0
    assert on_line.nearest_other_force_code == "E23000002"
    assert on_line.near_boundary
    assert loaded.areas_at(500.0, 1000.0)["district"] == ["E06000001", "E06000003"]


def _same(a: Any, b: Any, where: str) -> None:
    """Deep equality of resolver fields: arrays by dtype and value, geometries exactly."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        if a.dtype == object:
            assert np.all(shapely.get_type_id(a) == shapely.get_type_id(b)), where
            assert np.all(shapely.equals_exact(a, b, tolerance=0.0)), where
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert getattr(a, "crs", None) == getattr(b, "crs", None), where
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _same(u, v, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        assert type(a) is type(b), where
        public_a = {k: v for k, v in vars(a).items() if not k.startswith("_")}
        public_b = {k: v for k, v in vars(b).items() if not k.startswith("_")}
        assert sorted(public_a) == sorted(public_b), where
        for k in public_a:
            _same(public_a[k], public_b[k], f"{where}.{k}")
    else:
        assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, where
        assert a == b, where


def test_round_trip_keeps_every_field(resolver: Resolver, saved: Path) -> None:
    _same(resolver, Resolver.load(saved), "resolver")


def test_cache_is_npy_arrays_and_one_json_manifest(saved: Path) -> None:
    files = sorted(p.name for p in saved.iterdir())
    assert "manifest.json" in files
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format"] == "crossforce-resolver-3"
    npy = [p for p in saved.iterdir() if p.name != "manifest.json"]
    assert npy and all(p.suffix == ".npy" for p in npy)
    assert {p.name[: -len(".npy")] for p in npy} == set(manifest["arrays"])
    for p in npy:
        array = np.load(p, allow_pickle=False)
        assert array.dtype != object, p.name
        assert array.flags.c_contiguous, p.name  # so a later version can memory-map them


def test_loading_unpickles_nothing(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache was unpickled")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    assert isinstance(Resolver.load(saved), Resolver)


def test_geo_never_pickles() -> None:
    """No module of geo imports a pickler, and every np.load refuses pickles."""
    picklers = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve"}
    found = []
    for path in sorted((REPO / "geo").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            found += [f"{path.name}:{node.lineno} imports {n}" for n in names if n in picklers]
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "np"
            ):
                keywords = {k.arg: k.value for k in node.keywords}
                value = keywords.get("allow_pickle")
                if not (isinstance(value, ast.Constant) and value.value is False):
                    found.append(f"{path.name}:{node.lineno} np.load without allow_pickle=False")
            if isinstance(node, ast.FunctionDef) and node.name in {"__setstate__", "__reduce__"}:
                found.append(f"{path.name}:{node.lineno} defines {node.name}")
    assert found == []


class _Marker:
    """Unpickling this touches a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Callable[[Path], None], tuple[Path]]:
        return (Path.touch, (self.path,))


def test_an_old_pickle_cache_is_refused_unread(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    old = tmp_path / "resolver.pkl"
    old.write_bytes(pickle.dumps({"_format": "crossforce-resolver-2", "x": _Marker(marker)}))
    with pytest.raises(ReferenceDataError):
        Resolver.load(old)
    assert not marker.exists()


def test_a_cache_of_another_format_is_refused(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["format"] = "crossforce-resolver-2"
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReferenceDataError, match="not a resolver cache of this version"):
        Resolver.load(saved)


def _largest(path: Path) -> Path:
    return max(path.glob("*.npy"), key=lambda p: p.stat().st_size)


def _truncate(path: Path) -> None:
    f = _largest(path)
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:
    f = _largest(path)
    data = bytearray(f.read_bytes())
    data[-1] ^= 0x01
    f.write_bytes(bytes(data))


def _drop_a_file(path: Path) -> None:
    _largest(path).unlink()


def _garble_manifest(path: Path) -> None:
    (path / "manifest.json").write_text("{not json")


def _drop_manifest(path: Path) -> None:
    (path / "manifest.json").unlink()


def _change_a_value(path: Path) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["values"]["grid.x0"] += 1.0
    (path / "manifest.json").write_text(json.dumps(manifest))


def _drop_a_value(path: Path) -> None:
    """A value missing from a manifest whose checksum agrees: refused all the same."""
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["values"]["grid.nx"]
    manifest["crc32"] = _json_crc(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def _json_crc(manifest: dict[str, Any]) -> int:
    body = {"arrays": manifest["arrays"], "values": manifest["values"]}
    return zlib.crc32(json.dumps(body, sort_keys=True).encode("utf-8"))


def _reshape_an_array(path: Path) -> None:
    f = path / "district_force.npy"
    np.save(f, np.load(f)[:-1], allow_pickle=False)


def _retype_an_array(path: Path) -> None:
    """Another dtype, with a manifest that agrees: the reader still knows what it needs."""
    f = path / "district_force.npy"
    array = np.load(f).astype(np.int64)
    np.save(f, array, allow_pickle=False)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["arrays"]["district_force"] = {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "crc32": zlib.crc32(array.data),
    }
    manifest["crc32"] = _json_crc(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def _pickle_in_an_npy(path: Path) -> None:
    f = path / "district_force.npy"
    np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize(
    "damage",
    [
        _truncate,
        _flip_a_byte,
        _drop_a_file,
        _garble_manifest,
        _drop_manifest,
        _change_a_value,
        _drop_a_value,
        _reshape_an_array,
        _retype_an_array,
        _pickle_in_an_npy,
    ],
)
def test_a_damaged_cache_is_refused(saved: Path, damage: Callable[[Path], None]) -> None:
    damage(saved)
    with pytest.raises(ReferenceDataError):
        Resolver.load(saved)


def test_a_file_or_an_empty_directory_is_not_a_cache(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_bytes(b"\x00" * 100)
    for name in ("empty", "file", "missing"):
        with pytest.raises(ReferenceDataError):
            Resolver.load(tmp_path / name)


def test_save_replaces_whatever_is_there_and_leaves_nothing_behind(
    resolver: Resolver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "resolver.arrays"
    path.write_bytes(b"an old cache file")
    resolver.save(path)
    assert path.is_dir()
    first = path.resolve()
    other = Resolver.build(resolver_layers(approximate=True))
    other.save(path)  # over an existing cache
    assert Resolver.load(path).approximate
    # The version it replaced stays a while for readers that had just opened it...
    current = path.resolve().name
    assert {p.name for p in tmp_path.iterdir()} == {"resolver.arrays", current, first.name}
    # ...and goes with the next write once it is old enough.
    monkeypatch.setattr(geo._cache, "_KEEP_REPLACED_S", 0.0)
    resolver.save(path)
    assert {p.name for p in tmp_path.iterdir()} == {"resolver.arrays", path.resolve().name}


def test_save_over_a_cache_directory_of_the_old_layout(resolver: Resolver, tmp_path: Path) -> None:
    path = tmp_path / "resolver.arrays"
    path.mkdir()  # a real directory where the cache goes
    path.joinpath("stale").write_text("x")
    resolver.save(path)
    assert not Resolver.load(path).approximate
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resolver.arrays"]


def test_readers_never_see_half_a_cache_while_writers_replace_it(
    resolver: Resolver, tmp_path: Path
) -> None:
    path = tmp_path / "resolver.arrays"
    resolver.save(path)
    x = np.array([p[0] for p in ON_LINES + OFF_LINES])
    y = np.array([p[1] for p in ON_LINES + OFF_LINES])
    want = resolver.resolve(x, y)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set():
                resolver.save(path)
        except BaseException as exc:  # noqa: BLE001 -- handed to the test thread
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for t in writers:
        t.start()
    try:
        for _ in range(60):
            got = Resolver.load(path)  # never absent, never half written
            pd.testing.assert_frame_equal(got.resolve(x, y), want)
    finally:
        stop.set()
        for t in writers:
            t.join()
    assert errors == []
    # Only the link and whole versions remain: nothing half written, no stray links.
    left = {p.name for p in tmp_path.iterdir()} - {"resolver.arrays"}
    assert left and all(name.endswith(".v") for name in left)
    assert all((tmp_path / name / "manifest.json").is_file() for name in left)


_WARM = """
import sys
from pathlib import Path
from geo.resolver import Resolver
from tests.support.layers import resolver_layers
resolver = Resolver.build(resolver_layers())
for _ in range(int(sys.argv[2])):
    resolver.save(Path(sys.argv[1]))
"""


def test_two_processes_warming_at_once(resolver: Resolver, tmp_path: Path) -> None:
    path = tmp_path / "resolver.arrays"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WARM, str(path), "15"], cwd=REPO) for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    _assert_same_answers(resolver, Resolver.load(path), np.array([500.0]), np.array([1000.0]))
    left = {p.name for p in tmp_path.iterdir()} - {"resolver.arrays"}
    assert all(name.endswith(".v") for name in left)  # whole versions only, nothing half made


@pytest.mark.pack
def test_national_round_trip_gives_identical_answers(
    national_resolver: Resolver, tmp_path: Path
) -> None:
    national_resolver.save(tmp_path / "national")
    loaded = Resolver.load(tmp_path / "national")
    _same(national_resolver, loaded, "resolver")
    rng = np.random.default_rng(20251129)
    xmin, ymin, xmax, ymax = shapely.total_bounds(national_resolver.force_geoms)
    # Random points, and district boundary vertices, which lie exactly on the lines.
    vertices = shapely.get_coordinates(national_resolver.district_pieces)[::97]
    x = np.concatenate([rng.uniform(xmin, xmax, 20_000), vertices[:, 0]])
    y = np.concatenate([rng.uniform(ymin, ymax, 20_000), vertices[:, 1]])
    pd.testing.assert_frame_equal(national_resolver.resolve(x, y), loaded.resolve(x, y))
    for i in range(0, len(x), 50):
        px, py = float(x[i]), float(y[i])
        assert national_resolver.resolve_point(px, py) == loaded.resolve_point(px, py)


@pytest.mark.pack
def test_london_default_round_trip(london_resolver: Resolver, tmp_path: Path) -> None:
    london_resolver.save(tmp_path / "london")
    _same(london_resolver, Resolver.load(tmp_path / "london"), "resolver")
