"""Helpers for the Joint review page: tables, texts and the pack export.

The page stays thin: it reads widgets, calls one service function through ``ui.session.run``
(which opens a session, commits on success and shows errors by type), and hands the answer to a
renderer here. Everything per user lives in ``st.session_state``; nothing here caches anything
shared between users.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from coordination.core.db import get_engine, session_scope
from coordination.core.settings import get_settings
from coordination.packs.export import export_pack

log = logging.getLogger("crossforce.ui.review")

FORMATS: tuple[tuple[str, str, str], ...] = (
    ("pdf", "PDF", "application/pdf"),
    ("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("md", "Markdown", "text/markdown"),
)

DECISION_LABELS: dict[str, str] = {
    "retain": "Retain",
    "transfer": "Transfer to a named force",
    "joint": "Joint management",
    "escalate": "Escalate",
    "nfa": "No further action",
    "other": "Other",
}
STATUS_NEXT: dict[str, tuple[str, str]] = {
    "planned": ("held", "Mark the meeting as held"),
    "held": ("closed", "Close the meeting"),
}
PART_LABELS: tuple[tuple[str, str], ...] = (
    ("risk", "risk pts"),
    ("mappa", "MAPPA pts"),
    ("ogrs3", "OGRS3 pts"),
    ("overdue", "overdue pts"),
)

_SPLIT = re.compile(r"[\n;,]+")


def people(text: str) -> list[str]:
    """Split "one per line" (or comma/semicolon separated) names into a clean list.

    Blank entries and repeats are dropped; the order is kept.

    Examples
    --------
    >>> people("Ann Smith\\n bob , Ann Smith;;")
    ['Ann Smith', 'bob']
    """
    seen: list[str] = []
    for part in _SPLIT.split(text or ""):
        name = " ".join(part.split())
        if name and name not in seen:
            seen.append(name)
    return seen


def force_codes(text: str) -> list[str]:
    """Parse extra ONS force codes typed as text (upper-cased, in order, without repeats)."""
    return [code.upper() for code in people(text.replace(" ", ","))]


def force_label(code: str | None, names: Mapping[str, str]) -> str:
    """A force's name with its code, e.g. ``City of London Police (E23000034)``."""
    if code is None:
        return "—"
    return f"{names.get(code, code)} ({code})"


def meeting_label(meeting: Any) -> str:
    """How a meeting is listed: ``#3 2025-03-10 Quarterly review (planned)``."""
    return f"#{meeting.id} {meeting.meeting_date.isoformat()} {meeting.title} ({meeting.status})"


def reasons_text(item: Any) -> str:
    """An item's reasons in one cell, separated by semicolons."""
    return "; ".join(r.get("text", r.get("code", "")) for r in item.reasons)


def ogrs3_text(item: Any) -> str:
    """OGRS3 with its inputs, or why there is none (never a bare number)."""
    if item.ogrs3 is not None:
        return str(item.ogrs3.summary())
    return item.ogrs3_note or "No OGRS3 score"


def decision_text(decision: Any, names: Mapping[str, str]) -> str:
    """A decision in words; a transfer names the handoff it created or advanced."""
    if decision is None:
        return ""
    text = DECISION_LABELS.get(decision.kind, decision.kind)
    if decision.kind == "transfer":
        text = "Transfer"
    if decision.target_force_code:
        target = decision.target_force_name or names.get(
            decision.target_force_code, decision.target_force_code
        )
        text += f" to {target}" if decision.kind == "transfer" else f" (with {target})"
    if decision.handoff_id is not None:
        text += f": handoff #{decision.handoff_id} {decision.handoff_state or ''}".rstrip()
    return text


AGENDA_COLUMNS = [
    "#",
    "item",
    "case",
    "offender",
    "PNC ID",
    "lead force",
    "lives in",
    "reasons",
    "score",
    *[label for _, label in PART_LABELS],
    "OGRS3 2 yrs %",
    "decision",
]


def agenda_table(items: Sequence[Any], names: Mapping[str, str]) -> pd.DataFrame:
    """The agenda (items not removed) as a table: reasons, the score and its parts, decisions."""
    rows = []
    for item in items:
        row: dict[str, Any] = {
            "#": item.position,
            "item": item.id,
            "case": item.case_id,
            "offender": item.offender_name,
            "PNC ID": item.pnc_id,
            "lead force": item.lead_force_name,
            "lives in": names.get(item.residence_force_code or "", item.residence_force_code or "")
            + (f" ({item.residence_postcode})" if item.residence_postcode else ""),
            "reasons": reasons_text(item),
            "score": item.score,
            "OGRS3 2 yrs %": None if item.ogrs3 is None else item.ogrs3.two_year_pct,
            "decision": decision_text(item.decision, names),
        }
        for part, label in PART_LABELS:
            row[label] = item.score_parts.get(part, 0.0)
        rows.append(row)
    return pd.DataFrame(rows, columns=AGENDA_COLUMNS)


def removed_table(items: Sequence[Any]) -> pd.DataFrame:
    """Items taken off the agenda, with the reason given."""
    return pd.DataFrame(
        [
            {
                "case": i.case_id,
                "offender": i.offender_name,
                "reasons": reasons_text(i),
                "removed because": i.removed_reason or "",
            }
            for i in items
        ],
        columns=["case", "offender", "reasons", "removed because"],
    )


