"""OGRS3 (coordination.ogrs3) against examples worked by hand from the formula in docs/DOMAIN.md.

    copas = ln((S + 1) / (10 + A_conv − A_first))        S capped at 50
    z     = intercept + 1.251124464 × copas + sanction + age/sex + offence
    P     = e^z / (1 + e^z)

The worked examples recompute each step with ``math`` here, from the published coefficients typed
in again (not imported), so a wrong coefficient in the module cannot make its own test pass.
"""

from __future__ import annotations

import json
import math
from datetime import date
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.core.serial import jsonable
from coordination.errors import InputError
from coordination.register.inputs import OFFENCE_CATEGORIES
from coordination.review.ogrs3 import Ogrs3Result, age_band, ogrs3, ogrs3_for_case

INTERCEPT_1Y = 1.402562384
INTERCEPT_2Y = 2.121705678
COPAS = 1.251124464
FIRST = 0.126142106
REPEAT = 0.463062792


def logistic(z: float) -> float:
    return math.exp(z) / (1 + math.exp(z))


# --- worked examples --------------------------------------------------------------------------


def test_worked_example_male_25_burglary_domestic() -> None:
    """Male, 25, convicted at 24, first sanction at 16, 5 previous sanctions, burglary (domestic).

    copas = ln((5 + 1) / (10 + 24 − 16)) = ln(6 / 18) = ln(1/3) = −1.0986123
    1.251124464 × copas                                         = −1.3745007
    sanction: S = 5 > 0 → repeat                                = +0.463062792
    age/sex: 25 → band 25–29, male                              = −1.166679288
    offence: burglary (domestic)                                = −0.12394352
    z1 = 1.402562384 − 1.3745007 + 0.4630628 − 1.1666793 − 0.1239435 = −0.7994983
    z2 = 2.121705678 − 1.3745007 + 0.4630628 − 1.1666793 − 0.1239435 = −0.0803550
    P1 = e^z1 / (1 + e^z1) = 0.3101328 → 31.01 %
    P2 = e^z2 / (1 + e^z2) = 0.4799220 → 47.99 %
    """
    copas = math.log((5 + 1) / (10 + 24 - 16))
    assert copas == pytest.approx(-1.0986123, abs=1e-7)
    rest = COPAS * copas + REPEAT - 1.166679288 - 0.12394352
    z1, z2 = INTERCEPT_1Y + rest, INTERCEPT_2Y + rest
    assert z1 == pytest.approx(-0.7994983, abs=1e-7)
    assert z2 == pytest.approx(-0.0803550, abs=1e-7)

    r = ogrs3(
        sex="male",
        age=25,
        age_at_conviction=24,
        age_at_first_sanction=16,
        previous_sanctions=5,
        offence="burglary (domestic)",
    )
    assert r.copas == pytest.approx(copas, abs=1e-12)
    assert r.z_one_year == pytest.approx(z1, abs=1e-12)
    assert r.one_year == pytest.approx(logistic(z1), abs=1e-12)
    assert r.two_year == pytest.approx(logistic(z2), abs=1e-12)
    assert (r.one_year_pct, r.two_year_pct) == (31.01, 47.99)
    assert (r.sanction_kind, r.age_band, r.offence) == ("repeat", "25–29", "burglary_domestic")
    assert r.offence_label == "burglary (domestic)"


