"""Who may do what: the one permission table, principals, and the check every service makes.

The table (:data:`PERMISSIONS`) maps each action to what each role may do: ``"allow"``,
``"refuse"`` or ``"pseudonymised"`` (the role gets the data only with names, dates of birth,
addresses and PNC IDs removed, see ``coordination.pseudonyms``). ``docs/PERMISSIONS.md`` is
generated from it by :func:`permissions_markdown` and a test keeps the two identical.

Scope on top of the table (docs/DOMAIN.md, "Data protection"):

- A user **sees a case** when its lead force is theirs, or their force is party to an open
  handoff of it (sending or receiving), or the case is on the agenda of a joint meeting of their
  force that is not closed, or it is led by a force with no users here and a user of their
  force registered it -- and limited access does not keep them out: a user named in an
  ``exclude`` row never sees the case; once any ``allow`` row exists, only the users named in
  ``allow`` rows see it. :func:`visible_case_filter` is that rule as one SQL condition, used by
  the list queries and by :func:`require` for a single case, so lists and records always agree.
- **Analysts** see the same cases as the managers of their force, pseudonymised, and never
  open a single record.
- **Admins** manage users, reference data, limited access, retention and the audit log, and see
  no case. Roles are single: an admin who also manages cases has a second, offender-manager
  account, so every look at a record is made, and logged, under a case-working identity.
- **System principals** (actors ``system:init``, ``system:demo``, ``system:retention`` …) may do
  everything: they are the application itself. In development and test any actor that is not a
  user is treated as a system principal too, so scripts and tests keep working; in production it
  is refused.

Every refusal raises :class:`~geo.errors.AccessDeniedError` with one line for the person, and is
written to the audit log (category ``access``, action ``access.refused``) in its own
transaction, so it survives the rollback of the refused work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from coordination.core.sql import chunks, in_ids
from coordination.errors import AccessDeniedError
from coordination.models import (
    OPEN_HANDOFF_STATES,
    ROLES,
    AgendaItem,
    Case,
    CaseAccess,
    Handoff,
    Meeting,
    Offender,
    User,
)
from geo.forces import force_name

__all__ = [
    "ACTIONS",
    "CASE_ROLES",
    "PERMISSIONS",
    "ROLE_LABELS",
    "SYSTEM_PREFIX",
    "WITHHELD_LABEL",
    "WITHHELD_NOTE",
    "Permission",
    "Principal",
    "acts_for",
    "can_see_case",
    "can_see_offender",
    "deny",
    "force_has_users",
    "permission",
    "permissions_markdown",
    "principal",
    "require",
    "visible_case_filter",
    "withheld_cases",
]

log = logging.getLogger(__name__)

Permission = Literal["allow", "refuse", "pseudonymised"]
SYSTEM_PREFIX = "system:"
# What a meeting shows in place of a person the viewer may not see (limited access).
WITHHELD_LABEL = "Restricted case"
# ...and in place of its free text (reasons, notes, descriptions).
WITHHELD_NOTE = "Withheld: limited access"

#: crossforce's own jobs act as these service accounts, each with only the rights it needs. In
#: production they are the only ``system:`` names accepted; elsewhere any other ``system:`` name
#: (demo seeding, scripts, tests) acts with every right.
SERVICE_ACCOUNTS: dict[str, frozenset[str]] = {
    # `crossforce init`: boundary sets, the rule table and case weights.
    "system:init": frozenset({"reference.manage"}),
    # `crossforce retention --apply --as-service`, for a scheduled job.
    "system:retention": frozenset({"retention.run"}),
    # `crossforce users add` while no admin exists yet: creates the first admin, nothing else.
    "system:setup": frozenset({"users.manage"}),
}
# Roles that work cases; only these see case data at all (analysts pseudonymised).
CASE_ROLES: tuple[str, ...] = ("offender_manager", "supervisor", "analyst")

ROLE_LABELS: dict[str, str] = {
    "offender_manager": "offender manager",
    "supervisor": "supervisor",
    "analyst": "analyst",
    "admin": "admin",
}

# action -> (what it is, the scope rule people read in the docs)
ACTIONS: dict[str, tuple[str, str]] = {
    "case.view": (
        "see a case and open a person's record",
        "cases the user may see (lead force, party to an open handoff or joint meeting, "
        "limited access); opening a record needs a reason and is logged",
    ),
    "case.create": (
        "register a person and their case",
        "any force; the rule table decides the lead force",
    ),
    "case.move": (
        "record a change of address",
        "people with a case the user may see",
    ),
    "case.update": (
        "re-assess a case: risk, MAPPA category and level, IOM cohort, OGRS3 inputs",
        "cases their force leads (or a force with no users here, on a case they see)",
    ),
    "case.close": (
        "close a case with a reason, or reopen it",
        "supervisor: cases their force leads (or a force with no users here, on a case they see)",
    ),
    "case.assign": (
        "make an officer a case's manager",
        "supervisor: officers of their force, cases their force leads; offender manager: "
        "only themselves, cases their force leads",
    ),
    "handoff.view": (
        "see handoffs",
        "handoffs of cases the user may see; analysts study handoffs in the network",
    ),
    "handoff.act": (
        "create, request, accept, reject, complete or withdraw a handoff",
        "sending force: create, request, withdraw; receiving force: accept, reject, complete "
        "(recorded by the sending force when the receiving force has no users here)",
    ),
    "escalation.view": (
        "see escalations (rejected handoffs) and cases with no workflow",
        "supervisor: escalations of their force as the sending force, cases they may see",
    ),
    "escalation.resolve": (
        "resolve an escalation: a new request, an agreed exception, a joint review decision",
        "supervisor: escalations of their force as the sending force",
    ),
    "meeting.view": ("see a joint review meeting and its agenda", "meetings of the user's force"),
    "meeting.edit": (
        "plan a meeting, change its agenda, decisions and actions",
        "meetings of the user's force",
    ),
    "pack.export": (
        "export a meeting pack (a disclosure)",
        "meetings of the user's force; recipients are logged",
    ),
    "caseload.view": ("list cases and officers' loads", "cases the user may see"),
    "network.view": (
        "see the handoff network",
        "all forces (aggregate flows); case ids pseudonymised for analysts",
    ),
    "users.manage": ("add, change and disable users", "all users"),
    "reference.manage": (
        "manage reference data (boundaries, rules, case weights)",
        "national",
    ),
    "audit.read": ("search, verify and export the audit log", "the whole log"),
    "access.manage": (
        "exclude users from a case or restrict it to named users",
        "supervisor: cases their force leads; admin: any case",
    ),
    "retention.run": ("erase personal data past its retention period", "closed cases"),
}

_A: Permission = "allow"
_R: Permission = "refuse"
_P: Permission = "pseudonymised"

# THE permission table: action -> role -> permission. Roles in models.ROLES order.
PERMISSIONS: dict[str, dict[str, Permission]] = {
    #                   offender_manager, supervisor, analyst, admin
    "case.view": dict(zip(ROLES, (_A, _A, _P, _R), strict=True)),
    "case.create": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "case.move": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "case.update": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "case.close": dict(zip(ROLES, (_R, _A, _R, _R), strict=True)),
    "case.assign": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "handoff.view": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "handoff.act": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "escalation.view": dict(zip(ROLES, (_R, _A, _R, _R), strict=True)),
    "escalation.resolve": dict(zip(ROLES, (_R, _A, _R, _R), strict=True)),
    "meeting.view": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "meeting.edit": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "pack.export": dict(zip(ROLES, (_A, _A, _R, _R), strict=True)),
    "caseload.view": dict(zip(ROLES, (_A, _A, _P, _R), strict=True)),
    "network.view": dict(zip(ROLES, (_A, _A, _P, _R), strict=True)),
    "users.manage": dict(zip(ROLES, (_R, _R, _R, _A), strict=True)),
    "reference.manage": dict(zip(ROLES, (_R, _R, _R, _A), strict=True)),
    "audit.read": dict(zip(ROLES, (_R, _R, _R, _A), strict=True)),
    "access.manage": dict(zip(ROLES, (_R, _A, _R, _A), strict=True)),
    "retention.run": dict(zip(ROLES, (_R, _R, _R, _A), strict=True)),
}

if PERMISSIONS.keys() != ACTIONS.keys():  # every action described, every description used
    raise RuntimeError("the permission table and the action list name different actions")


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user, or the application itself.

    Attributes
    ----------
    username
        The user's name, or the system actor (``"system:demo"``).
    role
        One of ``models.ROLES``; ``"system"`` for a system principal.
    force_code
        The user's force (``None`` for a system principal).
    bcu_code
        The user's BCU or team, if any.
    is_system
        True for the application itself: every right, no scope.
    user_id
        The ``users.id`` (``None`` for a system principal); limited access is keyed on it.
    """

    username: str
    role: str
    force_code: str | None
    bcu_code: str | None
    is_system: bool
    user_id: int | None = None
    #: A service account's rights (actions of the table); ``None``: every right.
    rights: frozenset[str] | None = None

    @property
    def label(self) -> str:
        """``"mo.met (offender manager, Metropolitan Police Service)"`` for messages."""
        if self.is_system:
            return self.username
        force = force_name(self.force_code).name if self.force_code else "no force"
        return f"{self.username} ({ROLE_LABELS.get(self.role, self.role)}, {force})"


