"""The menu per role: ``app.py`` run headless with AppTest on a small seeded demo.

For each role a demo account signs in through the form; the sidebar navigation must list exactly
the pages the permission table lets that role use, and each of them must open for that role
showing what the services say. A page the role may not use is not registered at all (a link to
it opens the default page), and the page itself still refuses when run some other way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import streamlit
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from coordination.audit.reader import search_events
from coordination.caseload.queries import caseload
from coordination.core.clock import london_today
from coordination.core.db import get_engine
from coordination.handoffs import workflow as handoffs
from coordination.handoffs.network import network_overview
from coordination.models import User, UserPublic
from coordination.review.meetings import list_meetings
from coordination.security.users import DEMO_PASSWORD, list_demo_accounts
from tests.support import REPO, apptest
from ui.components.review import default_meeting
from ui.session import USER_KEY

APP = str(REPO / "app.py")
PAGES = REPO / "ui" / "pages"
TIMEOUT = 60
CITY = "E23000034"

CASES = ["Caseload", "Handoffs", "Network", "Joint review"]
BOUNDARIES = ["Boundary lookup", "Reference data"]
# What each role sees in the sidebar, section by section (the permission table, read by people).
MENUS: dict[str, dict[str, list[str]]] = {
    "offender_manager": {"Cases": CASES, "Boundaries": BOUNDARIES},
    "supervisor": {"Cases": CASES, "Boundaries": BOUNDARIES},
    "analyst": {"Cases": ["Caseload", "Network"], "Boundaries": BOUNDARIES},
    "admin": {"Boundaries": BOUNDARIES, "Admin": ["Audit log"]},
}
SCRIPTS = {
    "Caseload": "caseload.py",
    "Handoffs": "handoffs.py",
    "Network": "network.py",
    "Joint review": "joint_review.py",
    "Boundary lookup": "boundary_lookup.py",
    "Reference data": "reference_data.py",
    "Audit log": "audit.py",
}


@pytest.fixture
def menus(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, list[str]], str]]:
    """Every menu ``app.py`` hands to ``st.navigation``: titles by section, and the position."""
    seen: list[tuple[dict[str, list[str]], str]] = []
    real = streamlit.navigation

    def spy(pages: Any, *, position: Any = "sidebar", expanded: Any = False) -> Any:
        seen.append(({s: [p.title for p in ps] for s, ps in pages.items()}, position))
        return real(pages, position=position, expanded=expanded)

    monkeypatch.setattr(streamlit, "navigation", spy)
    return seen


def _account(role: str) -> UserPublic:
    """The City's demo account of this role (they share the demo password)."""
    with Session(get_engine()) as s:
        accounts = list_demo_accounts(s)
    return next(u for u in accounts if u.role == role and u.force_code == CITY)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _sign_in(username: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _ok(at)
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(DEMO_PASSWORD)
    at.button(key="signin_submit").click().run()
    _ok(at)
    assert at.session_state[USER_KEY] == username
    return at


def _table(at: AppTest, *columns: str) -> Any:
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert len(found) == 1, (columns, [list(d.value.columns) for d in at.dataframe])
    return found[0]


# --- what each page shows, compared with what the services say ---------------------------------


def _shows_boundary_lookup(at: AppTest, user: UserPublic) -> None:
    assert [t.label for t in at.tabs] == ["Single lookup", "Batch"]
    assert at.text_input(key="query").value == ""
    assert any("Synthetic demo data" in i.value for i in at.info)  # said by app.py


def _shows_reference_data(at: AppTest, user: UserPublic) -> None:
    (active,) = [s.value for s in at.success]
    assert active.startswith("Active boundary set: ")
    assert int(_table(at, "active", "vintage")["active"].sum()) == 1


def _shows_caseload(at: AppTest, user: UserPublic) -> None:
    assert any("Synthetic demo data" in i.value for i in at.info)
    with Session(get_engine()) as s:
        expected = caseload(s, force_code=CITY, status="open", limit=500, actor=user.username)
    assert [m.value for m in at.metric if m.label == "Cases"] == [f"{expected.total:,}"]
    if user.role == "analyst":
        table = _table(at, "person", "lives in")
        assert {"name", "PNC ID", "postcode"}.isdisjoint(table.columns)
        assert list(table["case"]) == [r.case_pseudonym for r in expected.rows]
    else:
        assert list(_table(at, "PNC ID", "lives in")["case"]) == [r.case_id for r in expected.rows]


def _shows_handoffs(at: AppTest, user: UserPublic) -> None:
    assert at.selectbox(key="ho_force").value == CITY
    with Session(get_engine()) as s:
        queues = {
            d: handoffs.list_handoffs(
                s, force_code=CITY, direction=d, state="open", actor=user.username
            )
            for d in ("incoming", "outgoing")
        }
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Outgoing overdue"] == str(sum(v.overdue for v in queues["outgoing"]))
    assert metrics["Incoming overdue"] == str(sum(v.overdue for v in queues["incoming"]))
    assert any(f"Acting as {user.display_name}" in c.value for c in at.caption)


def _shows_network(at: AppTest, user: UserPublic) -> None:
    today = london_today()
    with Session(get_engine()) as s:
        overview = network_overview(
            s, start=today - timedelta(days=365), end=today, actor=user.username
        )
    flows = [list(d.value["to"]) for d in at.dataframe if "median days to accept" in d.value]
    assert flows == [
        [f.target_name for f in overview.largest],
        [f.target_name for f in overview.bottlenecks],
    ]
    (chart,) = at.get_by_key("net_drawing").get("graphviz_chart")
    assert chart.proto.spec.count(" -> ") == overview.graph.number_of_edges()
    movers = _table(at, "transfers")
    assert list(movers["case"]) == [m.case_id for m in overview.movers]


def _shows_joint_review(at: AppTest, user: UserPublic) -> None:
    # A first visit opens the next planned meeting, else the latest; none: planning one.
    with Session(get_engine()) as s:
        expected = default_meeting(list_meetings(s, actor=user.username), london_today())
    assert at.selectbox(key="jr_meeting").value == expected
    if expected is None:
        assert at.multiselect(key="jr_new_forces").value == [CITY, "E23000001"]
    assert any(f"Acting as {user.display_name}" in c.value for c in at.caption)


def _shows_audit_log(at: AppTest, user: UserPublic) -> None:
    with Session(get_engine()) as s:
        expected = search_events(s, actor=user.username, limit=200)
    assert list(_table(at, "justification")["id"]) == [r.id for r in expected]


SHOWS: dict[str, Callable[[AppTest, UserPublic], None]] = {
    "Boundary lookup": _shows_boundary_lookup,
    "Reference data": _shows_reference_data,
    "Caseload": _shows_caseload,
    "Handoffs": _shows_handoffs,
    "Network": _shows_network,
    "Joint review": _shows_joint_review,
    "Audit log": _shows_audit_log,
}


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_env")
@pytest.mark.parametrize("role", sorted(MENUS))
def test_each_role_sees_exactly_its_pages_and_each_opens(
    role: str, menus: list[tuple[dict[str, list[str]], str]]
) -> None:
    user = _account(role)
    at = _sign_in(user.username)
    # Signed in: the menu in the sidebar is exactly the role's pages, in their sections.
    assert menus[-1] == (MENUS[role], "sidebar")
    # The default page opens first.
    assert [t.value for t in at.title] == ["Boundary lookup"]
    listed = [title for titles in MENUS[role].values() for title in titles]
    for title in listed:
        at.switch_page(f"ui/pages/{SCRIPTS[title]}").run()
        _ok(at)
        assert [t.value for t in at.title] == [title], title
        SHOWS[title](at, user)
        assert menus[-1] == (MENUS[role], "sidebar")  # the same menu on every page
    # A page the role may not use is not in the app at all for them.
    for title in sorted(set(SCRIPTS) - set(listed)):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"ui/pages/{SCRIPTS[title]}")


