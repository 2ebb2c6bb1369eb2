"""Application logging without personal data.

Every record logged anywhere in the process (crossforce, libraries, the CLI's crash log) passes
through :func:`redact_record` once :func:`configure_logging` has run: PNC IDs, postcodes and dates
(a date of birth looks like any other date, so every date is masked) in the message, its
arguments and any traceback become ``[PNC]``, ``[POSTCODE]`` and ``[DATE]``, and ``extra`` fields
marked personal become ``[REDACTED]``.

Names cannot be recognised by pattern, so the rule is to log record ids and error types, never
free text from records. Services never pass names to a log call (a test scans for it), and
redaction holds the rule where text slips through:

- an exception, in a traceback or passed as an argument, is written as its type and only the
  parts known to hold no record values (:func:`describe_exception`): a database error's SQL
  (bound, so without values), SQLSTATE and constraint; a validation error's fields and error
  types; never the message, which may quote the row or the input that failed (PostgreSQL's
  "Failing row contains (…, Zebedee, Quxworthy, …)", pydantic's ``input_value='…'``);
- a known personal field written out as ``first_name='…'`` or ``"postcode": "…"`` (a model's
  repr, a dict, JSON) has its value masked;
- SQLAlchemy's engine logger, which at INFO and DEBUG writes statements and result rows, is kept
  at WARNING (the engines also hide bound parameters, ``coordination.core.db``).

To log a record's personal fields deliberately for debugging, mark them::

    log.info("registered", extra=personal(first_name=name))  # logged as [REDACTED]

The CLI (``coordination.cli.main``) and the app (``app.py``) call :func:`configure_logging`.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

__all__ = [
    "PERSONAL_ATTRIBUTES",
    "PNC_RE",
    "POSTCODE_RE",
    "RedactingFilter",
    "configure_logging",
    "describe_exception",
    "format_exception",
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
# Python's repr of a date or datetime (``datetime.date(1990, 2, 3)``), as a model's repr shows it.
_DATE_RES = (
    re.compile(r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)"),
    re.compile(r"(?<!\d)\d{1,2}[/.-]\d{1,2}[/.-]\d{2}(?:\d{2})?(?!\d)"),
    re.compile(r"\b(?:datetime\.)?date(?:time)?\(\s*\d{4}\s*,\s*\d{1,2}\s*,\s*\d{1,2}[^)]*\)"),
)
REDACTED = "[REDACTED]"
WITHHELD = "[message withheld]"
# Fields that hold a person's name, birth date, address or free text about them.
_PERSONAL_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "full_name",
        "display_name",
        "forename",
        "surname",
        "alias",
        "aliases",
        "date_of_birth",
        "dob",
        "pnc",
        "pnc_id",
        "postcode",
        "address",
        "easting",
        "northing",
        "justification",
        "reason",
        "note",
        "notes",
        "description",
        "offender_name",
        "chair",
        "attendees",
        "recipients",
    }
)
# ``extra`` keys that are personal whatever the caller says (``name`` too: as an extra it is the
# caller's, though ``name=`` in text is far too common to mask).
PERSONAL_ATTRIBUTES: frozenset[str] = _PERSONAL_FIELDS | {"name"}
# ``first_name='Ann'``, ``"postcode": "E8 1DY"``, ``'aliases': ['A', 'B']``: the value is masked.
_FIELD_VALUE_RE = re.compile(
    r"(?P<key>\b(?:"
    + "|".join(sorted(_PERSONAL_FIELDS, key=len, reverse=True))
    + r""")\b['"]?\s*[=:]\s*)(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\[[^\]]*\]"""
    r"|\([^)]*\)|[^\s,;)}\]]+)",
    re.IGNORECASE,
)
# SQLite's constraint messages: schema names only ("UNIQUE constraint failed: offender.pnc_id").
_SQLITE_CONSTRAINT = re.compile(
    r"(?:UNIQUE|CHECK|NOT NULL|FOREIGN KEY) constraint failed(?:: [\w., ]+)?"
)
# How Python joins the exceptions of a chain.
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
# Exceptions whose messages the interpreter writes about code (names, types, indexes), never
# about data; any other type's message is withheld. Exact types: a subclass may say anything.
_CODE_MESSAGES: frozenset[type[BaseException]] = frozenset(
    {
        AttributeError,
        ImportError,
        IndexError,
        ModuleNotFoundError,
        NameError,
        NotImplementedError,
        RecursionError,
        UnboundLocalError,
        ZeroDivisionError,
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
    """Mask PNC IDs, postcodes, dates and the values of known personal fields in ``text``.

    PNC IDs go first: ``19/12345G`` must not be half-read as a date; dates before fields, so a
    ``date_of_birth=datetime.date(1990, 2, 3)`` is masked whole.
    """
    text = PNC_RE.sub("[PNC]", text)
    for pattern in _DATE_RES:
        text = pattern.sub("[DATE]", text)
    text = POSTCODE_RE.sub("[POSTCODE]", text)
    return _FIELD_VALUE_RE.sub(lambda m: f"{m['key']}{REDACTED}", text)


def _qualified(exc: BaseException) -> str:
    kind = type(exc)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _driver_parts(exc: BaseException) -> list[str]:
    """What a database driver's error says without quoting data: its SQLSTATE and names."""
    parts = []
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "sqlite_errorname", None)
    if isinstance(sqlstate, str) and sqlstate:
        parts.append(f"SQLSTATE {sqlstate}" if sqlstate[:1].isdigit() else sqlstate)
    message = str(exc)
    if type(exc).__module__ == "sqlite3" and _SQLITE_CONSTRAINT.fullmatch(message):
        # SQLite names the constraint and its columns, never the values.
        parts.append(message)
    diag = getattr(exc, "diag", None)
    for what in ("constraint_name", "table_name", "column_name"):
        value = getattr(diag, what, None) if diag is not None else None
        if isinstance(value, str) and value:
            parts.append(f"{what.removesuffix('_name')} {value}")
    return parts


def describe_exception(exc: BaseException) -> str:
    """One line naming an exception without any record value it may quote.

    Parameters
    ----------
    exc
        Any exception.

    Returns
    -------
    str
        ``TypeName: what can be said``. A SQLAlchemy error gives its driver error's type,
        SQLSTATE and constraint, and its SQL (parameters are bound, so it holds no values); a
        pydantic validation error its model, fields and error types; an ``OSError`` its errno;
        the interpreter's own errors about code (``AttributeError``, ``NameError`` …) their
        message. Any other message is withheld: it may quote the input or the row that failed.
    """
    name = _qualified(exc)
    parts: list[str] = []
    orig = getattr(exc, "orig", None)
    statement = getattr(exc, "statement", None)
    errors = getattr(exc, "errors", None)
    if isinstance(orig, BaseException) or isinstance(statement, str):
        # sqlalchemy.exc.StatementError and its DBAPIError family.
        if isinstance(orig, BaseException):
            parts.append(_qualified(orig))
            parts += _driver_parts(orig)
        if isinstance(statement, str):
            parts.append(f"SQL: {' '.join(statement.split())}")
    elif _driver_parts(exc):
        parts += _driver_parts(exc)
    elif callable(errors) and hasattr(exc, "title"):
        # pydantic's ValidationError: where and what kind, never the input it was given.
        try:
            found = errors(include_input=False, include_context=False, include_url=False)
        except TypeError:  # pragma: no cover - another library's ``errors()``
            found = []
        fields = [
            f"{'.'.join(str(part) for part in e.get('loc', ())) or '(model)'} [{e.get('type')}]"
            for e in found
        ]
        parts.append(f"{exc.title}: {', '.join(fields) or 'invalid'}")
    elif isinstance(exc, OSError):
        parts.append(f"errno {exc.errno}" if exc.errno is not None else WITHHELD)
    elif type(exc) in _CODE_MESSAGES:
        parts.append(str(exc))
    else:
        parts.append(WITHHELD)
    return redact_text(f"{name}: {'; '.join(p for p in parts if p)}")


def format_exception(
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
) -> str:
    """A traceback as Python prints it, each exception of the chain by :func:`describe_exception`.

    The frames (files, lines, functions, source lines) are code and are kept; what the
    exceptions say is not, and neither are their notes.
    """
    if exc is None:
        return "".join(traceback.format_exception_only(exc_type, None)).rstrip("\n")
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    lines: list[str] = []
    for item, after in reversed(chain):
        trace = item.__traceback__ if item is not exc else tb
        if trace is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(trace))
        lines.append(describe_exception(item) + "\n")
        if after:
            lines.append(after)
    return "".join(lines).rstrip("\n")


