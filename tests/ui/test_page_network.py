"""The Network page's drawing: the Graphviz DOT it sends, and the names in its tables.

The drawing is laid out in the browser (``tests/browser/test_browser_network.py`` looks at it
there); here the DOT the page hands ``st.graphviz_chart`` is read back with a small reader of
DOT's quoted strings and compared with what the network service says. The page runs with
AppTest on the 60-offender demo (``demo_env``), signed in as the City's supervisor.
"""

from __future__ import annotations

import colorsys
import re
from datetime import timedelta
from typing import Any

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, col, select
from streamlit.testing.v1 import AppTest

from coordination.core.clock import london_today
from coordination.core.db import get_engine
from coordination.handoffs.network import PingPong, network_overview
from coordination.models import User
from geo.forces import force_name
from tests.support import apptest
from ui.components import network as drawing
from ui.text import CITY, MET

# --- reading DOT back ----------------------------------------------------------------------------

PSNI = "N23000001"
_LINE_BREAKS = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")
_CONTROLS = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_STATEMENT = re.compile(r"^\s*(n\d+)(?:\s*->\s*(n\d+))?\s*\[(.*)\];$")


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read one DOT quoted string at ``start`` as Graphviz's scanner and escString do.

    The scanner ends the string at the first ``"`` not escaped by a backslash; in a label or a
    tooltip (an escString) ``\\\\`` is a backslash, ``\\"`` a quote and ``\\n`` a line break.
    Returns the text and the index just past the closing quote.
    """
    assert text[start] == '"', text[start:]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            following = text[i + 1]  # a lone backslash before the end would escape the quote
            # Any other escape would be one of Graphviz's (\N, \G, \l, ...): none may appear.
            out.append({"\\": "\\", '"': '"', "n": "\n"}[following])
            i += 2
        elif char == '"':
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise AssertionError(f"unterminated string: {text[start:]!r}")


def _attributes(body: str) -> dict[str, str]:
    """The ``name=value`` pairs of an attribute list, quoted values read back."""
    found: dict[str, str] = {}
    i = 0
    while i < len(body):
        match = re.compile(r"\s*,?\s*([a-z]+)=").match(body, i)
        assert match, body[i:]
        name, i = match.group(1), match.end()
        if body[i] == '"':
            found[name], i = _read_quoted(body, i)
        else:
            value = re.compile(r"[^,\s]+").match(body, i)
            assert value, body[i:]
            found[name], i = value.group(), value.end()
    return found


def _statements(
    dot: str,
) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """The node statements (by id) and edge statements of a drawing, attributes read back."""
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for line in dot.splitlines():
        match = _STATEMENT.match(line)
        if match is None:
            continue
        source, target, body = match.groups()
        if target is None:
            nodes[source] = _attributes(body)
        else:
            edges.append((source, target, _attributes(body)))
    return nodes, edges


def _shown(text: str) -> str:
    """What a name reads as once quoted: line breaks as ``\\n``, other controls as spaces."""
    return _CONTROLS.sub(" ", _LINE_BREAKS.sub("\n", text))


@given(st.text())
def test_any_string_survives_as_one_quoted_dot_id(text: str) -> None:
    quoted = drawing.dot_quote(text)
    value, end = _read_quoted(quoted, 0)
    assert end == len(quoted)  # one token: nothing in the text ends it early
    assert value == _shown(text)
    assert "\x00" not in quoted and "\n" not in quoted and "\r" not in quoted


@pytest.mark.parametrize(
    "name",
    [
        'Evil"]; n0 -> n1 [color="green',
        "back\\slash\\",
        "<b>bold</b> & <img src=x onerror=alert(1)>",
        "two\nlines\r\nand\\N\\G",
        "\x00nul",
    ],
)
def test_hostile_names_stay_inside_their_strings(name: str) -> None:
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_node(CITY, kind="force", name=name, parent="")
    g.add_node(MET, kind="force", name="Metropolitan Police Service", parent="")
    g.add_edge(CITY, MET, count=2, pending=1, overdue=1)
    dot = drawing.network_dot(g)
    nodes, edges = _statements(dot)
    assert len(nodes) == 2 and len(edges) == 1  # no statement added, none lost
    city = next(a for a in nodes.values() if a["fillcolor"] == drawing.CITY_FILL.hex)
    assert city["tooltip"].splitlines()[0] == _shown(name).splitlines()[0]
    assert " ".join(city["label"].split()) == " ".join(_shown(name).split())
    ((_, _, edge),) = edges
    assert edge["color"] == drawing.OVERDUE_EDGE.hex  # the name added no colour of its own


@given(st.text(min_size=1), st.text(), st.text())
def test_any_code_or_name_leaves_the_statements_as_they_are(code: str, name: str, bcu: str) -> None:
    """A code the UI does not know (data from a handoff) is shown, so it is quoted too."""
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_node(CITY, kind="force", name="City of London Police", parent="")
    g.add_node(code, kind="force", name=name, parent="")
    g.add_node(f"{code}/x", kind="bcu", name=bcu, parent=code)
    g.add_edge(CITY, code, count=1, pending=0, overdue=0)
    g.add_edge(CITY, f"{code}/x", count=3, pending=1, overdue=1)
    nodes, edges = _statements(drawing.network_dot(g))
    assert len(nodes) == g.number_of_nodes() and len(edges) == 2
    tips = {a["tooltip"].split("\n")[0] for a in nodes.values()}
    expected = {_shown(drawing.node_name(g, n)).split("\n")[0] for n in g.nodes}
    assert tips == expected
    assert sorted(a["label"] for _, _, a in edges) == ["1", "3 (1 overdue)"]


def _hue(hex_colour: str) -> float:
    red, green, blue = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(red, green, blue)[0] * 360


@pytest.mark.parametrize(
    ("swatch", "hues"),
    [
        (drawing.CITY_FILL, (40, 55)),  # gold
        (drawing.FORCE_FILL, (20, 40)),  # orange
        (drawing.BCU_FILL, (200, 240)),  # blue
        (drawing.FLOW_EDGE, (200, 240)),  # blue
        (drawing.OVERDUE_EDGE, (0, 5)),  # red
    ],
)
def test_legend_words_name_the_colours_drawn(swatch: drawing.Swatch, hues: tuple[int, int]) -> None:
    assert hues[0] <= _hue(swatch.hex) <= hues[1], (swatch, _hue(swatch.hex))
    assert swatch.word in drawing.legend().lower()


# --- the page ------------------------------------------------------------------------------------


def _city_supervisor() -> str:
    with Session(get_engine()) as s:
        username = s.exec(
            select(User.username)
            .where(User.force_code == CITY, User.role == "supervisor")
            .order_by(col(User.username))
        ).first()
    assert username is not None
    return username


def _network_page() -> tuple[AppTest, Any]:
    """The page signed in as the City's supervisor, and the overview it should show."""
    user = _city_supervisor()
    at = apptest.page("network", user=user)
    apptest.ok(at)
    today = london_today()
    with Session(get_engine()) as s:
        overview = network_overview(
            s, start=today - timedelta(days=365), end=today, movers_over=2, actor=user
        )
    return at, overview


