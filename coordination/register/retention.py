"""Retention: erase a person's personal data once their cases have been closed long enough.

An offender is **due for erasure** when they have at least one case, every case is closed with a
closure time, they are not erased yet, and the latest closure is more than
``Settings.retention_years_after_closure`` years old (default 6: the review period of MOPI group 3,
"all other offences"; a force whose policy keeps MAPPA or other serious cases longer sets a longer
period). "More than" means the erasure happens on the day after the anniversary: a case closed on
2025-03-14 with a six-year period is erased from 2031-03-15.

**Erasing** keeps every row, so counts, handoff flows and meeting history stay true, and removes
what identifies the person:

- names become ``"ERASED"``; aliases are emptied;
- the date of birth becomes the 1st of January of the birth year: the year keeps age-band
  statistics (and OGRS3 inputs stay meaningful) while the exact date, a strong identifier, goes;
- the PNC ID becomes the person's stable pseudonym (``coordination.pseudonyms``, ``P-XXXXXXXX``;
  with ``-<id>`` appended in the unlikely case another erased person already has it, because the
  column is unique);
- every address loses its postcode, easting, northing and distance to the boundary; the state
  and the force, district, BCU and ward codes stay (no finer than ward);
- the free text of the person's cases, handoffs and meeting records (responsibility explanations,
  handoff reasons, decision notes, action descriptions, agenda reasons) loses their names, PNC ID,
  postcodes and grid references;
- ``offender.erased_at`` is set, so a second run does nothing.

Sex and the case facts (programme, risk, offence category, dates, forces) are kept: they are not
identifying on their own and the statistics need them.

The audit log is never changed (it is append-only and hash-chained). Each erasure adds one event
(category ``erasure``, the offender's id in ``offender_ids``, the pseudonym in the details, no
names); events written before the erasure keep what they held, and
:func:`pseudonymise_details` is what a reader of the log applies to them for an erased person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from coordination.ledger.chain import record_event
from coordination.ledger.redact import Cleaner, events_about, redact_events
from coordination.models import (
    Address,
    AgendaItem,
    Case,
    CaseAccess,
    CaseAssignment,
    Handoff,
    Offender,
    ReviewAction,
    ReviewDecision,
)
from coordination.security.permissions import require
from coordination.security.pseudonyms import (
    ERASED,
    offender_pseudonym,
    pseudonymise_details,
    scrub_text,
)

__all__ = [
    "ERASED",
    "Candidate",
    "RetentionReport",
    "apply_retention",
    "erased_date_of_birth",
    "retention_candidates",
    "retention_cutoff",
]


@dataclass(frozen=True)
class Candidate:
    """One person due for erasure; nothing here identifies them.

    Attributes
    ----------
    offender_id
        The register id (kept after erasure).
    pseudonym
        The stable pseudonym (``P-XXXXXXXX``) analysts know them by.
    cases
        How many cases they have (all closed).
    latest_closure
        The date (UTC) the last of their cases closed.
    retained_until
        The last day of the retention period; erasure is due the day after.
    """

    offender_id: int
    pseudonym: str
    cases: int
    latest_closure: date
    retained_until: date


@dataclass(frozen=True)
class RetentionReport:
    """What :func:`apply_retention` erased.

    Attributes
    ----------
    today
        The date the period was measured to.
    retention_years
        The period applied.
    erased
        The people erased (empty when nothing was due).
    addresses
        Addresses whose postcode and coordinates were removed.
    texts
        Free-text fields (explanations, reasons, notes) that had identifiers removed.
    audit_event_ids
        The erasure events written, one per person.
    """

    today: date
    retention_years: int
    erased: list[Candidate]
    addresses: int
    texts: int
    audit_event_ids: list[int]

    @property
    def offenders(self) -> int:
        """How many people were erased."""
        return len(self.erased)

    def json_extra(self) -> dict[str, Any]:
        """JSON adds how many people were erased."""
        return {"offenders": self.offenders}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def retention_cutoff(today: date, years: int) -> date:
    """Return the latest closure date still inside the period on ``today``.

    A person whose last case closed *before* this date is due for erasure.
    """
    return _years_before(today, years)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def erased_date_of_birth(born: date) -> date:
    """Return the date of birth kept after erasure: the 1st of January of the birth year."""
    return date(born.year, 1, 1)


def _period(years: int | None) -> int:
    if years is not None:
        return years
    from coordination.core.settings import get_settings

    return get_settings().retention_years_after_closure


def _candidates(session: Session, today: date, years: int) -> list[Candidate]:
    still_open = sa.func.sum(
        sa.case(
            (sa.or_(col(Case.status) != "closed", col(Case.closed_at).is_(None)), 1),
            else_=0,
        )
    )
    latest = sa.func.max(Case.closed_at).label("latest")
    query = (
        select(Offender.id, sa.func.count(col(Case.id)), latest)
        .join(Case, col(Case.offender_id) == col(Offender.id))
        .where(col(Offender.erased_at).is_(None))
        .group_by(col(Offender.id))
        .having(still_open == 0)
        .order_by(col(Offender.id))
    )
    cutoff = retention_cutoff(today, years)
    found: list[Candidate] = []
    for offender_id, cases, closed_at in session.exec(query).all():
        if closed_at is None:
            continue
        if isinstance(closed_at, str):  # SQLite without the column type on an aggregate
            closed_at = datetime.fromisoformat(closed_at)
        if closed_at.tzinfo is None:
            closed_at = closed_at.replace(tzinfo=UTC)
        closed = closed_at.astimezone(UTC).date()
        if closed < cutoff and offender_id is not None:
            found.append(
                Candidate(
                    offender_id=offender_id,
                    pseudonym=offender_pseudonym(offender_id),
                    cases=int(cases),
                    latest_closure=closed,
                    retained_until=_years_after(closed, years),
                )
            )
    return found


def retention_candidates(
    session: Session, *, actor: str, today: date | None = None, years: int | None = None
) -> list[Candidate]:
    """List the people whose personal data is due for erasure (reads only).

    Parameters
    ----------
    session
        Open session.
    actor
        Who asks (an admin, or a ``system:`` actor).
    today
        The date to measure to (default: today, UTC).
    years
        The retention period (default: ``Settings.retention_years_after_closure``).

    Returns
    -------
    list[Candidate]
        By offender id; ids, dates and pseudonyms only.

    Raises
    ------
    AccessDeniedError
        The actor may not run retention (audited).
    """
    require(session, actor=actor, action="retention.run", entity_type="retention")
    return _candidates(session, today or datetime.now(UTC).date(), _period(years))


def _scrubber(offender: Offender) -> re.Pattern[str] | None:
    """A pattern matching the person's own names and PNC ID as whole words."""
    born = offender.date_of_birth
    words = {
        offender.first_name,
        offender.last_name,
        offender.pnc_id,
        *offender.aliases,
        born.isoformat(),
        born.strftime("%d/%m/%Y"),
    }
    words = {w for w in words if w and w != ERASED}
    # Longest first, so "Ann Marie" goes before "Ann".
    parts = [re.escape(w) for w in sorted(words, key=len, reverse=True)]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def _scrub_case_texts(
    session: Session,
    case_ids: list[int],
    scrub: Callable[[Any, str], None],
    names: re.Pattern[str] | None,
) -> None:
    """Take the person out of every free text kept about their cases."""
    for handoff in session.exec(select(Handoff).where(col(Handoff.case_id).in_(case_ids))).all():
        scrub(handoff, "reason")
        scrub(handoff, "rejection_reason")
    items = session.exec(select(AgendaItem).where(col(AgendaItem.case_id).in_(case_ids))).all()
    for item in items:
        scrub(item, "added_reason")
        scrub(item, "removed_reason")
        reasons = [
            {**r, "text": scrub_text(r.get("text"), names)} if isinstance(r, dict) else r
            for r in item.reasons
        ]
        if reasons != item.reasons:
            item.reasons = reasons
            session.add(item)
    item_ids = [i.id for i in items]
    decisions = select(ReviewDecision).where(col(ReviewDecision.agenda_item_id).in_(item_ids))
    for decision in session.exec(decisions).all():
        scrub(decision, "note")
    for action in session.exec(
        select(ReviewAction).where(col(ReviewAction.case_id).in_(case_ids))
    ).all():
        scrub(action, "description")
    for assignment in session.exec(
        select(CaseAssignment).where(col(CaseAssignment.case_id).in_(case_ids))
    ).all():
        scrub(assignment, "reason")
    for access in session.exec(
        select(CaseAccess).where(col(CaseAccess.case_id).in_(case_ids))
    ).all():
        scrub(access, "reason")


