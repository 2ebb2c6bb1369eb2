"""Moves: a new residence, its resolution, and the handoff it calls for.

A move never changes a case's lead force: where the responsible force changes, the move creates a
handoff (``coordination.handoffs``) and the sending force stays responsible until it completes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.clock import london_today
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Address,
    AddressPublic,
    Case,
    Handoff,
    HandoffPublic,
    Offender,
)
from coordination.register.inputs import Residence
from coordination.register.offenders import CaseDecision
from coordination.register.residence import (
    _address_details,
    _check_valid_from,
    _force_label,
    _require_force,
    _resolve,
)
from coordination.register.rules import Decision, decide, load_rules
from coordination.security.permissions import require
from geo.forces import METROPOLITAN
from geo.lookup import Lookup


@dataclass(frozen=True)
class MoveResult:
    """What :func:`move_offender` stored, decided and started.

    ``decision`` is the decision for the first open case (``None`` with no open case);
    ``cases`` has one entry per open case; ``handoffs`` are those created by this move.
    """

    address: AddressPublic
    previous: AddressPublic | None
    decision: Decision | None
    cases: list[CaseDecision]
    handoffs: list[HandoffPublic]
    warnings: list[str] = field(default_factory=list)


def move_offender(
    session: Session,
    *,
    actor: str,
    offender_id: int,
    residence: Residence,
    lookup: Lookup,
    valid_from: date | None = None,
    near_boundary_m: float = 100.0,
    today: date | None = None,
    now: datetime | None = None,
) -> MoveResult:
    """Record a change of residence and re-decide who is responsible for each open case.

    The current address closes the day before ``valid_from`` (the same day for a same-day
    correction). Where an open case's responsible force changes, a handoff is created; the
    case's lead force does not change until that handoff completes. No fixed abode or unknown:
    the case is flagged and the lead kept, with no handoff.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is recording the move (for the audit log).
    offender_id
        The offender who moved.
    residence
        The new residence (postcode, point, or a state).
    lookup
        The boundary lookup.
    valid_from
        When the new residence began (default: today); not before the current address began.
    near_boundary_m
        Residences this close to another force are flagged for address verification.
    today
        Today's date (default: the real one); tests pin it.
    now
        When the move is recorded (default: now), passed to any handoff it creates so that a
        move recorded late keeps its real request date and deadlines.

    Returns
    -------
    MoveResult

    Raises
    ------
    NotFoundError
        No such offender.
    InputError
        ``valid_from`` is before the current address began, in the future, or the residence
        cannot be resolved.
    ConflictError
        Someone else moved the same person at the same time.
    """
    require(session, actor=actor, action="case.move", offender_id=offender_id)
    today = today or london_today()
    valid_from = valid_from or today
    offender = session.get(Offender, offender_id)
    if offender is None:
        raise NotFoundError(f"No offender with id {offender_id}")
    _check_valid_from(valid_from, today, offender.date_of_birth)
    current = session.exec(
        select(Address).where(Address.offender_id == offender_id, col(Address.valid_to).is_(None))
    ).first()
    if current is not None and valid_from < current.valid_from:
        raise InputError(
            f"A move from {valid_from.isoformat()} cannot start before the current address "
            f"began ({current.valid_from.isoformat()})"
        )
    resolved = _resolve(residence, lookup, near_boundary_m)

    previous: AddressPublic | None = None
    if current is not None:
        # A same-day move: the earlier entry lasted that one day (valid_to >= valid_from holds).
        current.valid_to = max(valid_from - timedelta(days=1), current.valid_from)
        session.add(current)
        try:
            session.flush()
        except sa.exc.IntegrityError as error:  # pragma: no cover - defensive
            raise ConflictError("The address history changed meanwhile; reload") from error
        record_event(
            session,
            actor=actor,
            action="address.close",
            entity_type="address",
            entity_id=str(current.id),
            details={"offender_id": offender_id, "valid_to": current.valid_to.isoformat()},
            category="alteration",
            offender_ids=[offender_id],
        )
        previous = AddressPublic.model_validate(current)

    address = Address(
        offender_id=offender_id, valid_from=valid_from, created_by=actor, **resolved.fields
    )
    session.add(address)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        # The partial unique index allows one current address: someone moved them meanwhile.
        raise ConflictError(
            f"The address of offender {offender_id} was changed meanwhile; reload"
        ) from error
    record_event(
        session,
        actor=actor,
        action="address.create",
        entity_type="address",
        entity_id=str(address.id),
        details=_address_details(address),
        category="alteration",
        offender_ids=[offender_id],
    )
    address_public = AddressPublic.model_validate(address)

    rules = load_rules(session)
    open_cases = session.exec(
        select(Case)
        .where(Case.offender_id == offender_id, Case.status == "open")
        .order_by(col(Case.id))
    ).all()
    outcomes: list[CaseDecision] = []
    created: list[HandoffPublic] = []
    for case in open_cases:
        if case.id is None:
            raise RuntimeError("case.id is missing")
        decision = decide(
            rules=rules,
            residence=address_public,
            programme=case.programme,
            offence_category=case.offence_category,
            current_lead=case.lead_force_code,
            near_boundary_m=near_boundary_m,
            context=resolved.context,
        )
        handoff, note = _handoff_for(
            session, actor=actor, case=case, decision=decision, address=address_public, now=now
        )
        if handoff is not None:
            created.append(handoff)
        # The explanation and flags follow the newest decision; the lead force does not.
        case.responsibility_rule = decision.rule
        case.responsibility_explanation = decision.explanation
        case.flags = list(decision.flags)
        case.updated_at = datetime.now(UTC)
        case.updated_by = actor
        session.add(case)
        session.flush()
        record_event(
            session,
            actor=actor,
            action="case.responsibility",
            entity_type="case",
            entity_id=str(case.id),
            details={
                "address_id": address.id,
                "lead_force_code": case.lead_force_code,
                "decided_force_code": decision.force_code,
                "rule": decision.rule,
                "flags": list(decision.flags),
                "handoff_id": handoff.id if handoff else None,
            },
            category="alteration",
            offender_ids=[offender_id],
        )
        outcomes.append(
            CaseDecision(
                case_id=case.id,
                lead_force_code=case.lead_force_code,
                decision=decision,
                handoff=handoff,
                note=note,
            )
        )
    return MoveResult(
        address=address_public,
        previous=previous,
        decision=outcomes[0].decision if outcomes else None,
        cases=outcomes,
        handoffs=created,
        warnings=resolved.warnings,
    )


def _handoff_for(
    session: Session,
    *,
    actor: str,
    case: Case,
    decision: Decision,
    address: AddressPublic,
    now: datetime | None = None,
) -> tuple[HandoffPublic | None, str]:
    """Create the handoff a decision calls for, if any; return it and a note for people."""
    open_handoff = session.exec(
        select(Handoff).where(
            Handoff.case_id == case.id, col(Handoff.state).in_(OPEN_HANDOFF_STATES)
        )
    ).first()
    lead = _force_label(case.lead_force_code)
    if decision.force_code == case.lead_force_code:
        if open_handoff is not None:
            return None, (
                f"{lead} keeps the case; handoff {open_handoff.id} to "
                f"{_force_label(open_handoff.to_force_code)} is still open and no longer matches "
                "the residence: withdraw it"
            )
        return None, f"{lead} keeps the case"
    target = _force_label(decision.force_code)
    if open_handoff is not None:
        if open_handoff.to_force_code == decision.force_code:
            return None, f"handoff {open_handoff.id} to {target} is already open"
        return None, (
            f"responsibility now lies with {target}, but handoff {open_handoff.id} to "
            f"{_force_label(open_handoff.to_force_code)} is open: withdraw it, then record the "
            "move again to hand off"
        )
    _require_force(session, decision.force_code)
    from coordination.handoffs.workflow import create_handoff

    if case.id is None:
        raise RuntimeError("case.id is missing")
    handoff = create_handoff(
        session,
        actor=actor,
        case_id=case.id,
        to_force_code=decision.force_code,
        to_bcu_code=address.bcu_code if decision.force_code == METROPOLITAN else None,
        reason=decision.explanation,
        address_id=address.id,
        now=now,
    )
    return handoff, f"handoff {handoff.id} to {target} created; {lead} leads until it completes"
