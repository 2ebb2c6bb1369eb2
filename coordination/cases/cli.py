"""`crossforce cases update|close|reopen|show|access|mismatches`: a case after registration.

Wired in by ``coordination.cli.main``. The ``cases`` group is shared with the caseload package
(``cases assign``, ``cases suggest``): :func:`register` adds these commands to it when it is
already there, and creates it otherwise. Human text by default, ``--json`` for scripts; refused
or invalid input exits 2 with one line.
"""

from __future__ import annotations

import argparse
from typing import Any

from coordination.core.console import (
    EXIT_OK,
    actor,
    count,
    iso_date,
    open_session,
    print_json,
    record_id,
    say,
)
from coordination.core.serial import jsonable
from coordination.core.wording import programme_label
from coordination.errors import InputError
from geo.forces import force_name

_CLOSURE_HELP = (
    "sentence_ended (sentence or licence ended), deregistered, deceased, moved_out (of the "
    "coordinated area) or other (with --note)"
)


def register(cases: Any) -> None:
    """Add ``cases update``, ``close``, ``reopen`` and ``show`` to the ``cases`` sub-parsers.

    ``cases`` is what ``coordination.caseload.cli.register`` returns: one ``crossforce cases``
    group holds the assignment commands and these.

    Each sub-command sets handler=fn (fn(args) -> int); errors are raised as CrossforceError
    subclasses and turned into exit code 2 by the CLI.
    """
    update = cases.add_parser(
        "update", help="re-assess a case: risk, review date, MAPPA, IOM cohort, OGRS3 inputs"
    )
    update.add_argument("case", type=record_id, metavar="CASE", help="case id")
    update.add_argument("--risk", help="risk of serious harm: low, medium, high, very_high")
    update.add_argument(
        "--risk-assessed", type=iso_date, metavar="DATE", help="day of the assessment (today)"
    )
    update.add_argument("--next-review", type=iso_date, metavar="DATE", help="next review due")
    update.add_argument("--mappa-category", type=count(1, 3), metavar="N", help="1, 2 or 3")
    update.add_argument("--mappa-level", type=count(1, 3), metavar="N", help="1, 2 or 3")
    update.add_argument(
        "--mappa-changed", type=iso_date, metavar="DATE", help="day the MAPPA change took effect"
    )
    update.add_argument(
        "--iom", choices=("select", "deselect"), help="select into or de-select from IOM"
    )
    update.add_argument(
        "--cohort", default="fixed", help="IOM cohort for --iom select: fixed, flex, free"
    )
    update.add_argument("--sex", help="OGRS3: male, female, not_known")
    update.add_argument(
        "--age-first-sanction", type=count(10, 110), metavar="N", help="OGRS3: age at first"
    )
    update.add_argument(
        "--previous-sanctions", type=count(0, 999), metavar="N", help="OGRS3: previous sanctions"
    )
    update.add_argument("--offence", help="OGRS3: current offence category")
    update.add_argument(
        "--conviction-date", type=iso_date, metavar="DATE", help="OGRS3: current conviction"
    )
    update.add_argument("--reason", default="", help="why (kept in the history; de-selection)")
    update.add_argument(
        "--version",
        type=record_id,
        dest="expected_version",
        help="refuse if the case is no longer at this version (someone changed it)",
    )
    update.add_argument("--json", action="store_true", help="print JSON")
    update.set_defaults(handler=_cmd_update)

    close = cases.add_parser("close", help="close a case with a reason")
    close.add_argument("case", type=record_id, metavar="CASE", help="case id")
    close.add_argument("--reason", required=True, metavar="KIND", help=_CLOSURE_HELP)
    close.add_argument("--note", default="", help="what happened (required with other)")
    close.add_argument("--version", type=record_id, dest="expected_version", help="as update")
    close.add_argument("--json", action="store_true", help="print JSON")
    close.set_defaults(handler=_cmd_close)

    reopen = cases.add_parser("reopen", help="reopen a closed case, with a reason")
    reopen.add_argument("case", type=record_id, metavar="CASE", help="case id")
    reopen.add_argument("--reason", required=True, help="why it is reopened")
    reopen.add_argument("--version", type=record_id, dest="expected_version", help="as update")
    reopen.add_argument("--json", action="store_true", help="print JSON")
    reopen.set_defaults(handler=_cmd_reopen)

    show = cases.add_parser("show", help="a case, its OGRS3 score and its history")
    show.add_argument("case", type=record_id, metavar="CASE", help="case id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_cmd_show)

    access = cases.add_parser(
        "access",
        help="limited access on a case: who is kept out, or the only users let in",
        description="Without --exclude/--allow/--lift: list the case's limited-access entries. "
        "Each change needs --reason and is audited (supervisors of the lead force, admins).",
    )
    access.add_argument("case", type=record_id, metavar="CASE", help="case id")
    change = access.add_mutually_exclusive_group()
    change.add_argument("--exclude", metavar="USER", help="keep this user out of the case")
    change.add_argument(
        "--allow", metavar="USER", help="add this user to the only ones let in (allow-only list)"
    )
    change.add_argument("--lift", metavar="USER", help="remove this user's entry")
    access.add_argument("--reason", default="", help="why (required for a change)")
    access.add_argument("--json", action="store_true", help="print JSON")
    access.set_defaults(handler=_cmd_access)

    mism = cases.add_parser(
        "mismatches",
        help="open cases led against the rules with no handoff, escalation or exception",
    )
    mism.add_argument("--json", action="store_true", help="print JSON")
    mism.set_defaults(handler=_cmd_mismatches)


def _value(value: Any) -> str:
    return "—" if value is None else str(value).replace("_", " ")


def _changed_text(kind: str, changes: dict[str, Any], reason: str = "") -> str:
    """One change in words: ``risk high → very high; next review due …`` (why, in brackets)."""
    why = f" ({reason})" if reason else ""
    if kind == "close":
        return f"closed{why}"
    if kind == "reopen":
        return f"reopened{why}"
    parts = [
        f"{name.replace('_', ' ')} {_value(old)} → {_value(new)}"
        for name, (old, new) in changes.items()
    ]
    return ("; ".join(parts) or "no change") + why


def _cmd_update(args: argparse.Namespace) -> int:
    from coordination.cases import updates

    risk_given = args.risk is not None or args.risk_assessed is not None
    mappa_given = any(
        v is not None for v in (args.mappa_category, args.mappa_level, args.mappa_changed)
    )
    ogrs3 = {
        "sex": args.sex,
        "age_at_first_sanction": args.age_first_sanction,
        "previous_sanctions": args.previous_sanctions,
        "offence": args.offence,
        "conviction_date": args.conviction_date,
    }
    ogrs3_given = any(v is not None for v in ogrs3.values())
    if not (risk_given or mappa_given or ogrs3_given or args.iom or args.next_review):
        raise InputError("Nothing to update: give --risk, --next-review, --mappa-…, --iom or OGRS3")
    if args.risk_assessed is not None and args.risk is None:
        raise InputError("--risk-assessed goes with --risk (the level assessed)")
    if mappa_given and args.mappa_category is None and args.mappa_level is None:
        raise InputError("--mappa-changed goes with --mappa-category and/or --mappa-level")
    done: list[updates.CaseUpdate] = []
    with open_session() as session:
        who = actor(args)
        version = args.expected_version

        def later() -> int | None:
            # After the first change the case is at a new version, of this command's making.
            return done[-1].case.version if done else version

        if risk_given:
            done.append(
                updates.update_risk(
                    session,
                    actor=who,
                    case_id=args.case,
                    risk=args.risk,
                    assessed_on=args.risk_assessed,
                    next_review_due=args.next_review,
                    reason=args.reason,
                    expected_version=later(),
                )
            )
        elif args.next_review is not None:
            done.append(
                updates.set_next_review(
                    session,
                    actor=who,
                    case_id=args.case,
                    next_review_due=args.next_review,
                    reason=args.reason,
                    expected_version=later(),
                )
            )
        if mappa_given:
            done.append(
                updates.update_mappa(
                    session,
                    actor=who,
                    case_id=args.case,
                    category=args.mappa_category,
                    level=args.mappa_level,
                    changed_on=args.mappa_changed,
                    reason=args.reason,
                    expected_version=later(),
                )
            )
        if args.iom:
            done.append(
                updates.set_iom_cohort(
                    session,
                    actor=who,
                    case_id=args.case,
                    select_cohort=args.iom == "select",
                    cohort=args.cohort,
                    reason=args.reason,
                    expected_version=later(),
                )
            )
        if ogrs3_given:
            done.append(
                updates.update_ogrs3_inputs(
                    session,
                    actor=who,
                    case_id=args.case,
                    reason=args.reason,
                    expected_version=later(),
                    **ogrs3,
                )
            )
    if args.json:
        print_json({"case": done[-1].case, "events": [d.event for d in done]})
        return EXIT_OK
    for d in done:
        say(f"Case {args.case}: {_changed_text(d.event.kind, d.event.changes)}.")
    say(f"Case {args.case} is at version {done[-1].case.version}.")
    return EXIT_OK


def _cmd_close(args: argparse.Namespace) -> int:
    from coordination.cases.updates import close_case

    with open_session() as session:
        done = close_case(
            session,
            actor=actor(args),
            case_id=args.case,
            reason=args.reason,
            note=args.note,
            expected_version=args.expected_version,
        )
    if args.json:
        print_json({"case": done.case, "event": done.event})
    else:
        say(f"Case {done.case.id} is closed: {done.event.reason}.")
    return EXIT_OK


def _cmd_reopen(args: argparse.Namespace) -> int:
    from coordination.cases.updates import reopen_case

    with open_session() as session:
        done = reopen_case(
            session,
            actor=actor(args),
            case_id=args.case,
            reason=args.reason,
            expected_version=args.expected_version,
        )
    if args.json:
        print_json({"case": done.case, "event": done.event})
    else:
        say(f"Case {done.case.id} is open again: {done.event.reason}.")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    from coordination.cases.views import case_detail

    with open_session() as session:
        detail = case_detail(session, actor=actor(args), case_id=args.case)
    if args.json:
        print_json(jsonable(detail))
        return EXIT_OK
    c = detail.case
    mappa = (
        f", MAPPA category {c.mappa_category} level {c.mappa_level}"
        if c.mappa_category is not None
        else ""
    )
    lead = force_name(c.lead_force_code).name
    say(f"Case {c.id} ({c.status}): {programme_label(c.programme)}{mappa}, led by {lead}")
    assessed = f" (assessed {c.risk_assessed_on.isoformat()})" if c.risk_assessed_on else ""
    say(f"Risk of serious harm: {c.risk.replace('_', ' ')}{assessed}")
    review = c.next_review_due.isoformat() if c.next_review_due else "not set"
    say(f"Next review due: {review}")
    if c.status == "closed" and c.closed_at is not None:
        say(f"Closed {c.closed_at.date().isoformat()}: {detail.closure_text}")
    say(detail.ogrs3_text)
    if not detail.history:
        say("No changes since registration.")
    for e in detail.history:
        when = e.at.date().isoformat()
        say(f"  {when} {e.actor}: {_changed_text(e.kind, e.changes, e.reason)}")
    return EXIT_OK


def _cmd_access(args: argparse.Namespace) -> int:
    from coordination.security.access import clear_case_access, list_case_access, set_case_access

    with open_session() as session:
        who = actor(args)
        if args.exclude or args.allow:
            mode, username = ("exclude", args.exclude) if args.exclude else ("allow", args.allow)
            entry = set_case_access(
                session,
                actor=who,
                case_id=args.case,
                username=username,
                mode=mode,
                reason=args.reason,
            )
            if args.json:
                print_json(jsonable(entry))
                return EXIT_OK
            what = "kept out of" if mode == "exclude" else "let in to (allow-only)"
            say(f"{entry.username} is {what} case {args.case}: {entry.reason}")
            return EXIT_OK
        if args.lift:
            removed = clear_case_access(
                session, actor=who, case_id=args.case, username=args.lift, reason=args.reason
            )
            if not removed:
                raise InputError(f"{args.lift} has no limited-access entry on case {args.case}")
            say(f"{args.lift}'s entry on case {args.case} is lifted.")
            return EXIT_OK
        entries = list_case_access(session, actor=who, case_id=args.case)
    if args.json:
        print_json(jsonable(entries))
        return EXIT_OK
    if not entries:
        say(f"Case {args.case} has no limited access: everyone who may see the case sees it.")
    for e in entries:
        what = "kept out" if e.mode == "exclude" else "allowed (only these)"
        say(f"  {e.username}: {what}, by {e.created_by} {e.created_at:%Y-%m-%d}: {e.reason}")
    return EXIT_OK


def _cmd_mismatches(args: argparse.Namespace) -> int:
    from coordination.core.settings import get_settings
    from coordination.register.mismatches import mismatches

    with open_session() as session:
        found = mismatches(
            session, actor=actor(args), near_boundary_m=get_settings().near_boundary_m
        )
    if args.json:
        print_json(found)
        return EXIT_OK
    if not found:
        say("None: every case led against the rules has a handoff, an escalation or an exception.")
        return EXIT_OK
    for m in found:
        say(
            f"case {m.case_id}  {m.offender_name} ({m.pnc_id})  led by {m.lead_force_name}, "
            f"rules say {m.responsible_force_name} ({m.rule})"
        )
    say(f"{len(found)} case{'s' if len(found) != 1 else ''} with no workflow")
    return EXIT_OK
