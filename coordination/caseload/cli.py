"""`crossforce` sub-commands for the caseload service (wired in by `coordination.cli.main`).

``crossforce cases assign CASE USERNAME`` and ``crossforce cases suggest CASE``: human text by
default, ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
from typing import Any

from coordination.core.console import (
    EXIT_OK,
    Parser,
    actor,
    count,
    open_session,
    print_json,
    record_id,
    say,
)
from coordination.core.serial import jsonable


def register(sub: Any) -> Any:
    """Add this group's sub-commands to the top-level parser's sub-parsers.

    Returns the ``cases`` sub-parsers, so ``coordination.cases.cli`` adds its commands to the
    same group.

    Each sub-command sets handler=fn (fn(args) -> int) with set_defaults; errors are
    raised as CrossforceError subclasses and turned into exit code 2 by the CLI.
    """
    cases = sub.add_parser(
        "cases", help="cases: assign, suggest, update, close, reopen, show"
    ).add_subparsers(dest="cases_command", required=True, parser_class=Parser)
    assign = cases.add_parser("assign", help="make an officer of the lead force a case's manager")
    assign.add_argument("case", type=record_id, metavar="CASE", help="case id")
    assign.add_argument("username", help="the officer")
    assign.add_argument("--reason", default="", help="why (kept in the assignment history)")
    assign.add_argument(
        "--version",
        type=record_id,
        dest="expected_version",
        help="refuse if the case is no longer at this version (someone changed it)",
    )
    assign.add_argument("--json", action="store_true", help="print JSON")
    assign.set_defaults(handler=_cmd_assign)

    suggest = cases.add_parser("suggest", help="officers of the lead force, lowest load first")
    suggest.add_argument("case", type=record_id, metavar="CASE", help="case id")
    suggest.add_argument("--limit", type=count(1, 100), default=5, help="at most this many (5)")
    suggest.add_argument("--json", action="store_true", help="print JSON")
    suggest.set_defaults(handler=_cmd_suggest)
    return cases


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def _cmd_assign(args: argparse.Namespace) -> int:
    from coordination.caseload.assignment import assign_case

    with open_session() as session:
        case = assign_case(
            session,
            actor=actor(args),
            case_id=args.case,
            username=args.username,
            reason=args.reason,
            expected_version=args.expected_version,
        )
    if args.json:
        print_json({**jsonable(case), "manager": args.username.strip().lower()})
    else:
        say(
            f"Case {case.id} is now managed by {args.username.strip().lower()} "
            f"(lead force {case.lead_force_code}; version {case.version})."
        )
    return EXIT_OK


def _cmd_suggest(args: argparse.Namespace) -> int:
    from coordination.caseload.officers import suggest_assignees

    with open_session() as session:
        suggestions = suggest_assignees(
            session, case_id=args.case, limit=args.limit, actor=actor(args)
        )
    if args.json:
        print_json(suggestions)
        return EXIT_OK
    if not suggestions:
        say(f"No officer of case {args.case}'s lead force has a workload profile.")
        return EXIT_OK
    for s in suggestions:
        where = " ".join(x for x in (s.bcu_code, s.team) if x) or s.force_code
        same = " same BCU" if s.same_bcu else ""
        say(
            f"{s.username:<20} {s.display_name:<28} {where:<16} {_pct(s.capacity_pct_before):>5}"
            f" → {_pct(s.capacity_pct_after):>5} ({s.n_cases} cases){same}"
        )
    return EXIT_OK
