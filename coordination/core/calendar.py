"""Working days in England and Wales, for handoff deadlines.

A case transfer completes within 20 working days of the request (probation Case Transfer Policy
Framework, ``docs/DOMAIN.md``). A working day is Monday to Friday and not an England and Wales bank
holiday; the bank holidays come from the PyPI ``holidays`` package (``GB``, subdivision ``ENG``:
Wales keeps the same bank holidays), substitute days included, so Christmas on a Saturday moves
the holiday to the Monday.

Counting convention: ``working_days_between(a, b)`` counts the working days after ``a`` up to and
including ``b``, so ``add_working_days(a, n)`` is the date on which that count first reaches ``n``.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from coordination.core.clock import LONDON, london_date

__all__ = [
    "LONDON",
    "add_working_days",
    "bank_holidays",
    "is_working_day",
    "london_date",
    "working_days_between",
]


@lru_cache(maxsize=256)
def _bank_holidays(year: int) -> frozenset[date]:
    # One year at a time, cached: the holidays package computes a year on first use, and
    # deadlines are asked for in bulk (every row of the handoff queue).
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def bank_holidays(year: int) -> frozenset[date]:
    """Return the England and Wales bank holidays of a year (substitute days included).

    Parameters
    ----------
    year
        Calendar year.

    Returns
    -------
    frozenset[date]
        The holidays, e.g. Good Friday and Easter Monday, Christmas Day and Boxing Day.
    """
    return _bank_holidays(year)


def is_working_day(d: date) -> bool:
    """Return whether a date is a working day in England and Wales.

    Parameters
    ----------
    d
        The date.

    Returns
    -------
    bool
        ``False`` on Saturdays, Sundays and England and Wales bank holidays, else ``True``.
    """
    return d.weekday() < 5 and d not in _bank_holidays(d.year)


def add_working_days(start: date, n: int) -> date:
    """Return the date ``n`` working days after ``start``.

    Parameters
    ----------
    start
        The day to count from; it is not counted itself, and may be any day (a request made on a
        Saturday counts from the Monday).
    n
        How many working days, at least 0. ``0`` returns ``start`` unchanged.

    Returns
    -------
    date
        A working day (for ``n >= 1``) with ``working_days_between(start, result) == n``.

    Raises
    ------
    ValueError
        When ``n`` is negative: deadlines only run forwards.
    """
    if n < 0:
        raise ValueError(f"add_working_days counts forwards only, got n={n}")
    day = start
    left = n
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Count the working days after ``a`` up to and including ``b``.

    Parameters
    ----------
    a, b
        Dates in either order.

    Returns
    -------
    int
        The count; negative (``-working_days_between(b, a)``) when ``b`` is before ``a``, and
        ``0`` when they are the same day.
    """
    if b < a:
        return -working_days_between(b, a)
    count = 0
    day = a
    while day < b:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
