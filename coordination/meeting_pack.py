"""The joint review meeting pack: one document for before the meeting and, filled in, the minutes.

:func:`build_pack_content` reads a meeting straight from the tables (meeting, agenda items,
decisions, actions, cases, offenders, addresses, handoffs) into frozen dataclasses
(:class:`PackContent`), so the three renderers (PDF, XLSX, Markdown) are pure functions of one
snapshot and agree with each other. :func:`export_pack` renders it and records the export in the
audit log as a *disclosure* (Data Protection Act 2018, s.62: who disclosed which people's records,
when, and to whom), which is why it refuses an export that names no recipients.

After the meeting the minutes are the same pack: decisions and actions are part of the content
whenever they exist, and the cover says "Minutes" once the meeting is held or closed.

Maps are drawn offline from the active boundary set (:meth:`geo.resolver.Resolver.
boundary_lines`, British National Grid metres) as vector lines; with no active set the pack says
so instead of drawing one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.audit import record_event
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Address,
    AgendaItem,
    Case,
    Force,
    Handoff,
    Meeting,
    Offender,
    ReviewAction,
    ReviewDecision,
    utcnow,
)
from coordination.ogrs3 import ogrs3_for_case
from coordination.permissions import require
from geo.errors import CrossforceError, InputError, NotFoundError
from geo.forces import force_name

if TYPE_CHECKING:
    from geo.lookup import Lookup
    from geo.resolver import Resolver

__all__ = [
    "DISCLOSURE_ACTION",
    "FORMATS",
    "MEDIA_TYPES",
    "PROTECTIVE_MARKING",
    "PackAction",
    "PackContent",
    "PackDecision",
    "PackItem",
    "PackMap",
    "PackOgrs3",
    "PackRemoved",
    "PackResidence",
    "build_pack_content",
    "export_pack",
    "pack_filename",
    "render_pack",
]

log = logging.getLogger(__name__)

Format = Literal["pdf", "xlsx", "md"]
FORMATS: tuple[str, ...] = get_args(Format)
MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
}
DISCLOSURE_ACTION = "disclosure.meeting_pack"
PROTECTIVE_MARKING = "OFFICIAL-SENSITIVE"

# The map shows at least this much around the current residence, and at most MAP_MAX_RADIUS_M so
# that one far-away earlier address does not shrink the boundary area to nothing.
MAP_MIN_RADIUS_M = 1000.0
MAP_MAX_RADIUS_M = 6000.0
MAP_MARGIN_M = 300.0

DECISION_LABELS: dict[str, str] = {
    "retain": "Retain",
    "transfer": "Transfer",
    "joint": "Joint management",
    "escalate": "Escalate",
    "nfa": "No further action",
    "other": "Other",
}
_STATE_LABELS = {"residence": "Residence", "no_fixed_abode": "No fixed abode", "unknown": "Unknown"}


# --- the content --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackResidence:
    """One row of a person's residence history, as the pack shows it (newest first)."""

    number: int
    valid_from: date
    valid_to: date | None
    state: str
    postcode: str | None
    force: str | None
    district_code: str | None
    bcu_code: str | None
    distance_to_boundary_m: float | None
    near_boundary: bool
    boundary_set: str | None
    easting: float | None
    northing: float | None

    @property
    def current(self) -> bool:
        """Whether this is the open-ended (current) address."""
        return self.valid_to is None


@dataclass(frozen=True)
class PackMap:
    """A small map of the boundary area around a residence, in British National Grid metres.

    ``lines`` holds ``(kind, points)`` with kind ``force``, ``district`` or ``ward``, already
    clipped to the square of side ``2 * radius_m`` centred on ``(centre_e, centre_n)``;
    ``points`` holds ``(number, easting, northing, current)`` for residences inside it, numbered
    as in the residence history.
    """

    centre_e: float
    centre_n: float
    radius_m: float
    lines: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]
    points: tuple[tuple[int, float, float, bool], ...]
    outside: int
    boundary_set: str
    attribution: str


