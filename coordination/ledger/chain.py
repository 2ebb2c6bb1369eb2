"""The audit log: who did what to which records, when, why, and for whom (DPA 2018 s.62).

Every service that writes calls :func:`record_event` in the same session, so the event commits or
rolls back with the change it describes. Each event carries its s.62 category (collection,
alteration, consultation, disclosure, combination, erasure; plus ``system`` and ``access``), the
justification where the law asks for one, the recipients of a disclosure and the offenders it
touched.

The log is append-only and tamper-evident:

* this module offers no way to change or delete an event, and migration 0005 adds database
  triggers that refuse UPDATE and DELETE on ``audit_event`` whoever asks;
* every row is chained: ``hash`` is SHA-256 over a canonical JSON form of the row's fields and
  ``prev_hash``, the previous row's ``hash`` (:data:`GENESIS_HASH` for the first). The free text
  (``details``, ``justification``) enters the chain as a salted digest (``text_digest``), so
  erasing a person can blank that text, salt included, without breaking the chain;
* every row is sealed: ``seal`` is HMAC-SHA256 of its ``hash`` under the audit key
  (``CROSSFORCE_AUDIT_KEY``, kept outside the database; ``key_id`` names it so keys can rotate).
  Recomputing the chain after a rewrite does not give valid seals without the key;
* after every commit that appended events, the head of the log (last id, hash and seal, itself
  MAC'd) is written to a file outside the database (:mod:`coordination.ledger.checkpoint`), so
  events cut from the end are detected too.

:func:`coordination.ledger.verify.check_chain` names the first event where any of this fails.

Appends are serialised so two writers cannot both chain onto the same row. PostgreSQL: a
transaction-level advisory lock (held until commit or rollback) is taken before the last hash is
read. SQLite: the write lock is taken (a write that touches no row) before the read. In both, the
lock is held until the transaction ends, so the last hash is remembered for the rest of the
transaction: an append costs one indexed query for the first event of a transaction and none
after that (the demo seeds ~100k events in one transaction)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from coordination.core.clock import utcnow
from coordination.core.settings import get_settings
from coordination.errors import InputError
from coordination.models import AuditEvent

CATEGORIES: tuple[str, ...] = (
    "collection",
    "alteration",
    "consultation",
    "disclosure",
    "combination",
    "erasure",
    "system",
    "access",
)
"""The s.62 processing categories, plus ``system`` (set-up, seeding) and ``access`` (sign-in,
refusals)."""

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event of every log."""

# pg_advisory_xact_lock takes a bigint; this one spells "xforce" + "AU" in ASCII.
_ADVISORY_LOCK_KEY = 0x78666F7263654155
_LAST_HASH_KEY = "coordination.audit.last_hash"
#: Where a session keeps the last event it appended, for the checkpoint after commit.
HEAD_KEY = "coordination.audit.head"
_TABLE: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]
# Takes SQLite's write lock without touching a row (the WHERE is constant false; the triggers
# would refuse a real deletion anyway).
_SQLITE_TAKE_WRITE_LOCK = sa.text("DELETE FROM audit_event WHERE 0")


# --- the hash chain ------------------------------------------------------------------------------


