"""Settings: defaults, environment overrides, and production refusing weak keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from coordination.core.settings import (
    DEVELOPMENT_SECRET_KEY,
    Settings,
    default_data_dir,
    get_settings,
    reset_settings_cache,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from an environment without CROSSFORCE_* and with a fresh cache."""
    import os

    for key in list(os.environ):
        if key.startswith("CROSSFORCE_"):
            monkeypatch.delenv(key)
    reset_settings_cache()
    yield
    reset_settings_cache()


def test_defaults() -> None:
    settings = Settings()
    assert settings.env == "development"
    assert settings.database_url is None
    assert settings.reference_dir is None
    # Unset, data lives in the per-user data directory, never in the package or source tree.
    assert settings.data_dir == default_data_dir()
    assert settings.data_dir.name == "crossforce"
    assert settings.cache_dir == default_data_dir() / "cache"
    assert settings.database_url_effective == f"sqlite:///{default_data_dir() / 'crossforce.db'}"
    assert settings.near_boundary_m == 100.0
    assert settings.nearest_max_m == 2000.0
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
    assert settings.user is None
    assert settings.map_tile_url is None
    assert "coordination" not in settings.data_dir.parts


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSFORCE_ENV", "test")
    monkeypatch.setenv("CROSSFORCE_AUDIT_KEY", "a" * 40)
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", "postgresql+psycopg://u:p@localhost/db")
    monkeypatch.setenv("CROSSFORCE_REFERENCE_DIR", str(tmp_path / "pack"))
    monkeypatch.setenv("CROSSFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CROSSFORCE_NEAR_BOUNDARY_M", "250")
    monkeypatch.setenv("CROSSFORCE_NEAREST_MAX_M", "0")
    monkeypatch.setenv("CROSSFORCE_USER", "jsmith")
    monkeypatch.setenv("CROSSFORCE_MAP_TILE_URL", "https://tiles.example/{z}/{x}/{y}.png")
    settings = get_settings()
    assert settings.env == "test"
    assert settings.database_url_effective == "postgresql+psycopg://u:p@localhost/db"
    assert settings.reference_dir == tmp_path / "pack"
    assert settings.cache_dir == tmp_path / "cache"
    assert settings.near_boundary_m == 250.0
    assert settings.nearest_max_m == 0.0
    assert settings.user == "jsmith"
    assert settings.map_tile_url == "https://tiles.example/{z}/{x}/{y}.png"


def test_sqlite_default_follows_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url_effective == f"sqlite:///{tmp_path / 'crossforce.db'}"


def test_get_settings_is_cached_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("CROSSFORCE_USER", "someone")
    assert get_settings().user is None
    reset_settings_cache()
    assert get_settings().user == "someone"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CROSSFORCE_NEAR_BOUNDARY_M", "0"),
        ("CROSSFORCE_NEAR_BOUNDARY_M", "-5"),
        ("CROSSFORCE_NEAREST_MAX_M", "-1"),
        ("CROSSFORCE_ENV", "staging"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


def test_production_refuses_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSFORCE_ENV", "production")
    with pytest.raises(ValidationError, match="CROSSFORCE_SECRET_KEY must be set in production"):
        Settings()


@pytest.mark.parametrize("key", ["", "   ", "short-key"])
def test_production_refuses_short_keys(key: str) -> None:
    with pytest.raises(ValidationError, match="too short"):
        Settings(env="production", secret_key=SecretStr(key))


def test_production_accepts_a_long_random_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSFORCE_ENV", "production")
    monkeypatch.setenv("CROSSFORCE_SECRET_KEY", "x" * 16 + "9f2c1e8b7a6d5c4b3a2f1e0d")
    monkeypatch.setenv("CROSSFORCE_AUDIT_KEY", "a" * 40)
    settings = Settings()
    assert settings.env == "production"
    assert "9f2c" not in repr(settings)  # the key never shows in logs


def test_development_accepts_the_default_key() -> None:
    assert Settings(env="development").secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
    test = Settings(env="test", audit_key=SecretStr("a" * 40))
    assert test.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
