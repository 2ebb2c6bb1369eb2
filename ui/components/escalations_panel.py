"""The Handoffs page's escalations: the sending force's supervisors resolve rejected handoffs.

The queue (soonest due first), a form to resolve one by an agreed exception or a new request,
and the cases with no workflow at all (``coordination.register.mismatches``), which on a healthy
register is none.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from coordination.core.clock import london_today
from coordination.core.settings import get_settings
from coordination.handoffs import escalations
from coordination.handoffs.resolutions import resolve_by_new_request
from coordination.register.mismatches import Mismatch, mismatches
from ui import session

NO_MISMATCHES = (
    "None: every case with a lead force other than where the person lives has an open handoff, "
    "an escalation or an exception."
)


def escalations_table(views: list[escalations.EscalationView]) -> pd.DataFrame:
    """The escalations queue as a table: one row per escalation, soonest due first."""
    return pd.DataFrame(
        [
            {
                "Escalation": v.id,
                "Due": v.escalation.due_on.isoformat(),
                "Status": "overdue" if v.overdue else "open",
                "Case": v.escalation.case_id,
                "Person": v.offender_name,
                "PNC ID": v.pnc_id,
                "Handoff": v.escalation.handoff_id,
                "Rejected by": v.to_force_name,
                "Why": v.rejection_reason or "",
            }
            for v in views
        ],
        columns=[
            "Escalation",
            "Due",
            "Status",
            "Case",
            "Person",
            "PNC ID",
            "Handoff",
            "Rejected by",
            "Why",
        ],
    )


def mismatches_table(found: list[Mismatch]) -> pd.DataFrame:
    """Cases with no workflow: lead force, the force the rules name, and why."""
    return pd.DataFrame(
        [
            {
                "Case": m.case_id,
                "Person": m.offender_name,
                "PNC ID": m.pnc_id,
                "Lead force": m.lead_force_name,
                "Rules say": m.responsible_force_name,
                "Why": m.explanation,
            }
            for m in found
        ],
        columns=["Case", "Person", "PNC ID", "Lead force", "Rules say", "Why"],
    )


def section(*, actor: str, flash_key: str) -> None:
    """Draw the escalations queue, its resolution form and the cases with no workflow."""
    st.subheader("Escalations")
    queue = session.run(escalations.list_escalations, actor=actor) or []
    if queue:
        st.dataframe(escalations_table(queue), hide_index=True, key="esc_table")
    else:
        st.caption("No open escalations for your force.")
    st.caption(
        f"A rejected handoff comes back to the sending force's supervisors, due in "
        f"{get_settings().escalation_days} working days. It is resolved by a new request with "
        "the new facts, an agreed exception (the case stays with its lead force until a review "
        "date), or a decision at a joint review."
    )
    by_id = {v.id: v for v in queue}
    if by_id:
        picked = st.selectbox(
            "Escalation",
            list(by_id),
            index=None,
            placeholder="Choose an escalation…",
            key="esc_pick",
            format_func=lambda e: (
                f"#{e} case {by_id[e].escalation.case_id} {by_id[e].offender_name}: rejected by "
                f"{by_id[e].to_force_name}, due {by_id[e].escalation.due_on.isoformat()}"
            ),
        )
        how = st.radio(
            "Resolve by",
            ("exception", "new_request"),
            key="esc_how",
            horizontal=True,
            format_func=lambda h: {"exception": "agreed exception", "new_request": "new request"}[
                h
            ],
        )
        with st.form("escalation_resolve"):
            text = st.text_area(
                "Reason for the exception" if how == "exception" else "The new facts",
                key="esc_text",
            )
            review_on = st.date_input(
                "Review date (exception)",
                value=london_today() + timedelta(days=90),
                min_value=london_today() + timedelta(days=1),
                key="esc_review",
            )
            resolve = st.form_submit_button("Resolve escalation")
        if resolve and picked is not None:
            if how == "exception":
                exc = session.run(
                    escalations.record_exception,
                    actor=actor,
                    escalation_id=picked,
                    reason=text,
                    review_on=review_on,
                )
                outcome = (
                    None
                    if exc is None
                    else f"Escalation {picked} resolved: case {exc.case_id} stays with its "
                    f"lead force until {exc.review_on.isoformat()}."
                )
            else:
                new = session.run(
                    resolve_by_new_request,
                    actor=actor,
                    escalation_id=picked,
                    new_facts=text,
                )
                outcome = (
                    None
                    if new is None
                    else f"Escalation {picked} resolved: handoff {new.id} requested."
                )
            if outcome is not None:
                session.flash(flash_key, [outcome])
                st.rerun()
        elif resolve:
            st.error("Choose an escalation first.")

    st.subheader("Cases with no workflow")
    found = session.run(mismatches, actor=actor, near_boundary_m=get_settings().near_boundary_m)
    if found is not None:
        if found:
            st.warning(
                f"{len(found)} case{'s' if len(found) != 1 else ''} led by a force other than "
                "the rules name, with no handoff, escalation or exception."
            )
            st.dataframe(mismatches_table(found), hide_index=True, key="esc_mismatches")
        else:
            st.success(NO_MISMATCHES)
