"""Changing a case after registration: risk, review date, MAPPA, IOM cohort, OGRS3 inputs, closure.

Each service checks the permission table first (``case.update``; ``case.close`` for closing and
reopening), then that the actor acts for the case's lead force (their own force, or a force with
no users here on a case they see), locks the case row and checks its version, and writes the
change, a ``case_event`` row (old and new values, the day it took effect, the reason) and an
audit event (category ``alteration``) in the caller's transaction. A closed case takes no update
until it is reopened; it stays in the register, its history and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from coordination.cases.inputs import (
    CLOSURE_LABELS,
    check_not_future,
    check_not_past,
    parse_closure_reason,
    parse_cohort,
    parse_risk,
    parse_sex,
)
from coordination.core.clock import london_date
from coordination.core.locking import flush_or_conflict, load_for_update
from coordination.core.validate import plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Case,
    CaseEvent,
    CaseEventPublic,
    CasePublic,
    Handoff,
    Offender,
)
from coordination.register.inputs import check_ogrs3_inputs, normalise_offence_category
from coordination.security.permissions import Principal, acts_for, deny, require

__all__ = [
    "CaseUpdate",
    "case_history",
    "close_case",
    "reopen_case",
    "set_iom_cohort",
    "set_next_review",
    "update_mappa",
    "update_ogrs3_inputs",
    "update_risk",
]

_REASON_MAX = 500


@dataclass(frozen=True)
class CaseUpdate:
    """A case after a change, and the history entry the change made."""

    case: CasePublic
    event: CaseEventPublic


# --- the shared steps --------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise InputError("now must be an aware datetime")
    return now.astimezone(UTC)


def _reason(text: str | None, *, required: bool, what: str = "the reason") -> str:
    cleaned = " ".join(plain_text(text, what, multiline=True, max_length=_REASON_MAX).split())
    if required and not cleaned:
        raise InputError(f"Give {what}")
    return cleaned


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _open_case(
    session: Session,
    *,
    actor: str,
    action: str,
    case_id: int,
    expected_version: int | None,
    must_be_open: bool = True,
) -> tuple[Principal, Case]:
    """Check the permission and the lead force, then lock the case (version-checked)."""
    p = require(session, actor=actor, action=action, case_id=case_id)
    label = f"Case {case_id}"
    case = load_for_update(session, Case, case_id, label=label, expected_version=expected_version)
    if not acts_for(session, p, case.lead_force_code, case_id):
        deny(
            session,
            p,
            action=action,
            message=f"Access refused: {p.label} may not change case {case_id}: only its lead "
            "force does",
            entity_type="case",
            entity_id=str(case_id),
            offender_ids=[case.offender_id],
        )
    if must_be_open and case.status != "open":
        raise ConflictError(f"Case {case_id} is closed: reopen it before changing it")
    return p, case


def _save(
    session: Session,
    *,
    actor: str,
    case: Case,
    kind: str,
    changes: dict[str, list[Any]],
    effective_on: date | None,
    reason: str,
    now: datetime,
) -> CaseUpdate:
    """Write the changed case, its history entry and its audit event."""
    if case.id is None:
        raise RuntimeError("case.id is missing")
    case.updated_at = now
    case.updated_by = actor
    session.add(case)
    # The versioned UPDATE goes first: it is the race check, before anything else is written.
    flush_or_conflict(session, case, label=f"Case {case.id}")
    plain = {name: [_iso(old), _iso(new)] for name, (old, new) in changes.items()}
    event = CaseEvent(
        case_id=case.id,
        kind=kind,  # type: ignore[arg-type]
        effective_on=effective_on,
        changes=plain,
        reason=reason,
        at=now,
        actor=actor,
    )
    session.add(event)
    session.flush()
    record_event(
        session,
        actor=actor,
        action=f"case.{kind}",
        entity_type="case",
        entity_id=str(case.id),
        details={
            "changes": plain,
            "effective_on": _iso(effective_on),
            "reason": reason,
            "case_event_id": event.id,
            "version": case.version,
        },
        category="alteration",
        offender_ids=[case.offender_id],
    )
    return CaseUpdate(CasePublic.model_validate(case), CaseEventPublic.model_validate(event))


def _changed(changes: dict[str, list[Any]], row: Any, field: str, new: Any) -> None:
    """Set ``row.field`` to ``new`` and note the change, if it is one."""
    old = getattr(row, field)
    if old != new:
        changes[field] = [old, new]
        setattr(row, field, new)


def _nothing(case_id: int, what: str) -> InputError:
    return InputError(f"Case {case_id}: {what} already as given; nothing changed")


# --- risk of serious harm and the review date --------------------------------------------------


def update_risk(
    session: Session,
    *,
    actor: str,
    case_id: int,
    risk: str,
    assessed_on: date | None = None,
    next_review_due: date | None = None,
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseUpdate:
    """Record a new assessment of the risk of serious harm, and optionally the next review.

    A re-assessment at the same level is recorded too (the assessment date moves on).

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who records it.
    case_id
        The case.
    risk
        ``low``, ``medium``, ``high`` or ``very high`` (any case, spaces or underscores).
    assessed_on
        The day of the assessment (default today): not in the future, not before the assessment
        already recorded.
    next_review_due
        When the case is next reviewed: not in the past, and after the assessment.
    reason
        An optional note (one paragraph).
    expected_version
        The version the caller saw; refused if the case has moved on.
    now
        The time of the change (aware; default now). "Today" is its London date.

    Returns
    -------
    CaseUpdate

    Raises
    ------
    AccessDeniedError
        Not allowed by the permission table, or not an officer of the lead force.
    NotFoundError
        No such case.
    ConflictError
        The case is closed, or changed by someone else.
    InputError
        Unknown risk, or a date breaking the rules above.
    """
    moment = _now(now)
    today = london_date(moment)
    level = parse_risk(risk)
    _, case = _open_case(
        session,
        actor=actor,
        action="case.update",
        case_id=case_id,
        expected_version=expected_version,
    )
    assessed = check_not_future(assessed_on or today, today, "The assessment date")
    if case.risk_assessed_on is not None and assessed < case.risk_assessed_on:
        raise InputError(
            f"The assessment date {assessed.isoformat()} is before the assessment already "
            f"recorded ({case.risk_assessed_on.isoformat()})"
        )
    if next_review_due is not None:
        check_not_past(next_review_due, today, "The next review date")
        if next_review_due <= assessed:
            raise InputError(
                f"The next review date {next_review_due.isoformat()} must come after the "
                f"assessment ({assessed.isoformat()})"
            )
    note = _reason(reason, required=False)
    changes: dict[str, list[Any]] = {}
    _changed(changes, case, "risk", level)
    _changed(changes, case, "risk_assessed_on", assessed)
    if next_review_due is not None:
        _changed(changes, case, "next_review_due", next_review_due)
    if not changes:
        raise _nothing(case_id, f"risk {level.replace('_', ' ')} assessed {assessed.isoformat()}")
    return _save(
        session,
        actor=actor,
        case=case,
        kind="risk",
        changes=changes,
        effective_on=assessed,
        reason=note,
        now=moment,
    )


def set_next_review(
    session: Session,
    *,
    actor: str,
    case_id: int,
    next_review_due: date,
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseUpdate:
    """Move a case's next review date (not in the past).

    Raises
    ------
    AccessDeniedError, NotFoundError, ConflictError
        As :func:`update_risk`.
    InputError
        The date is in the past or unchanged.
    """
    moment = _now(now)
    today = london_date(moment)
    _, case = _open_case(
        session,
        actor=actor,
        action="case.update",
        case_id=case_id,
        expected_version=expected_version,
    )
    check_not_past(next_review_due, today, "The next review date")
    changes: dict[str, list[Any]] = {}
    _changed(changes, case, "next_review_due", next_review_due)
    if not changes:
        raise _nothing(case_id, f"next review {next_review_due.isoformat()}")
    return _save(
        session,
        actor=actor,
        case=case,
        kind="review",
        changes=changes,
        effective_on=today,
        reason=_reason(reason, required=False),
        now=moment,
    )


# --- MAPPA ---------------------------------------------------------------------------------------


def _mappa_value(value: int | None, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3:
        raise InputError(f"MAPPA {what} is 1, 2 or 3, not {value!r}")
    return value


def update_mappa(
    session: Session,
    *,
    actor: str,
    case_id: int,
    category: int | None = None,
    level: int | None = None,
    changed_on: date | None = None,
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseUpdate:
    """Change a MAPPA case's category and/or level, with the date of the change.

    Parameters
    ----------
    category, level
        The new values, 1-3 (at least one of them).
    changed_on
        When the change took effect (default today): not in the future, not before the last
        recorded change.

    Raises
    ------
    AccessDeniedError, NotFoundError, ConflictError
        As :func:`update_risk`.
    InputError
        Not a MAPPA case, a value outside 1-3, nothing given or nothing changed, a bad date.
    """
    moment = _now(now)
    today = london_date(moment)
    category = _mappa_value(category, "category")
    level = _mappa_value(level, "level")
    if category is None and level is None:
        raise InputError("Give the MAPPA category, the level, or both")
    _, case = _open_case(
        session,
        actor=actor,
        action="case.update",
        case_id=case_id,
        expected_version=expected_version,
    )
    if case.programme != "mappa":
        raise InputError(
            f"Case {case_id} is not a MAPPA case ({case.programme}): MAPPA category and level "
            "belong to MAPPA cases only"
        )
    changed = check_not_future(changed_on or today, today, "The MAPPA change date")
    if case.mappa_changed_on is not None and changed < case.mappa_changed_on:
        raise InputError(
            f"The MAPPA change date {changed.isoformat()} is before the last change recorded "
            f"({case.mappa_changed_on.isoformat()})"
        )
    changes: dict[str, list[Any]] = {}
    if category is not None:
        _changed(changes, case, "mappa_category", category)
    if level is not None:
        _changed(changes, case, "mappa_level", level)
    if not changes:
        raise _nothing(case_id, "MAPPA category and level")
    _changed(changes, case, "mappa_changed_on", changed)
    return _save(
        session,
        actor=actor,
        case=case,
        kind="mappa",
        changes=changes,
        effective_on=changed,
        reason=_reason(reason, required=False),
        now=moment,
    )


# --- the IOM cohort ------------------------------------------------------------------------------


def set_iom_cohort(
    session: Session,
    *,
    actor: str,
    case_id: int,
    select_cohort: bool,
    cohort: str = "fixed",
    reason: str = "",
    on: date | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseUpdate:
    """Select a case into an IOM cohort (fixed, flex, free) or de-select it (with a reason).

    Selection moves a case of another programme (not MAPPA) or another cohort into ``cohort``;
    de-selection returns an IOM case to ``other``. The programme is what the responsibility rules
    and review intervals read; the lead force does not change here.

    Parameters
    ----------
    select_cohort
        True to select, False to de-select.
    cohort
        ``fixed``, ``flex`` or ``free`` (selection only).
    reason
        Why; required to de-select.
    on
        When it took effect (default today; not in the future).

    Raises
    ------
    AccessDeniedError, NotFoundError, ConflictError
        As :func:`update_risk`.
    InputError
        A MAPPA case, already in that cohort, not in IOM to de-select, no reason to de-select.
    """
    moment = _now(now)
    today = london_date(moment)
    programme = parse_cohort(cohort) if select_cohort else "other"
    note = _reason(reason, required=not select_cohort, what="the reason for de-selection")
    _, case = _open_case(
        session,
        actor=actor,
        action="case.update",
        case_id=case_id,
        expected_version=expected_version,
    )
    effective = check_not_future(on or today, today, "The IOM change date")
    if case.programme == "mappa":
        raise InputError(
            f"Case {case_id} is managed under MAPPA: its IOM cohort is not changed here"
        )
    if select_cohort and case.programme == programme:
        raise _nothing(case_id, f"IOM cohort {cohort}")
    if not select_cohort and not case.programme.startswith("iom_"):
        raise InputError(
            f"Case {case_id} is in no IOM cohort ({case.programme}): nothing to de-select"
        )
    changes: dict[str, list[Any]] = {}
    _changed(changes, case, "programme", programme)
    return _save(
        session,
        actor=actor,
        case=case,
        kind="iom",
        changes=changes,
        effective_on=effective,
        reason=note,
        now=moment,
    )


# --- OGRS3 inputs --------------------------------------------------------------------------------


def update_ogrs3_inputs(
    session: Session,
    *,
    actor: str,
    case_id: int,
    sex: str | None = None,
    age_at_first_sanction: int | None = None,
    previous_sanctions: int | None = None,
    offence: str | None = None,
    conviction_date: date | None = None,
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseUpdate:
    """Record the OGRS3 inputs of a case (those given; the others stay as they are).

    The date of birth comes from the person's record; sex is stored on the person (it is
    recorded on this case's history and in the audit log against both).

    Parameters
    ----------
    sex
        ``male``, ``female`` or ``not known`` (OGRS3 scores male and female only).
    age_at_first_sanction
        Age at the first sanction, 10-110, not after the current conviction.
    previous_sanctions
        Previous sanctions, 0 or more.
    offence
        The current-offence category (an OGRS3 category key or label).
    conviction_date
        The current conviction: not in the future, not before the person was 10.

    Raises
    ------
    AccessDeniedError, NotFoundError, ConflictError
        As :func:`update_risk`.
    InputError
        Nothing given or nothing changed, or an input breaking the rules above.
    """
    moment = _now(now)
    today = london_date(moment)
    given = (sex, age_at_first_sanction, previous_sanctions, offence, conviction_date)
    if all(v is None for v in given):
        raise InputError("Give at least one OGRS3 input")
    new_sex = parse_sex(sex) if sex is not None else None
    new_offence = normalise_offence_category(offence) if offence is not None else None
    _, case = _open_case(
        session,
        actor=actor,
        action="case.update",
        case_id=case_id,
        expected_version=expected_version,
    )
    person = session.get(Offender, case.offender_id)
    if person is None:
        raise NotFoundError(f"Case {case_id} has no person on the register")
    check_ogrs3_inputs(
        date_of_birth=person.date_of_birth,
        age_at_first_sanction=age_at_first_sanction
        if age_at_first_sanction is not None
        else case.age_at_first_sanction,
        previous_sanctions=previous_sanctions
        if previous_sanctions is not None
        else case.previous_sanctions,
        conviction_date=conviction_date if conviction_date is not None else case.conviction_date,
        today=today,
    )
    changes: dict[str, list[Any]] = {}
    if new_sex is not None and person.sex != new_sex:
        changes["sex"] = [person.sex, new_sex]
        person.sex = new_sex  # type: ignore[assignment]
        session.add(person)
    for field, value in (
        ("age_at_first_sanction", age_at_first_sanction),
        ("previous_sanctions", previous_sanctions),
        ("offence_category", new_offence),
        ("conviction_date", conviction_date),
    ):
        if value is not None:
            _changed(changes, case, field, value)
    if not changes:
        raise _nothing(case_id, "the OGRS3 inputs are")
    return _save(
        session,
        actor=actor,
        case=case,
        kind="ogrs3",
        changes=changes,
        effective_on=today,
        reason=_reason(reason, required=False),
        now=moment,
    )


# --- closure and reopening -----------------------------------------------------------------------


def close_case(
    session: Session,
    *,
    actor: str,
    case_id: int,
    reason: str,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseUpdate:
    """Close a case with a reason from the list (``other`` needs a note saying what).

    A closed case leaves queues and agendas but stays in the register, its history and reports.
    A case with an open handoff is not closed: the handoff is withdrawn first, so no other
    force is left waiting for it.

    Parameters
    ----------
    reason
        ``sentence_ended`` (sentence or licence ended), ``deregistered``, ``deceased``,
        ``moved_out`` (of the coordinated area) or ``other``; the words work too.
    note
        Free text; required with ``other``.

    Raises
    ------
    AccessDeniedError
        Not a supervisor of the lead force (``case.close``).
    NotFoundError
        No such case.
    ConflictError
        Already closed, an open handoff, or changed by someone else.
    InputError
        An unknown reason, or ``other`` without a note.
    """
    moment = _now(now)
    kind = parse_closure_reason(reason)
    text = _reason(note, required=kind == "other", what="a note saying why (reason other)")
    _, case = _open_case(
        session,
        actor=actor,
        action="case.close",
        case_id=case_id,
        expected_version=expected_version,
        must_be_open=False,
    )
    if case.status == "closed":
        raise ConflictError(f"Case {case_id} is already closed")
    handoff = session.exec(
        select(Handoff.id).where(
            Handoff.case_id == case_id, col(Handoff.state).in_(OPEN_HANDOFF_STATES)
        )
    ).first()
    if handoff is not None:
        raise ConflictError(
            f"Case {case_id} has an open handoff ({handoff}): withdraw it before closing the case"
        )
    changes: dict[str, list[Any]] = {}
    _changed(changes, case, "status", "closed")
    _changed(changes, case, "closed_at", moment)
    _changed(changes, case, "closure_reason", kind)
    _changed(changes, case, "closure_note", text or None)
    return _save(
        session,
        actor=actor,
        case=case,
        kind="close",
        changes=changes,
        effective_on=london_date(moment),
        reason=CLOSURE_LABELS[kind] + (f": {text}" if text else ""),
        now=moment,
    )


def reopen_case(
    session: Session,
    *,
    actor: str,
    case_id: int,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseUpdate:
    """Reopen a closed case, with a reason; it returns to queues and agendas.

    The closure stays in the case's history (and the audit log); the case row forgets it.

    Raises
    ------
    AccessDeniedError
        Not a supervisor of the lead force (``case.close``).
    NotFoundError
        No such case.
    ConflictError
        The case is open, or changed by someone else.
    InputError
        No reason.
    """
    moment = _now(now)
    text = _reason(reason, required=True, what="the reason for reopening")
    _, case = _open_case(
        session,
        actor=actor,
        action="case.close",
        case_id=case_id,
        expected_version=expected_version,
        must_be_open=False,
    )
    if case.status == "open":
        raise ConflictError(f"Case {case_id} is open: nothing to reopen")
    changes: dict[str, list[Any]] = {}
    _changed(changes, case, "status", "open")
    _changed(changes, case, "closed_at", None)
    _changed(changes, case, "closure_reason", None)
    _changed(changes, case, "closure_note", None)
    return _save(
        session,
        actor=actor,
        case=case,
        kind="reopen",
        changes=changes,
        effective_on=london_date(moment),
        reason=text,
        now=moment,
    )


# --- history -------------------------------------------------------------------------------------


def case_history(session: Session, *, actor: str, case_id: int) -> list[CaseEventPublic]:
    """Return every change of a case after registration, oldest first.

    Raises
    ------
    AccessDeniedError
        The actor may not see the case.
    NotFoundError
        No such case.
    """
    require(session, actor=actor, action="case.view", case_id=case_id)
    if session.get(Case, case_id) is None:
        raise NotFoundError(f"No case with id {case_id}")
    rows = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
    ).all()
    return [CaseEventPublic.model_validate(r) for r in rows]
