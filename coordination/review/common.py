"""What every part of the joint review shares: its constants, meeting locks and small helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from coordination.core.locking import flush_or_conflict, load_for_update
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.models import (
    AgendaItem,
    Force,
    Meeting,
    ReviewAction,
)
from coordination.security.permissions import Principal, require
from geo.forces import CITY_OF_LONDON, METROPOLITAN

DEFAULT_FORCES: tuple[str, ...] = (CITY_OF_LONDON, METROPOLITAN)
#: With no earlier meeting of the same forces, the agenda looks back this many days.
LOOKBACK_DAYS = 90
#: With no later planned meeting, the next one is assumed this many days after this one.
NEXT_MEETING_DAYS = 28
#: The OGRS3 part of a score is at most this many points, whatever the settings say.
OGRS3_WEIGHT_CAP = 20.0

MEETING_STATUSES: tuple[str, ...] = ("planned", "held", "closed")
_NEXT_STATUS = {"planned": "held", "held": "closed"}
ACTION_STATUSES: tuple[str, ...] = ("open", "done", "cancelled")

#: Reason codes in the order they are listed on an item.
REASON_CODES: tuple[str, ...] = (
    "handoff_overdue",
    "open_escalation",
    "handoff_rejected",
    "handoff_pending",
    "exception_review",
    "crossed_boundary",
    "near_boundary",
    "high_risk_joint",
    "risk_changed",
    "review_due",
    "open_action",
    "case_closed",
    "manual",
)
_REASON_ORDER = {code: i for i, code in enumerate(REASON_CODES)}

# Share of the risk weight by risk of serious harm.
RISK_SHARE: dict[str, float] = {"low": 0.0, "medium": 1 / 3, "high": 2 / 3, "very_high": 1.0}
_RISK_TEXT = {"low": "low", "medium": "medium", "high": "high", "very_high": "very high"}

# --- helpers --------------------------------------------------------------------------------------


def _normalise_forces(session: Session, forces: Iterable[str]) -> list[str]:
    if isinstance(forces, str):
        forces = forces.split(",")
    codes = sorted({str(code).strip().upper() for code in forces if str(code).strip()})
    if len(codes) < 2:
        raise InputError(
            f"A joint review needs two or more distinct forces, got {', '.join(codes) or 'none'}"
        )
    known = set(session.exec(select(Force.code).where(col(Force.code).in_(codes))).all())
    for code in codes:
        if code not in known:
            raise NotFoundError(f"No force with code {code!r} (e.g. E23000034 for the City)")
    return codes


def _meeting_label(meeting_id: int) -> str:
    return f"Meeting {meeting_id}"


def _lock_meeting(
    session: Session, meeting_id: int, *, expected_version: int | None = None
) -> Meeting:
    return load_for_update(
        session,
        Meeting,
        meeting_id,
        label=_meeting_label(meeting_id),
        expected_version=expected_version,
    )


def _require_meeting(session: Session, *, actor: str, action: str, meeting_id: int) -> Principal:
    """Check the actor is of one of the meeting's forces (a missing meeting: the caller says)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        return require(session, actor=actor, action=action)
    return require(
        session,
        actor=actor,
        action=action,
        forces=meeting.forces,
        entity_type="meeting",
        entity_id=str(meeting_id),
    )


def _require_item(session: Session, *, actor: str, item_id: int) -> None:
    item = session.get(AgendaItem, item_id)
    meeting_id = -1 if item is None else item.meeting_id
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)


def _require_action(session: Session, *, actor: str, action_id: int) -> None:
    row = session.get(ReviewAction, action_id)
    meeting_id = -1 if row is None else row.meeting_id
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)


def _writable(meeting: Meeting) -> None:
    if meeting.status == "closed":
        raise ConflictError(
            f"Meeting {meeting.id} is closed: its agenda and decisions can no longer change"
        )


def _touch(session: Session, meeting: Meeting, *, actor: str, now: datetime) -> None:
    """Mark the meeting changed: bumps its version, so a stale page or script is refused."""
    meeting.updated_by = actor
    meeting.updated_at = now
    # Same actor and time as the last change would be no change to SQLAlchemy, and the version
    # would not move; every change to the meeting's agenda must move it.
    flag_modified(meeting, "updated_at")
    flush_or_conflict(session, meeting, label=_meeting_label(int(meeting.id or 0)))


def _same_forces(session: Session, forces: Sequence[str]) -> list[Meeting]:
    wanted = sorted(forces)
    # Meetings are few (a few a month), so the JSON list is compared in Python, the same way on
    # SQLite and PostgreSQL.
    rows = session.exec(select(Meeting).order_by(col(Meeting.meeting_date), col(Meeting.id)))
    return [m for m in rows.all() if sorted(m.forces) == wanted]


def _earlier(a: Meeting, b: Meeting) -> bool:
    """Whether meeting ``a`` comes before meeting ``b`` (same-day meetings by id)."""
    return (a.meeting_date, a.id or 0) < (b.meeting_date, b.id or 0)


def _previous_meeting(session: Session, meeting: Meeting) -> Meeting | None:
    earlier = [m for m in _same_forces(session, meeting.forces) if _earlier(m, meeting)]
    return earlier[-1] if earlier else None


def _next_meeting_date(session: Session, meeting: Meeting) -> date:
    later = [
        m.meeting_date
        for m in _same_forces(session, meeting.forces)
        if m.status == "planned" and m.meeting_date > meeting.meeting_date
    ]
    return min(later) if later else meeting.meeting_date + timedelta(days=NEXT_MEETING_DAYS)


def _offender_name(offender: Any) -> str:
    return f"{offender.first_name} {offender.last_name}"


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def _day(value: date) -> str:
    """A day as people write it in a sentence, e.g. ``2 Dec 2026``."""
    return f"{value.day} {value.strftime('%b %Y')}"


def _metres(value: float) -> str:
    return f"{value:,.0f} m"
