"""Every page action as every role: what each page offers the signed-in user, and what happens.

For each demo role (and a Met BCU's officer and supervisor), each page with actions is opened
headless with AppTest. The action widgets (found by key) must offer exactly what the services
would accept from that user: the expected options come from the permission table
(``coordination.security.permissions``) and from *trying* each action through the service itself
in a transaction that is rolled back, so the page and the write path cannot drift apart. An
allowed action, performed on the page, must succeed and change the database; a refused one is
not offered, or, where a page offers it to everyone (the audit log's buttons), is refused with
the fixed one-line message and audited.

The tests act on a copy of the session's demo database, so their changes reach no other test.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, get_args

import pytest
from sqlmodel import Session, col, func, select
from streamlit.testing.v1 import AppTest

from coordination.audit.reader import verify_chain
from coordination.caseload.assignment import assign_case, assignment_history
from coordination.caseload.officers import officer_loads
from coordination.caseload.queries import caseload
from coordination.core.clock import london_today
from coordination.core.db import get_engine, session_scope
from coordination.errors import AccessDeniedError, CrossforceError
from coordination.handoffs import workflow as handoffs
from coordination.models import AuditEvent, Handoff, User
from coordination.review.meetings import list_meetings
from coordination.security.permissions import permission
from tests.factories import CITY, MET
from tests.support import apptest
from ui import navigation
from ui.components.review import default_meeting

# Who signs in: force, role and (Met) BCU. The demo's own accounts where it has them (City
# officer, supervisor, analyst and admin; a Met officer of Central East), else the first user of
# that kind the demo made (the Central East supervisor: a Met BCU manager).
PEOPLE: dict[str, tuple[str, str, str | None]] = {
    "city-om": (CITY, "offender_manager", None),
    "city-sup": (CITY, "supervisor", None),
    "city-analyst": (CITY, "analyst", None),
    "city-admin": (CITY, "admin", None),
    "met-om-ce": (MET, "offender_manager", "CE"),
    "met-sup-ce": (MET, "supervisor", "CE"),
}
HANDOFF_ACTORS = [
    p for p, (_, role, _) in PEOPLE.items() if permission(role, "handoff.act") == "allow"
]
# The forces with users in the demo (the others' answers are recorded for them).
USED_BY = {CITY, MET}
# Shown only when there is something to choose (Handoffs), or for some roles (Caseload).
OPTIONAL = {"ho_pick", "cl_case"}
PAGE_KEYS = {
    "Handoffs": ["ho_force", "ho_bcu", "ho_search", "ho_pick"],
    "Caseload": ["cl_force", "cl_case"],
    "Joint review": ["jr_meeting"],
}


# --- the database and the people --------------------------------------------------------------


@pytest.fixture(scope="module")
def actions_database_url(demo_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the session's demo database, for this module's changes alone."""
    source = demo_database_url.removeprefix("sqlite:///")
    target = Path(tmp_path_factory.mktemp("actions")) / "crossforce.db"
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)  # a consistent copy, WAL included
    return f"sqlite:///{target}"


