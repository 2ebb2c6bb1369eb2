"""Sign-in for the app: the form, the sidebar, sign-out, idle sign-out, single sign-on.

``app.py`` calls :func:`current_user` before the navigation and :func:`require_sign_in` when
nobody is signed in: then only the sign-in form is shown and the script stops there. The
signed-in username lives in ``st.session_state`` (``ui.session``) and is the ``actor`` of every
service call. Every rerun — every click — checks the time of the previous one: after
``idle_signout_minutes`` without one, the user is signed out.

Single sign-on (Streamlit's ``st.login``) is offered only when ``CROSSFORCE_OIDC_ENABLED`` is set
and ``.streamlit/secrets.toml`` has an ``[auth]`` section; the provider's verified email is mapped
to a crossforce user by ``coordination.security.auth.sign_in_external``.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from coordination.core.clock import utcnow
from coordination.core.db import get_engine, session_scope
from coordination.core.settings import get_settings
from coordination.core.wording import role_label as role_words
from coordination.errors import CrossforceError
from coordination.models import UserPublic
from coordination.security import auth
from coordination.security.demo_listing import demo_account_lines
from coordination.security.users import get_user
from geo.forces import MET_BCUS
from ui.session import (
    ACTIVITY_KEY,
    METHOD_KEY,
    remember_user,
    sign_in_as,
    signed_in_username,
)
from ui.text import FORCES, GENERIC_ERROR, code, md

log = logging.getLogger("crossforce.ui")

NOTICE_KEY = "auth_notice"
OIDC_FAILED_KEY = "auth_oidc_failed"
LOCKED_PREFIX = "Account locked"
USERNAME_KEY = "signin_username"
PASSPHRASE_FIELD = "signin_password"  # noqa: S105 - the widget key, not a password
#: A refused attempt, ``(kind, message)``, kept from the button's callback for the form to show.
REFUSAL_KEY = "signin_refusal"
MET_BCU_NAMES: dict[str, str] = dict(MET_BCUS.values())


def sign_out(*, reason: str = "user") -> None:
    """Forget the signed-in user and everything this session kept for them, and audit it.

    Parameters
    ----------
    reason
        ``user`` (the Sign out button), ``idle`` (idle sign-out) or ``inactive`` (the account
        was deactivated meanwhile).
    """
    username = signed_in_username()
    method = st.session_state.get(METHOD_KEY)
    if username is not None:
        _in_session(auth.record_sign_out, username=username, reason=reason)
    # Everything kept per session may hold what the user saw (versions, chosen cases, the
    # justifications given): none of it may outlive the sign-in.
    for key in list(st.session_state):
        del st.session_state[key]
    if reason == "idle":
        minutes = get_settings().idle_signout_minutes
        st.session_state[NOTICE_KEY] = f"Signed out after {minutes} minutes without activity."
    if method == "oidc" and _oidc_logged_in():
        # Otherwise the provider's cookie would sign the same person straight back in.
        st.logout()


def current_user() -> UserPublic | None:
    """The signed-in user after the idle check, shown in the sidebar; ``None`` if nobody.

    Call once per run, at the top of ``app.py``: this is the rerun's one lookup of the user,
    kept for the pages (``ui.session.signed_in_user``). A session idle for
    ``idle_signout_minutes`` is signed out here, as is one whose account was deactivated
    meanwhile.
    """
    settings = get_settings()
    now = utcnow()
    username = signed_in_username()
    if username is None:
        return None
    last = st.session_state.get(ACTIVITY_KEY)
    if auth.session_expired(last or now, now, settings.idle_signout_minutes):
        sign_out(reason="idle")
        return None
    st.session_state[ACTIVITY_KEY] = now
    user = _in_session(get_user, username=username)
    if user is None or not user.active:
        sign_out(reason="inactive")
        return None
    remember_user(user)
    sidebar(user)
    return user


def require_sign_in() -> None:
    """Sign in through single sign-on if it has identified someone, else show the form; stop."""
    oidc_pending = _oidc_logged_in() and not st.session_state.get(OIDC_FAILED_KEY)
    if _oidc_configured() and oidc_pending and _oidc_sign_in() is not None:
        st.rerun()
    sign_in_form()
    st.stop()


def gate() -> UserPublic | None:
    """:func:`current_user`, or the sign-in form and a stop when nobody is signed in."""
    user = current_user()
    if user is None:
        require_sign_in()
    return user


def sign_in_form() -> None:
    """The sign-in form: username, password, "Sign in"; single sign-on when configured.

    A refused attempt keeps the username typed and clears only the password (the form is not
    cleared on submit: :func:`_on_submit` empties the password itself, before the rerun).
    """
    st.title("crossforce")
    st.subheader("Sign in")
    notice = st.session_state.get(NOTICE_KEY)
    if notice:
        st.info(notice)
    with st.form("signin", clear_on_submit=False):
        st.text_input("Username", key=USERNAME_KEY, autocomplete="username")
        st.text_input(
            "Password", type="password", key=PASSPHRASE_FIELD, autocomplete="current-password"
        )
        st.form_submit_button("Sign in", type="primary", key="signin_submit", on_click=_on_submit)
    refusal = st.session_state.pop(REFUSAL_KEY, None)
    if refusal is not None:
        kind, message = refusal
        if kind == "locked":
            st.warning(
                f"{md(message)}. Too many wrong passwords: try again then, or ask an "
                "administrator to reset your password.",
                icon=":material/lock:",
            )
        else:
            st.error(message)
    if _oidc_configured():
        st.divider()
        if st.session_state.get(OIDC_FAILED_KEY):
            st.error(md(st.session_state[OIDC_FAILED_KEY]))
            if st.button("Sign out of your organisation account", key="signin_oidc_logout"):
                st.session_state.pop(OIDC_FAILED_KEY, None)
                st.logout()
        elif st.button("Sign in with your organisation", key="signin_oidc"):
            provider = get_settings().oidc_provider
            if provider:
                st.login(provider)
            else:
                st.login()
    _demo_accounts()
    st.caption(
        "Personal data about offenders, for law enforcement: every sign-in and every record "
        "opened is logged."
    )


def _on_submit() -> None:
    """The "Sign in" button's callback: runs before the rerun, so it may empty the password."""
    username = str(st.session_state.get(USERNAME_KEY) or "")
    password = str(st.session_state.get(PASSPHRASE_FIELD) or "")
    # The password never outlives the attempt, right or wrong; the username stays for a retry.
    st.session_state[PASSPHRASE_FIELD] = ""
    refusal = _password_sign_in(username, password)
    if refusal is None:
        st.session_state.pop(USERNAME_KEY, None)
    else:
        st.session_state[REFUSAL_KEY] = refusal


