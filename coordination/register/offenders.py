"""The offender register: people, their address history, their cases, and who leads each case.

Every address is resolved when it is entered and the resolution (force, district, BCU, ward,
distance to the boundary, near-boundary flag, method, boundary set) is stored on the address row,
so an old answer can be explained after the boundaries change. A case's lead force is decided by
the rule table (``coordination.rules``) and carries its explanation.

A move never changes a case's lead force: where the responsible force changes, the move creates a
handoff (``coordination.handoffs``) and the sending force stays responsible until it completes.

Services are keyword-only, take an explicit ``Session``, record an audit event for every write in
the same transaction, and return ``XPublic`` models or frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from coordination.core.clock import london_today
from coordination.core.validate import plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    Address,
    AddressPublic,
    Case,
    CasePublic,
    Handoff,
    HandoffPublic,
    Offender,
    OffenderPublic,
)
from coordination.register.inputs import (
    CaseCreate,
    OffenderCreate,
    Residence,
    check_ogrs3_inputs,
    review_due,
)
from coordination.register.residence import (
    _address_details,
    _check_valid_from,
    _require_force,
    _resolve,
)
from coordination.register.rules import Decision, decide, load_rules
from coordination.security.permissions import require, visible_case_filter
from geo.lookup import Lookup

# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddedOffender:
    """What :func:`add_offender` stored, and the responsibility decision for the case."""

    offender: OffenderPublic
    case: CasePublic
    address: AddressPublic
    decision: Decision
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CaseDecision:
    """One open case after a move: its (unchanged) lead, the new decision, and any handoff."""

    case_id: int
    lead_force_code: str
    decision: Decision
    handoff: HandoffPublic | None
    note: str


@dataclass(frozen=True)
class OffenderDetail:
    """An offender with addresses (newest first), cases, and the handoffs of those cases."""

    offender: OffenderPublic
    addresses: list[AddressPublic]
    cases: list[CasePublic]
    handoffs: list[HandoffPublic]

    @property
    def current_address(self) -> AddressPublic | None:
        """The open-ended address, if any."""
        return next((a for a in self.addresses if a.valid_to is None), None)


# -- services ----------------------------------------------------------------------------------


def add_offender(
    session: Session,
    *,
    actor: str,
    offender: OffenderCreate,
    case: CaseCreate,
    residence: Residence,
    lookup: Lookup,
    valid_from: date | None = None,
    near_boundary_m: float = 100.0,
    today: date | None = None,
) -> AddedOffender:
    """Register an offender with their current residence and one case.

    The residence is resolved now and the resolution stored on the address row. The case's lead
    force comes from the rule table, with the explanation and flags of that decision; its next
    review is due 3 months on for MAPPA and 6 for IOM (and other) unless given.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is registering (for the audit log).
    offender, case, residence
        Validated inputs (see :func:`validated`).
    lookup
        The boundary lookup (the CLI passes ``coordination.lookup.get_service().lookup``).
    valid_from
        When the person began living there (default: today).
    near_boundary_m
        Residences this close to another force are flagged for address verification.
    today
        The date the case opens (default: today); tests pin it.

    Returns
    -------
    AddedOffender

    Raises
    ------
    ConflictError
        An offender with this PNC ID exists.
    InputError
        The residence cannot be resolved (unknown postcode …), ``valid_from`` is impossible, or
        the OGRS3 inputs given contradict the date of birth or each other.
    """
    require(session, actor=actor, action="case.create")
    today = today or london_today()
    valid_from = valid_from or today
    _check_valid_from(valid_from, today, offender.date_of_birth)
    check_ogrs3_inputs(
        date_of_birth=offender.date_of_birth,
        age_at_first_sanction=case.age_at_first_sanction,
        previous_sanctions=case.previous_sanctions,
        conviction_date=case.conviction_date,
        today=today,
    )
    existing = session.exec(select(Offender).where(Offender.pnc_id == offender.pnc_id)).first()
    if existing is not None:
        raise ConflictError(
            f"An offender with PNC ID {offender.pnc_id} is already registered (id {existing.id})"
        )
    resolved = _resolve(residence, lookup, near_boundary_m)

    row = Offender.model_validate(offender, update={"created_by": actor})
    session.add(row)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        # Registered by someone else since the check above; session_scope rolls back.
        raise ConflictError(
            f"An offender with PNC ID {offender.pnc_id} is already registered"
        ) from error
    if row.id is None:
        raise RuntimeError("row.id is missing")
    record_event(
        session,
        actor=actor,
        action="offender.create",
        entity_type="offender",
        entity_id=str(row.id),
        details={"pnc_id": row.pnc_id},
        category="collection",
        offender_ids=[row.id],
    )

    address = Address(
        offender_id=row.id, valid_from=valid_from, created_by=actor, **resolved.fields
    )
    session.add(address)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="address.create",
        entity_type="address",
        entity_id=str(address.id),
        details=_address_details(address),
        category="collection",
        offender_ids=[row.id],
    )
    address_public = AddressPublic.model_validate(address)

    decision = decide(
        rules=load_rules(session),
        residence=address_public,
        programme=case.programme,
        offence_category=case.offence_category,
        current_lead=None,
        near_boundary_m=near_boundary_m,
        context=resolved.context,
    )
    _require_force(session, decision.force_code)
    now = datetime.now(UTC)
    case_row = Case.model_validate(
        case,
        update={
            "offender_id": row.id,
            "lead_force_code": decision.force_code,
            "responsibility_rule": decision.rule,
            "responsibility_explanation": decision.explanation,
            "flags": list(decision.flags),
            "next_review_due": case.next_review_due or review_due(case.programme, today),
            "opened_at": now,
            "updated_at": now,
            "updated_by": actor,
        },
    )
    session.add(case_row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case.create",
        entity_type="case",
        entity_id=str(case_row.id),
        details={
            "offender_id": row.id,
            "programme": case_row.programme,
            "risk": case_row.risk,
            "offence_category": case_row.offence_category,
            "lead_force_code": case_row.lead_force_code,
            "rule": decision.rule,
            "flags": list(decision.flags),
            "next_review_due": case_row.next_review_due.isoformat()
            if case_row.next_review_due
            else None,
            "risk_assessed_on": case_row.risk_assessed_on.isoformat()
            if case_row.risk_assessed_on
            else None,
            "ogrs3_inputs": {
                "previous_sanctions": case_row.previous_sanctions,
                "age_at_first_sanction": case_row.age_at_first_sanction,
                "conviction_date": case_row.conviction_date.isoformat()
                if case_row.conviction_date
                else None,
            },
        },
        category="collection",
        offender_ids=[row.id],
    )
    return AddedOffender(
        offender=OffenderPublic.model_validate(row),
        case=CasePublic.model_validate(case_row),
        address=address_public,
        decision=decision,
        warnings=resolved.warnings,
    )


def get_offender(
    session: Session,
    *,
    offender_id: int,
    actor: str,
    justification: str | None = None,
) -> OffenderDetail:
    """Open a person's record: their address history (newest first), cases and handoffs.

    Opening a record is a consultation (DPA 2018 s.62): a user must give a reason, and the look
    is logged with it (category ``consultation``). Only the cases the actor may see are shown.

    Parameters
    ----------
    session
        Any session (the caller commits, so the consultation is logged).
    offender_id
        The person.
    actor
        Who is looking; see ``coordination.permissions.principal``.
    justification
        Why; required for a user (not for a system principal).

    Raises
    ------
    AccessDeniedError
        The actor may not see any case of this person (audited).
    InputError
        A user gave no reason.
    NotFoundError
        No such offender.
    """
    p = require(session, actor=actor, action="case.view", offender_id=offender_id)
    justification = (
        " ".join(plain_text(justification, "the reason", multiline=True).split()) or None
    )
    if not p.is_system and justification is None:
        raise InputError("A reason is needed to open this record")
    offender = session.get(Offender, offender_id)
    if offender is None:
        raise NotFoundError(f"No offender with id {offender_id}")
    if actor:
        record_event(
            session,
            actor=actor,
            action="offender.view",
            entity_type="offender",
            entity_id=str(offender_id),
            category="consultation",
            justification=justification,
            offender_ids=[offender_id],
        )
    addresses = session.exec(
        select(Address)
        .where(Address.offender_id == offender_id)
        .order_by(col(Address.valid_from).desc(), col(Address.id).desc())
    ).all()
    cases = session.exec(
        select(Case)
        .where(Case.offender_id == offender_id, visible_case_filter(p))
        .order_by(col(Case.id))
    ).all()
    case_ids = [c.id for c in cases]
    handoffs = (
        session.exec(
            select(Handoff)
            .where(col(Handoff.case_id).in_(case_ids))
            .order_by(col(Handoff.created_at), col(Handoff.id))
        ).all()
        if case_ids
        else []
    )
    return OffenderDetail(
        offender=OffenderPublic.model_validate(offender),
        addresses=[AddressPublic.model_validate(a) for a in addresses],
        cases=[CasePublic.model_validate(c) for c in cases],
        handoffs=[HandoffPublic.model_validate(h) for h in handoffs],
    )


def list_offenders(
    session: Session,
    *,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
    actor: str,
) -> list[OffenderPublic]:
    """Return offenders by id, optionally those whose PNC ID or name contains ``search``.

    Only people with a case the actor may see are listed; analysts are refused (the list
    carries names), see ``coordination.permissions``.
    """
    p = require(session, actor=actor, action="case.view", personal=True)
    query = select(Offender)
    if not p.is_system:
        query = query.where(
            col(Offender.id).in_(select(Case.offender_id).where(visible_case_filter(p)))
        )
    if search and search.strip():
        pattern = f"%{search.strip()}%"
        query = query.where(
            or_(
                col(Offender.pnc_id).ilike(pattern),
                col(Offender.last_name).ilike(pattern),
                col(Offender.first_name).ilike(pattern),
            )
        )
    rows = session.exec(query.order_by(col(Offender.id)).offset(offset).limit(limit)).all()
    return [OffenderPublic.model_validate(r) for r in rows]