@dataclass(frozen=True)
class PackOgrs3:
    """OGRS3 with the inputs it was computed from (a prioritising input, never a decision)."""

    available: bool
    one_year: float | None
    two_year: float | None
    inputs: tuple[tuple[str, str], ...]
    note: str

    def summary(self) -> str:
        """One line: the two probabilities in percent, or why there are none."""
        if self.one_year is None or self.two_year is None:
            return self.note
        return f"1 year {self.one_year:.2f}%, 2 years {self.two_year:.2f}%"


@dataclass(frozen=True)
class PackDecision:
    """The decision recorded for an item."""

    kind: str
    label: str
    target_force: str | None
    note: str
    decided_by: str
    decided_at: datetime
    handoff_id: int | None


@dataclass(frozen=True)
class PackItem:
    """One agenda item with everything the pack shows about its case."""

    position: int
    agenda_item_id: int
    case_id: int
    offender_id: int
    offender_name: str
    pnc_id: str
    date_of_birth: date
    sex: str
    lead_force: str
    lead_force_code: str
    programme: str
    risk: str
    mappa: str
    offence_category: str
    next_review_due: date | None
    reasons: tuple[str, ...]
    score: float
    score_parts: tuple[tuple[str, str], ...]
    added_manually: bool
    added_reason: str | None
    responsibility_rule: str
    responsibility_explanation: str
    open_handoff: str | None
    residences: tuple[PackResidence, ...]
    map: PackMap | None
    map_note: str
    ogrs3: PackOgrs3
    decision: PackDecision | None

    @property
    def label(self) -> str:
        """``"position. Name (PNC)"`` for headings."""
        return f"{self.position}. {self.offender_name} ({self.pnc_id})"


@dataclass(frozen=True)
class PackRemoved:
    """An item taken off the agenda, kept so the pack can say why."""

    case_id: int
    offender_id: int
    offender_name: str
    pnc_id: str
    reason: str


@dataclass(frozen=True)
class PackAction:
    """An action: agreed at this meeting, or open from an earlier one (``carried_over``)."""

    action_id: int
    meeting_id: int
    case_id: int | None
    offender_id: int | None
    offender_name: str
    pnc_id: str
    description: str
    owner: str
    due_date: date | None
    status: str
    carried_over: bool


AGENDA_HEADER = ("#", "Offender", "PNC", "Lead force", "Reasons", "Score")


@dataclass(frozen=True)
class PackContent:
    """Everything a meeting pack shows, read in one session."""

    meeting_id: int
    title: str
    meeting_date: date
    force_codes: tuple[str, ...]
    forces: tuple[str, ...]
    chair: str
    attendees: tuple[str, ...]
    status: str
    version: int
    generated_at: datetime
    demo_notice: str | None
    items: tuple[PackItem, ...]
    removed: tuple[PackRemoved, ...]
    actions: tuple[PackAction, ...]

    @property
    def kind(self) -> str:
        """``"Minutes"`` once the meeting is held or closed, else ``"Meeting pack"``."""
        return "Minutes" if self.status in ("held", "closed") else "Meeting pack"

    @property
    def offender_ids(self) -> list[int]:
        """Every person whose records the pack discloses, sorted."""
        ids = {i.offender_id for i in self.items} | {r.offender_id for r in self.removed}
        ids |= {a.offender_id for a in self.actions if a.offender_id is not None}
        return sorted(ids)

    @property
    def case_ids(self) -> list[int]:
        """Every case the pack discloses, sorted."""
        ids = {i.case_id for i in self.items} | {r.case_id for r in self.removed}
        ids |= {a.case_id for a in self.actions if a.case_id is not None}
        return sorted(ids)

    def agenda_rows(self, reason_separator: str) -> list[tuple[object, ...]]:
        """The agenda table every format shows (columns :data:`AGENDA_HEADER`)."""
        return [
            (
                item.position,
                item.offender_name,
                item.pnc_id,
                item.lead_force,
                reason_separator.join(item.reasons) or "-",
                f"{item.score:.2f}",
            )
            for item in self.items
        ]

    @property
    def decisions(self) -> list[tuple[PackItem, PackDecision]]:
        """The items that have a decision, in agenda order."""
        return [(item, item.decision) for item in self.items if item.decision is not None]


# --- reading ------------------------------------------------------------------------------------


def _force_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.exec(select(Force.code, Force.name)).all()}


