"""The agenda rules: which cases a meeting should discuss, and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.core.clock import london_date
from coordination.core.wording import CLOSURE_LABELS
from coordination.handoffs.workflow import current_deadline, rag_status
from coordination.models import (
    OPEN_HANDOFF_STATES,
    Address,
    AgendaItem,
    Area,
    BoundarySet,
    Case,
    CaseEvent,
    Escalation,
    Handoff,
    Meeting,
    ResponsibilityException,
    ReviewAction,
)
from coordination.reference.boundaries import force_names
from coordination.review.common import (
    _REASON_ORDER,
    _RISK_TEXT,
    REASON_CODES,
    _day,
    _days,
    _earlier,
    _metres,
    _same_forces,
)

# --- the agenda rules -----------------------------------------------------------------------------

Reasons = dict[int, list[dict[str, str]]]


def _add(found: Reasons, case_id: int, code: str, text: str) -> None:
    reasons = found.setdefault(case_id, [])
    if not any(r["code"] == code for r in reasons):
        reasons.append({"code": code, "text": text})


def _rule_handoffs(
    session: Session, forces: Sequence[str], names: dict[str, str], today: date, found: Reasons
) -> None:
    rows = session.execute(
        sa.select(
            col(Handoff.id),
            col(Handoff.case_id),
            col(Handoff.from_force_code),
            col(Handoff.to_force_code),
            col(Handoff.state),
            col(Handoff.address_check_due),
            col(Handoff.completion_due),
        )
        .join(Case, col(Case.id) == col(Handoff.case_id))
        .where(
            col(Handoff.state).in_(OPEN_HANDOFF_STATES),
            col(Handoff.from_force_code).in_(forces),
            col(Handoff.to_force_code).in_(forces),
            col(Case.status) == "open",
        )
    ).all()
    for h in rows:
        route = (
            f"{names.get(h.from_force_code, h.from_force_code)} → "
            f"{names.get(h.to_force_code, h.to_force_code)}"
        )
        due, kind = current_deadline(h.state, h.address_check_due, h.completion_due)
        _, overdue, days = rag_status(h.state, due, today)
        if overdue and due is not None:
            text = (
                f"Handoff {h.id} {route} is overdue by {_days(days)} "
                f"({kind} was due {due.isoformat()})"
            )
            _add(found, h.case_id, "handoff_overdue", text)
        elif due is None:
            text = f"Handoff {h.id} {route} is {h.state}, not yet requested"
            _add(found, h.case_id, "handoff_pending", text)
        else:
            text = f"Handoff {h.id} {route} is {h.state}; {kind} due {due.isoformat()}"
            _add(found, h.case_id, "handoff_pending", text)


def _rule_escalations(
    session: Session, forces: Sequence[str], names: dict[str, str], today: date, found: Reasons
) -> None:
    """``open_escalation``: a rejected handoff between the meeting's forces, not yet resolved."""
    rows = session.execute(
        sa.select(
            col(Escalation.id),
            col(Escalation.case_id),
            col(Escalation.handoff_id),
            col(Escalation.due_on),
            col(Handoff.to_force_code),
        )
        .join(Handoff, col(Handoff.id) == col(Escalation.handoff_id))
        .join(Case, col(Case.id) == col(Escalation.case_id))
        .where(
            col(Escalation.state) == "open",
            col(Escalation.force_code).in_(forces),
            col(Handoff.to_force_code).in_(forces),
            col(Case.status) == "open",
        )
    ).all()
    for e in rows:
        late = " (overdue)" if e.due_on < today else ""
        text = (
            f"Open escalation {e.id}: handoff {e.handoff_id} was rejected by "
            f"{names.get(e.to_force_code, e.to_force_code)}; due {e.due_on.isoformat()}{late}"
        )
        _add(found, e.case_id, "open_escalation", text)


