"""Handoffs: moving responsibility for a case from one force to another, as a tracked workflow.

States (``docs/DOMAIN.md``: probation Case Transfer Policy Framework)::

    proposed ──request──▶ requested ──accept──▶ accepted ──complete──▶ completed
                              │
                              └──reject──▶ rejected   (reason required; escalated)
    proposed / requested / accepted ──withdraw──▶ withdrawn   (the move did not happen)

* The sending force stays responsible until completion: only :func:`transition` with
  ``"complete"`` changes a case's ``lead_force_code``, in the same transaction as the handoff, so
  at every moment every open case has exactly one lead force.
* Receiving areas do not negotiate: a rejection needs a reason and opens an escalation for the
  sending force's supervisors (:mod:`coordination.handoffs.escalations`); not a counter-offer.
* A case has at most one open handoff (checked here, and backed by the partial unique index
  ``uq_handoff_one_open_per_case``).
* Deadlines run from the request date in London: the receiving area checks the address within
  10 calendar days, and the transfer completes within 20 working days (weekends and England and
  Wales bank holidays excluded, :mod:`coordination.calendar`).

Errors: an action that is not allowed from the handoff's current state is a
:class:`~geo.errors.ConflictError` (the request is well formed; the state of the world refuses it),
naming the current state and the state asked for. Bad arguments (a rejection without a reason, an
unknown action, a handoff to the case's own lead force) are :class:`~geo.errors.InputError`.
Concurrent changes lose with "Handoff 12 was changed by alice at 10:32 UTC; reload"
(:mod:`coordination._locking`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.calendar import add_working_days, london_date
from coordination.core.clock import utcnow
from coordination.core.locking import flush_or_conflict, load_for_update
from coordination.core.sql import chunks
from coordination.core.validate import acting, aware_now, plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.handoffs.address_rule import refuse_unchecked
from coordination.handoffs.escalations import follow_handoff
from coordination.ledger.chain import record_event
from coordination.models import (
    HANDOFF_STATES,
    OPEN_HANDOFF_STATES,
    Address,
    AuditEvent,
    AuditEventPublic,
    Case,
    CaseAssignment,
    Force,
    Handoff,
    HandoffPublic,
    Meeting,
    Offender,
    User,
)
from coordination.reference.boundaries import force_names
from coordination.security.permissions import (
    Principal,
    acts_for,
    deny,
    require,
    visible_case_filter,
)
from geo.forces import METROPOLITAN

Action = Literal["request", "accept", "reject", "complete", "withdraw"]
ACTIONS: tuple[str, ...] = get_args(Action)
Direction = Literal["incoming", "outgoing"]
Rag = Literal["red", "amber", "green"]

#: Calendar days the receiving area has to check the new address, from the request date.
ADDRESS_CHECK_DAYS = 10
#: Working days the whole transfer has to complete, from the request date.
COMPLETION_WORKING_DAYS = 20
#: A deadline this many working days away or closer shows amber.
AMBER_WORKING_DAYS = 3

# action -> (states it is allowed from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "request": (("proposed",), "requested"),
    "accept": (("requested",), "accepted"),
    "reject": (("requested",), "rejected"),
    "complete": (("accepted",), "completed"),
    "withdraw": (OPEN_HANDOFF_STATES, "withdrawn"),
}


def allowed_actions(state: str) -> tuple[str, ...]:
    """Return the actions allowed from a handoff state, in workflow order.

    E.g. ``("accept", "reject", "withdraw")`` for ``"requested"``; empty for closed states.
    """
    return tuple(action for action, (sources, _) in TRANSITIONS.items() if state in sources)


@dataclass(frozen=True)
class HandoffView:
    """A handoff as the queues show it: the handoff, who it is about, and how urgent it is.

    Attributes
    ----------
    handoff
        The handoff itself.
    case_id, offender_id
        The case handed off and its offender.
    offender_name
        "First Last" of the (synthetic) offender.
    pnc_id
        The offender's PNC ID (long form).
    from_force_name, to_force_name
        Display names of the two forces.
    due
        The deadline that matters now: the address check while the handoff is requested, the
        completion once accepted; ``None`` before the request and after closing.
    due_kind
        ``"address check"`` or ``"completion"`` (``None`` with ``due``).
    rag
        ``"red"`` overdue, ``"amber"`` due within 3 working days, ``"green"`` otherwise;
        ``None`` for a closed handoff.
    overdue
        Whether ``due`` has passed (never for a closed handoff).
    overdue_by_days
        Calendar days past ``due``; 0 when not overdue.
    agreed_at_review
        The joint review meeting that agreed the transfer while it awaits the receiving
        force's acceptance, if any ("agreed at joint review" in the queue).
    from_bcu_code
        The sending Met BCU: that of the officer managing the case (``None`` when the Met is
        not the sender or nobody manages the case, as after completion).
    """

    handoff: HandoffPublic = field(metadata={"json": False})  # flattened by json_extra
    case_id: int
    offender_id: int
    offender_name: str
    pnc_id: str
    from_force_name: str
    to_force_name: str
    due: date | None
    due_kind: str | None
    rag: Rag | None
    overdue: bool
    overdue_by_days: int
    agreed_at_review: int | None = None
    from_bcu_code: str | None = None

    @property
    def id(self) -> int:
        """The handoff id."""
        return self.handoff.id

    @property
    def state(self) -> str:
        """The handoff state."""
        return self.handoff.state

    def json_extra(self) -> dict[str, Any]:
        """JSON is flat: the handoff's own fields beside the view's (``crossforce handoffs``)."""
        return self.handoff.model_dump(mode="json")


# --- deadlines and status -----------------------------------------------------------------------


def due_dates(requested_on: date) -> tuple[date, date]:
    """Return the address-check and completion deadlines of a request made on a date.

    Parameters
    ----------
    requested_on
        The date of the request, in London.

    Returns
    -------
    tuple[date, date]
        ``(requested_on + 10 days, requested_on + 20 working days)``.
    """
    return (
        requested_on + timedelta(days=ADDRESS_CHECK_DAYS),
        add_working_days(requested_on, COMPLETION_WORKING_DAYS),
    )


def current_deadline(
    state: str, address_check_due: date | None, completion_due: date | None
) -> tuple[date | None, str | None]:
    """Return the deadline that matters in a state, and what it is for.

    Parameters
    ----------
    state
        The handoff state.
    address_check_due, completion_due
        The handoff's two deadlines.

    Returns
    -------
    tuple[date | None, str | None]
        ``(address_check_due, "address check")`` while requested (acceptance follows the check),
        ``(completion_due, "completion")`` once accepted, ``(None, None)`` otherwise.
    """
    if state == "requested" and address_check_due is not None:
        return address_check_due, "address check"
    if state in ("requested", "accepted") and completion_due is not None:
        return completion_due, "completion"
    return None, None


def rag_status(
    state: str, due: date | None, today: date, *, amber_until: date | None = None
) -> tuple[Rag | None, bool, int]:
    """Return red/amber/green, whether overdue, and by how many calendar days.

    Parameters
    ----------
    state
        The handoff state; closed states have no status.
    due
        The deadline that matters (:func:`current_deadline`).
    today
        The day to judge on.
    amber_until
        ``add_working_days(today, 3)``, passed in when judging many handoffs at once.

    Returns
    -------
    tuple[Rag | None, bool, int]
        ``(rag, overdue, overdue_by_days)``.
    """
    if state not in OPEN_HANDOFF_STATES:
        return None, False, 0
    if due is None:
        # Proposed: nothing has been asked of anyone yet, so no clock is running.
        return "green", False, 0
    if due < today:
        return "red", True, (today - due).days
    if amber_until is None:
        amber_until = add_working_days(today, AMBER_WORKING_DAYS)
    return ("amber" if due <= amber_until else "green"), False, 0


# --- helpers --------------------------------------------------------------------------------------


def _open_handoff(session: Session, case_id: int) -> Handoff | None:
    query = select(Handoff).where(
        Handoff.case_id == case_id, col(Handoff.state).in_(OPEN_HANDOFF_STATES)
    )
    return session.exec(query).first()


def _refusal(handoff_id: int, state: str, action: str) -> ConflictError:
    sources, target = TRANSITIONS[action]
    allowed = ", ".join(sources[:-1]) + (" or " if len(sources) > 1 else "") + sources[-1]
    article = "an" if allowed[0] in "aeiou" else "a"
    return ConflictError(
        f"Cannot {action} handoff {handoff_id}: it is {state}, and only {article} {allowed} "
        f"handoff can become {target}"
    )


def _apply(
    session: Session,
    *,
    handoff: Handoff,
    case: Case,
    action: str,
    actor: str,
    note: str | None,
    now: datetime,
) -> None:
    """Move a locked handoff on by one action and record it (the caller checked it is allowed)."""
    label = f"Handoff {handoff.id}"
    from_state = handoff.state
    _, to_state = TRANSITIONS[action]
    handoff.state = to_state  # type: ignore[assignment]
    handoff.updated_by = actor
    handoff.updated_at = now
    details: dict[str, Any] = {
        "from_state": from_state,
        "to_state": to_state,
        "note": note,
        "case_id": handoff.case_id,
        "from_force_code": handoff.from_force_code,
        "to_force_code": handoff.to_force_code,
    }
    if action == "request":
        handoff.requested_at = now
        handoff.address_check_due, handoff.completion_due = due_dates(london_date(now))
        details["address_check_due"] = handoff.address_check_due.isoformat()
        details["completion_due"] = handoff.completion_due.isoformat()
    elif action == "accept":
        handoff.accepted_at = now
    elif action == "reject":
        handoff.rejection_reason = note
        # Receiving areas do not negotiate: a refusal goes up to supervisors to resolve.
        handoff.escalated = True
        handoff.closed_at = now
        details["escalated"] = True
    elif action == "complete":
        handoff.completed_at = now
        handoff.closed_at = now
    elif action == "withdraw":
        handoff.closed_at = now
    flush_or_conflict(session, handoff, label=label)

    if action == "complete":
        _move_lead(session, handoff=handoff, case=case, actor=actor, now=now)
    # Requesting sends the case to the receiving force and completing hands it over: both
    # disclose it to that force (DPA 2018 s.62); the other steps alter the handoff.
    disclosed = action in ("request", "complete")
    record_event(
        session,
        actor=actor,
        action=f"handoff.{action}",
        entity_type="handoff",
        entity_id=str(handoff.id),
        details=details,
        category="disclosure" if disclosed else "alteration",
        recipients=[handoff.to_force_code] if disclosed else None,
        offender_ids=[case.offender_id],
    )
    follow_handoff(session, actor=actor, handoff=handoff, action=action, now=now)


def _move_lead(
    session: Session, *, handoff: Handoff, case: Case, actor: str, now: datetime
) -> None:
    """Make the receiving force the case's lead: the only place a lead force changes."""
    previous = case.lead_force_code
    case.lead_force_code = handoff.to_force_code
    # The sending force's manager cannot keep a case of another force (caseload rule): the
    # receiving force assigns its own.
    previous_user = case.assigned_user_id
    case.assigned_user_id = None
    case.updated_by = actor
    case.updated_at = now
    flush_or_conflict(session, case, label=f"Case {case.id}")
    open_assignments = session.exec(
        select(CaseAssignment).where(
            CaseAssignment.case_id == case.id, col(CaseAssignment.ended_at).is_(None)
        )
    ).all()
    for assignment in open_assignments:
        assignment.ended_at = now
        assignment.reason = assignment.reason or f"handoff {handoff.id} completed"
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case.lead_force",
        entity_type="case",
        entity_id=str(case.id),
        details={
            "from_force_code": previous,
            "to_force_code": handoff.to_force_code,
            "to_bcu_code": handoff.to_bcu_code,
            "handoff_id": handoff.id,
            "unassigned_user_id": previous_user,
        },
        category="alteration",
        offender_ids=[case.offender_id],
    )