def _name_of(names: dict[str, str], code: str | None) -> str | None:
    if code is None:
        return None
    return names.get(code) or force_name(code).name


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, int) else f"{value:.2f}"
    return str(value)


def _score_parts(parts: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(key), _number(value)) for key, value in (parts or {}).items())


def _reason_texts(reasons: Iterable[Any] | None) -> tuple[str, ...]:
    texts: list[str] = []
    for reason in reasons or ():
        if isinstance(reason, dict):
            texts.append(str(reason.get("text") or reason.get("code") or ""))
        else:
            texts.append(str(reason))
    return tuple(t for t in texts if t)


def _mappa(case: Case) -> str:
    if case.mappa_category is None and case.mappa_level is None:
        return "-"
    return f"category {case.mappa_category or '?'}, level {case.mappa_level or '?'}"


def _ogrs3(case: Case, offender: Offender, on: date) -> PackOgrs3:
    """OGRS3 in percent with the inputs it was (or would be) computed from."""
    outcome = ogrs3_for_case(case=case, offender=offender, on=on)
    result = outcome.result
    if result is not None:
        sanctions = str(result.previous_sanctions)
        if result.sanctions_used != result.previous_sanctions:
            sanctions += f" ({result.sanctions_used} used)"
        inputs = (
            ("sex", result.sex),
            ("age at assessment", f"{result.age} (band {result.age_band})"),
            ("age at conviction", str(result.age_at_conviction)),
            ("age at first sanction", str(result.age_at_first_sanction)),
            ("previous sanctions", sanctions),
            ("offence", result.offence_label),
        )
        return PackOgrs3(True, result.one_year_pct, result.two_year_pct, inputs, "")

    def shown(value: object) -> str:
        return "not recorded" if value is None else str(value)

    inputs = (
        ("sex", offender.sex),
        ("age at assessment", str(_age(offender.date_of_birth, on))),
        (
            "age at conviction",
            str(_age(offender.date_of_birth, case.conviction_date))
            if case.conviction_date
            else "not recorded",
        ),
        ("age at first sanction", shown(case.age_at_first_sanction)),
        ("previous sanctions", shown(case.previous_sanctions)),
        ("offence", case.offence_category),
    )
    return PackOgrs3(True, None, None, inputs, outcome.reason or "No OGRS3 score")


def _resolver_for(session: Session, lookup: Lookup | None) -> tuple[Resolver | None, str, str]:
    """Return the resolver to draw maps with, its boundary set's name, and a note if none."""
    if lookup is not None:
        return lookup.resolver, lookup.resolver.layers.name, ""
    from coordination.boundaries import get_active, get_resolver
    from coordination.settings import get_settings

    active = get_active(session)
    if active is None:
        return None, "", "No boundary set is active: the map is not drawn."
    settings = get_settings()
    here = session.get_bind().engine.url.render_as_string(hide_password=False)
    if here == settings.database_url_effective:
        # The app's normal case: the warm process-wide service of this database and set.
        from coordination.lookup import get_service

        try:
            service = get_service(settings)
            if (service.boundary_set.name, service.boundary_set.checksum) == (
                active.name,
                active.checksum,
            ):
                return service.lookup.resolver, active.name, ""
        except (CrossforceError, sa.exc.SQLAlchemyError, OSError) as exc:
            log.info("lookup service unavailable (%s): reading the resolver directly", exc)
    try:
        return get_resolver(session, settings=settings), active.name, ""
    except (CrossforceError, OSError) as exc:
        log.warning("map boundaries unavailable: %s", exc)
        return None, "", "The boundary set could not be read: the map is not drawn."


