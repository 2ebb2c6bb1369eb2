"""`crossforce offenders add|show|move`: the register from the command line.

Human output by default, ``--json`` for scripts; bad input raises :class:`InputError` (exit 2, one
line). Wired in by ``coordination.cli``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

from geo.errors import InputError

if TYPE_CHECKING:
    from coordination.models import AddressPublic
    from coordination.register import Residence


def register(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``offenders add|show|move`` to the top-level parser's sub-parsers.

    Each sub-command sets ``handler=fn`` (``fn(args) -> int``); errors are raised as
    ``CrossforceError`` subclasses and turned into exit code 2 by the CLI.
    """
    offenders = sub.add_parser("offenders", help="the offender register").add_subparsers(
        dest="offenders_command", required=True, parser_class=parser_class
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
    show.add_argument("id", type=int)
    show.add_argument(
        "--reason",
        metavar="TEXT",
        help="why you are opening this record (required: the look is logged with it)",
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)

    move = offenders.add_parser("move", help="record a change of residence")
    move.add_argument("id", type=int)
    _residence_options(move, unknown=True)
    move.add_argument(
        "--from", dest="valid_from", metavar="YYYY-MM-DD", help="date of the move (default today)"
    )
    move.add_argument("--json", action="store_true", help="print JSON")
    move.set_defaults(handler=_cmd_move)


def _residence_options(parser: argparse.ArgumentParser, *, unknown: bool) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--postcode", metavar="P")
    where.add_argument("--bng", metavar="E,N", help="British National Grid easting,northing")
    where.add_argument("--nfa", action="store_true", help="no fixed abode")
    if unknown:
        where.add_argument("--unknown", action="store_true", help="address unknown")


# -- parsing -----------------------------------------------------------------------------------


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date like 2024-03-31") from None


def _residence(args: argparse.Namespace) -> Residence:
    from coordination.register import Residence
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


def _say(text: str = "") -> None:
    print(text, file=sys.stdout)


def _dump(value: Any) -> Any:
    """JSON-ready data from SQLModel/pydantic models and our dataclasses."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def _force(code: str | None) -> str:
    from geo.forces import force_name

    return f"{force_name(code).name} ({code})" if code else "force unknown"


def _address_line(address: AddressPublic) -> str:
    """One line: where, which force, district/BCU/ward, distance and provenance."""
    from coordination.rules import format_distance
    from geo.forces import LONDON_DISTRICTS

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
        name = LONDON_DISTRICTS.get(address.district_code, address.district_code)
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


def _open_session() -> Any:
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.settings import get_settings

    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    return session_scope(engine)


def _cmd_add(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.lookup import get_service
    from coordination.register import CaseCreate, OffenderCreate, add_offender, validated

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
    with _open_session() as session:
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
            "offender": _dump(added.offender),
            "case": _dump(added.case),
            "address": _dump(added.address),
            "decision": _dump(added.decision),
            "warnings": added.warnings,
        }
        _say(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    o, c = added.offender, added.case
    _say(f"Offender {o.id}: {o.last_name.upper()}, {o.first_name} (PNC {o.pnc_id})")
    _say(f"Case {c.id}: lead force {_force(c.lead_force_code)}")
    _say(f"  {added.decision.explanation}")
    if added.decision.flags:
        _say(f"  Flags: {', '.join(added.decision.flags)}")
    _say(f"  Address: {_address_line(added.address)}")
    _say(f"  Next review due {c.next_review_due}")
    for warning in added.warnings:
        _say(f"  ! {warning}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.register import get_offender

    reason = " ".join((args.reason or "").split())
    if not reason:
        # DPA 2018 s.62: a consultation is logged with its justification; no reason, no look.
        raise InputError("A reason is needed to open this record: add --reason TEXT")
    with _open_session() as session:
        detail = get_offender(session, offender_id=args.id, actor=actor(args), justification=reason)
    if args.json:
        payload = {
            "offender": _dump(detail.offender),
            "addresses": [_dump(a) for a in detail.addresses],
            "cases": [_dump(c) for c in detail.cases],
            "handoffs": [_dump(h) for h in detail.handoffs],
        }
        _say(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    o = detail.offender
    _say(f"Offender {o.id}: {o.last_name.upper()}, {o.first_name} (PNC {o.pnc_id})")
    _say(f"  Born {o.date_of_birth}, sex {o.sex}")
    if o.aliases:
        _say(f"  Aliases: {', '.join(o.aliases)}")
    _say("Addresses (newest first):")
    for address in detail.addresses:
        _say(f"  {_address_line(address)}")
    for case in detail.cases:
        mappa = (
            f" category {case.mappa_category} level {case.mappa_level}"
            if case.programme == "mappa"
            else ""
        )
        _say(
            f"Case {case.id} ({case.status}): {case.programme}{mappa}, risk {case.risk}, "
            f"{case.offence_category}; lead {_force(case.lead_force_code)}; "
            f"review due {case.next_review_due}"
        )
        _say(f"  {case.responsibility_explanation}")
        if case.flags:
            _say(f"  Flags: {', '.join(case.flags)}")
    for handoff in detail.handoffs:
        bcu = f" ({handoff.to_bcu_code})" if handoff.to_bcu_code else ""
        _say(
            f"Handoff {handoff.id} for case {handoff.case_id}: {handoff.state}, "
            f"{_force(handoff.from_force_code)} → {_force(handoff.to_force_code)}{bcu}; "
            f"completion due {handoff.completion_due or '—'}"
        )
    return 0


def _cmd_move(args: argparse.Namespace) -> int:
    from coordination.cli import actor
    from coordination.lookup import get_service
    from coordination.register import move_offender

    residence = _residence(args)
    valid_from = _date(args.valid_from, "--from")
    lookup = get_service().lookup
    with _open_session() as session:
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
            "address": _dump(moved.address),
            "previous": _dump(moved.previous) if moved.previous else None,
            "decision": _dump(moved.decision) if moved.decision else None,
            "cases": [
                {
                    "case_id": c.case_id,
                    "lead_force_code": c.lead_force_code,
                    "decision": _dump(c.decision),
                    "handoff_id": c.handoff.id if c.handoff else None,
                    "note": c.note,
                }
                for c in moved.cases
            ],
            "handoffs": [_dump(h) for h in moved.handoffs],
            "warnings": moved.warnings,
        }
        _say(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    _say(f"Offender {args.id} moved: {_address_line(moved.address)}")
    if not moved.cases:
        _say("  No open cases.")
    for c in moved.cases:
        _say(f"Case {c.case_id}: lead {_force(c.lead_force_code)}")
        _say(f"  {c.decision.explanation}")
        if c.decision.flags:
            _say(f"  Flags: {', '.join(c.decision.flags)}")
        _say(f"  {c.note[:1].upper()}{c.note[1:]}")
        if c.handoff is not None:
            h = c.handoff
            _say(
                f"  Handoff {h.id}: {h.state}; address check due {h.address_check_due or '—'}, "
                f"completion due {h.completion_due or '—'}"
            )
    for warning in moved.warnings:
        _say(f"  ! {warning}")
    return 0
