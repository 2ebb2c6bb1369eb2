"""Caseload: weights, capacity %, suggestions, assignment and its history, the caseload query.

Runs on SQLite and PostgreSQL (``database_url``). People and addresses are synthetic; rows are
inserted with the table models directly so these tests do not depend on the register service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.audit.reader import list_events
from coordination.caseload.assignment import assign_case, assignment_history
from coordination.caseload.officers import (
    available_points,
    capacity_pct,
    officer_loads,
    set_officer_profile,
    suggest_assignees,
)
from coordination.caseload.queries import UNASSIGNED, CaseloadPage, caseload
from coordination.caseload.weights import (
    MAPPA_UPLIFT,
    default_case_weights,
    load_case_weights,
    seed_case_weights,
    set_case_weight,
)
from coordination.core.db import session_scope
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.models import (
    AuditEvent,
    Case,
    CaseWeight,
    Offender,
    UserCreate,
)
from coordination.security.users import create_user
from tests import factories

CITY = "E23000034"
MET = "E23000001"
ESSEX = "E23000028"
TODAY = date(2025, 6, 30)
_serials = count(1)


@pytest.fixture
def engine(engine: Engine) -> Engine:
    """The seeded database (``tests/conftest.py``) and the default case weights."""
    with session_scope(engine) as session:
        seed_case_weights(session, actor="test")
    return engine


def add_officer(
    session: Session,
    username: str,
    force: str,
    *,
    bcu: str | None = None,
    profile: tuple[float, float, float] | None = (100.0, 37.0, 37.0),
    display_name: str | None = None,
) -> None:
    """Create a user and (unless ``profile`` is None) their workload profile."""
    create_user(
        session,
        actor="test",
        data=UserCreate(
            username=username,
            display_name=display_name or username.title(),
            force_code=force,
            role="offender_manager",
            bcu_code=bcu,
        ),
    )
    if profile is not None:
        points, contracted, available = profile
        set_officer_profile(
            session,
            actor="test",
            username=username,
            grade="PC",
            grade_points=points,
            contracted_hours=contracted,
            available_hours=available,
        )


def add_case(
    session: Session,
    *,
    lead: str,
    state: str = "residence",
    first: str = "Testa",
    last: str = "Personne",
    **kwargs: Any,
) -> int:
    """A synthetic offender with a current address (``state``) and one case; the case id.

    ``tests.factories.add_case`` with these tests' defaults; ``kwargs`` are its own.
    """
    return factories.add_case(
        session,
        lead=lead,
        address=state,
        first_name=first,
        last_name=last,
        offence_category="violence",
        actor="test",
        **kwargs,
    )


# --- weights and capacity ----------------------------------------------------------------------


def test_default_weights_rise_with_risk_and_mappa_level_3_very_high_weighs_most() -> None:
    weights = default_case_weights()
    for programme in ("iom_fixed", "iom_flex", "iom_free", "mappa", "other"):
        row = [weights.points[(programme, r)] for r in ("low", "medium", "high", "very_high")]
        assert row == sorted(row) and row[0] < row[-1]
    top = weights.case_points("mappa", "very_high", 3)
    everything = [
        weights.case_points(p, r, level)
        for p in ("iom_fixed", "iom_flex", "iom_free", "mappa", "other")
        for r in ("low", "medium", "high", "very_high")
        for level in (None, 1, 2, 3)
    ]
    assert top == max(everything)
    # The uplift applies to MAPPA cases only.
    assert weights.case_points("iom_fixed", "high", 3) == weights.points[("iom_fixed", "high")]


def test_seed_case_weights_is_idempotent_audited_and_keeps_edits(engine: Engine) -> None:
    with session_scope(engine) as session:
        rows = session.exec(select(CaseWeight)).all()
        assert len(rows) == 5 * 4 + 3
        assert seed_case_weights(session, actor="test") == 0
        assert len(list_events(session, action="case_weight.seed")) == 1
        set_case_weight(session, actor="admin", programme="other", risk="low", points=1.5)
        set_case_weight(session, actor="admin", programme=MAPPA_UPLIFT, risk="3", points=9)
        assert seed_case_weights(session, actor="test") == 0
        weights = load_case_weights(session)
        assert weights.points[("other", "low")] == 1.5
        assert weights.mappa_uplift[3] == 9
        events = list_events(session, action="case_weight.set")
        assert {e.entity_id for e in events} == {"other/low", f"{MAPPA_UPLIFT}/3"}
        assert all(e.actor == "admin" for e in events)
    with session_scope(engine) as session:
        with pytest.raises(InputError, match="Unknown risk"):
            set_case_weight(session, actor="a", programme="other", risk="huge", points=1)
        with pytest.raises(InputError, match="MAPPA level"):
            set_case_weight(session, actor="a", programme=MAPPA_UPLIFT, risk="4", points=1)
        with pytest.raises(InputError, match="≥ 0"):
            set_case_weight(session, actor="a", programme="other", risk="low", points=-1)


def test_capacity_percent_by_hand(engine: Engine) -> None:
    w = default_case_weights()
    with session_scope(engine) as session:
        # 100 grade points, half the contracted hours available: 50 available points.
        add_officer(session, "cara", CITY, profile=(100.0, 37.0, 18.5))
        add_case(session, lead=CITY, programme="iom_fixed", risk="high", manager="cara")
        add_case(
            session,
            lead=CITY,
            programme="mappa",
            risk="very_high",
            mappa_level=3,
            manager="cara",
        )
        add_case(session, lead=CITY, risk="low", manager="cara", status="closed")  # not counted
        add_case(session, lead=CITY)  # nobody's
    points = w.points[("iom_fixed", "high")] + w.points[("mappa", "very_high")] + w.mappa_uplift[3]
    with session_scope(engine) as session:
        (load,) = officer_loads(session, actor="system:test")
    assert load.username == "cara"
    assert load.n_cases == 2
    assert load.points == pytest.approx(points)
    assert load.available_points == pytest.approx(100.0 * 18.5 / 37.0)
    assert load.capacity_pct == pytest.approx(points / 50.0 * 100.0)
    assert points == 11 + 17 + 6  # the shipped defaults, so the figure above is checkable by eye


def test_officer_loads_filters_and_officers_without_profile(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_officer(session, "city1", CITY)
        add_officer(session, "met_ce", MET, bcu="CE")
        add_officer(session, "met_aw", MET, bcu="AW")
        add_officer(session, "analyst", MET, profile=None)  # no profile, no cases: not listed
        add_officer(session, "noprofile", MET, bcu="CE", profile=None)
        add_case(session, lead=MET, manager="noprofile")
        add_officer(session, "idle", CITY, profile=(100.0, 37.0, 0.0))
    with session_scope(engine) as session:
        names = [load.username for load in officer_loads(session, actor="system:test")]
        assert names == ["met_aw", "met_ce", "noprofile", "city1", "idle"]  # by force code
        assert [
            x.username
            for x in officer_loads(session, force_code=MET, bcu_code="CE", actor="system:test")
        ] == [
            "met_ce",
            "noprofile",
        ]
        loads = {x.username: x for x in officer_loads(session, actor="system:test")}
    assert loads["noprofile"].capacity_pct is None and loads["noprofile"].n_cases == 1
    assert not loads["noprofile"].has_profile
    assert loads["idle"].available_points == 0 and loads["idle"].capacity_pct is None


def test_officer_profile_validation(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_officer(session, "vera", CITY, profile=None)
        with pytest.raises(NotFoundError):
            set_officer_profile(session, actor="a", username="nobody", grade="PC", grade_points=10)
        with pytest.raises(InputError, match="Grade points"):
            set_officer_profile(session, actor="a", username="vera", grade="PC", grade_points=0)
        with pytest.raises(InputError, match="Available hours"):
            set_officer_profile(
                session,
                actor="a",
                username="vera",
                grade="PC",
                grade_points=10,
                contracted_hours=30,
                available_hours=31,
            )
        saved = set_officer_profile(
            session, actor="a", username="VERA", grade="DC", grade_points=120, available_hours=29.6
        )
        assert saved.available_points == pytest.approx(120 * 29.6 / 37)
        (event,) = list_events(session, action="officer_profile.set", actor="a")
        assert event.entity_id == "vera"


@given(
    grade_points=st.floats(1, 1000),
    contracted=st.floats(1, 60),
    # A share is zero or a real fraction of the week; a subnormal float is neither.
    share=st.one_of(st.just(0.0), st.floats(1e-6, 1)),
    points=st.floats(0, 2000),
)
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_capacity_formula(grade_points: float, contracted: float, share: float, points: float):
    available = available_points(grade_points, contracted, contracted * share)
    assert available == pytest.approx(grade_points * share)
    pct = capacity_pct(points, available)
    if available <= 0:
        assert pct is None
    else:
        assert pct == pytest.approx(points / (grade_points * share) * 100)


# --- suggestions ------------------------------------------------------------------------------


def test_suggestions_same_force_same_bcu_first_lowest_load_first(engine: Engine) -> None:
    w = default_case_weights()
    with session_scope(engine) as session:
        add_officer(session, "ce_busy", MET, bcu="CE")
        add_officer(session, "ce_free", MET, bcu="CE")
        add_officer(session, "ce_half", MET, bcu="CE", profile=(100.0, 37.0, 18.5))
        add_officer(session, "aw_free", MET, bcu="AW")
        add_officer(session, "ce_current", MET, bcu="CE")
        add_officer(session, "ce_noprofile", MET, bcu="CE", profile=None)
        add_officer(session, "city_free", CITY)
        for _ in range(2):
            add_case(session, lead=MET, risk="high", manager="ce_busy")
        add_case(session, lead=MET, risk="high", manager="ce_half")
        case_id = add_case(
            session,
            lead=MET,
            programme="mappa",
            risk="high",
            mappa_level=2,
            residence_force=MET,
            district="E09000012",
            bcu="CE",
            manager="ce_current",
        )
    with session_scope(engine) as session:
        got = suggest_assignees(session, case_id=case_id, limit=10, actor="system:test")
    case_points = w.points[("mappa", "high")] + w.mappa_uplift[2]
    busy = 2 * w.points[("iom_fixed", "high")]
    half = w.points[("iom_fixed", "high")]
    # ce_half carries half ce_busy's points on half the available points: the same percentage;
    # ties go to fewer points.
    assert [s.username for s in got] == ["ce_free", "ce_half", "ce_busy", "aw_free"]
    assert [s.same_bcu for s in got] == [True, True, True, False]
    by_name = {s.username: s for s in got}
    assert by_name["ce_free"].capacity_pct_before == 0
    assert by_name["ce_free"].capacity_pct_after == pytest.approx(case_points)
    assert by_name["ce_busy"].points_before == busy
    assert by_name["ce_busy"].points_after == busy + case_points
    assert by_name["ce_busy"].capacity_pct_after == pytest.approx(busy + case_points)
    assert by_name["ce_half"].capacity_pct_before == pytest.approx(half / 50 * 100)
    assert all(s.case_points == case_points for s in got)
    with session_scope(engine) as session:
        assert len(suggest_assignees(session, case_id=case_id, limit=2, actor="system:test")) == 2
        with pytest.raises(NotFoundError):
            suggest_assignees(session, case_id=999_999, actor="system:test")


def test_suggestions_for_a_city_case_are_city_officers_only(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_officer(session, "city_a", CITY)
        add_officer(session, "city_b", CITY)
        add_officer(session, "met_x", MET, bcu="CE")
        add_case(session, lead=CITY, manager="city_a")
        # Lives in the Met's Central East, but the City leads (e.g. economic crime).
        case_id = add_case(session, lead=CITY, residence_force=MET, bcu="CE")
    with session_scope(engine) as session:
        got = suggest_assignees(session, case_id=case_id, actor="system:test")
    assert [s.username for s in got] == ["city_b", "city_a"]
    assert not any(s.same_bcu for s in got)


# --- assignment ------------------------------------------------------------------------------


def test_assigning_to_another_force_is_refused(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_officer(session, "met_x", MET, bcu="CE")
        case_id = add_case(session, lead=CITY)
    with session_scope(engine) as session, pytest.raises(InputError) as info:
        assign_case(session, actor="sup", case_id=case_id, username="met_x")
    message = str(info.value)
    assert "Metropolitan Police Service" in message and "City of London Police" in message
    assert "\n" not in message
    with session_scope(engine) as session:
        assert session.get(Case, case_id).assigned_user_id is None  # type: ignore[union-attr]
        assert list_events(session, action="case.assign") == []


def test_assign_and_reassign_keep_history_and_audit(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_officer(session, "alice", CITY, display_name="Alice Example")
        add_officer(session, "bob", CITY)
        case_id = add_case(session, lead=CITY)
    with session_scope(engine) as session:
        first = assign_case(session, actor="sup", case_id=case_id, username="alice")
    reassigned_from = datetime.now(UTC)
    with session_scope(engine) as session:
        second = assign_case(
            session,
            actor="sup2",
            case_id=case_id,
            username="Bob",
            reason="leave cover",
            expected_version=first.version,
        )
    reassigned_by = datetime.now(UTC)
    assert second.version == first.version + 1
    assert second.updated_by == "sup2"
    with session_scope(engine) as session:
        # Assigning to the current manager changes nothing.
        same = assign_case(session, actor="sup", case_id=case_id, username="bob")
        assert same.version == second.version
        history = assignment_history(session, case_id=case_id, actor="system:test")
        events = list_events(session, action="case.assign")
    assert [h.username for h in history] == ["alice", "bob"]
    assert history[0].display_name == "Alice Example"
    ended = history[0].ended_at
    assert ended is not None and reassigned_from <= ended <= reassigned_by  # when bob took over
    assert history[1].ended_at is None
    assert history[0].ended_at == history[1].assigned_at
    assert history[1].reason == "leave cover" and history[1].assigned_by == "sup2"
    assert len(events) == 2
    assert events[0].details == {
        "from": "alice",
        "to": "bob",
        "reason": "leave cover",
        "assignment_id": history[1].assignment_id,
        "version": second.version,
    }
    with session_scope(engine) as session:
        load = {x.username: x.n_cases for x in officer_loads(session, actor="system:test")}
    assert load == {"alice": 0, "bob": 1}


def test_stale_expected_version_is_a_conflict_naming_who_and_when(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_officer(session, "alice", CITY)
        add_officer(session, "bob", CITY)
        case_id = add_case(session, lead=CITY)
        seen = session.get(Case, case_id).version  # type: ignore[union-attr]
    with session_scope(engine) as session:
        assign_case(
            session, actor="winner", case_id=case_id, username="alice", expected_version=seen
        )
    with session_scope(engine) as session, pytest.raises(ConflictError) as info:
        assign_case(session, actor="loser", case_id=case_id, username="bob", expected_version=seen)
    assert str(info.value).startswith(f"Case {case_id} was changed by winner at ")
    assert str(info.value).endswith("; reload")
    with session_scope(engine) as session:
        history = assignment_history(session, case_id=case_id, actor="system:test")
        assert [h.username for h in history] == ["alice"]


def test_concurrent_assignments_exactly_one_wins(engine: Engine) -> None:
    import threading

    with session_scope(engine) as session:
        add_officer(session, "alice", CITY)
        add_officer(session, "bob", CITY)
        case_id = add_case(session, lead=CITY)
        seen = session.get(Case, case_id).version  # type: ignore[union-attr]
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def assign(username: str) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                assign_case(
                    session,
                    actor=username,
                    case_id=case_id,
                    username=username,
                    expected_version=seen,
                )
            outcomes[username] = "won"
        except ConflictError as error:
            outcomes[username] = str(error)

    threads = [threading.Thread(target=assign, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["alice", "bob"]
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1
    (loser,) = set(outcomes) - set(winners)
    assert f"changed by {winners[0]} at " in outcomes[loser]
    with session_scope(engine) as session:
        history = assignment_history(session, case_id=case_id, actor="system:test")
    assert [h.username for h in history] == winners


def test_assign_refuses_unknown_closed_and_inactive(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_officer(session, "alice", CITY)
        closed = add_case(session, lead=CITY, status="closed")
        open_case = add_case(session, lead=CITY)
    with session_scope(engine) as session:
        with pytest.raises(NotFoundError):
            assign_case(session, actor="s", case_id=999_999, username="alice")
        with pytest.raises(NotFoundError, match="nobody"):
            assign_case(session, actor="s", case_id=open_case, username="nobody")
        with pytest.raises(InputError, match="closed"):
            assign_case(session, actor="s", case_id=closed, username="alice")
        with pytest.raises(NotFoundError):
            assignment_history(session, case_id=999_999, actor="system:test")


# --- the caseload query ----------------------------------------------------------------------


@pytest.fixture
def register(engine: Engine) -> dict[str, int]:
    """A small mixed caseload; returns case ids by label."""
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        add_officer(session, "alice", CITY, display_name="Alice Example")
        add_officer(session, "mo", MET, bcu="CE")
        ids["city_hackney"] = add_case(
            session,
            lead=CITY,
            residence_force=MET,
            district="E09000012",
            bcu="CE",
            first="Ziggy",
            last="Quonk",
            review=TODAY - timedelta(days=3),
            manager="alice",
            programme="mappa",
            mappa_level=3,
            risk="very_high",
        )
        ids["met_ce"] = add_case(
            session,
            lead=MET,
            residence_force=MET,
            district="E09000030",
            bcu="CE",
            first="Ada",
            last="Brindle",
            review=TODAY + timedelta(days=10),
            manager="mo",
            risk="high",
        )
        ids["met_aw"] = add_case(
            session,
            lead=MET,
            residence_force=MET,
            district="E09000033",
            bcu="AW",
            first="Bea",
            last="Crumb",
            review=TODAY + timedelta(days=20),
            programme="iom_flex",
            risk="low",
        )
        ids["city_nfa"] = add_case(
            session,
            lead=CITY,
            state="no_fixed_abode",
            first="Cal",
            last="Dorrit",
            flags=("address_unknown",),
        )
        ids["city_closed"] = add_case(
            session,
            lead=CITY,
            residence_force=CITY,
            district="E09000001",
            first="Dee",
            last="Ebb",
            status="closed",
            review=TODAY,
        )
        ids["essex"] = add_case(
            session,
            lead=ESSEX,
            residence_force=ESSEX,
            district="E07000066",
            first="Eli",
            last="Fenn",
            review=TODAY + timedelta(days=1),
        )
        now = datetime(2025, 6, 1, 9, tzinfo=UTC)
        factories.add_handoff(
            session,
            ids["city_hackney"],
            from_force=CITY,
            to_force=MET,
            to_bcu_code="CE",
            reason="moved to Hackney",
            state="requested",
            requested_at=now,
            address_check_due=date(2025, 6, 11),
            completion_due=date(2025, 6, 27),
            actor="test",
        )
        factories.add_handoff(
            session,
            ids["met_ce"],
            from_force=MET,
            to_force=CITY,
            reason="old, finished",
            state="completed",
            requested_at=now,
            completion_due=date(2025, 6, 1),
            actor="test",
        )
    return ids


def _ids(page: CaseloadPage) -> list[int]:
    return [row.case_id for row in page.rows]


def test_caseload_rows_carry_what_the_page_shows(engine: Engine, register: dict[str, int]):
    with session_scope(engine) as session:
        page = caseload(session, today=TODAY, actor="system:test")
    # Open cases only by default; most urgent review first, no review date last.
    assert _ids(page) == [
        register["city_hackney"],
        register["essex"],
        register["met_ce"],
        register["met_aw"],
        register["city_nfa"],
    ]
    assert page.total == 5
    row = page.rows[0]
    assert row.offender_name == "QUONK, Ziggy"
    assert row.pnc_id.startswith("2019/")
    assert (row.lead_force_code, row.lead_force_name) == (CITY, "City of London Police")
    assert (row.district_code, row.district_name) == ("E09000012", "Hackney")
    assert (row.bcu_code, row.bcu_name) == ("CE", "Central East")
    assert (row.manager_username, row.manager_name) == ("alice", "Alice Example")
    assert row.review_overdue
    assert row.points == 17 + 6
    assert (row.handoff_state, row.handoff_to_force_code) == ("requested", MET)
    assert row.handoff_completion_due == date(2025, 6, 27) and row.handoff_overdue
    met_ce = next(r for r in page.rows if r.case_id == register["met_ce"])
    assert met_ce.handoff_id is None and not met_ce.handoff_overdue  # completed is not open
    nfa = next(r for r in page.rows if r.case_id == register["city_nfa"])
    assert nfa.residence_state == "no_fixed_abode" and nfa.district_code is None
    assert nfa.flags == ("address_unknown",) and nfa.next_review_due is None
    assert nfa.manager_username is None
    essex = next(r for r in page.rows if r.case_id == register["essex"])
    assert essex.district_name == "Basildon"  # no boundary set loaded: the UK table names it


# Each filter and what it selects (labels from the ``register`` fixture), in page order. One
# test walks the table so the small register is built once per database, not once per filter.
FILTERS: list[tuple[dict[str, object], list[str]]] = [
    ({"force_code": CITY}, ["city_hackney", "city_nfa"]),
    ({"force_code": MET}, ["met_ce", "met_aw"]),
    ({"bcu_code": "CE"}, ["city_hackney", "met_ce"]),
    ({"force_code": MET, "bcu_code": "CE"}, ["met_ce"]),
    ({"manager": "ALICE"}, ["city_hackney"]),
    ({"manager": UNASSIGNED}, ["essex", "met_aw", "city_nfa"]),
    ({"programme": "iom_flex"}, ["met_aw"]),
    ({"risk": "high"}, ["met_ce"]),
    ({"status": "closed"}, ["city_closed"]),
    ({"status": None, "force_code": CITY}, ["city_hackney", "city_closed", "city_nfa"]),
    ({"search": "brind"}, ["met_ce"]),
    ({"search": "ada brindle"}, ["met_ce"]),
    ({"search": "nobody-like-this"}, []),
]


def test_caseload_filters_each_select_what_they_should(
    engine: Engine, register: dict[str, int]
) -> None:
    with session_scope(engine) as session:
        for filters, expected in FILTERS:
            page = caseload(session, today=TODAY, actor="system:test", **filters)  # type: ignore[arg-type]
            assert _ids(page) == [register[label] for label in expected], filters
            assert page.total == len(expected), filters


def test_caseload_search_by_pnc_in_short_form_and_paging(engine: Engine, register):
    with session_scope(engine) as session:
        pnc = session.exec(
            select(Offender.pnc_id)
            .join(Case, col(Case.offender_id) == col(Offender.id))
            .where(Case.id == register["met_aw"])
        ).one()
        short = pnc[2:4] + "/" + pnc[5:].lstrip("0")
        assert _ids(caseload(session, search=short, actor="system:test")) == [register["met_aw"]]
        page = caseload(session, limit=2, offset=1, today=TODAY, actor="system:test")
        assert _ids(page) == [register["essex"], register["met_ce"]]
        assert page.total == 5 and (page.limit, page.offset) == (2, 1)
        with pytest.raises(InputError, match="programme"):
            caseload(session, programme="iom_fixd", actor="system:test")
        with pytest.raises(InputError, match="status"):
            caseload(session, status="pending", actor="system:test")


def test_caseload_reflects_assignment(engine: Engine, register: dict[str, int]) -> None:
    with session_scope(engine) as session:
        assign_case(session, actor="sup", case_id=register["met_aw"], username="mo")
    with session_scope(engine) as session:
        assert _ids(caseload(session, manager="mo", actor="system:test")) == [
            register["met_ce"],
            register["met_aw"],
        ]
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "case.assign")).one()
    assert (event.actor, event.entity_type, event.entity_id) == (
        "sup",
        "case",
        str(register["met_aw"]),
    )
    assert event.details is not None
    assert (event.details["from"], event.details["to"]) == (None, "mo")


# --- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli_db(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI at the test database."""
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    monkeypatch.setenv("CROSSFORCE_USER", "clerk")
    reset_settings_cache()
    try:
        yield database_url
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def test_cli_cases_assign_and_suggest(
    engine: Engine, cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from coordination.cli.main import main

    with session_scope(engine) as session:
        add_officer(session, "alice", CITY)
        add_officer(session, "met_x", MET, bcu="CE")
        case_id = add_case(session, lead=CITY)

    assert main(["cases", "suggest", str(case_id), "--json"]) == 0
    suggestions = json.loads(capsys.readouterr().out)
    assert [s["username"] for s in suggestions] == ["alice"]

    assert main(["cases", "assign", str(case_id), "alice", "--reason", "new case"]) == 0
    out = capsys.readouterr().out
    assert f"Case {case_id} is now managed by alice" in out

    code = main(["--as", "sup", "cases", "assign", str(case_id), "met_x", "--json"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "only an officer of the lead force" in err

    assert main(["cases", "assign", str(case_id), "alice", "--version", "99"]) == 2
    assert "; reload" in capsys.readouterr().err
    assert main(["cases", "assign", "x1", "alice"]) == 2
    assert "'x1' is not a whole number (an id)" in capsys.readouterr().err

    with session_scope(engine) as session:
        (event,) = list_events(session, action="case.assign")
    assert event.actor == "clerk" and event.details and event.details["reason"] == "new case"
