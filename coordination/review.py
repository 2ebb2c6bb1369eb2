"""Joint review meetings: the agenda and its reasons, priority, decisions and actions.

Forces that share offenders (by default the City of London Police and the Metropolitan Police
Service) meet to agree who manages whom. A :class:`~coordination.models.Meeting` names the forces
taking part (two or more ONS codes, sorted); its agenda is generated from what happened since the
last meeting of the *same* forces (or the last 90 days when there was none). Each agenda item is
one case with the reasons it is there, as ``{"code", "text"}``:

``handoff_pending`` / ``handoff_overdue``
    The case has an open handoff between two of the meeting's forces (overdue: its current
    deadline, :func:`coordination.handoffs.current_deadline`, has passed).
``crossed_boundary``
    The offender's residence moved from one of the meeting's forces to another on or after the
    last meeting's date (the latest earlier meeting of exactly the same forces, whatever its
    status; a move dated that day counts, one dated the day before does not).
``near_boundary``
    The current residence lies within ``near_boundary_m`` of a force boundary (the distance
    stored on the address row), lives in one of the meeting's forces, and the case is led by one
    of them. When the active boundary set has the meeting's force areas, the boundary must be
    with *another of the meeting's forces* (a Met resident by the Surrey border is not a City–Met
    matter).
``high_risk_joint``
    MAPPA level 2 or 3, or high / very high risk, with both forces involved: one of the meeting's
    forces leads and the residence, or an open handoff, involves another of them.
``review_due``
    With both forces involved as above, the case's review falls before the next meeting (the
    earliest later planned meeting of the same forces, else meeting date + 28 days).
``open_action``
    An open action from an earlier meeting of the same forces is about the case; open actions
    carry over by themselves because every generation looks for them.
``manual``
    Someone added the case by hand, with a reason.

Rules apply to open cases led by one of the meeting's forces (except ``open_action``, which
follows the action). Regenerating refreshes reasons and scores and keeps manual additions and
removals; items that no longer match a rule disappear unless added by hand, removed by hand (kept
as a record) or decided.

**Priority** is a transparent sum with its parts kept in ``score_parts``: risk of serious harm,
MAPPA level, OGRS3 (two-year probability; its weight is capped, so it never decides alone) and days
overdue (capped), weighted by settings (``CROSSFORCE_PRIORITY_WEIGHT_*``). The agenda is ordered by
score until someone moves an item; from then on the people's order wins and new items are slotted
in by score.

Every change locks the meeting row (optimistic ``version``; a row lock on PostgreSQL) and records
an audit event in the same transaction. A closed meeting is read-only, except that its actions can
still be marked done or cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from coordination._locking import flush_or_conflict, load_for_update
from coordination.audit import record_event
from coordination.calendar import london_date
from coordination.handoffs import create_handoff, current_deadline, rag_status, transition
from coordination.models import (
    DECISION_KINDS,
    OPEN_HANDOFF_STATES,
    Address,
    AgendaItem,
    Area,
    AuditEvent,
    BoundarySet,
    Case,
    Force,
    Handoff,
    Meeting,
    MeetingPublic,
    Offender,
    ReviewAction,
    ReviewDecision,
    utcnow,
)
from coordination.ogrs3 import CaseOgrs3, Ogrs3Result, ogrs3_for_case
from coordination.permissions import Principal, require
from coordination.settings import Settings, get_settings
from geo.errors import ConflictError, InputError, NotFoundError
from geo.forces import CITY_OF_LONDON, METROPOLITAN

__all__ = [
    "DEFAULT_FORCES",
    "LOOKBACK_DAYS",
    "MEETING_STATUSES",
    "NEXT_MEETING_DAYS",
    "OGRS3_WEIGHT_CAP",
    "REASON_CODES",
    "ActionView",
    "AgendaItemView",
    "DecisionView",
    "MeetingDetail",
    "PriorityWeights",
    "add_action",
    "add_item",
    "create_meeting",
    "default_title",
    "generate_agenda",
    "get_meeting",
    "list_meetings",
    "move_item",
    "open_actions",
    "planned_meeting",
    "priority_score",
    "record_decision",
    "remove_item",
    "set_action_status",
    "set_meeting_status",
]

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
    "handoff_pending",
    "crossed_boundary",
    "near_boundary",
    "high_risk_joint",
    "review_due",
    "open_action",
    "manual",
)
_REASON_ORDER = {code: i for i, code in enumerate(REASON_CODES)}

# Share of the risk weight by risk of serious harm.
RISK_SHARE: dict[str, float] = {"low": 0.0, "medium": 1 / 3, "high": 2 / 3, "very_high": 1.0}
_RISK_TEXT = {"low": "low", "medium": "medium", "high": "high", "very_high": "very high"}

# IN lists are split so that SQLite's bound-parameter limit is never reached.
_CHUNK = 5000

T = TypeVar("T")


# --- priority -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityWeights:
    """Weights of the agenda priority score (defaults from settings).

    Attributes
    ----------
    risk
        Points for very high risk (high 2/3, medium 1/3, low 0).
    mappa
        Points for MAPPA level 3 (level 2 2/3, level 1 1/3, none outside MAPPA).
    ogrs3
        Points for a two-year OGRS3 probability of 100%; capped at :data:`OGRS3_WEIGHT_CAP`.
    overdue
        Points per day overdue.
    overdue_cap_days
        Days overdue beyond this add nothing.
    """

    risk: float = 30.0
    mappa: float = 30.0
    ogrs3: float = 20.0
    overdue: float = 1.0
    overdue_cap_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PriorityWeights:
        """Return the weights configured in settings (``CROSSFORCE_PRIORITY_WEIGHT_*``)."""
        s = settings or get_settings()
        return cls(
            risk=s.priority_weight_risk,
            mappa=s.priority_weight_mappa,
            ogrs3=s.priority_weight_ogrs3,
            overdue=s.priority_weight_overdue,
            overdue_cap_days=s.priority_overdue_cap_days,
        )


def priority_score(
    *,
    risk: str,
    mappa_level: int | None,
    ogrs3_two_year: float | None,
    overdue_days: int,
    weights: PriorityWeights,
) -> tuple[float, dict[str, float]]:
    """Return an item's priority score and its named parts.

    Parameters
    ----------
    risk
        ``low``, ``medium``, ``high`` or ``very_high``.
    mappa_level
        1–3 for a MAPPA case, else ``None``.
    ogrs3_two_year
        The two-year OGRS3 probability in (0, 1), or ``None`` when it cannot be computed.
    overdue_days
        Days overdue (0 when nothing is overdue).
    weights
        The weights.

    Returns
    -------
    tuple[float, dict[str, float]]
        ``(score, {"risk": …, "mappa": …, "ogrs3": …, "overdue": …})``, each part rounded to two
        decimals and the score their sum. E.g. very high risk, MAPPA level 2, OGRS3 42% and 12
        days overdue with the default weights: ``(70.4, {"risk": 30, "mappa": 20, "ogrs3": 8.4,
        "overdue": 12})``.
    """
    level = mappa_level if mappa_level in (1, 2, 3) else 0
    ogrs3_weight = min(weights.ogrs3, OGRS3_WEIGHT_CAP)
    days = min(max(overdue_days, 0), weights.overdue_cap_days)
    parts = {
        "risk": round(weights.risk * RISK_SHARE.get(risk, 0.0), 2),
        "mappa": round(weights.mappa * level / 3, 2),
        "ogrs3": 0.0 if ogrs3_two_year is None else round(ogrs3_weight * ogrs3_two_year, 2),
        "overdue": round(weights.overdue * days, 2),
    }
    return round(sum(parts.values()), 2), parts


# --- views ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionView:
    """The decision recorded for an agenda item.

    Attributes
    ----------
    id, agenda_item_id, meeting_id, case_id
        Identifiers.
    kind
        ``retain``, ``transfer``, ``joint``, ``escalate``, ``nfa`` or ``other``.
    target_force_code, target_force_name
        The force named by the decision (required for a transfer).
    note
        Free text.
    handoff_id, handoff_state
        The handoff a transfer created or advanced, and its state now.
    decided_at, decided_by
        When and by whom.
    """

    id: int
    agenda_item_id: int
    meeting_id: int
    case_id: int
    kind: str
    target_force_code: str | None
    target_force_name: str | None
    note: str
    handoff_id: int | None
    handoff_state: str | None
    decided_at: datetime
    decided_by: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "agenda_item_id": self.agenda_item_id,
            "meeting_id": self.meeting_id,
            "case_id": self.case_id,
            "kind": self.kind,
            "target_force_code": self.target_force_code,
            "target_force_name": self.target_force_name,
            "note": self.note,
            "handoff_id": self.handoff_id,
            "handoff_state": self.handoff_state,
            "decided_at": self.decided_at.isoformat(),
            "decided_by": self.decided_by,
        }


@dataclass(frozen=True)
class AgendaItemView:
    """One case on an agenda, with who it is, why it is there, its score and any decision.

    Attributes
    ----------
    id, meeting_id, case_id, offender_id
        Identifiers (``id`` is the agenda item).
    position
        1-based place on the agenda (removed items come after the others).
    offender_name, pnc_id
        The (synthetic) person.
    lead_force_code, lead_force_name
        Who leads the case now.
    residence_force_code, residence_postcode, distance_to_boundary_m
        The current residence as stored (``None`` when unknown or of no fixed abode).
    programme, risk, mappa_level, next_review_due
        Case facts behind the reasons and the score.
    reasons
        ``({"code": …, "text": …}, …)`` in :data:`REASON_CODES` order.
    score, score_parts
        The priority and its named parts (:func:`priority_score`).
    ogrs3
        The OGRS3 score with its inputs, or ``None``; ``ogrs3_note`` then says why.
    added_manually, added_reason, removed, removed_reason
        Manual changes to the agenda.
    decision
        The decision, once recorded.
    """

    id: int
    meeting_id: int
    case_id: int
    offender_id: int
    position: int
    offender_name: str
    pnc_id: str
    lead_force_code: str
    lead_force_name: str
    residence_force_code: str | None
    residence_postcode: str | None
    distance_to_boundary_m: float | None
    programme: str
    risk: str
    mappa_level: int | None
    next_review_due: date | None
    reasons: tuple[dict[str, str], ...]
    score: float
    score_parts: dict[str, float]
    ogrs3: Ogrs3Result | None
    ogrs3_note: str | None
    added_manually: bool
    added_reason: str | None
    removed: bool
    removed_reason: str | None
    decision: DecisionView | None

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes, e.g. ``("handoff_overdue", "high_risk_joint")``."""
        return tuple(r["code"] for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (as ``crossforce review agenda --json`` prints each item)."""
        return {
            "item_id": self.id,
            "meeting_id": self.meeting_id,
            "position": self.position,
            "case_id": self.case_id,
            "offender_id": self.offender_id,
            "offender_name": self.offender_name,
            "pnc_id": self.pnc_id,
            "lead_force_code": self.lead_force_code,
            "lead_force_name": self.lead_force_name,
            "residence_force_code": self.residence_force_code,
            "residence_postcode": self.residence_postcode,
            "distance_to_boundary_m": self.distance_to_boundary_m,
            "programme": self.programme,
            "risk": self.risk,
            "mappa_level": self.mappa_level,
            "next_review_due": self.next_review_due.isoformat() if self.next_review_due else None,
            "reasons": [dict(r) for r in self.reasons],
            "score": self.score,
            "score_parts": dict(self.score_parts),
            "ogrs3": self.ogrs3.to_dict() if self.ogrs3 else None,
            "ogrs3_note": self.ogrs3_note,
            "added_manually": self.added_manually,
            "added_reason": self.added_reason,
            "removed": self.removed,
            "removed_reason": self.removed_reason,
            "decision": self.decision.to_dict() if self.decision else None,
        }


@dataclass(frozen=True)
class ActionView:
    """An action agreed at a meeting.

    Attributes
    ----------
    id, meeting_id, case_id
        Identifiers (``case_id`` may be ``None``: not every action is about one case).
    meeting_date, meeting_title, forces
        The meeting that agreed it.
    description, owner, due_date, status
        What, who, by when, and ``open`` / ``done`` / ``cancelled``.
    offender_name
        The case's offender, when there is a case.
    created_at, created_by, closed_at
        Its history.
    """

    id: int
    meeting_id: int
    meeting_date: date
    meeting_title: str
    forces: tuple[str, ...]
    case_id: int | None
    offender_name: str | None
    description: str
    owner: str
    due_date: date | None
    status: str
    created_at: datetime
    created_by: str
    closed_at: datetime | None

    def is_overdue(self, today: date) -> bool:
        """Whether an open action's due date has passed on ``today``."""
        return self.status == "open" and self.due_date is not None and self.due_date < today

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "meeting_id": self.meeting_id,
            "meeting_date": self.meeting_date.isoformat(),
            "meeting_title": self.meeting_title,
            "forces": list(self.forces),
            "case_id": self.case_id,
            "offender_name": self.offender_name,
            "description": self.description,
            "owner": self.owner,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


@dataclass(frozen=True)
class MeetingDetail:
    """A meeting with its whole agenda, decisions and actions (what the pack shows).

    Attributes
    ----------
    meeting
        The meeting.
    items
        Every agenda item in position order, removed ones last (``removed`` says so).
    actions
        Actions agreed at this meeting.
    carried_actions
        Open actions from earlier meetings of the same forces (they carry over).
    previous_meeting_date
        Date of the last earlier meeting of the same forces, if any.
    next_meeting_date
        The next meeting: the earliest later planned one, else this date + 28 days.
    force_names
        Display names of the meeting's forces, by code.
    """

    meeting: MeetingPublic
    items: list[AgendaItemView]
    actions: list[ActionView]
    carried_actions: list[ActionView]
    previous_meeting_date: date | None
    next_meeting_date: date
    force_names: dict[str, str] = field(default_factory=dict)

    @property
    def agenda(self) -> list[AgendaItemView]:
        """The items still on the agenda (not removed), in order."""
        return [item for item in self.items if not item.removed]


# --- helpers --------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware (e.g. datetime.now(UTC))")
    return now


def _actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor:
        raise InputError("Every change needs an actor: set CROSSFORCE_USER or sign in")
    return actor


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _in_ids(column: Any, ids: Sequence[int]) -> Any:
    """``column IN (…)`` for many integer ids, rendered inline.

    Thousands of bound parameters cost more to parse (psycopg splits the query at each) than the
    query costs to run; integers are safe to render into the SQL.
    """
    values = [int(v) for v in ids]
    return column.in_(sa.bindparam("ids", value=values, expanding=True, literal_execute=True))


def _force_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.exec(select(Force.code, Force.name)).all()}


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


