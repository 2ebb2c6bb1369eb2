"""permitted_actions answers what the services do: every role x every state, tried for real.

For each user of the access-control world (every role, both forces with users) and each handoff
(every state; one to a force with no users here; open handoffs of a closed case), the verdicts of
:func:`coordination.handoffs.permissions.permitted_actions` are compared with what
``transition`` actually accepts, each action tried in a transaction that is rolled back. The
same for a case: ``assign`` (and to whom) against ``assign_case``, ``request_handoff`` against
``create_handoff``. A refusal's kind is the type of error the service raises. SQLite and
PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from coordination.caseload.assignment import assign_case
from coordination.core.db import session_scope
from coordination.errors import (
    AccessDeniedError,
    ConflictError,
    CrossforceError,
    InputError,
    NotACaseHolderError,
)
from coordination.handoffs import workflow
from coordination.handoffs.permissions import (
    CASE_ACTIONS,
    assignees,
    permitted_actions,
    permitted_handoff_actions,
)
from coordination.models import HANDOFF_STATES, Case, User
from tests.factories import CITY, KENT, MET, USERS, build_world, handoff_in_state, new_case

KINDS: dict[str, type[CrossforceError]] = {
    "access": AccessDeniedError,
    "state": ConflictError,
    "input": InputError,
    "role": NotACaseHolderError,
}
PEOPLE = sorted(USERS)


def _tried(engine: Engine, service: Callable[..., Any], **kwargs: Any) -> CrossforceError | None:
    """Call a service in a transaction that is rolled back: ``None`` if accepted, else the error."""
    with Session(engine) as s:
        try:
            service(s, **kwargs)
        except CrossforceError as error:
            return error
        finally:
            s.rollback()
    return None


def _close(engine: Engine, case_id: int) -> None:
    # Cases are closed by the register (being built); here the row is closed directly.
    with session_scope(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None
        case.status = "closed"


@pytest.fixture
def scene(engine: Engine) -> tuple[Engine, dict[str, int], dict[str, int]]:
    """The world's users and cases, and a handoff in every state (plus edge cases)."""
    world = build_world(engine)
    handoffs = {state: handoff_in_state(engine, state).id for state in HANDOFF_STATES}
    handoffs["requested to Kent"] = handoff_in_state(engine, "requested", to=KENT).id
    handoffs["world requested"] = world.handoff
    for state in ("proposed", "requested", "accepted"):
        closing = handoff_in_state(engine, state)
        _close(engine, closing.case_id)
        handoffs[f"{state}, case closed"] = closing.id
    closed_case = new_case(engine)
    _close(engine, closed_case)
    cases = {
        "city": world.city,
        "met": world.met,
        "handed": world.handed,
        "excluded": world.excluded,
        "restricted": world.restricted,
        "closed": closed_case,
    }
    with session_scope(engine) as s:
        # Make city.om manage one case, so "assign to the current manager" is exercised.
        om = s.exec(select(User).where(User.username == "city.om")).one()
        case = s.get(Case, world.city_b)
        assert case is not None
        case.assigned_user_id = om.id
    cases["managed by city.om"] = world.city_b
    return engine, handoffs, cases


@pytest.mark.parametrize("who", PEOPLE)
def test_handoff_verdicts_are_what_transition_accepts(
    scene: tuple[Engine, dict[str, int], dict[str, int]], who: str
) -> None:
    engine, handoffs, _ = scene
    with Session(engine) as s:
        batch = permitted_handoff_actions(s, actor=who, handoff_ids=handoffs.values())
    for label, handoff_id in handoffs.items():
        with Session(engine) as s:
            one = permitted_actions(s, actor=who, handoff_id=handoff_id)
        assert one == batch[handoff_id], label
        assert [v.action for v in one.verdicts] == list(workflow.ACTIONS)
        for verdict in one.verdicts:
            error = _tried(
                engine,
                workflow.transition,
                actor=who,
                handoff_id=handoff_id,
                action=verdict.action,
                note="tried",
            )
            assert verdict.allowed is (error is None), (who, label, verdict, error)
            if error is not None:
                assert verdict.reason and "\n" not in verdict.reason
                assert isinstance(error, KINDS[str(verdict.kind)]), (label, verdict, error)


