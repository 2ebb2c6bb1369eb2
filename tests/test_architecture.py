"""Imports run one way: UI → coordination → geo. Neither package imports Streamlit."""

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
    for path in [REPO / "app.py", *(REPO / "ui").glob("*.py")]:
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
