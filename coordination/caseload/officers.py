"""Officers: capacity profiles, loads and suggested assignees.

The workload rule (HMPPS workload service, ``docs/DOMAIN.md``): an officer's capacity % is the
points of their open cases divided by their available points, times 100, where available points =
points for their grade × available hours ÷ contracted hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.caseload.weights import CaseWeights, load_case_weights
from coordination.errors import InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    Address,
    Case,
    OfficerProfile,
    User,
)
from coordination.security.permissions import require
from geo.forces import METROPOLITAN

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
    if user.id is None:
        raise RuntimeError("user.id is missing")
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
    actor: str,
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
    session: Session, *, case_id: int, limit: int = 5, actor: str
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
