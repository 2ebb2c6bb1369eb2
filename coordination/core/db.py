"""The one engine factory, sessions, and Alembic migrations run from code.

The same code runs on SQLite (the default: one file, WAL journal) and PostgreSQL
(``postgresql+psycopg://``). Schema changes only ever happen through Alembic: :func:`upgrade` runs
``upgrade head`` from ``coordination/migrations/``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from coordination.core.settings import get_settings
from coordination.errors import BusyError, InputError, NotInitialisedError

# Inside the package, so a wheel carries its migrations.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Per-connection pragmas: SQLite forgets foreign_keys on every new connection (the busy
    # timeout is the driver's connect argument); WAL is persistent but setting it again is cheap
    # and covers new files.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine configured for crossforce.

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:///path/to/file.db`` or ``postgresql+psycopg://…``.

    Returns
    -------
    Engine
        SQLite: WAL journal, foreign keys on, a busy timeout (``db_busy_timeout_s``), usable
        from any thread (Streamlit runs each session in its own thread), parent directory
        created. PostgreSQL: connections are checked before use so a restarted server does not
        surface as an error. Neither puts bound values into error messages.

    Raises
    ------
    InputError
        A PostgreSQL URL without the driver installed (the ``postgres`` extra).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an error message never carries the values bound into a statement
        # (names, dates of birth) into a log file.
        connect = {"check_same_thread": False, "timeout": get_settings().db_busy_timeout_s}
        engine = sa.create_engine(parsed, connect_args=connect, hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    except ModuleNotFoundError as exc:
        # The PostgreSQL driver is an optional extra: say how to get it, not "unexpected error".
        raise InputError(
            f"The database driver for {parsed.drivername} is not installed: "
            "pip install 'crossforce[postgres]'"
        ) from exc


def get_engine(url: str | None = None) -> Engine:
    """Return the shared engine for a URL, creating it once.

    Parameters
    ----------
    url
        Database URL; ``None`` means ``get_settings().database_url_effective``.

    Returns
    -------
    Engine
        The same engine object for the same URL within this process.
    """
    if url is None:
        url = get_settings().database_url_effective
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine's connections and forget the engines (tests, shutdown)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Open a session that commits when the block succeeds and rolls back when it raises.

    Parameters
    ----------
    engine
        From :func:`get_engine`.

    Yields
    ------
    Session
        A SQLModel session; objects stay readable after commit (``expire_on_commit=False``).

    Raises
    ------
    BusyError
        The database stayed locked by another writer past the busy timeout.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except sa.exc.OperationalError as exc:
        session.rollback()
        if _is_busy(exc):
            # Another writer held the lock past the busy timeout: a clear "try again", not an
            # unexpected error (and nothing half-written: the transaction is rolled back).
            raise BusyError() from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _is_busy(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    # SQLite: "database is locked"; PostgreSQL: lock_timeout / statement_timeout cancellations.
    return "database is locked" in text or "lock timeout" in text or "canceling statement" in text


def alembic_config() -> Config:
    """Return an Alembic configuration for ``migrations/``, built in code (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(url_or_engine: str | Engine) -> None:
    """Migrate a database to the newest schema (Alembic ``upgrade head``).

    Parameters
    ----------
    url_or_engine
        Database URL or engine. Safe to call on an up-to-date database: it does nothing.
    """
    engine = get_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    config = alembic_config()
    with engine.begin() as connection:
        # env.py uses this connection instead of opening its own (see migrations/env.py).
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def require_schema(engine: Engine) -> None:
    """Refuse to read a database that was never migrated (before ``crossforce init``).

    Raises
    ------
    NotInitialisedError
        The database has no Alembic revision: nothing has been set up.
    """
    if current_revision(engine) is None:
        raise NotInitialisedError()


def current_revision(engine: Engine) -> str | None:
    """Return the database's Alembic revision, or ``None`` for a database never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """Return the newest revision in ``migrations/versions``."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# --- PostgreSQL: the application's own role ------------------------------------------------------

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# The columns an erasure may blank in an audit event (the triggers allow nothing else).
AUDIT_REDACTION_COLUMNS = ("details", "justification", "text_salt", "redacted_by", "redacted_at")


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Let ``role`` run crossforce on this database, but never rewrite its audit log.

    Run as the owner of the tables (who runs the migrations). The role may read and write every
    table, except that on ``audit_event`` it may only read, insert and blank the free text an
    erasure removes; it owns nothing, so it cannot drop or disable the triggers either. Tables
    added by later migrations are covered by default privileges of the owner.

    Parameters
    ----------
    engine
        An engine connected as the owner.
    role
        An existing PostgreSQL role (lower-case letters, digits and ``_``).

    Returns
    -------
    list[str]
        The statements run, for the record.

    Raises
    ------
    InputError
        Not PostgreSQL, or not a plain role name.
    """
    from psycopg import sql

    if engine.dialect.name != "postgresql":
        raise InputError("Database roles are a PostgreSQL matter: SQLite has none")
    if not _ROLE.match(role):
        raise InputError(f"{role!r} is not a plain PostgreSQL role name")
    who = sql.Identifier(role)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            who
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who),
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM {}").format(who),
        sql.SQL("GRANT UPDATE ({}) ON audit_event TO {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in AUDIT_REDACTION_COLUMNS), who
        ),
        sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {}").format(who),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(who),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(who),
    ]
    done: list[str] = []
    with engine.begin() as connection:
        raw: Any = connection.connection.dbapi_connection
        with raw.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                done.append(statement.as_string(raw))
    return done
