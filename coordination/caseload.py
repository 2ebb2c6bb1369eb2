"""Caseload: case weights, officer capacity, suggested assignees, assignment, the caseload query.

The workload rule (HMPPS workload service, ``../shared/DOMAIN.md``): an officer's capacity % is
the points of their open cases divided by their available points, times 100, where available
points = points for their grade × available hours ÷ contracted hours. Case points come from the
``case_weight`` table by programme and risk of serious harm, plus an uplift by MAPPA level; the
defaults live in ``coordination/defaults/case_weights.toml`` and are copied into the table by
:func:`seed_case_weights`, after which the table is what counts (admins edit it).

A case is only ever managed by an officer of its lead force: :func:`assign_case` refuses anyone
else, and keeps every earlier assignment in ``case_assignment`` (reassignment history).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination._locking import flush_or_conflict, load_for_update
from coordination.audit import record_event
from coordination.models import (
    OPEN_HANDOFF_STATES,
    PROGRAMMES,
    RISKS,
    Address,
    Area,
    BoundarySet,
    Case,
    CaseAssignment,
    CasePublic,
    CaseWeight,
    Handoff,
    Offender,
    OfficerProfile,
    User,
)
from coordination.permissions import deny, require, visible_case_filter
from coordination.pseudonyms import pseudonymise_caseload_row
from geo.errors import InputError, NotFoundError
from geo.forces import LONDON_DISTRICTS, MET_BCUS, METROPOLITAN, force_name

WEIGHTS_FILE = Path(__file__).resolve().parent / "defaults" / "case_weights.toml"

# The MAPPA level uplift lives in the same ``case_weight`` table as the programme × risk points
# (the schema has one weights table): programme holds this key and risk holds the level "1".."3".
MAPPA_UPLIFT = "mappa_level_uplift"
MAPPA_LEVELS: tuple[int, ...] = (1, 2, 3)

# ``caseload(manager=UNASSIGNED)`` selects cases nobody manages. Usernames cannot contain
# parentheses, so the sentinel never collides with a real user.
UNASSIGNED = "(unassigned)"

BCU_NAMES: dict[str, str] = {code: name for code, name in MET_BCUS.values()}


# --- weights ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseWeights:
    """Points per case by programme and risk, and the MAPPA level uplift.

    Attributes
    ----------
    points
        ``(programme, risk) -> points``.
    mappa_uplift
        ``level -> extra points`` for MAPPA cases.
    """

    points: Mapping[tuple[str, str], float]
    mappa_uplift: Mapping[int, float]

    def case_points(self, programme: str, risk: str, mappa_level: int | None = None) -> float:
        """Return the points one case carries.

        Parameters
        ----------
        programme, risk
            The case's programme and risk of serious harm.
        mappa_level
            The MAPPA level; only counted for ``programme == "mappa"``.

        Returns
        -------
        float
            Base points plus the MAPPA uplift; 0 for a combination nobody weighted.
        """
        base = self.points.get((programme, risk), 0.0)
        if programme == "mappa" and mappa_level is not None:
            base += self.mappa_uplift.get(mappa_level, 0.0)
        return base


def _check_points(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{where}: points must be a number ≥ 0, not {value!r}")
    return float(value)


@lru_cache(maxsize=1)
def default_case_weights() -> CaseWeights:
    """Return the default weights from ``coordination/defaults/case_weights.toml``.

    Returns
    -------
    CaseWeights
        Every programme × risk combination and every MAPPA level.

    Raises
    ------
    InputError
        The file names an unknown programme or risk, lacks a combination, or has a bad value.
    """
    data = tomllib.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    points: dict[tuple[str, str], float] = {}
    table = data.get("points", {})
    for programme in table:
        if programme not in PROGRAMMES:
            raise InputError(f"{WEIGHTS_FILE.name}: unknown programme {programme!r}")
        for risk, value in table[programme].items():
            if risk not in RISKS:
                raise InputError(f"{WEIGHTS_FILE.name}: unknown risk {risk!r} for {programme}")
            points[(programme, risk)] = _check_points(value, f"{WEIGHTS_FILE.name} {programme}")
    missing = [f"{p}/{r}" for p in PROGRAMMES for r in RISKS if (p, r) not in points]
    if missing:
        raise InputError(f"{WEIGHTS_FILE.name}: no points for {', '.join(missing)}")
    uplift = {
        int(level): _check_points(value, f"{WEIGHTS_FILE.name} MAPPA level {level}")
        for level, value in data.get("mappa_level_uplift", {}).items()
    }
    if sorted(uplift) != list(MAPPA_LEVELS):
        raise InputError(f"{WEIGHTS_FILE.name}: mappa_level_uplift needs levels 1, 2 and 3")
    return CaseWeights(points=points, mappa_uplift=uplift)


def _default_rows() -> dict[tuple[str, str], float]:
    defaults = default_case_weights()
    rows = dict(defaults.points)
    rows.update({(MAPPA_UPLIFT, str(level)): v for level, v in defaults.mappa_uplift.items()})
    return rows


def load_case_weights(session: Session) -> CaseWeights:
    """Return the weights in force: the ``case_weight`` table over the file defaults.

    Parameters
    ----------
    session
        Any session.

    Returns
    -------
    CaseWeights
        Table values where present, file defaults for anything the table lacks (so a database
        whose weights were never seeded still gives sensible loads).
    """
    rows = _default_rows()
    for weight in session.exec(select(CaseWeight)).all():
        rows[(weight.programme, weight.risk)] = weight.points
    points = {key: v for key, v in rows.items() if key[0] != MAPPA_UPLIFT}
    uplift = {int(key[1]): v for key, v in rows.items() if key[0] == MAPPA_UPLIFT}
    return CaseWeights(points=points, mappa_uplift=uplift)


def seed_case_weights(session: Session, *, actor: str) -> int:
    """Insert the default weights the ``case_weight`` table lacks.

    Existing rows are left alone, so an admin's edits survive a rerun of ``crossforce init``.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is seeding (for the audit log).

    Returns
    -------
    int
        How many rows were inserted; 0 (and no audit event) when nothing was missing.
    """
    require(session, actor=actor, action="reference.manage")
    existing = {(w.programme, w.risk) for w in session.exec(select(CaseWeight)).all()}
    missing = {key: v for key, v in _default_rows().items() if key not in existing}
    if not missing:
        return 0
    for (programme, risk), points in sorted(missing.items()):
        session.add(CaseWeight(programme=programme, risk=risk, points=points))
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case_weight.seed",
        entity_type="case_weight",
        entity_id=None,
        details={"inserted": len(missing), "source": WEIGHTS_FILE.name},
    )
    return len(missing)


def set_case_weight(
    session: Session, *, actor: str, programme: str, risk: str, points: float
) -> CaseWeights:
    """Change the points of one programme × risk (or, with ``programme=MAPPA_UPLIFT``, of a level).

    Parameters
    ----------
    session
        Open session.
    actor
        Who is editing (for the audit log).
    programme, risk
        A programme and risk; or :data:`MAPPA_UPLIFT` and a level ``"1"``, ``"2"`` or ``"3"``.
    points
        New points, ≥ 0.

    Returns
    -------
    CaseWeights
        The weights now in force.

    Raises
    ------
    InputError
        Unknown programme, risk or level, or negative points.
    """
    require(session, actor=actor, action="reference.manage")
    if programme == MAPPA_UPLIFT:
        if risk not in {str(level) for level in MAPPA_LEVELS}:
            raise InputError(f"MAPPA level must be 1, 2 or 3, not {risk!r}")
    elif programme not in PROGRAMMES:
        raise InputError(f"Unknown programme {programme!r}: one of {', '.join(PROGRAMMES)}")
    elif risk not in RISKS:
        raise InputError(f"Unknown risk {risk!r}: one of {', '.join(RISKS)}")
    value = _check_points(points, f"{programme}/{risk}")
    row = session.get(CaseWeight, (programme, risk))
    before = None if row is None else row.points
    if row is None:
        row = CaseWeight(programme=programme, risk=risk, points=value)
    else:
        row.points = value
    session.add(row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case_weight.set",
        entity_type="case_weight",
        entity_id=f"{programme}/{risk}",
        details={"before": before, "after": value},
    )
    return load_case_weights(session)


# --- officers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficerProfilePublic:
    """An officer's workload facts, as services return them."""

    username: str
    grade: str
    grade_points: float
    contracted_hours: float
    available_hours: float
    available_points: float


