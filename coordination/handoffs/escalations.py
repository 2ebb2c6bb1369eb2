"""Escalations: what happens after a rejected handoff, until someone resolves it.

Receiving areas do not negotiate: a rejection goes to the sending force's supervisors as an
escalation, due in ``escalation_days`` working days (setting ``CROSSFORCE_ESCALATION_DAYS``,
default 5; weekends and bank holidays excluded). It is resolved only by

* a new request, with the new facts (``coordination.handoffs.resolutions``; any request of a
  new handoff of the case resolves it, :func:`follow_handoff`);
* an agreed exception with a reason and a review date: the case stays with its lead force
  (:func:`record_exception`);
* a decision recorded at a joint review (:func:`resolve_at_review`).

The invariant: every open case whose lead force differs from the force the responsibility rules
name has an open handoff, an open escalation or an unexpired exception.
``coordination.register.mismatches`` lists the cases that have none of them ("cases with no
workflow"): it needs the rules, which sit above this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from coordination.core.calendar import add_working_days, london_date
from coordination.core.clock import london_today
from coordination.core.locking import load_for_update
from coordination.core.validate import acting, aware_now, plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Case,
    Escalation,
    EscalationPublic,
    Handoff,
    Meeting,
    Offender,
    ResponsibilityException,
    ResponsibilityExceptionPublic,
)
from coordination.reference.boundaries import force_names
from coordination.security.permissions import require, visible_case_filter

#: Joint review decisions that leave the escalation open (it goes further up).
_STILL_OPEN = ("escalate", "other")
#: An exception agreed at a joint review is reviewed this long after the meeting by default.
_REVIEW_EXCEPTION_DAYS = 91


@dataclass(frozen=True)
class EscalationView:
    """An escalation as the supervisors' queue shows it.

    Attributes
    ----------
    escalation
        The escalation itself.
    offender_name, pnc_id
        Who the case is about.
    lead_force_name
        The sending force (the case's lead, and the escalation's owner).
    to_force_name
        The force that rejected the handoff.
    rejection_reason
        Why it was rejected.
    overdue
        Whether the due date has passed while the escalation is open.
    """

    escalation: EscalationPublic = field(metadata={"json": False})
    offender_name: str
    pnc_id: str
    lead_force_name: str
    to_force_name: str
    rejection_reason: str | None
    overdue: bool

    @property
    def id(self) -> int:
        """The escalation id."""
        return self.escalation.id

    def json_extra(self) -> dict[str, Any]:
        """JSON is flat: the escalation's own fields beside the view's."""
        return self.escalation.model_dump(mode="json")


# --- helpers ----------------------------------------------------------------------------------


def _settings_days() -> int:
    from coordination.core.settings import get_settings

    return get_settings().escalation_days


def _open_escalation_row(session: Session, case_id: int) -> Escalation | None:
    query = select(Escalation).where(Escalation.case_id == case_id, Escalation.state == "open")
    return session.exec(query).first()


def _load(session: Session, escalation_id: int) -> Escalation:
    row = session.get(Escalation, escalation_id)
    if row is None:
        raise NotFoundError(f"Escalation {escalation_id} does not exist")
    return row


def _offender_of(session: Session, case_id: int) -> int:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"Case {case_id} does not exist")
    return int(case.offender_id)


def _close(
    session: Session,
    row: Escalation,
    *,
    actor: str,
    resolution: str,
    note: str,
    now: datetime,
    **links: int | None,
) -> EscalationPublic:
    """Resolve an open escalation (locked by the caller) and record it."""
    row.state = "resolved"
    row.resolution = resolution  # type: ignore[assignment]
    row.resolution_note = note
    row.resolved_at = now
    row.resolved_by = actor
    for name, value in links.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="escalation.resolve",
        entity_type="escalation",
        entity_id=str(row.id),
        details={
            "case_id": row.case_id,
            "handoff_id": row.handoff_id,
            "resolution": resolution,
            "note": note,
            **links,
        },
        category="alteration",
        offender_ids=[_offender_of(session, row.case_id)],
    )
    return EscalationPublic.model_validate(row)


def _end_exceptions(session: Session, case_id: int, *, actor: str, why: str, now: datetime) -> None:
    """End a case's exceptions still in force (a new handoff takes over from them)."""
    rows = session.exec(
        select(ResponsibilityException).where(
            ResponsibilityException.case_id == case_id,
            col(ResponsibilityException.ended_at).is_(None),
        )
    ).all()
    for row in rows:
        row.ended_at = now
        row.ended_reason = why
        session.add(row)
        session.flush()
        record_event(
            session,
            actor=actor,
            action="exception.end",
            entity_type="responsibility_exception",
            entity_id=str(row.id),
            details={"case_id": case_id, "reason": why},
            category="alteration",
            offender_ids=[_offender_of(session, case_id)],
        )


