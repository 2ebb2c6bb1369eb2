"""The Joint review page, run headless with AppTest on a small seeded database.

The database is a copy of the initialised app database (``app_database_url``) with two users and
three synthetic cases whose place on a City–Met agenda is known:

- ``handoff``: led by the City, with a handoff to the Met requested today → ``handoff_pending``;
- ``high``: led by the City, high risk, living in the Met, OGRS3 inputs known → ``high_risk_joint``;
- ``quiet``: led by the City, low risk, living in the City → not on the agenda (added by hand).

Widgets are found by key, never by position, and the values shown are compared with what the
services say.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from coordination.core.clock import london_today
from coordination.core.db import get_engine, session_scope
from coordination.handoffs.workflow import open_handoff_for_case
from coordination.models import AuditEvent, Offender
from coordination.review.agenda import generate_agenda
from coordination.review.meetings import create_meeting, get_meeting, list_meetings
from tests.factories import CITY, MET, seed_review_cases
from tests.support import apptest
from tests.support.database import copy_sqlite

# --- the seeded database (tests.factories.seed_review_cases, shared with the browser journey) ---


@pytest.fixture
def review_db(app_database_url: str, tmp_path: Path) -> tuple[str, dict[str, int]]:
    """A private copy of the initialised app database, seeded for the review page (per test)."""
    url = copy_sqlite(app_database_url, tmp_path / "crossforce.db")
    return url, seed_review_cases(get_engine(url))


@pytest.fixture
def review_env(
    review_db: tuple[str, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, dict[str, int]]]:
    """Point the process at the seeded review database for one test."""
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", review_db[0])
    reset_settings_cache()
    try:
        yield review_db
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


# --- the tables, by their columns (tables carry no key) ------------------------------------------


AGENDA = ("reasons", "OGRS3 pts")
REMOVED = ("removed because",)
ACTIONS = ("description", "status")
MEETINGS = ("chair", "attendees")


# --- the test ------------------------------------------------------------------------------------


def test_joint_review_page(review_env: tuple[str, dict[str, int]]) -> None:
    url, ids = review_env
    engine = get_engine(url)
    at = apptest.page("joint_review", user="cara.city")  # signed in
    apptest.ok(at)
    assert at.selectbox(key="jr_meeting").value is None
    assert any("Acting as Cara City" in c.value for c in at.caption)
    assert at.multiselect(key="jr_new_forces").value == [CITY, MET]

    # Plan the meeting: it is created and selected.
    at.text_input(key="jr_new_chair").input("Cara City")
    at.text_area(key="jr_new_attendees").input("Cara City\nMo Met\nCara City")
    at.button(key="jr_create").click().run()
    apptest.ok(at)
    with Session(engine) as s:
        (meeting,) = list_meetings(s, actor="system:test")
    assert meeting.forces == sorted([CITY, MET]) and meeting.chair == "Cara City"
    assert meeting.attendees == ["Cara City", "Mo Met"]
    assert at.selectbox(key="jr_meeting").value == meeting.id
    assert apptest.successes(at) == [f"Meeting {meeting.id} planned: {meeting.title}."]

    # Generate the agenda: the two known cases, high risk first, with reasons and score parts.
    at.button(key="jr_generate").click().run()
    apptest.ok(at)
    assert apptest.successes(at) == ["Agenda generated: 2 items."]
    # Grouped by reason by default (one table a reason); one table in agenda order here.
    assert at.toggle(key="jr_group").value is True
    headings = [m.value for m in at.markdown if m.value.startswith("**") and "(" in m.value]
    assert "**Handoffs in progress** (1)" in headings
    assert "**High risk or MAPPA, jointly managed** (1)" in headings
    tables = [list(d.value["case"]) for d in at.dataframe if "OGRS3 pts" in d.value.columns]
    assert tables == [[ids["handoff"]], [ids["high"]]]
    at.toggle(key="jr_group").set_value(False).run()
    with Session(engine) as s:
        detail = get_meeting(s, meeting_id=meeting.id, actor="system:test")
    agenda = apptest.table(at, *AGENDA)
    assert list(agenda["case"]) == [ids["high"], ids["handoff"]]
    assert list(agenda["#"]) == [1, 2]
    by_case = {item.case_id: item for item in detail.agenda}
    assert [c for c in by_case] == [ids["high"], ids["handoff"]]
    assert by_case[ids["high"]].reason_codes == ("high_risk_joint",)
    assert by_case[ids["handoff"]].reason_codes == ("handoff_pending",)
    assert list(agenda["reasons"]) == [
        "; ".join(r["text"] for r in by_case[c].reasons) for c in agenda["case"]
    ]
    assert "High risk with both forces involved" in agenda["reasons"][0]
    assert (
        "City of London Police → Metropolitan Police Service is requested" in (agenda["reasons"][1])
    )
    assert list(agenda["score"]) == [by_case[c].score for c in agenda["case"]]
    assert list(agenda["risk pts"]) == [20.0, 10.0]
    assert list(agenda["MAPPA pts"]) == [0.0, 0.0]
    high = by_case[ids["high"]]
    assert high.ogrs3 is not None
    assert agenda["OGRS3 2 yrs %"][0] == high.ogrs3.two_year_pct
    assert agenda["OGRS3 pts"][0] == high.score_parts["ogrs3"] > 0
    assert agenda["score"][0] == pytest.approx(sum(high.score_parts.values()))

    # One item in detail: its reasons, score parts and OGRS3 with its inputs.
    at.selectbox(key="jr_item").set_value(high.id).run()
    apptest.ok(at)
    markdown = [m.value for m in at.markdown]
    assert any(m.startswith("**Why it is on the agenda:**") and "High risk" in m for m in markdown)
    assert any(m.startswith("**Score:**") and "OGRS3" in m for m in markdown)
    # Markdown escapes punctuation (the shared ``md``); compare the text as people read it.
    ogrs3_line = next(m for m in markdown if m.startswith("**OGRS3:**")).replace("\\", "")
    assert f"{high.ogrs3.two_year_pct:.2f}" in ogrs3_line
    assert "3 previous sanctions" in ogrs3_line and "first sanction at 16" in ogrs3_line

    # Reorder: the handoff case moves up to first place.
    at.selectbox(key="jr_item").set_value(by_case[ids["handoff"]].id).run()
    at.button(key="jr_up").click().run()
    apptest.ok(at)
    assert list(apptest.table(at, *AGENDA)["case"]) == [ids["handoff"], ids["high"]]

    # A transfer decision on the high-risk case creates the handoff to the Met.
    at.selectbox(key="jr_item").set_value(high.id).run()
    assert at.selectbox(key="jr_target").value == MET
    at.selectbox(key="jr_kind").set_value("transfer")
    at.text_area(key="jr_note").input("Lives in Hackney; the Met takes the lead")
    at.button(key="jr_decide").click().run()
    apptest.ok(at)
    with Session(engine) as s:
        handoff = open_handoff_for_case(s, ids["high"], actor="system:test")
        decided = get_meeting(s, meeting_id=meeting.id, actor="system:test")
    assert handoff is not None
    assert (handoff.from_force_code, handoff.to_force_code, handoff.state) == (
        CITY,
        MET,
        "requested",
    )
    decision = next(i for i in decided.agenda if i.case_id == ids["high"]).decision
    assert decision is not None and decision.handoff_id == handoff.id
    assert apptest.successes(at) == [
        f"Decision recorded for case {ids['high']}: Transfer to Metropolitan Police Service: "
        f"handoff #{handoff.id} requested.",
        f"Handoff #{handoff.id} is requested: follow it on the Handoffs page.",
        # The item stays chosen and shows its decision.
        f"Decision: Transfer to Metropolitan Police Service: handoff #{handoff.id} requested. "
        "Note: Lives in Hackney; the Met takes the lead (by cara.city)",
    ]
    agenda = apptest.table(at, *AGENDA)
    row = agenda[agenda["case"] == ids["high"]].iloc[0]
    assert row["decision"] == (
        f"Transfer to Metropolitan Police Service: handoff #{handoff.id} requested"
    )

    # Add a case by hand, then remove it: a reason is required for the removal.
    at.number_input(key="jr_add_case").set_value(ids["quiet"])
    at.text_input(key="jr_add_reason").input("Raised by the Met")
    at.button(key="jr_add").click().run()
    apptest.ok(at)
    agenda = apptest.table(at, *AGENDA)
    assert ids["quiet"] in set(agenda["case"])
    quiet_row = agenda[agenda["case"] == ids["quiet"]].iloc[0]
    assert "Raised by the Met" in quiet_row["reasons"]
    with Session(engine) as s:
        quiet_item = next(
            i.id
            for i in get_meeting(s, meeting_id=meeting.id, actor="system:test").agenda
            if i.case_id == ids["quiet"]
        )
    at.selectbox(key="jr_item").set_value(quiet_item).run()
    at.button(key="jr_remove").click().run()
    assert at.error, "removing without a reason must be refused"
    assert ids["quiet"] in set(apptest.table(at, *AGENDA)["case"])
    at.text_input(key="jr_remove_reason").input("Not a joint case")
    at.button(key="jr_remove").click().run()
    apptest.ok(at)
    assert ids["quiet"] not in set(apptest.table(at, *AGENDA)["case"])
    removed = apptest.table(at, *REMOVED)
    assert list(removed["removed because"]) == ["Not a joint case"]

    # An action with owner, due date and status; it shows by owner among the open actions.
    due = meeting.meeting_date + timedelta(days=7)
    at.text_input(key="jr_act_desc").input("Check the new address")
    at.selectbox(key="jr_act_owner").set_value("Mo Met")
    at.date_input(key="jr_act_due").set_value(due)
    at.selectbox(key="jr_act_case").set_value(ids["high"])
    at.button(key="jr_add_action").click().run()
    apptest.ok(at)
    actions = apptest.table(at, *ACTIONS)
    assert list(actions["owner"]) == ["Mo Met"]
    assert list(actions["status"]) == ["open"]
    assert list(actions["case"]) == [ids["high"]]
    assert actions["due"][0] == due
    open_by_owner = apptest.table(at, "description", without="status")
    assert list(open_by_owner["description"]) == ["Check the new address"]
    assert open_by_owner.columns[0] == "owner"

    # Export: no download before the recipients are named; then one button per format.
    assert not at.get("download_button")
    assert any("Name the recipients" in i.value for i in at.info)
    at.text_area(key="jr_recipients").input("Met Central East IOM team\nCity IOM").run()
    assert not at.get("download_button"), "no download before the reason is given"
    at.text_input(key="jr_justification").input("Joint review attendees").run()
    apptest.ok(at)
    buttons = {b.proto.label for b in at.get("download_button")}
    assert buttons == {"Download PDF", "Download XLSX", "Download Markdown"}

    # The meetings list shows the meeting.
    meetings = apptest.table(at, *MEETINGS)
    assert list(meetings["meeting"]) == [meeting.id]
    assert list(meetings["status"]) == ["planned"]


def test_pack_export_is_a_recorded_disclosure(review_env: tuple[str, dict[str, int]]) -> None:
    """What a download button runs: the pack, and a disclosure naming the recipients."""
    from ui.components.review import pack_exporter

    url, _ = review_env
    engine = get_engine(url)
    with session_scope(engine) as s:
        meeting = create_meeting(
            s,
            actor="cara.city",
            title="Review",
            meeting_date=london_today(),
            chair="Cara City",
            attendees=["Mo Met"],
        )
        generate_agenda(s, actor="cara.city", meeting_id=meeting.id)
    data = pack_exporter(
        actor="cara.city",
        meeting_id=meeting.id,
        fmt="md",
        recipients=["City IOM", "Met IOM"],
        justification="joint review attendees",
    )()
    assert b"OFFICIAL-SENSITIVE" in data
    with Session(engine) as s:
        event = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "disclosure.meeting_pack")
            .order_by(col(AuditEvent.id).desc())
        ).first()
        offenders = s.exec(select(Offender.id)).all()
    assert event is not None and event.actor == "cara.city"
    assert event.details is not None
    assert event.details["recipients"] == ["City IOM", "Met IOM"]
    assert event.details["format"] == "md"
    assert set(event.details["offender_ids"]) <= set(offenders)


def test_page_says_when_the_data_is_a_synthetic_demo(
    review_env: tuple[str, dict[str, int]],
) -> None:
    from coordination.ledger.chain import record_event
    from coordination.register.synthetic import DEMO_ACTION

    url, _ = review_env
    at = apptest.page("joint_review", user="cara.city")  # signed in
    apptest.ok(at)
    assert not any("Synthetic demo data" in i.value for i in at.info)
    with session_scope(get_engine(url)) as s:
        record_event(
            s,
            actor="pytest",
            action=DEMO_ACTION,
            entity_type="demo",
            entity_id=None,
            details={"seed": 7, "offenders": 3, "today": london_today().isoformat()},
        )
    at.run()
    apptest.ok(at)
    assert any("Synthetic demo data" in i.value for i in at.info)


def test_a_meeting_reaches_its_size_and_records_who_agreed_a_transfer(
    review_env: tuple[str, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items past ``agenda_size`` are not reached; a named attendee accepts for the Met."""
    from coordination.core.settings import reset_settings_cache

    url, ids = review_env
    monkeypatch.setenv("CROSSFORCE_AGENDA_SIZE", "1")
    reset_settings_cache()
    at = apptest.page("joint_review", user="cara.city")
    at.text_input(key="jr_new_chair").input("Cara City")
    at.text_area(key="jr_new_attendees").input("Cara City\nMo Met")
    at.button(key="jr_create").click().run()
    at.button(key="jr_generate").click().run()
    apptest.ok(at)
    assert any(
        c.value.startswith("The meeting works through the first 1 item in agenda order ")
        and "1 more is listed below as not reached" in c.value
        for c in at.caption
    ), [c.value for c in at.caption][1:3]
    reached = [list(d.value["case"]) for d in at.dataframe if "OGRS3 pts" in d.value.columns]
    assert reached == [[ids["high"]]]
    later = apptest.table(at, "#", "score", without="OGRS3 pts")
    assert list(later["case"]) == [ids["handoff"]] and list(later["#"]) == [2]
    assert later["score"][0] > 0

    # Filtering by a reason no reached item has says so, rather than showing an empty table.
    at.multiselect(key="jr_filter_reason").set_value(["handoff_pending"]).run()
    assert "No item reached by the meeting matches these filters." in [i.value for i in at.info]
    at.multiselect(key="jr_filter_reason").set_value([]).run()

    # The City records the transfer; the Met's attendee is named as agreeing: accepted at once.
    picker = at.selectbox(key="jr_item")
    assert picker.options[-1].endswith(f"(case {ids['handoff']}) · not reached")
    (index,) = [n for n, o in enumerate(picker.options) if o.endswith(f"(case {ids['high']})")]
    picker.select_index(index).run()
    assert at.selectbox(key="jr_agreed_by").options == [
        "Nobody here: leave it in their queue",
        "Cara City",
        "Mo Met",
    ]
    at.selectbox(key="jr_kind").set_value("transfer")
    at.selectbox(key="jr_agreed_by").set_value("Mo Met")
    at.button(key="jr_decide").click().run()
    apptest.ok(at)
    with Session(get_engine(url)) as s:
        handoff = open_handoff_for_case(s, ids["high"], actor="system:test")
    assert handoff is not None and handoff.state == "accepted"
    assert f"Handoff #{handoff.id} is accepted: follow it on the Handoffs page." in (
        apptest.successes(at)
    )
