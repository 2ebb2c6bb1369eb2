"""`crossforce review …` and `crossforce ogrs3` (wired in by `coordination.cli`)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Add this group's sub-commands to the top-level parser's sub-parsers."""