def _rule_crossed(
    session: Session, forces: Sequence[str], names: dict[str, str], since: date, found: Reasons
) -> None:
    # Each address beside the one before it (LAG over the person's history, SQLite ≥ 3.25 and
    # PostgreSQL alike), for the people with an address in the meeting's forces since `since`.
    movers = (
        sa.select(col(Address.offender_id))
        .where(col(Address.valid_from) >= since, col(Address.force_code).in_(forces))
        .distinct()
    )
    history = (
        sa.select(
            col(Address.id),
            col(Address.offender_id),
            col(Address.valid_from),
            col(Address.force_code),
            col(Address.postcode),
            sa.func.lag(col(Address.force_code))
            .over(
                partition_by=col(Address.offender_id),
                order_by=(col(Address.valid_from), col(Address.id)),
            )
            .label("previous_force"),
        )
        .where(col(Address.offender_id).in_(movers))
        .subquery()
    )
    rows = session.execute(
        sa.select(
            col(Case.id).label("case_id"),
            history.c.id,
            history.c.valid_from,
            history.c.force_code,
            history.c.postcode,
            history.c.previous_force,
        )
        .join(Case, col(Case.offender_id) == history.c.offender_id)
        .where(
            history.c.valid_from >= since,
            history.c.force_code.in_(forces),
            history.c.previous_force.in_(forces),
            history.c.previous_force != history.c.force_code,
            col(Case.status) == "open",
            col(Case.lead_force_code).in_(forces),
        )
        # The latest crossing is the one worth saying: later rows overwrite earlier ones.
        .order_by(history.c.valid_from, history.c.id)
    ).all()
    latest: dict[int, Any] = {}
    for row in rows:
        latest[int(row.case_id)] = row
    for case_id, row in latest.items():
        where = f" ({row.postcode})" if row.postcode else ""
        text = (
            f"Moved from {names.get(row.previous_force, row.previous_force)} to "
            f"{names.get(row.force_code, row.force_code)} on "
            f"{row.valid_from.isoformat()}{where}"
        )
        _add(found, case_id, "crossed_boundary", text)


def _force_geometries(session: Session, forces: Sequence[str]) -> dict[str, Any]:
    """Return the active boundary set's force polygons for these codes (those it has)."""
    import shapely

    active = session.exec(select(BoundarySet.id).where(col(BoundarySet.active))).first()
    if active is None:
        return {}
    rows = session.exec(
        select(Area.code, Area.geometry).where(
            Area.boundary_set_id == active, Area.kind == "force", col(Area.code).in_(forces)
        )
    ).all()
    return {code: shapely.from_wkb(wkb) for code, wkb in rows if wkb is not None}


def _rule_near_boundary(
    session: Session,
    forces: Sequence[str],
    names: dict[str, str],
    near_m: float,
    found: Reasons,
) -> None:
    import shapely

    distance = col(Address.distance_to_boundary_m)
    rows = session.execute(
        sa.select(
            col(Case.id).label("case_id"),
            col(Address.force_code),
            col(Address.postcode),
            col(Address.easting),
            col(Address.northing),
            col(Address.distance_to_boundary_m),
        )
        .join(Address, col(Address.offender_id) == col(Case.offender_id))
        .where(
            col(Case.status) == "open",
            col(Case.lead_force_code).in_(forces),
            col(Address.valid_to).is_(None),
            col(Address.state) == "residence",
            col(Address.force_code).in_(forces),
            sa.or_(distance <= near_m, sa.and_(distance.is_(None), col(Address.near_boundary))),
        )
    ).all()
    if not rows:
        return
    geometries = _force_geometries(session, forces)
    for address in rows:
        others = [code for code in forces if code != address.force_code]
        partner: str | None = None
        point_known = address.easting is not None and address.northing is not None
        if point_known and others and all(code in geometries for code in others):
            point = shapely.Point(address.easting, address.northing)
            nearest = min(others, key=lambda code: shapely.distance(geometries[code], point))
            if shapely.distance(geometries[nearest], point) > near_m:
                # Near a boundary, but with a force that is not at this meeting.
                continue
            partner = nearest
        metres = address.distance_to_boundary_m
        how_far = f"{_metres(metres)} from" if metres is not None else "on"
        boundary = (
            f"the boundary with {names.get(partner, partner)}" if partner else "a force boundary"
        )
        where = f" ({address.postcode})" if address.postcode else ""
        text = (
            f"Lives in {names.get(str(address.force_code), address.force_code)}{where}, "
            f"{how_far} {boundary}: responsibility may be unclear"
        )
        _add(found, int(address.case_id), "near_boundary", text)


