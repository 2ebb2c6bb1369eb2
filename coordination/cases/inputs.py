"""What a caller types about a case, parsed: risk levels, closure reasons, IOM cohorts, dates.

Each parser accepts the stored key or the words a person would write ("very high", "Sentence
ended", "moved out of the coordinated area") and raises :class:`~coordination.errors.InputError`
with one line naming what it accepts.
"""

from __future__ import annotations

from datetime import date

from coordination.core.wording import CLOSURE_LABELS
from coordination.errors import InputError
from coordination.models import CLOSURE_REASONS, RISKS, SEXES

__all__ = [
    "CLOSURE_LABELS",
    "IOM_COHORTS",
    "RISK_LABELS",
    "check_not_future",
    "check_not_past",
    "parse_closure_reason",
    "parse_cohort",
    "parse_risk",
    "parse_sex",
]

RISK_LABELS: dict[str, str] = {
    "low": "low",
    "medium": "medium",
    "high": "high",
    "very_high": "very high",
}
# Other words people use for the same closure reasons.
_CLOSURE_SYNONYMS: dict[str, str] = {
    "sentence_or_licence_ended": "sentence_ended",
    "sentence/licence_ended": "sentence_ended",
    "licence_ended": "sentence_ended",
    "license_ended": "sentence_ended",
    "sentence_expired": "sentence_ended",
    "moved_out_of_the_coordinated_area": "moved_out",
    "moved_out_of_area": "moved_out",
    "moved_away": "moved_out",
    "died": "deceased",
    "de_registered": "deregistered",
}
#: IOM cohorts: what a person types -> the programme the case then has.
IOM_COHORTS: dict[str, str] = {"fixed": "iom_fixed", "flex": "iom_flex", "free": "iom_free"}

if set(RISK_LABELS) != set(RISKS) or set(CLOSURE_LABELS) != set(CLOSURE_REASONS):
    raise RuntimeError("the case input labels and the register's values differ")


def _key(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"{what} is text, not {type(text).__name__}")
    return "_".join(text.strip().lower().replace("-", " ").split())


def _shown(text: str) -> str:
    return repr(text.strip()[:40]) if text.strip() else "(nothing)"


def parse_risk(text: str) -> str:
    """Return the stored risk of serious harm (``low`` … ``very_high``) for what was typed.

    Raises
    ------
    InputError
        Not one of low, medium, high, very high.
    """
    key = _key(text, "a risk level")
    if key in RISK_LABELS:
        return key
    raise InputError(
        f"{_shown(text)} is not a risk of serious harm: low, medium, high or very high"
    )


def parse_closure_reason(text: str) -> str:
    """Return the closure reason key (``sentence_ended``, ``deregistered`` …) for what was typed.

    Raises
    ------
    InputError
        Names no closure reason.
    """
    key = _key(text, "a closure reason")
    if key in CLOSURE_LABELS:
        return key
    key = _CLOSURE_SYNONYMS.get(key, key)
    if key in CLOSURE_LABELS:
        return key
    for reason, label in CLOSURE_LABELS.items():
        if key == _key(label, "a closure reason"):
            return reason
    raise InputError(
        f"{_shown(text)} is not a closure reason (one of: {', '.join(CLOSURE_LABELS)})"
    )


def parse_cohort(text: str) -> str:
    """Return the IOM programme (``iom_fixed`` …) for a cohort typed as fixed, flex or free.

    Raises
    ------
    InputError
        Names no IOM cohort.
    """
    key = _key(text, "an IOM cohort").removeprefix("iom_")
    if key in IOM_COHORTS:
        return IOM_COHORTS[key]
    raise InputError(f"{_shown(text)} is not an IOM cohort: fixed, flex or free")


def parse_sex(text: str) -> str:
    """Return ``male``, ``female`` or ``not_known`` for what was typed.

    Raises
    ------
    InputError
        Anything else.
    """
    key = _key(text, "sex")
    key = {"m": "male", "f": "female", "unknown": "not_known"}.get(key, key)
    if key in SEXES:
        return key
    raise InputError(f"{_shown(text)} is not a sex the register holds: male, female, not known")


def check_not_future(day: date, today: date, what: str) -> date:
    """Return ``day``, refusing a date after ``today`` (an assessment cannot happen later).

    Raises
    ------
    InputError
        ``day`` is in the future.
    """
    if day > today:
        raise InputError(
            f"{what} {day.isoformat()} is in the future (today is {today.isoformat()})"
        )
    return day


def check_not_past(day: date, today: date, what: str) -> date:
    """Return ``day``, refusing a date before ``today`` (a review cannot be due yesterday).

    Raises
    ------
    InputError
        ``day`` is in the past.
    """
    if day < today:
        raise InputError(f"{what} {day.isoformat()} is in the past (today is {today.isoformat()})")
    return day
