"""The one AppTest helper: run a page (or ``app.py``) headless, signed in, and read what it shows.

Widgets are found by key (``widget``, or AppTest's own ``at.selectbox(key=...)``); the few
things Streamlit gives no key (tables, tabs, a form's submit button) by what they show
(``table``, ``tab``, ``button``), never by position.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.support import REPO
from ui.session import ACTIVITY_KEY, USER_KEY
from ui.text import WORD_JOINER

__all__ = [
    "ACTIVITY_KEY",
    "APP",
    "TIMEOUT",
    "USER_KEY",
    "as_read",
    "button",
    "ok",
    "page",
    "page_path",
    "successes",
    "tab",
    "table",
    "widget",
]

#: Seconds one run of a page may take (the machine running the tests may be busy).
TIMEOUT = 60
#: The whole app: the sign-in gate and the navigation.
APP = REPO / "app.py"


def page_path(name: str) -> Path:
    """The script of one page, ``ui/pages/<name>.py``."""
    candidate = REPO / "ui" / "pages" / f"{name}.py"
    if not candidate.is_file():
        raise FileNotFoundError(f"no page {name!r} under {REPO / 'ui' / 'pages'}")
    return candidate


def page(
    name: str | Path,
    *,
    user: str | None = None,
    query: dict[str, str] | None = None,
    run: bool = True,
) -> AppTest:
    """An AppTest of a page (by name, or a script path such as ``APP``).

    ``user`` is signed in (their username in the session, as the sign-in form leaves it);
    ``query`` is the page's query string. With ``run`` (the default) the page has run once.
    """
    path = name if isinstance(name, Path) else page_path(name)
    at = AppTest.from_file(str(path), default_timeout=TIMEOUT)
    if user is not None:
        at.session_state[USER_KEY] = user
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run() if run else at


def ok(at: AppTest, *, errors: bool = True) -> None:
    """Assert the last run raised nothing and, with ``errors``, showed no error either."""
    assert not at.exception, [e.value for e in at.exception]
    if errors:
        assert not at.error, [e.value for e in at.error]


def widget(at: AppTest, key: str) -> Any:
    """The one widget (or element, or container) with this key, whatever its type."""
    return at.get_by_key(key)


def table(at: Any, *columns: str, without: str | None = None) -> Any:
    """The one table shown with all these columns (and not ``without``): its DataFrame.

    ``at`` is the AppTest, or a part of its page such as a tab.
    """
    found = [
        d.value
        for d in at.dataframe
        if set(columns) <= set(d.value.columns) and without not in d.value.columns
    ]
    assert len(found) == 1, (columns, [list(d.value.columns) for d in at.dataframe])
    return found[0]


def tab(at: AppTest, label: str) -> Any:
    """The one tab with this label."""
    found = [t for t in at.tabs if t.label == label]
    assert len(found) == 1, label
    return found[0]


def button(at: AppTest, label: str) -> Any:
    """The one button with this label (for buttons that have no key)."""
    found = [b for b in at.button if b.label == label]
    assert len(found) == 1, (label, [b.label for b in at.button])
    return found[0]


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def as_read(markdown: str) -> str:
    """Markdown escaped by ``ui.text.md`` as people read it: escapes and word joiners removed."""
    return _ESCAPED.sub(r"\1", markdown).replace(WORD_JOINER, "")


def successes(at: AppTest) -> list[str]:
    """Success messages as people read them (markdown escapes removed)."""
    return [as_read(s.value) for s in at.success]
