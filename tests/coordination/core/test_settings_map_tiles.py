"""``CROSSFORCE_MAP_TILES`` names a force's own tile server; the older name still works."""

from __future__ import annotations

import pytest

from coordination.core.settings import Settings

URL = "https://tiles.force.invalid/{z}/{x}/{y}.png"


def test_map_tiles_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSFORCE_MAP_TILES", raising=False)
    monkeypatch.delenv("CROSSFORCE_MAP_TILE_URL", raising=False)
    assert Settings().map_tile_url is None


def test_map_tiles_is_the_documented_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSFORCE_MAP_TILE_URL", raising=False)
    monkeypatch.setenv("CROSSFORCE_MAP_TILES", URL)
    assert Settings().map_tile_url == URL


def test_the_old_name_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSFORCE_MAP_TILES", raising=False)
    monkeypatch.setenv("CROSSFORCE_MAP_TILE_URL", URL)
    assert Settings().map_tile_url == URL
    assert Settings(map_tile_url="x").map_tile_url == "x"
