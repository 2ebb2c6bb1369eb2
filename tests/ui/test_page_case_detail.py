"""The Caseload page's case detail: who manages the case, and a pending handoff in words.

A City case with a requested handoff to the Met, opened by the City's supervisor on the demo
database: the manager's name, team and force are shown, and the handoff is one sentence saying
who stays responsible until when, with its state's meaning, the next step and who holds it.
Widgets and blocks are found by key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from coordination.core.db import get_engine, session_scope
from coordination.handoffs.workflow import create_handoff
from coordination.models import OPEN_HANDOFF_STATES, Case, Handoff, User
from tests.factories import CITY, MET
from tests.support import apptest


@pytest.fixture
def own_demo(
    demo_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A private copy of the demo database (other page tests act on the shared one), in which
    a managed City case has a handoff requested to the Met."""
    from coordination.core.settings import reset_settings_cache

    target = tmp_path / "crossforce.db"
    source = demo_database_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", f"sqlite:///{target}")
    reset_settings_cache()
    with session_scope(get_engine()) as s:
        busy = select(Handoff.case_id).where(col(Handoff.state).in_(OPEN_HANDOFF_STATES))
        case_id = s.exec(
            select(Case.id)
            .where(Case.lead_force_code == CITY, Case.status == "open")
            .where(col(Case.assigned_user_id).is_not(None), col(Case.id).not_in(busy))
            .order_by(col(Case.id))
        ).first()
        assert case_id is not None
        create_handoff(
            s,
            actor="system:test",
            case_id=case_id,
            to_force_code=MET,
            to_bcu_code="CE",
            reason="moved to Hackney",
        )
    try:
        yield str(target)
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def _day(d: date | None) -> str:
    assert d is not None
    return f"{d.day} {d.strftime('%b')} {d.year}"


def _texts(block: object) -> str:
    """The block's markdown as people read it: no escapes, bold or code marks."""
    lines = [apptest.as_read(m.value) for m in block.markdown]  # type: ignore[attr-defined]
    return " ".join(lines).replace("**", "").replace("`", "")


@pytest.mark.usefixtures("own_demo")
def test_case_detail_names_the_manager_and_explains_the_pending_handoff() -> None:
    with Session(get_engine()) as s:
        supervisor = s.exec(
            select(User.username)
            .where(User.force_code == CITY, User.role == "supervisor")
            .order_by(col(User.username))
        ).first()
        found = s.exec(
            select(Handoff, Case, User)
            .join(Case, col(Case.id) == Handoff.case_id)
            .join(User, col(User.id) == col(Case.assigned_user_id))
            .where(
                Handoff.state == "requested",
                Handoff.from_force_code == CITY,
                Handoff.to_force_code == MET,
                Case.status == "open",
            )
            .order_by(col(Handoff.id).desc())
        ).first()
    assert supervisor is not None and found is not None
    handoff, case, manager = found
    at = apptest.page("caseload", user=supervisor)
    apptest.ok(at, errors=False)
    at.selectbox(key="cl_case").set_value(case.id).run()
    apptest.ok(at, errors=False)

    shown = _texts(apptest.widget(at, "cl_case_manager"))
    assert f"Offender manager: {manager.display_name} ({manager.username})" in shown
    assert "City of London Police" in shown and (manager.team or "") in shown

    words = _texts(apptest.widget(at, "cl_case_handoff"))
    bcu = f" ({handoff.to_bcu_code} BCU)" if handoff.to_bcu_code else ""
    assert handoff.requested_at is not None
    sentence = (
        f"Handoff to the Metropolitan Police Service{bcu} requested "
        f"{_day(handoff.requested_at.date())}: the City of London Police stays responsible "
        f"until the Met completes it (completion due {_day(handoff.completion_due)})."
    )
    assert f"Pending handoff {handoff.id}: {sentence}" in words
    assert "What this means: Requested: the receiving force checks the new address" in words
    assert (
        f"Next step: The Metropolitan Police Service checks the address by "
        f"{_day(handoff.address_check_due)} and accepts or rejects." in words
    )
    assert "Held by: Metropolitan Police Service." in words


@pytest.mark.usefixtures("own_demo")
def test_a_case_without_a_handoff_shows_no_handoff_block() -> None:
    with Session(get_engine()) as s:
        supervisor = s.exec(
            select(User.username).where(User.force_code == CITY, User.role == "supervisor")
        ).first()
        open_handoff = select(Handoff.case_id).where(
            col(Handoff.state).in_(("proposed", "requested", "accepted"))
        )
        case_id = s.exec(
            select(Case.id)
            .where(
                Case.lead_force_code == CITY,
                Case.status == "open",
                col(Case.id).not_in(open_handoff),
            )
            .order_by(col(Case.next_review_due).asc().nulls_last(), col(Case.id))
        ).first()
    assert supervisor is not None and case_id is not None
    at = apptest.page("caseload", user=supervisor)
    at.selectbox(key="cl_case").set_value(case_id).run()
    apptest.ok(at, errors=False)
    assert "Offender manager:" in _texts(apptest.widget(at, "cl_case_manager"))
    try:
        apptest.widget(at, "cl_case_handoff")
    except KeyError:
        return
    raise AssertionError("a case with no open handoff shows no pending handoff")
