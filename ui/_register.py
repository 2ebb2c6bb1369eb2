"""Helpers for the Caseload, Handoffs and Network pages.

The services take an explicit session; :func:`run` opens one (committing when the call succeeds,
rolling back when it fails) and shows any failure on the page through ``ui._common.call``.
Everything per user — the acting user, the versions a user has seen — lives in
``st.session_state``; nothing here uses ``st.cache_data``.
"""

from __future__ import annotations

import html
import logging
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pydeck as pdk
import streamlit as st

from coordination.core.db import get_engine, session_scope
from coordination.errors import CrossforceError
from coordination.handoffs import network
from coordination.models import UserPublic
from coordination.reference.lookup import attribution, bng_to_wgs84
from coordination.register.synthetic import demo_info
from coordination.security.permissions import ROLE_LABELS, permission
from coordination.security.users import get_user
from ui._auth import signed_in_username
from ui._common import GENERIC_ERROR, call, md

T = TypeVar("T")

log = logging.getLogger("crossforce.ui")

CITY = "E23000034"
MET = "E23000001"
FORCES: dict[str, str] = {CITY: "City of London Police", MET: "Metropolitan Police Service"}
ACTING_KEY = "acting_as"
SEEN_KEY = "seen_versions"

RAG_LABELS = {"red": "🔴 red", "amber": "🟠 amber", "green": "🟢 green", None: ""}
STATE_LABELS = {
    "proposed": "proposed",
    "requested": "requested",
    "accepted": "accepted",
    "completed": "completed",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
}


def run(fn: Callable[..., T], /, **kwargs: Any) -> T | None:
    """Call a service function in its own session; show errors on the page.

    Parameters
    ----------
    fn
        A service function whose first argument is the session.
    **kwargs
        Its keyword arguments.

    Returns
    -------
    The function's answer, or ``None`` after an error has been shown.
    """

    def in_session() -> T:
        with session_scope(get_engine()) as session:
            return fn(session, **kwargs)

    in_session.__name__ = getattr(fn, "__name__", "service")
    return call(in_session)


def demo_notice() -> None:
    """Say plainly that the data is synthetic, whenever a demo has been seeded."""
    info = run(demo_info)
    if info is not None:
        st.info(
            f"{info.notice} Seeded with seed {info.seed} ({info.offenders:,} offenders), "
            f"history up to {info.today.isoformat()}.",
        )


def force_label(code: str | None) -> str:
    """A force's name with its code, e.g. ``City of London Police (E23000034)``."""
    if code is None:
        return "All forces"
    return f"{FORCES.get(code, code)} ({code})"


def acting_as() -> str | None:
    """The signed-in username: the ``actor`` of every service call made from a page."""
    return signed_in_username()


def signed_in_user() -> UserPublic | None:
    """The signed-in user (``None`` when nobody is, e.g. a page run on its own)."""
    username = acting_as()
    return None if username is None else run(get_user, username=username)


def page_refused(action: str, why: str) -> bool:
    """Say so on the page when the signed-in user's role may not ``action`` at all.

    The services refuse (and audit) anyway; this spares the user a page of refusals and the
    log a refusal per widget. A page that gets ``True`` stops.

    Parameters
    ----------
    action
        A key of ``coordination.permissions.PERMISSIONS``, e.g. ``"caseload.view"``.
    why
        What the user may do instead, said after the refusal.
    """
    user = signed_in_user()
    if user is None:
        st.warning("Sign in to see this page.")
        return True
    if permission(user.role, action) == "refuse":
        role = ROLE_LABELS.get(user.role, user.role)
        st.info(f"As {'an' if role[0] in 'aeiou' else 'a'} {role} you do not see this page. {why}")
        return True
    return False


def attempt(fn: Callable[..., T], /, **kwargs: Any) -> tuple[T | None, str | None]:
    """Like :func:`run`, but hand back a refusal's message instead of showing it.

    For answers a page remembers for the session (a refusal is then audited once, not at every
    click). Unexpected errors are logged and answered with the generic message.

    Returns
    -------
    ``(answer, None)`` on success, ``(None, message)`` on failure.
    """
    try:
        with session_scope(get_engine()) as session:
            return fn(session, **kwargs), None
    except CrossforceError as error:
        return None, str(error)
    except Exception:
        log.exception("unexpected error in %s", getattr(fn, "__name__", fn))
        return None, GENERIC_ERROR


