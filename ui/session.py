"""What one browser session keeps, and calling the services from a page.

Everything per user lives in ``st.session_state`` (per browser tab, never shared between users);
nothing here uses ``st.cache_data`` or ``st.cache_resource``, which every user of the server
shares.

- **Calling a service.** :func:`call` runs a plain function, :func:`run` a service in its own
  database session (committed when it succeeds, rolled back when it fails); both show a failure
  on the page safely: our own errors (``coordination.errors.CrossforceError``) by their one-line
  message, escaped, anything else as :data:`~ui.text.GENERIC_ERROR` with the details in the
  server log. :func:`attempt` hands the message back instead of showing it.
- **The signed-in user.** The username is ``st.session_state[USER_KEY]``, the ``actor`` of every
  service call. The user's record is looked up once per rerun, by the sign-in gate in ``app.py``
  (``ui.components.signin.current_user``), and :func:`signed_in_user` hands that record to
  every helper and page that asks.
- **Seen versions** (optimistic locking): the version of a row as this user first saw it, sent
  with their change so a change made meanwhile by someone else is refused.
- **Flash messages**: what a page says after an action that ends in ``st.rerun()`` ("Case 5
  assigned"), kept for exactly one rerun.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import streamlit as st

from coordination.core.clock import utcnow
from coordination.core.db import get_engine, session_scope
from coordination.errors import CrossforceError
from coordination.models import UserPublic
from coordination.security.users import get_user
from ui.text import GENERIC_ERROR, force_label, md, role_label

T = TypeVar("T")

log = logging.getLogger("crossforce.ui")

USER_KEY = "auth_user"
ACTIVITY_KEY = "auth_last_activity"
METHOD_KEY = "auth_method"
SEEN_KEY = "seen_versions"
# (username, UserPublic or None): the signed-in user as looked up by this rerun.
CURRENT_USER_KEY = "auth_current_user"


# --- calling services ------------------------------------------------------------------------


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Call a function and show any failure on the page.

    Parameters
    ----------
    fn
        The function (``coordination.reference.lookup.lookup`` and friends).
    *args, **kwargs
        Passed to ``fn``.

    Returns
    -------
    The function's answer, or ``None`` after an error has been shown.
    """
    try:
        return fn(*args, **kwargs)
    except CrossforceError as exc:
        # Our own errors carry one-line messages written for the person at the keyboard; they
        # may quote what was typed, so it is escaped rather than rendered as markdown.
        st.error(md(exc))
    except Exception:
        # Anything else may contain internals: the detail goes to the log, never to the page.
        log.exception("unexpected error in %s", getattr(fn, "__name__", fn))
        st.error(GENERIC_ERROR)
    return None


def run(fn: Callable[..., T], /, **kwargs: Any) -> T | None:
    """Call a service function in its own database session; show errors on the page.

    Parameters
    ----------
    fn
        A service function whose first argument is the session.
    **kwargs
        Its keyword arguments.

    Returns
    -------
    The function's answer, or ``None`` after an error has been shown.
    """

    def in_session() -> T:
        with session_scope(get_engine()) as session:
            return fn(session, **kwargs)

    in_session.__name__ = getattr(fn, "__name__", "service")
    return call(in_session)


def attempt(fn: Callable[..., T], /, **kwargs: Any) -> tuple[T | None, str | None]:
    """Like :func:`run`, but hand back a refusal's message instead of showing it.

    For answers a page remembers for the session (a refusal is then audited once, not at every
    click). Unexpected errors are logged and answered with the generic message.

    Returns
    -------
    ``(answer, None)`` on success, ``(None, message)`` on failure.
    """
    try:
        with session_scope(get_engine()) as session:
            return fn(session, **kwargs), None
    except CrossforceError as error:
        return None, str(error)
    except Exception:
        log.exception("unexpected error in %s", getattr(fn, "__name__", fn))
        return None, GENERIC_ERROR


