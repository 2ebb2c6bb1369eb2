"""Shared fixtures.

Tests that need the national reference pack skip with a reason when ``CROSSFORCE_REFERENCE_DIR`` is
unset; PostgreSQL tests skip when ``CROSSFORCE_TEST_DATABASE_URL`` is unset. Derived caches (the
postcode directory's NumPy form, prepared resolvers) are shared with the app under ``data/cache``
because they are pure functions of versioned inputs; databases are always per-test temporaries.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_TESTDATA = REPO.parent / "shared" / "testdata" / "postcodes_london_codepoint_2025.csv.gz"


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """Directory for derived, versioned caches (shared with the app)."""
    path = Path(os.environ.get("CROSSFORCE_DATA_DIR", REPO / "data")) / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The national reference pack, or skip."""
    value = os.environ.get("CROSSFORCE_REFERENCE_DIR")
    if not value:
        pytest.skip("CROSSFORCE_REFERENCE_DIR is not set: no national reference pack to test against")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"CROSSFORCE_REFERENCE_DIR={value} is not a directory")
    return path


@pytest.fixture(scope="session")
def testdata_postcodes() -> pd.DataFrame:
    """217,808 Code-Point Open postcodes with their official district and force (ground truth)."""
    if not SHARED_TESTDATA.exists():
        pytest.skip(f"ground-truth postcodes not found at {SHARED_TESTDATA}")
    with gzip.open(SHARED_TESTDATA, "rt") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def directory(cache_dir: Path):  # type: ignore[no-untyped-def]
    """The postcode directory from the PyPI package, in its fast local form."""
    from geo.postcodes import PostcodeDirectory

    return PostcodeDirectory.load(cache_dir)


@pytest.fixture(scope="session")
def national_layers(reference_dir: Path):  # type: ignore[no-untyped-def]
    """The national pack read into memory (validated)."""
    from geo.pack import read_pack

    return read_pack(reference_dir)


@pytest.fixture(scope="session")
def national_resolver(national_layers):  # type: ignore[no-untyped-def]
    """A resolver over the national pack."""
    from geo.resolver import Resolver

    return Resolver.build(national_layers)


@pytest.fixture(scope="session")
def london_default_layers(directory):  # type: ignore[no-untyped-def]
    """The approximate London default built from the postcode directory."""
    from geo.london_default import build_london_default

    return build_london_default(directory)


@pytest.fixture(scope="session")
def london_resolver(london_default_layers):  # type: ignore[no-untyped-def]
    """A resolver over the approximate London default."""
    from geo.resolver import Resolver

    return Resolver.build(london_default_layers)


def _postgres_admin_url() -> str | None:
    return os.environ.get("CROSSFORCE_TEST_DATABASE_URL") or None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, and a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    admin = _postgres_admin_url()
    if admin is None:
        pytest.skip("CROSSFORCE_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    import uuid

    import sqlalchemy as sa

    name = f"cf_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from coordination.db import dispose_engines

        dispose_engines()
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