def permission(role: str, action: str) -> Permission:
    """Return what the table says a role may do with an action (``KeyError`` if unknown)."""
    return PERMISSIONS[action][role]


# --- principals -----------------------------------------------------------------------------


def _production() -> bool:
    from coordination.core.settings import get_settings

    return get_settings().env == "production"


def _system(username: str) -> Principal:
    rights = SERVICE_ACCOUNTS.get(username.lower())
    return Principal(username, "system", None, None, True, None, rights)


def principal(session: Session, actor: str | None) -> Principal:
    """Return who ``actor`` is.

    Parameters
    ----------
    session
        Any session.
    actor
        A username, a ``"system:…"`` name, or (development and test only) any other name.

    Returns
    -------
    Principal
        The active user of that name; a system principal for ``system:…``; outside production,
        a system principal for a name that is no user (scripts and tests).

    Raises
    ------
    AccessDeniedError
        The user is disabled; or, in production, the actor is missing or no user. Audited.
    """
    name = (actor or "").strip()
    if not name:
        # Nobody said who is asking: in no environment is that the system.
        _refuse(
            session,
            actor="(anonymous)",
            action="sign_in",
            message="Access refused: sign in first",
            entity_type="user",
            entity_id=None,
        )
    if name.lower().startswith(SYSTEM_PREFIX):
        if _production() and name.lower() not in SERVICE_ACCOUNTS:
            _refuse(
                session,
                actor=name,
                action="sign_in",
                message=f"Access refused: {name!r} is not one of crossforce's service accounts",
                entity_type="user",
                entity_id=None,
            )
        return _system(name)
    cache: dict[str, Principal] = session.info.setdefault("crossforce_principals", {})
    if name.lower() in cache:
        return cache[name.lower()]
    user = session.exec(select(User).where(User.username == name.lower())).first() if name else None
    if user is not None:
        if not user.active:
            _refuse(
                session,
                actor=name,
                action="sign_in",
                message=f"Access refused: the account {user.username} is disabled",
                entity_type="user",
                entity_id=user.username,
            )
        found = Principal(user.username, user.role, user.force_code, user.bcu_code, False, user.id)
    elif _production():
        _refuse(
            session,
            actor=name or "(anonymous)",
            action="sign_in",
            message="Access refused: sign in first"
            if not name
            else f"Access refused: {name!r} is not a user of crossforce",
            entity_type="user",
            entity_id=name or None,
        )
    else:
        found = _system(name or "(anonymous)")
    if name:
        # One lookup per actor per session: the demo makes thousands of calls in one session.
        cache[name.lower()] = found
    return found


