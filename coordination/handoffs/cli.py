"""`crossforce handoffs …` and `crossforce network`: handoff queues, their actions, the network.

::

    crossforce handoffs list [--state S] [--force CODE] [--direction incoming|outgoing] [--json]
    crossforce handoffs show ID [--json]
    crossforce handoffs request|accept|reject|complete|withdraw ID [--note T] [--version N]
    crossforce escalations list [--state open|resolved|all] [--json]
    crossforce escalations exception ID --reason T --review YYYY-MM-DD
    crossforce escalations resolve ID --facts T [--to CODE] [--bcu BCU]

``reject`` needs ``--note`` (the reason; a rejection is escalated). ``--version`` refuses the
action when the handoff has changed since that version was read (scripts that read, then act).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from coordination.core.clock import london_today
from coordination.core.console import (
    EXIT_OK,
    Parser,
    actor,
    count,
    iso_date,
    open_session,
    optional_date,
    print_json,
    record_id,
    say,
)
from coordination.core.serial import jsonable
from coordination.errors import InputError, NotFoundError

_ACTION_HELP = {
    "request": "request a proposed handoff (starts the 10-day and 20-working-day clocks)",
    "accept": "accept a requested handoff (receiving force)",
    "reject": "reject a requested handoff; --note gives the reason, and it is escalated",
    "complete": "complete an accepted handoff: the receiving force becomes the lead",
    "withdraw": "withdraw an open handoff (the move did not happen)",
}


def register(sub: Any) -> None:
    """Add ``crossforce handoffs …`` to the top-level parser's sub-parsers.

    Parameters
    ----------
    sub
        The top-level sub-parsers object.
    parser_class
        The parser class to use for nested sub-parsers (one-line errors, exit 2).
    """
    handoffs = sub.add_parser("handoffs", help="handoffs between forces: queues and actions")
    actions = handoffs.add_subparsers(dest="handoffs_command", required=True, parser_class=Parser)

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
    listing.add_argument(
        "--from-bcu", metavar="BCU", help="sent by this Met BCU (the managing officer's, e.g. CE)"
    )
    listing.add_argument("--to-bcu", metavar="BCU", help="going to this Met BCU (e.g. CE)")
    listing.add_argument("--today", metavar="YYYY-MM-DD", help="judge deadlines on this day")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_cmd_list)

    show = actions.add_parser("show", help="one handoff with its history")
    show.add_argument("id", type=record_id)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)

    for action, help_text in _ACTION_HELP.items():
        parser = actions.add_parser(action, help=help_text)
        parser.add_argument("id", type=record_id, help="handoff id")
        parser.add_argument(
            "--note",
            help="the reason (required for reject)" if action == "reject" else "a note for the log",
        )
        parser.add_argument(
            "--version",
            type=record_id,
            dest="expected_version",
            metavar="N",
            help="refuse if the handoff is no longer at version N",
        )
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.set_defaults(handler=_cmd_action, handoff_action=action)

    _register_check(actions)
    _register_network(sub)
    _register_escalations(sub)


def _register_check(actions: Any) -> None:
    from coordination.models.handoffs import ADDRESS_CHECK_METHODS, ADDRESS_CHECK_OUTCOMES

    check = actions.add_parser(
        "check",
        help="record the receiving force's address check (confirmed accepts and lets it "
        "complete; not confirmed or not there sends it back to the sender as a rejection)",
    )
    check.add_argument("id", type=record_id, help="handoff id")
    check.add_argument(
        "--on", dest="checked_on", required=True, metavar="DATE", help="day of the check"
    )
    check.add_argument("--method", required=True, choices=ADDRESS_CHECK_METHODS)
    check.add_argument("--outcome", required=True, choices=ADDRESS_CHECK_OUTCOMES)
    check.add_argument("--note", default="", help="a note for the log (and the rejection)")
    check.add_argument(
        "--version",
        type=record_id,
        dest="expected_version",
        metavar="N",
        help="refuse if the handoff is no longer at version N",
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(handler=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    from coordination.handoffs.address_check import (
        METHOD_LABELS,
        OUTCOME_LABELS,
        record_address_check,
    )
    from coordination.handoffs.workflow import get_handoff

    checked_on = optional_date(args.checked_on, "--on")
    if checked_on is None:
        raise InputError("--on needs a date, e.g. 2025-03-10")
    who = actor(args)
    with open_session() as session:
        before = get_handoff(session, args.id, actor=who)
        after = record_address_check(
            session,
            actor=who,
            handoff_id=args.id,
            checked_on=checked_on,
            method=args.method,
            outcome=args.outcome,
            note=args.note,
            expected_version=args.expected_version,
        )
    if args.json:
        say(after.model_dump_json(indent=2))
        return 0
    say(
        f"Handoff {after.id}: address check: {OUTCOME_LABELS[args.outcome]} "
        f"({METHOD_LABELS[args.method]} on {checked_on}) by {who}."
    )
    if after.state != before.state:
        say(f"Handoff {after.id}: {before.state} → {after.state}.")
    if after.state == "rejected":
        say("Back to the sender with the reason, and escalated: a supervisor resolves it.")
    elif after.state == "accepted":
        say("It may now complete (crossforce handoffs complete ID).")
    return 0


def _register_escalations(sub: Any) -> None:
    esc = sub.add_parser("escalations", help="rejected handoffs, for the sending supervisors")
    actions = esc.add_subparsers(dest="escalations_command", required=True, parser_class=Parser)
    listing = actions.add_parser("list", help="the escalations queue, soonest due first")
    listing.add_argument("--state", choices=("open", "resolved", "all"), default="open")
    listing.add_argument("--force", metavar="CODE", help="one sending force (system actors)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_cmd_escalations)
    exception = actions.add_parser(
        "exception", help="resolve by an agreed exception: the case stays with its lead force"
    )
    exception.add_argument("id", type=record_id, help="escalation id")
    exception.add_argument("--reason", required=True, help="why the case stays")
    exception.add_argument("--review", required=True, type=iso_date, help="review date")
    exception.add_argument("--json", action="store_true", help="print JSON")
    exception.set_defaults(handler=_cmd_exception)
    resolve = actions.add_parser("resolve", help="resolve by a new request, with the new facts")
    resolve.add_argument("id", type=record_id, help="escalation id")
    resolve.add_argument("--facts", required=True, help="what is new since the rejection")
    resolve.add_argument("--to", metavar="CODE", help="receiving force (default: as before)")
    resolve.add_argument("--bcu", metavar="BCU", help="receiving Met BCU")
    resolve.add_argument("--json", action="store_true", help="print JSON")
    resolve.set_defaults(handler=_cmd_new_request)


def _cmd_escalations(args: argparse.Namespace) -> int:
    from coordination.handoffs.escalations import list_escalations

    with open_session() as session:
        views = list_escalations(
            session,
            actor=actor(args),
            state=args.state,
            force_code=_force_code(session, args.force),
        )
    if args.json:
        print_json(views)
        return EXIT_OK
    if not views:
        say("No escalations.")
        return EXIT_OK
    for v in views:
        e = v.escalation
        late = "  OVERDUE" if v.overdue else ""
        how = f"  {e.state} ({e.resolution})" if e.resolution else f"  {e.state}"
        say(
            f"{e.id:>5}  case {e.case_id}  {v.offender_name} ({v.pnc_id})  handoff {e.handoff_id} "
            f"rejected by {v.to_force_name}  due {e.due_on.isoformat()}{late}{how}"
        )
    say(f"{len(views)} escalation{'s' if len(views) != 1 else ''}")
    return EXIT_OK


def _cmd_exception(args: argparse.Namespace) -> int:
    from coordination.handoffs.escalations import record_exception

    with open_session() as session:
        exc = record_exception(
            session,
            actor=actor(args),
            escalation_id=args.id,
            reason=args.reason,
            review_on=args.review,
        )
    if args.json:
        print_json(exc)
    else:
        say(
            f"Escalation {args.id} resolved by exception {exc.id}: case {exc.case_id} stays "
            f"with its lead force until review on {exc.review_on.isoformat()}."
        )
    return EXIT_OK


def _cmd_new_request(args: argparse.Namespace) -> int:
    from coordination.handoffs.resolutions import resolve_by_new_request

    with open_session() as session:
        handoff = resolve_by_new_request(
            session,
            actor=actor(args),
            escalation_id=args.id,
            new_facts=args.facts,
            to_force_code=_force_code(session, args.to),
            to_bcu_code=args.bcu,
        )
    if args.json:
        print_json(handoff)
    else:
        say(f"Escalation {args.id} resolved by a new request: handoff {handoff.id} requested.")
    return EXIT_OK


def _register_network(sub: Any) -> None:
    net = sub.add_parser(
        "network", help="the handoff network between forces and Met BCUs, with analytics"
    )
    net.add_argument("--from", dest="start", type=iso_date, help="first day (default: a year ago)")
    net.add_argument("--to", dest="end", type=iso_date, help="last day (default: today)")
    net.add_argument("--top", type=count(1, 1000), default=10, help="rows per table (10)")
    net.add_argument(
        "--movers",
        type=count(0, 1000),
        default=3,
        metavar="N",
        help="list cases transferred more than N times within a year (3)",
    )
    net.add_argument("--graphml", type=Path, metavar="FILE", help="also write GraphML here")
    net.add_argument("--json", action="store_true", help="print JSON (node-link and analytics)")
    net.set_defaults(handler=_cmd_network)


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    return optional_date(text, "--today")


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
    return str(view.rag).upper()


def _print_table(views: list[Any]) -> None:
    if not views:
        say("No handoffs.")
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
        say("  ".join(cells).rstrip())
    overdue = sum(1 for v in views if v.overdue)
    say(f"{len(views)} handoff{'s' if len(views) != 1 else ''}; {overdue} overdue")


def _cmd_list(args: argparse.Namespace) -> int:
    from coordination.handoffs.workflow import list_handoffs

    if args.direction and not args.force:
        raise InputError("--direction needs --force: incoming to or outgoing from which force?")
    with open_session() as session:
        views = list_handoffs(
            session,
            actor=actor(args),
            state=args.state,
            force_code=_force_code(session, args.force),
            direction=args.direction,
            from_bcu=args.from_bcu,
            to_bcu=args.to_bcu,
            today=_parse_day(args.today),
        )
    if args.json:
        print_json(views)
    else:
        _print_table(views)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from coordination.handoffs.workflow import allowed_actions, get_handoff_view, handoff_history

    with open_session() as session:
        view = get_handoff_view(session, args.id, actor=actor(args))
        history = handoff_history(session, args.id, actor=actor(args))
    if args.json:
        data = jsonable(view)
        data["history"] = history
        print_json(data)
        return 0
    h = view.handoff
    say(f"Handoff {h.id} (version {h.version}): {h.state}{'  ESCALATED' if h.escalated else ''}")
    say(f"  Case       {view.case_id}: {view.offender_name} ({view.pnc_id})")
    to = view.to_force_name + (f", BCU {h.to_bcu_code}" if h.to_bcu_code else "")
    say(f"  Route      {view.from_force_name} → {to}")
    say(f"  Reason     {h.reason}")
    if h.requested_at:
        say(f"  Requested  {h.requested_at:%Y-%m-%d %H:%M} UTC")
        say(f"  Address check due {h.address_check_due}; completion due {h.completion_due}")
    if h.address_check_outcome:
        say(
            f"  Checked    {h.address_checked_on}: {h.address_check_outcome.replace('_', ' ')} "
            f"({h.address_check_method}, {h.address_checked_by})"
        )
    if h.rejection_reason:
        say(f"  Rejected   {h.rejection_reason}")
    say(f"  Status     {_status(view)}")
    actions = allowed_actions(h.state)
    say(f"  Next       {', '.join(actions) if actions else 'none (closed)'}")
    for event in history:
        note = (event.details or {}).get("note")
        say(
            f"  {event.at:%Y-%m-%d %H:%M} {event.actor}: {event.action}"
            + (f" — {note}" if note else "")
        )
    return 0


def _cmd_action(args: argparse.Namespace) -> int:
    from coordination.handoffs.workflow import get_handoff, transition
    from geo.forces import force_name

    action = args.handoff_action
    if action == "reject" and not (args.note or "").strip():
        raise InputError(f"Rejecting handoff {args.id} needs a reason: --note 'why'")
    who = actor(args)
    with open_session() as session:
        before = get_handoff(session, args.id, actor=who)
        after = transition(
            session,
            actor=who,
            handoff_id=args.id,
            action=action,
            note=args.note,
            expected_version=args.expected_version,
        )
    if args.json:
        say(after.model_dump_json(indent=2))
        return 0
    say(f"Handoff {after.id}: {before.state} → {after.state} by {who}.")
    if action == "request":
        say(f"Address check due {after.address_check_due}; completion due {after.completion_due}.")
    if action == "reject":
        say("Escalated: receiving areas do not negotiate; a supervisor resolves it.")
    if action == "complete":
        say(f"Case {after.case_id} is now led by {force_name(after.to_force_code).name}.")
    elif after.state != "completed":
        say(f"Case {after.case_id} stays with {force_name(after.from_force_code).name}.")
    return 0


_PING_PONG_DAYS = 90  # the ping-pong window: A→B→A within 90 days


def _default_start(today: date) -> date:
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def _cmd_network(args: argparse.Namespace) -> int:
    from coordination.handoffs import network

    today = london_today()
    end = args.end or today
    start = args.start or _default_start(end)
    if end < start:
        raise InputError(f"--to {end} is before --from {start}")
    with open_session() as session:
        records = network.fetch_handoff_records(session, start=start, end=end, actor=actor(args))
    g = network.build_network_from_records(records, today=today)
    g.graph.update(start=start.isoformat(), end=end.isoformat())
    flows = network.largest_flows(g, args.top)
    jams = network.bottlenecks(g, args.top)
    pairs = network.ping_pong(records, days=_PING_PONG_DAYS)
    movers = network.frequent_movers(records, args.movers)
    if args.graphml is not None:
        try:
            network.to_graphml(g, args.graphml)
        except OSError as exc:
            raise InputError(f"Cannot write {args.graphml}: {exc.strerror}") from exc
    if args.json:
        print_json(
            {
                "start": start,
                "end": end,
                "handoffs": len(records),
                "network": network.to_json(g),
                "largest_flows": flows,
                "bottlenecks": jams,
                "ping_pong": pairs,
                "frequent_movers": movers,
            }
        )
        return EXIT_OK
    say(
        f"Handoffs requested {start} to {end}: {len(records)} between "
        f"{g.number_of_nodes()} forces and BCUs ({g.number_of_edges()} flows)."
    )
    _print_flows(flows, jams)
    _print_churn(pairs, movers, top=args.top, movers_over=args.movers)
    if args.graphml is not None:
        say()
        say(f"GraphML written to {args.graphml}")
    return EXIT_OK


def _print_flows(flows: list[Any], jams: list[Any]) -> None:
    say()
    say("Largest flows")
    if not flows:
        say("  none")
    for f in flows:
        median = (
            "—" if f.median_days_to_acceptance is None else f"{f.median_days_to_acceptance:.1f} d"
        )
        rate = "—" if f.acceptance_rate is None else f"{f.acceptance_rate:.0%}"
        say(
            f"  {f.source_name} → {f.target_name}: {f.count} ({f.pending} pending, "
            f"{f.overdue} overdue; median {median} to accept; {rate} accepted)"
        )
    say()
    say("Bottlenecks (most overdue)")
    if not jams:
        say("  none overdue")
    for f in jams:
        say(f"  {f.source_name} → {f.target_name}: {f.overdue} overdue of {f.pending} pending")


def _print_churn(pairs: list[Any], movers: list[Any], *, top: int, movers_over: int) -> None:
    from geo.forces import force_name

    say()
    say(f"Ping-pong (A → B → A within {_PING_PONG_DAYS} days)")
    if not pairs:
        say("  none")
    for p in pairs[:top]:
        a, b = force_name(p.force_a).name, force_name(p.force_b).name
        say(
            f"  case {p.case_id}: {a} → {b} → {a} in {p.days:.0f} days "
            f"(handoffs {p.first_handoff_id}, {p.second_handoff_id})"
        )
    if len(pairs) > top:
        say(f"  … and {len(pairs) - top} more (--json lists all)")
    say()
    say(f"Cases transferred more than {movers_over} times within a year")
    if not movers:
        say("  none")
    for m in movers[:top]:
        say(f"  case {m.case_id}: {m.transfers} transfers, {m.first:%Y-%m-%d} to {m.last:%Y-%m-%d}")
