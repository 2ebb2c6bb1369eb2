"""What a caller supplies to the register, validated: offenders, cases, residences.

Offence categories and review periods are defined here too, because validation needs them.
"""

from __future__ import annotations

import calendar
import math
import unicodedata
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from coordination.core.clock import london_today
from coordination.core.validate import plain_text
from coordination.errors import InputError
from coordination.models import (
    CaseBase,
    OffenderBase,
)
from coordination.register.pnc import normalise_pnc
from geo.postcodes import normalise_postcode

# The OGRS3 current-offence categories (docs/DOMAIN.md), snake_case key → the label in the scale.
OFFENCE_CATEGORIES: dict[str, str] = {
    "violence": "violence",
    "robbery": "robbery",
    "public_order": "public order",
    "sexual_not_child": "sexual (not child)",
    "sexual_child": "sexual (child)",
    "soliciting": "soliciting",
    "burglary_domestic": "burglary (domestic)",
    "burglary_other": "burglary (other)",
    "theft_non_motor": "theft (non-motor)",
    "handling_stolen_goods": "handling stolen goods",
    "fraud_and_forgery": "fraud and forgery",
    "absconding_or_bail": "absconding or bail",
    "taking_and_driving_away": "taking and driving away",
    "theft_from_vehicle": "theft from vehicle",
    "other_motoring": "other motoring",
    "drink_driving": "drink driving",
    "criminal_damage": "criminal damage",
    "drug_import_export_production": "drug import/export/production",
    "drug_possession_supply": "drug possession/supply",
    "other": "other",
}

# Review intervals (docs/DOMAIN.md): MAPPA every 3 months, IOM every 6; other cases as IOM.
REVIEW_MONTHS: dict[str, int] = {
    "mappa": 3,
    "iom_fixed": 6,
    "iom_flex": 6,
    "iom_free": 6,
    "other": 6,
}

# The age of criminal responsibility in England and Wales is 10; nobody managed is older than
# this upper bound, which catches a mistyped century.
MIN_AGE_YEARS = 10
MAX_AGE_YEARS = 110
_NAME_MAX = 100
#: More previous sanctions than this is a typing mistake (OGRS3 caps the count at 50 anyway).
MAX_PREVIOUS_SANCTIONS = 999
_BNG_MAX_E, _BNG_MAX_N = 700_000.0, 1_300_000.0


# -- small helpers -----------------------------------------------------------------------------


def normalise_offence_category(text: str) -> str:
    """Return the snake_case key of an OGRS3 offence category given its key or its label.

    Raises
    ------
    InputError
        If the text names no category.
    """
    if not isinstance(text, str):
        raise InputError("An offence category is text, e.g. 'fraud_and_forgery'")
    cleaned = " ".join(text.strip().lower().split())
    if cleaned.replace(" ", "_") in OFFENCE_CATEGORIES:
        return cleaned.replace(" ", "_")
    for key, label in OFFENCE_CATEGORIES.items():
        if cleaned == label:
            return key
    shown = cleaned[:40] or "(nothing)"
    raise InputError(
        f"{shown!r} is not an OGRS3 offence category (one of: {', '.join(OFFENCE_CATEGORIES)})"
    )


