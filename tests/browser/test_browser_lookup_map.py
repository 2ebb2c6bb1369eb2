"""The Boundary lookup map in a real browser: there before any query, readable, clickable.

Debian's chromium, driven by Playwright, at 1400 x 900: the map is drawn before anything is
typed and fits the window, its legend is on the page, and each click on it looks up a new point
and moves the orange mark there. Nothing is fetched from outside the app.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import MARKS, chromium, ensure_password, new_page, serve_app, sign_in

pytestmark = MARKS  # checked before any fixture runs: no chromium, an immediate skip
SHOTS = Path("/tmp/crossforce-lookup-map")
USER = "mara.map"
PASSWORD = "map test passphrase"
CLICKED = "Showing the point clicked on the map"


@pytest.fixture
def app_url(app_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Serve the app on a free local port for the duration of one test."""
    pytest.importorskip("playwright.sync_api")
    with serve_app(app_env, tmp_path / "streamlit.log") as url:
        yield url


def _orange_near(png: bytes, x: float, y: float, radius: int = 10) -> int:
    """How many pixels of the answer's orange (255, 140, 0) lie within ``radius`` of (x, y)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    found = 0
    for px in range(int(x) - radius, int(x) + radius + 1):
        for py in range(int(y) - radius, int(y) + radius + 1):
            if 0 <= px < image.width and 0 <= py < image.height:
                r, g, b = image.getpixel((px, py))  # type: ignore[misc]
                if r > 225 and 110 < g < 175 and b < 70:
                    found += 1
    return found


def _click_and_read(page: Any, x: float, y: float, before: str | None) -> str:
    """Click the map at (x, y); wait for the answer to change; return its "clicked" line."""
    from playwright.sync_api import Error, expect

    info = page.get_by_text(CLICKED)
    # One more try if the first is not answered: on a loaded machine a click that lands while
    # the page is still re-running can be dropped by the frontend (a person clicks again too).
    for attempt in range(2):
        page.mouse.click(x, y)
        try:
            expect(info).to_be_visible(timeout=20_000)
            if before is not None:
                expect(info).not_to_have_text(before, timeout=20_000)
            break
        except (AssertionError, Error):
            if attempt == 1:
                raise
    page.mouse.move(5, 5)  # away from the map: no tooltip over the mark
    page.wait_for_timeout(1500)  # let deck.gl draw the new mark
    return str(info.inner_text())


def test_the_lookup_map_is_readable_and_each_click_moves_the_answer(app_url: str) -> None:
    from playwright.sync_api import Request, expect

    ensure_password(USER, PASSWORD)
    external: list[str] = []

    def note_external(request: Request) -> None:
        if not request.url.startswith(app_url) and not request.url.startswith(("data:", "blob:")):
            external.append(request.url)

    SHOTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = new_page(browser, width=1400, height=900)
        page.on("request", note_external)
        page.goto(app_url, wait_until="domcontentloaded")
        sign_in(page, USER, PASSWORD)
        page.get_by_role("link", name="Boundary lookup").click()
        expect(page.get_by_label("Postcode or coordinates")).to_be_visible()

        # Before any query: the map is there, big enough, and inside the 900-pixel window.
        canvas = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first
        expect(canvas).to_be_visible()
        page.wait_for_timeout(2000)  # deck.gl's first frame
        box = canvas.bounding_box()
        assert box is not None
        assert box["width"] > 400 and box["height"] > 300, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= 900, box
        expect(page.get_by_text("force boundary", exact=False).first).to_be_visible()
        expect(page.get_by_text("City of London Police", exact=False).first).to_be_visible()
        expect(page.get_by_text("No base map", exact=False).first).to_be_attached()
        assert page.get_by_text(CLICKED).count() == 0
        page.screenshot(path=str(SHOTS / "0-before.png"))

        # Three clicks at three places: each changes the answer and moves the mark.
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        spots = [(cx + 70, cy + 40), (cx - 130, cy - 70), (cx + 20, cy - 110)]
        answers: list[str] = []
        for n, (x, y) in enumerate(spots):
            answers.append(_click_and_read(page, x, y, answers[-1] if answers else None))
            png = page.screenshot(path=str(SHOTS / f"{n + 1}-click.png"))
            assert _orange_near(png, x, y) >= 20, (n, "no mark where the map was clicked")
            for earlier in spots[:n]:
                assert _orange_near(png, *earlier) == 0, (n, "the mark stayed at an old spot")
        assert len(set(answers)) == 3, answers
    # Nothing outside the app: no tiles, no fonts, no styles from the internet.
    assert external == []
