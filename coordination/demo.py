"""A synthetic demo caseload: officers, offenders, a year of moves and handoffs.

Everything is made up except the postcodes, which are real London (and a few other) postcodes
from the ONS postcode directory. The same seed gives the same caseload: every random choice comes
from one ``random.Random(seed)``, drawn in a fixed order, and the history is laid out relative to
a fixed ``today``.

The story the data tells: the City of London Police registers offenders who come to its notice.
A few live in the City; most live in the boroughs around it, some further out in London and a
few outside London. A new case whose address is not yet verified stays with the City (the rule
table's fallback); when the address is verified and lies in another force, a handoff starts, and
over the following weeks it is accepted and completed (the case then belongs to the Met BCU where
the person lives), or rejected, withdrawn, or still open — some of them overdue. Later moves into
the City, back out, or out of London make more handoffs, including ping-pong cases and frequent
movers. Fraud cases stay with the City wherever the person lives (the economic-crime exception).

Every write goes through the service functions (``register``, ``handoffs``, ``caseload``,
``users``), so every row has its audit event; the synthetic officers are the actors of the
story's steps. Handoffs are created with their real (backdated) request time first and the move
recorded straight after: ``register.move_offender`` then finds the matching open handoff instead
of starting one dated today, so due dates, overdue handoffs and the network's year are real.
"""

from __future__ import annotations

import math
import random
import time as timer
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from coordination import caseload, handoffs, register, rules
from coordination.audit import record_event
from coordination.models import (
    AddressPublic,
    AuditEvent,
    Offender,
    Role,
    UserCreate,
)
from coordination.pnc import pnc_check_letter
from coordination.users import create_user, get_user, mark_demo_account
from geo.errors import CrossforceError, InputError
from geo.forces import CITY_OF_LONDON, LONDON_DISTRICTS, MET_BCUS, METROPOLITAN, force_name
from geo.lookup import Lookup, LookupResult
from geo.postcodes import PostcodeDirectory

__all__ = [
    "DEMO_ACTION",
    "DEMO_PASSWORD",
    "NEIGHBOURS",
    "DemoInfo",
    "DemoReport",
    "demo_info",
    "has_offenders",
    "seed_demo",
]

DEMO_ACTION = "demo.seed"
# The shared password of the demo accounts (README, "Signing in"). Public on purpose: the demo
# accounts exist only outside production, where `seed_demo` never creates them.
DEMO_PASSWORD = "crossforce-demo"
NOTICE = (
    "Synthetic demo data: every person, officer, case and handoff here is made up "
    "(only the postcodes are real)."
)

CITY_DISTRICT = "E09000001"
# The City's neighbours (DOMAIN.md): Westminster, Camden, Islington, Hackney, Tower Hamlets and
# Southwark across the river.
NEIGHBOURS: tuple[str, ...] = (
    "E09000033",
    "E09000007",
    "E09000019",
    "E09000012",
    "E09000030",
    "E09000028",
)
# A few places outside London: commuter districts (their force needs the national pack) and
# Scottish and Northern Irish cities (known without it). Only those the active boundary set can
# give a force are used.
OUTSIDE: tuple[str, ...] = (
    "E07000070",  # Chelmsford (Essex)
    "E07000240",  # St Albans (Hertfordshire)
    "E07000107",  # Dartford (Kent)
    "E07000207",  # Elmbridge (Surrey)
    "E06000039",  # Slough (Thames Valley)
    "E07000242",  # East Hertfordshire
    "S12000036",  # City of Edinburgh (Police Scotland)
    "S12000049",  # Glasgow City (Police Scotland)
    "N09000003",  # Belfast (PSNI)
)

# --- made-up people ----------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_MALE = _words(
    "Aaron Adam Adrian Ahmed Alan Alex Ali Amir Andre Andrew Anthony Ashley Ben Bilal Brandon "
    "Callum Carl Chris Craig Daniel Darren Dean Dylan Ethan Faisal Gary George Harry Hassan "
    "Ibrahim Imran Jack Jake Jamal James Jason Jermaine Joel Jordan Josh Kai Kieran Kevin Lee "
    "Leon Liam Luke Marcus Mark Mason Matthew Michael Mohammed Nathan Nico Omar Oscar Paul "
    "Reece Ricky Robert Ryan Sam Scott Sean Stefan Terry Tom Tyrone Wayne Zain"
)
_FEMALE = _words(
    "Aaliyah Abigail Aisha Alicia Amber Amy Chantelle Chloe Claire Danielle Donna Ella Emma "
    "Fatima Gemma Grace Hannah Jade Jasmine Jess Kayleigh Kelly Kirsty Laura Leah Lisa Lucy "
    "Maria Megan Michelle Nadia Natalie Nicole Paige Rachel Rebecca Sadia Samantha Sarah Shannon "
    "Sophie Stacey Tanya Tasha Vicky Yasmin Zara Zoe"
)
_SURNAMES = _words(
    "Abbott Adeyemi Ahmed Akhtar Allen Anderson Appiah Atkins Bailey Baker Barnes Begum Bell "
    "Bennett Boateng Bond Bradley Brooks Brown Burke Campbell Carter Chapman Clarke Cole Collins "
    "Cooper Cox Davies Dawson Edwards Ellis Evans Fernandes Fisher Fletcher Foster Francis "
    "Gordon Graham Grant Green Hall Hamilton Harris Hart Hill Holmes Hughes Hussain Islam Jackson "
    "James Johnson Jones Kaur Kelly Khan King Knight Lawrence Lewis Lloyd Marshall Martin Mason "
    "Mensah Miah Mills Mitchell Moore Morgan Murphy Nowak Okafor Oliveira Owen Palmer Parker "
    "Patel Pearce Phillips Price Rahman Reid Richards Roberts Robinson Rose Russell Santos "
    "Scott Shah Sharma Simpson Singh Smith Stewart Taylor Thomas Thompson Turner Uddin Walker "
    "Ward Watson White Williams Wilson Wood Wright Young"
)
_NICKNAMES = ("Jay", "Ty", "Dee", "Kez", "Bugsy", "Smudge", "Tiny", "Lefty", "Reds", "Moz")

