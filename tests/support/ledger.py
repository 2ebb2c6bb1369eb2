"""Reading and tampering with the audit log directly, as the ledger and audit tests need."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.audit.reader import verify_chain
from coordination.ledger.verify import ChainReport
from coordination.models import AuditEvent


def rows(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())


def verify(engine: Engine) -> ChainReport:
    with Session(engine) as session:
        return verify_chain(session)


def drop_guard(engine: Engine) -> None:
    """Remove the append-only triggers (as someone tampering would have to)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER audit_event_no_change ON audit_event"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_event_only_redaction"))
            conn.execute(sa.text("DROP TRIGGER audit_event_no_delete"))


def raw(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
