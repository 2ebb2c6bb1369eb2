"""The Caseload page's case forms: re-assessing, closing and reopening a case from its detail.

On a private copy of the demo database (the forms change it): a City offender manager records
a new risk of serious harm and sees it, with its audit event and its line in the history; a
past review date is refused in one line; offender managers get no closure form; a City
supervisor closes a case (it leaves the open caseload), is refused while a handoff is open, and
reopens it. Widgets are found by key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from coordination.core.clock import london_today
from coordination.core.db import get_engine, session_scope
from coordination.handoffs.workflow import create_handoff
from coordination.models import OPEN_HANDOFF_STATES, AuditEvent, Case, CaseEvent, Handoff, User
from tests.factories import CITY, MET
from tests.support import apptest


@pytest.fixture
def own_demo(
    demo_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A private copy of the demo database: the forms here change cases."""
    from coordination.core.settings import reset_settings_cache

    target = tmp_path / "crossforce.db"
    source = demo_database_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", f"sqlite:///{target}")
    reset_settings_cache()
    try:
        yield str(target)
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def _user(role: str) -> str:
    with Session(get_engine()) as s:
        found = s.exec(
            select(User.username)
            .where(User.force_code == CITY, User.role == role, col(User.active))
            .order_by(col(User.username))
        ).first()
    assert found is not None, role
    return found


def _quiet_city_case() -> Case:
    """An open City case with no open handoff (closable)."""
    with Session(get_engine()) as s:
        busy = select(Handoff.case_id).where(col(Handoff.state).in_(OPEN_HANDOFF_STATES))
        case = s.exec(
            select(Case)
            .where(Case.lead_force_code == CITY, Case.status == "open")
            .where(col(Case.id).not_in(busy))
            .order_by(col(Case.id))
        ).first()
    assert case is not None and case.id is not None
    return case


def _has(at: Any, key: str) -> bool:
    try:
        apptest.widget(at, key)
    except KeyError:
        return False
    return True


def _read(at: Any, key: str) -> str:
    block = apptest.widget(at, key)
    lines = [apptest.as_read(m.value) for m in block.markdown]
    return " ".join(lines).replace("**", "")


def _open_case(user: str, case_id: int) -> Any:
    at = apptest.page("caseload", user=user)
    apptest.ok(at, errors=False)
    at.selectbox(key="cl_case").set_value(case_id).run()
    apptest.ok(at)
    return at


def _listed(at: Any) -> set[int]:
    return set(apptest.table(at, "case", "PNC ID")["case"])


@pytest.mark.usefixtures("own_demo")
def test_an_offender_manager_records_a_new_risk_and_sees_it() -> None:
    case = _quiet_city_case()
    new = "very_high" if case.risk != "very_high" else "low"
    words = {"low": "Low", "medium": "Medium", "high": "High", "very_high": "Very high"}
    at = _open_case(_user("offender_manager"), case.id)  # type: ignore[arg-type]
    assert f"Risk of serious harm: {words[case.risk]}" in _read(at, "cl_upd_current")

    at.selectbox(key="cl_upd_risk").set_value(new)
    at.text_input(key="cl_upd_risk_note").input("seen at home")
    at.button(key="cl_upd_risk_submit").click().run()
    apptest.ok(at)
    assert not at.warning
    # The form now starts from the new values, the note typed gone.
    assert at.selectbox(key="cl_upd_risk").value == new
    assert at.text_input(key="cl_upd_risk_note").value == ""

    said = " ".join(apptest.successes(at))
    assert f"Risk of serious harm: {words[case.risk]} → {words[new]}" in said
    assert f"Risk of serious harm: {words[new]} (assessed " in _read(at, "cl_upd_current")
    with Session(get_engine()) as s:
        audit = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "case.risk", AuditEvent.entity_id == str(case.id)
            )
        ).all()
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert len(audit) == 1 and (audit[0].details or {})["changes"]["risk"] == [case.risk, new]
    assert [e.kind for e in events] == ["risk"]
    history = apptest.table(at, "what", "changed (old → new)")
    assert list(history["what"]) == ["Risk re-assessed"]
    assert f"{words[case.risk]} → {words[new]}" in history["changed (old → new)"].iloc[0]
    assert list(history["reason"]) == ["seen at home"]


@pytest.mark.usefixtures("own_demo")
def test_a_past_review_date_is_refused_in_one_line() -> None:
    case = _quiet_city_case()
    at = _open_case(_user("offender_manager"), case.id)  # type: ignore[arg-type]
    yesterday = london_today() - timedelta(days=1)
    at.date_input(key="cl_upd_review").set_value(yesterday)
    at.button(key="cl_upd_review_submit").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "is in the past" in apptest.as_read(errors[0])
    with Session(get_engine()) as s:
        assert s.get(Case, case.id).next_review_due == case.next_review_due  # type: ignore[union-attr]


@pytest.mark.usefixtures("own_demo")
def test_an_offender_manager_gets_no_closure_form() -> None:
    case = _quiet_city_case()
    at = _open_case(_user("offender_manager"), case.id)  # type: ignore[arg-type]
    assert not _has(at, "cl_close_reason") and not _has(at, "cl_close_submit")
    who = " ".join(c.value for c in apptest.widget(at, "cl_close_who").caption)
    assert "Only supervisors of the lead force" in apptest.as_read(who)
    assert _has(at, "cl_upd_risk")  # but they do re-assess


