"""Who may do what : every role against every service action, on both databases.

One world per database: users of the City and the Met in every role, and cases that exercise each
way of seeing one (lead force, party to an open handoff, on a joint meeting, limited access). Each
row of :data:`SCENARIOS` is a service call and the users it must allow; every other user must be
refused with :class:`AccessDeniedError`. Each call runs in its own session that is always rolled
back, so the rows do not disturb each other -- and the refusals, written in their own
transactions, must still be in the audit log afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.caseload.assignment import assign_case, assignment_history
from coordination.caseload.officers import officer_loads, suggest_assignees
from coordination.caseload.queries import caseload
from coordination.core.db import session_scope
from coordination.core.settings import reset_settings_cache
from coordination.errors import AccessDeniedError, InputError
from coordination.handoffs import network
from coordination.handoffs import workflow as handoffs
from coordination.models import AuditEvent, Case
from coordination.packs.export import export_pack
from coordination.register.inputs import CaseCreate, OffenderCreate, Residence, validated
from coordination.register.moves import move_offender
from coordination.register.offenders import add_offender, get_offender, list_offenders
from coordination.register.pnc import pnc_check_letter
from coordination.review.actions import add_action
from coordination.review.agenda import add_item
from coordination.review.meetings import (
    create_meeting,
    get_meeting,
    list_meetings,
    set_meeting_status,
)
from coordination.security import access
from coordination.security.permissions import (
    ACTIONS,
    PERMISSIONS,
    permission,
    permissions_markdown,
    principal,
    require,
)
from geo.forces import CITY_OF_LONDON as CITY
from geo.forces import METROPOLITAN as MET
from tests.factories import SYSTEM, USERS, World, no_lookup
from tests.support import REPO

CITY_CASE_WORKERS = {"city.om", "city.om2", "city.sup"}
MET_CASE_WORKERS = {"met.om", "met.sup"}
CASE_WORKERS = CITY_CASE_WORKERS | MET_CASE_WORKERS
ANALYSTS = {"city.analyst", "met.analyst"}


def _open(case: str) -> Callable[[Session, str, World], Any]:
    def call(s: Session, actor: str, w: World) -> Any:
        case_id = getattr(w, case)
        return get_offender(
            s, offender_id=w.offender[case_id], actor=actor, justification="review before visit"
        )

    return call


def _transition(action: str) -> Callable[[Session, str, World], Any]:
    def call(s: Session, actor: str, w: World) -> Any:
        return handoffs.transition(
            s,
            actor=actor,
            handoff_id=w.handoff,
            action=action,  # type: ignore[arg-type]
            note="checked",
        )

    return call


# (label, action in the table, call, users allowed). Everyone else must be refused.
SCENARIOS: list[tuple[str, str, Callable[[Session, str, World], Any], set[str]]] = [
    ("open a City case", "case.view", _open("city"), CITY_CASE_WORKERS),
    ("open a Met case", "case.view", _open("met"), MET_CASE_WORKERS),
    ("open a case handed City→Met", "case.view", _open("handed"), CASE_WORKERS),
    ("open a case on a joint meeting", "case.view", _open("on_meeting"), CASE_WORKERS),
    (
        "open a case city.om is excluded from",
        "case.view",
        _open("excluded"),
        {"city.om2", "city.sup"},
    ),
    ("open a case restricted to city.om2", "case.view", _open("restricted"), {"city.om2"}),
    (
        "register a person",
        "case.create",
        lambda s, a, w: add_offender(
            s,
            actor=a,
            offender=validated(
                OffenderCreate,
                pnc_id=f"2020/0000001{pnc_check_letter(2020, 1)}",
                first_name="New",
                last_name="Person",
                date_of_birth=date(1990, 5, 5),
                sex="male",
            ),
            case=validated(CaseCreate, programme="iom_fixed", risk="low", offence_category="other"),
            residence=Residence.no_fixed_abode(),
            lookup=no_lookup,
        ),
        CASE_WORKERS,
    ),
    (
        "record a move of a City person",
        "case.move",
        lambda s, a, w: move_offender(
            s,
            actor=a,
            offender_id=w.offender[w.city],
            residence=Residence.unknown(),
            lookup=no_lookup,
        ),
        CITY_CASE_WORKERS,
    ),
    (
        "assign a City case to city.om",
        "case.assign",
        lambda s, a, w: assign_case(s, actor=a, case_id=w.city, username="city.om"),
        {"city.sup", "city.om"},
    ),
    (
        "suggest assignees for a City case",
        "case.assign",
        lambda s, a, w: suggest_assignees(s, actor=a, case_id=w.city),
        CITY_CASE_WORKERS,
    ),
    (
        "see who managed a City case",
        "case.view",
        lambda s, a, w: assignment_history(s, actor=a, case_id=w.city),
        CITY_CASE_WORKERS,
    ),
    (
        "hand a City case to the Met",
        "handoff.act",
        lambda s, a, w: handoffs.create_handoff(
            s, actor=a, case_id=w.city_b, to_force_code=MET, reason="moved"
        ),
        CITY_CASE_WORKERS,
    ),
    ("accept a handoff to the Met", "handoff.act", _transition("accept"), MET_CASE_WORKERS),
    ("reject a handoff to the Met", "handoff.act", _transition("reject"), MET_CASE_WORKERS),
    ("withdraw a City handoff", "handoff.act", _transition("withdraw"), CITY_CASE_WORKERS),
    (
        "see a handoff",
        "handoff.view",
        lambda s, a, w: handoffs.get_handoff(s, w.handoff, actor=a),
        CASE_WORKERS,
    ),
    (
        "see a handoff's history",
        "handoff.view",
        lambda s, a, w: handoffs.handoff_history(s, w.handoff, actor=a),
        CASE_WORKERS,
    ),
    (
        "list handoffs",
        "handoff.view",
        lambda s, a, w: handoffs.list_handoffs(s, actor=a),
        CASE_WORKERS,
    ),
    (
        "list the caseload",
        "caseload.view",
        lambda s, a, w: caseload(s, actor=a),
        CASE_WORKERS | ANALYSTS,
    ),
    (
        "search the caseload by name",
        "caseload.view",
        lambda s, a, w: caseload(s, actor=a, search="Person"),
        CASE_WORKERS,
    ),
    (
        "officers' loads",
        "caseload.view",
        lambda s, a, w: officer_loads(s, actor=a),
        CASE_WORKERS | ANALYSTS,
    ),
    (
        "list offenders",
        "case.view",
        lambda s, a, w: list_offenders(s, actor=a),
        CASE_WORKERS,
    ),
    (
        "see the joint meeting",
        "meeting.view",
        lambda s, a, w: get_meeting(s, actor=a, meeting_id=w.joint_meeting),
        CASE_WORKERS,
    ),
    (
        "see a City-Kent meeting",
        "meeting.view",
        lambda s, a, w: get_meeting(s, actor=a, meeting_id=w.city_meeting),
        CITY_CASE_WORKERS,
    ),
    (
        "list meetings",
        "meeting.view",
        lambda s, a, w: list_meetings(s, actor=a),
        CASE_WORKERS,
    ),
    (
        "plan a City-Kent meeting",
        "meeting.edit",
        lambda s, a, w: create_meeting(
            s,
            actor=a,
            title="t",
            meeting_date=date(2025, 4, 1),
            chair="c",
            attendees=["x"],
            forces=[CITY, "E23000032"],
        ),
        CITY_CASE_WORKERS,
    ),
    (
        "add an action to the joint meeting",
        "meeting.edit",
        lambda s, a, w: add_action(
            s,
            actor=a,
            meeting_id=w.joint_meeting,
            description="call",
            owner="x",
            due_date=None,
        ),
        CASE_WORKERS,
    ),
    (
        "put a City case on the joint agenda",
        "meeting.edit",
        lambda s, a, w: add_item(
            s, actor=a, meeting_id=w.joint_meeting, case_id=w.city, reason="discuss"
        ),
        CITY_CASE_WORKERS,
    ),
    (
        "export the City-Kent pack",
        "pack.export",
        lambda s, a, w: export_pack(
            s,
            actor=a,
            meeting_id=w.city_meeting,
            fmt="md",
            recipients=["Kent IOM"],
            justification="joint review",
        ),
        CITY_CASE_WORKERS,
    ),
    (
        "see the handoff network",
        "network.view",
        lambda s, a, w: network.build_network(
            s, actor=a, start=date(2000, 1, 1), end=date(2100, 1, 1)
        ),
        CASE_WORKERS | ANALYSTS,
    ),
    (
        "exclude a user from a City case",
        "access.manage",
        lambda s, a, w: access.set_case_access(
            s, actor=a, case_id=w.city, username="met.om", mode="exclude", reason="conflict"
        ),
        {"city.sup", "city.admin"},
    ),
    (
        "list a City case's limited access",
        "access.manage",
        lambda s, a, w: access.list_case_access(s, actor=a, case_id=w.excluded),
        {"city.sup", "city.admin"},
    ),
]


def _refusals(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEvent)
                .where(AuditEvent.action == "access.refused")
                .order_by(col(AuditEvent.id))
            ).all()
        )


def test_every_role_against_every_service_action(world: tuple[Engine, World]) -> None:
    engine, w = world
    wrong: list[str] = []
    expected_refusals = 0
    for label, action, call, allowed in SCENARIOS:
        for user in [*USERS, SYSTEM]:
            should = user == SYSTEM or user in allowed
            with Session(engine) as s:
                try:
                    call(s, user, w)
                    got = True
                except AccessDeniedError as error:
                    got = False
                    message = str(error)
                    if "\n" in message or not message.startswith("Access refused:"):
                        wrong.append(f"{label} / {user}: message {message!r}")
                finally:
                    s.rollback()
            if got != should:
                wrong.append(f"{label} / {user}: {'allowed' if got else 'refused'}")
            if not got:
                expected_refusals += 1
        # The table names the action and every role it lets in takes part in some scenario.
        assert action in PERMISSIONS
    assert wrong == []
    refusals = _refusals(engine)
    assert len(refusals) == expected_refusals
    assert {r.category for r in refusals} == {"access"}
    assert all(r.details and r.details["message"].startswith("Access refused") for r in refusals)


def test_refusal_survives_a_rollback_after_writes(world: tuple[Engine, World]) -> None:
    """A refusal after the same transaction has written is still logged, once it ends."""
    engine, w = world
    before = len(_refusals(engine))
    with pytest.raises(AccessDeniedError), session_scope(engine) as s:
        assign_case(s, actor="city.sup", case_id=w.city, username="city.om")
        get_offender(s, offender_id=w.offender[w.met], actor="city.om", justification="curious")
    refusals = _refusals(engine)
    assert len(refusals) == before + 1
    assert refusals[-1].actor == "city.om"
    assert refusals[-1].entity_type == "offender"
    with Session(engine) as s:  # the assignment rolled back with the refused work
        case = s.get(Case, w.city)
        assert case is not None and case.assigned_user_id is None


def test_opening_a_record_needs_a_reason_and_is_a_consultation(
    world: tuple[Engine, World],
) -> None:
    engine, w = world
    offender_id = w.offender[w.city]
    with session_scope(engine) as s:
        with pytest.raises(InputError, match="reason"):
            get_offender(s, offender_id=offender_id, actor="city.om")
        detail = get_offender(
            s, offender_id=offender_id, actor="city.om", justification="  home visit  "
        )
    assert detail.offender.id == offender_id
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "offender.view")).one()
    assert (event.category, event.actor, event.justification) == (
        "consultation",
        "city.om",
        "home visit",
    )
    assert event.offender_ids == [offender_id]


def test_record_shows_only_the_cases_the_user_may_see(world: tuple[Engine, World]) -> None:
    engine, w = world
    with session_scope(engine) as s:
        # The Met manager sees the handed-off person, through the handoff.
        detail = get_offender(
            s, offender_id=w.offender[w.handed], actor="met.om", justification="incoming"
        )
    assert [c.id for c in detail.cases] == [w.handed]
    assert [h.id for h in detail.handoffs] == [w.handoff]


def test_lists_show_only_visible_cases(world: tuple[Engine, World]) -> None:
    engine, w = world
    with Session(engine) as s:
        city_om = {r.case_id for r in caseload(s, actor="city.om").rows}
        om2 = {r.case_id for r in caseload(s, actor="city.om2").rows}
        met = {r.case_id for r in caseload(s, actor="met.om").rows}
        met_handoffs = {v.case_id for v in handoffs.list_handoffs(s, actor="met.om")}
        page = caseload(s, actor="city.analyst")
    assert city_om == {w.city, w.city_b, w.handed, w.on_meeting}
    assert om2 == {w.city, w.city_b, w.handed, w.on_meeting, w.excluded, w.restricted}
    assert met == {w.met, w.handed, w.on_meeting}
    assert met_handoffs == {w.handed}
    assert page.total == 5  # the City's cases but the one restricted to city.om2
    assert all(r.pseudonym and r.pseudonym.startswith("P-") for r in page.rows)
    assert all(r.case_id == 0 and r.first_name == "" and r.pnc_id == "" for r in page.rows)


def test_a_closed_meeting_no_longer_shows_its_cases(world: tuple[Engine, World]) -> None:
    engine, w = world
    with session_scope(engine) as s:
        for status in ("held", "closed"):
            set_meeting_status(s, actor=SYSTEM, meeting_id=w.joint_meeting, status=status)
    with Session(engine) as s:
        met = {r.case_id for r in caseload(s, actor="met.om").rows}
    assert w.on_meeting not in met


def test_limited_access_can_be_cleared(world: tuple[Engine, World]) -> None:
    engine, w = world
    with session_scope(engine) as s, pytest.raises(InputError, match="reason"):
        access.clear_case_access(
            s, actor="city.sup", case_id=w.excluded, username="city.om", reason=" "
        )
    with session_scope(engine) as s:
        assert access.clear_case_access(
            s, actor="city.sup", case_id=w.excluded, username="city.om", reason="resolved"
        )
    with session_scope(engine) as s:
        get_offender(s, offender_id=w.offender[w.excluded], actor="city.om", justification="visit")
        events = s.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action).like("case_access.%"))
            .order_by(col(AuditEvent.id))
        ).all()
    assert [e.action for e in events] == [
        "case_access.set",
        "case_access.set",
        "case_access.clear",
    ]
    assert {e.category for e in events} == {"alteration"}


def test_disabled_user_and_production_unknown_actor_are_refused(
    world: tuple[Engine, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = world
    with session_scope(engine) as s:
        s.execute(sa.text("UPDATE users SET active = false WHERE username = 'met.om'"))
    with Session(engine) as s, pytest.raises(AccessDeniedError, match="disabled"):
        principal(s, "met.om")
    # Development and test: a name that is no user is the application (scripts, tests).
    with Session(engine) as s:
        assert principal(s, "pytest").is_system
    monkeypatch.setenv("CROSSFORCE_ENV", "production")
    monkeypatch.setenv("CROSSFORCE_AUDIT_KEY", "a" * 40)
    monkeypatch.setenv("CROSSFORCE_SECRET_KEY", "x" * 40)
    reset_settings_cache()
    try:
        with Session(engine) as s:
            with pytest.raises(AccessDeniedError, match="not a user"):
                require(s, actor="pytest", action="case.view")
            with pytest.raises(AccessDeniedError, match="sign in"):
                require(s, actor=None, action="case.view")
            assert principal(s, "system:retention").is_system
            assert not principal(s, "city.om").is_system
    finally:
        monkeypatch.delenv("CROSSFORCE_ENV")
        monkeypatch.delenv("CROSSFORCE_SECRET_KEY")
        reset_settings_cache()


def test_recorded_for_a_force_with_no_users(world: tuple[Engine, World]) -> None:
    """Kent has no users here: the City records Kent's answer to a City handoff."""
    engine, w = world
    with session_scope(engine) as s:
        h = handoffs.create_handoff(
            s, actor="city.om", case_id=w.city_b, to_force_code="E23000032", reason="moved"
        )
        handoffs.transition(s, actor="city.om", handoff_id=h.id, action="accept")
    with session_scope(engine) as s, pytest.raises(AccessDeniedError):
        handoffs.transition(s, actor="met.om", handoff_id=h.id, action="complete")


# --- the table itself ---------------------------------------------------------------------------


def test_table_covers_every_action_and_role() -> None:
    from coordination.models import ROLES

    assert set(PERMISSIONS) == set(ACTIONS)
    for action, rules in PERMISSIONS.items():
        assert set(rules) == set(ROLES), action
        assert set(rules.values()) <= {"allow", "refuse", "pseudonymised"}
    # The rules, as the table says them.
    assert all(permission("admin", a) == "refuse" for a in ACTIONS if a.startswith("case."))
    assert all(permission("analyst", a) != "allow" for a in ACTIONS if a.startswith("case."))
    assert permission("analyst", "caseload.view") == "pseudonymised"
    for admin_only in ("users.manage", "reference.manage", "audit.read", "retention.run"):
        assert {r for r in ROLES if permission(r, admin_only) == "allow"} == {"admin"}
    assert permission("supervisor", "case.assign") == "allow"


def test_docs_permission_table_matches_the_code() -> None:
    doc = REPO / "docs" / "PERMISSIONS.md"
    assert doc.read_text(encoding="utf-8") == permissions_markdown(), (
        "docs/PERMISSIONS.md is stale: run "
        "`.venv/bin/python -m coordination.permissions > docs/PERMISSIONS.md`"
    )
