"""The handoff network: where the coordination load between forces sits (``networkx``).

Nodes are forces (keyed by ONS code) and, inside the Met, its BCUs as sub-nodes keyed
``"<force code>/<BCU code>"`` with ``parent`` naming the force. A handoff whose receiving BCU is
known runs to the BCU node, otherwise to the force node, so no handoff is counted twice. Each
edge carries, for the handoffs requested in the period:

``count``
    handoffs;
``pending``
    still open (proposed, requested or accepted);
``overdue``
    open and past a deadline: the address check (requested, no check recorded) or the
    completion;
``median_days_to_acceptance``
    median days from request to acceptance over those accepted (absent when none was);
``acceptance_rate``
    accepted (or completed) ÷ those the receiving side has decided (accepted, completed or
    rejected); absent when none was decided yet.

The graph is built from plain :class:`HandoffRecord` values, so the analytics can be tested on a
handful of inline records; :func:`build_network` fetches them with one query.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

import networkx as nx
import sqlalchemy as sa
from sqlmodel import Session, col

from coordination.errors import InputError
from coordination.models import OPEN_HANDOFF_STATES, Handoff
from coordination.security.permissions import require
from coordination.security.pseudonyms import pseudonym_int
from geo.forces import MET_BCUS, force_name

#: The handoff network: nodes are force codes and ``force/BCU`` sub-nodes.
HandoffGraph: TypeAlias = "nx.DiGraph[str]"

_BCU_NAMES: dict[str, str] = {code: name for code, name in MET_BCUS.values()}
# Handoffs that moved (or are moving) a case: a withdrawn one never happened and a rejected one
# left the case where it was, so neither counts as a transfer for ping-pong or frequent movers.
_TRANSFER_STATES = frozenset({"proposed", "requested", "accepted", "completed"})
_ACCEPTED_STATES = frozenset({"accepted", "completed"})
_DECIDED_STATES = frozenset({"accepted", "completed", "rejected"})
_DAY = 86400.0


class HandoffRecord(NamedTuple):
    """The facts about one handoff the network needs (immutable).

    A named tuple rather than a dataclass: tens of thousands are made per build, and a tuple is
    made several times faster. ``requested_at`` falls back to ``created_at`` for a handoff only
    proposed so far.
    """

    handoff_id: int
    case_id: int
    from_force: str
    to_force: str
    state: str
    requested_at: datetime
    to_bcu: str | None = None
    accepted_at: datetime | None = None
    completion_due: date | None = None
    address_check_due: date | None = None
    address_checked_on: date | None = None


def _overdue(r: HandoffRecord, today: date) -> bool:
    """Whether an open handoff is past either deadline (a lapsed address check counts)."""
    if r.completion_due is not None and r.completion_due < today:
        return True
    return (
        r.state == "requested"
        and r.address_checked_on is None
        and r.address_check_due is not None
        and r.address_check_due < today
    )


def bcu_node(force_code: str, bcu_code: str) -> str:
    """Return the node key of a BCU inside a force, e.g. ``"E23000001/CE"``."""
    return f"{force_code}/{bcu_code}"


def _add_force(g: HandoffGraph, code: str) -> None:
    if code not in g:
        g.add_node(code, kind="force", name=force_name(code).name, parent="")


def _target(g: HandoffGraph, record: HandoffRecord) -> str:
    _add_force(g, record.to_force)
    if not record.to_bcu:
        return record.to_force
    node = bcu_node(record.to_force, record.to_bcu)
    if node not in g:
        g.add_node(
            node,
            kind="bcu",
            name=_BCU_NAMES.get(record.to_bcu, record.to_bcu),
            parent=record.to_force,
        )
    return node


def build_network_from_records(
    records: Iterable[HandoffRecord], *, today: date | None = None
) -> HandoffGraph:
    """Build the handoff network from records (no database).

    Parameters
    ----------
    records
        The handoffs of the period.
    today
        The date that decides "overdue" (default: today, UTC).

    Returns
    -------
    nx.DiGraph
        Nodes with ``kind`` (force/bcu), ``name``, ``parent`` ("" for a force), ``count_in`` and
        ``count_out``; edges with the attributes in the module docstring. Graph attribute
        ``today`` is the ISO date used.
    """
    today = today or datetime.now(UTC).date()
    g: HandoffGraph = nx.DiGraph(today=today.isoformat())
    groups: dict[tuple[str, str], list[HandoffRecord]] = defaultdict(list)
    for record in records:
        _add_force(g, record.from_force)
        groups[(record.from_force, _target(g, record))].append(record)
    for node in g.nodes:
        g.nodes[node]["count_in"] = 0
        g.nodes[node]["count_out"] = 0
    for (source, target), group in groups.items():
        pending = overdue = accepted = decided = 0
        days: list[float] = []
        for r in group:
            if r.state in OPEN_HANDOFF_STATES:
                pending += 1
                if _overdue(r, today):
                    overdue += 1
            if r.state in _DECIDED_STATES:
                decided += 1
                if r.state in _ACCEPTED_STATES:
                    accepted += 1
            if r.accepted_at is not None:
                days.append((r.accepted_at - r.requested_at).total_seconds() / _DAY)
        attrs: dict[str, Any] = {"count": len(group), "pending": pending, "overdue": overdue}
        # Absent rather than None: GraphML has no null, and a missing key reads back cleanly.
        if days:
            attrs["median_days_to_acceptance"] = float(statistics.median(days))
        if decided:
            attrs["acceptance_rate"] = accepted / decided
        g.add_edge(source, target, **attrs)
        g.nodes[source]["count_out"] += len(group)
        g.nodes[target]["count_in"] += len(group)
    return g


def fetch_handoff_records(
    session: Session, *, start: date, end: date, actor: str
) -> list[HandoffRecord]:
    """Return the handoffs requested (or, if not yet requested, proposed) from start to end.

    Parameters
    ----------
    session
        Any session.
    start, end
        Inclusive dates (UTC days).
    actor
        Who is looking; for an analyst the handoff and case ids are stable integer pseudonyms
        (``coordination.pseudonyms.pseudonym_int``).

    Returns
    -------
    list[HandoffRecord]
        One query over the needed columns only: no ORM objects are built.

    Raises
    ------
    InputError
        ``end`` is before ``start``.
    """
    p = require(session, actor=actor, action="network.view")
    if end < start:
        raise InputError(f"The period ends ({end}) before it starts ({start})")
    lo = datetime.combine(start, time.min, tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    when = sa.func.coalesce(col(Handoff.requested_at), col(Handoff.created_at))
    query = sa.select(
        col(Handoff.id),
        col(Handoff.case_id),
        col(Handoff.from_force_code),
        col(Handoff.to_force_code),
        col(Handoff.state),
        when,
        col(Handoff.to_bcu_code),
        col(Handoff.accepted_at),
        col(Handoff.completion_due),
        col(Handoff.address_check_due),
        col(Handoff.address_checked_on),
    ).where(when >= lo, when < hi)
    # Core on the session's connection, columns in HandoffRecord's order: no ORM objects, no
    # per-row dictionaries (this is most of the build time at 50,000 handoffs).
    rows = session.connection().execute(query).all()
    if not p.is_system and p.role == "analyst":
        return [pseudonymise_handoff_record(HandoffRecord._make(row)) for row in rows]
    return [HandoffRecord._make(row) for row in rows]


def build_network(
    session: Session,
    *,
    start: date,
    end: date,
    today: date | None = None,
    actor: str,
) -> HandoffGraph:
    """Build the handoff network of the handoffs requested from ``start`` to ``end``.

    Parameters
    ----------
    session
        Any session.
    start, end
        Inclusive period (UTC days).
    today
        The date that decides "overdue" (default: today, UTC).
    actor
        Who is looking (permission ``network.view``; see :func:`fetch_handoff_records`).

    Returns
    -------
    nx.DiGraph
        As :func:`build_network_from_records`, with graph attributes ``start`` and ``end``.
    """
    g = build_network_from_records(
        fetch_handoff_records(session, start=start, end=end, actor=actor), today=today
    )
    g.graph["start"] = start.isoformat()
    g.graph["end"] = end.isoformat()
    return g


# --- analytics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """One edge of the network with its figures."""

    source: str
    target: str
    source_name: str
    target_name: str
    count: int
    pending: int
    overdue: int
    median_days_to_acceptance: float | None
    acceptance_rate: float | None


def _flow(g: HandoffGraph, source: str, target: str) -> Flow:
    data = g.edges[source, target]
    return Flow(
        source=source,
        target=target,
        source_name=g.nodes[source]["name"],
        target_name=_node_label(g, target),
        count=data["count"],
        pending=data["pending"],
        overdue=data["overdue"],
        median_days_to_acceptance=data.get("median_days_to_acceptance"),
        acceptance_rate=data.get("acceptance_rate"),
    )


def _node_label(g: HandoffGraph, node: str) -> str:
    attrs = g.nodes[node]
    if attrs["kind"] == "bcu":
        return f"{g.nodes[attrs['parent']]['name']}: {attrs['name']}"
    return str(attrs["name"])


def largest_flows(g: HandoffGraph, n: int = 10) -> list[Flow]:
    """Return the ``n`` edges carrying the most handoffs (ties: most pending, then by key)."""
    flows = [_flow(g, s, t) for s, t in g.edges]
    flows.sort(key=lambda f: (-f.count, -f.pending, f.source, f.target))
    return flows[: max(n, 0)]


def bottlenecks(g: HandoffGraph, n: int = 10) -> list[Flow]:
    """Return the ``n`` edges with the most overdue handoffs (only edges with any overdue)."""
    flows = [_flow(g, s, t) for s, t in g.edges if g.edges[s, t]["overdue"] > 0]
    flows.sort(key=lambda f: (-f.overdue, -f.pending, f.source, f.target))
    return flows[: max(n, 0)]


@dataclass(frozen=True)
class PingPong:
    """A case handed from force A to B and back to A within the window."""

    case_id: int
    force_a: str
    force_b: str
    first_handoff_id: int
    second_handoff_id: int
    days: float


def _by_case(records: Iterable[HandoffRecord]) -> dict[int, list[HandoffRecord]]:
    cases: dict[int, list[HandoffRecord]] = defaultdict(list)
    for r in records:
        if r.state in _TRANSFER_STATES:
            cases[r.case_id].append(r)
    for group in cases.values():
        group.sort(key=lambda r: (r.requested_at, r.handoff_id))
    return cases


def ping_pong(records: Iterable[HandoffRecord], days: int = 90) -> list[PingPong]:
    """Find cases handed A→B and then B→A within ``days`` (force level).

    Withdrawn and rejected handoffs moved nothing and are ignored.

    Parameters
    ----------
    records
        Handoffs (any order).
    days
        The window between the two requests.

    Returns
    -------
    list[PingPong]
        One entry per pair of consecutive transfers of a case that undo each other, ordered by
        case and time.
    """
    window = timedelta(days=days)
    found = []
    for case_id, group in sorted(_by_case(records).items()):
        for first, second in itertools.pairwise(group):
            if (
                first.from_force == second.to_force
                and first.to_force == second.from_force
                and second.requested_at - first.requested_at <= window
            ):
                found.append(
                    PingPong(
                        case_id=case_id,
                        force_a=first.from_force,
                        force_b=first.to_force,
                        first_handoff_id=first.handoff_id,
                        second_handoff_id=second.handoff_id,
                        days=(second.requested_at - first.requested_at).total_seconds() / _DAY,
                    )
                )
    return found


@dataclass(frozen=True)
class FrequentMover:
    """A case transferred more than N times within some 365 days."""

    case_id: int
    transfers: int
    first: datetime
    last: datetime
    handoff_ids: tuple[int, ...]


def frequent_movers(records: Iterable[HandoffRecord], n_per_year: int) -> list[FrequentMover]:
    """Find cases transferred more than ``n_per_year`` times within any 365 days.

    Withdrawn and rejected handoffs moved nothing and are not counted.

    Parameters
    ----------
    records
        Handoffs (any order).
    n_per_year
        The threshold: a case needs more than this many transfers in one year-long window.

    Returns
    -------
    list[FrequentMover]
        The busiest window of each such case, most transfers first, then by case id.
    """
    year = timedelta(days=365)
    found = []
    for case_id, group in _by_case(records).items():
        best: Sequence[HandoffRecord] = ()
        lo = 0
        for hi in range(len(group)):
            while group[hi].requested_at - group[lo].requested_at >= year:
                lo += 1
            if hi - lo + 1 > len(best):
                best = group[lo : hi + 1]
        if len(best) > n_per_year:
            found.append(
                FrequentMover(
                    case_id=case_id,
                    transfers=len(best),
                    first=best[0].requested_at,
                    last=best[-1].requested_at,
                    handoff_ids=tuple(r.handoff_id for r in best),
                )
            )
    found.sort(key=lambda m: (-m.transfers, m.case_id))
    return found


# --- export ----------------------------------------------------------------------------------


def to_graphml(g: HandoffGraph, path: str | Path) -> Path:
    """Write the network as GraphML (readable by ``networkx.read_graphml``, Gephi, yEd).

    Parameters
    ----------
    g
        From :func:`build_network` or :func:`build_network_from_records`.
    path
        The file to write.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    out: HandoffGraph = nx.DiGraph()
    # GraphML holds strings, numbers and booleans only: drop anything else (there is no null).
    out.graph.update({k: v for k, v in g.graph.items() if isinstance(v, str | int | float)})
    for node, attrs in g.nodes(data=True):
        out.add_node(node, **{k: v for k, v in attrs.items() if v is not None})
    for s, t, attrs in g.edges(data=True):
        out.add_edge(s, t, **{k: v for k, v in attrs.items() if v is not None})
    nx.write_graphml(out, path)
    return path