def _require_owner(session: Session, actor: str, row: Escalation) -> None:
    """Only the sending force's supervisors resolve its escalations (refusal audited)."""
    require(
        session,
        actor=actor,
        action="escalation.resolve",
        case_id=row.case_id,
        force_code=row.force_code,
        entity_type="escalation",
        entity_id=str(row.id),
    )


def _locked_open(session: Session, escalation_id: int) -> Escalation:
    row = load_for_update(session, Escalation, escalation_id, label=f"Escalation {escalation_id}")
    if row.state != "open":
        raise ConflictError(
            f"Escalation {escalation_id} is already resolved ({row.resolution}): nothing to do"
        )
    return row


# --- services ---------------------------------------------------------------------------------


def escalation_due(rejected_on: date, days: int | None = None) -> date:
    """Return the due date of an escalation opened on a day: ``days`` working days later.

    ``days`` defaults to the ``escalation_days`` setting (5).
    """
    return add_working_days(rejected_on, _settings_days() if days is None else days)


def open_escalation(
    session: Session, *, actor: str, handoff_id: int, now: datetime | None = None
) -> EscalationPublic:
    """Open the escalation of a rejected handoff, owned by the sending force's supervisors.

    Called by the reject transition (:func:`coordination.handoffs.workflow.transition`), whose
    actor was checked there; it only follows a rejection. A case keeps one open escalation: a
    second rejection's escalation replaces nothing and returns the open one.

    Returns
    -------
    EscalationPublic
        The escalation, due ``escalation_days`` working days after the rejection (London date).
        Audit event ``escalation.open``.

    Raises
    ------
    NotFoundError
        No such handoff.
    ConflictError
        The handoff is not rejected.
    """
    actor = acting(actor)
    now = aware_now(now)
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise NotFoundError(f"Handoff {handoff_id} does not exist")
    if handoff.state != "rejected":
        raise ConflictError(f"Handoff {handoff_id} is {handoff.state}: only a rejection escalates")
    existing = _open_escalation_row(session, handoff.case_id)
    if existing is not None:
        return EscalationPublic.model_validate(existing)
    row = Escalation(
        case_id=handoff.case_id,
        handoff_id=handoff_id,
        force_code=handoff.from_force_code,
        due_on=escalation_due(london_date(now)),
        opened_at=now,
        opened_by=actor,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="escalation.open",
        entity_type="escalation",
        entity_id=str(row.id),
        details={
            "case_id": row.case_id,
            "handoff_id": handoff_id,
            "force_code": row.force_code,
            "due_on": row.due_on.isoformat(),
            "rejection_reason": handoff.rejection_reason,
        },
        category="alteration",
        offender_ids=[_offender_of(session, row.case_id)],
    )
    return EscalationPublic.model_validate(row)


