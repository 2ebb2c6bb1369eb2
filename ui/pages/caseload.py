"""Caseload: who manages which case, how loaded every officer is, and one case in detail.

Filters narrow the caseload; capacity bars show each officer's load; a chosen case can be
assigned (with suggestions showing load before and after), moved to a new address, and read in
detail: the address timeline on an offline map, why its lead force is responsible, and its
assignment and handoff history. "Assign to" offers only whom the signed-in user may assign the
case to: an offender manager themselves, a supervisor their force's officers; nobody (and no
other force's officers as suggestions) on a case another force leads. "Update" re-assesses the
case (risk, review date, MAPPA, IOM, OGRS3 inputs) and "Close / reopen" closes or reopens it
(supervisors), each form one service call (``ui.components.case_forms``); "History" lists
every change with its reason.

Every service call names the signed-in user as ``actor``: the services show only the cases they
may see and give analysts pseudonymised rows. Opening a person's record (addresses, history) is
a consultation under DPA 2018 s.62: it asks for a reason the first time in the browser session,
remembered per person, and is logged with it. A link ``caseload?case=ID`` opens that case, or
says "Access refused" (and the refusal is audited) when the user may not see it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from coordination.caseload.assignment import assign_case, assignment_history
from coordination.caseload.officers import officer_loads, suggest_assignees
from coordination.caseload.queries import UNASSIGNED, caseload, get_case
from coordination.cases.views import case_detail
from coordination.core.clock import london_today
from coordination.core.wording import case_status_label, programme_label, risk_label
from coordination.handoffs import workflow as handoffs
from coordination.handoffs.permissions import assignees, case_standing, permitted_actions
from coordination.reference.lookup import get_service
from coordination.register.inputs import Residence
from coordination.register.moves import move_offender
from coordination.register.offenders import get_offender
from ui import session
from ui.components import case as case_panel
from ui.components import case_access, case_forms, tables
from ui.components.notice import demo_notice
from ui.navigation import require_page
from ui.text import CITY, MET, force_label, md

JUSTIFIED_KEY = "cl_justifications"  # offender id -> the reason given, for this session
OPENED_KEY = "cl_opened"  # (offender id, refusal, OffenderDetail): one consultation per opening
LINK_KEY = "cl_link_refused"  # (case id, refusal): one audited refusal per link, not per click
FLASH_KEY = "cl_flash"


def forget_record() -> None:
    """Drop the opened record, so the next run reads (and logs) it afresh."""
    st.session_state.pop(OPENED_KEY, None)


def follow_choice() -> None:
    """A case chosen in the list replaces the one a link opened."""
    st.query_params.pop("case", None)
    st.session_state.pop(LINK_KEY, None)
    forget_record()


def linked_case() -> int | str | None:
    """The case asked for by ``?case=ID``: its id, ``None`` without one, or an error text."""
    raw = st.query_params.get("case")
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip().lstrip("#")
    if not text.isdigit():
        return f"The link asks for case {raw!r}: a case is a number."
    return int(text)


st.title("Caseload")
demo_notice()
session.show_flash(FLASH_KEY)

require_page("Caseload")
viewer = session.signed_in_user()
if viewer is None:  # require_page has stopped already: nobody is signed in
    st.stop()
me = viewer.username
analyst = viewer.role == "analyst"

PROGRAMMES = ["iom_fixed", "iom_flex", "iom_free", "mappa", "other"]
RISKS = ["low", "medium", "high", "very_high"]

top = st.columns(3)
FORCE_CHOICES = [CITY, MET, None]
force = top[0].selectbox(
    "Lead force",
    FORCE_CHOICES,
    # The user's own force first; "All forces" still lists only the cases they may see.
    index=FORCE_CHOICES.index(viewer.force_code) if viewer.force_code in FORCE_CHOICES else 2,
    key="cl_force",
    format_func=force_label,
)
# Who acts: the signed-in user, for their own force, whichever force's cases are listed; the
# forms below offer only what they may do, and the services check it again.
actor = None if analyst else session.acting_user(viewer.force_code)
if analyst:
    # Searching by name or PNC ID would single out a person: not for pseudonymised data.
    search = ""
    top[1].caption("Pseudonymised caseload: no names, PNC IDs or postcodes; no search by them.")
else:
    search = top[1].text_input("Search name or PNC ID", key="cl_search")

row = st.columns(5)
bcu = row[0].selectbox(
    "BCU (where the person lives)",
    [None, *tables.BCU_NAMES],
    key="cl_bcu",
    format_func=tables.bcu_label,
)
officers = session.run(officer_loads, force_code=force, actor=me) or []
manager = row[1].selectbox(
    "Manager",
    [None, UNASSIGNED, *[o.username for o in officers]],
    key="cl_manager",
    format_func=lambda u: "Anyone" if u is None else u,
)
programme = row[2].selectbox(
    "Programme",
    [None, *PROGRAMMES],
    key="cl_programme",
    format_func=lambda p: "All" if p is None else programme_label(p),
)
risk = row[3].selectbox(
    "Risk",
    [None, *RISKS],
    key="cl_risk",
    format_func=lambda r: "All" if r is None else risk_label(r),
)
# After a closure or a reopening the list follows the case (set before the widget is drawn).
next_status = st.session_state.pop(case_forms.STATUS_NEXT_KEY, None)
if next_status is not None and st.session_state.get("cl_status", "open") is not None:
    st.session_state["cl_status"] = next_status
status = row[4].selectbox(
    "Status",
    ["open", "closed", None],
    key="cl_status",
    format_func=lambda s: "All" if s is None else case_status_label(s),
)

page = session.run(
    caseload,
    force_code=force,
    bcu_code=bcu,
    manager=manager,
    programme=programme,
    risk=risk,
    status=status,
    search=search or None,
    limit=500,
    actor=me,
)
if page is not None:
    st.metric("Cases", f"{page.total:,}")
    if page.total > len(page.rows):
        st.caption(f"Showing the first {len(page.rows):,} (next review first).")
    st.dataframe(tables.caseload_table(page.rows), hide_index=True, key="cl_table")

st.subheader("Officer capacity")
loads = session.run(
    officer_loads,
    force_code=force,
    bcu_code=bcu if force == MET else None,
    actor=me,
)
if loads:
    st.dataframe(
        tables.loads_table(loads),
        hide_index=True,
        key="cl_loads",
        column_config={"capacity %": tables.capacity_column()},
    )
    st.caption(
        "Capacity % = points of open cases ÷ available points \N{MULTIPLICATION SIGN} 100 "
        "(HMPPS workload rule)."
    )
else:
    st.caption("No officers with a workload profile for this selection.")

st.subheader("Case")
rows = page.rows if page is not None else []
link = linked_case()
if isinstance(link, str):
    st.error(md(link))
    link = None

case_id: int | None = None
if not analyst:
    case_id = st.selectbox(
        "Case",
        [None, *[r.case_id for r in rows]],
        key="cl_case",
        format_func=case_panel.case_choice(rows),
        on_change=follow_choice,
    )
elif link is None:
    st.caption("Analysts see pseudonymised lists only: a person's record is not opened here.")

case: Any = None
if link is not None:
    case_id = link
    st.caption(f"Case {link}, opened by a link.")
    st.button("Close the linked case", key="cl_unlink", on_click=follow_choice)
    refused = st.session_state.get(LINK_KEY)
    if refused is not None and refused[0] == link:
        # Shown again without asking again: one refusal in the audit log per link, not per click.
        st.error(md(refused[1]))
    else:
        case, refusal = session.attempt(get_case, actor=me, case_id=link)
        if refusal is not None:
            st.session_state[LINK_KEY] = (link, refusal)
            st.error(md(refusal))
elif case_id is not None:
    case = session.run(get_case, actor=me, case_id=case_id)

if case is not None:
    justified: dict[int, str] = st.session_state.setdefault(JUSTIFIED_KEY, {})
    opened = st.session_state.get(OPENED_KEY)
    if opened is not None and opened[0] != case.offender_id:
        opened = None
    why = justified.get(case.offender_id)
    if opened is None and why is not None:
        # A reason given earlier in this session opens the record again (a new consultation,
        # logged with it). Kept for the session, so it is logged once per opening rather than
        # at every click; "Reload case" and every change read it again.
        found, refusal = session.attempt(
            get_offender, actor=me, offender_id=case.offender_id, justification=why
        )
        opened = (case.offender_id, refusal, found)
        st.session_state[OPENED_KEY] = opened
    standing = session.run(case_standing, actor=me, case_id=case.id)
    case_panel.case_heading(
        case,
        detail=opened[2] if opened is not None else None,
        listed=next((r for r in rows if r.case_id == case.id), None),
        current=standing,
    )

    detail = None if analyst else session.run(case_detail, actor=me, case_id=case.id)
    assign_tab, move_tab, update_tab, close_tab, access_tab, history_tab = st.tabs(
        ["Assign", "Record a move", "Update", "Close / reopen", "Access", "History"], key="cl_tabs"
    )
    with assign_tab:
        # Only people the user may assign to are offered (and only their force's officers are
        # shown at all: a Met officer looking at a City-led case sees no City officers here).
        # The service's own rule decides whom to offer (coordination.handoffs.permissions).
        may = session.run(permitted_actions, actor=me, case_id=case.id)
        suggestions = []
        if may is not None and may.may("assign"):
            suggestions = session.run(suggest_assignees, case_id=case.id, limit=500, actor=me) or []
        others = [o.username for o in officers if o.force_code == case.lead_force_code]
        choices, why_none = session.run(
            assignees,
            actor=me,
            case_id=case.id,
            candidates=[s.username for s in suggestions] + others,
        ) or ([], "")
        # Loads before and after, of the people offered only.
        suggestions = [s for s in suggestions if s.username in choices]
        if choices and suggestions:
            st.dataframe(
                tables.suggestions_table(suggestions[:8]), hide_index=True, key="cl_suggest"
            )
        if not choices:
            st.caption(md(why_none))
        else:
            seen = session.seen_version("case", case.id, case.version)
            with st.form("assign_form"):
                assignee = st.selectbox("Assign to", choices, key="cl_assignee")
                reason = st.text_input("Reason", key="cl_reason")
                submitted = st.form_submit_button("Assign")
            if submitted and actor and assignee:
                done = session.run(
                    assign_case,
                    actor=actor,
                    case_id=case.id,
                    username=assignee,
                    reason=reason,
                    expected_version=seen,
                )
                if done is not None:
                    session.forget_version("case", case.id)
                    forget_record()
                    session.flash(FLASH_KEY, [f"Case {case.id} assigned to {assignee}."])
                    st.rerun()
        if st.button("Reload case", key="cl_reload"):
            session.forget_version("case", case.id)
            forget_record()
            st.rerun()

    with move_tab:
        with st.form("move_form"):
            postcode = st.text_input("New postcode", key="cl_move_postcode")
            since = st.date_input("Living there from", value=london_today(), key="cl_move_from")
            moved = st.form_submit_button("Record move")
        if moved and actor:
            lookup = get_service().lookup
            residence = session.call(Residence.at_postcode, postcode)
            if residence is not None:
                result = session.run(
                    move_offender,
                    actor=actor,
                    offender_id=case.offender_id,
                    residence=residence,
                    lookup=lookup,
                    valid_from=since,
                )
                if result is not None:
                    forget_record()
                    lines = [f"Case {o.case_id}: {o.note}." for o in result.cases]
                    lines += [o.decision.explanation for o in result.cases]
                    session.flash(FLASH_KEY, lines or ["Move recorded."])
                    st.rerun()

    with update_tab:
        if detail is not None:
            case_forms.update_tab(detail, viewer=viewer, actor=actor, flash_key=FLASH_KEY)

    with close_tab:
        if detail is not None:
            case_forms.close_tab(
                detail,
                viewer=viewer,
                actor=actor,
                handoff=standing.handoff if standing is not None else None,
                flash_key=FLASH_KEY,
            )

    with access_tab:
        if not analyst:
            case_access.access_tab(case, viewer=viewer, actor=actor, flash_key=FLASH_KEY)

    with history_tab:
        if detail is not None:
            case_forms.history_table(detail.history)
        if opened is None:
            # DPA 2018 s.62: a consultation is logged with its justification.
            st.markdown(
                "Opening this person's record (addresses, history) is logged with your name "
                "and your reason. The reason is remembered for this record until you sign out."
            )
            given = st.text_input(
                "Why are you opening this record?", key=f"cl_why_{case.offender_id}"
            )
            if st.button("Open record", key="cl_open_record", type="primary"):
                if given.strip():
                    justified[case.offender_id] = " ".join(given.split())
                    st.rerun()
                st.error("Give a reason to open the record.")
        if opened is not None and opened[1] is not None:
            st.error(md(opened[1]))
        elif opened is not None and opened[2] is not None:
            history = session.run(assignment_history, case_id=case.id, actor=me) or []
            views = session.run(handoffs.list_handoffs, case_id=case.id, actor=me) or []
            case_panel.opened_record(
                opened[2],
                reason=justified.get(case.offender_id, ""),
                history=history,
                handoffs=views,
            )
