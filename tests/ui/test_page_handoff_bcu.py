"""The Handoffs page's BCU filter applies to the sending end, the receiving end, or either."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from coordination.core.db import get_engine, session_scope
from coordination.handoffs import workflow as handoffs
from coordination.models import OPEN_HANDOFF_STATES, Case, Handoff, User
from tests.factories import CITY, MET
from tests.support import apptest


@pytest.fixture
def own_demo(
    demo_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A private copy of the demo database, with one more handoff sent by a Met team."""
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
            .where(Case.lead_force_code == MET, Case.status == "open")
            .where(col(Case.assigned_user_id).is_not(None), col(Case.id).not_in(busy))
            .order_by(col(Case.id))
        ).first()
        assert case_id is not None
        handoffs.create_handoff(
            s, actor="system:test", case_id=case_id, to_force_code=CITY, reason="moved"
        )
    try:
        yield str(target)
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def _shown(at: object, tab: str) -> list[int]:
    found = [d.value for d in apptest.tab(at, tab).dataframe if "handoff" in d.value.columns]  # type: ignore[arg-type]
    return list(found[0]["handoff"]) if found else []


@pytest.mark.usefixtures("own_demo")
def test_the_bcu_filter_applies_to_the_side_chosen() -> None:
    with Session(get_engine()) as s:
        outgoing = handoffs.list_handoffs(
            s, force_code=MET, direction="outgoing", state="open", actor="system:test"
        )
        incoming = handoffs.list_handoffs(
            s, force_code=MET, direction="incoming", state="open", actor="system:test"
        )
        sending = next(v.from_bcu_code for v in outgoing if v.from_bcu_code)
        supervisor = s.exec(
            select(User.username)
            .where(User.force_code == MET, User.role == "supervisor", User.bcu_code == sending)
            .order_by(col(User.username))
        ).first()
    assert supervisor is not None
    at = apptest.page("handoffs", user=supervisor)
    apptest.ok(at, errors=False)
    assert at.radio(key="ho_bcu_side").value == "both"
    at.selectbox(key="ho_bcu").set_value(sending).run()
    both = (_shown(at, "Incoming"), _shown(at, "Outgoing"))

    at.radio(key="ho_bcu_side").set_value("sending").run()
    apptest.ok(at, errors=False)
    assert _shown(at, "Outgoing") == [v.id for v in outgoing if v.from_bcu_code == sending]
    assert _shown(at, "Incoming") == []  # the City sends these: no Met BCU at the sending end
    with Session(get_engine()) as s:
        by_service = handoffs.list_handoffs(
            s,
            force_code=MET,
            direction="outgoing",
            state="open",
            from_bcu=sending,
            actor=supervisor,
        )
    assert _shown(at, "Outgoing") == [v.id for v in by_service]

    at.radio(key="ho_bcu_side").set_value("receiving").run()
    apptest.ok(at, errors=False)
    assert _shown(at, "Incoming") == [v.id for v in incoming if v.handoff.to_bcu_code == sending]
    assert _shown(at, "Outgoing") == []  # the Met receives none of its own handoffs
    assert both == (
        [v.id for v in incoming if v.handoff.to_bcu_code == sending],
        [v.id for v in outgoing if v.from_bcu_code == sending],
    )