# --- case visibility ------------------------------------------------------------------------


def _force_cases(force_code: str) -> Any:
    """Cases a force is party to: lead, open handoff, or on a joint meeting not yet closed."""
    handoff_cases = sa.select(col(Handoff.case_id)).where(
        col(Handoff.state).in_(OPEN_HANDOFF_STATES),
        sa.or_(
            col(Handoff.from_force_code) == force_code, col(Handoff.to_force_code) == force_code
        ),
    )
    # Meeting.forces is a JSON list written by json.dumps ('["E23000001", "E23000034"]'); the
    # quoted code matches exactly one element on SQLite and PostgreSQL alike.
    meeting_cases = (
        sa.select(col(AgendaItem.case_id))
        .join(Meeting, col(Meeting.id) == col(AgendaItem.meeting_id))
        .where(
            col(Meeting.status) != "closed",
            sa.not_(col(AgendaItem.removed)),
            sa.cast(col(Meeting.forces), sa.String).like(f'%"{force_code}"%'),
        )
    )
    # A case led by a force with no users here (Police Scotland, a county force) is kept by
    # the force whose user registered it: someone must see it, and that force answers for it.
    forces_here = sa.select(col(User.force_code)).where(col(User.active))
    registered_here = sa.select(col(Offender.id)).where(
        col(Offender.created_by).in_(
            sa.select(col(User.username)).where(col(User.force_code) == force_code)
        )
    )
    kept = sa.and_(
        col(Case.lead_force_code).not_in(forces_here),
        col(Case.offender_id).in_(registered_here),
    )
    return sa.or_(
        col(Case.lead_force_code) == force_code,
        col(Case.id).in_(handoff_cases),
        col(Case.id).in_(meeting_cases),
        kept,
    )