ACTION_COLUMNS = [
    "action",
    "owner",
    "due",
    "status",
    "overdue",
    "description",
    "case",
    "offender",
    "meeting",
]


def actions_table(actions: Iterable[Any], *, today: date) -> pd.DataFrame:
    """Actions with owner, due date, status and the meeting that agreed them."""
    return pd.DataFrame(
        [
            {
                "action": a.id,
                "owner": a.owner,
                "due": a.due_date,
                "status": a.status,
                "overdue": a.is_overdue(today),
                "description": a.description,
                "case": a.case_id,
                "offender": a.offender_name or "",
                "meeting": f"#{a.meeting_id} {a.meeting_date.isoformat()}",
            }
            for a in actions
        ],
        columns=ACTION_COLUMNS,
    )


def actions_by_owner(actions: Iterable[Any], *, today: date) -> pd.DataFrame:
    """Open actions grouped by owner (owners A to Z, then soonest due first, undated last)."""
    rows = sorted(
        actions,
        key=lambda a: (a.owner.casefold(), a.due_date is None, a.due_date or date.max, a.id),
    )
    table = actions_table(rows, today=today)
    # Every row is open, so the status column would say nothing.
    return table[["owner", *[c for c in ACTION_COLUMNS if c not in ("owner", "status")]]]


def meetings_table(meetings: Iterable[Any], names: Mapping[str, str]) -> pd.DataFrame:
    """Meetings, latest first, with their forces, chair and status."""
    return pd.DataFrame(
        [
            {
                "meeting": m.id,
                "date": m.meeting_date,
                "title": m.title,
                "forces": ", ".join(names.get(code, code) for code in m.forces),
                "chair": m.chair,
                "attendees": ", ".join(m.attendees),
                "status": m.status,
            }
            for m in meetings
        ],
        columns=["meeting", "date", "title", "forces", "chair", "attendees", "status"],
    )


def score_parts_text(item: Any) -> str:
    """The score as the sum of its parts, e.g. ``70.4 = risk 30 + MAPPA 20 + OGRS3 8.4 + …``."""
    parts = " + ".join(
        f"{label.removesuffix(' pts')} {item.score_parts.get(part, 0.0):g}"
        for part, label in PART_LABELS
    )
    return f"{item.score:g} = {parts}"


# --- the pack ----------------------------------------------------------------------------------


def pack_filename(meeting: Any, fmt: str) -> str:
    """The download name, as the CLI would write it (minutes once the meeting is held)."""
    kind = "minutes" if meeting.status in ("held", "closed") else "pack"
    return f"meeting-{meeting.id}-{meeting.meeting_date.isoformat()}-{kind}.{fmt}"


def pack_exporter(
    *, actor: str, meeting_id: int, fmt: str, recipients: Sequence[str]
) -> Callable[[], bytes]:
    """Return a no-argument callable that exports the pack when the download is clicked.

    The export is a disclosure: it is rendered and recorded in the audit log (who, when, which
    people's records, to whom) in one transaction, and only when someone actually downloads
    (Streamlit runs a callable ``data`` on the click, in another thread, so nothing here may
    touch Streamlit). Every click is one recorded disclosure.

    Parameters
    ----------
    actor
        The acting user.
    meeting_id
        The meeting.
    fmt
        ``pdf``, ``xlsx`` or ``md``.
    recipients
        To whom the pack goes (at least one; the service refuses none).
    """
    named = list(recipients)
    # The settings are read now, on the page's thread, so the export uses the same database
    # as the page even though it runs later on another thread.
    url = get_settings().database_url_effective

    def export() -> bytes:
        try:
            with session_scope(get_engine(url)) as session:
                return export_pack(
                    session,
                    actor=actor,
                    meeting_id=meeting_id,
                    fmt=fmt,  # type: ignore[arg-type]
                    recipients=named,
                )
        except Exception:
            # No page to show it on (the click runs apart from the script): log and re-raise
            # so the browser's download fails rather than saving a wrong file.
            log.exception("pack export failed for meeting %s (%s)", meeting_id, fmt)
            raise

    return export


def decision_targets(item: Any, forces: Sequence[str]) -> list[str | None]:
    """Force choices for a decision: the meeting's other forces first, then none."""
    others = [code for code in forces if code != item.lead_force_code]
    return [*others, None]


def next_status(status: str) -> tuple[str, str] | None:
    """The status a meeting can move to and the button label, or ``None`` when closed."""
    return STATUS_NEXT.get(status)


__all__ = [
    "AGENDA_COLUMNS",
    "DECISION_LABELS",
    "FORMATS",
    "actions_by_owner",
    "actions_table",
    "agenda_table",
    "decision_targets",
    "decision_text",
    "force_codes",
    "force_label",
    "meeting_label",
    "meetings_table",
    "next_status",
    "ogrs3_text",
    "pack_exporter",
    "pack_filename",
    "people",
    "reasons_text",
    "removed_table",
    "score_parts_text",
]