@pytest.fixture
def env(actions_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the process at the copy for one test."""
    from coordination.core.settings import reset_settings_cache

    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", actions_database_url)
    reset_settings_cache()
    try:
        yield actions_database_url
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()


def _user(who: str) -> User:
    """The user who signs in as ``who`` (a key of PEOPLE)."""
    force, role, bcu = PEOPLE[who]
    with Session(get_engine()) as s:
        query = select(User).where(User.force_code == force, User.role == role, col(User.active))
        if bcu is not None:
            query = query.where(User.bcu_code == bcu)
        found = s.exec(query.order_by(col(User.is_demo).desc(), col(User.username))).first()
    assert found is not None, who
    return found


def _open(page: str, who: str) -> tuple[AppTest, User]:
    user = _user(who)
    at = apptest.page(navigation.spec(page).script, user=user.username)
    apptest.ok(at, errors=False)
    return at, user


def _has(at: Any, key: str) -> bool:
    try:
        apptest.widget(at, key)
    except KeyError:
        return False
    return True


def _refusals(actor: str, action: str | None = None) -> int:
    """``access.refused`` events of an actor (for one action of the table, if given)."""
    with Session(get_engine()) as s:
        rows = s.exec(
            select(AuditEvent.details).where(
                AuditEvent.action == "access.refused", AuditEvent.actor == actor
            )
        ).all()
    return sum(action is None or (d or {}).get("action") == action for d in rows)


# --- what the write path accepts (tried, then rolled back) ---------------------------------------


def _accepted_transitions(actor: str, handoff_id: int) -> tuple[str, ...]:
    """The workflow actions ``transition`` accepts from ``actor`` on a handoff now."""
    accepted = []
    for action in get_args(handoffs.Action):
        with Session(get_engine()) as s:
            try:
                handoffs.transition(
                    s, actor=actor, handoff_id=handoff_id, action=action, note="tried"
                )
            except CrossforceError:
                s.rollback()
                continue
            s.rollback()
        accepted.append(action)
    return tuple(accepted)


def _accepts_assignment(actor: str, case_id: int, username: str) -> bool:
    """Whether ``assign_case`` accepts making ``username`` the case's manager, from ``actor``."""
    with Session(get_engine()) as s:
        try:
            assign_case(s, actor=actor, case_id=case_id, username=username, reason="tried")
        except CrossforceError:
            return False
        finally:
            s.rollback()
    return True


def _queues(user: User, force: str) -> list[handoffs.HandoffView]:
    """The open handoffs the Handoffs page lists for a user and a force: in, then out."""
    with Session(get_engine()) as s:
        return [
            v
            for d in ("incoming", "outgoing")
            for v in handoffs.list_handoffs(
                s, force_code=force, direction=d, state="open", actor=user.username
            )
        ]


def _own_queues(user: User) -> list[handoffs.HandoffView]:
    """The open handoffs the Handoffs page lists first for a user: their force's."""
    return _queues(user, user.force_code)


# --- every page, every role: is it offered at all ----------------------------------------------


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("page", sorted(PAGE_KEYS))
@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_a_page_offers_its_actions_only_to_roles_the_table_lets_use_it(who: str, page: str) -> None:
    at, user = _open(page, who)
    if navigation.may_use(user.role, navigation.spec(page)):
        assert all(_has(at, key) for key in PAGE_KEYS[page] if key not in OPTIONAL), page
        assert not [i for i in at.info if "you do not see this page" in i.value]
        # A person's record opens only for roles that see cases unpseudonymised.
        if page == "Caseload":
            assert _has(at, "cl_case") is (permission(user.role, "case.view") == "allow")
    else:
        assert [i.value for i in at.info if "you do not see this page" in i.value], page
        assert not [k for k in PAGE_KEYS[page] if _has(at, k)]
        assert not at.button and not at.dataframe


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_joint_review_offers_planning_to_those_who_may_edit_meetings(who: str) -> None:
    """Read only: which of the page's buttons a role is shown (the review tests click them)."""
    at, user = _open("Joint review", who)
    if permission(user.role, "meeting.view") == "refuse":
        assert not _has(at, "jr_meeting")
        return
    # A first visit opens the next planned meeting, else the latest; none: planning one.
    with Session(get_engine()) as s:
        expected = default_meeting(list_meetings(s, actor=user.username), london_today())
    assert at.selectbox(key="jr_meeting").value == expected
    at.selectbox(key="jr_meeting").set_value(None).run()  # "Plan a new meeting…"
    assert _has(at, "jr_create") is (permission(user.role, "meeting.edit") == "allow")


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_reference_data_offers_no_action_to_anyone(who: str) -> None:
    at, _ = _open("Reference data", who)
    # Boundary sets are managed on the command line (reference.manage), never from this page.
    assert not at.button and not at.get("form")
    assert int(apptest.table(at, "active", "vintage")["active"].sum()) == 1


# --- Handoffs -------------------------------------------------------------------------------


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("who", HANDOFF_ACTORS)
def test_handoffs_offer_exactly_what_the_workflow_accepts_from_the_user(who: str) -> None:
    at, user = _open("Handoffs", who)
    assert at.selectbox(key="ho_force").value == user.force_code
    # Their own force's queues first, then the other force's (a sender may withdraw there).
    for force in sorted(USED_BY, key=lambda f: f != user.force_code):
        if force != at.selectbox(key="ho_force").value:
            at.selectbox(key="ho_force").set_value(force).run()
            apptest.ok(at, errors=False)
        views = {v.id: v for v in _queues(user, force)}
        accepted = {h: _accepted_transitions(user.username, h) for h in views}
        offered = [h for h, actions in accepted.items() if actions]
        if force == user.force_code:
            assert offered, "the demo has handoffs waiting for every force"
        if not offered:
            assert not _has(at, "ho_pick")
            continue
        picker = at.selectbox(key="ho_pick")
        assert [int(o.split(" ", 1)[0].lstrip("#")) for o in picker.options] == offered, force
        for handoff_id in offered:
            at.selectbox(key="ho_pick").set_value(handoff_id).run()
            apptest.ok(at, errors=False)
            options = at.selectbox(key="ho_action").options
            assert tuple(options) == accepted[handoff_id], handoff_id
            # As people read the rule: the receiving force answers, the sending force
            # withdraws (and records the answer of a receiving force with no users here).
            handoff = views[handoff_id].handoff
            if handoff.to_force_code == user.force_code:
                assert "withdraw" not in options and "request" not in options
            if handoff.from_force_code == user.force_code and handoff.to_force_code in USED_BY:
                assert not {"accept", "reject", "complete"} & set(options)
    # Nothing was offered that the service then refused.
    assert not [e for e in at.error if "Access refused" in e.value]


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("who", HANDOFF_ACTORS)
def test_an_offered_handoff_action_succeeds_and_the_choice_is_kept(who: str) -> None:
    at, user = _open("Handoffs", who)
    accepted = {v.id: _accepted_transitions(user.username, v.id) for v in _own_queues(user)}
    # Prefer a step that leaves the handoff open, to see the picker keep it across the rerun.
    handoff_id, action = next(
        ((h, a) for h, acts in accepted.items() for a in acts if a in ("accept", "request")),
        next((h, acts[0]) for h, acts in accepted.items() if acts),
    )
    before = _refusals(user.username)
    at.selectbox(key="ho_pick").set_value(handoff_id).run()
    at.selectbox(key="ho_action").set_value(action)
    at.text_area(key="ho_note").set_value("page action test")
    apptest.button(at, "Apply").click().run()
    apptest.ok(at)
    target = handoffs.TRANSITIONS[action][1]
    assert apptest.successes(at)[0] == f"Handoff {handoff_id} is now {target}."
    with Session(get_engine()) as s:
        row = s.get(Handoff, handoff_id)
        assert row is not None and row.state == target and row.updated_by == user.username
        done = s.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == f"handoff.{action}",
                AuditEvent.entity_id == str(handoff_id),
                AuditEvent.actor == user.username,
            )
        ).one()
    assert done == 1
    assert _refusals(user.username) == before  # nothing refused on the way
    if target in ("requested", "accepted"):
        # Its label changed with its state; the picker still holds it, with its next steps.
        assert at.selectbox(key="ho_pick").value == handoff_id
        next_steps = _accepted_transitions(user.username, handoff_id)
        if next_steps:
            assert tuple(at.selectbox(key="ho_action").options) == next_steps
        else:
            # Accepted with no address check yet: nothing to apply, the check form instead.
            assert "ho_action" not in {w.key for w in at.selectbox}
            assert at.selectbox(key="ho_check_outcome").value == "confirmed"


