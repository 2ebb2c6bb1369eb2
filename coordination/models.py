"""Database tables and their API shapes (SQLModel).

Each entity comes as a family: ``XBase`` (shared fields), ``XCreate`` (what a caller supplies),
``X`` (the table) and ``XPublic`` (what a service returns). Services return ``XPublic`` objects,
never table rows, so nothing outside a session can lazily touch the database.

Every datetime is timezone-aware UTC, on SQLite (which stores none) as on PostgreSQL. The tables
here are exactly what ``migrations/versions`` creates; a test compares the two.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import AutoString, Field, SQLModel

AreaKind = Literal["force", "district", "ward", "bcu"]
Role = Literal["offender_manager", "supervisor", "analyst", "admin"]
AREA_KINDS: tuple[str, ...] = ("force", "district", "ward", "bcu")
ROLES: tuple[str, ...] = ("offender_manager", "supervisor", "analyst", "admin")

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always written and read as aware UTC.

    SQLite keeps no offset, so values are normalised to UTC on the way in and given UTC back on
    the way out; PostgreSQL's ``timestamptz`` is converted from the session time zone to UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive datetime is ambiguous; storing it would silently shift times.
            raise ValueError("naive datetime given to a UTC column: use datetime.now(UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# --- BoundarySet -----------------------------------------------------------------------------


class BoundarySetBase(SQLModel):
    """Fields describing one boundary set (a vintage of force/district/ward boundaries)."""

    name: str
    source: str
    vintage: str
    approximate: bool = False
    checksum: str = Field(index=True)
    coverage_note: str = ""


class BoundarySetCreate(BoundarySetBase):
    """What a loader supplies; counts and timestamps are filled in by the service."""


class BoundarySet(BoundarySetBase, table=True):
    """A stored boundary set. At most one is active, enforced by a partial unique index."""

    __tablename__ = "boundary_set"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uq_boundary_set_name"),
        # Partial unique index: many inactive rows may share active=false, only one row may be
        # active. Both SQLite and PostgreSQL support WHERE on an index.
        sa.Index(
            "uq_boundary_set_one_active",
            "active",
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    loaded_by: str
    active: bool = False
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    n_forces: int = 0
    n_districts: int = 0
    n_wards: int = 0


class BoundarySetPublic(BoundarySetBase):
    """A boundary set as services return it."""

    id: int
    loaded_at: datetime
    loaded_by: str
    active: bool
    activated_at: datetime | None
    n_forces: int
    n_districts: int
    n_wards: int


# --- Force -----------------------------------------------------------------------------------


class ForceBase(SQLModel):
    """A police force, keyed by its ONS code."""

    code: str = Field(primary_key=True)
    ons_name: str
    name: str
    country: str


class ForceCreate(ForceBase):
    """A force to insert (seeded from ``geo.forces``)."""


class Force(ForceBase, table=True):
    """The force table."""

    __tablename__ = "force"


class ForcePublic(ForceBase):
    """A force as services return it."""


# --- Area ------------------------------------------------------------------------------------


class AreaBase(SQLModel):
    """One area of a boundary set: a force, district, ward or Met BCU.

    ``parent_code`` links ward→district, district→force and bcu→force. BCUs have no geometry of
    their own: they are unions of districts.
    """

    kind: AreaKind = Field(sa_type=AutoString)
    code: str
    name: str
    parent_code: str | None = None
    force_code: str | None = None
    bcu_code: str | None = None


class AreaCreate(AreaBase):
    """An area to insert, with WKB geometry in EPSG:27700."""

    geometry: bytes | None = None


class Area(AreaBase, table=True):
    """The area table; geometry is WKB in British National Grid."""

    __tablename__ = "area"
    __table_args__ = (
        sa.UniqueConstraint("boundary_set_id", "kind", "code", name="uq_area_set_kind_code"),
        sa.Index("ix_area_set_kind", "boundary_set_id", "kind"),
        sa.CheckConstraint("kind IN ('force', 'district', 'ward', 'bcu')", name="ck_area_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    boundary_set_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("boundary_set.id", ondelete="CASCADE", name="fk_area_boundary_set"),
            nullable=False,
        )
    )
    geometry: bytes | None = Field(default=None, sa_type=sa.LargeBinary)


class AreaPublic(AreaBase):
    """An area as services return it (without geometry)."""

    id: int
    boundary_set_id: int


# --- User ------------------------------------------------------------------------------------


class UserBase(SQLModel):
    """A person who uses crossforce."""

    username: str
    display_name: str
    force_code: str
    role: Role = Field(sa_type=AutoString)
    bcu_code: str | None = None
    team: str | None = None
    active: bool = True


class UserCreate(UserBase):
    """A new user; the username is normalised to lower case."""

    @field_validator("username", mode="before")
    @classmethod
    def _normalise_username(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        username = value.strip().lower()
        if not _USERNAME.match(username):
            raise ValueError(
                "a username is 1-64 characters: letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return username

    @field_validator("display_name", "force_code")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class User(UserBase, table=True):
    """The user table. Usernames are stored lower-case (a check constraint holds it).

    Sign-in fields: an argon2id ``password_hash`` (None: cannot sign in with a password, e.g.
    single sign-on only), failed attempts and a lock-out time, and ``is_demo`` for the demo
    accounts of development mode (never created in production).
    """

    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.ForeignKeyConstraint(["force_code"], ["force.code"], name="fk_users_force"),
        sa.CheckConstraint("username = lower(username)", name="ck_users_username_lower"),
        sa.CheckConstraint(
            "role IN ('offender_manager', 'supervisor', 'analyst', 'admin')",
            name="ck_users_role",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_hash: str | None = None
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_demo: bool = False


class UserPublic(UserBase):
    """A user as services return it."""

    id: int
    created_at: datetime


# --- AuditEvent ------------------------------------------------------------------------------


class AuditEventBase(SQLModel):
    """Who did what to which entity, and when. Append-only."""

    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(index=True)
    action: str = Field(index=True)
    entity_type: str
    entity_id: str | None = None
    details: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class AuditEvent(AuditEventBase, table=True):
    """The audit log table. Rows are only ever inserted (see ``coordination.audit``).

    Data Protection Act 2018 s.62 fields: ``category`` (collection, alteration, consultation,
    disclosure, combination, erasure, or ``system``), ``justification`` where the law asks for
    one, ``recipients`` of a disclosure and ``offender_ids`` touched. ``prev_hash``/``hash`` chain
    every row to the one before, so an edit or deletion anywhere is detected on verification.
    """

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(default="system", index=True)
    justification: str | None = None
    recipients: list[str] | None = Field(default=None, sa_type=sa.JSON)
    offender_ids: list[int] | None = Field(default=None, sa_type=sa.JSON)
    prev_hash: str | None = None
    hash: str | None = None


class AuditEventPublic(AuditEventBase):
    """An audit event as services return it."""

    id: int


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
HandoffState = Literal["proposed", "requested", "accepted", "completed", "rejected", "withdrawn"]
HANDOFF_STATES: tuple[str, ...] = (
    "proposed",
    "requested",
    "accepted",
    "completed",
    "rejected",
    "withdrawn",
)
OPEN_HANDOFF_STATES: tuple[str, ...] = ("proposed", "requested", "accepted")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


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
_HANDOFF_VERSION = sa.Column("version", sa.Integer, nullable=False)


class CaseBase(SQLModel):
    """A case: why and how a person is managed, and which force leads."""

    programme: Programme = Field(sa_type=AutoString)
    mappa_category: int | None = None
    mappa_level: int | None = None
    risk: Risk = Field(sa_type=AutoString)
    offence_category: str
    next_review_due: date | None = None
    # OGRS3 static inputs (DOMAIN.md). Optional: a score is shown only when all are known.
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


# --- Handoffs ---------------------------------------------------------------------------------


class HandoffBase(SQLModel):
    """A transfer of responsibility for a case from one force to another."""

    from_force_code: str
    to_force_code: str
    to_bcu_code: str | None = None
    reason: str


class Handoff(HandoffBase, table=True):
    """The handoff table. At most one open handoff per case, enforced by a partial index."""

    __tablename__ = "handoff"
    __table_args__ = (
        sa.ForeignKeyConstraint(["from_force_code"], ["force.code"], name="fk_handoff_from"),
        sa.ForeignKeyConstraint(["to_force_code"], ["force.code"], name="fk_handoff_to"),
        sa.CheckConstraint(_in("state", HANDOFF_STATES), name="ck_handoff_state"),
        sa.CheckConstraint("from_force_code <> to_force_code", name="ck_handoff_two_forces"),
        sa.Index(
            "uq_handoff_one_open_per_case",
            "case_id",
            unique=True,
            sqlite_where=sa.text(_in("state", OPEN_HANDOFF_STATES)),
            postgresql_where=sa.text(_in("state", OPEN_HANDOFF_STATES)),
        ),
        sa.Index("ix_handoff_to_state", "to_force_code", "state"),
        sa.Index("ix_handoff_from_state", "from_force_code", "state"),
    )
    __mapper_args__ = {"version_id_col": _HANDOFF_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_handoff_case"),
            nullable=False,
            index=True,
        )
    )
    address_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("address.id", ondelete="SET NULL", name="fk_handoff_address"),
            nullable=True,
        ),
    )
    state: HandoffState = Field(default="proposed", sa_type=AutoString)
    requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    address_check_due: date | None = None
    completion_due: date | None = None
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rejection_reason: str | None = None
    escalated: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str
    version: int | None = Field(default=None, sa_column=_HANDOFF_VERSION)


class HandoffPublic(HandoffBase):
    """A handoff as services return it."""

    id: int
    case_id: int
    address_id: int | None
    state: str
    requested_at: datetime | None
    address_check_due: date | None
    completion_due: date | None
    accepted_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    rejection_reason: str | None
    escalated: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    version: int


# --- Caseload: officer capacity and case weights ----------------------------------------------


class OfficerProfile(SQLModel, table=True):
    """Workload facts about a user who manages cases (HMPPS workload rule, DOMAIN.md)."""

    __tablename__ = "officer_profile"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_officer_profile_user"),
    )

    user_id: int = Field(primary_key=True)
    grade: str
    grade_points: float
    contracted_hours: float = 37.0
    available_hours: float = 37.0


class CaseWeight(SQLModel, table=True):
    """Points a case carries, by programme and risk (defaults from a file; editable)."""

    __tablename__ = "case_weight"

    programme: str = Field(primary_key=True)
    risk: str = Field(primary_key=True)
    points: float


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


# --- Joint review meetings --------------------------------------------------------------------

MeetingStatus = Literal["planned", "held", "closed"]
DecisionKind = Literal["retain", "transfer", "joint", "escalate", "nfa", "other"]
DECISION_KINDS: tuple[str, ...] = ("retain", "transfer", "joint", "escalate", "nfa", "other")
ActionStatus = Literal["open", "done", "cancelled"]
_MEETING_VERSION = sa.Column("version", sa.Integer, nullable=False)


class MeetingBase(SQLModel):
    """A joint review meeting of two or more forces (default City and Met)."""

    title: str
    meeting_date: date
    chair: str
    attendees: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    forces: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class Meeting(MeetingBase, table=True):
    """The meeting table. ``forces`` holds ONS force codes, sorted."""

    __tablename__ = "meeting"
    __table_args__ = (
        sa.CheckConstraint("status IN ('planned', 'held', 'closed')", name="ck_meeting_status"),
        sa.Index("ix_meeting_date", "meeting_date"),
    )
    __mapper_args__ = {"version_id_col": _MEETING_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    status: MeetingStatus = Field(default="planned", sa_type=AutoString)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str
    version: int | None = Field(default=None, sa_column=_MEETING_VERSION)


class MeetingPublic(MeetingBase):
    """A meeting as services return it."""

    id: int
    status: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    version: int


class AgendaItem(SQLModel, table=True):
    """One case on a meeting's agenda, with the reasons it is there and its priority score.

    ``reasons`` is a list of ``{"code": ..., "text": ...}``; ``score_parts`` the named parts of
    the score. Removed items are kept (``removed`` with a reason) so the pack can say why.
    """

    __tablename__ = "agenda_item"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "case_id", name="uq_agenda_item_meeting_case"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("meeting.id", ondelete="CASCADE", name="fk_agenda_item_meeting"),
            nullable=False,
            index=True,
        )
    )
    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_agenda_item_case"),
            nullable=False,
        )
    )
    position: int
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    score: float = 0.0
    score_parts: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    added_manually: bool = False
    added_reason: str | None = None
    removed: bool = False
    removed_reason: str | None = None


class ReviewDecision(SQLModel, table=True):
    """The decision recorded for one agenda item (at most one; it may be replaced)."""

    __tablename__ = "review_decision"
    __table_args__ = (
        sa.UniqueConstraint("agenda_item_id", name="uq_review_decision_item"),
        sa.CheckConstraint(
            "kind IN ('retain', 'transfer', 'joint', 'escalate', 'nfa', 'other')",
            name="ck_review_decision_kind",
        ),
        sa.ForeignKeyConstraint(
            ["target_force_code"], ["force.code"], name="fk_review_decision_target"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    agenda_item_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("agenda_item.id", ondelete="CASCADE", name="fk_review_decision_item"),
            nullable=False,
        )
    )
    kind: DecisionKind = Field(sa_type=AutoString)
    target_force_code: str | None = None
    note: str = ""
    handoff_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("handoff.id", ondelete="SET NULL", name="fk_review_decision_handoff"),
            nullable=True,
        ),
    )
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by: str


class ReviewAction(SQLModel, table=True):
    """An action agreed at a meeting; open actions carry over to the next meeting by themselves."""

    __tablename__ = "review_action"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('open', 'done', 'cancelled')", name="ck_review_action_status"
        ),
        sa.Index("ix_review_action_status_owner", "status", "owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("meeting.id", ondelete="CASCADE", name="fk_review_action_meeting"),
            nullable=False,
            index=True,
        )
    )
    case_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="SET NULL", name="fk_review_action_case"),
            nullable=True,
        ),
    )
    description: str
    owner: str
    due_date: date | None = None
    status: ActionStatus = Field(default="open", sa_type=AutoString)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- Access control ---------------------------------------------------------------------------

CaseAccessMode = Literal["exclude", "allow"]


class CaseAccess(SQLModel, table=True):
    """Limited access to one case (probation's "limited access offender" lists, DOMAIN.md).

    ``exclude``: the named user may not see the case. ``allow``: once any ``allow`` row exists
    for a case, only the users named in such rows (and no one else) may see it.
    """

    __tablename__ = "case_access"
    __table_args__ = (
        sa.CheckConstraint("mode IN ('exclude', 'allow')", name="ck_case_access_mode"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_case_access_user"),
    )

    case_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("offender_case.id", ondelete="CASCADE", name="fk_case_access_case"),
            primary_key=True,
        )
    )
    user_id: int = Field(primary_key=True)
    mode: CaseAccessMode = Field(sa_type=AutoString)
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str
