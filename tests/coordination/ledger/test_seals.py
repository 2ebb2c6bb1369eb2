"""The audit log cannot be forged silently: keyed seals, checkpoints, redaction by erasure.

Each tamper is done the way someone holding the database but not the audit key would do it:
recomputing the SHA-256 chain after a change, deleting and re-chaining, restoring the triggers
afterwards, cutting the end off. Every one is caught by ``audit verify``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.audit.reader import verify_chain
from coordination.core.db import get_engine, session_scope, upgrade
from coordination.core.settings import Settings, get_settings, reset_settings_cache
from coordination.ledger.chain import GENESIS_HASH, event_hash, record_event, seal_of
from coordination.ledger.checkpoint import head_path
from coordination.ledger.verify import ChainReport
from coordination.models import AuditEvent

WRONG_KEY = "a key mallory made up, not the installation's"


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """The ledger's tests count events from one: an empty, migrated database."""
    return empty_engine


def add(engine: Engine, n: int) -> None:
    """``n`` events, each committed (so each commit moves the checkpoint)."""
    for i in range(n):
        with session_scope(engine) as session:
            record_event(
                session,
                actor=f"user{i % 3}",
                action="offender.view",
                entity_type="offender",
                entity_id=str(i),
                details={"i": i},
                category="consultation",
                justification=f"checking {i}",
                offender_ids=[i],
            )


def verify(engine: Engine) -> ChainReport:
    with Session(engine) as session:
        return verify_chain(session)