def text_digest(salt: str, details: dict[str, Any] | None, justification: str | None) -> str:
    """Return the salted SHA-256 of an event's free text (hex).

    The salt is random per event and erased with the text, so a blanked event's digest can no
    longer be tested against a guess of what it said.
    """
    text = json.dumps(
        {"details": details, "justification": justification},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()


def event_hash(
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    category: str,
    recipients: Sequence[str] | None,
    offender_ids: Sequence[int] | None,
    text_digest: str,
    prev_hash: str,
) -> str:
    """Return the SHA-256 chain hash of one event (hex).

    The canonical form is JSON with sorted keys, no spaces, UTF-8, and the time in ISO 8601 UTC,
    so the same row read back from SQLite or PostgreSQL gives the same hash.

    Parameters
    ----------
    at, actor, action, entity_type, entity_id, category, recipients, offender_ids
        The event's fields as stored.
    text_digest
        :func:`text_digest` of its details and justification.
    prev_hash
        The previous event's ``hash``, or :data:`GENESIS_HASH` for the first.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    payload = {
        "v": 2,
        "at": at.astimezone(UTC).isoformat(),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "category": category,
        "recipients": None if recipients is None else list(recipients),
        "offender_ids": None if offender_ids is None else list(offender_ids),
        "text_digest": text_digest,
        "prev_hash": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_id(key: str) -> str:
    """A short public name for an audit key (a hash of it: it reveals nothing of the key)."""
    return hashlib.sha256(f"crossforce audit key id:{key}".encode()).hexdigest()[:12]


def seal_of(key: str, chain_hash: str) -> str:
    """Return the HMAC-SHA256 seal of a chain hash under ``key`` (hex)."""
    return hmac.new(key.encode("utf-8"), f"event:{chain_hash}".encode(), "sha256").hexdigest()


def _forget_last_hash(session: OrmSession, transaction: SessionTransaction) -> None:
    # The remembered last hash is only good while this transaction holds the append lock: forget
    # it when the root transaction ends (commit, rollback, close) or a savepoint ends (its rows
    # may have been rolled back). Flush-internal subtransactions keep it.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_LAST_HASH_KEY, None)
    if transaction.nested:
        # The savepoint's events may be gone: no checkpoint may name them (the next commit
        # that appends writes a fresh one).
        session.info.pop(HEAD_KEY, None)


sa_event.listen(OrmSession, "after_transaction_end", _forget_last_hash)


def _last_hash(session: Session) -> str:
    """Take the append lock (once per transaction) and return the hash to chain onto."""
    remembered = session.info.get(_LAST_HASH_KEY)
    if remembered is not None and remembered[0] is session.get_transaction():
        return str(remembered[1])
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # A separate statement before the read: under READ COMMITTED the read then takes a fresh
        # snapshot that includes whatever the previous lock holder committed.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))
    elif dialect == "sqlite":
        raw: Any = connection.connection.dbapi_connection
        if not getattr(raw, "in_transaction", False):
            # pysqlite opens a transaction before a write; reads run outside one. Without a write
            # first, two writers could read the same last hash before either inserts.
            session.execute(_SQLITE_TAKE_WRITE_LOCK)
    last = session.execute(sa.select(_TABLE.c.hash).order_by(_TABLE.c.id.desc()).limit(1)).first()
    return GENESIS_HASH if last is None or last[0] is None else str(last[0])


def _json_value(details: dict[str, Any] | None) -> dict[str, Any] | None:
    # Stored as JSON; hashing what will be read back (tuples as lists, keys as strings) keeps the
    # seal verifiable.
    if details is None:
        return None
    try:
        value = json.loads(json.dumps(details, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InputError(f"Audit details must be plain JSON values: {exc}") from None
    if not isinstance(value, dict):
        raise InputError("Audit details must be a mapping")
    return value


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    details: dict[str, Any] | None = None,
    category: str = "system",
    justification: str | None = None,
    recipients: Sequence[str] | None = None,
    offender_ids: Sequence[int] | None = None,
) -> AuditEvent:
    """Append one sealed audit event to the session (flushed, not committed).

    Parameters
    ----------
    session
        The session of the change being recorded.
    actor
        Who did it (a username, or a system name such as ``"system:init"``).
    action
        Dotted verb, e.g. ``"boundary_set.activate"``.
    entity_type, entity_id
        What it was done to; ``entity_id`` is ``None`` for actions on many entities.
    details
        JSON-serialisable facts worth keeping (counts, previous values).
    category
        One of :data:`CATEGORIES`; ``"system"`` by default.
    justification
        Why, where the law asks for a reason (opening a person's record).
    recipients
        Who received a disclosure (forces, people, "file download").
    offender_ids
        The offenders whose records were touched (stored sorted, without repeats).

    Returns
    -------
    AuditEvent
        The new row, with ``id``, ``at``, ``prev_hash``, ``hash`` and ``seal`` set.

    Raises
    ------
    InputError
        When ``actor`` or ``action`` is empty (an anonymous change would defeat the log), the
        category is unknown, or ``details`` is not plain JSON.
    """
    actor = (actor or "").strip()
    if not actor:
        raise InputError("Every change needs an actor: set CROSSFORCE_USER or sign in")
    if not action.strip():
        raise InputError("An audit event needs an action")
    if category not in CATEGORIES:
        raise InputError(f"Unknown audit category {category!r}: use one of {', '.join(CATEGORIES)}")
    details = _json_value(details)
    if justification is not None:
        justification = justification.strip() or None
    recipient_list = [str(r) for r in recipients] if recipients else None
    offender_list = sorted({int(i) for i in offender_ids}) if offender_ids else None

    prev_hash = _last_hash(session)
    # The time is taken under the lock, so times never run backwards along the chain.
    at = utcnow()
    salt = secrets.token_hex(16)
    digest = text_digest(salt, details, justification)
    chained = event_hash(
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        category=category,
        recipients=recipient_list,
        offender_ids=offender_list,
        text_digest=digest,
        prev_hash=prev_hash,
    )
    key = get_settings().audit_keys[0]
    row = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        details=details,
        category=category,
        justification=justification,
        recipients=recipient_list,
        offender_ids=offender_list,
        prev_hash=prev_hash,
        hash=chained,
        text_salt=salt,
        text_digest=digest,
        seal=seal_of(key, chained),
        key_id=key_id(key),
    )
    session.add(row)
    session.flush()
    session.info[_LAST_HASH_KEY] = (session.get_transaction(), chained)
    # The head to checkpoint once this transaction commits (see checkpoint.py).
    session.info[HEAD_KEY] = (int(row.id or 0), chained, row.seal)
    return row
