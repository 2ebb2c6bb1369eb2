"""The running app in a real browser: Debian's chromium driven by Playwright.

Starts ``streamlit run app.py`` on a free port against the initialised test database, types two
postcodes and checks the answers on screen. No browser download ever happens: the system chromium
is used, or the test skips.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    # Checked before any fixture runs, so a machine without a browser skips at once.
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is not installed (Debian: "
        "apt-get install chromium); no browser to drive",
    ),
]
SCREENSHOT = Path("/tmp/crossforce-lookup.png")
START_TIMEOUT_S = 90
STEP_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


BROWSER_USER = "bea.browser"
BROWSER_PASSWORD = "browser test passphrase"


def ensure_password(
    username: str,
    password: str,
    *,
    url: str | None = None,
    force_code: str = "E23000034",
    role: str = "supervisor",
) -> None:
    """Make sure ``username`` exists and signs in with ``password`` (any lock-out cleared)."""
    from sqlmodel import select

    from coordination.core.db import get_engine, session_scope
    from coordination.models import User, UserCreate
    from coordination.security.auth import set_password
    from coordination.security.users import create_user

    with session_scope(get_engine(url)) as session:
        if session.exec(select(User).where(User.username == username)).first() is None:
            data = UserCreate.model_validate(
                {
                    "username": username,
                    "display_name": username.replace(".", " ").title(),
                    "force_code": force_code,
                    "role": role,
                }
            )
            create_user(session, actor="pytest", data=data)
        set_password(session, actor="pytest", username=username, password=password)


def sign_in(page: object, username: str, password: str) -> None:
    """Sign in through the app's sign-in form and wait for the signed-in sidebar."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local http
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"streamlit did not become healthy within {timeout_s:.0f} s")


@contextlib.contextmanager
def serve_app(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free local port; yield its URL; always stop it."""
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                # A reload on a source change re-imports the SQLModel tables, which fails; tests
                # must not depend on whether someone edits the tree meanwhile.
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", process, START_TIMEOUT_S)
            yield f"http://127.0.0.1:{port}/"
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@pytest.fixture
def app_url(app_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Serve the app on a free local port for the duration of one test."""
    pytest.importorskip("playwright.sync_api")
    with serve_app(app_env, tmp_path / "streamlit.log") as url:
        yield url


def test_lookup_in_the_browser(app_url: str) -> None:
    from playwright.sync_api import Request, expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    ensure_password(BROWSER_USER, BROWSER_PASSWORD)
    external: list[str] = []

    def note_external(request: Request) -> None:
        if not request.url.startswith(app_url) and not request.url.startswith(("data:", "blob:")):
            external.append(request.url)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.on("request", note_external)
            page.goto(app_url, wait_until="domcontentloaded")
            sign_in(page, BROWSER_USER, BROWSER_PASSWORD)
            box = page.get_by_label("Postcode or coordinates")
            box.fill("EC2V 7HH")
            box.press("Enter")
            expect(page.get_by_role("heading", name="City of London Police")).to_be_visible()
            expect(page.get_by_text("City of London", exact=False).first).to_be_visible()
            # The map canvas and its attribution are drawn under the answer.
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
            chart = page.locator(".st-key-map")
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
        finally:
            browser.close()
    # The app works offline: the page, its scripts and the map never reach outside the server.
    assert external == []
