"""Checking the audit log's hash chain, row by row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from coordination.ledger.chain import _TABLE, GENESIS_HASH, event_hash

# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What :func:`check_chain` found.

    Attributes
    ----------
    ok
        True when every row matches its seal and links to the row before it.
    checked
        Rows examined (all of them when ``ok``; up to and including the first bad one otherwise).
    first_bad_id
        The id of the first row where the chain breaks, or ``None``.
    problem
        ``"changed"`` (the row no longer matches its hash), ``"missing"`` (the row it links to is
        gone: deleted), ``"reordered"`` (it links to a row stored elsewhere) or ``"broken link"``
        (it carries no seal: written around this module), or ``None``.
    last_hash
        The hash of the last row checked: note it elsewhere to detect rows cut from the end.
    """

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    last_hash: str | None = None

    @property
    def message(self) -> str:
        """One line for people, naming the first bad row."""
        if self.ok:
            return f"Audit chain intact: {self.checked:,} events checked."
        why = {
            "changed": "it was changed after it was written (its contents no longer match "
            "its hash)",
            "missing": "the event before it is missing (deleted)",
            "reordered": "it is out of order (it links to an event stored elsewhere)",
            "broken link": "it carries no seal or no link to the event before it",
        }.get(self.problem or "", self.problem or "unknown")
        return f"Audit chain broken at event {self.first_bad_id}: {why}."

    def json_extra(self) -> dict[str, Any]:
        """JSON adds the one-line message."""
        return {"message": self.message}


def check_chain(session: Session, *, batch_size: int = 5000) -> ChainReport:
    """Walk the whole log in id order and check every seal and link.

    Parameters
    ----------
    session
        Any session (reads only).
    batch_size
        Rows fetched at a time, so a long log is never held in memory.

    Returns
    -------
    ChainReport
        ``ok`` or the first bad row and why.
    """
    table = _TABLE
    columns = [
        table.c.id,
        table.c.at,
        table.c.actor,
        table.c.action,
        table.c.entity_type,
        table.c.entity_id,
        table.c.details,
        table.c.category,
        table.c.justification,
        table.c.recipients,
        table.c.offender_ids,
        table.c.prev_hash,
        table.c.hash,
    ]
    expected_prev = GENESIS_HASH
    checked = 0
    after = 0
    while True:
        # Keyset pages by id: each page is a short indexed read, however long the log.
        rows = session.execute(
            sa.select(*columns).where(table.c.id > after).order_by(table.c.id).limit(batch_size)
        ).all()
        if not rows:
            break
        for row in rows:
            checked += 1
            if row.hash is None or row.prev_hash is None:
                return ChainReport(False, checked, row.id, "broken link", expected_prev)
            seal = event_hash(
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                details=row.details,
                category=row.category,
                justification=row.justification,
                recipients=row.recipients,
                offender_ids=row.offender_ids,
                prev_hash=row.prev_hash,
            )
            if seal != row.hash:
                return ChainReport(False, checked, row.id, "changed", expected_prev)
            if row.prev_hash != expected_prev:
                problem = _link_problem(session, row.prev_hash)
                return ChainReport(False, checked, row.id, problem, expected_prev)
            expected_prev = row.hash
        after = rows[-1].id
    return ChainReport(True, checked, None, None, expected_prev)


def _link_problem(session: Session, prev_hash: str) -> str:
    # A link to a seal that still exists elsewhere means rows were moved; to none, that the row
    # before was deleted. (Runs once, on failure: the unindexed lookup does not matter.)
    if prev_hash == GENESIS_HASH:
        return "reordered"
    found = session.execute(sa.select(_TABLE.c.id).where(_TABLE.c.hash == prev_hash)).first()
    return "reordered" if found is not None else "missing"