@pytest.mark.usefixtures("demo_env")
def test_before_sign_in_the_menu_is_hidden(menus: list[tuple[dict[str, list[str]], str]]) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _ok(at)
    titles = [t for titles in menus[-1][0].values() for t in titles]
    assert menus[-1][1] == "hidden"
    assert sorted(titles) == sorted(SCRIPTS)  # every page, so a link survives the sign-in
    assert [s.value for s in at.subheader] == ["Sign in"]


@pytest.mark.usefixtures("demo_env")
def test_a_link_to_a_page_the_role_may_not_use_opens_the_default_page() -> None:
    """A supervisor following a link to the audit log gets the default page, and no log."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("ui/pages/audit.py")  # the link, opened before signing in
    at.session_state[USER_KEY] = _account("supervisor").username
    at.run()
    _ok(at)
    assert [t.value for t in at.title] == ["Boundary lookup"]
    assert not [d for d in at.dataframe if "justification" in d.value.columns]

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("ui/pages/audit.py")
    at.session_state[USER_KEY] = _account("admin").username
    at.run()
    _ok(at)
    assert [t.value for t in at.title] == ["Audit log"]  # the admin's link still works


@pytest.mark.usefixtures("demo_env")
def test_pages_run_another_way_still_refuse() -> None:
    """Run on its own (no menu), a page refuses a role that may not use it, with a fixed line."""
    at = AppTest.from_file(str(PAGES / "caseload.py"), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = _account("admin").username
    at.run()
    assert not at.exception
    assert [i.value for i in at.info if "do not see" in i.value] == [
        "As an admin you do not see this page. "
        "Cases are for offender managers, supervisors and analysts."
    ]
    assert not at.metric and not at.dataframe

    at = AppTest.from_file(str(PAGES / "joint_review.py"), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = _account("analyst").username
    at.run()
    assert not at.exception
    assert any(
        i.value.startswith("As an analyst you do not see this page. Joint reviews are for")
        for i in at.info
    )
    assert not at.selectbox

    at = AppTest.from_file(str(PAGES / "audit.py"), default_timeout=TIMEOUT)
    at.session_state[USER_KEY] = _account("supervisor").username
    at.run()
    assert not at.exception
    assert any(apptest.as_read(e.value).startswith("Access refused: ") for e in at.error)
    assert "Traceback" not in " ".join(e.value for e in at.error)
    assert not [d for d in at.dataframe if "justification" in d.value.columns]


def _rename(username: str, display_name: str) -> None:
    """Someone changes the user's record meanwhile (an admin, say)."""
    with Session(get_engine()) as s:
        row = s.exec(select(User).where(User.username == username)).one()
        row.display_name = display_name
        s.add(row)
        s.commit()


