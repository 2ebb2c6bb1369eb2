"""Imports run one way: UI → coordination → geo. Neither package imports Streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
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
