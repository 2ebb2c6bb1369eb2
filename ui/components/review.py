"""The Joint review page's pieces: tables, texts, the meeting and item panels, the pack export.

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
import streamlit as st

from coordination.core import wording
from coordination.core.db import get_engine, session_scope
from coordination.core.settings import get_settings
from coordination.packs.export import export_pack
from coordination.review.common import LOOKBACK_DAYS
from ui.text import CITY, MET, code, md

log = logging.getLogger("crossforce.ui.review")

FORMATS: tuple[tuple[str, str, str], ...] = (
    ("pdf", "PDF", "application/pdf"),
    ("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("md", "Markdown", "text/markdown"),
)

# The form's choices: the shared wording, with a transfer's need for a force spelt out.
DECISION_LABELS: dict[str, str] = {
    **wording.DECISION_LABELS,
    "transfer": "Transfer to a named force",
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
    text = wording.decision_label(decision.kind)
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
    "case",
    "offender",
    "PNC ID",
    "reasons",
    "score",
    "decision",
    "lead force",
    "lives in",
    "BCU",
    *[label for _, label in PART_LABELS],
    "OGRS3 2 yrs %",
]
NOT_REACHED_COLUMNS = ["#", "case", "offender", "reasons", "score", "lead force"]


def agenda_table(
    items: Sequence[Any], names: Mapping[str, str], bcus: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The agenda (items not removed) as a table: reasons, the score and its parts, decisions.

    Parameters
    ----------
    items
        Agenda views in the order to show.
    names
        Force names by code.
    bcus
        BCU names by code; a code without a name shows as the code.
    """
    bcus = bcus or {}
    rows = []
    for item in items:
        bcu = item.residence_bcu_code
        row: dict[str, Any] = {
            "#": item.position,
            "case": item.case_id,
            "offender": item.offender_name,
            "PNC ID": item.pnc_id,
            "reasons": reasons_text(item),
            "score": item.score,
            "decision": decision_text(item.decision, names),
            "lead force": item.lead_force_name,
            "lives in": names.get(item.residence_force_code or "", item.residence_force_code or "")
            + (f" ({item.residence_postcode})" if item.residence_postcode else ""),
            "BCU": "" if bcu is None else bcus.get(bcu, bcu),
            "OGRS3 2 yrs %": None if item.ogrs3 is None else item.ogrs3.two_year_pct,
        }
        for part, label in PART_LABELS:
            row[label] = item.score_parts.get(part, 0.0)
        rows.append(row)
    return pd.DataFrame(rows, columns=AGENDA_COLUMNS)


def not_reached_table(items: Sequence[Any]) -> pd.DataFrame:
    """Items after the meeting's size: who, why and their score, to carry to the next meeting."""
    return pd.DataFrame(
        [
            {
                "#": i.position,
                "case": i.case_id,
                "offender": i.offender_name,
                "reasons": reasons_text(i),
                "score": i.score,
                "lead force": i.lead_force_name,
            }
            for i in items
        ],
        columns=NOT_REACHED_COLUMNS,
    )


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
    *, actor: str, meeting_id: int, fmt: str, recipients: Sequence[str], justification: str
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
    justification
        Why it goes to them (required; the service refuses none).
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
                    justification=justification,
                )
        except Exception:
            # No page to show it on (the click runs apart from the script): log and re-raise
            # so the browser's download fails rather than saving a wrong file.
            log.exception("pack export failed for meeting %s (%s)", meeting_id, fmt)
            raise

    return export


def city_first(codes: Iterable[str]) -> list[str]:
    """Force codes with the City first, then the Met, then the rest by code."""
    return sorted(codes, key=lambda c: (c != CITY, c != MET, c))


def count(n: int, noun: str) -> str:
    """``"1 item"``, ``"3 items"``; ``"more"`` reads ``"1 more is"`` / ``"3 more are"``."""
    if noun == "more":
        return f"{n} more {'is' if n == 1 else 'are'}"
    return f"{n} {noun}{'' if n == 1 else 's'}"


def bcu_options(items: Sequence[Any]) -> list[str]:
    """BCU codes the agenda's residences lie in, then ``"none"`` for items with no BCU."""
    codes = sorted({i.residence_bcu_code for i in items if i.residence_bcu_code})
    if any(not i.residence_bcu_code for i in items):
        codes.append("none")
    return codes


def bcu_label(code: str, bcus: Mapping[str, str]) -> str:
    """A BCU by name (its code when the active boundaries do not name it)."""
    if code == "none":
        return "No BCU (outside the Met, no fixed abode or withheld)"
    return bcus.get(code, code)


def agreed_by_choices(attendees: Sequence[str]) -> list[str | None]:
    """Who may be named as agreeing a transfer for the receiving force: nobody, then attendees."""
    return [None, *attendees]


