"""The Caseload, Handoffs and Network pages, run headless with AppTest on a small seeded demo.

One temporary SQLite database per test session, set up as `make run` would: ``crossforce init``
then ``crossforce demo`` (60 offenders). Widgets are found by key or label, and assertions are on
values, compared with what the services say.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select
from streamlit.testing.v1 import AppTest

from coordination.caseload.assignment import assignment_history
from coordination.caseload.officers import officer_loads
from coordination.caseload.queries import caseload
from coordination.core.clock import london_today
from coordination.core.db import get_engine
from coordination.handoffs import network
from coordination.handoffs import workflow as handoffs
from coordination.models import Address, AuditEvent, User
from tests.factories import CITY, MET
from tests.support import apptest
from tests.support.apptest import USER_KEY
from ui.text import md


def _page(name: str) -> AppTest:
    at = apptest.page(name, user=_city_supervisor())  # signed in
    apptest.ok(at, errors=False)
    return at


def _met_officer(bcu_code: str | None) -> str:
    """A Met offender manager of this BCU (any BCU when None)."""
    with Session(get_engine()) as s:
        rows = s.exec(
            select(User.username, User.bcu_code)
            .where(User.force_code == MET, User.role == "offender_manager")
            .order_by(col(User.username))
        ).all()
    return next((u for u, b in rows if b == bcu_code), rows[0][0])


def _city_supervisor() -> str:
    """The demo's City supervisor, who opens the pages signed in."""
    with Session(get_engine()) as s:
        username = s.exec(
            select(User.username)
            .where(User.force_code == CITY, User.role == "supervisor")
            .order_by(col(User.username))
        ).first()
    assert username is not None
    return username


def _session(url: str) -> Session:
    return Session(get_engine(url))


def _demo_notice(at: AppTest) -> None:
    assert any("Synthetic demo data" in i.value for i in at.info)


def test_demo_cli_is_idempotent_with_if_empty(demo_env: str, capsys: Any) -> None:
    from coordination.cli.main import main

    assert main(["demo", "--if-empty", "--offenders", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] is True
    assert main(["demo", "--offenders", "0"]) == 2
    assert "between 1 and" in capsys.readouterr().err


def test_caseload_page_lists_loads_and_assigns(demo_env: str) -> None:
    at = _page("caseload")
    _demo_notice(at)
    assert at.selectbox(key="cl_force").value == CITY
    with _session(demo_env) as s:
        expected = caseload(s, force_code=CITY, status="open", limit=500, actor="system:test")
        loads = officer_loads(s, force_code=CITY, actor="system:test")
    assert [m.value for m in at.metric if m.label == "Cases"] == [f"{expected.total:,}"]
    table = apptest.table(at, "PNC ID", "lives in")
    assert list(table["case"]) == [r.case_id for r in expected.rows]
    assert set(table["lead force"]) == {"City of London Police"}
    capacity = apptest.table(at, "available points")
    assert list(capacity["username"]) == [load.username for load in loads]
    assert list(capacity["capacity %"]) == [
        None if load.capacity_pct is None else round(load.capacity_pct, 1) for load in loads
    ]

    # Filters: risk narrows the table to that risk.
    at.selectbox(key="cl_risk").set_value("high").run()
    apptest.ok(at, errors=False)
    assert set(apptest.table(at, "PNC ID", "lives in")["risk"]) <= {"high"}
    at.selectbox(key="cl_risk").set_value(None).run()

    # A case in detail: explanation, addresses on an offline map with attribution, history.
    row = next(r for r in expected.rows if r.postcode)
    at.selectbox(key="cl_case").set_value(row.case_id).run()
    apptest.ok(at, errors=False)
    markdown = [m.value for m in at.markdown]
    assert any(m.startswith("**Why:**") and "rule:" in apptest.as_read(m) for m in markdown)
    # The person's record (addresses, history) opens only with a reason (DPA 2018 s.62).
    assert not [d for d in at.dataframe if "boundary set" in d.value.columns]
    apptest.button(at, "Open record").click().run()
    assert any("Give a reason" in e.value for e in at.error)
    at.text_input(key=f"cl_why_{row.offender_id}").set_value(
        "Supervision review of the address history"
    )
    apptest.button(at, "Open record").click().run()
    apptest.ok(at, errors=False)
    addresses = apptest.table(at, "boundary set")
    assert row.postcode in list(addresses["address"])
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert "mapProvider" not in deck and {layer["id"] for layer in deck["layers"]} >= {"addresses"}
    assert any("Office for National Statistics" in c.value or "ONS" in c.value for c in at.caption)

    # Assign to the top suggestion: the page says so and the database agrees.
    suggestions = apptest.table(at, "capacity % after")
    target = suggestions["username"].iloc[0]
    # Form widgets take effect when the form is submitted, so set and submit in one run.
    at.selectbox(key="cl_assignee").set_value(target)
    apptest.button(at, "Assign").click().run()
    apptest.ok(at, errors=False)
    assert any(f"assigned to {target}" in s for s in apptest.successes(at)), [
        e.value for e in at.error
    ]
    with _session(demo_env) as s:
        history = assignment_history(s, case_id=row.case_id, actor="system:test")
        consultations = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "offender.view",
                AuditEvent.entity_id == str(row.offender_id),
                AuditEvent.actor == at.session_state[USER_KEY],
            )
        ).all()
    assert history[-1].username == target and history[-1].ended_at is None
    # Logged as a consultation with the reason; the reason was asked once, not again after the
    # assignment (remembered for the session), and the record was not logged at every click.
    assert consultations and {e.category for e in consultations} == {"consultation"}
    assert {e.justification for e in consultations} == {"Supervision review of the address history"}
    assert len(consultations) <= 2  # opened, and read again after the assignment changed it
    assert not [t for t in at.text_input if t.key == f"cl_why_{row.offender_id}"]


