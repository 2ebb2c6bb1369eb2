"""Batch lookup: resolve every row of an uploaded CSV or Excel file, and offer the result back.

:func:`answer_for` resolves an upload once (with a progress bar) and keeps the answer for the
session; :func:`render_batch` shows the summary, the problems by type, a preview and the
download, in the format uploaded.
"""

from __future__ import annotations

from collections.abc import Callable
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
    browser with messages.
    """
    last = [-1]

    def progress(done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, int(done * 100 / total))
        if percent != last[0]:
            last[0] = percent
            bar.progress(percent, text=f"Resolved {done:,} of {total:,} rows")

    return progress


def error_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Count the rows that did not resolve, by what went wrong.

    Parameters
    ----------
    table
        A resolved table (``status`` and ``error`` columns).

    Returns
    -------
    DataFrame
        Columns ``problem`` and ``rows``, largest first; empty when every row resolved.
    """
    if "status" not in table.columns:
        return pd.DataFrame({"problem": [], "rows": []})
    bad = table[table["status"] != "resolved"]
    problems = [
        str(err) if status == "error" and err else str(status)
        for status, err in zip(bad["status"], bad.get("error", [None] * len(bad)), strict=True)
    ]
    counts = pd.Series(problems, dtype=object).value_counts()
    return pd.DataFrame({"problem": counts.index.astype(str), "rows": counts.to_numpy()})


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
        ``file_id``, ``file_name``, ``fmt``, ``summary``, ``table`` and ``download`` (bytes), or
        ``None`` after an error has been shown.
    """
    table = call(read_table, upload.getvalue(), upload.name)
    if table is None:
        return None
    bar = st.progress(0, text=f"Resolving {len(table):,} rows…")
    result = call(service.resolve_table, table, progress=progress_callback(bar))
    if result is None:
        bar.empty()
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
        "download": download,
    }
    st.session_state[BATCH_KEY] = stored
    return stored


def render_batch(stored: dict[str, Any], *, preview_rows: int = 200) -> None:
    """Show a resolved batch: summary metrics, problems by type, a preview and the download."""
    summary = stored["summary"]
    rows, resolved, near, errors = st.columns(4)
    rows.metric("Rows", f"{summary.rows:,}")
    resolved.metric("Resolved", f"{summary.resolved:,}")
    near.metric("Near a boundary", f"{summary.near_boundary:,}")
    errors.metric("Errors", f"{summary.errors:,}")

    problems = error_counts(stored["table"])
    if len(problems):
        st.warning(f"{int(problems['rows'].sum()):,} rows did not resolve to a force:")
        st.dataframe(problems, hide_index=True, width="content")

    table: pd.DataFrame = stored["table"]
    shown = min(preview_rows, len(table))
    st.markdown(f"**Preview** (first {shown:,} of {len(table):,} rows)")
    st.dataframe(table.head(preview_rows), hide_index=True)
    st.download_button(
        f"Download the resolved file ({stored['fmt'].upper()})",
        data=stored["download"],
        file_name=stored["file_name"],
        mime=mime_type(stored["fmt"]),
        on_click="ignore",
        key="batch_download",
    )
    st.caption(service.attribution())


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
