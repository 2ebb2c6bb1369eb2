"""Handoffs: a force's incoming and outgoing queues, with deadlines and red/amber/green status.

The queues can be narrowed to one Met BCU (at the sending end, the receiving end, or either) and
searched by name, PNC ID or case number. The receiving side records the address check (when,
how, what it found: confirmed accepts, not confirmed or not there sends it back as a rejection);
accept, reject (a reason is required; a rejection escalates), complete (only once the address
check is confirmed) or withdraw a handoff, with a note. The form offers only the handoffs and
the actions the signed-in user may take, as coordination.handoffs.permissions answers with the
workflow's own rules: the sending force requests and withdraws, the receiving force accepts,
rejects and completes. When somebody else changed the handoff first, the action is refused with
"changed by NAME at TIME; reload".
"""

from __future__ import annotations

import streamlit as st

from coordination.core.clock import london_today
from coordination.handoffs import workflow as handoffs
from coordination.handoffs.address_check import (
    METHOD_LABELS,
    OUTCOME_LABELS,
    record_address_check,
)
from coordination.handoffs.permissions import permitted_handoff_actions
from coordination.security.permissions import permission
from ui import session
from ui.components import escalations_panel, tables
from ui.components.notice import demo_notice
from ui.navigation import require_page
from ui.text import CITY, MET, force_label, md

FLASH_KEY = "ho_flash"
PICK_KEY = "ho_pick"
KEPT_KEY = "ho_picked"  # the handoff chosen last, kept while its label changes (state)
OPEN_STATES = ("proposed", "requested", "accepted")
BCU_SIDES = ("both", "sending", "receiving")


def matches(
    view: handoffs.HandoffView, *, bcu: str | None, side: str = "both", search: str = ""
) -> bool:
    """Whether a handoff passes the BCU filter and the search (name, PNC ID, case or handoff).

    ``side`` says which end the BCU is: ``"sending"`` (the Met team it leaves), ``"receiving"``
    (where it goes) or ``"both"`` (either).
    """
    if bcu is not None:
        ends = {"sending": [view.from_bcu_code], "receiving": [view.handoff.to_bcu_code]}
        if bcu not in ends.get(side, [view.from_bcu_code, view.handoff.to_bcu_code]):
            return False
    wanted = " ".join(search.split()).casefold().lstrip("#")
    if not wanted:
        return True
    if wanted.isdigit() and int(wanted) in (view.case_id, view.id):
        return True
    return wanted in view.offender_name.casefold() or wanted in view.pnc_id.casefold()


def keep_pick() -> None:
    """Remember the handoff chosen, so the choice survives its label changing on a rerun.

    The browser sends back the label it shows; once the handoff's state (in the label) has
    changed, that label matches no option and the widget would fall back to "Choose…". So an
    empty answer never replaces the handoff kept: choosing another one does.
    """
    chosen = st.session_state.get(PICK_KEY)
    if chosen is not None:
        st.session_state[KEPT_KEY] = chosen


st.title("Handoffs")
demo_notice()
session.show_flash(FLASH_KEY)

require_page("Handoffs")
viewer = session.signed_in_user()
if viewer is None:  # require_page has stopped already: nobody is signed in
    st.stop()
# Every read names the signed-in user: the queues list only handoffs of cases they may see.
me = viewer.username

top = st.columns(3)
FORCE_CHOICES = [CITY, MET]
force = top[0].selectbox(
    "Force",
    FORCE_CHOICES,
    # The user's own force first.
    index=FORCE_CHOICES.index(viewer.force_code) if viewer.force_code in FORCE_CHOICES else 0,
    key="ho_force",
    format_func=force_label,
)
# The user's own BCU first after "All BCUs": a BCU manager looks at theirs most.
own_bcu = [viewer.bcu_code] if viewer.bcu_code in tables.BCU_NAMES else []
bcu = top[1].selectbox(
    "Met BCU",
    [None, *own_bcu, *[c for c in tables.BCU_NAMES if c not in own_bcu]],
    key="ho_bcu",
    format_func=tables.bcu_label,
)
side = top[1].radio(
    "Which end the BCU is",
    BCU_SIDES,
    key="ho_bcu_side",
    horizontal=True,
    format_func=lambda s: {"both": "either end", "sending": "sending", "receiving": "receiving"}[s],
    help="Sending: the Met team managing the case. Receiving: the BCU the handoff goes to.",
)
search = top[2].text_input("Search name, PNC ID or case", key="ho_search")
# Who acts: the signed-in user, for their own force; each action is checked again by the service.
actor = session.acting_user(viewer.force_code)
show_closed = st.toggle("Show closed handoffs too", key="ho_closed")
state = None if show_closed else "open"

queues: dict[str, list[handoffs.HandoffView]] = {}
for direction in ("incoming", "outgoing"):
    listed = (
        session.run(
            handoffs.list_handoffs,
            force_code=force,
            direction=direction,
            state=state,
            actor=me,
        )
        or []
    )
    queues[direction] = [v for v in listed if matches(v, bcu=bcu, side=side, search=search)]

metrics = st.columns(4)
metrics[0].metric("Incoming open", sum(v.state in OPEN_STATES for v in queues["incoming"]))
metrics[1].metric("Incoming overdue", sum(v.overdue for v in queues["incoming"]))
metrics[2].metric("Outgoing open", sum(v.state in OPEN_STATES for v in queues["outgoing"]))
metrics[3].metric("Outgoing overdue", sum(v.overdue for v in queues["outgoing"]))

