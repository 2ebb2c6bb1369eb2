"""Signing in and being refused, in a real browser: Debian's chromium driven by Playwright.

A wrong password is refused; the right one signs in; a Met offender manager cannot open a case
the City leads with no Met involvement (no handoff, no joint meeting) — the page shows the
refusal — and the refusal is in the audit log; the menu lists only the pages an offender manager
may use, and a link to the audit log opens the default page instead. The app runs as
``streamlit run app.py`` on a free port against a private copy of the initialised test database.
No browser is ever downloaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from coordination.core.db import get_engine, session_scope
from coordination.models import AuditEvent, Case
from tests.factories import CITY, MET, add_address, add_case
from tests.support.browser import MARKS, chromium, ensure_password, new_page, serve_app, sign_in
from tests.support.database import copy_sqlite

SCREENSHOT = Path("/tmp/crossforce-access-refused.png")
MET_USER = "mia.met"
MET_PASSWORD = "met manager passphrase"
MENU = ["Caseload", "Handoffs", "Network", "Joint review", "Boundary lookup", "Reference data"]

pytestmark = MARKS  # checked before any fixture runs: no chromium, an immediate skip


@pytest.fixture
def access_app(app_database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """Serve the app over a copy of the app database holding a Met manager and a City-only case.

    Yields ``(base URL, database URL, City-only case id)``; the server is always terminated.
    """
    pytest.importorskip("playwright.sync_api")
    url = copy_sqlite(app_database_url, tmp_path / "crossforce.db")
    ensure_password(MET_USER, MET_PASSWORD, url=url, force_code=MET, role="offender_manager")
    with session_scope(get_engine(url)) as session:
        case_id = add_case(session, lead=CITY, first_name="Cleo", last_name="Cityonly")
        case = session.get(Case, case_id)
        assert case is not None
        add_address(
            session,
            case.offender_id,
            postcode="EC2V 7HH",
            easting=532600.0,
            northing=181500.0,
            valid_from=date(2024, 1, 1),
            force_code=CITY,
        )
    env = {**os.environ, "CROSSFORCE_DATABASE_URL": url}
    with serve_app(env, tmp_path / "streamlit.log") as base_url:
        yield base_url, url, case_id


def test_wrong_password_refused_right_one_signs_in_and_a_city_case_is_refused(
    access_app: tuple[str, str, int],
) -> None:
    from playwright.sync_api import expect

    base, url, case_id = access_app
    with chromium() as browser:
        page = new_page(browser, width=1400, height=1400)
        page.goto(base, wait_until="domcontentloaded")

        # Only the sign-in form: a wrong password is refused, without saying which part.
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_role("link", name="Caseload")).to_have_count(0)
        page.get_by_label("Username", exact=True).fill(MET_USER)
        page.get_by_label("Password", exact=True).fill("not the password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_text("Wrong username or password")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

        # The right one signs in: the sidebar says who.
        sign_in(page, MET_USER, MET_PASSWORD)
        expect(page.get_by_text("Mia Met").first).to_be_visible()

        # The City-only case, asked for by link: refused on the page.
        page.goto(f"{base}caseload?case={case_id}", wait_until="domcontentloaded")
        sign_in(page, MET_USER, MET_PASSWORD)  # a new browser session signs in again
        expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
        expect(page.get_by_text(re.compile(r"Access refused")).first).to_be_visible()
        expect(page.get_by_text("Cityonly")).to_have_count(0)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # The menu lists only the pages an offender manager may use: no Audit log, and a
        # link to it opens the default page, not the log.
        nav = page.get_by_test_id("stSidebarNav").get_by_role("link")
        expect(nav).to_have_text(MENU)
        page.goto(f"{base}audit", wait_until="domcontentloaded")
        sign_in(page, MET_USER, MET_PASSWORD)
        expect(page.get_by_role("heading", name="Boundary lookup")).to_be_visible()
        expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)
        expect(page.get_by_role("link", name="Audit log")).to_have_count(0)

    # The refusal is in the audit log, against the case and by the Met manager.
    with Session(get_engine(url)) as session:
        refusals = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "access.refused", AuditEvent.actor == MET_USER)
            .order_by(col(AuditEvent.id))
        ).all()
        failures = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.failure")).all()
    assert any(
        e.entity_type == "case" and e.entity_id == str(case_id) and e.category == "access"
        for e in refusals
    ), [(e.entity_type, e.entity_id, e.details) for e in refusals]
    assert any(e.actor == MET_USER for e in failures)
