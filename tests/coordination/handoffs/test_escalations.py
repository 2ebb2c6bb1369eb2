"""Escalations of rejected handoffs, their three resolutions, and the no-workflow invariant.

Every open case led by a force other than the one the rules name has exactly one of an open
handoff, an open escalation or an unexpired exception; ``mismatches`` lists those with none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.core.calendar import add_working_days
from coordination.core.clock import london_today
from coordination.core.db import session_scope
from coordination.errors import AccessDeniedError, ConflictError, InputError
from coordination.handoffs import escalations, resolutions
from coordination.handoffs import workflow as handoffs
from coordination.models import AuditEvent, Escalation, Handoff, ResponsibilityException
from coordination.register import mismatches
from coordination.review.decisions import record_decision
from geo.forces import CITY_OF_LONDON as CITY
from geo.forces import METROPOLITAN as MET
from tests.factories import (
    T0,
    World,
    add_agenda_item,
    add_case,
    add_meeting,
    confirm_address,
    handoff_in_state,
)
from tests.support.database import migrated_engine

SYSTEM = "system:test"


def _case_living_in_met(engine: Engine) -> int:
    """A City case whose person lives in the Met: the rules name the Met."""
    with session_scope(engine) as s:
        return add_case(s, lead=CITY, address="residence", residence_force=MET)


def _rejected(engine: Engine, case_id: int, *, now: Any = None) -> int:
    with session_scope(engine) as s:
        h = handoffs.create_handoff(
            s, actor=SYSTEM, case_id=case_id, to_force_code=MET, reason="moved", now=now
        )
    with session_scope(engine) as s:
        handoffs.transition(
            s, actor=SYSTEM, handoff_id=h.id, action="reject", note="not verified", now=now
        )
    return h.id


def _open_for(engine: Engine, case_id: int) -> list[Escalation]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(Escalation).where(Escalation.case_id == case_id, Escalation.state == "open")
            ).all()
        )


# --- opening ------------------------------------------------------------------------------------


def test_reject_opens_one_escalation_due_in_five_working_days(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "rejected")  # rejected at T0, Monday 3 March 2025
    rows = _open_for(engine, handoff.case_id)
    assert len(rows) == 1
    esc = rows[0]
    assert esc.handoff_id == handoff.id
    assert esc.force_code == CITY  # the sending force owns it
    assert esc.due_on == date(2025, 3, 10) == add_working_days(T0.date(), 5)
    with Session(engine) as s:
        actions = s.exec(
            select(AuditEvent.action).where(
                AuditEvent.entity_type == "escalation", AuditEvent.entity_id == str(esc.id)
            )
        ).all()
    assert actions == ["escalation.open"]


def test_the_due_date_follows_the_setting(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_ESCALATION_DAYS", "2")
    reset_settings_cache()
    try:
        handoff = handoff_in_state(engine, "rejected")
    finally:
        monkeypatch.delenv("CROSSFORCE_ESCALATION_DAYS")
        reset_settings_cache()
    assert _open_for(engine, handoff.case_id)[0].due_on == date(2025, 3, 5)
    # Over a weekend and Good Friday/Easter Monday 2025: Thu 17 April + 5 = Mon 28 April.
    assert escalations.escalation_due(date(2025, 4, 17), 5) == date(2025, 4, 28)


def test_only_a_rejection_escalates(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    with session_scope(engine) as s, pytest.raises(ConflictError, match="only a rejection"):
        escalations.open_escalation(s, actor=SYSTEM, handoff_id=handoff.id)


# --- the three resolutions ----------------------------------------------------------------------


def test_an_exception_resolves_it_and_keeps_the_lead(engine: Engine) -> None:
    case_id = _case_living_in_met(engine)
    _rejected(engine, case_id)
    esc = _open_for(engine, case_id)[0]
    review = london_today() + timedelta(days=30)
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="needs a reason"):
            escalations.record_exception(
                s, actor=SYSTEM, escalation_id=int(esc.id or 0), reason=" ", review_on=review
            )
        with pytest.raises(InputError, match="after today"):
            escalations.record_exception(
                s,
                actor=SYSTEM,
                escalation_id=int(esc.id or 0),
                reason="r",
                review_on=london_today(),
            )
    with session_scope(engine) as s:
        exc = escalations.record_exception(
            s,
            actor=SYSTEM,
            escalation_id=int(esc.id or 0),
            reason="moving back next month",
            review_on=review,
        )
    assert exc.lead_force_code == CITY and exc.responsible_force_code == MET
    assert _open_for(engine, case_id) == []
    with Session(engine) as s:
        row = s.get(Escalation, esc.id)
        assert row is not None and row.resolution == "exception" and row.exception_id == exc.id
        assert mismatches.mismatches(s, actor=SYSTEM) == []
        # Past its review date the exception has expired, and the case is a mismatch again.
        later = mismatches.mismatches(s, actor=SYSTEM, today=review + timedelta(days=1))
    assert [m.case_id for m in later] == [case_id]
    with session_scope(engine) as s, pytest.raises(ConflictError, match="already resolved"):
        escalations.record_exception(
            s, actor=SYSTEM, escalation_id=int(esc.id or 0), reason="again", review_on=review
        )


def test_a_new_request_resolves_it(engine: Engine) -> None:
    case_id = _case_living_in_met(engine)
    old = _rejected(engine, case_id)
    esc = _open_for(engine, case_id)[0]
    with session_scope(engine) as s, pytest.raises(InputError, match="new facts"):
        resolutions.resolve_by_new_request(
            s, actor=SYSTEM, escalation_id=int(esc.id or 0), new_facts=""
        )
    with session_scope(engine) as s:
        new = resolutions.resolve_by_new_request(
            s, actor=SYSTEM, escalation_id=int(esc.id or 0), new_facts="tenancy agreement seen"
        )
    assert new.state == "requested" and new.id != old and new.to_force_code == MET
    assert "tenancy agreement seen" in new.reason
    with Session(engine) as s:
        row = s.get(Escalation, esc.id)
        assert row is not None
        assert (row.state, row.resolution, row.new_handoff_id) == (
            "resolved",
            "new_request",
            new.id,
        )
        assert mismatches.workflows_per_case(s, actor=SYSTEM)[case_id] == 1


def test_a_joint_review_decision_resolves_it(engine: Engine) -> None:
    case_id = _case_living_in_met(engine)
    _rejected(engine, case_id)
    with session_scope(engine) as s:
        meeting = add_meeting(s, "City-Met", london_today())
        item = add_agenda_item(s, meeting, case_id, 1)
    with session_scope(engine) as s:
        record_decision(s, actor=SYSTEM, item_id=item, kind="escalate", note="to the ACC")
    assert len(_open_for(engine, case_id)) == 1  # "escalate" sends it further up
    with session_scope(engine) as s:
        record_decision(s, actor=SYSTEM, item_id=item, kind="retain", note="stays for now")
    assert _open_for(engine, case_id) == []
    with Session(engine) as s:
        row = s.exec(select(Escalation).where(Escalation.case_id == case_id)).one()
        assert row.resolution == "review" and row.meeting_id == meeting
        exc = s.get(ResponsibilityException, row.exception_id)
        assert exc is not None and exc.meeting_id == meeting
        assert exc.review_on == london_today() + timedelta(days=91)
        assert mismatches.mismatches(s, actor=SYSTEM) == []


def test_a_transfer_decision_resolves_it_by_a_new_handoff(engine: Engine) -> None:
    case_id = _case_living_in_met(engine)
    _rejected(engine, case_id)
    with session_scope(engine) as s:
        meeting = add_meeting(s, "City-Met", london_today())
        item = add_agenda_item(s, meeting, case_id, 1)
    with session_scope(engine) as s:
        record_decision(
            s, actor=SYSTEM, item_id=item, kind="transfer", target_force_code=MET, note="agreed"
        )
    with Session(engine) as s:
        row = s.exec(select(Escalation).where(Escalation.case_id == case_id)).one()
        assert row.resolution == "new_request" and row.new_handoff_id is not None


def test_only_the_sending_supervisors_resolve(world: tuple[Engine, World]) -> None:
    engine, w = world
    with session_scope(engine) as s:
        handoffs.transition(s, actor="met.sup", handoff_id=w.handoff, action="reject", note="no")
    esc = _open_for(engine, w.handed)[0]
    review = london_today() + timedelta(days=10)
    for who in ("met.sup", "city.om"):
        with session_scope(engine) as s, pytest.raises(AccessDeniedError):
            escalations.record_exception(
                s, actor=who, escalation_id=int(esc.id or 0), reason="r", review_on=review
            )
    with Session(engine) as s:
        assert [v.id for v in escalations.list_escalations(s, actor="city.sup")] == [esc.id]
        assert escalations.list_escalations(s, actor="met.sup") == []
        with pytest.raises(AccessDeniedError):
            escalations.list_escalations(s, actor="city.om")
    with session_scope(engine) as s:
        escalations.record_exception(
            s, actor="city.sup", escalation_id=int(esc.id or 0), reason="r", review_on=review
        )


def test_mismatches_lists_a_case_with_no_workflow(engine: Engine) -> None:
    case_id = _case_living_in_met(engine)
    with session_scope(engine) as s:
        add_case(s, lead=MET, address="residence", residence_force=MET)  # led where they live
        add_case(s, lead=CITY)  # no address: the lead keeps it
    with Session(engine) as s:
        found = mismatches.mismatches(s, actor=SYSTEM)
    assert [(m.case_id, m.lead_force_code, m.responsible_force_code) for m in found] == [
        (case_id, CITY, MET)
    ]
    assert found[0].rule == "residence"
    _rejected(engine, case_id)
    with Session(engine) as s:
        assert mismatches.mismatches(s, actor=SYSTEM) == []


def test_an_open_escalation_goes_on_the_next_agenda(engine: Engine) -> None:
    from coordination.review.agenda import generate_agenda

    case_id = _case_living_in_met(engine)
    _rejected(engine, case_id)
    esc = _open_for(engine, case_id)[0]
    with session_scope(engine) as s:
        meeting = add_meeting(s, "City-Met", london_today() + timedelta(days=7))
    with session_scope(engine) as s:
        items = generate_agenda(s, actor=SYSTEM, meeting_id=meeting)
    reasons = {r["code"]: r["text"] for i in items if i.case_id == case_id for r in i.reasons}
    assert reasons["open_escalation"].startswith(f"Open escalation {esc.id}: handoff ")
    assert f"due {esc.due_on.isoformat()}" in reasons["open_escalation"]


# --- the invariant under random operations -------------------------------------------------------

FORCES = (CITY, MET, "E23000032")  # + Kent
N_CASES = 3


class EscalationMachine(RuleBasedStateMachine):
    """Random requests, answers and resolutions; after each step the invariant holds."""

    engine: ClassVar[Engine]

    @initialize(homes=st.lists(st.sampled_from(FORCES), min_size=N_CASES, max_size=N_CASES))
    def make_cases(self, homes: list[str]) -> None:
        self.cases: list[int] = []
        with session_scope(self.engine) as s:
            for home in homes:
                self.cases.append(add_case(s, lead=CITY, address="residence", residence_force=home))
        self.home = dict(zip(self.cases, homes, strict=True))
        # A case registered away from where the person lives starts a handoff at once.
        for case_id in self.cases:
            if self.home[case_id] != CITY:
                with session_scope(self.engine) as s:
                    handoffs.create_handoff(
                        s,
                        actor=SYSTEM,
                        case_id=case_id,
                        to_force_code=self.home[case_id],
                        reason="lives there",
                    )

    def _case(self, pick: int) -> int:
        return self.cases[pick % N_CASES]

    def _lead(self, case_id: int) -> str:
        from coordination.models import Case

        with Session(self.engine) as s:
            row = s.get(Case, case_id)
            assert row is not None
            return row.lead_force_code

    def _open_handoff(self, case_id: int) -> Handoff | None:
        with Session(self.engine) as s:
            return s.exec(
                select(Handoff).where(
                    Handoff.case_id == case_id,
                    col(Handoff.state).in_(("proposed", "requested", "accepted")),
                )
            ).first()

    @rule(pick=st.integers(0, N_CASES - 1))
    def request(self, pick: int) -> None:
        case_id = self._case(pick)
        if self._lead(case_id) == self.home[case_id] or self._open_handoff(case_id):
            return
        if _open_for(self.engine, case_id):
            return  # the escalation is resolved by a new request (another rule)
        with session_scope(self.engine) as s:
            handoffs.create_handoff(
                s, actor=SYSTEM, case_id=case_id, to_force_code=self.home[case_id], reason="m"
            )

    @rule(pick=st.integers(0, N_CASES - 1), answer=st.sampled_from(("accept", "reject")))
    def answer(self, pick: int, answer: str) -> None:
        open_handoff = self._open_handoff(self._case(pick))
        if open_handoff is None or open_handoff.state != "requested":
            return
        with session_scope(self.engine) as s:
            handoffs.transition(
                s,
                actor=SYSTEM,
                handoff_id=int(open_handoff.id or 0),
                action=answer,  # type: ignore[arg-type]
                note="no",
            )

    @rule(pick=st.integers(0, N_CASES - 1))
    def complete(self, pick: int) -> None:
        open_handoff = self._open_handoff(self._case(pick))
        if open_handoff is None or open_handoff.state != "accepted":
            return
        with session_scope(self.engine) as s:
            confirm_address(s, int(open_handoff.id or 0), actor=SYSTEM)
            handoffs.transition(
                s, actor=SYSTEM, handoff_id=int(open_handoff.id or 0), action="complete"
            )

    @rule(pick=st.integers(0, N_CASES - 1), how=st.sampled_from(("exception", "new_request")))
    def resolve(self, pick: int, how: str) -> None:
        rows = _open_for(self.engine, self._case(pick))
        if not rows:
            return
        escalation_id = int(rows[0].id or 0)
        with session_scope(self.engine) as s:
            if how == "exception":
                escalations.record_exception(
                    s,
                    actor=SYSTEM,
                    escalation_id=escalation_id,
                    reason="agreed",
                    review_on=london_today() + timedelta(days=30),
                )
            else:
                resolutions.resolve_by_new_request(
                    s, actor=SYSTEM, escalation_id=escalation_id, new_facts="verified"
                )

    @precondition(lambda self: hasattr(self, "cases"))
    @invariant()
    def every_mismatched_case_has_exactly_one_workflow(self) -> None:
        with Session(self.engine) as s:
            found = mismatches.mismatches(s, actor=SYSTEM)
            assert [m.case_id for m in found if m.case_id in self.cases] == []
            counts = mismatches.workflows_per_case(s, actor=SYSTEM)
        for case_id in self.cases:
            if self._lead(case_id) != self.home[case_id]:
                assert counts.get(case_id, 0) == 1, (case_id, counts)


@pytest.mark.slow
def test_the_invariant_holds_under_random_operations(tmp_path: Path) -> None:
    EscalationMachine.engine = migrated_engine(f"sqlite:///{tmp_path / 'machine.db'}")
    run_state_machine_as_test(
        EscalationMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# --- the demo ------------------------------------------------------------------------------------


def test_the_demo_ends_with_no_mismatches(engine: Engine, app_database_url: str) -> None:
    from coordination.core.settings import Settings
    from coordination.demo.seed import seed_demo
    from coordination.reference.lookup import get_service, postcode_directory

    app = Settings(database_url=app_database_url)
    with session_scope(engine) as s:
        seed_demo(
            s,
            actor="pytest",
            lookup=get_service(app).lookup,
            directory=postcode_directory(app),
            offenders=80,
            seed=3,
        )
    with Session(engine) as s:
        assert mismatches.mismatches(s, actor=SYSTEM) == []
        resolved = s.exec(select(Escalation.resolution).where(Escalation.state == "resolved"))
        kinds = set(resolved.all())
        rejected = s.exec(select(Handoff.id).where(Handoff.state == "rejected")).all()
        escalated = s.exec(select(Escalation.handoff_id)).all()
    assert sorted(escalated) == sorted(int(h or 0) for h in rejected)
    if len(rejected) >= 2:
        assert {"exception", "new_request"} <= kinds


# --- the command line ----------------------------------------------------------------------------


def test_cli_mismatches_and_escalations(
    engine: Engine, cli: Callable[..., tuple[int, str, str]]
) -> None:
    case_id = _case_living_in_met(engine)
    code, out, _ = cli("cases", "mismatches", "--json")
    assert code == 0 and [m["case_id"] for m in json.loads(out)] == [case_id]
    code, out, _ = cli("cases", "mismatches")
    assert code == 0 and f"case {case_id}" in out and "1 case with no workflow" in out
    _rejected(engine, case_id)
    code, out, _ = cli("cases", "mismatches", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = cli("cases", "mismatches")
    assert out.startswith("None:")
    code, out, _ = cli("escalations", "list", "--json")
    listed = json.loads(out)
    assert [e["case_id"] for e in listed] == [case_id]
    esc = listed[0]["id"]
    review = (london_today() + timedelta(days=20)).isoformat()
    code, out, _ = cli(
        "escalations", "exception", str(esc), "--reason", "agreed", "--review", review
    )
    assert code == 0 and f"until review on {review}" in out
    code, out, err = cli("escalations", "resolve", str(esc), "--facts", "x")
    assert code != 0 and "already resolved" in err
    code, out, _ = cli("escalations", "list")
    assert "No escalations." in out


# --- the Handoffs page ---------------------------------------------------------------------------


def test_handoffs_page_escalations_section(
    world: tuple[Engine, World], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coordination.core.settings import reset_settings_cache
    from tests.support import apptest

    engine, w = world
    with session_scope(engine) as s:
        handoffs.transition(
            s, actor="met.sup", handoff_id=w.handoff, action="reject", note="not verified"
        )
    esc = _open_for(engine, w.handed)[0]
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    reset_settings_cache()
    try:
        at = apptest.page("handoffs", user="city.sup")
        apptest.ok(at)
        table = apptest.table(at, "Escalation", "Due")
        assert list(table["Escalation"]) == [esc.id]
        assert list(table["Due"]) == [esc.due_on.isoformat()]
        assert list(table["Why"]) == ["not verified"]
        assert [s.value for s in at.success] == [
            "None: every case with a lead force other than where the person lives has an open "
            "handoff, an escalation or an exception."
        ]
        at.selectbox(key="esc_pick").set_value(esc.id)
        at.text_area(key="esc_text").set_value("moving back in a month")
        at.date_input(key="esc_review").set_value(london_today() + timedelta(days=40))
        next(b for b in at.button if b.label == "Resolve escalation").click().run()
        apptest.ok(at)
        assert any("stays with its lead force" in s.value for s in at.success)
        # The queue is empty now.
        assert not [d for d in at.dataframe if "Escalation" in d.value.columns]
        assert "No open escalations for your force." in [c.value for c in at.caption]
        with Session(engine) as s:
            row = s.get(Escalation, esc.id)
            assert row is not None and row.resolution == "exception"
        # An offender manager sees no escalations section.
        om = apptest.page("handoffs", user="city.om")
        apptest.ok(om)
        assert not [d for d in om.dataframe if "Escalation" in d.value.columns]
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()