def _city_only_case(url: str) -> int:
    """A case the City leads that no Met user may see (no open handoff, no joint meeting)."""
    from coordination.security.permissions import can_see_case, principal

    with _session(url) as s:
        met = principal(s, _met_officer(None))
        rows = caseload(s, force_code=CITY, status=None, limit=500, actor="system:test").rows
        return next(r.case_id for r in rows if not can_see_case(s, met, r.case_id))


def test_caseload_link_to_a_case_the_user_may_not_see_is_refused_and_audited(
    demo_env: str,
) -> None:
    case_id = _city_only_case(demo_env)
    met_user = _met_officer(None)
    at = apptest.page("caseload", user=met_user, query={"case": str(case_id)})
    apptest.ok(at, errors=False)
    assert any("Access refused" in e.value for e in at.error), [e.value for e in at.error]
    assert not [t for t in at.text_input if t.key.startswith("cl_why_")]  # nothing to justify
    at.selectbox(key="cl_risk").set_value("high").run()  # another click: refused once only
    assert any("Access refused" in e.value for e in at.error)
    with _session(demo_env) as s:
        refusals = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "access.refused",
                AuditEvent.actor == met_user,
                AuditEvent.entity_type == "case",
                AuditEvent.entity_id == str(case_id),
            )
        ).all()
        consulted = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "offender.view", AuditEvent.actor == met_user
            )
        ).all()
    assert len(refusals) == 1 and refusals[0].category == "access"
    assert consulted == []


def test_caseload_link_opens_a_case_after_a_reason(demo_env: str) -> None:
    with _session(demo_env) as s:
        row = caseload(s, force_code=CITY, status="open", limit=5, actor="system:test").rows[0]
    at = apptest.page("caseload", user=_city_supervisor(), query={"case": str(row.case_id)})
    apptest.ok(at, errors=False)
    assert any(f"case {row.case_id}" in m.value for m in at.markdown if m.value.startswith("###"))
    at.text_input(key=f"cl_why_{row.offender_id}").set_value("Link from a colleague")
    apptest.button(at, "Open record").click().run()
    apptest.ok(at, errors=False)
    with _session(demo_env) as s:
        stored = s.exec(select(Address).where(Address.offender_id == row.offender_id)).all()
    # The record that opened is this person's: every one of their addresses, and no other.
    assert len(apptest.table(at, "boundary set")) == len(stored) > 0
    # Closing the link goes back to choosing from the list.
    apptest.button(at, "Close the linked case").click().run()
    apptest.ok(at, errors=False)
    assert "case" not in at.query_params


def test_caseload_page_for_an_analyst_is_pseudonymised(demo_env: str) -> None:
    with _session(demo_env) as s:
        names = {
            (r.first_name, r.last_name, r.pnc_id)
            for r in caseload(s, status=None, limit=5000, actor="system:test").rows
        }
    at = apptest.page("caseload", user="demo.analyst")
    apptest.ok(at, errors=False)
    table = apptest.table(at, "person", "lives in")
    assert {"name", "PNC ID", "postcode"}.isdisjoint(table.columns)
    assert len(table) and all(str(p).startswith("P-") for p in table["person"])
    shown = " ".join(str(v) for v in table.astype(str).to_numpy().ravel())
    for first, last, pnc in names:
        assert pnc not in shown and f"{first} {last}" not in shown
    assert not [b for b in at.selectbox if b.key == "cl_case"]  # no record to open
    assert not [t for t in at.text_input if t.key == "cl_search"]


