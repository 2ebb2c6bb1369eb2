"""The Caseload page's case forms: re-assess a case, close or reopen it, and its update history.

Each form calls ONE service of :mod:`coordination.cases.updates` through :func:`ui.session.run`,
which catches the domain's errors by type (``coordination.errors``: ``InputError``,
``ConflictError``, ``AccessDeniedError`` …) and shows their one-line message. A success is
flashed ("what changed, old → new") and the page reruns, so the detail shows the new values.

What is offered follows the permission table (``coordination.security.permissions``):
``case.update`` for the Update tab, ``case.close`` for closing and reopening, both for the
officers of the case's lead force (or of any force seeing a case led by a force with no users
here). The services check all of it again.

Widget keys start with ``cl_upd_`` (Update) and ``cl_close_`` (Close / reopen). They are cleared
whenever the case or its version changes, so a form never shows another case's values or the
values from before a change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

from coordination.cases.inputs import CLOSURE_LABELS, IOM_COHORTS
from coordination.cases.updates import (
    close_case,
    reopen_case,
    set_iom_cohort,
    set_next_review,
    update_mappa,
    update_ogrs3_inputs,
    update_risk,
)
from coordination.core.clock import london_today
from coordination.core.wording import (
    OFFENCE_LABELS,
    RISK_LABELS,
    case_status_label,
    offence_label,
    programme_label,
    risk_label,
    role_label,
    sex_label,
)
from coordination.security.permissions import PERMISSIONS, force_has_users, permission
from ui import session
from ui.text import force_label, md

__all__ = [
    "STATUS_NEXT_KEY",
    "change_text",
    "close_tab",
    "history_table",
    "may_change",
    "update_tab",
]

#: The status the caseload filter should show after a closure or reopening (the page reads it
#: before drawing its filter, so the case just changed stays in the list).
STATUS_NEXT_KEY = "cl_status_next"
_FOR_KEY = "cl_forms_for"  # (case id, version) the form widgets were drawn for

_FIELDS: dict[str, str] = {
    "risk": "Risk of serious harm",
    "risk_assessed_on": "Risk assessed on",
    "next_review_due": "Next review",
    "mappa_category": "MAPPA category",
    "mappa_level": "MAPPA level",
    "mappa_changed_on": "MAPPA changed on",
    "programme": "Programme",
    "sex": "Sex",
    "age_at_first_sanction": "Age at first sanction",
    "previous_sanctions": "Previous sanctions",
    "offence_category": "Current offence",
    "conviction_date": "Conviction date",
    "status": "Status",
    "closed_at": "Closed at",
    "closure_reason": "Closure reason",
    "closure_note": "Closure note",
}
_KINDS: dict[str, str] = {
    "risk": "Risk re-assessed",
    "review": "Next review moved",
    "mappa": "MAPPA changed",
    "iom": "IOM cohort changed",
    "ogrs3": "OGRS3 inputs changed",
    "close": "Case closed",
    "reopen": "Case reopened",
}
_SEXES = ("male", "female", "not_known")


# --- words ---------------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _day(value: date | None) -> str:
    return "—" if value is None else f"{value.day} {value.strftime('%b')} {value.year}"


def _value(field: str, value: Any) -> str:
    """One stored value in words (dates as "8 Dec 2026", codes as their labels)."""
    if value is None or value == "":
        return "—"
    words: dict[str, Callable[[Any], str]] = {
        "risk": risk_label,
        "programme": programme_label,
        "sex": sex_label,
        "offence_category": offence_label,
        "status": case_status_label,
        "closure_reason": lambda v: _sentence(CLOSURE_LABELS.get(str(v), str(v))),
    }
    if field in words:
        return words[field](value)
    if isinstance(value, str) and field.endswith(("_on", "_due", "_date", "_at")):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        shown = _day(moment.date())
        return shown + (f" {moment:%H:%M} UTC" if field.endswith("_at") else "")
    if isinstance(value, date):
        return _day(value)
    return str(value)


def change_text(changes: dict[str, Any]) -> str:
    """What a change did, in words: ``"Risk of serious harm: Medium → High; …"``."""
    parts = []
    for field, pair in changes.items():
        old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        parts.append(
            f"{_FIELDS.get(field, _sentence(field.replace('_', ' ')))}: "
            f"{_value(field, old)} → {_value(field, new)}"
        )
    return "; ".join(parts)


# --- who may -------------------------------------------------------------------------------------


def _roles_allowed(action: str) -> str:
    roles = [role_label(r).lower() + "s" for r, p in PERMISSIONS[action].items() if p == "allow"]
    return " and ".join(roles)


def may_change(viewer: Any, case: Any, action: str) -> str | None:
    """Why ``viewer`` may not take ``action`` on ``case`` (``None``: they may).

    The permission table's role rule first, then the lead force's (their own force, or a force
    with no users here): the rule ``coordination.security.permissions.acts_for`` applies.
    """
    who = _roles_allowed(action)
    lead = force_label(case.lead_force_code)
    if permission(viewer.role, action) != "allow":
        verb = "close or reopen" if action == "case.close" else "change"
        return f"Only {who} of the lead force ({lead}) {verb} a case."
    if viewer.force_code != case.lead_force_code and session.run(
        force_has_users, force_code=case.lead_force_code
    ):
        return f"Case {case.id} is led by {lead}: only its own officers change it."
    return None


# --- the forms' shared steps ----------------------------------------------------------------------


def _defaults(detail: Any) -> dict[str, Any]:
    """What each form shows before anyone types: the case's values as they stand, today."""
    case = detail.case
    today = london_today()
    cohorts = [c for c in IOM_COHORTS if IOM_COHORTS[c] != case.programme]
    return {
        "cl_upd_risk": case.risk if case.risk in RISK_LABELS else "low",
        "cl_upd_risk_assessed": today,
        "cl_upd_risk_review": None,
        "cl_upd_risk_note": "",
        "cl_upd_review": case.next_review_due or today,
        "cl_upd_review_note": "",
        "cl_upd_mappa_category": case.mappa_category if case.mappa_category in (1, 2, 3) else 1,
        "cl_upd_mappa_level": case.mappa_level if case.mappa_level in (1, 2, 3) else 1,
        "cl_upd_mappa_on": today,
        "cl_upd_mappa_note": "",
        "cl_upd_iom": cohorts[0] if cohorts else None,
        "cl_upd_iom_on": today,
        "cl_upd_iom_reason": "",
        "cl_upd_ogrs3_sex": None,
        "cl_upd_ogrs3_first": case.age_at_first_sanction,
        "cl_upd_ogrs3_previous": case.previous_sanctions,
        "cl_upd_ogrs3_offence": case.offence_category
        if case.offence_category in OFFENCE_LABELS
        else "other",
        "cl_upd_ogrs3_convicted": case.conviction_date,
        "cl_upd_ogrs3_note": "",
        "cl_close_reason": next(iter(CLOSURE_LABELS)),
        "cl_close_note": "",
        "cl_close_reopen_reason": "",
    }