def follow_handoff(
    session: Session, *, actor: str, handoff: Handoff, action: str, now: datetime
) -> EscalationPublic | None:
    """Keep escalations in step with the handoff workflow (called by its transitions).

    A rejection opens an escalation; requesting a new handoff of the case resolves its open
    escalation ("new request") and ends its exceptions, so a case has one workflow at a time.

    Returns
    -------
    EscalationPublic | None
        The escalation opened or resolved, if any.
    """
    if action == "reject":
        return open_escalation(session, actor=actor, handoff_id=int(handoff.id or 0), now=now)
    if action != "request":
        return None
    _end_exceptions(
        session, handoff.case_id, actor=actor, why=f"handoff {handoff.id} requested", now=now
    )
    row = _open_escalation_row(session, handoff.case_id)
    if row is None:
        return None
    return _close(
        session,
        row,
        actor=actor,
        resolution="new_request",
        note=f"New request: handoff {handoff.id}",
        now=now,
        new_handoff_id=handoff.id,
    )


def list_escalations(
    session: Session,
    *,
    actor: str,
    state: str = "open",
    force_code: str | None = None,
    case_id: int | None = None,
    today: date | None = None,
) -> list[EscalationView]:
    """Return the escalations queue: the sending force's supervisors', soonest due first.

    Parameters
    ----------
    actor
        A supervisor sees their own force's escalations (as the sending force).
    state
        ``"open"`` (default), ``"resolved"`` or ``"all"``.
    force_code
        For system actors: one sending force's queue.
    case_id
        One case's escalations.
    today
        The day to judge overdue on (default today in London).

    Raises
    ------
    InputError
        Unknown state.
    """
    p = require(session, actor=actor, action="escalation.view", personal=True)
    if state not in ("open", "resolved", "all"):
        raise InputError(f"Unknown escalation state {state!r}: use open, resolved or all")
    today = today or london_today()
    query = (
        select(Escalation, Offender, Handoff)
        .join(Case, col(Case.id) == Escalation.case_id)
        .join(Offender, col(Offender.id) == Case.offender_id)
        .join(Handoff, col(Handoff.id) == Escalation.handoff_id)
        .where(visible_case_filter(p))
    )
    if not p.is_system:
        query = query.where(Escalation.force_code == p.force_code)
    elif force_code is not None:
        query = query.where(Escalation.force_code == force_code)
    if state != "all":
        query = query.where(Escalation.state == state)
    if case_id is not None:
        query = query.where(Escalation.case_id == case_id)
    query = query.order_by(col(Escalation.due_on), col(Escalation.id))
    names = force_names(session)
    views = []
    for row, offender, handoff in session.exec(query).all():
        public = EscalationPublic.model_validate(row)
        views.append(
            EscalationView(
                escalation=public,
                offender_name=f"{offender.first_name} {offender.last_name}",
                pnc_id=offender.pnc_id,
                lead_force_name=names.get(row.force_code, row.force_code),
                to_force_name=names.get(handoff.to_force_code, handoff.to_force_code),
                rejection_reason=handoff.rejection_reason,
                overdue=row.state == "open" and row.due_on < today,
            )
        )
    return views


def record_exception(
    session: Session,
    *,
    actor: str,
    escalation_id: int,
    reason: str,
    review_on: date,
    now: datetime | None = None,
) -> ResponsibilityExceptionPublic:
    """Resolve an escalation by an agreed exception: the case stays with its lead force.

    Parameters
    ----------
    actor
        A supervisor of the sending force.
    escalation_id
        An open escalation.
    reason
        Why the case stays (required).
    review_on
        When the exception is looked at again; after today. Past it, the case is a mismatch.

    Returns
    -------
    ResponsibilityExceptionPublic
        The exception. Audit events ``exception.record`` and ``escalation.resolve``.

    Raises
    ------
    InputError
        No reason, or a review date not after today.
    ConflictError
        The escalation is resolved already.
    """
    actor = acting(actor)
    now = aware_now(now)
    peek = _load(session, escalation_id)
    _require_owner(session, actor, peek)
    reason = plain_text(reason, "the reason", multiline=True)
    if not reason:
        raise InputError("An exception needs a reason: why does the case stay with its lead?")
    if review_on <= london_date(now):
        raise InputError(f"The review date {review_on.isoformat()} must be after today")
    row = _locked_open(session, escalation_id)
    handoff = session.get(Handoff, row.handoff_id)
    exception = _new_exception(
        session,
        actor=actor,
        case_id=row.case_id,
        responsible=handoff.to_force_code if handoff else row.force_code,
        reason=reason,
        review_on=review_on,
        escalation_id=escalation_id,
        now=now,
    )
    _close(
        session,
        row,
        actor=actor,
        resolution="exception",
        note=reason,
        now=now,
        exception_id=exception.id,
    )
    return exception