def deciding_force(handoff: Handoff | HandoffPublic, action: str) -> tuple[str, str]:
    """Return the force whose act ``action`` is, and that side's name in a refusal.

    The sending force requests and withdraws; the receiving force answers. A receiving force
    with no users in crossforce answers by other means, and the sending force records its answer
    (:func:`~coordination.security.permissions.acts_for`; the demo notes "recorded for …").
    """
    if action in ("request", "withdraw"):
        return handoff.from_force_code, "the sending force"
    return handoff.to_force_code, "the receiving force"


def _check_side(session: Session, p: Principal, handoff: Handoff, action: str) -> None:
    """Refuse (audited) an actor who is not on the side whose act ``action`` is."""
    if p.is_system:
        return
    force, side = deciding_force(handoff, action)
    if not acts_for(session, p, force, handoff.case_id):
        deny(
            session,
            p,
            action="handoff.act",
            message=f"Access refused: {p.label} may not {action} handoff {handoff.id}: only "
            f"{side} can",
            entity_type="handoff",
            entity_id=str(handoff.id),
        )


# --- services -------------------------------------------------------------------------------------


def _check_target(
    session: Session, case: Case, to_force_code: str, to_bcu_code: str | None
) -> str | None:
    """Check the receiving force (and BCU) of a new handoff; return the BCU code, normalised."""
    to_force = session.get(Force, to_force_code)
    if to_force is None:
        raise NotFoundError(f"No force with code {to_force_code!r}")
    if to_force_code == case.lead_force_code:
        raise InputError(f"Case {case.id} is already led by {to_force.name}: nothing to hand off")
    bcu = (to_bcu_code or "").strip().upper() or None
    if bcu is not None and to_force_code != METROPOLITAN:
        raise InputError(
            f"A BCU is only given for the Metropolitan Police Service, not for {to_force.name}"
        )
    return bcu