def _fresh_widgets(detail: Any) -> None:
    """Put the case's current values in the forms when the case, or its version, changes.

    The values go in through ``st.session_state`` (before the widgets are drawn, and without a
    widget default) because that is what also resets what the browser shows: a widget keeps
    its key, and so its last value, from one case to the next.
    """
    drawn = (detail.case.id, detail.case.version)
    changed = st.session_state.get(_FOR_KEY) != drawn
    for key, value in _defaults(detail).items():
        if changed or key not in st.session_state:
            st.session_state[key] = value
    st.session_state[_FOR_KEY] = drawn


def _done(
    flash_key: str, case: Any, result: Any, *, status: str | None = None, line: str = ""
) -> None:
    """Flash what changed and rerun, so the detail shows the new values."""
    session.forget_version("case", case.id)
    what = _KINDS.get(result.event.kind, "Case changed")
    line = line or f"Case {case.id}: {what.lower()}. {change_text(result.event.changes)}."
    session.flash(flash_key, [line])
    if status is not None:
        st.session_state[STATUS_NEXT_KEY] = status
    st.rerun()


def _call(fn: Callable[..., Any], actor: str, case: Any, **kwargs: Any) -> Any:
    return session.run(
        fn,
        actor=actor,
        case_id=case.id,
        expected_version=session.seen_version("case", case.id, case.version),
        **kwargs,
    )


