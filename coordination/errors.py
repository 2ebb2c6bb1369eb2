"""The exceptions callers of ``coordination`` catch, in one place.

Geography errors (a malformed postcode, a bad pack) are defined in :mod:`geo.errors` and
re-exported here; the domain's own errors (access refused, conflicts, records not found, sign-in
failures) are defined here. Every one is a :class:`CrossforceError` and a subclass of a built-in
exception, so the CLI and the pages catch by type and show the one-line message it carries.
"""

from __future__ import annotations

from geo.errors import (
    CoordinateError,
    CoverageError,
    CrossforceError,
    FetchError,
    InputError,
    MalformedPostcodeError,
    PackValidationError,
    PostcodeWithoutCoordinatesError,
    ReferenceDataError,
    TargetExistsError,
    UnknownPostcodeError,
)

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BusyError",
    "ConflictError",
    "CoordinateError",
    "CoverageError",
    "CrossforceError",
    "FetchError",
    "InputError",
    "MalformedPostcodeError",
    "NotACaseHolderError",
    "NotFoundError",
    "NotInitialisedError",
    "PackValidationError",
    "PostcodeWithoutCoordinatesError",
    "ReferenceDataError",
    "TargetExistsError",
    "UnknownPostcodeError",
]


class NotFoundError(CrossforceError, LookupError):
    """A named thing (boundary set, user, force, record) does not exist."""


class ConflictError(CrossforceError):
    """The action clashes with the current state (already exists, changed by someone else)."""


class AccessDeniedError(CrossforceError, PermissionError):
    """The acting user may not do this, or may not see this record. The refusal is audited."""


class NotInitialisedError(InputError):
    """The database has not been set up yet: ``crossforce init`` comes first."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "crossforce is not set up in this data directory yet: run `crossforce init`"
        )


class BusyError(CrossforceError):
    """The database stayed busy with another change for too long: trying again will work."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or "The database is busy saving another change: try again in a moment"
        )


class AuthenticationError(CrossforceError):
    """Sign-in failed (wrong username or password, or the account is locked)."""


class NotACaseHolderError(InputError):
    """The person named cannot hold cases (their role is not one that manages cases)."""
