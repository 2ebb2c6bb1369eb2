"""Fixtures the page tests share: a demo database made through the command line."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def demo_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An initialised database holding a 60-offender demo, made through the CLI."""
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'crossforce.db'}"
    previous = os.environ.get("CROSSFORCE_DATABASE_URL")
    os.environ["CROSSFORCE_DATABASE_URL"] = url
    reset_settings_cache()
    try:
        assert main(["--as", "pytest", "init"]) == 0
        assert main(["--as", "pytest", "demo", "--offenders", "60", "--seed", "2"]) == 0
    finally:
        if previous is None:
            os.environ.pop("CROSSFORCE_DATABASE_URL", None)
        else:
            os.environ["CROSSFORCE_DATABASE_URL"] = previous
        reset_settings_cache()
    return url


@pytest.fixture
def demo_env(demo_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the process at the demo database for one test."""
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", demo_database_url)
    reset_settings_cache()
    try:
        yield demo_database_url
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()
