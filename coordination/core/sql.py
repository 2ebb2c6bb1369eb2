"""Query helpers shared by every package: long ``IN`` lists split or rendered safely."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

__all__ = ["CHUNK", "chunks", "in_ids"]

# IN lists are split so that SQLite's bound-parameter limit is never reached.
CHUNK = 5000

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    """Yield ``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def in_ids(column: Any, ids: Sequence[int]) -> Any:
    """``column IN (…)`` for many integer ids, rendered inline.

    Thousands of bound parameters cost more to parse (psycopg splits the query at each) than the
    query costs to run; integers are safe to render into the SQL.
    """
    values = [int(v) for v in ids]
    return column.in_(sa.bindparam("ids", value=values, expanding=True, literal_execute=True))
