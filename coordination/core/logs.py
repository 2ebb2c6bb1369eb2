"""Application logging without personal data.

Every record logged anywhere in the process (crossforce, libraries, the CLI's crash log) passes
through :func:`redact_record` once :func:`configure_logging` has run: PNC IDs, postcodes and dates
(a date of birth looks like any other date, so every date is masked) in the message, its
arguments and any traceback become ``[PNC]``, ``[POSTCODE]`` and ``[DATE]``, and ``extra`` fields
marked personal become ``[REDACTED]``.

Names cannot be recognised by pattern, so services never log them (a test greps for it); to log
a record's personal fields deliberately for debugging, mark them::

    log.info("registered", extra=personal(first_name=name))  # logged as [REDACTED]

The CLI (``coordination.cli.main``) and the app (``app.py``) call :func:`configure_logging`.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from collections.abc import Iterable
from typing import Any

__all__ = [
    "PERSONAL_ATTRIBUTES",
    "PNC_RE",
    "POSTCODE_RE",
    "RedactingFilter",
    "configure_logging",
    "personal",
    "redact_record",
    "redact_text",
]

# The long (2019/0012345G) and short (19/12345G) PNC forms, with or without leading zeros.
PNC_RE = re.compile(r"\b\d{2}(?:\d{2})?/\d{1,7}[A-Z]\b", re.IGNORECASE)
# UK postcodes, spaced or not, any case (EC2V 7HH, ec2v7hh, GIR 0AA).
POSTCODE_RE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE
)
# ISO dates (1990-02-03, also inside timestamps) and day/month/year in /, - or . form.
_DATE_RES = (
    re.compile(r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)"),
    re.compile(r"(?<!\d)\d{1,2}[/.-]\d{1,2}[/.-]\d{2}(?:\d{2})?(?!\d)"),
)
REDACTED = "[REDACTED]"
# ``extra`` keys that are personal whatever the caller says.
PERSONAL_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "first_name",
        "last_name",
        "name",
        "full_name",
        "aliases",
        "date_of_birth",
        "dob",
        "pnc",
        "pnc_id",
        "postcode",
        "address",
        "easting",
        "northing",
    }
)
# The ``extra`` key naming further attributes to redact (see :func:`personal`).
PERSONAL_MARKER = "personal"
_DONE = "_crossforce_redacted"
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def personal(**fields: Any) -> dict[str, Any]:
    """Return ``extra=`` for a log call with every field marked personal (logged redacted)."""
    return {**fields, PERSONAL_MARKER: tuple(fields)}


def redact_text(text: str) -> str:
    """Mask PNC IDs, postcodes and dates in ``text``.

    PNC IDs go first: ``19/12345G`` must not be half-read as a date.
    """
    text = PNC_RE.sub("[PNC]", text)
    for pattern in _DATE_RES:
        text = pattern.sub("[DATE]", text)
    return POSTCODE_RE.sub("[POSTCODE]", text)


def _marked(record: logging.LogRecord) -> set[str]:
    marked = getattr(record, PERSONAL_MARKER, None)
    names: set[str] = set(PERSONAL_ATTRIBUTES)
    if isinstance(marked, str):
        names.add(marked)
    elif isinstance(marked, Iterable):
        names.update(str(name) for name in marked)
    return names - _STANDARD


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact one record in place and return it; running it again changes nothing.

    The message is formatted with its arguments and masked, so ``args`` are cleared; a traceback
    is formatted and masked now (handlers print ``exc_text`` when it is set), because exception
    messages often quote the input that failed. Extra attributes marked personal (or with a
    personal name such as ``pnc_id``) become ``[REDACTED]``; other text extras are masked.
    """
    if not getattr(record, _DONE, False):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        setattr(record, _DONE, True)
    # Extras are set after the record factory runs, so this part runs again in the filter.
    marked = _marked(record)
    for name, value in list(record.__dict__.items()):
        if name in _STANDARD or name in (_DONE, PERSONAL_MARKER):
            continue
        if name in marked:
            record.__dict__[name] = REDACTED
        elif isinstance(value, str):
            record.__dict__[name] = redact_text(value)
    return record


class RedactingFilter(logging.Filter):
    """A logging filter that removes personal data from every record it sees (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place and let it through."""
        redact_record(record)
        return True


_FILTER = RedactingFilter()
_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    # ``extra`` is applied after the factory runs, so marked fields are masked by the handler
    # filter; the factory covers records of loggers whose handlers were added later.
    return redact_record(_base_factory(*args, **kwargs))


def configure_logging(level: str | int | None = None) -> None:
    """Configure process logging once: a stderr handler if none exists, and redaction everywhere.

    Parameters
    ----------
    level
        Root level. When the root logger has no handler yet, one is added at this level
        (default ``CROSSFORCE_LOG_LEVEL``, else ``WARNING``); otherwise the level is left alone
        unless given.

    Notes
    -----
    Safe to call repeatedly (Streamlit reruns ``app.py`` on every interaction). Redaction is
    installed twice over: in the record factory, so every record created anywhere is masked,
    and as a filter on every root handler, which also masks ``extra`` fields marked personal.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level or os.environ.get("CROSSFORCE_LOG_LEVEL", "WARNING"))
    elif level is not None:
        root.setLevel(level)
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)
