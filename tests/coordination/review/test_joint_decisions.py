"""One person records a joint meeting's decisions, whichever force they are from.

A transfer to the Met agreed at a City–Met meeting needs the Met's acceptance. Recorded by a
City supervisor, it is applied when a Met attendee is named as having agreed, and otherwise
waits in the Met's queue marked "agreed at joint review"; never refused as "only the receiving
force can accept".
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from coordination.core.db import session_scope
from coordination.errors import ConflictError, InputError
from coordination.handoffs.workflow import (
    accept_agreed_at_review,
    get_handoff,
    handoff_history,
    list_handoffs,
)
from coordination.models import Meeting
from coordination.review.agenda import add_item
from coordination.review.decisions import record_decision
from geo.forces import METROPOLITAN as MET
from tests.factories import SYSTEM, World, build_world

MET_ATTENDEE = "DS Morgan Example (Met)"


@pytest.fixture
def joint(engine: Engine) -> tuple[World, int]:
    """The world, with its City→Met requested handoff's case on the joint meeting's agenda."""
    w = build_world(engine)
    with session_scope(engine) as s:
        meeting = s.get(Meeting, w.joint_meeting)
        assert meeting is not None
        meeting.attendees = ["Chair", MET_ATTENDEE]
        s.add(meeting)
        item = add_item(
            s, actor=SYSTEM, meeting_id=w.joint_meeting, case_id=w.handed, reason="moved"
        )
    return w, item.id


def _decide(engine: Engine, item_id: int, actor: str, agreed_by: str | None = None) -> str | None:
    with session_scope(engine) as s:
        decision = record_decision(
            s,
            actor=actor,
            item_id=item_id,
            kind="transfer",
            target_force_code=MET,
            agreed_by=agreed_by,
        )
        return decision.handoff_state


def test_a_city_recorder_naming_the_met_attendee_applies_the_acceptance(
    engine: Engine, joint: tuple[World, int]
) -> None:
    w, item_id = joint
    assert _decide(engine, item_id, "city.sup", agreed_by=" ds morgan  EXAMPLE (met) ") == (
        "accepted"
    )
    with session_scope(engine) as s:
        history = handoff_history(s, w.handoff, actor="met.sup")
    accepted = [e for e in history if e.action == "handoff.accept"]
    assert len(accepted) == 1 and accepted[0].actor == "city.sup"
    note = str((accepted[0].details or {}).get("note"))
    assert f"agreed by {MET_ATTENDEE} for Metropolitan Police Service" in note
    assert "recorded by city.sup" in note


def test_with_no_met_attendee_named_the_transfer_waits_in_the_met_queue_marked(
    engine: Engine, joint: tuple[World, int]
) -> None:
    w, item_id = joint
    assert _decide(engine, item_id, "city.sup") == "requested"  # not refused
    with session_scope(engine) as s:
        queue = list_handoffs(s, actor="met.sup", state="requested")
    view = next(v for v in queue if v.id == w.handoff)
    assert view.agreed_at_review == w.joint_meeting
    # The Met then accepts in its own queue, as any requested handoff.
    with session_scope(engine) as s:
        assert get_handoff(s, w.handoff, actor="met.sup").state == "requested"


def test_a_met_recorder_accepts_for_their_own_force(
    engine: Engine, joint: tuple[World, int]
) -> None:
    _, item_id = joint
    assert _decide(engine, item_id, "met.sup") == "accepted"


def test_the_attendee_must_be_on_the_attendance_list(
    engine: Engine, joint: tuple[World, int]
) -> None:
    _, item_id = joint
    with pytest.raises(InputError, match="not on the attendance list"):
        _decide(engine, item_id, "city.sup", agreed_by="Someone Else")


def test_acceptance_at_review_needs_the_receiving_force_at_the_meeting(
    engine: Engine, joint: tuple[World, int]
) -> None:
    w, _ = joint
    # The City–Kent meeting has no Met attendee to agree for the Met.
    with (
        session_scope(engine) as s,
        pytest.raises(ConflictError, match="not a party to meeting"),
    ):
        accept_agreed_at_review(
            s, actor="city.sup", handoff_id=w.handoff, meeting_id=w.city_meeting, agreed_by="a"
        )
