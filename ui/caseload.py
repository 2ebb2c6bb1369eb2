"""Caseload: who manages which case, how loaded every officer is, and one case in detail.

Filters narrow the caseload; capacity bars show each officer's load; a chosen case can be
assigned (with suggestions showing load before and after), moved to a new address, and read in
detail: the address timeline on an offline map, why its lead force is responsible, and its
assignment and handoff history.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from coordination import caseload as cases
from coordination import handoffs, register
from coordination.lookup import get_service
from ui import _register as ui
from ui._common import md

st.title("Caseload")
ui.demo_notice()
flash = st.session_state.pop("cl_flash", None)
if flash:
    for line in flash:
        st.success(line)

PROGRAMMES = ["iom_fixed", "iom_flex", "iom_free", "mappa", "other"]
RISKS = ["low", "medium", "high", "very_high"]
BCUS = {
    "AW": "Central West",
    "CN": "Central North",
    "CE": "Central East",
    "AS": "Central South",
    "EA": "East",
    "NA": "North",
    "NE": "North East",
    "NW": "North West",
    "SE": "South East",
    "SN": "South",
    "SW": "South West",
    "WA": "West",
}

top = st.columns(3)
force = top[0].selectbox(
    "Lead force",
    [ui.CITY, ui.MET, None],
    key="cl_force",
    format_func=ui.force_label,
)
actor = ui.acting_user(force or ui.CITY)
search = top[1].text_input("Search name or PNC ID", key="cl_search")

row = st.columns(5)
bcu = row[0].selectbox(
    "BCU (where the person lives)",
    [None, *BCUS],
    key="cl_bcu",
    format_func=lambda c: "All BCUs" if c is None else f"{BCUS[c]} ({c})",
)
officers = ui.run(cases.officer_loads, force_code=force) or []
manager = row[1].selectbox(
    "Manager",
    [None, cases.UNASSIGNED, *[o.username for o in officers]],
    key="cl_manager",
    format_func=lambda u: "Anyone" if u is None else u,
)
programme = row[2].selectbox(
    "Programme", [None, *PROGRAMMES], key="cl_programme", format_func=lambda p: p or "All"
)
risk = row[3].selectbox("Risk", [None, *RISKS], key="cl_risk", format_func=lambda r: r or "All")
status = row[4].selectbox(
    "Status", ["open", "closed", None], key="cl_status", format_func=lambda s: s or "All"
)

page = ui.run(
    cases.caseload,
    force_code=force,
    bcu_code=bcu,
    manager=manager,
    programme=programme,
    risk=risk,
    status=status,
    search=search or None,
    limit=500,
)
if page is not None:
    st.metric("Cases", f"{page.total:,}")
    if page.total > len(page.rows):
        st.caption(f"Showing the first {len(page.rows):,} (next review first).")
    st.dataframe(ui.caseload_table(page.rows), hide_index=True, key="cl_table")

st.subheader("Officer capacity")
loads = ui.run(cases.officer_loads, force_code=force, bcu_code=bcu if force == ui.MET else None)
if loads:
    st.dataframe(
        ui.loads_table(loads),
        hide_index=True,
        key="cl_loads",
        column_config={"capacity %": ui.capacity_column()},
    )
    st.caption("Capacity % = points of open cases ÷ available points × 100 (HMPPS workload rule).")
else:
    st.caption("No officers with a workload profile for this selection.")

st.subheader("Case")
rows = page.rows if page is not None else []
case_id = st.selectbox(
    "Case",
    [None, *[r.case_id for r in rows]],
    key="cl_case",
    format_func=lambda c: (
        "Choose a case…"
        if c is None
        else next(
            f"#{r.case_id} {r.first_name} {r.last_name} ({r.pnc_id})"
            for r in rows
            if r.case_id == c
        )
    ),
)
chosen = next((r for r in rows if r.case_id == case_id), None)

if chosen is not None:
    detail = ui.run(register.get_offender, offender_id=chosen.offender_id)
    case = None if detail is None else next(c for c in detail.cases if c.id == chosen.case_id)
    if detail is not None and case is not None:
        st.markdown(
            f"### {md(detail.offender.first_name)} {md(detail.offender.last_name)} · "
            f"`{detail.offender.pnc_id}`"
        )
        st.markdown(f"**Lead force:** {md(ui.force_label(case.lead_force_code))}")
        st.markdown(f"**Why:** {md(case.responsibility_explanation or '—')}")
        if case.flags:
            st.warning("Flags: " + ", ".join(f.replace("_", " ") for f in case.flags))

        assign_tab, move_tab, history_tab = st.tabs(["Assign", "Record a move", "History"])
        with assign_tab:
            suggestions = ui.run(cases.suggest_assignees, case_id=case.id, limit=8) or []
            if suggestions:
                st.dataframe(ui.suggestions_table(suggestions), hide_index=True, key="cl_suggest")
            seen = ui.seen_version("case", case.id, case.version)
            with st.form("assign_form"):
                assignee = st.selectbox(
                    "Assign to",
                    [s.username for s in suggestions] or [o.username for o in officers],
                    key="cl_assignee",
                )
                reason = st.text_input("Reason", key="cl_reason")
                submitted = st.form_submit_button("Assign")
            if submitted and actor and assignee:
                done = ui.run(
                    cases.assign_case,
                    actor=actor,
                    case_id=case.id,
                    username=assignee,
                    reason=reason,
                    expected_version=seen,
                )
                if done is not None:
                    ui.forget_version("case", case.id)
                    st.session_state["cl_flash"] = [f"Case {case.id} assigned to {assignee}."]
                    st.rerun()
            if st.button("Reload case", key="cl_reload"):
                ui.forget_version("case", case.id)
                st.rerun()

        with move_tab:
            with st.form("move_form"):
                postcode = st.text_input("New postcode", key="cl_move_postcode")
                since = st.date_input("Living there from", value=date.today(), key="cl_move_from")
                moved = st.form_submit_button("Record move")
            if moved and actor:
                lookup = get_service().lookup
                residence = ui.call(register.Residence.at_postcode, postcode)
                if residence is not None:
                    result = ui.run(
                        register.move_offender,
                        actor=actor,
                        offender_id=detail.offender.id,
                        residence=residence,
                        lookup=lookup,
                        valid_from=since,
                    )
                    if result is not None:
                        lines = [f"Case {o.case_id}: {o.note}." for o in result.cases]
                        lines += [o.decision.explanation for o in result.cases]
                        st.session_state["cl_flash"] = lines or ["Move recorded."]
                        st.rerun()

        with history_tab:
            ui.show_timeline(detail.addresses)
            st.markdown("**Addresses**")
            st.dataframe(ui.addresses_table(detail.addresses), hide_index=True, key="cl_addresses")
            history = ui.run(cases.assignment_history, case_id=case.id) or []
            st.markdown("**Managers**")
            st.dataframe(
                [
                    {
                        "manager": h.display_name or h.username or "—",
                        "from": h.assigned_at,
                        "until": h.ended_at,
                        "by": h.assigned_by,
                        "reason": h.reason,
                    }
                    for h in history
                ],
                hide_index=True,
                key="cl_assignments",
            )
            views = ui.run(handoffs.list_handoffs, case_id=case.id) or []
            st.markdown("**Handoffs**")
            st.dataframe(ui.handoffs_table(views), hide_index=True, key="cl_handoffs")
