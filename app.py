"""Crossforce's Streamlit entry point: the navigation and nothing else (`streamlit run app.py`)."""

import streamlit as st

from coordination.core.logs import configure_logging
from ui._auth import current_user, require_sign_in
from ui._register import demo_notice

st.set_page_config(page_title="crossforce", layout="wide")
configure_logging()  # no personal data in application logs (idempotent on reruns)
# Nobody sees any page until signed in. The navigation is built first (hidden until then) so
# that a link to a page still opens that page once its visitor has signed in.
user = current_user()
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
        "Admin": [
            st.Page("ui/audit.py", title="Audit log"),
        ],
    },
    position="sidebar" if user is not None else "hidden",
)
if user is None:
    require_sign_in()  # the sign-in form; the script stops there
# The Cases pages say themselves that demo data is synthetic; the others get it said here.
if page.title in ("Boundary lookup", "Reference data"):
    demo_notice()
page.run()
