"""Spreadsheet safety in one place: reading uploaded tables and writing them formula-safe.

Uploads (CSV or XLSX) are checked before they are parsed: size, that an XLSX really is a zip
holding a workbook and does not unpack to far more than its size, that a CSV is text. On the way
out, every text cell that a spreadsheet would run as a formula is neutralised with a leading
apostrophe (OWASP "CSV injection"); numbers pass unchanged.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

import pandas as pd

from coordination.errors import InputError
from geo.batch import input_kind

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

# Uploads are refused above this size unless the caller passes its own limit (the app and the CLI
# pass ``Settings.upload_max_bytes``, whose default this matches, as does Streamlit's
# ``server.maxUploadSize`` of 20 MB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# A real XLSX unpacks to a few times its size; far more is a "zip bomb" that would exhaust memory.
_MAX_UNPACKED_RATIO = 20
_ZIP_SIGNATURE = b"PK\x03\x04"
_XLSX_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
# Text may hold tabs, line breaks and form feeds; any other control character means binary.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _check_upload(data: bytes, name: str, suffix: str, max_bytes: int) -> None:
    """Refuse files over the size limit and files that are not really CSV or XLSX."""
    if len(data) > max_bytes:
        raise InputError(
            f"{name} is {_megabytes(len(data))}: files over {_megabytes(max_bytes)} are refused"
        )
    if suffix == ".xlsx":
        if not data.startswith(_ZIP_SIGNATURE):
            raise InputError(f"{name} could not be read as Excel (.xlsx): it is not an XLSX file")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InputError(f"{name} could not be read as Excel (.xlsx): damaged file") from exc
        names = {info.filename for info in infos}
        if not all(part in names for part in _XLSX_PARTS):
            raise InputError(
                f"{name} could not be read as Excel (.xlsx): a zip file, but not a workbook"
            )
        if sum(info.file_size for info in infos) > max(max_bytes, len(data)) * _MAX_UNPACKED_RATIO:
            raise InputError(f"{name} could not be read as Excel (.xlsx): it unpacks too large")
    elif suffix == ".csv":
        if data.startswith(_ZIP_SIGNATURE):
            raise InputError(f"{name} could not be read as CSV: it is a zip or Excel file")
        if b"\x00" in data:
            raise InputError(f"{name} could not be read as CSV: it is a binary file")


def read_upload(data: bytes, filename: str, *, max_bytes: int = MAX_UPLOAD_BYTES) -> pd.DataFrame:
    """Read an uploaded CSV or XLSX file into text columns, refusing anything else.

    Parameters
    ----------
    data
        The file's bytes.
    filename
        Its name; the suffix (``.csv`` or ``.xlsx``) says how to read it.
    max_bytes
        Larger files are refused before they are parsed.

    Returns
    -------
    pandas.DataFrame
        Every column as text; blanks are ``""``.

    Raises
    ------
    InputError
        Too large, not really CSV/XLSX (an XLSX must be a zip holding a workbook; a CSV must be
        text), unreadable, or empty.
    """
    name = PurePath(filename).name
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError(f"{name}: only .csv and .xlsx files can be resolved")
    _check_upload(data, name, suffix, max_bytes)
    try:
        if suffix == ".csv":
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
            if _BINARY.search(text):
                raise InputError(f"{name} could not be read as CSV: it is a binary file")
            table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        else:
            table = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl").fillna("")
    except InputError:
        raise
    except (ValueError, UnicodeDecodeError, OSError, KeyError, zipfile.BadZipFile) as exc:
        kind = "CSV" if suffix == ".csv" else "Excel (.xlsx)"
        raise InputError(f"{name} could not be read as {kind}") from exc
    if table.empty:
        raise InputError(f"{name} has no rows")
    return table


def read_table(data: bytes, filename: str, *, max_bytes: int = MAX_UPLOAD_BYTES) -> pd.DataFrame:
    """Read an uploaded CSV or XLSX file of locations into text columns.

    Parameters
    ----------
    data, filename, max_bytes
        As for :func:`read_upload`.

    Raises
    ------
    InputError
        As :func:`read_upload`, or the table has no location columns.
    """
    table = read_upload(data, filename, max_bytes=max_bytes)
    input_kind(table)
    return table


def neutralise(value: object) -> object:
    """Stop a text cell from running as a spreadsheet formula; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def write_table(table: pd.DataFrame, fmt: str) -> bytes:
    """Write a resolved table as ``csv`` or ``xlsx`` bytes, formula-safe."""
    safe = table.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    if fmt == "csv":
        return safe.to_csv(index=False).encode("utf-8")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        safe.to_excel(buffer, index=False, engine="openpyxl")
        return buffer.getvalue()
    raise InputError(f"Unknown output format {fmt!r}: use csv or xlsx")
