"""Walk the service layer: every public service function is listed here with what it must log.

Each public function of the service modules that takes a session first is a service. The table
:data:`SERVICES` says how to call it and which DPA 2018 s.62 category its audit events must
include (``None``: a read that opens no single record and writes nothing). A new public service
function that is not in the table fails :func:`test_every_service_function_is_listed`, so nobody
adds one without deciding what it logs.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from coordination.caseload.assignment import assign_case, assignment_history
from coordination.caseload.officers import officer_loads, set_officer_profile, suggest_assignees
from coordination.caseload.queries import caseload, get_case
from coordination.caseload.weights import load_case_weights, seed_case_weights, set_case_weight
from coordination.cases import updates as case_updates
from coordination.cases import views as case_views
from coordination.core.clock import london_today
from coordination.core.db import session_scope
from coordination.handoffs import escalations, network, resolutions
from coordination.handoffs import workflow as handoffs
from coordination.handoffs.address_check import record_address_check
from coordination.models import AgendaItem, AuditEvent, Case, Escalation, Handoff, ReviewAction
from coordination.packs.build import build_pack_content
from coordination.packs.export import export_pack
from coordination.register import mismatches
from coordination.register.inputs import CaseCreate, OffenderCreate, Residence, validated
from coordination.register.moves import move_offender
from coordination.register.offenders import add_offender, get_offender, list_offenders
from coordination.register.pnc import pnc_check_letter
from coordination.review.actions import add_action, open_actions, set_action_status
from coordination.review.agenda import add_item, generate_agenda, move_item, remove_item
from coordination.review.decisions import record_decision
from coordination.review.meetings import (
    create_meeting,
    default_title,
    get_meeting,
    list_meetings,
    planned_meeting,
    set_meeting_status,
)
from coordination.security import access
from geo.forces import CITY_OF_LONDON as CITY
from geo.forces import METROPOLITAN as MET
from tests.factories import World, no_lookup

MODULES = (
    "register.offenders",
    "register.moves",
    "handoffs.workflow",
    "handoffs.address_check",
    "caseload.weights",
    "caseload.officers",
    "caseload.assignment",
    "caseload.queries",
    "review.meetings",
    "review.agenda",
    "review.decisions",
    "review.actions",
    "packs.build",
    "packs.export",
    "security.access",
    "handoffs.network",
    "handoffs.escalations",
    "handoffs.resolutions",
    "register.mismatches",
    "cases.updates",
    "cases.views",
)
USER = "city.sup"  # a City supervisor: may do every case-working action on City cases
MET_USER = "met.sup"

Call = Callable[[Session, World], Any]


def _as_mappa(s: Session, case_id: int) -> int:
    """Make a case MAPPA category 1, level 1 (set-up only: no service makes a case MAPPA)."""
    case = s.get(Case, case_id)
    assert case is not None
    case.programme, case.mappa_category, case.mappa_level = "mappa", 1, 1
    s.add(case)
    s.flush()
    return case_id


def _item(s: Session, w: World) -> int:
    item = s.exec(
        select(AgendaItem).where(
            AgendaItem.meeting_id == w.joint_meeting, AgendaItem.case_id == w.on_meeting
        )
    ).one()
    return int(item.id or 0)


def _rejected_row(s: Session, w: World) -> int:
    """The handoff of ``city_b``, made rejected as a row (set-up only: no escalation yet)."""
    handoff = s.exec(select(Handoff).where(Handoff.case_id == w.city_b)).first()
    assert handoff is not None
    handoff.state = "rejected"
    s.add(handoff)
    s.flush()
    return int(handoff.id or 0)


def _open_escalation(s: Session, w: World) -> int:
    row = s.exec(select(Escalation).where(Escalation.state == "open")).first()
    assert row is not None
    return int(row.id or 0)


def _reject_again(s: Session, w: World) -> int:
    """Hand ``city_b`` to the Met (again, or its open handoff) and have the Met reject it."""
    h = handoffs.open_handoff_for_case(s, w.city_b, actor=USER) or handoffs.create_handoff(
        s, actor=USER, case_id=w.city_b, to_force_code=MET, reason="r"
    )
    handoffs.transition(s, actor=MET_USER, handoff_id=h.id, action="reject", note="no")
    return _open_escalation(s, w)


def _action(s: Session, w: World) -> int:
    return int(s.exec(select(ReviewAction.id)).first() or 0)


# name -> (call, the category its events must include, or None for a read that logs nothing).
# Calls run in this order, each committed, so later ones build on earlier ones.
SERVICES: dict[str, tuple[Call, str | None]] = {
    "register.offenders.add_offender": (
        lambda s, w: add_offender(
            s,
            actor=USER,
            offender=validated(
                OffenderCreate,
                pnc_id=f"2021/0000002{pnc_check_letter(2021, 2)}",
                first_name="Walk",
                last_name="Through",
                date_of_birth=date(1980, 1, 2),
                sex="female",
            ),
            case=validated(CaseCreate, programme="iom_flex", risk="low", offence_category="other"),
            residence=Residence.no_fixed_abode(),
            lookup=no_lookup,
        ),
        "collection",
    ),
    "register.offenders.get_offender": (
        lambda s, w: get_offender(
            s, actor=USER, offender_id=w.offender[w.city], justification="walk"
        ),
        "consultation",
    ),
    "register.offenders.list_offenders": (lambda s, w: list_offenders(s, actor=USER), None),
    "register.moves.move_offender": (
        lambda s, w: move_offender(
            s,
            actor=USER,
            offender_id=w.offender[w.city],
            residence=Residence.unknown(),
            lookup=no_lookup,
        ),
        "alteration",
    ),
    "cases.updates.update_risk": (
        lambda s, w: case_updates.update_risk(s, actor=USER, case_id=w.city_b, risk="high"),
        "alteration",
    ),
    "cases.updates.set_next_review": (
        lambda s, w: case_updates.set_next_review(
            s, actor=USER, case_id=w.city_b, next_review_due=date(2099, 1, 1)
        ),
        "alteration",
    ),
    "cases.updates.set_iom_cohort": (
        lambda s, w: case_updates.set_iom_cohort(
            s, actor=USER, case_id=w.city_b, select_cohort=False, reason="walk"
        ),
        "alteration",
    ),
    "cases.updates.update_mappa": (
        lambda s, w: case_updates.update_mappa(
            s, actor=USER, case_id=_as_mappa(s, w.city_b), category=2, level=2, reason="walk"
        ),
        "alteration",
    ),
    "cases.updates.update_ogrs3_inputs": (
        lambda s, w: case_updates.update_ogrs3_inputs(
            s, actor=USER, case_id=w.city_b, previous_sanctions=3, age_at_first_sanction=17
        ),
        "alteration",
    ),
    "cases.updates.close_case": (
        lambda s, w: case_updates.close_case(s, actor=USER, case_id=w.city_b, reason="deceased"),
        "alteration",
    ),
    "cases.updates.reopen_case": (
        lambda s, w: case_updates.reopen_case(
            s, actor=USER, case_id=w.city_b, reason="closed in error"
        ),
        "alteration",
    ),
    "cases.updates.case_history": (
        lambda s, w: case_updates.case_history(s, actor=USER, case_id=w.city_b),
        None,
    ),
    "cases.views.case_detail": (
        lambda s, w: case_views.case_detail(s, actor=USER, case_id=w.city_b),
        None,
    ),
    "handoffs.workflow.create_handoff": (
        lambda s, w: handoffs.create_handoff(
            s, actor=USER, case_id=w.city_b, to_force_code=MET, reason="moved"
        ),
        "disclosure",
    ),
    "handoffs.workflow.accept_agreed_at_review": (
        lambda s, w: handoffs.accept_agreed_at_review(
            s,
            actor=USER,
            handoff_id=handoffs.create_handoff(
                s, actor=USER, case_id=w.on_meeting, to_force_code=MET, reason="r", request=True
            ).id,
            meeting_id=w.joint_meeting,
            agreed_by="a",
        ),
        "alteration",
    ),
    "handoffs.workflow.mark_agreed_at_review": (
        lambda s, w: handoffs.mark_agreed_at_review(
            s, actor=USER, handoff_id=w.handoff, meeting_id=w.joint_meeting
        ),
        "alteration",
    ),
    "handoffs.workflow.transition": (
        lambda s, w: handoffs.transition(s, actor=MET_USER, handoff_id=w.handoff, action="accept"),
        "alteration",
    ),
    "handoffs.address_check.record_address_check": (
        # The handoff was accepted just above: the Met records its confirmed check.
        lambda s, w: record_address_check(
            s,
            actor=MET_USER,
            handoff_id=w.handoff,
            checked_on=london_today(),
            method="visit",
            outcome="confirmed",
        ),
        "alteration",
    ),
    "handoffs.workflow.get_handoff": (
        lambda s, w: handoffs.get_handoff(s, w.handoff, actor=USER),
        None,
    ),
    "handoffs.workflow.get_handoff_view": (
        lambda s, w: handoffs.get_handoff_view(s, w.handoff, actor=USER),
        None,
    ),
    "handoffs.workflow.handoff_history": (
        lambda s, w: handoffs.handoff_history(s, w.handoff, actor=USER),
        None,
    ),
    "handoffs.workflow.list_handoffs": (lambda s, w: handoffs.list_handoffs(s, actor=USER), None),
    "handoffs.workflow.open_handoff_for_case": (
        lambda s, w: handoffs.open_handoff_for_case(s, w.handed, actor=USER),
        None,
    ),
    "caseload.officers.set_officer_profile": (
        lambda s, w: set_officer_profile(
            s, actor="system:test", username="city.om", grade="PO", grade_points=100.0
        ),
        "system",  # staff workload, no offender data
    ),
    "caseload.assignment.assign_case": (
        lambda s, w: assign_case(s, actor=USER, case_id=w.city, username="city.om"),
        "alteration",
    ),
    "caseload.assignment.assignment_history": (
        lambda s, w: assignment_history(s, actor=USER, case_id=w.city),
        None,
    ),
    "caseload.queries.caseload": (lambda s, w: caseload(s, actor=USER), None),
    "caseload.queries.get_case": (lambda s, w: get_case(s, actor=USER, case_id=w.city), None),
    "caseload.weights.load_case_weights": (lambda s, w: load_case_weights(s), None),
    "caseload.officers.officer_loads": (lambda s, w: officer_loads(s, actor=USER), None),
    "caseload.officers.suggest_assignees": (
        lambda s, w: suggest_assignees(s, actor=USER, case_id=w.city),
        None,
    ),
    "caseload.weights.seed_case_weights": (
        lambda s, w: seed_case_weights(s, actor="system:test"),
        "system",  # reference data
    ),
    "caseload.weights.set_case_weight": (
        lambda s, w: set_case_weight(
            s, actor="system:test", programme="iom_fixed", risk="low", points=2.0
        ),
        "system",  # reference data
    ),
    "review.meetings.create_meeting": (
        lambda s, w: create_meeting(
            s,
            actor=USER,
            title="Walk",
            meeting_date=date(2025, 5, 5),
            chair="c",
            attendees=["a"],
            forces=[CITY, MET],
        ),
        "system",  # a date and attendees: no offender data
    ),
    "review.agenda.add_item": (
        lambda s, w: add_item(
            s, actor=USER, meeting_id=w.joint_meeting, case_id=w.city, reason="walk"
        ),
        "combination",
    ),
    "review.agenda.move_item": (
        lambda s, w: move_item(s, actor=USER, item_id=_item(s, w), position=2),
        "alteration",
    ),
    "review.decisions.record_decision": (
        lambda s, w: record_decision(s, actor=USER, item_id=_item(s, w), kind="retain"),
        "alteration",
    ),
    "review.agenda.remove_item": (
        lambda s, w: remove_item(s, actor=USER, item_id=_item(s, w), reason="done"),
        "alteration",
    ),
    "review.actions.add_action": (
        lambda s, w: add_action(
            s,
            actor=USER,
            meeting_id=w.joint_meeting,
            description="visit",
            owner="city.om",
            due_date=None,
            case_id=w.city,
        ),
        "alteration",
    ),
    "review.actions.set_action_status": (
        lambda s, w: set_action_status(s, actor=USER, action_id=_action(s, w), status="done"),
        "system",  # the action's status; its case was logged when it was created
    ),
    "review.meetings.get_meeting": (
        lambda s, w: get_meeting(s, actor=USER, meeting_id=w.joint_meeting),
        None,
    ),
    "review.meetings.list_meetings": (lambda s, w: list_meetings(s, actor=USER), None),
    "review.actions.open_actions": (lambda s, w: open_actions(s, actor=USER), None),
    "review.meetings.planned_meeting": (
        lambda s, w: planned_meeting(s, forces=[CITY, MET], meeting_date=date(2025, 3, 10)),
        None,  # meeting dates and forces only
    ),
    "review.meetings.default_title": (
        lambda s, w: default_title(s, forces=[CITY, MET], meeting_date=date(2025, 3, 10)),
        None,
    ),
    "review.agenda.generate_agenda": (
        lambda s, w: generate_agenda(s, actor=USER, meeting_id=w.joint_meeting),
        "combination",
    ),
    "review.meetings.set_meeting_status": (
        lambda s, w: set_meeting_status(s, actor=USER, meeting_id=w.joint_meeting, status="held"),
        "system",
    ),
    "packs.build.build_pack_content": (
        lambda s, w: build_pack_content(s, actor=USER, meeting_id=w.joint_meeting),
        None,  # building is no disclosure; exporting is
    ),
    "packs.export.export_pack": (
        lambda s, w: export_pack(
            s,
            actor=USER,
            meeting_id=w.joint_meeting,
            fmt="md",
            recipients=["Met IOM"],
            justification="walk",
        ),
        "disclosure",
    ),
    "security.access.set_case_access": (
        lambda s, w: access.set_case_access(
            s, actor=USER, case_id=w.city, username="met.om", mode="exclude", reason="conflict"
        ),
        "alteration",
    ),
    "security.access.list_case_access": (
        lambda s, w: access.list_case_access(s, actor=USER, case_id=w.city),
        None,
    ),
    "security.access.clear_case_access": (
        lambda s, w: access.clear_case_access(
            s, actor=USER, case_id=w.city, username="met.om", reason="resolved"
        ),
        "alteration",
    ),
    "handoffs.network.fetch_handoff_records": (
        lambda s, w: network.fetch_handoff_records(
            s, actor=USER, start=date(2000, 1, 1), end=date(2100, 1, 1)
        ),
        None,
    ),
    "handoffs.network.build_network": (
        lambda s, w: network.build_network(
            s, actor=USER, start=date(2000, 1, 1), end=date(2100, 1, 1)
        ),
        None,
    ),
    "handoffs.network.network_overview": (
        lambda s, w: network.network_overview(
            s, actor=USER, start=date(2000, 1, 1), end=date(2100, 1, 1)
        ),
        None,
    ),
    "handoffs.escalations.open_escalation": (
        lambda s, w: escalations.open_escalation(s, actor=USER, handoff_id=_rejected_row(s, w)),
        "alteration",
    ),
    "handoffs.escalations.follow_handoff": (
        # Completing touches no escalation: the call writes nothing.
        lambda s, w: escalations.follow_handoff(
            s,
            actor=USER,
            handoff=s.get_one(Handoff, _rejected_row(s, w)),
            action="complete",
            now=datetime.now(UTC),
        ),
        None,
    ),
    "handoffs.escalations.list_escalations": (
        lambda s, w: escalations.list_escalations(s, actor=USER),
        None,
    ),
    "register.mismatches.mismatches": (lambda s, w: mismatches.mismatches(s, actor=USER), None),
    "register.mismatches.workflows_per_case": (
        lambda s, w: mismatches.workflows_per_case(s, actor=USER),
        None,
    ),
    "handoffs.escalations.record_exception": (
        lambda s, w: escalations.record_exception(
            s,
            actor=USER,
            escalation_id=_open_escalation(s, w),
            reason="agreed",
            review_on=date(2099, 1, 1),
        ),
        "alteration",
    ),
    "handoffs.resolutions.resolve_by_new_request": (
        lambda s, w: resolutions.resolve_by_new_request(
            s, actor=USER, escalation_id=_reject_again(s, w), new_facts="verified"
        ),
        "alteration",
    ),
    "handoffs.escalations.resolve_at_review": (
        lambda s, w: escalations.resolve_at_review(
            s,
            actor=USER,
            case_id=w.city_b + 0 * _reject_again(s, w),
            meeting_id=w.joint_meeting,
            decision="retain",
        ),
        "alteration",
    ),
}


def _service_functions() -> set[str]:
    found = set()
    for name in MODULES:
        module = importlib.import_module(f"coordination.{name}")
        for fname, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or fname.startswith("_"):
                continue
            params = list(inspect.signature(fn).parameters)
            if params[:1] == ["session"]:
                found.add(f"{name}.{fname}")
    return found


def test_every_service_function_is_listed() -> None:
    found = _service_functions()
    missing = sorted(found - SERVICES.keys())
    assert not missing, (
        f"New service functions {missing}: add them to SERVICES in {__name__} with the audit "
        "category they must log (None for a read that opens no record)"
    )
    assert sorted(SERVICES.keys() - found) == [], "SERVICES lists functions that no longer exist"


def test_each_service_logs_its_category(world: tuple[Engine, World]) -> None:
    engine, w = world
    wrong = []
    for name, (call, category) in SERVICES.items():
        with Session(engine) as s:
            last = s.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc())).first() or 0
        with session_scope(engine) as s:
            call(s, w)
        with Session(engine) as s:
            events = s.exec(
                select(AuditEvent).where(col(AuditEvent.id) > last).order_by(col(AuditEvent.id))
            ).all()
        categories = {e.category for e in events}
        if "access" in categories:
            wrong.append(f"{name}: refused ({[e.details for e in events]})")
        elif category is None and events:
            wrong.append(f"{name}: a read wrote {[e.action for e in events]}")
        elif category is not None and category not in categories:
            wrong.append(f"{name}: wanted {category}, wrote {sorted(categories)}")
        for e in events:
            about_a_person = e.category != "system" and e.entity_type in (
                "offender",
                "address",
                "case",
                "handoff",
            )
            # Every event about a person names them, so the log answers "who saw X".
            if about_a_person and not e.offender_ids:
                wrong.append(f"{name}: {e.action} names no offender")
            if e.category == "disclosure" and not e.recipients:
                wrong.append(f"{name}: {e.action} names no recipients")
    assert wrong == []