def _limited_access(user_id: int | None) -> Any:
    """Limited access: not excluded, and named in an allow row whenever the case has one."""
    excluded = sa.select(col(CaseAccess.case_id)).where(
        col(CaseAccess.user_id) == user_id, col(CaseAccess.mode) == "exclude"
    )
    restricted = sa.select(col(CaseAccess.case_id)).where(col(CaseAccess.mode) == "allow")
    allowed = sa.select(col(CaseAccess.case_id)).where(
        col(CaseAccess.user_id) == user_id, col(CaseAccess.mode) == "allow"
    )
    return sa.and_(
        col(Case.id).not_in(excluded),
        sa.or_(col(Case.id).not_in(restricted), col(Case.id).in_(allowed)),
    )


def visible_case_filter(p: Principal) -> Any:
    """Return a SQL condition on ``offender_case`` true for the cases ``p`` may see.

    Use it in any query that selects from ``Case`` (``.where(visible_case_filter(p))``) so a
    list only ever shows what the principal may see. Analysts see their force's cases (to be
    pseudonymised by the caller); admins see none; system principals see all.
    """
    if p.is_system:
        return sa.true()
    if p.role not in CASE_ROLES or p.force_code is None:
        return sa.false()
    return sa.and_(_force_cases(p.force_code), _limited_access(p.user_id))


def can_see_case(session: Session, p: Principal, case_id: int) -> bool:
    """Return whether ``p`` may see case ``case_id`` (False for a case that does not exist)."""
    if p.is_system:
        return True
    query = sa.select(col(Case.id)).where(col(Case.id) == case_id, visible_case_filter(p))
    return session.execute(query).first() is not None


def withheld_cases(session: Session, p: Principal, case_ids: Sequence[int]) -> set[int]:
    """Return the cases among ``case_ids`` whose limited access keeps them from ``p``.

    A joint meeting shows every case on its agenda to everyone in it; a case restricted to
    named officers (or with ``p`` excluded) must still show nobody else who the person is, so
    agendas, meeting views and packs withhold the personal details of these cases.
    """
    ids = {int(c) for c in case_ids}
    if p.is_system or not ids:
        return set()
    allowed: set[int] = set()
    for part in chunks(sorted(ids)):
        query = sa.select(col(Case.id)).where(
            in_ids(col(Case.id), part), _limited_access(p.user_id)
        )
        allowed.update(int(row[0]) for row in session.execute(query))
    return ids - allowed


