"""Batch lookup: resolve every row of an uploaded CSV or Excel file, and offer the result back.

:func:`answer_for` resolves an upload once (with a progress bar) and keeps the answer for the
session; :func:`render_batch` shows one set of counts (rows read = resolved + not resolved, the
not-resolved rows by reason), a preview with human headers and blank cells, and the download in
the format uploaded, which keeps the machine column names (``force_code``, ``reason``, …).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

import pandas as pd
import streamlit as st

from coordination.core.tables import read_table, write_table
from coordination.reference import lookup as service
from ui.session import call

BATCH_KEY = "batch_result"
UPLOAD_KEY = "batch_upload"

_MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def upload_format(filename: str) -> str:
    """Return ``csv`` or ``xlsx`` for an uploaded file name (the download keeps the format)."""
    return "xlsx" if PurePath(filename).suffix.lower() == ".xlsx" else "csv"


def resolved_filename(filename: str) -> str:
    """Return the download name for an uploaded file, e.g. ``people-resolved.csv``."""
    path = PurePath(filename)
    return f"{path.stem}-resolved.{upload_format(filename)}"


def mime_type(fmt: str) -> str:
    """Return the MIME type of a download format."""
    return _MIME[fmt]


def progress_callback(bar: Any) -> Callable[[int, int], None]:
    """Return a ``progress(done, total)`` that moves ``bar`` (an ``st.progress``).

    Updates are sent only when the whole percentage changes, so a large file does not flood the
    browser with messages. The text counts rows looked up, not rows resolved: what resolved is
    counted once, with the answer.
    """
    last = [-1]

    def progress(done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, int(done * 100 / total))
        if percent != last[0]:
            last[0] = percent
            bar.progress(percent, text=f"Looking up rows: {done:,} of {total:,} done")

    return progress


#: The preview's headers, in order, after the input columns (the download keeps machine names).
PREVIEW_HEADERS = (
    "Status",
    "Reason not resolved",
    "Force",
    "Force code",
    "District",
    "District code",
    "Met BCU",
    "Ward",
    "Distance to force boundary (m)",
    "Nearest other force",
    "Near a boundary",
    "Method",
)
_METHODS = {
    "polygon": "inside a district",
    "nearest": "nearest district",
    "outside": "outside the boundary set",
    "directory": "postcode directory",
    "by district": "by district",
}


def _text(value: Any) -> str:
    """A cell as people read it: blank for missing, never "None" or "nan"."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def _name_and_code(name: Any, code: Any) -> str:
    name, code = _text(name), _text(code)
    if name and code and name != code:
        return f"{name} ({code})"
    return name or code


def _distance(value: Any) -> str:
    return "" if _text(value) == "" else f"{float(value):,.0f}"


def _yes_no(value: Any) -> str:
    return "yes" if value is True else ("no" if value is False else "")


def preview_table(table: pd.DataFrame, input_columns: Sequence[str]) -> pd.DataFrame:
    """Return a resolved table as the preview shows it: human headers, blank cells.

    Parameters
    ----------
    table
        A resolved table: the input columns, then the machine columns of the batch.
    input_columns
        The names of the input columns in ``table``.

    Returns
    -------
    DataFrame
        Every cell text, blank where there is nothing. The input columns come first under
        their own names (one that clashes with a preview header gets " (input)" added), then
        :data:`PREVIEW_HEADERS`.
    """
    n = len(table)

    def column(name: str) -> list[Any]:
        return list(table[name]) if name in table.columns else [None] * n

    out: dict[str, list[str]] = {}
    for name in input_columns:
        label = str(name)
        out[f"{label} (input)" if label in PREVIEW_HEADERS else label] = [
            _text(v) for v in table[name]
        ]
    pairs = zip(column("bcu_name"), column("bcu_code"), strict=True)
    wards = zip(column("ward_name"), column("ward_code"), strict=True)
    out["Status"] = [_text(v) for v in column("status")]
    out["Reason not resolved"] = [_text(v) for v in column("reason")]
    out["Force"] = [_text(v) for v in column("force_name")]
    out["Force code"] = [_text(v) for v in column("force_code")]
    out["District"] = [_text(v) for v in column("district_name")]
    out["District code"] = [_text(v) for v in column("district_code")]
    out["Met BCU"] = [_name_and_code(name, code) for name, code in pairs]
    out["Ward"] = [_name_and_code(name, code) for name, code in wards]
    out["Distance to force boundary (m)"] = [_distance(v) for v in column("distance_to_boundary_m")]
    out["Nearest other force"] = [_text(v) for v in column("nearest_other_force_name")]
    out["Near a boundary"] = [_yes_no(v) for v in column("near_boundary")]
    out["Method"] = [_METHODS.get(_text(v), _text(v)) for v in column("method")]
    return pd.DataFrame(out, dtype=object)


