"""Database tables and their API shapes (SQLModel), one module per concern.

Each entity comes as a family: ``XBase`` (shared fields), ``XCreate`` (what a caller supplies),
``X`` (the table) and ``XPublic`` (what a service returns). Services return ``XPublic`` objects,
never table rows, so nothing outside a session can lazily touch the database.

Every datetime is timezone-aware UTC, on SQLite (which stores none) as on PostgreSQL. The tables
here are exactly what ``coordination/migrations/versions`` creates; a test compares the two.
Importing this package registers every table on ``SQLModel.metadata``.
"""

from __future__ import annotations

from coordination.models._types import (
    UTCDateTime,
)
from coordination.models.access import (
    CaseAccess,
    CaseAccessMode,
)
from coordination.models.audit import (
    AuditEvent,
    AuditEventBase,
    AuditEventPublic,
)
from coordination.models.caseload import (
    CaseWeight,
    OfficerProfile,
)
from coordination.models.handoffs import (
    HANDOFF_STATES,
    OPEN_HANDOFF_STATES,
    Handoff,
    HandoffBase,
    HandoffPublic,
    HandoffState,
)
from coordination.models.reference import (
    AREA_KINDS,
    Area,
    AreaBase,
    AreaCreate,
    AreaKind,
    AreaPublic,
    BoundarySet,
    BoundarySetBase,
    BoundarySetCreate,
    BoundarySetPublic,
    Force,
    ForceBase,
    ForceCreate,
    ForcePublic,
)
from coordination.models.register import (
    ADDRESS_STATES,
    PROGRAMMES,
    RISKS,
    SEXES,
    Address,
    AddressBase,
    AddressPublic,
    AddressState,
    Case,
    CaseAssignment,
    CaseBase,
    CasePublic,
    CaseStatus,
    Offender,
    OffenderBase,
    OffenderPublic,
    Programme,
    ResponsibilityRule,
    Risk,
    Sex,
)
from coordination.models.review import (
    DECISION_KINDS,
    ActionStatus,
    AgendaItem,
    DecisionKind,
    Meeting,
    MeetingBase,
    MeetingPublic,
    MeetingStatus,
    ReviewAction,
    ReviewDecision,
)
from coordination.models.users import (
    ROLES,
    Role,
    User,
    UserBase,
    UserCreate,
    UserPublic,
)

__all__ = [
    "ADDRESS_STATES",
    "AREA_KINDS",
    "DECISION_KINDS",
    "HANDOFF_STATES",
    "OPEN_HANDOFF_STATES",
    "PROGRAMMES",
    "RISKS",
    "ROLES",
    "SEXES",
    "ActionStatus",
    "Address",
    "AddressBase",
    "AddressPublic",
    "AddressState",
    "AgendaItem",
    "Area",
    "AreaBase",
    "AreaCreate",
    "AreaKind",
    "AreaPublic",
    "AuditEvent",
    "AuditEventBase",
    "AuditEventPublic",
    "BoundarySet",
    "BoundarySetBase",
    "BoundarySetCreate",
    "BoundarySetPublic",
    "Case",
    "CaseAccess",
    "CaseAccessMode",
    "CaseAssignment",
    "CaseBase",
    "CasePublic",
    "CaseStatus",
    "CaseWeight",
    "DecisionKind",
    "Force",
    "ForceBase",
    "ForceCreate",
    "ForcePublic",
    "Handoff",
    "HandoffBase",
    "HandoffPublic",
    "HandoffState",
    "Meeting",
    "MeetingBase",
    "MeetingPublic",
    "MeetingStatus",
    "Offender",
    "OffenderBase",
    "OffenderPublic",
    "OfficerProfile",
    "Programme",
    "ResponsibilityRule",
    "ReviewAction",
    "ReviewDecision",
    "Risk",
    "Role",
    "Sex",
    "UTCDateTime",
    "User",
    "UserBase",
    "UserCreate",
    "UserPublic",
]
