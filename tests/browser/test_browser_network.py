"""The Network page's drawing in a real browser: Debian's chromium driven by Playwright.

On a small seeded demo (30 offenders, which has an overdue flow), the City's supervisor opens
the Network page; Graphviz, bundled with Streamlit's frontend, lays the network out in the
browser. The drawing must really be there: an ``<svg>`` of some size, the City by name in its
text, a red arrow for the overdue flow, a tooltip per node and per arrow, and nothing fetched
from outside the app.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.factories import CITY
from tests.support import REPO
from tests.support.browser import MARKS, chromium, new_page, serve_app, sign_in
from ui.components import network as drawing

pytestmark = MARKS  # checked before any fixture runs: no chromium, an immediate skip
SCREENSHOT = Path("/tmp/crossforce-network.png")


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


def _city_supervisor(url: str) -> str:
    """The demo's City supervisor (development mode), who may see the Network page."""
    from coordination.core.db import make_engine
    from coordination.security.users import list_demo_accounts

    engine = make_engine(url)
    with Session(engine) as s:
        accounts = list_demo_accounts(s)
    engine.dispose()
    return next(u.username for u in accounts if u.force_code == CITY and u.role == "supervisor")


def test_the_network_is_drawn_with_names(demo_app: tuple[str, str]) -> None:
    from playwright.sync_api import Request, expect

    from coordination.security.users import DEMO_PASSWORD

    app_url, db_url = demo_app
    external: list[str] = []

    def note_external(request: Request) -> None:
        if not request.url.startswith(app_url) and not request.url.startswith(("data:", "blob:")):
            external.append(request.url)

    with chromium() as browser:
        page = new_page(browser, width=1400, height=900)
        page.on("request", note_external)
        page.goto(app_url, wait_until="domcontentloaded")
        sign_in(page, _city_supervisor(db_url), DEMO_PASSWORD)
        page.get_by_role("link", name="Network").click()
        expect(page.get_by_role("heading", name="Network")).to_be_visible()

        # The chart's own <svg>, the one with nodes (not the toolbar's icon).
        svg = page.locator(".st-key-net_drawing [data-testid='stGraphVizChart'] svg")
        svg = svg.filter(has=page.locator("g.node"))
        expect(svg).to_have_count(1)
        svg.scroll_into_view_if_needed()
        city = svg.locator("g.node text", has_text="City of London Police")
        expect(city).to_have_count(1)
        expect(city).to_have_text("City of London Police")
        box = svg.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 300, box
        # Readable: the City's name is drawn at least 12 px high on the screen.
        text_box = city.bounding_box()
        assert text_box is not None and text_box["height"] >= 12, text_box

        # One box per force or BCU and one arrow per flow; the overdue flow is red.
        drawn = svg.evaluate(
            """s => ({
                nodes: s.querySelectorAll('g.node').length,
                edges: s.querySelectorAll('g.edge').length,
                strokes: [...s.querySelectorAll('g.edge path')].map(p => p.getAttribute('stroke')),
                tips: [...s.querySelectorAll('a')].map(a =>
                    a.getAttribute('xlink:title') || a.getAttribute('title') || ''),
                labels: [...s.querySelectorAll('g.node text')].map(t => t.textContent),
            })"""
        )
        assert drawn["nodes"] >= 3 and drawn["edges"] >= 2, drawn
        assert drawing.OVERDUE_EDGE.hex in drawn["strokes"]
        assert drawing.FLOW_EDGE.hex in drawn["strokes"]
        assert not any(label.startswith(("E23", "S23", "N23")) for label in drawn["labels"])
        # Graphviz puts each tooltip on a link around the shape: nodes and arrows alike.
        flows = [t for t in drawn["tips"] if " → " in t and "overdue" in t]
        assert len(flows) >= drawn["edges"], drawn["tips"]
        assert any(t.startswith("City of London Police\nsent: ") for t in drawn["tips"])
        expect(page.get_by_text(drawing.legend())).to_be_visible()
        page.wait_for_timeout(800)  # let the layout's transition settle for the screenshot
        page.screenshot(path=str(SCREENSHOT))
    # Graphviz runs from Streamlit's own bundle: nothing is fetched from outside the app.
    assert external == []
