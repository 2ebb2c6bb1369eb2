"""``initialise`` (crossforce init): loads and activates reference data, and is safe to run twice.

Runs on SQLite and PostgreSQL with a tiny pack written into ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coordination.audit.reader import list_events
from coordination.core.db import current_revision, get_engine, head_revision, session_scope, upgrade
from coordination.core.settings import Settings
from coordination.reference import boundaries
from coordination.setup.initialise import initialise
from tests.factories import make_tiny_layers


@pytest.fixture(autouse=True)
def _needs_resolver() -> None:
    # initialise ends by warming the resolver cache, so it needs the real resolver.
    pytest.importorskip("geo.resolver", reason="geo/resolver.py is not written yet")


def _settings(database_url: str, tmp_path: Path, reference_dir: Path | None) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        reference_dir=reference_dir,
    )


def _state(database_url: str) -> tuple[list[tuple[str, bool, str]], int]:
    with session_scope(get_engine(database_url)) as session:
        sets = [(s.name, s.active, s.checksum) for s in boundaries.list_sets(session)]
        return sets, len(list_events(session, limit=10_000))


def test_initialise_twice_with_a_tiny_pack(
    database_url: str, tmp_path: Path, tiny_pack: Path
) -> None:
    from geo.pack import pack_checksum

    settings = _settings(database_url, tmp_path, tiny_pack)
    seen: list[str] = []
    first = initialise(settings=settings, actor="init", progress=seen.append)
    assert seen == first.lines
    assert first.changed
    assert current_revision(get_engine(database_url)) == head_revision()
    sets, n_events = _state(database_url)
    assert len(sets) == 1
    name, active, checksum = sets[0]
    assert active and checksum == pack_checksum(tiny_pack)
    assert first.active_set == name
    text = "\n".join(first.lines)
    assert "migrated" in text and f"Loaded boundary set {name}" in text
    assert f"Activated boundary set {name}" in text
    with session_scope(get_engine(database_url)) as session:
        actions = [(e.actor, e.action) for e in reversed(list_events(session))]
    assert actions == [
        ("init", "force.seed"),
        ("init", "responsibility_rule.seed"),
        ("init", "case_weight.seed"),
        ("init", "boundary_set.load"),
        ("init", "boundary_set.activate"),
    ]
    assert any(settings.cache_dir.glob(f"resolver-{name}-{checksum[:12]}.arrays"))

    second = initialise(settings=settings, actor="init")
    assert not second.changed
    assert _state(database_url) == (sets, n_events)
    assert second.lines[-1].startswith("Nothing changed")
    assert any("already loaded" in line for line in second.lines)
    assert second.active_set == name


def test_pack_replaces_an_active_approximate_set(
    database_url: str, tmp_path: Path, tiny_pack: Path
) -> None:
    upgrade(database_url)
    with session_scope(get_engine(database_url)) as session:
        boundaries.store_layers(
            session, actor="t", layers=make_tiny_layers("approx", approximate=True), checksum="a"
        )
        boundaries.activate(session, actor="t", name="approx")
    report = initialise(settings=_settings(database_url, tmp_path, tiny_pack), actor="init")
    sets, _ = _state(database_url)
    active = [name for name, is_active, _ in sets if is_active]
    assert active != ["approx"] and len(active) == 1
    assert any("replacing approximate approx" in line for line in report.lines)


def test_pack_does_not_override_an_official_choice(
    database_url: str, tmp_path: Path, tiny_pack: Path
) -> None:
    upgrade(database_url)
    with session_scope(get_engine(database_url)) as session:
        boundaries.store_layers(session, actor="t", layers=make_tiny_layers("chosen"), checksum="b")
        boundaries.activate(session, actor="t", name="chosen")
    report = initialise(settings=_settings(database_url, tmp_path, tiny_pack), actor="init")
    sets, _ = _state(database_url)
    assert [name for name, is_active, _ in sets if is_active] == ["chosen"]
    assert len(sets) == 2
    assert report.active_set == "chosen"
    assert any("stays active" in line for line in report.lines)


def test_without_a_pack_existing_sets_are_left_alone(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    with session_scope(get_engine(database_url)) as session:
        boundaries.store_layers(session, actor="t", layers=make_tiny_layers("kept"), checksum="c")
        boundaries.activate(session, actor="t", name="kept")
    before = _state(database_url)
    report = initialise(settings=_settings(database_url, tmp_path, None), actor="init")
    sets, n_events = _state(database_url)
    assert sets == before[0]
    assert n_events == before[1] + 3  # forces, rules and weights seeded; nothing else
    assert report.active_set == "kept"


@pytest.mark.slow
def test_without_a_pack_builds_the_london_default(
    database_url: str, tmp_path: Path, cache_dir: Path
) -> None:
    pytest.importorskip("geo.london_default", reason="geo/london_default.py is not written yet")
    # data_dir shares the repository's cache so the postcode directory is not rebuilt here.
    settings = Settings(
        env="test", database_url=database_url, data_dir=cache_dir.parent, reference_dir=None
    )
    first = initialise(settings=settings, actor="init")
    sets, n_events = _state(database_url)
    assert len(sets) == 1 and sets[0][1]
    with session_scope(get_engine(database_url)) as session:
        active = boundaries.get_active(session)
    assert active is not None and active.approximate
    assert first.active_set == active.name
    second = initialise(settings=settings, actor="init")
    assert not second.changed
    assert _state(database_url) == (sets, n_events)
