"""Two people act on the same handoff or case at once: exactly one wins (optimistic locking).

Threads with separate sessions on a SQLite file and on a real PostgreSQL database. The loser gets
"… was changed by NAME at TIME; reload".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.core.db import session_scope
from coordination.core.locking import flush_or_conflict, load_for_update
from coordination.errors import ConflictError
from coordination.handoffs.workflow import get_handoff, transition
from coordination.models import AuditEvent, Case
from geo.forces import CITY_OF_LONDON, METROPOLITAN
from tests.factories import handoff_in_state, new_case

ROUNDS = 4


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread, released at the same moment; return results/errors."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 - the test inspects what each thread met
            results[index] = error

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a thread hung: lock wait never ended"
    return results


def one_winner(results: list[Any], names: list[str]) -> tuple[int, ConflictError]:
    """Assert exactly one result succeeded and the other lost with "changed by <winner>"."""
    errors = [r for r in results if isinstance(r, BaseException)]
    winners = [i for i, r in enumerate(results) if not isinstance(r, BaseException)]
    assert len(winners) == 1, f"expected exactly one winner, got {results!r}"
    assert len(errors) == 1 and isinstance(errors[0], ConflictError), results
    message = str(errors[0])
    assert f"was changed by {names[winners[0]]} at " in message, message
    assert message.endswith("; reload"), message
    return winners[0], errors[0]


def _act(engine: Engine, actor: str, handoff_id: int, action: str, version: int) -> Any:
    def call() -> Any:
        with session_scope(engine) as session:
            return transition(
                session,
                actor=actor,
                handoff_id=handoff_id,
                action=action,  # type: ignore[arg-type]
                note="address not verified" if action == "reject" else None,
                expected_version=version,
            )

    return call


@pytest.mark.parametrize(
    ("state", "first", "second"),
    [
        ("requested", "accept", "withdraw"),
        ("accepted", "complete", "complete"),
        ("requested", "accept", "reject"),
    ],
)
def test_two_actors_on_one_handoff(engine: Engine, state: str, first: str, second: str) -> None:
    expected = {"accept": "accepted", "withdraw": "withdrawn", "complete": "completed"}
    expected["reject"] = "rejected"
    for _ in range(ROUNDS):
        handoff = handoff_in_state(engine, state)
        with Session(engine) as session:
            seen = get_handoff(
                session, handoff.id, actor="system:test"
            ).version  # both people see the same page
        names = ["alice", "bob"]
        results = run_together(
            _act(engine, "alice", handoff.id, first, seen),
            _act(engine, "bob", handoff.id, second, seen),
        )
        winner, _ = one_winner(results, names)
        won_action = (first, second)[winner]
        with Session(engine) as session:
            now = get_handoff(session, handoff.id, actor="system:test")
            assert now.state == expected[won_action]
            assert now.version == seen + 1
            assert now.updated_by == names[winner]
            case = session.get(Case, handoff.case_id)
            assert case is not None
            assert case.lead_force_code == (
                METROPOLITAN if won_action == "complete" else CITY_OF_LONDON
            )
            # Only the winner's action reached the audit log.
            actions = session.exec(
                select(AuditEvent.action).where(
                    AuditEvent.entity_type == "handoff",
                    AuditEvent.entity_id == str(handoff.id),
                    col(AuditEvent.action).in_([f"handoff.{first}", f"handoff.{second}"]),
                )
            ).all()
            assert actions == [f"handoff.{won_action}"]
            if won_action == "complete":
                moves = session.exec(
                    select(AuditEvent).where(
                        AuditEvent.action == "case.lead_force",
                        AuditEvent.entity_id == str(case.id),
                    )
                ).all()
                assert len(moves) == 1


def _update_case(
    engine: Engine,
    actor: str,
    case_id: int,
    risk: str,
    *,
    locked: bool,
    both_read: threading.Barrier,
) -> Any:
    """One person's edit of a case: read it, wait until the other has read it too, change it."""

    def call() -> Any:
        with session_scope(engine) as session:
            found = session.get(Case, case_id)
            assert found is not None
            version = found.version
            both_read.wait(timeout=10)
            if locked:
                # The service way: lock the row and check the version the person saw.
                case = load_for_update(
                    session, Case, case_id, label=f"Case {case_id}", expected_version=version
                )
            else:
                # Plain read, no row lock: the race is decided by the version in the UPDATE.
                case = found
            case.risk = risk  # type: ignore[assignment]
            case.updated_by = actor
            flush_or_conflict(session, case, label=f"Case {case_id}")
            return risk

    return call


@pytest.mark.parametrize("locked", [False, True], ids=["version-in-update", "row-lock"])
def test_two_concurrent_updates_of_one_case(engine: Engine, locked: bool) -> None:
    for _ in range(ROUNDS):
        case_id = new_case(engine)
        both_read = threading.Barrier(2)
        results = run_together(
            _update_case(engine, "alice", case_id, "high", locked=locked, both_read=both_read),
            _update_case(engine, "bob", case_id, "very_high", locked=locked, both_read=both_read),
        )
        winner, _ = one_winner(results, ["alice", "bob"])
        with Session(engine) as session:
            case = session.get(Case, case_id)
            assert case is not None
            assert case.risk == results[winner]
            assert case.version == 2


def test_stale_write_after_the_other_committed(engine: Engine) -> None:
    """Deterministic interleaving: both read, one commits, the other's flush loses."""
    case_id = new_case(engine)
    first = Session(engine)
    second = Session(engine)
    try:
        mine = first.get(Case, case_id)
        theirs = second.get(Case, case_id)
        assert mine is not None and theirs is not None
        mine.risk = "high"
        mine.updated_by = "alice"
        flush_or_conflict(first, mine, label=f"Case {case_id}")
        first.commit()
        theirs.risk = "low"
        theirs.updated_by = "bob"
        with pytest.raises(ConflictError, match=f"Case {case_id} was changed by alice at "):
            flush_or_conflict(second, theirs, label=f"Case {case_id}")
        second.rollback()
    finally:
        first.close()
        second.close()
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.risk == "high" and case.version == 2
