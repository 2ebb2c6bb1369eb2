"""`crossforce review …` and `crossforce ogrs3` (wired in by `coordination.cli.main`).

::

    crossforce ogrs3 --sex male|female --age A --age-at-conviction C --age-at-first-sanction F
                     --previous-sanctions S --offence CATEGORY [--json]
    crossforce review agenda [--forces E23000034,E23000001] [--date D] [--near-m M] [--json]
    crossforce review meetings [--forces CODES] [--json]
    crossforce review show MEETING_ID [--json]
    crossforce review decide ITEM KIND [--target CODE] [--agreed-by NAME] [--note T] [--version N]
        [--json]
    crossforce review action MEETING_ID --owner U [--due D] [--case ID] DESCRIPTION
    crossforce review actions [--owner U] [--json]
    crossforce review actions close ID [--note TEXT] [--cancelled] [--json]
    crossforce review status MEETING_ID planned|held|closed
    crossforce review pack MEETING_ID --format pdf|xlsx|md --out FILE [--to RECIPIENT …]

``review agenda`` uses the planned meeting of those forces on that date (default today), creating
it when there is none, then generates its agenda and prints it with reasons and scores.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from coordination.core.console import (
    Parser,
    actor,
    open_session,
    optional_date,
    print_json,
    record_id,
    say,
)
from coordination.core.serial import jsonable

_FORCES_DEFAULT = "E23000034,E23000001"


def register(sub: Any) -> Any:
    """Add ``crossforce ogrs3`` and ``crossforce review …`` to the top-level sub-parsers.

    Parameters
    ----------
    sub
        The top-level sub-parsers object.

    Returns
    -------
    Any
        The ``review`` group's sub-parsers, to which ``coordination.packs.cli`` adds ``pack``.
    """
    ogrs3 = sub.add_parser(
        "ogrs3", help="OGRS3 one- and two-year reoffending probabilities (never decisive alone)"
    )
    ogrs3.add_argument("--sex", required=True, help="male or female")
    ogrs3.add_argument("--age", required=True, type=int, help="age at assessment (years)")
    ogrs3.add_argument("--age-at-conviction", required=True, type=int, metavar="C")
    ogrs3.add_argument("--age-at-first-sanction", required=True, type=int, metavar="F")
    ogrs3.add_argument("--previous-sanctions", required=True, type=int, metavar="S")
    ogrs3.add_argument(
        "--offence", required=True, metavar="CATEGORY", help="e.g. burglary_domestic or 'robbery'"
    )
    ogrs3.add_argument("--json", action="store_true", help="print JSON")
    ogrs3.set_defaults(handler=_cmd_ogrs3)

    review = sub.add_parser("review", help="joint review meetings: agenda, decisions, actions")
    commands = review.add_subparsers(dest="review_command", required=True, parser_class=Parser)

    agenda = commands.add_parser(
        "agenda", help="generate the agenda of the planned meeting (created if none)"
    )
    agenda.add_argument(
        "--forces",
        default=_FORCES_DEFAULT,
        metavar="CODES",
        help=f"comma-separated ONS force codes (default {_FORCES_DEFAULT})",
    )
    agenda.add_argument("--date", metavar="YYYY-MM-DD", help="meeting date (default today)")
    agenda.add_argument(
        "--near-m",
        type=float,
        default=None,
        metavar="M",
        help="near-boundary distance in metres (default CROSSFORCE_NEAR_BOUNDARY_M)",
    )
    agenda.add_argument("--json", action="store_true", help="print JSON")
    agenda.set_defaults(handler=_cmd_agenda)

    meetings = commands.add_parser("meetings", help="list meetings, latest first")
    meetings.add_argument("--forces", metavar="CODES", help="only meetings of exactly these")
    meetings.add_argument("--json", action="store_true", help="print JSON")
    meetings.set_defaults(handler=_cmd_meetings)

    show = commands.add_parser("show", help="one meeting: agenda, decisions and actions")
    show.add_argument("meeting_id", type=record_id)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)

    decide = commands.add_parser("decide", help="record the decision on an agenda item")
    decide.add_argument("item_id", type=record_id, metavar="ITEM")
    decide.add_argument(
        "kind", metavar="KIND", help="retain, transfer, joint, escalate, nfa or other"
    )
    decide.add_argument("--target", metavar="CODE", help="the force (required for transfer)")
    decide.add_argument(
        "--agreed-by",
        metavar="NAME",
        help="for a transfer: the receiving force's attendee who agreed it at the meeting (the "
        "handoff is then accepted for that force; without it, it waits in their queue)",
    )
    decide.add_argument("--note", default="", help="what was agreed")
    decide.add_argument(
        "--version",
        type=record_id,
        dest="expected_version",
        metavar="N",
        help="refuse if the meeting is no longer at version N",
    )
    decide.add_argument("--json", action="store_true", help="print JSON")
    decide.set_defaults(handler=_cmd_decide)

    action = commands.add_parser("action", help="record an action agreed at a meeting")
    action.add_argument("meeting_id", type=record_id, metavar="MEETING")
    action.add_argument("description", metavar="DESCRIPTION")
    action.add_argument("--owner", required=True, metavar="U")
    action.add_argument("--due", metavar="YYYY-MM-DD", help="due date")
    action.add_argument("--case", type=record_id, dest="case_id", metavar="ID", help="the case")
    action.add_argument("--json", action="store_true", help="print JSON")
    action.set_defaults(handler=_cmd_action)

    actions = commands.add_parser(
        "actions", help="open actions, soonest due first; `actions close ID` marks one done"
    )
    actions.add_argument("--owner", metavar="U")
    actions.add_argument("--json", action="store_true", help="print JSON")
    actions.set_defaults(handler=_cmd_actions)
    action_commands = actions.add_subparsers(
        dest="actions_command", required=False, parser_class=Parser
    )
    close = action_commands.add_parser("close", help="mark an action done (or cancelled)")
    close.add_argument("action_id", type=record_id, metavar="ID")
    close.add_argument("--note", default="", help="what was done (kept in the audit log)")
    close.add_argument(
        "--cancelled", action="store_true", help="cancelled rather than done (say why in --note)"
    )
    close.add_argument("--json", action="store_true", help="print JSON")
    close.set_defaults(handler=_cmd_close_action)

    status = commands.add_parser("status", help="move a meeting on: planned → held → closed")
    status.add_argument("meeting_id", type=record_id, metavar="MEETING")
    status.add_argument("status", choices=("held", "closed"))
    status.set_defaults(handler=_cmd_status)

    return commands


def _day(text: str | None, option: str) -> date | None:
    return optional_date(text, option)


def _forces(text: str) -> list[str]:
    return [part.strip().upper() for part in text.split(",") if part.strip()]


# -- ogrs3 --------------------------------------------------------------------------------------


def _cmd_ogrs3(args: argparse.Namespace) -> int:
    from coordination.review.ogrs3 import ogrs3

    result = ogrs3(
        sex=args.sex.strip().lower(),
        age=args.age,
        age_at_conviction=args.age_at_conviction,
        age_at_first_sanction=args.age_at_first_sanction,
        previous_sanctions=args.previous_sanctions,
        offence=args.offence,
    )
    if args.json:
        data = jsonable(result)
        # The contract: one_year and two_year in percent, two decimals.
        data["one_year"] = result.one_year_pct
        data["two_year"] = result.two_year_pct
        data["one_year_probability"] = result.one_year
        data["two_year_probability"] = result.two_year
        del data["one_year_pct"], data["two_year_pct"]
        print_json(data)
        return 0
    say(f"OGRS3 for {result.inputs_text()}")
    say(f"  1 year:  {result.one_year_pct:.2f}%")
    say(f"  2 years: {result.two_year_pct:.2f}%")
    say(
        f"  copas {result.copas:.4f}; sanction ({result.sanction_kind}) "
        f"{result.sanction_term:+.4f}; age/sex ({result.age_band}) "
        f"{result.age_sex_term:+.4f}; offence {result.offence_term:+.4f}"
    )
    say("OGRS3 is one input to prioritising, never the decision.")
    return 0


# -- review ---------------------------------------------------------------------------------------


def _print_items(items: list[Any]) -> None:
    if not items:
        say("Nothing on the agenda.")
        return
    for item in items:
        parts = ", ".join(f"{k} {v:g}" for k, v in item.score_parts.items())
        pnc = f" ({item.pnc_id})" if item.pnc_id else ""  # none shown for a withheld case
        say(
            f"{item.position:>3}. [item {item.id}] case {item.case_id} {item.offender_name}{pnc}, "
            f"led by {item.lead_force_name} — score {item.score:g} ({parts})"
        )
        for reason in item.reasons:
            say(f"       - {reason['code']}: {reason['text']}")
        if item.ogrs3 is not None:
            say(f"       OGRS3 {item.ogrs3.summary().removeprefix('OGRS3 ')}")
        elif item.ogrs3_note:
            say(f"       {item.ogrs3_note}")
        if item.decision is not None:
            d = item.decision
            target = f" to {d.target_force_name}" if d.target_force_name else ""
            handoff = f" (handoff {d.handoff_id}, {d.handoff_state})" if d.handoff_id else ""
            say(f"       Decision: {d.kind}{target}{handoff}" + (f" — {d.note}" if d.note else ""))


def _meeting_line(m: Any) -> str:
    return (
        f"Meeting {m.id} (version {m.version}): {m.title} on {m.meeting_date.isoformat()}, "
        f"{m.status}; forces {', '.join(m.forces)}; chair {m.chair}"
    )


def _cmd_agenda(args: argparse.Namespace) -> int:
    from coordination.core.calendar import london_date
    from coordination.core.clock import utcnow
    from coordination.core.settings import get_settings
    from coordination.review.agenda import generate_agenda
    from coordination.review.meetings import (
        create_meeting,
        default_title,
        get_meeting,
        planned_meeting,
    )

    forces = _forces(args.forces)
    day = _day(args.date, "--date") or london_date(utcnow())
    near = args.near_m if args.near_m is not None else get_settings().near_boundary_m
    who = actor(args)
    with open_session() as session:
        meeting = planned_meeting(session, forces=forces, meeting_date=day)
        created = meeting is None
        if meeting is None:
            meeting = create_meeting(
                session,
                actor=who,
                title=default_title(session, forces=forces, meeting_date=day),
                meeting_date=day,
                chair=who,
                attendees=[],
                forces=forces,
            )
        items = generate_agenda(session, actor=who, meeting_id=meeting.id, near_boundary_m=near)
        detail = get_meeting(session, meeting_id=meeting.id, actor=who)
    if args.json:
        print_json(
            {
                "meeting_id": detail.meeting.id,
                "meeting": detail.meeting,
                "created": created,
                "items": items,
            }
        )
        return 0
    say(("Created " if created else "") + _meeting_line(detail.meeting))
    _print_items(items)
    if detail.carried_actions:
        say(f"Open actions carried over: {len(detail.carried_actions)}")
        for a in detail.carried_actions:
            say(f"  [action {a.id}] {a.description} — {a.owner}, due {a.due_date or '—'}")
    return 0


def _cmd_meetings(args: argparse.Namespace) -> int:
    from coordination.review.meetings import list_meetings

    with open_session() as session:
        meetings = list_meetings(
            session, forces=_forces(args.forces) if args.forces else None, actor=actor(args)
        )
    if args.json:
        print_json(meetings)
        return 0
    if not meetings:
        say("No meetings yet: crossforce review agenda creates one.")
    for m in meetings:
        say(_meeting_line(m))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from coordination.review.meetings import get_meeting

    with open_session() as session:
        detail = get_meeting(session, meeting_id=args.meeting_id, actor=actor(args))
    if args.json:
        print_json(
            {
                "meeting": detail.meeting,
                "items": detail.items,
                "actions": detail.actions,
                "carried_actions": detail.carried_actions,
                "previous_meeting_date": (
                    detail.previous_meeting_date.isoformat()
                    if detail.previous_meeting_date
                    else None
                ),
                "next_meeting_date": detail.next_meeting_date.isoformat(),
            }
        )
        return 0
    say(_meeting_line(detail.meeting))
    _print_items(detail.agenda)
    for item in detail.items:
        if item.removed:
            say(f"  Removed: case {item.case_id} {item.offender_name} — {item.removed_reason}")
    for a in [*detail.actions, *detail.carried_actions]:
        say(f"  [action {a.id}] {a.status}: {a.description} — {a.owner}, due {a.due_date or '—'}")
    return 0


def _cmd_decide(args: argparse.Namespace) -> int:
    from coordination.review.decisions import record_decision

    with open_session() as session:
        decision = record_decision(
            session,
            actor=actor(args),
            item_id=args.item_id,
            kind=args.kind.strip().lower(),
            note=args.note,
            target_force_code=args.target,
            agreed_by=args.agreed_by,
            expected_version=args.expected_version,
        )
    if args.json:
        print_json(decision)
        return 0
    target = f" to {decision.target_force_name}" if decision.target_force_name else ""
    say(f"Item {decision.agenda_item_id} (case {decision.case_id}): {decision.kind}{target}.")
    if decision.handoff_id is not None:
        say(f"Handoff {decision.handoff_id} is {decision.handoff_state}.")
    return 0


def _cmd_action(args: argparse.Namespace) -> int:
    from coordination.review.actions import add_action

    with open_session() as session:
        action = add_action(
            session,
            actor=actor(args),
            meeting_id=args.meeting_id,
            description=args.description,
            owner=args.owner,
            due_date=_day(args.due, "--due"),
            case_id=args.case_id,
        )
    if args.json:
        print_json(action)
        return 0
    due = f", due {action.due_date.isoformat()}" if action.due_date else ""
    say(f"Action {action.id} for {action.owner}{due}: {action.description}")
    return 0


def _cmd_actions(args: argparse.Namespace) -> int:
    from coordination.review.actions import open_actions

    with open_session() as session:
        actions = open_actions(session, owner=args.owner, actor=actor(args))
    if args.json:
        print_json(actions)
        return 0
    if not actions:
        say("No open actions.")
    for a in actions:
        case = f" (case {a.case_id}, {a.offender_name})" if a.case_id else ""
        say(
            f"[action {a.id}] {a.owner}, due {a.due_date or '—'}: {a.description}{case} — "
            f"meeting {a.meeting_id} of {a.meeting_date.isoformat()}"
        )
    return 0


def _cmd_close_action(args: argparse.Namespace) -> int:
    from coordination.review.actions import set_action_status

    status = "cancelled" if args.cancelled else "done"
    with open_session() as session:
        action = set_action_status(
            session, actor=actor(args), action_id=args.action_id, status=status, note=args.note
        )
    if args.json:
        print_json(action)
        return 0
    say(f"Action {action.id} ({action.owner}: {action.description}) is {action.status}.")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from coordination.review.meetings import set_meeting_status

    with open_session() as session:
        meeting = set_meeting_status(
            session, actor=actor(args), meeting_id=args.meeting_id, status=args.status
        )
    say(_meeting_line(meeting))
    return 0
