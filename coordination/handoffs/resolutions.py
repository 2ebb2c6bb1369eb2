"""Resolving an escalation by a new request: a new handoff, with the new facts.

Apart from ``escalations`` because it creates a handoff through the workflow, and the workflow
itself tells ``escalations`` about every rejection and request (no cycle between the three).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from coordination.core.validate import acting, plain_text
from coordination.errors import InputError, NotFoundError
from coordination.handoffs.escalations import _load, _locked_open, _require_owner
from coordination.handoffs.workflow import create_handoff
from coordination.models import Handoff, HandoffPublic


def resolve_by_new_request(
    session: Session,
    *,
    actor: str,
    escalation_id: int,
    new_facts: str,
    to_force_code: str | None = None,
    to_bcu_code: str | None = None,
    now: datetime | None = None,
) -> HandoffPublic:
    """Resolve an escalation by requesting a new handoff, with the new facts.

    Parameters
    ----------
    actor
        A supervisor of the sending force.
    escalation_id
        An open escalation.
    new_facts
        What is new since the rejection (required); it is the new handoff's reason.
    to_force_code, to_bcu_code
        Where to; default the force (and BCU) that rejected.

    Returns
    -------
    HandoffPublic
        The new handoff, requested; the escalation is resolved "new request" by it.
    """
    actor = acting(actor)
    peek = _load(session, escalation_id)
    _require_owner(session, actor, peek)
    facts = plain_text(new_facts, "the new facts", multiline=True)
    if not facts:
        raise InputError("A new request needs the new facts: what has changed since the rejection?")
    row = _locked_open(session, escalation_id)
    old = session.get(Handoff, row.handoff_id)
    if old is None:
        raise NotFoundError(f"Handoff {row.handoff_id} does not exist")
    return create_handoff(
        session,
        actor=actor,
        case_id=row.case_id,
        to_force_code=to_force_code or old.to_force_code,
        to_bcu_code=to_bcu_code if to_force_code else (to_bcu_code or old.to_bcu_code),
        reason=f"New request after rejected handoff {old.id}: {facts}",
        address_id=old.address_id,
        request=True,
        now=now,
    )
