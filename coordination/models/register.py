"""The register: offenders, their addresses, cases and assignments, and the rule table."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime, _in

# --- The register: offenders, addresses, cases ------------------------------------------------

Sex = Literal["male", "female", "not_known"]
SEXES: tuple[str, ...] = ("male", "female", "not_known")
AddressState = Literal["residence", "no_fixed_abode", "unknown"]
ADDRESS_STATES: tuple[str, ...] = ("residence", "no_fixed_abode", "unknown")
Programme = Literal["iom_fixed", "iom_flex", "iom_free", "mappa", "other"]
PROGRAMMES: tuple[str, ...] = ("iom_fixed", "iom_flex", "iom_free", "mappa", "other")
Risk = Literal["low", "medium", "high", "very_high"]
RISKS: tuple[str, ...] = ("low", "medium", "high", "very_high")
CaseStatus = Literal["open", "closed"]
#: Why a case closed (``other`` needs a note saying what).
ClosureReason = Literal["sentence_ended", "deregistered", "deceased", "moved_out", "other"]
CLOSURE_REASONS: tuple[str, ...] = (
    "sentence_ended",
    "deregistered",
    "deceased",
    "moved_out",
    "other",
)


class OffenderBase(SQLModel):
    """A person managed by a force. Demo and test people are synthetic."""

    pnc_id: str
    first_name: str
    last_name: str
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    date_of_birth: date
    sex: Sex = Field(sa_type=AutoString)


class Offender(OffenderBase, table=True):
    """The offender table; the PNC ID (long form) is unique."""

    __tablename__ = "offender"
    __table_args__ = (
        sa.UniqueConstraint("pnc_id", name="uq_offender_pnc_id"),
        sa.CheckConstraint(_in("sex", SEXES), name="ck_offender_sex"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OffenderPublic(OffenderBase):
    """An offender as services return it."""

    id: int
    created_at: datetime
    created_by: str


class AddressBase(SQLModel):
    """Where a person lives from ``valid_from`` until ``valid_to`` (open-ended when None).

    "No fixed abode" and "unknown" are states, not blank strings. A residence is resolved when
    it is entered and its resolution is stored with it, naming the boundary set that answered,
    so an old answer can be explained after boundaries change.
    """

    state: AddressState = Field(default="residence", sa_type=AutoString)
    postcode: str | None = None
    easting: float | None = None
    northing: float | None = None
    valid_from: date
    valid_to: date | None = None
    force_code: str | None = None
    district_code: str | None = None
    bcu_code: str | None = None
    ward_code: str | None = None
    distance_to_boundary_m: float | None = None
    near_boundary: bool = False
    method: str | None = None
    boundary_set: str | None = None


class Address(AddressBase, table=True):
    """The address history table. At most one current (open-ended) address per offender."""

    __tablename__ = "address"
    __table_args__ = (
        sa.CheckConstraint(_in("state", ADDRESS_STATES), name="ck_address_state"),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name="ck_address_valid_range"
        ),
        sa.Index(
            "uq_address_one_current",
            "offender_id",
            unique=True,
            sqlite_where=sa.text("valid_to IS NULL"),
            postgresql_where=sa.text("valid_to IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    offender_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender.id", ondelete="CASCADE", name="fk_address_offender"),
            nullable=False,
            index=True,
        )
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str


class AddressPublic(AddressBase):
    """An address as services return it."""

    id: int
    offender_id: int
    created_at: datetime
    created_by: str


# Optimistic locking: SQLAlchemy bumps these on every UPDATE and refuses an update whose row
# has moved on (StaleDataError), which the services turn into "changed by NAME at TIME; reload".
_CASE_VERSION = sa.Column("version", sa.Integer, nullable=False)


class CaseBase(SQLModel):
    """A case: why and how a person is managed, and which force leads."""

    programme: Programme = Field(sa_type=AutoString)
    mappa_category: int | None = None
    mappa_level: int | None = None
    risk: Risk = Field(sa_type=AutoString)
    offence_category: str
    next_review_due: date | None = None
    # When the risk of serious harm was last assessed (None: at registration, date not given).
    risk_assessed_on: date | None = None
    # OGRS3 static inputs (docs/DOMAIN.md). Optional: a score is shown only when all are known.
    previous_sanctions: int | None = None
    age_at_first_sanction: int | None = None
    conviction_date: date | None = None


class Case(CaseBase, table=True):
    """The case table.

    Every open case has exactly one lead force: ``lead_force_code`` is NOT NULL and a foreign
    key, and it only changes when a handoff completes. ``version`` is the optimistic lock: an
    update that finds another version has lost a race and is refused.
    """

    __tablename__ = "offender_case"
    __table_args__ = (
        sa.ForeignKeyConstraint(["lead_force_code"], ["force.code"], name="fk_case_lead_force"),
        sa.ForeignKeyConstraint(["assigned_user_id"], ["users.id"], name="fk_case_assigned_user"),
        sa.CheckConstraint(_in("programme", PROGRAMMES), name="ck_case_programme"),
        sa.CheckConstraint(_in("risk", RISKS), name="ck_case_risk"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_case_status"),
        sa.CheckConstraint(
            "mappa_category IS NULL OR mappa_category BETWEEN 1 AND 3", name="ck_case_mappa_cat"
        ),
        sa.CheckConstraint(
            "mappa_level IS NULL OR mappa_level BETWEEN 1 AND 3", name="ck_case_mappa_level"
        ),
        sa.Index("ix_case_lead_status", "lead_force_code", "status"),
    )
    __mapper_args__ = {"version_id_col": _CASE_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    offender_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender.id", ondelete="CASCADE", name="fk_case_offender"),
            nullable=False,
            index=True,
        )
    )
    lead_force_code: str
    assigned_user_id: int | None = Field(default=None, index=True)
    status: CaseStatus = Field(default="open", sa_type=AutoString)
    responsibility_rule: str = ""
    responsibility_explanation: str = ""
    flags: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why it closed (CLOSURE_REASONS) and the note given; cleared when it reopens.
    closure_reason: str | None = None
    closure_note: str | None = None
    # The day the MAPPA category or level last changed (None: as registered).
    mappa_changed_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str
    version: int | None = Field(default=None, sa_column=_CASE_VERSION)


class CasePublic(CaseBase):
    """A case as services return it."""

    id: int
    offender_id: int
    lead_force_code: str
    assigned_user_id: int | None
    status: str
    responsibility_rule: str
    responsibility_explanation: str
    flags: list[str]
    opened_at: datetime
    closed_at: datetime | None
    closure_reason: str | None = None
    closure_note: str | None = None
    mappa_changed_on: date | None = None
    updated_at: datetime
    updated_by: str
    version: int


class CaseAssignment(SQLModel, table=True):
    """Who managed a case when: one row per assignment, closed when reassigned."""

    __tablename__ = "case_assignment"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_case_assignment_user"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_case_assignment_case"),
            nullable=False,
            index=True,
        )
    )
    user_id: int | None = None
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    assigned_by: str
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = ""


class ResponsibilityRule(SQLModel, table=True):
    """One row of the rule table that decides the responsible force (defaults from a file)."""

    __tablename__ = "responsibility_rule"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_responsibility_rule_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str
    priority: int
    enabled: bool = True
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
