"""What the review services return: meetings, agenda items, decisions and actions as views."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from coordination.core.sql import chunks, in_ids
from coordination.models import (
    AgendaItem,
    AuditEvent,
    Case,
    Handoff,
    Meeting,
    MeetingPublic,
    Offender,
    ReviewAction,
    ReviewDecision,
)
from coordination.reference.boundaries import force_names
from coordination.review.common import _offender_name
from coordination.review.facts import _Facts, _load_facts, _ogrs3
from coordination.review.ogrs3 import Ogrs3Result
from coordination.security.permissions import (
    WITHHELD_LABEL,
    WITHHELD_NOTE,
    principal,
    withheld_cases,
)

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
    residence_force_code, residence_bcu_code, residence_postcode, distance_to_boundary_m
        The current residence as stored (``None`` when unknown or of no fixed abode); the BCU
        is the Met's basic command unit holding it, when the residence resolved to one.
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
    withheld
        True when limited access keeps the case from the viewer: the person's name, PNC ID,
        residence, OGRS3 inputs and free text are then withheld (``offender_name`` reads
        ``"Restricted case"``), while the case number, lead force, reasons and score stay so
        the meeting can still order and discuss its agenda.
    """

    id: int = field(metadata={"json": False})
    meeting_id: int
    case_id: int
    offender_id: int
    position: int
    offender_name: str
    pnc_id: str
    lead_force_code: str
    lead_force_name: str
    residence_force_code: str | None
    residence_bcu_code: str | None
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
    withheld: bool = False

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes, e.g. ``("handoff_overdue", "high_risk_joint")``."""
        return tuple(r["code"] for r in self.reasons)

    def json_extra(self) -> dict[str, Any]:
        """JSON names the item ``item_id`` (as ``crossforce review decide ITEM`` takes it)."""
        return {"item_id": self.id, "ogrs3": self.ogrs3, "ogrs3_note": self.ogrs3_note}


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
        The case's offender, when there is a case (``"Restricted case"`` when limited access
        keeps it from the viewer; the description is then withheld too).
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
    bcu_names
        Names of the Met BCUs its agenda's residences lie in, by code.
    """

    meeting: MeetingPublic
    items: list[AgendaItemView]
    actions: list[ActionView]
    carried_actions: list[ActionView]
    previous_meeting_date: date | None
    next_meeting_date: date
    force_names: dict[str, str] = field(default_factory=dict)
    bcu_names: dict[str, str] = field(default_factory=dict)

    @property
    def agenda(self) -> list[AgendaItemView]:
        """The items still on the agenda (not removed), in order."""
        return [item for item in self.items if not item.removed]


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
    *,
    actor: str,
) -> list[AgendaItemView]:
    if not items:
        return []
    withheld = withheld_cases(session, principal(session, actor), [i.case_id for i in items])
    names = force_names(session)
    if facts is None:
        facts = _load_facts(session, [i.case_id for i in items])
    item_ids = [int(i.id or 0) for i in items]
    decisions: dict[int, ReviewDecision] = {}
    for chunk in chunks(item_ids):
        for d in session.exec(
            select(ReviewDecision).where(in_ids(col(ReviewDecision.agenda_item_id), chunk))
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
                residence_bcu_code=r.bcu_code if r else None,
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
    return [_withhold(v) if v.case_id in withheld else v for v in views]


def _withhold(view: AgendaItemView) -> AgendaItemView:
    """The item as someone limited access keeps from the case sees it."""
    decision = view.decision
    return replace(
        view,
        offender_id=0,
        offender_name=WITHHELD_LABEL,
        pnc_id="",
        residence_force_code=None,
        residence_bcu_code=None,
        residence_postcode=None,
        distance_to_boundary_m=None,
        ogrs3=None,
        ogrs3_note=WITHHELD_NOTE,
        added_reason=None if view.added_reason is None else WITHHELD_NOTE,
        removed_reason=None if view.removed_reason is None else WITHHELD_NOTE,
        decision=None if decision is None else replace(decision, note=""),
        # A manual reason quotes whoever added the case, and may name the person.
        reasons=tuple(
            {**r, "text": "Added by hand (reason withheld: limited access)"}
            if r.get("code") == "manual"
            else r
            for r in view.reasons
        ),
        withheld=True,
    )


def _action_views(
    session: Session, actions: Sequence[ReviewAction], *, actor: str
) -> list[ActionView]:
    if not actions:
        return []
    withheld = withheld_cases(
        session, principal(session, actor), [a.case_id for a in actions if a.case_id is not None]
    )
    meeting_ids = sorted({a.meeting_id for a in actions})
    meetings = {
        int(m.id or 0): m
        for m in session.exec(select(Meeting).where(col(Meeting.id).in_(meeting_ids))).all()
    }
    case_ids = sorted({a.case_id for a in actions if a.case_id is not None})
    people: dict[int, str] = {}
    for chunk in chunks(case_ids):
        for case_id, first, last in session.exec(
            select(Case.id, Offender.first_name, Offender.last_name)
            .join(Offender, col(Offender.id) == Case.offender_id)
            .where(in_ids(col(Case.id), chunk))
        ).all():
            people[int(case_id or 0)] = f"{first} {last}"
    views = []
    for a in actions:
        m = meetings[a.meeting_id]
        hidden = a.case_id in withheld
        person = None if a.case_id is None else people.get(a.case_id)
        views.append(
            ActionView(
                id=int(a.id or 0),
                meeting_id=a.meeting_id,
                meeting_date=m.meeting_date,
                meeting_title=m.title,
                forces=tuple(m.forces),
                case_id=a.case_id,
                offender_name=WITHHELD_LABEL if hidden else person,
                description=WITHHELD_NOTE if hidden else a.description,
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


def _active_views(session: Session, meeting: Meeting, *, actor: str) -> list[AgendaItemView]:
    items = [i for i in _meeting_items(session, int(meeting.id or 0)) if not i.removed]
    return _item_views(session, meeting, items, actor=actor)


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