def test_the_verdicts_read_as_the_workflow_rules(
    scene: tuple[Engine, dict[str, int], dict[str, int]],
) -> None:
    engine, handoffs, _ = scene
    with Session(engine) as s:
        requested = permitted_actions(s, actor="met.om", handoff_id=handoffs["requested"])
        sender = permitted_actions(s, actor="city.om", handoff_id=handoffs["requested"])
        kent = permitted_actions(s, actor="city.om", handoff_id=handoffs["requested to Kent"])
        analyst = permitted_actions(s, actor="city.analyst", handoff_id=handoffs["requested"])
        closed = permitted_actions(s, actor="met.sup", handoff_id=handoffs["accepted, case closed"])
        closing = permitted_actions(
            s, actor="city.sup", handoff_id=handoffs["accepted, case closed"]
        )
        done = permitted_actions(s, actor="met.sup", handoff_id=handoffs["completed"])
    assert requested.allowed == ("accept", "reject")
    assert requested.reason("withdraw").startswith("Only the sending force can withdraw")
    assert sender.allowed == ("withdraw",)
    assert sender.reason("accept").startswith("Only the receiving force can accept")
    # Kent has no users here: the sending force records its answer.
    assert kent.allowed == ("accept", "reject", "withdraw")
    assert analyst.allowed == () and analyst.reason("accept") == "Analysts do not act on handoffs"
    assert closed.allowed == () and "can only be withdrawn" in closed.reason("complete")
    assert closing.allowed == ("withdraw",)
    assert done.allowed == () and "it is completed" in done.reason("complete")
    with Session(engine) as s:
        missing = permitted_actions(s, actor="city.om", handoff_id=999_999)
        with pytest.raises(InputError):
            permitted_actions(s, actor="city.om")
    assert missing.allowed == () and missing.reason("accept") == "Handoff 999999 does not exist"


@pytest.mark.parametrize("who", PEOPLE)
def test_case_verdicts_are_what_assign_case_and_create_handoff_accept(
    scene: tuple[Engine, dict[str, int], dict[str, int]], who: str
) -> None:
    engine, _, cases = scene
    with Session(engine) as s:
        everyone = sorted(s.exec(select(User.username)).all())
    for label, case_id in cases.items():
        with Session(engine) as s:
            verdicts = permitted_actions(s, actor=who, case_id=case_id)
            offered, why_none = assignees(s, actor=who, case_id=case_id, candidates=everyone)
            case = s.get(Case, case_id)
            assert case is not None
            lead, current = case.lead_force_code, case.assigned_user_id
            ids = {u.username: u.id for u in s.exec(select(User)).all()}
        assert [v.action for v in verdicts.verdicts] == list(CASE_ACTIONS)

        accepted = [
            u
            for u in everyone
            if _tried(engine, assign_case, actor=who, case_id=case_id, username=u, reason="t")
            is None
        ]
        # Assigning the current manager again is accepted and changes nothing: not offered.
        assert offered == [u for u in accepted if ids[u] != current], (who, label)
        assert bool(offered) is (why_none == ""), (who, label)
        if not verdicts.may("assign"):
            assert accepted == [], (who, label)
            assert why_none == verdicts.reason("assign") + "."

        error = _tried(
            engine,
            workflow.create_handoff,
            actor=who,
            case_id=case_id,
            to_force_code=MET if lead == CITY else CITY,
            reason="tried",
        )
        verdict = verdicts.verdicts[1]
        assert verdict.allowed is (error is None), (who, label, verdict, error)
        if error is not None:
            assert isinstance(error, KINDS[str(verdict.kind)]), (who, label, verdict, error)


def test_only_offender_managers_are_offered_and_assigned(
    scene: tuple[Engine, dict[str, int], dict[str, int]],
) -> None:
    engine, _, cases = scene
    with Session(engine) as s:
        everyone = sorted(s.exec(select(User.username)).all())
        offered, _ = assignees(s, actor="city.sup", case_id=cases["city"], candidates=everyone)
        mine, why = assignees(
            s, actor="city.om", case_id=cases["managed by city.om"], candidates=everyone
        )
        other, why_other = assignees(s, actor="met.sup", case_id=cases["handed"], candidates=[])
    assert offered == ["city.om", "city.om2"]
    assert mine == [] and why.startswith("You manage case ")
    assert other == [] and why_other.startswith(f"Case {cases['handed']} is led by City of London")
