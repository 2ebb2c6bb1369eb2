"""Handoffs as a tracked workflow (coordination.handoffs), on SQLite and PostgreSQL.

Offenders and cases are made directly with the table models (``tests.factories``), so these tests
do not depend on the register service.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.core.db import session_scope
from coordination.core.serial import jsonable
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.handoffs.workflow import (
    TRANSITIONS,
    allowed_actions,
    create_handoff,
    get_handoff,
    get_handoff_view,
    handoff_history,
    list_handoffs,
    open_handoff_for_case,
    transition,
)
from coordination.models import (
    HANDOFF_STATES,
    Address,
    AuditEvent,
    Case,
    CaseAssignment,
    Handoff,
    HandoffPublic,
    User,
)
from geo.forces import CITY_OF_LONDON, METROPOLITAN
from tests.factories import KENT, T0, confirm_address, handoff_in_state, new_case

# --- helpers ---------------------------------------------------------------------------------


def lead_of(engine: Engine, case_id: int) -> str:
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.lead_force_code


def events_of(engine: Engine, handoff_id: int) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "handoff")
                .where(AuditEvent.entity_id == str(handoff_id))
                .order_by(col(AuditEvent.id))
            ).all()
        )


# --- the state machine ----------------------------------------------------------------------


def test_transition_table_is_the_documented_workflow() -> None:
    assert allowed_actions("proposed") == ("request", "withdraw")
    assert allowed_actions("requested") == ("accept", "reject", "withdraw")
    assert allowed_actions("accepted") == ("complete", "withdraw")
    for closed in ("completed", "rejected", "withdrawn"):
        assert allowed_actions(closed) == ()


@pytest.mark.parametrize("state", HANDOFF_STATES)
def test_every_action_from_every_state(engine: Engine, state: str) -> None:
    """Allowed actions move the handoff on; refused ones name both states and change nothing."""
    for action, (sources, target) in TRANSITIONS.items():
        handoff = handoff_in_state(engine, state)
        n_events = len(events_of(engine, handoff.id))
        note = "address not verified" if action == "reject" else None
        if state in sources:
            with session_scope(engine) as session:
                after = transition(
                    session,
                    actor="carol",
                    handoff_id=handoff.id,
                    action=action,  # type: ignore[arg-type]
                    note=note,
                    now=T0,
                )
            assert after.state == target
            assert after.version == handoff.version + 1
            assert after.updated_by == "carol"
            assert len(events_of(engine, handoff.id)) == n_events + 1
        else:
            with pytest.raises(ConflictError) as refused, session_scope(engine) as session:
                transition(
                    session,
                    actor="carol",
                    handoff_id=handoff.id,
                    action=action,  # type: ignore[arg-type]
                    note=note,
                    now=T0,
                )
            message = str(refused.value)
            assert f"it is {state}" in message, message
            assert f"become {target}" in message, message
            with Session(engine) as session:
                assert get_handoff(session, handoff.id, actor="system:test") == handoff
            assert len(events_of(engine, handoff.id)) == n_events


def test_unknown_action_and_handoff(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    with pytest.raises(InputError, match="Unknown handoff action"), Session(engine) as session:
        transition(session, actor="a", handoff_id=handoff.id, action="approve")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="Handoff 999999"), Session(engine) as session:
        transition(session, actor="a", handoff_id=999999, action="accept")
    with pytest.raises(NotFoundError), Session(engine) as session:
        get_handoff(session, 999999, actor="system:test")


# --- creating -------------------------------------------------------------------------------


def test_create_requests_and_sets_due_dates(engine: Engine) -> None:
    case_id = new_case(engine)
    with session_scope(engine) as session:
        handoff = create_handoff(
            session,
            actor="alice",
            case_id=case_id,
            to_force_code=METROPOLITAN,
            to_bcu_code="ce",
            reason="moved to Hackney",
            now=T0,
        )
    assert handoff.state == "requested"
    assert handoff.from_force_code == CITY_OF_LONDON
    assert handoff.to_force_code == METROPOLITAN
    assert handoff.to_bcu_code == "CE"
    assert handoff.requested_at == T0
    assert handoff.address_check_due == date(2025, 3, 13)
    assert handoff.completion_due == date(2025, 3, 31)  # 20 working days, no holidays
    assert handoff.created_by == handoff.updated_by == "alice"
    assert lead_of(engine, case_id) == CITY_OF_LONDON


@pytest.mark.parametrize(
    ("requested", "address_check_due", "completion_due"),
    [
        # Friday 13 Dec 2024: Christmas Day, Boxing Day and New Year's Day are skipped.
        (datetime(2024, 12, 13, 15, 0, tzinfo=UTC), date(2024, 12, 23), date(2025, 1, 15)),
        # Tuesday 8 Apr 2025: Good Friday, Easter Monday and the early May holiday skipped.
        (datetime(2025, 4, 8, 11, 0, tzinfo=UTC), date(2025, 4, 18), date(2025, 5, 9)),
        # Requested on a Saturday: the 20 working days start on the Monday.
        (datetime(2025, 3, 1, 11, 0, tzinfo=UTC), date(2025, 3, 11), date(2025, 3, 28)),
        # 23:30 UTC on 30 June is 1 July in London (BST): deadlines run from 1 July.
        (datetime(2025, 6, 30, 23, 30, tzinfo=UTC), date(2025, 7, 11), date(2025, 7, 29)),
    ],
)
def test_due_dates_across_bank_holidays(
    engine: Engine, requested: datetime, address_check_due: date, completion_due: date
) -> None:
    case_id = new_case(engine)
    with session_scope(engine) as session:
        proposed = create_handoff(
            session,
            actor="alice",
            case_id=case_id,
            to_force_code=KENT,
            reason="moved to Kent",
            request=False,
            now=T0,
        )
    assert proposed.state == "proposed"
    assert proposed.requested_at is None and proposed.completion_due is None
    # The clocks start at the request, not at the proposal.
    with session_scope(engine) as session:
        handoff = transition(
            session, actor="alice", handoff_id=proposed.id, action="request", now=requested
        )
    assert handoff.requested_at == requested
    assert handoff.address_check_due == address_check_due
    assert handoff.completion_due == completion_due


def test_create_refusals(engine: Engine) -> None:
    case_id = new_case(engine)
    closed_id = new_case(engine, status="closed")

    def create(**overrides: object) -> HandoffPublic:
        kwargs: dict[str, object] = {
            "actor": "alice",
            "case_id": case_id,
            "to_force_code": METROPOLITAN,
            "reason": "moved",
            "now": T0,
        }
        kwargs.update(overrides)
        with session_scope(engine) as session:
            return create_handoff(session, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(InputError, match="already led by City of London Police"):
        create(to_force_code=CITY_OF_LONDON)
    with pytest.raises(ConflictError, match=f"Case {closed_id} is closed"):
        create(case_id=closed_id)
    with pytest.raises(NotFoundError, match="No force"):
        create(to_force_code="E23999999")
    with pytest.raises(NotFoundError, match="Case 999999"):
        create(case_id=999999)
    with pytest.raises(InputError, match="reason"):
        create(reason="   ")
    with pytest.raises(InputError, match="only given for the Metropolitan"):
        create(to_force_code=KENT, to_bcu_code="CE")
    with pytest.raises(InputError, match="actor"):
        create(actor=" ")
    with pytest.raises(InputError, match="timezone"):
        create(now=datetime(2025, 3, 3, 9, 0))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(NotFoundError, match="Address 999999"):
        create(address_id=999999)
    other_case = new_case(engine)
    with session_scope(engine) as session:
        other_offender = session.get(Case, other_case).offender_id  # type: ignore[union-attr]
        address = Address(offender_id=other_offender, valid_from=date(2025, 1, 1), created_by="t")
        session.add(address)
        session.flush()
        address_id = address.id
    with pytest.raises(InputError, match="not an address"):
        create(address_id=address_id)
    with Session(engine) as session:
        assert session.exec(select(Handoff).where(Handoff.case_id == case_id)).first() is None


def test_one_open_handoff_per_case(engine: Engine) -> None:
    first = handoff_in_state(engine, "accepted")
    with (
        pytest.raises(ConflictError, match=f"open handoff: {first.id} \\(accepted"),
        session_scope(engine) as session,
    ):
        create_handoff(
            session, actor="alice", case_id=first.case_id, to_force_code=KENT, reason="x"
        )
    # The database itself refuses a second open handoff (partial unique index), whatever the
    # code path.
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(
            Handoff(
                case_id=first.case_id,
                from_force_code=CITY_OF_LONDON,
                to_force_code=KENT,
                reason="sneaked in",
                state="proposed",
                created_by="x",
                updated_by="x",
            )
        )
        session.flush()
    # Once closed, a new handoff may start.
    with session_scope(engine) as session:
        transition(session, actor="alice", handoff_id=first.id, action="withdraw")
    with session_scope(engine) as session:
        second = create_handoff(
            session, actor="alice", case_id=first.case_id, to_force_code=KENT, reason="moved"
        )
        assert open_handoff_for_case(session, first.case_id, actor="system:test") == second


# --- outcomes -------------------------------------------------------------------------------


def test_reject_needs_a_reason_and_escalates(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    for blank in (None, "", "   "):
        with pytest.raises(InputError, match="needs a reason"), session_scope(engine) as session:
            transition(session, actor="met.om", handoff_id=handoff.id, action="reject", note=blank)
    with Session(engine) as session:
        assert get_handoff(session, handoff.id, actor="system:test").state == "requested"
    with session_scope(engine) as session:
        rejected = transition(
            session,
            actor="met.om",
            handoff_id=handoff.id,
            action="reject",
            note="  address is a hostel outside our area  ",
            now=T0,
        )
    assert rejected.state == "rejected"
    assert rejected.escalated is True
    assert rejected.rejection_reason == "address is a hostel outside our area"
    assert rejected.closed_at == T0
    assert lead_of(engine, handoff.case_id) == CITY_OF_LONDON
    event = events_of(engine, handoff.id)[-1]
    assert event.action == "handoff.reject"
    assert event.details is not None and event.details["escalated"] is True


def test_completion_moves_the_lead_and_ends_the_assignment(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    with session_scope(engine) as session:
        officer = User(
            username="city.om", display_name="City OM", force_code=CITY_OF_LONDON, role="admin"
        )
        session.add(officer)
        session.flush()
        case = session.get(Case, handoff.case_id)
        assert case is not None
        case.assigned_user_id = officer.id
        case.updated_by = "pytest"
        session.add(
            CaseAssignment(case_id=handoff.case_id, user_id=officer.id, assigned_by="pytest")
        )
    with session_scope(engine) as session:
        transition(session, actor="met.om", handoff_id=handoff.id, action="accept", now=T0)
    with session_scope(engine) as session:
        confirm_address(session, handoff.id, actor="met.om", now=T0)
    assert lead_of(engine, handoff.case_id) == CITY_OF_LONDON  # the sender leads until completion
    later = datetime(2025, 3, 20, 16, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        done = transition(
            session,
            actor="met.om",
            handoff_id=handoff.id,
            action="complete",
            note="first visit done",
            now=later,
        )
    assert done.state == "completed"
    assert done.completed_at == done.closed_at == later
    with Session(engine) as session:
        case = session.get(Case, handoff.case_id)
        assert case is not None
        assert case.lead_force_code == METROPOLITAN
        assert case.assigned_user_id is None
        assert case.updated_by == "met.om"
        assignment = session.exec(
            select(CaseAssignment).where(CaseAssignment.case_id == handoff.case_id)
        ).one()
        assert assignment.ended_at == later
        lead_event = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "case.lead_force", AuditEvent.entity_id == str(case.id)
            )
        ).one()
    assert lead_event.details == {
        "from_force_code": CITY_OF_LONDON,
        "to_force_code": METROPOLITAN,
        "to_bcu_code": None,
        "handoff_id": handoff.id,
        "unassigned_user_id": lead_event.details["unassigned_user_id"],  # type: ignore[index]
    }


@pytest.mark.parametrize("state", ["proposed", "requested", "accepted"])
def test_withdraw_from_every_open_state_keeps_the_lead(engine: Engine, state: str) -> None:
    handoff = handoff_in_state(engine, state)
    with session_scope(engine) as session:
        withdrawn = transition(
            session,
            actor="city.om",
            handoff_id=handoff.id,
            action="withdraw",
            note="stayed put",
            now=T0,
        )
    assert withdrawn.state == "withdrawn" and withdrawn.closed_at == T0
    assert lead_of(engine, handoff.case_id) == CITY_OF_LONDON
    with Session(engine) as session:
        assert open_handoff_for_case(session, handoff.case_id, actor="system:test") is None


def test_a_closed_case_only_allows_withdrawal(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "accepted")
    with session_scope(engine) as session:
        case = session.get(Case, handoff.case_id)
        assert case is not None
        case.status = "closed"
        case.updated_by = "pytest"
    with (
        pytest.raises(ConflictError, match="can only be withdrawn"),
        session_scope(engine) as session,
    ):
        transition(session, actor="met.om", handoff_id=handoff.id, action="complete")
    with session_scope(engine) as session:
        transition(session, actor="met.om", handoff_id=handoff.id, action="withdraw")


def test_audit_events_per_transition(engine: Engine) -> None:
    case_id = new_case(engine)
    with session_scope(engine) as session:
        handoff = create_handoff(
            session, actor="alice", case_id=case_id, to_force_code=METROPOLITAN, reason="moved"
        )
    with session_scope(engine) as session:
        transition(session, actor="bob", handoff_id=handoff.id, action="accept", note="checked")
    with session_scope(engine) as session:
        confirm_address(session, handoff.id, actor="bob")
    with session_scope(engine) as session:
        transition(session, actor="bob", handoff_id=handoff.id, action="complete", note="done")
    events = events_of(engine, handoff.id)
    assert [(e.action, e.actor) for e in events] == [
        ("handoff.create", "alice"),
        ("handoff.request", "alice"),
        ("handoff.accept", "bob"),
        ("handoff.address_check", "bob"),
        ("handoff.complete", "bob"),
    ]
    steps = (
        [(e.details or {}).get("from_state") for e in events],
        [(e.details or {}).get("to_state") for e in events],
    )
    assert steps == (
        [None, "proposed", "requested", None, "accepted"],
        ["proposed", "requested", "accepted", None, "completed"],
    )
    assert [(e.details or {}).get("note") for e in events[2:]] == ["checked", None, "done"]
    assert all(e.at.tzinfo is not None for e in events)
    with Session(engine) as session:
        assert [e.action for e in handoff_history(session, handoff.id, actor="system:test")] == [
            e.action for e in events
        ]


def test_stale_expected_version_is_refused_with_who_and_when(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    with session_scope(engine) as session:
        transition(
            session,
            actor="alice",
            handoff_id=handoff.id,
            action="accept",
            expected_version=handoff.version,
            now=datetime(2025, 3, 4, 10, 32, tzinfo=UTC),
        )
    with pytest.raises(ConflictError) as lost, session_scope(engine) as session:
        transition(
            session,
            actor="bob",
            handoff_id=handoff.id,
            action="withdraw",
            expected_version=handoff.version,
        )
    assert str(lost.value) == (
        f"Handoff {handoff.id} was changed by alice at 2025-03-04 10:32 UTC; reload"
    )
    with Session(engine) as session:
        assert get_handoff(session, handoff.id, actor="system:test").state == "accepted"


# --- queues and RAG -------------------------------------------------------------------------


def test_rag_and_overdue_with_a_fixed_today(engine: Engine) -> None:
    # All requested Monday 3 March 2025: address check due 13 March, completion due 31 March.
    requested = handoff_in_state(engine, "requested")
    accepted = handoff_in_state(engine, "accepted")
    proposed = handoff_in_state(engine, "proposed")
    completed = handoff_in_state(engine, "completed")
    rejected = handoff_in_state(engine, "rejected")

    def view_on(today: date) -> dict[int, tuple[str | None, bool, int, date | None]]:
        with Session(engine) as session:
            views = list_handoffs(session, today=today, actor="system:test")
        return {v.id: (v.rag, v.overdue, v.overdue_by_days, v.due) for v in views}

    on_7_march = view_on(date(2025, 3, 7))  # Friday
    assert on_7_march[requested.id] == ("green", False, 0, date(2025, 3, 13))
    assert on_7_march[accepted.id] == ("green", False, 0, date(2025, 3, 31))
    assert on_7_march[proposed.id] == ("green", False, 0, None)
    assert on_7_march[completed.id] == (None, False, 0, None)
    assert on_7_march[rejected.id] == (None, False, 0, None)

    # Monday 10 March: 13 March is 3 working days ahead: amber.
    assert view_on(date(2025, 3, 10))[requested.id][:2] == ("amber", False)
    # Due day itself: still amber, not overdue.
    assert view_on(date(2025, 3, 13))[requested.id][:2] == ("amber", False)
    # Friday 14 March: one day over.
    assert view_on(date(2025, 3, 14))[requested.id] == ("red", True, 1, date(2025, 3, 13))
    on_2_april = view_on(date(2025, 4, 2))
    assert on_2_april[accepted.id] == ("red", True, 2, date(2025, 3, 31))
    assert on_2_april[requested.id][:3] == ("red", True, 20)

    with Session(engine) as session:
        views = list_handoffs(session, today=date(2025, 4, 2), actor="system:test")
        # Overdue first, closed last.
        assert [v.id for v in views][:2] == [requested.id, accepted.id]
        assert {v.id for v in views[-2:]} == {completed.id, rejected.id}
        one = get_handoff_view(session, requested.id, today=date(2025, 4, 2), actor="system:test")
    assert one.offender_name == "Testy McTestface"
    assert one.pnc_id.startswith("2019/")
    assert one.from_force_name == "City of London Police"
    assert one.to_force_name == "Metropolitan Police Service"
    assert one.due_kind == "address check"
    assert jsonable(one)["overdue_by_days"] == 20


def test_list_filters(engine: Engine) -> None:
    to_met = handoff_in_state(engine, "requested")
    to_kent = handoff_in_state(engine, "accepted", to=KENT)
    met_case = new_case(engine, lead=METROPOLITAN)
    with session_scope(engine) as session:
        from_met = create_handoff(
            session, actor="m", case_id=met_case, to_force_code=CITY_OF_LONDON, reason="moved"
        )
    done = handoff_in_state(engine, "completed")

    def ids(**kwargs: object) -> set[int]:
        with Session(engine) as session:
            return {v.id for v in list_handoffs(session, actor="system:test", **kwargs)}  # type: ignore[arg-type]

    assert ids(force_code=METROPOLITAN, direction="incoming") == {to_met.id, done.id}
    assert ids(force_code=METROPOLITAN, direction="outgoing") == {from_met.id}
    assert ids(force_code=KENT) == {to_kent.id}
    assert ids(state="accepted") == {to_kent.id}
    assert ids(state="open") == {to_met.id, to_kent.id, from_met.id}
    assert ids(state="closed") == {done.id}
    assert ids(case_id=met_case) == {from_met.id}
    assert len(ids(limit=2)) == 2
    with pytest.raises(InputError, match="Unknown handoff state"), Session(engine) as session:
        list_handoffs(session, state="pending", actor="system:test")
    with pytest.raises(InputError, match="Give a force"), Session(engine) as session:
        list_handoffs(session, direction="incoming", actor="system:test")


# --- CLI ------------------------------------------------------------------------------------


def test_cli_list_and_actions(engine: Engine, cli: Callable[..., tuple[int, str, str]]) -> None:
    import json

    handoff = handoff_in_state(engine, "requested")
    code, out, _ = cli("handoffs", "list", "--force", "e23000001", "--direction", "incoming")
    assert code == 0
    assert f"{handoff.id}  requested" in out
    assert "2025-03-13 (address check)" in out
    code, out, _ = cli("handoffs", "list", "--today", "2025-03-20")
    assert "RED OVERDUE 7 days" in out and "1 overdue" in out
    code, out, _ = cli("handoffs", "list", "--state", "open", "--json", "--today", "2025-03-20")
    data = json.loads(out)
    assert [row["id"] for row in data] == [handoff.id]
    assert data[0]["overdue"] is True and data[0]["rag"] == "red"

    code, out, err = cli("handoffs", "reject", str(handoff.id))
    assert code == 2 and "needs a reason" in err and len(err.strip().splitlines()) == 1
    code, out, err = cli("handoffs", "complete", str(handoff.id))
    assert code == 2 and "it is requested, and only an accepted handoff can become" in err
    code, out, _ = cli("handoffs", "accept", str(handoff.id), "--note", "address checked")
    assert code == 0 and "requested → accepted by cli.user" in out
    code, out, err = cli("handoffs", "withdraw", str(handoff.id), "--version", "1")
    assert code == 2 and "was changed by cli.user" in err
    code, out, err = cli("--as", "met.om", "handoffs", "complete", str(handoff.id))
    assert code == 2 and "the address check is not recorded as confirmed" in err
    today = datetime.now(UTC).date().isoformat()
    code, out, _ = cli(
        "--as", "met.om", "handoffs", "check", str(handoff.id), "--on", today,
        "--method", "visit", "--outcome", "confirmed",
    )  # fmt: skip
    assert code == 0 and "address check: confirmed (home visit" in out
    code, out, _ = cli("--as", "met.om", "handoffs", "complete", str(handoff.id))
    assert code == 0 and "now led by Metropolitan Police Service" in out
    assert lead_of(engine, handoff.case_id) == METROPOLITAN
    code, out, _ = cli("handoffs", "show", str(handoff.id))
    assert code == 0 and "handoff.accept — address checked" in out and "met.om" in out

    other = handoff_in_state(engine, "proposed")
    code, out, _ = cli("handoffs", "request", str(other.id), "--json")
    assert code == 0 and json.loads(out)["state"] == "requested"
    code, out, _ = cli("handoffs", "reject", str(other.id), "--note", "not ours")
    assert code == 0 and "Escalated" in out
    code, _, err = cli("handoffs", "list", "--force", "X1")
    assert code == 2 and "No force" in err
    code, _, err = cli("handoffs", "list", "--direction", "incoming")
    assert code == 2 and "--direction needs --force" in err
