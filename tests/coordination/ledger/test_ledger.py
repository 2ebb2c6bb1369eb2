"""The audit log: hash chain, append-only triggers, tamper detection, search, export, CLI.

Every test runs on SQLite and on a throwaway PostgreSQL database (``database_url``). Tampering
needs the append-only triggers out of the way, so :func:`drop_guard` removes them first — which is
exactly what an attacker with database rights would have to do, and what verification catches.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.audit.reader import (
    EXPORT_ACTION,
    AuditRecord,
    export_events,
    search_events,
    verify_chain,
)
from coordination.core.db import alembic_config, get_engine, session_scope, upgrade
from coordination.errors import AccessDeniedError, InputError
from coordination.ledger.chain import CATEGORIES, GENESIS_HASH, event_hash, record_event
from coordination.ledger.verify import ChainReport
from coordination.models import AuditEvent, Force, UserCreate
from coordination.security.users import create_user

CITY, MET = "E23000034", "E23000001"


@pytest.fixture
def engine(database_url: str) -> Engine:
    """A migrated, empty database."""
    upgrade(database_url)
    return get_engine(database_url)


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
            conn.execute(sa.text("DROP TRIGGER audit_event_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_event_no_delete"))


def raw(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


# --- the chain ------------------------------------------------------------------------------------


def test_chain_is_built_and_verifies_over_many_events(engine: Engine) -> None:
    add(engine, 40)  # one event per transaction
    add(engine, 1200, per_transaction=400, start=40)  # many per transaction
    stored = rows(engine)
    assert len(stored) == 1240
    assert stored[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(stored))
    assert len({r.hash for r in stored}) == len(stored)
    assert all(r.hash and len(r.hash) == 64 for r in stored)
    # Times never run backwards along the chain.
    assert all(a.at <= b.at for a, b in itertools.pairwise(stored))

    report = verify(engine)
    assert report.ok and report.checked == 1240 and report.first_bad_id is None
    assert report.last_hash == stored[-1].hash
    assert report.message == "Audit chain intact: 1,240 events checked."
    # Small pages give the same answer.
    with Session(engine) as session:
        assert verify_chain(session, batch_size=7) == report


def test_an_empty_log_verifies(engine: Engine) -> None:
    assert verify(engine) == ChainReport(True, 0, None, None, GENESIS_HASH)


def test_record_event_keeps_old_callers_working_and_normalises(engine: Engine) -> None:
    with session_scope(engine) as session:
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
    assert verify(engine).ok


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"category": "gossip"}, "Unknown audit category"),
        ({"details": {"at": datetime.now(UTC)}}, "plain JSON"),
        ({"details": {"x": float("nan")}}, "plain JSON"),
        ({"actor": " "}, "actor"),
    ],
)
def test_record_event_refuses_bad_input(engine: Engine, fields: dict, needle: str) -> None:
    base = {"actor": "a", "action": "x.y", "entity_type": "x", "entity_id": None}
    with pytest.raises(InputError, match=needle), session_scope(engine) as session:
        record_event(session, **{**base, **fields})
    assert rows(engine) == []


def test_rolled_back_appends_do_not_fork_the_chain(engine: Engine) -> None:
    add(engine, 2)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        record_event(session, actor="a", action="lost", entity_type="x", entity_id=None)
        raise RuntimeError("boom")
    # The same session object, reused after a rollback and after a savepoint rollback.
    session = Session(engine)
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
    assert [r.action for r in rows(engine)][2:] == ["kept.2", "kept.3", "kept.4"]
    assert verify(engine).ok


def test_one_lock_and_one_indexed_read_per_transaction(engine: Engine) -> None:
    add(engine, 3)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()).upper())

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        with session_scope(engine) as session:
            for i in range(50):
                record_event(session, actor="a", action="x.y", entity_type="x", entity_id=str(i))
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    inserts = [s for s in statements if s.startswith("INSERT")]
    others = [s for s in statements if not s.startswith(("INSERT", "BEGIN", "COMMIT"))]
    assert len(inserts) == 50
    lock = "PG_ADVISORY_XACT_LOCK" if engine.dialect.name == "postgresql" else "DELETE FROM"
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
def test_triggers_refuse_update_and_delete(engine: Engine, statement: str) -> None:
    add(engine, 3)
    before = [(r.id, r.actor, r.details, r.hash) for r in rows(engine)]
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        raw(engine, statement)
    assert [(r.id, r.actor, r.details, r.hash) for r in rows(engine)] == before
    assert verify(engine).ok


def test_the_orm_cannot_change_or_delete_an_event_either(engine: Engine) -> None:
    add(engine, 2)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), Session(engine) as session:
        event = session.get(AuditEvent, 1)
        assert event is not None
        event.actor = "mallory"
        session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), Session(engine) as session:
        session.delete(session.get(AuditEvent, 2))
        session.commit()
    assert [r.actor for r in rows(engine)] == ["user0", "user1"]


def test_postgresql_refuses_truncate(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL only")
    add(engine, 1)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        raw(engine, "TRUNCATE audit_event")
    assert len(rows(engine)) == 1


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


def test_a_changed_row_is_named(engine: Engine) -> None:
    add(engine, 30)
    drop_guard(engine)
    raw(engine, "UPDATE audit_event SET details = NULL WHERE id = 17")
    report = verify(engine)
    assert (report.ok, report.first_bad_id, report.problem, report.checked) == (
        False,
        17,
        "changed",
        17,
    )
    assert report.message.startswith("Audit chain broken at event 17: it was changed")


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
def test_any_changed_field_is_detected(engine: Engine, statement: str) -> None:
    add(engine, 12)
    drop_guard(engine)
    raw(engine, statement)
    report = verify(engine)
    assert (report.first_bad_id, report.problem) == (9, "changed")


def test_a_changed_time_is_detected(engine: Engine) -> None:
    add(engine, 5)
    drop_guard(engine)
    with engine.begin() as conn:
        at = conn.execute(sa.text("SELECT at FROM audit_event WHERE id = 3")).scalar_one()
        moved = (at if isinstance(at, datetime) else datetime.fromisoformat(at)) - timedelta(
            seconds=1
        )
        conn.execute(sa.text("UPDATE audit_event SET at = :at WHERE id = 3"), {"at": moved})
    assert (verify(engine).first_bad_id, verify(engine).problem) == (3, "changed")


def test_a_deleted_row_is_named_by_the_row_after_it(engine: Engine) -> None:
    add(engine, 30)
    drop_guard(engine)
    raw(engine, "DELETE FROM audit_event WHERE id = 12")
    report = verify(engine)
    assert (report.first_bad_id, report.problem) == (13, "missing")
    assert "the event before it is missing (deleted)" in report.message


def test_deleting_the_first_row_is_detected(engine: Engine) -> None:
    add(engine, 5)
    drop_guard(engine)
    raw(engine, "DELETE FROM audit_event WHERE id = 1")
    assert (verify(engine).first_bad_id, verify(engine).problem) == (2, "missing")


def test_swapped_rows_are_named(engine: Engine) -> None:
    add(engine, 30)
    drop_guard(engine)
    raw(
        engine,
        "UPDATE audit_event SET id = -1 WHERE id = 20",
        "UPDATE audit_event SET id = 20 WHERE id = 21",
        "UPDATE audit_event SET id = 21 WHERE id = -1",
    )
    report = verify(engine)
    assert (report.first_bad_id, report.problem) == (20, "reordered")
    assert "out of order" in report.message


def test_a_row_rewritten_with_a_fresh_seal_breaks_the_next_link(engine: Engine) -> None:
    # Mallory recomputes the changed row's own hash, but the next row still links to the old one.
    add(engine, 10)
    drop_guard(engine)
    with Session(engine) as session:
        row = session.get(AuditEvent, 4)
        assert row is not None and row.prev_hash is not None
        seal = event_hash(
            at=row.at,
            actor="mallory",
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
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_event SET actor = 'mallory', hash = :h WHERE id = 4"), {"h": seal}
        )
    assert (verify(engine).first_bad_id, verify(engine).problem) == (5, "missing")


def test_a_row_written_around_the_module_is_named(engine: Engine) -> None:
    add(engine, 3)
    with Session(engine) as session:
        session.add(AuditEvent(actor="sneaky", action="x.y", entity_type="x"))
        session.commit()
    add(engine, 2, start=3)
    report = verify(engine)
    assert (report.first_bad_id, report.problem) == (4, "broken link")


# --- concurrency ----------------------------------------------------------------------------------


def test_concurrent_appends_keep_one_unbroken_chain(engine: Engine) -> None:
    threads_n, each = 8, 12
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with session_scope(engine) as session:
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
    stored = rows(engine)
    assert len(stored) == threads_n * (each + each // 2)
    assert len({r.prev_hash for r in stored}) == len(stored)  # no two rows chain onto one
    report = verify(engine)
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
    assert len(rows(engine)) == 1


# --- search and export ----------------------------------------------------------------------------


@pytest.fixture
def people(engine: Engine) -> Engine:
    """Forces, an admin and a manager, and a small known log."""
    with session_scope(engine) as session:
        for code, name in ((CITY, "City of London Police"), (MET, "Metropolitan Police Service")):
            session.add(Force(code=code, ons_name=name, name=name, country="England"))
        session.flush()
        for data in (
            UserCreate(username="ada.admin", display_name="Ada", force_code=MET, role="admin"),
            UserCreate(
                username="mo.met", display_name="Mo", force_code=MET, role="offender_manager"
            ),
        ):
            create_user(session, actor="system:test", data=data)
    with session_scope(engine) as session:
        record_event(
            session,
            actor="mo.met",
            action="offender.view",
            entity_type="offender",
            entity_id="7",
            category="consultation",
            justification="=cmd|' /C calc'!A0",
            offender_ids=[7],
        )
        record_event(
            session,
            actor="mo.met",
            action="handoff.request",
            entity_type="handoff",
            entity_id="3",
            category="disclosure",
            recipients=[CITY],
            offender_ids=[7, 8],
            details={"note": "+44 20 7946 0000", "n": 1},
        )
        record_event(
            session,
            actor="cara.city",
            action="handoff.accept",
            entity_type="handoff",
            entity_id="3",
            category="alteration",
            offender_ids=[8],
        )
        record_event(
            session,
            actor="cara.city",
            action="case.create",
            entity_type="offender",
            entity_id="9",
            category="collection",
        )
    return engine


def ids(records: list[AuditRecord]) -> list[int]:
    return [r.id for r in records]


def test_search_filters(people: Engine) -> None:
    with Session(people) as s:
        everything = search_events(s, actor="ada.admin")
        assert [r.action for r in everything[:4]] == [
            "case.create",
            "handoff.accept",
            "handoff.request",
            "offender.view",
        ]
        view, request, accept, create = reversed(everything[:4])
        assert [r.actor for r in search_events(s, actor="ada.admin", user="mo.met")] == [
            "mo.met",
            "mo.met",
        ]
        assert ids(search_events(s, actor="ada.admin", offender_id=7)) == [request.id, view.id]
        assert ids(search_events(s, actor="ada.admin", offender_id=8)) == [accept.id, request.id]
        # The offender as the entity counts too.
        assert ids(search_events(s, actor="ada.admin", offender_id=9)) == [create.id]
        assert search_events(s, actor="ada.admin", offender_id=70) == []
        assert ids(search_events(s, actor="ada.admin", action="handoff.*")) == [
            accept.id,
            request.id,
        ]
        assert ids(search_events(s, actor="ada.admin", action="handoff.accept")) == [accept.id]
        assert ids(search_events(s, actor="ada.admin", action="handoff")) == []
        assert ids(search_events(s, actor="ada.admin", category="disclosure")) == [request.id]
        assert ids(search_events(s, actor="ada.admin", user="mo.met", category="consultation")) == [
            view.id
        ]
        assert len(search_events(s, actor="ada.admin", limit=2)) == 2
        today = datetime.now(UTC).date()
        assert len(search_events(s, actor="ada.admin", since=today)) == len(everything)
        assert search_events(s, actor="ada.admin", since=today + timedelta(days=1)) == []
        assert search_events(s, actor="ada.admin", until=today - timedelta(days=1)) == []
        assert len(search_events(s, actor="ada.admin", until=today)) == len(everything)
        assert ids(search_events(s, actor="ada.admin", since=accept.at)) == [create.id, accept.id]
        assert ids(search_events(s, actor="ada.admin", until=request.at, user="mo.met")) == [
            request.id,
            view.id,
        ]
        assert view.justification == "=cmd|' /C calc'!A0" and request.recipients == [CITY]
        with pytest.raises(InputError, match="Unknown audit category"):
            search_events(s, actor="ada.admin", category="gossip")


def test_only_admins_read_the_log(people: Engine) -> None:
    with Session(people) as s:
        with pytest.raises(AccessDeniedError):
            search_events(s, actor="mo.met")
        with pytest.raises(AccessDeniedError):
            export_events(s, actor="mo.met")
        with pytest.raises(AccessDeniedError):
            verify_chain(s, actor="mo.met")
        assert verify_chain(s, actor="ada.admin").ok
    with Session(people) as s:
        refusals = s.exec(select(AuditEvent).where(AuditEvent.category == "access")).all()
    assert {r.actor for r in refusals} == {"mo.met"}
    assert verify(people).ok


def test_export_is_neutralised_csv_and_recorded_as_a_disclosure(people: Engine) -> None:
    with session_scope(people) as s:
        before = search_events(s, actor="ada.admin", limit=None)
        data = export_events(s, actor="ada.admin", user="mo.met")
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [r["action"] for r in table] == ["offender.view", "handoff.request"]  # oldest first
    assert table[0]["justification"] == "'=cmd|' /C calc'!A0"
    assert table[0]["offender_ids"] == "[7]"
    assert table[1]["recipients"] == f'["{CITY}"]'
    assert json.loads(table[1]["details"]) == {"n": 1, "note": "+44 20 7946 0000"}
    assert all(not v.startswith(("=", "+", "-", "@")) for r in table for v in r.values())
    assert table[1]["hash"] == next(r.hash for r in before if r.action == "handoff.request")

    with Session(people) as s:
        (event,) = search_events(s, actor="ada.admin", action=EXPORT_ACTION)
    assert event.category == "disclosure" and event.actor == "ada.admin"
    assert event.recipients == ["ada.admin"]
    assert event.details == {
        "rows": 2,
        "filters": {"user": "mo.met"},
        "first_id": int(table[0]["id"]),
        "last_id": int(table[1]["id"]),
    }
    assert verify(people).ok


def test_export_by_offender_names_the_offender_and_recipients(people: Engine) -> None:
    with session_scope(people) as s:
        data = export_events(
            s, actor="ada.admin", offender_id=8, since=date(2000, 1, 1), recipients=["ICO"]
        )
    assert len(list(csv.DictReader(io.StringIO(data.decode("utf-8"))))) == 2
    with Session(people) as s:
        (event,) = search_events(s, actor="ada.admin", action=EXPORT_ACTION)
    assert event.offender_ids == [8] and event.recipients == ["ICO"]
    assert event.details is not None
    assert event.details["filters"] == {"offender_id": 8, "since": "2000-01-01"}


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli_db(people: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    monkeypatch.delenv("CROSSFORCE_USER", raising=False)
    reset_settings_cache()
    try:
        yield people
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from coordination.cli.main import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_and_filters(cli_db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "--user", "mo.met")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert "handoff.request" in lines[0] and f"to {CITY}" in lines[0]
    assert "offender.view" in lines[1] and "reason: =cmd" in lines[1]

    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "--offender", "8", "--json")
    assert code == 0
    data = json.loads(out)
    assert [d["action"] for d in data] == ["handoff.accept", "handoff.request"]
    assert data[0]["offender_ids"] == [8] and data[0]["at"].endswith("+00:00")

    today = datetime.now(UTC).date()
    code, out, _ = cli(
        capsys,
        "--as",
        "ada.admin",
        "audit",
        "--since",
        (today + timedelta(days=1)).isoformat(),
        "--category",
        "consultation",
    )
    assert (code, out.strip()) == (0, "No audit events match.")
    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "--action", "handoff.*", "--json")
    assert [d["action"] for d in json.loads(out)] == ["handoff.accept", "handoff.request"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["audit", "--category", "gossip"], "Unknown audit category"),
        (["audit", "--since", "yesterday"], "not a date"),
        (["audit", "--offender", "x"], "not a whole number"),
        (["--as", "mo.met", "audit"], "Access refused"),
        (["--as", "mo.met", "audit", "verify"], "Access refused"),
    ],
)
def test_cli_refuses_with_one_line(
    cli_db: Engine, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    try:
        code, out, err = cli(capsys, *argv)
    except SystemExit as stop:  # argparse refuses before the command runs
        code = int(stop.code or 0)
        out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1


def test_cli_verify_exit_codes(cli_db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "--as", "ada.admin", "audit", "verify")
    n = len(rows(cli_db))
    assert (code, out.strip(), err) == (0, f"Audit chain intact: {n} events checked.", "")
    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True

    drop_guard(cli_db)
    raw(cli_db, "UPDATE audit_event SET justification = 'routine' WHERE id = 3")
    code, out, err = cli(capsys, "--as", "ada.admin", "audit", "verify")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        "crossforce: Audit chain broken at event 3: it was changed after it was written "
        "(its contents no longer match its hash)."
    ]
    code, out, _ = cli(capsys, "--as", "ada.admin", "audit", "verify", "--json")
    assert code == 1
    assert json.loads(out) | {"last_hash": None} == {
        "ok": False,
        "checked": 3,
        "first_bad_id": 3,
        "problem": "changed",
        "last_hash": None,
        "message": "Audit chain broken at event 3: it was changed after it was written "
        "(its contents no longer match its hash).",
    }


def test_cli_export(cli_db: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "audit.csv"
    code, out, _ = cli(
        capsys, "--as", "ada.admin", "audit", "export", str(target), "--category", "disclosure"
    )
    assert code == 0
    assert out.strip() == f"Exported 1 audit events to {target} (recorded as a disclosure)."
    table = list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))
    assert [r["action"] for r in table] == ["handoff.request"]
    assert json.loads(table[0]["details"])["note"] == "+44 20 7946 0000"
    with Session(cli_db) as s:
        (event,) = search_events(s, actor="ada.admin", action=EXPORT_ACTION)
    assert event.actor == "ada.admin" and event.details is not None
    assert event.details["filters"] == {"category": "disclosure"}

    code, _, err = cli(capsys, "--as", "mo.met", "audit", "export", str(tmp_path / "no.csv"))
    assert code == 2 and "Access refused" in err
    assert not (tmp_path / "no.csv").exists()
    code, _, err = cli(capsys, "--as", "ada.admin", "audit", "export", str(tmp_path))
    assert code == 2 and "is a directory" in err
    assert verify(cli_db).ok
