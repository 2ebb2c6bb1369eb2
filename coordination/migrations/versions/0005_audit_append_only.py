"""The audit log becomes append-only: existing events are sealed, then UPDATE and DELETE refused.

Events written before the hash chain existed (``hash`` is NULL) are sealed first, in id order, so
``crossforce audit verify`` passes on an upgraded database. Then database triggers refuse every
UPDATE and DELETE on ``audit_event``, whoever asks — the application has no such path, and this
keeps a stray script or SQL console from quietly rewriting history.

SQLite: ``BEFORE UPDATE`` / ``BEFORE DELETE`` triggers raising ``RAISE(ABORT, …)``. A later
migration that rebuilds ``audit_event`` in batch mode (copy, drop, rename) loses them and must
create them again. PostgreSQL: one plpgsql trigger function, fired before UPDATE or DELETE of each
row and before TRUNCATE.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:10:00
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The refusal every trigger raises (written out in each statement: SQL is never string-built).
# "audit_event is append-only: events cannot be changed or deleted"

# The table as it stands at this revision (not the models, which may move on).
_audit = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity_type", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("category", sa.String()),
    sa.column("justification", sa.String()),
    sa.column("recipients", sa.JSON()),
    sa.column("offender_ids", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _legacy_hash(**fields: Any) -> str:
    """The chain hash as this revision defined it (kept here: the ledger has moved on)."""
    payload = {**fields, "at": fields["at"].astimezone(UTC).isoformat()}
    for name in ("recipients", "offender_ids"):
        if payload[name] is not None:
            payload[name] = list(payload[name])
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _seal_existing(connection: sa.Connection) -> None:
    """Give every unsealed event its place in the chain (oldest first)."""
    prev = "0" * 64
    sealed: list[dict[str, object]] = []
    for row in connection.execute(sa.select(_audit).order_by(_audit.c.id)):
        if row.hash is not None:
            prev = row.hash
            continue
        # SQLite hands back naive datetimes; they were written as UTC.
        at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
        seal = _legacy_hash(
            at=at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            details=row.details,
            category=row.category,
            justification=row.justification,
            recipients=row.recipients,
            offender_ids=row.offender_ids,
            prev_hash=prev,
        )
        sealed.append({"row_id": row.id, "prev_hash": prev, "hash": seal})
        prev = seal
    if sealed:
        connection.execute(
            sa.update(_audit)
            .where(_audit.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash")),
            sealed,
        )


def upgrade() -> None:
    """Seal the events already written, then refuse UPDATE and DELETE on the audit log."""
    connection = op.get_bind()
    _seal_existing(connection)
    if connection.dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_event is append-only: events cannot be changed '
                    'or deleted (% refused)', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )
        return
    op.execute(
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: "
        "events cannot be changed or deleted'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: "
        "events cannot be changed or deleted'); END"
    )


def downgrade() -> None:
    """Drop the triggers again (development only); the seals stay."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
