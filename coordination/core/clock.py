"""The one clock: times are stored in UTC, days are counted in London.

People in London count days by the date on their wall, so "today" is always the London date, never
the machine's local date (a server may run on UTC). Every service that needs "now" or "today" asks
here, so tests and the demo can lay out history relative to a fixed day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def london_today() -> date:
    """Return today's date in London (Europe/London, whatever the machine's time zone)."""
    return datetime.now(LONDON).date()


def london_date(moment: datetime) -> date:
    """Return the calendar date in London of an aware datetime.

    A request at 00:30 on 1 July (BST) is 23:30 UTC on 30 June, but its deadlines run from
    1 July: people in London count days by the date on their wall.

    Parameters
    ----------
    moment
        A timezone-aware datetime.

    Returns
    -------
    date
        The date in Europe/London.
    """
    return moment.astimezone(LONDON).date()
