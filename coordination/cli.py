"""The ``crossforce`` command line.

Human output by default, ``--json`` for scripts. Bad input exits 2 with one clear line on stderr
(a pack that fails validation also lists each problem beneath it); an unexpected failure exits 1
with a pointer to the log, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from geo.errors import CrossforceError, InputError, ReferenceDataError

log = logging.getLogger("crossforce")

_PLUGINS: tuple[str, ...] = (
    "coordination._cli_register",
    "coordination._cli_handoffs",
    "coordination._cli_caseload",
    "coordination._cli_review",
    "coordination._cli_demo",
    "coordination._cli_audit",
    "coordination._cli_retention",
    "coordination._cli_import",
)

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="crossforce", description="Cross-force offender management coordination.")
    parser.add_argument(
        "--as",
        dest="actor",
        metavar="USERNAME",
        help="the user acting (default: CROSSFORCE_USER, else your login name)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("init", help="migrate the database and load reference data (safe to rerun)")

    data = sub.add_parser("data", help="reference data: boundary sets").add_subparsers(
        dest="data_command", required=True, parser_class=_Parser
    )
    status = data.add_parser("status", help="list boundary sets and which is active")
    status.add_argument("--json", action="store_true", help="print JSON")
    load = data.add_parser("load", help="load a pack into a new, inactive boundary set")
    load.add_argument("dir", type=Path, help="pack directory or .zip")
    load.add_argument("--name", help="name for the new set (default: from its vintage)")
    load.add_argument("--json", action="store_true", help="print JSON")
    activate = data.add_parser("activate", help="make a loaded boundary set the active one")
    activate.add_argument("name")
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

    lookup = sub.add_parser("lookup", help="which force is responsible for a postcode or point")
    lookup.add_argument("query", nargs="?", help="a postcode, or lat,lon")
    lookup.add_argument("--bng", metavar="E,N", help="British National Grid easting,northing")
    lookup.add_argument("--json", action="store_true", help="print JSON")

    resolve = sub.add_parser("resolve", help="resolve every row of a CSV or XLSX file")
    resolve.add_argument("input", type=Path)
    resolve.add_argument("output", type=Path)
    resolve.add_argument("--json", action="store_true", help="print the summary as JSON")

    users = sub.add_parser("users", help="users").add_subparsers(
        dest="users_command", required=True, parser_class=_Parser
    )
    users_list = users.add_parser("list", help="list users")
    users_list.add_argument("--json", action="store_true", help="print JSON")
    users_add = users.add_parser(
        "add", help="add a user and set their password (asked twice, or read from stdin)"
    )
    users_add.add_argument("username")
    users_add.add_argument("--force", required=True, metavar="CODE", help="ONS force code")
    users_add.add_argument(
        "--role",
        required=True,
        choices=["offender_manager", "supervisor", "analyst", "admin"],
        help="what the user may do",
    )
    users_add.add_argument("--display-name", metavar="NAME", help="default: the username")
    users_add.add_argument("--bcu", metavar="CODE", help="BCU code (Met users)")
    users_add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of asking",
    )
    users.add_parser(
        "demo-accounts", help="print the demo accounts of development mode (none in production)"
    )

    # Command groups of the register, handoffs and caseload live beside their services; each
    # module's register() adds its sub-commands with set_defaults(handler=...).
    for module in _PLUGINS:
        importlib.import_module(module).register(sub, _Parser)
    return parser


def actor(args: argparse.Namespace) -> str:
    """Return the acting user: ``--as``, else ``CROSSFORCE_USER``, else ``cli:<login>``."""
    return _actor(args)


def _actor(args: argparse.Namespace) -> str:
    from coordination.settings import get_settings

    return args.actor or get_settings().user or f"cli:{getpass.getuser()}"


def _say(text: str = "", *, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout)


def _progress(message: str) -> None:
    print(f"… {message}", file=sys.stderr, flush=True)


def _bar(stream: TextIO) -> Callable[[int, int], None]:
    """Return a progress callback drawing a bar on a terminal (plain lines otherwise)."""
    last = [-1]

    def update(done: int, total: int) -> None:
        pct = 100 if total == 0 else int(done * 100 / total)
        if pct == last[0]:
            return
        last[0] = pct
        if stream.isatty():
            filled = pct // 4
            stream.write(f"\r[{'#' * filled}{'.' * (25 - filled)}] {pct:3d}% {done}/{total}")
            if done >= total:
                stream.write("\n")
        elif pct in (0, 100) or pct % 25 == 0:
            stream.write(f"{pct}% ({done}/{total})\n")
        stream.flush()

    return update


# -- commands ---------------------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from coordination.settings import get_settings
    from coordination.setup import initialise

    # Lines are printed as they happen (building the London default takes a while), not again.
    initialise(settings=get_settings(), actor=_actor(args), progress=lambda line: _say(line))
    return EXIT_OK


def _set_dict(s: Any) -> dict[str, Any]:
    return json.loads(s.model_dump_json())


def _cmd_data(args: argparse.Namespace) -> int:
    from coordination import boundaries
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.settings import get_settings

    settings = get_settings()
    if args.data_command == "fetch":
        from geo.fetch import DEFAULT_SOURCES, fetch_pack

        sources = dict(DEFAULT_SOURCES)
        for item in args.source:
            key, sep, url = item.partition("=")
            if not sep or key not in sources or not url:
                raise InputError(
                    f"--source {item!r}: expected KEY=URL with KEY one of {sorted(sources)}"
                )
            sources[key] = url
        report = fetch_pack(args.dir, sources=sources, progress=_progress)
        _say(f"Fetched {sum(report.counts.values())} features into {report.dest}")
        _say(f"Next: crossforce data load {report.dest}")
        return EXIT_OK

    engine = get_engine(settings.database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        if args.data_command == "status":
            sets = boundaries.list_sets(session)
            if args.json:
                _say(json.dumps([_set_dict(s) for s in sets], indent=2))
                return EXIT_OK
            if not sets:
                _say("No boundary sets loaded: run `crossforce init`.")
            for s in sets:
                flag = "ACTIVE " if s.active else "       "
                approx = " (approximate)" if s.approximate else ""
                _say(
                    f"{flag}{s.name}{approx}: {s.vintage}; {s.n_forces} forces, {s.n_districts} "
                    f"districts, {s.n_wards} wards; loaded {s.loaded_at:%Y-%m-%d %H:%M} by "
                    f"{s.loaded_by}; source {s.source}"
                )
            return EXIT_OK
        if args.data_command == "load":
            loaded = boundaries.load_pack(
                session, actor=_actor(args), path=args.dir, name=args.name
            )
            if args.json:
                _say(json.dumps(_set_dict(loaded), indent=2))
            else:
                _say(f"Loaded {loaded.name} ({loaded.vintage}), inactive.")
                _say(f"Activate it with: crossforce data activate {loaded.name}")
            return EXIT_OK
        if args.data_command == "activate":
            active = boundaries.activate(session, actor=_actor(args), name=args.name)
            _say(f"Active boundary set: {active.name}")
            return EXIT_OK
    raise InputError(f"unknown data command {args.data_command!r}")


def _print_lookup(result: Any) -> None:
    force = result.force
    head = result.postcode or result.query
    if force is None:
        _say(f"{head}: force unknown")
    else:
        _say(f"{head}: {force.name} ({force.code}; ONS name {force.ons_name!r})")

    def row(label: str, value: Any) -> None:
        _say(f"  {label:<10} {value if value else '—'}")

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
        _say(f"  ! {warning}")


def _cmd_lookup(args: argparse.Namespace) -> int:
    from coordination.lookup import lookup

    if args.bng and args.query:
        raise InputError("Give a postcode or lat,lon, or --bng E,N — not both")
    if not args.bng and not args.query:
        raise InputError("Give a postcode, lat,lon, or --bng E,N")
    result = lookup(args.bng or args.query, bng=bool(args.bng))
    if args.json:
        _say(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_lookup(result)
    return EXIT_OK


def _cmd_resolve(args: argparse.Namespace) -> int:
    from coordination.lookup import resolve_table
    from geo.batch import read_table, write_table

    suffix = args.output.suffix.lower().lstrip(".")
    if suffix not in ("csv", "xlsx"):
        raise InputError(f"{args.output.name}: the output must end in .csv or .xlsx")
    try:
        data = args.input.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {args.input}: {exc.strerror}") from exc
    table = read_table(data, args.input.name)
    result = resolve_table(table, progress=_bar(sys.stderr))
    try:
        args.output.write_bytes(write_table(result.table, suffix))
    except OSError as exc:
        raise InputError(f"Cannot write {args.output}: {exc.strerror}") from exc
    summary = result.summary
    if args.json:
        _say(json.dumps({**summary.__dict__, "output": str(args.output)}))
    else:
        _say(f"{summary}. Written to {args.output}")
    return EXIT_OK


def _cmd_users(args: argparse.Namespace) -> int:
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.settings import get_settings
    from coordination.users import list_users

    if args.users_command == "add":
        return _cmd_users_add(args)
    if args.users_command == "demo-accounts":
        return _cmd_users_demo_accounts(args)
    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        users = list_users(session)
    if args.json:
        _say(json.dumps([json.loads(u.model_dump_json()) for u in users], indent=2))
        return EXIT_OK
    if not users:
        _say("No users yet.")
    for u in users:
        _say(f"{u.username:<20} {u.display_name:<30} {u.force_code}  {u.role}")
    return EXIT_OK


def _read_new_password(args: argparse.Namespace) -> str:
    """The new password: one line of stdin with --password-stdin, else asked twice."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InputError("--password-stdin: no password on stdin")
        return password
    try:
        first = getpass.getpass(f"Password for {args.username}: ")
        second = getpass.getpass("Same password again: ")
    except EOFError:
        raise InputError("No password given: type it, or use --password-stdin") from None
    if first != second:
        raise InputError("The two passwords differ: nothing was changed")
    return first


