"""Optimistic locking: when two people change the same row at once, exactly one wins.

Cases and handoffs carry a ``version`` column that SQLAlchemy (``version_id_col``) checks and bumps
on every UPDATE (``UPDATE … WHERE id = ? AND version = ?``). The loser is refused with
"Handoff 12 was changed by alice at 10:32 UTC; reload", naming who changed the row and when.

A change can lose in two ways, and both end in the same :class:`ConflictError`:

* the caller says which version it saw (``expected_version``: the version shown on the page or
  the CLI's earlier read) and the row has moved on since;
* the row moves on between this session's read and its write, and the flush finds no row with the
  version it read (``StaleDataError``).

On PostgreSQL :func:`load_for_update` also takes a row lock (``SELECT … FOR UPDATE``), so
concurrent writers queue on the row instead of failing late; the version check still decides who
wins, because the second writer saw the old version. SQLite ignores ``FOR UPDATE`` and serialises
writers itself (``busy_timeout`` in ``coordination.db``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, SQLModel, select

from coordination.errors import ConflictError, NotFoundError

RowT = TypeVar("RowT", bound=SQLModel)


def _when(moment: datetime | None, *, now: datetime | None = None) -> str:
    if moment is None:
        return "an unknown time"
    moment = moment.astimezone(UTC)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    if moment.date() == today:
        return f"{moment:%H:%M} UTC"
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def changed_by_message(label: str, updated_by: str | None, updated_at: datetime | None) -> str:
    """Return the one-line refusal for a lost race.

    Parameters
    ----------
    label
        What was changed, e.g. ``"Handoff 12"``.
    updated_by, updated_at
        Who last changed the row, and when.

    Returns
    -------
    str
        E.g. ``"Handoff 12 was changed by alice at 10:32 UTC; reload"`` (the date is shown too
        when the change was not today).
    """
    return f"{label} was changed by {updated_by or 'someone'} at {_when(updated_at)}; reload"


def _engine_of(session: Session) -> sa.Engine:
    bind = session.get_bind()
    if isinstance(bind, Connection):
        return bind.engine
    if not isinstance(bind, sa.Engine):
        raise TypeError("expected a Engine")
    return bind


def _conflict_from_fresh_read(
    session: Session, model: type[SQLModel], pk: Any, label: str
) -> ConflictError:
    # The failed session cannot be used any more (its flush failed), so the row as now
    # committed is read through a new session on the same engine.
    with Session(_engine_of(session)) as fresh:
        row: Any = fresh.get(model, pk)
        if row is None:
            return ConflictError(f"{label} was deleted by someone else; reload")
        return ConflictError(changed_by_message(label, row.updated_by, row.updated_at))


def load_for_update(
    session: Session,
    model: type[RowT],
    pk: Any,
    *,
    label: str,
    expected_version: int | None = None,
) -> RowT:
    """Read a row to change it, locking it on PostgreSQL and checking the caller's version.

    Parameters
    ----------
    session
        The session of the change.
    model
        ``Case`` or ``Handoff`` (any table with ``version``, ``updated_by`` and ``updated_at``).
    pk
        Primary key of the row.
    label
        What to call the row in messages, e.g. ``"Handoff 12"``.
    expected_version
        The version the caller saw; ``None`` to act on whatever is current.

    Returns
    -------
    RowT
        The row, fresh from the database (``populate_existing``), locked until the transaction
        ends on PostgreSQL.

    Raises
    ------
    NotFoundError
        No such row.
    ConflictError
        ``expected_version`` is given and the row has another version: someone changed it.
    """
    primary = sa.inspect(model).primary_key[0]
    query = (
        select(model)
        .where(primary == pk)
        .with_for_update()
        # A row already in the session would otherwise keep its old values and version.
        .execution_options(populate_existing=True)
    )
    row: RowT | None = session.exec(query).first()
    if row is None:
        raise NotFoundError(f"{label} does not exist")
    # Every locked table has version, updated_by and updated_at columns.
    versioned: Any = row
    if expected_version is not None and versioned.version != expected_version:
        raise ConflictError(changed_by_message(label, versioned.updated_by, versioned.updated_at))
    return row


def flush_or_conflict(session: Session, row: SQLModel, *, label: str) -> None:
    """Flush pending changes, turning a lost race into the "changed by" ``ConflictError``.

    Parameters
    ----------
    session
        The session of the change.
    row
        The versioned row being changed (to name it and read it back on conflict).
    label
        What to call the row in messages.

    Raises
    ------
    ConflictError
        Another transaction committed a new version of the row after this session read it. The
        session must then be rolled back (``session_scope`` does so).
    """
    pk = sa.inspect(row).identity
    try:
        session.flush()
    except StaleDataError as error:
        model = type(row)
        key = pk[0] if pk else getattr(row, "id", None)
        raise _conflict_from_fresh_read(session, model, key, label) from error