def _require_meeting(
    session: Session, *, actor: str | None, action: str, meeting_id: int
) -> Principal:
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


def _metres(value: float) -> str:
    return f"{value:,.0f} m"


# --- case facts -----------------------------------------------------------------------------------


@dataclass
class _Facts:
    """What scoring and showing an item need, read as plain column rows (not ORM objects:
    building thousands of table models would cost more than the queries)."""

    case: Any  # case columns and the offender's (see _CASE_COLUMNS)
    residence: Any | None  # force_code, postcode, distance_to_boundary_m
    handoff: Any | None  # id, state, address_check_due, completion_due
    scored_on: date | None = None
    ogrs3: CaseOgrs3 | None = None

    @property
    def offender(self) -> Any:
        return self.case


_CASE_COLUMNS = (
    col(Case.id),
    col(Case.offender_id),
    col(Case.lead_force_code),
    col(Case.programme),
    col(Case.risk),
    col(Case.mappa_level),
    col(Case.next_review_due),
    col(Case.offence_category),
    col(Case.previous_sanctions),
    col(Case.age_at_first_sanction),
    col(Case.conviction_date),
    col(Offender.first_name),
    col(Offender.last_name),
    col(Offender.pnc_id),
    col(Offender.sex),
    col(Offender.date_of_birth),
)


