"""Crossforce's Streamlit entry point: the navigation and nothing else (`streamlit run app.py`)."""

import streamlit as st

st.set_page_config(page_title="crossforce", layout="wide")
st.navigation(
    [
        st.Page("ui/boundary_lookup.py", title="Boundary lookup", default=True),
        st.Page("ui/reference_data.py", title="Reference data"),
    ]
).run()
