"""`crossforce data …`, `crossforce lookup` and `crossforce resolve`: reference data and lookups."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from coordination.core.console import (
    EXIT_OK,
    Parser,
    actor,
    bar,
    open_session,
    print_json,
    progress,
    read_input,
    say,
)
from coordination.errors import InputError


def register(sub: Any) -> None:
    """Add ``data``, ``lookup`` and ``resolve`` to the top-level sub-parsers."""
    data = sub.add_parser("data", help="reference data: boundary sets").add_subparsers(
        dest="data_command", required=True, parser_class=Parser
    )
    status = data.add_parser("status", help="list boundary sets and which is active")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=_cmd_data_status)
    load = data.add_parser("load", help="load a pack into a new, inactive boundary set")
    load.add_argument("dir", type=Path, help="pack directory or .zip")
    load.add_argument("--name", help="name for the new set (default: from its vintage)")
    load.add_argument("--json", action="store_true", help="print JSON")
    load.set_defaults(handler=_cmd_data_load)
    activate = data.add_parser("activate", help="make a loaded boundary set the active one")
    activate.add_argument("name")
    activate.set_defaults(handler=_cmd_data_activate)
    fetch = data.add_parser("fetch", help="download the official ONS files into a pack")
    fetch.add_argument("dir", type=Path, help="directory to create")
    fetch.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="KEY=URL",
        help="override a source URL (keys: police_force_areas, local_authority_districts, "
        "lad_to_pfa, wards)",
    )
    fetch.set_defaults(handler=_cmd_data_fetch)

    lookup = sub.add_parser("lookup", help="which force is responsible for a postcode or point")
    lookup.add_argument("query", nargs="?", help="a postcode, or lat,lon")
    lookup.add_argument("--bng", metavar="E,N", help="British National Grid easting,northing")
    lookup.add_argument("--json", action="store_true", help="print JSON")
    lookup.set_defaults(handler=_cmd_lookup)

    resolve = sub.add_parser("resolve", help="resolve every row of a CSV or XLSX file")
    resolve.add_argument("input", type=Path)
    resolve.add_argument("output", type=Path)
    resolve.add_argument("--json", action="store_true", help="print the summary as JSON")
    resolve.set_defaults(handler=_cmd_resolve)


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from geo.fetch import DEFAULT_SOURCES, fetch_pack

    sources = dict(DEFAULT_SOURCES)
    for item in args.source:
        key, sep, url = item.partition("=")
        if not sep or key not in sources or not url:
            raise InputError(
                f"--source {item!r}: expected KEY=URL with KEY one of {sorted(sources)}"
            )
        sources[key] = url
    report = fetch_pack(args.dir, sources=sources, progress=progress)
    say(f"Fetched {sum(report.counts.values())} features into {report.dest}")
    say(f"Next: crossforce data load {report.dest}")
    return EXIT_OK


def _cmd_data_status(args: argparse.Namespace) -> int:
    from coordination.reference.boundaries import list_sets

    with open_session() as session:
        sets = list_sets(session)
    if args.json:
        print_json(sets)
        return EXIT_OK
    if not sets:
        say("No boundary sets loaded: run `crossforce init`.")
    for s in sets:
        flag = "ACTIVE " if s.active else "       "
        approx = " (approximate)" if s.approximate else ""
        say(
            f"{flag}{s.name}{approx}: {s.vintage}; {s.n_forces} forces, {s.n_districts} "
            f"districts, {s.n_wards} wards; loaded {s.loaded_at:%Y-%m-%d %H:%M} by "
            f"{s.loaded_by}; source {s.source}"
        )
    return EXIT_OK


def _cmd_data_load(args: argparse.Namespace) -> int:
    from coordination.reference.boundaries import load_pack

    with open_session() as session:
        loaded = load_pack(session, actor=actor(args), path=args.dir, name=args.name)
    if args.json:
        print_json(loaded)
    else:
        say(f"Loaded {loaded.name} ({loaded.vintage}), inactive.")
        say(f"Activate it with: crossforce data activate {loaded.name}")
    return EXIT_OK


def _cmd_data_activate(args: argparse.Namespace) -> int:
    from coordination.reference.boundaries import activate

    with open_session() as session:
        active = activate(session, actor=actor(args), name=args.name)
    say(f"Active boundary set: {active.name}")
    return EXIT_OK


def _print_lookup(result: Any) -> None:
    force = result.force
    head = result.postcode or result.query
    if force is None:
        say(f"{head}: force unknown")
    else:
        say(f"{head}: {force.name} ({force.code}; ONS name {force.ons_name!r})")

    def row(label: str, value: Any) -> None:
        say(f"  {label:<10} {value if value else '—'}")

    row("District", f"{result.district.name} ({result.district.code})" if result.district else None)
    row("BCU", f"{result.bcu.name} ({result.bcu.code})" if result.bcu else None)
    row("Ward", f"{result.ward.name} ({result.ward.code})" if result.ward else None)
    if result.distance_to_boundary_m is not None:
        other = (
            result.nearest_other_force.name if result.nearest_other_force else "edge of coverage"
        )
        near = "  NEAR BOUNDARY" if result.near_boundary else ""
        row("Boundary", f"{result.distance_to_boundary_m:,.0f} m to {other}{near}")
    row("Method", f"{result.method}; boundary set {result.boundary_set}")
    location = f"E {result.easting:.1f}, N {result.northing:.1f}"
    if result.lat is not None and result.lon is not None:
        location += f"; {result.lat:.6f}, {result.lon:.6f}"
    row("Point", location)
    for warning in result.warnings:
        say(f"  ! {warning}")


def _cmd_lookup(args: argparse.Namespace) -> int:
    from coordination.reference.lookup import lookup

    if args.bng and args.query:
        raise InputError("Give a postcode or lat,lon, or --bng E,N — not both")
    if not args.bng and not args.query:
        raise InputError("Give a postcode, lat,lon, or --bng E,N")
    result = lookup(args.bng or args.query, bng=bool(args.bng))
    if args.json:
        print_json(result)
    else:
        _print_lookup(result)
    return EXIT_OK


def _cmd_resolve(args: argparse.Namespace) -> int:
    from coordination.core.serial import dumps
    from coordination.core.settings import get_settings
    from coordination.core.tables import read_table, write_table
    from coordination.reference.lookup import resolve_table

    suffix = args.output.suffix.lower().lstrip(".")
    if suffix not in ("csv", "xlsx"):
        raise InputError(f"{args.output.name}: the output must end in .csv or .xlsx")
    limit = get_settings().upload_max_bytes
    table = read_table(read_input(args.input, max_bytes=limit), args.input.name, max_bytes=limit)
    result = resolve_table(table, progress=bar())
    try:
        args.output.write_bytes(write_table(result.table, suffix))
    except OSError as exc:
        raise InputError(f"Cannot write {args.output}: {exc.strerror}") from exc
    summary = result.summary
    if args.json:
        say(dumps({**summary.__dict__, "output": str(args.output)}, indent=None))
    else:
        say(f"{summary}. Written to {args.output}")
    return EXIT_OK