# --- the Update tab ------------------------------------------------------------------------------


def current_values(detail: Any) -> None:
    """The case's values as they stand, with its OGRS3 score or why there is none."""
    case = detail.case
    programme = programme_label(case.programme)
    if case.programme == "mappa":
        programme += (
            f" · category {case.mappa_category or 'not recorded'}, level "
            f"{case.mappa_level or 'not recorded'}"
        )
        if case.mappa_changed_on is not None:
            programme += f" (changed {_day(case.mappa_changed_on)})"
    assessed = f" (assessed {_day(case.risk_assessed_on)})" if case.risk_assessed_on else ""
    sex = sex_label(detail.ogrs3.sex) if detail.ogrs3 is not None else "on the person's record"
    rows = [
        (
            "Status",
            case_status_label(case.status)
            + (f" · {detail.closure_text}" if detail.closure_text else ""),
        ),
        ("Risk of serious harm", risk_label(case.risk) + assessed),
        ("Next review", _day(case.next_review_due)),
        ("Programme", programme),
        ("Sex", sex),
        ("Age at first sanction", _value("age_at_first_sanction", case.age_at_first_sanction)),
        ("Previous sanctions", _value("previous_sanctions", case.previous_sanctions)),
        ("Current offence", offence_label(case.offence_category)),
        ("Conviction date", _day(case.conviction_date)),
    ]
    with st.container(key="cl_upd_current", border=True):
        # Three short columns: the values read at a glance; the OGRS3 line runs full width.
        cols = st.columns(3)
        for n, (label, shown) in enumerate(rows):
            cols[n % 3].markdown(f"**{label}:** {md(shown)}")
        st.markdown(f"**OGRS3 on {_day(detail.on)}:** {md(detail.ogrs3_text)}")


def _risk_form(actor: str, case: Any, flash_key: str) -> None:
    levels = list(RISK_LABELS)
    with st.form("cl_upd_risk_form"):
        st.markdown("**Risk of serious harm**")
        cols = st.columns(3)
        risk = cols[0].selectbox(
            "Risk of serious harm",
            levels,
            format_func=risk_label,
            key="cl_upd_risk",
        )
        assessed = cols[1].date_input(
            "Assessed on", key="cl_upd_risk_assessed", format="DD/MM/YYYY"
        )
        review = cols[2].date_input(
            "Next review (optional)", key="cl_upd_risk_review", format="DD/MM/YYYY"
        )
        note = st.text_input("Note (optional)", key="cl_upd_risk_note")
        sent = st.form_submit_button("Record the assessment", key="cl_upd_risk_submit")
    if sent:
        done = _call(
            update_risk,
            actor,
            case,
            risk=risk,
            assessed_on=assessed,
            next_review_due=review,
            reason=note,
        )
        if done is not None:
            _done(flash_key, case, done)


def _review_form(actor: str, case: Any, flash_key: str) -> None:
    with st.form("cl_upd_review_form"):
        st.markdown("**Next review date**")
        cols = st.columns([1, 2])
        due = cols[0].date_input(
            "Next review",
            key="cl_upd_review",
            format="DD/MM/YYYY",
        )
        note = cols[1].text_input("Note (optional)", key="cl_upd_review_note")
        sent = st.form_submit_button("Move the review", key="cl_upd_review_submit")
    if sent and due is None:
        st.error("Give the next review date.")
    elif sent:
        done = _call(set_next_review, actor, case, next_review_due=due, reason=note)
        if done is not None:
            _done(flash_key, case, done)