def _new_exception(
    session: Session,
    *,
    actor: str,
    case_id: int,
    responsible: str,
    reason: str,
    review_on: date,
    escalation_id: int | None,
    now: datetime,
    meeting_id: int | None = None,
) -> ResponsibilityExceptionPublic:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"Case {case_id} does not exist")
    row = ResponsibilityException(
        case_id=case_id,
        lead_force_code=case.lead_force_code,
        responsible_force_code=responsible,
        reason=reason,
        review_on=review_on,
        escalation_id=escalation_id,
        meeting_id=meeting_id,
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="exception.record",
        entity_type="responsibility_exception",
        entity_id=str(row.id),
        details={
            "case_id": case_id,
            "lead_force_code": row.lead_force_code,
            "responsible_force_code": responsible,
            "reason": reason,
            "review_on": review_on.isoformat(),
            "escalation_id": escalation_id,
            "meeting_id": meeting_id,
        },
        category="alteration",
        offender_ids=[int(case.offender_id)],
    )
    return ResponsibilityExceptionPublic.model_validate(row)


def resolve_at_review(
    session: Session,
    *,
    actor: str,
    case_id: int,
    meeting_id: int,
    decision: str,
    note: str = "",
    review_on: date | None = None,
    now: datetime | None = None,
) -> EscalationPublic | None:
    """Resolve a case's open escalation by a decision recorded at a joint review.

    A transfer decision requests a handoff, which resolves the escalation by itself (new
    request). Any other decision but ``escalate`` or ``other`` resolves it "review"; when the
    case then has no open handoff it stays with its lead force under an exception recorded for
    the meeting, reviewed on ``review_on`` (default 91 days after the meeting).

    Returns
    -------
    EscalationPublic | None
        The resolved escalation, or ``None`` when there was none open or it stays open.
    """
    actor = acting(actor)
    now = aware_now(now)
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
    peek = _open_escalation_row(session, case_id)
    if peek is None or decision in _STILL_OPEN or peek.force_code not in meeting.forces:
        return None
    row = _locked_open(session, int(peek.id or 0))
    text = (
        f"Decided at joint review meeting {meeting_id} "
        f"({meeting.meeting_date.isoformat()}): {decision}" + (f"; {note}" if note.strip() else "")
    )
    open_handoff = session.exec(
        select(Handoff.id).where(
            Handoff.case_id == case_id, col(Handoff.state).in_(OPEN_HANDOFF_STATES)
        )
    ).first()
    exception_id = None
    if open_handoff is None:
        start = max(meeting.meeting_date, london_date(now))
        handoff = session.get(Handoff, row.handoff_id)
        exception_id = _new_exception(
            session,
            actor=actor,
            case_id=case_id,
            responsible=handoff.to_force_code if handoff else row.force_code,
            reason=text,
            review_on=review_on or start + timedelta(days=_REVIEW_EXCEPTION_DAYS),
            escalation_id=row.id,
            meeting_id=meeting_id,
            now=now,
        ).id
    return _close(
        session,
        row,
        actor=actor,
        resolution="review",
        note=text,
        now=now,
        meeting_id=meeting_id,
        exception_id=exception_id,
    )
