"""The parsers of what people type about a case: risk levels, closure reasons, cohorts, sex.

Hypothesis: every stored value and every label round-trips whatever the case and spacing, and
any other text is refused with one line (never another exception).
"""

from __future__ import annotations

import argparse
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.cases.inputs import (
    CLOSURE_LABELS,
    IOM_COHORTS,
    RISK_LABELS,
    check_not_future,
    check_not_past,
    parse_closure_reason,
    parse_cohort,
    parse_risk,
    parse_sex,
)
from coordination.core.console import iso_date
from coordination.errors import InputError


def _messy(text: str, upper: list[bool], pad: tuple[str, str]) -> str:
    """``text`` with the case of some letters flipped, and spaces or dashes for underscores."""
    flipped = "".join(ch.upper() if upper[i % len(upper)] else ch for i, ch in enumerate(text))
    return pad[0] + flipped.replace("_", " ") + pad[1]


_UPPER = st.lists(st.booleans(), min_size=1, max_size=8)
_PAD = st.tuples(st.sampled_from(["", " ", "  "]), st.sampled_from(["", " ", "\t"]))


@given(st.sampled_from(sorted(RISK_LABELS)), _UPPER, _PAD)
def test_every_risk_round_trips(key: str, upper: list[bool], pad: tuple[str, str]) -> None:
    assert parse_risk(_messy(key, upper, pad)) == key
    assert parse_risk(_messy(RISK_LABELS[key], upper, pad)) == key


@given(st.sampled_from(sorted(CLOSURE_LABELS)), _UPPER, _PAD)
def test_every_closure_reason_round_trips(
    key: str, upper: list[bool], pad: tuple[str, str]
) -> None:
    assert parse_closure_reason(_messy(key, upper, pad)) == key
    assert parse_closure_reason(_messy(CLOSURE_LABELS[key], upper, pad)) == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Sentence/licence ended", "sentence_ended"),
        ("licence ended", "sentence_ended"),
        ("moved out of the coordinated area", "moved_out"),
        ("Moved-out", "moved_out"),
        ("de-registered", "deregistered"),
        ("died", "deceased"),
    ],
)
def test_closure_reasons_in_words(text: str, key: str) -> None:
    assert parse_closure_reason(text) == key


_KNOWN = {
    *RISK_LABELS,
    *RISK_LABELS.values(),
    *CLOSURE_LABELS,
    *CLOSURE_LABELS.values(),
    *IOM_COHORTS,
    *IOM_COHORTS.values(),
}


@given(st.text(max_size=60))
def test_anything_else_is_refused_with_one_line(text: str) -> None:
    for parse in (parse_risk, parse_closure_reason, parse_cohort, parse_sex):
        try:
            parse(text)
        except InputError as exc:
            assert "\n" not in str(exc)
            assert len(str(exc)) < 300


@given(st.sampled_from(sorted(IOM_COHORTS)), _UPPER)
def test_cohorts(cohort: str, upper: list[bool]) -> None:
    assert parse_cohort(_messy(cohort, upper, ("", ""))) == IOM_COHORTS[cohort]
    assert parse_cohort(f"iom_{cohort}") == IOM_COHORTS[cohort]


def test_sex() -> None:
    assert [parse_sex(t) for t in ("M", "female", "Not known", "unknown")] == [
        "male",
        "female",
        "not_known",
        "not_known",
    ]


@given(st.dates(), st.dates())
def test_date_rules(day: date, today: date) -> None:
    if day > today:
        with pytest.raises(InputError, match="in the future"):
            check_not_future(day, today, "The day")
    else:
        assert check_not_future(day, today, "The day") == day
    if day < today:
        with pytest.raises(InputError, match="in the past"):
            check_not_past(day, today, "The day")
    else:
        assert check_not_past(day, today, "The day") == day


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_command_line_dates_round_trip(day: date) -> None:
    assert iso_date(day.isoformat()) == day


@given(st.text(max_size=20))
def test_command_line_dates_refuse_anything_else(text: str) -> None:
    try:
        day = iso_date(text)
    except argparse.ArgumentTypeError as exc:
        assert "\n" not in str(exc)
    else:
        assert date(1900, 1, 1) <= day <= date(2100, 12, 31)
        assert day == date.fromisoformat(text.strip())
