"""`crossforce init`: migrate the database and load reference data (safe to run twice)."""

from __future__ import annotations

import argparse
from typing import Any

from coordination.core.console import EXIT_OK, say

INIT_ACCOUNT = "system:init"


def register(sub: Any) -> None:
    """Add ``init`` to the top-level sub-parsers."""
    init = sub.add_parser(
        "init", help="migrate the database and load reference data (safe to rerun)"
    )
    init.set_defaults(handler=_cmd_init)


def _cmd_init(_args: argparse.Namespace) -> int:
    from coordination.core.settings import get_settings
    from coordination.setup.initialise import initialise

    # Setting up is a server-side job: it runs as the init service account, which may manage
    # reference data and nothing else, whoever starts it. Lines are printed as they happen
    # (building the London default takes a while), not again.
    initialise(settings=get_settings(), actor=INIT_ACCOUNT, progress=lambda line: say(line))
    return EXIT_OK
