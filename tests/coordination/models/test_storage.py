"""Storage: engines, migrations against the models, database-enforced rules, the audit log.

Every test runs on SQLite and on PostgreSQL (``database_url`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

import coordination.models  # noqa: F401  (tables on the metadata)
from coordination.audit.reader import list_events
from coordination.core.db import (
    MIGRATIONS_DIR,
    current_revision,
    get_engine,
    head_revision,
    make_engine,
    session_scope,
    upgrade,
)
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import Area, AuditEvent, BoundarySet, Force, User, UserCreate
from coordination.security.users import create_user, get_user, list_users


def _boundary_set(name: str, *, active: bool) -> BoundarySet:
    return BoundarySet(
        name=name,
        source="tests",
        vintage="v",
        checksum=name * 4,
        loaded_by="tester",
        active=active,
    )


def test_upgrade_creates_exactly_the_models(database_url: str) -> None:
    engine = get_engine(database_url)
    assert current_revision(engine) is None
    upgrade(database_url)
    newest = max(
        p.name[:4] for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")
    )
    assert current_revision(engine) == head_revision() == newest
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_get_engine_is_cached_per_url(database_url: str) -> None:
    assert get_engine(database_url) is get_engine(database_url)


def test_sqlite_engine_settings(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "x.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            # The busy timeout follows the setting (10 s by default): then "try again".
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
        assert path.parent.is_dir()
    finally:
        engine.dispose()


def test_at_most_one_active_set_is_enforced_by_the_database(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(_boundary_set("a", active=True))
        session.add(_boundary_set("b", active=False))
        session.add(_boundary_set("c", active=False))  # many inactive sets are fine
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(_boundary_set("d", active=True))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.update(BoundarySet.__table__).values(active=True))  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        active = session.exec(select(BoundarySet.name).where(BoundarySet.active)).all()
    assert active == ["a"]


def test_boundary_set_names_are_unique(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(_boundary_set("a", active=False))
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(_boundary_set("a", active=False))


def test_areas_go_with_their_set(engine: Engine) -> None:
    with session_scope(engine) as session:
        boundary_set = _boundary_set("a", active=False)
        session.add(boundary_set)
        session.flush()
        session.add(
            Area(boundary_set_id=boundary_set.id, kind="bcu", code="EA", name="East")  # type: ignore[arg-type]
        )
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(
            Area(boundary_set_id=boundary_set.id, kind="bcu", code="EA", name="Again")  # type: ignore[arg-type]
        )
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(
            Area(boundary_set_id=boundary_set.id, kind="county", code="X", name="X")  # type: ignore[arg-type]
        )
    with session_scope(engine) as session:
        session.execute(sa.delete(BoundarySet.__table__))  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        assert session.exec(select(Area)).all() == []


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2025, 3, 1, 12, 30, tzinfo=paris)
    with session_scope(engine) as session:
        boundary_set = _boundary_set("a", active=False)
        boundary_set.loaded_at = moment
        session.add(boundary_set)
    with session_scope(engine) as session:
        stored = session.exec(select(BoundarySet)).one()
    assert stored.loaded_at.tzinfo is not None
    assert stored.loaded_at.utcoffset() == timedelta(0)
    assert stored.loaded_at == moment
    assert stored.loaded_at.hour == 11


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive"), session_scope(engine) as session:
        boundary_set = _boundary_set("a", active=False)
        boundary_set.loaded_at = datetime(2025, 3, 1, 12, 30)  # noqa: DTZ001 - naive on purpose
        session.add(boundary_set)


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Force(code="X", ons_name="X", name="X", country="X"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        assert session.get(Force, "X") is None


def test_audit_events_record_and_list(empty_engine: Engine) -> None:
    before = datetime.now(UTC)
    with session_scope(empty_engine) as session:
        record_event(
            session,
            actor="alice",
            action="thing.make",
            entity_type="thing",
            entity_id="1",
            details={"n": 1, "names": ["a", "b"]},
        )
        record_event(session, actor="bob", action="thing.make", entity_type="thing", entity_id="2")
        record_event(
            session, actor="alice", action="thing.drop", entity_type="thing", entity_id=None
        )
    with session_scope(empty_engine) as session:
        events = list_events(session)
        assert [(e.actor, e.action, e.entity_id) for e in events] == [
            ("alice", "thing.drop", None),
            ("bob", "thing.make", "2"),
            ("alice", "thing.make", "1"),
        ]
        assert events[-1].details == {"n": 1, "names": ["a", "b"]}
        assert all(e.at >= before - timedelta(seconds=1) and e.at.tzinfo for e in events)
        assert [e.entity_id for e in list_events(session, actor="alice")] == [None, "1"]
        assert [e.actor for e in list_events(session, action="thing.make")] == ["bob", "alice"]
        assert len(list_events(session, limit=1)) == 1


@pytest.mark.parametrize("actor", ["", "   "])
def test_audit_refuses_an_empty_actor(empty_engine: Engine, actor: str) -> None:
    with pytest.raises(InputError), session_scope(empty_engine) as session:
        record_event(session, actor=actor, action="x", entity_type="x", entity_id=None)
    with session_scope(empty_engine) as session:
        assert session.exec(select(AuditEvent)).all() == []


def test_audit_module_offers_no_update_or_delete() -> None:

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


# --- users -----------------------------------------------------------------------------------


def _new_user(username: str = "JSmith", force_code: str = "E23000034") -> UserCreate:
    return UserCreate(
        username=username,
        display_name="Jo Smith",
        force_code=force_code,
        role="offender_manager",
        team="IOM",
    )


def test_create_and_list_users(engine: Engine) -> None:
    with session_scope(engine) as session:
        created = create_user(session, actor="admin", data=_new_user())
    assert created.username == "jsmith" and created.active and created.created_at.tzinfo
    with session_scope(engine) as session:
        create_user(session, actor="admin", data=_new_user("ajones", "E23000001"))
        assert [u.username for u in list_users(session, actor="system:test")] == [
            "ajones",
            "jsmith",
        ]
        assert get_user(session, "JSMITH") == created
        assert get_user(session, "nobody") is None
        event = list_events(session, limit=1, action="user.create")[0]
    assert (event.actor, event.entity_type, event.entity_id) == ("admin", "user", "ajones")
    assert event.details is not None and event.details["force_code"] == "E23000001"


def test_duplicate_username_is_a_conflict(engine: Engine) -> None:
    with session_scope(engine) as session:
        create_user(session, actor="admin", data=_new_user("jsmith"))
    with pytest.raises(ConflictError, match="jsmith"), session_scope(engine) as session:
        create_user(session, actor="admin", data=_new_user("JSMITH "))
    with session_scope(engine) as session:
        assert len(list_users(session, actor="system:test")) == 1
        assert len(list_events(session, action="user.create")) == 1


def test_unknown_force_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="E23999999"), session_scope(engine) as session:
        create_user(session, actor="admin", data=_new_user(force_code="E23999999"))
    with session_scope(engine) as session:
        assert list_users(session, actor="system:test") == []


@pytest.mark.parametrize("username", ["", "has space", "-dash", "x" * 65, "émile"])
def test_bad_usernames_are_refused(username: str) -> None:
    with pytest.raises(ValidationError):
        _new_user(username)


def test_bad_role_is_refused() -> None:
    with pytest.raises(ValidationError):
        UserCreate(username="a", display_name="A", force_code="E23000001", role="chief")  # type: ignore[arg-type]


def test_database_keeps_usernames_lower_case(engine: Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(
            User(username="Upper", display_name="U", force_code="E23000001", role="analyst")
        )
