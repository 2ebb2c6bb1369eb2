"""Joint review meetings (coordination.review), on SQLite and PostgreSQL.

Each agenda rule gets a small world of its own: cases that should match and near misses that must
not, so every test asserts the *whole* agenda (what it selects and nothing else). Cases are made
with tests.factories and direct table rows; all people are synthetic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.core.db import session_scope
from coordination.core.settings import Settings
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.handoffs.workflow import (
    create_handoff,
    get_handoff,
    open_handoff_for_case,
    transition,
)
from coordination.models import Address, AuditEvent, Case, Handoff
from coordination.review.actions import add_action, open_actions, set_action_status
from coordination.review.agenda import add_item, generate_agenda, move_item, remove_item
from coordination.review.decisions import record_decision
from coordination.review.meetings import (
    create_meeting,
    get_meeting,
    list_meetings,
    set_meeting_status,
)
from coordination.review.scoring import PriorityWeights, priority_score
from coordination.review.views import AgendaItemView
from geo.forces import CITY_OF_LONDON as CITY
from geo.forces import METROPOLITAN as MET
from tests.factories import Home, codes, person, texts

KENT = "E23000032"
DAY = date(2025, 3, 10)  # the meeting, a Monday
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
#: When actions that are overdue at NOW were agreed (an action cannot be due before that).
AGREED = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
LONG_AGO = date(2020, 1, 1)
LAST_MEETING = date(2025, 2, 10)


# --- building worlds ------------------------------------------------------------------------------


def meeting(
    engine: Engine, *, day: date = DAY, forces: tuple[str, ...] = (CITY, MET), status: str = ""
) -> int:
    with session_scope(engine) as session:
        m = create_meeting(
            session,
            actor="alice",
            title="City–Met joint review",
            meeting_date=day,
            chair="Chief Inspector Example",
            attendees=["alice", "bob"],
            forces=forces,
            now=NOW,
        )
        for step in ("held", "closed")[: ("held", "closed").index(status) + 1] if status else ():
            set_meeting_status(session, actor="alice", meeting_id=m.id, status=step, now=NOW)
        return m.id


def agenda(engine: Engine, meeting_id: int, **kwargs: object) -> list[AgendaItemView]:
    with session_scope(engine) as session:
        return generate_agenda(
            session,
            actor="alice",
            meeting_id=meeting_id,
            today=kwargs.pop("today", DAY),  # type: ignore[arg-type]
            now=NOW,
            **kwargs,  # type: ignore[arg-type]
        )


def handoff(session: Session, case_id: int, to: str, *, on: datetime, request: bool = True) -> int:
    return create_handoff(
        session,
        actor="alice",
        case_id=case_id,
        to_force_code=to,
        reason="moved",
        request=request,
        now=on,
    ).id


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            ).all()
        )


# --- the rules, one world each --------------------------------------------------------------------


def test_handoff_rule_selects_open_handoffs_between_the_meeting_forces(engine: Engine) -> None:
    with session_scope(engine) as s:
        pending = person(s, lead=CITY)
        handoff(s, pending, MET, on=datetime(2025, 3, 3, 9, tzinfo=UTC))  # check due 2025-03-13
        overdue = person(s, lead=MET)
        handoff(s, overdue, CITY, on=datetime(2025, 2, 3, 9, tzinfo=UTC))  # check due 2025-02-13
        proposed = person(s, lead=CITY)
        handoff(s, proposed, MET, on=NOW, request=False)
        # Near misses: another force's handoff, a closed handoff, a closed case.
        to_kent = person(s, lead=CITY)
        handoff(s, to_kent, KENT, on=NOW)
        withdrawn = person(s, lead=CITY)
        hid = handoff(s, withdrawn, MET, on=NOW)
        transition(s, actor="bob", handoff_id=hid, action="withdraw", now=NOW)
        closed = person(s, lead=CITY)
        handoff(s, closed, MET, on=NOW)
        row = s.get(Case, closed)
        assert row is not None
        row.status = "closed"  # type: ignore[assignment]

    items = agenda(engine, meeting(engine))
    assert codes(items) == {
        pending: ("handoff_pending",),
        overdue: ("handoff_overdue",),
        proposed: ("handoff_pending",),
    }
    assert texts(items, overdue)[0].endswith(
        "City of London Police is overdue by 25 days (address check was due 2025-02-13)"
    )
    assert texts(items, pending)[0].endswith("is requested; address check due 2025-03-13")
    assert texts(items, proposed)[0].endswith("is proposed, not yet requested")

    # The City–Kent handoff belongs on a City–Kent agenda, and only that one.
    assert codes(agenda(engine, meeting(engine, forces=(KENT, CITY)))) == {
        to_kent: ("handoff_pending",)
    }


def test_crossed_boundary_rule_counts_moves_since_the_last_meeting(engine: Engine) -> None:
    meeting(engine, day=LAST_MEETING)
    meeting(engine, day=date(2025, 3, 1), forces=(CITY, KENT))  # other forces: not "last"
    with session_scope(engine) as s:
        moved = person(s, lead=CITY, homes=(Home(LONG_AGO, CITY), Home(date(2025, 2, 20), MET)))
        on_the_day = person(s, lead=MET, homes=(Home(LONG_AGO, MET), Home(LAST_MEETING, CITY)))
        # Near misses.
        before = person(s, lead=CITY, homes=(Home(LONG_AGO, CITY), Home(date(2025, 2, 9), MET)))
        person(s, lead=MET, homes=(Home(LONG_AGO, MET), Home(date(2025, 2, 20), KENT)))
        person(s, lead=MET, homes=(Home(LONG_AGO, MET), Home(date(2025, 2, 20), MET)))
        person(s, lead=CITY, homes=(Home(LONG_AGO, KENT), Home(date(2025, 2, 20), MET)))
        person(s, lead=KENT, homes=(Home(LONG_AGO, CITY), Home(date(2025, 2, 20), MET)))
        person(
            s,
            lead=CITY,
            status="closed",
            homes=(Home(LONG_AGO, CITY), Home(date(2025, 2, 20), MET)),
        )

    items = agenda(engine, meeting(engine))
    assert codes(items) == {moved: ("crossed_boundary",), on_the_day: ("crossed_boundary",)}
    assert texts(items, moved) == [
        "Moved from City of London Police to Metropolitan Police Service on 2025-02-20 (E1 6AN)"
    ]
    assert before not in codes(items)


def test_crossed_boundary_without_an_earlier_meeting_looks_back_90_days(engine: Engine) -> None:
    with session_scope(engine) as s:
        recent = person(s, homes=(Home(LONG_AGO, CITY), Home(date(2024, 12, 10), MET)))
        person(s, homes=(Home(LONG_AGO, CITY), Home(date(2024, 12, 9), MET)))  # 91 days
    assert codes(agenda(engine, meeting(engine))) == {recent: ("crossed_boundary",)}


def test_near_boundary_rule_uses_the_stored_distance(engine: Engine) -> None:
    with session_scope(engine) as s:
        near = person(s, lead=CITY, homes=(Home(LONG_AGO, MET, 40),))
        flagged = person(s, lead=MET, homes=(Home(LONG_AGO, CITY, None, flagged=True),))
        # Near misses.
        at_150 = person(s, lead=MET, homes=(Home(LONG_AGO, MET, 150),))
        person(s, lead=MET, homes=(Home(LONG_AGO, KENT, 20),))  # lives outside the meeting
        person(s, lead=KENT, homes=(Home(LONG_AGO, MET, 30),))  # led from outside
        person(s, lead=MET, homes=(Home(LONG_AGO, MET, 10), Home(date(2024, 1, 1), MET, 900)))
        person(s, lead=MET, status="closed", homes=(Home(LONG_AGO, MET, 10),))

    items = agenda(engine, meeting(engine))
    assert codes(items) == {near: ("near_boundary",), flagged: ("near_boundary",)}
    assert texts(items, near) == [
        "Lives in Metropolitan Police Service (E1 6AN), 40 m from a force boundary: "
        "responsibility may be unclear"
    ]
    assert "on a force boundary" in texts(items, flagged)[0]
    # The distance is a parameter.
    wider = agenda(engine, meeting(engine, day=date(2025, 3, 11)), near_boundary_m=200.0)
    assert set(codes(wider)) == {near, flagged, at_150}


def test_near_boundary_must_be_with_another_meeting_force(engine: Engine) -> None:
    """With force areas loaded, a boundary with a force not at the meeting does not count."""
    from coordination.reference.boundaries import activate, store_layers
    from tests.factories import make_tiny_layers

    with session_scope(engine) as s:
        store_layers(s, actor="pytest", layers=make_tiny_layers(), checksum="tiny")
        activate(s, actor="pytest", name="tiny")
        # The tiny Met square is x 531000-532000; the City is x 530000-531000.
        by_city = person(s, lead=MET, homes=(Home(LONG_AGO, MET, 40, 531040.0, 180500.0),))
        person(s, lead=MET, homes=(Home(LONG_AGO, MET, 40, 531960.0, 180500.0),))
    items = agenda(engine, meeting(engine))
    assert codes(items) == {by_city: ("near_boundary",)}
    assert "40 m from the boundary with City of London Police" in texts(items, by_city)[0]


def test_high_risk_joint_rule_needs_both_forces(engine: Engine) -> None:
    far = Home(LONG_AGO, MET)
    with session_scope(engine) as s:
        very_high = person(s, lead=CITY, risk="very_high", homes=(far,))
        mappa = person(s, lead=MET, programme="mappa", mappa_level=2)
        hid = handoff(s, mappa, CITY, on=datetime(2025, 3, 3, 9, tzinfo=UTC))
        # Near misses.
        person(s, lead=CITY, risk="high", homes=(Home(LONG_AGO, CITY),))
        person(s, lead=CITY, risk="very_high", homes=(Home(LONG_AGO, KENT),))
        person(s, lead=CITY, risk="medium", homes=(far,))
        person(s, lead=KENT, risk="very_high", homes=(far,))
        person(s, lead=CITY, programme="mappa", mappa_level=1, homes=(far,))
        person(s, lead=CITY, risk="very_high", status="closed", homes=(far,))
        to_kent = person(s, lead=MET, risk="high")
        handoff(s, to_kent, KENT, on=NOW)

    items = agenda(engine, meeting(engine))
    assert codes(items) == {
        very_high: ("high_risk_joint",),
        mappa: ("handoff_pending", "high_risk_joint"),
    }
    assert texts(items, very_high) == [
        "Very high risk with both forces involved: City of London Police leads, lives in "
        "Metropolitan Police Service"
    ]
    assert texts(items, mappa)[1] == (
        "MAPPA level 2 with both forces involved: Metropolitan Police Service leads, handoff "
        f"{hid} to City of London Police is open"
    )


def test_review_due_rule_looks_to_the_next_meeting(engine: Engine) -> None:
    met = (Home(LONG_AGO, MET),)
    with session_scope(engine) as s:
        mid = person(s, review=date(2025, 3, 20), homes=met)
        late = person(s, review=date(2025, 4, 6), homes=met)
        overdue = person(s, review=date(2025, 2, 26), homes=met)
        # Near misses: on the next meeting's day, not joint, no review, led from outside.
        person(s, review=date(2025, 4, 7), homes=met)
        person(s, review=date(2025, 3, 20), homes=(Home(LONG_AGO, CITY),))
        person(s, homes=met)
        person(s, lead=KENT, review=date(2025, 3, 20), homes=met)

    m = meeting(engine)
    items = agenda(engine, m)
    # No later planned meeting: the next is assumed 28 days on, 2025-04-07.
    assert codes(items) == {mid: ("review_due",), late: ("review_due",), overdue: ("review_due",)}
    assert texts(items, mid) == [
        "Review due 2025-03-20, before the next meeting (2025-04-07); City of London Police "
        "leads, lives in Metropolitan Police Service"
    ]
    # Already late on the day of the meeting (2025-03-10): said as overdue, with by how much.
    assert texts(items, overdue) == [
        "Review 12 days overdue (was due 2025-02-26); City of London Police leads, lives in "
        "Metropolitan Police Service"
    ]
    # A later planned meeting of the same forces brings the horizon in.
    meeting(engine, day=date(2025, 3, 24))
    assert set(codes(agenda(engine, m))) == {mid, overdue}


def test_open_action_rule_carries_actions_over(engine: Engine) -> None:
    earlier = meeting(engine, day=LAST_MEETING)
    city_kent = meeting(engine, day=LAST_MEETING, forces=(CITY, KENT))
    later = meeting(engine, day=date(2025, 4, 7))
    with session_scope(engine) as s:
        carried = person(s)
        done = person(s)
        other_forces = person(s)
        from_later = person(s)
        a = add_action(
            s,
            actor="alice",
            meeting_id=earlier,
            description="Check the new address",
            owner="alice",
            due_date=date(2025, 3, 1),
            case_id=carried,
            now=AGREED,
        ).id
        b = add_action(
            s, actor="alice", meeting_id=earlier, description="x", owner="bob", due_date=None,
            case_id=done, now=NOW,
        ).id  # fmt: skip
        set_action_status(s, actor="bob", action_id=b, status="done", now=NOW)
        add_action(
            s, actor="alice", meeting_id=city_kent, description="y", owner="bob", due_date=None,
            case_id=other_forces, now=NOW,
        )  # fmt: skip
        add_action(
            s, actor="alice", meeting_id=later, description="z", owner="bob", due_date=None,
            case_id=from_later, now=NOW,
        )  # fmt: skip
        general = add_action(
            s, actor="alice", meeting_id=earlier, description="Share the rota", owner="carol",
            due_date=None, now=NOW,
        ).id  # fmt: skip

    m = meeting(engine)
    items = agenda(engine, m)
    assert codes(items) == {carried: ("open_action",)}
    assert texts(items, carried) == [
        f"Open action {a} from the meeting of 2025-02-10: 'Check the new address' "
        "(owner alice, due 2025-03-01)"
    ]
    with Session(engine) as s:
        detail = get_meeting(s, meeting_id=m, actor="system:test")
    assert [x.id for x in detail.carried_actions] == [a, general]
    assert detail.previous_meeting_date == LAST_MEETING
    assert detail.next_meeting_date == date(2025, 4, 7)

    # Done: it no longer carries over, and the item it brought goes.
    with session_scope(engine) as s:
        set_action_status(s, actor="alice", action_id=a, status="done", now=NOW)
    assert codes(agenda(engine, m)) == {}


# --- scores and order -----------------------------------------------------------------------------


def test_score_parts_by_hand(engine: Engine) -> None:
    with session_scope(engine) as s:
        case_id = person(
            s,
            lead=CITY,
            programme="mappa",
            mappa_level=2,
            risk="very_high",
            review=date(2025, 2, 26),  # 12 days overdue on 2025-03-10
            homes=(Home(LONG_AGO, MET),),
            born=date(2000, 1, 1),  # 25 at the meeting, 24 at conviction
            ogrs3=(5, 16, date(2024, 6, 1)),
        )
        unknown = person(s, risk="low", sex="not_known", homes=(Home(LONG_AGO, MET, 50),),
                         ogrs3=(5, 16, date(2024, 6, 1)))  # fmt: skip
    items = {i.case_id: i for i in agenda(engine, meeting(engine))}
    item = items[case_id]
    # OGRS3 two-year, as the first worked example of test_ogrs3:
    # copas = ln(6/18); z2 = 2.121705678 + 1.251124464·copas + 0.463062792 − 1.166679288
    #         − 0.12394352 = −0.0803550; P2 = 0.4799220.
    z2 = 2.121705678 + 1.251124464 * math.log(6 / 18) + 0.463062792 - 1.166679288 - 0.12394352
    p2 = math.exp(z2) / (1 + math.exp(z2))
    # risk: very high = the whole 30; MAPPA level 2 = 2/3 of 30; OGRS3 20 × P2; overdue 12 × 1.
    assert item.score_parts == {
        "risk": 30.0,
        "mappa": 20.0,
        "ogrs3": round(20 * p2, 2),
        "overdue": 12.0,
    }
    assert item.score_parts["ogrs3"] == 9.6
    assert item.score == 71.6
    assert item.ogrs3 is not None and item.ogrs3.two_year_pct == 47.99
    assert set(item.reason_codes) == {"high_risk_joint", "review_due"}
    # No OGRS3 for a person whose sex is not known: the part is 0 and the reason is shown.
    assert items[unknown].score_parts == {"risk": 0.0, "mappa": 0.0, "ogrs3": 0.0, "overdue": 0.0}
    assert items[unknown].ogrs3 is None
    assert "male and female only" in str(items[unknown].ogrs3_note)


def test_priority_score_weights_and_caps() -> None:
    weights = PriorityWeights(risk=10, mappa=0, ogrs3=100, overdue=2, overdue_cap_days=5)
    score, parts = priority_score(
        risk="high", mappa_level=3, ogrs3_two_year=0.5, overdue_days=40, weights=weights
    )
    # risk 2/3 × 10; MAPPA weight 0; OGRS3 weight capped at 20 → 10; overdue capped at 5 days × 2.
    assert parts == {"risk": 6.67, "mappa": 0.0, "ogrs3": 10.0, "overdue": 10.0}
    assert score == 26.67
    assert priority_score(
        risk="low", mappa_level=None, ogrs3_two_year=None, overdue_days=0, weights=PriorityWeights()
    ) == (0.0, {"risk": 0.0, "mappa": 0.0, "ogrs3": 0.0, "overdue": 0.0})
    # The setting itself is bounded: OGRS3 never outweighs risk or MAPPA by configuration.
    with pytest.raises(ValidationError):
        Settings(priority_weight_ogrs3=25)
    assert Settings(priority_weight_ogrs3=5).priority_weight_ogrs3 == 5


def test_weights_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_PRIORITY_WEIGHT_RISK", "12")
    monkeypatch.setenv("CROSSFORCE_PRIORITY_OVERDUE_CAP_DAYS", "3")
    reset_settings_cache()
    try:
        weights = PriorityWeights.from_settings()
    finally:
        monkeypatch.delenv("CROSSFORCE_PRIORITY_WEIGHT_RISK")
        monkeypatch.delenv("CROSSFORCE_PRIORITY_OVERDUE_CAP_DAYS")
        reset_settings_cache()
    assert (weights.risk, weights.overdue_cap_days, weights.ogrs3) == (12.0, 3, 20.0)


def test_order_add_remove_move_and_regenerate(engine: Engine) -> None:
    met = (Home(LONG_AGO, MET),)
    with session_scope(engine) as s:
        top = person(s, risk="very_high", homes=met)  # 30
        mid = person(s, risk="high", homes=met)  # 20
        low = person(s, lead=MET, homes=(Home(LONG_AGO, MET, 40),))  # near boundary, 10
        tie = person(s, lead=MET, homes=(Home(LONG_AGO, MET, 60),))  # 10: ties go by case id
        extra = person(s, risk="low")  # matches no rule
    m = meeting(engine)
    items = agenda(engine, m)
    assert [i.case_id for i in items] == [top, mid, low, tie]
    assert [i.position for i in items] == [1, 2, 3, 4]
    assert [i.score for i in items] == [30.0, 20.0, 10.0, 10.0]

    with session_scope(engine) as s:
        added = add_item(
            s, actor="bob", meeting_id=m, case_id=extra, reason="asked by the Met", today=DAY,
            now=NOW,
        )  # fmt: skip
        assert added.reasons == ({"code": "manual", "text": "Added by bob: asked by the Met"},)
        assert added.position == 5  # score 0: last
        with pytest.raises(ConflictError, match="already on the agenda"):
            add_item(s, actor="bob", meeting_id=m, case_id=extra, reason="again", now=NOW)
        with pytest.raises(InputError, match="needs a reason"):
            add_item(s, actor="bob", meeting_id=m, case_id=top, reason=" ", now=NOW)
        with pytest.raises(NotFoundError):
            add_item(s, actor="bob", meeting_id=m, case_id=99999, reason="x", now=NOW)
    item_of = {i.case_id: i.id for i in items}
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="needs a reason"):
            remove_item(s, actor="bob", item_id=item_of[mid], reason="")
        removed = remove_item(s, actor="bob", item_id=item_of[mid], reason="seen last week")
        assert removed.removed and removed.removed_reason == "seen last week"
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="use 1 to 4"):
            move_item(s, actor="bob", item_id=item_of[tie], position=5)
        with pytest.raises(ConflictError, match="is removed"):
            move_item(s, actor="bob", item_id=item_of[mid], position=1)
        moved = move_item(s, actor="bob", item_id=item_of[tie], position=1, now=NOW)
    assert [i.case_id for i in moved] == [tie, top, low, extra]

    # Regenerating keeps the removal, the manual addition and the people's order; a new case
    # is slotted in by score (before the first item scoring less).
    with session_scope(engine) as s:
        newcomer = person(s, risk="very_high", programme="mappa", mappa_level=3, homes=met)
    items = agenda(engine, m)
    assert [i.case_id for i in items] == [newcomer, tie, top, low, extra]
    assert [i.position for i in items] == [1, 2, 3, 4, 5]
    with Session(engine) as s:
        detail = get_meeting(s, meeting_id=m, actor="system:test")
    gone = [i for i in detail.items if i.removed]
    assert [(i.case_id, i.removed_reason, i.position) for i in gone] == [(mid, "seen last week", 6)]
    assert detail.items[4].reasons == (
        {"code": "manual", "text": "Added by bob: asked by the Met"},
    )

    # Putting a removed item back is an addition with a reason.
    with session_scope(engine) as s:
        back = add_item(
            s, actor="bob", meeting_id=m, case_id=mid, reason="new information", now=NOW
        )
    assert not back.removed and back.reason_codes == ("high_risk_joint", "manual")
    assert [e.action for e in events(engine, "agenda.move")] == ["agenda.move"]
    assert len(events(engine, "agenda.remove")) == 1
    assert len(events(engine, "agenda.add")) == 2


def test_regenerating_drops_items_that_no_longer_match(engine: Engine) -> None:
    with session_scope(engine) as s:
        going = person(s, risk="very_high", homes=(Home(LONG_AGO, MET),))
        decided = person(s, risk="very_high", homes=(Home(LONG_AGO, MET),))
    m = meeting(engine)
    items = {i.case_id: i for i in agenda(engine, m)}
    with session_scope(engine) as s:
        record_decision(s, actor="alice", item_id=items[decided].id, kind="retain", now=NOW)
        for case_id in (going, decided):
            row = s.get(Case, case_id)
            assert row is not None
            row.risk = "low"  # type: ignore[assignment]
    assert [i.case_id for i in agenda(engine, m)] == [decided]
    generated = events(engine, "agenda.generate")[-1]
    assert generated.details is not None
    assert generated.details["dropped_case_ids"] == [going]


# --- decisions ------------------------------------------------------------------------------------


def test_transfer_creates_or_advances_the_handoff(engine: Engine) -> None:
    met = (Home(LONG_AGO, MET),)
    with session_scope(engine) as s:
        fresh = person(s, risk="high", homes=met)
        proposed = person(s, risk="high", homes=met)
        handoff(s, proposed, MET, on=NOW, request=False)
        requested = person(s, risk="high", homes=met)
        requested_id = handoff(s, requested, MET, on=NOW)
        to_kent = person(s, risk="high", homes=met)
        handoff(s, to_kent, KENT, on=NOW)
    m = meeting(engine)
    item = {i.case_id: i.id for i in agenda(engine, m)}

    with session_scope(engine) as s:
        created = record_decision(
            s,
            actor="carol",
            item_id=item[fresh],
            kind="transfer",
            note="lives in Hackney now",
            target_force_code="e23000001",
            now=NOW,
        )
        assert (created.kind, created.target_force_code) == ("transfer", MET)
        assert created.target_force_name == "Metropolitan Police Service"
        assert created.handoff_state == "requested"
        opened = open_handoff_for_case(s, fresh, actor="system:test")
        assert opened is not None and created.handoff_id == opened.id  # the one it opened
        h = get_handoff(s, created.handoff_id, actor="system:test")
        assert (h.case_id, h.from_force_code, h.to_force_code) == (fresh, CITY, MET)
        home = s.exec(select(Address).join(Case, col(Case.offender_id) == Address.offender_id)
                      .where(Case.id == fresh)).one()  # fmt: skip
        assert h.address_id == home.id  # the residence in the receiving force
        assert h.reason.startswith(f"Transfer agreed at joint review meeting {m} (2025-03-10)")
        assert h.created_by == "carol"

        advanced = record_decision(
            s, actor="carol", item_id=item[proposed], kind="transfer", target_force_code=MET,
            now=NOW,
        )  # fmt: skip
        assert advanced.handoff_state == "requested"
        accepted = record_decision(
            s, actor="carol", item_id=item[requested], kind="transfer", target_force_code=MET,
            now=NOW,
        )  # fmt: skip
        assert (accepted.handoff_id, accepted.handoff_state) == (requested_id, "accepted")
        # Deciding again leaves an accepted handoff to complete through the workflow.
        again = record_decision(
            s, actor="carol", item_id=item[requested], kind="transfer", target_force_code=MET,
            now=NOW,
        )  # fmt: skip
        assert again.handoff_state == "accepted"
        assert again.id == accepted.id  # replaced, not duplicated

    with (
        session_scope(engine) as s,
        pytest.raises(ConflictError, match=r"open handoff \d+ to Kent Police: withdraw it"),
    ):
        record_decision(
            s, actor="carol", item_id=item[to_kent], kind="transfer", target_force_code=MET
        )
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="already led by City of London Police"):
            record_decision(
                s, actor="carol", item_id=item[to_kent], kind="transfer", target_force_code=CITY
            )
        with pytest.raises(InputError, match="needs the force it goes to"):
            record_decision(s, actor="carol", item_id=item[to_kent], kind="transfer")
        with pytest.raises(NotFoundError, match="No force"):
            record_decision(
                s, actor="carol", item_id=item[to_kent], kind="transfer", target_force_code="X1"
            )
        with pytest.raises(InputError, match="Unknown decision"):
            record_decision(s, actor="carol", item_id=item[to_kent], kind="banish")
        with pytest.raises(NotFoundError):
            record_decision(s, actor="carol", item_id=99999, kind="retain")

    # A decision replaced by another kind no longer points at the handoff, which stays open.
    with session_scope(engine) as s:
        retained = record_decision(
            s, actor="dave", item_id=item[fresh], kind="retain", note="stays", now=NOW
        )
        assert (retained.kind, retained.handoff_id, retained.note) == ("retain", None, "stays")
        assert s.exec(
            select(Handoff).where(Handoff.case_id == fresh, Handoff.state == "requested")
        ).one()

    decisions = events(engine, "review.decision")
    assert [e.actor for e in decisions] == ["carol"] * 4 + ["dave"]
    assert decisions[0].details is not None
    assert decisions[0].details["handoff_action"] == "create"
    assert decisions[2].details is not None
    assert decisions[2].details["handoff_action"] == "accept"
    assert decisions[-1].details is not None
    assert decisions[-1].details["replaced_kind"] == "transfer"
    with Session(engine) as s:
        detail = get_meeting(s, meeting_id=m, actor="system:test")
    shown = {i.case_id: i.decision for i in detail.items}
    assert shown[fresh] is not None and shown[fresh].kind == "retain"
    assert shown[requested] is not None and shown[requested].handoff_state == "accepted"
    assert shown[to_kent] is None


def test_decision_refused_on_a_stale_meeting_version_or_closed_meeting(engine: Engine) -> None:
    with session_scope(engine) as s:
        case_id = person(s, risk="very_high", homes=(Home(LONG_AGO, MET),))
    m = meeting(engine)
    [item] = agenda(engine, m)
    with Session(engine) as s:
        seen = get_meeting(s, meeting_id=m, actor="system:test").meeting.version
    with session_scope(engine) as s:
        record_decision(s, actor="alice", item_id=item.id, kind="joint", target_force_code=MET,
                        expected_version=seen, now=NOW)  # fmt: skip
    with (
        session_scope(engine) as s,
        pytest.raises(ConflictError, match=f"Meeting {m} was changed by alice"),
    ):
        record_decision(s, actor="bob", item_id=item.id, kind="nfa", expected_version=seen)
    with session_scope(engine) as s:
        set_meeting_status(s, actor="alice", meeting_id=m, status="held", now=NOW)
        set_meeting_status(s, actor="alice", meeting_id=m, status="closed", now=NOW)
    with session_scope(engine) as s, pytest.raises(ConflictError, match="is closed"):
        record_decision(s, actor="bob", item_id=item.id, kind="nfa")
    with session_scope(engine) as s, pytest.raises(ConflictError, match="is closed"):
        generate_agenda(s, actor="bob", meeting_id=m)
    with session_scope(engine) as s, pytest.raises(ConflictError, match="is closed"):
        add_action(s, actor="bob", meeting_id=m, description="x", owner="y", due_date=None)
    assert case_id == item.case_id


# --- meetings and actions -------------------------------------------------------------------------


def test_create_meeting_validates_and_sorts_forces(engine: Engine) -> None:
    with session_scope(engine) as s:
        m = create_meeting(
            s,
            actor="alice",
            title="  City–Met   review ",
            meeting_date=DAY,
            chair="Ch Insp Example",
            attendees=["alice", "bob", "alice", " "],
            forces=("e23000034", MET),
            now=NOW,
        )
        assert m.forces == [MET, CITY]
        assert (m.title, m.attendees, m.status) == ("City–Met review", ["alice", "bob"], "planned")
        bad: list[tuple[dict[str, object], type[Exception], str]] = [
            ({"forces": (CITY,)}, InputError, "two or more distinct forces"),
            ({"forces": (CITY, " e23000034")}, InputError, "two or more distinct forces"),
            ({"forces": (CITY, "E23999999")}, NotFoundError, "No force with code 'E23999999'"),
            ({"title": " "}, InputError, "needs a title"),
            ({"chair": ""}, InputError, "needs a chair"),
            ({"meeting_date": "2025-03-10"}, InputError, "must be a date"),
        ]
        for change, error, message in bad:
            kwargs: dict[str, object] = {
                "title": "t",
                "meeting_date": DAY,
                "chair": "c",
                "attendees": [],
                **change,
            }
            with pytest.raises(error, match=message):
                create_meeting(s, actor="alice", **kwargs)  # type: ignore[arg-type]
    (created,) = events(engine, "meeting.create")
    assert created.details is not None and created.details["forces"] == [MET, CITY]


def test_meeting_status_moves_one_way(engine: Engine) -> None:
    m = meeting(engine)
    with session_scope(engine) as s:
        with pytest.raises(ConflictError, match="can only become held, not closed"):
            set_meeting_status(s, actor="alice", meeting_id=m, status="closed")
        with pytest.raises(InputError, match="Unknown meeting status"):
            set_meeting_status(s, actor="alice", meeting_id=m, status="cancelled")
    with session_scope(engine) as s:
        held = set_meeting_status(s, actor="alice", meeting_id=m, status="held", now=NOW)
        assert held.status == "held"
        closed = set_meeting_status(s, actor="alice", meeting_id=m, status="closed", now=NOW)
        assert closed.version == held.version + 1
    with (
        session_scope(engine) as s,
        pytest.raises(ConflictError, match="nothing follows closed"),
    ):
        set_meeting_status(s, actor="alice", meeting_id=m, status="held")
    assert [e.details["to_status"] for e in events(engine, "meeting.status") if e.details] == [
        "held",
        "closed",
    ]


def test_actions_listing_and_status(engine: Engine) -> None:
    m = meeting(engine, day=LAST_MEETING)
    kent = meeting(engine, day=LAST_MEETING, forces=(CITY, KENT))
    with session_scope(engine) as s:
        case_id = person(s)
        first = add_action(
            s, actor="alice", meeting_id=m, description=" Check  address ", owner="Bob",
            due_date=date(2025, 3, 1), case_id=case_id, now=AGREED,
        )  # fmt: skip
        add_action(s, actor="alice", meeting_id=m, description="Undated", owner="bob",
                   due_date=None, now=NOW)  # fmt: skip
        add_action(s, actor="alice", meeting_id=kent, description="Kent", owner="carol",
                   due_date=date(2025, 2, 1), now=AGREED)  # fmt: skip
        assert first.description == "Check address"
        assert first.offender_name == "Testy McTestface"
        assert first.is_overdue(DAY) and not first.is_overdue(date(2025, 3, 1))
        with pytest.raises(InputError, match="needs a description"):
            add_action(s, actor="a", meeting_id=m, description=" ", owner="b", due_date=None)
        with pytest.raises(InputError, match="needs an owner"):
            add_action(s, actor="a", meeting_id=m, description="d", owner="", due_date=None)
        with pytest.raises(NotFoundError):
            add_action(s, actor="a", meeting_id=m, description="d", owner="o", due_date=None,
                       case_id=99999)  # fmt: skip
        with pytest.raises(InputError, match="is in the past"):
            add_action(s, actor="a", meeting_id=m, description="d", owner="o",
                       due_date=date(2025, 3, 9), now=NOW)  # fmt: skip
        today = add_action(s, actor="alice", meeting_id=m, description="Today", owner="bob",
                           due_date=date(2025, 3, 10), now=NOW)  # fmt: skip
        set_action_status(s, actor="bob", action_id=today.id, status="cancelled", now=NOW)
    with Session(engine) as s:
        assert [a.description for a in open_actions(s, actor="system:test")] == [
            "Kent",
            "Check address",
            "Undated",
        ]
        assert [a.description for a in open_actions(s, owner="BOB", actor="system:test")] == [
            "Check address",
            "Undated",
        ]
        assert [
            a.description for a in open_actions(s, forces=[KENT, CITY], actor="system:test")
        ] == ["Kent"]
    with session_scope(engine) as s:
        done = set_action_status(s, actor="bob", action_id=first.id, status="done", now=NOW)
        assert done.status == "done" and done.closed_at == NOW
        with pytest.raises(ConflictError, match="already done"):
            set_action_status(s, actor="bob", action_id=first.id, status="done")
        with pytest.raises(InputError, match="Unknown action status"):
            set_action_status(s, actor="bob", action_id=first.id, status="finished")
        reopened = set_action_status(s, actor="bob", action_id=first.id, status="open", now=NOW)
        assert reopened.closed_at is None
    assert len(events(engine, "review_action.create")) == 4
    assert len(events(engine, "review_action.status")) == 3


def test_list_meetings_latest_first_and_by_forces(engine: Engine) -> None:
    a = meeting(engine, day=LAST_MEETING)
    b = meeting(engine, day=DAY)
    c = meeting(engine, day=DAY, forces=(CITY, KENT))
    with Session(engine) as s:
        assert [m.id for m in list_meetings(s, actor="system:test")] == [c, b, a]
        assert [m.id for m in list_meetings(s, forces=[MET, CITY], actor="system:test")] == [b, a]
        with pytest.raises(NotFoundError):
            get_meeting(s, meeting_id=99999, actor="system:test")


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_agenda_decide_action_meetings(
    engine: Engine, cli: Callable[..., tuple[int, str, str]]
) -> None:
    with session_scope(engine) as s:
        near = person(s, lead=CITY, homes=(Home(LONG_AGO, MET, 40),))
        joint = person(s, lead=CITY, risk="very_high", homes=(Home(LONG_AGO, MET),))
    argv = ("review", "agenda", "--forces", "E23000034,E23000001", "--date", "2025-03-10")
    code, out, _ = cli(*argv, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["created"] is True
    assert data["meeting"]["forces"] == [MET, CITY]
    assert [(i["case_id"], i["score"]) for i in data["items"]] == [(joint, 30.0), (near, 10.0)]
    first = data["items"][0]
    assert first["offender_name"] == "Testy McTestface"
    assert first["reasons"][0]["code"] == "high_risk_joint"
    assert first["score_parts"] == {"risk": 30.0, "mappa": 0.0, "ogrs3": 0.0, "overdue": 0.0}

    # Again: the same planned meeting is regenerated, not a new one.
    code, out, _ = cli(*argv)
    assert code == 0
    assert out.startswith(f"Meeting {data['meeting_id']} ")
    assert "near_boundary: Lives in Metropolitan Police Service (E1 6AN), 40 m" in out
    assert "score 30 (risk 30, mappa 0, ogrs3 0, overdue 0)" in out

    code, out, _ = cli("review", "decide", str(first["item_id"]), "transfer", "--target", MET)
    assert code == 0
    assert "transfer to Metropolitan Police Service" in out
    assert "is requested" in out
    code, _, err = cli("review", "decide", str(first["item_id"]), "transfer", "--target", CITY)
    assert code == 2 and "already led by" in err and err.count("\n") == 1

    code, out, _ = cli(
        "review", "action", str(data["meeting_id"]), "--owner", "alice", "--due", "2099-03-31",
        "--case", str(near), "Check the address",
    )  # fmt: skip
    assert code == 0 and "for alice, due 2099-03-31: Check the address" in out
    code, _, err = cli("review", "action", str(data["meeting_id"]), "--owner", "a", "--due",
                       "31/03/2025", "x")  # fmt: skip
    assert code == 2 and "expected a date like" in err

    code, out, _ = cli("review", "meetings", "--json")
    assert code == 0
    assert [m["id"] for m in json.loads(out)] == [data["meeting_id"]]
    code, out, _ = cli("review", "actions", "--json")
    assert [a["description"] for a in json.loads(out)] == ["Check the address"]
    (action_id,) = [a["id"] for a in json.loads(out)]
    code, out, _ = cli("review", "actions", "close", str(action_id), "--note", "Visited: there")
    assert code == 0 and f"Action {action_id} (alice: Check the address) is done." in out
    code, _, err = cli("review", "actions", "close", str(action_id))
    assert code == 2 and "already done" in err and err.count("\n") == 1
    code, out, _ = cli("review", "actions", "--json")
    assert json.loads(out) == []
    code, _, err = cli("review", "action", str(data["meeting_id"]), "--owner", "a", "--due",
                       "2020-01-01", "x")  # fmt: skip
    assert code == 2 and "is in the past" in err
    code, out, _ = cli("review", "show", str(data["meeting_id"]), "--json")
    shown = json.loads(out)
    assert shown["items"][0]["decision"]["kind"] == "transfer"
    assert shown["actions"][0]["owner"] == "alice"
    code, _, err = cli("review", "agenda", "--forces", "E23000034")
    assert code == 2 and "two or more distinct forces" in err
    with Session(engine) as s:
        by_cli = s.exec(select(AuditEvent).where(AuditEvent.actor == "cli.user")).all()
    # Everything above was done as the CLI's user, and written to the audit log as such.
    assert sorted(e.action for e in by_cli) == [
        "agenda.generate",  # twice: the agenda was generated again
        "agenda.generate",
        "handoff.create",  # by the transfer decision
        "handoff.request",
        "meeting.create",
        "review.decision",
        "review_action.create",
        "review_action.status",
    ]
    with Session(engine) as s:
        closed = s.exec(select(AuditEvent).where(AuditEvent.action == "review_action.status")).one()
    assert closed.details["note"] == "Visited: there"


def test_cli_pack_calls_the_exporter(
    engine: Engine, cli: Callable[..., tuple[int, str, str]], tmp_path: object
) -> None:
    pytest.importorskip("coordination.packs.export")
    from pathlib import Path

    with session_scope(engine) as s:
        person(s, lead=CITY, homes=(Home(LONG_AGO, MET, 40),))
    m = meeting(engine)
    agenda(engine, m)
    out_file = Path(str(tmp_path)) / "pack.md"
    code, out, err = cli(
        "review", "pack", str(m), "--format", "md", "--out", str(out_file), "--to", "met.ops"
    )
    assert code == 2 and "give the justification" in err and not out_file.exists()
    code, out, err = cli(
        "review", "pack", str(m), "--format", "md", "--out", str(out_file), "--to", "met.ops",
        "--reason", "Joint review: the Met's attendees",
    )  # fmt: skip
    assert code == 0, err
    assert "**Disclosed for:** Joint review: the Met's attendees" in out_file.read_text()
    assert out_file.read_bytes()
    assert "for met.ops" in out