def _mappa_form(actor: str, case: Any, flash_key: str) -> None:
    if case.programme != "mappa":
        st.caption(
            f"No MAPPA category or level: this is not a MAPPA case "
            f"({md(programme_label(case.programme))}); they belong to MAPPA cases only."
        )
        return
    numbers = [1, 2, 3]
    with st.form("cl_upd_mappa_form"):
        st.markdown("**MAPPA category and level**")
        cols = st.columns(3)
        category = cols[0].selectbox(
            "MAPPA category",
            numbers,
            key="cl_upd_mappa_category",
        )
        level = cols[1].selectbox(
            "MAPPA level",
            numbers,
            key="cl_upd_mappa_level",
        )
        changed = cols[2].date_input("Changed on", key="cl_upd_mappa_on", format="DD/MM/YYYY")
        note = st.text_input("Note (optional)", key="cl_upd_mappa_note")
        sent = st.form_submit_button("Record the MAPPA change", key="cl_upd_mappa_submit")
    if sent:
        done = _call(
            update_mappa,
            actor,
            case,
            category=category,
            level=level,
            changed_on=changed,
            reason=note,
        )
        if done is not None:
            _done(flash_key, case, done)


def _iom_form(actor: str, case: Any, flash_key: str) -> None:
    if case.programme == "mappa":
        st.caption("No IOM selection: this case is managed under MAPPA.")
        return
    choices: list[str | None] = [c for c in IOM_COHORTS if IOM_COHORTS[c] != case.programme]
    if case.programme.startswith("iom_"):
        choices.append(None)  # de-select

    def label(cohort: str | None) -> str:
        if cohort is None:
            return f"De-select from IOM (leave {programme_label(case.programme)})"
        return f"Select into {programme_label(IOM_COHORTS[cohort])}"

    with st.form("cl_upd_iom_form"):
        st.markdown(f"**IOM** · now: {md(programme_label(case.programme))}")
        cols = st.columns([2, 1])
        cohort = cols[0].selectbox("Change", choices, format_func=label, key="cl_upd_iom")
        on = cols[1].date_input("Took effect on", key="cl_upd_iom_on", format="DD/MM/YYYY")
        note = st.text_input("Reason (required to de-select)", key="cl_upd_iom_reason")
        sent = st.form_submit_button("Record the IOM change", key="cl_upd_iom_submit")
    if sent:
        done = _call(
            set_iom_cohort,
            actor,
            case,
            select_cohort=cohort is not None,
            cohort=cohort or "fixed",
            reason=note,
            on=on,
        )
        if done is not None:
            _done(flash_key, case, done)


def _ogrs3_form(actor: str, detail: Any, flash_key: str) -> None:
    case = detail.case
    offences = list(OFFENCE_LABELS)
    sexes: list[str | None] = [None, *_SEXES]
    known = sex_label(detail.ogrs3.sex) if detail.ogrs3 is not None else "as on the record"
    with st.form("cl_upd_ogrs3_form"):
        st.markdown("**OGRS3 inputs**")
        cols = st.columns(3)
        sex = cols[0].selectbox(
            "Sex",
            sexes,
            format_func=lambda s: f"Keep ({known})" if s is None else sex_label(s),
            key="cl_upd_ogrs3_sex",
        )
        first = cols[1].number_input(
            "Age at first sanction",
            min_value=10,
            max_value=110,
            step=1,
            key="cl_upd_ogrs3_first",
        )
        previous = cols[2].number_input(
            "Previous sanctions",
            min_value=0,
            max_value=999,
            step=1,
            key="cl_upd_ogrs3_previous",
        )
        wide, narrow = st.columns([2, 1])
        offence = wide.selectbox(
            "Current offence",
            offences,
            format_func=offence_label,
            key="cl_upd_ogrs3_offence",
        )
        convicted = narrow.date_input(
            "Conviction date",
            min_value=date(1900, 1, 1),
            key="cl_upd_ogrs3_convicted",
            format="DD/MM/YYYY",
        )
        note = st.text_input("Note (optional)", key="cl_upd_ogrs3_note")
        sent = st.form_submit_button("Record the OGRS3 inputs", key="cl_upd_ogrs3_submit")
    if sent:
        done = _call(
            update_ogrs3_inputs,
            actor,
            case,
            sex=sex,
            age_at_first_sanction=None if first is None else int(first),
            previous_sanctions=None if previous is None else int(previous),
            offence=offence,
            conviction_date=convicted,
            reason=note,
        )
        if done is not None:
            _done(flash_key, case, done)


