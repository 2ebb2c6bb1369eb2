"""Building a pack's content from a stored meeting."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.clock import utcnow
from coordination.core.settings import get_settings
from coordination.core.wording import mappa_label, offence_label, sex_label
from coordination.errors import CrossforceError, NotFoundError
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Address,
    AgendaItem,
    Case,
    Handoff,
    Meeting,
    Offender,
    ReviewAction,
    ReviewDecision,
)
from coordination.reference.boundaries import force_names
from coordination.review.ogrs3 import ogrs3_for_case
from coordination.review.sections import split_agenda
from coordination.security.permissions import (
    WITHHELD_LABEL,
    WITHHELD_NOTE,
    Principal,
    require,
    withheld_cases,
)
from geo.forces import force_name

if TYPE_CHECKING:
    from geo.lookup import Lookup
    from geo.resolver import Resolver
from coordination.packs.content import (
    _STATE_LABELS,
    DECISION_LABELS,
    MAP_MARGIN_M,
    MAP_MAX_RADIUS_M,
    MAP_MIN_RADIUS_M,
    PackAction,
    PackContent,
    PackDecision,
    PackItem,
    PackMap,
    PackNotReached,
    PackOgrs3,
    PackRemoved,
    PackResidence,
)

log = logging.getLogger(__name__)


# --- reading ------------------------------------------------------------------------------------


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


def _hidden_manual(reasons: Iterable[Any] | None) -> list[Any]:
    """Reasons with a manual one's text withheld: whoever added the case may name the person."""
    return [
        {**r, "text": f"Added by hand ({WITHHELD_NOTE.lower()})"}
        if isinstance(r, dict) and r.get("code") == "manual"
        else r
        for r in reasons or ()
    ]


def _mappa(case: Case) -> str:
    return mappa_label(case.mappa_category, case.mappa_level)


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
        ("sex", sex_label(offender.sex).lower()),
        ("age at assessment", str(_age(offender.date_of_birth, on))),
        (
            "age at conviction",
            str(_age(offender.date_of_birth, case.conviction_date))
            if case.conviction_date
            else "not recorded",
        ),
        ("age at first sanction", shown(case.age_at_first_sanction)),
        ("previous sanctions", shown(case.previous_sanctions)),
        ("offence", offence_label(case.offence_category).lower()),
    )
    return PackOgrs3(True, None, None, inputs, outcome.reason or "No OGRS3 score")


