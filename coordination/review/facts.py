"""The facts about a case that the agenda rules and the score read, loaded in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from coordination.core.sql import chunks, in_ids
from coordination.errors import NotFoundError
from coordination.handoffs.workflow import current_deadline, rag_status
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Address,
    Case,
    Handoff,
    Offender,
)
from coordination.review.ogrs3 import CaseOgrs3, ogrs3_for_case
from coordination.review.scoring import PriorityWeights, priority_score

# --- case facts -----------------------------------------------------------------------------------


@dataclass
class _Facts:
    """What scoring and showing an item need, read as plain column rows (not ORM objects:
    building thousands of table models would cost more than the queries)."""

    case: Any  # case columns and the offender's (see _CASE_COLUMNS)
    residence: Any | None  # force_code, bcu_code, postcode, distance_to_boundary_m
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
    for chunk in chunks(ids):
        rows = session.execute(
            sa.select(*_CASE_COLUMNS)
            .join(Offender, col(Offender.id) == col(Case.offender_id))
            .where(in_ids(col(Case.id), chunk))
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
                col(Address.bcu_code),
                col(Address.postcode),
                col(Address.distance_to_boundary_m),
            ).where(
                in_ids(col(Address.offender_id), sorted(by_offender)),
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
                in_ids(col(Handoff.case_id), chunk), col(Handoff.state).in_(OPEN_HANDOFF_STATES)
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


def _facts_for(session: Session, case_id: int) -> _Facts:
    facts = _load_facts(session, [case_id])
    if case_id not in facts:
        raise NotFoundError(f"Case {case_id} does not exist")
    return facts[case_id]
