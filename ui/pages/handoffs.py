"""Handoffs: a force's incoming and outgoing queues, with deadlines and red/amber/green status.

Accept, reject (a reason is required; a rejection escalates), complete or withdraw a handoff,
with a note. When somebody else changed the handoff first, the action is refused with
"changed by NAME at TIME; reload".
"""

from __future__ import annotations

import streamlit as st

from coordination.handoffs import workflow as handoffs
from ui import session
from ui.components import tables
from ui.components.notice import demo_notice
from ui.navigation import require_page
from ui.text import CITY, MET, force_label, md

FLASH_KEY = "ho_flash"

st.title("Handoffs")
demo_notice()
session.show_flash(FLASH_KEY)

require_page("Handoffs")
viewer = session.signed_in_user()
# Every read names the signed-in user: the queues list only handoffs of cases they may see.
me = session.signed_in_username()

left, right = st.columns(2)
FORCE_CHOICES = [CITY, MET]
force = left.selectbox(
    "Force",
    FORCE_CHOICES,
    # The user's own force first.
    index=FORCE_CHOICES.index(viewer.force_code)
    if viewer is not None and viewer.force_code in FORCE_CHOICES
    else 0,
    key="ho_force",
    format_func=force_label,
)
with right:
    actor = session.acting_user(force)
show_closed = st.toggle("Show closed handoffs too", key="ho_closed")
state = None if show_closed else "open"

queues = {}
for direction in ("incoming", "outgoing"):
    queues[direction] = (
        session.run(
            handoffs.list_handoffs,
            force_code=force,
            direction=direction,
            state=state,
            actor=me,
        )
        or []
    )

metrics = st.columns(4)
metrics[0].metric(
    "Incoming open",
    sum(v.state in ("proposed", "requested", "accepted") for v in queues["incoming"]),
)
metrics[1].metric("Incoming overdue", sum(v.overdue for v in queues["incoming"]))
metrics[2].metric(
    "Outgoing open",
    sum(v.state in ("proposed", "requested", "accepted") for v in queues["outgoing"]),
)
metrics[3].metric("Outgoing overdue", sum(v.overdue for v in queues["outgoing"]))

incoming_tab, outgoing_tab = st.tabs(["Incoming", "Outgoing"])
for tab, direction in ((incoming_tab, "incoming"), (outgoing_tab, "outgoing")):
    with tab:
        views = queues[direction]
        if views:
            st.dataframe(tables.handoffs_table(views), hide_index=True, key=f"ho_{direction}")
        else:
            st.caption(f"No {direction} handoffs.")
st.caption(
    "Due: the address check (10 days from the request) while requested, the completion "
    "(20 working days) once accepted. Red: overdue; amber: due within 3 working days."
)

st.subheader("Act on a handoff")
actionable = {
    v.id: v
    for direction in ("incoming", "outgoing")
    for v in queues[direction]
    if handoffs.allowed_actions(v.state)
}
handoff_id = st.selectbox(
    "Handoff",
    [None, *actionable],
    key="ho_pick",
    format_func=lambda h: (
        "Choose a handoff…"
        if h is None
        else f"#{h} {actionable[h].offender_name}: {actionable[h].from_force_name} → "
        f"{actionable[h].to_force_name} ({actionable[h].state})"
    ),
)
view = actionable.get(handoff_id) if handoff_id is not None else None
if view is not None:
    seen = session.seen_version("handoff", view.id, view.handoff.version)
    st.markdown(f"**Reason:** {md(view.handoff.reason)}")
    with st.form("handoff_action"):
        action = st.selectbox("Action", list(handoffs.allowed_actions(view.state)), key="ho_action")
        note = st.text_area("Note (required to reject)", key="ho_note")
        submitted = st.form_submit_button("Apply")
    if submitted and actor:
        done = session.run(
            handoffs.transition,
            actor=actor,
            handoff_id=view.id,
            action=action,
            note=note or None,
            expected_version=seen,
        )
        if done is not None:
            session.forget_version("handoff", view.id)
            lines = [f"Handoff {done.id} is now {done.state}."]
            if done.state == "completed":
                lines.append(f"{force_label(done.to_force_code)} now leads case {done.case_id}.")
            # Show the queues as they are now: rerun, carrying the message across.
            session.flash(FLASH_KEY, lines)
            st.rerun()
    if st.button("Reload", key="ho_reload"):
        session.forget_version("handoff", view.id)
        st.rerun()