def to_json(g: HandoffGraph) -> dict[str, Any]:
    """Return the network as node-link JSON (``nodes`` and ``links``), ready for ``json.dumps``.

    Missing edge figures (no acceptance yet) are written as ``null`` so every link has the same
    keys.
    """
    data = nx.node_link_data(g, edges="links")
    for link in data["links"]:
        link.setdefault("median_days_to_acceptance", None)
        link.setdefault("acceptance_rate", None)
    return dict(data)


def pseudonymise_handoff_record(record: HandoffRecord) -> HandoffRecord:
    """Return a network record with its handoff and case ids replaced by integer pseudonyms."""
    return record._replace(
        handoff_id=pseudonym_int("handoff", record.handoff_id),
        case_id=pseudonym_int("case", record.case_id),
    )


# --- the Network page's overview -------------------------------------------------------------


@dataclass(frozen=True)
class NetworkOverview:
    """The network of a period and its analytics, for the Network page."""

    graph: HandoffGraph
    largest: list[Flow]
    bottlenecks: list[Flow]
    ping_pong: list[PingPong]
    movers: list[FrequentMover]
    graph_json: dict[str, Any]
    graphml: bytes


def network_overview(
    session: Session, *, start: date, end: date, movers_over: int = 2, actor: str
) -> NetworkOverview:
    """Build the network of a period and everything the page shows about it (one session).

    ``actor`` is who is looking (``view``): an analyst's case and handoff ids are
    pseudonyms.
    """
    records = fetch_handoff_records(session, start=start, end=end, actor=actor)
    graph = build_network_from_records(records)
    graph.graph["start"] = start.isoformat()
    graph.graph["end"] = end.isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        path = to_graphml(graph, Path(tmp) / "graphml")
        graphml = path.read_bytes()
    return NetworkOverview(
        graph=graph,
        largest=largest_flows(graph, 15),
        bottlenecks=bottlenecks(graph, 15),
        ping_pong=ping_pong(records),
        movers=frequent_movers(records, movers_over),
        graph_json=to_json(graph),
        graphml=graphml,
    )
