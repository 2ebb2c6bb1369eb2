"""The offender register: people, their address history, their cases, and who leads each case.

Every address is resolved when it is entered and the resolution (force, district, BCU, ward,
distance to the boundary, near-boundary flag, method, boundary set) is stored on the address row,
so an old answer can be explained after the boundaries change. A case's lead force is decided by
the rule table (``coordination.rules``) and carries its explanation.

A move never changes a case's lead force: where the responsible force changes, the move creates a
handoff (``coordination.handoffs``) and the sending force stays responsible until it completes.

Services are keyword-only, take an explicit ``Session``, record an audit event for every write in
the same transaction, and return ``XPublic`` models or frozen dataclasses.
"""

from __future__ import annotations

import calendar
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlmodel import Session, col, or_, select

from coordination.audit import record_event
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Address,
    AddressPublic,
    Case,
    CaseBase,
    CasePublic,
    Force,
    Handoff,
    HandoffPublic,
    Offender,
    OffenderBase,
    OffenderPublic,
)
from coordination.permissions import require, visible_case_filter
from coordination.pnc import normalise_pnc
from coordination.rules import Decision, ResidenceContext, decide, load_rules
from geo.errors import ConflictError, InputError, NotFoundError
from geo.forces import METROPOLITAN, force_name
from geo.lookup import Lookup, LookupResult
from geo.postcodes import normalise_postcode

__all__ = [
    "MAX_AGE_YEARS",
    "MIN_AGE_YEARS",
    "OFFENCE_CATEGORIES",
    "REVIEW_MONTHS",
    "AddedOffender",
    "CaseCreate",
    "CaseDecision",
    "MoveResult",
    "OffenderCreate",
    "OffenderDetail",
    "Residence",
    "add_months",
    "add_offender",
    "get_offender",
    "list_offenders",
    "move_offender",
    "normalise_offence_category",
    "review_due",
    "validated",
]

# The OGRS3 current-offence categories (DOMAIN.md), snake_case key → the label in the scale.
OFFENCE_CATEGORIES: dict[str, str] = {
    "violence": "violence",
    "robbery": "robbery",
    "public_order": "public order",
    "sexual_not_child": "sexual (not child)",
    "sexual_child": "sexual (child)",
    "soliciting": "soliciting",
    "burglary_domestic": "burglary (domestic)",
    "burglary_other": "burglary (other)",
    "theft_non_motor": "theft (non-motor)",
    "handling_stolen_goods": "handling stolen goods",
    "fraud_and_forgery": "fraud and forgery",
    "absconding_or_bail": "absconding or bail",
    "taking_and_driving_away": "taking and driving away",
    "theft_from_vehicle": "theft from vehicle",
    "other_motoring": "other motoring",
    "drink_driving": "drink driving",
    "criminal_damage": "criminal damage",
    "drug_import_export_production": "drug import/export/production",
    "drug_possession_supply": "drug possession/supply",
    "other": "other",
}

# Review intervals (DOMAIN.md): MAPPA every 3 months, IOM every 6; other cases as IOM.
REVIEW_MONTHS: dict[str, int] = {
    "mappa": 3,
    "iom_fixed": 6,
    "iom_flex": 6,
    "iom_free": 6,
    "other": 6,
}

# The age of criminal responsibility in England and Wales is 10; nobody managed is older than
# this upper bound, which catches a mistyped century.
MIN_AGE_YEARS = 10
MAX_AGE_YEARS = 110
_NAME_MAX = 100
_BNG_MAX_E, _BNG_MAX_N = 700_000.0, 1_300_000.0


# -- small helpers -----------------------------------------------------------------------------


def normalise_offence_category(text: str) -> str:
    """Return the snake_case key of an OGRS3 offence category given its key or its label.

    Raises
    ------
    InputError
        If the text names no category.
    """
    if not isinstance(text, str):
        raise InputError("An offence category is text, e.g. 'fraud_and_forgery'")
    cleaned = " ".join(text.strip().lower().split())
    if cleaned.replace(" ", "_") in OFFENCE_CATEGORIES:
        return cleaned.replace(" ", "_")
    for key, label in OFFENCE_CATEGORIES.items():
        if cleaned == label:
            return key
    shown = cleaned[:40] or "(nothing)"
    raise InputError(
        f"{shown!r} is not an OGRS3 offence category (one of: {', '.join(OFFENCE_CATEGORIES)})"
    )


