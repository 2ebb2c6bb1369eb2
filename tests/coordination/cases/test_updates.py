"""Case updates and closure through the services, on SQLite and PostgreSQL.

Each change is an audited alteration (an event in the audit log, the chain still verifies) and an
entry in the case's history; the permission table decides who may (``case.update``: officers of
the lead force; ``case.close``: its supervisors); closed cases take no update and leave the agenda
but stay in the register and its history; reopening brings them back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.cases import updates
from coordination.cases.views import case_detail
from coordination.core.clock import london_today
from coordination.core.db import session_scope
from coordination.errors import AccessDeniedError, ConflictError, InputError
from coordination.models import AuditEvent, Case, CaseEvent, Offender
from coordination.review.agenda import generate_agenda
from coordination.review.meetings import create_meeting
from coordination.security.permissions import PERMISSIONS
from tests.factories import CITY, MET, USERS, World, add_case, seed_review_cases
from tests.support.ledger import verify

TODAY = london_today()


def _do(engine: Engine, fn: Callable[..., Any], **kwargs: Any) -> Any:
    with session_scope(engine) as session:
        return fn(session, **kwargs)


def _events(engine: Engine, action: str, case_id: int) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEvent).where(
                    AuditEvent.action == action, AuditEvent.entity_id == str(case_id)
                )
            ).all()
        )


def _case(engine: Engine, case_id: int) -> Case:
    with Session(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None
        return case


# --- each update audited -------------------------------------------------------------------------


def test_risk_update_is_audited_and_in_history(world: tuple[Engine, World]) -> None:
    engine, w = world
    review = TODAY + timedelta(days=90)
    done = _do(
        engine,
        updates.update_risk,
        actor="city.om",
        case_id=w.city,
        risk="Very High",
        assessed_on=TODAY - timedelta(days=1),
        next_review_due=review,
        reason="new intelligence",
    )
    assert done.case.risk == "very_high"
    assert done.case.risk_assessed_on == TODAY - timedelta(days=1)
    assert done.case.next_review_due == review
    assert done.event.kind == "risk"
    assert done.event.changes["risk"] == ["medium", "very_high"]
    [event] = _events(engine, "case.risk", w.city)
    assert event.category == "alteration"
    assert event.actor == "city.om"
    assert (event.details or {})["changes"]["risk"] == ["medium", "very_high"]
    assert event.offender_ids == [w.offender[w.city]]
    assert verify(engine).ok
    with Session(engine) as s:
        history = s.exec(select(CaseEvent).where(CaseEvent.case_id == w.city)).all()
    assert [h.kind for h in history] == ["risk"]
    assert history[0].reason == "new intelligence"


def test_every_kind_of_update_is_audited(world: tuple[Engine, World]) -> None:
    engine, w = world
    mappa = _do(engine, add_case, programme="mappa", mappa_level=1)
    _do(engine, updates.update_mappa, actor="city.sup", case_id=mappa, level=2, category=2)
    _do(
        engine,
        updates.set_next_review,
        actor="city.om",
        case_id=w.city,
        next_review_due=TODAY + timedelta(days=30),
    )
    _do(
        engine,
        updates.set_iom_cohort,
        actor="city.om",
        case_id=w.city,
        select_cohort=True,
        cohort="flex",
    )
    _do(
        engine,
        updates.set_iom_cohort,
        actor="city.om",
        case_id=w.city,
        select_cohort=False,
        reason="no longer meets the criteria",
    )
    _do(
        engine,
        updates.update_ogrs3_inputs,
        actor="city.om",
        case_id=w.city,
        sex="female",
        age_at_first_sanction=15,
        previous_sanctions=4,
        offence="robbery",
        conviction_date=date(2024, 6, 1),
    )
    for action, case_id in (
        ("case.mappa", mappa),
        ("case.review", w.city),
        ("case.iom", w.city),
        ("case.ogrs3", w.city),
    ):
        assert _events(engine, action, case_id), action
    assert len(_events(engine, "case.iom", w.city)) == 2
    case = _case(engine, w.city)
    assert case.programme == "other"
    assert (case.previous_sanctions, case.age_at_first_sanction) == (4, 15)
    assert case.offence_category == "robbery"
    with Session(engine) as s:
        person = s.get(Offender, case.offender_id)
        assert person is not None and person.sex == "female"
    m = _case(engine, mappa)
    assert (m.mappa_category, m.mappa_level, m.mappa_changed_on) == (2, 2, TODAY)
    assert verify(engine).ok


def test_ogrs3_inputs_give_a_score(world: tuple[Engine, World]) -> None:
    engine, w = world
    with session_scope(engine) as s:
        before = case_detail(s, actor="city.om", case_id=w.city)
    assert before.ogrs3 is None and "No OGRS3 score" in before.ogrs3_text
    _do(
        engine,
        updates.update_ogrs3_inputs,
        actor="city.om",
        case_id=w.city,
        age_at_first_sanction=16,
        previous_sanctions=3,
        conviction_date=date(2024, 1, 10),
    )
    with session_scope(engine) as s:
        after = case_detail(s, actor="city.om", case_id=w.city)
    assert after.ogrs3 is not None
    assert after.ogrs3_text.startswith("OGRS3 ")
    assert [e.kind for e in after.history] == ["ogrs3"]


# --- invalid values and date rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "kwargs", "needle"),
    [
        (updates.update_risk, {"risk": "extreme"}, "not a risk of serious harm"),
        (updates.update_risk, {"risk": "high", "assessed_on": TODAY + timedelta(days=1)}, "future"),
        (
            updates.update_risk,
            {"risk": "high", "next_review_due": TODAY - timedelta(days=1)},
            "in the past",
        ),
        (
            updates.update_risk,
            {"risk": "high", "assessed_on": TODAY, "next_review_due": TODAY},
            "must come after the assessment",
        ),
        (updates.set_next_review, {"next_review_due": TODAY - timedelta(days=1)}, "in the past"),
        (updates.update_mappa, {"level": 2}, "not a MAPPA case"),
        (updates.update_mappa, {}, "Give the MAPPA"),
        (updates.set_iom_cohort, {"select_cohort": False}, "reason"),
        (updates.set_iom_cohort, {"select_cohort": True, "cohort": "gold"}, "not an IOM cohort"),
        (updates.set_iom_cohort, {"select_cohort": True, "cohort": "fixed"}, "nothing changed"),
        (updates.update_ogrs3_inputs, {}, "at least one"),
        (updates.update_ogrs3_inputs, {"previous_sanctions": -1}, "0 to"),
        (updates.update_ogrs3_inputs, {"age_at_first_sanction": 9}, "10 to"),
        (updates.update_ogrs3_inputs, {"sex": "x"}, "not a sex"),
        (updates.update_ogrs3_inputs, {"offence": "jaywalking"}, "offence category"),
        (
            updates.update_ogrs3_inputs,
            {"conviction_date": TODAY + timedelta(days=1)},
            "in the future",
        ),
        (updates.update_ogrs3_inputs, {"conviction_date": date(1995, 1, 1)}, "before the person"),
        (
            updates.update_ogrs3_inputs,
            {"conviction_date": date(2010, 1, 1), "age_at_first_sanction": 30},
            "after the age at the current",
        ),
        (updates.close_case, {"reason": "bored"}, "not a closure reason"),
        (updates.close_case, {"reason": "other"}, "note"),
    ],
)
def test_invalid_values_are_refused_with_typed_errors(
    world: tuple[Engine, World], fn: Callable[..., Any], kwargs: dict[str, Any], needle: str | None
) -> None:
    engine, w = world
    actor = "city.sup"
    with pytest.raises(InputError) as caught:
        _do(engine, fn, actor=actor, case_id=w.city, **kwargs)
    if needle:
        assert needle in str(caught.value)
    assert _case(engine, w.city).version == 1
    with Session(engine) as s:
        assert s.exec(select(CaseEvent)).all() == []


def test_an_older_assessment_or_mappa_change_is_refused(world: tuple[Engine, World]) -> None:
    engine, w = world
    _do(engine, updates.update_risk, actor="city.om", case_id=w.city, risk="high")
    with pytest.raises(InputError, match="before the assessment already recorded"):
        _do(
            engine,
            updates.update_risk,
            actor="city.om",
            case_id=w.city,
            risk="low",
            assessed_on=TODAY - timedelta(days=3),
        )
    mappa = _do(engine, add_case, programme="mappa", mappa_level=1)
    _do(engine, updates.update_mappa, actor="city.om", case_id=mappa, level=2)
    with pytest.raises(InputError, match="before the last change"):
        _do(
            engine,
            updates.update_mappa,
            actor="city.om",
            case_id=mappa,
            level=3,
            changed_on=TODAY - timedelta(days=1),
        )


def test_a_stale_version_is_a_conflict(world: tuple[Engine, World]) -> None:
    engine, w = world
    _do(engine, updates.update_risk, actor="city.om", case_id=w.city, risk="high")
    with pytest.raises(ConflictError, match="changed by"):
        _do(
            engine,
            updates.update_risk,
            actor="city.om",
            case_id=w.city,
            risk="low",
            expected_version=1,
        )


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("user", sorted(USERS))
def test_who_may_update_and_close_follows_the_table(world: tuple[Engine, World], user: str) -> None:
    engine, w = world
    force, role = USERS[user]
    may_update = PERMISSIONS["case.update"][role] == "allow" and force == CITY
    may_close = PERMISSIONS["case.close"][role] == "allow" and force == CITY
    case_id = w.city_b
    if may_update:
        _do(engine, updates.update_risk, actor=user, case_id=case_id, risk="high")
    else:
        with pytest.raises(AccessDeniedError):
            _do(engine, updates.update_risk, actor=user, case_id=case_id, risk="high")
    if may_close:
        done = _do(engine, updates.close_case, actor=user, case_id=case_id, reason="sentence ended")
        assert done.case.status == "closed"
    else:
        with pytest.raises(AccessDeniedError):
            _do(engine, updates.close_case, actor=user, case_id=case_id, reason="deceased")
        assert _case(engine, case_id).status == "open"
    with Session(engine) as s:
        refusals = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "access.refused", AuditEvent.actor == user
            )
        ).all()
    assert len(refusals) == (not may_update) + (not may_close)


def test_a_force_party_to_a_meeting_sees_but_may_not_change(world: tuple[Engine, World]) -> None:
    engine, w = world
    # met.om sees the City case on the joint meeting's agenda, but the City leads it.
    with session_scope(engine) as s:
        assert case_detail(s, actor="met.om", case_id=w.on_meeting).case.id == w.on_meeting
    with pytest.raises(AccessDeniedError, match="only its lead force"):
        _do(engine, updates.update_risk, actor="met.om", case_id=w.on_meeting, risk="low")


# --- closure and reopening -----------------------------------------------------------------------


def test_close_and_reopen(world: tuple[Engine, World]) -> None:
    engine, w = world
    closed = _do(
        engine,
        updates.close_case,
        actor="city.sup",
        case_id=w.city,
        reason="other",
        note="transferred to a prison in Scotland",
    )
    assert closed.case.status == "closed"
    assert closed.case.closed_at is not None
    assert (closed.case.closure_reason, closed.case.closure_note) == (
        "other",
        "transferred to a prison in Scotland",
    )
    with pytest.raises(ConflictError, match="already closed"):
        _do(engine, updates.close_case, actor="city.sup", case_id=w.city, reason="deceased")
    with pytest.raises(ConflictError, match="reopen it"):
        _do(engine, updates.update_risk, actor="city.om", case_id=w.city, risk="low")
    with pytest.raises(InputError, match="reason"):
        _do(engine, updates.reopen_case, actor="city.sup", case_id=w.city, reason="  ")
    reopened = _do(engine, updates.reopen_case, actor="city.sup", case_id=w.city, reason="recalled")
    assert reopened.case.status == "open"
    assert reopened.case.closed_at is None and reopened.case.closure_reason is None
    with pytest.raises(ConflictError, match="nothing to reopen"):
        _do(engine, updates.reopen_case, actor="city.sup", case_id=w.city, reason="again")
    assert len(_events(engine, "case.close", w.city)) == 1
    assert len(_events(engine, "case.reopen", w.city)) == 1
    with session_scope(engine) as s:
        kinds = [e.kind for e in updates.case_history(s, actor="city.om", case_id=w.city)]
    assert kinds == ["close", "reopen"]
    assert verify(engine).ok


def test_a_case_with_an_open_handoff_is_not_closed(world: tuple[Engine, World]) -> None:
    engine, w = world
    with pytest.raises(ConflictError, match="withdraw it"):
        _do(engine, updates.close_case, actor="city.sup", case_id=w.handed, reason="deceased")
    assert _case(engine, w.handed).status == "open"


def test_a_closed_case_is_on_the_agenda_only_as_closed_and_reopening_restores(
    engine: Engine,
) -> None:
    """Closed since the last meeting: listed once, for the record, under that reason only."""
    ids = seed_review_cases(engine)
    with session_scope(engine) as s:
        meeting = create_meeting(
            s,
            actor="cara.city",
            title="City–Met",
            meeting_date=TODAY + timedelta(days=7),
            chair="Chair",
            attendees=["cara.city"],
            forces=[CITY, MET],
        ).id

    def agenda() -> dict[int, Any]:
        with session_scope(engine) as s:
            items = generate_agenda(s, actor="cara.city", meeting_id=meeting)
        return {i.case_id: i for i in items}

    first = agenda()
    assert ids["high"] in first
    # The seeded inputs give the case its OGRS3 score on the agenda.
    assert first[ids["high"]].ogrs3 is not None
    _do(engine, updates.close_case, actor="cara.city", case_id=ids["high"], reason="deregistered")
    assert agenda()[ids["high"]].reason_codes == ("case_closed",)
    # Still in the register and its history.
    assert _case(engine, ids["high"]).status == "closed"
    with session_scope(engine) as s:
        history = updates.case_history(s, actor="cara.city", case_id=ids["high"])
    assert [e.kind for e in history] == ["close"]
    _do(engine, updates.reopen_case, actor="cara.city", case_id=ids["high"], reason="error")
    assert ids["high"] in agenda()


def test_closed_case_with_an_open_action_leaves_the_agenda(engine: Engine) -> None:
    from coordination.review.actions import add_action
    from coordination.review.meetings import set_meeting_status

    ids = seed_review_cases(engine)
    with session_scope(engine) as s:
        earlier = create_meeting(
            s,
            actor="cara.city",
            title="Earlier",
            meeting_date=TODAY - timedelta(days=14),
            chair="Chair",
            attendees=["cara.city"],
            forces=[CITY, MET],
        ).id
        add_action(
            s,
            actor="cara.city",
            meeting_id=earlier,
            case_id=ids["quiet"],
            description="check the address",
            owner="cara.city",
            due_date=TODAY + timedelta(days=7),
        )
        set_meeting_status(s, actor="cara.city", meeting_id=earlier, status="held")
        later = create_meeting(
            s,
            actor="cara.city",
            title="Later",
            meeting_date=TODAY + timedelta(days=14),
            chair="Chair",
            attendees=["cara.city"],
            forces=[CITY, MET],
        ).id

    def on_agenda() -> set[int]:
        with session_scope(engine) as s:
            return {i.case_id for i in generate_agenda(s, actor="cara.city", meeting_id=later)}

    assert ids["quiet"] in on_agenda()
    _do(engine, updates.close_case, actor="cara.city", case_id=ids["quiet"], reason="deceased")
    assert ids["quiet"] not in on_agenda()


def test_history_is_kept_per_case_in_order(world: tuple[Engine, World]) -> None:
    engine, w = world
    for risk in ("high", "very high", "low"):
        _do(engine, updates.update_risk, actor="city.om", case_id=w.city, risk=risk)
    with Session(engine) as s:
        rows = s.exec(
            select(CaseEvent).where(CaseEvent.case_id == w.city).order_by(col(CaseEvent.id))
        ).all()
    assert [r.changes["risk"][1] for r in rows] == ["high", "very_high", "low"]
    assert len(_events(engine, "case.risk", w.city)) == 3