def _load_facts(session: Session, case_ids: Iterable[int]) -> dict[int, _Facts]:
    ids = sorted(set(case_ids))
    facts: dict[int, _Facts] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            sa.select(*_CASE_COLUMNS)
            .join(Offender, col(Offender.id) == col(Case.offender_id))
            .where(_in_ids(col(Case.id), chunk))
        ).all()
        by_offender: dict[int, list[_Facts]] = defaultdict(list)
        for row in rows:
            f = _Facts(row, None, None)
            facts[int(row.id)] = f
            by_offender[int(row.offender_id)].append(f)
        homes = session.execute(
            sa.select(
                col(Address.offender_id),
                col(Address.force_code),
                col(Address.postcode),
                col(Address.distance_to_boundary_m),
            ).where(
                _in_ids(col(Address.offender_id), sorted(by_offender)),
                col(Address.valid_to).is_(None),
            )
        ).all()
        for home in homes:
            for f in by_offender[int(home.offender_id)]:
                f.residence = home
        handoffs = session.execute(
            sa.select(
                col(Handoff.id),
                col(Handoff.case_id),
                col(Handoff.state),
                col(Handoff.address_check_due),
                col(Handoff.completion_due),
            ).where(
                _in_ids(col(Handoff.case_id), chunk), col(Handoff.state).in_(OPEN_HANDOFF_STATES)
            )
        ).all()
        for h in handoffs:
            facts[int(h.case_id)].handoff = h
    return facts


def _handoff_overdue_days(handoff: Any | None, today: date) -> int:
    if handoff is None:
        return 0
    due, _ = current_deadline(handoff.state, handoff.address_check_due, handoff.completion_due)
    _, _, days = rag_status(handoff.state, due, today)
    return days


def _overdue_days(facts: _Facts, today: date) -> int:
    review = facts.case.next_review_due
    review_days = (today - review).days if review is not None and review < today else 0
    return max(review_days, _handoff_overdue_days(facts.handoff, today))


def _ogrs3(facts: _Facts, on: date) -> CaseOgrs3:
    # Scored and then shown on the same day: compute it once.
    if facts.ogrs3 is None or facts.scored_on != on:
        facts.ogrs3 = ogrs3_for_case(case=facts.case, offender=facts.offender, on=on)
        facts.scored_on = on
    return facts.ogrs3


def _score(
    facts: _Facts, *, on: date, today: date, weights: PriorityWeights
) -> tuple[float, dict[str, float]]:
    result = _ogrs3(facts, on).result
    return priority_score(
        risk=facts.case.risk,
        mappa_level=facts.case.mappa_level,
        ogrs3_two_year=None if result is None else result.two_year,
        overdue_days=_overdue_days(facts, today),
        weights=weights,
    )


# --- the agenda rules -----------------------------------------------------------------------------

Reasons = dict[int, list[dict[str, str]]]


def _add(found: Reasons, case_id: int, code: str, text: str) -> None:
    reasons = found.setdefault(case_id, [])
    if not any(r["code"] == code for r in reasons):
        reasons.append({"code": code, "text": text})


def _rule_handoffs(
    session: Session, forces: Sequence[str], names: dict[str, str], today: date, found: Reasons
) -> None:
    rows = session.execute(
        sa.select(
            col(Handoff.id),
            col(Handoff.case_id),
            col(Handoff.from_force_code),
            col(Handoff.to_force_code),
            col(Handoff.state),
            col(Handoff.address_check_due),
            col(Handoff.completion_due),
        )
        .join(Case, col(Case.id) == col(Handoff.case_id))
        .where(
            col(Handoff.state).in_(OPEN_HANDOFF_STATES),
            col(Handoff.from_force_code).in_(forces),
            col(Handoff.to_force_code).in_(forces),
            col(Case.status) == "open",
        )
    ).all()
    for h in rows:
        route = (
            f"{names.get(h.from_force_code, h.from_force_code)} → "
            f"{names.get(h.to_force_code, h.to_force_code)}"
        )
        due, kind = current_deadline(h.state, h.address_check_due, h.completion_due)
        _, overdue, days = rag_status(h.state, due, today)
        if overdue and due is not None:
            text = (
                f"Handoff {h.id} {route} is overdue by {_days(days)} "
                f"({kind} was due {due.isoformat()})"
            )
            _add(found, h.case_id, "handoff_overdue", text)
        elif due is None:
            text = f"Handoff {h.id} {route} is {h.state}, not yet requested"
            _add(found, h.case_id, "handoff_pending", text)
        else:
            text = f"Handoff {h.id} {route} is {h.state}; {kind} due {due.isoformat()}"
            _add(found, h.case_id, "handoff_pending", text)


def _rule_crossed(
    session: Session, forces: Sequence[str], names: dict[str, str], since: date, found: Reasons
) -> None:
    # Each address beside the one before it (LAG over the person's history, SQLite ≥ 3.25 and
    # PostgreSQL alike), for the people with an address in the meeting's forces since `since`.
    movers = (
        sa.select(col(Address.offender_id))
        .where(col(Address.valid_from) >= since, col(Address.force_code).in_(forces))
        .distinct()
    )
    history = (
        sa.select(
            col(Address.id),
            col(Address.offender_id),
            col(Address.valid_from),
            col(Address.force_code),
            col(Address.postcode),
            sa.func.lag(col(Address.force_code))
            .over(
                partition_by=col(Address.offender_id),
                order_by=(col(Address.valid_from), col(Address.id)),
            )
            .label("previous_force"),
        )
        .where(col(Address.offender_id).in_(movers))
        .subquery()
    )
    rows = session.execute(
        sa.select(
            col(Case.id).label("case_id"),
            history.c.id,
            history.c.valid_from,
            history.c.force_code,
            history.c.postcode,
            history.c.previous_force,
        )
        .join(Case, col(Case.offender_id) == history.c.offender_id)
        .where(
            history.c.valid_from >= since,
            history.c.force_code.in_(forces),
            history.c.previous_force.in_(forces),
            history.c.previous_force != history.c.force_code,
            col(Case.status) == "open",
            col(Case.lead_force_code).in_(forces),
        )
        # The latest crossing is the one worth saying: later rows overwrite earlier ones.
        .order_by(history.c.valid_from, history.c.id)
    ).all()
    latest: dict[int, Any] = {}
    for row in rows:
        latest[int(row.case_id)] = row
    for case_id, row in latest.items():
        where = f" ({row.postcode})" if row.postcode else ""
        text = (
            f"Moved from {names.get(row.previous_force, row.previous_force)} to "
            f"{names.get(row.force_code, row.force_code)} on "
            f"{row.valid_from.isoformat()}{where}"
        )
        _add(found, case_id, "crossed_boundary", text)


