"""Reading the audit log: search and export for those allowed to read it.

Erased people's events are shown pseudonymised; the stored rows never change.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col, select

from coordination.core.settings import get_settings
from coordination.core.tables import neutralise
from coordination.core.validate import plain_text
from coordination.core.wording import (
    case_access_mode_label,
    decision_label,
    handoff_state_label,
    humanise,
    offence_label,
    programme_label,
    risk_label,
    role_label,
    rule_label,
    sex_label,
)
from coordination.errors import InputError
from coordination.ledger.chain import _TABLE, CATEGORIES, record_event
from coordination.ledger.checkpoint import read_head, record_checkpoint, write_head
from coordination.ledger.verify import ChainReport, check_chain
from coordination.models import AuditEvent, AuditEventPublic, Force, Offender

EXPORT_ACTION = "audit.export"

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
    #: ``details`` as one readable line (:func:`details_text`); the JSON stays in ``details``.
    summary: str = ""


# --- details in words ----------------------------------------------------------------------------

#: How a details key reads in a sentence; other keys read with their underscores as spaces.
DETAIL_LABELS: dict[str, str] = {
    "address_id": "address",
    "assignment_id": "assignment",
    "bcu_code": "BCU",
    "case_id": "case",
    "case_ids": "cases",
    "decided_force_code": "decided by",
    "expires_at": "expires",
    "failed_logins": "failed sign-ins",
    "first_id": "first event",
    "force_code": "force",
    "from_force_code": "from force",
    "from_state": "from",
    "from_status": "from",
    "handoff_id": "handoff",
    "item_id": "agenda item",
    "last_id": "last event",
    "lead_force_code": "lead force",
    "locked_until": "locked until",
    "meeting_id": "meeting",
    "near_boundary_m": "near a boundary (m)",
    "offence_category": "offence",
    "offender_id": "offender",
    "offender_ids": "offenders",
    "pnc_id": "PNC ID",
    "redacted_events": "redacted events",
    "retention_years": "retention (years)",
    "sub": "subject",
    "target_force_code": "target force",
    "to_bcu_code": "to BCU",
    "to_force_code": "to force",
    "to_state": "to",
    "to_status": "to",
}

# Keys whose values are register codes, worded as the rest of the application words them.
_VALUE_WORDS: dict[str, Callable[[object], str]] = {
    "from_state": handoff_state_label,
    "from_status": humanise,
    "kind": decision_label,
    "mode": case_access_mode_label,
    "offence_category": offence_label,
    "programme": programme_label,
    "risk": risk_label,
    "role": role_label,
    "rule": rule_label,
    "sex": sex_label,
    "to_state": handoff_state_label,
    "to_status": humanise,
}
_LIST_SHOWN = 8
_SUMMARY_MAX = 400


def _detail_value(key: str, value: Any, forces: Mapping[str, str]) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        inner = _detail_pairs(value, forces, ", ")
        return f"({inner})" if inner else "nothing"
    if isinstance(value, list | tuple):
        shown = [_detail_value(key, v, forces) for v in value[:_LIST_SHOWN]]
        more = f" … ({len(value)} in all)" if len(value) > _LIST_SHOWN else ""
        return (", ".join(shown) + more) if shown else "none"
    if key.endswith("force_code") and str(value) in forces:
        return forces[str(value)]
    if key in _VALUE_WORDS:
        return _VALUE_WORDS[key](value)
    return " ".join(str(value).split())


def _detail_pairs(details: Mapping[str, Any], forces: Mapping[str, str], sep: str) -> str:
    return sep.join(
        f"{DETAIL_LABELS.get(str(k), str(k).replace('_', ' '))}: {_detail_value(str(k), v, forces)}"
        for k, v in details.items()
    )


def details_text(details: Mapping[str, Any] | None, forces: Mapping[str, str] | None = None) -> str:
    """Return an event's details as one readable line, ``"key: value; key: value"``.

    Parameters
    ----------
    details
        The event's details as a reader may see them (already pseudonymised where the person
        was erased): this only words them, it never adds to them.
    forces
        Force names by code, so ``to_force_code`` reads as the force's name.

    Returns
    -------
    str
        E.g. ``"case: 12; from: Open; to: Done"``; long lists are cut to their first items with
        the count, the whole line to 400 characters; empty for no details.
    """
    if not details:
        return ""
    text = _detail_pairs(details, forces or {}, "; ")
    return text if len(text) <= _SUMMARY_MAX else text[: _SUMMARY_MAX - 1].rstrip() + "…"


def require_audit_reader(session: Session, *, actor: str) -> None:
    """Refuse anyone who may not read the audit log (admins and the system may).

    Raises
    ------
    AccessDeniedError
        From ``coordination.permissions.require`` when ``actor`` lacks ``audit.read``; the
        refusal is itself audited.
    """
    # Imported here: permissions records refusals through this module.
    from coordination.security.permissions import require

    require(session, actor=actor, action="audit.read", entity_type="audit_event")


def verify_chain(
    session: Session, *, actor: str | None = None, batch_size: int = 5000
) -> ChainReport:
    """Check every link, seal and digest of the audit log, and its tail against the checkpoint.

    When the log is intact the checkpoint outside the database is brought up to date and the
    verified head is added to the checkpoint history.

    Parameters
    ----------
    session
        Any session (reads only).
    actor
        Who asks: refused unless allowed to read the audit log. ``None`` (services, tests)
        checks nothing: the answer names no person.
    batch_size
        Events fetched at a time.

    Returns
    -------
    ChainReport
        ``ok`` or the first bad event and why.

    Raises
    ------
    AccessDeniedError
        When ``actor`` is given and may not read the audit log.
    """
    if actor is not None:
        require_audit_reader(session, actor=actor)
    settings = get_settings()
    bind = session.get_bind()
    head = read_head(settings, bind)
    report = check_chain(session, keys=settings.audit_keys, head=head, batch_size=batch_size)
    if report.ok and report.last_id is not None and report.last_hash is not None:
        seal = session.execute(
            sa.select(_TABLE.c.seal).where(_TABLE.c.id == report.last_id)
        ).scalar_one()
        write_head(
            settings, bind, event_id=report.last_id, chain_hash=report.last_hash, seal=str(seal)
        )
        latest = read_head(settings, bind)
        if latest is not None:
            record_checkpoint(settings, bind, latest)
    return report


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
    if row.id is None:
        raise RuntimeError("row.id is missing")
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
        Detached records, safe to use after the session closes, each with its details in
        words (``summary``) beside the JSON.

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
    records = _without_erased_people(session, records)
    forces = {code: name for code, name in session.exec(select(Force.code, Force.name)).all()}
    return [replace(r, summary=details_text(r.details, forces)) for r in records]


def _without_erased_people(session: Session, records: list[AuditRecord]) -> list[AuditRecord]:
    """Show the events of erased people pseudonymised: the trail stays, the person goes.

    The stored rows never change (the log is append-only and hash-chained); readers get the
    details with names, PNC IDs, dates of birth, postcodes and coordinates replaced.
    """
    from coordination.security.pseudonyms import pseudonymise_details

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
    justification: str = "",
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
    justification
        Why it is exported (required: a disclosure says why; kept on its audit event).

    Raises
    ------
    InputError
        No justification.

    Returns
    -------
    bytes
        The CSV: one header row, then one row per event.
    """
    why = " ".join(plain_text(justification or "", "the justification", multiline=True).split())
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
    # After the permission check (in search_events): a refused user learns nothing more.
    if not why:
        raise InputError("A disclosure says why: give the justification for this export")
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
        justification=why,
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