def available_points(grade_points: float, contracted_hours: float, available_hours: float) -> float:
    """Return grade points × available hours ÷ contracted hours (0 when nothing is contracted)."""
    if contracted_hours <= 0:
        return 0.0
    return grade_points * available_hours / contracted_hours


def capacity_pct(points: float, available: float) -> float | None:
    """Return points ÷ available points × 100, or ``None`` when nothing is available."""
    if available <= 0:
        return None
    return points / available * 100.0


def _user_row(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise NotFoundError(f"No user named {username.strip()!r}")
    return user


def set_officer_profile(
    session: Session,
    *,
    actor: str,
    username: str,
    grade: str,
    grade_points: float,
    contracted_hours: float = 37.0,
    available_hours: float = 37.0,
) -> OfficerProfilePublic:
    """Create or change a user's workload profile.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is editing (for the audit log).
    username
        The officer.
    grade
        Grade name, e.g. ``"PC"`` or ``"DC"``.
    grade_points
        Points a full-time officer of this grade can carry.
    contracted_hours, available_hours
        Weekly hours; available hours exclude leave, training and other duties.

    Returns
    -------
    OfficerProfilePublic
        The stored profile with its available points.

    Raises
    ------
    NotFoundError
        No such user.
    InputError
        Blank grade, grade points ≤ 0, contracted hours not in (0, 168], or available hours not
        between 0 and the contracted hours.
    """
    user = _user_row(session, username)
    grade = grade.strip()
    if not grade:
        raise InputError("An officer profile needs a grade")
    if not grade_points > 0:
        raise InputError(f"Grade points must be more than 0, not {grade_points}")
    if not 0 < contracted_hours <= 168:
        raise InputError(f"Contracted hours must be between 0 and 168, not {contracted_hours}")
    if not 0 <= available_hours <= contracted_hours:
        raise InputError(
            f"Available hours must be between 0 and the contracted {contracted_hours:g}, "
            f"not {available_hours}"
        )
    assert user.id is not None
    row = session.get(OfficerProfile, user.id)
    before = (
        None
        if row is None
        else {
            "grade": row.grade,
            "grade_points": row.grade_points,
            "contracted_hours": row.contracted_hours,
            "available_hours": row.available_hours,
        }
    )
    if row is None:
        row = OfficerProfile(user_id=user.id, grade=grade, grade_points=grade_points)
    row.grade = grade
    row.grade_points = float(grade_points)
    row.contracted_hours = float(contracted_hours)
    row.available_hours = float(available_hours)
    session.add(row)
    session.flush()
    after = {
        "grade": grade,
        "grade_points": row.grade_points,
        "contracted_hours": row.contracted_hours,
        "available_hours": row.available_hours,
    }
    record_event(
        session,
        actor=actor,
        action="officer_profile.set",
        entity_type="user",
        entity_id=user.username,
        details={"before": before, "after": after},
    )
    return OfficerProfilePublic(
        username=user.username,
        **after,  # type: ignore[arg-type]
        available_points=available_points(
            row.grade_points, row.contracted_hours, row.available_hours
        ),
    )


@dataclass(frozen=True)
class OfficerLoad:
    """One officer's current load.

    ``capacity_pct`` is ``None`` for an officer with no available points (no profile, or no
    available hours): a percentage of nothing means nothing.
    """

    username: str
    display_name: str
    force_code: str
    bcu_code: str | None
    team: str | None
    grade: str | None
    points: float
    available_points: float
    capacity_pct: float | None
    n_cases: int
    has_profile: bool


def _loads(
    session: Session,
    *,
    force_code: str | None,
    bcu_code: str | None,
    weights: CaseWeights,
) -> list[OfficerLoad]:
    users_q = (
        sa.select(
            col(User.id),
            col(User.username),
            col(User.display_name),
            col(User.force_code),
            col(User.bcu_code),
            col(User.team),
            col(OfficerProfile.grade),
            col(OfficerProfile.grade_points),
            col(OfficerProfile.contracted_hours),
            col(OfficerProfile.available_hours),
        )
        .select_from(User)
        .outerjoin(OfficerProfile, col(OfficerProfile.user_id) == col(User.id))
        .where(col(User.active))
    )
    if force_code is not None:
        users_q = users_q.where(col(User.force_code) == force_code)
    if bcu_code is not None:
        users_q = users_q.where(col(User.bcu_code) == bcu_code)
    users = session.execute(users_q).all()
    if not users:
        return []
    # Points are summed in Python over (officer, programme, risk, level) groups: a few hundred
    # rows however many cases there are, and the weights stay one dictionary lookup.
    cases_q = (
        sa.select(
            col(Case.assigned_user_id),
            col(Case.programme),
            col(Case.risk),
            col(Case.mappa_level),
            sa.func.count(),
        )
        .where(col(Case.status) == "open", col(Case.assigned_user_id).is_not(None))
        .group_by(
            col(Case.assigned_user_id), col(Case.programme), col(Case.risk), col(Case.mappa_level)
        )
    )
    if force_code is not None or bcu_code is not None:
        cases_q = cases_q.where(col(Case.assigned_user_id).in_([u.id for u in users]))
    points: dict[int, float] = {}
    counts: dict[int, int] = {}
    for user_id, programme, risk, level, n in session.execute(cases_q).all():
        points[user_id] = points.get(user_id, 0.0) + n * weights.case_points(programme, risk, level)
        counts[user_id] = counts.get(user_id, 0) + n
    loads = []
    for u in users:
        has_profile = u.grade is not None
        if not has_profile and u.id not in counts:
            continue  # neither an officer nor carrying cases: not part of any caseload
        avail = (
            available_points(u.grade_points, u.contracted_hours, u.available_hours)
            if has_profile
            else 0.0
        )
        pts = points.get(u.id, 0.0)
        loads.append(
            OfficerLoad(
                username=u.username,
                display_name=u.display_name,
                force_code=u.force_code,
                bcu_code=u.bcu_code,
                team=u.team,
                grade=u.grade,
                points=pts,
                available_points=avail,
                capacity_pct=capacity_pct(pts, avail),
                n_cases=counts.get(u.id, 0),
                has_profile=has_profile,
            )
        )
    loads.sort(key=lambda load: (load.force_code, load.bcu_code or "", load.username))
    return loads


def officer_loads(
    session: Session,
    *,
    force_code: str | None = None,
    bcu_code: str | None = None,
    actor: str | None = None,
) -> list[OfficerLoad]:
    """Return the load of every active officer (profile holders and anyone carrying cases).

    Parameters
    ----------
    session
        Any session.
    force_code, bcu_code
        Keep only officers of this force / BCU (the officer's own, not their cases').

    Returns
    -------
    list[OfficerLoad]
        Ordered by force, BCU and username. Points count open cases only.
    """
    # Officers' loads carry no offender data: analysts see them as they are.
    require(session, actor=actor, action="caseload.view")
    return _loads(
        session, force_code=force_code, bcu_code=bcu_code, weights=load_case_weights(session)
    )


@dataclass(frozen=True)
class Suggestion:
    """An officer who could take a case, with their load before and after taking it."""

    username: str
    display_name: str
    force_code: str
    bcu_code: str | None
    team: str | None
    same_bcu: bool
    n_cases: int
    case_points: float
    points_before: float
    points_after: float
    available_points: float
    capacity_pct_before: float | None
    capacity_pct_after: float | None


def _case_row(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"No case with id {case_id}")
    return case


def _residence_bcu(session: Session, offender_id: int) -> str | None:
    return session.execute(
        sa.select(col(Address.bcu_code)).where(
            col(Address.offender_id) == offender_id,
            col(Address.valid_to).is_(None),
            col(Address.state) == "residence",
        )
    ).scalar_one_or_none()


def suggest_assignees(
    session: Session, *, case_id: int, limit: int = 5, actor: str | None = None
) -> list[Suggestion]:
    """Suggest officers for a case: its lead force only, lowest load first.

    In the Met, officers of the BCU where the person currently lives come first. The current
    manager is left out (they already have it), as are officers without a workload profile.

    Parameters
    ----------
    session
        Any session.
    case_id
        The case.
    limit
        At most this many suggestions.

    Returns
    -------
    list[Suggestion]
        Same-BCU officers first (Met cases with a known residence BCU), then by capacity %
        before, points before and username.

    Raises
    ------
    NotFoundError
        No such case.
    """
    require(session, actor=actor, action="case.assign", case_id=case_id)
    case = _case_row(session, case_id)
    weights = load_case_weights(session)
    points = weights.case_points(case.programme, case.risk, case.mappa_level)
    bcu = (
        _residence_bcu(session, case.offender_id) if case.lead_force_code == METROPOLITAN else None
    )
    current = None
    if case.assigned_user_id is not None:
        manager = session.get(User, case.assigned_user_id)
        current = None if manager is None else manager.username
    suggestions = []
    for load in _loads(session, force_code=case.lead_force_code, bcu_code=None, weights=weights):
        if not load.has_profile or load.username == current:
            continue
        suggestions.append(
            Suggestion(
                username=load.username,
                display_name=load.display_name,
                force_code=load.force_code,
                bcu_code=load.bcu_code,
                team=load.team,
                same_bcu=bcu is not None and load.bcu_code == bcu,
                n_cases=load.n_cases,
                case_points=points,
                points_before=load.points,
                points_after=load.points + points,
                available_points=load.available_points,
                capacity_pct_before=load.capacity_pct,
                capacity_pct_after=capacity_pct(load.points + points, load.available_points),
            )
        )
    inf = float("inf")
    suggestions.sort(
        key=lambda s: (
            not s.same_bcu,
            inf if s.capacity_pct_before is None else s.capacity_pct_before,
            s.points_before,
            s.username,
        )
    )
    return suggestions[: max(limit, 0)]


# --- assignment --------------------------------------------------------------------------------


def assign_case(
    session: Session,
    *,
    actor: str,
    case_id: int,
    username: str,
    reason: str = "",
    expected_version: int | None = None,
) -> CasePublic:
    """Make an officer of the case's lead force its manager.

    The open ``case_assignment`` row (if any) is closed and a new one opened, so the history of
    who managed the case is kept. Assigning a case to its current manager changes nothing.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is assigning (for the audit log and ``updated_by``).
    case_id
        The case.
    username
        The new manager.
    reason
        Why (kept on the assignment row and in the audit log).
    expected_version
        The case version the caller saw; when given and the case has moved on, the assignment is
        refused rather than silently overwriting the other change.

    Returns
    -------
    CasePublic
        The case after assignment (version bumped).

    Raises
    ------
    NotFoundError
        No such case or user.
    InputError
        The officer is inactive or belongs to another force than the case's lead force, or the
        case is closed.
    ConflictError
        The case was changed by someone else since ``expected_version`` (or while assigning):
        "Case N was changed by NAME at TIME; reload".
    """
    p = require(session, actor=actor, action="case.assign", case_id=case_id)
    label = f"Case {case_id}"
    case = load_for_update(session, Case, case_id, label=label, expected_version=expected_version)
    user = _user_row(session, username)
    if not p.is_system and (
        p.force_code != case.lead_force_code
        or (p.role == "offender_manager" and user.username != p.username)
    ):
        deny(
            session,
            p,
            action="case.assign",
            message=f"Access refused: {p.label} may not assign case {case_id} to "
            f"{user.username}: supervisors assign their force's cases, managers only take "
            "them themselves",
            entity_type="case",
            entity_id=str(case_id),
            offender_ids=[case.offender_id],
        )
    if case.status != "open":
        raise InputError(f"Case {case_id} is closed: reopen it before assigning a manager")
    if not user.active:
        raise InputError(f"{user.username} is not an active user")
    if user.force_code != case.lead_force_code:
        raise InputError(
            f"{user.username} belongs to {force_name(user.force_code).name}, but case {case_id} "
            f"is led by {force_name(case.lead_force_code).name}: only an officer of the lead "
            "force can manage it"
        )
    if case.assigned_user_id == user.id:
        return CasePublic.model_validate(case)
    previous = None
    if case.assigned_user_id is not None:
        prev_user = session.get(User, case.assigned_user_id)
        previous = None if prev_user is None else prev_user.username
    now = datetime.now(UTC)
    case.assigned_user_id = user.id
    case.updated_at = now
    case.updated_by = actor
    session.add(case)
    # The case row goes first: its versioned UPDATE is the race check, before anything else
    # is written.
    flush_or_conflict(session, case, label=label)
    open_rows = session.exec(
        select(CaseAssignment).where(
            CaseAssignment.case_id == case_id, col(CaseAssignment.ended_at).is_(None)
        )
    ).all()
    for row in open_rows:
        row.ended_at = now
        session.add(row)
    assignment = CaseAssignment(
        case_id=case_id, user_id=user.id, assigned_at=now, assigned_by=actor, reason=reason
    )
    session.add(assignment)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case.assign",
        entity_type="case",
        entity_id=str(case_id),
        details={
            "from": previous,
            "to": user.username,
            "reason": reason,
            "assignment_id": assignment.id,
            "version": case.version,
        },
        category="alteration",
        offender_ids=[case.offender_id],
    )
    return CasePublic.model_validate(case)


