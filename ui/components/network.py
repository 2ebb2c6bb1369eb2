"""The handoff network of a period: its drawing and its tables, named by force and BCU.

:func:`network_dot` writes the network (built by
:func:`coordination.handoffs.network.network_overview`) as Graphviz DOT for
``st.graphviz_chart``, which lays it out in the browser with the Graphviz WASM that Streamlit
bundles: nothing is fetched from the internet, and no raw HTML or SVG reaches the page. Every
name goes through :func:`dot_quote`, so a name cannot end its string early or add attributes.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from coordination.handoffs.network import PingPong
from ui.text import CITY, FORCES, MET


@dataclass(frozen=True)
class Swatch:
    """One colour of the drawing: its hex value for Graphviz and its word for the legend."""

    hex: str
    word: str


#: The colours drawn; :func:`legend` builds the caption from these, so the two cannot disagree.
CITY_FILL = Swatch("#f1c232", "gold")
FORCE_FILL = Swatch("#f9cb9c", "orange")
BCU_FILL = Swatch("#c9daf8", "blue")
FLOW_EDGE = Swatch("#3d6fa8", "blue")
OVERDUE_EDGE = Swatch("#cc0000", "red")
_OUTLINE = "#444444"
_TEXT = "#1f1f1f"

# Streamlit's stylesheet sets every label in the chart to about 10 px of its own font, whatever
# the DOT says; so the DOT asks for 10 pt too (boxes fit their text) and keeps the layout
# compact in inches, and the chart, scaled to the page's width, makes the text readable.
# Inches per character of such a label, and the gap kept between neighbours on a ring.
_CHAR_IN = 0.08
_GAP_IN = 0.3
_WRAP = 16
# Control characters (C0, DEL, C1) other than line breaks: Graphviz reads its input as C
# strings, so a NUL would cut the file short, and the others draw as nothing useful.
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")


def dot_quote(text: object) -> str:
    """Return ``text`` as one double-quoted DOT string, safe as an id and as any label.

    Backslashes are doubled and quotes escaped (so nothing ends the string early, and no
    Graphviz escape such as ``\\N`` or ``\\G`` is formed from the text); each line break becomes
    Graphviz's ``\\n`` (a centred line break in a label); other control characters become a
    space. ``<`` and ``>`` need nothing inside a quoted string: only ``<...>`` outside quotes is
    an HTML-like label, and the drawing uses none.

    Parameters
    ----------
    text
        Anything; it is quoted as ``str(text)``.

    Returns
    -------
    str
        A DOT quoted string, quotes included.

    Examples
    --------
    >>> print(dot_quote('Say "hi"\\\\'))
    "Say \\"hi\\"\\\\"
    """
    value = str(text).replace("\\", "\\\\").replace('"', '\\"')
    value = _LINE_BREAK.sub(r"\\n", value)
    return '"' + _CONTROL.sub(" ", value) + '"'


def _wrapped(name: str, wrap: bool = True) -> tuple[list[str], float]:
    """A node's label as lines of at most ``_WRAP`` characters, and its width in inches."""
    lines = (textwrap.wrap(name, _WRAP, break_long_words=False) if wrap else []) or [name]
    return lines, _CHAR_IN * max(len(line) for line in lines) + 0.25


def node_name(graph: Any, node: str) -> str:
    """A node's name as people read it; a BCU is named with its force.

    Falls back to the name the UI knows and then to the code itself, so a force with no known
    name shows its code once (never "code (code)").
    """
    attrs = graph.nodes[node] if node in graph else {}
    name = str(attrs.get("name") or FORCES.get(node, node))
    parent = attrs.get("parent")
    if attrs.get("kind") == "bcu" and parent:
        return f"{node_name(graph, parent)}: {name}"
    return name


def _radius(nodes: Sequence[str], widths: dict[str, float], least: float) -> float:
    """A ring's radius (inches): wide enough that the labels round it do not touch."""
    return max(least, sum(widths[n] + _GAP_IN for n in nodes) / (2 * math.pi))


