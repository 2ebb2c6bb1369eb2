"""`crossforce offenders add|show|move`, `crossforce import offenders` and `crossforce retention`.

The register from the command line: human output by default, ``--json`` for scripts; bad input
raises :class:`InputError` (exit 2, one line). Wired in by ``coordination.cli.main``.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coordination.core.console import (
    EXIT_BAD_INPUT,
    Parser,
    actor,
    open_session,
    optional_date,
    print_json,
    read_input,
    record_id,
    say,
)
from coordination.core.serial import jsonable
from coordination.errors import InputError

if TYPE_CHECKING:
    from coordination.models import AddressPublic
    from coordination.register.inputs import Residence


#: A scheduled erasure runs as this service account (it may erase, nothing else).
RETENTION_ACCOUNT = "system:retention"


def register(sub: Any) -> None:
    """Add ``offenders add|show|move`` to the top-level parser's sub-parsers.

    Each sub-command sets ``handler=fn`` (``fn(args) -> int``); errors are raised as
    ``CrossforceError`` subclasses and turned into exit code 2 by the CLI.
    """
    offenders = sub.add_parser("offenders", help="the offender register").add_subparsers(
        dest="offenders_command", required=True, parser_class=Parser
    )

    add = offenders.add_parser("add", help="register an offender with a residence and a case")
    add.add_argument("--first-name", required=True)
    add.add_argument("--last-name", required=True)
    add.add_argument("--alias", action="append", default=[], help="another name (repeatable)")
    add.add_argument("--dob", required=True, metavar="YYYY-MM-DD", help="date of birth")
    add.add_argument("--sex", required=True, choices=["male", "female", "not_known"])
    add.add_argument("--pnc", required=True, metavar="PNC_ID", help="e.g. 2019/0012345G")
    _residence_options(add, unknown=False)
    add.add_argument(
        "--programme",
        required=True,
        choices=["iom_fixed", "iom_flex", "iom_free", "mappa", "other"],
    )
    add.add_argument("--mappa-category", type=int, choices=[1, 2, 3])
    add.add_argument("--mappa-level", type=int, choices=[1, 2, 3])
    add.add_argument("--risk", required=True, choices=["low", "medium", "high", "very_high"])
    add.add_argument(
        "--offence",
        required=True,
        help="OGRS3 offence category, e.g. fraud_and_forgery or 'burglary (domestic)'",
    )
    add.add_argument("--from", dest="valid_from", metavar="YYYY-MM-DD", help="living there since")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(handler=_cmd_add)

    show = offenders.add_parser("show", help="an offender's addresses, cases and handoffs")
    show.add_argument("id", type=record_id)
    show.add_argument(
        "--reason",
        metavar="TEXT",
        help="why you are opening this record (required: the look is logged with it)",
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)

    move = offenders.add_parser("move", help="record a change of residence")
    move.add_argument("id", type=record_id)
    _residence_options(move, unknown=True)
    move.add_argument(
        "--from", dest="valid_from", metavar="YYYY-MM-DD", help="date of the move (default today)"
    )
    move.add_argument("--json", action="store_true", help="print JSON")
    move.set_defaults(handler=_cmd_move)

    _register_import(sub)
    _register_retention(sub)


def _residence_options(parser: argparse.ArgumentParser, *, unknown: bool) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--postcode", metavar="P")
    where.add_argument("--bng", metavar="E,N", help="British National Grid easting,northing")
    where.add_argument("--nfa", action="store_true", help="no fixed abode")
    if unknown:
        where.add_argument("--unknown", action="store_true", help="address unknown")


# -- parsing -----------------------------------------------------------------------------------


def _date(text: str | None, what: str) -> date | None:
    return optional_date(text, what)


def _residence(args: argparse.Namespace) -> Residence:
    from coordination.register.inputs import Residence
    from geo.query import parse_query

    if getattr(args, "nfa", False):
        return Residence.no_fixed_abode()
    if getattr(args, "unknown", False):
        return Residence.unknown()
    if args.bng:
        parsed = parse_query(args.bng, bng=True)
        if parsed.easting is None or parsed.northing is None:
            raise InputError(f"--bng {args.bng!r}: expected easting,northing in metres")
        return Residence.at_point(parsed.easting, parsed.northing)
    return Residence.at_postcode(args.postcode)


# -- output ------------------------------------------------------------------------------------


def _force(code: str | None) -> str:
    from geo.forces import force_name

    return f"{force_name(code).name} ({code})" if code else "force unknown"


def _address_line(address: AddressPublic) -> str:
    """One line: where, which force, district/BCU/ward, distance and provenance."""
    from coordination.register.rules import format_distance
    from geo.districts import district_name

    span = f"{address.valid_from.isoformat()} – {address.valid_to or 'now'}"
    if address.state != "residence":
        return f"{span}: {address.state.replace('_', ' ')}"
    if address.postcode:
        where = address.postcode
    elif address.easting is not None and address.northing is not None:
        where = f"E {address.easting:.0f}, N {address.northing:.0f}"
    else:
        where = "location erased"  # retention keeps the areas, not the place
    parts = [_force(address.force_code)]
    if address.district_code:
        name = district_name(address.district_code) or address.district_code
        parts.append(f"{name} ({address.district_code})" if name != address.district_code else name)
    if address.bcu_code:
        parts.append(f"BCU {address.bcu_code}")
    if address.ward_code:
        parts.append(f"ward {address.ward_code}")
    if address.distance_to_boundary_m is not None:
        near = " NEAR BOUNDARY" if address.near_boundary else ""
        parts.append(f"{format_distance(address.distance_to_boundary_m)} to boundary{near}")
    parts.append(f"{address.method}; set {address.boundary_set}")
    return f"{span}: {where} — " + ", ".join(parts)


# -- commands ----------------------------------------------------------------------------------


def _cmd_add(args: argparse.Namespace) -> int:
    from coordination.reference.lookup import get_service
    from coordination.register.inputs import CaseCreate, OffenderCreate, validated
    from coordination.register.offenders import add_offender

    offender = validated(
        OffenderCreate,
        pnc_id=args.pnc,
        first_name=args.first_name,
        last_name=args.last_name,
        aliases=args.alias,
        date_of_birth=_date(args.dob, "--dob"),
        sex=args.sex,
    )
    case = validated(
        CaseCreate,
        programme=args.programme,
        mappa_category=args.mappa_category,
        mappa_level=args.mappa_level,
        risk=args.risk,
        offence_category=args.offence,
    )
    residence = _residence(args)
    valid_from = _date(args.valid_from, "--from")
    lookup = get_service().lookup
    with open_session() as session:
        added = add_offender(
            session,
            actor=actor(args),
            offender=offender,
            case=case,
            residence=residence,
            valid_from=valid_from,
            lookup=lookup,
        )
    if args.json:
        payload = {
            "offender_id": added.offender.id,
            "case_id": added.case.id,
            "lead_force_code": added.case.lead_force_code,
            "explanation": added.decision.explanation,
            "offender": jsonable(added.offender),
            "case": jsonable(added.case),
            "address": jsonable(added.address),
            "decision": jsonable(added.decision),
            "warnings": added.warnings,
        }
        print_json(payload)
        return 0
    o, c = added.offender, added.case
    say(f"Offender {o.id}: {o.last_name.upper()}, {o.first_name} (PNC {o.pnc_id})")
    say(f"Case {c.id}: lead force {_force(c.lead_force_code)}")
    say(f"  {added.decision.explanation}")
    if added.decision.flags:
        say(f"  Flags: {', '.join(added.decision.flags)}")
    say(f"  Address: {_address_line(added.address)}")
    say(f"  Next review due {c.next_review_due}")
    for warning in added.warnings:
        say(f"  ! {warning}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from coordination.register.offenders import get_offender

    reason = " ".join((args.reason or "").split())
    if not reason:
        # DPA 2018 s.62: a consultation is logged with its justification; no reason, no look.
        raise InputError("A reason is needed to open this record: add --reason TEXT")
    with open_session() as session:
        detail = get_offender(session, offender_id=args.id, actor=actor(args), justification=reason)
    if args.json:
        payload = {
            "offender": jsonable(detail.offender),
            "addresses": [jsonable(a) for a in detail.addresses],
            "cases": [jsonable(c) for c in detail.cases],
            "handoffs": [jsonable(h) for h in detail.handoffs],
        }
        print_json(payload)
        return 0
    o = detail.offender
    say(f"Offender {o.id}: {o.last_name.upper()}, {o.first_name} (PNC {o.pnc_id})")
    say(f"  Born {o.date_of_birth}, sex {o.sex}")
    if o.aliases:
        say(f"  Aliases: {', '.join(o.aliases)}")
    say("Addresses (newest first):")
    for address in detail.addresses:
        say(f"  {_address_line(address)}")
    for case in detail.cases:
        mappa = (
            f" category {case.mappa_category} level {case.mappa_level}"
            if case.programme == "mappa"
            else ""
        )
        say(
            f"Case {case.id} ({case.status}): {case.programme}{mappa}, risk {case.risk}, "
            f"{case.offence_category}; lead {_force(case.lead_force_code)}; "
            f"review due {case.next_review_due}"
        )
        say(f"  {case.responsibility_explanation}")
        if case.flags:
            say(f"  Flags: {', '.join(case.flags)}")
    for handoff in detail.handoffs:
        bcu = f" ({handoff.to_bcu_code})" if handoff.to_bcu_code else ""
        say(
            f"Handoff {handoff.id} for case {handoff.case_id}: {handoff.state}, "
            f"{_force(handoff.from_force_code)} → {_force(handoff.to_force_code)}{bcu}; "
            f"completion due {handoff.completion_due or '—'}"
        )
    return 0


def _cmd_move(args: argparse.Namespace) -> int:
    from coordination.reference.lookup import get_service
    from coordination.register.moves import move_offender

    residence = _residence(args)
    valid_from = _date(args.valid_from, "--from")
    lookup = get_service().lookup
    with open_session() as session:
        moved = move_offender(
            session,
            actor=actor(args),
            offender_id=args.id,
            residence=residence,
            valid_from=valid_from,
            lookup=lookup,
        )
    if args.json:
        payload = {
            "address": jsonable(moved.address),
            "previous": jsonable(moved.previous) if moved.previous else None,
            "decision": jsonable(moved.decision) if moved.decision else None,
            "cases": [
                {
                    "case_id": c.case_id,
                    "lead_force_code": c.lead_force_code,
                    "decision": jsonable(c.decision),
                    "handoff_id": c.handoff.id if c.handoff else None,
                    "note": c.note,
                }
                for c in moved.cases
            ],
            "handoffs": [jsonable(h) for h in moved.handoffs],
            "warnings": moved.warnings,
        }
        print_json(payload)
        return 0
    say(f"Offender {args.id} moved: {_address_line(moved.address)}")
    if not moved.cases:
        say("  No open cases.")
    for c in moved.cases:
        say(f"Case {c.case_id}: lead {_force(c.lead_force_code)}")
        say(f"  {c.decision.explanation}")
        if c.decision.flags:
            say(f"  Flags: {', '.join(c.decision.flags)}")
        say(f"  {c.note[:1].upper()}{c.note[1:]}")
        if c.handoff is not None:
            h = c.handoff
            say(
                f"  Handoff {h.id}: {h.state}; address check due {h.address_check_due or '—'}, "
                f"completion due {h.completion_due or '—'}"
            )
    for warning in moved.warnings:
        say(f"  ! {warning}")
    return 0


def _register_import(sub: Any) -> None:
    """Add ``import offenders`` to the top-level parser's sub-parsers."""
    group = sub.add_parser("import", help="import records from a file, all or nothing")
    kinds = group.add_subparsers(dest="import_command", required=True, parser_class=Parser)
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


