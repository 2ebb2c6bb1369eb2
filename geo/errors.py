"""Exceptions raised by the geography package.

Every error a person can cause or meet is a small subclass of a built-in exception, so that
callers (the CLI, the pages) can catch by type and show a fixed, safe message. The message of each
exception is written for the person at the keyboard: one line, no internals.

:class:`CrossforceError` is the base of every error crossforce raises on purpose; the domain's
own errors (access refused, conflicts, records not found) subclass it in ``coordination.errors``.
"""

from __future__ import annotations

from collections.abc import Iterable


class CrossforceError(Exception):
    """Base class of every error crossforce raises on purpose."""


class InputError(CrossforceError, ValueError):
    """Something typed or uploaded cannot be used as it is."""


class MalformedPostcodeError(InputError):
    """The text is not shaped like a UK postcode."""


class UnknownPostcodeError(InputError, LookupError):
    """The postcode is well formed but not in the postcode directory."""


class PostcodeWithoutCoordinatesError(InputError):
    """The postcode exists but the directory gives it no location (e.g. a PO box)."""


class CoordinateError(InputError):
    """Coordinates that cannot be parsed, or lie outside the area they claim to be in."""


class ReferenceDataError(CrossforceError):
    """Reference data cannot be read, or is not fit to use.

    Parameters
    ----------
    message
        One-line summary.
    problems
        Every problem found, so that a person can fix them all in one go.
    """

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems: list[str] = list(problems)
        super().__init__(message)

    def __str__(self) -> str:
        base = super().__str__()
        if not self.problems:
            return base
        return f"{base} ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''})"


class PackValidationError(ReferenceDataError):
    """A boundary pack failed validation; ``problems`` lists every failure."""


class TargetExistsError(InputError, FileExistsError):
    """A file or directory to be created is already there (nothing is overwritten)."""


class FetchError(ReferenceDataError, OSError):
    """Downloading official reference files failed after retries."""


class CoverageError(CrossforceError, LookupError):
    """The point lies outside every area the active boundary set covers."""
