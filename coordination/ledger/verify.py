"""Checking the audit log: every chain link, every seal, every free-text digest, and the tail.

What the checks protect against, and what they cannot (``docs/AUDIT.md``): someone who changes,
deletes, reorders or inserts events in the database, or cuts events from the end, is detected as
long as they do not also hold the audit key (which is not in the database) *and* the checkpoint
files (which are not in the database either). A holder of the database, the key and the data
directory together can rewrite history undetectably; the optional system-log copy of each
checkpoint raises that bar to the system log as well.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from coordination.ledger.chain import (
    _TABLE,
    GENESIS_HASH,
    event_hash,
    key_id,
    seal_of,
    text_digest,
)
from coordination.ledger.checkpoint import Head

__all__ = ["ChainReport", "check_chain"]

_WHY = {
    "changed": "it was changed after it was written (its contents no longer match its hash)",
    "text changed": "its details or justification were changed after it was written",
    "forged": "its seal is wrong: it was written or re-chained without the audit key",
    "unknown key": "it is sealed with an audit key this installation does not hold",
    "missing": "the event before it is missing (deleted)",
    "reordered": "it is out of order (it links to an event stored elsewhere)",
    "broken link": "it carries no seal or no link to the event before it",
    "redaction": "its text is blanked, but not by a recorded erasure",
}


@dataclass(frozen=True)
class ChainReport:
    """What :func:`check_chain` found.

    Attributes
    ----------
    ok
        True when every event matches its hash, seal and text digest, links to the one before,
        and the log reaches at least as far as the last checkpoint.
    checked
        Events examined (all of them when the chain is intact).
    first_bad_id
        The id of the first event where a check fails, or ``None``.
    problem
        A key of the reasons below (``changed``, ``text changed``, ``forged``, ``unknown key``,
        ``missing``, ``reordered``, ``broken link``, ``redaction``), ``truncated`` (events
        after the last one were cut: see ``missing_after``), ``rewritten`` (the checkpoint's
        event is not the one in the database), ``checkpoint forged``, or ``None``.
    last_hash
        The hash of the last event checked.
    last_id
        The id of the last event checked.
    missing_after
        With ``truncated``: the events from here up to ``checkpoint_id`` are gone.
    checkpoint_id
        The last event the checkpoint saw, or ``None`` when there is no checkpoint yet.
    """

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    last_hash: str | None = None
    last_id: int | None = None
    missing_after: int | None = None
    checkpoint_id: int | None = None

    @property
    def message(self) -> str:
        """One line for people, naming the first bad event."""
        if self.ok:
            return f"Audit chain intact: {self.checked:,} events checked."
        if self.problem == "truncated":
            return (
                f"Audit log truncated: events after {self.missing_after} are missing (the "
                f"checkpoint outside the database saw up to event {self.checkpoint_id})."
            )
        if self.problem == "rewritten":
            return (
                f"Audit log rewritten: event {self.checkpoint_id} is not the one the checkpoint "
                "outside the database recorded."
            )
        if self.problem == "checkpoint forged":
            return "Audit checkpoint is not authentic: it was edited without the audit key."
        why = _WHY.get(self.problem or "", self.problem or "unknown")
        return f"Audit chain broken at event {self.first_bad_id}: {why}."

    def json_extra(self) -> dict[str, Any]:
        """JSON adds the one-line message."""
        return {"message": self.message}


_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "details",
    "category",
    "justification",
    "recipients",
    "offender_ids",
    "prev_hash",
    "hash",
    "text_salt",
    "text_digest",
    "seal",
    "key_id",
    "redacted_by",
)


def _row_problem(row: Any, keys: dict[str, str], erasures: dict[int, set[int]]) -> str | None:
    """The first check one event fails, or ``None``."""
    if row.hash is None or row.prev_hash is None or row.seal is None or row.text_digest is None:
        return "broken link"
    if row.text_salt is not None:
        if text_digest(row.text_salt, row.details, row.justification) != row.text_digest:
            return "text changed"
    elif row.redacted_by is None or row.id not in erasures.get(row.redacted_by, set()):
        # Blanked text is believed only when a sealed erasure event lists this event.
        return "redaction"
    chained = event_hash(
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        category=row.category,
        recipients=row.recipients,
        offender_ids=row.offender_ids,
        text_digest=row.text_digest,
        prev_hash=row.prev_hash,
    )
    if chained != row.hash:
        return "changed"
    key = keys.get(row.key_id or "")
    if key is None:
        return "unknown key"
    if not hmac.compare_digest(seal_of(key, row.hash), row.seal):
        return "forged"
    return None


def check_chain(
    session: Session,
    *,
    keys: list[str],
    head: Head | None = None,
    batch_size: int = 5000,
) -> ChainReport:
    """Walk the whole log in id order and check every link, seal and digest, then the tail.

    Parameters
    ----------
    session
        Any session (reads only).
    keys
        The audit keys this installation holds (the current one first).
    head
        The last checkpoint of this database's log, if any.
    batch_size
        Events fetched at a time, so a long log is never held in memory.

    Returns
    -------
    ChainReport
        ``ok``, or the first bad event and why.
    """
    table = _TABLE
    by_id = {key_id(k): k for k in keys}
    erasures = _erasures(session)
    columns = [table.c[name] for name in _COLUMNS]
    expected_prev = GENESIS_HASH
    checked = 0
    after = 0
    last_id: int | None = None
    hashes_at_head: str | None = None
    while True:
        # Keyset pages by id: each page is a short indexed read, however long the log.
        rows = session.execute(
            sa.select(*columns).where(table.c.id > after).order_by(table.c.id).limit(batch_size)
        ).all()
        if not rows:
            break
        for row in rows:
            checked += 1
            problem = _row_problem(row, by_id, erasures)
            if problem is None and row.prev_hash != expected_prev:
                problem = _link_problem(session, row.prev_hash)
            if problem is not None:
                return ChainReport(False, checked, row.id, problem, expected_prev, last_id)
            expected_prev = row.hash
            last_id = row.id
            if head is not None and row.id == head.id:
                hashes_at_head = row.hash
        after = rows[-1].id
    return _against_head(head, checked, expected_prev, last_id, hashes_at_head)


def _erasures(session: Session) -> dict[int, set[int]]:
    """Each (unblanked) erasure event and the events it says it blanked."""
    t = _TABLE
    rows = session.execute(
        sa.select(t.c.id, t.c.details).where(t.c.category == "erasure", t.c.text_salt.is_not(None))
    ).all()
    return {int(r.id): {int(i) for i in (r.details or {}).get("redacted_events", [])} for r in rows}


def _against_head(
    head: Head | None, checked: int, last_hash: str, last_id: int | None, at_head: str | None
) -> ChainReport:
    if head is None:
        return ChainReport(True, checked, None, None, last_hash, last_id)
    if not head.authentic:
        return ChainReport(False, checked, None, "checkpoint forged", last_hash, last_id)
    if last_id is None or last_id < head.id:
        return ChainReport(
            False,
            checked,
            None,
            "truncated",
            last_hash,
            last_id,
            missing_after=last_id or 0,
            checkpoint_id=head.id,
        )
    if at_head != head.hash:
        return ChainReport(
            False, checked, head.id, "rewritten", last_hash, last_id, checkpoint_id=head.id
        )
    return ChainReport(True, checked, None, None, last_hash, last_id, checkpoint_id=head.id)


def _link_problem(session: Session, prev_hash: str) -> str:
    # A link to a hash that still exists elsewhere means events were moved; to none, that the
    # event before was deleted. (Runs once, on failure: the unindexed lookup does not matter.)
    if prev_hash == GENESIS_HASH:
        return "reordered"
    found = session.execute(sa.select(_TABLE.c.id).where(_TABLE.c.hash == prev_hash)).first()
    return "reordered" if found is not None else "missing"
