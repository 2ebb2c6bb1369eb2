"""What a signed-in user may do to a case or a handoff, and why not; who holds a case now.

The services refuse (and audit) what a user may not do; a form should not offer it in the first
place. :func:`permitted_actions` answers, without refusing or auditing anything, with the same
rules the services apply, in the same order, so a form built from it and the service behind it
cannot disagree:

* a handoff action (:func:`coordination.handoffs.workflow.transition`): the role may act on
  handoffs, the user sees the case, the act is their side's
  (:func:`~coordination.handoffs.workflow.deciding_force`), the state allows it, and the case is
  open (only withdrawing is left on a closed case);
* assigning a case (:func:`coordination.caseload.assignment.assign_case`, which calls
  :func:`assign_verdict` itself): the role assigns, the user's force leads the open case, an
  offender manager only takes it themselves, and the person assigned is an active offender
  manager of the lead force (only offender managers hold cases);
* requesting a handoff of a case (:func:`~coordination.handoffs.workflow.create_handoff`): the
  role acts on handoffs, the user acts for the lead force, the case is open and has no open
  handoff.

:func:`case_standing` says who is responsible for a case now and, while a handoff is pending, in
words: what its state means, the next step and who holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from sqlmodel import Session, col, select

from coordination.core.wording import role_label
from coordination.errors import InputError, NotFoundError
from coordination.handoffs.address_check import (
    CHECKABLE_STATES,
    NOT_CONFIRMED_REASON,
    has_confirmed_check,
)
from coordination.handoffs.workflow import (
    ACTIONS,
    TRANSITIONS,
    HandoffView,
    _open_handoff,
    _refusal,
    deciding_force,
    list_handoffs,
)
from coordination.models import Case, CasePublic, Handoff, HandoffPublic, User
from coordination.reference.boundaries import bcu_names, force_names
from coordination.security.permissions import (
    Principal,
    acts_for,
    can_see_case,
    force_has_users,
    permission,
    principal,
    require,
)
from geo.forces import METROPOLITAN

__all__ = [
    "CASE_ACTIONS",
    "CASE_HOLDING_ROLES",
    "CaseStanding",
    "Manager",
    "Permitted",
    "Verdict",
    "assign_verdict",
    "assignees",
    "case_standing",
    "permitted_actions",
    "permitted_handoff_actions",
]

#: Roles whose users hold (manage) cases: the only people a case is assigned to.
CASE_HOLDING_ROLES: tuple[str, ...] = ("offender_manager",)
#: What can be done to a case itself (handoff actions are ``workflow.ACTIONS``).
CASE_ACTIONS: tuple[str, ...] = ("assign", "request_handoff")

#: How a service refuses: ``access`` is an audited AccessDeniedError, ``state`` a ConflictError,
#: ``input`` an InputError and ``role`` a NotACaseHolderError.
RefusalKind = Literal["access", "state", "input", "role"]


@dataclass(frozen=True)
class Verdict:
    """One action, whether the user may take it, and if not why (one line for the person).

    Attributes
    ----------
    action
        E.g. ``"accept"`` or ``"assign"``.
    allowed
        Whether the service would accept it now.
    reason
        Why not (``""`` when allowed).
    kind
        How the service refuses it (:data:`RefusalKind`); ``None`` when allowed.
    """

    action: str
    allowed: bool
    reason: str = ""
    kind: RefusalKind | None = None


@dataclass(frozen=True)
class Permitted:
    """Every action on one handoff or case, each with its verdict, in workflow order."""

    verdicts: tuple[Verdict, ...]
    #: Recording the address check (a handoff only; not a workflow action, so kept apart).
    check: Verdict | None = None

    @property
    def allowed(self) -> tuple[str, ...]:
        """The workflow actions the user may take, in order (``may("check")`` for the check)."""
        return tuple(v.action for v in self.verdicts if v.allowed)

    @property
    def refused(self) -> dict[str, str]:
        """Action -> why it is refused, for the others (the check included)."""
        extra = (self.check,) if self.check is not None else ()
        return {v.action: v.reason for v in (*self.verdicts, *extra) if not v.allowed}

    def may(self, action: str) -> bool:
        """Whether the user may take ``action`` (``"check"``: record the address check)."""
        if action == "check":
            return self.check is not None and self.check.allowed
        return action in self.allowed

    def reason(self, action: str) -> str:
        """Why ``action`` is refused (``""`` when it is allowed)."""
        return self.refused.get(action, "")


def _ok(action: str) -> Verdict:
    return Verdict(action, True)


def _no(action: str, kind: RefusalKind, reason: str) -> Verdict:
    return Verdict(action, False, reason, kind)


def _force(session: Session, code: str) -> str:
    return force_names(session).get(code, code)


def _roles(role: str) -> str:
    return role_label(role).lower() + "s"


# --- handoffs -----------------------------------------------------------------------------------


def _handoff_verdict(
    session: Session, p: Principal, handoff: Handoff | HandoffPublic, case: Case, action: str
) -> Verdict:
    """The checks of ``transition``, in its order, answered instead of raised."""
    hid = handoff.id
    if not p.is_system:
        if permission(p.role, "handoff.act") != "allow":
            return _no(action, "access", f"{_roles(p.role).capitalize()} do not act on handoffs")
        if not can_see_case(session, p, handoff.case_id):
            return _no(action, "access", f"You may not see case {handoff.case_id}")
        force, side = deciding_force(handoff, action)
        if not acts_for(session, p, force, handoff.case_id):
            return _no(action, "access", f"Only {side} can {action} handoff {hid}")
    if handoff.state not in TRANSITIONS[action][0]:
        return _no(action, "state", str(_refusal(int(hid or 0), handoff.state, action)))
    if action == "complete" and not has_confirmed_check(handoff):
        return _no(action, "state", f"Cannot complete handoff {hid}: {NOT_CONFIRMED_REASON}")
    if case.status != "open" and action != "withdraw":
        return _no(
            action, "state", f"Case {case.id} is {case.status}: handoff {hid} can only be withdrawn"
        )
    return _ok(action)


def _check_verdict(
    session: Session, p: Principal, handoff: Handoff | HandoffPublic, case: Case
) -> Verdict:
    """The checks of ``record_address_check``, in its order, answered instead of raised."""
    action, hid = "check", handoff.id
    if not p.is_system:
        if permission(p.role, "handoff.act") != "allow":
            return _no(action, "access", f"{_roles(p.role).capitalize()} do not act on handoffs")
        if not can_see_case(session, p, handoff.case_id):
            return _no(action, "access", f"You may not see case {handoff.case_id}")
        force, side = deciding_force(handoff, "accept")
        if not acts_for(session, p, force, handoff.case_id):
            return _no(action, "access", f"Only {side} can record the address check of {hid}")
    if handoff.state not in CHECKABLE_STATES:
        return _no(action, "state", f"Handoff {hid} is {handoff.state}: it is not checked now")
    if case.status != "open":
        return _no(action, "state", f"Case {case.id} is {case.status}: its handoff is not checked")
    return _ok(action)


def permitted_handoff_actions(
    session: Session, *, actor: str, handoff_ids: Iterable[int]
) -> dict[int, Permitted]:
    """Return, for each handoff, every workflow action with its verdict for ``actor``.

    Parameters
    ----------
    session
        Any session (read only: nothing is refused or audited here).
    actor
        The signed-in user.
    handoff_ids
        The handoffs; ids that do not exist are left out.

    Returns
    -------
    dict[int, Permitted]
        Handoff id -> verdicts on ``request``, ``accept``, ``reject``, ``complete``, ``withdraw``
        (``complete`` refused until the address check is confirmed), and on recording the
        address check (``Permitted.check``).
    """
    p = principal(session, actor)
    ids = sorted({int(h) for h in handoff_ids})
    if not ids:
        return {}
    rows = session.exec(select(Handoff, Case).join(Case).where(col(Handoff.id).in_(ids))).all()
    return {
        int(h.id or 0): Permitted(
            tuple(_handoff_verdict(session, p, h, c, a) for a in ACTIONS),
            _check_verdict(session, p, h, c),
        )
        for h, c in rows
    }


# --- cases --------------------------------------------------------------------------------------


def assign_verdict(
    session: Session, p: Principal, case: Case | CasePublic, user: User | None
) -> Verdict:
    """Whether ``p`` may make ``user`` the case's manager: ``assign_case``'s own rule.

    With ``user`` ``None``: whether ``p`` may assign the case to anybody at all.

    Parameters
    ----------
    session
        Any session.
    p
        Who assigns.
    case
        The case.
    user
        The person to assign, or ``None``.

    Returns
    -------
    Verdict
        Action ``"assign"``; refused with the line the service raises.
    """
    if not p.is_system:
        if permission(p.role, "case.assign") != "allow":
            return _no("assign", "access", f"{_roles(p.role).capitalize()} do not assign cases")
        if not can_see_case(session, p, int(case.id or 0)):
            return _no("assign", "access", f"You may not see case {case.id}")
        if p.force_code != case.lead_force_code:
            lead = _force(session, case.lead_force_code)
            return _no(
                "assign", "access", f"Case {case.id} is led by {lead}: its own officers assign it"
            )
        if user is not None and p.role == "offender_manager" and user.username != p.username:
            return _no(
                "assign",
                "access",
                f"{p.label} may not assign case {case.id} to {user.username}: supervisors "
                "assign their force's cases, managers only take them themselves",
            )
    if case.status != "open":
        return _no(
            "assign", "input", f"Case {case.id} is closed: reopen it before assigning a manager"
        )
    if user is None:
        return _ok("assign")
    if not user.active:
        return _no("assign", "input", f"{user.username} is not an active user")
    if user.force_code != case.lead_force_code:
        return _no(
            "assign",
            "input",
            f"{user.username} belongs to {_force(session, user.force_code)}, but case "
            f"{case.id} is led by {_force(session, case.lead_force_code)}: only an officer of "
            "the lead force can manage it",
        )
    if user.role not in CASE_HOLDING_ROLES:
        return _no(
            "assign",
            "role",
            f"{user.username} is a{'n' if user.role[0] in 'aeiou' else ''} "
            f"{role_label(user.role).lower()}: only offender managers hold cases",
        )
    return _ok("assign")


def _request_verdict(session: Session, p: Principal, case: Case) -> Verdict:
    """The checks of ``create_handoff`` that do not depend on its arguments."""
    action = "request_handoff"
    if not p.is_system:
        if permission(p.role, "handoff.act") != "allow":
            return _no(action, "access", f"{_roles(p.role).capitalize()} do not act on handoffs")
        if not can_see_case(session, p, int(case.id or 0)):
            return _no(action, "access", f"You may not see case {case.id}")
        if not acts_for(session, p, case.lead_force_code, int(case.id or 0)):
            lead = _force(session, case.lead_force_code)
            return _no(
                action, "access", f"Only its lead force, {lead}, can hand off case {case.id}"
            )
    if case.status != "open":
        return _no(
            action, "state", f"Case {case.id} is {case.status}: a closed case is not handed off"
        )
    existing = _open_handoff(session, int(case.id or 0))
    if existing is not None:
        return _no(
            action,
            "state",
            f"Case {case.id} already has an open handoff: {existing.id} ({existing.state}, to "
            f"{_force(session, existing.to_force_code)}); complete or withdraw it first",
        )
    return _ok(action)


def permitted_actions(
    session: Session, *, actor: str, handoff_id: int | None = None, case_id: int | None = None
) -> Permitted:
    """Return what ``actor`` may do to one handoff, or to one case, with a reason for each refusal.

    Parameters
    ----------
    session
        Any session (read only: nothing is refused or audited here).
    actor
        The signed-in user.
    handoff_id
        A handoff: verdicts on the workflow actions (``request`` … ``withdraw``).
    case_id
        Or a case: verdicts on :data:`CASE_ACTIONS` (``assign`` to anybody at all;
        :func:`assignees` says to whom).

    Returns
    -------
    Permitted
        Every action with its verdict. A handoff or case that does not exist gets every action
        refused ("does not exist"), as does one the actor may not see.

    Raises
    ------
    InputError
        Neither or both of ``handoff_id`` and ``case_id``.
    """
    if (handoff_id is None) == (case_id is None):
        raise InputError("Ask about one handoff or one case")
    if handoff_id is not None:
        found = permitted_handoff_actions(session, actor=actor, handoff_ids=[handoff_id])
        missing = f"Handoff {handoff_id} does not exist"
        return found.get(handoff_id) or Permitted(tuple(_no(a, "input", missing) for a in ACTIONS))
    p = principal(session, actor)
    case = session.get(Case, case_id)
    if case is None:
        return Permitted(
            tuple(_no(a, "input", f"Case {case_id} does not exist") for a in CASE_ACTIONS)
        )
    return Permitted((assign_verdict(session, p, case, None), _request_verdict(session, p, case)))


def assignees(
    session: Session, *, actor: str, case_id: int, candidates: Sequence[str]
) -> tuple[list[str], str]:
    """Whom ``actor`` may make the case's manager now, in the order given, and why if nobody.

    The actor themselves is a candidate too (an offender manager takes a case themselves); the
    case's current manager is left out (assigning them changes nothing).

    Parameters
    ----------
    session
        Any session.
    actor
        The signed-in user.
    case_id
        The case.
    candidates
        Usernames to consider, best suggestion first.

    Returns
    -------
    tuple[list[str], str]
        The usernames ``assign_case`` accepts from the actor, and, when there are none, one line
        saying why (else ``""``).
    """
    p = principal(session, actor)
    case = session.get(Case, case_id)
    if case is None:
        return [], f"Case {case_id} does not exist"
    general = assign_verdict(session, p, case, None)
    if not general.allowed:
        return [], general.reason + "."
    names = [n.strip().lower() for n in dict.fromkeys([*candidates, p.username]) if n.strip()]
    users = {
        u.username: u for u in session.exec(select(User).where(col(User.username).in_(names))).all()
    }
    offered = [
        n
        for n in names
        if n in users
        and users[n].id != case.assigned_user_id
        and assign_verdict(session, p, case, users[n]).allowed
    ]
    if offered:
        return offered, ""
    if p.role == "offender_manager" and case.assigned_user_id == p.user_id:
        return [], f"You manage case {case.id}; a supervisor can assign it to someone else."
    lead = _force(session, case.lead_force_code)
    return [], f"No other offender manager of {lead} to assign case {case.id} to."


# --- who holds a case -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Manager:
    """The officer managing a case: who, in which team and BCU, of which force."""

    username: str
    display_name: str
    team: str | None
    bcu_code: str | None
    bcu_name: str | None
    force_code: str
    force_name: str


@dataclass(frozen=True)
class CaseStanding:
    """Who is responsible for a case now, and a pending handoff in words.

    Attributes
    ----------
    case_id
        The case.
    lead_force_code, lead_force_name
        The force responsible now.
    manager
        Its offender manager, or ``None`` while nobody manages it.
    handoff
        The open handoff, if any (as the queues show it).
    summary
        One sentence: the handoff, who stays responsible, and until when; ``""`` without one.
    meaning
        What the handoff's state means.
    next_step, next_holder
        What happens next, and the force whose step it is.
    """

    case_id: int
    lead_force_code: str
    lead_force_name: str
    manager: Manager | None
    handoff: HandoffView | None = None
    summary: str = ""
    meaning: str = ""
    next_step: str = ""
    next_holder: str = ""


def _day(d: date | None) -> str:
    """``3 Dec 2026``, as people write a date."""
    return "—" if d is None else f"{d.day} {d:%b %Y}"


def _the(name: str) -> str:
    """A force's name as it reads in a sentence: "the City of London Police", "Police Scotland"."""
    return f"the {name}" if name.startswith(("Metropolitan", "City of")) or " of " in name else name