@pytest.mark.usefixtures("own_demo")
def test_a_supervisor_closes_a_case_and_reopens_it() -> None:
    case = _quiet_city_case()
    at = _open_case(_user("supervisor"), case.id)  # type: ignore[arg-type]
    assert case.id in _listed(at)

    at.selectbox(key="cl_close_reason").set_value("sentence_ended")
    at.button(key="cl_close_submit").click().run()
    apptest.ok(at)
    said = " ".join(apptest.successes(at))
    assert f"Case {case.id} closed: sentence or licence ended." in said
    # The list follows the case to the closed cases; its detail says closed, and why.
    assert at.selectbox(key="cl_status").value == "closed"
    assert "Status: Closed · sentence or licence ended" in _read(at, "cl_upd_current")
    assert not _has(at, "cl_upd_risk")  # a closed case takes no update
    at.selectbox(key="cl_status").set_value("open").run()
    apptest.ok(at, errors=False)
    assert case.id not in _listed(at)

    at.selectbox(key="cl_status").set_value("closed").run()
    at.selectbox(key="cl_case").set_value(case.id).run()
    at.text_input(key="cl_close_reopen_reason").input("closed by mistake")
    at.button(key="cl_close_reopen_submit").click().run()
    apptest.ok(at)
    assert at.selectbox(key="cl_status").value == "open"
    assert "Status: Open" in _read(at, "cl_upd_current")
    assert case.id in _listed(at)
    kinds = list(apptest.table(at, "what", "changed (old → new)")["what"])
    assert kinds == ["Case closed", "Case reopened"]


@pytest.mark.usefixtures("own_demo")
def test_a_case_with_an_open_handoff_is_not_closed() -> None:
    case = _quiet_city_case()
    with session_scope(get_engine()) as s:
        handoff = create_handoff(
            s,
            actor="system:test",
            case_id=case.id,  # type: ignore[arg-type]
            to_force_code=MET,
            to_bcu_code="CE",
            reason="moved to Hackney",
        )
    at = _open_case(_user("supervisor"), case.id)  # type: ignore[arg-type]
    assert any("withdraw it first" in w.value for w in at.warning)
    at.button(key="cl_close_submit").click().run()
    errors = [apptest.as_read(e.value) for e in at.error]
    assert errors == [
        f"Case {case.id} has an open handoff ({handoff.id}): withdraw it before closing the case"
    ]
    with Session(get_engine()) as s:
        assert s.get(Case, case.id).status == "open"  # type: ignore[union-attr]


@pytest.mark.usefixtures("own_demo")
def test_mappa_forms_are_for_mappa_cases_only_and_other_needs_a_note() -> None:
    with Session(get_engine()) as s:
        busy = select(Handoff.case_id).where(col(Handoff.state).in_(OPEN_HANDOFF_STATES))
        plain = s.exec(
            select(Case.id)
            .where(Case.lead_force_code == CITY, Case.status == "open")
            .where(Case.programme != "mappa", col(Case.id).not_in(busy))
            .order_by(col(Case.id))
        ).first()
    assert plain is not None
    at = _open_case(_user("supervisor"), plain)
    assert not _has(at, "cl_upd_mappa_category")
    said = " ".join(apptest.as_read(c.value) for c in at.caption)
    assert "this is not a MAPPA case" in said
    assert _has(at, "cl_upd_iom")

    at.selectbox(key="cl_close_reason").set_value("other")
    at.button(key="cl_close_submit").click().run()
    assert [apptest.as_read(e.value) for e in at.error] == ["Give a note saying why (reason other)"]
    with Session(get_engine()) as s:
        assert s.get(Case, plain).status == "open"  # type: ignore[union-attr]


@pytest.mark.usefixtures("own_demo")
def test_a_supervisor_sets_and_lifts_limited_access_an_officer_gets_no_form() -> None:
    case = _quiet_city_case()
    officer = _user("offender_manager")
    at = _open_case(officer, case.id)  # type: ignore[arg-type]
    assert not _has(at, "cl_access_set")
    assert any("supervisors of the lead force" in c.value for c in at.caption)

    at = _open_case(_user("supervisor"), case.id)  # type: ignore[arg-type]
    at.text_input(key="cl_access_user").input(officer)
    at.selectbox(key="cl_access_mode").set_value("exclude")
    at.button(key="cl_access_set").click().run()
    assert [apptest.as_read(e.value) for e in at.error], "a change needs a reason"
    at.text_input(key="cl_access_user").input(officer)
    at.text_input(key="cl_access_reason").input("Knows the victim")
    at.button(key="cl_access_set").click().run()
    apptest.ok(at)
    shown = apptest.table(at, "user", "access", "why")
    assert list(zip(shown["user"], shown["why"], strict=True)) == [(officer, "Knows the victim")]
    at.text_input(key="cl_access_lift_reason").input("Moved team")
    at.button(key="cl_access_lift").click().run()
    apptest.ok(at)
    with Session(get_engine()) as s:
        events = s.exec(
            select(AuditEvent.action, AuditEvent.justification)
            .where(AuditEvent.entity_id == str(case.id))
            .where(col(AuditEvent.action).startswith("case_access."))
            .order_by(col(AuditEvent.id))
        ).all()
    assert [tuple(e) for e in events] == [
        ("case_access.set", "Knows the victim"),
        ("case_access.clear", "Moved team"),
    ]
