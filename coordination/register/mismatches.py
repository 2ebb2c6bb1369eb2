"""Cases led against the rules with nothing under way to settle it ("cases with no workflow").

The invariant of the handoff workflow: every open case whose lead force differs from the force
the responsibility rules (:mod:`coordination.register.rules`) name for its current address has
exactly one of an open handoff, an open escalation or an unexpired exception
(``coordination.handoffs.escalations``). :func:`mismatches` lists those with none; on a healthy
register it is empty. It lives here, beside the rules, because the handoff package may not use
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.clock import london_today
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Address,
    AddressPublic,
    Case,
    Escalation,
    Handoff,
    Offender,
    ResponsibilityException,
)
from coordination.reference.boundaries import force_names
from coordination.register.rules import decide, load_rules
from coordination.security.permissions import require, visible_case_filter


@dataclass(frozen=True)
class Mismatch:
    """An open case led by a force other than the rules name, with no workflow to settle it."""

    case_id: int
    offender_id: int
    offender_name: str
    pnc_id: str
    lead_force_code: str
    lead_force_name: str
    responsible_force_code: str
    responsible_force_name: str
    rule: str
    explanation: str


def mismatches(
    session: Session, *, actor: str, today: date | None = None, near_boundary_m: float = 100.0
) -> list[Mismatch]:
    """Return the open cases with a lead force other than the rules name and no workflow.

    A case is listed when the force :func:`~coordination.register.rules.decide` names for its
    current address differs from its lead force, and it has no open handoff, no open escalation
    and no unexpired exception (not ended, review date not past). On a healthy register the
    list is empty.

    Parameters
    ----------
    actor
        Who is looking (supervisors); only cases they may see are considered.
    today
        The day exceptions are judged on (default today in London).
    near_boundary_m
        Passed to the rules (it only sets flags).
    """
    p = require(session, actor=actor, action="escalation.view", personal=True)
    today = today or london_today()
    covered = _covered_cases(session, today)
    query = (
        select(Case, Offender, Address)
        .join(Offender, col(Offender.id) == Case.offender_id)
        .outerjoin(
            Address,
            sa.and_(
                col(Address.offender_id) == col(Case.offender_id), col(Address.valid_to).is_(None)
            ),
        )
        .where(Case.status == "open", visible_case_filter(p))
        .order_by(col(Case.id))
    )
    rules = load_rules(session)
    names = force_names(session)
    found: list[Mismatch] = []
    for case, offender, address in session.exec(query).all():
        if case.id in covered:
            continue
        decision = decide(
            rules=rules,
            residence=AddressPublic.model_validate(address) if address is not None else None,
            programme=case.programme,
            offence_category=case.offence_category,
            current_lead=case.lead_force_code,
            near_boundary_m=near_boundary_m,
        )
        if decision.force_code == case.lead_force_code:
            continue
        found.append(
            Mismatch(
                case_id=int(case.id or 0),
                offender_id=int(offender.id or 0),
                offender_name=f"{offender.first_name} {offender.last_name}",
                pnc_id=offender.pnc_id,
                lead_force_code=case.lead_force_code,
                lead_force_name=names.get(case.lead_force_code, case.lead_force_code),
                responsible_force_code=decision.force_code,
                responsible_force_name=names.get(decision.force_code, decision.force_code),
                rule=decision.rule,
                explanation=decision.explanation,
            )
        )
    return found


def _covered_cases(session: Session, today: date) -> set[int]:
    """Cases with a workflow: an open handoff, an open escalation or an unexpired exception."""
    handed = select(Handoff.case_id).where(col(Handoff.state).in_(OPEN_HANDOFF_STATES))
    escalated = select(Escalation.case_id).where(Escalation.state == "open")
    excepted = select(ResponsibilityException.case_id).where(
        col(ResponsibilityException.ended_at).is_(None),
        col(ResponsibilityException.review_on) >= today,
    )
    covered: set[int] = set()
    for query in (handed, escalated, excepted):
        covered.update(int(c) for c in session.exec(query).all())
    return covered


def workflows_per_case(
    session: Session, *, actor: str, today: date | None = None
) -> dict[int, int]:
    """Count each open case's workflows (open handoff, open escalation, unexpired exception).

    The invariant wants exactly one for a case led against the rules; tests and checks use this.
    """
    require(session, actor=actor, action="escalation.view")
    today = today or london_today()
    counts: dict[int, int] = {}
    queries = (
        select(Handoff.case_id).where(col(Handoff.state).in_(OPEN_HANDOFF_STATES)),
        select(Escalation.case_id).where(Escalation.state == "open"),
        select(ResponsibilityException.case_id).where(
            col(ResponsibilityException.ended_at).is_(None),
            col(ResponsibilityException.review_on) >= today,
        ),
    )
    for query in queries:
        for case_id in session.exec(query).all():
            counts[int(case_id)] = counts.get(int(case_id), 0) + 1
    return counts
