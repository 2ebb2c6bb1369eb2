"""The receiving force's address check: a step of the handoff workflow, not only a deadline.

The receiving area checks the new address within 10 days of the request (probation Case
Transfer Policy Framework, ``docs/DOMAIN.md``) and records when, how (a visit, a phone call, a
partner agency) and what it found:

* ``confirmed``: the person lives there. A requested handoff is accepted with it (the receiving
  area does not negotiate: a confirmed address is its answer), and only a handoff with a
  confirmed check may complete (:func:`refuse_unchecked`, called by
  :func:`~coordination.handoffs.workflow.transition`).
* ``not_confirmed`` or ``not_there``: the handoff goes back to the sender as a rejection with
  that reason, which opens an escalation for the sending force's supervisors like any rejection.

So the deadline that matters follows the step: the address check while requested, the
completion once accepted (:func:`~coordination.handoffs.workflow.current_deadline`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from coordination.core.calendar import london_date
from coordination.core.locking import flush_or_conflict, load_for_update
from coordination.core.validate import acting, aware_now, plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.handoffs.address_rule import (
    NOT_CONFIRMED_REASON,
    has_confirmed_check,
    refuse_unchecked,
)
from coordination.ledger.chain import record_event
from coordination.models import Case, Handoff, HandoffPublic
from coordination.models.handoffs import ADDRESS_CHECK_METHODS, ADDRESS_CHECK_OUTCOMES
from coordination.security.permissions import acts_for, deny, require

__all__ = [
    "CHECKABLE_STATES",
    "METHOD_LABELS",
    "NOT_CONFIRMED_REASON",
    "OUTCOME_LABELS",
    "has_confirmed_check",
    "record_address_check",
    "refuse_unchecked",
]

#: States in which the receiving force records the check.
CHECKABLE_STATES: tuple[str, ...] = ("requested", "accepted")
METHOD_LABELS: dict[str, str] = {
    "visit": "home visit",
    "phone": "phone call",
    "partner": "partner agency",
}
OUTCOME_LABELS: dict[str, str] = {
    "confirmed": "confirmed",
    "not_confirmed": "not confirmed",
    "not_there": "not there",
}


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    value = (value or "").strip().lower().replace(" ", "_")
    if value not in allowed:
        raise InputError(f"Unknown {what} {value!r}: use one of {', '.join(allowed)}")
    return value


def record_address_check(
    session: Session,
    *,
    actor: str,
    handoff_id: int,
    checked_on: date,
    method: str,
    outcome: str,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> HandoffPublic:
    """Record the receiving force's check of a handoff's new address.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who records it: a user of the receiving force (or, for a receiving force with no users,
        of the sending force recording its answer, as for the other answers).
    handoff_id
        The handoff; it must be requested or accepted.
    checked_on
        The day of the check (London): not in the future, not before the request.
    method
        ``"visit"``, ``"phone"`` or ``"partner"`` (a partner agency).
    outcome
        ``"confirmed"``, ``"not_confirmed"`` or ``"not_there"``.
    note
        Free text; kept in the audit log and, for a negative outcome, in the rejection reason.
    expected_version
        The version the actor saw; when the handoff has moved on since, the check is refused.
    now
        The time of the change (aware); default the current time.

    Returns
    -------
    HandoffPublic
        The handoff after the check: accepted when a requested handoff's address is confirmed,
        rejected (and escalated) when it is not confirmed or the person is not there. Audit
        event ``handoff.address_check`` (alteration), then ``handoff.accept`` or
        ``handoff.reject`` when the state moves.

    Raises
    ------
    InputError
        Unknown method or outcome; a date in the future or before the request.
    NotFoundError
        No such handoff.
    AccessDeniedError
        The actor is not on the receiving side (audited).
    ConflictError
        The handoff is not requested or accepted, its case is closed, or it changed meanwhile.
    """
    # Imported here: workflow calls refuse_unchecked, so it imports this module first.
    from coordination.handoffs.workflow import _apply, deciding_force

    actor = acting(actor)
    now = aware_now(now)
    method = _choice(method, ADDRESS_CHECK_METHODS, "check method")
    outcome = _choice(outcome, ADDRESS_CHECK_OUTCOMES, "check outcome")
    note = plain_text(note, "the note", multiline=True)
    peek = session.get(Handoff, handoff_id)
    if peek is None:
        raise NotFoundError(f"Handoff {handoff_id} does not exist")
    p = require(session, actor=actor, action="handoff.act", case_id=peek.case_id)
    force, side = deciding_force(peek, "accept")
    if not p.is_system and not acts_for(session, p, force, peek.case_id):
        deny(
            session,
            p,
            action="handoff.act",
            message=f"Access refused: {p.label} may not record the address check of handoff "
            f"{handoff_id}: only {side} can",
            entity_type="handoff",
            entity_id=str(handoff_id),
        )
    case = load_for_update(session, Case, peek.case_id, label=f"Case {peek.case_id}")
    handoff = load_for_update(
        session,
        Handoff,
        handoff_id,
        label=f"Handoff {handoff_id}",
        expected_version=expected_version,
    )
    if handoff.state not in CHECKABLE_STATES:
        raise ConflictError(
            f"Cannot record the address check of handoff {handoff_id}: it is {handoff.state}, "
            "and only a requested or accepted handoff is checked"
        )
    if case.status != "open":
        raise ConflictError(f"Case {case.id} is {case.status}: its handoff is not checked")
    today = london_date(now)
    if checked_on > today:
        raise InputError(f"The address check date {checked_on.isoformat()} is in the future")
    requested_on = london_date(handoff.requested_at) if handoff.requested_at else None
    if requested_on is not None and checked_on < requested_on:
        raise InputError(
            f"The address check date {checked_on.isoformat()} is before the request "
            f"({requested_on.isoformat()})"
        )
    previous = {
        "checked_on": handoff.address_checked_on.isoformat()
        if handoff.address_checked_on
        else None,
        "method": handoff.address_check_method,
        "outcome": handoff.address_check_outcome,
    }
    handoff.address_checked_on = checked_on
    handoff.address_check_method = method
    handoff.address_check_outcome = outcome
    handoff.address_checked_by = actor
    handoff.updated_by = actor
    handoff.updated_at = now
    flush_or_conflict(session, handoff, label=f"Handoff {handoff_id}")
    record_event(
        session,
        actor=actor,
        action="handoff.address_check",
        entity_type="handoff",
        entity_id=str(handoff_id),
        details={
            "case_id": handoff.case_id,
            "state": handoff.state,
            "checked_on": checked_on.isoformat(),
            "method": method,
            "outcome": outcome,
            "note": note or None,
            "previous": previous,
        },
        category="alteration",
        offender_ids=[case.offender_id],
    )
    if outcome == "confirmed":
        if handoff.state == "requested":
            _apply(
                session,
                handoff=handoff,
                case=case,
                action="accept",
                actor=actor,
                note=f"Address confirmed by {METHOD_LABELS[method]} on {checked_on.isoformat()}"
                + (f": {note}" if note else ""),
                now=now,
            )
    else:
        # Back to the sender with the reason: a rejection, so an escalation opens as for any.
        reason = (
            f"Address check: {OUTCOME_LABELS[outcome]} ({METHOD_LABELS[method]} on "
            f"{checked_on.isoformat()})" + (f": {note}" if note else "")
        )
        _apply(
            session, handoff=handoff, case=case, action="reject", actor=actor, note=reason, now=now
        )
    return HandoffPublic.model_validate(handoff)