def _rule_joint(
    session: Session,
    forces: Sequence[str],
    names: dict[str, str],
    next_date: date,
    today: date,
    found: Reasons,
) -> None:
    """``high_risk_joint`` and ``review_due``: cases with both forces involved."""
    high = sa.or_(col(Case.mappa_level).in_((2, 3)), col(Case.risk).in_(("high", "very_high")))
    due = col(Case.next_review_due) < next_date
    involved: dict[int, tuple[Any, str]] = {}
    columns = (
        col(Case.id),
        col(Case.lead_force_code),
        col(Case.risk),
        col(Case.mappa_level),
        col(Case.next_review_due),
    )
    by_residence = session.execute(
        sa.select(*columns, col(Address.force_code).label("residence_force"))
        .join(Address, col(Address.offender_id) == col(Case.offender_id))
        .where(
            col(Case.status) == "open",
            col(Case.lead_force_code).in_(forces),
            col(Address.valid_to).is_(None),
            col(Address.force_code).in_(forces),
            col(Address.force_code) != col(Case.lead_force_code),
            sa.or_(high, due),
        )
    ).all()
    for case in by_residence:
        involved[int(case.id)] = (case, f"lives in {names.get(case.residence_force, '?')}")
    by_handoff = session.execute(
        sa.select(
            *columns,
            col(Handoff.id).label("handoff_id"),
            col(Handoff.to_force_code).label("handoff_to"),
        )
        .join(Handoff, col(Handoff.case_id) == col(Case.id))
        .where(
            col(Case.status) == "open",
            col(Case.lead_force_code).in_(forces),
            col(Handoff.state).in_(OPEN_HANDOFF_STATES),
            col(Handoff.to_force_code).in_(forces),
            col(Handoff.to_force_code) != col(Case.lead_force_code),
            sa.or_(high, due),
        )
    ).all()
    for case in by_handoff:
        involved.setdefault(
            int(case.id),
            (case, f"handoff {case.handoff_id} to {names.get(case.handoff_to, '?')} is open"),
        )
    for case_id, (case, how) in involved.items():
        lead = names.get(case.lead_force_code, case.lead_force_code)
        if case.mappa_level in (2, 3) or case.risk in ("high", "very_high"):
            what = []
            if case.mappa_level in (2, 3):
                what.append(f"MAPPA level {case.mappa_level}")
            if case.risk in ("high", "very_high"):
                what.append(f"{_RISK_TEXT[case.risk]} risk")
            joined = " and ".join(what)
            text = f"{joined[0].upper()}{joined[1:]} with both forces involved: {lead} leads, {how}"
            _add(found, case_id, "high_risk_joint", text)
        if case.next_review_due is not None and case.next_review_due < next_date:
            late = (today - case.next_review_due).days
            if late > 0:
                # Already late: "before the next meeting" would hide that it is overdue now.
                days = f"{late} day{'s' if late != 1 else ''}"
                when = f"Review {days} overdue (was due {case.next_review_due.isoformat()})"
            else:
                when = (
                    f"Review due {case.next_review_due.isoformat()}, before the next meeting "
                    f"({next_date.isoformat()})"
                )
            text = f"{when}; {lead} leads, {how}"
            _add(found, case_id, "review_due", text)


def _since_moment(since: date) -> datetime:
    """A UTC moment safely before the start of ``since`` in London (callers then compare days)."""
    return datetime.combine(since - timedelta(days=1), time(), tzinfo=UTC)