def _map(
    resolver: Resolver | None,
    set_name: str,
    residences: tuple[PackResidence, ...],
    unavailable: str,
) -> tuple[PackMap | None, str]:
    from coordination.lookup import ATTRIBUTION

    if resolver is None:
        return None, unavailable
    located = [r for r in residences if r.easting is not None and r.northing is not None]
    if not located:
        return None, "No residence has coordinates: the map is not drawn."
    centre = next((r for r in located if r.current), located[0])
    ce, cn = float(centre.easting or 0.0), float(centre.northing or 0.0)
    far = max(max(abs((r.easting or 0) - ce), abs((r.northing or 0) - cn)) for r in located)
    radius = min(max(far + MAP_MARGIN_M, MAP_MIN_RADIUS_M), MAP_MAX_RADIUS_M)
    lines = resolver.boundary_lines(ce, cn, radius)
    drawn: list[tuple[str, tuple[tuple[float, float], ...]]] = []
    for kind in ("ward", "district", "force"):  # finest first so force lines are drawn on top
        drawn.extend((kind, tuple(line)) for line in lines.get(kind, []) if len(line) >= 2)
    points = tuple(
        (r.number, float(r.easting or 0.0), float(r.northing or 0.0), r.current)
        for r in located
        if abs((r.easting or 0) - ce) <= radius and abs((r.northing or 0) - cn) <= radius
    )
    return (
        PackMap(
            centre_e=ce,
            centre_n=cn,
            radius_m=radius,
            lines=tuple(drawn),
            points=points,
            outside=len(located) - len(points),
            boundary_set=set_name,
            attribution=ATTRIBUTION,
        ),
        "",
    )


def _demo_notice(session: Session) -> str | None:
    try:
        from coordination.demo import demo_info
    except ImportError:
        return None
    info = demo_info(session)
    return None if info is None else info.notice


def _handoff_text(handoff: Handoff, names: dict[str, str]) -> str:
    due = handoff.completion_due.isoformat() if handoff.completion_due else "not set"
    return (
        f"Handoff {handoff.id}: {_name_of(names, handoff.from_force_code)} to "
        f"{_name_of(names, handoff.to_force_code)}, {handoff.state}, completion due {due}"
    )