def test_worked_example_female_first_sanction_fraud() -> None:
    """Female, 40, convicted at 39, first sanction at 39, no previous sanction, fraud and forgery.

    copas = ln((0 + 1) / (10 + 39 − 39)) = ln(1/10) = −2.3025851
    1.251124464 × copas                            = −2.8808205
    sanction: S = 0 → first sanction               = +0.126142106
    age/sex: 40 → band 40–49, female               = −1.524652221
    offence: fraud and forgery                     = +0.159910192
    z1 = 1.402562384 − 2.8808205 + 0.1261421 − 1.5246522 + 0.1599102 = −2.7168581
    z2 = 2.121705678 − …                                               = −1.9977148
    P1 = 0.0619859 → 6.20 %;  P2 = 0.1194431 → 11.94 %
    """
    copas = math.log(1 / 10)
    rest = COPAS * copas + FIRST - 1.524652221 + 0.159910192
    z1, z2 = INTERCEPT_1Y + rest, INTERCEPT_2Y + rest
    assert z1 == pytest.approx(-2.7168581, abs=1e-7)

    r = ogrs3(
        sex="female",
        age=40,
        age_at_conviction=39,
        age_at_first_sanction=39,
        previous_sanctions=0,
        offence="fraud_and_forgery",
    )
    assert r.sanction_kind == "first"
    assert r.sanction_term == FIRST
    assert r.one_year == pytest.approx(logistic(z1), abs=1e-12)
    assert r.two_year == pytest.approx(logistic(z2), abs=1e-12)
    assert (r.one_year_pct, r.two_year_pct) == (6.20, 11.94)


def test_worked_example_sanctions_capped_at_50() -> None:
    """Male, 19, convicted at 18, first sanction at 12, 60 previous sanctions, theft (non-motor).

    S = min(60, 50) = 50
    copas = ln((50 + 1) / (10 + 18 − 12)) = ln(51/16) = 1.1592369
    1.251124464 × copas                            = 1.4503497
    sanction repeat +0.463062792; age 19 → band 18–20 male −0.625103618;
    theft (non-motor) +0.661244321
    z1 = 1.402562384 + 1.4503497 + 0.4630628 − 0.6251036 + 0.6612443 = 3.3521155
    z2 = 2.121705678 + …                                             = 4.0712588
    P1 = 0.9661740 → 96.62 %;  P2 = 0.9832301 → 98.32 %
    """
    copas = math.log(51 / 16)
    rest = COPAS * copas + REPEAT - 0.625103618 + 0.661244321
    z1, z2 = INTERCEPT_1Y + rest, INTERCEPT_2Y + rest
    assert z1 == pytest.approx(3.3521155, abs=1e-7)
    kwargs = dict(sex="male", age=19, age_at_conviction=18, age_at_first_sanction=12)
    r = ogrs3(**kwargs, previous_sanctions=60, offence="theft (non-motor)")  # type: ignore[arg-type]
    assert r.sanctions_used == 50
    assert r.previous_sanctions == 60
    assert r.one_year == pytest.approx(logistic(z1), abs=1e-12)
    assert r.two_year == pytest.approx(logistic(z2), abs=1e-12)
    assert (r.one_year_pct, r.two_year_pct) == (96.62, 98.32)
    # 50 and anything above it give the same score.
    at_cap = ogrs3(**kwargs, previous_sanctions=50, offence="theft_non_motor")  # type: ignore[arg-type]
    assert at_cap.two_year == r.two_year
    assert "60 previous sanctions (50 used)" in r.inputs_text()


def test_first_sanction_term_only_when_no_previous_sanction() -> None:
    base = dict(sex="male", age=30, age_at_conviction=30, age_at_first_sanction=20, offence="other")
    none = ogrs3(**base, previous_sanctions=0)  # type: ignore[arg-type]
    one = ogrs3(**base, previous_sanctions=1)  # type: ignore[arg-type]
    assert (none.sanction_kind, none.sanction_term) == ("first", FIRST)
    assert (one.sanction_kind, one.sanction_term) == ("repeat", REPEAT)
    # S = 1 changes copas by ln 2 and the sanction term by REPEAT − FIRST.
    expected = COPAS * math.log(2) + (REPEAT - FIRST)
    assert one.z_one_year - none.z_one_year == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("age", "band", "male", "female"),
    [
        (10, "10–11", 0.0, -0.785038489),
        (11, "10–11", 0.0, -0.785038489),
        (12, "12–13", 0.083922902, -0.613852078),
        (15, "14–15", 0.075775765, -0.669521331),
        (17, "16–17", -0.061594199, -0.959179629),
        (18, "18–20", -0.625103618, -0.897480934),
        (20, "18–20", -0.625103618, -0.897480934),
        (21, "21–24", -1.051515067, -1.028488454),
        (24, "21–24", -1.051515067, -1.028488454),
        (25, "25–29", -1.166679288, -1.052777806),
        (34, "30–34", -1.325976554, -1.129127959),
        (35, "35–39", -1.368045933, -1.42187494),
        (49, "40–49", -1.499690953, -1.524652221),
        (50, "50+", -2.025261458, -2.44983716),
        (110, "50+", -2.025261458, -2.44983716),
    ],
)
def test_age_band_edges_both_tables(age: int, band: str, male: float, female: float) -> None:
    assert age_band(age, "male") == (band, male)
    assert age_band(age, "female") == (band, female)
    r = ogrs3(
        sex="female",
        age=age,
        age_at_conviction=age,
        age_at_first_sanction=10,
        previous_sanctions=2,
        offence="violence",
    )
    assert (r.age_band, r.age_sex_term) == (band, female)