@dataclass(frozen=True)
class AssignmentRecord:
    """One period during which an officer managed a case (``ended_at`` None: still does)."""

    assignment_id: int
    case_id: int
    username: str | None
    display_name: str | None
    assigned_at: datetime
    assigned_by: str
    ended_at: datetime | None
    reason: str


def assignment_history(
    session: Session, *, case_id: int, actor: str | None = None
) -> list[AssignmentRecord]:
    """Return who managed a case when, oldest first.

    Parameters
    ----------
    session
        Any session.
    case_id
        The case.

    Returns
    -------
    list[AssignmentRecord]
        Every assignment; the last one has ``ended_at`` None while the case is assigned.

    Raises
    ------
    NotFoundError
        No such case.
    """
    _case_row(session, case_id)
    require(session, actor=actor, action="case.view", case_id=case_id)
    rows = session.execute(
        sa.select(
            col(CaseAssignment.id),
            col(CaseAssignment.assigned_at),
            col(CaseAssignment.assigned_by),
            col(CaseAssignment.ended_at),
            col(CaseAssignment.reason),
            col(User.username),
            col(User.display_name),
        )
        .select_from(CaseAssignment)
        .outerjoin(User, col(User.id) == col(CaseAssignment.user_id))
        .where(col(CaseAssignment.case_id) == case_id)
        .order_by(col(CaseAssignment.assigned_at), col(CaseAssignment.id))
    ).all()
    return [
        AssignmentRecord(
            assignment_id=r.id,
            case_id=case_id,
            username=r.username,
            display_name=r.display_name,
            assigned_at=r.assigned_at,
            assigned_by=r.assigned_by,
            ended_at=r.ended_at,
            reason=r.reason,
        )
        for r in rows
    ]