def _cmd_import_offenders(args: argparse.Namespace) -> int:
    from coordination.core.settings import get_settings
    from coordination.core.tables import read_upload
    from coordination.reference.lookup import get_service
    from coordination.register.imports import import_offenders

    settings = get_settings()
    data = read_input(args.file, max_bytes=settings.upload_max_bytes)
    table = read_upload(data, args.file.name, max_bytes=settings.upload_max_bytes)
    lookup = get_service().lookup
    with open_session() as session:
        report = import_offenders(
            session, actor=actor(args), table=table, lookup=lookup, dry_run=args.dry_run
        )
    if args.json:
        print_json(report)
        return 0 if report.ok else EXIT_BAD_INPUT
    for warning in report.warnings:
        say(f"! {warning}")
    if not report.ok:
        rows = report.bad_rows
        say(
            f"crossforce: {len(rows)} of {report.rows} rows have problems; nothing was imported",
            err=True,
        )
        for error in report.errors:
            say(f"  {error}", err=True)
        return EXIT_BAD_INPUT
    if report.dry_run:
        say(f"All {report.rows} rows are valid; nothing was written (dry run).")
        return 0
    ids = report.offender_ids
    shown = ", ".join(str(i) for i in ids[:20]) + (", …" if len(ids) > 20 else "")
    say(f"Imported {report.imported} people (offender ids {shown}).")
    return 0


