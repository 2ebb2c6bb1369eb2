"""One case on the Caseload page: how it is listed, its heading, and a person's opened record.

The page reads the widgets and calls the services (the case, the record with its reason, the
managers, the handoffs); these functions only render what they answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from coordination.security.permissions import permission
from ui.components import maps, tables
from ui.text import code, force_label, md


def case_choice(rows: Sequence[Any]) -> Callable[[int | None], str]:
    """The ``format_func`` of the "Case" selectbox: ``#12 Ann Smith (2001/1234567X)``."""
    labels = {r.case_id: f"#{r.case_id} {r.first_name} {r.last_name} ({r.pnc_id})" for r in rows}

    def label(case_id: int | None) -> str:
        return "Choose a case…" if case_id is None else labels[case_id]

    return label


def may_assign(viewer: Any, case: Any) -> bool:
    """Whether ``viewer`` may assign the case at all (the permission table and its scope).

    ``case.assign`` must be allowed for their role, and ``assign_case`` lets only users of the
    case's lead force assign it, and only while it is open.
    """
    return (
        permission(viewer.role, "case.assign") == "allow"
        and viewer.force_code == case.lead_force_code
        and case.status == "open"
    )


def assignees(
    viewer: Any, case: Any, officers: Sequence[str], *, current: str | None = None
) -> list[str]:
    """Whom ``viewer`` may make the case's manager, in the order the form offers them.

    An offender manager only takes a case themselves (``assign_case`` refuses anyone else), so
    their own name is the one choice; a supervisor assigns any of ``officers`` (their force's,
    best suggestion first). Nobody is offered when :func:`may_assign` says no, and the manager
    the case already has is left out.

    Parameters
    ----------
    viewer
        The signed-in user (``UserPublic``).
    case
        The case (``CasePublic``).
    officers
        Usernames of officers of the case's lead force, best suggestion first.
    current
        The case's manager now, if known.

    Returns
    -------
    list[str]
        Usernames; empty when the form is not for this user.
    """
    if not may_assign(viewer, case):
        return []
    if viewer.role == "offender_manager":
        mine = case.assigned_user_id == viewer.id or current == viewer.username
        return [] if mine else [viewer.username]
    return [u for u in dict.fromkeys(officers) if u != current]


def why_no_assignment(viewer: Any, case: Any) -> str:
    """One line saying why the signed-in user is offered nobody to assign the case to."""
    if case.status != "open":
        return f"Case {case.id} is {case.status}: a closed case gets no new manager."
    if viewer.force_code != case.lead_force_code:
        return (
            f"Case {case.id} is led by {force_label(case.lead_force_code)}: its own officers "
            "assign it."
        )
    if permission(viewer.role, "case.assign") != "allow":
        return "Your role does not assign cases."
    if viewer.role == "offender_manager":
        return f"You manage case {case.id}; a supervisor can assign it to someone else."
    return f"No other officer of {force_label(case.lead_force_code)} to assign case {case.id} to."


def case_heading(case: Any, *, detail: Any = None, listed: Any = None) -> None:
    """The case's heading (the person's name once known), its lead force, why, and its flags.

    Parameters
    ----------
    case
        The case (``coordination.caseload.queries.get_case``).
    detail
        The person's opened record, if it is open.
    listed
        The case's caseload row, if it is in the list shown.
    """
    person = detail.offender if detail is not None else listed
    if person is not None:
        st.markdown(
            f"### {md(person.first_name)} {md(person.last_name)} · {code(person.pnc_id)} · "
            f"case {case.id}"
        )
    else:
        st.markdown(f"### Case {case.id}")
    st.markdown(f"**Lead force:** {md(force_label(case.lead_force_code))}")
    st.markdown(f"**Why:** {md(case.responsibility_explanation or '—')}")
    if case.flags:
        st.warning(md("Flags: " + ", ".join(f.replace("_", " ") for f in case.flags)))


def opened_record(
    detail: Any, *, reason: str, history: Sequence[Any], handoffs: Sequence[Any]
) -> None:
    """A person's opened record: the reason given, the address timeline, managers, handoffs."""
    st.caption(f"Record opened; reason given: {md(reason)}")
    maps.show_timeline(detail.addresses)
    st.markdown("**Addresses**")
    st.dataframe(tables.addresses_table(detail.addresses), hide_index=True, key="cl_addresses")
    st.markdown("**Managers**")
    st.dataframe(tables.assignments_table(history), hide_index=True, key="cl_assignments")
    st.markdown("**Handoffs**")
    st.dataframe(tables.handoffs_table(handoffs), hide_index=True, key="cl_handoffs")
