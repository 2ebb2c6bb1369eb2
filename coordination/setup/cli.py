"""`crossforce init`: migrate the database and load reference data (safe to run twice)."""

from __future__ import annotations

import argparse
from typing import Any

from coordination.core.console import EXIT_OK, Parser, say

INIT_ACCOUNT = "system:init"


def register(sub: Any) -> None:
    """Add ``init`` to the top-level sub-parsers."""
    init = sub.add_parser(
        "init", help="migrate the database and load reference data (safe to rerun)"
    )
    init.set_defaults(handler=_cmd_init)

    db = sub.add_parser("db", help="the database itself").add_subparsers(
        dest="db_command", required=True, parser_class=Parser
    )
    grant = db.add_parser(
        "grant-app-role",
        help="PostgreSQL: let ROLE run crossforce but never rewrite the audit log "
        "(run as the tables' owner)",
    )
    grant.add_argument("role", help="an existing PostgreSQL role, e.g. crossforce_app")
    grant.set_defaults(handler=_cmd_grant_app_role)


def _cmd_init(_args: argparse.Namespace) -> int:
    from coordination.core.settings import get_settings
    from coordination.setup.initialise import initialise

    # Setting up is a server-side job: it runs as the init service account, which may manage
    # reference data and nothing else, whoever starts it. Lines are printed as they happen
    # (building the London default takes a while), not again.
    initialise(settings=get_settings(), actor=INIT_ACCOUNT, progress=lambda line: say(line))
    return EXIT_OK


def _cmd_grant_app_role(args: argparse.Namespace) -> int:
    from coordination.core.db import get_engine, grant_app_role, upgrade
    from coordination.core.settings import get_settings

    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)  # the owner brings the schema up to date first
    for statement in grant_app_role(engine, args.role):
        say(statement)
    say(f"{args.role} may now run crossforce; point CROSSFORCE_DATABASE_URL at it.")
    return EXIT_OK
