"""`crossforce demo`: seed a synthetic demo caseload (wired in by `coordination.cli.main`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from coordination.core.console import count, iso_date, open_session, print_json

#: The demo is seeded by this account (development only: production refuses a demo).
DEMO_ACCOUNT = "system:demo"


def register(sub: Any) -> None:
    """Add the ``demo`` command to the top-level parser's sub-parsers."""
    demo = sub.add_parser(
        "demo",
        help="seed a synthetic demo caseload (the same for the same seed)",
        description="Seed synthetic officers, offenders at real London postcodes, and a year "
        "of moves and handoffs. Everything but the postcodes is made up.",
    )
    demo.add_argument("--offenders", type=int, default=2000, help="how many (default 2000)")
    demo.add_argument("--seed", type=count(0, 2**32 - 1), default=1, help="random seed (default 1)")
    demo.add_argument(
        "--today",
        type=iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the day the year of history runs up to (default: today)",
    )
    demo.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing when offenders are already registered (for `make run`)",
    )
    demo.add_argument("--json", action="store_true", help="print JSON")
    demo.set_defaults(handler=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from coordination.core.settings import get_settings
    from coordination.demo.seed import seed_demo
    from coordination.reference.lookup import get_service, postcode_directory

    settings = get_settings()
    service = get_service(settings)

    def progress(line: str) -> None:
        if not args.json:
            print(line, file=sys.stderr, flush=True)

    with open_session() as session:
        report = seed_demo(
            session,
            actor=DEMO_ACCOUNT,
            lookup=service.lookup,
            directory=postcode_directory(settings),
            offenders=args.offenders,
            seed=args.seed,
            today=args.today,
            if_empty=args.if_empty,
            near_boundary_m=settings.near_boundary_m,
            progress=progress,
        )
    if args.json:
        print_json(report)
    elif report.skipped:
        print("Offenders are already registered: no demo data added (--if-empty).")
    else:
        states = ", ".join(f"{n} {state}" for state, n in report.handoffs.items())
        print(
            f"Demo seeded (seed {report.seed}, up to {report.today.isoformat()}): "
            f"{report.offenders:,} synthetic offenders, {report.users} officers, "
            f"{report.moves:,} moves, handoffs: {states or 'none'}; "
            f"{report.seconds:.1f} s."
        )
    return 0