def drop_guard(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_event_only_redaction"))
            conn.execute(sa.text("DROP TRIGGER audit_event_no_delete"))


def restore_guard(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change"))
        else:
            conn.execute(
                sa.text(
                    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
                    "BEGIN SELECT RAISE(ABORT, 'append-only'); END"
                )
            )


def rechain(engine: Engine, from_id: int, key: str) -> None:
    """Recompute hashes (and seals, with ``key``) from ``from_id`` on, as a forger would."""
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
        prev = GENESIS_HASH
        for row in rows:
            if row.id is not None and row.id >= from_id:
                assert row.text_digest is not None
                row.prev_hash = prev
                row.hash = event_hash(
                    at=row.at,
                    actor=row.actor,
                    action=row.action,
                    entity_type=row.entity_type,
                    entity_id=row.entity_id,
                    category=row.category,
                    recipients=row.recipients,
                    offender_ids=row.offender_ids,
                    text_digest=row.text_digest,
                    prev_hash=prev,
                )
                row.seal = seal_of(key, row.hash)
                session.add(row)
            prev = str(row.hash)
        session.commit()


def test_an_intact_log_verifies_and_its_checkpoint_follows(engine: Engine) -> None:
    add(engine, 6)
    report = verify(engine)
    assert (report.ok, report.checked, report.checkpoint_id) == (True, 6, 6)
    head = json.loads(head_path(get_settings(), engine).read_text())
    assert head["id"] == 6 and len(head["mac"]) == 64
    history = head_path(get_settings(), engine).with_suffix(".log").read_text().splitlines()
    assert json.loads(history[-1])["id"] == 6


def test_a_forged_append_with_a_recomputed_hash_is_caught(engine: Engine) -> None:
    add(engine, 4)
    with Session(engine) as session:
        last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
        assert last is not None and last.hash is not None and last.text_digest is not None
        at = datetime.now(UTC)
        forged = event_hash(
            at=at,
            actor="mallory",
            action="offender.view",
            entity_type="offender",
            entity_id="1",
            category="consultation",
            recipients=None,
            offender_ids=None,
            text_digest=last.text_digest,
            prev_hash=last.hash,
        )
        session.add(
            AuditEvent(
                at=at,
                actor="mallory",
                action="offender.view",
                entity_type="offender",
                entity_id="1",
                category="consultation",
                prev_hash=last.hash,
                hash=forged,
                text_salt=last.text_salt,
                text_digest=last.text_digest,
                details=last.details,
                justification=last.justification,
                seal=seal_of(WRONG_KEY, forged),
                key_id=last.key_id,
            )
        )
        session.commit()
    report = verify(engine)
    assert (report.ok, report.first_bad_id, report.problem) == (False, 5, "forged")
    assert "without the audit key" in report.message


@pytest.mark.parametrize("triggers_restored", [False, True])
def test_delete_and_rechain_is_caught(engine: Engine, triggers_restored: bool) -> None:
    add(engine, 8)
    drop_guard(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE id = 4"))
    rechain(engine, 5, WRONG_KEY)
    if triggers_restored:
        restore_guard(engine)
    report = verify(engine)
    assert (report.ok, report.first_bad_id, report.problem) == (False, 5, "forged")


def test_rewrite_and_rechain_is_caught(engine: Engine) -> None:
    add(engine, 8)
    drop_guard(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET actor = 'nobody' WHERE id = 3"))
    rechain(engine, 3, WRONG_KEY)
    restore_guard(engine)
    assert (verify(engine).first_bad_id, verify(engine).problem) == (3, "forged")


@pytest.mark.parametrize("cut", [1, 3, 8])
def test_events_cut_from_the_end_are_caught_by_the_checkpoint(engine: Engine, cut: int) -> None:
    add(engine, 8)
    drop_guard(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE id > :keep"), {"keep": 8 - cut})
    report = verify(engine)
    assert (report.ok, report.problem) == (False, "truncated")
    assert (report.missing_after, report.checkpoint_id) == (8 - cut, 8)
    assert report.message.startswith(f"Audit log truncated: events after {8 - cut} are missing")


def test_an_edited_checkpoint_is_not_believed(engine: Engine) -> None:
    add(engine, 5)
    path = head_path(get_settings(), engine)
    data = json.loads(path.read_text())
    data["id"] = 3  # hide the last two events
    path.write_text(json.dumps(data))
    report = verify(engine)
    assert (report.ok, report.problem) == (False, "checkpoint forged")


def test_a_rotated_key_still_verifies_old_events(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSFORCE_AUDIT_KEY", "k" * 40)
    reset_settings_cache()
    add(engine, 3)
    monkeypatch.setenv("CROSSFORCE_AUDIT_KEY", "n" * 40)
    reset_settings_cache()
    assert (verify(engine).ok, verify(engine).problem) == (False, "unknown key")
    monkeypatch.setenv("CROSSFORCE_AUDIT_OLD_KEYS", "k" * 40)
    reset_settings_cache()
    add(engine, 2)
    report = verify(engine)
    assert (report.ok, report.checked) == (True, 5)
    with Session(engine) as session:
        key_ids = session.exec(select(AuditEvent.key_id).order_by(col(AuditEvent.id))).all()
    assert key_ids[0] == key_ids[2] != key_ids[3] == key_ids[4]


def _erasure(engine: Engine, blanked: list[int]) -> int:
    with session_scope(engine) as session:
        event = record_event(
            session,
            actor="system:retention",
            action="offender.erase",
            entity_type="offender",
            entity_id="1",
            details={"redacted_events": blanked},
            category="erasure",
        )
        return int(event.id or 0)


BLANK = (
    "UPDATE audit_event SET details = NULL, justification = NULL, text_salt = NULL, "
    "redacted_by = :by, redacted_at = :at WHERE id = :id"
)


def test_a_recorded_erasure_may_blank_an_events_text(engine: Engine) -> None:
    add(engine, 4)
    erasure = _erasure(engine, [2])
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(sa.text(BLANK), {"by": erasure, "at": now, "id": 2})
    assert verify(engine).ok
    # A later erasure (of someone else named in it) may blank it again.
    later = _erasure(engine, [2])
    with engine.begin() as conn:
        conn.execute(sa.text(BLANK), {"by": later, "at": now, "id": 2})
    assert verify(engine).ok
    # Nothing else about an event may change with it.
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE audit_event SET actor = 'x', text_salt = NULL, redacted_by = :by "
                "WHERE id = 3"
            ),
            {"by": erasure},
        )


def test_a_blank_the_erasure_does_not_list_is_named(engine: Engine) -> None:
    add(engine, 4)
    erasure = _erasure(engine, [2])
    with engine.begin() as conn:
        conn.execute(sa.text(BLANK), {"by": erasure, "at": None, "id": 3})
    report = verify(engine)
    assert (report.first_bad_id, report.problem) == (3, "redaction")


def test_a_blanked_text_without_a_recorded_erasure_is_named(engine: Engine) -> None:
    add(engine, 4)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE audit_event SET details = NULL, text_salt = NULL, redacted_by = 3 "
                "WHERE id = 2"
            )
        )
    report = verify(engine)
    assert (report.first_bad_id, report.problem) == (2, "redaction")


def test_production_refuses_to_start_without_an_audit_key() -> None:
    with pytest.raises(ValidationError, match="CROSSFORCE_AUDIT_KEY must be set in production"):
        Settings(env="production", secret_key="s" * 40)
    assert Settings(env="production", secret_key="s" * 40, audit_key="a" * 40).audit_keys


# --- PostgreSQL: the application's role cannot rewrite the log -------------------------------


def test_the_app_role_cannot_change_delete_or_unguard_the_audit_log(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("database roles are a PostgreSQL matter")
    import secrets

    from coordination.core.db import grant_app_role, make_engine

    owner = get_engine(database_url)
    upgrade(owner)
    add(owner, 3)
    role = f"cf_app_{secrets.token_hex(4)}"
    password = secrets.token_hex(16)
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        raw = conn.connection.dbapi_connection
        from psycopg import sql

        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
    app_url = sa.engine.make_url(database_url).set(username=role, password=password)
    app = make_engine(app_url.render_as_string(hide_password=False))
    try:
        grant_app_role(owner, role)
        # The application works as this role: it appends events, and verifies the log.
        add(app, 2)
        assert verify(app).ok
        for statement in (
            "UPDATE audit_event SET actor = 'mallory' WHERE id = 1",
            "DELETE FROM audit_event WHERE id = 1",
            "TRUNCATE audit_event",
            "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change",
            "DROP TRIGGER audit_event_no_change ON audit_event",
        ):
            with pytest.raises(sa.exc.ProgrammingError), app.begin() as conn:
                conn.execute(sa.text(statement))
        assert verify(app).ok
    finally:
        app.dispose()
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Membership lets the test's owner drop what the role was granted (PostgreSQL 15).
            conn.execute(sa.text(f'GRANT "{role}" TO CURRENT_USER'))
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