def force_has_users(session: Session, force_code: str) -> bool:
    """Whether a force has active users here (else another force records its part)."""
    query = select(User.id).where(User.force_code == force_code, col(User.active)).limit(1)
    return session.exec(query).first() is not None


def acts_for(session: Session, p: Principal, force_code: str, case_id: int) -> bool:
    """Whether ``p`` may act for ``force_code`` on a case.

    Their own force; or a force with no users here, on a case ``p`` may see (the sending or
    registering force records what the other force decided by phone or letter).
    """
    if p.is_system or p.force_code == force_code:
        return True
    return not force_has_users(session, force_code) and can_see_case(session, p, case_id)


def can_see_offender(session: Session, p: Principal, offender_id: int) -> bool:
    """Return whether ``p`` may see at least one case of person ``offender_id``."""
    if p.is_system:
        return True
    query = sa.select(col(Case.id)).where(
        col(Case.offender_id) == offender_id, visible_case_filter(p)
    )
    return session.execute(query.limit(1)).first() is not None


# --- the check --------------------------------------------------------------------------------


def require(
    session: Session,
    *,
    actor: str | None,
    action: str,
    case_id: int | None = None,
    offender_id: int | None = None,
    force_code: str | None = None,
    forces: Sequence[str] | None = None,
    personal: bool = False,
    entity_type: str | None = None,
    entity_id: str | None = None,
) -> Principal:
    """Check that ``actor`` may do ``action`` (and see ``case_id``), or refuse and audit.

    Parameters
    ----------
    session
        The caller's session (the refusal is written in a transaction of its own).
    actor
        The acting user (see :func:`principal`).
    action
        A key of :data:`PERMISSIONS`, e.g. ``"case.view"``.
    case_id
        The case acted on: the principal must be able to see it. An analyst never acts on a
        single case (their permission is pseudonymised lists only).
    offender_id
        The person acted on: the principal must be able to see one of their cases.
    force_code
        The force acted for: the principal must belong to it.
    forces
        The forces of a joint meeting: the principal must belong to one of them.
    personal
        The output names people: a role allowed only pseudonymised data is refused.
    entity_type, entity_id
        What the refusal is recorded against when not a case (default: the case, else the
        action's first word).

    Returns
    -------
    Principal
        Who is acting, for further checks and for choosing pseudonymised output.

    Raises
    ------
    AccessDeniedError
        One line saying who may not do what; the refusal is in the audit log.
    KeyError
        ``action`` is not in the table (a programming error).
    """
    rule = PERMISSIONS[action]
    p = principal(session, actor)
    what = ACTIONS[action][0]
    if p.is_system:
        if p.rights is None or action in p.rights:
            return p
        deny(
            session,
            p,
            action=action,
            message=f"Access refused: the service account {p.username} may not {what}",
            entity_type=entity_type or action.split(".")[0],
            entity_id=entity_id,
        )
    if entity_type is None:
        if case_id is not None:
            entity_type, entity_id = "case", str(case_id)
        elif offender_id is not None:
            entity_type, entity_id = "offender", str(offender_id)
        else:
            entity_type = action.split(".")[0]
    offenders = [offender_id] if offender_id is not None else None
    if rule.get(p.role, "refuse") == "refuse":
        deny(
            session,
            p,
            action=action,
            message=f"Access refused: {p.label} may not {what}",
            entity_type=entity_type,
            entity_id=entity_id,
        )
    if rule[p.role] == "pseudonymised" and (
        personal or case_id is not None or offender_id is not None
    ):
        deny(
            session,
            p,
            action=action,
            message=f"Access refused: {p.label} sees pseudonymised data only, not records",
            entity_type=entity_type,
            entity_id=entity_id,
            offender_ids=offenders,
        )
    if offender_id is not None and not can_see_offender(session, p, offender_id):
        deny(
            session,
            p,
            action=action,
            message=f"Access refused: {p.label} may not see person {offender_id}",
            entity_type=entity_type,
            entity_id=entity_id,
            offender_ids=offenders,
        )
    if case_id is not None and not can_see_case(session, p, case_id):
        deny(
            session,
            p,
            action=action,
            message=f"Access refused: {p.label} may not see case {case_id}",
            entity_type=entity_type,
            entity_id=entity_id,
        )
    if force_code is not None and p.force_code != force_code:
        deny(
            session,
            p,
            action=action,
            message=f"Access refused: {p.label} may not {what} for {force_name(force_code).name}",
            entity_type=entity_type,
            entity_id=entity_id,
        )
    if forces is not None and p.force_code not in forces:
        deny(
            session,
            p,
            action=action,
            message=f"Access refused: {p.label} is not of a force of this meeting",
            entity_type=entity_type,
            entity_id=entity_id,
        )
    return p


