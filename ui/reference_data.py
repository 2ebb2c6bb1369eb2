"""Reference data: the stored boundary sets, which one answers lookups, and how to load more."""

from __future__ import annotations

import streamlit as st

from coordination.reference import lookup as service
from ui import _common

st.title("Reference data")

overview = _common.call(service.reference_overview)
if overview is not None:
    active = overview.active
    if active is None:
        st.warning("No boundary set is active: run `crossforce init` to load one.")
    else:
        kind = "approximate" if active.approximate else "official"
        st.success(
            f"Active boundary set: {_common.md(active.name)} ({_common.md(active.vintage)}, "
            f"{kind}) — {active.n_forces} forces, {active.n_districts} districts, "
            f"{active.n_wards} wards."
        )
    for boundary_set in overview.sets:
        if boundary_set.approximate:
            note = boundary_set.coverage_note or "Approximate boundaries: not for official use."
            st.info(f"{boundary_set.name} is approximate. {note}")

    st.subheader("Boundary sets")
    if overview.sets:
        st.dataframe(_common.sets_table(overview.sets), hide_index=True, key="boundary_sets")
    else:
        st.markdown("No boundary sets are stored yet.")

    st.markdown(_common.LOAD_INSTRUCTIONS)
    st.caption(overview.attribution)