def _force_geometries(session: Session, forces: Sequence[str]) -> dict[str, Any]:
    """Return the active boundary set's force polygons for these codes (those it has)."""
    import shapely

    active = session.exec(select(BoundarySet.id).where(col(BoundarySet.active))).first()
    if active is None:
        return {}
    rows = session.exec(
        select(Area.code, Area.geometry).where(
            Area.boundary_set_id == active, Area.kind == "force", col(Area.code).in_(forces)
        )
    ).all()
    return {code: shapely.from_wkb(wkb) for code, wkb in rows if wkb is not None}


def _rule_near_boundary(
    session: Session,
    forces: Sequence[str],
    names: dict[str, str],
    near_m: float,
    found: Reasons,
) -> None:
    import shapely

    distance = col(Address.distance_to_boundary_m)
    rows = session.execute(
        sa.select(
            col(Case.id).label("case_id"),
            col(Address.force_code),
            col(Address.postcode),
            col(Address.easting),
            col(Address.northing),
            col(Address.distance_to_boundary_m),
        )
        .join(Address, col(Address.offender_id) == col(Case.offender_id))
        .where(
            col(Case.status) == "open",
            col(Case.lead_force_code).in_(forces),
            col(Address.valid_to).is_(None),
            col(Address.state) == "residence",
            col(Address.force_code).in_(forces),
            sa.or_(distance <= near_m, sa.and_(distance.is_(None), col(Address.near_boundary))),
        )
    ).all()
    if not rows:
        return
    geometries = _force_geometries(session, forces)
    for address in rows:
        others = [code for code in forces if code != address.force_code]
        partner: str | None = None
        point_known = address.easting is not None and address.northing is not None
        if point_known and others and all(code in geometries for code in others):
            point = shapely.Point(address.easting, address.northing)
            nearest = min(others, key=lambda code: shapely.distance(geometries[code], point))
            if shapely.distance(geometries[nearest], point) > near_m:
                # Near a boundary, but with a force that is not at this meeting.
                continue
            partner = nearest
        metres = address.distance_to_boundary_m
        how_far = f"{_metres(metres)} from" if metres is not None else "on"
        boundary = (
            f"the boundary with {names.get(partner, partner)}" if partner else "a force boundary"
        )
        where = f" ({address.postcode})" if address.postcode else ""
        text = (
            f"Lives in {names.get(str(address.force_code), address.force_code)}{where}, "
            f"{how_far} {boundary}: responsibility may be unclear"
        )
        _add(found, int(address.case_id), "near_boundary", text)


def _rule_joint(
    session: Session,
    forces: Sequence[str],
    names: dict[str, str],
    next_date: date,
    found: Reasons,
) -> None:
    """``high_risk_joint`` and ``review_due``: cases with both forces involved."""
    high = sa.or_(col(Case.mappa_level).in_((2, 3)), col(Case.risk).in_(("high", "very_high")))
    due = col(Case.next_review_due) < next_date
    involved: dict[int, tuple[Any, str]] = {}
    columns = (
        col(Case.id),
        col(Case.lead_force_code),
        col(Case.risk),
        col(Case.mappa_level),
        col(Case.next_review_due),
    )
    by_residence = session.execute(
        sa.select(*columns, col(Address.force_code).label("residence_force"))
        .join(Address, col(Address.offender_id) == col(Case.offender_id))
        .where(
            col(Case.status) == "open",
            col(Case.lead_force_code).in_(forces),
            col(Address.valid_to).is_(None),
            col(Address.force_code).in_(forces),
            col(Address.force_code) != col(Case.lead_force_code),
            sa.or_(high, due),
        )
    ).all()
    for case in by_residence:
        involved[int(case.id)] = (case, f"lives in {names.get(case.residence_force, '?')}")
    by_handoff = session.execute(
        sa.select(
            *columns,
            col(Handoff.id).label("handoff_id"),
            col(Handoff.to_force_code).label("handoff_to"),
        )
        .join(Handoff, col(Handoff.case_id) == col(Case.id))
        .where(
            col(Case.status) == "open",
            col(Case.lead_force_code).in_(forces),
            col(Handoff.state).in_(OPEN_HANDOFF_STATES),
            col(Handoff.to_force_code).in_(forces),
            col(Handoff.to_force_code) != col(Case.lead_force_code),
            sa.or_(high, due),
        )
    ).all()
    for case in by_handoff:
        involved.setdefault(
            int(case.id),
            (case, f"handoff {case.handoff_id} to {names.get(case.handoff_to, '?')} is open"),
        )
    for case_id, (case, how) in involved.items():
        lead = names.get(case.lead_force_code, case.lead_force_code)
        if case.mappa_level in (2, 3) or case.risk in ("high", "very_high"):
            what = []
            if case.mappa_level in (2, 3):
                what.append(f"MAPPA level {case.mappa_level}")
            if case.risk in ("high", "very_high"):
                what.append(f"{_RISK_TEXT[case.risk]} risk")
            joined = " and ".join(what)
            text = f"{joined[0].upper()}{joined[1:]} with both forces involved: {lead} leads, {how}"
            _add(found, case_id, "high_risk_joint", text)
        if case.next_review_due is not None and case.next_review_due < next_date:
            text = (
                f"Review due {case.next_review_due.isoformat()}, before the next meeting "
                f"({next_date.isoformat()}); {lead} leads, {how}"
            )
            _add(found, case_id, "review_due", text)


def _earlier_meetings(session: Session, meeting: Meeting) -> dict[int, Meeting]:
    return {
        int(m.id or 0): m for m in _same_forces(session, meeting.forces) if _earlier(m, meeting)
    }


def _carried_actions(session: Session, meeting: Meeting) -> list[ReviewAction]:
    earlier = _earlier_meetings(session, meeting)
    if not earlier:
        return []
    rows = list(
        session.exec(
            select(ReviewAction).where(
                ReviewAction.status == "open", col(ReviewAction.meeting_id).in_(list(earlier))
            )
        ).all()
    )
    # Soonest due first, undated last (the databases disagree on where NULL sorts).
    rows.sort(key=lambda a: (a.due_date is None, a.due_date or date.min, a.id or 0))
    return rows


def _rule_open_actions(session: Session, meeting: Meeting, found: Reasons) -> None:
    earlier = _earlier_meetings(session, meeting)
    for action in _carried_actions(session, meeting):
        if action.case_id is None:
            continue
        at = earlier[action.meeting_id]
        due = f", due {action.due_date.isoformat()}" if action.due_date else ""
        text = (
            f"Open action {action.id} from the meeting of {at.meeting_date.isoformat()}: "
            f"{action.description!r} (owner {action.owner}{due})"
        )
        found.setdefault(action.case_id, [])
        found[action.case_id].append({"code": "open_action", "text": text})