def decision_targets(item: Any, forces: Sequence[str]) -> list[str | None]:
    """Force choices for a decision: the meeting's other forces first, then none."""
    others = [code for code in forces if code != item.lead_force_code]
    return [*others, None]


def next_status(status: str) -> tuple[str, str] | None:
    """The status a meeting can move to and the button label, or ``None`` when closed."""
    return STATUS_NEXT.get(status)


# --- panels ------------------------------------------------------------------------------------


def meeting_header(detail: Any, names: Mapping[str, str]) -> None:
    """The meeting's title, date, status, chair, forces and attendees, and what the agenda covers.

    Parameters
    ----------
    detail
        The meeting as ``coordination.review.meetings.get_meeting`` answers it.
    names
        Force names by code.
    """
    meeting = detail.meeting
    # The title is typed by whoever planned the meeting: a heading, never markdown of theirs.
    st.subheader(md(meeting.title))
    st.markdown(
        f"**Date:** {meeting.meeting_date.isoformat()} · **Status:** {meeting.status} · "
        f"**Chair:** {md(meeting.chair)}  \n"
        f"**Forces:** {md(', '.join(force_label(c, names) for c in city_first(meeting.forces)))}"
        "  \n"
        f"**Attendees:** {md(', '.join(meeting.attendees) or '—')}"
    )
    since = (
        f"since the last meeting of these forces ({detail.previous_meeting_date.isoformat()})"
        if detail.previous_meeting_date
        else f"the last {LOOKBACK_DAYS} days (no earlier meeting of these forces)"
    )
    st.caption(f"The agenda covers {since}; next meeting {detail.next_meeting_date.isoformat()}.")


def item_panel(item: Any, names: Mapping[str, str]) -> None:
    """One agenda item: the person, why it is on the agenda, its score and OGRS3, its decision."""
    st.markdown(f"#### {item.position}. {md(item.offender_name)} · {code(item.pnc_id)}")
    st.markdown(
        f"**Lead force:** {md(item.lead_force_name)} · **Programme:** {md(item.programme)} · "
        f"**Risk:** {md(item.risk.replace('_', ' '))} · **MAPPA level:** "
        f"{item.mappa_level or '—'} · **Next review:** "
        f"{item.next_review_due.isoformat() if item.next_review_due else '—'}"
    )
    st.markdown(
        "**Why it is on the agenda:**\n"
        + "\n".join(f"- {md(r.get('text', r.get('code', '')))}" for r in item.reasons)
    )
    st.markdown(f"**Score:** {md(score_parts_text(item))}")
    st.markdown(f"**OGRS3:** {md(ogrs3_text(item))}")
    if item.decision is not None:
        decided = decision_text(item.decision, names)
        note_text = f". Note: {item.decision.note}" if item.decision.note else ""
        st.success(
            md(f"Decision: {decided}{note_text} (by {item.decision.decided_by})"),
            icon=":material/check_circle:",
        )


def pack_downloads(
    *, actor: str, meeting: Any, recipients: Sequence[str], justification: str
) -> None:
    """One download button per format; each click exports the pack, recorded as a disclosure."""
    st.caption(
        f"Each download is recorded as a disclosure to {md(', '.join(recipients))}. "
        "The document is marked OFFICIAL-SENSITIVE."
    )
    cols = st.columns(len(FORMATS))
    for col_, (fmt, label, mime) in zip(cols, FORMATS, strict=True):
        col_.download_button(
            f"Download {label}",
            data=pack_exporter(
                actor=actor,
                meeting_id=meeting.id,
                fmt=fmt,
                recipients=recipients,
                justification=justification,
            ),
            file_name=pack_filename(meeting, fmt),
            mime=mime,
            key=f"jr_pack_{fmt}",
            on_click="ignore",
        )


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
    "item_panel",
    "meeting_header",
    "meeting_label",
    "meetings_table",
    "next_status",
    "ogrs3_text",
    "pack_downloads",
    "pack_exporter",
    "pack_filename",
    "people",
    "reasons_text",
    "removed_table",
    "score_parts_text",
]


def default_meeting(meetings: Sequence[Any], today: date) -> int | None:
    """The meeting a first visit opens: the soonest still planned from today, else the latest.

    Parameters
    ----------
    meetings
        The meetings the user may see (``MeetingPublic``).
    today
        Today in London.
    """
    planned = [m for m in meetings if m.status == "planned" and m.meeting_date >= today]
    if planned:
        return int(min(planned, key=lambda m: (m.meeting_date, m.id)).id)
    if not meetings:
        return None
    return int(max(meetings, key=lambda m: (m.meeting_date, m.id)).id)