def _on_or_after(moment: datetime | None, since: date) -> bool:
    if moment is None:
        return False
    if moment.tzinfo is None:
        # SQLite hands stored UTC moments back naive.
        moment = moment.replace(tzinfo=UTC)
    return london_date(moment) >= since


def _force_phrase(name: str) -> str:
    """A force's name as said after "to": "the Metropolitan Police Service", "Kent Police"."""
    takes_the = name.startswith(("City of", "Metropolitan", "British Transport")) or (
        "Service" in name
    )
    return f"the {name}" if takes_the else name


def _rule_rejected(
    session: Session, forces: Sequence[str], names: dict[str, str], since: date, found: Reasons
) -> None:
    """``handoff_rejected``: a handoff between the meeting's forces rejected since ``since``.

    A case already listed for its open escalation is not listed again: that reason says it.
    """
    rows = session.execute(
        sa.select(
            col(Handoff.id),
            col(Handoff.case_id),
            col(Handoff.to_force_code),
            col(Handoff.closed_at),
            col(Handoff.rejection_reason),
        )
        .join(Case, col(Case.id) == col(Handoff.case_id))
        .where(
            col(Handoff.state) == "rejected",
            col(Handoff.from_force_code).in_(forces),
            col(Handoff.to_force_code).in_(forces),
            col(Handoff.closed_at) >= _since_moment(since),
            col(Case.status) == "open",
        )
        # The latest rejection is the one worth saying: later rows overwrite earlier ones.
        .order_by(col(Handoff.closed_at), col(Handoff.id))
    ).all()
    latest: dict[int, Any] = {}
    for row in rows:
        if _on_or_after(row.closed_at, since):
            latest[int(row.case_id)] = row
    for case_id, h in latest.items():
        if any(r["code"] == "open_escalation" for r in found.get(case_id, [])):
            continue
        on = h.closed_at if h.closed_at.tzinfo else h.closed_at.replace(tzinfo=UTC)
        why = f": {h.rejection_reason}" if h.rejection_reason else ""
        to = _force_phrase(names.get(h.to_force_code, h.to_force_code))
        text = f"Handoff {h.id} to {to} was rejected on {_day(london_date(on))}{why}"
        _add(found, case_id, "handoff_rejected", text)


def _rule_exceptions(
    session: Session, forces: Sequence[str], next_date: date, today: date, found: Reasons
) -> None:
    """``exception_review``: an unended exception whose review falls before the next meeting.

    One already past its review date is listed too (it has lapsed and needs deciding now).
    """
    rows = session.exec(
        select(ResponsibilityException)
        .join(Case, col(Case.id) == col(ResponsibilityException.case_id))
        .where(
            col(ResponsibilityException.ended_at).is_(None),
            col(ResponsibilityException.review_on) < next_date,
            col(ResponsibilityException.lead_force_code).in_(forces),
            col(ResponsibilityException.responsible_force_code).in_(forces),
            col(Case.status) == "open",
        )
        # The soonest review is the one worth saying: it is seen first and kept.
        .order_by(col(ResponsibilityException.review_on), col(ResponsibilityException.id))
    ).all()
    for exc in rows:
        if any(r["code"] == "exception_review" for r in found.get(exc.case_id, [])):
            continue
        created = exc.created_at if exc.created_at.tzinfo else exc.created_at.replace(tzinfo=UTC)
        agreed = f"Exception agreed {_day(london_date(created))} (reason: {exc.reason})"
        late = (today - exc.review_on).days
        if late > 0:
            text = f"{agreed} was due for review on {_day(exc.review_on)} ({_days(late)} overdue)"
        else:
            text = f"{agreed} is due for review on {_day(exc.review_on)}"
        _add(found, exc.case_id, "exception_review", text)


def _risk_words(value: Any) -> str:
    text = _RISK_TEXT.get(str(value), str(value).replace("_", " "))
    return text[:1].upper() + text[1:]


