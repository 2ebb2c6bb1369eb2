"""Joint review meetings: the agenda and its reasons, priority, decisions and actions.

Forces that share offenders (by default the City of London Police and the Metropolitan Police
Service) meet to agree who manages whom. A :class:`~coordination.models.Meeting` names the forces
taking part (two or more ONS codes, sorted); its agenda is generated from what happened since the
last meeting of the *same* forces (or the last 90 days when there was none). Each agenda item is
one case with the reasons it is there, as ``{"code", "text"}``:

``handoff_pending`` / ``handoff_overdue``
    The case has an open handoff between two of the meeting's forces (overdue: its current
    deadline, :func:`coordination.handoffs.workflow.current_deadline`, has passed).
``crossed_boundary``
    The offender's residence moved from one of the meeting's forces to another on or after the
    last meeting's date (the latest earlier meeting of exactly the same forces, whatever its
    status; a move dated that day counts, one dated the day before does not).
``near_boundary``
    The current residence lies within ``near_boundary_m`` of a force boundary (the distance
    stored on the address row), lives in one of the meeting's forces, and the case is led by one
    of them. When the active boundary set has the meeting's force areas, the boundary must be
    with *another of the meeting's forces* (a Met resident by the Surrey border is not a City–Met
    matter).
``high_risk_joint``
    MAPPA level 2 or 3, or high / very high risk, with both forces involved: one of the meeting's
    forces leads and the residence, or an open handoff, involves another of them.
``review_due``
    With both forces involved as above, the case's review falls before the next meeting (the
    earliest later planned meeting of the same forces, else meeting date + 28 days).
``open_action``
    An open action from an earlier meeting of the same forces is about the case; open actions
    carry over by themselves because every generation looks for them.
``manual``
    Someone added the case by hand, with a reason.

Rules apply to open cases led by one of the meeting's forces (except ``open_action``, which
follows the action). Regenerating refreshes reasons and scores and keeps manual additions and
removals; items that no longer match a rule disappear unless added by hand, removed by hand (kept
as a record) or decided.

**Priority** is a transparent sum with its parts kept in ``score_parts``: risk of serious harm,
MAPPA level, OGRS3 (two-year probability; its weight is capped, so it never decides alone) and days
overdue (capped), weighted by settings (``CROSSFORCE_PRIORITY_WEIGHT_*``). The agenda is ordered by
score until someone moves an item; from then on the people's order wins and new items are slotted
in by score.

Every change locks the meeting row (optimistic ``version``; a row lock on PostgreSQL) and records
an audit event in the same transaction. A closed meeting is read-only, except that its actions can
still be marked done or cancelled.
"""
