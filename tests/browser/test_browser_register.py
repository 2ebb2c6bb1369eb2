"""A cross-border move in a real browser: Debian's chromium driven by Playwright.

On a small seeded demo, a City-led offender moves to Hackney (E8 1DY) through the Caseload page;
the handoff appears in the Met's incoming queue on the Handoffs page, is accepted and completed
there, and the Met becomes the lead force — on the page and in the database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from tests.factories import CITY, MET
from tests.support import REPO
from tests.support.browser import MARKS, chromium, new_page, serve_app, sign_in

SCREENSHOT = Path("/tmp/crossforce-handoff.png")

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


def _city_case_to_move(url: str) -> tuple[int, str]:
    """A City-led, non-fraud case with no open handoff: a move to Hackney must hand it off."""
    from coordination.core.db import make_engine
    from coordination.models import OPEN_HANDOFF_STATES, Case, Handoff, Offender

    engine = make_engine(url)
    with Session(engine) as s:
        busy = set(
            s.exec(select(Handoff.case_id).where(col(Handoff.state).in_(OPEN_HANDOFF_STATES)))
        )
        rows = s.exec(
            select(Case, Offender)
            .join(Offender, col(Offender.id) == Case.offender_id)
            .where(Case.lead_force_code == CITY, Case.offence_category != "fraud_and_forgery")
            .order_by(col(Case.id))
        ).all()
    engine.dispose()
    case, offender = next((c, o) for c, o in rows if c.id not in busy)
    assert case.id is not None
    return case.id, f"#{case.id} {offender.first_name} {offender.last_name} ({offender.pnc_id})"


def _lead(url: str, case_id: int) -> str:
    from coordination.core.db import make_engine
    from coordination.models import Case

    engine = make_engine(url)
    with Session(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None
        lead = case.lead_force_code
    engine.dispose()
    return lead


def _demo_account(url: str, force_code: str, role: str) -> str:
    """A demo account (development mode) of this force and role; they share DEMO_PASSWORD."""
    from coordination.core.db import make_engine
    from coordination.security.users import list_demo_accounts

    engine = make_engine(url)
    with Session(engine) as s:
        accounts = list_demo_accounts(s)
    engine.dispose()
    return next(u.username for u in accounts if u.force_code == force_code and u.role == role)


def _choose(page: object, label: str, typed: str, option: str | re.Pattern[str]) -> None:
    """Pick an option of a Streamlit selectbox: type to filter (long lists are virtualised)."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.get_by_role("combobox", name=label, exact=True).click()
    page.keyboard.type(typed)
    page.get_by_role("option", name=option).first.click()


def test_move_to_hackney_hands_the_case_to_the_met(demo_app: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    from coordination.demo.officers import DEMO_PASSWORD

    app_url, db_url = demo_app
    case_id, case_label = _city_case_to_move(db_url)
    city_user = _demo_account(db_url, CITY, "supervisor")
    met_user = _demo_account(db_url, MET, "offender_manager")  # of Central East (Hackney)
    with chromium() as browser:
        page = new_page(browser, width=1500, height=1800)
        page.goto(app_url, wait_until="domcontentloaded")
        sign_in(page, city_user, DEMO_PASSWORD)
        page.get_by_role("link", name="Caseload").click()
        expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
        expect(page.get_by_text("Synthetic demo data").first).to_be_visible()

        # Move the offender to Hackney from the case's "Record a move" tab.
        _choose(page, "Case", case_label, case_label)
        page.get_by_role("tab", name="Record a move").click()
        page.get_by_label("New postcode").fill("E8 1DY")
        page.get_by_role("button", name="Record move").click()
        created = re.compile(r"handoff \d+ to Metropolitan Police Service created")
        expect(page.get_by_text(created)).to_be_visible()
        assert _lead(db_url, case_id) == CITY  # the sender leads until completion

        # The Met's incoming queue shows it; a Met officer accepts it, then completes it.
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, met_user, DEMO_PASSWORD)
        page.get_by_role("link", name="Handoffs").click()
        expect(page.get_by_role("heading", name="Handoffs")).to_be_visible()
        _choose(page, "Force", "Metropolitan", "Metropolitan Police Service (E23000001)")
        name = case_label.split(" (")[0].split(" ", 1)[1]
        requested = re.compile(
            rf"{re.escape(name)}: City of London Police → Metropolitan Police Service "
            r"\(requested\)"
        )
        _choose(page, "Handoff", name, requested)
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_text(re.compile(r"Handoff \d+ is now accepted"))).to_be_visible()
        # The picker keeps the handoff though its label changed (its state), also when the
        # browser sends the old label back with another widget's rerun.
        picker = page.get_by_role("combobox", name="Handoff", exact=True)
        accepted = re.compile(rf"{re.escape(name)}: .*\(accepted\)")
        expect(picker).to_have_value(accepted)
        page.get_by_text("Show closed handoffs too").click()
        expect(page.get_by_role("switch", name="Show closed handoffs too")).to_be_checked()
        expect(picker).to_have_value(accepted)
        # Accepted, it completes only once the address check is recorded as confirmed: the
        # receiving side records it (today, a home visit, confirmed by default).
        expect(page.get_by_text("Record the address check")).to_be_visible()
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOT.with_name("handoff_address_check.png")), full_page=True)
        page.get_by_role("button", name="Record the check").click()
        expect(page.get_by_text(re.compile(r"Address check recorded: handoff \d+"))).to_be_visible()
        # Now completing is the first action offered (and withdrawing is not: that is the
        # sending force's).
        expect(page.get_by_role("combobox", name="Action")).to_have_value("complete")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_text(re.compile(r"Handoff \d+ is now completed"))).to_be_visible()
        expect(
            page.get_by_text(f"Metropolitan Police Service (E23000001) now leads case {case_id}")
        ).to_be_visible()
        page.wait_for_timeout(1000)  # let the rerun settle for the screenshot
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert _lead(db_url, case_id) == MET
