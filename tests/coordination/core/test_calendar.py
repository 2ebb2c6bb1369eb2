"""England and Wales working days: weekends and bank holidays (coordination.calendar)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordination.core.calendar import (
    add_working_days,
    bank_holidays,
    is_working_day,
    london_date,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 12, 24), True),  # Tuesday, Christmas Eve is not a bank holiday
        (date(2024, 12, 25), False),  # Christmas Day
        (date(2024, 12, 26), False),  # Boxing Day
        (date(2024, 12, 28), False),  # Saturday
        (date(2024, 12, 29), False),  # Sunday
        (date(2025, 1, 1), False),  # New Year's Day
        (date(2025, 1, 2), True),
        (date(2025, 4, 18), False),  # Good Friday
        (date(2025, 4, 21), False),  # Easter Monday
        (date(2025, 4, 22), True),
        (date(2025, 5, 5), False),  # Early May bank holiday
        (date(2025, 8, 25), False),  # Summer bank holiday (England, not Scotland's)
        (date(2022, 9, 19), False),  # State funeral of Queen Elizabeth II
        (date(2021, 12, 27), False),  # Christmas Day fell on Saturday: substitute Monday
        (date(2021, 12, 28), False),  # Boxing Day fell on Sunday: substitute Tuesday
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_scotland_only_holidays_are_working_days() -> None:
    # 2 January and St Andrew's Day are Scottish bank holidays, not English or Welsh ones.
    assert is_working_day(date(2025, 1, 2))
    assert date(2025, 12, 1) not in bank_holidays(2025)


def test_twenty_working_days_across_christmas_and_new_year() -> None:
    # Requested Friday 13 Dec 2024: skips 25, 26 Dec, 1 Jan and four weekends.
    assert add_working_days(date(2024, 12, 13), 20) == date(2025, 1, 15)
    assert working_days_between(date(2024, 12, 13), date(2025, 1, 15)) == 20


def test_twenty_working_days_across_easter() -> None:
    # Requested Tuesday 8 Apr 2025: Good Friday 18 Apr and Easter Monday 21 Apr are skipped,
    # and so is the early May bank holiday (5 May).
    assert add_working_days(date(2025, 4, 8), 20) == date(2025, 5, 9)


def test_from_a_weekend() -> None:
    # Saturday + 1 working day is the Monday; Friday + 1 is the Monday too.
    assert add_working_days(date(2025, 3, 1), 1) == date(2025, 3, 3)
    assert add_working_days(date(2025, 2, 28), 1) == date(2025, 3, 3)
    assert add_working_days(date(2025, 3, 3), 5) == date(2025, 3, 10)


def test_zero_and_negative() -> None:
    saturday = date(2025, 3, 1)
    assert add_working_days(saturday, 0) == saturday
    with pytest.raises(ValueError):
        add_working_days(saturday, -1)
    assert working_days_between(saturday, saturday) == 0
    assert working_days_between(date(2025, 3, 10), date(2025, 3, 3)) == -5


def test_london_date_uses_british_summer_time() -> None:
    # 23:30 UTC on 30 June is 00:30 BST on 1 July.
    assert london_date(datetime(2025, 6, 30, 23, 30, tzinfo=UTC)) == date(2025, 7, 1)
    assert london_date(datetime(2025, 1, 31, 23, 30, tzinfo=UTC)) == date(2025, 1, 31)


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
    n=st.integers(min_value=1, max_value=120),
)
def test_add_working_days_lands_on_a_working_day_exactly_n_later(start: date, n: int) -> None:
    result = add_working_days(start, n)
    assert is_working_day(result)
    assert working_days_between(start, result) == n
    # …and it is the first such day: the day before has one fewer working day behind it.
    assert working_days_between(start, result - timedelta(days=1)) == n - 1


@settings(max_examples=100, deadline=None)
@given(
    a=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    b=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
)
def test_working_days_between_is_antisymmetric_and_bounded(a: date, b: date) -> None:
    between = working_days_between(a, b)
    assert between == -working_days_between(b, a)
    assert abs(between) <= abs((b - a).days)