incoming_tab, outgoing_tab = st.tabs(["Incoming", "Outgoing"])
for tab, direction in ((incoming_tab, "incoming"), (outgoing_tab, "outgoing")):
    with tab:
        views = queues[direction]
        if views:
            st.dataframe(
                tables.rag_styled(tables.handoffs_table(views)),
                hide_index=True,
                key=f"ho_{direction}",
            )
        elif bcu is not None or search.strip():
            st.caption(f"No {direction} handoffs match the filters.")
        else:
            st.caption(f"No {direction} handoffs.")
st.caption(
    "Due: the address check (10 days from the request) while requested, the completion "
    "(20 working days) once accepted. Status: overdue, due soon (within 3 working days) or on "
    "time."
)

st.subheader("Act on a handoff")
listed_views = {v.id: v for direction in ("incoming", "outgoing") for v in queues[direction]}
# The workflow's own rules say what is offered (coordination.handoffs.permissions), so the form
# never offers what transition() would refuse.
verdicts = (
    session.run(permitted_handoff_actions, actor=actor, handoff_ids=list(listed_views)) or {}
    if actor
    else {}
)
# In the queues' order: incoming first, most urgent first.
offered = {h: verdicts[h].allowed for h in listed_views if h in verdicts}
# The receiving side also picks a handoff to record its address check, even before it may act.
actionable = {h: listed_views[h] for h in offered if offered[h] or verdicts[h].may("check")}
if not actionable:
    st.caption(
        "None of the handoffs listed is waiting for you: the sending force requests and "
        "withdraws, the receiving force checks the address, accepts, rejects and completes."
    )
else:
    kept = st.session_state.get(KEPT_KEY)
    if kept in actionable:
        # A rerun after an action changes the handoff's label (its state): choose it again.
        st.session_state[PICK_KEY] = kept
    handoff_id = st.selectbox(
        "Handoff",
        list(actionable),
        index=None,
        placeholder="Choose a handoff…",
        key=PICK_KEY,
        on_change=keep_pick,
        format_func=lambda h: (
            f"#{h} {actionable[h].offender_name}: {actionable[h].from_force_name} → "
            f"{actionable[h].to_force_name} ({actionable[h].state})"
        ),
    )
    view = actionable.get(handoff_id) if handoff_id is not None else None
    if view is not None and actor:
        seen = session.seen_version("handoff", view.id, view.handoff.version)
        st.markdown(f"**Reason:** {md(view.handoff.reason)}")
        h = view.handoff
        if h.address_check_outcome:
            st.markdown(
                f"**Address check:** {OUTCOME_LABELS.get(h.address_check_outcome, '')} by "
                f"{METHOD_LABELS.get(h.address_check_method or '', '')} on "
                f"{h.address_checked_on} ({md(h.address_checked_by or '')})"
            )
        if verdicts[view.id].may("check"):
            with st.form("handoff_check"):
                st.markdown("**Record the address check**")
                cols = st.columns(3)
                checked_on = cols[0].date_input(
                    "Checked on", value=london_today(), max_value=london_today(), key="ho_check_on"
                )
                check_method = cols[1].selectbox(
                    "How",
                    list(METHOD_LABELS),
                    format_func=METHOD_LABELS.__getitem__,
                    key="ho_check_method",
                )
                check_outcome = cols[2].selectbox(
                    "Outcome",
                    list(OUTCOME_LABELS),
                    format_func=OUTCOME_LABELS.__getitem__,
                    key="ho_check_outcome",
                )
                check_note = st.text_input("Note", key="ho_check_note")
                st.caption(
                    "Confirmed accepts a requested handoff and lets it complete; not confirmed "
                    "or not there sends it back to the sender with the reason (escalated)."
                )
                checked = st.form_submit_button("Record the check")
            if checked:
                done = session.run(
                    record_address_check,
                    actor=actor,
                    handoff_id=view.id,
                    checked_on=checked_on,
                    method=check_method,
                    outcome=check_outcome,
                    note=check_note,
                    expected_version=seen,
                )
                if done is not None:
                    session.forget_version("handoff", view.id)
                    session.flash(
                        FLASH_KEY,
                        [f"Address check recorded: handoff {done.id} is now {done.state}."],
                    )
                    st.rerun()
        submitted = False
        if offered[view.id]:
            with st.form("handoff_action"):
                action = st.selectbox("Action", list(offered[view.id]), key="ho_action")
                refused = verdicts[view.id].refused
                st.caption(
                    md("Not offered: " + "; ".join(f"{a}: {why}" for a, why in refused.items()))
                )
                st.caption("Completing needs a confirmed address check, recorded above.")
                note = st.text_area("Note (required to reject)", key="ho_note")
                submitted = st.form_submit_button("Apply")
        if submitted:
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
                    lines.append(
                        f"{force_label(done.to_force_code)} now leads case {done.case_id}."
                    )
                # Show the queues as they are now: rerun, carrying the message across.
                session.flash(FLASH_KEY, lines)
                st.rerun()
        if st.button("Reload", key="ho_reload"):
            session.forget_version("handoff", view.id)
            st.rerun()

# --- escalations: the sending force's supervisors resolve rejected handoffs ----------------------
if permission(viewer.role, "escalation.view") == "allow":
    escalations_panel.section(actor=me, flash_key=FLASH_KEY)
