"""Reference data tables: boundary sets, forces and their areas."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime

AreaKind = Literal["force", "district", "ward", "bcu"]
AREA_KINDS: tuple[str, ...] = ("force", "district", "ward", "bcu")


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