@pytest.mark.usefixtures("demo_env")
def test_the_signed_in_user_is_looked_up_once_per_rerun(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.components.signin
    import ui.session

    lookups: list[str] = []

    def counting(real: Callable[..., Any]) -> Callable[..., Any]:
        def get_user(session: Any, username: str) -> Any:
            lookups.append(username)
            return real(session, username)

        return get_user

    monkeypatch.setattr(ui.session, "get_user", counting(ui.session.get_user))
    monkeypatch.setattr(ui.components.signin, "get_user", counting(ui.components.signin.get_user))
    user = _account("supervisor")
    at = _sign_in(user.username)
    try:
        for title in ("Caseload", "Handoffs", "Joint review"):
            at.switch_page(f"ui/pages/{SCRIPTS[title]}").run()
            _ok(at)
            renamed = f"{user.display_name} {title}"
            _rename(user.username, renamed)
            lookups.clear()
            at.run()  # one rerun of the page, as after a click
            _ok(at)
            # One lookup, by the sign-in gate, and the page shows the record it read.
            assert lookups == [user.username], title
            assert any(f"Acting as {renamed}" in c.value for c in at.caption), title
            assert any(renamed in m.value for m in at.sidebar.markdown), title
    finally:
        _rename(user.username, user.display_name)
