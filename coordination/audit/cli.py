"""`crossforce audit`: search, verify and export the audit log (wired in by the entry point).

``crossforce audit [--user U] [--offender ID] [--since DATE] [--until DATE] [--action A]
[--category C] [--limit N] [--json]`` lists events, newest first;
``crossforce audit verify`` checks the hash chain (exit 0 intact, 1 broken, naming the first bad
event); ``crossforce audit export FILE [filters]`` writes them as CSV and records the export as a
disclosure. All are admin actions, checked by the service.
"""

from __future__ import annotations

import argparse
import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

from coordination.core.console import (
    EXIT_OK,
    Parser,
    actor,
    count,
    iso_date,
    open_session,
    print_json,
    record_id,
    say,
)
from coordination.errors import InputError

EXIT_BROKEN = 1
LIST_LIMIT = 100
_LIMIT = count(1, 10_000_000)


def register(sub: Any) -> None:
    """Add ``audit`` and its sub-commands to the top-level parser's sub-parsers."""
    audit = sub.add_parser(
        "audit",
        help="the audit log: search it (admins), verify its hash chain, export it",
        description="List audit events, newest first; or verify / export the log.",
    )
    _add_filters(audit)
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.set_defaults(handler=_cmd_search)
    commands = audit.add_subparsers(dest="audit_command", required=False, parser_class=Parser)

    verify = commands.add_parser("verify", help="check every event against the hash chain")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(handler=_cmd_verify)

    export = commands.add_parser("export", help="write matching events to a CSV file")
    export.add_argument("file", type=Path, metavar="FILE", help="the CSV file to write")
    # SUPPRESS: filters given before "export" (on `audit`) are not reset by this parser.
    _add_filters(export, suppress=True)
    export.add_argument(
        "--recipient",
        action="append",
        default=argparse.SUPPRESS,
        metavar="WHO",
        help="who receives the file (repeatable; default: you)",
    )
    export.add_argument(
        "--reason",
        dest="justification",
        default="",
        metavar="TEXT",
        help="why it is exported (required: kept on the disclosure in the log)",
    )
    export.set_defaults(handler=_cmd_export)


def _add_filters(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    # The limit defaults to None: a listing then shows LIST_LIMIT events, an export all of them.
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--user", default=default(None), help="events by this user")
    parser.add_argument(
        "--offender",
        type=record_id,
        default=default(None),
        metavar="ID",
        help="events that touched this offender",
    )
    parser.add_argument(
        "--since", type=_moment, default=default(None), metavar="DATE", help="from this day"
    )
    parser.add_argument(
        "--until", type=_moment, default=default(None), metavar="DATE", help="up to this day"
    )
    parser.add_argument(
        "--action", default=default(None), help="this action, or a prefix ending in * (handoff.*)"
    )
    parser.add_argument(
        "--category",
        default=default(None),
        help="collection, alteration, consultation, disclosure, combination, erasure, system, "
        "access",
    )
    parser.add_argument(
        "--limit",
        type=_LIMIT,
        default=default(None),
        metavar="N",
        help="at most N events (listing: 100; export: all)",
    )


def _moment(text: str) -> date | datetime:
    if "T" not in text and " " not in text.strip():
        return iso_date(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date like 2025-01-31 (or 2025-01-31T09:30)"
        ) from None
    iso_date(moment.date().isoformat())  # the same 1900–2100 range as a date
    return moment


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "user": getattr(args, "user", None),
        "offender_id": getattr(args, "offender", None),
        "since": getattr(args, "since", None),
        "until": getattr(args, "until", None),
        "action": getattr(args, "action", None),
        "category": getattr(args, "category", None),
        "limit": getattr(args, "limit", None),
    }


def _line(record: Any) -> str:
    entity = record.entity_type + (f":{record.entity_id}" if record.entity_id else "")
    parts = [
        f"#{record.id:<6} {record.at:%Y-%m-%d %H:%M:%S}Z  {record.actor:<20} "
        f"{record.category:<12} {record.action}  {entity}"
    ]
    if record.offender_ids:
        parts.append("offenders " + ",".join(str(i) for i in record.offender_ids))
    if record.recipients:
        parts.append("to " + ", ".join(record.recipients))
    if record.justification:
        parts.append(f"reason: {record.justification}")
    return "  ".join(parts)


def _cmd_search(args: argparse.Namespace) -> int:
    from coordination.audit.reader import search_events

    with open_session() as session:
        filters = _filters(args)
        if filters["limit"] is None:
            filters["limit"] = LIST_LIMIT
        records = search_events(session, actor=actor(args), **filters)
    if args.json:
        print_json(records)
        return EXIT_OK
    if not records:
        say("No audit events match.")
    for record in records:
        say(_line(record))
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from coordination.audit.reader import verify_chain

    with open_session() as session:
        report = verify_chain(session, actor=actor(args))
    if args.json:
        print_json(report)
    elif report.ok:
        say(report.message)
    else:
        say(f"crossforce: {report.message}", err=True)
    return EXIT_OK if report.ok else EXIT_BROKEN


def _cmd_export(args: argparse.Namespace) -> int:
    from coordination.audit.reader import export_events

    target: Path = args.file
    if target.exists() and target.is_dir():
        raise InputError(f"{target} is a directory: give a file name")
    with open_session() as session:
        data = export_events(
            session,
            actor=actor(args),
            recipients=getattr(args, "recipient", None),
            justification=args.justification,
            **_filters(args),
        )
        # Written inside the session: when the file cannot be written, the disclosure is not
        # recorded either.
        try:
            target.write_bytes(data)
        except OSError as exc:
            raise InputError(f"Cannot write {target}: {exc.strerror}") from exc
    rows = max(len(list(csv.reader(io.StringIO(data.decode("utf-8"))))) - 1, 0)
    say(f"Exported {rows:,} audit events to {target} (recorded as a disclosure).")
    return EXIT_OK
