"""Decisions recorded at a meeting, and the handoffs they create or advance."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, select

from coordination.core.validate import acting, aware_now, plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.handoffs.escalations import resolve_at_review
from coordination.handoffs.workflow import (
    accept_agreed_at_review,
    create_handoff,
    mark_agreed_at_review,
    transition,
)
from coordination.ledger.chain import record_event
from coordination.models import (
    DECISION_KINDS,
    OPEN_HANDOFF_STATES,
    Address,
    Case,
    Handoff,
    Meeting,
    ReviewDecision,
)
from coordination.reference.boundaries import force_names
from coordination.review.agenda import _item_for_update
from coordination.review.common import _require_item, _touch
from coordination.review.views import DecisionView, _decision_view
from coordination.security.permissions import acts_for, principal
from geo.forces import METROPOLITAN

# --- decisions ------------------------------------------------------------------------------------


def record_decision(
    session: Session,
    *,
    actor: str,
    item_id: int,
    kind: str,
    note: str = "",
    target_force_code: str | None = None,
    agreed_by: str | None = None,
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
    agreed_by
        For a transfer: the attendee who agreed it for the receiving force. Anyone in the
        meeting records its decisions; accepting is the receiving force's act, so it is applied
        when that force's attendee is named here (or the recorder is of that force), and
        otherwise the handoff waits in the receiving force's queue marked "agreed at joint
        review".
    expected_version
        The meeting version the actor saw; when the meeting has changed since, the decision is
        refused ("Meeting 3 was changed by NAME at TIME; reload").
    now
        The time of the change (aware); default now.

    Returns
    -------
    DecisionView
        The decision. A transfer with no open handoff creates one to the target
        (:func:`coordination.handoffs.create_handoff`, requested at once); a proposed one is
        requested; a requested one is then accepted as agreed at the meeting (see
        ``agreed_by``), an accepted one is left to complete through the workflow;
        ``handoff_id`` names it. Audit event
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
    actor = acting(actor)
    _require_item(session, actor=actor, item_id=item_id)
    now = aware_now(now)
    if kind not in DECISION_KINDS:
        raise InputError(f"Unknown decision {kind!r}: use one of {', '.join(DECISION_KINDS)}")
    note = plain_text(note, "the note", multiline=True)
    item, meeting = _item_for_update(session, item_id, expected_version=expected_version)
    if item.removed:
        raise ConflictError(f"Agenda item {item_id} is removed: add it back before deciding on it")
    names = force_names(session)
    target = (target_force_code or "").strip().upper() or None
    if target is not None and target not in names:
        raise NotFoundError(f"No force with code {target!r} (e.g. E23000001 for the Met)")
    case = session.get(Case, item.case_id)
    if case is None:
        raise NotFoundError(f"Case {item.case_id} does not exist")

    handoff_id: int | None = None
    handoff_action: str | None = None
    if kind == "transfer":
        handoff_id, handoff_action = _transfer(
            session,
            actor=actor,
            case=case,
            meeting=meeting,
            target=target,
            note=note,
            agreed_by=(agreed_by or "").strip() or None,
            now=now,
        )

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
    # A decision at a joint review resolves the case's open escalation (a rejected handoff).
    resolve_at_review(
        session,
        actor=actor,
        case_id=item.case_id,
        meeting_id=int(meeting.id or 0),
        decision=kind,
        note=note,
        now=now,
    )
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


def _transfer(
    session: Session,
    *,
    actor: str,
    case: Case,
    meeting: Meeting,
    target: str | None,
    note: str,
    agreed_by: str | None,
    now: datetime,
) -> tuple[int | None, str | None]:
    """Carry a transfer decision into the handoff workflow; return the handoff and what was done.

    No open handoff: one is created to the target and requested. A proposed one to the target
    is requested. A requested one is then answered for the receiving force
    (:func:`_agreed`). One to another force is a conflict.
    """
    names = force_names(session)
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
        reason = f"Transfer agreed at joint review meeting {meeting.id} ({meeting.meeting_date})"
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
        done = _agreed(
            session, actor, int(created.id), meeting, target, agreed_by, note, now, step=False
        )
        return created.id, "create" + (f"+{done}" if done else "")
    if open_handoff.to_force_code != target:
        raise ConflictError(
            f"Case {case.id} has open handoff {open_handoff.id} to "
            f"{names.get(open_handoff.to_force_code, open_handoff.to_force_code)}: withdraw "
            f"it before transferring to {names[target]}"
        )
    handoff_id = int(open_handoff.id or 0)
    if open_handoff.state == "accepted":
        return handoff_id, None  # it completes through the workflow
    proposed = open_handoff.state == "proposed"
    if proposed:
        _step(session, actor, handoff_id, "request", meeting, note, now)
    done = _agreed(
        session, actor, handoff_id, meeting, target, agreed_by, note, now, step=not proposed
    )
    return handoff_id, "+".join(x for x in ("request" if proposed else "", done) if x) or None


def _step(
    session: Session,
    actor: str,
    handoff_id: int,
    action: Literal["request", "accept"],
    meeting: Meeting,
    note: str,
    now: datetime,
) -> None:
    """Move the handoff on as the meeting agreed, saying so in its history."""
    transition(
        session,
        actor=actor,
        handoff_id=handoff_id,
        action=action,
        note=f"Joint review meeting {meeting.id}: transfer agreed" + (f" ({note})" if note else ""),
        now=now,
    )


def _agreed(
    session: Session,
    actor: str,
    handoff_id: int,
    meeting: Meeting,
    target: str,
    agreed_by: str | None,
    note: str,
    now: datetime,
    *,
    step: bool,
) -> str:
    """Answer a requested handoff the meeting agreed, for the receiving force; say how.

    ``accept``: the receiving force's attendee agreed (``agreed_by``), or, when ``step`` (the
    handoff was already requested before this decision, so the decision moves it one step), the
    recorder may act for that force. ``agreed``: nobody spoke for the receiving force, so the
    handoff waits in its queue, marked. ``""``: a recorder of the receiving force let a
    handoff the decision just requested wait for its own team's acceptance, as before.
    """
    if agreed_by is not None:
        accept_agreed_at_review(
            session,
            actor=actor,
            handoff_id=handoff_id,
            meeting_id=int(meeting.id or 0),
            agreed_by=agreed_by,
            now=now,
        )
        return "accept"
    case_id = session.get(Handoff, handoff_id).case_id  # type: ignore[union-attr]
    own_force = acts_for(session, principal(session, actor), target, case_id)
    if own_force and not step:
        return ""
    if own_force:
        _step(session, actor, handoff_id, "accept", meeting, note, now)
        return "accept"
    mark_agreed_at_review(
        session, actor=actor, handoff_id=handoff_id, meeting_id=int(meeting.id or 0), note=note
    )
    return "agreed"