def _check_address(session: Session, case: Case, address_id: int) -> None:
    address = session.get(Address, address_id)
    if address is None:
        raise NotFoundError(f"Address {address_id} does not exist")
    if address.offender_id != case.offender_id:
        raise InputError(f"Address {address_id} is not an address of case {case.id}'s offender")


def _refuse_second_open(session: Session, case_id: int) -> None:
    existing = _open_handoff(session, case_id)
    if existing is not None:
        to = force_names(session).get(existing.to_force_code, existing.to_force_code)
        raise ConflictError(
            f"Case {case_id} already has an open handoff: {existing.id} ({existing.state}, "
            f"to {to}); complete or withdraw it first"
        )


def create_handoff(
    session: Session,
    *,
    actor: str,
    case_id: int,
    to_force_code: str,
    to_bcu_code: str | None = None,
    reason: str,
    address_id: int | None = None,
    request: bool = True,
    now: datetime | None = None,
) -> HandoffPublic:
    """Start handing a case to another force; its current lead force is the sender.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who is creating it (audit log).
    case_id
        The case to hand off; it must be open and have no open handoff.
    to_force_code
        ONS code of the receiving force.
    to_bcu_code
        The receiving Met BCU (e.g. ``"CE"``), only when the receiving force is the Met.
    reason
        Why, e.g. "moved to Hackney (E09000012)"; required.
    address_id
        The new address that prompted the handoff, if any; it must be the case offender's.
    request
        ``True`` (default) to request it at once (state ``requested``, deadlines set);
        ``False`` to leave it ``proposed``.
    now
        The time of the change (aware); default the current time.

    Returns
    -------
    HandoffPublic
        The new handoff. Audit events: ``handoff.create``, then ``handoff.request`` when
        requested.

    Raises
    ------
    InputError
        Empty reason; the receiving force is already the lead; a BCU for a force other than the
        Met; an address of another offender.
    NotFoundError
        No such case, force or address.
    ConflictError
        The case is closed, or already has an open handoff (named in the message).
    """
    actor = acting(actor)
    p = require(session, actor=actor, action="handoff.act", case_id=case_id)
    now = aware_now(now)
    reason = plain_text(reason, "the reason", multiline=True)
    if not reason:
        raise InputError("A handoff needs a reason, e.g. 'moved to Hackney'")
    case = load_for_update(session, Case, case_id, label=f"Case {case_id}")
    if not acts_for(session, p, case.lead_force_code, case_id):
        deny(
            session,
            p,
            action="handoff.act",
            message=f"Access refused: {p.label} may not hand off case {case_id}: only its lead "
            "force can",
            entity_type="case",
            entity_id=str(case_id),
        )
    if case.status != "open":
        raise ConflictError(f"Case {case_id} is {case.status}: a closed case is not handed off")
    to_bcu_code = _check_target(session, case, to_force_code, to_bcu_code)
    if address_id is not None:
        _check_address(session, case, address_id)
    _refuse_second_open(session, case_id)
    handoff = Handoff(
        case_id=case_id,
        from_force_code=case.lead_force_code,
        to_force_code=to_force_code,
        to_bcu_code=to_bcu_code,
        reason=reason,
        address_id=address_id,
        state="proposed",
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )
    session.add(handoff)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        # The partial unique index caught a handoff created by someone else since the check
        # above (possible on SQLite, where there is no row lock).
        raise ConflictError(
            f"Case {case_id} already has an open handoff, created just now by someone else; reload"
        ) from error
    record_event(
        session,
        actor=actor,
        action="handoff.create",
        entity_type="handoff",
        entity_id=str(handoff.id),
        details={
            "from_state": None,
            "to_state": "proposed",
            "case_id": case_id,
            "from_force_code": handoff.from_force_code,
            "to_force_code": to_force_code,
            "to_bcu_code": to_bcu_code,
            "reason": reason,
            "address_id": address_id,
        },
        category="alteration",
        offender_ids=[case.offender_id],
    )
    if request:
        _apply(
            session, handoff=handoff, case=case, action="request", actor=actor, note=None, now=now
        )
    return HandoffPublic.model_validate(handoff)


