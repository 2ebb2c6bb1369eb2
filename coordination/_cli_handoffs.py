"""`crossforce handoffs …`: the handoff queues and their actions (wired in by `coordination.cli`).

::

    crossforce handoffs list [--state S] [--force CODE] [--direction incoming|outgoing] [--json]
    crossforce handoffs show ID [--json]
    crossforce handoffs request|accept|reject|complete|withdraw ID [--note T] [--version N]

``reject`` needs ``--note`` (the reason; a rejection is escalated). ``--version`` refuses the
action when the handoff has changed since that version was read (scripts that read, then act).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from geo.errors import InputError, NotFoundError

_ACTION_HELP = {
    "request": "request a proposed handoff (starts the 10-day and 20-working-day clocks)",
    "accept": "accept a requested handoff (receiving force)",
    "reject": "reject a requested handoff; --note gives the reason, and it is escalated",
    "complete": "complete an accepted handoff: the receiving force becomes the lead",
    "withdraw": "withdraw an open handoff (the move did not happen)",
}


def register(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``crossforce handoffs …`` to the top-level parser's sub-parsers.

    Parameters
    ----------
    sub
        The top-level sub-parsers object.
    parser_class
        The parser class to use for nested sub-parsers (one-line errors, exit 2).
    """
    handoffs = sub.add_parser("handoffs", help="handoffs between forces: queues and actions")
    actions = handoffs.add_subparsers(
        dest="handoffs_command", required=True, parser_class=parser_class
    )

    listing = actions.add_parser("list", help="list handoffs with due dates and RAG status")
    listing.add_argument(
        "--state",
        help="proposed, requested, accepted, completed, rejected, withdrawn, open or closed",
    )
    listing.add_argument("--force", metavar="CODE", help="to or from this force (ONS code)")
    listing.add_argument(
        "--direction",
        choices=("incoming", "outgoing"),
        help="with --force: handoffs to it (incoming) or from it (outgoing)",
    )
    listing.add_argument("--today", metavar="YYYY-MM-DD", help="judge deadlines on this day")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_cmd_list)

    show = actions.add_parser("show", help="one handoff with its history")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)

    for action, help_text in _ACTION_HELP.items():
        parser = actions.add_parser(action, help=help_text)
        parser.add_argument("id", type=int, help="handoff id")
        parser.add_argument(
            "--note",
            help="the reason (required for reject)" if action == "reject" else "a note for the log",
        )
        parser.add_argument(
            "--version",
            type=int,
            dest="expected_version",
            metavar="N",
            help="refuse if the handoff is no longer at version N",
        )
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.set_defaults(handler=_cmd_action, handoff_action=action)


def _say(text: str = "") -> None:
    print(text, file=sys.stdout)


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--today {text!r}: expected a date like 2025-03-31") from exc


def _force_code(session: Any, code: str | None) -> str | None:
    from coordination.models import Force

    if code is None:
        return None
    code = code.strip().upper()
    if session.get(Force, code) is None:
        raise NotFoundError(f"No force with code {code!r} (e.g. E23000034 for the City)")
    return code


def _status(view: Any) -> str:
    if view.rag is None:
        return "—"
    if view.overdue:
        days = view.overdue_by_days
        return f"RED OVERDUE {days} day{'s' if days != 1 else ''}"
    return view.rag.upper()


def _print_table(views: list[Any]) -> None:
    if not views:
        _say("No handoffs.")
        return
    rows: list[tuple[str, ...]] = [
        ("ID", "STATE", "CASE", "OFFENDER", "PNC", "FROM → TO", "DUE", "STATUS")
    ]
    for v in views:
        h = v.handoff
        to = v.to_force_name + (f" / {h.to_bcu_code}" if h.to_bcu_code else "")
        rows.append(
            (
                str(h.id),
                h.state,
                str(v.case_id),
                v.offender_name,
                v.pnc_id,
                f"{v.from_force_name} → {to}",
                f"{v.due:%Y-%m-%d} ({v.due_kind})" if v.due else "—",
                _status(v) + ("  ESCALATED" if h.escalated else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    numeric = {0, 2}
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        _say("  ".join(cells).rstrip())
    overdue = sum(1 for v in views if v.overdue)
    _say(f"{len(views)} handoff{'s' if len(views) != 1 else ''}; {overdue} overdue")


def _cmd_list(args: argparse.Namespace) -> int:
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.handoffs import list_handoffs
    from coordination.settings import get_settings

    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    if args.direction and not args.force:
        raise InputError("--direction needs --force: incoming to or outgoing from which force?")
    with session_scope(engine) as session:
        views = list_handoffs(
            session,
            state=args.state,
            force_code=_force_code(session, args.force),
            direction=args.direction,
            today=_parse_day(args.today),
        )
    if args.json:
        _say(json.dumps([v.to_dict() for v in views], indent=2, ensure_ascii=False))
    else:
        _print_table(views)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.handoffs import allowed_actions, get_handoff_view, handoff_history
    from coordination.settings import get_settings

    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        view = get_handoff_view(session, args.id)
        history = handoff_history(session, args.id)
    if args.json:
        data = view.to_dict()
        data["history"] = [json.loads(e.model_dump_json()) for e in history]
        _say(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    h = view.handoff
    _say(f"Handoff {h.id} (version {h.version}): {h.state}{'  ESCALATED' if h.escalated else ''}")
    _say(f"  Case       {view.case_id}: {view.offender_name} ({view.pnc_id})")
    to = view.to_force_name + (f", BCU {h.to_bcu_code}" if h.to_bcu_code else "")
    _say(f"  Route      {view.from_force_name} → {to}")
    _say(f"  Reason     {h.reason}")
    if h.requested_at:
        _say(f"  Requested  {h.requested_at:%Y-%m-%d %H:%M} UTC")
        _say(f"  Address check due {h.address_check_due}; completion due {h.completion_due}")
    if h.rejection_reason:
        _say(f"  Rejected   {h.rejection_reason}")
    _say(f"  Status     {_status(view)}")
    actions = allowed_actions(h.state)
    _say(f"  Next       {', '.join(actions) if actions else 'none (closed)'}")
    for event in history:
        note = (event.details or {}).get("note")
        _say(
            f"  {event.at:%Y-%m-%d %H:%M} {event.actor}: {event.action}"
            + (f" — {note}" if note else "")
        )
    return 0


def _cmd_action(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.handoffs import get_handoff, transition
    from coordination.settings import get_settings
    from geo.forces import force_name

    action = args.handoff_action
    if action == "reject" and not (args.note or "").strip():
        raise InputError(f"Rejecting handoff {args.id} needs a reason: --note 'why'")
    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    who = actor(args)
    with session_scope(engine) as session:
        before = get_handoff(session, args.id)
        after = transition(
            session,
            actor=who,
            handoff_id=args.id,
            action=action,
            note=args.note,
            expected_version=args.expected_version,
        )
    if args.json:
        _say(after.model_dump_json(indent=2))
        return 0
    _say(f"Handoff {after.id}: {before.state} → {after.state} by {who}.")
    if action == "request":
        _say(f"Address check due {after.address_check_due}; completion due {after.completion_due}.")
    if action == "reject":
        _say("Escalated: receiving areas do not negotiate; a supervisor resolves it.")
    if action == "complete":
        _say(f"Case {after.case_id} is now led by {force_name(after.to_force_code).name}.")
    elif after.state != "completed":
        _say(f"Case {after.case_id} stays with {force_name(after.from_force_code).name}.")
    return 0
