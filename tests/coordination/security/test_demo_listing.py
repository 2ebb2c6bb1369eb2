"""Demo accounts worded for people: `crossforce users demo-accounts` names forces and roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from coordination.core.db import session_scope
from coordination.models import UserCreate
from coordination.security.users import create_user, mark_demo_account
from tests.support.database import migrated_engine

CITY, MET = "E23000034", "E23000001"


@pytest.fixture
def demo_db(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite database with the forces and two demo accounts, as the CLI's database."""
    from coordination.core.db import dispose_engines, get_engine
    from coordination.core.settings import reset_settings_cache

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrated_engine(url).dispose()
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", url)
    reset_settings_cache()
    with session_scope(get_engine()) as session:
        for data in (
            UserCreate(username="cy.super", display_name="Cy", force_code=CITY, role="supervisor"),
            UserCreate(
                username="mo.om",
                display_name="Mo",
                force_code=MET,
                bcu_code="AW",
                role="offender_manager",
            ),
        ):
            create_user(session, actor="pytest", data=data)
            mark_demo_account(session, actor="pytest", username=data.username)
    yield url
    dispose_engines()
    monkeypatch.delenv("CROSSFORCE_DATABASE_URL")
    reset_settings_cache()


def test_demo_accounts_cli_names_the_force_and_the_role(
    demo_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from coordination.cli.main import main

    assert main(["users", "demo-accounts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    (city,) = [line for line in lines if "cy.super" in line]
    (met,) = [line for line in lines if "mo.om" in line]
    assert "Supervisor" in city and "City of London Police" in city and CITY not in city
    assert "Offender manager" in met and "offender_manager" not in met
    assert "Metropolitan Police Service, Central West BCU" in met and MET not in met


def test_demo_account_lines(demo_db: str) -> None:
    from sqlmodel import Session

    from coordination.core.db import get_engine
    from coordination.security.demo_listing import demo_account_lines

    with Session(get_engine()) as session:
        lines = demo_account_lines(session)
    assert [(a.username, a.role, a.force, a.bcu) for a in lines] == [
        ("mo.om", "Offender manager", "Metropolitan Police Service", "Central West BCU"),
        ("cy.super", "Supervisor", "City of London Police", None),
    ]
