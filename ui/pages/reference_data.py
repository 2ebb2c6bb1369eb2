"""Reference data: the stored boundary sets, which one answers lookups, and how to load more."""

from __future__ import annotations

import streamlit as st

from coordination.reference import lookup as service
from ui.components import tables
from ui.session import call
from ui.text import md

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

st.title("Reference data")

overview = call(service.reference_overview)
if overview is not None:
    active = overview.active
    if active is None:
        st.warning("No boundary set is active: run `crossforce init` to load one.")
    else:
        kind = "approximate" if active.approximate else "official"
        st.success(
            f"Active boundary set: {md(active.name)} ({md(active.vintage)}, "
            f"{kind}) — {active.n_forces} forces, {active.n_districts} districts, "
            f"{active.n_wards} wards."
        )
    for boundary_set in overview.sets:
        if boundary_set.approximate:
            note = boundary_set.coverage_note or "Approximate boundaries: not for official use."
            # The set's name and coverage note come from the pack that was loaded.
            st.info(md(f"{boundary_set.name} is approximate. {note}"))

    st.subheader("Boundary sets")
    if overview.sets:
        st.dataframe(tables.sets_table(overview.sets), hide_index=True, key="boundary_sets")
    else:
        st.markdown("No boundary sets are stored yet.")

    st.markdown(LOAD_INSTRUCTIONS)
    st.caption(md(overview.attribution))