# --- the caseload page query -------------------------------------------------------------------


@dataclass(frozen=True)
class CaseloadRow:
    """One line of the caseload: a case, its person, residence, manager and open handoff."""

    case_id: int
    version: int
    offender_id: int
    first_name: str
    last_name: str
    pnc_id: str
    programme: str
    mappa_category: int | None
    mappa_level: int | None
    risk: str
    points: float
    status: str
    lead_force_code: str
    lead_force_name: str
    residence_state: str | None
    postcode: str | None
    district_code: str | None
    district_name: str | None
    bcu_code: str | None
    bcu_name: str | None
    near_boundary: bool
    manager_username: str | None
    manager_name: str | None
    next_review_due: date | None
    review_overdue: bool
    flags: tuple[str, ...]
    handoff_id: int | None
    handoff_state: str | None
    handoff_to_force_code: str | None
    handoff_completion_due: date | None
    handoff_overdue: bool
    # Analyst rows only (``coordination.pseudonyms``): names, PNC ID, postcode and register
    # keys are removed and these stable pseudonyms stand for the person and the case.
    pseudonym: str | None = None
    case_pseudonym: str | None = None

    @property
    def offender_name(self) -> str:
        """``LAST, First`` as case lists show it (the pseudonym on an analyst's row)."""
        if self.pseudonym is not None:
            return self.pseudonym
        return f"{self.last_name.upper()}, {self.first_name}"


