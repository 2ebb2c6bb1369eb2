"""Shared fixtures: the only ones; a test module may extend one (``engine``), never copy it.

Databases: ``database_url`` is a fresh, empty database on SQLite and on PostgreSQL (each test
that takes it runs on both); ``empty_engine`` is an engine on it migrated to head, ``engine`` the
same with the forces and the default responsibility rules seeded (``tests/support/database.py``);
``world`` builds the access-control world on ``engine`` (``tests/factories.py``). The app:
``app_database_url`` is one database initialised as ``crossforce init`` would, for the session,
``app_env`` points the process at it, and ``private_app_env`` at a private copy, for a test that
writes. Reference data: ``reference_dir`` / ``national_layers`` / ``national_resolver`` (the
national pack), ``directory``, ``london_default_layers`` / ``london_resolver``, ``tiny_layers``
and ``tiny_pack``, ``testdata_postcodes`` (ground truth). The command line: ``cli`` runs
``crossforce`` on ``engine``'s database as ``cli.user``.

Tests that need the national reference pack skip with a reason when ``CROSSFORCE_REFERENCE_DIR`` is
unset; PostgreSQL tests skip when ``CROSSFORCE_TEST_DATABASE_URL`` is unset. Derived caches (the
postcode directory's NumPy form, prepared resolvers) are shared with the app under ``data/cache``
because they are pure functions of versioned inputs; databases are always per-test temporaries.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from geo.layers import BoundaryLayers
from tests.factories import World, build_world, make_tiny_layers
from tests.support import REPO
from tests.support.database import copy_sqlite, migrated_engine

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
        pytest.skip("CROSSFORCE_REFERENCE_DIR is not set: no national reference pack to test")
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
        from coordination.core.db import dispose_engines

        dispose_engines()
        _drop_database(engine, name)
        engine.dispose()


def _drop_database(admin: Engine, name: str) -> None:
    """Drop a test database; retry while a server process of another role is still on it.

    ``WITH (FORCE)`` ends our own connections, but may not end a backend it has no right to
    signal (an autovacuum worker, say): that refusal passes within moments, so try again.
    """
    import time

    import sqlalchemy as sa

    for attempt in range(20):
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except sa.exc.DBAPIError:
            if attempt == 19:
                raise
            time.sleep(0.5)


@pytest.fixture
def empty_engine(database_url: str) -> Engine:
    """An engine on a migrated database of ``database_url`` with nothing in it.

    No forces, no users, not one audit event: for the ledger, the rule table's seeding and the
    storage tests that count from zero.
    """
    return migrated_engine(database_url, seeded=False)


@pytest.fixture
def engine(database_url: str) -> Engine:
    """An engine on a migrated database of ``database_url`` with the forces and default rules.

    What ``crossforce init`` seeds before any reference data (but the case weights): no boundary
    set, no users, no cases. Most service tests start here, on SQLite and on PostgreSQL.
    """
    return migrated_engine(database_url)


@pytest.fixture
def world(engine: Engine) -> tuple[Engine, World]:
    """The access-control world (``tests.factories.build_world``) on each database."""
    return engine, build_world(engine)


@pytest.fixture(scope="session")
def app_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A temporary SQLite database initialised as `crossforce init` would, for the pages.

    With ``CROSSFORCE_REFERENCE_DIR`` set it holds the national pack, otherwise the approximate
    London default; either answers London postcodes. The data directory (and so the shared
    caches) stays the default.
    """
    from coordination.core.settings import Settings
    from coordination.setup.initialise import initialise

    url = f"sqlite:///{tmp_path_factory.mktemp('app') / 'crossforce.db'}"
    initialise(settings=Settings(database_url=url), actor="pytest")
    return url


@pytest.fixture
def app_env(app_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Point the process (and any child process) at the initialised app database.

    Yields the environment to give a ``streamlit run`` subprocess; the variable and the
    settings cache are restored afterwards.
    """
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", app_database_url)
    reset_settings_cache()
    try:
        yield dict(os.environ)
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


@pytest.fixture
def private_app_env(
    app_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A private copy of the initialised app database, the process pointed at it; its URL.

    For tests that write to it (the CLI's register and import commands): the session's app
    database stays as ``crossforce init`` left it, whatever order the tests run in.
    """
    from coordination.core.settings import reset_settings_cache

    url = copy_sqlite(app_database_url, tmp_path / "app-copy.db")
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", url)
    reset_settings_cache()
    try:
        yield url
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


# --- boundary layers ----------------------------------------------------------------------------


@pytest.fixture
def tiny_layers() -> BoundaryLayers:
    """A two-district boundary set built inline (``tests.factories.make_tiny_layers``)."""
    return make_tiny_layers()


@pytest.fixture
def tiny_pack(tmp_path: Path) -> Path:
    """A tiny pack directory: a lad_to_pfa-style CSV and a districts gpkg with two squares."""
    import geopandas as gpd
    from shapely.geometry import box

    pack = tmp_path / "tiny_pack"
    pack.mkdir()
    codes = {"LAD25CD": ["E09000001", "E09000002"], "LAD25NM": ["City of London", "Barking"]}
    gpd.GeoDataFrame(
        {**codes, "PFA24CD": ["E23000034", "E23000001"]},
        geometry=[box(530000, 180000, 531000, 181000), box(531000, 180000, 532000, 181000)],
        crs="EPSG:27700",
    ).to_file(pack / "districts.gpkg", layer="districts")
    pd.DataFrame(
        {
            **codes,
            "PFA24CD": ["E23000034", "E23000001"],
            "PFA24NM": ["London, City of", "Metropolitan Police"],
        }
    ).to_csv(pack / "lad_to_pfa.csv", index=False)
    return pack


@pytest.fixture(autouse=True)
def _audit_checkpoints_per_test(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test keeps its audit checkpoints apart: databases are per-test, and a checkpoint of
    one test's log must not meet another test's database of the same URL."""
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_AUDIT_CHECKPOINT_DIR", str(tmp_path_factory.mktemp("audit")))
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def cli(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """Run ``crossforce`` in this process on ``engine``'s database as ``cli.user``.

    The fixture's value is ``run(*argv) -> (exit code, stdout, stderr)``.
    """
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    monkeypatch.setenv("CROSSFORCE_USER", "cli.user")
    reset_settings_cache()

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    monkeypatch.delenv("CROSSFORCE_DATABASE_URL")
    reset_settings_cache()