def update_tab(detail: Any, *, viewer: Any, actor: str | None, flash_key: str) -> None:
    """The Update tab: the current values, then one form per kind of change.

    Parameters
    ----------
    detail
        ``coordination.cases.views.case_detail`` of the case.
    viewer
        The signed-in user's record (role and force decide what is offered).
    actor
        Who acts (``None``: nobody may act here; the forms are not drawn).
    flash_key
        The page's flash key.
    """
    case = detail.case
    _fresh_widgets(detail)
    current_values(detail)
    why_not = may_change(viewer, case, "case.update")
    if actor is None or why_not is not None:
        st.caption(md(why_not or "Sign in as an officer of the lead force to change the case."))
        return
    if case.status != "open":
        st.info(f"Case {case.id} is closed: it is reopened (Close / reopen) before any change.")
        return
    _risk_form(actor, case, flash_key)
    _review_form(actor, case, flash_key)
    _mappa_form(actor, case, flash_key)
    _iom_form(actor, case, flash_key)
    _ogrs3_form(actor, detail, flash_key)


# --- the Close / reopen tab ----------------------------------------------------------------------


def close_tab(detail: Any, *, viewer: Any, actor: str | None, handoff: Any, flash_key: str) -> None:
    """The Close / reopen tab: the closure form for an open case, the reopening for a closed one.

    Parameters
    ----------
    detail
        ``coordination.cases.views.case_detail`` of the case.
    viewer
        The signed-in user's record.
    actor
        Who acts (``None``: nobody may act here).
    handoff
        The case's open handoff, if any (``case_standing(...).handoff``).
    flash_key
        The page's flash key.
    """
    case = detail.case
    _fresh_widgets(detail)
    why_not = may_change(viewer, case, "case.close")
    if actor is None or why_not is not None:
        with st.container(key="cl_close_who"):
            st.caption(md(why_not or "Sign in as a supervisor of the lead force."))
        return
    if case.status == "closed":
        st.markdown(f"**Closed:** {md(detail.closure_text or 'reason not recorded')}")
        with st.form("cl_close_reopen_form"):
            reason = st.text_input("Why is the case reopened?", key="cl_close_reopen_reason")
            sent = st.form_submit_button("Reopen the case", key="cl_close_reopen_submit")
        if sent:
            done = _call(reopen_case, actor, case, reason=reason)
            if done is not None:
                _done(
                    flash_key,
                    case,
                    done,
                    status="open",
                    line=f"Case {case.id} reopened ({done.event.reason}): it is open again.",
                )
        return
    st.markdown(
        "A closed case leaves queues and agendas but stays in the register, its history and "
        "reports. **A case with an open handoff is not closed: withdraw the handoff first** "
        "(Handoffs page), so no other force is left waiting for it."
    )
    if handoff is not None:
        st.warning(f"Case {case.id} has an open handoff ({handoff.id}): withdraw it first.")
    reasons = list(CLOSURE_LABELS)
    with st.form("cl_close_form"):
        reason = st.selectbox(
            "Reason",
            reasons,
            format_func=lambda r: _sentence(CLOSURE_LABELS[r]),
            key="cl_close_reason",
        )
        note = st.text_area("Note (required for Other)", key="cl_close_note", height=80)
        sent = st.form_submit_button("Close the case", key="cl_close_submit", type="primary")
    if sent:
        done = _call(close_case, actor, case, reason=reason, note=note)
        if done is not None:
            _done(
                flash_key,
                case,
                done,
                status="closed",
                line=f"Case {case.id} closed: {done.event.reason}. The list now shows closed "
                "cases.",
            )


# --- the History tab -----------------------------------------------------------------------------


def history_table(events: Sequence[Any]) -> None:
    """The case's updates after registration, oldest first: date, who, what changed, reason."""
    st.markdown("**Updates to the case**")
    if not events:
        st.caption("No updates since the case was registered.")
        return
    records = [
        {
            "date": _day(e.effective_on or e.at.date()),
            "recorded": f"{_day(e.at.date())} {e.at:%H:%M} UTC",
            "who": e.actor,
            "what": _KINDS.get(e.kind, _sentence(str(e.kind))),
            "changed (old → new)": change_text(e.changes),
            "reason": e.reason or "—",
        }
        for e in events
    ]
    st.dataframe(pd.DataFrame(records), hide_index=True, key="cl_case_events")