def _case_events(
    session: Session, forces: Sequence[str], since: date, kinds: Sequence[str], status: str
) -> list[CaseEvent]:
    """The events of these kinds recorded since ``since``, on cases led by the meeting's forces.

    Recorded, not effective: a change back-dated to before the last meeting was still not known
    to it.
    """
    rows = session.exec(
        select(CaseEvent)
        .join(Case, col(Case.id) == col(CaseEvent.case_id))
        .where(
            col(CaseEvent.kind).in_(kinds),
            col(CaseEvent.at) >= _since_moment(since),
            col(Case.status) == status,
            col(Case.lead_force_code).in_(forces),
        )
        .order_by(col(CaseEvent.case_id), col(CaseEvent.id))
    ).all()
    return [e for e in rows if _on_or_after(e.at, since)]


def _followed(
    session: Session,
    forces: Sequence[str],
    earlier_ids: Sequence[int],
    case_ids: set[int],
    found: Reasons,
) -> set[int]:
    """Those of ``case_ids`` that are the meeting's business, not one force's alone.

    Already on this agenda; living in a meeting force other than the lead; with a handoff
    (any state) between the meeting's forces; or on an earlier agenda of the same forces.
    """
    keep = case_ids & set(found)
    rest = case_ids - keep
    if not rest:
        return keep
    keep |= set(
        session.execute(
            sa.select(col(Case.id))
            .join(Address, col(Address.offender_id) == col(Case.offender_id))
            .where(
                col(Case.id).in_(rest),
                col(Address.valid_to).is_(None),
                col(Address.force_code).in_(forces),
                col(Address.force_code) != col(Case.lead_force_code),
            )
        ).scalars()
    )
    keep |= set(
        session.execute(
            sa.select(col(Handoff.case_id)).where(
                col(Handoff.case_id).in_(rest),
                col(Handoff.from_force_code).in_(forces),
                col(Handoff.to_force_code).in_(forces),
            )
        ).scalars()
    )
    if earlier_ids:
        keep |= set(
            session.execute(
                sa.select(col(AgendaItem.case_id)).where(
                    col(AgendaItem.case_id).in_(rest),
                    col(AgendaItem.meeting_id).in_(list(earlier_ids)),
                    col(AgendaItem.removed).is_(False),
                )
            ).scalars()
        )
    return keep


def _rule_risk_changed(
    session: Session,
    forces: Sequence[str],
    earlier_ids: Sequence[int],
    since: date,
    found: Reasons,
) -> None:
    """``risk_changed``: risk of serious harm or MAPPA level changed since ``since``.

    Several changes are said as one, from the first old value to the last new one; a change
    undone before the meeting says nothing.
    """
    changes: dict[int, dict[str, list[Any]]] = {}
    for event in _case_events(session, forces, since, ("risk", "mappa"), "open"):
        field = "risk" if event.kind == "risk" else "mappa_level"
        pair = event.changes.get(field)
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        on = event.effective_on or london_date(event.at)
        seen = changes.setdefault(event.case_id, {})
        if field in seen:
            seen[field][1:] = [pair[1], on]
        else:
            seen[field] = [pair[0], pair[1], on]
    joint = _followed(session, forces, earlier_ids, set(changes), found)
    for case_id, seen in changes.items():
        if case_id not in joint:
            continue
        parts = []
        if "risk" in seen and seen["risk"][0] != seen["risk"][1]:
            old, new, on = seen["risk"]
            parts.append(
                f"Risk of serious harm changed from {_risk_words(old)} to {_risk_words(new)} "
                f"on {_day(on)}"
            )
        if "mappa_level" in seen and seen["mappa_level"][0] != seen["mappa_level"][1]:
            old, new, on = seen["mappa_level"]
            if old is None:
                parts.append(f"MAPPA level set to {new} on {_day(on)}")
            else:
                parts.append(f"MAPPA level changed from {old} to {new} on {_day(on)}")
        if parts:
            _add(found, case_id, "risk_changed", "; ".join(parts))