def _positions(graph: Any, widths: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Fixed places (inches) for every node, the City in the middle.

    The Met and its BCUs sit on a ring round the City and every other force on an outer ring.
    Fixed rather than laid out, so the City is always the centre and the drawing does not move
    between runs.
    """
    bcus = sorted(n for n in graph.nodes if graph.nodes[n].get("kind") == "bcu")
    forces = sorted(n for n in graph.nodes if graph.nodes[n].get("kind") != "bcu")
    inner = [n for n in forces if n == MET] + bcus
    outer = [n for n in forces if n not in (CITY, MET)]
    if not inner:
        inner, outer = outer, []
    places: dict[str, tuple[float, float]] = {}
    if CITY in graph:
        places[CITY] = (0.0, 0.0)
    # The inner ring clears the City's box (its name on one line) and its own widest box.
    clear = (widths.get(CITY, 0.0) + max((widths[n] for n in inner), default=0.0)) / 2 + 0.6
    first = _radius(inner, widths, max(1.4, clear))
    second = _radius(outer, widths, first + 1.5)
    inner_angles = _angles(len(inner), 0.0)
    # Turn the outer ring to where its nodes sit furthest from any inner one, so no arrow from
    # the City to an outer force runs through an inner node.
    outer_angles = max(
        (_angles(len(outer), k / 24) for k in range(24)),
        key=lambda angles: min(
            (_apart(a, b) for a in angles for b in inner_angles), default=math.pi
        ),
    )
    for ring, radius, angles in ((inner, first, inner_angles), (outer, second, outer_angles)):
        for node, angle in zip(ring, angles, strict=True):
            places[node] = (radius * math.cos(angle), radius * math.sin(angle))
    return places


def _angles(n: int, turn: float) -> list[float]:
    """``n`` angles evenly round a circle from the top, clockwise, turned by part of a step."""
    return [math.pi / 2 - 2 * math.pi * (i + turn) / n for i in range(n)]


def _apart(a: float, b: float) -> float:
    """How far apart two angles are round the circle (radians, 0 to pi)."""
    d = abs(a - b) % (2 * math.pi)
    return min(d, 2 * math.pi - d)


def _figures(count: int, pending: int, overdue: int) -> str:
    return f"{count} handoffs, {pending} pending, {overdue} overdue"


def _node_tooltip(graph: Any, node: str) -> str:
    outgoing = [graph.edges[e] for e in graph.out_edges(node)]
    incoming = [graph.edges[e] for e in graph.in_edges(node)]

    def total(edges: list[Any]) -> str:
        return _figures(*(sum(e.get(k, 0) for e in edges) for k in ("count", "pending", "overdue")))

    return f"{node_name(graph, node)}\nsent: {total(outgoing)}\nreceived: {total(incoming)}"


def network_dot(graph: Any) -> str:
    """Write the network as Graphviz DOT for ``st.graphviz_chart``.

    Nodes are labelled by name (the City gold in the middle, other forces orange, BCUs blue);
    each edge is labelled with its number of handoffs and grows wider with it, and an edge
    carrying overdue handoffs is red and says how many. Every node and edge has a tooltip with
    its figures (handoffs, pending, overdue).

    Parameters
    ----------
    graph
        The handoff network: nodes with ``kind``, ``name`` and ``parent``; edges with
        ``count``, ``pending`` and ``overdue``.

    Returns
    -------
    str
        A ``digraph`` laid out by ``neato`` with every node pinned (``pos="x,y!"``).
    """
    ids = {node: f"n{i}" for i, node in enumerate(sorted(graph.nodes))}
    labels: dict[str, list[str]] = {}
    widths: dict[str, float] = {}
    for node in graph.nodes:
        name = str(graph.nodes[node].get("name") or FORCES.get(node, node))
        # The City, in the middle, keeps its name on one line: the one box nothing crowds.
        labels[node], widths[node] = _wrapped(name, wrap=node != CITY)
    places = _positions(graph, widths)
    most = max((d.get("count", 0) for *_, d in graph.edges(data=True)), default=1) or 1
    out = [
        "digraph handoffs {",
        # neato keeps pinned nodes where they are and routes the arrows round the boxes.
        '  graph [layout=neato, splines=true, sep="+6", outputorder=edgesfirst, bgcolor="white", '
        f'pad=0.3, fontname="Helvetica", tooltip={dot_quote("Handoff network")}];',
        f'  node [shape=box, style="rounded,filled", color="{_OUTLINE}", fontname="Helvetica", '
        f'fontsize=10, fontcolor="{_TEXT}", margin="0.12,0.06"];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.6];',
    ]
    for node in sorted(graph.nodes):
        kind = graph.nodes[node].get("kind", "force")
        fill = CITY_FILL if node == CITY else BCU_FILL if kind == "bcu" else FORCE_FILL
        x, y = places.get(node, (0.0, 0.0))
        label = "\\n".join(dot_quote(line)[1:-1] for line in labels[node])
        bold = ', penwidth=2, fontname="Helvetica-Bold"' if node == CITY else ""
        out.append(
            f'  {ids[node]} [label="{label}", fillcolor="{fill.hex}", pos="{x:.2f},{y:.2f}!", '
            f"tooltip={dot_quote(_node_tooltip(graph, node))}{bold}];"
        )
    for source, target, data in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        count, pending, overdue = (data.get(k, 0) for k in ("count", "pending", "overdue"))
        colour = OVERDUE_EDGE if overdue else FLOW_EDGE
        label = f"{count} ({overdue} overdue)" if overdue else str(count)
        tooltip = (
            f"{node_name(graph, source)} → {node_name(graph, target)}: "
            f"{_figures(count, pending, overdue)}"
        )
        out.append(
            f'  {ids[source]} -> {ids[target]} [label="{label}", color="{colour.hex}", '
            f'fontcolor="{colour.hex}", penwidth={1 + 4 * count / most:.2f}, '
            f"tooltip={dot_quote(tooltip)}, labeltooltip={dot_quote(tooltip)}];"
        )
    out.append("}")
    return "\n".join(out)


def drawing_height(graph: Any) -> int:
    """Pixels to give the drawing: more for more nodes, so names stay readable, within a screen."""
    return max(520, min(860, 400 + 28 * graph.number_of_nodes()))


def legend() -> str:
    """The caption under the drawing, in the colours :func:`network_dot` uses."""
    return (
        f"{CITY_FILL.word.capitalize()}: City of London Police (in the middle); "
        f"{FORCE_FILL.word}: other forces; {BCU_FILL.word} boxes: Met BCUs. "
        f"Each arrow is labelled with its handoffs and grows wider with them; "
        f"{OVERDUE_EDGE.word} arrows carry overdue handoffs, {FLOW_EDGE.word} arrows none. "
        "Hover a box or an arrow for its figures."
    )


def ping_pong_table(cases: Sequence[PingPong], graph: Any) -> pd.DataFrame:
    """Cases handed A → B → A within 90 days, the forces named as in the drawing."""
    return pd.DataFrame(
        [
            {
                "case": p.case_id,
                "forces": f"{node_name(graph, p.force_a)} ⇄ {node_name(graph, p.force_b)}",
                "handoffs": f"#{p.first_handoff_id}, #{p.second_handoff_id}",
                "days apart": round(p.days, 1),
            }
            for p in cases
        ],
        columns=["case", "forces", "handoffs", "days apart"],
    )