def _register_retention(sub: Any) -> None:
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
        "--as-service",
        action="store_true",
        help="run as the retention service account (for a scheduled job) instead of as you",
    )
    retention.add_argument(
        "--today", metavar="YYYY-MM-DD", help="measure the period to this date (default today)"
    )
    retention.add_argument("--json", action="store_true", help="print JSON")
    retention.set_defaults(handler=_cmd_retention)


def _cmd_retention(args: argparse.Namespace) -> int:
    from coordination.core.settings import get_settings
    from coordination.register.retention import apply_retention, retention_candidates

    today = optional_date(args.today, "--today")
    settings = get_settings()
    years = settings.retention_years_after_closure
    who = RETENTION_ACCOUNT if args.as_service else actor(args)
    with open_session() as session:
        if args.dry_run:
            due = retention_candidates(session, actor=who, today=today)
        else:
            report = apply_retention(session, actor=who, today=today)
    if args.dry_run:
        if args.json:
            payload = {"retention_years": years, "would_erase": due}
            print_json(payload)
            return 0
        if not due:
            say(f"Nobody is due for erasure (retention {years} years after the last closure).")
            return 0
        say(f"{len(due)} people would be erased (retention {years} years after the last closure):")
        for c in due:
            say(
                f"  offender {c.offender_id:>6}  {c.pseudonym}  {c.cases} case(s), last closed "
                f"{c.latest_closure.isoformat()}, retained until {c.retained_until.isoformat()}"
            )
        say("Nothing was changed. Erase with: crossforce retention --apply")
        return 0
    if args.json:
        print_json(report)
        return 0
    say(
        f"Erased {report.offenders} people ({report.addresses} addresses, {report.texts} text "
        f"fields); retention {report.retention_years} years after the last closure."
    )
    if report.offenders:
        say("Each erasure is in the audit log (category erasure).")
    return 0