# --- cases ---------------------------------------------------------------------------------

_PROGRAMMES = (("iom_fixed", 25), ("iom_flex", 15), ("iom_free", 8), ("mappa", 27), ("other", 25))
_OFFENCES: dict[str, tuple[str, ...]] = {
    "iom_fixed": (
        "robbery",
        "burglary_domestic",
        "burglary_other",
        "theft_from_vehicle",
        "taking_and_driving_away",
        "theft_non_motor",
    ),
    "iom_flex": (
        "drug_possession_supply",
        "violence",
        "public_order",
        "criminal_damage",
        "handling_stolen_goods",
        "theft_non_motor",
    ),
    "iom_free": ("theft_non_motor", "fraud_and_forgery", "absconding_or_bail", "other"),
    "other": (
        "fraud_and_forgery",
        "fraud_and_forgery",
        "fraud_and_forgery",
        "other_motoring",
        "drink_driving",
        "drug_import_export_production",
        "soliciting",
        "other",
    ),
}
_MAPPA_OFFENCES: dict[int, tuple[str, ...]] = {
    1: ("sexual_not_child", "sexual_child"),
    2: ("violence", "violence", "robbery"),
    3: ("violence", "drug_import_export_production", "other"),
}
_RISKS: dict[str, tuple[int, int, int, int]] = {
    "mappa": (5, 35, 45, 15),
    "iom_fixed": (20, 45, 28, 7),
    "iom_flex": (25, 45, 25, 5),
    "iom_free": (35, 45, 17, 3),
    "other": (40, 40, 17, 3),
}
_RISK_NAMES = ("low", "medium", "high", "very_high")

# --- officers ------------------------------------------------------------------------------

# (grade, points a full-time officer of the grade carries, weight)
_GRADES = (("PC", 300.0, 5), ("DC", 330.0, 3), ("Police staff", 250.0, 2))
_TARGET_CAPACITY = 0.85  # officers are provisioned for about this average load
_HOURS = ((37.0, 37.0, 12), (37.0, 33.0, 4), (37.0, 30.0, 2), (30.0, 30.0, 2), (22.5, 22.5, 1))

# Handoff outcomes and their weights; the first handoffs take one of each in turn so that
# every state appears even in a small demo.
_OUTCOMES = (
    ("completed", 66),
    ("accepted", 7),
    ("requested", 8),
    ("rejected", 6),
    ("withdrawn", 6),
    ("proposed", 3),
)
_OPEN_OUTCOMES = frozenset({"proposed", "requested", "accepted"})
_STUCK_DAYS = 60  # no handoff is left open for longer than this
_FORCED_OUTCOMES = ("completed", "requested", "accepted", "rejected", "withdrawn", "proposed")


@dataclass(frozen=True)
class DemoReport:
    """What :func:`seed_demo` did.

    Attributes
    ----------
    skipped
        True when ``if_empty`` found offenders already registered (nothing was written).
    seed, today
        The seed and the date the history is laid out to.
    users, offenders, addresses, moves, assignments
        How many of each were written.
    handoffs
        Handoffs by final state.
    leads
        Open cases by lead force code at the end.
    seconds
        Wall time.
    """

    skipped: bool
    seed: int
    today: date
    users: int = 0
    offenders: int = 0
    addresses: int = 0
    moves: int = 0
    assignments: int = 0
    handoffs: dict[str, int] = field(default_factory=dict)
    leads: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "skipped": self.skipped,
            "seed": self.seed,
            "today": self.today.isoformat(),
            "users": self.users,
            "offenders": self.offenders,
            "addresses": self.addresses,
            "moves": self.moves,
            "assignments": self.assignments,
            "handoffs": dict(self.handoffs),
            "leads": dict(self.leads),
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class DemoInfo:
    """Whether the database holds demo data, and which demo it was."""

    seed: int
    offenders: int
    today: date
    seeded_at: datetime
    seeded_by: str
    notice: str = NOTICE


def has_offenders(session: Session) -> bool:
    """Return whether any offender is registered."""
    return session.exec(select(Offender.id).limit(1)).first() is not None