def deny(
    session: Session,
    p: Principal,
    *,
    action: str,
    message: str,
    entity_type: str,
    entity_id: str | None,
    offender_ids: list[int] | None = None,
) -> NoReturn:
    """Refuse: audit the refusal (surviving the caller's rollback) and raise.

    For checks a service makes beyond :func:`require` (e.g. which officer a manager may assign).

    Raises
    ------
    AccessDeniedError
        Always, with ``message``.
    """
    _refuse(
        session,
        actor=p.username,
        action=action,
        message=message,
        entity_type=entity_type,
        entity_id=entity_id,
        role=p.role,
        force_code=p.force_code,
        offender_ids=offender_ids,
    )


def _refuse(
    session: Session,
    *,
    actor: str,
    action: str,
    message: str,
    entity_type: str,
    entity_id: str | None,
    role: str | None = None,
    force_code: str | None = None,
    offender_ids: list[int] | None = None,
) -> NoReturn:
    event: dict[str, Any] = {
        "actor": actor,
        "action": "access.refused",
        "entity_type": entity_type,
        "entity_id": entity_id,
        "details": {"action": action, "role": role, "force_code": force_code, "message": message},
        "offender_ids": offender_ids,
    }
    _record_outside(session, event)
    raise AccessDeniedError(message)


# --- writing a refusal that survives the caller's rollback ----------------------------------


def _has_written(session: Session) -> bool:
    """Whether the caller's transaction holds uncommitted writes (and so, maybe, locks)."""
    connection = session.connection()
    name = connection.dialect.name
    if name == "sqlite":
        # pysqlite only opens a transaction for writes: a pending one holds the write lock.
        return bool(connection.connection.dbapi_connection.in_transaction)  # type: ignore[union-attr]
    if name == "postgresql":
        assigned = connection.execute(sa.text("SELECT txid_current_if_assigned()")).scalar()
        return assigned is not None
    return True


def _write(bind: Any, event: dict[str, Any]) -> None:
    from coordination.ledger.chain import record_event

    try:
        with Session(bind) as own:
            record_event(own, category="access", **event)
            own.commit()
    except Exception:  # pragma: no cover - the refusal still stands; say so in the log
        # No personal data here: the action and entity ids only.
        log.exception(
            "could not audit a refusal of %s on %s",
            event["details"]["action"],
            event["entity_type"],
        )


def _record_outside(session: Session, event: dict[str, Any]) -> None:
    """Write the refusal in its own transaction on the same engine.

    When the caller's transaction has written already, a second writer would wait for its locks
    (SQLite's database lock, a PostgreSQL row or advisory lock) while the caller waits for us: so
    the refusal is written as soon as the caller's transaction ends, commit or rollback.
    """
    bind = session.get_bind()
    if not _has_written(session):
        _write(bind, event)
        return
    session.info.setdefault("crossforce_refusals", []).append(event)


