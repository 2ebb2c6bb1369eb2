"""One case on the Caseload page: how it is listed, its heading, and a person's opened record.

The page reads the widgets and calls the services (the case, the record with its reason, the
managers, the handoffs); these functions only render what they answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ui.components import maps, tables
from ui.text import code, force_label, md


def case_choice(rows: Sequence[Any]) -> Callable[[int | None], str]:
    """The ``format_func`` of the "Case" selectbox: ``#12 Ann Smith (2001/1234567X)``."""
    labels = {r.case_id: f"#{r.case_id} {r.first_name} {r.last_name} ({r.pnc_id})" for r in rows}

    def label(case_id: int | None) -> str:
        return "Choose a case…" if case_id is None else labels[case_id]

    return label


def standing(current: Any) -> None:
    """Who is responsible for the case now, and a pending handoff in words.

    Parameters
    ----------
    current
        ``coordination.handoffs.permissions.case_standing``: lead force, manager, open handoff.
    """
    with st.container(key="cl_case_manager"):
        manager = current.manager
        if manager is None:
            st.markdown("**Offender manager:** nobody yet")
        else:
            where = [manager.team, manager.bcu_name or manager.bcu_code, manager.force_name]
            st.markdown(
                f"**Offender manager:** {md(manager.display_name)} ({md(manager.username)}) · "
                + " · ".join(md(w) for w in where if w)
            )
    if current.handoff is None:
        return
    with st.container(key="cl_case_handoff", border=True):
        st.markdown(f"**Pending handoff {current.handoff.id}:** {md(current.summary)}.")
        st.markdown(f"**What this means:** {md(current.meaning)}")
        st.markdown(
            f"**Next step:** {md(current.next_step)}. **Held by:** {md(current.next_holder)}."
        )


def case_heading(case: Any, *, detail: Any = None, listed: Any = None, current: Any = None) -> None:
    """The case's heading (the person's name once known), who is responsible, why, and flags.

    Parameters
    ----------
    case
        The case (``coordination.caseload.queries.get_case``).
    detail
        The person's opened record, if it is open.
    listed
        The case's caseload row, if it is in the list shown.
    current
        Its standing (:func:`standing`): manager and pending handoff.
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
    if current is not None:
        standing(current)
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
    st.dataframe(
        tables.rag_styled(tables.handoffs_table(handoffs)), hide_index=True, key="cl_handoffs"
    )
