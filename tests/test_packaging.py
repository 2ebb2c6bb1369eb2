"""A plain (non-editable) install works anywhere: migrations and defaults travel in the wheel.

The wheel is built offline from the checkout, unpacked into a directory of its own and run from an
empty working directory, so nothing can come from the source tree by accident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so the build leaves nothing (build/, *.egg-info) in the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("coordination", "geo"):
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"),
            *("--wheel-dir", str(out), str(source)),
        ],
        check=True,
        capture_output=True,
        cwd=out,
    )
    (built,) = out.glob("crossforce-*.whl")
    return built


def test_the_wheel_carries_migrations_and_default_tables(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "coordination/migrations/env.py" in names
    assert "coordination/migrations/script.py.mako" in names
    assert {n for n in names if n.startswith("coordination/migrations/versions/0")} >= {
        "coordination/migrations/versions/0001_initial.py",
        "coordination/migrations/versions/0005_audit_append_only.py",
    }
    assert "coordination/register/responsibility_rules.toml" in names
    assert "coordination/caseload/case_weights.toml" in names
    assert "geo/data/uk_districts.csv" in names
    # The app and the tests are not part of the installed package.
    assert not {n for n in names if n.startswith(("tests/", "ui/", "bench/"))}


def _installed(wheel: Path, target: Path) -> dict[str, str]:
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"),
            *("--target", str(target), str(wheel)),
        ],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSFORCE_")}
    # The unpacked wheel comes first on the path, before the editable checkout.
    env["PYTHONPATH"] = str(target)
    return env


def _crossforce(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordination.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_init_and_lookup_from_an_empty_directory(
    wheel: Path, tmp_path: Path, cache_dir: Path
) -> None:
    env = _installed(wheel, tmp_path / "site")
    data = tmp_path / "data"
    # The derived postcode cache is copied in only to save minutes; the database is new.
    (data / "cache").mkdir(parents=True)
    for cached in cache_dir.glob("postcodes-*.npz"):
        shutil.copy(cached, data / "cache" / cached.name)
    env["CROSSFORCE_DATA_DIR"] = str(data)
    empty = tmp_path / "empty"
    empty.mkdir()

    where = subprocess.run(
        [sys.executable, "-c", "import coordination; print(coordination.__file__)"],
        env=env,
        cwd=empty,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(tmp_path / "site"))

    init = _crossforce(env, empty, "init")
    assert init.returncode == 0, init.stderr
    assert (data / "crossforce.db").is_file()
    lookup = _crossforce(env, empty, "lookup", "EC2V 7HH")
    assert lookup.returncode == 0, lookup.stderr
    assert lookup.stdout.startswith("EC2V 7HH: City of London Police (E23000034")
    assert list(empty.iterdir()) == []  # nothing written where it ran


def test_without_a_data_directory_the_per_user_one_is_used(wheel: Path, tmp_path: Path) -> None:
    env = _installed(wheel, tmp_path / "site")
    env["HOME"] = str(tmp_path / "home")
    env.pop("XDG_DATA_HOME", None)
    empty = tmp_path / "empty"
    empty.mkdir()
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from coordination.core.settings import Settings; print(Settings().data_dir)",
        ],
        env=env,
        cwd=empty,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(shown.stdout.strip()) == tmp_path / "home" / ".local" / "share" / "crossforce"