@pytest.mark.usefixtures("env")
def test_a_met_bcu_manager_narrows_the_queues_to_their_bcu_and_searches() -> None:
    # The City hands one more case to Central East (the demo's open ones go to other BCUs).
    city = _user("city-sup")
    with session_scope(get_engine()) as s:
        rows = caseload(s, force_code=CITY, status="open", limit=500, actor=city.username).rows
        handoffs.create_handoff(
            s,
            actor=city.username,
            case_id=next(r.case_id for r in rows if r.handoff_id is None),
            to_force_code=MET,
            to_bcu_code="CE",
            reason="moved to Hackney",
        )
    at, user = _open("Handoffs", "met-sup-ce")
    bcu = at.selectbox(key="ho_bcu")
    assert bcu.value is None and bcu.options[:2] == ["All BCUs", "Central East (CE)"]
    incoming = apptest.table(apptest.tab(at, "Incoming"), "handoff", "due")
    assert list(incoming.columns[:2]) == ["status", "handoff"]  # red/amber/green first
    assert set(incoming["to BCU"]) > {"Central East"}  # every BCU before narrowing

    at.selectbox(key="ho_bcu").set_value("CE").run()
    apptest.ok(at, errors=False)
    with Session(get_engine()) as s:
        expected = [
            v.id
            for v in handoffs.list_handoffs(
                s, force_code=MET, direction="incoming", state="open", actor=user.username
            )
            if v.handoff.to_bcu_code == "CE"
        ]
    assert expected
    shown = apptest.table(apptest.tab(at, "Incoming"), "handoff", "due")
    assert list(shown["handoff"]) == expected and set(shown["to BCU"]) == {"Central East"}
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Incoming open"] == str(len(expected))
    picked = [int(o.split(" ", 1)[0].lstrip("#")) for o in at.selectbox(key="ho_pick").options]
    assert set(picked) <= set(expected) | {
        v.id for v in _own_queues(user) if v.handoff.from_force_code == MET
    }

    # Search by PNC ID, then by case number: only that person's handoff is left.
    at.selectbox(key="ho_bcu").set_value(None).run()
    with Session(get_engine()) as s:
        one = handoffs.get_handoff_view(s, expected[0], actor=user.username)
    for typed in (one.pnc_id.lower(), f"#{one.case_id}", one.offender_name.split()[-1]):
        at.text_input(key="ho_search").set_value(typed).run()
        apptest.ok(at, errors=False)
        found = apptest.table(apptest.tab(at, "Incoming"), "handoff", "due")
        assert one.id in list(found["handoff"]), typed
        assert all(
            typed.lstrip("#").lower() in f"{h} {c} {n.lower()} {p.lower()}"
            for h, c, n, p in zip(
                found["handoff"], found["case"], found["offender"], found["PNC ID"], strict=True
            )
        ), typed