def acting_user(force_code: str, *, key: str = ACTING_KEY) -> str | None:
    """The signed-in user, when they belong to ``force_code`` (who acts for that force).

    This replaced the "Acting as" selector of the days before sign-in: the actor is whoever is
    signed in (``ui._auth``), shown as a caption. A user of another force gets ``None`` (the
    page then offers no actions) with a line saying why; the services check permissions again.

    Parameters
    ----------
    force_code
        The force whose queue or caseload the page shows.
    key
        Kept for the pages that pass it; unused since the selector went.
    """
    username = acting_as()
    if username is None:
        st.warning("Sign in to act: actions are unavailable.")
        return None
    user = run(get_user, username=username)
    if user is None:
        return None
    label = f"{user.display_name} ({user.username}, {user.role.replace('_', ' ')})"
    if user.force_code != force_code:
        st.caption(
            f"Signed in as {md(label)} of {md(force_label(user.force_code))}: actions for "
            f"{md(force_label(force_code))} are for its own users."
        )
        return None
    st.caption(f"Acting as {md(label)}; every action is audited under this user.")
    return user.username


# --- version tracking (optimistic locking from the page) ------------------------------------


def seen_version(kind: str, ident: int, current: int) -> int:
    """The version of a row as this user first saw it (kept until they act or reload)."""
    seen: dict[str, int] = st.session_state.setdefault(SEEN_KEY, {})
    return seen.setdefault(f"{kind}:{ident}", current)


def forget_version(kind: str, ident: int) -> None:
    """Forget the seen version, so the next run shows (and acts on) the current row."""
    st.session_state.setdefault(SEEN_KEY, {}).pop(f"{kind}:{ident}", None)


# --- tables ------------------------------------------------------------------------------------


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


def handoffs_table(views: Sequence[Any]) -> pd.DataFrame:
    """Handoff queue rows: who, where, state, the deadline that matters, red/amber/green."""
    return pd.DataFrame(
        [
            {
                "handoff": v.id,
                "case": v.case_id,
                "offender": v.offender_name,
                "PNC ID": v.pnc_id,
                "from": v.from_force_name,
                "to": v.to_force_name,
                "BCU": v.handoff.to_bcu_code or "",
                "state": v.state,
                "requested": v.handoff.requested_at.date() if v.handoff.requested_at else None,
                "due": v.due,
                "due for": v.due_kind or "",
                "status": RAG_LABELS.get(v.rag, ""),
                "overdue": v.overdue,
                "days overdue": v.overdue_by_days,
                "reason": v.handoff.reason,
            }
            for v in views
        ],
        columns=[
            "handoff",
            "case",
            "offender",
            "PNC ID",
            "from",
            "to",
            "BCU",
            "state",
            "requested",
            "due",
            "due for",
            "status",
            "overdue",
            "days overdue",
            "reason",
        ],
    )


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
                "district": a.district_code or "",
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


# --- the address timeline map -------------------------------------------------------------------


def timeline_deck(addresses: Sequence[Any]) -> pdk.Deck | None:
    """An offline map of a person's addresses in time order (no base map, nothing fetched).

    Returns ``None`` when no address has a location (e.g. only "address unknown").
    """
    points: list[dict[str, Any]] = []
    for a in sorted(addresses, key=lambda a: (a.valid_from, a.id)):
        if a.easting is None or a.northing is None:
            continue
        lat, lon = bng_to_wgs84(a.easting, a.northing)
        points.append(
            {
                "lat": lat,
                "lon": lon,
                "label": f"{a.postcode or ''} from {a.valid_from.isoformat()}",
                "current": a.valid_to is None,
            }
        )
    if not points:
        return None
    path = [{"path": [[p["lon"], p["lat"]] for p in points]}]
    lats = [p["lat"] for p in points]
    lons = [p["lon"] for p in points]
    span = max(max(lats) - min(lats), (max(lons) - min(lons)) * 0.62, 0.005)
    zoom = max(5.0, min(15.0, math.log2(0.7 / span) + 8))
    layers = [
        pdk.Layer(
            "PathLayer",
            id="moves",
            data=path,
            get_path="path",
            get_color=[30, 90, 200, 200],
            get_width=1,
            width_min_pixels=3,
            width_max_pixels=3,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            id="addresses",
            data=points,
            get_position="[lon, lat]",
            get_fill_color="current ? [255, 140, 0, 255] : [120, 120, 120, 220]",
            get_line_color=[0, 0, 0, 255],
            stroked=True,
            line_width_min_pixels=1,
            get_radius=1,
            radius_min_pixels=7,
            radius_max_pixels=7,
            pickable=True,
        ),
    ]
    return pdk.Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(
            latitude=(max(lats) + min(lats)) / 2, longitude=(max(lons) + min(lons)) / 2, zoom=zoom
        ),
        # No provider: nothing is fetched from the internet (see ui._map).
        map_provider=None,
        tooltip={"text": "{label}"},
    )


def show_timeline(addresses: Sequence[Any]) -> None:
    """Draw the address timeline map with the attribution caption under it."""
    deck = timeline_deck(addresses)
    if deck is None:
        st.caption("No address with a location to draw.")
        return
    st.pydeck_chart(deck, key="timeline_map", height=360)
    st.caption(
        f"Orange: current address; grey: earlier ones, joined in time order. {attribution()}"
    )


