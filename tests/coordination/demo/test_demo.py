"""The synthetic demo caseload: deterministic, complete, and consistent with the register's rules.

Each test seeds a small demo into a fresh database (SQLite, and PostgreSQL when available). The
lookup is the real London one (the app database's active boundary set), passed in directly, so
the test databases only need their schema and forces.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from coordination.core.db import session_scope
from coordination.core.settings import Settings
from coordination.demo.plan import NEIGHBOURS
from coordination.demo.seed import seed_demo
from coordination.handoffs import workflow as handoffs
from coordination.models import (
    HANDOFF_STATES,
    OPEN_HANDOFF_STATES,
    Address,
    Case,
    CaseAssignment,
    Force,
    Handoff,
    Offender,
    User,
)
from coordination.register.pnc import normalise_pnc
from coordination.register.synthetic import demo_info
from coordination.review.meetings import get_meeting, list_meetings
from tests.support.database import migrated_engine

TODAY = date(2025, 11, 3)
N = 60


@pytest.fixture(scope="module")
def lookup_and_directory(app_database_url: str) -> tuple[Any, Any]:
    """The real London lookup and postcode directory (shared, read-only)."""
    from coordination.reference.lookup import get_service, postcode_directory

    settings = Settings(database_url=app_database_url)
    return get_service(settings).lookup, postcode_directory(settings)


def _seed(engine: sa.Engine, tools: tuple[Any, Any], *, seed: int, n: int = N, **kw: Any) -> Any:
    lookup, directory = tools
    with session_scope(engine) as session:
        return seed_demo(
            session,
            actor="pytest",
            lookup=lookup,
            directory=directory,
            offenders=n,
            seed=seed,
            today=TODAY,
            **kw,
        )


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the demo wrote, without timestamps of when it was written."""
    with Session(engine) as s:
        users = {u.id: u.username for u in s.exec(select(User)).all()}
        pnc = {o.id: o.pnc_id for o in s.exec(select(Offender)).all()}
        return {
            "users": sorted(
                (u.username, u.display_name, u.force_code, u.bcu_code, u.role, u.team)
                for u in s.exec(select(User)).all()
            ),
            "offenders": sorted(
                (
                    o.id,
                    o.pnc_id,
                    o.first_name,
                    o.last_name,
                    tuple(o.aliases),
                    o.date_of_birth,
                    o.sex,
                )
                for o in s.exec(select(Offender)).all()
            ),
            "addresses": sorted(
                (
                    a.id,
                    pnc[a.offender_id],
                    a.state,
                    a.postcode,
                    a.valid_from,
                    a.valid_to,
                    a.force_code,
                    a.bcu_code,
                )
                for a in s.exec(select(Address)).all()
            ),
            "cases": sorted(
                (
                    c.id,
                    pnc[c.offender_id],
                    c.programme,
                    c.mappa_category,
                    c.mappa_level,
                    c.risk,
                    c.offence_category,
                    c.lead_force_code,
                    users.get(c.assigned_user_id) if c.assigned_user_id else None,
                    c.next_review_due,
                    c.responsibility_rule,
                    tuple(c.flags),
                )
                for c in s.exec(select(Case)).all()
            ),
            "handoffs": sorted(
                (
                    h.id,
                    h.case_id,
                    h.from_force_code,
                    h.to_force_code,
                    h.to_bcu_code,
                    h.state,
                    h.reason,
                    h.requested_at,
                    h.accepted_at,
                    h.closed_at,
                    h.address_check_due,
                    h.completion_due,
                    h.rejection_reason,
                )
                for h in s.exec(select(Handoff)).all()
            ),
            "assignments": sorted(
                (a.case_id, users.get(a.user_id), a.reason, a.ended_at is None)
                for a in s.exec(select(CaseAssignment)).all()
            ),
        }


def test_same_seed_same_caseload(
    database_url: str, tmp_path: Any, lookup_and_directory: tuple[Any, Any]
) -> None:
    first = migrated_engine(database_url)
    second = migrated_engine(f"sqlite:///{tmp_path / 'second.db'}")
    _seed(first, lookup_and_directory, seed=11)
    _seed(second, lookup_and_directory, seed=11)
    a, b = _snapshot(first), _snapshot(second)
    assert a == b
    assert len(a["offenders"]) == N

    other = migrated_engine(f"sqlite:///{tmp_path / 'other.db'}")
    _seed(other, lookup_and_directory, seed=12)
    assert _snapshot(other)["offenders"] != a["offenders"]
    first.dispose()


