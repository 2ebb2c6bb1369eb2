"""The address check as a step: recorded by the receiving force, needed before completion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from coordination.core.clock import london_today
from coordination.core.db import session_scope
from coordination.errors import AccessDeniedError, ConflictError, InputError
from coordination.handoffs import network
from coordination.handoffs.address_check import record_address_check
from coordination.handoffs.permissions import permitted_actions
from coordination.handoffs.workflow import current_deadline, get_handoff_view, transition
from coordination.models import AuditEvent, Escalation, Handoff
from tests.factories import T0, build_world, confirm_address, handoff_in_state

DAY = T0.date()


def _check(engine: Engine, handoff_id: int, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "actor": "bob",
        "checked_on": DAY,
        "method": "visit",
        "outcome": "confirmed",
        "now": T0 + timedelta(hours=2),
    }
    args.update(kw)
    with session_scope(engine) as s:
        return record_address_check(s, handoff_id=handoff_id, **args)


def _accepted_unchecked(engine: Engine) -> int:
    handoff = handoff_in_state(engine, "requested")
    with session_scope(engine) as s:
        transition(s, actor="bob", handoff_id=handoff.id, action="accept", now=T0)
    return handoff.id


def test_a_confirmed_check_is_recorded_audited_and_accepts(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    done = _check(engine, handoff.id, method="phone", note="spoke to the tenant")
    assert done.state == "accepted"
    assert (done.address_checked_on, done.address_check_method) == (DAY, "phone")
    assert (done.address_check_outcome, done.address_checked_by) == ("confirmed", "bob")
    with Session(engine) as s:
        events = s.exec(
            select(AuditEvent).where(AuditEvent.entity_id == str(handoff.id)).order_by("id")
        ).all()
    assert [e.action for e in events][-2:] == ["handoff.address_check", "handoff.accept"]
    check = events[-2]
    assert check.category == "alteration" and (check.details or {})["method"] == "phone"
    assert "spoke to the tenant" in str((events[-1].details or {})["note"])


def test_completion_needs_a_confirmed_check(engine: Engine) -> None:
    handoff_id = _accepted_unchecked(engine)
    with Session(engine) as s:
        verdicts = permitted_actions(s, actor="bob", handoff_id=handoff_id)
    assert not verdicts.may("complete") and verdicts.may("check")
    assert "the address check is not recorded as confirmed" in verdicts.reason("complete")
    with (
        pytest.raises(ConflictError, match="address check is not recorded as confirmed"),
        session_scope(engine) as s,
    ):
        transition(s, actor="bob", handoff_id=handoff_id, action="complete")
    _check(engine, handoff_id)
    with Session(engine) as s:
        assert permitted_actions(s, actor="bob", handoff_id=handoff_id).may("complete")
    with session_scope(engine) as s:
        done = transition(s, actor="bob", handoff_id=handoff_id, action="complete")
    assert done.state == "completed"
    with Session(engine) as s:
        after = permitted_actions(s, actor="bob", handoff_id=handoff_id)
    assert not after.may("check") and "completed" in after.reason("check")


@pytest.mark.parametrize(
    ("outcome", "words"), [("not_confirmed", "not confirmed"), ("not_there", "not there")]
)
def test_a_negative_check_routes_back_as_a_rejection(
    engine: Engine, outcome: str, words: str
) -> None:
    handoff = handoff_in_state(engine, "requested")
    done = _check(engine, handoff.id, outcome=outcome, method="partner", note="flat is empty")
    assert done.state == "rejected" and done.escalated
    assert done.rejection_reason is not None
    assert f"Address check: {words} (partner agency on {DAY})" in done.rejection_reason
    assert "flat is empty" in done.rejection_reason
    with Session(engine) as s:
        escalation = s.exec(select(Escalation).where(Escalation.handoff_id == handoff.id)).one()
    assert escalation.state == "open"


def test_an_accepted_handoff_whose_check_fails_goes_back_too(engine: Engine) -> None:
    handoff_id = _accepted_unchecked(engine)
    assert _check(engine, handoff_id, outcome="not_there").state == "rejected"


def test_only_the_receiving_side_records_the_check(engine: Engine) -> None:
    world = build_world(engine)
    with Session(engine) as s:
        assert not permitted_actions(s, actor="city.om", handoff_id=world.handoff).may("check")
        assert permitted_actions(s, actor="met.om", handoff_id=world.handoff).may("check")
    with pytest.raises(AccessDeniedError, match="only the receiving force can"):
        _check(engine, world.handoff, actor="city.om", checked_on=london_today(), now=None)
    done = _check(engine, world.handoff, actor="met.om", checked_on=london_today(), now=None)
    assert done.address_checked_by == "met.om"


def test_date_method_outcome_and_state_rules(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    with pytest.raises(InputError, match="in the future"):
        _check(engine, handoff.id, checked_on=DAY + timedelta(days=1))
    with pytest.raises(InputError, match="before the request"):
        _check(engine, handoff.id, checked_on=DAY - timedelta(days=1))
    with pytest.raises(InputError, match="Unknown check method"):
        _check(engine, handoff.id, method="email")
    with pytest.raises(InputError, match="Unknown check outcome"):
        _check(engine, handoff.id, outcome="maybe")
    proposed = handoff_in_state(engine, "proposed")
    with pytest.raises(ConflictError, match="only a requested or accepted handoff is checked"):
        _check(engine, proposed.id)


def test_the_deadline_and_rag_follow_the_step(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    late = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)  # the address check was due on 13 March
    with Session(engine) as s:
        view = get_handoff_view(s, handoff.id, actor="system:test", today=late.date())
    assert (view.due_kind, view.rag, view.overdue) == ("address check", "red", True)
    done = _check(engine, handoff.id, checked_on=late.date(), now=late)
    assert current_deadline(done.state, done.address_check_due, done.completion_due) == (
        done.completion_due,
        "completion",
    )
    with Session(engine) as s:
        view = get_handoff_view(s, handoff.id, actor="system:test", today=late.date())
    assert (view.due_kind, view.overdue) == ("completion", False)


def _records(engine: Engine) -> list[network.HandoffRecord]:
    with Session(engine) as s:
        return network.fetch_handoff_records(
            s, start=DAY, end=DAY + timedelta(days=1), actor="system:test"
        )


def test_the_network_counts_a_lapsed_address_check_as_overdue(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "requested")
    before_check_due = DAY + timedelta(days=5)
    after_check_due = DAY + timedelta(days=12)  # before the completion is due (31 March)
    g = network.build_network_from_records(_records(engine), today=before_check_due)
    assert sum(d["overdue"] for *_, d in g.edges(data=True)) == 0
    g = network.build_network_from_records(_records(engine), today=after_check_due)
    assert sum(d["overdue"] for *_, d in g.edges(data=True)) == 1
    _check(engine, handoff.id, checked_on=DAY + timedelta(days=11), now=T0 + timedelta(days=11))
    g = network.build_network_from_records(_records(engine), today=after_check_due)
    assert sum(d["overdue"] for *_, d in g.edges(data=True)) == 0


def test_cli_records_the_check(engine: Engine, cli: Any) -> None:
    handoff = handoff_in_state(engine, "requested")
    today = datetime.now(UTC).date().isoformat()
    args = ("handoffs", "check", str(handoff.id), "--on", today, "--method", "visit")
    code, _, err = cli(*args, "--outcome", "maybe")
    assert code == 2 and "maybe" in err
    code, out, _ = cli(*args, "--outcome", "confirmed", "--note", "seen at home")
    assert code == 0, out
    assert "address check: confirmed (home visit on" in out and "requested → accepted" in out
    code, out, _ = cli("handoffs", "show", str(handoff.id))
    assert f"Checked    {today}: confirmed (visit, cli.user)" in out
    with Session(engine) as s:
        row = s.get(Handoff, handoff.id)
        assert row is not None and row.address_check_outcome == "confirmed"
    code, out, _ = cli("handoffs", "complete", str(handoff.id))
    assert code == 0 and "completed" in out


def test_the_factory_confirms_before_completing(engine: Engine) -> None:
    handoff = handoff_in_state(engine, "accepted")
    assert handoff.address_check_outcome == "confirmed"
    with session_scope(engine) as s:
        confirm_address(s, handoff.id, now=T0)  # recording again replaces it