def reason_counts(summary: Any) -> pd.DataFrame:
    """The not-resolved rows by reason, largest first: columns "Reason not resolved", "Rows"."""
    reasons: dict[str, int] = dict(summary.reasons)
    return pd.DataFrame(
        {"Reason not resolved": list(reasons), "Rows": [int(v) for v in reasons.values()]}
    )


def run_batch(upload: Any) -> dict[str, Any] | None:
    """Read an uploaded file, resolve every row with a progress bar, and keep the answer.

    The answer is stored in ``st.session_state`` (per user) under the upload's ``file_id``, so a
    rerun of the page does not resolve the same file again.

    Parameters
    ----------
    upload
        The ``UploadedFile`` from ``st.file_uploader``.

    Returns
    -------
    dict or None
        ``file_id``, ``file_name``, ``fmt``, ``summary``, ``table``, ``input_columns`` and
        ``download`` (bytes), or ``None`` after an error has been shown.
    """
    table = call(read_table, upload.getvalue(), upload.name)
    if table is None:
        return None
    bar = st.progress(0, text=f"Looking up {len(table):,} rows…")
    result = call(service.resolve_table, table, progress=progress_callback(bar))
    # The bar counted rows looked up; once the answer is in, only its counts are shown.
    bar.empty()
    if result is None:
        return None
    fmt = upload_format(upload.name)
    download = call(write_table, result.table, fmt)
    if download is None:
        return None
    stored = {
        "file_id": upload.file_id,
        "file_name": resolved_filename(upload.name),
        "fmt": fmt,
        "summary": result.summary,
        "table": result.table,
        "input_columns": result.input_columns,
        "download": download,
    }
    st.session_state[BATCH_KEY] = stored
    return stored


def render_batch(stored: dict[str, Any], *, preview_rows: int = 200) -> None:
    """Show a resolved batch: the counts, why rows did not resolve, a preview and the download.

    One set of counts: rows read = resolved + not resolved, the not-resolved rows broken down by
    reason. The preview has human headers and blank cells; the download keeps the machine
    column names (``force_code``, ``district_name``, ``reason``, …) so that a script reading it
    does not depend on wording.
    """
    summary = stored["summary"]
    with st.container(key="batch_counts"):
        rows, resolved, not_resolved, near = st.columns(4)
        rows.metric("Rows read", f"{summary.rows:,}")
        resolved.metric("Resolved", f"{summary.resolved:,}")
        not_resolved.metric("Not resolved", f"{summary.not_resolved:,}")
        near.metric("Near a boundary", f"{summary.near_boundary:,}")
    st.caption(
        f"Every row read is kept, in order: {summary.rows:,} read = {summary.resolved:,} "
        f"resolved + {summary.not_resolved:,} not resolved."
    )

    reasons = reason_counts(summary)
    if len(reasons):
        st.warning(
            f"{summary.not_resolved:,} of {summary.rows:,} rows did not resolve to a force. Why:"
        )
        st.dataframe(reasons, hide_index=True, width="content", key="batch_reasons")

    table: pd.DataFrame = stored["table"]
    shown = min(preview_rows, len(table))
    st.markdown(f"**Preview** (first {shown:,} of {len(table):,} rows)")
    preview = preview_table(table.head(preview_rows), stored["input_columns"])
    st.dataframe(preview, hide_index=True, key="batch_preview")
    st.download_button(
        f"Download the resolved file ({stored['fmt'].upper()})",
        data=stored["download"],
        file_name=stored["file_name"],
        mime=mime_type(stored["fmt"]),
        on_click="ignore",
        key="batch_download",
    )
    st.caption(
        "The download has every row, with the machine column names (force_code, force_name, "
        "district_code, district_name, bcu_code, ward_code, distance_to_boundary_m, "
        "near_boundary, method, status, reason, …) so that scripts can read it. "
        + service.attribution()
    )


def answer_for(upload: Any) -> dict[str, Any] | None:
    """The resolved batch for an upload (``None`` when nothing is uploaded, or after an error).

    A file already resolved in this session is not resolved again on a rerun; removing the
    upload forgets the answer.
    """
    if upload is None:
        st.session_state.pop(BATCH_KEY, None)
        return None
    stored: dict[str, Any] | None = st.session_state.get(BATCH_KEY)
    if stored is None or stored["file_id"] != upload.file_id:
        stored = run_batch(upload)
    return stored
