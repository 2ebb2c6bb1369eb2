"""OGRS3, the Offender Group Reconviction Scale version 3 (Howard et al. 2009, Ministry of Justice).

The probability of proven reoffending within one and two years, from static factors only, exactly
as ``docs/DOMAIN.md`` gives it::

    copas = ln((S + 1) / (10 + A_conv − A_first))        S = previous sanctions, capped at 50
    z     = intercept + 1.251124464 × copas + sanction + age/sex + offence
    P     = e^z / (1 + e^z)

with intercepts 1.402562384 (one year) and 2.121705678 (two years); the sanction term
0.126142106 when S = 0 (this is the first sanction) and 0.463062792 otherwise; the age/sex term
from the table below by age *at assessment*; the offence term by current-offence category.

OGRS3 is one input to prioritising, never the decision: every result carries its inputs and its
named parts (:class:`Ogrs3Result`) so it can be shown with them. The scale has tables for male
and female only, so a person whose sex is not known has no score (the reason is said, not
guessed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from coordination.errors import InputError
from coordination.register.inputs import OFFENCE_CATEGORIES, normalise_offence_category

__all__ = [
    "AGE_BANDS",
    "COPAS_COEFFICIENT",
    "FIRST_SANCTION",
    "INPUT_LABELS",
    "INTERCEPT_ONE_YEAR",
    "INTERCEPT_TWO_YEARS",
    "MAX_AGE",
    "MIN_AGE",
    "OFFENCE_FACTORS",
    "REPEAT_SANCTION",
    "SANCTIONS_CAP",
    "CaseOgrs3",
    "Ogrs3Result",
    "age_band",
    "ogrs3",
    "ogrs3_for_case",
]

OgrsSex = Literal["male", "female"]

INTERCEPT_ONE_YEAR = 1.402562384
INTERCEPT_TWO_YEARS = 2.121705678
COPAS_COEFFICIENT = 1.251124464
#: Sanction term when the person has no previous sanction (S = 0).
FIRST_SANCTION = 0.126142106
#: Sanction term when the person has one or more previous sanctions.
REPEAT_SANCTION = 0.463062792
#: Previous sanctions above this count as this many.
SANCTIONS_CAP = 50
#: Ages the scale is used for: the age of criminal responsibility up to a sanity bound.
MIN_AGE = 10
MAX_AGE = 110

#: (first age, last age or None for open-ended, male term, female term), by age at assessment.
AGE_BANDS: tuple[tuple[int, int | None, float, float], ...] = (
    (10, 11, 0.0, -0.785038489),
    (12, 13, 0.083922902, -0.613852078),
    (14, 15, 0.075775765, -0.669521331),
    (16, 17, -0.061594199, -0.959179629),
    (18, 20, -0.625103618, -0.897480934),
    (21, 24, -1.051515067, -1.028488454),
    (25, 29, -1.166679288, -1.052777806),
    (30, 34, -1.325976554, -1.129127959),
    (35, 39, -1.368045933, -1.42187494),
    (40, 49, -1.499690953, -1.524652221),
    (50, None, -2.025261458, -2.44983716),
)

#: Current-offence term by category key (the keys of ``register.OFFENCE_CATEGORIES``).
OFFENCE_FACTORS: dict[str, float] = {
    "violence": 0.0,
    "robbery": -0.634795912,
    "public_order": 0.181917975,
    "sexual_not_child": 0.003276327,
    "sexual_child": -0.653434071,
    "soliciting": 0.760608858,
    "burglary_domestic": -0.12394352,
    "burglary_other": 0.240604429,
    "theft_non_motor": 0.661244321,
    "handling_stolen_goods": 0.351866973,
    "fraud_and_forgery": 0.159910192,
    "absconding_or_bail": 0.733378677,
    "taking_and_driving_away": 0.380059431,
    "theft_from_vehicle": 0.427225615,
    "other_motoring": 0.262228428,
    "drink_driving": -0.121439408,
    "criminal_damage": 0.204960477,
    "drug_import_export_production": -0.795556373,
    "drug_possession_supply": 0.077165871,
    "other": -0.060667525,
}
# The register's categories and the scale's factors must be the same list.
if set(OFFENCE_FACTORS) != set(OFFENCE_CATEGORIES):  # the two tables must name the same offences
    raise RuntimeError("OGRS3 offence factors and the register's offence categories differ")

#: Each OGRS3 input (field name in the register) as a reader would name it in a sentence.
INPUT_LABELS: dict[str, str] = {
    "sex": "sex",
    "date_of_birth": "date of birth",
    "age": "age at assessment",
    "age_at_conviction": "age at conviction",
    "age_at_first_sanction": "age at first sanction",
    "previous_sanctions": "number of previous sanctions",
    "offence_category": "current offence",
    "offence": "current offence",
    "conviction_date": "conviction date",
}

NOT_KNOWN_SEX = (
    "OGRS3 has tables for male and female only: a person whose sex is not known has no OGRS3 score"
)


@dataclass(frozen=True)
class Ogrs3Result:
    """An OGRS3 score with its inputs and named parts, so it can be shown and checked.

    Attributes
    ----------
    one_year, two_year
        Probabilities of proven reoffending within one and two years, in (0, 1).
    sex, age, age_at_conviction, age_at_first_sanction, previous_sanctions
        The inputs as given (ages in whole years; ``age`` is the age at assessment).
    offence
        The current-offence category key, e.g. ``"burglary_domestic"``.
    offence_label
        Its label in the scale, e.g. ``"burglary (domestic)"``.
    sanctions_used
        ``previous_sanctions`` capped at 50 (what enters the formula).
    copas
        ``ln((S + 1) / (10 + A_conv − A_first))``.
    sanction_kind, sanction_term
        ``"first"`` (S = 0) or ``"repeat"``, and its coefficient.
    age_band, age_sex_term
        The band of the age at assessment (e.g. ``"25–29"``) and its coefficient for the sex.
    offence_term
        The coefficient of the offence category.
    z_one_year, z_two_year
        The linear predictors before the logistic transform.
    """

    one_year: float
    two_year: float
    sex: str
    age: int
    age_at_conviction: int
    age_at_first_sanction: int
    previous_sanctions: int
    offence: str
    offence_label: str
    sanctions_used: int
    copas: float
    sanction_kind: str
    sanction_term: float
    age_band: str
    age_sex_term: float
    offence_term: float
    z_one_year: float
    z_two_year: float

    @property
    def one_year_pct(self) -> float:
        """The one-year probability in percent, to two decimals."""
        return round(self.one_year * 100, 2)

    @property
    def two_year_pct(self) -> float:
        """The two-year probability in percent, to two decimals."""
        return round(self.two_year * 100, 2)

    def inputs_text(self) -> str:
        """Return the inputs in one line, e.g. for a pack or a page caption."""
        plural = "" if self.previous_sanctions == 1 else "s"
        capped = " (50 used)" if self.sanctions_used != self.previous_sanctions else ""
        return (
            f"{self.sex}, aged {self.age}, convicted at {self.age_at_conviction}, first sanction "
            f"at {self.age_at_first_sanction}, {self.previous_sanctions} previous "
            f"sanction{plural}{capped}, {self.offence_label}"
        )

    def summary(self) -> str:
        """Return e.g. ``"OGRS3 21.95% (1 yr), 36.24% (2 yrs): male, aged 25, …"``."""
        return (
            f"OGRS3 {self.one_year_pct:.2f}% (1 yr), {self.two_year_pct:.2f}% (2 yrs): "
            f"{self.inputs_text()}"
        )

    def json_extra(self) -> dict[str, Any]:
        """JSON adds the probabilities in percent (2 dp) to those in (0, 1)."""
        return {"one_year_pct": self.one_year_pct, "two_year_pct": self.two_year_pct}


@dataclass(frozen=True)
class CaseOgrs3:
    """OGRS3 for a case: the score, or why there is none.

    Attributes
    ----------
    result
        The score, or ``None`` when it cannot be computed.
    missing
        The inputs the register lacks, as field names (e.g. ``("previous_sanctions",
        "conviction_date")``); :data:`INPUT_LABELS` words them.
    reason
        One sentence saying why there is no score, in words (``None`` with a score), e.g.
        ``"No OGRS3 score: the number of previous sanctions is not recorded"``.
    """

    result: Ogrs3Result | None
    missing: tuple[str, ...] = ()
    reason: str | None = None


# --- the formula ----------------------------------------------------------------------------------


def _whole(value: Any, what: str) -> int:
    # bool is an int subclass; "True previous sanctions" is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number, not {value!r}")
    return value


def _age(value: Any, what: str) -> int:
    age = _whole(value, what)
    if not MIN_AGE <= age <= MAX_AGE:
        raise InputError(f"{what} {age} is out of range: OGRS3 takes ages {MIN_AGE}–{MAX_AGE}")
    return age


def age_band(age: int, sex: str) -> tuple[str, float]:
    """Return the age band label and its coefficient for an age at assessment and a sex.

    Parameters
    ----------
    age
        Age at assessment in whole years (10 or more).
    sex
        ``"male"`` or ``"female"``.

    Returns
    -------
    tuple[str, float]
        E.g. ``("25–29", -1.166679288)`` for a man of 27.
    """
    for low, high, male, female in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            label = f"{low}+" if high is None else f"{low}–{high}"
            return label, male if sex == "male" else female
    raise InputError(f"age {age} is out of range: OGRS3 takes ages {MIN_AGE}–{MAX_AGE}")


def _logistic(z: float) -> float:
    # Written to avoid overflow for large |z| (not reachable with these coefficients, but cheap).
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def ogrs3(
    *,
    sex: str,
    age: int,
    age_at_conviction: int,
    age_at_first_sanction: int,
    previous_sanctions: int,
    offence: str,
) -> Ogrs3Result:
    """Compute OGRS3 one- and two-year reoffending probabilities.

    Parameters
    ----------
    sex
        ``"male"`` or ``"female"`` (the only tables the scale has).
    age
        Age at assessment in whole years, 10–110; it picks the age band.
    age_at_conviction
        Age at the current conviction, 10 to ``age``.
    age_at_first_sanction
        Age at the first sanction, 10 to ``age_at_conviction``.
    previous_sanctions
        Number of previous sanctions, 0 or more (more than 50 counts as 50).
    offence
        Current-offence category: a key of ``register.OFFENCE_CATEGORIES`` (``"robbery"``) or
        its label (``"burglary (domestic)"``).

    Returns
    -------
    Ogrs3Result
        Both probabilities with the inputs and every named part.

    Raises
    ------
    InputError
        One line naming the first bad input: sex not male/female (``not_known`` says OGRS3 has
        no table for it), an age out of 10–110, ages out of order (age ≥ age at conviction ≥
        age at first sanction), negative or fractional sanctions, unknown offence.
    """
    if sex == "not_known":
        raise InputError(NOT_KNOWN_SEX)
    if sex not in ("male", "female"):
        raise InputError(f"sex must be male or female for OGRS3, not {sex!r}")
    age = _age(age, "age")
    age_at_conviction = _age(age_at_conviction, "age at conviction")
    age_at_first_sanction = _age(age_at_first_sanction, "age at first sanction")
    if age_at_conviction > age:
        raise InputError(
            f"age at conviction ({age_at_conviction}) is after the age at assessment ({age})"
        )
    if age_at_first_sanction > age_at_conviction:
        raise InputError(
            f"age at first sanction ({age_at_first_sanction}) is after the age at conviction "
            f"({age_at_conviction})"
        )
    previous_sanctions = _whole(previous_sanctions, "previous sanctions")
    if previous_sanctions < 0:
        raise InputError(f"previous sanctions cannot be negative ({previous_sanctions})")
    key = normalise_offence_category(offence)

    used = min(previous_sanctions, SANCTIONS_CAP)
    copas = math.log((used + 1) / (10 + age_at_conviction - age_at_first_sanction))
    first = used == 0
    sanction = FIRST_SANCTION if first else REPEAT_SANCTION
    band, age_sex = age_band(age, sex)
    offence_term = OFFENCE_FACTORS[key]
    shared = COPAS_COEFFICIENT * copas + sanction + age_sex + offence_term
    z1 = INTERCEPT_ONE_YEAR + shared
    z2 = INTERCEPT_TWO_YEARS + shared
    return Ogrs3Result(
        one_year=_logistic(z1),
        two_year=_logistic(z2),
        sex=sex,
        age=age,
        age_at_conviction=age_at_conviction,
        age_at_first_sanction=age_at_first_sanction,
        previous_sanctions=previous_sanctions,
        offence=key,
        offence_label=OFFENCE_CATEGORIES[key],
        sanctions_used=used,
        copas=copas,
        sanction_kind="first" if first else "repeat",
        sanction_term=sanction,
        age_band=band,
        age_sex_term=age_sex,
        offence_term=offence_term,
        z_one_year=z1,
        z_two_year=z2,
    )


def _years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _missing_reason(missing: tuple[str, ...]) -> str:
    # "the A is", "the A and the B are", "the A, the B and the C are" not recorded.
    names = [f"the {INPUT_LABELS.get(m, m.replace('_', ' '))}" for m in missing]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    verb = "is" if len(names) == 1 else "are"
    return f"No OGRS3 score: {listed} {verb} not recorded"


def _day(value: date) -> str:
    return f"{value.day} {value.strftime('%b %Y')}"


def ogrs3_for_case(*, case: Any, offender: Any, on: date) -> CaseOgrs3:
    """Compute OGRS3 for a case from the register, or say which inputs are missing.

    Parameters
    ----------
    case
        A case (``Case`` row or ``CasePublic``): ``offence_category``, ``previous_sanctions``,
        ``age_at_first_sanction`` and ``conviction_date`` are read.
    offender
        Its offender (row or public model): ``sex`` and ``date_of_birth`` are read.
    on
        The day of assessment; the age band is by age on this day.

    Returns
    -------
    CaseOgrs3
        With ``result`` when every input is known and valid; otherwise ``result`` is ``None``,
        ``missing`` names the absent inputs and ``reason`` says why in one line (a sex not known,
        or stored inputs that contradict each other, e.g. a conviction after ``on``).
    """
    missing = tuple(
        name
        for name, value in (
            ("previous_sanctions", case.previous_sanctions),
            ("age_at_first_sanction", case.age_at_first_sanction),
            ("conviction_date", case.conviction_date),
            ("date_of_birth", offender.date_of_birth),
        )
        if value is None
    )
    if missing:
        return CaseOgrs3(None, missing, _missing_reason(missing))
    if offender.sex not in ("male", "female"):
        return CaseOgrs3(None, (), NOT_KNOWN_SEX)
    if case.conviction_date > on:
        return CaseOgrs3(
            None,
            (),
            f"No OGRS3 score: the conviction date ({_day(case.conviction_date)}) is after "
            f"the assessment date ({_day(on)})",
        )
    try:
        result = ogrs3(
            sex=offender.sex,
            age=_years_between(offender.date_of_birth, on),
            age_at_conviction=_years_between(offender.date_of_birth, case.conviction_date),
            age_at_first_sanction=case.age_at_first_sanction,
            previous_sanctions=case.previous_sanctions,
            offence=case.offence_category,
        )
    except InputError as exc:
        # Stored inputs that contradict each other: say so on the agenda instead of failing it.
        return CaseOgrs3(None, (), f"No OGRS3 score: {exc}")
    return CaseOgrs3(result)
