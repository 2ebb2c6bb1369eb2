"""Alembic environment for crossforce.

Run from code by ``coordination.db.upgrade``, which passes an open connection in
``config.attributes["connection"]``. Without one (e.g. a developer calling
``alembic.command.revision(coordination.db.alembic_config(), autogenerate=True)``), it opens its
own engine on ``-x url=…`` or the configured database, through ``coordination.db.make_engine``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import coordination.models  # noqa: F401  (registers every table on SQLModel.metadata)

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from coordination.core.db import make_engine
    from coordination.core.settings import get_settings

    url = context.get_x_argument(as_dictionary=True).get("url")
    engine = make_engine(url or get_settings().database_url_effective)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("crossforce migrations run online only: use `crossforce init`")
_run_online()
