"""The Audit log page, run headless with AppTest on a copy of the initialised app database.

The copy gets an admin, a manager and a few known events; the page is opened signed in (the
username in ``st.session_state`` as ``ui.session`` keeps it) and what it shows is compared with
what ``coordination.audit`` says.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from coordination.audit.reader import EXPORT_ACTION, search_events, verify_chain
from coordination.core.db import get_engine, session_scope
from coordination.ledger.chain import record_event
from coordination.models import UserCreate
from coordination.security.users import create_user
from tests.factories import CITY, MET
from tests.support import apptest
from tests.support.database import copy_sqlite


@pytest.fixture
def audit_env(
    app_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A copy of the app database with users and known events; the process points at it."""
    from coordination.core.settings import reset_settings_cache

    url = copy_sqlite(app_database_url, tmp_path / "audit.db")
    engine = get_engine(url)
    with session_scope(engine) as session:
        for data in (
            UserCreate(username="ada.admin", display_name="Ada", force_code=CITY, role="admin"),
            UserCreate(
                username="mo.met", display_name="Mo", force_code=MET, role="offender_manager"
            ),
        ):
            create_user(session, actor="system:test", data=data)
    with session_scope(engine) as session:
        record_event(
            session,
            actor="mo.met",
            action="offender.view",
            entity_type="offender",
            entity_id="7",
            category="consultation",
            justification="reviewing the handoff",
            offender_ids=[7],
        )
        record_event(
            session,
            actor="mo.met",
            action="handoff.request",
            entity_type="handoff",
            entity_id="3",
            category="disclosure",
            recipients=[CITY],
            offender_ids=[7],
            details={"note": "=1+1"},
        )
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", url)
    reset_settings_cache()
    try:
        yield engine
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def test_audit_page(audit_env: Engine) -> None:
    at = apptest.page("audit", user="ada.admin")
    apptest.ok(at)
    with Session(audit_env) as s:
        expected = search_events(s, actor="ada.admin", limit=200)
    table = apptest.table(at, "justification")
    assert list(table["id"]) == [r.id for r in expected]
    assert list(table["action"])[:2] == ["handoff.request", "offender.view"]

    # Filter to one person's consultations: the one event, with its justification.
    at.text_input(key="audit_offender").input("7")
    at.selectbox(key="audit_category").select("consultation").run()
    apptest.ok(at)
    table = apptest.table(at, "justification")
    assert table.to_dict("records") == [
        {
            "id": expected[1].id,
            "at (UTC)": expected[1].at.strftime("%Y-%m-%d %H:%M:%S"),
            "user": "mo.met",
            "category": "consultation",
            "action": "offender.view",
            "entity": "offender 7",
            "offenders": "7",
            "justification": "reviewing the handoff",
            "recipients": "",
            "details": "",
        }
    ]
    at.selectbox(key="audit_category").select("(any)")
    at.text_input(key="audit_user").input("mo.met")
    at.text_input(key="audit_action").input("handoff.*").run()
    apptest.ok(at)
    # A force among the recipients is named, not coded (the export keeps the code).
    assert list(apptest.table(at, "justification")["recipients"]) == ["City of London Police"]

    # Verify the chain: the page says what the service says.
    at.button(key="audit_verify").click().run()
    apptest.ok(at)
    with Session(audit_env) as s:
        report = verify_chain(s)
    assert report.ok
    assert apptest.successes(at) == [report.message]

    # Export: refused without a reason; then the file matches the filters, is neutralised,
    # and the export is in the log with its reason.
    at.button(key="audit_export_go").click().run()
    assert [apptest.as_read(e.value) for e in at.error] == [
        "A disclosure says why: give the justification for this export"
    ]
    at.text_input(key="audit_justification").input("Inspection sample").run()
    at.button(key="audit_export_go").click().run()
    apptest.ok(at)
    download = at.get("download_button")
    assert len(download) == 1
    with Session(audit_env) as s:
        (event,) = search_events(s, actor="ada.admin", action=EXPORT_ACTION)
    assert (event.actor, event.category, event.recipients) == (
        "ada.admin",
        "disclosure",
        ["ada.admin"],
    )
    assert event.justification == "Inspection sample"
    assert event.details is not None
    assert event.details["rows"] == 1
    assert event.details["filters"] == {"user": "mo.met", "offender_id": 7, "action": "handoff.*"}
    with Session(audit_env) as s:
        assert verify_chain(s).ok


def test_audit_page_refuses_a_manager_and_a_bad_offender_id(audit_env: Engine) -> None:
    at = apptest.page("audit", user="mo.met")
    assert not at.exception
    assert any("Access refused" in e.value for e in at.error)
    assert not [d for d in at.dataframe if "justification" in d.value.columns]

    at = apptest.page("audit", user="ada.admin")
    at.text_input(key="audit_offender").input("seven").run()
    assert [apptest.as_read(e.value) for e in at.error] == [
        "Offender id seven is not a whole number."
    ]


def test_audit_page_asks_to_sign_in(audit_env: Engine) -> None:
    at = apptest.page("audit")
    assert not at.exception
    assert [w.value for w in at.warning] == ["Sign in as an admin to read the audit log."]


def test_audit_page_shows_details_in_words_and_the_json_on_request(audit_env: Engine) -> None:
    with session_scope(audit_env) as session:
        event_id = record_event(
            session,
            actor="mo.met",
            action="case.update",
            entity_type="case",
            entity_id="12",
            category="alteration",
            offender_ids=[7],
            details={
                "case_id": 12,
                "before": {"risk": "high", "programme": "iom_fixed"},
                "after": {"risk": "very_high", "programme": "mappa"},
                "to_force_code": MET,
            },
        ).id
    at = apptest.page("audit", user="ada.admin")
    apptest.ok(at)
    table = apptest.table(at, "justification")
    shown = table.set_index("id").loc[event_id, "details"]
    assert "{" not in shown and '"' not in shown and "_" not in shown
    assert shown.startswith("case: 12; before: (risk: High, programme: IOM Fixed);")
    assert "after: (risk: Very high, programme: MAPPA)" in shown
    assert "to force: Metropolitan Police Service" in shown

    # The JSON as recorded, for the one event chosen.
    at.selectbox(key="audit_details_event").select(event_id).run()
    apptest.ok(at)
    (recorded,) = [j for j in at.json if "before" in j.value]
    assert '"very_high"' in recorded.value and MET not in shown
