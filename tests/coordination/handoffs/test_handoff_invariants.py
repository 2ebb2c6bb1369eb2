"""The single-lead invariant under random sequences of handoff operations (hypothesis stateful).

After every step: every open case has exactly one lead force, and it is a known force; no case has
more than one open handoff; a case's lead changes only when one of its handoffs completes; every
refusal was predicted by the workflow table, and every allowed action succeeded.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.core.db import session_scope
from coordination.errors import ConflictError, InputError
from coordination.handoffs.workflow import TRANSITIONS, create_handoff, transition
from coordination.models import OPEN_HANDOFF_STATES, Case, Force, Handoff
from geo.forces import CITY_OF_LONDON, METROPOLITAN
from tests.factories import add_case, confirm_address
from tests.support.database import migrated_engine

FORCES = (CITY_OF_LONDON, METROPOLITAN, "E23000032", "E23000036")  # + Kent, Surrey
N_CASES = 3


class HandoffMachine(RuleBasedStateMachine):
    """Random creates and actions on a few cases; a model of what should have happened."""

    engine: ClassVar[Engine]

    @initialize(leads=st.lists(st.sampled_from(FORCES), min_size=N_CASES, max_size=N_CASES))
    def make_cases(self, leads: list[str]) -> None:
        self.cases: list[int] = []
        with session_scope(self.engine) as session:
            for lead in leads:
                self.cases.append(add_case(session, lead=lead))
        self.lead: dict[int, str] = dict(zip(self.cases, leads, strict=True))
        self.states: dict[int, str] = {}  # handoff id -> state
        self.case_of: dict[int, int] = {}  # handoff id -> case id
        self.target: dict[int, str] = {}  # handoff id -> receiving force

    def _open_of(self, case_id: int) -> int | None:
        for handoff_id, state in self.states.items():
            if self.case_of[handoff_id] == case_id and state in OPEN_HANDOFF_STATES:
                return handoff_id
        return None

    @rule(
        index=st.integers(0, N_CASES - 1),
        to=st.sampled_from(FORCES),
        request=st.booleans(),
    )
    def create(self, index: int, to: str, request: bool) -> None:
        case_id = self.cases[index]
        should_work = self._open_of(case_id) is None and to != self.lead[case_id]
        try:
            with session_scope(self.engine) as session:
                handoff = create_handoff(
                    session,
                    actor="machine",
                    case_id=case_id,
                    to_force_code=to,
                    reason="moved",
                    request=request,
                )
        except (ConflictError, InputError):
            assert not should_work, "a valid handoff was refused"
            return
        assert should_work, "an invalid handoff was created"
        assert handoff.from_force_code == self.lead[case_id]
        self.states[handoff.id] = "requested" if request else "proposed"
        self.case_of[handoff.id] = case_id
        self.target[handoff.id] = to

    @rule(
        pick=st.integers(0, 1000),
        action=st.sampled_from(sorted(TRANSITIONS)),
        with_note=st.booleans(),
    )
    def act(self, pick: int, action: str, with_note: bool) -> None:
        if not self.states:
            return
        ids = sorted(self.states)
        handoff_id = ids[pick % len(ids)]
        sources, target = TRANSITIONS[action]
        needs_note = action == "reject" and not with_note
        should_work = self.states[handoff_id] in sources and not needs_note
        try:
            with session_scope(self.engine) as session:
                if action == "complete" and self.states[handoff_id] == "accepted":
                    confirm_address(session, handoff_id, actor="machine")
                after = transition(
                    session,
                    actor="machine",
                    handoff_id=handoff_id,
                    action=action,  # type: ignore[arg-type]
                    note="reason given" if with_note else None,
                )
        except InputError:
            assert needs_note, "only a rejection without a reason is bad input"
            return
        except ConflictError:
            assert not should_work, f"{action} from {self.states[handoff_id]} was refused"
            return
        assert should_work, f"{action} from {self.states[handoff_id]} was allowed"
        assert after.state == target
        self.states[handoff_id] = target
        if action == "complete":
            # The only way a lead changes.
            self.lead[self.case_of[handoff_id]] = self.target[handoff_id]

    @invariant()
    def every_open_case_has_one_known_lead(self) -> None:
        if not hasattr(self, "cases"):
            return
        with Session(self.engine) as session:
            known = set(session.exec(select(Force.code)).all())
            rows = session.exec(select(Case).where(col(Case.id).in_(self.cases))).all()
            for case in rows:
                assert case.status == "open"
                assert case.lead_force_code is not None
                assert case.lead_force_code in known
                # …and it is the lead the model expects: changed only by completions.
                assert case.lead_force_code == self.lead[case.id]  # type: ignore[index]

    @invariant()
    def at_most_one_open_handoff_per_case(self) -> None:
        with Session(self.engine) as session:
            doubled = session.exec(
                select(Handoff.case_id)
                .where(col(Handoff.state).in_(OPEN_HANDOFF_STATES))
                .group_by(col(Handoff.case_id))
                .having(sa.func.count() > 1)
            ).all()
            assert doubled == []

    @invariant()
    def states_match_the_model(self) -> None:
        if not getattr(self, "states", None):
            return
        with Session(self.engine) as session:
            stored = dict(
                session.exec(
                    select(Handoff.id, Handoff.state).where(col(Handoff.id).in_(list(self.states)))
                ).all()
            )
        assert stored == self.states


@pytest.mark.slow
def test_single_lead_invariant_under_random_operations(tmp_path: Path) -> None:
    # One SQLite database for every example: each example makes its own cases, so examples do
    # not interfere, and the migration runs once.
    HandoffMachine.engine = migrated_engine(f"sqlite:///{tmp_path / 'machine.db'}")
    run_state_machine_as_test(
        HandoffMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
