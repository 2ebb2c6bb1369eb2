"""The audit log's ledger (coordination.ledger): hash chain, append-only triggers, tampering.

Every test runs on SQLite and on a throwaway PostgreSQL database (``database_url``). Tampering
needs the append-only triggers out of the way, so :func:`drop_guard` removes them first — which is
exactly what an attacker with database rights would have to do, and what verification catches.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session

from coordination.audit.reader import (
    verify_chain,
)
from coordination.core.db import alembic_config, get_engine, session_scope, upgrade
from coordination.errors import InputError
from coordination.ledger.chain import CATEGORIES, GENESIS_HASH, event_hash, record_event
from coordination.ledger.verify import ChainReport
from coordination.models import AuditEvent
from tests.support.ledger import drop_guard, raw, rows, verify

CITY, MET = "E23000034", "E23000001"


def add(
    engine: Engine, n: int, *, per_transaction: int = 1, start: int = 0, **fields: object
) -> None:
    """Append ``n`` varied events, ``per_transaction`` to a transaction."""
    i = start
    while i < start + n:
        with session_scope(engine) as session:
            for _ in range(min(per_transaction, start + n - i)):
                record_event(
                    session,
                    **{  # type: ignore[arg-type]
                        "actor": f"user{i % 3}",
                        "action": ("offender.view", "handoff.accept", "case.create")[i % 3],
                        "entity_type": "offender",
                        "entity_id": str(i % 7),
                        "details": {"i": i, "name": "Zoë Ñ", "nested": {"b": [1, 2.5], "a": None}},
                        "category": CATEGORIES[i % len(CATEGORIES)],
                        "justification": f"reason {i}" if i % 2 else None,
                        "recipients": [MET] if i % 5 == 0 else None,
                        "offender_ids": [i % 7, 100 + i % 2],
                        **fields,
                    },
                )
                i += 1


# --- the chain ------------------------------------------------------------------------------------


def test_chain_is_built_and_verifies_over_many_events(empty_engine: Engine) -> None:
    add(empty_engine, 40)  # one event per transaction
    add(empty_engine, 1200, per_transaction=400, start=40)  # many per transaction
    stored = rows(empty_engine)
    assert len(stored) == 1240
    assert stored[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(stored))
    assert len({r.hash for r in stored}) == len(stored)
    assert all(r.hash and len(r.hash) == 64 for r in stored)
    # Times never run backwards along the chain.
    assert all(a.at <= b.at for a, b in itertools.pairwise(stored))

    report = verify(empty_engine)
    assert report.ok and report.checked == 1240 and report.first_bad_id is None
    assert report.last_hash == stored[-1].hash
    assert report.message == "Audit chain intact: 1,240 events checked."
    # Small pages give the same answer.
    with Session(empty_engine) as session:
        assert verify_chain(session, batch_size=7) == report


def test_an_empty_log_verifies(empty_engine: Engine) -> None:
    assert verify(empty_engine) == ChainReport(True, 0, None, None, GENESIS_HASH)


def test_record_event_keeps_old_callers_working_and_normalises(empty_engine: Engine) -> None:
    with session_scope(empty_engine) as session:
        old = record_event(session, actor="init", action="x.y", entity_type="x", entity_id=None)
        new = record_event(
            session,
            actor=" alice ",
            action="disclosure.pack",
            entity_type="meeting",
            entity_id="3",
            # Tuples and int keys come back from JSON as lists and strings: sealed as stored.
            details={1: (1, 2), "when": "2025-01-01"},  # type: ignore[dict-item]
            category="disclosure",
            justification="  ",
            recipients=(MET, CITY),
            offender_ids=[5, 3, 5],
        )
    assert old.category == "system" and old.prev_hash == GENESIS_HASH
    assert new.prev_hash == old.hash
    assert new.actor == "alice" and new.justification is None
    assert new.details == {"1": [1, 2], "when": "2025-01-01"}
    assert new.recipients == [MET, CITY] and new.offender_ids == [3, 5]
    assert verify(empty_engine).ok


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"category": "gossip"}, "Unknown audit category"),
        ({"details": {"at": datetime.now(UTC)}}, "plain JSON"),
        ({"details": {"x": float("nan")}}, "plain JSON"),
        ({"actor": " "}, "actor"),
    ],
)
def test_record_event_refuses_bad_input(empty_engine: Engine, fields: dict, needle: str) -> None:
    base = {"actor": "a", "action": "x.y", "entity_type": "x", "entity_id": None}
    with pytest.raises(InputError, match=needle), session_scope(empty_engine) as session:
        record_event(session, **{**base, **fields})
    assert rows(empty_engine) == []


def test_rolled_back_appends_do_not_fork_the_chain(empty_engine: Engine) -> None:
    add(empty_engine, 2)
    with pytest.raises(RuntimeError), session_scope(empty_engine) as session:
        record_event(session, actor="a", action="lost", entity_type="x", entity_id=None)
        raise RuntimeError("boom")
    # The same session object, reused after a rollback and after a savepoint rollback.
    session = Session(empty_engine)
    try:
        record_event(session, actor="a", action="kept.1", entity_type="x", entity_id=None)
        session.rollback()
        record_event(session, actor="a", action="kept.2", entity_type="x", entity_id=None)
        nested = session.begin_nested()
        record_event(session, actor="a", action="in.savepoint", entity_type="x", entity_id=None)
        nested.rollback()
        record_event(session, actor="a", action="kept.3", entity_type="x", entity_id=None)
        session.commit()
        record_event(session, actor="a", action="kept.4", entity_type="x", entity_id=None)
        session.commit()
    finally:
        session.close()
    assert [r.action for r in rows(empty_engine)][2:] == ["kept.2", "kept.3", "kept.4"]
    assert verify(empty_engine).ok


def test_one_lock_and_one_indexed_read_per_transaction(empty_engine: Engine) -> None:
    add(empty_engine, 3)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()).upper())

    sa.event.listen(empty_engine, "before_cursor_execute", seen)
    try:
        with session_scope(empty_engine) as session:
            for i in range(50):
                record_event(session, actor="a", action="x.y", entity_type="x", entity_id=str(i))
    finally:
        sa.event.remove(empty_engine, "before_cursor_execute", seen)
    inserts = [s for s in statements if s.startswith("INSERT")]
    others = [s for s in statements if not s.startswith(("INSERT", "BEGIN", "COMMIT"))]
    assert len(inserts) == 50
    lock = "PG_ADVISORY_XACT_LOCK" if empty_engine.dialect.name == "postgresql" else "DELETE FROM"
    assert len(others) == 2, others
    assert lock in others[0]
    assert "ORDER BY AUDIT_EVENT.ID DESC" in others[1] and "LIMIT" in others[1]


# --- append-only ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET details = NULL",
        "UPDATE audit_event SET actor = 'mallory' WHERE id = 1",
        "DELETE FROM audit_event WHERE id = 1",
        "DELETE FROM audit_event",
    ],
)
def test_triggers_refuse_update_and_delete(empty_engine: Engine, statement: str) -> None:
    add(empty_engine, 3)
    before = [(r.id, r.actor, r.details, r.hash) for r in rows(empty_engine)]
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        raw(empty_engine, statement)
    assert [(r.id, r.actor, r.details, r.hash) for r in rows(empty_engine)] == before
    assert verify(empty_engine).ok


def test_the_orm_cannot_change_or_delete_an_event_either(empty_engine: Engine) -> None:
    add(empty_engine, 2)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), Session(empty_engine) as session:
        event = session.get(AuditEvent, 1)
        assert event is not None
        event.actor = "mallory"
        session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), Session(empty_engine) as session:
        session.delete(session.get(AuditEvent, 2))
        session.commit()
    assert [r.actor for r in rows(empty_engine)] == ["user0", "user1"]


def test_postgresql_refuses_truncate(empty_engine: Engine) -> None:
    if empty_engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL only")
    add(empty_engine, 1)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        raw(empty_engine, "TRUNCATE audit_event")
    assert len(rows(empty_engine)) == 1


def test_audit_module_has_no_change_path() -> None:
    import coordination.audit.reader
    import coordination.ledger.chain
    import coordination.ledger.verify

    public = {
        name
        for module in (
            coordination.ledger.chain,
            coordination.ledger.verify,
            coordination.audit.reader,
        )
        for name in dir(module)
        if not name.startswith("_")
    }
    assert not {n for n in public if any(w in n for w in ("update", "delete", "remove", "edit"))}


# --- tamper detection -----------------------------------------------------------------------------


def test_a_changed_row_is_named(empty_engine: Engine) -> None:
    add(empty_engine, 30)
    drop_guard(empty_engine)
    raw(empty_engine, "UPDATE audit_event SET details = NULL WHERE id = 17")
    report = verify(empty_engine)
    assert (report.ok, report.first_bad_id, report.problem, report.checked) == (
        False,
        17,
        "text changed",
        17,
    )
    assert report.message.startswith(
        "Audit chain broken at event 17: its details or justification were changed"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET actor = 'mallory' WHERE id = 9",
        "UPDATE audit_event SET justification = 'none needed' WHERE id = 9",
        "UPDATE audit_event SET category = 'system' WHERE id = 9",
        "UPDATE audit_event SET entity_id = '999' WHERE id = 9",
        "UPDATE audit_event SET offender_ids = NULL WHERE id = 9",
        "UPDATE audit_event SET recipients = '[\"ICO\"]' WHERE id = 9",
    ],
)
def test_any_changed_field_is_detected(empty_engine: Engine, statement: str) -> None:
    add(empty_engine, 12)
    drop_guard(empty_engine)
    raw(empty_engine, statement)
    report = verify(empty_engine)
    # Free text is chained through its digest, so it is named as such.
    expected = "text changed" if "justification" in statement else "changed"
    assert (report.first_bad_id, report.problem) == (9, expected)


def test_a_changed_time_is_detected(empty_engine: Engine) -> None:
    add(empty_engine, 5)
    drop_guard(empty_engine)
    with empty_engine.begin() as conn:
        at = conn.execute(sa.text("SELECT at FROM audit_event WHERE id = 3")).scalar_one()
        moved = (at if isinstance(at, datetime) else datetime.fromisoformat(at)) - timedelta(
            seconds=1
        )
        conn.execute(sa.text("UPDATE audit_event SET at = :at WHERE id = 3"), {"at": moved})
    assert (verify(empty_engine).first_bad_id, verify(empty_engine).problem) == (3, "changed")


def test_a_deleted_row_is_named_by_the_row_after_it(empty_engine: Engine) -> None:
    add(empty_engine, 30)
    drop_guard(empty_engine)
    raw(empty_engine, "DELETE FROM audit_event WHERE id = 12")
    report = verify(empty_engine)
    assert (report.first_bad_id, report.problem) == (13, "missing")
    assert "the event before it is missing (deleted)" in report.message


def test_deleting_the_first_row_is_detected(empty_engine: Engine) -> None:
    add(empty_engine, 5)
    drop_guard(empty_engine)
    raw(empty_engine, "DELETE FROM audit_event WHERE id = 1")
    assert (verify(empty_engine).first_bad_id, verify(empty_engine).problem) == (2, "missing")


def test_swapped_rows_are_named(empty_engine: Engine) -> None:
    add(empty_engine, 30)
    drop_guard(empty_engine)
    raw(
        empty_engine,
        "UPDATE audit_event SET id = -1 WHERE id = 20",
        "UPDATE audit_event SET id = 20 WHERE id = 21",
        "UPDATE audit_event SET id = 21 WHERE id = -1",
    )
    report = verify(empty_engine)
    assert (report.first_bad_id, report.problem) == (20, "reordered")
    assert "out of order" in report.message


def test_a_row_rewritten_with_a_fresh_hash_is_caught_by_its_seal(empty_engine: Engine) -> None:
    # Mallory recomputes the changed row's own hash; without the audit key its seal is wrong.
    add(empty_engine, 10)
    drop_guard(empty_engine)
    with Session(empty_engine) as session:
        row = session.get(AuditEvent, 4)
        assert row is not None and row.prev_hash is not None and row.text_digest is not None
        rehashed = event_hash(
            at=row.at,
            actor="mallory",
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            category=row.category,
            recipients=row.recipients,
            offender_ids=row.offender_ids,
            text_digest=row.text_digest,
            prev_hash=row.prev_hash,
        )
    with empty_engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_event SET actor = 'mallory', hash = :h WHERE id = 4"),
            {"h": rehashed},
        )
    assert (verify(empty_engine).first_bad_id, verify(empty_engine).problem) == (4, "forged")


def test_a_row_written_around_the_module_is_named(empty_engine: Engine) -> None:
    add(empty_engine, 3)
    with Session(empty_engine) as session:
        session.add(AuditEvent(actor="sneaky", action="x.y", entity_type="x"))
        session.commit()
    add(empty_engine, 2, start=3)
    report = verify(empty_engine)
    assert (report.first_bad_id, report.problem) == (4, "broken link")


# --- concurrency ----------------------------------------------------------------------------------


def test_concurrent_appends_keep_one_unbroken_chain(empty_engine: Engine) -> None:
    threads_n, each = 8, 12
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with session_scope(empty_engine) as session:
                    record_event(
                        session, actor=f"t{k}", action="race", entity_type="x", entity_id=str(i)
                    )
                    if i % 2:
                        record_event(
                            session, actor=f"t{k}", action="race.2", entity_type="x", entity_id=None
                        )
                    # Hold the append lock a moment: without it, others would read the same
                    # last hash now and fork the chain.
                    time.sleep(0.002)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    stored = rows(empty_engine)
    assert len(stored) == threads_n * (each + each // 2)
    assert len({r.prev_hash for r in stored}) == len(stored)  # no two rows chain onto one
    report = verify(empty_engine)
    assert report.ok and report.checked == len(stored)


# --- migration ------------------------------------------------------------------------------------


def test_migration_seals_events_written_before_the_chain(database_url: str) -> None:
    engine = get_engine(database_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
    with engine.begin() as conn:
        for i in range(5):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_event (at, actor, action, entity_type, entity_id, details,"
                    " category) VALUES (:at, 'old', 'x.y', 'x', :eid, :details, 'system')"
                ),
                {
                    "at": datetime(2025, 1, 1, 9, i, tzinfo=UTC)
                    if engine.dialect.name == "postgresql"
                    # SQLite stores the naive UTC text (as the column type writes it).
                    else datetime(2025, 1, 1, 9, i),  # noqa: DTZ001
                    "eid": str(i),
                    "details": json.dumps({"i": i}),
                },
            )
    upgrade(engine)
    report = verify(engine)
    assert report.ok and report.checked == 5
    add(engine, 2, start=5)
    assert verify(engine).ok and verify(engine).checked == 7
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        raw(engine, "DELETE FROM audit_event WHERE id = 1")


def test_migration_downgrade_removes_the_triggers(database_url: str) -> None:
    engine = get_engine(database_url)
    upgrade(engine)
    add(engine, 2)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    raw(engine, "DELETE FROM audit_event WHERE id = 2")
    with engine.connect() as conn:  # the table as it was at 0004 (the models have moved on)
        assert conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar_one() == 1
