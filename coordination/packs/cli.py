"""`crossforce review pack`: export a meeting pack as PDF, XLSX or Markdown (a disclosure)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from coordination.core.console import EXIT_OK, actor, open_session, record_id, say
from coordination.errors import InputError


def register(review_commands: Any) -> None:
    """Add ``pack`` to the ``review`` group's sub-parsers."""
    pack = review_commands.add_parser(
        "pack", help="export the meeting pack (a recorded disclosure)"
    )
    pack.add_argument("meeting_id", type=record_id, metavar="MEETING_ID")
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
    pack.add_argument(
        "--reason",
        dest="justification",
        default="",
        metavar="TEXT",
        help="why it goes to them (required: kept on the disclosure and printed on the cover)",
    )
    pack.set_defaults(handler=_cmd_pack)


def _cmd_pack(args: argparse.Namespace) -> int:
    from coordination.packs.export import export_pack

    with open_session() as session:
        data: bytes = export_pack(
            session,
            actor=actor(args),
            meeting_id=args.meeting_id,
            fmt=args.fmt,
            recipients=list(args.recipients),
            justification=args.justification,
        )
        # Written inside the transaction: if the file cannot be written, the disclosure the
        # export recorded is rolled back with it.
        try:
            args.out.write_bytes(data)
        except OSError as exc:
            raise InputError(f"Cannot write {args.out}: {exc.strerror}") from exc
    to = f" for {', '.join(args.recipients)}" if args.recipients else ""
    say(f"Wrote meeting {args.meeting_id} pack ({args.fmt}, {len(data):,} bytes){to} to {args.out}")
    return EXIT_OK