@dataclass(frozen=True)
class CaseloadPage:
    """One page of the caseload and how many cases match in all."""

    rows: list[CaseloadRow]
    total: int
    limit: int
    offset: int


def _district_names(session: Session, codes: set[str]) -> dict[str, str]:
    names = {code: LONDON_DISTRICTS[code] for code in codes if code in LONDON_DISTRICTS}
    rest = codes - names.keys()
    if rest:
        rows = session.execute(
            sa.select(col(Area.code), col(Area.name))
            .join(BoundarySet, col(BoundarySet.id) == col(Area.boundary_set_id))
            .where(
                col(BoundarySet.active),
                col(Area.kind) == "district",
                col(Area.code).in_(sorted(rest)),
            )
        ).all()
        names.update({code: name for code, name in rows})
    return names


def _search_terms(search: str) -> list[Any]:
    from coordination.pnc import normalise_pnc

    text = search.strip()
    try:
        # A PNC ID in any accepted form finds its person exactly (uses the unique index).
        return [col(Offender.pnc_id) == normalise_pnc(text)]
    except InputError:
        pass
    conditions = []
    for word in text.split():
        pattern = f"%{word.lower()}%"
        conditions.append(
            sa.or_(
                sa.func.lower(col(Offender.last_name)).like(pattern),
                sa.func.lower(col(Offender.first_name)).like(pattern),
                col(Offender.pnc_id).like(f"%{word.upper()}%"),
            )
        )
    return conditions