# --- network -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkOverview:
    """The network of a period and its analytics, for the Network page."""

    graph: Any
    largest: list[network.Flow]
    bottlenecks: list[network.Flow]
    ping_pong: list[network.PingPong]
    movers: list[network.FrequentMover]
    graph_json: dict[str, Any]
    graphml: bytes


def network_overview(
    session: Any, *, start: date, end: date, movers_over: int = 2, actor: str | None
) -> NetworkOverview:
    """Build the network of a period and everything the page shows about it (one session).

    ``actor`` is who is looking (``network.view``): an analyst's case and handoff ids are
    pseudonyms.
    """
    records = network.fetch_handoff_records(session, start=start, end=end, actor=actor)
    graph = network.build_network_from_records(records)
    graph.graph["start"] = start.isoformat()
    graph.graph["end"] = end.isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        path = network.to_graphml(graph, Path(tmp) / "network.graphml")
        graphml = path.read_bytes()
    return NetworkOverview(
        graph=graph,
        largest=network.largest_flows(graph, 15),
        bottlenecks=network.bottlenecks(graph, 15),
        ping_pong=network.ping_pong(records),
        movers=network.frequent_movers(records, movers_over),
        graph_json=network.to_json(graph),
        graphml=graphml,
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


def network_svg(graph: Any, *, size: int = 640) -> str:
    """Draw the network as a self-contained SVG (no internet, no plotting library).

    The City sits in the middle, the Met and its BCUs on a ring around it, and every other force
    on an outer ring. An arrow's width grows with the number of handoffs; red arrows carry
    overdue handoffs.
    """
    centre = size / 2
    nodes = list(graph.nodes)
    bcus = sorted(n for n in nodes if graph.nodes[n].get("kind") == "bcu")
    forces = sorted(n for n in nodes if graph.nodes[n].get("kind") != "bcu")
    positions: dict[str, tuple[float, float]] = {}
    inner = [n for n in forces if n == MET] + bcus
    outer = [n for n in forces if n not in (CITY, MET)]
    if CITY in forces:
        positions[CITY] = (centre, centre)
    for ring, radius in ((inner, size * 0.28), (outer, size * 0.44)):
        for i, node in enumerate(ring):
            angle = 2 * math.pi * i / max(len(ring), 1) - math.pi / 2
            positions[node] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    most = max((d.get("count", 0) for *_, d in graph.edges(data=True)), default=1) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="100%" role="img" aria-label="Handoff network">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="5" '
        'markerHeight="5" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="context-stroke"/></marker></defs>',
    ]
    for source, target, data in graph.edges(data=True):
        if source not in positions or target not in positions:
            continue
        (x1, y1), (x2, y2) = positions[source], positions[target]
        # Stop short of the node circles and bend a little so A→B and B→A stay apart.
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        sx, sy = x1 + ux * 16, y1 + uy * 16
        ex, ey = x2 - ux * 16, y2 - uy * 16
        mx, my = (sx + ex) / 2 - uy * 18, (sy + ey) / 2 + ux * 18
        width = 1 + 7 * data.get("count", 0) / most
        colour = "#c0392b" if data.get("overdue", 0) else "#2c6fbb"
        title = html.escape(
            f"{graph.nodes[source]['name']} → {graph.nodes[target]['name']}: "
            f"{data.get('count', 0)} handoffs, {data.get('pending', 0)} pending, "
            f"{data.get('overdue', 0)} overdue"
        )
        parts.append(
            f'<path d="M {sx:.1f} {sy:.1f} Q {mx:.1f} {my:.1f} {ex:.1f} {ey:.1f}" fill="none" '
            f'stroke="{colour}" stroke-opacity="0.75" stroke-width="{width:.1f}" '
            f'marker-end="url(#arrow)"><title>{title}</title></path>'
        )
    for node, (x, y) in positions.items():
        attrs = graph.nodes[node]
        fill = {"bcu": "#9fc5e8", "force": "#f6b26b"}.get(attrs.get("kind", "force"), "#ccc")
        if node == CITY:
            fill = "#e06666"
        name = html.escape(str(attrs.get("name", node)))
        count = attrs.get("count_in", 0) + attrs.get("count_out", 0)
        parts.append(
            f'<g><circle cx="{x:.1f}" cy="{y:.1f}" r="14" fill="{fill}" stroke="#333"/>'
            f'<text x="{x:.1f}" y="{y + 28:.1f}" font-size="11" text-anchor="middle" '
            f'font-family="sans-serif">{name}</text>'
            f"<title>{name}: {count} handoffs in or out</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def markdown_list(items: Sequence[str]) -> str:
    """Escaped bullet list for st.markdown."""
    return "\n".join(f"- {md(item)}" for item in items)