def test_age_band_is_by_age_at_assessment_not_at_conviction() -> None:
    # Convicted at 17 (band 16–17) but assessed at 18: the 18–20 term applies.
    r = ogrs3(
        sex="male",
        age=18,
        age_at_conviction=17,
        age_at_first_sanction=14,
        previous_sanctions=1,
        offence="robbery",
    )
    assert (r.age_band, r.age_sex_term) == ("18–20", -0.625103618)


@pytest.mark.parametrize("key", sorted(OFFENCE_CATEGORIES))
def test_every_offence_category_by_key_and_label(key: str) -> None:
    kwargs = dict(sex="male", age=30, age_at_conviction=30, age_at_first_sanction=18)
    by_key = ogrs3(**kwargs, previous_sanctions=3, offence=key)  # type: ignore[arg-type]
    by_label = ogrs3(**kwargs, previous_sanctions=3, offence=OFFENCE_CATEGORIES[key])  # type: ignore[arg-type]
    assert by_key == by_label
    violence = ogrs3(**kwargs, previous_sanctions=3, offence="violence")  # type: ignore[arg-type]
    # Violence is the reference category (0), so the difference in z is the offence term.
    assert by_key.z_one_year - violence.z_one_year == pytest.approx(by_key.offence_term)


def test_result_carries_inputs_and_parts() -> None:
    r = ogrs3(
        sex="male",
        age=25,
        age_at_conviction=24,
        age_at_first_sanction=16,
        previous_sanctions=5,
        offence="burglary_domestic",
    )
    data = jsonable(r)
    assert data["age"] == 25 and data["offence_label"] == "burglary (domestic)"
    assert data["one_year_pct"] == 31.01 and data["two_year_pct"] == 47.99
    assert r.summary().startswith("OGRS3 31.01% (1 yr), 47.99% (2 yrs): male, aged 25")
    with pytest.raises(AttributeError):
        r.one_year = 0.5  # type: ignore[misc]


# --- properties -------------------------------------------------------------------------------

ages = st.integers(min_value=10, max_value=110)


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, object]:
    age = draw(ages)
    conviction = draw(st.integers(min_value=10, max_value=age))
    first = draw(st.integers(min_value=10, max_value=conviction))
    return {
        "sex": draw(st.sampled_from(["male", "female"])),
        "age": age,
        "age_at_conviction": conviction,
        "age_at_first_sanction": first,
        "previous_sanctions": draw(st.integers(min_value=0, max_value=200)),
        "offence": draw(st.sampled_from(sorted(OFFENCE_CATEGORIES))),
    }


@given(inputs())
def test_probabilities_are_probabilities_and_two_years_exceeds_one(kw: dict[str, object]) -> None:
    r = ogrs3(**kw)  # type: ignore[arg-type]
    assert 0 < r.one_year < r.two_year < 1


