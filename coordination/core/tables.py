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
# A real XLSX unpacks to a few times its size; far more is a "zip bomb" that would exhaust memory
# and tie up the server for minutes. Both limits are checked before anything is parsed.
_MAX_UNPACKED_RATIO = 20
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
#: The shape of a table accepted: more columns or rows than this is refused while reading, so a
#: malicious file costs a fraction of a second, not minutes.
MAX_COLUMNS = 200
MAX_ROWS = 1_000_000
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
        unpacked = sum(info.file_size for info in infos)
        limit = min(max(max_bytes, len(data)) * _MAX_UNPACKED_RATIO, MAX_UNPACKED_BYTES)
        if unpacked > limit or any(info.file_size > limit for info in infos):
            raise InputError(
                f"{name} could not be read as Excel (.xlsx): it unpacks too large "
                f"({_megabytes(unpacked)}, more than {_megabytes(limit)})"
            )
    elif suffix == ".csv":
        if data.startswith(_ZIP_SIGNATURE):
            raise InputError(f"{name} could not be read as CSV: it is a zip or Excel file")
        if b"\x00" in data:
            raise InputError(f"{name} could not be read as CSV: it is a binary file")


def _check_csv_shape(text: str, name: str) -> None:
    """Refuse a CSV with too many columns or rows before pandas parses it."""
    header = text.split("\n", 1)[0]
    columns = header.count(",") + 1
    if columns > MAX_COLUMNS:
        raise InputError(f"{name} has {columns:,} columns: at most {MAX_COLUMNS} are accepted")
    rows = text.count("\n")
    if rows > MAX_ROWS + 1:
        raise InputError(f"{name} has {rows:,} rows: at most {MAX_ROWS:,} are accepted")


def _cell_text(value: object) -> str:
    """A cell as text, as a person typed it: 532494 not 532494.0, blank for empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes, name: str) -> pd.DataFrame:
    """Read the first sheet row by row (openpyxl read-only), stopping at the shape limits."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return pd.DataFrame()
        while header and header[-1] is None:  # trailing empty header cells
            header = header[:-1]
        if len(header) > MAX_COLUMNS:
            raise InputError(
                f"{name} has {len(header):,} columns: at most {MAX_COLUMNS} are accepted"
            )
        width = len(header)
        records: list[list[str]] = []
        for row in rows:
            if len(records) >= MAX_ROWS:
                raise InputError(f"{name} has more than {MAX_ROWS:,} rows: too many to resolve")
            cells = [_cell_text(v) for v in row[:width]]
            records.append(cells + [""] * (width - len(cells)))
        columns = [_cell_text(h) or f"Unnamed: {i}" for i, h in enumerate(header)]
        return pd.DataFrame(records, columns=columns, dtype=str)
    finally:
        book.close()


def _without_trailing_blanks(table: pd.DataFrame) -> pd.DataFrame:
    """Drop the blank rows after the last written one (a sheet's or an editor's padding)."""
    if table.empty:
        return table
    written = (table.astype(str).apply(lambda column: column.str.strip()) != "").any(axis=1)
    if not written.any():
        return table.iloc[:0]
    last = int(written.to_numpy().nonzero()[0][-1])
    return table.iloc[: last + 1].reset_index(drop=True)


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
            _check_csv_shape(text, name)
            # A blank line inside the table is a row the person wrote and must see again
            # (as "empty row"); pandas would drop it silently.
            table = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False
            ).fillna("")
        else:
            table = _read_xlsx(data, name)
        table = _without_trailing_blanks(table)
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
    # Header cells come from the upload too: a formula there would run just the same.
    safe.columns = [str(neutralise(str(c))) for c in safe.columns]
    if fmt == "csv":
        return safe.to_csv(index=False).encode("utf-8")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        safe.to_excel(buffer, index=False, engine="openpyxl")
        return buffer.getvalue()
    raise InputError(f"Unknown output format {fmt!r}: use csv or xlsx")
