"""Helpers the pages share: safe calls, the answer card, batch rendering.

Pages stay thin: they read widgets, call one service function through :func:`call`, and hand the
answer to a renderer here. Everything per user lives in ``st.session_state``; nothing here uses
``st.cache_data`` or ``st.cache_resource``, which are shared by every user of the server.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from coordination.core.serial import dumps
from coordination.errors import CrossforceError
from coordination.reference import lookup as service
from coordination.reference.lookup import LookupResult, read_table, write_table

T = TypeVar("T")

log = logging.getLogger("crossforce.ui")

GENERIC_ERROR = "Something went wrong; the details are in the server log."
QUERY_KEY = "query"
CLICK_KEY = "clicked_point"
BATCH_KEY = "batch_result"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$])")

_METHODS = {
    "polygon": "inside a district polygon",
    "nearest": "nearest district (the point is in no polygon)",
    "outside": "outside the boundary set",
    "directory": "postcode directory only",
}


def md(text: object) -> str:
    """Escape text for ``st.markdown`` so names never turn into formatting, links or LaTeX."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call a service function and show any failure on the page.

    Parameters
    ----------
    fn
        The service function (``coordination.lookup.lookup`` and friends).
    *args, **kwargs
        Passed to ``fn``.

    Returns
    -------
    The function's answer, or ``None`` after an error has been shown.
    """
    try:
        return fn(*args, **kwargs)
    except CrossforceError as exc:
        # Our own errors carry one-line messages written for the person at the keyboard; they
        # may quote what was typed, so it is escaped rather than rendered as markdown.
        st.error(md(exc))
    except Exception:
        # Anything else may contain internals: the detail goes to the log, never to the page.
        log.exception("unexpected error in %s", getattr(fn, "__name__", fn))
        st.error(GENERIC_ERROR)
    return None


def forget_click() -> None:
    """Drop the last map click, so a newly typed query is answered rather than the click."""
    st.session_state.pop(CLICK_KEY, None)


def current_answer(query: str) -> LookupResult | None:
    """Answer the last map click if there is one, else the typed query.

    Parameters
    ----------
    query
        The text of the "Postcode or coordinates" box.

    Returns
    -------
    LookupResult or None
        ``None`` when there is nothing to look up, or after an error has been shown.
    """
    clicked = st.session_state.get(CLICK_KEY)
    if clicked is not None:
        lat, lon = clicked
        st.info(f"Showing the point clicked on the map: {lat:.5f}, {lon:.5f}")
        st.button("Back to the typed query", on_click=forget_click, key="forget_click")
        return call(service.lookup_latlon, lat, lon)
    if not query.strip():
        return None
    return call(service.lookup, query)


def _place(named: Any) -> str:
    if named is None:
        return "—"
    return f"{md(named.name)} `{named.code}`"


def _distance(result: LookupResult) -> str:
    if result.distance_to_boundary_m is None:
        return "—"
    text = f"{result.distance_to_boundary_m:,.0f} m"
    if result.nearest_other_force is not None:
        text += f" to {md(result.nearest_other_force.name)} `{result.nearest_other_force.code}`"
    return text


def _source_line(label: str, source: dict[str, Any]) -> str:
    district = source.get("district") or {}
    force = source.get("force") or {}
    district_text = (
        f"{md(district.get('name', '?'))} `{district.get('code', '?')}`" if district else "none"
    )
    force_text = f"{md(force.get('name', '?'))} `{force.get('code', '?')}`" if force else "none"
    method = source.get("method")
    tail = f" (method {md(method)})" if method else ""
    return f"- **{label}:** district {district_text}, force {force_text}{tail}"


def render_result(result: LookupResult) -> None:
    """Show one lookup answer: the force, the areas, the distance, warnings and the raw JSON.

    Parameters
    ----------
    result
        The answer from ``coordination.lookup.lookup`` or ``lookup_latlon``.
    """
    where = result.postcode or result.query
    if result.force is not None:
        st.markdown(f"## {md(result.force.name)}")
        st.caption(f"ONS code {result.force.code} · ONS name “{result.force.ons_name}” · {where}")
    else:
        st.markdown("## No force found")
        st.caption(str(where))

    left, middle, right = st.columns(3)
    left.markdown(f"**District**  \n{_place(result.district)}")
    middle.markdown(f"**Met BCU**  \n{_place(result.bcu)}")
    right.markdown(f"**Ward**  \n{_place(result.ward)}")
    left, middle, right = st.columns(3)
    left.markdown(f"**Distance to the nearest force boundary**  \n{_distance(result)}")
    middle.markdown(f"**Method**  \n{md(_METHODS.get(result.method, result.method))}")
    approx = " (approximate)" if result.approximate else ""
    right.markdown(f"**Boundary set**  \n{md(result.boundary_set)}{approx}")

    warnings = list(result.warnings)
    if result.near_boundary and not any("boundary" in w.lower() for w in warnings):
        # The flag must never pass silently, even if the service added no wording for it.
        warnings.append("Near a force boundary: verify the address before relying on this answer.")
    for warning in warnings:
        st.warning(warning)

    if result.polygon is not None and result.directory is not None:
        st.markdown(
            "**The two sources disagree:**\n"
            + _source_line("Postcode directory (official)", result.directory)
            + "\n"
            + _source_line("Boundary map (this point)", result.polygon)
        )

    with st.expander("Result as JSON"):
        st.json(dumps(result))


# --- batch ----------------------------------------------------------------------------------

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


# --- reference data -------------------------------------------------------------------------


def sets_table(sets: list[Any]) -> pd.DataFrame:
    """Return the boundary sets as a table for people, the active one first.

    Parameters
    ----------
    sets
        ``BoundarySetPublic`` objects from ``coordination.lookup.reference_overview``.
    """
    rows = [
        {
            "active": s.active,
            "name": s.name,
            "vintage": s.vintage,
            "source": s.source,
            "approximate": s.approximate,
            "forces": s.n_forces,
            "districts": s.n_districts,
            "wards": s.n_wards,
            "loaded at": s.loaded_at,
            "loaded by": s.loaded_by,
            "activated at": s.activated_at,
        }
        for s in sorted(sets, key=lambda s: (not s.active, s.name))
    ]
    columns = [
        "active",
        "name",
        "vintage",
        "source",
        "approximate",
        "forces",
        "districts",
        "wards",
        "loaded at",
        "loaded by",
        "activated at",
    ]
    return pd.DataFrame(rows, columns=columns)


LOAD_INSTRUCTIONS = """\
**Loading the national reference pack** (official ONS boundaries for all 43 forces of England and
Wales, London wards and Met BCUs). On a machine with internet access:

```
crossforce data fetch DIR        # download the ONS files into DIR
crossforce data load DIR         # store them as a new, inactive boundary set
crossforce data activate NAME    # make that set the one every lookup uses
```

Or, on a fresh install, set `CROSSFORCE_REFERENCE_DIR=DIR` and run `crossforce init`.
A newly loaded set stays inactive until it is activated, so lookups never change by surprise.
"""
