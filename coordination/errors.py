"""The exceptions callers of ``coordination`` catch, in one place.

They are defined in :mod:`geo.errors` so that ``geo`` can raise them without importing the
domain; this module is what the CLI and the pages import.
"""

from geo.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    CoordinateError,
    CoverageError,
    CrossforceError,
    FetchError,
    InputError,
    MalformedPostcodeError,
    NotFoundError,
    PackValidationError,
    PostcodeWithoutCoordinatesError,
    ReferenceDataError,
    UnknownPostcodeError,
)

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "ConflictError",
    "CoordinateError",
    "CoverageError",
    "CrossforceError",
    "FetchError",
    "InputError",
    "MalformedPostcodeError",
    "NotFoundError",
    "PackValidationError",
    "PostcodeWithoutCoordinatesError",
    "ReferenceDataError",
    "UnknownPostcodeError",
]
