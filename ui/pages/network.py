"""Network: where the coordination load between forces sits.

A drawing of the handoffs between forces (Met BCUs as their own nodes) over a period, the City in
the middle and every force and BCU by name (Graphviz, laid out in the browser), with the
analytics beside it — the largest flows, the bottlenecks (most overdue), ping-pong cases and
frequent movers — and the network to download as GraphML or JSON.
"""

from __future__ import annotations

import json
from datetime import timedelta

import streamlit as st

from coordination.core.clock import london_today
from coordination.handoffs.network import network_overview
from ui import session
from ui.components import network, tables
from ui.components.notice import demo_notice
from ui.navigation import require_page

st.title("Network")
demo_notice()
require_page("Network")
# Analysts get pseudonymised case and handoff ids (ping-pong, frequent movers).
me = session.signed_in_username()

today = london_today()
cols = st.columns(3)
start = cols[0].date_input("From", value=today - timedelta(days=365), key="net_start")
end = cols[1].date_input("To", value=today, key="net_end")
movers_over = cols[2].number_input(
    "Frequent movers: more than N transfers a year", min_value=1, value=2, step=1, key="net_n"
)

overview = session.run(
    network_overview, start=start, end=end, movers_over=int(movers_over), actor=me
)
if overview is not None:
    g = overview.graph
    st.caption(
        f"{g.number_of_edges()} flows between {g.number_of_nodes()} forces and BCUs, "
        f"handoffs requested {start.isoformat()} to {end.isoformat()}."
    )
    # The drawing gets the page's full width, so its names stay readable; the tables go below.
    with st.container(key="net_drawing"):
        # Graphviz lays it out in the browser (bundled WASM, nothing fetched): st.html would
        # strip an SVG, and a DOT string carries no markup of ours at all.
        st.graphviz_chart(network.network_dot(g), width="stretch", height=network.drawing_height(g))
        st.caption(network.legend())
    largest, worst = st.columns(2)
    with largest:
        st.markdown("**Largest flows**")
        st.dataframe(tables.flows_table(overview.largest), hide_index=True, key="net_largest")
    with worst:
        st.markdown("**Bottlenecks (most overdue)**")
        st.dataframe(
            tables.flows_table(overview.bottlenecks), hide_index=True, key="net_bottlenecks"
        )
    left, right = st.columns(2)
    with left:
        st.markdown("**Ping-pong cases** (A → B → A within 90 days)")
        st.dataframe(
            network.ping_pong_table(overview.ping_pong, g), hide_index=True, key="net_pingpong"
        )
    with right:
        st.markdown(f"**Frequent movers** (more than {int(movers_over)} transfers in a year)")
        st.dataframe(tables.movers_table(overview.movers), hide_index=True, key="net_movers")
    down = st.columns(2)
    down[0].download_button(
        "Download GraphML",
        data=overview.graphml,
        file_name=f"handoff-network-{start.isoformat()}-{end.isoformat()}.graphml",
        mime="application/xml",
        on_click="ignore",
        key="net_graphml",
    )
    down[1].download_button(
        "Download JSON",
        data=json.dumps(overview.graph_json, indent=2, default=str),
        file_name=f"handoff-network-{start.isoformat()}-{end.isoformat()}.json",
        mime="application/json",
        on_click="ignore",
        key="net_json",
    )
