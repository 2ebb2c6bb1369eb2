"""`crossforce retention --dry-run | --apply`: erase personal data past its retention period.

``--dry-run`` lists who would be erased (ids, closure dates, pseudonyms; never names) and writes
nothing; ``--apply`` erases and prints counts. Exactly one of the two is required. Wired in by
``coordination.cli``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from geo.errors import InputError


def register(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``retention`` to the top-level parser's sub-parsers."""
    retention = sub.add_parser(
        "retention",
        help="erase personal data of people whose cases closed longer ago than the period",
        description="Erase the personal data of people all of whose cases closed more than "
        "CROSSFORCE_RETENTION_YEARS_AFTER_CLOSURE years ago (default 6). Rows and a "
        "pseudonymised audit trail are kept.",
    )
    mode = retention.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="list who would be erased")
    mode.add_argument("--apply", action="store_true", help="erase now (cannot be undone)")
    retention.add_argument(
        "--today", metavar="YYYY-MM-DD", help="measure the period to this date (default today)"
    )
    retention.add_argument("--json", action="store_true", help="print JSON")
    retention.set_defaults(handler=_cmd_retention)


def _say(text: str = "") -> None:
    print(text, file=sys.stdout)


def _cmd_retention(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.retention import apply_retention, retention_candidates
    from coordination.settings import get_settings

    today: date | None = None
    if args.today:
        try:
            today = date.fromisoformat(args.today.strip())
        except ValueError:
            raise InputError(f"--today {args.today!r} is not a date like 2031-03-31") from None
    settings = get_settings()
    years = settings.retention_years_after_closure
    engine = get_engine(settings.database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        if args.dry_run:
            due = retention_candidates(session, actor=actor(args), today=today)
        else:
            report = apply_retention(session, actor=actor(args), today=today)
    if args.dry_run:
        if args.json:
            payload = {"retention_years": years, "would_erase": [c.to_dict() for c in due]}
            _say(json.dumps(payload, indent=2))
            return 0
        if not due:
            _say(f"Nobody is due for erasure (retention {years} years after the last closure).")
            return 0
        _say(f"{len(due)} people would be erased (retention {years} years after the last closure):")
        for c in due:
            _say(
                f"  offender {c.offender_id:>6}  {c.pseudonym}  {c.cases} case(s), last closed "
                f"{c.latest_closure.isoformat()}, retained until {c.retained_until.isoformat()}"
            )
        _say("Nothing was changed. Erase with: crossforce retention --apply")
        return 0
    if args.json:
        _say(json.dumps(report.to_dict(), indent=2))
        return 0
    _say(
        f"Erased {report.offenders} people ({report.addresses} addresses, {report.texts} text "
        f"fields); retention {report.retention_years} years after the last closure."
    )
    if report.offenders:
        _say("Each erasure is in the audit log (category erasure).")
    return 0