def demo_info(session: Session) -> DemoInfo | None:
    """Return the latest demo seeding recorded in the audit log, or ``None`` for real data only.

    Parameters
    ----------
    session
        Any session.

    Returns
    -------
    DemoInfo or None
        The pages show :attr:`DemoInfo.notice` whenever this is not ``None``.
    """
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == DEMO_ACTION)
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).first()
    if event is None:
        return None
    details = event.details or {}
    return DemoInfo(
        seed=int(details.get("seed", 0)),
        offenders=int(details.get("offenders", 0)),
        today=date.fromisoformat(str(details.get("today", event.at.date().isoformat()))),
        seeded_at=event.at,
        seeded_by=event.actor,
    )


# --- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    """A resolved postcode: where a person can live."""

    postcode: str
    force: str | None
    district: str | None
    district_name: str | None
    bcu: str | None
    result: LookupResult


@dataclass
class _HandoffPlan:
    to_force: str
    to_bcu: str | None
    reason: str
    requested_at: datetime
    outcome: str
    accepted_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass
class _MovePlan:
    on: date
    place: _Place | None  # None: address unknown again (a move that did not happen)
    handoff: _HandoffPlan | None = None
    back_to: _Place | None = None  # a withdrawn move: where the person is recorded again


@dataclass
class _OffenderPlan:
    first_name: str
    last_name: str
    aliases: list[str]
    date_of_birth: date
    sex: str
    pnc_id: str
    programme: str
    mappa_category: int | None
    mappa_level: int | None
    risk: str
    offence: str
    registered: date
    next_review_due: date
    first_place: _Place | None  # None: registered with the address not yet verified
    moves: list[_MovePlan] = field(default_factory=list)
    final_lead: str = CITY_OF_LONDON
    final_place: _Place | None = None
    lead_bcu: str | None = None  # the Met BCU of the last Met residence while the Met leads
    last_completed: date | None = None


def _weighted(rng: random.Random, items: Sequence[tuple[Any, int]]) -> Any:
    total = sum(w for _, w in items)
    pick = rng.randrange(total)
    for item, weight in items:
        if pick < weight:
            return item
        pick -= weight
    raise AssertionError("unreachable")  # pragma: no cover