def _erase_one(
    session: Session, offender: Offender, *, actor: str, now: datetime
) -> tuple[int, int]:
    """Erase one person's personal data in the session; return (addresses, texts) changed."""
    if offender.id is None:
        raise RuntimeError("offender.id is missing")
    names = _scrubber(offender)
    texts = 0

    def scrub(row: Any, field: str) -> None:
        nonlocal texts
        before = getattr(row, field)
        after = scrub_text(before, names)
        if after != before:
            setattr(row, field, after)
            session.add(row)
            texts += 1

    cases = session.exec(select(Case).where(Case.offender_id == offender.id)).all()
    for case in cases:
        before = case.responsibility_explanation
        scrub(case, "responsibility_explanation")
        if case.responsibility_explanation != before:
            case.updated_at, case.updated_by = now, actor
    _scrub_case_texts(session, [int(c.id or 0) for c in cases], scrub, names)

    addresses = session.exec(select(Address).where(Address.offender_id == offender.id)).all()
    for address in addresses:
        address.postcode = None
        address.easting = None
        address.northing = None
        address.distance_to_boundary_m = None
        session.add(address)

    pseudonym = offender_pseudonym(offender.id)
    taken = session.exec(
        select(Offender.id).where(Offender.pnc_id == pseudonym, Offender.id != offender.id)
    ).first()
    offender.pnc_id = pseudonym if taken is None else f"{pseudonym}-{offender.id}"
    offender.first_name = ERASED
    offender.last_name = ERASED
    offender.aliases = []
    offender.date_of_birth = erased_date_of_birth(offender.date_of_birth)
    offender.erased_at = now
    session.add(offender)
    session.flush()
    return len(addresses), texts


