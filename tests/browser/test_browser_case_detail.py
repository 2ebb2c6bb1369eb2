"""A case with a pending handoff, in a real browser: manager and handoff in words, and a picture.

On a small seeded demo the City's supervisor opens a City case with a requested handoff to the
Met by its link (``caseload?case=ID``): the page names the case's offender manager and says in
one sentence who stays responsible until when. Screenshots go to ``/tmp/shots/cases/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from tests.factories import CITY, MET
from tests.support import REPO
from tests.support.browser import MARKS, chromium, new_page, serve_app, sign_in

SHOTS = Path("/tmp/shots/cases")

pytestmark = MARKS  # checked before any fixture runs: no chromium, an immediate skip


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A demo database (init + 30 offenders) served by ``streamlit run app.py``."""
    pytest.importorskip("playwright.sync_api")
    url = f"sqlite:///{tmp_path / 'crossforce.db'}"
    env = {**os.environ, "CROSSFORCE_DATABASE_URL": url, "CROSSFORCE_USER": "pytest"}
    cli = [sys.executable, "-m", "coordination.cli"]
    for args in (["init"], ["demo", "--offenders", "30", "--seed", "4"]):
        subprocess.run([*cli, *args], cwd=REPO, env=env, check=True, capture_output=True)
    with serve_app(env, tmp_path / "streamlit.log") as base_url:
        yield base_url, url


def _pending(url: str) -> tuple[int, str, str]:
    """A managed City case with a handoff requested to the Met (made if the demo has none)."""
    from coordination.core.db import make_engine, session_scope
    from coordination.handoffs.workflow import create_handoff
    from coordination.models import OPEN_HANDOFF_STATES, Case, Handoff, User
    from coordination.security.users import list_demo_accounts

    engine = make_engine(url)
    with session_scope(engine) as s:
        supervisor = next(
            u.username
            for u in list_demo_accounts(s)
            if u.force_code == CITY and u.role == "supervisor"
        )
        found = s.exec(
            select(Case.id, User.display_name)
            .join(Handoff, col(Handoff.case_id) == Case.id)
            .join(User, col(User.id) == col(Case.assigned_user_id))
            .where(Handoff.state == "requested", Handoff.to_force_code == MET)
            .where(Case.lead_force_code == CITY, Case.status == "open")
        ).first()
        if found is None:
            busy = select(Handoff.case_id).where(col(Handoff.state).in_(OPEN_HANDOFF_STATES))
            found = s.exec(
                select(Case.id, User.display_name)
                .join(User, col(User.id) == col(Case.assigned_user_id))
                .where(Case.lead_force_code == CITY, Case.status == "open")
                .where(col(Case.id).not_in(busy))
            ).first()
            assert found is not None and found[0] is not None
            create_handoff(
                s,
                actor=supervisor,
                case_id=found[0],
                to_force_code=MET,
                to_bcu_code="CE",
                reason="moved to Hackney",
            )
    engine.dispose()
    assert found[0] is not None
    return found[0], str(found[1]), supervisor


def test_case_detail_shows_the_manager_and_the_pending_handoff(
    demo_app: tuple[str, str],
) -> None:
    from playwright.sync_api import expect

    from coordination.security.users import DEMO_PASSWORD

    app_url, db_url = demo_app
    case_id, manager, supervisor = _pending(db_url)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = new_page(browser, width=1400, height=2800)
        page.goto(app_url, wait_until="domcontentloaded")
        sign_in(page, supervisor, DEMO_PASSWORD)
        page.goto(f"{app_url}caseload?case={case_id}", wait_until="domcontentloaded")
        sign_in(page, supervisor, DEMO_PASSWORD)
        expect(page.get_by_text(f"Case {case_id}, opened by a link.")).to_be_visible()
        line = page.locator("p", has_text="Offender manager:")
        expect(line).to_be_visible()
        expect(line).to_contain_text(f"{manager} (")
        pending = page.get_by_text("the City of London Police stays responsible until the Met")
        expect(pending).to_be_visible()
        expect(page.get_by_text("Held by:").first).to_be_visible()
        page.wait_for_timeout(1000)  # let the rerun settle for the screenshot
        page.screenshot(path=str(SHOTS / "case_detail_pending_handoff.png"), full_page=True)
        page.get_by_role("link", name="Handoffs").click()
        expect(page.get_by_role("heading", name="Handoffs")).to_be_visible()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / "handoffs_page.png"), full_page=True)
