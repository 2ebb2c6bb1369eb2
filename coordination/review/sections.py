"""How a meeting works through its agenda: the items it reaches, grouped by reason, filtered.

A joint meeting has time for a few dozen cases, not the hundreds a busy quarter puts on the
agenda. The first :attr:`~coordination.core.settings.Settings.agenda_size` items in agenda order
(priority order unless someone moved an item by hand) are the meeting's agenda; the others are
"not reached" and stay listed, with their scores, so nobody is silently dropped and the next
meeting picks them up. Everything here is a pure function of agenda views: the page and the pack
call the same ones, so they always agree on what was reached.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from coordination.review.common import REASON_CODES

# How people name each reason when they group the agenda.
REASON_HEADINGS: dict[str, str] = {
    "handoff_overdue": "Handoffs past their deadline",
    "open_escalation": "Rejected handoffs, escalated",
    "handoff_rejected": "Handoffs rejected since the last meeting",
    "handoff_pending": "Handoffs in progress",
    "exception_review": "Exceptions due for review",
    "crossed_boundary": "Moved across the force boundary",
    "near_boundary": "Living near the force boundary",
    "high_risk_joint": "High risk or MAPPA, jointly managed",
    "risk_changed": "Risk or MAPPA level changed",
    "review_due": "Reviews due",
    "open_action": "Open actions from earlier meetings",
    "case_closed": "Closed since the last meeting",
    "manual": "Added by hand",
}
NO_REASON = "other"
NO_BCU = "none"


@dataclass(frozen=True)
class AgendaSections:
    """An agenda split at the meeting's size.

    Attributes
    ----------
    reached
        The items the meeting works through, in agenda order: the first ``size``, and any
        later one it decided on.
    not_reached
        The items after them, in agenda order: listed with their scores, carried to the next
        meeting by the agenda rules.
    size
        The size used.
    """

    reached: tuple[Any, ...]
    not_reached: tuple[Any, ...]
    size: int


def split_agenda(
    items: Sequence[Any],
    *,
    size: int,
    decided: Callable[[Any], bool] | None = None,
) -> AgendaSections:
    """Split agenda items (not removed) into reached and not reached.

    Parameters
    ----------
    items
        Agenda items, removed ones excluded; each has a ``position``.
    size
        How many the meeting reaches (at least 1).
    decided
        Whether an item has a decision; default: its ``decision`` is set. A decided item is
        always reached (the meeting discussed it), wherever it sits.

    Returns
    -------
    AgendaSections
        The first ``size`` items and any decided later ones; the rest, in agenda order.

    Raises
    ------
    ValueError
        ``size`` below 1.
    """
    if size < 1:
        raise ValueError(f"an agenda reaches at least one item, not {size}")
    has_decision = decided or (lambda item: getattr(item, "decision", None) is not None)
    ordered = sorted(items, key=lambda i: i.position)
    reached = [i for n, i in enumerate(ordered) if n < size or has_decision(i)]
    later = [i for n, i in enumerate(ordered) if n >= size and not has_decision(i)]
    return AgendaSections(tuple(reached), tuple(later), size)


def main_reason(item: Any) -> str:
    """The reason an item is grouped under: its first in :data:`REASON_CODES` order."""
    codes = [str(code) for code in item.reason_codes if code in REASON_HEADINGS]
    if not codes:
        return NO_REASON
    return min(codes, key=REASON_CODES.index)


def reason_heading(code: str) -> str:
    """The heading for a reason code (``"Reviews due"``); an unknown code reads "Other"."""
    return REASON_HEADINGS.get(code, "Other")


def filter_agenda(
    items: Sequence[Any],
    *,
    bcus: Collection[str] | None = None,
    reasons: Collection[str] | None = None,
) -> list[Any]:
    """The items living in one of ``bcus`` and holding one of ``reasons`` (either may be empty).

    Parameters
    ----------
    items
        Agenda views.
    bcus
        BCU codes to keep; :data:`NO_BCU` keeps items with no BCU (outside the Met, no fixed
        abode, withheld). Empty or ``None``: every item.
    reasons
        Reason codes to keep: an item is kept when any of its reasons is one of them. Empty or
        ``None``: every item.

    Returns
    -------
    list
        The kept items, in the order given.
    """
    kept = []
    for item in items:
        bcu = item.residence_bcu_code or NO_BCU
        if bcus and bcu not in bcus:
            continue
        if reasons and not set(item.reason_codes) & set(reasons):
            continue
        kept.append(item)
    return kept


def group_by_reason(items: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    """Items grouped under their main reason, groups in reason order, items in agenda order.

    Parameters
    ----------
    items
        Agenda views.

    Returns
    -------
    list[tuple[str, list]]
        ``(reason code, items)`` for each reason that has items.
    """
    groups: dict[str, list[Any]] = {}
    for item in sorted(items, key=lambda i: i.position):
        groups.setdefault(main_reason(item), []).append(item)
    order = {code: i for i, code in enumerate((*REASON_CODES, NO_REASON))}
    return sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order)))
