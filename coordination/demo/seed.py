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
of starting one dated today, so due dates, overdue handoffs and the network's year are real."""

from __future__ import annotations

import random
import time as timer
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from coordination.caseload.assignment import assign_case
from coordination.caseload.weights import CaseWeights, load_case_weights, seed_case_weights
from coordination.core.clock import london_date, london_today
from coordination.core.serial import jsonable
from coordination.demo.escalations import resolve_demo_escalations
from coordination.demo.meeting import seed_past_meeting
from coordination.demo.officers import (
    _create_officers,
    _demo_accounts,
    _Officer,
    _supervisor,
    _Team,
    _teams,
)
from coordination.demo.people import _ogrs3_inputs
from coordination.demo.plan import _HandoffPlan, _OffenderPlan, _Place, _Planner, _Pools
from coordination.errors import InputError
from coordination.handoffs import workflow as handoffs
from coordination.handoffs.address_check import record_address_check
from coordination.ledger.chain import record_event
from coordination.register import rules
from coordination.register.inputs import CaseCreate, OffenderCreate, Residence, validated
from coordination.register.moves import move_offender
from coordination.register.offenders import add_offender
from coordination.register.synthetic import DEMO_ACTION, has_offenders
from geo.forces import CITY_OF_LONDON, METROPOLITAN, force_name
from geo.lookup import Lookup
from geo.postcodes import PostcodeDirectory


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
    meeting_id
        The City–Met joint review held two weeks before ``today`` (``None`` when its agenda
        came out empty).
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
    meeting_id: int | None = None
    leads: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def json_extra(self) -> dict[str, Any]:
        """JSON rounds the wall time to hundredths of a second."""
        return {"seconds": round(self.seconds, 2)}


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
        usable London postcodes; or the database is a production one (a demo is never seeded
        there, so no demo account and no shared password can exist in production).
    """
    if not 1 <= offenders <= 100_000:
        raise InputError(f"The demo needs between 1 and 100,000 offenders, not {offenders}")
    from coordination.core.settings import get_settings

    if get_settings().env == "production":
        raise InputError("A synthetic demo is never seeded into a production database")
    started = timer.perf_counter()
    real_today = london_today()
    today = today or real_today
    if today > real_today:
        raise InputError(f"The demo cannot be dated in the future ({today.isoformat()})")
    if if_empty and has_offenders(session):
        return DemoReport(skipped=True, seed=seed, today=today)
    say = progress or (lambda _line: None)

    rules.seed_rules(session, actor=actor)
    seed_case_weights(session, actor=actor)
    weights = load_case_weights(session)
    rng = random.Random(seed)  # noqa: S311 - synthetic data: repeatable by seed, not secret
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

    say("Holding the last City–Met joint review…")
    city_team = teams[(CITY_OF_LONDON, None)]
    met_team = teams.get((METROPOLITAN, "CE")) or next(
        t for (force, _), t in sorted(teams.items(), key=str) if force == METROPOLITAN
    )
    meeting_id = seed_past_meeting(
        session,
        rng=rng,
        city_supervisor=city_team.supervisor,
        met_supervisor=met_team.supervisor,
        attendees=(
            f"{city_team.supervisor_name} ({force_name(CITY_OF_LONDON).name})",
            f"{met_team.supervisor_name} ({force_name(METROPOLITAN).name})",
        ),
        today=today,
        near_boundary_m=near_boundary_m,
    )

    say("Supervisors resolving escalations…")
    resolved = resolve_demo_escalations(session, teams=teams, today=today)
    counts.handoffs["requested"] += resolved["new_request"]  # the new requests

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
        meeting_id=meeting_id,
        leads=dict(sorted(Counter(p.final_lead for p in plans).items())),
        seconds=timer.perf_counter() - started,
    )
    record_event(
        session,
        actor=actor,
        action=DEMO_ACTION,
        entity_type="demo",
        entity_id=str(seed),
        details={k: v for k, v in jsonable(report).items() if k not in ("skipped", "seconds")},
    )
    return report


@dataclass
class _Counts:
    addresses: int = 0
    moves: int = 0
    assignments: int = 0
    handoffs: Counter[str] = field(default_factory=Counter)


def _residence(place: _Place | None) -> Residence:
    if place is None:
        return Residence.unknown()
    return Residence(postcode=place.postcode)


def _play(
    session: Session,
    *,
    rng: random.Random,
    plan: _OffenderPlan,
    teams: dict[tuple[str, str | None], _Team],
    weights: CaseWeights,
    lookup: Lookup,
    today: date,
    near_boundary_m: float,
    counts: _Counts,
) -> None:
    """Write one offender's year through the services, in the order it happened."""
    city = teams[(CITY_OF_LONDON, None)]
    points = weights.case_points(plan.programme, plan.risk, plan.mappa_level)
    added = add_offender(
        session,
        actor=city.supervisor,
        offender=validated(
            OffenderCreate,
            pnc_id=plan.pnc_id,
            first_name=plan.first_name,
            last_name=plan.last_name,
            aliases=plan.aliases,
            date_of_birth=plan.date_of_birth,
            sex=plan.sex,
        ),
        case=validated(
            CaseCreate,
            programme=plan.programme,
            mappa_category=plan.mappa_category,
            mappa_level=plan.mappa_level,
            risk=plan.risk,
            offence_category=plan.offence,
            next_review_due=plan.next_review_due,
            **_ogrs3_inputs(plan.pnc_id, plan.date_of_birth, plan.registered),
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
        assign_case(
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
        result = move_offender(
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
        done = _answer(
            session,
            rng=rng,
            ho=ho,
            handoff_id=handoff_id,
            sender=sender,
            receiver=receiver,
            note_suffix=for_them,
            back_to=move.back_to,
            offender_id=offender_id,
            lookup=lookup,
            near_boundary_m=near_boundary_m,
            today=today,
            counts=counts,
        )
        if done:
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


def _answer(
    session: Session,
    *,
    rng: random.Random,
    ho: _HandoffPlan,
    handoff_id: int,
    sender: str,
    receiver: str,
    note_suffix: str,
    back_to: _Place | None,
    offender_id: int,
    lookup: Lookup,
    near_boundary_m: float,
    today: date,
    counts: _Counts,
) -> bool:
    """Play a planned handoff's answers (accept, then reject, withdraw or complete).

    Returns whether it completed, so that the case changed lead force.
    """
    if ho.accepted_at is not None:
        # The receiving side's confirmed address check is its acceptance (and lets it complete).
        record_address_check(
            session,
            actor=receiver,
            handoff_id=handoff_id,
            checked_on=london_date(ho.accepted_at),
            method=_CHECK_METHODS[handoff_id % len(_CHECK_METHODS)],
            outcome="confirmed",
            note=note_suffix.strip(" ()"),
            now=ho.accepted_at,
        )
    if ho.outcome == "rejected":
        if ho.closed_at is None:
            raise RuntimeError("ho.closed_at is missing")
        handoffs.transition(
            session,
            actor=receiver,
            handoff_id=handoff_id,
            action="reject",
            note=rng.choice(_REJECTIONS) + note_suffix,
            now=ho.closed_at,
        )
    elif ho.outcome == "withdrawn":
        if ho.closed_at is None:
            raise RuntimeError("ho.closed_at is missing")
        handoffs.transition(
            session,
            actor=sender,
            handoff_id=handoff_id,
            action="withdraw",
            note="The move did not happen: the person did not take up the address",
            now=ho.closed_at,
        )
        move_offender(
            session,
            actor=sender,
            offender_id=offender_id,
            residence=_residence(back_to),
            lookup=lookup,
            valid_from=ho.closed_at.date(),
            near_boundary_m=near_boundary_m,
            today=today,
        )
        counts.addresses += 1
    elif ho.outcome == "completed":
        if ho.closed_at is None:
            raise RuntimeError("ho.closed_at is missing")
        handoffs.transition(
            session,
            actor=receiver,
            handoff_id=handoff_id,
            action="complete",
            note=f"Transfer complete{note_suffix}",
            now=ho.closed_at,
        )
    return ho.outcome == "completed"


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
    assign_case(
        session, actor=team.supervisor, case_id=case_id, username=officer.username, reason=reason
    )
    return 1


# How demo addresses were checked, taken in turn by handoff id (no draw: the seed's sequence holds).
_CHECK_METHODS = ("visit", "phone", "partner")
_REJECTIONS = (
    "Address not verified: no trace of the person at the address",
    "Receiving BCU disputes the residence: the person is staying there temporarily",
    "Insufficient case information provided with the request",
)
