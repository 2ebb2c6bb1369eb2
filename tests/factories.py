"""Synthetic offenders, cases, addresses, handoffs, meetings and boundary layers for the tests.

Rows are written with the table models directly (``add_*``), so a test of one package does not
depend on another package's services, or through the services where the test needs what they
record (``handoff_in_state``, ``build_world``). Every person is made up; PNC IDs are well formed
and unique in the test process, from one counter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

from coordination.caseload.officers import _user_row
from coordination.core.clock import london_date, utcnow
from coordination.core.db import session_scope
from coordination.handoffs import workflow as handoffs
from coordination.handoffs.address_check import record_address_check
from coordination.models import (
    Address,
    AgendaItem,
    Case,
    Handoff,
    HandoffPublic,
    Meeting,
    Offender,
    UserCreate,
)
from coordination.register.pnc import pnc_check_letter
from coordination.review.agenda import add_item
from coordination.review.meetings import create_meeting
from coordination.review.views import AgendaItemView
from coordination.security import access
from coordination.security.users import create_user
from geo.forces import CITY_OF_LONDON, METROPOLITAN
from geo.layers import BoundaryLayers

CITY, MET, KENT = CITY_OF_LONDON, METROPOLITAN, "E23000032"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday, clear of bank holidays

_serials = itertools.count(1000)


# --- offenders and cases ------------------------------------------------------------------------


def next_pnc_id(year: int = 2019) -> str:
    """A well-formed PNC ID no other factory call in this process has given."""
    serial = next(_serials)
    return f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"


def add_offender(
    session: Session,
    *,
    first_name: str = "Testy",
    last_name: str = "McTestface",
    date_of_birth: date = date(1990, 1, 1),
    sex: str = "male",
    actor: str = "pytest",
) -> Offender:
    """Insert a synthetic offender (flushed, so it has an id)."""
    offender = Offender(
        pnc_id=next_pnc_id(),
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        sex=sex,  # type: ignore[arg-type]
        created_by=actor,
    )
    session.add(offender)
    session.flush()
    assert offender.id is not None
    return offender


def add_address(
    session: Session,
    offender_id: int,
    *,
    state: str = "residence",
    postcode: str | None = None,
    force_code: str | None = None,
    district_code: str | None = None,
    bcu_code: str | None = None,
    valid_from: date = date(2024, 1, 1),
    actor: str = "pytest",
    **fields: Any,
) -> Address:
    """Insert an address of an offender (current unless ``valid_to`` is given in ``fields``)."""
    address = Address(
        offender_id=offender_id,
        state=state,  # type: ignore[arg-type]
        postcode=postcode,
        valid_from=valid_from,
        force_code=force_code,
        district_code=district_code,
        bcu_code=bcu_code,
        created_by=actor,
        **fields,
    )
    session.add(address)
    return address


def add_case(
    session: Session,
    *,
    lead: str = CITY_OF_LONDON,
    status: str = "open",
    first_name: str = "Testy",
    last_name: str = "McTestface",
    programme: str = "iom_fixed",
    risk: str = "medium",
    mappa_level: int | None = None,
    offence_category: str = "burglary (domestic)",
    review: date | None = None,
    manager: str | None = None,
    flags: tuple[str, ...] = (),
    address: str | None = None,
    residence_force: str | None = None,
    district: str | None = None,
    bcu: str | None = None,
    actor: str = "pytest",
) -> int:
    """Insert a synthetic offender with one case; return the case id.

    With ``address`` (a residence state: ``"residence"``, ``"no_fixed_abode"``, ``"unknown"``)
    the offender also gets a current address; a residence is at ``ZZ1 1ZZ`` in
    ``residence_force`` (``district``, ``bcu``). ``manager`` is the username the case is
    assigned to (without an assignment row).
    """
    offender = add_offender(session, first_name=first_name, last_name=last_name, actor=actor)
    assert offender.id is not None
    if address is not None:
        residence = address == "residence"
        add_address(
            session,
            offender.id,
            state=address,
            postcode="ZZ1 1ZZ" if residence else None,
            force_code=residence_force if residence else None,
            district_code=district,
            bcu_code=bcu,
            actor=actor,
        )
    case = Case(
        offender_id=offender.id,
        programme=programme,  # type: ignore[arg-type]
        mappa_category=1 if programme == "mappa" else None,
        mappa_level=mappa_level,
        risk=risk,  # type: ignore[arg-type]
        offence_category=offence_category,
        next_review_due=review,
        lead_force_code=lead,
        assigned_user_id=None if manager is None else _user_row(session, manager).id,
        status=status,  # type: ignore[arg-type]
        flags=list(flags),
        updated_by=actor,
    )
    session.add(case)
    session.flush()
    assert case.id is not None
    return case.id


def new_case(engine: Engine, **kwargs: Any) -> int:
    """Commit a new case (``add_case`` arguments) in its own transaction and return its id."""
    with session_scope(engine) as session:
        return add_case(session, **kwargs)


def _fail(*_: Any, **__: Any) -> Any:  # pragma: no cover - states need no lookup
    raise AssertionError("a state residence needs no lookup")


#: A lookup for registering or moving someone to a state (no fixed abode, unknown): never called.
no_lookup: Any = _fail


# --- handoffs -----------------------------------------------------------------------------------


def add_handoff(
    session: Session,
    case_id: int,
    *,
    state: str,
    from_force: str = CITY_OF_LONDON,
    to_force: str = METROPOLITAN,
    reason: str = "moved",
    actor: str = "pytest",
    **fields: Any,
) -> Handoff:
    """Insert a handoff row as it is, with no workflow (``fields``: dates, BCU, …)."""
    handoff = Handoff(
        case_id=case_id,
        from_force_code=from_force,
        to_force_code=to_force,
        reason=reason,
        state=state,  # type: ignore[arg-type]
        created_by=actor,
        updated_by=actor,
        **fields,
    )
    session.add(handoff)
    return handoff


# Paths from nothing to each state: (create with request?, actions after creating).
PATHS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "proposed": (False, ()),
    "requested": (True, ()),
    "accepted": (True, ("accept", "check")),
    "completed": (True, ("accept", "check", "complete")),
    "rejected": (True, ("reject",)),
    "withdrawn": (True, ("withdraw",)),
}


def confirm_address(
    session: Session, handoff_id: int, *, actor: str = "bob", now: datetime | None = None
) -> HandoffPublic:
    """Record a confirmed address check (a visit on the day) so the handoff may complete."""
    now = now or utcnow()
    return record_address_check(
        session,
        actor=actor,
        handoff_id=handoff_id,
        checked_on=london_date(now),
        method="visit",
        outcome="confirmed",
        now=now,
    )


def handoff_in_state(engine: Engine, state: str, *, to: str = METROPOLITAN) -> HandoffPublic:
    """Make a new City case and a handoff of it in ``state``, through the workflow, at ``T0``."""
    request, actions = PATHS[state]
    case_id = new_case(engine)
    with session_scope(engine) as session:
        handoff = handoffs.create_handoff(
            session,
            actor="alice",
            case_id=case_id,
            to_force_code=to,
            reason="moved",
            request=request,
            now=T0,
        )
    for action in actions:
        with session_scope(engine) as session:
            if action == "check":
                handoff = confirm_address(session, handoff.id, actor="bob", now=T0)
                continue
            handoff = handoffs.transition(
                session,
                actor="bob",
                handoff_id=handoff.id,
                action=action,  # type: ignore[arg-type]
                note="no answer from the sending area" if action == "reject" else None,
                now=T0,
            )
    assert handoff.state == state
    return handoff


# --- meetings -----------------------------------------------------------------------------------


def add_meeting(
    session: Session,
    title: str,
    day: date,
    *,
    forces: tuple[str, ...] = (CITY_OF_LONDON, METROPOLITAN),
    chair: str = "Ch Insp Ada Example",
    attendees: tuple[str, ...] = ("DS Bo Sample", "-2+3", "Ms Zoë Łukasz–O’Brien"),
    **fields: Any,
) -> int:
    """Insert a meeting row (its people's names are awkward for spreadsheets on purpose)."""
    meeting = Meeting(
        title=title,
        meeting_date=day,
        chair=chair,
        attendees=list(attendees),
        forces=sorted(forces),
        created_by="pytest",
        updated_by="pytest",
        **fields,
    )
    session.add(meeting)
    session.flush()
    assert meeting.id is not None
    return meeting.id


def add_agenda_item(
    session: Session, meeting_id: int, case_id: int, position: int, **fields: Any
) -> int:
    """Insert an agenda item row of a meeting; return its id."""
    item = AgendaItem(meeting_id=meeting_id, case_id=case_id, position=position, **fields)
    session.add(item)
    session.flush()
    assert item.id is not None
    return item.id


# --- one world of users and cases for the access-control tests ----------------------------------

#: The application itself (not a user): allowed everything.
SYSTEM = "system:test"
#: Users of the City and the Met in every role: username → (force, role).
USERS: dict[str, tuple[str, str]] = {
    "city.om": (CITY, "offender_manager"),
    "city.om2": (CITY, "offender_manager"),
    "city.sup": (CITY, "supervisor"),
    "city.analyst": (CITY, "analyst"),
    "city.admin": (CITY, "admin"),
    "met.om": (MET, "offender_manager"),
    "met.sup": (MET, "supervisor"),
    "met.analyst": (MET, "analyst"),
}


@dataclass
class World:
    """Ids of what the access-control scenarios act on (``build_world``)."""

    city: int  # case led by the City
    city_b: int  # another City case, with no handoff (to hand off)
    met: int  # case led by the Met
    handed: int  # City case with an open (requested) handoff to the Met
    handoff: int  # that handoff
    on_meeting: int  # City case on the agenda of a City-Met meeting
    excluded: int  # City case from which city.om is excluded
    restricted: int  # City case restricted to city.om2
    joint_meeting: int  # City + Met
    city_meeting: int  # City + Kent: the Met is no party
    offender: dict[int, int]  # case id -> offender id


def build_world(engine: Engine) -> World:
    """The ``USERS`` and cases that exercise each way of seeing a case; return their ids.

    A case is seen by its lead force, by a party to an open handoff or to a joint meeting it is
    on, and subject to limited access (one exclusion, one restriction).
    """
    with session_scope(engine) as s:
        for name, (force, role) in USERS.items():
            create_user(
                s,
                actor=SYSTEM,
                data=UserCreate(
                    username=name,
                    display_name=name.title(),
                    force_code=force,
                    role=role,  # type: ignore[arg-type]
                ),
            )
        ids = {
            key: add_case(s, lead=MET if key == "met" else CITY, last_name=f"Person{key.title()}")
            for key in ("city", "city_b", "met", "handed", "on_meeting", "excluded", "restricted")
        }
        handoff = handoffs.create_handoff(
            s, actor=SYSTEM, case_id=ids["handed"], to_force_code=MET, reason="moved to Hackney"
        )
        joint = create_meeting(
            s,
            actor=SYSTEM,
            title="City-Met",
            meeting_date=date(2025, 3, 10),
            chair="Chair",
            attendees=["a"],
            forces=[CITY, MET],
        )
        city_meeting = create_meeting(
            s,
            actor=SYSTEM,
            title="City-Kent",
            meeting_date=date(2025, 3, 11),
            chair="Chair",
            attendees=["a"],
            forces=[CITY, KENT],
        )
        add_item(s, actor=SYSTEM, meeting_id=joint.id, case_id=ids["on_meeting"], reason="joint")
        access.set_case_access(
            s,
            actor=SYSTEM,
            case_id=ids["excluded"],
            username="city.om",
            mode="exclude",
            reason="relative",
        )
        access.set_case_access(
            s,
            actor=SYSTEM,
            case_id=ids["restricted"],
            username="city.om2",
            mode="allow",
            reason="sensitive",
        )
        offenders = {cid: s.get(Case, cid).offender_id for cid in ids.values()}  # type: ignore[union-attr]
    return World(
        **ids,
        handoff=handoff.id,
        joint_meeting=joint.id,
        city_meeting=city_meeting.id,
        offender=offenders,
    )


# --- the review page's cases (AppTest and browser) ----------------------------------------------


def _residence(session: Session, offender_id: int, force: str, postcode: str, since: date) -> None:
    add_address(
        session,
        offender_id,
        postcode=postcode,
        # Coordinates near the City–Met line (Shoreditch / Moorgate), so a pack map can draw.
        easting=533300.0 if force == MET else 532600.0,
        northing=182300.0 if force == MET else 181500.0,
        valid_from=since,
        force_code=force,
    )


def seed_review_cases(engine: Engine) -> dict[str, int]:
    """Two users and three City cases whose place on a City–Met agenda is known; their ids.

    - ``handoff``: a handoff to the Met requested today → ``handoff_pending``;
    - ``high``: high risk, living in the Met, OGRS3 inputs known → ``high_risk_joint``;
    - ``quiet``: low risk, living in the City → not on the agenda (to add by hand).

    The users are ``cara.city`` (City supervisor) and ``mo.met`` (Met offender manager).
    """
    today = london_date(datetime.now(UTC))
    with session_scope(engine) as session:
        for user in (
            UserCreate(
                username="cara.city", display_name="Cara City", force_code=CITY, role="supervisor"
            ),
            UserCreate(
                username="mo.met", display_name="Mo Met", force_code=MET, role="offender_manager"
            ),
        ):
            create_user(session, actor="pytest", data=user)
        ids = {
            "handoff": add_case(session, first_name="Alice", last_name="Pending"),
            "high": add_case(session, first_name="Bob", last_name="Highrisk"),
            "quiet": add_case(session, first_name="Carl", last_name="Quiet"),
        }
        for key, force, postcode in (
            ("handoff", CITY, "EC2V 7HH"),
            ("high", MET, "E2 7DG"),
            ("quiet", CITY, "EC2V 7HH"),
        ):
            case = session.get(Case, ids[key])
            assert case is not None
            _residence(session, case.offender_id, force, postcode, today - timedelta(days=400))
        high = session.get(Case, ids["high"])
        assert high is not None
        high.risk = "high"
        high.previous_sanctions = 3
        high.age_at_first_sanction = 16
        high.conviction_date = date(2024, 1, 10)
        quiet = session.get(Case, ids["quiet"])
        assert quiet is not None
        quiet.risk = "low"
        session.add_all([high, quiet])
    with session_scope(engine) as session:
        handoffs.create_handoff(
            session, actor="pytest", case_id=ids["handoff"], to_force_code=MET, reason="moved"
        )
    return ids


# --- boundary layers ----------------------------------------------------------------------------


def make_tiny_layers(name: str = "tiny", *, approximate: bool = False) -> BoundaryLayers:
    """Two 1 km squares side by side: the City (E09000001) and a Met borough (E09000002).

    Each district has one ward; the Met borough is in BCU ``EA``. A plain function (the
    ``tiny_layers`` fixture calls it) so a test can make several differently named sets.
    """
    import geopandas as gpd
    from shapely.geometry import box

    from geo.layers import BNG

    city = box(530000, 180000, 531000, 181000)
    met = box(531000, 180000, 532000, 181000)
    districts = gpd.GeoDataFrame(
        {
            "code": ["E09000001", "E09000002"],
            "name": ["City of London", "Barking and Dagenham"],
            "force_code": ["E23000034", "E23000001"],
        },
        geometry=[city, met],
        crs=BNG,
    )
    forces = gpd.GeoDataFrame(
        {
            "code": ["E23000001", "E23000034"],
            "ons_name": ["Metropolitan Police", "London, City of"],
        },
        geometry=[met, city],
        crs=BNG,
    )
    wards = gpd.GeoDataFrame(
        {
            "code": ["E05009288", "E05014053"],
            "name": ["Aldgate", "Abbey"],
            "district_code": ["E09000001", "E09000002"],
        },
        geometry=[city, met],
        crs=BNG,
    )
    bcus = pd.DataFrame({"district_code": ["E09000002"], "bcu_code": ["EA"], "bcu_name": ["East"]})
    return BoundaryLayers(
        name=name,
        source="tests",
        vintage="PFA24 LAD25 WD25",
        districts=districts,
        forces=forces,
        wards=wards,
        bcus=bcus,
        approximate=approximate,
        coverage_note="two squares only",
    )


# --- people on a joint review agenda (tests/coordination/review) ---------------------------


@dataclass(frozen=True)
class Home:
    """One residence: from a day, in a force, so far from a boundary (None: not known)."""

    since: date
    force: str
    metres: float | None = 900.0
    easting: float | None = None
    northing: float | None = None
    flagged: bool | None = None


def person(
    session: Session,
    *,
    lead: str = CITY_OF_LONDON,
    homes: tuple[Home, ...] = (),
    risk: str = "medium",
    programme: str = "iom_fixed",
    mappa_level: int | None = None,
    review: date | None = None,
    status: str = "open",
    sex: str = "male",
    born: date = date(1990, 1, 1),
    ogrs3: tuple[int, int, date] | None = None,
) -> int:
    """Insert a synthetic offender with one case and an address history; return the case id.

    ``ogrs3`` is ``(previous_sanctions, age_at_first_sanction, conviction_date)``.
    """
    case_id = add_case(session, lead=lead)
    case = session.get(Case, case_id)
    assert case is not None
    case.risk = risk  # type: ignore[assignment]
    case.programme = programme  # type: ignore[assignment]
    case.mappa_level = mappa_level
    case.mappa_category = 1 if mappa_level else None
    case.next_review_due = review
    case.status = status  # type: ignore[assignment]
    if ogrs3 is not None:
        case.previous_sanctions, case.age_at_first_sanction, case.conviction_date = ogrs3
    offender = session.get(Offender, case.offender_id)
    assert offender is not None
    offender.sex = sex  # type: ignore[assignment]
    offender.date_of_birth = born
    for i, home in enumerate(homes):
        following = homes[i + 1].since if i + 1 < len(homes) else None
        near = home.metres is not None and home.metres <= 100
        session.add(
            Address(
                offender_id=case.offender_id,
                state="residence",
                postcode="E1 6AN",
                easting=home.easting,
                northing=home.northing,
                valid_from=home.since,
                valid_to=following,
                force_code=home.force,
                distance_to_boundary_m=home.metres,
                near_boundary=near if home.flagged is None else home.flagged,
                created_by="pytest",
            )
        )
    session.flush()
    return case_id


def codes(items: list[AgendaItemView]) -> dict[int, tuple[str, ...]]:
    return {item.case_id: item.reason_codes for item in items}


def texts(items: list[AgendaItemView], case_id: int) -> list[str]:
    return [r["text"] for item in items if item.case_id == case_id for r in item.reasons]
