"""Every page, signed in as each role's demo account, in a real browser: drawn, and in words.

A small seeded demo is served by ``streamlit run app.py``. For the City's supervisor, a Met
offender manager, an analyst and an administrator, the test opens every page in that account's menu
and checks what is drawn, not only what was sent: the page's heading is visible, no exception
box or traceback is shown, every table, map and graph on it has a real size, nothing is fetched
from outside the machine, and the visible text holds no raw enum codes ("very_high") and no code
printed twice where a name belongs ("E08000003 E08000003").

A full-page screenshot of each is kept in ``test-results/screens/`` (``CROSSFORCE_SCREENSHOTS``
names another folder), so a person can look at what each role sees after a run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.factories import CITY, MET
from tests.support import REPO
from tests.support.browser import MARKS, chromium, new_page, serve_app, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

SHOTS = Path(os.environ.get("CROSSFORCE_SCREENSHOTS", REPO / "test-results" / "screens"))
#: Codes of enums that pages must show in words (coordination.core.wording).
RAW_CODES = re.compile(
    r"\b(very_high|iom_fixed|iom_flex|iom_free|sexual_child|sexual_adult|violence_serious|"
    r"offender_manager|burglary_domestic|not_reached|address_check)\b"
)
#: An ONS code printed twice in a row: a name fell back to its code.
CODE_TWICE = re.compile(r"\b([ENSWLM]\d{8})\W+\1\b")
#: What is drawn: data tables (a canvas grid), deck.gl maps, Graphviz and Vega charts.
DRAWN = (
    '[data-testid="stDataFrame"], [data-testid="stDeckGlJsonChart"], '
    '[data-testid="stGraphVizChart"] svg, [data-testid="stVegaLiteChart"]'
)

pytestmark = MARKS  # checked before any fixture runs: no chromium, an immediate skip


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A demo database (init + 60 offenders) served by the app; yields the URL and accounts."""
    pytest.importorskip("playwright.sync_api")
    folder = tmp_path_factory.mktemp("tour")
    url = f"sqlite:///{folder / 'crossforce.db'}"
    env = {**os.environ, "CROSSFORCE_DATABASE_URL": url, "CROSSFORCE_USER": "pytest"}
    cli = [sys.executable, "-m", "coordination.cli"]
    for args in (["init"], ["demo", "--offenders", "60", "--seed", "3"]):
        subprocess.run([*cli, *args], cwd=REPO, env=env, check=True, capture_output=True)
    with serve_app(env, folder / "streamlit.log") as base_url:
        yield base_url, _accounts(url)


def _accounts(url: str) -> dict[str, str]:
    """One demo account for each role to tour with: label -> username."""
    from coordination.core.db import make_engine, session_scope
    from coordination.security.users import list_demo_accounts

    engine = make_engine(url)
    with session_scope(engine) as s:
        users = list_demo_accounts(s)
        wanted = {
            "city-supervisor": (CITY, "supervisor"),
            "met-offender-manager": (MET, "offender_manager"),
            "analyst": (None, "analyst"),
            "admin": (None, "admin"),
        }
        found = {}
        for label, (force, role) in wanted.items():
            found[label] = next(
                u.username
                for u in users
                if u.role == role and (force is None or u.force_code == force)
            )
    engine.dispose()
    return found


def _menu(page: Page) -> list[str]:
    """The page titles in the signed-in sidebar's menu, in order."""
    links = page.locator('[data-testid="stSidebarNav"] a')
    return [t.strip() for t in links.all_inner_texts() if t.strip()]


def _look(page: Page, title: str) -> list[str]:
    """What is wrong with the page on screen now (empty: nothing)."""
    from playwright.sync_api import expect

    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_role("heading", name=title, exact=True).first).to_be_visible()
    page.wait_for_timeout(1500)  # let tables, maps and graphs draw their first frame
    wrong = []
    if page.locator('[data-testid="stException"]').count():
        wrong.append("an exception box is shown")
    text = main.inner_text()
    if "Traceback" in text or "unexpected error" in text.lower():
        wrong.append("a traceback or an unexpected error is shown")
    for raw in sorted(set(RAW_CODES.findall(text))):
        wrong.append(f"raw code {raw!r} shown")
    for twice in sorted(set(CODE_TWICE.findall(text))):
        wrong.append(f"code {twice} shown twice (no name)")
    for element in page.locator(DRAWN).all():
        if not element.is_visible():
            continue  # on a tab not open
        box = element.bounding_box()
        if box is None or box["width"] < 100 or box["height"] < 40:
            wrong.append(f"a drawn element is {box and (box['width'], box['height'])} px")
    return wrong


@pytest.mark.parametrize("who", ["city-supervisor", "met-offender-manager", "analyst", "admin"])
def test_every_page_is_drawn_in_words(demo_app: tuple[str, dict[str, str]], who: str) -> None:
    from coordination.security.users import DEMO_PASSWORD

    base, accounts = demo_app
    outside: list[str] = []
    problems: dict[str, list[str]] = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        # Tall: Streamlit scrolls inside its own container, so a screenshot shows the viewport.
        page = new_page(browser, width=1400, height=2000)
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else outside.append(r.url)
            ),
        )
        page.goto(base, wait_until="domcontentloaded")
        sign_in(page, accounts[who], DEMO_PASSWORD)
        titles = _menu(page)
        assert "Boundary lookup" in titles
        for title in titles:
            page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
            wrong = _look(page, title)
            name = re.sub(r"\W+", "-", title.lower())
            page.screenshot(path=str(SHOTS / f"{who}-{name}.png"), full_page=True)
            if wrong:
                problems[title] = wrong
    assert problems == {}
    assert outside == []