def build_pack_content(
    session: Session, *, meeting_id: int, lookup: Lookup | None = None, actor: str | None = None
) -> PackContent:
    """Read one meeting into the content of its pack.

    Parameters
    ----------
    session
        Open session; nothing is written.
    meeting_id
        The meeting.
    lookup
        Whose resolver draws the maps. ``None`` uses the active boundary set of the session's
        database (the warm lookup service when it serves that set); with no active set each item
        says the map is not drawn.

    Returns
    -------
    PackContent
        Items in agenda order (removed items listed apart with their reasons), this meeting's
        actions and the open actions of earlier meetings of the same forces.

    Raises
    ------
    NotFoundError
        No meeting has this id.
    """
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"No meeting {meeting_id}")
    require(
        session,
        actor=actor,
        action="meeting.view",
        forces=meeting.forces,
        entity_type="meeting",
        entity_id=str(meeting_id),
    )
    names = _force_names(session)
    rows = session.exec(
        select(AgendaItem, Case, Offender)
        .join(Case, col(Case.id) == col(AgendaItem.case_id))
        .join(Offender, col(Offender.id) == col(Case.offender_id))
        .where(AgendaItem.meeting_id == meeting_id)
        .order_by(col(AgendaItem.position), col(AgendaItem.id))
    ).all()
    live = [(a, c, o) for a, c, o in rows if not a.removed]
    item_ids = [a.id for a, _, _ in live]
    offender_ids = sorted({o.id for _, _, o in live if o.id is not None})
    case_ids = sorted({c.id for _, c, _ in live if c.id is not None})

    decisions: dict[int, ReviewDecision] = {}
    if item_ids:
        for row in session.exec(
            select(ReviewDecision).where(col(ReviewDecision.agenda_item_id).in_(item_ids))
        ).all():
            decisions[row.agenda_item_id] = row
    addresses: dict[int, list[Address]] = {}
    if offender_ids:
        for address in session.exec(
            select(Address)
            .where(col(Address.offender_id).in_(offender_ids))
            .order_by(col(Address.valid_from).desc(), col(Address.id).desc())
        ).all():
            addresses.setdefault(address.offender_id, []).append(address)
    open_handoffs: dict[int, Handoff] = {}
    if case_ids:
        for open_row in session.exec(
            select(Handoff)
            .where(col(Handoff.case_id).in_(case_ids))
            .where(col(Handoff.state).in_(OPEN_HANDOFF_STATES))
        ).all():
            open_handoffs[open_row.case_id] = open_row

    resolver, set_name, unavailable = _resolver_for(session, lookup) if live else (None, "", "")
    items: list[PackItem] = []
    for agenda, case, offender in live:
        assert agenda.id is not None and case.id is not None and offender.id is not None
        # Residences move less often than anything else here: older rows may predate the
        # current boundary set, so each keeps the set that resolved it.
        residences = tuple(
            PackResidence(
                number=n,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                state=_STATE_LABELS.get(a.state, a.state),
                postcode=a.postcode,
                force=_name_of(names, a.force_code),
                district_code=a.district_code,
                bcu_code=a.bcu_code,
                distance_to_boundary_m=a.distance_to_boundary_m,
                near_boundary=bool(a.near_boundary),
                boundary_set=a.boundary_set,
                easting=a.easting,
                northing=a.northing,
            )
            for n, a in enumerate(addresses.get(offender.id, []), start=1)
        )
        drawn, note = _map(resolver, set_name, residences, unavailable)
        decision = decisions.get(agenda.id)
        handoff = open_handoffs.get(case.id)
        items.append(
            PackItem(
                position=agenda.position,
                agenda_item_id=agenda.id,
                case_id=case.id,
                offender_id=offender.id,
                offender_name=f"{offender.first_name} {offender.last_name}",
                pnc_id=offender.pnc_id,
                date_of_birth=offender.date_of_birth,
                sex=offender.sex,
                lead_force=_name_of(names, case.lead_force_code) or case.lead_force_code,
                lead_force_code=case.lead_force_code,
                programme=case.programme,
                risk=case.risk,
                mappa=_mappa(case),
                offence_category=case.offence_category,
                next_review_due=case.next_review_due,
                reasons=_reason_texts(agenda.reasons),
                score=float(agenda.score or 0.0),
                score_parts=_score_parts(agenda.score_parts),
                added_manually=agenda.added_manually,
                added_reason=agenda.added_reason,
                responsibility_rule=case.responsibility_rule,
                responsibility_explanation=case.responsibility_explanation,
                open_handoff=None if handoff is None else _handoff_text(handoff, names),
                residences=residences,
                map=drawn,
                map_note=note,
                ogrs3=_ogrs3(case, offender, meeting.meeting_date),
                decision=None
                if decision is None
                else PackDecision(
                    kind=decision.kind,
                    label=DECISION_LABELS.get(decision.kind, decision.kind),
                    target_force=_name_of(names, decision.target_force_code),
                    note=decision.note,
                    decided_by=decision.decided_by,
                    decided_at=decision.decided_at,
                    handoff_id=decision.handoff_id,
                ),
            )
        )
    removed = tuple(
        PackRemoved(
            case_id=c.id or 0,
            offender_id=o.id or 0,
            offender_name=f"{o.first_name} {o.last_name}",
            pnc_id=o.pnc_id,
            reason=a.removed_reason or "",
        )
        for a, c, o in rows
        if a.removed
    )
    return PackContent(
        meeting_id=meeting_id,
        title=meeting.title,
        meeting_date=meeting.meeting_date,
        force_codes=tuple(meeting.forces),
        forces=tuple(_name_of(names, code) or code for code in meeting.forces),
        chair=meeting.chair,
        attendees=tuple(meeting.attendees),
        status=meeting.status,
        version=meeting.version or 0,
        generated_at=utcnow(),
        demo_notice=_demo_notice(session),
        items=tuple(items),
        removed=removed,
        actions=_actions(session, meeting),
    )


