"""The demo's last joint review: a City–Met meeting two weeks ago, with decisions and actions.

Without it the Joint review page is empty on first run, and a new meeting has nothing to carry
over. The meeting is generated and worked through with the same services people use (agenda,
decisions, actions, status), acted by the demo's own supervisors, so the audit log tells the
same story the page shows.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from coordination.review.actions import add_action
from coordination.review.agenda import generate_agenda
from coordination.review.decisions import record_decision
from coordination.review.meetings import create_meeting, default_title, set_meeting_status
from geo.forces import CITY_OF_LONDON, METROPOLITAN

#: How long ago the demo's meeting was held.
MEETING_AGO_DAYS = 14
# Decisions taken on the first items, in agenda order: none moves a case between forces, so the
# seeded handoffs keep the states the story gave them.
_DECISIONS: tuple[tuple[str, str], ...] = (
    ("joint", "Manage jointly until the move is confirmed; both forces share intelligence."),
    ("retain", "The City keeps the lead; the address is to be verified."),
    ("escalate", "Refer to the MAPPA coordinator before the next meeting."),
    ("retain", "No change: review again at the next meeting."),
    ("nfa", "Resolved since the agenda was drawn up."),
)
_ACTIONS: tuple[tuple[str, int], ...] = (
    ("Verify the new address with a home visit", 7),
    ("Share the risk management plan with the receiving BCU", 10),
    ("Confirm MAPPA level with the coordinator", 21),
)


def seed_past_meeting(
    session: Session,
    *,
    rng: random.Random,
    city_supervisor: str,
    met_supervisor: str,
    attendees: tuple[str, str],
    today: date,
    near_boundary_m: float,
) -> int | None:
    """Hold the demo's last City–Met joint review: agenda, a few decisions, open actions.

    Parameters
    ----------
    session
        The demo's session (the caller commits).
    rng
        The demo's random generator (the meeting is the same for the same seed).
    city_supervisor, met_supervisor
        Usernames of demo supervisors: the City's records the meeting; actions are theirs.
    attendees
        How the two are named on the attendance list (the City's chairs).
    today
        The demo's today; the meeting is :data:`MEETING_AGO_DAYS` before it.
    near_boundary_m
        As for the agenda rules.

    Returns
    -------
    int | None
        The meeting's id, or ``None`` when its agenda came out empty (a tiny demo).
    """
    held_on = today - timedelta(days=MEETING_AGO_DAYS)
    forces = [CITY_OF_LONDON, METROPOLITAN]
    meeting = create_meeting(
        session,
        actor=city_supervisor,
        title=default_title(session, forces=forces, meeting_date=held_on),
        meeting_date=held_on,
        chair=attendees[0],
        attendees=list(attendees),
        forces=forces,
    )
    agenda = generate_agenda(
        session,
        actor=city_supervisor,
        meeting_id=meeting.id,
        near_boundary_m=near_boundary_m,
        today=held_on,
    )
    if not agenda:
        return None
    decided = [item for item in agenda if not item.withheld][: len(_DECISIONS)]
    for item, (kind, note) in zip(decided, _DECISIONS, strict=False):
        partner = METROPOLITAN if item.lead_force_code == CITY_OF_LONDON else CITY_OF_LONDON
        record_decision(
            session,
            actor=city_supervisor,
            item_id=item.id,
            kind=kind,
            note=note,
            target_force_code=partner if kind == "joint" else None,
        )
    owners = [city_supervisor, met_supervisor]
    for n, (description, due_in) in enumerate(_ACTIONS):
        about = decided[n % len(decided)].case_id if decided else None
        add_action(
            session,
            actor=city_supervisor,
            meeting_id=meeting.id,
            description=description,
            owner=owners[n % 2] if n else rng.choice(owners),
            due_date=held_on + timedelta(days=due_in),
            case_id=about,
            # Recorded at the meeting: its due dates were in the future then.
            now=datetime.combine(held_on, time(17), tzinfo=UTC),
        )
    set_meeting_status(session, actor=city_supervisor, meeting_id=meeting.id, status="held")
    return meeting.id