class _Pools:
    """Real postcodes by region, each a sorted array of positions in the directory."""

    def __init__(self, directory: PostcodeDirectory, lookup: Lookup) -> None:
        self.directory = directory
        self.lookup = lookup
        codes = {str(c): i for i, c in enumerate(directory.district_codes)}
        located = (directory.eastings != -1) & (directory.northings != -1)

        def pool(districts: Sequence[str]) -> np.ndarray:
            wanted = np.array([codes[d] for d in districts if d in codes], dtype=np.int32)
            mask = located & np.isin(directory.district_index, wanted)
            return np.flatnonzero(mask)

        self.city = pool([CITY_DISTRICT])
        self.neighbours = pool(NEIGHBOURS)
        others = [d for d in LONDON_DISTRICTS if d != CITY_DISTRICT and d not in NEIGHBOURS]
        self.london = pool(sorted(others))
        usable = [d for d in OUTSIDE if d in codes and self._force_known(pool([d]))]
        self.outside = pool(usable)
        self._cache: dict[int, _Place | None] = {}

    def _force_known(self, positions: np.ndarray) -> bool:
        if not len(positions):
            return False
        result = self._resolve(int(positions[len(positions) // 2]))
        return result is not None and result.force is not None

    def _resolve(self, position: int) -> LookupResult | None:
        try:
            return self.lookup.lookup(str(self.directory.postcodes[position]))
        except CrossforceError:
            return None

    def pick(self, rng: random.Random, region: str) -> _Place:
        """Draw a postcode of a region whose force is known (a few draws at most)."""
        positions = getattr(self, region)
        if not len(positions):
            positions = self.london if region == "outside" else self.neighbours
        for _ in range(50):
            position = int(positions[rng.randrange(len(positions))])
            place = self._place(position)
            if place is not None:
                return place
        raise InputError(f"No usable postcodes for the demo region {region!r}")

    def _place(self, position: int) -> _Place | None:
        if position in self._cache:
            return self._cache[position]
        result = self._resolve(position)
        place = None
        if result is not None and result.force is not None:
            place = _Place(
                postcode=str(result.postcode),
                force=result.force.code,
                district=result.district.code if result.district else None,
                district_name=result.district.name if result.district else None,
                bcu=result.bcu.code if result.bcu else None,
                result=result,
            )
        self._cache[position] = place
        return place


def _pnc(rng: random.Random, born: date, today: date, used: set[str]) -> str:
    while True:
        year = rng.randint(min(born.year + 14, today.year - 1), today.year - 1)
        serial = rng.randrange(1, 10_000_000)
        pnc = f"{year:04d}/{serial:07d}{pnc_check_letter(year, serial)}"
        if pnc not in used:
            used.add(pnc)
            return pnc


def _person(rng: random.Random, today: date, used: set[str]) -> dict[str, Any]:
    sex = "male" if rng.random() < 0.84 else "female"
    first = rng.choice(_MALE if sex == "male" else _FEMALE)
    last = rng.choice(_SURNAMES)
    aliases: list[str] = []
    if rng.random() < 0.12:
        aliases.append(f"{first} {rng.choice(_SURNAMES)}")
    if rng.random() < 0.06:
        aliases.append(rng.choice(_NICKNAMES))
    age = int(rng.triangular(18, 72, 29))
    born = today - timedelta(days=age * 365 + rng.randrange(365))
    return {
        "first_name": first,
        "last_name": last,
        "aliases": aliases,
        "date_of_birth": born,
        "sex": sex,
        "pnc_id": _pnc(rng, born, today, used),
    }


def _case(rng: random.Random) -> dict[str, Any]:
    programme = _weighted(rng, _PROGRAMMES)
    category = level = None
    if programme == "mappa":
        category = _weighted(rng, ((1, 45), (2, 45), (3, 10)))
        level = _weighted(rng, ((1, 70), (2, 25), (3, 5)))
        offence = rng.choice(_MAPPA_OFFENCES[category])
    else:
        offence = rng.choice(_OFFENCES[programme])
    risk = _weighted(rng, tuple(zip(_RISK_NAMES, _RISKS[programme], strict=True)))
    return {
        "programme": programme,
        "mappa_category": category,
        "mappa_level": level,
        "risk": risk,
        "offence": offence,
    }


def _review_due(rng: random.Random, programme: str, registered: date, today: date) -> date:
    due = register.review_due(programme, registered)
    # Reviews have been held on time, except a few that slipped (overdue now).
    slack = rng.randint(-30, 0) if rng.random() < 0.08 else 1
    while due < today + timedelta(days=slack):
        due = register.review_due(programme, due)
    return due


def _at(rng: random.Random, day: date) -> datetime:
    """A working-hours moment on a day (UTC; the London date is the same)."""
    return datetime.combine(day, time(9 + rng.randrange(8), rng.randrange(60)), tzinfo=UTC)


def _residence_address(place: _Place | None) -> AddressPublic:
    """An address row as ``rules.decide`` reads it (only the fields it looks at)."""
    if place is None:
        return AddressPublic.model_construct(state="unknown", near_boundary=False)
    result = place.result
    return AddressPublic.model_construct(
        state="residence",
        postcode=place.postcode,
        easting=result.easting,
        northing=result.northing,
        force_code=place.force,
        district_code=place.district,
        bcu_code=place.bcu,
        distance_to_boundary_m=result.distance_to_boundary_m,
        near_boundary=result.near_boundary,
    )


class _Planner:
    """Lays out each offender's year: registration, moves, handoffs and their outcomes."""

    def __init__(
        self,
        rng: random.Random,
        pools: _Pools,
        rule_table: list[rules.Rule],
        today: date,
        near_boundary_m: float,
    ) -> None:
        self.rng = rng
        self.pools = pools
        self.rules = rule_table
        self.today = today
        self.last_day = today - timedelta(days=1)  # history ends yesterday
        self.near_boundary_m = near_boundary_m
        self.forced = list(_FORCED_OUTCOMES)
        self.used_pnc: set[str] = set()

    def decide(self, plan: _OffenderPlan, place: _Place | None, lead: str | None) -> str:
        return rules.decide(
            rules=self.rules,
            residence=_residence_address(place),
            programme=plan.programme,
            offence_category=plan.offence,
            current_lead=lead,
            near_boundary_m=self.near_boundary_m,
        ).force_code

    def outcome(self, on: date) -> str:
        age = (self.today - on).days
        # The first handoffs take one outcome each, so that every state appears even in a
        # small demo; an open one only where it would not be stuck for months.
        for i, forced in enumerate(self.forced):
            if forced not in _OPEN_OUTCOMES or age <= _STUCK_DAYS:
                return self.forced.pop(i)
        outcome = str(_weighted(self.rng, _OUTCOMES))
        # Most handoffs still open were requested recently; a few are stuck (overdue).
        stale = outcome in _OPEN_OUTCOMES and age > 30
        if stale and (age > _STUCK_DAYS or self.rng.random() < 0.7):
            outcome = "completed"
        return outcome

    def handoff(self, place: _Place, to_force: str, on: date) -> _HandoffPlan:
        rng = self.rng
        requested = _at(rng, on)
        outcome = self.outcome(on)
        bcu = place.bcu if to_force == METROPOLITAN else None
        where = place.district_name or place.district or place.postcode
        reason = f"Moved to {where} ({place.district})" if place.district else f"Moved to {where}"
        if bcu:
            reason += f", {_bcu_name(bcu)} BCU"
        plan = _HandoffPlan(to_force, bcu, reason, requested, outcome)
        if outcome in ("requested", "proposed"):
            return plan
        decided = on + timedelta(days=rng.randint(1, 9))
        if decided > self.last_day:
            plan.outcome = "requested"
            return plan
        if outcome == "rejected":
            plan.closed_at = _at(rng, decided)
            return plan
        if outcome == "withdrawn":
            plan.closed_at = _at(rng, decided)
            return plan
        plan.accepted_at = _at(rng, decided)
        if outcome == "accepted":
            return plan
        completed = decided + timedelta(days=rng.randint(2, 20))
        if completed > self.last_day:
            plan.outcome = "accepted"
            return plan
        plan.closed_at = _at(rng, completed)
        return plan

    def destination(self, current: _Place | None, previous: _Place | None) -> _Place:
        kind = _weighted(
            self.rng,
            (("same", 40), ("city", 18), ("neighbours", 17), ("back", 12), ("outside", 8)),
        )
        if kind == "back" and previous is not None:
            return previous
        if kind == "same" and current is not None:
            if current.force == CITY_OF_LONDON:
                return self.pools.pick(self.rng, "city")
            if current.force == METROPOLITAN:
                return self.pools.pick(
                    self.rng, "london" if self.rng.random() < 0.5 else "neighbours"
                )
            return self.pools.pick(self.rng, "outside")
        if kind in ("city", "outside"):
            return self.pools.pick(self.rng, kind)
        return self.pools.pick(self.rng, "neighbours")

    def plan(self) -> _OffenderPlan:
        rng = self.rng
        person = _person(rng, self.today, self.used_pnc)
        case = _case(rng)
        registered = self.today - timedelta(days=rng.randint(2, 365))
        region = _weighted(rng, (("city", 6), ("neighbours", 62), ("london", 24), ("outside", 8)))
        home = self.pools.pick(rng, region)
        plan = _OffenderPlan(
            **person,
            **case,
            registered=registered,
            next_review_due=_review_due(rng, case["programme"], registered, self.today),
            first_place=home if home.force == CITY_OF_LONDON else None,
        )
        lead = self.decide(plan, plan.first_place, None)
        current: _Place | None = plan.first_place
        previous: _Place | None = None
        day = registered
        # The address is verified a few days after registration (unless they live in the City).
        destinations: list[_Place] = [] if plan.first_place is not None else [home]
        extra = _weighted(rng, ((0, 58), (1, 25), (2, 11), (3, 6)))
        for step in range(len(destinations) + extra):
            if step == 0 and plan.first_place is None:
                day = day + timedelta(days=rng.randint(1, 10))
                place = home
            else:
                day = day + timedelta(days=rng.randint(14, 100))
                place = self.destination(current, previous)
            if day > self.last_day:
                break
            if place is current:
                continue
            target = self.decide(plan, place, lead)
            move = _MovePlan(on=day, place=place)
            plan.moves.append(move)
            if target == lead:
                previous, current = current, place
                if lead == METROPOLITAN and place.force == METROPOLITAN:
                    plan.lead_bcu = place.bcu
                continue
            move.handoff = self.handoff(place, target, day)
            outcome = move.handoff.outcome
            if outcome == "withdrawn":
                # The move did not happen: the person is recorded back where they were.
                assert move.handoff.closed_at is not None
                move.back_to = current
                day = move.handoff.closed_at.date()
                continue
            previous, current = current, place
            if outcome == "completed":
                assert move.handoff.closed_at is not None
                lead = target
                plan.lead_bcu = place.bcu if lead == METROPOLITAN else None
                day = move.handoff.closed_at.date()
                plan.last_completed = day
                continue
            break  # an open or rejected handoff ends the story for this case
        plan.final_lead = lead
        plan.final_place = current
        return plan


def _bcu_name(code: str) -> str:
    return next((name for bcu, name in MET_BCUS.values() if bcu == code), code)


# --- officers ------------------------------------------------------------------------------


@dataclass
class _Officer:
    username: str
    display_name: str
    force: str
    bcu: str | None
    grade: str
    grade_points: float
    contracted: float
    available: float
    load: float = 0.0

    @property
    def capacity(self) -> float:
        return self.grade_points * self.available / self.contracted


@dataclass
class _Team:
    force: str
    bcu: str | None
    supervisor: str
    supervisor_name: str
    officers: list[_Officer]

    def choose(self, rng: random.Random, points: float) -> _Officer:
        # Mostly the least loaded officer, sometimes anyone: loads spread like real teams.
        if rng.random() < 0.75:
            officer = min(self.officers, key=lambda o: (o.load / o.capacity, o.username))
        else:
            officer = self.officers[rng.randrange(len(self.officers))]
        officer.load += points
        return officer


def _usernames(rng: random.Random, count: int, taken: set[str]) -> list[tuple[str, str]]:
    names = []
    for _ in range(count):
        first = rng.choice(_MALE if rng.random() < 0.6 else _FEMALE)
        last = rng.choice(_SURNAMES)
        base = f"{first}.{last}".lower()
        username, n = base, 1
        while username in taken:
            n += 1
            username = f"{base}{n}"
        taken.add(username)
        names.append((username, f"{first} {last}"))
    return names


def _teams(
    rng: random.Random, plans: list[_OffenderPlan], weights: caseload.CaseWeights
) -> dict[tuple[str, str | None], _Team]:
    """Officers for the City and each Met BCU, enough for the cases each will hold."""
    demand: dict[tuple[str, str | None], float] = dict.fromkeys([(CITY_OF_LONDON, None)], 0.0)
    for plan in plans:
        points = weights.case_points(plan.programme, plan.risk, plan.mappa_level)
        if plan.final_lead == CITY_OF_LONDON:
            demand[(CITY_OF_LONDON, None)] += points
        elif plan.final_lead == METROPOLITAN and plan.lead_bcu is not None:
            key = (METROPOLITAN, plan.lead_bcu)
            demand[key] = demand.get(key, 0.0) + points
    keys: list[tuple[str, str | None]] = [(CITY_OF_LONDON, None)]
    keys += [(METROPOLITAN, bcu) for bcu in sorted({b for b, _ in MET_BCUS.values()})]
    taken: set[str] = set()
    teams = {}
    average = sum(p * w for _, p, w in _GRADES) / sum(w for *_, w in _GRADES)
    for force, bcu in keys:
        size = max(2, math.ceil(demand.get((force, bcu), 0.0) / (average * _TARGET_CAPACITY)))
        names = _usernames(rng, size + 1, taken)
        supervisor = names[0][0]
        officers = []
        for username, display in names[1:]:
            grade = _weighted(rng, tuple(((g, p), w) for g, p, w in _GRADES))
            contracted, available = _weighted(rng, tuple(((c, a), w) for c, a, w in _HOURS))
            officers.append(
                _Officer(username, display, force, bcu, grade[0], grade[1], contracted, available)
            )
        officers.sort(key=lambda o: o.username)
        teams[(force, bcu)] = _Team(force, bcu, supervisor, names[0][1], officers)
    return teams


def _team_label(force: str, bcu: str | None) -> str:
    if force == CITY_OF_LONDON:
        return "City Offender Management Unit"
    return f"{_bcu_name(bcu or '')} IOM team"


# --- seeding -------------------------------------------------------------------------------


def seed_demo(
    session: Session,
    *,
    actor: str,
    lookup: Lookup,
    directory: PostcodeDirectory,
    offenders: int = 2000,
    seed: int = 1,
    today: date | None = None,
    if_empty: bool = False,
    near_boundary_m: float = 100.0,
    progress: Callable[[str], None] | None = None,
) -> DemoReport:
    """Write a synthetic demo caseload into the session (the caller commits).

    Parameters
    ----------
    session
        Open session; everything is written in it, so the demo commits or rolls back whole.
    actor
        Who is seeding (the users and the ``demo.seed`` audit event); the story's own steps are
        acted by the synthetic officers.
    lookup
        The boundary lookup (``coordination.lookup.get_service().lookup``).
    directory
        The postcode directory the demo draws real postcodes from.
    offenders
        How many offenders, 1–100,000.
    seed
        The random seed: the same seed (and ``today``) gives the same caseload.
    today
        The day the year of history runs up to (default: today); it may not be in the future.
    if_empty
        Do nothing when any offender is registered already (``make run`` seeds once).
    near_boundary_m
        Residences this close to another force are flagged for address verification.
    progress
        Called with short progress lines.

    Returns
    -------
    DemoReport

    Raises
    ------
    InputError
        ``offenders`` out of range, ``today`` in the future, or the postcode directory gives no
        usable London postcodes.
    """
    started = timer.perf_counter()
    real_today = date.today()
    today = today or real_today
    if today > real_today:
        raise InputError(f"The demo cannot be dated in the future ({today.isoformat()})")
    if not 1 <= offenders <= 100_000:
        raise InputError(f"The demo needs between 1 and 100,000 offenders, not {offenders}")
    if if_empty and has_offenders(session):
        return DemoReport(skipped=True, seed=seed, today=today)
    say = progress or (lambda _line: None)

    rules.seed_rules(session, actor=actor)
    caseload.seed_case_weights(session, actor=actor)
    weights = caseload.load_case_weights(session)
    rng = random.Random(seed)
    pools = _Pools(directory, lookup)
    if not len(pools.neighbours):
        raise InputError("The postcode directory has no London postcodes to draw the demo from")
    planner = _Planner(rng, pools, rules.load_rules(session), today, near_boundary_m)
    say(f"Planning {offenders:,} synthetic offenders (seed {seed})…")
    plans = [planner.plan() for _ in range(offenders)]

    teams = _teams(rng, plans, weights)
    n_users = _create_officers(session, actor=actor, teams=teams)
    n_users += _demo_accounts(session, actor=actor, teams=teams, say=say)
    say(f"Created {n_users} synthetic officers; registering offenders…")

    counts = _Counts()
    for i, plan in enumerate(plans, start=1):
        _play(
            session,
            rng=rng,
            plan=plan,
            teams=teams,
            weights=weights,
            lookup=lookup,
            today=today,
            near_boundary_m=near_boundary_m,
            counts=counts,
        )
        if i % 500 == 0:
            say(f"… {i:,} of {offenders:,} offenders")

    report = DemoReport(
        skipped=False,
        seed=seed,
        today=today,
        users=n_users,
        offenders=offenders,
        addresses=counts.addresses,
        moves=counts.moves,
        assignments=counts.assignments,
        handoffs=dict(sorted(counts.handoffs.items())),
        leads=dict(sorted(Counter(p.final_lead for p in plans).items())),
        seconds=timer.perf_counter() - started,
    )
    record_event(
        session,
        actor=actor,
        action=DEMO_ACTION,
        entity_type="demo",
        entity_id=str(seed),
        details={k: v for k, v in report.to_dict().items() if k not in ("skipped", "seconds")},
    )
    return report


@dataclass
class _Counts:
    addresses: int = 0
    moves: int = 0
    assignments: int = 0
    handoffs: Counter[str] = field(default_factory=Counter)


def _create_officers(
    session: Session, *, actor: str, teams: dict[tuple[str, str | None], _Team]
) -> int:
    created = 0
    for (force, bcu), team in teams.items():
        label = _team_label(force, bcu)
        people: list[tuple[str, str, Role, _Officer | None]] = [
            (team.supervisor, team.supervisor_name, "supervisor", None)
        ]
        people += [(o.username, o.display_name, "offender_manager", o) for o in team.officers]
        for username, display, role, officer in people:
            if get_user(session, username) is not None:
                continue
            create_user(
                session,
                actor=actor,
                data=UserCreate(
                    username=username,
                    display_name=display,
                    force_code=force,
                    role=role,
                    bcu_code=bcu,
                    team=label,
                ),
            )
            created += 1
            if officer is not None:
                caseload.set_officer_profile(
                    session,
                    actor=actor,
                    username=username,
                    grade=officer.grade,
                    grade_points=officer.grade_points,
                    contracted_hours=officer.contracted,
                    available_hours=officer.available,
                )
    return created


def _demo_accounts(
    session: Session,
    *,
    actor: str,
    teams: dict[tuple[str, str | None], _Team],
    say: Callable[[str], None],
) -> int:
    """Give a handful of users the shared demo password and mark them ``is_demo``.

    Three of the synthetic officers (the City's supervisor, a City manager, a manager of the
    Met's Central East BCU, which covers Hackney and Tower Hamlets) and two made for the purpose
    (an analyst and an admin of the City). Never in production. Returns how many users were
    created (the analyst and the admin).
    """
    from coordination.auth import set_password
    from coordination.settings import get_settings

    if get_settings().env == "production":
        say("Production: no demo accounts created.")
        return 0
    city = teams[(CITY_OF_LONDON, None)]
    usernames = [city.supervisor, city.officers[0].username]
    central_east = teams.get((METROPOLITAN, "CE"))
    if central_east is not None:
        usernames.append(central_east.officers[0].username)
    created = 0
    extra: tuple[tuple[str, str, Role], ...] = (
        ("demo.analyst", "Demo Analyst", "analyst"),
        ("demo.admin", "Demo Admin", "admin"),
    )
    for username, display, role in extra:
        if get_user(session, username) is None:
            create_user(
                session,
                actor=actor,
                data=UserCreate(
                    username=username,
                    display_name=display,
                    force_code=CITY_OF_LONDON,
                    role=role,
                    team=_team_label(CITY_OF_LONDON, None),
                ),
            )
            created += 1
        usernames.append(username)
    for username in usernames:
        # The hash has a random salt; test_demo compares no password fields across seeds.
        set_password(session, actor=actor, username=username, password=DEMO_PASSWORD)
        mark_demo_account(session, actor=actor, username=username)
    return created


def _residence(place: _Place | None) -> register.Residence:
    if place is None:
        return register.Residence.unknown()
    return register.Residence(postcode=place.postcode)


def _play(
    session: Session,
    *,
    rng: random.Random,
    plan: _OffenderPlan,
    teams: dict[tuple[str, str | None], _Team],
    weights: caseload.CaseWeights,
    lookup: Lookup,
    today: date,
    near_boundary_m: float,
    counts: _Counts,
) -> None:
    """Write one offender's year through the services, in the order it happened."""
    city = teams[(CITY_OF_LONDON, None)]
    points = weights.case_points(plan.programme, plan.risk, plan.mappa_level)
    added = register.add_offender(
        session,
        actor=city.supervisor,
        offender=register.validated(
            register.OffenderCreate,
            pnc_id=plan.pnc_id,
            first_name=plan.first_name,
            last_name=plan.last_name,
            aliases=plan.aliases,
            date_of_birth=plan.date_of_birth,
            sex=plan.sex,
        ),
        case=register.validated(
            register.CaseCreate,
            programme=plan.programme,
            mappa_category=plan.mappa_category,
            mappa_level=plan.mappa_level,
            risk=plan.risk,
            offence_category=plan.offence,
            next_review_due=plan.next_review_due,
        ),
        residence=_residence(plan.first_place),
        lookup=lookup,
        valid_from=plan.registered,
        near_boundary_m=near_boundary_m,
        today=plan.registered,
    )
    counts.addresses += 1
    case_id = added.case.id
    offender_id = added.offender.id
    # A new City case gets a City manager, unless it came in during the last week.
    city_manager: _Officer | None = None
    if (today - plan.registered).days > 7 or rng.random() < 0.5:
        city_manager = city.choose(rng, points)
        caseload.assign_case(
            session,
            actor=city.supervisor,
            case_id=case_id,
            username=city_manager.username,
            reason="new case",
        )
        counts.assignments += 1

    lead = added.case.lead_force_code
    lead_bcu: str | None = None
    transferred = False
    for move in plan.moves:
        sender = _supervisor(teams, lead, lead_bcu)
        ho = move.handoff
        handoff_id: int | None = None
        if ho is not None:
            handoff_id = handoffs.create_handoff(
                session,
                actor=sender,
                case_id=case_id,
                to_force_code=ho.to_force,
                to_bcu_code=ho.to_bcu,
                reason=ho.reason,
                request=ho.outcome != "proposed",
                now=ho.requested_at,
            ).id
        result = register.move_offender(
            session,
            actor=sender,
            offender_id=offender_id,
            residence=_residence(move.place),
            lookup=lookup,
            valid_from=move.on,
            near_boundary_m=near_boundary_m,
            today=today,
        )
        counts.addresses += 1
        counts.moves += 1
        if result.handoffs:  # pragma: no cover - the plan decides with the same rules
            raise AssertionError(f"unplanned handoff for offender {offender_id}")
        if ho is None or handoff_id is None:
            if lead == METROPOLITAN and move.place is not None and move.place.bcu:
                lead_bcu = move.place.bcu
            continue
        counts.handoffs[ho.outcome] += 1
        ours = ho.to_force in (CITY_OF_LONDON, METROPOLITAN)
        receiver = _supervisor(teams, ho.to_force, ho.to_bcu) if ours else sender
        # Another force's answers are recorded by the sending side, and say so.
        for_them = "" if ours else f" (recorded for {force_name(ho.to_force).name})"
        if ho.accepted_at is not None:
            handoffs.transition(
                session,
                actor=receiver,
                handoff_id=handoff_id,
                action="accept",
                note=f"Address checked and confirmed{for_them}",
                now=ho.accepted_at,
            )
        if ho.outcome == "rejected":
            assert ho.closed_at is not None
            handoffs.transition(
                session,
                actor=receiver,
                handoff_id=handoff_id,
                action="reject",
                note=rng.choice(_REJECTIONS) + for_them,
                now=ho.closed_at,
            )
        elif ho.outcome == "withdrawn":
            assert ho.closed_at is not None
            handoffs.transition(
                session,
                actor=sender,
                handoff_id=handoff_id,
                action="withdraw",
                note="The move did not happen: the person did not take up the address",
                now=ho.closed_at,
            )
            register.move_offender(
                session,
                actor=sender,
                offender_id=offender_id,
                residence=_residence(move.back_to),
                lookup=lookup,
                valid_from=ho.closed_at.date(),
                near_boundary_m=near_boundary_m,
                today=today,
            )
            counts.addresses += 1
        elif ho.outcome == "completed":
            assert ho.closed_at is not None
            handoffs.transition(
                session,
                actor=receiver,
                handoff_id=handoff_id,
                action="complete",
                note=f"Transfer complete{for_them}",
                now=ho.closed_at,
            )
            lead, lead_bcu, transferred = ho.to_force, ho.to_bcu, True
    counts.assignments += _allocate(
        session,
        rng=rng,
        plan=plan,
        teams=teams,
        points=points,
        case_id=case_id,
        lead=lead,
        lead_bcu=lead_bcu,
        city_manager=None if transferred else city_manager,
        today=today,
    )
    if transferred and city_manager is not None:
        city_manager.load -= points


def _allocate(
    session: Session,
    *,
    rng: random.Random,
    plan: _OffenderPlan,
    teams: dict[tuple[str, str | None], _Team],
    points: float,
    case_id: int,
    lead: str,
    lead_bcu: str | None,
    city_manager: _Officer | None,
    today: date,
) -> int:
    """Give a case its manager at the end of its year; return how many assignments were made."""
    team = teams.get((lead, lead_bcu if lead == METROPOLITAN else None))
    if team is None:
        return 0  # led by a force outside this demo: it allocates its own managers
    if city_manager is not None:
        if rng.random() >= 0.06:
            return 0
        # Some cases changed hands during the year (leave, rebalancing).
        city_manager.load -= points
        officer = team.choose(rng, points)
        if officer.username == city_manager.username:
            return 0
        reason = rng.choice(("rebalancing caseloads", "manager on long-term leave"))
    else:
        # A transferred case is allocated by the receiving team once it has settled (a week).
        if plan.last_completed is not None and (today - plan.last_completed).days <= 7:
            return 0
        if lead == CITY_OF_LONDON and plan.last_completed is None:
            return 0  # registered in the last week: not allocated yet
        officer = team.choose(rng, points)
        reason = "transferred in" if plan.last_completed is not None else "new case"
    caseload.assign_case(
        session, actor=team.supervisor, case_id=case_id, username=officer.username, reason=reason
    )
    return 1


_REJECTIONS = (
    "Address not verified: no trace of the person at the address",
    "Receiving BCU disputes the residence: the person is staying there temporarily",
    "Insufficient case information provided with the request",
)


def _supervisor(teams: dict[tuple[str, str | None], _Team], force: str, bcu: str | None) -> str:
    team = teams.get((force, bcu if force == METROPOLITAN else None))
    if team is None and force == METROPOLITAN:
        team = next(t for k, t in teams.items() if k[0] == METROPOLITAN)
    if team is None:
        team = teams[(CITY_OF_LONDON, None)]
    return team.supervisor