def _flush_refusals(session: Any, transaction: Any) -> None:
    if transaction.parent is not None:
        return  # a savepoint or subtransaction: the outer one still holds the locks
    pending = session.info.pop("crossforce_refusals", [])
    for event in pending:
        _write(session.get_bind(), event)


# One listener for every session, registered once: adding listeners to a session while its
# events are being dispatched mutates the dispatch list ("deque mutated during iteration").
sa.event.listen(OrmSession, "after_transaction_end", _flush_refusals)


# --- the table as documentation ---------------------------------------------------------------

_MARK = {"allow": "yes", "refuse": "—", "pseudonymised": "pseudonymised"}


def permissions_markdown() -> str:
    """Return ``docs/PERMISSIONS.md``: the table above, rendered for people."""
    header = "| Action | What | " + " | ".join(ROLE_LABELS[r] for r in ROLES) + " | Scope |"
    rule = "|" + "---|" * (len(ROLES) + 3)
    lines = [
        "# Permissions",
        "",
        "<!-- Generated from coordination/permissions.py by "
        "`python -m coordination.permissions > docs/PERMISSIONS.md`; a test checks it. -->",
        "",
        "Who may do what in crossforce. The services enforce this table (not only the pages);",
        "a refusal is one line for the person and an `access.refused` event in the audit log.",
        "",
        header,
        rule,
    ]
    for action, (what, scope) in ACTIONS.items():
        marks = " | ".join(_MARK[PERMISSIONS[action][r]] for r in ROLES)
        lines.append(f"| `{action}` | {what} | {marks} | {scope} |")
    lines += [
        "",
        "## Rules",
        "",
        "- **Seeing a case.** A user sees a case when its lead force is theirs, or their force "
        "is party to an open handoff of it, or it is on the agenda of a joint review meeting of "
        "their force that is not closed. A case led by a force with no users in crossforce "
        "(Police Scotland, a county force) is seen by the force whose user registered it.",
        "- **Limited access.** Per case, named users can be *excluded* (they never see it), or "
        "access can be *restricted* to named users (once any user is allowed, only allowed users "
        "see it). Supervisors of the lead force and admins set it, with a reason "
        "(`coordination.access`); every change is audited. It holds in joint meetings too: "
        "everyone in the meeting sees that the case is on the agenda (case number, lead force, "
        "reasons, score), but agendas, meeting views, actions and packs show *Restricted case* "
        "in place of the person, their PNC ID, date of birth, residences and the free text.",
        "- **Opening a person's record** needs a reason (`--reason TEXT` on the CLI); the look is "
        "logged as a consultation with the reason.",
        "- **Analysts** see the cases of their force, pseudonymised: stable pseudonyms "
        "(`P-…` for people, `C-…` for cases) instead of names, dates of birth, PNC IDs, postcodes "
        "and coordinates; areas no finer than ward. They never open a single record.",
        "- **Updating and closing.** Officers of the lead force re-assess a case (risk, MAPPA, "
        "IOM cohort, OGRS3 inputs); only its supervisors close and reopen it, with a reason. "
        "Each change is an audited alteration and an entry in the case's history; a closed "
        "case leaves queues and agendas but stays in history and reports.",
        "- **Assigning.** A supervisor assigns cases their force leads to officers of their "
        "force; an offender manager may only take a case their force leads themselves.",
        "- **Handoffs.** The sending force creates, requests and withdraws; the receiving force "
        "accepts, rejects and completes. When the receiving force has no users in crossforce, "
        "the sending force records its answer.",
        "- **Admins** manage users, reference data, limited access, retention and the audit log, "
        "and see no case. Roles are single: an admin who also works cases has a second, "
        "offender-manager account.",
        "- **The application itself** acts as a system principal (`system:init`, `system:demo`, "
        "…) with every right. In development and test an actor that is no user is a system "
        "principal too, so scripts keep working; in production it is refused.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(permissions_markdown(), end="")
