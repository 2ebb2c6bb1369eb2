"""Boundary lookup: which force, district, Met BCU and ward a postcode or point is in.

The page reads widgets, calls one service function and renders; the pieces are in
``ui.components`` (the lookup card, the map, the batch). Per-user state (the last map click,
the map, a resolved batch) is kept in ``st.session_state`` only.
"""

from __future__ import annotations

import streamlit as st

from coordination.core.settings import get_settings
from ui.components import batch, lookup_card, maps

st.title("Boundary lookup")
single_tab, batch_tab = st.tabs(["Single lookup", "Batch"])

with single_tab:
    # The box and the answer beside the map, so the map shows without scrolling and a lookup
    # can start with a click on it.
    ask, show = st.columns([5, 6], gap="medium")
    with ask:
        query = st.text_input(
            "Postcode or coordinates",
            key=lookup_card.QUERY_KEY,
            placeholder="EC2V 7HH, or 51.5155,-0.0919, or 532494,181344",
            on_change=maps.forget_click,
        )
        result = lookup_card.current_answer(query)
        if result is not None:
            lookup_card.render_result(result)
        else:
            st.caption("Type a postcode or coordinates, or click on the map.")
    with show:
        data = maps.map_for(result)
        if data is not None:
            maps.show_map(data, result=result, tile_url=get_settings().map_tile_url)

with batch_tab:
    st.markdown(
        "Upload a CSV or Excel file with a `postcode` column, or `easting` and `northing`, or "
        "`lat` and `lon`. Every row is kept; rows that cannot be resolved say why."
    )
    upload = st.file_uploader(
        "Table of postcodes or coordinates", type=["csv", "xlsx"], key=batch.UPLOAD_KEY
    )
    stored = batch.answer_for(upload)
    if stored is not None:
        batch.render_batch(stored)
