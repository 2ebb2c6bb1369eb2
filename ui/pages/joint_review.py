"""Joint review: plan a meeting of forces, work through its agenda, record decisions and actions.

The agenda is generated from what happened since the last meeting of the same forces; every
item says why it is there and shows its priority score with the parts it is made of (OGRS3 with
its inputs, never alone). Items can be reordered, added and removed (with a reason). A transfer
decision creates or advances the handoff. The pack downloads as PDF, XLSX or Markdown once the
recipients are named: every export is recorded as a disclosure.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from coordination.core import wording
from coordination.core.clock import london_today
from coordination.core.settings import get_settings
from coordination.models import DECISION_KINDS
from coordination.review.actions import add_action, open_actions, set_action_status
from coordination.review.agenda import add_item, generate_agenda, move_item, remove_item
from coordination.review.common import OGRS3_WEIGHT_CAP, REASON_CODES
from coordination.review.decisions import record_decision
from coordination.review.meetings import (
    create_meeting,
    default_title,
    get_meeting,
    list_meetings,
    set_meeting_status,
)
from coordination.review.sections import (
    filter_agenda,
    group_by_reason,
    reason_heading,
    split_agenda,
)
from ui import session
from ui.components import review as rv
from ui.components.notice import demo_notice
from ui.navigation import require_page
from ui.text import CITY, FORCES, MET

FLASH_KEY = "jr_flash"

st.title("Joint review")
demo_notice()
session.show_flash(FLASH_KEY)

require_page("Joint review")
# Every read names the signed-in user: only meetings of their own force are listed.
me = session.signed_in_username()
viewer = session.signed_in_user()

today = london_today()
meetings = session.run(list_meetings, actor=me) or []
by_id = {m.id: m for m in meetings}
names: dict[str, str] = dict(FORCES)

# A meeting just created is selected on the next run (a widget's value cannot change once drawn).
goto = st.session_state.pop("jr_goto", None)
if goto is not None:
    st.session_state["jr_meeting"] = goto
if "jr_meeting" not in st.session_state and meetings:
    # On a first visit, the meeting people come for: the next one planned, else the latest.
    st.session_state["jr_meeting"] = rv.default_meeting(meetings, today)
if st.session_state.get("jr_meeting") not in by_id:
    st.session_state["jr_meeting"] = None

top = st.columns([3, 2, 2])
meeting_id = top[0].selectbox(
    "Meeting",
    [None, *by_id],
    key="jr_meeting",
    format_func=lambda i: "Plan a new meeting…" if i is None else rv.meeting_label(by_id[i]),
    # No meeting chosen is itself a choice: planning one. Say so, not "Choose an option".
    placeholder="Plan a new meeting…",
)
chosen = by_id.get(meeting_id) if meeting_id is not None else None
# The City first, then the Met: the meeting stores its forces sorted by code.
my_forces = rv.city_first(chosen.forces if chosen is not None else [CITY, MET])
if st.session_state.get("jr_force") not in my_forces:
    # The user's own force when it takes part.
    mine = viewer.force_code if viewer is not None else None
    st.session_state["jr_force"] = mine if mine in my_forces else my_forces[0]
my_force = top[1].selectbox(
    "Your force", my_forces, key="jr_force", format_func=lambda c: rv.force_label(c, names)
)
with top[2]:
    actor = session.acting_user(my_force)


def done(*lines: str) -> None:
    """Show what happened after a rerun (so the page reflects the change)."""
    if chosen is not None:
        session.forget_version("meeting", chosen.id)
    session.flash(FLASH_KEY, lines)
    st.rerun()


# --- plan a meeting ------------------------------------------------------------------------------

if chosen is None:
    st.subheader("Plan a meeting")
    offered = list(dict.fromkeys([CITY, MET, *(c for m in meetings for c in m.forces)]))
    with st.form("jr_new"):
        forces = st.multiselect(
            "Forces taking part",
            offered,
            default=[CITY, MET],
            key="jr_new_forces",
            format_func=lambda c: rv.force_label(c, names),
        )
        extra = st.text_input(
            "Other forces (ONS codes, comma-separated)",
            key="jr_new_extra",
            placeholder="E23000032",
            help="Any two or more forces can meet; the City and the Met by default.",
        )
        title = st.text_input(
            "Title", key="jr_new_title", placeholder="Left blank: the forces and the date"
        )
        meeting_date = st.date_input("Date", value=today, key="jr_new_date")
        chair = st.text_input("Chair", key="jr_new_chair")
        attendees = st.text_area("Attendees (one per line)", key="jr_new_attendees")
        create = st.form_submit_button("Create the meeting", key="jr_create")
    if create and actor:
        codes = list(dict.fromkeys([*forces, *rv.force_codes(extra)]))
        title = title.strip() or (
            session.run(default_title, forces=codes, meeting_date=meeting_date) or ""
        )
        created = session.run(
            create_meeting,
            actor=actor,
            title=title,
            meeting_date=meeting_date,
            chair=chair,
            attendees=rv.people(attendees),
            forces=codes,
        )
        if created is not None:
            st.session_state["jr_goto"] = created.id
            done(f"Meeting {created.id} planned: {created.title}.")

# --- one meeting -----------------------------------------------------------------------------

detail = session.run(get_meeting, meeting_id=chosen.id, actor=me) if chosen is not None else None
if detail is not None:
    meeting = detail.meeting
    names.update(detail.force_names)
    seen = session.seen_version("meeting", meeting.id, meeting.version)
    writable = meeting.status != "closed"

    rv.meeting_header(detail, names)
    if not writable:
        st.info("This meeting is closed: read-only, except that actions can still be closed.")

    buttons = st.columns(3)
    generate = writable and buttons[0].button(
        "Refresh the agenda" if detail.items else "Generate the agenda", key="jr_generate"
    )
    if generate and actor:
        agenda_now = session.run(
            generate_agenda,
            actor=actor,
            meeting_id=meeting.id,
            near_boundary_m=get_settings().near_boundary_m,
        )
        if agenda_now is not None:
            done(f"Agenda generated: {len(agenda_now)} items.")
    if buttons[2].button(
        "Reload", key="jr_reload", help="Show the meeting as it is now, with others' changes."
    ):
        done()
    step = rv.next_status(meeting.status)
    if step is not None and buttons[1].button(step[1], key="jr_status") and actor:
        moved = session.run(
            set_meeting_status,
            actor=actor,
            meeting_id=meeting.id,
            status=step[0],
            expected_version=seen,
        )
        if moved is not None:
            done(f"Meeting {moved.id} is now {moved.status}.")

    # --- the agenda ----------------------------------------------------------------------------

    st.markdown("### Agenda")
    agenda = detail.agenda
    parts = split_agenda(agenda, size=get_settings().agenda_size)
    bcus = detail.bcu_names
    if agenda:
        if parts.not_reached:
            st.caption(
                f"The meeting works through the first {rv.count(parts.size, 'item')} in agenda "
                "order (highest priority first, unless moved by hand); "
                f"{rv.count(len(parts.not_reached), 'more')} listed below as not reached, with "
                "their scores: the next agenda picks them up again."
            )
        else:
            st.caption(
                f"All {rv.count(len(agenda), 'item')} fit in the meeting "
                f"({parts.size} at most, in agenda order)."
            )
        pick = st.columns([2, 2, 1])
        bcu_choice = pick[0].multiselect(
            "BCU",
            rv.bcu_options(agenda),
            key="jr_filter_bcu",
            format_func=lambda c: rv.bcu_label(c, bcus),
            placeholder="Every BCU",
        )
        reason_choice = pick[1].multiselect(
            "Reason",
            [c for c in REASON_CODES if any(c in i.reason_codes for i in agenda)],
            key="jr_filter_reason",
            format_func=reason_heading,
            placeholder="Every reason",
        )
        grouped = pick[2].toggle("Group by reason", value=True, key="jr_group")
        shown = filter_agenda(parts.reached, bcus=bcu_choice, reasons=reason_choice)
        if bcu_choice or reason_choice:
            st.caption(f"Showing {len(shown)} of the {len(parts.reached)} items reached.")
        if not shown:
            st.info("No item reached by the meeting matches these filters.")
        elif grouped:
            for code, group in group_by_reason(shown):
                st.markdown(f"**{reason_heading(code)}** ({len(group)})")
                st.dataframe(
                    rv.agenda_table(group, names, bcus),
                    hide_index=True,
                    key=f"jr_agenda_{code}",
                )
        else:
            st.dataframe(rv.agenda_table(shown, names, bcus), hide_index=True, key="jr_agenda")
        st.caption(
            "Score = risk + MAPPA + OGRS3 + days overdue, weighted by settings; the OGRS3 part "
            f"is capped at {OGRS3_WEIGHT_CAP:g} points so it never decides alone."
        )
        later = filter_agenda(parts.not_reached, bcus=bcu_choice, reasons=reason_choice)
        if parts.not_reached:
            with st.expander(f"Not reached at this meeting ({len(parts.not_reached)})"):
                st.dataframe(rv.not_reached_table(later), hide_index=True, key="jr_not_reached")
    else:
        st.caption("No items yet: generate the agenda, or add a case by hand.")
    removed = [i for i in detail.items if i.removed]
    if removed:
        with st.expander(f"Removed from the agenda ({len(removed)})"):
            st.dataframe(rv.removed_table(removed), hide_index=True, key="jr_removed")

    items = {i.id: i for i in agenda}
    if st.session_state.get("jr_item") not in items:
        st.session_state["jr_item"] = None
    item_id = st.selectbox(
        "Agenda item",
        [None, *items],
        key="jr_item",
        format_func=lambda i: (
            "Choose an item…"
            if i is None
            else f"{items[i].position}. {items[i].offender_name} (case {items[i].case_id})"
            + ("" if items[i].position <= parts.size else " · not reached")
        ),
    )
    item = items.get(item_id) if item_id is not None else None
    if item is not None:
        rv.item_panel(item, names)

        if writable:
            move = st.columns([1, 1, 1, 2])
            up = move[0].button("Move up", key="jr_up", disabled=item.position <= 1)
            down = move[1].button("Move down", key="jr_down", disabled=item.position >= len(agenda))
            position = move[2].number_input(
                "Position",
                min_value=1,
                max_value=max(len(agenda), 1),
                value=item.position,
                step=1,
                key=f"jr_pos_{item.id}",
            )
            to = move[3].button("Move to this position", key="jr_move")
            wanted = item.position - 1 if up else item.position + 1 if down else int(position)
            if (up or down or to) and actor:
                order = session.run(move_item, actor=actor, item_id=item.id, position=wanted)
                if order is not None:
                    done(f"{item.offender_name} moved to position {wanted}.")

            with st.form("jr_decision_form"):
                kind = st.selectbox(
                    "Decision",
                    list(DECISION_KINDS),
                    key="jr_kind",
                    format_func=lambda k: rv.DECISION_LABELS.get(k, k),
                )
                targets = rv.decision_targets(item, meeting.forces)
                target = st.selectbox(
                    "Force (required for a transfer)",
                    targets,
                    key="jr_target",
                    format_func=lambda c: "No force" if c is None else rv.force_label(c, names),
                )
                agreed_by = st.selectbox(
                    "Agreed for the receiving force by (a transfer)",
                    rv.agreed_by_choices(meeting.attendees),
                    key="jr_agreed_by",
                    format_func=lambda a: (
                        "Nobody here: leave it in their queue" if a is None else a
                    ),
                    help="Anyone in the meeting records its decisions. Name the receiving "
                    "force's attendee who agreed a transfer and it is accepted for that force; "
                    "otherwise it waits in their queue, marked 'agreed at joint review'.",
                )
                note = st.text_area("Note", key="jr_note")
                decide = st.form_submit_button("Record the decision", key="jr_decide")
            if decide and actor:
                decision = session.run(
                    record_decision,
                    actor=actor,
                    item_id=item.id,
                    kind=kind,
                    note=note,
                    target_force_code=None if kind in ("retain", "nfa") else target,
                    agreed_by=agreed_by if kind == "transfer" else None,
                    expected_version=seen,
                )
                if decision is not None:
                    lines = [
                        f"Decision recorded for case {decision.case_id}: "
                        f"{rv.decision_text(decision, names)}."
                    ]
                    if decision.handoff_id is not None:
                        lines.append(
                            f"Handoff #{decision.handoff_id} is {decision.handoff_state}: "
                            "follow it on the Handoffs page."
                        )
                    done(*lines)

            with st.form("jr_remove_form"):
                why_remove = st.text_input("Reason for removing (required)", key="jr_remove_reason")
                remove = st.form_submit_button("Remove from the agenda", key="jr_remove")
            if remove and actor:
                gone = session.run(remove_item, actor=actor, item_id=item.id, reason=why_remove)
                if gone is not None:
                    done(f"{gone.offender_name} (case {gone.case_id}) removed from the agenda.")

    if writable:
        with st.expander("Add a case to the agenda"):
            with st.form("jr_add_form"):
                case_id = st.number_input(
                    "Case number", min_value=1, step=1, value=None, key="jr_add_case"
                )
                why_add = st.text_input("Reason for adding (required)", key="jr_add_reason")
                add = st.form_submit_button("Add to the agenda", key="jr_add")
            if add and actor:
                if case_id is None:
                    st.error("Give the number of the case to add.")
                else:
                    added = session.run(
                        add_item,
                        actor=actor,
                        meeting_id=meeting.id,
                        case_id=int(case_id),
                        reason=why_add,
                    )
                    if added is not None:
                        done(
                            f"{added.offender_name} (case {added.case_id}) added at "
                            f"position {added.position}."
                        )

    # --- actions -----------------------------------------------------------------------------

    st.markdown("### Actions")
    if detail.actions:
        st.dataframe(
            rv.actions_table(detail.actions, today=today), hide_index=True, key="jr_actions"
        )
    else:
        st.caption("No actions agreed at this meeting yet.")
    if detail.carried_actions:
        st.markdown("**Open actions carried over from earlier meetings**")
        st.dataframe(
            rv.actions_table(detail.carried_actions, today=today),
            hide_index=True,
            key="jr_carried",
        )
    if writable:
        with st.form("jr_action_form"):
            cols = st.columns([3, 2, 2, 2])
            description = cols[0].text_input("Action", key="jr_act_desc")
            # The meeting's attendees first; someone not on the list may be typed (a partner
            # agency's officer has no account here).
            owners = list(
                dict.fromkeys([*meeting.attendees, *([viewer.display_name] if viewer else [])])
            )
            owner = cols[1].selectbox(
                "Owner",
                owners,
                index=None,
                key="jr_act_owner",
                accept_new_options=True,
                placeholder="An attendee, or type a name",
            )
            due = cols[2].date_input(
                "Due", value=meeting.meeting_date + timedelta(days=14), key="jr_act_due"
            )
            cases = {i.case_id: i for i in agenda}
            about = cols[3].selectbox(
                "About case",
                [None, *cases],
                key="jr_act_case",
                format_func=lambda c: "No case" if c is None else f"{c}: {cases[c].offender_name}",
            )
            add_action_clicked = st.form_submit_button("Add the action", key="jr_add_action")
        if add_action_clicked and actor:
            action = session.run(
                add_action,
                actor=actor,
                meeting_id=meeting.id,
                description=description,
                owner=owner or "",
                due_date=due,
                case_id=about,
            )
            if action is not None:
                done(f"Action {action.id} added for {action.owner}.")
    actionable = {a.id: a for a in [*detail.actions, *detail.carried_actions]}
    if actionable:
        cols = st.columns([3, 2, 2])
        action_id = cols[0].selectbox(
            "Update an action",
            list(actionable),
            key="jr_act_pick",
            format_func=lambda a: (
                f"#{a} {actionable[a].owner}: {actionable[a].description} ({actionable[a].status})"
            ),
        )
        status = cols[1].selectbox(
            "New status",
            ["done", "cancelled", "open"],
            key="jr_act_status",
            format_func=wording.action_status_label,
        )
        note = cols[2].text_input("Note (what was done, or why not)", key="jr_act_note")
        if st.button("Update the action", key="jr_act_update") and actor:
            updated = session.run(
                set_action_status, actor=actor, action_id=action_id, status=status, note=note
            )
            if updated is not None:
                done(f"Action {updated.id} is now {updated.status}.")

    # --- the pack ----------------------------------------------------------------------------

    kind_word = "minutes" if meeting.status in ("held", "closed") else "meeting pack"
    st.markdown(f"### Export the {kind_word}")
    recipients = rv.people(
        st.text_area(
            "Recipients (one per line, required)",
            key="jr_recipients",
            help="An export is a disclosure: the audit log records who exported which people's "
            "records, when, and to whom.",
        )
    )
    justification = st.text_input(
        "Why they receive it (required)",
        key="jr_justification",
        placeholder="e.g. attendees of this joint review, for the meeting",
        help="Kept on the disclosure in the audit log and printed on the pack's cover.",
    ).strip()
    if not actor:
        st.caption("Only a user of one of the meeting's forces exports its pack.")
    elif not recipients or not justification:
        st.info(
            "Name the recipients and say why they receive it to export: every export is "
            "recorded as a disclosure."
        )
    else:
        rv.pack_downloads(
            actor=actor, meeting=meeting, recipients=recipients, justification=justification
        )

# --- every meeting and every open action -----------------------------------------------------

st.divider()
st.markdown("### Meetings")
if meetings:
    st.dataframe(rv.meetings_table(meetings, names), hide_index=True, key="jr_meetings")
else:
    st.caption("No meetings yet.")
st.markdown("### Open actions by owner")
everyone = session.run(open_actions, actor=me) or []
if everyone:
    st.dataframe(rv.actions_by_owner(everyone, today=today), hide_index=True, key="jr_open")
else:
    st.caption("No open actions.")