def transition(
    session: Session,
    *,
    actor: str,
    handoff_id: int,
    action: Action,
    note: str | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> HandoffPublic:
    """Move a handoff on: request, accept, reject, complete or withdraw it.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who is acting (audit log, and the "changed by" of a later conflict).
    handoff_id
        The handoff.
    action
        ``"request"`` (proposed → requested, deadlines set), ``"accept"`` (requested →
        accepted), ``"reject"`` (requested → rejected and escalated; ``note`` is the reason),
        ``"complete"`` (accepted → completed; the receiving force becomes the case's lead),
        ``"withdraw"`` (any open state → withdrawn).
    note
        Free text kept in the audit log; required for ``"reject"``.
    expected_version
        The version the actor saw; when the handoff has moved on since, the action is refused.
    now
        The time of the change (aware); default the current time.

    Returns
    -------
    HandoffPublic
        The handoff after the action. Audit event ``handoff.<action>`` with
        ``{from_state, to_state, note, …}``; completing also records ``case.lead_force``.

    Raises
    ------
    InputError
        Unknown action; a rejection without a reason.
    NotFoundError
        No such handoff.
    ConflictError
        The action is not allowed from the current state (both named); the case is closed (only
        withdrawing is allowed then); or someone else changed the handoff or case first
        ("… was changed by NAME at TIME; reload").
    """
    actor = acting(actor)
    now = aware_now(now)
    if action not in TRANSITIONS:
        raise InputError(f"Unknown handoff action {action!r}: use one of {', '.join(ACTIONS)}")
    note = plain_text(note, "the note", multiline=True) or None
    if action == "reject" and note is None:
        raise InputError(
            f"Rejecting handoff {handoff_id} needs a reason (--note): a rejection is escalated"
        )
    peek = session.get(Handoff, handoff_id)
    if peek is None:
        raise NotFoundError(f"Handoff {handoff_id} does not exist")
    p = require(session, actor=actor, action="handoff.act", case_id=peek.case_id)
    _check_side(session, p, peek, action)
    # Lock the case before the handoff, in the same order as create_handoff, so two writers
    # on PostgreSQL queue instead of deadlocking.
    case = load_for_update(session, Case, peek.case_id, label=f"Case {peek.case_id}")
    handoff = load_for_update(
        session,
        Handoff,
        handoff_id,
        label=f"Handoff {handoff_id}",
        expected_version=expected_version,
    )
    if handoff.state not in TRANSITIONS[action][0]:
        raise _refusal(handoff_id, handoff.state, action)
    refuse_unchecked(handoff, action)
    if case.status != "open" and action != "withdraw":
        raise ConflictError(
            f"Case {case.id} is {case.status}: handoff {handoff_id} can only be withdrawn"
        )
    _apply(session, handoff=handoff, case=case, action=action, actor=actor, note=note, now=now)
    return HandoffPublic.model_validate(handoff)


def _meeting_to_record(session: Session, actor: str, meeting_id: int) -> Meeting:
    """The meeting whose decision is recorded, once the actor may edit it (refusal audited)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"Meeting {meeting_id} does not exist")
    require(
        session,
        actor=actor,
        action="meeting.edit",
        forces=meeting.forces,
        entity_type="meeting",
        entity_id=str(meeting_id),
    )
    return meeting


def accept_agreed_at_review(
    session: Session,
    *,
    actor: str,
    handoff_id: int,
    meeting_id: int,
    agreed_by: str,
    now: datetime | None = None,
) -> HandoffPublic:
    """Accept a requested handoff for the receiving force, as agreed at a joint review meeting.

    At a joint meeting one person records every decision. Accepting is the receiving force's
    act, so it is applied only when an attendee of the meeting speaks for that force:
    ``agreed_by`` names them, and the handoff's history records both who recorded the
    acceptance and who agreed to it. With no such attendee the transfer stays requested, in the
    receiving force's queue (:func:`mark_agreed_at_review`).

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who records the meeting's decision: someone who may edit the meeting.
    handoff_id
        A requested handoff.
    meeting_id
        The meeting, not closed, of which the receiving force is a party.
    agreed_by
        One of the meeting's attendees, as written in its attendance list.
    now
        The time of the change (aware); default now.

    Returns
    -------
    HandoffPublic
        The handoff, now accepted (it completes through the workflow as usual).

    Raises
    ------
    AccessDeniedError
        The actor may not edit the meeting (audited).
    InputError
        ``agreed_by`` is not an attendee of the meeting.
    ConflictError
        The meeting is closed, the receiving force is not a party to it, the handoff is not
        requested or its case is closed.
    """
    actor = acting(actor)
    now = aware_now(now)
    meeting = _meeting_to_record(session, actor, meeting_id)
    peek = session.get(Handoff, handoff_id)
    if peek is None:
        raise NotFoundError(f"Handoff {handoff_id} does not exist")
    names = force_names(session)
    receiver = names.get(peek.to_force_code, peek.to_force_code)
    if meeting.status == "closed":
        raise ConflictError(f"Meeting {meeting_id} is closed: its decisions are final")
    if peek.to_force_code not in meeting.forces:
        raise ConflictError(
            f"{receiver} is not a party to meeting {meeting_id}: it accepts handoff "
            f"{handoff_id} in its own queue"
        )
    wanted = " ".join(agreed_by.split()).casefold()
    attendee = next(
        (a for a in meeting.attendees if " ".join(a.split()).casefold() == wanted), None
    )
    if not wanted or attendee is None:
        raise InputError(
            f"{agreed_by.strip() or 'Nobody'} is not on the attendance list of meeting "
            f"{meeting_id}: name the attendee who agreed for {receiver}"
        )
    case = load_for_update(session, Case, peek.case_id, label=f"Case {peek.case_id}")
    handoff = load_for_update(session, Handoff, handoff_id, label=f"Handoff {handoff_id}")
    if handoff.state != "requested":
        raise _refusal(handoff_id, handoff.state, "accept")
    if case.status != "open":
        raise ConflictError(f"Case {case.id} is {case.status}: nothing to accept")
    note = (
        f"Accepted at joint review meeting {meeting_id} ({meeting.meeting_date.isoformat()}): "
        f"agreed by {attendee} for {receiver}; recorded by {actor}"
    )
    _apply(session, handoff=handoff, case=case, action="accept", actor=actor, note=note, now=now)
    return HandoffPublic.model_validate(handoff)


def mark_agreed_at_review(
    session: Session, *, actor: str, handoff_id: int, meeting_id: int, note: str = ""
) -> None:
    """Note in a handoff's history that a joint review agreed the transfer, pending acceptance.

    The receiving force then finds the handoff in its queue marked "agreed at joint review"
    (:attr:`HandoffView.agreed_at_review`) and accepts it there.
    """
    actor = acting(actor)
    _meeting_to_record(session, actor, meeting_id)
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFoundError(f"Handoff {handoff_id} does not exist")
    case = session.get(Case, handoff.case_id)
    record_event(
        session,
        actor=actor,
        action="handoff.agreed_at_review",
        entity_type="handoff",
        entity_id=str(handoff_id),
        details={"meeting_id": meeting_id, "case_id": handoff.case_id, "note": note or None},
        category="alteration",
        offender_ids=[int(case.offender_id)] if case is not None else None,
    )


def get_handoff(session: Session, handoff_id: int, *, actor: str) -> HandoffPublic:
    """Return one handoff, with its current ``version`` (pass it back as ``expected_version``).

    Raises
    ------
    NotFoundError
        No such handoff.
    AccessDeniedError
        The actor may not see its case (audited).
    """
    row = session.get(Handoff, handoff_id)
    if row is None:
        raise NotFoundError(f"Handoff {handoff_id} does not exist")
    require(session, actor=actor, action="handoff.view", case_id=row.case_id)
    return HandoffPublic.model_validate(row)


def open_handoff_for_case(session: Session, case_id: int, *, actor: str) -> HandoffPublic | None:
    """Return the open (proposed, requested or accepted) handoff of a case, or ``None``."""
    require(session, actor=actor, action="handoff.view", case_id=case_id)
    row = _open_handoff(session, case_id)
    return None if row is None else HandoffPublic.model_validate(row)


def handoff_history(session: Session, handoff_id: int, *, actor: str) -> list[AuditEventPublic]:
    """Return the audit events of one handoff, oldest first (who did what, when, with notes)."""
    row = session.get(Handoff, handoff_id)
    if row is not None:
        require(session, actor=actor, action="handoff.view", case_id=row.case_id)
    query = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == "handoff", AuditEvent.entity_id == str(handoff_id))
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return [AuditEventPublic.model_validate(row) for row in session.exec(query).all()]


def _state_clause(state: str) -> Any:
    """The WHERE clause for a state filter: one state, ``open`` or ``closed``."""
    if state == "open":
        return col(Handoff.state).in_(OPEN_HANDOFF_STATES)
    if state == "closed":
        return col(Handoff.state).not_in(OPEN_HANDOFF_STATES)
    if state in HANDOFF_STATES:
        return col(Handoff.state) == state
    raise InputError(
        f"Unknown handoff state {state!r}: use one of {', '.join(HANDOFF_STATES)}, open or closed"
    )


def _direction_clause(force_code: str | None, direction: str | None) -> Any:
    """The WHERE clause for handoffs to, from, or to or from a force."""
    if direction is not None and direction not in ("incoming", "outgoing"):
        raise InputError(f"Unknown direction {direction!r}: use incoming or outgoing")
    if force_code is None:
        raise InputError("Give a force with a direction: incoming to or outgoing from which force?")
    if direction == "incoming":
        return col(Handoff.to_force_code) == force_code
    if direction == "outgoing":
        return col(Handoff.from_force_code) == force_code
    return sa.or_(
        col(Handoff.to_force_code) == force_code, col(Handoff.from_force_code) == force_code
    )


def list_handoffs(
    session: Session,
    *,
    state: str | None = None,
    force_code: str | None = None,
    direction: Direction | None = None,
    today: date | None = None,
    case_id: int | None = None,
    from_bcu: str | None = None,
    to_bcu: str | None = None,
    limit: int | None = None,
    actor: str,
) -> list[HandoffView]:
    """Return handoffs with their deadline status, most urgent first.

    Parameters
    ----------
    session
        Any session.
    state
        Keep one state; also ``"open"`` (proposed, requested, accepted) or ``"closed"``.
    force_code
        Keep handoffs to or from this force.
    direction
        With ``force_code``: ``"incoming"`` (to the force) or ``"outgoing"`` (from it).
    today
        The day to judge deadlines on; default today in London.
    case_id
        Keep one case's handoffs.
    from_bcu, to_bcu
        Keep handoffs from this sending Met BCU (:attr:`HandoffView.from_bcu_code`) / to this
        receiving one; both given, both must match.
    limit
        At most this many rows.
    actor
        Who is looking: only handoffs of cases they may see are listed (analysts are refused:
        the rows name people; the network is their view of handoffs).

    Returns
    -------
    list[HandoffView]
        Open handoffs first, by the deadline that matters (overdue at the top; proposed ones,
        with no deadline, after them), then closed ones, latest closed first.

    Raises
    ------
    InputError
        Unknown state or direction, or a direction without a force.
    """
    p = require(session, actor=actor, action="handoff.view", personal=True)
    if today is None:
        today = london_date(utcnow())
    # The Met's sending BCU is its manager's: the team that stays responsible until completion.
    from_bcu_col = sa.case((col(Handoff.from_force_code) == METROPOLITAN, col(User.bcu_code)))
    query = (
        select(Handoff, Offender, from_bcu_col)
        .join(Case, col(Case.id) == Handoff.case_id)
        .join(Offender, col(Offender.id) == Case.offender_id)
        .outerjoin(User, col(User.id) == col(Case.assigned_user_id))
        .where(visible_case_filter(p))
    )
    if from_bcu is not None:
        query = query.where(from_bcu_col == from_bcu.strip().upper())
    if to_bcu is not None:
        query = query.where(col(Handoff.to_bcu_code) == to_bcu.strip().upper())
    if state is not None:
        query = query.where(_state_clause(state))
    if force_code is not None or direction is not None:
        query = query.where(_direction_clause(force_code, direction))
    if case_id is not None:
        query = query.where(Handoff.case_id == case_id)
    # The same deadline rule as current_deadline(), in SQL, so that ordering and limit happen
    # in the database.
    due = sa.case(
        (col(Handoff.state) == "requested", col(Handoff.address_check_due)),
        (col(Handoff.state) == "accepted", col(Handoff.completion_due)),
        else_=None,
    )
    is_closed = sa.case((col(Handoff.state).in_(OPEN_HANDOFF_STATES), 0), else_=1)
    query = query.order_by(
        is_closed,
        due.is_(None),
        due,
        sa.desc(col(Handoff.closed_at)),
        sa.desc(col(Handoff.id)),
    )
    if limit is not None:
        query = query.limit(limit)

    names = force_names(session)
    amber_until = add_working_days(today, AMBER_WORKING_DAYS)
    rows = session.exec(query).all()
    agreed = _agreed_at_review(
        session, [int(r.id or 0) for r, *_ in rows if r.state == "requested"]
    )
    views: list[HandoffView] = []
    for row, offender, sending_bcu in rows:
        public = HandoffPublic.model_validate(row)
        deadline, kind = current_deadline(public.state, row.address_check_due, row.completion_due)
        rag, overdue, overdue_by = rag_status(
            public.state, deadline, today, amber_until=amber_until
        )
        views.append(
            HandoffView(
                handoff=public,
                case_id=public.case_id,
                offender_id=int(offender.id or 0),
                offender_name=f"{offender.first_name} {offender.last_name}",
                pnc_id=offender.pnc_id,
                from_force_name=names.get(public.from_force_code, public.from_force_code),
                to_force_name=names.get(public.to_force_code, public.to_force_code),
                due=deadline,
                due_kind=kind,
                rag=rag,
                overdue=overdue,
                overdue_by_days=overdue_by,
                agreed_at_review=agreed.get(int(row.id or 0)),
                from_bcu_code=sending_bcu,
            )
        )
    return views


def _agreed_at_review(session: Session, handoff_ids: list[int]) -> dict[int, int]:
    """Requested handoffs a joint review agreed: handoff id -> the (latest) meeting id."""
    found: dict[int, int] = {}
    for part in chunks(handoff_ids):
        chunk = [str(h) for h in part]
        query = (
            select(AuditEvent.entity_id, AuditEvent.details)
            .where(
                AuditEvent.action == "handoff.agreed_at_review",
                AuditEvent.entity_type == "handoff",
                col(AuditEvent.entity_id).in_(chunk),
            )
            .order_by(col(AuditEvent.id))
        )
        for entity_id, details in session.exec(query).all():
            meeting = (details or {}).get("meeting_id")
            if entity_id is not None and isinstance(meeting, int):
                found[int(entity_id)] = meeting
    return found


def get_handoff_view(
    session: Session, handoff_id: int, *, today: date | None = None, actor: str
) -> HandoffView:
    """Return one handoff as :func:`list_handoffs` shows it.

    Raises
    ------
    NotFoundError
        No such handoff.
    """
    row = session.get(Handoff, handoff_id)
    if row is None:
        raise NotFoundError(f"Handoff {handoff_id} does not exist")
    require(session, actor=actor, action="handoff.view", case_id=row.case_id)
    for view in list_handoffs(session, case_id=row.case_id, today=today, actor=actor):
        if view.id == handoff_id:
            return view
    raise NotFoundError(f"Handoff {handoff_id} does not exist")
