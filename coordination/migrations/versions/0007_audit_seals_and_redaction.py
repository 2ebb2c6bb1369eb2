"""The audit log is sealed with a key, and a person's free text can be erased from it.

Every event gets ``seal`` (HMAC-SHA256 of its chain hash under ``CROSSFORCE_AUDIT_KEY``) and
``key_id``; its free text (details, justification) enters the chain through a salted digest
(``text_salt``, ``text_digest``). The existing events are re-chained and sealed here, in id
order, with the key of the installation that upgrades.

The triggers change with it: DELETE (and TRUNCATE) stay refused; an UPDATE is refused unless it is
the redaction an erasure makes: the event's text blanked, its salt removed and the erasure event
that did it recorded (``redacted_by``), every chained column unchanged. (A later erasure of
another person named in the same event may blank it again.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
    sa.column("text_salt", sa.String()),
    sa.column("text_digest", sa.String()),
    sa.column("seal", sa.String()),
    sa.column("key_id", sa.String()),
)

_SQLITE_ONLY_REDACTION = """
CREATE TRIGGER audit_event_only_redaction BEFORE UPDATE ON audit_event
WHEN NEW.redacted_by IS NULL OR NEW.text_salt IS NOT NULL
  OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor IS NOT OLD.actor
  OR NEW.action IS NOT OLD.action OR NEW.entity_type IS NOT OLD.entity_type
  OR NEW.entity_id IS NOT OLD.entity_id OR NEW.category IS NOT OLD.category
  OR NEW.recipients IS NOT OLD.recipients OR NEW.offender_ids IS NOT OLD.offender_ids
  OR NEW.prev_hash IS NOT OLD.prev_hash OR NEW.hash IS NOT OLD.hash
  OR NEW.text_digest IS NOT OLD.text_digest OR NEW.seal IS NOT OLD.seal
  OR NEW.key_id IS NOT OLD.key_id
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only: events cannot be changed or deleted');
END
"""

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.redacted_by IS NOT NULL AND NEW.text_salt IS NULL
       AND (NEW.id, NEW.at, NEW.actor, NEW.action, NEW.entity_type, NEW.entity_id,
            NEW.category, NEW.recipients::text, NEW.offender_ids::text, NEW.prev_hash,
            NEW.hash, NEW.text_digest, NEW.seal, NEW.key_id)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor, OLD.action, OLD.entity_type, OLD.entity_id,
            OLD.category, OLD.recipients::text, OLD.offender_ids::text, OLD.prev_hash,
            OLD.hash, OLD.text_digest, OLD.seal, OLD.key_id)
    THEN
        RETURN NEW;  -- the redaction an erasure makes
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: events cannot be changed '
        'or deleted (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def _reseal(connection: sa.Connection) -> None:
    """Re-chain and seal every event, oldest first, with this installation's audit key."""
    from coordination.core.settings import get_settings
    from coordination.ledger.chain import GENESIS_HASH, event_hash, key_id, seal_of, text_digest

    key = get_settings().audit_keys[0]
    prev = GENESIS_HASH
    updates: list[dict[str, object]] = []
    for row in connection.execute(sa.select(_audit).order_by(_audit.c.id)):
        # SQLite hands back naive datetimes; they were written as UTC.
        at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
        salt = secrets.token_hex(16)
        digest = text_digest(salt, row.details, row.justification)
        chained = event_hash(
            at=at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            category=row.category,
            recipients=row.recipients,
            offender_ids=row.offender_ids,
            text_digest=digest,
            prev_hash=prev,
        )
        updates.append(
            {
                "row_id": row.id,
                "prev_hash": prev,
                "hash": chained,
                "text_salt": salt,
                "text_digest": digest,
                "seal": seal_of(key, chained),
                "key_id": key_id(key),
            }
        )
        prev = chained
    if updates:
        connection.execute(
            sa.update(_audit)
            .where(_audit.c.id == sa.bindparam("row_id"))
            .values(
                prev_hash=sa.bindparam("prev_hash"),
                hash=sa.bindparam("hash"),
                text_salt=sa.bindparam("text_salt"),
                text_digest=sa.bindparam("text_digest"),
                seal=sa.bindparam("seal"),
                key_id=sa.bindparam("key_id"),
            ),
            updates,
        )


def upgrade() -> None:
    """Add the seal and redaction columns, re-chain and seal, and allow only redaction."""
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
    op.add_column("audit_event", sa.Column("text_salt", sa.String(), nullable=True))
    op.add_column("audit_event", sa.Column("text_digest", sa.String(), nullable=True))
    op.add_column("audit_event", sa.Column("seal", sa.String(), nullable=True))
    op.add_column("audit_event", sa.Column("key_id", sa.String(), nullable=True))
    op.add_column("audit_event", sa.Column("redacted_by", sa.Integer(), nullable=True))
    op.add_column(
        "audit_event", sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True)
    )
    _reseal(connection)
    if postgres:
        op.execute(_PG_FUNCTION)
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")
    else:
        op.execute(_SQLITE_ONLY_REDACTION)


def downgrade() -> None:
    """Development only: the seals go, and updates are refused outright again."""
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_only_redaction")
    for name in ("redacted_at", "redacted_by", "key_id", "seal", "text_digest", "text_salt"):
        with op.batch_alter_table("audit_event") as batch:
            batch.drop_column(name)
    if connection.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")
    else:
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: "
            "events cannot be changed or deleted'); END"
        )