def test_demo_is_complete_and_keeps_the_rules(
    database_url: str, lookup_and_directory: tuple[Any, Any]
) -> None:
    engine = migrated_engine(database_url)
    report = _seed(engine, lookup_and_directory, seed=3)
    assert report.offenders == N and not report.skipped
    with Session(engine) as s:
        offenders = s.exec(select(Offender)).all()
        cases = s.exec(select(Case)).all()
        all_handoffs = s.exec(select(Handoff)).all()
        users = {u.id: u for u in s.exec(select(User)).all()}
        addresses = s.exec(select(Address)).all()
        forces = {f.code for f in s.exec(select(Force)).all()}

    # Counts: one case per offender; officers in the City and in every Met BCU.
    assert len(offenders) == N and len(cases) == N
    assert report.users == len(users)
    met_bcus = {u.bcu_code for u in users.values() if u.force_code == "E23000001"}
    assert len(met_bcus) == 12
    assert any(u.force_code == "E23000034" for u in users.values())
    assert sum(report.handoffs.values()) == len(all_handoffs)

    # Every handoff state appears, some open handoffs are overdue, none is open for months.
    assert {h.state for h in all_handoffs} == set(HANDOFF_STATES)
    with Session(engine) as s:
        views = handoffs.list_handoffs(s, state="open", today=TODAY, actor="system:test")
    assert any(v.overdue for v in views)
    assert all(v.overdue_by_days < 90 for v in views)

    # Every PNC ID is valid (and stored in the long form) and unique.
    assert all(normalise_pnc(o.pnc_id) == o.pnc_id for o in offenders)
    assert len({o.pnc_id for o in offenders}) == N

    # Residences: real postcodes, most in the City's neighbouring boroughs.
    verified = Counter()
    for a in addresses:
        if a.state == "residence":
            assert a.postcode and a.force_code in forces
            verified["neighbours" if a.district_code in NEIGHBOURS else "elsewhere"] += 1
    assert verified["neighbours"] > verified["elsewhere"]

    # The single-lead invariant: every open case has one known lead force; at most one open
    # handoff per case, always sent by the current lead (the sender stays responsible); a
    # completed handoff's receiver led the case from then on; managers belong to the lead force.
    open_by_case = Counter(h.case_id for h in all_handoffs if h.state in OPEN_HANDOFF_STATES)
    assert max(open_by_case.values(), default=0) <= 1
    by_case: dict[int, list[Handoff]] = {}
    for h in sorted(all_handoffs, key=lambda h: (h.created_at, h.id)):
        by_case.setdefault(h.case_id, []).append(h)
    for case in cases:
        assert case.status == "open" and case.lead_force_code in forces
        history = by_case.get(case.id or 0, [])
        for h in history:
            if h.state in OPEN_HANDOFF_STATES:
                assert h.from_force_code == case.lead_force_code
        completed = [h for h in history if h.state == "completed"]
        if completed:
            assert completed[-1].to_force_code == case.lead_force_code
        elif not history or all(h.state != "completed" for h in history):
            assert case.lead_force_code == "E23000034"  # the City registered every case
        if case.assigned_user_id is not None:
            assert users[case.assigned_user_id].force_code == case.lead_force_code

    # The last City–Met joint review, two weeks ago: held, with decisions and open actions,
    # so the Joint review page has a meeting on first run and the next one carries them over.
    assert report.meeting_id is not None
    with Session(engine) as s:
        (meeting,) = list_meetings(s, actor="system:test")
        detail = get_meeting(s, meeting_id=meeting.id, actor="system:test")
    assert meeting.id == report.meeting_id
    assert (meeting.status, meeting.meeting_date) == ("held", TODAY - timedelta(days=14))
    assert detail.agenda and len([i for i in detail.agenda if i.decision]) == 5
    assert [a.status for a in detail.actions] == ["open"] * 3
    assert len(set(meeting.attendees)) == 2
    engine.dispose()


def test_if_empty_does_nothing_on_a_populated_database(
    tmp_path: Any, lookup_and_directory: tuple[Any, Any]
) -> None:
    engine = migrated_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with Session(engine) as s:
        assert demo_info(s) is None
    _seed(engine, lookup_and_directory, seed=5, n=8)
    again = _seed(engine, lookup_and_directory, seed=6, n=8, if_empty=True)
    assert again.skipped
    with Session(engine) as s:
        assert len(s.exec(select(Offender)).all()) == 8
        info = demo_info(s)
    assert info is not None and info.seed == 5 and info.offenders == 8 and info.today == TODAY
    assert "synthetic" in info.notice.lower()
    engine.dispose()


def test_bad_arguments_are_refused(tmp_path: Any, lookup_and_directory: tuple[Any, Any]) -> None:
    from coordination.errors import InputError

    engine = migrated_engine(f"sqlite:///{tmp_path / 'bad.db'}")
    with pytest.raises(InputError, match="between 1 and"):
        _seed(engine, lookup_and_directory, seed=1, n=0)
    lookup, directory = lookup_and_directory
    with pytest.raises(InputError, match="future"), session_scope(engine) as session:
        seed_demo(
            session,
            actor="pytest",
            lookup=lookup,
            directory=directory,
            offenders=1,
            today=date(2999, 1, 1),
        )
    engine.dispose()