def _short(code: str, name: str) -> str:
    return "the Met" if code == METROPOLITAN else _the(name)


def _explain(session: Session, view: HandoffView) -> tuple[str, str, str, str]:
    """(summary, meaning, next step, who holds it) of an open handoff."""
    h = view.handoff
    sender, receiver = _the(view.from_force_name), _the(view.to_force_name)
    short = _short(h.to_force_code, view.to_force_name)
    to = receiver + (f" ({h.to_bcu_code} BCU)" if h.to_bcu_code else "")
    stays = f"{sender} stays responsible until {short} completes it"
    if h.state == "proposed":
        summary = (
            f"Handoff to {to} proposed {_day(h.created_at.date())}, not yet requested: {stays}"
        )
        meaning = "Proposed: drafted by the sending force and not yet sent; no deadline runs."
        step, holder = f"{sender} requests it (or withdraws it)", view.from_force_name
    elif h.state == "requested":
        requested = h.requested_at.date() if h.requested_at else None
        summary = (
            f"Handoff to {to} requested {_day(requested)}: {stays} (completion due "
            f"{_day(h.completion_due)})"
        )
        meaning = (
            "Requested: the receiving force checks the new address and accepts or rejects "
            "the case; it does not negotiate, and a rejection is escalated."
        )
        step = (
            f"{receiver} checks the address by {_day(h.address_check_due)} and accepts or rejects"
        )
        holder = view.to_force_name
    else:
        accepted = h.accepted_at.date() if h.accepted_at else None
        summary = (
            f"Handoff to {to} accepted {_day(accepted)}: {stays} (completion due "
            f"{_day(h.completion_due)})"
        )
        meaning = (
            "Accepted: the receiving force has agreed to take the case; responsibility moves "
            "when it completes the transfer."
        )
        step, holder = (
            f"{receiver} completes the transfer by {_day(h.completion_due)}",
            (view.to_force_name),
        )
    if holder == view.to_force_name and not force_has_users(session, h.to_force_code):
        step += f" ({receiver} has no users here: {sender} records its answer)"
    return summary, meaning, step[0].upper() + step[1:], holder


