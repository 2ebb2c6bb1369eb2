"""The sign-in gate of ``app.py``, run headless with AppTest against the initialised test database.

Nobody signed in sees only the sign-in form; a wrong password is refused with the same message as
an unknown user; the right one shows the app with the user and a "Sign out" button in the
sidebar; an idle session is signed out; five failures lock the account.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select
from streamlit.testing.v1 import AppTest

from coordination.core.clock import utcnow
from coordination.core.db import get_engine, session_scope
from coordination.models import AuditEvent, User, UserCreate
from coordination.security import auth
from coordination.security.users import create_user
from tests.support import apptest
from tests.support.apptest import ACTIVITY_KEY, USER_KEY

USERNAME = "sam.signin"
PASSWORD = "a long enough passphrase"


@pytest.fixture
def signin_env(app_env: dict[str, str]) -> Iterator[str]:
    """The app database with a City supervisor whose password is set (lock-out cleared)."""
    with session_scope(get_engine()) as session:
        if session.exec(select(User).where(User.username == USERNAME)).first() is None:
            create_user(
                session,
                actor="pytest",
                data=UserCreate(
                    username=USERNAME,
                    display_name="Sam Signin",
                    force_code="E23000034",
                    role="supervisor",
                ),
            )
        # Setting the password clears any lock-out left by another test.
        auth.set_password(session, actor="pytest", username=USERNAME, password=PASSWORD)
    yield USERNAME


def _app() -> AppTest:
    at = apptest.page(apptest.APP)
    apptest.ok(at, errors=False)
    return at


def _sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    apptest.button(at, "Sign in").click().run()  # the form's submit button has no key
    apptest.ok(at, errors=False)
    return at


def _shows_sign_in_form_only(at: AppTest) -> None:
    assert [s.value for s in at.subheader] == ["Sign in"]
    assert {t.key for t in at.text_input} == {"signin_username", "signin_password"}
    assert at.text_input(key="signin_password").proto.type == 1  # PASSWORD
    assert [b.label for b in at.button] == ["Sign in"]  # no single sign-on unless configured
    assert USER_KEY not in at.session_state
    assert not at.sidebar.button


def _last_auth_event(username: str) -> AuditEvent:
    with Session(get_engine()) as session:
        event = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action).startswith("auth."))
            .order_by(col(AuditEvent.id).desc())
        ).first()
        assert event is not None
        return event


def test_nobody_signed_in_sees_only_the_form(signin_env: str) -> None:
    at = _app()
    _shows_sign_in_form_only(at)
    assert not at.title or [t.value for t in at.title] == ["crossforce"]


def test_wrong_password_is_refused_and_the_right_one_shows_the_app(signin_env: str) -> None:
    at = _app()
    _sign_in(at, USERNAME, "not the password at all")
    assert [e.value for e in at.error] == ["Wrong username or password"]
    _shows_sign_in_form_only(at)
    assert _last_auth_event(USERNAME).action == "auth.failure"

    _sign_in(at, "nobody.here", PASSWORD)
    assert [e.value for e in at.error] == ["Wrong username or password"]

    _sign_in(at, USERNAME.upper(), PASSWORD)
    assert not at.error
    assert at.session_state[USER_KEY] == USERNAME
    # The app: the default page (Boundary lookup), and who is signed in in the sidebar.
    assert "Boundary lookup" in [t.value for t in at.title]
    assert any("Sam Signin" in m.value for m in at.sidebar.markdown)
    # The role and force in words, not their codes.
    (who,) = [apptest.as_read(m.value) for m in at.sidebar.markdown if "Sam Signin" in m.value]
    assert who.endswith("Supervisor · City of London Police"), who
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    assert _last_auth_event(USERNAME).action == "auth.success"

    at.sidebar.button(key="auth_sign_out").click().run()
    apptest.ok(at, errors=False)
    _shows_sign_in_form_only(at)
    assert _last_auth_event(USERNAME).action == "auth.sign_out"


def test_a_wrong_password_keeps_the_username_and_clears_the_password(signin_env: str) -> None:
    at = _app()
    _sign_in(at, USERNAME, "not the password at all")
    assert [e.value for e in at.error] == ["Wrong username or password"]
    assert at.text_input(key="signin_username").value == USERNAME
    assert at.text_input(key="signin_password").value == ""
    assert at.session_state["signin_password"] == ""

    # The retry needs only the password; the error does not linger once it is right.
    at.text_input(key="signin_password").input(PASSWORD)
    apptest.button(at, "Sign in").click().run()
    apptest.ok(at)
    assert at.session_state[USER_KEY] == USERNAME
    assert "signin_password" not in at.session_state or at.session_state["signin_password"] == ""

    # No password at all: asked for both, the username still kept.
    at.sidebar.button(key="auth_sign_out").click().run()
    _sign_in(at, USERNAME, "")
    assert [e.value for e in at.error] == ["Type your username and your password."]
    assert at.text_input(key="signin_username").value == USERNAME


def test_an_idle_session_is_signed_out(signin_env: str) -> None:
    at = apptest.page(apptest.APP, user=USERNAME, run=False)
    at.session_state[ACTIVITY_KEY] = utcnow() - timedelta(minutes=29)
    at.run()
    apptest.ok(at, errors=False)
    assert "Boundary lookup" in [t.value for t in at.title]  # 29 minutes idle: still in

    at.session_state[ACTIVITY_KEY] = utcnow() - timedelta(minutes=30, seconds=5)
    at.run()
    apptest.ok(at, errors=False)
    _shows_sign_in_form_only(at)
    assert [i.value for i in at.info] == ["Signed out after 30 minutes without activity."]
    event = _last_auth_event(USERNAME)
    assert (event.action, event.details) == ("auth.sign_out", {"reason": "idle"})


def test_five_wrong_passwords_lock_the_account(signin_env: str) -> None:
    at = _app()
    for n in range(4):
        _sign_in(at, USERNAME, f"wrong password {n}")
        assert [e.value for e in at.error] == ["Wrong username or password"]
    _sign_in(at, USERNAME, "wrong password 5")
    assert not at.error
    (warning,) = at.warning
    assert warning.value.startswith("Account locked until ")
    # Even the right password is refused while locked.
    _sign_in(at, USERNAME, PASSWORD)
    assert at.warning and at.warning[0].value.startswith("Account locked until ")
    assert USER_KEY not in at.session_state


def test_the_demo_accounts_name_their_force_and_role(private_app_env: str) -> None:
    from coordination.security.users import DEMO_PASSWORD, mark_demo_account

    with session_scope(get_engine()) as session:
        for data in (
            UserCreate(username="cy.demo", display_name="Cy", force_code="E23000034", role="admin"),
            UserCreate(
                username="mo.demo",
                display_name="Mo",
                force_code="E23000001",
                role="offender_manager",
            ),
        ):
            create_user(session, actor="pytest", data=data)
            mark_demo_account(session, actor="pytest", username=data.username)
    at = _app()
    table = apptest.table(at, "username", "force")
    rows = table.set_index("username")[["role", "force"]].to_dict("index")
    assert rows == {
        "mo.demo": {"role": "Offender manager", "force": "Metropolitan Police Service"},
        "cy.demo": {"role": "Administrator", "force": "City of London Police"},
    }
    # The demo password is not on the page (the terminal prints it).
    assert not any(DEMO_PASSWORD in m.value for m in [*at.markdown, *at.caption])
