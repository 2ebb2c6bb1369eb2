"""The agenda: generating it from the rules, and adding, removing and moving items by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from coordination.core.clock import london_date
from coordination.core.validate import acting, aware_now, plain_text
from coordination.errors import ConflictError, InputError, NotFoundError
from coordination.ledger.chain import record_event
from coordination.models import (
    AgendaItem,
    Meeting,
    ReviewDecision,
)
from coordination.review.agenda_rules import _select
from coordination.review.common import (
    LOOKBACK_DAYS,
    OGRS3_WEIGHT_CAP,
    _lock_meeting,
    _next_meeting_date,
    _previous_meeting,
    _require_item,
    _require_meeting,
    _touch,
    _writable,
)
from coordination.review.facts import _facts_for, _load_facts, _score
from coordination.review.scoring import PriorityWeights
from coordination.review.views import (
    AgendaItemView,
    _active_views,
    _item_views,
    _meeting_items,
    _renumber,
)
from coordination.security.permissions import require

# --- the agenda -----------------------------------------------------------------------------------


def generate_agenda(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    near_boundary_m: float = 100.0,
    today: date | None = None,
    weights: PriorityWeights | None = None,
    now: datetime | None = None,
) -> list[AgendaItemView]:
    """Generate (or refresh) a meeting's agenda from what happened since the last meeting.

    Parameters
    ----------
    session
        The session of the change (the caller commits).
    actor
        Who generated it (audit log).
    meeting_id
        The meeting; planned or held (a closed meeting is refused).
    near_boundary_m
        A residence at most this far from a force boundary is ``near_boundary``.
    today
        The day deadlines and reviews are judged on (overdue); default today in London.
    weights
        Priority weights; default from settings.
    now
        The time of the change (aware); default now.

    Returns
    -------
    list[AgendaItemView]
        The items on the agenda (not removed), in agenda order. Audit event
        ``agenda.generate`` with the cases added and dropped.

    Raises
    ------
    NotFoundError
        No such meeting.
    ConflictError
        The meeting is closed.
    InputError
        A negative distance.
    """
    actor = acting(actor)
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)
    now = aware_now(now)
    if not near_boundary_m >= 0:
        raise InputError(f"near_boundary_m must be 0 or more, not {near_boundary_m}")
    today = today or london_date(now)
    weights = weights or PriorityWeights.from_settings()
    meeting = _lock_meeting(session, meeting_id)
    _writable(meeting)
    previous = _previous_meeting(session, meeting)
    since = (
        previous.meeting_date
        if previous is not None
        else meeting.meeting_date - timedelta(days=LOOKBACK_DAYS)
    )
    next_date = _next_meeting_date(session, meeting)
    found = _select(
        session, meeting, since=since, next_date=next_date, today=today, near_m=near_boundary_m
    )

    items = _meeting_items(session, meeting_id)
    by_case = {i.case_id: i for i in items}
    decided = {
        d
        for d in session.exec(
            select(ReviewDecision.agenda_item_id)
            .join(AgendaItem, col(AgendaItem.id) == ReviewDecision.agenda_item_id)
            .where(AgendaItem.meeting_id == meeting_id)
        ).all()
    }
    kept: list[AgendaItem] = []
    new: list[AgendaItem] = []
    dropped: list[int] = []
    for item in items:
        manual = [r for r in item.reasons if r.get("code") == "manual"]
        if item.case_id in found:
            item.reasons = [*found[item.case_id], *manual]
            kept.append(item)
        elif item.added_manually or item.removed or item.id in decided:
            # Added or removed by hand, or already decided: the people's record stays.
            if item.added_manually:
                item.reasons = manual
            kept.append(item)
        else:
            dropped.append(item.case_id)
            session.delete(item)
    for case_id, reasons in found.items():
        if case_id not in by_case:
            item = AgendaItem(meeting_id=meeting_id, case_id=case_id, position=0, reasons=reasons)
            session.add(item)
            kept.append(item)
            new.append(item)

    facts = _load_facts(session, [i.case_id for i in kept])
    for item in kept:
        item.score, item.score_parts = _score(
            facts[item.case_id], on=meeting.meeting_date, today=today, weights=weights
        )
    _renumber(session, meeting_id, kept, new)
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="agenda.generate",
        entity_type="meeting",
        entity_id=str(meeting_id),
        details={
            "since": since.isoformat(),
            "next_meeting": next_date.isoformat(),
            "near_boundary_m": near_boundary_m,
            "today": today.isoformat(),
            "items": sum(1 for i in kept if not i.removed),
            "added_case_ids": sorted(i.case_id for i in new),
            "dropped_case_ids": sorted(dropped),
            "weights": {
                "risk": weights.risk,
                "mappa": weights.mappa,
                "ogrs3": min(weights.ogrs3, OGRS3_WEIGHT_CAP),
                "overdue": weights.overdue,
                "overdue_cap_days": weights.overdue_cap_days,
            },
        },
        # The agenda brings together what each force holds on its cases (DPA 2018 s.62).
        category="combination",
    )
    return _item_views(session, meeting, [i for i in kept if not i.removed], facts, actor=actor)


def _item_for_update(
    session: Session, item_id: int, *, expected_version: int | None = None
) -> tuple[AgendaItem, Meeting]:
    peek = session.get(AgendaItem, item_id)
    if peek is None:
        raise NotFoundError(f"Agenda item {item_id} does not exist")
    meeting = _lock_meeting(session, peek.meeting_id, expected_version=expected_version)
    _writable(meeting)
    item = session.get(AgendaItem, item_id, populate_existing=True)
    if item is None:
        raise ConflictError(f"Agenda item {item_id} was removed by someone else; reload")
    return item, meeting


def add_item(
    session: Session,
    *,
    actor: str,
    meeting_id: int,
    case_id: int,
    reason: str,
    today: date | None = None,
    weights: PriorityWeights | None = None,
    now: datetime | None = None,
) -> AgendaItemView:
    """Add a case to a meeting's agenda by hand (or put back a removed one).

    Parameters
    ----------
    reason
        Why it is added; required, kept as a ``manual`` reason.
    today, weights, now
        As for :func:`generate_agenda` (the new item is scored like the others).

    Returns
    -------
    AgendaItemView
        The item, slotted in by score. Audit event ``agenda.add``.

    Raises
    ------
    InputError
        No reason.
    NotFoundError
        No such meeting or case.
    ConflictError
        The case is already on the agenda, or the meeting is closed.
    """
    actor = acting(actor)
    _require_meeting(session, actor=actor, action="meeting.edit", meeting_id=meeting_id)
    # Putting a case on a joint agenda shows it to the other forces: only a case the actor
    # may see.
    require(session, actor=actor, action="case.view", case_id=case_id)
    now = aware_now(now)
    reason = " ".join(plain_text(reason, "the reason", multiline=True).split())
    if not reason:
        raise InputError(f"Adding case {case_id} to the agenda needs a reason")
    today = today or london_date(now)
    weights = weights or PriorityWeights.from_settings()
    meeting = _lock_meeting(session, meeting_id)
    _writable(meeting)
    facts = _facts_for(session, case_id)
    items = _meeting_items(session, meeting_id)
    manual = {"code": "manual", "text": f"Added by {actor}: {reason}"}
    item = next((i for i in items if i.case_id == case_id), None)
    restored = False
    if item is not None and not item.removed:
        raise ConflictError(f"Case {case_id} is already on the agenda (item {item.id})")
    if item is None:
        item = AgendaItem(meeting_id=meeting_id, case_id=case_id, position=0, reasons=[manual])
        session.add(item)
        items.append(item)
    else:
        restored = True
        item.removed = False
        item.removed_reason = None
        others = [r for r in item.reasons if r.get("code") != "manual"]
        item.reasons = [*others, manual]
    item.added_manually = True
    item.added_reason = reason
    item.score, item.score_parts = _score(
        facts, on=meeting.meeting_date, today=today, weights=weights
    )
    _renumber(session, meeting_id, items, [item])
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="agenda.add",
        entity_type="meeting",
        entity_id=str(meeting_id),
        details={
            "item_id": item.id,
            "case_id": case_id,
            "reason": reason,
            "restored": restored,
            "position": item.position,
        },
        category="combination",
    )
    return _item_views(session, meeting, [item], actor=actor)[0]


def remove_item(
    session: Session,
    *,
    actor: str,
    item_id: int,
    reason: str,
    now: datetime | None = None,
) -> AgendaItemView:
    """Take an item off the agenda, with a reason (the item is kept, marked removed).

    Returns
    -------
    AgendaItemView
        The removed item. Audit event ``agenda.remove``. Regenerating keeps it removed.

    Raises
    ------
    InputError
        No reason.
    NotFoundError
        No such item.
    ConflictError
        Already removed, or the meeting is closed.
    """
    actor = acting(actor)
    _require_item(session, actor=actor, item_id=item_id)
    now = aware_now(now)
    reason = " ".join(plain_text(reason, "the reason", multiline=True).split())
    if not reason:
        raise InputError(f"Removing agenda item {item_id} needs a reason")
    item, meeting = _item_for_update(session, item_id)
    if item.removed:
        raise ConflictError(f"Agenda item {item_id} is already removed ({item.removed_reason})")
    item.removed = True
    item.removed_reason = reason
    items = _meeting_items(session, meeting.id or 0)
    # Keep the others where they are: removal is not a reason to re-sort the agenda.
    active = sorted((i for i in items if not i.removed), key=lambda i: (i.position, i.id or 0))
    rest = sorted((i for i in items if i.removed), key=lambda i: (i.position, i.id or 0))
    for position, other in enumerate([*active, *rest], start=1):
        other.position = position
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="agenda.remove",
        entity_type="meeting",
        entity_id=str(meeting.id),
        details={"item_id": item_id, "case_id": item.case_id, "reason": reason},
        category="alteration",
    )
    return _item_views(session, meeting, [item], actor=actor)[0]


def move_item(
    session: Session,
    *,
    actor: str,
    item_id: int,
    position: int,
    now: datetime | None = None,
) -> list[AgendaItemView]:
    """Move an item to a 1-based position on the agenda; from then on this order wins.

    Returns
    -------
    list[AgendaItemView]
        The agenda (not removed items) in its new order. Audit event ``agenda.move``.

    Raises
    ------
    InputError
        A position outside 1..number of items.
    NotFoundError
        No such item.
    ConflictError
        The item is removed, or the meeting is closed.
    """
    actor = acting(actor)
    _require_item(session, actor=actor, item_id=item_id)
    now = aware_now(now)
    item, meeting = _item_for_update(session, item_id)
    if item.removed:
        raise ConflictError(f"Agenda item {item_id} is removed: add it back before moving it")
    items = _meeting_items(session, meeting.id or 0)
    active = sorted((i for i in items if not i.removed), key=lambda i: (i.position, i.id or 0))
    if isinstance(position, bool) or not isinstance(position, int):
        raise InputError(f"A position is a whole number, not {position!r}")
    if not 1 <= position <= len(active):
        raise InputError(f"Position {position} is off the agenda: use 1 to {len(active)}")
    before = active.index(item) + 1
    active.remove(item)
    active.insert(position - 1, item)
    rest = sorted((i for i in items if i.removed), key=lambda i: (i.position, i.id or 0))
    for number, other in enumerate([*active, *rest], start=1):
        other.position = number
    session.flush()
    _touch(session, meeting, actor=actor, now=now)
    record_event(
        session,
        actor=actor,
        action="agenda.move",
        entity_type="meeting",
        entity_id=str(meeting.id),
        details={"item_id": item_id, "case_id": item.case_id, "from": before, "to": position},
        category="alteration",
    )
    return _active_views(session, meeting, actor=actor)
