"""Crossforce's Streamlit entry point: the navigation and nothing else (`streamlit run app.py`)."""

import streamlit as st

from ui._register import demo_notice

st.set_page_config(page_title="crossforce", layout="wide")
page = st.navigation(
    {
        "Cases": [
            st.Page("ui/caseload.py", title="Caseload"),
            st.Page("ui/handoffs.py", title="Handoffs"),
            st.Page("ui/network.py", title="Network"),
            st.Page("ui/joint_review.py", title="Joint review"),
        ],
        "Boundaries": [
            st.Page("ui/boundary_lookup.py", title="Boundary lookup", default=True),
            st.Page("ui/reference_data.py", title="Reference data"),
        ],
    }
)
# The Cases pages say themselves that demo data is synthetic; the others get it said here.
if page.title in ("Boundary lookup", "Reference data"):
    demo_notice()
page.run()
