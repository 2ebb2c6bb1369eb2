"""The audit log: who did what to which records, when, why, and for whom (DPA 2018 s.62).

Every service that writes calls :func:`record_event` in the same session, so the event commits or
rolls back with the change it describes. Each event carries its s.62 category (collection,
alteration, consultation, disclosure, combination, erasure; plus ``system`` and ``access``), the
justification where the law asks for one, the recipients of a disclosure and the offenders it
touched.

The log is append-only and tamper-evident:

* this module offers no way to change or delete an event, and migration 0005 adds database
  triggers that refuse UPDATE and DELETE on ``audit_event`` whoever asks;
* every row is sealed with a hash chain: ``hash`` is SHA-256 over a canonical JSON form of the
  row's fields and ``prev_hash``, the previous row's ``hash`` (:data:`GENESIS_HASH` for the
  first). Changing, deleting or reordering a row breaks the chain, and :func:`verify_chain`
  names the first row where it breaks. Removing rows from the *end* leaves a shorter but valid
  chain; :attr:`ChainReport.last_hash` is what to note down elsewhere to detect that too.

Appends are serialised so two writers cannot both chain onto the same row. PostgreSQL: a
transaction-level advisory lock (held until commit or rollback) is taken before the last hash is
read. SQLite: the write lock is taken (a write that touches no row) before the read. In both, the
lock is held until the transaction ends, so the last hash is remembered for the rest of the
transaction: an append costs one indexed query for the first event of a transaction and none
after that (the demo seeds ~100k events in one transaction).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from coordination.models import AuditEvent, AuditEventPublic, Offender, utcnow
from geo.batch import neutralise
from geo.errors import InputError

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

EXPORT_ACTION = "audit.export"

# pg_advisory_xact_lock takes a bigint; this one spells "xforce" + "AU" in ASCII.
_ADVISORY_LOCK_KEY = 0x78666F7263654155
_LAST_HASH_KEY = "coordination.audit.last_hash"
_TABLE: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]
# Takes SQLite's write lock without touching a row (the WHERE is constant false; the triggers
# would refuse a real deletion anyway).
_SQLITE_TAKE_WRITE_LOCK = sa.text("DELETE FROM audit_event WHERE 0")

_CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "category",
    "action",
    "entity_type",
    "entity_id",
    "offender_ids",
    "justification",
    "recipients",
    "details",
    "prev_hash",
    "hash",
)


# --- the hash chain ------------------------------------------------------------------------------


def event_hash(
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    details: dict[str, Any] | None,
    category: str,
    justification: str | None,
    recipients: Sequence[str] | None,
    offender_ids: Sequence[int] | None,
    prev_hash: str,
) -> str:
    """Return the SHA-256 seal of one event (hex).

    The canonical form is JSON with sorted keys, no spaces, UTF-8, and the time in ISO 8601 UTC,
    so the same row read back from SQLite or PostgreSQL gives the same hash.

    Parameters
    ----------
    at, actor, action, entity_type, entity_id, details, category, justification, recipients, \
offender_ids
        The event's fields as stored.
    prev_hash
        The previous event's ``hash``, or :data:`GENESIS_HASH` for the first.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    payload = {
        "at": at.astimezone(UTC).isoformat(),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "details": details,
        "category": category,
        "justification": justification,
        "recipients": None if recipients is None else list(recipients),
        "offender_ids": None if offender_ids is None else list(offender_ids),
        "prev_hash": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _forget_last_hash(session: OrmSession, transaction: SessionTransaction) -> None:
    # The remembered last hash is only good while this transaction holds the append lock: forget
    # it when the root transaction ends (commit, rollback, close) or a savepoint ends (its rows
    # may have been rolled back). Flush-internal subtransactions keep it.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_LAST_HASH_KEY, None)


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
        The new row, with ``id``, ``at``, ``prev_hash`` and ``hash`` set.

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
    seal = event_hash(
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
    )
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
        hash=seal,
    )
    session.add(row)
    session.flush()
    session.info[_LAST_HASH_KEY] = (session.get_transaction(), seal)
    return row


# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found.

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

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values, with ``message``."""
        return {**asdict(self), "message": self.message}


def verify_chain(
    session: Session, *, actor: str | None = None, batch_size: int = 5000
) -> ChainReport:
    """Walk the whole log in id order and check every seal and link.

    Parameters
    ----------
    session
        Any session (reads only).
    actor
        Who asks: refused unless allowed to read the audit log. ``None`` (services, tests)
        checks nothing: the answer names no person.
    batch_size
        Rows fetched at a time, so a long log is never held in memory.

    Returns
    -------
    ChainReport
        ``ok`` or the first bad row and why.

    Raises
    ------
    AccessDeniedError
        When ``actor`` is given and may not read the audit log.
    """
    if actor is not None:
        require_audit_reader(session, actor=actor)
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


# --- search and export ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    """One audit event with every s.62 field, as search returns it."""

    id: int
    at: datetime
    actor: str
    action: str
    category: str
    entity_type: str
    entity_id: str | None
    details: dict[str, Any] | None
    justification: str | None
    recipients: list[str] | None
    offender_ids: list[int] | None
    prev_hash: str | None
    hash: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the time in ISO 8601 UTC)."""
        return {**asdict(self), "at": self.at.astimezone(UTC).isoformat()}


def require_audit_reader(session: Session, *, actor: str) -> None:
    """Refuse anyone who may not read the audit log (admins and the system may).

    Raises
    ------
    AccessDeniedError
        From ``coordination.permissions.require`` when ``actor`` lacks ``audit.read``; the
        refusal is itself audited.
    """
    # Imported here: permissions records refusals through this module.
    from coordination.permissions import require

    require(session, actor=actor, action="audit.read", entity_type="audit_event")


