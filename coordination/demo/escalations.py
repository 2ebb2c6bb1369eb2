"""The demo's escalations: some rejected handoffs settled by their supervisors, some still open.

Every rejection in the demo opened an escalation (the workflow does that). Here, after the
year is played, the sending force's supervisors resolve them, in escalation id order so that no
random draw of the rest of the demo changes: alternately by an agreed exception (the case stays
with its lead force until a review date) and by a new request with new facts. Of the last three
weeks' rejections one in three stays open, some past its due date. Only City and Met
escalations are resolved (the demo has supervisors for those forces only).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from coordination.core.clock import utcnow
from coordination.demo.officers import _supervisor, _Team
from coordination.handoffs.escalations import record_exception
from coordination.handoffs.resolutions import resolve_by_new_request
from coordination.models import Escalation
from geo.forces import CITY_OF_LONDON, METROPOLITAN

#: Only rejections this recent may still be open at the end of the demo.
_STILL_OPEN_DAYS = 21
_EXCEPTION_REASONS = (
    "Agreed with the receiving force: the person is due to move back within the month",
    "Agreed: MAPPA arrangements stay with the current force until the next level review",
    "Agreed: the new address is temporary (hostel placement) and the lead stays put",
)
_NEW_FACTS = (
    "Tenancy agreement now seen and the address verified at a home visit",
    "Council tax record and GP registration now confirm the new address",
    "The person's probation officer confirmed the move in writing",
)


def resolve_demo_escalations(
    session: Session, *, teams: dict[tuple[str, str | None], _Team], today: date
) -> dict[str, int]:
    """Resolve the demo's escalations but a recent few; return how many, by resolution.

    Exceptions are agreed two days after the rejection and reviewed 60 to 120 days after
    ``today``, so none has expired; new requests are made in the demo's last few days.
    """
    rows = session.exec(
        select(Escalation).where(Escalation.state == "open").order_by(col(Escalation.id))
    ).all()
    done = {"exception": 0, "new_request": 0, "open": 0}
    now = utcnow()
    end_of_today = datetime.combine(today, time(17), tzinfo=UTC)
    for n, row in enumerate(list(rows)):
        recent = (today - row.opened_at.date()).days <= _STILL_OPEN_DAYS
        if row.force_code not in (CITY_OF_LONDON, METROPOLITAN) or (recent and n % 3 == 2):
            # A supervisors' queue holds the last few weeks' rejections, not a year's: older
            # ones were settled long ago in any force that works its queue.
            done["open"] += 1
            continue
        supervisor = _supervisor(teams, row.force_code, None)
        # An exception is agreed two days on; a new request waits for the new facts, so it is
        # made in the last few days (its clocks then run from a recent request). Never past the
        # demo's last day or now, nor before the rejection.
        latest = min(now, end_of_today)
        wanted = row.opened_at + timedelta(days=2) if n % 3 == 0 else latest - timedelta(days=n % 4)
        when = max(row.opened_at, min(wanted, latest))
        escalation_id = int(row.id or 0)
        if n % 3 == 0:
            record_exception(
                session,
                actor=supervisor,
                escalation_id=escalation_id,
                reason=_EXCEPTION_REASONS[n % len(_EXCEPTION_REASONS)],
                review_on=today + timedelta(days=60 + n % 61),
                now=when,
            )
            done["exception"] += 1
        else:
            resolve_by_new_request(
                session,
                actor=supervisor,
                escalation_id=escalation_id,
                new_facts=_NEW_FACTS[n % len(_NEW_FACTS)],
                now=when,
            )
            done["new_request"] += 1
    return done
