"""The handoff network of a period: what the Network page shows, and its drawing.

:func:`network_svg` draws the network (built by
:func:`coordination.handoffs.network.network_overview`) as a self-contained SVG, with no plotting
library and nothing fetched from the internet.
"""

from __future__ import annotations

import math
from typing import Any

from ui.text import CITY, MET, html_text


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
        title = html_text(
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
        name = html_text(attrs.get("name", node))
        count = attrs.get("count_in", 0) + attrs.get("count_out", 0)
        parts.append(
            f'<g><circle cx="{x:.1f}" cy="{y:.1f}" r="14" fill="{fill}" stroke="#333"/>'
            f'<text x="{x:.1f}" y="{y + 28:.1f}" font-size="11" text-anchor="middle" '
            f'font-family="sans-serif">{name}</text>'
            f"<title>{name}: {count} handoffs in or out</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
