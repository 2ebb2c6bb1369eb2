"""Database tables and their API shapes (SQLModel).

Each entity comes as a family: ``XBase`` (shared fields), ``XCreate`` (what a caller supplies),
``X`` (the table) and ``XPublic`` (what a service returns). Services return ``XPublic`` objects,
never table rows, so nothing outside a session can lazily touch the database.

Every datetime is timezone-aware UTC, on SQLite (which stores none) as on PostgreSQL. The tables
here are exactly what ``migrations/versions`` creates; a test compares the two.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
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
    """The user table. Usernames are stored lower-case (a check constraint holds it)."""

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
    """The audit log table. Rows are only ever inserted (see ``coordination.audit``)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)


class AuditEventPublic(AuditEventBase):
    """An audit event as services return it."""

    id: int
