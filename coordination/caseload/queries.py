"""The caseload page's query, and one case's facts for its detail view."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from coordination.caseload.weights import CaseWeights, load_case_weights
from coordination.errors import InputError, NotFoundError
from coordination.models import (
    OPEN_HANDOFF_STATES,
    PROGRAMMES,
    RISKS,
    Address,
    Area,
    BoundarySet,
    Case,
    CasePublic,
    Handoff,
    Offender,
    User,
)
from coordination.security.permissions import Principal, require, visible_case_filter
from coordination.security.pseudonyms import case_pseudonym, offender_pseudonym
from geo.districts import district_name
from geo.forces import LONDON_DISTRICTS, MET_BCUS, force_name

# ``caseload(manager=UNASSIGNED)`` selects cases nobody manages. Usernames cannot contain
# parentheses, so the sentinel never collides with a real user.
UNASSIGNED = "(unassigned)"

BCU_NAMES: dict[str, str] = {code: name for code, name in MET_BCUS.values()}


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
        names.update({code: name for code, name in rows if name and name != code})
    # Outside the active set (Manchester with the London default, Glasgow with any England and
    # Wales pack) the table of every UK district names it: a code never stands in for a name.
    for code in codes - names.keys():
        name = district_name(code)
        if name is not None:
            names[code] = name
    return names


def _search_terms(search: str) -> list[Any]:
    from coordination.register.pnc import normalise_pnc

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


def _check_filters(
    *, programme: str | None, risk: str | None, status: str | None, limit: int, offset: int
) -> None:
    if programme is not None and programme not in PROGRAMMES:
        raise InputError(f"Unknown programme {programme!r}: one of {', '.join(PROGRAMMES)}")
    if risk is not None and risk not in RISKS:
        raise InputError(f"Unknown risk {risk!r}: one of {', '.join(RISKS)}")
    if status is not None and status not in ("open", "closed"):
        raise InputError(f"Unknown status {status!r}: open or closed")
    if limit < 0 or offset < 0:
        raise InputError("limit and offset must be ≥ 0")


def _conditions(
    p: Principal,
    *,
    status: str | None,
    force_code: str | None,
    programme: str | None,
    risk: str | None,
    bcu_code: str | None,
    manager: str | None,
) -> list[Any]:
    """The WHERE clauses of the page's filters, the visibility filter first."""
    conditions: list[Any] = [] if p.is_system else [visible_case_filter(p)]
    equal = {
        col(Case.status): status,
        col(Case.lead_force_code): force_code,
        col(Case.programme): programme,
        col(Case.risk): risk,
        col(Address.bcu_code): bcu_code,
    }
    conditions.extend(column == value for column, value in equal.items() if value is not None)
    if manager == UNASSIGNED:
        conditions.append(col(Case.assigned_user_id).is_(None))
    elif manager is not None:
        conditions.append(col(User.username) == manager.strip().lower())
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
    actor: str,
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
    _check_filters(programme=programme, risk=risk, status=status, limit=limit, offset=offset)
    p = require(session, actor=actor, action="caseload.view", personal=bool(search))
    pseudonymised = not p.is_system and p.role == "analyst"
    today = today or datetime.now(UTC).date()

    address_on = sa.and_(
        col(Address.offender_id) == col(Case.offender_id), col(Address.valid_to).is_(None)
    )
    handoff_on = sa.and_(
        col(Handoff.case_id) == col(Case.id), col(Handoff.state).in_(OPEN_HANDOFF_STATES)
    )
    conditions = _conditions(
        p,
        status=status,
        force_code=force_code,
        programme=programme,
        risk=risk,
        bcu_code=bcu_code,
        manager=manager,
    )
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
    out = [_row(r, weights, districts, today) for r in rows]
    if pseudonymised:
        out = [pseudonymise_caseload_row(row) for row in out]
    return CaseloadPage(rows=out, total=total, limit=limit, offset=offset)


def _row(r: Any, weights: CaseWeights, districts: dict[str, str], today: date) -> CaseloadRow:
    """One result row of the page query as a :class:`CaseloadRow`."""
    open_handoff = r.handoff_id is not None
    return CaseloadRow(
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
        handoff_overdue=open_handoff and r.completion_due is not None and r.completion_due < today,
    )


def get_case(session: Session, *, actor: str, case_id: int) -> CasePublic:
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


def pseudonymise_caseload_row(row: CaseloadRow) -> CaseloadRow:
    """Return a caseload row an analyst may see.

    Names, PNC ID and postcode are removed, the person and case get pseudonyms
    (``pseudonym``, ``case_pseudonym``) and the register keys (``case_id``, ``offender_id``,
    ``version``, ``handoff_id``) are zeroed or removed, so the row cannot be joined back to the
    record. Areas (force, BCU, district) and the case's facts stay.
    """
    return dataclasses.replace(
        row,
        case_id=0,
        version=0,
        offender_id=0,
        first_name="",
        last_name="",
        pnc_id="",
        postcode=None,
        handoff_id=None,
        pseudonym=offender_pseudonym(row.offender_id),
        case_pseudonym=case_pseudonym(row.case_id),
    )
