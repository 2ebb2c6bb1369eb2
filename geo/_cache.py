"""Prepared geography on disk: a directory of ``.npy`` arrays and one JSON manifest.

Loading runs no code from the cache: arrays are read with ``allow_pickle=False`` (plain
dtypes only), geometries are rebuilt from coordinate arrays or WKB, and every other value is
JSON. Layout::

    <name>/
        manifest.json   the format, the JSON values, and per array its file, dtype, shape and
                        CRC-32
        <key>.npy       one array per file, so a later version can memory-map them

Writing is atomic: the whole directory is written beside the target under a name of its own
(``<name>.<hex>.v``), and the target, a symbolic link, is then swapped to point at it with one
``rename``, so another process always sees a complete cache, the old one or the new one, never
half of one and never none. Reading opens the directory once and every file through that
handle, so a cache replaced while it is read is never mixed with its successor; the versions
it replaced are deleted by a later write once they are old enough that no reader still has
them open. Where the file system has no symbolic links the directory is renamed into place,
the old one moved aside first (readers then briefly see no cache and build their own).

A cache of another format, or one whose files do not match the manifest (missing,
truncated, another dtype or shape, a wrong checksum), or whose manifest does not match its
own checksum, raises
:class:`~geo.errors.ReferenceDataError`. Nothing is synced to
disk: after a crash a file may be short or empty, which reading detects like any damage.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import itertools
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from geo.errors import ReferenceDataError
from geo.layers import BoundaryLayers

__all__ = ["CacheReader", "CacheWriter", "geoms_from_wkb", "read_layers", "write_layers"]

Json: TypeAlias = str | int | float | bool | list["Json"] | dict[str, "Json"] | None
GeomArray: TypeAlias = npt.NDArray[np.object_]
AnyArray: TypeAlias = npt.NDArray[Any]
Opener: TypeAlias = Callable[[str], BinaryIO]

MANIFEST = "manifest.json"
# Keys become file names: nothing that could leave the directory.
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_LINESTRING = 1
# Replacing an existing cache can race with another writer doing the same; each failed try
# means someone else's complete cache was put in place meanwhile.
_INSTALL_TRIES = 3
# A replaced version is kept this long (seconds) for readers that opened it just before.
# Reading a cache takes well under a second; a minute is ample and bounds the disk used.
_KEEP_REPLACED_S = 60.0
_VERSION_SUFFIX = ".v"
# Column dtypes whose values survive a JSON round trip exactly.
_JSON_KINDS = frozenset("biufOU")


def _check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"Bad cache key {key!r}")
    return key


def _crc(array: AnyArray) -> int:
    return zlib.crc32(np.ascontiguousarray(array).data)


def _json_crc(value: Json) -> int:
    # Python writes floats as their shortest repr, so parsing and writing again gives the same
    # text: the checksum of a manifest read back matches the one computed when it was written.
    return zlib.crc32(json.dumps(value, sort_keys=True).encode("utf-8"))


class CacheWriter:
    """Collects arrays and JSON values under dotted keys, then writes them atomically.

    :meth:`child` gives a writer that shares the same store under a key prefix, so each part
    of a prepared object writes its own fields without knowing where it sits.
    """

    def __init__(self, prefix: str = "", *, _shared: CacheWriter | None = None) -> None:
        self._prefix = prefix
        root = _shared if _shared is not None else self
        self._arrays: dict[str, AnyArray] = {} if _shared is None else root._arrays
        self._values: dict[str, Json] = {} if _shared is None else root._values

    def child(self, name: str) -> CacheWriter:
        """A writer for the keys under ``name``."""
        return CacheWriter(self._key(name) + ".", _shared=self)

    def _key(self, name: str) -> str:
        return _check_key(self._prefix + name)

    def value(self, name: str, value: Json) -> None:
        """Store one JSON value (floats round-trip exactly).

        Parameters
        ----------
        name
            Key, under this writer's prefix.
        value
            Anything JSON holds.
        """
        self._values[self._key(name)] = value

    def array(self, name: str, array: npt.ArrayLike) -> None:
        """Store one array of a plain dtype (object arrays are refused when written).

        Parameters
        ----------
        name
            Key, under this writer's prefix; also the file's name.
        array
            Numbers or booleans, any shape.
        """
        # C order, so every file could be memory-mapped as it is.
        self._arrays[self._key(name)] = np.ascontiguousarray(array)

    def ragged(
        self, name: str, parts: Sequence[AnyArray], dtype: npt.DTypeLike, tail: tuple[int, ...]
    ) -> None:
        """Store a list of arrays that differ only in their first dimension.

        Parameters
        ----------
        name
            Key.
        parts
            The arrays, each of shape ``(n_i, *tail)``.
        dtype, tail
            The parts' dtype and trailing shape (needed when there are no parts).
        """
        if parts:
            values = np.concatenate([np.asarray(p, dtype=dtype) for p in parts])
        else:
            values = np.empty((0, *tail), dtype=dtype)
        self.array(f"{name}.values", values)
        self.array(f"{name}.lengths", np.array([len(p) for p in parts], dtype=np.int64))

    def geometries(self, name: str, geoms: GeomArray) -> None:
        """Store geometries: plain 2-D line strings as coordinates, anything else as WKB.

        Coordinates rebuild in one vectorised call and could be memory-mapped; WKB keeps every
        other geometry (polygons, collections, empties, ``None``) exactly.

        Parameters
        ----------
        name
            Key, under this writer's prefix.
        geoms
            Array of shapely geometries.
        """
        geoms = np.asarray(geoms, dtype=object)
        if _plain_lines(geoms):
            coords, index = shapely.get_coordinates(geoms, return_index=True)
            self.value(f"{name}.kind", "lines")
            self.array(f"{name}.coords", coords)
            self.array(f"{name}.lengths", np.bincount(index, minlength=len(geoms)))
            return
        self.wkb(name, geoms)

    def wkb(self, name: str, geoms: GeomArray) -> None:
        """Store geometries as WKB, whatever they are (``None`` included).

        Parameters
        ----------
        name
            Key, under this writer's prefix.
        geoms
            Array of shapely geometries.
        """
        wkb = shapely.to_wkb(np.asarray(geoms, dtype=object))
        chunks = [b"" if w is None else bytes(w) for w in wkb.tolist()]
        offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(c) for c in chunks])
        self.value(f"{name}.kind", "wkb")
        self.value(f"{name}.missing", [i for i, w in enumerate(wkb.tolist()) if w is None])
        self.array(f"{name}.wkb", np.frombuffer(b"".join(chunks), dtype=np.uint8))
        self.array(f"{name}.offsets", offsets)

    def frame(self, name: str, frame: pd.DataFrame) -> None:
        """Store a DataFrame or GeoDataFrame: JSON columns, WKB geometry columns, the index.

        Parameters
        ----------
        name
            Key, under this writer's prefix.
        frame
            Columns of numbers, booleans, strings or geometries.

        Raises
        ------
        TypeError
            A column whose values JSON would not give back exactly (dates, categories).
        """
        columns: list[Json] = []
        dtypes: list[Json] = []
        for i, column in enumerate(frame.columns):
            series = frame[column]
            columns.append(str(column))
            if isinstance(series.dtype, gpd.array.GeometryDtype):
                dtypes.append("geometry")
                self.geometries(f"{name}.col{i}", np.asarray(series.values, dtype=object))
                self.value(f"{name}.col{i}.crs", _crs_text(gpd.GeoSeries(series).crs))
                continue
            if series.dtype.kind not in _JSON_KINDS and not isinstance(
                series.dtype, pd.StringDtype
            ):
                raise TypeError(f"Cannot cache column {column!r} of dtype {series.dtype}")
            dtypes.append(str(series.dtype))
            # JSON has no pd.NA; None reads back as the dtype's own missing value.
            self.value(f"{name}.col{i}", [None if v is pd.NA else v for v in series.tolist()])
        self.value(f"{name}.columns", columns)
        self.value(f"{name}.dtypes", dtypes)
        self.value(f"{name}.index", _index_json(frame.index))
        active = frame.active_geometry_name if isinstance(frame, gpd.GeoDataFrame) else None
        self.value(f"{name}.geometry", None if active is None else str(active))

    def save(self, path: Path, format_name: str) -> None:
        """Write everything to the directory ``path``, atomically, replacing what is there.

        Parameters
        ----------
        path
            The cache directory; its parent must exist.
        format_name
            The format name, checked by :meth:`CacheReader.open`.
        """
        path = Path(path)
        tmp = Path(
            tempfile.mkdtemp(dir=path.parent, prefix=f"{path.name}.", suffix=_VERSION_SUFFIX)
        )
        linked = False
        try:
            entries: dict[str, Json] = {}
            for key, array in self._arrays.items():
                np.save(tmp / f"{key}.npy", array, allow_pickle=False)
                entries[key] = {
                    "dtype": array.dtype.str,
                    "shape": list(array.shape),
                    "crc32": _crc(array),
                }
            body: dict[str, Json] = {"arrays": entries, "values": self._values}
            manifest = {"format": format_name, "crc32": _json_crc(body), **body}
            (tmp / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
            linked = _link(tmp, path)  # the link now points at it: it stays
            if not linked:
                _install(tmp, path)
        finally:
            if not linked:
                shutil.rmtree(tmp, ignore_errors=True)
        _remove_replaced(path)


def _plain_lines(geoms: GeomArray) -> bool:
    if not len(geoms):
        return False
    types = shapely.get_type_id(geoms)
    return bool(
        np.all(types == _LINESTRING)
        and not np.any(shapely.has_z(geoms))
        and np.all(shapely.get_num_coordinates(geoms) >= 2)
    )


def _crs_text(crs: pyproj.CRS | None) -> str | None:
    """A CRS as its authority code where that names it exactly (so ``to_epsg`` still works),
    else as WKT."""
    if crs is None:
        return None
    authority = crs.to_authority(min_confidence=100)
    if authority is not None and pyproj.CRS.from_authority(*authority) == crs:
        return ":".join(authority)
    return str(crs.to_wkt())


def _index_json(index: pd.Index) -> Json:
    name = None if index.name is None else str(index.name)
    if isinstance(index, pd.RangeIndex):
        return {"range": [index.start, index.stop, index.step], "name": name}
    if index.dtype.kind not in _JSON_KINDS and not isinstance(index.dtype, pd.StringDtype):
        raise TypeError(f"Cannot cache an index of dtype {index.dtype}")
    return {"values": index.tolist(), "dtype": str(index.dtype), "name": name}


def _link(version: Path, path: Path) -> bool:
    """Point the symbolic link ``path`` at the directory ``version`` in one atomic rename.

    Returns False, having changed nothing, where the file system has no symbolic links or
    ``path`` is a real directory (a cache written before versions were linked), for
    :func:`_install` to handle.
    """
    if path.is_dir() and not path.is_symlink():
        return False
    link = path.with_name(f"{path.name}.{secrets.token_hex(4)}.link.tmp")
    try:
        os.symlink(version.name, link, target_is_directory=True)
    except (OSError, NotImplementedError):
        return False
    try:
        replaced = os.readlink(path) if path.is_symlink() else None
    except OSError:
        replaced = None
    try:
        os.replace(link, path)
    except OSError:
        link.unlink(missing_ok=True)
        return False
    if replaced is not None:
        # Its age now counts from being replaced, which is when its last readers opened it.
        with contextlib.suppress(OSError):
            os.utime(path.parent / replaced)
    return True


def _remove_replaced(path: Path) -> None:
    """Delete versions of the cache ``path`` that it no longer points at, once old enough.

    Old versions left by a writer that crashed are caught the same way.
    """
    try:
        current = os.readlink(path) if path.is_symlink() else None
    except OSError:
        return
    now = time.time()
    for version in path.parent.glob(f"{glob.escape(path.name)}.*{_VERSION_SUFFIX}"):
        if version.name == current:
            continue
        try:
            if now - version.lstat().st_mtime < _KEEP_REPLACED_S:
                continue
        except OSError:
            continue
        shutil.rmtree(version, ignore_errors=True)


def _install(tmp: Path, path: Path) -> None:
    """Rename the finished directory ``tmp`` to ``path``, moving an existing one aside first.

    A directory cannot be renamed over a non-empty one, so an old cache is renamed out of the
    way (readers then briefly see no cache and build their own) and deleted after.
    """
    for _ in range(_INSTALL_TRIES):
        try:
            os.rename(tmp, path)
            return
        except OSError as exc:
            if exc.errno not in {errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR}:
                raise
        aside = path.with_name(f"{path.name}.{secrets.token_hex(4)}.old.tmp")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            continue  # another writer moved it first
        if aside.is_dir():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            aside.unlink(missing_ok=True)
    # Every try lost to another writer, whose cache (complete, like every installed one) stays.


class _Checksums:
    """Compares the arrays' CRC-32s with the manifest's in a thread of its own.

    ``zlib.crc32`` releases the GIL, so the check runs while the caller rebuilds its trees
    from the arrays and adds next to nothing to a load; :meth:`wait` gives the verdict.
    """

    def __init__(self, arrays: Mapping[str, AnyArray], expected: Mapping[str, int]) -> None:
        self._bad: list[str] = []
        self._thread = threading.Thread(
            target=self._run, args=(arrays, expected), name="crossforce-cache-check", daemon=True
        )
        self._thread.start()

    def _run(self, arrays: Mapping[str, AnyArray], expected: Mapping[str, int]) -> None:
        self._bad = [key for key, array in arrays.items() if _crc(array) != expected[key]]

    def wait(self) -> list[str]:
        """The keys whose checksum does not match (none for a sound cache)."""
        self._thread.join()
        return self._bad


class CacheReader:
    """Arrays and JSON values read back from a cache directory. Build with :meth:`open`.

    Use it as a context manager: leaving the block without an error waits for the checksums
    and raises :class:`~geo.errors.ReferenceDataError` if any array was damaged, so nothing
    built from a damaged cache is handed out. Every accessor raises the same error for a
    missing key or a value of the wrong kind, so a cache from another version is refused, not
    misread.
    """

    def __init__(
        self,
        arrays: Mapping[str, AnyArray],
        values: Mapping[str, Any],
        prefix: str = "",
        checksums: _Checksums | None = None,
    ) -> None:
        self._arrays = arrays
        self._values = values
        self._prefix = prefix
        self._checksums = checksums

    def __enter__(self) -> CacheReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None and self._checksums is not None:
            bad = self._checksums.wait()
            if bad:
                raise ReferenceDataError(f"The resolver cache is damaged ({', '.join(bad)})")

    @classmethod
    def open(cls, path: Path, format_name: str) -> CacheReader:
        """Read every array of the cache directory ``path``, and start checking them.

        Parameters
        ----------
        path
            A directory written by :meth:`CacheWriter.save`.
        format_name
            The format name it must carry.

        Returns
        -------
        CacheReader
            To be used in a ``with`` block: the checksums are still being compared.

        Raises
        ------
        ReferenceDataError
            If ``path`` is not such a directory (an old single-file cache, say), is of another
            format, or any file is missing or does not match the manifest's dtype and shape.
        """
        try:
            with _directory(Path(path)) as open_file:
                with open_file(MANIFEST) as fh:
                    manifest = json.loads(fh.read().decode("utf-8"))
                if not isinstance(manifest, dict) or manifest.get("format") != format_name:
                    raise ReferenceDataError(f"{path} is not a resolver cache of this version")
                entries = dict(manifest["arrays"])
                values = dict(manifest["values"])
                if _json_crc({"arrays": entries, "values": values}) != manifest["crc32"]:
                    raise ValueError("the manifest does not match its checksum")
                arrays = {key: _read_array(open_file, key, entry) for key, entry in entries.items()}
                expected = {key: int(entry["crc32"]) for key, entry in entries.items()}
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise ReferenceDataError(f"Cannot read the resolver cache {path}") from exc
        return cls(arrays, values, checksums=_Checksums(arrays, expected))

    def child(self, name: str) -> CacheReader:
        """A reader for the keys under ``name``."""
        return CacheReader(self._arrays, self._values, f"{self._prefix}{name}.")

    def _missing(self, name: str) -> ReferenceDataError:
        return ReferenceDataError(f"The resolver cache has no valid {self._prefix}{name}")

    def value(self, name: str) -> Any:
        """One JSON value, as stored."""
        try:
            return self._values[self._prefix + name]
        except KeyError:
            raise self._missing(name) from None

    def string(self, name: str) -> str:
        """A stored string."""
        got = self.value(name)
        if not isinstance(got, str):
            raise self._missing(name)
        return got

    def strings(self, name: str) -> list[str]:
        """A stored list of strings."""
        got = self.value(name)
        if not isinstance(got, list) or not all(isinstance(s, str) for s in got):
            raise self._missing(name)
        return got

    def number(self, name: str) -> float:
        """A stored number, as a float."""
        got = self.value(name)
        if isinstance(got, bool) or not isinstance(got, int | float):
            raise self._missing(name)
        return float(got)

    def integer(self, name: str) -> int:
        """A stored integer."""
        got = self.value(name)
        if isinstance(got, bool) or not isinstance(got, int):
            raise self._missing(name)
        return got

    def flag(self, name: str) -> bool:
        """A stored bool."""
        got = self.value(name)
        if not isinstance(got, bool):
            raise self._missing(name)
        return got

    def array(self, name: str, dtype: npt.DTypeLike, ndim: int = 1) -> AnyArray:
        """A stored array, which must have this dtype and number of dimensions.

        Parameters
        ----------
        name
            Key, under this reader's prefix.
        dtype, ndim
            What the caller needs; anything else is refused.

        Returns
        -------
        numpy.ndarray

        Raises
        ------
        ReferenceDataError
            If there is no such array, or it has another dtype or number of dimensions.
        """
        try:
            got = self._arrays[self._prefix + name]
        except KeyError:
            raise self._missing(name) from None
        if got.dtype != np.dtype(dtype) or got.ndim != ndim:
            raise self._missing(name)
        return got

    def ragged(self, name: str, dtype: npt.DTypeLike, ndim: int = 1) -> list[AnyArray]:
        """A list of arrays stored by :meth:`CacheWriter.ragged` (views of one array).

        Parameters
        ----------
        name
            Key, under this reader's prefix.
        dtype, ndim
            Of every part.

        Returns
        -------
        list of numpy.ndarray

        Raises
        ------
        ReferenceDataError
            If the parts are missing or their lengths do not add up.
        """
        values = self.array(f"{name}.values", dtype, ndim)
        lengths = self.array(f"{name}.lengths", np.int64)
        if int(lengths.sum()) != len(values) or np.any(lengths < 0):
            raise self._missing(name)
        if not len(lengths):
            return []
        return np.split(values, np.cumsum(lengths)[:-1])

    def geometries(self, name: str) -> GeomArray:
        """Geometries stored by :meth:`CacheWriter.geometries`."""
        kind = self.value(f"{name}.kind")
        if kind == "lines":
            coords = self.array(f"{name}.coords", np.float64, 2)
            lengths = self.array(f"{name}.lengths", np.int64)
            if int(lengths.sum()) != len(coords) or np.any(lengths < 2):
                raise self._missing(name)
            index = np.repeat(np.arange(len(lengths)), lengths)
            return np.asarray(shapely.linestrings(coords, indices=index), dtype=object)
        return geoms_from_wkb(self.wkb(name))

    def wkb(self, name: str) -> GeomArray:
        """The WKB of geometries stored by :meth:`CacheWriter.wkb`, ``None`` where missing."""
        if self.value(f"{name}.kind") != "wkb":
            raise self._missing(name)
        blob = self.array(f"{name}.wkb", np.uint8).tobytes()
        offsets = self.array(f"{name}.offsets", np.int64).tolist()
        if not offsets or offsets[0] != 0 or offsets[-1] != len(blob):
            raise self._missing(name)
        chunks = np.empty(len(offsets) - 1, dtype=object)
        chunks[:] = [blob[a:b] for a, b in itertools.pairwise(offsets)]
        for i in self.value(f"{name}.missing"):
            chunks[i] = None
        return chunks

    def frame(self, name: str) -> pd.DataFrame:
        """A DataFrame or GeoDataFrame stored by :meth:`CacheWriter.frame`."""
        columns = self.strings(f"{name}.columns")
        dtypes = self.strings(f"{name}.dtypes")
        if len(dtypes) != len(columns):
            raise self._missing(name)
        index = _index_from_json(self.value(f"{name}.index"))
        data: dict[str, Any] = {}
        for i, (column, dtype) in enumerate(zip(columns, dtypes, strict=True)):
            if dtype == "geometry":
                geoms = self.geometries(f"{name}.col{i}")
                crs = self.value(f"{name}.col{i}.crs")
                try:
                    data[column] = gpd.GeoSeries(geoms, index=index, crs=crs)
                except pyproj.exceptions.CRSError as exc:
                    raise self._missing(f"{name}.col{i}.crs") from exc
            else:
                values = self.value(f"{name}.col{i}")
                data[column] = pd.Series(
                    values, index=index, dtype=pd.api.types.pandas_dtype(dtype)
                )
        geometry = self.value(f"{name}.geometry")
        if geometry is None:
            return pd.DataFrame(data, index=index, columns=columns)
        # geopandas ships no types: say what the constructor gives.
        geoframe: pd.DataFrame = gpd.GeoDataFrame(
            data, index=index, columns=columns, geometry=geometry
        )
        return geoframe


def geoms_from_wkb(wkb: GeomArray) -> GeomArray:
    """Geometries from an array of WKB (``None`` stays ``None``).

    Raises
    ------
    ReferenceDataError
        If some WKB is not a geometry.
    """
    try:
        return np.asarray(shapely.from_wkb(wkb), dtype=object)
    except shapely.errors.GEOSException as exc:
        raise ReferenceDataError("The cache holds a damaged geometry") from exc


def _index_from_json(spec: Any) -> pd.Index:
    if "range" in spec:
        start, stop, step = (int(v) for v in spec["range"])
        return pd.RangeIndex(start, stop, step, name=spec["name"])
    values: list[Any] = list(spec["values"])
    index: pd.Index = pd.Index(
        values, dtype=pd.api.types.pandas_dtype(spec["dtype"]), name=spec["name"]
    )
    return index


@contextlib.contextmanager
def _directory(path: Path) -> Iterator[Opener]:
    """Yield an opener for files of the directory ``path``, all through one handle.

    Where the platform allows, files are opened relative to a descriptor of the directory, so
    they all come from the directory that was opened even if it is renamed meanwhile.
    """
    if os.open not in os.supports_dir_fd:
        if not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a cache directory", str(path))
        yield lambda name: open(path / name, "rb")  # noqa: SIM115 -- the caller closes it
        return
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    dir_fd = os.open(path, flags)
    try:
        yield lambda name: os.fdopen(os.open(name, os.O_RDONLY, dir_fd=dir_fd), "rb")
    finally:
        os.close(dir_fd)


def _read_array(open_file: Opener, key: str, entry: Any) -> AnyArray:
    with open_file(f"{_check_key(key)}.npy") as fh:
        array: AnyArray = np.load(fh, allow_pickle=False)
    expected = (str(entry["dtype"]), [int(n) for n in entry["shape"]])
    if (array.dtype.str, list(array.shape)) != expected:
        raise ValueError(f"{key}.npy does not match the manifest")
    return array


def write_layers(writer: CacheWriter, layers: BoundaryLayers) -> None:
    """Store a boundary set (every layer, with its geometry).

    Parameters
    ----------
    writer
        Where to store it (a child writer, say ``writer.child("layers")``).
    layers
        The boundary set.
    """
    writer.value("name", layers.name)
    writer.value("source", layers.source)
    writer.value("vintage", layers.vintage)
    writer.value("approximate", bool(layers.approximate))
    writer.value("coverage_note", layers.coverage_note)
    writer.frame("districts", layers.districts)
    writer.frame("forces", layers.forces)
    writer.value("has_wards", layers.wards is not None)
    if layers.wards is not None:
        writer.frame("wards", layers.wards)
    writer.frame("bcus", layers.bcus)


def read_layers(reader: CacheReader) -> BoundaryLayers:
    """Read back a boundary set stored by :func:`write_layers`.

    Parameters
    ----------
    reader
        The reader it was stored under.

    Returns
    -------
    BoundaryLayers

    Raises
    ------
    ReferenceDataError
        If a field is missing or of the wrong kind.
    """
    return BoundaryLayers(
        name=reader.string("name"),
        source=reader.string("source"),
        vintage=reader.string("vintage"),
        districts=reader.frame("districts"),
        forces=reader.frame("forces"),
        wards=reader.frame("wards") if reader.flag("has_wards") else None,
        bcus=reader.frame("bcus"),
        approximate=reader.flag("approximate"),
        coverage_note=reader.string("coverage_note"),
    )