def _cmd_users_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from coordination.auth import check_password_policy, set_password
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.models import UserCreate
    from coordination.settings import get_settings
    from coordination.users import create_user

    settings = get_settings()
    try:
        data = UserCreate(
            username=args.username,
            display_name=args.display_name or args.username,
            force_code=args.force,
            role=args.role,
            bcu_code=args.bcu,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "user"
        raise InputError(f"{field}: {first['msg']}") from None
    password = _read_new_password(args)
    # Checked before anything is written, so a weak password leaves no half-made user.
    check_password_policy(password, username=data.username, min_length=settings.min_password_length)
    engine = get_engine(settings.database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        user = create_user(session, actor=_actor(args), data=data)
        set_password(session, actor=_actor(args), username=user.username, password=password)
    _say(f"Added {user.username} ({user.role.replace('_', ' ')}, {user.force_code}).")
    return EXIT_OK


def _cmd_users_demo_accounts(args: argparse.Namespace) -> int:
    from coordination.db import get_engine, session_scope, upgrade
    from coordination.demo import DEMO_PASSWORD
    from coordination.settings import get_settings
    from coordination.users import list_demo_accounts

    settings = get_settings()
    if settings.env == "production":
        # Production has no demo accounts and no default password to print.
        return EXIT_OK
    engine = get_engine(settings.database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        accounts = list_demo_accounts(session)
    if not accounts:
        return EXIT_OK
    _say("DEMO ACCOUNTS (development only; synthetic users, never in production)")
    _say(f"  password for each: {DEMO_PASSWORD}")
    for u in accounts:
        where = f"{u.force_code}{'/' + u.bcu_code if u.bcu_code else ''}"
        _say(f"  {u.username:<24} {u.role.replace('_', ' '):<17} {where:<13} {u.display_name}")
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": _cmd_init,
    "data": _cmd_data,
    "lookup": _cmd_lookup,
    "resolve": _cmd_resolve,
    "users": _cmd_users,
}


def _log_file() -> Path | None:
    try:
        from coordination.settings import get_settings

        path = get_settings().data_dir / "logs" / "crossforce.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    except (OSError, ValueError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crossforce`` command line and return its exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=os.environ.get("CROSSFORCE_LOG_LEVEL", "WARNING"))
    from coordination.logging_config import configure_logging

    configure_logging()  # masks PNC IDs, postcodes and dates in every log record
    handler: Callable[[argparse.Namespace], int] = (
        getattr(args, "handler", None) or _COMMANDS[args.command]
    )
    try:
        return handler(args)
    except ReferenceDataError as exc:
        print(f"crossforce: {exc}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CrossforceError as exc:
        print(f"crossforce: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("crossforce: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: log it, never show a traceback
        path = _log_file()
        if path is not None:
            # The traceback goes to the log file only: stderr gets one line.
            crash = logging.getLogger("crossforce.crash")
            crash.propagate = False
            file_handler = logging.FileHandler(path)
            crash.addHandler(file_handler)
            crash.exception("unexpected error in %s", args.command)
            crash.removeHandler(file_handler)
            file_handler.close()
        where = f"; details in {path}" if path else ""
        print(f"crossforce: unexpected error ({type(exc).__name__}){where}", file=sys.stderr)
        return EXIT_UNEXPECTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