def _select(
    session: Session,
    meeting: Meeting,
    *,
    since: date,
    next_date: date,
    today: date,
    near_m: float,
) -> Reasons:
    forces = list(meeting.forces)
    names = _force_names(session)
    found: Reasons = {}
    _rule_handoffs(session, forces, names, today, found)
    _rule_crossed(session, forces, names, since, found)
    _rule_near_boundary(session, forces, names, near_m, found)
    _rule_joint(session, forces, names, next_date, found)
    _rule_open_actions(session, meeting, found)
    for reasons in found.values():
        reasons.sort(key=lambda r: _REASON_ORDER.get(r["code"], len(REASON_CODES)))
    return found


# --- building views -------------------------------------------------------------------------------


def _decision_view(
    decision: ReviewDecision,
    item: AgendaItem,
    names: dict[str, str],
    handoff_states: dict[int, str],
) -> DecisionView:
    target = decision.target_force_code
    return DecisionView(
        id=int(decision.id or 0),
        agenda_item_id=int(item.id or 0),
        meeting_id=item.meeting_id,
        case_id=item.case_id,
        kind=decision.kind,
        target_force_code=target,
        target_force_name=names.get(target, target) if target else None,
        note=decision.note,
        handoff_id=decision.handoff_id,
        handoff_state=handoff_states.get(decision.handoff_id) if decision.handoff_id else None,
        decided_at=decision.decided_at,
        decided_by=decision.decided_by,
    )


def _item_views(
    session: Session,
    meeting: Meeting,
    items: Sequence[AgendaItem],
    facts: dict[int, _Facts] | None = None,
) -> list[AgendaItemView]:
    if not items:
        return []
    names = _force_names(session)
    if facts is None:
        facts = _load_facts(session, [i.case_id for i in items])
    item_ids = [int(i.id or 0) for i in items]
    decisions: dict[int, ReviewDecision] = {}
    for chunk in _chunks(item_ids):
        for d in session.exec(
            select(ReviewDecision).where(_in_ids(col(ReviewDecision.agenda_item_id), chunk))
        ).all():
            decisions[d.agenda_item_id] = d
    handoff_ids = [d.handoff_id for d in decisions.values() if d.handoff_id is not None]
    states: dict[int, str] = {}
    if handoff_ids:
        states = {
            int(hid or 0): state
            for hid, state in session.exec(
                select(Handoff.id, Handoff.state).where(col(Handoff.id).in_(handoff_ids))
            ).all()
        }
    ordered = sorted(items, key=lambda i: (i.removed, i.position, i.id or 0))
    views = []
    for item in ordered:
        f = facts[item.case_id]
        o = _ogrs3(f, meeting.meeting_date)
        r = f.residence
        decision = decisions.get(int(item.id or 0))
        views.append(
            AgendaItemView(
                id=int(item.id or 0),
                meeting_id=item.meeting_id,
                case_id=item.case_id,
                offender_id=int(f.case.offender_id),
                position=item.position,
                offender_name=_offender_name(f.offender),
                pnc_id=f.offender.pnc_id,
                lead_force_code=f.case.lead_force_code,
                lead_force_name=names.get(f.case.lead_force_code, f.case.lead_force_code),
                residence_force_code=r.force_code if r else None,
                residence_postcode=r.postcode if r else None,
                distance_to_boundary_m=r.distance_to_boundary_m if r else None,
                programme=f.case.programme,
                risk=f.case.risk,
                mappa_level=f.case.mappa_level,
                next_review_due=f.case.next_review_due,
                reasons=tuple(dict(x) for x in item.reasons),
                score=item.score,
                score_parts=dict(item.score_parts),
                ogrs3=o.result,
                ogrs3_note=o.reason,
                added_manually=item.added_manually,
                added_reason=item.added_reason,
                removed=item.removed,
                removed_reason=item.removed_reason,
                decision=_decision_view(decision, item, names, states) if decision else None,
            )
        )
    return views


def _action_views(session: Session, actions: Sequence[ReviewAction]) -> list[ActionView]:
    if not actions:
        return []
    meeting_ids = sorted({a.meeting_id for a in actions})
    meetings = {
        int(m.id or 0): m
        for m in session.exec(select(Meeting).where(col(Meeting.id).in_(meeting_ids))).all()
    }
    case_ids = sorted({a.case_id for a in actions if a.case_id is not None})
    people: dict[int, str] = {}
    for chunk in _chunks(case_ids):
        for case_id, first, last in session.exec(
            select(Case.id, Offender.first_name, Offender.last_name)
            .join(Offender, col(Offender.id) == Case.offender_id)
            .where(_in_ids(col(Case.id), chunk))
        ).all():
            people[int(case_id or 0)] = f"{first} {last}"
    views = []
    for a in actions:
        m = meetings[a.meeting_id]
        views.append(
            ActionView(
                id=int(a.id or 0),
                meeting_id=a.meeting_id,
                meeting_date=m.meeting_date,
                meeting_title=m.title,
                forces=tuple(m.forces),
                case_id=a.case_id,
                offender_name=people.get(a.case_id) if a.case_id is not None else None,
                description=a.description,
                owner=a.owner,
                due_date=a.due_date,
                status=a.status,
                created_at=a.created_at,
                created_by=a.created_by,
                closed_at=a.closed_at,
            )
        )
    return views


def _meeting_items(session: Session, meeting_id: int) -> list[AgendaItem]:
    return list(session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)).all())


def _active_views(session: Session, meeting: Meeting) -> list[AgendaItemView]:
    items = [i for i in _meeting_items(session, int(meeting.id or 0)) if not i.removed]
    return _item_views(session, meeting, items)


def _was_reordered(session: Session, meeting_id: int) -> bool:
    query = select(AuditEvent.id).where(
        AuditEvent.entity_type == "meeting",
        AuditEvent.entity_id == str(meeting_id),
        AuditEvent.action == "agenda.move",
    )
    return session.exec(query.limit(1)).first() is not None


def _renumber(
    session: Session, meeting_id: int, items: list[AgendaItem], new: Iterable[AgendaItem] = ()
) -> None:
    """Give the items positions 1..n: by score, or, once reordered by hand, the people's order.

    ``new`` items are slotted in by score (before the first item scoring less).
    """
    fresh = {id(i) for i in new}
    active = [i for i in items if not i.removed]
    removed = sorted((i for i in items if i.removed), key=lambda i: (i.position, i.id or 0))
    by_score = sorted(active, key=lambda i: (-i.score, i.case_id))
    if _was_reordered(session, meeting_id):
        ordered = sorted(
            (i for i in active if id(i) not in fresh), key=lambda i: (i.position, i.id or 0)
        )
        for item in (i for i in by_score if id(i) in fresh):
            at = next((k for k, o in enumerate(ordered) if o.score < item.score), len(ordered))
            ordered.insert(at, item)
    else:
        ordered = by_score
    for position, item in enumerate([*ordered, *removed], start=1):
        item.position = position


