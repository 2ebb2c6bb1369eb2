"""The handoff network: edge figures, BCU sub-nodes, analytics, GraphML and JSON export.

Most tests use tiny inline records (no database); one builds the network from stored handoffs on
SQLite and PostgreSQL, and one runs ``crossforce network``.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from coordination.handoffs import network as nw
from coordination.handoffs.network import HandoffRecord as R
from tests.factories import add_case, add_handoff

CITY = "E23000034"
MET = "E23000001"
ESSEX = "E23000028"
KENT = "E23000032"
CE = f"{MET}/CE"
TODAY = date(2025, 6, 30)
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


RECORDS = [
    # City → Met Central East: completed after 2 days, accepted after 4 (overdue), rejected.
    R(1, 101, CITY, MET, "completed", day(0), "CE", day(2), date(2025, 2, 3)),
    R(2, 102, CITY, MET, "accepted", day(1), "CE", day(5), date(2025, 2, 4)),
    R(3, 103, CITY, MET, "rejected", day(2), "CE", None, date(2025, 2, 5)),
    # City → Met, BCU unknown: requested, due later than today.
    R(4, 104, CITY, MET, "requested", day(3), None, None, date(2025, 7, 31)),
    # Back from the Met to the City 30 days after handoff 1: ping-pong for case 101.
    R(5, 101, MET, CITY, "completed", day(30), None, day(31), date(2025, 3, 5)),
    # Withdrawn: the move did not happen.
    R(6, 105, CITY, ESSEX, "withdrawn", day(4)),
]


def test_edges_carry_count_pending_overdue_median_and_acceptance_rate() -> None:
    g = nw.build_network_from_records(RECORDS, today=TODAY)
    assert set(g.edges) == {(CITY, CE), (CITY, MET), (MET, CITY), (CITY, ESSEX)}
    ce = g.edges[CITY, CE]
    assert (ce["count"], ce["pending"], ce["overdue"]) == (3, 1, 1)
    assert ce["median_days_to_acceptance"] == pytest.approx(3.0)  # median of 2 and 4 days
    assert ce["acceptance_rate"] == pytest.approx(2 / 3)  # 2 accepted of 3 decided
    met = g.edges[CITY, MET]
    assert (met["count"], met["pending"], met["overdue"]) == (1, 1, 0)
    assert "median_days_to_acceptance" not in met and "acceptance_rate" not in met
    back = g.edges[MET, CITY]
    assert back["median_days_to_acceptance"] == pytest.approx(1.0)
    assert back["acceptance_rate"] == 1.0
    assert "acceptance_rate" not in g.edges[CITY, ESSEX]  # withdrawn is not a decision
    assert sum(d["count"] for *_, d in g.edges(data=True)) == len(RECORDS)


def test_nodes_are_forces_with_met_bcus_as_sub_nodes() -> None:
    g = nw.build_network_from_records(RECORDS, today=TODAY)
    assert g.nodes[CE] == {
        "kind": "bcu",
        "name": "Central East",
        "parent": MET,
        "count_in": 3,
        "count_out": 0,
    }
    assert g.nodes[MET]["kind"] == "force"
    assert g.nodes[MET]["name"] == "Metropolitan Police Service"
    assert g.nodes[CITY]["name"] == "City of London Police"
    assert (g.nodes[CITY]["count_out"], g.nodes[CITY]["count_in"]) == (5, 1)
    assert g.graph["today"] == TODAY.isoformat()
    assert nw.bcu_node(MET, "CE") == CE


def test_largest_flows_and_bottlenecks() -> None:
    g = nw.build_network_from_records(RECORDS, today=TODAY)
    flows = nw.largest_flows(g, 2)
    assert [(f.source, f.target, f.count) for f in flows] == [(CITY, CE, 3), (CITY, MET, 1)]
    assert flows[0].target_name == "Metropolitan Police Service: Central East"
    assert flows[0].source_name == "City of London Police"
    assert flows[1].median_days_to_acceptance is None and flows[1].acceptance_rate is None
    jams = nw.bottlenecks(g, 5)
    assert [(f.source, f.target, f.overdue) for f in jams] == [(CITY, CE, 1)]
    late = nw.build_network_from_records(RECORDS, today=date(2025, 8, 1))
    assert [(f.target, f.overdue) for f in nw.bottlenecks(late, 5)] == [(MET, 1), (CE, 1)]
    assert nw.largest_flows(g, 0) == []


def test_ping_pong_within_the_window_only() -> None:
    (pair,) = nw.ping_pong(RECORDS, days=90)
    assert (pair.case_id, pair.force_a, pair.force_b) == (101, CITY, MET)
    assert (pair.first_handoff_id, pair.second_handoff_id) == (1, 5)
    assert pair.days == pytest.approx(30.0)
    assert nw.ping_pong(RECORDS, days=29) == []
    # A withdrawn return leg moved nothing.
    withdrawn = [r._replace(state="withdrawn") if r.handoff_id == 5 else r for r in RECORDS]
    assert nw.ping_pong(withdrawn) == []
    # A → B then B → C is a move on, not ping-pong.
    onward = [r._replace(to_force=KENT) if r.handoff_id == 5 else r for r in RECORDS]
    assert nw.ping_pong(onward) == []


def test_frequent_movers_count_transfers_in_any_365_days() -> None:
    busy = [
        R(10 + i, 200, (CITY, MET)[i % 2], (MET, CITY)[i % 2], "completed", day(i * 80))
        for i in range(4)
    ]  # four transfers within 240 days
    spread = [
        R(20 + i, 300, (CITY, MET)[i % 2], (MET, CITY)[i % 2], "completed", day(i * 200))
        for i in range(4)
    ]  # four transfers, but never more than two within a year
    ignored = [
        R(30, 200, CITY, ESSEX, "withdrawn", day(10)),
        R(31, 200, CITY, KENT, "rejected", day(11)),
    ]
    movers = nw.frequent_movers([*busy, *spread, *ignored], 3)
    assert [(m.case_id, m.transfers) for m in movers] == [(200, 4)]
    assert movers[0].handoff_ids == (10, 11, 12, 13)
    assert (movers[0].first, movers[0].last) == (day(0), day(240))
    assert nw.frequent_movers([*busy, *spread], 4) == []
    assert [(m.case_id, m.transfers) for m in nw.frequent_movers(spread, 1)] == [(300, 2)]


def test_graphml_round_trip(tmp_path: Path) -> None:
    g = nw.build_network_from_records(RECORDS, today=TODAY)
    path = nw.to_graphml(g, tmp_path / "net.graphml")
    back = nx.read_graphml(path)
    assert isinstance(back, nx.DiGraph)
    assert set(back.nodes) == set(g.nodes) and set(back.edges) == set(g.edges)
    assert back.nodes[CE]["kind"] == "bcu" and back.nodes[CE]["parent"] == MET
    assert back.edges[CITY, CE]["count"] == 3
    assert back.edges[CITY, CE]["acceptance_rate"] == pytest.approx(2 / 3)
    assert "acceptance_rate" not in back.edges[CITY, MET]
    assert back.graph["today"] == TODAY.isoformat()


def test_json_is_node_link_and_serialisable() -> None:
    g = nw.build_network_from_records(RECORDS, today=TODAY)
    data = json.loads(json.dumps(nw.to_json(g)))
    assert data["directed"] is True
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes[CE]["parent"] == MET
    links = {(link["source"], link["target"]): link for link in data["links"]}
    assert links[CITY, CE]["count"] == 3
    assert links[CITY, MET]["acceptance_rate"] is None  # every link has every key
    again = nx.node_link_graph(data, edges="links")
    assert set(again.edges) == set(g.edges)


def test_empty_network() -> None:
    g = nw.build_network_from_records([], today=TODAY)
    assert g.number_of_nodes() == 0
    assert nw.largest_flows(g) == [] and nw.bottlenecks(g) == []
    assert nw.to_json(g)["links"] == []


_forces = st.sampled_from([CITY, MET, ESSEX, KENT])


def _record(i, case, src, dst, state, start, bcu, wait, due) -> R:  # type: ignore[no-untyped-def]
    dst = dst if dst != src else (CITY if src != CITY else MET)
    accepted = day(start + wait) if state in ("accepted", "completed") else None
    bcu = bcu if dst == MET else None
    return R(i, case, src, dst, state, day(start), bcu, accepted, TODAY + timedelta(days=due))


_records = st.lists(
    st.builds(
        _record,
        st.integers(1, 10_000),
        st.integers(1, 5),
        _forces,
        _forces,
        st.sampled_from(
            ["proposed", "requested", "accepted", "completed", "rejected", "withdrawn"]
        ),
        st.floats(0, 400),
        st.sampled_from([None, "CE", "AW"]),
        st.floats(0, 30),
        st.integers(-20, 20),
    ),
    max_size=40,
)


def _expected_figures(records: list[R]) -> dict[tuple[str, str], dict[str, float]]:
    """Each edge's figures, worked out from the records by hand.

    Pending: still open (proposed, requested, accepted); overdue: open and due before TODAY.
    The acceptance rate is accepted (or completed) over decided (accepted, completed or
    rejected); the median is over the records with an acceptance time. Either of those two is
    absent when there is nothing to take it over.
    """
    groups: dict[tuple[str, str], list[R]] = {}
    for r in records:
        target = nw.bcu_node(r.to_force, r.to_bcu) if r.to_bcu else r.to_force
        groups.setdefault((r.from_force, target), []).append(r)
    figures: dict[tuple[str, str], dict[str, float]] = {}
    for edge, group in groups.items():
        decided = [r for r in group if r.state in ("accepted", "completed", "rejected")]
        days = [
            (r.accepted_at - r.requested_at) / timedelta(days=1)
            for r in group
            if r.accepted_at is not None
        ]
        open_ = [r for r in group if r.state in ("proposed", "requested", "accepted")]
        figures[edge] = {
            "count": len(group),
            "pending": len(open_),
            "overdue": sum(
                r.completion_due is not None and r.completion_due < TODAY for r in open_
            ),
        }
        if decided:
            accepted = sum(r.state != "rejected" for r in decided)
            figures[edge]["acceptance_rate"] = accepted / len(decided)
        if days:
            figures[edge]["median_days_to_acceptance"] = statistics.median(days)
    return figures


@given(_records)
@settings(max_examples=60, deadline=None)
def test_network_invariants(records: list[R]) -> None:
    g = nw.build_network_from_records(records, today=TODAY)
    assert sum(d["count"] for *_, d in g.edges(data=True)) == len(records)
    expected = _expected_figures(records)
    assert set(g.edges) == set(expected)
    for source, target, d in g.edges(data=True):
        assert 0 <= d["overdue"] <= d["pending"] <= d["count"]
        want = expected[source, target]
        assert (d["count"], d["pending"], d["overdue"]) == (
            want["count"],
            want["pending"],
            want["overdue"],
        )
        for figure in ("acceptance_rate", "median_days_to_acceptance"):
            if figure in want:
                assert d[figure] == pytest.approx(want[figure]), figure
            else:
                assert figure not in d, figure
    for node, attrs in g.nodes(data=True):
        assert attrs["count_in"] == sum(g.edges[s, node]["count"] for s in g.predecessors(node))
        if attrs["kind"] == "bcu":
            assert attrs["parent"] in g and g.nodes[attrs["parent"]]["kind"] == "force"
            assert g.out_degree(node) == 0  # handoffs leave from forces, never from a BCU
    for pair in nw.ping_pong(records):
        assert 0 <= pair.days <= 90 and pair.force_a != pair.force_b
    for mover in nw.frequent_movers(records, 1):
        assert mover.transfers > 1 and mover.last - mover.first < timedelta(days=365)


# --- from the database --------------------------------------------------------------------


def _store(engine: Engine) -> None:
    from coordination.core.db import session_scope

    with session_scope(engine) as session:
        cases = [add_case(session, lead=CITY, last_name=f"Testcase{n}") for n in (1, 2, 3)]

        def handoff(case_id: int | None, state: str, requested: datetime | None, **kw) -> None:
            add_handoff(
                session,
                case_id,  # type: ignore[arg-type]
                from_force=kw.get("src", CITY),
                to_force=kw.get("dst", MET),
                to_bcu_code=kw.get("bcu"),
                state=state,
                requested_at=requested,
                accepted_at=kw.get("accepted"),
                completion_due=kw.get("due"),
                created_at=kw.get("created", requested or T0),
            )

        handoff(cases[0], "completed", day(0), bcu="CE", accepted=day(2), due=date(2025, 2, 3))
        handoff(cases[0], "requested", day(20), src=MET, dst=CITY, due=date(2025, 2, 24))
        handoff(cases[1], "proposed", None, created=day(5))  # only proposed: counts by creation
        handoff(cases[2], "completed", day(-400), bcu="AW", accepted=day(-390))  # out of period


def test_build_network_from_stored_handoffs(engine: Engine) -> None:
    from coordination.core.db import session_scope

    _store(engine)
    with session_scope(engine) as session:
        records = nw.fetch_handoff_records(
            session, start=date(2025, 1, 1), end=TODAY, actor="system:test"
        )
        g = nw.build_network(
            session, start=date(2025, 1, 1), end=TODAY, today=TODAY, actor="system:test"
        )
    assert len(records) == 3
    assert all(r.requested_at.tzinfo is not None for r in records)
    assert set(g.edges) == {(CITY, CE), (MET, CITY), (CITY, MET)}
    assert g.edges[CITY, CE]["median_days_to_acceptance"] == pytest.approx(2.0)
    assert g.edges[MET, CITY]["overdue"] == 1
    assert g.edges[CITY, MET]["pending"] == 1
    assert (g.graph["start"], g.graph["end"]) == ("2025-01-01", TODAY.isoformat())
    back = next(r for r in records if r.from_force == MET)
    assert [p.case_id for p in nw.ping_pong(records)] == [back.case_id]
    with session_scope(engine) as session:
        # Inclusive end day: the handoff requested on 6 January at 09:00 is in.
        assert (
            len(
                nw.fetch_handoff_records(
                    session, start=T0.date(), end=T0.date(), actor="system:test"
                )
            )
            == 1
        )
        with pytest.raises(Exception, match="before it starts"):
            nw.fetch_handoff_records(
                session, start=TODAY, end=date(2025, 1, 1), actor="system:test"
            )


def test_cli_network(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from coordination.cli.main import main
    from coordination.core.settings import reset_settings_cache

    _store(engine)
    monkeypatch.setenv("CROSSFORCE_DATABASE_URL", database_url)
    reset_settings_cache()
    try:
        out_file = tmp_path / "net.graphml"
        argv = ["network", "--from", "2025-01-01", "--to", "2025-06-30", "--json"]
        assert main([*argv, "--graphml", str(out_file)]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["handoffs"] == 3
        assert {n["id"] for n in data["network"]["nodes"]} == {CITY, MET, CE}
        assert data["largest_flows"][0]["count"] == 1
        assert len(data["ping_pong"]) == 1
        assert set(nx.read_graphml(out_file).edges) == {(CITY, CE), (MET, CITY), (CITY, MET)}

        assert main(["network", "--from", "2025-01-01", "--to", "2025-06-30"]) == 0
        out = capsys.readouterr().out
        assert "Largest flows" in out and "City of London Police → " in out
        assert "Ping-pong" in out and "Bottlenecks" in out

        assert main(["network", "--from", "2025-06-30", "--to", "2025-01-01"]) == 2
        assert "before" in capsys.readouterr().err
    finally:
        monkeypatch.delenv("CROSSFORCE_DATABASE_URL", raising=False)
        reset_settings_cache()
