"""Names written like markup show as text in a real browser: Debian's chromium driven by Playwright.

The review cases (``tests.factories.seed_review_cases``) with hostile text where people type it:
the pending-handoff person is called ``<img src=x onerror=alert(1)> Quxworthy``, the signed-in
City supervisor is displayed as ``<script>alert(1)</script>``, the handoff's reason is
``[click](javascript:alert(1))`` and a meeting is planned with the title
``![](http://example.invalid/x.png)``. Each page that shows one must show it literally, and the
DOM must hold no image, script, link or alert that the text could have made. The app runs as
``streamlit run app.py`` on a free port against a private, seeded copy of the initialised test
database; no browser is ever downloaded (the system chromium, or the test skips).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import select

from coordination.core.db import get_engine, session_scope
from coordination.models import Case, Handoff, Offender, User
from tests.factories import seed_review_cases
from tests.support.browser import MARKS, chromium, ensure_password, new_page, serve_app, sign_in
from tests.support.database import copy_sqlite

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = MARKS  # checked before any fixture runs: no chromium, an immediate skip

SHOTS = Path("/tmp/shots")
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
LINK = "[click](javascript:alert(1))"
IMAGE = "![](http://example.invalid/x.png)"
PASSWORD = "cara city passphrase"

# Whatever the texts could have turned into, were they read as HTML or markdown.
_INJECTED = """() => ({
    images: [...document.querySelectorAll('img')].filter(
        i => i.getAttribute('src') === 'x' || (i.src || '').includes('example.invalid')).length,
    scripts: [...document.querySelectorAll('script')].filter(
        s => (s.textContent || '').includes('alert(1)')).length,
    links: [...document.querySelectorAll('a')].filter(
        a => /^javascript:/i.test(a.getAttribute('href') || '')
            || (a.getAttribute('href') || '').includes('example.invalid')).length,
    handlers: [...document.querySelectorAll('[onerror]')].length,
})"""


@pytest.fixture
def hostile_app(app_database_url: str, tmp_path: Path) -> Iterator[str]:
    """Serve the app over a seeded copy of the app database with the hostile texts in it."""
    pytest.importorskip("playwright.sync_api")
    url = copy_sqlite(app_database_url, tmp_path / "crossforce.db")
    engine = get_engine(url)
    ids = seed_review_cases(engine)
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.username == "cara.city")).one()
        user.display_name = SCRIPT
        case = session.get(Case, ids["handoff"])
        assert case is not None
        person = session.get(Offender, case.offender_id)
        assert person is not None
        person.first_name, person.last_name = IMG, "Quxworthy"
        handoff = session.exec(select(Handoff).where(Handoff.case_id == ids["handoff"])).one()
        handoff.reason = LINK
        session.add_all([user, person, handoff])
    ensure_password("cara.city", PASSWORD, url=url)
    env = {**os.environ, "CROSSFORCE_DATABASE_URL": url}
    with serve_app(env, tmp_path / "streamlit.log") as base_url:
        yield base_url


def _as_shown(text: str, *, before: str = "", after: str = "") -> re.Pattern[str]:
    """``text`` as the page shows it: ``ui.text.md`` puts an invisible word joiner in URLs."""
    shown = "".join(re.escape(char) + ("\u2060?" if char in ":@" else "") for char in text)
    # Playwright hands the pattern to JavaScript as a /…/ literal: a bare slash would end it.
    shown = shown.replace("/", "\\/")
    return re.compile(f"{before}{shown}{after}")


def _choose(page: Page, label: str, typed: str, option: str | re.Pattern[str]) -> None:
    """Pick an option of a Streamlit selectbox: type to filter (long lists are virtualised)."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.keyboard.type(typed)
    page.get_by_role("option", name=option).first.click()


def _nothing_injected(page: Page, dialogs: list[str]) -> None:
    assert page.evaluate(_INJECTED) == {"images": 0, "scripts": 0, "links": 0, "handlers": 0}
    assert dialogs == []


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)  # let the rerun settle for the screenshot
    page.screenshot(path=str(SHOTS / f"injection-{name}.png"), full_page=True)


def test_hostile_names_show_as_text(hostile_app: str) -> None:
    from playwright.sync_api import Dialog, expect

    dialogs: list[str] = []
    with chromium() as browser:
        page = new_page(browser, width=1500, height=1600)

        def refuse(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", refuse)
        page.goto(hostile_app, wait_until="domcontentloaded")
        sign_in(page, "cara.city", PASSWORD)
        # The sidebar names the user as their display name reads.
        expect(page.get_by_test_id("stSidebar").get_by_text(SCRIPT)).to_be_visible()
        _nothing_injected(page, dialogs)

        # Caseload: the person in the list, in the case chooser and in the case's heading.
        page.get_by_role("link", name="Caseload").click()
        expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
        _choose(page, "Case", "Quxworthy", re.compile(re.escape(f"{IMG} Quxworthy")))
        heading = page.get_by_role("heading", name=re.compile(re.escape(f"{IMG} Quxworthy")))
        expect(heading).to_be_visible()
        assert heading.inner_text().startswith(f"{IMG} Quxworthy")
        expect(page.get_by_text(f"Acting as {SCRIPT}", exact=False)).to_be_visible()
        _nothing_injected(page, dialogs)
        _shot(page, "caseload")

        # Handoffs: the reason, typed as a markdown link, reads as typed and links nowhere.
        page.get_by_role("link", name="Handoffs").click()
        expect(page.get_by_role("heading", name="Handoffs")).to_be_visible()
        _choose(page, "Handoff", "Quxworthy", re.compile(re.escape(f"{IMG} Quxworthy")))
        expect(page.get_by_text(f"Reason: {LINK}", exact=True)).to_be_visible()
        _nothing_injected(page, dialogs)
        _shot(page, "handoffs")

        # Joint review: a meeting titled as a markdown image; its heading and the flash line.
        page.get_by_role("link", name="Joint review").click()
        expect(page.get_by_role("heading", name="Joint review")).to_be_visible()
        page.get_by_label("Title").fill(IMAGE)
        page.get_by_label("Chair").fill(IMG)
        page.get_by_role("button", name="Create the meeting").click()
        planned = _as_shown(IMAGE, before=r"Meeting \d+ planned: ", after=r"\.$")
        expect(page.get_by_text(planned)).to_be_visible()
        title = _as_shown(IMAGE, before="^", after="$")
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        expect(page.get_by_text(f"Chair: {IMG}", exact=False)).to_be_visible()
        page.get_by_role("button", name="Generate the agenda").click()
        expect(page.get_by_text("Agenda generated: 2 items.")).to_be_visible()
        _choose(page, "Agenda item", "Quxworthy", re.compile(re.escape(f"{IMG} Quxworthy")))
        expect(page.get_by_role("heading", name=re.compile(re.escape(IMG)))).to_be_visible()
        _nothing_injected(page, dialogs)
        _shot(page, "joint-review")
