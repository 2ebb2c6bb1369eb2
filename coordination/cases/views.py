"""One case as its officers read it: the case facts, its OGRS3 score and its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from coordination.cases.inputs import CLOSURE_LABELS
from coordination.cases.updates import case_history
from coordination.core.clock import london_today
from coordination.errors import NotFoundError
from coordination.models import Case, CaseEventPublic, CasePublic, Offender
from coordination.review.ogrs3 import Ogrs3Result, ogrs3_for_case

__all__ = ["CaseDetail", "case_detail"]


@dataclass(frozen=True)
class CaseDetail:
    """A case without the person's record: facts, OGRS3 (or why none), history oldest first.

    Attributes
    ----------
    case
        The case.
    ogrs3
        The OGRS3 score on ``on``, or ``None``.
    ogrs3_text
        The score in one line with its inputs, or why there is none.
    closure_text
        Why the case closed, in words (``None`` while open).
    history
        Every change after registration, oldest first.
    on
        The day the score is for.
    """

    case: CasePublic
    ogrs3: Ogrs3Result | None
    ogrs3_text: str
    closure_text: str | None
    history: list[CaseEventPublic]
    on: date


def case_detail(
    session: Session, *, actor: str, case_id: int, on: date | None = None
) -> CaseDetail:
    """Return a case the actor may see with its OGRS3 score and its history.

    Case facts only, like ``coordination.caseload.get_case``: no name, date of birth or address
    (opening the person's record is ``coordination.register.get_offender``, with a reason).

    Raises
    ------
    AccessDeniedError
        The actor may not see the case (analysts never open one).
    NotFoundError
        No such case.
    """
    history = case_history(session, actor=actor, case_id=case_id)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"No case with id {case_id}")
    person = session.get(Offender, case.offender_id)
    if person is None:
        raise NotFoundError(f"Case {case_id} has no person on the register")
    day = on or london_today()
    scored = ogrs3_for_case(case=case, offender=person, on=day)
    text = scored.result.summary() if scored.result is not None else str(scored.reason)
    closure = None
    if case.status == "closed":
        label = CLOSURE_LABELS.get(case.closure_reason or "", "reason not recorded")
        closure = label + (f": {case.closure_note}" if case.closure_note else "")
    return CaseDetail(
        case=CasePublic.model_validate(case),
        ogrs3=scored.result,
        ogrs3_text=text,
        closure_text=closure,
        history=history,
        on=day,
    )
