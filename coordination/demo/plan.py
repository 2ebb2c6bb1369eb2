"""The demo's story, planned before anything is written: where people live, move and hand off."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from coordination.demo.people import _at, _case, _person, _review_due, _weighted
from coordination.errors import CrossforceError, InputError
from coordination.models import (
    AddressPublic,
)
from coordination.register import rules
from geo.forces import CITY_OF_LONDON, LONDON_DISTRICTS, MET_BCUS, METROPOLITAN
from geo.lookup import Lookup, LookupResult
from geo.postcodes import PostcodeDirectory

CITY_DISTRICT = "E09000001"
# The City's neighbours (docs/DOMAIN.md): Westminster, Camden, Islington, Hackney, Tower Hamlets and
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
                if move.handoff.closed_at is None:
                    raise RuntimeError("move.handoff.closed_at is missing")
                move.back_to = current
                day = move.handoff.closed_at.date()
                continue
            previous, current = current, place
            if outcome == "completed":
                if move.handoff.closed_at is None:
                    raise RuntimeError("move.handoff.closed_at is missing")
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
