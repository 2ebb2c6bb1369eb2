"""The case page's *Access* tab: limited access, set and lifted by the lead force's supervisors.

A case may keep named users out (``exclude``) or let in only the users listed (``allow``); each
change needs a reason and is an audited alteration (``coordination.security.access``). The tab
shows the form only to those the permission table lets manage access to this case (its lead
force's supervisors, and admins), so nobody is offered a change the service refuses.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from coordination.core.wording import case_access_mode_label
from coordination.security.access import clear_case_access, list_case_access, set_case_access
from coordination.security.permissions import permission
from ui import session
from ui.text import force_label

MODES = ("exclude", "allow")


def may_manage(viewer: Any, case: Any) -> str | None:
    """``None`` when ``viewer`` may manage access to ``case``, else why not (one line)."""
    if viewer is None or permission(viewer.role, "access.manage") == "refuse":
        return "Limited access is set by supervisors of the lead force and administrators."
    if viewer.role == "supervisor" and viewer.force_code != case.lead_force_code:
        return (
            "Limited access is set by supervisors of the lead force "
            f"({force_label(case.lead_force_code)})."
        )
    return None


def access_tab(case: Any, *, viewer: Any, actor: str | None, flash_key: str) -> None:
    """The entries on the case, and the forms to add one or lift one."""
    why_not = may_manage(viewer, case)
    if why_not is not None or not actor:
        st.caption(why_not or "Sign in to manage access.")
        return
    entries = session.run(list_case_access, actor=actor, case_id=case.id) or []
    if entries:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "user": e.username,
                        "access": case_access_mode_label(e.mode),
                        "why": e.reason,
                        "set by": e.created_by,
                        "on": e.created_at.date(),
                    }
                    for e in entries
                ]
            ),
            hide_index=True,
            key="cl_access_table",
        )
    else:
        st.caption("No limited access: everyone who may see this case sees it.")
    with st.form("cl_access_form", clear_on_submit=True):
        cols = st.columns([2, 2, 3])
        username = cols[0].text_input("Username", key="cl_access_user")
        mode = cols[1].selectbox(
            "Access", MODES, key="cl_access_mode", format_func=case_access_mode_label
        )
        reason = cols[2].text_input("Why (required, audited)", key="cl_access_reason")
        if st.form_submit_button("Set access", key="cl_access_set"):
            entry = session.run(
                set_case_access,
                actor=actor,
                case_id=case.id,
                username=username.strip(),
                mode=mode,
                reason=reason,
            )
            if entry is not None:
                session.flash(
                    flash_key,
                    [f"{entry.username}: {case_access_mode_label(entry.mode)} on case {case.id}."],
                )
                st.rerun()
    if entries:
        with st.form("cl_access_lift_form", clear_on_submit=True):
            cols = st.columns([2, 3])
            who = cols[0].selectbox(
                "Lift the entry of", [e.username for e in entries], key="cl_access_lift_user"
            )
            reason = cols[1].text_input("Why (required, audited)", key="cl_access_lift_reason")
            if st.form_submit_button("Lift", key="cl_access_lift"):
                lifted = session.run(
                    clear_case_access, actor=actor, case_id=case.id, username=who, reason=reason
                )
                if lifted:
                    session.flash(flash_key, [f"{who}'s entry on case {case.id} is lifted."])
                    st.rerun()