def _moment(value: date | datetime, *, end: bool) -> datetime:
    """A filter bound: a date means the whole day (UTC); a naive datetime is taken as UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    start = datetime.combine(value, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def _offender_clause(session: Session, offender_id: int) -> sa.ColumnElement[bool]:
    table = _TABLE
    if session.get_bind().dialect.name == "postgresql":
        listed: sa.ColumnElement[bool] = sa.cast(table.c.offender_ids, JSONB).contains(
            [offender_id]
        )
    else:
        members = sa.func.json_each(table.c.offender_ids).table_valued("value")
        listed = sa.select(members.c.value).where(members.c.value == offender_id).exists()
    return sa.or_(
        listed,
        sa.and_(table.c.entity_type == "offender", table.c.entity_id == str(offender_id)),
    )


def _filtered(
    session: Session,
    *,
    user: str | None,
    offender_id: int | None,
    since: date | datetime | None,
    until: date | datetime | None,
    action: str | None,
    category: str | None,
) -> Any:
    query = select(AuditEvent)
    if user:
        query = query.where(AuditEvent.actor == user.strip())
    if offender_id is not None:
        query = query.where(_offender_clause(session, int(offender_id)))
    if since is not None:
        query = query.where(AuditEvent.at >= _moment(since, end=False))
    if until is not None:
        bound = _moment(until, end=True)
        # A date includes its whole day; a moment is included itself.
        query = query.where(
            AuditEvent.at < bound if not isinstance(until, datetime) else AuditEvent.at <= bound
        )
    if action:
        action = action.strip()
        if action.endswith("*"):
            query = query.where(col(AuditEvent.action).startswith(action[:-1], autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if category:
        if category not in CATEGORIES:
            raise InputError(
                f"Unknown audit category {category!r}: use one of {', '.join(CATEGORIES)}"
            )
        query = query.where(AuditEvent.category == category)
    return query


def _record(row: AuditEvent) -> AuditRecord:
    assert row.id is not None
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        category=row.category,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        details=row.details,
        justification=row.justification,
        recipients=row.recipients,
        offender_ids=row.offender_ids,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def search_events(
    session: Session,
    *,
    actor: str,
    user: str | None = None,
    offender_id: int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    action: str | None = None,
    category: str | None = None,
    limit: int | None = 500,
) -> list[AuditRecord]:
    """Search the log, newest first (for admins).

    Parameters
    ----------
    session
        Any session.
    actor
        Who is searching; refused unless allowed to read the audit log.
    user
        Events by this actor only.
    offender_id
        Events that touched this offender (listed in ``offender_ids``, or the offender itself).
    since, until
        Events from / up to this moment; a date means its whole day (UTC).
    action
        This action, or every action starting with a prefix ending in ``*`` (``"handoff.*"``).
    category
        One of :data:`CATEGORIES`.
    limit
        At most this many events (``None``: all).

    Returns
    -------
    list[AuditRecord]
        Detached records, safe to use after the session closes.

    Raises
    ------
    AccessDeniedError
        When ``actor`` may not read the audit log.
    InputError
        For an unknown category or a negative limit.
    """
    require_audit_reader(session, actor=actor)
    if limit is not None and limit < 0:
        raise InputError("The limit must be zero or more")
    query = _filtered(
        session,
        user=user,
        offender_id=offender_id,
        since=since,
        until=until,
        action=action,
        category=category,
    ).order_by(col(AuditEvent.id).desc())
    if limit is not None:
        query = query.limit(limit)
    records = [_record(row) for row in session.exec(query).all()]
    return _without_erased_people(session, records)


def _without_erased_people(session: Session, records: list[AuditRecord]) -> list[AuditRecord]:
    """Show the events of erased people pseudonymised: the trail stays, the person goes.

    The stored rows never change (the log is append-only and hash-chained); readers get the
    details with names, PNC IDs, dates of birth, postcodes and coordinates replaced.
    """
    from coordination.retention import pseudonymise_details

    def people(record: AuditRecord) -> set[int]:
        ids = set(record.offender_ids or [])
        if record.entity_type == "offender" and record.entity_id and record.entity_id.isdigit():
            ids.add(int(record.entity_id))
        return ids

    touched = {i for r in records for i in people(r)}
    if not touched:
        return records
    erased = set(
        session.exec(
            select(Offender.id).where(
                col(Offender.id).in_(touched), col(Offender.erased_at).is_not(None)
            )
        ).all()
    )
    if not erased:
        return records
    out = []
    for record in records:
        details = record.details
        for offender_id in sorted(people(record) & erased):
            details = pseudonymise_details(details, offender_id=offender_id)
        out.append(replace(record, details=details) if details is not record.details else record)
    return out


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return neutralise(value)


def export_events(
    session: Session,
    *,
    actor: str,
    user: str | None = None,
    offender_id: int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    action: str | None = None,
    category: str | None = None,
    limit: int | None = None,
    recipients: Sequence[str] | None = None,
) -> bytes:
    """Export matching events as CSV (UTF-8, oldest first) and record the export as a disclosure.

    Text that a spreadsheet would run as a formula is neutralised (``geo.batch.neutralise``).

    Parameters
    ----------
    session
        The session the disclosure event is recorded in (the caller commits).
    actor
        Who exports; refused unless allowed to read the audit log.
    user, offender_id, since, until, action, category, limit
        As for :func:`search_events` (``limit`` keeps the newest; default all).
    recipients
        Who receives the file (default: the actor).

    Returns
    -------
    bytes
        The CSV: one header row, then one row per event.
    """
    records = search_events(
        session,
        actor=actor,
        user=user,
        offender_id=offender_id,
        since=since,
        until=until,
        action=action,
        category=category,
        limit=limit,
    )
    records.reverse()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for rec in records:
        values = asdict(rec)
        writer.writerow([_cell(values[name]) for name in _CSV_COLUMNS])
    filters = {
        "user": user,
        "offender_id": offender_id,
        "since": since.isoformat() if since is not None else None,
        "until": until.isoformat() if until is not None else None,
        "action": action,
        "category": category,
        "limit": limit,
    }
    record_event(
        session,
        actor=actor,
        action=EXPORT_ACTION,
        entity_type="audit_event",
        entity_id=None,
        details={
            "rows": len(records),
            "filters": {k: v for k, v in filters.items() if v is not None},
            "first_id": records[0].id if records else None,
            "last_id": records[-1].id if records else None,
        },
        category="disclosure",
        recipients=list(recipients) if recipients else [actor],
        offender_ids=[offender_id] if offender_id is not None else None,
    )
    return buffer.getvalue().encode("utf-8")


def list_events(
    session: Session,
    *,
    limit: int = 100,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditEventPublic]:
    """Return recent audit events, newest first (no permission check: for services and tests).

    Parameters
    ----------
    session
        Any session.
    limit
        At most this many events.
    actor, action
        Keep only events by this actor / with this action.

    Returns
    -------
    list[AuditEventPublic]
        Detached copies, safe to use after the session closes.
    """
    query = select(AuditEvent)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
    return [AuditEventPublic.model_validate(row) for row in session.exec(query).all()]
