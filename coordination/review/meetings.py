"""Meetings: creating them, their status, listing and reading them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from coordination.core.validate import acting, aware_now, plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    Meeting,
    MeetingPublic,
    ReviewAction,
)
from coordination.reference.boundaries import bcu_names, force_names
from coordination.review.agenda_rules import _carried_actions
from coordination.review.common import (
    _NEXT_STATUS,
    DEFAULT_FORCES,
    MEETING_STATUSES,
    _lock_meeting,
    _next_meeting_date,
    _normalise_forces,
    _previous_meeting,
    _require_meeting,
    _same_forces,
    _touch,
)
from coordination.review.views import MeetingDetail, _action_views, _item_views, _meeting_items
from coordination.security.permissions import require
from geo.forces import CITY_OF_LONDON, METROPOLITAN

# --- meetings -------------------------------------------------------------------------------------


def create_meeting(
    session: Session,
    *,
    actor: str,
    title: str,
    meeting_date: date,
    chair: str,
    attendees: Sequence[str],
    forces: Sequence[str] = DEFAULT_FORCES,
    now: datetime | None = None,
) -> MeetingPublic:
    """Plan a joint review meeting.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who is creating it (audit log).
    title
        E.g. "City–Met joint review, March"; required.
    meeting_date
        The day of the meeting.
    chair
        Who chairs it; required.
    attendees
        Names or usernames of those attending (blanks and repeats dropped).
    forces
        ONS codes of the forces taking part: two or more distinct known forces (default the City
        and the Met). Stored sorted.
    now
        The time of the change (aware); default now.

    Returns
    -------
    MeetingPublic
        The new meeting, status ``planned``. Audit event ``meeting.create``.

    Raises
    ------
    InputError
        A blank title or chair, a date that is not a date, fewer than two distinct forces.
    NotFoundError
        An unknown force code.
    """
    actor = acting(actor)
    now = aware_now(now)
    title = " ".join(plain_text(title, "the title", multiline=True).split())
    chair = " ".join(plain_text(chair, "the chair", multiline=True).split())
    if not title:
        raise InputError("A meeting needs a title, e.g. 'City–Met joint review, March'")
    if not chair:
        raise InputError("A meeting needs a chair")
    if isinstance(meeting_date, datetime) or not isinstance(meeting_date, date):
        raise InputError(f"The meeting date must be a date like 2025-03-10, not {meeting_date!r}")
    if isinstance(attendees, str):
        raise InputError("Attendees are a list of names, not one string")
    people = list(
        dict.fromkeys(
            " ".join(plain_text(str(a), "an attendee", multiline=True).split())
            for a in attendees
            if str(a).strip()
        )
    )
    codes = _normalise_forces(session, forces)
    require(session, actor=actor, action="meeting.edit", forces=codes)
    meeting = Meeting(
        title=title,
        meeting_date=meeting_date,
        chair=chair,
        attendees=people,
        forces=codes,
        status="planned",
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )
    session.add(meeting)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="meeting.create",
        entity_type="meeting",
        entity_id=str(meeting.id),
        details={
            "title": title,
            "meeting_date": meeting_date.isoformat(),
            "chair": chair,
            "attendees": people,
            "forces": codes,
        },
    )
    return MeetingPublic.model_validate(meeting)


def set_meeting_status(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    status: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> MeetingPublic:
    """Move a meeting on: planned → held → closed (one step at a time, never back).

    Returns
    -------
    MeetingPublic
        The meeting after the change. Audit event ``meeting.status``.

    Raises
    ------
    InputError
        An unknown status.
    NotFoundError
        No such meeting.
    ConflictError
        Not the next status (e.g. closed → held, planned → closed), or the meeting changed since
        ``expected_version``.
    """
    actor = acting(actor)
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)
    now = aware_now(now)
    if status not in MEETING_STATUSES:
        raise InputError(
            f"Unknown meeting status {status!r}: use one of {', '.join(MEETING_STATUSES)}"
        )
    meeting = _lock_meeting(session, meeting_id, expected_version=expected_version)
    before = meeting.status
    if _NEXT_STATUS.get(before) != status:
        allowed = _NEXT_STATUS.get(before)
        then = f"it can only become {allowed}" if allowed else "nothing follows closed"
        raise ConflictError(f"Meeting {meeting_id} is {before}: {then}, not {status}")
    meeting.status = status  # type: ignore[assignment]
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="meeting.status",
        entity_type="meeting",
        entity_id=str(meeting_id),
        details={"from_status": before, "to_status": status},
    )
    return MeetingPublic.model_validate(meeting)


def list_meetings(
    session: Session, *, forces: Sequence[str] | None = None, actor: str
) -> list[MeetingPublic]:
    """Return meetings, latest first; with ``forces``, only meetings of exactly those forces.

    A user sees only meetings of their own force.
    """
    p = require(session, actor=actor, action="meeting.view")
    if forces is not None:
        rows = _same_forces(session, _normalise_forces(session, forces))
    else:
        rows = list(session.exec(select(Meeting)).all())
    if not p.is_system:
        rows = [m for m in rows if p.force_code in m.forces]
    rows.sort(key=lambda m: (m.meeting_date, m.id or 0), reverse=True)
    return [MeetingPublic.model_validate(m) for m in rows]


def planned_meeting(
    session: Session, *, forces: Sequence[str], meeting_date: date
) -> MeetingPublic | None:
    """Return the planned meeting of exactly these forces on this date (the first), or ``None``."""
    for m in _same_forces(session, _normalise_forces(session, forces)):
        if m.status == "planned" and m.meeting_date == meeting_date:
            return MeetingPublic.model_validate(m)
    return None


def default_title(session: Session, *, forces: Sequence[str], meeting_date: date) -> str:
    """Return a title such as "City of London Police – Metropolitan Police Service joint review,
    2025-03-10" for a meeting of these forces."""
    names = force_names(session)
    # The City first, then the Met: the forces this tool was built for, named as people say it.
    codes = sorted(
        _normalise_forces(session, forces),
        key=lambda c: (c != CITY_OF_LONDON, c != METROPOLITAN, c),
    )
    return f"{' – '.join(names.get(c, c) for c in codes)} joint review, {meeting_date.isoformat()}"


def get_meeting(session: Session, *, meeting_id: int, actor: str) -> MeetingDetail:
    """Return a meeting with its agenda (reasons, scores, decisions) and actions.

    Raises
    ------
    NotFoundError
        No such meeting.
    """
    _require_meeting(session, actor=actor, action="meeting.view", meeting_id=meeting_id)
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"Meeting {meeting_id} does not exist")
    items = _item_views(session, meeting, _meeting_items(session, meeting_id), actor=actor)
    actions = session.exec(
        select(ReviewAction)
        .where(ReviewAction.meeting_id == meeting_id)
        .order_by(col(ReviewAction.id))
    ).all()
    previous = _previous_meeting(session, meeting)
    names = force_names(session)
    item_bcus = {i.residence_bcu_code for i in items}
    return MeetingDetail(
        meeting=MeetingPublic.model_validate(meeting),
        items=items,
        actions=_action_views(session, actions, actor=actor),
        carried_actions=_action_views(session, _carried_actions(session, meeting), actor=actor),
        previous_meeting_date=previous.meeting_date if previous else None,
        next_meeting_date=_next_meeting_date(session, meeting),
        force_names={code: names.get(code, code) for code in meeting.forces},
        bcu_names={code: name for code, name in bcu_names(session).items() if code in item_bcus},
    )