def _records_of(session: Session, offender_id: int) -> list[tuple[str, list[int]]]:
    """The person's other records, by the entity types the audit log names them with."""
    case_ids = [
        int(i)
        for i in session.exec(select(Case.id).where(Case.offender_id == offender_id)).all()
        if i is not None
    ]
    handoffs = session.exec(select(Handoff.id).where(col(Handoff.case_id).in_(case_ids))).all()
    items = session.exec(select(AgendaItem.id).where(col(AgendaItem.case_id).in_(case_ids))).all()
    actions = session.exec(
        select(ReviewAction.id).where(col(ReviewAction.case_id).in_(case_ids))
    ).all()
    addresses = session.exec(select(Address.id).where(Address.offender_id == offender_id)).all()
    return [
        ("case", case_ids),
        ("handoff", [int(i) for i in handoffs if i is not None]),
        ("agenda_item", [int(i) for i in items if i is not None]),
        ("review_action", [int(i) for i in actions if i is not None]),
        ("address", [int(i) for i in addresses if i is not None]),
    ]


def _cleaner(offender_id: int, names: re.Pattern[str] | None) -> Cleaner:
    """Take one erased person out of an audit event's free text."""

    def clean(
        details: dict[str, Any] | None, justification: str | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        cleaned = pseudonymise_details(details, offender_id=offender_id, names=names)
        return cleaned, scrub_text(justification, names)

    return clean


def apply_retention(
    session: Session,
    *,
    actor: str,
    today: date | None = None,
    years: int | None = None,
    now: datetime | None = None,
) -> RetentionReport:
    """Erase the personal data of everyone due for erasure, and log each erasure.

    All in the caller's transaction: it commits or rolls back as one. A second run finds nobody
    (``erased_at`` is set) and writes nothing.

    Parameters
    ----------
    session
        Open session.
    actor
        Who erases (an admin, or ``system:retention``); written to the audit log.
    today
        The date to measure to (default: today, UTC).
    years
        The retention period (default: ``Settings.retention_years_after_closure``).
    now
        The erasure time stored in ``erased_at`` (default: now).

    Returns
    -------
    RetentionReport

    Raises
    ------
    AccessDeniedError
        The actor may not run retention (audited).
    """
    require(session, actor=actor, action="retention.run", entity_type="retention")
    years = _period(years)
    now = now or datetime.now(UTC)
    today = today or now.astimezone(UTC).date()
    due = _candidates(session, today, years)
    addresses = texts = 0
    event_ids: list[int] = []
    for candidate in due:
        offender = session.get(Offender, candidate.offender_id)
        if offender is None:
            raise RuntimeError("offender is missing")
        # What identifies the person, taken before their record is erased.
        names = _scrubber(offender)
        needles = [offender.pnc_id, f"{offender.first_name} {offender.last_name}"]
        entities = _records_of(session, candidate.offender_id)
        n_addresses, n_texts = _erase_one(session, offender, actor=actor, now=now)
        addresses += n_addresses
        texts += n_texts
        about = events_about(
            session, offender_id=candidate.offender_id, entities=entities, needles=needles
        )
        event = record_event(
            session,
            actor=actor,
            action="offender.erase",
            entity_type="offender",
            entity_id=str(candidate.offender_id),
            details={
                "pseudonym": candidate.pseudonym,
                "cases": candidate.cases,
                "latest_closure": candidate.latest_closure.isoformat(),
                "retention_years": years,
                "addresses": n_addresses,
                "texts": n_texts,
                "redacted_events": about,
            },
            category="erasure",
            offender_ids=[candidate.offender_id],
        )
        if event.id is None:
            raise RuntimeError("event.id is missing")
        redact_events(
            session,
            event_ids=about,
            erasure_event_id=event.id,
            clean=_cleaner(candidate.offender_id, names),
            now=now,
        )
        event_ids.append(event.id)
    return RetentionReport(
        today=today,
        retention_years=years,
        erased=due,
        addresses=addresses,
        texts=texts,
        audit_event_ids=event_ids,
    )