def _safe_args(args: Any) -> Any:
    """The arguments of a log call with exceptions described rather than quoted."""
    if isinstance(args, tuple):
        return tuple(describe_exception(a) if isinstance(a, BaseException) else a for a in args)
    if isinstance(args, Mapping):
        return {
            k: describe_exception(v) if isinstance(v, BaseException) else v for k, v in args.items()
        }
    return args


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
    # The marker holds the masked message itself: a record whose message was set again after
    # masking (``logging.makeLogRecord`` fills a record made by the factory) is masked again.
    if getattr(record, _DONE, None) is not record.msg or record.args:
        if isinstance(record.msg, BaseException):
            record.msg = describe_exception(record.msg)
        record.args = _safe_args(record.args)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = format_exception(*record.exc_info)
        if record.exc_info:
            # Formatted above: no handler may format the exception again, message and all.
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        setattr(record, _DONE, record.msg)
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
    SQLAlchemy's engine logger is held at ``WARNING`` whatever the root level, since below it
    the engine writes statements and result rows.
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
    engine = logging.getLogger("sqlalchemy.engine")
    if engine.getEffectiveLevel() < logging.WARNING:
        # At INFO the engine logs every statement, at DEBUG every result row: names and dates.
        engine.setLevel(logging.WARNING)
