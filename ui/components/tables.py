"""The tables the pages show, as DataFrames for people: one function per table.

Caseload (named, or pseudonymised for an analyst), officers' loads, suggested assignees,
handoffs, a person's addresses and managers, network flows, ping-pong cases and frequent movers,
boundary sets and audit events. Each takes what a service answered and returns a DataFrame with
fixed columns (so an empty answer still shows its headings); nothing here queries anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import pandas as pd
import streamlit as st

from coordination.core import wording
from coordination.handoffs import network
from geo.districts import district_name
from geo.forces import MET_BCUS
from ui.text import FORCES, force_label

#: A handoff's red/amber/green status in words, so it reads without colour (and in greyscale).
RAG_LABELS = {"red": "overdue", "amber": "due soon", "green": "on time", None: ""}
#: Cell colours for those words (light fills, dark text: readable when printed in greyscale).
RAG_CELL_STYLES = {
    "overdue": "background-color: #f8d0d0; color: #5c0000; font-weight: 600",
    "due soon": "background-color: #fde5bf; color: #4d3000",
    "on time": "background-color: #d4ecd6; color: #0b3d12",
}


def rag_styled(frame: pd.DataFrame, column: str = "status") -> Any:
    """The frame with its status cells filled by colour, for ``st.dataframe``; text unchanged.

    The words (:data:`RAG_LABELS`) carry the meaning; the fill only helps the eye, so nothing
    depends on colour (or on emoji, which screen readers and printers treat unevenly).
    """
    if column not in frame.columns:
        return frame
    return frame.style.map(lambda value: RAG_CELL_STYLES.get(str(value), ""), subset=[column])


#: The Met's Basic Command Units, code -> name, by name (the filters on Caseload and Handoffs).
BCU_NAMES: dict[str, str] = dict(sorted(set(MET_BCUS.values()), key=lambda bcu: bcu[1]))


def bcu_label(code: str | None) -> str:
    """The ``format_func`` of a BCU filter: ``Central East (CE)``, ``All BCUs`` for ``None``."""
    return "All BCUs" if code is None else f"{BCU_NAMES.get(code, code)} ({code})"


def caseload_table(rows: Sequence[Any]) -> pd.DataFrame:
    """The caseload rows as a table for people.

    Pseudonymised rows (an analyst's, ``coordination.pseudonyms``) get pseudonyms for the case
    and the person and no name, PNC ID or postcode column at all.
    """
    if any(getattr(r, "pseudonym", None) is not None for r in rows):
        return _pseudonymised_caseload_table(rows)
    records = [
        {
            "case": r.case_id,
            "name": f"{r.first_name} {r.last_name}",
            "PNC ID": r.pnc_id,
            "programme": _programme(r.programme, r.mappa_category, r.mappa_level),
            "risk": r.risk.replace("_", " "),
            "points": r.points,
            "lead force": r.lead_force_name,
            "lives in": r.district_name or r.district_code or _state(r.residence_state),
            "BCU": r.bcu_name or "",
            "postcode": r.postcode or "",
            "manager": r.manager_name or "unassigned",
            "next review": r.next_review_due,
            "review overdue": r.review_overdue,
            "handoff": _handoff_cell(r),
            "handoff overdue": r.handoff_overdue,
            "flags": ", ".join(f.replace("_", " ") for f in r.flags),
        }
        for r in rows
    ]
    return pd.DataFrame(records, columns=_CASELOAD_COLUMNS)


def _pseudonymised_caseload_table(rows: Sequence[Any]) -> pd.DataFrame:
    records = [
        {
            "case": r.case_pseudonym,
            "person": r.pseudonym,
            "programme": _programme(r.programme, r.mappa_category, r.mappa_level),
            "risk": r.risk.replace("_", " "),
            "points": r.points,
            "lead force": r.lead_force_name,
            "lives in": r.district_name or r.district_code or _state(r.residence_state),
            "BCU": r.bcu_name or "",
            "manager": r.manager_name or "unassigned",
            "next review": r.next_review_due,
            "review overdue": r.review_overdue,
            "handoff": _handoff_cell(r),
            "handoff overdue": r.handoff_overdue,
            "flags": ", ".join(f.replace("_", " ") for f in r.flags),
        }
        for r in rows
    ]
    return pd.DataFrame(records, columns=PSEUDONYMISED_CASELOAD_COLUMNS)


_CASELOAD_COLUMNS = [
    "case",
    "name",
    "PNC ID",
    "programme",
    "risk",
    "points",
    "lead force",
    "lives in",
    "BCU",
    "postcode",
    "manager",
    "next review",
    "review overdue",
    "handoff",
    "handoff overdue",
    "flags",
]
# No name, PNC ID or postcode: areas no finer than a district.
PSEUDONYMISED_CASELOAD_COLUMNS = [
    "case",
    "person",
    *(c for c in _CASELOAD_COLUMNS if c not in ("case", "name", "PNC ID", "postcode")),
]


def _programme(programme: str, category: int | None, level: int | None) -> str:
    if programme == "mappa":
        return f"MAPPA cat {category} level {level}"
    return {
        "iom_fixed": "IOM Fixed",
        "iom_flex": "IOM Flex",
        "iom_free": "IOM Free",
        "other": "other",
    }.get(programme, programme)


def _state(state: str | None) -> str:
    return {"no_fixed_abode": "no fixed abode", "unknown": "address unknown"}.get(
        state or "unknown", state or ""
    )


def _handoff_cell(row: Any) -> str:
    if row.handoff_state is None:
        return ""
    due = f", due {row.handoff_completion_due.isoformat()}" if row.handoff_completion_due else ""
    to = FORCES.get(row.handoff_to_force_code, row.handoff_to_force_code)
    # An analyst's row has no handoff id (it would join back to the register).
    number = "" if row.handoff_id is None else f"#{row.handoff_id} "
    return f"{number}{row.handoff_state} to {to}{due}"


def loads_table(loads: Sequence[Any]) -> pd.DataFrame:
    """Officer loads as a table whose capacity column draws as a bar."""
    return pd.DataFrame(
        [
            {
                "officer": load.display_name,
                "username": load.username,
                "BCU / team": load.team or load.bcu_code or "",
                "grade": load.grade or "no profile",
                "cases": load.n_cases,
                "points": round(load.points, 1),
                "available points": round(load.available_points, 1),
                "capacity %": None if load.capacity_pct is None else round(load.capacity_pct, 1),
            }
            for load in loads
        ],
        columns=[
            "officer",
            "username",
            "BCU / team",
            "grade",
            "cases",
            "points",
            "available points",
            "capacity %",
        ],
    )


def capacity_column() -> Any:
    """The progress-bar column for capacity % (bars stop at 150 %)."""
    return st.column_config.ProgressColumn(
        "capacity %", format="%.0f%%", min_value=0, max_value=150
    )


def suggestions_table(suggestions: Sequence[Any]) -> pd.DataFrame:
    """Suggested assignees with their load before and after taking the case."""
    return pd.DataFrame(
        [
            {
                "officer": s.display_name,
                "username": s.username,
                "same BCU": s.same_bcu,
                "cases": s.n_cases,
                "capacity % before": _pct(s.capacity_pct_before),
                "capacity % after": _pct(s.capacity_pct_after),
                "points before": round(s.points_before, 1),
                "points after": round(s.points_after, 1),
            }
            for s in suggestions
        ],
        columns=[
            "officer",
            "username",
            "same BCU",
            "cases",
            "capacity % before",
            "capacity % after",
            "points before",
            "points after",
        ],
    )


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _bcu_name(code: str | None) -> str:
    return BCU_NAMES.get(code, code) if code else ""


def handoffs_table(views: Sequence[Any]) -> pd.DataFrame:
    """Handoff queue rows: red/amber/green first (what to do next), then who, where, state, due.

    ``to BCU`` is the receiving Met BCU (empty for a handoff to another force); ``from BCU`` the
    sending one (the Met team managing the case). BCUs by name, states in words, and blank,
    never "None", where there is no date yet.
    """
    return pd.DataFrame(
        [
            {
                "status": RAG_LABELS.get(v.rag, ""),
                "handoff": v.id,
                "case": v.case_id,
                "offender": v.offender_name,
                "PNC ID": v.pnc_id,
                "from": v.from_force_name,
                "to": v.to_force_name,
                "from BCU": _bcu_name(getattr(v, "from_bcu_code", None)),
                "to BCU": _bcu_name(v.handoff.to_bcu_code),
                "state": wording.handoff_state_label(v.state),
                "requested": v.handoff.requested_at.date() if v.handoff.requested_at else "",
                "due": v.due,
                "due for": v.due_kind or "",
                "overdue": v.overdue,
                "days overdue": v.overdue_by_days,
                "reason": v.handoff.reason,
            }
            for v in views
        ],
        columns=[
            "status",
            "handoff",
            "case",
            "offender",
            "PNC ID",
            "from",
            "to",
            "from BCU",
            "to BCU",
            "state",
            "requested",
            "due",
            "due for",
            "overdue",
            "days overdue",
            "reason",
        ],
    )


def _district(code: str | None) -> str:
    """``Manchester (E08000003)``; the bare code only when no table names it."""
    if not code:
        return ""
    name = district_name(code)
    return f"{name} ({code})" if name else code


def addresses_table(addresses: Sequence[Any]) -> pd.DataFrame:
    """The address history, oldest first, with what each resolved to."""
    rows = sorted(addresses, key=lambda a: (a.valid_from, a.id))
    return pd.DataFrame(
        [
            {
                "from": a.valid_from,
                "to": a.valid_to,
                "address": a.postcode or _state(a.state),
                "force": FORCES.get(a.force_code, a.force_code or ""),
                "district": _district(a.district_code),
                "BCU": a.bcu_code or "",
                "to boundary (m)": None
                if a.distance_to_boundary_m is None
                else round(a.distance_to_boundary_m),
                "near boundary": a.near_boundary,
                "boundary set": a.boundary_set or "",
            }
            for a in rows
        ],
        columns=[
            "from",
            "to",
            "address",
            "force",
            "district",
            "BCU",
            "to boundary (m)",
            "near boundary",
            "boundary set",
        ],
    )


def flows_table(flows: Sequence[network.Flow]) -> pd.DataFrame:
    """Edges of the network with their figures."""
    return pd.DataFrame(
        [
            {
                "from": f.source_name,
                "to": f.target_name,
                "handoffs": f.count,
                "pending": f.pending,
                "overdue": f.overdue,
                "median days to accept": None
                if f.median_days_to_acceptance is None
                else round(f.median_days_to_acceptance, 1),
                "acceptance rate": None
                if f.acceptance_rate is None
                else round(f.acceptance_rate * 100, 1),
            }
            for f in flows
        ],
        columns=[
            "from",
            "to",
            "handoffs",
            "pending",
            "overdue",
            "median days to accept",
            "acceptance rate",
        ],
    )


def ping_pong_table(cases: Sequence[network.PingPong]) -> pd.DataFrame:
    """Cases handed A → B → A within 90 days."""
    return pd.DataFrame(
        [
            {
                "case": p.case_id,
                "forces": f"{force_label(p.force_a)} ⇄ {force_label(p.force_b)}",
                "handoffs": f"#{p.first_handoff_id}, #{p.second_handoff_id}",
                "days apart": round(p.days, 1),
            }
            for p in cases
        ],
        columns=["case", "forces", "handoffs", "days apart"],
    )


def movers_table(movers: Sequence[network.FrequentMover]) -> pd.DataFrame:
    """Cases transferred more often than the threshold in a year."""
    return pd.DataFrame(
        [
            {
                "case": m.case_id,
                "transfers": m.transfers,
                "first": m.first.date(),
                "last": m.last.date(),
            }
            for m in movers
        ],
        columns=["case", "transfers", "first", "last"],
    )


def assignments_table(history: Sequence[Any]) -> pd.DataFrame:
    """A case's managers over time, with who assigned them and why."""
    return pd.DataFrame(
        [
            {
                "manager": h.display_name or h.username or "—",
                "from": h.assigned_at,
                "until": h.ended_at,
                "by": h.assigned_by,
                "reason": h.reason,
            }
            for h in history
        ],
        columns=["manager", "from", "until", "by", "reason"],
    )


def sets_table(sets: list[Any]) -> pd.DataFrame:
    """Return the boundary sets as a table for people, the active one first.

    Parameters
    ----------
    sets
        ``BoundarySetPublic`` objects from ``coordination.lookup.reference_overview``.
    """
    rows = [
        {
            "active": s.active,
            "name": s.name,
            "vintage": s.vintage,
            "source": s.source,
            "approximate": s.approximate,
            "forces": s.n_forces,
            "districts": s.n_districts,
            "wards": s.n_wards,
            "loaded at": s.loaded_at,
            "loaded by": s.loaded_by,
            "activated at": s.activated_at,
        }
        for s in sorted(sets, key=lambda s: (not s.active, s.name))
    ]
    columns = [
        "active",
        "name",
        "vintage",
        "source",
        "approximate",
        "forces",
        "districts",
        "wards",
        "loaded at",
        "loaded by",
        "activated at",
    ]
    return pd.DataFrame(rows, columns=columns)


EVENT_COLUMNS = [
    "id",
    "at (UTC)",
    "user",
    "category",
    "action",
    "entity",
    "offenders",
    "justification",
    "recipients",
    "details",
]


def events_table(records: Sequence[Any]) -> pd.DataFrame:
    """Audit events (``coordination.audit.reader.AuditRecord``) for people, in the order given.

    The details in words (the record's ``summary``) and recipient forces by name; the JSON as
    recorded stays in the export and in the page's "full details" view.
    """
    return pd.DataFrame(
        [
            {
                "id": r.id,
                "at (UTC)": r.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "user": r.actor,
                "category": r.category,
                "action": r.action,
                "entity": r.entity_type + (f" {r.entity_id}" if r.entity_id else ""),
                "offenders": ", ".join(str(i) for i in r.offender_ids or []),
                "justification": r.justification or "",
                "recipients": ", ".join(FORCES.get(x, x) for x in r.recipients or []),
                "details": r.summary,
            }
            for r in records
        ],
        columns=EVENT_COLUMNS,
    )