# --- Caseload: who may be assigned ------------------------------------------------------------


def _pick_case(at: AppTest, case_id: int) -> None:
    at.selectbox(key="cl_case").set_value(case_id).run()
    apptest.ok(at, errors=False)


def _own_case(user: User) -> int:
    """An open case the user's force leads that they do not manage."""
    with Session(get_engine()) as s:
        rows = caseload(
            s, force_code=user.force_code, status="open", limit=500, actor=user.username
        ).rows
    return next(r.case_id for r in rows if r.manager_username != user.username)


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("who", ["city-om", "met-om-ce"])
def test_an_offender_manager_is_offered_only_themselves_and_takes_the_case(who: str) -> None:
    at, user = _open("Caseload", who)
    case_id = _own_case(user)
    _pick_case(at, case_id)
    with Session(get_engine()) as s:
        colleagues = [o.username for o in officer_loads(s, force_code=user.force_code, actor="t")]
    accepted = [u for u in colleagues if _accepts_assignment(user.username, case_id, u)]
    assert accepted == [user.username]  # the write path's rule
    assignee = at.selectbox(key="cl_assignee")
    assert assignee.options == accepted and assignee.value == user.username
    if [d for d in at.dataframe if "capacity % after" in d.value.columns]:
        assert list(apptest.table(at, "capacity % after")["username"]) == [user.username]

    at.text_input(key="cl_reason").set_value("Taking it on")
    apptest.button(at, "Assign").click().run()
    apptest.ok(at)
    assert apptest.successes(at) == [f"Case {case_id} assigned to {user.username}."]
    with Session(get_engine()) as s:
        last = assignment_history(s, case_id=case_id, actor="system:test")[-1]
    assert (
        last.username == user.username and last.ended_at is None and last.reason == "Taking it on"
    )
    # Now theirs: nobody more to offer them.
    assert not _has(at, "cl_assignee")
    assert any(f"You manage case {case_id}" in c.value for c in at.caption)