def add_months(day: date, months: int) -> date:
    """Return the same day ``months`` later, clamped to the end of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(programme: str, opened: date) -> date:
    """Return when a case opened on ``opened`` is next due for review (3 months MAPPA, 6 IOM)."""
    return add_months(opened, REVIEW_MONTHS.get(programme, 6))


def _years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_ogrs3_inputs(
    *,
    date_of_birth: date,
    age_at_first_sanction: int | None,
    previous_sanctions: int | None,
    conviction_date: date | None,
    today: date,
) -> None:
    """Check a case's OGRS3 inputs against each other and the person's date of birth.

    Each input may be unknown (``None``); those known must agree.

    Raises
    ------
    InputError
        A count or age out of range, a conviction in the future or before the person was 10,
        or a first sanction after the current conviction (or after today).
    """
    if previous_sanctions is not None and (
        isinstance(previous_sanctions, bool)
        or not isinstance(previous_sanctions, int)
        or not 0 <= previous_sanctions <= MAX_PREVIOUS_SANCTIONS
    ):
        raise InputError(
            f"Previous sanctions is a whole number from 0 to {MAX_PREVIOUS_SANCTIONS}, "
            f"not {previous_sanctions!r}"
        )
    if age_at_first_sanction is not None and (
        isinstance(age_at_first_sanction, bool)
        or not isinstance(age_at_first_sanction, int)
        or not MIN_AGE_YEARS <= age_at_first_sanction <= MAX_AGE_YEARS
    ):
        raise InputError(
            f"The age at first sanction is {MIN_AGE_YEARS} to {MAX_AGE_YEARS}, "
            f"not {age_at_first_sanction!r}"
        )
    if age_at_first_sanction is not None and age_at_first_sanction > _years_between(
        date_of_birth, today
    ):
        raise InputError(
            f"The age at first sanction ({age_at_first_sanction}) is older than the person is now"
        )
    if conviction_date is None:
        return
    if conviction_date > today:
        raise InputError(
            f"The conviction date {conviction_date.isoformat()} is in the future "
            f"(today is {today.isoformat()})"
        )
    at_conviction = _years_between(date_of_birth, conviction_date)
    if at_conviction < MIN_AGE_YEARS:
        raise InputError(
            f"The conviction date {conviction_date.isoformat()} is before the person was "
            f"{MIN_AGE_YEARS} (the age of criminal responsibility)"
        )
    if age_at_first_sanction is not None and age_at_first_sanction > at_conviction:
        raise InputError(
            f"The age at first sanction ({age_at_first_sanction}) is after the age at the current "
            f"conviction ({at_conviction})"
        )


def _clean_name(value: str, what: str) -> str:
    try:
        # One line of plain text: a line break or control character in a name is a mistake.
        plain = plain_text(value, what, max_length=10 * _NAME_MAX)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    cleaned = " ".join(unicodedata.normalize("NFC", plain).split())
    if not cleaned:
        raise ValueError(f"{what} must not be blank")
    if len(cleaned) > _NAME_MAX:
        raise ValueError(f"{what} is longer than {_NAME_MAX} characters")
    if any(not ch.isprintable() for ch in cleaned):
        raise ValueError(f"{what} contains characters that cannot be printed")
    return cleaned


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], **data: Any) -> M:
    """Build an input model, turning a validation failure into one clear :class:`InputError`.

    Parameters
    ----------
    model
        :class:`OffenderCreate`, :class:`CaseCreate` or :class:`Residence`.
    **data
        Its fields.

    Raises
    ------
    InputError
        The first problem found, as one line naming the field.
    """
    try:
        return model(**data)
    except ValidationError as exc:
        raise _input_error(exc) from None


def _input_error(exc: ValidationError) -> InputError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    # Pydantic prefixes messages of ValueErrors raised by validators.
    message = message.removeprefix("Value error, ")
    return InputError(f"{where}: {message}" if where else message)


# -- inputs ------------------------------------------------------------------------------------


class OffenderCreate(OffenderBase):
    """A new offender: PNC ID checked and stored long-form, names non-blank, DOB sensible."""

    @field_validator("pnc_id", mode="before")
    @classmethod
    def _pnc(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("a PNC ID is text like 2019/0012345G")
        return normalise_pnc(value)

    @field_validator("first_name", "last_name", mode="before")
    @classmethod
    def _names(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("a name is text")
        return _clean_name(value, "a name")

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError("aliases are a list of names")
        return list(dict.fromkeys(_clean_name(v, "an alias") for v in value if v.strip()))

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: date) -> date:
        today = london_today()
        if value >= today:
            raise ValueError("the date of birth must be in the past")
        age = _years_between(value, today)
        if age < MIN_AGE_YEARS:
            raise ValueError(
                f"a date of birth of {value.isoformat()} makes the person {age}, below the age "
                f"of criminal responsibility ({MIN_AGE_YEARS})"
            )
        if age > MAX_AGE_YEARS:
            raise ValueError(
                f"a date of birth of {value.isoformat()} makes the person {age}: check the year"
            )
        return value


class CaseCreate(CaseBase):
    """A new case: MAPPA category and level given exactly when the programme is MAPPA.

    The OGRS3 inputs are optional; those given are checked for range here and against the
    person's date of birth when the case is registered (:func:`check_ogrs3_inputs`).
    """

    @field_validator("offence_category", mode="before")
    @classmethod
    def _offence(cls, value: Any) -> str:
        return normalise_offence_category(value)

    @field_validator("previous_sanctions")
    @classmethod
    def _sanctions(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= MAX_PREVIOUS_SANCTIONS:
            raise ValueError(f"previous sanctions are 0 to {MAX_PREVIOUS_SANCTIONS}, not {value}")
        return value

    @field_validator("age_at_first_sanction")
    @classmethod
    def _first_sanction(cls, value: int | None) -> int | None:
        if value is not None and not MIN_AGE_YEARS <= value <= MAX_AGE_YEARS:
            raise ValueError(
                f"the age at first sanction is {MIN_AGE_YEARS} to {MAX_AGE_YEARS}, not {value}"
            )
        return value

    @field_validator("conviction_date", "risk_assessed_on")
    @classmethod
    def _not_future(cls, value: date | None) -> date | None:
        if value is not None and value > london_today():
            raise ValueError(f"{value.isoformat()} is in the future")
        return value

    @model_validator(mode="after")
    def _mappa(self) -> CaseCreate:
        mappa = self.programme == "mappa"
        given = (self.mappa_category is not None, self.mappa_level is not None)
        if mappa and not all(given):
            raise ValueError("a MAPPA case needs its category (1-3) and level (1-3)")
        if not mappa and any(given):
            raise ValueError(
                f"MAPPA category and level belong to MAPPA cases only, not to {self.programme}"
            )
        for value, what in ((self.mappa_category, "category"), (self.mappa_level, "level")):
            if value is not None and not 1 <= value <= 3:
                raise ValueError(f"MAPPA {what} is 1, 2 or 3, not {value}")
        return self


ResidenceState = Literal["residence", "no_fixed_abode", "unknown"]


class Residence(BaseModel):
    """Where a person lives now: a postcode, or BNG easting/northing, or a state.

    "No fixed abode" and "unknown" are states, never blank strings.
    """

    model_config = ConfigDict(frozen=True)

    state: ResidenceState = "residence"
    postcode: str | None = None
    easting: float | None = None
    northing: float | None = None

    @field_validator("postcode", mode="before")
    @classmethod
    def _postcode(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("a postcode is text")
        return normalise_postcode(value)

    @model_validator(mode="after")
    def _shape(self) -> Residence:
        point = (self.easting, self.northing)
        if self.state != "residence":
            if self.postcode is not None or any(v is not None for v in point):
                raise ValueError(f"{self.state.replace('_', ' ')} takes no postcode or coordinates")
            return self
        has_point = all(v is not None for v in point)
        if any(v is not None for v in point) and not has_point:
            raise ValueError("give both easting and northing")
        if (self.postcode is None) == (not has_point):
            raise ValueError("give a postcode or easting/northing (one of them)")
        if has_point:
            e, n = float(self.easting or 0.0), float(self.northing or 0.0)
            if not (math.isfinite(e) and math.isfinite(n)):
                raise ValueError("coordinates must be numbers")
            if not (0 <= e <= _BNG_MAX_E and 0 <= n <= _BNG_MAX_N):
                raise ValueError(
                    f"E {e:.0f}, N {n:.0f} is off the British National Grid (0-700000, 0-1300000)"
                )
        return self

    @classmethod
    def at_postcode(cls, postcode: str) -> Residence:
        """A residence at a postcode (any case and spacing)."""
        return validated(cls, postcode=postcode)

    @classmethod
    def at_point(cls, easting: float, northing: float) -> Residence:
        """A residence at British National Grid metres."""
        return validated(cls, easting=easting, northing=northing)

    @classmethod
    def no_fixed_abode(cls) -> Residence:
        """No fixed abode."""
        return cls(state="no_fixed_abode")

    @classmethod
    def unknown(cls) -> Residence:
        """Address unknown."""
        return cls(state="unknown")
