"""Boundary lookup: which force, district, Met BCU and ward a postcode or point is in.

The page reads widgets, calls one service function and renders; helpers are in ``ui._common`` and
``ui._map``. Per-user state (the last map click, the map, a resolved batch) is kept in
``st.session_state`` only.
"""

from __future__ import annotations

import streamlit as st

from coordination.core.settings import get_settings
from ui import _common, _map

st.title("Boundary lookup")
single_tab, batch_tab = st.tabs(["Single lookup", "Batch"])

with single_tab:
    query = st.text_input(
        "Postcode or coordinates",
        key=_common.QUERY_KEY,
        placeholder="EC2V 7HH, or 51.5155,-0.0919, or 532494,181344",
        on_change=_common.forget_click,
    )
    result = _common.current_answer(query)
    if result is not None:
        _common.render_result(result)
        data = _map.map_for(result)
        if data is not None:
            _map.show_map(data, tile_url=get_settings().map_tile_url)

with batch_tab:
    st.markdown(
        "Upload a CSV or Excel file with a `postcode` column, or `easting` and `northing`, or "
        "`lat` and `lon`. Every row is kept; rows that cannot be resolved say why."
    )
    upload = st.file_uploader(
        "Table of postcodes or coordinates", type=["csv", "xlsx"], key="batch_upload"
    )
    if upload is None:
        st.session_state.pop(_common.BATCH_KEY, None)
    else:
        stored = st.session_state.get(_common.BATCH_KEY)
        if stored is None or stored["file_id"] != upload.file_id:
            stored = _common.run_batch(upload)
        if stored is not None:
            _common.render_batch(stored)