def _facts_for(session: Session, case_id: int) -> _Facts:
    facts = _load_facts(session, [case_id])
    if case_id not in facts:
        raise NotFoundError(f"Case {case_id} does not exist")
    return facts[case_id]


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
    actor = _actor(actor)
    now = _now(now)
    title = " ".join((title or "").split())
    chair = " ".join((chair or "").split())
    if not title:
        raise InputError("A meeting needs a title, e.g. 'City–Met joint review, March'")
    if not chair:
        raise InputError("A meeting needs a chair")
    if isinstance(meeting_date, datetime) or not isinstance(meeting_date, date):
        raise InputError(f"The meeting date must be a date like 2025-03-10, not {meeting_date!r}")
    if isinstance(attendees, str):
        raise InputError("Attendees are a list of names, not one string")
    people = list(dict.fromkeys(" ".join(str(a).split()) for a in attendees if str(a).strip()))
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
    actor = _actor(actor)
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)
    now = _now(now)
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
    session: Session, *, forces: Sequence[str] | None = None, actor: str | None = None
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
    names = _force_names(session)
    codes = _normalise_forces(session, forces)
    return f"{' – '.join(names.get(c, c) for c in codes)} joint review, {meeting_date.isoformat()}"


def get_meeting(session: Session, *, meeting_id: int, actor: str | None = None) -> MeetingDetail:
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
    items = _item_views(session, meeting, _meeting_items(session, meeting_id))
    actions = session.exec(
        select(ReviewAction)
        .where(ReviewAction.meeting_id == meeting_id)
        .order_by(col(ReviewAction.id))
    ).all()
    previous = _previous_meeting(session, meeting)
    names = _force_names(session)
    return MeetingDetail(
        meeting=MeetingPublic.model_validate(meeting),
        items=items,
        actions=_action_views(session, actions),
        carried_actions=_action_views(session, _carried_actions(session, meeting)),
        previous_meeting_date=previous.meeting_date if previous else None,
        next_meeting_date=_next_meeting_date(session, meeting),
        force_names={code: names.get(code, code) for code in meeting.forces},
    )


# --- the agenda -----------------------------------------------------------------------------------


def generate_agenda(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    near_boundary_m: float = 100.0,
    today: date | None = None,
    weights: PriorityWeights | None = None,
    now: datetime | None = None,
) -> list[AgendaItemView]:
    """Generate (or refresh) a meeting's agenda from what happened since the last meeting.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who generated it (audit log).
    meeting_id
        The meeting; planned or held (a closed meeting is refused).
    near_boundary_m
        A residence at most this far from a force boundary is ``near_boundary``.
    today
        The day deadlines and reviews are judged on (overdue); default today in London.
    weights
        Priority weights; default from settings.
    now
        The time of the change (aware); default now.

    Returns
    -------
    list[AgendaItemView]
        The items on the agenda (not removed), in agenda order. Audit event
        ``agenda.generate`` with the cases added and dropped.

    Raises
    ------
    NotFoundError
        No such meeting.
    ConflictError
        The meeting is closed.
    InputError
        A negative distance.
    """
    actor = _actor(actor)
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)
    now = _now(now)
    if not near_boundary_m >= 0:
        raise InputError(f"near_boundary_m must be 0 or more, not {near_boundary_m}")
    today = today or london_date(now)
    weights = weights or PriorityWeights.from_settings()
    meeting = _lock_meeting(session, meeting_id)
    _writable(meeting)
    previous = _previous_meeting(session, meeting)
    since = (
        previous.meeting_date
        if previous is not None
        else meeting.meeting_date - timedelta(days=LOOKBACK_DAYS)
    )
    next_date = _next_meeting_date(session, meeting)
    found = _select(
        session, meeting, since=since, next_date=next_date, today=today, near_m=near_boundary_m
    )

    items = _meeting_items(session, meeting_id)
    by_case = {i.case_id: i for i in items}
    decided = {
        d
        for d in session.exec(
            select(ReviewDecision.agenda_item_id)
            .join(AgendaItem, col(AgendaItem.id) == ReviewDecision.agenda_item_id)
            .where(AgendaItem.meeting_id == meeting_id)
        ).all()
    }
    kept: list[AgendaItem] = []
    new: list[AgendaItem] = []
    dropped: list[int] = []
    for item in items:
        manual = [r for r in item.reasons if r.get("code") == "manual"]
        if item.case_id in found:
            item.reasons = [*found[item.case_id], *manual]
            kept.append(item)
        elif item.added_manually or item.removed or item.id in decided:
            # Added or removed by hand, or already decided: the people's record stays.
            if item.added_manually:
                item.reasons = manual
            kept.append(item)
        else:
            dropped.append(item.case_id)
            session.delete(item)
    for case_id, reasons in found.items():
        if case_id not in by_case:
            item = AgendaItem(meeting_id=meeting_id, case_id=case_id, position=0, reasons=reasons)
            session.add(item)
            kept.append(item)
            new.append(item)

    facts = _load_facts(session, [i.case_id for i in kept])
    for item in kept:
        item.score, item.score_parts = _score(
            facts[item.case_id], on=meeting.meeting_date, today=today, weights=weights
        )
    _renumber(session, meeting_id, kept, new)
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="agenda.generate",
        entity_type="meeting",
        entity_id=str(meeting_id),
        details={
            "since": since.isoformat(),
            "next_meeting": next_date.isoformat(),
            "near_boundary_m": near_boundary_m,
            "today": today.isoformat(),
            "items": sum(1 for i in kept if not i.removed),
            "added_case_ids": sorted(i.case_id for i in new),
            "dropped_case_ids": sorted(dropped),
            "weights": {
                "risk": weights.risk,
                "mappa": weights.mappa,
                "ogrs3": min(weights.ogrs3, OGRS3_WEIGHT_CAP),
                "overdue": weights.overdue,
                "overdue_cap_days": weights.overdue_cap_days,
            },
        },
        # The agenda brings together what each force holds on its cases (DPA 2018 s.62).
        category="combination",
    )
    return _item_views(session, meeting, [i for i in kept if not i.removed], facts)


def _item_for_update(
    session: Session, item_id: int, *, expected_version: int | None = None
) -> tuple[AgendaItem, Meeting]:
    peek = session.get(AgendaItem, item_id)
    if peek is None:
        raise NotFoundError(f"Agenda item {item_id} does not exist")
    meeting = _lock_meeting(session, peek.meeting_id, expected_version=expected_version)
    _writable(meeting)
    item = session.get(AgendaItem, item_id, populate_existing=True)
    if item is None:
        raise ConflictError(f"Agenda item {item_id} was removed by someone else; reload")
    return item, meeting


def add_item(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    case_id: int,
    reason: str,
    today: date | None = None,
    weights: PriorityWeights | None = None,
    now: datetime | None = None,
) -> AgendaItemView:
    """Add a case to a meeting's agenda by hand (or put back a removed one).

    Parameters
    ----------
    reason
        Why it is added; required, kept as a ``manual`` reason.
    today, weights, now
        As for :func:`generate_agenda` (the new item is scored like the others).

    Returns
    -------
    AgendaItemView
        The item, slotted in by score. Audit event ``agenda.add``.

    Raises
    ------
    InputError
        No reason.
    NotFoundError
        No such meeting or case.
    ConflictError
        The case is already on the agenda, or the meeting is closed.
    """
    actor = _actor(actor)
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)
    # Putting a case on a joint agenda shows it to the other forces: only a case the actor
    # may see.
    require(session, actor=actor, action="case.view", case_id=case_id)
    now = _now(now)
    reason = " ".join((reason or "").split())
    if not reason:
        raise InputError(f"Adding case {case_id} to the agenda needs a reason")
    today = today or london_date(now)
    weights = weights or PriorityWeights.from_settings()
    meeting = _lock_meeting(session, meeting_id)
    _writable(meeting)
    facts = _facts_for(session, case_id)
    items = _meeting_items(session, meeting_id)
    manual = {"code": "manual", "text": f"Added by {actor}: {reason}"}
    item = next((i for i in items if i.case_id == case_id), None)
    restored = False
    if item is not None and not item.removed:
        raise ConflictError(f"Case {case_id} is already on the agenda (item {item.id})")
    if item is None:
        item = AgendaItem(meeting_id=meeting_id, case_id=case_id, position=0, reasons=[manual])
        session.add(item)
        items.append(item)
    else:
        restored = True
        item.removed = False
        item.removed_reason = None
        others = [r for r in item.reasons if r.get("code") != "manual"]
        item.reasons = [*others, manual]
    item.added_manually = True
    item.added_reason = reason
    item.score, item.score_parts = _score(
        facts, on=meeting.meeting_date, today=today, weights=weights
    )
    _renumber(session, meeting_id, items, [item])
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="agenda.add",
        entity_type="meeting",
        entity_id=str(meeting_id),
        details={
            "item_id": item.id,
            "case_id": case_id,
            "reason": reason,
            "restored": restored,
            "position": item.position,
        },
        category="combination",
    )
    return _item_views(session, meeting, [item])[0]


