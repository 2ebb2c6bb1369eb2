"""The ``crossforce`` command line: the entry point that wires every command group together.

Human output by default, ``--json`` for scripts. Bad input exits 2 with one clear line on stderr
(a pack that fails validation also lists each problem beneath it); an unexpected failure exits 1
with a pointer to the log, never a traceback.

Each feature package keeps its commands in its own ``cli.py``; this module imports them all,
decides who is acting, and runs the chosen handler. Heavy imports happen inside the handlers, so
``crossforce lookup`` loads only what a lookup needs.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from coordination.audit import cli as audit_cli
from coordination.caseload import cli as caseload_cli
from coordination.cases import cli as cases_cli
from coordination.core.console import EXIT_BAD_INPUT, EXIT_UNEXPECTED, Parser
from coordination.demo import cli as demo_cli
from coordination.errors import AuthenticationError, CrossforceError, ReferenceDataError
from coordination.handoffs import cli as handoffs_cli
from coordination.packs import cli as packs_cli
from coordination.reference import cli as reference_cli
from coordination.register import cli as register_cli
from coordination.review import cli as review_cli
from coordination.security import cli as security_cli
from coordination.setup import cli as setup_cli

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every ``crossforce`` command."""
    parser = Parser(prog="crossforce", description="Cross-force offender management coordination.")
    parser.add_argument(
        "--as",
        dest="actor",
        metavar="USERNAME",
        help="who you are (default: CROSSFORCE_USER); outside development you then give your "
        "password, or set CROSSFORCE_TOKEN instead",
    )
    parser.add_argument(
        "--password-stdin",
        dest="sign_in_password_stdin",
        action="store_true",
        help="read your own password from the first line of stdin (scripts)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    setup_cli.register(sub)
    reference_cli.register(sub)
    security_cli.register(sub)
    register_cli.register(sub)
    handoffs_cli.register(sub)
    cases_cli.register(caseload_cli.register(sub))
    review_commands = review_cli.register(sub)
    packs_cli.register(review_commands)
    demo_cli.register(sub)
    audit_cli.register(sub)
    return parser


def _resolver(args: argparse.Namespace) -> Callable[[], str]:
    """Who is acting, decided once and only when a command first asks."""
    decided: list[str] = []

    def resolve() -> str:
        if not decided:
            decided.append(_identify(args))
        return decided[0]

    return resolve


def _identify(args: argparse.Namespace) -> str:
    """Prove who is at the keyboard: a token, or a username and its password.

    In development a name is trusted as it is (``--as``, ``CROSSFORCE_USER``, else the login
    name), so scripts and the demo need no passwords. Elsewhere a person proves who they are
    (failed passwords count towards the account's lock-out, as on the web), and ``system:``
    names, which are crossforce's own jobs, are refused on the command line.
    """
    from coordination.core.console import open_session
    from coordination.core.settings import get_settings

    settings = get_settings()
    token = os.environ.get("CROSSFORCE_TOKEN", "").strip()
    if token:
        from coordination.security.tokens import authenticate_token

        with open_session() as session:
            return authenticate_token(session, token=token)
    name = str(args.actor or settings.user or "").strip()
    if settings.env == "development":
        return name or f"cli:{getpass.getuser()}"
    if not name:
        raise AuthenticationError(
            "Say who you are: --as USERNAME (then your password) or CROSSFORCE_TOKEN"
        )
    if name.lower().startswith("system:"):
        raise AuthenticationError(
            f"{name!r} is one of crossforce's own jobs, not a person: sign in as yourself"
        )
    password = _own_password(args, name)
    from coordination.security.auth import authenticate

    with open_session() as session:
        return authenticate(session, username=name, password=password).username


def _own_password(args: argparse.Namespace, name: str) -> str:
    if args.sign_in_password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise AuthenticationError("--password-stdin: no password on stdin")
        return password
    if not sys.stdin.isatty():
        raise AuthenticationError(
            f"Signing in as {name} needs your password: use --password-stdin, or CROSSFORCE_TOKEN"
        )
    try:
        return getpass.getpass(f"Password for {name}: ")
    except EOFError:
        raise AuthenticationError("No password given") from None


def _log_file() -> Path | None:
    try:
        from coordination.core.settings import get_settings

        path = get_settings().data_dir / "logs" / "crossforce.log"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)  # only its owner reads the log, whatever the umask
        return path
    except (OSError, ValueError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crossforce`` command line and return its exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (one line, printed by the parser)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_BAD_INPUT
    args.resolve_actor = _resolver(args)
    logging.basicConfig(level=os.environ.get("CROSSFORCE_LOG_LEVEL", "WARNING"))
    from coordination.core.logs import RedactingFilter, configure_logging

    configure_logging()  # masks PNC IDs, postcodes, dates and exception messages in every record
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        if args.sign_in_password_stdin:
            # Your own password is the first line of stdin, read before the command reads any
            # of its own (such as a new user's password on the next line).
            args.resolve_actor()
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
            # Not a root handler, so configure_logging left it bare: it redacts on its own.
            file_handler.addFilter(RedactingFilter())
            crash.addHandler(file_handler)
            crash.exception("unexpected error in %s", args.command)
            crash.removeHandler(file_handler)
            file_handler.close()
        where = f"; details in {path}" if path else ""
        print(f"crossforce: unexpected error ({type(exc).__name__}){where}", file=sys.stderr)
        return EXIT_UNEXPECTED