def _password_sign_in(username: str, password: str) -> tuple[str, str] | None:
    """Sign in with a password; ``None`` when signed in, else ``(kind, safe message)``."""
    if not username.strip() or not password:
        return ("error", "Type your username and your password.")
    try:
        with session_scope(get_engine()) as session:
            user = auth.authenticate(session, username=username, password=password)
    except CrossforceError as error:
        message = str(error)
        if message.startswith(LOCKED_PREFIX):
            return ("locked", message)
        return ("error", md(message))
    except Exception:
        log.exception("unexpected error while signing in")
        return ("error", GENERIC_ERROR)
    sign_in_as(user.username)
    return None


def _demo_accounts() -> None:
    """In development, the synthetic demo accounts by force and role in words (no password)."""
    if get_settings().env != "development":
        return
    accounts = _in_session(demo_account_lines)
    if not accounts:
        return
    with st.expander("Demo accounts (development only, synthetic users)"):
        st.caption("They share the demo password that `crossforce users demo-accounts` prints.")
        st.dataframe(
            [
                {
                    "username": a.username,
                    "name": a.display_name,
                    "role": a.role,
                    "force": a.force,
                    "BCU": a.bcu or "",
                }
                for a in accounts
            ],
            hide_index=True,
            key="signin_demo_accounts",
        )


def sidebar(user: UserPublic) -> None:
    """Who is signed in (name, username, role, force) and the "Sign out" button."""
    with st.sidebar:
        # The force and role by name: people know "City of London Police", not E23000034.
        where = FORCES.get(user.force_code, user.force_code)
        if user.bcu_code:
            where += f", {MET_BCU_NAMES.get(user.bcu_code, user.bcu_code)} BCU"
        st.markdown(
            f"Signed in as **{md(user.display_name)}**  \n"
            f"{code(user.username)} · {md(role_words(user.role))} · {md(where)}"
        )
        if st.button("Sign out", key="auth_sign_out"):
            sign_out(reason="user")
            st.rerun()


# --- single sign-on ----------------------------------------------------------------------------


def _oidc_configured() -> bool:
    if not get_settings().oidc_enabled:
        return False
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: single sign-on is simply off
        return False


def _oidc_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:  # noqa: BLE001 - no [auth] section: nobody is signed in through it
        return False


def _oidc_sign_in() -> UserPublic | None:
    claims: dict[str, Any] = dict(st.user.to_dict())
    provider = get_settings().oidc_provider or "default"
    try:
        with session_scope(get_engine()) as session:
            user = auth.sign_in_external(session, claims=claims, provider=provider)
    except CrossforceError as error:
        st.session_state[OIDC_FAILED_KEY] = str(error)
        return None
    sign_in_as(user.username, method="oidc")
    return user


def _in_session(fn: Any, /, **kwargs: Any) -> Any:
    """Call a service in its own session; a failure is logged and answers ``None``."""
    try:
        with session_scope(get_engine()) as session:
            return fn(session, **kwargs)
    except Exception:
        log.exception("auth bookkeeping failed in %s", getattr(fn, "__name__", fn))
        return None
