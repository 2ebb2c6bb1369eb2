"""`crossforce` sub-commands for the caseload service (wired in by `coordination.cli`).

``crossforce cases assign CASE USERNAME``, ``crossforce cases suggest CASE`` and
``crossforce network``: human text by default, ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from geo.errors import InputError

EXIT_OK = 0
_PING_PONG_DAYS = 90  # the ping-pong window (issue 3: A→B→A within 90 days)


def register(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add this group's sub-commands to the top-level parser's sub-parsers.

    Each sub-command sets handler=fn (fn(args) -> int) with set_defaults; errors are
    raised as CrossforceError subclasses and turned into exit code 2 by the CLI.
    """
    cases = sub.add_parser("cases", help="cases: assign a manager, suggest one").add_subparsers(
        dest="cases_command", required=True, parser_class=parser_class
    )
    assign = cases.add_parser("assign", help="make an officer of the lead force a case's manager")
    assign.add_argument("case", type=_case_id, metavar="CASE", help="case id")
    assign.add_argument("username", help="the officer")
    assign.add_argument("--reason", default="", help="why (kept in the assignment history)")
    assign.add_argument(
        "--version",
        type=int,
        dest="expected_version",
        help="refuse if the case is no longer at this version (someone changed it)",
    )
    assign.add_argument("--json", action="store_true", help="print JSON")
    assign.set_defaults(handler=_cmd_assign)

    suggest = cases.add_parser("suggest", help="officers of the lead force, lowest load first")
    suggest.add_argument("case", type=_case_id, metavar="CASE", help="case id")
    suggest.add_argument("--limit", type=int, default=5, help="at most this many (5)")
    suggest.add_argument("--json", action="store_true", help="print JSON")
    suggest.set_defaults(handler=_cmd_suggest)

    net = sub.add_parser(
        "network", help="the handoff network between forces and Met BCUs, with analytics"
    )
    net.add_argument("--from", dest="start", type=_date, help="first day (default: a year ago)")
    net.add_argument("--to", dest="end", type=_date, help="last day (default: today)")
    net.add_argument("--top", type=int, default=10, help="rows per table (10)")
    net.add_argument(
        "--movers",
        type=int,
        default=3,
        metavar="N",
        help="list cases transferred more than N times within a year (3)",
    )
    net.add_argument("--graphml", type=Path, metavar="FILE", help="also write GraphML here")
    net.add_argument("--json", action="store_true", help="print JSON (node-link and analytics)")
    net.set_defaults(handler=_cmd_network)


def _case_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a case id (a whole number)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a case id (a whole number)")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-01-31") from None


def _say(text: str = "") -> None:
    print(text, file=sys.stdout)


def _dump(value: Any) -> None:
    _say(json.dumps(value, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _session() -> Any:
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.settings import get_settings

    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    return session_scope(engine)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def _cmd_assign(args: argparse.Namespace) -> int:
    from coordination.caseload import assign_case
    from coordination.cli import actor

    with _session() as session:
        case = assign_case(
            session,
            actor=actor(args),
            case_id=args.case,
            username=args.username,
            reason=args.reason,
            expected_version=args.expected_version,
        )
    if args.json:
        _dump({**json.loads(case.model_dump_json()), "manager": args.username.strip().lower()})
    else:
        _say(
            f"Case {case.id} is now managed by {args.username.strip().lower()} "
            f"(lead force {case.lead_force_code}; version {case.version})."
        )
    return EXIT_OK


def _cmd_suggest(args: argparse.Namespace) -> int:
    from coordination.caseload import suggest_assignees

    with _session() as session:
        suggestions = suggest_assignees(session, case_id=args.case, limit=args.limit)
    if args.json:
        _dump([asdict(s) for s in suggestions])
        return EXIT_OK
    if not suggestions:
        _say(f"No officer of case {args.case}'s lead force has a workload profile.")
        return EXIT_OK
    for s in suggestions:
        where = " ".join(x for x in (s.bcu_code, s.team) if x) or s.force_code
        same = " same BCU" if s.same_bcu else ""
        _say(
            f"{s.username:<20} {s.display_name:<28} {where:<16} {_pct(s.capacity_pct_before):>5}"
            f" → {_pct(s.capacity_pct_after):>5} ({s.n_cases} cases){same}"
        )
    return EXIT_OK


def _default_start(today: date) -> date:
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def _cmd_network(args: argparse.Namespace) -> int:
    from coordination import network
    from geo.forces import force_name

    today = datetime.now(UTC).date()
    end = args.end or today
    start = args.start or _default_start(end)
    if end < start:
        raise InputError(f"--to {end} is before --from {start}")
    with _session() as session:
        records = network.fetch_handoff_records(session, start=start, end=end)
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
        _dump(
            {
                "start": start,
                "end": end,
                "handoffs": len(records),
                "network": network.to_json(g),
                "largest_flows": [asdict(f) for f in flows],
                "bottlenecks": [asdict(f) for f in jams],
                "ping_pong": [asdict(p) for p in pairs],
                "frequent_movers": [asdict(m) for m in movers],
            }
        )
        return EXIT_OK
    _say(
        f"Handoffs requested {start} to {end}: {len(records)} between "
        f"{g.number_of_nodes()} forces and BCUs ({g.number_of_edges()} flows)."
    )
    _say()
    _say("Largest flows")
    if not flows:
        _say("  none")
    for f in flows:
        median = (
            "—" if f.median_days_to_acceptance is None else f"{f.median_days_to_acceptance:.1f} d"
        )
        rate = "—" if f.acceptance_rate is None else f"{f.acceptance_rate:.0%}"
        _say(
            f"  {f.source_name} → {f.target_name}: {f.count} ({f.pending} pending, "
            f"{f.overdue} overdue; median {median} to accept; {rate} accepted)"
        )
    _say()
    _say("Bottlenecks (most overdue)")
    if not jams:
        _say("  none overdue")
    for f in jams:
        _say(f"  {f.source_name} → {f.target_name}: {f.overdue} overdue of {f.pending} pending")
    _say()
    _say(f"Ping-pong (A → B → A within {_PING_PONG_DAYS} days)")
    if not pairs:
        _say("  none")
    for p in pairs[: args.top]:
        a, b = force_name(p.force_a).name, force_name(p.force_b).name
        _say(
            f"  case {p.case_id}: {a} → {b} → {a} in {p.days:.0f} days "
            f"(handoffs {p.first_handoff_id}, {p.second_handoff_id})"
        )
    if len(pairs) > args.top:
        _say(f"  … and {len(pairs) - args.top} more (--json lists all)")
    _say()
    _say(f"Cases transferred more than {args.movers} times within a year")
    if not movers:
        _say("  none")
    for m in movers[: args.top]:
        _say(
            f"  case {m.case_id}: {m.transfers} transfers, {m.first:%Y-%m-%d} to {m.last:%Y-%m-%d}"
        )
    if args.graphml is not None:
        _say()
        _say(f"GraphML written to {args.graphml}")
    return EXIT_OK
