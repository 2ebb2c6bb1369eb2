"""The Joint review journey in a real browser: Debian's chromium driven by Playwright.

Plans a City–Met meeting, generates its agenda, records a transfer decision on the high-risk case
and sees the handoff it created (on the page and in the database), then downloads the PDF pack
and reads it back. The app runs as ``streamlit run app.py`` on a free port against a private,
seeded copy of the initialised test database. No browser is ever downloaded: the system chromium
is used, or the test skips.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session, col, select

from coordination.core.db import get_engine
from coordination.handoffs.workflow import open_handoff_for_case
from coordination.models import AuditEvent
from coordination.review.meetings import get_meeting, list_meetings
from tests.factories import CITY, MET, seed_review_cases
from tests.support.browser import MARKS, chromium, ensure_password, new_page, serve_app, sign_in
from tests.support.database import copy_sqlite

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREENSHOT = Path("/tmp/crossforce-joint-review.png")

pytestmark = MARKS  # checked before any fixture runs: no chromium, an immediate skip


@pytest.fixture
def review_app(app_database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, dict[str, int]]]:
    """Serve the app on a free port over a seeded copy of the app database.

    Yields ``(base URL, database URL, case ids)``; the server is always terminated.
    """
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("pypdf")
    url = copy_sqlite(app_database_url, tmp_path / "crossforce.db")
    ids = seed_review_cases(get_engine(url))
    ensure_password("cara.city", "cara city passphrase", url=url)
    env = {**os.environ, "CROSSFORCE_DATABASE_URL": url}
    with serve_app(env, tmp_path / "streamlit.log") as base_url:
        yield base_url, url, ids


def _choose(page: Page, key: str, option: str | re.Pattern[str]) -> None:
    """Pick an option of the Streamlit selectbox with this key."""
    page.locator(f".st-key-{key}").get_by_role("combobox").click()
    page.get_by_role("option", name=option).first.click()


def test_joint_review_journey(review_app: tuple[str, str, dict[str, int]], tmp_path: Path) -> None:
    from playwright.sync_api import expect
    from pypdf import PdfReader

    base, url, ids = review_app
    with chromium() as browser:
        page = new_page(browser, width=1400, height=1800, accept_downloads=True)
        page.goto(f"{base}joint_review", wait_until="domcontentloaded")
        sign_in(page, "cara.city", "cara city passphrase")
        expect(page.get_by_role("heading", name="Joint review")).to_be_visible()

        # Plan the meeting (City and Met by default) and generate its agenda.
        page.get_by_label("Chair").fill("Cara City")
        page.get_by_role("button", name="Create the meeting").click()
        expect(page.get_by_text(re.compile(r"Meeting \d+ planned"))).to_be_visible()
        page.get_by_role("button", name="Generate the agenda").click()
        expect(page.get_by_text("Agenda generated: 2 items.")).to_be_visible()

        # A transfer decision on the high-risk case.
        _choose(page, "jr_item", re.compile("Bob Highrisk"))
        expect(page.get_by_text("Why it is on the agenda:")).to_be_visible()
        _choose(page, "jr_kind", "Transfer to a named force")
        page.get_by_label("Note").fill("Lives in the Met; the Met takes the lead")
        page.get_by_role("button", name="Record the decision").click()
        shown = page.get_by_text(re.compile(r"Handoff #\d+ is requested"))
        expect(shown).to_be_visible()
        # The chosen item shows its decision with the handoff too.
        panel = re.compile(r"Decision: Transfer to Metropolitan Police Service: handoff #\d+")
        expect(page.get_by_text(panel)).to_be_visible()
        match = re.search(r"#(\d+)", shown.inner_text())
        assert match is not None
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # The pack: name the recipients, then download the PDF.
        recipients = page.get_by_role("textbox", name="Recipients (one per line, required)")
        recipients.fill("Met Central East IOM team")
        recipients.press("Control+Enter")
        why = page.get_by_role("textbox", name="Why they receive it (required)")
        why.fill("Joint review: the Met's attendees")
        why.press("Enter")
        button = page.get_by_role("button", name="Download PDF")
        expect(button).to_be_visible()
        with page.expect_download() as info:
            button.click()
        target = tmp_path / "pack.pdf"
        info.value.save_as(target)

    # The handoff shown on the page is the one in the database, created by the decision.
    engine = get_engine(url)
    with Session(engine) as session:
        handoff = open_handoff_for_case(session, ids["high"], actor="system:test")
        (meeting,) = list_meetings(session, actor="system:test")
        item = next(
            i
            for i in get_meeting(session, meeting_id=meeting.id, actor="system:test").agenda
            if i.decision
        )
        disclosure = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "disclosure.meeting_pack")
            .order_by(col(AuditEvent.id).desc())
        ).first()
    assert handoff is not None
    assert (handoff.from_force_code, handoff.to_force_code, handoff.state) == (
        CITY,
        MET,
        "requested",
    )
    assert int(match.group(1)) == handoff.id
    assert item.case_id == ids["high"] and item.decision is not None
    assert (item.decision.kind, item.decision.handoff_id) == ("transfer", handoff.id)

    # The PDF is a PDF, marked on every page; its download was recorded as a disclosure.
    data = target.read_bytes()
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    assert all("OFFICIAL-SENSITIVE" in (pg.extract_text() or "") for pg in reader.pages)
    assert "Highrisk" in "".join(pg.extract_text() or "" for pg in reader.pages)
    assert disclosure is not None and disclosure.details is not None
    assert disclosure.details["format"] == "pdf"
    assert disclosure.details["recipients"] == ["Met Central East IOM team"]
    assert disclosure.justification == "Joint review: the Met's attendees"
    assert "Joint review: the Met's attendees" in reader.pages[0].extract_text()
