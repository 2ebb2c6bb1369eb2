"""`crossforce import offenders FILE [--dry-run] [--json]`: add many people from a CSV or XLSX.

All or nothing: every row is checked first and, if any row has a problem, nothing is written and
every problem is listed by row (exit 2). A top-level ``import`` group (rather than a sub-command
of ``offenders``) keeps this plugin independent of ``coordination._cli_register``. Wired in by
``coordination.cli``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from geo.errors import InputError

EXIT_BAD_INPUT = 2


def register(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``import offenders`` to the top-level parser's sub-parsers."""
    group = sub.add_parser("import", help="import records from a file, all or nothing")
    kinds = group.add_subparsers(dest="import_command", required=True, parser_class=parser_class)
    offenders = kinds.add_parser(
        "offenders",
        help="register people with a residence and a case from a CSV or XLSX file",
        description="Columns: first_name, last_name, date_of_birth, sex, pnc_id, postcode (NFA "
        "for no fixed abode), programme, risk, offence_category, and for MAPPA cases "
        "mappa_category and mappa_level; optionally aliases (separated by ';'). Every row is "
        "checked first: one bad row and nothing is imported.",
    )
    offenders.add_argument("file", type=Path, help="a .csv or .xlsx file")
    offenders.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    offenders.add_argument("--json", action="store_true", help="print the report as JSON")
    offenders.set_defaults(handler=_cmd_import_offenders)


def _say(text: str = "", *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout)


def _cmd_import_offenders(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.imports import import_offenders
    from coordination.lookup import get_service
    from coordination.settings import get_settings
    from geo.batch import read_upload

    settings = get_settings()
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {args.file}: {exc.strerror}") from exc
    table = read_upload(data, args.file.name, max_bytes=settings.upload_max_bytes)
    lookup = get_service().lookup
    engine = get_engine(settings.database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        report = import_offenders(
            session, actor=actor(args), table=table, lookup=lookup, dry_run=args.dry_run
        )
    if args.json:
        _say(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0 if report.ok else EXIT_BAD_INPUT
    for warning in report.warnings:
        _say(f"! {warning}")
    if not report.ok:
        rows = report.bad_rows
        _say(
            f"crossforce: {len(rows)} of {report.rows} rows have problems; nothing was imported",
            err=True,
        )
        for error in report.errors:
            _say(f"  {error}", err=True)
        return EXIT_BAD_INPUT
    if report.dry_run:
        _say(f"All {report.rows} rows are valid; nothing was written (dry run).")
        return 0
    ids = report.offender_ids
    shown = ", ".join(str(i) for i in ids[:20]) + (", …" if len(ids) > 20 else "")
    _say(f"Imported {report.imported} people (offender ids {shown}).")
    return 0