def test_the_page_draws_every_flow_by_name(demo_env: str) -> None:
    at, overview = _network_page()
    g = overview.graph
    box = apptest.widget(at, "net_drawing")
    (chart,) = box.get("graphviz_chart")
    dot = chart.proto.spec
    nodes, edges = _statements(dot)

    # Every node is labelled by name, never by code; the City is in the middle, pinned.
    labels = {" ".join(a["label"].split("\n")): a for a in nodes.values()}
    assert set(labels) == {str(g.nodes[n]["name"]) for n in g.nodes}
    assert not any(re.fullmatch(r"[A-Z]\d{8}", label) for label in labels)
    city = labels["City of London Police"]
    assert city["pos"] == "0.00,0.00!" and city["fillcolor"] == drawing.CITY_FILL.hex
    assert "layout=neato" in dot

    # Every flow once, labelled with its count; red exactly where handoffs are overdue.
    by_id = {node_id: a["tooltip"].split("\n")[0] for node_id, a in nodes.items()}
    drawn = {(by_id[s], by_id[t]): (a["label"], a["color"], a["tooltip"]) for s, t, a in edges}
    expected = {}
    for s, t, d in g.edges(data=True):
        count, pending, overdue = d["count"], d["pending"], d["overdue"]
        label = f"{count} ({overdue} overdue)" if overdue else str(count)
        colour = drawing.OVERDUE_EDGE.hex if overdue else drawing.FLOW_EDGE.hex
        names = (drawing.node_name(g, s), drawing.node_name(g, t))
        tip = f"{names[0]} → {names[1]}: {count} handoffs, {pending} pending, {overdue} overdue"
        expected[names] = (label, colour, tip)
    assert drawn == expected
    assert any(colour == "#cc0000" for _, colour, _ in drawn.values()), "the demo has overdue"

    # The caption names the colours the drawing uses.
    (caption,) = box.get("caption")
    assert caption.value == drawing.legend()
    assert "red arrows carry overdue handoffs" in caption.value


def test_the_tables_name_forces_once(demo_env: str) -> None:
    at, overview = _network_page()
    g = overview.graph
    names = {drawing.node_name(g, n) for n in g.nodes}
    flows = [d.value for d in at.dataframe if "median days to accept" in d.value.columns]
    assert len(flows) == 2  # the largest flows and the bottlenecks
    for table in flows:
        assert set(table["from"]) | set(table["to"]) <= names
    pings = apptest.table(at, "case", "forces")
    assert list(pings["forces"]) == [
        f"{drawing.node_name(g, p.force_a)} ⇄ {drawing.node_name(g, p.force_b)}"
        for p in overview.ping_pong
    ]
    assert not any("(" in forces for forces in pings["forces"])  # no "name (code)"


def test_ping_pong_cases_name_both_forces() -> None:
    """Northern Ireland's force showed as "N23000001 (N23000001)"; the graph knows its name."""
    g: nx.DiGraph[str] = nx.DiGraph()
    for code in (CITY, PSNI, "X99999999"):
        g.add_node(code, kind="force", name=force_name(code).name, parent="")
    cases = [
        PingPong(
            case_id=7,
            force_a=CITY,
            force_b=PSNI,
            first_handoff_id=1,
            second_handoff_id=2,
            days=12.25,
        ),
        PingPong(
            case_id=8,
            force_a="X99999999",
            force_b=CITY,
            first_handoff_id=3,
            second_handoff_id=4,
            days=3.0,
        ),
    ]
    table = drawing.ping_pong_table(cases, g)
    assert list(table["forces"]) == [
        "City of London Police ⇄ Police Service of Northern Ireland",
        "X99999999 ⇄ City of London Police",
    ]
    assert list(table["days apart"]) == [12.2, 3.0]


def test_a_force_with_no_known_name_shows_its_code_once() -> None:
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_node("X99999999", kind="force", name="X99999999", parent="")
    g.add_node(CITY, kind="force", name="City of London Police", parent="")
    g.add_node(f"{MET}/CE", kind="bcu", name="Central East", parent=MET)
    assert drawing.node_name(g, "X99999999") == "X99999999"
    assert drawing.node_name(g, "Z00000000") == "Z00000000"  # not in the graph at all
    # A BCU's force is named even when the force itself is not a node.
    assert drawing.node_name(g, f"{MET}/CE") == "Metropolitan Police Service: Central East"