def remove_item(
    session: Session,
    *,
    actor: str,
    item_id: int,
    reason: str,
    now: datetime | None = None,
) -> AgendaItemView:
    """Take an item off the agenda, with a reason (the item is kept, marked removed).

    Returns
    -------
    AgendaItemView
        The removed item. Audit event ``agenda.remove``. Regenerating keeps it removed.

    Raises
    ------
    InputError
        No reason.
    NotFoundError
        No such item.
    ConflictError
        Already removed, or the meeting is closed.
    """
    actor = _actor(actor)
    _require_item(session, actor=actor, item_id=item_id)
    now = _now(now)
    reason = " ".join((reason or "").split())
    if not reason:
        raise InputError(f"Removing agenda item {item_id} needs a reason")
    item, meeting = _item_for_update(session, item_id)
    if item.removed:
        raise ConflictError(f"Agenda item {item_id} is already removed ({item.removed_reason})")
    item.removed = True
    item.removed_reason = reason
    items = _meeting_items(session, meeting.id or 0)
    # Keep the others where they are: removal is not a reason to re-sort the agenda.
    active = sorted((i for i in items if not i.removed), key=lambda i: (i.position, i.id or 0))
    rest = sorted((i for i in items if i.removed), key=lambda i: (i.position, i.id or 0))
    for position, other in enumerate([*active, *rest], start=1):
        other.position = position
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="agenda.remove",
        entity_type="meeting",
        entity_id=str(meeting.id),
        details={"item_id": item_id, "case_id": item.case_id, "reason": reason},
        category="alteration",
    )
    return _item_views(session, meeting, [item])[0]


def move_item(
    session: Session,
    *,
    actor: str,
    item_id: int,
    position: int,
    now: datetime | None = None,
) -> list[AgendaItemView]:
    """Move an item to a 1-based position on the agenda; from then on this order wins.

    Returns
    -------
    list[AgendaItemView]
        The agenda (not removed items) in its new order. Audit event ``agenda.move``.

    Raises
    ------
    InputError
        A position outside 1..number of items.
    NotFoundError
        No such item.
    ConflictError
        The item is removed, or the meeting is closed.
    """
    actor = _actor(actor)
    _require_item(session, actor=actor, item_id=item_id)
    now = _now(now)
    item, meeting = _item_for_update(session, item_id)
    if item.removed:
        raise ConflictError(f"Agenda item {item_id} is removed: add it back before moving it")
    items = _meeting_items(session, meeting.id or 0)
    active = sorted((i for i in items if not i.removed), key=lambda i: (i.position, i.id or 0))
    if isinstance(position, bool) or not isinstance(position, int):
        raise InputError(f"A position is a whole number, not {position!r}")
    if not 1 <= position <= len(active):
        raise InputError(f"Position {position} is off the agenda: use 1 to {len(active)}")
    before = active.index(item) + 1
    active.remove(item)
    active.insert(position - 1, item)
    rest = sorted((i for i in items if i.removed), key=lambda i: (i.position, i.id or 0))
    for number, other in enumerate([*active, *rest], start=1):
        other.position = number
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="agenda.move",
        entity_type="meeting",
        entity_id=str(meeting.id),
        details={"item_id": item_id, "case_id": item.case_id, "from": before, "to": position},
        category="alteration",
    )
    return _active_views(session, meeting)


# --- decisions ------------------------------------------------------------------------------------


def record_decision(
    session: Session,
    *,
    actor: str,
    item_id: int,
    kind: str,
    note: str = "",
    target_force_code: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> DecisionView:
    """Record (or replace) the decision on an agenda item; a transfer moves the handoff workflow.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who records it (audit log; also the actor of any handoff change).
    item_id
        The agenda item.
    kind
        ``retain``, ``transfer``, ``joint``, ``escalate``, ``nfa`` (no further action) or
        ``other``.
    note
        Free text (what was agreed and why).
    target_force_code
        The force named: required for ``transfer`` and must not be the case's lead force;
        optional otherwise (e.g. the partner in joint management).
    expected_version
        The meeting version the actor saw; when the meeting has changed since, the decision is
        refused ("Meeting 3 was changed by NAME at TIME; reload").
    now
        The time of the change (aware); default now.

    Returns
    -------
    DecisionView
        The decision. A transfer with no open handoff creates one to the target
        (:func:`coordination.handoffs.create_handoff`, requested at once); with an open handoff
        to the target it advances it one step (proposed → requested → accepted; an accepted one
        is left to complete through the workflow); ``handoff_id`` names it. Audit event
        ``review.decision`` (plus the handoff's own events).

    Raises
    ------
    InputError
        Unknown kind; a transfer without a target or to the current lead force.
    NotFoundError
        No such item or force.
    ConflictError
        The item is removed, the meeting closed or changed since ``expected_version``; the case
        has an open handoff to another force (withdraw it first) or is closed.
    """
    actor = _actor(actor)
    _require_item(session, actor=actor, item_id=item_id)
    now = _now(now)
    if kind not in DECISION_KINDS:
        raise InputError(f"Unknown decision {kind!r}: use one of {', '.join(DECISION_KINDS)}")
    note = (note or "").strip()
    item, meeting = _item_for_update(session, item_id, expected_version=expected_version)
    if item.removed:
        raise ConflictError(f"Agenda item {item_id} is removed: add it back before deciding on it")
    names = _force_names(session)
    target = (target_force_code or "").strip().upper() or None
    if target is not None and target not in names:
        raise NotFoundError(f"No force with code {target!r} (e.g. E23000001 for the Met)")
    case = session.get(Case, item.case_id)
    if case is None:
        raise NotFoundError(f"Case {item.case_id} does not exist")

    handoff_id: int | None = None
    handoff_action: str | None = None
    if kind == "transfer":
        if target is None:
            raise InputError("A transfer needs the force it goes to (target force code)")
        if target == case.lead_force_code:
            raise InputError(
                f"Case {case.id} is already led by {names[target]}: a transfer needs another force"
            )
        open_handoff = session.exec(
            select(Handoff).where(
                Handoff.case_id == case.id, col(Handoff.state).in_(OPEN_HANDOFF_STATES)
            )
        ).first()
        if open_handoff is None:
            reason = (
                f"Transfer agreed at joint review meeting {meeting.id} ({meeting.meeting_date})"
            )
            # When the person lives in the receiving force, the handoff names that address (and
            # its Met BCU), as a handoff started by a move does.
            home = session.exec(
                select(Address).where(
                    Address.offender_id == case.offender_id, col(Address.valid_to).is_(None)
                )
            ).first()
            there = home if home is not None and home.force_code == target else None
            created = create_handoff(
                session,
                actor=actor,
                case_id=int(case.id or 0),
                to_force_code=target,
                to_bcu_code=there.bcu_code if there and target == METROPOLITAN else None,
                address_id=there.id if there else None,
                reason=f"{reason}: {note}" if note else reason,
                request=True,
                now=now,
            )
            handoff_id, handoff_action = created.id, "create"
        elif open_handoff.to_force_code != target:
            raise ConflictError(
                f"Case {case.id} has open handoff {open_handoff.id} to "
                f"{names.get(open_handoff.to_force_code, open_handoff.to_force_code)}: withdraw "
                f"it before transferring to {names[target]}"
            )
        else:
            handoff_id = int(open_handoff.id or 0)
            step = {"proposed": "request", "requested": "accept"}.get(open_handoff.state)
            if step is not None:
                transition(
                    session,
                    actor=actor,
                    handoff_id=handoff_id,
                    action=step,  # type: ignore[arg-type]
                    note=f"Joint review meeting {meeting.id}: transfer agreed"
                    + (f" ({note})" if note else ""),
                    now=now,
                )
                handoff_action = step

    decision = session.exec(
        select(ReviewDecision).where(ReviewDecision.agenda_item_id == item_id)
    ).first()
    replaced = None if decision is None else decision.kind
    if decision is None:
        decision = ReviewDecision(
            agenda_item_id=item_id,
            kind=kind,  # type: ignore[arg-type]
            decided_by=actor,
            decided_at=now,
        )
        session.add(decision)
    decision.kind = kind  # type: ignore[assignment]
    decision.target_force_code = target
    decision.note = note
    if kind == "transfer":
        decision.handoff_id = handoff_id
    elif replaced == "transfer":
        # The earlier transfer's handoff stays in the workflow (withdraw it there); this
        # decision no longer points at it.
        decision.handoff_id = None
    decision.decided_by = actor
    decision.decided_at = now
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="review.decision",
        entity_type="agenda_item",
        entity_id=str(item_id),
        details={
            "meeting_id": meeting.id,
            "case_id": item.case_id,
            "kind": kind,
            "target_force_code": target,
            "note": note,
            "handoff_id": decision.handoff_id,
            "handoff_action": handoff_action,
            "replaced_kind": replaced,
        },
        category="alteration",
    )
    states: dict[int, str] = {}
    if decision.handoff_id is not None:
        h = session.get(Handoff, decision.handoff_id)
        if h is not None:
            states[decision.handoff_id] = h.state
    return _decision_view(decision, item, names, states)


