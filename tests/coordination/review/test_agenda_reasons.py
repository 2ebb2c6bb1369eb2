"""The agenda reasons about what changed since the last meeting, on SQLite and PostgreSQL.

A handoff rejected (and no longer escalated), an agreed exception due for review, risk of serious
harm or MAPPA level changed, and a case closed (for the record: the only reason a closed case
has). Each world is built through the services, so the history rows are the real ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.cases import updates
from coordination.core.db import session_scope
from coordination.handoffs import escalations
from coordination.handoffs.workflow import create_handoff, transition
from coordination.models import Escalation
from coordination.review.agenda import add_item, generate_agenda
from coordination.review.meetings import create_meeting, set_meeting_status
from coordination.review.sections import REASON_HEADINGS
from coordination.review.views import AgendaItemView
from geo.forces import CITY_OF_LONDON as CITY
from geo.forces import METROPOLITAN as MET
from tests.factories import Home, codes, person, texts

SYSTEM = "system:test"
LONG_AGO = date(2020, 1, 1)
LAST = date(2026, 11, 16)  # the last meeting of the same forces, a Monday
DAY = date(2026, 12, 14)  # this meeting; the next is assumed 28 days on, 11 January 2027
TODAY = date(2026, 12, 8)  # the day the agenda is generated
IN_MET = (Home(LONG_AGO, MET),)
IN_CITY = (Home(LONG_AGO, CITY),)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def meeting(engine: Engine, day: date) -> int:
    with session_scope(engine) as s:
        return create_meeting(
            s,
            actor="alice",
            title="City–Met joint review",
            meeting_date=day,
            chair="Chief Inspector Example",
            attendees=["alice", "bob"],
            forces=(CITY, MET),
            now=at(LONG_AGO),
        ).id


def agenda(engine: Engine, meeting_id: int, today: date = TODAY) -> list[AgendaItemView]:
    with session_scope(engine) as s:
        return generate_agenda(s, actor="alice", meeting_id=meeting_id, today=today, now=at(today))


def cases(engine: Engine, n: int, **kwargs: object) -> list[int]:
    with session_scope(engine) as s:
        return [person(s, **kwargs) for _ in range(n)]  # type: ignore[arg-type]


def rejected(engine: Engine, case_id: int, on: date, note: str = "address not verified") -> int:
    with session_scope(engine) as s:
        h = create_handoff(
            s, actor=SYSTEM, case_id=case_id, to_force_code=MET, reason="moved", now=at(on, 9)
        )
        transition(s, actor=SYSTEM, handoff_id=h.id, action="reject", note=note, now=at(on))
    return h.id


def exception(engine: Engine, case_id: int, on: date, review_on: date, reason: str) -> None:
    with session_scope(engine) as s:
        esc = s.exec(
            select(Escalation).where(Escalation.case_id == case_id, Escalation.state == "open")
        ).one()
        escalations.record_exception(
            s,
            actor=SYSTEM,
            escalation_id=int(esc.id or 0),
            reason=reason,
            review_on=review_on,
            now=at(on),
        )


def test_every_new_reason_has_a_heading() -> None:
    for code in ("handoff_rejected", "exception_review", "risk_changed", "case_closed"):
        assert REASON_HEADINGS[code] != code


def test_a_rejected_handoff_since_the_last_meeting_is_listed_once_not_escalated(
    engine: Engine,
) -> None:
    meeting(engine, LAST)
    m = meeting(engine, DAY)
    recent, old = cases(engine, 2, homes=IN_MET)
    handoff_id = rejected(engine, recent, date(2026, 11, 28))
    rejected(engine, old, date(2026, 11, 10))  # before the last meeting

    # Still escalated (whenever rejected): the open escalation says it, not the rejection too.
    items = agenda(engine, m)
    assert codes(items) == {recent: ("open_escalation",), old: ("open_escalation",)}

    # Resolved by an exception (reviewed long after the next meeting): the rejection now shows.
    exception(engine, recent, date(2026, 11, 30), date(2027, 3, 1), "stays with the City")
    exception(engine, old, date(2026, 11, 11), date(2027, 3, 1), "stays with the City")
    items = agenda(engine, m)
    assert codes(items) == {recent: ("handoff_rejected",)}
    assert texts(items, recent) == [
        f"Handoff {handoff_id} to the Metropolitan Police Service was rejected on 28 Nov 2026: "
        "address not verified"
    ]


def test_an_exception_due_before_the_next_meeting_or_past_its_review(engine: Engine) -> None:
    meeting(engine, LAST)
    m = meeting(engine, DAY)
    due, lapsed, later = cases(engine, 3, homes=IN_MET)
    for case_id in (due, lapsed, later):
        rejected(engine, case_id, date(2026, 10, 1))
    exception(engine, due, date(2026, 11, 3), date(2026, 12, 10), "carer in the City")
    exception(engine, lapsed, date(2026, 10, 2), date(2026, 12, 1), "court order")
    exception(engine, later, date(2026, 11, 3), date(2027, 1, 11), "on the next meeting's day")

    items = agenda(engine, m)
    assert codes(items) == {due: ("exception_review",), lapsed: ("exception_review",)}
    assert texts(items, due) == [
        "Exception agreed 3 Nov 2026 (reason: carer in the City) is due for review on 10 Dec 2026"
    ]
    assert texts(items, lapsed) == [
        "Exception agreed 2 Oct 2026 (reason: court order) was due for review on 1 Dec 2026 "
        "(7 days overdue)"
    ]


def test_risk_and_mappa_changes_since_the_last_meeting(engine: Engine) -> None:
    meeting(engine, LAST)
    m = meeting(engine, DAY)
    raised, lowered_before, city_only = cases(engine, 3, homes=IN_MET)
    with session_scope(engine) as s:
        # Lives in the City and led by the City: the City's business, not the joint meeting's.
        city_only = person(s, homes=IN_CITY)
        mappa = person(s, homes=IN_MET, programme="mappa", mappa_level=1)
    with session_scope(engine) as s:
        updates.update_risk(
            s, actor=SYSTEM, case_id=raised, risk="very high", assessed_on=date(2026, 12, 2),
            now=at(date(2026, 12, 2)),
        )  # fmt: skip
        updates.update_risk(
            s, actor=SYSTEM, case_id=lowered_before, risk="low", assessed_on=date(2026, 11, 10),
            now=at(date(2026, 11, 10)),
        )  # fmt: skip
        updates.update_risk(
            s, actor=SYSTEM, case_id=city_only, risk="low", now=at(date(2026, 12, 2))
        )
        updates.update_mappa(
            s, actor=SYSTEM, case_id=mappa, level=2, changed_on=date(2026, 12, 3),
            now=at(date(2026, 12, 3)),
        )  # fmt: skip

    items = agenda(engine, m)
    found = codes(items)
    assert set(found) == {raised, mappa}
    assert "risk_changed" in found[raised] and "risk_changed" in found[mappa]
    risk_text = [t for t in texts(items, raised) if t.startswith("Risk of serious harm")]
    assert risk_text == ["Risk of serious harm changed from Medium to Very high on 2 Dec 2026"]
    assert "MAPPA level changed from 1 to 2 on 3 Dec 2026" in texts(items, mappa)


def test_several_risk_changes_are_said_as_one_and_an_undone_one_not_at_all(
    engine: Engine,
) -> None:
    meeting(engine, LAST)
    m = meeting(engine, DAY)
    twice, undone = cases(engine, 2, homes=IN_MET, risk="low")
    with session_scope(engine) as s:
        for case_id, steps in ((twice, ("medium", "high")), (undone, ("medium", "low"))):
            for i, risk in enumerate(steps):
                day = date(2026, 11, 20 + i)
                updates.update_risk(
                    s, actor=SYSTEM, case_id=case_id, risk=risk, assessed_on=day, now=at(day)
                )
    items = agenda(engine, m)
    assert undone not in codes(items)
    assert "Risk of serious harm changed from Low to High on 21 Nov 2026" in texts(items, twice)


def test_without_an_earlier_meeting_changes_are_looked_for_over_90_days(engine: Engine) -> None:
    m = meeting(engine, DAY)
    recent, too_old = cases(engine, 2, homes=IN_MET)
    with session_scope(engine) as s:
        for case_id, day in ((recent, date(2026, 10, 1)), (too_old, date(2026, 9, 1))):
            updates.update_risk(
                s, actor=SYSTEM, case_id=case_id, risk="low", assessed_on=day, now=at(day)
            )
    items = agenda(engine, m)
    assert codes(items) == {recent: ("risk_changed",)}
    assert texts(items, recent) == ["Risk of serious harm changed from Medium to Low on 1 Oct 2026"]


def test_a_closed_case_is_listed_only_as_closed_and_only_once(engine: Engine) -> None:
    last = meeting(engine, LAST)
    m = meeting(engine, DAY)
    # High risk and living in the Met: high_risk_joint while open; its risk also changed.
    closed, closed_before = cases(engine, 2, homes=IN_MET, risk="high")
    with session_scope(engine) as s:
        followed = person(s, homes=IN_CITY)  # City only, but on the last meeting's agenda
        unrelated = person(s, homes=IN_CITY)  # City only and never discussed jointly
        add_item(
            s, actor="alice", meeting_id=last, case_id=followed, reason="asked by the Met",
            today=LAST, now=at(LAST),
        )  # fmt: skip
    with session_scope(engine) as s:
        updates.update_risk(
            s, actor=SYSTEM, case_id=closed, risk="very high", assessed_on=date(2026, 11, 20),
            now=at(date(2026, 11, 20)),
        )  # fmt: skip
        for case_id, day, reason in (
            (closed, date(2026, 12, 1), "sentence_ended"),
            (closed_before, date(2026, 11, 10), "deceased"),
            (followed, date(2026, 12, 2), "moved_out"),
            (unrelated, date(2026, 12, 2), "deceased"),
        ):
            updates.close_case(s, actor=SYSTEM, case_id=case_id, reason=reason, now=at(day))

    items = agenda(engine, m)
    assert codes(items) == {closed: ("case_closed",), followed: ("case_closed",)}
    assert texts(items, closed) == ["Case closed 1 Dec 2026: sentence or licence ended"]
    assert texts(items, followed) == ["Case closed 2 Dec 2026: moved out of the coordinated area"]

    # The next meeting of the same forces: closed before this one, so not listed again.
    with session_scope(engine) as s:
        set_meeting_status(s, actor="alice", meeting_id=m, status="held", now=at(DAY))
    following = meeting(engine, date(2027, 1, 11))
    assert codes(agenda(engine, following, today=date(2027, 1, 5))) == {}


def test_a_reopened_case_is_not_listed_as_closed(engine: Engine) -> None:
    meeting(engine, LAST)
    m = meeting(engine, DAY)
    [case_id] = cases(engine, 1, homes=IN_MET)
    with session_scope(engine) as s:
        updates.close_case(s, actor=SYSTEM, case_id=case_id, reason="deceased", now=at(TODAY))
        updates.reopen_case(s, actor=SYSTEM, case_id=case_id, reason="recorded in error")
    assert case_id not in codes(agenda(engine, m))
    with Session(engine) as s:
        from coordination.models import CaseEvent

        kinds = s.exec(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
        ).all()
    assert kinds == ["close", "reopen"]


def test_force_names_take_the_article_people_use() -> None:
    from coordination.review.agenda_rules import _force_phrase

    assert _force_phrase("Metropolitan Police Service") == "the Metropolitan Police Service"
    assert _force_phrase("City of London Police") == "the City of London Police"
    assert _force_phrase("Kent Police") == "Kent Police"
