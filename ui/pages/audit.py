"""Audit log (admins): search the log, verify its hash chain, export it as CSV.

Every read goes through ``coordination.audit``, which refuses anyone but an admin; the export is
itself recorded in the log as a disclosure to the admin who made it. The export is prepared on a
button press (and recorded then), not on every rerun of the page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import streamlit as st

from coordination.audit.reader import export_events, search_events, verify_chain
from coordination.ledger.chain import CATEGORIES
from ui import session
from ui.components import tables
from ui.text import code, md

EXPORT_KEY = "audit_export"
VERIFY_KEY = "audit_verify_report"
ANY = "(any)"


def offender_id_typed(text: str) -> int | None:
    """The offender id typed, ``None`` when blank.

    Raises
    ------
    ValueError
        When the text is not a positive whole number.
    """
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


st.title("Audit log")
actor = session.signed_in_username()
if actor is None:
    st.warning("Sign in as an admin to read the audit log.")
    st.stop()
st.caption(
    "Every collection, alteration, consultation, disclosure, combination and erasure of personal "
    "data (Data Protection Act 2018, s.62), sign-ins and refusals. The log is append-only and "
    "hash-chained; times are UTC."
)

cols = st.columns(5)
user = cols[0].text_input("User", key="audit_user", placeholder="username")
offender_text = cols[1].text_input("Offender id", key="audit_offender")
since: date | None = cols[2].date_input("Since", value=None, key="audit_since")
action = cols[3].text_input(
    "Action", key="audit_action", help="An action, or a prefix ending in * (e.g. handoff.*)"
)
category = cols[4].selectbox("Category", [ANY, *CATEGORIES], key="audit_category")
limit = st.number_input(
    "Show at most", min_value=1, max_value=10_000, value=200, step=50, key="audit_limit"
)

filters: dict[str, Any] | None = None
try:
    offender_id = offender_id_typed(offender_text)
except ValueError:
    st.error(f"Offender id {md(offender_text.strip())} is not a whole number.")
else:
    filters = {
        "user": user.strip() or None,
        "offender_id": offender_id,
        "since": since,
        "action": action.strip() or None,
        "category": None if category == ANY else category,
    }

if filters is not None:
    records = session.run(search_events, actor=actor, limit=int(limit), **filters)
    if records is not None:
        st.caption(f"{len(records):,} events, newest first (at most {int(limit):,}).")
        st.dataframe(
            tables.events_table(records),
            hide_index=True,
            key="audit_table",
            column_config={"details": st.column_config.TextColumn("details", width="large")},
        )
        with_details = {r.id: r.details for r in records if r.details}
        if with_details:
            with st.expander("Full details of one event (as recorded)"):
                chosen = st.selectbox("Event id", list(with_details), key="audit_details_event")
                if chosen is not None:
                    st.json(with_details[chosen], expanded=True)

st.subheader("Integrity")
if st.button("Verify the hash chain", key="audit_verify"):
    checked = session.run(verify_chain, actor=actor)
    if checked is not None:
        st.session_state[VERIFY_KEY] = checked
report = st.session_state.get(VERIFY_KEY)
if report is not None:
    if report.ok:
        st.success(md(report.message))
    else:
        st.error(md(report.message))
    st.caption(
        f"Last hash: {code(report.last_hash)} (note it elsewhere to detect rows cut from the end)."
    )

st.subheader("Export")
st.caption("The export is recorded in the audit log as a disclosure to you, with its reason.")
justification = st.text_input(
    "Why it is exported (required)",
    key="audit_justification",
    placeholder="e.g. subject access request 2026/114",
)
if filters is not None and st.button(
    "Prepare a CSV export of these filters", key="audit_export_go"
):
    data = session.run(export_events, actor=actor, justification=justification, **filters)
    if data is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        st.session_state[EXPORT_KEY] = {"data": data, "name": f"audit-{stamp}.csv"}
export = st.session_state.get(EXPORT_KEY)
if export is not None:
    st.download_button(
        "Download the CSV",
        data=export["data"],
        file_name=export["name"],
        mime="text/csv",
        on_click="ignore",
        key="audit_download",
    )