def test_handoffs_page_queues_and_actions(demo_env: str) -> None:
    at = _page("handoffs")
    _demo_notice(at)
    with _session(demo_env) as s:
        outgoing = handoffs.list_handoffs(
            s, force_code=CITY, direction="outgoing", state="open", actor="system:test"
        )
        incoming = handoffs.list_handoffs(
            s, force_code=CITY, direction="incoming", state="open", actor="system:test"
        )
    table = apptest.table(apptest.tab(at, "Outgoing"), "handoff", "due")
    assert list(table["handoff"]) == [v.id for v in outgoing]
    assert list(table["overdue"]) == [v.overdue for v in outgoing]
    assert any(v.overdue for v in outgoing)  # overdue is visible
    assert "overdue" in set(table["status"])  # in words, not only a colour or an emoji
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Outgoing overdue"] == str(sum(v.overdue for v in outgoing))
    assert metrics["Incoming open"] == str(len(incoming))

    # One to the Met, whose officers can sign in to complete it (only the receiver completes).
    requested = next(
        v for v in outgoing if v.state == "requested" and v.handoff.to_force_code == MET
    )
    at.selectbox(key="ho_pick").set_value(requested.id).run()
    # The sending force may only withdraw it: answering is the receiving force's.
    assert at.selectbox(key="ho_action").options == ["withdraw"]
    city_user = at.session_state[USER_KEY]
    met_user = _met_officer(requested.handoff.to_bcu_code)

    # The receiving force answers; rejecting needs a reason.
    at.session_state[USER_KEY] = met_user
    at.selectbox(key="ho_force").set_value(MET).run()
    at.selectbox(key="ho_pick").set_value(requested.id).run()
    assert at.selectbox(key="ho_action").options == ["accept", "reject"]
    at.selectbox(key="ho_action").set_value("reject")
    apptest.button(at, "Apply").click().run()
    apptest.ok(at, errors=False)
    assert any("needs a reason" in e.value for e in at.error), [e.value for e in at.error]

    # Someone else accepts it meanwhile: the sender's withdrawal is refused, naming them.
    at.session_state[USER_KEY] = city_user
    at.selectbox(key="ho_force").set_value(CITY).run()
    at.selectbox(key="ho_pick").set_value(requested.id).run()
    with _session(demo_env) as s:
        handoffs.transition(s, actor="someone.else", handoff_id=requested.id, action="accept")
        s.commit()
    at.selectbox(key="ho_action").set_value("withdraw")
    at.text_area(key="ho_note").set_value("moved back")
    apptest.button(at, "Apply").click().run()
    apptest.ok(at, errors=False)
    refusal = md("was changed by someone.else at")
    assert any(refusal in e.value and "reload" in e.value for e in at.error), at.error

    # After a reload the user sees it accepted; a Met officer signs in and completes it.
    apptest.button(at, "Reload").click().run()
    at.session_state[USER_KEY] = met_user
    at.selectbox(key="ho_force").set_value(MET).run()
    at.selectbox(key="ho_pick").set_value(requested.id).run()
    # Accepted without an address check: completing waits for it, so the check form is offered.
    assert not [b for b in at.selectbox if b.key == "ho_action"]
    at.selectbox(key="ho_check_method").set_value("phone")
    at.selectbox(key="ho_check_outcome").set_value("confirmed")
    at.text_input(key="ho_check_note").set_value("spoke to the landlord")
    apptest.button(at, "Record the check").click().run()
    apptest.ok(at, errors=False)
    assert any("Address check recorded" in s.value for s in at.success), at.success
    at.selectbox(key="ho_pick").set_value(requested.id).run()
    # The receiving force answers; withdrawing is the sending force's (not offered here).
    assert at.selectbox(key="ho_action").options == ["complete"]
    at.selectbox(key="ho_action").set_value("complete")
    apptest.button(at, "Apply").click().run()
    apptest.ok(at, errors=False)
    assert any(f"Handoff {requested.id} is now completed" in s.value for s in at.success)
    with _session(demo_env) as s:
        view = handoffs.get_handoff_view(s, requested.id, actor="system:test")
    assert view.state == "completed"


def test_network_page_draws_and_tabulates(demo_env: str) -> None:
    at = _page("network")
    _demo_notice(at)
    today = london_today()  # the page counts days in London
    with _session(demo_env) as s:
        g = network.build_network(
            s, start=today - timedelta(days=365), end=today, actor="system:test"
        )
    flows = network.largest_flows(g, 15)
    tables = [d.value for d in at.dataframe if "pending" in d.value.columns]
    shown = [(list(t["handoffs"]), list(t["to"])) for t in tables]
    assert ([f.count for f in flows], [f.target_name for f in flows]) in shown
    worst = network.bottlenecks(g, 15)
    assert ([f.count for f in worst], [f.target_name for f in worst]) in shown
    assert worst, "the demo has overdue handoffs, so some flow is a bottleneck"
    (chart,) = at.get_by_key("net_drawing").get("graphviz_chart")
    assert "City of London Police" in chart.proto.spec
    assert chart.proto.spec.count(" -> ") == g.number_of_edges()  # one arrow per flow
    labels = {b.proto.label for b in at.get("download_button")}
    assert labels == {"Download GraphML", "Download JSON"}
