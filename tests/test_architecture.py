"""Imports run one way: UI → coordination → geo. Neither package imports Streamlit.

And the tests keep their own shape: no test module imports another, and each test sits in the
folder that mirrors the package it exercises (only the cross-cutting ones at the top).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import REPO

FORBIDDEN = {
    "geo": {"coordination", "streamlit", "ui", "app"},
    "coordination": {"streamlit", "ui", "app"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (REPO / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_pages_do_not_write_to_the_database_themselves() -> None:
    paths = [REPO / "app.py", *sorted((REPO / "ui").rglob("*.py"))]
    # The pages and their components live in sub-packages: make sure the scan reaches them.
    assert REPO / "ui" / "pages" / "caseload.py" in paths
    assert REPO / "ui" / "components" / "tables.py" in paths
    for path in paths:
        text = path.read_text()
        assert "session.add" not in text, path
        assert "sqlmodel" not in text.lower(), path


PACKAGES = ("coordination", "geo", "ui")
MAX_MODULE_LINES = 1000


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def test_no_module_is_over_a_thousand_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in _sources()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_nothing_is_imported_by_a_name_string() -> None:
    """Every import is an import statement, so the import graph (and import-linter) sees it."""
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("import_module", "__import__"):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == []


def test_every_feature_package_keeps_its_commands_beside_its_services() -> None:
    """Each command group lives in its feature package's ``cli.py``, imported by the entry point."""
    entry = (REPO / "coordination" / "cli" / "main.py").read_text()
    groups = sorted(
        p.parent.name for p in (REPO / "coordination").glob("*/cli.py") if p.parent.name != "cli"
    )
    assert groups, "no command groups found"
    for group in groups:
        assert f"from coordination.{group} import cli as {group}_cli" in entry, group
    assert not list((REPO / "coordination").glob("_cli_*.py"))


# --- the tests themselves -----------------------------------------------------------------------

TESTS = REPO / "tests"
#: The only tests at the top of ``tests/``: they exercise the whole tree, not one package.
CROSS_CUTTING = {
    "test_architecture.py",  # the import rules and the shape of the tree (this file)
    "test_hardening.py",  # source scans: names in logs, string-built SQL, secrets
    "test_packaging.py",  # the wheel, installed away from the checkout
    "test_service_audit_walk.py",  # every service of every package against the audit log
}


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def imported_modules(source: str, module: str) -> set[str]:
    """Every module an import statement in ``source`` (the module ``module``) may import.

    Relative imports are resolved; ``from a import b`` counts both ``a`` and ``a.b``, since
    ``b`` may be a module.
    """
    package = module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return found


def _test_modules_imported(source: str, module: str) -> list[str]:
    """The test modules (``test_*``, or a ``conftest``) under ``tests`` that ``source`` imports."""
    return sorted(
        name
        for name in imported_modules(source, module)
        if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith(("test_", "conftest"))
    )


@pytest.mark.parametrize(
    "bad",
    [
        "from tests.geo.test_postcodes import postcodes",
        "import tests.coordination.handoffs.test_handoffs",
        "from tests.ui import test_page_review",
        "from .test_lookup import CITY",
        "from . import test_lookup",
        "from tests.conftest import make_tiny_layers",
    ],
)
def test_the_test_import_scanner_catches_a_test_module_imported(bad: str) -> None:
    assert _test_modules_imported(bad, "tests.geo.test_query") != []


def test_the_test_import_scanner_allows_the_shared_helpers() -> None:
    good = (
        "from tests import factories\n"
        "from tests.factories import add_case, make_tiny_layers\n"
        "from tests.strategies import postcodes\n"
        "from tests.support import REPO, apptest\n"
        "from tests.support.browser import sign_in\n"
        "from coordination.handoffs import workflow\n"
    )
    assert _test_modules_imported(good, "tests.geo.test_query") == []


def test_no_test_module_imports_another() -> None:
    """Shared test code lives in tests/factories.py, tests/strategies.py or tests/support/."""
    offenders = {
        str(path.relative_to(REPO)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := _test_modules_imported(path.read_text(), _module_name(path)))
    }
    assert offenders == {}


def test_tests_sit_in_the_folder_of_the_package_they_exercise() -> None:
    """Only the cross-cutting tests are at the top; every folder is a package that mirrors one."""
    assert sorted(p.name for p in TESTS.glob("test_*.py")) == sorted(CROSS_CUTTING)
    folders = sorted(
        d
        for d in TESTS.rglob("*")
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
    )
    assert [str(d.relative_to(REPO)) for d in folders if not (d / "__init__.py").is_file()] == []
    # tests/coordination/<package> and tests/geo, tests/ui mirror real packages.
    mirrored = [d.relative_to(TESTS) for d in folders if d.parent.name == "coordination"]
    assert mirrored, "no tests/coordination/<package> folders found"
    assert [str(m) for m in mirrored if not (REPO / m / "__init__.py").is_file()] == []
    for package in ("geo", "ui"):
        assert (TESTS / package).is_dir() and (REPO / package / "__init__.py").is_file()
