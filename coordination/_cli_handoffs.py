"""`crossforce` sub-commands for the handoffs service (wired in by `coordination.cli`)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add this group's sub-commands to the top-level parser's sub-parsers.

    Each sub-command sets handler=fn (fn(args) -> int) with set_defaults; errors are
    raised as CrossforceError subclasses and turned into exit code 2 by the CLI.
    """