def _resolver_for(session: Session, lookup: Lookup | None) -> tuple[Resolver | None, str, str]:
    """Return the resolver to draw maps with, its boundary set's name, and a note if none."""
    if lookup is not None:
        return lookup.resolver, lookup.resolver.layers.name, ""
    from coordination.core.settings import get_settings
    from coordination.reference.boundaries import get_active, get_resolver

    active = get_active(session)
    if active is None:
        return None, "", "No boundary set is active: the map is not drawn."
    settings = get_settings()
    here = session.get_bind().engine.url.render_as_string(hide_password=False)
    if here == settings.database_url_effective:
        # The app's normal case: the warm process-wide service of this database and set.
        from coordination.reference.lookup import get_service

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
    from coordination.reference.lookup import ATTRIBUTION

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
        from coordination.register.synthetic import demo_info
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
    session: Session,
    *,
    meeting_id: int,
    lookup: Lookup | None = None,
    actor: str,
    recipients: Sequence[str] = (),
    justification: str = "",
    agenda_size: int | None = None,
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
    actor
        Who reads the pack (limited access withholds the cases kept from them).
    recipients
        To whom the pack goes; shown on its cover ("Prepared for"). Empty for a preview.
    justification
        Why it goes to them; shown on its cover ("Disclosed for"). Empty for a preview.
    agenda_size
        How many items the meeting reaches (default the ``agenda_size`` setting): those, and
        any decided later, are set out in full; the rest are listed as not reached.

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
    viewer = require(
        session,
        actor=actor,
        action="meeting.view",
        forces=meeting.forces,
        entity_type="meeting",
        entity_id=str(meeting_id),
    )
    names = force_names(session)
    rows = session.exec(
        select(AgendaItem, Case, Offender)
        .join(Case, col(Case.id) == col(AgendaItem.case_id))
        .join(Offender, col(Offender.id) == col(Case.offender_id))
        .where(AgendaItem.meeting_id == meeting_id)
        .order_by(col(AgendaItem.position), col(AgendaItem.id))
    ).all()
    withheld = withheld_cases(session, viewer, [a.case_id for a, _, _ in rows])
    live = [(a, c, o) for a, c, o in rows if not a.removed]
    item_ids = [a.id for a, _, _ in live]
    decisions: dict[int, ReviewDecision] = {}
    if item_ids:
        for row in session.exec(
            select(ReviewDecision).where(col(ReviewDecision.agenda_item_id).in_(item_ids))
        ).all():
            decisions[row.agenda_item_id] = row
    # The page and the pack split the agenda by the same rule (coordination.review.sections).
    parts = split_agenda(
        [a for a, _, _ in live],
        size=agenda_size or get_settings().agenda_size,
        decided=lambda a: a.id in decisions,
    )
    reached = {a.id for a in parts.reached}
    later = [(a, c, o) for a, c, o in live if a.id not in reached]
    live = [(a, c, o) for a, c, o in live if a.id in reached]
    offender_ids = sorted({o.id for _, c, o in live if o.id is not None and c.id not in withheld})
    case_ids = sorted({c.id for _, c, _ in live if c.id is not None})
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
        if agenda.id is None or case.id is None or offender.id is None:
            raise RuntimeError("agenda.id, case.id or offender.id missing")
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
        decision = decisions.get(agenda.id)
        handoff = open_handoffs.get(case.id)
        drawn, note = _map(resolver, set_name, residences, unavailable)
        item = PackItem(
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
            decision=_decision(decision, names),
        )
        items.append(_withhold(item, agenda) if case.id in withheld else item)
    not_reached = tuple(
        PackNotReached(
            position=a.position,
            case_id=c.id or 0,
            offender_name=WITHHELD_LABEL if c.id in withheld else f"{o.first_name} {o.last_name}",
            pnc_id="" if c.id in withheld else o.pnc_id,
            lead_force=_name_of(names, c.lead_force_code) or c.lead_force_code,
            reasons=_reason_texts(_hidden_manual(a.reasons) if c.id in withheld else a.reasons),
            score=float(a.score or 0.0),
        )
        for a, c, o in later
    )
    removed = tuple(
        PackRemoved(
            case_id=c.id or 0,
            offender_id=0 if c.id in withheld else o.id or 0,
            offender_name=WITHHELD_LABEL if c.id in withheld else f"{o.first_name} {o.last_name}",
            pnc_id="" if c.id in withheld else o.pnc_id,
            reason=WITHHELD_NOTE if c.id in withheld else a.removed_reason or "",
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
        actions=_actions(session, meeting, viewer),
        recipients=tuple(str(r) for r in recipients),
        justification=justification,
        not_reached=not_reached,
    )


def _decision(decision: ReviewDecision | None, names: dict[str, str]) -> PackDecision | None:
    if decision is None:
        return None
    return PackDecision(
        kind=decision.kind,
        label=DECISION_LABELS.get(decision.kind, decision.kind),
        target_force=_name_of(names, decision.target_force_code),
        note=decision.note,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
        handoff_id=decision.handoff_id,
    )


def _withhold(item: PackItem, agenda: AgendaItem) -> PackItem:
    """The item as a reader whom limited access keeps from the case sees it: what the meeting
    may still see (case number, lead force, programme, reasons, score, decision), nothing about
    the person (the manual reason too may name them)."""
    manual = [r for r in agenda.reasons or [] if isinstance(r, dict) and r.get("code") == "manual"]
    reasons = [r for r in agenda.reasons or [] if r not in manual]
    return replace(
        item,
        offender_id=0,
        offender_name=WITHHELD_LABEL,
        pnc_id="",
        date_of_birth=None,
        sex="",
        reasons=_reason_texts(reasons) + (("Added by hand",) if manual else ()),
        added_reason=WITHHELD_NOTE if item.added_reason else None,
        responsibility_explanation=WITHHELD_NOTE,
        residences=(),
        map=None,
        map_note=WITHHELD_NOTE,
        ogrs3=PackOgrs3(False, None, None, (), WITHHELD_NOTE),
        decision=None if item.decision is None else replace(item.decision, note=""),
        withheld=True,
    )


def _actions(session: Session, meeting: Meeting, viewer: Principal) -> tuple[PackAction, ...]:
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
    withheld = withheld_cases(
        session, viewer, [a.case_id for a, _, _ in rows if a.case_id is not None]
    )
    return tuple(
        _action(action, offender, meeting, hidden=action.case_id in withheld)
        for action, _case, offender in [*own, *carried]
    )


def _action(
    action: ReviewAction, offender: Offender | None, meeting: Meeting, *, hidden: bool
) -> PackAction:
    """One action; ``hidden``: limited access keeps its case (and so its text) from the reader."""
    shown = None if offender is None or hidden else offender
    if shown is not None:
        name = f"{shown.first_name} {shown.last_name}"
    else:
        name = WITHHELD_LABEL if offender is not None else ""
    return PackAction(
        action_id=action.id or 0,
        meeting_id=action.meeting_id,
        case_id=action.case_id,
        offender_id=None if shown is None else shown.id,
        offender_name=name,
        pnc_id="" if shown is None else shown.pnc_id,
        description=WITHHELD_NOTE if hidden else action.description,
        owner=action.owner,
        due_date=action.due_date,
        status=action.status,
        carried_over=action.meeting_id != meeting.id,
    )