def _actions(session: Session, meeting: Meeting) -> tuple[PackAction, ...]:
    """This meeting's actions, then open ones from earlier meetings of the same forces."""
    forces = sorted(meeting.forces)
    earlier = [
        m.id
        for m in session.exec(
            select(Meeting).where(col(Meeting.meeting_date) <= meeting.meeting_date)
        ).all()
        if m.id != meeting.id
        and sorted(m.forces) == forces
        and (m.meeting_date, m.id or 0) < (meeting.meeting_date, meeting.id or 0)
    ]
    condition = col(ReviewAction.meeting_id) == meeting.id
    if earlier:
        condition = sa.or_(
            condition,
            sa.and_(
                col(ReviewAction.meeting_id).in_(earlier),
                col(ReviewAction.status) == "open",
            ),
        )
    rows = session.exec(
        select(ReviewAction, Case, Offender)
        .join(Case, col(Case.id) == col(ReviewAction.case_id), isouter=True)
        .join(Offender, col(Offender.id) == col(Case.offender_id), isouter=True)
        .where(condition)
        .order_by(col(ReviewAction.meeting_id), col(ReviewAction.id))
    ).all()
    carried = [r for r in rows if r[0].meeting_id != meeting.id]
    own = [r for r in rows if r[0].meeting_id == meeting.id]
    return tuple(
        PackAction(
            action_id=action.id or 0,
            meeting_id=action.meeting_id,
            case_id=action.case_id,
            offender_id=None if offender is None else offender.id,
            offender_name="" if offender is None else f"{offender.first_name} {offender.last_name}",
            pnc_id="" if offender is None else offender.pnc_id,
            description=action.description,
            owner=action.owner,
            due_date=action.due_date,
            status=action.status,
            carried_over=action.meeting_id != meeting.id,
        )
        for action, _case, offender in [*own, *carried]
    )


# --- rendering and disclosure -------------------------------------------------------------------


def render_pack(content: PackContent, fmt: str) -> bytes:
    """Render pack content as ``pdf``, ``xlsx`` or ``md`` bytes (no audit: see export_pack).

    Raises
    ------
    InputError
        An unknown format.
    """
    if fmt == "pdf":
        from coordination._pdf import render_pdf

        return render_pdf(content)
    if fmt == "xlsx":
        from coordination._xlsx import render_xlsx

        return render_xlsx(content)
    if fmt == "md":
        from coordination._markdown import render_markdown

        return render_markdown(content).encode("utf-8")
    raise InputError(f"Unknown pack format {fmt!r}: use pdf, xlsx or md")


def pack_filename(content: PackContent, fmt: str) -> str:
    """A file name such as ``meeting-12-2025-03-03-minutes.pdf``."""
    kind = "minutes" if content.kind == "Minutes" else "pack"
    return f"meeting-{content.meeting_id}-{content.meeting_date.isoformat()}-{kind}.{fmt}"


def _recipients(recipients: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for recipient in recipients:
        text = " ".join(str(recipient).split())
        if text and text not in cleaned:
            cleaned.append(text)
    return cleaned


def export_pack(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    fmt: Format,
    recipients: list[str],
    lookup: Lookup | None = None,
) -> bytes:
    """Render a meeting's pack (or minutes) and record the export as a disclosure.

    Parameters
    ----------
    session
        Open session; the audit event is added to it (the caller commits, so the record and the
        export stand or fall together).
    actor
        Who is exporting.
    meeting_id
        The meeting.
    fmt
        ``pdf``, ``xlsx`` or ``md``.
    recipients
        To whom the pack goes (people, teams or addresses); at least one.
    lookup
        As for :func:`build_pack_content`.

    Returns
    -------
    bytes
        The document.

    Raises
    ------
    InputError
        No recipients, no actor, or an unknown format.
    NotFoundError
        No such meeting.
    """
    if fmt not in FORMATS:
        raise InputError(f"Unknown pack format {fmt!r}: use pdf, xlsx or md")
    named = _recipients(recipients)
    if not named:
        raise InputError("A disclosure names its recipients: give at least one recipient")
    if not (actor or "").strip():
        raise InputError("Every change needs an actor: set CROSSFORCE_USER or sign in")
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(f"No meeting {meeting_id}")
    require(
        session,
        actor=actor,
        action="pack.export",
        forces=meeting.forces,
        entity_type="meeting",
        entity_id=str(meeting_id),
    )
    content = build_pack_content(session, meeting_id=meeting_id, lookup=lookup, actor=actor)
    data = render_pack(content, fmt)
    record_event(
        session,
        actor=actor,
        action=DISCLOSURE_ACTION,
        entity_type="meeting",
        entity_id=str(meeting_id),
        details={
            "format": fmt,
            "kind": content.kind.lower(),
            "offender_ids": content.offender_ids,
            "case_ids": content.case_ids,
            "recipients": named,
            "items": len(content.items),
            "meeting_version": content.version,
            "bytes": len(data),
        },
        category="disclosure",
        recipients=named,
        offender_ids=content.offender_ids,
    )
    return data
