"""Crossforce's Streamlit entry point: the navigation and nothing else (`streamlit run app.py`)."""

import streamlit as st

from coordination.core.logs import configure_logging
from ui import navigation
from ui.components.notice import demo_notice
from ui.components.signin import current_user, require_sign_in

st.set_page_config(page_title="crossforce", layout="wide")
configure_logging()  # no personal data in application logs (idempotent on reruns)
# Nobody sees any page until signed in. The navigation is built first (hidden until then, over
# every page) so that a link to a page still opens that page once its visitor has signed in;
# signed in, it lists only the pages the user's role may use (ui.navigation).
user = current_user()
page = st.navigation(
    navigation.menu(user.role if user is not None else None),
    position="sidebar" if user is not None else "hidden",
)
if user is None:
    require_sign_in()  # the sign-in form; the script stops there
# The Cases pages say themselves that demo data is synthetic; the others get it said here.
if navigation.spec(page.title).demo_notice:
    demo_notice()
page.run()
