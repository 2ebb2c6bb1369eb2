"""PNC IDs: shape, century of short forms, and the check letter."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordination.errors import InputError
from coordination.register.pnc import CHECK_LETTERS, normalise_pnc, pnc_check_letter

TODAY = dt.date(2025, 6, 1)
SERIALS = st.integers(min_value=0, max_value=9_999_999)
# Years a short form can name unambiguously on TODAY: 1926–2025.
SHORT_YEARS = st.integers(min_value=TODAY.year - 99, max_value=TODAY.year)


def test_check_letter_rule() -> None:
    assert pnc_check_letter(2019, 12345) == CHECK_LETTERS[(19 * 10**7 + 12345) % 23]
    assert pnc_check_letter(2019, 12345) == pnc_check_letter(19, 12345) == "G"
    assert pnc_check_letter(2000, 0) == "Z"
    with pytest.raises(InputError):
        pnc_check_letter(2019, 10**7)


@given(SHORT_YEARS, SERIALS, st.booleans())
def test_valid_ids_round_trip_through_long_and_short_forms(
    year: int, serial: int, lower: bool
) -> None:
    letter = pnc_check_letter(year, serial)
    long_form = f"{year}/{serial:07d}{letter}"
    assert normalise_pnc(long_form, today=TODAY) == long_form
    assert normalise_pnc(f"{year}/{serial}{letter}", today=TODAY) == long_form
    short = f"{year % 100:02d}/{serial}{letter}"
    assert normalise_pnc(short.lower() if lower else short, today=TODAY) == long_form
    assert normalise_pnc(f" {short[:3]} {short[3:]} ", today=TODAY) == long_form
    assert normalise_pnc(normalise_pnc(short, today=TODAY), today=TODAY) == long_form


@given(SHORT_YEARS, SERIALS, st.sampled_from(CHECK_LETTERS), st.booleans())
def test_any_altered_check_letter_is_rejected(
    year: int, serial: int, wrong: str, short: bool
) -> None:
    right = pnc_check_letter(year, serial)
    if wrong == right:
        return
    text = f"{year % 100:02d}/{serial}{wrong}" if short else f"{year}/{serial:07d}{wrong}"
    with pytest.raises(InputError) as info:
        normalise_pnc(text, today=TODAY)
    assert str(info.value).endswith(f"check letter should be {right}")


def test_short_form_century() -> None:
    assert normalise_pnc(f"25/1{pnc_check_letter(25, 1)}", today=TODAY).startswith("2025/")
    assert normalise_pnc(f"26/1{pnc_check_letter(26, 1)}", today=TODAY).startswith("1926/")
    assert normalise_pnc(f"00/1{pnc_check_letter(0, 1)}", today=TODAY).startswith("2000/")


def test_example_and_message() -> None:
    assert normalise_pnc("2019/0012345G") == "2019/0012345G"
    with pytest.raises(InputError) as info:
        normalise_pnc("2019/0012345A")
    assert str(info.value) == "2019/0012345A is not a valid PNC ID: the check letter should be G"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2019/",
        "2019/12345678G",  # serial of eight digits
        "201/12345G",
        "2019-0012345G",
        "2019/0012345",
        "2019/0012345GG",
        "19/١٢٣G",  # Arabic-Indic digits
        "2030/1" + pnc_check_letter(2030, 1),  # a year after TODAY
        "1899/1" + pnc_check_letter(1899, 1),
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(InputError):
        normalise_pnc(text, today=TODAY)


@given(st.text(max_size=30))
def test_junk_is_rejected_only_with_input_error(text: str) -> None:
    try:
        result = normalise_pnc(text, today=TODAY)
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 120
    else:
        assert normalise_pnc(result, today=TODAY) == result