def case_standing(session: Session, *, actor: str, case_id: int) -> CaseStanding:
    """Return who is responsible for a case now: lead force, manager, and a pending handoff.

    Parameters
    ----------
    session
        Any session.
    actor
        Who is looking (``case.view`` on the case; a refusal is audited).
    case_id
        The case.

    Returns
    -------
    CaseStanding
        The lead force and manager; with an open handoff, its state in words.

    Raises
    ------
    AccessDeniedError
        The actor may not see the case.
    NotFoundError
        No such case (system principals only).
    """
    require(session, actor=actor, action="case.view", case_id=case_id)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"No case with id {case_id}")
    names = force_names(session)
    manager = None
    user = session.get(User, case.assigned_user_id) if case.assigned_user_id else None
    if user is not None:
        bcus = bcu_names(session) if user.bcu_code else {}
        manager = Manager(
            username=user.username,
            display_name=user.display_name,
            team=user.team,
            bcu_code=user.bcu_code,
            bcu_name=bcus.get(user.bcu_code or ""),
            force_code=user.force_code,
            force_name=names.get(user.force_code, user.force_code),
        )
    standing = CaseStanding(
        case_id=case_id,
        lead_force_code=case.lead_force_code,
        lead_force_name=names.get(case.lead_force_code, case.lead_force_code),
        manager=manager,
    )
    views = list_handoffs(session, case_id=case_id, state="open", actor=actor)
    if not views:
        return standing
    summary, meaning, step, holder = _explain(session, views[0])
    return replace(
        standing,
        handoff=views[0],
        summary=summary,
        meaning=meaning,
        next_step=step,
        next_holder=holder,
    )
