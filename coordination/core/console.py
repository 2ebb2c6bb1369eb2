"""What every command group of the ``crossforce`` command line shares.

Each feature package keeps its commands in its own ``cli.py`` with a ``register(sub)`` function
that adds them to the top-level sub-parsers; the entry point (``coordination.cli.main``) imports
every group and runs the chosen handler. The groups use this module for the parser class, exit
codes, output, progress, argument types, the acting user and a database session, so they never
import the entry point (which imports them).

A handler takes the parsed arguments and returns an exit code. It raises a ``CrossforceError``
subclass for anything the person can fix; the entry point turns that into one line on stderr and
exit code 2.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from coordination.core.serial import dumps
from coordination.errors import InputError

if TYPE_CHECKING:
    from sqlmodel import Session

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "EXIT_UNEXPECTED",
    "Parser",
    "actor",
    "bar",
    "count",
    "iso_date",
    "open_session",
    "optional_date",
    "print_json",
    "progress",
    "read_input",
    "record_id",
    "say",
]

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2

#: The largest id a database row can have (a signed 64-bit integer).
MAX_ID = 2**63 - 1


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def actor(args: argparse.Namespace) -> str:
    """Return the user acting for this command.

    The entry point decides who that is (``--as``, ``CROSSFORCE_USER``, the login name) and
    leaves a resolver on the parsed arguments; it is called only by commands that act, so a
    lookup never asks who you are.
    """
    resolve: Callable[[], str] | None = getattr(args, "resolve_actor", None)
    if resolve is None:
        raise RuntimeError("commands are run through coordination.cli.main")
    return resolve()


def say(text: str = "", *, err: bool = False) -> None:
    """Print one line to stdout (``err=True``: stderr)."""
    print(text, file=sys.stderr if err else sys.stdout)


def print_json(value: Any) -> None:
    """Print any service result as indented JSON (:func:`coordination.core.serial.dumps`)."""
    say(dumps(value))


def progress(message: str) -> None:
    """Print a progress line to stderr, at once."""
    print(f"… {message}", file=sys.stderr, flush=True)


def bar(stream: TextIO | None = None) -> Callable[[int, int], None]:
    """Return a progress callback drawing a bar on a terminal (plain lines otherwise)."""
    out = stream or sys.stderr
    last = [-1]

    def update(done: int, total: int) -> None:
        pct = 100 if total == 0 else int(done * 100 / total)
        if pct == last[0]:
            return
        last[0] = pct
        if out.isatty():
            filled = pct // 4
            out.write(f"\r[{'#' * filled}{'.' * (25 - filled)}] {pct:3d}% {done}/{total}")
            if done >= total:
                out.write("\n")
        elif pct in (0, 100) or pct % 25 == 0:
            out.write(f"{pct}% ({done}/{total})\n")
        out.flush()

    return update


#: Dates typed on the command line lie in this range (anything else is a typing mistake).
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2100, 12, 31)


def _parse_date(text: str) -> date | str:
    """The date, or the reason it is not one."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return f"{text!r} is not a date: expected a date like 2024-03-31"
    if not FIRST_DATE <= day <= LAST_DATE:
        return f"{text!r} is outside {FIRST_DATE.year}–{LAST_DATE.year}"
    return day


def iso_date(text: str) -> date:
    """An argparse type: a date written ``YYYY-MM-DD``, between 1900 and 2100."""
    day = _parse_date(text)
    if isinstance(day, str):
        raise argparse.ArgumentTypeError(day)
    return day


def optional_date(text: str | None, option: str) -> date | None:
    """Parse an optional ``YYYY-MM-DD`` option value, naming the option when it is wrong."""
    if text is None:
        return None
    day = _parse_date(text)
    if isinstance(day, str):
        raise InputError(f"{option} {day}")
    return day


def count(low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type for a whole number from ``low`` to ``high`` (a limit, a size)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} must be from {low} to {high:,}")
        return value

    parse.__name__ = f"a whole number from {low} to {high}"
    return parse


def record_id(text: str) -> int:
    """An argparse type: a record id, a whole number from 1 up."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (an id)") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"{text!r} is not an id (ids start at 1)")
    return value


def read_input(path: Path, *, max_bytes: int) -> bytes:
    """Read an input file whole, after checking it is a regular file of at most ``max_bytes``.

    The checks come first, so a FIFO, a device (``/dev/zero``) or a huge sparse file is refused at
    once instead of hanging or exhausting memory; at most ``max_bytes`` are ever read.

    Raises
    ------
    InputError
        Not there, not a regular file, too large, or unreadable.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path} is not a regular file")
    if info.st_size > max_bytes:
        raise InputError(
            f"{path.name} is {info.st_size / 1024**2:,.1f} MB: files over "
            f"{max_bytes / 1024**2:,.1f} MB are refused"
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror}") from exc
    if len(data) > max_bytes:  # it grew while we looked
        raise InputError(f"{path.name} is larger than {max_bytes / 1024**2:,.1f} MB: refused")
    return data


@contextmanager
def open_session() -> Iterator[Session]:
    """Open a session on the configured database, migrated to the current schema first."""
    from coordination.core.db import get_engine, session_scope, upgrade
    from coordination.core.settings import get_settings

    engine = get_engine(get_settings().database_url_effective)
    upgrade(engine)
    with session_scope(engine) as session:
        yield session
