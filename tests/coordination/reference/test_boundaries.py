"""Boundary-set services: seed, store, activate, read back, resolver cache; each write audited.

Every test runs on SQLite and PostgreSQL (``database_url`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from coordination.audit.reader import list_events
from coordination.core.db import session_scope
from coordination.core.settings import Settings
from coordination.errors import ConflictError, NotFoundError
from coordination.models import Area, BoundarySetPublic, Force
from coordination.reference import boundaries
from geo.forces import FORCES
from geo.layers import BoundaryLayers
from tests.factories import make_tiny_layers


def _store(engine: Engine, layers: BoundaryLayers, checksum: str = "c" * 64) -> BoundarySetPublic:
    with session_scope(engine) as session:
        return boundaries.store_layers(session, actor="loader", layers=layers, checksum=checksum)


def _assert_same_layers(got: BoundaryLayers, want: BoundaryLayers) -> None:
    assert (got.name, got.source, got.vintage) == (want.name, want.source, want.vintage)
    assert (got.approximate, got.coverage_note) == (want.approximate, want.coverage_note)
    pairs: list[tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]] = [
        (got.districts, want.districts),
        (got.forces, want.forces),
    ]
    if want.wards is None:
        assert got.wards is None
    else:
        assert got.wards is not None
        pairs.append((got.wards, want.wards))
    for got_frame, want_frame in pairs:
        assert got_frame.crs is not None and got_frame.crs.to_epsg() == 27700
        assert list(got_frame.columns) == list(want_frame.columns)
        assert got_frame.drop(columns="geometry").equals(
            want_frame.drop(columns="geometry").reset_index(drop=True)
        )
        # WKB keeps every coordinate bit for bit, so tolerance zero.
        assert got_frame.geometry.geom_equals_exact(
            want_frame.geometry.reset_index(drop=True), tolerance=0
        ).all()
    assert got.bcus.reset_index(drop=True).equals(want.bcus.reset_index(drop=True))


def test_seed_forces_is_idempotent_and_audited(empty_engine: Engine) -> None:
    engine = empty_engine
    with session_scope(engine) as session:
        assert boundaries.seed_forces(session, actor="seeder") == len(FORCES)
    with session_scope(engine) as session:
        assert boundaries.seed_forces(session, actor="seeder") == 0
        forces = {f.code: f for f in session.exec(select(Force)).all()}
        events = list_events(session)
    assert len(forces) == len(FORCES)
    assert forces["E23000034"].name == "City of London Police"
    assert forces["E23000034"].ons_name == "London, City of"
    assert forces["E23000001"].country == "England"
    assert forces["W15000001"].country == "Wales"
    assert forces["S23000009"].country == "Scotland"
    assert forces["L99000002"].country == "Guernsey"
    assert [(e.actor, e.action, e.entity_type) for e in events] == [
        ("seeder", "force.seed", "force")
    ]
    assert events[0].details is not None and len(events[0].details["inserted"]) == len(FORCES)


def test_seed_forces_repairs_a_changed_name(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.execute(sa.update(Force).where(col(Force.code) == "E23000034").values(name="Wrong"))
    with session_scope(engine) as session:
        assert boundaries.seed_forces(session, actor="seeder") == 1
        assert session.get(Force, "E23000034").name == "City of London Police"  # type: ignore[union-attr]
        assert list_events(session, limit=1)[0].details == {
            "inserted": [],
            "updated": ["E23000034"],
        }


def test_store_list_activate_round_trip(engine: Engine, tiny_layers: BoundaryLayers) -> None:
    stored = _store(engine, tiny_layers)
    assert stored.name == "tiny" and not stored.active and stored.activated_at is None
    assert (stored.n_forces, stored.n_districts, stored.n_wards) == (2, 2, 2)
    assert stored.loaded_by == "loader" and stored.loaded_at.tzinfo is not None
    assert stored.loaded_at.utcoffset() == timedelta(0)  # aware, and in UTC
    with session_scope(engine) as session:
        assert [s.name for s in boundaries.list_sets(session)] == ["tiny"]
        assert boundaries.get_active(session) is None
        load_event = list_events(session, limit=1)[0]
    assert (load_event.actor, load_event.action, load_event.entity_type, load_event.entity_id) == (
        "loader",
        "boundary_set.load",
        "boundary_set",
        "tiny",
    )
    assert load_event.details is not None and load_event.details["areas"] == 7

    before = datetime.now(UTC)
    with session_scope(engine) as session:
        active = boundaries.activate(session, actor="boss", name="tiny")
    assert active.active and active.activated_at is not None
    assert before <= active.activated_at <= datetime.now(UTC)  # activated just now
    with session_scope(engine) as session:
        assert boundaries.get_active(session) == active
        event = list_events(session, limit=1)[0]
    assert (event.actor, event.action, event.entity_id) == ("boss", "boundary_set.activate", "tiny")
    assert event.details == {"previous": None}


def test_activating_another_set_deactivates_the_first(engine: Engine) -> None:
    _store(engine, make_tiny_layers("first"))
    _store(engine, make_tiny_layers("second"))
    with session_scope(engine) as session:
        boundaries.activate(session, actor="boss", name="first")
    with session_scope(engine) as session:
        boundaries.activate(session, actor="boss", name="second")
    with session_scope(engine) as session:
        sets = {s.name: s.active for s in boundaries.list_sets(session)}
        event = list_events(session, limit=1)[0]
        active = boundaries.get_active(session)
    assert sets == {"first": False, "second": True}
    assert active is not None and active.name == "second"
    assert event.details == {"previous": "first"}


def test_activating_the_active_set_changes_nothing(
    engine: Engine, tiny_layers: BoundaryLayers
) -> None:
    _store(engine, tiny_layers)
    with session_scope(engine) as session:
        first = boundaries.activate(session, actor="boss", name="tiny")
    with session_scope(engine) as session:
        again = boundaries.activate(session, actor="boss", name="tiny")
        actions = [e.action for e in list_events(session)]
    assert again == first
    assert actions.count("boundary_set.activate") == 1


def test_activate_unknown_name_lists_the_known_ones(
    engine: Engine, tiny_layers: BoundaryLayers
) -> None:
    _store(engine, tiny_layers)
    with pytest.raises(NotFoundError, match=r"'nope'.*known: tiny"), session_scope(engine) as s:
        boundaries.activate(s, actor="boss", name="nope")
    with session_scope(engine) as session:
        assert boundaries.get_active(session) is None


def test_duplicate_set_name_is_a_conflict(engine: Engine, tiny_layers: BoundaryLayers) -> None:
    _store(engine, tiny_layers)
    with pytest.raises(ConflictError, match="tiny"):
        _store(engine, make_tiny_layers("tiny"), checksum="d" * 64)
    with session_scope(engine) as session:
        assert len(boundaries.list_sets(session)) == 1
        assert [e.action for e in list_events(session)].count("boundary_set.load") == 1


def test_read_layers_gives_back_equal_layers(engine: Engine, tiny_layers: BoundaryLayers) -> None:
    _store(engine, tiny_layers)
    with session_scope(engine) as session:
        got = boundaries.read_layers(session, name="tiny")
    _assert_same_layers(got, tiny_layers)


def test_read_layers_without_wards(engine: Engine) -> None:
    layers = make_tiny_layers("nowards", approximate=True)
    layers.wards = None
    stored = _store(engine, layers)
    assert stored.n_wards == 0 and stored.approximate
    with session_scope(engine) as session:
        got = boundaries.read_layers(session, name="nowards")
    _assert_same_layers(got, layers)


def test_read_layers_unknown_name(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="none loaded yet"), session_scope(engine) as session:
        boundaries.read_layers(session, name="missing")


def test_areas_are_linked_to_their_parents(engine: Engine, tiny_layers: BoundaryLayers) -> None:
    _store(engine, tiny_layers)
    with session_scope(engine) as session:
        areas = {(a.kind, a.code): a for a in session.exec(select(Area)).all()}
    ward = areas[("ward", "E05014053")]
    assert (ward.parent_code, ward.force_code, ward.bcu_code) == ("E09000002", "E23000001", "EA")
    district = areas[("district", "E09000001")]
    assert (district.parent_code, district.force_code, district.bcu_code) == (
        "E23000034",
        "E23000034",
        None,
    )
    bcu = areas[("bcu", "EA")]
    assert (bcu.name, bcu.parent_code, bcu.geometry) == ("East", "E23000001", None)
    assert areas[("force", "E23000034")].name == "London, City of"


def test_layers_in_another_crs_are_stored_in_bng(
    engine: Engine, tiny_layers: BoundaryLayers
) -> None:
    wgs84 = make_tiny_layers("wgs84")
    wgs84.districts = wgs84.districts.to_crs("EPSG:4326")
    _store(engine, wgs84)
    with session_scope(engine) as session:
        got = boundaries.read_layers(session, name="wgs84")
    assert got.districts.crs.to_epsg() == 27700
    assert got.districts.geometry.geom_equals_exact(tiny_layers.districts.geometry, 0.01).all()


def test_find_by_checksum(engine: Engine, tiny_layers: BoundaryLayers) -> None:
    _store(engine, tiny_layers, checksum="e" * 64)
    with session_scope(engine) as session:
        found = boundaries.find_by_checksum(session, "e" * 64)
        assert found is not None and found.name == "tiny"
        assert boundaries.find_by_checksum(session, "f" * 64) is None


def test_get_resolver_without_an_active_set(engine: Engine, tmp_path: Path) -> None:
    pytest.importorskip("geo.resolver", reason="geo/resolver.py is not written yet")
    with (
        pytest.raises(NotFoundError, match="crossforce init"),
        session_scope(engine) as session,
    ):
        boundaries.get_resolver(session, settings=Settings(data_dir=tmp_path))


def test_get_resolver_builds_then_loads_the_cache(
    engine: Engine,
    tiny_layers: BoundaryLayers,
    tmp_path: Path,
) -> None:
    pytest.importorskip("geo.resolver", reason="geo/resolver.py is not written yet")
    _store(engine, tiny_layers, checksum="0123456789abcdef" * 4)
    with session_scope(engine) as session:
        boundaries.activate(session, actor="boss", name="tiny")
    settings = Settings(data_dir=tmp_path)
    with session_scope(engine) as session:
        built = boundaries.get_resolver(session, settings=settings)
    cache = tmp_path / "cache" / "resolver-tiny-0123456789ab.arrays"
    assert (cache / "manifest.json").is_file()
    # The cache link and the one version it points at; nothing half written left behind.
    assert sorted(p.name for p in cache.parent.iterdir()) == sorted(
        [cache.name, cache.resolve().name]
    )
    mtime = (cache / "manifest.json").stat().st_mtime_ns
    with session_scope(engine) as session:
        loaded = boundaries.get_resolver(session, settings=settings)
    assert (cache / "manifest.json").stat().st_mtime_ns == mtime
    assert type(loaded) is type(built)


@pytest.mark.pack
def test_national_pack_round_trip(
    engine: Engine, reference_dir: Path, national_layers: BoundaryLayers
) -> None:
    from geo.pack import pack_checksum

    with session_scope(engine) as session:
        stored = boundaries.load_pack(session, actor="loader", path=reference_dir)
    assert (stored.n_forces, stored.n_districts, stored.n_wards) == (43, 318, 704)
    assert stored.checksum == pack_checksum(reference_dir)
    with session_scope(engine) as session:
        got = boundaries.read_layers(session, name=stored.name)
    _assert_same_layers(got, national_layers)


def test_get_resolver_rebuilds_a_bad_or_mismatched_cache(
    engine: Engine,
    tiny_layers: BoundaryLayers,
    tmp_path: Path,
) -> None:
    pytest.importorskip("geo.resolver", reason="geo/resolver.py is not written yet")
    _store(engine, tiny_layers, checksum="fedcba9876543210" * 4)
    with session_scope(engine) as session:
        boundaries.activate(session, actor="boss", name="tiny")
    from geo.resolver import Resolver

    cache = tmp_path / "cache" / "resolver-tiny-fedcba987654.arrays"
    cache.parent.mkdir()
    cache.write_bytes(b"not a cache")
    with session_scope(engine) as session:
        resolver = boundaries.get_resolver(session, settings=Settings(data_dir=tmp_path))
    assert resolver.near_boundary_m == 100.0
    assert cache.is_dir()  # the bad file was replaced by a cache directory
    assert Resolver.load(cache).near_boundary_m == 100.0
    wider = Settings(data_dir=tmp_path, near_boundary_m=250.0, nearest_max_m=0.0)
    with session_scope(engine) as session:
        resolver = boundaries.get_resolver(session, settings=wider)
    assert (resolver.near_boundary_m, resolver.nearest_max_m) == (250.0, 0.0)
    with session_scope(engine) as session:
        again = boundaries.get_resolver(session, settings=wider)
    assert (again.near_boundary_m, again.nearest_max_m) == (250.0, 0.0)
