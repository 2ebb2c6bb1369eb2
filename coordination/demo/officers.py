"""The demo's officers: teams by force and BCU, grades, hours, and the demo sign-in accounts."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from coordination.caseload.officers import set_officer_profile
from coordination.caseload.weights import CaseWeights
from coordination.demo.people import _FEMALE, _MALE, _SURNAMES, _weighted
from coordination.demo.plan import _bcu_name, _OffenderPlan
from coordination.models import (
    Role,
    UserCreate,
)
from coordination.security.users import DEMO_PASSWORD, create_user, get_user, mark_demo_account
from geo.forces import CITY_OF_LONDON, MET_BCUS, METROPOLITAN

# --- officers ------------------------------------------------------------------------------

# (grade, points a full-time officer of the grade carries, weight)
_GRADES = (("PC", 300.0, 5), ("DC", 330.0, 3), ("Police staff", 250.0, 2))
_TARGET_CAPACITY = 0.85  # officers are provisioned for about this average load
_HOURS = ((37.0, 37.0, 12), (37.0, 33.0, 4), (37.0, 30.0, 2), (30.0, 30.0, 2), (22.5, 22.5, 1))


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
    rng: random.Random, plans: list[_OffenderPlan], weights: CaseWeights
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
                set_officer_profile(
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
    from coordination.core.settings import get_settings
    from coordination.security.auth import set_password

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


def _supervisor(teams: dict[tuple[str, str | None], _Team], force: str, bcu: str | None) -> str:
    team = teams.get((force, bcu if force == METROPOLITAN else None))
    if team is None and force == METROPOLITAN:
        team = next(t for k, t in teams.items() if k[0] == METROPOLITAN)
    if team is None:
        team = teams[(CITY_OF_LONDON, None)]
    return team.supervisor