@given(inputs(), st.integers(min_value=0, max_value=60))
def test_monotone_in_previous_sanctions(kw: dict[str, object], extra: int) -> None:
    fewer = ogrs3(**kw)  # type: ignore[arg-type]
    more = ogrs3(**{**kw, "previous_sanctions": int(kw["previous_sanctions"]) + extra})  # type: ignore[arg-type, call-overload]
    assert more.one_year >= fewer.one_year
    assert more.two_year >= fewer.two_year
    if extra and fewer.sanctions_used < 50:
        assert more.two_year > fewer.two_year


# --- refusals ---------------------------------------------------------------------------------

GOOD: dict[str, object] = {
    "sex": "male",
    "age": 30,
    "age_at_conviction": 29,
    "age_at_first_sanction": 18,
    "previous_sanctions": 3,
    "offence": "robbery",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sex": "not_known"}, "male and female only"),
        ({"sex": "other"}, "sex must be male or female"),
        ({"age": 9, "age_at_conviction": 9, "age_at_first_sanction": 9}, "age 9 is out of range"),
        ({"age": 111}, "age 111 is out of range"),
        ({"age_at_conviction": 31}, "age at conviction (31) is after the age at assessment (30)"),
        ({"age_at_first_sanction": 9}, "age at first sanction 9 is out of range"),
        ({"age_at_first_sanction": 29.5}, "age at first sanction must be a whole number"),
        (
            {"age_at_first_sanction": 29, "age_at_conviction": 25},
            "age at first sanction (29) is after the age at conviction (25)",
        ),
        ({"previous_sanctions": -1}, "previous sanctions cannot be negative"),
        ({"previous_sanctions": 2.5}, "previous sanctions must be a whole number"),
        ({"previous_sanctions": True}, "previous sanctions must be a whole number"),
        ({"offence": "arson"}, "'arson' is not an OGRS3 offence category"),
    ],
)
def test_every_refusal_is_one_clear_line(change: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as info:
        ogrs3(**{**GOOD, **change})  # type: ignore[arg-type]
    text = str(info.value)
    assert message in text
    assert "\n" not in text


# --- from the register --------------------------------------------------------------------------


def _case(**kw: object) -> SimpleNamespace:
    base: dict[str, object] = {
        "offence_category": "burglary_domestic",
        "previous_sanctions": 5,
        "age_at_first_sanction": 16,
        "conviction_date": date(2024, 6, 1),
    }
    return SimpleNamespace(**{**base, **kw})


def test_for_case_uses_ages_on_the_dates() -> None:
    offender = SimpleNamespace(sex="male", date_of_birth=date(2000, 3, 15))
    # Convicted 2024-06-01 at 24; assessed 2025-03-14 at 24 (the day before the birthday) and
    # 2025-03-15 at 25 — the age band changes from 21–24 to 25–29.
    before = ogrs3_for_case(case=_case(), offender=offender, on=date(2025, 3, 14)).result
    after = ogrs3_for_case(case=_case(), offender=offender, on=date(2025, 3, 15)).result
    assert isinstance(before, Ogrs3Result) and isinstance(after, Ogrs3Result)
    assert (before.age, before.age_at_conviction, before.age_band) == (24, 24, "21–24")
    assert (after.age, after.age_band) == (25, "25–29")
    assert after.one_year_pct == 31.01  # the first worked example


def test_for_case_names_what_is_missing_or_why_none() -> None:
    offender = SimpleNamespace(sex="male", date_of_birth=date(2000, 3, 15))
    missing = ogrs3_for_case(
        case=_case(previous_sanctions=None, conviction_date=None),
        offender=offender,
        on=date(2025, 3, 15),
    )
    assert missing.result is None
    assert missing.missing == ("previous_sanctions", "conviction_date")
    assert missing.reason == (
        "No OGRS3 score: the number of previous sanctions and the conviction date are not recorded"
    )
    assert "_" not in str(missing.reason)

    unknown = ogrs3_for_case(
        case=_case(),
        offender=SimpleNamespace(sex="not_known", date_of_birth=date(2000, 3, 15)),
        on=date(2025, 3, 15),
    )
    assert unknown.result is None and "male and female only" in str(unknown.reason)

    future = ogrs3_for_case(case=_case(), offender=offender, on=date(2024, 1, 1))
    assert future.result is None and "is after the assessment date" in str(future.reason)

    contradictory = ogrs3_for_case(
        case=_case(age_at_first_sanction=30), offender=offender, on=date(2025, 3, 15)
    )
    assert contradictory.result is None
    assert "age at first sanction (30) is after the age at conviction (24)" in str(
        contradictory.reason
    )


@pytest.mark.parametrize(
    ("absent", "words"),
    [
        ({"previous_sanctions": None}, "the number of previous sanctions is not recorded"),
        ({"age_at_first_sanction": None}, "the age at first sanction is not recorded"),
        ({"conviction_date": None}, "the conviction date is not recorded"),
        (
            {"previous_sanctions": None, "age_at_first_sanction": None, "conviction_date": None},
            "the number of previous sanctions, the age at first sanction and the conviction "
            "date are not recorded",
        ),
    ],
)
def test_missing_inputs_are_named_in_words(absent: dict[str, object], words: str) -> None:
    offender = SimpleNamespace(sex="female", date_of_birth=date(2000, 3, 15))
    outcome = ogrs3_for_case(case=_case(**absent), offender=offender, on=date(2025, 3, 15))
    assert outcome.reason == f"No OGRS3 score: {words}"
    no_birth = ogrs3_for_case(
        case=_case(), offender=SimpleNamespace(sex="male", date_of_birth=None), on=date(2025, 1, 1)
    )
    assert no_birth.reason == "No OGRS3 score: the date of birth is not recorded"


def test_every_input_has_a_label() -> None:
    from coordination.review.ogrs3 import INPUT_LABELS

    for name in ("sex", "date_of_birth", "age_at_first_sanction", "previous_sanctions"):
        assert "_" not in INPUT_LABELS[name]
    for name in ("offence_category", "conviction_date", "age_at_conviction", "age"):
        assert "_" not in INPUT_LABELS[name]


def test_future_conviction_date_reads_as_a_day() -> None:
    offender = SimpleNamespace(sex="male", date_of_birth=date(2000, 3, 15))
    future = ogrs3_for_case(case=_case(), offender=offender, on=date(2024, 1, 1))
    assert future.reason == (
        "No OGRS3 score: the conviction date (1 Jun 2024) is after the assessment date (1 Jan 2024)"
    )


# --- CLI --------------------------------------------------------------------------------------

ARGS = [
    "ogrs3",
    "--sex",
    "male",
    "--age",
    "25",
    "--age-at-conviction",
    "24",
    "--age-at-first-sanction",
    "16",
    "--previous-sanctions",
    "5",
    "--offence",
    "burglary (domestic)",
]


def test_cli_json_in_percent(capsys: pytest.CaptureFixture[str]) -> None:
    from coordination.cli.main import main

    assert main([*ARGS, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["one_year"] == 31.01
    assert data["two_year"] == 47.99
    assert data["copas"] == pytest.approx(math.log(1 / 3))
    assert data["age_band"] == "25–29"


def test_cli_human(capsys: pytest.CaptureFixture[str]) -> None:
    from coordination.cli.main import main

    assert main(ARGS) == 0
    out = capsys.readouterr().out
    assert "1 year:  31.01%" in out
    assert "2 years: 47.99%" in out
    assert "never the decision" in out


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--age", "111", "age 111 is out of range"),
        ("--previous-sanctions", "-2", "previous sanctions cannot be negative"),
        ("--sex", "not_known", "male and female only"),
        ("--offence", "arson", "is not an OGRS3 offence category"),
        ("--age", "twenty", "invalid int value"),
    ],
)
def test_cli_out_of_range_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    from coordination.cli.main import main

    argv = list(ARGS)
    argv[argv.index(flag) + 1] = value
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse refuses a non-number itself, also with exit 2
        code = int(exit_.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
