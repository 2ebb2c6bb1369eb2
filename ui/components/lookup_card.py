"""The lookup card: the answer for a postcode or a point, as the Boundary lookup page shows it.

:func:`current_answer` decides what to answer (the last map click, else the typed query) and
calls the lookup service; :func:`render_result` shows the answer: the force, the areas, the
distance to the nearest force boundary, warnings, the two sources when they disagree, and the
raw answer as JSON.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from coordination.core.serial import dumps
from coordination.reference import lookup as service
from coordination.reference.lookup import LookupResult
from ui.components.maps import CLICK_KEY, forget_click
from ui.session import call
from ui.text import code, md

QUERY_KEY = "query"

_METHODS = {
    "polygon": "inside a district polygon",
    "nearest": "nearest district (the point is in no polygon)",
    "outside": "outside the boundary set",
    "directory": "postcode directory only",
    "by district": "by district (force areas are whole districts; no boundary lines here)",
}


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


def _place(named: Any, why: str | None = None) -> str:
    """A name beside its code; a dash with the reason when there is none."""
    if named is None:
        return f"— ({md(why)})" if why else "—"
    if not named.name or named.name == named.code:
        # A code no table names: shown once, never as "E08000003 E08000003".
        return f"{code(named.code)} (name not known)"
    return f"{md(named.name)} {code(named.code)}"


def _distance(result: LookupResult) -> str:
    if result.distance_to_boundary_m is None:
        if result.method == "by district":
            return "— (unknown: the boundary set has no lines here; needs the national pack)"
        if result.method == "directory" and result.force is not None:
            return "— (not measured outside England and Wales)"
        return "—"
    text = f"{result.distance_to_boundary_m:,.0f} m"
    if result.nearest_other_force is not None:
        text += f" to {_place(result.nearest_other_force)}"
    return text


def _source_line(label: str, source: dict[str, Any]) -> str:
    district = source.get("district") or {}
    force = source.get("force") or {}
    district_text = (
        f"{md(district.get('name', '?'))} {code(district.get('code', '?'))}" if district else "none"
    )
    force_text = f"{md(force.get('name', '?'))} {code(force.get('code', '?'))}" if force else "none"
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
        # The names come from a loaded pack and ``where`` from what was typed: escaped.
        st.caption(
            f"ONS code {md(result.force.code)} · ONS name “{md(result.force.ons_name)}” · "
            f"{md(where)}"
        )
    else:
        st.markdown("## No force found")
        st.caption(md(where))

    left, middle, right = st.columns(3)
    left.markdown(f"**District**  \n{_place(result.district)}")
    middle.markdown(f"**Met BCU**  \n{_place(result.bcu, result.bcu_note)}")
    right.markdown(f"**Ward**  \n{_place(result.ward, result.ward_note)}")
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
        # Warnings quote area names from the loaded pack and the postcode looked up.
        st.warning(md(warning))

    if result.polygon is not None and result.directory is not None:
        st.markdown(
            "**The two sources disagree:**\n"
            + _source_line("Postcode directory (official)", result.directory)
            + "\n"
            + _source_line("Boundary map (this point)", result.polygon)
        )

    with st.expander("Result as JSON"):
        st.json(dumps(result))