def caseload(
    session: Session,
    *,
    force_code: str | None = None,
    bcu_code: str | None = None,
    manager: str | None = None,
    programme: str | None = None,
    risk: str | None = None,
    status: str | None = "open",
    search: str | None = None,
    limit: int = 200,
    offset: int = 0,
    today: date | None = None,
    actor: str | None = None,
) -> CaseloadPage:
    """Return one page of cases for the Caseload page, most urgent review first.

    One query chooses the page's cases (with only the joins the filters need) and joins them to
    person, current address, manager and open handoff; a second counts the matches.

    Parameters
    ----------
    session
        Any session.
    force_code
        Lead force.
    bcu_code
        Met BCU of the current residence.
    manager
        Username of the manager, or :data:`UNASSIGNED` for cases nobody manages.
    programme, risk
        Exact programme / risk.
    status
        ``"open"`` (default), ``"closed"``, or ``None`` for both.
    search
        A PNC ID (any accepted form) or words each found in the first name, last name or PNC ID.
    limit, offset
        The page.
    today
        The date that decides "overdue" (default: today, UTC).
    actor
        Who is looking: only cases they may see are counted and listed; an analyst gets
        pseudonymised rows and may not search by name or PNC ID.

    Returns
    -------
    CaseloadPage
        Rows ordered by next review due (none last), then case id; and the total count.

    Raises
    ------
    InputError
        Unknown programme, risk or status, or a negative limit/offset.
    """
    if programme is not None and programme not in PROGRAMMES:
        raise InputError(f"Unknown programme {programme!r}: one of {', '.join(PROGRAMMES)}")
    if risk is not None and risk not in RISKS:
        raise InputError(f"Unknown risk {risk!r}: one of {', '.join(RISKS)}")
    if status is not None and status not in ("open", "closed"):
        raise InputError(f"Unknown status {status!r}: open or closed")
    if limit < 0 or offset < 0:
        raise InputError("limit and offset must be ≥ 0")
    p = require(session, actor=actor, action="caseload.view", personal=bool(search))
    pseudonymised = not p.is_system and p.role == "analyst"
    today = today or datetime.now(UTC).date()

    address_on = sa.and_(
        col(Address.offender_id) == col(Case.offender_id), col(Address.valid_to).is_(None)
    )
    handoff_on = sa.and_(
        col(Handoff.case_id) == col(Case.id), col(Handoff.state).in_(OPEN_HANDOFF_STATES)
    )
    conditions: list[Any] = []
    if not p.is_system:
        conditions.append(visible_case_filter(p))
    if status is not None:
        conditions.append(col(Case.status) == status)
    if force_code is not None:
        conditions.append(col(Case.lead_force_code) == force_code)
    if programme is not None:
        conditions.append(col(Case.programme) == programme)
    if risk is not None:
        conditions.append(col(Case.risk) == risk)
    if bcu_code is not None:
        conditions.append(col(Address.bcu_code) == bcu_code)
    if manager == UNASSIGNED:
        conditions.append(col(Case.assigned_user_id).is_(None))
    elif manager is not None:
        conditions.append(col(User.username) == manager.strip().lower())
    search_terms = _search_terms(search) if search and search.strip() else []
    conditions.extend(search_terms)

    def filtered(query: Any) -> Any:
        # Only the joins the filters need: the page's ids and the count are decided on as few
        # tables as possible.
        if search_terms:
            query = query.join(Offender, col(Offender.id) == col(Case.offender_id))
        if bcu_code is not None:
            query = query.join(Address, address_on)
        if manager is not None and manager != UNASSIGNED:
            query = query.join(User, col(User.id) == col(Case.assigned_user_id))
        return query.where(*conditions)

    # A deferred join: the page's 200 case ids are chosen first (sorting ids and due dates
    # only), then only those rows are joined to person, address, manager and handoff. Joining
    # everything before sorting costs a join per matching case: 90,000 for the open caseload.
    due = col(Case.next_review_due).asc().nulls_last()
    page_ids = (
        filtered(sa.select(col(Case.id).label("page_id")).select_from(Case))
        .order_by(due, col(Case.id))
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    page_q = (
        sa.select(
            col(Case.id),
            col(Case.version),
            col(Case.offender_id),
            col(Offender.first_name),
            col(Offender.last_name),
            col(Offender.pnc_id),
            col(Case.programme),
            col(Case.mappa_category),
            col(Case.mappa_level),
            col(Case.risk),
            col(Case.status),
            col(Case.lead_force_code),
            col(Case.next_review_due),
            col(Case.flags),
            col(Address.state).label("residence_state"),
            col(Address.postcode),
            col(Address.district_code),
            col(Address.bcu_code),
            col(Address.near_boundary),
            col(User.username),
            col(User.display_name),
            col(Handoff.id).label("handoff_id"),
            col(Handoff.state).label("handoff_state"),
            col(Handoff.to_force_code),
            col(Handoff.completion_due),
        )
        .select_from(page_ids)
        .join(Case, col(Case.id) == page_ids.c.page_id)
        .join(Offender, col(Offender.id) == col(Case.offender_id))
        .outerjoin(Address, address_on)
        .outerjoin(User, col(User.id) == col(Case.assigned_user_id))
        .outerjoin(Handoff, handoff_on)
        .order_by(due, col(Case.id))
    )
    rows = session.execute(page_q).all()
    total = int(
        session.execute(filtered(sa.select(sa.func.count()).select_from(Case))).scalar_one()
    )

    weights = load_case_weights(session)
    districts = _district_names(session, {r.district_code for r in rows if r.district_code})
    out = []
    for r in rows:
        open_handoff = r.handoff_id is not None
        out.append(
            CaseloadRow(
                case_id=r.id,
                version=r.version,
                offender_id=r.offender_id,
                first_name=r.first_name,
                last_name=r.last_name,
                pnc_id=r.pnc_id,
                programme=r.programme,
                mappa_category=r.mappa_category,
                mappa_level=r.mappa_level,
                risk=r.risk,
                points=weights.case_points(r.programme, r.risk, r.mappa_level),
                status=r.status,
                lead_force_code=r.lead_force_code,
                lead_force_name=force_name(r.lead_force_code).name,
                residence_state=r.residence_state,
                postcode=r.postcode,
                district_code=r.district_code,
                district_name=districts.get(r.district_code) if r.district_code else None,
                bcu_code=r.bcu_code,
                bcu_name=BCU_NAMES.get(r.bcu_code) if r.bcu_code else None,
                near_boundary=bool(r.near_boundary),
                manager_username=r.username,
                manager_name=r.display_name,
                next_review_due=r.next_review_due,
                review_overdue=r.next_review_due is not None and r.next_review_due < today,
                flags=tuple(r.flags or ()),
                handoff_id=r.handoff_id,
                handoff_state=r.handoff_state,
                handoff_to_force_code=r.to_force_code,
                handoff_completion_due=r.completion_due,
                handoff_overdue=open_handoff
                and r.completion_due is not None
                and r.completion_due < today,
            )
        )
    if pseudonymised:
        out = [pseudonymise_caseload_row(row) for row in out]
    return CaseloadPage(rows=out, total=total, limit=limit, offset=offset)


def get_case(session: Session, *, actor: str | None, case_id: int) -> CasePublic:
    """A case the actor may see (``case.view``), without the person's record.

    A refusal is audited against the case. Case facts only (lead force, why, flags, version):
    opening the person's record is :func:`coordination.register.get_offender`, with a reason.

    Raises
    ------
    AccessDeniedError
        The actor may not see the case (or it does not exist: a refusal says no more).
    NotFoundError
        No such case (system principals only).
    """
    require(session, actor=actor, action="case.view", case_id=case_id)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"No case with id {case_id}")
    return CasePublic.model_validate(case)
