"""`crossforce review …` and `crossforce ogrs3` (wired in by `coordination.cli`).

::

    crossforce ogrs3 --sex male|female --age A --age-at-conviction C --age-at-first-sanction F
                     --previous-sanctions S --offence CATEGORY [--json]
    crossforce review agenda [--forces E23000034,E23000001] [--date D] [--near-m M] [--json]
    crossforce review meetings [--forces CODES] [--json]
    crossforce review show MEETING_ID [--json]
    crossforce review decide ITEM KIND [--target CODE] [--note T] [--version N] [--json]
    crossforce review action MEETING_ID --owner U [--due D] [--case ID] DESCRIPTION
    crossforce review actions [--owner U] [--json]
    crossforce review status MEETING_ID planned|held|closed
    crossforce review pack MEETING_ID --format pdf|xlsx|md --out FILE [--to RECIPIENT …]

``review agenda`` uses the planned meeting of those forces on that date (default today), creating
it when there is none, then generates its agenda and prints it with reasons and scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from geo.errors import InputError

_FORCES_DEFAULT = "E23000034,E23000001"


def register(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``crossforce ogrs3`` and ``crossforce review …`` to the top-level sub-parsers.

    Parameters
    ----------
    sub
        The top-level sub-parsers object.
    parser_class
        The parser class to use for nested sub-parsers (one-line errors, exit 2).
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
    commands = review.add_subparsers(
        dest="review_command", required=True, parser_class=parser_class
    )

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
    show.add_argument("meeting_id", type=int)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)

    decide = commands.add_parser("decide", help="record the decision on an agenda item")
    decide.add_argument("item_id", type=int, metavar="ITEM")
    decide.add_argument(
        "kind", metavar="KIND", help="retain, transfer, joint, escalate, nfa or other"
    )
    decide.add_argument("--target", metavar="CODE", help="the force (required for transfer)")
    decide.add_argument("--note", default="", help="what was agreed")
    decide.add_argument(
        "--version",
        type=int,
        dest="expected_version",
        metavar="N",
        help="refuse if the meeting is no longer at version N",
    )
    decide.add_argument("--json", action="store_true", help="print JSON")
    decide.set_defaults(handler=_cmd_decide)

    action = commands.add_parser("action", help="record an action agreed at a meeting")
    action.add_argument("meeting_id", type=int, metavar="MEETING")
    action.add_argument("description", metavar="DESCRIPTION")
    action.add_argument("--owner", required=True, metavar="U")
    action.add_argument("--due", metavar="YYYY-MM-DD", help="due date")
    action.add_argument("--case", type=int, dest="case_id", metavar="ID", help="the case")
    action.add_argument("--json", action="store_true", help="print JSON")
    action.set_defaults(handler=_cmd_action)

    actions = commands.add_parser("actions", help="open actions, soonest due first")
    actions.add_argument("--owner", metavar="U")
    actions.add_argument("--json", action="store_true", help="print JSON")
    actions.set_defaults(handler=_cmd_actions)

    status = commands.add_parser("status", help="move a meeting on: planned → held → closed")
    status.add_argument("meeting_id", type=int, metavar="MEETING")
    status.add_argument("status", choices=("held", "closed"))
    status.set_defaults(handler=_cmd_status)

    pack = commands.add_parser("pack", help="export the meeting pack (a recorded disclosure)")
    pack.add_argument("meeting_id", type=int, metavar="MEETING_ID")
    pack.add_argument("--format", dest="fmt", required=True, choices=("pdf", "xlsx", "md"))
    pack.add_argument("--out", required=True, type=Path, metavar="FILE")
    pack.add_argument(
        "--to",
        dest="recipients",
        action="append",
        default=[],
        metavar="RECIPIENT",
        help="who receives it (repeatable; written to the audit log)",
    )
    pack.set_defaults(handler=_cmd_pack)


def _say(text: str = "") -> None:
    print(text, file=sys.stdout)


def _dump(data: Any) -> None:
    _say(json.dumps(data, indent=2, ensure_ascii=False))


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(f"{option} {text!r}: expected a date like 2025-03-31") from exc


def _forces(text: str) -> list[str]:
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def _engine() -> Any:
    from coordination.db import get_engine, upgrade
    from coordination.settings import get_settings

    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    return engine


# -- ogrs3 --------------------------------------------------------------------------------------


def _cmd_ogrs3(args: argparse.Namespace) -> int:
    from coordination.ogrs3 import ogrs3

    result = ogrs3(
        sex=args.sex.strip().lower(),
        age=args.age,
        age_at_conviction=args.age_at_conviction,
        age_at_first_sanction=args.age_at_first_sanction,
        previous_sanctions=args.previous_sanctions,
        offence=args.offence,
    )
    if args.json:
        data = result.to_dict()
        # The contract: one_year and two_year in percent, two decimals.
        data["one_year"] = result.one_year_pct
        data["two_year"] = result.two_year_pct
        data["one_year_probability"] = result.one_year
        data["two_year_probability"] = result.two_year
        del data["one_year_pct"], data["two_year_pct"]
        _dump(data)
        return 0
    _say(f"OGRS3 for {result.inputs_text()}")
    _say(f"  1 year:  {result.one_year_pct:.2f}%")
    _say(f"  2 years: {result.two_year_pct:.2f}%")
    _say(
        f"  copas {result.copas:.4f}; sanction ({result.sanction_kind}) "
        f"{result.sanction_term:+.4f}; age/sex ({result.age_band}) "
        f"{result.age_sex_term:+.4f}; offence {result.offence_term:+.4f}"
    )
    _say("OGRS3 is one input to prioritising, never the decision.")
    return 0


# -- review ---------------------------------------------------------------------------------------


def _print_items(items: list[Any]) -> None:
    if not items:
        _say("Nothing on the agenda.")
        return
    for item in items:
        parts = ", ".join(f"{k} {v:g}" for k, v in item.score_parts.items())
        _say(
            f"{item.position:>3}. [item {item.id}] case {item.case_id} {item.offender_name} "
            f"({item.pnc_id}), led by {item.lead_force_name} — score {item.score:g} ({parts})"
        )
        for reason in item.reasons:
            _say(f"       - {reason['code']}: {reason['text']}")
        if item.ogrs3 is not None:
            _say(f"       OGRS3 {item.ogrs3.summary().removeprefix('OGRS3 ')}")
        elif item.ogrs3_note:
            _say(f"       {item.ogrs3_note}")
        if item.decision is not None:
            d = item.decision
            target = f" to {d.target_force_name}" if d.target_force_name else ""
            handoff = f" (handoff {d.handoff_id}, {d.handoff_state})" if d.handoff_id else ""
            _say(f"       Decision: {d.kind}{target}{handoff}" + (f" — {d.note}" if d.note else ""))


def _meeting_line(m: Any) -> str:
    return (
        f"Meeting {m.id} (version {m.version}): {m.title} on {m.meeting_date.isoformat()}, "
        f"{m.status}; forces {', '.join(m.forces)}; chair {m.chair}"
    )


def _cmd_agenda(args: argparse.Namespace) -> int:
    from coordination.calendar import london_date
    from coordination.cli import actor
    from coordination.db import session_scope
    from coordination.models import utcnow
    from coordination.review import (
        create_meeting,
        default_title,
        generate_agenda,
        get_meeting,
        planned_meeting,
    )
    from coordination.settings import get_settings

    forces = _forces(args.forces)
    day = _day(args.date, "--date") or london_date(utcnow())
    near = args.near_m if args.near_m is not None else get_settings().near_boundary_m
    who = actor(args)
    engine = _engine()
    with session_scope(engine) as session:
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
        detail = get_meeting(session, meeting_id=meeting.id)
    if args.json:
        _dump(
            {
                "meeting_id": detail.meeting.id,
                "meeting": json.loads(detail.meeting.model_dump_json()),
                "created": created,
                "items": [item.to_dict() for item in items],
            }
        )
        return 0
    _say(("Created " if created else "") + _meeting_line(detail.meeting))
    _print_items(items)
    if detail.carried_actions:
        _say(f"Open actions carried over: {len(detail.carried_actions)}")
        for a in detail.carried_actions:
            _say(f"  [action {a.id}] {a.description} — {a.owner}, due {a.due_date or '—'}")
    return 0


def _cmd_meetings(args: argparse.Namespace) -> int:
    from coordination.db import session_scope
    from coordination.review import list_meetings

    engine = _engine()
    with session_scope(engine) as session:
        meetings = list_meetings(session, forces=_forces(args.forces) if args.forces else None)
    if args.json:
        _dump([json.loads(m.model_dump_json()) for m in meetings])
        return 0
    if not meetings:
        _say("No meetings yet: crossforce review agenda creates one.")
    for m in meetings:
        _say(_meeting_line(m))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from coordination.db import session_scope
    from coordination.review import get_meeting

    engine = _engine()
    with session_scope(engine) as session:
        detail = get_meeting(session, meeting_id=args.meeting_id)
    if args.json:
        _dump(
            {
                "meeting": json.loads(detail.meeting.model_dump_json()),
                "items": [i.to_dict() for i in detail.items],
                "actions": [a.to_dict() for a in detail.actions],
                "carried_actions": [a.to_dict() for a in detail.carried_actions],
                "previous_meeting_date": (
                    detail.previous_meeting_date.isoformat()
                    if detail.previous_meeting_date
                    else None
                ),
                "next_meeting_date": detail.next_meeting_date.isoformat(),
            }
        )
        return 0
    _say(_meeting_line(detail.meeting))
    _print_items(detail.agenda)
    for item in detail.items:
        if item.removed:
            _say(f"  Removed: case {item.case_id} {item.offender_name} — {item.removed_reason}")
    for a in [*detail.actions, *detail.carried_actions]:
        _say(f"  [action {a.id}] {a.status}: {a.description} — {a.owner}, due {a.due_date or '—'}")
    return 0


def _cmd_decide(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.db import session_scope
    from coordination.review import record_decision

    engine = _engine()
    with session_scope(engine) as session:
        decision = record_decision(
            session,
            actor=actor(args),
            item_id=args.item_id,
            kind=args.kind.strip().lower(),
            note=args.note,
            target_force_code=args.target,
            expected_version=args.expected_version,
        )
    if args.json:
        _dump(decision.to_dict())
        return 0
    target = f" to {decision.target_force_name}" if decision.target_force_name else ""
    _say(f"Item {decision.agenda_item_id} (case {decision.case_id}): {decision.kind}{target}.")
    if decision.handoff_id is not None:
        _say(f"Handoff {decision.handoff_id} is {decision.handoff_state}.")
    return 0


def _cmd_action(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.db import session_scope
    from coordination.review import add_action

    engine = _engine()
    with session_scope(engine) as session:
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
        _dump(action.to_dict())
        return 0
    due = f", due {action.due_date.isoformat()}" if action.due_date else ""
    _say(f"Action {action.id} for {action.owner}{due}: {action.description}")
    return 0


def _cmd_actions(args: argparse.Namespace) -> int:
    from coordination.db import session_scope
    from coordination.review import open_actions

    engine = _engine()
    with session_scope(engine) as session:
        actions = open_actions(session, owner=args.owner)
    if args.json:
        _dump([a.to_dict() for a in actions])
        return 0
    if not actions:
        _say("No open actions.")
    for a in actions:
        case = f" (case {a.case_id}, {a.offender_name})" if a.case_id else ""
        _say(
            f"[action {a.id}] {a.owner}, due {a.due_date or '—'}: {a.description}{case} — "
            f"meeting {a.meeting_id} of {a.meeting_date.isoformat()}"
        )
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.db import session_scope
    from coordination.review import set_meeting_status

    engine = _engine()
    with session_scope(engine) as session:
        meeting = set_meeting_status(
            session, actor=actor(args), meeting_id=args.meeting_id, status=args.status
        )
    _say(_meeting_line(meeting))
    return 0


def _cmd_pack(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.db import session_scope

    try:
        from coordination.meeting_pack import export_pack  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise InputError("The meeting pack export is not installed yet") from exc
    engine = _engine()
    with session_scope(engine) as session:
        data: bytes = export_pack(
            session,
            actor=actor(args),
            meeting_id=args.meeting_id,
            fmt=args.fmt,
            recipients=list(args.recipients),
        )
        # Written inside the transaction: if the file cannot be written, the disclosure the
        # export recorded is rolled back with it.
        try:
            args.out.write_bytes(data)
        except OSError as exc:
            raise InputError(f"Cannot write {args.out}: {exc.strerror}") from exc
    to = f" for {', '.join(args.recipients)}" if args.recipients else ""
    _say(
        f"Wrote meeting {args.meeting_id} pack ({args.fmt}, {len(data):,} bytes){to} to {args.out}"
    )
    return 0
