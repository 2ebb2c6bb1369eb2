"""The notice that the data is a synthetic demo, shown whenever a demo has been seeded."""

from __future__ import annotations

import streamlit as st

from coordination.register.synthetic import demo_info
from ui.session import run


def demo_notice() -> None:
    """Say plainly that the data is synthetic, whenever a demo has been seeded."""
    info = run(demo_info)
    if info is not None:
        st.info(
            f"{info.notice} Seeded with seed {info.seed} ({info.offenders:,} offenders), "
            f"history up to {info.today.isoformat()}.",
        )
