"""Handoffs: a force's incoming and outgoing queues, with deadlines and red/amber/green status.

The queues can be narrowed to one Met BCU (where the handoff goes) and searched by name, PNC ID
or case number. Accept, reject (a reason is required; a rejection escalates), complete or
withdraw a handoff, with a note. The form offers only the handoffs and the actions the signed-in
user may take: the sending force requests and withdraws, the receiving force accepts, rejects and
completes. When somebody else changed the handoff first, the action is refused with "changed by
NAME at TIME; reload".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from coordination.handoffs import workflow as handoffs
from coordination.security.permissions import acts_for, permission, principal
from ui import session
from ui.components import tables
from ui.components.notice import demo_notice
from ui.navigation import require_page
from ui.text import CITY, MET, force_label, md

FLASH_KEY = "ho_flash"
PICK_KEY = "ho_pick"
KEPT_KEY = "ho_picked"  # the handoff chosen last, kept while its label changes (state)
OPEN_STATES = ("proposed", "requested", "accepted")
# The sending force requests and withdraws; the receiving force answers. This is the rule
# coordination.handoffs.workflow._check_side enforces (refusing and auditing); the service has no
# non-refusing form of it yet, so the page asks acts_for() with the same side per action.
SENDER_ACTIONS = frozenset({"request", "withdraw"})


def permitted_actions(
    db: Any, *, actor: str, views: Sequence[handoffs.HandoffView]
) -> dict[int, tuple[str, ...]]:
    """The actions ``actor`` may take on each handoff: its state's, on the actor's side.

    Parameters
    ----------
    db
        The database session ``session.run`` opens (read only here).
    actor
        The signed-in user.
    views
        Handoffs listed for them.

    Returns
    -------
    dict[int, tuple[str, ...]]
        Handoff id -> actions in workflow order; handoffs with none are left out.
    """
    p = principal(db, actor)
    if not p.is_system and permission(p.role, "handoff.act") == "refuse":
        return {}
    offered: dict[int, tuple[str, ...]] = {}
    for view in views:
        sender, receiver = view.handoff.from_force_code, view.handoff.to_force_code
        actions = tuple(
            action
            for action in handoffs.allowed_actions(view.state)
            if acts_for(db, p, sender if action in SENDER_ACTIONS else receiver, view.case_id)
        )
        if actions:
            offered[view.id] = actions
    return offered


def matches(view: handoffs.HandoffView, *, bcu: str | None, search: str) -> bool:
    """Whether a handoff passes the BCU filter and the search (name, PNC ID, case or handoff)."""
    if bcu is not None and view.handoff.to_bcu_code != bcu:
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
    "Met BCU (where it goes)",
    [None, *own_bcu, *[c for c in tables.BCU_NAMES if c not in own_bcu]],
    key="ho_bcu",
    format_func=tables.bcu_label,
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
    queues[direction] = [v for v in listed if matches(v, bcu=bcu, search=search)]

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
            st.dataframe(tables.handoffs_table(views), hide_index=True, key=f"ho_{direction}")
        elif bcu is not None or search.strip():
            st.caption(f"No {direction} handoffs match the filters.")
        else:
            st.caption(f"No {direction} handoffs.")
st.caption(
    "Due: the address check (10 days from the request) while requested, the completion "
    "(20 working days) once accepted. Red: overdue; amber: due within 3 working days."
)

st.subheader("Act on a handoff")
listed_views = {v.id: v for direction in ("incoming", "outgoing") for v in queues[direction]}
offered = (
    session.run(permitted_actions, actor=actor, views=list(listed_views.values())) or {}
    if actor
    else {}
)
actionable = {h: listed_views[h] for h in offered}
if not actionable:
    st.caption(
        "None of the handoffs listed is waiting for you: the sending force requests and "
        "withdraws, the receiving force accepts, rejects and completes."
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
        with st.form("handoff_action"):
            action = st.selectbox("Action", list(offered[view.id]), key="ho_action")
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
