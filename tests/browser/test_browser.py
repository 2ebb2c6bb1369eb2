"""The running app in a real browser: Debian's chromium driven by Playwright.

Starts ``streamlit run app.py`` on a free port against the initialised test database, types two
postcodes and checks the answers on screen. No browser download ever happens: the system chromium
is used, or the test skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import MARKS, chromium, ensure_password, new_page, serve_app, sign_in

pytestmark = MARKS  # checked before any fixture runs: no chromium, an immediate skip
SCREENSHOT = Path("/tmp/crossforce-lookup.png")
BROWSER_USER = "bea.browser"
BROWSER_PASSWORD = "browser test passphrase"


@pytest.fixture
def app_url(app_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Serve the app on a free local port for the duration of one test."""
    pytest.importorskip("playwright.sync_api")
    with serve_app(app_env, tmp_path / "streamlit.log") as url:
        yield url


def test_lookup_in_the_browser(app_url: str) -> None:
    from playwright.sync_api import Request, expect

    ensure_password(BROWSER_USER, BROWSER_PASSWORD)
    external: list[str] = []

    def note_external(request: Request) -> None:
        if not request.url.startswith(app_url) and not request.url.startswith(("data:", "blob:")):
            external.append(request.url)

    with chromium() as browser:
        page = new_page(browser, width=1400, height=1600)
        page.on("request", note_external)
        page.goto(app_url, wait_until="domcontentloaded")
        sign_in(page, BROWSER_USER, BROWSER_PASSWORD)
        box = page.get_by_label("Postcode or coordinates")
        box.fill("EC2V 7HH")
        box.press("Enter")
        expect(page.get_by_role("heading", name="City of London Police")).to_be_visible()
        expect(page.get_by_text("City of London", exact=False).first).to_be_visible()
        # The map canvas and its attribution are drawn beside the answer.
        expect(page.locator("canvas").first).to_be_visible()
        expect(page.get_by_text("Office for National Statistics").first).to_be_visible()
        page.wait_for_timeout(1500)  # let deck.gl finish its first frame for the screenshot
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        box.fill("E8 1DY")
        box.press("Enter")
        expect(page.get_by_role("heading", name="Metropolitan Police Service")).to_be_visible()
        expect(page.get_by_text("Central East").first).to_be_visible()
        expect(page.get_by_text("Hackney").first).to_be_visible()

        # A click on the map looks up the clicked point (the click-grid layer is picked).
        # The chart's key changes after each click read (ui.components.maps.chart_key).
        chart = page.locator("[data-testid='stDeckGlJsonChart']").first
        expect(chart.locator("canvas").first).to_be_visible()
        page.wait_for_timeout(1500)
        box_on_screen = chart.bounding_box()
        assert box_on_screen is not None
        page.mouse.click(
            box_on_screen["x"] + box_on_screen["width"] / 2 + 40,
            box_on_screen["y"] + box_on_screen["height"] / 2 + 40,
        )
        expect(page.get_by_text("Showing the point clicked on the map")).to_be_visible()
        expect(page.get_by_role("heading", name="Metropolitan Police Service")).to_be_visible()
    # The app works offline: the page, its scripts and the map never reach outside the server.
    assert external == []