@pytest.mark.usefixtures("env")
def test_a_supervisor_is_offered_the_officers_of_their_force_and_assigns() -> None:
    at, user = _open("Caseload", "city-sup")
    case_id = _own_case(user)
    _pick_case(at, case_id)
    options = at.selectbox(key="cl_assignee").options
    suggested = list(apptest.table(at, "capacity % after")["username"])
    assert options[: len(suggested)] == suggested  # best suggestion first
    assert at.selectbox(key="cl_assignee").value == suggested[0]
    assert all(_accepts_assignment(user.username, case_id, u) for u in options)
    with Session(get_engine()) as s:
        forces = {u.username: u.force_code for u in s.exec(select(User)).all()}
    assert {forces[u] for u in options} == {CITY}

    target = options[-1]
    at.selectbox(key="cl_assignee").set_value(target)
    apptest.button(at, "Assign").click().run()
    apptest.ok(at)
    assert apptest.successes(at) == [f"Case {case_id} assigned to {target}."]
    with Session(get_engine()) as s:
        assert assignment_history(s, case_id=case_id, actor="system:test")[-1].username == target
    assert target not in at.selectbox(key="cl_assignee").options  # it has that manager now


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("who", ["met-om-ce", "met-sup-ce"])
def test_another_forces_officer_sees_no_assignees_on_a_case_they_may_see(who: str) -> None:
    """A Met officer opening a City-led case (an open handoff to the Met) sees no City officers."""
    at, user = _open("Caseload", who)
    with Session(get_engine()) as s:
        city_officers = {o.username for o in officer_loads(s, force_code=CITY, actor="t")}
        rows = caseload(s, force_code=CITY, status="open", limit=500, actor=user.username).rows
    case_id = next(r.case_id for r in rows if r.handoff_to_force_code == MET)
    assert not any(_accepts_assignment(user.username, case_id, u) for u in sorted(city_officers))
    at.selectbox(key="cl_force").set_value(CITY).run()
    _pick_case(at, case_id)
    assert not _has(at, "cl_assignee") and not _has(at, "cl_suggest")
    assert any(
        f"Case {case_id} is led by City of London Police" in apptest.as_read(c.value)
        for c in at.caption
    )
    assign = apptest.tab(at, "Assign")
    shown = " ".join(str(v) for d in assign.dataframe for v in d.value.to_numpy().ravel())
    assert not assign.selectbox and not [u for u in city_officers if u in shown]


# --- Audit log: offered to everyone who opens it, refused to all but admins -----------------


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_audit_actions_succeed_for_admins_and_are_refused_and_audited_for_others(
    who: str,
) -> None:
    user = _user(who)
    at = apptest.page("audit", user=user.username)
    assert not at.exception
    before = _refusals(user.username, "audit.read")
    apptest.widget(at, "audit_verify").click().run()
    assert not at.exception
    if permission(user.role, "audit.read") == "allow":
        apptest.ok(at)
        with Session(get_engine()) as s:
            report = verify_chain(s, actor=user.username)
        (shown,) = [apptest.as_read(x.value) for x in at.success]
        assert report.ok and shown.split()[:2] == report.message.split()[:2]
        apptest.widget(at, "audit_justification").input("Inspection sample").run()
        apptest.widget(at, "audit_export_go").click().run()
        apptest.ok(at)
        assert _has(at, "audit_download")
        assert _refusals(user.username, "audit.read") == before
        return
    # Offered, but refused: the fixed line, no details, and each refusal in the log.
    errors = [apptest.as_read(e.value) for e in at.error]
    assert errors and all(e.startswith("Access refused: ") for e in errors)
    assert all("Traceback" not in e and "audit_event" not in e for e in errors)
    assert not at.success and not _has(at, "audit_table")
    assert _refusals(user.username, "audit.read") > before
    with pytest.raises(AccessDeniedError), Session(get_engine()) as s:
        verify_chain(s, actor=user.username)