def add_months(day: date, months: int) -> date:
    """Return the same day ``months`` later, clamped to the end of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(programme: str, opened: date) -> date:
    """Return when a case opened on ``opened`` is next due for review (3 months MAPPA, 6 IOM)."""
    return add_months(opened, REVIEW_MONTHS.get(programme, 6))


def _years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _clean_name(value: str, what: str) -> str:
    cleaned = " ".join(unicodedata.normalize("NFC", value).split())
    if not cleaned:
        raise ValueError(f"{what} must not be blank")
    if len(cleaned) > _NAME_MAX:
        raise ValueError(f"{what} is longer than {_NAME_MAX} characters")
    if any(not ch.isprintable() for ch in cleaned):
        raise ValueError(f"{what} contains characters that cannot be printed")
    return cleaned


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], **data: Any) -> M:
    """Build an input model, turning a validation failure into one clear :class:`InputError`.

    Parameters
    ----------
    model
        :class:`OffenderCreate`, :class:`CaseCreate` or :class:`Residence`.
    **data
        Its fields.

    Raises
    ------
    InputError
        The first problem found, as one line naming the field.
    """
    try:
        return model(**data)
    except ValidationError as exc:
        raise _input_error(exc) from None


def _input_error(exc: ValidationError) -> InputError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    # Pydantic prefixes messages of ValueErrors raised by validators.
    message = message.removeprefix("Value error, ")
    return InputError(f"{where}: {message}" if where else message)


# -- inputs ------------------------------------------------------------------------------------


class OffenderCreate(OffenderBase):
    """A new offender: PNC ID checked and stored long-form, names non-blank, DOB sensible."""

    @field_validator("pnc_id", mode="before")
    @classmethod
    def _pnc(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("a PNC ID is text like 2019/0012345G")
        return normalise_pnc(value)

    @field_validator("first_name", "last_name", mode="before")
    @classmethod
    def _names(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("a name is text")
        return _clean_name(value, "a name")

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError("aliases are a list of names")
        return list(dict.fromkeys(_clean_name(v, "an alias") for v in value if v.strip()))

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: date) -> date:
        today = date.today()
        if value >= today:
            raise ValueError("the date of birth must be in the past")
        age = _years_between(value, today)
        if age < MIN_AGE_YEARS:
            raise ValueError(
                f"a date of birth of {value.isoformat()} makes the person {age}, below the age "
                f"of criminal responsibility ({MIN_AGE_YEARS})"
            )
        if age > MAX_AGE_YEARS:
            raise ValueError(
                f"a date of birth of {value.isoformat()} makes the person {age}: check the year"
            )
        return value


class CaseCreate(CaseBase):
    """A new case: MAPPA category and level given exactly when the programme is MAPPA."""

    @field_validator("offence_category", mode="before")
    @classmethod
    def _offence(cls, value: Any) -> str:
        return normalise_offence_category(value)

    @model_validator(mode="after")
    def _mappa(self) -> CaseCreate:
        mappa = self.programme == "mappa"
        given = (self.mappa_category is not None, self.mappa_level is not None)
        if mappa and not all(given):
            raise ValueError("a MAPPA case needs its category (1-3) and level (1-3)")
        if not mappa and any(given):
            raise ValueError(
                f"MAPPA category and level belong to MAPPA cases only, not to {self.programme}"
            )
        for value, what in ((self.mappa_category, "category"), (self.mappa_level, "level")):
            if value is not None and not 1 <= value <= 3:
                raise ValueError(f"MAPPA {what} is 1, 2 or 3, not {value}")
        return self


ResidenceState = Literal["residence", "no_fixed_abode", "unknown"]


class Residence(BaseModel):
    """Where a person lives now: a postcode, or BNG easting/northing, or a state.

    "No fixed abode" and "unknown" are states, never blank strings.
    """

    model_config = ConfigDict(frozen=True)

    state: ResidenceState = "residence"
    postcode: str | None = None
    easting: float | None = None
    northing: float | None = None

    @field_validator("postcode", mode="before")
    @classmethod
    def _postcode(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("a postcode is text")
        return normalise_postcode(value)

    @model_validator(mode="after")
    def _shape(self) -> Residence:
        point = (self.easting, self.northing)
        if self.state != "residence":
            if self.postcode is not None or any(v is not None for v in point):
                raise ValueError(f"{self.state.replace('_', ' ')} takes no postcode or coordinates")
            return self
        has_point = all(v is not None for v in point)
        if any(v is not None for v in point) and not has_point:
            raise ValueError("give both easting and northing")
        if (self.postcode is None) == (not has_point):
            raise ValueError("give a postcode or easting/northing (one of them)")
        if has_point:
            e, n = float(self.easting or 0.0), float(self.northing or 0.0)
            if not (math.isfinite(e) and math.isfinite(n)):
                raise ValueError("coordinates must be numbers")
            if not (0 <= e <= _BNG_MAX_E and 0 <= n <= _BNG_MAX_N):
                raise ValueError(
                    f"E {e:.0f}, N {n:.0f} is off the British National Grid (0-700000, 0-1300000)"
                )
        return self

    @classmethod
    def at_postcode(cls, postcode: str) -> Residence:
        """A residence at a postcode (any case and spacing)."""
        return validated(cls, postcode=postcode)

    @classmethod
    def at_point(cls, easting: float, northing: float) -> Residence:
        """A residence at British National Grid metres."""
        return validated(cls, easting=easting, northing=northing)

    @classmethod
    def no_fixed_abode(cls) -> Residence:
        """No fixed abode."""
        return cls(state="no_fixed_abode")

    @classmethod
    def unknown(cls) -> Residence:
        """Address unknown."""
        return cls(state="unknown")


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddedOffender:
    """What :func:`add_offender` stored, and the responsibility decision for the case."""

    offender: OffenderPublic
    case: CasePublic
    address: AddressPublic
    decision: Decision
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CaseDecision:
    """One open case after a move: its (unchanged) lead, the new decision, and any handoff."""

    case_id: int
    lead_force_code: str
    decision: Decision
    handoff: HandoffPublic | None
    note: str


@dataclass(frozen=True)
class MoveResult:
    """What :func:`move_offender` stored, decided and started.

    ``decision`` is the decision for the first open case (``None`` with no open case);
    ``cases`` has one entry per open case; ``handoffs`` are those created by this move.
    """

    address: AddressPublic
    previous: AddressPublic | None
    decision: Decision | None
    cases: list[CaseDecision]
    handoffs: list[HandoffPublic]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OffenderDetail:
    """An offender with addresses (newest first), cases, and the handoffs of those cases."""

    offender: OffenderPublic
    addresses: list[AddressPublic]
    cases: list[CasePublic]
    handoffs: list[HandoffPublic]

    @property
    def current_address(self) -> AddressPublic | None:
        """The open-ended address, if any."""
        return next((a for a in self.addresses if a.valid_to is None), None)


# -- resolving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolved:
    fields: dict[str, Any]
    context: ResidenceContext
    warnings: list[str]


def _resolve(residence: Residence, lookup: Lookup, near_boundary_m: float) -> _Resolved:
    """Resolve a residence with the lookup; states need no resolution."""
    if residence.state != "residence":
        return _Resolved({"state": residence.state}, ResidenceContext(), [])
    result: LookupResult
    if residence.postcode is not None:
        result = lookup.lookup(residence.postcode)
    else:
        assert residence.easting is not None and residence.northing is not None
        result = lookup.lookup_point(residence.easting, residence.northing)
    distance = result.distance_to_boundary_m
    fields = {
        "state": "residence",
        "postcode": result.postcode,
        "easting": float(result.easting),
        "northing": float(result.northing),
        "force_code": result.force.code if result.force else None,
        "district_code": result.district.code if result.district else None,
        "bcu_code": result.bcu.code if result.bcu else None,
        "ward_code": result.ward.code if result.ward else None,
        "distance_to_boundary_m": None if distance is None else round(float(distance), 1),
        "near_boundary": bool(
            result.near_boundary or (distance is not None and distance <= near_boundary_m)
        ),
        "method": result.method,
        "boundary_set": result.boundary_set,
    }
    context = ResidenceContext(
        district_name=result.district.name if result.district else None,
        bcu_name=result.bcu.name if result.bcu else None,
        nearest_other_force_code=(
            result.nearest_other_force.code if result.nearest_other_force else None
        ),
    )
    return _Resolved(fields, context, list(result.warnings))


def _address_details(address: Address) -> dict[str, Any]:
    return {
        "offender_id": address.offender_id,
        "state": address.state,
        "postcode": address.postcode,
        "valid_from": address.valid_from.isoformat(),
        "force_code": address.force_code,
        "district_code": address.district_code,
        "bcu_code": address.bcu_code,
        "near_boundary": address.near_boundary,
        "method": address.method,
        "boundary_set": address.boundary_set,
    }


def _force_label(code: str) -> str:
    return force_name(code).name


def _require_force(session: Session, code: str) -> None:
    if session.get(Force, code) is None:
        raise NotFoundError(f"No force with code {code!r}: run `crossforce init` first")


def _check_valid_from(valid_from: date, today: date, born: date) -> None:
    if valid_from > today:
        raise InputError(f"An address cannot start in the future ({valid_from.isoformat()})")
    if valid_from < born:
        raise InputError(
            f"An address cannot start ({valid_from.isoformat()}) before the date of birth"
        )


# -- services ----------------------------------------------------------------------------------


def add_offender(
    session: Session,
    *,
    actor: str,
    offender: OffenderCreate,
    case: CaseCreate,
    residence: Residence,
    lookup: Lookup,
    valid_from: date | None = None,
    near_boundary_m: float = 100.0,
    today: date | None = None,
) -> AddedOffender:
    """Register an offender with their current residence and one case.

    The residence is resolved now and the resolution stored on the address row. The case's lead
    force comes from the rule table, with the explanation and flags of that decision; its next
    review is due 3 months on for MAPPA and 6 for IOM (and other) unless given.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is registering (for the audit log).
    offender, case, residence
        Validated inputs (see :func:`validated`).
    lookup
        The boundary lookup (the CLI passes ``coordination.lookup.get_service().lookup``).
    valid_from
        When the person began living there (default: today).
    near_boundary_m
        Residences this close to another force are flagged for address verification.
    today
        The date the case opens (default: today); tests pin it.

    Returns
    -------
    AddedOffender

    Raises
    ------
    ConflictError
        An offender with this PNC ID exists.
    InputError
        The residence cannot be resolved (unknown postcode …) or ``valid_from`` is impossible.
    """
    require(session, actor=actor, action="case.create")
    today = today or date.today()
    valid_from = valid_from or today
    _check_valid_from(valid_from, today, offender.date_of_birth)
    existing = session.exec(select(Offender).where(Offender.pnc_id == offender.pnc_id)).first()
    if existing is not None:
        raise ConflictError(
            f"An offender with PNC ID {offender.pnc_id} is already registered (id {existing.id})"
        )
    resolved = _resolve(residence, lookup, near_boundary_m)

    row = Offender.model_validate(offender, update={"created_by": actor})
    session.add(row)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        # Registered by someone else since the check above; session_scope rolls back.
        raise ConflictError(
            f"An offender with PNC ID {offender.pnc_id} is already registered"
        ) from error
    assert row.id is not None
    record_event(
        session,
        actor=actor,
        action="offender.create",
        entity_type="offender",
        entity_id=str(row.id),
        details={"pnc_id": row.pnc_id},
        category="collection",
        offender_ids=[row.id],
    )

    address = Address(
        offender_id=row.id, valid_from=valid_from, created_by=actor, **resolved.fields
    )
    session.add(address)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="address.create",
        entity_type="address",
        entity_id=str(address.id),
        details=_address_details(address),
        category="collection",
        offender_ids=[row.id],
    )
    address_public = AddressPublic.model_validate(address)

    decision = decide(
        rules=load_rules(session),
        residence=address_public,
        programme=case.programme,
        offence_category=case.offence_category,
        current_lead=None,
        near_boundary_m=near_boundary_m,
        context=resolved.context,
    )
    _require_force(session, decision.force_code)
    now = datetime.now(UTC)
    case_row = Case.model_validate(
        case,
        update={
            "offender_id": row.id,
            "lead_force_code": decision.force_code,
            "responsibility_rule": decision.rule,
            "responsibility_explanation": decision.explanation,
            "flags": list(decision.flags),
            "next_review_due": case.next_review_due or review_due(case.programme, today),
            "opened_at": now,
            "updated_at": now,
            "updated_by": actor,
        },
    )
    session.add(case_row)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="case.create",
        entity_type="case",
        entity_id=str(case_row.id),
        details={
            "offender_id": row.id,
            "programme": case_row.programme,
            "risk": case_row.risk,
            "offence_category": case_row.offence_category,
            "lead_force_code": case_row.lead_force_code,
            "rule": decision.rule,
            "flags": list(decision.flags),
            "next_review_due": case_row.next_review_due.isoformat()
            if case_row.next_review_due
            else None,
        },
        category="collection",
        offender_ids=[row.id],
    )
    return AddedOffender(
        offender=OffenderPublic.model_validate(row),
        case=CasePublic.model_validate(case_row),
        address=address_public,
        decision=decision,
        warnings=resolved.warnings,
    )


def move_offender(
    session: Session,
    *,
    actor: str,
    offender_id: int,
    residence: Residence,
    lookup: Lookup,
    valid_from: date | None = None,
    near_boundary_m: float = 100.0,
    today: date | None = None,
    now: datetime | None = None,
) -> MoveResult:
    """Record a change of residence and re-decide who is responsible for each open case.

    The current address closes the day before ``valid_from`` (the same day for a same-day
    correction). Where an open case's responsible force changes, a handoff is created; the
    case's lead force does not change until that handoff completes. No fixed abode or unknown:
    the case is flagged and the lead kept, with no handoff.

    Parameters
    ----------
    session
        Open session.
    actor
        Who is recording the move (for the audit log).
    offender_id
        The offender who moved.
    residence
        The new residence (postcode, point, or a state).
    lookup
        The boundary lookup.
    valid_from
        When the new residence began (default: today); not before the current address began.
    near_boundary_m
        Residences this close to another force are flagged for address verification.
    today
        Today's date (default: the real one); tests pin it.
    now
        When the move is recorded (default: now), passed to any handoff it creates so that a
        move recorded late keeps its real request date and deadlines.

    Returns
    -------
    MoveResult

    Raises
    ------
    NotFoundError
        No such offender.
    InputError
        ``valid_from`` is before the current address began, in the future, or the residence
        cannot be resolved.
    ConflictError
        Someone else moved the same person at the same time.
    """
    require(session, actor=actor, action="case.move", offender_id=offender_id)
    today = today or date.today()
    valid_from = valid_from or today
    offender = session.get(Offender, offender_id)
    if offender is None:
        raise NotFoundError(f"No offender with id {offender_id}")
    _check_valid_from(valid_from, today, offender.date_of_birth)
    current = session.exec(
        select(Address).where(Address.offender_id == offender_id, col(Address.valid_to).is_(None))
    ).first()
    if current is not None and valid_from < current.valid_from:
        raise InputError(
            f"A move from {valid_from.isoformat()} cannot start before the current address "
            f"began ({current.valid_from.isoformat()})"
        )
    resolved = _resolve(residence, lookup, near_boundary_m)

    previous: AddressPublic | None = None
    if current is not None:
        # A same-day move: the earlier entry lasted that one day (valid_to >= valid_from holds).
        current.valid_to = max(valid_from - timedelta(days=1), current.valid_from)
        session.add(current)
        try:
            session.flush()
        except sa.exc.IntegrityError as error:  # pragma: no cover - defensive
            raise ConflictError("The address history changed meanwhile; reload") from error
        record_event(
            session,
            actor=actor,
            action="address.close",
            entity_type="address",
            entity_id=str(current.id),
            details={"offender_id": offender_id, "valid_to": current.valid_to.isoformat()},
            category="alteration",
            offender_ids=[offender_id],
        )
        previous = AddressPublic.model_validate(current)

    address = Address(
        offender_id=offender_id, valid_from=valid_from, created_by=actor, **resolved.fields
    )
    session.add(address)
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        # The partial unique index allows one current address: someone moved them meanwhile.
        raise ConflictError(
            f"The address of offender {offender_id} was changed meanwhile; reload"
        ) from error
    record_event(
        session,
        actor=actor,
        action="address.create",
        entity_type="address",
        entity_id=str(address.id),
        details=_address_details(address),
        category="alteration",
        offender_ids=[offender_id],
    )
    address_public = AddressPublic.model_validate(address)

    rules = load_rules(session)
    open_cases = session.exec(
        select(Case)
        .where(Case.offender_id == offender_id, Case.status == "open")
        .order_by(col(Case.id))
    ).all()
    outcomes: list[CaseDecision] = []
    created: list[HandoffPublic] = []
    for case in open_cases:
        assert case.id is not None
        decision = decide(
            rules=rules,
            residence=address_public,
            programme=case.programme,
            offence_category=case.offence_category,
            current_lead=case.lead_force_code,
            near_boundary_m=near_boundary_m,
            context=resolved.context,
        )
        handoff, note = _handoff_for(
            session, actor=actor, case=case, decision=decision, address=address_public, now=now
        )
        if handoff is not None:
            created.append(handoff)
        # The explanation and flags follow the newest decision; the lead force does not.
        case.responsibility_rule = decision.rule
        case.responsibility_explanation = decision.explanation
        case.flags = list(decision.flags)
        case.updated_at = datetime.now(UTC)
        case.updated_by = actor
        session.add(case)
        session.flush()
        record_event(
            session,
            actor=actor,
            action="case.responsibility",
            entity_type="case",
            entity_id=str(case.id),
            details={
                "address_id": address.id,
                "lead_force_code": case.lead_force_code,
                "decided_force_code": decision.force_code,
                "rule": decision.rule,
                "flags": list(decision.flags),
                "handoff_id": handoff.id if handoff else None,
            },
            category="alteration",
            offender_ids=[offender_id],
        )
        outcomes.append(
            CaseDecision(
                case_id=case.id,
                lead_force_code=case.lead_force_code,
                decision=decision,
                handoff=handoff,
                note=note,
            )
        )
    return MoveResult(
        address=address_public,
        previous=previous,
        decision=outcomes[0].decision if outcomes else None,
        cases=outcomes,
        handoffs=created,
        warnings=resolved.warnings,
    )


def _handoff_for(
    session: Session,
    *,
    actor: str,
    case: Case,
    decision: Decision,
    address: AddressPublic,
    now: datetime | None = None,
) -> tuple[HandoffPublic | None, str]:
    """Create the handoff a decision calls for, if any; return it and a note for people."""
    open_handoff = session.exec(
        select(Handoff).where(
            Handoff.case_id == case.id, col(Handoff.state).in_(OPEN_HANDOFF_STATES)
        )
    ).first()
    lead = _force_label(case.lead_force_code)
    if decision.force_code == case.lead_force_code:
        if open_handoff is not None:
            return None, (
                f"{lead} keeps the case; handoff {open_handoff.id} to "
                f"{_force_label(open_handoff.to_force_code)} is still open and no longer matches "
                "the residence: withdraw it"
            )
        return None, f"{lead} keeps the case"
    target = _force_label(decision.force_code)
    if open_handoff is not None:
        if open_handoff.to_force_code == decision.force_code:
            return None, f"handoff {open_handoff.id} to {target} is already open"
        return None, (
            f"responsibility now lies with {target}, but handoff {open_handoff.id} to "
            f"{_force_label(open_handoff.to_force_code)} is open: withdraw it, then record the "
            "move again to hand off"
        )
    _require_force(session, decision.force_code)
    from coordination.handoffs import create_handoff  # local: handoffs may import the register

    assert case.id is not None
    handoff = create_handoff(
        session,
        actor=actor,
        case_id=case.id,
        to_force_code=decision.force_code,
        to_bcu_code=address.bcu_code if decision.force_code == METROPOLITAN else None,
        reason=decision.explanation,
        address_id=address.id,
        now=now,
    )
    return handoff, f"handoff {handoff.id} to {target} created; {lead} leads until it completes"


def get_offender(
    session: Session,
    *,
    offender_id: int,
    actor: str | None = None,
    justification: str | None = None,
) -> OffenderDetail:
    """Open a person's record: their address history (newest first), cases and handoffs.

    Opening a record is a consultation (DPA 2018 s.62): a user must give a reason, and the look
    is logged with it (category ``consultation``). Only the cases the actor may see are shown.

    Parameters
    ----------
    session
        Any session (the caller commits, so the consultation is logged).
    offender_id
        The person.
    actor
        Who is looking; see ``coordination.permissions.principal``.
    justification
        Why; required for a user (not for a system principal).

    Raises
    ------
    AccessDeniedError
        The actor may not see any case of this person (audited).
    InputError
        A user gave no reason.
    NotFoundError
        No such offender.
    """
    p = require(session, actor=actor, action="case.view", offender_id=offender_id)
    justification = " ".join((justification or "").split()) or None
    if not p.is_system and justification is None:
        raise InputError("A reason is needed to open this record")
    offender = session.get(Offender, offender_id)
    if offender is None:
        raise NotFoundError(f"No offender with id {offender_id}")
    if actor:
        record_event(
            session,
            actor=actor,
            action="offender.view",
            entity_type="offender",
            entity_id=str(offender_id),
            category="consultation",
            justification=justification,
            offender_ids=[offender_id],
        )
    addresses = session.exec(
        select(Address)
        .where(Address.offender_id == offender_id)
        .order_by(col(Address.valid_from).desc(), col(Address.id).desc())
    ).all()
    cases = session.exec(
        select(Case)
        .where(Case.offender_id == offender_id, visible_case_filter(p))
        .order_by(col(Case.id))
    ).all()
    case_ids = [c.id for c in cases]
    handoffs = (
        session.exec(
            select(Handoff)
            .where(col(Handoff.case_id).in_(case_ids))
            .order_by(col(Handoff.created_at), col(Handoff.id))
        ).all()
        if case_ids
        else []
    )
    return OffenderDetail(
        offender=OffenderPublic.model_validate(offender),
        addresses=[AddressPublic.model_validate(a) for a in addresses],
        cases=[CasePublic.model_validate(c) for c in cases],
        handoffs=[HandoffPublic.model_validate(h) for h in handoffs],
    )


def list_offenders(
    session: Session,
    *,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
    actor: str | None = None,
) -> list[OffenderPublic]:
    """Return offenders by id, optionally those whose PNC ID or name contains ``search``.

    Only people with a case the actor may see are listed; analysts are refused (the list
    carries names), see ``coordination.permissions``.
    """
    p = require(session, actor=actor, action="case.view", personal=True)
    query = select(Offender)
    if not p.is_system:
        query = query.where(
            col(Offender.id).in_(select(Case.offender_id).where(visible_case_filter(p)))
        )
    if search and search.strip():
        pattern = f"%{search.strip()}%"
        query = query.where(
            or_(
                col(Offender.pnc_id).ilike(pattern),
                col(Offender.last_name).ilike(pattern),
                col(Offender.first_name).ilike(pattern),
            )
        )
    rows = session.exec(query.order_by(col(Offender.id)).offset(offset).limit(limit)).all()
    return [OffenderPublic.model_validate(r) for r in rows]
