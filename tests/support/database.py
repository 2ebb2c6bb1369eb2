"""Test databases: migrate one and seed the forces and the default rules; copy an SQLite one.

The fixtures in ``tests/conftest.py`` (``empty_engine`` and ``engine``) use these on every
database of ``database_url``; a test that makes its own database file calls them directly.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from coordination.core.db import get_engine, session_scope, upgrade
from coordination.reference.boundaries import seed_forces
from coordination.register.rules import seed_rules

#: Who seeds the test databases (a name that is no user: the application itself).
SEEDER = "system:init"


def seed_defaults(engine: Engine) -> Engine:
    """Seed the forces and the default responsibility rules (as ``crossforce init`` does).

    Not the default case weights: the caseload tests seed those themselves, and the service
    walk must see ``seed_case_weights`` write them.
    """
    with session_scope(engine) as session:
        seed_forces(session, actor=SEEDER)
        seed_rules(session, actor=SEEDER)
    return engine


def migrated_engine(url: str, *, seeded: bool = True) -> Engine:
    """Migrate the database at ``url`` to head and return its (shared, cached) engine.

    With ``seeded`` (the default) the defaults of :func:`seed_defaults` are in it too; without,
    it is empty: no forces, no users, not one audit event.
    """
    upgrade(url)
    engine = get_engine(url)
    return seed_defaults(engine) if seeded else engine


def copy_sqlite(source_url: str, target: Path) -> str:
    """Copy an SQLite database consistently (WAL included) and return the copy's URL."""
    source_path = sa.engine.make_url(source_url).database
    assert source_path
    with sqlite3.connect(source_path) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"