def _rule_closed(
    session: Session,
    forces: Sequence[str],
    earlier_ids: Sequence[int],
    since: date,
    found: Reasons,
) -> None:
    """``case_closed``: a case closed since ``since``, for the record.

    Every other rule leaves closed cases out, so this is the only reason such a case has; the
    next meeting's ``since`` is later than the closure, so it is listed once.
    """
    events = _case_events(session, forces, since, ("close",), "closed")
    joint = _followed(session, forces, earlier_ids, {e.case_id for e in events}, found)
    for event in events:
        if event.case_id not in joint:
            continue
        # Events come oldest first: the latest closure overwrites any earlier one.
        found.pop(event.case_id, None)
        on = event.effective_on or london_date(event.at)
        why = event.reason or CLOSURE_LABELS.get(str(event.changes.get("closure_reason")), "")
        text = f"Case closed {_day(on)}" + (f": {why}" if why else "")
        found[event.case_id] = [{"code": "case_closed", "text": text}]


def _earlier_meetings(session: Session, meeting: Meeting) -> dict[int, Meeting]:
    return {
        int(m.id or 0): m for m in _same_forces(session, meeting.forces) if _earlier(m, meeting)
    }


def _carried_actions(session: Session, meeting: Meeting) -> list[ReviewAction]:
    earlier = _earlier_meetings(session, meeting)
    if not earlier:
        return []
    rows = list(
        session.exec(
            select(ReviewAction).where(
                ReviewAction.status == "open", col(ReviewAction.meeting_id).in_(list(earlier))
            )
        ).all()
    )
    # Soonest due first, undated last (the databases disagree on where NULL sorts).
    rows.sort(key=lambda a: (a.due_date is None, a.due_date or date.min, a.id or 0))
    return rows


def _rule_open_actions(session: Session, meeting: Meeting, found: Reasons) -> None:
    earlier = _earlier_meetings(session, meeting)
    carried = _carried_actions(session, meeting)
    # A closed case leaves the agenda even with an action still open (it stays in the pack's
    # list of carried actions and in its history).
    case_ids = {a.case_id for a in carried if a.case_id is not None}
    open_cases = (
        set(
            session.exec(
                select(Case.id).where(col(Case.id).in_(case_ids), col(Case.status) == "open")
            ).all()
        )
        if case_ids
        else set()
    )
    for action in carried:
        if action.case_id is None or action.case_id not in open_cases:
            continue
        at = earlier[action.meeting_id]
        due = f", due {action.due_date.isoformat()}" if action.due_date else ""
        text = (
            f"Open action {action.id} from the meeting of {at.meeting_date.isoformat()}: "
            f"{action.description!r} (owner {action.owner}{due})"
        )
        found.setdefault(action.case_id, [])
        found[action.case_id].append({"code": "open_action", "text": text})


def _select(
    session: Session,
    meeting: Meeting,
    *,
    since: date,
    next_date: date,
    today: date,
    near_m: float,
) -> Reasons:
    forces = list(meeting.forces)
    names = force_names(session)
    found: Reasons = {}
    _rule_handoffs(session, forces, names, today, found)
    _rule_escalations(session, forces, names, today, found)
    _rule_rejected(session, forces, names, since, found)
    _rule_exceptions(session, forces, next_date, today, found)
    _rule_crossed(session, forces, names, since, found)
    _rule_near_boundary(session, forces, names, near_m, found)
    _rule_joint(session, forces, names, next_date, today, found)
    earlier_ids = list(_earlier_meetings(session, meeting))
    _rule_risk_changed(session, forces, earlier_ids, since, found)
    _rule_open_actions(session, meeting, found)
    _rule_closed(session, forces, earlier_ids, since, found)
    for reasons in found.values():
        reasons.sort(key=lambda r: _REASON_ORDER.get(r["code"], len(REASON_CODES)))
    return found
