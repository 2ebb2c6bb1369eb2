"""The one browser helper: serve the app on a free port, drive Debian's chromium, sign in.

No browser is ever downloaded: Playwright launches the system chromium (``CHROMIUM``), and the
browser tests skip when it is not installed (``MARKS``, checked before any fixture runs).
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
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Seconds the app server may take to answer its health check.
START_TIMEOUT_S = 90
#: Milliseconds one step in the browser may take (the machine running the tests may be busy).
STEP_TIMEOUT_MS = 60_000
#: Every browser test module's ``pytestmark``.
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is not installed (Debian: "
        "apt-get install chromium); no browser to drive",
    ),
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
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
    port = free_port()
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


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, launched by Playwright with the flags above; always closed."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, *, width: int, height: int, **options: Any) -> Page:
    """A new page of this size whose every step waits up to ``STEP_TIMEOUT_MS``."""
    page = browser.new_page(viewport={"width": width, "height": height}, **options)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    return page


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