# --- actions --------------------------------------------------------------------------------------


def add_action(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    description: str,
    owner: str,
    due_date: date | None,
    case_id: int | None = None,
    now: datetime | None = None,
) -> ActionView:
    """Record an action agreed at a meeting; it stays open (and carries over) until closed.

    Parameters
    ----------
    description
        What is to be done; required.
    owner
        Who does it (a username or name); required.
    due_date
        By when (``None`` for no date).
    case_id
        The case it is about, if any.

    Returns
    -------
    ActionView
        The action. Audit event ``review_action.create``.

    Raises
    ------
    InputError
        Blank description or owner, a due date that is not a date.
    NotFoundError
        No such meeting or case.
    ConflictError
        The meeting is closed.
    """
    actor = _actor(actor)
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)
    now = _now(now)
    description = " ".join((description or "").split())
    owner = " ".join((owner or "").split())
    if not description:
        raise InputError("An action needs a description")
    if not owner:
        raise InputError("An action needs an owner")
    if due_date is not None and (isinstance(due_date, datetime) or not isinstance(due_date, date)):
        raise InputError(f"The due date must be a date like 2025-03-31, not {due_date!r}")
    meeting = _lock_meeting(session, meeting_id)
    _writable(meeting)
    if case_id is not None and session.get(Case, case_id) is None:
        raise NotFoundError(f"Case {case_id} does not exist")
    action = ReviewAction(
        meeting_id=meeting_id,
        case_id=case_id,
        description=description,
        owner=owner,
        due_date=due_date,
        status="open",
        created_at=now,
        created_by=actor,
    )
    session.add(action)
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="review_action.create",
        entity_type="review_action",
        entity_id=str(action.id),
        details={
            "meeting_id": meeting_id,
            "case_id": case_id,
            "description": description,
            "owner": owner,
            "due_date": due_date.isoformat() if due_date else None,
        },
        category="alteration" if case_id is not None else "system",
    )
    return _action_views(session, [action])[0]


def set_action_status(
    session: Session,
    *,
    actor: str,
    action_id: int,
    status: str,
    now: datetime | None = None,
) -> ActionView:
    """Mark an action done, cancelled, or open again (also after its meeting has closed).

    Returns
    -------
    ActionView
        The action. Audit event ``review_action.status``.

    Raises
    ------
    InputError
        Unknown status.
    NotFoundError
        No such action.
    ConflictError
        The action already has that status.
    """
    actor = _actor(actor)
    _require_action(session, actor=actor, action_id=action_id)
    now = _now(now)
    if status not in ACTION_STATUSES:
        raise InputError(
            f"Unknown action status {status!r}: use one of {', '.join(ACTION_STATUSES)}"
        )
    action = session.exec(
        select(ReviewAction)
        .where(ReviewAction.id == action_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if action is None:
        raise NotFoundError(f"Action {action_id} does not exist")
    before = action.status
    if before == status:
        raise ConflictError(f"Action {action_id} is already {status}")
    action.status = status  # type: ignore[assignment]
    action.closed_at = None if status == "open" else now
    session.flush()
    record_event(
        session,
        actor=actor,
        action="review_action.status",
        entity_type="review_action",
        entity_id=str(action_id),
        details={"meeting_id": action.meeting_id, "from_status": before, "to_status": status},
    )
    return _action_views(session, [action])[0]


def open_actions(
    session: Session,
    *,
    owner: str | None = None,
    forces: Sequence[str] | None = None,
    actor: str | None = None,
) -> list[ActionView]:
    """Return open actions, soonest due first (undated last), optionally of one owner.

    Parameters
    ----------
    owner
        Keep one owner's actions (exact, ignoring case and surrounding spaces).
    forces
        Keep actions of meetings of exactly these forces.
    """
    p = require(session, actor=actor, action="meeting.view")
    query = select(ReviewAction).where(ReviewAction.status == "open")
    if not p.is_system:
        meetings = session.exec(select(Meeting)).all()
        mine = [int(m.id or 0) for m in meetings if p.force_code in m.forces]
        query = query.where(col(ReviewAction.meeting_id).in_(mine))
    if owner is not None and owner.strip():
        query = query.where(sa.func.lower(col(ReviewAction.owner)) == owner.strip().lower())
    if forces is not None:
        ids = [int(m.id or 0) for m in _same_forces(session, _normalise_forces(session, forces))]
        query = query.where(col(ReviewAction.meeting_id).in_(ids))
    rows = list(session.exec(query).all())
    rows.sort(key=lambda a: (a.due_date is None, a.due_date or date.min, a.id or 0))
    return _action_views(session, rows)
