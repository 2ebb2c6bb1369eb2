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
from coordination.core.console import EXIT_BAD_INPUT, EXIT_UNEXPECTED, Parser
from coordination.demo import cli as demo_cli
from coordination.errors import CrossforceError, ReferenceDataError
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
        help="the user acting (default: CROSSFORCE_USER, else your login name)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    setup_cli.register(sub)
    reference_cli.register(sub)
    security_cli.register(sub)
    register_cli.register(sub)
    handoffs_cli.register(sub)
    caseload_cli.register(sub)
    review_commands = review_cli.register(sub)
    packs_cli.register(review_commands)
    demo_cli.register(sub)
    audit_cli.register(sub)
    return parser


def _resolver(args: argparse.Namespace) -> Callable[[], str]:
    def resolve() -> str:
        from coordination.core.settings import get_settings

        return str(args.actor or get_settings().user or f"cli:{getpass.getuser()}")

    return resolve


def _log_file() -> Path | None:
    try:
        from coordination.core.settings import get_settings

        path = get_settings().data_dir / "logs" / "crossforce.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    except (OSError, ValueError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crossforce`` command line and return its exit code."""
    args = build_parser().parse_args(argv)
    args.resolve_actor = _resolver(args)
    logging.basicConfig(level=os.environ.get("CROSSFORCE_LOG_LEVEL", "WARNING"))
    from coordination.core.logs import configure_logging

    configure_logging()  # masks PNC IDs, postcodes and dates in every log record
    handler: Callable[[argparse.Namespace], int] = args.handler
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