# --- the signed-in user ----------------------------------------------------------------------


def signed_in_username() -> str | None:
    """The username signed in in this browser session, or ``None``."""
    value = st.session_state.get(USER_KEY)
    return value if isinstance(value, str) and value else None


def sign_in_as(username: str, *, method: str = "password", now: datetime | None = None) -> None:
    """Remember a user as signed in (after ``coordination.security.auth`` accepted them).

    Tests call it (or set ``st.session_state[USER_KEY]``) to open a page as a user.
    """
    st.session_state[USER_KEY] = username
    st.session_state[ACTIVITY_KEY] = now or utcnow()
    st.session_state[METHOD_KEY] = method
    st.session_state.pop(CURRENT_USER_KEY, None)


def remember_user(user: UserPublic | None) -> None:
    """Keep the user the sign-in gate looked up in this rerun, for :func:`signed_in_user`."""
    username = signed_in_username()
    if username is None:
        st.session_state.pop(CURRENT_USER_KEY, None)
    else:
        st.session_state[CURRENT_USER_KEY] = (username, user)


def signed_in_user() -> UserPublic | None:
    """The signed-in user's record (``None`` when nobody is signed in).

    In the app the gate looked it up at the top of this rerun (:func:`remember_user`), so this
    costs no query. A page run on its own (as the page tests do) looks it up on first use and
    keeps it until the signed-in username changes.
    """
    username = signed_in_username()
    if username is None:
        return None
    kept = st.session_state.get(CURRENT_USER_KEY)
    if kept is not None and kept[0] == username:
        found: UserPublic | None = kept[1]
        return found
    user = run(get_user, username=username)
    if user is not None:
        st.session_state[CURRENT_USER_KEY] = (username, user)
    return user


def acting_user(force_code: str) -> str | None:
    """The signed-in user, when they belong to ``force_code`` (who acts for that force).

    The actor is whoever is signed in, shown as a caption. A user of another force gets
    ``None`` (the page then offers no actions) with a line saying why; the services check
    permissions again.

    Parameters
    ----------
    force_code
        The force whose queue, caseload or meeting the page shows.
    """
    if signed_in_username() is None:
        st.warning("Sign in to act: actions are unavailable.")
        return None
    user = signed_in_user()
    if user is None:
        return None
    label = f"{user.display_name} ({user.username}, {role_label(user.role)})"
    if user.force_code != force_code:
        st.caption(
            f"Signed in as {md(label)} of {md(force_label(user.force_code))}: actions for "
            f"{md(force_label(force_code))} are for its own users."
        )
        return None
    st.caption(f"Acting as {md(label)}; every action is audited under this user.")
    return user.username


# --- seen versions (optimistic locking from the page) -----------------------------------------


def seen_version(kind: str, ident: int, current: int) -> int:
    """The version of a row as this user first saw it (kept until they act or reload)."""
    seen: dict[str, int] = st.session_state.setdefault(SEEN_KEY, {})
    return seen.setdefault(f"{kind}:{ident}", current)


def forget_version(kind: str, ident: int) -> None:
    """Forget the seen version, so the next run shows (and acts on) the current row."""
    st.session_state.setdefault(SEEN_KEY, {}).pop(f"{kind}:{ident}", None)


# --- flash messages ----------------------------------------------------------------------------


def flash(key: str, lines: Sequence[str]) -> None:
    """Keep success lines to show after the coming ``st.rerun()`` (once, under ``key``)."""
    st.session_state[key] = list(lines)


def show_flash(key: str) -> None:
    """Show, then forget, the lines kept by :func:`flash` under ``key``.

    Every line is escaped for markdown: lines quote what people typed (titles, names, notes) and
    what a loaded pack calls its areas (a move's explanation), so none may format the page.

    Parameters
    ----------
    key
        The page's flash key.
    """
    for line in st.session_state.pop(key, None) or []:
        st.success(md(line))
